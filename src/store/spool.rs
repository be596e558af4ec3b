//! The outbound queue: messages for other domains wait here, on disk, until they are
//! delivered, bounced or expired (RFC 5321 §4.5.4.1 retries, §6.1 responsibility).
//!
//! A queue entry is two files:
//!
//! ```text
//! <spool>/tmp/<id>          being written
//! <spool>/messages/<id>     the message, exactly as it will be sent
//! <spool>/envelopes/<id>    who it is from, for whom, and how far each recipient got
//! ```
//!
//! The order of writing is the whole trick. The message is written, fsynced and renamed
//! into `messages/` first, and `messages/` fsynced; then the envelope, likewise, into
//! `envelopes/` (both the way of [`crate::store::durable`]). An entry *exists* when its envelope exists. A crash at any
//! moment leaves either a complete entry or an orphan message without an envelope, which
//! [`Spool::recover`] removes at start-up: it was never acknowledged with 250, so its
//! sender still has it.
//!
//! The envelope is a small text file a student can read with `cat`:
//!
//! ```text
//! postie-envelope 1
//! from  alice@example.org
//! arrived  1795827860
//! body  8bitmime
//! smtputf8  no
//! attempts  1
//! next-attempt  1795828160
//! last-error  mx.b.test: 451 4.3.0 try again later
//! rcpt  pending  bob@b.test  -  -  -
//! rcpt  failed  carol@c.test  5.1.1  mx.c.test  550 5.1.1 no such user
//! ```
//!
//! Fields are separated by tabs (shown as spaces above): no address, host or (sanitized) reply can contain one.
//! Updates write a new envelope and rename it over the old one, so a reader never sees
//! half a file.
//!
//! Every committed message rings the spool's [`Bell`], so the relay (which waits on it)
//! need not wait for its next look at the directory.
//!
//! Left out: a queue index in memory (the runner lists the directory), priorities,
//! hashed subdirectories for very large queues (Postfix and qmail have both). What
//! happens to an entry (when to try, where to, when to give up) is the relay's business,
//! not the spool's.

use std::fs::{self, DirBuilder, File};
use std::io::{self, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::status::Status;
use crate::store::bell::Bell;
use crate::store::durable::{self, sync_dir, TmpFile};
use crate::store::id::MessageId;

const MAGIC: &str = "postie-envelope 1";

/// Files being written.
const TMP: &str = "tmp";
/// One file per message, named by its id.
const MESSAGES: &str = "messages";
/// One envelope per message: an entry exists when its envelope does.
const ENVELOPES: &str = "envelopes";

// ANCHOR: recipient_state
/// How far one recipient got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecipientState {
    /// Not delivered yet; will be tried (again).
    Pending,
    /// A remote server said 250 after the dot: no longer our responsibility.
    Delivered,
    /// Given up (5xx, or expired): the sender gets a bounce.
    Failed,
}
// ANCHOR_END: recipient_state

impl RecipientState {
    fn as_str(self) -> &'static str {
        match self {
            RecipientState::Pending => "pending",
            RecipientState::Delivered => "delivered",
            RecipientState::Failed => "failed",
        }
    }
}

/// One recipient of a queued message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedRecipient {
    /// The forward path, without angle brackets.
    pub address: String,
    pub state: RecipientState,
    /// RFC 3463 status of the last answer, e.g. `5.1.1` (for the bounce).
    pub status: Option<Status>,
    /// The host that gave it (for the bounce's Remote-MTA).
    pub remote: Option<String>,
    /// What the remote server (or postie) said (for Diagnostic-Code).
    pub diagnostic: Option<String>,
}

impl QueuedRecipient {
    pub fn pending(address: impl Into<String>) -> QueuedRecipient {
        QueuedRecipient {
            address: address.into(),
            state: RecipientState::Pending,
            status: None,
            remote: None,
            diagnostic: None,
        }
    }

