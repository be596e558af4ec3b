//! Test harness: a postie on 127.0.0.1 and an ephemeral port, with its own Maildir in a
//! temporary directory, and a raw SMTP client that reads whole replies.
#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod imap;
pub mod tools;
pub mod web;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

pub use postie::config::{Config, Protocol, Service};
use postie::policy::Policy;
use postie::server::{Server, ShutdownHandle};

/// A peer this test needs is missing. In CI (`CI` set) that is a failure: CI must
/// really run every test. Elsewhere the test is skipped, and says so where `cargo test`
/// shows it: straight to stderr, past libtest's capture of `eprintln!`, so a developer
/// sees how much of the suite did not run.
pub fn skip(why: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{why}: required in CI");
    }
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

/// The hostname every test server uses, so transcripts can be compared literally.
pub const HOSTNAME: &str = "mx.example.test";

/// A running server; stopped (and its thread joined) when dropped.
pub struct TestServer {
    /// The SMTP listener.
    pub addr: SocketAddr,
    /// Every listener the configuration asked for, with the port it got.
    pub listeners: Vec<(Protocol, SocketAddr)>,
    dir: tempfile::TempDir,
    handle: ShutdownHandle,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

/// An ephemeral port on loopback, for a listener.
pub fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// The configuration tests start from: local domains `localhost` and `example.test`,
/// short timeouts so a broken test fails instead of hanging.
pub fn test_config(maildir: &Path) -> Config {
    let mut config = Config::new(HOSTNAME);
    config.listeners = vec![(Protocol::Smtp(Service::Smtp), any_port())];
    config.maildir = maildir.to_path_buf();
    config.spool = maildir.with_file_name("spool");
    config.policy.local_domains = vec!["localhost".into(), "example.test".into()];
    config.limits.timeout = Duration::from_secs(10);
    // Tests talk to loopback only: no MX lookup may reach the machine's real resolver.
    // Nothing listens on port 9, so lookups fail fast and mail for other domains waits.
    config.relay.dns_server = Some("127.0.0.1:9".parse().unwrap());
    config
}

impl TestServer {
    pub fn start() -> TestServer {
        TestServer::start_with(|_| {})
    }

    /// Starts a server after `adjust` has changed the test configuration.
    pub fn start_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        TestServer::start_in(tempfile::tempdir().expect("temp dir"), adjust)
    }

    /// Starts a server offering STARTTLS with a self-signed certificate for
    /// `localhost`, saved at [`TestServer::cert`].
    pub fn start_with_tls(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let tls = postie::tls::self_signed(HOSTNAME, &dir.path().join("cert.pem"))
            .expect("a self-signed certificate");
        TestServer::start_in(dir, |config| {
            config.tls = Some(tls);
            adjust(config);
        })
    }

