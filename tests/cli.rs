//! The `postie` binary: its flags (a contract the README, the book and outside tests
//! rely on), its errors (one line on stderr, exit code 2, never a panic), SIGTERM, and
//! `--trace`.
//!
//! Every child process is owned by a [`Child`] guard that kills it when dropped, so a
//! failing test leaves nothing running; every wait has a deadline.

mod common;
use common::*;

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_postie");

/// Every flag of the command-line contract.
const FLAGS: &[&str] = &[
    "--listen",
    "--hostname",
    "--domain",
    "--maildir",
    "--users",
    "--relay-network",
    "--max-message-size",
    "--max-recipients",
    "--max-connections",
    "--timeout",
    "--command-timeout",
    "--greeting-delay",
    "--trace",
    "--allow-plaintext-auth",
    "--tls-cert",
    "--tls-key",
    "--tls-self-signed",
    "--submission-listen",
    "--smtps-listen",
    "--pop3s-listen",
    "--directory",
    "--directory-base",
    "--directory-bind-dn",
    "--directory-password-file",
    "--directory-filter",
    "--directory-timeout",
    "--directory-cache-ttl",
    "--directory-ca",
    "--directory-starttls",
    "--http-listen",
    "--https-listen",
    "--keep-sessions",
    "--admin",
];

/// A running postie; killed (and reaped) when dropped, whatever happened.
struct Child {
    child: std::process::Child,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
}

impl Child {
    fn spawn(args: &[&str]) -> Child {
        let mut child = Command::new(BIN)
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start postie");
        // Drain both pipes on threads, so the child never blocks on a full pipe.
        let drain = |mut pipe: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                let _ = pipe.read_to_end(&mut bytes);
                String::from_utf8_lossy(&bytes).into_owned()
            })
        };
        let stdout = drain(Box::new(child.stdout.take().unwrap()));
        let stderr = drain(Box::new(child.stderr.take().unwrap()));
        Child {
            child,
            stdout: Some(stdout),
            stderr: Some(stderr),
        }
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// The exit status, if the process ends within `limit`.
    fn wait_for_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the exit (panics after `limit`), then returns status, stdout, stderr.
    fn finish(mut self, limit: Duration) -> (ExitStatus, String, String) {
        let status = self
            .wait_for_exit(limit)
            .unwrap_or_else(|| panic!("postie still running after {limit:?}"));
        let stdout = self.stdout.take().unwrap().join().unwrap();
        let stderr = self.stderr.take().unwrap().join().unwrap();
        (status, stdout, stderr)
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs postie to the end (at most 5 s) and returns status, stdout, stderr.
fn run(args: &[&str]) -> (ExitStatus, String, String) {
    Child::spawn(args).finish(Duration::from_secs(5))
}

/// A port that was free a moment ago: bind port 0, read the port, let it go.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().unwrap().port()
}

/// Starts postie on a free port with its Maildir in `maildir`, and waits (up to 5 s)
/// until it accepts connections. Retries with another port if that one was taken.
fn start_server(maildir: &Path, extra: &[&str]) -> (Child, SocketAddr) {
    for _attempt in 0..3 {
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let listen = addr.to_string();
        // --spool too: its default, ./spool, would land in the source tree.
        let spool = maildir.with_file_name("spool");
        let mut args = vec![
            "--listen",
            &listen,
            "--maildir",
            maildir.to_str().unwrap(),
            "--spool",
            spool.to_str().unwrap(),
            "--hostname",
            HOSTNAME,
            "--domain",
            "localhost",
            // Not the default 127.0.0.1:8025: tests run side by side.
            "--http-listen",
            "127.0.0.1:0",
        ];
        args.extend_from_slice(extra);
        let mut child = Child::spawn(&args);
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return (child, addr);
            }
            if child.wait_for_exit(Duration::ZERO).is_some() {
                // Most likely someone took the port in between: try another.
                let (status, _, stderr) = child.finish(Duration::from_secs(1));
                eprintln!("postie exited early ({status}): {stderr}");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "postie did not listen within 5 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("could not start postie on a free port");
}

/// The user's mistake, reported as the contract says: exit code 2, one line
/// `postie: ...` on stderr, no panic.
#[track_caller]
fn assert_usage_error(args: &[&str]) {
    // Whatever goes wrong, nothing may be written outside a temporary directory.
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let args = [args, &["--spool", spool.to_str().unwrap()]].concat();
    let args = &args[..];
    let (status, _stdout, stderr) = run(args);
    assert_eq!(
        status.code(),
        Some(2),
        "{args:?}: {status}; stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(
        lines.len() == 1 && lines[0].starts_with("postie: "),
        "{args:?}: expected one line \"postie: ...\" on stderr, got:\n{stderr}"
    );
}

// ---------------------------------------------------------------------------------------

#[test]
fn help_lists_every_flag_and_exits_0() {
    let (status, stdout, stderr) = run(&["--help"]);
    assert!(status.success(), "{status}: {stderr}");
    for flag in FLAGS {
        // Whole words: "--domain" must not be found inside another flag's name.
        let found = stdout
            .split(|c: char| c.is_whitespace() || c == ',' || c == '=')
            .any(|word| word == *flag);
        assert!(found, "--help does not mention {flag}:\n{stdout}");
    }
}

#[test]
fn an_unknown_flag_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("mail");
    assert_usage_error(&[
        "--bogus",
        "--listen",
        "127.0.0.1:0",
        "--maildir",
        maildir.to_str().unwrap(),
    ]);
}

