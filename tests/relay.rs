//! The relay from end to end, against real peers: a second postie found through a real
//! DNS server (dnsmasq), Postfix's smtp-sink with injected faults, the DSNs that come
//! back, retries, expiry, a restart, the open-relay tricks, `postie queue`, and the
//! `send_mail` example.
//!
//! Every address is on loopback (127.0.0.1; ::1 in one test). No test may reach the
//! machine's resolver or any other host: a test that relays either names a loopback DNS
//! server (dnsmasq) or a static route, and the harness points every other server at
//! 127.0.0.1:9, where nobody answers.
//!
//! How a test knows the relay is done without sleeping: after postie says 250, a queued
//! message is in the spool until its fate is written down — delivered (the remote
//! server said 250 first), or failed (the bounce is written first). So "the spool is
//! empty" means "everything that will happen has happened", and the checks after it
//! need no waiting.
//!
//! A missing dnsmasq or smtp-sink skips a test on a developer's machine and fails it in
//! CI (see `common/peers.rs`).

mod common;
use common::*;

#[path = "common/peers.rs"]
mod peers;
use peers::*;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use postie::config::{Config, Route};
use postie::relay::client::Timeouts;
use postie::store::spool::{Entry, RecipientState, Spool};

/// How long any relay step may take before the test fails.
const WAIT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------
// A postie for relay tests, and the domains the tests play with.
// ---------------------------------------------------------------------------------------

/// A running postie and where it keeps mail: its Maildir root and its spool (opened a
/// second time, as `postie queue` does, which is safe while the server runs).
struct Node {
    server: TestServer,
    maildir: PathBuf,
    spool: Spool,
}

impl Node {
    /// A server with the test configuration, changed by `adjust`.
    fn start(adjust: impl FnOnce(&mut Config)) -> Node {
        let mut paths = None;
        let server = TestServer::start_with(|c| {
            adjust(c);
            paths = Some((c.maildir.clone(), c.spool.clone()));
        });
        let (maildir, spool) = paths.unwrap();
        Node {
            server,
            maildir,
            spool: Spool::open(spool).expect("open the spool"),
        }
    }

    /// A server whose Maildir and spool are `<dir>/mail` and `<dir>/spool`: they outlive
    /// it, so another server can start on them.
    fn start_in(dir: &Path, adjust: impl FnOnce(&mut Config)) -> Node {
        let (maildir, spool) = (dir.join("mail"), dir.join("spool"));
        Node::start(|c| {
            c.maildir = maildir;
            c.spool = spool;
            adjust(c);
        })
    }

    /// The messages in `<domain>/<user>/new`, oldest name first.
    fn messages(&self, domain: &str, user: &str) -> Vec<String> {
        read_dir_sorted(&self.maildir.join(domain).join(user).join("new"))
            .iter()
            .map(|p| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned())
            .collect()
    }

    /// Every file anywhere under the Maildir root.
    fn all_mail(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for path in read_dir_sorted(dir) {
                if path.is_dir() {
                    walk(&path, out)
                } else {
                    out.push(path)
                }
            }
        }
        let mut out = vec![];
        walk(&self.maildir, &mut out);
        out
    }

    fn queue(&self) -> Vec<Entry> {
        self.spool.list().expect("list the queue")
    }

    /// Nothing queued and nothing left behind: no envelope, no message, no temp file.
    fn queue_is_empty(&self) -> bool {
        ["envelopes", "messages", "tmp"]
            .iter()
            .all(|sub| read_dir_sorted(&self.spool.root().join(sub)).is_empty())
    }

    fn wait_for_empty_queue(&self) {
        wait_until(WAIT, "an empty queue", || self.queue_is_empty());
    }

    /// Waits until `<domain>/<user>/new` holds `n` messages and returns them.
    fn wait_for_messages(&self, domain: &str, user: &str, n: usize) -> Vec<String> {
        wait_until(WAIT, &format!("{n} message(s) for {user}@{domain}"), || {
            self.messages(domain, user).len() >= n
        });
        self.messages(domain, user)
    }
}

fn read_dir_sorted(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![];
    };
    let mut paths: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    paths.sort();
    paths
}

/// Site A: receives mail for a.test as mx.a.test, relays the rest. Short network
/// timeouts, so a broken test fails instead of hanging; the default retry interval
/// (5 minutes), so nothing is retried unless a test asks for it.
fn site_a(c: &mut Config) {
    c.hostname = "mx.a.test".into();
    c.policy.local_domains = vec!["a.test".into()];
    c.relay.workers = 2;
    c.relay.connect_timeout = Duration::from_secs(2);
    let t = Duration::from_secs(10);
    c.relay.timeouts = Timeouts {
        greeting: t,
        command: t,
        data_init: t,
        data_block: t,
        data_end: t,
    };
}

/// Site B: receives mail for b.test as mx.b.test.
fn site_b(c: &mut Config) {
    c.hostname = "mx.b.test".into();
    c.policy.local_domains = vec!["b.test".into()];
}

