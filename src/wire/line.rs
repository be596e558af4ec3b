//! The line reader: bytes from the socket in, one line at a time out.
//!
//! Implements the framing rules of RFC 5321:
//! - §2.3.8: a line ends in CRLF and in nothing else. The reader splits at LF
//!   only and *reports* how each line ended ([`Ending`], [`Line::has_bare_cr`]);
//!   what a bare LF or a bare CR means is the protocol layer's decision.
//! - §4.5.3.1.4 and §4.5.3.1.6: line length limits, 512 octets for a command
//!   and 1000 for a line of text, both counting the CRLF. The caller passes the
//!   limit; an over-long line is skipped through its LF and reported as
//!   [`ReadError::TooLong`], and the line after it is read normally.
//! - §4.5.3.2.7: the server waits a bounded time for input. The socket's read
//!   timeout does the waiting; the reader reports [`ReadError::TimedOut`] and
//!   keeps what it already received.
//! - A deadline for the whole line ([`LineReader::set_deadline`]): a per-read
//!   timeout does not stop a client that sends one byte just before each read
//!   times out, so the reader also gives up ([`ReadError::TimedOut`]) once the
//!   deadline has passed and the line is still not complete. It checks after
//!   each read, so a line is cut off at most one read timeout past the deadline.
//! - Memory: the buffer starts at [`INITIAL_CAPACITY`] octets and doubles only when
//!   the client sends more at once than it holds (a long line, a pipelined burst),
//!   never past the reader's capacity. An idle session holds 1 KiB; no line can be
//!   longer than the capacity, so memory stays bounded whatever the client sends.
//!
//! Deliberately left out:
//! - Shrinking: a buffer that grew for a burst keeps its size until the session
//!   ends. Sessions are short, and the capacity bounds it.
//! - Decoding: lines are bytes, never `str`; the parsers decide about UTF-8.
//!
//! Counted octets: a protocol that announces a length and then sends that many
//! octets (IMAP's literals, RFC 3501 §4.3) reads them with
//! [`LineReader::read_octets`], which takes what is already buffered first. It
//! is the caller that bounds the count.
//!
//! A production server might search for LF with a vectorised routine such as
//! the `memchr` crate.

use std::fmt;
use std::io::{self, Read};
use std::time::Instant;

/// Capacity of a reader made by [`LineReader::new`]: the longest text line
/// (1000 octets) many times over, so a pipelined burst arrives in one read.
pub const DEFAULT_CAPACITY: usize = 16 * 1024;

/// The buffer's size when a reader starts: a whole text line (1000 octets) fits.
/// An idle session, which is most sessions most of the time, holds no more.
pub const INITIAL_CAPACITY: usize = 1024;

// ANCHOR: ending
/// How a line ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// CR LF: the only line ending RFC 5321 §2.3.8 allows.
    CrLf,
    /// LF without a CR before it.
    BareLf,
}
// ANCHOR_END: ending

impl Ending {
    /// How many octets the ending occupies at the end of the line.
    fn octets(self) -> usize {
        match self {
            Ending::CrLf => 2,
            Ending::BareLf => 1,
        }
    }
}

// ANCHOR: line
/// One line as it arrived: the bytes, how it ended, and whether a lone CR hides inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    raw: &'a [u8],
    ending: Ending,
    has_bare_cr: bool,
}
// ANCHOR_END: line

impl<'a> Line<'a> {
    // ANCHOR: line_new
    /// Classifies `raw`, one line through its final LF.
    ///
    /// # Panics
    ///
    /// If `raw` does not end in `b'\n'`: a line without its LF is not a line yet.
    pub fn new(raw: &'a [u8]) -> Line<'a> {
        assert!(raw.ends_with(b"\n"), "a Line must end in LF");
        let ending = if raw.ends_with(b"\r\n") {
            Ending::CrLf
        } else {
            Ending::BareLf
        };
        let text = &raw[..raw.len() - ending.octets()];
        Line {
            raw,
            ending,
            // Any CR left in the text did not end the line: it is a bare CR.
            has_bare_cr: text.contains(&b'\r'),
        }
    }
    // ANCHOR_END: line_new

    /// The line as received, ending included.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The line without its ending (the final CRLF, or the final LF).
    pub fn text(&self) -> &'a [u8] {
        &self.raw[..self.raw.len() - self.ending.octets()]
    }

