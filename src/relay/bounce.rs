//! Bounces: the Delivery Status Notification sent when the relay gives up.
//!
//! RFC 5321 §6.1: once postie has replied 250 it is responsible for the message. If
//! delivery fails later (a 5xx from the remote server, a null MX, or the message has
//! waited past the queue lifetime, §4.5.4.1), postie MUST mail a notification to the
//! reverse path, sent from the null reverse path `MAIL FROM:<>` (§4.5.5, §6.1). If the
//! failed message itself came from `<>` it was a notification, and no notification may
//! be sent about it (§6.1): a bounce is never bounced. The caller checks that before
//! calling [`bounce_message`]; this module only writes the message.
//!
//! The message is a `multipart/report` (RFC 6522 §3) of three parts, in this order:
//!
//! 1. `text/plain`: for the person. Which recipients failed, the status code in words
//!    ([`status_text`]) and the reply that was received, quoted.
//! 2. `message/delivery-status` (RFC 3464 §2): for programs. The per-message fields
//!    `Reporting-MTA` and `Arrival-Date` (§2.2), then for each recipient a blank line and
//!    `Final-Recipient`, `Action`, `Status`, `Remote-MTA`, `Diagnostic-Code` (§2.3).
//! 3. `text/rfc822-headers` (RFC 6522 §4): the header section of the original message,
//!    never its body, at most 64 KiB.
//!
//! `Auto-Submitted: auto-replied` (RFC 3834 §5) tells vacation programs and other robots
//! not to answer.
//!
//! Addresses, hostnames, the remote reply and the original headers come from outside.
//! Every line is put together first and cleaned last: a control character (CR, LF, NUL,
//! TAB, ...) becomes a space, so no text can end a line and start a header field of its
//! own; any other non-ASCII character becomes `?`, because the whole message is 7-bit
//! (`charset=us-ascii`, no Content-Transfer-Encoding); and a line is cut at 998 octets
//! (RFC 5322 §2.1.1). The MIME boundary is lengthened until no part contains it (RFC
//! 2046 §5.1.1).
//!
//! Deliberately left out:
//! - the DSN extension of SMTP (RFC 3461): postie ignores NOTIFY, RET, ENVID and ORCPT,
//!   so there is no `Original-Envelope-Id` or `Original-Recipient`, no notice of
//!   success, and never the full message (RET=FULL);
//! - the optional fields `Received-From-MTA`, `Last-Attempt-Date` and `Will-Retry-Until`
//!   (RFC 3464 §2.2.4, §2.3.7, §2.3.9);
//! - internationalized notifications (RFC 6533): a UTF-8 address or reply shows `?`;
//! - MIME parsing of the original: we only look for the empty line that ends its header
//!   section (RFC 5322 §2.1);
//! - folding: a long field is cut, not folded at white space (RFC 5322 §2.2.3). A reply
//!   line is at most 512 octets (RFC 5321 §4.5.3.1.5), so only a long multi-line reply
//!   loses its tail.
//!
//! A production server also translates the text, limits how many bounces it sends,
//! prefers not to bounce mail it judged hostile (RFC 5321 §6.2), and hands a bounce
//! that cannot be delivered to the postmaster instead of dropping it (§4.5.5).

use time::OffsetDateTime;

use crate::date::rfc5322_date;
use crate::received::unbracket;
use crate::status::Status;

/// RFC 5322 §2.1.1: a line is at most 998 octets, not counting its CRLF.
const MAX_LINE: usize = 998;

/// The most of the original header section we send back (RFC 6522 §4 sets no limit).
const MAX_HEADERS: usize = 64 * 1024;

/// Why one recipient could not be delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedRecipient {
    /// The final recipient, without angle brackets.
    pub address: String,
    /// The enhanced status code (RFC 3463), e.g. 5.1.1, or 4.4.7 when the message
    /// expired. `None`: the code that fits the action (5.0.0 or 4.0.0).
    pub status: Option<Status>,
    /// The reply that refused it, e.g. "550 5.1.1 <bob@b.test>: no such user".
    pub diagnostic: Option<String>,
    /// The host that gave that reply, e.g. "mx.b.test". `None` when postie decided
    /// itself (a null MX, an expired message).
    pub remote_mta: Option<String>,
    /// Whether postie has given up or is still trying.
    pub action: Action,
}

/// What postie did about a recipient (RFC 3464 §2.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Given up: a permanent failure, or the message expired. No further notice follows.
    Failed,
    /// Not delivered yet, still retrying: this notice is only a warning.
    Delayed,
}

