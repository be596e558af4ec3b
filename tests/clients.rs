//! Real clients against a real postie: lettre, Python's smtplib, curl, swaks and netcat
//! each send a message, and we check that it reached the Maildir intact and that
//! Python's `mailbox.Maildir` (a real mail reader) can open it. Then the other half:
//! Python's `poplib` and curl read a message back over POP3, byte for byte, and delete it.
//!
//! postie prepends two trace headers, Return-Path: and Received: (RFC 5321 §4.4), and
//! must change nothing else: where we wrote every byte of the message ourselves, the
//! file must match byte for byte once those two are stripped. Every message carries a
//! line starting with "." that the client must dot-stuff and postie unstuff (§4.5.2).
//!
//! The external tools come from Debian packages. A missing tool skips its test on a
//! developer's machine but fails it in CI (when the `CI` variable is set), so CI can
//! never pass without really running them. `.ci/run` installs them.

mod common;
use common::tools::*;
use common::*;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use lettre::message::Mailbox;
use lettre::transport::smtp::extension::ClientId;
use lettre::{Message, SmtpTransport, Transport};

/// Runs a Python script (`python3 -c SCRIPT ARGS...`) with `input` on its stdin.
fn python(script: &str, args: &[&str], input: &[u8]) -> Output {
    run(
        Command::new("python3")
            .arg("-c")
            .arg(script)
            .args(args)
            .env("PYTHONIOENCODING", "utf-8"),
        input,
    )
}

/// Opens `<root>/<domain>/<user>` with Python's `mailbox.Maildir` and prints, for each
/// message, its decoded Subject and its Return-Path.
const READ_MAILDIR: &str = r#"
import mailbox, sys
from email.header import decode_header, make_header
for message in mailbox.Maildir(sys.argv[1], factory=None, create=False):
    subject = str(make_header(decode_header(message["Subject"])))
    print(f"{subject} | {message['Return-Path']}")
"#;

/// What a real mail reader sees in a mailbox: one "Subject | Return-Path" line per
/// message, sorted (a Maildir has no order).
fn python_reads(server: &TestServer, domain: &str, user: &str) -> Vec<String> {
    let dir = server.maildir().join(domain).join(user);
    let output = python(READ_MAILDIR, &[dir.to_str().expect("UTF-8 path")], b"");
    let mut lines: Vec<String> = succeeded(&output).lines().map(String::from).collect();
    lines.sort();
    lines
}

/// The single message in bob@localhost's mailbox, without postie's trace headers.
fn bobs_only_message(server: &TestServer) -> Vec<u8> {
    let messages = server.messages("localhost", "bob");
    assert_eq!(messages.len(), 1, "messages for bob@localhost");
    strip_trace_headers(&messages[0]).to_vec()
}

/// Every file in the server's temporary directory: the Maildir and, now that postie
/// queues mail for other domains, the spool beside it.
fn files_written(server: &TestServer) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out)
            } else {
                out.push(path)
            }
        }
    }
    let mut out = vec![];
    walk(server.maildir().parent().expect("a parent"), &mut out);
    out
}

