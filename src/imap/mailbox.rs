//! The commands that work on mail (RFC 3501 §6.3, §6.4, and UIDPLUS, MOVE,
//! SPECIAL-USE), carried out on a user's [`Folders`] and the session's [`Selected`]
//! mailbox.
//!
//! The session has already checked that the command is allowed in its state; this
//! module does the work and says what to answer and where the state goes. Before the
//! tagged answer of every command that may (NOOP, CHECK, APPEND, the UID forms, IDLE's
//! end), it tells the client what other sessions changed ([`Selected::sync`]).
//!
//! Left out: keywords, and `\Recent` across sessions beyond what Maildir's `new/`
//! tells (the first session to select a folder sees its new mail as recent).

use std::fmt::Write as _;

use super::command::{FetchItem, Kind, Mailbox, StatusItem, StoreMode};
use super::fetch;
use super::folders::{Flags, FolderError, Folders, SEPARATOR};
use super::response::{astring, Response, Status};
use super::search::{self, Candidate};
use super::selected::Selected;
use super::session::{Next, Outcome};
use super::utf7;

/// What the session's state says about the selection, for [`run`].
pub struct Context<'a> {
    pub tag: &'a str,
    /// Whether the session had a mailbox selected (SELECT then sends `[CLOSED]`).
    pub was_selected: bool,
}

fn tagged(tag: &str, status: Status, code: Option<&str>, text: &str) -> Response {
    Response::new().tagged(tag, status, code, text)
}

fn stay(response: Response) -> Outcome {
    Outcome {
        response,
        next: Next::Stay,
    }
}

/// A folder error as a tagged NO with its code (RFC 5530).
fn refused(tag: &str, error: &FolderError, try_create: bool) -> Response {
    let code = match error {
        FolderError::NoSuchFolder if try_create => "TRYCREATE",
        FolderError::NoSuchFolder => "NONEXISTENT",
        FolderError::AlreadyExists => "ALREADYEXISTS",
        FolderError::Cannot(_) => "CANNOT",
        FolderError::NoSuchMessage => "EXPUNGEISSUED",
        FolderError::Io(_) => "SERVERBUG",
    };
    if let FolderError::Io(e) = error {
        log::warn!("IMAP: the mail store failed: {e}");
    }
    tagged(tag, Status::No, Some(code), &error.to_string())
}

