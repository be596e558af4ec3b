//! `postie check`, graded itself:
//!
//! 1. every check fails against a fake server that breaks exactly its rule, and every
//!    check passes against the fake that keeps them all (tests/check/fake.rs);
//! 2. the whole run passes against postie, and the stored-mail checks read an mbox as
//!    well as a Maildir;
//! 3. against Postfix's real smtpd, aiosmtpd and the deliberately flawed example
//!    server (examples/flawed_smtp.py), the outcomes are those the book's appendix
//!    "Grading a server" shows: it includes the same files this test reads,
//!    tests/check/*.expected (compared as data: check id → outcome);
//! 4. the JSON report parses (Python's json), the JUnit report parses (Python's
//!    xml.etree) and has testsuite, testcase and failure elements; the exit status
//!    says whether every MUST holds.
//!
//! Postfix and aiosmtpd are Debian packages (`postfix`, `python3-aiosmtpd`): a missing
//! one skips its test with a message, except in CI (`CI` set), where it fails.

mod common;
#[path = "check/fake.rs"]
mod fake;

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fake::{Break, Fake};
use postie::check::{self, Outcome, Report, Settings};

/// Short waits: no test waits for a real timeout.
fn quick(addr: SocketAddr) -> Settings {
    let mut s = Settings::new(addr);
    s.reply_timeout = Duration::from_secs(8);
    s.quiet = Duration::from_millis(250);
    s.idle = Duration::from_secs(1);
    s.store_wait = Duration::from_secs(10);
    s
}

/// The same waits as flags of `postie check`.
const QUICK_FLAGS: &[&str] = &[
    "--timeout",
    "8",
    "--quiet-ms",
    "250",
    "--idle",
    "1",
    "--store-wait",
    "10",
];

// ---------------------------------------------------------------------------------------
// 1. Each check against a server that breaks its rule, and one that keeps it

/// For each check, the one rule a fake server breaks to make it fail.
fn breakers() -> Vec<(&'static str, Break)> {
    use Break::*;
    vec![
        ("listen.concurrent", SingleThreaded),
        ("listen.idle", IdleCutoff),
        ("lines.bare-lf", BareLfEndsLines),
        ("lines.command-512", ShortCommandLines),
        ("lines.too-long", SplitsLongLines),
        ("order.rcpt-before-mail", RcptWithoutMail),
        ("order.data-before-rcpt", DataWithoutRcpt),
        ("order.nested-mail", NestedMailOk),
        ("order.ehlo-resets", EhloKeepsTransaction),
        ("order.before-ehlo", NeedsEhloFirst),
        ("greeting.220", Greeting250),
        ("greeting.domain", GreetingWithoutName),
        ("ehlo.250", EhloWithoutName),
        ("ehlo.keywords", BadEhloKeyword),
        ("ehlo.helo", NoHelo),
        ("ehlo.no-domain", EmptyEhloOk),
        ("ehlo.lowercase", CaseSensitive),
        ("mail.250", MailRefused),
        ("mail.null-path", NullPathRefused),
        ("mail.syntax-501", LenientPath),
        ("mail.unknown-param", IgnoresUnknownParams),
        ("mail.lowercase", CaseSensitive),
        ("rcpt.250", RcptRefused),
        ("rcpt.postmaster", NoPostmaster),
        ("rcpt.hundred", TenRecipients),
        ("data.354", Data250),
        ("data.end", TwoRepliesAfterDot),
        ("data.line-1000", ShortTextLines),
        ("data.dot-stuffing", NoUnstuffing),
        ("data.pipelining", PipeliningLosesCommands),
        ("data.size-declared", SizeParamRefused),
        ("data.size-over", SizeIgnored),
        ("data.smuggle-lf-dot-lf", EndsDataAt(b"\n.\n")),
        ("data.smuggle-lf-dot-crlf", EndsDataAt(b"\n.\r\n")),
        ("data.smuggle-cr-dot-cr", EndsDataAt(b"\r.\r")),
        ("data.smuggle-cr-dot-lf", EndsDataAt(b"\r.\n")),
        ("data.smuggle-lf-dot-cr", EndsDataAt(b"\n.\r")),
        ("data.smuggle-cr-dot-crlf", EndsDataAt(b"\r.\r\n")),
        ("data.smuggle-crlf-dot-lf", EndsDataAt(b"\r\n.\n")),
        ("data.smuggle-crlf-dot-cr", EndsDataAt(b"\r\n.\r")),
        ("data.smuggle-crlf-nul-dot", EndsDataAt(b"\r\n\x00.\r\n")),
        ("data.smuggle-crlf-dot-nul", EndsDataAt(b"\r\n.\x00\r\n")),
        ("data.smuggle-crlf-dot-crcrlf", EndsDataAt(b"\r\n.\r\r\n")),
        (
            "data.smuggle-crcrlf-dot-crcrlf",
            EndsDataAt(b"\r\r\n.\r\r\n"),
        ),
        ("store.once", StoresTwice),
        ("store.received", NoReceived),
        ("store.return-path", NoReturnPath),
        ("store.vanished", StoresUnfinished),
        ("cmd.noop", NoopRefused),
        ("cmd.rset", RsetKeepsTransaction),
        ("cmd.rset-argument", RsetArgumentOk),
        ("cmd.vrfy", NoVrfy),
        ("cmd.help", NoHelp),
        ("cmd.quit", QuitKeepsOpen),
        ("reply.format", BareLfInNoopReply),
        ("reply.unknown-500", Unknown502),
        ("reply.enhanced", NoEnhancedCodes),
        ("safe.relay", OpenRelay),
        ("safe.vanished-client", DiesWhenClientVanishes),
    ]
}

