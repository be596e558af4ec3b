//! Commands: one line from the client turned into a [`Command`] (RFC 5321 §4.1.1).
//!
//! The parser only checks *syntax*. Whether a command may be used *now* is the
//! session's business. A syntax error is returned as the [`Reply`] to send, so
//! the session never sees a malformed command (check, then proceed).
//!
//! Verbs and parameter keywords are case-insensitive (§2.4). Arguments are separated
//! by one space. After the colon of `MAIL FROM:` and `RCPT TO:` the grammar allows no
//! space, but many clients send one, so we accept it (RFC 5321 §4.1.2 does not forbid
//! being lenient here, and Postfix is too).
//!
//! Left out: BDAT (CHUNKING is not offered).

use super::reply::{Reply, Status};
use crate::address::{
    parse_ehlo_argument, parse_forward_path, parse_reverse_path, AddressError, ForwardPath, Host,
    ReversePath,
};

// ANCHOR: command
/// Every command postie understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// §4.1.1.1: "EHLO" SP ( Domain / address-literal )
    Ehlo(Host),
    /// §4.1.1.1: "HELO" SP Domain
    Helo(Host),
    /// §4.1.1.2: "MAIL FROM:" Reverse-path [SP Mail-parameters]
    Mail(ReversePath, MailParameters),
    /// §4.1.1.3: "RCPT TO:" Forward-path [SP Rcpt-parameters]
    Rcpt(ForwardPath),
    /// §4.1.1.4
    Data,
    /// §4.1.1.5
    Rset,
    /// §4.1.1.6: "VRFY" SP String
    Vrfy(String),
    /// §4.1.1.8: "HELP" [ SP String ]
    Help(Option<String>),
    /// §4.1.1.9: "NOOP" [ SP String ]
    Noop,
    /// §4.1.1.10
    Quit,
    /// RFC 3207 §4: "STARTTLS", no parameters.
    StartTls,
    /// RFC 4954 §4: "AUTH" SP sasl-mech [SP initial-response]
    Auth {
        mechanism: String,
        initial_response: Option<String>,
    },
    /// A verb from RFC 5321 (or an extension) that postie knows but does not
    /// implement: EXPN, TURN, ETRN... Answered with 502.
    NotImplemented(String),
}
// ANCHOR_END: command

impl Command {
    /// The verb as the RFC spells it, for logs and `--trace`.
    pub fn verb(&self) -> &str {
        match self {
            Command::Ehlo(_) => "EHLO",
            Command::Helo(_) => "HELO",
            Command::Mail(..) => "MAIL",
            Command::Rcpt(_) => "RCPT",
            Command::Data => "DATA",
            Command::Rset => "RSET",
            Command::Vrfy(_) => "VRFY",
            Command::Help(_) => "HELP",
            Command::Noop => "NOOP",
            Command::Quit => "QUIT",
            Command::StartTls => "STARTTLS",
            Command::Auth { .. } => "AUTH",
            Command::NotImplemented(verb) => verb,
        }
    }

    /// The section of RFC 5321 that defines this command, for `--trace`.
    pub fn section(&self) -> &'static str {
        match self {
            Command::Ehlo(_) | Command::Helo(_) => "§4.1.1.1",
            Command::Mail(..) => "§4.1.1.2",
            Command::Rcpt(_) => "§4.1.1.3",
            Command::Data => "§4.1.1.4",
            Command::Rset => "§4.1.1.5",
            Command::Vrfy(_) => "§4.1.1.6",
            Command::Help(_) => "§4.1.1.8",
            Command::Noop => "§4.1.1.9",
            Command::Quit => "§4.1.1.10",
            Command::StartTls => "RFC 3207 §4",
            Command::Auth { .. } => "RFC 4954 §4",
            Command::NotImplemented(_) => "§4.2.4",
        }
    }
}

// ANCHOR: mail_parameters
/// What a message body contains (RFC 6152: BODY=8BITMIME).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Body {
    #[default]
    SevenBit,
    EightBitMime,
}

