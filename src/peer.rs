//! The client at the other end of a session, as every protocol's session keeps it: its
//! address, what it has proved ([`Security`]), and how many mistakes it has made. The
//! web view is handed one with each HTTP request (its address, and whether TLS is on).
//!
//! Three rules are the same in SMTP, POP3 and IMAP, and are written here once:
//!
//! - **The error budget.** No RFC sets one, but each lets a server close on a client
//!   that will not behave (RFC 5321 §3.8 and §7.8, RFC 3501 §7.1.5). A client that
//!   keeps making mistakes (or guessing passwords) is shown the door after
//!   `max_errors` of them, in its protocol's words (`421`, `-ERR`, `* BYE`).
//! - **When a password may travel** ([`Security::password_may_travel`]).
//! - **When TLS may still be started**: a certificate is loaded, and TLS is not on yet
//!   (RFC 3207 §4.2, RFC 2595 §4, RFC 3501 §6.2.1).
//!
//! Left out: what counts as a mistake. Each session decides that (an `x0z` reply in SMTP,
//! an `-ERR` that is not the server's trouble in POP3, a `BAD` or a failed
//! login in IMAP) and tells its peer with [`Peer::count_mistake`].

use std::fmt;
use std::net::SocketAddr;

use crate::config::Settings;
use crate::security::Security;

// ANCHOR: peer
/// One client, as its session sees it.
#[derive(Debug)]
pub struct Peer {
    /// Where it connects from.
    pub address: SocketAddr,
    /// TLS and the login: kept across transactions, forgotten only by a new handshake.
    pub security: Security,
    /// Mistakes so far on this connection.
    mistakes: u32,
}
// ANCHOR_END: peer

impl Peer {
    /// A client that has just connected: no TLS, no login, no mistakes.
    pub fn new(address: SocketAddr) -> Peer {
        Peer {
            address,
            security: Security::default(),
            mistakes: 0,
        }
    }

    // ANCHOR: count_mistake
    /// Counts one more mistake. `true`: that was one too many, the budget
    /// (`max_errors`) is spent and the session must close.
    pub fn count_mistake(&mut self, settings: &Settings) -> bool {
        self.mistakes += 1;
        self.mistakes > settings.limits.max_errors
    }
    // ANCHOR_END: count_mistake

    /// May a password be sent on this connection now?
    pub fn password_may_travel(&self, settings: &Settings) -> bool {
        self.security
            .password_may_travel(settings.allow_plaintext_auth, self.address.ip())
    }

    /// May TLS be started (STARTTLS, STLS)? Only with a certificate, and only once.
    pub fn may_start_tls(&self, settings: &Settings) -> bool {
        settings.tls && self.security.tls.is_none()
    }
}

/// A peer is named by its address in the logs and the trace.
impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.address.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::tls::TlsInfo;

    fn settings(max_errors: u32, tls: bool) -> Settings {
        let mut config = Config::new("mx.example");
        config.limits.max_errors = max_errors;
        let mut settings = Settings::new(&config);
        settings.tls = tls;
        settings
    }

    #[test]
    fn the_budget_is_spent_by_the_mistake_after_the_last_allowed() {
        let settings = settings(3, false);
        let mut peer = Peer::new("192.0.2.1:25".parse().unwrap());
        assert!(!peer.count_mistake(&settings));
        assert!(!peer.count_mistake(&settings));
        assert!(!peer.count_mistake(&settings), "three mistakes are allowed");
        assert!(peer.count_mistake(&settings), "the fourth is one too many");
    }

    #[test]
    fn tls_may_start_with_a_certificate_and_only_once() {
        let mut peer = Peer::new("192.0.2.1:25".parse().unwrap());
        assert!(!peer.may_start_tls(&settings(10, false)), "no certificate");
        assert!(peer.may_start_tls(&settings(10, true)));
        peer.security.tls = Some(TlsInfo {
            version: "TLSv1.3".into(),
            cipher: "TLS13_AES_128_GCM_SHA256".into(),
        });
        assert!(
            !peer.may_start_tls(&settings(10, true)),
            "TLS is already on"
        );
    }

    #[test]
    fn a_password_may_travel_from_this_machine_only_when_allowed() {
        let mut settings = settings(10, false);
        let here = Peer::new("127.0.0.1:4000".parse().unwrap());
        let away = Peer::new("192.0.2.1:4000".parse().unwrap());
        assert!(!here.password_may_travel(&settings));
        settings.allow_plaintext_auth = true;
        assert!(here.password_may_travel(&settings));
        assert!(!away.password_may_travel(&settings));
        assert_eq!(away.to_string(), "192.0.2.1:4000");
    }
}
