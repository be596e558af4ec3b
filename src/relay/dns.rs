//! A small synchronous DNS client: just enough to find where mail goes (RFC 5321 §5.1).
//!
//! RFC 5321 §5.1 starts every delivery with a DNS lookup. postie asks two
//! questions — "which hosts take mail for this domain?" (MX) and "at which
//! addresses is this host?" (A and AAAA) — over blocking sockets, one
//! question per message, no async runtime.
//!
//! Implemented:
//! - RFC 1035 §4.1: the message format. We write the query bytes ourselves
//!   (`Query::to_bytes` shows them); the `simple-dns` crate parses answers.
//! - RFC 1035 §4.2.1: queries over UDP, answers of at most 512 octets.
//! - RFC 1035 §4.2.2, RFC 7766 §5: when the TC bit says the answer did not
//!   fit, the same query again over TCP, each message behind a 2-octet length.
//! - RFC 5452 §9.1: an answer counts only if its id, its QR bit and its
//!   question match the query; anything else is ignored, and we keep waiting.
//!   Each try uses a fresh socket, so a fresh source port.
//! - RFC 1034 §3.6.2: a CNAME chain inside one answer is followed.
//! - The nameservers, `timeout:` and `attempts:` of `/etc/resolv.conf`
//!   (resolv.conf(5)), read by the `resolv-conf` crate.
//!
//! Deliberately left out:
//! - No cache: every call asks the server. Run postie next to a caching
//!   resolver (as production MTAs do) or accept the extra queries.
//! - No EDNS(0) (RFC 6891), so no UDP answers over 512 octets; no DNSSEC.
//! - No `search`/`domain` expansion: names are always absolute, since a relay
//!   MUST NOT guess fully-qualified names (RFC 5321 §5.1). [`SystemResolver`]
//!   asks getaddrinfo for addresses, which may apply the search list.
//! - A CNAME whose target is not in the same answer is not chased further.
//! - An IPv6 link-local nameserver (`fe80::1%eth0`) loses its zone.
//!
//! Time is bounded: one lookup sends at most `attempts × servers` queries,
//! each waiting at most `timeout` on UDP plus, after a truncated answer,
//! `timeout` on TCP.

use std::error::Error;
use std::fmt;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use dns_lookup::LookupErrorKind;
use simple_dns::rdata::RData;
use simple_dns::{Name, Packet, PacketFlag, Question, CLASS, QCLASS, QTYPE, RCODE, TYPE};

/// One MX record (RFC 1035 §3.3.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mx {
    /// Lower is more preferred.
    pub preference: u16,
    /// The mail exchanger's host name, without the trailing dot; `""` for the
    /// null MX `"."` of RFC 7505.
    pub exchange: String,
}

// ANCHOR: dns_error
/// Why a lookup gave no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsError {
    /// NXDOMAIN: the name does not exist (permanent).
    NoSuchDomain,
    /// SERVFAIL, REFUSED, timeouts, malformed/mismatched answers, network
    /// errors (temporary: try later).
    Temporary(String),
}
// ANCHOR_END: dns_error

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsError::NoSuchDomain => f.write_str("no such domain (NXDOMAIN)"),
            DnsError::Temporary(why) => write!(f, "temporary DNS failure: {why}"),
        }
    }
}

impl Error for DnsError {}

impl From<io::Error> for DnsError {
    fn from(error: io::Error) -> DnsError {
        match error.kind() {
            // An expired socket timeout is WouldBlock on Unix, TimedOut on Windows.
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                DnsError::Temporary("timed out".to_owned())
            }
            _ => DnsError::Temporary(error.to_string()),
        }
    }
}

// ANCHOR: resolver
/// What postie needs from DNS. A trait so tests can use a fake resolver.
pub trait Resolver: Send + Sync {
    /// MX records of `domain`; `Ok(vec![])` when the name exists but has no MX (NODATA).
    fn mx(&self, domain: &str) -> Result<Vec<Mx>, DnsError>;
    /// A and AAAA addresses of `host`; `Ok(vec![])` when it exists but has none.
    fn addresses(&self, host: &str) -> Result<Vec<IpAddr>, DnsError>;
}
// ANCHOR_END: resolver

/// 64 unpredictable bits without a `rand` dependency.
///
/// The standard library has no random numbers, but it does give every
/// `HashMap` secret random hash keys, so that an attacker cannot aim keys at
/// one bucket (HashDoS). `RandomState::new()` hands out such keys (taken from
/// the OS once per thread, then varied for each new `RandomState`). Hashing
/// nothing with them gives a SipHash output that nobody outside can predict.
/// Good enough for query ids and shuffling MX hosts; not for cryptography.
pub(crate) fn random_u64() -> u64 {
    RandomState::new().build_hasher().finish()
}

