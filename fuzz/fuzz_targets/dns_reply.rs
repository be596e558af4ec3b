//! The DNS answer check (src/relay/dns.rs) on any datagram: parsed by simple-dns, then
//! matched against our question (RFC 5452 §9.1) and read for MX records, following
//! CNAMEs. It must never panic, whatever a spoofer or a broken server sends.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postie::relay::dns::fuzz_read_mx_answer;

fuzz_target!(|message: &[u8]| {
    let _ = fuzz_read_mx_answer(message);
});
