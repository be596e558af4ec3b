//! Paths, mailboxes and domains: the arguments of MAIL, RCPT, EHLO and HELO
//! (RFC 5321 §4.1.2 grammar, §4.1.3 address literals, §4.5.3.1 size limits).
//!
//! SMTP's grammar, but not only SMTP's business: the policy, the users file, the relay
//! and every protocol that names a mailbox read addresses with it, so it stands beside
//! them, below the protocols.
//!
//! The parser is strict where the RFC says MUST (501 for characters outside the
//! grammar, §4.1.2) and forgiving where it says so too (source routes are accepted and
//! ignored). UTF-8 is parsed everywhere and *recorded*; whether it is allowed depends on
//! the SMTPUTF8 parameter (RFC 6531 §3.3), which the session checks.
//!
//! Left out: General-address-literal (`[tag:content]`), which no client uses; the
//! xtext encoding of ESMTP values (RFC 3461), since no parameter we accept carries one.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// RFC 5321 §4.5.3.1: the size limits of the parts of an address.
pub const MAX_LOCAL_PART: usize = 64;
pub const MAX_DOMAIN: usize = 255;
pub const MAX_PATH: usize = 256;
/// RFC 1035 §2.3.4: a label is at most 63 octets.
const MAX_LABEL: usize = 63;

/// Why an address did not parse; the session turns it into a 501 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressError(pub String);

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn error<T>(text: impl Into<String>) -> Result<T, AddressError> {
    Err(AddressError(text.into()))
}

/// The right-hand side of a mailbox, or the argument of EHLO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// A domain name as written (compare with [`Host::is`], which ignores case).
    Domain(String),
    /// `[192.0.2.1]` or `[IPv6:2001:db8::1]` (§4.1.3).
    Literal(IpAddr),
}

impl Host {
    /// Does this host name the domain `name`? Domains are case-insensitive (RFC 1035 §2.3.3).
    pub fn is(&self, name: &str) -> bool {
        match self {
            Host::Domain(d) => d.eq_ignore_ascii_case(name),
            Host::Literal(_) => false,
        }
    }

    pub fn is_ascii(&self) -> bool {
        match self {
            Host::Domain(d) => d.is_ascii(),
            Host::Literal(_) => true,
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(d) => f.write_str(d),
            Host::Literal(IpAddr::V4(a)) => write!(f, "[{a}]"),
            Host::Literal(IpAddr::V6(a)) => write!(f, "[IPv6:{a}]"),
        }
    }
}

/// `local-part@host` (§4.1.2 Mailbox).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// The local part with the least quoting possible (§4.1.2: "all quoted forms MUST be
    /// treated as equivalent"): `"john"` is stored as `john`; `"john smith"` keeps its quotes.
    pub local_part: String,
    pub host: Host,
}

impl Mailbox {
    /// True when every octet is ASCII; otherwise the transaction needs SMTPUTF8.
    pub fn is_ascii(&self) -> bool {
        self.local_part.is_ascii() && self.host.is_ascii()
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.local_part, self.host)
    }
}

// ANCHOR: reverse_path
/// The argument of MAIL FROM: a mailbox, or `<>` for notifications such as bounces
/// (§4.5.5: the null reverse path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReversePath {
    Null,
    Mailbox(Mailbox),
}
// ANCHOR_END: reverse_path

impl ReversePath {
    pub fn is_ascii(&self) -> bool {
        match self {
            ReversePath::Null => true,
            ReversePath::Mailbox(m) => m.is_ascii(),
        }
    }
}

impl fmt::Display for ReversePath {
    /// The address without angle brackets (`""` for the null path).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReversePath::Null => Ok(()),
            ReversePath::Mailbox(m) => m.fmt(f),
        }
    }
}

// ANCHOR: forward_path
/// The argument of RCPT TO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardPath {
    /// `<Postmaster>` with no domain, in any case: always accepted (§4.1.1.3, §4.5.1).
    Postmaster,
    Mailbox(Mailbox),
}
// ANCHOR_END: forward_path

impl ForwardPath {
    pub fn is_ascii(&self) -> bool {
        match self {
            ForwardPath::Postmaster => true,
            ForwardPath::Mailbox(m) => m.is_ascii(),
        }
    }
}

