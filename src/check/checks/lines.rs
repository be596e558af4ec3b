//! Stage 2, *Reading lines*: CRLF and nothing else ends a line (RFC 5321 §2.3.8); a
//! 512-octet command line is received (§4.5.3.1.4); a longer one gets one reply, not
//! several (§4.2: every command generates exactly one reply).

use super::{fail, need, Check, Checked, Ctx, Level};

pub const CHECKS: &[Check] = &[
    Check {
        id: "lines.bare-lf",
        stage: 2,
        section: "RFC 5321 §2.3.8",
        level: Level::Must,
        slow: false,
        title: "a bare LF does not end a command line",
        run: bare_lf,
    },
    Check {
        id: "lines.command-512",
        stage: 2,
        section: "RFC 5321 §4.5.3.1.4",
        level: Level::Must,
        slow: false,
        title: "a command line of 512 octets is received",
        run: command_512,
    },
    Check {
        id: "lines.too-long",
        stage: 2,
        section: "RFC 5321 §4.2, §4.5.3.1.4",
        level: Level::Must,
        slow: false,
        title: "a 4000-octet line gets one reply, not one per piece",
        run: too_long,
    },
];

// ANCHOR: bare_lf
fn bare_lf(ctx: &mut Ctx) -> Checked {
    let (mut conn, _) = ctx.session()?;
    // Two NOOPs in one write, the first ended by a bare LF. A server that reads lines
    // as RFC 5321 says sees one line, "NOOP<LF>NOOP", and gives one reply (or refuses
    // the bare LF, then answers the NOOP). Two replies, the first a success, mean the
    // LF ended a command line.
    conn.send(b"NOOP\nNOOP\r\n")?;
    let first = conn.reply()?;
    let more = conn.replies_until_quiet(ctx.settings.quiet)?;
    if first.is_positive() && !more.is_empty() {
        return fail(format!(
            "\"NOOP<LF>NOOP<CRLF>\" got {} replies, the first {}: a bare LF ended the command line",
            more.len() + 1,
            first.code
        ));
    }
    Ok(())
}
// ANCHOR_END: bare_lf

fn command_512(ctx: &mut Ctx) -> Checked {
    let (mut conn, _) = ctx.session()?;
    // "NOOP" SP String CRLF (§4.1.1.9), 512 octets in all.
    let line = format!("NOOP {}\r\n", "x".repeat(512 - 7));
    conn.send(line.as_bytes())?;
    let reply = conn.reply()?;
    need(&reply, &[250], "a 512-octet NOOP")
}

fn too_long(ctx: &mut Ctx) -> Checked {
    let (mut conn, _) = ctx.session()?;
    let mut batch = format!("NOOP {}\r\n", "x".repeat(4000)).into_bytes();
    batch.extend_from_slice(b"NOOP\r\n");
    conn.send(&batch)?;
    let replies = conn.replies_until_quiet(ctx.settings.quiet)?;
    let codes: Vec<u16> = replies.iter().map(|r| r.code).collect();
    match codes.as_slice() {
        // Either answer to the long line is fine; the short one must work after it.
        [_, 250] => Ok(()),
        // Refusing the long line and closing (421) is an orderly end too.
        [421] => Ok(()),
        [] => fail("no reply to a 4000-octet line followed by NOOP"),
        _ if codes.len() > 2 => fail(format!(
            "{} replies to two lines ({codes:?}): the long line was read as several commands",
            codes.len()
        )),
        _ => fail(format!(
            "replies {codes:?} to a long line and NOOP; expected two, the last 250"
        )),
    }
}
