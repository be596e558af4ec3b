//! The maildrop: one user's mailbox as a POP3 session sees it (RFC 1939 §4-§6). The
//! files are [`crate::store::folder`]'s; what is POP3's is here.
//!
//! - **A snapshot.** [`Maildrop::open`] lists the folder once, when PASS is accepted.
//!   Mail that arrives later waits for the next session: message numbers and sizes
//!   must not change under the client's feet (RFC 1939 §5).
//! - **Seen.** RETR marks the message seen (the folder moves it to `cur/` with the `S`
//!   flag), as a mail reader does; its other flags stay. TOP does not mark it seen.
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
//! its own (Dovecot's index). The unique-id is the folder's id of the message (stable
//! across the move to `cur/`), or, when that is not a valid unique-id, a hash of it.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use super::message;
use crate::store::flags::Flag;
use crate::store::folder::{Folder, Message};
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
    folder: Folder,
    /// The messages, numbered from 1 in the protocol, from 0 here.
    messages: Vec<Message>,
    entries: Vec<Entry>,
    _lock: Lock,
}

impl Maildrop {
    // ANCHOR: open
    /// Locks the mailbox and takes the snapshot of its messages, oldest first.
    /// A mailbox that has never received mail is empty, not an error.
    pub fn open(root: &Path, mailbox: &MailboxPath) -> Result<Maildrop, OpenError> {
        let folder = Folder::open(root, mailbox);
        let lock = Lock::take(folder.dir()).ok_or(OpenError::InUse)?;
        let messages = folder.list().map_err(OpenError::Io)?;
        let mut entries = Vec::with_capacity(messages.len());
        for message in &messages {
            // RFC 1939 §11: sizes count CRLF line endings, whatever the file holds.
            let text = folder.read(message).map_err(OpenError::Io)?;
            entries.push(Entry {
                octets: message::octets(&text),
                uid: unique_id(message.id()),
            });
        }
        Ok(Maildrop {
            folder,
            messages,
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
        self.folder.read(self.message(index)?)
    }

    // ANCHOR: mark_seen
    /// RETR: the message gets the `S` (seen) flag, which moves it to `cur/`.
    pub fn mark_seen(&mut self, index: usize) -> io::Result<()> {
        let message = self.messages.get_mut(index).ok_or_else(no_such_message)?;
        self.folder.add_flag(message, Flag::Seen)
    }
    // ANCHOR_END: mark_seen

    // ANCHOR: remove
    /// UPDATE (RFC 1939 §6): removes the messages marked deleted, then makes the
    /// removals durable. Returns how many could not be removed. One already gone (a
    /// local mail reader took it) counts as removed.
    pub fn remove(&mut self, indices: &[usize]) -> usize {
        let mut failed = 0;
        for &index in indices {
            let removed = self
                .message(index)
                .and_then(|message| self.folder.delete(message));
            if let Err(e) = removed {
                log::warn!("cannot remove message {}: {e}", index + 1);
                failed += 1;
            }
        }
        if let Err(e) = self.folder.sync() {
            log::warn!("cannot sync {}: {e}", self.folder.dir().display());
        }
        failed
    }
    // ANCHOR_END: remove

    fn message(&self, index: usize) -> io::Result<&Message> {
        self.messages.get(index).ok_or_else(no_such_message)
    }
}

fn no_such_message() -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, "no such message")
}

// ANCHOR: unique_id
/// RFC 1939 §7: a unique-id is 1 to 70 characters in 0x21..=0x7E, and stays the same
/// across sessions. The folder's id (the Maildir name before the `:`) is unique and does
/// not change when the message moves to `cur/`; one that does not fit is hashed (FNV-1a,
/// 64 bits).
fn unique_id(base: &str) -> String {
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
    use crate::store::flags::split_name;
    use crate::store::testing::{mailbox, maildir_with, put};

    #[test]
    fn snapshot_of_new_and_cur_oldest_first() {
        let root = maildir_with(
            "alice",
            &[
                ("new", "200.M1P1Q2.h", b"two\r\n"),
                ("cur", "100.M1P1Q1.h:2,S", b"one\n"),
                ("new", ".hidden", b"x"),
            ],
        );
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
        put(root.path(), "alice", "new", "300.M1P1Q3.h", b"three\r\n");
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
        let new = put(root.path(), "dave", "new", "1.M1P1Q1.h", b"a\r\n");
        put(root.path(), "dave", "cur", "2.M1P1Q2.h:2,F", b"b\r\n");
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

    /// UPDATE answers with how many removals failed (RFC 1939 §6: `-ERR some deleted
    /// messages not removed`): here a message whose name the disk cannot unlink (a
    /// directory now stands there), while the other one goes.
    #[test]
    fn remove_counts_what_could_not_be_removed() {
        let root = tempfile::tempdir().unwrap();
        let gone = put(root.path(), "erin", "cur", "1.M1P1Q1.h:2,S", b"a\r\n");
        let stuck = put(root.path(), "erin", "cur", "2.M1P1Q2.h:2,S", b"b\r\n");
        let mut drop = Maildrop::open(root.path(), &mailbox("erin")).unwrap();
        std::fs::remove_file(&stuck).unwrap();
        std::fs::create_dir_all(stuck.join("inside")).unwrap();
        assert_eq!(drop.remove(&[0, 1]), 1);
        assert!(!gone.exists());
        assert!(stuck.is_dir());
    }

    #[test]
    fn flags_and_unique_ids() {
        // RETR's flag: `S` added in ASCII order, the other letters kept.
        let root = maildir_with(
            "grace",
            &[
                ("new", "1.M1P1Q1.h", b"x"),
                ("cur", "2.M1P1Q2.h:2,RF", b"y"),
                ("cur", "3.M1P1Q3.h:2,S", b"z"),
            ],
        );
        let mut drop = Maildrop::open(root.path(), &mailbox("grace")).unwrap();
        for index in 0..3 {
            drop.mark_seen(index).unwrap();
        }
        let cur = root.path().join("localhost/grace/cur");
        for name in ["1.M1P1Q1.h:2,S", "2.M1P1Q2.h:2,FRS", "3.M1P1Q3.h:2,S"] {
            assert!(cur.join(name).is_file(), "{name}");
        }

        let id = |name: &str| unique_id(split_name(name).0);
        assert_eq!(id("1.M2P3Q4.host"), "1.M2P3Q4.host");
        assert_eq!(id("1.M2P3Q4.host:2,S"), "1.M2P3Q4.host");
        let long = format!("1.M2P3Q4.{}", "h".repeat(80));
        let uid = id(&long);
        assert_eq!(uid.len(), 17);
        assert_eq!(uid, id(&format!("{long}:2,S")));
        assert_ne!(id("a b"), id("a c"));
    }
}
