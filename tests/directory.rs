//! The directory against a real OpenLDAP: recipients found, not found, an alias, a list;
//! logins over SMTP AUTH and POP3; StartTLS to the directory; an outage (451, temporary
//! login failures, and mail again when it returns); injection attempts; a flood of bad
//! logins slowed across connections; and postie with nothing but `--directory`.
//!
//! Every test starts its own slapd (tests/common/slapd.rs) on a loopback port, from the
//! example files the README uses (examples/directory/).

#[path = "common/child.rs"]
mod child;
mod common;
#[path = "common/slapd.rs"]
mod slapd;

use std::time::{Duration, Instant};

use base64::Engine;
use common::{any_port, Client, Pop3Client, Protocol, TestServer};
use postie::directory::throttle::Backoff;
use postie::directory::{trust, DirectoryConfig};
use slapd::{Slapd, Tls, BASE, SERVICE_DN, SERVICE_PASSWORD};

/// The directory settings for `slapd`: the service account, short timeout, no cache
/// unless a test asks for one.
fn settings(slapd: &Slapd) -> DirectoryConfig {
    let mut config = DirectoryConfig::new(slapd.url().parse().unwrap(), BASE, trust(None).unwrap());
    config.bind = Some((SERVICE_DN.into(), SERVICE_PASSWORD.into()));
    config.timeout = Duration::from_secs(2);
    config.cache_ttl = Duration::ZERO;
    config
}

/// postie (SMTP and POP3, plaintext logins from loopback) with this directory.
fn postie(directory: DirectoryConfig) -> TestServer {
    TestServer::start_with(|config| {
        config.set_listener(Protocol::Pop3, any_port());
        config.allow_plaintext_auth = true;
        config.limits.max_recipients = 20;
        config.directory = Some(directory);
    })
}

fn rcpt(server: &TestServer, to: &str) -> String {
    let mut client = server.connect();
    client.cmd("EHLO client.example");
    client.cmd("MAIL FROM:<sender@elsewhere.test>");
    let reply = client.cmd(&format!("RCPT TO:<{to}>"));
    client.cmd("QUIT");
    reply
}

fn plain(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"))
}

/// SMTP AUTH PLAIN on a new connection; the reply.
fn auth(server: &TestServer, user: &str, password: &str) -> String {
    let mut client = server.connect();
    client.cmd("EHLO client.example");
    let reply = client.cmd(&format!("AUTH PLAIN {}", plain(user, password)));
    client.cmd("QUIT");
    reply
}

/// POP3 USER and PASS on a new connection; the answer to PASS.
fn pop3_login(server: &TestServer, user: &str, password: &str) -> (Pop3Client, String) {
    let mut pop = Pop3Client::connect(server);
    pop.cmd(&format!("USER {user}"));
    let reply = pop.cmd(&format!("PASS {password}"));
    (pop, reply)
}

fn deliver(client: &mut Client, from: &str, to: &[&str]) {
    client.begin_message(from, to);
    client.send(b"Subject: hello\r\n\r\nHi.\r\n.\r\n");
    let reply = client.read_reply();
    assert!(reply.starts_with("250 "), "{reply}");
}

#[test]
fn recipients_found_not_found_alias_and_list() {
    if !slapd::installed() {
        return;
    }
    let slapd = Slapd::start(Tls::None);
    let server = postie(settings(&slapd));
    assert!(rcpt(&server, "bob@example.test").starts_with("250 2.1.5"));
    assert!(rcpt(&server, "Alice@EXAMPLE.test").starts_with("250 2.1.5"));
    let reply = rcpt(&server, "nobody@example.test");
    assert!(reply.starts_with("550 5.1.1"), "{reply}");
    // Another domain from loopback is relayed as before: the directory is not asked.
    assert!(rcpt(&server, "someone@other.test").starts_with("250 "));

    // The alias lands in bob's mailbox; the list in each member's, once, though
    // "everyone" lists "team" again.
    let mut client = server.connect();
    deliver(
        &mut client,
        "sender@elsewhere.test",
        &["robert@example.test"],
    );
    assert_eq!(server.messages("example.test", "bob").len(), 1);
    assert!(server.files("example.test", "robert", "new").is_empty());
    deliver(&mut client, "sender@elsewhere.test", &["team@example.test"]);
    for member in ["alice", "bob", "carol"] {
        let expected = if member == "bob" { 2 } else { 1 };
        assert_eq!(
            server.messages("example.test", member).len(),
            expected,
            "{member}"
        );
    }
    assert!(server.files("example.test", "team", "new").is_empty());
    // postmaster has no entry, and is accepted all the same (RFC 5321 §4.5.1).
    assert!(rcpt(&server, "postmaster@example.test").starts_with("250 "));
}

