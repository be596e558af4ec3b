//! Who is who: which domains are ours, who may relay, which users exist, whose
//! password is right — the questions every protocol asks, behind one trait.
//!
//! The sessions never read the configuration to answer these: they ask a [`Policy`].
//! postie's own answers come from the flags and the users file ([`Rules`]); another
//! policy (a database, a classroom experiment) is a new type implementing the required
//! questions, and the sessions do not change. `examples/custom_policy.rs` shows one;
//! the directory (`crate::directory`) is another, which also overrides `local_mailbox`,
//! `authenticate` and `login`: an address may be an alias or a list, and an outage is "try later", never
//! a guess (the variants [`Decision::Group`], [`Decision::TryLater`] and
//! [`LoginFailure::TryLater`] exist for it).
//!
//! No open relay (RFC 5321 §3.6.1; see ARCHITECTURE.md): mail for a domain that is not
//! ours is accepted only from trusted networks (`--relay-network`, loopback by default);
//! everyone else gets `550 5.7.1`. The address is judged by its domain alone: `%` and
//! `!` in a local part, or a source route, never make us relay (RFC 5321 §3.6.1,
//! Appendix C). A client that logged in may relay from anywhere; the session decides
//! that (see `Session::add_recipient`), since only it knows who logged in.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::accounts::Users;
use crate::address::{ForwardPath, Host};
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

// ANCHOR: policy_trait
/// The questions about who is who. The required methods are the whole of a policy;
/// [`Policy::decide`], [`Policy::local_mailbox`], [`Policy::authenticate`] and
/// [`Policy::login`] build on them, and a policy that knows more (aliases, lists, an
/// outage) overrides those.
pub trait Policy: Send + Sync {
    /// Is `domain` one of ours? Domains are case-insensitive (RFC 1035 §2.3.3).
    fn is_local_domain(&self, domain: &str) -> bool;
    /// The domain that `<Postmaster>` without a domain belongs to (RFC 5321 §4.5.1).
    fn primary_domain(&self) -> &str;
    /// May a client at `client` send mail to other domains through us?
    fn may_relay(&self, client: IpAddr) -> bool;
    /// Does `local_part@domain` (a local domain) receive mail?
    fn user_exists(&self, local_part: &str, domain: &str) -> bool;
    /// Can anyone log in at all? (AUTH, USER/PASS are offered only then.)
    fn accepts_logins(&self) -> bool;
    /// Is `password` the password of `address`? Takes as long for an unknown address.
    fn check_password(&self, address: &str, password: &str) -> bool;

    // ANCHOR: decide
    /// Decides where a recipient's copy goes (RFC 5321 §3.6, §4.5.1).
    fn decide(&self, rcpt: &ForwardPath, client: IpAddr) -> Decision {
        let (local_part, domain) = match rcpt {
            // RFC 5321 §4.5.1: <Postmaster> is always accepted; it lives in our first domain.
            ForwardPath::Postmaster => ("postmaster", self.primary_domain()),
            ForwardPath::Mailbox(m) => match &m.host {
                Host::Domain(domain) if self.is_local_domain(domain) => {
                    (m.local_part.as_str(), domain.as_str())
                }
                // RFC 5321 §3.6.1: another domain (or an address literal) is relaying.
                _ if self.may_relay(client) => return Decision::Relay,
                _ => return Decision::RelayDenied,
            },
        };
        self.local_mailbox(local_part, domain)
    }

    /// The mailbox of `local_part` at one of our domains, whoever sends to it: a
    /// client, or postie itself with a bounce (RFC 5321 §6.1).
    fn local_mailbox(&self, local_part: &str, domain: &str) -> Decision {
        let mailbox = match mailbox_name(local_part) {
            Ok(name) => name,
            Err(e) => return Decision::BadMailboxName(e),
        };
        // RFC 5321 §4.5.1: postmaster must work even when no user of that name exists.
        let is_postmaster = mailbox.as_str() == "postmaster";
        if !is_postmaster && !self.user_exists(local_part, domain) {
            return Decision::NoSuchUser;
        }
        match domain_name(domain) {
            Ok(domain) => Decision::Local(MailboxPath { domain, mailbox }),
            Err(e) => Decision::BadMailboxName(e),
        }
    }
    // ANCHOR_END: decide

