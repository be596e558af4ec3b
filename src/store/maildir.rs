//! Durable local delivery: "250 means it is on disk" (RFC 5321 §6.1; ARCHITECTURE.md,
//! *250 only after the fsyncs*).
//!
//! Mail for a local domain goes into Maildir folders, in the format of
//! <https://cr.yp.to/proto/maildir.html>, one per recipient:
//!
//! ```text
//! <root>/<domain>/<mailbox>/tmp/   messages being written
//!                          /new/   delivered, not yet seen by a mail reader
//!                          /cur/   seen (only mail readers write here)
//! ```
//!
//! One message, from DATA to the 250 reply:
//!
//! 1. [`Maildir::begin`] creates `tmp/<unique>` with `O_CREAT|O_EXCL`.
//! 2. The DATA reader writes the message into the [`Delivery`].
//! 3. [`Delivery::commit`] fsyncs the file, hard-links it into every
//!    mailbox's `new/` and fsyncs each `new/` directory. A link appears
//!    atomically, so a mail reader sees the whole message or nothing.
//! 4. Only after `commit` returns `Ok` may the server reply 250: from then on
//!    the message is our responsibility (RFC 5321 §6.1). If anything fails,
//!    no `new/` keeps a copy and the server replies 451.
//!
//! Unique names follow the Maildir spec: `<secs>.M<usec>P<pid>Q<n>.<host>`,
//! made from the message's [`MessageId`]. Names are never derived from
//! addresses or message text; directory names come only from [`SafeName`]s
//! (ARCHITECTURE.md, *mailbox names are never raw input*).
//!
//! Deliberately left out:
//! - Copies for several recipients are hard links to one file: one write,
//!   one fsync. All mailboxes must therefore live on one file system.
//! - No `,S=<size>` in the name, no quota, no Maildir++ subfolders.
//! - [`Maildir::open`] removes *every* file in `tmp/`, where the spec waits
//!   36 hours: it assumes postie is the only writer under its root and that
//!   it runs before the first client is served.
//! - The creation of the root directory itself is not fsynced.
//!
//! A production server would hand the message to a local delivery agent
//! (LMTP, Dovecot's `deliver`) and map recipients through a user database.
//!
//! Steps 1 and 3 are [`crate::store::durable`]'s, which the queue uses too. After
//! each delivery the Maildir rings its [`Bell`]; reading the mailboxes back is
//! [`crate::store::folder`]'s job.

use crate::store::bell::Bell;
use crate::store::durable::{sync_dir, TmpFile};
use crate::store::id::MessageId;
use crate::store::mailbox::{domain_name, mailbox_name, SafeName};
use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Messages being written.
pub(crate) const TMP: &str = "tmp";
/// Delivered, not yet seen by a mail reader.
pub(crate) const NEW: &str = "new";
/// Seen by a mail reader, with flags in the name.
pub(crate) const CUR: &str = "cur";

/// The three subdirectories of every Maildir.
const SUBDIRS: [&str; 3] = [TMP, NEW, CUR];

/// The root of all local mailboxes.
#[derive(Debug)]
pub struct Maildir {
    root: PathBuf,
    /// The hostname as it appears in file names.
    host: String,
    /// Rung after every delivery (see [`Maildir::bell`]).
    bell: Arc<Bell>,
}

/// Where one recipient's copy goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxPath {
    pub domain: SafeName,
    pub mailbox: SafeName,
}