impl fmt::Display for ForwardPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ForwardPath::Postmaster => f.write_str("Postmaster"),
            ForwardPath::Mailbox(m) => m.fmt(f),
        }
    }
}

// ANCHOR: parse_reverse_path
/// `<>` or a Path (§4.1.2 Reverse-path).
pub fn parse_reverse_path(s: &str) -> Result<ReversePath, AddressError> {
    if s == "<>" {
        return Ok(ReversePath::Null);
    }
    parse_path(s).map(ReversePath::Mailbox)
}

/// A Path, or the special `<Postmaster>` (§4.1.1.3 Forward-path).
pub fn parse_forward_path(s: &str) -> Result<ForwardPath, AddressError> {
    if s.eq_ignore_ascii_case("<postmaster>") {
        return Ok(ForwardPath::Postmaster);
    }
    parse_path(s).map(ForwardPath::Mailbox)
}

/// `"<" [ A-d-l ":" ] Mailbox ">"`
fn parse_path(s: &str) -> Result<Mailbox, AddressError> {
    if s.len() > MAX_PATH {
        return error(format!(
            "Path longer than {MAX_PATH} octets (RFC 5321 §4.5.3.1.3)"
        ));
    }
    let Some(inner) = s.strip_prefix('<').and_then(|s| s.strip_suffix('>')) else {
        return error("Address must be in angle brackets, like <user@example.com>");
    };
    // §4.1.2: a source route "MUST BE accepted, SHOULD NOT be generated, and SHOULD be
    // ignored". We check its syntax and then throw it away: mail goes to the mailbox.
    let mailbox = match inner.strip_prefix('@') {
        Some(_) => {
            let Some((route, mailbox)) = inner.split_once(':') else {
                return error("Source route must end with ':' before the mailbox");
            };
            for at_domain in route.split(',') {
                let Some(domain) = at_domain.strip_prefix('@') else {
                    return error("Each hop of a source route starts with '@'");
                };
                parse_domain(domain)?;
            }
            mailbox
        }
        None => inner,
    };
    parse_mailbox(mailbox)
}
// ANCHOR_END: parse_reverse_path

/// `Local-part "@" ( Domain / address-literal )`
pub fn parse_mailbox(s: &str) -> Result<Mailbox, AddressError> {
    // The local part may be a quoted string containing '@', so split at the last '@'.
    let Some((local, host)) = s.rsplit_once('@') else {
        return error("Address must have the form user@domain");
    };
    let local_part = parse_local_part(local)?;
    let host = if host.starts_with('[') {
        Host::Literal(parse_address_literal(host)?)
    } else {
        Host::Domain(parse_domain(host)?.to_string())
    };
    Ok(Mailbox { local_part, host })
}

/// `Dot-string / Quoted-string`, returned with the least quoting possible.
fn parse_local_part(s: &str) -> Result<String, AddressError> {
    if s.len() > MAX_LOCAL_PART {
        return error(format!(
            "Local part longer than {MAX_LOCAL_PART} octets (RFC 5321 §4.5.3.1.1)"
        ));
    }
    if s.is_empty() {
        return error("Empty local part before '@'");
    }
    if s.starts_with('"') {
        let content = parse_quoted_string(s)?;
        // §4.1.2: "john" and john name the same mailbox; keep the simpler form.
        if is_dot_string(&content) {
            return Ok(content);
        }
        return Ok(s.to_string());
    }
    if is_dot_string(s) {
        Ok(s.to_string())
    } else {
        error(format!(
            "Invalid local part {s:?}: use letters, digits and !#$%&'*+-/=?^_`{{|}}~ separated by single dots"
        ))
    }
}

/// `Atom *("." Atom)`: no leading, trailing or double dots.
fn is_dot_string(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(is_atext))
}

/// RFC 5322 §3.2.3 atext, plus any non-ASCII character for SMTPUTF8 (RFC 6531 §3.3).
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || "!#$%&'*+-/=?^_`{|}~".contains(c)
        || (!c.is_ascii() && !c.is_control())
}

