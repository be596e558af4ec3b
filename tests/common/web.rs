//! The web view in tests: a server with an HTTP listener on an ephemeral port, and a
//! raw HTTP/1.1 client that shows exactly what came back.
#![allow(dead_code)] // each test binary uses a different part

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use super::{any_port, Config, Protocol, TestServer};

/// HTTP on an ephemeral port, with a head deadline short enough to test.
pub fn web_config(config: &mut Config) {
    config.set_listener(Protocol::Http, any_port());
    config.web.limits.head_timeout = Duration::from_secs(1);
}

/// The server's HTTP address.
pub fn http_addr(server: &TestServer) -> SocketAddr {
    server
        .addr_of(Protocol::Http)
        .expect("the server has an HTTP listener")
}

/// A response as it came off the wire.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.text()))
    }
}

/// Reads one response from `stream` (by Content-Length, or to the end).
pub fn read_reply(stream: &mut impl Read) -> Option<Reply> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let mut reply = Reply {
        status,
        head,
        body: Vec::new(),
    };
    match reply.header("content-length") {
        Some(length) => {
            let mut body = vec![0; length.parse().ok()?];
            stream.read_exact(&mut body).ok()?;
            reply.body = body;
        }
        None => {
            let _ = stream.read_to_end(&mut reply.body);
        }
    }
    Some(reply)
}

/// Sends raw bytes on a new connection and reads one response.
pub fn raw(addr: SocketAddr, request: &[u8]) -> Option<Reply> {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request).expect("send");
    read_reply(&mut stream)
}

/// One request with `Connection: close`; `headers` are extra lines like
/// `"Origin: http://evil.example"`.
pub fn request(addr: SocketAddr, method: &str, path: &str, headers: &[&str], body: &[u8]) -> Reply {
    let mut text = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for header in headers {
        text.push_str(header);
        text.push_str("\r\n");
    }
    if !body.is_empty() || method != "GET" {
        text.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    text.push_str("\r\n");
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(body);
    raw(addr, &bytes).unwrap_or_else(|| panic!("no response to {method} {path}"))
}

pub fn get(addr: SocketAddr, path: &str) -> Reply {
    request(addr, "GET", path, &[], b"")
}

/// `GET` that must answer 200 with JSON.
pub fn get_json(addr: SocketAddr, path: &str) -> serde_json::Value {
    let reply = get(addr, path);
    assert_eq!(reply.status, 200, "GET {path}: {}", reply.text());
    reply.json()
}

/// A path segment for an id (`bob@localhost:123.M4P5Q6.host`), as a browser sends it.
pub fn encode(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' | b':' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
