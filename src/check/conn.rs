//! One connection to the server under test, keeping every octet it sent and received
//! so that a failed check can show them.
//!
//! The server is untrusted: a reply may never come, may never end, may not be a reply
//! at all. Every read has a deadline, a line is at most [`MAX_LINE`] octets, and every
//! problem is a [`ConnError`] for the check to report, never a panic.

use std::cell::RefCell;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::reply::{is_last_line, parse_code, Reply};

/// Longer than any reply line a server may send (512, RFC 5321 §4.5.3.1.5), with room
/// for servers that break that rule in small ways.
pub const MAX_LINE: usize = 64 * 1024;

/// More lines than any real reply has (an EHLO reply lists a dozen extensions).
pub const MAX_REPLY_LINES: usize = 1000;

/// More replies than any check waits for when it counts them.
pub const MAX_REPLIES: usize = 100;

/// The most octets kept per transcript entry; the rest is counted, not stored.
const MAX_KEPT: usize = 16 * 1024;

/// Which way some octets went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The grader (the client) sent them: `C:`.
    Sent,
    /// The server sent them: `S:`.
    Received,
    /// The server closed the connection (no octets).
    Closed,
}

/// Octets that went one way on one connection, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// Which connection of the check (1 for the first).
    pub conn: usize,
    pub direction: Direction,
    pub bytes: Vec<u8>,
    /// Octets not kept because the entry was already `MAX_KEPT` long.
    pub omitted: usize,
}

/// Everything the connections of one check sent and received.
pub type Transcript = Rc<RefCell<Vec<Exchange>>>;

/// What went wrong talking to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnError {
    Connect(String),
    /// The server closed the connection while we waited for a reply.
    Closed,
    Timeout(Duration),
    /// A line that cannot start a reply (no three-digit code).
    NotAReply(Vec<u8>),
    TooLong,
    /// A multiline reply that does not end.
    Endless,
    Io(String),
}

impl std::fmt::Display for ConnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnError::Connect(e) => write!(f, "cannot connect: {e}"),
            ConnError::Closed => write!(f, "the server closed the connection before replying"),
            ConnError::Timeout(d) => write!(f, "no reply within {} s", d.as_secs_f32()),
            ConnError::NotAReply(line) => {
                write!(
                    f,
                    "the server sent a line that is not a reply: {}",
                    escape(line)
                )
            }
            ConnError::TooLong => write!(f, "a reply line longer than {MAX_LINE} octets"),
            ConnError::Endless => write!(f, "a reply of more than {MAX_REPLY_LINES} lines"),
            ConnError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// A connection to the server under test.
pub struct Conn {
    stream: TcpStream,
    /// Received, not yet read as lines.
    buffer: Vec<u8>,
    transcript: Transcript,
    id: usize,
    timeout: Duration,
    closed: bool,
}

impl Conn {
    /// Connects; reads nothing yet (the check decides when to read the greeting).
    pub fn open(
        addr: SocketAddr,
        timeout: Duration,
        transcript: Transcript,
        id: usize,
    ) -> Result<Conn, ConnError> {
        let stream = TcpStream::connect_timeout(&addr, timeout)
            .map_err(|e| ConnError::Connect(format!("{addr}: {e}")))?;
        let _ = stream.set_nodelay(true);
        let _ = stream.set_write_timeout(Some(timeout));
        Ok(Conn {
            stream,
            buffer: Vec::new(),
            transcript,
            id,
            timeout,
            closed: false,
        })
    }

    fn record(&self, direction: Direction, bytes: &[u8]) {
        let mut transcript = self.transcript.borrow_mut();
        if let Some(last) = transcript.last_mut() {
            if last.conn == self.id && last.direction == direction && direction != Direction::Closed
            {
                let room = MAX_KEPT.saturating_sub(last.bytes.len()).min(bytes.len());
                last.bytes.extend_from_slice(&bytes[..room]);
                last.omitted += bytes.len() - room;
                return;
            }
        }
        let kept = bytes.len().min(MAX_KEPT);
        transcript.push(Exchange {
            conn: self.id,
            direction,
            bytes: bytes[..kept].to_vec(),
            omitted: bytes.len() - kept,
        });
    }

    /// Sends exactly these octets, in one write.
    pub fn send(&mut self, bytes: &[u8]) -> Result<(), ConnError> {
        self.record(Direction::Sent, bytes);
        self.stream
            .write_all(bytes)
            .map_err(|e| ConnError::Io(format!("cannot send: {e}")))
    }

