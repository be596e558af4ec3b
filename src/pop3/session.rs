//! The POP3 session: one client's conversation as an explicit state machine
//! (RFC 1939 §3: AUTHORIZATION → TRANSACTION → UPDATE).
//!
//! Like the SMTP session, it is *sans-IO*: [`Input`]s go in through one door,
//! [`Session::handle`], and [`Action`]s come out. Where a command needs the disk (open
//! the maildrop, send a message, remove the deleted ones), the action is an
//! [`Effect`], the connection carries it out, and for opening and removing it reports
//! back ([`Input::MaildropOpened`], [`Input::Updated`]). So every rule here is tested
//! with plain strings, without a file. Every change of state goes through one
//! function, `Session::enter`, which logs it with its RFC section.
//!
//! Authentication is USER and PASS (RFC 1939 §7), asked of the [`Policy`]. A password in
//! the clear is allowed only over TLS, or from loopback with `--allow-plaintext-auth`
//! (RFC 2595 asks clients not to send one otherwise): the rule of
//! [`Peer::password_may_travel`], the same as SMTP's. STLS (RFC 2595 §4) is decided
//! here and carried out by the conversation, as STARTTLS is for SMTP: in AUTHORIZATION
//! the session answers `+OK` with [`Action::StartTls`], the conversation runs the
//! handshake and reports it as `Input::Wire(`[`Event::TlsEstablished`]`)`. With
//! `--pop3s-listen` (RFC 8314) the handshake comes before the greeting instead.
//!
//! Left out: APOP and AUTH (SASL, RFC 5034), LOGIN-DELAY and EXPIRE (RFC 2449 §6.5,
//! §6.7), and client certificates (SASL EXTERNAL, RFC 2595 §4).

use std::net::SocketAddr;
use std::sync::Arc;

use super::command::{parse, Command, ParseError};
use super::maildrop::{Entry, OpenError};
use super::reply::Reply;
use crate::config::Settings;
use crate::peer::Peer;
use crate::policy::{LoginFailure, Policy};
use crate::store::maildir::MailboxPath;
use crate::tls::TlsInfo;
use crate::wire::{self, Event, Line};
use crate::TRACE;

// ANCHOR: state
/// Where the conversation stands (RFC 1939 §3). Each variant carries its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// §4: greeting sent; the client must identify itself. `user` is the name from
    /// an accepted USER, waiting for its PASS.
    Authorization { user: Option<String> },
    /// §5: the maildrop is locked and listed; the client reads and marks messages.
    Transaction(Transaction),
    /// §6: QUIT in TRANSACTION; the messages marked deleted are being removed.
    Update,
    /// The conversation is over; nothing more will be read.
    Closed,
}

/// The TRANSACTION state's data: the snapshot of the maildrop and the DELE marks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    pub mailbox: MailboxPath,
    pub messages: Vec<Entry>,
    /// `deleted[i]`: message i + 1 was marked by DELE (RSET clears every mark).
    pub deleted: Vec<bool>,
}
// ANCHOR_END: state

impl State {
    pub fn name(&self) -> &'static str {
        match self {
            State::Authorization { .. } => "Authorization",
            State::Transaction(_) => "Transaction",
            State::Update => "Update",
            State::Closed => "Closed",
        }
    }
}

// ANCHOR: action
/// What the conversation must do after an input: send a response, close, start TLS,
/// or one of POP3's effects.
pub type Action = wire::Action<Reply, Effect>;

/// What only POP3's side of the conversation does: the maildrop's I/O.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// PASS was right: lock and list this mailbox, then report it with
    /// [`Input::MaildropOpened`] and do what that says.
    OpenMaildrop(MailboxPath),
    /// Send message `number` (index `number - 1` of the maildrop) after
    /// `+OK <octets> octets follow`: whole, and then mark it seen (RETR, `body_lines`
    /// `None`), or its header and that many body lines (TOP).
    Retrieve {
        number: usize,
        octets: u64,
        body_lines: Option<usize>,
    },
    /// QUIT in TRANSACTION: remove these messages (indices from 0), then report it
    /// with [`Input::Updated`] for the last response.
    Update(Vec<usize>),
}
// ANCHOR_END: action

