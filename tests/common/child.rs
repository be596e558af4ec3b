//! The real `postie` binary as a child process, for the tests that kill it (crash.rs) or
//! read its memory and threads from /proc (flood.rs).
#![allow(dead_code)] // each test binary uses a different part

use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_postie");

/// A running `postie`; killed with SIGKILL (Child::kill on Unix) and reaped when dropped.
pub struct Postie {
    pub child: Child,
    pub addr: SocketAddr,
    pub log: PathBuf,
}

impl Postie {
    /// Starts postie on a port of its own choosing, mail for `localhost` into
    /// `dir/mail`, its queue in `dir/spool`, its log in `log`, with `flags` added; waits
    /// until it listens. No MX lookup can leave the machine (`--dns-server 127.0.0.1:9`).
    pub fn start(dir: &Path, log: &Path, flags: &[&str]) -> Postie {
        let path = |name: &str| dir.join(name).to_str().unwrap().to_string();
        let child = Command::new(BIN)
            .args(["--listen", "127.0.0.1:0", "--hostname", "mx.example.test"])
            .args(["--domain", "localhost", "--maildir", &path("mail")])
            .args(["--spool", &path("spool"), "--dns-server", "127.0.0.1:9"])
            .args(["--http-listen", "none"])
            .args(flags)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            // A file, not a pipe: nobody has to keep reading it.
            .stderr(File::create(log).unwrap())
            .spawn()
            .expect("start postie");
        let mut postie = Postie {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log: log.to_path_buf(),
        };
        // postie logs "postie listening on 127.0.0.1:PORT; ..." once it is bound.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            if let Some(rest) = text.split("postie listening on ").nth(1) {
                postie.addr = rest.split(';').next().unwrap().parse().unwrap();
                return postie;
            }
            if let Ok(Some(status)) = postie.child.try_wait() {
                panic!("postie exited ({status}):\n{text}");
            }
            assert!(Instant::now() < deadline, "postie did not start:\n{text}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// A field of /proc/PID/status, such as `VmHWM` (peak resident memory, in kB) or
    /// `Threads`, as a number.
    pub fn status(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|value| value.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc/PID/status"))
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Postie {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
