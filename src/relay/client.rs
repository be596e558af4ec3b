//! The outbound SMTP client: one delivery attempt, over one connection, to one server.
//!
//! This is the mirror image of [`crate::smtp::session`]. There the server waits for a
//! command and answers it; here the client waits for a reply and decides what to send
//! next. [`deliver`] reads the 220 greeting, says EHLO, sends MAIL, one RCPT per
//! recipient, DATA, the message and QUIT, and returns one [`RecipientOutcome`] per
//! recipient: delivered, deferred (try again later) or failed (bounce). Every rule is one
//! arm of a single `match (state, reply)`, `Client::answer`, and every change of state
//! (a reply, the text sent, the connection lost) goes through `Client::transition`, which
//! logs it with its section of RFC 5321.
//!
//! Implemented:
//! - RFC 5321 §3.3, §4.1.1: the transaction, EHLO → MAIL → RCPT… → DATA → text → QUIT.
//! - §3.2, §4.1.1.1: EHLO first; HELO (no extensions) when EHLO gets a 5xx.
//! - §4.2, §4.2.1: multi-line replies; the first digit of the code decides, never the text.
//! - §4.2.5, §6.1: after the final 250 the message is the server's; before it, ours.
//! - §4.5.2: dot-stuffing, written in large chunks.
//! - §4.5.3.2: a separate timeout for the greeting, each command, DATA, each block of
//!   text and the final reply ([`Timeouts`]).
//! - §3.8: a lost connection counts as a 451 for every undecided recipient; a 421 ends
//!   the session at once.
//! - RFC 2920 §3.1 (PIPELINING): MAIL, every RCPT and DATA in one write, then every reply
//!   checked in order. RFC 1870 (SIZE=), RFC 6152 (BODY=8BITMIME), RFC 6531 (SMTPUTF8).
//!
//! Deliberately left out:
//! - STARTTLS and AUTH: the message crosses the network in clear text. A production MTA
//!   uses TLS whenever the server offers it (and MTA-STS or DANE to insist on it).
//! - Converting an 8-bit message to quoted-printable when the server lacks 8BITMIME
//!   (RFC 6152 §3 says a client SHOULD NOT send 8-bit data then; postie sends it as is).
//! - A second transaction on the same connection for recipients refused with 452 "too
//!   many recipients" (§4.5.3.1.10): they are simply deferred to the next attempt.
//! - Splitting a PIPELINING batch too big for the TCP window into several: postie then
//!   sends one command at a time (about 80 recipients or more).
//! - RSET and several messages per connection, CHUNKING (BDAT), DSN parameters
//!   (RFC 3461 NOTIFY, ORCPT). Connecting and choosing the MX host is the caller's job.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

pub use crate::config::Timeouts;
use crate::status::Status;
use crate::wire::line::{LineReader, ReadError};
use crate::TRACE;

/// The longest reply line we read. RFC 5321 §4.5.3.1.5 says 512 octets, but §4.5.3.1
/// asks receivers to be generous; the bound only keeps a hostile server from
/// feeding us one endless line.
const REPLY_LINE_LIMIT: usize = 2048;

/// The most lines one reply may have (an EHLO reply has a dozen), so a server cannot
/// keep us reading a "250-" continuation forever.
const REPLY_MAX_LINES: usize = 100;

/// RFC 2920 §3.1: the TCP window a PIPELINING batch must fit in, "usually, but not
/// always, 4K octets".
const PIPELINING_WINDOW: usize = 4096;

/// Message text goes out in writes of about this size: few system calls, bounded memory.
const CHUNK: usize = 64 * 1024;

/// A reply read from a server: code and text lines (RFC 5321 §4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerReply {
    pub code: u16,
    /// The text of each line, after the code and its `-` or space; may be empty.
    pub lines: Vec<String>,
}

impl ServerReply {
    /// The RFC 3463 enhanced status code at the start of the first line's text, if any:
    /// `5.1.1`. Text that is not a valid code (RFC 3463 §2) is not one.
    pub fn enhanced(&self) -> Option<Status> {
        self.lines.first()?.split(' ').next()?.parse().ok()
    }

