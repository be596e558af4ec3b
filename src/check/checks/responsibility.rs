//! Stage 9, *Taking responsibility*: after 250 the message is stored, once (RFC 5321
//! §4.1.1.4, §6.1), with a `Received:` line prepended (§4.4) and, at final delivery,
//! `Return-Path:` (§4.4); a client that vanishes mid-DATA leaves nothing behind
//! (§4.1.1.10: the server cancels the pending transaction).
//!
//! All four read the store (`--maildir` or `--mbox`): without it, "not checked".

use super::{fail, need, Check, Checked, Ctx, Level};

pub const CHECKS: &[Check] = &[
    Check {
        id: "store.once",
        stage: 9,
        section: "RFC 5321 §4.1.1.4, §6.1",
        level: Level::Must,
        slow: false,
        title: "after 250 the message is stored, exactly once",
        run: once,
    },
    Check {
        id: "store.received",
        stage: 9,
        section: "RFC 5321 §4.4",
        level: Level::Must,
        slow: false,
        title: "a Received: line is prepended to the stored message",
        run: received,
    },
    Check {
        id: "store.return-path",
        stage: 9,
        section: "RFC 5321 §4.4",
        level: Level::Must,
        slow: false,
        title: "final delivery prepends Return-Path: with the reverse-path",
        run: return_path,
    },
    Check {
        id: "store.vanished",
        stage: 9,
        section: "RFC 5321 §4.1.1.10, §3.8",
        level: Level::Must,
        slow: false,
        title: "a client that vanishes mid-DATA leaves no message",
        run: vanished,
    },
];

/// Sends one message marked with `token`; its final reply must be 250.
fn deliver(ctx: &mut Ctx, token: &str) -> Checked {
    let mut conn = ctx.transaction()?;
    need(&conn.cmd("DATA")?, &[354], "DATA")?;
    let mut text = ctx.message(token, "Stored once, please.");
    text.extend_from_slice(b".\r\n");
    conn.send(&text)?;
    need(&conn.reply()?, &[250], "the end of data")?;
    let _ = conn.cmd("QUIT");
    Ok(())
}

/// Delivers a message and returns it as stored (exactly one copy, or a failure).
fn delivered(ctx: &mut Ctx) -> Result<Vec<u8>, super::Verdict> {
    ctx.store()?;
    let token = ctx.token.clone();
    deliver(ctx, &token)?;
    let mut stored = ctx.wait_stored(&token)?;
    match stored.len() {
        0 => fail(format!(
            "250 was sent, but no message with {token} appeared within {} s",
            ctx.settings.store_wait.as_secs_f32()
        )),
        1 => Ok(stored.remove(0)),
        n => fail(format!("one message was sent and stored {n} times")),
    }
}

/// The header lines the server put before the first one we sent (Message-ID).
fn prepended(message: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(message);
    text.lines()
        .take_while(|l| !l.is_empty() && !l.to_ascii_lowercase().starts_with("message-id:"))
        .map(str::to_string)
        .collect()
}

fn once(ctx: &mut Ctx) -> Checked {
    delivered(ctx).map(|_| ())
}

fn received(ctx: &mut Ctx) -> Checked {
    let message = delivered(ctx)?;
    let added = prepended(&message);
    if added
        .iter()
        .any(|l| l.to_ascii_lowercase().starts_with("received:"))
    {
        Ok(())
    } else {
        fail(format!(
            "no Received: line before the message's own header; prepended: {added:?}"
        ))
    }
}

fn return_path(ctx: &mut Ctx) -> Checked {
    let message = delivered(ctx)?;
    let added = prepended(&message);
    let want = format!("<{}>", ctx.settings.from).to_ascii_lowercase();
    let found = added.iter().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("return-path:") && l.contains(&want)
    });
    if found {
        Ok(())
    } else {
        fail(format!(
            "no Return-Path: {want} before the message's own header; prepended: {added:?}"
        ))
    }
}

// ANCHOR: vanished
fn vanished(ctx: &mut Ctx) -> Checked {
    ctx.store()?;
    let gone = format!("{}-vanished", ctx.token);
    let mut conn = ctx.transaction()?;
    need(&conn.cmd("DATA")?, &[354], "DATA")?;
    // Half a message, no end of data, then the connection is gone.
    conn.send(&ctx.message(&gone, "This message never ends."))?;
    conn.vanish();
    // A second, whole message shows when the server has caught up.
    let control = format!("{}-control", ctx.token);
    deliver(ctx, &control)?;
    if ctx.wait_stored(&control)?.is_empty() {
        return fail("the control message sent after it never appeared in the store");
    }
    // Mail is stored in order: by now the unfinished message would be there too.
    std::thread::sleep(ctx.settings.quiet);
    match ctx.stored_now(&gone)?.len() {
        0 => Ok(()),
        _ => fail("the unfinished message of a client that vanished was stored"),
    }
}
// ANCHOR_END: vanished
