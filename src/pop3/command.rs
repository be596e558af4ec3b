//! One POP3 command line becomes a [`Command`] (RFC 1939 §3, §5-§7; RFC 2449 §5).
//!
//! A command is a keyword of three or four letters, case-insensitive, then arguments
//! separated by single spaces. Message numbers are decimal, from 1. PASS is the one
//! command whose argument is "the rest of the line": RFC 1939 §7 lets a password hold
//! spaces.
//!
//! Left out: APOP (RFC 1939 §7) and AUTH (RFC 5034).

// ANCHOR: command
/// Every command postie understands, with its arguments parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// RFC 2449 §5: list the capabilities.
    Capa,
    /// RFC 2595 §4: start TLS on this connection, before logging in.
    Stls,
    /// RFC 1939 §7: the name of the mailbox (for postie, the full address).
    User(String),
    /// RFC 1939 §7: the password for the name given in USER.
    Pass(String),
    Stat,
    /// LIST, or LIST n.
    List(Option<usize>),
    Retr(usize),
    Dele(usize),
    Noop,
    Rset,
    Quit,
    /// TOP n lines: the header and that many lines of the body.
    Top(usize, usize),
    /// UIDL, or UIDL n.
    Uidl(Option<usize>),
}
// ANCHOR_END: command

/// Why a line is not a command; becomes an `-ERR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// A keyword we do not know.
    Unknown,
    /// A known keyword with wrong arguments; the text shows the right form.
    Syntax(&'static str),
}

impl Command {
    /// Where the command is defined, for `--trace`.
    pub fn section(&self) -> &'static str {
        match self {
            Command::Capa => "RFC 2449 §5",
            Command::Stls => "RFC 2595 §4",
            Command::Quit => "RFC 1939 §6",
            Command::User(_) | Command::Pass(_) | Command::Top(..) | Command::Uidl(_) => {
                "RFC 1939 §7"
            }
            _ => "RFC 1939 §5",
        }
    }

    /// The keyword, for traces ("PASS" never shows the password).
    pub fn keyword(&self) -> &'static str {
        match self {
            Command::Capa => "CAPA",
            Command::Stls => "STLS",
            Command::User(_) => "USER",
            Command::Pass(_) => "PASS",
            Command::Stat => "STAT",
            Command::List(_) => "LIST",
            Command::Retr(_) => "RETR",
            Command::Dele(_) => "DELE",
            Command::Noop => "NOOP",
            Command::Rset => "RSET",
            Command::Quit => "QUIT",
            Command::Top(..) => "TOP",
            Command::Uidl(_) => "UIDL",
        }
    }
}

// ANCHOR: parse
/// Parses one command line (without its CRLF).
pub fn parse(line: &[u8]) -> Result<Command, ParseError> {
    // Commands are ASCII; a password may be UTF-8, and is compared as bytes of UTF-8.
    let Ok(line) = std::str::from_utf8(line) else {
        return Err(ParseError::Unknown);
    };
    let (keyword, rest) = match line.split_once(' ') {
        Some((keyword, rest)) => (keyword, Some(rest)),
        None => (line, None),
    };
    let args: Vec<&str> = rest.map_or(vec![], |r| r.split(' ').collect());
    let keyword = keyword.to_ascii_uppercase();
    use Command::*;
    match (keyword.as_str(), args.as_slice()) {
        ("CAPA", []) => Ok(Capa),
        ("STLS", []) => Ok(Stls),
        ("USER", [name]) if !name.is_empty() => Ok(User(name.to_string())),
        ("USER", _) => Err(ParseError::Syntax("USER name@domain")),
        // RFC 1939 §7: the password is everything after "PASS ", spaces included.
        ("PASS", _) => match rest {
            Some(password) if !password.is_empty() => Ok(Pass(password.to_string())),
            _ => Err(ParseError::Syntax("PASS password")),
        },
        ("STAT", []) => Ok(Stat),
        ("LIST", []) => Ok(List(None)),
        ("LIST", [n]) => number(n)
            .map(|n| List(Some(n)))
            .ok_or(ParseError::Syntax("LIST [msg]")),
        ("RETR", [n]) => number(n).map(Retr).ok_or(ParseError::Syntax("RETR msg")),
        ("DELE", [n]) => number(n).map(Dele).ok_or(ParseError::Syntax("DELE msg")),
        ("NOOP", []) => Ok(Noop),
        ("RSET", []) => Ok(Rset),
        ("QUIT", []) => Ok(Quit),
        ("TOP", [n, lines]) => match (number(n), count(lines)) {
            (Some(n), Some(lines)) => Ok(Top(n, lines)),
            _ => Err(ParseError::Syntax("TOP msg lines")),
        },
        ("UIDL", []) => Ok(Uidl(None)),
        ("UIDL", [n]) => number(n)
            .map(|n| Uidl(Some(n)))
            .ok_or(ParseError::Syntax("UIDL [msg]")),
        ("CAPA", _) => Err(ParseError::Syntax("CAPA")),
        ("STLS", _) => Err(ParseError::Syntax("STLS")),
        ("STAT", _) => Err(ParseError::Syntax("STAT")),
        ("LIST", _) => Err(ParseError::Syntax("LIST [msg]")),
        ("RETR", _) => Err(ParseError::Syntax("RETR msg")),
        ("DELE", _) => Err(ParseError::Syntax("DELE msg")),
        ("NOOP", _) => Err(ParseError::Syntax("NOOP")),
        ("RSET", _) => Err(ParseError::Syntax("RSET")),
        ("QUIT", _) => Err(ParseError::Syntax("QUIT")),
        ("TOP", _) => Err(ParseError::Syntax("TOP msg lines")),
        ("UIDL", _) => Err(ParseError::Syntax("UIDL [msg]")),
        _ => Err(ParseError::Unknown),
    }
}
// ANCHOR_END: parse