impl Action {
    /// The action-value of the `Action:` field.
    fn as_str(self) -> &'static str {
        match self {
            Action::Failed => "failed",
            Action::Delayed => "delayed",
        }
    }
}

/// Everything a bounce says about one message.
#[derive(Debug, Clone, Copy)]
pub struct Bounce<'a> {
    /// Our hostname.
    pub reporting_mta: &'a str,
    /// The reverse path of the failed message: never empty, since `<>` is not bounced.
    pub original_sender: &'a str,
    /// Our queue id, shown in the Subject and the text. RFC 3464 has no field for it
    /// (`Original-Envelope-Id` is the sender's ENVID, RFC 3461).
    pub original_id: &'a str,
    /// When postie accepted the message.
    pub arrival_date: OffsetDateTime,
    /// The recipients this notice is about (at least one, RFC 3464 §2.1).
    pub recipients: &'a [FailedRecipient],
    /// The original message; only its header section is sent back.
    pub original_message: &'a [u8],
    /// When the notice is written.
    pub now: OffsetDateTime,
    /// A MIME boundary unique to this notice; it is lengthened if a part contains it.
    pub boundary: &'a str,
}

/// The complete bounce message (RFC 5322), with CRLF line endings, ready to be queued
/// from `<>` to `original_sender`.
pub fn bounce_message(b: &Bounce) -> Vec<u8> {
    // RFC 3464 §2.3.3: "failed" means given up. A notice in which every recipient is
    // only "delayed" is a warning, and says so.
    let failed = b.recipients.iter().any(|r| r.action == Action::Failed);
    let subject = if failed {
        format!("Undelivered Mail Returned to Sender ({})", b.original_id)
    } else {
        "Delayed Mail (still being retried)".to_string()
    };
    // RFC 6522 §3: the human-readable part, then the machine-readable one, then the
    // returned headers.
    let parts = [
        part(
            "text/plain; charset=us-ascii",
            "Notification",
            &notification(b, failed),
        ),
        part(
            "message/delivery-status",
            "Delivery report",
            &delivery_status(b),
        ),
        part(
            "text/rfc822-headers",
            "Undelivered Message Headers",
            &header_section(b.original_message),
        ),
    ];
    let boundary = boundary(b.boundary, &parts);

    let mut out = String::new();
    let host = b.reporting_mta;
    field(
        &mut out,
        "From",
        &format!("Mail Delivery System <MAILER-DAEMON@{host}>"),
    );
    field(
        &mut out,
        "To",
        &format!("<{}>", unbracket(b.original_sender)),
    );
    field(&mut out, "Subject", &subject);
    field(&mut out, "Date", &rfc5322_date(b.now));
    let unique = format!("{}.{}", b.now.unix_timestamp_nanos(), atom(b.original_id));
    field(
        &mut out,
        "Message-ID",
        &format!("<{unique}@{}>", atom(host)),
    );
    // RFC 3834 §5: a machine wrote this in reply to a message; machines must not answer.
    field(&mut out, "Auto-Submitted", "auto-replied");
    field(&mut out, "MIME-Version", "1.0");
    // RFC 6522 §3: report-type names the type of the second part.
    field(
        &mut out,
        "Content-Type",
        &format!("multipart/report; report-type=delivery-status; boundary=\"{boundary}\""),
    );
    out.push_str("\r\nThis is a MIME-encapsulated message.\r\n");
    for part in &parts {
        // RFC 2046 §5.1.1: the CRLF before "--boundary" belongs to the delimiter.
        out.push_str(&format!("\r\n--{boundary}\r\n"));
        out.push_str(part);
    }
    out.push_str(&format!("\r\n--{boundary}--\r\n"));
    out.into_bytes()
}

// ANCHOR: status_text
/// The status code in words, for the human-readable part.
pub fn status_text(status: Status) -> &'static str {
    match status {
        Status(5, 1, 1) => "no such user",
        Status(5, 1, 2) => "no such domain",
        Status(5, 1, 3) => "bad address syntax",
        // RFC 7505: the domain publishes a null MX.
        Status(5, 1, 10) => "the domain accepts no mail (null MX)",
        Status(4, 4, 1) => "no answer from the remote server",
        Status(4, 4, 2) => "the connection to the remote server was broken",
        Status(4, 4, 7) => "gave up after the queue lifetime",
        Status(5, 3, 4) => "message too big",
        Status(5, 4, 6) => "routing loop",
        Status(5, 7, 1) => "refused by the recipient's mail system",
        // RFC 3463 §2: class 4 is a persistent transient failure.
        other if other.is_transient() => "temporary failure",
        _ => "delivery failed",
    }
}
// ANCHOR_END: status_text

