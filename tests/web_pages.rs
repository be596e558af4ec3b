//! The pages, and the rules around them: hostile input is escaped or removed, ids that
//! try to name a path are 404, forms need their CSRF token, a foreign `Origin`
//! changes nothing, and with accounts each user sees their own mailbox only.

mod common;

use common::web::{encode, get, get_json, http_addr, request, web_config, Reply};
use common::{send_message, users_with_passwords, TestServer, POP3_PASSWORD};

const HOSTILE: &[u8] = b"From: \"<script>alert('name')</script>\" <eve@example.org>\r\n\
To: bob@localhost\r\n\
Subject: <script>alert('subject')</script>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=b\r\n\r\n\
--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
<p onclick=\"steal()\">Hello</p><script>document.title='owned'</script>\
<img src=\"http://127.0.0.1:9/track\" onerror=\"alert(1)\"><a href=\"javascript:alert(2)\">x</a>\r\n\
--b\r\nContent-Type: text/plain; name=\"<img src=x onerror=alert(3)>.txt\"\r\n\
Content-Disposition: attachment; filename=\"<img src=x onerror=alert(3)>.txt\"\r\n\r\n\
attached\r\n--b--\r\n";

/// The hidden `csrf` field of a page.
fn csrf(page: &Reply) -> String {
    let text = page.text();
    let start = text.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    text[start..].split('"').next().unwrap().to_string()
}

#[test]
fn hostile_mail_is_shown_not_run() {
    let server = TestServer::start_with(web_config);
    let addr = http_addr(&server);
    assert!(
        send_message(&server, "eve@example.org", &["bob@localhost"], HOSTILE).starts_with("250")
    );
    let list = get(addr, "/");
    assert_eq!(list.status, 200);
    let page = list.text();
    assert!(!page.contains("<script>alert"), "escaped in the list");
    assert!(page.contains("&#60;script&#62;alert("), "{page}");
    let csp = list.header("content-security-policy").unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );

    let id = get_json(addr, "/api/v1/message/latest")["ID"]
        .as_str()
        .unwrap()
        .to_string();
    let message = get(addr, &format!("/message/{}", encode(&id)));
    assert_eq!(message.status, 200);
    let page = message.text();
    for raw in ["<script>alert", "<img src=x onerror"] {
        assert!(!page.contains(raw), "{raw} in the message page");
    }
    assert!(
        page.contains("&#60;img src=x onerror=alert(3)&#62;.txt"),
        "the file name, escaped"
    );
    assert!(
        page.contains("<iframe class=\"html\" sandbox src="),
        "a sandboxed frame"
    );
    assert!(!page.contains("allow-scripts"));

    let html = get(addr, &format!("/message/{}/html", encode(&id)));
    let csp = html.header("content-security-policy").unwrap();
    assert!(
        csp.starts_with("sandbox;") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    let body = html.text();
    for gone in [
        "<script",
        "onclick",
        "onerror",
        "javascript:",
        "127.0.0.1:9",
    ] {
        assert!(!body.contains(gone), "{gone} in {body}");
    }
    assert!(body.contains("Hello"));

    // The attachment is a download, never a page of ours.
    let detail = get_json(addr, &format!("/api/v1/message/{}", encode(&id)));
    let part = detail["Attachments"][0]["PartID"].as_str().unwrap();
    let download = get(
        addr,
        &format!("/api/v1/message/{}/part/{part}", encode(&id)),
    );
    assert_eq!(download.text().trim(), "attached");
    assert!(download
        .header("content-disposition")
        .unwrap()
        .starts_with("attachment;"));
}

#[test]
fn ids_that_name_paths_are_404() {
    let server = TestServer::start_with(web_config);
    let addr = http_addr(&server);
    send_message(
        &server,
        "alice@example.org",
        &["bob@localhost"],
        b"Subject: x\r\n\r\nx\r\n",
    );
    for id in [
        "..",
        "%2e%2e",
        "bob@localhost:..",
        "bob@localhost:%2e%2e%2fnew",
        "bob@localhost:..%2F..%2Fetc%2Fpasswd",
        "..%2F..%2Fetc%2Fpasswd",
        "bob@localhost%2F..:x",
        "%2Fetc%2Fpasswd",
        "bob@localhost:.hidden",
        "BOB@localhost:x",
    ] {
        for path in [
            format!("/api/v1/message/{id}"),
            format!("/api/v1/message/{id}/raw"),
            format!("/message/{id}"),
        ] {
            let reply = get(addr, &path);
            assert_eq!(reply.status, 404, "{path}: {}", reply.text());
        }
    }
    assert_eq!(get(addr, "/api/v1/message/a/b/c/d/e").status, 404);
}

