//! The maildrop: one user's Maildir as a POP3 session sees it (RFC 1939 §4-§6, and the
//! Maildir conventions of <https://cr.yp.to/proto/maildir.html>).
//!
//! - **A snapshot.** [`Maildrop::open`] lists `new/` and `cur/` once, when PASS is
//!   accepted. Mail that arrives later waits for the next session: message numbers
//!   and sizes must not change under the client's feet (RFC 1939 §5).
//! - **Seen.** RETR moves the message from `new/` to `cur/` and adds the `S` flag
//!   (`<name>:2,S`), as a mail reader does; a message already in `cur/` keeps its
//!   other flags. TOP does not mark a message seen.
//! - **Deletion only in UPDATE.** DELE only marks (in the session); [`Maildrop::remove`]
//!   runs after QUIT in the TRANSACTION state. A connection that drops before QUIT
//!   removes nothing (RFC 1939 §6).
//! - **One session per maildrop** (RFC 1939 §4: the server acquires an exclusive lock).
//!   postie keeps the lock in memory, in a set of the mailbox directories that have a
//!   session in this process; a second session gets `-ERR [IN-USE]` (RFC 2449 §8.1.2).
//!   The lock ends when the session's [`Maildrop`] is dropped, whatever way the
//!   connection ended.
//!
//! Left out: locking against *other processes*. A second postie on the same Maildir, or
//! a local mail reader, is not excluded; Maildir's rename and link are atomic, so
//! the worst case is a message that vanishes between LIST and RETR, which gets
//! `-ERR [SYS/TEMP]`. A production server would use a lock file, or a database of
//! its own (Dovecot's index). Seen flags are renamed without an fsync of the directory:
//! losing one in a crash only shows a message as new again. The unique-id is the
//! Maildir name before the `:` (stable across the move to `cur/`), or, when that is
//! not a valid unique-id, a hash of it.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use super::message;
use crate::store::maildir::MailboxPath;

// ANCHOR: lock
/// The mailbox directories that have a session in this process.
static IN_USE: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

fn in_use() -> MutexGuard<'static, Option<HashSet<PathBuf>>> {
    IN_USE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Holds one mailbox for one session; released when dropped.
#[derive(Debug)]
struct Lock(PathBuf);

impl Lock {
    /// `None` when another session holds the mailbox.
    fn take(dir: &Path) -> Option<Lock> {
        let mut set = in_use();
        let set = set.get_or_insert_with(HashSet::new);
        set.insert(dir.to_path_buf())
            .then(|| Lock(dir.to_path_buf()))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        if let Some(set) = in_use().as_mut() {
            set.remove(&self.0);
        }
    }
}
// ANCHOR_END: lock

/// What the session knows of one message: its size and its unique-id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// In canonical form (see `pop3::message`).
    pub octets: u64,
    /// RFC 1939 §7 (UIDL): 1 to 70 characters from 0x21 to 0x7E.
    pub uid: String,
}

/// Why a maildrop could not be opened.
#[derive(Debug)]
pub enum OpenError {
    /// Another session has it (RFC 2449 §8.1.2, `[IN-USE]`).
    InUse,
    /// The disk said no.
    Io(io::Error),
}

/// One session's view of a mailbox, and its lock.
#[derive(Debug)]
pub struct Maildrop {
    dir: PathBuf,
    /// The messages, numbered from 1 in the protocol, from 0 here.
    files: Vec<PathBuf>,
    entries: Vec<Entry>,
    _lock: Lock,
}

impl Maildrop {
    // ANCHOR: open
    /// Locks the mailbox and takes the snapshot of `new/` and `cur/`, oldest first.
    /// A mailbox that has never received mail is empty, not an error.
    pub fn open(root: &Path, mailbox: &MailboxPath) -> Result<Maildrop, OpenError> {
        let dir = root
            .join(mailbox.domain.as_str())
            .join(mailbox.mailbox.as_str());
        let lock = Lock::take(&dir).ok_or(OpenError::InUse)?;
        let mut files = Vec::new();
        for sub in ["new", "cur"] {
            files.extend(list(&dir.join(sub)).map_err(OpenError::Io)?);
        }
        // Oldest first, by the delivery time in the name, not by directory: numbering
        // does not change when a message moves to cur/.
        files.sort_by_cached_key(|path| delivery_order(path));
        let mut entries = Vec::with_capacity(files.len());
        for file in &files {
            let text = fs::read(file).map_err(OpenError::Io)?;
            entries.push(Entry {
                octets: message::octets(&text),
                uid: unique_id(file),
            });
        }
        Ok(Maildrop {
            dir,
            files,
            entries,
            _lock: lock,
        })
    }
    // ANCHOR_END: open

