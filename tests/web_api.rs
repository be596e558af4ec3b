//! The JSON API after real SMTP deliveries: Mailpit's shapes, raw bytes equal to the
//! Maildir file, flags and deletes that reach the Maildir (and POP3), `latest`,
//! search, sessions and live events.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use common::web::{encode, get, get_json, http_addr, request, web_config};
use common::{pop3_config, send_message, Pop3Client, TestServer};

/// Every file of a mailbox, `new/` and `cur/`, with its name.
fn files(server: &TestServer, user: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for sub in ["new", "cur"] {
        let dir = server.maildir().join("localhost").join(user).join(sub);
        if let Ok(entries) = std::fs::read_dir(dir) {
            out.extend(entries.map(|e| e.unwrap().path()));
        }
    }
    out
}

fn message(subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Alice Example <alice@example.org>\r\nTo: Bob <bob@localhost>\r\n\
         Cc: carol@localhost\r\nReply-To: replies@example.org\r\n\
         Message-ID: <{subject}@example.org>\r\nSubject: {subject}\r\n\
         Date: Sat, 28 Nov 2026 01:35:45 +0000\r\n\r\n{body}"
    )
    .into_bytes()
}

#[test]
fn mailpit_shapes_after_smtp_deliveries() {
    let server = TestServer::start_with(web_config);
    let addr = http_addr(&server);
    let empty = get_json(addr, "/api/v1/messages");
    assert_eq!(empty["messages"], serde_json::json!([]), "[] not null");
    assert_eq!(
        (empty["total"].as_u64(), empty["messages_count"].as_u64()),
        (Some(0), Some(0))
    );

    for (i, subject) in ["first", "second", "third"].iter().enumerate() {
        let reply = send_message(
            &server,
            "alice@example.org",
            &["bob@localhost"],
            &message(subject, &format!("body number {i}")),
        );
        assert!(reply.starts_with("250 "), "{reply}");
    }
    let list = get_json(addr, "/api/v1/messages");
    for field in [
        "total",
        "unread",
        "count",
        "messages_count",
        "messages_unread",
        "start",
    ] {
        assert!(list[field].is_u64(), "{field} in {list}");
    }
    assert_eq!(list["total"], 3);
    assert_eq!(list["unread"], 3);
    assert_eq!(list["tags"], serde_json::json!([]));
    let messages = list["messages"].as_array().unwrap();
    let subjects: Vec<&str> = messages
        .iter()
        .map(|m| m["Subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["third", "second", "first"], "newest first");
    let newest = &messages[0];
    assert_eq!(newest["From"]["Name"], "Alice Example");
    assert_eq!(newest["From"]["Address"], "alice@example.org");
    assert_eq!(newest["To"][0]["Address"], "bob@localhost");
    assert_eq!(newest["Cc"][0]["Address"], "carol@localhost");
    assert_eq!(newest["ReplyTo"][0]["Address"], "replies@example.org");
    assert_eq!(newest["Bcc"], serde_json::json!([]));
    assert_eq!(newest["Tags"], serde_json::json!([]));
    assert_eq!(newest["MessageID"], "third@example.org", "without <>");
    assert_eq!(newest["Read"], false);
    assert_eq!(newest["Snippet"], "body number 2");
    assert!(
        newest["Created"].as_str().unwrap().ends_with('Z'),
        "RFC 3339"
    );
    let id = newest["ID"].as_str().unwrap().to_string();

    // Paging.
    let page = get_json(addr, "/api/v1/messages?start=1&limit=1");
    assert_eq!(
        (page["count"].as_u64(), page["start"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(page["messages"][0]["Subject"], "second");
    assert_eq!(get(addr, "/api/v1/messages?limit=ten").status, 400);

    // Raw: the stored bytes exactly.
    let raw = get(addr, &format!("/api/v1/message/{}/raw", encode(&id)));
    assert_eq!(raw.status, 200);
    let on_disk = files(&server, "bob");
    assert!(
        on_disk
            .iter()
            .any(|p| std::fs::read(p).unwrap() == raw.body),
        "raw equals a Maildir file"
    );

    // The message: Mailpit's fields; fetching it marks it read, in the Maildir.
    let one = get_json(addr, &format!("/api/v1/message/{}", encode(&id)));
    assert_eq!(one["ID"], id.as_str());
    assert_eq!(one["Subject"], "third");
    assert_eq!(one["ReturnPath"], "alice@example.org");
    assert_eq!(one["Date"], "2026-11-28T01:35:45Z");
    assert_eq!(one["Text"].as_str().unwrap().trim(), "body number 2");
    for list in [
        "To",
        "Cc",
        "Bcc",
        "ReplyTo",
        "Tags",
        "Attachments",
        "Inline",
    ] {
        assert!(one[list].is_array(), "{list}");
    }
    assert!(
        one["SessionID"].is_string(),
        "linked to its session: {}",
        one["SessionID"]
    );
    let unique = id.split_once(':').unwrap().1;
    let read_file = files(&server, "bob")
        .into_iter()
        .find(|p| p.to_string_lossy().contains(unique))
        .unwrap();
    assert!(
        read_file.to_string_lossy().ends_with(":2,S"),
        "{}",
        read_file.display()
    );
    assert!(read_file.parent().unwrap().ends_with("cur"));
    assert_eq!(get_json(addr, "/api/v1/messages")["unread"], 2);

    // latest, headers.
    assert_eq!(get_json(addr, "/api/v1/message/latest")["ID"], id.as_str());
    let headers = get_json(addr, &format!("/api/v1/message/{}/headers", encode(&id)));
    assert_eq!(headers["Subject"], serde_json::json!(["third"]));
    assert!(headers["Received"][0].as_str().unwrap().contains("postie"));

    // PUT: unread again (200, body "ok"): the S flag is gone from the file.
    let put = request(
        addr,
        "PUT",
        "/api/v1/messages",
        &[],
        format!("{{\"IDs\":[\"{id}\"],\"Read\":false}}").as_bytes(),
    );
    assert_eq!((put.status, put.text().as_str()), (200, "ok"));
    assert!(files(&server, "bob")
        .iter()
        .all(|p| !p.to_string_lossy().ends_with(":2,S")));
    // No IDs: every message.
    let all = request(addr, "PUT", "/api/v1/messages", &[], b"{\"Read\":true}");
    assert_eq!(all.text(), "ok");
    assert_eq!(get_json(addr, "/api/v1/messages")["unread"], 0);
    assert_eq!(
        request(addr, "PUT", "/api/v1/messages", &[], b"{nope").status,
        400
    );

    // DELETE by id: the file is gone, and POP3-style readers see one message fewer.
    let delete = request(
        addr,
        "DELETE",
        "/api/v1/messages",
        &[],
        format!("{{\"IDs\":[\"{id}\"]}}").as_bytes(),
    );
    assert_eq!((delete.status, delete.text().as_str()), (200, "ok"));
    assert_eq!(files(&server, "bob").len(), 2);
    assert_eq!(
        get(addr, &format!("/api/v1/message/{}", encode(&id))).status,
        404
    );
    let info = get_json(addr, "/api/v1/info");
    assert_eq!(info["Messages"], 2);
}

#[test]
fn search_with_mailpits_syntax() {
    let server = TestServer::start_with(web_config);
    let addr = http_addr(&server);
    send_message(
        &server,
        "alice@example.org",
        &["bob@localhost"],
        &message("Quarterly report", "the numbers are in"),
    );
    send_message(
        &server,
        "carol@example.net",
        &["bob@localhost"],
        &message("Lunch", "pizza on friday"),
    );
    let count = |query: &str| {
        let result = get_json(addr, &format!("/api/v1/search?query={}", encode(query)));
        result["messages_count"].as_u64().unwrap()
    };
    assert_eq!(count("subject:quarterly"), 1);
    assert_eq!(count("pizza"), 1);
    assert_eq!(count("\"numbers are\""), 1);
    assert_eq!(count("is:unread"), 2);
    assert_eq!(count("is:read"), 0);
    assert_eq!(count("-subject:lunch"), 1);
    assert_eq!(count("to:bob@localhost"), 2);
    assert_eq!(count("nothing-like-this"), 0);
    let result = get_json(addr, "/api/v1/search?query=pizza");
    assert_eq!(result["messages"][0]["Subject"], "Lunch");
    assert_eq!(result["total"], 2, "total is the mailbox's");
    // DELETE by search: only what matches.
    let delete = request(addr, "DELETE", "/api/v1/search?query=pizza", &[], b"");
    assert_eq!((delete.status, delete.text().as_str()), (200, "ok"));
    assert_eq!(get_json(addr, "/api/v1/messages")["total"], 1);
}

#[test]
fn flags_and_deletes_are_what_pop3_sees() {
    let server = TestServer::start_with(|config| {
        web_config(config);
        pop3_config(config);
        // The web view without accounts would be wrong here; this test reads the API
        // as bob, with Basic auth.
    });
    let addr = http_addr(&server);
    send_message(
        &server,
        "alice@example.org",
        &["bob@localhost"],
        &message("one", "1"),
    );
    send_message(
        &server,
        "alice@example.org",
        &["bob@localhost"],
        &message("two", "2"),
    );
    let auth = format!(
        "Authorization: Basic {}",
        base64_encode(&format!("bob@localhost:{}", common::POP3_PASSWORD))
    );
    let list = request(addr, "GET", "/api/v1/messages", &[&auth], b"").json();
    let id = list["messages"][0]["ID"].as_str().unwrap().to_string();
    let delete = request(
        addr,
        "DELETE",
        "/api/v1/messages",
        &[&auth],
        format!("{{\"IDs\":[\"{id}\"]}}").as_bytes(),
    );
    assert_eq!(delete.status, 200);
    let mut pop3 = Pop3Client::login(&server, "bob@localhost");
    let stat = pop3.cmd("STAT");
    assert!(stat.starts_with("+OK 1 "), "POP3 sees one message: {stat}");
    pop3.cmd("QUIT");
}

fn base64_encode(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[test]
fn sessions_link_messages_and_keep_refusals() {
    let server = TestServer::start_with(web_config);
    let addr = http_addr(&server);
    send_message(
        &server,
        "alice@example.org",
        &["bob@localhost"],
        &message("linked", "x"),
    );
    // A refused session: relaying from outside is not possible over loopback, so
    // a recipient that cannot exist, and a bare LF in the message text.
    let mut client = server.connect();
    client.cmd("EHLO smuggler.example");
    client.cmd("MAIL FROM:<eve@example.org>");
    client.cmd("RCPT TO:<bob@localhost>");
    client.cmd("DATA");
    client.send(b"Subject: smuggled\r\n\r\nhello\n.\nMAIL FROM:<x@y>\r\n");
    let refused = client.read_reply();
    assert!(refused.starts_with('5'), "{refused}");

    let message = get_json(addr, "/api/v1/message/latest");
    let session_id = message["SessionID"].as_str().unwrap().to_string();
    let sessions = get_json(addr, "/api/v1/sessions");
    let list = sessions["sessions"].as_array().unwrap();
    assert!(list.len() >= 2);
    let delivering = list
        .iter()
        .find(|s| s["ID"] == session_id.as_str())
        .expect("the session is listed");
    assert_eq!(delivering["MessageIDs"], serde_json::json!([message["ID"]]));
    assert_eq!(delivering["Helo"], "client.example");
    for field in ["Remote", "Started", "Ended", "Outcome"] {
        assert!(!delivering[field].is_null(), "{field}");
    }
    let smuggler = list
        .iter()
        .find(|s| s["Helo"] == "smuggler.example")
        .expect("refused ones are kept");
    assert!(
        smuggler["Outcome"].as_str().unwrap().starts_with("refused"),
        "{}",
        smuggler["Outcome"]
    );
    assert_eq!(smuggler["MessageIDs"], serde_json::json!([]));

    let detail = get_json(addr, &format!("/api/v1/sessions/{session_id}"));
    let lines: Vec<String> = detail["Lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            format!(
                "{} {}",
                l["Side"].as_str().unwrap(),
                l["Text"].as_str().unwrap()
            )
        })
        .collect();
    let text = lines.join("\n");
    assert!(
        text.contains("Client MAIL FROM:<alice@example.org>"),
        "{text}"
    );
    assert!(text.contains("Server 250 2.0.0"), "{text}");
    assert!(
        text.contains("State ") && text.contains("RFC 5321"),
        "transitions with sections: {text}"
    );
    assert!(text.contains("Note message text:"), "{text}");
    assert_eq!(get(addr, "/api/v1/sessions/999999").status, 404);
    assert_eq!(get(addr, "/api/v1/sessions/x").status, 404);
}

#[test]
fn events_announce_each_new_message() {
    let server = TestServer::start_with(web_config);
    let addr = http_addr(&server);
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET /api/v1/events HTTP/1.1\r\nHost: {addr}\r\n\r\n"
    )
    .unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 200"), "{line}");
    // Past the head, to the stream's opening comment.
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        if line.starts_with(": postie events") {
            break;
        }
    }
    send_message(
        &server,
        "alice@example.org",
        &["bob@localhost"],
        &message("live", "now"),
    );
    let mut event = String::new();
    let mut data = String::new();
    while data.is_empty() {
        line.clear();
        assert!(reader.read_line(&mut line).unwrap() > 0, "the stream ended");
        if let Some(name) = line.strip_prefix("event: ") {
            event = name.trim().to_string();
        }
        if let Some(json) = line.strip_prefix("data: ") {
            data = json.trim().to_string();
        }
    }
    assert_eq!(event, "new");
    let item: serde_json::Value = serde_json::from_str(&data).unwrap();
    assert_eq!(item["Subject"], "live");
    assert_eq!(item["ID"], get_json(addr, "/api/v1/message/latest")["ID"]);
}

#[test]
fn the_queue_and_retry_now() {
    let server = TestServer::start_with(web_config);
    let addr = http_addr(&server);
    // Mail for another domain from loopback is relayed: it waits in the queue (the
    // tests' DNS server answers nothing).
    let reply = send_message(
        &server,
        "alice@example.org",
        &["carol@elsewhere.test"],
        &message("away", "x"),
    );
    assert!(reply.starts_with("250 "), "{reply}");
    let queue = get_json(addr, "/api/v1/queue");
    let entries = queue["queue"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{queue}");
    let entry = &entries[0];
    assert_eq!(entry["From"], "alice@example.org");
    assert_eq!(entry["Recipients"][0]["Address"], "carol@elsewhere.test");
    assert_eq!(entry["Recipients"][0]["State"], "pending");
    for field in ["ID", "Arrived", "Attempts", "NextAttempt", "LastError"] {
        assert!(!entry[field].is_null(), "{field}");
    }
    let page = get(addr, "/queue");
    assert!(page.text().contains("carol@elsewhere.test"));
    let token = {
        let text = page.text();
        let start = text.find("name=\"csrf\" value=\"").unwrap() + 19;
        text[start..].split('"').next().unwrap().to_string()
    };
    let form = "Content-Type: application/x-www-form-urlencoded";
    assert_eq!(
        request(addr, "POST", "/queue/retry", &[form], b"").status,
        403
    );
    let retry = request(
        addr,
        "POST",
        "/queue/retry",
        &[form],
        format!("csrf={token}").as_bytes(),
    );
    assert_eq!(retry.status, 303, "{}", retry.text());
}
