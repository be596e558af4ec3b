//! The POP3 session: one client's conversation as an explicit state machine
//! (RFC 1939 §3: AUTHORIZATION → TRANSACTION → UPDATE).
//!
//! Like the SMTP session, it is *sans-IO*: lines go in, [`Action`]s come out. Where a
//! command needs the disk (open the maildrop, send a message, remove the deleted ones),
//! the action says so, the connection does it, and for opening and removing it reports
//! back ([`Session::maildrop_opened`], [`Session::updated`]). So every rule here is
//! tested with plain strings, without a file.
//!
//! Authentication is USER and PASS (RFC 1939 §7), against the users file's password
//! hashes. A password in the clear is allowed only over TLS, or from loopback with
//! `--allow-plaintext-auth` (RFC 2595 asks clients not to send one otherwise).
//! `secure` is that "over TLS". STLS (RFC 2595 §4) is decided here and carried out by
//! the connection, as STARTTLS is for SMTP: in AUTHORIZATION the session answers `+OK`
//! with [`Action::StartTls`], the connection runs the handshake and reports it with
//! [`Session::tls_established`], and from then on `secure` is true. With
//! `--pop3s-listen` (RFC 8314) the handshake comes before the greeting instead.
//!
//! Left out: APOP and AUTH (SASL, RFC 5034), LOGIN-DELAY and EXPIRE (RFC 2449 §6.5,
//! §6.7), and client certificates (SASL EXTERNAL, RFC 2595 §4).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use super::command::{parse, Command, ParseError};
use super::maildrop::{Entry, OpenError};
use super::reply::Reply;
use crate::config::Config;
use crate::line::Line;
use crate::store::mailbox::{domain_name, mailbox_name};
use crate::store::maildir::MailboxPath;
use crate::tls::TlsInfo;
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
/// What the connection must do after a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send the response and read the next command.
    Reply(Reply),
    /// PASS was right: lock and list this mailbox, then call
    /// [`Session::maildrop_opened`] and do what it says.
    OpenMaildrop(MailboxPath),
    /// Send message `number` (index `number - 1` of the maildrop) after
    /// `+OK <octets> octets follow`: whole, and then mark it seen (RETR, `body_lines`
    /// `None`), or its header and that many body lines (TOP).
    Retrieve {
        number: usize,
        octets: u64,
        body_lines: Option<usize>,
    },
    /// QUIT in TRANSACTION: remove these messages (indices from 0), then call
    /// [`Session::updated`] for the last response.
    Update(Vec<usize>),
    /// Send the response and close the connection.
    Close(Reply),
    /// STLS accepted: send the response, run the TLS handshake, then call
    /// [`Session::tls_established`] (RFC 2595 §4).
    StartTls(Reply),
}
// ANCHOR_END: action

/// One client's POP3 session.
pub struct Session {
    state: State,
    config: Arc<Config>,
    client: SocketAddr,
    /// Is the connection encrypted (after STLS, or on the implicit-TLS listener)?
    secure: bool,
    errors: u32,
}

