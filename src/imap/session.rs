//! The IMAP session: one client's conversation as an explicit state machine
//! (RFC 3501 §3: not authenticated → authenticated ⇄ selected → logout).
//!
//! Like SMTP's and POP3's, it is *sans-IO*: [`Input`]s go in through one door,
//! [`Session::handle`], and [`Action`]s come out. What needs the disk (the folders,
//! the messages) is an [`Effect`] that the connection carries out
//! ([`crate::imap::connection`]) and reports back as [`Input::Done`]; what needs the
//! wire beyond a line (a literal's octets, IDLE) is an effect too. Every change of
//! state goes through one function, `Session::enter`, which logs it with its RFC
//! section.
//!
//! What the session decides, for every command, before anything touches the disk:
//! - **Framing** (§2.2, §4.3, RFC 7888): a line ending in `{n}` announces n octets;
//!   for `{n}` the session asks for them with a continuation (`+`), for `{n+}`
//!   (LITERAL+) they follow at once. The command is parsed when it is whole.
//! - **State** (§3, §6): which commands each state allows; a command in the wrong state
//!   gets `BAD` (§6: "a command ... not valid in the current state").
//! - **Login** (§6.2.2, §6.2.3, RFC 4616): LOGIN and AUTHENTICATE PLAIN, asked of the
//!   [`Policy`], only when a password may travel ([`Peer::password_may_travel`]);
//!   otherwise `LOGINDISABLED` is advertised and a login gets `NO [PRIVACYREQUIRED]`
//!   (RFC 5530). STARTTLS (§6.2.1) is carried out by the conversation.
//! - **Mistakes** (§7.1): `BAD` with what was expected; after too many the session
//!   says `BYE`, as SMTP's error budget does.
//!
//! Left out: PREAUTH, SASL mechanisms other than PLAIN, the CONDSTORE family.

use std::net::SocketAddr;
use std::sync::Arc;

use super::command::{parse, Command, Kind};
use super::response::{Response, Status};
use crate::config::Settings;
use crate::peer::Peer;
use crate::policy::{LoginFailure, Policy};
use crate::sasl;
use crate::store::maildir::MailboxPath;
use crate::wire::{self, Event, Line};
use crate::TRACE;

// ANCHOR: state
/// Where the conversation stands (RFC 3501 §3). Each variant carries its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// §3.1: greeted; the client must log in (or STARTTLS first).
    NotAuthenticated,
    /// §3.2: logged in; no mailbox selected.
    Authenticated(User),
    /// §3.3: a mailbox is selected (read-only after EXAMINE).
    Selected {
        user: User,
        mailbox: String,
        read_only: bool,
    },
    /// §3.4: LOGOUT, a fatal error or shutdown; nothing more is read.
    Logout,
}

/// Who logged in, and where their mail is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub address: String,
    pub mailbox: MailboxPath,
}
// ANCHOR_END: state

impl State {
    pub fn name(&self) -> &'static str {
        match self {
            State::NotAuthenticated => "NotAuthenticated",
            State::Authenticated(_) => "Authenticated",
            State::Selected { .. } => "Selected",
            State::Logout => "Logout",
        }
    }
}

// ANCHOR: effect
/// What the conversation must do after an input.
pub type Action = wire::Action<Response, Effect>;

/// What only IMAP's side of the conversation does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Read a literal's octets (after `+ Ready` when `synchronizing`), then report
    /// them with [`Input::Literal`].
    Literal { octets: usize, synchronizing: bool },
    /// Open this user's folders after a good login, then report [`Outcome`].
    Login { tag: String, user: User },
    /// Run a command on the folders (the state allowed it), then report [`Outcome`].
    Run(Command),
    /// RFC 2177: send `+ idling`, report changes as they happen, until `DONE`.
    Idle { tag: String },
}

/// How a command the connection ran turned out: the responses, and where the state
/// goes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub response: Response,
    pub next: Next,
}

/// The change of state an effect asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    Stay,
    /// Login done (with the user), or failed (`None`).
    LoggedIn(Option<User>),
    /// SELECT or EXAMINE succeeded.
    Select {
        mailbox: String,
        read_only: bool,
    },
    /// CLOSE, UNSELECT, or a failed SELECT (§6.3.1: it leaves no mailbox selected).
    Deselect,
    /// End the conversation after the response (the client vanished in IDLE, a BYE).
    Close,
}
// ANCHOR_END: effect

