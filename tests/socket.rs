//! Socket-level and adversarial tests: a real postie on 127.0.0.1, a raw client that
//! sends exactly the bytes a hostile or broken peer would.
//!
//! Each test is bounded: the server's timeout is short where the test waits for it, the
//! harness client gives up reading after 15 s, and every polling loop has a deadline.

mod common;
use common::*;

use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------
// Helpers

/// Polls `check` every 20 ms until it is true or `limit` has passed; returns the last result.
fn wait_until(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The path of `file` relative to the Maildir root, as components.
fn components(server: &TestServer, file: &Path) -> Vec<String> {
    file.strip_prefix(server.maildir())
        .unwrap_or(file)
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect()
}

/// Files under any `<domain>/<mailbox>/<sub>/`.
fn files_in(server: &TestServer, sub: &str) -> Vec<PathBuf> {
    server
        .all_files()
        .into_iter()
        .filter(|f| {
            let parts = components(server, f);
            parts.len() == 4 && parts[2] == sub
        })
        .collect()
}

/// Every directory under the Maildir root, relative to it (`localhost/bob/new`...).
fn all_dirs(server: &TestServer) -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    let rel = path.strip_prefix(root).unwrap();
                    out.push(rel.to_string_lossy().into_owned());
                    walk(&path, root, out);
                }
            }
        }
    }
    let mut out = vec![];
    walk(&server.maildir(), &server.maildir(), &mut out);
    out.sort();
    out
}

/// Asserts that the server sends nothing for `wait` (no reply, no close).
fn expect_silence(client: &mut Client, wait: Duration) {
    client.stream.set_read_timeout(Some(wait)).unwrap();
    let mut byte = [0u8; 1];
    match client.stream.peek(&mut byte) {
        Ok(0) => panic!("the server closed the connection early"),
        Ok(_) => {
            client
                .stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let early = client.try_read_reply();
            panic!("the server replied early: {early:?}")
        }
        Err(e) => assert!(
            matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
            "{e}"
        ),
    }
    client
        .stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
}

/// Asserts that the reply starts with `prefix` (code and enhanced code, say "250 2.0.0").
#[track_caller]
fn assert_reply(reply: &str, prefix: &str) {
    assert!(
        reply.starts_with(prefix),
        "expected {prefix:?}..., got {reply:?}"
    );
}

/// A client past EHLO (so replies carry enhanced status codes).
fn greeted(server: &TestServer) -> Client {
    let mut client = server.connect();
    assert_reply(&client.cmd("EHLO client.example"), "250");
    client
}

// ---------------------------------------------------------------------------------------
// 1. SMTP smuggling (NOTES.md "SMTP smuggling test vectors")

/// What postie must do with the end-of-data look-alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A bare CR or LF: `521 5.5.2`, close, nothing delivered.
    Refused,
    /// NUL is ordinary content: the whole stream is ONE message ending at the real dot.
    OneMessage,
}

const SMUGGLING: &[(&[u8], Expect)] = &[
    (b"\n.\n", Expect::Refused),
    (b"\n.\r\n", Expect::Refused),
    (b"\r.\r", Expect::Refused),
    (b"\r.\n", Expect::Refused),
    (b"\n.\r", Expect::Refused),
    (b"\r.\r\n", Expect::Refused),
    (b"\r\n.\n", Expect::Refused),
    (b"\r\n.\r", Expect::Refused),
    (b"\r\n\x00.\r\n", Expect::OneMessage),
    (b"\r\n.\x00\r\n", Expect::OneMessage),
    (b"\r\n.\r\r\n", Expect::Refused),
    (b"\r\r\n.\r\r\n", Expect::Refused),
];

