//! IMAP's side of the shared conversation: its session, and what only IMAP does with
//! the wire and the disk — a literal's octets (RFC 3501 §4.3, RFC 7888), the folders
//! (§6.3, §6.4), IDLE (RFC 2177).
//!
//! The loop (lines in, responses out, STARTTLS per §6.2.1 with the CVE-2011-0411
//! discard, deadlines, the trace) is [`crate::wire::Conversation`]'s, shared with SMTP
//! and POP3. [`Imap`] supplies the session and performs its [`Effect`]s; [`ImapService`]
//! is the listener's side (`--imap-listen`, and `--imaps-listen` over implicit TLS).
//!
//! **IDLE** waits for two things at once: the client's `DONE`, and news from the
//! mailbox. It reads with a short timeout ([`Conversation::read_line_within`]) and, in
//! between, asks the folders whether anything changed; the store's bell rings at
//! every delivery, so new mail is announced within [`IDLE_TICK`].
//!
//! `--trace` shows the dialogue, but never a password: LOGIN's arguments and
//! AUTHENTICATE's response are masked, and literals are not traced at all.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::command::Kind;
use super::folders::Folders;
use super::mailbox::{self, Context};
use super::response::{Response, Status};
use super::selected::Selected;
use super::session::{Action, Effect, Input, Next, Outcome, Session, State, User};
use crate::config::{Config, Settings};
use crate::policy::Policy;
use crate::wire::{self, Accepted, Conversation, Dialogue, Event, ReadError, Stream, TlsMode};
use crate::TRACE;

/// How often IDLE checks the store's bell while the client is silent.
pub const IDLE_TICK: Duration = Duration::from_millis(250);
/// How often IDLE lists the mailbox even when the bell did not ring.
pub const IDLE_LOOK: Duration = Duration::from_millis(500);

/// Opens a user's folders (the Maildir in production, memory in tests).
pub type Opener = Arc<dyn Fn(&User) -> io::Result<Box<dyn Folders>> + Send + Sync>;

// ANCHOR: imap
/// One IMAP client's dialogue: the session, the user's folders once logged in, and
/// the selected mailbox as this session sees it.
pub struct Imap {
    pub session: Session,
    open: Opener,
    folders: Option<Box<dyn Folders>>,
    selected: Option<Selected>,
    /// How long IDLE may last before the autologout (RFC 2177 §3: at least 29 minutes
    /// of silence are allowed, then the server may log the client off).
    idle_limit: Duration,
}
// ANCHOR_END: imap

impl Imap {
    pub fn new(session: Session, open: Opener, idle_limit: Duration) -> Imap {
        Imap {
            session,
            open,
            folders: None,
            selected: None,
            idle_limit,
        }
    }
}

impl Dialogue for Imap {
    type Reply = Response;
    type Effect = Effect;
    const NAME: &'static str = "IMAP";

    fn handle(&mut self, event: Event<'_>) -> Action {
        self.session.handle(Input::Wire(event))
    }

    fn line_limit(&self) -> usize {
        self.session.line_limit()
    }

    // ANCHOR: trace
    /// `--trace`: one line of the dialogue, passwords masked: LOGIN's and AUTHENTICATE's
    /// arguments, the lines that continue them after a literal, and the response
    /// AUTHENTICATE waits for. Literals themselves are never traced.
    fn shown(&self, text: &[u8]) -> String {
        if self.session.next_line_is_secret() {
            return "****".to_string();
        }
        let text = String::from_utf8_lossy(text);
        let mut words = text.splitn(3, ' ');
        match (words.next(), words.next()) {
            (Some(tag), Some(name)) if name.eq_ignore_ascii_case("LOGIN") => {
                format!("{tag} {name} ****")
            }
            (Some(tag), Some(name)) if name.eq_ignore_ascii_case("AUTHENTICATE") => {
                let mechanism = words.next().unwrap_or("").split(' ').next().unwrap_or("");
                format!("{tag} {name} {mechanism} ****")
            }
            _ => text.into_owned(),
        }
    }
    // ANCHOR_END: trace

    // ANCHOR: perform
    fn perform<S: Stream>(
        &mut self,
        effect: Effect,
        conversation: &mut Conversation<S>,
    ) -> io::Result<Option<Action>> {
        let client = conversation.client();
        let outcome = match effect {
            Effect::Literal {
                octets,
                synchronizing,
            } => {
                if synchronizing {
                    conversation.send(&Response::continuation("Ready for literal data"));
                    conversation.flush()?;
                }
                log::trace!(target: TRACE, "{client} C: ({octets} octets of a literal)");
                return match conversation.read_octets(octets) {
                    Ok(bytes) => Ok(Some(self.session.handle(Input::Literal(bytes)))),
                    // Nothing was done with the command yet: a vanished client loses
                    // nothing, and APPEND stores nothing half.
                    Err(ReadError::Closed) => Ok(None),
                    Err(ReadError::TimedOut) => {
                        Ok(Some(self.session.handle(Input::Wire(Event::TimedOut))))
                    }
                    Err(ReadError::TooLong) => Ok(None),
                    Err(ReadError::Io(e)) => Err(e),
                };
            }
            Effect::Login { tag, user } => self.login(&tag, user),
            Effect::Run(command) => self.run(&command.tag, &command.kind),
            Effect::Idle { tag } => match self.idle(&tag, conversation)? {
                Some(outcome) => outcome,
                None => return Ok(None),
            },
        };
        Ok(Some(self.session.handle(Input::Done(outcome))))
    }
    // ANCHOR_END: perform
}

