//! Where the directory is: `ldap://HOST[:PORT]` or `ldaps://HOST[:PORT]` (RFC 4516 §2),
//! and how its connection must be protected.
//!
//! Passwords cross no network in clear (ARCHITECTURE.md), the directory's no more than
//! the clients': `ldaps://` is TLS from the first byte (port 636); `ldap://` to a host
//! that is not on loopback must say StartTLS first (RFC 4513 §3, RFC 4511 §4.14), and
//! only to a loopback host may it stay plain.
//!
//! Left out of RFC 4516: the DN, attributes, scope, filter and extensions after the
//! host (postie takes them from their own flags), and percent-encoding.

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::str::FromStr;

/// A directory server's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryUrl {
    /// `ldaps://`: TLS before the first LDAP message.
    pub ldaps: bool,
    /// A DNS name or an IP address (without IPv6 brackets).
    pub host: String,
    pub port: u16,
}

// ANCHOR: protection
/// How a connection to the directory is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    /// `ldaps://`: TLS at once.
    Ldaps,
    /// `ldap://`, then the StartTLS extended operation (RFC 4511 §4.14).
    StartTls,
    /// `ldap://` on loopback: the bytes never leave this machine.
    Plain,
}

impl DirectoryUrl {
    /// The protection a connection to `addresses` (this URL's host, resolved) needs.
    /// `force_starttls` asks for StartTLS even on loopback.
    pub fn protection(&self, addresses: &[SocketAddr], force_starttls: bool) -> Protection {
        let loopback = !addresses.is_empty()
            && addresses
                .iter()
                .all(|a| crate::security::is_loopback(a.ip()));
        match (self.ldaps, loopback && !force_starttls) {
            (true, _) => Protection::Ldaps,
            (false, false) => Protection::StartTls,
            (false, true) => Protection::Plain,
        }
    }
    // ANCHOR_END: protection

    /// The host's addresses (a DNS lookup for a name).
    pub fn resolve(&self) -> std::io::Result<Vec<SocketAddr>> {
        Ok((self.host.as_str(), self.port).to_socket_addrs()?.collect())
    }
}

impl FromStr for DirectoryUrl {
    type Err = String;
    fn from_str(text: &str) -> Result<DirectoryUrl, String> {
        let bad = || format!("{text:?} is not ldap://HOST[:PORT] or ldaps://HOST[:PORT]");
        let (ldaps, rest) = if let Some(rest) = strip_prefix_ci(text, "ldaps://") {
            (true, rest)
        } else if let Some(rest) = strip_prefix_ci(text, "ldap://") {
            (false, rest)
        } else {
            return Err(bad());
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let default_port = if ldaps { 636 } else { 389 };
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(bad)?;
            (host, after.strip_prefix(':'))
        } else {
            match rest.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (rest, None),
            }
        };
        if host.is_empty() || host.contains(['/', '?', '@', ' ']) {
            return Err(bad());
        }
        let port = match port {
            None => default_port,
            Some(p) => p.parse().map_err(|_| bad())?,
        };
        Ok(DirectoryUrl {
            ldaps,
            host: host.to_string(),
            port,
        })
    }
}

fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

impl fmt::Display for DirectoryUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.ldaps { "ldaps" } else { "ldap" };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing() {
        let url: DirectoryUrl = "ldap://127.0.0.1:3389/".parse().unwrap();
        assert_eq!(
            (url.ldaps, url.host.as_str(), url.port),
            (false, "127.0.0.1", 3389)
        );
        let url: DirectoryUrl = "LDAPS://ldap.example.test".parse().unwrap();
        assert_eq!((url.ldaps, url.port), (true, 636));
        let url: DirectoryUrl = "ldap://[::1]:10389".parse().unwrap();
        assert_eq!((url.host.as_str(), url.port), ("::1", 10389));
        assert_eq!(url.to_string(), "ldap://[::1]:10389");
        for bad in [
            "http://x",
            "ldap://",
            "ldap://h:port",
            "ldap://u@h",
            "ldap://[::1",
        ] {
            assert!(bad.parse::<DirectoryUrl>().is_err(), "{bad}");
        }
    }

    /// Passwords cross no network in clear: plain only on loopback.
    #[test]
    fn protection() {
        let at = |s: &str| vec![s.parse::<SocketAddr>().unwrap()];
        let ldap: DirectoryUrl = "ldap://h".parse().unwrap();
        let ldaps: DirectoryUrl = "ldaps://h".parse().unwrap();
        let table = [
            (&ldap, at("127.0.0.1:389"), false, Protection::Plain),
            (&ldap, at("[::1]:389"), false, Protection::Plain),
            (&ldap, at("127.0.0.1:389"), true, Protection::StartTls),
            (&ldap, at("192.0.2.1:389"), false, Protection::StartTls),
            (&ldap, vec![], false, Protection::StartTls),
            (&ldaps, at("127.0.0.1:636"), false, Protection::Ldaps),
        ];
        for (url, addresses, force, expected) in table {
            assert_eq!(url.protection(&addresses, force), expected, "{addresses:?}");
        }
        let mixed = [at("127.0.0.1:389"), at("192.0.2.1:389")].concat();
        assert_eq!(ldap.protection(&mixed, false), Protection::StartTls);
    }
}
