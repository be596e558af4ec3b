//! The HTTP layer over real sockets: every error code with its sentence, keep-alive
//! and pipelining, the head deadline against a trickling client, the connection cap.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::web::{get, http_addr, raw, read_reply, request, web_config};
use common::TestServer;

#[test]
fn every_bad_request_gets_its_status_and_a_sentence() {
    let server = TestServer::start_with(web_config);
    let addr = http_addr(&server);
    let host = format!("Host: {addr}\r\n");
    let mut big = format!("GET / HTTP/1.1\r\n{host}X-Big: ");
    big.push_str(&"a".repeat(17 * 1024));
    big.push_str("\r\n\r\n");
    let cases: Vec<(String, u16)> = vec![
        ("GARBAGE\r\n\r\n".into(), 400),
        ("GET / HTTP/1.1\r\n\r\n".into(), 400), // no Host
        (format!("GET http://evil/ HTTP/1.1\r\n{host}\r\n"), 400),
        (big, 431),
        (
            format!("POST /api/v1/messages HTTP/1.1\r\n{host}Content-Length: 2000000\r\n\r\n"),
            413,
        ),
        (
            format!("POST / HTTP/1.1\r\n{host}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            501,
        ),
        (format!("BREW /pot HTTP/1.1\r\n{host}\r\n"), 501),
        (format!("PATCH / HTTP/1.1\r\n{host}\r\n"), 501),
        (
            format!("PUT /api/v1/info HTTP/1.1\r\n{host}Content-Length: 0\r\n\r\n"),
            405,
        ),
        (
            format!("DELETE / HTTP/1.1\r\n{host}Content-Length: 0\r\n\r\n"),
            405,
        ),
        (format!("GET /nothing/here HTTP/1.1\r\n{host}\r\n"), 404),
        (format!("GET /api/v1/nothing HTTP/1.1\r\n{host}\r\n"), 404),
        (format!("GET / HTTP/2.0\r\n{host}\r\n"), 505),
    ];
    for (text, want) in cases {
        let reply = raw(addr, text.as_bytes()).expect("a response");
        let shown = text.chars().take(60).collect::<String>();
        assert_eq!(reply.status, want, "{shown:?}: {}", reply.text());
        assert!(
            reply.text().trim_end().ends_with('.'),
            "{shown:?}: a sentence, not {:?}",
            reply.text()
        );
    }
    let allow = request(addr, "PUT", "/api/v1/info", &[], b"");
    assert_eq!(allow.header("allow").as_deref(), Some("GET, HEAD"));
}

#[test]
fn keep_alive_pipelining_and_head() {
    let server = TestServer::start_with(web_config);
    let addr = http_addr(&server);
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    // Three requests in one write: three responses, in order, on one connection.
    let batch = format!(
        "GET /api/v1/info HTTP/1.1\r\nHost: {addr}\r\n\r\n\
         HEAD /api/v1/messages HTTP/1.1\r\nHost: {addr}\r\n\r\n\
         GET /nowhere HTTP/1.1\r\nHost: {addr}\r\n\r\n"
    );
    stream.write_all(batch.as_bytes()).unwrap();
    let first = read_reply(&mut stream).unwrap();
    assert_eq!(first.status, 200);
    assert!(first.json()["Version"]
        .as_str()
        .unwrap()
        .starts_with("postie"));
    // HEAD: the head of the GET, Content-Length included, and no body.
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(
        head.starts_with("HTTP/1.1 200 OK") && head.contains("Content-Length: "),
        "{head}"
    );
    let third = read_reply(&mut stream).unwrap();
    assert_eq!(third.status, 404);
    assert!(third.header("connection").is_none(), "still open");
    // Connection: close is honoured.
    stream
        .write_all(
            format!("GET /api/v1/info HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .unwrap();
    let last = read_reply(&mut stream).unwrap();
    assert_eq!(last.header("connection").as_deref(), Some("close"));
    let mut rest = Vec::new();
    assert_eq!(stream.read_to_end(&mut rest).unwrap(), 0, "closed after");
    // HTTP/1.0 without keep-alive closes too.
    let old = raw(addr, b"GET /api/v1/info HTTP/1.0\r\n\r\n").unwrap();
    assert_eq!(
        (old.status, old.header("connection").as_deref()),
        (200, Some("close"))
    );
}

#[test]
fn a_trickling_head_is_cut_off_at_the_deadline() {
    let server = TestServer::start_with(web_config); // head deadline: 1 s
    let addr = http_addr(&server);
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let started = Instant::now();
    let head = format!("GET /api/v1/info HTTP/1.1\r\nHost: {addr}\r\nX-Slow: ");
    // A byte every 100 ms: never silent for long, never finished.
    let writer = {
        let mut stream = stream.try_clone().unwrap();
        std::thread::spawn(move || {
            for byte in head.bytes().chain(std::iter::repeat_n(b'a', 100)) {
                if stream.write_all(&[byte]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let reply = read_reply(&mut stream).expect("a 408");
    let took = started.elapsed();
    assert_eq!(reply.status, 408, "{}", reply.text());
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "cut off after {took:?}"
    );
    let _ = writer.join();
    // A client that says nothing at all is closed without a word.
    let mut silent = TcpStream::connect(addr).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut bytes = Vec::new();
    assert_eq!(silent.read_to_end(&mut bytes).unwrap_or(0), 0);
}

#[test]
fn over_the_cap_is_503() {
    let server = TestServer::start_with(|config| {
        web_config(config);
        config.max_connections = 1;
    });
    let addr = http_addr(&server);
    let _held = TcpStream::connect(addr).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let reply = get(addr, "/api/v1/info");
    assert_eq!(reply.status, 503, "{}", reply.text());
}

#[test]
fn https_serves_the_same_and_the_login_cookie_is_secure() {
    use common::{any_port, client_tls_config, users_with_passwords, Protocol, POP3_PASSWORD};
    let server = TestServer::start_with_tls(|config| {
        config.set_listener(Protocol::Https, any_port());
        config.policy.users = Some(users_with_passwords(&["bob@localhost"]));
    });
    let addr = server.addr_of(Protocol::Https).unwrap();
    let over_tls = |text: &str| {
        let socket = TcpStream::connect(addr).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let connection = rustls::ClientConnection::new(
            client_tls_config(&server.cert()),
            "localhost".try_into().unwrap(),
        )
        .unwrap();
        let mut tls = rustls::StreamOwned::new(connection, socket);
        tls.write_all(text.as_bytes()).unwrap();
        read_reply(&mut tls).expect("a response over TLS")
    };
    let info = over_tls(&format!(
        "GET /api/v1/info HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    ));
    assert_eq!(info.status, 401, "accounts: the API wants Basic");
    let body = format!(
        "address=bob%40localhost&password={}",
        POP3_PASSWORD.replace(' ', "+")
    );
    let login = over_tls(&format!(
        "POST /login HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ));
    assert_eq!(login.status, 303, "{}", login.text());
    let cookie = login.header("set-cookie").unwrap();
    assert!(
        cookie.contains("; Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    // Plain HTTP on the TLS port gets no answer in HTTP.
    let plain = raw(
        addr,
        format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes(),
    );
    assert!(plain.is_none(), "{plain:?}");
}
