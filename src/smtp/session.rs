//! The SMTP session: one client's conversation as an explicit state machine
//! (RFC 5321 §3.3 mail transactions, §4.1.4 order of commands).
//!
//! The session is *sans-IO*: lines go in, [`Action`]s (a reply, and what to do next)
//! come out. It never reads a socket or writes a file, so every rule here can be tested
//! with plain byte strings, and the connection loop that drives it stays a few lines.
//!
//! Each [`State`] variant carries exactly the data of its stage, so an impossible state
//! (a MAIL transaction without a greeting, DATA without recipients) cannot be written.
//! One `match (state, command)` in `Session::transition` holds every rule.
//!
//! Everything that happens to the session comes in through one door,
//! [`Session::handle`], as an [`Input`]: a line, a line too long, a timeout, TLS
//! established, the end of a message, shutdown. Every change of state goes through one
//! function, `Session::enter`, which logs it with the RFC section behind it.
//!
//! STARTTLS (RFC 3207) is decided here and carried out by the conversation: the session
//! answers 220 with [`Action::StartTls`], the conversation runs the handshake and
//! reports it as `Input::Wire(`[`Event::TlsEstablished`]`)`, and the session starts
//! again from the greeting, as §4.2 requires.
//!
//! The session knows only what [`Settings`] tell it of the configuration, and asks a
//! [`Policy`] the questions that depend on who is who (which domains are ours, who may
//! relay, whether a user exists, whether a password is right).
//!
//! AUTH (RFC 4954) is a short exchange of its own: `AUTH PLAIN` or `AUTH LOGIN`, then
//! 334 challenges and base64 answers, in the [`State::Auth`] state, until 235 or 535.
//! It is offered only over TLS (or, with `--allow-plaintext-auth`, to loopback
//! clients), and the SASL details live in [`super::auth`].
//!
//! Left out: SASL security layers (none of PLAIN and LOGIN has one), and AUTH= on MAIL
//! (RFC 4954 §5), which only matters to servers that relay onward with AUTH.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;

use super::auth::{self, Mechanism};
use super::command::{parse, Command, MailParameters};
use super::data::Refusal;
use super::reply::{Reply, Status};
use crate::address::{ForwardPath, Host, ReversePath};
use crate::config::{Service, Settings};
use crate::peer::Peer;
use crate::policy::{Decision, LoginFailure, Policy};
use crate::sasl::{self, Credentials, SaslError};
use crate::security::Security;
use crate::store::maildir::MailboxPath;
pub use crate::tls::TlsInfo;
use crate::wire::{self, Event, Line};
use crate::TRACE;

// ANCHOR: hello
/// What the client told us in EHLO or HELO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// The domain or address literal the client gave.
    pub host: Host,
    /// EHLO (true) or HELO (false): may the client use service extensions?
    pub extended: bool,
}
// ANCHOR_END: hello

// ANCHOR: destination
/// One accepted recipient and where its copy goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub forward_path: ForwardPath,
    pub destination: Destination,
}

/// Local delivery or relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// One of our domains: this Maildir mailbox.
    Local(MailboxPath),
    /// Another domain: the outbound queue, then the recipient domain's MX host.
    Remote,
}
// ANCHOR_END: destination

// ANCHOR: envelope
/// One mail transaction (RFC 5321 §3.3): who it is from, for whom, how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub reverse_path: ReversePath,
    pub parameters: MailParameters,
    pub recipients: Vec<Recipient>,
}
// ANCHOR_END: envelope

// ANCHOR: state
/// Where the conversation stands. Each variant carries the data of its stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Greeting sent; waiting for EHLO or HELO.
    Connected,
    /// The client introduced itself; no transaction yet.
    Ready { hello: Hello },
    /// MAIL accepted; no recipient yet.
    MailFrom { hello: Hello, envelope: Envelope },
    /// At least one RCPT accepted; DATA may follow.
    RcptTo { hello: Hello, envelope: Envelope },
    /// 354 sent: the connection is reading message text, not commands.
    Data { hello: Hello, envelope: Envelope },
    /// 334 sent: the next line is a base64 answer to a SASL challenge, not a command.
    Auth { hello: Hello, step: AuthStep },
    /// QUIT, or a 421: nothing more will be read.
    Closed,
}
// ANCHOR_END: state

// ANCHOR: auth_step
/// Which answer the AUTH exchange waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthStep {
    /// PLAIN without an initial response: the whole PLAIN message.
    Plain,
    /// LOGIN: the user name.
    LoginUser,
    /// LOGIN: the password of `user`.
    LoginPassword { user: String },
}
// ANCHOR_END: auth_step

