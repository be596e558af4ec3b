//! The book's graded exercises: one or more tests per chapter, from chapter 3 on. An
//! exercise's id is its chapter's number (`ex07` in chapter 7), with a letter when a
//! chapter has two (`ex19a`, `ex19b`); a section's exercise takes its chapter's number and
//! the next letter (`ex16b` in section 16.1, beside chapter 16's `ex16`: see
//! book/solutions/README.md). tests/book.rs checks them all against SUMMARY.md.
//!
//! These tests describe features postie does not have yet, so they fail on the code as
//! it is, and that is the point: each chapter's `## Exercise` section says what to
//! build, and its tests turn green once it is built. They are compiled only with the
//! `exercises` feature, so a plain `cargo test` stays green:
//!
//! ```text
//! cargo test --features exercises ex07     # chapter 7's exercise only
//! cargo test --features exercises ex19     # chapter 19's two, ex19a and ex19b
//! ```
//!
//! A test may not name anything the exercise has still to write (a missing function
//! would stop every exercise from compiling), so they all talk to postie from outside:
//! over TCP to a [`TestServer`] whose configuration fields already exist, or to the
//! `postie` binary started with the flag the exercise adds. Before the exercise is done,
//! the binary refuses that flag, and the test says so: "exercise not done yet".
//!
//! The relay exercises (ex14, ex15, ex15b) need dnsmasq and smtp-sink, as tests/relay.rs does:
//! without them their tests print `SKIP` and what to install, and pass ungraded; with
//! `CI` set they fail instead (tests/common/peers.rs).
//!
//! A reference solution for each one is a patch in `book/solutions/`; `.ci/exercises`
//! checks that every test here fails without its patch and passes with it.
#![cfg(feature = "exercises")]

mod common;
use common::*;

#[path = "common/peers.rs"]
mod peers;

use std::fs::File;
use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use postie::accounts::Users;

// ---------------------------------------------------------------------------------------
// The harness: the `postie` binary with an exercise's flags

const BIN: &str = env!("CARGO_BIN_EXE_postie");

/// A `postie` process listening on a port of its own choosing, with its Maildir and
/// spool in a temporary directory; killed when dropped.
struct Postie {
    child: std::process::Child,
    addr: SocketAddr,
    /// The POP3 listener, when started with `--pop3-listen`.
    pop3: Option<SocketAddr>,
    dir: tempfile::TempDir,
}

