//! POP3's side of the shared conversation: its session, and what only POP3 does with
//! the wire and the disk — open and lock the maildrop, send a message, remove the
//! deleted ones at QUIT (RFC 1939 §3-§6).
//!
//! The loop itself (lines in, responses out, pipelining per RFC 2449 §6.6, STLS per
//! RFC 2595 §4, deadlines, the trace) is [`crate::wire::Conversation`]'s, shared with
//! SMTP. [`Pop3`] supplies the session and performs its [`Effect`]s; [`Pop3Service`]
//! is the listener's side (`--pop3-listen`, and `--pop3s-listen` over implicit TLS).
//!
//! `--trace` shows the dialogue as SMTP's does, with one difference: the argument of
//! PASS is never shown.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::maildrop::Maildrop;
use super::message;
use super::reply::Reply;
use super::session::{Action, Effect, Input, Session};
use crate::config::{Config, Settings};
use crate::policy::Policy;
use crate::wire::{self, Accepted, Conversation, Dialogue, Event, Render, Stream, TlsMode};
use crate::TRACE;

impl Render for Reply {
    fn write_to(&self, out: &mut Vec<u8>) {
        Reply::write_to(self, out)
    }
}

// ANCHOR: pop3
/// One POP3 client's dialogue: the session, and its maildrop once logged in.
pub struct Pop3 {
    pub session: Session,
    /// The Maildir root: `<root>/<domain>/<mailbox>/`.
    root: PathBuf,
    /// Open (and locked) from PASS to the end of the connection.
    maildrop: Option<Maildrop>,
}
// ANCHOR_END: pop3

impl Pop3 {
    pub fn new(session: Session, root: PathBuf) -> Pop3 {
        Pop3 {
            session,
            root,
            maildrop: None,
        }
    }
}

impl Dialogue for Pop3 {
    type Reply = Reply;
    type Effect = Effect;
    const NAME: &'static str = "POP3";

    fn handle(&mut self, event: Event<'_>) -> Action {
        self.session.handle(Input::Wire(event))
    }

    fn line_limit(&self) -> usize {
        self.session.line_limit()
    }

    // ANCHOR: trace
    /// `--trace`: one line of the dialogue, the password masked.
    fn shown(&self, text: &[u8]) -> String {
        let text = String::from_utf8_lossy(text);
        match text.get(..5) {
            Some(keyword) if keyword.eq_ignore_ascii_case("PASS ") => format!("{keyword}****"),
            _ => text.into_owned(),
        }
    }
    // ANCHOR_END: trace

    // ANCHOR: perform
    /// Only QUIT in TRANSACTION removes anything (RFC 1939 §6): every other way out
    /// simply drops the maildrop, and with it the lock.
    fn perform<S: Stream>(
        &mut self,
        effect: Effect,
        conversation: &mut Conversation<S>,
    ) -> io::Result<Option<Action>> {
        let next = match effect {
            Effect::OpenMaildrop(mailbox) => {
                let opened = Maildrop::open(&self.root, &mailbox);
                let result = opened.map(|drop| {
                    let entries = drop.entries().to_vec();
                    self.maildrop = Some(drop);
                    entries
                });
                self.session.handle(Input::MaildropOpened(mailbox, result))
            }
            Effect::Retrieve {
                number,
                octets,
                body_lines,
            } => {
                self.retrieve(conversation, number, octets, body_lines);
                Action::Listen
            }
            Effect::Update(marked) => {
                let failed = match self.maildrop.as_mut() {
                    Some(maildrop) => maildrop.remove(&marked),
                    None => marked.len(),
                };
                self.session.handle(Input::Updated(failed))
            }
        };
        Ok(Some(next))
    }
    // ANCHOR_END: perform

    /// The maildrop (and its lock) is let go before the last response, so a client
    /// that has read the goodbye may log in again at once.
    fn closing(&mut self) {
        self.maildrop = None;
    }
}

impl Pop3 {
    // ANCHOR: retrieve
    /// RETR and TOP: the status line, then the message, byte-stuffed, then ".".
    /// RETR marks the message seen (it moves to `cur/` with the `S` flag).
    fn retrieve<S: Stream>(
        &mut self,
        conversation: &mut Conversation<S>,
        number: usize,
        octets: u64,
        body_lines: Option<usize>,
    ) {
        let client = conversation.client();
        let Some(maildrop) = self.maildrop.as_mut() else {
            return conversation.send(&Reply::cannot_read(number));
        };
        let text = match maildrop.read(number - 1) {
            Ok(text) => text,
            Err(e) => {
                log::warn!("{client}: cannot read message {number}: {e}");
                return conversation.send(&Reply::cannot_read(number));
            }
        };
        if body_lines.is_none() {
            if let Err(e) = maildrop.mark_seen(number - 1) {
                log::warn!("{client}: cannot mark message {number} seen: {e}");
            }
        }
        conversation.send(&Reply::message_follows(octets));
        let body = message::encode(&text, body_lines);
        log::trace!(
            target: TRACE,
            "{client} S: ({} octets on the wire: the message, byte-stuffed, and the final \".\")",
            body.len()
        );
        conversation.send_raw(&body);
    }
    // ANCHOR_END: retrieve
}

