//! Floods and slow clients, against the real `postie` binary on loopback: a thousand
//! idle connections, clients that send one byte at a time, a megabyte without a newline,
//! ten thousand pipelined NOOPs, early talkers, HTTP requests and random garbage.
//!
//! Every test is bounded in count and time and stops by itself. What does not depend
//! on the machine is asserted: every client gets its reply (each refused client its
//! 421, each NOOP its 250), a thread per held client and not many more, memory that
//! does not grow with garbage. What does depend on it — how long a refused client
//! waits for its 421, NOOPs per second, peak memory — is printed, not asserted:
//! performance is measured by benchmarks (`benches/`), never by timed assertions in
//! tests. Run `cargo test --test flood -- --nocapture` to see the figures.

#[path = "common/child.rs"]
mod child;
mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use child::Postie;

/// A raw client: what it sends is exactly what the test says.
struct Raw {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Raw {
    fn connect(addr: SocketAddr) -> Raw {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        Raw {
            stream,
            buffer: Vec::new(),
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    /// The next reply line, or `None` once the server has closed the connection.
    fn line(&mut self) -> Option<String> {
        loop {
            if let Some(end) = self.buffer.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=end).collect();
                return Some(String::from_utf8_lossy(&line).into_owned());
            }
            let mut chunk = [0u8; 16384];
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return None,
                Err(e) => panic!("read: {e}"),
            }
        }
    }

    fn reply(&mut self) -> String {
        let mut reply = String::new();
        loop {
            let line = self.line().expect("a reply, not a closed connection");
            let last = line.as_bytes().get(3) != Some(&b'-');
            reply.push_str(&line);
            if last {
                return reply;
            }
        }
    }

    fn cmd(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes());
        self.reply()
    }

    fn is_closed(&mut self) -> bool {
        self.buffer.is_empty() && self.line().is_none()
    }
}

fn start(dir: &Path, flags: &[&str]) -> Postie {
    Postie::start(dir, &dir.join("postie.log"), flags)
}

/// A whole message from a well-behaved client: proof the server still serves.
fn deliver_one(addr: SocketAddr) {
    let mut client = Raw::connect(addr);
    assert!(client.reply().starts_with("220 "));
    assert!(client.cmd("EHLO good.example").starts_with("250"));
    assert!(client
        .cmd("MAIL FROM:<alice@localhost>")
        .starts_with("250 "));
    assert!(client.cmd("RCPT TO:<bob@localhost>").starts_with("250 "));
    assert!(client.cmd("DATA").starts_with("354 "));
    client.send(b"Subject: still here\r\n\r\nhello\r\n.\r\n");
    let reply = client.reply();
    assert!(reply.starts_with("250 2.0.0"), "{reply}");
    assert!(client.cmd("QUIT").starts_with("221 "));
}

/// This process's soft limit of open files, raised to the hard limit (with util-linux's
/// `prlimit`, as std cannot call setrlimit) if it is below `needed`. The child postie
/// inherits it.
fn ensure_open_files(needed: u64) -> bool {
    let soft = || {
        let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
        let line = limits
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .unwrap();
        let fields: Vec<&str> = line.split_whitespace().collect();
        let number = |s: &str| s.parse::<u64>().unwrap_or(u64::MAX);
        (number(fields[3]), number(fields[4]))
    };
    let (current, hard) = soft();
    if current >= needed {
        return true;
    }
    let pid = std::process::id().to_string();
    let _ = std::process::Command::new("prlimit")
        .args(["--pid", &pid, &format!("--nofile={hard}:{hard}")])
        .status();
    soft().0 >= needed
}

// ---------------------------------------------------------------------------------------

#[test]
fn a_thousand_idle_connections_hold_and_the_next_client_gets_421() {
    const CLIENTS: usize = 1000;
    if !ensure_open_files(2 * CLIENTS as u64 + 200) {
        common::skip("cannot raise RLIMIT_NOFILE to 2,200 (ulimit -n)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let postie = start(
        dir.path(),
        &["--max-connections", "1000", "--timeout", "60"],
    );
    let (rss_before, threads_before) = (postie.status("VmRSS"), postie.status("Threads"));

    let mut idle = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        let mut client = Raw::connect(postie.addr);
        let greeting = client.reply();
        assert!(greeting.starts_with("220 "), "{greeting}");
        idle.push(client);
    }
    let threads = postie.status("Threads");
    let peak = postie.status("VmHWM");
    // One thread per client, and not many more: the cap is the only thing that grows.
    assert!(
        threads >= threads_before + CLIENTS as u64,
        "{threads} threads"
    );
    assert!(
        threads <= threads_before + CLIENTS as u64 + 2,
        "{threads} threads"
    );

    // Full: the next clients are refused at once, without a thread of their own.
    let mut waits = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let mut client = Raw::connect(postie.addr);
        let reply = client.reply();
        waits.push(started.elapsed());
        assert!(reply.starts_with("421 "), "over the cap: {reply}");
        assert!(client.is_closed());
    }
    assert!(
        postie.status("Threads") <= threads,
        "a refused client got a thread"
    );
    // The idle ones are still served.
    for client in idle.iter_mut().step_by(100) {
        assert!(client.cmd("NOOP").starts_with("250 "));
    }
    waits.sort();
    println!(
        "flood: {CLIENTS} idle connections: peak RSS {:.1} MiB (idle server {:.1} MiB), \
         {threads} threads (idle server {threads_before}); over the cap, 421 after {:?} \
         (median of 20, worst {:?})",
        peak as f64 / 1024.0,
        rss_before as f64 / 1024.0,
        waits[10],
        waits[19],
    );
}

