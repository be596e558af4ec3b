//! Choosing the next hop: which hosts to try for a domain, and in which
//! order (RFC 5321 §5.1, RFC 7505).
//!
//! [`next_hops`] turns a domain into a list of [`Hop`]s, best first:
//!
//! 1. Look up the MX records. NXDOMAIN is permanent, a DNS failure temporary.
//! 2. A single MX `"."` is a null MX: the domain accepts no mail (RFC 7505).
//! 3. No MX at all: the domain itself is the "implicit MX", preference 0.
//! 4. Sort by preference, lowest first, in random order within one preference.
//! 5. If we are one of the hosts, keep only the hosts better than us.
//! 6. Look up each host's addresses (IPv4 and IPv6, in the resolver's order).
//!
//! Deliberately left out:
//! - We recognize ourselves by host name only; §5.1 also says "or addresses".
//! - No limit on the number of hosts or addresses to try (§5.1 allows one,
//!   but the client SHOULD try at least two).
//! - No preference between IPv6 and IPv4, no Happy Eyeballs (RFC 8305).
//! - An MX that names a CNAME or an IP address literal lies outside the
//!   standard (§5.1); we use whatever the resolver makes of it.
//! - No MTA-STS (RFC 8461) or DANE (RFC 7672) checks of the hosts.
//!
//! A production MTA also remembers which hosts failed recently, and skips
//! them for a while instead of asking DNS and connecting again.

use std::fmt;
use std::net::SocketAddr;

use crate::relay::dns::{random_u64, DnsError, Mx, Resolver};
use crate::status::Status;

/// One host to try, with its addresses in the order to try them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    /// The MX host name (or the domain itself, for the implicit MX).
    pub host: String,
    /// Its MX preference; 0 for the implicit MX.
    pub preference: u16,
    /// Its addresses, each with the port to connect to.
    pub addresses: Vec<SocketAddr>,
}

// ANCHOR: route_error
/// Why a domain has no next hop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// RFC 7505: a single MX with exchange "." — the domain accepts no mail.
    /// Permanent, 5.1.10.
    NullMx,
    /// NXDOMAIN for the domain (permanent, 5.1.2 "bad destination system address").
    NoSuchDomain,
    /// Our own host is the most preferred MX: we would send the mail to
    /// ourselves (permanent, 5.4.6 routing loop) — §5.1.
    LoopsBackToMe,
    /// No usable address for any host, or DNS trouble (temporary, 4.4.4
    /// "unable to route").
    Temporary(String),
}

impl RouteError {
    /// The enhanced status code (RFC 3463) for a DSN or a log line.
    pub fn status(&self) -> Status {
        match self {
            RouteError::NullMx => Status(5, 1, 10),
            RouteError::NoSuchDomain => Status(5, 1, 2),
            RouteError::LoopsBackToMe => Status(5, 4, 6),
            // RFC 3463 X.4.4: "the necessary routing information was
            // unavailable from the directory server" — both a failed MX
            // lookup and hosts without addresses.
            RouteError::Temporary(_) => Status(4, 4, 4),
        }
    }

    /// Whether retrying later is pointless: the message should bounce now.
    pub fn is_permanent(&self) -> bool {
        !matches!(self, RouteError::Temporary(_))
    }
}
// ANCHOR_END: route_error

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteError::NullMx => f.write_str("the domain accepts no mail (null MX, RFC 7505)"),
            RouteError::NoSuchDomain => f.write_str("the domain does not exist (NXDOMAIN)"),
            RouteError::LoopsBackToMe => f.write_str(
                "this host is the best mail exchanger for the domain: mail loops back to me",
            ),
            RouteError::Temporary(why) => f.write_str(why),
        }
    }
}

