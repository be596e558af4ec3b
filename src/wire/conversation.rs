//! One client's conversation, for every protocol: read a line, hand it to the
//! session, write what it answers, until one side says goodbye.
//!
//! The loop is the same for SMTP and POP3 (and for every protocol to come); what
//! differs is supplied through [`Dialogue`]: the session, which turns [`Event`]s into
//! [`Action`]s without any I/O, and the protocol's own effects (SMTP's message text
//! after 354; POP3's maildrop), which [`Dialogue::perform`] carries out with the
//! conversation's reader and writer.
//!
//! What the loop owns, once for all protocols:
//! - **Pending replies and flush** (RFC 2920 §3.2, RFC 2449 §6.6): replies are collected
//!   and written when the client has nothing more waiting in our buffer, so a pipelined
//!   batch costs one write, and every command still gets its own reply, in order.
//! - **STARTTLS and STLS** (RFC 3207 §4, RFC 2595 §4): send the go-ahead, run the
//!   handshake on the stream, tell the session. Input already buffered when the
//!   go-ahead is due was sent in plaintext and is never read as commands
//!   (CVE-2011-0411): the session is told, and the conversation ends.
//! - **Deadlines**: each line must arrive whole in time, however its bytes trickle in.
//! - **The trace** (`--trace`): every line in (`C:`, as the session allows it shown)
//!   and out (`S:`).
//! - **The shutdown watch**: a stopping server is noticed between lines; a protocol in
//!   the middle of something that must not be cut (SMTP's message text) says so with
//!   [`Conversation::set_busy`].
//!
//! The loop is generic over a [`Stream`], so tests drive it with a client that sends
//! one byte per read and no socket at all.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::ServerConfig;

use super::line::{Line, LineReader, ReadError};
use super::transcript::{Side, Transcript};
use super::transport::Stream;
use crate::tls::TlsInfo;
use crate::TRACE;

// ANCHOR: event
/// What happened on the wire, as the session is told of it. Each protocol's session
/// takes these as the common part of its own `Input` enum.
#[derive(Debug)]
pub enum Event<'a> {
    /// A line arrived, whole (its ending included; the reader reports bare CR and LF).
    Line(Line<'a>),
    /// A line was longer than [`Dialogue::line_limit`]; it was skipped.
    LineTooLong,
    /// The client was silent, or too slow, for too long.
    TimedOut,
    /// The server is stopping.
    ShuttingDown,
    /// The TLS handshake succeeded (after STARTTLS or STLS, or before the greeting on
    /// an implicit-TLS listener).
    TlsEstablished(TlsInfo),
    /// Bytes were waiting behind STARTTLS or STLS, sent before TLS (CVE-2011-0411).
    PlaintextAfterTls,
}
// ANCHOR_END: event

// ANCHOR: action
/// What the session asks the conversation to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action<R, E> {
    /// Send the reply and read the next line.
    Reply(R),
    /// Send the reply and close the connection.
    Close(R),
    /// Send the reply, run the TLS handshake, and report it as
    /// [`Event::TlsEstablished`] (RFC 3207 §4, RFC 2595 §4).
    StartTls(R),
    /// Something only this protocol knows how to do (see [`Dialogue::perform`]).
    Effect(E),
    /// Send nothing; read the next line.
    Listen,
}
// ANCHOR_END: action

/// A reply that knows how it looks on the wire.
pub trait Render {
    /// Appends the reply, every line ended by CRLF, to `out`.
    fn write_to(&self, out: &mut Vec<u8>);
}

// ANCHOR: dialogue
/// What a protocol supplies to the conversation: its session, and its effects.
pub trait Dialogue {
    type Reply: Render;
    type Effect;
    /// The protocol's name, for logs: `SMTP`, `POP3`.
    const NAME: &'static str;

    /// The session's door: every event goes in here, one action comes out.
    fn handle(&mut self, event: Event<'_>) -> Action<Self::Reply, Self::Effect>;
    /// How long the next line may be, its ending included.
    fn line_limit(&self) -> usize;
    /// What `--trace` may show of a line from the client (passwords masked).
    fn shown(&self, text: &[u8]) -> String;
    /// Carries out an effect with the conversation's reader and writer, and says what
    /// comes next. `None`: the client went away in the middle of it.
    fn perform<S: Stream>(
        &mut self,
        effect: Self::Effect,
        conversation: &mut Conversation<S>,
    ) -> io::Result<Option<Action<Self::Reply, Self::Effect>>>;
    /// Called just before the last reply is sent (POP3 lets go of its maildrop lock
    /// first, so a client that has read the goodbye may log in again at once).
    fn closing(&mut self) {}
    /// Where this conversation's lines are to be recorded, if anywhere (the web
    /// view's sessions page); `None` by default: nothing is recorded.
    fn transcript(&self) -> Option<Arc<Transcript>> {
        None
    }
}
// ANCHOR_END: dialogue

/// Why the conversation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// A goodbye (QUIT, or a reply that closes: 421, 521, `-ERR`…).
    Closed,
    /// The client went away without one.
    Disconnected,
}

