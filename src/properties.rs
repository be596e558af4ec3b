//! Property tests (the `proptest` crate): three pairs of functions that must undo each
//! other, checked on thousands of generated inputs instead of a few hand-picked ones.
//!
//! - Dot-stuffing ↔ unstuffing (RFC 5321 §4.5.2): what the relay client writes after
//!   DATA, read back by the server's DATA decoder, is the message it started from, and
//!   the decoder sees the end of data exactly once, at the end.
//! - Reply formatting ↔ parsing (RFC 5321 §4.2): every reply the server writes is read
//!   back by the relay client's reply parser with the same code, the same number of
//!   lines, the same text and the same enhanced status code (RFC 3463).
//! - Address parsing ↔ display (RFC 5321 §4.1.2): an address shown after parsing parses
//!   again to the same value, and shows the same again.
//!
//! The fuzz targets in `fuzz/` check that these parsers never panic on any input; these
//! properties check that on good input they are right. Run more cases with
//! `PROPTEST_CASES=100000 cargo test --lib properties`.

use std::io::ErrorKind;

use proptest::prelude::*;

use crate::address::{parse_forward_path, parse_reverse_path, ForwardPath, ReversePath};
use crate::relay::client::{read_reply, write_stuffed};
use crate::smtp::data::{DataDecoder, DataLine};
use crate::smtp::reply::{Reply, Status, MAX_REPLY_LINE};
use crate::wire::line::{LineReader, ReadError};

// ---------------------------------------------------------------------------------------
// Dot-stuffing ↔ unstuffing

/// A line of message text: any octets but CR and LF, often starting with dots, at most
/// 62 octets (far below 998) so that with its CRLF it keeps to RFC 5321 §4.5.3.1.6.
fn text_line() -> impl Strategy<Value = Vec<u8>> {
    let dots = prop::collection::vec(Just(b'.'), 0..3);
    // CR and LF become dots: more dots to stuff, never a line break.
    let octet = any::<u8>().prop_map(|b| if b == b'\r' || b == b'\n' { b'.' } else { b });
    let rest = prop::collection::vec(octet, 0..60);
    (dots, rest).prop_map(|(mut line, rest)| {
        line.extend(rest);
        line
    })
}

/// A message with CRLF line endings, with or without a final CRLF.
fn message() -> impl Strategy<Value = Vec<u8>> {
    (prop::collection::vec(text_line(), 0..30), any::<bool>()).prop_map(|(lines, last_crlf)| {
        let mut message = lines.join(&b"\r\n"[..]);
        if last_crlf && !message.is_empty() {
            message.extend_from_slice(b"\r\n");
        }
        message
    })
}

/// What the server's decoder makes of the client's stuffed text: the message and how
/// many lines came after the end of data.
fn unstuff(wire: &[u8]) -> (Vec<u8>, usize) {
    let mut reader = LineReader::new(wire);
    let mut decoder = DataDecoder::new(u64::MAX, usize::MAX);
    let mut message = Vec::new();
    let mut ended = false;
    let mut after_end = 0;
    loop {
        match reader.read_line(1000) {
            Ok(_) if ended => after_end += 1,
            Ok(line) => match decoder.feed(line) {
                DataLine::Content(bytes) => message.extend_from_slice(bytes),
                DataLine::End => ended = true,
                other => panic!("{other:?} for {:?}", line.raw().escape_ascii()),
            },
            Err(ReadError::Closed) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(ended, "no end of data in {:?}", wire.escape_ascii());
    (message, after_end)
}

// ANCHOR: stuffing_property
proptest! {
    #[test]
    fn stuffing_then_unstuffing_gives_the_message_back(message in message()) {
        let mut wire = Vec::new();
        write_stuffed(&mut wire, &message).unwrap();
        let (received, after_end) = unstuff(&wire);
        // §4.1.1.4: the CRLF before the final dot belongs to the text, so a message
        // without a last CRLF arrives with one.
        let mut expected = message.clone();
        if !expected.is_empty() && !expected.ends_with(b"\r\n") {
            expected.extend_from_slice(b"\r\n");
        }
        prop_assert_eq!(received, expected);
        prop_assert_eq!(after_end, 0, "the end of data must be the last line");
    }
}
// ANCHOR_END: stuffing_property

// ---------------------------------------------------------------------------------------
// Reply formatting ↔ parsing

/// Any text, control characters and non-ASCII included.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,40}",
        "[ -~]{0,600}",
        "[\\x00-\\x1f\\x7fa-zé€\r\n ]{0,40}",
    ]
}

/// A code and, for classes 2, 4 and 5, perhaps an enhanced status code of the same
/// class (RFC 3463 §2: the class repeats the reply's first digit; 3yz has none).
fn any_code_and_status() -> impl Strategy<Value = (u16, Option<Status>)> {
    (200u16..600, any::<bool>(), 0u16..1000, 0u16..1000).prop_map(|(code, with, s, d)| {
        let class = (code / 100) as u8;
        let status = (with && class != 3).then_some(Status(class, s, d));
        (code, status)
    })
}

