//! The checks, one file per chapter of the book, and what they share: the [`Check`]
//! record (id, chapter, RFC section, MUST or SHOULD), the [`Ctx`] a check runs in,
//! and small helpers that connect, greet and start a transaction.
//!
//! A check opens its own connections, so no check depends on another. It returns
//! `Ok(())` when the rule holds, or a [`Verdict`]: failed, with the reason, or not
//! checked, with the reason (an extension not offered, no `--maildir`).

mod commands;
mod data;
mod ehlo;
mod greeting;
mod lines;
mod listening;
mod mail;
mod order;
mod rcpt;
mod replies;
mod responsibility;
mod safety;

use std::time::{Duration, Instant};

use super::conn::{Conn, ConnError, Transcript};
use super::reply::Reply;
use super::store::Store;
use super::Settings;

/// How strongly the RFC says it (RFC 2119).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Must,
    Should,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
        }
    }
}

// ANCHOR: check
/// One rule, checked against a live server.
#[derive(Debug)]
pub struct Check {
    /// Stable and unique: `--only` takes it, reports key on it.
    pub id: &'static str,
    /// The book's chapter ([`STAGES`]), from 1.
    pub stage: u8,
    /// Where the rule is written, e.g. `RFC 5321 §4.1.1.4`.
    pub section: &'static str,
    pub level: Level,
    /// Waits for a timeout (left out by `--skip-slow`).
    pub slow: bool,
    /// The rule, in a few words.
    pub title: &'static str,
    pub run: fn(&mut Ctx) -> Checked,
}

/// Why a check did not pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Fail(String),
    /// The check could not be run here; never a guess either way.
    NotChecked(String),
}

/// `Ok(())`: the rule holds.
pub type Checked = Result<(), Verdict>;
// ANCHOR_END: check

impl From<ConnError> for Verdict {
    fn from(e: ConnError) -> Verdict {
        Verdict::Fail(e.to_string())
    }
}

/// A chapter of the book, and so a stage of the grader.
#[derive(Debug)]
pub struct Stage {
    pub number: u8,
    pub chapter: &'static str,
    /// The page in book/src.
    pub page: &'static str,
}

// ANCHOR: stages
/// The stages, in the order of the book's chapters on receiving mail.
pub const STAGES: &[Stage] = &[
    Stage {
        number: 1,
        chapter: "Listening",
        page: "listening.md",
    },
    Stage {
        number: 2,
        chapter: "Reading lines",
        page: "reading-lines.md",
    },
    Stage {
        number: 3,
        chapter: "The state machine",
        page: "state-machine.md",
    },
    Stage {
        number: 4,
        chapter: "The greeting: 220",
        page: "greeting.md",
    },
    Stage {
        number: 5,
        chapter: "EHLO and HELO",
        page: "ehlo.md",
    },
    Stage {
        number: 6,
        chapter: "MAIL FROM",
        page: "mail-from.md",
    },
    Stage {
        number: 7,
        chapter: "RCPT TO",
        page: "rcpt-to.md",
    },
    Stage {
        number: 8,
        chapter: "DATA",
        page: "data.md",
    },
    Stage {
        number: 9,
        chapter: "Taking responsibility",
        page: "taking-responsibility.md",
    },
    Stage {
        number: 10,
        chapter: "QUIT, RSET, NOOP, VRFY and HELP",
        page: "quit-rset-noop-vrfy-help.md",
    },
    Stage {
        number: 11,
        chapter: "Replies",
        page: "replies.md",
    },
    Stage {
        number: 12,
        chapter: "Keeping it safe",
        page: "keeping-it-safe.md",
    },
];
// ANCHOR_END: stages

/// Every check, stage by stage.
pub const CHECKS: &[&[Check]] = &[
    listening::CHECKS,
    lines::CHECKS,
    order::CHECKS,
    greeting::CHECKS,
    ehlo::CHECKS,
    mail::CHECKS,
    rcpt::CHECKS,
    data::CHECKS,
    responsibility::CHECKS,
    commands::CHECKS,
    replies::CHECKS,
    safety::CHECKS,
];