impl Imap {
    /// A good password: open the user's folders (creating the Maildir on first use).
    fn login(&mut self, tag: &str, user: User) -> Outcome {
        match (self.open)(&user) {
            Ok(folders) => {
                self.folders = Some(folders);
                let capabilities = self.capabilities_after_login();
                Outcome {
                    response: Response::new().tagged(
                        tag,
                        Status::Ok,
                        Some(&format!("CAPABILITY {capabilities}")),
                        "Logged in",
                    ),
                    next: Next::LoggedIn(Some(user)),
                }
            }
            Err(e) => {
                log::warn!("IMAP: cannot open the mail of {}: {e}", user.address);
                Outcome {
                    response: Response::new().tagged(
                        tag,
                        Status::No,
                        Some("UNAVAILABLE"),
                        "Your mail cannot be opened now; try again later",
                    ),
                    next: Next::LoggedIn(None),
                }
            }
        }
    }

    fn capabilities_after_login(&self) -> String {
        // The session's list without the pre-login words.
        self.session
            .capabilities()
            .split(' ')
            .filter(|c| !matches!(*c, "STARTTLS" | "LOGINDISABLED") && !c.starts_with("AUTH="))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn run(&mut self, tag: &str, kind: &Kind) -> Outcome {
        let Some(folders) = self.folders.as_deref() else {
            return Outcome {
                response: Response::new().tagged(tag, Status::Bad, None, "Log in first"),
                next: Next::Stay,
            };
        };
        let was_selected = matches!(self.session.state(), State::Selected { .. });
        mailbox::run(
            folders,
            &mut self.selected,
            Context { tag, was_selected },
            kind,
        )
    }

    // ANCHOR: idle
    /// RFC 2177: `+ idling`, then news as it happens, until `DONE`. `None`: the client
    /// went away.
    fn idle<S: Stream>(
        &mut self,
        tag: &str,
        conversation: &mut Conversation<S>,
    ) -> io::Result<Option<Outcome>> {
        conversation.send(&Response::continuation("idling"));
        conversation.flush()?;
        let started = Instant::now();
        let mut seen = self.folders.as_ref().map_or(0, |f| f.changes());
        let mut last_look = Instant::now();
        loop {
            match conversation.read_line_within(self.session.line_limit(), IDLE_TICK) {
                Ok(line) => {
                    let text = line.strip_suffix(b"\r\n").unwrap_or(&line);
                    log::trace!(target: TRACE, "{} C: {}", conversation.client(), String::from_utf8_lossy(text));
                    let news = self.news();
                    let response = if text.eq_ignore_ascii_case(b"DONE") {
                        news.tagged(tag, Status::Ok, None, "IDLE terminated")
                    } else {
                        news.tagged(tag, Status::Bad, None, "Expected DONE to end IDLE")
                    };
                    return Ok(Some(Outcome {
                        response,
                        next: Next::Stay,
                    }));
                }
                Err(ReadError::TimedOut) => {}
                Err(ReadError::TooLong) => {
                    return Ok(Some(Outcome {
                        response: Response::new().tagged(
                            tag,
                            Status::Bad,
                            None,
                            "Expected DONE to end IDLE",
                        ),
                        next: Next::Stay,
                    }))
                }
                Err(ReadError::Closed) => return Ok(None),
                Err(ReadError::Io(e)) => return Err(e),
            }
            let goodbye = if conversation.stopping() {
                Some("Server shutting down")
            } else if autologout(started.elapsed(), self.idle_limit) {
                Some("Autologout; idle for too long")
            } else {
                None
            };
            if let Some(text) = goodbye {
                return Ok(Some(Outcome {
                    response: Response::new().untagged_status(Status::Bye, None, text),
                    next: Next::Close,
                }));
            }
            let now = self.folders.as_ref().map_or(0, |f| f.changes());
            if time_to_look(now, seen, last_look.elapsed()) {
                seen = now;
                last_look = Instant::now();
                let news = self.news();
                if !news.is_empty() {
                    conversation.send(&news);
                    conversation.flush()?;
                }
            }
        }
    }

    /// What changed in the selected mailbox since the session last looked.
    fn news(&mut self) -> Response {
        match (self.folders.as_deref(), self.selected.as_mut()) {
            (Some(folders), Some(view)) => match folders.snapshot(&view.name, !view.read_only) {
                Ok(now) => view.sync(now),
                Err(_) => Response::new(),
            },
            _ => Response::new(),
        }
    }
    // ANCHOR_END: idle
}

// ANCHOR: idle_clock
/// RFC 2177 §3: the autologout ends an IDLE that has lasted *longer* than the limit
/// (the client may be silent for all of it).
fn autologout(idle_for: Duration, limit: Duration) -> bool {
    idle_for > limit
}

/// Whether IDLE looks at the folder now. New mail rings the store's bell (`changes`
/// moves on from what IDLE last `saw`); other sessions' flags and expunges, and other
/// programs, ring nothing, so it looks anyway every [`IDLE_LOOK`].
fn time_to_look(changes: u64, saw: u64, since_last_look: Duration) -> bool {
    changes != saw || since_last_look >= IDLE_LOOK
}
// ANCHOR_END: idle_clock

// ANCHOR: service
/// An IMAP listener's service (`--imap-listen`, or `--imaps-listen` with `implicit`).
pub struct ImapService {
    settings: Settings,
    policy: Arc<dyn Policy>,
    open: Opener,
    tls: TlsMode,
}
// ANCHOR_END: service

impl ImapService {
    pub fn new(
        config: &Config,
        policy: Arc<dyn Policy>,
        open: Opener,
        implicit_tls: bool,
    ) -> ImapService {
        ImapService {
            settings: Settings::new(config),
            policy,
            open,
            tls: TlsMode::new(config.tls.clone(), implicit_tls),
        }
    }
}

impl wire::Service for ImapService {
    /// RFC 3501 §5.4: the autologout timer is at least 30 minutes.
    #[allow(clippy::misnamed_getters)]
    fn timeout(&self) -> Duration {
        self.settings.limits.imap_timeout
    }