    /// One line for logs and DSNs: `550 5.1.1 <bob@b.test>: no such user` (the lines of
    /// a multi-line reply are joined with " / ").
    pub fn summary(&self) -> String {
        let text = self.lines.join(" / ");
        if text.is_empty() {
            self.code.to_string()
        } else {
            format!("{} {text}", self.code)
        }
    }

    /// A reply postie makes up itself, when it knows the answer without asking.
    fn synthetic(code: u16, text: String) -> ServerReply {
        ServerReply {
            code,
            lines: vec![text],
        }
    }

    /// RFC 5321 §4.2.1: 2yz, the command was accepted.
    fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// 3yz: go on (only DATA's 354 means this).
    fn is_intermediate(&self) -> bool {
        (300..400).contains(&self.code)
    }

    /// 5yz: refused for good.
    fn is_permanent(&self) -> bool {
        self.code >= 500
    }
}

impl fmt::Display for ServerReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary())
    }
}

/// Why an attempt ended without an outcome for each recipient.
#[derive(Debug)]
pub enum ClientError {
    /// Connect, read or write failure, or a timeout.
    Io(io::Error),
    /// A malformed reply. We can no longer tell which reply answers which command, so
    /// the caller treats it as temporary.
    Protocol(String),
    /// The server refused the whole session before MAIL (greeting, EHLO/HELO 4xx/5xx, or
    /// a 421 at any time before a recipient was decided): try the next MX host.
    Refused(ServerReply),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Io(e) => write!(f, "{e}"),
            ClientError::Protocol(why) => write!(f, "protocol error: {why}"),
            ClientError::Refused(reply) => write!(f, "refused: {reply}"),
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for ClientError {
    fn from(e: io::Error) -> ClientError {
        ClientError::Io(e)
    }
}

impl From<ReadError> for ClientError {
    fn from(e: ReadError) -> ClientError {
        let io = |kind, text: &str| ClientError::Io(io::Error::new(kind, text));
        match e {
            ReadError::TooLong => ClientError::Protocol(format!(
                "a reply line longer than {REPLY_LINE_LIMIT} octets"
            )),
            ReadError::Closed => io(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ),
            ReadError::TimedOut => io(io::ErrorKind::TimedOut, "timed out waiting for a reply"),
            ReadError::Io(e) => ClientError::Io(e),
        }
    }
}

// ANCHOR: read_reply
/// Reads one reply (RFC 5321 §4.2): `250-…` lines continue it, a `250 …` line (or a bare
/// `250`) ends it. Every line must carry the same code, three digits from 200 to 599.
pub fn read_reply<R: Read>(reader: &mut LineReader<R>) -> Result<ServerReply, ClientError> {
    let mut lines = Vec::new();
    let mut code = None;
    loop {
        let line = reader.read_line(REPLY_LINE_LIMIT)?;
        // We accept a bare LF too: the smuggling danger of §2.3.8 lies in message text
        // a server reads, not in replies a client reads.
        let text = line.text();
        log::trace!(target: TRACE, "relay S: {}", String::from_utf8_lossy(text));
        let malformed = || {
            ClientError::Protocol(format!(
                "malformed reply {:?}",
                text.escape_ascii().to_string()
            ))
        };
        let (this_code, last) = match text {
            [a @ b'2'..=b'5', b @ b'0'..=b'9', c @ b'0'..=b'9', rest @ ..] => {
                let this_code =
                    u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0');
                match rest.first() {
                    // §4.2: "clients ... SHOULD be prepared to process the code alone".
                    None | Some(b' ') => (this_code, true),
                    Some(b'-') => (this_code, false),
                    Some(_) => return Err(malformed()),
                }
            }
            _ => return Err(malformed()),
        };
        // §4.2.1: every line of a multi-line reply carries the same code.
        if code.is_some_and(|c| c != this_code) {
            return Err(malformed());
        }
        code = Some(this_code);
        lines.push(String::from_utf8_lossy(text.get(4..).unwrap_or_default()).into_owned());
        if last {
            return Ok(ServerReply {
                code: this_code,
                lines,
            });
        }
        if lines.len() >= REPLY_MAX_LINES {
            return Err(ClientError::Protocol(format!(
                "a reply of more than {REPLY_MAX_LINES} lines"
            )));
        }
    }
}
// ANCHOR_END: read_reply

/// What we are sending.
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    /// Without brackets; `""` is the null sender `<>` of a bounce (§4.5.5).
    pub reverse_path: &'a str,
    /// Without brackets.
    pub recipients: &'a [String],
    /// The message size in octets for `SIZE=`: CRLFs count, stuffed dots do not (RFC 1870).
    pub size: u64,
    /// 8-bit text: say `BODY=8BITMIME` when the server offers it (RFC 6152).
    pub eight_bit: bool,
    /// UTF-8 in addresses or headers: the server must offer SMTPUTF8, or every recipient
    /// fails with 5.6.7 (RFC 6531).
    pub smtputf8: bool,
}

