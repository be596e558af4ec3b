//! Stage 11, *Replies*: every reply well formed (RFC 5321 §4.2: codes, multiline
//! form, CRLF, 512 octets); 500 for an unknown command (§4.2.4); enhanced status codes
//! on every reply once ENHANCEDSTATUSCODES is offered (RFC 2034 §3).

use super::{fail, Check, Checked, Ctx, Level, Verdict};
use crate::check::reply::{ehlo_keywords, Reply};

pub const CHECKS: &[Check] = &[
    Check {
        id: "reply.format",
        stage: 11,
        section: "RFC 5321 §4.2, §4.2.1, §4.5.3.1.5",
        level: Level::Must,
        slow: false,
        title: "every reply is well formed",
        run: format,
    },
    Check {
        id: "reply.unknown-500",
        stage: 11,
        section: "RFC 5321 §4.2.4",
        level: Level::Should,
        slow: false,
        title: "an unknown command gets 500",
        run: unknown_500,
    },
    Check {
        id: "reply.enhanced",
        stage: 11,
        section: "RFC 2034 §3",
        level: Level::Must,
        slow: false,
        title: "with ENHANCEDSTATUSCODES, replies carry a matching x.y.z code",
        run: enhanced,
    },
];

// ANCHOR: format
fn format(ctx: &mut Ctx) -> Checked {
    let mut conn = ctx.connect()?;
    let s = ctx.settings;
    let mut seen: Vec<(String, Reply)> = vec![("the greeting".into(), conn.reply()?)];
    for command in [
        format!("EHLO {}", s.helo),
        "NOOP".into(),
        "HELP".into(),
        format!("VRFY {}", s.to),
        "XYZZY".into(),
        format!("MAIL FROM:<{}>", s.from),
        format!("RCPT TO:<{}>", s.to),
        "RSET".into(),
        "QUIT".into(),
    ] {
        let reply = conn.cmd(&command)?;
        seen.push((command, reply));
    }
    for (command, reply) in &seen {
        if let Some(problem) = reply.problems().first() {
            return fail(format!("the reply to {command}: {problem}"));
        }
    }
    Ok(())
}
// ANCHOR_END: format

fn unknown_500(ctx: &mut Ctx) -> Checked {
    ctx.after_ehlo("XYZZY", &[500], "the unknown command XYZZY")
}

/// `2.1.0 ...`: a status code whose class is the reply's first digit.
fn has_status(reply: &Reply) -> bool {
    reply.texts().iter().all(|text| {
        let code = text.split(' ').next().unwrap_or_default();
        let parts: Vec<&str> = code.split('.').collect();
        parts.len() == 3
            && parts[0] == reply.class().to_string()
            && parts[1..]
                .iter()
                .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
    })
}

fn enhanced(ctx: &mut Ctx) -> Checked {
    let (mut conn, ehlo) = ctx.session()?;
    if !ehlo_keywords(&ehlo)
        .iter()
        .any(|(k, _)| k == "ENHANCEDSTATUSCODES")
    {
        return Err(Verdict::NotChecked(
            "ENHANCEDSTATUSCODES is not offered".into(),
        ));
    }
    let s = ctx.settings;
    // RFC 2034 §3: every 2xx, 4xx and 5xx reply after EHLO, except the greeting and
    // the EHLO reply itself.
    for command in [
        "NOOP".to_string(),
        format!("MAIL FROM:<{}>", s.from),
        format!("RCPT TO:<{}>", s.to),
        format!("RCPT TO:<{}", s.to),
        "RSET".into(),
    ] {
        let reply = conn.cmd(&command)?;
        if reply.class() != 3 && !has_status(&reply) {
            return fail(format!(
                "the reply to {command} has no status code of class {}",
                reply.class()
            ));
        }
    }
    Ok(())
}
