//! POP3 session tests: literal lines in, responses and states out. No sockets; the
//! maildrop's answers are given by hand, as the connection would report them.

use super::*;
use crate::accounts::Users;
use crate::config::Config;
use crate::pop3::maildrop::Entry;
use crate::tls::testing::{certificate, tls_info};
use crate::wire::line::Line;

const PASSWORD: &str = "correct horse";

fn config(allow_plaintext: bool) -> Config {
    let mut config = Config::new("mx.example.test");
    config.allow_plaintext_auth = allow_plaintext;
    config.policy.users = Some(users());
    config.limits.max_errors = 3;
    config
}

fn users() -> Users {
    Users::parse(&users_file()).unwrap()
}

/// alice@localhost has a password; bob@localhost has none.
fn users_file() -> String {
    format!(
        "alice@localhost {}\nbob@localhost\n",
        crate::accounts::hash_password(PASSWORD).unwrap()
    )
}

fn connected_from(config: Config, client: &str) -> Session {
    let settings = Settings::new(&config);
    let policy = Arc::new(config.policy.clone());
    let (session, greeting) = Session::new(settings, policy, client.parse().unwrap());
    assert_eq!(
        greeting.to_wire_string(),
        "+OK mx.example.test POP3 postie ready\r\n"
    );
    session
}

fn connected() -> Session {
    connected_from(config(true), "127.0.0.1:4000")
}

/// The response of an action that closes the connection.
fn closing(action: Action) -> Reply {
    match action {
        Action::Close(reply) => reply,
        other => panic!("expected a closing response, got {other:?}"),
    }
}

fn send(s: &mut Session, line: &str) -> Action {
    let raw = format!("{line}\r\n");
    s.handle(Input::Wire(Event::Line(Line::new(raw.as_bytes()))))
}

/// The response of a command answered with a plain response.
fn wire(s: &mut Session, line: &str) -> String {
    match send(s, line) {
        Action::Reply(r) | Action::Close(r) => r.to_wire_string(),
        other => panic!("{line}: expected a response, got {other:?}"),
    }
}

/// Sends each line of `script` in turn; each must get exactly its response.
fn dialogue(s: &mut Session, script: &[(&str, &str)]) {
    for (line, response) in script {
        assert_eq!(wire(s, line), *response, "{line}");
    }
}

fn two_messages() -> Vec<Entry> {
    vec![
        Entry {
            octets: 120,
            uid: "100.M1P1Q1.host".into(),
        },
        Entry {
            octets: 200,
            uid: "200.M1P1Q2.host".into(),
        },
    ]
}

/// Helper stack: connected → logged in, with a maildrop of two messages.
fn in_transaction() -> Session {
    let mut s = connected();
    assert!(wire(&mut s, "USER alice@localhost").starts_with("+OK"));
    let Action::Effect(Effect::OpenMaildrop(mailbox)) = send(&mut s, &format!("PASS {PASSWORD}"))
    else {
        panic!("the right password opens the maildrop");
    };
    assert_eq!(
        (mailbox.domain.as_str(), mailbox.mailbox.as_str()),
        ("localhost", "alice")
    );
    let opened = s.handle(Input::MaildropOpened(mailbox, Ok(two_messages())));
    assert_eq!(
        opened.clone(),
        Action::Reply(Reply::maildrop_ready(2, 320)),
        "{opened:?}"
    );
    assert_eq!(s.state().name(), "Transaction");
    s
}

// ---------------------------------------------------------------------------------------
// AUTHORIZATION

#[test]
fn user_and_pass_open_the_maildrop() {
    let s = in_transaction();
    let State::Transaction(t) = s.state() else {
        unreachable!()
    };
    assert_eq!(t.messages.len(), 2);
    assert_eq!(t.deleted, [false, false]);
}

#[test]
fn names_are_case_insensitive() {
    let mut s = connected();
    wire(&mut s, "user Alice@LOCALHOST");
    assert!(matches!(
        send(&mut s, &format!("pass {PASSWORD}")),
        Action::Effect(Effect::OpenMaildrop(_))
    ));
}

