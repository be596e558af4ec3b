//! The rules for reading a DNS answer, checked against a second reading of the same
//! bytes. For the tests of `dns.rs` and for the fuzz target `dns_reply`, which feeds it
//! whatever a spoofer or a broken server could send.
//!
//! The reading under test is `Query::read_reply` for the question `mx.test MX IN`, as
//! [`super::DnsClient`] reads every datagram. The second reading uses only `simple-dns`'s
//! parser and the RFCs, and the verdicts must agree:
//!
//! - RFC 5452 §9.1: a message is taken for the answer exactly when it parses, carries
//!   the query's id, is a response (QR=1) and asks our one question, no more: under any
//!   other id it is ignored, and a real answer is never ignored.
//! - RFC 1035 §4.1.1: "truncated" exactly when TC is set; "no such domain" exactly for
//!   RCODE 3; records only with RCODE 0; any other RCODE is a temporary failure.
//! - RFC 1034 §3.6.2, RFC 1035 §3.3.9: every MX returned is an MX record (class IN) of
//!   the answer section, owned by the queried name or by a name its CNAMEs lead to;
//!   and when the queried name has no CNAME, they are all of its MX records, in the
//!   answer's order (sorting by preference is the caller's job, RFC 5321 §5.1).

use simple_dns::rdata::RData;
use simple_dns::{Name, Packet, PacketFlag, CLASS, QCLASS, QTYPE, RCODE, TYPE};

use super::{DnsError, Mx, Query, Reply};

/// The name every reading here asks about.
pub const QUERIED: &str = "mx.test";

/// What the reading took a message for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Not the answer to our query: ignored, the client keeps waiting.
    NotOurs,
    /// TC=1: asked again over TCP.
    Truncated,
    /// RCODE 0: these MX records (none: the name has no MX).
    Records(Vec<Mx>),
    /// RCODE 3.
    NoSuchDomain,
    /// Any other RCODE: try later.
    Temporary,
}

/// An MX record as [`super::DnsClient`]'s `mx` reads it.
pub(super) fn pick_mx(rdata: &RData<'_>) -> Option<Mx> {
    match rdata {
        RData::MX(mx) => Some(Mx {
            preference: mx.preference,
            exchange: mx.exchange.to_string(),
        }),
        _ => None,
    }
}

/// Reads `message` as the answer to the MX query for [`QUERIED`] with this `id`, checks
/// the verdict against the rules above, and returns it. Panics when a rule is broken.
pub fn check_mx_reading(id: u16, message: &[u8]) -> Verdict {
    let verdict = read(id, message);
    // RFC 5452 §9.1: under an id other than the message's own, nothing is taken.
    if let [high, low, ..] = message {
        let other = u16::from_be_bytes([*high, *low]) ^ 1;
        assert_eq!(
            read(other, message),
            Verdict::NotOurs,
            "taken under id {other}"
        );
    }
    let Ok(packet) = Packet::parse(message) else {
        assert_eq!(verdict, Verdict::NotOurs, "not a DNS message, yet taken");
        return verdict;
    };
    let ours = packet.id() == id && packet.has_flags(PacketFlag::RESPONSE) && asks_ours(&packet);
    if !ours {
        assert_eq!(
            verdict,
            Verdict::NotOurs,
            "not the answer to our query, yet taken"
        );
        return verdict;
    }
    match &verdict {
        Verdict::NotOurs => panic!("the answer to our query, ignored"),
        Verdict::Truncated => assert!(packet.has_flags(PacketFlag::TRUNCATION), "TC=0"),
        _ if packet.has_flags(PacketFlag::TRUNCATION) => panic!("TC=1, yet {verdict:?}"),
        Verdict::NoSuchDomain => assert_eq!(packet.rcode(), RCODE::NameError),
        Verdict::Temporary => {
            let rcode = packet.rcode();
            assert!(
                !matches!(rcode, RCODE::NoError | RCODE::NameError),
                "{rcode:?}"
            );
        }
        Verdict::Records(records) => {
            assert_eq!(packet.rcode(), RCODE::NoError);
            check_records(&packet, records);
        }
    }
    verdict
}

/// The reading under test, its verdict without the reasons.
fn read(id: u16, message: &[u8]) -> Verdict {
    let query = Query {
        id,
        name: QUERIED.to_owned(),
        qtype: TYPE::MX,
    };
    match query.read_reply(message, pick_mx) {
        Reply::NotOurs(_) => Verdict::NotOurs,
        Reply::Truncated => Verdict::Truncated,
        Reply::Answer(Ok(records)) => Verdict::Records(records),
        Reply::Answer(Err(DnsError::NoSuchDomain)) => Verdict::NoSuchDomain,
        Reply::Answer(Err(DnsError::Temporary(_))) => Verdict::Temporary,
    }
}

/// Exactly one question, ours: the name (labels compared ignoring case, RFC 4343), MX, IN.
fn asks_ours(packet: &Packet<'_>) -> bool {
    match packet.questions.as_slice() {
        [question] => {
            question.qname == Name::new_unchecked(QUERIED)
                && question.qtype == QTYPE::TYPE(TYPE::MX)
                && question.qclass == QCLASS::CLASS(CLASS::IN)
        }
        _ => false,
    }
}

/// Every record returned is an MX record of the queried name or of a name its CNAMEs
/// lead to; with no CNAME, they are all the queried name's MX records, in order.
fn check_records(packet: &Packet<'_>, records: &[Mx]) {
    let queried = Name::new_unchecked(QUERIED);
    // Every name a CNAME chain from the queried name can reach, by any path.
    let mut reached = vec![queried.clone()];
    let mut grew = true;
    while grew {
        grew = false;
        for record in &packet.answers {
            if let RData::CNAME(target) = &record.rdata {
                if reached.contains(&record.name) && !reached.contains(&target.0) {
                    reached.push(target.0.clone());
                    grew = true;
                }
            }
        }
    }
    let mx_of = |owners: &[Name<'_>]| -> Vec<Mx> {
        packet
            .answers
            .iter()
            .filter(|r| r.class == CLASS::IN && owners.contains(&r.name))
            .filter_map(|r| pick_mx(&r.rdata))
            .collect()
    };
    let possible = mx_of(&reached);
    for record in records {
        assert!(
            possible.contains(record),
            "{record:?} is no MX record of {QUERIED}"
        );
    }
    let aliased = packet
        .answers
        .iter()
        .any(|r| r.name == queried && matches!(r.rdata, RData::CNAME(_)));
    if !aliased {
        assert_eq!(
            records,
            mx_of(&[queried]),
            "not all the MX records of {QUERIED}"
        );
    }
}