// ANCHOR: input
/// Everything that can happen to a POP3 session, as it comes in through
/// [`Session::handle`]: what the conversation saw on the wire (a command line, a line
/// over RFC 2449 §4's 255 octets, the autologout timer of RFC 1939 §3, TLS after STLS
/// or on the implicit-TLS listener, shutdown), and what the maildrop's effects found.
#[derive(Debug)]
pub enum Input<'a> {
    Wire(Event<'a>),
    /// The connection tried to lock and list the maildrop after a good PASS.
    MaildropOpened(MailboxPath, Result<Vec<Entry>, OpenError>),
    /// UPDATE is done: this many marked messages could not be removed.
    Updated(usize),
}
// ANCHOR_END: input

/// One client's POP3 session.
pub struct Session {
    state: State,
    settings: Settings,
    policy: Arc<dyn Policy>,
    /// The client: its address, TLS (after STLS, or on the implicit-TLS listener), who
    /// logged in, and its mistakes.
    peer: Peer,
}

impl Session {
    /// A new session and the greeting to send (RFC 1939 §4).
    pub fn new(
        settings: Settings,
        policy: Arc<dyn Policy>,
        client: SocketAddr,
    ) -> (Session, Reply) {
        let greeting = Reply::greeting(&settings.hostname);
        let session = Session {
            state: State::Authorization { user: None },
            settings,
            policy,
            peer: Peer::new(client),
        };
        (session, greeting)
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn client(&self) -> SocketAddr {
        self.peer.address
    }

    // ANCHOR: handle
    /// The session's one door: every input comes in here, and one action goes out.
    pub fn handle(&mut self, input: Input<'_>) -> Action {
        match input {
            Input::Wire(Event::Line(line)) => self.command_line(line),
            Input::Wire(Event::LineTooLong) => self.line_too_long(),
            // RFC 1939 §3: the autologout timer; close without UPDATE.
            Input::Wire(Event::TimedOut) => {
                Action::Close(self.close("timeout", Reply::timeout(&self.settings.hostname)))
            }
            Input::Wire(Event::ShuttingDown) => {
                Action::Close(self.close("shutdown", Reply::shutting_down(&self.settings.hostname)))
            }
            Input::Wire(Event::TlsEstablished(tls)) => {
                self.tls_established(tls);
                Action::Listen
            }
            Input::Wire(Event::PlaintextAfterTls) => {
                Action::Close(self.close("pipelined after STLS", Reply::pipelined_after_stls()))
            }
            Input::MaildropOpened(mailbox, result) => self.maildrop_opened(mailbox, result),
            Input::Updated(failed) => Action::Close(self.updated(failed)),
        }
    }
    // ANCHOR_END: handle

    // ANCHOR: tls_established
    /// The TLS handshake succeeded (after STLS, or before the greeting on the
    /// implicit-TLS listener). From now on a password may come in `PASS`. A USER sent
    /// before the handshake is forgotten: it came in plaintext, and anyone on the path
    /// could have sent it (RFC 2595 §4 asks the client to start over with CAPA).
    fn tls_established(&mut self, tls: TlsInfo) {
        log::info!(
            "{} TLS established (POP3): {} {}",
            self.peer,
            tls.version,
            tls.cipher
        );
        self.peer.security.tls = Some(tls);
        let before = self.take();
        self.enter(
            before.name(),
            State::Authorization { user: None },
            "TLS handshake",
            "RFC 2595 §4",
        );
    }
    // ANCHOR_END: tls_established

    // ANCHOR: command_line
    /// One command line from the client.
    fn command_line(&mut self, line: Line<'_>) -> Action {
        // RFC 1939 §3: "Commands in the POP3 consist of ... terminated by a CRLF pair."
        let action = if !line.is_crlf_clean() {
            Action::Reply(Reply::bare_newline())
        } else {
            match parse(line.text()) {
                Ok(command) => self.command(command),
                Err(ParseError::Unknown) => Action::Reply(Reply::unknown_command()),
                Err(ParseError::Syntax(usage)) => Action::Reply(Reply::syntax(usage)),
            }
        };
        self.count_errors(action)
    }
    // ANCHOR_END: command_line

    /// RFC 2449 §4: a command line over 255 octets.
    fn line_too_long(&mut self) -> Action {
        let reply = Reply::line_too_long(self.settings.limits.pop3_command_line);
        self.count_errors(Action::Reply(reply))
    }

    /// How long the next command line may be (RFC 2449 §4: 255 octets, CRLF included).
    pub fn line_limit(&self) -> usize {
        self.settings.limits.pop3_command_line
    }

    // ANCHOR: command
    /// A parsed command: one step through the transition table, logged.
    fn command(&mut self, command: Command) -> Action {
        let state = self.take();
        let (keyword, section, before) = (command.keyword(), command.section(), state.name());
        let (next, action) = self.transition(state, command);
        self.enter(before, next, keyword, section);
        action
    }
    // ANCHOR_END: command

    // ANCHOR: transition
    /// The whole protocol in one table: (state, command) → (next state, action).
    fn transition(&self, state: State, command: Command) -> (State, Action) {
        use Command::*;
        match (state, command) {
            // RFC 2449 §5: CAPA in every state.
            (s, Capa) => {
                let capabilities = self.capabilities(&s);
                (s, capabilities)
            }

            // ANCHOR: stls_arms
            // RFC 2595 §4: STLS, only in AUTHORIZATION, only once, only with a certificate.
            (s, Stls) if !self.settings.tls => (s, Action::Reply(Reply::tls_not_available())),
            (s @ State::Authorization { .. }, Stls) if self.peer.security.tls.is_some() => {
                (s, Action::Reply(Reply::tls_already_active()))
            }
            // The state changes only once the handshake is done (Input::Wire(Event::TlsEstablished)).
            (s @ State::Authorization { .. }, Stls) => (s, Action::StartTls(Reply::begin_tls())),
            (s, Stls) => (s, Action::Reply(Reply::stls_after_login())),
            // ANCHOR_END: stls_arms

            // ANCHOR: authorization_arms
            // RFC 2595: no password in the clear where it could be read on the way.
            (s @ State::Authorization { .. }, User(_) | Pass(_)) if !self.plaintext_allowed() => {
                (s, Action::Reply(Reply::plaintext_refused()))
            }
            // RFC 1939 §7: USER names the maildrop; postie says +OK to any name, so
            // that USER does not tell who exists.
            (State::Authorization { .. }, User(name)) => (
                State::Authorization { user: Some(name) },
                Action::Reply(Reply::send_pass()),
            ),
            (State::Authorization { user: Some(name) }, Pass(password)) => {
                // RFC 1939 §7: after a failed PASS, the client starts again with USER.
                let next = State::Authorization { user: None };
                match self.policy.login(&name, &password) {
                    Ok(mailbox) => (next, Action::Effect(Effect::OpenMaildrop(mailbox))),
                    Err(LoginFailure::Refused) => (next, Action::Reply(Reply::bad_credentials())),
                    // RFC 3206 §4: [SYS/TEMP], "the problem is temporary"; try again.
                    Err(LoginFailure::TryLater) => (next, Action::Reply(Reply::cannot_check_now())),
                }
            }
            (s @ State::Authorization { user: None }, Pass(_)) => (s, reply_err("Send USER first")),
            // RFC 1939 §6: QUIT before logging in ends the session; nothing to update.
            (State::Authorization { .. }, Quit) => (
                State::Closed,
                Action::Close(Reply::signing_off(&self.settings.hostname)),
            ),
            (s @ State::Authorization { .. }, _) => (s, reply_err("Log in first (USER and PASS)")),
            // ANCHOR_END: authorization_arms

            // ANCHOR: transaction_arms
            (State::Transaction(t), Stat) => {
                let (count, octets) = t.totals();
                (
                    State::Transaction(t),
                    Action::Reply(Reply::stat(count, octets)),
                )
            }
            (State::Transaction(t), List(None)) => {
                let reply = t.listing("scan listing", |n, e| format!("{n} {}", e.octets));
                (State::Transaction(t), Action::Reply(reply))
            }
            (State::Transaction(t), List(Some(n))) => {
                let reply = t.entry(n).map(|e| Reply::scan_listing(n, e.octets));
                (
                    State::Transaction(t),
                    Action::Reply(reply.unwrap_or_else(|r| r)),
                )
            }
            (State::Transaction(t), Uidl(None)) => {
                let reply = t.listing("unique-id listing", |n, e| format!("{n} {}", e.uid));
                (State::Transaction(t), Action::Reply(reply))
            }
            (State::Transaction(t), Uidl(Some(n))) => {
                let reply = t.entry(n).map(|e| Reply::unique_id(n, &e.uid));
                (
                    State::Transaction(t),
                    Action::Reply(reply.unwrap_or_else(|r| r)),
                )
            }
            (State::Transaction(t), Retr(n)) => t.retrieve(n, None),
            (State::Transaction(t), Top(n, lines)) => t.retrieve(n, Some(lines)),
            (State::Transaction(mut t), Dele(n)) => {
                let reply = match t.entry(n) {
                    Ok(_) => {
                        t.deleted[n - 1] = true;
                        Reply::deleted(n)
                    }
                    Err(reply) => reply,
                };
                (State::Transaction(t), Action::Reply(reply))
            }
            (State::Transaction(t), Noop) => (State::Transaction(t), Action::Reply(Reply::ok(""))),
            // RFC 1939 §5: RSET unmarks every message marked deleted.
            (State::Transaction(mut t), Rset) => {
                t.deleted.iter_mut().for_each(|d| *d = false);
                let (count, octets) = t.totals();
                (
                    State::Transaction(t),
                    Action::Reply(Reply::reset(count, octets)),
                )
            }
            // RFC 1939 §6: QUIT in TRANSACTION enters UPDATE: now, and only now, the
            // marked messages are removed.
            (State::Transaction(t), Quit) => {
                let marked = (0..t.deleted.len()).filter(|&i| t.deleted[i]).collect();
                (State::Update, Action::Effect(Effect::Update(marked)))
            }
            (s @ State::Transaction(_), User(_) | Pass(_)) => (s, reply_err("Already logged in")),
            // ANCHOR_END: transaction_arms

            // The connection reads nothing in Update or after Closed; this arm only keeps
            // the table total.
            (s @ (State::Update | State::Closed), _) => (s, reply_err("No commands now")),
        }
    }
    // ANCHOR_END: transition

    // ANCHOR: maildrop_opened
    /// The connection tried to lock and list the maildrop after a good PASS
    /// (RFC 1939 §7: "+OK maildrop locked and ready").
    fn maildrop_opened(
        &mut self,
        mailbox: MailboxPath,
        result: Result<Vec<Entry>, OpenError>,
    ) -> Action {
        let action = match result {
            Ok(messages) => {
                let t = Transaction {
                    mailbox,
                    deleted: vec![false; messages.len()],
                    messages,
                };
                let (count, octets) = t.totals();
                let before = self.take();
                self.enter(
                    before.name(),
                    State::Transaction(t),
                    "maildrop locked",
                    "RFC 1939 §4",
                );
                Action::Reply(Reply::maildrop_ready(count, octets))
            }
            // RFC 2449 §8.1.2: [IN-USE]; the client may try again later.
            Err(OpenError::InUse) => Action::Reply(Reply::in_use()),
            Err(OpenError::Io(e)) => {
                log::warn!("{}: cannot open maildrop: {e}", self.peer);
                Action::Reply(Reply::maildrop_unavailable())
            }
        };
        self.count_errors(action)
    }
    // ANCHOR_END: maildrop_opened

    /// UPDATE is done: `failed` marked messages could not be removed (RFC 1939 §6).
    fn updated(&mut self, failed: usize) -> Reply {
        let reply = if failed == 0 {
            Reply::signing_off(&self.settings.hostname)
        } else {
            Reply::some_not_removed(failed)
        };
        self.close("update", reply)
    }

    // ANCHOR: capabilities
    /// RFC 2449 §5: what this server offers in `state`, one capability per line.
    pub fn capabilities(&self, state: &State) -> Action {
        let mut lines = vec![
            "TOP".to_string(),  // RFC 2449 §6.1
            "UIDL".to_string(), // RFC 2449 §6.8
        ];
        // RFC 2595 §4: STLS is listed where it is "present and permitted in the
        // current state": before logging in, with a certificate, not yet over TLS.
        let authorization = matches!(state, State::Authorization { .. });
        if authorization && self.peer.may_start_tls(&self.settings) {
            lines.push("STLS".to_string());
        }
        // RFC 2449 §6.2: USER only where it may be used now.
        if self.plaintext_allowed() {
            lines.push("USER".to_string());
        }
        lines.push("RESP-CODES".to_string()); // RFC 2449 §6.4
        lines.push("AUTH-RESP-CODE".to_string()); // RFC 3206
        lines.push("PIPELINING".to_string()); // RFC 2449 §6.6
        lines.push("IMPLEMENTATION postie".to_string()); // RFC 2449 §6.9
        Action::Reply(Reply::ok_multiline("Capability list follows", lines))
    }
    // ANCHOR_END: capabilities

    // ANCHOR: plaintext_allowed
    /// May the client send a password in the clear now? Over TLS, yes; otherwise only
    /// with `--allow-plaintext-auth` and from this machine.
    fn plaintext_allowed(&self) -> bool {
        self.peer.password_may_travel(&self.settings)
    }
    // ANCHOR_END: plaintext_allowed

    /// RFC 1939 gives no error budget, but a client that only makes mistakes (or guesses
    /// passwords) is shown the door after `max_errors` of them.
    fn count_errors(&mut self, action: Action) -> Action {
        let mistake = matches!(&action, Action::Reply(r) if !r.is_ok() && !is_server_side(r));
        if mistake && self.peer.count_mistake(&self.settings) {
            let reply = Reply::too_many_errors(&self.settings.hostname);
            return Action::Close(self.close("errors", reply));
        }
        action
    }

    /// Moves to Closed without UPDATE: nothing marked is removed (RFC 1939 §6).
    fn close(&mut self, why: &str, reply: Reply) -> Reply {
        let state = self.take();
        self.enter(state.name(), State::Closed, why, "RFC 1939 §6");
        reply
    }

    // ANCHOR: enter
    /// Takes the state out, to be put back (or replaced) by [`Session::enter`].
    fn take(&mut self) -> State {
        std::mem::replace(&mut self.state, State::Closed)
    }

    /// The one door for every change of state: logs `from -> to` with what caused it
    /// and its RFC section, and enters `next`.
    fn enter(&mut self, from: &str, next: State, what: &str, section: &str) {
        let to = next.name();
        log::debug!(target: TRACE, "{} POP3 {what} ({section}): {from} -> {to}", self.peer);
        self.state = next;
    }
    // ANCHOR_END: enter
}

impl Transaction {
    /// STAT and RSET: messages not marked deleted, and their octets (RFC 1939 §5).
    fn totals(&self) -> (usize, u64) {
        self.live().fold((0, 0), |(count, octets), (_, e)| {
            (count + 1, octets + e.octets)
        })
    }