/// A message number: decimal digits only, from 1 (RFC 1939 §3).
fn number(text: &str) -> Option<usize> {
    count(text).filter(|&n| n >= 1)
}

/// A non-negative count (TOP's line count may be 0).
fn count(text: &str) -> Option<usize> {
    if text.is_empty() || text.len() > 10 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table() {
        let rows: &[(&str, Result<Command, ParseError>)] = &[
            ("CAPA", Ok(Command::Capa)),
            ("stls", Ok(Command::Stls)),
            (
                "user alice@localhost",
                Ok(Command::User("alice@localhost".into())),
            ),
            ("PASS two words", Ok(Command::Pass("two words".into()))),
            ("STAT", Ok(Command::Stat)),
            ("LIST", Ok(Command::List(None))),
            ("LIST 2", Ok(Command::List(Some(2)))),
            ("RETR 1", Ok(Command::Retr(1))),
            // Up to ten digits; eleven are refused before they can overflow.
            ("RETR 1234567890", Ok(Command::Retr(1234567890))),
            ("DELE 10", Ok(Command::Dele(10))),
            ("noop", Ok(Command::Noop)),
            ("RSET", Ok(Command::Rset)),
            ("QUIT", Ok(Command::Quit)),
            ("TOP 1 0", Ok(Command::Top(1, 0))),
            ("UIDL", Ok(Command::Uidl(None))),
            ("UIDL 3", Ok(Command::Uidl(Some(3)))),
            ("APOP alice 0123", Err(ParseError::Unknown)),
            ("HELO", Err(ParseError::Unknown)),
            ("", Err(ParseError::Unknown)),
        ];
        for (line, expected) in rows {
            assert_eq!(&parse(line.as_bytes()), expected, "{line:?}");
        }
    }

    /// `--trace` names each command and where it is defined: RFC 1939 §5 for the
    /// TRANSACTION commands, §6 for QUIT (the UPDATE state), §7 for the optional ones.
    #[test]
    fn each_command_has_its_keyword_and_rfc_section() {
        let rows = [
            ("CAPA", "CAPA", "RFC 2449 §5"),
            ("STLS", "STLS", "RFC 2595 §4"),
            ("USER alice", "USER", "RFC 1939 §7"),
            ("PASS secret", "PASS", "RFC 1939 §7"),
            ("STAT", "STAT", "RFC 1939 §5"),
            ("LIST", "LIST", "RFC 1939 §5"),
            ("RETR 1", "RETR", "RFC 1939 §5"),
            ("DELE 1", "DELE", "RFC 1939 §5"),
            ("NOOP", "NOOP", "RFC 1939 §5"),
            ("RSET", "RSET", "RFC 1939 §5"),
            ("QUIT", "QUIT", "RFC 1939 §6"),
            ("TOP 1 2", "TOP", "RFC 1939 §7"),
            ("UIDL", "UIDL", "RFC 1939 §7"),
        ];
        for (line, keyword, section) in rows {
            let command = parse(line.as_bytes()).unwrap();
            assert_eq!((command.keyword(), command.section()), (keyword, section));
        }
    }

    /// A line with the right command but the wrong arguments gets the command's usage
    /// in its `-ERR`: each usage, and the lines that get it.
    #[test]
    fn syntax_errors_name_the_usage() {
        let rows: &[(&'static str, &[&str])] = &[
            ("STLS", &["STLS now"]),
            (
                "RETR msg",
                &[
                    "RETR 0",
                    "RETR -1",
                    "RETR +1",
                    "RETR",
                    "RETR 1 2",
                    "RETR 99999999999",
                ],
            ),
            ("LIST [msg]", &["LIST  1"]),
            ("TOP msg lines", &["TOP 1"]),
            ("PASS password", &["PASS", "PASS "]),
            ("USER name@domain", &["USER", "USER "]),
            ("STAT", &["STAT now"]),
            ("CAPA", &["CAPA all"]),
            ("DELE msg", &["DELE", "DELE 0", "DELE 1 2"]),
            ("NOOP", &["NOOP now"]),
            ("RSET", &["RSET all"]),
            ("QUIT", &["QUIT now"]),
            ("UIDL [msg]", &["UIDL x", "UIDL 1 2"]),
        ];
        for &(usage, lines) in rows {
            for line in lines {
                let expected = Err(ParseError::Syntax(usage));
                assert_eq!(parse(line.as_bytes()), expected, "{line:?}");
            }
        }
    }

    #[test]
    fn not_utf8_is_not_a_command() {
        assert_eq!(parse(b"PASS \xff"), Err(ParseError::Unknown));
    }
}
