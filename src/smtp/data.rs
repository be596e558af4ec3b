//! The DATA decoder: turns the lines after `354` into the octets of a message.
//!
//! Sans-IO: the connection reads each line with
//! [`LineReader`](crate::wire::LineReader) (limit [`DataDecoder::read_limit`]) and hands it to
//! [`DataDecoder::feed`], which says what the line means. The decoder never
//! reads, writes or replies.
//!
//! Implements, from RFC 5321:
//! - §4.1.1.4: mail data ends only at CRLF "." CRLF. The first CRLF ends the
//!   previous line (or the DATA command itself), so the decoder sees the end
//!   as a line holding just ".".
//! - §2.3.8: CR and LF travel only together, as CRLF. A bare LF or bare CR in
//!   mail data is refused and the connection closed, never repaired: a server
//!   that takes LF "." LF or "." CR CR LF for the end lets a client smuggle a
//!   second message past its own (SMTP smuggling, CVE-2023-51764).
//! - §4.5.2: transparency. A leading dot is removed from every other line.
//! - §4.5.3.1.6: text lines of at most 1000 octets, CRLF included, "not counting
//!   the leading dot duplicated for transparency". The reader is given one octet
//!   more than that, for the dot; the decoder measures the line after unstuffing.
//!   A line longer still is found by the reader, and the connection tells the
//!   decoder through [`DataDecoder::line_too_long`].
//! - §4.5.3.1.7 with RFC 1870: a message size limit, counted as RFC 1870
//!   counts: the octets after unstuffing, CRLFs included.
//! - §6.3: loop detection by counting `Received:` header fields.
//!
//! A refused message is still read to its end (its lines come back as
//! [`DataLine::Discard`]), so its text is never taken for commands, and the one
//! reply to DATA comes after the dot.
//!
//! Deliberately left out:
//! - NUL and other control octets are ordinary content: we neither strip nor
//!   reject NUL (§4.5.2: all characters are delivered). BINARYMIME (RFC 3030)
//!   is not offered, so no message may rely on NUL surviving elsewhere.
//! - BDAT (CHUNKING, RFC 3030): messages arrive only by DATA.
//! - Header fields are not parsed beyond spotting `Received`; the server's own
//!   trace field (§4.4) is added by the code that stores the message.
//!
//! A production server might offer to *normalise* a bare LF into CRLF for
//! old clients instead of refusing (Postfix: `smtpd_forbid_bare_newline`).

use crate::wire::Line;

// ANCHOR: data_line
/// What one line of DATA means.
#[derive(Debug, PartialEq, Eq)]
pub enum DataLine<'a> {
    /// The line after dot-unstuffing, still ending in CRLF: write it to the message.
    Content(&'a [u8]),
    /// The message is already refused (too big, line too long, loop): read on, write nothing.
    Discard,
    /// The lone dot, CRLF "." CRLF: the message is over.
    End,
    /// A bare LF or bare CR: refuse and close the connection, never resynchronise.
    BareNewline,
}
// ANCHOR_END: data_line

// ANCHOR: data_outcome
/// Why a message whose end was read is refused. (A message that is not refused is
/// simply its size: see [`DataDecoder::outcome`].)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Over the size limit (RFC 5321 §4.5.3.1.7, §4.5.3.1.9; RFC 1870): `552 5.3.4`.
    TooBig {
        /// Octets received, counted to the real end.
        size: u64,
    },
    /// A text line over 1000 octets (RFC 5321 §4.5.3.1.6): `500 5.5.2`.
    LineTooLong,
    /// More `Received:` fields than allowed, a mail loop (RFC 5321 §6.3): `554 5.4.6`.
    TooManyHops {
        /// `Received:` fields in the header section.
        received: usize,
    },
}
// ANCHOR_END: data_outcome

/// Where a line falls in the message (RFC 5322 §2.1): header fields, then an
/// empty line, then the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Header,
    Body,
}

/// Decodes one message's DATA, line by line. Make a new one for each DATA.
///
/// After a refusal it keeps measuring (size, hops) but passes nothing on.
#[derive(Debug)]
pub struct DataDecoder {
    max_message_size: u64,
    max_received_headers: usize,
    section: Section,
    size: u64,
    received: usize,
    line_too_long: bool,
    /// RFC 5321 §4.5.3.1.6: the longest text line, CRLF included, without the dot.
    max_line: usize,
}

/// RFC 5321 §4.5.3.1.6: "The maximum total length of a text line including the
/// `<CRLF>` is 1000 octets (not counting the leading dot duplicated for transparency)."
pub const MAX_TEXT_LINE: usize = 1000;