// ANCHOR: recipient_outcome
/// The fate of one recipient in one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecipientOutcome {
    /// The final 2xx after the dot, for a RCPT that got 2xx.
    Delivered(ServerReply),
    /// Try again later: a 4xx reply's summary, or what went wrong with the connection.
    Deferred(String),
    /// 5xx: give up and bounce.
    Failed(ServerReply),
}
// ANCHOR_END: recipient_outcome

/// A connection whose timeouts can change from one stage to the next.
///
/// [`deliver`] must read, write and change timeouts, which `Read + Write` cannot say.
/// The relay passes a `&TcpStream`; tests pass a scripted fake server.
pub trait SetTimeout {
    /// From now on, give up on a read or a write after `timeout` (which must not be zero).
    fn set_timeout(&mut self, timeout: Duration) -> io::Result<()>;
}

impl SetTimeout for &TcpStream {
    fn set_timeout(&mut self, timeout: Duration) -> io::Result<()> {
        self.set_read_timeout(Some(timeout))?;
        self.set_write_timeout(Some(timeout))
    }
}

impl<T: SetTimeout + ?Sized> SetTimeout for &mut T {
    fn set_timeout(&mut self, timeout: Duration) -> io::Result<()> {
        (**self).set_timeout(timeout)
    }
}

// ANCHOR: client_state
/// Where the client stands: each variant names the reply it is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Connected; waiting for the 220 greeting (RFC 5321 §3.1).
    Greeting,
    /// EHLO sent; waiting for 250 and the list of extensions (§4.1.1.1).
    Ehlo,
    /// EHLO got a 5xx, so HELO sent: no extensions in this session (§3.2).
    Helo,
    /// MAIL FROM sent (§4.1.1.2).
    Mail,
    /// RCPT TO sent for recipient number `i`, counting from 0 (§4.1.1.3).
    Rcpt(usize),
    /// DATA sent; waiting for 354 (§4.1.1.4).
    Data,
    /// 354 received; the message text is going out. No reply comes until the dot.
    Body,
    /// The final dot sent; waiting for the one reply for the whole message (§4.2.5).
    Dot,
    /// QUIT sent (§4.1.1.10); its reply changes nothing.
    Quit,
    /// Nothing more to send or read.
    Done,
}
// ANCHOR_END: client_state

impl State {
    /// The section of RFC 5321 that governs entering this state, for the trace.
    fn section(self) -> &'static str {
        match self {
            State::Greeting => "§3.1",
            State::Ehlo => "§4.1.1.1",
            State::Helo => "§3.2",
            State::Mail => "§4.1.1.2",
            State::Rcpt(_) => "§4.1.1.3",
            State::Data | State::Body => "§4.1.1.4",
            State::Dot => "§4.2.5",
            State::Quit | State::Done => "§4.1.1.10",
        }
    }

    /// Before MAIL's reply no recipient has a fate yet: a failure here concerns the whole
    /// attempt, and the caller may try another host.
    fn decided_nothing(self) -> bool {
        matches!(
            self,
            State::Greeting | State::Ehlo | State::Helo | State::Mail
        )
    }
}

