//! iMIP (RFC 6047): an iTIP message carried by mail. Composing one, and finding one
//! in a message that arrived.
//!
//! A message postie sends (RFC 6047 §2.4, §4): `multipart/alternative` with a
//! `text/plain` part a person can read first, and the calendar object last as
//! `text/calendar; method=…` (the parameter must equal the object's METHOD, §2.4).
//! Non-ASCII text goes in base64; a header with non-ASCII words uses RFC 2047.
//!
//! A message that arrives may carry its calendar object as that alternative part
//! (Outlook, Thunderbird, postie), or also as an `application/ics` attachment beside
//! it (Gmail): the first `text/calendar` part is the one, else the first
//! `application/ics` one.

use base64::Engine;
use chrono::{DateTime, Utc};

use super::model::{Meeting, Method, Person};
use super::write;
use super::zone::iana;

// ANCHOR: when
/// `Monday 2 November 2026, 09:00 to 10:00 (Europe/Berlin)`: a meeting's time in
/// its own zone (or UTC), in ASCII, so that an invitation between people with ASCII
/// names travels as plain 7bit text anyone can read.
pub fn when_text(start: DateTime<Utc>, end: DateTime<Utc>, zone: Option<&str>) -> String {
    let tz = zone.and_then(iana).unwrap_or(chrono_tz::UTC);
    let (s, e) = (start.with_timezone(&tz), end.with_timezone(&tz));
    let end_format = match s.date_naive() == e.date_naive() {
        true => "%H:%M",
        false => "%A %-d %B %Y, %H:%M",
    };
    format!(
        "{} to {} ({})",
        s.format("%A %-d %B %Y, %H:%M"),
        e.format(end_format),
        tz.name()
    )
}
// ANCHOR_END: when

/// The words of the `text/plain` part, and the subject.
pub fn human(method: Method, m: &Meeting, from: &Person) -> (String, String) {
    let when = m
        .when
        .as_ref()
        .map(|w| when_text(w.start, w.end, w.zone.as_deref()))
        .unwrap_or_default();
    let who: Vec<String> = std::iter::once(format!("{} (organizer)", m.organizer.shown()))
        .chain(m.attendees.iter().map(|a| a.person.shown()))
        .collect();
    let mut details = format!("What:  {}\r\nWhen:  {when}\r\n", m.title());
    if !m.location.is_empty() {
        details.push_str(&format!("Where: {}\r\n", m.location));
    }
    match method {
        Method::Request => (
            format!("Invitation: {}", m.title()),
            format!(
                "{} invites you to a meeting.\r\n\r\n{details}Who:   {}\r\n\r\n\
                 Answer in your calendar program, or open this message in postie's web view.\r\n",
                from.shown(),
                who.join(", ")
            ),
        ),
        Method::Reply => {
            let verb = m
                .attendees
                .first()
                .map_or("has answered", |a| a.partstat.verb());
            let word = m
                .attendees
                .first()
                .map_or("Answered", |a| match a.partstat.as_str() {
                    "ACCEPTED" => "Accepted",
                    "TENTATIVE" => "Tentative",
                    "DECLINED" => "Declined",
                    _ => "Answered",
                });
            (
                format!("{word}: {}", m.title()),
                format!("{} {verb}.\r\n\r\n{details}", from.shown()),
            )
        }
        Method::Cancel => (
            format!("Cancelled: {}", m.title()),
            format!(
                "{} has cancelled this meeting.\r\n\r\n{details}",
                from.shown()
            ),
        ),
    }
}

/// RFC 2047 §4.1 `B` encoding for a header's words when they are not ASCII.
fn header_words(text: &str) -> String {
    let text: String = text.chars().filter(|c| !c.is_control()).collect();
    if text.is_ascii() {
        return text;
    }
    // §2: an encoded word is at most 75 characters; 45 octets of UTF-8 fit.
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    words.push(chunk);
    words
        .iter()
        .map(|w| {
            format!(
                "=?UTF-8?B?{}?=",
                base64::engine::general_purpose::STANDARD.encode(w)
            )
        })
        .collect::<Vec<_>>()
        .join("\r\n ")
}

