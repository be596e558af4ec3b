//! POP3 over TLS: STLS (RFC 2595 §4) and implicit TLS (`--pop3s-listen`, RFC 8314).
//!
//! Real clients first: Python's `poplib` with `stls()` and curl with `--ssl-reqd` log
//! in over STLS, trusting only the certificate postie generated, without
//! `--allow-plaintext-auth`, and list, retrieve and delete a message that postie
//! received over SMTP. Then the rules a client cannot see by succeeding: CAPA before
//! and after the handshake, STLS without a certificate, STLS twice, and commands
//! pipelined behind STLS (CVE-2011-0411), which are refused.
//!
//! A missing tool skips its test on a developer's machine and fails it in CI (see
//! `common/tools.rs`).

mod common;
use common::tools::*;
use common::*;

use std::process::{Command, Output};

/// POP3 and STLS with a self-signed certificate for `localhost`; accounts for alice@
/// and bob@localhost; and no `--allow-plaintext-auth`, so a password needs TLS even
/// from loopback.
fn tls_server() -> TestServer {
    TestServer::start_with_tls(|config| {
        pop3_config(config);
        config.allow_plaintext_auth = false;
    })
}

/// `tls_server` with one message for Alice, received over SMTP; returns the stored file.
fn tls_server_with_a_message() -> (TestServer, Vec<u8>) {
    let server = tls_server();
    let smtp = b"Subject: over TLS\r\n\r\nHi Alice.\r\n..dotted line\r\nbye";
    let reply = send_message(&server, "carol@example.org", &["alice@localhost"], smtp);
    assert!(reply.starts_with("250 "), "{reply}");
    let stored = server.messages("localhost", "alice").remove(0);
    (server, stored)
}

/// CAPA's lines between the status line and the final ".".
fn capabilities(capa: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(capa)
        .lines()
        .filter(|l| *l != ".")
        .map(String::from)
        .collect()
}

#[test]
fn capa_offers_stls_before_tls_and_user_after() {
    let server = tls_server();
    let mut pop = Pop3Client::connect(&server);
    let (_, before) = pop.multi("CAPA");
    let before = capabilities(&before);
    assert!(before.contains(&"STLS".to_string()), "{before:?}");
    assert!(!before.contains(&"USER".to_string()), "{before:?}");
    assert!(pop
        .cmd("USER alice@localhost")
        .starts_with("-ERR [AUTH] Plaintext passwords need TLS"));

    let mut pop = pop.stls(&server.cert());
    // RFC 2595 §4: the client asks again; now USER, and no STLS.
    let (_, after) = pop.multi("CAPA");
    let after = capabilities(&after);
    assert!(after.contains(&"USER".to_string()), "{after:?}");
    assert!(!after.contains(&"STLS".to_string()), "{after:?}");
    assert!(pop.cmd("QUIT").starts_with("+OK "));
}

#[test]
fn after_stls_a_message_is_listed_read_and_deleted() {
    let (server, stored) = tls_server_with_a_message();
    let mut pop = Pop3Client::connect(&server).stls(&server.cert());
    assert!(pop.try_login("alice@localhost").starts_with("+OK "));
    assert_eq!(pop.cmd("STAT"), format!("+OK 1 {}", stored.len()));
    let (_, body) = pop.multi("RETR 1");
    assert_eq!(unstuff(&body), stored, "RETR sends the file as stored");
    assert_eq!(pop.cmd("DELE 1"), "+OK Message 1 deleted");
    assert!(pop.cmd("QUIT").starts_with("+OK "));
    assert!(server.all_files().is_empty(), "{:?}", server.all_files());
}

#[test]
fn stls_twice_is_refused() {
    let server = tls_server();
    let mut pop = Pop3Client::connect(&server).stls(&server.cert());
    assert_eq!(pop.cmd("STLS"), "-ERR TLS is already active");
    // The session goes on, inside TLS.
    assert!(pop.try_login("alice@localhost").starts_with("+OK "));
    assert_eq!(pop.cmd("STLS"), "-ERR STLS only before logging in");
    assert!(pop.cmd("QUIT").starts_with("+OK "));
}