#[test]
fn a_client_sending_one_byte_at_a_time_is_cut_off_at_the_command_deadline() {
    let dir = tempfile::tempdir().unwrap();
    // One client at a time: the next one is only served once the trickler's thread is free.
    let postie = start(
        dir.path(),
        &[
            "--command-timeout",
            "2",
            "--timeout",
            "10",
            "--max-connections",
            "1",
        ],
    );
    let mut slow = Raw::connect(postie.addr);
    assert!(slow.reply().starts_with("220 "));
    // One byte every 150 ms: each read comes well within the 10 s read timeout, but the
    // command would take 3 s.
    let started = Instant::now();
    let mut closed_by_server = false;
    for &byte in b"EHLO slow.example.with.a.long.name\r\n" {
        if slow.stream.write_all(&[byte]).is_err() {
            closed_by_server = true;
            break;
        }
        thread::sleep(Duration::from_millis(150));
        if started.elapsed() > Duration::from_secs(8) {
            break;
        }
    }
    let reply = slow.reply();
    let elapsed = started.elapsed();
    assert!(reply.starts_with("421 "), "{reply}");
    assert!(reply.contains("timeout"), "{reply}");
    assert!(
        elapsed >= Duration::from_secs(2),
        "cut off before the deadline: {elapsed:?}"
    );
    assert!(slow.is_closed() || closed_by_server);
    println!("flood: a byte every 150 ms was cut off after {elapsed:?} (--command-timeout 2)");
    // Its thread is free again: the one slot serves a new client.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut next = Raw::connect(postie.addr);
        if next.reply().starts_with("220 ") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the trickler's slot never came back"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_trickle_of_message_text_is_cut_off_too_and_nothing_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let postie = start(dir.path(), &["--command-timeout", "2", "--timeout", "10"]);
    let mut slow = Raw::connect(postie.addr);
    assert!(slow.reply().starts_with("220 "));
    assert!(slow.cmd("EHLO slow.example").starts_with("250"));
    assert!(slow.cmd("MAIL FROM:<alice@localhost>").starts_with("250 "));
    assert!(slow.cmd("RCPT TO:<bob@localhost>").starts_with("250 "));
    assert!(slow.cmd("DATA").starts_with("354 "));
    for &byte in b"Subject: this line takes far too long to arrive\r\n" {
        if slow.stream.write_all(&[byte]).is_err() {
            break;
        }
        thread::sleep(Duration::from_millis(100));
    }
    let reply = slow.reply();
    assert!(reply.starts_with("421 4.4.2"), "{reply}");
    let new = dir.path().join("mail/localhost/bob/new");
    assert_eq!(std::fs::read_dir(new).map(|d| d.count()).unwrap_or(0), 0);
}

#[test]
fn a_megabyte_without_a_newline_costs_no_memory_and_ends_at_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let postie = start(dir.path(), &["--timeout", "2", "--command-timeout", "30"]);
    let mut client = Raw::connect(postie.addr);
    assert!(client.reply().starts_with("220 "));
    let before = postie.status("VmHWM");
    client.send(&vec![b'x'; 1 << 20]);
    // No LF ever comes: the server drops what it reads and waits for the end of the line
    // until the read timeout.
    let reply = client.reply();
    assert!(reply.starts_with("421 "), "{reply}");
    assert!(client.is_closed());
    let after = postie.status("VmHWM");
    println!("flood: 1 MiB without LF: peak RSS {before} kB before, {after} kB after");
    // The line buffer has a fixed size (16 KiB); a megabyte must not be kept.
    assert!(
        after < before + 1024,
        "peak RSS grew from {before} kB to {after} kB"
    );
    // And with the LF at the end, the line is refused and the next command served.
    let mut client = Raw::connect(postie.addr);
    assert!(client.reply().starts_with("220 "));
    client.send(&vec![b'x'; 1 << 20]);
    let reply = client.cmd("");
    assert!(reply.starts_with("500 "), "{reply}");
    assert!(client.cmd("NOOP").starts_with("250 "));
}