#[test]
fn smuggling_vectors_never_start_a_second_message() {
    let smuggled: &[u8] =
        b"MAIL FROM:<evil@x.example>\r\nRCPT TO:<eve@localhost>\r\nDATA\r\nsmuggled\r\n.\r\n";
    for &(vector, expect) in SMUGGLING {
        let name = vector.escape_ascii().to_string();
        let server = TestServer::start();
        let mut client = server.connect();
        client.begin_message("alice@example.org", &["bob@localhost"]);
        // One write: the first message, the look-alike end, the smuggled transaction.
        client.send(&[&b"Subject: one\r\n\r\nfirst"[..], vector, smuggled].concat());

        // Read until the connection closes or a final reply arrives.
        let mut replies = vec![];
        while let Some(reply) = client.try_read_reply() {
            let done = !reply.starts_with('3');
            replies.push(reply);
            if done {
                break;
            }
        }
        match expect {
            Expect::Refused => {
                assert_eq!(replies.len(), 1, "{name}: {replies:?}");
                assert_reply(&replies[0], "521 5.5.2");
                assert!(client.is_closed(), "{name}: still open after 521");
                assert!(files_in(&server, "new").is_empty(), "{name}: delivered");
            }
            Expect::OneMessage => {
                assert_eq!(replies.len(), 1, "{name}: {replies:?}");
                assert_reply(&replies[0], "250 2.0.0");
                // Exactly one reply for the whole stream: the next one answers QUIT.
                assert_reply(&client.cmd("QUIT"), "221 2.0.0");
                let delivered = files_in(&server, "new");
                assert_eq!(delivered.len(), 1, "{name}: {delivered:?}");
                let bob = server.messages("localhost", "bob");
                assert_eq!(bob.len(), 1, "{name}");
                let text = strip_trace_headers(&bob[0]).escape_ascii().to_string();
                assert!(
                    text.contains("MAIL FROM:<evil@x.example>") && text.contains("smuggled"),
                    "{name}: the smuggled commands must be body text: {text}"
                );
            }
        }
        assert!(
            server.messages("localhost", "eve").is_empty(),
            "{name}: eve got mail"
        );
        assert!(
            !server.maildir().join("localhost/eve").exists(),
            "{name}: a mailbox for eve was created"
        );
        assert!(server.spool_files().is_empty(), "{name}: queued something");
        assert!(
            wait_until(Duration::from_secs(2), || files_in(&server, "tmp")
                .is_empty()),
            "{name}: left in tmp/: {:?}",
            files_in(&server, "tmp")
        );
    }
}

// ---------------------------------------------------------------------------------------
// 2. Long lines (RFC 5321 §4.5.3.1.4, §4.5.3.1.6)

#[test]
fn a_megabyte_command_line_is_skipped_to_its_lf() {
    let server = TestServer::start();
    let mut client = greeted(&server);
    let mut flood = vec![b'x'; 1 << 20];
    flood.extend_from_slice(b"\r\nNOOP\r\n");
    client.send(&flood);
    assert_reply(&client.read_reply(), "500 5.5.2");
    assert_reply(&client.read_reply(), "250 2.0.0");
    assert_reply(&client.cmd("QUIT"), "221");
}

#[test]
fn command_lines_of_512_octets_pass_513_do_not() {
    let server = TestServer::start();
    let mut client = greeted(&server);
    // "NOOP " + padding + CRLF: 5 + 505 + 2 = 512 octets.
    let fits = format!("NOOP {}", "a".repeat(505));
    assert_eq!(fits.len() + 2, 512);
    let over = format!("NOOP {}", "a".repeat(506));
    assert_reply(&client.cmd(&over), "500 5.5.2");
    assert_reply(&client.cmd(&fits), "250 2.0.0");
    assert_reply(&client.cmd("NOOP"), "250 2.0.0");
}

#[test]
fn a_text_line_over_1000_octets_refuses_the_message_after_the_dot() {
    let server = TestServer::start();
    let mut client = server.connect();
    client.begin_message("alice@example.org", &["bob@localhost"]);
    let long = "y".repeat(999); // + CRLF = 1001 octets
    client.send(format!("Subject: long\r\n\r\n{long}\r\nafter\r\n").as_bytes());
    expect_silence(&mut client, Duration::from_millis(200));
    client.send(b".\r\n");
    assert_reply(&client.read_reply(), "500 5.5.2");
    // Exactly one reply: the next one is NOOP's.
    assert_reply(&client.cmd("NOOP"), "250 2.0.0");
    assert!(server.all_files().is_empty(), "{:?}", server.all_files());
    // And the session goes on: a normal message still works.
    assert_reply(&client.cmd("MAIL FROM:<alice@example.org>"), "250");
    assert_reply(&client.cmd("RCPT TO:<bob@localhost>"), "250");
    assert_reply(&client.cmd("DATA"), "354");
    assert_reply(&client.cmd("short\r\n."), "250 2.0.0");
    assert_eq!(server.messages("localhost", "bob").len(), 1);
}

