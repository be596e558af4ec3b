//! IMAP commands (RFC 3501 §6, and the extensions postie offers), parsed from one
//! whole command: tag, name, arguments, literals included.
//!
//! Parsing knows nothing of state: whether a command is allowed now is the session's
//! question. A command that cannot be parsed gets `BAD` with what was expected; the tag
//! is kept when it could be read, so the client knows which command failed (§7.1).
//!
//! Mailbox names arrive in modified UTF-7 (§5.1.3) and are decoded here, once; `INBOX`
//! in any case is `INBOX` (§5.1).
//!
//! Left out: LIST-EXTENDED selection options (RFC 5258) beyond reading past them,
//! SEARCH CHARSET other than US-ASCII and UTF-8, CONDSTORE's modifiers, keywords'
//! `\*` in STORE (postie keeps no keywords).

use super::parse::{Parsed, Parser, SequenceSet, Syntax};
use super::utf7;

/// A command with its tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub tag: String,
    pub kind: Kind,
}

// ANCHOR: kind
/// Every command postie understands, with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    // §6.1: any state.
    Capability,
    Noop,
    Logout,
    // §6.2: not authenticated.
    StartTls,
    Authenticate {
        mechanism: String,
        /// RFC 4959 SASL-IR: the first response on the command line.
        initial: Option<String>,
    },
    Login {
        user: String,
        password: String,
    },
    // §6.3: authenticated (and selected).
    Select(Mailbox),
    Examine(Mailbox),
    Create(Mailbox),
    Delete(Mailbox),
    Rename(Mailbox, Mailbox),
    Subscribe(Mailbox),
    Unsubscribe(Mailbox),
    List {
        reference: String,
        pattern: String,
        /// RFC 6154 §2: `RETURN (SPECIAL-USE)` or `(SPECIAL-USE)` selection.
        special_use_only: bool,
    },
    Lsub {
        reference: String,
        pattern: String,
    },
    Status(Mailbox, Vec<StatusItem>),
    Append {
        mailbox: Mailbox,
        flags: Vec<String>,
        date: Option<i64>,
        message: Vec<u8>,
    },
    /// RFC 2342.
    Namespace,
    /// RFC 5161.
    Enable(Vec<String>),
    /// RFC 2971: the client's fields, or NIL.
    Id(Vec<(String, Option<String>)>),
    /// RFC 2177.
    Idle,
    // §6.4: selected.
    Check,
    Close,
    /// RFC 3691.
    Unselect,
    /// `UID EXPUNGE` (RFC 4315 §2.1) carries a set.
    Expunge(Option<SequenceSet>),
    Search {
        uid: bool,
        key: SearchKey,
    },
    Fetch {
        uid: bool,
        set: SequenceSet,
        items: Vec<FetchItem>,
    },
    Store {
        uid: bool,
        set: SequenceSet,
        mode: StoreMode,
        silent: bool,
        flags: Vec<String>,
    },
    Copy {
        uid: bool,
        set: SequenceSet,
        mailbox: Mailbox,
    },
    /// RFC 6851.
    Move {
        uid: bool,
        set: SequenceSet,
        mailbox: Mailbox,
    },
}
// ANCHOR_END: kind

/// A mailbox name, decoded from modified UTF-7 (`INBOX` in upper case).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mailbox(pub String);

impl Mailbox {
    pub fn is_inbox(&self) -> bool {
        self.0 == "INBOX"
    }
}

/// §6.3.10 STATUS items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusItem {
    Messages,
    Recent,
    UidNext,
    UidValidity,
    Unseen,
}

/// §6.4.6 STORE: replace, add or remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreMode {
    Replace,
    Add,
    Remove,
}

// ANCHOR: fetch_item
/// §6.4.5 FETCH data items (the macros ALL, FAST and FULL are expanded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchItem {
    Flags,
    InternalDate,
    Rfc822Size,
    Envelope,
    /// `BODY` without a section: BODYSTRUCTURE without extension data.
    Body,
    BodyStructure,
    Uid,
    /// `RFC822`: as `BODY[]`, and sets \Seen.
    Rfc822,
    /// `RFC822.HEADER`: as `BODY.PEEK[HEADER]`.
    Rfc822Header,
    /// `RFC822.TEXT`: as `BODY[TEXT]`.
    Rfc822Text,
    /// `BODY[section]<partial>` and `BODY.PEEK[...]`.
    Section {
        peek: bool,
        section: Section,
        partial: Option<(u32, u32)>,
    },
}

/// §6.4.5 `section`: a part number (`1.2`) and what of it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Section {
    pub part: Vec<u32>,
    pub text: Option<SectionText>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionText {
    Header,
    HeaderFields(Vec<String>),
    HeaderFieldsNot(Vec<String>),
    Text,
    Mime,
}
// ANCHOR_END: fetch_item

