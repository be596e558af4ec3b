//! The seed's calendar story between two postie servers: alice@a.test on one,
//! bob@b.test on the other, relayed with `--route`. Alice creates a meeting, postie
//! sends the iMIP REQUEST (RFC 6047) over SMTP to b.test; Bob's calendar has it; he
//! accepts, the REPLY goes back; Alice's inbox has it and her calendar says so.
//! Every calendar part sent and the feed are parsed by Python's `icalendar` (a
//! missing module skips on a developer's machine and fails in CI), and a real
//! browser (headless Chromium) clicks Accept.

mod common;
#[path = "common/peers.rs"]
mod peers;

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine;
use common::web::{http_addr, request, web_config, Reply};
use common::{send_message, users_with_passwords, Protocol, Service, TestServer, POP3_PASSWORD};
use postie::config::Route;

/// Two sites that relay to each other.
struct Sites {
    a: TestServer,
    b: TestServer,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn route(domain: &str, port: u16) -> Route {
    Route {
        domain: domain.into(),
        host: "127.0.0.1".into(),
        port,
    }
}

fn sites() -> Sites {
    let b_port = free_port();
    let a = TestServer::start_with(|c| {
        web_config(c);
        c.hostname = "mx.a.test".into();
        c.policy.local_domains = vec!["a.test".into()];
        c.policy.users = Some(users_with_passwords(&["alice@a.test", "carol@a.test"]));
        c.relay.routes = vec![route("b.test", b_port)];
    });
    let a_port = a.addr.port();
    let b = TestServer::start_with(|c| {
        web_config(c);
        c.set_listener(
            Protocol::Smtp(Service::Smtp),
            SocketAddr::from(([127, 0, 0, 1], b_port)),
        );
        c.hostname = "mx.b.test".into();
        c.policy.local_domains = vec!["b.test".into()];
        c.policy.users = Some(users_with_passwords(&["bob@b.test"]));
        c.relay.routes = vec![route("a.test", a_port)];
    });
    Sites { a, b }
}

fn basic(user: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{POP3_PASSWORD}"));
    format!("Authorization: Basic {token}")
}

fn api(server: &TestServer, user: &str, method: &str, path: &str, body: &str) -> Reply {
    let auth = basic(user);
    let mut headers = vec![auth.as_str()];
    if !body.is_empty() {
        headers.push("Content-Type: application/json");
    }
    request(http_addr(server), method, path, &headers, body.as_bytes())
}

fn json(reply: Reply) -> serde_json::Value {
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(15);
    while !done() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The subjects in `user`'s inbox, newest first.
fn subjects(server: &TestServer, user: &str) -> Vec<String> {
    let list = json(api(server, user, "GET", "/api/v1/messages", ""));
    list["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Subject"].as_str().unwrap_or("").to_string())
        .collect()
}

/// Every message file under a Maildir root.
fn mail_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if ["new", "cur"]
                .iter()
                .any(|d| path.parent().is_some_and(|p| p.ends_with(d)))
            {
                out.push(path);
            }
        }
    }
    out
}

fn partstat(meetings: &serde_json::Value, uid: &str, who: &str) -> String {
    let meeting = meetings
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["UID"] == uid)
        .unwrap_or_else(|| panic!("{uid} not in {meetings}"));
    let attendee = meeting["Attendees"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["Address"] == who)
        .unwrap_or_else(|| panic!("{who} not in {meeting}"));
    attendee["PartStat"].as_str().unwrap().to_string()
}

const NEW: &str = r#"{"Title": "Launch planning", "Start": "2026-11-02T09:00:00+01:00",
  "DurationMinutes": 45, "TimeZone": "Europe/Berlin", "Location": "Room 1",
  "Attendees": ["bob@b.test"]}"#;

