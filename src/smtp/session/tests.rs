//! Session tests: literal lines in, replies and states out. No sockets, no files.

use super::*;
use crate::accounts::Users;
use crate::config::Config;
use crate::wire::line::Line;

pub(super) fn config() -> Config {
    let mut config = Config::new("mx.example.test");
    config.limits.max_recipients = 3;
    config.limits.max_message_size = 1000;
    config
}

/// A fresh session from a loopback client, as a connection would start one.
pub(super) fn connected_with(config: Config, client: &str) -> Session {
    let settings = Settings::new(&config);
    let policy = Arc::new(config.policy.clone());
    let (session, greeting) =
        Session::new(settings, Service::Smtp, policy, client.parse().unwrap());
    assert_eq!(greeting.code(), 220);
    session
}

fn connected() -> Session {
    connected_with(config(), "127.0.0.1:4000")
}

/// Helper stack, as in go-smtp's tests: connected → greeted → in a transaction.
fn greeted() -> Session {
    let mut s = connected();
    assert_eq!(code(&mut s, "EHLO client.example"), 250);
    s
}

/// A client from outside the trusted networks (RFC 5737's 192.0.2.1), past EHLO:
/// its mail may go only to our own domains.
fn stranger(config: Config) -> Session {
    let mut s = connected_with(config, "192.0.2.1:4000");
    assert_eq!(code(&mut s, "EHLO client.example"), 250);
    s
}

fn in_transaction() -> Session {
    let mut s = greeted();
    assert_eq!(code(&mut s, "MAIL FROM:<alice@example.org>"), 250);
    assert_eq!(code(&mut s, "RCPT TO:<bob@localhost>"), 250);
    s
}

pub(super) fn send(s: &mut Session, line: &str) -> Action {
    let raw = format!("{line}\r\n");
    s.handle(Input::Wire(Event::Line(Line::new(raw.as_bytes()))))
}

pub(super) fn code(s: &mut Session, line: &str) -> u16 {
    send(s, line).reply().unwrap().code()
}

pub(super) fn wire(s: &mut Session, line: &str) -> String {
    send(s, line).reply().unwrap().to_wire_string()
}

#[test]
fn the_whole_dialogue() {
    let mut s = connected();
    assert_eq!(s.state().name(), "Connected");
    assert_eq!(code(&mut s, "EHLO client.example"), 250);
    assert_eq!(s.state().name(), "Ready");
    assert_eq!(code(&mut s, "MAIL FROM:<alice@example.org>"), 250);
    assert_eq!(s.state().name(), "MailFrom");
    assert_eq!(code(&mut s, "RCPT TO:<bob@localhost>"), 250);
    assert_eq!(s.state().name(), "RcptTo");
    let action = send(&mut s, "DATA");
    assert!(matches!(&action, Action::Effect(Effect::ReceiveData(r)) if r.code() == 354));
    assert_eq!(s.state().name(), "Data");
    let (hello, envelope) = s.transaction().unwrap();
    assert_eq!(hello.host.to_string(), "client.example");
    assert_eq!(envelope.recipients.len(), 1);
    let action = s.handle(Input::MessageEnd(MessageOutcome::Stored {
        id: "X1".into(),
    }));
    assert_eq!(
        action.reply().unwrap().to_wire_string(),
        "250 2.0.0 OK: queued as X1\r\n"
    );
    assert_eq!(s.state().name(), "Ready");
    assert!(matches!(send(&mut s, "QUIT"), Action::Close(r) if r.code() == 221));
    assert_eq!(s.state().name(), "Closed");
}

#[test]
fn ehlo_lists_the_extensions() {
    let mut s = connected();
    let reply = wire(&mut s, "EHLO client.example");
    for ext in [
        "PIPELINING",
        "SIZE 1000",
        "8BITMIME",
        "SMTPUTF8",
        "ENHANCEDSTATUSCODES",
    ] {
        assert!(
            reply.contains(&format!("250-{ext}\r\n")) || reply.contains(&format!("250 {ext}\r\n")),
            "{ext}: {reply}"
        );
    }
}

/// RFC 5321 §4.1.4: these work in every state, even before EHLO.
#[test]
fn commands_allowed_in_every_state() {
    let states: [fn() -> Session; 3] = [connected, greeted, in_transaction];
    for make in states {
        for (line, expected) in [
            ("NOOP", 250),
            ("HELP", 214),
            ("VRFY bob", 252),
            ("RSET", 250),
        ] {
            let mut s = make();
            assert_eq!(
                code(&mut s, line),
                expected,
                "{line} in {}",
                make().state().name()
            );
        }
        let mut s = make();
        assert_eq!(code(&mut s, "QUIT"), 221);
    }
}

