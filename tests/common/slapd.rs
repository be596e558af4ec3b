//! A real OpenLDAP server for the directory tests: `slapd` on a loopback port, with a
//! throwaway configuration and database in a temporary directory, loaded from the same
//! LDIF as the README's walk-through (`examples/directory/`), stopped by its PID (the
//! child we started) when dropped — and stoppable and restartable mid-test, to play an
//! outage.
//!
//! Declare it from a test file with `#[path = "common/slapd.rs"] mod slapd;`.
//!
//! From Debian's `slapd` and `ldap-utils` (preseed `slapd/no_configuration` so that the
//! package sets up no directory of its own). A missing slapd skips the test on a
//! developer's machine and fails it in CI. As root, slapd runs from a private config
//! file with `-d 0` (in the foreground, no fork); no `openldap` user is needed.
#![allow(dead_code)] // each test binary uses a different part

use std::fs::{self, File};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SLAPD: &str = "/usr/sbin/slapd";
pub const SLAPADD: &str = "/usr/sbin/slapadd";

/// The example files, shared with the README.
pub fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/directory")
        .join(name)
}

pub const BASE: &str = "dc=example,dc=test";
pub const SERVICE_DN: &str = "cn=postie,ou=services,dc=example,dc=test";
pub const SERVICE_PASSWORD: &str = "service-secret";

/// Is slapd installed? If not: fail in CI, or say how to install it and skip
/// (`common::skip`).
pub fn installed() -> bool {
    if Path::new(SLAPD).exists() && Path::new(SLAPADD).exists() {
        return true;
    }
    crate::common::skip(
        "slapd is missing; install it with: echo 'slapd slapd/no_configuration boolean true' \
         | debconf-set-selections; apt-get install slapd ldap-utils",
    );
    false
}

/// How slapd listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// Plain LDAP only.
    None,
    /// A generated certificate for 127.0.0.1 and localhost, and `security tls=1`:
    /// slapd refuses every operation but StartTLS until TLS is on.
    Required,
}

/// A running slapd; killed and reaped when dropped.
pub struct Slapd {
    pub port: u16,
    /// With [`Tls::Required`], slapd also listens for `ldaps://` (TLS at once) here.
    pub ldaps_port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Slapd {
    /// Writes the configuration, loads the example LDIF and starts slapd.
    pub fn start(tls: Tls) -> Slapd {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        fs::create_dir(root.join("db")).unwrap();
        let template = fs::read_to_string(example("slapd.conf")).unwrap();
        let mut conf = template
            .replace("@DIR@", root.to_str().unwrap())
            .replace("@SCHEMA@", example("postie.schema").to_str().unwrap());
        if tls == Tls::Required {
            let generated = rcgen::generate_simple_self_signed(vec![
                "localhost".to_string(),
                "127.0.0.1".to_string(),
            ])
            .expect("a certificate");
            fs::write(root.join("cert.pem"), generated.cert.pem()).unwrap();
            fs::write(root.join("key.pem"), generated.signing_key.serialize_pem()).unwrap();
            // Global settings must come before the first `database` line.
            let global = format!(
                "TLSCertificateFile {0}/cert.pem\nTLSCertificateKeyFile {0}/key.pem\nsecurity tls=1\n",
                root.display()
            );
            conf = conf.replacen("database mdb", &format!("{global}\ndatabase mdb"), 1);
        }
        fs::write(root.join("slapd.conf"), conf).unwrap();
        let loaded = Command::new(SLAPADD)
            .arg("-f")
            .arg(root.join("slapd.conf"))
            .arg("-l")
            .arg(example("example.ldif"))
            .stdin(Stdio::null())
            .output()
            .expect("run slapadd");
        assert!(
            loaded.status.success(),
            "slapadd failed: {}",
            String::from_utf8_lossy(&loaded.stderr)
        );
        let mut slapd = Slapd {
            port: free_port(),
            ldaps_port: if tls == Tls::Required { free_port() } else { 0 },
            dir,
            child: None,
        };
        slapd.resume();
        slapd
    }

    /// `ldap://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// `ldaps://127.0.0.1:PORT` (with [`Tls::Required`]).
    pub fn ldaps_url(&self) -> String {
        format!("ldaps://127.0.0.1:{}", self.ldaps_port)
    }

    /// The certificate slapd presents (with [`Tls::Required`]).
    pub fn cert(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// Stops slapd (SIGKILL to the child we started): an outage.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts slapd again on the same port, with the same data.
    pub fn resume(&mut self) {
        let root = self.dir.path();
        let log = File::create(root.join("slapd.log")).unwrap();
        let mut urls = format!("ldap://127.0.0.1:{}/", self.port);
        if self.ldaps_port != 0 {
            urls.push_str(&format!(" ldaps://127.0.0.1:{}/", self.ldaps_port));
        }
        let child = Command::new(SLAPD)
            .args(["-d", "0", "-h", &urls])
            .arg("-f")
            .arg(root.join("slapd.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start slapd");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                let log = fs::read_to_string(root.join("slapd.log")).unwrap_or_default();
                panic!("slapd exited ({status}):\n{log}");
            }
            assert!(Instant::now() < deadline, "slapd did not start listening");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    let probe = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    probe.local_addr().unwrap().port()
}