#[test]
fn wrong_password_unknown_user_and_no_password_look_the_same() {
    for (user, password) in [
        ("alice@localhost", "wrong"),
        ("nobody@localhost", PASSWORD),
        ("bob@localhost", PASSWORD),
        ("alice@elsewhere.test", PASSWORD),
    ] {
        let mut s = connected();
        assert_eq!(
            wire(&mut s, &format!("USER {user}")),
            "+OK Send PASS\r\n",
            "USER never tells who exists"
        );
        assert_eq!(
            wire(&mut s, &format!("PASS {password}")),
            "-ERR [AUTH] Wrong user name or password\r\n",
            "{user}"
        );
        // RFC 1939 §7: after a failed PASS, USER again.
        assert_eq!(s.state(), &State::Authorization { user: None });
    }
}

#[test]
fn pass_needs_user_first() {
    let mut s = connected();
    assert_eq!(wire(&mut s, "PASS x"), "-ERR Send USER first\r\n");
}

#[test]
fn transaction_commands_need_a_login() {
    let mut s = connected();
    for line in [
        "STAT", "LIST", "RETR 1", "DELE 1", "NOOP", "RSET", "TOP 1 1", "UIDL",
    ] {
        assert_eq!(
            wire(&mut s, line),
            "-ERR Log in first (USER and PASS)\r\n",
            "{line}"
        );
        // Stay under the error budget: a client that has made no mistakes yet.
        s.peer = Peer::new(s.client());
    }
}

#[test]
fn no_plaintext_without_the_flag_or_from_afar() {
    for (allow, client) in [(false, "127.0.0.1:4000"), (true, "192.0.2.7:4000")] {
        let mut s = connected_from(config(allow), client);
        assert_eq!(
            wire(&mut s, "USER alice@localhost"),
            "-ERR [AUTH] Plaintext passwords need TLS (or --allow-plaintext-auth, from loopback only)\r\n"
        );
        assert!(wire(&mut s, &format!("PASS {PASSWORD}")).starts_with("-ERR [AUTH] Plaintext"));
        // RFC 2449 §6.2: USER is not advertised where it cannot be used.
        assert!(!wire(&mut s, "CAPA").contains("\r\nUSER\r\n"));
    }
    for client in ["127.0.0.1:4000", "[::1]:4000", "[::ffff:127.0.0.1]:4000"] {
        let mut s = connected_from(config(true), client);
        assert!(wire(&mut s, "CAPA").contains("\r\nUSER\r\n"), "{client}");
        assert_eq!(wire(&mut s, "USER alice@localhost"), "+OK Send PASS\r\n");
    }
}

#[test]
fn a_busy_maildrop_is_in_use() {
    let mut s = connected();
    wire(&mut s, "USER alice@localhost");
    let Action::Effect(Effect::OpenMaildrop(mailbox)) = send(&mut s, &format!("PASS {PASSWORD}"))
    else {
        panic!()
    };
    let Action::Reply(r) = s.handle(Input::MaildropOpened(mailbox, Err(OpenError::InUse))) else {
        panic!()
    };
    assert_eq!(
        r.to_wire_string(),
        "-ERR [IN-USE] Mailbox in use by another session; try again later\r\n"
    );
    assert_eq!(s.state(), &State::Authorization { user: None });
}

/// `[IN-USE]` and `[SYS/TEMP]` are the server's trouble, not the client's mistakes
/// (RFC 2449 §8, RFC 3206): they never spend the error budget of three.
#[test]
fn the_servers_trouble_is_not_the_clients_mistake() {
    let mut s = connected();
    for _ in 0..5 {
        wire(&mut s, "USER alice@localhost");
        let Action::Effect(Effect::OpenMaildrop(mailbox)) =
            send(&mut s, &format!("PASS {PASSWORD}"))
        else {
            panic!()
        };
        let opened = s.handle(Input::MaildropOpened(mailbox, Err(OpenError::InUse)));
        let Action::Reply(r) = opened else {
            panic!("a busy maildrop closed the session: {opened:?}")
        };
        assert!(r.to_wire_string().starts_with("-ERR [IN-USE] "));
    }
    // No password can be checked now: the directory is down.
    let settings = Settings::new(&config(true));
    let policy = Arc::new(crate::policy::testing::Stub);
    let (mut s, _) = Session::new(settings, policy, "127.0.0.1:4000".parse().unwrap());
    for _ in 0..5 {
        wire(&mut s, "USER alice@localhost");
        assert!(wire(&mut s, "PASS anything").starts_with("-ERR [SYS/TEMP] "));
    }
    assert!(matches!(s.state(), State::Authorization { user: None }));
}