#[test]
fn enhanced_codes_only_after_ehlo() {
    let mut s = connected();
    assert_eq!(wire(&mut s, "NOOP"), "250 OK\r\n");
    assert_eq!(code(&mut s, "HELO client.example"), 250);
    assert_eq!(wire(&mut s, "NOOP"), "250 OK\r\n");
    assert_eq!(code(&mut s, "EHLO client.example"), 250);
    assert_eq!(wire(&mut s, "NOOP"), "250 2.0.0 OK\r\n");
}

#[test]
fn rset_keeps_the_greeting_and_drops_the_transaction() {
    let mut s = in_transaction();
    assert_eq!(code(&mut s, "RSET"), 250);
    assert_eq!(s.state().name(), "Ready");
    assert_eq!(code(&mut s, "RCPT TO:<bob@localhost>"), 503);
    let mut s = connected();
    assert_eq!(code(&mut s, "RSET"), 250);
    assert_eq!(s.state().name(), "Connected");
}

/// RFC 5321 §4.1.4: an accepted EHLO resets the transaction; a refused one changes nothing.
#[test]
fn ehlo_resets_but_a_refused_ehlo_does_not() {
    let mut s = in_transaction();
    assert_eq!(code(&mut s, "EHLO bad_name"), 501);
    assert_eq!(s.state().name(), "RcptTo");
    assert_eq!(code(&mut s, "EHLO other.example"), 250);
    assert_eq!(s.state().name(), "Ready");
}

#[test]
fn out_of_sequence_commands_get_503() {
    let mut s = connected();
    assert_eq!(code(&mut s, "MAIL FROM:<a@b.example>"), 503);
    assert_eq!(code(&mut s, "RCPT TO:<bob@localhost>"), 503);
    assert_eq!(code(&mut s, "DATA"), 503);
    let mut s = greeted();
    assert_eq!(code(&mut s, "RCPT TO:<bob@localhost>"), 503);
    assert_eq!(code(&mut s, "DATA"), 503);
    let mut s = in_transaction();
    assert_eq!(code(&mut s, "MAIL FROM:<a@b.example>"), 503, "nested MAIL");
}

/// RFC 5321 §4.1.1.4, RFC 2920 §3.1: DATA after every RCPT failed is 554.
#[test]
fn data_without_accepted_recipients_is_554() {
    let mut s = stranger(config());
    assert_eq!(code(&mut s, "MAIL FROM:<a@b.example>"), 250);
    assert_eq!(code(&mut s, "RCPT TO:<x@other.test>"), 550);
    assert_eq!(s.state().name(), "MailFrom");
    assert_eq!(code(&mut s, "DATA"), 554);
}

#[test]
fn null_sender_and_postmaster_are_accepted() {
    let mut s = greeted();
    assert_eq!(code(&mut s, "MAIL FROM:<>"), 250);
    assert_eq!(code(&mut s, "RCPT TO:<Postmaster>"), 250);
    assert_eq!(code(&mut s, "RCPT TO:<POSTMASTER>"), 250);
}

#[test]
fn postmaster_works_even_with_a_users_file() {
    let mut config = config();
    config.policy.users = Some(Users::parse("alice@localhost").unwrap());
    let mut s = stranger(config);
    assert_eq!(code(&mut s, "MAIL FROM:<>"), 250);
    assert_eq!(
        wire(&mut s, "RCPT TO:<mallory@localhost>").get(..9),
        Some("550 5.1.1")
    );
    assert_eq!(code(&mut s, "RCPT TO:<alice@localhost>"), 250);
    assert_eq!(code(&mut s, "RCPT TO:<postmaster@localhost>"), 250);
    assert_eq!(code(&mut s, "RCPT TO:<Postmaster>"), 250);
}

#[test]
fn trusted_clients_may_relay() {
    let mut s = in_transaction();
    assert_eq!(code(&mut s, "RCPT TO:<carol@other.test>"), 250);
    let Action::Effect(Effect::ReceiveData(_)) = send(&mut s, "DATA") else {
        panic!("DATA refused")
    };
    let (_, envelope) = s.transaction().unwrap();
    assert_eq!(envelope.recipients[1].destination, Destination::Remote);
    assert!(matches!(
        envelope.recipients[0].destination,
        Destination::Local(_)
    ));
}