#[test]
fn stls_without_a_certificate_is_refused() {
    let server = TestServer::start_with(pop3_config);
    let mut pop = Pop3Client::connect(&server);
    let (_, capa) = pop.multi("CAPA");
    assert!(!capabilities(&capa).contains(&"STLS".to_string()));
    assert_eq!(
        pop.cmd("STLS"),
        "-ERR STLS is not available: no certificate configured"
    );
    // Still in AUTHORIZATION, in plaintext; the loopback client may log in.
    assert!(pop.try_login("alice@localhost").starts_with("+OK "));
    pop.cmd("QUIT");
}

#[test]
fn commands_pipelined_behind_stls_are_refused() {
    let (server, _) = tls_server_with_a_message();
    let mut pop = Pop3Client::connect(&server);
    // CVE-2011-0411: an attacker on the path appends a command to the client's STLS.
    // Had the server kept it, it would run as if the client had sent it inside TLS.
    pop.send(b"STLS\r\nUSER x\r\n");
    assert_eq!(
        pop.line().as_deref(),
        Some("-ERR Commands after STLS must wait for the TLS handshake; closing connection")
    );
    assert_eq!(pop.line(), None, "the connection must be closed");
    assert_eq!(server.messages("localhost", "alice").len(), 1);
}

#[test]
fn plaintext_after_stls_is_never_read_as_commands() {
    // A client that says STLS and then keeps talking in plaintext (in a second write,
    // after the +OK) fails the handshake: its words are never answered.
    let server = tls_server();
    let mut pop = Pop3Client::connect(&server);
    assert!(pop.cmd("STLS").starts_with("+OK "));
    pop.send(b"USER alice@localhost\r\n");
    let mut rest = Vec::new();
    let _ = std::io::Read::read_to_end(&mut pop.stream, &mut rest);
    // At most a TLS alert comes back, never a POP3 response.
    assert!(!rest.windows(3).any(|w| w == b"+OK"), "{rest:?}");
}

#[test]
fn implicit_tls_on_the_pop3s_listener() {
    let (server, stored) = {
        let server = TestServer::start_with_tls(|config| {
            pop3_config(config);
            config.allow_plaintext_auth = false;
            config.set_listener(Protocol::Pop3s, any_port());
        });
        let reply = send_message(&server, "carol@example.org", &["alice@localhost"], b"x");
        assert!(reply.starts_with("250 "), "{reply}");
        let stored = server.messages("localhost", "alice").remove(0);
        (server, stored)
    };
    // RFC 8314 §3.3: TLS from the first byte; the greeting comes inside it.
    let mut pop =
        Pop3Client::connect_tls(server.pop3s().expect("a POP3S listener"), &server.cert());
    let (_, capa) = pop.multi("CAPA");
    let capa = capabilities(&capa);
    assert!(!capa.contains(&"STLS".to_string()), "already TLS: {capa:?}");
    assert!(capa.contains(&"USER".to_string()), "{capa:?}");
    assert!(pop.try_login("alice@localhost").starts_with("+OK "));
    assert_eq!(pop.cmd("STAT"), format!("+OK 1 {}", stored.len()));
    assert!(pop.cmd("QUIT").starts_with("+OK "));
}

#[test]
fn pop3s_needs_a_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(&dir.path().join("mail"));
    config.set_listener(Protocol::Pop3s, any_port());
    let error = postie::server::Server::bind(config).err().expect("refused");
    assert!(error
        .to_string()
        .contains("--pop3s-listen needs a certificate"));
}

// ---------------------------------------------------------------------------------------
// Real clients

/// poplib: connect, STLS trusting only the given certificate, log in, STAT, LIST,
/// RETR 1 (written to a file), DELE 1, QUIT.
const POPLIB_STLS: &str = r#"
import poplib, ssl, sys
host, port, cert, user, password, out = sys.argv[1:7]
pop = poplib.POP3(host, int(port), timeout=20)
# The certificate names localhost; we connected to 127.0.0.1 so that no resolver is
# asked. stls() checks the certificate against pop.host.
pop.host = "localhost"
context = ssl.create_default_context(cafile=cert)
print("capa before", " ".join(sorted(pop.capa())))
print("stls", pop.stls(context=context).decode())
print("capa after", " ".join(sorted(pop.capa())))
pop.user(user)
pop.pass_(password)
count, size = pop.stat()
print("stat", count, size)
print("list", *[line.decode() for line in pop.list()[1]])
response, lines, octets = pop.retr(1)
open(out, "wb").write(b"".join(line + b"\r\n" for line in lines))
print("retr", octets)
print("dele", pop.dele(1).decode())
print("quit", pop.quit().decode())
"#;

