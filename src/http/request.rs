//! One HTTP request, as read off the wire: method, target, headers and body
//! (RFC 9112 §3, §5, §6), with the helpers a handler needs: a header by name, the
//! path's segments and the query's fields, percent-decoded (RFC 3986 §2.1).
//!
//! The target is always in origin form (`/path?query`, RFC 9112 §3.2.1); the reader
//! refuses the absolute and authority forms a proxy would get.
//!
//! Left out: `+` for space in paths (only in queries, as HTML forms send them),
//! header values that are not UTF-8 are kept as lossy text (RFC 9110 §5.5 says they
//! should be ASCII; anything else is "opaque data").

use std::collections::HashMap;

/// A request whose head was valid; the body is whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method, case-sensitive (RFC 9110 §9.1): `GET`, `POST`…
    pub method: String,
    /// The path, still percent-encoded as it was sent: `/api/v1/message/x`.
    pub path: String,
    /// What follows `?`, undecoded; empty when there is none.
    pub query: String,
    /// HTTP/1.0 or HTTP/1.1: 0 or 1.
    pub minor_version: u8,
    /// Every header field in order, names as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// An HTTP/1.1 request without a query or a body, as the tests write one.
    #[cfg(test)]
    pub fn for_test(method: &str, path: &str, headers: &[(&str, &str)]) -> Request {
        Request {
            method: method.into(),
            path: path.into(),
            query: String::new(),
            minor_version: 1,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: vec![],
        }
    }

    /// The first header field called `name` (field names are case-insensitive,
    /// RFC 9110 §5.1).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Does the client want the connection kept open after this response
    /// (RFC 9112 §9.3)? HTTP/1.1: yes unless `Connection: close`; HTTP/1.0: only with
    /// `Connection: keep-alive`.
    pub fn keep_alive(&self) -> bool {
        let has = |token: &str| {
            self.header("connection")
                .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        };
        if self.minor_version >= 1 {
            !has("close")
        } else {
            has("keep-alive")
        }
    }

    /// The path's segments, each percent-decoded; `None` if one decodes to something
    /// that is not UTF-8. `/a/b%20c/` gives `["a", "b c", ""]`.
    pub fn segments(&self) -> Option<Vec<String>> {
        self.path
            .strip_prefix('/')
            .unwrap_or(&self.path)
            .split('/')
            .map(|s| percent_decode(s, false))
            .collect()
    }

    /// The query's fields, decoded (`+` is a space, as HTML forms send it).
    pub fn query_map(&self) -> HashMap<String, String> {
        form_fields(&self.query)
    }

    /// The body as form fields (`application/x-www-form-urlencoded`).
    pub fn form(&self) -> HashMap<String, String> {
        form_fields(&String::from_utf8_lossy(&self.body))
    }

    /// A cookie sent with the request (RFC 6265 §5.4: `name=value; name2=value2`).
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
            .flat_map(|(_, v)| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }
}

/// `a=1&b=x+y` → {a: "1", b: "x y"}; a field that does not decode is left out, and
/// the first of two fields with one name wins.
pub fn form_fields(text: &str) -> HashMap<String, String> {
    let mut fields = HashMap::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if let (Some(name), Some(value)) = (percent_decode(name, true), percent_decode(value, true))
        {
            fields.entry(name).or_insert(value);
        }
    }
    fields
}

/// RFC 3986 §2.1: `%2e` is `.`. A `%` not followed by two hex digits is kept as it
/// is; the result must be UTF-8. With `plus`, `+` is a space (HTML forms).
pub fn percent_decode(text: &str, plus: bool) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' => match (
                bytes.get(i + 1).and_then(|&b| hex(b)),
                bytes.get(i + 2).and_then(|&b| hex(b)),
            ) {
                (Some(hi), Some(lo)) => {
                    out.push((hi * 16 + lo) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The inverse, for building links and `Location`s: everything but unreserved
/// characters (RFC 3986 §2.3) is encoded.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &str, headers: &[(&str, &str)]) -> Request {
        Request::for_test("GET", path, headers)
    }

    #[test]
    fn decoding() {
        assert_eq!(
            percent_decode("a%2e%2E%2fb", false).as_deref(),
            Some("a../b")
        );
        assert_eq!(percent_decode("50%", false).as_deref(), Some("50%"));
        assert_eq!(percent_decode("%zz", false).as_deref(), Some("%zz"));
        assert_eq!(percent_decode("x+y", true).as_deref(), Some("x y"));
        assert_eq!(percent_decode("x+y", false).as_deref(), Some("x+y"));
        assert_eq!(percent_decode("%ff", false), None);
        assert_eq!(percent_decode("%e4%bd%a0", false).as_deref(), Some("你"));
        assert_eq!(percent_encode("a b/你"), "a%20b%2F%E4%BD%A0");
    }

    #[test]
    fn fields_segments_cookies() {
        let fields = form_fields("q=from%3Abob+hi&start=50&q=second&empty");
        assert_eq!(fields["q"], "from:bob hi");
        assert_eq!(fields["start"], "50");
        assert_eq!(fields["empty"], "");
        let r = request(
            "/message/a%40b/raw",
            &[
                ("Cookie", "x=1; postie_session=abc"),
                ("Connection", "Keep-Alive, Upgrade"),
            ],
        );
        assert_eq!(r.segments().unwrap(), ["message", "a@b", "raw"]);
        assert_eq!(r.cookie("postie_session"), Some("abc"));
        assert_eq!(r.cookie("y"), None);
        assert!(r.keep_alive());
        let mut old = r.clone();
        old.minor_version = 0;
        assert!(old.keep_alive(), "HTTP/1.0 with keep-alive");
        let close = request("/", &[("connection", "close")]);
        assert!(!close.keep_alive());
    }
}