/// A server for which 127.0.0.1 is not a trusted network, so it refuses to relay:
/// `550 5.7.1` for any recipient outside its own domains (ARCHITECTURE.md, *No open relay*).
fn server_refusing_to_relay() -> TestServer {
    TestServer::start_with(|config| config.policy.relay_networks.clear())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

// ---------------------------------------------------------------------------------------
// lettre (Rust, in-process, no TLS)
// ---------------------------------------------------------------------------------------

fn lettre_transport(server: &TestServer) -> SmtpTransport {
    SmtpTransport::builder_dangerous("127.0.0.1")
        .port(server.addr.port())
        .hello_name(ClientId::Domain("client.example".into()))
        .timeout(Some(CHILD_TIMEOUT))
        .build()
}

fn mailbox(address: &str) -> Mailbox {
    address.parse().expect("a valid mailbox")
}

#[test]
fn lettre_delivers_one_message_to_two_mailboxes() {
    if !tool("python3") {
        return;
    }
    let server = TestServer::start();
    let message = Message::builder()
        .from(mailbox("Alice <alice@example.org>"))
        .to(mailbox("Bob <bob@localhost>"))
        .to(mailbox("Carol <carol@example.test>"))
        .subject("lettre to two")
        .body(String::from(
            "Hello Bob and Carol.\r\n.leading dot\r\nmarker-lettre-2rcpt\r\n",
        ))
        .expect("a valid message");
    let response = lettre_transport(&server).send(&message).expect("sent");
    assert_eq!(response.code().to_string(), "250");

    // lettre sends formatted() and then always "\r\n.\r\n": one more CRLF arrives.
    let expected = [message.formatted(), b"\r\n".to_vec()].concat();
    for (domain, user) in [("localhost", "bob"), ("example.test", "carol")] {
        let messages = server.messages(domain, user);
        assert_eq!(messages.len(), 1, "messages for {user}@{domain}");
        assert_eq!(
            text(strip_trace_headers(&messages[0])),
            text(&expected),
            "{user}@{domain}"
        );
        assert_eq!(
            python_reads(&server, domain, user),
            ["lettre to two | <alice@example.org>"]
        );
    }
    assert!(text(&expected).contains("\r\n.leading dot\r\nmarker-lettre-2rcpt\r\n"));
}

#[test]
fn lettre_encodes_a_utf8_subject() {
    if !tool("python3") {
        return;
    }
    let server = TestServer::start();
    let subject = "Grüße aus Zürich ✉";
    let message = Message::builder()
        .from(mailbox("alice@example.org"))
        .to(mailbox("bob@localhost"))
        .subject(subject)
        .body(String::from("marker-lettre-utf8\r\n.leading dot\r\n"))
        .expect("a valid message");
    lettre_transport(&server).send(&message).expect("sent");

    let stored = bobs_only_message(&server);
    assert_eq!(
        text(&stored),
        text(&[message.formatted(), b"\r\n".to_vec()].concat())
    );
    // lettre wrote an RFC 2047 encoded word, so the header itself is ASCII.
    let header = text(&stored)
        .lines()
        .find(|l| l.starts_with("Subject: "))
        .expect("a Subject header")
        .to_string();
    assert!(header.is_ascii() && header.contains("=?utf-8?"), "{header}");
    assert_eq!(
        python_reads(&server, "localhost", "bob"),
        [format!("{subject} | <alice@example.org>")]
    );
}

// ---------------------------------------------------------------------------------------
// Python smtplib
// ---------------------------------------------------------------------------------------

/// `sendmail` with the message bytes from stdin; smtplib dot-stuffs them.
const SMTPLIB_SENDMAIL: &str = r#"
import smtplib, sys
message = sys.stdin.buffer.read()
with smtplib.SMTP(sys.argv[1], int(sys.argv[2]), local_hostname="client.example") as smtp:
    smtp.ehlo()
    print("refused:", smtp.sendmail("alice@example.org", ["bob@localhost"], message))
"#;

#[test]
fn smtplib_sendmail_arrives_byte_for_byte() {
    if !tool("python3") {
        return;
    }
    let server = TestServer::start();
    let message = b"From: alice@example.org\r\n\
        To: bob@localhost\r\n\
        Subject: smtplib sendmail\r\n\
        \r\n\
        marker-smtplib-sendmail\r\n\
        .leading dot\r\n\
        .\r\n\
        last line\r\n";
    let port = server.addr.port().to_string();
    let output = python(SMTPLIB_SENDMAIL, &["127.0.0.1", &port], message);
    assert_eq!(succeeded(&output), "refused: {}\n");

    // The lone "." inside the text was stuffed by smtplib and did not end the message.
    assert_eq!(text(&bobs_only_message(&server)), text(message));
    assert_eq!(
        python_reads(&server, "localhost", "bob"),
        ["smtplib sendmail | <alice@example.org>"]
    );
}

/// `send_message` of an `email.message.EmailMessage` whose body comes from stdin.
const SMTPLIB_SEND_MESSAGE: &str = r#"
import smtplib, sys
from email.message import EmailMessage
message = EmailMessage()
message["From"] = "Alice <alice@example.org>"
message["To"] = "Bob <bob@localhost>"
message["Subject"] = "smtplib send_message"
message.set_content(sys.stdin.read())
with smtplib.SMTP(sys.argv[1], int(sys.argv[2])) as smtp:
    print("refused:", smtp.send_message(message))
"#;

#[test]
fn smtplib_send_message_of_an_email_message() {
    if !tool("python3") {
        return;
    }
    let server = TestServer::start();
    let port = server.addr.port().to_string();
    let body = "marker-smtplib-send-message\n.leading dot\nlast line\n";
    let output = python(SMTPLIB_SEND_MESSAGE, &["127.0.0.1", &port], body.as_bytes());
    assert_eq!(succeeded(&output), "refused: {}\n");

    let stored = text(&bobs_only_message(&server));
    assert!(
        stored.contains("\r\nSubject: smtplib send_message\r\n"),
        "{stored}"
    );
    assert!(
        stored.ends_with("\r\n\r\nmarker-smtplib-send-message\r\n.leading dot\r\nlast line\r\n"),
        "{stored}"
    );
    assert_eq!(
        python_reads(&server, "localhost", "bob"),
        ["smtplib send_message | <alice@example.org>"]
    );
}

/// Prints the EHLO extensions smtplib parsed (it lowercases their names).
const SMTPLIB_FEATURES: &str = r#"
import smtplib, sys
with smtplib.SMTP(sys.argv[1], int(sys.argv[2])) as smtp:
    smtp.ehlo()
    for name, value in sorted(smtp.esmtp_features.items()):
        print(name, value)
"#;

#[test]
fn smtplib_sees_the_advertised_extensions() {
    if !tool("python3") {
        return;
    }
    let server = TestServer::start();
    let port = server.addr.port().to_string();
    let features = succeeded(&python(SMTPLIB_FEATURES, &["127.0.0.1", &port], b""));
    let names: Vec<&str> = features
        .lines()
        .map(|l| l.split(' ').next().unwrap_or(""))
        .collect();
    for wanted in [
        "size",
        "pipelining",
        "8bitmime",
        "smtputf8",
        "enhancedstatuscodes",
    ] {
        assert!(
            names.contains(&wanted),
            "{wanted} missing from:\n{features}"
        );
    }
    let limit = postie::config::Limits::default().max_message_size;
    assert!(
        features.lines().any(|l| l == format!("size {limit}")),
        "{features}"
    );
}

/// `sendmail` to a recipient postie refuses: smtplib raises SMTPRecipientsRefused.
const SMTPLIB_REFUSED: &str = r#"
import smtplib, sys
with smtplib.SMTP(sys.argv[1], int(sys.argv[2])) as smtp:
    try:
        smtp.sendmail("alice@example.org", ["x@other.test"], b"Subject: no\r\n\r\nno\r\n")
    except smtplib.SMTPRecipientsRefused as refused:
        for rcpt, (code, reply) in refused.recipients.items():
            print(rcpt, code, reply.decode())
    else:
        sys.exit("sendmail did not raise SMTPRecipientsRefused")
"#;

#[test]
fn smtplib_raises_recipients_refused_when_relaying_is_denied() {
    if !tool("python3") {
        return;
    }
    let server = server_refusing_to_relay();
    let port = server.addr.port().to_string();
    let output = succeeded(&python(SMTPLIB_REFUSED, &["127.0.0.1", &port], b""));
    assert!(output.starts_with("x@other.test 550 5.7.1 "), "{output}");
    assert_eq!(files_written(&server), Vec::<PathBuf>::new());
}

// ---------------------------------------------------------------------------------------
// curl
// ---------------------------------------------------------------------------------------

/// `curl smtp://127.0.0.1:PORT/client.example` (the URL path is curl's EHLO name).
fn curl(server: &TestServer, rcpt: &str, file: &Path) -> Output {
    let url = format!("smtp://127.0.0.1:{}/client.example", server.addr.port());
    run(
        Command::new("curl")
            .args(["-sS", &url, "--mail-from", "alice@example.org"])
            .args(["--mail-rcpt", rcpt])
            .arg("--upload-file")
            .arg(file),
        b"",
    )
}

#[test]
fn curl_uploads_a_file_byte_for_byte() {
    if !tool("curl") || !tool("python3") {
        return;
    }
    let server = TestServer::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("message.eml");
    // CRLF line endings: curl sends the file as it is, adding only dot-stuffing.
    let message = b"From: alice@example.org\r\n\
        To: bob@localhost\r\n\
        Subject: curl upload\r\n\
        \r\n\
        marker-curl\r\n\
        .dot line\r\n\
        .\r\n\
        ..two dots\r\n";
    std::fs::write(&file, message).expect("write the message file");
    succeeded(&curl(&server, "bob@localhost", &file));

    assert_eq!(text(&bobs_only_message(&server)), text(message));
    assert_eq!(
        python_reads(&server, "localhost", "bob"),
        ["curl upload | <alice@example.org>"]
    );
}

#[test]
fn curl_fails_when_relaying_is_denied() {
    if !tool("curl") {
        return;
    }
    let server = server_refusing_to_relay();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("message.eml");
    std::fs::write(&file, b"Subject: no\r\n\r\nno\r\n").expect("write the message file");
    let output = curl(&server, "x@other.test", &file);

    assert!(
        !output.status.success(),
        "curl exited with {}",
        output.status
    );
    let stderr = text(&output.stderr);
    assert!(stderr.contains("RCPT failed: 550"), "{stderr}");
    assert_eq!(files_written(&server), Vec::<PathBuf>::new());
}

// ---------------------------------------------------------------------------------------
// swaks
// ---------------------------------------------------------------------------------------

fn swaks(server: &TestServer, extra: &[&str]) -> String {
    let to = format!("127.0.0.1:{}", server.addr.port());
    let output = run(
        Command::new("swaks")
            .args(["--server", &to, "--to", "bob@localhost"])
            .args(["--from", "alice@example.org"])
            .args(["--header", "Subject: swaks test"])
            .args(["--body", "marker-swaks\n.leading dot\nlast line"])
            .args(extra),
        b"",
    );
    succeeded(&output)
}

/// swaks writes its own Date, Message-Id and X-Mailer headers; check ours.
fn assert_swaks_message_arrived(server: &TestServer) {
    let stored = text(&bobs_only_message(server));
    assert!(stored.contains("\r\nSubject: swaks test\r\n"), "{stored}");
    assert!(stored.contains("\r\nX-Mailer: swaks"), "{stored}");
    assert!(
        stored.contains("\r\n\r\nmarker-swaks\r\n.leading dot\r\nlast line\r\n"),
        "{stored}"
    );
    assert_eq!(
        python_reads(server, "localhost", "bob"),
        ["swaks test | <alice@example.org>"]
    );
}

#[test]
fn swaks_sends_a_message() {
    if !tool("swaks") || !tool("python3") {
        return;
    }
    let server = TestServer::start();
    let transcript = swaks(&server, &[]);
    // swaks shows what it sent: the leading dot went out stuffed.
    assert!(transcript.contains(" -> ..leading dot"), "{transcript}");
    assert_swaks_message_arrived(&server);
}

#[test]
fn swaks_pipelines_a_message() {
    if !tool("swaks") || !tool("python3") {
        return;
    }
    let server = TestServer::start();
    let transcript = swaks(&server, &["--pipeline"]);
    // RFC 2920: MAIL, RCPT and DATA go out together, before any of their replies.
    assert!(
        transcript
            .contains(" -> MAIL FROM:<alice@example.org>\n -> RCPT TO:<bob@localhost>\n -> DATA\n"),
        "{transcript}"
    );
    assert_swaks_message_arrived(&server);
}

// ---------------------------------------------------------------------------------------
// netcat: the dialogue typed by hand
// ---------------------------------------------------------------------------------------

/// What a student types after `nc -C 127.0.0.1 PORT <<'EOF'`: nc -C turns each LF into
/// CRLF. nc does not dot-stuff, so the dotted line is stuffed by hand; the lone dot ends
/// the message.
const TYPED_DIALOGUE: &str = "EHLO client.example
MAIL FROM:<alice@example.org>
RCPT TO:<bob@localhost>
DATA
Subject: typed with nc

marker-nc
..leading dot
.
QUIT
";

#[test]
fn nc_crlf_dialogue_delivers_a_message() {
    if !tool("nc") || !tool("python3") {
        return;
    }
    let server = TestServer::start();
    let port = server.addr.port().to_string();
    let output = run(
        Command::new("nc").args(["-C", "127.0.0.1", &port]),
        TYPED_DIALOGUE.as_bytes(),
    );
    let replies = succeeded(&output);
    let codes: Vec<&str> = replies
        .lines()
        .filter(|l| l.as_bytes().get(3) == Some(&b' '))
        .map(|l| &l[..3])
        .collect();
    // 220 greeting, EHLO, MAIL, RCPT, 354, the message, QUIT: one reply each.
    assert_eq!(
        codes,
        ["220", "250", "250", "250", "354", "250", "221"],
        "{replies}"
    );

    assert_eq!(
        text(&bobs_only_message(&server)),
        "Subject: typed with nc\r\n\r\nmarker-nc\r\n.leading dot\r\n"
    );
    assert_eq!(
        python_reads(&server, "localhost", "bob"),
        ["typed with nc | <alice@example.org>"]
    );
}

#[test]
fn nc_without_crlf_is_told_to_use_nc_c() {
    if !tool("nc") {
        return;
    }
    let server = TestServer::start();
    let port = server.addr.port().to_string();
    // Plain nc sends bare LF. -N closes our side at the end of input, so postie sees
    // the client leave instead of waiting for its timeout.
    let output = run(
        Command::new("nc").args(["-N", "127.0.0.1", &port]),
        TYPED_DIALOGUE.as_bytes(),
    );
    let replies = succeeded(&output);
    let mut lines = replies.lines();
    assert!(
        lines.next().is_some_and(|l| l.starts_with("220 ")),
        "{replies}"
    );
    let rest: Vec<&str> = lines.collect();
    // Every line, even EHLO, is refused: one 500 per line, each with the hint. No
    // EHLO succeeded, so RFC 2034 keeps the enhanced code (5.5.2) out of these replies.
    assert_eq!(rest.len(), TYPED_DIALOGUE.lines().count(), "{replies}");
    for line in rest {
        assert!(line.starts_with("500 "), "{replies}");
        assert!(line.contains("CRLF") && line.contains("nc -C"), "{line}");
    }
    assert_eq!(files_written(&server), Vec::<PathBuf>::new());
}

// ---------------------------------------------------------------------------------------
// POP3: Python's poplib and curl read back what postie received over SMTP
// ---------------------------------------------------------------------------------------

/// A server with POP3 (and accounts for alice@ and bob@localhost), and one message for
/// Alice, received over SMTP, with lines that start with "." (stuffed for SMTP here,
/// unstuffed by postie, stuffed again by its POP3 side, unstuffed by the client).
fn pop3_server_with_a_message() -> (TestServer, Vec<u8>) {
    let server = TestServer::start_with(pop3_config);
    let smtp = b"Subject: read me\r\n\r\nHi Alice.\r\n..\r\n..dotted line\r\nbye";
    let reply = send_message(&server, "carol@example.org", &["alice@localhost"], smtp);
    assert!(reply.starts_with("250 "), "{reply}");
    let stored = server.messages("localhost", "alice").remove(0);
    assert!(stored.ends_with(b"Hi Alice.\r\n.\r\n.dotted line\r\nbye\r\n"));
    (server, stored)
}

/// poplib: log in, STAT, LIST, RETR 1 (written to a file), DELE 1, QUIT.
const POPLIB: &str = r#"
import poplib, sys
host, port, user, password, out = sys.argv[1:6]
pop = poplib.POP3(host, int(port), timeout=20)
pop.user(user)
pop.pass_(password)
count, size = pop.stat()
print("stat", count, size)
print("list", *[line.decode() for line in pop.list()[1]])
response, lines, octets = pop.retr(1)
open(out, "wb").write(b"".join(line + b"\r\n" for line in lines))
print("retr", octets)
print("uidl", pop.uidl(1).decode())
print("dele", pop.dele(1).decode())
print("quit", pop.quit().decode())
"#;

#[test]
fn poplib_lists_retrieves_and_deletes_a_message_received_over_smtp() {
    if !tool("python3") {
        return;
    }
    let (server, stored) = pop3_server_with_a_message();
    let out = server.maildir().with_file_name("retrieved");
    let port = server.pop3().unwrap().port().to_string();
    let output = python(
        POPLIB,
        &[
            "127.0.0.1",
            &port,
            "alice@localhost",
            POP3_PASSWORD,
            out.to_str().unwrap(),
        ],
        b"",
    );
    let printed = succeeded(&output);
    let size = stored.len();
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines[0], format!("stat 1 {size}"));
    assert_eq!(lines[1], format!("list 1 {size}"));
    assert_eq!(lines[2], format!("retr {size}"), "poplib's own octet count");
    assert!(lines[3].starts_with("uidl +OK 1 "), "{printed}");
    assert_eq!(lines[4], "dele +OK Message 1 deleted");
    assert!(lines[5].starts_with("quit +OK "), "{printed}");
    assert_eq!(std::fs::read(&out).unwrap(), stored, "byte for byte");
    assert!(server.messages("localhost", "alice").is_empty());
    assert!(server.files("localhost", "alice", "cur").is_empty());
}

