//! Running real client programs in tests: is a tool installed (CI: it must be), and
//! run it with a time limit, its output collected.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use lettre::transport::smtp::client::{Certificate, CertificateStore, TlsParameters};

/// The longest any client may run; it is killed and the test fails after this.
pub const CHILD_TIMEOUT: Duration = Duration::from_secs(30);

/// Is `name` installed? If not: fail in CI, or explain how to install it and skip.
pub fn tool(name: &str) -> bool {
    let package = match name {
        "nc" => "netcat-openbsd",
        "swaks" => "swaks libnet-ssleay-perl libauthen-sasl-perl libio-socket-inet6-perl",
        "msmtp" => "msmtp",
        "script" => "bsdutils",
        other => other, // curl, python3
    };
    let mut found = run(Command::new("which").arg(name), b"").status.success();
    // The tests use OpenBSD netcat's -C (send CRLF) and -N (shut down at end of input).
    if found && name == "nc" {
        let help = run(Command::new("nc").arg("-h"), b"");
        found = String::from_utf8_lossy(&help.stderr).contains("OpenBSD netcat");
    }
    if found {
        return true;
    }
    super::skip(&format!(
        "{name} not installed; install it with apt-get install {package}"
    ));
    false
}

/// Runs a client to completion with `input` on its standard input and returns what it
/// printed. A client still running after `CHILD_TIMEOUT` is killed and the test fails.
pub fn run(command: &mut Command, input: &[u8]) -> Output {
    let shown = format!("{command:?}");
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {shown}: {e}"));
    // Write and read from threads, so a full pipe can never stall the child or us.
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = input.to_vec();
    let writer = thread::spawn(move || {
        let _ = stdin.write_all(&input); // dropping stdin closes it: end of input
    });
    let stdout = drain(child.stdout.take().expect("piped stdout"));
    let stderr = drain(child.stderr.take().expect("piped stderr"));
    let deadline = Instant::now() + CHILD_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{shown} still running after {CHILD_TIMEOUT:?}: killed it");
        }
        thread::sleep(Duration::from_millis(10));
    };
    writer.join().expect("stdin writer");
    Output {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

pub fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

/// Fails the test, showing everything the client said, unless it exited with 0.
pub fn succeeded(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{}\n--- stdout:\n{stdout}\n--- stderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// lettre's TLS parameters trusting only `cert` (no system roots), verified for
/// `localhost`: how a mail program is told to trust `--tls-self-signed`'s certificate.
pub fn lettre_tls(cert: &Path) -> TlsParameters {
    let pem = std::fs::read(cert).expect("the certificate");
    TlsParameters::builder("localhost".into())
        .certificate_store(CertificateStore::None)
        .add_root_certificate(Certificate::from_pem(&pem).expect("a PEM certificate"))
        .build_rustls()
        .expect("TLS parameters")
}