/// A list inside a list is followed only `max_nesting` deep: team lists everyone, which
/// lists carol.
#[test]
fn lists_are_followed_only_so_deep() {
    if !slapd::installed() {
        return;
    }
    let slapd = Slapd::start(Tls::None);
    for (max_nesting, carol) in [(1, 0), (2, 1)] {
        let mut directory = settings(&slapd);
        directory.max_nesting = max_nesting;
        let server = postie(directory);
        let mut client = server.connect();
        deliver(&mut client, "sender@elsewhere.test", &["team@example.test"]);
        assert_eq!(server.messages("example.test", "alice").len(), 1);
        let delivered = server.messages("example.test", "carol").len();
        assert_eq!(delivered, carol, "max_nesting {max_nesting}");
    }
}

/// A list bigger than the room left in the message: 452, as for one recipient too many.
#[test]
fn a_list_counts_against_the_recipient_limit() {
    if !slapd::installed() {
        return;
    }
    let slapd = Slapd::start(Tls::None);
    // team expands to three: with room for two after bob, and with a limit of two in
    // all (a list is never cut to fit: carol would be lost).
    for (max_recipients, before) in [(3, Some("bob@example.test")), (2, None)] {
        let server = TestServer::start_with(|config| {
            config.limits.max_recipients = max_recipients;
            config.directory = Some(settings(&slapd));
        });
        let mut client = server.connect();
        client.cmd("EHLO client.example");
        client.cmd("MAIL FROM:<sender@elsewhere.test>");
        if let Some(before) = before {
            assert!(client
                .cmd(&format!("RCPT TO:<{before}>"))
                .starts_with("250 "));
        }
        let reply = client.cmd("RCPT TO:<team@example.test>");
        assert!(reply.starts_with("452 4.5.3"), "{max_recipients}: {reply}");
    }
}

#[test]
fn logins_over_smtp_auth_and_pop3() {
    if !slapd::installed() {
        return;
    }
    let slapd = Slapd::start(Tls::None);
    let server = postie(settings(&slapd));
    assert!(auth(&server, "bob@example.test", "bob-secret").starts_with("235 "));
    assert!(auth(&server, "robert@example.test", "bob-secret").starts_with("235 "));
    assert!(auth(&server, "bob@example.test", "wrong").starts_with("535 5.7.8"));
    assert!(auth(&server, "nobody@example.test", "bob-secret").starts_with("535 5.7.8"));
    // An empty password would be an unauthenticated bind (RFC 4513 §5.1.2): refused.
    assert!(auth(&server, "bob@example.test", "").starts_with("535 "));
    // A list is not an account.
    assert!(auth(&server, "team@example.test", "x").starts_with("535 "));

    let mut client = server.connect();
    deliver(
        &mut client,
        "sender@elsewhere.test",
        &["robert@example.test"],
    );
    // Logged in by the alternate address, bob reads his one mailbox.
    let (mut pop, reply) = pop3_login(&server, "robert@example.test", "bob-secret");
    assert!(reply.starts_with("+OK"), "{reply}");
    assert!(pop.cmd("STAT").starts_with("+OK 1 "));
    pop.cmd("QUIT");
    let (_, reply) = pop3_login(&server, "alice@example.test", "bob-secret");
    assert!(reply.starts_with("-ERR [AUTH]"), "{reply}");
}

#[test]
fn injection_attempts_match_nobody() {
    if !slapd::installed() {
        return;
    }
    let slapd = Slapd::start(Tls::None);
    let server = postie(settings(&slapd));
    // Unescaped, `*` would match every address (and two entries are an error, 451).
    for attempt in [
        "*@example.test",
        "\"*\"@example.test",
        "\"x)(uid=*\"@example.test",
        "\"*)(|(mail=*\"@example.test",
        "\"bob@example.test)(mail=*\"@example.test",
    ] {
        let reply = rcpt(&server, attempt);
        assert!(reply.starts_with("550 5.1.1"), "{attempt}: {reply}");
    }
    for user in [
        "*@example.test",
        "*",
        "bob@example.test)(|(uid=*",
        ")(uid=*",
        "*)(userPassword=*",
    ] {
        let reply = auth(&server, user, "bob-secret");
        assert!(reply.starts_with("535 "), "{user}: {reply}");
        let (_, reply) = pop3_login(&server, user, "bob-secret");
        assert!(reply.starts_with("-ERR [AUTH]"), "{user}: {reply}");
    }
}