#[test]
fn quit_in_authorization_closes_without_update() {
    let mut s = connected();
    assert_eq!(
        send(&mut s, "QUIT"),
        Action::Close(Reply::signing_off("mx.example.test"))
    );
    assert_eq!(s.state(), &State::Closed);
}

#[test]
fn too_many_mistakes_close_the_connection() {
    let mut s = connected();
    for _ in 0..3 {
        assert!(matches!(send(&mut s, "BOGUS"), Action::Reply(_)));
    }
    let Action::Close(r) = send(&mut s, "BOGUS") else {
        panic!("the fourth mistake closes")
    };
    assert!(r.to_wire_string().starts_with("-ERR [SYS/PERM]"));
    assert_eq!(s.state(), &State::Closed);
}

#[test]
fn bare_lf_and_long_lines() {
    let mut s = connected();
    let Action::Reply(r) = s.handle(Input::Wire(Event::Line(Line::new(b"CAPA\n")))) else {
        panic!()
    };
    assert_eq!(r.to_wire_string(), "-ERR Lines must end with CRLF\r\n");
    let Action::Reply(r) = s.handle(Input::Wire(Event::LineTooLong)) else {
        panic!()
    };
    assert!(r.to_wire_string().contains("255 octets"));
    // RFC 2449 §4: 255 octets, CRLF included, is what the conversation reads of a line.
    assert_eq!(s.line_limit(), 255);
}

#[test]
fn capa_in_every_state() {
    let expected = "+OK Capability list follows\r\nTOP\r\nUIDL\r\nUSER\r\nRESP-CODES\r\n\
                    AUTH-RESP-CODE\r\nPIPELINING\r\nIMPLEMENTATION postie\r\n.\r\n";
    assert_eq!(wire(&mut connected(), "CAPA"), expected);
    assert_eq!(wire(&mut in_transaction(), "CAPA"), expected);
}

// ---------------------------------------------------------------------------------------
// TRANSACTION

#[test]
fn stat_list_and_uidl() {
    dialogue(
        &mut in_transaction(),
        &[
            ("STAT", "+OK 2 320\r\n"),
            (
                "LIST",
                "+OK 2 message(s) (320 octets), scan listing follows\r\n1 120\r\n2 200\r\n.\r\n",
            ),
            ("LIST 2", "+OK 2 200\r\n"),
            ("LIST 3", "-ERR No message 3\r\n"),
            (
                "UIDL",
                "+OK 2 message(s) (320 octets), unique-id listing follows\r\n\
                 1 100.M1P1Q1.host\r\n2 200.M1P1Q2.host\r\n.\r\n",
            ),
            ("UIDL 1", "+OK 1 100.M1P1Q1.host\r\n"),
        ],
    );
}

#[test]
fn retr_and_top_ask_the_connection_for_the_message() {
    let mut s = in_transaction();
    assert_eq!(
        send(&mut s, "RETR 2"),
        Action::Effect(Effect::Retrieve {
            number: 2,
            octets: 200,
            body_lines: None
        })
    );
    assert_eq!(
        send(&mut s, "TOP 1 5"),
        Action::Effect(Effect::Retrieve {
            number: 1,
            octets: 120,
            body_lines: Some(5)
        })
    );
    assert_eq!(wire(&mut s, "RETR 9"), "-ERR No message 9\r\n");
}

