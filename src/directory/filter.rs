//! Search filters: the text an operator writes (RFC 4515) and the structure that goes
//! on the wire (RFC 4511 §4.5.1.7).
//!
//! A client's address reaches a filter only through [`fill`], which escapes it first
//! (RFC 4515 §3: `*`, `(`, `)`, `\` and NUL become `\2a`, `\28`, `\29`, `\5c`, `\00`).
//! So `*@example.test` asks for the address that is literally `*@example.test` — an
//! equality match that finds nobody — and `x)(uid=*` cannot close the operator's
//! filter and open one of its own. The text is then parsed into [`Filter`], where each
//! value is bytes in an OCTET STRING: on the wire there is no escaping left to get wrong.
//!
//! Left out: extensible matches (`:dn:`, `:=`, RFC 4515 §3 `extensible`) and the
//! absolute true and false filters `(&)` and `(|)` (RFC 4526).

use std::fmt;

use rasn::types::{OctetString, SetOf};
use rasn_ldap::{AttributeValueAssertion, Filter, SubstringChoice, SubstringFilter};

/// How deep `&`, `|` and `!` may nest in a filter.
const MAX_DEPTH: usize = 16;

/// What is wrong with a filter's text, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    pub at: usize,
    pub what: &'static str,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.what, self.at)
    }
}

// ANCHOR: escape
/// RFC 4515 §3: a value in a filter's text, with every character that has a meaning
/// there written as `\` and two hex digits.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '*' => out.push_str("\\2a"),
            '(' => out.push_str("\\28"),
            ')' => out.push_str("\\29"),
            '\\' => out.push_str("\\5c"),
            '\0' => out.push_str("\\00"),
            c => out.push(c),
        }
    }
    out
}

/// The operator's template with every `%s` replaced by the escaped `value`, parsed.
pub fn fill(template: &str, value: &str) -> Result<Filter, FilterError> {
    parse(&template.replace("%s", &escape(value)))
}
// ANCHOR_END: escape

/// Parses a filter's text (RFC 4515 §3).
pub fn parse(text: &str) -> Result<Filter, FilterError> {
    let mut parser = Parser {
        text: text.as_bytes(),
        at: 0,
    };
    let filter = parser.filter(0)?;
    if parser.at != parser.text.len() {
        return Err(parser.error("text after the filter"));
    }
    Ok(filter)
}