// ANCHOR: search_key
/// §6.4.4 search keys. A list of keys is their AND.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchKey {
    All,
    /// Set or not set: `SEEN` is `Flag("\\Seen", true)`, `UNSEEN` is `(.., false)`.
    Flag(&'static str, bool),
    Recent,
    New,
    Old,
    Keyword(String, bool),
    /// A header field contains the string (FROM, TO, CC, BCC, SUBJECT, HEADER).
    Header(String, String),
    Body(String),
    Text(String),
    /// INTERNALDATE compared with a day (days since the epoch).
    Before(i64),
    On(i64),
    Since(i64),
    /// The Date: header compared with a day.
    SentBefore(i64),
    SentOn(i64),
    SentSince(i64),
    Larger(u32),
    Smaller(u32),
    Uid(SequenceSet),
    Sequence(SequenceSet),
    Not(Box<SearchKey>),
    Or(Box<SearchKey>, Box<SearchKey>),
    And(Vec<SearchKey>),
}
// ANCHOR_END: search_key

/// Why a command could not be parsed: with the tag when it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub tag: Option<String>,
    pub message: String,
}

impl Kind {
    /// The command's name and the RFC section behind it, for the trace.
    pub fn describe(&self) -> (&'static str, &'static str) {
        match self {
            Kind::Capability => ("CAPABILITY", "RFC 3501 §6.1.1"),
            Kind::Noop => ("NOOP", "RFC 3501 §6.1.2"),
            Kind::Logout => ("LOGOUT", "RFC 3501 §6.1.3"),
            Kind::StartTls => ("STARTTLS", "RFC 3501 §6.2.1"),
            Kind::Authenticate { .. } => ("AUTHENTICATE", "RFC 3501 §6.2.2"),
            Kind::Login { .. } => ("LOGIN", "RFC 3501 §6.2.3"),
            Kind::Select(_) => ("SELECT", "RFC 3501 §6.3.1"),
            Kind::Examine(_) => ("EXAMINE", "RFC 3501 §6.3.2"),
            Kind::Create(_) => ("CREATE", "RFC 3501 §6.3.3"),
            Kind::Delete(_) => ("DELETE", "RFC 3501 §6.3.4"),
            Kind::Rename(..) => ("RENAME", "RFC 3501 §6.3.5"),
            Kind::Subscribe(_) => ("SUBSCRIBE", "RFC 3501 §6.3.6"),
            Kind::Unsubscribe(_) => ("UNSUBSCRIBE", "RFC 3501 §6.3.7"),
            Kind::List { .. } => ("LIST", "RFC 3501 §6.3.8"),
            Kind::Lsub { .. } => ("LSUB", "RFC 3501 §6.3.9"),
            Kind::Status(..) => ("STATUS", "RFC 3501 §6.3.10"),
            Kind::Append { .. } => ("APPEND", "RFC 3501 §6.3.11"),
            Kind::Namespace => ("NAMESPACE", "RFC 2342 §5"),
            Kind::Enable(_) => ("ENABLE", "RFC 5161 §3.1"),
            Kind::Id(_) => ("ID", "RFC 2971 §3.1"),
            Kind::Idle => ("IDLE", "RFC 2177 §3"),
            Kind::Check => ("CHECK", "RFC 3501 §6.4.1"),
            Kind::Close => ("CLOSE", "RFC 3501 §6.4.2"),
            Kind::Unselect => ("UNSELECT", "RFC 3691 §2"),
            Kind::Expunge(None) => ("EXPUNGE", "RFC 3501 §6.4.3"),
            Kind::Expunge(Some(_)) => ("UID EXPUNGE", "RFC 4315 §2.1"),
            Kind::Search { .. } => ("SEARCH", "RFC 3501 §6.4.4"),
            Kind::Fetch { .. } => ("FETCH", "RFC 3501 §6.4.5"),
            Kind::Store { .. } => ("STORE", "RFC 3501 §6.4.6"),
            Kind::Copy { .. } => ("COPY", "RFC 3501 §6.4.7"),
            Kind::Move { .. } => ("MOVE", "RFC 6851 §3"),
        }
    }
}

// ANCHOR: parse
/// Parses one whole command (its literals included, its final CRLF not).
pub fn parse(input: &[u8]) -> Result<Command, ParseError> {
    let mut p = Parser::new(input);
    let tag = p.tag().map_err(|e| ParseError {
        tag: None,
        message: e.0,
    })?;
    let kind = (|| {
        p.sp()?;
        let kind = command(&mut p)?;
        p.end()?;
        Ok(kind)
    })()
    .map_err(|e: Syntax| ParseError {
        tag: Some(tag.clone()),
        message: e.0,
    })?;
    Ok(Command { tag, kind })
}

