//! One POP3 client's I/O loop: the same line reader as SMTP feeds the POP3 session,
//! its responses go back out, and the maildrop is opened, read and updated here
//! (RFC 1939 §3-§6).
//!
//! As in `crate::connection`, responses are collected and written when the client has
//! nothing more waiting in our buffer, so a pipelined batch (RFC 2449 §6.6) costs one
//! write. The loop is generic over `Read` and `Write`, so tests can feed it one byte
//! per read.
//!
//! `--trace` shows the dialogue as SMTP's does, with one difference: the argument of
//! PASS is never shown.
//!
//! STLS (RFC 2595 §4) swaps the stream for TLS in AUTHORIZATION, as STARTTLS does in
//! SMTP, with the same [`crate::tls::Upgradable`] socket: input already buffered when
//! STLS is answered was sent in plaintext and is never read as commands.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::maildrop::Maildrop;
use super::message;
use super::reply::Reply;
use super::session::{Action, Session};
use crate::config::Config;
use crate::connection::End;
use crate::line::{Line, LineReader, ReadError};
use crate::tls::{Upgradable, Upgrade};
use crate::TRACE;

/// A POP3 client's conversation, from the greeting to the last response.
pub struct Connection<R, W> {
    reader: LineReader<R>,
    output: W,
    pending: Vec<u8>,
    session: Session,
    config: Arc<Config>,
    /// The Maildir root: `<root>/<domain>/<mailbox>/`.
    root: PathBuf,
    /// Open (and locked) from PASS to the end of the connection.
    maildrop: Option<Maildrop>,
    stopping: Arc<AtomicBool>,
    /// Runs the TLS handshake on the stream under `reader` and `output` (STLS).
    upgrade: Option<Upgrade>,
}

impl<R: Read, W: Write> Connection<R, W> {
    pub fn new(input: R, output: W, session: Session, config: Arc<Config>) -> Self {
        Connection {
            reader: LineReader::new(input),
            output,
            pending: Vec::with_capacity(1024),
            session,
            root: config.maildir.clone(),
            config,
            maildrop: None,
            stopping: Arc::new(AtomicBool::new(false)),
            upgrade: None,
        }
    }

    /// Lets the client use STLS: `upgrade` runs the handshake on our stream.
    pub fn with_tls(mut self, upgrade: Upgrade) -> Self {
        self.upgrade = Some(upgrade);
        self
    }

    /// Lets the server tell us to stop.
    pub fn watch(mut self, stopping: Arc<AtomicBool>) -> Self {
        self.stopping = stopping;
        self
    }

    // ANCHOR: run
    /// Greets the client and serves it until QUIT, a closing response, or
    /// disconnection. Only QUIT in TRANSACTION removes anything (RFC 1939 §6): every
    /// other way out simply drops the maildrop, and with it the lock.
    pub fn run(mut self, greeting: Reply) -> io::Result<End> {
        self.send(&greeting);
        loop {
            if self.stopping.load(Ordering::SeqCst) {
                let reply = self.session.shutting_down();
                return self.finish(&reply);
            }
            if !self.reader.has_buffered_input() {
                self.flush()?;
            }
            let limit = self.config.limits.pop3_command_line;
            let mut action = match self.reader.read_line(limit) {
                Ok(line) => self.session.command_line(trace(&self.session, line)),
                Err(ReadError::TooLong) => self.session.line_too_long(),
                Err(ReadError::TimedOut) => {
                    let reply = self.session.timed_out();
                    return self.finish(&reply);
                }
                Err(ReadError::Closed) if self.stopping.load(Ordering::SeqCst) => continue,
                Err(ReadError::Closed) => return Ok(End::Disconnected),
                Err(ReadError::Io(e)) => return Err(e),
            };
            if let Action::OpenMaildrop(mailbox) = action {
                let opened = Maildrop::open(&self.root, &mailbox);
                let result = opened.map(|drop| {
                    let entries = drop.entries().to_vec();
                    self.maildrop = Some(drop);
                    entries
                });
                action = self.session.maildrop_opened(mailbox, result);
            }
            match action {
                Action::Reply(reply) => self.send(&reply),
                Action::Retrieve {
                    number,
                    octets,
                    body_lines,
                } => self.retrieve(number, octets, body_lines),
                Action::Update(marked) => {
                    let failed = match self.maildrop.as_mut() {
                        Some(maildrop) => maildrop.remove(&marked),
                        None => marked.len(),
                    };
                    let reply = self.session.updated(failed);
                    return self.finish(&reply);
                }
                Action::Close(reply) => return self.finish(&reply),
                Action::StartTls(reply) => {
                    if let Some(end) = self.start_tls(reply)? {
                        return Ok(end);
                    }
                }
                Action::OpenMaildrop(_) => unreachable!("handled above"),
            }
        }
    }
    // ANCHOR_END: run

