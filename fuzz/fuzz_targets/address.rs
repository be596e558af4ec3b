//! The address parsers (src/address.rs) on any text. They must never panic, and
//! whatever parses must show (Display) as text that parses again to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postie::address::{
    parse_domain, parse_ehlo_argument, parse_forward_path, parse_mailbox, parse_reverse_path,
    ReversePath,
};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(path) = parse_reverse_path(text) {
        let shown = match &path {
            ReversePath::Null => "<>".to_string(),
            ReversePath::Mailbox(m) => format!("<{m}>"),
        };
        assert_eq!(
            parse_reverse_path(&shown),
            Ok(path),
            "{text:?} shown as {shown:?}"
        );
    }
    if let Ok(path) = parse_forward_path(text) {
        let shown = format!("<{path}>");
        assert_eq!(
            parse_forward_path(&shown),
            Ok(path),
            "{text:?} shown as {shown:?}"
        );
    }
    if let Ok(mailbox) = parse_mailbox(text) {
        assert_eq!(parse_mailbox(&mailbox.to_string()), Ok(mailbox));
    }
    if let Ok(host) = parse_ehlo_argument(text) {
        assert_eq!(parse_ehlo_argument(&host.to_string()), Ok(host));
    }
    if let Ok(domain) = parse_domain(text) {
        assert_eq!(domain, text);
    }
});