// ANCHOR: client_event
/// What happened, as the I/O loop tells the transition.
#[derive(Debug)]
enum Event {
    /// The server replied (RFC 5321 §4.2).
    Reply(ServerReply),
    /// The message text and its final dot are written: no reply comes before that.
    TextSent,
    /// The connection failed, or the server broke the protocol (§3.8).
    Lost(ClientError),
}
// ANCHOR_END: client_event

/// What the I/O loop does after a transition.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Action {
    /// Write these commands in one write (one command, or a PIPELINING batch), then read
    /// the next reply.
    Send(Vec<String>),
    /// Write nothing, the command went out in the batch: read its reply.
    Read,
    /// Write the message text, dot-stuffed, and the final dot; then read the reply.
    SendMessage,
    /// Close the connection.
    Close,
}

/// What the server offered in its EHLO reply (RFC 5321 §4.1.1.1); after HELO, nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Extensions {
    /// RFC 2920.
    pipelining: bool,
    /// RFC 1870: we may say `SIZE=n` on MAIL.
    size: bool,
    /// RFC 1870 §3: the largest message accepted. `SIZE 0` means no fixed limit, and a
    /// bare `SIZE` says nothing about one.
    max_size: Option<u64>,
    /// RFC 6152.
    eight_bit_mime: bool,
    /// RFC 6531.
    smtputf8: bool,
}

impl Extensions {
    /// Reads the EHLO reply: the first line is the server's name, each further line a
    /// keyword (case does not matter, §2.4) and its parameters.
    fn from_ehlo(reply: &ServerReply) -> Extensions {
        let mut offered = Extensions::default();
        for line in reply.lines.iter().skip(1) {
            let mut words = line.split_ascii_whitespace();
            let keyword = words.next().unwrap_or_default().to_ascii_uppercase();
            match keyword.as_str() {
                "PIPELINING" => offered.pipelining = true,
                "SIZE" => {
                    offered.size = true;
                    offered.max_size = words.next().and_then(|n| n.parse().ok()).filter(|&n| n > 0);
                }
                "8BITMIME" => offered.eight_bit_mime = true,
                "SMTPUTF8" => offered.smtputf8 = true,
                _ => {}
            }
        }
        offered
    }
}

/// Where one recipient stands during the attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Progress {
    /// No reply has decided it yet.
    Waiting,
    /// Its RCPT got 2xx; the reply to DATA or to the dot decides.
    Accepted,
    Decided(RecipientOutcome),
}

/// A non-positive reply as a recipient's fate: 5xx fails, anything else (4xx, or a code
/// that makes no sense here) is worth another try later (§4.2.1: the first digit decides).
fn failure(reply: ServerReply) -> RecipientOutcome {
    if reply.is_permanent() {
        RecipientOutcome::Failed(reply)
    } else {
        RecipientOutcome::Deferred(reply.summary())
    }
}

/// One command, to go out alone.
fn send(command: impl Into<String>) -> Action {
    Action::Send(vec![command.into()])
}

/// Runs one SMTP client session over `stream` (already connected) and returns one outcome
/// per recipient, in the order of `envelope.recipients`.
///
/// `message` is the whole message, header and body, with CRLF line endings. `my_name`
/// is our host name (or address literal) for EHLO.
///
/// Errors that concern the whole attempt, before any recipient was decided (greeting,
/// EHLO, the wait for MAIL's reply), are returned as `Err`: the caller tries the next
/// host or defers everything. From MAIL's reply on, a broken connection defers the
/// recipients not yet decided and the result is `Ok`.
pub fn deliver<S: Read + Write + SetTimeout>(
    stream: S,
    my_name: &str,
    envelope: &Envelope,
    message: &[u8],
    timeouts: &Timeouts,
) -> Result<Vec<RecipientOutcome>, ClientError> {
    let client = Client {
        my_name,
        envelope,
        timeouts,
        pipelining: false,
        progress: first_progress(envelope),
        refusal: None,
        broken: None,
        host: "?".to_string(),
        timeout: None,
    };
    if !client.progress.contains(&Progress::Waiting) {
        // Nobody to send to: no session at all.
        return client.finish();
    }
    client.run(LineReader::new(stream), message)
}

