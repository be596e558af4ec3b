//! Maildir++ folders: one user's mailbox and the folders beside it (Sent, Trash,
//! Archive.2026…), as Courier and Dovecot keep them
//! (<https://www.courier-mta.org/imap/README.maildirquota.html>).
//!
//! ```text
//! <root>/<domain>/<user>/            INBOX: tmp/ new/ cur/
//!                       /.Sent/      a folder: tmp/ new/ cur/ and an empty maildirfolder
//!                       /.Archive.2026/
//!                       /.Caf&AOk-/  names in modified UTF-7 (RFC 3501 §5.1.3), as Dovecot
//! ```
//!
//! Every folder is a Maildir of its own, read with [`Folder`]. A level of the hierarchy
//! is a dot in the directory name, so `.Archive.2026` does not need `.Archive`.
//!
//! A folder's name comes from a client: it becomes a directory only through
//! [`folder_dir`], the gate that refuses anything that could name another path (see
//! ARCHITECTURE.md, *Mailbox names are never raw input*).
//!
//! Small state files (IMAP's UID list, the subscriptions) are written with
//! [`replace_file`]: into the folder's `tmp/`, fsynced, renamed into place.
//!
//! Left out: quotas (`maildirsize`), and any locking against other programs writing
//! the same tree.

use std::fs::{self, DirBuilder};
use std::io::{self, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use crate::store::durable::{replace, sync_dir, TmpFile};
use crate::store::flags::{cur_name, Flags};
use crate::store::folder::Folder;
use crate::store::id::MessageId;
use crate::store::maildir::{MailboxPath, CUR, NEW, TMP};

/// The file that marks a Maildir++ folder (Courier's convention).
const MARKER: &str = "maildirfolder";

/// One user's tree of folders.
#[derive(Debug, Clone)]
pub struct Tree {
    inbox: PathBuf,
    /// The hostname as it appears in file names.
    host: String,
}

// ANCHOR: folder_dir
/// The gate from a folder's name (in modified UTF-7, so ASCII) to its directory name:
/// `Archive.2026` → `.Archive.2026`. Refuses what could leave the user's directory or
/// hide from Maildir++ readers: `/`, `\`, control characters, non-ASCII, empty levels
/// (`a..b`, a leading or trailing dot), and names over 200 octets.
pub fn folder_dir(name: &str) -> Option<String> {
    let ok = !name.is_empty()
        && name.len() <= 200
        && name.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        && !name.contains(['/', '\\'])
        && name.split('.').all(|level| !level.is_empty());
    ok.then(|| format!(".{name}"))
}
// ANCHOR_END: folder_dir

impl Tree {
    pub fn open(root: &Path, mailbox: &MailboxPath, hostname: &str) -> Tree {
        Tree {
            inbox: root
                .join(mailbox.domain.as_str())
                .join(mailbox.mailbox.as_str()),
            host: hostname.replace('/', "\\057").replace(':', "\\072"),
        }
    }

    /// The user's own mailbox: INBOX. Created (with its three directories) if missing.
    pub fn inbox(&self) -> io::Result<Folder> {
        make_maildir(&self.inbox)?;
        Ok(Folder::at(self.inbox.clone()))
    }

    /// The folder `name` (modified UTF-7), if the name passes the gate.
    pub fn folder(&self, name: &str) -> Option<Folder> {
        folder_dir(name).map(|dir| Folder::at(self.inbox.join(dir)))
    }

    /// Does the folder exist?
    pub fn exists(&self, name: &str) -> bool {
        folder_dir(name).is_some_and(|dir| self.inbox.join(dir).join(CUR).is_dir())
    }

    /// Every folder's name (modified UTF-7), without INBOX, sorted.
    pub fn names(&self) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in super::entries(&self.inbox)? {
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let Some(name) = name.strip_prefix('.') else {
                continue;
            };
            if folder_dir(name).is_some() && entry.path().join(CUR).is_dir() {
                names.push(name.to_string());
            }
        }
        names.sort();
        Ok(names)
    }

    /// Creates a folder; `AlreadyExists` if it does.
    pub fn create(&self, name: &str) -> io::Result<()> {
        let dir = self.dir_of(name)?;
        if dir.exists() {
            return Err(io::ErrorKind::AlreadyExists.into());
        }
        make_maildir(&dir)?;
        fs::write(dir.join(MARKER), b"")?;
        sync_dir(&self.inbox)
    }

    /// Removes a folder and its messages (not the folders below it: each is a
    /// directory of its own).
    pub fn delete(&self, name: &str) -> io::Result<()> {
        let dir = self.dir_of(name)?;
        if !dir.join(CUR).is_dir() {
            return Err(io::ErrorKind::NotFound.into());
        }
        fs::remove_dir_all(&dir)?;
        sync_dir(&self.inbox)
    }

    /// Renames a folder and the folders below it (`a` → `b` takes `a.x` to `b.x`).
    pub fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        let (source, target) = (self.dir_of(from)?, self.dir_of(to)?);
        if !source.join(CUR).is_dir() {
            return Err(io::ErrorKind::NotFound.into());
        }
        if target.exists() {
            return Err(io::ErrorKind::AlreadyExists.into());
        }
        let below = format!("{from}.");
        let children: Vec<String> = self
            .names()?
            .into_iter()
            .filter(|n| n.starts_with(&below))
            .collect();
        fs::rename(&source, &target)?;
        for child in children {
            let renamed = format!("{to}.{}", &child[below.len()..]);
            fs::rename(self.dir_of(&child)?, self.dir_of(&renamed)?)?;
        }
        sync_dir(&self.inbox)
    }

    fn dir_of(&self, name: &str) -> io::Result<PathBuf> {
        folder_dir(name)
            .map(|dir| self.inbox.join(dir))
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a folder name"))
    }

    // ANCHOR: add
    /// Adds a whole message to `folder` with these flags, durably (tmp, fsync, rename
    /// into `cur/`, or `new/` without flags, fsync the directory). Returns its unique
    /// name, the id [`Folder::list`] will report.
    pub fn add(&self, folder: &Folder, message: &[u8], flags: &Flags) -> io::Result<String> {
        make_maildir(folder.dir())?;
        let unique = MessageId::new().file_name(&self.host);
        let mut file = TmpFile::create(folder.dir().join(TMP).join(&unique))?;
        file.write_all(message)?;
        file.sync()?;
        let target = if *flags == Flags::new() {
            folder.dir().join(NEW).join(&unique)
        } else {
            folder.dir().join(CUR).join(cur_name(&unique, flags))
        };
        file.rename_into(&target)?;
        Ok(unique)
    }
    // ANCHOR_END: add
}

