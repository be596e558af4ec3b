//! AUTH (RFC 4954) and the submission port (RFC 6409) against real clients: swaks,
//! curl, msmtp and lettre log in over STARTTLS and deliver; every refusal is checked
//! on the wire: wrong password, cancel, three strikes, AUTH in plaintext, MAIL before
//! AUTH on the submission port, a forged sender. A logged-in user relays through a
//! route to smtp-sink, and `--trace` never shows a password.
//!
//! The external tools come from Debian packages; a missing one skips its test on a
//! developer's machine and fails it in CI (see `common/tools.rs`).

mod common;
#[path = "common/peers.rs"]
mod peers;
use common::tools::*;
use common::*;

use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::Tls;
use lettre::transport::smtp::extension::ClientId;
use lettre::{Message, SmtpTransport, Transport};
use postie::accounts::Users;
use postie::config::{Config, Route};

const PASSWORD: &str = "correct horse";

/// alice@localhost and bob@localhost, both with the password [`PASSWORD`].
fn users() -> Users {
    static HASH: OnceLock<String> = OnceLock::new();
    let hash = HASH.get_or_init(|| postie::accounts::hash_password(PASSWORD).unwrap());
    Users::parse(&format!("alice@localhost {hash}\nbob@localhost {hash}\n")).unwrap()
}

/// A server with STARTTLS, the users file, and a submission listener; 127.0.0.1 is
/// not a trusted network, so only a logged-in user may relay.
fn server_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
    TestServer::start_with_tls(|c| {
        c.policy.users = Some(users());
        c.policy.relay_networks.clear();
        c.set_listener(Protocol::Smtp(Service::Submission), any_port());
        adjust(c);
    })
}

fn server() -> TestServer {
    server_with(|_| {})
}

fn plain(user: &str, password: &str) -> String {
    STANDARD.encode(format!("\0{user}\0{password}"))
}

/// A client past STARTTLS and the second EHLO, on `addr`.
fn tls_client(server: &TestServer, addr: std::net::SocketAddr) -> Client<TlsStream> {
    let mut client = Client::connect(addr);
    assert!(client.read_reply().starts_with("220 "));
    assert!(client.cmd("EHLO client.example").starts_with("250"));
    let mut client = client.starttls(&server.cert());
    let ehlo = client.cmd("EHLO client.example");
    assert!(ehlo.contains("250 AUTH PLAIN LOGIN\r\n"), "{ehlo}");
    client
}

/// The single message in `user@localhost`'s mailbox.
fn only_message(server: &TestServer, user: &str) -> String {
    let messages = server.messages("localhost", user);
    assert_eq!(messages.len(), 1, "messages for {user}@localhost");
    String::from_utf8_lossy(&messages[0]).into_owned()
}

// ---------------------------------------------------------------------------------------
// Raw dialogues over TLS

#[test]
fn auth_plain_then_a_message_says_esmtpsa() {
    let server = server();
    let mut client = tls_client(&server, server.addr);
    let reply = client.cmd(&format!(
        "AUTH PLAIN {}",
        plain("alice@localhost", PASSWORD)
    ));
    assert_eq!(reply, "235 2.7.0 Authentication successful\r\n");
    client.begin_message("alice@localhost", &["bob@localhost"]);
    client.send(b"Subject: hi\r\n\r\nmarker-auth-plain\r\n.\r\n");
    assert!(client.read_reply().starts_with("250 "));
    client.cmd("QUIT");
    let message = only_message(&server, "bob");
    assert!(message.contains(" with ESMTPSA (using TLSv1."), "{message}");
}

#[test]
fn auth_login_wrong_password_cancel_and_three_strikes() {
    let server = server();
    let mut client = tls_client(&server, server.addr);
    assert_eq!(client.cmd("AUTH LOGIN"), "334 VXNlcm5hbWU6\r\n");
    assert_eq!(
        client.cmd(&STANDARD.encode("alice@localhost")),
        "334 UGFzc3dvcmQ6\r\n"
    );
    assert_eq!(
        client.cmd(&STANDARD.encode("wrong")),
        "535 5.7.8 Authentication credentials invalid\r\n"
    );
    // "*" cancels; it is not a failed attempt.
    assert_eq!(client.cmd("AUTH PLAIN"), "334 \r\n");
    assert_eq!(client.cmd("*"), "501 5.0.0 Authentication cancelled\r\n");
    let reply = client.cmd(&format!("AUTH PLAIN {}", plain("nobody@localhost", "x")));
    assert!(reply.starts_with("535 5.7.8 "), "{reply}");
    let reply = client.cmd(&format!("AUTH PLAIN {}", plain("alice@localhost", "x")));
    assert!(reply.starts_with("421 4.7.0 "), "{reply}");
    assert!(client.is_closed());
}