/// Each recipient's progress before the session: waiting, or failed at once when its
/// address, or the sender's, cannot be put in a command.
fn first_progress(envelope: &Envelope) -> Vec<Progress> {
    let check = |rcpt: &String| {
        let bad = [envelope.reverse_path, rcpt]
            .into_iter()
            .find(|a| !sendable(a));
        match bad {
            None => Progress::Waiting,
            Some(bad) => {
                let text = format!("5.1.3 Address {bad:?} holds <, > or a control character");
                Progress::Decided(RecipientOutcome::Failed(ServerReply::synthetic(553, text)))
            }
        }
    };
    envelope.recipients.iter().map(check).collect()
}

// ANCHOR: sendable
/// An address we may put in a command. A CR LF inside one would end the command early
/// and smuggle in a command of its own (the client-side twin of go-smtp #275); postie's
/// parser never lets such an address in, and this check makes sure.
fn sendable(address: &str) -> bool {
    !address
        .chars()
        .any(|c| c.is_control() || c == '<' || c == '>')
}
// ANCHOR_END: sendable

/// One attempt: the envelope, how we talk to this server, each recipient's progress.
struct Client<'a> {
    my_name: &'a str,
    envelope: &'a Envelope<'a>,
    timeouts: &'a Timeouts,
    /// MAIL, the RCPTs and DATA went out in one batch (RFC 2920).
    pipelining: bool,
    /// One entry per envelope recipient, in order.
    progress: Vec<Progress>,
    /// The reply with which the server refused the whole session, if it did.
    refusal: Option<ServerReply>,
    /// Why the attempt failed before any recipient was decided, if it did.
    broken: Option<ClientError>,
    /// The server's name from its greeting, for logs.
    host: String,
    /// The timeout the stream has now.
    timeout: Option<Duration>,
}