/// Turns a record of the answer into a result, or skips it (`None`).
type Pick<T> = fn(&RData<'_>) -> Option<T>;

/// How many CNAMEs we follow within one answer: a loop must not hold us.
const MAX_CNAMES: usize = 8;

/// One question as we sent it: the id the answer must echo, the name, the type.
#[derive(Debug)]
struct Query {
    id: u16,
    /// Absolute, without the trailing dot.
    name: String,
    qtype: TYPE,
}

impl Query {
    /// A question with a fresh random id; `NoSuchDomain` if `name` cannot
    /// be a domain name at all.
    fn new(name: &str, qtype: TYPE) -> Result<Query, DnsError> {
        // Names are absolute here: "example.test." and "example.test" are one name.
        let name = name.strip_suffix('.').unwrap_or(name);
        // RFC 1035 §2.3.4: labels of 1 to 63 octets, at most 255 octets in all
        // (each label has a length octet, and the root label ends the name).
        // No backslash either: simple-dns would read it as an escape.
        let labels_ok = name.split('.').all(|label| (1..=63).contains(&label.len()));
        if !labels_ok || name.len() + 2 > 255 || name.contains('\\') {
            log::debug!("dns: {name:?} cannot be a domain name");
            return Err(DnsError::NoSuchDomain);
        }
        Ok(Query {
            // Only the low 16 bits are needed.
            id: random_u64() as u16,
            name: name.to_owned(),
            qtype,
        })
    }

    /// Our name as `simple-dns` sees it, for comparing with the answer's names.
    /// Its `==` compares labels ignoring ASCII case, as DNS does (RFC 4343).
    fn qname(&self) -> Name<'_> {
        Name::new_unchecked(&self.name)
    }

    // ANCHOR: query
    /// The query message. For `example.test MX` it is these 30 bytes:
    ///
    /// ```text
    ///                                  1  1  1  1  1  1
    ///    0  1  2  3  4  5  6  7  8  9  0  1  2  3  4  5
    ///  +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
    ///  |                      ID                       |  random; the answer echoes it
    ///  +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
    ///  |QR|   Opcode  |AA|TC|RD|RA|   Z    |   RCODE   |  01 00: a query, RD=1
    ///  +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
    ///  |                    QDCOUNT                    |  00 01: one question
    ///  |                    ANCOUNT                    |  00 00
    ///  |                    NSCOUNT                    |  00 00
    ///  |                    ARCOUNT                    |  00 00
    ///  +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
    ///  07 e x a m p l e 04 t e s t 00                     QNAME: length-prefixed labels
    ///  00 0f                                              QTYPE: MX (15)
    ///  00 01                                              QCLASS: IN (1)
    /// ```
    fn to_bytes(&self) -> Vec<u8> {
        let mut message = Vec::with_capacity(12 + self.name.len() + 6);
        // The header (RFC 1035 §4.1.1): six big-endian 16-bit fields.
        message.extend_from_slice(&self.id.to_be_bytes());
        // QR=0: a query; opcode 0: standard query; RD=1: "recursion desired",
        // the resolver is to find the answer for us.
        message.extend_from_slice(&0x0100_u16.to_be_bytes());
        // QDCOUNT 1; ANCOUNT, NSCOUNT, ARCOUNT 0.
        message.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);

        // The question (RFC 1035 §4.1.2); the empty root label ends the name.
        for label in self.name.split('.') {
            message.push(label.len() as u8);
            message.extend_from_slice(label.as_bytes());
        }
        message.push(0);
        message.extend_from_slice(&u16::from(self.qtype).to_be_bytes());
        message.extend_from_slice(&1_u16.to_be_bytes()); // QCLASS: IN
        message
    }
    // ANCHOR_END: query

    // ANCHOR: read_reply
    /// Reads one received message as a possible answer to this query.
    fn read_reply<T>(&self, message: &[u8], pick: Pick<T>) -> Reply<T> {
        let packet = match Packet::parse(message) {
            Ok(packet) => packet,
            Err(error) => return Reply::NotOurs(format!("not a DNS message ({error})")),
        };
        // RFC 5452 §9.1: accept an answer only if it matches the query: same
        // id, a response, and the same question. Anyone can send a datagram.
        if packet.id() != self.id {
            return Reply::NotOurs(format!("id {} instead of {}", packet.id(), self.id));
        }
        if !packet.has_flags(PacketFlag::RESPONSE) {
            return Reply::NotOurs("a query, not a response (QR=0)".to_owned());
        }
        if !self.is_asked_in(&packet.questions) {
            return Reply::NotOurs("the answer to another question".to_owned());
        }
        if packet.has_flags(PacketFlag::TRUNCATION) {
            return Reply::Truncated;
        }
        Reply::Answer(match packet.rcode() {
            RCODE::NoError => Ok(self.records(&packet, pick)),
            // RFC 1035 §4.1.1: RCODE 3, "the domain name referenced in the
            // query does not exist".
            RCODE::NameError => Err(DnsError::NoSuchDomain),
            // SERVFAIL, REFUSED and the rest: this server cannot answer now.
            rcode => Err(DnsError::Temporary(format!(
                "the server answered {rcode:?}"
            ))),
        })
    }
    // ANCHOR_END: read_reply

    fn is_asked_in(&self, questions: &[Question<'_>]) -> bool {
        match questions {
            [question] => {
                question.qname == self.qname()
                    && question.qtype == QTYPE::TYPE(self.qtype)
                    && question.qclass == QCLASS::CLASS(CLASS::IN)
            }
            _ => false,
        }
    }

    /// The records of our type for our name. If the name is an alias, the
    /// resolver puts the CNAME chain and the records of the canonical name in
    /// the same answer (RFC 1034 §3.6.2): follow it.
    fn records<T>(&self, packet: &Packet<'_>, pick: Pick<T>) -> Vec<T> {
        let mut owner = self.qname();
        for _ in 0..MAX_CNAMES {
            let target = packet
                .answers
                .iter()
                .find_map(|record| match &record.rdata {
                    RData::CNAME(cname) if record.name == owner => Some(cname.0.clone()),
                    _ => None,
                });
            match target {
                Some(target) => owner = target,
                None => break,
            }
        }
        packet
            .answers
            .iter()
            .filter(|record| record.name == owner && record.class == CLASS::IN)
            .filter_map(|record| pick(&record.rdata))
            .collect()
    }
}