// ANCHOR: input
/// Everything that can happen to an IMAP session.
#[derive(Debug)]
pub enum Input<'a> {
    /// What happened on the wire.
    Wire(Event<'a>),
    /// The octets of the literal the session asked for.
    Literal(Vec<u8>),
    /// An effect is done.
    Done(Outcome),
}
// ANCHOR_END: input

/// One client's IMAP session.
pub struct Session {
    state: State,
    settings: Settings,
    policy: Arc<dyn Policy>,
    /// The client: its address, its TLS and login, its mistakes.
    peer: Peer,
    /// A command being assembled: its lines and literals so far.
    pending: Vec<u8>,
    /// AUTHENTICATE is waiting for the client's response line (this is its tag).
    authenticating: Option<String>,
    /// RFC 8314: the handshake comes before the greeting (`--imaps-listen`), so the
    /// greeting may already offer logins.
    implicit_tls: bool,
}

// ANCHOR: capabilities
/// What every state offers (RFC 3501 §6.1.1, and the extensions' RFCs).
const CAPABILITIES: &str = "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UIDPLUS \
                            MOVE SPECIAL-USE UNSELECT CHILDREN";
// ANCHOR_END: capabilities

impl Session {
    /// A new session and its greeting (§7.1.1: `* OK`, with the capabilities, so a
    /// client need not ask).
    pub fn new(
        settings: Settings,
        policy: Arc<dyn Policy>,
        client: SocketAddr,
        implicit_tls: bool,
    ) -> (Session, Response) {
        let session = Session {
            implicit_tls,
            state: State::NotAuthenticated,
            settings,
            policy,
            peer: Peer::new(client),
            pending: Vec::new(),
            authenticating: None,
        };
        let greeting = Response::new().untagged_status(
            Status::Ok,
            Some(&format!("CAPABILITY {}", session.capabilities())),
            &format!("{} IMAP4rev1 postie ready", session.settings.hostname),
        );
        (session, greeting)
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    // ANCHOR: handle
    /// The session's one door.
    pub fn handle(&mut self, input: Input<'_>) -> Action {
        match input {
            Input::Wire(Event::Line(line)) => self.line(line),
            Input::Literal(octets) => {
                self.pending.extend_from_slice(&octets);
                Action::Listen
            }
            Input::Wire(Event::LineTooLong) => {
                self.pending.clear();
                let limit = self.line_limit();
                self.mistake(Response::new().untagged_status(
                    Status::Bad,
                    Some("TOOBIG"),
                    &format!("Command line too long (at most {limit} octets)"),
                ))
            }
            // §5.4: the autologout timer.
            Input::Wire(Event::TimedOut) => self.bye("timeout", "Autologout; idle for too long"),
            Input::Wire(Event::ShuttingDown) => self.bye("shutdown", "Server shutting down"),
            Input::Wire(Event::TlsEstablished(tls)) => {
                log::info!(
                    "{} TLS established (IMAP): {} {}",
                    self.peer,
                    tls.version,
                    tls.cipher
                );
                self.peer.security.tls = Some(tls);
                Action::Listen
            }
            Input::Wire(Event::PlaintextAfterTls) => self.bye(
                "pipelined after STARTTLS",
                "Commands sent before the TLS handshake",
            ),
            Input::Done(outcome) => self.done(outcome),
        }
    }
    // ANCHOR_END: handle

    /// Is the next line a secret for `--trace`: the response AUTHENTICATE waits for, or
    /// the rest of a LOGIN whose user name came as a literal?
    pub fn next_line_is_secret(&self) -> bool {
        let name = self
            .pending
            .split(|&b| b == b' ')
            .nth(1)
            .unwrap_or_default();
        self.authenticating.is_some()
            || name.eq_ignore_ascii_case(b"LOGIN")
            || name.eq_ignore_ascii_case(b"AUTHENTICATE")
    }

    /// How long one line may be (its literals are counted apart).
    pub fn line_limit(&self) -> usize {
        self.settings.limits.imap_command_line
    }

    // ANCHOR: line
    /// One line: a SASL response, part of a command, or the end of one.
    fn line(&mut self, line: Line<'_>) -> Action {
        if !line.is_crlf_clean() {
            self.pending.clear();
            return self.mistake(Response::new().untagged_status(
                Status::Bad,
                None,
                "Lines end in CRLF (RFC 3501 §2.2)",
            ));
        }
        if let Some(tag) = self.authenticating.take() {
            return self.sasl_response(&tag, line.text());
        }
        self.pending.extend_from_slice(line.text());
        // §4.3 and RFC 7888: a line ending in {n} or {n+} is followed by n octets.
        if let Some((octets, synchronizing)) = literal_announced(line.text()) {
            let limit = self.literal_limit();
            if octets > limit || self.pending.len() + octets > limit + 64 * 1024 {
                return self.literal_too_big(synchronizing, limit);
            }
            self.pending.extend_from_slice(b"\r\n");
            return Action::Effect(Effect::Literal {
                octets,
                synchronizing,
            });
        }
        let whole = std::mem::take(&mut self.pending);
        match parse(&whole) {
            // A command the state does not allow is a mistake too (SMTP's 503).
            Ok(command) => match self.command(command) {
                Action::Reply(response) if response.is_bad() => self.mistake(response),
                action => action,
            },
            Err(e) => {
                let tag = e.tag.unwrap_or_else(|| "*".to_string());
                // A BADCHARSET refusal carries its code in front of the text.
                let (code, text) = match e.message.strip_prefix('[') {
                    Some(rest) => match rest.split_once("] ") {
                        Some((code, text)) => (Some(code.to_string()), text.to_string()),
                        None => (None, e.message.clone()),
                    },
                    None => (None, e.message.clone()),
                };
                let status = if code.is_some() {
                    Status::No
                } else {
                    Status::Bad
                };
                let response = if tag == "*" {
                    Response::new().untagged_status(status, code.as_deref(), &e.message)
                } else {
                    Response::new().tagged(&tag, status, code.as_deref(), &text)
                };
                self.mistake(response)
            }
        }
    }
    // ANCHOR_END: line

    /// APPEND may send a whole message; any other literal is a name or a string.
    fn literal_limit(&self) -> usize {
        let is_append = self
            .pending
            .split(|&b| b == b' ')
            .nth(1)
            .is_some_and(|word| word.eq_ignore_ascii_case(b"APPEND"));
        if is_append {
            usize::try_from(self.settings.limits.max_message_size).unwrap_or(usize::MAX)
        } else {
            self.settings.limits.imap_literal
        }
    }

    /// A literal over the limit: a synchronizing one was not sent yet, so a tagged
    /// `NO` stops it (RFC 7888 §4 and RFC 4469 `[TOOBIG]`); a non-synchronizing one is
    /// on its way and cannot be told from commands, so the connection ends.
    fn literal_too_big(&mut self, synchronizing: bool, limit: usize) -> Action {
        let pending = std::mem::take(&mut self.pending);
        let tag = pending
            .split(|&b| b == b' ')
            .next()
            .map(|t| String::from_utf8_lossy(t).into_owned())
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "*".into());
        let text = format!("Literal too big (at most {limit} octets)");
        if synchronizing {
            self.mistake(Response::new().tagged(&tag, Status::No, Some("TOOBIG"), &text))
        } else {
            self.bye("literal too big", &text)
        }
    }