#[test]
fn request_accept_and_the_organizer_sees_it_across_two_servers() {
    let s = sites();
    // Alice invites Bob.
    let created = json(api(&s.a, "alice@a.test", "POST", "/api/v1/meetings", NEW));
    let uid = created["UID"].as_str().unwrap().to_string();
    let mine = json(api(&s.a, "alice@a.test", "GET", "/api/v1/meetings", ""));
    assert_eq!(mine[0]["Title"], "Launch planning");
    assert_eq!(mine[0]["Start"], "2026-11-02T08:00:00Z");
    assert_eq!(mine[0]["End"], "2026-11-02T08:45:00Z");
    assert_eq!(mine[0]["Organizer"], "alice@a.test");
    assert_eq!(partstat(&mine, &uid, "bob@b.test"), "NEEDS-ACTION");

    // It crosses to b.test; Bob's inbox and calendar have it.
    wait_until("the invitation at b.test", || {
        subjects(&s.b, "bob@b.test").contains(&"Invitation: Launch planning".to_string())
    });
    // The calendar changes just after the delivery's commit (calendar::deliver).
    wait_until("the meeting in Bob's calendar", || {
        let bobs = json(api(&s.b, "bob@b.test", "GET", "/api/v1/meetings", ""));
        bobs.as_array()
            .unwrap()
            .iter()
            .any(|m| m["UID"] == uid.as_str())
    });
    let bobs = json(api(&s.b, "bob@b.test", "GET", "/api/v1/meetings", ""));
    assert_eq!(partstat(&bobs, &uid, "bob@b.test"), "NEEDS-ACTION");

    // Bob accepts; the REPLY crosses back.
    let path = format!("/api/v1/meetings/{uid}/reply");
    let answered = json(api(
        &s.b,
        "bob@b.test",
        "POST",
        &path,
        r#"{"PartStat": "ACCEPTED"}"#,
    ));
    assert_eq!(answered["Attendees"][0]["PartStat"], "ACCEPTED");
    wait_until("the answer at a.test", || {
        subjects(&s.a, "alice@a.test").contains(&"Accepted: Launch planning".to_string())
    });
    wait_until("Bob's answer in the organizer's calendar", || {
        let mine = json(api(&s.a, "alice@a.test", "GET", "/api/v1/meetings", ""));
        partstat(&mine, &uid, "bob@b.test") == "ACCEPTED"
    });

    // The feed, behind the same login.
    let feed = api(
        &s.a,
        "alice@a.test",
        "GET",
        "/calendar/alice@a.test.ics",
        "",
    );
    assert_eq!(feed.status, 200, "{}", feed.text());
    assert!(feed
        .header("content-type")
        .unwrap()
        .starts_with("text/calendar"));
    assert!(feed.text().contains("PARTSTAT=ACCEPTED"));
    let encoded = api(
        &s.a,
        "alice@a.test",
        "GET",
        "/calendar/alice%40a.test.ics",
        "",
    );
    assert_eq!(encoded.body, feed.body, "percent-encoded too");
    assert_eq!(
        request(
            http_addr(&s.a),
            "GET",
            "/calendar/alice@a.test.ics",
            &[],
            b""
        )
        .status,
        401
    );
    assert_eq!(
        api(
            &s.a,
            "carol@a.test",
            "GET",
            "/calendar/alice@a.test.ics",
            ""
        )
        .status,
        404
    );

    // A forged answer (Bob's name, someone else's envelope) changes nothing.
    let forged = String::from_utf8(
        std::fs::read(
            mail_files(&s.a.maildir())
                .into_iter()
                .find(|p| {
                    std::fs::read_to_string(p)
                        .unwrap()
                        .contains("Accepted: Launch")
                })
                .unwrap(),
        )
        .unwrap(),
    )
    .unwrap()
    .replace("PARTSTAT=ACCEPTED", "PARTSTAT=DECLINED");
    let forged = forged
        .split_once("\r\nFrom:")
        .map(|(_, rest)| format!("From:{rest}"))
        .unwrap();
    assert!(
        send_message(&s.a, "mallory@b.test", &["alice@a.test"], forged.as_bytes())
            .starts_with("250")
    );
    wait_until("the forged reply delivered", || {
        subjects(&s.a, "alice@a.test").len() == 2
    });
    // The calendar step follows the delivery's commit in the same session.
    std::thread::sleep(Duration::from_millis(300));
    let mine = json(api(&s.a, "alice@a.test", "GET", "/api/v1/meetings", ""));
    assert_eq!(
        partstat(&mine, &uid, "bob@b.test"),
        "ACCEPTED",
        "the forgery changed nothing"
    );

    // Python's icalendar reads every calendar part sent, and the feed.
    let dir = tempfile::tempdir().unwrap();
    let mut files = vec![];
    for (i, path) in mail_files(&s.a.maildir())
        .into_iter()
        .chain(mail_files(&s.b.maildir()))
        .enumerate()
    {
        let file = dir.path().join(format!("message-{i}.eml"));
        std::fs::copy(&path, &file).unwrap();
        files.push(file);
    }
    let feed_file = dir.path().join("feed.ics");
    std::fs::write(&feed_file, &feed.body).unwrap();
    files.push(feed_file);
    python_icalendar_accepts(&files, 4);
}

