//! One client's I/O loop: the line reader feeds the session, the session's replies go
//! back out, and message text goes to the Maildir (RFC 5321 §3.3, §4.1.1.4, §6.1).
//!
//! This is the only place where the protocol meets bytes and files. It is generic over
//! `Read` and `Write`, so tests can drive it with a client that sends one byte per read
//! and no socket at all.
//!
//! PIPELINING (RFC 2920): replies are collected in a buffer and written when the client
//! has nothing more waiting in ours, so a batch of commands costs one write, and every
//! command in the batch still gets its own reply, in order.
//!
//! STARTTLS (RFC 3207): the server hands us a way to turn the stream into TLS
//! ([`Connection::with_tls`]); the reader and writer keep working on the same stream,
//! now encrypted. Input already buffered when STARTTLS is answered was sent in
//! plaintext and is never read as commands (see `Connection::start_tls`).

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::accept::{Incoming, Storage};
use crate::config::Config;
use crate::line::{Line, LineReader, ReadError};
use crate::smtp::data::{DataDecoder, DataLine, Refusal};
use crate::smtp::reply::Reply;
use crate::smtp::session::{Action, MessageOutcome, Session};
use crate::TRACE;

/// A client's conversation, from the greeting to the last reply.
pub struct Connection<R, W> {
    reader: LineReader<R>,
    output: W,
    /// Replies not yet written (see PIPELINING in the module header).
    pending: Vec<u8>,
    session: Session,
    config: Arc<Config>,
    storage: Arc<Storage>,
    /// Set by the server when it is stopping.
    stopping: Arc<AtomicBool>,
    /// Set by us while message text arrives, so a stopping server lets us finish.
    in_data: Arc<AtomicBool>,
    /// Runs the TLS handshake on the stream under `reader` and `output` (STARTTLS).
    upgrade: Option<Upgrade>,
}

pub use crate::tls::Upgrade;

/// Why the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// QUIT, or a reply that closes (421, 521).
    Closed,
    /// The client went away without QUIT.
    Disconnected,
}

impl<R: Read, W: Write> Connection<R, W> {
    pub fn new(
        input: R,
        output: W,
        session: Session,
        config: Arc<Config>,
        storage: Arc<Storage>,
    ) -> Self {
        Connection {
            reader: LineReader::new(input),
            output,
            pending: Vec::with_capacity(1024),
            session,
            config,
            storage,
            stopping: Arc::new(AtomicBool::new(false)),
            in_data: Arc::new(AtomicBool::new(false)),
            upgrade: None,
        }
    }

    /// Lets the client use STARTTLS: `upgrade` runs the handshake on our stream.
    pub fn with_tls(mut self, upgrade: Upgrade) -> Self {
        self.upgrade = Some(upgrade);
        self
    }

    /// Lets the server tell us to stop, and lets it see whether we are inside DATA.
    pub fn watch(mut self, stopping: Arc<AtomicBool>, in_data: Arc<AtomicBool>) -> Self {
        self.stopping = stopping;
        self.in_data = in_data;
        self
    }

    // ANCHOR: run
    /// Greets the client and serves it until QUIT, a closing reply, or disconnection.
    pub fn run(mut self, greeting: Reply) -> io::Result<End> {
        self.send(&greeting);
        loop {
            if self.stopping.load(Ordering::SeqCst) {
                let reply = self.session.shutting_down();
                return self.finish(&reply);
            }
            // RFC 2920 §3.2: answer a whole batch at once, but never sit on a reply
            // while the client waits for it.
            if !self.reader.has_buffered_input() {
                self.flush()?;
            }
            // The whole command must arrive in time, however its bytes trickle in.
            let deadline = Instant::now() + self.config.limits.command_timeout;
            self.reader.set_deadline(Some(deadline));
            let action = match self.reader.read_line(self.session.line_limit()) {
                Ok(line) => self
                    .session
                    .command_line(trace_line(&self.session, "C:", line)),
                Err(ReadError::TooLong) => self.session.line_too_long(),
                Err(ReadError::TimedOut) => {
                    let reply = self.session.timed_out();
                    return self.finish(&reply);
                }
                Err(ReadError::Closed) if self.stopping.load(Ordering::SeqCst) => continue,
                Err(ReadError::Closed) => return Ok(End::Disconnected),
                Err(ReadError::Io(e)) => return Err(e),
            };
            match action {
                Action::Reply(reply) => self.send(&reply),
                Action::Close(reply) => return self.finish(&reply),
                Action::StartTls(ready) => {
                    if let Some(end) = self.start_tls(ready)? {
                        return Ok(end);
                    }
                }
                Action::ReceiveData(go_ahead) => match self.data(go_ahead)? {
                    Some(Action::Close(reply)) => return self.finish(&reply),
                    Some(action) => self.send(action.reply()),
                    None => return Ok(End::Disconnected),
                },
            }
        }
    }
    // ANCHOR_END: run