// ANCHOR: stamp
/// When a folder's messages last changed: the modification times of its `new/` and
/// `cur/`, which every delivery, flag change (a rename) and removal updates. `None`
/// when a time is too recent to trust: file systems keep times in ticks of a few
/// milliseconds, so a change in the same tick as the look would leave the time as it
/// was (Dovecot's Maildir code waits out the same window).
pub fn stamp(folder: &Folder) -> io::Result<Option<(SystemTime, SystemTime)>> {
    let now = SystemTime::now();
    let time = |sub: &str| -> io::Result<Option<SystemTime>> {
        let modified = match fs::metadata(folder.dir().join(sub)) {
            Ok(meta) => meta.modified()?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => SystemTime::UNIX_EPOCH,
            Err(e) => return Err(e),
        };
        let settled = now
            .duration_since(modified)
            .is_ok_and(|age| age >= Duration::from_secs(2));
        Ok(settled.then_some(modified))
    };
    Ok(time(NEW)?.zip(time(CUR)?))
}
// ANCHOR_END: stamp

/// For tests: makes a folder look untouched since `when` (its `new/` and `cur/`).
#[cfg(test)]
pub fn backdate(folder: &Folder, when: SystemTime) -> io::Result<()> {
    for sub in [NEW, CUR] {
        fs::File::open(folder.dir().join(sub))?.set_modified(when)?;
    }
    Ok(())
}

/// Reads a small state file of a folder (`None` if there is none yet).
pub fn read_file(folder: &Folder, name: &str) -> io::Result<Option<Vec<u8>>> {
    match fs::read(folder.dir().join(name)) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Replaces a small state file of a folder durably: a crash leaves the old one or
/// the new one.
pub fn replace_file(folder: &Folder, name: &str, bytes: &[u8]) -> io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    make_maildir(folder.dir())?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = folder
        .dir()
        .join(TMP)
        .join(format!("{name}.{}.{n}", std::process::id()));
    replace(tmp, &folder.dir().join(name), bytes)
}

