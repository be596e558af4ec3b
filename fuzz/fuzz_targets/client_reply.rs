//! The relay client's reply parser (src/relay/client.rs, `read_reply`) on anything a
//! hostile server might send. It must never panic, and every reply it accepts has a code
//! from 200 to 599 and at most 100 lines.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postie::relay::client::read_reply;
use postie::wire::line::LineReader;

fuzz_target!(|data: &[u8]| {
    let mut reader = LineReader::new(data);
    while let Ok(reply) = read_reply(&mut reader) {
        assert!((200..600).contains(&reply.code), "{reply:?}");
        assert!(!reply.lines.is_empty() && reply.lines.len() <= 100);
        let _ = (reply.enhanced(), reply.summary());
    }
});
