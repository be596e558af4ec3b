//! Stage 5, *EHLO and HELO*: both answered with 250 and the server's name; the EHLO
//! reply lists extensions in the grammar of RFC 5321 §4.1.1.1; no argument is a
//! syntax error (§4.1.4); commands are case-insensitive (§2.4).

use super::{fail, names_server, need, Check, Checked, Ctx, Level};

pub const CHECKS: &[Check] = &[
    Check {
        id: "ehlo.250",
        stage: 5,
        section: "RFC 5321 §4.1.1.1",
        level: Level::Must,
        slow: false,
        title: "EHLO gets 250 and the server's name",
        run: ehlo_250,
    },
    Check {
        id: "ehlo.keywords",
        stage: 5,
        section: "RFC 5321 §4.1.1.1",
        level: Level::Must,
        slow: false,
        title: "each extension line is a keyword and parameters",
        run: keywords,
    },
    Check {
        id: "ehlo.helo",
        stage: 5,
        section: "RFC 5321 §4.1.1.1, §4.5.1",
        level: Level::Must,
        slow: false,
        title: "HELO gets 250 and the server's name",
        run: helo,
    },
    Check {
        id: "ehlo.no-domain",
        stage: 5,
        section: "RFC 5321 §4.1.4",
        level: Level::Must,
        slow: false,
        title: "EHLO without a domain gets 501 (or 500, 502, 550)",
        run: no_domain,
    },
    Check {
        id: "ehlo.lowercase",
        stage: 5,
        section: "RFC 5321 §2.4",
        level: Level::Must,
        slow: false,
        title: "\"ehlo\" in lower case works",
        run: lowercase,
    },
];

fn ehlo_250(ctx: &mut Ctx) -> Checked {
    let (_, ehlo) = ctx.session()?;
    names_server(&ehlo, "EHLO's reply")
}

// ANCHOR: keywords
fn keywords(ctx: &mut Ctx) -> Checked {
    let (_, ehlo) = ctx.session()?;
    // ehlo-line    = ehlo-keyword *( SP ehlo-param )
    // ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
    // ehlo-param   = 1*(%d33-126)
    for text in ehlo.texts().iter().skip(1) {
        let mut words = text.split(' ');
        let keyword = words.next().unwrap_or_default();
        let keyword_ok = keyword
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
            && keyword
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        let params_ok = words.all(|p| !p.is_empty() && p.bytes().all(|b| (33..=126).contains(&b)));
        if !keyword_ok || !params_ok {
            return fail(format!(
                "the EHLO line {text:?} is not a keyword with parameters"
            ));
        }
    }
    Ok(())
}
// ANCHOR_END: keywords

fn helo(ctx: &mut Ctx) -> Checked {
    let (mut conn, _) = ctx.greeted()?;
    let reply = conn.cmd(&format!("HELO {}", ctx.settings.helo))?;
    need(&reply, &[250], "HELO")?;
    names_server(&reply, "HELO's reply")
}

fn no_domain(ctx: &mut Ctx) -> Checked {
    let (mut conn, _) = ctx.greeted()?;
    let reply = conn.cmd("EHLO")?;
    need(&reply, &[501, 500, 502, 550], "EHLO without a domain")
}

fn lowercase(ctx: &mut Ctx) -> Checked {
    let (mut conn, _) = ctx.greeted()?;
    let reply = conn.cmd(&format!("ehlo {}", ctx.settings.helo))?;
    need(&reply, &[250], "\"ehlo\" in lower case")
}
