//! Stage 4, *The greeting*: the server speaks first, with 220 and its name
//! (RFC 5321 §3.1, §4.2's `Greeting`).

use super::{fail, is_domain_or_literal, need, Check, Checked, Ctx, Level};

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
    let mut conn = ctx.connect()?;
    let greeting = conn.reply()?;
    need(&greeting, &[220], "the greeting")
}

fn domain(ctx: &mut Ctx) -> Checked {
    let mut conn = ctx.connect()?;
    let greeting = conn.reply()?;
    need(&greeting, &[220], "the greeting")?;
    // Greeting = "220 " (Domain / address-literal) [ SP textstring ] CRLF, and the
    // same after "220-" on the first line of a multiline greeting.
    let first = greeting.texts().into_iter().next().unwrap_or_default();
    let name = first.split(' ').next().unwrap_or_default();
    if is_domain_or_literal(name) {
        Ok(())
    } else {
        fail(format!(
            "the greeting starts with {name:?}, not a domain or address literal"
        ))
    }
}
