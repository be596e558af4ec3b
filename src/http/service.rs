//! The HTTP listener's service: one client's connection, request after request
//! (RFC 9112 §9.3, persistent connections), on the thread the shared listener gave it.
//!
//! What an application supplies is a [`Handler`]: a request in, a response out, no
//! I/O of its own except a streamed body. This loop owns the rest: TLS first on an
//! `--https-listen` listener (RFC 9110 §4.2.2), reading each request with its limits
//! ([`super::reader`]), `HEAD` (the `GET` response without its body, RFC 9110
//! §9.3.2), methods nobody here implements (501, RFC 9110 §15.6.2), keep-alive or
//! close, and the shutdown watch (a stopping server closes between requests, and a
//! stream notices within a second).
//!
//! Left out: pipelined responses are written one at a time (correct, RFC 9112 §9.3.2,
//! just not concurrent); no `100 Continue`.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;

use super::reader::{ReadRequest, RequestReader};
use super::request::Request;
use super::response::{Body, Response, Status};
use crate::config::HttpLimits;
use crate::peer::Peer;
use crate::wire::{self, Accepted, Stream, Transport, Watch};

// ANCHOR: handler
/// An application on HTTP: a request in, a response out.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, request: &Request, peer: &Peer) -> Response;
}
// ANCHOR_END: handler

/// The methods some handler here may answer; any other is 501 (RFC 9110 §9.1: a
/// server that does not recognise a method answers 501).
const KNOWN_METHODS: [&str; 5] = ["GET", "HEAD", "POST", "PUT", "DELETE"];

/// One HTTP listener's service.
pub struct HttpService {
    handler: Arc<dyn Handler>,
    limits: HttpLimits,
    /// `Some` on an `--https-listen` listener: TLS from the first byte.
    tls: Option<Arc<ServerConfig>>,
}

impl HttpService {
    pub fn new(
        handler: Arc<dyn Handler>,
        limits: HttpLimits,
        tls: Option<Arc<ServerConfig>>,
    ) -> HttpService {
        HttpService {
            handler,
            limits,
            tls,
        }
    }
}

impl wire::Service for HttpService {
    fn timeout(&self) -> Duration {
        self.limits.idle_timeout
    }

    fn too_busy(&self) -> Vec<u8> {
        if self.tls.is_some() {
            return Vec::new();
        }
        let mut out = Vec::new();
        let response = Response::text(
            Status::UNAVAILABLE,
            "Too many clients are connected; try again in a moment.",
        );
        write_response(&mut out, response, false, false);
        out
    }

    // ANCHOR: serve
    fn serve(&self, client: Accepted) {
        let Accepted {
            stream,
            peer,
            watch,
        } = client;
        let socket = stream.try_clone().ok();
        let mut transport = Transport::new(stream);
        // Who is asking: the client's address, and whether it came over TLS.
        let mut who = Peer::new(peer);
        if let Some(config) = &self.tls {
            match transport.start_tls(config) {
                Ok(tls) => who.security.tls = Some(tls),
                Err(e) => {
                    log::info!("{peer} TLS handshake failed (HTTPS): {e}");
                    return;
                }
            }
        }
        let mut reader = RequestReader::new(transport, socket, self.limits.clone());
        while !watch.stopping.load(std::sync::atomic::Ordering::SeqCst) {
            let request = match reader.read_request() {
                ReadRequest::Request(request) => request,
                ReadRequest::Gone => break,
                ReadRequest::Refused(status, sentence) => {
                    log::debug!("{peer} HTTP request refused: {status}");
                    let mut out = Vec::new();
                    write_response(&mut out, Response::text(status, sentence), false, false);
                    let _ = reader.get_mut().write_all(&out);
                    let _ = reader.get_mut().flush();
                    break;
                }
            };
            let keep_alive = request.keep_alive();
            let head_only = request.method == "HEAD";
            let response = if !KNOWN_METHODS.contains(&request.method.as_str()) {
                Response::text(
                    Status::NOT_IMPLEMENTED,
                    format!("The method {} is not implemented here.", request.method),
                )
            } else {
                self.handler.handle(&request, &who)
            };
            log::debug!(
                "{peer} {} {} -> {}",
                request.method,
                request.path,
                response.status
            );
            let streams = matches!(response.body, Body::Stream(_));
            if !send(reader.get_mut(), response, keep_alive, head_only, &watch) || streams {
                break;
            }
            if !keep_alive {
                break;
            }
        }
    }
    // ANCHOR_END: serve
}

