//! POP3 responses (RFC 1939 §3, RFC 2449 §8 response codes).
//!
//! A POP3 response is simpler than an SMTP reply: a status indicator, `+OK` or `-ERR`,
//! and a line of text. A negative one may begin with a response code in brackets
//! (RFC 2449 §8, RFC 3206): `[IN-USE]`, `[AUTH]`, `[SYS/TEMP]`, `[SYS/PERM]`, so a
//! client can tell "wrong password" from "mailbox busy" without reading English.
//! Some positive responses go on for several lines (LIST, UIDL, CAPA), ended by a line
//! holding only "." (RFC 1939 §3).
//!
//! Every response postie sends is a named constructor below. The message text of RETR
//! and TOP is not a `Reply`: it comes from the maildrop, and `pop3::message` writes it.
//!
//! Left out: response codes for extensions postie does not offer (LOGIN-DELAY, SASL).

// ANCHOR: reply
/// One POP3 response, possibly multi-line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    ok: bool,
    /// RFC 2449 §8: an extended response code, in brackets after `-ERR`.
    code: Option<&'static str>,
    text: String,
    /// The lines of a multi-line response, without the final ".".
    lines: Option<Vec<String>>,
}
// ANCHOR_END: reply

/// RFC 2449 §4: a response line is at most 512 octets, including the CRLF.
pub const MAX_RESPONSE_LINE: usize = 512;

impl Reply {
    /// `+OK text`.
    pub fn ok(text: impl Into<String>) -> Reply {
        Reply {
            ok: true,
            code: None,
            text: sanitize(&text.into()),
            lines: None,
        }
    }

    /// `-ERR text`, or `-ERR [CODE] text`.
    pub fn err(code: Option<&'static str>, text: impl Into<String>) -> Reply {
        Reply {
            ok: false,
            code,
            text: sanitize(&text.into()),
            lines: None,
        }
    }

    /// `+OK text`, then each line (byte-stuffed), then ".".
    pub fn ok_multiline(text: impl Into<String>, lines: Vec<String>) -> Reply {
        Reply {
            lines: Some(lines.iter().map(|l| sanitize(l)).collect()),
            ..Reply::ok(text)
        }
    }

    pub fn is_ok(&self) -> bool {
        self.ok
    }

