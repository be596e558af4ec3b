//! Golden transcripts: whole SMTP dialogues in `tests/transcripts/*.txt`, shared with
//! the book, which includes the files verbatim.
//!
//! # The format
//!
//! ```text
//! # Comment lines start with '#'. Lines starting with "C: " are sent by the client
//! # (CRLF appended); lines starting with "S: " are expected from the server.
//! # Consecutive C: lines are sent in ONE write (that is how PIPELINING looks on the
//! # wire), then the S: lines that follow are read and compared.
//! # In S: lines, {id} matches the message id (one run of non-space characters), and
//! # {any} matches the rest of the line.
//! C: EHLO client.example
//! S: 250-mx.example.test greets client.example
//! ...
//! ```
//!
//! A line that is just `C:` sends an empty line (the blank line between a message's
//! header and its body); one that is just `S:` expects one. Blank lines in the file are ignored.
//!
//! Directives, in comment lines (anywhere, usually at the top):
//!
//! - `# config: KEY=VALUE ...` changes the test configuration before the server starts:
//!   `max_recipients=3`, `max_message_size=100`,
//!   `users=alice@localhost,bob@localhost` (a users file: other users get 550 5.1.1;
//!   `alice@localhost:secret` gives alice the password `secret`, hashed as `postie user
//!   add` would), `allow_plaintext_auth=true` (AUTH without TLS for loopback clients),
//!   `relay_networks=192.0.2.0/24` (CIDRs, comma-separated; this one, of documentation
//!   addresses, leaves 127.0.0.1 out, so it may not relay; an empty value empties the list),
//!   `service=submission` (talk to the submission listener, RFC 6409, instead of SMTP).
//! - `# command: ...`: what a reader types to reproduce the transcript, shown by the
//!   book with the dialogue. The last one starts postie, `cargo run -- --hostname
//!   mx.example.test ...`; the ones before it write the users file:
//!   `rm -f FILE`, `echo PASSWORD | cargo run -- user add ADDRESS --users FILE`, or
//!   `echo ADDRESS >> FILE` (a user without a password). Every file needs at least one,
//!   and `every_command_line_agrees_with_its_config` checks, with postie's own flag
//!   parser, that the flags give the server the harness starts: the same hostname,
//!   limits, relay networks, users and passwords, listeners and plaintext-password
//!   rule. (`relay_networks=192.0.2.0/24` is how both say "127.0.0.1 may not relay":
//!   a network of documentation addresses, since `--relay-network` cannot be empty.)
//! - `# delivered: bob@localhost 1`: after the dialogue, that mailbox's `new/` holds
//!   exactly that many messages.
//! - `# delivered-line: bob@localhost .leading dot`: every message in that mailbox has
//!   this exact line (between CRLFs) in it.
//!
//! Every transcript starts with the greeting, `S: 220 mx.example.test ESMTP postie ready`,
//! and ends the connection (QUIT, or a reply that closes it).
//!
//! # POP3 transcripts
//!
//! A file whose name starts with `pop3-` is a POP3 dialogue (RFC 1939): it is replayed
//! against the POP3 listener of a server set up by `pop3_config` (accounts
//! alice@localhost and bob@localhost, password `let me read`; plaintext passwords
//! allowed from loopback), and starts with `S: +OK mx.example.test POP3 postie ready`.
//! Two more directives:
//!
//! - `# message: alice@localhost NAME TEXT`: before the dialogue, a file NAME in that
//!   mailbox's `new/`, holding TEXT with each `|` turned into CRLF, and a CRLF at the
//!   end (as postie stores mail).
//! - `# kept: alice@localhost 1`: after the dialogue, that mailbox holds exactly that
//!   many messages, in `new/` and `cur/` together.
//!
//! `# config: allow_plaintext_auth=false` turns plaintext passwords off again.
//!
//! # IMAP transcripts
//!
//! A file whose name starts with `imap-` is an IMAP dialogue (RFC 3501), replayed
//! against the IMAP listener of a server set up by `imap_config` (the same accounts and
//! rule as POP3's). It starts with the greeting `S: * OK [CAPABILITY ...] mx.example.test
//! IMAP4rev1 postie ready` and ends with LOGOUT's `* BYE` and tagged OK (or a BYE that
//! closes). `# message:` and `# kept:` work as for POP3.
//!
//! # How each file is run
//!
//! Twice:
//!
//! 1. Over TCP against a [`TestServer`]: each group of C: lines in one write, then the
//!    S: lines read one by one and compared; after the last one the server must have
//!    closed the connection (so no extra reply slipped through).
//! 2. Without sockets, through the shared `postie::wire::Conversation`, with a reader
//!    that returns ONE byte per read of the whole client input and a `Vec<u8>` as the
//!    writer; the whole output is then compared with all S: lines in order.
//!    Fragmentation must not change a single reply.