impl Session {
    /// A new session and the greeting to send (RFC 1939 §4).
    pub fn new(config: Arc<Config>, client: SocketAddr) -> (Session, Reply) {
        let greeting = Reply::greeting(&config.hostname);
        let session = Session {
            state: State::Authorization { user: None },
            config,
            client,
            secure: false,
            errors: 0,
        };
        (session, greeting)
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn client(&self) -> SocketAddr {
        self.client
    }

    // ANCHOR: tls_established
    /// The TLS handshake succeeded (after STLS, or before the greeting on the
    /// implicit-TLS listener). From now on a password may come in `PASS`. A USER sent
    /// before the handshake is forgotten: it came in plaintext, and anyone on the path
    /// could have sent it (RFC 2595 §4 asks the client to start over with CAPA).
    pub fn tls_established(&mut self, tls: TlsInfo) {
        log::info!(
            "{} TLS established (POP3): {} {}",
            self.client,
            tls.version,
            tls.cipher
        );
        self.secure = true;
        let before = std::mem::replace(&mut self.state, State::Authorization { user: None });
        self.log_transition(
            "TLS handshake",
            "RFC 2595 §4",
            before.name(),
            "Authorization",
        );
    }
    // ANCHOR_END: tls_established

    /// Commands arrived behind STLS, before the handshake: refuse and close.
    pub fn pipelined_after_stls(&mut self) -> Reply {
        self.close("pipelined after STLS", Reply::pipelined_after_stls())
    }

    // ANCHOR: command_line
    /// One command line from the client.
    pub fn command_line(&mut self, line: Line<'_>) -> Action {
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
    pub fn line_too_long(&mut self) -> Action {
        let reply = Reply::line_too_long(self.config.limits.pop3_command_line);
        self.count_errors(Action::Reply(reply))
    }

    /// RFC 1939 §3: the autologout timer expired. Close without UPDATE.
    pub fn timed_out(&mut self) -> Reply {
        self.close("timeout", Reply::timeout(&self.config.hostname))
    }

    /// The server is stopping. Close without UPDATE.
    pub fn shutting_down(&mut self) -> Reply {
        self.close("shutdown", Reply::shutting_down(&self.config.hostname))
    }

    // ANCHOR: command
    /// A parsed command: one step through the transition table, logged.
    fn command(&mut self, command: Command) -> Action {
        let state = std::mem::replace(&mut self.state, State::Closed);
        let (keyword, section, before) = (command.keyword(), command.section(), state.name());
        let (next, action) = self.transition(state, command);
        self.log_transition(keyword, section, before, next.name());
        self.state = next;
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
            (s, Stls) if self.config.tls.is_none() => {
                (s, Action::Reply(Reply::tls_not_available()))
            }
            (s @ State::Authorization { .. }, Stls) if self.secure => {
                (s, Action::Reply(Reply::tls_already_active()))
            }
            // The state changes only once the handshake is done (`tls_established`).
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
                match self.account(&name, &password) {
                    Some(mailbox) => (next, Action::OpenMaildrop(mailbox)),
                    None => (next, Action::Reply(Reply::bad_credentials())),
                }
            }
            (s @ State::Authorization { user: None }, Pass(_)) => (s, reply_err("Send USER first")),
            // RFC 1939 §6: QUIT before logging in ends the session; nothing to update.
            (State::Authorization { .. }, Quit) => (
                State::Closed,
                Action::Close(Reply::signing_off(&self.config.hostname)),
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
                (State::Update, Action::Update(marked))
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
    pub fn maildrop_opened(
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
                self.state = State::Transaction(t);
                self.log_transition(
                    "maildrop locked",
                    "RFC 1939 §4",
                    "Authorization",
                    "Transaction",
                );
                Action::Reply(Reply::maildrop_ready(count, octets))
            }
            // RFC 2449 §8.1.2: [IN-USE]; the client may try again later.
            Err(OpenError::InUse) => Action::Reply(Reply::in_use()),
            Err(OpenError::Io(e)) => {
                log::warn!("{}: cannot open maildrop: {e}", self.client);
                Action::Reply(Reply::maildrop_unavailable())
            }
        };
        self.count_errors(action)
    }
    // ANCHOR_END: maildrop_opened

    /// UPDATE is done: `failed` marked messages could not be removed (RFC 1939 §6).
    pub fn updated(&mut self, failed: usize) -> Reply {
        let reply = if failed == 0 {
            Reply::signing_off(&self.config.hostname)
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
        if authorization && self.config.tls.is_some() && !self.secure {
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
        self.secure || (self.config.allow_plaintext_auth && is_loopback(self.client.ip()))
    }
    // ANCHOR_END: plaintext_allowed

    // ANCHOR: account
    /// USER's name is the full address (`alice@localhost`); the users file holds its
    /// password hash. Returns the mailbox, or `None` for any kind of "no".
    fn account(&self, name: &str, password: &str) -> Option<MailboxPath> {
        let users = self.config.policy.users.as_ref()?;
        // Verify first, for every name: an unknown user costs the same hashing time.
        if !users.verify(name, password) {
            return None;
        }
        let (local_part, domain) = name.rsplit_once('@')?;
        let domain = domain.to_ascii_lowercase();
        if !self.config.policy.local_domains.contains(&domain) {
            return None;
        }
        Some(MailboxPath {
            domain: domain_name(&domain).ok()?,
            mailbox: mailbox_name(local_part).ok()?,
        })
    }
    // ANCHOR_END: account

    /// RFC 1939 gives no error budget, but a client that only makes mistakes (or guesses
    /// passwords) is shown the door after `max_errors` of them.
    fn count_errors(&mut self, action: Action) -> Action {
        if matches!(&action, Action::Reply(r) if !r.is_ok() && !is_server_side(r)) {
            self.errors += 1;
            if self.errors > self.config.limits.max_errors {
                let reply = Reply::too_many_errors(&self.config.hostname);
                return Action::Close(self.close("errors", reply));
            }
        }
        action
    }

    /// Moves to Closed without UPDATE: nothing marked is removed (RFC 1939 §6).
    fn close(&mut self, why: &str, reply: Reply) -> Reply {
        let state = std::mem::replace(&mut self.state, State::Closed);
        self.log_transition(why, "RFC 1939 §6", state.name(), "Closed");
        reply
    }

    fn log_transition(&self, what: &str, section: &str, from: &str, to: &str) {
        log::debug!(target: TRACE, "{} POP3 {what} ({section}): {from} -> {to}", self.client);
    }
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
            Ok(entry) => Action::Retrieve {
                number,
                octets: entry.octets,
                body_lines,
            },
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

/// Loopback, also as an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`).
fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(v6.is_loopback(), |v4| v4.is_loopback()),
    }
}

#[cfg(test)]
mod tests;