    /// The domain part, where the recipient's mail goes.
    pub fn domain(&self) -> &str {
        self.address.rsplit_once('@').map_or("", |(_, d)| d)
    }
}

// ANCHOR: entry
/// A queue entry: the envelope of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: MessageId,
    /// The reverse path without brackets; empty for `<>` (a bounce: never bounced again).
    pub reverse_path: String,
    /// When we accepted it (seconds since 1970).
    pub arrived: u64,
    /// BODY=8BITMIME was given (RFC 6152).
    pub eight_bit: bool,
    /// SMTPUTF8 was given (RFC 6531).
    pub smtputf8: bool,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// Not before this time (seconds since 1970).
    pub next_attempt: u64,
    /// The last temporary failure, for `postie queue`.
    pub last_error: Option<String>,
    pub recipients: Vec<QueuedRecipient>,
}
// ANCHOR_END: entry

impl Entry {
    /// A new entry, due at once.
    pub fn new(id: &MessageId, reverse_path: &str, recipients: Vec<QueuedRecipient>) -> Entry {
        Entry {
            id: id.clone(),
            reverse_path: reverse_path.to_string(),
            arrived: id.secs(),
            eight_bit: false,
            smtputf8: false,
            attempts: 0,
            next_attempt: id.secs(),
            last_error: None,
            recipients,
        }
    }

    /// Recipients still to be delivered.
    pub fn pending(&self) -> impl Iterator<Item = &QueuedRecipient> {
        self.recipients
            .iter()
            .filter(|r| r.state == RecipientState::Pending)
    }

    /// The envelope file's text.
    pub fn to_text(&self) -> String {
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        let mut text = format!(
            "{MAGIC}\nfrom\t{}\narrived\t{}\nbody\t{}\nsmtputf8\t{}\nattempts\t{}\nnext-attempt\t{}\n",
            self.reverse_path,
            self.arrived,
            if self.eight_bit { "8bitmime" } else { "7bit" },
            yes_no(self.smtputf8),
            self.attempts,
            self.next_attempt,
        );
        if let Some(error) = &self.last_error {
            text += &format!("last-error\t{}\n", field(error));
        }
        for r in &self.recipients {
            let opt = |v: &Option<String>| v.as_deref().map_or("-".to_string(), field);
            text += &format!(
                "rcpt\t{}\t{}\t{}\t{}\t{}\n",
                r.state.as_str(),
                r.address,
                r.status.map_or("-".to_string(), |s| s.to_string()),
                opt(&r.remote),
                opt(&r.diagnostic)
            );
        }
        text
    }

    /// Reads an envelope file's text; `id` comes from the file name.
    pub fn from_text(id: &MessageId, text: &str) -> Result<Entry, String> {
        let mut lines = text.lines();
        if lines.next() != Some(MAGIC) {
            return Err(format!("{id}: not a postie envelope"));
        }
        let mut entry = Entry {
            id: id.clone(),
            reverse_path: String::new(),
            arrived: 0,
            eight_bit: false,
            smtputf8: false,
            attempts: 0,
            next_attempt: 0,
            last_error: None,
            recipients: vec![],
        };
        let number = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("{id}: bad number {v:?}"))
        };
        for line in lines {
            let fields: Vec<&str> = line.split('\t').collect();
            match fields.as_slice() {
                ["from", v] => entry.reverse_path = v.to_string(),
                ["arrived", v] => entry.arrived = number(v)?,
                ["body", v] => entry.eight_bit = *v == "8bitmime",
                ["smtputf8", v] => entry.smtputf8 = *v == "yes",
                ["attempts", v] => entry.attempts = number(v)? as u32,
                ["next-attempt", v] => entry.next_attempt = number(v)?,
                ["last-error", v] => entry.last_error = Some(v.to_string()),
                ["rcpt", state, address, status, remote, diagnostic] => {
                    let state = match *state {
                        "pending" => RecipientState::Pending,
                        "delivered" => RecipientState::Delivered,
                        "failed" => RecipientState::Failed,
                        other => return Err(format!("{id}: unknown recipient state {other:?}")),
                    };
                    let opt = |v: &str| (v != "-").then(|| v.to_string());
                    entry.recipients.push(QueuedRecipient {
                        address: address.to_string(),
                        state,
                        // Older postie wrote any code a server sent, leading zeros and
                        // all (`5.01.1`); one that RFC 3463 §2 refuses reads as none,
                        // and the bounce says `5.0.0`, as it always did for it.
                        status: status.parse().ok(),
                        remote: opt(remote),
                        diagnostic: opt(diagnostic),
                    });
                }
                _ => return Err(format!("{id}: cannot read line {line:?}")),
            }
        }
        if entry.recipients.is_empty() {
            return Err(format!("{id}: no recipients"));
        }
        Ok(entry)
    }
}

