//! HTTP/1.1, the server side (RFC 9110 semantics, RFC 9112 message syntax): enough of
//! it to serve postie's web pages and its JSON API, on the same listeners, threads,
//! connection cap and shutdown as SMTP and POP3 ([`crate::wire`]).
//!
//! HTTP is not a line-per-command protocol, so it has its own loop instead of
//! [`crate::wire::Conversation`]: a request is a head (a request line and header
//! lines, RFC 9112 §2.1) and perhaps a body, and the answer is one response.
//!
//! | what | module |
//! |---|---|
//! | a request: method, target, headers, body; the query string | [`request`] |
//! | reading one off the wire: limits, deadlines, what each refusal is | [`reader`] |
//! | a response: status, headers, body or a stream | [`response`] |
//! | the listener's service: keep-alive, one request after another | [`service`] |
//!
//! The head is parsed by `httparse`, a parser that many servers share and fuzz; this
//! folder owns the limits around it: 16 KiB for a head (431), a body limit (413),
//! 30 seconds for a whole head however slowly it trickles (408, then close).
//!
//! Left out: chunked request bodies (501: RFC 9112 §6.1 allows a server to refuse a
//! transfer coding it does not implement), `Expect: 100-continue` (we read the body
//! anyway), HTTP/2, ranges, compression, caching validators.

pub mod reader;
pub mod request;
pub mod response;
pub mod service;

pub use reader::{ReadRequest, RequestReader};
pub use request::Request;
pub use response::{Body, Response, Status};
pub use service::{Handler, HttpService};