/// The parameters we accept on MAIL FROM.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MailParameters {
    /// RFC 1870: the client's estimate of the message size.
    pub size: Option<u64>,
    /// RFC 6152
    pub body: Body,
    /// RFC 6531: UTF-8 addresses and headers may follow.
    pub smtputf8: bool,
}
// ANCHOR_END: mail_parameters

/// Commands from RFC 5321 and common extensions that we recognise but do not offer.
/// RFC 5321 §4.2.4: 502 for "command not implemented", 500 for a verb we do not know.
const NOT_IMPLEMENTED: &[&str] = &[
    "EXPN", "TURN", "SEND", "SOML", "SAML", "ETRN", "ATRN", "BDAT",
];

// ANCHOR: parse
/// Parses one command line (without its CRLF).
pub fn parse(line: &[u8]) -> Result<Command, Reply> {
    // Commands are ASCII; only SMTPUTF8 addresses may carry UTF-8 (RFC 6531 §3.3).
    let Ok(line) = std::str::from_utf8(line) else {
        return Err(Reply::syntax_error(
            Status(5, 5, 2),
            "Command line is not valid UTF-8",
        ));
    };
    let (verb, argument) = match line.split_once(' ') {
        Some((verb, argument)) => (verb, Some(argument)),
        None => (line, None),
    };
    match (verb.to_ascii_uppercase().as_str(), argument) {
        ("EHLO", Some(arg)) => parse_ehlo_argument(arg)
            .map(Command::Ehlo)
            .map_err(|e| syntax(Status(5, 5, 4), e)),
        ("HELO", Some(arg)) => parse_ehlo_argument(arg)
            .map(Command::Helo)
            .map_err(|e| syntax(Status(5, 5, 4), e)),
        ("EHLO" | "HELO", None) => Err(Reply::syntax_error(
            Status(5, 5, 4),
            format!("{verb} needs your domain name, like: {verb} client.example.com"),
        )),
        ("MAIL", Some(arg)) => parse_mail(arg),
        ("RCPT", Some(arg)) => parse_rcpt(arg),
        ("MAIL", None) => Err(usage("MAIL FROM:<address>")),
        ("RCPT", None) => Err(usage("RCPT TO:<address>")),
        // §4.1.1.4, §4.1.1.5, §4.1.1.10: these take no argument at all.
        ("DATA", None) => Ok(Command::Data),
        ("RSET", None) => Ok(Command::Rset),
        ("QUIT", None) => Ok(Command::Quit),
        ("STARTTLS", None) => Ok(Command::StartTls),
        ("AUTH", Some(arg)) if !arg.is_empty() => {
            let (mechanism, initial_response) = match arg.split_once(' ') {
                Some((m, r)) => (m, Some(r.to_string())),
                None => (arg, None),
            };
            Ok(Command::Auth {
                mechanism: mechanism.to_string(),
                initial_response,
            })
        }
        ("AUTH", _) => Err(usage("AUTH PLAIN [initial-response] or AUTH LOGIN")),
        // RFC 3207 §4: STARTTLS takes no parameters; with one it is a 501.
        ("DATA" | "RSET" | "QUIT" | "STARTTLS", Some(_)) => Err(Reply::syntax_error(
            Status(5, 5, 4),
            format!("{} takes no arguments", verb.to_ascii_uppercase()),
        )),
        ("NOOP", _) => Ok(Command::Noop),
        ("VRFY", Some(arg)) if !arg.is_empty() => Ok(Command::Vrfy(arg.to_string())),
        ("VRFY", _) => Err(usage("VRFY <user name or address>")),
        ("HELP", arg) => Ok(Command::Help(arg.map(str::to_string))),
        (v, _) if NOT_IMPLEMENTED.contains(&v) => Ok(Command::NotImplemented(v.to_string())),
        _ => Err(Reply::command_unrecognized()),
    }
}
// ANCHOR_END: parse