impl Client<'_> {
    // ANCHOR: client_run
    /// The I/O loop: do what the last transition asked, tell the transition what
    /// happened, until it says to close.
    fn run<S: Read + Write + SetTimeout>(
        mut self,
        mut conn: LineReader<S>,
        message: &[u8],
    ) -> Result<Vec<RecipientOutcome>, ClientError> {
        // §3.1: the server speaks first.
        let (mut state, mut action) = (State::Greeting, Action::Read);
        loop {
            let event = self.perform(&mut conn, state, action, message);
            (state, action) = self.transition(state, event);
            if action == Action::Close {
                return self.finish();
            }
        }
    }

    /// Does what the transition asked, under the timeout of `state` (§4.5.3.2), and
    /// returns what happened next.
    fn perform<S: Read + Write + SetTimeout>(
        &mut self,
        conn: &mut LineReader<S>,
        state: State,
        action: Action,
        message: &[u8],
    ) -> Event {
        let sends_text = action == Action::SendMessage;
        let done = self.enter(conn, state).and_then(|()| match action {
            Action::Send(commands) => send_commands(conn.get_mut(), &commands),
            Action::Read | Action::Close => Ok(()),
            Action::SendMessage => send_message(conn.get_mut(), message),
        });
        match done {
            Err(e) => Event::Lost(e.into()),
            Ok(()) if sends_text => Event::TextSent,
            Ok(()) => match read_reply(conn) {
                Ok(reply) => Event::Reply(reply),
                Err(e) => Event::Lost(e),
            },
        }
    }
    // ANCHOR_END: client_run

    // ANCHOR: client_transition
    /// The one door for every change of state: logs it, with its section of RFC 5321.
    fn transition(&mut self, state: State, event: Event) -> (State, Action) {
        let (next, action) = match event {
            // The text and its dot are out: the next reply is for the whole message,
            // and it gets the longest wait (§4.5.3.2.6).
            Event::TextSent => (State::Dot, Action::Read),
            Event::Lost(error) => self.lost(state, error),
            Event::Reply(reply) => self.answer(state, reply),
        };
        let section = match action {
            Action::Close if next == State::Done && state != State::Quit => "§3.8",
            _ => next.section(),
        };
        log::debug!(target: TRACE, "{}: {state:?} -> {next:?} (RFC 5321 {section})", self.host);
        (next, action)
    }

    /// The whole client in one table: (state, reply) → (next state, action).
    fn answer(&mut self, state: State, reply: ServerReply) -> (State, Action) {
        match (state, reply) {
            // §4.1.1.10: whatever the answer to QUIT, we are done.
            (State::Quit, _) => (State::Done, Action::Close),
            // §3.8: 421, the server is closing the connection; QUIT would go nowhere.
            (state, reply) if reply.code == 421 => {
                if state.decided_nothing() {
                    self.refusal = Some(reply);
                } else {
                    self.settle_undecided(RecipientOutcome::Deferred(reply.summary()));
                }
                (State::Done, Action::Close)
            }

            (State::Greeting, reply) if reply.code == 220 => {
                // §4.2: the greeting's text starts with the server's name (for logs).
                let name = reply.lines[0].split(' ').next().unwrap_or_default();
                self.host = name.to_string();
                (State::Ehlo, send(format!("EHLO {}", self.my_name)))
            }
            // §3.1: a 554 greeting says "no service here", and the server waits for QUIT.
            (State::Greeting, reply) => self.refuse(reply),
            (State::Ehlo, reply) if reply.is_positive() => {
                self.start_mail(Extensions::from_ehlo(&reply))
            }
            // §3.2: a server that does not know EHLO answers 5xx; fall back to HELO.
            (State::Ehlo, reply) if reply.is_permanent() => {
                (State::Helo, send(format!("HELO {}", self.my_name)))
            }
            // §4.1.1.1: HELO announces no extensions.
            (State::Helo, reply) if reply.is_positive() => self.start_mail(Extensions::default()),
            (State::Ehlo | State::Helo, reply) => self.refuse(reply),

            (State::Mail, reply) if reply.is_positive() => self.next_recipient(0),
            // §4.1.1.2: MAIL refused, so the transaction never began: its reply is every
            // recipient's fate.
            (State::Mail, reply) => {
                self.settle_undecided(failure(reply));
                self.next_recipient(0)
            }
            (State::Rcpt(i), reply) => {
                // With PIPELINING a refused MAIL has already decided this recipient, and
                // the RCPT's reply (a 503) changes nothing.
                if self.progress[i] == Progress::Waiting {
                    self.progress[i] = if reply.is_positive() {
                        Progress::Accepted
                    } else {
                        Progress::Decided(failure(reply))
                    };
                }
                self.next_recipient(i + 1)
            }

            // RFC 2920 §3.1: a pipelined DATA may get 354 though no RCPT was accepted;
            // the client must then send the lone dot, an empty message for nobody.
            (State::Data, reply) if reply.is_intermediate() && !self.any_accepted() => {
                (State::Dot, send("."))
            }
            (State::Data, reply) if reply.is_intermediate() => (State::Body, Action::SendMessage),
            (State::Data, reply) => {
                self.settle_accepted(failure(reply));
                self.quit()
            }
            // §4.2.5, §6.1: with this 2xx the message became the server's responsibility.
            (State::Dot, reply) if reply.is_positive() => {
                self.settle_accepted(RecipientOutcome::Delivered(reply));
                self.quit()
            }
            (State::Dot, reply) => {
                self.settle_accepted(failure(reply));
                self.quit()
            }

            // No reply is read while the text goes out, or after the end; this arm only
            // keeps the table total.
            (State::Body | State::Done, _) => (State::Done, Action::Close),
        }
    }
    // ANCHOR_END: client_transition

    // ANCHOR: start_mail
    /// EHLO or HELO succeeded: check what the message needs against what the server
    /// offers, then send MAIL (with PIPELINING, the RCPTs and DATA too).
    fn start_mail(&mut self, offered: Extensions) -> (State, Action) {
        let envelope = self.envelope;
        // RFC 6531: a message that needs SMTPUTF8 cannot go to a server without it.
        if envelope.smtputf8 && !offered.smtputf8 {
            let text = "5.6.7 The server does not offer SMTPUTF8, which this message needs";
            let reply = ServerReply::synthetic(553, text.to_string());
            self.settle_undecided(RecipientOutcome::Failed(reply));
            return self.quit();
        }
        // RFC 1870 §3: the server said how big a message may be; a bigger one would only
        // earn a 552 (after MAIL SIZE=, or after we had sent it all).
        if let Some(max) = offered.max_size.filter(|&max| envelope.size > max) {
            let text = format!(
                "5.3.4 Message size ({} octets) exceeds the server's fixed maximum ({max} octets)",
                envelope.size
            );
            let reply = ServerReply::synthetic(552, text);
            self.settle_undecided(RecipientOutcome::Failed(reply));
            return self.quit();
        }
        let mut mail = format!("MAIL FROM:<{}>", envelope.reverse_path);
        if offered.size {
            mail += &format!(" SIZE={}", envelope.size);
        }
        // RFC 6152 §3: without 8BITMIME a real MTA would convert the text to 7 bits
        // (quoted-printable); postie sends it unchanged and without BODY=.
        if envelope.eight_bit && offered.eight_bit_mime {
            mail += " BODY=8BITMIME";
        }
        if envelope.smtputf8 {
            mail += " SMTPUTF8";
        }
        // RFC 2920 §3.1: MAIL and RCPT may stand anywhere in a batch, DATA only last.
        let mut batch = vec![mail];
        let rcpts = envelope.recipients.iter().filter(|r| sendable(r));
        batch.extend(rcpts.map(|r| format!("RCPT TO:<{r}>")));
        batch.push("DATA".to_string());
        let octets: usize = batch.iter().map(|command| command.len() + 2).sum();
        // RFC 2920 §3.1: a client that blocks while writing, as we do, MUST make the
        // batch fit in the TCP window, or both sides may wait for each other forever.
        // A batch too big for that goes out one command at a time instead.
        self.pipelining = offered.pipelining && octets <= PIPELINING_WINDOW;
        if !self.pipelining {
            batch.truncate(1); // MAIL alone
        }
        (State::Mail, Action::Send(batch))
    }
    // ANCHOR_END: start_mail

    /// After MAIL (i = 0) or the RCPT of recipient i - 1: the next RCPT, DATA or QUIT.
    fn next_recipient(&self, i: usize) -> (State, Action) {
        let pipelined = self.pipelining;
        let recipients = self.envelope.recipients;
        // Unsendable addresses were failed before we began; skip them.
        let next = (i..recipients.len()).find(|&j| sendable(&recipients[j]));
        match next {
            // RFC 2920 §3.1: they were sent in the batch; every reply must be read.
            Some(j) if pipelined => (State::Rcpt(j), Action::Read),
            None if pipelined => (State::Data, Action::Read),
            // Still waiting: MAIL was accepted (a refused MAIL decided everyone).
            Some(j) if self.progress[j] == Progress::Waiting => {
                (State::Rcpt(j), send(format!("RCPT TO:<{}>", recipients[j])))
            }
            None if self.any_accepted() => (State::Data, send("DATA")),
            // §4.1.1.4: DATA needs at least one accepted recipient.
            _ => self.quit(),
        }
    }

    /// §4.1.1.10: say goodbye politely.
    fn quit(&self) -> (State, Action) {
        (State::Quit, send("QUIT"))
    }

    /// The server will not serve us at all; remember why, and QUIT.
    fn refuse(&mut self, reply: ServerReply) -> (State, Action) {
        self.refusal = Some(reply);
        self.quit()
    }

    fn any_accepted(&self) -> bool {
        self.progress.contains(&Progress::Accepted)
    }

    /// Gives `outcome` to every recipient whose RCPT got 2xx.
    fn settle_accepted(&mut self, outcome: RecipientOutcome) {
        for progress in &mut self.progress {
            if *progress == Progress::Accepted {
                *progress = Progress::Decided(outcome.clone());
            }
        }
    }

    /// Gives `outcome` to every recipient not decided yet.
    fn settle_undecided(&mut self, outcome: RecipientOutcome) {
        for progress in &mut self.progress {
            if !matches!(progress, Progress::Decided(_)) {
                *progress = Progress::Decided(outcome.clone());
            }
        }
    }

    /// Sets the stream's timeout for `state` (§4.5.3.2), if it changes.
    fn enter<S: Read + SetTimeout>(
        &mut self,
        conn: &mut LineReader<S>,
        state: State,
    ) -> io::Result<()> {
        let t = self.timeouts;
        let timeout = match state {
            State::Greeting => t.greeting,
            State::Ehlo
            | State::Helo
            | State::Mail
            | State::Rcpt(_)
            | State::Quit
            | State::Done => t.command,
            State::Data => t.data_init,
            State::Body => t.data_block,
            State::Dot => t.data_end,
        };
        if self.timeout != Some(timeout) {
            conn.get_mut().set_timeout(timeout)?;
            self.timeout = Some(timeout);
        }
        Ok(())
    }

    // ANCHOR: lost
    /// The connection failed, or the server broke the protocol, while in `state`.
    fn lost(&mut self, state: State, error: ClientError) -> (State, Action) {
        log::debug!(target: TRACE, "{}: {error}", self.host);
        if state.decided_nothing() {
            // The whole attempt failed: the caller may try the next host.
            self.broken = Some(error);
            return (State::Done, Action::Close);
        }
        // §3.8: treat it as a 451 for every recipient still undecided. (After QUIT, all
        // are decided: the message was delivered with the final 250, §6.1.)
        let why = match &error {
            ClientError::Io(e) => format!("connection lost: {e}"),
            other => other.to_string(),
        };
        self.settle_undecided(RecipientOutcome::Deferred(why));
        (State::Done, Action::Close)
    }
    // ANCHOR_END: lost

    /// The result of the attempt.
    fn finish(self) -> Result<Vec<RecipientOutcome>, ClientError> {
        if let Some(error) = self.broken {
            return Err(error);
        }
        if let Some(reply) = self.refusal {
            return Err(ClientError::Refused(reply));
        }
        let outcomes = self.progress.into_iter().map(|progress| match progress {
            Progress::Decided(outcome) => outcome,
            // Every way to Quit decides every recipient; this keeps the function total.
            Progress::Waiting | Progress::Accepted => {
                RecipientOutcome::Deferred("the session ended without a reply".to_string())
            }
        });
        Ok(outcomes.collect())
    }
}