/// The text for the person who sent the message.
fn notification(b: &Bounce, failed: bool) -> String {
    let mut out = String::new();
    line(
        &mut out,
        &format!("This is the mail system at {} (postie).", b.reporting_mta),
    );
    line(&mut out, "");
    line(
        &mut out,
        &format!(
            "Your message of {} (queue id {})",
            rfc5322_date(b.arrival_date),
            b.original_id
        ),
    );
    if failed {
        line(
            &mut out,
            "could not be delivered to one or more of its recipients.",
        );
    } else {
        line(
            &mut out,
            "has not yet been delivered to one or more of its recipients.",
        );
        line(
            &mut out,
            "The mail system is still trying; you do not need to send it again.",
        );
    }
    for r in b.recipients {
        let status = status_code(r);
        line(&mut out, "");
        line(
            &mut out,
            &format!(
                "<{}>: {}: {} ({status})",
                unbracket(&r.address),
                r.action.as_str(),
                status_text(status)
            ),
        );
        if let Some(reply) = &r.diagnostic {
            // RFC 3464 §2.3.6: without a remote MTA, the reporting MTA gave the reply.
            let who = r.remote_mta.as_deref().unwrap_or(b.reporting_mta);
            line(&mut out, &format!("    {who} said: {reply}"));
        }
    }
    line(&mut out, "");
    line(&mut out, "The headers of your message are attached.");
    line(
        &mut out,
        "This is an automatic message from postie; please do not reply to it.",
    );
    out
}

// ANCHOR: delivery_status
/// The machine-readable report (RFC 3464 §2.1).
fn delivery_status(b: &Bounce) -> String {
    let mut out = String::new();
    // RFC 3464 §2.2: the per-message fields. Reporting-MTA is required (§2.2.2).
    field(
        &mut out,
        "Reporting-MTA",
        &format!("dns; {}", b.reporting_mta),
    );
    field(&mut out, "Arrival-Date", &rfc5322_date(b.arrival_date));
    for r in b.recipients {
        // RFC 3464 §2.3: each group of per-recipient fields follows a blank line.
        line(&mut out, "");
        // §2.3.2: the address as it was in the envelope, with CR and LF removed.
        field(
            &mut out,
            "Final-Recipient",
            &format!("rfc822; {}", unbracket(&r.address)),
        );
        field(&mut out, "Action", r.action.as_str());
        field(&mut out, "Status", &status_code(r).to_string());
        // §2.3.5: Remote-MTA MUST NOT appear if no remote MTA was involved.
        if let Some(mta) = &r.remote_mta {
            field(&mut out, "Remote-MTA", &format!("dns; {mta}"));
        }
        // §2.3.6: the diagnostic SHOULD be included when there is one. Its type says
        // who wrote it: "smtp" for a server's reply (which starts with its code),
        // an X- type for postie's own words (a null MX, a queue that expired).
        if let Some(diagnostic) = &r.diagnostic {
            let kind = if is_smtp_reply(diagnostic) {
                "smtp"
            } else {
                "X-Postie"
            };
            field(
                &mut out,
                "Diagnostic-Code",
                &format!("{kind}; {diagnostic}"),
            );
        }
    }
    out
}
// ANCHOR_END: delivery_status

/// The header section of the original message: every line before the first empty
/// line, or the whole message if it has none (RFC 5322 §2.1), cleaned, each line
/// ended with CRLF, and cut after the last whole line that fits in `MAX_HEADERS`.
fn header_section(message: &[u8]) -> String {
    let mut out = String::new();
    for raw in message.split(|&byte| byte == b'\n') {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.is_empty() {
            break;
        }
        let raw = &raw[..raw.len().min(MAX_LINE)];
        let text = clean(&String::from_utf8_lossy(raw));
        if out.len() + text.len() + 2 > MAX_HEADERS {
            break;
        }
        out.push_str(&text);
        out.push_str("\r\n");
    }
    out
}

/// One body part: its header fields, the blank line, its content.
fn part(content_type: &str, description: &str, content: &str) -> String {
    let mut out = String::new();
    field(&mut out, "Content-Type", content_type);
    field(&mut out, "Content-Description", description);
    line(&mut out, "");
    out.push_str(content);
    out
}

