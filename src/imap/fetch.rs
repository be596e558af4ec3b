//! FETCH's data items (RFC 3501 §6.4.5, §7.4.2): what a client reads of a message,
//! from its flags to any byte range of any MIME part.
//!
//! The MIME structure (ENVELOPE, BODYSTRUCTURE, the part numbers of `BODY[1.2]`)
//! comes from `mail-parser`, never from a parser of our own: MIME is full of old
//! forms and traps, and a well-kept parser has met them. This module only walks what it
//! found and writes IMAP's parenthesised lists.
//!
//! Everything here is pure: a message's bytes and facts in, the `n FETCH (...)` data
//! out. The connection reads the message only when an item needs it.
//!
//! Left out: BINARY (RFC 3516), extension data beyond disposition and language
//! (MD5, location are NIL), and decoding of encoded words in ENVELOPE (sent as written,
//! which is what §7.4.2 asks).

use mail_parser::{Address, HeaderName, Message, MessageParser, MimeHeaders, PartType};

use super::command::{FetchItem, Section, SectionText};
use super::folders::MessageInfo;
use super::response::{literal, nstring, string};

/// Does any item need the message's text (not just its flags, size and dates)?
pub fn needs_text(items: &[FetchItem]) -> bool {
    items.iter().any(|item| {
        !matches!(
            item,
            FetchItem::Flags | FetchItem::InternalDate | FetchItem::Rfc822Size | FetchItem::Uid
        )
    })
}

/// §6.4.5: does fetching these items set `\Seen` (BODY[...] without PEEK, RFC822,
/// RFC822.TEXT)?
pub fn sets_seen(items: &[FetchItem]) -> bool {
    items.iter().any(|item| {
        matches!(
            item,
            FetchItem::Rfc822 | FetchItem::Rfc822Text | FetchItem::Section { peek: false, .. }
        )
    })
}

// ANCHOR: render
/// `<seq> FETCH (<item> <value> ...)` for one message. `text` is the message when
/// [`needs_text`] said so.
pub fn render(
    seq: u32,
    info: &MessageInfo,
    recent: bool,
    text: Option<&[u8]>,
    items: &[FetchItem],
) -> Vec<u8> {
    let parsed = text.and_then(|t| MessageParser::default().parse(t));
    let raw = text.unwrap_or_default();
    let mut out = format!("{seq} FETCH (").into_bytes();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        match item {
            FetchItem::Uid => out.extend_from_slice(format!("UID {}", info.uid).as_bytes()),
            FetchItem::Flags => {
                out.extend_from_slice(format!("FLAGS {}", info.flags.list(recent)).as_bytes())
            }
            FetchItem::InternalDate => {
                out.extend_from_slice(b"INTERNALDATE ");
                string(&mut out, internal_date(info.internal_date).as_bytes());
            }
            FetchItem::Rfc822Size => {
                out.extend_from_slice(format!("RFC822.SIZE {}", info.size).as_bytes())
            }
            FetchItem::Envelope => {
                out.extend_from_slice(b"ENVELOPE ");
                match &parsed {
                    Some(m) => envelope(&mut out, m),
                    None => out.extend_from_slice(b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"),
                }
            }
            FetchItem::Body | FetchItem::BodyStructure => {
                let extended = *item == FetchItem::BodyStructure;
                out.extend_from_slice(if extended {
                    b"BODYSTRUCTURE "
                } else {
                    b"BODY "
                });
                match &parsed {
                    Some(m) => structure(&mut out, m, 0, extended),
                    None => out.extend_from_slice(
                        format!("(\"text\" \"plain\" NIL NIL NIL \"7bit\" {} 0)", raw.len())
                            .as_bytes(),
                    ),
                }
            }
            FetchItem::Rfc822 => {
                out.extend_from_slice(b"RFC822 ");
                literal(&mut out, raw);
            }
            FetchItem::Rfc822Header => {
                out.extend_from_slice(b"RFC822.HEADER ");
                let header = parsed.as_ref().map_or(raw, |m| root_header(m));
                literal(&mut out, header);
            }
            FetchItem::Rfc822Text => {
                out.extend_from_slice(b"RFC822.TEXT ");
                let body = parsed.as_ref().map_or(&[][..], |m| root_text(m));
                literal(&mut out, body);
            }
            FetchItem::Section {
                section, partial, ..
            } => {
                // §7.4.2: the response names the section as asked, without PEEK, and
                // a partial as its origin only.
                out.extend_from_slice(b"BODY[");
                out.extend_from_slice(section_name(section).as_bytes());
                out.push(b']');
                let content = match &parsed {
                    Some(m) => section_content(m, section),
                    None if section.part.is_empty() && section.text.is_none() => Some(raw.to_vec()),
                    None => None,
                };
                let content = content.map(|c| match partial {
                    Some((start, length)) => {
                        out.extend_from_slice(format!("<{start}>").as_bytes());
                        let start = (*start as usize).min(c.len());
                        let end = start.saturating_add(*length as usize).min(c.len());
                        c[start..end].to_vec()
                    }
                    None => c,
                });
                out.push(b' ');
                // A part that does not exist is sent empty, as Dovecot does.
                literal(&mut out, content.as_deref().unwrap_or_default());
            }
        }
    }
    out.push(b')');
    out
}
// ANCHOR_END: render