/// Writes commands in one write: one command, or a PIPELINING batch (RFC 2920 §3.1).
fn send_commands(out: &mut impl Write, commands: &[String]) -> io::Result<()> {
    let mut batch = String::new();
    for command in commands {
        log::trace!(target: TRACE, "relay C: {command}");
        batch.push_str(command);
        batch.push_str("\r\n");
    }
    out.write_all(batch.as_bytes())?;
    out.flush()
}

/// Writes the message text and the final dot.
fn send_message(out: &mut impl Write, message: &[u8]) -> io::Result<()> {
    log::trace!(target: TRACE, "relay C: ({} octets of message text)", message.len());
    write_stuffed(out, message)?;
    log::trace!(target: TRACE, "relay C: .");
    Ok(())
}

// ANCHOR: dot_stuff
/// Writes `message` as DATA text, then the end-of-data line `.` (RFC 5321 §4.5.2).
/// The message must already use CRLF line endings.
pub(crate) fn write_stuffed(out: &mut impl Write, message: &[u8]) -> io::Result<()> {
    let mut chunk = Vec::with_capacity(CHUNK + 1024);
    for line in message.split_inclusive(|&b| b == b'\n') {
        // §4.5.2: a line that starts with a period gets one more in front, so that no
        // line of text can look like the end of data.
        if line.starts_with(b".") {
            chunk.push(b'.');
        }
        chunk.extend_from_slice(line);
        if chunk.len() >= CHUNK {
            out.write_all(&chunk)?;
            chunk.clear();
        }
    }
    // §4.1.1.4: the end is <CRLF>.<CRLF>; its first CRLF ends the last line of text.
    if !message.is_empty() && !message.ends_with(b"\r\n") {
        chunk.extend_from_slice(b"\r\n");
    }
    chunk.extend_from_slice(b".\r\n");
    out.write_all(&chunk)?;
    out.flush()
}
// ANCHOR_END: dot_stuff

#[cfg(test)]
mod tests;