// ANCHOR: listing
/// What `postie queue` prints (the operator's view, like Postfix's `mailq`).
pub fn listing(entries: &[Entry], now: u64) -> String {
    if entries.is_empty() {
        return "The queue is empty.\n".to_string();
    }
    let mut out = String::new();
    for e in entries {
        let sender = if e.reverse_path.is_empty() {
            "<> (a bounce)".to_string()
        } else {
            format!("<{}>", e.reverse_path)
        };
        out += &format!(
            "{}  age {}  attempts {}  from {sender}\n",
            e.id,
            age(now.saturating_sub(e.arrived)),
            e.attempts
        );
        for r in &e.recipients {
            out += &format!("    <{}>  {}\n", r.address, r.state.as_str());
        }
        if e.next_attempt > now {
            out += &format!("    next attempt in {}\n", age(e.next_attempt - now));
        } else {
            out += "    next attempt: now\n";
        }
        if let Some(error) = &e.last_error {
            out += &format!("    last error: {error}\n");
        }
    }
    let pending: usize = entries.iter().map(|e| e.pending().count()).sum();
    out += &format!(
        "-- {} message(s), {pending} recipient(s) pending\n",
        entries.len()
    );
    out
}
// ANCHOR_END: listing

/// `42s`, `5m`, `3h`, `2d`: the largest whole unit.
fn age(seconds: u64) -> String {
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

/// A value that goes into one tab-separated field: no tabs, no line breaks.
fn field(value: &str) -> String {
    let cleaned: String = value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if cleaned.is_empty() {
        "-".to_string()
    } else {
        cleaned
    }
}

/// The spool directory.
#[derive(Debug)]
pub struct Spool {
    root: PathBuf,
    /// Rung by every commit (see [`Spool::bell`]).
    bell: Arc<Bell>,
}

impl Spool {
    /// Opens the spool, creating its directories if missing. Safe while a server runs
    /// (`postie queue` uses it).
    pub fn open(root: impl Into<PathBuf>) -> io::Result<Spool> {
        let spool = Spool {
            root: root.into(),
            bell: Arc::new(Bell::new()),
        };
        let mut builder = DirBuilder::new();
        builder.recursive(true).mode(0o700);
        for dir in [TMP, MESSAGES, ENVELOPES] {
            builder.create(spool.root.join(dir))?;
        }
        Ok(spool)
    }

    // ANCHOR: recover
    /// Cleans up after a crash; only the server calls it, before it accepts anyone.
    /// Files in `tmp/`, and messages whose envelope was never written, were never
    /// acknowledged with 250: their senders still have them.
    pub fn recover(&self) -> io::Result<usize> {
        let mut removed = 0;
        for entry in fs::read_dir(self.root.join(TMP))? {
            fs::remove_file(entry?.path())?;
            removed += 1;
        }
        for entry in fs::read_dir(self.root.join(MESSAGES))? {
            let entry = entry?;
            if !self.root.join(ENVELOPES).join(entry.file_name()).exists() {
                log::info!(
                    "removing unacknowledged queue file {}",
                    entry.path().display()
                );
                fs::remove_file(entry.path())?;
                removed += 1;
            }
        }
        Ok(removed)
    }
    // ANCHOR_END: recover

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Rings once for every message committed to the queue: the relay waits on it.
    pub fn bell(&self) -> &Bell {
        &self.bell
    }

    fn envelope_path(&self, id: &MessageId) -> PathBuf {
        self.root.join(ENVELOPES).join(id.to_string())
    }

    fn message_path(&self, id: &MessageId) -> PathBuf {
        self.root.join(MESSAGES).join(id.to_string())
    }

    /// Starts writing the message of a new entry.
    pub fn begin(&self, id: &MessageId) -> io::Result<SpoolWriter> {
        let file = TmpFile::create(self.root.join(TMP).join(id.to_string()))?;
        Ok(SpoolWriter {
            file,
            message: self.message_path(id),
            envelope: self.envelope_path(id),
            envelope_tmp: self.root.join(TMP).join(format!("{id}.envelope")),
            bell: Arc::clone(&self.bell),
        })
    }

    /// Queues a complete message in one call (used for bounces).
    pub fn enqueue(&self, id: &MessageId, entry: &Entry, message: &[u8]) -> io::Result<()> {
        let mut writer = self.begin(id)?;
        writer.write_all(message)?;
        writer.commit(entry)
    }

    /// Every entry in the queue. An unreadable envelope is logged and skipped.
    pub fn list(&self) -> io::Result<Vec<Entry>> {
        let mut entries = Vec::new();
        for file in fs::read_dir(self.root.join(ENVELOPES))? {
            let name = file?.file_name().to_string_lossy().into_owned();
            let Ok(id) = name.parse::<MessageId>() else {
                log::error!("queue: {name:?} in envelopes/ is not a message id; ignored");
                continue;
            };
            match self.load(&id) {
                Ok(entry) => entries.push(entry),
                // Delivered and removed by another thread between read_dir and load.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => log::error!("queue entry {id}: {e}"),
            }
        }
        entries.sort_by_cached_key(|e| (e.arrived, e.id.to_string()));
        Ok(entries)
    }

    pub fn load(&self, id: &MessageId) -> io::Result<Entry> {
        let text = fs::read_to_string(self.envelope_path(id))?;
        Entry::from_text(id, &text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    pub fn read_message(&self, id: &MessageId) -> io::Result<Vec<u8>> {
        fs::read(self.message_path(id))
    }

    // ANCHOR: update
    /// Records progress: a new envelope replaces the old one atomically.
    pub fn update(&self, entry: &Entry) -> io::Result<()> {
        durable::replace(
            self.root.join(TMP).join(format!("{}.envelope", entry.id)),
            &self.envelope_path(&entry.id),
            entry.to_text().as_bytes(),
        )
    }
    // ANCHOR_END: update

    /// Asks the running server to try every entry now (`postie queue --flush`). Only
    /// the server writes envelopes; this leaves a note it picks up within a second.
    pub fn request_flush(&self) -> io::Result<()> {
        File::create(self.root.join("flush")).map(drop)
    }

    /// True once after `request_flush`.
    pub fn take_flush_request(&self) -> bool {
        fs::remove_file(self.root.join("flush")).is_ok()
    }

    // ANCHOR: remove
    /// Removes a finished entry: the envelope first, so a crash in between leaves only
    /// an orphan message, which `recover` cleans up.
    pub fn remove(&self, id: &MessageId) -> io::Result<()> {
        fs::remove_file(self.envelope_path(id))?;
        sync_dir(&self.root.join(ENVELOPES))?;
        fs::remove_file(self.message_path(id))
    }
    // ANCHOR_END: remove
}

/// The message of a new entry, being written. Dropped without `commit`, it leaves nothing.
pub struct SpoolWriter {
    /// `tmp/<id>`
    file: TmpFile,
    /// `messages/<id>`
    message: PathBuf,
    /// `envelopes/<id>`
    envelope: PathBuf,
    /// `tmp/<id>.envelope`
    envelope_tmp: PathBuf,
    bell: Arc<Bell>,
}

impl Write for SpoolWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl SpoolWriter {
    // ANCHOR: spool_commit
    /// Makes the entry durable, in the order that keeps a crash harmless: message file
    /// synced and renamed into `messages/`, `messages/` synced; envelope synced and
    /// renamed into `envelopes/`, `envelopes/` synced. Only after `Ok` may the server
    /// reply 250.
    pub fn commit(self, entry: &Entry) -> io::Result<()> {
        let SpoolWriter {
            mut file,
            message,
            envelope,
            envelope_tmp,
            bell,
        } = self;
        let result = file
            .sync()
            .and_then(|()| file.rename_into(&message))
            .and_then(|()| durable::replace(envelope_tmp, &envelope, entry.to_text().as_bytes()));
        if result.is_err() {
            // Nothing is queued without its envelope; remove what we wrote.
            let _ = fs::remove_file(&message);
            return result;
        }
        bell.ring();
        Ok(())
    }
    // ANCHOR_END: spool_commit
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An empty spool in a new temporary directory.
    fn new_spool() -> (tempfile::TempDir, Spool) {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        (dir, spool)
    }

    /// Queues the [`sample`] entry with `text` under a new id; returns the id.
    fn enqueue_sample(spool: &Spool, text: &[u8]) -> MessageId {
        let id = MessageId::new();
        spool.enqueue(&id, &sample(&id), text).unwrap();
        id
    }

    fn sample(id: &MessageId) -> Entry {
        let mut entry = Entry::new(
            id,
            "alice@example.org",
            vec![
                QueuedRecipient::pending("bob@b.test"),
                QueuedRecipient::pending("\"c d\"@c.test"),
            ],
        );
        entry.eight_bit = true;
        entry.recipients[1] = QueuedRecipient {
            state: RecipientState::Failed,
            status: Some(Status(5, 1, 1)),
            remote: Some("mx.c.test".into()),
            diagnostic: Some("550 5.1.1 no such user".into()),
            ..entry.recipients[1].clone()
        };
        entry.last_error = Some("mx.b.test: 451 later".into());
        entry
    }

    #[test]
    fn envelope_text_round_trips() {
        let id = MessageId::new();
        let mut entry = sample(&id);
        assert_eq!(
            Entry::from_text(&entry.id, &entry.to_text()).unwrap(),
            entry
        );
        // A tab or line break in a reply must not break the file's structure.
        entry.recipients[1].diagnostic = Some("550 5.1.1\tno such\r\nuser".into());
        let back = Entry::from_text(&entry.id, &entry.to_text()).unwrap();
        assert_eq!(
            back.recipients[1].diagnostic.as_deref(),
            Some("550 5.1.1 no such  user")
        );
        assert_eq!(back.recipients[1].domain(), "c.test");
        assert!(Entry::from_text(&id, "garbage").is_err());
    }

    /// An envelope as the postie before the `Status` type wrote it, byte for byte: it
    /// must still read, so that an upgrade keeps the queue.
    #[test]
    fn an_envelope_written_by_older_postie_still_reads() {
        let id: MessageId = "1795830318M995737P5828Q1".parse().unwrap();
        let text = "postie-envelope 1\n\
            from\talice@a.test\n\
            arrived\t1795830318\n\
            body\t7bit\n\
            smtputf8\tno\n\
            attempts\t2\n\
            next-attempt\t1795830618\n\
            last-error\t127.0.0.1 [127.0.0.1]: Connection refused (os error 111)\n\
            rcpt\tpending\tbob@b.test\t-\t-\t-\n\
            rcpt\tfailed\tcarol@c.test\t5.1.1\tmx.c.test\t550 5.1.1 no such user\n\
            rcpt\tfailed\tdave@d.test\t5.1.10\t-\t556 5.1.10 null MX\n\
            rcpt\tfailed\terin@e.test\t5.01.1\tmx.e.test\t550 5.01.1 sloppy server\n\
            rcpt\tdelivered\tfrank@f.test\t-\tmx.f.test\t250 2.0.0 OK\n";
        let entry = Entry::from_text(&id, text).unwrap();
        assert_eq!(entry.id, id);
        assert_eq!(entry.reverse_path, "alice@a.test");
        assert_eq!(entry.attempts, 2);
        let statuses: Vec<Option<Status>> = entry.recipients.iter().map(|r| r.status).collect();
        assert_eq!(
            statuses,
            [
                None,
                Some(Status(5, 1, 1)),
                Some(Status(5, 1, 10)),
                // A leading zero is not RFC 3463: no status, so the bounce says 5.0.0.
                None,
                None
            ]
        );
        assert_eq!(
            entry.recipients[3].diagnostic.as_deref(),
            Some("550 5.01.1 sloppy server")
        );
        assert_eq!(entry.recipients[4].state, RecipientState::Delivered);
        // Written back, the valid codes are exactly as they were.
        let again = entry.to_text();
        assert!(again
            .contains("rcpt\tfailed\tcarol@c.test\t5.1.1\tmx.c.test\t550 5.1.1 no such user\n"));
        assert!(again.contains("rcpt\tfailed\tdave@d.test\t5.1.10\t-\t556 5.1.10 null MX\n"));
        assert_eq!(Entry::from_text(&id, &again).unwrap(), entry);
    }

    #[test]
    fn every_commit_rings_the_bell() {
        let (_dir, spool) = new_spool();
        let seen = spool.bell().rings();
        enqueue_sample(&spool, b"x");
        assert_eq!(spool.bell().rings(), seen + 1);
        // An entry that is not committed rings nothing.
        drop(spool.begin(&MessageId::new()).unwrap());
        assert_eq!(spool.bell().rings(), seen + 1);
    }

    #[test]
    fn a_stray_file_in_envelopes_is_ignored() {
        let (dir, spool) = new_spool();
        enqueue_sample(&spool, b"x");
        fs::write(dir.path().join("envelopes").join("notes.txt"), "hi").unwrap();
        assert_eq!(spool.list().unwrap().len(), 1);
    }

    #[test]
    fn commit_list_update_remove() {
        let (dir, spool) = new_spool();
        let id = MessageId::new();
        let mut entry = sample(&id);
        let mut writer = spool.begin(&id).unwrap();
        writer.write_all(b"Subject: x\r\n\r\nbody\r\n").unwrap();
        writer.commit(&entry).unwrap();
        assert_eq!(spool.list().unwrap(), vec![entry.clone()]);
        assert_eq!(
            spool.read_message(&entry.id).unwrap(),
            b"Subject: x\r\n\r\nbody\r\n"
        );
        entry.attempts = 3;
        spool.update(&entry).unwrap();
        assert_eq!(spool.load(&entry.id).unwrap().attempts, 3);
        spool.remove(&entry.id).unwrap();
        assert!(spool.list().unwrap().is_empty());
        assert_eq!(
            fs::read_dir(dir.path().join("messages")).unwrap().count(),
            0
        );
    }

    #[test]
    fn a_flush_request_is_taken_once() {
        let (_dir, spool) = new_spool();
        assert!(!spool.take_flush_request());
        spool.request_flush().unwrap();
        assert!(spool.take_flush_request());
        assert!(!spool.take_flush_request());
    }

    #[test]
    fn flush_hands_the_bytes_to_the_file_in_tmp() {
        let (_dir, spool) = new_spool();
        let mut writer = spool.begin(&MessageId::new()).unwrap();
        writer.write_all(b"Subject: queued\r\n").unwrap();
        writer.flush().unwrap();
        assert_eq!(
            fs::read(writer.file.path()).unwrap(),
            b"Subject: queued\r\n"
        );
    }

    /// A corrupt envelope is an error in the log (and left out of the list); one
    /// that went away between the listing and the load is not.
    #[test]
    fn a_corrupt_envelope_is_logged_and_a_vanished_one_is_not() {
        let (dir, spool) = new_spool();
        let corrupt = MessageId::new();
        fs::write(
            dir.path().join(ENVELOPES).join(corrupt.to_string()),
            "nonsense",
        )
        .unwrap();
        let gone = MessageId::new();
        let nowhere = dir.path().join("nowhere");
        std::os::unix::fs::symlink(nowhere, dir.path().join(ENVELOPES).join(gone.to_string()))
            .unwrap();
        crate::logged::start();
        assert!(spool.list().unwrap().is_empty());
        let errors: Vec<String> = crate::logged::take()
            .into_iter()
            .filter(|r| r.level == log::Level::Error)
            .map(|r| r.text)
            .collect();
        assert!(
            matches!(&errors[..], [one] if one.starts_with(&format!("queue entry {corrupt}"))),
            "{errors:?}"
        );
    }

    #[test]
    fn ages_are_in_the_largest_whole_unit() {
        for (seconds, shown) in [
            (0, "0s"),
            (59, "59s"),
            (60, "1m"),
            (3_599, "59m"),
            (3_600, "1h"),
            (86_399, "23h"),
            (86_400, "1d"),
            (3 * 86_400 + 5, "3d"),
        ] {
            assert_eq!(age(seconds), shown, "{seconds} s");
        }
    }

    #[test]
    fn listing_shows_what_an_operator_needs() {
        let id = MessageId::new();
        let mut entry = sample(&id);
        entry.next_attempt = entry.arrived + 300;
        let text = listing(std::slice::from_ref(&entry), entry.arrived + 120);
        for part in [
            &entry.id.to_string()[..],
            "age 2m",
            "<alice@example.org>",
            "<bob@b.test>  pending",
            "failed",
            "next attempt in 3m",
            "mx.b.test: 451 later",
            "1 message(s), 1 recipient(s) pending",
        ] {
            assert!(text.contains(part), "{part:?} missing in:\n{text}");
        }
        // Due this very second: now, not "in 0s".
        let text = listing(std::slice::from_ref(&entry), entry.next_attempt);
        assert!(text.contains("next attempt: now"), "{text}");
        assert_eq!(listing(&[], 0), "The queue is empty.\n");
    }

    #[test]
    fn an_uncommitted_writer_leaves_nothing() {
        let (dir, spool) = new_spool();
        let mut writer = spool.begin(&MessageId::new()).unwrap();
        writer.write_all(b"half a message").unwrap();
        drop(writer);
        for sub in ["tmp", "messages", "envelopes"] {
            assert_eq!(
                fs::read_dir(dir.path().join(sub)).unwrap().count(),
                0,
                "{sub}"
            );
        }
    }

    /// A crash between the two renames leaves a message without an envelope: never
    /// acknowledged, so open() removes it. A crash while writing leaves tmp/ files.
    #[test]
    fn open_cleans_up_after_a_crash() {
        let (dir, spool) = new_spool();
        let kept = enqueue_sample(&spool, b"kept");
        fs::write(dir.path().join("messages").join("orphan"), b"x").unwrap();
        fs::write(dir.path().join("tmp").join("partial"), b"x").unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        assert_eq!(spool.recover().unwrap(), 2);
        assert_eq!(spool.list().unwrap().len(), 1);
        assert!(!dir.path().join("messages").join("orphan").exists());
        assert!(!dir.path().join("tmp").join("partial").exists());
        assert_eq!(spool.read_message(&kept).unwrap(), b"kept");
    }
}