/// Runs tests/web/ical_check.py on `files`: each calendar parsed by Python's
/// `icalendar`, with RFC 5545's required properties.
fn python_icalendar_accepts(files: &[PathBuf], at_least: usize) {
    let present = Command::new("python3")
        .args(["-c", "import icalendar"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !present {
        common::skip("Python's icalendar is not installed (pip install icalendar)");
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/web/ical_check.py");
    let out = Command::new("python3")
        .arg(script)
        .args(files)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "ical_check.py:\n{text}");
    let checked = text.lines().filter(|l| l.starts_with("ok ")).count();
    assert!(
        checked >= at_least,
        "only {checked} calendars checked:\n{text}"
    );
}

#[test]
fn bad_requests_are_refused_in_words_and_change_nothing() {
    let s = sites();
    let count = |server: &TestServer, user: &str| {
        json(api(server, user, "GET", "/api/v1/meetings", ""))
            .as_array()
            .unwrap()
            .len()
    };
    let cases = [
        ("{", "JSON"),
        (
            r#"{"Title": "x", "Start": "tomorrow", "DurationMinutes": 30, "TimeZone": "Europe/Berlin", "Attendees": ["bob@b.test"]}"#,
            "RFC 3339",
        ),
        (
            r#"{"Title": "x", "Start": "2026-11-02T09:00:00+01:00", "DurationMinutes": 30, "TimeZone": "Berlin", "Attendees": ["bob@b.test"]}"#,
            "IANA",
        ),
        (
            r#"{"Title": "x", "Start": "2026-11-02T09:00:00+01:00", "DurationMinutes": 30, "TimeZone": "UTC", "Attendees": ["nobody@a.test"]}"#,
            "no mailbox",
        ),
        (
            r#"{"Title": "x", "Start": "2026-11-02T09:00:00+01:00", "DurationMinutes": 30, "TimeZone": "UTC", "Attendees": []}"#,
            "attendees",
        ),
    ];
    for (body, expected) in cases {
        let reply = api(&s.a, "alice@a.test", "POST", "/api/v1/meetings", body);
        assert_eq!(reply.status, 400, "{body}: {}", reply.text());
        assert!(reply.text().contains(expected), "{body}: {}", reply.text());
    }
    assert_eq!(count(&s.a, "alice@a.test"), 0, "nothing kept");
    // Unauthenticated, or from another site.
    let addr = http_addr(&s.a);
    assert_eq!(
        request(addr, "POST", "/api/v1/meetings", &[], NEW.as_bytes()).status,
        401
    );
    let auth = basic("alice@a.test");
    let foreign = request(
        addr,
        "POST",
        "/api/v1/meetings",
        &[auth.as_str(), "Origin: http://evil.example"],
        NEW.as_bytes(),
    );
    assert_eq!(foreign.status, 403);
    assert_eq!(count(&s.a, "alice@a.test"), 0);
    // Answers: to an unknown meeting, by the organizer herself, with a bad PartStat.
    let uid = json(api(&s.a, "alice@a.test", "POST", "/api/v1/meetings", NEW))["UID"]
        .as_str()
        .unwrap()
        .to_string();
    let reply = |user: &str, uid: &str, body: &str| {
        api(
            &s.a,
            user,
            "POST",
            &format!("/api/v1/meetings/{uid}/reply"),
            body,
        )
    };
    assert_eq!(
        reply("alice@a.test", "no-such-uid", r#"{"PartStat": "ACCEPTED"}"#).status,
        404
    );
    let own = reply("alice@a.test", &uid, r#"{"PartStat": "ACCEPTED"}"#);
    assert_eq!(own.status, 403, "{}", own.text());
    let bad = reply("alice@a.test", &uid, r#"{"PartStat": "MAYBE"}"#);
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("ACCEPTED, TENTATIVE or DECLINED"));
    assert_eq!(
        reply("carol@a.test", &uid, r#"{"PartStat": "ACCEPTED"}"#).status,
        404,
        "not in carol's calendar"
    );
    assert_eq!(
        api(&s.a, "alice@a.test", "DELETE", "/api/v1/meetings", "").status,
        405
    );
}

#[test]
fn a_real_browser_accepts_an_invitation() {
    let python = Command::new("python3")
        .args(["-c", "import selenium"])
        .output()
        .is_ok_and(|o| o.status.success());
    let driver = Command::new("chromedriver")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !python || !driver || !Path::new("/usr/bin/chromium").exists() {
        common::skip("selenium, chromedriver or chromium is missing");
        return;
    }
    let s = sites();
    let shots = std::env::var("POSTIE_SCREENSHOTS").unwrap_or_default();
    let ran = peers::run_bounded(
        Command::new("python3")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/web/meeting_browser.py"))
            .args(["--organizer-url", &format!("http://{}", http_addr(&s.a))])
            .args(["--attendee-url", &format!("http://{}", http_addr(&s.b))])
            .args(["--password", POP3_PASSWORD])
            .args(["--screenshots", &shots]),
        Duration::from_secs(120),
    );
    let out = format!("{}{}", ran.stdout, ran.stderr);
    assert!(ran.status.success(), "meeting_browser.py failed:\n{out}");
    for check in [
        "new meeting form",
        "invitation card",
        "accepted",
        "organizer sees it",
    ] {
        assert!(
            out.contains(&format!("ok {check}\n")),
            "{check} not checked:\n{out}"
        );
    }
}
