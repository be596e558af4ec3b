//! Session tests for STARTTLS (RFC 3207), AUTH (RFC 4954) and the submission rules
//! (RFC 6409): lines in, replies and states out. The handshake itself is the
//! connection's job; here it is reported with `tls_established`, as the connection does.

use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::tests::{code, config, connected_with, send, started, wire};
use super::*;
use crate::accounts::Users;
use crate::config::Config;
use crate::tls::testing::{certificate, tls_info};

/// A configuration with a certificate, so STARTTLS is offered.
fn with_tls() -> Config {
    let mut config = config();
    config.tls = Some(certificate());
    config
}

fn client(config: Config) -> Session {
    connected_with(config, "192.0.2.7:4000")
}

#[test]
fn starttls_is_offered_only_with_a_certificate() {
    let mut plain = client(config());
    assert!(!wire(&mut plain, "EHLO c.example").contains("STARTTLS"));
    assert_eq!(
        wire(&mut plain, "STARTTLS"),
        "502 5.5.1 STARTTLS is not implemented here\r\n"
    );

    let mut s = client(with_tls());
    assert!(wire(&mut s, "EHLO c.example").contains("STARTTLS\r\n"));
}

#[test]
fn starttls_then_the_session_starts_over() {
    let mut s = client(with_tls());
    assert_eq!(code(&mut s, "EHLO c.example"), 250);
    let action = send(&mut s, "STARTTLS");
    assert_eq!(action, Action::StartTls(Reply::ready_to_start_tls()));
    assert_eq!(
        action.reply().unwrap().to_wire_string(),
        "220 2.0.0 Ready to start TLS\r\n"
    );
    s.handle(Input::Wire(Event::TlsEstablished(tls_info())));
    // RFC 3207 §4.2: back to the greeted state; the old EHLO is forgotten.
    assert_eq!(s.state(), &State::Connected);
    assert_eq!(s.security().tls, Some(tls_info()));
    assert_eq!(
        wire(&mut s, "MAIL FROM:<a@example.org>"),
        "503 Send EHLO (or HELO) first\r\n"
    );
    let ehlo = wire(&mut s, "EHLO c.example");
    assert!(ehlo.starts_with("250-"), "{ehlo}");
    assert!(!ehlo.contains("STARTTLS"), "{ehlo}");
    assert_eq!(
        wire(&mut s, "STARTTLS"),
        "503 5.5.1 TLS is already active\r\n"
    );
    assert_eq!(code(&mut s, "MAIL FROM:<a@example.org>"), 250);
}

#[test]
fn starttls_out_of_order_or_with_a_parameter() {
    let mut s = client(with_tls());
    // Before EHLO: no enhanced status code yet (RFC 2034 §3).
    assert_eq!(wire(&mut s, "STARTTLS"), "503 Send EHLO first\r\n");
    assert_eq!(code(&mut s, "EHLO c.example"), 250);
    assert_eq!(
        wire(&mut s, "STARTTLS now"),
        "501 5.5.4 STARTTLS takes no arguments\r\n"
    );
    assert_eq!(code(&mut s, "MAIL FROM:<a@example.org>"), 250);
    assert_eq!(code(&mut s, "STARTTLS"), 503);
    assert_eq!(s.state().name(), "MailFrom");
    assert_eq!(code(&mut s, "RSET"), 250);
    assert!(matches!(send(&mut s, "STARTTLS"), Action::StartTls(_)));
}

#[test]
fn pipelined_commands_after_starttls_close_the_session() {
    let mut s = client(with_tls());
    assert_eq!(code(&mut s, "EHLO c.example"), 250);
    assert!(matches!(send(&mut s, "STARTTLS"), Action::StartTls(_)));
    let Action::Close(reply) = s.handle(Input::Wire(Event::PlaintextAfterTls)) else {
        panic!("commands pipelined after STARTTLS must close the connection");
    };
    assert_eq!(reply.code(), 554);
    assert_eq!(s.state(), &State::Closed);
}

// ---------------------------------------------------------------------------------------
// AUTH

/// alice@localhost with password "secret", bob@localhost without a password
/// (hashed once: Argon2 is slow on purpose).
fn users() -> Users {
    static HASH: OnceLock<String> = OnceLock::new();
    let hash = HASH.get_or_init(|| crate::accounts::hash_password("secret").unwrap());
    Users::parse(&format!("alice@localhost {hash}\nbob@localhost\n")).unwrap()
}