#[test]
fn a_bad_listen_address_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("mail");
    assert_usage_error(&[
        "--listen",
        "nowhere",
        "--maildir",
        maildir.to_str().unwrap(),
    ]);
}

#[test]
fn a_web_view_on_the_network_without_users_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("mail");
    assert_usage_error(&[
        "--listen",
        "127.0.0.1:0",
        "--http-listen",
        "0.0.0.0:0",
        "--maildir",
        maildir.to_str().unwrap(),
    ]);
}

#[test]
fn a_bad_domain_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("mail");
    assert_usage_error(&[
        "--domain",
        "bad_domain",
        "--listen",
        "127.0.0.1:0",
        "--maildir",
        maildir.to_str().unwrap(),
    ]);
}

#[test]
fn an_unusable_maildir_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    std::fs::write(&file, "a regular file").unwrap();
    let under_a_file = file.join("mail");
    assert_usage_error(&[
        "--listen",
        "127.0.0.1:0",
        "--maildir",
        under_a_file.to_str().unwrap(),
    ]);
}

#[test]
fn sigterm_says_421_to_clients_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let (server, addr) = start_server(&dir.path().join("mail"), &[]);
    let mut client = Client::connect(addr);
    let greeting = client.read_reply();
    assert_eq!(greeting, "220 mx.example.test ESMTP postie ready\r\n");
    assert!(client.cmd("EHLO client.example").starts_with("250-"));

    server.terminate();
    let reply = client.try_read_reply().unwrap_or_else(|| "(closed)".into());
    assert!(reply.starts_with("421 4.3.0 "), "{reply}");
    assert!(client.is_closed());

    let (status, _stdout, stderr) = server.finish(Duration::from_secs(5));
    assert_eq!(status.code(), Some(0), "{status}; stderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn trace_prints_the_dialogue_and_the_transitions() {
    let dir = tempfile::tempdir().unwrap();
    let (server, addr) = start_server(&dir.path().join("mail"), &["--trace"]);
    let mut client = Client::connect(addr);
    client.read_reply();
    assert!(client.cmd("EHLO client.example").starts_with("250-"));
    assert!(client
        .cmd("MAIL FROM:<alice@example.org>")
        .starts_with("250 2.1.0 "));
    assert!(client.cmd("QUIT").starts_with("221 "));
    assert!(client.is_closed());

    server.terminate();
    let (status, _stdout, stderr) = server.finish(Duration::from_secs(5));
    assert_eq!(status.code(), Some(0), "{status}; stderr:\n{stderr}");
    for wanted in [
        "C: EHLO client.example",
        "S: 250-mx.example.test greets client.example",
        "C: MAIL FROM:<alice@example.org>",
        "S: 250 2.1.0 Sender <alice@example.org> OK",
        "MAIL (RFC 5321 §4.1.1.2): Ready -> MailFrom",
        "C: QUIT",
        "S: 221 2.0.0 mx.example.test closing connection",
    ] {
        assert!(
            stderr.contains(wanted),
            "no {wanted:?} in the trace:\n{stderr}"
        );
    }
}

#[test]
fn tls_flag_mistakes_are_usage_errors() {
    assert_usage_error(&["--tls-cert", "/nonexistent/cert.pem"]);
    assert_usage_error(&[
        "--tls-cert",
        "/nonexistent/c.pem",
        "--tls-key",
        "/nonexistent/k.pem",
    ]);
    assert_usage_error(&["--smtps-listen", "127.0.0.1:0"]);
    assert_usage_error(&["--pop3s-listen", "127.0.0.1:0"]);
    assert_usage_error(&["--tls-self-signed", "--tls-key", "/nonexistent/k.pem"]);
}

#[test]
fn tls_self_signed_writes_the_certificate_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let (server, addr) = start_server(&dir.path().join("mail"), &["--tls-self-signed"]);
    let mut client = Client::connect(addr);
    client.read_reply();
    assert!(client.cmd("EHLO client.example").contains("STARTTLS"));
    let client = client.starttls(&dir.path().join("postie-cert.pem"));
    drop(client);
    server.terminate();
    let (status, _stdout, stderr) = server.finish(Duration::from_secs(5));
    assert_eq!(status.code(), Some(0), "{status}; stderr:\n{stderr}");
    // Beside the spool (which start_server puts beside the Maildir).
    let path = dir.path().join("postie-cert.pem");
    assert!(
        stderr.contains(&format!("written to {}", path.display())),
        "{stderr}"
    );
    let pem = std::fs::read_to_string(&path).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    assert!(!pem.contains("PRIVATE KEY"), "the key must stay in memory");
}