#[test]
fn auth_in_plaintext_is_refused_and_not_offered() {
    let server = server();
    let mut client = server.connect();
    let ehlo = client.cmd("EHLO client.example");
    assert!(
        ehlo.contains("STARTTLS") && !ehlo.contains("AUTH"),
        "{ehlo}"
    );
    assert_eq!(
        client.cmd(&format!("AUTH PLAIN {}", plain("alice@localhost", PASSWORD))),
        "538 5.7.11 Encryption required for requested authentication mechanism: use STARTTLS first\r\n"
    );
    // Nothing was learned about the password: still not logged in.
    assert!(client
        .cmd("MAIL FROM:<alice@example.org>")
        .starts_with("250 "));
    assert!(client
        .cmd("RCPT TO:<carol@elsewhere.test>")
        .starts_with("550 5.7.1 "));
}

#[test]
fn implicit_tls_submission_port() {
    let server =
        server_with(|c| c.set_listener(Protocol::Smtp(Service::SubmissionTls), any_port()));
    let client = Client::connect(server.smtps().expect("an smtps listener"));
    // RFC 8314: TLS from the first byte; the greeting comes inside it.
    let mut client = client.start_tls(&server.cert());
    assert!(client.read_reply().starts_with("220 "));
    let ehlo = client.cmd("EHLO client.example");
    assert!(
        !ehlo.contains("STARTTLS") && ehlo.contains("AUTH PLAIN LOGIN"),
        "{ehlo}"
    );
    assert!(client
        .cmd("MAIL FROM:<alice@localhost>")
        .starts_with("530 5.7.0 "));
    let reply = client.cmd(&format!(
        "AUTH PLAIN {}",
        plain("alice@localhost", PASSWORD)
    ));
    assert!(reply.starts_with("235 "), "{reply}");
    client.begin_message("alice@localhost", &["bob@localhost"]);
    client.send(b"Subject: 465\r\n\r\nmarker-smtps\r\n.\r\n");
    assert!(client.read_reply().starts_with("250 "));
    assert!(only_message(&server, "bob").contains("marker-smtps"));
}

// ---------------------------------------------------------------------------------------
// The submission port (RFC 6409)

#[test]
fn submission_without_auth_is_refused() {
    let server = server();
    let mut client = tls_client(&server, server.submission().expect("a submission listener"));
    assert_eq!(
        client.cmd("MAIL FROM:<alice@localhost>"),
        "530 5.7.0 Authentication required: log in with AUTH first\r\n"
    );
    // Even for a local recipient: submission is for logged-in users only.
    assert!(client.cmd("RCPT TO:<bob@localhost>").starts_with("503 "));
}

#[test]
fn submission_refuses_another_users_sender() {
    let server = server();
    let mut client = tls_client(&server, server.submission().expect("a submission listener"));
    let reply = client.cmd(&format!(
        "AUTH PLAIN {}",
        plain("alice@localhost", PASSWORD)
    ));
    assert!(reply.starts_with("235 "), "{reply}");
    assert_eq!(
        client.cmd("MAIL FROM:<bob@localhost>"),
        "553 5.7.1 Sender <bob@localhost> is not yours: you are logged in as <alice@localhost>\r\n"
    );
    assert!(client
        .cmd("MAIL FROM:<alice@localhost>")
        .starts_with("250 "));
}

#[test]
fn an_authenticated_user_relays_through_a_route() {
    let Some(sink) = peers::SmtpSink::start(0, &[]) else {
        return;
    };
    let port = sink.addr.port();
    let server = server_with(|c| {
        c.relay.routes = vec![Route {
            domain: "sink.test".into(),
            host: "127.0.0.1".into(),
            port,
        }];
    });
    let mut client = tls_client(&server, server.submission().expect("a submission listener"));
    // Not logged in yet: relaying is refused on the SMTP port too (see above), and on
    // the submission port MAIL itself is.
    let reply = client.cmd(&format!(
        "AUTH PLAIN {}",
        plain("alice@localhost", PASSWORD)
    ));
    assert!(reply.starts_with("235 "), "{reply}");
    client.begin_message("alice@localhost", &["carol@sink.test"]);
    client.send(b"Subject: relayed\r\n\r\nmarker-relayed\r\n.\r\n");
    assert!(client.read_reply().starts_with("250 "));
    client.cmd("QUIT");
    peers::wait_until(Duration::from_secs(20), "the sink's dump", || {
        sink.dumps().iter().any(|d| d.contains("marker-relayed"))
    });
    let dump = sink
        .dumps()
        .into_iter()
        .find(|d| d.contains("marker-relayed"))
        .unwrap();
    assert!(dump.contains("X-Rcpt-Args: <carol@sink.test>"), "{dump}");
    assert!(dump.contains(" with ESMTPSA (using TLSv1."), "{dump}");
}

// ---------------------------------------------------------------------------------------
// Real clients

fn lettre_message(marker: &str) -> Message {
    Message::builder()
        .from("alice@localhost".parse::<Mailbox>().unwrap())
        .to("bob@localhost".parse::<Mailbox>().unwrap())
        .subject("lettre AUTH")
        .body(format!("{marker}\r\n"))
        .unwrap()
}