fn syntax(status: Status, e: AddressError) -> Reply {
    Reply::syntax_error(status, e.0)
}

fn usage(form: &str) -> Reply {
    Reply::syntax_error(Status(5, 5, 4), format!("Syntax: {form}"))
}

/// Splits `KEYWORD:<path> params...` after the verb; `keyword` is `FROM` or `TO`.
fn split_path<'a>(argument: &'a str, keyword: &str) -> Option<(&'a str, Vec<&'a str>)> {
    let (word, rest) = argument.split_once(':')?;
    if !word.eq_ignore_ascii_case(keyword) {
        return None;
    }
    // Lenient: "MAIL FROM: <a@b>" (see the module header).
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    let mut parts = rest.split(' ');
    let path = parts.next().filter(|p| !p.is_empty())?;
    Some((path, parts.collect()))
}

// ANCHOR: parse_mail
/// MAIL FROM:<reverse-path> [SIZE=n] [BODY=7BIT|8BITMIME] [SMTPUTF8]
fn parse_mail(argument: &str) -> Result<Command, Reply> {
    let Some((path, params)) = split_path(argument, "FROM") else {
        return Err(usage("MAIL FROM:<address>"));
    };
    let reverse_path = parse_reverse_path(path).map_err(|e| syntax(Status(5, 1, 7), e))?;
    let mut parameters = MailParameters::default();
    for param in params {
        let (keyword, value) = match param.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (param, None),
        };
        match (keyword.to_ascii_uppercase().as_str(), value) {
            // RFC 1870 §3: size-value = 1*20DIGIT
            ("SIZE", Some(v)) if parameters.size.is_none() => {
                if v.is_empty() || v.len() > 20 || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad_value("SIZE must be a number of octets"));
                }
                // 20 digits can exceed u64: such a size is simply too big (552 at MAIL).
                parameters.size = Some(v.parse().unwrap_or(u64::MAX));
            }
            ("BODY", Some(v)) => {
                parameters.body = match v.to_ascii_uppercase().as_str() {
                    "7BIT" => Body::SevenBit,
                    "8BITMIME" => Body::EightBitMime,
                    _ => return Err(bad_value("BODY must be 7BIT or 8BITMIME")),
                }
            }
            ("SMTPUTF8", None) => parameters.smtputf8 = true,
            ("SIZE" | "BODY", _) | ("SMTPUTF8", Some(_)) => {
                return Err(bad_value(format!(
                    "Malformed or repeated parameter {param}"
                )));
            }
            _ => return Err(Reply::parameter_unrecognized(param)),
        }
    }
    Ok(Command::Mail(reverse_path, parameters))
}
// ANCHOR_END: parse_mail

// ANCHOR: parse_rcpt
/// RCPT TO:<forward-path>; we support no RCPT parameters (§4.1.1.11: 555 for those).
fn parse_rcpt(argument: &str) -> Result<Command, Reply> {
    let Some((path, params)) = split_path(argument, "TO") else {
        return Err(usage("RCPT TO:<address>"));
    };
    let forward_path = parse_forward_path(path).map_err(|e| syntax(Status(5, 1, 3), e))?;
    if let Some(param) = params.first() {
        return Err(Reply::parameter_unrecognized(param));
    }
    Ok(Command::Rcpt(forward_path))
}
// ANCHOR_END: parse_rcpt

