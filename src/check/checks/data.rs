//! Stage 8, *DATA*: 354, then exactly one reply after `<CRLF>.<CRLF>` (RFC 5321
//! §4.1.1.4); dot-stuffing undone (§4.5.2); 1000-octet text lines (§4.5.3.1.6);
//! PIPELINING (RFC 2920) and SIZE (RFC 1870) when offered; and no other ending, bare
//! or mixed, ends the message (§4.1.1.4, the SMTP smuggling endings).

use super::{fail, need, Check, Checked, Ctx, Level, Verdict};
use crate::check::reply::ehlo_keywords;

pub const CHECKS: &[Check] = &[
    Check {
        id: "data.354",
        stage: 8,
        section: "RFC 5321 §4.1.1.4",
        level: Level::Must,
        slow: false,
        title: "DATA after a recipient gets 354",
        run: data_354,
    },
    Check {
        id: "data.end",
        stage: 8,
        section: "RFC 5321 §4.1.1.4, §4.2",
        level: Level::Must,
        slow: false,
        title: "<CRLF>.<CRLF> ends the message, with exactly one reply: 250",
        run: end,
    },
    Check {
        id: "data.line-1000",
        stage: 8,
        section: "RFC 5321 §4.5.3.1.6",
        level: Level::Must,
        slow: false,
        title: "a text line of 1000 octets (with CRLF) is accepted",
        run: line_1000,
    },
    Check {
        id: "data.dot-stuffing",
        stage: 8,
        section: "RFC 5321 §4.5.2",
        level: Level::Must,
        slow: false,
        title: "a leading dot is removed from stuffed lines (seen in the store)",
        run: dot_stuffing,
    },
    Check {
        id: "data.pipelining",
        stage: 8,
        section: "RFC 2920 §3.1",
        level: Level::Must,
        slow: false,
        title: "with PIPELINING, a whole batch in one write gets every reply, in order",
        run: pipelining,
    },
    Check {
        id: "data.size-declared",
        stage: 8,
        section: "RFC 1870 §6",
        level: Level::Must,
        slow: false,
        title: "with SIZE, MAIL FROM:<...> SIZE=1000 gets 250",
        run: size_declared,
    },
    Check {
        id: "data.size-over",
        stage: 8,
        section: "RFC 1870 §6.1",
        level: Level::Must,
        slow: false,
        title: "with SIZE n, MAIL FROM:<...> SIZE=n+1 gets 552",
        run: size_over,
    },
    smuggle::LF_DOT_LF,
    smuggle::LF_DOT_CRLF,
    smuggle::CR_DOT_CR,
    smuggle::CR_DOT_LF,
    smuggle::LF_DOT_CR,
    smuggle::CR_DOT_CRLF,
    smuggle::CRLF_DOT_LF,
    smuggle::CRLF_DOT_CR,
    smuggle::CRLF_NUL_DOT,
    smuggle::CRLF_DOT_NUL,
    smuggle::CRLF_DOT_CRCRLF,
    smuggle::CRCRLF_DOT_CRCRLF,
];

fn data_354(ctx: &mut Ctx) -> Checked {
    let mut conn = ctx.transaction()?;
    need(&conn.cmd("DATA")?, &[354], "DATA")
}

/// Sends DATA and `text` + `.<CRLF>`: the replies that came (one is right).
fn send_message(ctx: &mut Ctx, text: &[u8]) -> Checked {
    let mut conn = ctx.transaction()?;
    need(&conn.cmd("DATA")?, &[354], "DATA")?;
    let mut all = text.to_vec();
    all.extend_from_slice(b".\r\n");
    conn.send(&all)?;
    let first = conn.reply()?;
    let more = conn.replies_until_quiet(ctx.settings.quiet)?;
    if !more.is_empty() {
        return fail(format!("{} replies to one end of data", more.len() + 1));
    }
    need(&first, &[250], "the end of data")
}

fn end(ctx: &mut Ctx) -> Checked {
    let text = ctx.message(&ctx.token.clone(), "A test message.");
    send_message(ctx, &text)
}

fn line_1000(ctx: &mut Ctx) -> Checked {
    let long = "y".repeat(998);
    let text = ctx.message(
        &ctx.token.clone(),
        &format!("A long line follows.\n{long}\nEnd."),
    );
    send_message(ctx, &text)
}

