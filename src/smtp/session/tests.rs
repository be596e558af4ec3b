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

/// A fresh session for `service`, as a connection would start one.
pub(super) fn started(config: Config, service: Service, client: &str) -> Session {
    let settings = Settings::new(&config);
    let policy = Arc::new(config.policy.clone());
    let (session, greeting) = Session::new(settings, service, policy, client.parse().unwrap());
    assert_eq!(greeting.code(), 220);
    session
}

/// A fresh SMTP session from `client`.
pub(super) fn connected_with(config: Config, client: &str) -> Session {
    started(config, Service::Smtp, client)
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

/// RFC 5321 §4.1.4: these work in every state, even before EHLO; postie's own choice
/// among the replies §4.3.2 allows (the transition table below allows them all).
#[test]
fn commands_allowed_in_every_state() {
    let states: [fn() -> Session; 3] = [connected, greeted, in_transaction];
    for make in states {
        for (line, expected) in [
            ("NOOP", 250),
            ("HELP", 214),
            ("VRFY bob", 252),
            ("EXPN staff", 502),
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

// ANCHOR: transition_table
// ---------------------------------------------------------------------------------------
// The transition table, as a reader of RFC 5321 would write it

/// One row: in `state`, the command `verb` may be answered only with one of `codes`,
/// and leaves the session in `next`. `"*"` as a verb stands for every command.
///
/// The codes are RFC 5321 §4.3.2's command-reply sequences, narrowed to the state: a
/// command out of sequence gets 503 (§4.1.4 order of commands, §3.3 the transaction),
/// and one in sequence gets what §4.3.2 lists for it, from a client postie has no
/// reason to refuse (a loopback client, trusted to relay; an existing recipient).
/// Which of the allowed codes postie picks is pinned by the tests above.
struct Row {
    state: &'static str,
    verb: &'static str,
    codes: &'static [u16],
    next: &'static str,
}

const fn row(
    state: &'static str,
    verb: &'static str,
    codes: &'static [u16],
    next: &'static str,
) -> Row {
    Row {
        state,
        verb,
        codes,
        next,
    }
}

/// §4.1.4: NOOP, HELP, EXPN, VRFY and RSET work "at any time during a session"; servers
/// "SHOULD process these normally (that is, not return a 503 code)". Their replies, §4.3.2:
const VRFY: &[u16] = &[250, 251, 252, 550, 551, 553, 502, 504];
const EXPN: &[u16] = &[250, 252, 550, 500, 502, 504];
const HELP: &[u16] = &[211, 214, 502, 504];

#[rustfmt::skip]
const TABLE: &[Row] = &[
    // Connected: our 220 sent, the client not introduced yet.
    row("Connected", "EHLO",     &[250],      "Ready"),     // §4.1.1.1
    row("Connected", "HELO",     &[250],      "Ready"),     // §4.1.1.1
    row("Connected", "MAIL",     &[503],      "Connected"), // §4.1.4: EHLO or HELO first
    row("Connected", "RCPT",     &[503],      "Connected"), // §3.3: no MAIL, "MUST return a 503"
    row("Connected", "DATA",     &[503, 554], "Connected"), // §4.1.1.4: 503 or 554
    row("Connected", "RSET",     &[250],      "Connected"), // §4.1.1.5: nothing to reset
    row("Connected", "NOOP",     &[250],      "Connected"), // §4.1.1.9
    row("Connected", "VRFY",     VRFY,        "Connected"), // §4.1.1.6
    row("Connected", "EXPN",     EXPN,        "Connected"), // §4.1.1.7
    row("Connected", "HELP",     HELP,        "Connected"), // §4.1.1.8
    row("Connected", "QUIT",     &[221],      "Closed"),    // §4.1.1.10
    row("Connected", "STARTTLS", &[503],      "Connected"), // RFC 3207 §4: offered by EHLO's reply
    row("Connected", "AUTH",     &[503],      "Connected"), // RFC 4954 §4: offered by EHLO's reply
    // Ready: introduced, no transaction open.
    row("Ready",     "EHLO",     &[250],      "Ready"),
    row("Ready",     "HELO",     &[250],      "Ready"),
    row("Ready",     "MAIL",     &[250],      "MailFrom"),  // §4.1.1.2: a transaction begins
    row("Ready",     "RCPT",     &[503],      "Ready"),     // §3.3: no MAIL, "MUST return a 503"
    row("Ready",     "DATA",     &[503, 554], "Ready"),     // §4.1.1.4
    row("Ready",     "RSET",     &[250],      "Ready"),
    row("Ready",     "NOOP",     &[250],      "Ready"),
    row("Ready",     "VRFY",     VRFY,        "Ready"),
    row("Ready",     "EXPN",     EXPN,        "Ready"),
    row("Ready",     "HELP",     HELP,        "Ready"),
    row("Ready",     "QUIT",     &[221],      "Closed"),
    row("Ready",     "STARTTLS", &[220],      "Ready"),     // RFC 3207 §4; the state changes after the handshake
    row("Ready",     "AUTH",     &[334],      "Auth"),      // RFC 4954 §4: the first challenge
    // MailFrom: MAIL accepted, no recipient yet.
    row("MailFrom",  "EHLO",     &[250],      "Ready"),     // §4.1.4: EHLO aborts the transaction
    row("MailFrom",  "HELO",     &[250],      "Ready"),
    row("MailFrom",  "MAIL",     &[503],      "MailFrom"),  // §4.1.4: "MUST NOT be sent if a mail transaction is already open"
    row("MailFrom",  "RCPT",     &[250, 251], "RcptTo"),    // §4.1.1.3
    row("MailFrom",  "DATA",     &[503, 554], "MailFrom"),  // §4.1.1.4: no accepted RCPT
    row("MailFrom",  "RSET",     &[250],      "Ready"),     // §4.1.1.5: the transaction is dropped
    row("MailFrom",  "NOOP",     &[250],      "MailFrom"),
    row("MailFrom",  "VRFY",     VRFY,        "MailFrom"),
    row("MailFrom",  "EXPN",     EXPN,        "MailFrom"),
    row("MailFrom",  "HELP",     HELP,        "MailFrom"),
    row("MailFrom",  "QUIT",     &[221],      "Closed"),
    row("MailFrom",  "STARTTLS", &[503],      "MailFrom"),  // RFC 3207 §4.2 would drop the open transaction
    row("MailFrom",  "AUTH",     &[503],      "MailFrom"),  // RFC 4954 §4: "MUST be rejected with a 503 reply"
    // RcptTo: at least one recipient accepted; DATA may follow.
    row("RcptTo",    "EHLO",     &[250],      "Ready"),
    row("RcptTo",    "HELO",     &[250],      "Ready"),
    row("RcptTo",    "MAIL",     &[503],      "RcptTo"),
    row("RcptTo",    "RCPT",     &[250, 251], "RcptTo"),
    row("RcptTo",    "DATA",     &[354],      "Data"),      // §4.1.1.4: "I: 354 -> data"
    row("RcptTo",    "RSET",     &[250],      "Ready"),
    row("RcptTo",    "NOOP",     &[250],      "RcptTo"),
    row("RcptTo",    "VRFY",     VRFY,        "RcptTo"),
    row("RcptTo",    "EXPN",     EXPN,        "RcptTo"),
    row("RcptTo",    "HELP",     HELP,        "RcptTo"),
    row("RcptTo",    "QUIT",     &[221],      "Closed"),
    row("RcptTo",    "STARTTLS", &[503],      "RcptTo"),
    row("RcptTo",    "AUTH",     &[503],      "RcptTo"),
    // Data: after 354 the lines are message text (§4.1.1.4), read by the connection;
    // a command line handed to the session then is out of sequence.
    row("Data",      "*",        &[503],      "Data"),
    // Auth: after 334 a line is the answer to the challenge, never a command (RFC 4954
    // §4): not base64 is 501, a wrong answer 535; either way the exchange ends.
    row("Auth",      "*",        &[501, 535], "Ready"),
    // Closed: after 221 (§4.1.1.10) nothing is read; were a line read, it would get
    // the 503 §3.1 gives the commands of a client that will not be served.
    row("Closed",    "*",        &[503],      "Closed"),
];

/// Every variant of [`State`], by name. `index` has no `_` arm: a new variant does not
/// compile until it is listed here, and the table then needs its rows.
const STATES: [&str; 7] = [
    "Connected",
    "Ready",
    "MailFrom",
    "RcptTo",
    "Data",
    "Auth",
    "Closed",
];

fn index(state: &State) -> usize {
    match state {
        State::Connected => 0,
        State::Ready { .. } => 1,
        State::MailFrom { .. } => 2,
        State::RcptTo { .. } => 3,
        State::Data { .. } => 4,
        State::Auth { .. } => 5,
        State::Closed => 6,
    }
}

/// One line for every [`Command`], by verb ([`Command::verb`] has no `_` arm, so a
/// new command is named there first; `EXPN` stands for those postie does not implement).
const COMMANDS: [(&str, &str); 13] = [
    ("EHLO", "EHLO c.example"),
    ("HELO", "HELO c.example"),
    ("MAIL", "MAIL FROM:<a@b.example>"),
    ("RCPT", "RCPT TO:<bob@localhost>"),
    ("DATA", "DATA"),
    ("RSET", "RSET"),
    ("NOOP", "NOOP"),
    ("VRFY", "VRFY bob"),
    ("EXPN", "EXPN staff"),
    ("HELP", "HELP"),
    ("QUIT", "QUIT"),
    ("STARTTLS", "STARTTLS"),
    ("AUTH", "AUTH PLAIN"),
];

/// Where every command has a reason to be accepted: a certificate (STARTTLS), a users
/// file with bob in it, logins in the clear from loopback (AUTH), a loopback client.
fn table_config() -> Config {
    let mut config = config();
    config.tls = Some(crate::tls::testing::certificate());
    config.policy.users = Some(Users::parse("bob@localhost").unwrap());
    config.allow_plaintext_auth = true;
    config
}

/// A fresh session driven into `state` by the shortest dialogue that gets there.
fn reach(config: &Config, state: &str) -> Session {
    let steps: &[(&str, u16)] = match state {
        "Connected" => &[],
        "Ready" => &[("EHLO c.example", 250)],
        "MailFrom" => &[("EHLO c.example", 250), ("MAIL FROM:<a@b.example>", 250)],
        "RcptTo" | "Data" => &[
            ("EHLO c.example", 250),
            ("MAIL FROM:<a@b.example>", 250),
            ("RCPT TO:<bob@localhost>", 250),
        ],
        "Auth" => &[("EHLO c.example", 250), ("AUTH PLAIN", 334)],
        "Closed" => &[("QUIT", 221)],
        other => panic!("no way to {other}"),
    };
    let mut s = connected_with(config.clone(), "127.0.0.1:4000");
    for (line, expected) in steps {
        assert_eq!(
            code(&mut s, line),
            *expected,
            "on the way to {state}: {line}"
        );
    }
    if state == "Data" {
        assert!(matches!(
            send(&mut s, "DATA"),
            Action::Effect(Effect::ReceiveData(_))
        ));
    }
    assert_eq!(STATES[index(s.state())], state);
    s
}

/// The table is total: exactly one row for every (state, command) pair, and it names
/// only states and commands that exist.
#[test]
fn the_transition_table_has_one_row_per_state_and_command() {
    for (name, line) in COMMANDS {
        let command = parse(line.as_bytes()).unwrap();
        assert_eq!(command.verb(), name, "{line}");
    }
    for row in TABLE {
        assert!(STATES.contains(&row.state), "{}", row.state);
        assert!(STATES.contains(&row.next), "{}", row.next);
        assert!(row.verb == "*" || COMMANDS.iter().any(|(v, _)| *v == row.verb));
    }
    for state in STATES {
        for (name, _) in COMMANDS {
            let rows = TABLE
                .iter()
                .filter(|r| r.state == state && (r.verb == name || r.verb == "*"))
                .count();
            assert_eq!(rows, 1, "rows for {state} + {name}");
        }
    }
}

/// The table, walked: every command in every state gets one of the codes its row
/// allows and leaves the session in the row's state. The action agrees with the code:
/// only 221 closes (§4.1.1.10), only 354 starts message text (§4.1.1.4), only 220
/// starts TLS (RFC 3207 §4).
#[test]
fn every_command_in_every_state_follows_the_table() {
    let config = table_config();
    for row in TABLE {
        let lines = COMMANDS
            .iter()
            .filter(|(v, _)| row.verb == "*" || *v == row.verb);
        for (_, line) in lines {
            let mut s = reach(&config, row.state);
            let action = send(&mut s, line);
            let code = action.reply().map_or(0, Reply::code);
            let pair = format!("{} + {line}", row.state);
            assert!(
                row.codes.contains(&code),
                "{pair}: {action:?}, but the table allows {:?}",
                row.codes
            );
            assert_eq!(STATES[index(s.state())], row.next, "{pair}: the next state");
            let closes = matches!(action, Action::Close(_));
            assert_eq!(closes, code == 221, "{pair}: {action:?}");
            let data = matches!(action, Action::Effect(Effect::ReceiveData(_)));
            assert_eq!(data, code == 354, "{pair}: {action:?}");
            let tls = matches!(action, Action::StartTls(_));
            assert_eq!(tls, code == 220, "{pair}: {action:?}");
        }
    }
}
// ANCHOR_END: transition_table

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

/// Every step through the table is recorded, for `--trace` and the web view's sessions
/// page, with the command and the section of the RFC that defines it.
#[test]
fn every_transition_names_its_command_and_its_rfc_section() {
    let mut s = connected();
    s.record_transitions();
    for line in [
        "EHLO c.example",
        "HELO c.example",
        "MAIL FROM:<a@b.example>",
        "RCPT TO:<bob@localhost>",
        "RSET",
        "VRFY bob",
        "EXPN staff",
        "HELP",
        "NOOP",
        "STARTTLS",
        "AUTH PLAIN",
        "MAIL FROM:<a@b.example>",
        "RCPT TO:<bob@localhost>",
        "DATA",
    ] {
        send(&mut s, line);
    }
    let mut quit = connected();
    quit.record_transitions();
    send(&mut quit, "QUIT");
    let transitions = [s.take_transitions(), quit.take_transitions()].concat();
    assert_eq!(
        transitions,
        [
            "Connected -> Ready: EHLO (RFC 5321 §4.1.1.1)",
            "Ready -> Ready: HELO (RFC 5321 §4.1.1.1)",
            "Ready -> MailFrom: MAIL (RFC 5321 §4.1.1.2)",
            "MailFrom -> RcptTo: RCPT (RFC 5321 §4.1.1.3)",
            "RcptTo -> Ready: RSET (RFC 5321 §4.1.1.5)",
            "Ready -> Ready: VRFY (RFC 5321 §4.1.1.6)",
            // Not implemented: §4.2.4's 502, not EXPN's own §4.1.1.7.
            "Ready -> Ready: EXPN (RFC 5321 §4.2.4)",
            "Ready -> Ready: HELP (RFC 5321 §4.1.1.8)",
            "Ready -> Ready: NOOP (RFC 5321 §4.1.1.9)",
            "Ready -> Ready: STARTTLS (RFC 3207 §4)",
            "Ready -> Ready: AUTH (RFC 4954 §4)",
            "Ready -> MailFrom: MAIL (RFC 5321 §4.1.1.2)",
            "MailFrom -> RcptTo: RCPT (RFC 5321 §4.1.1.3)",
            "RcptTo -> Data: DATA (RFC 5321 §4.1.1.4)",
            "Connected -> Closed: QUIT (RFC 5321 §4.1.1.10)",
        ]
    );
}
