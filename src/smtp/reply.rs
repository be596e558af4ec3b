//! Replies: the server's half of every exchange (RFC 5321 §4.2).
//!
//! A [`Reply`] is a value: a three-digit code, an optional enhanced status code
//! (RFC 3463, announced as ENHANCEDSTATUSCODES by RFC 2034) and one or more lines of
//! text. Nothing here touches a socket; [`Reply::write_to`] renders the wire form.
//!
//! Every reply postie can send is a named constructor below, so the whole catalogue can
//! be read (and tested) in one place. The text of each one says what happened and, where
//! the client can do something about it, what to do next.
//!
//! Replies to STARTTLS (RFC 3207) and AUTH (RFC 4954) are here too, with their own
//! codes (220, 334, 235, 530, 535, 538). Left out: replies for extensions postie does
//! not offer (CHUNKING's BDAT, DSN's parameters, ETRN).

use std::fmt;
use std::io::ErrorKind;

/// RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets including the code and CRLF.
pub const MAX_REPLY_LINE: usize = 512;

/// The enhanced status code (RFC 3463) of a reply: one type for every protocol.
pub use crate::status::Status;

// ANCHOR: reply
/// One SMTP reply, possibly multi-line (RFC 5321 §4.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    code: u16,
    status: Option<Status>,
    lines: Vec<String>,
}
// ANCHOR_END: reply

impl Reply {
    // ANCHOR: constructors
    /// A one-line reply. Text is sanitized: no CR, LF or other control characters.
    pub fn new(code: u16, status: Option<Status>, text: impl Into<String>) -> Reply {
        Reply::multiline(code, status, vec![text.into()])
    }

    /// A reply of several lines; all carry the same code (RFC 5321 §4.2.1).
    pub fn multiline(code: u16, status: Option<Status>, lines: Vec<String>) -> Reply {
        debug_assert!((200..600).contains(&code), "reply codes are 2xx..5xx");
        let lines = if lines.is_empty() {
            vec![String::new()]
        } else {
            lines.into_iter().map(sanitize).collect()
        };
        Reply {
            code,
            status,
            lines,
        }
    }
    // ANCHOR_END: constructors

    pub fn code(&self) -> u16 {
        self.code
    }

    pub fn status(&self) -> Option<Status> {
        self.status
    }

    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// 2yz: the command was accepted.
    pub fn is_positive(&self) -> bool {
        self.code < 300
    }

    /// 50z and 555: the client got the syntax or the order wrong (RFC 5321 §4.2.1
    /// "x0z"; 555 is the parameter error of §4.1.1.11).
    pub fn is_syntax_error(&self) -> bool {
        (500..510).contains(&self.code) || self.code == 555
    }

    // ANCHOR: without_status
    /// The same reply without its enhanced status code. The session uses it until the
    /// client has said EHLO and seen ENHANCEDSTATUSCODES advertised (RFC 2034 §3).
    pub fn without_status(mut self) -> Reply {
        self.status = None;
        self
    }
    // ANCHOR_END: without_status

    // ANCHOR: write_to
    /// Renders the reply as it goes on the wire: `250-2.0.0 first\r\n250 2.0.0 last\r\n`,
    /// with the enhanced status code (if any) after the reply code on every line.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let last = self.lines.len() - 1;
        for (i, text) in self.lines.iter().enumerate() {
            let start = out.len();
            // RFC 5321 §4.2.1: "250-" on every line but the last, "250 " on the last.
            let separator = if i == last { ' ' } else { '-' };
            out.extend_from_slice(format!("{}{}", self.code, separator).as_bytes());
            if let Some(status) = self.status {
                out.extend_from_slice(format!("{status} ").as_bytes());
            }
            out.extend_from_slice(text.as_bytes());
            // RFC 5321 §4.5.3.1.5: cut at 512 octets including CRLF, on a char boundary.
            let mut limit = start + MAX_REPLY_LINE - 2;
            while out.len() > limit && !is_char_boundary(&out[start..], limit - start) {
                limit -= 1;
            }
            out.truncate(limit.min(out.len()));
            out.extend_from_slice(b"\r\n");
        }
    }
    // ANCHOR_END: write_to

    /// The wire form as a string, for logs and tests.
    pub fn to_wire_string(&self) -> String {
        let mut out = Vec::new();
        self.write_to(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.to_wire_string().trim_end())
    }
}