mod common;
use common::*;

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use postie::accounts::Users;
use postie::cli::{Args, Command, UserAction};
use postie::config::Settings;
use postie::imap;
use postie::policy::Rules;
use postie::pop3;
use postie::smtp::accept::Storage;
use postie::smtp::connection::Smtp;
use postie::smtp::session::Session;
use postie::wire::{Conversation, Duplex};

// ---------------------------------------------------------------------------------------
// The transcript file

/// One step of a dialogue.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// Consecutive C: lines, sent in one write.
    Send(Vec<String>),
    /// Consecutive S: lines, read and compared.
    Expect(Vec<String>),
}

/// A parsed transcript file.
#[derive(Debug)]
struct Transcript {
    name: String,
    /// `(key, value)` from `# config:` lines, in order.
    config: Vec<(String, String)>,
    /// `(domain, user, count)` from `# delivered:` lines.
    delivered: Vec<(String, String, usize)>,
    /// `(domain, user, line)` from `# delivered-line:` lines.
    delivered_lines: Vec<(String, String, String)>,
    /// `(domain, user, file name, text)` from `# message:` lines (POP3).
    messages: Vec<(String, String, String, Vec<u8>)>,
    /// `(domain, user, count)` from `# kept:` lines (POP3).
    kept: Vec<(String, String, usize)>,
    steps: Vec<Step>,
    /// Which listener the dialogue is with (`# config: service=submission`).
    service: Service,
    /// `# command:` lines, in order: the setup, then postie itself.
    commands: Vec<String>,
}

fn transcript_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts")
}

/// Splits `user@domain` into the Maildir's `(domain, user)` (both lowercase, as postie
/// names mailboxes).
/// `ADDRESS COUNT`, as in `# kept:` and `# delivered:`.
fn mailbox_count(rest: &str, at: &str) -> (String, String, usize) {
    let words: Vec<&str> = rest.split_whitespace().collect();
    let [address, count] = words[..] else {
        panic!("{at}: expected ADDRESS COUNT, got {rest:?}");
    };
    let (domain, user) = mailbox(address, at);
    let count = count
        .parse()
        .unwrap_or_else(|_| panic!("{at}: bad count {count:?}"));
    (domain, user, count)
}

fn mailbox(address: &str, name: &str) -> (String, String) {
    let (user, domain) = address
        .rsplit_once('@')
        .unwrap_or_else(|| panic!("{name}: {address:?} is not user@domain"));
    (domain.to_lowercase(), user.to_lowercase())
}

fn parse(name: &str, text: &str) -> Transcript {
    let mut t = Transcript {
        name: name.to_string(),
        config: vec![],
        delivered: vec![],
        delivered_lines: vec![],
        messages: vec![],
        kept: vec![],
        steps: vec![],
        service: Service::Smtp,
        commands: vec![],
    };
    // Was the line before this one blank? (It splits a group of C: lines.)
    let mut after_blank = false;
    for (n, line) in text.lines().enumerate() {
        let blank_before = std::mem::replace(&mut after_blank, false);
        let at = format!("{name}:{}", n + 1);
        if let Some(rest) = line.strip_prefix("# config:") {
            for setting in rest.split_whitespace() {
                let (key, value) = setting
                    .split_once('=')
                    .unwrap_or_else(|| panic!("{at}: expected KEY=VALUE, got {setting:?}"));
                if (key, value) == ("service", "submission") {
                    t.service = Service::Submission;
                }
                t.config.push((key.to_string(), value.to_string()));
            }
        } else if let Some(rest) = line.strip_prefix("# command:") {
            t.commands.push(rest.trim().to_string());
        } else if let Some(rest) = line.strip_prefix("# delivered-line:") {
            let (address, wanted) = rest
                .trim_start()
                .split_once(' ')
                .unwrap_or_else(|| panic!("{at}: expected ADDRESS LINE"));
            let (domain, user) = mailbox(address, &at);
            t.delivered_lines.push((domain, user, wanted.to_string()));
        } else if let Some(rest) = line.strip_prefix("# message:") {
            let mut words = rest.trim_start().splitn(3, ' ');
            let (Some(address), Some(file), Some(text)) =
                (words.next(), words.next(), words.next())
            else {
                panic!("{at}: expected ADDRESS NAME TEXT");
            };
            let (domain, user) = mailbox(address, &at);
            let text = format!("{}\r\n", text.replace('|', "\r\n")).into_bytes();
            t.messages.push((domain, user, file.to_string(), text));
        } else if let Some(rest) = line.strip_prefix("# kept:") {
            t.kept.push(mailbox_count(rest, &at));
        } else if let Some(rest) = line.strip_prefix("# delivered:") {
            t.delivered.push(mailbox_count(rest, &at));
        } else if let Some(word) = directive_word(line) {
            // A misspelled directive (`# deliverd:`) would silently drop its check.
            panic!("{at}: unknown directive `# {word}:` (a comment may not start with a word and a colon)");
        } else if line.starts_with('#') {
            continue;
        } else if line.trim().is_empty() {
            // A blank line ends a group of C: lines: what follows is another write.
            after_blank = true;
            continue;
        } else if let Some(sent) = line
            .strip_prefix("C: ")
            .or(line.strip_prefix("C:").filter(|r| r.is_empty()))
        {
            match t.steps.last_mut() {
                Some(Step::Send(lines)) if !blank_before => lines.push(sent.to_string()),
                _ => t.steps.push(Step::Send(vec![sent.to_string()])),
            }
        } else if let Some(expected) = line
            .strip_prefix("S: ")
            .or(line.strip_prefix("S:").filter(|r| r.is_empty()))
        {
            match t.steps.last_mut() {
                Some(Step::Expect(lines)) => lines.push(expected.to_string()),
                _ => t.steps.push(Step::Expect(vec![expected.to_string()])),
            }
        } else {
            panic!("{at}: a line must start with '#', 'C: ' or 'S: ': {line:?}");
        }
    }
    t
}