// ANCHOR: run
/// Runs one command on the folders. `selected` is the session's selected mailbox, if
/// any; it is replaced, refreshed or cleared as the command says.
pub fn run(
    folders: &dyn Folders,
    selected: &mut Option<Selected>,
    context: Context<'_>,
    kind: &Kind,
) -> Outcome {
    let tag = context.tag;
    let ok = |text: &str| tagged(tag, Status::Ok, None, text);
    match kind {
        Kind::Select(mailbox) | Kind::Examine(mailbox) => {
            let read_only = matches!(kind, Kind::Examine(_));
            // RFC 7162 §3.2.11 (and what Dovecot says): the old mailbox is closed first.
            let closed = if context.was_selected {
                Response::new().untagged_status(
                    Status::Ok,
                    Some("CLOSED"),
                    "Previous mailbox closed",
                )
            } else {
                Response::new()
            };
            *selected = None;
            match folders.snapshot(&mailbox.0, !read_only) {
                Ok(snapshot) => {
                    let view = Selected::open(&mailbox.0, read_only, snapshot);
                    let (code, verb) = if read_only {
                        ("READ-ONLY", "EXAMINE")
                    } else {
                        ("READ-WRITE", "SELECT")
                    };
                    let response = closed.then(view.select_responses()).then(tagged(
                        tag,
                        Status::Ok,
                        Some(code),
                        &format!("{verb} completed"),
                    ));
                    *selected = Some(view);
                    Outcome {
                        response,
                        next: Next::Select {
                            mailbox: mailbox.0.clone(),
                            read_only,
                        },
                    }
                }
                Err(e) => Outcome {
                    response: closed.then(refused(tag, &e, false)),
                    next: Next::Deselect,
                },
            }
        }
        Kind::Create(mailbox) => {
            let name = mailbox.0.trim_end_matches(SEPARATOR);
            let result = match check_name(name) {
                Err(why) => Err(FolderError::Cannot(why)),
                // INBOX always exists (§5.1). On disk it is the Maildir itself, so a
                // folder of that name would hide behind it.
                Ok(()) if mailbox.is_inbox() => Err(FolderError::AlreadyExists),
                Ok(()) => folders.create(name),
            };
            stay(match result {
                Ok(()) => ok("CREATE completed"),
                Err(e) => refused(tag, &e, false),
            })
        }
        Kind::Delete(mailbox) => stay(match folders.delete(&mailbox.0) {
            Ok(()) => ok("DELETE completed"),
            Err(e) => refused(tag, &e, false),
        }),
        Kind::Rename(from, to) => {
            // §6.3.5 lets INBOX be renamed (its messages move, INBOX stays empty);
            // postie leaves that out. Renaming *to* INBOX is renaming to a name that
            // exists, which §6.3.5 makes an error.
            let result = if from.is_inbox() {
                Err(FolderError::Cannot(
                    "Renaming INBOX is not supported".into(),
                ))
            } else if to.is_inbox() {
                Err(FolderError::AlreadyExists)
            } else {
                check_name(&to.0)
                    .map_err(FolderError::Cannot)
                    .and_then(|()| folders.rename(&from.0, &to.0))
            };
            stay(match result {
                Ok(()) => ok("RENAME completed"),
                Err(e) => refused(tag, &e, false),
            })
        }
        Kind::Subscribe(mailbox) | Kind::Unsubscribe(mailbox) => {
            let on = matches!(kind, Kind::Subscribe(_));
            stay(match folders.subscribe(&mailbox.0, on) {
                Ok(()) if on => ok("SUBSCRIBE completed"),
                Ok(()) => ok("UNSUBSCRIBE completed"),
                Err(e) => refused(tag, &e, false),
            })
        }
        Kind::List {
            reference,
            pattern,
            special_use_only,
        } => stay(list(
            folders,
            tag,
            reference,
            pattern,
            *special_use_only,
            false,
        )),
        Kind::Lsub { reference, pattern } => {
            stay(list(folders, tag, reference, pattern, false, true))
        }
        Kind::Status(mailbox, items) => stay(status(folders, tag, mailbox, items)),
        Kind::Append {
            mailbox,
            flags,
            date,
            message,
        } => {
            // §6.3.11: appended to the selected mailbox, it is announced (EXISTS) before
            // the tagged OK.
            let response = append(folders, tag, mailbox, flags, *date, message);
            stay(sync_first(folders, selected).then(response))
        }
        Kind::Noop | Kind::Check => {
            let name = if matches!(kind, Kind::Noop) {
                "NOOP"
            } else {
                "CHECK"
            };
            stay(sync_first(folders, selected).then(ok(&format!("{name} completed"))))
        }
        Kind::Close | Kind::Unselect => {
            let mut response = Response::new();
            // §6.4.2: CLOSE expunges silently, unless the mailbox is read-only.
            if let (Kind::Close, Some(view)) = (kind, selected.as_ref()) {
                if !view.read_only {
                    let deleted = deleted_uids(view, None);
                    if let Err(e) = folders.expunge(&view.name, &deleted) {
                        response = refused(tag, &e, false);
                    }
                }
            }
            *selected = None;
            let name = if matches!(kind, Kind::Close) {
                "CLOSE"
            } else {
                "UNSELECT"
            };
            Outcome {
                response: if response.is_empty() {
                    ok(&format!("{name} completed"))
                } else {
                    response
                },
                next: Next::Deselect,
            }
        }
        _ => match selected.as_mut() {
            Some(view) => stay(run_selected(folders, view, tag, kind)),
            None => stay(tagged(tag, Status::Bad, None, "No mailbox selected")),
        },
    }
}
// ANCHOR_END: run

/// Syncs the selected mailbox, if any, before a command's tagged response.
fn sync_first(folders: &dyn Folders, selected: &mut Option<Selected>) -> Response {
    match selected.as_mut() {
        Some(view) => resync(folders, view),
        None => Response::new(),
    }
}

/// A name postie can keep: no empty level, no `/` (a path on disk), no control
/// characters, and not too long.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 200 {
        return Err("A mailbox name must be 1 to 200 octets".into());
    }
    if name.split(SEPARATOR).any(str::is_empty) {
        return Err(format!(
            "A mailbox name may not have an empty level (\"{SEPARATOR}{SEPARATOR}\")"
        ));
    }
    if name
        .chars()
        .any(|c| c == '/' || c == '\\' || c.is_control() || c == '~')
    {
        return Err("A mailbox name may not contain '/', '\\', '~' or control characters".into());
    }
    Ok(())
}