fn b64(text: &str) -> String {
    STANDARD.encode(text)
}

/// A session over TLS (as after STARTTLS), with the users file, past EHLO.
fn logged_out() -> Session {
    let mut config = with_tls();
    config.policy.users = Some(users());
    let mut s = client(config);
    s.handle(Input::Wire(Event::TlsEstablished(tls_info())));
    assert_eq!(code(&mut s, "EHLO c.example"), 250);
    s
}

#[test]
fn auth_is_advertised_only_over_tls_with_a_users_file() {
    let mut s = logged_out();
    assert!(wire(&mut s, "EHLO c.example").contains("250 AUTH PLAIN LOGIN\r\n"));

    // Plaintext: not offered, and refused with 538 (RFC 4954 §6).
    let mut config = config();
    config.policy.users = Some(users());
    let mut plain = client(config.clone());
    assert!(!wire(&mut plain, "EHLO c.example").contains("AUTH"));
    assert_eq!(
        wire(&mut plain, &format!("AUTH PLAIN {}", b64("\0alice@localhost\0secret"))),
        "538 5.7.11 Encryption required for requested authentication mechanism: use STARTTLS first\r\n"
    );

    // --allow-plaintext-auth: loopback clients only.
    config.allow_plaintext_auth = true;
    let mut remote = client(config.clone());
    assert!(!wire(&mut remote, "EHLO c.example").contains("AUTH"));
    assert_eq!(code(&mut remote, "AUTH LOGIN"), 538);
    let mut local = connected_with(config, "127.0.0.1:4000");
    assert!(wire(&mut local, "EHLO c.example").contains("AUTH PLAIN LOGIN"));
    assert_eq!(code(&mut local, "AUTH LOGIN"), 334);

    // No users file: no passwords to check.
    let mut none = client(with_tls());
    none.handle(Input::Wire(Event::TlsEstablished(tls_info())));
    assert!(!wire(&mut none, "EHLO c.example").contains("AUTH"));
    assert_eq!(code(&mut none, "AUTH PLAIN"), 502);
}

#[test]
fn auth_plain_with_an_initial_response() {
    let mut s = logged_out();
    let response = b64("\0alice@localhost\0secret");
    assert_eq!(
        wire(&mut s, &format!("AUTH PLAIN {response}")),
        "235 2.7.0 Authentication successful\r\n"
    );
    assert_eq!(s.security().user.as_deref(), Some("alice@localhost"));
    // RFC 4954 §4: only once.
    assert_eq!(code(&mut s, &format!("AUTH PLAIN {response}")), 503);
}

#[test]
fn auth_plain_and_login_with_challenges() {
    let mut s = logged_out();
    assert_eq!(wire(&mut s, "AUTH PLAIN"), "334 \r\n");
    assert_eq!(s.state().name(), "Auth");
    assert_eq!(code(&mut s, &b64("\0ALICE@localhost\0secret")), 235);
    assert_eq!(s.security().user.as_deref(), Some("alice@localhost"));

    let mut s = logged_out();
    assert_eq!(wire(&mut s, "auth login"), "334 VXNlcm5hbWU6\r\n");
    assert_eq!(
        wire(&mut s, &b64("alice@localhost")),
        "334 UGFzc3dvcmQ6\r\n"
    );
    assert_eq!(code(&mut s, &b64("secret")), 235);
    assert_eq!(s.state().name(), "Ready");

    // LOGIN with the user name as initial response.
    let mut s = logged_out();
    let first = format!("AUTH LOGIN {}", b64("alice@localhost"));
    assert_eq!(wire(&mut s, &first), "334 UGFzc3dvcmQ6\r\n");
    assert_eq!(code(&mut s, &b64("secret")), 235);
}