    // ANCHOR: command
    /// A parsed command: checked against the state, then answered or handed on.
    fn command(&mut self, command: Command) -> Action {
        let (name, section) = command.kind.describe();
        log::debug!(target: TRACE, "{} IMAP {name} ({section}) in {}", self.peer, self.state.name());
        let tag = command.tag.clone();
        let ok = |text: &str| Response::new().tagged(&tag, Status::Ok, None, text);
        let bad = |text: &str| Action::Reply(Response::new().tagged(&tag, Status::Bad, None, text));
        let no = |code: &str, text: &str| {
            Action::Reply(Response::new().tagged(&tag, Status::No, Some(code), text))
        };
        let logged_in = !matches!(self.state, State::NotAuthenticated);
        let selected = matches!(self.state, State::Selected { .. });
        match &command.kind {
            // §6.1: any state.
            Kind::Capability => Action::Reply(
                Response::new()
                    .untagged(&format!("CAPABILITY {}", self.capabilities()))
                    .then(ok("CAPABILITY completed")),
            ),
            Kind::Noop | Kind::Check if selected => Action::Effect(Effect::Run(command)),
            Kind::Noop => Action::Reply(ok("NOOP completed")),
            Kind::Logout => {
                let before = self.state.name();
                self.enter(before, State::Logout, "LOGOUT", "RFC 3501 §6.1.3");
                Action::Close(
                    Response::new()
                        .untagged_status(Status::Bye, None, "Logging out")
                        .then(ok("LOGOUT completed")),
                )
            }
            // RFC 2971: ID in any state.
            Kind::Id(fields) => {
                let client: Vec<String> = fields
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("NIL")))
                    .collect();
                log::info!("{} IMAP client says: {}", self.peer, client.join(" "));
                Action::Reply(
                    Response::new()
                        .untagged(&format!(
                            "ID (\"name\" \"postie\" \"version\" \"{}\")",
                            env!("CARGO_PKG_VERSION")
                        ))
                        .then(ok("ID completed")),
                )
            }

