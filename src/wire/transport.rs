//! The client's byte stream: a TCP socket that may turn into TLS in the middle of the
//! conversation (RFC 3207 STARTTLS, RFC 2595 STLS), or start as TLS (RFC 8314).
//!
//! One value owns the socket, and the conversation owns that value (inside its line
//! reader): reading, writing and the TLS handshake all go through it, so there is never
//! a second handle on the socket to keep in step.
//!
//! [`Stream`] is what the conversation asks of its stream: read, write, and turn into
//! TLS. [`Transport`] is the real one; [`Duplex`] joins any reader and writer without
//! TLS, so tests (and the book's golden transcripts) drive a conversation without a
//! socket.
//!
//! Left out: client certificates, and TLS's close_notify on our side of a close (every
//! protocol here ends with its own goodbye, so a cut-short stream is always noticed).

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use rustls::{ServerConfig, ServerConnection, StreamOwned};

use crate::tls::TlsInfo;

// ANCHOR: stream
/// What a conversation reads from and writes to.
pub trait Stream: Read + Write {
    /// Runs the TLS handshake as the server; from then on reads and writes are
    /// encrypted. Whatever was received before is the caller's to have discarded.
    fn start_tls(&mut self, config: &Arc<ServerConfig>) -> io::Result<TlsInfo>;
    /// How long one read may wait (`None`: for ever). A stream without a socket
    /// (tests) has nothing to set.
    fn set_read_timeout(&mut self, _timeout: Option<Duration>) -> io::Result<()> {
        Ok(())
    }
    /// How long one read may wait now.
    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(None)
    }
}
// ANCHOR_END: stream

// ANCHOR: transport
/// A client's socket: plain at first, TLS after [`Stream::start_tls`].
pub enum Transport {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
    /// Only after a failed handshake: the socket is gone.
    Broken,
}
// ANCHOR_END: transport

impl Transport {
    pub fn new(socket: TcpStream) -> Transport {
        Transport::Plain(socket)
    }
}

impl Stream for Transport {
    // ANCHOR: start_tls
    fn start_tls(&mut self, config: &Arc<ServerConfig>) -> io::Result<TlsInfo> {
        let Transport::Plain(socket) = std::mem::replace(self, Transport::Broken) else {
            return Err(io::Error::other("TLS is already active"));
        };
        let tls = ServerConnection::new(config.clone()).map_err(io::Error::other)?;
        let mut tls = StreamOwned::new(tls, socket);
        while tls.conn.is_handshaking() {
            tls.conn.complete_io(&mut tls.sock)?;
        }
        let info = TlsInfo {
            version: match tls.conn.protocol_version() {
                Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
                Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
                other => format!("{other:?}"),
            },
            cipher: tls
                .conn
                .negotiated_cipher_suite()
                .and_then(|s| s.suite().as_str())
                .unwrap_or("unknown")
                .to_string(),
        };
        *self = Transport::Tls(Box::new(tls));
        Ok(info)
    }
    // ANCHOR_END: start_tls

    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            Transport::Plain(socket) => socket.set_read_timeout(timeout),
            Transport::Tls(tls) => tls.sock.set_read_timeout(timeout),
            Transport::Broken => Err(broken()),
        }
    }

    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        match self {
            Transport::Plain(socket) => socket.read_timeout(),
            Transport::Tls(tls) => tls.sock.read_timeout(),
            Transport::Broken => Err(broken()),
        }
    }
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(socket) => socket.read(buf),
            // A client that closes the socket without TLS's close_notify has simply
            // gone away: every protocol here has its own goodbye (QUIT, LOGOUT) and
            // SMTP its lone dot, so no data can be cut short unnoticed.
            Transport::Tls(tls) => match tls.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
                other => other,
            },
            Transport::Broken => Err(broken()),
        }
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(socket) => socket.write(buf),
            Transport::Tls(tls) => tls.write(buf),
            Transport::Broken => Err(broken()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(socket) => socket.flush(),
            Transport::Tls(tls) => tls.flush(),
            Transport::Broken => Err(broken()),
        }
    }
}

fn broken() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "the TLS handshake failed")
}

// ANCHOR: duplex
/// Any reader and writer as one stream, without TLS: for driving a conversation in
/// tests with a client that sends one byte per read, and no socket at all.
pub struct Duplex<R, W> {
    pub input: R,
    pub output: W,
}
// ANCHOR_END: duplex

impl<R: Read, W: Write> Stream for Duplex<R, W> {
    fn start_tls(&mut self, _: &Arc<ServerConfig>) -> io::Result<TlsInfo> {
        Err(io::Error::other("this stream cannot carry TLS"))
    }
}

impl<R: Read, W> Read for Duplex<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.input.read(buf)
    }
}

impl<R, W: Write> Write for Duplex<R, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.output.flush()
    }
}

/// A client on a slow link, for tests of what reads above the socket (lines, HTTP
/// requests): one byte per read.
#[cfg(test)]
pub struct Trickle<'a>(pub &'a [u8]);

#[cfg(test)]
impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match (self.0.split_first(), buf.first_mut()) {
            (Some((&byte, rest)), Some(slot)) => {
                *slot = byte;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}