fn route(domain: &str, port: u16) -> Route {
    Route {
        domain: domain.into(),
        host: "127.0.0.1".into(),
        port,
    }
}

/// The header section of a message (up to the first empty line), unfolded: one entry
/// per field, `(name, value)`.
fn header_fields(message: &str) -> Vec<(String, String)> {
    let head = message
        .split_once("\r\n\r\n")
        .map_or(message, |(head, _)| head);
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            fields.push((name.to_string(), value.trim().to_string()));
        }
    }
    fields
}

/// The values of every field called `name` (case-insensitive), in order.
fn fields(message: &str, name: &str) -> Vec<String> {
    header_fields(message)
        .into_iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .collect()
}

/// The one field called `name`.
fn field(message: &str, name: &str) -> String {
    let values = fields(message, name);
    assert_eq!(values.len(), 1, "{name}: {values:?} in\n{message}");
    values.into_iter().next().unwrap()
}

/// The body parts of a multipart message (RFC 2046 §5.1.1), each with its own header
/// section and content.
fn mime_parts(message: &str) -> Vec<String> {
    let content_type = field(message, "Content-Type");
    let boundary = content_type
        .split_once("boundary=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(b, _)| b)
        .unwrap_or_else(|| panic!("no boundary in {content_type:?}"));
    let (_, body) = message.split_once("\r\n\r\n").expect("a body");
    let delimiter = format!("\r\n--{boundary}");
    let (_, rest) = body.split_once(&delimiter).expect("a first part");
    let (parts, _epilogue) = rest
        .split_once(&format!("{delimiter}--"))
        .expect("a closing delimiter");
    parts
        .split(&delimiter)
        .map(|p| {
            p.strip_prefix("\r\n")
                .expect("CRLF after the delimiter")
                .to_string()
        })
        .collect()
}

/// Checks a bounce as it arrived in the sender's Maildir and returns its three parts:
/// the text, the delivery-status fields, the returned headers.
fn check_dsn(dsn: &str, sender: &str) -> (String, String, String) {
    // Final delivery adds the reverse path of the bounce: the null path (RFC 5321 §4.5.5).
    assert!(dsn.starts_with("Return-Path: <>\r\n"), "{dsn}");
    assert_eq!(
        field(dsn, "From"),
        "Mail Delivery System <MAILER-DAEMON@mx.a.test>"
    );
    assert_eq!(field(dsn, "To"), format!("<{sender}>"));
    assert_eq!(field(dsn, "Auto-Submitted"), "auto-replied");
    assert!(
        field(dsn, "Content-Type").starts_with("multipart/report; report-type=delivery-status;"),
        "{dsn}"
    );
    let parts = mime_parts(dsn);
    assert_eq!(parts.len(), 3, "{parts:#?}");
    let types: Vec<String> = parts.iter().map(|p| field(p, "Content-Type")).collect();
    assert_eq!(
        types,
        [
            "text/plain; charset=us-ascii",
            "message/delivery-status",
            "text/rfc822-headers"
        ]
    );
    let content = |p: &String| p.split_once("\r\n\r\n").unwrap().1.to_string();
    (content(&parts[0]), content(&parts[1]), content(&parts[2]))
}

/// The lines of a delivery-status part as `name: value` strings, for `contains` checks.
fn status_lines(status: &str) -> Vec<&str> {
    status.split("\r\n").filter(|l| !l.is_empty()).collect()
}

// ---------------------------------------------------------------------------------------
// 1. Two postie instances, the next hop found through DNS.
// ---------------------------------------------------------------------------------------

/// dnsmasq says: mail for b.test goes to mx.b.test (preference 10), which is 127.0.0.1.
fn dns_for_b() -> Option<Dnsmasq> {
    Dnsmasq::start(&[
        "--mx-host=b.test,mx.b.test,10",
        "--host-record=mx.b.test,127.0.0.1",
    ])
}

/// A relays through DNS; the MX record gives B's address, and A's remote_port (25 on
/// the Internet) is B's port.
fn a_relaying_to(dns: &Dnsmasq, b: &Node) -> Node {
    let (dns, port) = (dns.addr, b.server.addr.port());
    Node::start(|c| {
        site_a(c);
        c.relay.dns_server = Some(dns);
        c.relay.remote_port = port;
        c.relay.retry_min = Duration::from_secs(1);
        c.relay.retry_max = Duration::from_secs(1);
    })
}

/// The header section of a message, up to the empty line.
fn head(message: &str) -> &str {
    message.split_once("\r\n\r\n").expect("a header section").0
}

#[test]
fn a_message_crosses_from_a_to_b_through_the_mx_record() {
    let Some(dns) = dns_for_b() else { return };
    let b = Node::start(site_b);
    let a = a_relaying_to(&dns, &b);

    let reply = send_message(
        &a.server,
        "alice@a.test",
        &["bob@b.test"],
        b"Subject: across\r\n\r\nHello, Bob at B.\r\n..A dot line, stuffed by us, unstuffed by A, stuffed again by A.",
    );
    assert!(reply.starts_with("250 "), "{reply}");
    let messages = b.wait_for_messages("b.test", "bob", 1);
    a.wait_for_empty_queue();
    assert_eq!(messages.len(), 1);
    let message = &messages[0];

    // Final delivery at B adds Return-Path (once: A's queued copy has none), then each
    // server its own Received on top (RFC 5321 §4.4): B's above A's.
    assert_eq!(fields(message, "Return-Path"), ["<alice@a.test>"]);
    let received = fields(message, "Received");
    assert_eq!(received.len(), 2, "{}", head(message));
    assert!(
        received[0].starts_with("from mx.a.test ([127.0.0.1]) by mx.b.test (postie) with ESMTP"),
        "{}",
        received[0]
    );
    assert!(received[0].contains("for <bob@b.test>"), "{}", received[0]);
    assert!(
        received[1]
            .starts_with("from client.example ([127.0.0.1]) by mx.a.test (postie) with ESMTP"),
        "{}",
        received[1]
    );
    assert!(message.starts_with("Return-Path: <alice@a.test>\r\nReceived: from mx.a.test"));
    assert!(
        message.ends_with(
            "\r\n\r\nHello, Bob at B.\r\n.A dot line, stuffed by us, unstuffed by A, stuffed again by A.\r\n"
        ),
        "{message:?}"
    );
    // Nothing else arrived anywhere, and A kept nothing.
    assert_eq!(b.all_mail().len(), 1, "{:?}", b.all_mail());
    assert!(a.all_mail().is_empty(), "{:?}", a.all_mail());
    assert!(a.queue().is_empty());
}

#[test]
fn mixed_recipients_one_local_at_a_one_relayed_to_b() {
    let Some(dns) = dns_for_b() else { return };
    let b = Node::start(site_b);
    let a = a_relaying_to(&dns, &b);

    let reply = send_message(
        &a.server,
        "alice@a.test",
        &["alice@a.test", "bob@b.test"],
        b"Subject: both\r\n\r\nOne copy each.",
    );
    assert!(reply.starts_with("250 "), "{reply}");
    let bobs = b.wait_for_messages("b.test", "bob", 1);
    a.wait_for_empty_queue();

    // Alice's copy never left A: one Received, A's; no "for" with two recipients.
    let alices = a.messages("a.test", "alice");
    assert_eq!(alices.len(), 1);
    assert_eq!(fields(&alices[0], "Return-Path"), ["<alice@a.test>"]);
    let received = fields(&alices[0], "Received");
    assert_eq!(received.len(), 1, "{received:?}");
    assert!(
        received[0].contains("by mx.a.test (postie)"),
        "{received:?}"
    );
    assert!(!received[0].contains(" for <"), "{received:?}");
    assert!(alices[0].ends_with("\r\n\r\nOne copy each.\r\n"));

    // Bob's went through B.
    assert_eq!(bobs.len(), 1);
    let received = fields(&bobs[0], "Received");
    assert_eq!(received.len(), 2, "{received:?}");
    assert!(
        received[0].contains("by mx.b.test (postie)"),
        "{received:?}"
    );
    assert!(
        received[1].contains("by mx.a.test (postie)"),
        "{received:?}"
    );
    assert!(bobs[0].ends_with("\r\n\r\nOne copy each.\r\n"));

    // B got nothing for alice; A queued nothing for her.
    assert_eq!(b.all_mail().len(), 1, "{:?}", b.all_mail());
    assert_eq!(a.all_mail().len(), 1, "{:?}", a.all_mail());
}

// ---------------------------------------------------------------------------------------
// 2. smtp-sink as the remote server: delivered, deferred, failed, and the bounce.
// ---------------------------------------------------------------------------------------

/// A relays sink.test to the smtp-sink; retries wait an hour unless flushed.
fn a_routing_to(sink: &SmtpSink) -> Node {
    let port = sink.addr.port();
    Node::start(|c| {
        site_a(c);
        c.relay.routes = vec![route("sink.test", port)];
        c.relay.retry_min = Duration::from_secs(3600);
        c.relay.retry_max = Duration::from_secs(3600);
    })
}

#[test]
fn smtp_sink_accepts_and_the_queue_empties() {
    let Some(sink) = SmtpSink::start(0, &[]) else {
        return;
    };
    let a = a_routing_to(&sink);
    let reply = send_message(
        &a.server,
        "alice@a.test",
        &["x@sink.test"],
        b"Subject: to the sink\r\n\r\nSunk.",
    );
    assert!(reply.starts_with("250 "), "{reply}");
    a.wait_for_empty_queue();
    // The sink said 250 before A removed the entry, so the dump is there (smtp-sink
    // writes it with LF line endings, the envelope first as X- fields).
    wait_until(WAIT, "the sink's dump", || {
        sink.dumps().iter().any(|d| d.contains("Sunk.\n"))
    });
    let dumps = sink.dumps();
    assert_eq!(dumps.len(), 1, "{dumps:#?}");
    let dump = &dumps[0];
    for part in [
        "X-Helo-Args: mx.a.test\n",
        "X-Mail-Args: <alice@a.test>",
        "X-Rcpt-Args: <x@sink.test>\n",
        "Received: from client.example ([127.0.0.1])\n\tby mx.a.test (postie) with ESMTP",
        "Subject: to the sink\n\nSunk.\n",
    ] {
        assert!(dump.contains(part), "{part:?} missing in:\n{dump}");
    }
    // Return-Path is for final delivery only; a relay must not add it.
    assert!(!dump.contains("Return-Path"), "{dump}");
    assert!(a.all_mail().is_empty());
}

#[test]
fn a_4xx_defers_and_a_flush_delivers_once_the_sink_is_back() {
    let Some(mut sink) = SmtpSink::start(0, &["-r", "RCPT"]) else {
        return;
    };
    let a = a_routing_to(&sink);
    let reply = send_message(
        &a.server,
        "alice@a.test",
        &["x@sink.test"],
        b"Subject: deferred\r\n\r\nLater.",
    );
    assert!(reply.starts_with("250 "), "{reply}");
    wait_until(WAIT, "the first attempt", || {
        a.queue().first().is_some_and(|e| e.attempts >= 1)
    });
    let entries = a.queue();
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    assert_eq!(entry.recipients.len(), 1);
    assert_eq!(entry.recipients[0].state, RecipientState::Pending);
    let error = entry.last_error.as_deref().unwrap_or_default();
    assert!(error.contains("450 4.3.0"), "last error: {error:?}");
    assert!(entry.next_attempt > entry.arrived + 60, "{entry:?}");
    // A 4xx is no bounce.
    assert!(a.all_mail().is_empty());

    // The sink is fixed; nothing happens before the next attempt, an hour away...
    sink.restart(&[]);
    assert_eq!(a.queue().len(), 1);
    // ...unless the operator says `postie queue --flush`.
    a.spool.request_flush().unwrap();
    wait_until(Duration::from_secs(5), "delivery after the flush", || {
        a.queue_is_empty()
    });
    assert!(
        !a.spool.root().join("flush").exists(),
        "the flush note was taken"
    );
    let delivered: Vec<String> = sink
        .dumps()
        .into_iter()
        .filter(|d| d.contains("Later.\n"))
        .collect();
    assert_eq!(delivered.len(), 1, "{delivered:#?}");
    assert!(delivered[0].contains("Subject: deferred\n"));
    assert!(a.all_mail().is_empty(), "no bounce: {:?}", a.all_mail());
}

#[test]
fn a_5xx_fails_and_the_sender_gets_a_dsn() {
    let Some(sink) = SmtpSink::start(0, &["-f", "RCPT"]) else {
        return;
    };
    let a = a_routing_to(&sink);
    let reply = send_message(
        &a.server,
        "alice@a.test",
        &["x@sink.test"],
        b"Subject: doomed 42\r\nX-Original: yes\r\n\r\nSecret body text.",
    );
    assert!(reply.starts_with("250 "), "{reply}");
    let bounces = a.wait_for_messages("a.test", "alice", 1);
    a.wait_for_empty_queue();
    assert_eq!(bounces.len(), 1);
    let (text, status, headers) = check_dsn(&bounces[0], "alice@a.test");

    // smtp-sink's -f reply, word for word, in the report and in the text.
    const SINK_SAID: &str = "500 5.3.0 Error: command failed";
    let lines = status_lines(&status);
    for expected in [
        "Reporting-MTA: dns; mx.a.test",
        "Final-Recipient: rfc822; x@sink.test",
        "Action: failed",
        "Status: 5.3.0",
        "Remote-MTA: dns; 127.0.0.1",
        &format!("Diagnostic-Code: smtp; {SINK_SAID}")[..],
    ] {
        assert!(
            lines.contains(&expected),
            "{expected:?} missing in:\n{status}"
        );
    }
    // The Status is the enhanced code the server sent, not one postie made up.
    let diagnostic = lines
        .iter()
        .find_map(|l| l.strip_prefix("Diagnostic-Code: smtp; "))
        .unwrap();
    let sent_code = diagnostic.split(' ').nth(1).unwrap();
    assert!(
        lines.contains(&&format!("Status: {sent_code}")[..]),
        "{status}"
    );

    assert!(text.contains("<x@sink.test>: failed"), "{text}");
    assert!(text.contains(SINK_SAID), "{text}");
    // The original header section comes back, never the body.
    assert!(headers.contains("Subject: doomed 42\r\n"), "{headers}");
    assert!(headers.contains("X-Original: yes\r\n"), "{headers}");
    assert!(!bounces[0].contains("Secret body text"), "{}", bounces[0]);
    assert!(a.queue().is_empty());
    assert_eq!(a.all_mail().len(), 1);
}

#[test]
fn a_failed_bounce_is_never_bounced() {
    let Some(sink) = SmtpSink::start(0, &["-f", "RCPT"]) else {
        return;
    };
    let a = a_routing_to(&sink);
    // A bounce (MAIL FROM:<>) that the remote server refuses.
    let reply = send_message(
        &a.server,
        "",
        &["x@sink.test"],
        b"Subject: a bounce itself\r\n\r\nUndeliverable.",
    );
    // 250: it is in the queue (it may already have failed: the sink is quick).
    assert!(reply.starts_with("250 "), "{reply}");
    // The entry leaves the queue once it has failed; a DSN would have been written (or
    // queued) before that. Neither happened.
    a.wait_for_empty_queue();
    assert!(a.all_mail().is_empty(), "{:?}", a.all_mail());
    assert!(a.queue().is_empty());
    assert!(sink.dumps().iter().all(|d| !d.contains("Undeliverable.")));
}

// ---------------------------------------------------------------------------------------
// 3. Expiry.
// ---------------------------------------------------------------------------------------

#[test]
fn a_message_that_cannot_be_delivered_expires_with_4_4_7() {
    // Nobody listens on this port: every attempt is "connection refused".
    let closed = free_port();
    let a = Node::start(|c| {
        site_a(c);
        c.relay.routes = vec![route("down.test", closed)];
        c.relay.retry_min = Duration::from_secs(1);
        c.relay.retry_max = Duration::from_secs(1);
        c.relay.queue_lifetime = Duration::from_secs(2);
    });
    let started = Instant::now();
    let reply = send_message(
        &a.server,
        "alice@a.test",
        &["x@down.test"],
        b"Subject: expiring\r\n\r\nToo late.",
    );
    assert!(reply.starts_with("250 "), "{reply}");
    let bounces = a.wait_for_messages("a.test", "alice", 1);
    a.wait_for_empty_queue();
    // The lifetime counts from the arrival second, so a little under 2 s is possible.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(bounces.len(), 1);
    let (text, status, headers) = check_dsn(&bounces[0], "alice@a.test");
    let lines = status_lines(&status);
    for expected in [
        "Final-Recipient: rfc822; x@down.test",
        "Action: failed",
        "Status: 4.4.7",
    ] {
        assert!(
            lines.contains(&expected),
            "{expected:?} missing in:\n{status}"
        );
    }
    // postie's own words, not a server's reply: an X- diagnostic type (RFC 3464 §2.3.6).
    let diagnostic = lines
        .iter()
        .find(|l| l.starts_with("Diagnostic-Code: X-Postie; "))
        .unwrap_or_else(|| panic!("no Diagnostic-Code in:\n{status}"));
    assert!(diagnostic.contains("gave up after"), "{diagnostic}");
    // No remote server ever answered.
    assert!(!status.contains("Remote-MTA"), "{status}");
    assert!(
        text.contains("gave up after the queue lifetime (4.4.7)"),
        "{text}"
    );
    assert!(headers.contains("Subject: expiring\r\n"), "{headers}");
}

// ---------------------------------------------------------------------------------------
// 4. A restart: the queue survives, exactly once; half-written files are dropped.
// ---------------------------------------------------------------------------------------

#[test]
fn the_queue_survives_a_restart_and_delivers_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    // B will listen here, but only after A's restart.
    let port = free_port();
    let a_config = |c: &mut Config| {
        site_a(c);
        c.relay.routes = vec![route("b.test", port)];
        c.relay.retry_min = Duration::from_secs(3600);
        c.relay.retry_max = Duration::from_secs(3600);
    };

    let a = Node::start_in(dir.path(), a_config);
    let reply = send_message(
        &a.server,
        "alice@a.test",
        &["bob@b.test"],
        b"Subject: survivor\r\n\r\nStill here.",
    );
    assert!(reply.starts_with("250 "), "{reply}");
    wait_until(WAIT, "the first attempt", || {
        a.queue().first().is_some_and(|e| e.attempts >= 1)
    });
    let before = a.queue();
    assert_eq!(before.len(), 1);
    assert!(
        before[0].last_error.is_some(),
        "connection refused: {before:?}"
    );
    let Node { server, spool, .. } = a;
    server.stop();

    // What a crash while receiving leaves: a temp file, and a message whose envelope
    // was never written. Neither was acknowledged with 250.
    let spool_dir = spool.root().to_path_buf();
    let orphan = spool_dir.join("messages").join("1795000000M1P1Q1");
    let partial = spool_dir.join("tmp").join("1795000000M1P1Q2");
    let never = b"Subject: never acknowledged\r\n\r\nMust not arrive.\r\n";
    std::fs::write(&orphan, never).unwrap();
    std::fs::write(&partial, never).unwrap();

    let a = Node::start_in(dir.path(), a_config);
    // Recovery runs before the server accepts anyone.
    assert!(!orphan.exists(), "the orphan message was not removed");
    assert!(!partial.exists(), "the temp file was not removed");
    let after = a.queue();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].id, before[0].id);
    assert_eq!(after[0].attempts, before[0].attempts);

    let b = Node::start(|c| {
        site_b(c);
        c.set_listener(Protocol::Smtp(Service::Smtp), ([127, 0, 0, 1], port).into());
    });
    // The next attempt is an hour away: flush.
    a.spool.request_flush().unwrap();
    a.wait_for_empty_queue();
    // The entry is gone, so no further attempt can follow: the count is final.
    let bobs = b.messages("b.test", "bob");
    assert_eq!(bobs.len(), 1, "{bobs:#?}");
    assert!(bobs[0].contains("Subject: survivor\r\n"));
    assert!(bobs[0].ends_with("\r\n\r\nStill here.\r\n"));
    assert_eq!(b.all_mail().len(), 1, "{:?}", b.all_mail());
    assert!(a.all_mail().is_empty(), "{:?}", a.all_mail());
}