            // ANCHOR: not_authenticated
            // §6.2.1: STARTTLS before login, once, with a certificate.
            Kind::StartTls if logged_in => bad("STARTTLS is only allowed before login"),
            Kind::StartTls if !self.settings.tls => bad("STARTTLS is not available"),
            Kind::StartTls if self.peer.security.tls.is_some() => bad("TLS is already active"),
            Kind::StartTls => Action::StartTls(ok("Begin TLS negotiation now")),
            Kind::Login { .. } | Kind::Authenticate { .. } if logged_in => bad("Already logged in"),
            Kind::Login { .. } | Kind::Authenticate { .. } if !self.password_may_travel() => {
                no("PRIVACYREQUIRED", "Log in only over TLS (STARTTLS first)")
            }
            Kind::Login { user, password } => self.login(&tag, user, password),
            Kind::Authenticate { mechanism, .. } if mechanism != "PLAIN" => {
                no("CANNOT", "Only AUTHENTICATE PLAIN is supported")
            }
            Kind::Authenticate {
                initial: Some(response),
                ..
            } => {
                let response = response.clone();
                self.sasl_response(&tag, response.as_bytes())
            }
            Kind::Authenticate { initial: None, .. } => {
                self.authenticating = Some(tag);
                Action::Reply(Response::continuation(""))
            }
            _ if !logged_in => bad("Log in first"),
            // ANCHOR_END: not_authenticated