    /// The snapshot, for the session.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Message `index` (from 0) as stored.
    pub fn read(&self, index: usize) -> io::Result<Vec<u8>> {
        fs::read(self.path(index)?)
    }

    // ANCHOR: mark_seen
    /// RETR: the message moves to `cur/` with the `S` (seen) flag.
    pub fn mark_seen(&mut self, index: usize) -> io::Result<()> {
        let path = self.path(index)?.to_path_buf();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| io::Error::other("not a Maildir name"))?;
        let seen = self.dir.join("cur").join(with_seen_flag(name));
        if seen != path {
            fs::create_dir_all(self.dir.join("cur"))?;
            fs::rename(&path, &seen)?;
            self.files[index] = seen;
        }
        Ok(())
    }
    // ANCHOR_END: mark_seen

    // ANCHOR: remove
    /// UPDATE (RFC 1939 §6): removes the messages marked deleted, then makes the
    /// removals durable. Returns how many could not be removed. One already gone (a
    /// local mail reader took it) counts as removed.
    pub fn remove(&mut self, indices: &[usize]) -> usize {
        let mut failed = 0;
        for &index in indices {
            let Ok(path) = self.path(index) else {
                failed += 1;
                continue;
            };
            match fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    log::warn!("cannot remove {}: {e}", path.display());
                    failed += 1;
                }
            }
        }
        for sub in ["new", "cur"] {
            if let Ok(dir) = File::open(self.dir.join(sub)) {
                let _ = dir.sync_all();
            }
        }
        failed
    }
    // ANCHOR_END: remove

    fn path(&self, index: usize) -> io::Result<&Path> {
        self.files
            .get(index)
            .map(PathBuf::as_path)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such message"))
    }
}

/// The messages in one of `new/` or `cur/`: plain files whose names do not start with
/// a dot. A directory that does not exist yet holds none.
fn list(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(e),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry?;
        let visible = !entry.file_name().to_string_lossy().starts_with('.');
        if visible && entry.file_type()?.is_file() {
            files.push(entry.path());
        }
    }
    Ok(files)
}

/// Maildir names begin with the delivery time, `<secs>.M<usec>...` for postie's own
/// (`<secs>.` at least for other writers). The numbers are compared as numbers:
/// `M99` comes before `M100`, which a plain sort by name would get wrong.
pub fn delivery_order(path: &Path) -> (u64, u64, String) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let number = |text: &str| -> u64 {
        let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().unwrap_or(0)
    };
    let (secs, rest) = name.split_once('.').unwrap_or((&name, ""));
    let micros = rest.strip_prefix('M').map_or(0, number);
    (number(secs), micros, name)
}

// ANCHOR: seen_flag
/// `name` → `name:2,S`; `name:2,FR` → `name:2,FRS` (flags in ASCII order, as the
/// Maildir spec asks); `name:2,S` stays.
fn with_seen_flag(name: &str) -> String {
    let (base, flags) = match name.split_once(":2,") {
        Some((base, flags)) => (base, flags),
        None => (name.split(':').next().unwrap_or(name), ""),
    };
    let mut flags: Vec<char> = flags.chars().collect();
    if !flags.contains(&'S') {
        flags.push('S');
    }
    flags.sort_unstable();
    format!("{base}:2,{}", flags.into_iter().collect::<String>())
}
// ANCHOR_END: seen_flag

