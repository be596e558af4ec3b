//! SEARCH (RFC 3501 §6.4.4): which messages match a key.
//!
//! Pure, like FETCH: one message's facts (and its text, when a key needs it) in, true
//! or false out. String keys match case-insensitively as substrings (§6.4.4: "In all
//! search keys that use strings, a message matches the key if the string is a
//! substring of the field. The matching is case-insensitive."). Header keys look at
//! the decoded header (mail-parser decodes RFC 2047 words); BODY looks at every text
//! part, decoded; TEXT at the header and the body.
//!
//! Dates: BEFORE, ON and SINCE compare the INTERNALDATE's day in UTC; the SENT- keys
//! the Date: header's own day, ignoring its zone (§6.4.4: "disregarding time and
//! timezone").
//!
//! Left out: keywords (postie keeps none, so `KEYWORD x` matches nothing and
//! `UNKEYWORD x` everything), SEARCHRES, ESEARCH, fuzzy matching.

use mail_parser::{Message, MessageParser, PartType};

use super::command::SearchKey;
use super::fetch::sent_day;
use super::folders::{Flags, MessageInfo};

/// Does the key need the message's text?
pub fn needs_text(key: &SearchKey) -> bool {
    use SearchKey::*;
    match key {
        Header(..) | Body(_) | Text(_) | SentBefore(_) | SentOn(_) | SentSince(_) => true,
        Not(k) => needs_text(k),
        Or(a, b) => needs_text(a) || needs_text(b),
        And(keys) => keys.iter().any(needs_text),
        _ => false,
    }
}

/// One message as SEARCH sees it.
pub struct Candidate<'a> {
    pub seq: u32,
    pub info: &'a MessageInfo,
    pub recent: bool,
    /// The largest sequence number and UID in the mailbox (for `*`).
    pub last_seq: u32,
    pub last_uid: u32,
    /// Parsed only when a key needs it.
    pub message: Option<Message<'a>>,
}