// ANCHOR: watch
/// How the server and a conversation keep an eye on each other during shutdown.
#[derive(Debug, Clone, Default)]
pub struct Watch {
    /// Set by the server when it is stopping.
    pub stopping: Arc<AtomicBool>,
    /// Set by the conversation while it must not be interrupted (message text).
    pub busy: Arc<AtomicBool>,
}
// ANCHOR_END: watch

/// A client's conversation: its stream (inside the line reader), the replies not yet
/// written, and what the loop needs to know about the client.
pub struct Conversation<S> {
    reader: LineReader<S>,
    /// Replies not yet written. It starts empty and grows to the longest batch of
    /// replies (an EHLO reply is about 150 octets), which is all an idle session keeps.
    pending: Vec<u8>,
    client: SocketAddr,
    /// The certificate for STARTTLS and STLS; `None`: the session never offers it.
    tls: Option<Arc<ServerConfig>>,
    /// How long one whole line may take to arrive.
    line_timeout: Duration,
    watch: Watch,
    /// Every line in and out is recorded here too, when there is one.
    transcript: Option<Arc<Transcript>>,
}

impl<S: Stream> Conversation<S> {
    pub fn new(stream: S, client: SocketAddr, line_timeout: Duration) -> Self {
        Conversation {
            reader: LineReader::new(stream),
            pending: Vec::new(),
            client,
            tls: None,
            line_timeout,
            watch: Watch::default(),
            transcript: None,
        }
    }

    /// The transcript this conversation records into, if any.
    pub fn transcript(&self) -> Option<&Arc<Transcript>> {
        self.transcript.as_ref()
    }

    /// Lets the client ask for TLS (STARTTLS, STLS) with this certificate.
    pub fn with_tls(mut self, tls: Option<Arc<ServerConfig>>) -> Self {
        self.tls = tls;
        self
    }

    /// Lets the server tell us to stop, and see when we must not be interrupted.
    pub fn watch(mut self, watch: Watch) -> Self {
        self.watch = watch;
        self
    }

    pub fn client(&self) -> SocketAddr {
        self.client
    }

    // ANCHOR: run
    /// Greets the client and serves it until a goodbye or disconnection.
    pub fn run<P: Dialogue>(mut self, dialogue: &mut P, greeting: P::Reply) -> io::Result<End> {
        self.transcript = dialogue.transcript();
        let end = self.converse(dialogue, greeting);
        if let Some(transcript) = &self.transcript {
            transcript.end(match &end {
                Ok(End::Closed) => "closed",
                Ok(End::Disconnected) => "disconnected",
                Err(_) => "dropped",
            });
        }
        end
    }

    fn converse<P: Dialogue>(&mut self, dialogue: &mut P, greeting: P::Reply) -> io::Result<End> {
        self.send(&greeting);
        loop {
            let event = if self.stopping() {
                Event::ShuttingDown
            } else {
                // RFC 2920 §3.2: answer a whole batch at once, but never sit on a reply
                // while the client waits for it.
                if !self.reader.has_buffered_input() {
                    self.flush()?;
                }
                let client = self.client;
                let limit = dialogue.line_limit();
                let deadline = Instant::now() + self.line_timeout;
                self.reader.set_deadline(Some(deadline));
                match self.reader.read_line(limit) {
                    Ok(line) => {
                        if let Some(transcript) = &self.transcript {
                            transcript.push(Side::Client, &dialogue.shown(line.text()));
                        }
                        Event::Line(trace_line(client, line, |text| dialogue.shown(text)))
                    }
                    Err(ReadError::TooLong) => Event::LineTooLong,
                    Err(ReadError::TimedOut) => Event::TimedOut,
                    // A stopping server wakes us by closing our side for reading.
                    Err(ReadError::Closed) if self.watch.stopping.load(Ordering::SeqCst) => {
                        Event::ShuttingDown
                    }
                    Err(ReadError::Closed) => return Ok(End::Disconnected),
                    Err(ReadError::Io(e)) => return Err(e),
                }
            };
            let action = dialogue.handle(event);
            if let Some(end) = self.act(dialogue, action)? {
                return Ok(end);
            }
        }
    }
    // ANCHOR_END: run

    // ANCHOR: act
    /// Does what the session asked, and what that leads to. `Some` ends the conversation.
    fn act<P: Dialogue>(
        &mut self,
        dialogue: &mut P,
        mut action: Action<P::Reply, P::Effect>,
    ) -> io::Result<Option<End>> {
        loop {
            action = match action {
                Action::Reply(reply) => {
                    self.send(&reply);
                    return Ok(None);
                }
                Action::Listen => return Ok(None),
                Action::Close(reply) => {
                    dialogue.closing();
                    self.send(&reply);
                    self.flush()?;
                    return Ok(Some(End::Closed));
                }
                Action::StartTls(reply) => self.start_tls(dialogue, reply)?,
                Action::Effect(effect) => match dialogue.perform(effect, self)? {
                    Some(next) => next,
                    None => return Ok(Some(End::Disconnected)),
                },
            }
        }
    }
    // ANCHOR_END: act