fn is_char_boundary(bytes: &[u8], index: usize) -> bool {
    // A UTF-8 continuation byte looks like 0b10xx_xxxx.
    index >= bytes.len() || (bytes[index] & 0xC0) != 0x80
}

// ANCHOR: sanitize
/// Reply text may echo what a client sent. A CR or LF inside it would end the reply
/// early and let the client forge a second one (go-smtp #275), so every control
/// character becomes a space.
fn sanitize(text: String) -> String {
    // Almost every reply is clean already: keep its text, without copying it.
    if !text.contains(char::is_control) {
        return text;
    }
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
// ANCHOR_END: sanitize

// ANCHOR: catalogue
/// The catalogue. Each constructor names the situation in the RFC's words.
impl Reply {
    // ANCHOR: service_ready
    /// 220: the greeting (RFC 5321 §4.2, §3.1). No enhanced code on the greeting (RFC 2034 §3).
    pub fn service_ready(hostname: &str) -> Reply {
        Reply::new(220, None, format!("{hostname} ESMTP postie ready"))
    }
    // ANCHOR_END: service_ready

    // ANCHOR: ehlo
    /// 250 to EHLO: our name, then one extension keyword a line (RFC 5321 §4.1.1.1).
    pub fn ehlo(hostname: &str, client: &str, extensions: &[String]) -> Reply {
        let mut lines = vec![format!("{hostname} greets {client}")];
        lines.extend(extensions.iter().cloned());
        Reply::multiline(250, None, lines)
    }
    // ANCHOR_END: ehlo

    /// 250 to HELO: just our name; HELO announces no extensions (RFC 5321 §4.1.1.1).
    pub fn helo(hostname: &str, client: &str) -> Reply {
        Reply::new(250, None, format!("{hostname} greets {client}"))
    }

    /// 250 2.0.0: the generic "done" (NOOP, RSET).
    pub fn ok() -> Reply {
        Reply::new(250, Some(Status(2, 0, 0)), "OK")
    }

    /// 250 2.1.0 after MAIL (RFC 3463: X.1.0 is "other address status", used for senders).
    pub fn sender_ok(reverse_path: &str) -> Reply {
        Reply::new(
            250,
            Some(Status(2, 1, 0)),
            format!("Sender <{reverse_path}> OK"),
        )
    }

    /// 250 2.1.5 after RCPT (RFC 3463: X.1.5 "destination address valid").
    pub fn recipient_ok(forward_path: &str) -> Reply {
        Reply::new(
            250,
            Some(Status(2, 1, 5)),
            format!("Recipient <{forward_path}> OK"),
        )
    }

    // ANCHOR: start_mail_input
    /// 354: go ahead with the message (RFC 5321 §4.1.1.4). An intermediate reply, so no
    /// enhanced code.
    pub fn start_mail_input() -> Reply {
        Reply::new(354, None, "Start mail input; end with <CRLF>.<CRLF>")
    }
    // ANCHOR_END: start_mail_input

    // ANCHOR: message_accepted
    /// 250 2.0.0 after the final dot: the message is on disk and now our responsibility
    /// (RFC 5321 §6.1).
    pub fn message_accepted(id: &str) -> Reply {
        Reply::new(250, Some(Status(2, 0, 0)), format!("OK: queued as {id}"))
    }
    // ANCHOR_END: message_accepted

    /// 221 2.0.0 to QUIT (RFC 5321 §4.1.1.10).
    pub fn closing(hostname: &str) -> Reply {
        Reply::new(
            221,
            Some(Status(2, 0, 0)),
            format!("{hostname} closing connection"),
        )
    }

    /// 252 2.1.5 to VRFY: we neither confirm nor deny (RFC 5321 §3.5.3, §7.3).
    pub fn cannot_verify() -> Reply {
        Reply::new(
            252,
            Some(Status(2, 1, 5)),
            "Cannot VRFY user, but will accept message and attempt delivery",
        )
    }

    /// 214 2.0.0: help text (RFC 5321 §4.1.1.8).
    pub fn help(lines: Vec<String>) -> Reply {
        Reply::multiline(214, Some(Status(2, 0, 0)), lines)
    }

    /// 421 4.3.2: over the connection cap; we close right after. It takes the place of
    /// the greeting, so the server sends it without the enhanced code. The sentence is
    /// the one every protocol says there.
    pub fn too_many_connections(hostname: &str) -> Reply {
        let text = crate::wire::listener::too_many_connections(hostname);
        Reply::new(421, Some(Status(4, 3, 2)), text)
    }

    /// 421 4.4.2: the client was silent too long (RFC 5321 §4.5.3.2).
    pub fn timeout(hostname: &str) -> Reply {
        Reply::new(
            421,
            Some(Status(4, 4, 2)),
            format!("{hostname} timeout exceeded, closing connection"),
        )
    }

    /// 421 4.7.0: the error budget is spent.
    pub fn too_many_errors(hostname: &str) -> Reply {
        Reply::new(
            421,
            Some(Status(4, 7, 0)),
            format!("{hostname} too many errors, closing connection"),
        )
    }

    /// 421 4.3.0: the server is stopping (RFC 5321 §3.8).
    pub fn shutting_down(hostname: &str) -> Reply {
        Reply::new(
            421,
            Some(Status(4, 3, 0)),
            format!("{hostname} server shutting down, try again later"),
        )
    }

    // ANCHOR: local_error
    /// 451 4.3.0 or 452 4.3.1: we could not make the message durable. Nothing was kept;
    /// the client keeps responsibility and will try again (RFC 5321 §4.2.5).
    pub fn local_error(kind: ErrorKind) -> Reply {
        if kind == ErrorKind::StorageFull {
            Reply::new(
                452,
                Some(Status(4, 3, 1)),
                "Insufficient system storage, try again later",
            )
        } else {
            Reply::new(
                451,
                Some(Status(4, 3, 0)),
                "Local error in processing, try again later",
            )
        }
    }
    // ANCHOR_END: local_error

    /// 452 4.5.3: one recipient too many (RFC 5321 §4.5.3.1.10); the client sends the
    /// rest in another transaction.
    pub fn too_many_recipients(max: usize) -> Reply {
        Reply::new(
            452,
            Some(Status(4, 5, 3)),
            format!("Too many recipients (at most {max} per message)"),
        )
    }

    /// 500 5.5.1: a verb we do not know.
    pub fn command_unrecognized() -> Reply {
        Reply::new(500, Some(Status(5, 5, 1)), "Command unrecognized")
    }

    /// 500 5.5.2: a command line over the limit (RFC 5321 §4.5.3.1.4).
    pub fn line_too_long(max: usize) -> Reply {
        Reply::new(
            500,
            Some(Status(5, 5, 2)),
            format!("Line too long (at most {max} octets including CRLF)"),
        )
    }

    /// 500 5.5.2: a command line that did not end in CRLF (RFC 5321 §2.3.8).
    pub fn bare_newline() -> Reply {
        Reply::new(
            500,
            Some(Status(5, 5, 2)),
            "Lines must end with CRLF; a bare CR or LF is not allowed (use telnet or nc -C)",
        )
    }

    /// 500 5.5.2: a text line of the message over 1000 octets (RFC 5321 §4.5.3.1.6).
    pub fn text_line_too_long(max: usize) -> Reply {
        Reply::new(
            500,
            Some(Status(5, 5, 2)),
            format!("Message refused: a line is longer than {max} octets including CRLF"),
        )
    }

    /// 501 with a sentence saying what is wrong with the arguments.
    pub fn syntax_error(status: Status, text: impl Into<String>) -> Reply {
        Reply::new(501, Some(status), text)
    }

    /// 502 5.5.1: a command from RFC 5321 that postie does not implement.
    pub fn not_implemented(verb: &str) -> Reply {
        Reply::new(
            502,
            Some(Status(5, 5, 1)),
            format!("{verb} is not implemented here"),
        )
    }

    /// 503 5.5.1: right command, wrong moment (RFC 5321 §4.1.4).
    pub fn bad_sequence(text: impl Into<String>) -> Reply {
        Reply::new(503, Some(Status(5, 5, 1)), text)
    }

    /// 504 5.5.4: HELP on a topic we have no text for.
    pub fn parameter_not_implemented(text: impl Into<String>) -> Reply {
        Reply::new(504, Some(Status(5, 5, 4)), text)
    }

    // ANCHOR: catalogue_excerpt
    /// 550 5.1.1: no such user here (only with a users file).
    pub fn no_such_user(forward_path: &str) -> Reply {
        Reply::new(
            550,
            Some(Status(5, 1, 1)),
            format!("<{forward_path}>: no such user here"),
        )
    }

    /// 451 4.3.0: whether this recipient exists cannot be checked now (the directory
    /// is down or slow). Never a guess: the client keeps the message and asks again.
    pub fn cannot_check_now(forward_path: &str) -> Reply {
        Reply::new(
            451,
            Some(Status(4, 3, 0)),
            format!("<{forward_path}>: cannot check this recipient now, try again later"),
        )
    }

    /// 550 5.7.1: not ours, and the client may not relay through us (ARCHITECTURE.md, *No open relay*).
    pub fn relay_denied(forward_path: &str) -> Reply {
        Reply::new(
            550,
            Some(Status(5, 7, 1)),
            format!("<{forward_path}>: Relay access denied"),
        )
    }
    // ANCHOR_END: catalogue_excerpt

    /// 552 5.3.4: bigger than we accept (RFC 1870 §6; RFC 5321 §4.5.3.1.9).
    pub fn message_too_big(max: u64) -> Reply {
        Reply::new(
            552,
            Some(Status(5, 3, 4)),
            format!("Message size exceeds fixed maximum message size ({max} octets)"),
        )
    }

    /// 553 5.1.3: an address we will not turn into a mailbox name (ARCHITECTURE.md, *Mailbox names are never raw input*).
    pub fn mailbox_name_not_allowed(forward_path: &str, why: &str) -> Reply {
        Reply::new(
            553,
            Some(Status(5, 1, 3)),
            format!("<{forward_path}>: mailbox name not allowed: {why}"),
        )
    }

    /// 553 5.6.7: a UTF-8 address without the SMTPUTF8 parameter (RFC 6531 §3.5,
    /// RFC 6533 §3).
    pub fn utf8_not_permitted() -> Reply {
        Reply::new(
            553,
            Some(Status(5, 6, 7)),
            "Non-ASCII address needs the SMTPUTF8 parameter on MAIL",
        )
    }

    /// 554 5.5.1: DATA, but every RCPT was refused (RFC 5321 §4.1.1.4, RFC 2920 §3.1).
    pub fn no_valid_recipients() -> Reply {
        Reply::new(554, Some(Status(5, 5, 1)), "No valid recipients")
    }

    /// 554 5.4.6: too many Received: headers, the message is going round in a loop
    /// (RFC 5321 §6.3).
    pub fn mail_loop(count: usize) -> Reply {
        Reply::new(
            554,
            Some(Status(5, 4, 6)),
            format!("Mail loop detected ({count} Received: headers)"),
        )
    }

    /// 555 5.5.4: a MAIL/RCPT parameter we do not know (RFC 5321 §4.1.1.11).
    pub fn parameter_unrecognized(param: &str) -> Reply {
        Reply::new(
            555,
            Some(Status(5, 5, 4)),
            format!("Parameter {param} not recognized"),
        )
    }

    // ANCHOR: starttls_replies
    /// 220 2.0.0 to STARTTLS: the next bytes on the wire are the TLS handshake
    /// (RFC 3207 §4).
    pub fn ready_to_start_tls() -> Reply {
        Reply::new(220, Some(Status(2, 0, 0)), "Ready to start TLS")
    }

    /// 503 5.5.1: STARTTLS inside a TLS session (RFC 3207 §4.2: the client MUST NOT).
    pub fn tls_already_active() -> Reply {
        Reply::bad_sequence("TLS is already active")
    }

    /// 554 5.5.1, then close: commands arrived behind STARTTLS before the handshake.
    /// They were sent in plaintext and could have been inserted by anyone on the path,
    /// so we neither run them nor trust the session (CVE-2011-0411; RFC 2920 §3.1:
    /// a command that changes the session's state must end a group).
    pub fn pipelined_after_starttls() -> Reply {
        Reply::new(
            554,
            Some(Status(5, 5, 1)),
            "Commands after STARTTLS must wait for the TLS handshake; closing connection",
        )
    }
    // ANCHOR_END: starttls_replies

    // ANCHOR: submission_replies
    /// 530 5.7.0 on the submission port: MAIL before AUTH (RFC 6409 §4.3, RFC 4954 §6).
    pub fn authentication_required() -> Reply {
        Reply::new(
            530,
            Some(Status(5, 7, 0)),
            "Authentication required: log in with AUTH first",
        )
    }

    /// 553 5.7.1 on the submission port: a sender address that is not the
    /// authenticated user's own (RFC 6409 §6.1).
    pub fn sender_not_owned(reverse_path: &str, user: &str) -> Reply {
        Reply::new(
            553,
            Some(Status(5, 7, 1)),
            format!("Sender <{reverse_path}> is not yours: you are logged in as <{user}>"),
        )
    }
    // ANCHOR_END: submission_replies

    // ANCHOR: auth_replies
    /// 334: a SASL challenge, in base64 (RFC 4954 §4). No enhanced status code: the
    /// client decodes the whole text.
    pub fn auth_challenge(base64: &str) -> Reply {
        Reply::new(334, None, base64)
    }

    /// 235 2.7.0: the client is who it says (RFC 4954 §6).
    pub fn authenticated() -> Reply {
        Reply::new(235, Some(Status(2, 7, 0)), "Authentication successful")
    }

    /// 454 4.7.0: the password cannot be checked now (RFC 4954 §6, "Temporary
    /// authentication failure"): the directory is down, or this address failed too
    /// often just now.
    pub fn temporary_auth_failure() -> Reply {
        Reply::new(
            454,
            Some(Status(4, 7, 0)),
            "Temporary authentication failure, try again later",
        )
    }

    /// 535 5.7.8: wrong user name or password (RFC 4954 §6). Which one is not said.
    pub fn authentication_failed() -> Reply {
        Reply::new(
            535,
            Some(Status(5, 7, 8)),
            "Authentication credentials invalid",
        )
    }

    /// 501 5.0.0: the client answered a challenge with `*` (RFC 4954 §4).
    pub fn authentication_cancelled() -> Reply {
        Reply::new(501, Some(Status(5, 0, 0)), "Authentication cancelled")
    }

    /// 501 5.5.2: a response that is not base64 (RFC 4954 §4).
    pub fn cannot_decode_response() -> Reply {
        Reply::syntax_error(
            Status(5, 5, 2),
            "Cannot decode the response: it must be base64",
        )
    }

    /// 504 5.5.4: a SASL mechanism we do not offer (RFC 4954 §4).
    pub fn unrecognized_mechanism(mechanism: &str) -> Reply {
        Reply::new(
            504,
            Some(Status(5, 5, 4)),
            format!("Unrecognized authentication type {mechanism}; try PLAIN or LOGIN"),
        )
    }

    /// 538 5.7.11: AUTH over a connection without TLS (RFC 4954 §6).
    pub fn encryption_required() -> Reply {
        Reply::new(
            538,
            Some(Status(5, 7, 11)),
            "Encryption required for requested authentication mechanism: use STARTTLS first",
        )
    }

    /// 421 4.7.0 and close: too many failed logins on one connection.
    pub fn too_many_auth_failures(hostname: &str) -> Reply {
        Reply::new(
            421,
            Some(Status(4, 7, 0)),
            format!("{hostname} too many failed authentication attempts; closing connection"),
        )
    }
    // ANCHOR_END: auth_replies

    // ANCHOR: bare_newline_in_data
    /// 521 5.5.2 in DATA: a bare CR or LF in message text. We cannot know where the
    /// message was meant to end (SMTP smuggling), so we refuse it and close; RFC 7504
    /// lets 521 be sent before closing.
    pub fn bare_newline_in_data() -> Reply {
        Reply::new(
            521,
            Some(Status(5, 5, 2)),
            "Bare CR or LF in message text; end every line with CRLF (use telnet or nc -C). Closing connection",
        )
    }
    // ANCHOR_END: bare_newline_in_data

    // ANCHOR: early_talker
    /// 554 5.5.0 in place of the greeting: the client talked before we greeted it, and
    /// RFC 5321 §3.1 has the client wait for the greeting. Real clients wait; programs
    /// that spray spam often do not. Sent without the enhanced code (no EHLO yet), and
    /// the server closes at once: §3.1 asks a server that answers 554 at connection
    /// opening to wait for QUIT, but this client never waited for us.
    pub fn talked_before_greeting(hostname: &str) -> Reply {
        Reply::new(
            554,
            Some(Status(5, 5, 0)),
            format!("{hostname} protocol error: you talked before the greeting, goodbye"),
        )
    }
    // ANCHOR_END: early_talker

    /// 554 5.5.0, then close: the client sent an HTTP request (a browser, a proxy probe,
    /// or a web form aimed at our port to make a browser speak SMTP for someone).
    pub fn http_request(hostname: &str) -> Reply {
        Reply::new(
            554,
            Some(Status(5, 5, 0)),
            format!("{hostname} speaks SMTP, not HTTP: closing connection"),
        )
    }
}
// ANCHOR_END: catalogue

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_with_and_without_enhanced_code() {
        assert_eq!(Reply::ok().to_wire_string(), "250 2.0.0 OK\r\n");
        assert_eq!(Reply::ok().without_status().to_wire_string(), "250 OK\r\n");
    }

    #[test]
    fn multiline_uses_dash_on_all_but_the_last() {
        let r = Reply::ehlo("mx", "c", &["PIPELINING".into(), "8BITMIME".into()]);
        assert_eq!(
            r.to_wire_string(),
            "250-mx greets c\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
        );
    }

    #[test]
    fn text_cannot_smuggle_a_second_reply() {
        let r = Reply::no_such_user("a\r\n250 fake");
        let wire = r.to_wire_string();
        assert_eq!(wire.matches("\r\n").count(), 1, "{wire:?}");
    }

    /// RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets with its CRLF. A longer
    /// text is cut as late as it can be without splitting a UTF-8 character, on every
    /// line of a multiline reply.
    #[test]
    fn lines_are_cut_at_512_octets_on_a_char_boundary() {
        let wire = |reply: Reply| {
            let mut out = Vec::new();
            reply.write_to(&mut out);
            out
        };
        // "250 2.0.0 " is 10 octets: 500 are left for the text.
        let ascii = wire(Reply::new(250, Some(Status(2, 0, 0)), "a".repeat(600)));
        assert_eq!(
            ascii,
            format!("250 2.0.0 {}\r\n", "a".repeat(500)).into_bytes()
        );
        // "x" and then two-octet characters: the 500th octet is the first half of one,
        // so the cut comes one octet earlier.
        let text = format!("x{}", "é".repeat(300));
        let cut = format!("x{}", "é".repeat(249));
        let once = wire(Reply::new(250, Some(Status(2, 0, 0)), text));
        assert_eq!(once, format!("250 2.0.0 {cut}\r\n").into_bytes());
        // The same on a later line, with three-octet characters: each line is cut by
        // its own length, 166 characters (498 octets) after its own 10.
        let lines = vec!["first".to_string(), "中".repeat(200)];
        let both = wire(Reply::multiline(250, Some(Status(2, 0, 0)), lines));
        let cut = "中".repeat(166);
        assert_eq!(
            both,
            format!("250-2.0.0 first\r\n250 2.0.0 {cut}\r\n").into_bytes()
        );
        // A line that fits is left whole.
        let short = wire(Reply::new(250, Some(Status(2, 0, 0)), "é".repeat(10)));
        assert_eq!(
            short,
            format!("250 2.0.0 {}\r\n", "é".repeat(10)).into_bytes()
        );
    }

    /// The relay client reads other servers' replies with `is_positive`: a 3yz, the
    /// lowest one too, is an intermediate reply, never a completion (RFC 5321 §4.2.1).
    #[test]
    fn only_2yz_is_a_positive_completion() {
        let positive = |code| Reply::new(code, None, "x").is_positive();
        assert!(positive(200) && positive(250) && positive(299));
        assert!(!positive(300) && !positive(354) && !positive(421) && !positive(554));
    }

    /// `Display` is the wire form without its last CRLF, for logs.
    #[test]
    fn a_reply_displays_as_its_wire_form() {
        assert_eq!(Reply::ok().to_string(), "250 2.0.0 OK");
        let ehlo = Reply::ehlo("mx", "c", &["PIPELINING".into()]);
        assert_eq!(ehlo.to_string(), "250-mx greets c\r\n250 PIPELINING");
    }

    /// A test of the catalogue itself (as aiosmtpd does): every reply has a sensible
    /// code, enhanced codes agree with the reply class, and the text is a sentence.
    #[test]
    fn catalogue_is_consistent() {
        let all = [
            Reply::service_ready("h"),
            Reply::helo("h", "c"),
            Reply::ok(),
            Reply::sender_ok("a@b"),
            Reply::recipient_ok("a@b"),
            Reply::start_mail_input(),
            Reply::message_accepted("id"),
            Reply::closing("h"),
            Reply::cannot_verify(),
            Reply::too_many_connections("h"),
            Reply::timeout("h"),
            Reply::too_many_errors("h"),
            Reply::shutting_down("h"),
            Reply::local_error(ErrorKind::Other),
            Reply::local_error(ErrorKind::StorageFull),
            Reply::too_many_recipients(100),
            Reply::command_unrecognized(),
            Reply::line_too_long(512),
            Reply::bare_newline(),
            Reply::text_line_too_long(1000),
            Reply::not_implemented("EXPN"),
            Reply::bad_sequence("x"),
            Reply::no_such_user("a@b"),
            Reply::relay_denied("a@b"),
            Reply::message_too_big(10),
            Reply::mailbox_name_not_allowed("a@b", "x"),
            Reply::utf8_not_permitted(),
            Reply::no_valid_recipients(),
            Reply::mail_loop(51),
            Reply::parameter_unrecognized("X"),
            Reply::bare_newline_in_data(),
            Reply::talked_before_greeting("h"),
            Reply::http_request("h"),
            Reply::ready_to_start_tls(),
            Reply::tls_already_active(),
            Reply::pipelined_after_starttls(),
            Reply::authentication_required(),
            Reply::sender_not_owned("a@b", "c@d"),
            Reply::auth_challenge("VXNlcm5hbWU6"),
            Reply::authenticated(),
            Reply::authentication_failed(),
            Reply::temporary_auth_failure(),
            Reply::cannot_check_now("a@b"),
            Reply::authentication_cancelled(),
            Reply::cannot_decode_response(),
            Reply::unrecognized_mechanism("X"),
            Reply::encryption_required(),
            Reply::too_many_auth_failures("h"),
        ];
        for r in all {
            let class = (r.code() / 100) as u8;
            assert!((2..=5).contains(&class), "{r}");
            // 2yz, and only 2yz, is a positive completion (RFC 5321 §4.2.1).
            assert_eq!(r.is_positive(), class == 2, "{r}");
            if let Some(s) = r.status() {
                assert_eq!(s.0, class, "enhanced class must match: {r}");
            } else {
                assert!(
                    matches!(r.code(), 220 | 250 | 334 | 354),
                    "{r} lacks a status"
                );
            }
            assert!(r.lines().iter().all(|l| !l.trim().is_empty()), "{r}");
        }
    }
}