/// What one received message is, compared with the query we sent.
#[derive(Debug)]
enum Reply<T> {
    /// Not the answer to our query: another id, not a response, another
    /// question, or not a DNS message at all. Ignore it.
    NotOurs(String),
    /// TC=1: the answer did not fit in 512 octets; ask again over TCP.
    Truncated,
    /// The server's answer: records, NXDOMAIN or a failure.
    Answer(Result<Vec<T>, DnsError>),
}

/// The rules a reading of an answer must keep, checked against a second reading: for
/// the tests below and the fuzz target `dns_reply` (feature `fuzzing`).
#[cfg(any(test, feature = "fuzzing"))]
pub mod oracle;

/// Queries nameservers over UDP, retrying over TCP when the answer is
/// truncated (TC bit, RFC 1035 §4.2.1/§4.2.2, RFC 7766).
#[derive(Debug, Clone)]
pub struct DnsClient {
    servers: Vec<SocketAddr>,
    timeout: Duration,
    attempts: u32,
}

impl DnsClient {
    /// A client for these nameservers, with the system resolver's defaults:
    /// 5 s per try, 2 tries of each server (resolv.conf(5)).
    pub fn new(servers: Vec<SocketAddr>) -> DnsClient {
        DnsClient {
            servers,
            timeout: Duration::from_secs(5),
            attempts: 2,
        }
    }

    /// Sets how long one try waits for an answer, and how many rounds over
    /// all servers a lookup makes (at least one).
    pub fn with_timeout(self, timeout: Duration, attempts: u32) -> DnsClient {
        DnsClient {
            timeout,
            attempts: attempts.max(1),
            ..self
        }
    }

    /// The nameservers of `/etc/resolv.conf` (port 53); an error if there are none.
    pub fn from_system() -> io::Result<DnsClient> {
        DnsClient::from_resolv_conf(&std::fs::read("/etc/resolv.conf")?)
    }

    /// The nameservers (port 53), `timeout:` and `attempts:` of a resolv.conf text.
    pub fn from_resolv_conf(text: &[u8]) -> io::Result<DnsClient> {
        // Like the C library, skip the lines we do not understand.
        let (config, errors) = resolv_conf::Config::parse_with_errors(text);
        for error in errors {
            log::warn!("resolv.conf: {error}");
        }
        let servers: Vec<SocketAddr> = config
            .nameservers
            .iter()
            .map(|ip| SocketAddr::new(IpAddr::from(ip), 53))
            .collect();
        if servers.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "no nameserver in resolv.conf",
            ));
        }
        // resolv.conf(5) caps timeout at 30 s and attempts at 5.
        let timeout = Duration::from_secs(config.timeout.clamp(1, 30).into());
        Ok(DnsClient::new(servers).with_timeout(timeout, config.attempts.clamp(1, 5)))
    }

    /// Asks each server in turn, `attempts` rounds, until one answers.
    fn lookup<T>(&self, name: &str, qtype: TYPE, pick: Pick<T>) -> Result<Vec<T>, DnsError> {
        let query = Query::new(name, qtype)?;
        let mut failure = DnsError::Temporary("no nameserver configured".to_owned());
        for _ in 0..self.attempts {
            for &server in &self.servers {
                match self.ask(server, &query, pick) {
                    // SERVFAIL, timeout...: another server may do better.
                    Err(DnsError::Temporary(why)) => {
                        log::debug!("dns: {server}: {name} {qtype:?}: {why}");
                        failure = DnsError::Temporary(format!("{server}: {why}"));
                    }
                    // Records, NODATA or NXDOMAIN: an answer, final.
                    answer => return answer,
                }
            }
        }
        Err(failure)
    }

    // ANCHOR: ask
    /// One try over UDP, and over TCP if the answer comes back truncated.
    fn ask<T>(&self, server: SocketAddr, query: &Query, pick: Pick<T>) -> Result<Vec<T>, DnsError> {
        let deadline = Instant::now() + self.timeout;
        let socket = UdpSocket::bind(unspecified_like(server))?;
        // A connected UDP socket only receives datagrams from the server.
        socket.connect(server)?;
        socket.send(&query.to_bytes())?;
        // RFC 1035 §4.2.1: "Messages carried by UDP are restricted to 512 bytes".
        let mut buffer = [0; 512];
        loop {
            socket.set_read_timeout(Some(time_left(deadline)?))?;
            let len = match socket.recv(&mut buffer) {
                Ok(len) => len,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error.into()),
            };
            match query.read_reply(&buffer[..len], pick) {
                // A stale or spoofed datagram: keep waiting for the real answer.
                Reply::NotOurs(why) => log::debug!("dns: {server}: ignored a datagram: {why}"),
                // RFC 7766 §5: a truncated UDP answer is asked again over TCP.
                Reply::Truncated => return self.ask_tcp(server, query, pick),
                Reply::Answer(answer) => return answer,
            }
        }
    }
    // ANCHOR_END: ask

    /// The same query over TCP, after a truncated answer over UDP.
    fn ask_tcp<T>(
        &self,
        server: SocketAddr,
        query: &Query,
        pick: Pick<T>,
    ) -> Result<Vec<T>, DnsError> {
        let deadline = Instant::now() + self.timeout;
        let mut stream = TcpStream::connect_timeout(&server, self.timeout)?;
        stream.set_write_timeout(Some(time_left(deadline)?))?;
        // RFC 1035 §4.2.2: over TCP a message is prefixed with its length in
        // two octets; RFC 7766 §8: send both in one write.
        let bytes = query.to_bytes();
        let mut framed = (bytes.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&bytes);
        stream.write_all(&framed)?;
        let mut length = [0; 2];
        read_by(&mut stream, &mut length, deadline)?;
        let mut message = vec![0; usize::from(u16::from_be_bytes(length))];
        read_by(&mut stream, &mut message, deadline)?;
        match query.read_reply(&message, pick) {
            Reply::Answer(answer) => answer,
            Reply::Truncated => Err(DnsError::Temporary("truncated even over TCP".to_owned())),
            // Nobody else can write on our connection: the server is broken.
            Reply::NotOurs(why) => Err(DnsError::Temporary(format!("bad answer over TCP: {why}"))),
        }
    }
}