fn bad_value(text: impl Into<String>) -> Reply {
    Reply::syntax_error(Status(5, 5, 4), text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(line: &str) -> u16 {
        match parse(line.as_bytes()) {
            Ok(_) => 0,
            Err(r) => r.code(),
        }
    }

    /// The parser table: each line with the reply code it must produce (0 = parsed).
    #[test]
    fn table() {
        let table = [
            ("EHLO client.example", 0),
            ("ehlo client.example", 0),
            ("EhLo [127.0.0.1]", 0),
            ("EHLO", 501),
            ("EHLO my_pc", 501),
            ("HELO client.example", 0),
            ("MAIL FROM:<a@b.example>", 0),
            ("mail from:<a@b.example>", 0),
            ("MAIL FROM: <a@b.example>", 0),
            ("MAIL FROM:<>", 0),
            ("MAIL FROM:<a@b.example> SIZE=1000", 0),
            (
                "MAIL FROM:<a@b.example> size=1000 body=8bitmime smtputf8",
                0,
            ),
            ("MAIL FROM:<a@b.example> SIZE=ten", 501),
            ("MAIL FROM:<a@b.example> SIZE=-1", 501),
            ("MAIL FROM:<a@b.example> SIZE=99999999999999999999", 0),
            ("MAIL FROM:<a@b.example> SIZE=999999999999999999999", 501),
            ("MAIL FROM:<a@b.example> SIZE=1 SIZE=2", 501),
            // RFC 6152 §2: BODY=7BIT or BODY=8BITMIME, in any case.
            ("MAIL FROM:<a@b.example> BODY=7BIT", 0),
            ("MAIL FROM:<a@b.example> body=7bit", 0),
            ("MAIL FROM:<a@b.example> BODY=BINARYMIME", 501),
            ("MAIL FROM:<a@b.example> SMTPUTF8=yes", 501),
            ("MAIL FROM:<a@b.example> RET=HDRS", 555),
            ("MAIL FROM:a@b.example", 501),
            ("MAIL FROM:", 501),
            ("MAIL TO:<a@b.example>", 501),
            ("MAIL", 501),
            ("RCPT TO:<c@d.example>", 0),
            ("RCPT TO:<Postmaster>", 0),
            ("RCPT TO:<c@d.example> NOTIFY=NEVER", 555),
            ("RCPT FROM:<c@d.example>", 501),
            ("RCPT TO:<c@>", 501),
            ("RCPT", 501),
            ("DATA", 0),
            ("DATA now", 501),
            ("RSET", 0),
            ("RSET x", 501),
            ("QUIT", 0),
            ("QUIT now", 501),
            ("NOOP", 0),
            ("NOOP anything at all", 0),
            ("VRFY alice", 0),
            ("VRFY", 501),
            ("VRFY ", 501),
            ("HELP", 0),
            ("HELP MAIL", 0),
            ("EXPN staff", 0),
            ("STARTTLS", 0),
            ("STARTTLS now", 501),
            ("AUTH PLAIN", 0),
            ("AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=", 0),
            // RFC 4954 §4: AUTH names a mechanism.
            ("AUTH", 501),
            ("AUTH ", 501),
            ("FOO", 500),
            ("", 500),
            ("GET / HTTP/1.1", 500),
        ];
        for (line, expected) in table {
            assert_eq!(code(line), expected, "{line:?}");
        }
    }

    #[test]
    fn mail_parameters_are_read() {
        let Ok(Command::Mail(path, p)) =
            parse(b"MAIL FROM:<a@b.example> SIZE=1000 BODY=8BITMIME SMTPUTF8")
        else {
            panic!("should parse");
        };
        assert_eq!(path.to_string(), "a@b.example");
        assert_eq!(
            p,
            MailParameters {
                size: Some(1000),
                body: Body::EightBitMime,
                smtputf8: true
            }
        );
    }

    #[test]
    fn invalid_utf8_is_a_syntax_error() {
        assert_eq!(parse(b"MAIL FROM:<\xff@b>").unwrap_err().code(), 501);
    }

    #[test]
    fn sender_errors_use_5_1_7_and_recipient_errors_5_1_3() {
        let e = parse(b"MAIL FROM:<a..b@c>").unwrap_err();
        assert_eq!(e.status(), Some(Status(5, 1, 7)));
        let e = parse(b"RCPT TO:<a..b@c>").unwrap_err();
        assert_eq!(e.status(), Some(Status(5, 1, 3)));
    }
}
