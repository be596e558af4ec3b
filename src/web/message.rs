//! A stored message, decoded as a reader needs it (RFC 5322 fields, MIME of
//! RFC 2045–2049, encoded words of RFC 2047, charsets such as GB2312, GBK, GB18030 and
//! Big5 through `mail-parser`'s full encoding tables), in the shapes of Mailpit's API
//! v1: a list item (`MessageSummary` in its swagger) and a whole message (`Message`).
//!
//! The names and shapes follow Mailpit's swagger to the letter, because its clients
//! rely on them: `From` an object (empty strings when missing), every list an array
//! and never null, dates in RFC 3339, `MessageID` and `ReturnPath` without `<>`.
//!
//! Left out: Mailpit's `Tags` are always empty (postie has no tags), `Inline` parts
//! are listed with attachments, `ListUnsubscribe` is parsed only for its links.

use std::time::SystemTime;

use mail_parser::{Address, MessageParser, MimeHeaders, PartType};
use serde::Serialize;

use super::mail::{Item, MessageRef};

/// One address: `{"Name": "Bob", "Address": "bob@example.test"}`.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct EmailAddress {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Address")]
    pub address: String,
}

// ANCHOR: summary
/// A message in a list (Mailpit's `MessageSummary`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Summary {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "MessageID")]
    pub message_id: String,
    pub read: bool,
    pub from: EmailAddress,
    pub to: Vec<EmailAddress>,
    pub cc: Vec<EmailAddress>,
    pub bcc: Vec<EmailAddress>,
    pub reply_to: Vec<EmailAddress>,
    pub subject: String,
    /// When postie received it, RFC 3339.
    pub created: String,
    pub username: String,
    pub tags: Vec<String>,
    pub size: u64,
    pub attachments: usize,
    pub snippet: String,
    /// postie's own: the session that delivered it, while it is kept.
    #[serde(rename = "SessionID")]
    pub session_id: Option<String>,
    /// postie's own: the mailbox it is in.
    pub mailbox: String,
}
// ANCHOR_END: summary

/// An attachment (Mailpit's `Attachment`).
#[derive(Debug, Clone, Serialize)]
pub struct Attachment {
    #[serde(rename = "PartID")]
    pub part_id: String,
    #[serde(rename = "FileName")]
    pub file_name: String,
    #[serde(rename = "ContentType")]
    pub content_type: String,
    #[serde(rename = "ContentID")]
    pub content_id: String,
    #[serde(rename = "Size")]
    pub size: usize,
}

/// `List-Unsubscribe` (RFC 2369, RFC 8058), as Mailpit shows it.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListUnsubscribe {
    pub header: String,
    pub links: Vec<String>,
    pub errors: String,
    pub header_post: String,
}

// ANCHOR: detail
/// A whole message (Mailpit's `Message`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Detail {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "MessageID")]
    pub message_id: String,
    pub from: EmailAddress,
    pub to: Vec<EmailAddress>,
    pub cc: Vec<EmailAddress>,
    pub bcc: Vec<EmailAddress>,
    pub reply_to: Vec<EmailAddress>,
    pub return_path: String,
    pub subject: String,
    pub list_unsubscribe: ListUnsubscribe,
    /// The Date field, or when postie received it; RFC 3339.
    pub date: String,
    pub username: String,
    pub tags: Vec<String>,
    #[serde(rename = "Text")]
    pub text: String,
    /// The HTML part as sent; pages show it only sanitized and sandboxed.
    #[serde(rename = "HTML")]
    pub html: String,
    pub size: u64,
    pub inline: Vec<Attachment>,
    pub attachments: Vec<Attachment>,
    #[serde(rename = "SessionID")]
    pub session_id: Option<String>,
    pub mailbox: String,
    pub read: bool,
}
// ANCHOR_END: detail

/// RFC 3339, UTC, to the millisecond: `2026-11-28T01:35:45.399Z`.
pub fn rfc3339(time: SystemTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::from(time)
        .format(&format)
        .unwrap_or_default()
}