impl<'a> Candidate<'a> {
    pub fn parse(text: &'a [u8]) -> Option<Message<'a>> {
        MessageParser::default().parse(text)
    }
}

// ANCHOR: matches
/// Does the message match the key?
pub fn matches(key: &SearchKey, c: &Candidate<'_>) -> bool {
    use SearchKey::*;
    let day = c.info.internal_date.div_euclid(86_400);
    match key {
        All => true,
        Flag(name, set) => Flags::named(name).is_some_and(|f| c.info.flags.contains(f)) == *set,
        Recent => c.recent,
        New => c.recent && !c.info.flags.contains(Flags::SEEN),
        Old => !c.recent,
        Keyword(_, set) => !set,
        Header(field, value) => c
            .message
            .as_ref()
            .is_some_and(|m| header_contains(m, field, value)),
        Body(text) => c.message.as_ref().is_some_and(|m| body_contains(m, text)),
        Text(text) => c.message.as_ref().is_some_and(|m| {
            contains(
                m.raw_message
                    .get(..m.parts.first().map_or(0, |p| p.offset_body as usize))
                    .unwrap_or_default(),
                text,
            ) || body_contains(m, text)
        }),
        Before(d) => day < *d,
        On(d) => day == *d,
        Since(d) => day >= *d,
        SentBefore(d) => sent(c).is_some_and(|s| s < *d),
        SentOn(d) => sent(c).is_some_and(|s| s == *d),
        SentSince(d) => sent(c).is_some_and(|s| s >= *d),
        Larger(n) => c.info.size > u64::from(*n),
        Smaller(n) => c.info.size < u64::from(*n),
        Uid(set) => set.contains(c.info.uid, c.last_uid),
        Sequence(set) => set.contains(c.seq, c.last_seq),
        Not(k) => !matches(k, c),
        Or(a, b) => matches(a, c) || matches(b, c),
        And(keys) => keys.iter().all(|k| matches(k, c)),
    }
}
// ANCHOR_END: matches

fn sent(c: &Candidate<'_>) -> Option<i64> {
    c.message.as_ref().and_then(sent_day)
}

/// Case-insensitive substring, on bytes (ASCII case only, as most servers do).
fn contains(haystack: &[u8], needle: &str) -> bool {
    let needle = needle.as_bytes();
    if needle.is_empty() {
        return true;
    }
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

fn header_contains(m: &Message<'_>, field: &str, value: &str) -> bool {
    let Some(root) = m.parts.first() else {
        return false;
    };
    root.headers
        .iter()
        .filter(|h| h.name.as_str().eq_ignore_ascii_case(field))
        .any(|h| {
            // The raw value, and the decoded one (for encoded words and addresses).
            let raw = m
                .raw_message
                .get(h.offset_start as usize..h.offset_end as usize)
                .unwrap_or_default();
            let decoded = match h.value.as_text() {
                Some(t) => t.to_string(),
                None => String::new(),
            };
            // §6.4.4: HEADER with an empty string matches every message with the field.
            value.is_empty() || contains(raw, value) || contains(decoded.as_bytes(), value)
        })
}

fn body_contains(m: &Message<'_>, text: &str) -> bool {
    m.parts.iter().any(|part| match &part.body {
        PartType::Text(t) | PartType::Html(t) => contains(t.as_bytes(), text),
        PartType::Message(inner) => body_contains(inner, text),
        PartType::Multipart(_) | PartType::Binary(_) | PartType::InlineBinary(_) => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::command::{parse, Kind};

    const LUNCH: &[u8] = b"From: Bob <bob@example.org>\r\nTo: alice@localhost\r\nSubject: =?utf-8?q?Caf=C3=A9?= lunch\r\nDate: Mon, 5 Jan 2026 23:59:00 -0800\r\n\r\nNoon at the usual place?\r\n";

    fn key(text: &str) -> SearchKey {
        match parse(format!("a SEARCH {text}").as_bytes()) {
            Ok(c) => match c.kind {
                Kind::Search { key, .. } => key,
                _ => panic!(),
            },
            Err(e) => panic!("{text}: {e:?}"),
        }
    }

    fn search(text: &str, flags: Flags, recent: bool) -> bool {
        let info = MessageInfo {
            uid: 40,
            flags,
            size: LUNCH.len() as u64,
            internal_date: 1_767_574_923, // 5 Jan 2026 01:02:03 UTC
            recent,
        };
        let key = key(text);
        let candidate = Candidate {
            seq: 3,
            info: &info,
            recent,
            last_seq: 5,
            last_uid: 50,
            message: needs_text(&key).then(|| Candidate::parse(LUNCH)).flatten(),
        };
        matches(&key, &candidate)
    }

    #[test]
    fn the_common_keys() {
        let none = Flags::empty();
        let table = [
            ("ALL", true),
            ("SEEN", false),
            ("UNSEEN", true),
            ("NEW", true),
            ("OLD", false),
            ("FROM bob", true),
            ("FROM BOB@EXAMPLE", true),
            ("TO carol", false),
            ("SUBJECT \"café\"", true),
            ("SUBJECT LUNCH", true),
            ("BODY usual", true),
            ("BODY Bob", false),
            // Keys inside NOT, OR and a list need the text too.
            ("NOT BODY usual", false),
            ("NOT BODY Bob", true),
            ("OR SEEN BODY usual", true),
            ("UNSEEN BODY usual", true),
            ("UNSEEN BODY Bob", false),
            ("TEXT bob", true),
            ("HEADER Date \"\"", true),
            ("HEADER X-Spam \"\"", false),
            ("ON 5-Jan-2026", true),
            ("SINCE 6-Jan-2026", false),
            ("SINCE 5-Jan-2026", true),
            ("BEFORE 6-Jan-2026", true),
            ("BEFORE 5-Jan-2026", false),
            // The Date field's own day, whatever its zone (§6.4.4).
            ("SENTON 5-Jan-2026", true),
            ("SENTBEFORE 5-Jan-2026", false),
            ("SENTBEFORE 6-Jan-2026", true),
            ("SENTSINCE 5-Jan-2026", true),
            ("SENTSINCE 6-Jan-2026", false),
            ("LARGER 100", true),
            ("SMALLER 100", false),
            ("UID 40", true),
            ("UID 41:*", false),
            ("3", true),
            ("4:*", false),
            ("NOT 1:2", true),
            ("OR SEEN FROM bob", true),
            ("OR SEEN FROM carol", false),
            ("(UNSEEN FROM bob) NOT DELETED", true),
            ("KEYWORD $Junk", false),
            ("UNKEYWORD $Junk", true),
        ];
        for (text, want) in table {
            assert_eq!(search(text, none, true), want, "{text}");
        }
        assert!(search(
            "SEEN FLAGGED",
            Flags::SEEN.union(Flags::FLAGGED),
            false
        ));
        assert!(search("OLD", none, false));
        // LARGER and SMALLER are strict: the message's own size is neither.
        let size = LUNCH.len();
        for (text, want) in [
            (format!("LARGER {}", size - 1), true),
            (format!("LARGER {size}"), false),
            (format!("SMALLER {size}"), false),
            (format!("SMALLER {}", size + 1), true),
        ] {
            assert_eq!(search(&text, none, true), want, "{text}");
        }
        // NEW is recent and unseen, both (§6.4.4).
        assert!(!search("NEW", none, false));
        assert!(!search("NEW", Flags::SEEN, true));
    }
}
