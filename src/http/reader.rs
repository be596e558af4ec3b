//! Reading one request off the wire (RFC 9112 §2.2, §6): the head until its empty
//! line, parsed by `httparse`; then the body by `Content-Length`.
//!
//! The limits, each with the status it earns (RFC 9110 §15):
//! - a head larger than [`HttpLimits::max_head`]: **431** (RFC 6585 §5);
//! - a head not complete within [`HttpLimits::head_timeout`], however its bytes
//!   trickle in: **408** and the connection is closed (RFC 9110 §15.5.9); a client
//!   that sent nothing at all by then is closed without a word;
//! - a body larger than [`HttpLimits::max_body`]: **413** (RFC 9110 §15.5.14);
//! - a malformed head, two different `Content-Length`s, or `Content-Length` beside
//!   `Transfer-Encoding` (a smuggling vector, RFC 9112 §6.3): **400**;
//! - `Transfer-Encoding` (chunked): **501** (RFC 9112 §6.1 lets a server refuse a
//!   coding it does not implement); an absolute or authority target: **400**.
//!
//! After any refusal the connection is closed: we no longer know where the next
//! request would begin (RFC 9112 §9.6).
//!
//! The deadline is kept precisely: before each read the socket's read timeout is set
//! to the time that is left, so a client that sends a byte a second still loses its
//! connection at 30 seconds, not at 30 seconds plus one read timeout.

use std::io::{self, Read};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::request::Request;
use super::response::Status;
use crate::config::HttpLimits;

/// Most header fields in one request (httparse needs the number up front).
const MAX_HEADERS: usize = 100;

/// What reading a request gave.
#[derive(Debug)]
pub enum ReadRequest {
    Request(Request),
    /// The client closed, or was silent past the deadline without starting a request:
    /// close without a response.
    Gone,
    /// The request is refused with this status and sentence; then close.
    Refused(Status, &'static str),
}

/// Why there is no request: [`ReadRequest`] without the request itself.
#[derive(Debug)]
enum Stop {
    Gone,
    Refused(Status, &'static str),
}

impl From<Stop> for ReadRequest {
    fn from(stop: Stop) -> ReadRequest {
        match stop {
            Stop::Gone => ReadRequest::Gone,
            Stop::Refused(status, sentence) => ReadRequest::Refused(status, sentence),
        }
    }
}

/// Reads requests one after another from one connection, keeping bytes that arrive
/// early (a pipelined next request) for the next call.
pub struct RequestReader<R> {
    inner: R,
    /// The socket under `inner`, to set each read's timeout; `None` in tests.
    socket: Option<TcpStream>,
    buf: Vec<u8>,
    limits: HttpLimits,
}

impl<R: Read> RequestReader<R> {
    pub fn new(inner: R, socket: Option<TcpStream>, limits: HttpLimits) -> Self {
        RequestReader {
            inner,
            socket,
            buf: Vec::with_capacity(4096),
            limits,
        }
    }

    /// The stream, to write the response on.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    // ANCHOR: read_request
    /// The next request, whole, or why there is none.
    pub fn read_request(&mut self) -> ReadRequest {
        let deadline = Instant::now() + self.limits.head_timeout;
        // The head: read until httparse sees its end, or a limit is hit.
        let (head_len, request) = loop {
            match parse_head(&self.buf) {
                Ok(Some(parsed)) => break parsed,
                Ok(None) if self.buf.len() > self.limits.max_head => {
                    return ReadRequest::Refused(
                        Status::HEADERS_TOO_LARGE,
                        "The request's header section is larger than 16 KiB.",
                    )
                }
                Ok(None) => {}
                Err(stop) => return stop.into(),
            }
            match self.fill(deadline, self.limits.max_head + 1) {
                Ok(0) => return ReadRequest::Gone,
                Ok(_) => {}
                Err(_) if self.buf.iter().all(|b| b.is_ascii_whitespace()) => {
                    return ReadRequest::Gone
                }
                Err(e) if is_timeout(&e) => {
                    return ReadRequest::Refused(
                        Status::REQUEST_TIMEOUT,
                        "The request's header section did not arrive in time.",
                    )
                }
                Err(_) => return ReadRequest::Gone,
            }
        };
        if head_len > self.limits.max_head {
            return ReadRequest::Refused(
                Status::HEADERS_TOO_LARGE,
                "The request's header section is larger than 16 KiB.",
            );
        }
        self.buf.drain(..head_len);
        match self.read_body(request) {
            Ok(request) => ReadRequest::Request(request),
            Err(stop) => stop.into(),
        }
    }
    // ANCHOR_END: read_request