fn addresses(address: Option<&Address<'_>>) -> Vec<EmailAddress> {
    address
        .map(|a| {
            a.iter()
                .map(|addr| EmailAddress {
                    name: addr.name().unwrap_or("").to_string(),
                    address: addr.address().unwrap_or("").to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn strip_angles(text: &str) -> String {
    text.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}

/// The first 250 characters of the text, its whitespace folded (Mailpit's snippet).
fn snippet(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    words.join(" ").chars().take(250).collect()
}

/// What the list needs of one message.
pub fn summary(item: &Item, mailbox: &str, bytes: &[u8], session: Option<u64>) -> Summary {
    let parsed = MessageParser::default().parse(bytes);
    summary_of(item, mailbox, parsed.as_ref(), session)
}

/// [`summary`] of a message already parsed (`None`: it could not be).
fn summary_of(
    item: &Item,
    mailbox: &str,
    parsed: Option<&mail_parser::Message<'_>>,
    session: Option<u64>,
) -> Summary {
    let id = MessageRef {
        mailbox: mailbox.to_string(),
        unique: item.unique.clone(),
    }
    .id();
    let (from, to, cc, bcc, reply_to, subject, message_id, attachments, text) = match parsed {
        Some(m) => (
            addresses(m.from()).into_iter().next().unwrap_or_default(),
            addresses(m.to()),
            addresses(m.cc()),
            addresses(m.bcc()),
            addresses(m.reply_to()),
            m.subject().unwrap_or("").to_string(),
            m.message_id().unwrap_or("").to_string(),
            m.attachment_count(),
            m.body_text(0)
                .map(|t| t.into_owned())
                .or_else(|| m.body_html(0).map(|h| html_to_text(&h)))
                .unwrap_or_default(),
        ),
        None => Default::default(),
    };
    Summary {
        id,
        message_id: strip_angles(&message_id),
        read: item.read,
        from,
        to,
        cc,
        bcc,
        reply_to,
        subject,
        created: rfc3339(item.received()),
        username: String::new(),
        tags: vec![],
        size: item.octets,
        attachments,
        snippet: snippet(&text),
        session_id: session.map(|s| s.to_string()),
        mailbox: mailbox.to_string(),
    }
}

/// The whole message.
pub fn detail(item: &Item, mailbox: &str, bytes: &[u8], session: Option<u64>) -> Detail {
    let parsed = MessageParser::default().parse(bytes);
    let head = summary_of(item, mailbox, parsed.as_ref(), session);
    let mut out = Detail {
        id: head.id,
        message_id: head.message_id,
        from: head.from,
        to: head.to,
        cc: head.cc,
        bcc: head.bcc,
        reply_to: head.reply_to,
        return_path: String::new(),
        subject: head.subject,
        list_unsubscribe: ListUnsubscribe::default(),
        date: head.created,
        username: String::new(),
        tags: vec![],
        text: String::new(),
        html: String::new(),
        size: item.octets,
        inline: vec![],
        attachments: vec![],
        session_id: head.session_id,
        mailbox: mailbox.to_string(),
        read: item.read,
    };
    let Some(m) = parsed else {
        out.text = String::from_utf8_lossy(bytes).into_owned();
        return out;
    };
    if let Some(date) = m.date() {
        out.date = date.to_rfc3339();
    }
    out.return_path = m.return_address().map(strip_angles).unwrap_or_default();
    out.text = m.body_text(0).map(|t| t.into_owned()).unwrap_or_default();
    out.html = m.body_html(0).map(|h| h.into_owned()).unwrap_or_default();
    // mail-parser makes a text body from an HTML-only message and the reverse; show
    // only what was sent.
    let sent_text = m.text_part(0).is_some_and(|p| !p.is_text_html());
    let sent_html = m.html_part(0).is_some_and(|p| p.is_text_html());
    if !sent_text && sent_html {
        out.text.clear();
    }
    if !sent_html {
        out.html.clear();
    }
    if let Some(header) = m.header_raw("List-Unsubscribe") {
        out.list_unsubscribe.header = header.trim().to_string();
        out.list_unsubscribe.links = header
            .split(',')
            .map(strip_angles)
            .filter(|l| !l.is_empty())
            .collect();
    }
    out.attachments = attachments(&m);
    out
}

/// Every attachment, with its part number as its id.
fn attachments(m: &mail_parser::Message<'_>) -> Vec<Attachment> {
    m.attachments
        .iter()
        .filter_map(|&part_id| {
            let part = m.parts.get(part_id as usize)?;
            let content_type = part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_string(),
                })
                .unwrap_or_else(|| "application/octet-stream".into());
            Some(Attachment {
                part_id: part_id.to_string(),
                file_name: part.attachment_name().unwrap_or("").to_string(),
                content_type,
                content_id: part.content_id().map(strip_angles).unwrap_or_default(),
                size: part.contents().len(),
            })
        })
        .collect()
}

/// An attachment's bytes (decoded from base64 or quoted-printable) and its type.
pub fn part(bytes: &[u8], part_id: &str) -> Option<(Vec<u8>, Attachment)> {
    let m = MessageParser::default().parse(bytes)?;
    let wanted: u32 = part_id.parse().ok()?;
    let attachment = attachments(&m).into_iter().find(|a| a.part_id == part_id)?;
    let part = m.parts.get(wanted as usize)?;
    let contents = match &part.body {
        PartType::Message(inner) => inner.raw_message().to_vec(),
        _ => part.contents().to_vec(),
    };
    Some((contents, attachment))
}

/// Every header field, unfolded, by name: `{"Subject": ["Hi"]}` (Mailpit's
/// `/headers`); values as sent.
pub fn headers(bytes: &[u8]) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut map: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    if let Some(m) = MessageParser::default().parse_headers(bytes) {
        for (name, value) in m.headers_raw() {
            let unfolded: String = value
                .split(['\r', '\n'])
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            map.entry(name.to_string()).or_default().push(unfolded);
        }
    }
    map
}

/// HTML to words, for snippets and search: tags out, entities as ammonia leaves them.
pub fn html_to_text(html: &str) -> String {
    let cleaned = ammonia::Builder::empty().clean(html).to_string();
    cleaned
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(bytes: &[u8]) -> Item {
        Item {
            unique: "1795829745.M399954P9554Q1.mx".into(),
            read: false,
            octets: bytes.len() as u64,
            stored: None,
        }
    }

    #[test]
    fn chinese_charsets_and_encoded_words() {
        // "你好" in GB2312 (as GBK and GB18030 write it too) and in Big5.
        let gb = b"From: =?GB2312?B?1cXI/Q==?= <zhang@example.test>\r\n\
            To: bob@localhost\r\nSubject: =?GB2312?B?xOO6ww==?=\r\n\
            Content-Type: text/plain; charset=GB2312\r\n\r\n\xc4\xe3\xba\xc3\r\n";
        let s = summary(&item(gb), "bob@localhost", gb, Some(7));
        assert_eq!(s.subject, "你好");
        assert_eq!(s.from.name, "张三");
        assert_eq!(s.snippet, "你好");
        assert_eq!(s.session_id.as_deref(), Some("7"));
        let big5 = b"Subject: =?Big5?B?p0Gmbg==?=\r\nContent-Type: text/plain; charset=Big5\r\n\r\n\xa7\x41\xa6\x6e\r\n";
        let s = summary(&item(big5), "bob@localhost", big5, None);
        assert_eq!((s.subject.as_str(), s.snippet.as_str()), ("你好", "你好"));
        // SMTPUTF8 (RFC 6532): UTF-8 straight in the header, addresses included.
        let utf8 = "From: 用户 <用户@例子.广告>\r\nSubject: 你好\r\n\r\nx\r\n".as_bytes();
        let s = summary(&item(utf8), "bob@localhost", utf8, None);
        assert_eq!(
            (s.from.name.as_str(), s.from.address.as_str()),
            ("用户", "用户@例子.广告")
        );
        assert_eq!(s.subject, "你好");
        let gb18030 = b"Subject: =?GB18030?B?xOO6ww==?=\r\n\r\nx\r\n";
        assert_eq!(
            summary(&item(gb18030), "b@l", gb18030, None).subject,
            "你好"
        );
    }

    #[test]
    fn shapes_that_clients_rely_on() {
        let bytes = b"Return-Path: <a@example.test>\r\nMessage-ID: <x@y>\r\n\
            Date: Sat, 28 Nov 2026 01:35:45 +0000\r\nSubject: plain\r\n\r\nhello\r\n";
        let d = detail(&item(bytes), "bob@localhost", bytes, None);
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["MessageID"], "x@y");
        assert_eq!(json["ReturnPath"], "a@example.test");
        assert_eq!(json["Date"], "2026-11-28T01:35:45Z");
        assert_eq!(json["From"]["Address"], "");
        for list in [
            "To",
            "Cc",
            "Bcc",
            "ReplyTo",
            "Tags",
            "Attachments",
            "Inline",
        ] {
            assert!(json[list].is_array(), "{list} is an array");
        }
        assert_eq!(json["Text"].as_str().map(str::trim), Some("hello"));
        assert_eq!(json["HTML"], "");
        let headers = headers(b"Subject: a\r\n b\r\nX: 1\r\nX: 2\r\n\r\nbody");
        assert_eq!(headers["Subject"], ["a b"]);
        assert_eq!(headers["X"], ["1", "2"]);
    }

    #[test]
    fn attachments_are_parts() {
        let bytes = b"Subject: files\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
            --b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n\
            --b\r\nContent-Type: text/plain; name=\"<script>.txt\"\r\n\
            Content-Disposition: attachment; filename=\"<script>.txt\"\r\n\
            Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--b--\r\n";
        let d = detail(&item(bytes), "bob@localhost", bytes, None);
        assert_eq!(d.attachments.len(), 1);
        let a = &d.attachments[0];
        assert_eq!(
            (a.file_name.as_str(), a.content_type.as_str(), a.size),
            ("<script>.txt", "text/plain", 5)
        );
        let (contents, _) = part(bytes, &a.part_id).unwrap();
        assert_eq!(contents, b"hello");
        assert!(part(bytes, "0").is_none() && part(bytes, "..").is_none());
    }
}