// ---------------------------------------------------------------------------------------
// 5. No open relay, whatever the address looks like.
// ---------------------------------------------------------------------------------------

#[test]
fn open_relay_tricks_from_an_untrusted_network_queue_nothing() {
    // other.test's server, where a relayed copy would land.
    let other = Node::start(|c| {
        c.hostname = "mx.other.test".into();
        c.policy.local_domains = vec!["other.test".into()];
    });
    let other_port = other.server.addr.port();
    let a = Node::start(|c| {
        site_a(c);
        // Nobody is trusted, not even 127.0.0.1.
        c.policy.relay_networks = vec![];
        c.relay.routes = vec![route("other.test", other_port)];
    });

    let mut client = a.server.connect();
    assert!(client.cmd("EHLO client.example").starts_with("250"));
    for trick in [
        "b%other.test@a.test",
        "other.test!b@a.test",
        "\"b@other.test\"@a.test",
        "@a.test:b@other.test",
    ] {
        let mail = client.cmd("MAIL FROM:<mallory@example.org>");
        assert!(mail.starts_with("250 "), "{mail}");
        let rcpt = client.cmd(&format!("RCPT TO:<{trick}>"));
        eprintln!("RCPT TO:<{trick}> -> {}", rcpt.trim_end());
        if rcpt.starts_with("250 ") {
            assert!(client.cmd("DATA").starts_with("354 "));
            client.send(format!("Subject: trick {trick}\r\n\r\nRelay me.\r\n.\r\n").as_bytes());
            let reply = client.read_reply();
            eprintln!("  DATA -> {}", reply.trim_end());
        } else {
            assert!(client.cmd("RSET").starts_with("250 "));
        }
    }
    // The plain attempt is refused at RCPT.
    assert!(client
        .cmd("MAIL FROM:<mallory@example.org>")
        .starts_with("250 "));
    let rcpt = client.cmd("RCPT TO:<b@other.test>");
    assert!(rcpt.starts_with("550 5.7.1 "), "{rcpt}");
    client.cmd("QUIT");

    // Whatever the replies were: nothing queued (checked first; a queued copy leaves
    // the queue only after other.test has it), and nothing at other.test.
    assert!(a.queue_is_empty(), "queued: {:#?}", a.queue());
    assert!(other.all_mail().is_empty(), "{:?}", other.all_mail());
    // What A accepted, it accepted for a.test, judged by the domain alone
    // (`b%other.test` and `other.test!b` are just odd mailbox names there).
    assert!(
        a.all_mail()
            .iter()
            .all(|p| p.starts_with(a.maildir.join("a.test"))),
        "{:?}",
        a.all_mail()
    );
}