    /// The body, by `Content-Length` (RFC 9112 §6.2, §6.3).
    fn read_body(&mut self, mut request: Request) -> Result<Request, Stop> {
        if request.header("transfer-encoding").is_some() {
            if request.header("content-length").is_some() {
                return Err(Stop::Refused(
                    Status::BAD_REQUEST,
                    "A request may not have both Transfer-Encoding and Content-Length.",
                ));
            }
            return Err(Stop::Refused(
                Status::NOT_IMPLEMENTED,
                "Transfer-Encoding is not supported here; send a Content-Length.",
            ));
        }
        let lengths: Vec<&str> = request
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .collect();
        let length = match lengths.split_first() {
            None => 0,
            Some((first, rest)) => {
                if rest.iter().any(|other| other != first) {
                    return Err(Stop::Refused(
                        Status::BAD_REQUEST,
                        "The request has two different Content-Length values.",
                    ));
                }
                match first.parse::<u64>() {
                    Ok(n) if first.bytes().all(|b| b.is_ascii_digit()) => n,
                    _ => {
                        return Err(Stop::Refused(
                            Status::BAD_REQUEST,
                            "The Content-Length is not a number.",
                        ))
                    }
                }
            }
        };
        if length > self.limits.max_body as u64 {
            return Err(Stop::Refused(
                Status::CONTENT_TOO_LARGE,
                "The request's body is larger than this server accepts.",
            ));
        }
        let length = length as usize;
        let deadline = Instant::now() + self.limits.body_timeout;
        while self.buf.len() < length {
            match self.fill(deadline, length) {
                Ok(0) => return Err(Stop::Gone),
                Ok(_) => {}
                Err(e) if is_timeout(&e) => {
                    return Err(Stop::Refused(
                        Status::REQUEST_TIMEOUT,
                        "The request's body did not arrive in time.",
                    ))
                }
                Err(_) => return Err(Stop::Gone),
            }
        }
        request.body = self.buf.drain(..length).collect();
        Ok(request)
    }