/// `Some(word)` when a `#` line reads like a directive, `# word:` — a single word of
/// letters and dashes right after `# `, then a colon.
fn directive_word(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("# ")?;
    let (word, _) = rest.split_once(':')?;
    let is_word = !word.is_empty() && word.chars().all(|c| c.is_ascii_lowercase() || c == '-');
    is_word.then_some(word)
}

fn load(file: &str) -> Transcript {
    let path = transcript_dir().join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    parse(file, &text)
}

impl Transcript {
    fn is_pop3(&self) -> bool {
        self.name.starts_with("pop3-")
    }

    fn is_imap(&self) -> bool {
        self.name.starts_with("imap-")
    }

    /// The test configuration with this transcript's `# config:` settings applied.
    fn apply(&self, config: &mut Config) {
        if self.is_pop3() {
            pop3_config(config);
        }
        if self.is_imap() {
            imap_config(config);
        }
        for (key, value) in &self.config {
            let at = format!("{}: config {key}={value}", self.name);
            match key.as_str() {
                "max_recipients" => {
                    config.limits.max_recipients = value.parse().expect(&at);
                }
                "max_message_size" => {
                    config.limits.max_message_size = value.parse().expect(&at);
                }
                "users" => {
                    let lines: Vec<String> = value
                        .split(',')
                        .map(|entry| match entry.split_once(':') {
                            Some((address, password)) => {
                                let hash = postie::accounts::hash_password(password).expect(&at);
                                format!("{address} {hash}")
                            }
                            None => entry.to_string(),
                        })
                        .collect();
                    config.policy.users = Some(Users::parse(&lines.join("\n")).expect(&at));
                }
                "service" => {
                    assert_eq!(value, "submission", "{at}: only submission");
                    config.set_listener(Protocol::Smtp(Service::Submission), any_port());
                }
                "allow_plaintext_auth" => {
                    config.allow_plaintext_auth = value.parse().expect(&at);
                }
                "relay_networks" => {
                    config.policy.relay_networks = value
                        .split(',')
                        .filter(|n| !n.is_empty())
                        .map(|n| n.parse().expect(&at))
                        .collect();
                }
                _ => panic!("{at}: unknown setting"),
            }
        }
    }

    /// Every S: line, in order.
    fn all_expected(&self) -> Vec<&str> {
        self.steps
            .iter()
            .flat_map(|step| match step {
                Step::Expect(lines) => lines.iter().map(String::as_str).collect(),
                Step::Send(_) => vec![],
            })
            .collect()
    }

    /// Every C: line with its CRLF, concatenated.
    fn all_input(&self) -> Vec<u8> {
        let mut input = Vec::new();
        for step in &self.steps {
            if let Step::Send(lines) = step {
                for line in lines {
                    input.extend_from_slice(line.as_bytes());
                    input.extend_from_slice(b"\r\n");
                }
            }
        }
        input
    }

    /// The `# message:` files, written before the dialogue.
    fn write_messages(&self, root: &Path) {
        for (domain, user, file, text) in &self.messages {
            let new = root.join(domain).join(user).join("new");
            std::fs::create_dir_all(&new).unwrap();
            std::fs::write(new.join(file), text).unwrap();
        }
    }