fn command(p: &mut Parser<'_>) -> Parsed<Kind> {
    let name = p.atom()?.to_ascii_uppercase();
    let kind = match name.as_str() {
        "CAPABILITY" => Kind::Capability,
        "NOOP" => Kind::Noop,
        "LOGOUT" => Kind::Logout,
        "STARTTLS" => Kind::StartTls,
        "AUTHENTICATE" => {
            p.sp()?;
            let mechanism = p.atom()?.to_ascii_uppercase();
            // RFC 4959: the initial response, base64 (or `=` for an empty one).
            let initial = if p.eat(b' ') { Some(p.atom()?) } else { None };
            Kind::Authenticate { mechanism, initial }
        }
        "LOGIN" => {
            p.sp()?;
            let user = p.astring_text()?;
            p.sp()?;
            let password = p.astring_text()?;
            Kind::Login { user, password }
        }
        "SELECT" => Kind::Select(sp_mailbox(p)?),
        "EXAMINE" => Kind::Examine(sp_mailbox(p)?),
        "CREATE" => Kind::Create(sp_mailbox(p)?),
        "DELETE" => Kind::Delete(sp_mailbox(p)?),
        "RENAME" => Kind::Rename(sp_mailbox(p)?, sp_mailbox(p)?),
        "SUBSCRIBE" => Kind::Subscribe(sp_mailbox(p)?),
        "UNSUBSCRIBE" => Kind::Unsubscribe(sp_mailbox(p)?),
        "LIST" => list(p)?,
        "LSUB" => {
            p.sp()?;
            let reference = mailbox_text(p.astring()?)?;
            p.sp()?;
            let pattern = mailbox_text(p.list_mailbox()?)?;
            Kind::Lsub { reference, pattern }
        }
        "STATUS" => {
            let mailbox = sp_mailbox(p)?;
            p.sp()?;
            Kind::Status(mailbox, status_items(p)?)
        }
        "APPEND" => append(p)?,
        "NAMESPACE" => Kind::Namespace,
        "ENABLE" => {
            let mut names = Vec::new();
            while p.eat(b' ') {
                names.push(p.atom()?.to_ascii_uppercase());
            }
            if names.is_empty() {
                return Err(Syntax("expected a capability to enable".into()));
            }
            Kind::Enable(names)
        }
        "ID" => {
            p.sp()?;
            Kind::Id(id_params(p)?)
        }
        "IDLE" => Kind::Idle,
        "CHECK" => Kind::Check,
        "CLOSE" => Kind::Close,
        "UNSELECT" => Kind::Unselect,
        "EXPUNGE" => Kind::Expunge(None),
        "SEARCH" => search(p, false)?,
        "FETCH" => fetch(p, false)?,
        "STORE" => store(p, false)?,
        "COPY" => copy_or_move(p, false, false)?,
        "MOVE" => copy_or_move(p, false, true)?,
        "UID" => {
            p.sp()?;
            let sub = p.atom()?.to_ascii_uppercase();
            match sub.as_str() {
                "FETCH" => fetch(p, true)?,
                "SEARCH" => search(p, true)?,
                "STORE" => store(p, true)?,
                "COPY" => copy_or_move(p, true, false)?,
                "MOVE" => copy_or_move(p, true, true)?,
                "EXPUNGE" => {
                    p.sp()?;
                    Kind::Expunge(Some(p.sequence_set()?))
                }
                _ => {
                    return Err(Syntax(format!(
                        "UID {sub} is not a command (UID FETCH, SEARCH, STORE, COPY, MOVE, EXPUNGE)"
                    )))
                }
            }
        }
        _ => return Err(Syntax(format!("unknown command {name}"))),
    };
    Ok(kind)
}
// ANCHOR_END: parse

fn sp_mailbox(p: &mut Parser<'_>) -> Parsed<Mailbox> {
    p.sp()?;
    mailbox(p)
}

/// §9 `mailbox`: an astring in modified UTF-7; `INBOX` in any case is INBOX.
pub fn mailbox(p: &mut Parser<'_>) -> Parsed<Mailbox> {
    let name = mailbox_text(p.astring()?)?;
    Ok(normalize(name))
}

fn normalize(name: String) -> Mailbox {
    if name.eq_ignore_ascii_case("INBOX") {
        return Mailbox("INBOX".into());
    }
    // INBOX/x keeps its first part's upper case, as clients expect.
    match name.split_once('/') {
        Some((first, rest)) if first.eq_ignore_ascii_case("INBOX") => {
            Mailbox(format!("INBOX/{rest}"))
        }
        _ => Mailbox(name),
    }
}

fn mailbox_text(raw: Vec<u8>) -> Parsed<String> {
    utf7::decode(&raw)
        .ok_or_else(|| Syntax("expected a mailbox name in modified UTF-7 (RFC 3501 §5.1.3)".into()))
}