impl DataDecoder {
    /// A decoder for a message that starts with the next line.
    pub fn new(max_message_size: u64, max_received_headers: usize) -> Self {
        DataDecoder {
            max_message_size,
            max_received_headers,
            section: Section::Header,
            size: 0,
            received: 0,
            line_too_long: false,
            max_line: MAX_TEXT_LINE,
        }
    }

    /// The same decoder with another text line limit (CRLF included, dot not).
    pub fn with_max_line(mut self, max_line: usize) -> Self {
        self.max_line = max_line;
        self
    }

    // ANCHOR: read_limit
    /// The limit to give the line reader: the longest text line, plus the one dot
    /// that transparency may have added in front of it (§4.5.3.1.6).
    pub fn read_limit(&self) -> usize {
        self.max_line + 1
    }
    // ANCHOR_END: read_limit

    // ANCHOR: feed
    /// What to do with the next line of mail data.
    pub fn feed<'a>(&mut self, line: Line<'a>) -> DataLine<'a> {
        // RFC 5321 §2.3.8, §4.1.1.4: only CRLF ends a line, so only CRLF "." CRLF
        // ends the data. Checked before the dot: LF "." LF must not end it.
        if !line.is_crlf_clean() {
            return DataLine::BareNewline;
        }
        // RFC 5321 §4.5.2: a line of a single period ends the mail data...
        if line.text() == b"." {
            return DataLine::End;
        }
        // ...and any other line loses its first character if that is a period.
        let content = line.raw().strip_prefix(b".").unwrap_or(line.raw());
        // §4.5.3.1.6: the limit counts the line as the client wrote it, before the
        // dot was added; the reader let one more octet through for that dot only.
        if content.len() > self.max_line {
            self.line_too_long = true;
        }

        self.size = self.size.saturating_add(content.len() as u64);
        match self.section {
            // RFC 5322 §2.1: the first empty line ends the header section.
            Section::Header if content == b"\r\n" => self.section = Section::Body,
            Section::Header if is_received_field(content) => self.received += 1,
            _ => {}
        }

        if self.outcome().is_ok() {
            DataLine::Content(content)
        } else {
            DataLine::Discard
        }
    }
    // ANCHOR_END: feed

    /// The line reader reported `ReadError::TooLong` for a line of message text.
    pub fn line_too_long(&mut self) {
        self.line_too_long = true;
    }

    // ANCHOR: outcome
    /// The verdict, meaningful once [`feed`](Self::feed) returned [`DataLine::End`]:
    /// the message's size (RFC 1870 counting: unstuffed octets, CRLFs included), or why
    /// it is refused. When several limits were broken, size wins, then line length,
    /// then hops.
    pub fn outcome(&self) -> Result<u64, Refusal> {
        if self.size > self.max_message_size {
            Err(Refusal::TooBig { size: self.size })
        } else if self.line_too_long {
            Err(Refusal::LineTooLong)
        } else if self.received > self.max_received_headers {
            Err(Refusal::TooManyHops {
                received: self.received,
            })
        } else {
            Ok(self.size)
        }
    }
    // ANCHOR_END: outcome
}

