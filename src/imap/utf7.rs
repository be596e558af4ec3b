//! Modified UTF-7 (RFC 3501 §5.1.3): how a mailbox name such as `Café` or `中文`
//! travels in IMAP, which predates UTF-8 on the wire.
//!
//! Printable ASCII stands for itself, except `&`, which is written `&-`. Anything else
//! is UTF-16, base64-encoded with `,` instead of `/`, between `&` and `-`:
//! `Café` is `Caf&AOk-`, `中文` is `&Ti1lhw-`.
//!
//! [`decode`] is strict, as the RFC asks: a name that another encoder would have
//! written differently (an `&` sequence holding only printable ASCII, padding bits
//! that are not zero, an unpaired surrogate) is refused, so one folder never has two
//! names. Left out: IMAP4rev2's UTF8=ACCEPT (RFC 6855), which sends UTF-8 as is.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

// ANCHOR: encode
/// A name in UTF-8 as it travels.
pub fn encode(name: &str) -> String {
    let mut out = String::new();
    let mut pending: Vec<u16> = Vec::new();
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut pending, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut units = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut units));
        }
    }
    flush(&mut pending, &mut out);
    out
}

/// Writes the UTF-16 units waiting, as `&base64-`.
fn flush(units: &mut Vec<u16>, out: &mut String) {
    if units.is_empty() {
        return;
    }
    let bytes: Vec<u8> = units.iter().flat_map(|u| u.to_be_bytes()).collect();
    out.push('&');
    let (mut bits, mut count) = (0u32, 0);
    for byte in bytes {
        bits = (bits << 8) | u32::from(byte);
        count += 8;
        while count >= 6 {
            count -= 6;
            out.push(ALPHABET[((bits >> count) & 63) as usize] as char);
        }
    }
    if count > 0 {
        out.push(ALPHABET[((bits << (6 - count)) & 63) as usize] as char);
    }
    out.push('-');
    units.clear();
}
// ANCHOR_END: encode

// ANCHOR: decode
/// A name as it travels, in UTF-8; `None` if it is not modified UTF-7.
pub fn decode(raw: &[u8]) -> Option<String> {
    let mut out = String::new();
    let mut i = 0;
    // The end of the last encoded run: another may not follow at once (an encoder
    // would have written one run).
    let mut run_ended_at = None;
    while let Some(&b) = raw.get(i) {
        match b {
            b'&' => {
                let end = i + 1 + raw.get(i + 1..)?.iter().position(|&c| c == b'-')?;
                let encoded = &raw[i + 1..end];
                if encoded.is_empty() {
                    out.push('&');
                } else {
                    if run_ended_at == Some(i) {
                        return None;
                    }
                    out.push_str(&decode_base64(encoded)?);
                    run_ended_at = Some(end + 1);
                }
                i = end + 1;
            }
            b' '..=b'~' => {
                out.push(b as char);
                i += 1;
            }
            _ => return None,
        }
    }
    Some(out)
}

fn decode_base64(encoded: &[u8]) -> Option<String> {
    let (mut bits, mut count) = (0u32, 0);
    let mut bytes = Vec::new();
    for &c in encoded {
        let value = ALPHABET.iter().position(|&a| a == c)? as u32;
        bits = (bits << 6) | value;
        count += 6;
        if count >= 8 {
            count -= 8;
            bytes.push((bits >> count) as u8);
        }
    }
    // Leftover bits must be zero padding, and fewer than one base64 character's worth
    // (an encoder writes no character that carries nothing).
    if count >= 6 || bits & ((1 << count) - 1) != 0 || bytes.len() % 2 != 0 {
        return None;
    }
    let units: Vec<u16> = bytes
        .chunks(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
        .collect();
    let text = String::from_utf16(&units).ok()?;
    // Printable ASCII must stand for itself (§5.1.3), never be encoded.
    if text.chars().any(|c| (' '..='~').contains(&c)) {
        return None;
    }
    Some(text)
}
// ANCHOR_END: decode

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let table = [
            ("INBOX", "INBOX"),
            ("Café", "Caf&AOk-"),
            ("中文", "&Ti1lhw-"),
            ("Tom & Jerry", "Tom &- Jerry"),
            ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
            ("😀", "&2D3eAA-"),
            ("", ""),
        ];
        for (name, wire) in table {
            assert_eq!(encode(name), wire, "{name}");
            assert_eq!(decode(wire.as_bytes()).as_deref(), Some(name), "{wire}");
        }
    }

    #[test]
    fn every_name_has_one_spelling() {
        // Every string of up to three characters from an alphabet of troublemakers:
        // encode, decode, and back.
        let alphabet = ['a', '&', '-', 'é', '中', '😀', ' ', '.'];
        let mut names = vec![String::new()];
        for _ in 0..3 {
            let longer: Vec<String> = names
                .iter()
                .flat_map(|n| alphabet.iter().map(move |c| format!("{n}{c}")))
                .collect();
            for name in &longer {
                let wire = encode(name);
                assert_eq!(
                    decode(wire.as_bytes()).as_deref(),
                    Some(name.as_str()),
                    "{wire}"
                );
            }
            names = longer;
        }
        assert_eq!(decode(b"&AOkA6Q-").as_deref(), Some("éé"));
    }

    #[test]
    fn whatever_decodes_encodes_back_to_the_same_octets() {
        // Every string of up to five octets from an alphabet that makes runs, padding
        // and escapes: the fuzz target's property, checked exhaustively here.
        let alphabet = b"&-AOkA6Q+,a";
        let mut inputs: Vec<Vec<u8>> = vec![vec![]];
        for _ in 0..5 {
            inputs = inputs
                .iter()
                .flat_map(|i| alphabet.iter().map(move |&c| [&i[..], &[c]].concat()))
                .collect();
            for input in &inputs {
                if let Some(name) = decode(input) {
                    assert_eq!(
                        encode(&name).as_bytes(),
                        &input[..],
                        "{}",
                        input.escape_ascii()
                    );
                }
            }
        }
    }

    #[test]
    fn strict_decoding() {
        for bad in [
            &b"&AGE-"[..],  // "a", which must be written as itself
            b"&Ti1lhw",     // no closing '-'
            b"&Ti1lh-",     // leftover bits
            b"&2D0-",       // an unpaired surrogate
            b"caf\xc3\xa9", // raw UTF-8
            b"&Ti/lhw-",    // '/' is not in this alphabet
            b"&AOk-&AOk-",  // two runs back to back, which an encoder writes as one
        ] {
            assert_eq!(decode(bad), None, "{}", bad.escape_ascii());
        }
    }
}