/// Writes one response; false if the client is gone.
fn send(
    stream: &mut dyn Write,
    response: Response,
    keep_alive: bool,
    head_only: bool,
    watch: &Watch,
) -> bool {
    let mut out = Vec::new();
    match write_response(&mut out, response, keep_alive, head_only) {
        Some(streamer) => {
            stream.write_all(&out).is_ok()
                && stream.flush().is_ok()
                && streamer(stream, watch).is_ok()
        }
        None => stream.write_all(&out).is_ok() && stream.flush().is_ok(),
    }
}

/// Puts the head (and a byte body) in `out`; hands back a streamed body to run.
fn write_response(
    out: &mut Vec<u8>,
    response: Response,
    keep_alive: bool,
    head_only: bool,
) -> Option<super::response::Streamer> {
    response.write_head(out, keep_alive);
    match response.body {
        Body::Bytes(bytes) if !head_only => {
            out.extend_from_slice(&bytes);
            None
        }
        Body::Bytes(_) => None,
        Body::Stream(_) if head_only => None,
        Body::Stream(streamer) => Some(streamer),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Service;
    use std::io::Read;
    use std::net::{TcpListener, TcpStream};

    /// Answers every request with a body streamed without a length, ending at once.
    struct Streams;

    impl Handler for Streams {
        fn handle(&self, _: &Request, _: &Peer) -> Response {
            let streamer = |out: &mut dyn Write, _: &Watch| out.write_all(b"streamed");
            Response::stream("text/plain", Box::new(streamer))
        }
    }

    #[test]
    fn a_streamed_body_ends_the_connection() {
        // RFC 9112 §6.3: a body without a length ends where the connection does, so
        // no second request is read, even one already sent.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (stream, peer) = listener.accept().unwrap();
        let limits = HttpLimits {
            head_timeout: Duration::from_secs(1),
            ..HttpLimits::default()
        };
        let service = HttpService::new(Arc::new(Streams), limits, None);
        let two = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n";
        client.write_all(two).unwrap();
        service.serve(Accepted {
            stream,
            peer,
            watch: Watch::default(),
        });
        let mut answer = String::new();
        client.read_to_string(&mut answer).unwrap();
        assert_eq!(answer.matches("HTTP/1.1 200 OK").count(), 1, "{answer}");
        assert!(answer.ends_with("\r\n\r\nstreamed"), "{answer}");
    }

    /// A connection whose writes fail (the client is gone) and whose flush does not.
    struct Gone;

    impl Write for Gone {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_response_that_cannot_be_written_is_not_sent() {
        let watch = Watch::default();
        let page = Response::html("<p>hello</p>");
        assert!(!send(&mut Gone, page, true, false, &watch));
        assert!(send(
            &mut Vec::new(),
            Response::html("x"),
            true,
            false,
            &watch
        ));
    }

    #[test]
    fn head_is_get_without_its_body() {
        // RFC 9110 §9.3.2: the same header fields, Content-Length included; no content.
        let page = || Response::html("<p>hello</p>");
        let (mut get, mut head) = (Vec::new(), Vec::new());
        assert!(write_response(&mut get, page(), true, false).is_none());
        assert!(write_response(&mut head, page(), true, true).is_none());
        assert!(get.ends_with(b"\r\n\r\n<p>hello</p>"));
        assert_eq!(head, &get[..get.len() - b"<p>hello</p>".len()]);
        let stream = Response::stream("text/event-stream", Box::new(|_, _| Ok(())));
        assert!(write_response(&mut Vec::new(), stream, true, true).is_none());
    }
}