#[test]
fn dele_marks_and_hides_rset_unmarks() {
    let mut s = in_transaction();
    dialogue(
        &mut s,
        &[
            ("DELE 1", "+OK Message 1 deleted\r\n"),
            ("DELE 1", "-ERR Message 1 already deleted\r\n"),
            ("RETR 1", "-ERR Message 1 already deleted\r\n"),
            ("LIST 1", "-ERR Message 1 already deleted\r\n"),
            // RFC 1939 §5: deleted messages are not counted, and keep their numbers.
            ("STAT", "+OK 1 200\r\n"),
        ],
    );
    assert!(wire(&mut s, "LIST").ends_with("\r\n2 200\r\n.\r\n"));
    dialogue(
        &mut s,
        &[
            ("RSET", "+OK Mailbox has 2 message(s) (320 octets)\r\n"),
            ("STAT", "+OK 2 320\r\n"),
        ],
    );
}

#[test]
fn noop_and_no_second_login() {
    let mut s = in_transaction();
    assert_eq!(wire(&mut s, "NOOP"), "+OK\r\n");
    assert_eq!(
        wire(&mut s, "USER bob@localhost"),
        "-ERR Already logged in\r\n"
    );
}

// ---------------------------------------------------------------------------------------
// UPDATE

#[test]
fn quit_in_transaction_enters_update_with_the_marked_messages() {
    let mut s = in_transaction();
    wire(&mut s, "DELE 2");
    assert_eq!(
        send(&mut s, "QUIT"),
        Action::Effect(Effect::Update(vec![1]))
    );
    assert_eq!(s.state(), &State::Update);
    assert_eq!(
        closing(s.handle(Input::Updated(0))).to_wire_string(),
        "+OK mx.example.test POP3 postie signing off\r\n"
    );
    assert_eq!(s.state(), &State::Closed);
}

#[test]
fn a_failed_update_says_so() {
    let mut s = in_transaction();
    wire(&mut s, "DELE 1");
    wire(&mut s, "DELE 2");
    assert_eq!(
        send(&mut s, "QUIT"),
        Action::Effect(Effect::Update(vec![0, 1]))
    );
    assert_eq!(
        closing(s.handle(Input::Updated(1))).to_wire_string(),
        "-ERR [SYS/TEMP] Some deleted messages not removed (1)\r\n"
    );
}

#[test]
fn a_timeout_closes_without_update() {
    let mut s = in_transaction();
    wire(&mut s, "DELE 1");
    assert!(closing(s.handle(Input::Wire(Event::TimedOut)))
        .to_wire_string()
        .starts_with("-ERR [SYS/TEMP]"));
    assert_eq!(s.state(), &State::Closed);
}

// ---------------------------------------------------------------------------------------
// STLS (RFC 2595 §4). The handshake is the connection's job; here it is reported with
// `Input::Wire(Event::TlsEstablished)`, as the conversation does.

/// `config(allow_plaintext)` with a certificate, so STLS is offered.
fn with_tls(allow_plaintext: bool) -> Config {
    let mut config = config(allow_plaintext);
    config.tls = Some(certificate());
    config
}

/// A client from another machine, where no password may come in the clear.
fn remote_with_tls() -> Session {
    connected_from(with_tls(false), "192.0.2.7:4000")
}

#[test]
fn stls_without_a_certificate_is_refused() {
    let mut s = connected();
    assert_eq!(
        wire(&mut s, "STLS"),
        "-ERR STLS is not available: no certificate configured\r\n"
    );
    assert!(!wire(&mut s, "CAPA").contains("STLS"));
    assert_eq!(s.state(), &State::Authorization { user: None });
}