// ANCHOR: list
/// §6.3.8 LIST and §6.3.9 LSUB: the folders whose names match the pattern, where `*`
/// matches anything and `%` anything but the separator.
fn list(
    folders: &dyn Folders,
    tag: &str,
    reference: &str,
    pattern: &str,
    special_use_only: bool,
    subscribed_only: bool,
) -> Response {
    let command = if subscribed_only { "LSUB" } else { "LIST" };
    // §6.3.8: an empty pattern asks for the separator and the root.
    if pattern.is_empty() && !subscribed_only {
        return Response::new()
            .untagged(&format!("LIST (\\Noselect) \"{SEPARATOR}\" \"\""))
            .then(tagged(tag, Status::Ok, None, "LIST completed"));
    }
    let all = match folders.list() {
        Ok(all) => all,
        Err(e) => return refused(tag, &e, false),
    };
    let subscribed = if subscribed_only {
        match folders.subscriptions() {
            Ok(s) => Some(s),
            Err(e) => return refused(tag, &e, false),
        }
    } else {
        None
    };
    let full = format!("{reference}{pattern}");
    let mut r = Response::new();
    for folder in &all {
        if !wildcard(&full, &folder.name) {
            continue;
        }
        if special_use_only && folder.special_use.is_none() {
            continue;
        }
        if let Some(subscribed) = &subscribed {
            if !subscribed.contains(&folder.name) {
                continue;
            }
        }
        // LSUB answers only \Noselect (§6.3.9); LIST tells children (RFC 3348) and
        // special use (RFC 6154).
        let mut attributes = Vec::new();
        if !subscribed_only {
            attributes.push(if folder.has_children {
                "\\HasChildren"
            } else {
                "\\HasNoChildren"
            });
            attributes.extend(folder.special_use);
        }
        let mut line = format!("{command} ({}) \"{SEPARATOR}\" ", attributes.join(" "));
        let mut name = Vec::new();
        astring(&mut name, &utf7::encode(&folder.name));
        line.push_str(&String::from_utf8_lossy(&name));
        r = r.untagged(&line);
    }
    r.then(tagged(
        tag,
        Status::Ok,
        None,
        &format!("{command} completed"),
    ))
}