#[test]
fn lettre_logs_in_on_the_submission_port() {
    let server = server();
    for (mechanism, marker) in [
        (Mechanism::Plain, "marker-lettre-plain"),
        (Mechanism::Login, "marker-lettre-login"),
    ] {
        let transport = SmtpTransport::builder_dangerous("127.0.0.1")
            .port(server.submission().unwrap().port())
            .hello_name(ClientId::Domain("client.example".into()))
            .tls(Tls::Required(lettre_tls(&server.cert())))
            .credentials(Credentials::new("alice@localhost".into(), PASSWORD.into()))
            .authentication(vec![mechanism])
            .timeout(Some(CHILD_TIMEOUT))
            .build();
        transport
            .send(&lettre_message(marker))
            .unwrap_or_else(|e| panic!("{mechanism:?}: {e}"));
    }
    let mut found = server.messages("localhost", "bob");
    assert_eq!(found.len(), 2);
    found.sort();
    let all = String::from_utf8_lossy(&found.concat()).into_owned();
    assert!(all.contains("marker-lettre-plain") && all.contains("marker-lettre-login"));
}

#[test]
fn lettre_with_a_wrong_password_sends_nothing() {
    let server = server();
    let transport = SmtpTransport::builder_dangerous("127.0.0.1")
        .port(server.submission().unwrap().port())
        .tls(Tls::Required(lettre_tls(&server.cert())))
        .credentials(Credentials::new("alice@localhost".into(), "wrong".into()))
        .timeout(Some(CHILD_TIMEOUT))
        .build();
    let error = transport.send(&lettre_message("no")).unwrap_err();
    assert!(error.to_string().contains("535"), "{error}");
    assert!(server.messages("localhost", "bob").is_empty());
}

fn swaks_auth(server: &TestServer, mechanism: &str, password: &str) -> Output {
    let to = format!("127.0.0.1:{}", server.submission().unwrap().port());
    run(
        Command::new("swaks")
            .args(["--server", &to, "--to", "bob@localhost"])
            .args(["--from", "alice@localhost", "--helo", "client.example"])
            .args(["--tls", "--tls-verify", "--tls-sni", "localhost"])
            .arg("--tls-ca-path")
            .arg(server.cert())
            .args(["--auth", mechanism, "--auth-user", "alice@localhost"])
            .args(["--auth-password", password])
            .args(["--body", "marker-swaks-auth"]),
        b"",
    )
}

#[test]
fn swaks_logs_in_with_plain_and_login() {
    if !tool("swaks") {
        return;
    }
    let server = server();
    for mechanism in ["PLAIN", "LOGIN"] {
        let transcript = succeeded(&swaks_auth(&server, mechanism, PASSWORD));
        assert!(
            transcript.contains("<~  235 2.7.0 Authentication successful"),
            "{transcript}"
        );
    }
    assert_eq!(server.messages("localhost", "bob").len(), 2);
    let failed = swaks_auth(&server, "PLAIN", "wrong");
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stdout).contains("<~* 535 5.7.8"));
    assert_eq!(server.messages("localhost", "bob").len(), 2);
}

#[test]
fn curl_logs_in_on_the_submission_port() {
    if !tool("curl") {
        return;
    }
    let server = server();
    let port = server.submission().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("message.eml");
    std::fs::write(&file, b"Subject: curl AUTH\r\n\r\nmarker-curl-auth\r\n").unwrap();
    let output = run(
        Command::new("curl")
            .args(["-sS", "--ssl-reqd", "--cacert"])
            .arg(server.cert())
            .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
            .arg(format!("smtp://localhost:{port}/client.example"))
            .args(["--user", &format!("alice@localhost:{PASSWORD}")])
            .args([
                "--mail-from",
                "alice@localhost",
                "--mail-rcpt",
                "bob@localhost",
            ])
            .arg("--upload-file")
            .arg(&file),
        b"",
    );
    succeeded(&output);
    let message = only_message(&server, "bob");
    assert!(message.contains("marker-curl-auth"), "{message}");
    assert!(message.contains(" with ESMTPSA "), "{message}");
}

#[test]
fn msmtp_logs_in_on_the_submission_port() {
    if !tool("msmtp") {
        return;
    }
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let rc = dir.path().join("msmtprc");
    std::fs::write(&rc, "").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&rc, std::fs::Permissions::from_mode(0o600)).unwrap();
    let output = run(
        Command::new("msmtp")
            .arg(format!("--file={}", rc.display()))
            .args([
                "--host=127.0.0.1",
                &format!("--port={}", server.submission().unwrap().port()),
            ])
            .args(["--domain=client.example", "--from=alice@localhost"])
            .args([
                "--tls=on",
                "--tls-starttls=on",
                "--tls-host-override=localhost",
            ])
            .arg(format!("--tls-trust-file={}", server.cert().display()))
            .args(["--auth=on", "--user=alice@localhost"])
            .arg(format!("--passwordeval=echo '{PASSWORD}'"))
            .arg("bob@localhost"),
        b"Subject: msmtp AUTH\n\nmarker-msmtp-auth\n",
    );
    succeeded(&output);
    assert!(only_message(&server, "bob").contains("marker-msmtp-auth"));
}