/// A reply as the server builds it: its own constructor, or one of the catalogue's with
/// arbitrary text where the catalogue echoes something.
fn any_reply() -> impl Strategy<Value = Reply> {
    let general = (
        any_code_and_status(),
        prop::collection::vec(any_text(), 0..12),
    )
        .prop_map(|((code, status), lines)| Reply::multiline(code, status, lines));
    let catalogue = (any_text(), any_text(), 0usize..100_000).prop_map(|(a, b, n)| {
        let all = [
            Reply::ehlo(&a, &b, &[b.clone(), "PIPELINING".into()]),
            Reply::helo(&a, &b),
            Reply::sender_ok(&a),
            Reply::recipient_ok(&a),
            Reply::message_accepted(&a),
            Reply::closing(&a),
            Reply::too_many_connections(&a),
            Reply::timeout(&a),
            Reply::too_many_errors(&a),
            Reply::shutting_down(&a),
            Reply::local_error(ErrorKind::StorageFull),
            Reply::too_many_recipients(n),
            Reply::line_too_long(n),
            Reply::not_implemented(&a),
            Reply::bad_sequence(a.clone()),
            Reply::no_such_user(&a),
            Reply::relay_denied(&a),
            Reply::message_too_big(n as u64),
            Reply::mailbox_name_not_allowed(&a, &b),
            Reply::mail_loop(n),
            Reply::parameter_unrecognized(&a),
            Reply::help(vec![a.clone(), b.clone()]),
        ];
        all[n % all.len()].clone()
    });
    prop_oneof![general, catalogue]
}

/// The text the parser should give back for one line: the enhanced status code and the
/// text, cut where `write_to` cuts (RFC 5321 §4.5.3.1.5, on a character boundary).
fn expected_text(status: Option<Status>, line: &str) -> String {
    let mut text = match status {
        Some(status) => format!("{status} {line}"),
        None => line.to_string(),
    };
    // "250 " before the text and CRLF after it.
    let mut room = MAX_REPLY_LINE - 4 - 2;
    while room < text.len() && !text.is_char_boundary(room) {
        room -= 1;
    }
    text.truncate(room.min(text.len()));
    text
}

proptest! {
    #[test]
    fn every_reply_reads_back_as_written(reply in any_reply()) {
        let mut wire = Vec::new();
        reply.write_to(&mut wire);
        let mut reader = LineReader::new(&wire[..]);
        let parsed = read_reply(&mut reader).unwrap();
        prop_assert_eq!(parsed.code, reply.code());
        let expected: Vec<String> =
            reply.lines().iter().map(|l| expected_text(reply.status(), l)).collect();
        prop_assert_eq!(&parsed.lines, &expected);
        if let Some(status) = reply.status() {
            prop_assert_eq!(parsed.enhanced(), Some(status));
        }
        // One reply, and nothing left over that could pass for a second one.
        prop_assert!(read_reply(&mut reader).is_err());
        prop_assert!(!reader.has_buffered_input());
    }
}

// ---------------------------------------------------------------------------------------
// Address parsing ↔ display

/// RFC 5321 §4.1.2 Dot-string: atoms of atext (and, for SMTPUTF8, a few non-ASCII
/// letters) separated by single dots.
const DOT_STRING: &str =
    "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~é-]{1,8}(\\.[a-zA-Z0-9!#$%&'*+/=?^_`{|}~ü-]{1,8}){0,3}";

/// A local part: a Dot-string, or a Quoted-string with quoted pairs where needed.
fn local_part() -> impl Strategy<Value = String> {
    let quoted = "[ -~]{0,20}".prop_map(|content: String| {
        let escaped: String = content
            .chars()
            .flat_map(|c| match c {
                '"' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        format!("\"{escaped}\"")
    });
    prop_oneof![DOT_STRING, quoted]
}

/// A domain, a dotted IPv4 literal or an IPv6 literal (§4.1.3).
fn host() -> impl Strategy<Value = String> {
    let label = "[a-zA-Z0-9]([a-zA-Z0-9-]{0,10}[a-zA-Z0-9])?";
    let domain = prop::collection::vec(label, 1..5).prop_map(|labels| labels.join("."));
    let v4 = any::<[u8; 4]>().prop_map(|o| format!("[{}.{}.{}.{}]", o[0], o[1], o[2], o[3]));
    let v6 = any::<[u16; 8]>().prop_map(|s| {
        let groups: Vec<String> = s.iter().map(|g| format!("{g:x}")).collect();
        format!("[IPv6:{}]", groups.join(":"))
    });
    prop_oneof![3 => domain, 1 => v4, 1 => v6]
}

proptest! {
    #[test]
    fn a_shown_forward_path_parses_to_the_same_path(
        // RFC 5321 §4.5.3.1.1: a local part is at most 64 octets; longer ones are not
        // generated, so every address here is valid and must parse.
        local in local_part().prop_filter("at most 64 octets (§4.5.3.1.1)", |l| l.len() <= 64),
        host in host(),
    ) {
        let written = format!("<{local}@{host}>");
        let path = parse_forward_path(&written);
        prop_assert!(path.is_ok(), "a valid address was refused: {written} ({path:?})");
        let path = path.unwrap();
        let shown = format!("<{path}>");
        prop_assert_eq!(parse_forward_path(&shown), Ok(path.clone()));
        // Displaying is idempotent: the least-quoted form is a fixed point.
        let again = format!("<{}>", parse_forward_path(&shown).unwrap());
        prop_assert_eq!(again, shown);
        // Domains and IPv4 literals show as written; IPv6 in its canonical form.
        if let ForwardPath::Mailbox(mailbox) = &path {
            if !host.starts_with("[IPv6:") {
                prop_assert_eq!(mailbox.host.to_string(), host);
            }
        }
    }

    #[test]
    fn whatever_parses_shows_as_something_that_parses_the_same(text in "<[ -~é]{0,40}>") {
        if let Ok(path) = parse_reverse_path(&text) {
            let shown = match &path {
                ReversePath::Null => "<>".to_string(),
                ReversePath::Mailbox(m) => format!("<{m}>"),
            };
            prop_assert_eq!(parse_reverse_path(&shown), Ok(path));
        }
        if let Ok(path) = parse_forward_path(&text) {
            prop_assert_eq!(parse_forward_path(&format!("<{path}>")), Ok(path));
        }
    }
}
