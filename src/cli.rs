//! Command-line flags (parsed by clap) and how they become a [`Config`].
//!
//! The flag names are a contract: the README, the book and outside tests use them.
//! Every mistake is one line on stderr and exit code 2, never a panic.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::accounts::Users;
use crate::address::parse_domain;
use crate::config::{Config, Limits, Protocol, RelayConfig, Route, Service, Threads};
use crate::directory::url::DirectoryUrl;
use crate::directory::{DirectoryConfig, DEFAULT_FILTER};
use crate::policy::{Network, Rules};

// ANCHOR: args
/// postie: a teaching SMTP server. Receives mail for local domains into a Maildir.
#[derive(Debug, Parser)]
#[command(name = "postie", version, about, long_about = None)]
pub struct Args {
    /// Address and port to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:2525")]
    pub listen: SocketAddr,

    /// Also listen here for message submission (RFC 6409, port 587 in production):
    /// AUTH before MAIL, and only from the user's own address.
    #[arg(long, value_name = "ADDR")]
    pub submission_listen: Option<SocketAddr>,

    /// Also listen here for submission over implicit TLS (RFC 8314, port 465 in
    /// production); needs a certificate.
    #[arg(long, value_name = "ADDR")]
    pub smtps_listen: Option<SocketAddr>,
    /// Also serve POP3 on this address, to read the Maildir back (e.g. 127.0.0.1:1100).
    #[arg(long, value_name = "ADDR")]
    pub pop3_listen: Option<SocketAddr>,

    /// Also serve POP3 over implicit TLS here (RFC 8314, port 995 in production); needs
    /// a certificate.
    #[arg(long, value_name = "ADDR")]
    pub pop3s_listen: Option<SocketAddr>,

    /// Also serve IMAP on this address, to read and file the Maildir from a mail
    /// program (e.g. 127.0.0.1:1143); offers STARTTLS when a certificate is configured.
    #[arg(long, value_name = "ADDR")]
    pub imap_listen: Option<SocketAddr>,

    /// Also serve IMAP over implicit TLS here (RFC 8314, port 993 in production); needs
    /// a certificate.
    #[arg(long, value_name = "ADDR")]
    pub imaps_listen: Option<SocketAddr>,
    /// Serve the web view and its API here (HTTP/1.1); `none` turns it off. A
    /// non-loopback address needs --users.
    #[arg(long, value_name = "ADDR|none", default_value = "127.0.0.1:8025", value_parser = parse_optional_addr)]
    pub http_listen: MaybeAddr,

    /// Also serve the web view over TLS (HTTPS) here; needs a certificate.
    #[arg(long, value_name = "ADDR")]
    pub https_listen: Option<SocketAddr>,

    /// How many SMTP sessions' transcripts the web view keeps (0: none).
    #[arg(long, value_name = "N", default_value_t = crate::config::WebConfig::default().keep_sessions)]
    pub keep_sessions: usize,

    /// An account (from --users) that may see every mailbox, the sessions and the
    /// queue in the web view; repeat for several.
    #[arg(long = "admin", value_name = "ADDRESS")]
    pub admins: Vec<String>,

    /// Our name in the greeting and in Received: headers [default: this machine's hostname].
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<String>,

    /// A domain we receive mail for; repeat for several.
    #[arg(long = "domain", value_name = "D", default_value = "localhost")]
    pub domains: Vec<String>,

    /// Root of the Maildir tree: mail goes to DIR/DOMAIN/USER/new/.
    #[arg(long, value_name = "DIR", default_value = "./mail")]
    pub maildir: PathBuf,

    /// The outbound queue: mail for other domains waits here until it is relayed.
    #[arg(long, value_name = "DIR", default_value = "./spool", global = true)]
    pub spool: PathBuf,

    /// Accept only the users listed in FILE (one address per line, # comments);
    /// without it, every user of a local domain exists.
    #[arg(long, value_name = "FILE", global = true)]
    pub users: Option<PathBuf>,

    /// Allow password logins (AUTH, POP3) without TLS from loopback clients, to try
    /// them by hand. Never safe across a network.
    #[arg(long)]
    pub allow_plaintext_auth: bool,

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

    /// How a client gets its thread: `pool` (a ready one) or `spawn` (a new one each time).
    #[arg(long, value_name = "HOW", value_enum, default_value_t = Threads::Pool)]
    pub threads: Threads,

    /// Seconds to wait for each command, and for each read of message text.
    #[arg(long, value_name = "SECS", default_value_t = Limits::default().timeout.as_secs())]
    pub timeout: u64,