    /// (number, entry) of every message not marked deleted.
    fn live(&self) -> impl Iterator<Item = (usize, &Entry)> {
        self.messages
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.deleted[*i])
            .map(|(i, e)| (i + 1, e))
    }

    /// Message `number`, unless it does not exist or is marked deleted (RFC 1939 §5).
    fn entry(&self, number: usize) -> Result<&Entry, Reply> {
        match self.messages.get(number.wrapping_sub(1)) {
            None => Err(Reply::no_such_message(number)),
            Some(_) if self.deleted[number - 1] => Err(Reply::already_deleted(number)),
            Some(entry) => Ok(entry),
        }
    }

    /// LIST and UIDL without an argument: one line per message not marked deleted.
    fn listing(&self, what: &str, line: impl Fn(usize, &Entry) -> String) -> Reply {
        let (count, octets) = self.totals();
        let lines = self.live().map(|(n, e)| line(n, e)).collect();
        Reply::ok_multiline(
            format!("{count} message(s) ({octets} octets), {what} follows"),
            lines,
        )
    }

    /// RETR and TOP.
    fn retrieve(self, number: usize, body_lines: Option<usize>) -> (State, Action) {
        let action = match self.entry(number) {
            Ok(entry) => Action::Effect(Effect::Retrieve {
                number,
                octets: entry.octets,
                body_lines,
            }),
            Err(reply) => Action::Reply(reply),
        };
        (State::Transaction(self), action)
    }
}

fn reply_err(text: &str) -> Action {
    Action::Reply(Reply::wrong_state(text))
}

/// `[SYS/...]` and `[IN-USE]` are the server's trouble, not the client's mistake.
fn is_server_side(reply: &Reply) -> bool {
    reply
        .code()
        .is_some_and(|c| c.starts_with("SYS/") || c == "IN-USE")
}

#[cfg(test)]
mod tests;