// ---------------------------------------------------------------------------------------
// 6. `postie queue`: the operator's view.
// ---------------------------------------------------------------------------------------

const POSTIE: &str = env!("CARGO_BIN_EXE_postie");

fn postie(args: &[&str]) -> Ran {
    run_bounded(
        Command::new(POSTIE).args(args).env_remove("RUST_LOG"),
        Duration::from_secs(10),
    )
}

#[test]
fn postie_queue_lists_a_deferred_entry_and_flush_leaves_a_note() {
    let Some(sink) = SmtpSink::start(0, &["-r", "RCPT"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = sink.addr.port();
    let a = Node::start_in(dir.path(), |c| {
        site_a(c);
        c.relay.routes = vec![route("sink.test", port)];
        c.relay.retry_min = Duration::from_secs(3600);
        c.relay.retry_max = Duration::from_secs(3600);
    });
    let reply = send_message(
        &a.server,
        "alice@a.test",
        &["x@sink.test"],
        b"Subject: queued\r\n\r\nWaiting.",
    );
    assert!(reply.starts_with("250 "), "{reply}");
    wait_until(WAIT, "the first attempt", || {
        a.queue().first().is_some_and(|e| e.attempts >= 1)
    });
    let id = a.queue()[0].id.to_string();
    let spool = dir.path().join("spool");
    let spool_arg = spool.to_str().unwrap();

    // Listing is safe while the server runs.
    let listed = postie(&["queue", "--spool", spool_arg]);
    assert!(listed.status.success(), "{listed:?}");
    for part in [
        &format!("{id}  age ")[..],
        "attempts 1  from <alice@a.test>",
        "<x@sink.test>  pending",
        "next attempt in ",
        "last error: 450 4.3.0 Error: command failed",
        "1 message(s), 1 recipient(s) pending",
    ] {
        assert!(
            listed.stdout.contains(part),
            "{part:?} missing in:\n{}",
            listed.stdout
        );
    }

    // With the server stopped, the note stays where the next start will find it.
    a.server.stop();
    let flushed = postie(&["queue", "--spool", spool_arg, "--flush"]);
    assert!(flushed.status.success(), "{flushed:?}");
    assert!(flushed.stdout.contains("Flush requested"), "{flushed:?}");
    assert!(spool.join("flush").exists());
    // The flag changes nothing else.
    let listed = postie(&["queue", "--spool", spool_arg]);
    assert!(listed.stdout.contains(&id), "{}", listed.stdout);
}

#[test]
fn postie_queue_on_an_empty_spool() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let listed = postie(&["queue", "--spool", spool.to_str().unwrap()]);
    assert!(listed.status.success(), "{listed:?}");
    assert_eq!(listed.stdout, "The queue is empty.\n");
}

// ---------------------------------------------------------------------------------------
// 7. The send_mail example, run as a student would.
// ---------------------------------------------------------------------------------------

/// `cargo run -q --example send_mail -- args`. The first run may compile the example.
fn run_example(args: &[&str]) -> Ran {
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "-q", "--example", "send_mail", "--"])
        .args(args)
        .env_remove("RUST_LOG");
    // Cargo gives this test the variables it gives the crate it built (CARGO_PKG_NAME,
    // CARGO_MANIFEST_DIR, ...). Some build scripts of dependencies watch them (ring's:
    // rerun-if-env-changed=CARGO_MANIFEST_DIR), so passing them on would make the inner
    // cargo rebuild those crates, and the next outer cargo rebuild them again.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let set_by_cargo = [
            "CARGO_PKG_",
            "CARGO_MANIFEST_",
            "CARGO_CRATE_",
            "CARGO_BIN_",
        ]
        .iter()
        .any(|prefix| name.starts_with(prefix))
            || [
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "CARGO_RUSTC_CURRENT_DIR",
                "OUT_DIR",
            ]
            .contains(&&*name);
        if set_by_cargo {
            cargo.env_remove(&*name);
        }
    }
    run_bounded(&mut cargo, Duration::from_secs(300))
}