/// §9 `date-time`: `"17-Jul-1996 02:44:25 +0000"`, always in UTC.
pub fn internal_date(unix: i64) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let month = super::parse::MONTHS[usize::from(u8::from(t.month()) - 1)];
    format!(
        "{:02}-{month}-{:04} {:02}:{:02}:{:02} +0000",
        t.day(),
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn section_name(section: &Section) -> String {
    let mut name: Vec<String> = section.part.iter().map(u32::to_string).collect();
    match &section.text {
        None => {}
        Some(SectionText::Header) => name.push("HEADER".into()),
        Some(SectionText::Text) => name.push("TEXT".into()),
        Some(SectionText::Mime) => name.push("MIME".into()),
        // Field names are case-insensitive; they are answered in upper case, as
        // Dovecot and Cyrus do.
        Some(SectionText::HeaderFields(f)) => name.push(format!(
            "HEADER.FIELDS ({})",
            f.join(" ").to_ascii_uppercase()
        )),
        Some(SectionText::HeaderFieldsNot(f)) => name.push(format!(
            "HEADER.FIELDS.NOT ({})",
            f.join(" ").to_ascii_uppercase()
        )),
    }
    name.join(".")
}

/// The root header, with the blank line that ends it.
fn root_header<'m>(m: &'m Message<'_>) -> &'m [u8] {
    part_header(m, 0)
}

fn root_text<'m>(m: &'m Message<'_>) -> &'m [u8] {
    part_body(m, 0)
}

fn part_header<'m>(m: &'m Message<'_>, idx: usize) -> &'m [u8] {
    part_octets(m, idx, |part| (part.offset_header, part.offset_body))
}

fn part_body<'m>(m: &'m Message<'_>, idx: usize) -> &'m [u8] {
    part_octets(m, idx, |part| (part.offset_body, part.offset_end))
}

/// The octets of part `idx` between the two offsets `span` picks (its header or its
/// body); none for a part that is not there or offsets that do not fit the message.
fn part_octets<'m>(
    m: &'m Message<'_>,
    idx: usize,
    span: impl Fn(&mail_parser::MessagePart<'_>) -> (u32, u32),
) -> &'m [u8] {
    let Some(part) = m.parts.get(idx) else {
        return &[];
    };
    let (start, end) = span(part);
    let raw: &[u8] = &m.raw_message;
    raw.get(start as usize..end as usize).unwrap_or_default()
}