// ANCHOR: next_hops
/// The hosts to try for `domain`, most preferred first, each address with `port`.
pub fn next_hops(
    domain: &str,
    resolver: &dyn Resolver,
    my_names: &[String],
    port: u16,
) -> Result<Vec<Hop>, RouteError> {
    let records = match resolver.mx(domain) {
        Ok(records) => records,
        // §5.1: "If a non-existent domain error is returned, this situation
        // MUST be reported as an error."
        Err(DnsError::NoSuchDomain) => return Err(RouteError::NoSuchDomain),
        // §5.1: "If a temporary error is returned, the message MUST be queued
        // and retried later."
        Err(DnsError::Temporary(why)) => {
            return Err(RouteError::Temporary(format!(
                "MX lookup for {domain}: {why}"
            )))
        }
    };
    // §5.1: "If an empty list of MXs is returned, the address is treated as if
    // it was associated with an implicit MX RR, with a preference of 0,
    // pointing to that host."
    let implicit = records.is_empty();
    let records = if implicit {
        vec![Mx {
            preference: 0,
            exchange: domain.trim_end_matches('.').to_owned(),
        }]
    } else {
        without_null_mx(records)?
    };
    // The implicit MX passes the same check: if the domain is us, it loops too.
    let records = in_order_without_me(records, my_names)?;

    let mut hops = Vec::new();
    let mut problems = Vec::new();
    for mx in records {
        match resolver.addresses(&mx.exchange) {
            Ok(ips) if !ips.is_empty() => hops.push(Hop {
                addresses: ips
                    .into_iter()
                    .map(|ip| SocketAddr::new(ip, port))
                    .collect(),
                host: mx.exchange,
                preference: mx.preference,
            }),
            Ok(_) => problems.push(format!("{} has no address", mx.exchange)),
            // The implicit MX is the domain itself: it does not exist after all.
            Err(DnsError::NoSuchDomain) if implicit => return Err(RouteError::NoSuchDomain),
            Err(error) => problems.push(format!("{}: {error}", mx.exchange)),
        }
    }
    if hops.is_empty() {
        return Err(RouteError::Temporary(format!(
            "no address for any MX host of {domain}: {}",
            problems.join("; ")
        )));
    }
    Ok(hops)
}
// ANCHOR_END: next_hops

// ANCHOR: null_mx
/// The (non-empty) MX records without the null MX ".", or `NullMx` if that is all.
fn without_null_mx(mut records: Vec<Mx>) -> Result<Vec<Mx>, RouteError> {
    // RFC 7505 §3: a null MX is the domain's only MX record. A domain that
    // also lists real hosts breaks that rule; "." names no host, so drop it.
    if records.iter().all(|mx| mx.exchange.is_empty()) {
        return Err(RouteError::NullMx);
    }
    records.retain(|mx| !mx.exchange.is_empty());
    Ok(records)
}
// ANCHOR_END: null_mx

// ANCHOR: mx_order
/// The records to try, best first, without us and those worse than us.
fn in_order_without_me(mut records: Vec<Mx>, my_names: &[String]) -> Result<Vec<Mx>, RouteError> {
    // §5.1: lower preference first; "If there are multiple destinations with
    // the same preference [...] the sender-SMTP MUST randomize them." A random
    // second key does both. `sort_by_cached_key` computes each key once: with
    // `sort_by_key` the random part would change between two comparisons.
    records.sort_by_cached_key(|mx| (mx.preference, random_u64()));

    // §5.1: "If a matching record is found, all records at that preference
    // level and higher-numbered ones MUST be discarded from consideration. If
    // there are no records left at that point, it is an error condition".
    let mine = records.iter().find(|mx| is_me(&mx.exchange, my_names));
    if let Some(my_preference) = mine.map(|mx| mx.preference) {
        records.retain(|mx| mx.preference < my_preference);
        if records.is_empty() {
            return Err(RouteError::LoopsBackToMe);
        }
    }
    Ok(records)
}
// ANCHOR_END: mx_order