/// A filter that finds two entries for one address: the directory cannot decide, so
/// neither can postie (451, and a log line for the operator), and a login is not
/// guessed either.
#[test]
fn two_entries_for_one_address_is_451_not_a_guess() {
    if !slapd::installed() {
        return;
    }
    let slapd = Slapd::start(Tls::None);
    let mut directory = settings(&slapd);
    directory.filter = "(|(mail=%s)(uid=carol))".into();
    let server = postie(directory);
    assert!(
        rcpt(&server, "carol@example.test").starts_with("250 "),
        "one entry"
    );
    let reply = rcpt(&server, "bob@example.test");
    assert!(reply.starts_with("451 4.3.0"), "bob's and carol's: {reply}");
    let reply = auth(&server, "bob@example.test", "bob-secret");
    assert!(reply.starts_with("454 4.7.0"), "{reply}");
}

/// slapd requires TLS (`security tls=1`): postie gets answers only through StartTLS
/// (or over `ldaps://`), and only when it trusts the certificate.
#[test]
fn starttls_to_the_directory() {
    if !slapd::installed() {
        return;
    }
    let slapd = Slapd::start(Tls::Required);
    let mut directory = settings(&slapd);
    directory.force_starttls = true;
    directory.tls = trust(Some(&slapd.cert())).unwrap();
    let server = postie(directory);
    assert!(rcpt(&server, "bob@example.test").starts_with("250 "));
    assert!(auth(&server, "bob@example.test", "bob-secret").starts_with("235 "));

    // Without StartTLS slapd refuses to answer: that is an outage, not a "no".
    let plain = postie(settings(&slapd));
    assert!(rcpt(&plain, "bob@example.test").starts_with("451 4.3.0"));
    // With StartTLS but a certificate postie does not trust: the same.
    let mut untrusting = settings(&slapd);
    untrusting.force_starttls = true;
    let untrusting = postie(untrusting);
    assert!(rcpt(&untrusting, "bob@example.test").starts_with("451 4.3.0"));
    assert!(auth(&untrusting, "bob@example.test", "bob-secret").starts_with("454 4.7.0"));

    // ldaps://: TLS from the first byte, no StartTLS.
    let mut ldaps = settings(&slapd);
    ldaps.url = slapd.ldaps_url().parse().unwrap();
    ldaps.tls = trust(Some(&slapd.cert())).unwrap();
    let ldaps = postie(ldaps);
    assert!(rcpt(&ldaps, "robert@example.test").starts_with("250 "));
    assert!(auth(&ldaps, "robert@example.test", "bob-secret").starts_with("235 "));
}

#[test]
fn an_outage_gives_451_and_temporary_failures_then_mail_flows_again() {
    if !slapd::installed() {
        return;
    }
    let mut slapd = Slapd::start(Tls::None);
    let mut directory = settings(&slapd);
    directory.cache_ttl = Duration::from_secs(60);
    let server = postie(directory);
    // Warm the pool and the cache for bob.
    assert!(rcpt(&server, "bob@example.test").starts_with("250 "));

    slapd.stop();
    let reply = rcpt(&server, "alice@example.test");
    assert!(reply.starts_with("451 4.3.0"), "{reply}");
    // What the cache knows is still known.
    assert!(rcpt(&server, "bob@example.test").starts_with("250 "));
    // postmaster is accepted even now (RFC 5321 §4.5.1).
    assert!(rcpt(&server, "postmaster@example.test").starts_with("250 "));
    let reply = auth(&server, "alice@example.test", "alice-secret");
    assert!(reply.starts_with("454 4.7.0"), "{reply}");
    let (_, reply) = pop3_login(&server, "alice@example.test", "alice-secret");
    assert!(reply.starts_with("-ERR [SYS/TEMP]"), "{reply}");

    slapd.resume();
    assert!(rcpt(&server, "alice@example.test").starts_with("250 "));
    assert!(auth(&server, "alice@example.test", "alice-secret").starts_with("235 "));
    let mut client = server.connect();
    deliver(
        &mut client,
        "sender@elsewhere.test",
        &["alice@example.test"],
    );
    assert_eq!(server.messages("example.test", "alice").len(), 1);
}

/// A directory that accepts the connection and never answers: 451 after the timeout,
/// not a client left hanging.
#[test]
fn a_silent_directory_times_out_into_451() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ldap://{}", silent.local_addr().unwrap());
    let mut directory = DirectoryConfig::new(url.parse().unwrap(), BASE, trust(None).unwrap());
    directory.timeout = Duration::from_secs(1);
    let server = postie(directory);
    let started = Instant::now();
    let reply = rcpt(&server, "bob@example.test");
    assert!(reply.starts_with("451 4.3.0"), "{reply}");
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(4), "{waited:?}");
    let reply = auth(&server, "bob@example.test", "bob-secret");
    assert!(reply.starts_with("454 4.7.0"), "{reply}");
    drop(silent);
}