#[test]
fn forms_need_their_token_and_our_origin() {
    let server = TestServer::start_with(web_config);
    let addr = http_addr(&server);
    send_message(
        &server,
        "alice@example.org",
        &["bob@localhost"],
        b"Subject: keep me\r\n\r\nx\r\n",
    );
    let id = get_json(addr, "/api/v1/messages")["messages"][0]["ID"]
        .as_str()
        .unwrap()
        .to_string();
    let action = format!("/message/{}/delete", encode(&id));
    let form = ["Content-Type: application/x-www-form-urlencoded"];

    // No token: 403, nothing deleted.
    let refused = request(addr, "POST", &action, &form, b"");
    assert_eq!(refused.status, 403, "{}", refused.text());
    // A foreign Origin: 403 even with the right token, and through the API too.
    let token = csrf(&get(addr, &format!("/message/{}", encode(&id))));
    let body = format!("csrf={token}");
    let evil = [
        "Content-Type: application/x-www-form-urlencoded",
        "Origin: http://evil.example",
    ];
    assert_eq!(
        request(addr, "POST", &action, &evil, body.as_bytes()).status,
        403
    );
    let api = request(
        addr,
        "DELETE",
        "/api/v1/messages",
        &["Origin: http://evil.example"],
        b"",
    );
    assert_eq!(api.status, 403);
    assert!(api.text().contains("nothing was changed"));
    assert_eq!(
        get_json(addr, "/api/v1/messages")["total"],
        1,
        "still there"
    );

    // Our own Origin and the token: deleted, and sent back to the list.
    let own = format!("Origin: http://{addr}");
    let ok = request(addr, "POST", &action, &[form[0], &own], body.as_bytes());
    assert_eq!(ok.status, 303, "{}", ok.text());
    assert_eq!(get_json(addr, "/api/v1/messages")["total"], 0);
}

#[test]
fn each_user_sees_their_own_mailbox() {
    let server = TestServer::start_with(|config| {
        web_config(config);
        config.policy.users = Some(users_with_passwords(&[
            "alice@localhost",
            "bob@localhost",
            "admin@localhost",
        ]));
        config.web.admins = vec!["admin@localhost".into()];
    });
    let addr = http_addr(&server);
    send_message(
        &server,
        "x@example.org",
        &["alice@localhost"],
        b"Subject: for alice\r\n\r\nx\r\n",
    );
    send_message(
        &server,
        "x@example.org",
        &["bob@localhost"],
        b"Subject: for bob\r\n\r\nx\r\n",
    );
    let basic = |user: &str| {
        use base64::Engine;
        format!(
            "Authorization: Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{POP3_PASSWORD}"))
        )
    };

    // The API without credentials: 401 with a challenge; the pages: the login form.
    let anonymous = get(addr, "/api/v1/messages");
    assert_eq!(anonymous.status, 401);
    assert!(anonymous
        .header("www-authenticate")
        .unwrap()
        .starts_with("Basic"));
    assert_eq!(get(addr, "/").header("location").as_deref(), Some("/login"));
    let wrong = format!("Authorization: Basic {}", "Ym9iQGxvY2FsaG9zdDpubw=="); // bob:no
    assert_eq!(
        request(addr, "GET", "/api/v1/messages", &[&wrong], b"").status,
        401
    );

    // Bob sees his own message only; Alice's is 404 for him, as if it did not exist.
    let bob = basic("bob@localhost");
    let mine = request(addr, "GET", "/api/v1/messages", &[&bob], b"").json();
    assert_eq!(mine["total"], 1);
    assert_eq!(mine["messages"][0]["Subject"], "for bob");
    let alice = request(
        addr,
        "GET",
        "/api/v1/messages",
        &[&basic("alice@localhost")],
        b"",
    )
    .json();
    let alices = alice["messages"][0]["ID"].as_str().unwrap().to_string();
    for path in [
        format!("/api/v1/message/{}", encode(&alices)),
        format!("/api/v1/message/{}/raw", encode(&alices)),
    ] {
        assert_eq!(
            request(addr, "GET", &path, &[&bob], b"").status,
            404,
            "{path}"
        );
    }
    let steal = request(
        addr,
        "DELETE",
        "/api/v1/messages",
        &[&bob],
        format!("{{\"IDs\":[\"{alices}\"]}}").as_bytes(),
    );
    assert_eq!(steal.status, 404);
    assert_eq!(
        request(addr, "GET", "/api/v1/sessions", &[&bob], b"").status,
        404,
        "sessions are for admins"
    );
    // The admin sees both mailboxes and the sessions.
    let admin = basic("admin@localhost");
    assert_eq!(
        request(addr, "GET", "/api/v1/messages", &[&admin], b"").json()["total"],
        2
    );
    assert_eq!(
        request(addr, "GET", "/api/v1/sessions", &[&admin], b"").status,
        200
    );

    // Logging in with the form: a cookie that scripts cannot read and other sites
    // cannot send; then the list is Bob's; logging out ends it.
    let form = ["Content-Type: application/x-www-form-urlencoded"];
    let failed = request(
        addr,
        "POST",
        "/login",
        &form,
        b"address=bob%40localhost&password=no",
    );
    assert_eq!(failed.status, 401);
    assert!(failed.text().contains("do not match"));
    let body = format!(
        "address=bob%40localhost&password={}",
        POP3_PASSWORD.replace(' ', "+")
    );
    let login = request(addr, "POST", "/login", &form, body.as_bytes());
    assert_eq!(login.status, 303, "{}", login.text());
    let cookie = login.header("set-cookie").unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "not over plain HTTP");
    let session = format!("Cookie: {}", cookie.split(';').next().unwrap());
    let list = request(addr, "GET", "/", &[&session], b"");
    assert_eq!(list.status, 200);
    assert!(list.text().contains("for bob") && !list.text().contains("for alice"));
    let token = csrf(&list);
    let logout = request(
        addr,
        "POST",
        "/logout",
        &[form[0], &session],
        format!("csrf={token}").as_bytes(),
    );
    assert_eq!(logout.status, 303);
    assert_eq!(
        request(addr, "GET", "/", &[&session], b"").status,
        303,
        "logged out"
    );
}
