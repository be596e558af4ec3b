//! What a client has proved about its connection: that it is encrypted, and who it is —
//! the same facts, and the same rule for passwords, in every protocol.
//!
//! RFC 4954 §4 and §14 (SMTP AUTH), RFC 2595 §2.1 (POP3 and IMAP) and RFC 8314 all say
//! the same thing: a password must not cross a network in the clear. postie lets one
//! through without TLS only where it cannot cross a network, from a loopback client,
//! and only when `--allow-plaintext-auth` asks for it (for trying logins by hand in
//! class). That rule is written here once.
//!
//! Left out: client certificates (SASL EXTERNAL).

use std::net::IpAddr;

use crate::tls::TlsInfo;

// ANCHOR: security
/// What the client proved: that the channel is encrypted, and who it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Security {
    /// The TLS session, once the handshake is done (STARTTLS, STLS or implicit TLS).
    pub tls: Option<TlsInfo>,
    /// The address the client logged in as.
    pub user: Option<String>,
}
// ANCHOR_END: security

impl Security {
    // ANCHOR: password_may_travel
    /// May a password be sent on this connection now? Over TLS, yes; otherwise only
    /// with `--allow-plaintext-auth`, and only from this machine.
    pub fn password_may_travel(&self, allow_plaintext_auth: bool, client: IpAddr) -> bool {
        self.tls.is_some() || (allow_plaintext_auth && is_loopback(client))
    }
    // ANCHOR_END: password_may_travel
}

/// Loopback, also as an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`), which is how an
/// IPv4 client looks on a dual-stack socket.
pub fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_travel_over_tls_or_on_this_machine_when_allowed() {
        let plain = Security::default();
        let tls = Security {
            tls: Some(TlsInfo {
                version: "TLSv1.3".into(),
                cipher: "TLS13_AES_128_GCM_SHA256".into(),
            }),
            user: None,
        };
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // (security, --allow-plaintext-auth, client, may a password travel?)
        let table = [
            (&tls, false, "192.0.2.1", true),
            (&plain, false, "127.0.0.1", false),
            (&plain, true, "127.0.0.1", true),
            (&plain, true, "::1", true),
            (&plain, true, "::ffff:127.0.0.1", true),
            (&plain, true, "192.0.2.1", false),
            (&plain, true, "::ffff:192.0.2.1", false),
        ];
        for (security, allow, client, expected) in table {
            assert_eq!(
                security.password_may_travel(allow, ip(client)),
                expected,
                "{client} allow={allow} tls={}",
                security.tls.is_some()
            );
        }
    }
}
