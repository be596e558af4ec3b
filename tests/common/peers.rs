//! Real peers for relay tests: dnsmasq (a DNS server on loopback) and Postfix's
//! smtp-sink (an SMTP server that can fail on command), each a child process that is
//! killed when its guard is dropped; free ports; bounded waits.
//!
//! Declare it from a test file with `#[path = "common/peers.rs"] mod peers;`.
//!
//! The tools come from Debian packages (`dnsmasq-base`, `postfix`). A missing tool
//! skips the test on a developer's machine but fails it in CI (when `CI` is set), so
//! CI can never pass without really running them.
//!
//! Every address here is on 127.0.0.1: no test may reach a real resolver or a real
//! mail server.
#![allow(dead_code)] // each test binary uses a different part of the helpers

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

pub const DNSMASQ: &str = "/usr/sbin/dnsmasq";
pub const SMTP_SINK: &str = "/usr/sbin/smtp-sink";

/// How long a peer may take to start listening.
const START_LIMIT: Duration = Duration::from_secs(10);

/// Is the program at `path` installed? If not: panic in CI, or say how to install it
/// (and that the test is skipped) and return false.
pub fn tool(path: &str, package: &str) -> bool {
    if Path::new(path).exists() {
        return true;
    }
    crate::common::skip(&format!(
        "{path} is missing; install it with apt-get install {package}"
    ));
    false
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bound, then released).
pub fn free_port() -> u16 {
    let probe = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    probe.local_addr().unwrap().port()
}

/// A port on 127.0.0.1 free for both UDP and TCP (a DNS server listens on both).
pub fn free_udp_and_tcp_port() -> u16 {
    for _ in 0..50 {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind udp 127.0.0.1:0");
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return port;
        }
    }
    panic!("no port free for both UDP and TCP");
}

/// Polls `done` every 20 ms until it is true; panics with `what` after `limit`.
pub fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// Runs as root? smtp-sink then insists on `-u`, and dnsmasq on `--user`.
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// A child process, killed and reaped when dropped, whatever happened.
pub struct Guard {
    child: Child,
    name: &'static str,
}

impl Guard {
    fn spawn(name: &'static str, command: &mut Command, log: &Path) -> Guard {
        let log = File::create(log).expect("create a log file");
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup the log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Guard { child, name }
    }