            // §6.4: only with a mailbox selected.
            Kind::Check
            | Kind::Close
            | Kind::Unselect
            | Kind::Expunge(_)
            | Kind::Search { .. }
            | Kind::Fetch { .. }
            | Kind::Store { .. }
            | Kind::Copy { .. }
            | Kind::Move { .. }
                if !selected =>
            {
                bad("No mailbox selected")
            }
            // RFC 5161 §3.1: ENABLE only before SELECT. postie has nothing to enable.
            Kind::Enable(_) if selected => bad("ENABLE is only allowed before SELECT"),
            Kind::Enable(_) => Action::Reply(
                Response::new()
                    .untagged("ENABLED")
                    .then(ok("ENABLE completed")),
            ),
            Kind::Namespace => Action::Reply(
                Response::new()
                    .untagged(&format!(
                        "NAMESPACE ((\"\" \"{}\")) NIL NIL",
                        super::folders::SEPARATOR
                    ))
                    .then(ok("NAMESPACE completed")),
            ),
            Kind::Idle => Action::Effect(Effect::Idle { tag }),
            _ => Action::Effect(Effect::Run(command)),
        }
    }
    // ANCHOR_END: command

    // ANCHOR: login
    /// LOGIN, or AUTHENTICATE PLAIN's decoded response.
    fn login(&mut self, tag: &str, address: &str, password: &str) -> Action {
        match self.policy.login(address, password) {
            Ok(mailbox) => Action::Effect(Effect::Login {
                tag: tag.to_string(),
                user: User {
                    address: address.to_string(),
                    mailbox,
                },
            }),
            // RFC 5530 §3: UNAVAILABLE, "a subsystem is down" (the directory): try
            // again later; not the client's mistake.
            Err(LoginFailure::TryLater) => Action::Reply(Response::new().tagged(
                tag,
                Status::No,
                Some("UNAVAILABLE"),
                "Cannot check the password now; try again later",
            )),
            Err(LoginFailure::Refused) => {
                log::info!("{} IMAP login failed for {address:?}", self.peer);
                self.mistake(Response::new().tagged(
                    tag,
                    Status::No,
                    Some("AUTHENTICATIONFAILED"),
                    "Authentication failed",
                ))
            }
        }
    }

    /// RFC 4616 via §6.2.2: one base64 line, or `*` to cancel.
    fn sasl_response(&mut self, tag: &str, text: &[u8]) -> Action {
        if text == b"*" {
            return self.mistake(Response::new().tagged(
                tag,
                Status::Bad,
                None,
                "Authentication cancelled",
            ));
        }
        let text = String::from_utf8_lossy(text);
        match sasl::decode(&text).and_then(|bytes| sasl::plain(&bytes)) {
            Ok(credentials) => self.login(tag, &credentials.user, &credentials.password),
            Err(_) => self.mistake(Response::new().tagged(
                tag,
                Status::Bad,
                None,
                "Not a PLAIN response in base64 (RFC 4616)",
            )),
        }
    }
    // ANCHOR_END: login

    // ANCHOR: done
    /// An effect is done: send its responses and move to the state it leads to.
    fn done(&mut self, outcome: Outcome) -> Action {
        let before = self.state.name();
        let state = std::mem::replace(&mut self.state, State::Logout);
        let user = match &state {
            State::Authenticated(user) | State::Selected { user, .. } => Some(user.clone()),
            _ => None,
        };
        let (next, why, section) = match (outcome.next, user) {
            (Next::Stay, _) => (state, "", ""),
            (Next::LoggedIn(Some(user)), _) => {
                log::info!("{} IMAP login as {}", self.peer, user.address);
                self.peer.security.user = Some(user.address.clone());
                (State::Authenticated(user), "login", "RFC 3501 §6.2.3")
            }
            (Next::LoggedIn(None), _) => (state, "", ""),
            (Next::Select { mailbox, read_only }, Some(user)) => (
                State::Selected {
                    user,
                    mailbox,
                    read_only,
                },
                "SELECT",
                "RFC 3501 §6.3.1",
            ),
            (Next::Deselect, Some(user)) => {
                (State::Authenticated(user), "deselect", "RFC 3501 §6.4.2")
            }
            (Next::Close, _) => {
                self.enter(before, State::Logout, "close", "RFC 3501 §3.4");
                return Action::Close(outcome.response);
            }
            (_, None) => (state, "", ""),
        };
        if why.is_empty() {
            self.state = next;
        } else {
            self.enter(before, next, why, section);
        }
        Action::Reply(outcome.response)
    }
    // ANCHOR_END: done

    /// §6.1.1: what this connection offers now.
    pub fn capabilities(&self) -> String {
        let mut caps = CAPABILITIES.to_string();
        if matches!(self.state, State::NotAuthenticated) {
            if self.peer.may_start_tls(&self.settings) && !self.implicit_tls {
                caps.push_str(" STARTTLS");
            }
            if self.password_may_travel() {
                caps.push_str(" AUTH=PLAIN");
            } else {
                caps.push_str(" LOGINDISABLED");
            }
        }
        caps
    }

    fn password_may_travel(&self) -> bool {
        self.implicit_tls || self.peer.password_may_travel(&self.settings)
    }

    /// A mistake costs one from the error budget; past it, BYE.
    fn mistake(&mut self, response: Response) -> Action {
        if self.peer.count_mistake(&self.settings) {
            let response = response.untagged_status(Status::Bye, None, "Too many errors");
            let before = self.state.name();
            self.enter(before, State::Logout, "too many errors", "RFC 3501 §7.1.5");
            return Action::Close(response);
        }
        Action::Reply(response)
    }

    fn bye(&mut self, why: &str, text: &str) -> Action {
        let before = self.state.name();
        self.enter(before, State::Logout, why, "RFC 3501 §7.1.5");
        Action::Close(Response::new().untagged_status(Status::Bye, None, text))
    }

    // ANCHOR: enter
    /// The one door for every change of state: logs `from -> to` with its cause and
    /// RFC section.
    fn enter(&mut self, from: &str, next: State, what: &str, section: &str) {
        let to = next.name();
        log::debug!(target: TRACE, "{} IMAP {what} ({section}): {from} -> {to}", self.peer);
        self.state = next;
    }
    // ANCHOR_END: enter
}

