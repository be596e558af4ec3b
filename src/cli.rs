//! Command-line flags (parsed by clap) and how they become a [`Config`].
//!
//! The flag names are a contract: the README, the book and outside tests use them.
//! Every mistake is one line on stderr and exit code 2, never a panic.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::config::{Config, Limits};
use crate::policy::{Network, Policy, Users};
use crate::smtp::address::parse_domain;

// ANCHOR: args
/// postie: a teaching SMTP server. Receives mail for local domains into a Maildir.
#[derive(Debug, Parser)]
#[command(name = "postie", version, about, long_about = None)]
pub struct Args {
    /// Address and port to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:2525")]
    pub listen: SocketAddr,

    /// Our name in the greeting and in Received: headers [default: this machine's hostname].
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<String>,

    /// A domain we receive mail for; repeat for several.
    #[arg(long = "domain", value_name = "D", default_value = "localhost")]
    pub domains: Vec<String>,

    /// Root of the Maildir tree: mail goes to DIR/<domain>/<user>/new/.
    #[arg(long, value_name = "DIR", default_value = "./mail")]
    pub maildir: PathBuf,

    /// The outbound queue: mail for other domains waits here until it is relayed.
    #[arg(long, value_name = "DIR", default_value = "./spool")]
    pub spool: PathBuf,

    /// Accept only the users listed in FILE (one address per line, # comments);
    /// without it, every user of a local domain exists.
    #[arg(long, value_name = "FILE")]
    pub users: Option<PathBuf>,

    /// Clients in this network may send mail to other domains; repeat for several
    /// [default: 127.0.0.0/8 and ::1].
    #[arg(long = "relay-network", value_name = "CIDR")]
    pub relay_networks: Vec<Network>,

    /// Largest message accepted, in octets (advertised as SIZE).
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_message_size)]
    pub max_message_size: u64,

    /// Most recipients per message; the next one gets 452 (RFC 5321 §4.5.3.1.8 asks for at least 100).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_recipients)]
    pub max_recipients: usize,

    /// Most clients served at once; the next one gets 421.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub max_connections: usize,

    /// Seconds to wait for each command, and for each read of message text.
    #[arg(long, value_name = "SECS", default_value_t = Limits::default().timeout.as_secs())]
    pub timeout: u64,

    /// Print the dialogue (C: and S: lines) and each state transition with its RFC section.
    #[arg(long)]
    pub trace: bool,
}
// ANCHOR_END: args

impl Args {
    /// Checks the flags and builds the configuration.
    pub fn into_config(self) -> Result<Config, String> {
        let hostname = match self.hostname {
            Some(name) => {
                parse_domain(&name).map_err(|e| format!("--hostname: {e}"))?;
                name
            }
            None => machine_hostname(),
        };
        let mut local_domains = Vec::new();
        for domain in self.domains {
            parse_domain(&domain).map_err(|e| format!("--domain: {e}"))?;
            local_domains.push(domain.to_ascii_lowercase());
        }
        let users = match &self.users {
            Some(path) => Some(Users::load(path)?),
            None => None,
        };
        let mut policy = Policy {
            local_domains,
            users,
            ..Policy::default()
        };
        if !self.relay_networks.is_empty() {
            policy.relay_networks = self.relay_networks;
        }
        if self.max_recipients == 0 || self.max_connections == 0 || self.timeout == 0 {
            return Err(
                "--max-recipients, --max-connections and --timeout must be at least 1".into(),
            );
        }
        let limits = Limits {
            max_message_size: self.max_message_size,
            max_recipients: self.max_recipients,
            timeout: Duration::from_secs(self.timeout),
            ..Limits::default()
        };
        Ok(Config {
            listen: self.listen,
            hostname,
            maildir: self.maildir,
            spool: self.spool,
            policy,
            limits,
            max_connections: self.max_connections,
            trace: self.trace,
        })
    }
}

/// This machine's name (getaddrinfo's sibling, gethostname), or `localhost` when it
/// has none that is a valid domain: the greeting must never be empty.
fn machine_hostname() -> String {
    match dns_lookup::get_hostname() {
        Ok(name) if parse_domain(&name).is_ok() => name,
        _ => "localhost".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(args: &[&str]) -> Result<Config, String> {
        let args = Args::try_parse_from(std::iter::once("postie").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        args.into_config()
    }

    #[test]
    fn defaults() {
        let c = config(&[]).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:2525");
        assert_eq!(c.policy.local_domains, ["localhost"]);
        assert_eq!(c.maildir, PathBuf::from("./mail"));
        assert!(!c.hostname.is_empty());
        assert!(c.policy.may_relay("127.0.0.1".parse().unwrap()));
        assert!(c.policy.may_relay("::1".parse().unwrap()));
        assert!(!c.policy.may_relay("192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn repeated_flags() {
        let c = config(&[
            "--domain",
            "A.test",
            "--domain",
            "b.test",
            "--relay-network",
            "192.0.2.0/24",
        ])
        .unwrap();
        assert_eq!(c.policy.local_domains, ["a.test", "b.test"]);
        assert!(c.policy.may_relay("192.0.2.7".parse().unwrap()));
        assert!(
            !c.policy.may_relay("127.0.0.1".parse().unwrap()),
            "the flag replaces the default"
        );
    }

    #[test]
    fn mistakes_are_errors() {
        assert!(config(&["--domain", "bad_domain"]).is_err());
        assert!(config(&["--hostname", "a b"]).is_err());
        assert!(config(&["--listen", "nowhere"]).is_err());
        assert!(config(&["--relay-network", "10.0.0.0/99"]).is_err());
        assert!(config(&["--users", "/nonexistent/users"]).is_err());
        assert!(config(&["--timeout", "0"]).is_err());
    }
}
