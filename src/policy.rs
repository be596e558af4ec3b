//! Who we accept mail for: local domains, known users, and which clients may relay.
//!
//! DESIGN rule 9, no open relay: mail for a domain that is not ours is accepted only
//! from trusted networks (`--relay-network`, loopback by default); everyone else gets
//! `550 5.7.1`. The address is judged by its domain alone: `%` and `!` in a local part,
//! or a source route, never make us relay (RFC 5321 §3.6.1, Appendix C).
//!
//! A client that logged in with AUTH may relay from anywhere; the session decides that
//! (see `Session::add_recipient`), since only it knows who logged in.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::str::FromStr;

use crate::accounts::{check_hash, verify_password};
use crate::smtp::address::{parse_mailbox, ForwardPath, Host};
use crate::store::mailbox::{domain_name, mailbox_name, NameError};
use crate::store::maildir::MailboxPath;

/// An address block such as `127.0.0.0/8` or `::1/128` (a bare address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    address: IpAddr,
    prefix: u8,
}

impl Network {
    pub fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4 client on a dual-stack socket shows up as ::ffff:a.b.c.d.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.address, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Network {
    type Err = String;
    fn from_str(s: &str) -> Result<Network, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let address: IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or CIDR block like 192.0.2.0/24"))?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?}: the prefix length must be 0..={max}"))?,
        };
        Ok(Network { address, prefix })
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

/// The accounts listed in a `--users` file: one address per line, `#` starts a comment.
/// An address may be followed by its password hash (`postie user add` writes it); only
/// users with a hash can log in (SMTP AUTH, POP3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Users(HashMap<String, Account>);

/// What the users file says about one address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Account {
    /// An Argon2id PHC string (see `accounts.rs`), or `None`: mail only, no login.
    pub password_hash: Option<String>,
}

impl Users {
    pub fn load(path: &Path) -> Result<Users, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read users file {}: {e}", path.display()))?;
        Users::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Users, String> {
        let mut users = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let at = |e: &dyn fmt::Display| format!("line {}: {e}", n + 1);
            let mut fields = line.split_whitespace();
            let address = fields.next().unwrap_or_default();
            let mailbox = parse_mailbox(address).map_err(|e| at(&e))?;
            let mut account = Account::default();
            for field in fields {
                if !field.starts_with('$') {
                    return Err(at(&format!("{field:?}: a password hash starts with $")));
                }
                // A hash is checked now, not when someone tries to log in.
                check_hash(field).map_err(|e| at(&e))?;
                account.password_hash = Some(field.to_string());
            }
            users.insert(
                user_key(&mailbox.local_part, &mailbox.host.to_string()),
                account,
            );
        }
        Ok(Users(users))
    }

    pub fn contains(&self, local_part: &str, domain: &str) -> bool {
        self.0.contains_key(&user_key(local_part, domain))
    }

    /// True when `address` (`local@domain`) has an account whose password is `password`.
    pub fn verify(&self, address: &str, password: &str) -> bool {
        let hash = parse_mailbox(address)
            .ok()
            .and_then(|m| self.0.get(&user_key(&m.local_part, &m.host.to_string())))
            .and_then(|account| account.password_hash.as_deref());
        // Unknown users are hashed too (against a dummy): see verify_password.
        verify_password(hash, password)
    }
}

// ANCHOR: users
/// Mailboxes are matched without regard to case (RFC 5321 §2.4 lets us choose; it
/// recommends not depending on case).
fn user_key(local_part: &str, domain: &str) -> String {
    format!("{}@{}", local_part.to_lowercase(), domain.to_lowercase())
}
// ANCHOR_END: users

// ANCHOR: policy
/// Who we accept for.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Domains whose mail we deliver into the Maildir (lowercase).
    pub local_domains: Vec<String>,
    /// With a users file, unknown local users are refused at RCPT time.
    pub users: Option<Users>,
    /// Clients that may send mail to other domains.
    pub relay_networks: Vec<Network>,
}
// ANCHOR_END: policy

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            local_domains: vec!["localhost".into()],
            users: None,
            relay_networks: vec![
                "127.0.0.0/8".parse().expect("valid network"),
                "::1".parse().expect("valid network"),
            ],
        }
    }
}

// ANCHOR: decision
/// What to do with one RCPT TO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Ours: deliver into this Maildir mailbox.
    Local(MailboxPath),
    /// A local domain, but the users file does not list this user (550 5.1.1).
    NoSuchUser,
    /// A local domain, but the local part cannot be a mailbox name (553 5.1.3).
    BadMailboxName(NameError),
    /// Another domain, from a client that may relay: queue it for the relay.
    Relay,
    /// Another domain, from a client that may not relay (550 5.7.1).
    RelayDenied,
}

impl Policy {
    pub fn is_local_domain(&self, host: &Host) -> bool {
        self.local_domains.iter().any(|d| host.is(d))
    }

    pub fn may_relay(&self, client: IpAddr) -> bool {
        self.relay_networks.iter().any(|n| n.contains(client))
    }

    /// Decides where a recipient's copy goes.
    pub fn decide(&self, rcpt: &ForwardPath, client: IpAddr) -> Decision {
        let (local_part, domain) = match rcpt {
            // RFC 5321 §4.5.1: <Postmaster> is always accepted; it lives in our first domain.
            ForwardPath::Postmaster => ("postmaster", self.local_domains[0].as_str()),
            ForwardPath::Mailbox(m) if self.is_local_domain(&m.host) => {
                let Host::Domain(domain) = &m.host else {
                    unreachable!("is_local_domain only matches domains")
                };
                (m.local_part.as_str(), domain.as_str())
            }
            ForwardPath::Mailbox(_) if self.may_relay(client) => return Decision::Relay,
            ForwardPath::Mailbox(_) => return Decision::RelayDenied,
        };
        self.local_mailbox(local_part, domain)
    }