/// `0.0.0.0:0` or `[::]:0`, matching the server's family: the system picks
/// our address and a random port.
fn unspecified_like(server: SocketAddr) -> SocketAddr {
    match server {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    }
}

/// The time until `deadline`; a `TimedOut` error once it has passed.
fn time_left(deadline: Instant) -> io::Result<Duration> {
    match deadline.checked_duration_since(Instant::now()) {
        Some(left) if !left.is_zero() => Ok(left),
        _ => Err(io::ErrorKind::TimedOut.into()),
    }
}

/// Fills `buffer` before `deadline`. Unlike `read_exact` with a socket
/// timeout, a server sending one byte at a time cannot hold us longer.
fn read_by(stream: &mut TcpStream, buffer: &mut [u8], deadline: Instant) -> io::Result<()> {
    let mut filled = 0;
    while filled < buffer.len() {
        stream.set_read_timeout(Some(time_left(deadline)?))?;
        match stream.read(&mut buffer[filled..]) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(len) => filled += len,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

impl Resolver for DnsClient {
    // ANCHOR: mx
    fn mx(&self, domain: &str) -> Result<Vec<Mx>, DnsError> {
        self.lookup(domain, TYPE::MX, |rdata| match rdata {
            RData::MX(mx) => Some(Mx {
                preference: mx.preference,
                // The null MX "." is the root name: no labels, so "".
                exchange: mx.exchange.to_string(),
            }),
            _ => None,
        })
    }
    // ANCHOR_END: mx

    fn addresses(&self, host: &str) -> Result<Vec<IpAddr>, DnsError> {
        let v4 = self.lookup(host, TYPE::A, |rdata| match rdata {
            RData::A(a) => Some(IpAddr::V4(Ipv4Addr::from(a.address))),
            _ => None,
        });
        // A name that does not exist has no AAAA records either.
        if v4 == Err(DnsError::NoSuchDomain) {
            return v4;
        }
        let v6 = self.lookup(host, TYPE::AAAA, |rdata| match rdata {
            RData::AAAA(aaaa) => Some(IpAddr::V6(Ipv6Addr::from(aaaa.address))),
            _ => None,
        });
        match (v4, v6) {
            (Ok(mut v4), Ok(v6)) => {
                v4.extend(v6);
                Ok(v4)
            }
            // One family is enough to try: use it, and say why the other is missing.
            (Ok(found), Err(error)) | (Err(error), Ok(found)) if !found.is_empty() => {
                log::warn!("dns: {host}: {error}; using {found:?}");
                Ok(found)
            }
            (Err(error), _) | (_, Err(error)) => Err(error),
        }
    }
}

/// MX through [`DnsClient`] (the nameservers of resolv.conf), addresses
/// through the system's getaddrinfo (so `/etc/hosts` counts too), as every
/// other program on the machine does: used when no `--dns-server` is given.
#[derive(Debug, Clone)]
pub struct SystemResolver {
    dns: DnsClient,
}

impl SystemResolver {
    /// Reads the nameservers from `/etc/resolv.conf`.
    pub fn new() -> io::Result<SystemResolver> {
        Ok(SystemResolver {
            dns: DnsClient::from_system()?,
        })
    }
}

impl Resolver for SystemResolver {
    fn mx(&self, domain: &str) -> Result<Vec<Mx>, DnsError> {
        self.dns.mx(domain)
    }

    fn addresses(&self, host: &str) -> Result<Vec<IpAddr>, DnsError> {
        match dns_lookup::lookup_host(host) {
            Ok(addresses) => Ok(addresses.collect()),
            // getaddrinfo folds DNS answers into a few codes, and not the same
            // way on every system: EAI_NONAME is "no such name" (sometimes
            // also "no addresses"), EAI_NODATA "no addresses"; the rest,
            // EAI_AGAIN first, means "try later".
            Err(error) => match error.kind() {
                LookupErrorKind::NoName => Err(DnsError::NoSuchDomain),
                LookupErrorKind::NoData => Ok(Vec::new()),
                _ => Err(DnsError::Temporary(format!("getaddrinfo: {error}"))),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::oracle::{check_mx_reading, pick_mx, Verdict, QUERIED};
    use super::*;
    use simple_dns::rdata::{A, AAAA, CNAME, MX};
    use simple_dns::ResourceRecord;
    use std::net::TcpListener;
    use std::thread::{self, JoinHandle};

    fn mx_query(name: &str) -> Query {
        Query {
            id: 0x1234,
            name: name.to_owned(),
            qtype: TYPE::MX,
        }
    }

    fn pick_a(rdata: &RData<'_>) -> Option<IpAddr> {
        match rdata {
            RData::A(a) => Some(IpAddr::V4(Ipv4Addr::from(a.address))),
            _ => None,
        }
    }

    fn mx(preference: u16, exchange: &str) -> Mx {
        Mx {
            preference,
            exchange: exchange.to_owned(),
        }
    }

    fn record<'a>(owner: &'a str, rdata: RData<'a>) -> ResourceRecord<'a> {
        ResourceRecord::new(Name::new_unchecked(owner), CLASS::IN, 300, rdata)
    }

    fn mx_record<'a>(owner: &'a str, preference: u16, exchange: &'a str) -> ResourceRecord<'a> {
        let exchange = Name::new_unchecked(exchange);
        record(
            owner,
            RData::MX(MX {
                preference,
                exchange,
            }),
        )
    }

    /// The answer a server would send to `query`: same id and question, and
    /// `edit` adds records, flags or an RCODE.
    fn reply_to(query: &[u8], edit: impl FnOnce(&mut Packet<'_>)) -> Vec<u8> {
        let query = Packet::parse(query).expect("the client sent a DNS message");
        let mut reply = Packet::new_reply(query.id());
        reply.set_flags(PacketFlag::RECURSION_DESIRED | PacketFlag::RECURSION_AVAILABLE);
        reply.questions = query.questions.clone();
        edit(&mut reply);
        reply
            .build_bytes_vec_compressed()
            .expect("a test reply encodes")
    }

    fn mail_and_backup(reply: &mut Packet<'_>) {
        reply.answers.extend([
            mx_record("example.test", 10, "mail.example.test"),
            mx_record("example.test", 20, "backup.example.test"),
        ]);
    }

    #[test]
    fn a_query_is_a_header_and_one_question() {
        let bytes = mx_query("example.test").to_bytes();
        assert_eq!(
            bytes[..12],
            [
                0x12, 0x34, // ID
                0x01, 0x00, // flags: QR=0, opcode 0, RD=1
                0x00, 0x01, // QDCOUNT
                0x00, 0x00, // ANCOUNT
                0x00, 0x00, // NSCOUNT
                0x00, 0x00, // ARCOUNT
            ]
        );
        assert_eq!(&bytes[12..], b"\x07example\x04test\x00\x00\x0f\x00\x01");
        assert_eq!(bytes.len(), 30);

        // The crate that parses our answers reads our query the same way.
        let packet = Packet::parse(&bytes).unwrap();
        assert_eq!(packet.id(), 0x1234);
        assert!(packet.has_flags(PacketFlag::RECURSION_DESIRED));
        assert!(!packet.has_flags(PacketFlag::RESPONSE));
        assert_eq!(packet.questions.len(), 1);
        assert_eq!(packet.questions[0].qname.to_string(), "example.test");
        assert_eq!(packet.questions[0].qtype, QTYPE::TYPE(TYPE::MX));
        assert_eq!(packet.questions[0].qclass, QCLASS::CLASS(CLASS::IN));
    }

    #[test]
    fn query_ids_are_random_and_names_absolute() {
        let ids: std::collections::HashSet<u16> = (0..20)
            .map(|_| Query::new("example.test", TYPE::MX).unwrap().id)
            .collect();
        assert!(ids.len() > 10, "ids: {ids:?}");
        assert_eq!(
            Query::new("example.test.", TYPE::A).unwrap().name,
            "example.test"
        );
    }

    #[test]
    fn impossible_names_do_not_exist() {
        let long_label = "a".repeat(64);
        let long_name = vec!["abcdefghi"; 26].join("."); // 259 octets
        for name in ["", ".", "a..b", ".a", &long_label, &long_name, r"a\.b"] {
            assert_eq!(
                Query::new(name, TYPE::MX).unwrap_err(),
                DnsError::NoSuchDomain,
                "{name:?}"
            );
        }
        assert!(Query::new(&"a".repeat(63), TYPE::MX).is_ok());
    }

    #[test]
    fn parses_a_hand_made_answer() {
        // ANCHOR: mx_answer
        #[rustfmt::skip]
        let answer: &[u8] = &[
            0x12, 0x34, 0x81, 0x80, // id; QR=1 RD=1 RA=1, RCODE 0
            0, 1, 0, 2, 0, 0, 0, 0, // 1 question, 2 answers
            7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 4, b't', b'e', b's', b't', 0,
            0, 15, 0, 1, // MX IN
            // answer 1: the name is a pointer to offset 12 (the question's name)
            0xc0, 12, 0, 15, 0, 1, 0, 0, 0x0e, 0x10, // MX IN, TTL 3600
            0, 9, 0, 10, 4, b'm', b'a', b'i', b'l', 0xc0, 12, // 10 mail.example.test
            // answer 2: the null MX, preference 0 and the root name
            0xc0, 12, 0, 15, 0, 1, 0, 0, 0x0e, 0x10,
            0, 3, 0, 0, 0,
        ];
        // ANCHOR_END: mx_answer
        match mx_query("example.test").read_reply(answer, pick_mx) {
            Reply::Answer(Ok(records)) => {
                assert_eq!(records, [mx(10, "mail.example.test"), mx(0, "")]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ignores_messages_that_do_not_answer_our_question() {
        let query = mx_query("example.test");
        let right = reply_to(&query.to_bytes(), mail_and_backup);

        let mut wrong_id = right.clone();
        wrong_id[1] ^= 1;
        let echoed_query = query.to_bytes(); // same id and question, QR=0
        let other_name = reply_to(&mx_query("example.org").to_bytes(), mail_and_backup);
        let other_type = reply_to(
            &Query {
                qtype: TYPE::A,
                ..mx_query("example.test")
            }
            .to_bytes(),
            mail_and_backup,
        );
        let garbage = b"\x12\x34 certainly not DNS".to_vec();
        for (what, message) in [
            ("wrong id", wrong_id),
            ("QR=0", echoed_query),
            ("other name", other_name),
            ("other type", other_type),
            ("garbage", garbage),
            ("empty", Vec::new()),
        ] {
            let reply = query.read_reply(&message, pick_mx);
            assert!(matches!(reply, Reply::NotOurs(_)), "{what}: {reply:?}");
        }
        // Names compare ignoring case (RFC 4343).
        let shouted = reply_to(&mx_query("EXAMPLE.Test").to_bytes(), mail_and_backup);
        assert!(matches!(
            query.read_reply(&shouted, pick_mx),
            Reply::Answer(Ok(_))
        ));
    }

    #[test]
    fn rcodes_and_truncation() {
        let query = mx_query("example.test");
        let with = |edit: fn(&mut Packet<'_>)| {
            query.read_reply(&reply_to(&query.to_bytes(), edit), pick_mx)
        };

        let nxdomain = with(|reply| *reply.rcode_mut() = RCODE::NameError);
        assert!(matches!(
            nxdomain,
            Reply::Answer(Err(DnsError::NoSuchDomain))
        ));
        for rcode in [RCODE::ServerFailure, RCODE::Refused, RCODE::FormatError] {
            let reply = query.read_reply(
                &reply_to(&query.to_bytes(), |reply| *reply.rcode_mut() = rcode),
                pick_mx,
            );
            assert!(
                matches!(reply, Reply::Answer(Err(DnsError::Temporary(_)))),
                "{reply:?}"
            );
        }
        let nodata = with(|_| {});
        assert!(matches!(nodata, Reply::Answer(Ok(ref records)) if records.is_empty()));
        let truncated = with(|reply| reply.set_flags(PacketFlag::TRUNCATION));
        assert!(matches!(truncated, Reply::Truncated));
    }

    #[test]
    fn only_records_of_our_name_and_type_count_following_cnames() {
        let query = Query {
            id: 7,
            name: "www.example.test".to_owned(),
            qtype: TYPE::A,
        };
        let a = |ip: [u8; 4]| RData::A(A::from(Ipv4Addr::from(ip)));
        let cname = |target| RData::CNAME(CNAME(Name::new_unchecked(target)));
        let answer = reply_to(&query.to_bytes(), |reply| {
            reply.answers.extend([
                record("www.example.test", cname("web.example.test")),
                record("web.example.test", cname("host.example.test")),
                record("host.example.test", a([192, 0, 2, 1])),
                record("other.example.test", a([192, 0, 2, 99])),
                mx_record("host.example.test", 10, "mail.example.test"),
            ]);
        });
        match query.read_reply(&answer, pick_a) {
            Reply::Answer(Ok(ips)) => assert_eq!(ips, [IpAddr::from([192, 0, 2, 1])]),
            other => panic!("{other:?}"),
        }

        // A CNAME loop ends, with no records.
        let looping = reply_to(&query.to_bytes(), |reply| {
            reply.answers.extend([
                record("www.example.test", cname("loop.example.test")),
                record("loop.example.test", cname("www.example.test")),
            ]);
        });
        assert!(
            matches!(query.read_reply(&looping, pick_a), Reply::Answer(Ok(ref ips)) if ips.is_empty())
        );
    }

    /// An answer for [`QUERIED`] with two MX records, and one of another name that must
    /// not be taken for ours.
    fn answer_for_the_oracle(id: u16) -> Vec<u8> {
        let query = Query {
            id,
            name: QUERIED.to_owned(),
            qtype: TYPE::MX,
        };
        reply_to(&query.to_bytes(), |reply| {
            reply.answers.extend([
                mx_record(QUERIED, 20, "backup.mx.test"),
                mx_record("other.test", 5, "elsewhere.test"),
                mx_record(QUERIED, 10, "mail.mx.test"),
            ]);
        })
    }

    /// A broken answer (cut short, or any bit of it flipped) is read by the rules of
    /// `oracle`: never taken under the wrong id, never from a query or for another
    /// question, and its records only ever records of the queried name.
    #[test]
    fn a_broken_answer_is_read_by_the_rules() {
        let id = 0x1234;
        let answer = answer_for_the_oracle(id);
        // Whole, in the answer's order: sorting is the MX logic's job (RFC 5321 §5.1).
        assert_eq!(
            check_mx_reading(id, &answer),
            Verdict::Records(vec![mx(20, "backup.mx.test"), mx(10, "mail.mx.test")])
        );
        // Part of an answer is never an answer.
        for len in 0..answer.len() {
            assert_eq!(
                check_mx_reading(id, &answer[..len]),
                Verdict::NotOurs,
                "{len} octets"
            );
        }
        let mut verdicts = std::collections::HashSet::new();
        for i in 0..answer.len() {
            for bits in [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff] {
                let mut broken = answer.clone();
                broken[i] ^= bits;
                let verdict = check_mx_reading(id, &broken);
                // RFC 5452 §9.1: another id (octets 0-1), or QR=0 (the top bit of octet 2).
                if i < 2 || (i == 2 && bits & 0x80 != 0) {
                    assert_eq!(verdict, Verdict::NotOurs, "octet {i} ^ {bits:#04x}");
                }
                verdicts.insert(format!("{verdict:?}").chars().take(8).collect::<String>());
            }
        }
        // The flips reached every kind of verdict but NXDOMAIN (RCODE 3 is two bits away).
        for kind in ["NotOurs", "Truncate", "Records(", "Temporar"] {
            assert!(verdicts.contains(kind), "no {kind} among {verdicts:?}");
        }
    }

    proptest::proptest! {
        /// Our query, written and parsed back, is the same question; the answer a server
        /// builds from its bytes is read whole, and with another id not at all.
        #[test]
        fn a_query_and_its_answer_round_trip(
            labels in proptest::collection::vec("[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", 1..6),
            id: u16,
            exchanges in proptest::collection::vec((proptest::num::u16::ANY, "[a-z]{1,10}"), 0..5),
        ) {
            let name = labels.join(".");
            let query = Query { id, ..Query::new(&name, TYPE::MX).unwrap() };
            let bytes = query.to_bytes();
            let packet = Packet::parse(&bytes).unwrap();
            proptest::prop_assert_eq!(packet.id(), id);
            proptest::prop_assert!(!packet.has_flags(PacketFlag::RESPONSE));
            proptest::prop_assert!(query.is_asked_in(&packet.questions));
            proptest::prop_assert_eq!(packet.questions[0].qname.to_string(), name.clone());

            let hosts: Vec<String> = exchanges.iter().map(|(_, h)| format!("{h}.example")).collect();
            let mut reply = Packet::new_reply(id);
            reply.questions = packet.questions.clone();
            for ((preference, _), host) in exchanges.iter().zip(&hosts) {
                reply.answers.push(mx_record(&name, *preference, host));
            }
            let answer = reply.build_bytes_vec_compressed().unwrap();
            let expected: Vec<Mx> = exchanges
                .iter()
                .zip(&hosts)
                .map(|((preference, _), host)| mx(*preference, host))
                .collect();
            match query.read_reply(&answer, pick_mx) {
                Reply::Answer(Ok(records)) => proptest::prop_assert_eq!(records, expected),
                other => proptest::prop_assert!(false, "{:?}", other),
            }
            let other = Query { id: id ^ 1, ..Query::new(&name, TYPE::MX).unwrap() };
            let ignored = other.read_reply(&answer, pick_mx);
            proptest::prop_assert!(matches!(ignored, Reply::NotOurs(_)), "{:?}", ignored);
        }
    }

    #[test]
    fn reads_resolv_conf() {
        let text = b"# comment\nsearch example.test\nnameserver 192.0.2.53\n\
                     nameserver 2001:db8::53\noptions timeout:1 attempts:3 rotate\n\
                     something-unknown here\n";
        let client = DnsClient::from_resolv_conf(text).unwrap();
        assert_eq!(
            client.servers,
            [
                "192.0.2.53:53".parse::<SocketAddr>().unwrap(),
                "[2001:db8::53]:53".parse().unwrap()
            ]
        );
        assert_eq!(client.timeout, Duration::from_secs(1));
        assert_eq!(client.attempts, 3);

        let defaults = DnsClient::from_resolv_conf(b"nameserver 192.0.2.53\n").unwrap();
        assert_eq!(
            (defaults.timeout, defaults.attempts),
            (Duration::from_secs(5), 2)
        );

        let error = DnsClient::from_resolv_conf(b"search example.test\n").unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn system_resolver_reads_addresses_like_other_programs() {
        // No nameserver needed: getaddrinfo finds localhost in /etc/hosts.
        let system = SystemResolver {
            dns: DnsClient::new(Vec::new()),
        };
        let ips = system.addresses("localhost").unwrap();
        assert!(
            !ips.is_empty() && ips.iter().all(IpAddr::is_loopback),
            "{ips:?}"
        );
        let error = system.mx("example.test").unwrap_err();
        assert_eq!(
            error,
            DnsError::Temporary("no nameserver configured".to_owned())
        );
    }

    // ---- Sockets: fake nameservers on 127.0.0.1, each thread bounded by timeouts.

    /// A fake nameserver that answers `queries` UDP queries, each with the
    /// datagrams `respond` makes of it, in order.
    fn fake_udp_server(
        queries: usize,
        mut respond: impl FnMut(&[u8]) -> Vec<Vec<u8>> + Send + 'static,
    ) -> SocketAddr {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let address = socket.local_addr().unwrap();
        thread::spawn(move || {
            let mut buffer = [0; 512];
            for _ in 0..queries {
                let Ok((len, client)) = socket.recv_from(&mut buffer) else {
                    return;
                };
                for datagram in respond(&buffer[..len]) {
                    socket.send_to(&datagram, client).unwrap();
                }
            }
        });
        address
    }

    fn client(server: SocketAddr, timeout_ms: u64) -> DnsClient {
        DnsClient::new(vec![server]).with_timeout(Duration::from_millis(timeout_ms), 1)
    }

    fn client_for(server: SocketAddr) -> DnsClient {
        client(server, 2000)
    }

    #[test]
    fn waits_past_spoofed_and_stale_datagrams() {
        let server = fake_udp_server(1, |query| {
            let right = reply_to(query, mail_and_backup);
            let mut wrong_id = right.clone();
            wrong_id[0] ^= 0x80;
            let mut not_a_response = right.clone();
            not_a_response[2] &= 0x7f; // QR=0
            let other_question = reply_to(&mx_query("example.org").to_bytes(), |reply| {
                reply.set_id(u16::from_be_bytes([query[0], query[1]]));
                mail_and_backup(reply);
            });
            vec![
                wrong_id,
                not_a_response,
                other_question,
                b"junk".to_vec(),
                right,
            ]
        });
        let records = client(server, 2000).mx("example.test").unwrap();
        assert_eq!(
            records,
            [mx(10, "mail.example.test"), mx(20, "backup.example.test")]
        );
    }

    #[test]
    fn only_wrong_answers_means_timeout() {
        let server = fake_udp_server(1, |query| {
            let mut wrong_id = reply_to(query, mail_and_backup);
            wrong_id[1] ^= 1;
            vec![wrong_id]
        });
        let started = Instant::now();
        let error = client(server, 300).mx("example.test").unwrap_err();
        assert!(
            matches!(&error, DnsError::Temporary(why) if why.contains("timed out")),
            "{error}"
        );
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(300) && waited < Duration::from_secs(3),
            "{waited:?}"
        );
    }

    #[test]
    fn tries_the_next_server_after_servfail() {
        let broken = fake_udp_server(1, |query| {
            vec![reply_to(query, |r| *r.rcode_mut() = RCODE::ServerFailure)]
        });
        let working = fake_udp_server(1, |query| vec![reply_to(query, mail_and_backup)]);
        let client = DnsClient::new(vec![broken, working]).with_timeout(Duration::from_secs(2), 1);
        assert_eq!(client.mx("example.test").unwrap().len(), 2);

        let broken = fake_udp_server(1, |query| {
            vec![reply_to(query, |r| *r.rcode_mut() = RCODE::Refused)]
        });
        let error = client_for(broken).mx("example.test").unwrap_err();
        assert!(
            matches!(&error, DnsError::Temporary(why) if why.contains("Refused")),
            "{error}"
        );
    }

    #[test]
    fn addresses_asks_for_a_then_aaaa() {
        let server = fake_udp_server(2, |query| {
            let qtype = Packet::parse(query).unwrap().questions[0].qtype;
            vec![reply_to(query, |reply| {
                let rdata = if qtype == QTYPE::TYPE(TYPE::A) {
                    RData::A(A::from(Ipv4Addr::new(192, 0, 2, 1)))
                } else {
                    RData::AAAA(AAAA::from(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)))
                };
                reply.answers.push(record("dual.test", rdata));
            })]
        });
        let ips = client_for(server).addresses("dual.test").unwrap();
        let expected: [IpAddr; 2] = ["192.0.2.1".parse().unwrap(), "2001:db8::1".parse().unwrap()];
        assert_eq!(ips, expected);
    }

    #[test]
    fn addresses_of_a_missing_host() {
        let server = fake_udp_server(1, |query| {
            vec![reply_to(query, |r| *r.rcode_mut() = RCODE::NameError)]
        });
        // NXDOMAIN for A: no AAAA query follows (the server answers only one).
        assert_eq!(
            client_for(server).addresses("nosuch.test"),
            Err(DnsError::NoSuchDomain)
        );
    }

    /// Waits at most `limit` for one TCP client.
    fn accept_within(listener: &TcpListener, limit: Duration) -> Option<TcpStream> {
        listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            match listener.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(false).unwrap();
                    return Some(stream);
                }
                Err(_) => thread::sleep(Duration::from_millis(10)),
            }
        }
        None
    }

    /// A UDP socket and a TCP listener on one 127.0.0.1 port.
    fn udp_and_tcp_on_one_port() -> (UdpSocket, TcpListener) {
        for _ in 0..20 {
            let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
            if let Ok(tcp) = TcpListener::bind(udp.local_addr().unwrap()) {
                return (udp, tcp);
            }
        }
        panic!("no port free for both UDP and TCP");
    }

    #[test]
    fn truncated_answer_is_asked_again_over_tcp() {
        let (udp, tcp) = udp_and_tcp_on_one_port();
        let server = udp.local_addr().unwrap();
        let udp_side: JoinHandle<()> = thread::spawn(move || {
            udp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut buffer = [0; 512];
            let (len, client) = udp.recv_from(&mut buffer).unwrap();
            // "The answer did not fit": TC=1 and no records.
            let truncated = reply_to(&buffer[..len], |r| r.set_flags(PacketFlag::TRUNCATION));
            udp.send_to(&truncated, client).unwrap();
        });
        let tcp_side: JoinHandle<Vec<u8>> = thread::spawn(move || {
            let mut stream = accept_within(&tcp, Duration::from_secs(5)).expect("a TCP retry");
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut length = [0; 2];
            stream.read_exact(&mut length).unwrap();
            let mut query = vec![0; usize::from(u16::from_be_bytes(length))];
            stream.read_exact(&mut query).unwrap();
            let answer = reply_to(&query, mail_and_backup);
            stream
                .write_all(&(answer.len() as u16).to_be_bytes())
                .unwrap();
            // Two writes: the client must put the message back together.
            stream.write_all(&answer[..5]).unwrap();
            stream.flush().unwrap();
            thread::sleep(Duration::from_millis(20));
            stream.write_all(&answer[5..]).unwrap();
            query
        });
        let records = client_for(server).mx("example.test").unwrap();
        udp_side.join().unwrap();
        let tcp_query = tcp_side.join().unwrap();
        assert_eq!(
            records,
            [mx(10, "mail.example.test"), mx(20, "backup.example.test")]
        );
        assert_eq!(&tcp_query[12..], b"\x07example\x04test\x00\x00\x0f\x00\x01");
    }
}
