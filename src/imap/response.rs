//! IMAP responses on the wire (RFC 3501 §7): tagged status responses that end a
//! command, untagged data (`* ...`), and the continuation request (`+ ...`).
//!
//! A [`Response`] is a run of whole response lines, built in order and written in one
//! piece. Short printable strings go out quoted (§4.3), anything else as a literal
//! (`{n}` CRLF, then the octets), and message text always as a literal, as Dovecot
//! sends it; so a message of any content travels intact. Human text is stripped of CR and LF, so no
//! reply can break the framing (ARCHITECTURE.md, *Errors are replies*).
//!
//! Response codes (§7.1: `[ALERT]`, `[TRYCREATE]`, `[UIDVALIDITY n]`, RFC 5530's
//! `[CANNOT]`, `[NONEXISTENT]`…) are written by the caller as text, one place per
//! reply, so the catalogue reads like the RFC.

use crate::wire::Render;

/// The status of a tagged (or untagged) status response, §7.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    No,
    Bad,
    Bye,
    PreAuth,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::No => "NO",
            Status::Bad => "BAD",
            Status::Bye => "BYE",
            Status::PreAuth => "PREAUTH",
        }
    }
}

// ANCHOR: response
/// One or more whole response lines, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response(pub Vec<u8>);

impl Response {
    pub fn new() -> Response {
        Response::default()
    }

    /// `* <text>`: untagged data or status (§7), for text without literals.
    pub fn untagged(mut self, text: &str) -> Response {
        self.0.extend_from_slice(b"* ");
        push_text(&mut self.0, text);
        self.0.extend_from_slice(b"\r\n");
        self
    }

    /// `* <data>`: data already encoded (it may hold literals, see [`string`]).
    pub fn untagged_data(mut self, data: &[u8]) -> Response {
        self.0.extend_from_slice(b"* ");
        self.0.extend_from_slice(data);
        self.0.extend_from_slice(b"\r\n");
        self
    }

    /// `<tag> OK|NO|BAD [code] text`: the end of a command (§7.1).
    pub fn tagged(mut self, tag: &str, status: Status, code: Option<&str>, text: &str) -> Response {
        self.0.extend_from_slice(tag.as_bytes());
        self.0.push(b' ');
        self.status_line(status, code, text);
        self
    }

    /// `* OK|NO|BAD|BYE [code] text`: an untagged status response.
    pub fn untagged_status(mut self, status: Status, code: Option<&str>, text: &str) -> Response {
        self.0.extend_from_slice(b"* ");
        self.status_line(status, code, text);
        self
    }

    fn status_line(&mut self, status: Status, code: Option<&str>, text: &str) {
        self.0.extend_from_slice(status.word().as_bytes());
        self.0.push(b' ');
        if let Some(code) = code {
            self.0.push(b'[');
            push_text(&mut self.0, code);
            self.0.extend_from_slice(b"] ");
        }
        push_text(&mut self.0, text);
        self.0.extend_from_slice(b"\r\n");
    }

    /// `+ text`: the server is ready for more (§7.5): a literal, a SASL response,
    /// or the end of IDLE.
    pub fn continuation(text: &str) -> Response {
        let mut out = b"+ ".to_vec();
        push_text(&mut out, text);
        out.extend_from_slice(b"\r\n");
        Response(out)
    }

    /// This response, then `other`.
    pub fn then(mut self, other: Response) -> Response {
        self.0.extend_from_slice(&other.0);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Does it end with a `BAD` (tagged or not)?
    pub fn is_bad(&self) -> bool {
        let text = self.0.strip_suffix(b"\r\n").unwrap_or(&self.0);
        let last = text.rsplit(|&b| b == b'\n').next().unwrap_or_default();
        last.splitn(3, |&b| b == b' ').nth(1) == Some(&b"BAD"[..])
    }
}
// ANCHOR_END: response

impl Render for Response {
    fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

/// Human text: never a CR or LF of its own, never a NUL.
fn push_text(out: &mut Vec<u8>, text: &str) {
    out.extend(text.bytes().map(|b| {
        if matches!(b, b'\r' | b'\n' | 0) {
            b' '
        } else {
            b
        }
    }));
}

// ANCHOR: string
/// §4.3: a string as a quoted string when it is short printable ASCII, else as a
/// literal.
pub fn string(out: &mut Vec<u8>, bytes: &[u8]) {
    let quotable = bytes.len() < 1024 && bytes.iter().all(|&b| (0x20..0x7f).contains(&b));
    if quotable {
        out.push(b'"');
        for &b in bytes {
            if b == b'"' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        literal(out, bytes);
    }
}

/// §4.3: a literal, whatever the octets (message text: clients expect it so).
pub fn literal(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(format!("{{{}}}\r\n", bytes.len()).as_bytes());
    out.extend_from_slice(bytes);
}

/// §4.5: a string, or `NIL`.
pub fn nstring(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        Some(bytes) => string(out, bytes),
        None => out.extend_from_slice(b"NIL"),
    }
}

/// §9 `astring` in responses (mailbox names): an atom when it can be, else a string.
pub fn astring(out: &mut Vec<u8>, text: &str) {
    let atom = !text.is_empty()
        && text
            .bytes()
            .all(|b| super::parse::is_atom_char(b) || b == b']');
    if atom {
        out.extend_from_slice(text.as_bytes());
    } else {
        string(out, text.as_bytes());
    }
}
// ANCHOR_END: string

#[cfg(test)]
mod tests {
    use super::*;

    fn text(response: Response) -> String {
        String::from_utf8(response.0).unwrap()
    }

    #[test]
    fn status_lines() {
        let r = Response::new().untagged("3 EXISTS").tagged(
            "a1",
            Status::No,
            Some("TRYCREATE"),
            "No such mailbox\r\nx",
        );
        assert_eq!(
            text(r),
            "* 3 EXISTS\r\na1 NO [TRYCREATE] No such mailbox  x\r\n"
        );
        assert_eq!(text(Response::continuation("Ready")), "+ Ready\r\n");
        assert!(Response::new()
            .tagged("a", Status::Bad, None, "no")
            .is_bad());
        assert!(!Response::new()
            .untagged("1 BAD x")
            .tagged("a", Status::Ok, None, "BAD")
            .is_bad());
    }

    #[test]
    fn strings_quoted_or_literal() {
        let cases: &[(&[u8], &str)] = &[
            (b"hello", "\"hello\""),
            (b"say \"hi\" \\o/", "\"say \\\"hi\\\" \\\\o/\""),
            (b"two\r\nlines", "{10}\r\ntwo\r\nlines"),
            ("Café".as_bytes(), "{5}\r\nCafé"),
            (b"", "\"\""),
        ];
        for (input, want) in cases {
            let mut out = Vec::new();
            string(&mut out, input);
            assert_eq!(String::from_utf8(out).unwrap(), *want);
        }
        // A long printable string goes as a literal from 1,024 octets on.
        let quoted = |len: usize| {
            let mut out = Vec::new();
            string(&mut out, "a".repeat(len).as_bytes());
            out.starts_with(b"\"")
        };
        assert!(quoted(1023) && !quoted(1024));
        let mut out = Vec::new();
        nstring(&mut out, None);
        astring(&mut out, " ");
        astring(&mut out, "INBOX");
        assert_eq!(out, b"NIL\" \"INBOX");
    }
}