impl State {
    /// The variant's name, for logs and `--trace`.
    pub fn name(&self) -> &'static str {
        match self {
            State::Connected => "Connected",
            State::Ready { .. } => "Ready",
            State::MailFrom { .. } => "MailFrom",
            State::RcptTo { .. } => "RcptTo",
            State::Data { .. } => "Data",
            State::Auth { .. } => "Auth",
            State::Closed => "Closed",
        }
    }

    fn hello(&self) -> Option<&Hello> {
        match self {
            State::Ready { hello }
            | State::MailFrom { hello, .. }
            | State::RcptTo { hello, .. }
            | State::Data { hello, .. }
            | State::Auth { hello, .. } => Some(hello),
            State::Connected | State::Closed => None,
        }
    }

    // ANCHOR: reset
    /// RSET (§4.1.1.5) and the end of a message both go back to "greeted, no transaction".
    fn reset(self) -> State {
        match self {
            State::Ready { hello }
            | State::MailFrom { hello, .. }
            | State::RcptTo { hello, .. }
            | State::Data { hello, .. }
            | State::Auth { hello, .. } => State::Ready { hello },
            other => other,
        }
    }
    // ANCHOR_END: reset
}

// ANCHOR: action
/// What the conversation must do after an input: send a reply, close, start TLS, or
/// SMTP's one effect of its own.
pub type Action = wire::Action<Reply, Effect>;

/// What only SMTP's side of the conversation does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Send the 354 and read message text until the lone dot; then report how it
    /// ended with [`Input::MessageEnd`].
    ReceiveData(Reply),
}
// ANCHOR_END: action

impl Action {
    /// The same action, its reply without the enhanced status code.
    pub fn without_status(self) -> Action {
        match self {
            Action::Reply(r) => Action::Reply(r.without_status()),
            Action::Effect(Effect::ReceiveData(r)) => {
                Action::Effect(Effect::ReceiveData(r.without_status()))
            }
            Action::Close(r) => Action::Close(r.without_status()),
            Action::StartTls(r) => Action::StartTls(r.without_status()),
            Action::Listen => Action::Listen,
        }
    }

    /// The reply the action sends, if it sends one.
    pub fn reply(&self) -> Option<&Reply> {
        match self {
            Action::Reply(r)
            | Action::Effect(Effect::ReceiveData(r))
            | Action::Close(r)
            | Action::StartTls(r) => Some(r),
            Action::Listen => None,
        }
    }
}

// ANCHOR: input
/// Everything that can happen to a session, as it comes in through [`Session::handle`]:
/// what the conversation saw on the wire (a command line, or, in the Auth state, the
/// answer to a 334; a line too long; a timeout; TLS; shutdown), and how message text
/// ended.
#[derive(Debug)]
pub enum Input<'a> {
    Wire(Event<'a>),
    /// Message text had a bare CR or LF: perhaps a smuggled end of data.
    BareNewlineInData,
    /// The message text ended (the lone dot): stored, refused, or not stored.
    MessageEnd(MessageOutcome),
}
// ANCHOR_END: input

/// How the message text ended, as the connection reports it to the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageOutcome {
    /// Safely on disk under this id.
    Stored { id: String },
    /// The DATA decoder refused it (too big, too long a line, a loop).
    Refused(Refusal),
    /// We could not store it; the client keeps responsibility.
    NotStored(ErrorKind),
}

/// One client's session.
pub struct Session {
    state: State,
    settings: Settings,
    /// What the listener offers: SMTP, or submission with its stricter rules.
    service: Service,
    policy: Arc<dyn Policy>,
    /// The client: its address, its TLS and AUTH, its mistakes.
    peer: Peer,
    /// Failed AUTH attempts on this connection.
    auth_failures: u32,
    /// Transitions not yet collected by [`Session::take_transitions`]; `None`: not
    /// recorded (the web view's sessions page asks for them).
    transitions: Option<Vec<String>>,
}

impl Session {
    // ANCHOR: new
    /// A new session and the greeting to send (RFC 5321 §3.1, §4.2: 220).
    pub fn new(
        settings: Settings,
        service: Service,
        policy: Arc<dyn Policy>,
        client: SocketAddr,
    ) -> (Session, Reply) {
        let greeting = Reply::service_ready(&settings.hostname);
        let session = Session {
            state: State::Connected,
            settings,
            service,
            policy,
            peer: Peer::new(client),
            auth_failures: 0,
            transitions: None,
        };
        (session, greeting)
    }
    // ANCHOR_END: new

    pub fn state(&self) -> &State {
        &self.state
    }

    /// From now on, keep each transition (as `--trace` logs it) for
    /// [`Session::take_transitions`].
    pub fn record_transitions(&mut self) {
        self.transitions.get_or_insert_with(Vec::new);
    }