    /// The certificate a server started by `start_with_tls` uses (PEM).
    pub fn cert(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// Starts a server that asks `policy`, not the configuration, who is who.
    #[allow(dead_code)]
    pub fn start_with_policy(policy: Arc<dyn Policy>) -> TestServer {
        TestServer::start_bound(tempfile::tempdir().expect("temp dir"), |_| {}, Some(policy))
    }

    fn start_in(dir: tempfile::TempDir, adjust: impl FnOnce(&mut Config)) -> TestServer {
        TestServer::start_bound(dir, adjust, None)
    }

    fn start_bound(
        dir: tempfile::TempDir,
        adjust: impl FnOnce(&mut Config),
        policy: Option<Arc<dyn Policy>>,
    ) -> TestServer {
        let mut config = test_config(&dir.path().join("mail"));
        adjust(&mut config);
        let server = match policy {
            Some(policy) => Server::bind_with_policy(config, policy),
            None => Server::bind(config),
        }
        .expect("bind");
        let addr = server.local_addr().unwrap();
        let listeners = server.addresses().to_vec();
        let handle = server.shutdown_handle().unwrap();
        let thread = std::thread::spawn(move || server.run());
        TestServer {
            addr,
            listeners,
            dir,
            handle,
            thread: Some(thread),
        }
    }

    /// Where `protocol` is served, if the configuration asked for it.
    pub fn addr_of(&self, protocol: Protocol) -> Option<SocketAddr> {
        self.listeners
            .iter()
            .find(|(p, _)| *p == protocol)
            .map(|(_, addr)| *addr)
    }

    pub fn submission(&self) -> Option<SocketAddr> {
        self.addr_of(Protocol::Smtp(Service::Submission))
    }

    pub fn smtps(&self) -> Option<SocketAddr> {
        self.addr_of(Protocol::Smtp(Service::SubmissionTls))
    }

    pub fn pop3(&self) -> Option<SocketAddr> {
        self.addr_of(Protocol::Pop3)
    }

    pub fn pop3s(&self) -> Option<SocketAddr> {
        self.addr_of(Protocol::Pop3s)
    }

    pub fn imap(&self) -> Option<SocketAddr> {
        self.addr_of(Protocol::Imap)
    }

    /// Stops the server and starts another on the same Maildir (a restart), with the
    /// configuration `adjust` makes; the ports are new.
    pub fn restart(mut self, adjust: impl FnOnce(&mut Config)) -> TestServer {
        self.stop_and_join();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir"));
        TestServer::start_in(dir, adjust)
    }

    pub fn maildir(&self) -> PathBuf {
        self.dir.path().join("mail")
    }

    /// The messages in `<maildir>/<domain>/<user>/<sub>` (sub = "new", "tmp", "cur").
    ///
    /// The server works while a test looks: a file it removes between the listing and
    /// the read (a cut-off delivery leaving `tmp/`) was not there, and is left out.
    pub fn files(&self, domain: &str, user: &str, sub: &str) -> Vec<Vec<u8>> {
        let dir = self.maildir().join(domain).join(user).join(sub);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return vec![];
        };
        let mut paths: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
        paths.sort();
        paths
            .iter()
            .filter_map(|p| match std::fs::read(p) {
                Ok(bytes) => Some(bytes),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => panic!("reading {}: {e}", p.display()),
            })
            .collect()
    }

    /// The messages delivered to `user@domain` (its `new/`).
    pub fn messages(&self, domain: &str, user: &str) -> Vec<Vec<u8>> {
        self.files(domain, user, "new")
    }

    /// Every file under the Maildir root, anywhere (to prove nothing was written).
    pub fn all_files(&self) -> Vec<PathBuf> {
        files_under(&self.maildir())
    }

    /// Every file in the outbound queue (the spool beside the Maildir).
    pub fn spool_files(&self) -> Vec<PathBuf> {
        files_under(&self.maildir().with_file_name("spool"))
    }

    /// A client that has read the 220 greeting.
    pub fn connect(&self) -> Client {
        let mut client = Client::connect(self.addr);
        let greeting = client.read_reply();
        assert!(greeting.starts_with("220 "), "greeting: {greeting:?}");
        client
    }

    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.handle.clone()
    }

    /// Stops the server and waits until every client thread is gone.
    pub fn stop(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        self.handle.shutdown();
        if let Some(thread) = self.thread.take() {
            thread.join().expect("server thread").expect("server run");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.stop_and_join();
        }
    }
}

/// Every file below `dir`, at any depth (none if it does not exist).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = vec![];
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// A raw SMTP client for tests: sends bytes, reads whole (multi-line) replies, over
/// TCP or (after [`Client::starttls`]) over TLS.
pub struct Client<S = TcpStream> {
    pub stream: S,
    buffer: Vec<u8>,
}