    /// Seconds a whole command line (or line of message text) may take, however slowly it trickles in
    /// [default: the --timeout value].
    #[arg(long, value_name = "SECS")]
    pub command_timeout: Option<u64>,

    /// Seconds to pause before the greeting; a client that talks first gets 554 and is closed (0: no pause).
    #[arg(long, value_name = "SECS", default_value_t = Limits::default().greeting_delay.as_secs())]
    pub greeting_delay: u64,

    /// Print the dialogue (C: and S: lines) and each state transition with its RFC section.
    #[arg(long)]
    pub trace: bool,

    /// Send mail for DOMAIN to HOST:PORT instead of its MX hosts; repeat for several.
    #[arg(long = "route", value_name = "DOMAIN=HOST:PORT", value_parser = parse_route)]
    pub routes: Vec<Route>,

    /// The port to connect to on MX hosts.
    #[arg(long, value_name = "PORT", default_value_t = RelayConfig::default().remote_port)]
    pub remote_port: u16,

    /// Ask this DNS server (ADDR:PORT) for MX and address records [default: /etc/resolv.conf].
    #[arg(long, value_name = "ADDR:PORT")]
    pub dns_server: Option<SocketAddr>,

    /// First wait before retrying a deferred message (plain seconds, or with s, m, h, d).
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub retry_min: Duration,

    /// Longest wait between retries.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
    pub retry_max: Duration,

    /// Give up (and bounce) a message still undelivered after this long.
    #[arg(long, value_name = "DURATION", default_value = "5d", value_parser = parse_duration)]
    pub queue_lifetime: Duration,

    /// Threads delivering queued mail at the same time.
    #[arg(long, value_name = "N", default_value_t = RelayConfig::default().workers)]
    pub relay_workers: usize,

    /// STARTTLS with this certificate chain (PEM, leaf first); needs --tls-key.
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,

    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// STARTTLS with a certificate made at start-up for localhost and --hostname, saved
    /// (certificate only) to --tls-cert FILE, or to postie-cert.pem beside the spool.
    #[arg(long, conflicts_with = "tls_key")]
    pub tls_self_signed: bool,

    /// Take users, aliases, lists and passwords from this LDAP directory instead of a
    /// users file: ldap://HOST:PORT (StartTLS unless on loopback) or ldaps://HOST:PORT
    /// (the port defaults to 389 or 636).
    #[arg(
        long,
        value_name = "URL",
        conflicts_with = "users",
        requires = "directory_base"
    )]
    pub directory: Option<DirectoryUrl>,

    /// Where directory searches start, e.g. dc=example,dc=test.
    #[arg(long, value_name = "DN", requires = "directory")]
    pub directory_base: Option<String>,

    /// Search as this service account [default: anonymously]; its password is the first
    /// line of --directory-password-file.
    #[arg(long, value_name = "DN", requires = "directory_password_file")]
    pub directory_bind_dn: Option<String>,

    /// The file holding --directory-bind-dn's password (never a flag: flags are visible
    /// to every user of the machine in ps).
    #[arg(long, value_name = "FILE", requires = "directory_bind_dn")]
    pub directory_password_file: Option<PathBuf>,

    /// The search filter for an address (RFC 4515); %s is the address, escaped.
    #[arg(long, value_name = "FILTER", default_value = DEFAULT_FILTER)]
    pub directory_filter: String,

    /// Seconds the directory may take to connect or to answer; past them, 451 and
    /// temporary login failures.
    #[arg(long, value_name = "SECS", default_value_t = 5)]
    pub directory_timeout: u64,

    /// How long a directory answer about a recipient is reused (0: never).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub directory_cache_ttl: Duration,

    /// Certificates (PEM) to trust for TLS to the directory [default: the system's,
    /// /etc/ssl/certs/ca-certificates.crt].
    #[arg(long, value_name = "FILE")]
    pub directory_ca: Option<PathBuf>,

    /// StartTLS to the directory even when it is on loopback.
    #[arg(long)]
    pub directory_starttls: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What to do instead of serving mail.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the outbound queue (like Postfix's mailq), or retry it now with --flush.
    Queue {
        /// Ask the running postie to retry every queued message now.
        #[arg(long)]
        flush: bool,
    },
    /// Manage accounts in the users file (--users FILE).
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Grade any SMTP server at HOST:PORT against RFC 5321, chapter by chapter.
    #[command(long_about = crate::check::options::LONG_ABOUT)]
    Check(crate::check::CheckArgs),
}