#[test]
fn the_send_mail_example_walks_through_mx_and_the_dialogue() {
    let Some(dns) = dns_for_b() else { return };
    let b = Node::start(site_b);
    let port = b.server.addr.port().to_string();
    let dns_arg = dns.addr.to_string();
    let ran = run_example(&[
        "--dns-server",
        &dns_arg,
        "--to",
        "bob@b.test",
        "--from",
        "alice@a.test",
        "--remote-port",
        &port,
        "--hostname",
        "mx.a.test",
        "--subject",
        "walked through",
    ]);
    let out = &ran.stdout;
    assert!(ran.status.success(), "{ran:#?}");
    for part in [
        "b.test  MX  10 mx.b.test",
        &format!("1. mx.b.test (preference 10): 127.0.0.1:{port}")[..],
        "relay S: 220 mx.b.test ESMTP",
        "relay C: EHLO mx.a.test",
        "relay C: MAIL FROM:<alice@a.test>",
        "relay C: RCPT TO:<bob@b.test>",
        "relay C: DATA",
        "relay S: 354 ",
        "relay C: .",
        "relay S: 250 2.0.0 OK: queued as ",
        "Ehlo -> Mail",
        "<bob@b.test>: delivered to mx.b.test: 250 2.0.0",
    ] {
        assert!(out.contains(part), "{part:?} missing in:\n{out}");
    }
    let bobs = b.wait_for_messages("b.test", "bob", 1);
    assert_eq!(bobs.len(), 1);
    assert!(
        bobs[0].contains("\r\nSubject: walked through\r\n"),
        "{}",
        bobs[0]
    );
    assert!(bobs[0].contains("From: <alice@a.test>\r\n"));

    // A domain dnsmasq does not know: NXDOMAIN, a clear message, a non-zero exit.
    let ran = run_example(&[
        "--dns-server",
        &dns_arg,
        "--to",
        "bob@nosuch.test",
        "--from",
        "alice@a.test",
        "--remote-port",
        &port,
    ]);
    assert!(!ran.status.success(), "{ran:#?}");
    assert!(
        ran.stdout.contains("nosuch.test does not exist (NXDOMAIN)"),
        "{ran:#?}"
    );
    assert!(
        ran.stderr.contains("send_mail: no route to nosuch.test") && ran.stderr.contains("5.1.2"),
        "{ran:#?}"
    );
}