    pub fn code(&self) -> Option<&'static str> {
        self.code
    }

    // ANCHOR: write_to
    /// Appends the wire form: CRLF after every line; multi-line responses byte-stuffed
    /// and ended by a lone "." (RFC 1939 §3).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let mut first = String::from(if self.ok { "+OK" } else { "-ERR" });
        if let Some(code) = self.code {
            first.push_str(&format!(" [{code}]"));
        }
        if !self.text.is_empty() {
            first.push(' ');
            first.push_str(&self.text);
        }
        out.extend_from_slice(cut(&first).as_bytes());
        out.extend_from_slice(b"\r\n");
        if let Some(lines) = &self.lines {
            for line in lines {
                if line.starts_with('.') {
                    out.push(b'.');
                }
                out.extend_from_slice(cut(line).as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b".\r\n");
        }
    }
    // ANCHOR_END: write_to

    /// The wire form as a string, for tests and traces.
    pub fn to_wire_string(&self) -> String {
        let mut out = Vec::new();
        self.write_to(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    // ANCHOR: catalogue
    /// The greeting (RFC 1939 §4).
    pub fn greeting(hostname: &str) -> Reply {
        Reply::ok(format!("{hostname} POP3 postie ready"))
    }

    /// USER accepted. We say the same for every name, known or not, so that USER
    /// cannot be used to find out who has a mailbox.
    pub fn send_pass() -> Reply {
        Reply::ok("Send PASS")
    }

    /// Wrong name or password: one answer for both (RFC 3206: `[AUTH]`).
    pub fn bad_credentials() -> Reply {
        Reply::err(Some("AUTH"), "Wrong user name or password")
    }

    /// USER/PASS without TLS, where that is not allowed (RFC 2595, RFC 3206).
    pub fn plaintext_refused() -> Reply {
        Reply::err(
            Some("AUTH"),
            "Plaintext passwords need TLS (or --allow-plaintext-auth, from loopback only)",
        )
    }

    // ANCHOR: stls_replies
    /// STLS accepted: the next bytes on the wire are the TLS handshake (RFC 2595 §4).
    pub fn begin_tls() -> Reply {
        Reply::ok("Begin TLS negotiation")
    }

    /// STLS without a certificate configured: there is nothing to negotiate.
    pub fn tls_not_available() -> Reply {
        Reply::err(None, "STLS is not available: no certificate configured")
    }

    /// STLS inside TLS (RFC 2595 §4: "A -ERR response MAY result if a security layer
    /// is already active").
    pub fn tls_already_active() -> Reply {
        Reply::err(None, "TLS is already active")
    }

    /// STLS after logging in (RFC 2595 §4: "Only permitted in AUTHORIZATION state").
    pub fn stls_after_login() -> Reply {
        Reply::err(None, "STLS only before logging in")
    }

    /// Commands arrived behind STLS, before the handshake. They were sent in plaintext
    /// and could have been inserted by anyone on the path (CVE-2011-0411), so they are
    /// not run, and the connection is closed.
    pub fn pipelined_after_stls() -> Reply {
        Reply::err(
            None,
            "Commands after STLS must wait for the TLS handshake; closing connection",
        )
    }
    // ANCHOR_END: stls_replies

    /// RFC 2449 §8.1.2: another session holds the maildrop.
    pub fn in_use() -> Reply {
        Reply::err(
            Some("IN-USE"),
            "Mailbox in use by another session; try again later",
        )
    }

    /// The password cannot be checked now (the directory is down, or this address
    /// failed too often just now): RFC 3206 `[SYS/TEMP]`, try again later.
    pub fn cannot_check_now() -> Reply {
        Reply::err(
            Some("SYS/TEMP"),
            "Cannot check the password now, try again later",
        )
    }

    /// The maildrop could not be read (RFC 3206: `[SYS/TEMP]`).
    pub fn maildrop_unavailable() -> Reply {
        Reply::err(
            Some("SYS/TEMP"),
            "Cannot open the mailbox now; try again later",
        )
    }

    /// PASS accepted and the maildrop locked (RFC 1939 §7).
    pub fn maildrop_ready(count: usize, octets: u64) -> Reply {
        Reply::ok(format!(
            "Mailbox open, {count} message(s) ({octets} octets)"
        ))
    }

    /// STAT: the drop listing, `+OK nn mm` exactly (RFC 1939 §5).
    pub fn stat(count: usize, octets: u64) -> Reply {
        Reply::ok(format!("{count} {octets}"))
    }

    /// LIST n: one scan listing, `+OK n octets` (RFC 1939 §5).
    pub fn scan_listing(number: usize, octets: u64) -> Reply {
        Reply::ok(format!("{number} {octets}"))
    }

    /// RETR and TOP: the status line before the message text.
    pub fn message_follows(octets: u64) -> Reply {
        Reply::ok(format!("{octets} octets follow"))
    }

    /// UIDL n: `+OK n unique-id` (RFC 1939 §7).
    pub fn unique_id(number: usize, uid: &str) -> Reply {
        Reply::ok(format!("{number} {uid}"))
    }

    pub fn deleted(number: usize) -> Reply {
        Reply::ok(format!("Message {number} deleted"))
    }

    pub fn no_such_message(number: usize) -> Reply {
        Reply::err(None, format!("No message {number}"))
    }

    pub fn already_deleted(number: usize) -> Reply {
        Reply::err(None, format!("Message {number} already deleted"))
    }

    /// A message that was listed but cannot be read any more.
    pub fn cannot_read(number: usize) -> Reply {
        Reply::err(
            Some("SYS/TEMP"),
            format!("Cannot read message {number} now"),
        )
    }

    /// RSET: every deletion mark removed (RFC 1939 §5).
    pub fn reset(count: usize, octets: u64) -> Reply {
        Reply::ok(format!("Mailbox has {count} message(s) ({octets} octets)"))
    }

    /// QUIT outside TRANSACTION, or after a successful UPDATE (RFC 1939 §4, §6).
    pub fn signing_off(hostname: &str) -> Reply {
        Reply::ok(format!("{hostname} POP3 postie signing off"))
    }

    /// UPDATE failed for some messages (RFC 1939 §6: "-ERR some deleted messages not
    /// removed").
    pub fn some_not_removed(failed: usize) -> Reply {
        Reply::err(
            Some("SYS/TEMP"),
            format!("Some deleted messages not removed ({failed})"),
        )
    }

    pub fn unknown_command() -> Reply {
        Reply::err(None, "Unknown command")
    }

    pub fn syntax(usage: &str) -> Reply {
        Reply::err(None, format!("Syntax: {usage}"))
    }

    pub fn wrong_state(what: &str) -> Reply {
        Reply::err(None, what.to_string())
    }

    /// RFC 2449 §4: command lines are at most 255 octets.
    pub fn line_too_long(limit: usize) -> Reply {
        Reply::err(None, format!("Line too long (the limit is {limit} octets)"))
    }

    /// RFC 1939 §3: lines end in CRLF.
    pub fn bare_newline() -> Reply {
        Reply::err(None, "Lines must end with CRLF")
    }

    pub fn too_many_errors(hostname: &str) -> Reply {
        Reply::err(
            Some("SYS/PERM"),
            format!("{hostname} Too many errors; closing connection"),
        )
    }

    /// RFC 1939 §3: the autologout timer expired; no UPDATE.
    pub fn timeout(hostname: &str) -> Reply {
        Reply::err(
            Some("SYS/TEMP"),
            format!("{hostname} Idle too long; closing, nothing deleted"),
        )
    }

    pub fn shutting_down(hostname: &str) -> Reply {
        Reply::err(
            Some("SYS/TEMP"),
            format!("{hostname} Server shutting down; nothing deleted"),
        )
    }
    // ANCHOR_END: catalogue
}

/// No CR, LF or other control characters inside a response.
fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Cuts a line to 510 octets (512 with CRLF), on a character boundary.
fn cut(line: &str) -> &str {
    let limit = MAX_RESPONSE_LINE - 2;
    if line.len() <= limit {
        return line;
    }
    let mut end = limit;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    &line[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_forms() {
        assert_eq!(Reply::stat(2, 320).to_wire_string(), "+OK 2 320\r\n");
        assert_eq!(
            Reply::in_use().to_wire_string(),
            "-ERR [IN-USE] Mailbox in use by another session; try again later\r\n"
        );
        assert_eq!(Reply::err(None, "").to_wire_string(), "-ERR\r\n");
    }

    #[test]
    fn multiline_is_stuffed_and_ended_by_a_dot() {
        let r = Reply::ok_multiline("list", vec!["1 20".into(), ".hidden".into()]);
        assert_eq!(r.to_wire_string(), "+OK list\r\n1 20\r\n..hidden\r\n.\r\n");
    }

    #[test]
    fn no_newlines_and_at_most_512_octets() {
        let r = Reply::err(None, format!("a\r\nb{}", "é".repeat(400)));
        let wire = r.to_wire_string();
        // RFC 1939 §3: 512 octets with the CRLF. "-ERR a  b" is 9 octets, so the
        // 510th falls inside a two-octet character: the cut comes one octet earlier.
        assert_eq!(wire, format!("-ERR a  b{}\r\n", "é".repeat(250)));
    }
}
