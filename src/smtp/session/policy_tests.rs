//! Session tests for what a policy beyond the users file may answer (the directory's):
//! a list at RCPT, "try later" at RCPT and at AUTH. A stub policy gives the answers;
//! no directory, no sockets.

use std::net::IpAddr;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::tests::{code, config, send, wire};
use super::*;
use crate::policy::LoginFailure;
use crate::store::mailbox::{domain_name, mailbox_name};

/// `list@` is a list of ann and bob, `big@` a list of five, `down@` cannot be checked,
/// and every login cannot be checked now.
struct Stub;

fn mailbox(name: &str) -> MailboxPath {
    MailboxPath {
        domain: domain_name("localhost").unwrap(),
        mailbox: mailbox_name(name).unwrap(),
    }
}

impl Policy for Stub {
    fn is_local_domain(&self, domain: &str) -> bool {
        domain.eq_ignore_ascii_case("localhost")
    }
    fn primary_domain(&self) -> &str {
        "localhost"
    }
    fn may_relay(&self, _client: IpAddr) -> bool {
        false
    }
    fn user_exists(&self, _local_part: &str, _domain: &str) -> bool {
        true
    }
    fn accepts_logins(&self) -> bool {
        true
    }
    fn check_password(&self, _address: &str, _password: &str) -> bool {
        false
    }
    fn local_mailbox(&self, local_part: &str, _domain: &str) -> Decision {
        match local_part {
            "list" => Decision::Group(vec![mailbox("ann"), mailbox("bob")]),
            "big" => Decision::Group(["a", "b", "c", "d", "e"].map(mailbox).to_vec()),
            "empty" => Decision::Group(vec![]),
            "down" => Decision::TryLater,
            other => Decision::Local(mailbox(other)),
        }
    }
    fn authenticate(&self, _address: &str, _password: &str) -> Result<(), LoginFailure> {
        Err(LoginFailure::TryLater)
    }
}

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