#[test]
fn relay_is_denied_to_untrusted_clients() {
    let mut s = stranger(config());
    assert_eq!(code(&mut s, "MAIL FROM:<a@b.example>"), 250);
    let reply = wire(&mut s, "RCPT TO:<c@other.test>");
    assert_eq!(reply, "550 5.7.1 <c@other.test>: Relay access denied\r\n");
}

#[test]
fn path_tricks_are_refused_at_rcpt() {
    let mut s = in_transaction();
    for rcpt in [
        "<\"../../x\"@localhost>",
        "<\"a/b\"@localhost>",
        "<\"a\\\\b\"@localhost>",
    ] {
        let reply = wire(&mut s, &format!("RCPT TO:{rcpt}"));
        assert!(reply.starts_with("553 5.1.3"), "{rcpt}: {reply}");
    }
    let long = format!("RCPT TO:<{}@localhost>", "a".repeat(65));
    assert!(wire(&mut s, &long).starts_with("501 5.1.3"));
}

/// RFC 5321 §4.5.3.1.10: the recipient over the limit gets 452; the earlier ones stay.
#[test]
fn too_many_recipients() {
    let mut s = in_transaction();
    assert_eq!(code(&mut s, "RCPT TO:<c2@localhost>"), 250);
    assert_eq!(code(&mut s, "RCPT TO:<c3@localhost>"), 250);
    assert_eq!(
        wire(&mut s, "RCPT TO:<c4@localhost>").get(..9),
        Some("452 4.5.3")
    );
    assert!(matches!(
        send(&mut s, "DATA"),
        Action::Effect(Effect::ReceiveData(_))
    ));
    assert_eq!(s.transaction().unwrap().1.recipients.len(), 3);
}

/// RFC 1870 §6.1: a declared size over the limit is refused at MAIL.
#[test]
fn declared_size_is_checked_at_mail() {
    let mut s = greeted();
    assert_eq!(
        wire(&mut s, "MAIL FROM:<a@b.example> SIZE=1001").get(..9),
        Some("552 5.3.4")
    );
    assert_eq!(s.state().name(), "Ready");
    assert_eq!(code(&mut s, "MAIL FROM:<a@b.example> SIZE=1000"), 250);
}

#[test]
fn parameters_need_ehlo() {
    let mut s = connected();
    assert_eq!(code(&mut s, "HELO client.example"), 250);
    assert_eq!(code(&mut s, "MAIL FROM:<a@b.example> BODY=8BITMIME"), 555);
    assert_eq!(code(&mut s, "MAIL FROM:<a@b.example>"), 250);
}

/// RFC 6531 §3.3: UTF-8 in addresses only with SMTPUTF8 on MAIL.
#[test]
fn smtputf8() {
    let mut s = greeted();
    assert_eq!(
        wire(&mut s, "MAIL FROM:<用户@例子.测试>").get(..9),
        Some("553 5.6.7")
    );
    assert_eq!(code(&mut s, "MAIL FROM:<a@b.example>"), 250);
    assert_eq!(code(&mut s, "RCPT TO:<пользователь@localhost>"), 553);
    assert_eq!(code(&mut s, "RSET"), 250);
    assert_eq!(code(&mut s, "MAIL FROM:<用户@例子.测试> SMTPUTF8"), 250);
    assert_eq!(code(&mut s, "RCPT TO:<пользователь@localhost>"), 250);
}

#[test]
fn bare_newlines_in_commands_are_refused() {
    let mut s = greeted();
    for raw in [&b"NOOP\n"[..], b"NOOP\r\r\n", b"NO\rOP\r\n"] {
        let reply = s
            .handle(Input::Wire(Event::Line(Line::new(raw))))
            .reply()
            .unwrap()
            .to_wire_string();
        assert!(
            reply.starts_with("500 5.5.2") && reply.contains("CRLF"),
            "{reply}"
        );
    }
}

#[test]
fn the_error_budget_ends_in_421() {
    let mut s = greeted();
    for _ in 0..config().limits.max_errors {
        assert!(matches!(send(&mut s, "BOGUS"), Action::Reply(r) if r.code() == 500));
    }
    let action = send(&mut s, "BOGUS");
    assert!(
        matches!(&action, Action::Close(r) if r.code() == 421),
        "{action:?}"
    );
    assert_eq!(s.state().name(), "Closed");
}

