//! The DNS answer check (src/relay/dns.rs) on any datagram: parsed by simple-dns, then
//! matched against our question (RFC 5452 §9.1) and read for MX records, following
//! CNAMEs. It must never panic, whatever a spoofer or a broken server sends — and its
//! verdict must agree with what the datagram says, read here independently:
//! - what simple-dns cannot parse, or what is not a response, is never taken for an
//!   answer (RFC 5452 §9.1);
//! - "truncated" only when the TC bit is set (RFC 1035 §4.1.1);
//! - "no such domain" only for RCODE 3, and records only for RCODE 0 without TC.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postie::relay::dns::fuzz_read_mx_answer;
use simple_dns::{Packet, PacketFlag, RCODE};

fuzz_target!(|message: &[u8]| {
    let verdict = fuzz_read_mx_answer(message);
    let taken = verdict.starts_with("Answer(Ok(");
    let Ok(packet) = Packet::parse(message) else {
        assert!(verdict.starts_with("NotOurs"), "unparsable, yet {verdict}");
        return;
    };
    if !packet.has_flags(PacketFlag::RESPONSE) {
        assert!(verdict.starts_with("NotOurs"), "a query taken as {verdict}");
        return;
    }
    if verdict == "Truncated" {
        assert!(
            packet.has_flags(PacketFlag::TRUNCATION),
            "TC=0, yet {verdict}"
        );
    }
    if verdict.starts_with("Answer(Err(NoSuchDomain") {
        assert_eq!(packet.rcode(), RCODE::NameError, "{verdict}");
    }
    if taken {
        assert_eq!(packet.rcode(), RCODE::NoError, "{verdict}");
        assert!(!packet.has_flags(PacketFlag::TRUNCATION), "{verdict}");
    }
});