// ANCHOR: dot_stuffing
fn dot_stuffing(ctx: &mut Ctx) -> Checked {
    ctx.store()?;
    let token = ctx.token.clone();
    // As a client must send them (§4.5.2): each line that starts with "." gets one more.
    let text = ctx.message(&token, "..one dot\n..\n...two dots");
    send_message(ctx, &text)?;
    let stored = ctx.wait_stored(&token)?;
    let Some(message) = stored.first() else {
        return fail("the message was accepted but never appeared in the store");
    };
    let lines: Vec<&[u8]> = message
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect();
    for (want, sent) in [
        (&b".one dot"[..], "..one dot"),
        (b".", ".."),
        (b"..two dots", "...two dots"),
    ] {
        if !lines.contains(&want) {
            return fail(format!(
                "sent {sent:?}, but the stored message has no line {:?}",
                String::from_utf8_lossy(want)
            ));
        }
    }
    Ok(())
}
// ANCHOR_END: dot_stuffing

// ANCHOR: pipelining
fn pipelining(ctx: &mut Ctx) -> Checked {
    let (mut conn, ehlo) = ctx.session()?;
    if !ehlo_keywords(&ehlo).iter().any(|(k, _)| k == "PIPELINING") {
        return Err(Verdict::NotChecked("PIPELINING is not offered".into()));
    }
    let s = ctx.settings;
    // RFC 2920 §3.1: MAIL, RCPT and DATA may go in one write; the replies come back
    // one per command, in order.
    let batch = format!("MAIL FROM:<{}>\r\nRCPT TO:<{}>\r\nDATA\r\n", s.from, s.to);
    conn.send(batch.as_bytes())?;
    need(&conn.reply()?, &[250], "pipelined MAIL FROM")?;
    need(&conn.reply()?, &[250, 251], "pipelined RCPT TO")?;
    need(&conn.reply()?, &[354], "pipelined DATA")?;
    // The message, its end and QUIT in one write too.
    let mut rest = ctx.message(&ctx.token, "Pipelined.");
    rest.extend_from_slice(b".\r\nQUIT\r\n");
    conn.send(&rest)?;
    need(&conn.reply()?, &[250], "the end of data, pipelined")?;
    need(&conn.reply()?, &[221], "QUIT, pipelined after the message")
}
// ANCHOR_END: pipelining

/// The SIZE limit the server announced, if any (0: no fixed limit).
fn announced_size(ehlo: &crate::check::reply::Reply) -> Option<Option<u64>> {
    ehlo_keywords(ehlo)
        .into_iter()
        .find(|(k, _)| k == "SIZE")
        .map(|(_, params)| params.first().and_then(|p| p.parse().ok()))
}

fn size_declared(ctx: &mut Ctx) -> Checked {
    let (mut conn, ehlo) = ctx.session()?;
    if announced_size(&ehlo).is_none() {
        return Err(Verdict::NotChecked("SIZE is not offered".into()));
    }
    let reply = conn.cmd(&format!("MAIL FROM:<{}> SIZE=1000", ctx.settings.from))?;
    need(&reply, &[250], "MAIL FROM with SIZE=1000")
}

fn size_over(ctx: &mut Ctx) -> Checked {
    let (mut conn, ehlo) = ctx.session()?;
    let limit = match announced_size(&ehlo) {
        None => return Err(Verdict::NotChecked("SIZE is not offered".into())),
        Some(None) | Some(Some(0)) => {
            return Err(Verdict::NotChecked(
                "SIZE is offered without a limit".into(),
            ))
        }
        Some(Some(limit)) => limit,
    };
    let over = limit.saturating_add(1);
    let reply = conn.cmd(&format!("MAIL FROM:<{}> SIZE={over}", ctx.settings.from))?;
    // RFC 1870 §6.1: a declared size over the fixed maximum is a permanent 552.
    need(
        &reply,
        &[552],
        &format!("MAIL FROM with SIZE={over} (over the SIZE {limit} offered)"),
    )
}