/// Runs one check (or all, with `None`) against a fake server breaking `rule`.
fn against_fake(rule: Break, only: Option<&str>) -> Report {
    let server = Fake::start(rule);
    let mut settings = quick(server.addr).with_maildir(&server.maildir);
    settings.only = only.map(|id| vec![id.to_string()]).unwrap_or_default();
    check::run(&settings)
}

#[test]
fn every_check_has_a_server_that_breaks_it() {
    let covered: Vec<&str> = breakers().iter().map(|(id, _)| *id).collect();
    let missing: Vec<&str> = check::checks::all()
        .map(|c| c.id)
        .filter(|id| !covered.contains(id))
        .collect();
    assert!(
        missing.is_empty(),
        "checks without a breaking fake server: {missing:?}"
    );
}

#[test]
fn the_book_names_every_check() {
    let page = std::fs::read_to_string(repo().join("book/src/appendix-grading.md")).unwrap();
    let missing: Vec<&str> = check::checks::all()
        .map(|c| c.id)
        .filter(|id| !page.contains(&format!("`{id}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "book/src/appendix-grading.md does not list {missing:?}"
    );
    let counts: Vec<String> = check::CHECKS
        .iter()
        .map(|stage| stage.len().to_string())
        .collect();
    let total = check::checks::all().count();
    let sentence = format!(
        "That is {total} checks: {}",
        counts[..counts.len() - 1].join(", ")
    );
    let flat = page.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains(&sentence),
        "the appendix should say: {sentence} and {}",
        counts[counts.len() - 1]
    );
}

#[test]
fn every_check_passes_against_a_server_that_keeps_every_rule() {
    let report = against_fake(Break::Nothing, None);
    let not_passed: Vec<String> = report
        .results
        .iter()
        .filter(|r| r.outcome != Outcome::Pass)
        .map(|r| {
            format!(
                "{} {:?}: {}\n{}",
                r.check.id,
                r.outcome,
                r.detail,
                check::report::table::transcript(&r.transcript)
            )
        })
        .collect();
    assert!(not_passed.is_empty(), "{}", not_passed.join("\n"));
}

#[test]
fn every_check_fails_against_a_server_that_breaks_its_rule() {
    // All at once, each with a fake server of its own: most of the time is waiting.
    let runs: Vec<_> = breakers()
        .into_iter()
        .map(|(id, rule)| {
            let shown = format!("{rule:?}");
            (
                id,
                shown,
                std::thread::spawn(move || against_fake(rule, Some(id))),
            )
        })
        .collect();
    let mut problems = Vec::new();
    for (id, rule, run) in runs {
        let report = run.join().expect("a run of the grader");
        match report.results.as_slice() {
            [result] if result.outcome == Outcome::Fail => {
                assert!(
                    !result.transcript.is_empty(),
                    "{id}: a failure without its bytes"
                );
            }
            [result] => problems.push(format!(
                "{id} against {rule}: {:?} {}",
                result.outcome, result.detail
            )),
            other => problems.push(format!("{id}: {} results", other.len())),
        }
    }
    assert!(
        problems.is_empty(),
        "checks that did not fail:\n{}",
        problems.join("\n")
    );
}

#[test]
fn stage_only_and_skip_slow_choose_the_checks() {
    let server = Fake::start(Break::Nothing);
    let mut settings = quick(server.addr);
    settings.stage = 4;
    settings.skip_slow = true;
    let report = check::run(&settings);
    assert!(report.results.iter().all(|r| r.check.stage <= 4));
    assert_eq!(
        report.results.len(),
        check::checks::all().filter(|c| c.stage <= 4).count()
    );
    let idle = report
        .results
        .iter()
        .find(|r| r.check.id == "listen.idle")
        .unwrap();
    assert_eq!(
        (idle.outcome, idle.detail.as_str()),
        (Outcome::NotChecked, "left out by --skip-slow")
    );
    // Without a store, the checks that must see stored mail say so.
    settings.stage = 12;
    settings.only = vec!["store.once".into(), "data.dot-stuffing".into()];
    let report = check::run(&settings);
    assert_eq!(report.results.len(), 2);
    for r in &report.results {
        assert_eq!(r.outcome, Outcome::NotChecked, "{}", r.check.id);
        assert!(r.detail.contains("--maildir"), "{}", r.detail);
    }
}

#[test]
fn the_stored_mail_checks_read_an_mbox_too() {
    let ids = [
        "data.dot-stuffing",
        "store.once",
        "store.received",
        "store.return-path",
        "store.vanished",
    ];
    let server = Fake::start_mbox(Break::Nothing);
    let mut settings = quick(server.addr);
    settings.store = Some(check::store::Store::Mbox(server.mbox.clone()));
    settings.only = ids.iter().map(|id| id.to_string()).collect();
    let report = check::run(&settings);
    assert_eq!(report.results.len(), ids.len());
    for r in &report.results {
        assert_eq!(r.outcome, Outcome::Pass, "{}: {}", r.check.id, r.detail);
    }
    // And a server that stores twice is caught in an mbox as in a Maildir.
    let server = Fake::start_mbox(Break::StoresTwice);
    settings.target = server.addr;
    settings.store = Some(check::store::Store::Mbox(server.mbox.clone()));
    settings.only = vec!["store.once".into()];
    assert_eq!(check::run(&settings).results[0].outcome, Outcome::Fail);
}

#[test]
fn a_hostile_server_never_crashes_the_grader() {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    // Garbage, a line with no end, then a close: every check fails, none panics.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let junk: &[u8] = match n % 4 {
                    0 => b"\xff\xfe not smtp at all\r\n",
                    1 => b"220-fine\r\n220-",
                    2 => b"220 ok\r\n",
                    _ => {
                        // A reply that never ends.
                        while stream.write_all(b"220-more\r\n").is_ok() {}
                        return;
                    }
                };
                let _ = stream.write_all(junk);
                let mut buf = [0u8; 1024];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(&vec![b'2'; 100_000]);
            });
        }
    });
    let mut settings = quick(addr);
    settings.reply_timeout = Duration::from_millis(500);
    settings.quiet = Duration::from_millis(100);
    settings.skip_slow = true;
    let report = check::run(&settings);
    assert!(!report.ok(), "a server that speaks no SMTP cannot pass");
    assert!(
        report
            .results
            .iter()
            .all(|r| !r.detail.contains("grader itself")),
        "a panic"
    );
}