struct Parser<'a> {
    text: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn error(&self, what: &'static str) -> FilterError {
        FilterError { at: self.at, what }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn expect(&mut self, byte: u8, what: &'static str) -> Result<(), FilterError> {
        if self.peek() != Some(byte) {
            return Err(self.error(what));
        }
        self.at += 1;
        Ok(())
    }

    /// filter = "(" filtercomp ")"
    fn filter(&mut self, depth: usize) -> Result<Filter, FilterError> {
        if depth > MAX_DEPTH {
            return Err(self.error("filter nested too deeply"));
        }
        self.expect(b'(', "expected (")?;
        let filter = match self.peek() {
            Some(b'&') => {
                self.at += 1;
                Filter::And(SetOf::from_vec(self.list(depth)?))
            }
            Some(b'|') => {
                self.at += 1;
                Filter::Or(SetOf::from_vec(self.list(depth)?))
            }
            Some(b'!') => {
                self.at += 1;
                Filter::Not(Box::new(self.filter(depth + 1)?))
            }
            _ => self.item()?,
        };
        self.expect(b')', "expected )")?;
        Ok(filter)
    }

    /// filterlist = 1*filter
    fn list(&mut self, depth: usize) -> Result<Vec<Filter>, FilterError> {
        let mut filters = Vec::new();
        while self.peek() == Some(b'(') {
            filters.push(self.filter(depth + 1)?);
        }
        if filters.is_empty() {
            return Err(self.error("& and | need at least one filter"));
        }
        Ok(filters)
    }

    /// item = simple / present / substring (RFC 4515 §3).
    fn item(&mut self) -> Result<Filter, FilterError> {
        let start = self.at;
        while let Some(b) = self.peek() {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b';' || b == b'.' {
                self.at += 1;
            } else {
                break;
            }
        }
        if self.at == start {
            return Err(self.error("expected an attribute name"));
        }
        let attribute = String::from_utf8_lossy(&self.text[start..self.at]).into_owned();
        let kind = match (self.peek(), self.text.get(self.at + 1)) {
            (Some(b'='), _) => 1,
            (Some(b'~' | b'>' | b'<'), Some(b'=')) => 2,
            _ => return Err(self.error("expected =, ~=, >= or <=")),
        };
        let operator = self.text[self.at];
        self.at += kind;
        let pieces = self.value()?;
        let ava = |value: Vec<u8>| {
            AttributeValueAssertion::new(attribute.as_str().into(), OctetString::from(value))
        };
        if operator != b'=' {
            let [value] = <[Vec<u8>; 1]>::try_from(pieces)
                .map_err(|_| self.error("* only in an equality filter"))?;
            return Ok(match operator {
                b'~' => Filter::ApproxMatch(ava(value)),
                b'>' => Filter::GreaterOrEqual(ava(value)),
                _ => Filter::LessOrEqual(ava(value)),
            });
        }
        Ok(match pieces.as_slice() {
            [value] => Filter::EqualityMatch(ava(value.clone())),
            // present = attr "=*"
            [a, b] if a.is_empty() && b.is_empty() => Filter::Present(attribute.as_str().into()),
            _ => Filter::Substrings(substrings(&attribute, pieces)),
        })
    }

    /// The value up to `)`, cut at each unescaped `*`, escapes decoded.
    fn value(&mut self) -> Result<Vec<Vec<u8>>, FilterError> {
        let mut pieces = vec![Vec::new()];
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated filter")),
                Some(b')') => return Ok(pieces),
                Some(b'(') | Some(0) => return Err(self.error("( and NUL must be escaped")),
                Some(b'*') => {
                    self.at += 1;
                    pieces.push(Vec::new());
                }
                Some(b'\\') => {
                    let hex = self
                        .text
                        .get(self.at + 1..self.at + 3)
                        .and_then(|h| std::str::from_utf8(h).ok())
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                        .ok_or_else(|| self.error("\\ must be followed by two hex digits"))?;
                    self.at += 3;
                    if let Some(last) = pieces.last_mut() {
                        last.push(hex);
                    }
                }
                Some(b) => {
                    self.at += 1;
                    if let Some(last) = pieces.last_mut() {
                        last.push(b);
                    }
                }
            }
        }
    }
}

/// `a*b*c`: initial `a`, any `b`, final `c`; empty pieces are left out.
fn substrings(attribute: &str, pieces: Vec<Vec<u8>>) -> SubstringFilter {
    let last = pieces.len() - 1;
    let choices = pieces
        .into_iter()
        .enumerate()
        .filter(|(_, piece)| !piece.is_empty())
        .map(|(i, piece)| {
            let piece = OctetString::from(piece);
            match i {
                0 => SubstringChoice::Initial(piece),
                i if i == last => SubstringChoice::Final(piece),
                _ => SubstringChoice::Any(piece),
            }
        })
        .collect();
    SubstringFilter::new(attribute.into(), choices)
}