    // ANCHOR: login
    /// Is `password` right for `address`, or can that not be known now? SMTP AUTH asks
    /// this (it needs no mailbox); a policy that may be unreachable overrides it.
    fn authenticate(&self, address: &str, password: &str) -> Result<(), LoginFailure> {
        match self.check_password(address, password) {
            true => Ok(()),
            false => Err(LoginFailure::Refused),
        }
    }

    /// A login that opens a mailbox (POP3's USER and PASS; any reading protocol's): the
    /// name is the full address. Returns the mailbox, or one `Refused` for every kind
    /// of "no", so that the answer does not tell which part was wrong; `TryLater` when
    /// the answer cannot be known now.
    fn login(&self, address: &str, password: &str) -> Result<MailboxPath, LoginFailure> {
        // Verify first, for every name: an unknown user costs the same hashing time.
        self.authenticate(address, password)?;
        let refused = |_| LoginFailure::Refused;
        let (local_part, domain) = address.rsplit_once('@').ok_or(LoginFailure::Refused)?;
        let domain = domain.to_ascii_lowercase();
        if !self.is_local_domain(&domain) {
            return Err(LoginFailure::Refused);
        }
        Ok(MailboxPath {
            domain: domain_name(&domain).map_err(refused)?,
            mailbox: mailbox_name(local_part).map_err(refused)?,
        })
    }
    // ANCHOR_END: login
}
// ANCHOR_END: policy_trait

// ANCHOR: policy
/// postie's own policy, from the flags and the users file.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Domains whose mail we deliver into the Maildir (lowercase).
    pub local_domains: Vec<String>,
    /// With a users file, unknown local users are refused at RCPT time.
    pub users: Option<Users>,
    /// Clients that may send mail to other domains.
    pub relay_networks: Vec<Network>,
}
// ANCHOR_END: policy

impl Default for Rules {
    fn default() -> Rules {
        Rules {
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
    /// A list: one copy into each of these mailboxes, for one RCPT (250 once).
    Group(Vec<MailboxPath>),
    /// The answer cannot be known now (the directory is down): 451 4.3.0, and the
    /// client tries again later. Never a guess either way.
    TryLater,
}
// ANCHOR_END: decision

// ANCHOR: login_failure
/// Why a login did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginFailure {
    /// Wrong name or password, or no such user (SMTP 535, POP3 `-ERR [AUTH]`).
    Refused,
    /// Cannot be checked now, or too many failures for this address just now (SMTP
    /// 454 4.7.0, POP3 `-ERR [SYS/TEMP]`).
    TryLater,
}
// ANCHOR_END: login_failure

// ANCHOR: rules
impl Policy for Rules {
    fn is_local_domain(&self, domain: &str) -> bool {
        self.local_domains
            .iter()
            .any(|d| d.eq_ignore_ascii_case(domain))
    }

    fn primary_domain(&self) -> &str {
        self.local_domains
            .first()
            .map_or("localhost", String::as_str)
    }

    fn may_relay(&self, client: IpAddr) -> bool {
        self.relay_networks.iter().any(|n| n.contains(client))
    }

    /// Without a users file, every local part of our domains receives mail.
    fn user_exists(&self, local_part: &str, domain: &str) -> bool {
        self.users
            .as_ref()
            .is_none_or(|users| users.contains(local_part, domain))
    }

    fn accepts_logins(&self) -> bool {
        self.users.is_some()
    }

    fn check_password(&self, address: &str, password: &str) -> bool {
        match &self.users {
            Some(users) => users.verify(address, password),
            // No users file: no one can log in (and no hashing time to hide).
            None => false,
        }
    }
}
// ANCHOR_END: rules

#[cfg(test)]
pub mod testing;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::parse_forward_path;

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

    fn decide(policy: &Rules, rcpt: &str, client: &str) -> Decision {
        policy.decide(&parse_forward_path(rcpt).unwrap(), ip(client))
    }

    #[test]
    fn decisions() {
        let mut policy = Rules::default();
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
        let policy = Rules::default();
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