// ---------------------------------------------------------------------------------------
// 8. Two bugs these tests found (see the comments for the fix).
// ---------------------------------------------------------------------------------------

/// `postie queue --flush` must retry *every* entry. The scheduler takes the flush note
/// once (`Relay::due`, src/relay/runner.rs) and hands the entries to the workers with
/// `try_send` on a channel of `workers` places; the entries that do not fit are
/// released and, the note being gone, wait for their next attempt (an hour here).
#[test]
fn a_flush_retries_every_entry_even_with_one_worker() {
    const N: usize = 6;
    let port = free_port();
    let a = Node::start(|c| {
        site_a(c);
        c.relay.workers = 1;
        c.relay.routes = vec![route("b.test", port)];
        c.relay.retry_min = Duration::from_secs(3600);
        c.relay.retry_max = Duration::from_secs(3600);
    });
    for n in 0..N {
        let text = format!("Subject: number {n}\r\n\r\nOne of {N}.");
        let reply = send_message(&a.server, "alice@a.test", &["bob@b.test"], text.as_bytes());
        assert!(reply.starts_with("250 "), "{reply}");
    }
    wait_until(WAIT, "a first attempt for every entry", || {
        let queue = a.queue();
        queue.len() == N && queue.iter().all(|e| e.attempts >= 1)
    });
    let b = Node::start(|c| {
        site_b(c);
        c.set_listener(Protocol::Smtp(Service::Smtp), ([127, 0, 0, 1], port).into());
    });
    a.spool.request_flush().unwrap();
    let deadline = Instant::now() + WAIT;
    while !a.queue_is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let delivered = b.messages("b.test", "bob").len();
    assert_eq!(
        delivered,
        N,
        "after one flush only {delivered} of {N} entries were retried; still queued: {:?}",
        a.queue().iter().map(|e| &e.id).collect::<Vec<_>>()
    );
}