/// A filter written back as RFC 4515 text, for logs and the trace.
pub fn show(filter: &Filter) -> String {
    let value = |bytes: &[u8]| escape(&String::from_utf8_lossy(bytes));
    let ava = |op: &str, a: &AttributeValueAssertion| {
        format!("({}{op}{})", a.attribute_desc.0, value(&a.assertion_value))
    };
    let list = |op: &str, set: &SetOf<Filter>| {
        let inner: String = set.to_vec().into_iter().map(show).collect();
        format!("({op}{inner})")
    };
    match filter {
        Filter::And(set) => list("&", set),
        Filter::Or(set) => list("|", set),
        Filter::Not(inner) => format!("(!{})", show(inner)),
        Filter::EqualityMatch(a) => ava("=", a),
        Filter::ApproxMatch(a) => ava("~=", a),
        Filter::GreaterOrEqual(a) => ava(">=", a),
        Filter::LessOrEqual(a) => ava("<=", a),
        Filter::Present(attribute) => format!("({}=*)", attribute.0),
        Filter::Substrings(s) => {
            let mut text = String::new();
            for choice in &s.substrings {
                match choice {
                    SubstringChoice::Initial(v) => text.push_str(&value(v)),
                    SubstringChoice::Any(v) => {
                        text.push('*');
                        text.push_str(&value(v));
                    }
                    SubstringChoice::Final(v) => {
                        text.push('*');
                        text.push_str(&value(v));
                    }
                    _ => {}
                }
            }
            if !matches!(s.substrings.last(), Some(SubstringChoice::Final(_))) {
                text.push('*');
            }
            format!("({}={text})", s.r#type.0)
        }
        _ => "(extensible)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "(|(mail=%s)(mailAlternateAddress=%s))";

    fn eq(attribute: &str, value: &[u8]) -> Filter {
        Filter::EqualityMatch(AttributeValueAssertion::new(
            attribute.into(),
            OctetString::from(value.to_vec()),
        ))
    }

    #[test]
    fn escaping_follows_rfc_4515() {
        assert_eq!(escape("a*b(c)d\\e\0f"), "a\\2ab\\28c\\29d\\5ce\\00f");
        assert_eq!(escape("bob@example.test"), "bob@example.test");
    }

    /// Injection attempts stay one equality match on the literal text.
    #[test]
    fn injection_attempts_are_values() {
        for attempt in [
            "*@example.test",
            "*",
            ")(uid=*",
            "bob@example.test)(|(mail=*",
            "x\\2a",
            "a\0b",
        ] {
            let filter = fill("(mail=%s)", attempt).unwrap();
            assert_eq!(filter, eq("mail", attempt.as_bytes()), "{attempt:?}");
        }
        let filter = fill(TEMPLATE, "*@example.test").unwrap();
        let Filter::Or(set) = &filter else {
            panic!("{filter:?}")
        };
        assert_eq!(set.len(), 2);
        assert_eq!(
            show(&filter),
            "(|(mail=\\2a@example.test)(mailAlternateAddress=\\2a@example.test))"
        );
    }

    #[test]
    fn the_grammar() {
        assert_eq!(parse("(mail=a@b)").unwrap(), eq("mail", b"a@b"));
        assert_eq!(
            parse("(objectClass=*)").unwrap(),
            Filter::Present("objectClass".into())
        );
        assert!(matches!(
            parse("(!(uid=x))").unwrap(),
            Filter::Not(inner) if *inner == eq("uid", b"x")
        ));
        assert_eq!(parse("(cn=\\41b)").unwrap(), eq("cn", b"Ab"));
        for text in [
            "(cn=a*)",
            "(cn=*a)",
            "(cn=a*b*c)",
            "(cn=*a*)",
            "(&(a=1)(b>=2)(c<=3)(d~=4))",
            "(|(!(uid=x))(cn=y))",
        ] {
            assert_eq!(show(&parse(text).unwrap()), text);
        }
        for bad in [
            "",
            "mail=x",
            "(mail=x",
            "(mail=x))",
            "(=x)",
            "(&)",
            "(cn>=a*)",
            "(cn=\\4)",
            "(cn=a(b)",
            "(mail=x)(uid=y)",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        let deep = format!("{}(a=b){}", "(!".repeat(40), ")".repeat(40));
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn attribute_descriptions_with_options_and_oids() {
        // RFC 4512 §2.5: a name or a dotted OID, then options after `;`.
        assert_eq!(parse("(cn;lang-en=x)").unwrap(), eq("cn;lang-en", b"x"));
        assert_eq!(parse("(2.5.4.3=x)").unwrap(), eq("2.5.4.3", b"x"));
    }

    #[test]
    fn filters_nest_at_most_16_deep() {
        // Through `!`, `&`, and a later filter of a list.
        for (open, close) in [("(!", ")"), ("(&", ")"), ("(|(x=1)", ")")] {
            let nested = |n: usize| format!("{}(a=b){}", open.repeat(n), close.repeat(n));
            assert!(parse(&nested(16)).is_ok(), "{open}");
            let error = parse(&nested(17)).unwrap_err();
            assert_eq!(error.what, "filter nested too deeply", "{open}");
        }
    }

    #[test]
    fn an_error_says_where() {
        // What `--directory-filter` is told of a template it cannot use.
        let error = parse("(mail=x").unwrap_err();
        assert_eq!(error.to_string(), "unterminated filter (at byte 7)");
    }
}
