//! Stage 12, *Keeping it safe*: no relaying for strangers (RFC 5321 §3.6.1; RFC 2505 §2,
//! anti-spam recommendations), and a server that survives a client vanishing mid-DATA (§4.1.1.5).

use super::{fail, need, Check, Checked, Ctx, Level};

/// A domain no class server receives mail for (example.com is reserved, RFC 2606).
pub const FOREIGN: &str = "postie-check@example.com";

pub const CHECKS: &[Check] = &[
    Check {
        id: "safe.relay",
        stage: 12,
        section: "RFC 5321 §3.6.1, RFC 2505 §2",
        level: Level::Should,
        slow: false,
        title: "mail for a foreign domain is refused (no open relay)",
        run: relay,
    },
    Check {
        id: "safe.vanished-client",
        stage: 12,
        section: "RFC 5321 §4.1.1.5",
        level: Level::Should,
        slow: false,
        title: "after a client vanishes mid-DATA, the next one is served",
        run: vanished_client,
    },
];

// ANCHOR: relay
fn relay(ctx: &mut Ctx) -> Checked {
    let mut conn = ctx.mail_from()?;
    let reply = conn.cmd(&format!("RCPT TO:<{FOREIGN}>"))?;
    // Refused now (5xx) or for now (4xx): either way nothing is relayed. We never send
    // DATA, so an open relay delivers nothing either.
    let _ = conn.cmd("RSET");
    if reply.is_positive() {
        return fail(format!(
            "RCPT TO:<{FOREIGN}> got {}: an open relay",
            reply.code
        ));
    }
    Ok(())
}
// ANCHOR_END: relay

fn vanished_client(ctx: &mut Ctx) -> Checked {
    let mut conn = ctx.transaction()?;
    need(&conn.cmd("DATA")?, &[354], "DATA")?;
    conn.send(&ctx.message(&ctx.token, "Half a message."))?;
    conn.vanish();
    // Give the server a moment to notice, as the next real client would.
    std::thread::sleep(ctx.settings.quiet);
    let mut next = match ctx.connect() {
        Ok(next) => next,
        Err(_) => return fail("after a client vanished mid-DATA, the next could not connect"),
    };
    need(&next.reply()?, &[220], "the next client's greeting")?;
    need(
        &next.cmd(&format!("EHLO {}", ctx.settings.helo))?,
        &[250],
        "the next client's EHLO",
    )
}