// ANCHOR: section_content
/// §6.4.5 `BODY[section]`: the octets the section names, or `None` if it names no
/// part of this message.
fn section_content(m: &Message<'_>, section: &Section) -> Option<Vec<u8>> {
    let (msg, idx) = locate(m, &section.part)?;
    // HEADER and TEXT of a part are those of the message it holds (message/rfc822).
    let nested = |msg: &Message<'_>, idx: usize| -> Option<Message<'static>> {
        if section.part.is_empty() {
            return None;
        }
        match &msg.parts.get(idx)?.body {
            PartType::Message(inner) => Some(inner.clone().into_owned()),
            _ => None,
        }
    };
    let header_of = |msg: &Message<'_>, idx: usize| -> Option<Vec<u8>> {
        match nested(msg, idx) {
            Some(inner) => Some(root_header(&inner).to_vec()),
            None if section.part.is_empty() => Some(part_header(msg, idx).to_vec()),
            None => None,
        }
    };
    match &section.text {
        None if section.part.is_empty() => Some(msg.raw_message.to_vec()),
        None => Some(part_body(msg, idx).to_vec()),
        Some(SectionText::Mime) => Some(part_header(msg, idx).to_vec()),
        Some(SectionText::Header) => header_of(msg, idx),
        Some(SectionText::Text) => match nested(msg, idx) {
            Some(inner) => Some(root_text(&inner).to_vec()),
            None if section.part.is_empty() => Some(part_body(msg, idx).to_vec()),
            None => None,
        },
        Some(SectionText::HeaderFields(names)) => {
            header_of(msg, idx).map(|h| header_fields(&h, names, true))
        }
        Some(SectionText::HeaderFieldsNot(names)) => {
            header_of(msg, idx).map(|h| header_fields(&h, names, false))
        }
    }
}

/// Walks a part number (`1.2.3`) down the MIME tree: (the message holding the part,
/// the part's index in it). The empty number is the whole message.
fn locate<'m>(root: &'m Message<'m>, path: &[u32]) -> Option<(&'m Message<'m>, usize)> {
    let mut msg = root;
    let mut idx = 0usize;
    for (step, &n) in path.iter().enumerate() {
        let n = n as usize;
        if step > 0 {
            // Below a message/rfc822 part, the numbers count the parts of the message
            // it holds.
            if let PartType::Message(inner) = &msg.parts.get(idx)?.body {
                msg = inner;
                idx = 0;
            } else if !matches!(msg.parts.get(idx)?.body, PartType::Multipart(_)) {
                return None;
            }
        }
        match &msg.parts.get(idx)?.body {
            PartType::Multipart(children) => idx = *children.get(n.checked_sub(1)?)? as usize,
            // A message that is not multipart has one part, its body (§6.4.5).
            _ if n == 1 => {}
            _ => return None,
        }
    }
    Some((msg, idx))
}
// ANCHOR_END: section_content

