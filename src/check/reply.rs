//! A server reply, as it arrived, and the rules that make it well formed
//! (RFC 5321 §4.2, §4.2.1, §4.5.3.1.5).
//!
//! The reader in [`conn`](super::conn) needs only enough structure to know where a reply
//! ends: a line starting with three digits, and a fourth octet that is not `-`. Every
//! other rule (CRLF only, 512 octets, the same code on every line, a first digit from
//! 2 to 5) is judged here, so a check can report it instead of the reader giving up.

/// One reply: its lines exactly as received, each with its line ending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The code of the last line (the one that ended the reply).
    pub code: u16,
    pub lines: Vec<Vec<u8>>,
}

// ANCHOR: reply_rules
impl Reply {
    /// The first digit: 2 success, 3 go on, 4 try later, 5 give up (§4.2.1).
    pub fn class(&self) -> u16 {
        self.code / 100
    }

    pub fn is_positive(&self) -> bool {
        self.class() == 2
    }

    /// The text of each line after the code and separator, without the line ending.
    pub fn texts(&self) -> Vec<String> {
        self.lines
            .iter()
            .map(|line| {
                let body = line.get(4..).unwrap_or_default();
                let body = body.strip_suffix(b"\n").unwrap_or(body);
                let body = body.strip_suffix(b"\r").unwrap_or(body);
                String::from_utf8_lossy(body).into_owned()
            })
            .collect()
    }

    /// Every way this reply breaks §4.2's grammar, one sentence each (empty: none).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let last = self.lines.len().saturating_sub(1);
        for (i, line) in self.lines.iter().enumerate() {
            let n = i + 1;
            // §2.3.8: CRLF is the only line ending, in both directions.
            if !line.ends_with(b"\r\n") {
                problems.push(format!("line {n} does not end in CRLF"));
            }
            // §4.5.3.1.5: a reply line is at most 512 octets, CRLF included.
            if line.len() > 512 {
                problems.push(format!("line {n} is {} octets, over 512", line.len()));
            }
            // §4.2: Reply-code = %x32-35 %x30-35 %x30-39.
            let code = line.get(..3).unwrap_or_default();
            let digits_ok = matches!(code, [b'2'..=b'5', b'0'..=b'5', b'0'..=b'9']);
            if !digits_ok {
                problems.push(format!("line {n} has no reply code from 200 to 559"));
            } else if parse_code(line) != Some(self.code) {
                // §4.2.1: in a multiline reply, the code on each line MUST be the same.
                problems.push(format!("line {n} has another code than the last line"));
            }
            // "-" on every line but the last; SP (or nothing) on the last.
            let separator = line.get(3).copied();
            let ending = matches!(separator, Some(b'\r' | b'\n') | None);
            match (i == last, separator) {
                (false, Some(b'-')) => {}
                (false, _) => problems.push(format!("line {n} is not the last but has no '-'")),
                (true, Some(b' ')) => {}
                (true, _) if ending => {}
                (true, _) => problems.push(format!(
                    "line {n} ends the reply but has no space after the code"
                )),
            }
            // textstring = 1*(%d09 / %d32-126): no control characters, no 8-bit text.
            let body = line.strip_suffix(b"\n").unwrap_or(line);
            let body = body.strip_suffix(b"\r").unwrap_or(body);
            let text = body.get(4..).unwrap_or_default();
            if text.iter().any(|&b| b != b'\t' && !(32..=126).contains(&b)) {
                problems.push(format!("line {n} has octets outside printable US-ASCII"));
            }
        }
        problems
    }
}
// ANCHOR_END: reply_rules

/// The three-digit code at the start of a line, if there is one.
pub fn parse_code(line: &[u8]) -> Option<u16> {
    let digits = line.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let text = std::str::from_utf8(digits).ok()?;
    text.parse().ok()
}

/// Does this line end a reply? Yes unless its fourth octet is `-`.
pub fn is_last_line(line: &[u8]) -> bool {
    line.get(3) != Some(&b'-')
}

/// The EHLO keywords of a 250 reply (the lines after the first), upper-cased, with
/// their parameters.
pub fn ehlo_keywords(reply: &Reply) -> Vec<(String, Vec<String>)> {
    reply
        .texts()
        .into_iter()
        .skip(1)
        .filter_map(|text| {
            let mut words = text.split_whitespace();
            let keyword = words.next()?.to_ascii_uppercase();
            Some((keyword, words.map(str::to_string).collect()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(lines: &[&[u8]]) -> Reply {
        let lines: Vec<Vec<u8>> = lines.iter().map(|l| l.to_vec()).collect();
        let code = parse_code(lines.last().unwrap()).unwrap_or(0);
        Reply { code, lines }
    }

    #[test]
    fn well_formed_replies_have_no_problems() {
        assert!(reply(&[b"250 OK\r\n"]).problems().is_empty());
        assert!(reply(&[b"250\r\n"]).problems().is_empty());
        assert!(
            reply(&[b"250-a.example\r\n", b"250-SIZE 10\r\n", b"250 HELP\r\n"])
                .problems()
                .is_empty()
        );
    }

    #[test]
    fn each_broken_rule_is_named() {
        let cases: &[(&[&[u8]], &str)] = &[
            (&[b"250 OK\n"], "CRLF"),
            (&[b"250-a\r\n", b"251 b\r\n"], "another code"),
            (&[b"650 no\r\n"], "200 to 559"),
            (&[b"250 caf\xc3\xa9\r\n"], "printable"),
            (&[b"250xOK\r\n"], "no space"),
        ];
        for (lines, expected) in cases {
            let problems = reply(lines).problems();
            assert!(
                problems.iter().any(|p| p.contains(expected)),
                "{lines:?}: {problems:?}"
            );
        }
        let long = [b"250 ".to_vec(), vec![b'x'; 600], b"\r\n".to_vec()].concat();
        assert!(reply(&[&long]).problems()[0].contains("over 512"));
    }

    #[test]
    fn keywords_skip_the_greeting_line() {
        let r = reply(&[
            b"250-mx.example greets you\r\n",
            b"250-size 1000\r\n",
            b"250 PIPELINING\r\n",
        ]);
        assert_eq!(
            ehlo_keywords(&r),
            vec![
                ("SIZE".to_string(), vec!["1000".to_string()]),
                ("PIPELINING".to_string(), vec![])
            ]
        );
    }
}