#[test]
fn message_outcomes_become_one_reply() {
    let cases = [
        (
            MessageOutcome::Refused(Refusal::TooBig { size: 2000 }),
            "552 5.3.4",
        ),
        (MessageOutcome::Refused(Refusal::LineTooLong), "500 5.5.2"),
        (
            MessageOutcome::Refused(Refusal::TooManyHops { received: 101 }),
            "554 5.4.6",
        ),
        (
            MessageOutcome::NotStored(ErrorKind::StorageFull),
            "452 4.3.1",
        ),
        (
            MessageOutcome::NotStored(ErrorKind::PermissionDenied),
            "451 4.3.0",
        ),
    ];
    for (outcome, expected) in cases {
        let mut s = in_transaction();
        assert!(matches!(
            send(&mut s, "DATA"),
            Action::Effect(Effect::ReceiveData(_))
        ));
        let wire = s
            .handle(Input::MessageEnd(outcome))
            .reply()
            .unwrap()
            .to_wire_string();
        assert!(wire.starts_with(expected), "{wire}");
        assert_eq!(
            s.state().name(),
            "Ready",
            "a refused message ends the transaction"
        );
    }
}

#[test]
fn help_on_a_topic() {
    let mut s = greeted();
    assert!(wire(&mut s, "HELP mail").contains("§4.1.1.2"));
    assert_eq!(code(&mut s, "HELP FROBNICATE"), 504);
}

#[test]
fn not_implemented_commands_get_502() {
    let mut s = greeted();
    assert_eq!(
        wire(&mut s, "EXPN staff"),
        "502 5.5.1 EXPN is not implemented here\r\n"
    );
}

/// The transition table, walked: every (state, command) pair gives a reply with a
/// code that is legal for that command (RFC 5321 §4.3.2), and only DATA after RCPT
/// enters the Data state.
#[test]
fn transition_table_is_total_and_legal() {
    let commands = [
        ("EHLO c.example", &[250, 501][..]),
        ("HELO c.example", &[250, 501]),
        ("MAIL FROM:<a@b.example>", &[250, 503, 552, 553, 555]),
        ("RCPT TO:<bob@localhost>", &[250, 452, 503, 550, 553]),
        ("DATA", &[354, 503, 554]),
        ("RSET", &[250]),
        ("NOOP", &[250]),
        ("VRFY bob", &[252]),
        ("HELP", &[214]),
        ("QUIT", &[221]),
        ("EXPN x", &[502]),
    ];
    let states: [fn() -> Session; 3] = [connected, greeted, in_transaction];
    for make in states {
        for (line, legal) in commands {
            let mut s = make();
            let before = s.state().name();
            let action = send(&mut s, line);
            assert!(
                legal.contains(&action.reply().unwrap().code()),
                "{before} + {line} -> {action:?}"
            );
            let entered_data = s.state().name() == "Data";
            assert_eq!(
                entered_data,
                line == "DATA" && before == "RcptTo",
                "{before} + {line}"
            );
        }
    }
}

/// RFC 5321 §4.2.1: only "x0z" replies (syntax, sequence) spend the error budget. A
/// message with many refused recipients still reaches the ones that exist.
#[test]
fn refused_recipients_do_not_spend_the_error_budget() {
    let mut s = stranger(config());
    assert_eq!(code(&mut s, "MAIL FROM:<a@b.example>"), 250);
    for n in 0..20 {
        assert_eq!(code(&mut s, &format!("RCPT TO:<x{n}@other.test>")), 550);
    }
    assert_eq!(code(&mut s, "RCPT TO:<bob@localhost>"), 250);
    assert!(matches!(
        send(&mut s, "DATA"),
        Action::Effect(Effect::ReceiveData(_))
    ));
}

#[test]
fn an_http_request_closes_the_connection_at_once() {
    for request in [
        "GET / HTTP/1.1",
        "POST /form HTTP/1.1",
        "CONNECT a:25 HTTP/1.1",
    ] {
        let mut s = connected();
        let action = send(&mut s, request);
        assert!(
            matches!(&action, Action::Close(r) if r.code() == 554),
            "{request}"
        );
        // No EHLO yet: no enhanced status code (RFC 2034 §3).
        assert!(action
            .reply()
            .unwrap()
            .to_wire_string()
            .starts_with("554 mx.example.test"));
        assert_eq!(s.state().name(), "Closed");
    }
    // In the middle of a transaction too, with the enhanced code after EHLO.
    let mut s = in_transaction();
    assert!(wire(&mut s, "GET /index.html HTTP/1.0").starts_with("554 5.5.0 "));
    assert_eq!(s.state().name(), "Closed");
    // Verbs that merely resemble a method are ordinary unknown commands.
    let mut s = connected();
    assert_eq!(code(&mut s, "GETX /"), 500);
    assert_eq!(code(&mut s, "get / HTTP/1.1"), 500);
    assert_eq!(s.state().name(), "Connected");
}