/// The client's side of a TLS connection.
pub type TlsStream = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(15)))
            .unwrap();
        Client {
            stream,
            buffer: Vec::new(),
        }
    }

    /// Sends STARTTLS, expects 220, and runs the TLS handshake, trusting only the
    /// certificate in `cert_pem` and checking it names `localhost`.
    pub fn starttls(mut self, cert_pem: &Path) -> Client<TlsStream> {
        let reply = self.cmd("STARTTLS");
        assert!(reply.starts_with("220 "), "STARTTLS: {reply}");
        self.start_tls(cert_pem)
    }

    /// The TLS handshake as the client, now (STARTTLS already answered, or implicit TLS).
    pub fn start_tls(self, cert_pem: &Path) -> Client<TlsStream> {
        assert!(self.buffer.is_empty(), "bytes before the handshake");
        let connection = rustls::ClientConnection::new(
            client_tls_config(cert_pem),
            "localhost".try_into().expect("a server name"),
        )
        .expect("a TLS client");
        let mut stream = rustls::StreamOwned::new(connection, self.stream);
        while stream.conn.is_handshaking() {
            stream
                .conn
                .complete_io(&mut stream.sock)
                .expect("TLS handshake");
        }
        Client {
            stream,
            buffer: Vec::new(),
        }
    }

    /// Closes our sending side, as a client that hangs up does.
    pub fn hang_up(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

/// A TLS client configuration that trusts exactly one certificate (ring provider).
pub fn client_tls_config(cert_pem: &Path) -> std::sync::Arc<rustls::ClientConfig> {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(cert_pem).expect("the certificate file"))
        .expect("a usable certificate");
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    std::sync::Arc::new(config)
}

impl<S: Read + Write> Client<S> {
    /// Sends raw bytes exactly as given (no CRLF added).
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    /// Sends one command line with CRLF and returns the reply.
    pub fn cmd(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes());
        self.read_reply()
    }

    /// Reads one reply, all its lines, as text with CRLFs (`250-a\r\n250 b\r\n`).
    /// Panics if the connection closes first.
    pub fn read_reply(&mut self) -> String {
        self.try_read_reply()
            .expect("connection closed before a reply")
    }

    /// Like `read_reply`, but `None` when the server closed the connection first.
    pub fn try_read_reply(&mut self) -> Option<String> {
        let mut reply = String::new();
        loop {
            let line = self.read_line()?;
            let last = line.as_bytes().get(3) != Some(&b'-');
            reply.push_str(&line);
            if last {
                return Some(reply);
            }
        }
    }

    fn read_line(&mut self) -> Option<String> {
        let line = read_raw_line(&mut self.stream, &mut self.buffer)?;
        Some(String::from_utf8(line).expect("replies are UTF-8"))
    }

    /// True when the server has closed the connection (reads end-of-file).
    pub fn is_closed(&mut self) -> bool {
        self.buffer.is_empty() && self.read_line().is_none()
    }

    /// EHLO, MAIL, RCPT for each recipient, DATA: ready for message text.
    pub fn begin_message(&mut self, from: &str, to: &[&str]) {
        assert!(self.cmd("EHLO client.example").starts_with("250"));
        assert!(self.cmd(&format!("MAIL FROM:<{from}>")).starts_with("250 "));
        for rcpt in to {
            let reply = self.cmd(&format!("RCPT TO:<{rcpt}>"));
            assert!(reply.starts_with("250 "), "{rcpt}: {reply}");
        }
        assert!(self.cmd("DATA").starts_with("354 "));
    }
}

/// Everything a server says to a new connection at `addr` before it closes it, as a
/// refused client hears it (over the connection cap, say); 10 s at the most.
pub fn words_before_close(addr: SocketAddr) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text
}

/// A whole message, from the first command to the final reply: returns that reply.
pub fn send_message(server: &TestServer, from: &str, to: &[&str], text: &[u8]) -> String {
    let mut client = server.connect();
    client.begin_message(from, to);
    client.send(text);
    client.send(b"\r\n.\r\n");
    let reply = client.read_reply();
    client.cmd("QUIT");
    reply
}