/// `postie user ...`
#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Set ADDRESS's password (asked for twice, or read from stdin when it is not a
    /// terminal), adding the user if it is new.
    Add {
        /// The account, as local@domain.
        #[arg(value_name = "ADDRESS")]
        address: String,
    },
}
// ANCHOR_END: args

/// An address, or `none`: a listener that is on by default and can be turned off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaybeAddr(pub Option<SocketAddr>);

/// `127.0.0.1:8025`, or `none` for no listener.
pub fn parse_optional_addr(text: &str) -> Result<MaybeAddr, String> {
    if text.eq_ignore_ascii_case("none") {
        return Ok(MaybeAddr(None));
    }
    text.parse()
        .map(|addr| MaybeAddr(Some(addr)))
        .map_err(|_| format!("{text:?}: write an address like 127.0.0.1:8025, or none"))
}

/// `90`, `90s`, `5m`, `1h`, `5d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let seconds_per_unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 60 * 60,
        "d" => 24 * 60 * 60,
        _ => {
            return Err(format!(
                "{text:?}: use a number of seconds, or a number with s, m, h or d"
            ))
        }
    };
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 90s, 5m, 1h or 5d"))?;
    number
        .checked_mul(seconds_per_unit)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is too long"))
}

/// `example.test=127.0.0.1:2526` or `example.test=[::1]:2526` or `example.test=mx.example.test:25`.
pub fn parse_route(text: &str) -> Result<Route, String> {
    let usage = || format!("{text:?}: write the route as DOMAIN=HOST:PORT");
    let (domain, target) = text.split_once('=').ok_or_else(usage)?;
    let (host, port) = target.rsplit_once(':').ok_or_else(usage)?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    parse_domain(domain).map_err(|e| format!("--route {text:?}: {e}"))?;
    if host.parse::<std::net::IpAddr>().is_err() {
        parse_domain(host).map_err(|e| format!("--route {text:?}: {e}"))?;
    }
    let port = port.parse().map_err(|_| usage())?;
    Ok(Route {
        domain: domain.to_ascii_lowercase(),
        host: host.to_string(),
        port,
    })
}

impl Args {
    /// Checks the flags and builds the configuration.
    pub fn into_config(self) -> Result<Config, String> {
        let directory = self.directory_config()?;
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
        let mut policy = Rules {
            local_domains,
            users,
            ..Rules::default()
        };
        if !self.relay_networks.is_empty() {
            policy.relay_networks = self.relay_networks;
        }
        if [
            self.max_recipients,
            self.max_connections,
            self.relay_workers,
        ]
        .contains(&0)
            || self.timeout == 0
        {
            return Err("--max-recipients, --max-connections, --relay-workers and --timeout must be at least 1".into());
        }
        // A learner who raises --timeout to type slowly gets the same time for a line.
        let command_timeout = self.command_timeout.unwrap_or(self.timeout);
        if command_timeout == 0 {
            return Err("--command-timeout must be at least 1".into());
        }
        if self.retry_min.is_zero() || self.retry_min > self.retry_max {
            return Err("--retry-min must be more than 0 and at most --retry-max".into());
        }
        let tls = match (&self.tls_cert, &self.tls_key, self.tls_self_signed) {
            (cert, None, true) => {
                let path = match cert {
                    Some(path) => path.clone(),
                    None => self.spool.with_file_name("postie-cert.pem"),
                };
                Some(crate::tls::self_signed(&hostname, &path)?)
            }
            (Some(cert), Some(key), false) => Some(crate::tls::load(cert, key)?),
            (Some(_), None, false) => {
                return Err("--tls-cert needs --tls-key (or --tls-self-signed)".into())
            }
            _ => None,
        };
        let listeners: Vec<(Protocol, SocketAddr)> = [
            (Protocol::Smtp(Service::Smtp), Some(self.listen)),
            (Protocol::Smtp(Service::Submission), self.submission_listen),
            (Protocol::Smtp(Service::SubmissionTls), self.smtps_listen),
            (Protocol::Pop3, self.pop3_listen),
            (Protocol::Pop3s, self.pop3s_listen),
            (Protocol::Imap, self.imap_listen),
            (Protocol::Imaps, self.imaps_listen),
            (Protocol::Http, self.http_listen.0),
            (Protocol::Https, self.https_listen),
        ]
        .into_iter()
        .filter_map(|(protocol, addr)| Some((protocol, addr?)))
        .collect();
        for (protocol, _) in &listeners {
            if protocol.implicit_tls() && tls.is_none() {
                return Err(format!(
                    "{} needs --tls-cert and --tls-key, or --tls-self-signed",
                    protocol.flag()
                ));
            }
        }
        // ANCHOR: web_rule
        // The web view without accounts shows every mailbox to whoever connects:
        // only this machine may connect then.
        let accounts = policy.users.is_some() || self.directory.is_some();
        if users_missing_for_web(&listeners, accounts) {
            return Err(
                "--http-listen or --https-listen on a non-loopback address needs --users \
                 (or --directory): \
                 without accounts the web view shows every mailbox to anyone who connects"
                    .into(),
            );
        }
        // ANCHOR_END: web_rule
        let limits = Limits {
            max_message_size: self.max_message_size,
            max_recipients: self.max_recipients,
            timeout: Duration::from_secs(self.timeout),
            command_timeout: Duration::from_secs(command_timeout),
            greeting_delay: Duration::from_secs(self.greeting_delay),
            ..Limits::default()
        };
        Ok(Config {
            listeners,
            hostname,
            maildir: self.maildir,
            spool: self.spool,
            policy,
            limits,
            max_connections: self.max_connections,
            threads: self.threads,
            relay: RelayConfig {
                routes: self.routes,
                remote_port: self.remote_port,
                dns_server: self.dns_server,
                retry_min: self.retry_min,
                retry_max: self.retry_max,
                queue_lifetime: self.queue_lifetime,
                workers: self.relay_workers,
                ..RelayConfig::default()
            },
            tls,
            allow_plaintext_auth: self.allow_plaintext_auth,
            directory,
            web: crate::config::WebConfig {
                keep_sessions: self.keep_sessions,
                admins: self
                    .admins
                    .iter()
                    .map(|a| a.trim().to_lowercase())
                    .collect(),
                ..crate::config::WebConfig::default()
            },
        })
    }