/// HEADER.FIELDS and HEADER.FIELDS.NOT: the header's fields whose names are (or are
/// not) in `names`, then the blank line.
fn header_fields(header: &[u8], names: &[String], wanted: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut keep = false;
    for line in header.split_inclusive(|&b| b == b'\n') {
        let trimmed = line.strip_suffix(b"\n").unwrap_or(line);
        let trimmed = trimmed.strip_suffix(b"\r").unwrap_or(trimmed);
        if trimmed.is_empty() {
            break;
        }
        // A line that starts with a space or tab continues the field before it.
        if !matches!(line.first(), Some(b' ' | b'\t')) {
            let name = line.split(|&b| b == b':').next().unwrap_or_default();
            let listed = names
                .iter()
                .any(|n| n.as_bytes().eq_ignore_ascii_case(name.trim_ascii()));
            keep = listed == wanted;
        }
        if keep {
            out.extend_from_slice(line);
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

// ANCHOR: envelope
/// §7.4.2 ENVELOPE: date, subject, from, sender, reply-to, to, cc, bcc, in-reply-to,
/// message-id. Sender and Reply-To default to From.
fn envelope(out: &mut Vec<u8>, m: &Message<'_>) {
    out.push(b'(');
    let raw = |name: HeaderName<'static>| m.header_raw(name).map(|v| v.trim().as_bytes().to_vec());
    nstring(out, raw(HeaderName::Date).as_deref());
    out.push(b' ');
    nstring(out, raw(HeaderName::Subject).as_deref());
    let from = m.from();
    for address in [
        from,
        m.sender().or(from),
        m.reply_to().or(from),
        m.to(),
        m.cc(),
        m.bcc(),
    ] {
        out.push(b' ');
        addresses(out, address);
    }
    out.push(b' ');
    nstring(out, raw(HeaderName::InReplyTo).as_deref());
    out.push(b' ');
    nstring(out, raw(HeaderName::MessageId).as_deref());
    out.push(b')');
}

/// An address list: `((name adl mailbox host) ...)`, or NIL. A group is written as
/// RFC 3501 §7.4.2 says: `(NIL NIL group NIL)`, its members, `(NIL NIL NIL NIL)`.
fn addresses(out: &mut Vec<u8>, address: Option<&Address<'_>>) {
    let Some(address) = address else {
        out.extend_from_slice(b"NIL");
        return;
    };
    let one = |out: &mut Vec<u8>, name: Option<&str>, email: Option<&str>| {
        out.push(b'(');
        nstring(out, name.map(str::as_bytes));
        out.extend_from_slice(b" NIL ");
        let (mailbox, host) = match email.and_then(|e| e.rsplit_once('@')) {
            Some((mailbox, host)) => (Some(mailbox), Some(host)),
            None => (email, None),
        };
        nstring(out, mailbox.map(str::as_bytes));
        out.push(b' ');
        nstring(out, host.map(str::as_bytes));
        out.push(b')');
    };
    out.push(b'(');
    match address {
        Address::List(list) => {
            for addr in list {
                one(out, addr.name.as_deref(), addr.address.as_deref());
            }
        }
        Address::Group(groups) => {
            for group in groups {
                if let Some(name) = &group.name {
                    out.extend_from_slice(b"(NIL NIL ");
                    string(out, name.as_bytes());
                    out.extend_from_slice(b" NIL)");
                }
                for addr in &group.addresses {
                    one(out, addr.name.as_deref(), addr.address.as_deref());
                }
                if group.name.is_some() {
                    out.extend_from_slice(b"(NIL NIL NIL NIL)");
                }
            }
        }
    }
    out.push(b')');
}
// ANCHOR_END: envelope

// ANCHOR: structure
/// §7.4.2 BODY and BODYSTRUCTURE of part `idx` of `m` (`extended`: BODYSTRUCTURE,
/// with extension data).
fn structure(out: &mut Vec<u8>, m: &Message<'_>, idx: usize, extended: bool) {
    let Some(part) = m.parts.get(idx) else {
        out.extend_from_slice(b"NIL");
        return;
    };
    let content_type = part.content_type();
    let subtype = |default: &str| {
        content_type
            .and_then(|c| c.subtype())
            .unwrap_or(default)
            .to_ascii_lowercase()
    };
    if let PartType::Multipart(children) = &part.body {
        out.push(b'(');
        for &child in children {
            structure(out, m, child as usize, extended);
        }
        out.push(b' ');
        string(out, subtype("mixed").as_bytes());
        if extended {
            out.push(b' ');
            parameters(out, content_type);
            disposition_language_location(out, part);
        }
        out.push(b')');
        return;
    }
    let (ctype, default_subtype) = match content_type {
        Some(c) => (c.ctype().to_ascii_lowercase(), "plain"),
        None => match &part.body {
            PartType::Message(_) => ("message".to_string(), "rfc822"),
            _ => ("text".to_string(), "plain"),
        },
    };
    let body = part_body(m, idx);
    out.push(b'(');
    string(out, ctype.as_bytes());
    out.push(b' ');
    string(out, subtype(default_subtype).as_bytes());
    out.push(b' ');
    match content_type
        .and_then(|c| c.attributes())
        .filter(|a| !a.is_empty())
    {
        Some(_) => parameters(out, content_type),
        // §7.4.2: text without a charset is us-ascii.
        None if ctype == "text" => out.extend_from_slice(b"(\"charset\" \"us-ascii\")"),
        None => out.extend_from_slice(b"NIL"),
    }
    out.push(b' ');
    nstring(out, part.content_id().map(str::as_bytes));
    out.push(b' ');
    nstring(out, part.content_description().map(str::as_bytes));
    out.push(b' ');
    let encoding = part
        .content_transfer_encoding()
        .unwrap_or("7bit")
        .to_ascii_lowercase();
    string(out, encoding.as_bytes());
    out.extend_from_slice(format!(" {}", body.len()).as_bytes());
    match &part.body {
        PartType::Message(inner) if ctype == "message" => {
            out.push(b' ');
            envelope(out, inner);
            out.push(b' ');
            structure(out, inner, 0, extended);
            out.extend_from_slice(format!(" {}", lines(body)).as_bytes());
        }
        _ if ctype == "text" => out.extend_from_slice(format!(" {}", lines(body)).as_bytes()),
        _ => {}
    }
    if extended {
        // body-fld-md5: none.
        out.extend_from_slice(b" NIL");
        disposition_language_location(out, part);
    }
    out.push(b')');
}

/// §7.4.2 `body-fld-lines`: the number of lines, counted as their ends (a last line
/// without one, as a part before its boundary, is not counted; Dovecot counts the same).
fn lines(body: &[u8]) -> usize {
    body.iter().filter(|&&b| b == b'\n').count()
}

/// `("name" "value" ...)` or NIL.
fn parameters(out: &mut Vec<u8>, content_type: Option<&mail_parser::ContentType<'_>>) {
    match content_type
        .and_then(|c| c.attributes())
        .filter(|a| !a.is_empty())
    {
        Some(attributes) => {
            out.push(b'(');
            for (i, a) in attributes.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                string(out, a.name.to_ascii_lowercase().as_bytes());
                out.push(b' ');
                string(out, a.value.as_bytes());
            }
            out.push(b')');
        }
        None => out.extend_from_slice(b"NIL"),
    }
}

/// The extension data every part's BODYSTRUCTURE ends with (§7.4.2, §9 `body-ext-1part`
/// and `body-ext-mpart`): its disposition, its language, and no location.
fn disposition_language_location(out: &mut Vec<u8>, part: &mail_parser::MessagePart<'_>) {
    out.push(b' ');
    disposition(out, part);
    out.push(b' ');
    language(out, part);
    out.extend_from_slice(b" NIL");
}

fn disposition(out: &mut Vec<u8>, part: &mail_parser::MessagePart<'_>) {
    match part.content_disposition() {
        Some(d) => {
            out.push(b'(');
            string(out, d.ctype().to_ascii_lowercase().as_bytes());
            out.push(b' ');
            parameters(out, Some(d));
            out.push(b')');
        }
        None => out.extend_from_slice(b"NIL"),
    }
}

fn language(out: &mut Vec<u8>, part: &mail_parser::MessagePart<'_>) {
    match part.content_language().as_text() {
        Some(l) => string(out, l.as_bytes()),
        None => out.extend_from_slice(b"NIL"),
    }
}
// ANCHOR_END: structure

/// The Date: header as days since the epoch (SENTBEFORE and friends), if readable.
pub fn sent_day(m: &Message<'_>) -> Option<i64> {
    let d = m.date()?;
    Some(super::parse::days_from_civil(
        i64::from(d.year),
        u32::from(d.month),
        u32::from(d.day),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::command::parse;
    use crate::imap::command::Kind;
    use crate::imap::folders::Flags;

    const SIMPLE: &[u8] = b"From: Bob <bob@example.org>\r\nTo: alice@localhost\r\nSubject: Lunch\r\nDate: Mon, 5 Jan 2026 01:02:03 +0000\r\nMessage-ID: <1@example.org>\r\n\r\nNoon at the usual place?\r\n";

    const MIXED: &[u8] = b"From: bob@example.org\r\nSubject: Photos\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\npreamble\r\n--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHere they are.\r\n--XX\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"a.png\"\r\n\r\niVBORw0KGgo=\r\n--XX--\r\n";

    fn info(size: usize) -> MessageInfo {
        MessageInfo {
            uid: 7,
            flags: Flags::SEEN,
            size: size as u64,
            internal_date: 1_767_574_923,
            recent: false,
        }
    }

    fn fetch(message: &[u8], items: &str) -> String {
        let Ok(command) = parse(format!("a FETCH 1 {items}").as_bytes()) else {
            panic!("{items}")
        };
        let Kind::Fetch { items, .. } = command.kind else {
            panic!()
        };
        let text = needs_text(&items).then_some(message);
        String::from_utf8(render(1, &info(message.len()), false, text, &items)).unwrap()
    }

    #[test]
    fn flags_size_date_uid() {
        assert_eq!(
            fetch(SIMPLE, "(UID FLAGS RFC822.SIZE INTERNALDATE)"),
            format!(
                "1 FETCH (UID 7 FLAGS (\\Seen) RFC822.SIZE {} INTERNALDATE \"05-Jan-2026 01:02:03 +0000\")",
                SIMPLE.len()
            )
        );
    }

    #[test]
    fn envelope_of_a_simple_message() {
        assert_eq!(
            fetch(SIMPLE, "ENVELOPE"),
            "1 FETCH (ENVELOPE (\"Mon, 5 Jan 2026 01:02:03 +0000\" \"Lunch\" ((\"Bob\" NIL \"bob\" \"example.org\")) ((\"Bob\" NIL \"bob\" \"example.org\")) ((\"Bob\" NIL \"bob\" \"example.org\")) ((NIL NIL \"alice\" \"localhost\")) NIL NIL NIL \"<1@example.org>\"))"
        );
    }

    #[test]
    fn sections_of_a_simple_message() {
        let header_len = SIMPLE.len() - b"Noon at the usual place?\r\n".len();
        assert_eq!(
            fetch(SIMPLE, "BODY.PEEK[TEXT]"),
            "1 FETCH (BODY[TEXT] {26}\r\nNoon at the usual place?\r\n)"
        );
        assert_eq!(
            fetch(SIMPLE, "BODY[1]<0.4>"),
            "1 FETCH (BODY[1]<0> {4}\r\nNoon)"
        );
        assert!(fetch(SIMPLE, "BODY[HEADER]").starts_with(&format!(
            "1 FETCH (BODY[HEADER] {{{header_len}}}\r\nFrom: Bob"
        )));
        assert_eq!(
            fetch(SIMPLE, "BODY.PEEK[HEADER.FIELDS (SUBJECT to)]"),
            "1 FETCH (BODY[HEADER.FIELDS (SUBJECT TO)] {39}\r\nTo: alice@localhost\r\nSubject: Lunch\r\n\r\n)"
        );
        assert_eq!(
            fetch(SIMPLE, "BODY[]<100000.5>"),
            "1 FETCH (BODY[]<100000> {0}\r\n)"
        );
        assert!(fetch(SIMPLE, "BODY[]").contains(&String::from_utf8_lossy(SIMPLE).to_string()));
        assert_eq!(
            fetch(SIMPLE, "BODYSTRUCTURE"),
            "1 FETCH (BODYSTRUCTURE (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 26 1 NIL NIL NIL NIL))"
        );
    }

    #[test]
    fn parts_of_a_multipart_message() {
        assert_eq!(
            fetch(MIXED, "BODY[1]"),
            "1 FETCH (BODY[1] {14}\r\nHere they are.)"
        );
        assert_eq!(
            fetch(MIXED, "BODY[2]"),
            "1 FETCH (BODY[2] {12}\r\niVBORw0KGgo=)"
        );
        assert!(fetch(MIXED, "BODY[2.MIME]").contains("Content-Type: image/png\r\n"));
        assert_eq!(fetch(MIXED, "BODY[3]"), "1 FETCH (BODY[3] {0}\r\n)");
        assert_eq!(
            fetch(MIXED, "BODY"),
            "1 FETCH (BODY ((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 14 0)(\"image\" \"png\" NIL NIL NIL \"base64\" 12) \"mixed\"))"
        );
        let structure = fetch(MIXED, "BODYSTRUCTURE");
        assert!(
            structure.contains("\"mixed\" (\"boundary\" \"XX\") NIL NIL NIL)"),
            "{structure}"
        );
        assert!(
            structure.contains("(\"attachment\" (\"filename\" \"a.png\"))"),
            "{structure}"
        );
    }

    const FORWARD: &[u8] = b"From: carol@example.org\r\nSubject: Fwd: Lunch\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nSee below.\r\n--B\r\nContent-Type: message/rfc822\r\n\r\nFrom: Bob <bob@example.org>\r\nSubject: Lunch\r\n\r\nNoon at the usual place?\r\n--B--\r\n";

    /// §6.4.5: below a message/rfc822 part, HEADER and TEXT are those of the message
    /// it holds, and its part numbers count that message's parts (a message that is
    /// not multipart has one part, its body). A text part holds no message: it has no
    /// HEADER, TEXT or parts of its own, and neither has a part that is not there.
    #[test]
    fn parts_of_a_forwarded_message() {
        let body = |items: &str| fetch(FORWARD, items);
        assert_eq!(body("BODY[1]"), "1 FETCH (BODY[1] {10}\r\nSee below.)");
        assert_eq!(
            body("BODY[2.HEADER]"),
            "1 FETCH (BODY[2.HEADER] {47}\r\nFrom: Bob <bob@example.org>\r\nSubject: Lunch\r\n\r\n)"
        );
        assert_eq!(
            body("BODY[2.TEXT]"),
            "1 FETCH (BODY[2.TEXT] {24}\r\nNoon at the usual place?)"
        );
        assert_eq!(
            body("BODY[2.1]"),
            "1 FETCH (BODY[2.1] {24}\r\nNoon at the usual place?)"
        );
        assert_eq!(
            body("BODY[2.HEADER.FIELDS (SUBJECT)]"),
            "1 FETCH (BODY[2.HEADER.FIELDS (SUBJECT)] {18}\r\nSubject: Lunch\r\n\r\n)"
        );
        for nothing in ["1.HEADER", "1.TEXT", "1.1", "2.2", "3"] {
            assert_eq!(
                body(&format!("BODY[{nothing}]")),
                format!("1 FETCH (BODY[{nothing}] {{0}}\r\n)")
            );
        }
        // §7.4.2: a message/rfc822 part's structure adds the envelope, the structure
        // and the line count of the message it holds.
        assert_eq!(
            body("BODY"),
            "1 FETCH (BODY ((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 0)\
             (\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 71 \
             (NIL \"Lunch\" ((\"Bob\" NIL \"bob\" \"example.org\")) ((\"Bob\" NIL \"bob\" \"example.org\")) \
             ((\"Bob\" NIL \"bob\" \"example.org\")) NIL NIL NIL NIL NIL) \
             (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 24 0) 3) \"mixed\"))"
        );
        // A message that is not multipart: part 1 is its body, and there is no part 2.
        assert_eq!(
            fetch(SIMPLE, "BODY[1]"),
            "1 FETCH (BODY[1] {26}\r\nNoon at the usual place?\r\n)"
        );
        assert_eq!(fetch(SIMPLE, "BODY[2]"), "1 FETCH (BODY[2] {0}\r\n)");
    }

    /// RFC 2046 §5.1.5: in a multipart/digest a part without a Content-Type is a
    /// message/rfc822, and its structure says so.
    #[test]
    fn a_digest_part_is_a_message_by_default() {
        let digest = b"From: list@example.org\r\nMIME-Version: 1.0\r\nContent-Type: multipart/digest; boundary=\"D\"\r\n\r\n--D\r\n\r\nFrom: Bob <bob@example.org>\r\nSubject: Lunch\r\n\r\nNoon?\r\n--D--\r\n";
        assert_eq!(
            fetch(digest, "BODY"),
            "1 FETCH (BODY ((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 52 \
             (NIL \"Lunch\" ((\"Bob\" NIL \"bob\" \"example.org\")) ((\"Bob\" NIL \"bob\" \"example.org\")) \
             ((\"Bob\" NIL \"bob\" \"example.org\")) NIL NIL NIL NIL NIL) \
             (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 0) 3) \"digest\"))"
        );
    }

    /// §7.4.2: every parameter of the Content-Type, in order, names in lower case.
    #[test]
    fn body_parameters_all_of_them() {
        let flowed = b"Content-Type: text/plain; Charset=utf-8; format=flowed\r\n\r\nHi\r\n";
        assert_eq!(
            fetch(flowed, "BODY"),
            "1 FETCH (BODY (\"text\" \"plain\" (\"charset\" \"utf-8\" \"format\" \"flowed\") NIL NIL \"7bit\" 4 1))"
        );
    }

    #[test]
    fn header_fields_follow_folded_lines() {
        let header = b"Subject: a\r\n b\r\nX-Other: c\r\nFROM: d\r\n\r\n";
        let got = header_fields(header, &["subject".into(), "From".into()], true);
        assert_eq!(got, b"Subject: a\r\n b\r\nFROM: d\r\n\r\n");
        let not = header_fields(header, &["subject".into()], false);
        assert_eq!(not, b"X-Other: c\r\nFROM: d\r\n\r\n");
    }

    /// RFC822.HEADER and RFC822.TEXT (RFC 3501 §6.4.5): BODY[HEADER] and BODY[TEXT]
    /// under their old names.
    #[test]
    fn rfc822_header_and_text() {
        let text = b"Noon at the usual place?\r\n";
        let header = &SIMPLE[..SIMPLE.len() - text.len()];
        assert_eq!(
            fetch(SIMPLE, "(RFC822.HEADER RFC822.TEXT)"),
            format!(
                "1 FETCH (RFC822.HEADER {{{}}}\r\n{} RFC822.TEXT {{26}}\r\nNoon at the usual place?\r\n)",
                header.len(),
                String::from_utf8_lossy(header)
            )
        );
    }

    /// A message the MIME parser cannot read at all (one space, for instance) is still
    /// sent whole when asked for whole: BODY[] and RFC822.HEADER give its octets, and
    /// the parts a parser would have found (TEXT, part 1) are empty.
    #[test]
    fn an_unparsable_message_is_sent_whole_or_not_at_all() {
        let junk = b" ";
        assert!(
            MessageParser::default().parse(junk).is_none(),
            "the parser refuses it"
        );
        assert_eq!(fetch(junk, "BODY[]"), "1 FETCH (BODY[] {1}\r\n )");
        assert_eq!(fetch(junk, "BODY[TEXT]"), "1 FETCH (BODY[TEXT] {0}\r\n)");
        assert_eq!(fetch(junk, "BODY[1]"), "1 FETCH (BODY[1] {0}\r\n)");
        assert_eq!(
            fetch(junk, "(RFC822.HEADER RFC822.TEXT)"),
            "1 FETCH (RFC822.HEADER {1}\r\n  RFC822.TEXT {0}\r\n)"
        );
    }

    #[test]
    fn garbage_does_not_panic() {
        for junk in [
            &b""[..],
            b"\r\n",
            b"no header at all",
            b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n",
        ] {
            for items in [
                "BODYSTRUCTURE",
                "ENVELOPE",
                "BODY[1.2.3]",
                "BODY[2.HEADER]",
                "BODY[TEXT]",
                "RFC822.HEADER",
            ] {
                let _ = fetch(junk, items);
            }
        }
    }
}