    /// `* BYE` (§7.1.5) with the same words as SMTP's 421.
    fn too_busy(&self) -> Vec<u8> {
        self.tls.too_busy(&self.settings.hostname, |text| {
            Response::new().untagged_status(Status::Bye, Some("UNAVAILABLE"), text)
        })
    }

    // ANCHOR: serve
    fn serve(&self, client: Accepted) {
        let peer = client.peer;
        log::info!("{peer} connected (IMAP)");
        let (session, greeting) = Session::new(
            self.settings.clone(),
            self.policy.clone(),
            peer,
            self.tls.implicit,
        );
        let limit = self.settings.limits.imap_timeout;
        let imap = Imap::new(session, self.open.clone(), limit);
        wire::converse(client, &self.tls, limit, imap, greeting);
    }
    // ANCHOR_END: serve
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn idle_ends_only_after_its_limit() {
        let limit = Duration::from_secs(29 * 60);
        assert!(!autologout(Duration::ZERO, limit));
        assert!(!autologout(limit, limit));
        assert!(autologout(limit + Duration::from_millis(1), limit));
    }

    #[test]
    fn idle_looks_when_the_bell_rang_or_the_look_is_due() {
        let just_now = Duration::from_millis(10);
        assert!(time_to_look(8, 7, just_now), "a delivery: look at once");
        assert!(!time_to_look(7, 7, just_now), "nothing rang: wait");
        let almost = IDLE_LOOK - Duration::from_millis(1);
        assert!(!time_to_look(7, 7, almost));
        assert!(time_to_look(7, 7, IDLE_LOOK), "a flag another session set");
    }

    #[test]
    fn the_trace_never_shows_a_password() {
        let config = Config::new("mx");
        let policy = Arc::new(config.policy.clone());
        let (session, _) = Session::new(
            Settings::new(&config),
            policy,
            "127.0.0.1:9".parse().unwrap(),
            false,
        );
        let open: Opener = Arc::new(|_| Err(io::Error::other("no folders in this test")));
        let imap = Imap::new(session, open, Duration::from_secs(1));
        assert_eq!(imap.shown(b"a1 LOGIN alice \"let me in\""), "a1 LOGIN ****");
        assert_eq!(imap.shown(b"a2 login {5}"), "a2 login ****");
        assert_eq!(
            imap.shown(b"a3 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA=="),
            "a3 AUTHENTICATE PLAIN ****"
        );
        assert_eq!(imap.shown(b"a4 SELECT INBOX"), "a4 SELECT INBOX");
        // The rest of a LOGIN after its literal, and AUTHENTICATE's response.
        let mut imap = imap;
        imap.handle(Event::Line(crate::wire::Line::new(b"a5 LOGIN {5}\r\n")));
        imap.session.handle(Input::Literal(b"alice".to_vec()));
        assert_eq!(imap.shown(b" \"let me in\""), "****");
        imap.handle(Event::Line(crate::wire::Line::new(b" \"let me in\"\r\n")));
        assert_eq!(imap.shown(b"a6 NOOP"), "a6 NOOP");
    }
}