    /// The directory's settings, its files read now so that a mistake stops start-up.
    fn directory_config(&self) -> Result<Option<DirectoryConfig>, String> {
        let Some(url) = &self.directory else {
            return Ok(None);
        };
        let base = self.directory_base.clone().unwrap_or_default();
        crate::directory::filter::fill(&self.directory_filter, "someone@example.test")
            .map_err(|e| format!("--directory-filter: {e}"))?;
        if self.directory_timeout == 0 {
            return Err("--directory-timeout must be at least 1".into());
        }
        let mut config = DirectoryConfig::new(
            url.clone(),
            base,
            crate::directory::trust(self.directory_ca.as_deref())?,
        );
        if let (Some(dn), Some(file)) = (&self.directory_bind_dn, &self.directory_password_file) {
            let text = std::fs::read_to_string(file)
                .map_err(|e| format!("--directory-password-file {}: {e}", file.display()))?;
            let password = text.lines().next().unwrap_or_default().to_string();
            if password.is_empty() {
                return Err(format!(
                    "--directory-password-file {}: empty",
                    file.display()
                ));
            }
            config.bind = Some((dn.clone(), password));
        }
        config.filter = self.directory_filter.clone();
        config.timeout = Duration::from_secs(self.directory_timeout);
        config.cache_ttl = self.directory_cache_ttl;
        config.force_starttls = self.directory_starttls;
        Ok(Some(config))
    }
}

/// Does a web listener face the network while there are no accounts?
fn users_missing_for_web(listeners: &[(Protocol, SocketAddr)], users: bool) -> bool {
    !users
        && listeners.iter().any(|(protocol, addr)| {
            matches!(protocol, Protocol::Http | Protocol::Https) && !addr.ip().is_loopback()
        })
}