impl Maildir {
    // ANCHOR: open
    /// Creates the root if missing, checks that it is a writable directory,
    /// and removes leftovers in every `<root>/*/*/tmp/`: a file there was
    /// never acknowledged with 250, so its sender still has it.
    pub fn open(root: impl Into<PathBuf>, hostname: &str) -> io::Result<Maildir> {
        let root = root.into();
        // Fails (AlreadyExists) if `root` exists but is not a directory.
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&root)
            .map_err(|e| context(e, "cannot create the mail root", &root))?;
        let maildir = Maildir {
            // The Maildir spec: "replace / with \057 and : with \072".
            host: hostname.replace('/', "\\057").replace(':', "\\072"),
            root,
            bell: Arc::new(Bell::new()),
        };
        maildir
            .check_writable()
            .map_err(|e| context(e, "the mail root is not writable", &maildir.root))?;
        let removed = maildir
            .remove_leftovers()
            .map_err(|e| context(e, "cannot clean up the mail root", &maildir.root))?;
        if removed > 0 {
            log::info!("removed {removed} unacknowledged message(s) from tmp/");
        }
        Ok(maildir)
    }
    // ANCHOR_END: open

    /// The directory that holds one subdirectory per local domain.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every mailbox that has a directory, `<root>/<domain>/<mailbox>`, sorted; names
    /// that the gate of [`crate::store::mailbox`] would not give (another program's
    /// directories) are left out.
    pub fn mailboxes(&self) -> io::Result<Vec<MailboxPath>> {
        let mut found = Vec::new();
        for domain in subdirectories(&self.root)? {
            let Ok(safe_domain) = domain_name(&domain) else {
                continue;
            };
            if safe_domain.as_str() != domain {
                continue;
            }
            for mailbox in subdirectories(&self.root.join(&domain))? {
                match mailbox_name(&mailbox) {
                    Ok(safe) if safe.as_str() == mailbox => found.push(MailboxPath {
                        domain: safe_domain.clone(),
                        mailbox: safe,
                    }),
                    _ => continue,
                }
            }
        }
        found.sort_by(|a, b| {
            (a.domain.as_str(), a.mailbox.as_str()).cmp(&(b.domain.as_str(), b.mailbox.as_str()))
        });
        Ok(found)
    }

    /// Rings once after every delivery, in any mailbox: a reader waiting for new mail
    /// (an IMAP IDLE, RFC 2177) waits on it, then looks.
    pub fn bell(&self) -> &Bell {
        &self.bell
    }

    // ANCHOR: begin
    /// Starts message `id` for one or more mailboxes (at least one). Creates
    /// each mailbox when missing and opens a new file in the first one's
    /// `tmp/`. A mailbox named twice gets one copy.
    pub fn begin(&self, id: &MessageId, to: &[MailboxPath]) -> io::Result<Delivery> {
        let mut distinct: Vec<&MailboxPath> = Vec::new();
        for path in to {
            if !distinct.contains(&path) {
                distinct.push(path);
            }
        }
        let mut mailboxes = Vec::new();
        for path in distinct {
            mailboxes.push(self.create_mailbox(path)?);
        }
        let Some(first) = mailboxes.first() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a delivery needs at least one mailbox",
            ));
        };
        let name = id.file_name(&self.host);
        // O_CREAT|O_EXCL: never write into a file that already exists.
        let file = TmpFile::create(first.join(TMP).join(&name))?;
        Ok(Delivery {
            file,
            name,
            mailboxes,
            bell: Arc::clone(&self.bell),
        })
    }
    // ANCHOR_END: begin

    // ANCHOR: create_mailbox
    /// Returns `<root>/<domain>/<mailbox>`, creating its `tmp/`, `new/` and
    /// `cur/` (mode 0700) if any is missing.
    fn create_mailbox(&self, path: &MailboxPath) -> io::Result<PathBuf> {
        let domain = self.root.join(path.domain.as_str());
        let mailbox = domain.join(path.mailbox.as_str());
        if SUBDIRS.iter().all(|sub| mailbox.join(sub).is_dir()) {
            return Ok(mailbox);
        }
        let mut builder = DirBuilder::new();
        builder.recursive(true).mode(0o700);
        for sub in SUBDIRS {
            builder.create(mailbox.join(sub))?;
        }
        // A new directory survives a crash only once its parent is synced;
        // otherwise the first message could vanish with its mailbox.
        sync_dir(&mailbox)?;
        sync_dir(&domain)?;
        sync_dir(&self.root)?;
        Ok(mailbox)
    }
    // ANCHOR_END: create_mailbox

    /// Creating and removing a file is the only honest test: mode bits say
    /// nothing about root, ACLs or read-only mounts. The probe's name is a
    /// unique name, so this also proves that the hostname makes valid names.
    fn check_writable(&self) -> io::Result<()> {
        let name = MessageId::new().file_name(&self.host);
        let probe = self.root.join(format!(".probe-{name}"));
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&probe)?;
        fs::remove_file(&probe)
    }

    /// Removes every file in `<root>/*/*/tmp/`; returns how many.
    fn remove_leftovers(&self) -> io::Result<usize> {
        let mut removed = 0;
        for domain in real_subdirectories(&self.root)? {
            for mailbox in real_subdirectories(&domain)? {
                let tmp = mailbox.join(TMP);
                if !is_real_dir(&tmp) {
                    continue;
                }
                for entry in fs::read_dir(&tmp)? {
                    let entry = entry?;
                    if entry.file_type()?.is_file() {
                        log::info!("removing unacknowledged {}", entry.path().display());
                        fs::remove_file(entry.path())?;
                        removed += 1;
                    }
                }
            }
        }
        Ok(removed)
    }
}