    /// How the line ended.
    pub fn ending(&self) -> Ending {
        self.ending
    }

    /// True when a CR appears anywhere except as the CR of a final CRLF,
    /// as in `b"a\rb\r\n"` or `b".\r\r\n"`.
    pub fn has_bare_cr(&self) -> bool {
        self.has_bare_cr
    }

    /// True for a line RFC 5321 §2.3.8 allows: it ends in CRLF and has no other CR.
    pub fn is_crlf_clean(&self) -> bool {
        self.ending == Ending::CrLf && !self.has_bare_cr
    }
}

// ANCHOR: read_error
/// Why [`LineReader::read_line`] returned no line.
#[derive(Debug)]
pub enum ReadError {
    /// The line was longer than the limit. The reader has already skipped
    /// past its LF, so the next call reads the line after it.
    TooLong,
    /// The peer closed the connection. A partial line without LF is discarded.
    Closed,
    /// The read timed out (the socket returned `WouldBlock` or `TimedOut`).
    /// Bytes already received are kept; a later call carries on with them.
    TimedOut,
    /// Any other I/O error.
    Io(io::Error),
}
// ANCHOR_END: read_error

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::TooLong => f.write_str("line too long"),
            ReadError::Closed => f.write_str("connection closed"),
            ReadError::TimedOut => f.write_str("timed out waiting for input"),
            ReadError::Io(e) => write!(f, "read failed: {e}"),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Io(e) => Some(e),
            _ => None,
        }
    }
}

// ANCHOR: line_reader
/// Reads lines from `R` into a buffer that grows, when it must, up to a capacity.
///
/// Unread input is `buf[start..end]`; of that, `buf[start..scanned]` is
/// known to hold no LF, so each byte is searched once.
pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    /// The most `buf` may grow to, and so the longest line the reader returns.
    capacity: usize,
    start: usize,
    scanned: usize,
    end: usize,
    /// Inside an over-long line: everything up to its LF is being dropped.
    /// Kept across calls so that a timeout in the middle loses nothing.
    skipping: bool,
    /// When the line being read must be complete (see [`LineReader::set_deadline`]).
    deadline: Option<Instant>,
}
// ANCHOR_END: line_reader

impl<R: Read> LineReader<R> {
    /// A reader with a buffer of [`DEFAULT_CAPACITY`] octets.
    pub fn new(inner: R) -> Self {
        Self::with_capacity(inner, DEFAULT_CAPACITY)
    }

    /// A reader whose buffer may grow to `capacity` octets (at least 1), the
    /// longest line it can ever return.
    pub fn with_capacity(inner: R, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        LineReader {
            inner,
            buf: vec![0; INITIAL_CAPACITY.min(capacity)],
            capacity,
            start: 0,
            scanned: 0,
            end: 0,
            skipping: false,
            deadline: None,
        }
    }

    // ANCHOR: set_deadline
    /// From now on, a line that is not complete by `deadline` is given up on:
    /// `read_line` returns [`ReadError::TimedOut`] instead of reading more. Lines
    /// already received are still returned. `None` removes the deadline.
    pub fn set_deadline(&mut self, deadline: Option<Instant>) {
        self.deadline = deadline;
    }
    // ANCHOR_END: set_deadline

