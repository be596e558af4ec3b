//! Stage 10, *QUIT, RSET, NOOP, VRFY and HELP*: the commands every receiver supports
//! (RFC 5321 §4.5.1), each with its reply (§4.1.1.5–§4.1.1.10).

use super::{fail, need, Check, Checked, Ctx, Level};

pub const CHECKS: &[Check] = &[
    Check {
        id: "cmd.noop",
        stage: 10,
        section: "RFC 5321 §4.1.1.9",
        level: Level::Must,
        slow: false,
        title: "NOOP gets 250",
        run: noop,
    },
    Check {
        id: "cmd.rset",
        stage: 10,
        section: "RFC 5321 §4.1.1.5",
        level: Level::Must,
        slow: false,
        title: "RSET gets 250 and clears the transaction",
        run: rset,
    },
    Check {
        id: "cmd.rset-argument",
        stage: 10,
        section: "RFC 5321 §4.3.2 (501)",
        level: Level::Should,
        slow: false,
        title: "RSET with an argument gets 501",
        run: rset_argument,
    },
    Check {
        id: "cmd.vrfy",
        stage: 10,
        section: "RFC 5321 §4.5.1, §3.5.3",
        level: Level::Must,
        slow: false,
        title: "VRFY is implemented (not 500 or 502)",
        run: vrfy,
    },
    Check {
        id: "cmd.help",
        stage: 10,
        section: "RFC 5321 §4.1.1.8",
        level: Level::Should,
        slow: false,
        title: "HELP gets 211 or 214",
        run: help,
    },
    Check {
        id: "cmd.quit",
        stage: 10,
        section: "RFC 5321 §4.1.1.10",
        level: Level::Must,
        slow: false,
        title: "QUIT gets 221, then the server closes the connection",
        run: quit,
    },
];

fn noop(ctx: &mut Ctx) -> Checked {
    ctx.after_ehlo("NOOP", &[250], "NOOP")
}

fn rset(ctx: &mut Ctx) -> Checked {
    let (mut conn, _) = ctx.session()?;
    ctx.mail_rcpt(&mut conn)?;
    need(&conn.cmd("RSET")?, &[250], "RSET")?;
    // Without the reset, this MAIL would be nested and get 503.
    ctx.mail(&mut conn, "MAIL FROM after RSET")
}

fn rset_argument(ctx: &mut Ctx) -> Checked {
    ctx.after_ehlo("RSET now", &[501], "RSET with an argument")
}

fn vrfy(ctx: &mut Ctx) -> Checked {
    let (mut conn, _) = ctx.session()?;
    let reply = conn.cmd(&format!("VRFY {}", ctx.settings.to))?;
    // §3.5.3: 250/251 verified, 252 cannot verify, 550/551/553 no such user, 4xx
    // trouble. §4.3.2: a "command not recognized" for a required command is a
    // violation; §4.5.1 requires VRFY, so "not implemented" is one too.
    match reply.code {
        500 | 502 => fail(format!(
            "VRFY got {}: the command is required by §4.5.1",
            reply.code
        )),
        503 => fail("VRFY got 503; §4.1.4 allows VRFY at any time"),
        _ => Ok(()),
    }
}

fn help(ctx: &mut Ctx) -> Checked {
    ctx.after_ehlo("HELP", &[211, 214], "HELP")
}

fn quit(ctx: &mut Ctx) -> Checked {
    let (mut conn, _) = ctx.session()?;
    need(&conn.cmd("QUIT")?, &[221], "QUIT")?;
    if conn.closes_within(ctx.settings.reply_timeout) {
        Ok(())
    } else {
        fail("221 was sent, but the connection stayed open")
    }
}