/// Every check, in order.
pub fn all() -> impl Iterator<Item = &'static Check> {
    CHECKS.iter().flat_map(|stage| stage.iter())
}

/// The chapter of stage `number`.
pub fn chapter(number: u8) -> &'static str {
    STAGES
        .iter()
        .find(|s| s.number == number)
        .map_or("?", |s| s.chapter)
}

/// What a check runs with: the settings, its own transcript, a token of its own.
pub struct Ctx<'a> {
    pub settings: &'a Settings,
    pub transcript: Transcript,
    /// Unique to this check and run: marks the messages it sends.
    pub token: String,
    connections: usize,
}

impl<'a> Ctx<'a> {
    pub fn new(settings: &'a Settings, transcript: Transcript, token: String) -> Ctx<'a> {
        Ctx {
            settings,
            transcript,
            token,
            connections: 0,
        }
    }

    /// A new connection; nothing read yet.
    pub fn connect(&mut self) -> Result<Conn, Verdict> {
        self.connections += 1;
        Ok(Conn::open(
            self.settings.target,
            self.settings.reply_timeout,
            self.transcript.clone(),
            self.connections,
        )?)
    }

    /// A new connection that has read a 220 greeting: returns the greeting too.
    pub fn greeted(&mut self) -> Result<(Conn, Reply), Verdict> {
        let mut conn = self.connect()?;
        let greeting = conn.reply()?;
        need(&greeting, &[220], "the greeting")?;
        Ok((conn, greeting))
    }

    /// Greeted, and EHLO answered with 250: returns the EHLO reply too.
    pub fn session(&mut self) -> Result<(Conn, Reply), Verdict> {
        let (mut conn, _) = self.greeted()?;
        let ehlo = conn.cmd(&format!("EHLO {}", self.settings.helo))?;
        need(&ehlo, &[250], "EHLO")?;
        Ok((conn, ehlo))
    }

    /// A session with MAIL FROM accepted: ready for RCPT.
    pub fn mail_from(&mut self) -> Result<Conn, Verdict> {
        let (mut conn, _) = self.session()?;
        self.mail(&mut conn, "MAIL FROM")?;
        Ok(conn)
    }

    /// A session with MAIL and one RCPT accepted: ready for DATA.
    pub fn transaction(&mut self) -> Result<Conn, Verdict> {
        let (mut conn, _) = self.session()?;
        self.mail_rcpt(&mut conn)?;
        Ok(conn)
    }

    /// The simplest check: in a new session, `command` gets one of `codes`.
    pub fn after_ehlo(&mut self, command: &str, codes: &[u16], what: &str) -> Checked {
        let (mut conn, _) = self.session()?;
        need(&conn.cmd(command)?, codes, what)
    }

    /// MAIL FROM with the settings' reverse-path, accepted; `what` names it in a
    /// failure.
    pub fn mail(&self, conn: &mut Conn, what: &str) -> Checked {
        let mail = conn.cmd(&format!("MAIL FROM:<{}>", self.settings.from))?;
        need(&mail, &[250], what)
    }

    /// MAIL FROM and RCPT TO with the settings' addresses, both accepted.
    pub fn mail_rcpt(&self, conn: &mut Conn) -> Checked {
        self.mail(conn, "MAIL FROM")?;
        let rcpt = conn.cmd(&format!("RCPT TO:<{}>", self.settings.to))?;
        need(&rcpt, &[250, 251], "RCPT TO")
    }

    /// A small message marked with `token`, each line ending in CRLF, without the
    /// final dot line.
    pub fn message(&self, token: &str, body: &str) -> Vec<u8> {
        let s = self.settings;
        let mut text = format!(
            "Message-ID: <{token}@grader.example.org>\r\nFrom: <{}>\r\nTo: <{}>\r\nSubject: postie check {token}\r\n\r\n",
            s.from, s.to
        );
        for line in body.lines() {
            text.push_str(line);
            text.push_str("\r\n");
        }
        text.into_bytes()
    }

    /// The store, or "not checked" when the user gave none.
    pub fn store(&self) -> Result<&'a Store, Verdict> {
        self.settings.store.as_ref().ok_or_else(|| {
            Verdict::NotChecked("needs --maildir DIR or --mbox FILE to see what was stored".into())
        })
    }