    // ANCHOR: read_line
    /// Returns the next line (through its LF). `max_len` counts the whole line
    /// INCLUDING its ending (RFC 5321 §4.5.3.1.4/§4.5.3.1.6: 512 for commands,
    /// 1000 for text lines). `max_len` > capacity is clamped to capacity.
    pub fn read_line(&mut self, max_len: usize) -> Result<Line<'_>, ReadError> {
        let max_len = max_len.min(self.capacity);
        loop {
            let unscanned = &self.buf[self.scanned..self.end];
            if let Some(i) = unscanned.iter().position(|&b| b == b'\n') {
                let line_start = self.start;
                let line_end = self.scanned + i + 1;
                self.start = line_end;
                self.scanned = line_end;
                let was_skipping = std::mem::replace(&mut self.skipping, false);
                if was_skipping || line_end - line_start > max_len {
                    return Err(ReadError::TooLong);
                }
                return Ok(Line::new(&self.buf[line_start..line_end]));
            }
            self.scanned = self.end;

            if self.skipping || self.end - self.start >= max_len {
                // Even with only its LF still to come the line is too long:
                // drop what we have, so memory stays bounded.
                self.skipping = true;
                self.start = 0;
                self.scanned = 0;
                self.end = 0;
            } else if self.start > 0 {
                // Compact: move the partial line to the front to make room.
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.scanned = self.end;
                self.start = 0;
            }
            // A trickle of bytes must not hold us past the deadline.
            if self
                .deadline
                .is_some_and(|deadline| Instant::now() >= deadline)
            {
                return Err(ReadError::TimedOut);
            }
            // The partial line is shorter than max_len <= capacity: if the buffer
            // is full, it may still grow.
            if self.end == self.buf.len() {
                self.grow();
            }
            self.fill()?;
        }
    }
    // ANCHOR_END: read_line

    // ANCHOR: read_octets
    /// Reads exactly `count` octets (the caller has checked `count` against its
    /// limit), taking the ones already buffered first, within the deadline.
    /// The octets are not a line: no ending is looked for, any byte may appear.
    pub fn read_octets(&mut self, count: usize) -> Result<Vec<u8>, ReadError> {
        let mut octets = Vec::with_capacity(count.min(1 << 20));
        loop {
            let buffered = (self.end - self.start).min(count - octets.len());
            octets.extend_from_slice(&self.buf[self.start..self.start + buffered]);
            self.start += buffered;
            self.scanned = self.scanned.max(self.start);
            if octets.len() == count {
                return Ok(octets);
            }
            // The buffer is empty: start again at its front.
            self.start = 0;
            self.scanned = 0;
            self.end = 0;
            if self
                .deadline
                .is_some_and(|deadline| Instant::now() >= deadline)
            {
                return Err(ReadError::TimedOut);
            }
            match self.fill() {
                Ok(()) => {}
                // What was read so far is lost with the rest: the caller gives up too.
                Err(e) => return Err(e),
            }
        }
    }
    // ANCHOR_END: read_octets

    // ANCHOR: has_buffered_input
    /// True when bytes already received are waiting (PIPELINING: the connection
    /// flushes replies only when this is false).
    pub fn has_buffered_input(&self) -> bool {
        self.start < self.end
    }
    // ANCHOR_END: has_buffered_input

    /// The underlying reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The underlying reader, mutably (e.g. to change a socket's timeout).
    /// Reading from it directly would skip bytes already buffered here.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    // ANCHOR: fill
    /// One read from `inner` into the free tail of the buffer. A read that fills
    /// the whole tail means the client sends faster than the buffer holds: it
    /// grows for the next read.
    fn fill(&mut self) -> Result<(), ReadError> {
        loop {
            let room = self.buf.len() - self.end;
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    // A partial line never got its LF, so it is no line at all.
                    self.start = 0;
                    self.scanned = 0;
                    self.end = 0;
                    self.skipping = false;
                    return Err(ReadError::Closed);
                }
                Ok(n) => {
                    self.end += n;
                    if n == room {
                        self.grow();
                    }
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(ReadError::TimedOut)
                }
                Err(e) => return Err(ReadError::Io(e)),
            }
        }
    }
    // ANCHOR_END: fill

    /// Doubles the buffer, up to the capacity.
    fn grow(&mut self) {
        let size = (self.buf.len() * 2).min(self.capacity);
        self.buf.resize(size, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::transport::Trickle;

    /// The text line limit of RFC 5321 §4.5.3.1.6.
    const TEXT_LINE: usize = 1000;

    /// What one read of a [`Script`] does.
    enum Step<'a> {
        Data(&'a [u8]),
        WouldBlock,
        Interrupted,
        Reset,
    }

    /// A reader that plays its steps in order, then reports EOF; counts its reads.
    struct Script<'a> {
        steps: &'a [Step<'a>],
        reads: usize,
    }

    impl<'a> Script<'a> {
        fn new(steps: &'a [Step<'a>]) -> Self {
            Script { steps, reads: 0 }
        }
    }

    impl Read for Script<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.reads += 1;
            let Some((step, rest)) = self.steps.split_first() else {
                return Ok(0);
            };
            self.steps = rest;
            match step {
                Step::Data(data) => {
                    buf[..data.len()].copy_from_slice(data);
                    Ok(data.len())
                }
                Step::WouldBlock => Err(io::ErrorKind::WouldBlock.into()),
                Step::Interrupted => Err(io::ErrorKind::Interrupted.into()),
                Step::Reset => Err(io::ErrorKind::ConnectionReset.into()),
            }
        }
    }

    /// Every line until EOF, escaped, or the error's name.
    fn transcript<R: Read>(mut reader: LineReader<R>, max_len: usize) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            match reader.read_line(max_len) {
                Ok(line) => lines.push(line.raw().escape_ascii().to_string()),
                Err(ReadError::Closed) => return lines,
                Err(e) => lines.push(format!("{e:?}")),
            }
        }
    }

    fn line(reader: &mut LineReader<impl Read>, max_len: usize) -> Vec<u8> {
        match reader.read_line(max_len) {
            Ok(line) => line.raw().to_vec(),
            Err(e) => panic!("expected a line, got {e:?}"),
        }
    }

    #[test]
    fn line_classification() {
        // (raw, text, ending, has_bare_cr)
        let table: &[(&[u8], &[u8], Ending, bool)] = &[
            (b"HELO a\r\n", b"HELO a", Ending::CrLf, false),
            (b"HELO a\n", b"HELO a", Ending::BareLf, false),
            (b"\r\n", b"", Ending::CrLf, false),
            (b"\n", b"", Ending::BareLf, false),
            (b"a\rb\r\n", b"a\rb", Ending::CrLf, true),
            (b"a\rb\n", b"a\rb", Ending::BareLf, true),
            (b".\r\r\n", b".\r", Ending::CrLf, true),
            (b"\r\r\n", b"\r", Ending::CrLf, true),
        ];
        for &(raw, text, ending, bare_cr) in table {
            let line = Line::new(raw);
            let name = raw.escape_ascii();
            assert_eq!(line.raw(), raw, "{name}");
            assert_eq!(line.text(), text, "{name}");
            assert_eq!(line.ending(), ending, "{name}");
            assert_eq!(line.has_bare_cr(), bare_cr, "{name}");
            let clean = ending == Ending::CrLf && !bare_cr;
            assert_eq!(line.is_crlf_clean(), clean, "{name}");
        }
    }

    #[test]
    fn only_lf_ends_a_line() {
        let input = b"a\rb\r\nc\nd\r\r\n";
        let lines = transcript(LineReader::new(&input[..]), TEXT_LINE);
        assert_eq!(lines, [r"a\rb\r\n", r"c\n", r"d\r\r\n"]);
    }

    #[test]
    fn pipelined_lines_come_from_one_read() {
        let steps = [Step::Data(b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n")];
        let mut reader = LineReader::new(Script::new(&steps));
        assert!(!reader.has_buffered_input());
        assert_eq!(line(&mut reader, 512), b"MAIL FROM:<a@b>\r\n");
        assert!(reader.has_buffered_input());
        assert_eq!(line(&mut reader, 512), b"RCPT TO:<c@d>\r\n");
        assert!(reader.has_buffered_input());
        assert_eq!(line(&mut reader, 512), b"DATA\r\n");
        assert!(!reader.has_buffered_input());
        assert_eq!(reader.get_ref().reads, 1);
    }

    #[test]
    fn one_byte_per_read_gives_identical_lines() {
        let input = b"EHLO a\r\nbare\nx\ry\r\n0123456789abcdef\r\n\r\n.\r\nQUIT\r\ntail";
        let expected = [
            r"EHLO a\r\n",
            r"bare\n",
            r"x\ry\r\n",
            "TooLong",
            r"\r\n",
            r".\r\n",
            r"QUIT\r\n",
        ];
        // Small capacities force compaction and skipping across reads.
        for capacity in [12, 16, 17, DEFAULT_CAPACITY] {
            let whole = LineReader::with_capacity(&input[..], capacity);
            assert_eq!(transcript(whole, 12), expected, "capacity {capacity}");
            let trickled = LineReader::with_capacity(Trickle(input), capacity);
            assert_eq!(transcript(trickled, 12), expected, "capacity {capacity}");
        }
    }

    #[test]
    fn exactly_max_len_is_accepted_one_more_is_too_long() {
        let fits = [vec![b'a'; TEXT_LINE - 2], b"\r\n".to_vec()].concat();
        let over = [vec![b'b'; TEXT_LINE - 1], b"\r\n".to_vec()].concat();
        let input = [&fits[..], &over[..], b"QUIT\r\n"].concat();
        let mut reader = LineReader::new(&input[..]);
        assert_eq!(line(&mut reader, TEXT_LINE), fits);
        assert!(matches!(
            reader.read_line(TEXT_LINE),
            Err(ReadError::TooLong)
        ));
        assert_eq!(line(&mut reader, TEXT_LINE), b"QUIT\r\n");
    }

    #[test]
    fn max_len_is_clamped_to_capacity() {
        let input = b"1234567\n12345678\nok\n";
        let lines = transcript(LineReader::with_capacity(&input[..], 8), TEXT_LINE);
        assert_eq!(lines, [r"1234567\n", "TooLong", r"ok\n"]);
    }

    #[test]
    fn an_idle_session_keeps_the_initial_buffer() {
        let mut reader = LineReader::new(&b"EHLO client.example\r\nNOOP\r\n"[..]);
        assert_eq!(line(&mut reader, 512), b"EHLO client.example\r\n");
        assert_eq!(line(&mut reader, 512), b"NOOP\r\n");
        assert_eq!(reader.buf.len(), INITIAL_CAPACITY);
    }

    #[test]
    fn a_line_longer_than_the_buffer_grows_it_by_doubling() {
        let long = [b"x".repeat(5000), b"\r\n".to_vec()].concat();
        // Trickle hands out a few bytes per read, so only the line's length grows it.
        let mut reader = LineReader::new(Trickle(&long));
        assert_eq!(line(&mut reader, 8000), &long[..]);
        assert_eq!(reader.buf.len(), 8 * 1024);
    }

    #[test]
    fn a_burst_that_fills_the_buffer_grows_it_for_the_next_read() {
        let burst = b"NOOP\r\n".repeat(600); // 3,600 octets at once
        let mut reader = LineReader::new(&burst[..]);
        assert_eq!(line(&mut reader, 512), b"NOOP\r\n");
        assert_eq!(reader.buf.len(), 2 * INITIAL_CAPACITY);
        for _ in 1..600 {
            assert_eq!(line(&mut reader, 512), b"NOOP\r\n");
        }
        assert!(reader.buf.len() <= DEFAULT_CAPACITY);
    }

    #[test]
    fn a_megabyte_without_lf_grows_the_buffer_only_to_its_capacity() {
        let flood = io::repeat(b'x').take(1 << 20);
        let mut reader = LineReader::new(flood);
        assert!(matches!(
            reader.read_line(TEXT_LINE),
            Err(ReadError::Closed)
        ));
        assert_eq!(reader.buf.len(), DEFAULT_CAPACITY);

        let flood = io::repeat(b'x').take(1 << 20).chain(&b"\r\nQUIT\r\n"[..]);
        let mut reader = LineReader::new(flood);
        assert!(matches!(
            reader.read_line(TEXT_LINE),
            Err(ReadError::TooLong)
        ));
        assert_eq!(line(&mut reader, TEXT_LINE), b"QUIT\r\n");
        assert_eq!(reader.buf.len(), DEFAULT_CAPACITY);
    }

    #[test]
    fn eof_mid_line_is_closed() {
        let mut reader = LineReader::new(&b"NOOP\r\nQUI"[..]);
        assert_eq!(line(&mut reader, 512), b"NOOP\r\n");
        assert!(matches!(reader.read_line(512), Err(ReadError::Closed)));
        assert!(matches!(reader.read_line(512), Err(ReadError::Closed)));
    }

    #[test]
    fn timeout_keeps_the_partial_line() {
        let steps = [
            Step::Data(b"HEL"),
            Step::WouldBlock,
            Step::Interrupted,
            Step::Data(b"O a\r\n"),
        ];
        let mut reader = LineReader::new(Script::new(&steps));
        assert!(matches!(reader.read_line(512), Err(ReadError::TimedOut)));
        assert!(reader.has_buffered_input());
        assert_eq!(line(&mut reader, 512), b"HELO a\r\n");
    }

    #[test]
    fn timeout_while_skipping_a_long_line() {
        let steps = [
            Step::Data(b"xxxxxxxx"),
            Step::WouldBlock,
            Step::Data(b"xx\r\nQUIT\r\n"),
        ];
        let lines = transcript(LineReader::new(Script::new(&steps)), 6);
        assert_eq!(lines, ["TimedOut", "TooLong", r"QUIT\r\n"]);
    }

    #[test]
    fn a_trickle_is_cut_off_at_the_deadline_but_whole_lines_still_come() {
        use std::time::Duration;
        // Pipelined lines already in the buffer are returned; the partial one is not.
        let mut reader = LineReader::new(&b"NOOP\r\nNOOP\r\nNO"[..]);
        assert_eq!(line(&mut reader, 512), b"NOOP\r\n");
        reader.set_deadline(Some(Instant::now()));
        assert_eq!(line(&mut reader, 512), b"NOOP\r\n");
        assert!(matches!(reader.read_line(512), Err(ReadError::TimedOut)));
        // One byte every 10 ms, each read well within any read timeout: 19 bytes take
        // 190 ms, and the 30 ms deadline ends the line first.
        struct Slow<'a>(Trickle<'a>);
        impl Read for Slow<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                std::thread::sleep(Duration::from_millis(10));
                self.0.read(buf)
            }
        }
        let mut reader = LineReader::new(Slow(Trickle(b"HELO slow.example\r\n")));
        reader.set_deadline(Some(Instant::now() + Duration::from_millis(30)));
        assert!(matches!(reader.read_line(512), Err(ReadError::TimedOut)));
        // Without a deadline the same client is merely slow.
        reader.set_deadline(None);
        assert_eq!(line(&mut reader, 512), b"HELO slow.example\r\n");
    }

    #[test]
    fn counted_octets_take_the_buffer_first_and_lines_go_on_after_them() {
        // An IMAP literal: a line announcing 7 octets, the octets (a CR LF and a bare
        // LF among them), and the rest of the command.
        let input = b"A1 APPEND x {7}\r\nab\r\nc\nd)\r\nA2 NOOP\r\n";
        for capacity in [4, 16, DEFAULT_CAPACITY] {
            for trickle in [false, true] {
                let mut reader: LineReader<Box<dyn Read>> = if trickle {
                    LineReader::with_capacity(Box::new(Trickle(input)), capacity.max(20))
                } else {
                    LineReader::with_capacity(Box::new(&input[..]), capacity.max(20))
                };
                assert_eq!(line(&mut reader, 512), b"A1 APPEND x {7}\r\n");
                assert_eq!(reader.read_octets(7).unwrap(), b"ab\r\nc\nd");
                assert_eq!(line(&mut reader, 512), b")\r\n");
                assert_eq!(line(&mut reader, 512), b"A2 NOOP\r\n");
            }
        }
        // More octets than the buffer holds.
        let big = [b"x".repeat(100), b"\r\nNOOP\r\n".to_vec()].concat();
        let mut reader = LineReader::with_capacity(&big[..], 16);
        assert_eq!(reader.read_octets(100).unwrap(), b"x".repeat(100));
        assert_eq!(line(&mut reader, 16), b"\r\n");
        assert_eq!(line(&mut reader, 16), b"NOOP\r\n");
        // Zero octets read nothing; too few before EOF is Closed.
        let mut reader = LineReader::new(&b"ab"[..]);
        assert_eq!(reader.read_octets(0).unwrap(), b"");
        assert!(matches!(reader.read_octets(3), Err(ReadError::Closed)));
    }

    #[test]
    fn counted_octets_within_the_deadline_arrive_over_several_reads() {
        use std::time::Duration;
        let mut reader = LineReader::new(Trickle(b"0123456789"));
        reader.set_deadline(Some(Instant::now() + Duration::from_secs(60)));
        assert_eq!(reader.read_octets(10).unwrap(), b"0123456789");
    }

    #[test]
    fn a_read_that_fills_the_rest_of_the_buffer_grows_it() {
        // A partial line first, so the free tail is shorter than the buffer; then a
        // read that fills exactly that tail.
        let rest = [b"\r\n".to_vec(), b"x".repeat(INITIAL_CAPACITY - 6)].concat();
        let steps = [Step::Data(b"NOOP"), Step::Data(&rest)];
        let mut reader = LineReader::new(Script::new(&steps));
        assert_eq!(line(&mut reader, 512), b"NOOP\r\n");
        assert_eq!(reader.buf.len(), 2 * INITIAL_CAPACITY);
    }

    #[test]
    fn other_errors_pass_through() {
        let steps = [Step::Reset];
        let mut reader = LineReader::new(Script::new(&steps));
        let err = reader.read_line(512).err();
        assert!(
            matches!(err, Some(ReadError::Io(e)) if e.kind() == io::ErrorKind::ConnectionReset)
        );
    }

    /// What the log says when a connection ends on an error: a short sentence, and for
    /// an I/O error the operating system's own words, kept as its cause.
    #[test]
    fn errors_read_as_sentences_and_keep_their_cause() {
        use std::error::Error;
        let reset = || io::Error::new(io::ErrorKind::ConnectionReset, "reset by peer");
        assert_eq!(ReadError::TooLong.to_string(), "line too long");
        assert_eq!(ReadError::Closed.to_string(), "connection closed");
        assert_eq!(
            ReadError::TimedOut.to_string(),
            "timed out waiting for input"
        );
        assert_eq!(
            ReadError::Io(reset()).to_string(),
            "read failed: reset by peer"
        );
        let cause = ReadError::Io(reset()).source().map(|e| e.to_string());
        assert_eq!(cause.as_deref(), Some("reset by peer"));
        for plain in [ReadError::TooLong, ReadError::Closed, ReadError::TimedOut] {
            assert!(plain.source().is_none(), "{plain}");
        }
    }
}