fn list(p: &mut Parser<'_>) -> Parsed<Kind> {
    p.sp()?;
    let mut special_use_only = false;
    // RFC 5258 selection options: `LIST (SPECIAL-USE) "" *`.
    if p.eat(b'(') {
        while !p.eat(b')') {
            let option = p.atom()?;
            special_use_only |= option.eq_ignore_ascii_case("SPECIAL-USE");
            p.eat(b' ');
        }
        p.sp()?;
    }
    let reference = mailbox_text(p.astring()?)?;
    p.sp()?;
    let pattern = mailbox_text(p.list_mailbox()?)?;
    // RFC 5258 return options: `RETURN (SPECIAL-USE)`; the attributes are always sent.
    if p.eat(b' ') {
        if !p.keyword("RETURN") {
            return Err(Syntax("expected RETURN".into()));
        }
        p.sp()?;
        p.expect(b'(', "'('")?;
        while !p.eat(b')') {
            p.atom()?;
            p.eat(b' ');
        }
    }
    Ok(Kind::List {
        reference,
        pattern,
        special_use_only,
    })
}

fn status_items(p: &mut Parser<'_>) -> Parsed<Vec<StatusItem>> {
    p.expect(b'(', "'(' to begin the status items")?;
    let mut items = Vec::new();
    loop {
        let item = match p.atom()?.to_ascii_uppercase().as_str() {
            "MESSAGES" => StatusItem::Messages,
            "RECENT" => StatusItem::Recent,
            "UIDNEXT" => StatusItem::UidNext,
            "UIDVALIDITY" => StatusItem::UidValidity,
            "UNSEEN" => StatusItem::Unseen,
            other => return Err(Syntax(format!("unknown status item {other}"))),
        };
        items.push(item);
        if p.eat(b')') {
            return Ok(items);
        }
        p.sp()?;
    }
}

fn append(p: &mut Parser<'_>) -> Parsed<Kind> {
    let mailbox = sp_mailbox(p)?;
    p.sp()?;
    let flags = if p.peek() == Some(b'(') {
        let flags = p.flag_list()?;
        p.sp()?;
        flags
    } else {
        Vec::new()
    };
    let date = if p.peek() == Some(b'"') {
        let date = p.date_time()?;
        p.sp()?;
        Some(date)
    } else {
        None
    };
    if p.peek() != Some(b'{') {
        return Err(Syntax("expected the message as a literal".into()));
    }
    let message = p.string()?;
    Ok(Kind::Append {
        mailbox,
        flags,
        date,
        message,
    })
}

fn id_params(p: &mut Parser<'_>) -> Parsed<Vec<(String, Option<String>)>> {
    if p.keyword("NIL") {
        return Ok(Vec::new());
    }
    p.expect(b'(', "'(' or NIL")?;
    let mut fields = Vec::new();
    while !p.eat(b')') {
        let key = String::from_utf8_lossy(&p.string()?).into_owned();
        p.sp()?;
        let value = if p.keyword("NIL") {
            None
        } else {
            Some(String::from_utf8_lossy(&p.string()?).into_owned())
        };
        fields.push((key, value));
        p.eat(b' ');
        if fields.len() > 30 {
            return Err(Syntax(
                "too many ID fields (RFC 2971 §3.3: at most 30)".into(),
            ));
        }
    }
    Ok(fields)
}

// ANCHOR: parse_fetch
fn fetch(p: &mut Parser<'_>, uid: bool) -> Parsed<Kind> {
    p.sp()?;
    let set = p.sequence_set()?;
    p.sp()?;
    let mut items = Vec::new();
    if p.keyword("ALL") {
        use FetchItem::*;
        items.extend([Flags, InternalDate, Rfc822Size, Envelope]);
    } else if p.keyword("FAST") {
        use FetchItem::*;
        items.extend([Flags, InternalDate, Rfc822Size]);
    } else if p.keyword("FULL") {
        use FetchItem::*;
        items.extend([Flags, InternalDate, Rfc822Size, Envelope, Body]);
    } else if p.eat(b'(') {
        loop {
            items.push(fetch_item(p)?);
            if p.eat(b')') {
                break;
            }
            p.sp()?;
        }
    } else {
        items.push(fetch_item(p)?);
    }
    // RFC 3501 §6.4.8: a UID FETCH answers with UID whether asked or not.
    if uid && !items.contains(&FetchItem::Uid) {
        items.insert(0, FetchItem::Uid);
    }
    Ok(Kind::Fetch { uid, set, items })
}