    /// Panics if the process has already exited (it failed to start).
    fn assert_running(&mut self, log: &Path) {
        if let Ok(Some(status)) = self.child.try_wait() {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            panic!("{} exited at once ({status}):\n{text}", self.name);
        }
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// dnsmasq answering for `.test` on a free 127.0.0.1 port, from its command line only:
/// no configuration file, no /etc/hosts, no upstream servers (`--no-resolv`), so a
/// name it does not know is NXDOMAIN and nothing is ever forwarded anywhere.
pub struct Dnsmasq {
    pub addr: SocketAddr,
    _guard: Guard,
    _dir: tempfile::TempDir,
}

impl Dnsmasq {
    /// `records` are dnsmasq options such as `--mx-host=b.test,mx.b.test,10` and
    /// `--host-record=mx.b.test,127.0.0.1`. `None` (after a SKIP note) when dnsmasq is
    /// not installed, except in CI.
    pub fn start(records: &[&str]) -> Option<Dnsmasq> {
        if !tool(DNSMASQ, "dnsmasq-base") {
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_udp_and_tcp_port();
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let log = dir.path().join("dnsmasq.log");
        let mut command = Command::new(DNSMASQ);
        command.args([
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--no-poll",
            "--listen-address=127.0.0.1",
            "--bind-interfaces",
            "--local=/test/",
            "--log-facility=-",
        ]);
        command.arg(format!("--port={port}"));
        command.arg(format!("--pid-file={}", dir.path().join("pid").display()));
        if is_root() {
            command.args(["--user=nobody", "--group=nogroup"]);
        }
        command.args(records);
        let mut guard = Guard::spawn("dnsmasq", &mut command, &log);
        // Ready when it answers: ask for a name it knows nothing about.
        let probe = postie::relay::dns::DnsClient::new(vec![addr])
            .with_timeout(Duration::from_millis(100), 1);
        let deadline = Instant::now() + START_LIMIT;
        use postie::relay::dns::{DnsError, Resolver};
        loop {
            guard.assert_running(&log);
            match probe.mx("probe.test") {
                Ok(_) | Err(DnsError::NoSuchDomain) => break,
                Err(e) => assert!(
                    Instant::now() < deadline,
                    "dnsmasq on {addr} does not answer: {e}"
                ),
            }
            thread::sleep(Duration::from_millis(20));
        }
        Some(Dnsmasq {
            addr,
            _guard: guard,
            _dir: dir,
        })
    }
}

/// Postfix's smtp-sink on 127.0.0.1: accepts everything (or fails where told to, with
/// `-r CMD` 4xx, `-f CMD` 5xx, `-q CMD` hang up) and can dump what it receives.
pub struct SmtpSink {
    pub addr: SocketAddr,
    guard: Option<Guard>,
    dump: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpSink {
    /// Starts smtp-sink with `options` on `port` (0: a free one), dumping each message
    /// into a file of its own. `None` (after a SKIP note) when it is not installed,
    /// except in CI.
    pub fn start(port: u16, options: &[&str]) -> Option<SmtpSink> {
        if !tool(SMTP_SINK, "postfix") {
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let dump = dir.path().join("dump");
        std::fs::create_dir(&dump).unwrap();
        // As root, smtp-sink writes its dumps as `nobody`.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dump, std::fs::Permissions::from_mode(0o777)).unwrap();
        let port = if port == 0 { free_port() } else { port };
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let mut sink = SmtpSink {
            addr,
            guard: None,
            dump,
            _dir: dir,
        };
        sink.spawn(options);
        Some(sink)
    }

    fn spawn(&mut self, options: &[&str]) {
        let log = self._dir.path().join("smtp-sink.log");
        let mut command = Command::new(SMTP_SINK);
        if is_root() {
            command.args(["-u", "nobody"]);
        }
        // `-d TEMPLATE`: one file per message; the name is the expanded strftime
        // template plus a random suffix.
        let template = format!("{}/%Y%m%d%H%M%S.", self.dump.display());
        command
            .args(options)
            .args(["-d", &template])
            .arg(self.addr.to_string())
            // The listen backlog.
            .arg("10");
        let mut guard = Guard::spawn("smtp-sink", &mut command, &log);
        let deadline = Instant::now() + START_LIMIT;
        while TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)).is_err() {
            guard.assert_running(&log);
            assert!(
                Instant::now() < deadline,
                "smtp-sink did not start on {}",
                self.addr
            );
            thread::sleep(Duration::from_millis(20));
        }
        self.guard = Some(guard);
    }

    /// Stops it and starts it again on the same port with other options; the dumps so
    /// far are kept.
    pub fn restart(&mut self, options: &[&str]) {
        drop(self.guard.take());
        self.spawn(options);
    }

    /// Stops it; the dumps stay readable.
    pub fn stop(&mut self) {
        drop(self.guard.take());
    }

    /// The messages received so far, each as smtp-sink dumped it: `X-` header lines
    /// for the envelope (`X-Mail-Args:`, `X-Rcpt-Args:`...), then the message with
    /// LF line endings.
    pub fn dumps(&self) -> Vec<String> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&self.dump)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|p| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned())
            .collect()
    }
}

/// What a finished command printed.
#[derive(Debug)]
pub struct Ran {
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `command` to the end with no input and returns what it printed. Still running
/// after `limit`, it is killed and the test fails.
pub fn run_bounded(command: &mut Command, limit: Duration) -> Ran {
    use std::io::Read;
    let shown = format!("{command:?}");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {shown}: {e}"));
    // Drain both pipes on threads, so the child never blocks on a full pipe.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let mut guard = Guard {
        child,
        name: "command",
    };
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = guard.child.try_wait().expect("try_wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "{shown} still running after {limit:?}; killed"
        );
        thread::sleep(Duration::from_millis(20));
    };
    Ran {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}