/// Bad passwords for one address from many connections, over both protocols: after the
/// free ones, every attempt waits, whatever the password, until the wait is over.
#[test]
fn a_flood_of_bad_logins_is_slowed_across_connections() {
    if !slapd::installed() {
        return;
    }
    let slapd = Slapd::start(Tls::None);
    let mut directory = settings(&slapd);
    // The default's first wait is one second; three leave room for a slow machine.
    let wait = Duration::from_secs(3);
    directory.backoff = Backoff {
        free: 3,
        first: wait,
        longest: Duration::from_secs(60),
    };
    let server = postie(directory);
    for _ in 0..3 {
        assert!(auth(&server, "carol@example.test", "guess").starts_with("535 "));
    }
    let (_, reply) = pop3_login(&server, "carol@example.test", "guess");
    assert!(
        reply.starts_with("-ERR [AUTH]"),
        "the last free failure: {reply}"
    );
    // Now every attempt for carol is told to wait, on every connection.
    let started = Instant::now();
    let mut slowed = 0;
    for _ in 0..20 {
        if auth(&server, "carol@example.test", "guess").starts_with("454 4.7.0") {
            slowed += 1;
        }
    }
    assert!(auth(&server, "carol@example.test", "carol-secret").starts_with("454 4.7.0"));
    let (_, reply) = pop3_login(&server, "carol@example.test", "carol-secret");
    assert!(reply.starts_with("-ERR [SYS/TEMP]"), "{reply}");
    assert!(
        started.elapsed() < wait,
        "too slow to judge: {:?}",
        started.elapsed()
    );
    assert_eq!(slowed, 20);
    // Others are not slowed.
    assert!(auth(&server, "alice@example.test", "alice-secret").starts_with("235 "));
    // After the wait, the owner gets in.
    std::thread::sleep(wait.saturating_sub(started.elapsed()) + Duration::from_millis(200));
    assert!(auth(&server, "carol@example.test", "carol-secret").starts_with("235 "));
}

/// The README's walk-through: the binary with no users file, only `--directory`.
#[test]
fn postie_runs_with_only_the_directory() {
    if !slapd::installed() {
        return;
    }
    let slapd = Slapd::start(Tls::None);
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("service.pw");
    std::fs::write(&password_file, format!("{SERVICE_PASSWORD}\n")).unwrap();
    let url = slapd.url();
    let postie = child::Postie::start(
        dir.path(),
        &dir.path().join("postie.log"),
        &[
            "--domain",
            "example.test",
            "--allow-plaintext-auth",
            "--directory",
            &url,
            "--directory-base",
            BASE,
            "--directory-bind-dn",
            SERVICE_DN,
            "--directory-password-file",
            password_file.to_str().unwrap(),
        ],
    );
    let mut client = Client::connect(postie.addr);
    assert!(client.read_reply().starts_with("220 "));
    assert!(client.cmd("EHLO client.example").contains("AUTH PLAIN"));
    let reply = client.cmd(&format!(
        "AUTH PLAIN {}",
        plain("bob@example.test", "bob-secret")
    ));
    assert!(reply.starts_with("235 "), "{reply}");
    client.cmd("MAIL FROM:<bob@example.test>");
    assert!(client
        .cmd("RCPT TO:<team@example.test>")
        .starts_with("250 "));
    assert!(client
        .cmd("RCPT TO:<nobody@example.test>")
        .starts_with("550 5.1.1"));
    assert!(client.cmd("DATA").starts_with("354 "));
    client.send(b"Subject: to the team\r\n\r\nHello, team.\r\n.\r\n");
    assert!(client.read_reply().starts_with("250 "));
    for member in ["alice", "bob", "carol"] {
        let new = dir
            .path()
            .join("mail/example.test")
            .join(member)
            .join("new");
        assert_eq!(
            std::fs::read_dir(&new).map(|d| d.count()).unwrap_or(0),
            1,
            "{member}"
        );
    }
}