    // ANCHOR: start_tls
    /// STARTTLS or STLS was accepted: send the go-ahead, run the handshake, and tell
    /// the session how it went.
    fn start_tls<P: Dialogue>(
        &mut self,
        dialogue: &mut P,
        go_ahead: P::Reply,
    ) -> io::Result<Action<P::Reply, P::Effect>> {
        // CVE-2011-0411: bytes behind STARTTLS arrived before the handshake, in
        // plaintext that anyone on the path could have written. Reading them after
        // the handshake would treat them as protected. We refuse and close instead.
        if self.reader.has_buffered_input() {
            return Ok(dialogue.handle(Event::PlaintextAfterTls));
        }
        let Some(tls) = self.tls.clone() else {
            return Err(io::Error::other("TLS offered without a certificate"));
        };
        self.send(&go_ahead);
        self.flush()?;
        let info = self.reader.get_mut().start_tls(&tls)?;
        Ok(dialogue.handle(Event::TlsEstablished(info)))
    }
    // ANCHOR_END: start_tls

    // ANCHOR: read_line
    /// For a protocol's effects: the next line, which must arrive whole within the
    /// line timeout. The caller traces it (it knows what may be shown).
    pub fn read_line(&mut self, limit: usize) -> Result<Line<'_>, ReadError> {
        self.reader
            .set_deadline(Some(Instant::now() + self.line_timeout));
        self.reader.read_line(limit)
    }
    // ANCHOR_END: read_line

    // ANCHOR: read_octets
    /// For a protocol's effects: exactly `count` octets (IMAP's literals), which must
    /// arrive within the line timeout. The caller has checked `count` against its
    /// limit.
    pub fn read_octets(&mut self, count: usize) -> Result<Vec<u8>, ReadError> {
        self.reader
            .set_deadline(Some(Instant::now() + self.line_timeout));
        self.reader.read_octets(count)
    }

    /// For a protocol that waits for two things at once (IMAP's IDLE: the client's
    /// `DONE`, or news from the mailbox): the next line, as received, if it arrives
    /// within `wait`; else [`ReadError::TimedOut`], any part of it kept for the next
    /// call. The stream's own read timeout is put back afterwards.
    pub fn read_line_within(&mut self, limit: usize, wait: Duration) -> Result<Vec<u8>, ReadError> {
        let before = self
            .reader
            .get_ref()
            .read_timeout()
            .map_err(ReadError::Io)?;
        // A zero timeout means "for ever" to a socket: wait at least a millisecond.
        let wait = wait.max(Duration::from_millis(1));
        self.reader
            .get_mut()
            .set_read_timeout(Some(wait))
            .map_err(ReadError::Io)?;
        self.reader.set_deadline(Some(Instant::now() + wait));
        let line = self.reader.read_line(limit).map(|line| line.raw().to_vec());
        self.reader
            .get_mut()
            .set_read_timeout(before)
            .map_err(ReadError::Io)?;
        line
    }
    // ANCHOR_END: read_octets

    // ANCHOR: send_flush
    /// Queues a reply (written at the next flush), and traces it.
    pub fn send(&mut self, reply: &impl Render) {
        let start = self.pending.len();
        reply.write_to(&mut self.pending);
        if let Some(transcript) = &self.transcript {
            for line in String::from_utf8_lossy(&self.pending[start..]).lines() {
                transcript.push(Side::Server, line);
            }
        }
        if log::log_enabled!(target: TRACE, log::Level::Trace) {
            for line in String::from_utf8_lossy(&self.pending[start..]).lines() {
                log::trace!(target: TRACE, "{} S: {line}", self.client);
            }
        }
    }

    /// Queues bytes already in wire form (POP3's byte-stuffed message).
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
    }

    /// Writes every queued reply.
    pub fn flush(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            let stream = self.reader.get_mut();
            stream.write_all(&self.pending)?;
            stream.flush()?;
            self.pending.clear();
        }
        Ok(())
    }
    // ANCHOR_END: send_flush

    /// Is the server stopping?
    pub fn stopping(&self) -> bool {
        self.watch.stopping.load(Ordering::SeqCst)
    }

    /// Says whether the conversation may be interrupted by a stopping server. Set it
    /// before the go-ahead leaves, so a stopping server either sees it and lets us
    /// finish, or we see (with [`Conversation::stopping`]) that it is stopping.
    pub fn set_busy(&self, busy: bool) {
        self.watch.busy.store(busy, Ordering::SeqCst);
    }
}

// ANCHOR: trace_line
/// `--trace`: shows one line from the client as `shown` makes it (masked as the
/// session allows), with a note when it was not ended by CRLF alone, and hands it on.
pub fn trace_line<'a>(
    client: SocketAddr,
    line: Line<'a>,
    shown: impl FnOnce(&[u8]) -> String,
) -> Line<'a> {
    if log::log_enabled!(target: TRACE, log::Level::Trace) {
        let shown = shown(line.text());
        let note = if line.is_crlf_clean() {
            ""
        } else {
            "   <- not ended by CRLF alone"
        };
        log::trace!(target: TRACE, "{client} C: {}{note}", shown.escape_debug());
    }
    line
}
// ANCHOR_END: trace_line