// ---------------------------------------------------------------------------------------
// 2. postie passes

#[test]
fn the_whole_run_passes_against_postie() {
    let server = common::TestServer::start_with(|config| {
        // Trust no one on loopback, so that relaying is refused to the grader.
        config.policy.relay_networks = vec!["192.0.2.0/24".parse().unwrap()];
    });
    let report = check::run(&quick(server.addr).with_maildir(server.maildir()));
    let not_passed: Vec<String> = report
        .results
        .iter()
        .filter(|r| r.outcome != Outcome::Pass)
        .map(|r| {
            format!(
                "{} {:?}: {}\n{}",
                r.check.id,
                r.outcome,
                r.detail,
                check::report::table::transcript(&r.transcript)
            )
        })
        .collect();
    assert!(not_passed.is_empty(), "{}", not_passed.join("\n"));
}

// ---------------------------------------------------------------------------------------
// 3. Postfix, aiosmtpd and the flawed example: the book's reports

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The outcomes the book shows for `server`: tests/check/SERVER.expected lists the
/// checks that do not pass (`id outcome`, `#` comments); every other check passes.
fn expected(server: &str) -> BTreeMap<String, String> {
    let path = repo()
        .join("tests/check")
        .join(format!("{server}.expected"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let listed: BTreeMap<String, String> = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim())
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (id, outcome) = l.split_once(char::is_whitespace).expect("id outcome");
            (id.to_string(), outcome.trim().to_string())
        })
        .collect();
    check::checks::all()
        .map(|c| {
            let outcome = listed.get(c.id).cloned().unwrap_or_else(|| "pass".into());
            (c.id.to_string(), outcome)
        })
        .collect()
}