// ANCHOR: literal_announced
/// §4.3, RFC 7888: does the line end in `{n}` (synchronizing) or `{n+}`?
pub fn literal_announced(line: &[u8]) -> Option<(usize, bool)> {
    let inner = line.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|&b| b == b'{')?;
    let digits = &inner[open + 1..];
    let (digits, synchronizing) = match digits.strip_suffix(b"+") {
        Some(d) => (d, false),
        None => (digits, true),
    };
    if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some((n, synchronizing))
}
// ANCHOR_END: literal_announced

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::Users;
    use crate::config::Config;

    fn session(plaintext: bool) -> Session {
        session_with(plaintext, false)
    }

    /// A session from loopback; `tls`: a certificate is loaded.
    fn session_with(plaintext: bool, tls: bool) -> Session {
        let mut config = Config::new("mx");
        config.allow_plaintext_auth = plaintext;
        let hash = crate::accounts::hash_password("secret").unwrap();
        config.policy.users = Some(Users::parse(&format!("alice@localhost {hash}\n")).unwrap());
        let policy = Arc::new(config.policy.clone());
        let mut settings = Settings::new(&config);
        settings.tls = tls;
        Session::new(settings, policy, "127.0.0.1:9".parse().unwrap(), false).0
    }

    fn line(session: &mut Session, text: &str) -> Action {
        let raw = format!("{text}\r\n");
        session.handle(Input::Wire(Event::Line(Line::new(raw.as_bytes()))))
    }

    fn reply(action: Action) -> String {
        match action {
            Action::Reply(r) | Action::Close(r) | Action::StartTls(r) => {
                String::from_utf8(r.0).unwrap()
            }
            other => panic!("expected a reply, got {other:?}"),
        }
    }

    #[test]
    fn literals_are_announced() {
        assert_eq!(literal_announced(b"a LOGIN {5}"), Some((5, true)));
        assert_eq!(literal_announced(b"a APPEND x {120+}"), Some((120, false)));
        // Ten digits are the most it reads; eleven are not a literal (below).
        assert_eq!(
            literal_announced(b"a LOGIN {4294967295}"),
            Some((4_294_967_295, true))
        );
        for no in [
            &b"a NOOP"[..],
            b"a {}",
            b"{x}",
            b"a {+}",
            b"a {99999999999}",
        ] {
            assert_eq!(literal_announced(no), None);
        }
    }

    #[test]
    fn states_allow_their_commands() {
        let mut s = session(true);
        assert!(reply(line(&mut s, "a1 SELECT INBOX")).starts_with("a1 BAD Log in first"));
        assert!(reply(line(&mut s, "a2 FETCH 1 FLAGS")).starts_with("a2 BAD Log in first"));
        let caps = reply(line(&mut s, "a3 CAPABILITY"));
        assert!(
            caps.contains("AUTH=PLAIN") && !caps.contains("LOGINDISABLED"),
            "{caps}"
        );
        assert_eq!(reply(line(&mut s, "a4 NOOP")), "a4 OK NOOP completed\r\n");
        let Action::Effect(Effect::Login { tag, user }) =
            line(&mut s, "a5 LOGIN alice@localhost secret")
        else {
            panic!()
        };
        assert_eq!(
            (tag.as_str(), user.address.as_str()),
            ("a5", "alice@localhost")
        );
        s.handle(Input::Done(Outcome {
            response: Response::new(),
            next: Next::LoggedIn(Some(user)),
        }));
        assert_eq!(s.state().name(), "Authenticated");
        assert!(reply(line(&mut s, "a6 FETCH 1 FLAGS")).starts_with("a6 BAD No mailbox selected"));
        assert!(reply(line(&mut s, "a7 LOGIN x y")).starts_with("a7 BAD Already logged in"));
        assert!(matches!(
            line(&mut s, "a8 SELECT INBOX"),
            Action::Effect(Effect::Run(_))
        ));
        let logout = reply(line(&mut s, "a9 LOGOUT"));
        assert_eq!(logout, "* BYE Logging out\r\na9 OK LOGOUT completed\r\n");
        assert_eq!(s.state(), &State::Logout);
    }

    #[test]
    fn no_password_in_the_clear_from_afar() {
        let mut s = session(false);
        let caps = reply(line(&mut s, "a CAPABILITY"));
        assert!(
            caps.contains("LOGINDISABLED") && !caps.contains("AUTH=PLAIN"),
            "{caps}"
        );
        let no = reply(line(&mut s, "b LOGIN alice@localhost secret"));
        assert!(no.starts_with("b NO [PRIVACYREQUIRED]"), "{no}");
    }

    #[test]
    fn wrong_password_and_sasl_plain() {
        let mut s = session(true);
        let no = reply(line(&mut s, "a LOGIN alice@localhost wrong"));
        assert_eq!(no, "a NO [AUTHENTICATIONFAILED] Authentication failed\r\n");
        assert_eq!(reply(line(&mut s, "b AUTHENTICATE PLAIN")), "+ \r\n");
        // base64("\0alice@localhost\0secret")
        let response = "AGFsaWNlQGxvY2FsaG9zdABzZWNyZXQ=";
        assert!(matches!(
            line(&mut s, response),
            Action::Effect(Effect::Login { .. })
        ));
        assert_eq!(reply(line(&mut s, "c AUTHENTICATE PLAIN")), "+ \r\n");
        assert_eq!(
            reply(line(&mut s, "*")),
            "c BAD Authentication cancelled\r\n"
        );
        let ir = format!("d AUTHENTICATE PLAIN {response}");
        assert!(matches!(
            line(&mut s, &ir),
            Action::Effect(Effect::Login { .. })
        ));
        assert!(reply(line(&mut s, "e AUTHENTICATE CRAM-MD5")).starts_with("e NO [CANNOT]"));
    }

    #[test]
    fn a_literal_is_asked_for_and_joined() {
        let mut s = session(true);
        assert_eq!(
            line(&mut s, "a LOGIN {15}"),
            Action::Effect(Effect::Literal {
                octets: 15,
                synchronizing: true
            })
        );
        assert_eq!(
            s.handle(Input::Literal(b"alice@localhost".to_vec())),
            Action::Listen
        );
        assert_eq!(
            line(&mut s, " {6+}"),
            Action::Effect(Effect::Literal {
                octets: 6,
                synchronizing: false
            })
        );
        s.handle(Input::Literal(b"secret".to_vec()));
        assert!(matches!(
            line(&mut s, ""),
            Action::Effect(Effect::Login { .. })
        ));
        // Too big: a synchronizing one is refused; a non-synchronizing one ends it all.
        let no = reply(line(&mut s, "b LOGIN {99999999}"));
        assert!(no.starts_with("b NO [TOOBIG]"), "{no}");
        let bye = line(&mut s, "c LOGIN {99999999+}");
        assert!(matches!(bye, Action::Close(_)));
    }

    #[test]
    fn literals_are_bounded_one_by_one_and_together() {
        let asked = |octets: usize| {
            Action::Effect(Effect::Literal {
                octets,
                synchronizing: true,
            })
        };
        let too_big = "b NO [TOOBIG] Literal too big (at most 65536 octets)\r\n";
        // APPEND's literal is the message: up to the largest message (25 MiB).
        let mut s = session(true);
        assert_eq!(line(&mut s, "a APPEND INBOX {100000}"), asked(100000));
        // One literal of a command other than APPEND: at most 64 KiB (imap_literal).
        let mut s = session(true);
        assert_eq!(line(&mut s, "a LOGIN {65536}"), asked(65536));
        let mut s = session(true);
        assert_eq!(reply(line(&mut s, "b LOGIN {65537}")), too_big);
        // All of a command's lines and literals: at most 64 KiB more than that.
        let two_literals = || {
            let mut s = session(true);
            assert_eq!(line(&mut s, "b LOGIN {60000}"), asked(60000));
            s.handle(Input::Literal(vec![b'x'; 60000]));
            assert_eq!(line(&mut s, " {60000}"), asked(60000));
            s.handle(Input::Literal(vec![b'x'; 60000]));
            s
        };
        // So far 120,035 octets with the next line: 11,037 more make 128 KiB.
        assert_eq!(line(&mut two_literals(), " {11037}"), asked(11037));
        assert_eq!(reply(line(&mut two_literals(), " {11038}")), too_big);
    }

    /// §6.2.1: STARTTLS only with a certificate, and only once.
    #[test]
    fn starttls_needs_a_certificate_and_comes_once() {
        let mut s = session(false);
        let bad = reply(line(&mut s, "a STARTTLS"));
        assert_eq!(bad, "a BAD STARTTLS is not available\r\n");

        let config = Config::new("mx");
        let mut settings = Settings::new(&config);
        settings.tls = true; // a certificate is loaded
        let policy = Arc::new(config.policy.clone());
        let mut s = Session::new(settings, policy, "192.0.2.1:9".parse().unwrap(), false).0;
        assert!(reply(line(&mut s, "b CAPABILITY")).contains(" STARTTLS"));
        assert_eq!(
            line(&mut s, "c STARTTLS"),
            Action::StartTls(Response::new().tagged(
                "c",
                Status::Ok,
                None,
                "Begin TLS negotiation now"
            ))
        );
        s.handle(Input::Wire(Event::TlsEstablished(
            crate::tls::testing::tls_info(),
        )));
        let again = reply(line(&mut s, "d STARTTLS"));
        assert_eq!(again, "d BAD TLS is already active\r\n");
        let caps = reply(line(&mut s, "e CAPABILITY"));
        assert!(
            !caps.contains("STARTTLS") && caps.contains("AUTH=PLAIN"),
            "{caps}"
        );
    }

    /// Logs alice in, as the connection does when her password checks out.
    fn log_in(s: &mut Session) {
        let Action::Effect(Effect::Login { user, .. }) = line(s, "a LOGIN alice@localhost secret")
        else {
            panic!()
        };
        s.handle(Input::Done(Outcome {
            response: Response::new(),
            next: Next::LoggedIn(Some(user)),
        }));
    }

    #[test]
    fn starttls_comes_before_login() {
        // §6.2.1: STARTTLS belongs to the not authenticated state.
        let mut s = session_with(true, true);
        log_in(&mut s);
        assert_eq!(
            reply(line(&mut s, "b STARTTLS")),
            "b BAD STARTTLS is only allowed before login\r\n"
        );
    }

    #[test]
    fn enable_comes_before_select() {
        // RFC 5161 §3.1: ENABLE only in the authenticated state.
        let mut s = session(true);
        log_in(&mut s);
        assert_eq!(
            reply(line(&mut s, "b ENABLE CONDSTORE")),
            "* ENABLED\r\nb OK ENABLE completed\r\n"
        );
        s.handle(Input::Done(Outcome {
            response: Response::new(),
            next: Next::Select {
                mailbox: "INBOX".into(),
                read_only: false,
            },
        }));
        assert_eq!(
            reply(line(&mut s, "c ENABLE CONDSTORE")),
            "c BAD ENABLE is only allowed before SELECT\r\n"
        );
    }

    #[test]
    fn mistakes_are_bad_and_the_budget_ends_it() {
        let mut s = session(true);
        assert_eq!(
            reply(line(&mut s, "a FROB")),
            "a BAD unknown command FROB\r\n"
        );
        assert!(reply(line(&mut s, "")).starts_with("* BAD"));
        let raw = b"b NOOP\n";
        assert!(reply(s.handle(Input::Wire(Event::Line(Line::new(raw))))).contains("CRLF"));
        let mut last = Action::Listen;
        for _ in 0..20 {
            last = line(&mut s, "x FETCH 1 FLAGS");
            if matches!(last, Action::Close(_)) {
                break;
            }
        }
        assert!(reply(last).contains("* BYE Too many errors"));
    }

    #[test]
    fn good_commands_spend_nothing_of_the_error_budget() {
        let mut s = session(true);
        for n in 0..100 {
            assert_eq!(
                reply(line(&mut s, &format!("n{n} NOOP"))),
                format!("n{n} OK NOOP completed\r\n")
            );
        }
    }
}
