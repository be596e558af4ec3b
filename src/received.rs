//! Trace header fields: what postie writes above every message it accepts.
//!
//! RFC 5321 §4.4: a server MUST prepend a `Received:` field, and the server
//! that makes the final delivery adds `Return-Path:` with the reverse path
//! from MAIL FROM. RFC 5322 §3.6.7 gives both fields their place in the
//! header section. postie writes (a tab starts each continuation line):
//!
//! ```text
//! Return-Path: <alice@example.org>
//! Received: from client.example.org ([192.0.2.7])
//!     by mx.example.net (postie) with ESMTP id 1795827723.M4P77Q0
//!     for <bob@example.net>; Sat, 28 Nov 2026 01:02:03 +0000
//! ```
//!
//! - The from clause has the EHLO name and, from the TCP connection, the
//!   peer's address literal (§4.4; `[IPv6:...]` per §4.1.3).
//! - The for clause names exactly one path (§4.4), so it is written only
//!   when the message has exactly one recipient: listing several would tell
//!   each recipient who else got a copy (§7.2).
//! - Continuation lines start with a tab: folding white space (RFC 5322
//!   §3.2.2), so a line stays far below 998 characters (RFC 5322 §2.1.1).
//! - The date is RFC 5322 §3.3, always in UTC with the numeric zone `+0000`.
//!   §3.3 says it "SHOULD express local time", but the local offset cannot
//!   be read safely in a multi-threaded program; the obsolete zone name `GMT`
//!   (RFC 5322 §4.3) is never used.
//!
//! Every value a client chose (the EHLO name, the paths) is cleaned first:
//! a control character, white space, or `(`, `)`, `<`, `>`, `;` becomes `?`.
//! No client can end the line and start a header field of its own, or fake a
//! comment, a path or the date. Our own values are cleaned too; it is cheap.
//!
//! Over TLS, a comment after the protocol names the TLS version and cipher
//! (`with ESMTPS (using TLSv1.3 with cipher TLS13_AES_128_GCM_SHA256)`), as
//! Postfix does; RFC 3848 names the protocols.
//!
//! Deliberately left out: the reverse DNS name of the peer in the TCP-info
//! (no lookup), a `via` clause, and the authenticated user's name (it would
//! tell every recipient the sender's login). A production server would also
//! count the Received fields already in the message to detect loops (RFC 5321
//! §6.3).

use std::net::IpAddr;

use time::OffsetDateTime;

use crate::date::rfc5322_date;

/// The facts of one transaction that go into its `Received:` field.
#[derive(Debug, Clone, Copy)]
pub struct Trace<'a> {
    /// The EHLO/HELO argument.
    pub helo: &'a str,
    /// The TCP peer address.
    pub peer: IpAddr,
    /// Our hostname.
    pub by: &'a str,
    /// "SMTP", "ESMTP", "ESMTPS", "ESMTPSA", "UTF8SMTP" ... (RFC 3848, RFC 6531 §3.7.3).
    pub protocol: &'a str,
    /// The TLS version and cipher suite, when the client used TLS.
    pub tls: Option<(&'a str, &'a str)>,
    /// The queue id, as in the 250 reply.
    pub id: &'a str,
    /// The forward path (without angle brackets) when there is exactly one
    /// recipient.
    pub for_recipient: Option<&'a str>,
    pub date: OffsetDateTime,
}

// ANCHOR: received
/// The `Received:` field, ending in CRLF.
pub fn received(t: &Trace) -> String {
    // RFC 5321 §4.1.3: an IPv6 address literal carries the "IPv6:" tag. A
    // v4-mapped address (::ffff:192.0.2.7) is an IPv4 client.
    let peer = match t.peer.to_canonical() {
        IpAddr::V4(ip) => format!("[{ip}]"),
        IpAddr::V6(ip) => format!("[IPv6:{ip}]"),
    };
    let mut field = format!(
        "Received: from {} ({peer})\r\n\tby {} (postie) with {} id {}",
        word(t.helo),
        word(t.by),
        with(t),
        word(t.id),
    );
    if let Some(rcpt) = t.for_recipient {
        field.push_str(&format!("\r\n\tfor <{}>", clean(unbracket(rcpt))));
    }
    field.push_str(&format!("; {}\r\n", rfc5322_date(t.date)));
    field
}
// ANCHOR_END: received

/// The protocol, and over TLS a comment with the version and cipher.
fn with(t: &Trace) -> String {
    match t.tls {
        Some((version, cipher)) => format!(
            "{} (using {} with cipher {})",
            word(t.protocol),
            word(version),
            word(cipher)
        ),
        None => word(t.protocol),
    }
}

// ANCHOR: return_path
/// The `Return-Path:` field, ending in CRLF. The reverse path may be given
/// with or without angle brackets; "" is the null reverse path, `<>`.
pub fn return_path(reverse_path: &str) -> String {
    format!("Return-Path: <{}>\r\n", clean(unbracket(reverse_path)))
}
// ANCHOR_END: return_path

// ANCHOR: clean
/// Replaces everything that could break the structure of a trace field.
fn clean(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_control() || c.is_whitespace() || "()<>;".contains(c) {
                '?'
            } else {
                c
            }
        })
        .collect()
}
// ANCHOR_END: clean

/// A cleaned value that must not be empty, or the field would lose a word.
fn word(value: &str) -> String {
    if value.is_empty() {
        "?".to_string()
    } else {
        clean(value)
    }
}

