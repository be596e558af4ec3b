//! From an address to a directory name: the one gate between what a client
//! typed and a path on our disk (ARCHITECTURE.md, *mailbox names are never raw
//! input*).
//!
//! A recipient `Local.Part@Example.ORG` is stored under
//! `<root>/example.org/local.part/`. Both halves come from the client, so
//! neither may name a path until it has passed through [`mailbox_name`] or
//! [`domain_name`], which return a [`SafeName`]: exactly one path component,
//! never `.` or `..`, never containing `/`, NUL or a control character.
//!
//! What is implemented:
//! - Case folding. The local part is interpreted only by the host that owns
//!   the domain (RFC 5321 §2.3.11), and §2.4 discourages exploiting case, so
//!   postie treats `Postmaster` and `postmaster` as one mailbox. Domains are
//!   case-insensitive anyway (§2.4).
//! - An allow-list of characters: letters, digits, the RFC 5322 §3.2.3
//!   `atext` specials except `/`, and `.` for local parts; letters, digits,
//!   `-` and `.` for domains (RFC 1035 §2.3.1). Non-ASCII letters are allowed
//!   for internationalized addresses (RFC 6531 §3.3).
//! - The length limits of RFC 5321 §4.5.3.1.1 (64 octets) and §4.5.3.1.2
//!   (255 octets), and no empty labels (no leading, trailing or double dot).
//!
//! Deliberately left out:
//! - Quoted local parts (`"john smith"@example.org`) are refused, not encoded:
//!   the quotes and whatever they protect never reach the disk.
//! - No Unicode normalization (NFC) and no check for look-alike characters:
//!   `é` typed two different ways names two different mailboxes.
//! - Address literals (`user@[192.0.2.1]`) have no directory; the caller
//!   decides what they mean before asking for a name.
//!
//! A production server would map addresses through an alias table or a user
//! database instead, and create no directory for a name it does not know.

use std::fmt;

/// RFC 5321 §4.5.3.1.1: the maximum total length of a local part is 64 octets.
const MAX_LOCAL_PART: usize = 64;
/// RFC 5321 §4.5.3.1.2: the maximum total length of a domain is 255 octets.
const MAX_DOMAIN: usize = 255;

/// A name that is safe as ONE path component under the Maildir root.
///
/// The only ways to get one are [`mailbox_name`] and [`domain_name`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SafeName(String);

impl SafeName {
    /// The name as text, ready for `Path::join`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SafeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a local part or domain cannot name a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    Empty,
    TooLong,
    LeadingDot,
    DoubleDot,
    TrailingDot,
    Forbidden(char),
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::Empty => f.write_str("the name is empty"),
            NameError::TooLong => f.write_str(
                "the name is too long (at most 64 octets for a local part, 255 for a domain)",
            ),
            NameError::LeadingDot => f.write_str("the name may not begin with '.'"),
            NameError::DoubleDot => f.write_str("the name may not contain '..'"),
            NameError::TrailingDot => f.write_str("the name may not end with '.'"),
            // `{:?}` escapes control characters, so this text is safe in a reply.
            NameError::Forbidden(c) => write!(f, "the name may not contain {c:?}"),
        }
    }
}

impl std::error::Error for NameError {}

// ANCHOR: mailbox_name
/// The directory name for a local part, as the address parser returns it:
/// a dot-string (`john.smith`) or a quoted string with its quotes
/// (`"john smith"`, which is refused).
pub fn mailbox_name(local_part: &str) -> Result<SafeName, NameError> {
    safe_name(local_part, MAX_LOCAL_PART, is_local_part_char)
}
// ANCHOR_END: mailbox_name

/// The directory name for a domain (`Example.ORG` → `example.org`).
pub fn domain_name(domain: &str) -> Result<SafeName, NameError> {
    safe_name(domain, MAX_DOMAIN, is_domain_char)
}

// ANCHOR: safe_name
/// Folds case, then checks the folded name: it is what names the path.
fn safe_name(
    raw: &str,
    max_octets: usize,
    allowed: fn(char) -> bool,
) -> Result<SafeName, NameError> {
    let name = raw.to_lowercase();
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if let Some(c) = name.chars().find(|&c| !allowed(c)) {
        return Err(NameError::Forbidden(c));
    }
    if name.len() > max_octets {
        return Err(NameError::TooLong);
    }
    // RFC 5321 §4.1.2: a Dot-string and a Domain are non-empty parts joined
    // by single dots. This rule is also what keeps out "." and "..".
    if name.starts_with('.') {
        return Err(NameError::LeadingDot);
    }
    if name.contains("..") {
        return Err(NameError::DoubleDot);
    }
    if name.ends_with('.') {
        return Err(NameError::TrailingDot);
    }
    Ok(SafeName(name))
}
// ANCHOR_END: safe_name