#[test]
fn ten_thousand_pipelined_noops_get_ten_thousand_replies() {
    const NOOPS: usize = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let postie = start(dir.path(), &[]);
    let mut client = Raw::connect(postie.addr);
    assert!(client.reply().starts_with("220 "));
    assert!(client.cmd("EHLO fast.example").starts_with("250"));
    // Written by another thread while we read, so neither side's buffers fill up.
    let mut writer = client.stream.try_clone().unwrap();
    let sender = thread::spawn(move || {
        let batch = "NOOP\r\n".repeat(NOOPS);
        writer.write_all(batch.as_bytes()).unwrap();
        writer.write_all(b"QUIT\r\n").unwrap();
    });
    let started = Instant::now();
    for i in 0..NOOPS {
        let reply = client.reply();
        assert_eq!(reply, "250 2.0.0 OK\r\n", "reply {i}");
    }
    assert!(client.reply().starts_with("221 "));
    assert!(client.is_closed());
    sender.join().unwrap();
    println!(
        "flood: {NOOPS} pipelined NOOPs answered in {:?}",
        started.elapsed()
    );
}

#[test]
fn early_talkers_are_refused_and_patient_clients_greeted() {
    let dir = tempfile::tempdir().unwrap();
    let postie = start(dir.path(), &["--greeting-delay", "1"]);
    // Talks at once, as a spam program in a hurry does.
    let mut early = Raw::connect(postie.addr);
    early.send(b"EHLO early.example\r\nMAIL FROM:<spam@example.org>\r\n");
    let reply = early.reply();
    assert!(reply.starts_with("554 "), "an early talker: {reply}");
    assert!(reply.contains("before the greeting"), "{reply}");
    assert!(early.is_closed(), "554, then closed");
    // Waits, as RFC 5321 §3.1 says: greeted after the pause, and served.
    let started = Instant::now();
    let mut patient = Raw::connect(postie.addr);
    assert!(patient.reply().starts_with("220 "));
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "greeted before the pause ended"
    );
    assert!(patient.cmd("EHLO patient.example").starts_with("250"));
    assert!(patient.cmd("QUIT").starts_with("221 "));
    assert!(postie.log().contains("talked before the greeting"));
}

#[test]
fn http_requests_are_refused_and_closed_before_their_body_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let postie = start(dir.path(), &[]);
    for request in [
        "GET / HTTP/1.1\r\nHost: mx.example.test\r\n\r\n",
        // The cross-protocol trick: a web form whose body is an SMTP dialogue.
        "POST /form HTTP/1.1\r\nHost: mx.example.test\r\nContent-Length: 90\r\n\r\n\
         HELO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<bob@localhost>\r\nDATA\r\nhi\r\n.\r\n",
        "CONNECT mx.example.test:25 HTTP/1.1\r\n\r\n",
    ] {
        let mut client = Raw::connect(postie.addr);
        assert!(client.reply().starts_with("220 "));
        client.send(request.as_bytes());
        let reply = client.reply();
        assert!(reply.starts_with("554 "), "{request:?}: {reply}");
        assert!(reply.contains("not HTTP"), "{reply}");
        assert!(client.is_closed(), "{request:?} must close the connection");
    }
    let new = dir.path().join("mail/localhost/bob/new");
    assert_eq!(std::fs::read_dir(new).map(|d| d.count()).unwrap_or(0), 0);
}

#[test]
fn random_garbage_after_connect_is_answered_then_closed_and_the_server_lives_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut postie = start(dir.path(), &["--command-timeout", "5", "--timeout", "5"]);
    // A fixed seed per client: a failure can be replayed.
    let garbage = |seed: u64, len: usize| -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Plenty of CR and LF, so the garbage comes in lines of every shape.
                match x % 16 {
                    0 => b'\n',
                    1 => b'\r',
                    _ => (x >> 8) as u8,
                }
            })
            .collect()
    };
    let clients: Vec<_> = (1..=20u64)
        .map(|seed| {
            let bytes = garbage(seed, 64 * 1024);
            let addr = postie.addr;
            thread::spawn(move || {
                let mut client = Raw::connect(addr);
                let greeting = client.reply();
                assert!(greeting.starts_with("220 "));
                let mut writer = client.stream.try_clone().unwrap();
                // The server may close before it has read everything: that is fine.
                thread::spawn(move || {
                    let _ = writer.write_all(&bytes);
                });
                let mut last = String::new();
                while let Some(line) = client.line() {
                    let code: u16 = line.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
                    assert!((200..600).contains(&code), "seed {seed}: {line:?}");
                    assert!(line.ends_with("\r\n"), "seed {seed}: {line:?}");
                    last = line;
                }
                last
            })
        })
        .collect();
    for (seed, client) in (1..).zip(clients) {
        let last = client.join().unwrap();
        // The error budget (421) or the DATA smuggling guard (a bare CR or LF) ends it.
        assert!(
            last.starts_with("421 ") || last.starts_with("5"),
            "seed {seed}: ended with {last:?}"
        );
    }
    assert!(postie.is_running(), "postie died:\n{}", postie.log());
    deliver_one(postie.addr);
}