/// `"Name" <address>` (RFC 5322 §3.4) or the bare address.
fn mailbox(p: &Person) -> String {
    let name: String = p
        .name
        .chars()
        .filter(|c| !c.is_control() && *c != '"' && *c != '\\')
        .collect();
    match (name.is_empty(), name.is_ascii()) {
        (true, _) => format!("<{}>", p.address),
        (false, true) => format!("\"{name}\" <{}>", p.address),
        (false, false) => format!("{} <{}>", header_words(&name), p.address),
    }
}

/// A part's transfer encoding: 7bit for ASCII, else base64 in 76-character lines.
fn body(text: &str) -> (&'static str, String) {
    if text.is_ascii() {
        return ("7bit", text.to_string());
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap_or(""))
        .collect();
    ("base64", lines.join("\r\n") + "\r\n")
}

// ANCHOR: compose
/// An iMIP message from `from` to `to` (RFC 6047 §2): the text part, then the
/// calendar. `unique` makes the Message-ID and the boundary.
pub fn compose(
    method: Method,
    m: &Meeting,
    from: &Person,
    to: &[Person],
    now: DateTime<Utc>,
    unique: &str,
) -> Vec<u8> {
    let (subject, text) = human(method, m, from);
    let calendar = write::write(Some(method), m);
    let boundary = format!("=_postie_{unique}");
    let domain = from
        .address
        .rsplit_once('@')
        .map_or("localhost", |(_, d)| d);
    let date = time::OffsetDateTime::from_unix_timestamp(now.timestamp())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let to: Vec<String> = to.iter().map(mailbox).collect();
    let (text_encoding, text) = body(&text);
    let (calendar_encoding, calendar) = body(&calendar);
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\n\
         Message-ID: <{unique}@{domain}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n\
         --{boundary}\r\nContent-Type: text/plain; charset=UTF-8\r\n\
         Content-Transfer-Encoding: {text_encoding}\r\n\r\n{text}\r\n\
         --{boundary}\r\nContent-Type: text/calendar; charset=UTF-8; method={method}\r\n\
         Content-Transfer-Encoding: {calendar_encoding}\r\n\r\n{calendar}\r\n\
         --{boundary}--\r\n",
        from = mailbox(from),
        to = to.join(",\r\n "),
        subject = header_words(&subject),
        date = crate::date::rfc5322_date(date),
        method = method.as_str(),
    )
    .into_bytes()
}
// ANCHOR_END: compose

/// What a message that arrived says about a meeting: the calendar object's text and
/// the address in `From:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carried {
    pub calendar: String,
    pub from: String,
}

/// The calendar object a message carries, if any (see the module's header).
pub fn carried(bytes: &[u8]) -> Option<Carried> {
    let message = mail_parser::MessageParser::default().parse(bytes)?;
    let kind = |part: &mail_parser::MessagePart<'_>| {
        use mail_parser::MimeHeaders;
        part.content_type().map(|ct| {
            (
                ct.ctype().to_ascii_lowercase(),
                ct.subtype().unwrap_or("").to_ascii_lowercase(),
            )
        })
    };
    let find = |wanted: (&str, &str)| {
        message
            .parts
            .iter()
            .find(|p| kind(p).is_some_and(|(t, s)| t == wanted.0 && s == wanted.1))
    };
    let part = find(("text", "calendar")).or_else(|| find(("application", "ics")))?;
    let calendar = match &part.body {
        mail_parser::PartType::Text(text) => text.to_string(),
        _ => String::from_utf8_lossy(part.contents()).into_owned(),
    };
    let from = message
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap_or("")
        .to_string();
    Some(Carried { calendar, from })
}
