//! Stage 3, *The state machine*: the order of commands (RFC 5321 §4.1.4). Out of
//! order is 503 and changes nothing; EHLO resets a transaction as RSET does; NOOP and
//! RSET work before EHLO.

use super::{need, Check, Checked, Ctx, Level};

pub const CHECKS: &[Check] = &[
    Check {
        id: "order.rcpt-before-mail",
        stage: 3,
        section: "RFC 5321 §4.1.4",
        level: Level::Must,
        slow: false,
        title: "RCPT before MAIL gets 503",
        run: rcpt_before_mail,
    },
    Check {
        id: "order.data-before-rcpt",
        stage: 3,
        section: "RFC 5321 §4.1.1.4, §4.1.4",
        level: Level::Must,
        slow: false,
        title: "DATA without a recipient gets 503 or 554, never 354",
        run: data_before_rcpt,
    },
    Check {
        id: "order.nested-mail",
        stage: 3,
        section: "RFC 5321 §4.1.4",
        level: Level::Must,
        slow: false,
        title: "MAIL inside a transaction gets 503",
        run: nested_mail,
    },
    Check {
        id: "order.ehlo-resets",
        stage: 3,
        section: "RFC 5321 §4.1.4",
        level: Level::Must,
        slow: false,
        title: "a second EHLO clears the transaction",
        run: ehlo_resets,
    },
    Check {
        id: "order.before-ehlo",
        stage: 3,
        section: "RFC 5321 §4.1.4",
        level: Level::Should,
        slow: false,
        title: "NOOP and RSET work before EHLO",
        run: before_ehlo,
    },
];

fn rcpt_before_mail(ctx: &mut Ctx) -> Checked {
    let command = format!("RCPT TO:<{}>", ctx.settings.to);
    ctx.after_ehlo(&command, &[503], "RCPT before MAIL")
}

fn data_before_rcpt(ctx: &mut Ctx) -> Checked {
    let mut conn = ctx.mail_from()?;
    let reply = conn.cmd("DATA")?;
    // §4.1.1.4: "no valid recipients" (554) is allowed as well as 503.
    need(&reply, &[503, 554], "DATA without RCPT")
}

fn nested_mail(ctx: &mut Ctx) -> Checked {
    let mut conn = ctx.mail_from()?;
    let mail = format!("MAIL FROM:<{}>", ctx.settings.from);
    need(
        &conn.cmd(&mail)?,
        &[503],
        "a second MAIL FROM in the same transaction",
    )
}

fn ehlo_resets(ctx: &mut Ctx) -> Checked {
    let mut conn = ctx.mail_from()?;
    need(
        &conn.cmd(&format!("EHLO {}", ctx.settings.helo))?,
        &[250],
        "the second EHLO",
    )?;
    // Had EHLO not reset the transaction, this would be a nested MAIL.
    ctx.mail(&mut conn, "MAIL FROM after the second EHLO")
}

fn before_ehlo(ctx: &mut Ctx) -> Checked {
    let (mut conn, _) = ctx.greeted()?;
    need(&conn.cmd("NOOP")?, &[250], "NOOP before EHLO")?;
    need(&conn.cmd("RSET")?, &[250], "RSET before EHLO")
}
