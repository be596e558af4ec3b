//! The DATA decoder (src/smtp/data.rs) on any message text, read by the line reader as
//! the connection reads it. It must never panic; what it keeps is lines ending in CRLF
//! with no other CR or LF (no smuggled end of data survives), and the size it reports is
//! what it kept.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postie::smtp::data::{DataDecoder, DataLine};
use postie::wire::line::{LineReader, ReadError};

fuzz_target!(|input: &[u8]| {
    let [limit, hops, data @ ..] = input else {
        return;
    };
    let max_size = u64::from(*limit) * 16;
    let mut decoder = DataDecoder::new(max_size, usize::from(*hops % 4));
    let mut reader = LineReader::new(data);
    let mut kept = 0u64;
    loop {
        match reader.read_line(decoder.read_limit()) {
            Ok(line) => match decoder.feed(line) {
                DataLine::Content(bytes) => {
                    let text = bytes.strip_suffix(b"\r\n").expect("content ends in CRLF");
                    assert!(!text.contains(&b'\r') && !text.contains(&b'\n'));
                    // RFC 5321 §4.5.3.1.6: 1000 octets with CRLF, the stuffed dot not counted.
                    assert!(bytes.len() <= 1000);
                    kept += bytes.len() as u64;
                }
                DataLine::Discard => assert!(decoder.outcome().is_err()),
                DataLine::End => {
                    assert!(line.is_crlf_clean() && line.text() == b".");
                    if let Ok(size) = decoder.outcome() {
                        assert_eq!(size, kept);
                        assert!(size <= max_size);
                    }
                    return;
                }
                DataLine::BareNewline => {
                    assert!(!line.is_crlf_clean());
                    return;
                }
            },
            Err(ReadError::TooLong) => decoder.line_too_long(),
            Err(ReadError::Closed) => return,
            Err(e) => panic!("{e}"),
        }
    }
});