// ---------------------------------------------------------------------------------------
// POP3

/// The password of every account made by `pop3_config`.
pub const POP3_PASSWORD: &str = "let me read";

/// The text of a users file with a password for each address (all `POP3_PASSWORD`).
pub fn users_file_with_passwords(addresses: &[&str]) -> String {
    let hash = postie::accounts::hash_password(POP3_PASSWORD).expect("hash");
    addresses.iter().map(|a| format!("{a} {hash}\n")).collect()
}

/// Such a users file, parsed.
pub fn users_with_passwords(addresses: &[&str]) -> postie::accounts::Users {
    postie::accounts::Users::parse(&users_file_with_passwords(addresses)).expect("users file")
}

/// POP3 on an ephemeral port, plaintext passwords allowed from loopback, and accounts
/// for alice@localhost and bob@localhost (password `POP3_PASSWORD`).
pub fn pop3_config(config: &mut Config) {
    config.set_listener(Protocol::Pop3, any_port());
    config.allow_plaintext_auth = true;
    config.policy.users = Some(users_with_passwords(&["alice@localhost", "bob@localhost"]));
    config.limits.pop3_timeout = Duration::from_secs(10);
}

/// IMAP on an ephemeral port, plaintext passwords allowed from loopback, and accounts
/// for alice@localhost and bob@localhost (password `POP3_PASSWORD`).
pub fn imap_config(config: &mut Config) {
    config.set_listener(Protocol::Imap, any_port());
    config.allow_plaintext_auth = true;
    config.policy.users = Some(users_with_passwords(&["alice@localhost", "bob@localhost"]));
}

/// A raw POP3 client for tests: one-line responses, and multi-line ones up to the ".",
/// over TCP or (after [`Pop3Client::stls`]) over TLS.
pub struct Pop3Client<S = TcpStream> {
    pub stream: S,
    buffer: Vec<u8>,
}

impl Pop3Client {
    /// Connects to the server's POP3 listener and reads the greeting.
    pub fn connect(server: &TestServer) -> Pop3Client {
        Pop3Client::connect_to(server.pop3().expect("the server has a POP3 listener"))
    }

