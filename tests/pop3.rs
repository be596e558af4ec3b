//! POP3 over TCP: mail received over SMTP is listed, read and deleted over POP3
//! (RFC 1939), against the same Maildir, with the rules of RFC 1939 §6 (only QUIT
//! removes anything), §8 (one session per maildrop) and §3 (byte-stuffing, CRLF).

mod common;
use common::*;

use std::path::PathBuf;
use std::time::Duration;

use postie::store::folder::delivery_order;

fn server() -> TestServer {
    TestServer::start_with(pop3_config)
}

/// A message as a client sends it over SMTP (CRLF, no final CRLF: `send_message` adds
/// the end of data).
const MESSAGE: &[u8] = b"Subject: Hello\r\n\r\nHi Alice, this is postie.";

/// The files in one of a mailbox's directories, in the order POP3 numbers them.
fn files(server: &TestServer, user: &str, sub: &str) -> Vec<PathBuf> {
    let dir = server.maildir().join("localhost").join(user).join(sub);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort_by_cached_key(|p| delivery_order(p));
    paths
}

fn deliver(server: &TestServer, to: &str, text: &[u8]) {
    let reply = send_message(server, "carol@example.org", &[to], text);
    assert!(reply.starts_with("250 "), "{reply}");
}

#[test]
fn pop3_is_off_unless_asked_for() {
    let server = TestServer::start();
    assert_eq!(server.pop3(), None);
}

