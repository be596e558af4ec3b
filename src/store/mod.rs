//! Mail at rest: everything postie keeps on disk, and the only code that touches it.
//!
//! | what | module |
//! |---|---|
//! | how a file becomes durable: tmp, fsync, rename or link, fsync the directory | [`durable`] |
//! | one fsync of a directory for every name made before it (group commit) | [`group`] |
//! | in test builds, the order of every fsync and every 250 | [`witness`] |
//! | local mailboxes, written: one file per message in `new/` | [`maildir`] |
//! | local mailboxes, read: ids, flags, `new/` → `cur/`, delete | [`folder`], [`flags`] |
//! | Maildir++ folders beside a mailbox (IMAP's Sent, Trash…) | [`maildirpp`] |
//! | from an address to a directory name that cannot escape the root | [`mailbox`] |
//! | message ids, shared by the 250 reply, the file names and the queue | [`id`] |
//! | the outbound queue: message, envelope, and how far each recipient got | [`spool`] |
//! | telling a waiting thread that something changed | [`bell`] |
//!
//! [`Storage`] holds the two places mail can be kept: the Maildir for mail that has
//! arrived, the spool for mail that is leaving. Protocols (SMTP, POP3, the relay) use
//! these types and never name a directory such as `new/` or `cur/` themselves.
//!
//! Left out: a database or index of any kind. The file system is the store, as in
//! qmail and Dovecot's Maildir; a production server adds an index for speed.

pub mod bell;
pub mod durable;
pub mod flags;
pub mod folder;
pub mod group;
pub mod id;
pub mod mailbox;
pub mod maildir;
pub mod maildirpp;
pub mod spool;
#[cfg(test)]
pub(crate) mod testing;
pub mod witness;

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use id::MessageId;
use maildir::{MailboxPath, Maildir};
use spool::{Entry, Spool};

/// Where accepted mail is kept: the local mailboxes and the outbound queue.
#[derive(Debug)]
pub struct Storage {
    pub maildir: Maildir,
    pub spool: Spool,
}

/// The entries of `dir`, all read; none when `dir` does not exist yet (a mailbox's
/// `new/` before its first message, a mailbox before its first folder).
fn entries(dir: &Path) -> io::Result<Vec<fs::DirEntry>> {
    match fs::read_dir(dir) {
        Ok(entries) => entries.collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(vec![]),
        Err(e) => Err(e),
    }
}

/// Where one whole message goes: decided by the policy, kept by [`Storage::keep`].
#[derive(Debug)]
pub enum Place {
    /// Final delivery into a local mailbox.
    Mailbox(MailboxPath),
    /// The outbound queue, with this envelope.
    Queue(Entry),
}

impl Storage {
    /// Opens (and, after a crash, cleans up) the Maildir root and the spool.
    pub fn open(maildir: &Path, spool: &Path, hostname: &str) -> io::Result<Storage> {
        let maildir = Maildir::open(maildir, hostname).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot use maildir {}: {e}", maildir.display()),
            )
        })?;
        let spool = Spool::open(spool)
            .and_then(|queue| queue.recover().map(|_| queue))
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot use spool {}: {e}", spool.display()),
                )
            })?;
        Ok(Storage { maildir, spool })
    }

    /// Keeps a whole message, already in memory, durably in its place: postie's own
    /// messages (bounces) go this way. `Ok` means it is on disk and rang its bell.
    pub fn keep(&self, id: &MessageId, place: Place, message: &[u8]) -> io::Result<()> {
        match place {
            Place::Mailbox(path) => {
                let mut delivery = self.maildir.begin(id, &[path])?;
                delivery.write_all(message)?;
                delivery.commit()
            }
            Place::Queue(entry) => self.spool.enqueue(id, &entry, message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::spool::QueuedRecipient;
    use crate::store::testing;

    fn storage(root: &Path) -> Storage {
        Storage::open(&root.join("mail"), &root.join("spool"), "mx.example").unwrap()
    }

    #[test]
    fn keep_puts_a_message_in_a_mailbox() {
        let dir = tempfile::tempdir().unwrap();
        let storage = storage(dir.path());
        let id = MessageId::new();
        let place = Place::Mailbox(testing::mailbox("bob"));
        storage
            .keep(&id, place, b"Subject: kept\r\n\r\nhi\r\n")
            .unwrap();
        let new = dir.path().join("mail/localhost/bob/new");
        let files: Vec<_> = entries(&new).unwrap();
        assert_eq!(files.len(), 1, "one message in new/");
        let text = fs::read(files[0].path()).unwrap();
        assert_eq!(text, b"Subject: kept\r\n\r\nhi\r\n");
    }

    #[test]
    fn keep_puts_a_message_in_the_queue() {
        let dir = tempfile::tempdir().unwrap();
        let storage = storage(dir.path());
        let id = MessageId::new();
        let entry = Entry::new(&id, "", vec![QueuedRecipient::pending("carol@c.test")]);
        storage
            .keep(&id, Place::Queue(entry), b"a bounce\r\n")
            .unwrap();
        let queued = storage.spool.list().unwrap();
        assert_eq!(queued.len(), 1);
        assert_eq!(queued[0].id, id);
        assert_eq!(queued[0].recipients[0].address, "carol@c.test");
        assert_eq!(storage.spool.read_message(&id).unwrap(), b"a bounce\r\n");
    }

    #[test]
    fn a_missing_directory_has_no_entries_but_a_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(entries(&dir.path().join("not yet")).unwrap().is_empty());
        let file = dir.path().join("a file");
        fs::write(&file, b"x").unwrap();
        assert!(entries(&file).is_err(), "a file is not an empty directory");
    }
}
