//! Search, in the subset of Mailpit's query syntax its clients use: words and
//! `"quoted phrases"` (anywhere in the addresses, subject or text), `from:`, `to:`
//! (To and Cc), `subject:`, `is:read`, `is:unread`, and `-` or `!` before a term to
//! negate it. Terms are ANDed; matching ignores case.
//!
//! Left out: Mailpit's `before:`/`after:` dates, `tag:`, `has:attachment`,
//! `message-id:` and the rest: a term with an unknown prefix is searched as a word.

use super::message::{EmailAddress, Summary};

/// One term of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Term {
    Word(String),
    From(String),
    To(String),
    Subject(String),
    Read(bool),
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Each term and whether it is negated.
    terms: Vec<(bool, Term)>,
}

impl Query {
    // ANCHOR: parse
    /// `from:alice "two words" -is:read`.
    pub fn parse(text: &str) -> Query {
        let mut terms = Vec::new();
        for token in tokens(text) {
            let (negated, token) = match token.strip_prefix(['-', '!']) {
                Some(rest) if !rest.is_empty() => (true, rest.to_string()),
                _ => (false, token),
            };
            let lower = token.to_lowercase();
            let term = match lower.split_once(':') {
                Some(("from", v)) => Term::From(unquote(v)),
                Some(("to", v)) => Term::To(unquote(v)),
                Some(("subject", v)) => Term::Subject(unquote(v)),
                Some(("is", "read")) => Term::Read(true),
                Some(("is", "unread")) => Term::Read(false),
                _ => Term::Word(unquote(&lower)),
            };
            terms.push((negated, term));
        }
        Query { terms }
    }
    // ANCHOR_END: parse

    /// Does the message match? `text` is its body, looked at only for words.
    pub fn matches(&self, message: &Summary, text: impl Fn() -> String) -> bool {
        let mut body: Option<String> = None;
        self.terms.iter().all(|(negated, term)| {
            let hit = match term {
                Term::From(v) => address_has(&message.from, v),
                Term::To(v) => message
                    .to
                    .iter()
                    .chain(&message.cc)
                    .any(|a| address_has(a, v)),
                Term::Subject(v) => message.subject.to_lowercase().contains(v),
                Term::Read(read) => message.read == *read,
                Term::Word(v) => {
                    let in_head = address_has(&message.from, v)
                        || message
                            .to
                            .iter()
                            .chain(&message.cc)
                            .any(|a| address_has(a, v))
                        || message.subject.to_lowercase().contains(v);
                    in_head
                        || body
                            .get_or_insert_with(|| text().to_lowercase())
                            .contains(v.as_str())
                }
            };
            hit != *negated
        })
    }

    /// Does matching need the message's bytes (any term but `is:`)?
    pub fn needs_content(&self) -> bool {
        self.terms.iter().any(|(_, t)| !matches!(t, Term::Read(_)))
    }
}

fn address_has(address: &EmailAddress, value: &str) -> bool {
    address.address.to_lowercase().contains(value) || address.name.to_lowercase().contains(value)
}

fn unquote(text: &str) -> String {
    text.trim_matches('"').to_string()
}

/// Splits on spaces outside double quotes.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(from: &str, subject: &str, read: bool) -> Summary {
        Summary {
            id: "x".into(),
            message_id: String::new(),
            read,
            from: EmailAddress {
                name: "Alice".into(),
                address: from.into(),
            },
            to: vec![EmailAddress {
                name: String::new(),
                address: "bob@localhost".into(),
            }],
            cc: vec![],
            bcc: vec![],
            reply_to: vec![],
            subject: subject.into(),
            created: String::new(),
            username: String::new(),
            tags: vec![],
            size: 0,
            attachments: 0,
            snippet: String::new(),
            session_id: None,
            mailbox: String::new(),
        }
    }

    #[test]
    fn mailpit_terms() {
        let m = message("alice@example.org", "Quarterly Report", false);
        let body = || "the numbers are in".to_string();
        let yes = [
            "",
            "from:alice",
            "from:example.org to:bob",
            "subject:\"quarterly report\"",
            "is:unread",
            "-is:read",
            "numbers",
            "\"numbers are\"",
            "REPORT",
            "!from:carol",
        ];
        for q in yes {
            assert!(Query::parse(q).matches(&m, body), "{q}");
        }
        for q in [
            "from:carol",
            "is:read",
            "to:carol",
            "missing",
            "-numbers",
            "subject:numbers",
        ] {
            assert!(!Query::parse(q).matches(&m, body), "{q}");
        }
        assert!(!Query::parse("is:read").needs_content());
        assert!(Query::parse("is:read x").needs_content());
    }
}