// ANCHOR: unique_id
/// RFC 1939 §7: a unique-id is 1 to 70 characters in 0x21..=0x7E, and stays the same
/// across sessions. The Maildir name before the `:` is unique and does not change when
/// the message moves to `cur/`; a name that does not fit is hashed (FNV-1a, 64 bits).
fn unique_id(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let base = name.split(':').next().unwrap_or_default();
    if (1..=70).contains(&base.len()) && base.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return base.to_string();
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in base.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("h{hash:016x}")
}
// ANCHOR_END: unique_id

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::mailbox::{domain_name, mailbox_name};

    fn mailbox(user: &str) -> MailboxPath {
        MailboxPath {
            domain: domain_name("localhost").unwrap(),
            mailbox: mailbox_name(user).unwrap(),
        }
    }

    fn deliver(root: &Path, user: &str, sub: &str, name: &str, text: &[u8]) -> PathBuf {
        let dir = root.join("localhost").join(user).join(sub);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn snapshot_of_new_and_cur_oldest_first() {
        let root = tempfile::tempdir().unwrap();
        deliver(root.path(), "alice", "new", "200.M1P1Q2.h", b"two\r\n");
        deliver(root.path(), "alice", "cur", "100.M1P1Q1.h:2,S", b"one\n");
        deliver(root.path(), "alice", "new", ".hidden", b"x");
        let drop = Maildrop::open(root.path(), &mailbox("alice")).unwrap();
        assert_eq!(
            drop.entries(),
            &[
                Entry {
                    octets: 5,
                    uid: "100.M1P1Q1.h".into()
                },
                Entry {
                    octets: 5,
                    uid: "200.M1P1Q2.h".into()
                }
            ]
        );
        // Mail arriving later is not in this session's snapshot.
        deliver(root.path(), "alice", "new", "300.M1P1Q3.h", b"three\r\n");
        assert_eq!(drop.entries().len(), 2);
    }

    #[test]
    fn a_mailbox_without_mail_is_empty() {
        let root = tempfile::tempdir().unwrap();
        let drop = Maildrop::open(root.path(), &mailbox("nobody")).unwrap();
        assert!(drop.entries().is_empty());
        assert!(!root.path().join("localhost").exists(), "nothing created");
    }

    #[test]
    fn one_session_per_mailbox_until_dropped() {
        let root = tempfile::tempdir().unwrap();
        let first = Maildrop::open(root.path(), &mailbox("bob")).unwrap();
        assert!(matches!(
            Maildrop::open(root.path(), &mailbox("bob")),
            Err(OpenError::InUse)
        ));
        assert!(Maildrop::open(root.path(), &mailbox("carol")).is_ok());
        drop(first);
        assert!(Maildrop::open(root.path(), &mailbox("bob")).is_ok());
    }

    #[test]
    fn retr_marks_seen_and_remove_removes() {
        let root = tempfile::tempdir().unwrap();
        let new = deliver(root.path(), "dave", "new", "1.M1P1Q1.h", b"a\r\n");
        deliver(root.path(), "dave", "cur", "2.M1P1Q2.h:2,F", b"b\r\n");
        let mut drop = Maildrop::open(root.path(), &mailbox("dave")).unwrap();
        drop.mark_seen(0).unwrap();
        drop.mark_seen(1).unwrap();
        drop.mark_seen(0).unwrap(); // twice is harmless
        let cur = root.path().join("localhost/dave/cur");
        assert!(!new.exists());
        assert!(cur.join("1.M1P1Q1.h:2,S").exists());
        assert!(cur.join("2.M1P1Q2.h:2,FS").exists());
        assert_eq!(drop.read(0).unwrap(), b"a\r\n");
        assert_eq!(drop.remove(&[0]), 0);
        assert!(!cur.join("1.M1P1Q1.h:2,S").exists());
        assert!(cur.join("2.M1P1Q2.h:2,FS").exists());
    }

    #[test]
    fn delivery_order_compares_numbers() {
        let mut names = [
            "101.M5P1Q3.h",
            "100.M999999P1Q2.h",
            "100.M100P1Q1.h:2,S",
            "99.M1P1Q0.h",
            "100.M99P1Q9.h",
        ]
        .map(PathBuf::from);
        names.sort_by_cached_key(|p| delivery_order(p));
        assert_eq!(
            names.map(|p| p.to_string_lossy().into_owned()),
            [
                "99.M1P1Q0.h",
                "100.M99P1Q9.h",
                "100.M100P1Q1.h:2,S",
                "100.M999999P1Q2.h",
                "101.M5P1Q3.h"
            ]
        );
    }

    #[test]
    fn flags_and_unique_ids() {
        assert_eq!(with_seen_flag("x"), "x:2,S");
        assert_eq!(with_seen_flag("x:2,RF"), "x:2,FRS");
        assert_eq!(with_seen_flag("x:2,S"), "x:2,S");
        assert_eq!(unique_id(Path::new("new/1.M2P3Q4.host")), "1.M2P3Q4.host");
        assert_eq!(
            unique_id(Path::new("cur/1.M2P3Q4.host:2,S")),
            "1.M2P3Q4.host"
        );
        let long = format!("1.M2P3Q4.{}", "h".repeat(80));
        let uid = unique_id(Path::new(&long));
        assert_eq!(uid.len(), 17);
        assert_eq!(uid, unique_id(Path::new(&format!("{long}:2,S"))));
        assert_ne!(unique_id(Path::new("a b")), unique_id(Path::new("a c")));
    }
}
