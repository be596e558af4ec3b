//! STARTTLS (RFC 3207) against real clients: lettre (rustls), curl, swaks and msmtp
//! each upgrade the connection, trusting only the certificate postie generated, and
//! deliver a message; the `Received:` field says ESMTPS and names the cipher.
//!
//! Also the rules a client cannot see by succeeding: commands pipelined behind STARTTLS
//! are refused (CVE-2011-0411), and after the handshake the client starts over with EHLO.
//!
//! The external tools come from Debian packages; a missing one skips its test on a
//! developer's machine and fails it in CI (see `common/tools.rs`).

mod common;
use common::tools::*;
use common::*;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output};

use lettre::message::Mailbox;
use lettre::transport::smtp::client::Tls;
use lettre::transport::smtp::extension::ClientId;
use lettre::{Message, SmtpTransport, Transport};

/// The single message for bob@localhost, as text.
fn bobs_message(server: &TestServer) -> String {
    let messages = server.messages("localhost", "bob");
    assert_eq!(messages.len(), 1, "messages for bob@localhost");
    String::from_utf8_lossy(&messages[0]).into_owned()
}

/// The message went through TLS, and the trace field says so (RFC 3848).
fn assert_arrived_over_tls(server: &TestServer, marker: &str) {
    let message = bobs_message(server);
    assert!(message.contains(marker), "{message}");
    assert!(
        message.contains(" with ESMTPS (using TLSv1."),
        "Received: should say ESMTPS: {message}"
    );
    assert!(message.contains(" with cipher TLS"), "{message}");
}

fn mailbox(address: &str) -> Mailbox {
    address.parse().expect("a valid mailbox")
}

#[test]
fn lettre_sends_over_starttls() {
    let server = TestServer::start_with_tls(|_| {});
    let transport = SmtpTransport::builder_dangerous("127.0.0.1")
        .port(server.addr.port())
        .hello_name(ClientId::Domain("client.example".into()))
        .tls(Tls::Required(lettre_tls(&server.cert())))
        .timeout(Some(CHILD_TIMEOUT))
        .build();
    let email = Message::builder()
        .from(mailbox("alice@example.org"))
        .to(mailbox("bob@localhost"))
        .subject("over TLS")
        .body("marker-lettre-tls\r\n".to_string())
        .expect("a message");
    transport.send(&email).expect("lettre sends over STARTTLS");
    assert_arrived_over_tls(&server, "marker-lettre-tls");
}

#[test]
fn lettre_refuses_a_server_without_starttls() {
    // Tls::Required must not fall back to plaintext: postie without a certificate
    // does not offer STARTTLS, so nothing is sent.
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    postie::tls::self_signed("localhost", &cert).unwrap();
    let transport = SmtpTransport::builder_dangerous("127.0.0.1")
        .port(server.addr.port())
        .tls(Tls::Required(lettre_tls(&cert)))
        .timeout(Some(CHILD_TIMEOUT))
        .build();
    let email = Message::builder()
        .from(mailbox("alice@example.org"))
        .to(mailbox("bob@localhost"))
        .body(String::from("no\r\n"))
        .unwrap();
    assert!(transport.send(&email).is_err());
    assert!(server.messages("localhost", "bob").is_empty());
}

#[test]
fn curl_sends_over_starttls() {
    if !tool("curl") {
        return;
    }
    let server = TestServer::start_with_tls(|_| {});
    let port = server.addr.port();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("message.eml");
    std::fs::write(&file, b"Subject: curl over TLS\r\n\r\nmarker-curl-tls\r\n").unwrap();
    // The certificate names localhost; --resolve points that name at our port without
    // asking any resolver.
    let output = run(
        Command::new("curl")
            .args(["-sS", "--ssl-reqd", "--cacert"])
            .arg(server.cert())
            .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
            .arg(format!("smtp://localhost:{port}/client.example"))
            .args([
                "--mail-from",
                "alice@example.org",
                "--mail-rcpt",
                "bob@localhost",
            ])
            .arg("--upload-file")
            .arg(&file),
        b"",
    );
    succeeded(&output);
    assert_arrived_over_tls(&server, "marker-curl-tls");
}

#[test]
fn curl_with_the_wrong_certificate_sends_nothing() {
    if !tool("curl") {
        return;
    }
    let server = TestServer::start_with_tls(|_| {});
    let port = server.addr.port();
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.pem");
    postie::tls::self_signed("localhost", &other).unwrap();
    let file = dir.path().join("message.eml");
    std::fs::write(&file, b"Subject: no\r\n\r\nno\r\n").unwrap();
    let output = run(
        Command::new("curl")
            .args(["-sS", "--ssl-reqd", "--cacert"])
            .arg(&other)
            .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
            .arg(format!("smtp://localhost:{port}/client.example"))
            .args([
                "--mail-from",
                "alice@example.org",
                "--mail-rcpt",
                "bob@localhost",
            ])
            .arg("--upload-file")
            .arg(&file),
        b"",
    );
    assert!(!output.status.success(), "curl trusted a stranger");
    assert!(server.messages("localhost", "bob").is_empty());
}

