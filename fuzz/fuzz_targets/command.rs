//! The command parser (src/smtp/command.rs) on any line. It must never panic; a line it
//! refuses gets a 5xx reply whose wire form is exactly one line per text line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postie::smtp::command::parse;

fuzz_target!(|line: &[u8]| {
    match parse(line) {
        Ok(command) => {
            assert!(!command.verb().is_empty());
            let _ = command.section();
        }
        Err(reply) => {
            assert!((500..600).contains(&reply.code()), "{reply}");
            let wire = reply.to_wire_string();
            assert_eq!(
                wire.matches("\r\n").count(),
                reply.lines().len(),
                "{wire:?}"
            );
            assert_eq!(wire.matches('\n').count(), reply.lines().len(), "{wire:?}");
        }
    }
});