/// curl with Alice's credentials; `args` say what to do.
fn curl_pop3(server: &TestServer, args: &[&str]) -> Output {
    let url = |path: &str| format!("pop3://127.0.0.1:{}/{path}", server.pop3().unwrap().port());
    let args: Vec<String> = args
        .iter()
        .map(|a| match a.strip_prefix("url:") {
            Some(path) => url(path),
            None => a.to_string(),
        })
        .collect();
    let user = format!("alice@localhost:{POP3_PASSWORD}");
    run(
        Command::new("curl")
            .args([
                "--silent",
                "--show-error",
                "--max-time",
                "20",
                "--user",
                &user,
            ])
            .args(&args),
        b"",
    )
}

#[test]
fn curl_lists_retrieves_and_deletes_a_message_received_over_smtp() {
    if !tool("curl") {
        return;
    }
    let (server, stored) = pop3_server_with_a_message();
    // No message number: LIST.
    let listed = succeeded(&curl_pop3(&server, &["url:"]));
    assert_eq!(listed, format!("1 {}\r\n", stored.len()));
    // A number: RETR; curl removes the stuffing and the final dot.
    let retrieved = curl_pop3(&server, &["url:1"]);
    succeeded(&retrieved);
    assert_eq!(retrieved.stdout, stored, "byte for byte");
    // RETR marked it seen: it moved to cur/.
    assert_eq!(
        server.files("localhost", "alice", "cur"),
        std::slice::from_ref(&stored)
    );
    // DELE instead of RETR, no body expected (-I); curl then says QUIT.
    succeeded(&curl_pop3(
        &server,
        &["--request", "DELE", "--head", "url:1"],
    ));
    assert!(server.all_files().is_empty(), "{:?}", server.all_files());
    // An empty listing is "+OK ...\r\n.\r\n"; curl prints the CRLF before the dot.
    let listed = succeeded(&curl_pop3(&server, &["url:"]));
    assert_eq!(listed.trim(), "");
}

#[test]
fn curl_with_a_wrong_password_gets_nothing() {
    if !tool("curl") {
        return;
    }
    let (server, _) = pop3_server_with_a_message();
    let port = server.pop3().unwrap().port();
    let output = run(
        Command::new("curl")
            .args([
                "--silent",
                "--max-time",
                "20",
                "--user",
                "alice@localhost:wrong",
            ])
            .arg(format!("pop3://127.0.0.1:{port}/1")),
        b"",
    );
    // curl's exit code 67: "The remote server denied curl to login".
    assert_eq!(output.status.code(), Some(67), "{output:?}");
    assert_eq!(server.messages("localhost", "alice").len(), 1);
}