/// Whether a header line starts a `Received` field (RFC 5322 §3.6.7).
///
/// The name matches in any case (RFC 5322 §1.2.2) and may be followed by
/// spaces or tabs before the colon (§4.5, obsolete syntax). A folded
/// continuation line (§2.2.3) starts with a space or tab, so never matches.
fn is_received_field(line: &[u8]) -> bool {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return false;
    };
    let mut name = &line[..colon];
    while let [rest @ .., b' ' | b'\t'] = name {
        name = rest;
    }
    name.eq_ignore_ascii_case(b"Received")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::line::{LineReader, ReadError};

    /// The text line limit of RFC 5321 §4.5.3.1.6.
    const TEXT_LINE: usize = 1000;

    /// What the decoder said about one line, owned so the reader can move on.
    #[derive(Debug, PartialEq, Eq)]
    enum Seen {
        Content(Vec<u8>),
        Discard,
        End,
        BareNewline,
    }

    /// Feeds each line to a fresh decoder, as the connection would.
    fn decode(decoder: &mut DataDecoder, lines: &[&[u8]]) -> Vec<Seen> {
        lines
            .iter()
            .map(|raw| match decoder.feed(Line::new(raw)) {
                DataLine::Content(c) => Seen::Content(c.to_vec()),
                DataLine::Discard => Seen::Discard,
                DataLine::End => Seen::End,
                DataLine::BareNewline => Seen::BareNewline,
            })
            .collect()
    }

    fn content(text: &[u8]) -> Seen {
        Seen::Content(text.to_vec())
    }

    #[test]
    fn smuggling_vectors_never_end_the_message_early() {
        let vectors: &[&[u8]] = &[
            b"\n.\n",
            b"\n.\r\n",
            b"\r.\r",
            b"\r.\n",
            b"\n.\r",
            b"\r.\r\n",
            b"\r\n.\n",
            b"\r\n.\r",
            b"\r\n\x00.\r\n",
            b"\r\n.\x00\r\n",
            b"\r\n.\r\r\n",
            b"\r\r\n.\r\r\n",
        ];
        let smuggled: &[u8] = b"MAIL FROM:<x@y>\r\nRCPT TO:<z@w>\r\nDATA\r\nsecond\r\n.\r\n";
        for vector in vectors {
            let name = vector.escape_ascii();
            let stream = [&b"Subject: a\r\n\r\nbody"[..], vector, smuggled].concat();
            let mut reader = LineReader::new(&stream[..]);
            let mut decoder = DataDecoder::new(1 << 20, 100);
            let mut message = Vec::new();
            loop {
                let line = match reader.read_line(TEXT_LINE) {
                    Ok(line) => line,
                    Err(e) => panic!("{name}: read failed before the end: {e:?}"),
                };
                match decoder.feed(line) {
                    DataLine::Content(c) => message.extend_from_slice(c),
                    DataLine::Discard => panic!("{name}: nothing was refused"),
                    // Refused before any end: the connection closes, nothing is smuggled.
                    DataLine::BareNewline => break,
                    DataLine::End => {
                        // The only end allowed is the final ".\r\n" of the stream,
                        // and the smuggled commands were message text.
                        assert!(
                            matches!(reader.read_line(TEXT_LINE), Err(ReadError::Closed)),
                            "{name}: ended before the final dot"
                        );
                        let text = message.escape_ascii().to_string();
                        assert!(text.contains("MAIL FROM:<x@y>"), "{name}: {text}");
                        break;
                    }
                }
            }
        }
    }

    #[test]
    fn leading_dots_are_unstuffed() {
        let mut decoder = DataDecoder::new(1000, 100);
        let seen = decode(
            &mut decoder,
            &[
                b"\r\n", b"..x\r\n", b"...\r\n", b"..\r\n", b"a.b\r\n", b".\r\n",
            ],
        );
        assert_eq!(
            seen,
            [
                content(b"\r\n"),
                content(b".x\r\n"),
                content(b"..\r\n"),
                content(b".\r\n"),
                content(b"a.b\r\n"),
                Seen::End,
            ]
        );
        // Size counts the unstuffed octets: 2 + 4 + 4 + 3 + 5.
        assert_eq!(decoder.outcome(), Ok(18));
    }

    #[test]
    fn a_lone_dot_first_is_the_empty_message() {
        let mut decoder = DataDecoder::new(1000, 100);
        assert_eq!(decode(&mut decoder, &[b".\r\n"]), [Seen::End]);
        assert_eq!(decoder.outcome(), Ok(0));
    }

    #[test]
    fn bare_newline_is_checked_before_the_dot() {
        for raw in [&b".\n"[..], b".\r\r\n", b"a\rb\r\n", b"body\n"] {
            let mut decoder = DataDecoder::new(1000, 100);
            let seen = decode(&mut decoder, &[raw]);
            assert_eq!(seen, [Seen::BareNewline], "{}", raw.escape_ascii());
        }
    }

    #[test]
    fn size_limit_counts_to_the_real_end() {
        // Exactly at the limit: 10 + 10 octets.
        let mut decoder = DataDecoder::new(20, 100);
        decode(&mut decoder, &[b"12345678\r\n", b"12345678\r\n", b".\r\n"]);
        assert_eq!(decoder.outcome(), Ok(20));

        // One octet over: that line and all after it are discarded, still counted.
        let mut decoder = DataDecoder::new(20, 100);
        let seen = decode(
            &mut decoder,
            &[b"12345678\r\n", b"123456789\r\n", b"more\r\n", b".\r\n"],
        );
        let expected = [
            content(b"12345678\r\n"),
            Seen::Discard,
            Seen::Discard,
            Seen::End,
        ];
        assert_eq!(seen, expected);
        assert_eq!(decoder.outcome(), Err(Refusal::TooBig { size: 27 }));
    }

    #[test]
    fn received_fields_are_counted_in_the_header_only() {
        let received = [&b"Received: from a by b\r\n"[..]; 50];
        let mut decoder = DataDecoder::new(1 << 20, 50);
        let seen = decode(&mut decoder, &received);
        assert!(seen.iter().all(|s| matches!(s, Seen::Content(_))));
        let rest: &[&[u8]] = &[
            b"X-Received: not a trace field\r\n",
            b"\tReceived: a folded line\r\n",
            b"Subject: hi\r\n",
            b"\r\n",
            b"Received: in the body\r\n",
            b".\r\n",
        ];
        assert_eq!(decode(&mut decoder, rest).last(), Some(&Seen::End));
        assert!(decoder.outcome().is_ok());

        let mut decoder = DataDecoder::new(1 << 20, 50);
        decode(&mut decoder, &received);
        let seen = decode(&mut decoder, &[b"received :x\r\n", b"\r\n", b".\r\n"]);
        assert_eq!(seen, [Seen::Discard, Seen::Discard, Seen::End]);
        assert_eq!(
            decoder.outcome(),
            Err(Refusal::TooManyHops { received: 51 })
        );
    }

    #[test]
    fn received_field_names() {
        let table: &[(&[u8], bool)] = &[
            (b"Received: x\r\n", true),
            (b"RECEIVED:x\r\n", true),
            (b"received :x\r\n", true),
            (b"Received \t : x\r\n", true),
            (b"X-Received: x\r\n", false),
            (b"Received-SPF: pass\r\n", false),
            (b" Received: x\r\n", false),
            (b"Received x\r\n", false),
        ];
        for &(line, expected) in table {
            assert_eq!(is_received_field(line), expected, "{}", line.escape_ascii());
        }
    }

    #[test]
    fn a_line_too_long_refuses_the_message() {
        let mut decoder = DataDecoder::new(1000, 100);
        assert_eq!(decode(&mut decoder, &[b"a\r\n"]), [content(b"a\r\n")]);
        decoder.line_too_long();
        let seen = decode(&mut decoder, &[b"b\r\n", b".\r\n"]);
        assert_eq!(seen, [Seen::Discard, Seen::End]);
        assert_eq!(decoder.outcome(), Err(Refusal::LineTooLong));
    }

    /// RFC 5321 §4.5.3.1.6: 1000 octets with the CRLF, not counting the dot that
    /// transparency adds. Both edges, with and without the dot.
    #[test]
    fn the_text_line_limit_does_not_count_the_stuffed_dot() {
        let line = |dot: bool, octets: usize| {
            let mut raw = if dot { b".".to_vec() } else { vec![] };
            raw.extend(std::iter::repeat_n(b'x', octets - 2));
            raw.extend_from_slice(b"\r\n");
            raw
        };
        // (leading stuffed dot?, octets as the client wrote them, accepted?)
        for (dot, octets, accepted) in [
            (false, 1000, true),
            (true, 1000, true),
            (false, 1001, false),
            (true, 1001, false),
        ] {
            let mut decoder = DataDecoder::new(1 << 20, 100);
            let raw = line(dot, octets);
            assert!(raw.len() <= decoder.read_limit() || !accepted);
            let seen = decode(&mut decoder, &[&raw, b".\r\n"]);
            assert_eq!(seen.last(), Some(&Seen::End));
            assert_eq!(
                decoder.outcome().is_ok(),
                accepted,
                "dot={dot}, {octets} octets"
            );
        }
        assert_eq!(DataDecoder::new(1, 1).read_limit(), 1001);
    }

    #[test]
    fn outcome_priority_is_size_then_line_then_hops() {
        let mut decoder = DataDecoder::new(30, 0);
        decode(&mut decoder, &[b"Received: x\r\n"]);
        assert_eq!(decoder.outcome(), Err(Refusal::TooManyHops { received: 1 }));
        decoder.line_too_long();
        assert_eq!(decoder.outcome(), Err(Refusal::LineTooLong));
        decode(&mut decoder, &[b"\r\n", b"0123456789abcdef\r\n"]);
        assert_eq!(decoder.outcome(), Err(Refusal::TooBig { size: 33 }));
    }

    #[test]
    fn nul_is_ordinary_content() {
        let mut decoder = DataDecoder::new(1000, 100);
        let seen = decode(&mut decoder, &[b"\x00\r\n", b".\x00\r\n", b".\r\n"]);
        assert_eq!(
            seen,
            [content(b"\x00\r\n"), content(b"\x00\r\n"), Seen::End]
        );
    }
}
