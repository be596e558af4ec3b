//! The DNS answer check (src/relay/dns.rs) on any datagram: parsed by simple-dns, then
//! matched against our question `mx.test MX IN` (RFC 5452 §9.1) and read for MX
//! records, following CNAMEs. It must never panic, whatever a spoofer or a broken
//! server sends, and its verdict must keep the rules `postie::relay::dns::oracle`
//! checks against a second reading of the same bytes:
//! - taken for the answer exactly when it parses, carries the query's id, is a
//!   response and asks our one question; under any other id, never (RFC 5452 §9.1);
//! - "truncated" exactly when TC is set, "no such domain" exactly for RCODE 3, records
//!   only with RCODE 0 (RFC 1035 §4.1.1);
//! - every MX host returned comes from an MX record of the queried name or of a name
//!   its CNAMEs lead to, and without a CNAME they are all of that name's MX records,
//!   in order (RFC 1034 §3.6.2).
#![no_main]

use libfuzzer_sys::fuzz_target;
use postie::relay::dns::oracle::check_mx_reading;

fuzz_target!(|message: &[u8]| {
    // The query takes its id from the message, so that the fuzzer's inputs reach the
    // checks after the id; the oracle also reads each message under another id.
    let id = match message {
        [high, low, ..] => u16::from_be_bytes([*high, *low]),
        _ => 0,
    };
    check_mx_reading(id, message);
});