// ANCHOR: machine_hostname
/// This machine's name (getaddrinfo's sibling, gethostname), or `localhost` when it
/// has none that is a valid domain: the greeting must never be empty.
fn machine_hostname() -> String {
    match dns_lookup::get_hostname() {
        Ok(name) if parse_domain(&name).is_ok() => name,
        _ => "localhost".to_string(),
    }
}
// ANCHOR_END: machine_hostname

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    fn config(args: &[&str]) -> Result<Config, String> {
        let args = Args::try_parse_from(std::iter::once("postie").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        args.into_config()
    }

    #[test]
    fn defaults() {
        let c = config(&[]).unwrap();
        assert_eq!(
            c.listen_address(Protocol::Smtp(Service::Smtp))
                .map(|a| a.to_string()),
            Some("127.0.0.1:2525".to_string())
        );
        assert_eq!(c.policy.local_domains, ["localhost"]);
        assert_eq!(c.maildir, PathBuf::from("./mail"));
        assert!(!c.hostname.is_empty());
        assert!(c.policy.may_relay("127.0.0.1".parse().unwrap()));
        assert!(c.policy.may_relay("::1".parse().unwrap()));
        assert!(!c.policy.may_relay("192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn web_listeners() {
        let c = config(&[]).unwrap();
        assert_eq!(
            c.listen_address(Protocol::Http).map(|a| a.to_string()),
            Some("127.0.0.1:8025".to_string()),
            "on by default, on loopback"
        );
        assert_eq!(c.web.keep_sessions, 100);
        let c = config(&["--http-listen", "none"]).unwrap();
        assert_eq!(c.listen_address(Protocol::Http), None);
        let refused = config(&["--http-listen", "0.0.0.0:8025"]).unwrap_err();
        assert!(refused.contains("needs --users"), "{refused}");
        assert!(config(&["--http-listen", "[::1]:8025"]).is_ok());
        assert!(config(&["--http-listen", "nowhere"]).is_err());
        assert!(
            config(&["--https-listen", "127.0.0.1:8443"]).is_err(),
            "needs a certificate"
        );
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
    fn durations_and_routes() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
        assert!(
            parse_duration("5 m").is_err()
                && parse_duration("m").is_err()
                && parse_duration("5w").is_err()
        );
        let route = parse_route("B.test=127.0.0.1:2526").unwrap();
        assert_eq!(
            (route.domain.as_str(), route.host.as_str(), route.port),
            ("b.test", "127.0.0.1", 2526)
        );
        assert_eq!(parse_route("b.test=[::1]:25").unwrap().host, "::1");
        assert!(parse_route("b.test").is_err() && parse_route("b.test=host").is_err());
        let c = config(&[
            "--route",
            "b.test=127.0.0.1:2526",
            "--retry-min",
            "1s",
            "--queue-lifetime",
            "3s",
        ])
        .unwrap();
        assert_eq!(c.relay.routes.len(), 1);
        assert_eq!(c.relay.queue_lifetime, Duration::from_secs(3));
        assert!(config(&["--retry-min", "2h", "--retry-max", "1h"]).is_err());
    }

    #[test]
    fn mistakes_are_errors() {
        assert!(config(&["--domain", "bad_domain"]).is_err());
        assert!(config(&["--hostname", "a b"]).is_err());
        assert!(config(&["--listen", "nowhere"]).is_err());
        assert!(config(&["--relay-network", "10.0.0.0/99"]).is_err());
        assert!(config(&["--users", "/nonexistent/users"]).is_err());
        assert!(config(&["--timeout", "0"]).is_err());
        assert!(config(&["--command-timeout", "0"]).is_err());
        // Without the flag, a line may take as long as one read may wait.
        let c = config(&["--timeout", "3600"]).unwrap();
        assert_eq!(c.limits.command_timeout, Duration::from_secs(3600));
        let c = config(&["--timeout", "3600", "--command-timeout", "60"]).unwrap();
        assert_eq!(c.limits.command_timeout, Duration::from_secs(60));
    }

    #[test]
    fn the_directory_flags() {
        let base = ["--directory-base", "dc=example,dc=test"];
        let with = |more: &[&str]| {
            let mut args = vec!["--directory", "ldap://127.0.0.1:3389"];
            args.extend_from_slice(&base);
            args.extend_from_slice(more);
            config(&args)
        };
        let c = with(&[]).unwrap();
        let d = c.directory.expect("a directory");
        assert_eq!(d.url.port, 3389);
        assert_eq!(d.filter, crate::directory::DEFAULT_FILTER);
        assert_eq!(d.cache_ttl, Duration::from_secs(30));
        assert!(d.bind.is_none());
        assert!(config(&[]).unwrap().directory.is_none());
        // Mistakes: no base, a bad URL, a bad filter, the users file as well, a bind DN
        // without its password file (or a missing one), a zero timeout.
        assert!(config(&["--directory", "ldap://h"]).is_err());
        assert!(config(&["--directory", "http://h", base[0], base[1]]).is_err());
        assert!(with(&["--directory-filter", "(mail=%s"]).is_err());
        assert!(with(&["--users", "/dev/null"]).is_err());
        assert!(with(&["--directory-bind-dn", "cn=x"]).is_err());
        let missing = ["--directory-password-file", "/nonexistent/pw"];
        assert!(with(&["--directory-bind-dn", "cn=x", missing[0], missing[1]]).is_err());
        assert!(with(&["--directory-timeout", "0"]).is_err());
        assert!(with(&["--directory-ca", "/nonexistent/ca.pem"]).is_err());
    }
}