/// RFC 2046 §5.1.1: the boundary must not occur in any part, and is 1 to 70 characters
/// from a small set. We keep the caller's characters from that set, at most 60 of them,
/// and append "=1", "=2", ... until no part contains the result.
fn boundary(proposed: &str, parts: &[String]) -> String {
    let base: String = proposed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "'()+_,-./:=?".contains(*c))
        .take(60)
        .collect();
    let mut boundary = base.clone();
    let mut n = 0u32;
    while boundary.is_empty() || parts.iter().any(|p| p.contains(boundary.as_str())) {
        n += 1;
        boundary = format!("{base}={n}");
    }
    boundary
}

/// The Status field (RFC 3464 §2.3.4): the caller's code if there is one, else "other
/// or undefined status" (X.0.0, RFC 3463 §3.1) in the class that fits the action.
fn status_code(r: &FailedRecipient) -> Status {
    r.status.unwrap_or(match r.action {
        Action::Failed => Status::other(5),
        Action::Delayed => Status::other(4),
    })
}

/// Appends `name: value` as one line (see [`line()`]).
fn field(out: &mut String, name: &str, value: &str) {
    line(out, &format!("{name}: {value}"));
}

/// Appends one line of 7-bit text, cut at `MAX_LINE` octets, and its CRLF. The text is
/// cleaned first, so whatever it contains, exactly one line is added.
fn line(out: &mut String, text: &str) {
    let mut text = clean(text);
    text.truncate(MAX_LINE);
    out.push_str(text.trim_end());
    out.push_str("\r\n");
}