#[test]
fn auth_failures_cancel_and_bad_base64() {
    let mut s = logged_out();
    assert_eq!(
        wire(
            &mut s,
            &format!("AUTH PLAIN {}", b64("\0alice@localhost\0wrong"))
        ),
        "535 5.7.8 Authentication credentials invalid\r\n"
    );
    assert_eq!(s.security().user, None);
    // "*" cancels (RFC 4954 §4), and does not count as a failure.
    assert_eq!(code(&mut s, "AUTH LOGIN"), 334);
    assert_eq!(wire(&mut s, "*"), "501 5.0.0 Authentication cancelled\r\n");
    assert_eq!(s.state().name(), "Ready");
    assert_eq!(code(&mut s, "AUTH PLAIN"), 334);
    assert_eq!(code(&mut s, "not base64!"), 501);
    assert_eq!(code(&mut s, "AUTH CRAM-MD5"), 504);
    // A user without a password, and an unknown user, fail like a wrong password.
    assert_eq!(
        code(&mut s, &format!("AUTH PLAIN {}", b64("\0bob@localhost\0x"))),
        535
    );
    // The third failure closes the connection.
    let action = send(
        &mut s,
        &format!("AUTH PLAIN {}", b64("\0nobody@localhost\0x")),
    );
    assert_eq!(
        action,
        Action::Close(Reply::too_many_auth_failures("mx.example.test"))
    );
    assert_eq!(action.reply().unwrap().code(), 421);
    assert_eq!(s.state(), &State::Closed);
}

#[test]
fn auth_is_not_allowed_in_a_transaction() {
    let mut s = logged_out();
    assert_eq!(code(&mut s, "MAIL FROM:<a@example.org>"), 250);
    assert_eq!(code(&mut s, "AUTH PLAIN"), 503);
    assert_eq!(s.state().name(), "MailFrom");
}

#[test]
fn auth_answers_are_masked_for_the_trace() {
    let mut s = logged_out();
    let response = b64("\0alice@localhost\0secret");
    assert_eq!(
        s.shown(&format!("AUTH PLAIN {response}")),
        "AUTH PLAIN <hidden>"
    );
    assert_eq!(code(&mut s, "AUTH LOGIN"), 334);
    assert_eq!(s.shown(&b64("alice@localhost")), "<hidden>");
    assert_eq!(s.line_limit(), 12288);
    assert_eq!(code(&mut s, "*"), 501);
    assert_eq!(s.line_limit(), 512);
    assert_eq!(s.shown("MAIL FROM:<a@b>"), "MAIL FROM:<a@b>");
}

#[test]
fn a_logged_in_user_may_relay_anywhere() {
    let mut config = with_tls();
    config.policy.users = Some(users());
    config.policy.relay_networks.clear();
    let mut s = client(config);
    s.handle(Input::Wire(Event::TlsEstablished(tls_info())));
    assert_eq!(code(&mut s, "EHLO c.example"), 250);
    assert_eq!(code(&mut s, "MAIL FROM:<alice@example.org>"), 250);
    assert_eq!(code(&mut s, "RCPT TO:<carol@elsewhere.example>"), 550);
    assert_eq!(code(&mut s, "RSET"), 250);
    let response = b64("\0alice@localhost\0secret");
    assert_eq!(code(&mut s, &format!("AUTH PLAIN {response}")), 235);
    assert_eq!(code(&mut s, "MAIL FROM:<alice@localhost>"), 250);
    assert_eq!(code(&mut s, "RCPT TO:<carol@elsewhere.example>"), 250);
}

// ---------------------------------------------------------------------------------------
// Submission (RFC 6409)

fn submission() -> Session {
    let mut config = with_tls();
    config.policy.users = Some(users());
    let mut s = started(config, Service::Submission, "192.0.2.7:4000");
    s.handle(Input::Wire(Event::TlsEstablished(tls_info())));
    assert_eq!(code(&mut s, "EHLO c.example"), 250);
    s
}

#[test]
fn submission_needs_auth_before_mail() {
    let mut s = submission();
    assert_eq!(
        wire(&mut s, "MAIL FROM:<alice@localhost>"),
        "530 5.7.0 Authentication required: log in with AUTH first\r\n"
    );
    let response = b64("\0alice@localhost\0secret");
    assert_eq!(code(&mut s, &format!("AUTH PLAIN {response}")), 235);
    assert_eq!(code(&mut s, "MAIL FROM:<Alice@LOCALHOST>"), 250);
}

#[test]
fn submission_refuses_a_forged_sender() {
    let mut s = submission();
    let response = b64("\0alice@localhost\0secret");
    assert_eq!(code(&mut s, &format!("AUTH PLAIN {response}")), 235);
    assert_eq!(
        wire(&mut s, "MAIL FROM:<bob@localhost>"),
        "553 5.7.1 Sender <bob@localhost> is not yours: you are logged in as <alice@localhost>\r\n"
    );
    assert_eq!(code(&mut s, "MAIL FROM:<>"), 553);
}