    // ANCHOR: start_tls
    /// STARTTLS was accepted: send the 220, run the handshake, tell the session.
    /// `Some` means the conversation is over.
    fn start_tls(&mut self, ready: Reply) -> io::Result<Option<End>> {
        // CVE-2011-0411: bytes behind STARTTLS arrived before the handshake, in
        // plaintext that anyone on the path could have written. Reading them after
        // the handshake would treat them as protected. We refuse and close instead.
        if self.reader.has_buffered_input() {
            let reply = self.session.pipelined_after_starttls();
            return self.finish(&reply).map(Some);
        }
        let Some(mut upgrade) = self.upgrade.take() else {
            return Err(io::Error::other("STARTTLS offered without a TLS stream"));
        };
        self.send(&ready);
        self.flush()?;
        let tls = upgrade()?;
        self.session.tls_established(tls);
        Ok(None)
    }
    // ANCHOR_END: start_tls

    // ANCHOR: data
    /// DATA was accepted: send the 354, receive the message, return the one reply.
    /// `None` means the client went away.
    fn data(&mut self, go_ahead: Reply) -> io::Result<Option<Action>> {
        // Say we are in DATA before the 354 leaves: a stopping server then either sees
        // it and lets us finish, or we see here that it is stopping and say 421.
        self.in_data.store(true, Ordering::SeqCst);
        let result = if self.stopping.load(Ordering::SeqCst) {
            Ok(Some(Action::Close(self.session.shutting_down())))
        } else {
            self.send(&go_ahead);
            self.flush().and_then(|()| self.receive_message())
        };
        self.in_data.store(false, Ordering::SeqCst);
        result
    }
    // ANCHOR_END: data

    // ANCHOR: receive_message
    /// Reads message text after the 354 until the lone dot, streaming it to disk, and
    /// returns the session's one reply (RFC 5321 §4.1.1.4). `None` means the client
    /// went away: whatever was written is removed, nothing is delivered.
    fn receive_message(&mut self) -> io::Result<Option<Action>> {
        let limits = &self.config.limits;
        let mut decoder = DataDecoder::new(limits.max_message_size, limits.max_received_headers);
        let (hello, envelope) = self.session.transaction().expect("DATA follows RCPT");
        let client = self.session.client().ip();
        // If the disk fails, we keep reading to the dot and answer 451 then:
        // replying in the middle would make the rest of the message look like commands.
        let mut message = Incoming::begin(
            &self.storage,
            &self.config.hostname,
            client,
            hello,
            envelope,
            self.session.security(),
        );
        let result = loop {
            // Each line of text too (a message is bounded by its size limit).
            self.reader
                .set_deadline(Some(Instant::now() + limits.command_timeout));
            match self.reader.read_line(limits.text_line) {
                Ok(line) => match decoder.feed(trace_line(&self.session, "C:", line)) {
                    DataLine::Content(bytes) => message.write(bytes),
                    DataLine::Discard => {}
                    DataLine::End => break Some(self.end_of_data(decoder.outcome(), message)),
                    // RFC 5321 §2.3.8, §4.1.1.4: a bare CR or LF could be a smuggled
                    // end of data. Refuse and close; never guess where the message ended.
                    DataLine::BareNewline => {
                        break Some(Action::Close(self.session.bare_newline_in_data()));
                    }
                },
                Err(ReadError::TooLong) => decoder.line_too_long(),
                Err(ReadError::TimedOut) => break Some(Action::Close(self.session.timed_out())),
                Err(ReadError::Closed) => break None,
                Err(ReadError::Io(e)) => return Err(e),
            }
        };
        Ok(result)
    }
    // ANCHOR_END: receive_message

    // ANCHOR: end_of_data
    /// The lone dot arrived. Only a complete message that reached the disk gets 250;
    /// an `Incoming` dropped without `commit` leaves nothing behind.
    fn end_of_data(&mut self, outcome: Result<u64, Refusal>, message: Incoming) -> Action {
        let result = match outcome {
            Ok(_size) => match message.commit() {
                Ok(id) => MessageOutcome::Stored { id: id.to_string() },
                Err(kind) => MessageOutcome::NotStored(kind),
            },
            Err(refusal) => MessageOutcome::Refused(refusal),
        };
        if let MessageOutcome::Stored { id } = &result {
            let (_, envelope) = self.session.transaction().expect("still in DATA");
            log::info!(
                "{} accepted {id} from <{}> for {} recipient(s)",
                self.session.client(),
                envelope.reverse_path,
                envelope.recipients.len()
            );
        }
        self.session.message_received(result)
    }
    // ANCHOR_END: end_of_data

    // ANCHOR: send_flush
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
    // ANCHOR_END: send_flush

    /// Sends a last reply and ends the conversation.
    fn finish(&mut self, reply: &Reply) -> io::Result<End> {
        self.send(reply);
        self.flush()?;
        Ok(End::Closed)
    }
}

/// `--trace`: shows one line of the dialogue, with bare CR/LF made visible and AUTH
/// secrets masked, and hands the line on.
fn trace_line<'a>(session: &Session, who: &str, line: Line<'a>) -> Line<'a> {
    if log::log_enabled!(target: TRACE, log::Level::Trace) {
        let text = session.shown(&String::from_utf8_lossy(line.text()));
        let note = if line.is_crlf_clean() {
            ""
        } else {
            "   <- not ended by CRLF alone"
        };
        log::trace!(target: TRACE, "{} {who} {}{note}", session.client(), text.escape_debug());
    }
    line
}
