//! IMAP's command parser (src/imap/command.rs), its literal framing and its mailbox
//! names on any input. They must never panic; a command that parses keeps its tag, and
//! a name that decodes encodes back to the same octets (modified UTF-7 has one
//! spelling per name).
#![no_main]

use libfuzzer_sys::fuzz_target;
use postie::imap::{command, session, utf7};

fuzz_target!(|input: &[u8]| {
    if let Ok(command) = command::parse(input) {
        assert!(input.starts_with(command.tag.as_bytes()));
        let _ = command.kind.describe();
    }
    let _ = session::literal_announced(input);
    if let Some(name) = utf7::decode(input) {
        assert_eq!(utf7::encode(&name).as_bytes(), input);
    }
});