/// A bounce for a sender at another domain must be relayed like any message. The
/// runner asks the policy as if the bounce came from a client at 127.0.0.1
/// (`Relay::send_bounce`, src/relay/runner.rs), so when loopback is not a relay
/// network (`--relay-network` replaces the default) the policy says `RelayDenied`
/// and the bounce is dropped with a log line: the sender never learns of the failure.
#[test]
fn a_bounce_to_a_remote_sender_is_relayed_whatever_the_relay_networks() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        skip("no IPv6 loopback ([::1]) on this machine");
        return;
    }
    let Some(sink) = SmtpSink::start(0, &["-f", "RCPT"]) else {
        return;
    };
    // The sender's own server.
    let home = Node::start(|c| {
        c.hostname = "mx.remote.test".into();
        c.policy.local_domains = vec!["remote.test".into()];
    });
    let (sink_port, home_port) = (sink.addr.port(), home.server.addr.port());
    // A trusts ::1 only (think of a LAN such as 192.168.0.0/16); the client comes from
    // there, so it may relay.
    let a = Node::start(|c| {
        site_a(c);
        c.set_listener(Protocol::Smtp(Service::Smtp), "[::1]:0".parse().unwrap());
        c.policy.relay_networks = vec!["::1".parse().unwrap()];
        c.relay.routes = vec![
            route("sink.test", sink_port),
            route("remote.test", home_port),
        ];
    });
    let reply = send_message(
        &a.server,
        "carol@remote.test",
        &["x@sink.test"],
        b"Subject: from afar\r\n\r\nRefused at the sink.",
    );
    assert!(reply.starts_with("250 "), "{reply}");
    // The bounce is queued before the failed entry is removed, and leaves the queue
    // only once remote.test has it.
    a.wait_for_empty_queue();
    let bounces = home.messages("remote.test", "carol");
    assert_eq!(
        bounces.len(),
        1,
        "the bounce to <carol@remote.test> was lost"
    );
    assert!(
        bounces[0].starts_with("Return-Path: <>\r\n"),
        "{}",
        bounces[0]
    );
    assert!(bounces[0].contains("Final-Recipient: rfc822; x@sink.test\r\n"));
}

/// A host that accepts the connection and then says nothing must not hold up the other
/// domains of the same message: each domain is tried on its own thread.
#[test]
fn a_silent_host_does_not_hold_up_another_domain() {
    let b = Node::start(site_b);
    // Accepts connections (the kernel completes them) but never sends a greeting.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let a = Node::start(|c| {
        site_a(c);
        // "aaa-silent.test" sorts before "b.test": tried one after the other, b.test
        // would wait out the 10 s greeting timeout first.
        c.relay.routes = vec![
            route("aaa-silent.test", silent_port),
            route("b.test", b.server.addr.port()),
        ];
    });
    let started = Instant::now();
    let reply = send_message(
        &a.server,
        "alice@a.test",
        &["x@aaa-silent.test", "bob@b.test"],
        b"Subject: two domains\r\n\r\nOne of them is asleep.",
    );
    assert!(reply.starts_with("250 "), "{reply}");
    b.wait_for_messages("b.test", "bob", 1);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "bob waited {:?} for the silent host",
        started.elapsed()
    );
    drop(silent);
}