/// Text made safe for one line of a 7-bit message: a control character (CR and LF
/// among them) becomes a space, any other character outside ASCII becomes '?'. Every
/// character of the result is one octet.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                ' '
            } else if c.is_ascii() {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// A word for the Message-ID (RFC 5322 §3.6.4): letters, digits, '.' and '-' are kept,
/// anything else becomes '-'.
fn atom(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// "550 5.1.1 ..." and "550-..." are SMTP replies (RFC 5321 §4.2): three digits, the
/// first 2 to 5, then a space, a hyphen or nothing.
fn is_smtp_reply(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() >= 3
        && (b'2'..=b'5').contains(&b[0])
        && b[1..3].iter().all(u8::is_ascii_digit)
        && matches!(b.get(3), None | Some(b' ') | Some(b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::process::{Command, Stdio};

    /// Sat, 28 Nov 2026 01:02:03 +0000.
    const NOV_28: i64 = 1_795_827_723;
    /// Mon, 23 Nov 2026 01:02:03 +0000, five days earlier.
    const NOV_23: i64 = NOV_28 - 5 * 24 * 60 * 60;

    const ORIGINAL: &[u8] = b"Received: from client.a.test ([192.0.2.7])\r\n\
        \tby mx.a.test (postie) with ESMTP id 1795395723.M1P2Q0\r\n\
        From: Alice <alice@a.test>\r\n\
        To: bob@b.test\r\n\
        Subject: lunch\r\n\
        \r\n\
        See you at noon.\r\n";

    fn at(unix: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(unix).unwrap()
    }

    fn bob() -> FailedRecipient {
        FailedRecipient {
            address: "bob@b.test".to_string(),
            status: Some(Status(5, 1, 1)),
            diagnostic: Some("550 5.1.1 <bob@b.test>: no such user".to_string()),
            remote_mta: Some("mx.b.test".to_string()),
            action: Action::Failed,
        }
    }

    fn carol_expired() -> FailedRecipient {
        FailedRecipient {
            address: "carol@c.test".to_string(),
            status: Some(Status(4, 4, 7)),
            diagnostic: Some("451 4.3.0 try again later".to_string()),
            remote_mta: Some("mx.c.test".to_string()),
            action: Action::Failed,
        }
    }

    fn bounce(recipients: &[FailedRecipient]) -> Bounce<'_> {
        Bounce {
            reporting_mta: "mx.a.test",
            original_sender: "alice@a.test",
            original_id: "1795395723.M1P2Q0",
            arrival_date: at(NOV_23),
            recipients,
            original_message: ORIGINAL,
            now: at(NOV_28),
            boundary: "1795827723.M1P2Q0/mx.a.test",
        }
    }

    /// The message as text; it must be ASCII, hence UTF-8.
    fn render(b: &Bounce) -> String {
        String::from_utf8(bounce_message(b)).expect("a bounce is ASCII")
    }

    /// The lines of the message, without their CRLF.
    fn lines(message: &str) -> Vec<&str> {
        message
            .strip_suffix("\r\n")
            .unwrap()
            .split("\r\n")
            .collect()
    }

    /// CR and LF only as CRLF, nothing outside printable ASCII but those, and no line
    /// longer than 998 octets.
    fn assert_well_formed(message: &str) {
        assert!(
            message.bytes().all(|b| b.is_ascii()),
            "non-ASCII: {message:?}"
        );
        for line in lines(message) {
            assert!(
                !line.chars().any(|c| c.is_ascii_control()),
                "stray control character in {line:?}"
            );
            assert!(line.len() <= MAX_LINE, "{} octets: {line:?}", line.len());
        }
    }

    #[test]
    fn the_whole_bounce_for_one_recipient() {
        let bob = [bob()];
        assert_eq!(
            render(&bounce(&bob)),
            "From: Mail Delivery System <MAILER-DAEMON@mx.a.test>\r\n\
             To: <alice@a.test>\r\n\
             Subject: Undelivered Mail Returned to Sender (1795395723.M1P2Q0)\r\n\
             Date: Sat, 28 Nov 2026 01:02:03 +0000\r\n\
             Message-ID: <1795827723000000000.1795395723.M1P2Q0@mx.a.test>\r\n\
             Auto-Submitted: auto-replied\r\n\
             MIME-Version: 1.0\r\n\
             Content-Type: multipart/report; report-type=delivery-status; \
             boundary=\"1795827723.M1P2Q0/mx.a.test\"\r\n\
             \r\n\
             This is a MIME-encapsulated message.\r\n\
             \r\n\
             --1795827723.M1P2Q0/mx.a.test\r\n\
             Content-Type: text/plain; charset=us-ascii\r\n\
             Content-Description: Notification\r\n\
             \r\n\
             This is the mail system at mx.a.test (postie).\r\n\
             \r\n\
             Your message of Mon, 23 Nov 2026 01:02:03 +0000 (queue id 1795395723.M1P2Q0)\r\n\
             could not be delivered to one or more of its recipients.\r\n\
             \r\n\
             <bob@b.test>: failed: no such user (5.1.1)\r\n\
             \x20   mx.b.test said: 550 5.1.1 <bob@b.test>: no such user\r\n\
             \r\n\
             The headers of your message are attached.\r\n\
             This is an automatic message from postie; please do not reply to it.\r\n\
             \r\n\
             --1795827723.M1P2Q0/mx.a.test\r\n\
             Content-Type: message/delivery-status\r\n\
             Content-Description: Delivery report\r\n\
             \r\n\
             Reporting-MTA: dns; mx.a.test\r\n\
             Arrival-Date: Mon, 23 Nov 2026 01:02:03 +0000\r\n\
             \r\n\
             Final-Recipient: rfc822; bob@b.test\r\n\
             Action: failed\r\n\
             Status: 5.1.1\r\n\
             Remote-MTA: dns; mx.b.test\r\n\
             Diagnostic-Code: smtp; 550 5.1.1 <bob@b.test>: no such user\r\n\
             \r\n\
             --1795827723.M1P2Q0/mx.a.test\r\n\
             Content-Type: text/rfc822-headers\r\n\
             Content-Description: Undelivered Message Headers\r\n\
             \r\n\
             Received: from client.a.test ([192.0.2.7])\r\n\
             \x20by mx.a.test (postie) with ESMTP id 1795395723.M1P2Q0\r\n\
             From: Alice <alice@a.test>\r\n\
             To: bob@b.test\r\n\
             Subject: lunch\r\n\
             \r\n\
             --1795827723.M1P2Q0/mx.a.test--\r\n"
        );
    }

    /// What Python's email package, a real MIME parser, makes of a bounce.
    const PYTHON_READS: &str = r#"
import email, sys
m = email.message_from_binary_file(sys.stdin.buffer)
assert m.get_content_type() == "multipart/report", m.get_content_type()
assert m.get_param("report-type") == "delivery-status"
for part in m.walk():
    assert not part.defects, (part.get_content_type(), part.defects)
text, report, headers = m.get_payload()
print("parts:", text.get_content_type(), report.get_content_type(), headers.get_content_type())
print("text:", text.get_payload(decode=True).decode("ascii").splitlines()[0])
for block in report.get_payload():
    print(" | ".join(f"{name}: {value}" for name, value in block.items()))
names = [line.split(":")[0] for line in headers.get_payload().splitlines() if line[:1] not in " \t"]
print("headers:", " ".join(names))
"#;

    #[test]
    fn python_parses_a_bounce_for_two_recipients() {
        let recipients = [bob(), carol_expired()];
        let message = bounce_message(&bounce(&recipients));
        let child = Command::new("python3")
            .args(["-c", PYTHON_READS])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match child {
            Ok(child) => child,
            Err(e) => {
                crate::skip::skip(&format!(
                    "python3 not available ({e}); apt-get install python3"
                ));
                return;
            }
        };
        child.stdin.take().unwrap().write_all(&message).unwrap();
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            stdout.lines().collect::<Vec<_>>(),
            [
                "parts: text/plain message/delivery-status text/rfc822-headers",
                "text: This is the mail system at mx.a.test (postie).",
                "Reporting-MTA: dns; mx.a.test | Arrival-Date: Mon, 23 Nov 2026 01:02:03 +0000",
                "Final-Recipient: rfc822; bob@b.test | Action: failed | Status: 5.1.1 \
                 | Remote-MTA: dns; mx.b.test \
                 | Diagnostic-Code: smtp; 550 5.1.1 <bob@b.test>: no such user",
                "Final-Recipient: rfc822; carol@c.test | Action: failed | Status: 4.4.7 \
                 | Remote-MTA: dns; mx.c.test \
                 | Diagnostic-Code: smtp; 451 4.3.0 try again later",
                "headers: Received From To Subject",
            ]
        );
    }

    #[test]
    fn crlf_everywhere_even_from_bare_lf_input() {
        let mut r = bob();
        r.diagnostic = Some("550-first line\n550-second\r550 third\r\n".to_string());
        let recipients = [r];
        let original = b"Subject: bare LF\nX-Cr: a\rb\nX-Nul: \0\n\nbody\n";
        let message = render(&Bounce {
            original_message: original,
            ..bounce(&recipients)
        });
        assert_well_formed(&message);
        assert!(message.contains("Diagnostic-Code: smtp; 550-first line 550-second 550 third\r\n"));
        assert!(message.contains("Subject: bare LF\r\nX-Cr: a b\r\nX-Nul:  \r\n\r\n--"));
        assert!(!message.contains("body"));
    }

    #[test]
    fn no_text_from_outside_can_add_a_header_line() {
        let evil = "\r\nBcc: victim@x";
        let r = FailedRecipient {
            address: format!("bob@b.test{evil}"),
            // No status: the text from outside is everywhere else.
            status: None,
            diagnostic: Some(format!("550 x{evil}")),
            remote_mta: Some(format!("mx.b.test{evil}")),
            action: Action::Failed,
        };
        let recipients = [r];
        let sender = format!("alice@a.test{evil}");
        let id = format!("id{evil}");
        let message = render(&Bounce {
            original_sender: &sender,
            original_id: &id,
            ..bounce(&recipients)
        });
        assert_well_formed(&message);
        for line in lines(&message) {
            assert!(!line.starts_with("Bcc"), "{line:?} in {message}");
        }
        assert!(message.contains("\r\nDiagnostic-Code: smtp; 550 x  Bcc: victim@x\r\n"));
        assert!(message.contains("\r\nTo: <alice@a.test  Bcc: victim@x>\r\n"));
        // No status code, so the generic one of its class.
        assert!(message.contains("\r\nStatus: 5.0.0\r\n"));
    }

    #[test]
    fn the_boundary_is_lengthened_until_no_part_contains_it() {
        let original = b"Subject: hi\r\n\
            X-Trap: --1795827723.M1P2Q0/mx.a.test\r\n\
            X-Trap: --1795827723.M1P2Q0/mx.a.test=1--\r\n\
            \r\n";
        let bob = [bob()];
        let message = render(&Bounce {
            original_message: original,
            ..bounce(&bob)
        });
        let chosen = "1795827723.M1P2Q0/mx.a.test=2";
        assert!(message.contains(&format!("; boundary=\"{chosen}\"\r\n")));
        assert_eq!(message.matches(&format!("\r\n--{chosen}\r\n")).count(), 3);
        assert!(message.ends_with(&format!("\r\n--{chosen}--\r\n")));
        // The trap lines are still there, unchanged.
        assert!(message.contains("X-Trap: --1795827723.M1P2Q0/mx.a.test=1--\r\n"));
    }

    #[test]
    fn boundary_characters_and_length() {
        let parts = ["abc".to_string()];
        assert_eq!(boundary("x y\r\n\"z\"", &parts), "xyz");
        assert_eq!(boundary("", &parts), "=1");
        assert_eq!(boundary("ab", &parts), "ab=1");
        let long = "b".repeat(100);
        assert_eq!(boundary(&long, &parts), "b".repeat(60));
    }

    #[test]
    fn only_the_header_section_of_the_original_is_returned() {
        let bob = [bob()];
        let message = render(&bounce(&bob));
        assert!(message.contains("\r\nSubject: lunch\r\n"));
        assert!(!message.contains("noon"));

        // No empty line: the whole message is its header section.
        let message = render(&Bounce {
            original_message: b"Subject: no body\r\nX-Last: 1",
            ..bounce(&bob)
        });
        assert!(message.contains("\r\n\r\nSubject: no body\r\nX-Last: 1\r\n\r\n--"));

        // An empty message, or one that starts with its body: no header lines.
        for original in [&b""[..], b"\r\nonly a body\r\n"] {
            let message = render(&Bounce {
                original_message: original,
                ..bounce(&bob)
            });
            assert!(message.ends_with(
                "Content-Description: Undelivered Message Headers\r\n\r\n\
                 \r\n--1795827723.M1P2Q0/mx.a.test--\r\n"
            ));
        }
    }

    #[test]
    fn the_returned_headers_are_capped_at_64_kib_of_whole_lines() {
        let mut original = Vec::new();
        for n in 0..10_000 {
            original
                .extend_from_slice(format!("X-Filler-{n:05}: {}\r\n", "y".repeat(40)).as_bytes());
        }
        original.extend_from_slice(b"\r\nbody\r\n");
        let returned = header_section(&original);
        assert!(returned.len() <= MAX_HEADERS);
        assert!(returned.len() > MAX_HEADERS - 60);
        assert!(returned.ends_with("yyyy\r\n"));
        assert!(original.starts_with(returned.as_bytes()));
    }

    #[test]
    fn a_line_over_998_octets_is_cut() {
        let mut r = bob();
        r.diagnostic = Some(format!("550 5.1.1 {}", "x".repeat(5000)));
        let recipients = [r];
        let original = format!("Subject: {}\r\n\r\n", "s".repeat(2000));
        let message = render(&Bounce {
            original_message: original.as_bytes(),
            ..bounce(&recipients)
        });
        assert_well_formed(&message);
        let lines = lines(&message);
        let cut: Vec<&&str> = lines.iter().filter(|l| l.len() == MAX_LINE).collect();
        assert_eq!(cut.len(), 3, "{cut:?}");
        assert!(cut[0].starts_with("    mx.b.test said: 550 5.1.1 xxx"));
        assert!(cut[1].starts_with("Diagnostic-Code: smtp; 550 5.1.1 xxx"));
        assert!(cut[2].starts_with("Subject: sss"));
    }

    #[test]
    fn non_ascii_becomes_a_question_mark() {
        let r = FailedRecipient {
            address: "jürgen@b.test".to_string(),
            diagnostic: Some("550 5.1.1 Benutzer unbekannt: jürgen\u{2028}".to_string()),
            ..bob()
        };
        let recipients = [r];
        let message = render(&Bounce {
            original_message: "Subject: Grüße\r\n\r\n".as_bytes(),
            ..bounce(&recipients)
        });
        assert_well_formed(&message);
        assert!(message.contains("\r\nFinal-Recipient: rfc822; j?rgen@b.test\r\n"));
        assert!(
            message.contains("\r\n    mx.b.test said: 550 5.1.1 Benutzer unbekannt: j?rgen?\r\n")
        );
        assert!(message.contains("\r\nSubject: Gr??e\r\n"));
    }

    #[test]
    fn a_delay_warning() {
        let r = FailedRecipient {
            address: "dave@d.test".to_string(),
            status: Some(Status(4, 4, 1)),
            diagnostic: None,
            remote_mta: None,
            action: Action::Delayed,
        };
        let recipients = [r];
        let message = render(&bounce(&recipients));
        assert_well_formed(&message);
        assert!(message.contains("\r\nSubject: Delayed Mail (still being retried)\r\n"));
        assert!(message.contains(
            "has not yet been delivered to one or more of its recipients.\r\n\
             The mail system is still trying; you do not need to send it again.\r\n\
             \r\n\
             <dave@d.test>: delayed: no answer from the remote server (4.4.1)\r\n\
             \r\n"
        ));
        assert!(message.contains(
            "\r\n\r\nFinal-Recipient: rfc822; dave@d.test\r\n\
             Action: delayed\r\n\
             Status: 4.4.1\r\n\
             \r\n--"
        ));
        // No remote MTA was involved, so neither Remote-MTA nor Diagnostic-Code.
        assert!(!message.contains("Remote-MTA"));
        assert!(!message.contains("Diagnostic-Code"));
    }

    #[test]
    fn one_failed_recipient_makes_the_notice_a_bounce() {
        let delayed = FailedRecipient {
            status: Some(Status(4, 4, 1)),
            action: Action::Delayed,
            ..carol_expired()
        };
        let recipients = [delayed, bob()];
        let message = render(&bounce(&recipients));
        assert!(message
            .contains("\r\nSubject: Undelivered Mail Returned to Sender (1795395723.M1P2Q0)\r\n"));
        assert!(message
            .contains("\r\n<carol@c.test>: delayed: no answer from the remote server (4.4.1)\r\n"));
        assert!(message.contains("\r\n<bob@b.test>: failed: no such user (5.1.1)\r\n"));
    }

    #[test]
    fn a_reply_without_remote_mta_was_ours() {
        let r = FailedRecipient {
            address: "erin@nullmx.test".to_string(),
            status: Some(Status(5, 1, 10)),
            diagnostic: Some("556 5.1.10 nullmx.test accepts no mail".to_string()),
            remote_mta: None,
            action: Action::Failed,
        };
        let recipients = [r];
        let message = render(&bounce(&recipients));
        assert!(message.contains(
            "\r\n<erin@nullmx.test>: failed: the domain accepts no mail (null MX) (5.1.10)\r\n\
             \x20   mx.a.test said: 556 5.1.10 nullmx.test accepts no mail\r\n"
        ));
        assert!(!message.contains("Remote-MTA"));
    }

    #[test]
    fn bracketed_addresses_are_not_bracketed_twice() {
        let r = FailedRecipient {
            address: "<bob@b.test>".to_string(),
            ..bob()
        };
        let recipients = [r];
        let message = render(&Bounce {
            original_sender: "<alice@a.test>",
            ..bounce(&recipients)
        });
        assert!(message.contains("\r\nTo: <alice@a.test>\r\n"));
        assert!(message.contains("\r\nFinal-Recipient: rfc822; bob@b.test\r\n"));
    }

    #[test]
    fn status_texts() {
        let table = [
            ("5.1.1", "no such user"),
            ("5.1.2", "no such domain"),
            ("5.1.3", "bad address syntax"),
            ("5.1.10", "the domain accepts no mail (null MX)"),
            ("4.4.1", "no answer from the remote server"),
            ("4.4.2", "the connection to the remote server was broken"),
            ("4.4.7", "gave up after the queue lifetime"),
            ("5.3.4", "message too big"),
            ("5.4.6", "routing loop"),
            ("5.7.1", "refused by the recipient's mail system"),
            ("4.2.2", "temporary failure"),
            ("5.0.0", "delivery failed"),
            ("5.2.2", "delivery failed"),
        ];
        for (status, text) in table {
            assert_eq!(status_text(status.parse().unwrap()), text, "{status}");
        }
    }

    #[test]
    fn without_a_status_the_action_picks_one() {
        let failed = FailedRecipient {
            status: None,
            ..bob()
        };
        let delayed = FailedRecipient {
            action: Action::Delayed,
            ..failed.clone()
        };
        assert_eq!(status_code(&failed), Status(5, 0, 0));
        assert_eq!(status_code(&delayed), Status(4, 0, 0));
        assert_eq!(status_code(&bob()), Status(5, 1, 1));
    }

    #[test]
    fn the_diagnostic_type_says_who_wrote_it() {
        assert!(is_smtp_reply("550 5.1.1 no such user"));
        assert!(is_smtp_reply("550-first line"));
        assert!(is_smtp_reply("421"));
        assert!(!is_smtp_reply(
            "the domain accepts no mail (null MX, RFC 7505)"
        ));
        assert!(!is_smtp_reply("gave up after 3 attempts"));
        assert!(!is_smtp_reply("600 x") && !is_smtp_reply("55 x") && !is_smtp_reply("5500"));
    }
}