/// `DQUOTE *QcontentSMTP DQUOTE`; returns the content with quoted pairs resolved.
fn parse_quoted_string(s: &str) -> Result<String, AddressError> {
    let Some(body) = s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
        return error("Unterminated quoted local part");
    };
    let mut content = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            // quoted-pairSMTP = "\" followed by any ASCII graphic or space
            '\\' => match chars.next() {
                Some(q) if (' '..='~').contains(&q) => content.push(q),
                _ => {
                    return error(
                        "Backslash in a quoted local part must quote a printable character",
                    )
                }
            },
            '"' => return error("Unescaped '\"' inside a quoted local part"),
            // qtextSMTP: ASCII graphic or space (plus UTF-8 under SMTPUTF8)
            c if (' '..='~').contains(&c) || (!c.is_ascii() && !c.is_control()) => content.push(c),
            _ => return error("Control character in a quoted local part"),
        }
    }
    Ok(content)
}

// ANCHOR: parse_domain
/// `sub-domain *("." sub-domain)` where `sub-domain = Let-dig [Ldh-str]`: letters, digits
/// and inner hyphens only. §4.1.2: "the underscore character is not permitted", and a
/// command that uses such characters MUST get a 501.
pub fn parse_domain(s: &str) -> Result<&str, AddressError> {
    if s.is_empty() {
        return error("Empty domain");
    }
    if s.len() > MAX_DOMAIN {
        return error(format!(
            "Domain longer than {MAX_DOMAIN} octets (RFC 5321 §4.5.3.1.2)"
        ));
    }
    for label in s.split('.') {
        let letter_or_digit =
            |c: char| c.is_ascii_alphanumeric() || (!c.is_ascii() && c.is_alphanumeric());
        let ok = !label.is_empty()
            && label.len() <= MAX_LABEL
            && label.chars().all(|c| letter_or_digit(c) || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return error(format!(
                "Invalid domain {s:?}: labels are letters, digits and inner hyphens, separated by single dots"
            ));
        }
    }
    Ok(s)
}
// ANCHOR_END: parse_domain

/// `[192.0.2.1]` or `[IPv6:2001:db8::1]` (§4.1.3).
pub fn parse_address_literal(s: &str) -> Result<IpAddr, AddressError> {
    let Some(inner) = s.strip_prefix('[').and_then(|s| s.strip_suffix(']')) else {
        return error("Address literal must be in square brackets, like [192.0.2.1]");
    };
    if let Some(v6) = inner
        .strip_prefix("IPv6:")
        .or_else(|| inner.strip_prefix("ipv6:"))
    {
        return v6
            .parse::<Ipv6Addr>()
            .map(IpAddr::V6)
            .or_else(|_| error(format!("Invalid IPv6 address literal {s:?}")));
    }
    inner.parse::<Ipv4Addr>().map(IpAddr::V4).or_else(|_| {
        error(format!(
            "Invalid address literal {s:?}: use [192.0.2.1] or [IPv6:2001:db8::1]"
        ))
    })
}

// ANCHOR: parse_ehlo_argument
/// The argument of EHLO: a domain or an address literal (§4.1.1.1).
pub fn parse_ehlo_argument(s: &str) -> Result<Host, AddressError> {
    if s.starts_with('[') {
        parse_address_literal(s).map(Host::Literal)
    } else if !s.is_ascii() {
        // RFC 6531 §3.7.1: the client cannot know yet whether we offer SMTPUTF8, so
        // it "MUST send only ASCII (LDH label or A-label [RFC5890]) domains in the
        // EHLO command"; §4.1.2: other characters get 501. The reply does not echo
        // the name: a reply may not carry UTF-8 here either (§3.7.4.2).
        error("Invalid domain: EHLO takes an ASCII domain; write an internationalized name as its A-label (xn--...)")
    } else {
        parse_domain(s).map(|d| Host::Domain(d.to_string()))
    }
}
// ANCHOR_END: parse_ehlo_argument

#[cfg(test)]
mod tests {
    use super::*;

    fn mailbox(local: &str, domain: &str) -> Mailbox {
        Mailbox {
            local_part: local.into(),
            host: Host::Domain(domain.into()),
        }
    }