#[test]
fn poplib_reads_and_deletes_over_stls() {
    if !tool("python3") {
        return;
    }
    let (server, stored) = tls_server_with_a_message();
    let out = server.maildir().with_file_name("retrieved");
    let port = server.pop3().unwrap().port().to_string();
    let cert = server.cert();
    let output = run(
        Command::new("python3").arg("-c").arg(POPLIB_STLS).args([
            "127.0.0.1",
            &port,
            cert.to_str().unwrap(),
            "alice@localhost",
            POP3_PASSWORD,
            out.to_str().unwrap(),
        ]),
        b"",
    );
    let printed = succeeded(&output);
    let size = stored.len();
    let lines: Vec<&str> = printed.lines().collect();
    assert!(lines[0].contains(" STLS"), "{printed}");
    assert!(!lines[0].contains(" USER"), "{printed}");
    assert_eq!(lines[1], "stls +OK Begin TLS negotiation");
    assert!(
        lines[2].contains(" USER") && !lines[2].contains("STLS"),
        "{printed}"
    );
    assert_eq!(lines[3], format!("stat 1 {size}"));
    assert_eq!(lines[4], format!("list 1 {size}"));
    assert_eq!(lines[5], format!("retr {size}"), "poplib's own octet count");
    assert_eq!(lines[6], "dele +OK Message 1 deleted");
    assert!(lines[7].starts_with("quit +OK "), "{printed}");
    assert_eq!(std::fs::read(&out).unwrap(), stored, "byte for byte");
    assert!(server.all_files().is_empty(), "{:?}", server.all_files());
}

/// curl with Alice's credentials, STLS required, trusting only `cert`; `path` after
/// the port ("" lists, "1" retrieves), then `extra`.
fn curl_pop3_tls(
    server: &TestServer,
    cert: &std::path::Path,
    path: &str,
    extra: &[&str],
) -> Output {
    let port = server.pop3().unwrap().port();
    run(
        Command::new("curl")
            .args(["--silent", "--show-error", "--max-time", "20", "--ssl-reqd"])
            .arg("--cacert")
            .arg(cert)
            // The certificate names localhost; --resolve points that name at our port
            // without asking any resolver.
            .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
            .args(["--user", &format!("alice@localhost:{POP3_PASSWORD}")])
            .args(extra)
            .arg(format!("pop3://localhost:{port}/{path}")),
        b"",
    )
}

#[test]
fn curl_lists_retrieves_and_deletes_over_stls() {
    if !tool("curl") {
        return;
    }
    let (server, stored) = tls_server_with_a_message();
    let cert = server.cert();
    let listed = succeeded(&curl_pop3_tls(&server, &cert, "", &[]));
    assert_eq!(listed, format!("1 {}\r\n", stored.len()));
    let retrieved = curl_pop3_tls(&server, &cert, "1", &[]);
    succeeded(&retrieved);
    assert_eq!(retrieved.stdout, stored, "byte for byte");
    succeeded(&curl_pop3_tls(
        &server,
        &cert,
        "1",
        &["--request", "DELE", "--head"],
    ));
    assert!(server.all_files().is_empty(), "{:?}", server.all_files());
}

#[test]
fn curl_with_the_wrong_certificate_reads_nothing() {
    if !tool("curl") {
        return;
    }
    let (server, _) = tls_server_with_a_message();
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.pem");
    postie::tls::self_signed("localhost", &other).unwrap();
    let output = curl_pop3_tls(&server, &other, "1", &[]);
    assert!(!output.status.success(), "curl trusted a stranger");
    assert!(output.stdout.is_empty());
    assert_eq!(server.messages("localhost", "alice").len(), 1);
}