    /// The `# delivered`, `# delivered-line` and `# kept` checks, against a Maildir root.
    fn check_mailboxes(&self, root: &Path, how: &str) {
        for (domain, user, count) in &self.kept {
            let dir = root.join(domain).join(user);
            let found = messages(root, domain, user).len()
                + std::fs::read_dir(dir.join("cur")).map_or(0, |d| d.count());
            assert_eq!(
                found, *count,
                "{} ({how}): messages kept for {user}@{domain}",
                self.name
            );
        }
        for (domain, user, count) in &self.delivered {
            let found = messages(root, domain, user);
            assert_eq!(
                found.len(),
                *count,
                "{} ({how}): messages for {user}@{domain}",
                self.name
            );
        }
        for (domain, user, wanted) in &self.delivered_lines {
            let found = messages(root, domain, user);
            assert!(
                !found.is_empty(),
                "{} ({how}): no mail for {user}@{domain}",
                self.name
            );
            for message in found {
                // Stored lines end in CRLF, as they arrived (RFC 5321 §2.3.8): a line
                // that ends in a bare LF does not count.
                let has = message
                    .split_inclusive(|&b| b == b'\n')
                    .any(|line| line.strip_suffix(b"\r\n") == Some(wanted.as_bytes()));
                assert!(
                    has,
                    "{} ({how}): no line {wanted:?} in {}",
                    self.name,
                    message.escape_ascii()
                );
            }
        }
    }
}

/// The messages in `<root>/<domain>/<user>/new/`.
fn messages(root: &Path, domain: &str, user: &str) -> Vec<Vec<u8>> {
    let dir = root.join(domain).join(user).join("new");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![];
    };
    entries
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect()
}

// ---------------------------------------------------------------------------------------
// Matching S: lines

/// Does `actual` (one reply line, without CRLF) match the pattern `expected`?
/// `{id}` matches one run of non-space characters, `{any}` the rest of the line.
fn matches(expected: &str, actual: &str) -> bool {
    if let Some(i) = expected.find('{') {
        let (literal, rest) = expected.split_at(i);
        let Some(actual) = actual.strip_prefix(literal) else {
            return false;
        };
        if rest.starts_with("{any}") {
            return true;
        }
        if let Some(rest) = rest.strip_prefix("{id}") {
            let end = actual.find(' ').unwrap_or(actual.len());
            return end > 0 && matches(rest, &actual[end..]);
        }
        // A literal '{'.
        return actual.starts_with('{') && matches(&rest[1..], &actual[1..]);
    }
    expected == actual
}

#[test]
fn the_matcher_can_say_no() {
    assert!(matches(
        "250 2.0.0 OK: queued as {id}",
        "250 2.0.0 OK: queued as 17M3P1Q0"
    ));
    assert!(!matches(
        "250 2.0.0 OK: queued as {id}",
        "250 2.0.0 OK: queued as "
    ));
    assert!(!matches(
        "250 2.0.0 OK: queued as {id}",
        "250 2.0.0 OK: queued as a b"
    ));
    assert!(matches("250 {id} x", "250 abc x"));
    assert!(!matches("250 {id} x", "250 abc y"));
    assert!(matches("214-{any}", "214-anything at all"));
    assert!(!matches("214-{any}", "214 last line"));
    assert!(!matches("250 OK", "250 OK "));
    assert!(matches("a {b}", "a {b}"));
}

// ---------------------------------------------------------------------------------------
// (a) Over TCP