    /// The stored messages containing `token`, now.
    pub fn stored_now(&self, token: &str) -> Result<Vec<Vec<u8>>, Verdict> {
        let store = self.store()?;
        store
            .messages_with(token.as_bytes())
            .map_err(|e| Verdict::NotChecked(format!("cannot read {}: {e}", store.describe())))
    }

    /// The stored messages containing `token`, once at least one has appeared (and a
    /// moment later, to catch a duplicate); empty if none arrived in time.
    pub fn wait_stored(&self, token: &str) -> Result<Vec<Vec<u8>>, Verdict> {
        let store = self.store()?;
        let deadline = Instant::now() + self.settings.store_wait;
        loop {
            let found = store.messages_with(token.as_bytes()).map_err(|e| {
                Verdict::NotChecked(format!("cannot read {}: {e}", store.describe()))
            })?;
            if !found.is_empty() {
                std::thread::sleep(self.settings.quiet);
                return store.messages_with(token.as_bytes()).map_err(|e| {
                    Verdict::NotChecked(format!("cannot read {}: {e}", store.describe()))
                });
            }
            if Instant::now() >= deadline {
                return Ok(found);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Fails unless `reply` has one of `codes`; `what` names the command.
pub fn need(reply: &Reply, codes: &[u16], what: &str) -> Checked {
    if codes.contains(&reply.code) {
        return Ok(());
    }
    let expected: Vec<String> = codes.iter().map(u16::to_string).collect();
    Err(Verdict::Fail(format!(
        "{what} got {}, expected {}",
        reply.code,
        expected.join(" or ")
    )))
}

/// Fails unless the first word of `reply` names the server (a domain or address
/// literal, RFC 5321 §4.2 and §4.1.1.1); `what` names the reply in a failure.
pub fn names_server(reply: &Reply, what: &str) -> Checked {
    let first = reply.texts().into_iter().next().unwrap_or_default();
    let name = first.split(' ').next().unwrap_or_default();
    if is_domain_or_literal(name) {
        Ok(())
    } else {
        fail(format!(
            "{what} starts with {name:?}, not a domain or address literal"
        ))
    }
}

/// Fails with `reason`.
pub fn fail<T>(reason: impl Into<String>) -> Result<T, Verdict> {
    Err(Verdict::Fail(reason.into()))
}

/// Is `text` a domain (RFC 5321 §4.1.2: sub-domains of letters, digits and hyphens)
/// or an address literal in brackets?
pub fn is_domain_or_literal(text: &str) -> bool {
    if text.starts_with('[') && text.ends_with(']') && text.len() > 2 {
        return true;
    }
    !text.is_empty()
        && text.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_stages_exist() {
        let mut ids: Vec<&str> = all().map(|c| c.id).collect();
        let count = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), count, "duplicate check ids");
        for (i, stage) in CHECKS.iter().enumerate() {
            for check in stage.iter() {
                assert_eq!(
                    usize::from(check.stage),
                    i + 1,
                    "{} is in the wrong file",
                    check.id
                );
                assert!(check.section.starts_with("RFC "), "{}", check.id);
            }
        }
    }

    #[test]
    fn domains_and_literals() {
        assert!(is_domain_or_literal("mx.example.org"));
        assert!(is_domain_or_literal("localhost"));
        assert!(is_domain_or_literal("[127.0.0.1]"));
        assert!(!is_domain_or_literal("ESMTP"[..0].as_ref()));
        assert!(!is_domain_or_literal("bad_name"));
        assert!(!is_domain_or_literal("-a.example"));
    }
}
