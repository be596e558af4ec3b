//! Stage 4, *The greeting*: the server speaks first, with 220 and its name
//! (RFC 5321 §3.1, §4.2's `Greeting`).

use super::{names_server, Check, Checked, Ctx, Level};

pub const CHECKS: &[Check] = &[
    Check {
        id: "greeting.220",
        stage: 4,
        section: "RFC 5321 §3.1, §4.3.1",
        level: Level::Must,
        slow: false,
        title: "the server speaks first, with 220",
        run: code_220,
    },
    Check {
        id: "greeting.domain",
        stage: 4,
        section: "RFC 5321 §4.2",
        level: Level::Must,
        slow: false,
        title: "the 220 line names the server (domain or address literal)",
        run: domain,
    },
];

fn code_220(ctx: &mut Ctx) -> Checked {
    ctx.greeted()?;
    Ok(())
}

fn domain(ctx: &mut Ctx) -> Checked {
    let (_, greeting) = ctx.greeted()?;
    // Greeting = "220 " (Domain / address-literal) [ SP textstring ] CRLF, and the
    // same after "220-" on the first line of a multiline greeting.
    names_server(&greeting, "the greeting")
}