fn outcomes(report: &Report) -> BTreeMap<String, String> {
    report
        .outcomes()
        .into_iter()
        .map(|(id, o)| (id.to_string(), o.as_str().to_string()))
        .collect()
}

/// Fails with every difference between the book's report and this run.
fn assert_matches_book(server: &str, report: &Report) {
    let want = expected(server);
    let got = outcomes(report);
    let differences: Vec<String> = want
        .iter()
        .filter(|(id, o)| got.get(*id) != Some(o))
        .map(|(id, o)| {
            let r = report.results.iter().find(|r| r.check.id == id);
            format!(
                "{id}: the book says {o}, this run {} ({})",
                got.get(id).map_or("nothing", String::as_str),
                r.map_or("", |r| r.detail.as_str())
            )
        })
        .collect();
    assert!(
        differences.is_empty(),
        "{server} no longer gives the report in book/src/appendix-grading.md \
         (tests/check/{server}.expected):\n{}",
        differences.join("\n")
    );
}

/// Is this installed? If not: fail in CI, or say how to get it and skip.
fn available(found: bool, what: &str, package: &str) -> bool {
    if found {
        return true;
    }
    common::skip(&format!(
        "{what} is missing; install it with apt-get install {package}"
    ));
    false
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(addr: SocketAddr, what: &str, mut alive: impl FnMut() -> Result<(), String>) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if let Err(e) = alive() {
            panic!("{what} did not start: {e}");
        }
        assert!(
            Instant::now() < deadline,
            "{what} is not listening on {addr}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A child process killed and reaped when dropped.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A private Postfix on a loopback port: config, queue and Maildirs under a temporary
/// directory. Stopped by sending SIGTERM to its master's PID (master.pid).
struct Postfix {
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl Postfix {
    fn start() -> Option<Postfix> {
        let installed = Path::new("/usr/sbin/postfix").exists()
            && Path::new("/usr/lib/postfix/sbin/smtpd").exists();
        if !available(installed, "Postfix (/usr/sbin/postfix)", "postfix") {
            return None;
        }
        let root = std::fs::metadata("/proc/self")
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
            .unwrap_or(false);
        if !available(root, "root (Postfix's master runs as root)", "postfix") {
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        let port = free_port();
        for sub in ["queue", "data", "mail"] {
            std::fs::create_dir(d.join(sub)).unwrap();
        }
        use std::os::unix::fs::PermissionsExt;
        // The virtual delivery agent writes as nobody (uid 65534).
        std::fs::set_permissions(d.join("mail"), std::fs::Permissions::from_mode(0o1777)).unwrap();
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
        let status = Command::new("chown")
            .arg("postfix")
            .arg(d.join("data"))
            .status()
            .unwrap();
        assert!(status.success(), "chown postfix");
        // ANCHOR: postfix_config
        let main_cf = format!(
            "compatibility_level = 3.6\n\
             queue_directory = {d}/queue\n\
             data_directory = {d}/data\n\
             mail_owner = postfix\n\
             inet_interfaces = loopback-only\n\
             inet_protocols = ipv4\n\
             myhostname = mx.postfix.test\n\
             mydomain = postfix.test\n\
             myorigin = localhost\n\
             mydestination =\n\
             # Loopback is not trusted: the grader is a stranger, and relaying is refused.\n\
             mynetworks = 192.0.2.0/24\n\
             alias_maps =\n\
             alias_database =\n\
             local_recipient_maps =\n\
             virtual_mailbox_domains = localhost\n\
             virtual_mailbox_base = {d}/mail\n\
             virtual_mailbox_maps = inline:{{ postmaster@localhost=localhost/postmaster/ }}\n\
             virtual_uid_maps = static:65534\n\
             virtual_gid_maps = static:65534\n\
             maillog_file = {d}/maillog\n\
             maillog_file_prefixes = {d}\n",
            d = d.display()
        );
        // ANCHOR_END: postfix_config
        std::fs::write(d.join("main.cf"), main_cf).unwrap();
        let master =
            std::fs::read_to_string("/etc/postfix/master.cf").expect("/etc/postfix/master.cf");
        let master: String = master
            .lines()
            .map(|l| {
                if l.starts_with("smtp ") && l.contains(" inet ") {
                    format!("127.0.0.1:{port} inet n - n - - smtpd")
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n";
        std::fs::write(d.join("master.cf"), master).unwrap();
        let run = |args: &[&str]| {
            let out = Command::new("/usr/sbin/postfix")
                .arg("-c")
                .arg(d)
                .args(args)
                .stdin(Stdio::null())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "postfix {args:?}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let out = Command::new("/usr/sbin/postconf")
            .arg("-c")
            .arg(d)
            .args(["-F", "*/*/chroot = n"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "postconf: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        run(&["start"]);
        let postfix = Postfix {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir,
        };
        let log = postfix.dir.path().join("maillog");
        let deadline = Instant::now() + Duration::from_secs(19);
        wait_for_port(postfix.addr, "Postfix", || {
            if Instant::now() < deadline {
                Ok(())
            } else {
                Err(std::fs::read_to_string(&log).unwrap_or_default())
            }
        });
        Some(postfix)
    }

    fn master_pid(&self) -> Option<u32> {
        let text = std::fs::read_to_string(self.dir.path().join("queue/pid/master.pid")).ok()?;
        text.trim().parse().ok()
    }

    fn maildir(&self) -> PathBuf {
        self.dir.path().join("mail")
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let Some(pid) = self.master_pid() else { return };
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        // Gone, or a zombie that only its parent (init) can reap.
        let running = || {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                stat.rsplit(')')
                    .next()
                    .is_some_and(|rest| !rest.trim_start().starts_with('Z'))
            })
        };
        while running() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn postfix_gives_the_report_in_the_book() {
    let Some(postfix) = Postfix::start() else {
        return;
    };
    let report = check::run(&quick(postfix.addr).with_maildir(postfix.maildir()));
    assert_matches_book("postfix", &report);
}

/// Debian's python3-aiosmtpd lives in the system Python, not in a pyenv one.
const SYSTEM_PYTHON: &str = "/usr/bin/python3";

fn python_has(module: &str) -> bool {
    Command::new(SYSTEM_PYTHON)
        .args(["-c", &format!("import {module}")])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Starts a Python server listening on a free port; returns it with its Maildir.
fn python_server(args: &[&str], maildir: &Path, what: &str) -> (ChildGuard, SocketAddr) {
    let port = free_port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let child = Command::new(SYSTEM_PYTHON)
        .args(args.iter().map(|a| {
            a.replace("PORT", &port.to_string())
                .replace("MAILDIR", &maildir.display().to_string())
        }))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let mut guard = ChildGuard(child);
    wait_for_port(addr, what, || match guard.0.try_wait() {
        Ok(Some(status)) => Err(format!("exited: {status}")),
        _ => Ok(()),
    });
    (guard, addr)
}

fn new_maildir(dir: &Path) -> PathBuf {
    let maildir = dir.join("mail");
    for sub in ["tmp", "new", "cur"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    maildir
}

#[test]
fn aiosmtpd_gives_the_report_in_the_book() {
    if !available(
        python_has("aiosmtpd"),
        "aiosmtpd for /usr/bin/python3",
        "python3-aiosmtpd",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let maildir = new_maildir(dir.path());
    // ANCHOR: aiosmtpd
    let args = [
        "-m",
        "aiosmtpd",
        "-n",
        "-l",
        "127.0.0.1:PORT",
        "-c",
        "aiosmtpd.handlers.Mailbox",
        "MAILDIR",
    ];
    // ANCHOR_END: aiosmtpd
    let (_server, addr) = python_server(&args, &maildir, "aiosmtpd");
    let report = check::run(&quick(addr).with_maildir(&maildir));
    assert_matches_book("aiosmtpd", &report);
}

#[test]
fn the_flawed_example_gives_the_report_in_the_book() {
    if !available(Path::new(SYSTEM_PYTHON).exists(), SYSTEM_PYTHON, "python3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let maildir = new_maildir(dir.path());
    let script = repo().join("examples/flawed_smtp.py");
    let script = script.display().to_string();
    let (_server, addr) = python_server(
        &[&script, "PORT", "MAILDIR"],
        &maildir,
        "examples/flawed_smtp.py",
    );
    let report = check::run(&quick(addr).with_maildir(&maildir));
    assert_matches_book("flawed", &report);
}

// ---------------------------------------------------------------------------------------
// 4. The command: formats and exit status

fn postie_check(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_postie"))
        .arg("check")
        .args(args)
        .args(QUICK_FLAGS)
        .stdin(Stdio::null())
        .output()
        .expect("run postie check")
}

/// Runs Python code with `input` on stdin; its stdout, or a failure.
fn python(code: &str, input: &[u8]) -> String {
    use std::io::Write;
    let mut child = Command::new(SYSTEM_PYTHON)
        .args(["-c", code])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    let _ = child.stdin.take().unwrap().write_all(input);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn json_and_junit_parse_and_the_exit_status_follows_the_musts() {
    if !available(Path::new(SYSTEM_PYTHON).exists(), SYSTEM_PYTHON, "python3") {
        return;
    }
    // A server that breaks a MUST (no 501 for a broken path): exit status 1.
    let server = Fake::start(Break::LenientPath);
    let addr = server.addr.to_string();
    let out = postie_check(&[&addr, "--stage", "6", "--skip-slow", "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = python(
        "import json, sys\n\
         r = json.load(sys.stdin)\n\
         by_id = {c['id']: c for c in r['checks']}\n\
         f = by_id['mail.syntax-501']\n\
         assert f['outcome'] == 'fail' and f['level'] == 'MUST', f\n\
         assert any(t['dir'] == 'C' and 'MAIL FROM:<' in t['bytes'] for t in f['transcript']), f\n\
         assert by_id['greeting.220']['outcome'] == 'pass'\n\
         print(r['ok'], r['failed_must'], len(r['checks']))",
        &out.stdout,
    );
    assert_eq!(
        summary.trim(),
        format!(
            "False 1 {}",
            check::checks::all().filter(|c| c.stage <= 6).count()
        )
    );

    let out = postie_check(&[&addr, "--stage", "6", "--skip-slow", "--format", "junit"]);
    assert_eq!(out.status.code(), Some(1));
    let counts = python(
        "import sys, xml.etree.ElementTree as ET\n\
         root = ET.fromstring(sys.stdin.buffer.read())\n\
         assert root.tag == 'testsuites', root.tag\n\
         suites = root.findall('testsuite')\n\
         cases = root.findall('testsuite/testcase')\n\
         for s in suites:\n    assert s.get('name') and s.get('tests') and s.get('failures') is not None\n\
         for c in cases:\n    assert c.get('name') and c.get('classname') and c.get('time')\n\
         failures = root.findall('testsuite/testcase/failure')\n\
         skipped = root.findall('testsuite/testcase/skipped')\n\
         assert all(f.get('type') in ('MUST', 'SHOULD') and f.get('message') for f in failures)\n\
         print(len(suites), len(cases), len(failures), len(skipped))",
        &out.stdout,
    );
    let cases = check::checks::all().filter(|c| c.stage <= 6).count();
    assert_eq!(
        counts.trim(),
        format!("6 {cases} 1 1"),
        "suites, cases, failures, skipped"
    );

    // The table, when not on a terminal: no colour codes, a summary line.
    let out = postie_check(&[&addr, "--only", "mail.syntax-501"]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(!table.contains('\x1b'), "colour codes in a pipe:\n{table}");
    assert!(
        table.contains("FAIL mail.syntax-501 (MUST, RFC 5321 §4.1.4)"),
        "{table}"
    );
    assert!(
        table.contains("C: MAIL FROM:<grader@example.org\\r\\n"),
        "{table}"
    );
    assert!(
        table.contains("1 checks: 0 passed, 1 failed MUST"),
        "{table}"
    );

    // Every MUST holds on a server that keeps them: exit status 0, even with a SHOULD failing.
    let good = Fake::start(Break::NoHelp);
    let out = postie_check(&[&good.addr.to_string(), "--skip-slow"]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{table}");
    assert!(table.contains("fail cmd.help (SHOULD"), "{table}");

    // Mistakes: exit status 2, one line.
    let out = postie_check(&[&addr, "--only", "no.such-check"]);
    assert_eq!(out.status.code(), Some(2));
    let closed = free_port();
    let out = postie_check(&[&format!("127.0.0.1:{closed}")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot connect"));
}