// ANCHOR: service
/// A POP3 listener's service (`--pop3-listen`, or `--pop3s-listen` with `implicit`).
pub struct Pop3Service {
    settings: Settings,
    policy: Arc<dyn Policy>,
    root: PathBuf,
    tls: TlsMode,
}
// ANCHOR_END: service

impl Pop3Service {
    pub fn new(config: &Config, policy: Arc<dyn Policy>, implicit_tls: bool) -> Pop3Service {
        Pop3Service {
            settings: Settings::new(config),
            policy,
            root: config.maildir.clone(),
            tls: TlsMode::new(config.tls.clone(), implicit_tls),
        }
    }
}

impl wire::Service for Pop3Service {
    /// RFC 1939 §3: POP3's autologout timer is at least 10 minutes (SMTP's
    /// `timeout` is not POP3's).
    #[allow(clippy::misnamed_getters)]
    fn timeout(&self) -> Duration {
        self.settings.limits.pop3_timeout
    }

    /// "-ERR [SYS/TEMP]" and the same words as SMTP's 421 (RFC 2449 §8, RFC 3206).
    fn too_busy(&self) -> Vec<u8> {
        self.tls.too_busy(&self.settings.hostname, |text| {
            Reply::err(Some("SYS/TEMP"), text)
        })
    }

    // ANCHOR: serve
    fn serve(&self, client: Accepted) {
        let peer = client.peer;
        log::info!("{peer} connected (POP3)");
        let (session, greeting) = Session::new(self.settings.clone(), self.policy.clone(), peer);
        let pop3 = Pop3::new(session, self.root.clone());
        // RFC 1939 §3: the autologout timer bounds each command as a whole too.
        let line_timeout = self.settings.limits.pop3_timeout;
        wire::converse(client, &self.tls, line_timeout, pop3, greeting);
    }
    // ANCHOR_END: serve
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::store::maildir::MailboxPath;
    use crate::store::testing;
    use crate::wire::Duplex;
    use std::path::Path;

    /// The client's side of the wire: keeps what the server writes and, when the
    /// goodbye arrives, tries to open the maildrop as a second session would.
    struct Client<'a> {
        root: &'a Path,
        mailbox: MailboxPath,
        heard: Vec<u8>,
        free_at_goodbye: Option<bool>,
    }

    impl io::Write for Client<'_> {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.heard.extend_from_slice(buf);
            let goodbye = String::from_utf8_lossy(&self.heard).contains("signing off");
            if goodbye && self.free_at_goodbye.is_none() {
                let second = Maildrop::open(self.root, &self.mailbox);
                self.free_at_goodbye = Some(second.is_ok());
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// RFC 1939 §6: QUIT ends the session and releases the maildrop. postie lets go
    /// of the lock before the goodbye is sent, so a client that has read it may log in
    /// again at once and never meet its own old session's `[IN-USE]`.
    #[test]
    fn the_maildrop_is_free_when_the_goodbye_is_sent() {
        let dir = tempfile::tempdir().unwrap();
        let password = "correct horse";
        let mut config = Config::new("mx.example.test");
        config.allow_plaintext_auth = true;
        config.policy.users = Some(
            crate::accounts::Users::parse(&format!(
                "alice@localhost {}\n",
                crate::accounts::hash_password(password).unwrap()
            ))
            .unwrap(),
        );
        let client = "127.0.0.1:4000".parse().unwrap();
        let (session, greeting) = Session::new(
            Settings::new(&config),
            Arc::new(config.policy.clone()),
            client,
        );
        let mut pop3 = Pop3::new(session, dir.path().to_path_buf());
        let input = format!("USER alice@localhost\r\nPASS {password}\r\nSTAT\r\nQUIT\r\n");
        let mut output = Client {
            root: dir.path(),
            mailbox: testing::mailbox("alice"),
            heard: Vec::new(),
            free_at_goodbye: None,
        };
        let stream = Duplex {
            input: input.as_bytes(),
            output: &mut output,
        };
        let conversation = Conversation::new(stream, client, Duration::from_secs(5));
        conversation.run(&mut pop3, greeting).unwrap();

        let heard = String::from_utf8_lossy(&output.heard).into_owned();
        assert!(heard.contains("\r\n+OK 0 0\r\n"), "logged in: {heard}");
        assert_eq!(output.free_at_goodbye, Some(true), "{heard}");
    }
}