/// Host names compare ignoring ASCII case and a trailing dot.
fn is_me(host: &str, my_names: &[String]) -> bool {
    let host = host.trim_end_matches('.');
    my_names
        .iter()
        .any(|name| name.trim_end_matches('.').eq_ignore_ascii_case(host))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};
    use std::net::IpAddr;

    /// DNS from two tables; a name in neither does not exist.
    #[derive(Default)]
    struct FakeResolver {
        mx: HashMap<String, Result<Vec<Mx>, DnsError>>,
        addresses: HashMap<String, Result<Vec<IpAddr>, DnsError>>,
    }

    impl FakeResolver {
        fn mx(mut self, domain: &str, records: &[(u16, &str)]) -> Self {
            let records = records
                .iter()
                .map(|&(preference, exchange)| Mx {
                    preference,
                    exchange: exchange.to_owned(),
                })
                .collect();
            self.mx.insert(domain.to_owned(), Ok(records));
            self
        }

        fn mx_fails(mut self, domain: &str, error: DnsError) -> Self {
            self.mx.insert(domain.to_owned(), Err(error));
            self
        }

        fn host(mut self, host: &str, ips: &[&str]) -> Self {
            let ips = ips.iter().map(|ip| ip.parse().unwrap()).collect();
            self.addresses.insert(host.to_owned(), Ok(ips));
            self
        }

        fn host_fails(mut self, host: &str, error: DnsError) -> Self {
            self.addresses.insert(host.to_owned(), Err(error));
            self
        }
    }

    impl Resolver for FakeResolver {
        fn mx(&self, domain: &str) -> Result<Vec<Mx>, DnsError> {
            self.mx
                .get(domain)
                .cloned()
                .unwrap_or(Err(DnsError::NoSuchDomain))
        }

        fn addresses(&self, host: &str) -> Result<Vec<IpAddr>, DnsError> {
            let found = self.addresses.get(host).cloned();
            found.unwrap_or(Err(DnsError::NoSuchDomain))
        }
    }

    fn route(domain: &str, dns: &FakeResolver) -> Result<Vec<Hop>, RouteError> {
        next_hops(domain, dns, &[], 25)
    }

    fn route_as(domain: &str, dns: &FakeResolver, me: &str) -> Result<Vec<Hop>, RouteError> {
        next_hops(domain, dns, &[me.to_owned()], 25)
    }

    fn hosts(hops: &[Hop]) -> Vec<&str> {
        hops.iter().map(|hop| hop.host.as_str()).collect()
    }

    fn three_hosts() -> FakeResolver {
        FakeResolver::default()
            .mx(
                "example.test",
                &[
                    (30, "c.example.test"),
                    (10, "a.example.test"),
                    (20, "b.example.test"),
                ],
            )
            .host("a.example.test", &["192.0.2.1"])
            .host("b.example.test", &["192.0.2.2"])
            .host("c.example.test", &["192.0.2.3"])
    }

    #[test]
    fn sorted_by_preference_lowest_first() {
        let hops = route("example.test", &three_hosts()).unwrap();
        assert_eq!(
            hosts(&hops),
            ["a.example.test", "b.example.test", "c.example.test"]
        );
        assert_eq!(
            hops[0],
            Hop {
                host: "a.example.test".to_owned(),
                preference: 10,
                addresses: vec!["192.0.2.1:25".parse().unwrap()],
            }
        );
        assert_eq!(hops[2].preference, 30);
    }

    #[test]
    fn equal_preferences_come_in_random_order() {
        // a first, then b and c at one preference.
        let dns = three_hosts().mx(
            "example.test",
            &[
                (10, "b.example.test"),
                (10, "c.example.test"),
                (5, "a.example.test"),
            ],
        );
        let mut orders = HashSet::new();
        for _ in 0..200 {
            let hops = route("example.test", &dns).unwrap();
            let order: Vec<String> = hops.iter().map(|hop| hop.host.clone()).collect();
            assert_eq!(order[0], "a.example.test");
            orders.insert(order);
        }
        assert_eq!(orders.len(), 2, "both orders of b and c: {orders:?}");
    }

    #[test]
    fn we_as_the_best_mx_would_loop() {
        let error = route_as("example.test", &three_hosts(), "a.example.test").unwrap_err();
        assert_eq!(error, RouteError::LoopsBackToMe);
        assert_eq!(error.status(), Status(5, 4, 6));
        assert!(error.is_permanent());
        // Names compare ignoring case and a trailing dot.
        let error = route_as("example.test", &three_hosts(), "A.Example.TEST.").unwrap_err();
        assert_eq!(error, RouteError::LoopsBackToMe);
    }

    #[test]
    fn we_in_the_middle_keep_only_better_hosts() {
        // §5.1: discard our preference level and every higher-numbered one.
        let dns = three_hosts()
            .mx(
                "example.test",
                &[
                    (10, "a.example.test"),
                    (20, "me.example.test"),
                    (20, "b.example.test"),
                    (30, "c.example.test"),
                ],
            )
            .host("me.example.test", &["192.0.2.9"]);
        let hops = route_as("example.test", &dns, "me.example.test").unwrap();
        assert_eq!(hosts(&hops), ["a.example.test"]);
    }

    #[test]
    fn we_sharing_the_best_preference_would_loop() {
        let dns = three_hosts()
            .mx(
                "example.test",
                &[(10, "a.example.test"), (10, "me.example.test")],
            )
            .host("me.example.test", &["192.0.2.9"]);
        let error = route_as("example.test", &dns, "me.example.test").unwrap_err();
        assert_eq!(error, RouteError::LoopsBackToMe);
    }

    #[test]
    fn null_mx_accepts_no_mail() {
        let dns = FakeResolver::default()
            .mx("nullmx.test", &[(0, "")])
            .host("nullmx.test", &["192.0.2.1"]);
        let error = route("nullmx.test", &dns).unwrap_err();
        assert_eq!(error, RouteError::NullMx);
        assert_eq!(error.status(), Status(5, 1, 10));
        assert!(error.is_permanent());
    }

    #[test]
    fn null_mx_among_other_records_is_ignored() {
        let dns = three_hosts().mx("example.test", &[(0, ""), (20, "b.example.test")]);
        let hops = route("example.test", &dns).unwrap();
        assert_eq!(hosts(&hops), ["b.example.test"]);
    }

    #[test]
    fn no_mx_means_the_implicit_mx() {
        let dns = FakeResolver::default()
            .mx("nomx.test", &[])
            .host("nomx.test", &["192.0.2.7", "2001:db8::7"]);
        let hops = next_hops("nomx.test", &dns, &[], 2525).unwrap();
        assert_eq!(
            hops,
            [Hop {
                host: "nomx.test".to_owned(),
                preference: 0,
                addresses: vec![
                    "192.0.2.7:2525".parse().unwrap(),
                    "[2001:db8::7]:2525".parse().unwrap()
                ],
            }]
        );
    }

    #[test]
    fn implicit_mx_of_a_name_without_addresses() {
        // NXDOMAIN for the address lookup of the domain itself: it does not exist.
        let dns = FakeResolver::default().mx("gone.test", &[]);
        assert_eq!(route("gone.test", &dns), Err(RouteError::NoSuchDomain));
        // It exists but has no address: temporary, like any host without one.
        let dns = FakeResolver::default()
            .mx("bare.test", &[])
            .host("bare.test", &[]);
        let error = route("bare.test", &dns).unwrap_err();
        assert!(!error.is_permanent());
    }

    #[test]
    fn nxdomain_is_permanent() {
        let error = route("nosuch.test", &FakeResolver::default()).unwrap_err();
        assert_eq!(error, RouteError::NoSuchDomain);
        assert_eq!(error.status(), Status(5, 1, 2));
        assert!(error.is_permanent());
    }

    #[test]
    fn dns_trouble_is_temporary() {
        let dns = FakeResolver::default().mx_fails(
            "example.test",
            DnsError::Temporary("the server answered ServerFailure".into()),
        );
        let error = route("example.test", &dns).unwrap_err();
        assert!(
            matches!(&error, RouteError::Temporary(why) if why.contains("example.test")),
            "{error}"
        );
        assert_eq!(error.status(), Status(4, 4, 4));
        assert!(!error.is_permanent());
    }

    #[test]
    fn hosts_without_addresses_are_skipped() {
        let dns = three_hosts()
            .host("a.example.test", &[])
            .host_fails("b.example.test", DnsError::Temporary("timed out".into()));
        let hops = route("example.test", &dns).unwrap();
        assert_eq!(hosts(&hops), ["c.example.test"]);

        // An MX host that does not exist is skipped too: only the implicit MX
        // turns NXDOMAIN into "no such domain".
        let dns = dns.host_fails("c.example.test", DnsError::NoSuchDomain);
        let error = route("example.test", &dns).unwrap_err();
        let RouteError::Temporary(why) = &error else {
            panic!("{error:?}")
        };
        assert!(
            why.starts_with("no address for any MX host of example.test: "),
            "{why}"
        );
        for reason in [
            "a.example.test has no address",
            "timed out",
            "c.example.test: no such domain",
        ] {
            assert!(why.contains(reason), "{why}");
        }
    }

    #[test]
    fn ipv6_addresses_are_kept_in_resolver_order() {
        let dns = FakeResolver::default()
            .mx("example.test", &[(10, "v6.example.test")])
            .host("v6.example.test", &["2001:db8::25", "192.0.2.25"]);
        let hops = route("example.test", &dns).unwrap();
        let expected: [SocketAddr; 2] = [
            "[2001:db8::25]:25".parse().unwrap(),
            "192.0.2.25:25".parse().unwrap(),
        ];
        assert_eq!(hops[0].addresses, expected);
    }

    #[test]
    fn errors_read_as_sentences() {
        for error in [
            RouteError::NullMx,
            RouteError::NoSuchDomain,
            RouteError::LoopsBackToMe,
            RouteError::Temporary("no address for any MX host of example.test: ...".into()),
        ] {
            let text = error.to_string();
            assert!(!text.is_empty() && !text.contains('\n'), "{text:?}");
        }
    }

    /// The whole path against a real DNS server: dnsmasq on 127.0.0.1.
    mod dnsmasq {
        use super::super::*;
        use crate::relay::dns::DnsClient;
        use std::path::PathBuf;
        use std::process::{Child, Command, Stdio};
        use std::thread;
        use std::time::{Duration, Instant};

        /// A running dnsmasq, killed when dropped.
        struct Dnsmasq {
            child: Child,
            server: SocketAddr,
            _dir: tempfile::TempDir,
        }

        impl Drop for Dnsmasq {
            fn drop(&mut self) {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }

        fn find_dnsmasq() -> Option<PathBuf> {
            let path = std::env::var_os("PATH").unwrap_or_default();
            std::env::split_paths(&path)
                .chain(["/usr/sbin".into(), "/sbin".into(), "/usr/local/sbin".into()])
                .map(|dir| dir.join("dnsmasq"))
                .find(|file| file.is_file())
        }

        impl Dnsmasq {
            /// Starts dnsmasq with the test zone; `None` (after a SKIP line)
            /// if it is not installed, except in CI.
            fn start() -> Option<Dnsmasq> {
                let Some(program) = find_dnsmasq() else {
                    crate::skip::skip("dnsmasq not found (apt-get install dnsmasq-base)");
                    return None;
                };
                // The free port we pick may be taken before dnsmasq binds it: retry.
                for _ in 0..5 {
                    let port = std::net::UdpSocket::bind("127.0.0.1:0")
                        .and_then(|socket| socket.local_addr())
                        .unwrap()
                        .port();
                    let dir = tempfile::tempdir().unwrap();
                    let child = Command::new(&program)
                        .args([
                            "--keep-in-foreground",
                            "--conf-file=/dev/null",
                            "--no-resolv",
                        ])
                        .args(["--no-hosts", "--no-poll", "--listen-address=127.0.0.1"])
                        .args(["--bind-interfaces", "--user=nobody", "--group=nogroup"])
                        .arg(format!("--port={port}"))
                        .arg(format!("--pid-file={}", dir.path().join("pid").display()))
                        // Unknown names under .test are NXDOMAIN.
                        .arg("--local=/test/")
                        .arg("--mx-host=example.test,mail.example.test,10")
                        .arg("--mx-host=example.test,backup.example.test,20")
                        .arg("--host-record=mail.example.test,127.0.0.1")
                        .arg("--host-record=backup.example.test,127.0.0.2")
                        .arg("--mx-host=nullmx.test,.,0")
                        .arg("--host-record=nomx.test,127.0.0.3")
                        .stdin(Stdio::null())
                        .stdout(Stdio::null())
                        .spawn()
                        .expect("dnsmasq starts");
                    let mut dnsmasq = Dnsmasq {
                        child,
                        server: SocketAddr::from(([127, 0, 0, 1], port)),
                        _dir: dir,
                    };
                    if dnsmasq.answers_within(Duration::from_secs(3)) {
                        return Some(dnsmasq);
                    }
                }
                panic!("dnsmasq did not answer");
            }

            fn answers_within(&mut self, limit: Duration) -> bool {
                let probe =
                    DnsClient::new(vec![self.server]).with_timeout(Duration::from_millis(100), 1);
                let deadline = Instant::now() + limit;
                while Instant::now() < deadline {
                    if let Ok(Some(status)) = self.child.try_wait() {
                        eprintln!("dnsmasq exited: {status}");
                        return false;
                    }
                    if probe.mx("example.test").is_ok() {
                        return true;
                    }
                    thread::sleep(Duration::from_millis(20));
                }
                false
            }

            fn client(&self) -> DnsClient {
                DnsClient::new(vec![self.server]).with_timeout(Duration::from_secs(2), 2)
            }
        }

        #[test]
        fn dns_client_asks_dnsmasq() {
            let Some(dnsmasq) = Dnsmasq::start() else {
                return;
            };
            let dns = dnsmasq.client();
            let mut records = dns.mx("example.test").unwrap();
            records.sort_by_key(|mx| mx.preference);
            let mx = |preference, exchange: &str| Mx {
                preference,
                exchange: exchange.to_owned(),
            };
            assert_eq!(
                records,
                [mx(10, "mail.example.test"), mx(20, "backup.example.test")]
            );
            // The null MX "." arrives as the empty name.
            assert_eq!(dns.mx("nullmx.test").unwrap(), [mx(0, "")]);
            assert_eq!(dns.mx("nomx.test").unwrap(), []);
            assert_eq!(dns.mx("nosuch.test"), Err(DnsError::NoSuchDomain));
            // A but no AAAA: one address.
            let ip: std::net::IpAddr = "127.0.0.1".parse().unwrap();
            assert_eq!(dns.addresses("MAIL.example.test.").unwrap(), [ip]);
            assert_eq!(dns.addresses("nosuch.test"), Err(DnsError::NoSuchDomain));
        }

        #[test]
        fn next_hops_through_dnsmasq() {
            let Some(dnsmasq) = Dnsmasq::start() else {
                return;
            };
            let dns = dnsmasq.client();
            let hops = next_hops("example.test", &dns, &[], 25).unwrap();
            let expected = [
                Hop {
                    host: "mail.example.test".to_owned(),
                    preference: 10,
                    addresses: vec!["127.0.0.1:25".parse().unwrap()],
                },
                Hop {
                    host: "backup.example.test".to_owned(),
                    preference: 20,
                    addresses: vec!["127.0.0.2:25".parse().unwrap()],
                },
            ];
            assert_eq!(hops, expected);

            assert_eq!(
                next_hops("nullmx.test", &dns, &[], 25),
                Err(RouteError::NullMx)
            );
            let implicit = next_hops("nomx.test", &dns, &[], 25).unwrap();
            assert_eq!(implicit.len(), 1);
            assert_eq!(
                (implicit[0].host.as_str(), implicit[0].preference),
                ("nomx.test", 0)
            );
            assert_eq!(implicit[0].addresses, ["127.0.0.3:25".parse().unwrap()]);
            assert_eq!(
                next_hops("nosuch.test", &dns, &[], 25),
                Err(RouteError::NoSuchDomain)
            );

            let me = ["mail.example.test".to_owned()];
            assert_eq!(
                next_hops("example.test", &dns, &me, 25),
                Err(RouteError::LoopsBackToMe)
            );
        }
    }
}
