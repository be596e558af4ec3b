//! A stored message on the POP3 wire: CRLF line endings, byte-stuffing, the final
//! ".", and the octet count STAT and LIST announce (RFC 1939 §3, §5).
//!
//! postie stores messages with CRLF endings, as they arrived; other Maildir writers
//! store bare LF. Either way the client must get CRLF (§3), so every LF not already
//! after a CR is sent as CRLF, and a last line without any ending gets one.
//!
//! The octet count: RFC 1939 asks that LIST and STAT give the size "in the
//! canonical form", CRLF line endings, without the byte-stuffing and the final ".",
//! which belong to the transport. So for every message, [`octets`] is exactly the
//! number of octets the client holds once it has removed the stuffing: a test checks it
//! against [`encode`].
//!
//! Left out: streaming. The message is encoded in memory, one `Vec` the size of the
//! message (at most `--max-message-size` for mail postie received); a production server
//! would stream it from the file in blocks.

// ANCHOR: lines
/// The lines of `message` without their endings: split at LF, a CR before the LF
/// removed. A final piece without LF is a line too, unless it is empty.
fn lines(message: &[u8]) -> impl Iterator<Item = &[u8]> {
    // An empty message has no lines at all; "\n" is one empty line.
    let empty = message.is_empty();
    let body = message.strip_suffix(b"\n").unwrap_or(message);
    body.split(|&b| b == b'\n')
        .filter(move |_| !empty)
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
}
// ANCHOR_END: lines

// ANCHOR: octets
/// The size of the message in canonical form: every line plus CRLF.
pub fn octets(message: &[u8]) -> u64 {
    lines(message).map(|line| line.len() as u64 + 2).sum()
}
// ANCHOR_END: octets

// ANCHOR: encode
/// The multi-line body of a RETR (`body_lines` = `None`) or TOP response: the header,
/// and with TOP the blank line and at most `body_lines` lines of the body; each line
/// byte-stuffed, CRLF-ended, then the terminating ".".
pub fn encode(message: &[u8], body_lines: Option<usize>) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 32 + 3);
    let mut in_header = true;
    let mut body_sent = 0;
    for line in lines(message) {
        if !in_header {
            if body_lines.is_some_and(|max| body_sent >= max) {
                break;
            }
            body_sent += 1;
        }
        // RFC 1939 §3: a line starting with "." gets one more, so it cannot end the
        // response; the client removes it.
        if line.starts_with(b".") {
            out.push(b'.');
        }
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
        // RFC 1939 §7 (TOP): the header ends at the first empty line, which is sent.
        if in_header && line.is_empty() {
            in_header = false;
        }
    }
    out.extend_from_slice(b".\r\n");
    out
}
// ANCHOR_END: encode

#[cfg(test)]
mod tests {
    use super::*;

    /// What a client does: drop the final ".", remove one leading dot of each line.
    fn unstuff(wire: &[u8]) -> Vec<u8> {
        let body = wire.strip_suffix(b".\r\n").expect("ends with the dot");
        let mut out = Vec::new();
        for line in body.split_inclusive(|&b| b == b'\n') {
            out.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
        }
        out
    }

    #[test]
    fn crlf_and_stuffing() {
        let stored = b"Subject: x\n\n.one\r\n..two\nlast";
        let wire = encode(stored, None);
        assert_eq!(
            wire,
            b"Subject: x\r\n\r\n..one\r\n...two\r\nlast\r\n.\r\n".to_vec()
        );
        assert_eq!(
            unstuff(&wire),
            b"Subject: x\r\n\r\n.one\r\n..two\r\nlast\r\n".to_vec()
        );
    }

    #[test]
    fn the_octet_count_is_what_the_client_gets() {
        let samples: &[&[u8]] = &[
            b"",
            b"\n",
            b"\r\n",
            b"A: b\r\n\r\nbody\r\n",
            b"A: b\n\nbody\n.\n",
            b"no ending",
            b"cr\rinside\r\n\r\n",
            b"\n\n\n",
            b".\r\n..\r\n",
        ];
        for stored in samples {
            let wire = encode(stored, None);
            assert_eq!(
                octets(stored),
                unstuff(&wire).len() as u64,
                "{}",
                stored.escape_ascii()
            );
        }
    }

    #[test]
    fn top_sends_the_header_the_blank_line_and_n_lines() {
        let stored = b"A: 1\r\nB: 2\r\n\r\nl1\r\n.l2\r\nl3\r\n";
        assert_eq!(
            encode(stored, Some(0)),
            b"A: 1\r\nB: 2\r\n\r\n.\r\n".to_vec()
        );
        assert_eq!(
            encode(stored, Some(2)),
            b"A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\n.\r\n".to_vec()
        );
        assert_eq!(encode(stored, Some(9)), encode(stored, None));
        // A message with no body at all: TOP sends the whole header.
        assert_eq!(encode(b"A: 1\r\n", Some(0)), b"A: 1\r\n.\r\n".to_vec());
    }
}