    /// Sends one command line with CRLF and reads its reply.
    pub fn cmd(&mut self, line: &str) -> Result<Reply, ConnError> {
        self.send(format!("{line}\r\n").as_bytes())?;
        self.reply()
    }

    /// Reads one whole reply, waiting at most the reply timeout.
    pub fn reply(&mut self) -> Result<Reply, ConnError> {
        self.reply_within(self.timeout)
    }

    /// Reads one whole reply (all its lines), waiting at most `limit` in all.
    pub fn reply_within(&mut self, limit: Duration) -> Result<Reply, ConnError> {
        let deadline = Instant::now() + limit;
        let mut lines = Vec::new();
        loop {
            let line = match self.line(deadline) {
                Ok(line) => line,
                Err(ConnError::Timeout(_)) => return Err(ConnError::Timeout(limit)),
                Err(e) => return Err(e),
            };
            let Some(code) = parse_code(&line) else {
                return Err(ConnError::NotAReply(line));
            };
            let last = is_last_line(&line);
            lines.push(line);
            if lines.len() > MAX_REPLY_LINES {
                return Err(ConnError::Endless);
            }
            if last {
                return Ok(Reply { code, lines });
            }
        }
    }

    /// Reads replies until the server has been silent for `quiet` (or closed the
    /// connection): how a check counts replies that should never have been sent.
    pub fn replies_until_quiet(&mut self, quiet: Duration) -> Result<Vec<Reply>, ConnError> {
        let mut replies = Vec::new();
        // A server that never stops answering is bounded too.
        while replies.len() < MAX_REPLIES {
            match self.reply_within(quiet) {
                Ok(reply) => replies.push(reply),
                Err(ConnError::Timeout(_)) | Err(ConnError::Closed) => return Ok(replies),
                Err(e) => return Err(e),
            }
        }
        Ok(replies)
    }

    /// Did the server close the connection within `limit`? Anything it sends first is
    /// recorded and ignored.
    pub fn closes_within(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        self.buffer.clear();
        loop {
            match self.fill(deadline) {
                Ok(()) => self.buffer.clear(),
                Err(ConnError::Closed) => return true,
                Err(ConnError::Io(_)) => return true,
                Err(_) => return false,
            }
        }
    }

    /// Closes both directions at once, as a client that vanishes does.
    pub fn vanish(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    /// One line up to and including its LF (or the octets up to a close).
    fn line(&mut self, deadline: Instant) -> Result<Vec<u8>, ConnError> {
        loop {
            if let Some(end) = self.buffer.iter().position(|&b| b == b'\n') {
                return Ok(self.buffer.drain(..=end).collect());
            }
            if self.buffer.len() > MAX_LINE {
                return Err(ConnError::TooLong);
            }
            match self.fill(deadline) {
                Ok(()) => {}
                // A last line without LF before the close still counts as a line.
                Err(ConnError::Closed) if !self.buffer.is_empty() => {
                    return Ok(std::mem::take(&mut self.buffer))
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One read into the buffer, before `deadline`.
    fn fill(&mut self, deadline: Instant) -> Result<(), ConnError> {
        if self.closed {
            return Err(ConnError::Closed);
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(ConnError::Timeout(Duration::ZERO));
        }
        // A zero timeout means "block forever" to the socket: never pass one.
        let wait = (deadline - now).max(Duration::from_millis(1));
        let _ = self.stream.set_read_timeout(Some(wait));
        let mut chunk = [0u8; 8192];
        match self.stream.read(&mut chunk) {
            Ok(0) => {
                self.closed = true;
                self.record(Direction::Closed, b"");
                Err(ConnError::Closed)
            }
            Ok(n) => {
                self.record(Direction::Received, &chunk[..n]);
                self.buffer.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                Err(ConnError::Timeout(Duration::ZERO))
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => Ok(()),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::ConnectionReset
                        | ErrorKind::ConnectionAborted
                        | ErrorKind::BrokenPipe
                ) =>
            {
                self.closed = true;
                self.record(Direction::Closed, b"");
                Err(ConnError::Closed)
            }
            Err(e) => Err(ConnError::Io(format!("cannot read: {e}"))),
        }
    }
}

// ANCHOR: escape
/// Octets as readable text that loses nothing: printable ASCII as itself, CR, LF and
/// TAB as `\r`, `\n`, `\t`, a backslash doubled, anything else as `\xNN`.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}
// ANCHOR_END: escape

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_keeps_every_octet_visible() {
        assert_eq!(escape(b"250 OK\r\n"), "250 OK\\r\\n");
        assert_eq!(escape(b"a\\b\x00\xff\t"), "a\\\\b\\x00\\xff\\t");
    }
}