/// A message being written. Dropping it without [`Delivery::commit`] removes
/// the temporary file: nothing was delivered.
#[derive(Debug)]
pub struct Delivery {
    /// `<first mailbox>/tmp/<name>`
    file: TmpFile,
    /// The unique file name, the same in every `new/`.
    name: String,
    /// One directory per distinct mailbox.
    mailboxes: Vec<PathBuf>,
    /// The Maildir's bell, rung once the message is there.
    bell: Arc<Bell>,
}

impl Write for Delivery {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Delivery {
    // ANCHOR: commit
    /// Makes the message durable and visible in every mailbox, or in none.
    /// Only after `Ok` may the server reply 250.
    pub fn commit(mut self) -> io::Result<()> {
        // The bytes reach the disk before any name in new/ points at them.
        self.file.sync()?;
        // Nothing half-delivered: a failed link leaves no copy anywhere.
        self.link_into_new()?;
        log::debug!(
            "delivered {} to {} mailbox(es)",
            self.name,
            self.mailboxes.len()
        );
        self.bell.ring();
        Ok(())
        // Dropping `self` now removes the name in tmp/.
    }
    // ANCHOR_END: commit

    // ANCHOR: link_into_new
    /// Links the file into every `new/`, then syncs each `new/` so the links
    /// survive a crash; if one fails, the links made are removed.
    fn link_into_new(&self) -> io::Result<()> {
        let targets: Vec<PathBuf> = self
            .mailboxes
            .iter()
            .map(|mailbox| mailbox.join(NEW).join(&self.name))
            .collect();
        self.file.link_into(&targets)
    }
    // ANCHOR_END: link_into_new
}

/// A directory, not a symbolic link to one: the sweep stays under the root.
fn is_real_dir(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

fn real_subdirectories(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        // DirEntry::file_type does not follow symbolic links.
        if entry.file_type()?.is_dir() {
            dirs.push(entry.path());
        }
    }
    Ok(dirs)
}

/// Adds what we were doing, and where, to an error for the operator.
fn context(err: io::Error, doing: &str, path: &Path) -> io::Error {
    io::Error::new(err.kind(), format!("{doing} {}: {err}", path.display()))
}

/// The names of the subdirectories of `dir` that are UTF-8 and do not start with a dot;
/// none when `dir` does not exist.
fn subdirectories(dir: &Path) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in super::entries(dir)? {
        if let Some(name) = entry.file_name().to_str() {
            if !name.starts_with('.') && entry.file_type()?.is_dir() {
                names.push(name.to_string());
            }
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::Arc;

    fn to(domain: &str, mailbox: &str) -> MailboxPath {
        MailboxPath {
            domain: domain_name(domain).unwrap(),
            mailbox: mailbox_name(mailbox).unwrap(),
        }
    }

    /// The files in `<root>/<domain>/<mailbox>/<sub>`, sorted by name.
    fn files(root: &Path, domain: &str, mailbox: &str, sub: &str) -> Vec<PathBuf> {
        let dir = root.join(domain).join(mailbox).join(sub);
        let mut files: Vec<PathBuf> = fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        files.sort();
        files
    }

    fn deliver(maildir: &Maildir, rcpts: &[MailboxPath], body: &[u8]) -> String {
        let id = MessageId::new();
        let mut delivery = maildir.begin(&id, rcpts).unwrap();
        delivery.write_all(body).unwrap();
        delivery.commit().unwrap();
        id.to_string()
    }

    #[test]
    fn one_message_two_domains() {
        let dir = tempfile::tempdir().unwrap();
        let maildir = Maildir::open(dir.path(), "mx.example").unwrap();
        let body = b"Subject: hi\r\n\r\nhello\r\n";
        let id = deliver(
            &maildir,
            &[to("a.example", "alice"), to("b.example", "bob")],
            body,
        );

        let alice = files(dir.path(), "a.example", "alice", "new");
        let bob = files(dir.path(), "b.example", "bob", "new");
        assert_eq!(alice.len(), 1);
        assert_eq!(bob.len(), 1);
        assert_eq!(fs::read(&alice[0]).unwrap(), body);
        assert_eq!(fs::read(&bob[0]).unwrap(), body);
        assert_eq!(alice[0].file_name(), bob[0].file_name());
        let expected_name = format!("{}.mx.example", id.replacen('M', ".M", 1));
        assert_eq!(
            alice[0].file_name().unwrap().to_str(),
            Some(&expected_name[..])
        );
        for (domain, mailbox) in [("a.example", "alice"), ("b.example", "bob")] {
            assert!(files(dir.path(), domain, mailbox, "tmp").is_empty());
            assert!(files(dir.path(), domain, mailbox, "cur").is_empty());
        }
    }

    #[test]
    fn unique_name_has_the_maildir_shape() {
        let dir = tempfile::tempdir().unwrap();
        let maildir = Maildir::open(dir.path(), "mx/1:2").unwrap();
        let id = deliver(&maildir, &[to("localhost", "u")], b"x");
        let name = files(dir.path(), "localhost", "u", "new")[0]
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert_eq!(
            name,
            format!("{}.mx\\0571\\0722", id.replacen('M', ".M", 1))
        );
        // id: <secs>M<usec>P<pid>Q<n>
        let (secs, rest) = id.split_once('M').unwrap();
        let (usec, rest) = rest.split_once('P').unwrap();
        let (pid, n) = rest.split_once('Q').unwrap();
        for number in [secs, usec, pid, n] {
            assert!(
                !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()),
                "{id}"
            );
        }
        assert_eq!(pid, std::process::id().to_string());
    }

    #[test]
    fn files_and_directories_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let maildir = Maildir::open(dir.path(), "mx").unwrap();
        deliver(&maildir, &[to("localhost", "u")], b"x");
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let mailbox = dir.path().join("localhost/u");
        for sub in SUBDIRS {
            assert_eq!(mode(&mailbox.join(sub)), 0o700, "{sub}");
        }
        assert_eq!(mode(&files(dir.path(), "localhost", "u", "new")[0]), 0o600);
    }