    /// The mailbox of `local_part` at one of our domains, whoever sends to it: a
    /// client, or postie itself with a bounce (RFC 5321 §6.1).
    pub fn local_mailbox(&self, local_part: &str, domain: &str) -> Decision {
        let mailbox = match mailbox_name(local_part) {
            Ok(name) => name,
            Err(e) => return Decision::BadMailboxName(e),
        };
        // RFC 5321 §4.5.1: postmaster must work even when it is not in the users file.
        let is_postmaster = mailbox.as_str() == "postmaster";
        if let Some(users) = &self.users {
            if !is_postmaster && !users.contains(local_part, domain) {
                return Decision::NoSuchUser;
            }
        }
        match domain_name(domain) {
            Ok(domain) => Decision::Local(MailboxPath { domain, mailbox }),
            Err(e) => Decision::BadMailboxName(e),
        }
    }
}
// ANCHOR_END: decision

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::address::parse_forward_path;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks() {
        let n: Network = "127.0.0.0/8".parse().unwrap();
        assert!(n.contains(ip("127.1.2.3")));
        assert!(!n.contains(ip("128.0.0.1")));
        assert!(n.contains(ip("::ffff:127.0.0.1")), "v4-mapped");
        let n: Network = "::1".parse().unwrap();
        assert!(n.contains(ip("::1")) && !n.contains(ip("::2")));
        let all: Network = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")));
        assert!("10.0.0.0/33".parse::<Network>().is_err());
        assert!("example.com".parse::<Network>().is_err());
    }

    #[test]
    fn users_file() {
        let users =
            Users::parse("# staff\nAlice@Localhost\n\n bob@example.test # the boss\n").unwrap();
        assert!(users.contains("alice", "localhost"));
        assert!(users.contains("BOB", "EXAMPLE.test"));
        assert!(!users.contains("carol", "localhost"));
        assert!(Users::parse("not an address\n")
            .unwrap_err()
            .contains("line 1"));
        assert!(Users::parse("alice@localhost secret\n")
            .unwrap_err()
            .contains("line 1: \"secret\": a password hash starts with $"));
        assert!(Users::parse("alice@localhost $argon2id$nonsense\n")
            .unwrap_err()
            .contains("line 1"));
    }

    #[test]
    fn passwords() {
        let hash = crate::accounts::hash_password("s3cret").unwrap();
        let users = Users::parse(&format!("Alice@localhost {hash}\nbob@localhost\n")).unwrap();
        assert!(users.verify("alice@LOCALHOST", "s3cret"));
        assert!(!users.verify("alice@localhost", "wrong"));
        assert!(!users.verify("bob@localhost", ""), "no hash: no login");
        assert!(!users.verify("carol@localhost", "s3cret"), "unknown user");
        assert!(!users.verify("not an address", "s3cret"));
    }

    fn decide(policy: &Policy, rcpt: &str, client: &str) -> Decision {
        policy.decide(&parse_forward_path(rcpt).unwrap(), ip(client))
    }

    #[test]
    fn decisions() {
        let mut policy = Policy::default();
        let local = |d: &Decision| matches!(d, Decision::Local(_));
        assert!(local(&decide(&policy, "<anyone@LOCALHOST>", "192.0.2.1")));
        assert!(local(&decide(&policy, "<Postmaster>", "192.0.2.1")));
        assert_eq!(
            decide(&policy, "<a@other.test>", "127.0.0.1"),
            Decision::Relay
        );
        assert_eq!(
            decide(&policy, "<a@other.test>", "192.0.2.1"),
            Decision::RelayDenied
        );
        assert!(matches!(
            decide(&policy, "<\"../../x\"@localhost>", "127.0.0.1"),
            Decision::BadMailboxName(_)
        ));
        policy.users = Some(Users::parse("alice@localhost").unwrap());
        assert!(local(&decide(&policy, "<ALICE@localhost>", "192.0.2.1")));
        assert_eq!(
            decide(&policy, "<bob@localhost>", "192.0.2.1"),
            Decision::NoSuchUser
        );
        assert!(local(&decide(
            &policy,
            "<postmaster@localhost>",
            "192.0.2.1"
        )));
        assert!(local(&decide(&policy, "<Postmaster>", "192.0.2.1")));
    }

    /// The open-relay tricks: none of these may be treated as mail for other.test.
    #[test]
    fn relay_tricks_stay_local_or_are_refused() {
        let policy = Policy::default();
        for rcpt in [
            "<b%other.test@localhost>",
            "<other.test!b@localhost>",
            "<\"b@other.test\"@localhost>",
        ] {
            let d = decide(&policy, rcpt, "192.0.2.1");
            assert!(
                matches!(d, Decision::Local(_) | Decision::BadMailboxName(_)),
                "{rcpt}: {d:?}"
            );
        }
        // A source route is ignored (RFC 5321 §4.1.2): the mailbox decides.
        assert_eq!(
            decide(&policy, "<@localhost:b@other.test>", "192.0.2.1"),
            Decision::RelayDenied
        );
    }
}
