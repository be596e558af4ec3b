//! Stage 7, *RCPT TO*: a recipient, `<Postmaster>` (RFC 5321 §4.5.1), and room for
//! 100 recipients (§4.5.3.1.8).

use super::{need, Check, Checked, Ctx, Level};

pub const CHECKS: &[Check] = &[
    Check {
        id: "rcpt.250",
        stage: 7,
        section: "RFC 5321 §4.1.1.3",
        level: Level::Must,
        slow: false,
        title: "RCPT TO:<recipient> gets 250",
        run: rcpt_250,
    },
    Check {
        id: "rcpt.postmaster",
        stage: 7,
        section: "RFC 5321 §4.5.1",
        level: Level::Must,
        slow: false,
        title: "RCPT TO:<Postmaster>, with no domain, gets 250",
        run: postmaster,
    },
    Check {
        id: "rcpt.hundred",
        stage: 7,
        section: "RFC 5321 §4.5.3.1.8",
        level: Level::Must,
        slow: false,
        title: "100 recipients in one transaction are accepted",
        run: hundred,
    },
];

fn rcpt_250(ctx: &mut Ctx) -> Checked {
    let (mut conn, _) = ctx.session()?;
    ctx.mail_rcpt(&mut conn)
}

fn postmaster(ctx: &mut Ctx) -> Checked {
    let mut conn = ctx.mail_from()?;
    need(
        &conn.cmd("RCPT TO:<Postmaster>")?,
        &[250, 251],
        "RCPT TO:<Postmaster>",
    )
}

fn hundred(ctx: &mut Ctx) -> Checked {
    let mut conn = ctx.mail_from()?;
    // The one recipient we know the server takes, a hundred times: each RCPT must be
    // accepted (a server may deliver one copy).
    for n in 1..=100 {
        let reply = conn.cmd(&format!("RCPT TO:<{}>", ctx.settings.to))?;
        need(&reply, &[250, 251], &format!("RCPT number {n}"))?;
    }
    need(&conn.cmd("RSET")?, &[250], "RSET")
}
