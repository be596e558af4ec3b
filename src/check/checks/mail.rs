//! Stage 6, *MAIL FROM*: the sender, the null reverse-path `<>` (RFC 5321 §4.1.2,
//! §4.5.5), 501 for bad syntax with no change of state (§4.1.4), 555 for a parameter
//! the server does not know (§4.1.1.11).

use super::{need, Check, Checked, Ctx, Level};

pub const CHECKS: &[Check] = &[
    Check {
        id: "mail.250",
        stage: 6,
        section: "RFC 5321 §4.1.1.2",
        level: Level::Must,
        slow: false,
        title: "MAIL FROM:<sender> gets 250",
        run: mail_250,
    },
    Check {
        id: "mail.null-path",
        stage: 6,
        section: "RFC 5321 §4.1.2, §4.5.5",
        level: Level::Must,
        slow: false,
        title: "MAIL FROM:<> (bounces) gets 250",
        run: null_path,
    },
    Check {
        id: "mail.syntax-501",
        stage: 6,
        section: "RFC 5321 §4.1.4",
        level: Level::Must,
        slow: false,
        title: "a broken path gets 501, and the state stays as it was",
        run: syntax_501,
    },
    Check {
        id: "mail.unknown-param",
        stage: 6,
        section: "RFC 5321 §4.1.1.11",
        level: Level::Must,
        slow: false,
        title: "an unknown MAIL parameter gets 555",
        run: unknown_param,
    },
    Check {
        id: "mail.lowercase",
        stage: 6,
        section: "RFC 5321 §2.4",
        level: Level::Must,
        slow: false,
        title: "\"mail from:\" in lower case works",
        run: lowercase,
    },
];

fn mail_250(ctx: &mut Ctx) -> Checked {
    ctx.mail_from()?;
    Ok(())
}

fn null_path(ctx: &mut Ctx) -> Checked {
    ctx.after_ehlo("MAIL FROM:<>", &[250], "MAIL FROM:<>")
}

fn syntax_501(ctx: &mut Ctx) -> Checked {
    let (mut conn, _) = ctx.session()?;
    let from = &ctx.settings.from;
    need(
        &conn.cmd(&format!("MAIL FROM:<{from}"))?,
        &[501],
        "MAIL FROM with no closing '>'",
    )?;
    // §4.1.4: "the SMTP server MUST stay in the same state": no transaction began.
    ctx.mail(&mut conn, "MAIL FROM after the 501")
}

fn unknown_param(ctx: &mut Ctx) -> Checked {
    let command = format!("MAIL FROM:<{}> XYZZY=1", ctx.settings.from);
    ctx.after_ehlo(&command, &[555], "MAIL FROM with parameter XYZZY=1")
}

fn lowercase(ctx: &mut Ctx) -> Checked {
    let command = format!("mail from:<{}>", ctx.settings.from);
    ctx.after_ehlo(&command, &[250], "\"mail from:\" in lower case")
}
