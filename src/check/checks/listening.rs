//! Stage 1, *Listening*: a server serves several clients at once, and waits for a
//! slow one (RFC 5321 §4.5.3.2.7: at least 5 minutes for the next command).

use super::{fail, need, Check, Checked, Ctx, Level};

pub const CHECKS: &[Check] = &[
    Check {
        id: "listen.concurrent",
        stage: 1,
        section: "RFC 5321 §4.5.3.2.7",
        level: Level::Should,
        slow: false,
        title: "a silent client does not stop a second one being greeted",
        run: concurrent,
    },
    Check {
        id: "listen.idle",
        stage: 1,
        section: "RFC 5321 §4.5.3.2.7",
        level: Level::Should,
        slow: true,
        title: "waits at least 5 minutes for the next command",
        run: idle,
    },
];

// ANCHOR: concurrent
fn concurrent(ctx: &mut Ctx) -> Checked {
    // The first client stops half-way through a line, as a slow one does. A server
    // that serves one client at a time would now wait up to §4.5.3.2.7's 5 minutes
    // before anyone else gets a greeting.
    let (mut first, _) = ctx.greeted()?;
    first.send(b"EHLO slow")?;
    let mut second = ctx.connect()?;
    match second.reply() {
        Ok(greeting) => need(&greeting, &[220], "the second client's greeting")?,
        Err(e) => {
            return fail(format!(
                "while the first client was silent, the second one: {e}"
            ))
        }
    }
    let ehlo = second.cmd(&format!("EHLO {}", ctx.settings.helo))?;
    need(&ehlo, &[250], "the second client's EHLO")
}
// ANCHOR_END: concurrent

fn idle(ctx: &mut Ctx) -> Checked {
    let (mut conn, _) = ctx.session()?;
    let idle = ctx.settings.idle;
    std::thread::sleep(idle);
    match conn.cmd("NOOP") {
        Ok(reply) => need(&reply, &[250], "NOOP after the pause"),
        Err(e) => fail(format!("after {} s of silence: {e}", idle.as_secs_f32())),
    }
}