// ANCHOR: smuggle
/// One message whose text contains `ending` and then a whole second transaction; only
/// the `<CRLF>.<CRLF>` after it ends the data. A server that takes `ending` for the end
/// answers the "smuggled" MAIL, RCPT and DATA too: more than one reply.
fn smuggle(ctx: &mut Ctx, ending: &[u8]) -> Checked {
    let mut conn = ctx.transaction()?;
    need(&conn.cmd("DATA")?, &[354], "DATA")?;
    let s = ctx.settings;
    let mut text = ctx.message(&ctx.token, "First message.");
    text.truncate(text.len() - 2); // its last CRLF is replaced by the ending
    text.extend_from_slice(ending);
    text.extend_from_slice(
        format!(
            "MAIL FROM:<{}>\r\nRCPT TO:<{}>\r\nDATA\r\nSubject: smuggled {}\r\n\r\nSmuggled.\r\n.\r\n",
            s.from, s.to, ctx.token
        )
        .as_bytes(),
    );
    conn.send(&text)?;
    let first = conn.reply()?;
    let more = conn.replies_until_quiet(s.quiet)?;
    if more.is_empty() {
        // One reply, 250 or a refusal: either way nothing was smuggled.
        return Ok(());
    }
    let codes: Vec<u16> = std::iter::once(&first)
        .chain(&more)
        .map(|r| r.code)
        .collect();
    fail(format!(
        "{} replies ({codes:?}) where one was due: the ending {} ended the message and the \
         text after it was read as commands",
        codes.len(),
        crate::check::conn::escape(ending)
    ))
}
// ANCHOR_END: smuggle

mod smuggle {
    use super::{Check, Checked, Ctx, Level};

    macro_rules! ending {
        ($name:ident, $fn:ident, $id:literal, $bytes:literal, $shown:literal) => {
            fn $fn(ctx: &mut Ctx) -> Checked {
                super::smuggle(ctx, $bytes)
            }
            pub const $name: Check = Check {
                id: $id,
                stage: 8,
                section: "RFC 5321 §4.1.1.4, §2.3.8",
                level: Level::Must,
                slow: false,
                title: concat!("only <CRLF>.<CRLF> ends the data, not ", $shown),
                run: $fn,
            };
        };
    }

    ending!(
        LF_DOT_LF,
        lf_dot_lf,
        "data.smuggle-lf-dot-lf",
        b"\n.\n",
        "<LF>.<LF>"
    );
    ending!(
        LF_DOT_CRLF,
        lf_dot_crlf,
        "data.smuggle-lf-dot-crlf",
        b"\n.\r\n",
        "<LF>.<CRLF>"
    );
    ending!(
        CR_DOT_CR,
        cr_dot_cr,
        "data.smuggle-cr-dot-cr",
        b"\r.\r",
        "<CR>.<CR>"
    );
    ending!(
        CR_DOT_LF,
        cr_dot_lf,
        "data.smuggle-cr-dot-lf",
        b"\r.\n",
        "<CR>.<LF>"
    );
    ending!(
        LF_DOT_CR,
        lf_dot_cr,
        "data.smuggle-lf-dot-cr",
        b"\n.\r",
        "<LF>.<CR>"
    );
    ending!(
        CR_DOT_CRLF,
        cr_dot_crlf,
        "data.smuggle-cr-dot-crlf",
        b"\r.\r\n",
        "<CR>.<CRLF>"
    );
    ending!(
        CRLF_DOT_LF,
        crlf_dot_lf,
        "data.smuggle-crlf-dot-lf",
        b"\r\n.\n",
        "<CRLF>.<LF>"
    );
    ending!(
        CRLF_DOT_CR,
        crlf_dot_cr,
        "data.smuggle-crlf-dot-cr",
        b"\r\n.\r",
        "<CRLF>.<CR>"
    );
    ending!(
        CRLF_NUL_DOT,
        crlf_nul_dot,
        "data.smuggle-crlf-nul-dot",
        b"\r\n\x00.\r\n",
        "<CRLF><NUL>.<CRLF>"
    );
    ending!(
        CRLF_DOT_NUL,
        crlf_dot_nul,
        "data.smuggle-crlf-dot-nul",
        b"\r\n.\x00\r\n",
        "<CRLF>.<NUL><CRLF>"
    );
    ending!(
        CRLF_DOT_CRCRLF,
        crlf_dot_crcrlf,
        "data.smuggle-crlf-dot-crcrlf",
        b"\r\n.\r\r\n",
        "<CRLF>.<CR><CRLF>"
    );
    ending!(
        CRCRLF_DOT_CRCRLF,
        crcrlf_dot_crcrlf,
        "data.smuggle-crcrlf-dot-crcrlf",
        b"\r\r\n.\r\r\n",
        "<CR><CRLF>.<CR><CRLF>"
    );
}