/// Does `name` match the LIST pattern? (INBOX matches in any case, §5.1.)
pub fn wildcard(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some(('*', rest)) => (0..=n.len()).any(|i| go(rest, &n[i..])),
            Some(('%', rest)) => (0..=n.len())
                .take_while(|&i| i == 0 || n[i - 1] != SEPARATOR)
                .any(|i| go(rest, &n[i..])),
            Some((c, rest)) => n.first() == Some(c) && go(rest, &n[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    if name == "INBOX" && pattern.eq_ignore_ascii_case("INBOX") {
        return true;
    }
    go(&p, &n)
}
// ANCHOR_END: list

/// §6.3.10 STATUS.
fn status(folders: &dyn Folders, tag: &str, mailbox: &Mailbox, items: &[StatusItem]) -> Response {
    let snapshot = match folders.snapshot(&mailbox.0, false) {
        Ok(s) => s,
        Err(e) => return refused(tag, &e, false),
    };
    let mut values = Vec::new();
    for item in items {
        let (name, value) = match item {
            StatusItem::Messages => ("MESSAGES", snapshot.messages.len() as u64),
            StatusItem::Recent => (
                "RECENT",
                snapshot.messages.iter().filter(|m| m.recent).count() as u64,
            ),
            StatusItem::UidNext => ("UIDNEXT", u64::from(snapshot.uid_next)),
            StatusItem::UidValidity => ("UIDVALIDITY", u64::from(snapshot.uid_validity)),
            StatusItem::Unseen => (
                "UNSEEN",
                snapshot
                    .messages
                    .iter()
                    .filter(|m| !m.flags.contains(Flags::SEEN))
                    .count() as u64,
            ),
        };
        values.push(format!("{name} {value}"));
    }
    let mut line = b"STATUS ".to_vec();
    astring(&mut line, &utf7::encode(&mailbox.0));
    Response::new()
        .untagged(&format!(
            "{} ({})",
            String::from_utf8_lossy(&line),
            values.join(" ")
        ))
        .then(tagged(tag, Status::Ok, None, "STATUS completed"))
}

/// §6.3.11 APPEND, answering with RFC 4315's APPENDUID.
fn append(
    folders: &dyn Folders,
    tag: &str,
    mailbox: &Mailbox,
    flags: &[String],
    date: Option<i64>,
    message: &[u8],
) -> Response {
    let flags = match keepable_flags(tag, flags) {
        Ok(flags) => flags,
        Err(no) => return no,
    };
    if message.is_empty() {
        return tagged(tag, Status::No, None, "An empty message cannot be appended");
    }
    match folders.append(&mailbox.0, message, flags, date) {
        Ok((validity, uid)) => tagged(
            tag,
            Status::Ok,
            Some(&format!("APPENDUID {validity} {uid}")),
            "APPEND completed",
        ),
        Err(e) => refused(tag, &e, true),
    }
}

/// The flags APPEND or STORE names; a keyword postie cannot keep is `NO [CANNOT]`.
fn keepable_flags(tag: &str, names: &[String]) -> Result<Flags, Response> {
    Flags::from_names(names).map_err(|name| {
        tagged(
            tag,
            Status::No,
            Some("CANNOT"),
            &format!("postie keeps no keyword such as {name}"),
        )
    })
}

fn deleted_uids(view: &Selected, within: Option<&[usize]>) -> Vec<u32> {
    let all: Vec<usize> = (0..view.messages.len()).collect();
    within
        .unwrap_or(&all)
        .iter()
        .map(|&i| &view.messages[i])
        .filter(|m| m.flags.contains(Flags::DELETED))
        .map(|m| m.uid)
        .collect()
}

// ANCHOR: run_selected
/// The commands of the selected state (§6.4).
fn run_selected(folders: &dyn Folders, view: &mut Selected, tag: &str, kind: &Kind) -> Response {
    let bad = |text: &str| tagged(tag, Status::Bad, None, text);
    let read_only = || {
        tagged(
            tag,
            Status::No,
            Some("READ-ONLY"),
            "The mailbox is read-only (EXAMINE)",
        )
    };
    match kind {
        Kind::Expunge(uids) => {
            if view.read_only {
                return read_only();
            }
            let within = match uids {
                Some(set) => match view.resolve(set, true) {
                    Ok(i) => Some(i),
                    Err(e) => return bad(e),
                },
                None => None,
            };
            let deleted = deleted_uids(view, within.as_deref());
            if let Err(e) = folders.expunge(&view.name, &deleted) {
                return refused(tag, &e, false);
            }
            let name = if uids.is_some() {
                "UID EXPUNGE"
            } else {
                "EXPUNGE"
            };
            resync(folders, view).then(tagged(tag, Status::Ok, None, &format!("{name} completed")))
        }
        Kind::Search { uid, key } => {
            let before = news_before(folders, view, *uid);
            let hits = search(folders, view, key, *uid);
            let mut line = "SEARCH".to_string();
            for n in hits {
                let _ = write!(line, " {n}");
            }
            let name = if *uid { "UID SEARCH" } else { "SEARCH" };
            before
                .untagged(&line)
                .then(tagged(tag, Status::Ok, None, &format!("{name} completed")))
        }
        Kind::Fetch { uid, set, items } => {
            let before = news_before(folders, view, *uid);
            let indices = match view.resolve(set, *uid) {
                Ok(i) => i,
                Err(e) => return bad(e),
            };
            let name = if *uid { "UID FETCH" } else { "FETCH" };
            before
                .then(fetch_messages(folders, view, &indices, items))
                .then(tagged(tag, Status::Ok, None, &format!("{name} completed")))
        }
        Kind::Store {
            uid,
            set,
            mode,
            silent,
            flags,
        } => {
            if view.read_only {
                return read_only();
            }
            let flags = match keepable_flags(tag, flags) {
                Ok(flags) => flags,
                Err(no) => return no,
            };
            let before = news_before(folders, view, *uid);
            let indices = match view.resolve(set, *uid) {
                Ok(i) => i,
                Err(e) => return bad(e),
            };
            let mut r = before;
            for i in indices {
                let m = &mut view.messages[i];
                let new = match mode {
                    StoreMode::Replace => flags,
                    StoreMode::Add => m.flags.union(flags),
                    StoreMode::Remove => m.flags.minus(flags),
                };
                if new != m.flags {
                    match folders.set_flags(&view.name, m.uid, new) {
                        Ok(()) => m.flags = new,
                        Err(FolderError::NoSuchMessage) => continue,
                        Err(e) => return r.then(refused(tag, &e, false)),
                    }
                }
                // §6.4.6: the new flags, unless .SILENT; with the UID for UID STORE.
                if !silent {
                    let recent = view.recent.contains(&m.uid);
                    let uid_item = if *uid {
                        format!("UID {} ", m.uid)
                    } else {
                        String::new()
                    };
                    r = r.untagged(&format!(
                        "{} FETCH ({uid_item}FLAGS {})",
                        i + 1,
                        m.flags.list(recent)
                    ));
                }
            }
            let name = if *uid { "UID STORE" } else { "STORE" };
            r.then(tagged(tag, Status::Ok, None, &format!("{name} completed")))
        }
        Kind::Copy { uid, set, mailbox } | Kind::Move { uid, set, mailbox } => {
            let moving = matches!(kind, Kind::Move { .. });
            if moving && view.read_only {
                return read_only();
            }
            let before = news_before(folders, view, *uid);
            let indices = match view.resolve(set, *uid) {
                Ok(i) => i,
                Err(e) => return bad(e),
            };
            let uids: Vec<u32> = indices.iter().map(|&i| view.messages[i].uid).collect();
            let name = match (moving, *uid) {
                (false, false) => "COPY",
                (false, true) => "UID COPY",
                (true, false) => "MOVE",
                (true, true) => "UID MOVE",
            };
            if uids.is_empty() {
                return before.then(tagged(
                    tag,
                    Status::Ok,
                    None,
                    &format!("{name} completed (nothing to copy)"),
                ));
            }
            let (validity, new) = match folders.copy(&view.name, &uids, &mailbox.0) {
                Ok(done) => done,
                Err(e) => return before.then(refused(tag, &e, true)),
            };
            let code = format!("COPYUID {validity} {} {}", uid_set(&uids), uid_set(&new));
            if !moving {
                return before.then(tagged(
                    tag,
                    Status::Ok,
                    Some(&code),
                    &format!("{name} completed"),
                ));
            }
            // RFC 6851 §4.3: COPYUID untagged, then the EXPUNGEs, then OK.
            if let Err(e) = folders.expunge(&view.name, &uids) {
                return before.then(refused(tag, &e, false));
            }
            before
                .untagged_status(Status::Ok, Some(&code), "Moved")
                .then(resync(folders, view))
                .then(tagged(tag, Status::Ok, None, &format!("{name} completed")))
        }
        _ => bad("Not a command of the selected state"),
    }
}
// ANCHOR_END: run_selected

/// What a command is told first of the changes others made: everything before a UID
/// command, nothing before one by sequence numbers, whose numbers an EXPUNGE in
/// between would shift (§7.4.1); it hears of them at the next command.
fn news_before(folders: &dyn Folders, view: &mut Selected, uid: bool) -> Response {
    if uid {
        resync(folders, view)
    } else {
        Response::new()
    }
}

/// The changes since the view's last look, as untagged responses. Only a read-write
/// session claims `\Recent` (§2.3.2, §6.3.2).
fn resync(folders: &dyn Folders, view: &mut Selected) -> Response {
    match folders.snapshot(&view.name, !view.read_only) {
        Ok(now) => view.sync(now),
        // The mailbox was deleted under us (by another session): §7.1.5 BYE would be
        // harsh; the next command on it will fail.
        Err(_) => Response::new(),
    }
}

/// RFC 4315 `uid-set`: `1:3,7`, ranges folded.
pub fn uid_set(uids: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end + 1 {
            i += 1;
            end = uids[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            let _ = write!(out, "{start}");
        } else {
            let _ = write!(out, "{start}:{end}");
        }
        i += 1;
    }
    out
}

// ANCHOR: fetch_messages
/// FETCH for each index: read the message if an item needs it, set `\Seen` if an
/// item says so (and report the new flags, §6.4.5).
fn fetch_messages(
    folders: &dyn Folders,
    view: &mut Selected,
    indices: &[usize],
    items: &[FetchItem],
) -> Response {
    let needs_text = fetch::needs_text(items);
    let marks_seen = fetch::sets_seen(items) && !view.read_only;
    let mut r = Response::new();
    for &i in indices {
        let uid = view.messages[i].uid;
        let text = if needs_text {
            match folders.read(&view.name, uid) {
                Ok(text) => Some(text),
                // Gone under us: §7.4.1 lets us say nothing of it now.
                Err(FolderError::NoSuchMessage) => continue,
                Err(e) => {
                    log::warn!("IMAP: cannot read message UID {uid}: {e}");
                    continue;
                }
            }
        } else {
            None
        };
        let mut items = items.to_vec();
        let m = &mut view.messages[i];
        if marks_seen && !m.flags.contains(Flags::SEEN) {
            let new = m.flags.union(Flags::SEEN);
            if folders.set_flags(&view.name, uid, new).is_ok() {
                m.flags = new;
                // §6.4.5: the new flags are reported; first, as Dovecot does.
                if !items.contains(&FetchItem::Flags) {
                    let at = usize::from(items.first() == Some(&FetchItem::Uid));
                    items.insert(at, FetchItem::Flags);
                }
            }
        }
        let recent = view.recent.contains(&uid);
        r = r.untagged_data(&fetch::render(
            i as u32 + 1,
            m,
            recent,
            text.as_deref(),
            &items,
        ));
    }
    r
}
// ANCHOR_END: fetch_messages

fn search(
    folders: &dyn Folders,
    view: &Selected,
    key: &super::command::SearchKey,
    uid: bool,
) -> Vec<u32> {
    let needs_text = search::needs_text(key);
    let last_seq = view.messages.len() as u32;
    let last_uid = view.messages.last().map_or(0, |m| m.uid);
    let mut hits = Vec::new();
    for (i, info) in view.messages.iter().enumerate() {
        let text = if needs_text {
            folders.read(&view.name, info.uid).ok()
        } else {
            None
        };
        let candidate = Candidate {
            seq: i as u32 + 1,
            info,
            recent: view.recent.contains(&info.uid),
            last_seq,
            last_uid,
            message: text.as_deref().and_then(Candidate::parse),
        };
        if search::matches(key, &candidate) {
            hits.push(if uid { info.uid } else { i as u32 + 1 });
        }
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::command::parse;
    use crate::imap::folders::Memory;
    use crate::imap::maildir::MaildirFolders;
    use crate::store::mailbox::{domain_name, mailbox_name};
    use crate::store::maildir::MailboxPath;

    const MESSAGE: &[u8] = b"From: bob@example.org\r\nSubject: Hello\r\n\r\nHi Alice\r\n";

    /// Runs one command line against `folders`, as the connection would.
    fn run_line(folders: &dyn Folders, selected: &mut Option<Selected>, line: &str) -> String {
        let command = parse(line.as_bytes()).expect("parses");
        let was_selected = selected.is_some();
        let outcome = run(
            folders,
            selected,
            Context {
                tag: &command.tag,
                was_selected,
            },
            &command.kind,
        );
        String::from_utf8(outcome.response.0).unwrap()
    }

    /// Runs each line of `script` in turn; each must get exactly its response.
    fn dialogue(folders: &dyn Folders, selected: &mut Option<Selected>, script: &[(&str, &str)]) {
        for (line, response) in script {
            assert_eq!(run_line(folders, selected, line), *response, "{line}");
        }
    }

    fn mailbox_with(n: usize) -> Memory {
        let folders = Memory::new();
        for i in 0..n {
            folders.deliver("INBOX", MESSAGE, 1_767_574_923 + i as i64);
        }
        folders
    }

    #[test]
    fn select_reports_the_mailbox() {
        let folders = mailbox_with(2);
        let mut selected = None;
        let r = run_line(&folders, &mut selected, "a SELECT INBOX");
        assert_eq!(
            r,
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n\
             * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)] Flags permitted\r\n\
             * 2 EXISTS\r\n* 2 RECENT\r\n* OK [UNSEEN 1] First unseen\r\n\
             * OK [UIDVALIDITY 1] UIDs valid\r\n* OK [UIDNEXT 3] Predicted next UID\r\n\
             a OK [READ-WRITE] SELECT completed\r\n"
        );
        // The second session sees them as not recent any more.
        let mut other = None;
        let r = run_line(&folders, &mut other, "b EXAMINE INBOX");
        assert!(
            r.contains("* 0 RECENT") && r.ends_with("b OK [READ-ONLY] EXAMINE completed\r\n"),
            "{r}"
        );
        let r = run_line(&folders, &mut selected, "c SELECT Nope");
        assert_eq!(
            r,
            "* OK [CLOSED] Previous mailbox closed\r\nc NO [NONEXISTENT] No such mailbox\r\n"
        );
        assert!(selected.is_none());
    }

    #[test]
    fn fetch_store_search_expunge() {
        let folders = mailbox_with(3);
        let mut s = None;
        run_line(&folders, &mut s, "a SELECT INBOX");
        dialogue(
            &folders,
            &mut s,
            &[
                (
                    "b FETCH 2 (FLAGS BODY[TEXT])",
                    "* 2 FETCH (FLAGS (\\Seen \\Recent) BODY[TEXT] {10}\r\nHi Alice\r\n)\r\nb OK FETCH completed\r\n",
                ),
                (
                    "c STORE 1,3 +FLAGS (\\Deleted)",
                    "* 1 FETCH (FLAGS (\\Deleted \\Recent))\r\n* 3 FETCH (FLAGS (\\Deleted \\Recent))\r\nc OK STORE completed\r\n",
                ),
                ("d SEARCH DELETED", "* SEARCH 1 3\r\nd OK SEARCH completed\r\n"),
                ("e UID SEARCH UNSEEN", "* SEARCH 1 3\r\ne OK UID SEARCH completed\r\n"),
                ("f EXPUNGE", "* 3 EXPUNGE\r\n* 1 EXPUNGE\r\nf OK EXPUNGE completed\r\n"),
                (
                    "g UID FETCH 1:* (FLAGS)",
                    "* 1 FETCH (UID 2 FLAGS (\\Seen \\Recent))\r\ng OK UID FETCH completed\r\n",
                ),
                ("h FETCH 2 FLAGS", "h BAD Invalid message sequence number\r\n"),
            ],
        );
    }

    #[test]
    fn another_session_is_seen_at_the_next_command() {
        let folders = mailbox_with(2);
        let (mut phone, mut laptop) = (None, None);
        run_line(&folders, &mut phone, "a SELECT INBOX");
        run_line(&folders, &mut laptop, "a SELECT INBOX");
        run_line(&folders, &mut laptop, "b STORE 2 +FLAGS (\\Flagged)");
        run_line(&folders, &mut laptop, "c STORE 1 +FLAGS (\\Deleted)");
        run_line(&folders, &mut laptop, "d EXPUNGE");
        folders.deliver("INBOX", MESSAGE, 0);
        assert_eq!(
            run_line(&folders, &mut phone, "e NOOP"),
            "* 1 EXPUNGE\r\n* 1 FETCH (UID 2 FLAGS (\\Flagged \\Recent))\r\n* 2 EXISTS\r\n* 2 RECENT\r\ne OK NOOP completed\r\n"
        );
    }

    #[test]
    fn folders_copy_move_and_list() {
        let folders = mailbox_with(2);
        let mut s = None;
        assert_eq!(
            run_line(&folders, &mut s, "a CREATE Archive.2026"),
            "a OK CREATE completed\r\n"
        );
        assert!(
            run_line(&folders, &mut s, "a CREATE Archive.2026").starts_with("a NO [ALREADYEXISTS]")
        );
        assert!(run_line(&folders, &mut s, "a CREATE INBOX").starts_with("a NO [ALREADYEXISTS]"));
        assert!(run_line(&folders, &mut s, "a CREATE a..b").starts_with("a NO [CANNOT]"));
        assert_eq!(
            run_line(&folders, &mut s, "b CREATE \"Caf&AOk-\""),
            "b OK CREATE completed\r\n"
        );
        let list = run_line(&folders, &mut s, "c LIST \"\" *");
        assert_eq!(
            list,
            "* LIST (\\HasNoChildren) \".\" INBOX\r\n\
             * LIST (\\HasNoChildren) \".\" Archive.2026\r\n\
             * LIST (\\HasNoChildren) \".\" Caf&AOk-\r\n\
             * LIST (\\HasNoChildren \\Drafts) \".\" Drafts\r\n\
             * LIST (\\HasNoChildren \\Junk) \".\" Junk\r\n\
             * LIST (\\HasNoChildren \\Sent) \".\" Sent\r\n\
             * LIST (\\HasNoChildren \\Trash) \".\" Trash\r\n\
             c OK LIST completed\r\n"
        );
        dialogue(
            &folders,
            &mut s,
            &[
                (
                    "d LIST \"\" %.%",
                    "* LIST (\\HasNoChildren) \".\" Archive.2026\r\nd OK LIST completed\r\n",
                ),
                (
                    "d LIST \"\" \"\"",
                    "* LIST (\\Noselect) \".\" \"\"\r\nd OK LIST completed\r\n",
                ),
            ],
        );
        run_line(&folders, &mut s, "e SELECT INBOX");
        assert_eq!(
            run_line(&folders, &mut s, "f COPY 1:2 Trash"),
            "f OK [COPYUID 4 1:2 1:2] COPY completed\r\n"
        );
        assert!(run_line(&folders, &mut s, "g COPY 1 Nowhere").starts_with("g NO [TRYCREATE]"));
        dialogue(
            &folders,
            &mut s,
            &[
                (
                    "h UID MOVE 2 Archive.2026",
                    "* OK [COPYUID 6 2 1] Moved\r\n* 2 EXPUNGE\r\nh OK UID MOVE completed\r\n",
                ),
                (
                    "i STATUS Trash (MESSAGES UNSEEN UIDNEXT)",
                    "* STATUS Trash (MESSAGES 2 UNSEEN 2 UIDNEXT 3)\r\ni OK STATUS completed\r\n",
                ),
                (
                    "j APPEND Sent (\\Seen) {5}\r\nHi!\r\n",
                    "j OK [APPENDUID 3 1] APPEND completed\r\n",
                ),
            ],
        );
        assert!(
            run_line(&folders, &mut s, "k APPEND Nope {1}\r\nx").starts_with("k NO [TRYCREATE]")
        );
        // Appended to the selected mailbox: announced before the OK (§6.3.11).
        let appended = run_line(&folders, &mut s, "k APPEND INBOX {5}\r\nHi!\r\n");
        assert!(
            appended.starts_with("* 2 EXISTS\r\n* 2 RECENT\r\nk OK [APPENDUID 1 3]"),
            "{appended}"
        );
        assert_eq!(
            run_line(&folders, &mut s, "l CLOSE"),
            "l OK CLOSE completed\r\n"
        );
        assert!(s.is_none());
    }

    #[test]
    fn inbox_is_neither_created_nor_renamed() {
        // Whatever the store: the Maildir on disk would make a folder named INBOX.
        let root = tempfile::tempdir().unwrap();
        let alice = MailboxPath {
            domain: domain_name("localhost").unwrap(),
            mailbox: mailbox_name("alice").unwrap(),
        };
        let on_disk = MaildirFolders::open(root.path(), &alice, "mx", None).unwrap();
        let stores: [&dyn Folders; 2] = [&Memory::new(), &on_disk];
        for folders in stores {
            dialogue(
                folders,
                &mut None,
                &[
                    (
                        "a CREATE inbox",
                        "a NO [ALREADYEXISTS] Mailbox already exists\r\n",
                    ),
                    (
                        "b RENAME INBOX Old",
                        "b NO [CANNOT] Renaming INBOX is not supported\r\n",
                    ),
                    ("c CREATE Old", "c OK CREATE completed\r\n"),
                    (
                        "d RENAME Old inbox",
                        "d NO [ALREADYEXISTS] Mailbox already exists\r\n",
                    ),
                    (
                        "e LIST \"\" %",
                        "* LIST (\\HasNoChildren) \".\" INBOX\r\n\
                         * LIST (\\HasNoChildren \\Drafts) \".\" Drafts\r\n\
                         * LIST (\\HasNoChildren \\Junk) \".\" Junk\r\n\
                         * LIST (\\HasNoChildren) \".\" Old\r\n\
                         * LIST (\\HasNoChildren \\Sent) \".\" Sent\r\n\
                         * LIST (\\HasNoChildren \\Trash) \".\" Trash\r\n\
                         e OK LIST completed\r\n",
                    ),
                ],
            );
        }
    }

    #[test]
    fn subscribe_and_unsubscribe_say_which() {
        let folders = mailbox_with(0);
        dialogue(
            &folders,
            &mut None,
            &[
                ("a SUBSCRIBE Trash", "a OK SUBSCRIBE completed\r\n"),
                (
                    "b LSUB \"\" *",
                    "* LSUB () \".\" Trash\r\nb OK LSUB completed\r\n",
                ),
                ("c UNSUBSCRIBE Trash", "c OK UNSUBSCRIBE completed\r\n"),
                ("d LSUB \"\" *", "d OK LSUB completed\r\n"),
            ],
        );
    }

    #[test]
    fn only_a_read_write_session_claims_recent() {
        // §2.3.2: a message is recent in one session only; EXAMINE looks without
        // claiming it (§6.3.2).
        let folders = mailbox_with(0);
        let (mut looker, mut owner, mut late) = (None, None, None);
        run_line(&folders, &mut looker, "a EXAMINE INBOX");
        folders.deliver("INBOX", MESSAGE, 1_767_574_923);
        assert_eq!(
            run_line(&folders, &mut looker, "b NOOP"),
            "* 1 EXISTS\r\n* 1 RECENT\r\nb OK NOOP completed\r\n"
        );
        assert!(run_line(&folders, &mut owner, "c SELECT INBOX").contains("* 1 RECENT\r\n"));
        folders.deliver("INBOX", MESSAGE, 1_767_574_924);
        assert_eq!(
            run_line(&folders, &mut owner, "d NOOP"),
            "* 2 EXISTS\r\n* 2 RECENT\r\nd OK NOOP completed\r\n"
        );
        assert!(run_line(&folders, &mut late, "e SELECT INBOX").contains("* 0 RECENT\r\n"));
    }

    #[test]
    fn a_uid_command_hears_the_news_first() {
        // §7.4.1: a command by sequence number must not be told of an EXPUNGE, which
        // would shift its numbers; a UID command may be told everything first.
        let folders = mailbox_with(1);
        let mut s = None;
        run_line(&folders, &mut s, "a SELECT INBOX");
        folders.deliver("INBOX", MESSAGE, 1_767_574_924);
        assert_eq!(
            run_line(&folders, &mut s, "b FETCH 1 UID"),
            "* 1 FETCH (UID 1)\r\nb OK FETCH completed\r\n"
        );
        folders.deliver("INBOX", MESSAGE, 1_767_574_925);
        assert_eq!(
            run_line(&folders, &mut s, "c UID FETCH 1 UID"),
            "* 3 EXISTS\r\n* 3 RECENT\r\n* 1 FETCH (UID 1)\r\nc OK UID FETCH completed\r\n"
        );
    }

    #[test]
    fn search_by_sequence_number() {
        let folders = mailbox_with(3);
        let mut s = None;
        run_line(&folders, &mut s, "a SELECT INBOX");
        run_line(&folders, &mut s, "b UID STORE 1 +FLAGS (\\Deleted)");
        run_line(&folders, &mut s, "c EXPUNGE");
        // Now message 1 has UID 2, and message 2 has UID 3 (§2.3.1.2).
        dialogue(
            &folders,
            &mut s,
            &[
                ("d SEARCH 2", "* SEARCH 2\r\nd OK SEARCH completed\r\n"),
                (
                    "e UID SEARCH 2",
                    "* SEARCH 3\r\ne OK UID SEARCH completed\r\n",
                ),
                ("f SEARCH UID 2", "* SEARCH 1\r\nf OK SEARCH completed\r\n"),
            ],
        );
    }

    #[test]
    fn names_postie_can_keep() {
        assert_eq!(check_name(&"a".repeat(200)), Ok(()));
        for bad in [
            "".to_string(),
            "a".repeat(201),
            "a..b".into(),
            "a.".into(),
            "a/b".into(),
            "a\\b".into(),
            "a~b".into(),
            "a\u{7}b".into(),
        ] {
            assert!(check_name(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn wildcards() {
        for (pattern, name, want) in [
            ("*", "a.b.c", true),
            ("%", "a.b", false),
            ("a.%", "a.b", true),
            ("a.%", "a.b.c", false),
            ("a*", "a.b.c", true),
            ("inbox", "INBOX", true),
            ("Sent", "sent", false),
        ] {
            assert_eq!(wildcard(pattern, name), want, "{pattern} {name}");
        }
        assert_eq!(uid_set(&[1, 2, 3, 5, 7, 8]), "1:3,5,7:8");
    }
}