    /// Connects to a POP3 server at `addr` and reads the greeting.
    pub fn connect_to(addr: SocketAddr) -> Pop3Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(15)))
            .unwrap();
        let mut client = Pop3Client {
            stream,
            buffer: Vec::new(),
        };
        let greeting = client.line().expect("greeting");
        assert!(greeting.starts_with("+OK "), "greeting: {greeting:?}");
        client
    }

    /// Connects to a POP3 listener with implicit TLS (RFC 8314 §3.3), runs the
    /// handshake trusting only `cert_pem`, and reads the greeting, which comes inside TLS.
    pub fn connect_tls(addr: SocketAddr, cert_pem: &Path) -> Pop3Client<TlsStream> {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(15)))
            .unwrap();
        let client = Pop3Client {
            stream,
            buffer: Vec::new(),
        };
        let mut client = client.start_tls(cert_pem);
        let greeting = client.line().expect("greeting");
        assert!(greeting.starts_with("+OK "), "greeting: {greeting:?}");
        client
    }

    /// Connected and logged in as `user`.
    pub fn login(server: &TestServer, user: &str) -> Pop3Client {
        let mut client = Pop3Client::connect(server);
        let reply = client.try_login(user);
        assert!(reply.starts_with("+OK"), "PASS: {reply}");
        client
    }

    /// Sends STLS, expects `+OK`, and runs the TLS handshake, trusting only the
    /// certificate in `cert_pem` and checking it names `localhost` (RFC 2595 §4).
    pub fn stls(mut self, cert_pem: &Path) -> Pop3Client<TlsStream> {
        let reply = self.cmd("STLS");
        assert!(reply.starts_with("+OK"), "STLS: {reply}");
        self.start_tls(cert_pem)
    }

    /// The TLS handshake as the client, now (STLS already answered, or implicit TLS).
    pub fn start_tls(self, cert_pem: &Path) -> Pop3Client<TlsStream> {
        assert!(self.buffer.is_empty(), "bytes before the handshake");
        let client = Client {
            stream: self.stream,
            buffer: Vec::new(),
        };
        let client = client.start_tls(cert_pem);
        Pop3Client {
            stream: client.stream,
            buffer: Vec::new(),
        }
    }

    pub fn hang_up(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

impl<S: Read + Write> Pop3Client<S> {
    /// USER (which must be accepted) and PASS `POP3_PASSWORD`: the response to PASS.
    pub fn try_login(&mut self, user: &str) -> String {
        let reply = self.cmd(&format!("USER {user}"));
        assert!(reply.starts_with("+OK"), "USER: {reply}");
        self.cmd(&format!("PASS {POP3_PASSWORD}"))
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    /// One command, one single-line response (without CRLF).
    pub fn cmd(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes());
        self.line().expect("connection closed before a response")
    }

    /// One command with a multi-line response: the status line, and the raw bytes of
    /// the rest up to and including the final ".\r\n".
    pub fn multi(&mut self, line: &str) -> (String, Vec<u8>) {
        let status = self.cmd(line);
        assert!(status.starts_with("+OK"), "{line}: {status}");
        let mut body = Vec::new();
        loop {
            let raw = self
                .raw_line()
                .expect("closed inside a multi-line response");
            body.extend_from_slice(&raw);
            if raw == b".\r\n" {
                return (status, body);
            }
        }
    }

    /// The next line, without its CRLF; `None` once the server has closed.
    pub fn line(&mut self) -> Option<String> {
        let raw = self.raw_line()?;
        assert!(raw.ends_with(b"\r\n"), "not CRLF: {raw:?}");
        Some(String::from_utf8(raw[..raw.len() - 2].to_vec()).expect("UTF-8 response"))
    }

    fn raw_line(&mut self) -> Option<Vec<u8>> {
        read_raw_line(&mut self.stream, &mut self.buffer)
    }
}

/// What a POP3 client does with a multi-line response: drop the final ".", and one
/// leading "." from each line (RFC 1939 §3).
pub fn unstuff(body: &[u8]) -> Vec<u8> {
    let body = body.strip_suffix(b".\r\n").expect("ends with the lone dot");
    let mut out = Vec::new();
    for line in body.split_inclusive(|&b| b == b'\n') {
        out.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
    }
    out
}

/// A message file without the two trace headers postie prepends (Return-Path:, and
/// Received: with its continuation lines), i.e. the bytes the client sent.
pub fn strip_trace_headers(message: &[u8]) -> &[u8] {
    let mut rest = message;
    assert!(rest.starts_with(b"Return-Path: "), "no Return-Path");
    rest = &rest[rest.iter().position(|&b| b == b'\n').unwrap() + 1..];
    assert!(rest.starts_with(b"Received: "), "no Received");
    loop {
        rest = &rest[rest.iter().position(|&b| b == b'\n').unwrap() + 1..];
        if !rest.starts_with(b"\t") && !rest.starts_with(b" ") {
            return rest;
        }
    }
}

/// One line, up to and including its LF, from `stream`; what arrives after it stays in
/// `buffer` for the next call. `None` once the server has closed the connection.
fn read_raw_line(stream: &mut impl Read, buffer: &mut Vec<u8>) -> Option<Vec<u8>> {
    loop {
        if let Some(end) = buffer.iter().position(|&b| b == b'\n') {
            return Some(buffer.drain(..=end).collect());
        }
        let mut chunk = [0u8; 8192];
        match stream.read(&mut chunk) {
            Ok(0) => return None,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            // A signal arrived during the read (EINTR): nothing was read; read again.
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::UnexpectedEof
                ) =>
            {
                return None
            }
            Err(e) => panic!("read: {e}"),
        }
    }
}