#[test]
fn a_text_line_of_exactly_1000_octets_is_accepted() {
    let server = TestServer::start();
    let line = "z".repeat(998); // + CRLF = 1000 octets
    let reply = send_message(
        &server,
        "alice@example.org",
        &["bob@localhost"],
        format!("Subject: edge\r\n\r\n{line}").as_bytes(),
    );
    assert_reply(&reply, "250 2.0.0");
}

/// RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets with its CRLF, "not
/// counting the leading dot duplicated for transparency". A line of the message that
/// begins with "." travels with a second dot (§4.5.2), so 1000 legal octets arrive as
/// 1001: accepted, and stored as written. 1001 real octets are refused, with the dot
/// or without it.
#[test]
fn the_1000_octet_limit_does_not_count_the_stuffed_dot() {
    // (the line as the client's user wrote it, accepted?)
    let cases = [
        (format!(".{}", "d".repeat(997)), true), // 1000 octets; 1001 on the wire
        ("e".repeat(998), true),                 // 1000 octets
        (format!(".{}", "f".repeat(998)), false), // 1001 octets; 1002 on the wire
        ("g".repeat(999), false),                // 1001 octets
    ];
    for (line, accepted) in cases {
        let server = TestServer::start();
        let mut client = server.connect();
        client.begin_message("alice@example.org", &["bob@localhost"]);
        // Transparency (§4.5.2): the client doubles a leading dot.
        let on_the_wire = match line.strip_prefix('.') {
            Some(_) => format!(".{line}"),
            None => line.clone(),
        };
        client.send(format!("Subject: edge\r\n\r\n{on_the_wire}\r\n.\r\n").as_bytes());
        let reply = client.read_reply();
        let octets = line.len() + 2;
        if accepted {
            assert_reply(&reply, "250 2.0.0");
            let stored = server.messages("localhost", "bob");
            let text = String::from_utf8_lossy(&stored[0]).into_owned();
            assert!(
                text.contains(&format!("\r\n{line}\r\n")),
                "{octets} octets: the line is stored as written, one dot"
            );
        } else {
            assert_reply(&reply, "500 5.5.2");
            assert!(server.all_files().is_empty(), "{octets} octets");
        }
    }
}

// ---------------------------------------------------------------------------------------
// 3. Size (RFC 1870; NOTES.md: read to the real end before replying 552)

#[test]
fn too_big_is_refused_after_the_dot_and_its_text_is_never_read_as_commands() {
    let server = TestServer::start_with(|c| c.limits.max_message_size = 1000);
    let mut client = server.connect();
    client.begin_message("alice@example.org", &["bob@localhost"]);
    let mut body = b"Subject: big\r\n\r\n".to_vec();
    for i in 0..40 {
        body.extend_from_slice(format!("line {i:02} {}\r\n", "x".repeat(40)).as_bytes());
        if i == 30 {
            // Past the limit: were these read as commands, they would get replies.
            body.extend_from_slice(b"RSET\r\nQUIT\r\n");
        }
    }
    assert!(body.len() > 2000, "{}", body.len());
    client.send(&body);
    expect_silence(&mut client, Duration::from_millis(300));
    client.send(b".\r\n");
    assert_reply(&client.read_reply(), "552 5.3.4");
    // The next reply answers our next command: RSET and QUIT were body text.
    assert_reply(&client.cmd("MAIL FROM:<alice@example.org>"), "250 2.1.0");
    assert_reply(&client.cmd("RCPT TO:<bob@localhost>"), "250 2.1.5");
    assert_reply(&client.cmd("QUIT"), "221");
    assert!(server.all_files().is_empty(), "{:?}", server.all_files());
}

// ---------------------------------------------------------------------------------------
// 4. Loops (RFC 5321 §6.3)

fn with_received_headers(server: &TestServer, count: usize) -> String {
    let mut text = String::new();
    for hop in 0..count {
        text.push_str(&format!(
            "Received: from hop{hop}.example by hop{}.example; hop {hop}\r\n",
            hop + 1
        ));
    }
    text.push_str("Subject: round and round\r\n\r\nbody");
    send_message(
        server,
        "alice@example.org",
        &["bob@localhost"],
        text.as_bytes(),
    )
}