/// RCPT latency with a cold and a warm cache, for the book's closing note. By hand:
/// `cargo test --release --test directory -- --ignored --nocapture rcpt_latency`
#[test]
#[ignore = "a measurement, not a check; run it by hand"]
fn rcpt_latency() {
    if !slapd::installed() {
        return;
    }
    const ROUNDS: usize = 500;
    let slapd = Slapd::start(Tls::None);
    let tls_slapd = Slapd::start(Tls::Required);
    let median_of = |mut times: Vec<Duration>| {
        times.sort();
        (times[times.len() / 2], times[times.len() * 9 / 10])
    };
    // One SMTP session; each RCPT timed from the client's side, then RSET.
    let measure = |server: &TestServer, to: &str, rounds: usize| {
        let mut client = server.connect();
        client.cmd("EHLO client.example");
        let mut times = Vec::new();
        for _ in 0..rounds {
            client.cmd("MAIL FROM:<sender@elsewhere.test>");
            let started = Instant::now();
            let reply = client.cmd(&format!("RCPT TO:<{to}>"));
            times.push(started.elapsed());
            assert!(reply.starts_with("250 "), "{reply}");
            client.cmd("RSET");
        }
        times
    };
    let mut tls = settings(&tls_slapd);
    tls.force_starttls = true;
    tls.tls = trust(Some(&tls_slapd.cert())).unwrap();
    for (name, directory) in [("plain", settings(&slapd)), ("StartTLS", tls)] {
        // The very first RCPT also opens the pooled connection (TCP, TLS, bind): one
        // sample per fresh server.
        let firsts = (0..15)
            .flat_map(|_| measure(&postie(directory.clone()), "bob@example.test", 1))
            .collect();
        let (opening, opening90) = median_of(firsts);
        let cold = postie(directory.clone());
        let mut warm_directory = directory;
        warm_directory.cache_ttl = Duration::from_secs(600);
        let warm = postie(warm_directory);
        println!(
            "{name}: first RCPT, opening the connection: median {opening:?} (p90 {opening90:?})"
        );
        for to in ["bob@example.test", "team@example.test"] {
            let (c50, c90) = median_of(measure(&cold, to, ROUNDS));
            let (w50, w90) = median_of(measure(&warm, to, ROUNDS));
            println!(
                "{name} {to}: cold cache median {c50:?} (p90 {c90:?}); warm cache median {w50:?} (p90 {w90:?})"
            );
        }
    }
}

/// The book's decoded transcript (`examples/directory/trace.txt`): the SMTP and POP3
/// dialogues and the LDAP exchange they caused, as `--trace` prints them, with the
/// client's address and port taken off each line. Regenerate it after a deliberate
/// change with `POSTIE_BLESS=1 cargo test --test directory the_books_transcript`.
#[test]
fn the_books_transcript() {
    if !slapd::installed() {
        return;
    }
    let slapd = Slapd::start(Tls::None);
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("service.pw");
    std::fs::write(&password_file, format!("{SERVICE_PASSWORD}\n")).unwrap();
    let pop3 = format!("127.0.0.1:{}", slapd::free_port());
    let url = slapd.url();
    let log = dir.path().join("postie.log");
    let postie = child::Postie::start(
        dir.path(),
        &log,
        &[
            "--domain",
            "example.test",
            "--pop3-listen",
            &pop3,
            "--allow-plaintext-auth",
            "--trace",
            "--directory",
            &url,
            "--directory-base",
            BASE,
            "--directory-bind-dn",
            SERVICE_DN,
            "--directory-password-file",
            password_file.to_str().unwrap(),
        ],
    );
    let mut client = Client::connect(postie.addr);
    client.read_reply();
    for line in [
        "EHLO client.example",
        "MAIL FROM:<wang@elsewhere.test>",
        "RCPT TO:<robert@example.test>",
        "RCPT TO:<team@example.test>",
        "RCPT TO:<*@example.test>",
        "QUIT",
    ] {
        client.cmd(line);
    }
    let mut pop = Pop3Client::connect_to(pop3.parse().unwrap());
    for line in ["USER robert@example.test", "PASS bob-secret", "QUIT"] {
        pop.cmd(line);
    }
    // The last line of the trace is POP3's goodbye.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !postie.log().contains("signing off") {
        assert!(Instant::now() < deadline, "no goodbye in the log");
        std::thread::sleep(Duration::from_millis(20));
    }
    let trace: String = postie
        .log()
        .lines()
        .filter_map(|line| {
            let (_peer, rest) = line.split_once(' ')?;
            ["C: ", "S: ", "D> ", "D< ", "D: "]
                .iter()
                .any(|p| rest.starts_with(p))
                .then(|| format!("{rest}\n"))
        })
        .collect();
    let expected_file = slapd::example("trace.txt");
    if std::env::var_os("POSTIE_BLESS").is_some() {
        std::fs::write(&expected_file, &trace).unwrap();
    }
    let expected = std::fs::read_to_string(&expected_file).unwrap_or_default();
    assert_eq!(
        trace, expected,
        "the book's transcript changed; see the comment above"
    );
}