fn fetch_item(p: &mut Parser<'_>) -> Parsed<FetchItem> {
    use FetchItem::*;
    let simple = [
        ("FLAGS", Flags),
        ("INTERNALDATE", InternalDate),
        ("RFC822.SIZE", Rfc822Size),
        ("RFC822.HEADER", Rfc822Header),
        ("RFC822.TEXT", Rfc822Text),
        ("RFC822", Rfc822),
        ("ENVELOPE", Envelope),
        ("BODYSTRUCTURE", BodyStructure),
        ("UID", Uid),
    ];
    for (word, item) in simple {
        if p.keyword(word) {
            return Ok(item);
        }
    }
    let peek = if p.keyword("BODY.PEEK") {
        true
    } else if p.keyword("BODY") {
        false
    } else {
        let what = p.atom().unwrap_or_default();
        return Err(Syntax(format!("unknown fetch item {what}")));
    };
    if !p.eat(b'[') {
        if peek {
            return Err(Syntax("expected '[' after BODY.PEEK".into()));
        }
        return Ok(Body);
    }
    let section = section(p)?;
    p.expect(b']', "']' to end the section")?;
    let partial = if p.eat(b'<') {
        let start = p.number()?;
        p.expect(b'.', "'.' in <start.length>")?;
        let length = p.nz_number()?;
        p.expect(b'>', "'>'")?;
        Some((start, length))
    } else {
        None
    };
    Ok(Section {
        peek,
        section,
        partial,
    })
}

/// §9 `section-spec`: `1.2.HEADER.FIELDS (From)`, `TEXT`, `2.MIME`, or nothing.
fn section(p: &mut Parser<'_>) -> Parsed<Section> {
    let mut section = Section::default();
    while p.peek().is_some_and(|b| b.is_ascii_digit()) {
        section.part.push(p.nz_number()?);
        if !p.eat(b'.') {
            return Ok(section);
        }
    }
    if p.peek() == Some(b']') {
        return Ok(section);
    }
    section.text = Some(if p.keyword("HEADER.FIELDS.NOT") {
        p.sp()?;
        SectionText::HeaderFieldsNot(p.astring_list()?)
    } else if p.keyword("HEADER.FIELDS") {
        p.sp()?;
        SectionText::HeaderFields(p.astring_list()?)
    } else if p.keyword("HEADER") {
        SectionText::Header
    } else if p.keyword("TEXT") {
        SectionText::Text
    } else if p.keyword("MIME") && !section.part.is_empty() {
        SectionText::Mime
    } else {
        return Err(Syntax(
            "expected a section: HEADER, HEADER.FIELDS, TEXT or MIME".into(),
        ));
    });
    Ok(section)
}
// ANCHOR_END: parse_fetch

fn store(p: &mut Parser<'_>, uid: bool) -> Parsed<Kind> {
    p.sp()?;
    let set = p.sequence_set()?;
    p.sp()?;
    let mode = if p.eat(b'+') {
        StoreMode::Add
    } else if p.eat(b'-') {
        StoreMode::Remove
    } else {
        StoreMode::Replace
    };
    let silent = if p.keyword("FLAGS.SILENT") {
        true
    } else if p.keyword("FLAGS") {
        false
    } else {
        return Err(Syntax("expected FLAGS or FLAGS.SILENT".into()));
    };
    p.sp()?;
    let flags = if p.peek() == Some(b'(') {
        p.flag_list()?
    } else {
        let mut flags = vec![p.flag()?];
        while p.eat(b' ') {
            flags.push(p.flag()?);
        }
        flags
    };
    Ok(Kind::Store {
        uid,
        set,
        mode,
        silent,
        flags,
    })
}

fn copy_or_move(p: &mut Parser<'_>, uid: bool, is_move: bool) -> Parsed<Kind> {
    p.sp()?;
    let set = p.sequence_set()?;
    let mailbox = sp_mailbox(p)?;
    Ok(if is_move {
        Kind::Move { uid, set, mailbox }
    } else {
        Kind::Copy { uid, set, mailbox }
    })
}

// ANCHOR: parse_search
fn search(p: &mut Parser<'_>, uid: bool) -> Parsed<Kind> {
    p.sp()?;
    if p.keyword("CHARSET") {
        p.sp()?;
        let charset = p.astring_text()?;
        if !["US-ASCII", "UTF-8"]
            .iter()
            .any(|c| c.eq_ignore_ascii_case(&charset))
        {
            // RFC 3501 §6.4.4: NO [BADCHARSET]; the session cannot tell it from here,
            // so the text says it and the response code is added by the caller.
            return Err(Syntax(format!("[BADCHARSET (US-ASCII UTF-8)] {charset}")));
        }
        p.sp()?;
    }
    let mut keys = vec![search_key(p, 0)?];
    while p.eat(b' ') {
        keys.push(search_key(p, 0)?);
    }
    let key = if keys.len() == 1 {
        keys.remove(0)
    } else {
        SearchKey::And(keys)
    };
    Ok(Kind::Search { uid, key })
}