#[test]
fn more_than_100_received_headers_is_a_loop() {
    let server = TestServer::start();
    assert_reply(&with_received_headers(&server, 101), "554 5.4.6");
    assert!(server.all_files().is_empty(), "{:?}", server.all_files());
    assert_reply(&with_received_headers(&server, 100), "250 2.0.0");
    assert_eq!(server.messages("localhost", "bob").len(), 1);
}

// ---------------------------------------------------------------------------------------
// 5. Recipients (RFC 5321 §4.5.3.1.8, §4.5.3.1.10)

#[test]
fn the_101st_recipient_gets_452_and_the_first_100_get_the_message() {
    let server = TestServer::start();
    let mut client = greeted(&server);
    assert_reply(&client.cmd("MAIL FROM:<alice@example.org>"), "250");
    let batch: String = (0..101)
        .map(|i| format!("RCPT TO:<u{i}@localhost>\r\n"))
        .collect();
    client.send(batch.as_bytes());
    for i in 0..100 {
        let reply = client.read_reply();
        assert!(reply.starts_with("250 2.1.5"), "u{i}: {reply}");
    }
    assert_reply(&client.read_reply(), "452 4.5.3");
    assert_reply(&client.cmd("DATA"), "354");
    assert_reply(
        &client.cmd("Subject: many\r\n\r\nhello all\r\n."),
        "250 2.0.0",
    );
    for i in 0..100 {
        let got = server.messages("localhost", &format!("u{i}"));
        assert_eq!(got.len(), 1, "u{i}");
    }
    assert!(server.messages("localhost", "u100").is_empty());
    assert!(!server.maildir().join("localhost/u100").exists());
}

// ---------------------------------------------------------------------------------------
// 6. PIPELINING (RFC 2920)

#[test]
fn a_pipelined_transaction_gets_its_replies_in_order() {
    // No relay networks: 127.0.0.1 may not relay, so x@other.test gets 550.
    let server = TestServer::start_with(|c| c.policy.relay_networks = vec![]);
    let mut client = greeted(&server);
    client.send(
        b"MAIL FROM:<alice@example.org>\r\n\
          RCPT TO:<bob@localhost>\r\n\
          RCPT TO:<x@other.test>\r\n\
          DATA\r\n",
    );
    assert_reply(&client.read_reply(), "250 2.1.0");
    assert_reply(&client.read_reply(), "250 2.1.5");
    assert_reply(&client.read_reply(), "550 5.7.1");
    assert_reply(&client.read_reply(), "354");
    client.send(b"Subject: piped\r\n\r\nin one go\r\n.\r\n");
    assert_reply(&client.read_reply(), "250 2.0.0");
    assert_reply(&client.cmd("QUIT"), "221");
    assert_eq!(server.messages("localhost", "bob").len(), 1);
    assert!(!server.maildir().join("other.test").exists());
    assert!(
        server.spool_files().is_empty(),
        "{:?}",
        server.spool_files()
    );
}

#[test]
fn a_thousand_pipelined_noops_get_a_thousand_replies() {
    let server = TestServer::start();
    let mut client = greeted(&server);
    client.send("NOOP\r\n".repeat(1000).as_bytes());
    for i in 0..1000 {
        let reply = client.read_reply();
        assert_eq!(reply, "250 2.0.0 OK\r\n", "reply {i}");
    }
    // Not one more: the next reply answers QUIT.
    assert_reply(&client.cmd("QUIT"), "221");
    assert!(client.is_closed());
}

// ---------------------------------------------------------------------------------------
// 7. Timeouts (RFC 5321 §4.5.3.2)

#[test]
fn an_idle_client_is_timed_out() {
    let server = TestServer::start_with(|c| c.limits.timeout = Duration::from_millis(300));
    let mut client = greeted(&server);
    let start = Instant::now();
    let reply = client.try_read_reply();
    let waited = start.elapsed();
    assert_reply(reply.as_deref().unwrap_or("(closed)"), "421 4.4.2");
    assert!(client.is_closed());
    assert!(
        // 300 ms configured; the upper bound leaves room for a loaded test machine.
        waited >= Duration::from_millis(200) && waited < Duration::from_millis(1500),
        "{waited:?}"
    );
}