#[test]
fn stls_asks_the_connection_for_tls_then_passwords_may_come() {
    let mut s = remote_with_tls();
    let capa = wire(&mut s, "CAPA");
    assert!(capa.contains("\r\nSTLS\r\n"), "{capa}");
    assert!(!capa.contains("\r\nUSER\r\n"), "{capa}");
    assert!(wire(&mut s, "USER alice@localhost").starts_with("-ERR [AUTH] Plaintext"));

    let action = send(&mut s, "STLS");
    assert_eq!(action, Action::StartTls(Reply::begin_tls()));
    assert_eq!(
        Reply::begin_tls().to_wire_string(),
        "+OK Begin TLS negotiation\r\n"
    );
    // The state changes only once the handshake is done.
    assert_eq!(s.state(), &State::Authorization { user: None });
    s.handle(Input::Wire(Event::TlsEstablished(tls_info())));

    // RFC 2595 §4: after TLS, CAPA lists USER and no longer STLS.
    let capa = wire(&mut s, "CAPA");
    assert!(capa.contains("\r\nUSER\r\n"), "{capa}");
    assert!(!capa.contains("STLS"), "{capa}");
    assert_eq!(wire(&mut s, "USER alice@localhost"), "+OK Send PASS\r\n");
    assert!(matches!(
        send(&mut s, &format!("PASS {PASSWORD}")),
        Action::Effect(Effect::OpenMaildrop(_))
    ));
}

#[test]
fn stls_twice_is_refused() {
    let mut s = remote_with_tls();
    assert!(matches!(send(&mut s, "STLS"), Action::StartTls(_)));
    s.handle(Input::Wire(Event::TlsEstablished(tls_info())));
    assert_eq!(wire(&mut s, "STLS"), "-ERR TLS is already active\r\n");
    assert_eq!(s.state(), &State::Authorization { user: None });
}

#[test]
fn stls_forgets_a_user_sent_in_the_clear() {
    let mut s = connected_from(with_tls(true), "127.0.0.1:4000");
    wire(&mut s, "USER mallory@localhost");
    assert!(matches!(send(&mut s, "STLS"), Action::StartTls(_)));
    s.handle(Input::Wire(Event::TlsEstablished(tls_info())));
    assert_eq!(s.state(), &State::Authorization { user: None });
    assert_eq!(wire(&mut s, "PASS x"), "-ERR Send USER first\r\n");
}

#[test]
fn stls_only_before_logging_in() {
    let mut s = connected_from(with_tls(true), "127.0.0.1:4000");
    wire(&mut s, "USER alice@localhost");
    let Action::Effect(Effect::OpenMaildrop(mailbox)) = send(&mut s, &format!("PASS {PASSWORD}"))
    else {
        panic!("the right password opens the maildrop");
    };
    s.handle(Input::MaildropOpened(mailbox, Ok(two_messages())));
    assert_eq!(s.state().name(), "Transaction");
    // RFC 2595 §4: "Only permitted in AUTHORIZATION state"; CAPA says so too.
    assert!(!wire(&mut s, "CAPA").contains("STLS"));
    assert_eq!(wire(&mut s, "STLS"), "-ERR STLS only before logging in\r\n");
    assert_eq!(s.state().name(), "Transaction");
}

#[test]
fn commands_pipelined_behind_stls_close_the_session() {
    let mut s = remote_with_tls();
    assert!(matches!(send(&mut s, "STLS"), Action::StartTls(_)));
    assert_eq!(
        closing(s.handle(Input::Wire(Event::PlaintextAfterTls))).to_wire_string(),
        "-ERR Commands after STLS must wait for the TLS handshake; closing connection\r\n"
    );
    assert_eq!(s.state(), &State::Closed);
}

#[test]
fn a_login_that_cannot_be_checked_is_sys_temp() {
    let settings = Settings::new(&config(true));
    let (mut s, _) = Session::new(
        settings,
        // No password can be checked now: the directory is down.
        Arc::new(crate::policy::testing::Stub),
        "127.0.0.1:4000".parse().unwrap(),
    );
    assert_eq!(wire(&mut s, "USER alice@localhost"), "+OK Send PASS\r\n");
    assert_eq!(
        wire(&mut s, "PASS anything"),
        "-ERR [SYS/TEMP] Cannot check the password now, try again later\r\n"
    );
    // As after a wrong password: USER again (RFC 1939 §7).
    assert!(matches!(s.state(), State::Authorization { user: None }));
}
