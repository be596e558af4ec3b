//! Enhanced mail system status codes (RFC 3463): `5.1.1`, "bad destination mailbox
//! address". One type for every place a code appears: postie's own replies (announced
//! as ENHANCEDSTATUSCODES, RFC 2034), the replies of the servers the relay talks to,
//! the queue file, and the `Status:` field of a bounce (RFC 3464 §2.3.4).
//!
//! The syntax is RFC 3463 §2:
//!
//! ```text
//! status-code = class "." subject "." detail
//! class       = "2" / "4" / "5"
//! subject     = 1*3digit
//! detail      = 1*3digit
//! ```
//!
//! and "each numeric sub-code within the status-code MUST be expressed without leading
//! zero digits": `5.1.10` is a code, `5.01.1` is not (but `5.0.0` is: a lone zero has
//! no leading zero). [`Status::from_str`] accepts exactly this; [`fmt::Display`]
//! writes it back unchanged.
//!
//! Left out: the meaning of each code (the bounce's text has a few, the IANA registry
//! has them all), and the codes of RFC 1893, which RFC 3463 replaced.

use std::fmt;
use std::str::FromStr;

// ANCHOR: status
/// An enhanced status code `class.subject.detail` (RFC 3463 §2), e.g. `2.1.5`.
///
/// postie's own codes are written as constants, `Status(5, 1, 1)`; text from outside
/// (a remote reply, a queue file) becomes a `Status` only through [`str::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Status(pub u8, pub u16, pub u16);

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}
// ANCHOR_END: status

impl Status {
    /// RFC 3463 §3.1: "other or undefined status" in a class, `X.0.0`.
    pub fn other(class: u8) -> Status {
        Status(class, 0, 0)
    }

    /// RFC 3463 §3.1: class 4, a persistent transient failure (try again later).
    pub fn is_transient(self) -> bool {
        self.0 == 4
    }
}

/// Text that does not read back as the value it should name: the one error of the
/// `FromStr`s for what postie writes and later reads again (a status code here, a
/// message id in `store::id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// What the text should have been, with its article: "an RFC 3463 status code".
    pub what: &'static str,
    pub text: String,
}

impl Malformed {
    pub fn new(what: &'static str, text: &str) -> Malformed {
        Malformed {
            what,
            text: text.to_string(),
        }
    }
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not {}", self.text, self.what)
    }
}

impl std::error::Error for Malformed {}

// ANCHOR: from_str
impl FromStr for Status {
    type Err = Malformed;

    fn from_str(text: &str) -> Result<Status, Malformed> {
        let wrong = || Malformed::new("an RFC 3463 status code", text);
        // 1*3digit, and (RFC 3463 §2) "without leading zero digits".
        let number = |part: &str| -> Option<u16> {
            let digits = (1..=3).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit());
            let leading_zero = part.len() > 1 && part.starts_with('0');
            if digits && !leading_zero {
                part.parse().ok()
            } else {
                None
            }
        };
        let mut parts = text.split('.');
        let (Some(class), Some(subject), Some(detail), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(wrong());
        };
        let class = match class {
            "2" => 2,
            "4" => 4,
            "5" => 5,
            _ => return Err(wrong()),
        };
        match (number(subject), number(detail)) {
            (Some(subject), Some(detail)) => Ok(Status(class, subject, detail)),
            _ => Err(wrong()),
        }
    }
}
// ANCHOR_END: from_str

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_syntax_of_rfc_3463() {
        let table = [
            ("5.1.1", Some(Status(5, 1, 1))),
            ("4.4.7", Some(Status(4, 4, 7))),
            ("2.0.0", Some(Status(2, 0, 0))),
            ("5.1.10", Some(Status(5, 1, 10))),
            ("5.123.999", Some(Status(5, 123, 999))),
            ("5.0.0", Some(Status(5, 0, 0))),
            // Leading zeros: RFC 3463 §2 says MUST NOT.
            ("5.01.1", None),
            ("5.1.01", None),
            ("5.00.0", None),
            ("05.1.1", None),
            // Classes other than 2, 4 and 5.
            ("3.1.1", None),
            ("1.0.0", None),
            ("55.1.1", None),
            // Not three parts of one to three digits.
            ("5.1", None),
            ("5.1.1.1", None),
            ("5.1.1000", None),
            ("5.1000.1", None),
            ("5.1.", None),
            ("5..1", None),
            ("5.x.1", None),
            ("5.a.1", None),
            ("5.+1.1", None),
            (" 5.1.1", None),
            ("5.1.1 ", None),
            ("", None),
        ];
        for (text, expected) in table {
            assert_eq!(text.parse::<Status>().ok(), expected, "{text:?}");
        }
    }

    #[test]
    fn display_and_from_str_round_trip() {
        for class in [2, 4, 5] {
            for subject in [0, 1, 9, 10, 99, 100, 999] {
                for detail in [0, 7, 10, 999] {
                    let status = Status(class, subject, detail);
                    let text = status.to_string();
                    assert_eq!(text.parse::<Status>(), Ok(status), "{text}");
                }
            }
        }
        assert_eq!(Status(5, 1, 10).to_string(), "5.1.10");
    }

    #[test]
    fn the_error_names_the_text() {
        let err = "5.01.1".parse::<Status>().unwrap_err();
        assert_eq!(err.to_string(), "\"5.01.1\" is not an RFC 3463 status code");
    }

    #[test]
    fn other_and_transient() {
        assert_eq!(Status::other(4).to_string(), "4.0.0");
        assert!(Status(4, 4, 7).is_transient());
        assert!(!Status(5, 4, 7).is_transient());
    }
}