#[test]
fn trace_masks_auth_secrets() {
    use base64::Engine;
    let b64 = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users");
    let hash = postie::accounts::hash_password("hunter2hunter2").unwrap();
    std::fs::write(&users, format!("alice@localhost {hash}\n")).unwrap();
    let users = users.to_str().unwrap();
    // Plaintext AUTH on loopback, as in class: the trace is where a secret could leak.
    let extra = ["--trace", "--allow-plaintext-auth", "--users", users];
    let (server, addr) = start_server(&dir.path().join("mail"), &extra);
    let mut client = Client::connect(addr);
    client.read_reply();
    assert!(client
        .cmd("EHLO client.example")
        .contains("AUTH PLAIN LOGIN"));
    let plain = b64("\0alice@localhost\0hunter2hunter2");
    assert!(client
        .cmd(&format!("AUTH PLAIN {plain}"))
        .starts_with("235 "));
    let mut client = Client::connect(addr);
    client.read_reply();
    client.cmd("EHLO client.example");
    assert!(client.cmd("AUTH LOGIN").starts_with("334 "));
    assert!(client.cmd(&b64("alice@localhost")).starts_with("334 "));
    assert!(client.cmd(&b64("wrong-guess-1")).starts_with("535 "));
    assert!(client.cmd("QUIT").starts_with("221 "));

    server.terminate();
    let (status, _stdout, stderr) = server.finish(Duration::from_secs(5));
    assert_eq!(status.code(), Some(0), "{status}; stderr:\n{stderr}");
    assert!(stderr.contains("C: AUTH PLAIN <hidden>"), "{stderr}");
    assert!(stderr.contains("C: AUTH LOGIN\n"), "{stderr}");
    assert!(stderr.contains("C: <hidden>"), "{stderr}");
    for secret in [
        plain.as_str(),
        "hunter2",
        &b64("alice@localhost"),
        &b64("wrong-guess-1"),
        "wrong-guess-1",
    ] {
        assert!(!stderr.contains(secret), "{secret:?} leaked:\n{stderr}");
    }
}

#[test]
fn without_trace_the_dialogue_is_not_printed() {
    let dir = tempfile::tempdir().unwrap();
    let (server, addr) = start_server(&dir.path().join("mail"), &[]);
    let mut client = Client::connect(addr);
    client.read_reply();
    assert!(client
        .cmd("EHLO client.example")
        .starts_with("250-mx.example.test"));
    assert!(client.cmd("QUIT").starts_with("221 "));
    server.terminate();
    let (status, _stdout, stderr) = server.finish(Duration::from_secs(5));
    assert_eq!(status.code(), Some(0), "{status}; stderr:\n{stderr}");
    assert!(!stderr.contains("C: EHLO"), "{stderr}");
}

#[test]
fn user_add_writes_a_hash_that_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users");
    std::fs::write(&users, "# staff\nbob@localhost\n").unwrap();
    let add = |address: &str, password: &str| {
        let mut child = Command::new(BIN)
            .args(["user", "add", address, "--users", users.to_str().unwrap()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start postie user add");
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        // A refused address ends postie before it reads the password: the pipe may
        // already be closed then, which is no failure of the test.
        let _ = stdin.write_all(password.as_bytes());
        drop(stdin);
        child.wait_with_output().unwrap()
    };
    let out = add("alice@localhost", "s3cret\n");
    assert!(out.status.success(), "{out:?}");
    let out = add("bob@localhost", "hunter2\n");
    assert!(out.status.success(), "{out:?}");
    let text = std::fs::read_to_string(&users).unwrap();
    assert!(
        text.starts_with("# staff\nbob@localhost $argon2id$"),
        "{text}"
    );
    assert!(
        !text.contains("s3cret") && !text.contains("hunter2"),
        "{text}"
    );
    let accounts = postie::accounts::Users::load(&users).unwrap();
    assert!(accounts.verify("alice@localhost", "s3cret"));
    assert!(accounts.verify("bob@localhost", "hunter2"));
    assert!(!accounts.verify("bob@localhost", "s3cret"));

    // Mistakes: no password, a bad address, no --users.
    let out = add("carol@localhost", "\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty password"));
    let out = add("not an address", "x\n");
    assert_eq!(out.status.code(), Some(2));
    let (status, _, stderr) = run(&["user", "add", "dave@localhost"]);
    assert_eq!(status.code(), Some(2));
    assert!(stderr.contains("needs --users"), "{stderr}");
}