/// How deep NOT, OR and parentheses may nest: the client's input must not exhaust our
/// stack.
const MAX_SEARCH_DEPTH: usize = 32;

fn search_key(p: &mut Parser<'_>, depth: usize) -> Parsed<SearchKey> {
    use SearchKey::*;
    if depth > MAX_SEARCH_DEPTH {
        return Err(Syntax("search keys nested too deeply".into()));
    }
    if p.eat(b'(') {
        let mut keys = vec![search_key(p, depth + 1)?];
        while p.eat(b' ') {
            keys.push(search_key(p, depth + 1)?);
        }
        p.expect(b')', "')'")?;
        return Ok(if keys.len() == 1 {
            keys.remove(0)
        } else {
            And(keys)
        });
    }
    if p.at_sequence_set() {
        return Ok(Sequence(p.sequence_set()?));
    }
    let name = p.atom()?.to_ascii_uppercase();
    let text = |p: &mut Parser<'_>| -> Parsed<String> {
        p.sp()?;
        Ok(String::from_utf8_lossy(&p.astring()?).into_owned())
    };
    let key = match name.as_str() {
        "ALL" => All,
        "ANSWERED" => Flag("\\Answered", true),
        "DELETED" => Flag("\\Deleted", true),
        "DRAFT" => Flag("\\Draft", true),
        "FLAGGED" => Flag("\\Flagged", true),
        "SEEN" => Flag("\\Seen", true),
        "UNANSWERED" => Flag("\\Answered", false),
        "UNDELETED" => Flag("\\Deleted", false),
        "UNDRAFT" => Flag("\\Draft", false),
        "UNFLAGGED" => Flag("\\Flagged", false),
        "UNSEEN" => Flag("\\Seen", false),
        "RECENT" => Recent,
        "NEW" => New,
        "OLD" => Old,
        "KEYWORD" => {
            p.sp()?;
            Keyword(p.atom()?, true)
        }
        "UNKEYWORD" => {
            p.sp()?;
            Keyword(p.atom()?, false)
        }
        "FROM" | "TO" | "CC" | "BCC" | "SUBJECT" => Header(name.clone(), text(p)?),
        "HEADER" => {
            let field = text(p)?;
            Header(field, text(p)?)
        }
        "BODY" => Body(text(p)?),
        "TEXT" => Text(text(p)?),
        "BEFORE" | "ON" | "SINCE" | "SENTBEFORE" | "SENTON" | "SENTSINCE" => {
            p.sp()?;
            let day = p.date()?;
            match name.as_str() {
                "BEFORE" => Before(day),
                "ON" => On(day),
                "SINCE" => Since(day),
                "SENTBEFORE" => SentBefore(day),
                "SENTON" => SentOn(day),
                _ => SentSince(day),
            }
        }
        "LARGER" => {
            p.sp()?;
            Larger(p.number()?)
        }
        "SMALLER" => {
            p.sp()?;
            Smaller(p.number()?)
        }
        "UID" => {
            p.sp()?;
            Uid(p.sequence_set()?)
        }
        "NOT" => {
            p.sp()?;
            Not(Box::new(search_key(p, depth + 1)?))
        }
        "OR" => {
            p.sp()?;
            let a = search_key(p, depth + 1)?;
            p.sp()?;
            Or(Box::new(a), Box::new(search_key(p, depth + 1)?))
        }
        other => return Err(Syntax(format!("unknown search key {other}"))),
    };
    Ok(key)
}
// ANCHOR_END: parse_search

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::parse::SeqNumber::*;

    fn kind(input: &str) -> Kind {
        match parse(input.as_bytes()) {
            Ok(command) => command.kind,
            Err(e) => panic!("{input}: {e:?}"),
        }
    }

    fn error(input: &[u8]) -> ParseError {
        parse(input).expect_err("should not parse")
    }

    #[test]
    fn simple_commands_any_case() {
        assert_eq!(kind("a1 capability"), Kind::Capability);
        assert_eq!(kind("A2 NOOP"), Kind::Noop);
        assert_eq!(kind("3 LoGoUt"), Kind::Logout);
        assert_eq!(kind("t UID EXPUNGE 4:5").describe().0, "UID EXPUNGE");
    }

    #[test]
    fn login_in_three_kinds_of_string() {
        let want = Kind::Login {
            user: "alice@localhost".into(),
            password: "let me in".into(),
        };
        assert_eq!(kind("a LOGIN alice@localhost \"let me in\""), want);
        assert_eq!(
            kind("a LOGIN {15}\r\nalice@localhost {9+}\r\nlet me in"),
            want
        );
    }

    #[test]
    fn mailboxes_are_decoded_and_inbox_is_folded() {
        assert_eq!(
            kind("a SELECT inbox"),
            Kind::Select(Mailbox("INBOX".into()))
        );
        assert_eq!(
            kind("a CREATE \"Caf&AOk-\""),
            Kind::Create(Mailbox("Café".into()))
        );
        assert_eq!(
            kind("a CREATE &Ti1lhw-"),
            Kind::Create(Mailbox("中文".into()))
        );
        let e = error(b"a1 SELECT &Jjo");
        assert_eq!(e.tag.as_deref(), Some("a1"));
        assert_eq!(
            e.message,
            "expected a mailbox name in modified UTF-7 (RFC 3501 §5.1.3)"
        );
    }

    #[test]
    fn only_inbox_is_folded_to_upper_case() {
        // §5.1: INBOX is case-insensitive, and so is the INBOX of INBOX/x; every other
        // name is the client's own.
        for (name, want) in [
            ("InBoX/Work", "INBOX/Work"),
            ("Archive/inbox", "Archive/inbox"),
            ("Inboxes", "Inboxes"),
            ("Archive/2026", "Archive/2026"),
        ] {
            assert_eq!(
                kind(&format!("a SELECT {name}")),
                Kind::Select(Mailbox(want.into())),
                "{name}"
            );
        }
    }

    #[test]
    fn move_and_copy_with_and_without_uid() {
        let set = SequenceSet(vec![(Value(1), Value(2))]);
        let trash = Mailbox("Trash".into());
        for (line, uid, moved) in [
            ("a MOVE 1:2 Trash", false, true),
            ("a UID MOVE 1:2 Trash", true, true),
            ("a COPY 1:2 Trash", false, false),
            ("a UID COPY 1:2 Trash", true, false),
        ] {
            let (set, mailbox) = (set.clone(), trash.clone());
            let want = if moved {
                Kind::Move { uid, set, mailbox }
            } else {
                Kind::Copy { uid, set, mailbox }
            };
            assert_eq!(kind(line), want, "{line}");
        }
    }

    #[test]
    fn fetch_items() {
        let Kind::Fetch { uid, set, items } = kind(
            "a UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From Subject)] BODY[1.2]<0.100> RFC822.SIZE)",
        ) else {
            panic!()
        };
        assert!(uid);
        assert_eq!(set.0, [(Value(1), Star)]);
        assert_eq!(
            items,
            [
                FetchItem::Uid,
                FetchItem::Flags,
                FetchItem::Section {
                    peek: true,
                    section: Section {
                        part: vec![],
                        text: Some(SectionText::HeaderFields(vec![
                            "From".into(),
                            "Subject".into()
                        ]))
                    },
                    partial: None
                },
                FetchItem::Section {
                    peek: false,
                    section: Section {
                        part: vec![1, 2],
                        text: None
                    },
                    partial: Some((0, 100))
                },
                FetchItem::Rfc822Size,
            ]
        );
        let Kind::Fetch { items, .. } = kind("a FETCH 1 FAST") else {
            panic!()
        };
        assert_eq!(items.len(), 3);
        assert!(matches!(kind("a FETCH 2 BODY[]"), Kind::Fetch { .. }));
        assert!(matches!(kind("a FETCH 2 BODY[2.MIME]"), Kind::Fetch { .. }));
        for bad in [
            "a FETCH 1 (FLAGS",
            "a FETCH 1 BODY[NOPE]",
            "a FETCH x FLAGS",
            "a FETCH 1 BODY[MIME]",
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn store_forms() {
        assert_eq!(
            kind("a STORE 1:3 +FLAGS.SILENT (\\Seen \\Flagged)"),
            Kind::Store {
                uid: false,
                set: SequenceSet(vec![(Value(1), Value(3))]),
                mode: StoreMode::Add,
                silent: true,
                flags: vec!["\\Seen".into(), "\\Flagged".into()],
            }
        );
        assert!(matches!(
            kind("a UID STORE 5 -FLAGS \\Deleted"),
            Kind::Store {
                uid: true,
                mode: StoreMode::Remove,
                silent: false,
                ..
            }
        ));
    }

    #[test]
    fn search_keys() {
        let Kind::Search { key, .. } =
            kind("a SEARCH UNSEEN OR FROM alice SUBJECT \"lunch plans\" NOT 2:4")
        else {
            panic!()
        };
        assert_eq!(
            key,
            SearchKey::And(vec![
                SearchKey::Flag("\\Seen", false),
                SearchKey::Or(
                    Box::new(SearchKey::Header("FROM".into(), "alice".into())),
                    Box::new(SearchKey::Header("SUBJECT".into(), "lunch plans".into()))
                ),
                SearchKey::Not(Box::new(SearchKey::Sequence(SequenceSet(vec![(
                    Value(2),
                    Value(4)
                )])))),
            ])
        );
        assert!(matches!(
            kind("a UID SEARCH CHARSET UTF-8 SINCE 1-Feb-2026"),
            Kind::Search { uid: true, .. }
        ));
        assert!(error(b"a SEARCH CHARSET KOI8-R ALL")
            .message
            .contains("BADCHARSET"));
    }

    #[test]
    fn search_dates_and_parentheses() {
        let key = |line: &str| match kind(line) {
            Kind::Search { key, .. } => key,
            other => panic!("{other:?}"),
        };
        let day = 20_485; // 1-Feb-2026
        for (name, want) in [
            ("BEFORE", SearchKey::Before(day)),
            ("ON", SearchKey::On(day)),
            ("SINCE", SearchKey::Since(day)),
            ("SENTBEFORE", SearchKey::SentBefore(day)),
            ("SENTON", SearchKey::SentOn(day)),
            ("SENTSINCE", SearchKey::SentSince(day)),
        ] {
            assert_eq!(key(&format!("a SEARCH {name} 1-Feb-2026")), want, "{name}");
        }
        // A parenthesized list of one key is that key; of more, all of them.
        assert_eq!(key("a SEARCH (SEEN)"), SearchKey::Flag("\\Seen", true));
        assert_eq!(
            key("a SEARCH (SEEN DELETED)"),
            SearchKey::And(vec![
                SearchKey::Flag("\\Seen", true),
                SearchKey::Flag("\\Deleted", true)
            ])
        );
    }

    #[test]
    fn search_keys_nest_at_most_32_deep() {
        // Each NOT, OR and parenthesis goes one level down, whichever key of a list
        // goes deeper; a client's input must not exhaust the parser's stack.
        for (open, close) in [
            ("NOT ", ""),
            ("OR ", " ALL"),
            ("OR ALL ", ""),
            ("(", ")"),
            ("(ALL ", ")"),
        ] {
            let nested = |n: usize| format!("a SEARCH {}ALL{}", open.repeat(n), close.repeat(n));
            assert!(parse(nested(32).as_bytes()).is_ok(), "{open}");
            assert_eq!(
                error(nested(33).as_bytes()).message,
                "search keys nested too deeply",
                "{open}"
            );
        }
    }

    #[test]
    fn append_with_flags_date_and_literal() {
        let Kind::Append {
            mailbox,
            flags,
            date,
            message,
        } = kind("a APPEND Sent (\\Seen) \"05-Jan-2026 01:02:03 +0000\" {9}\r\nSubject:x")
        else {
            panic!()
        };
        assert_eq!(mailbox.0, "Sent");
        assert_eq!(flags, ["\\Seen"]);
        assert_eq!(date, Some(1_767_574_923));
        assert_eq!(message, b"Subject:x");
    }

    #[test]
    fn list_forms_and_id() {
        assert_eq!(
            kind("a LIST \"\" *"),
            Kind::List {
                reference: "".into(),
                pattern: "*".into(),
                special_use_only: false
            }
        );
        assert!(matches!(
            kind("a LIST (SPECIAL-USE) \"\" %"),
            Kind::List {
                special_use_only: true,
                ..
            }
        ));
        assert!(matches!(
            kind("a LIST \"\" \"*\" RETURN (SPECIAL-USE)"),
            Kind::List { .. }
        ));
        assert_eq!(
            kind("a ID (\"name\" \"imaplib\" \"version\" NIL)"),
            Kind::Id(vec![
                ("name".into(), Some("imaplib".into())),
                ("version".into(), None)
            ])
        );
        assert_eq!(kind("a ID NIL"), Kind::Id(vec![]));
        // RFC 2971 §3.3: at most 30 field-value pairs.
        let fields = |n: usize| {
            let pairs: Vec<String> = (0..n).map(|i| format!("\"f{i}\" \"v\"")).collect();
            format!("a ID ({})", pairs.join(" "))
        };
        assert!(matches!(kind(&fields(30)), Kind::Id(f) if f.len() == 30));
        assert_eq!(
            error(fields(31).as_bytes()).message,
            "too many ID fields (RFC 2971 §3.3: at most 30)"
        );
    }

    #[test]
    fn mistakes_keep_the_tag_when_there_is_one() {
        assert_eq!(error(b"").tag, None);
        assert_eq!(error(b"+ NOOP").tag, None);
        assert_eq!(error(b"a7").tag.as_deref(), Some("a7"));
        assert_eq!(error(b"a7 FROB").message, "unknown command FROB");
        assert_eq!(error(b"a7 NOOP extra").tag.as_deref(), Some("a7"));
        assert_eq!(error(b"a7  NOOP").tag.as_deref(), Some("a7"));
        assert!(error(b"a LOGIN {99}\r\nshort").message.contains("literal"));
    }
}