/// "<a@b>" → "a@b"; anything else unchanged.
pub(crate) fn unbracket(path: &str) -> &str {
    path.strip_prefix('<')
        .and_then(|p| p.strip_suffix('>'))
        .unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// 2026-11-28 01:02:03 UTC, a Saturday.
    const NOV_28: i64 = 1_795_827_723;

    fn at(unix: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(unix).unwrap()
    }

    fn trace(for_recipient: Option<&str>) -> Trace<'_> {
        Trace {
            helo: "client.example.org",
            peer: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)),
            by: "mx.example.net",
            protocol: "ESMTP",
            tls: None,
            id: "1795827723.M4P77Q0",
            for_recipient,
            date: at(NOV_28),
        }
    }

    #[test]
    fn received_with_one_recipient() {
        assert_eq!(
            received(&trace(Some("bob@example.net"))),
            "Received: from client.example.org ([192.0.2.7])\r\n\
             \tby mx.example.net (postie) with ESMTP id 1795827723.M4P77Q0\r\n\
             \tfor <bob@example.net>; Sat, 28 Nov 2026 01:02:03 +0000\r\n"
        );
    }

    #[test]
    fn received_without_for_clause() {
        assert_eq!(
            received(&trace(None)),
            "Received: from client.example.org ([192.0.2.7])\r\n\
             \tby mx.example.net (postie) with ESMTP id 1795827723.M4P77Q0; \
             Sat, 28 Nov 2026 01:02:03 +0000\r\n"
        );
    }

    #[test]
    fn received_over_tls_names_version_and_cipher() {
        let t = Trace {
            protocol: "ESMTPS",
            tls: Some(("TLSv1.3", "TLS13_AES_128_GCM_SHA256")),
            ..trace(None)
        };
        assert!(received(&t).contains(
            "\tby mx.example.net (postie) with ESMTPS \
             (using TLSv1.3 with cipher TLS13_AES_128_GCM_SHA256) id 1795827723.M4P77Q0; "
        ));
    }

    #[test]
    fn received_from_ipv6_peer() {
        let t = Trace {
            peer: IpAddr::V6("2001:db8::1".parse().unwrap()),
            ..trace(None)
        };
        assert!(
            received(&t).starts_with("Received: from client.example.org ([IPv6:2001:db8::1])\r\n")
        );
        // A v4-mapped address is written as the IPv4 client it is.
        let t = Trace {
            peer: IpAddr::V6(Ipv4Addr::new(192, 0, 2, 7).to_ipv6_mapped()),
            ..trace(None)
        };
        assert!(received(&t).starts_with("Received: from client.example.org ([192.0.2.7])\r\n"));
        let t = Trace {
            peer: IpAddr::V6(Ipv6Addr::LOCALHOST),
            ..trace(None)
        };
        assert!(received(&t).contains("([IPv6:::1])"));
    }

    #[test]
    fn a_client_cannot_inject_a_header_line() {
        let t = Trace {
            helo: "evil\r\nX-Injected: 1",
            id: "id\nX-Id: 2",
            ..trace(Some("bob@x\r\nX-Rcpt: 3"))
        };
        let field = received(&t);
        assert_eq!(field.matches("\r\n").count(), 3, "{field:?}");
        assert!(field.starts_with("Received: from evil??X-Injected:?1 ([192.0.2.7])\r\n"));
        assert!(field.contains("\tfor <bob@x??X-Rcpt:?3>; Sat"));
        assert_no_stray_breaks(&field);

        let rp = return_path("a@b\r\nX-Injected: 1");
        assert_eq!(rp, "Return-Path: <a@b??X-Injected:?1>\r\n");
    }

    #[test]
    fn a_client_cannot_fake_a_clause_or_the_date() {
        let t = Trace {
            helo: "x (y) by z; Mon, 1 Jan 2001",
            ..trace(Some("a>; Mon, 1 Jan 2001 00:00:00 +0000"))
        };
        let field = received(&t);
        assert_eq!(field.matches(';').count(), 1, "{field:?}");
        assert!(field.starts_with("Received: from x??y??by?z??Mon,?1?Jan?2001 ([192.0.2.7])"));
        assert_eq!(field.matches('<').count(), 1);
        assert_eq!(field.matches('>').count(), 1);
    }

    #[test]
    fn every_line_ends_in_crlf_and_continues_with_a_tab() {
        let hostile = [
            "",
            "\r",
            "\n",
            "\r\n\r\n",
            "a\u{2028}b",
            "\t",
            "\0",
            "é\u{85}",
        ];
        for helo in hostile {
            for rcpt in [None, Some(helo)] {
                let field = received(&Trace {
                    helo,
                    ..trace(rcpt)
                });
                assert!(field.ends_with("\r\n"), "{field:?}");
                assert_no_stray_breaks(&field);
                let lines: Vec<&str> = field.trim_end_matches("\r\n").split("\r\n").collect();
                assert!(lines[0].starts_with("Received: from "), "{field:?}");
                assert!(lines[1..].iter().all(|l| l.starts_with('\t')), "{field:?}");
            }
        }
    }

    /// No CR or LF except in CRLF pairs, and no other control character but
    /// the tab that starts a continuation line.
    fn assert_no_stray_breaks(field: &str) {
        let without_crlf = field.replace("\r\n\t", "").replace("\r\n", "");
        assert!(!without_crlf.chars().any(char::is_control), "{field:?}");
    }

    #[test]
    fn return_path_of_the_null_and_a_normal_reverse_path() {
        assert_eq!(return_path(""), "Return-Path: <>\r\n");
        assert_eq!(return_path("<>"), "Return-Path: <>\r\n");
        assert_eq!(
            return_path("alice@example.org"),
            "Return-Path: <alice@example.org>\r\n"
        );
        assert_eq!(
            return_path("<alice@example.org>"),
            "Return-Path: <alice@example.org>\r\n"
        );
    }
}
