//! A policy of one's own: the sessions ask a `Policy` who is who (src/policy.rs), so a
//! server started with another policy decides differently without any change to the
//! core. Over loopback, as a client would see it.

mod common;
use common::*;

use std::net::IpAddr;
use std::sync::Arc;

use postie::policy::Policy;

/// Mail for `example.test` only, for one user; relaying only from one documentation
/// network (so not from this machine); no logins.
struct OnlyCarol;

impl Policy for OnlyCarol {
    fn is_local_domain(&self, domain: &str) -> bool {
        domain.eq_ignore_ascii_case("example.test")
    }
    fn primary_domain(&self) -> &str {
        "example.test"
    }
    fn may_relay(&self, client: IpAddr) -> bool {
        client == IpAddr::from([192, 0, 2, 1])
    }
    fn user_exists(&self, local_part: &str, _domain: &str) -> bool {
        local_part.eq_ignore_ascii_case("carol")
    }
    fn accepts_logins(&self) -> bool {
        false
    }
    fn check_password(&self, _address: &str, _password: &str) -> bool {
        false
    }
}

#[test]
fn the_sessions_ask_the_policy_not_the_configuration() {
    let server = TestServer::start_with_policy(Arc::new(OnlyCarol));
    let mut client = server.connect();
    let ehlo = client.cmd("EHLO client.example");
    assert!(ehlo.starts_with("250"), "{ehlo}");
    assert!(!ehlo.contains("AUTH"), "no logins, so no AUTH: {ehlo}");
    assert!(client
        .cmd("MAIL FROM:<alice@example.org>")
        .starts_with("250"));
    // The policy's user, in the policy's domain.
    assert!(client
        .cmd("RCPT TO:<Carol@example.test>")
        .starts_with("250 2.1.5"));
    // Not the policy's user; the configuration's domain `localhost` is not ours here.
    assert!(client
        .cmd("RCPT TO:<dave@example.test>")
        .starts_with("550 5.1.1"));
    assert!(client
        .cmd("RCPT TO:<bob@localhost>")
        .starts_with("550 5.7.1"));
    // <Postmaster> always works (RFC 5321 §4.5.1), in the policy's first domain.
    assert!(client.cmd("RCPT TO:<Postmaster>").starts_with("250"));
    assert!(client.cmd("DATA").starts_with("354"));
    assert!(client
        .cmd("Subject: hi\r\n\r\nHello\r\n.")
        .starts_with("250 2.0.0"));
    assert_eq!(server.messages("example.test", "carol").len(), 1);
    assert_eq!(server.messages("example.test", "postmaster").len(), 1);
    assert!(server.messages("localhost", "bob").is_empty());
}