/// swaks with STARTTLS required and the certificate verified.
fn swaks_tls(server: &TestServer, extra: &[&str]) -> Output {
    let to = format!("127.0.0.1:{}", server.addr.port());
    run(
        Command::new("swaks")
            .args(["--server", &to, "--to", "bob@localhost"])
            .args(["--from", "alice@example.org", "--helo", "client.example"])
            .args(["--tls", "--tls-verify", "--tls-sni", "localhost"])
            .arg("--tls-ca-path")
            .arg(server.cert())
            .args(["--body", "marker-swaks-tls"])
            .args(extra),
        b"",
    )
}

#[test]
fn swaks_sends_over_starttls() {
    if !tool("swaks") {
        return;
    }
    let server = TestServer::start_with_tls(|_| {});
    let transcript = succeeded(&swaks_tls(&server, &[]));
    assert!(
        transcript.contains("<-  220 2.0.0 Ready to start TLS"),
        "{transcript}"
    );
    assert!(
        transcript.contains("=== TLS started with cipher"),
        "{transcript}"
    );
    assert_arrived_over_tls(&server, "marker-swaks-tls");
}

/// msmtp with an empty configuration file, so nothing from the machine leaks in.
fn msmtp(server: &TestServer, dir: &Path, extra: &[&str], message: &[u8]) -> Output {
    let rc = dir.join("msmtprc");
    std::fs::write(&rc, "").unwrap();
    // msmtp refuses a configuration file others can read.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&rc, std::fs::Permissions::from_mode(0o600)).unwrap();
    run(
        Command::new("msmtp")
            .arg(format!("--file={}", rc.display()))
            .args([
                "--host=127.0.0.1",
                &format!("--port={}", server.addr.port()),
            ])
            .args(["--domain=client.example", "--from=alice@example.org"])
            .args([
                "--tls=on",
                "--tls-starttls=on",
                "--tls-host-override=localhost",
            ])
            .arg(format!("--tls-trust-file={}", server.cert().display()))
            .args(extra)
            .arg("bob@localhost"),
        message,
    )
}

#[test]
fn msmtp_sends_over_starttls() {
    if !tool("msmtp") {
        return;
    }
    let server = TestServer::start_with_tls(|_| {});
    let dir = tempfile::tempdir().unwrap();
    let message = b"Subject: msmtp over TLS\n\nmarker-msmtp-tls\n";
    succeeded(&msmtp(&server, dir.path(), &[], message));
    assert_arrived_over_tls(&server, "marker-msmtp-tls");
}

#[test]
fn commands_pipelined_behind_starttls_are_refused() {
    let server = TestServer::start_with_tls(|_| {});
    let mut client = server.connect();
    assert!(client.cmd("EHLO client.example").contains("STARTTLS"));
    // CVE-2011-0411: an attacker on the path appends a command to the client's
    // STARTTLS. Had the server kept it, it would run as if sent inside TLS.
    client.send(b"STARTTLS\r\nRSET\r\n");
    let reply = client.read_reply();
    assert!(reply.starts_with("554 5.5.1 "), "{reply}");
    assert!(client.is_closed(), "the connection must be closed");
}

#[test]
fn after_the_handshake_the_client_says_ehlo_again() {
    let server = TestServer::start_with_tls(|_| {});
    let mut client = server.connect();
    assert!(client.cmd("EHLO client.example").contains("STARTTLS\r\n"));
    let mut client = client.starttls(&server.cert());
    // RFC 3207 §4.2: the old EHLO is forgotten, and STARTTLS is not offered again.
    assert_eq!(
        client.cmd("MAIL FROM:<alice@example.org>"),
        "503 Send EHLO (or HELO) first\r\n"
    );
    let ehlo = client.cmd("EHLO client.example");
    assert!(ehlo.starts_with("250-mx.example.test greets client.example\r\n"));
    assert!(!ehlo.contains("STARTTLS"), "{ehlo}");
    assert_eq!(
        client.cmd("STARTTLS"),
        "503 5.5.1 TLS is already active\r\n"
    );
    client.begin_message("alice@example.org", &["bob@localhost"]);
    client.send(b"Subject: raw\r\n\r\nmarker-raw-tls\r\n.\r\n");
    assert!(client.read_reply().starts_with("250 "));
    assert!(client.cmd("QUIT").starts_with("221 "));
    assert_arrived_over_tls(&server, "marker-raw-tls");
}

#[test]
fn plaintext_after_starttls_ends_the_connection() {
    // A client that says STARTTLS and then keeps talking in plaintext (in a second
    // write, so the server has already answered 220) fails the handshake: its words
    // are never read as commands.
    let server = TestServer::start_with_tls(|_| {});
    let mut client = server.connect();
    client.cmd("EHLO client.example");
    assert!(client.cmd("STARTTLS").starts_with("220 "));
    client.send(b"MAIL FROM:<mallory@example.org>\r\n");
    let mut rest = Vec::new();
    let _ = client.stream.read_to_end(&mut rest);
    // At most a TLS alert comes back, never an SMTP reply.
    assert!(!rest.windows(4).any(|w| w == b"250 "), "{rest:?}");
}