#[test]
fn a_client_stalling_in_data_is_timed_out_and_nothing_is_kept() {
    let server = TestServer::start_with(|c| c.limits.timeout = Duration::from_millis(300));
    let mut client = server.connect();
    client.begin_message("alice@example.org", &["bob@localhost"]);
    client.send(b"Subject: slow\r\n\r\nhalf a li");
    let start = Instant::now();
    let reply = client.try_read_reply();
    assert_reply(reply.as_deref().unwrap_or("(closed)"), "421 4.4.2");
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    assert!(client.is_closed());
    assert!(server.messages("localhost", "bob").is_empty());
    assert!(
        wait_until(Duration::from_secs(1), || files_in(&server, "tmp")
            .is_empty()),
        "{:?}",
        files_in(&server, "tmp")
    );
}

// ---------------------------------------------------------------------------------------
// 8. The connection cap

/// Connects and returns the first reply, or "(closed)".
fn first_reply(server: &TestServer) -> (Client, String) {
    let mut client = Client::connect(server.addr);
    let reply = client.try_read_reply().unwrap_or_else(|| "(closed)".into());
    (client, reply)
}

#[test]
fn over_the_connection_cap_a_client_gets_421_and_the_slot_frees_on_quit() {
    let server = TestServer::start_with(|c| c.max_connections = 2);
    let mut one = server.connect();
    let mut two = server.connect();

    let start = Instant::now();
    let (mut third, reply) = first_reply(&server);
    // It replaces the greeting, so no enhanced status code (RFC 2034 §3).
    assert_eq!(
        reply,
        "421 mx.example.test too many connections, try again later\r\n"
    );
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    assert!(third.is_closed());

    // The first two are still served.
    assert_reply(&two.cmd("NOOP"), "250");
    assert_reply(&one.cmd("QUIT"), "221");
    // The slot frees when the client's thread ends: retry for up to 2 s.
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut fourth = loop {
        let (client, reply) = first_reply(&server);
        if reply.starts_with("220 ") {
            break client;
        }
        assert_reply(&reply, "421 mx.example.test too many");
        assert!(Instant::now() < deadline, "no slot after 2 s");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_reply(&fourth.cmd("EHLO client.example"), "250");
    assert_reply(&two.cmd("QUIT"), "221");
    assert_reply(&fourth.cmd("QUIT"), "221");
}

/// RFC 5321 §3.1: a client waits for the 220 before it speaks. With a greeting pause
/// (`--greeting-delay`), one that talks first gets 554 and the door, without an
/// enhanced code (no EHLO yet, RFC 2034 §3); one that waits is greeted and served.
/// (`tests/flood.rs` does the same through the real binary's flag.)
#[test]
fn with_a_greeting_pause_early_talkers_get_554_and_patient_clients_220() {
    let server = TestServer::start_with(|c| c.limits.greeting_delay = Duration::from_millis(300));
    let mut early = Client::connect(server.addr);
    early.send(b"EHLO early.example\r\n");
    assert_eq!(
        early.read_reply(),
        "554 mx.example.test protocol error: you talked before the greeting, goodbye\r\n"
    );
    assert!(early.is_closed(), "554, then closed");

    let mut patient = server.connect();
    assert_reply(&patient.cmd("EHLO patient.example"), "250");
    assert_reply(&patient.cmd("QUIT"), "221");
}

// ---------------------------------------------------------------------------------------
// 9. A client that hangs up in the middle of DATA

#[test]
fn hanging_up_mid_data_leaves_no_file() {
    let server = TestServer::start();
    let mut client = server.connect();
    client.begin_message("alice@example.org", &["bob@localhost"]);
    client.send(b"Subject: cut\r\n\r\nthe first half\r\n");
    // Wait until the delivery has really started (its file is in tmp/) ...
    assert!(
        wait_until(Duration::from_secs(2), || server
            .files("localhost", "bob", "tmp")
            .len()
            == 1),
        "no file in tmp/ while receiving"
    );
    client.hang_up();
    // ... then it must go away, and nothing may appear in new/.
    assert!(
        wait_until(Duration::from_secs(2), || server
            .files("localhost", "bob", "tmp")
            .is_empty()),
        "the partial message stayed in tmp/"
    );
    assert!(server.messages("localhost", "bob").is_empty());
    assert!(server.all_files().is_empty(), "{:?}", server.all_files());

    let reply = send_message(&server, "alice@example.org", &["bob@localhost"], b"again");
    assert_reply(&reply, "250 2.0.0");
    assert_eq!(server.messages("localhost", "bob").len(), 1);
}

// ---------------------------------------------------------------------------------------
// 10. The error budget

#[test]
fn the_eleventh_bad_command_closes_the_connection() {
    let server = TestServer::start();
    let mut client = greeted(&server);
    for i in 1..=10 {
        let reply = client.cmd(&format!("GARBAGE {i}"));
        assert!(reply.starts_with("500 5.5.1"), "bad command {i}: {reply}");
    }
    let last = try_cmd(&mut client, "GARBAGE 11");
    assert_reply(&last, "421 4.7.0");
    assert!(client.is_closed());
}

/// Sends a command and returns its reply, or "(closed)" if the connection closed first.
fn try_cmd(client: &mut Client, line: &str) -> String {
    client.send(format!("{line}\r\n").as_bytes());
    client.try_read_reply().unwrap_or_else(|| "(closed)".into())
}

// ---------------------------------------------------------------------------------------
// 11. Graceful shutdown (RFC 5321 §3.8)

#[test]
fn shutdown_closes_idle_clients_and_lets_data_finish() {
    let server = TestServer::start();
    let mut idle = greeted(&server);
    let mut busy = server.connect();
    busy.begin_message("alice@example.org", &["bob@localhost"]);
    busy.send(b"Subject: finishing\r\n\r\nfirst part\r\n");
    // The delivery has started (so the server knows this client is in DATA).
    assert!(wait_until(Duration::from_secs(2), || {
        server.files("localhost", "bob", "tmp").len() == 1
    }));

    let handle = server.shutdown_handle();
    let stopper = std::thread::spawn(move || handle.shutdown());

    let start = Instant::now();
    let reply = idle.try_read_reply().unwrap_or_else(|| "(closed)".into());
    assert_reply(&reply, "421 4.3.0");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert!(idle.is_closed());
    stopper.join().unwrap();

    busy.send(b"second part\r\n.\r\n");
    assert_reply(&busy.read_reply(), "250 2.0.0");
    let last = busy.try_read_reply().unwrap_or_else(|| "(closed)".into());
    assert_reply(&last, "421 4.3.0");
    assert!(busy.is_closed());

    let bob = server.messages("localhost", "bob");
    assert_eq!(bob.len(), 1);
    assert_eq!(
        strip_trace_headers(&bob[0]),
        b"Subject: finishing\r\n\r\nfirst part\r\nsecond part\r\n"
    );

    // stop() joins the server; bound it.
    let (done, stopped) = mpsc::channel();
    std::thread::spawn(move || {
        server.stop();
        let _ = done.send(());
    });
    assert!(
        stopped.recv_timeout(Duration::from_secs(5)).is_ok(),
        "server.stop() did not return"
    );
}

// ---------------------------------------------------------------------------------------
// 12. Order of commands (RFC 5321 §4.1.4)

#[test]
fn out_of_order_commands_get_503_then_a_transaction_works() {
    let server = TestServer::start();
    let mut client = greeted(&server);
    assert_reply(&client.cmd("RCPT TO:<bob@localhost>"), "503 5.5.1");
    assert_reply(&client.cmd("DATA"), "503 5.5.1");
    assert_reply(&client.cmd("MAIL FROM:<alice@example.org>"), "250 2.1.0");
    // MAIL but no RCPT: postie answers 554 (RFC 5321 §3.3 allows 503 or 554).
    assert_reply(&client.cmd("DATA"), "554 5.5.1");
    assert_reply(&client.cmd("MAIL FROM:<alice@example.org>"), "503 5.5.1");
    assert_reply(&client.cmd("RCPT TO:<bob@localhost>"), "250 2.1.5");
    assert_reply(&client.cmd("DATA"), "354");
    assert_reply(
        &client.cmd("Subject: in order\r\n\r\nfinally\r\n."),
        "250 2.0.0",
    );
    assert_reply(&client.cmd("QUIT"), "221");
    assert_eq!(server.messages("localhost", "bob").len(), 1);
}

// ---------------------------------------------------------------------------------------
// 13. Path tricks and open-relay tricks (ARCHITECTURE.md: *Mailbox names are never raw
// input*, *No open relay*)

#[test]
fn recipient_names_cannot_escape_the_maildir() {
    let server = TestServer::start();
    let mut client = greeted(&server);
    assert_reply(&client.cmd("MAIL FROM:<alice@example.org>"), "250");
    let long = "a".repeat(65);
    let tricks = [
        "\"../../x\"@localhost".to_string(),
        "\"a/b\"@localhost".to_string(),
        ".hidden@localhost".to_string(),
        "\"..\"@localhost".to_string(),
        format!("{long}@localhost"),
    ];
    for trick in &tricks {
        let reply = client.cmd(&format!("RCPT TO:<{trick}>"));
        assert!(
            reply.starts_with("553 ") || reply.starts_with("501 "),
            "{trick}: {reply}"
        );
    }
    assert!(server.all_files().is_empty(), "{:?}", server.all_files());
    assert_eq!(all_dirs(&server), Vec::<String>::new());

    // Deliver one real message on the same connection: only bob's mailbox appears.
    assert_reply(&client.cmd("RCPT TO:<bob@localhost>"), "250");
    assert_reply(&client.cmd("DATA"), "354");
    assert_reply(&client.cmd("hello\r\n."), "250 2.0.0");
    assert_eq!(
        all_dirs(&server),
        [
            "localhost",
            "localhost/bob",
            "localhost/bob/cur",
            "localhost/bob/new",
            "localhost/bob/tmp"
        ]
    );
    for file in server.all_files() {
        assert!(
            file.starts_with(server.maildir().join("localhost/bob/new")),
            "{}",
            file.display()
        );
        assert!(
            !file.components().any(|c| c == Component::ParentDir),
            "{}",
            file.display()
        );
    }
}

#[test]
fn an_untrusted_client_cannot_relay_by_address_tricks() {
    let server = TestServer::start_with(|c| c.policy.relay_networks = vec![]);
    let mut client = greeted(&server);
    assert_reply(&client.cmd("MAIL FROM:<alice@example.org>"), "250");

    // %-hack and bang path: a local mailbox of that literal name, or refused.
    let mut accepted = vec![];
    for (trick, mailbox) in [
        ("b%other.test@localhost", "b%other.test"),
        ("other.test!b@localhost", "other.test!b"),
    ] {
        let reply = client.cmd(&format!("RCPT TO:<{trick}>"));
        if reply.starts_with("250 ") {
            accepted.push(mailbox);
        } else {
            assert!(
                reply.starts_with("550 5.1") || reply.starts_with("553 "),
                "{trick}: {reply}"
            );
        }
    }
    // A quoted '@' is refused as a mailbox name.
    assert_reply(&client.cmd("RCPT TO:<\"b@other.test\"@localhost>"), "553");
    // A source route is ignored: the mailbox is b@other.test, not ours.
    assert_reply(
        &client.cmd("RCPT TO:<@localhost:b@other.test>"),
        "550 5.7.1",
    );
    assert_reply(&client.cmd("RCPT TO:<b@other.test>"), "550 5.7.1");

    if accepted.is_empty() {
        assert_reply(&client.cmd("DATA"), "554");
    } else {
        assert_reply(&client.cmd("DATA"), "354");
        assert_reply(&client.cmd("Subject: tricks\r\n\r\nhi\r\n."), "250 2.0.0");
    }
    assert_reply(&client.cmd("QUIT"), "221");

    for mailbox in &accepted {
        assert_eq!(server.messages("localhost", mailbox).len(), 1, "{mailbox}");
    }
    let files = server.all_files();
    assert_eq!(files.len(), accepted.len(), "{files:?}");
    for file in &files {
        let parts = components(&server, file);
        assert_eq!(parts[0], "localhost", "{}", file.display());
        assert!(accepted.contains(&parts[1].as_str()), "{}", file.display());
        assert_eq!(parts[2], "new", "{}", file.display());
    }
    assert!(
        all_dirs(&server)
            .iter()
            .all(|d| d.starts_with("localhost") && !d.split('/').any(|c| c == "other.test")),
        "{:?}",
        all_dirs(&server)
    );
    // Nothing was queued for relaying either.
    assert!(
        server.spool_files().is_empty(),
        "{:?}",
        server.spool_files()
    );
}
