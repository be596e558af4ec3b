//! Session tests for what a policy beyond the users file may answer (the directory's):
//! a list at RCPT, "try later" at RCPT and at AUTH. The test policy [`Stub`] gives
//! the answers; no directory, no sockets.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::tests::{code, config, send, wire};
use super::*;
use crate::policy::testing::{mailbox, Stub};

fn session() -> Session {
    let mut config = config();
    config.allow_plaintext_auth = true;
    let settings = Settings::new(&config);
    let (mut session, _) = Session::new(
        settings,
        Service::Smtp,
        Arc::new(Stub),
        "127.0.0.1:4000".parse().unwrap(),
    );
    assert_eq!(code(&mut session, "EHLO client.example"), 250);
    session
}

#[test]
fn a_list_is_one_250_and_a_copy_per_member() {
    let mut s = session();
    assert_eq!(code(&mut s, "MAIL FROM:<x@example.org>"), 250);
    assert_eq!(
        wire(&mut s, "RCPT TO:<list@localhost>"),
        "250 2.1.5 Recipient <list@localhost> OK\r\n"
    );
    assert!(wire(&mut s, "RCPT TO:<empty@localhost>").starts_with("550 5.1.1"));
    // Two members of three allowed (config: max_recipients 3): a list of five is 452.
    assert!(wire(&mut s, "RCPT TO:<big@localhost>").starts_with("452 4.5.3"));
    assert!(matches!(send(&mut s, "DATA"), Action::Effect(_)));
    let (_, envelope) = s.transaction().unwrap();
    let mailboxes: Vec<_> = envelope
        .recipients
        .iter()
        .map(|r| (r.forward_path.to_string(), r.destination.clone()))
        .collect();
    assert_eq!(
        mailboxes,
        [
            (
                "list@localhost".to_string(),
                Destination::Local(mailbox("ann"))
            ),
            (
                "list@localhost".to_string(),
                Destination::Local(mailbox("bob"))
            ),
        ]
    );
}

/// RFC 5321 §4.5.3.1.10's limit counts a list's members (config: max_recipients 3):
/// a list may fill the limit exactly, not pass it.
#[test]
fn a_list_may_fill_the_recipient_limit_but_not_pass_it() {
    let mut s = session();
    assert_eq!(code(&mut s, "MAIL FROM:<x@example.org>"), 250);
    // Five members, before any other recipient: over the limit on its own.
    assert!(wire(&mut s, "RCPT TO:<big@localhost>").starts_with("452 4.5.3"));
    assert_eq!(code(&mut s, "RCPT TO:<carol@localhost>"), 250);
    // One and two make three: the limit, reached.
    assert_eq!(code(&mut s, "RCPT TO:<list@localhost>"), 250);
    assert!(wire(&mut s, "RCPT TO:<dave@localhost>").starts_with("452 4.5.3"));
    assert!(matches!(send(&mut s, "DATA"), Action::Effect(_)));
    assert_eq!(s.transaction().unwrap().1.recipients.len(), 3);
}

#[test]
fn try_later_is_451_at_rcpt_and_454_at_auth() {
    let mut s = session();
    assert_eq!(code(&mut s, "MAIL FROM:<x@example.org>"), 250);
    assert_eq!(
        wire(&mut s, "RCPT TO:<down@localhost>"),
        "451 4.3.0 <down@localhost>: cannot check this recipient now, try again later\r\n"
    );
    assert_eq!(code(&mut s, "RSET"), 250);
    let auth = format!("AUTH PLAIN {}", STANDARD.encode("\0ann@localhost\0pw"));
    // Not the client's mistake: three of them do not close the connection.
    for _ in 0..4 {
        assert_eq!(
            wire(&mut s, &auth),
            "454 4.7.0 Temporary authentication failure, try again later\r\n"
        );
    }
    assert_eq!(s.state().name(), "Ready");
}
