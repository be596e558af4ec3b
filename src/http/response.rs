//! One HTTP response (RFC 9112 §4, §6): a status line, header fields, and a body that
//! is either bytes (with `Content-Length`) or a stream that runs until it ends
//! (Server-Sent Events; the connection closes after it, RFC 9112 §6.3 rule 8).
//!
//! Every error response carries a human sentence as `text/plain`, like SMTP's
//! replies: the status is for programs, the sentence for people.
//!
//! Left out: chunked responses (a stream ends the connection instead), `Date`
//! (RFC 9110 §6.6.1 lets a server without a reliable clock leave it out; ours has
//! one, but nothing here needs it).

use std::fmt;
use std::io::{self, Write};

use crate::wire::Watch;

// ANCHOR: status
/// A status code (RFC 9110 §15) with its reason phrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status(pub u16);

impl Status {
    pub const OK: Status = Status(200);
    pub const SEE_OTHER: Status = Status(303);
    pub const BAD_REQUEST: Status = Status(400);
    pub const UNAUTHORIZED: Status = Status(401);
    pub const FORBIDDEN: Status = Status(403);
    pub const NOT_FOUND: Status = Status(404);
    pub const METHOD_NOT_ALLOWED: Status = Status(405);
    pub const REQUEST_TIMEOUT: Status = Status(408);
    pub const CONTENT_TOO_LARGE: Status = Status(413);
    pub const HEADERS_TOO_LARGE: Status = Status(431);
    pub const INTERNAL_ERROR: Status = Status(500);
    pub const NOT_IMPLEMENTED: Status = Status(501);
    pub const UNAVAILABLE: Status = Status(503);
    pub const VERSION_NOT_SUPPORTED: Status = Status(505);

    /// The reason phrase of RFC 9110 §15 (RFC 6585 §5 for 431).
    pub fn reason(self) -> &'static str {
        match self.0 {
            200 => "OK",
            303 => "See Other",
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            408 => "Request Timeout",
            413 => "Content Too Large",
            431 => "Request Header Fields Too Large",
            500 => "Internal Server Error",
            501 => "Not Implemented",
            503 => "Service Unavailable",
            505 => "HTTP Version Not Supported",
            _ => "",
        }
    }
}
// ANCHOR_END: status

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0, self.reason())
    }
}

/// Writes a streamed body until it ends, the client leaves, or the server stops.
pub type Streamer = Box<dyn FnOnce(&mut dyn Write, &Watch) -> io::Result<()> + Send>;

/// What follows the head.
pub enum Body {
    Bytes(Vec<u8>),
    /// Written as it comes, without a length; the connection closes after it.
    Stream(Streamer),
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Bytes(b) => write!(f, "Bytes({} octets)", b.len()),
            Body::Stream(_) => f.write_str("Stream"),
        }
    }
}

/// A response, ready to be written.
#[derive(Debug)]
pub struct Response {
    pub status: Status,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl Response {
    pub fn new(status: Status, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: Body::Bytes(body.into()),
        }
    }

    /// A sentence for a person, as `text/plain`.
    pub fn text(status: Status, sentence: impl Into<String>) -> Response {
        let mut body = sentence.into();
        body.push('\n');
        Response::new(status, "text/plain; charset=utf-8", body)
    }

    pub fn html(body: impl Into<Vec<u8>>) -> Response {
        Response::new(Status::OK, "text/html; charset=utf-8", body)
    }

    pub fn json(value: &impl serde::Serialize) -> Response {
        match serde_json::to_vec(value) {
            Ok(body) => Response::new(Status::OK, "application/json", body),
            Err(e) => Response::text(Status::INTERNAL_ERROR, format!("cannot write JSON: {e}")),
        }
    }

    /// `303 See Other` to `location` (after a form's POST, RFC 9110 §15.4.4).
    pub fn redirect(location: &str) -> Response {
        Response::text(Status::SEE_OTHER, format!("See {location}")).with("Location", location)
    }

    pub fn stream(content_type: &str, streamer: Streamer) -> Response {
        Response {
            status: Status::OK,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: Body::Stream(streamer),
        }
    }

    /// Adds a header field. A CR or LF in a value would start a header of its own
    /// (response splitting): they become spaces.
    pub fn with(mut self, name: &str, value: &str) -> Response {
        let clean: String = value
            .chars()
            .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
            .collect();
        self.headers.push((name.to_string(), clean));
        self
    }

    // ANCHOR: write_head
    /// Writes the status line and header fields, `Content-Length` and `Connection`
    /// included (RFC 9112 §4, §6.2, §9.6).
    pub fn write_head(&self, out: &mut Vec<u8>, keep_alive: bool) {
        out.extend_from_slice(format!("HTTP/1.1 {}\r\n", self.status).as_bytes());
        for (name, value) in &self.headers {
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        match &self.body {
            Body::Bytes(bytes) => {
                out.extend_from_slice(format!("Content-Length: {}\r\n", bytes.len()).as_bytes())
            }
            Body::Stream(_) => out.extend_from_slice(b"Cache-Control: no-store\r\n"),
        }
        let keep_alive = keep_alive && matches!(self.body, Body::Bytes(_));
        if !keep_alive {
            out.extend_from_slice(b"Connection: close\r\n");
        }
        out.extend_from_slice(b"\r\n");
    }
    // ANCHOR_END: write_head
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_its_reason_phrase() {
        // RFC 9110 §15, and RFC 6585 §5 for 431.
        let lines = [
            (Status::OK, "200 OK"),
            (Status::SEE_OTHER, "303 See Other"),
            (Status::BAD_REQUEST, "400 Bad Request"),
            (Status::UNAUTHORIZED, "401 Unauthorized"),
            (Status::FORBIDDEN, "403 Forbidden"),
            (Status::NOT_FOUND, "404 Not Found"),
            (Status::METHOD_NOT_ALLOWED, "405 Method Not Allowed"),
            (Status::REQUEST_TIMEOUT, "408 Request Timeout"),
            (Status::CONTENT_TOO_LARGE, "413 Content Too Large"),
            (
                Status::HEADERS_TOO_LARGE,
                "431 Request Header Fields Too Large",
            ),
            (Status::INTERNAL_ERROR, "500 Internal Server Error"),
            (Status::NOT_IMPLEMENTED, "501 Not Implemented"),
            (Status::UNAVAILABLE, "503 Service Unavailable"),
            (
                Status::VERSION_NOT_SUPPORTED,
                "505 HTTP Version Not Supported",
            ),
        ];
        for (status, line) in lines {
            assert_eq!(status.to_string(), line);
        }
    }

    #[test]
    fn a_body_is_shown_by_its_size_not_its_octets() {
        // A failing test's message shows the response without a page of HTML in it.
        let page = Response::html("x".repeat(5000));
        assert!(format!("{page:?}").contains("body: Bytes(5000 octets)"));
        let stream = Body::Stream(Box::new(|_: &mut dyn Write, _: &Watch| Ok(())));
        assert_eq!(format!("{stream:?}"), "Stream");
    }

    #[test]
    fn head_and_splitting() {
        let response = Response::text(Status::NOT_FOUND, "No such message.")
            .with("X-Test", "a\r\nSet-Cookie: evil=1");
        let mut out = Vec::new();
        response.write_head(&mut out, false);
        let head = String::from_utf8(out).unwrap();
        assert!(head.starts_with("HTTP/1.1 404 Not Found\r\n"));
        assert!(head.contains("X-Test: a  Set-Cookie: evil=1\r\n"));
        assert!(head.contains("Content-Length: 17\r\n"));
        assert!(head.ends_with("Connection: close\r\n\r\n"));
    }
}