/// RFC 5322 §3.2.3 `atext` and '.', without '/': '/' is atext, but on disk
/// it separates path components.
fn is_local_part_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-=?^_`{|}~.".contains(c) || is_international(c)
}

/// Letters, digits and hyphen in dot-separated labels (RFC 1035 §2.3.1).
fn is_domain_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '.' || is_international(c)
}

/// RFC 6531 §3.3 allows UTF-8 in addresses; we keep printable characters.
fn is_international(c: char) -> bool {
    !c.is_ascii() && !c.is_control() && !c.is_whitespace()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Component, Path};

    /// Each input of `table` through `gate` (called `name` in a failure), and what
    /// must come out: the safe name, or why there is none.
    fn through_the_gate(
        gate: fn(&str) -> Result<SafeName, NameError>,
        name: &str,
        table: &[(&str, Result<&str, NameError>)],
    ) {
        for (input, expected) in table {
            let want = expected.clone().map(|s| SafeName(s.to_string()));
            assert_eq!(gate(input), want, "{name}({input:?})");
        }
    }

    #[test]
    fn mailbox_names() {
        use NameError::*;
        let long = "a".repeat(64);
        let too_long = "a".repeat(65);
        let wide = "ü".repeat(32); // 64 octets in UTF-8
        let too_wide = "ü".repeat(33); // 66 octets
        let table: &[(&str, Result<&str, NameError>)] = &[
            ("john.smith", Ok("john.smith")),
            ("Postmaster", Ok("postmaster")),
            ("ÜSER", Ok("üser")),
            ("a+tag", Ok("a+tag")),
            ("!#$%&'*+-=?^_`{|}~", Ok("!#$%&'*+-=?^_`{|}~")),
            (&long, Ok(&long)),
            (&too_long, Err(TooLong)),
            (&wide, Ok(&wide)),
            (&too_wide, Err(TooLong)),
            ("\"../../x\"", Err(Forbidden('"'))),
            ("\"john smith\"", Err(Forbidden('"'))),
            ("a\\b", Err(Forbidden('\\'))),
            ("a b", Err(Forbidden(' '))),
            ("a\tb", Err(Forbidden('\t'))),
            ("a\x7fb", Err(Forbidden('\x7f'))),
            ("a\u{85}b", Err(Forbidden('\u{85}'))),
            ("a\u{3000}b", Err(Forbidden('\u{3000}'))),
            ("a:b", Err(Forbidden(':'))),
            ("a@b", Err(Forbidden('@'))),
        ];
        through_the_gate(mailbox_name, "mailbox_name", table);
    }

    #[test]
    fn domain_names() {
        use NameError::*;
        let long = format!("{}.org", "a".repeat(251));
        let too_long = format!("{}.org", "a".repeat(252));
        let table: &[(&str, Result<&str, NameError>)] = &[
            ("Example.ORG", Ok("example.org")),
            ("localhost", Ok("localhost")),
            ("mail-1.example.org", Ok("mail-1.example.org")),
            ("BÜCHER.example", Ok("bücher.example")),
            (&long, Ok(&long)),
            (&too_long, Err(TooLong)),
            ("[192.0.2.1]", Err(Forbidden('['))),
            ("a_b.org", Err(Forbidden('_'))),
            ("a+b.org", Err(Forbidden('+'))),
        ];
        through_the_gate(domain_name, "domain_name", table);
    }

    /// What could name another path or a hidden file, both gates refuse alike
    /// (ARCHITECTURE.md, *Mailbox names are never raw input*).
    #[test]
    fn both_gates_refuse_paths_and_dots() {
        use NameError::*;
        let table: &[(&str, Result<&str, NameError>)] = &[
            ("", Err(Empty)),
            (".", Err(LeadingDot)),
            ("..", Err(LeadingDot)),
            (".hidden", Err(LeadingDot)),
            (".example.org", Err(LeadingDot)),
            ("a..b", Err(DoubleDot)),
            ("example..org", Err(DoubleDot)),
            ("a.", Err(TrailingDot)),
            ("example.org.", Err(TrailingDot)),
            ("a/b", Err(Forbidden('/'))),
            ("../../etc", Err(Forbidden('/'))),
            ("a\0b", Err(Forbidden('\0'))),
        ];
        through_the_gate(mailbox_name, "mailbox_name", table);
        through_the_gate(domain_name, "domain_name", table);
    }

    #[test]
    fn error_text_is_a_sentence_without_control_characters() {
        assert_eq!(
            NameError::Forbidden('/').to_string(),
            "the name may not contain '/'"
        );
        assert_eq!(
            NameError::Forbidden('\0').to_string(),
            "the name may not contain '\\0'"
        );
        assert_eq!(
            NameError::Forbidden('\r').to_string(),
            "the name may not contain '\\r'"
        );
    }

    /// Every string of up to four characters from a hostile alphabet: no
    /// accepted name can leave the directory it is joined to.
    #[test]
    fn no_accepted_name_escapes_the_root() {
        let alphabet = [
            'a', 'Z', '.', '/', '\\', '\0', ' ', '"', '\n', 'é', '~', '-',
        ];
        let root = Path::new("/srv/mail");
        let mut inputs = vec![String::new()];
        let mut checked = 0;
        for _ in 0..4 {
            let mut longer = Vec::new();
            for s in &inputs {
                for c in alphabet {
                    longer.push(format!("{s}{c}"));
                }
            }
            for input in &longer {
                for name in [mailbox_name(input), domain_name(input)]
                    .into_iter()
                    .flatten()
                {
                    let name = name.as_str();
                    assert!(!name.contains('/'), "{input:?} gave {name:?}");
                    assert!(name != "." && name != "..", "{input:?} gave {name:?}");
                    assert!(
                        !name.chars().any(char::is_control),
                        "{input:?} gave {name:?}"
                    );
                    let joined = root.join(name);
                    let last: Vec<_> = joined.components().skip(3).collect();
                    assert_eq!(last, [Component::Normal(name.as_ref())], "{input:?}");
                    assert_eq!(joined.parent(), Some(root));
                    checked += 1;
                }
            }
            inputs = longer;
        }
        assert!(
            checked > 1000,
            "the loop should accept many names, got {checked}"
        );
    }
}