    // ANCHOR: start_tls
    /// STLS was accepted: send the `+OK`, run the handshake, tell the session.
    /// `Some` means the conversation is over.
    fn start_tls(&mut self, begin: Reply) -> io::Result<Option<End>> {
        // CVE-2011-0411, as for SMTP's STARTTLS: bytes behind STLS arrived before the
        // handshake, in plaintext that anyone on the path could have written (RFC 2595
        // §4: the client "MUST NOT issue further commands until ... the TLS
        // negotiation is complete"). Refuse and close rather than run them inside TLS.
        if self.reader.has_buffered_input() {
            let reply = self.session.pipelined_after_stls();
            return self.finish(&reply).map(Some);
        }
        let Some(mut upgrade) = self.upgrade.take() else {
            return Err(io::Error::other("STLS offered without a TLS stream"));
        };
        self.send(&begin);
        self.flush()?;
        let tls = upgrade()?;
        self.session.tls_established(tls);
        Ok(None)
    }
    // ANCHOR_END: start_tls

    // ANCHOR: retrieve
    /// RETR and TOP: the status line, then the message, byte-stuffed, then ".".
    /// RETR marks the message seen (it moves to `cur/` with the `S` flag).
    fn retrieve(&mut self, number: usize, octets: u64, body_lines: Option<usize>) {
        let Some(maildrop) = self.maildrop.as_mut() else {
            return self.send(&Reply::cannot_read(number));
        };
        let text = match maildrop.read(number - 1) {
            Ok(text) => text,
            Err(e) => {
                log::warn!(
                    "{}: cannot read message {number}: {e}",
                    self.session.client()
                );
                return self.send(&Reply::cannot_read(number));
            }
        };
        if body_lines.is_none() {
            if let Err(e) = maildrop.mark_seen(number - 1) {
                log::warn!(
                    "{}: cannot mark message {number} seen: {e}",
                    self.session.client()
                );
            }
        }
        self.send(&Reply::message_follows(octets));
        let body = message::encode(&text, body_lines);
        log::trace!(
            target: TRACE,
            "{} S: ({} octets on the wire: the message, byte-stuffed, and the final \".\")",
            self.session.client(),
            body.len()
        );
        self.pending.extend_from_slice(&body);
    }
    // ANCHOR_END: retrieve

    fn send(&mut self, reply: &Reply) {
        let start = self.pending.len();
        reply.write_to(&mut self.pending);
        if log::log_enabled!(target: TRACE, log::Level::Trace) {
            for line in String::from_utf8_lossy(&self.pending[start..]).lines() {
                log::trace!(target: TRACE, "{} S: {line}", self.session.client());
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            self.output.write_all(&self.pending)?;
            self.output.flush()?;
            self.pending.clear();
        }
        Ok(())
    }

    /// Sends a last response and ends the conversation. The maildrop (and its lock)
    /// is let go first, so a client that has read the goodbye may log in again at once.
    fn finish(&mut self, reply: &Reply) -> io::Result<End> {
        self.maildrop = None;
        self.send(reply);
        self.flush()?;
        Ok(End::Closed)
    }
}

// ANCHOR: trace
/// `--trace`: one line of the dialogue, the password masked.
fn trace<'a>(session: &Session, line: Line<'a>) -> Line<'a> {
    if log::log_enabled!(target: TRACE, log::Level::Trace) {
        let text = String::from_utf8_lossy(line.text());
        let shown = match text.get(..5) {
            Some(keyword) if keyword.eq_ignore_ascii_case("PASS ") => format!("{keyword}****"),
            _ => text.escape_debug().to_string(),
        };
        log::trace!(target: TRACE, "{} C: {shown}", session.client());
    }
    line
}
// ANCHOR_END: trace

// ANCHOR: serve
/// One POP3 client, on its own thread, from the greeting to the close. With
/// `implicit_tls` (`--pop3s-listen`) the TLS handshake comes first.
pub fn serve(
    stream: std::net::TcpStream,
    peer: std::net::SocketAddr,
    config: Arc<Config>,
    stopping: Arc<AtomicBool>,
    implicit_tls: bool,
) {
    log::info!("{peer} connected (POP3)");
    let (mut session, greeting) = Session::new(config.clone(), peer);
    // The reader and the writer share one socket, which STLS may turn into TLS.
    let socket = Upgradable::new(stream);
    // RFC 8314 §3.3: implicit TLS, the handshake before the greeting.
    if let (true, Some(tls)) = (implicit_tls, &config.tls) {
        match socket.start_tls(tls) {
            Ok(info) => session.tls_established(info),
            Err(e) => {
                log::info!("{peer} TLS handshake failed (POP3): {e}");
                return;
            }
        }
    }
    let mut connection =
        Connection::new(socket.clone(), socket.clone(), session, config.clone()).watch(stopping);
    if let Some(tls) = config.tls.clone() {
        connection = connection.with_tls(socket.upgrade_with(tls));
    }
    match connection.run(greeting) {
        Ok(End::Closed) => log::info!("{peer} closed (POP3)"),
        Ok(End::Disconnected) => log::info!("{peer} disconnected (POP3); nothing deleted"),
        Err(e) => log::info!("{peer} dropped (POP3): {e}; nothing deleted"),
    }
}
// ANCHOR_END: serve
