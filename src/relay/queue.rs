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
//! into `messages/` first; then the envelope, likewise, into `envelopes/`; then both
//! directories are fsynced. An entry *exists* when its envelope exists. A crash at any
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
//! Left out: a queue index in memory (the runner lists the directory), priorities,
//! hashed subdirectories for very large queues (Postfix and qmail have both).

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::store::id::MessageId;

const MAGIC: &str = "postie-envelope 1";

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
    pub status: Option<String>,
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
    pub id: String,
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
            id: id.to_string(),
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
                opt(&r.status),
                opt(&r.remote),
                opt(&r.diagnostic)
            );
        }
        text
    }

    /// Reads an envelope file's text; `id` comes from the file name.
    pub fn from_text(id: &str, text: &str) -> Result<Entry, String> {
        let mut lines = text.lines();
        if lines.next() != Some(MAGIC) {
            return Err(format!("{id}: not a postie envelope"));
        }
        let mut entry = Entry {
            id: id.to_string(),
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
                        status: opt(status),
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
}

impl Spool {
    /// Opens the spool, creating its directories if missing. Safe while a server runs
    /// (`postie queue` uses it).
    pub fn open(root: impl Into<PathBuf>) -> io::Result<Spool> {
        let spool = Spool { root: root.into() };
        let mut builder = DirBuilder::new();
        builder.recursive(true).mode(0o700);
        for dir in ["tmp", "messages", "envelopes"] {
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
        for entry in fs::read_dir(self.root.join("tmp"))? {
            fs::remove_file(entry?.path())?;
            removed += 1;
        }
        for entry in fs::read_dir(self.root.join("messages"))? {
            let entry = entry?;
            if !self
                .envelope_path(&entry.file_name().to_string_lossy())
                .exists()
            {
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

    fn envelope_path(&self, id: &str) -> PathBuf {
        self.root.join("envelopes").join(id)
    }

    fn message_path(&self, id: &str) -> PathBuf {
        self.root.join("messages").join(id)
    }

    /// Starts writing the message of a new entry.
    pub fn begin(&self, id: &MessageId) -> io::Result<SpoolWriter> {
        let id = id.to_string();
        let tmp = self.root.join("tmp").join(&id);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        Ok(SpoolWriter {
            out: BufWriter::with_capacity(64 * 1024, file),
            tmp: Some(tmp),
            id,
            root: self.root.clone(),
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
        for file in fs::read_dir(self.root.join("envelopes"))? {
            let id = file?.file_name().to_string_lossy().into_owned();
            match self.load(&id) {
                Ok(entry) => entries.push(entry),
                // Delivered and removed by another thread between read_dir and load.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => log::error!("queue entry {id}: {e}"),
            }
        }
        entries.sort_by(|a, b| (a.arrived, &a.id).cmp(&(b.arrived, &b.id)));
        Ok(entries)
    }

    pub fn load(&self, id: &str) -> io::Result<Entry> {
        let text = fs::read_to_string(self.envelope_path(id))?;
        Entry::from_text(id, &text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    pub fn read_message(&self, id: &str) -> io::Result<Vec<u8>> {
        fs::read(self.message_path(id))
    }

    // ANCHOR: update
    /// Records progress: a new envelope replaces the old one atomically.
    pub fn update(&self, entry: &Entry) -> io::Result<()> {
        write_durably(
            &self.root.join("tmp").join(format!("{}.envelope", entry.id)),
            entry.to_text().as_bytes(),
        )?;
        fs::rename(
            self.root.join("tmp").join(format!("{}.envelope", entry.id)),
            self.envelope_path(&entry.id),
        )?;
        sync_dir(&self.root.join("envelopes"))
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
    pub fn remove(&self, id: &str) -> io::Result<()> {
        fs::remove_file(self.envelope_path(id))?;
        sync_dir(&self.root.join("envelopes"))?;
        fs::remove_file(self.message_path(id))
    }
    // ANCHOR_END: remove
}

/// The message of a new entry, being written. Dropped without `commit`, it leaves nothing.
pub struct SpoolWriter {
    out: BufWriter<File>,
    /// `Some` until committed.
    tmp: Option<PathBuf>,
    id: String,
    root: PathBuf,
}

impl Write for SpoolWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

impl SpoolWriter {
    // ANCHOR: spool_commit
    /// Makes the entry durable, in the order that keeps a crash harmless: message file
    /// synced and renamed into `messages/`, envelope synced and renamed into `envelopes/`,
    /// both directories synced. Only after `Ok` may the server reply 250.
    pub fn commit(mut self, entry: &Entry) -> io::Result<()> {
        let Some(tmp) = self.tmp.take() else {
            return Err(io::Error::other("spool entry committed twice"));
        };
        let result = (|| {
            self.out.flush()?;
            self.out.get_ref().sync_all()?;
            fs::rename(&tmp, self.root.join("messages").join(&self.id))?;
            sync_dir(&self.root.join("messages"))?;
            let envelope_tmp = self.root.join("tmp").join(format!("{}.envelope", self.id));
            write_durably(&envelope_tmp, entry.to_text().as_bytes())?;
            fs::rename(&envelope_tmp, self.root.join("envelopes").join(&self.id))?;
            sync_dir(&self.root.join("envelopes"))
        })();
        if result.is_err() {
            // Nothing is queued without its envelope; remove what we wrote.
            let _ = fs::remove_file(&tmp);
            let _ = fs::remove_file(self.root.join("messages").join(&self.id));
        }
        result
    }
    // ANCHOR_END: spool_commit
}

impl Drop for SpoolWriter {
    fn drop(&mut self) {
        if let Some(tmp) = &self.tmp {
            let _ = fs::remove_file(tmp);
        }
    }
}

/// Writes a new file and syncs it before returning.
fn write_durably(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

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
            status: Some("5.1.1".into()),
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
        assert!(Entry::from_text("x", "garbage").is_err());
    }

    #[test]
    fn commit_list_update_remove() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
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
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        assert!(!spool.take_flush_request());
        spool.request_flush().unwrap();
        assert!(spool.take_flush_request());
        assert!(!spool.take_flush_request());
    }

    #[test]
    fn listing_shows_what_an_operator_needs() {
        let id = MessageId::new();
        let mut entry = sample(&id);
        entry.next_attempt = entry.arrived + 300;
        let text = listing(std::slice::from_ref(&entry), entry.arrived + 120);
        for part in [
            &entry.id[..],
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
        assert_eq!(listing(&[], 0), "The queue is empty.\n");
    }

    #[test]
    fn an_uncommitted_writer_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
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
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let kept = MessageId::new();
        spool.enqueue(&kept, &sample(&kept), b"kept").unwrap();
        fs::write(dir.path().join("messages").join("orphan"), b"x").unwrap();
        fs::write(dir.path().join("tmp").join("partial"), b"x").unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        assert_eq!(spool.recover().unwrap(), 2);
        assert_eq!(spool.list().unwrap().len(), 1);
        assert!(!dir.path().join("messages").join("orphan").exists());
        assert!(!dir.path().join("tmp").join("partial").exists());
        assert_eq!(spool.read_message(&kept.to_string()).unwrap(), b"kept");
    }
}
