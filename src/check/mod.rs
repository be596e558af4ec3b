//! `postie check HOST:PORT`: a grader for any SMTP server, in any language.
//!
//! It is a client. It connects to the server under test, runs checks in stages that
//! follow the book's chapters, and says, per rule, what holds and what does not. Each
//! check names the RFC section it comes from and whether that section says MUST or
//! SHOULD; a failed check shows the exact bytes sent and received.
//!
//! The checks are written against RFC 5321 (and RFC 1870 SIZE, RFC 2920 PIPELINING,
//! RFC 2034 enhanced status codes), never against postie: the same run grades Postfix,
//! aiosmtpd or a student's first server. Nothing here uses postie's server code.
//!
//! | job | module |
//! |---|---|
//! | the flags, and turning them into [`Settings`] | [`options`] |
//! | one TCP connection that keeps every byte it sent and received | [`conn`] |
//! | a reply, read line by line, and what makes it well formed (§4.2) | [`reply`] |
//! | what the server stored: a Maildir or an mbox file | [`store`] |
//! | the checks, one file per chapter | [`checks`] |
//! | choosing checks (`--stage`, `--only`, `--skip-slow`) and running them | [`runner`] |
//! | the table, JSON and JUnit reports | [`report`] |
//!
//! Deliberately left out: STARTTLS and AUTH (a grader would need the server's
//! certificate and an account), and anything DNS decides (MX, SPF): a class server
//! runs on a laptop.

pub mod checks;
pub mod conn;
pub mod options;
pub mod reply;
pub mod report;
pub mod runner;
pub mod store;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use checks::{Check, Checked, Level, Verdict, CHECKS, STAGES};
pub use options::{main, CheckArgs, Format};
pub use report::{CheckReport, Outcome, Report};
pub use runner::run;

/// Everything a run needs to know, already checked.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The server under test.
    pub target: SocketAddr,
    /// What the user typed for it, for the report.
    pub target_name: String,
    /// The name we give in EHLO and HELO.
    pub helo: String,
    /// The reverse-path of every test message.
    pub from: String,
    /// A mailbox the server accepts mail for (and stores where `store` looks).
    pub to: String,
    /// Run the checks of stages 1 to this one.
    pub stage: u8,
    /// Run only these checks (by id), when not empty.
    pub only: Vec<String>,
    /// Leave out the checks that wait for a timeout.
    pub skip_slow: bool,
    /// Where the server stores mail for `to`; without it, checks that must see the
    /// stored message are "not checked".
    pub store: Option<store::Store>,
    /// The longest wait for one reply.
    pub reply_timeout: Duration,
    /// Silence this long means "no more replies are coming".
    pub quiet: Duration,
    /// How long the slow checks stay idle (RFC 5321 §4.5.3.2.7 asks servers for 5 min).
    pub idle: Duration,
    /// How long a message may take to appear in the store after its 250.
    pub store_wait: Duration,
}

impl Settings {
    /// Settings with the defaults of `postie check`, for a server at `target`.
    pub fn new(target: SocketAddr) -> Settings {
        Settings {
            target,
            target_name: target.to_string(),
            helo: "grader.example.org".into(),
            from: "grader@example.org".into(),
            to: "postmaster@localhost".into(),
            stage: STAGES.len() as u8,
            only: Vec::new(),
            skip_slow: false,
            store: None,
            reply_timeout: Duration::from_secs(30),
            quiet: Duration::from_millis(500),
            idle: Duration::from_secs(300),
            store_wait: Duration::from_secs(10),
        }
    }

    /// Looks in a Maildir (or a tree of them) for stored messages.
    pub fn with_maildir(mut self, dir: impl Into<PathBuf>) -> Settings {
        self.store = Some(store::Store::Maildir(dir.into()));
        self
    }
}