    /// The transitions since the last call, oldest first.
    pub fn take_transitions(&mut self) -> Vec<String> {
        self.transitions
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    pub fn client(&self) -> SocketAddr {
        self.peer.address
    }

    /// TLS and AUTH facts about this client.
    pub fn security(&self) -> &Security {
        &self.peer.security
    }

    // ANCHOR: handle
    /// The session's one door: every input comes in here, and one action goes out.
    pub fn handle(&mut self, input: Input<'_>) -> Action {
        match input {
            Input::Wire(Event::Line(line)) => self.command_line(line),
            Input::Wire(Event::LineTooLong) => self.line_too_long(),
            // RFC 5321 §4.5.3.2: a server may close a connection that has been silent
            // past its timeout, with 421 (§3.8).
            Input::Wire(Event::TimedOut) => {
                Action::Close(self.close(Reply::timeout(&self.settings.hostname), "timeout"))
            }
            Input::Wire(Event::ShuttingDown) => {
                Action::Close(self.close(Reply::shutting_down(&self.settings.hostname), "shutdown"))
            }
            Input::Wire(Event::TlsEstablished(tls)) => {
                self.tls_established(tls);
                Action::Listen
            }
            Input::Wire(Event::PlaintextAfterTls) => Action::Close(self.close(
                Reply::pipelined_after_starttls(),
                "commands pipelined after STARTTLS",
            )),
            // RFC 5321 §2.3.8, §4.1.1.4: never guess where a message with a bare CR or
            // LF ended; refuse and close (no resynchronisation).
            Input::BareNewlineInData => {
                Action::Close(self.close(Reply::bare_newline_in_data(), "bare newline in data"))
            }
            Input::MessageEnd(outcome) => self.message_received(outcome),
        }
    }
    // ANCHOR_END: handle

    // ANCHOR: tls_established
    /// The TLS handshake succeeded. RFC 3207 §4.2: the conversation starts again from
    /// the greeting, and everything the client said before (its EHLO) is forgotten;
    /// it must say EHLO again, and this time STARTTLS is not offered.
    fn tls_established(&mut self, tls: TlsInfo) {
        log::info!(
            "{} TLS established: {} {}",
            self.peer,
            tls.version,
            tls.cipher
        );
        let before = self.take();
        self.enter(
            before.name(),
            State::Connected,
            "TLS handshake",
            "RFC 3207 §4.2",
        );
        // §4.2 also means forgetting an AUTH from before the handshake.
        self.peer.security = Security {
            tls: Some(tls),
            user: None,
        };
    }
    // ANCHOR_END: tls_established

    // ANCHOR: command_line
    /// One command line from the client, as the line reader delivered it.
    fn command_line(&mut self, line: Line<'_>) -> Action {
        let extended = self.extended();
        // RFC 5321 §2.3.8: lines end with CRLF; a bare CR or LF is not a line ending.
        let action = if !line.is_crlf_clean() {
            Action::Reply(Reply::bare_newline())
        } else if let State::Auth { .. } = self.state {
            self.auth_answer(line.text())
        } else if is_http_request(line.text()) {
            let reply = Reply::http_request(&self.settings.hostname);
            Action::Close(self.close(reply, "HTTP request"))
        } else {
            match parse(line.text()) {
                Ok(command) => self.command(command),
                Err(reply) => Action::Reply(reply),
            }
        };
        self.answer(action, extended)
    }
    // ANCHOR_END: command_line

    // ANCHOR: line_limit
    /// How long the next line may be: a command line (RFC 5321 §4.5.3.1.4), or an
    /// answer in an AUTH exchange, which RFC 4954 §4 allows 12288 octets. The AUTH
    /// command itself stays a command line: §4 tells a client whose initial response
    /// would not fit to send it as an answer instead.
    pub fn line_limit(&self) -> usize {
        match self.state {
            State::Auth { .. } => self.settings.limits.auth_line,
            _ => self.settings.limits.command_line,
        }
    }
    // ANCHOR_END: line_limit

    /// The line reader found a line over [`Session::line_limit`].
    fn line_too_long(&mut self) -> Action {
        let limit = self.line_limit();
        // An over-long AUTH answer ends the exchange; a command line changes nothing.
        if let State::Auth { hello, .. } = &self.state {
            let ready = State::Ready {
                hello: hello.clone(),
            };
            self.enter("Auth", ready, "AUTH answer too long", "RFC 4954 §4");
        }
        let reply = Reply::line_too_long(limit);
        self.answer(Action::Reply(reply), self.extended())
    }

    // ANCHOR: shown
    /// What `--trace` may show of a line from the client: AUTH answers and initial
    /// responses are masked, since base64 hides nothing.
    pub fn shown(&self, text: &str) -> String {
        match self.state {
            State::Auth { .. } => auth::HIDDEN.to_string(),
            _ => auth::mask_command(text).unwrap_or_else(|| text.to_string()),
        }
    }
    // ANCHOR_END: shown

    /// The transaction being received, while in the Data state.
    pub fn transaction(&self) -> Option<(&Hello, &Envelope)> {
        match &self.state {
            State::Data { hello, envelope } => Some((hello, envelope)),
            _ => None,
        }
    }

    // ANCHOR: message_received
    /// The lone dot arrived: exactly one reply for the whole DATA (RFC 5321 §4.1.1.4).
    fn message_received(&mut self, outcome: MessageOutcome) -> Action {
        let limits = &self.settings.limits;
        let reply = match outcome {
            // RFC 5321 §6.1: this 250 is our promise; the message is already on disk.
            MessageOutcome::Stored { id } => Reply::message_accepted(&id),
            MessageOutcome::Refused(Refusal::TooBig { .. }) => {
                Reply::message_too_big(limits.max_message_size)
            }
            MessageOutcome::Refused(Refusal::LineTooLong) => {
                Reply::text_line_too_long(limits.text_line)
            }
            MessageOutcome::Refused(Refusal::TooManyHops { received }) => {
                Reply::mail_loop(received)
            }
            MessageOutcome::NotStored(kind) => Reply::local_error(kind),
        };
        let extended = self.extended();
        let state = self.take();
        self.enter(state.name(), state.reset(), "end of data", "§4.1.1.4");
        self.answer(Action::Reply(reply), extended)
    }
    // ANCHOR_END: message_received

    // ANCHOR: command
    /// A parsed command: one step through the transition table, logged.
    fn command(&mut self, command: Command) -> Action {
        let state = self.take();
        let (verb, section) = (command.verb().to_string(), command.section());
        let before = state.name();
        let (next, action) = self.transition(state, command);
        self.enter(before, next, &verb, section);
        action
    }
    // ANCHOR_END: command

    // ANCHOR: transition
    /// The whole protocol in one table: (state, command) → (next state, action).
    fn transition(&mut self, state: State, command: Command) -> (State, Action) {
        let host = &self.settings.hostname.clone(); // an Arc: no copy of the text
        match (state, command) {
            // In Data the connection reads message text, not commands, in Auth
            // `command_line` hands answers to `auth_answer`, and after Closed nothing is
            // read; this arm only keeps the table total.
            (s @ (State::Data { .. } | State::Auth { .. } | State::Closed), _) => {
                (s, bad_sequence("No commands now"))
            }
            // ANCHOR: anytime_arms
            // RFC 5321 §4.1.4: NOOP, HELP, VRFY, RSET and QUIT work in every state.
            (s, Command::Noop) => (s, Action::Reply(Reply::ok())),
            (s, Command::Help(topic)) => (s, Action::Reply(help(topic.as_deref()))),
            // §3.5.3, §7.3: we do not reveal which users exist.
            (s, Command::Vrfy(_)) => (s, Action::Reply(Reply::cannot_verify())),
            (s, Command::Rset) => (s.reset(), Action::Reply(Reply::ok())),
            (_, Command::Quit) => (State::Closed, Action::Close(Reply::closing(host))),
            // ANCHOR_END: anytime_arms

            // ANCHOR: ehlo_arms
            // §4.1.4: EHLO may come at any time and resets the transaction, as RSET does.
            (_, Command::Ehlo(client)) => {
                let reply = Reply::ehlo(host, &client.to_string(), &self.extensions());
                let hello = Hello {
                    host: client,
                    extended: true,
                };
                (State::Ready { hello }, Action::Reply(reply))
            }
            (_, Command::Helo(client)) => {
                let reply = Reply::helo(host, &client.to_string());
                let hello = Hello {
                    host: client,
                    extended: false,
                };
                (State::Ready { hello }, Action::Reply(reply))
            }
            // ANCHOR_END: ehlo_arms

            // ANCHOR: mail_arms
            (State::Ready { hello }, Command::Mail(reverse_path, parameters)) => {
                match self.check_mail(&hello, &reverse_path, &parameters) {
                    Some(refusal) => (State::Ready { hello }, Action::Reply(refusal)),
                    None => {
                        let reply = Reply::sender_ok(&reverse_path.to_string());
                        let envelope = Envelope {
                            reverse_path,
                            parameters,
                            recipients: vec![],
                        };
                        (State::MailFrom { hello, envelope }, Action::Reply(reply))
                    }
                }
            }
            (State::Connected, Command::Mail(..)) => {
                (State::Connected, bad_sequence("Send EHLO (or HELO) first"))
            }
            (s @ (State::MailFrom { .. } | State::RcptTo { .. }), Command::Mail(..)) => (
                s,
                bad_sequence("Nested MAIL command: a transaction is already open (use RSET)"),
            ),
            // ANCHOR_END: mail_arms

            // ANCHOR: rcpt_arms
            (
                State::MailFrom {
                    hello,
                    mut envelope,
                }
                | State::RcptTo {
                    hello,
                    mut envelope,
                },
                Command::Rcpt(path),
            ) => {
                let reply = self.add_recipient(&mut envelope, path);
                let next = if envelope.recipients.is_empty() {
                    State::MailFrom { hello, envelope }
                } else {
                    State::RcptTo { hello, envelope }
                };
                (next, Action::Reply(reply))
            }
            (s, Command::Rcpt(_)) => (s, bad_sequence("Send MAIL FROM before RCPT TO")),
            // ANCHOR_END: rcpt_arms

            // ANCHOR: data_arms
            (State::RcptTo { hello, envelope }, Command::Data) => (
                State::Data { hello, envelope },
                Action::Effect(Effect::ReceiveData(Reply::start_mail_input())),
            ),
            // §4.1.1.4 and RFC 2920 §3.1: every RCPT was refused → 554, not 503.
            (s @ State::MailFrom { .. }, Command::Data) => {
                (s, Action::Reply(Reply::no_valid_recipients()))
            }
            (s, Command::Data) => (s, bad_sequence("Send MAIL FROM and RCPT TO before DATA")),
            // ANCHOR_END: data_arms
            // ANCHOR: starttls_arms
            (s, Command::StartTls) if !self.settings.tls => {
                (s, Action::Reply(Reply::not_implemented("STARTTLS")))
            }
            (s, Command::StartTls) if self.peer.security.tls.is_some() => {
                (s, Action::Reply(Reply::tls_already_active()))
            }
            // The state changes only once the handshake is done (Input::Wire(Event::TlsEstablished)).
            (s @ State::Ready { .. }, Command::StartTls) => {
                (s, Action::StartTls(Reply::ready_to_start_tls()))
            }
            (State::Connected, Command::StartTls) => {
                (State::Connected, bad_sequence("Send EHLO first"))
            }
            (s, Command::StartTls) => (
                s,
                bad_sequence("STARTTLS inside a mail transaction: send RSET first"),
            ),
            // ANCHOR_END: starttls_arms

            // ANCHOR: auth_arms
            (
                State::Ready { hello },
                Command::Auth {
                    mechanism,
                    initial_response,
                },
            ) => self.auth_start(hello, &mechanism, initial_response.as_deref()),
            (State::Connected, Command::Auth { .. }) => {
                (State::Connected, bad_sequence("Send EHLO first"))
            }
            // RFC 4954 §4: no AUTH during a mail transaction.
            (s, Command::Auth { .. }) => (
                s,
                bad_sequence("AUTH is not allowed during a mail transaction: send RSET first"),
            ),
            // ANCHOR_END: auth_arms
            (s, Command::NotImplemented(verb)) => (s, Action::Reply(Reply::not_implemented(&verb))),
        }
    }
    // ANCHOR_END: transition

    // ANCHOR: extensions
    /// The service extensions we advertise in the EHLO reply (RFC 5321 §4.1.1.1).
    pub fn extensions(&self) -> Vec<String> {
        let mut extensions = vec![
            "PIPELINING".to_string(),                                  // RFC 2920
            format!("SIZE {}", self.settings.limits.max_message_size), // RFC 1870
            "8BITMIME".to_string(),                                    // RFC 6152
            "SMTPUTF8".to_string(),                                    // RFC 6531
            "ENHANCEDSTATUSCODES".to_string(),                         // RFC 2034
            "HELP".to_string(),                                        // RFC 5321 §4.1.1.8
        ];
        // RFC 3207 §4: only with a certificate, and (§4.2) never once TLS is on.
        if self.peer.may_start_tls(&self.settings) {
            extensions.push("STARTTLS".to_string());
        }
        // RFC 4954 §4, §14: passwords only where they cannot be read on the way.
        if self.auth_offered() {
            extensions.push(Mechanism::ADVERTISED.to_string());
        }
        extensions
    }
    // ANCHOR_END: extensions

    // ANCHOR: check_mail
    /// Checks a MAIL command; `Some(reply)` refuses it.
    fn check_mail(
        &self,
        hello: &Hello,
        reverse_path: &ReversePath,
        parameters: &MailParameters,
    ) -> Option<Reply> {
        // RFC 5321 §4.1.1.11: parameters are ESMTP; a HELO client was offered none.
        if !hello.extended && *parameters != MailParameters::default() {
            return Some(Reply::new(
                555,
                Some(Status(5, 5, 4)),
                "MAIL parameters need EHLO, not HELO",
            ));
        }
        if let Some(refusal) = self.check_submitter(reverse_path) {
            return Some(refusal);
        }
        // RFC 1870 §6.1: refuse early when the declared size is already too big.
        if parameters
            .size
            .is_some_and(|s| s > self.settings.limits.max_message_size)
        {
            return Some(Reply::message_too_big(
                self.settings.limits.max_message_size,
            ));
        }
        // RFC 6531 §3.3: UTF-8 addresses only with the SMTPUTF8 parameter.
        if !reverse_path.is_ascii() && !parameters.smtputf8 {
            return Some(Reply::utf8_not_permitted());
        }
        None
    }
    // ANCHOR_END: check_mail

    // ANCHOR: check_submitter
    /// On the submission port, only a logged-in user may send, and only as themself.
    fn check_submitter(&self, reverse_path: &ReversePath) -> Option<Reply> {
        if self.service == Service::Smtp {
            return None;
        }
        // RFC 6409 §4.3: a submission server requires authentication before MAIL.
        let Some(user) = &self.peer.security.user else {
            return Some(Reply::authentication_required());
        };
        // RFC 6409 §6.1: the server may check the sender against the user's own
        // addresses; postie allows exactly one, the address the user logged in with.
        if !reverse_path.to_string().eq_ignore_ascii_case(user) {
            return Some(Reply::sender_not_owned(&reverse_path.to_string(), user));
        }
        None
    }
    // ANCHOR_END: check_submitter

    // ANCHOR: add_recipient
    /// Checks one RCPT and, if it is accepted, adds it to the envelope.
    fn add_recipient(&self, envelope: &mut Envelope, path: ForwardPath) -> Reply {
        let limits = &self.settings.limits;
        if !path.is_ascii() && !envelope.parameters.smtputf8 {
            return Reply::utf8_not_permitted();
        }
        // RFC 5321 §4.5.3.1.10: 452 for one recipient too many; the client sends the
        // rest in another transaction, so the first ones still get delivered.
        if envelope.recipients.len() >= limits.max_recipients {
            return Reply::too_many_recipients(limits.max_recipients);
        }
        let shown = path.to_string();
        let destinations = match self.policy.decide(&path, self.peer.address.ip()) {
            Decision::Local(mailbox) => vec![Destination::Local(mailbox)],
            // RFC 5321 §3.6.1: a client we trust may ask us to relay; we queue it.
            Decision::Relay => vec![Destination::Remote],
            // A logged-in user may send anywhere, from any network (RFC 6409 §4.3;
            // see ARCHITECTURE.md, "No open relay").
            Decision::RelayDenied if self.peer.security.user.is_some() => vec![Destination::Remote],
            // A list: one copy per member's mailbox, each counted against the limit.
            Decision::Group(members) if members.is_empty() => return Reply::no_such_user(&shown),
            Decision::Group(members) => {
                if envelope.recipients.len() + members.len() > limits.max_recipients {
                    return Reply::too_many_recipients(limits.max_recipients);
                }
                members.into_iter().map(Destination::Local).collect()
            }
            Decision::NoSuchUser => return Reply::no_such_user(&shown),
            Decision::BadMailboxName(why) => {
                return Reply::mailbox_name_not_allowed(&shown, &why.to_string())
            }
            Decision::RelayDenied => return Reply::relay_denied(&shown),
            // Never accept what cannot be checked, never refuse for good because of an
            // outage: 451, and the client asks again later (RFC 5321 §4.2.5).
            Decision::TryLater => return Reply::cannot_check_now(&shown),
        };
        for destination in destinations {
            envelope.recipients.push(Recipient {
                forward_path: path.clone(),
                destination,
            });
        }
        Reply::recipient_ok(&shown)
    }
    // ANCHOR_END: add_recipient

    // ANCHOR: auth_offered
    /// May this client use AUTH? Only with a users file (the passwords), and only over
    /// TLS, unless `--allow-plaintext-auth` lets a loopback client try it in the clear.
    fn auth_offered(&self) -> bool {
        self.policy.accepts_logins() && self.auth_channel_ok()
    }

    fn auth_channel_ok(&self) -> bool {
        self.peer.password_may_travel(&self.settings)
    }
    // ANCHOR_END: auth_offered

    // ANCHOR: auth_start
    /// AUTH in the Ready state: check, then start the exchange or finish it at once.
    fn auth_start(
        &mut self,
        hello: Hello,
        mechanism: &str,
        initial_response: Option<&str>,
    ) -> (State, Action) {
        let ready = |hello, reply| (State::Ready { hello }, Action::Reply(reply));
        if !self.policy.accepts_logins() {
            return ready(hello, Reply::not_implemented("AUTH"));
        }
        // RFC 4954 §6: 538 when the mechanism needs an encrypted connection.
        if !self.auth_channel_ok() {
            return ready(hello, Reply::encryption_required());
        }
        // RFC 4954 §4: after a successful AUTH, any further AUTH gets 503.
        if self.peer.security.user.is_some() {
            return ready(hello, Reply::bad_sequence("Already authenticated"));
        }
        let Some(mechanism) = Mechanism::parse(mechanism) else {
            return ready(hello, Reply::unrecognized_mechanism(mechanism));
        };
        let step = match mechanism {
            Mechanism::Plain => AuthStep::Plain,
            Mechanism::Login => AuthStep::LoginUser,
        };
        match initial_response {
            // RFC 4954 §4: an initial response saves a round trip.
            Some(response) => self.auth_step(hello, step, response),
            None => {
                let challenge = match step {
                    AuthStep::Plain => "",
                    _ => sasl::LOGIN_USERNAME,
                };
                let reply = Reply::auth_challenge(challenge);
                (State::Auth { hello, step }, Action::Reply(reply))
            }
        }
    }
    // ANCHOR_END: auth_start

    // ANCHOR: auth_answer
    /// A line in the Auth state: the answer to our last 334.
    fn auth_answer(&mut self, text: &[u8]) -> Action {
        let (hello, step) = match self.take() {
            State::Auth { hello, step } => (hello, step),
            // command_line calls us only in the Auth state; anything else is left as it was.
            other => {
                let name = other.name();
                self.enter(name, other, "AUTH answer out of place", "RFC 4954 §4");
                return bad_sequence("No AUTH exchange in progress");
            }
        };
        let response = String::from_utf8_lossy(text).into_owned();
        let (next, action) = if response == "*" {
            // RFC 4954 §4: "*" cancels the exchange; 501.
            (
                State::Ready { hello },
                Action::Reply(Reply::authentication_cancelled()),
            )
        } else {
            self.auth_step(hello, step, &response)
        };
        self.enter("Auth", next, "AUTH answer", "RFC 4954 §4");
        action
    }

    /// One base64 answer: ask the next question, or check the credentials.
    fn auth_step(&mut self, hello: Hello, step: AuthStep, response: &str) -> (State, Action) {
        let answer = match sasl::decode(response) {
            Ok(answer) => answer,
            Err(_) => {
                return (
                    State::Ready { hello },
                    Action::Reply(Reply::cannot_decode_response()),
                )
            }
        };
        let credentials = match step {
            AuthStep::Plain => sasl::plain(&answer),
            AuthStep::LoginUser => {
                return match sasl::login_text(&answer) {
                    Ok(user) => {
                        let step = AuthStep::LoginPassword { user };
                        let reply = Reply::auth_challenge(sasl::LOGIN_PASSWORD);
                        (State::Auth { hello, step }, Action::Reply(reply))
                    }
                    Err(_) => self.auth_failed(hello),
                };
            }
            AuthStep::LoginPassword { user } => {
                sasl::login_text(&answer).map(|password| Credentials { user, password })
            }
        };
        match credentials {
            Ok(credentials) => self.auth_check(hello, credentials),
            Err(SaslError::NotBase64) => (
                State::Ready { hello },
                Action::Reply(Reply::cannot_decode_response()),
            ),
            Err(SaslError::Malformed | SaslError::OtherIdentity) => self.auth_failed(hello),
        }
    }

    /// Asks the policy. Success: 235, and the user is remembered for MAIL and RCPT.
    fn auth_check(&mut self, hello: Hello, credentials: Credentials) -> (State, Action) {
        match self
            .policy
            .authenticate(&credentials.user, &credentials.password)
        {
            Ok(_) => {}
            Err(LoginFailure::Refused) => return self.auth_failed(hello),
            // RFC 4954 §6: 454 4.7.0, a temporary failure; not the client's mistake, so
            // it does not count towards closing the connection.
            Err(LoginFailure::TryLater) => {
                log::warn!("{} AUTH cannot be checked now", self.peer);
                let reply = Reply::temporary_auth_failure();
                return (State::Ready { hello }, Action::Reply(reply));
            }
        }
        let user = credentials.user.to_lowercase();
        log::info!("{} authenticated as {user}", self.peer);
        self.peer.security.user = Some(user);
        (
            State::Ready { hello },
            Action::Reply(Reply::authenticated()),
        )
    }

    /// 535, or after the third failure on this connection, 421 and close.
    fn auth_failed(&mut self, hello: Hello) -> (State, Action) {
        self.auth_failures += 1;
        // The user name is not logged: a password typed into the wrong prompt would be.
        log::warn!(
            "{} AUTH failed ({} of {MAX_AUTH_FAILURES})",
            self.peer,
            self.auth_failures
        );
        if self.auth_failures >= MAX_AUTH_FAILURES {
            let reply = Reply::too_many_auth_failures(&self.settings.hostname);
            return (State::Closed, Action::Close(reply));
        }
        (
            State::Ready { hello },
            Action::Reply(Reply::authentication_failed()),
        )
    }
    // ANCHOR_END: auth_answer

    // ANCHOR: answer
    /// Every reply to a command line passes through here, for two rules.
    /// `extended` is whether the client had said EHLO *before* this line.
    fn answer(&mut self, action: Action, extended: bool) -> Action {
        // RFC 5321 §4.2.1: "x0z" replies mean syntax and sequence errors, the client's
        // mistakes. They spend the error budget; past it, 421 and close (§3.8, §7.8).
        // A refused recipient is not a mistake, and is not counted.
        let syntax_error = matches!(&action, Action::Reply(r) if r.is_syntax_error());
        if syntax_error && self.peer.count_mistake(&self.settings) {
            let reply = Reply::too_many_errors(&self.settings.hostname);
            return Action::Close(self.close(reply, "too many errors"));
        }
        // RFC 2034 §3: enhanced status codes only once the client said EHLO and saw
        // ENHANCEDSTATUSCODES advertised.
        if extended {
            action
        } else {
            action.without_status()
        }
    }
    // ANCHOR_END: answer

    /// Did the client introduce itself with EHLO?
    fn extended(&self) -> bool {
        self.state.hello().is_some_and(|h| h.extended)
    }

    /// Moves to Closed, rendering `reply` as the state before it allows.
    fn close(&mut self, reply: Reply, why: &str) -> Reply {
        let state = self.take();
        let extended = state.hello().is_some_and(|h| h.extended);
        // RFC 5321 §3.8: a server that must close says 421 first (or 221 after QUIT).
        self.enter(state.name(), State::Closed, why, "§3.8");
        if extended {
            reply
        } else {
            reply.without_status()
        }
    }

    // ANCHOR: enter
    /// Takes the state out, to be put back (or replaced) by [`Session::enter`].
    fn take(&mut self) -> State {
        std::mem::replace(&mut self.state, State::Closed)
    }

    /// The one door for every change of state: logs `from -> to` with what caused it
    /// and the RFC section behind it, and enters `next`.
    fn enter(&mut self, from: &str, next: State, what: &str, section: &str) {
        // Sections of RFC 5321 are written "§4.1.1.1"; other RFCs name themselves.
        let rfc = if section.starts_with("RFC") {
            ""
        } else {
            "RFC 5321 "
        };
        let to = next.name();
        log::debug!(target: TRACE, "{} {what} ({rfc}{section}): {from} -> {to}", self.peer);
        if let Some(transitions) = &mut self.transitions {
            transitions.push(format!("{from} -> {to}: {what} ({rfc}{section})"));
        }
        self.state = next;
    }
    // ANCHOR_END: enter
}

// ANCHOR: is_http_request
/// Does the line look like the first line of an HTTP request (RFC 9112 §3: method, space,
/// target)? No SMTP command starts so. A browser can be made to send one to our port
/// from a web page, with SMTP commands in its body; we close before reading them.
fn is_http_request(line: &[u8]) -> bool {
    const METHODS: [&[u8]; 6] = [
        b"GET ",
        b"POST ",
        b"HEAD ",
        b"PUT ",
        b"CONNECT ",
        b"OPTIONS ",
    ];
    METHODS.iter().any(|method| line.starts_with(method))
}
// ANCHOR_END: is_http_request

/// Failed AUTH attempts before 421 and close: guessing passwords takes a new
/// connection every few tries (Postfix and Exim use similar small numbers).
pub const MAX_AUTH_FAILURES: u32 = 3;

fn bad_sequence(text: &str) -> Action {
    Action::Reply(Reply::bad_sequence(text))
}

// ANCHOR: help
/// HELP and HELP <command> (RFC 5321 §4.1.1.8).
fn help(topic: Option<&str>) -> Reply {
    const TOPICS: &[(&str, &str)] = &[
        ("EHLO", "EHLO <your domain> - introduce yourself, list extensions (RFC 5321 §4.1.1.1)"),
        ("HELO", "HELO <your domain> - introduce yourself, no extensions (RFC 5321 §4.1.1.1)"),
        ("MAIL", "MAIL FROM:<address> [SIZE=n] [BODY=7BIT|8BITMIME] [SMTPUTF8] - start a message (RFC 5321 §4.1.1.2)"),
        ("RCPT", "RCPT TO:<address> - add a recipient (RFC 5321 §4.1.1.3)"),
        ("DATA", "DATA - send the message, end with a line holding only \".\" (RFC 5321 §4.1.1.4)"),
        ("RSET", "RSET - abandon the current message (RFC 5321 §4.1.1.5)"),
        ("VRFY", "VRFY <user> - ask whether a user exists; postie will not say (RFC 5321 §4.1.1.6)"),
        ("HELP", "HELP [command] - this text (RFC 5321 §4.1.1.8)"),
        ("NOOP", "NOOP - do nothing, reply 250 (RFC 5321 §4.1.1.9)"),
        ("QUIT", "QUIT - say goodbye and close (RFC 5321 §4.1.1.10)"),
        ("STARTTLS", "STARTTLS - switch this connection to TLS, then EHLO again (RFC 3207)"),
    ];
    match topic {
        None => Reply::help(vec![
            "postie understands: EHLO HELO MAIL RCPT DATA RSET VRFY HELP NOOP QUIT".into(),
            "A message: EHLO, MAIL FROM:<a@b>, RCPT TO:<c@d>, DATA, text, \".\", QUIT".into(),
            "Try HELP <command> for one command".into(),
        ]),
        Some(topic) => match TOPICS
            .iter()
            .find(|(verb, _)| verb.eq_ignore_ascii_case(topic.trim()))
        {
            Some((_, text)) => Reply::help(vec![(*text).to_string()]),
            None => Reply::parameter_not_implemented(format!("No help for {topic:?}")),
        },
    }
}
// ANCHOR_END: help

#[cfg(test)]
mod policy_tests;
#[cfg(test)]
mod security_tests;
#[cfg(test)]
mod tests;
