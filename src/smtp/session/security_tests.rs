//! Session tests for STARTTLS (RFC 3207): lines in, replies and states out. The
//! handshake itself is the connection's job; here it is reported with
//! `tls_established`, as the connection does.

use super::tests::{code, config, connected_with, send, wire};
use super::*;

/// A configuration with a certificate, so STARTTLS is offered.
fn with_tls() -> Config {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config();
    config.tls =
        Some(crate::tls::self_signed("mx.example.test", &dir.path().join("cert.pem")).unwrap());
    config
}

fn tls_info() -> TlsInfo {
    TlsInfo {
        version: "TLSv1.3".into(),
        cipher: "TLS13_AES_128_GCM_SHA256".into(),
    }
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
        action.reply().to_wire_string(),
        "220 2.0.0 Ready to start TLS\r\n"
    );
    s.tls_established(tls_info());
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
    let reply = s.pipelined_after_starttls();
    assert_eq!(reply.code(), 554);
    assert_eq!(s.state(), &State::Closed);
}