#[test]
fn a_message_received_over_smtp_is_listed_read_and_deleted() {
    let server = server();
    deliver(&server, "alice@localhost", MESSAGE);
    let stored = server.messages("localhost", "alice").remove(0);

    let mut pop = Pop3Client::login(&server, "alice@localhost");
    assert_eq!(pop.cmd("STAT"), format!("+OK 1 {}", stored.len()));
    let (_, list) = pop.multi("LIST");
    assert_eq!(list, format!("1 {}\r\n.\r\n", stored.len()).into_bytes());
    let (_, uidl) = pop.multi("UIDL");
    let name = files(&server, "alice", "new")[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert_eq!(uidl, format!("1 {name}\r\n.\r\n").into_bytes());

    let (status, body) = pop.multi("RETR 1");
    assert_eq!(status, format!("+OK {} octets follow", stored.len()));
    assert_eq!(unstuff(&body), stored, "RETR sends the file as stored");
    assert!(strip_trace_headers(&unstuff(&body)).starts_with(MESSAGE));

    assert_eq!(pop.cmd("DELE 1"), "+OK Message 1 deleted");
    assert_eq!(pop.cmd("STAT"), "+OK 0 0");
    assert!(pop.cmd("QUIT").starts_with("+OK "));
    assert_eq!(pop.line(), None, "closed after QUIT");
    assert!(server.all_files().is_empty(), "{:?}", server.all_files());
}

#[test]
fn lines_starting_with_a_dot_round_trip_byte_for_byte() {
    let server = server();
    let text = b"Subject: dots\r\n\r\n.\r\n..\r\n.leading\r\n...three\r\n. \r\nend";
    // SMTP has its own dot-stuffing (RFC 5321 §4.5.2): the client adds a dot...
    let smtp = b"Subject: dots\r\n\r\n..\r\n...\r\n..leading\r\n....three\r\n.. \r\nend";
    deliver(&server, "alice@localhost", smtp);
    let stored = server.messages("localhost", "alice").remove(0);
    let mut pop = Pop3Client::login(&server, "alice@localhost");
    let (status, body) = pop.multi("RETR 1");
    assert!(
        body.windows(7).any(|w| w == b"\r\n..\r\n."),
        "the lone dot is stuffed on the wire"
    );
    // ...postie removes it, stores the text, and POP3 stuffs it again for the way out.
    let received = unstuff(&body);
    assert_eq!(received, stored);
    assert_eq!(
        strip_trace_headers(&received),
        [&text[..], b"\r\n"].concat()
    );
    // The octet count announced (and listed) is what the client holds.
    assert_eq!(status, format!("+OK {} octets follow", received.len()));
    assert_eq!(pop.cmd("LIST 1"), format!("+OK 1 {}", received.len()));
    pop.cmd("QUIT");
}

#[test]
fn a_maildir_file_with_bare_lf_goes_out_as_crlf() {
    let server = server();
    let new = server.maildir().join("localhost/alice/new");
    std::fs::create_dir_all(&new).unwrap();
    std::fs::write(new.join("1.M1P1Q1.other"), b"Subject: lf\n\n.dot\nlast").unwrap();
    let mut pop = Pop3Client::login(&server, "alice@localhost");
    let expected = b"Subject: lf\r\n\r\n.dot\r\nlast\r\n";
    assert_eq!(pop.cmd("STAT"), format!("+OK 1 {}", expected.len()));
    let (_, body) = pop.multi("RETR 1");
    assert_eq!(body, b"Subject: lf\r\n\r\n..dot\r\nlast\r\n.\r\n");
    assert_eq!(unstuff(&body), expected);
    pop.cmd("QUIT");
}

#[test]
fn a_disconnect_without_quit_deletes_nothing() {
    let server = server();
    deliver(&server, "alice@localhost", MESSAGE);
    deliver(&server, "alice@localhost", MESSAGE);
    let mut pop = Pop3Client::login(&server, "alice@localhost");
    assert_eq!(pop.cmd("DELE 1"), "+OK Message 1 deleted");
    assert_eq!(pop.cmd("DELE 2"), "+OK Message 2 deleted");
    pop.hang_up();
    // The next session (possible once the first has let go) sees both.
    let mut again = wait_for_login(&server, "alice@localhost");
    assert!(again.cmd("STAT").starts_with("+OK 2 "));
    again.cmd("QUIT");
    assert_eq!(server.messages("localhost", "alice").len(), 2);
}

/// Logs in, retrying while the maildrop is still held by a session that is ending.
fn wait_for_login(server: &TestServer, user: &str) -> Pop3Client {
    for _ in 0..250 {
        let mut pop = Pop3Client::connect(server);
        pop.cmd(&format!("USER {user}"));
        let reply = pop.cmd(&format!("PASS {POP3_PASSWORD}"));
        if reply.starts_with("+OK") {
            return pop;
        }
        assert!(reply.starts_with("-ERR [IN-USE]"), "{reply}");
        pop.cmd("QUIT");
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the maildrop stayed in use");
}

#[test]
fn rset_unmarks_and_quit_removes_only_what_is_still_marked() {
    let server = server();
    for _ in 0..3 {
        deliver(&server, "alice@localhost", MESSAGE);
    }
    let before = files(&server, "alice", "new");
    let mut pop = Pop3Client::login(&server, "alice@localhost");
    pop.cmd("DELE 1");
    assert!(pop.cmd("RSET").starts_with("+OK Mailbox has 3 message(s)"));
    pop.cmd("DELE 2");
    pop.cmd("QUIT");
    let after = files(&server, "alice", "new");
    assert_eq!(after, [before[0].clone(), before[2].clone()]);
}

#[test]
fn retr_moves_the_message_to_cur_as_seen_and_top_does_not() {
    let server = server();
    deliver(
        &server,
        "alice@localhost",
        b"Subject: a\r\n\r\nline 1\r\nline 2",
    );
    deliver(&server, "alice@localhost", MESSAGE);
    let names: Vec<String> = files(&server, "alice", "new")
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let mut pop = Pop3Client::login(&server, "alice@localhost");
    let (_, top) = pop.multi("TOP 1 1");
    let top = unstuff(&top);
    assert!(
        top.ends_with(b"Subject: a\r\n\r\nline 1\r\n"),
        "{}",
        top.escape_ascii()
    );
    pop.multi("RETR 2");
    // The unique-id does not change when the message moves.
    let (_, uidl) = pop.multi("UIDL");
    assert_eq!(
        uidl,
        format!("1 {}\r\n2 {}\r\n.\r\n", names[0], names[1]).into_bytes()
    );
    pop.cmd("QUIT");
    assert_eq!(files(&server, "alice", "new").len(), 1, "TOP leaves it new");
    let cur = files(&server, "alice", "cur");
    assert_eq!(cur.len(), 1);
    assert!(cur[0].ends_with(format!("{}:2,S", names[1])), "{cur:?}");
}

#[test]
fn the_snapshot_is_taken_at_pass() {
    let server = server();
    deliver(&server, "alice@localhost", MESSAGE);
    let mut pop = Pop3Client::login(&server, "alice@localhost");
    deliver(&server, "alice@localhost", MESSAGE);
    assert!(pop.cmd("STAT").starts_with("+OK 1 "));
    assert_eq!(pop.cmd("RETR 2"), "-ERR No message 2");
    pop.cmd("QUIT");
    let mut pop = Pop3Client::login(&server, "alice@localhost");
    assert!(pop.cmd("STAT").starts_with("+OK 2 "));
    pop.cmd("QUIT");
}

#[test]
fn a_second_session_on_one_maildrop_is_in_use() {
    let server = server();
    deliver(&server, "alice@localhost", MESSAGE);
    let mut first = Pop3Client::login(&server, "alice@localhost");
    let mut second = Pop3Client::connect(&server);
    second.cmd("USER alice@localhost");
    assert_eq!(
        second.cmd(&format!("PASS {POP3_PASSWORD}")),
        "-ERR [IN-USE] Mailbox in use by another session; try again later"
    );
    // Another user's maildrop is free.
    let mut bob = Pop3Client::login(&server, "bob@localhost");
    assert_eq!(bob.cmd("STAT"), "+OK 0 0");
    bob.cmd("QUIT");
    first.cmd("QUIT");
    // QUIT answered: the lock is gone.
    second.cmd("USER alice@localhost");
    assert!(second
        .cmd(&format!("PASS {POP3_PASSWORD}"))
        .starts_with("+OK"));
    second.cmd("QUIT");
}

#[test]
fn a_wrong_password_is_refused() {
    let server = server();
    let mut pop = Pop3Client::connect(&server);
    assert_eq!(pop.cmd("USER alice@localhost"), "+OK Send PASS");
    assert_eq!(
        pop.cmd("PASS guess"),
        "-ERR [AUTH] Wrong user name or password"
    );
    assert_eq!(pop.cmd("STAT"), "-ERR Log in first (USER and PASS)");
    pop.cmd("QUIT");
}

#[test]
fn without_allow_plaintext_auth_no_password_is_taken() {
    let server = TestServer::start_with(|config| {
        pop3_config(config);
        config.allow_plaintext_auth = false;
    });
    let mut pop = Pop3Client::connect(&server);
    assert!(pop
        .cmd("USER alice@localhost")
        .starts_with("-ERR [AUTH] Plaintext passwords need TLS"));
    let (_, capa) = pop.multi("CAPA");
    assert!(!String::from_utf8_lossy(&capa).contains("USER"));
    pop.cmd("QUIT");
}

#[test]
fn command_lines_of_255_octets_pass_256_do_not() {
    let server = server();
    let mut pop = Pop3Client::connect(&server);
    // "USER " + name + CRLF = 255 octets.
    let name = format!("{}@localhost", "a".repeat(255 - 2 - 5 - 10));
    assert_eq!(pop.cmd(&format!("USER {name}")), "+OK Send PASS");
    assert_eq!(
        pop.cmd(&format!("USER {name}a")),
        "-ERR Line too long (the limit is 255 octets)"
    );
    assert_eq!(pop.cmd("NOOP"), "-ERR Log in first (USER and PASS)");
    pop.cmd("QUIT");
}

#[test]
fn pipelined_commands_get_their_responses_in_order() {
    let server = server();
    deliver(&server, "alice@localhost", MESSAGE);
    let mut pop = Pop3Client::connect(&server);
    pop.send(
        format!(
            "USER alice@localhost\r\nPASS {POP3_PASSWORD}\r\nSTAT\r\nDELE 1\r\nSTAT\r\nQUIT\r\n"
        )
        .as_bytes(),
    );
    assert_eq!(pop.line().unwrap(), "+OK Send PASS");
    assert!(pop
        .line()
        .unwrap()
        .starts_with("+OK Mailbox open, 1 message(s)"));
    assert!(pop.line().unwrap().starts_with("+OK 1 "));
    assert_eq!(pop.line().unwrap(), "+OK Message 1 deleted");
    assert_eq!(pop.line().unwrap(), "+OK 0 0");
    assert!(pop.line().unwrap().starts_with("+OK "));
    assert_eq!(pop.line(), None);
    assert!(server.messages("localhost", "alice").is_empty());
}

#[test]
fn an_idle_pop3_client_is_logged_out_and_nothing_is_deleted() {
    let server = TestServer::start_with(|config| {
        pop3_config(config);
        config.limits.pop3_timeout = Duration::from_secs(1);
    });
    deliver(&server, "alice@localhost", MESSAGE);
    let mut pop = Pop3Client::login(&server, "alice@localhost");
    // On a busy machine the timer may already have run out before DELE arrives.
    let mut last = pop.cmd("DELE 1");
    if last.starts_with("+OK") {
        last = pop.line().expect("a last word");
    }
    assert!(last.starts_with("-ERR [SYS/TEMP]"), "{last}");
    assert_eq!(pop.line(), None);
    assert_eq!(server.messages("localhost", "alice").len(), 1);
}

#[test]
fn shutdown_closes_pop3_clients_without_deleting() {
    let server = server();
    deliver(&server, "alice@localhost", MESSAGE);
    let mut pop = Pop3Client::login(&server, "alice@localhost");
    pop.cmd("DELE 1");
    server.shutdown_handle().shutdown();
    let last = pop.line().expect("a last word");
    assert!(last.starts_with("-ERR [SYS/TEMP]"), "{last}");
    assert_eq!(pop.line(), None);
    assert_eq!(server.messages("localhost", "alice").len(), 1);
    server.stop();
}

#[test]
fn the_connection_cap_counts_pop3_clients_too() {
    let server = TestServer::start_with(|config| {
        pop3_config(config);
        config.max_connections = 1;
    });
    let mut first = Pop3Client::connect(&server);
    let text = words_before_close(server.pop3().unwrap());
    assert!(text.starts_with("-ERR [SYS/TEMP] "), "{text}");
    first.cmd("QUIT");
}

#[test]
fn trace_shows_the_pop3_dialogue_but_never_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    std::fs::write(
        path("users"),
        users_file_with_passwords(&["alice@localhost"]),
    )
    .unwrap();
    let log = std::fs::File::create(path("log")).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_postie"))
        .args(["--listen", "127.0.0.1:0", "--pop3-listen", "127.0.0.1:0"])
        .args(["--http-listen", "none"])
        .args(["--maildir", &path("mail"), "--spool", &path("spool")])
        .args([
            "--users",
            &path("users"),
            "--allow-plaintext-auth",
            "--trace",
        ])
        .args(["--dns-server", "127.0.0.1:9", "--hostname", HOSTNAME])
        .stderr(log)
        .spawn()
        .expect("start postie");
    let mut addr = None;
    for _ in 0..500 {
        let text = std::fs::read_to_string(path("log")).unwrap_or_default();
        if let Some(rest) = text.split("POP3 listening on ").nth(1) {
            addr = rest.split(';').next().and_then(|a| a.parse().ok());
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let Some(addr) = addr else {
        let _ = child.kill();
        panic!("postie did not start");
    };
    let mut pop = Pop3Client::connect_to(addr);
    assert!(pop.try_login("alice@localhost").starts_with("+OK"));
    pop.cmd("QUIT");
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(path("log")).unwrap();
    assert!(text.contains(" C: USER alice@localhost"), "{text}");
    assert!(text.contains(" C: PASS ****"), "{text}");
    assert!(
        text.contains("POP3 maildrop locked (RFC 1939 §4): Authorization -> Transaction"),
        "{text}"
    );
    assert!(
        !text.contains(POP3_PASSWORD),
        "the password is in the log:\n{text}"
    );
}

#[test]
fn a_message_removed_by_someone_else_gets_sys_temp_and_quit_still_works() {
    let server = server();
    deliver(&server, "alice@localhost", MESSAGE);
    deliver(&server, "alice@localhost", MESSAGE);
    let mut pop = Pop3Client::login(&server, "alice@localhost");
    // Another program (a local mail reader) takes message 1 from under us.
    std::fs::remove_file(&files(&server, "alice", "new")[0]).unwrap();
    assert_eq!(
        pop.cmd("RETR 1"),
        "-ERR [SYS/TEMP] Cannot read message 1 now"
    );
    assert_eq!(pop.cmd("DELE 1"), "+OK Message 1 deleted");
    // Already gone counts as removed: UPDATE succeeds.
    assert!(pop.cmd("QUIT").ends_with("signing off"));
    assert_eq!(server.messages("localhost", "alice").len(), 1);
}

#[test]
fn the_eleventh_mistake_closes_the_connection() {
    let server = server();
    let mut pop = Pop3Client::connect(&server);
    for _ in 0..10 {
        assert_eq!(pop.cmd("EHLO client.example"), "-ERR Unknown command");
    }
    assert!(pop
        .cmd("EHLO client.example")
        .starts_with("-ERR [SYS/PERM] mx.example.test Too many errors"));
    assert_eq!(pop.line(), None);
}