    /// One read, ending by `deadline`, of at most what `want` still needs (plus a
    /// little, for a pipelined request).
    fn fill(&mut self, deadline: Instant, want: usize) -> io::Result<usize> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        if let Some(socket) = &self.socket {
            socket.set_read_timeout(Some(left.max(Duration::from_millis(1))))?;
        }
        let room = want.saturating_sub(self.buf.len()).clamp(1, 64 * 1024);
        let start = self.buf.len();
        self.buf.resize(start + room.max(4096), 0);
        let result = loop {
            match self.inner.read(&mut self.buf[start..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        let got = *result.as_ref().unwrap_or(&0);
        self.buf.truncate(start + got);
        result
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

// ANCHOR: parse_head
/// The head, if `buf` holds all of it: its length and the request (body still
/// empty). httparse does the syntax of RFC 9112 §3 and §5; we add what it leaves to
/// its caller.
fn parse_head(buf: &[u8]) -> Result<Option<(usize, Request)>, Stop> {
    let bad = |sentence| Err(Stop::Refused(Status::BAD_REQUEST, sentence));
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the
    // request line; httparse skips them (and refuses a bare CR).
    let len = match parsed.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(Stop::Refused(
                Status::HEADERS_TOO_LARGE,
                "The request has more than 100 header fields.",
            ))
        }
        Err(httparse::Error::Version) => {
            return Err(Stop::Refused(
                Status::VERSION_NOT_SUPPORTED,
                "Only HTTP/1.0 and HTTP/1.1 are spoken here.",
            ))
        }
        Err(_) => return bad("The request's head is malformed (RFC 9112 §3, §5)."),
    };
    let (Some(method), Some(target), Some(version)) = (parsed.method, parsed.path, parsed.version)
    else {
        return bad("The request line is incomplete.");
    };
    // RFC 9112 §3.2.1: a server is asked for its own resources in origin form.
    if !target.starts_with('/') {
        return bad("The request target must be a path beginning with /.");
    }
    let mut fields = Vec::with_capacity(parsed.headers.len());
    for header in parsed.headers.iter() {
        fields.push((
            header.name.to_string(),
            String::from_utf8_lossy(header.value).into_owned(),
        ));
    }
    // RFC 9112 §3.2: a request without Host (HTTP/1.1) is a 400.
    if version == 1 && !fields.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        return bad("An HTTP/1.1 request needs a Host header field (RFC 9112 §3.2).");
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    Ok(Some((
        len,
        Request {
            method: method.to_string(),
            path: path.to_string(),
            query: query.to_string(),
            minor_version: version,
            headers: fields,
            body: Vec::new(),
        },
    )))
}
// ANCHOR_END: parse_head

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::transport::Trickle;

    fn read_all(input: &[u8]) -> Vec<ReadRequest> {
        let mut reader = RequestReader::new(Trickle(input), None, HttpLimits::default());
        let mut out = Vec::new();
        loop {
            match reader.read_request() {
                ReadRequest::Request(r) => out.push(ReadRequest::Request(r)),
                other => {
                    out.push(other);
                    return out;
                }
            }
        }
    }

    fn status(result: &ReadRequest) -> u16 {
        match result {
            ReadRequest::Request(_) => 0,
            ReadRequest::Gone => 1,
            ReadRequest::Refused(status, _) => status.0,
        }
    }

    #[test]
    fn pipelined_requests_one_byte_at_a_time() {
        let results = read_all(
            b"\r\nGET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\n\
              POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET /c HTTP/1.0\n\n",
        );
        let requests: Vec<&Request> = results
            .iter()
            .filter_map(|r| match r {
                ReadRequest::Request(r) => Some(r),
                _ => None,
            })
            .collect();
        assert_eq!(requests.len(), 3);
        assert_eq!(
            (requests[0].path.as_str(), requests[0].query.as_str()),
            ("/a", "x=1")
        );
        assert_eq!(requests[1].body, b"hello");
        assert_eq!(
            (requests[2].path.as_str(), requests[2].minor_version),
            ("/c", 0)
        );
        assert_eq!(status(results.last().unwrap()), 1);
    }

    #[test]
    fn every_refusal_has_its_status() {
        let cases: &[(&[u8], u16)] = &[
            (b"GET / HTTP/1.1\r\n\r\n", 400),                       // no Host
            (b"GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n", 400),     // absolute form
            (b"GET / HTTP/1.1\r\nHo st: x\r\n\r\n", 400),            // bad field name
            (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
            (b"GARBAGE\r\n\r\n", 400),
            (b"\rGET / HTTP/1.1\r\nHost: x\r\n\r\n", 400), // a bare CR (RFC 9112 §2.2)
            (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
            // RFC 9110 §8.6: digits only, though Rust's parse takes a sign.
            (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\nx", 400),
            (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 501),
            (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n", 413),
        ];
        for (input, want) in cases {
            let results = read_all(input);
            assert_eq!(
                status(&results[0]),
                *want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
        let mut big = b"GET / HTTP/1.1\r\nHost: x\r\nX: ".to_vec();
        big.resize(20_000, b'a');
        big.extend_from_slice(b"\r\n\r\n");
        assert_eq!(status(&read_all(&big)[0]), 431);
        // Nothing, or a half head and then the end: no response at all.
        assert_eq!(status(&read_all(b"")[0]), 1);
        assert_eq!(status(&read_all(b"GET / HT")[0]), 1);
    }

    fn first(inner: impl Read) -> ReadRequest {
        RequestReader::new(inner, None, HttpLimits::default()).read_request()
    }

    /// A head of exactly `len` octets, ended by its empty line or not.
    fn head_of(len: usize, ended: bool) -> Vec<u8> {
        let end: &[u8] = if ended { b"\r\n\r\n" } else { b"" };
        let mut head = b"GET / HTTP/1.1\r\nHost: x\r\nX: ".to_vec();
        head.resize(len - end.len(), b'a');
        head.extend_from_slice(end);
        head
    }

    #[test]
    fn a_head_of_16_kib_is_read_and_one_octet_more_is_431() {
        let max = HttpLimits::default().max_head;
        for (len, want) in [(max, 0), (max + 1, 431)] {
            let head = head_of(len, true);
            assert_eq!(
                status(&first(Trickle(&head))),
                want,
                "{len}, a byte at a time"
            );
            assert_eq!(status(&first(&head[..])), want, "{len}, all at once");
        }
    }

    #[test]
    fn a_head_that_never_ends_is_refused_once_past_the_limit() {
        // Not read to its end (which may never come): 431 as soon as it is too large.
        assert_eq!(status(&first(&head_of(20_000, false)[..])), 431);
        // At the limit it is not yet too large: a client that stops there and closes
        // is gone, like any other half head.
        let max = HttpLimits::default().max_head;
        assert_eq!(status(&first(&head_of(max, false)[..])), 1);
    }

    #[test]
    fn a_body_of_1_mib_is_read_and_one_octet_more_is_413() {
        let max = HttpLimits::default().max_body;
        for (len, want) in [(max, 0), (max + 1, 413)] {
            let mut request =
                format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {len}\r\n\r\n").into_bytes();
            request.resize(request.len() + len, b'a');
            assert_eq!(status(&first(&request[..])), want, "{len}");
        }
    }

    /// A read interrupted by a signal, once, before the bytes come.
    struct InterruptedOnce<'a>(bool, &'a [u8]);

    impl Read for InterruptedOnce<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if !std::mem::replace(&mut self.0, true) {
                return Err(io::ErrorKind::Interrupted.into());
            }
            self.1.read(buf)
        }
    }

    #[test]
    fn an_interrupted_read_is_tried_again() {
        let request = InterruptedOnce(false, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(status(&first(request)), 0);
    }

    /// A connection that fails with this error once the bytes before it are read.
    struct Fails(io::ErrorKind);

    impl Read for Fails {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(self.0.into())
        }
    }

    #[test]
    fn a_slow_request_is_408_and_a_broken_connection_is_gone() {
        // Half a head, and half a body: each is cut off by a timeout, or by the end
        // of the connection.
        let halves = [
            &b"GET / HTTP/1.1\r\nHo"[..],
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\nhalf",
        ];
        for half in halves {
            for timeout in [io::ErrorKind::TimedOut, io::ErrorKind::WouldBlock] {
                assert_eq!(status(&first(half.chain(Fails(timeout)))), 408);
            }
            let reset = Fails(io::ErrorKind::ConnectionReset);
            assert_eq!(status(&first(half.chain(reset))), 1);
        }
    }
}