    #[test]
    fn reverse_paths() {
        let table: &[(&str, Option<ReversePath>)] = &[
            ("<>", Some(ReversePath::Null)),
            (
                "<a@b.example>",
                Some(ReversePath::Mailbox(mailbox("a", "b.example"))),
            ),
            (
                "<John.Smith@Example.COM>",
                Some(ReversePath::Mailbox(mailbox("John.Smith", "Example.COM"))),
            ),
            (
                "<\"john\"@example.com>",
                Some(ReversePath::Mailbox(mailbox("john", "example.com"))),
            ),
            (
                "<\"john smith\"@example.com>",
                Some(ReversePath::Mailbox(mailbox(
                    "\"john smith\"",
                    "example.com",
                ))),
            ),
            (
                "<@relay.example,@r2.example:a@b.example>",
                Some(ReversePath::Mailbox(mailbox("a", "b.example"))),
            ),
            ("a@b.example", None),
            ("<a@b.example", None),
            ("<a>", None),
            ("<@b.example>", None),
            ("<a@>", None),
            ("<a..b@c.example>", None),
            ("<.a@c.example>", None),
            ("<a.@c.example>", None),
            ("<a b@c.example>", None),
            ("<a@b_c.example>", None),
            ("<a@-b.example>", None),
            ("<a@b..example>", None),
            ("<\"a\"b\"@c.example>", None),
            ("<\"a\rb\"@c.example>", None),
            ("<relay.example:a@b.example>", None),
        ];
        for (input, expected) in table {
            assert_eq!(parse_reverse_path(input).ok(), *expected, "{input}");
        }
    }

    #[test]
    fn postmaster_without_domain_in_any_case() {
        for p in ["<Postmaster>", "<POSTMASTER>", "<postmaster>"] {
            assert_eq!(parse_forward_path(p), Ok(ForwardPath::Postmaster), "{p}");
        }
        assert!(matches!(
            parse_forward_path("<postmaster@example.com>"),
            Ok(ForwardPath::Mailbox(_))
        ));
        assert!(parse_reverse_path("<Postmaster>").is_err());
    }

    #[test]
    fn address_literals() {
        let m = parse_mailbox("a@[192.0.2.1]").unwrap();
        assert_eq!(m.host, Host::Literal("192.0.2.1".parse().unwrap()));
        assert_eq!(m.to_string(), "a@[192.0.2.1]");
        let m = parse_mailbox("a@[IPv6:2001:db8::1]").unwrap();
        assert_eq!(m.to_string(), "a@[IPv6:2001:db8::1]");
        assert!(parse_mailbox("a@[300.1.1.1]").is_err());
        assert!(
            parse_mailbox("a@[2001:db8::1]").is_err(),
            "IPv6 needs its tag"
        );
    }

    #[test]
    fn limits_from_rfc_5321_4_5_3_1() {
        let local = "a".repeat(64);
        assert!(parse_mailbox(&format!("{local}@b.example")).is_ok());
        assert!(parse_mailbox(&format!("a{local}@b.example")).is_err());
        let label = "a".repeat(63);
        assert!(parse_domain(&label).is_ok());
        assert!(parse_domain(&format!("a{label}")).is_err());
        let long_domain = vec!["a".repeat(50); 6].join(".");
        assert!(long_domain.len() > 255 && parse_domain(&long_domain).is_err());
        let path = format!("<{}@{}>", "a".repeat(60), vec!["b".repeat(60); 4].join("."));
        assert!(path.len() > 256 && parse_reverse_path(&path).is_err());
    }

    #[test]
    fn utf8_is_parsed_and_recorded() {
        let m = parse_mailbox("用户@例子.测试").unwrap();
        assert!(!m.is_ascii());
        assert!(parse_mailbox("user@example.com").unwrap().is_ascii());
    }

    #[test]
    fn ehlo_arguments() {
        assert!(parse_ehlo_argument("client.example").is_ok());
        assert!(parse_ehlo_argument("[127.0.0.1]").is_ok());
        assert!(parse_ehlo_argument("my_pc").is_err());
        assert!(parse_ehlo_argument("a b").is_err());
    }

    #[test]
    fn ehlo_takes_only_ascii_domains() {
        // RFC 6531 §3.7.1: U-labels are not allowed in EHLO, A-labels are.
        assert!(parse_ehlo_argument("bücher.example").is_err());
        assert!(parse_ehlo_argument("例子.测试").is_err());
        assert_eq!(
            parse_ehlo_argument("xn--bcher-kva.example"),
            Ok(Host::Domain("xn--bcher-kva.example".into()))
        );
        // Addresses still take a UTF-8 domain; SMTPUTF8 decides whether it may be used.
        assert!(parse_domain("bücher.example").is_ok());
    }
}