/// Creates `dir` and its `tmp/`, `new/` and `cur/` if missing.
fn make_maildir(dir: &Path) -> io::Result<()> {
    for sub in [TMP, NEW, CUR] {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir.join(sub))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::flags::Flag;
    use crate::store::mailbox::{domain_name, mailbox_name};

    fn tree(root: &Path) -> Tree {
        let mailbox = MailboxPath {
            domain: domain_name("localhost").unwrap(),
            mailbox: mailbox_name("alice").unwrap(),
        };
        Tree::open(root, &mailbox, "mx")
    }

    /// Alice's tree under `root`, with a folder `Sent`.
    fn with_sent(root: &Path) -> (Tree, Folder) {
        let t = tree(root);
        t.create("Sent").unwrap();
        let sent = t.folder("Sent").unwrap();
        (t, sent)
    }

    #[test]
    fn the_gate() {
        for good in ["Sent", "Archive.2026", "Caf&AOk-", "My Folder"] {
            assert_eq!(folder_dir(good), Some(format!(".{good}")));
        }
        for bad in [
            "", ".", "..", ".x", "x.", "a..b", "a/b", "../x", "a\\b", "a\nb", "é",
        ] {
            assert_eq!(folder_dir(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn create_list_rename_delete() {
        let root = tempfile::tempdir().unwrap();
        let t = tree(root.path());
        t.inbox().unwrap();
        t.create("Archive").unwrap();
        t.create("Archive.2026").unwrap();
        t.create("Sent").unwrap();
        assert_eq!(
            t.create("Sent").unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        assert_eq!(t.names().unwrap(), ["Archive", "Archive.2026", "Sent"]);
        t.rename("Archive", "Old").unwrap();
        assert_eq!(t.names().unwrap(), ["Old", "Old.2026", "Sent"]);
        t.delete("Old").unwrap();
        assert_eq!(t.names().unwrap(), ["Old.2026", "Sent"]);
        assert!(t.exists("Sent") && !t.exists("Old"));
        assert!(root
            .path()
            .join("localhost/alice/.Sent/maildirfolder")
            .is_file());
    }

    #[test]
    fn added_messages_are_listed_with_their_flags() {
        let root = tempfile::tempdir().unwrap();
        let (t, sent) = with_sent(root.path());
        let mut flags = Flags::new();
        flags.insert(Flag::Seen);
        let id = t
            .add(&sent, b"Subject: hi\r\n\r\nhello\r\n", &flags)
            .unwrap();
        let plain = t.add(&sent, b"x\r\n", &Flags::new()).unwrap();
        let listed = sent.list().unwrap();
        assert_eq!(listed.len(), 2);
        let first = listed.iter().find(|m| m.id() == id).unwrap();
        assert!(first.flags().contains(Flag::Seen) && !first.is_new());
        assert!(listed.iter().any(|m| m.id() == plain && m.is_new()));
        replace_file(&sent, "state", b"one").unwrap();
        replace_file(&sent, "state", b"two").unwrap();
        assert_eq!(
            read_file(&sent, "state").unwrap().as_deref(),
            Some(&b"two"[..])
        );
        assert_eq!(read_file(&sent, "nothing").unwrap(), None);
    }

    /// A directory that only looks like a folder is not one: without `cur/`, or
    /// with a name the gate refuses.
    #[test]
    fn names_are_folders_with_cur_and_a_good_name() {
        let root = tempfile::tempdir().unwrap();
        let t = tree(root.path());
        t.create("Sent").unwrap();
        let inbox = root.path().join("localhost/alice");
        fs::create_dir_all(inbox.join(".NoCur/new")).unwrap();
        fs::create_dir_all(inbox.join(".a..b/cur")).unwrap();
        assert_eq!(t.names().unwrap(), ["Sent"]);
    }

    /// A stamp is the folder's two modification times, once they are old enough to
    /// trust; a folder that has no `new/` yet counts as untouched since 1970.
    #[test]
    fn stamps_are_settled_times() {
        let root = tempfile::tempdir().unwrap();
        let (_, sent) = with_sent(root.path());
        assert_eq!(stamp(&sent).unwrap(), None, "just changed: not settled");
        let then = SystemTime::now() - Duration::from_secs(60);
        backdate(&sent, then).unwrap();
        assert_eq!(stamp(&sent).unwrap(), Some((then, then)));

        fs::remove_dir(sent.dir().join(NEW)).unwrap();
        fs::File::open(sent.dir().join(CUR))
            .unwrap()
            .set_modified(then)
            .unwrap();
        assert_eq!(stamp(&sent).unwrap(), Some((SystemTime::UNIX_EPOCH, then)));
    }

    /// Only a missing file or folder is "nothing yet"; anything else is an error.
    #[test]
    fn other_errors_are_not_nothing() {
        let root = tempfile::tempdir().unwrap();
        let (t, sent) = with_sent(root.path());
        fs::create_dir(sent.dir().join("state")).unwrap();
        assert!(
            read_file(&sent, "state").is_err(),
            "a directory is no state file"
        );

        let inbox = root.path().join("localhost/alice");
        fs::write(inbox.join(".Broken"), b"a file where a folder should be").unwrap();
        assert!(stamp(&t.folder("Broken").unwrap()).is_err());
    }
}