    #[test]
    fn drop_without_commit_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let maildir = Maildir::open(dir.path(), "mx").unwrap();
        let mut delivery = maildir
            .begin(&MessageId::new(), &[to("localhost", "u")])
            .unwrap();
        delivery.write_all(b"half a message").unwrap();
        assert_eq!(files(dir.path(), "localhost", "u", "tmp").len(), 1);
        drop(delivery);
        assert!(files(dir.path(), "localhost", "u", "tmp").is_empty());
        assert!(files(dir.path(), "localhost", "u", "new").is_empty());
    }

    /// The operator is told how many unacknowledged files the sweep removed, and
    /// told nothing when there were none.
    #[test]
    fn the_sweep_says_how_many_it_removed() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path().join("localhost/u/tmp");
        fs::create_dir_all(&tmp).unwrap();
        let said = |records: Vec<crate::logged::Record>| -> Vec<String> {
            let records = records
                .into_iter()
                .filter(|r| r.text.starts_with("removed "));
            records.map(|r| r.text).collect()
        };
        crate::logged::start();
        Maildir::open(dir.path(), "mx").unwrap();
        assert_eq!(said(crate::logged::take()), Vec::<String>::new());
        fs::write(tmp.join("1.M1P1Q1.mx"), "crashed").unwrap();
        fs::write(tmp.join("2.M2P2Q2.mx"), "crashed").unwrap();
        Maildir::open(dir.path(), "mx").unwrap();
        assert_eq!(
            said(crate::logged::take()),
            ["removed 2 unacknowledged message(s) from tmp/"]
        );
    }

    #[test]
    fn open_removes_leftovers_from_tmp_only() {
        let dir = tempfile::tempdir().unwrap();
        let mailbox = dir.path().join("localhost/u");
        for sub in SUBDIRS {
            fs::create_dir_all(mailbox.join(sub)).unwrap();
        }
        fs::write(mailbox.join("tmp/1.M1P1Q1.mx"), "crashed mid-DATA").unwrap();
        fs::write(mailbox.join("new/2.M2P2Q2.mx"), "delivered").unwrap();
        fs::write(mailbox.join("cur/3.M3P3Q3.mx:2,S"), "read").unwrap();

        Maildir::open(dir.path(), "mx").unwrap();
        assert!(files(dir.path(), "localhost", "u", "tmp").is_empty());
        assert_eq!(files(dir.path(), "localhost", "u", "new").len(), 1);
        assert_eq!(files(dir.path(), "localhost", "u", "cur").len(), 1);
    }

    /// The sweep stays under the root: a `tmp` that is a symbolic link to a directory
    /// elsewhere is not emptied, and a mailbox without `tmp/` is no error.
    #[test]
    fn open_sweeps_no_tmp_outside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        fs::create_dir_all(&outside).unwrap();
        fs::write(outside.join("precious"), "not ours").unwrap();
        let root = dir.path().join("mail");
        fs::create_dir_all(root.join("localhost/u")).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("localhost/u/tmp")).unwrap();
        fs::create_dir_all(root.join("localhost/no-tmp/new")).unwrap();
        Maildir::open(&root, "mx").unwrap();
        assert!(outside.join("precious").is_file());
    }

    /// The probe file's name is a unique name, so a hostname that cannot be part of a
    /// file name is refused at start-up, not at the first delivery.
    #[test]
    fn open_refuses_a_hostname_too_long_for_a_file_name() {
        let dir = tempfile::tempdir().unwrap();
        let long = "h".repeat(300);
        let err = Maildir::open(dir.path(), &long).unwrap_err();
        assert!(err.to_string().contains("not writable"), "{err}");
    }

    #[test]
    fn delivery_flush_hands_the_bytes_to_the_file_in_tmp() {
        let dir = tempfile::tempdir().unwrap();
        let maildir = Maildir::open(dir.path(), "mx").unwrap();
        let mut delivery = maildir
            .begin(&MessageId::new(), &[crate::store::testing::mailbox("u")])
            .unwrap();
        delivery.write_all(b"Subject: half\r\n").unwrap();
        delivery.flush().unwrap();
        let in_tmp = fs::read(delivery.file.path()).unwrap();
        assert_eq!(in_tmp, b"Subject: half\r\n");
    }

    #[test]
    fn open_creates_the_root_and_refuses_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("mail/spool");
        let maildir = Maildir::open(&root, "mx").unwrap();
        assert_eq!(maildir.root(), root);
        assert!(root.is_dir());
        assert_eq!(fs::read_dir(&root).unwrap().count(), 0, "the probe is gone");

        let file = dir.path().join("not-a-dir");
        fs::write(&file, "").unwrap();
        assert!(Maildir::open(&file, "mx").is_err());
    }

    #[test]
    fn mailboxes_are_the_safe_directories_sorted() {
        let dir = tempfile::tempdir().unwrap();
        let maildir = Maildir::open(dir.path(), "mx").unwrap();
        for path in [
            "b.test/zoe",
            "b.test/adam",
            "a.test/mia",
            "a.test/Upper",   // not a name the gate gives (it folds case)
            "a.test/.hidden", // nor this
            "Other.TEST/kim", // nor this domain
            "c.test/file-not-dir",
        ] {
            if path.ends_with("file-not-dir") {
                fs::create_dir_all(dir.path().join("c.test")).unwrap();
                fs::write(dir.path().join(path), b"").unwrap();
            } else {
                fs::create_dir_all(dir.path().join(path)).unwrap();
            }
        }
        let found: Vec<String> = maildir
            .mailboxes()
            .unwrap()
            .iter()
            .map(|m| format!("{}/{}", m.domain.as_str(), m.mailbox.as_str()))
            .collect();
        assert_eq!(found, ["a.test/mia", "b.test/adam", "b.test/zoe"]);
    }

    #[test]
    fn begin_needs_a_mailbox() {
        let dir = tempfile::tempdir().unwrap();
        let maildir = Maildir::open(dir.path(), "mx").unwrap();
        let err = maildir.begin(&MessageId::new(), &[]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn a_mailbox_named_twice_gets_one_copy() {
        let dir = tempfile::tempdir().unwrap();
        let maildir = Maildir::open(dir.path(), "mx").unwrap();
        let rcpts = [
            to("localhost", "u"),
            to("localhost", "v"),
            to("LOCALHOST", "U"),
        ];
        deliver(&maildir, &rcpts, b"x");
        assert_eq!(files(dir.path(), "localhost", "u", "new").len(), 1);
        assert_eq!(files(dir.path(), "localhost", "v", "new").len(), 1);
    }

    #[test]
    fn a_failed_commit_delivers_to_nobody() {
        let dir = tempfile::tempdir().unwrap();
        let maildir = Maildir::open(dir.path(), "mx").unwrap();
        let mut delivery = maildir
            .begin(
                &MessageId::new(),
                &[to("localhost", "first"), to("localhost", "second")],
            )
            .unwrap();
        delivery.write_all(b"x").unwrap();
        // Sabotage: the second mailbox's new/ becomes a regular file, so the
        // link into it fails (even as root, where permissions don't bite).
        let second_new = dir.path().join("localhost/second/new");
        fs::remove_dir(&second_new).unwrap();
        fs::write(&second_new, "").unwrap();

        assert!(delivery.commit().is_err());
        assert!(files(dir.path(), "localhost", "first", "new").is_empty());
        assert!(files(dir.path(), "localhost", "first", "tmp").is_empty());
        assert!(files(dir.path(), "localhost", "second", "tmp").is_empty());
    }

    #[test]
    fn eight_threads_four_hundred_distinct_messages() {
        let dir = tempfile::tempdir().unwrap();
        let maildir = Arc::new(Maildir::open(dir.path(), "mx").unwrap());
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let maildir = Arc::clone(&maildir);
                std::thread::spawn(move || {
                    (0..50)
                        .map(|i| {
                            let body = format!("thread {t} message {i}\r\n");
                            deliver(&maildir, &[to("localhost", "u")], body.as_bytes())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut ids = HashSet::new();
        for thread in threads {
            ids.extend(thread.join().unwrap());
        }
        assert_eq!(ids.len(), 400);

        let delivered = files(dir.path(), "localhost", "u", "new");
        assert_eq!(delivered.len(), 400);
        let bodies: HashSet<Vec<u8>> = delivered.iter().map(|p| fs::read(p).unwrap()).collect();
        assert_eq!(bodies.len(), 400, "no message overwrote another");
        assert!(files(dir.path(), "localhost", "u", "tmp").is_empty());
    }
}