impl Postie {
    /// Starts postie with the usual test settings (those of `test_config`) plus `flags`,
    /// and waits until it listens. A flag the exercise has not added yet makes postie
    /// exit with a usage error, and this panics with "exercise not done yet".
    fn start(flags: &[&str]) -> Postie {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
        let (maildir, spool, log) = (path("mail"), path("spool"), dir.path().join("log"));
        let mut args = vec![
            "--listen",
            "127.0.0.1:0",
            "--hostname",
            HOSTNAME,
            "--domain",
            "localhost",
            "--domain",
            "example.test",
            "--maildir",
            &maildir,
            "--spool",
            &spool,
            "--timeout",
            "10",
            // As in test_config: no MX lookup may reach the machine's real resolver.
            "--dns-server",
            "127.0.0.1:9",
            "--http-listen",
            "none",
        ];
        args.extend_from_slice(flags);
        let child = Command::new(BIN)
            .args(&args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            // A file, not a pipe: nobody has to keep reading it.
            .stderr(File::create(&log).expect("log file"))
            .spawn()
            .expect("start postie");
        let mut postie = Postie {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            pop3: None,
            dir,
        };
        // postie logs "postie listening on 127.0.0.1:PORT; ..." once it is bound; port 0
        // means that no other process can take the port in between.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(rest) = text.split("postie listening on ").nth(1) {
                let addr = rest.split(';').next().unwrap_or_default();
                postie.addr = addr.parse().expect("the address in the log");
                // With --pop3-listen, "POP3 listening on ADDR; ..." comes just before.
                if let Some(rest) = text.split("POP3 listening on ").nth(1) {
                    let addr = rest.split(';').next().unwrap_or_default();
                    postie.pop3 = Some(addr.parse().expect("the POP3 address in the log"));
                }
                return postie;
            }
            if let Ok(Some(status)) = postie.child.try_wait() {
                panic!(
                    "exercise not done yet: `postie {}` exited ({status}):\n{text}",
                    flags.join(" ")
                );
            }
            assert!(Instant::now() < deadline, "postie did not start:\n{text}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A client that has read the 220 greeting.
    fn connect(&self) -> Client {
        let mut client = Client::connect(self.addr);
        let greeting = client.read_reply();
        assert!(greeting.starts_with("220 "), "greeting: {greeting:?}");
        client
    }

    /// The messages delivered to `user@domain` (its `new/`), sorted by file name.
    fn messages(&self, domain: &str, user: &str) -> Vec<Vec<u8>> {
        let new = self
            .dir
            .path()
            .join("mail")
            .join(domain)
            .join(user)
            .join("new");
        files_in(&new)
            .iter()
            .map(|p| std::fs::read(p).unwrap())
            .collect()
    }
}

impl Drop for Postie {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The files in `dir`, sorted by name; none if it does not exist.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    paths.sort();
    paths
}

/// The reply code, `"250"` of `"250 2.0.0 OK\r\n"`.
fn code(reply: &str) -> &str {
    reply.get(..3).unwrap_or(reply)
}

/// Sends one command line with CRLF and checks the reply code.
#[track_caller]
fn expect(client: &mut Client, line: &str, expected: &str) -> String {
    let reply = client.cmd(line);
    assert_eq!(code(&reply), expected, "{line}: {reply:?}");
    reply
}

/// The header section's `Received:` field, unfolded: `from ... ; date`.
fn received_field(message: &[u8]) -> String {
    let text = String::from_utf8_lossy(message);
    let start = text.find("\r\nReceived: ").expect("a Received: field") + 2;
    let mut field = String::new();
    for (i, line) in text[start..].split("\r\n").enumerate() {
        if i > 0 && !line.starts_with([' ', '\t']) {
            break;
        }
        field.push_str(line.trim_start());
        field.push(' ');
    }
    field.trim_end().to_string()
}

// ---------------------------------------------------------------------------------------
// Chapter 3, Listening: a limit per client address

#[test]
fn ex03_connections_per_ip_are_limited() {
    let postie = Postie::start(&["--max-connections-per-ip", "2"]);
    let mut first = postie.connect();
    let _second = postie.connect();

    let mut third = Client::connect(postie.addr);
    let reply = third.read_reply();
    assert_eq!(
        code(&reply),
        "421",
        "a third client from 127.0.0.1: {reply:?}"
    );
    assert!(third.is_closed(), "the refused client must be disconnected");

    // The count goes down as well as up: once one leaves, a newcomer is served again.
    expect(&mut first, "QUIT", "221");
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let mut client = Client::connect(postie.addr);
        let reply = client.read_reply();
        if code(&reply) == "220" {
            expect(&mut client, "NOOP", "250");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "one of the two clients left 3 s ago, and a newcomer still gets {reply:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------------------------------
// Chapter 4, Reading lines: forgive a bare LF in commands only

#[test]
fn ex04_bare_lf_commands_are_forgiven_with_the_flag() {
    let postie = Postie::start(&["--allow-bare-lf-commands"]);
    let mut client = postie.connect();
    for (line, expected) in [
        ("EHLO client.example\n", "250"),
        ("NOOP\n", "250"),
        ("MAIL FROM:<alice@example.org>\n", "250"),
        ("RCPT TO:<bob@localhost>\n", "250"),
        // A bare CR is still refused: it is not a line ending of any kind.
        ("NO\rOP\n", "500"),
        ("DATA\n", "354"),
    ] {
        client.send(line.as_bytes());
        let reply = client.read_reply();
        assert_eq!(
            code(&reply),
            expected,
            "{:?}: {reply:?}",
            line.escape_debug()
        );
    }
    client.send(b"Subject: old script\r\n\r\nhello\r\n.\r\n");
    assert_eq!(code(&client.read_reply()), "250");
    client.send(b"QUIT\n");
    assert_eq!(code(&client.read_reply()), "221");
    assert_eq!(postie.messages("localhost", "bob").len(), 1);
}

#[test]
fn ex04_message_text_still_refuses_a_bare_lf() {
    let postie = Postie::start(&["--allow-bare-lf-commands"]);
    let mut client = postie.connect();
    client.begin_message("alice@example.org", &["bob@localhost"]);
    // The smuggling defence of the DATA chapter must not be weakened by the flag.
    client.send(b"Subject: smuggled\r\n\r\nhello\n.\nMAIL FROM:<x@example.org>\r\n.\r\n");
    let reply = client.read_reply();
    assert_eq!(code(&reply), "521", "a bare LF in message text: {reply:?}");
    assert!(client.is_closed());
    assert!(postie.messages("localhost", "bob").is_empty());
}

// ---------------------------------------------------------------------------------------
// Chapter 5, The state machine: refuse a whole session politely

#[test]
fn ex05_a_refused_network_gets_554_then_503_until_quit() {
    let postie = Postie::start(&["--refuse-network", "127.0.0.0/8"]);
    let mut client = Client::connect(postie.addr);
    let greeting = client.read_reply();
    assert_eq!(code(&greeting), "554", "greeting: {greeting:?}");
    for line in [
        "EHLO client.example",
        "HELO client.example",
        "MAIL FROM:<alice@example.org>",
        "RCPT TO:<bob@localhost>",
        "DATA",
        "NOOP",
    ] {
        // RFC 5321 §3.1: after a 554 greeting, every command but QUIT gets 503.
        expect(&mut client, line, "503");
    }
    expect(&mut client, "QUIT", "221");
    assert!(client.is_closed());
}

#[test]
fn ex05_other_networks_are_served_as_before() {
    let postie = Postie::start(&["--refuse-network", "192.0.2.0/24"]);
    let mut client = postie.connect();
    expect(&mut client, "EHLO client.example", "250");
    expect(&mut client, "QUIT", "221");
}

// ---------------------------------------------------------------------------------------
// Chapter 6, The greeting: 220: no pause for friends

#[test]
fn ex06_a_friend_may_talk_first() {
    // Every test client comes from 127.0.0.1: here a friend.
    let postie = Postie::start(&[
        "--greeting-delay",
        "2",
        "--greeting-delay-exempt",
        "127.0.0.0/8",
    ]);
    let mut client = Client::connect(postie.addr);
    // Talks at once, as a busy mail program of our own might: a friend is not tested.
    client.send(b"EHLO friend.example\r\n");
    let greeting = client.read_reply();
    assert_eq!(code(&greeting), "220", "a friend is greeted: {greeting:?}");
    let reply = client.read_reply();
    assert_eq!(code(&reply), "250", "and its EHLO answered: {reply:?}");
    expect(&mut client, "QUIT", "221");
}

#[test]
fn ex06_strangers_still_wait() {
    // 127.0.0.1 is not in 192.0.2.0/24: a stranger, paused and tested as before.
    let postie = Postie::start(&[
        "--greeting-delay",
        "1",
        "--greeting-delay-exempt",
        "192.0.2.0/24",
    ]);
    let mut client = Client::connect(postie.addr);
    client.send(b"EHLO early.example\r\n");
    let reply = client.read_reply();
    assert_eq!(
        code(&reply),
        "554",
        "a stranger that talked first: {reply:?}"
    );
    assert!(client.is_closed());
}

// ---------------------------------------------------------------------------------------
// Chapter 7, EHLO and HELO: record who the client really is

#[test]
fn ex07_received_names_the_client_by_its_dns_name() {
    // What this machine's resolver calls 127.0.0.1, confirmed by a forward lookup
    // (usually "localhost", from /etc/hosts).
    let loopback = IpAddr::from([127, 0, 0, 1]);
    let name = dns_lookup::lookup_addr(&loopback).expect("a reverse lookup of 127.0.0.1");
    let confirmed =
        dns_lookup::lookup_host(&name).is_ok_and(|mut ips| ips.any(|ip| ip == loopback));
    assert!(
        confirmed,
        "cannot grade this exercise here: 127.0.0.1 is called {name:?}, which does not \
         resolve back to 127.0.0.1 (check /etc/hosts)"
    );

    let server = TestServer::start();
    let reply = send_message(&server, "alice@example.org", &["bob@localhost"], b"Hi\r\n");
    assert_eq!(code(&reply), "250", "{reply}");
    let field = received_field(&server.messages("localhost", "bob")[0]);
    let expected = format!("Received: from client.example ({name} [127.0.0.1]) by ");
    assert!(
        field.starts_with(&expected),
        "expected the client's DNS name before its address:\n  want: {expected}...\n  got:  {field}"
    );
}

// ---------------------------------------------------------------------------------------
// Chapter 8, MAIL FROM: no forged local senders from outside

#[test]
fn ex08_only_insiders_may_claim_a_local_sender() {
    // 127.0.0.1 is not in the relay networks: for this server, we are outsiders.
    let server = TestServer::start_with(|config| {
        config.policy.relay_networks = vec!["192.0.2.0/24".parse().unwrap()];
    });
    let mut client = server.connect();
    expect(&mut client, "EHLO client.example", "250");
    for forged in ["postmaster@localhost", "Alice@EXAMPLE.test"] {
        let reply = expect(&mut client, &format!("MAIL FROM:<{forged}>"), "550");
        assert!(reply.starts_with("550 5.7.1 "), "{forged}: {reply:?}");
    }
    // Bounces have the null reverse path: they must still get through.
    expect(&mut client, "MAIL FROM:<>", "250");
    expect(&mut client, "RSET", "250");
    expect(&mut client, "MAIL FROM:<alice@example.org>", "250");
    expect(&mut client, "RCPT TO:<bob@localhost>", "250");
    expect(&mut client, "QUIT", "221");

    // From inside (the default relay networks include 127.0.0.1), a local sender is fine.
    let server = TestServer::start();
    let mut client = server.connect();
    expect(&mut client, "EHLO client.example", "250");
    expect(&mut client, "MAIL FROM:<alice@localhost>", "250");
    expect(&mut client, "QUIT", "221");
}

// ---------------------------------------------------------------------------------------
// Chapter 9, RCPT TO: plus addressing

#[test]
fn ex09_a_plus_tag_is_delivered_to_the_mailbox_before_it() {
    let server = TestServer::start();
    let reply = send_message(
        &server,
        "alice@example.org",
        &["Bob+Lists@localhost"],
        b"Subject: tagged\r\n\r\nHi\r\n",
    );
    assert_eq!(code(&reply), "250", "{reply}");
    let delivered = server.messages("localhost", "bob");
    assert_eq!(delivered.len(), 1, "nothing in localhost/bob/new");
    assert!(server.messages("localhost", "bob+lists").is_empty());
    // The forward path keeps its tag: the trace says who it was sent to.
    let field = received_field(&delivered[0]);
    assert!(field.contains("for <Bob+Lists@localhost>"), "{field}");
}

#[test]
fn ex09_a_plus_tag_exists_whenever_its_user_does() {
    let server = TestServer::start_with(|config| {
        config.policy.users = Some(Users::parse("bob@localhost\n").unwrap());
    });
    let mut client = server.connect();
    expect(&mut client, "EHLO client.example", "250");
    expect(&mut client, "MAIL FROM:<alice@example.org>", "250");
    expect(&mut client, "RCPT TO:<bob+news@localhost>", "250");
    expect(&mut client, "RCPT TO:<bob+@localhost>", "250");
    expect(&mut client, "RCPT TO:<carol+news@localhost>", "550");
    expect(&mut client, "RCPT TO:<postmaster+abuse@localhost>", "250");
    // An empty mailbox name is still no mailbox at all.
    let reply = client.cmd("RCPT TO:<+news@localhost>");
    assert!(reply.starts_with('5'), "+news@localhost: {reply:?}");
    expect(&mut client, "QUIT", "221");
}

// ---------------------------------------------------------------------------------------
// Chapter 10, DATA: stop reading a runaway message

#[test]
fn ex10_a_runaway_message_is_cut_off() {
    const LIMIT: u64 = 10_000;
    let server = TestServer::start_with(|config| config.limits.max_message_size = LIMIT);
    let mut client = server.connect();
    client.begin_message("alice@example.org", &["bob@localhost"]);
    // 21 lines of 1000 octets: more than twice the limit, and no end in sight.
    let line = [&[b'a'; 998][..], b"\r\n"].concat();
    for _ in 0..21 {
        client.send(&line);
    }
    client
        .stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut reply = Vec::new();
    let mut byte = [0u8; 1];
    while !reply.ends_with(b"\n") {
        match client.stream.read(&mut byte) {
            Ok(1) => reply.push(byte[0]),
            Ok(_) => break,
            Err(e) => panic!(
                "no reply within 5 s of sending {} octets with a limit of {LIMIT} ({e}): \
                 postie is still reading the runaway message",
                21 * line.len()
            ),
        }
    }
    let reply = String::from_utf8_lossy(&reply).into_owned();
    assert!(reply.starts_with("552 5.3.4 "), "{reply:?}");
    let mut rest = [0u8; 64];
    assert!(
        matches!(client.stream.read(&mut rest), Ok(0) | Err(_)),
        "the connection must be closed after the 552"
    );
    assert!(server.all_files().is_empty(), "nothing may be stored");

    // The server is still there for everyone else.
    let reply = send_message(&server, "alice@example.org", &["bob@localhost"], b"Hi\r\n");
    assert_eq!(code(&reply), "250", "{reply}");
}

// ---------------------------------------------------------------------------------------
// Chapter 11, Taking responsibility: the size in the name

#[test]
fn ex11_the_maildir_name_carries_the_size() {
    let server = TestServer::start();
    let reply = send_message(
        &server,
        "alice@example.org",
        &["bob@localhost", "carol@localhost"],
        b"Subject: sized\r\n\r\nHow big am I?\r\n",
    );
    assert_eq!(code(&reply), "250", "{reply}");
    for user in ["bob", "carol"] {
        let dir = server.maildir().join("localhost").join(user);
        let files = files_in(&dir.join("new"));
        assert_eq!(files.len(), 1, "{user}: {files:?}");
        let name = files[0].file_name().unwrap().to_str().unwrap();
        let length = std::fs::metadata(&files[0]).unwrap().len();
        assert!(
            name.ends_with(&format!(",S={length}")),
            "{user}: {name:?} should end in \",S={length}\", the file's length"
        );
        assert!(
            files_in(&dir.join("tmp")).is_empty(),
            "{user}: tmp/ is not empty"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Chapter 12, QUIT, RSET, NOOP, VRFY and HELP: VRFY for friends

fn users() -> Option<Users> {
    Some(Users::parse("bob@localhost\nalice@example.test\n").unwrap())
}

#[test]
fn ex12_vrfy_is_truthful_for_trusted_clients_only() {
    let server = TestServer::start_with(|config| config.policy.users = users());
    let mut client = server.connect();
    expect(&mut client, "EHLO client.example", "250");
    for (argument, answer) in [
        ("bob", "250 2.1.5 <bob@localhost>"),
        ("Bob@localhost", "250 2.1.5 <Bob@localhost>"),
        ("alice@example.test", "250 2.1.5 <alice@example.test>"),
        ("carol", "550 5.1.1 "),
        ("carol@localhost", "550 5.1.1 "),
    ] {
        let reply = client.cmd(&format!("VRFY {argument}"));
        // Mailboxes are matched without regard to case; the reply may keep or fold it.
        let starts = reply.to_lowercase().starts_with(&answer.to_lowercase());
        assert!(starts, "VRFY {argument}: {reply:?}, expected {answer:?}...");
    }
    // Not one of ours: we do not vouch for other domains.
    expect(&mut client, "VRFY someone@example.org", "252");
    expect(&mut client, "QUIT", "221");

    // Strangers, and everyone when there is no users file, still get 252.
    let strangers = TestServer::start_with(|config| {
        config.policy.users = users();
        config.policy.relay_networks = vec!["192.0.2.0/24".parse().unwrap()];
    });
    let no_users = TestServer::start();
    for server in [&strangers, &no_users] {
        let mut client = server.connect();
        expect(&mut client, "EHLO client.example", "250");
        expect(&mut client, "VRFY bob", "252");
        expect(&mut client, "VRFY carol", "252");
        expect(&mut client, "QUIT", "221");
    }
}

// ---------------------------------------------------------------------------------------
// Chapter 13, Replies: a banner

#[test]
fn ex13_banner_lines_follow_the_greeting() {
    let postie = Postie::start(&[
        "--banner",
        "For testing only",
        "--banner",
        "Mail sent here is read by nobody",
    ]);
    let mut client = Client::connect(postie.addr);
    assert_eq!(
        client.read_reply(),
        "220-mx.example.test ESMTP postie ready\r\n\
         220-For testing only\r\n\
         220 Mail sent here is read by nobody\r\n"
    );
    expect(&mut client, "EHLO client.example", "250");
    expect(&mut client, "QUIT", "221");
}

#[test]
fn ex13_a_banner_cannot_forge_a_reply() {
    let postie = Postie::start(&["--banner", "one\r\n250 forged"]);
    let mut client = Client::connect(postie.addr);
    let greeting = client.read_reply();
    assert_eq!(greeting.lines().count(), 2, "{greeting:?}");
    assert!(
        greeting.lines().all(|line| line.starts_with("220")),
        "{greeting:?}"
    );
    expect(&mut client, "QUIT", "221");
}

// ---------------------------------------------------------------------------------------
// Chapter 14, Finding the other server: know yourself by address

// The relay exercises talk to real peers, as tests/relay.rs does. A missing peer skips
// the exercise's test with a note on a student's machine (it cannot be graded there), and
// fails it in CI (`CI=true`, as `.ci/exercises` sets), as the rest of the test suite does
// (tests/common/peers.rs).
const NEEDS_DNSMASQ: &str = "SKIP: this exercise needs dnsmasq: apt-get install dnsmasq-base";
const NEEDS_SMTP_SINK: &str = "SKIP: this exercise needs smtp-sink: apt-get install postfix";

#[test]
fn ex14_an_mx_host_that_is_us_by_address_and_port_is_not_tried() {
    // loop.test's MX host has a name postie does not know as its own, but the address
    // and port it leads to are postie's: relaying there sends the mail to ourselves.
    let port = peers::free_port();
    let Some(dns) = peers::Dnsmasq::start(&[
        "--mx-host=loop.test,strange-name.test,10",
        "--host-record=strange-name.test,127.0.0.1",
    ]) else {
        eprintln!("{NEEDS_DNSMASQ}");
        return;
    };
    let server = TestServer::start_with(|config| {
        config.set_listener(
            Protocol::Smtp(Service::Smtp),
            SocketAddr::from(([127, 0, 0, 1], port)),
        );
        config.relay.dns_server = Some(dns.addr);
        config.relay.remote_port = port;
    });
    let text = b"Subject: round and round\r\n\r\nHi\r\n";
    let reply = send_message(&server, "alice@localhost", &["bob@loop.test"], text);
    assert_eq!(code(&reply), "250", "{reply}");

    peers::wait_until(Duration::from_secs(10), "a bounce for alice", || {
        !server.messages("localhost", "alice").is_empty()
    });
    let bounce = String::from_utf8_lossy(&server.messages("localhost", "alice")[0]).into_owned();
    // §5.1: a routing loop, found before any connection is made.
    assert!(
        bounce.contains("Action: failed") && bounce.contains("Status: 5.4.6"),
        "{bounce}"
    );
    assert!(
        !bounce.contains("Received: from mx.example.test"),
        "the message went round through postie itself before it bounced:\n{bounce}"
    );
    drop(server);

    // As in the two-server walk-through: another server on 127.0.0.1, another port.
    let Some(sink) = peers::SmtpSink::start(0, &[]) else {
        eprintln!("{NEEDS_SMTP_SINK}");
        return;
    };
    let Some(dns) = peers::Dnsmasq::start(&[
        "--mx-host=next-door.test,strange-name.test,10",
        "--host-record=strange-name.test,127.0.0.1",
    ]) else {
        eprintln!("{NEEDS_DNSMASQ}");
        return;
    };
    let server = TestServer::start_with(|config| {
        config.relay.dns_server = Some(dns.addr);
        config.relay.remote_port = sink.addr.port();
    });
    let reply = send_message(
        &server,
        "alice@localhost",
        &["bob@next-door.test"],
        b"Hi\r\n",
    );
    assert_eq!(code(&reply), "250", "{reply}");
    peers::wait_until(Duration::from_secs(10), "the sink to receive it", || {
        !sink.dumps().is_empty()
    });
    assert!(server.messages("localhost", "alice").is_empty(), "a bounce");
}

// ---------------------------------------------------------------------------------------
// Chapter 15.1, The queue: warn before giving up

#[test]
fn ex15_one_delay_warning_however_many_retries() {
    // A server that answers every RCPT with 451: the message stays in the queue.
    let Some(sink) = peers::SmtpSink::start(0, &["-r", "RCPT"]) else {
        eprintln!("{NEEDS_SMTP_SINK}");
        return;
    };
    let route = format!("sink.test={}", sink.addr);
    let postie = Postie::start(&[
        "--delay-warning",
        "1s",
        "--retry-min",
        "1s",
        "--retry-max",
        "1s",
        "--route",
        &route,
    ]);
    let mut client = postie.connect();
    client.begin_message("alice@localhost", &["bob@sink.test"]);
    client.send(b"Subject: slow\r\n\r\nHi\r\n.\r\n");
    assert_eq!(code(&client.read_reply()), "250");
    expect(&mut client, "QUIT", "221");

    peers::wait_until(Duration::from_secs(10), "a delay warning for alice", || {
        !postie.messages("localhost", "alice").is_empty()
    });
    // Attempts go on every second; the warning must not come again.
    std::thread::sleep(Duration::from_secs(3));
    let notices = postie.messages("localhost", "alice");
    assert_eq!(notices.len(), 1, "one warning, not one per attempt");
    let warning = String::from_utf8_lossy(&notices[0]);
    assert!(warning.contains("Action: delayed"), "{warning}");
    assert!(!warning.contains("Action: failed"), "{warning}");
}

// ---------------------------------------------------------------------------------------
// Chapter 15.2, The client: the name in EHLO

#[test]
fn ex15b_the_relay_says_its_own_name_in_ehlo() {
    let Some(sink) = peers::SmtpSink::start(0, &[]) else {
        eprintln!("{NEEDS_SMTP_SINK}");
        return;
    };
    let route = format!("sink.test={}", sink.addr);
    let postie = Postie::start(&["--relay-helo", "out.example.test", "--route", &route]);
    let mut client = postie.connect();
    client.begin_message("alice@localhost", &["bob@sink.test"]);
    client.send(b"Subject: by name\r\n\r\nHi\r\n.\r\n");
    assert_eq!(code(&client.read_reply()), "250");
    expect(&mut client, "QUIT", "221");

    peers::wait_until(Duration::from_secs(10), "the sink to receive it", || {
        !sink.dumps().is_empty()
    });
    let dump = &sink.dumps()[0];
    // smtp-sink records the EHLO argument as an `X-Helo-Args:` line.
    let helo = dump
        .lines()
        .find(|l| l.starts_with("X-Helo-Args:"))
        .unwrap_or_else(|| panic!("no X-Helo-Args: line in the dump:\n{dump}"));
    assert_eq!(helo.trim_end(), "X-Helo-Args: out.example.test", "{dump}");
    // The server's own name stays in the trace it wrote when it received the message.
    assert!(dump.contains(&format!("by {HOSTNAME} (postie)")), "{dump}");
}

#[test]
fn ex15b_a_relay_name_that_is_no_domain_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--relay-helo", "not a name"])
        .args(["--maildir", dir.path().join("mail").to_str().unwrap()])
        .args(["--spool", dir.path().join("spool").to_str().unwrap()])
        .stdin(Stdio::null())
        .output()
        .expect("run postie");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("unexpected argument"),
        "exercise not done yet: postie does not know --relay-helo:\n{stderr}"
    );
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--relay-helo"), "say which flag: {stderr}");
}

// ---------------------------------------------------------------------------------------
// Chapter 16, Keeping it safe: a deadline for the whole conversation

/// The next reply: one the server sent on its own, else the reply to a NOOP.
fn next_reply_or_noop(client: &mut Client) -> String {
    std::thread::sleep(Duration::from_millis(100));
    client.stream.set_nonblocking(true).unwrap();
    let pending = matches!(client.stream.peek(&mut [0u8; 1]), Ok(n) if n > 0);
    client.stream.set_nonblocking(false).unwrap();
    if pending {
        client.read_reply()
    } else {
        client.cmd("NOOP")
    }
}

#[test]
fn ex16_a_busy_client_is_stopped_at_the_deadline() {
    let postie = Postie::start(&["--session-timeout", "2"]);
    let started = Instant::now();
    let mut client = postie.connect();
    expect(&mut client, "EHLO busy.example", "250");
    let reply = loop {
        let reply = next_reply_or_noop(&mut client);
        if code(&reply) != "250" {
            break reply;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still served after 5 s with a 2 s session limit"
        );
    };
    let elapsed = started.elapsed();
    assert_eq!(code(&reply), "421", "{reply:?}");
    assert!(
        elapsed >= Duration::from_millis(1900),
        "closed after {elapsed:?}, before the 2 s limit"
    );
    assert!(client.is_closed());
}

#[test]
fn ex16_a_message_under_way_is_finished_first() {
    let postie = Postie::start(&["--session-timeout", "2"]);
    let mut client = postie.connect();
    client.begin_message("alice@example.org", &["bob@localhost"]);
    // Three seconds of message text: the deadline passes in the middle of it.
    client.send(b"Subject: slow but steady\r\n\r\n");
    for i in 0..15 {
        std::thread::sleep(Duration::from_millis(200));
        client.send(format!("line {i}\r\n").as_bytes());
    }
    client.send(b".\r\n");
    let reply = client.read_reply();
    assert_eq!(
        code(&reply),
        "250",
        "the message must be finished: {reply:?}"
    );
    assert_eq!(postie.messages("localhost", "bob").len(), 1);
    let reply = next_reply_or_noop(&mut client);
    assert_eq!(code(&reply), "421", "after the message: {reply:?}");
}

// ---------------------------------------------------------------------------------------
// Chapter 16.1, How we know it holds: a limit on commands that move no mail

#[test]
fn ex16b_commands_that_move_no_mail_are_limited() {
    let postie = Postie::start(&["--junk-command-limit", "5"]);
    let mut client = postie.connect();
    expect(&mut client, "EHLO client.example", "250");
    // Five commands that move no mail, each answered as usual.
    for (line, expected) in [
        ("NOOP", "250"),
        ("RSET", "250"),
        ("VRFY bob", "252"),
        ("HELP", "214"),
        ("NOOP", "250"),
    ] {
        expect(&mut client, line, expected);
    }
    // A message accepted starts the count again.
    client.begin_message("alice@example.org", &["bob@localhost"]);
    client.send(b"Subject: real mail\r\n\r\nHi\r\n.\r\n");
    assert_eq!(code(&client.read_reply()), "250", "a real message");
    for _ in 0..5 {
        expect(&mut client, "NOOP", "250");
    }
    let reply = client.cmd("NOOP");
    assert_eq!(
        code(&reply),
        "421",
        "the sixth NOOP since the message: {reply:?}"
    );
    assert!(client.is_closed(), "421 closes the connection");
    assert_eq!(postie.messages("localhost", "bob").len(), 1);
}

#[test]
fn ex16b_without_the_flag_there_is_no_limit() {
    let postie = Postie::start(&["--junk-command-limit", "0"]);
    let mut client = postie.connect();
    for _ in 0..50 {
        expect(&mut client, "NOOP", "250");
    }
}

// ---------------------------------------------------------------------------------------
// Chapter 17, Beyond SMTP (two exercises: ex17a and ex17b)

#[test]
fn ex17a_aliases_deliver_to_their_mailbox() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users");
    std::fs::write(
        &users,
        "bob@localhost\nrobert@localhost bob\nSales@localhost  Bob  # the sales team\n",
    )
    .unwrap();
    let postie = Postie::start(&["--users", users.to_str().unwrap()]);
    for rcpt in ["robert@localhost", "sales@localhost", "bob@localhost"] {
        let mut client = postie.connect();
        client.begin_message("alice@example.org", &[rcpt]);
        client.send(format!("Subject: for {rcpt}\r\n\r\nHi\r\n.\r\n").as_bytes());
        assert_eq!(code(&client.read_reply()), "250", "{rcpt}");
        expect(&mut client, "QUIT", "221");
    }
    let delivered = postie.messages("localhost", "bob");
    assert_eq!(delivered.len(), 3, "bob's mailbox");
    assert!(postie.messages("localhost", "robert").is_empty());
    assert!(postie.messages("localhost", "sales").is_empty());
    // The forward path is left alone: the trace still says whom it was for.
    let fors: Vec<String> = delivered.iter().map(|m| received_field(m)).collect();
    assert!(
        fors.iter().any(|f| f.contains("for <robert@localhost>")),
        "{fors:#?}"
    );

    let mut client = postie.connect();
    expect(&mut client, "EHLO client.example", "250");
    expect(&mut client, "MAIL FROM:<alice@example.org>", "250");
    expect(&mut client, "RCPT TO:<carol@localhost>", "550");
    expect(&mut client, "QUIT", "221");

    // A mailbox name that could never be one stops postie before any mail arrives.
    std::fs::write(&users, "bob@localhost\nevil@localhost ../../etc\n").unwrap();
    let output = Command::new(BIN)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--users",
            users.to_str().unwrap(),
        ])
        .args(["--maildir", dir.path().join("mail").to_str().unwrap()])
        .args(["--spool", dir.path().join("spool").to_str().unwrap()])
        .stdin(Stdio::null())
        .output()
        .expect("run postie");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("line 2"),
        "say which line is wrong: {stderr}"
    );
}

/// postie with a users file of three addresses, `--catch-all info` and `flags`. The
/// users file lives in a directory of its own, returned to be kept alive.
fn catch_all_postie(flags: &[&str]) -> (Postie, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let users = dir.path().join("users");
    let text = "bob@localhost\ninfo@localhost\ninfo@example.test\n";
    std::fs::write(&users, text).expect("users file");
    let mut args = vec!["--users", users.to_str().unwrap(), "--catch-all", "info"];
    args.extend_from_slice(flags);
    (Postie::start(&args), dir)
}

#[test]
fn ex17b_unknown_users_go_to_the_catch_all() {
    let (postie, _users) = catch_all_postie(&[]);
    for rcpt in ["carol@localhost", "Dave@Example.test", "bob@localhost"] {
        let mut client = postie.connect();
        client.begin_message("alice@example.org", &[rcpt]);
        client.send(format!("Subject: for {rcpt}\r\n\r\nHi\r\n.\r\n").as_bytes());
        assert_eq!(code(&client.read_reply()), "250", "{rcpt}");
        expect(&mut client, "QUIT", "221");
    }
    // Each domain's own catch-all; the forward path is left as it was.
    let caught = postie.messages("localhost", "info");
    assert_eq!(caught.len(), 1, "localhost's catch-all");
    assert!(
        received_field(&caught[0]).contains("for <carol@localhost>"),
        "{}",
        received_field(&caught[0])
    );
    assert_eq!(postie.messages("example.test", "info").len(), 1);
    assert!(postie.messages("localhost", "carol").is_empty());
    assert!(postie.messages("example.test", "dave").is_empty());
    // A user who exists still gets their own mail.
    assert_eq!(
        postie.messages("localhost", "bob").len(),
        1,
        "bob's mailbox"
    );
}

#[test]
fn ex17b_the_catch_all_changes_nothing_else() {
    // 127.0.0.1 is not in the relay networks: for this server, we are a stranger.
    let (postie, _users) = catch_all_postie(&["--relay-network", "192.0.2.0/24"]);
    let mut client = postie.connect();
    expect(&mut client, "EHLO client.example", "250");
    expect(&mut client, "MAIL FROM:<alice@example.org>", "250");
    expect(&mut client, "RCPT TO:<carol@localhost>", "250");
    // Another domain is still relaying, and a stranger may not relay.
    let reply = expect(&mut client, "RCPT TO:<someone@example.org>", "550");
    assert!(reply.starts_with("550 5.7.1 "), "{reply:?}");
    // A name that can never be a mailbox is still refused, not caught.
    expect(&mut client, "RCPT TO:<\"../../x\"@localhost>", "553");
    expect(&mut client, "QUIT", "221");
    drop(postie);

    // A catch-all without a users file (every user exists already), or with a name
    // that could never be a mailbox, stops postie before any mail arrives.
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users");
    std::fs::write(&users, "bob@localhost\n").unwrap();
    for flags in [
        vec!["--catch-all", "info"],
        vec!["--users", users.to_str().unwrap(), "--catch-all", "../etc"],
    ] {
        let output = Command::new(BIN)
            .args(["--listen", "127.0.0.1:0"])
            .args(&flags)
            .args(["--maildir", dir.path().join("mail").to_str().unwrap()])
            .args(["--spool", dir.path().join("spool").to_str().unwrap()])
            .stdin(Stdio::null())
            .output()
            .expect("run postie");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{flags:?}: {stderr}");
        assert!(
            stderr.contains("--catch-all"),
            "{flags:?}: say which flag is wrong: {stderr}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Chapter 18, STARTTLS and AUTH: the AUTH parameter of MAIL

#[test]
fn ex18_mail_takes_the_auth_parameter_where_auth_is_offered() {
    // AUTH in the clear from loopback, and Alice's password (as in chapter 19's tests).
    let server = TestServer::start_with(pop3_config);
    let mut client = server.connect();
    let ehlo = expect(&mut client, "EHLO client.example", "250");
    assert!(ehlo.contains("AUTH"), "AUTH must be offered: {ehlo:?}");
    expect(&mut client, &format!("AUTH PLAIN {ALICE_PLAIN}"), "235");
    // RFC 4954 §5: <> for "I do not know who submitted it", or a mailbox in xtext.
    for value in ["<>", "alice@localhost", "alice+2Bshop@localhost"] {
        expect(
            &mut client,
            &format!("MAIL FROM:<alice@localhost> AUTH={value}"),
            "250",
        );
        expect(&mut client, "RSET", "250");
    }
    expect(
        &mut client,
        "MAIL FROM:<alice@localhost> AUTH=alice@localhost",
        "250",
    );
    expect(&mut client, "RCPT TO:<bob@localhost>", "250");
    expect(&mut client, "DATA", "354");
    client.send(b"Subject: with AUTH=\r\n\r\nHi\r\n.\r\n");
    assert_eq!(code(&client.read_reply()), "250");
    assert_eq!(server.messages("localhost", "bob").len(), 1);
    // Not xtext (`+` needs two upper-case hex digits, `=` is never allowed), not a
    // mailbox, or twice: a bad value is a syntax error, 501.
    for bad in [
        "AUTH=alice+2xshop@localhost",
        "AUTH=a=b@localhost",
        "AUTH=not-a-mailbox",
        "AUTH=<> AUTH=<>",
    ] {
        expect(
            &mut client,
            &format!("MAIL FROM:<alice@localhost> {bad}"),
            "501",
        );
    }

    // And where AUTH is not offered (no users file), the parameter is as unknown as
    // any other (555): a solution must not accept it everywhere. (This half passes
    // on the code as it is, so it lives in the same test as the half that does not.)
    let server = TestServer::start();
    let mut client = server.connect();
    expect(&mut client, "EHLO client.example", "250");
    expect(&mut client, "MAIL FROM:<alice@example.org> AUTH=<>", "555");
}

// ---------------------------------------------------------------------------------------
// Chapter 19, Reading mail: POP3 (two exercises: ex19a and ex19b)

/// `AUTH PLAIN`'s argument (RFC 4616): base64 of "", NUL, the user name, NUL, the
/// password. This one is Alice's, with `POP3_PASSWORD`.
const ALICE_PLAIN: &str = "AGFsaWNlQGxvY2FsaG9zdABsZXQgbWUgcmVhZA==";
/// Alice with the password "let me guess".
const ALICE_WRONG: &str = "AGFsaWNlQGxvY2FsaG9zdABsZXQgbWUgZ3Vlc3M=";
/// Bob's name as the authorization identity, asking to act as Alice.
const BOB_AS_ALICE: &str = "Ym9iQGxvY2FsaG9zdABhbGljZUBsb2NhbGhvc3QAbGV0IG1lIHJlYWQ=";

/// A server with POP3 and one message waiting for Alice.
fn pop3_server() -> TestServer {
    let server = TestServer::start_with(pop3_config);
    let reply = send_message(&server, "carol@example.org", &["alice@localhost"], b"Hi");
    assert!(reply.starts_with("250 "), "{reply}");
    server
}

#[test]
fn ex19a_capa_offers_sasl_plain() {
    let server = pop3_server();
    let mut pop = Pop3Client::connect(&server);
    let (_, capa) = pop.multi("CAPA");
    let capa = String::from_utf8_lossy(&capa).into_owned();
    assert!(
        capa.split("\r\n").any(|line| line == "SASL PLAIN"),
        "exercise not done yet: CAPA does not list SASL PLAIN:\n{capa}"
    );
}

#[test]
fn ex19a_auth_plain_with_an_initial_response() {
    let server = pop3_server();
    let mut pop = Pop3Client::connect(&server);
    let reply = pop.cmd(&format!("AUTH PLAIN {ALICE_PLAIN}"));
    assert!(reply.starts_with("+OK"), "AUTH PLAIN: {reply}");
    let stat = pop.cmd("STAT");
    assert!(stat.starts_with("+OK 1 "), "logged in as Alice: {stat}");
    pop.cmd("QUIT");
}

#[test]
fn ex19a_auth_plain_with_a_continuation() {
    let server = pop3_server();
    let mut pop = Pop3Client::connect(&server);
    // RFC 5034 §4: no initial response, so the server asks for it with "+ ".
    assert_eq!(pop.cmd("AUTH PLAIN"), "+ ", "a continuation");
    let reply = pop.cmd(ALICE_PLAIN);
    assert!(reply.starts_with("+OK"), "the response: {reply}");
    assert!(pop.cmd("STAT").starts_with("+OK 1 "));
    pop.cmd("QUIT");
}

#[test]
fn ex19a_auth_plain_refuses_what_pass_would_refuse() {
    let server = pop3_server();
    let mut pop = Pop3Client::connect(&server);
    for wrong in [ALICE_WRONG, BOB_AS_ALICE, "not-base64!"] {
        let reply = pop.cmd(&format!("AUTH PLAIN {wrong}"));
        assert!(reply.starts_with("-ERR [AUTH]"), "{wrong}: {reply}");
    }
    assert!(pop.cmd("STAT").starts_with("-ERR"), "not logged in");
    pop.cmd("QUIT");
}

/// postie with POP3, accounts for Alice and Bob, and `--pop3-login-delay 60`. The
/// users file lives in a directory of its own, returned to be kept alive.
fn login_delay_postie() -> (Postie, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let users = dir.path().join("users");
    let text = users_file_with_passwords(&["alice@localhost", "bob@localhost"]);
    std::fs::write(&users, text).expect("users file");
    let postie = Postie::start(&[
        "--users",
        users.to_str().unwrap(),
        "--pop3-listen",
        "127.0.0.1:0",
        "--allow-plaintext-auth",
        "--pop3-login-delay",
        "60",
    ]);
    (postie, dir)
}

#[test]
fn ex19b_capa_advertises_the_login_delay() {
    let (postie, _users) = login_delay_postie();
    let mut pop = Pop3Client::connect_to(postie.pop3.expect("POP3 in the log"));
    let (_, capa) = pop.multi("CAPA");
    let capa = String::from_utf8_lossy(&capa).into_owned();
    assert!(
        capa.split("\r\n").any(|line| line == "LOGIN-DELAY 60"),
        "CAPA: {capa}"
    );
}

#[test]
fn ex19b_a_second_login_too_soon_is_refused() {
    let (postie, _users) = login_delay_postie();
    let addr = postie.pop3.expect("POP3 in the log");
    let mut first = Pop3Client::connect_to(addr);
    assert!(first.try_login("alice@localhost").starts_with("+OK"));
    assert!(first.cmd("QUIT").starts_with("+OK"));

    let mut again = Pop3Client::connect_to(addr);
    let reply = again.try_login("alice@localhost");
    assert!(reply.starts_with("-ERR [LOGIN-DELAY]"), "{reply}");
    assert!(again.cmd("STAT").starts_with("-ERR"), "not logged in");
    // The delay is per mailbox: Bob has not logged in yet.
    let mut bob = Pop3Client::connect_to(addr);
    assert!(bob.try_login("bob@localhost").starts_with("+OK"));
    bob.cmd("QUIT");
}

#[test]
fn ex19b_a_failed_login_does_not_count() {
    let (postie, _users) = login_delay_postie();
    let mut pop = Pop3Client::connect_to(postie.pop3.expect("POP3 in the log"));
    pop.cmd("USER alice@localhost");
    assert!(pop.cmd("PASS let me guess").starts_with("-ERR [AUTH]"));
    assert!(pop.try_login("alice@localhost").starts_with("+OK"));
    pop.cmd("QUIT");
}

// ---------------------------------------------------------------------------------------
// Chapter 20, Reading mail: IMAP (one exercise: ex20)

/// APPENDs `text` to INBOX with this date-time (RFC 3501 §9 `date-time`).
fn append_dated(imap: &mut common::imap::Imap, date: &str, text: &str) {
    let reply = imap.cmd(&format!(
        "APPEND INBOX \"{date}\" {{{}+}}\r\n{text}",
        text.len()
    ));
    assert!(reply.starts_with("t OK [APPENDUID "), "APPEND: {reply}");
}

#[test]
fn ex20_append_keeps_the_date_it_is_given() {
    let server = TestServer::start_with(imap_config);
    let mut imap = common::imap::Imap::login(&server);
    append_dated(
        &mut imap,
        "05-Jan-2026 01:02:03 +0100",
        "Subject: old\r\n\r\nfrom 2026\r\n",
    );
    imap.cmd("SELECT INBOX");
    let fetch = imap.cmd("FETCH 1 INTERNALDATE");
    assert_eq!(
        fetch,
        "* 1 FETCH (INTERNALDATE \"05-Jan-2026 00:02:03 +0000\")\r\nt OK FETCH completed\r\n",
        "exercise not done yet: the INTERNALDATE is not the date APPEND gave"
    );
}

#[test]
fn ex20_search_by_date_finds_old_mail_where_it_belongs() {
    let server = TestServer::start_with(imap_config);
    let mut imap = common::imap::Imap::login(&server);
    append_dated(
        &mut imap,
        "17-Jul-2020 02:44:25 -0700",
        "Subject: a\r\n\r\nold\r\n",
    );
    append_dated(
        &mut imap,
        "01-Mar-2024 12:00:00 +0000",
        "Subject: b\r\n\r\nnewer\r\n",
    );
    imap.cmd("SELECT INBOX");
    assert_eq!(
        imap.cmd("SEARCH BEFORE 1-Jan-2021"),
        "* SEARCH 1\r\nt OK SEARCH completed\r\n",
        "exercise not done yet: BEFORE looks at INTERNALDATE"
    );
    assert_eq!(
        imap.cmd("SEARCH ON 1-Mar-2024"),
        "* SEARCH 2\r\nt OK SEARCH completed\r\n"
    );
}

// ---------------------------------------------------------------------------------------
// Chapter 23, Performance: a load generator of your own

/// Runs `postie bench` with `args`; its exit status and standard output and error.
fn bench(args: &[&str]) -> (std::process::ExitStatus, String) {
    let output = Command::new(BIN)
        .arg("bench")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run postie bench");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !text.contains("unrecognized subcommand"),
        "exercise not done yet: postie has no `bench` subcommand:\n{text}"
    );
    (output.status, text)
}

#[test]
fn ex23_bench_sends_every_message_and_reports_the_rate() {
    let postie = Postie::start(&[]);
    let target = postie.addr.to_string();
    let (status, text) = bench(&[
        &target,
        "--sessions",
        "3",
        "--messages",
        "20",
        "--size",
        "2000",
        "--per-connection",
        "4",
    ]);
    assert!(status.success(), "{text}");
    assert!(text.contains("20 messages"), "{text}");
    assert!(text.contains("msg/s"), "{text}");
    let delivered = postie.messages("localhost", "bench");
    assert_eq!(
        delivered.len(),
        20,
        "every message counted is in the Maildir"
    );
    assert!(
        delivered.iter().all(|m| m.len() >= 2000),
        "each message has the --size asked for"
    );
}

#[test]
fn ex23_a_run_that_lost_mail_fails() {
    // Every message is too big for this server: none gets its 250.
    let postie = Postie::start(&["--max-message-size", "1000"]);
    let target = postie.addr.to_string();
    let (status, text) = bench(&[&target, "--messages", "3", "--size", "2000"]);
    assert!(
        !status.success(),
        "a run in which mail was refused must fail:\n{text}"
    );
    assert!(postie.messages("localhost", "bench").is_empty());
}