/// Reads lines (through LF) from a socket, with a deadline per read.
struct Lines {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Lines {
    /// The next line without its CRLF; `None` at end of input.
    fn next(&mut self, context: &str) -> Option<String> {
        loop {
            if let Some(end) = self.buffer.iter().position(|&b| b == b'\n') {
                let raw: Vec<u8> = self.buffer.drain(..=end).collect();
                assert!(raw.ends_with(b"\r\n"), "{context}: not CRLF: {raw:?}");
                let text = String::from_utf8(raw[..raw.len() - 2].to_vec())
                    .unwrap_or_else(|e| panic!("{context}: not UTF-8: {e}"));
                return Some(text);
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return None,
                Err(e) => panic!("{context}: read failed (no reply in time?): {e}"),
            }
        }
    }
}

fn run_over_tcp(t: &Transcript) {
    let server = TestServer::start_with(|config| t.apply(config));
    t.write_messages(&server.maildir());
    let addr = if t.is_pop3() {
        server.pop3().expect("a POP3 listener")
    } else if t.is_imap() {
        server.imap().expect("an IMAP listener")
    } else if t.service == Service::Submission {
        server.submission().expect("a submission listener")
    } else {
        server.addr
    };
    let stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut lines = Lines {
        stream,
        buffer: Vec::new(),
    };
    for step in &t.steps {
        match step {
            Step::Send(sent) => {
                let mut bytes = Vec::new();
                for line in sent {
                    bytes.extend_from_slice(line.as_bytes());
                    bytes.extend_from_slice(b"\r\n");
                }
                writer.write_all(&bytes).expect("send");
            }
            Step::Expect(expected) => {
                for pattern in expected {
                    let context = format!("{} (TCP), expecting {pattern:?}", t.name);
                    let actual = lines
                        .next(&context)
                        .unwrap_or_else(|| panic!("{context}: the server closed the connection"));
                    assert!(
                        matches(pattern, &actual),
                        "{} (TCP):\n  expected S: {pattern}\n  got      S: {actual}",
                        t.name
                    );
                }
            }
        }
    }
    // The transcript ends the connection: nothing more may come.
    let context = format!("{} (TCP), after the last S: line", t.name);
    if let Some(extra) = lines.next(&context) {
        panic!("{context}: unexpected S: {extra}");
    }
    t.check_mailboxes(&server.maildir(), "TCP");
}

// ---------------------------------------------------------------------------------------
// (b) Without sockets, one byte per read

/// A client on the slowest link there is: every read returns one byte.
struct OneByteAtATime {
    input: Vec<u8>,
    next: usize,
}

impl Read for OneByteAtATime {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match (self.input.get(self.next), buf.first_mut()) {
            (Some(&byte), Some(slot)) => {
                *slot = byte;
                self.next += 1;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

fn run_one_byte_at_a_time(t: &Transcript) {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("mail");
    let mut config = test_config(&root);
    t.apply(&mut config);
    let storage = Arc::new(Storage::open(&root, &config.spool, HOSTNAME).unwrap());
    let policy = Arc::new(config.policy.clone());
    t.write_messages(&root);
    let client = "127.0.0.1:40000".parse().unwrap();
    let reader = OneByteAtATime {
        input: t.all_input(),
        next: 0,
    };
    let mut output = Vec::new();
    let stream = Duplex {
        input: reader,
        output: &mut output,
    };
    let timeout = config.limits.command_timeout;
    let conversation = Conversation::new(stream, client, timeout);
    if t.is_pop3() {
        let settings = Settings::new(&config);
        let (session, greeting) = pop3::session::Session::new(settings, policy, client);
        let mut pop3 = pop3::connection::Pop3::new(session, config.maildir.clone());
        conversation.run(&mut pop3, greeting).expect("run");
    } else if t.is_imap() {
        let settings = Settings::new(&config);
        let (session, greeting) = imap::session::Session::new(settings, policy, client, false);
        let (root, open_root) = (config.maildir.clone(), config.maildir.clone());
        let _ = root;
        let open: imap::connection::Opener = Arc::new(move |user| {
            let folders =
                imap::maildir::MaildirFolders::open(&open_root, &user.mailbox, HOSTNAME, None)?;
            Ok(Box::new(folders) as Box<dyn imap::folders::Folders>)
        });
        let mut imap = imap::connection::Imap::new(session, open, config.limits.imap_timeout);
        conversation.run(&mut imap, greeting).expect("run");
    } else {
        let settings = Settings::new(&config);
        let (session, greeting) = Session::new(settings, t.service, policy, client);
        let mut smtp = Smtp::new(session, storage, HOSTNAME, config.limits.clone());
        conversation.run(&mut smtp, greeting).expect("run");
    }

    let text = String::from_utf8(output).expect("replies are UTF-8");
    assert!(text.ends_with("\r\n"), "{}: output {text:?}", t.name);
    let actual: Vec<&str> = text[..text.len() - 2].split("\r\n").collect();
    let expected = t.all_expected();
    for (i, pattern) in expected.iter().enumerate() {
        let got = actual.get(i).copied().unwrap_or("(nothing more)");
        assert!(
            matches(pattern, got),
            "{} (one byte per read), S: line {}:\n  expected S: {pattern}\n  got      S: {got}",
            t.name,
            i + 1
        );
    }
    assert_eq!(
        actual.len(),
        expected.len(),
        "{} (one byte per read): extra output {:?}",
        t.name,
        &actual[expected.len().min(actual.len())..]
    );
    t.check_mailboxes(&root, "one byte per read");
}

// ---------------------------------------------------------------------------------------
// The transcripts

const GREETING: &str = "220 mx.example.test ESMTP postie ready";
const POP3_GREETING: &str = "+OK mx.example.test POP3 postie ready";
const IMAP_GREETING: &str = "* OK [CAPABILITY IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UIDPLUS MOVE SPECIAL-USE UNSELECT CHILDREN AUTH=PLAIN] mx.example.test IMAP4rev1 postie ready";
const IMAP_GREETING_NO_LOGIN: &str = "* OK [CAPABILITY IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UIDPLUS MOVE SPECIAL-USE UNSELECT CHILDREN LOGINDISABLED] mx.example.test IMAP4rev1 postie ready";

/// Every transcript file, each run by its own test below.
const FILES: &[&str] = &[
    "hello.txt",
    "helo.txt",
    "ehlo-extensions.txt",
    "null-sender.txt",
    "pipelining.txt",
    "dot-stuffing.txt",
    "rset-noop-vrfy-help.txt",
    "bad-sequence.txt",
    "syntax-errors.txt",
    "relay-denied.txt",
    "relay-accepted.txt",
    "open-relay-tricks.txt",
    "unknown-user.txt",
    "too-many-recipients.txt",
    "size.txt",
    "smtputf8.txt",
    "quit.txt",
    "auth.txt",
    "auth-needs-tls.txt",
    "submission.txt",
    "pop3-read-and-delete.txt",
    "pop3-capa-top-uidl.txt",
    "pop3-mistakes.txt",
    "pop3-no-plaintext.txt",
    "imap-read-and-file.txt",
    "imap-mistakes.txt",
    "imap-no-plaintext.txt",
];

// ---------------------------------------------------------------------------------------
// (c) The command line a reader types

/// Splits a shell line into words: blanks separate, `'...'` quotes (no other quoting).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                word.get_or_insert_with(String::new);
            }
            c if c.is_whitespace() && !quoted => words.extend(word.take()),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    assert!(!quoted, "unterminated quote in {line:?}");
    words.extend(word);
    words
}

/// `cargo run -- FLAGS...` parsed by postie's own flag parser.
fn postie_args(words: &[String], at: &str) -> Args {
    let Some(flags) = words.strip_prefix(&["cargo".into(), "run".into(), "--".into()]) else {
        panic!("{at}: postie is started with `cargo run -- ...`, got {words:?}");
    };
    Args::try_parse_from(std::iter::once("postie").chain(flags.iter().map(String::as_str)))
        .unwrap_or_else(|e| panic!("{at}: postie would refuse these flags: {e}"))
}

/// The users and passwords the harness gives this transcript's server.
fn expected_users(t: &Transcript) -> Vec<(String, Option<String>)> {
    let mut users: Vec<(String, Option<String>)> = match t.config.iter().find(|(k, _)| k == "users")
    {
        Some((_, value)) => value
            .split(',')
            .map(|entry| match entry.split_once(':') {
                Some((address, password)) => (address.to_string(), Some(password.to_string())),
                None => (entry.to_string(), None),
            })
            .collect(),
        None if t.is_pop3() || t.is_imap() => ["alice@localhost", "bob@localhost"]
            .map(|a| (a.to_string(), Some(POP3_PASSWORD.to_string())))
            .to_vec(),
        None => vec![],
    };
    users.sort();
    users
}

/// The addresses a transcript sends mail to or reads: RCPT TO paths and mailboxes of
/// `# delivered:`, `# kept:` and `# message:`.
fn addresses(t: &Transcript) -> Vec<String> {
    let mut found: Vec<String> = t
        .steps
        .iter()
        .flat_map(|step| match step {
            Step::Send(lines) => lines.clone(),
            Step::Expect(_) => vec![],
        })
        .filter_map(|line| {
            let rest = line
                .get(..8)?
                .eq_ignore_ascii_case("RCPT TO:")
                .then(|| &line[8..])?;
            let path = rest.trim_start_matches('<').split(['>', ' ']).next()?;
            Some(path.to_string())
        })
        .collect();
    for (domain, user, _) in t.delivered.iter().chain(&t.kept) {
        found.push(format!("{user}@{domain}"));
    }
    for (domain, user, _, _) in &t.messages {
        found.push(format!("{user}@{domain}"));
    }
    found
}

#[test]
fn every_command_line_agrees_with_its_config() {
    for file in FILES {
        let t = load(file);
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = test_config(&dir.path().join("mail"));
        t.apply(&mut config);

        let Some((server, setup)) = t.commands.split_last() else {
            panic!("{file}: no `# command:` line: how does a reader start this postie?");
        };
        let at = format!("{file}: # command: {server}");
        let args = postie_args(&shell_words(server), &at);
        assert!(
            args.command.is_none(),
            "{at}: the last command must start the server"
        );

        assert_eq!(args.hostname.as_deref(), Some(HOSTNAME), "{at}: --hostname");
        for domain in &args.domains {
            assert!(
                config.policy.local_domains.contains(domain),
                "{at}: --domain {domain} is not local in the test"
            );
        }
        for address in addresses(&t) {
            let domain = address
                .rsplit_once('@')
                .map_or("", |(_, d)| d)
                .to_lowercase();
            assert_eq!(
                args.domains.contains(&domain),
                config.policy.local_domains.contains(&domain),
                "{at}: is {address} local? The command and the test disagree (--domain)"
            );
        }
        assert_eq!(
            args.max_recipients, config.limits.max_recipients,
            "{at}: --max-recipients"
        );
        assert_eq!(
            args.max_message_size, config.limits.max_message_size,
            "{at}: --max-message-size"
        );
        let relay_networks = if args.relay_networks.is_empty() {
            Rules::default().relay_networks
        } else {
            args.relay_networks.clone()
        };
        assert_eq!(
            relay_networks, config.policy.relay_networks,
            "{at}: --relay-network"
        );
        assert_eq!(
            args.allow_plaintext_auth, config.allow_plaintext_auth,
            "{at}: --allow-plaintext-auth"
        );
        assert_eq!(
            args.greeting_delay,
            config.limits.greeting_delay.as_secs(),
            "{at}: --greeting-delay"
        );
        assert_eq!(
            args.submission_listen.is_some(),
            t.service == Service::Submission,
            "{at}: --submission-listen"
        );
        assert_eq!(
            args.pop3_listen.is_some(),
            t.is_pop3(),
            "{at}: --pop3-listen"
        );
        assert_eq!(
            args.imap_listen.is_some(),
            t.is_imap(),
            "{at}: --imap-listen"
        );
        assert!(
            args.dns_server.is_none() || args.dns_server == config.relay.dns_server,
            "{at}: --dns-server is the test's, or none"
        );
        assert!(
            args.tls_cert.is_none() && !args.tls_self_signed && config.tls.is_none(),
            "{at}: transcripts are plaintext"
        );
        assert_eq!(
            args.users.is_some(),
            config.policy.users.is_some(),
            "{at}: --users"
        );

        // The setup lines write exactly the users file the harness makes.
        let mut users = Vec::new();
        for line in setup {
            let at = format!("{file}: # command: {line}");
            let words = shell_words(line);
            let file_named = |name: &str| {
                assert_eq!(
                    args.users.as_deref(),
                    Some(Path::new(name)),
                    "{at}: not the --users file of the server"
                )
            };
            match words.iter().map(String::as_str).collect::<Vec<_>>()[..] {
                ["rm", "-f", name] => {
                    file_named(name);
                    assert!(users.is_empty(), "{at}: rm -f comes first");
                }
                ["echo", address, ">>", name] => {
                    file_named(name);
                    users.push((address.to_string(), None));
                }
                ["echo", password, "|", ..] => {
                    let add = postie_args(&words[3..], &at);
                    let Some(Command::User {
                        action: UserAction::Add { address },
                    }) = add.command
                    else {
                        panic!("{at}: expected `cargo run -- user add ADDRESS --users FILE`");
                    };
                    file_named(&add.users.expect("--users").to_string_lossy());
                    users.push((address, Some(password.to_string())));
                }
                _ => panic!(
                    "{at}: a setup line is `rm -f FILE`, `echo ADDRESS >> FILE` or \
                     `echo PASSWORD | cargo run -- user add ADDRESS --users FILE`"
                ),
            }
        }
        users.sort();
        assert_eq!(users, expected_users(&t), "{file}: the users file");
    }
}

#[test]
fn shell_words_split_as_a_shell_would() {
    assert_eq!(
        shell_words("echo 'let me read' | cargo run --  user add a@b"),
        [
            "echo",
            "let me read",
            "|",
            "cargo",
            "run",
            "--",
            "user",
            "add",
            "a@b"
        ]
    );
    assert_eq!(shell_words("echo '' x"), ["echo", "", "x"]);
}

fn run(file: &str) {
    let t = load(file);
    run_over_tcp(&t);
    run_one_byte_at_a_time(&t);
}

#[test]
fn every_file_is_listed_and_well_formed() {
    let mut on_disk: Vec<String> = std::fs::read_dir(transcript_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".txt"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = FILES.iter().map(|f| f.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "tests/transcripts/*.txt and FILES differ");

    for file in FILES {
        let t = load(file);
        let first = t.all_expected().first().copied();
        if t.is_imap() {
            assert!(
                first == Some(IMAP_GREETING) || first == Some(IMAP_GREETING_NO_LOGIN),
                "{file}: the first S: line must be the greeting"
            );
        } else {
            let greeting = if t.is_pop3() { POP3_GREETING } else { GREETING };
            assert_eq!(
                first,
                Some(greeting),
                "{file}: the first S: line must be the greeting"
            );
        }
        assert!(
            matches!(t.steps.first(), Some(Step::Expect(_))),
            "{file}: the server speaks first"
        );
        let last = t.all_expected().last().copied().unwrap_or("");
        let closes = if t.is_pop3() {
            last.ends_with("signing off") || last.starts_with("-ERR [SYS/")
        } else if t.is_imap() {
            last.ends_with(" OK LOGOUT completed") || last.starts_with("* BYE ")
        } else {
            last.starts_with("221 ") || last.starts_with("421 ") || last.starts_with("521 ")
        };
        assert!(
            closes,
            "{file}: must end the connection, ends with {last:?}"
        );
        assert!(
            matches!(t.steps.last(), Some(Step::Expect(_))),
            "{file}: ends with C: lines nobody answers"
        );
    }
}

/// The parser itself: a misspelled directive is an error, not a comment, and a blank
/// line splits a group of C: lines into two writes.
#[test]
fn the_parser_refuses_unknown_directives_and_splits_at_blank_lines() {
    let misspelled =
        std::panic::catch_unwind(|| parse("x.txt", "# deliverd: bob@localhost 1\nS: 220 x\n"));
    let why = misspelled.expect_err("a misspelled directive must not pass as a comment");
    let why = why.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(why.contains("unknown directive `# deliverd:`"), "{why}");
    // A comment in words is still a comment.
    parse("x.txt", "# The client says hello:\nS: 220 x\n");

    let t = parse("x.txt", "S: 220 x\nC: MAIL\nC: RCPT\n\nC: DATA\nS: 250\n");
    let sends: Vec<&Vec<String>> = t
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::Send(lines) => Some(lines),
            Step::Expect(_) => None,
        })
        .collect();
    assert_eq!(
        sends,
        [
            &vec!["MAIL".to_string(), "RCPT".to_string()],
            &vec!["DATA".to_string()]
        ]
    );
}

#[test]
fn hello() {
    run("hello.txt");
}

#[test]
fn helo() {
    run("helo.txt");
}

#[test]
fn ehlo_extensions() {
    run("ehlo-extensions.txt");
}

#[test]
fn null_sender() {
    run("null-sender.txt");
}

#[test]
fn pipelining() {
    run("pipelining.txt");
}

#[test]
fn dot_stuffing() {
    run("dot-stuffing.txt");
}

#[test]
fn rset_noop_vrfy_help() {
    run("rset-noop-vrfy-help.txt");
}

#[test]
fn bad_sequence() {
    run("bad-sequence.txt");
}

#[test]
fn syntax_errors() {
    run("syntax-errors.txt");
}

#[test]
fn relay_denied() {
    run("relay-denied.txt");
}

#[test]
fn relay_accepted() {
    run("relay-accepted.txt");
}

#[test]
fn open_relay_tricks() {
    run("open-relay-tricks.txt");
}

#[test]
fn unknown_user() {
    run("unknown-user.txt");
}

#[test]
fn too_many_recipients() {
    run("too-many-recipients.txt");
}

#[test]
fn size() {
    run("size.txt");
}

#[test]
fn smtputf8() {
    run("smtputf8.txt");
}

#[test]
fn quit() {
    run("quit.txt");
}

#[test]
fn auth() {
    run("auth.txt");
}

#[test]
fn auth_needs_tls() {
    run("auth-needs-tls.txt");
}

#[test]
fn submission() {
    run("submission.txt");
}

#[test]
fn pop3_read_and_delete() {
    run("pop3-read-and-delete.txt");
}

#[test]
fn pop3_capa_top_uidl() {
    run("pop3-capa-top-uidl.txt");
}

#[test]
fn pop3_mistakes() {
    run("pop3-mistakes.txt");
}

#[test]
fn pop3_no_plaintext() {
    run("pop3-no-plaintext.txt");
}

/// The runner must be able to fail: a transcript that expects a wrong reply fails in
/// both modes.
#[test]
fn imap_read_and_file() {
    run("imap-read-and-file.txt");
}

#[test]
fn imap_mistakes() {
    run("imap-mistakes.txt");
}

#[test]
fn imap_no_plaintext() {
    run("imap-no-plaintext.txt");
}

#[test]
fn a_wrong_transcript_fails() {
    let wrong = parse(
        "wrong",
        &format!("S: {GREETING}\nC: NOOP\nS: 250 2.0.0 Fine\nC: QUIT\nS: 221 {{any}}\n"),
    );
    for (mode, run) in [
        ("TCP", run_over_tcp as fn(&Transcript)),
        ("one byte per read", run_one_byte_at_a_time),
    ] {
        let result = std::panic::catch_unwind(|| run(&wrong));
        assert!(result.is_err(), "{mode}: a wrong reply was accepted");
    }
    let right = parse(
        "right",
        &format!("S: {GREETING}\nC: NOOP\nS: 250 OK\nC: QUIT\nS: 221 {{any}}\n"),
    );
    run_over_tcp(&right);
    run_one_byte_at_a_time(&right);
    // And the POP3 side: a wrong response fails, the right one passes.
    let pop3 = |name: &str, noop: &str| {
        parse(
            name,
            &format!("S: {POP3_GREETING}\nC: NOOP\nS: {noop}\nC: QUIT\nS: +OK {{any}}\n"),
        )
    };
    let wrong = pop3("pop3-wrong", "+OK");
    for run in [run_over_tcp as fn(&Transcript), run_one_byte_at_a_time] {
        assert!(std::panic::catch_unwind(|| run(&wrong)).is_err());
    }
    let right = pop3("pop3-right", "-ERR Log in first (USER and PASS)");
    run_over_tcp(&right);
    run_one_byte_at_a_time(&right);
}
