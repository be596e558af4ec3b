//! One local mailbox, read: what a mail reader (POP3 today, IMAP and the web view
//! tomorrow) may do with the messages that [`crate::store::maildir`] delivered.
//!
//! Following <https://cr.yp.to/proto/maildir.html>:
//!
//! - **Ids.** A message's id is its unique name, the part of the file name before
//!   `:2,`. It stays the same when the message moves from `new/` to `cur/` and when its
//!   flags change, so a reader can hold on to it across sessions.
//! - **Flags** live in the name, `<unique>:2,<flags>` ([`crate::store::flags`]).
//!   Setting or clearing one renames the file; so does the move to `cur/`, which the
//!   spec leaves to readers ("a reader moves a message from new/ to cur/").
//! - **Order.** [`Folder::list`] gives the messages oldest first, by the delivery time
//!   at the start of the unique name.
//! - **New mail.** The Maildir rings its [`crate::store::bell::Bell`] after every
//!   delivery ([`crate::store::maildir::Maildir::bell`]); a reader that waits for new
//!   mail waits on it and then lists again.
//!
//! Another program may rename a message between two calls (a local mail reader
//! marking it seen): every call that misses a file looks for its id again, once.
//!
//! Left out: renames and deletions are not followed by an fsync of the directory,
//! except by [`Folder::sync`]; losing a flag in a crash only shows a message as unread
//! again. No UIDs per folder (IMAP's UIDVALIDITY and UIDNEXT need a file of their own),
//! no subfolders (Maildir++), no locking against other processes.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::store::durable::sync_dir;
use crate::store::flags::{cur_name, split_name, Flag, Flags};
use crate::store::maildir::{MailboxPath, CUR, NEW};

/// One user's mailbox, for reading. Opening it creates nothing.
#[derive(Debug, Clone)]
pub struct Folder {
    /// `<root>/<domain>/<mailbox>`
    dir: PathBuf,
}

/// One message of a folder, as [`Folder::list`] found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    id: String,
    flags: Flags,
    /// Where it was last seen.
    path: PathBuf,
    octets: u64,
}

impl Message {
    /// The unique name: stable for the life of the message.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn flags(&self) -> &Flags {
        &self.flags
    }

    /// Still in `new/`: no reader has looked at it yet (IMAP's `\Recent`).
    pub fn is_new(&self) -> bool {
        self.path
            .parent()
            .is_some_and(|dir| dir.file_name() == Some(NEW.as_ref()))
    }

    /// The size of the file, in octets, as stored (line endings as delivered).
    pub fn octets(&self) -> u64 {
        self.octets
    }
}

impl Folder {
    /// The folder of `mailbox` under the Maildir `root`.
    pub fn open(root: &Path, mailbox: &MailboxPath) -> Folder {
        Folder {
            dir: root
                .join(mailbox.domain.as_str())
                .join(mailbox.mailbox.as_str()),
        }
    }

    /// The folder in `dir`, a Maildir of its own (a Maildir++ folder, see
    /// [`crate::store::maildirpp`]). Opening it creates nothing.
    pub fn at(dir: PathBuf) -> Folder {
        Folder { dir }
    }

    /// `<root>/<domain>/<mailbox>`: one folder, one directory (the POP3 lock's key).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    // ANCHOR: list
    /// Every message in `new/` and `cur/`, oldest first. A mailbox that has never
    /// received mail is empty, not an error.
    pub fn list(&self) -> io::Result<Vec<Message>> {
        let mut messages = Vec::new();
        for sub in [NEW, CUR] {
            for path in files(&self.dir.join(sub))? {
                let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                    continue; // not a name postie (or the spec) would write
                };
                let (id, flags) = split_name(name);
                let octets = fs::metadata(&path)?.len();
                messages.push(Message {
                    id: id.to_string(),
                    flags,
                    octets,
                    path,
                });
            }
        }
        // By delivery time, not by directory: the order does not change when a
        // message moves to cur/.
        messages.sort_by_cached_key(|m| delivery_order(&m.path));
        Ok(messages)
    }
    // ANCHOR_END: list

    /// The message as stored.
    pub fn read(&self, message: &Message) -> io::Result<Vec<u8>> {
        match fs::read(&message.path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => fs::read(self.find(&message.id)?),
            result => result,
        }
    }

    // ANCHOR: set_flags
    /// Gives the message exactly these flags; it lands in `cur/` (a message a reader
    /// has looked at no longer belongs in `new/`).
    pub fn set_flags(&self, message: &mut Message, flags: Flags) -> io::Result<()> {
        let target = self.dir.join(CUR).join(cur_name(&message.id, &flags));
        if target != message.path {
            fs::create_dir_all(self.dir.join(CUR))?;
            match fs::rename(&message.path, &target) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    fs::rename(self.find(&message.id)?, &target)?
                }
                result => result?,
            }
            message.path = target;
        }
        message.flags = flags;
        Ok(())
    }
    // ANCHOR_END: set_flags

    /// Sets one flag (and moves the message to `cur/`).
    pub fn add_flag(&self, message: &mut Message, flag: Flag) -> io::Result<()> {
        let mut flags = message.flags.clone();
        flags.insert(flag);
        self.set_flags(message, flags)
    }

    /// Clears one flag (and moves the message to `cur/`).
    pub fn remove_flag(&self, message: &mut Message, flag: Flag) -> io::Result<()> {
        let mut flags = message.flags.clone();
        flags.remove(flag);
        self.set_flags(message, flags)
    }

    /// Moves the message from `new/` to `cur/`, flags unchanged.
    pub fn move_to_cur(&self, message: &mut Message) -> io::Result<()> {
        let flags = message.flags.clone();
        self.set_flags(message, flags)
    }

    /// Removes the message. One that is already gone (another reader took it) counts
    /// as removed. Call [`Folder::sync`] after the last one to make removals durable.
    pub fn delete(&self, message: &Message) -> io::Result<()> {
        let gone = |e: &io::Error| e.kind() == io::ErrorKind::NotFound;
        match fs::remove_file(&message.path) {
            Err(e) if gone(&e) => match self.find(&message.id) {
                Ok(path) => fs::remove_file(path),
                Err(e) if gone(&e) => Ok(()),
                Err(e) => Err(e),
            },
            result => result,
        }
    }

    /// Makes renames and removals durable: fsyncs `new/` and `cur/`.
    pub fn sync(&self) -> io::Result<()> {
        for sub in [NEW, CUR] {
            match sync_dir(&self.dir.join(sub)) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                result => result?,
            }
        }
        Ok(())
    }

    /// Where the message with this id is now.
    fn find(&self, id: &str) -> io::Result<PathBuf> {
        for sub in [NEW, CUR] {
            for path in files(&self.dir.join(sub))? {
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if split_name(name).0 == id {
                    return Ok(path);
                }
            }
        }
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("message {id} is no longer in the mailbox"),
        ))
    }
}

/// The messages in one of `new/` or `cur/`: plain files whose names do not start with
/// a dot. A directory that does not exist yet holds none.
fn files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in super::entries(dir)? {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::id::MessageId;
    use crate::store::maildir::Maildir;
    use crate::store::testing::{mailbox, maildir_with};
    use std::io::Write;
    use std::sync::Arc;
    use std::time::Duration;
    use tempfile::TempDir;

    /// Delivers `text` to `user` the way SMTP does; returns the start of the file's
    /// name (the Maildir may add to it, as exercise 11 does with `,S=<size>`).
    fn deliver(maildir: &Maildir, user: &str, text: &[u8]) -> String {
        let id = MessageId::new();
        let mut delivery = maildir.begin(&id, &[mailbox(user)]).unwrap();
        delivery.write_all(text).unwrap();
        delivery.commit().unwrap();
        id.file_name("mx")
    }

    /// `user`'s folder in a new Maildir root holding `files` (as `maildir_with` puts
    /// them), and the folder's messages.
    fn folder_with(user: &str, files: &[(&str, &str, &[u8])]) -> (TempDir, Folder, Vec<Message>) {
        let root = maildir_with(user, files);
        let folder = Folder::open(root.path(), &mailbox(user));
        let messages = folder.list().unwrap();
        (root, folder, messages)
    }

    fn ids(folder: &Folder) -> Vec<String> {
        folder
            .list()
            .unwrap()
            .iter()
            .map(|m| m.id().to_string())
            .collect()
    }

    #[test]
    fn ids_stay_the_same_across_flags_and_the_move_to_cur() {
        let root = tempfile::tempdir().unwrap();
        let maildir = Maildir::open(root.path(), "mx").unwrap();
        let first = deliver(&maildir, "alice", b"one\r\n");
        let second = deliver(&maildir, "alice", b"two\r\n");
        let folder = Folder::open(root.path(), &mailbox("alice"));
        // The id is the unique name the Maildir gave the file, oldest first.
        let listed = ids(&folder);
        assert_eq!(listed.len(), 2);
        assert!(listed[0].starts_with(&first), "{listed:?}");
        assert!(listed[1].starts_with(&second), "{listed:?}");
        let (first, second) = (listed[0].clone(), listed[1].clone());

        let mut messages = folder.list().unwrap();
        assert!(messages
            .iter()
            .all(|m| m.is_new() && m.flags() == &Flags::new()));
        assert_eq!(messages[0].octets(), 5);
        folder.move_to_cur(&mut messages[1]).unwrap();
        folder.add_flag(&mut messages[0], Flag::Seen).unwrap();
        folder.add_flag(&mut messages[0], Flag::Replied).unwrap();
        assert_eq!(ids(&folder), [first.clone(), second.clone()]);

        let cur = root.path().join("localhost/alice/cur");
        assert!(cur.join(format!("{first}:2,RS")).is_file());
        assert!(cur.join(format!("{second}:2,")).is_file());
        assert!(fs::read_dir(root.path().join("localhost/alice/new"))
            .unwrap()
            .next()
            .is_none());
        assert_eq!(folder.read(&messages[0]).unwrap(), b"one\r\n");
    }

    #[test]
    fn flags_round_trip_through_the_file_name() {
        let root = maildir_with("bob", &[("cur", "1.M1P1Q1.h:2,FS", b"x")]);
        let folder = Folder::open(root.path(), &mailbox("bob"));
        let mut message = folder.list().unwrap().remove(0);
        assert_eq!(message.flags().to_string(), "FS");
        assert!(!message.is_new());

        let mut flags = Flags::new();
        for flag in [Flag::Trashed, Flag::Draft, Flag::Passed] {
            flags.insert(flag);
        }
        folder.set_flags(&mut message, flags.clone()).unwrap();
        let again = folder.list().unwrap().remove(0);
        assert_eq!(again.flags(), &flags);
        assert_eq!(again.flags().to_string(), "DPT");
        assert_eq!(again, message);

        folder.remove_flag(&mut message, Flag::Trashed).unwrap();
        assert_eq!(folder.list().unwrap()[0].flags().to_string(), "DP");
        // Setting what is already set renames nothing.
        folder.add_flag(&mut message, Flag::Draft).unwrap();
        assert!(root
            .path()
            .join("localhost/bob/cur/1.M1P1Q1.h:2,DP")
            .is_file());
    }

    #[test]
    fn delete_removes_and_a_message_already_gone_is_deleted() {
        let (_root, folder, messages) = folder_with(
            "carol",
            &[("new", "1.M1P1Q1.h", b"a"), ("new", "2.M1P1Q2.h", b"b")],
        );
        folder.delete(&messages[0]).unwrap();
        folder.delete(&messages[0]).unwrap();
        folder.sync().unwrap();
        assert_eq!(ids(&folder), ["2.M1P1Q2.h"]);
    }

    #[test]
    fn sync_fsyncs_new_and_cur() {
        let (root, folder, messages) = folder_with(
            "erin",
            &[("new", "1.M1P1Q1.h", b"a"), ("cur", "2.M1P1Q2.h:2,S", b"b")],
        );
        for message in messages {
            folder.delete(&message).unwrap();
        }
        folder.sync().unwrap();
        // The witness is shared by every test in this process: look for our own.
        let dir = root.path().join("localhost/erin");
        let events = crate::store::witness::events();
        for sub in [NEW, CUR] {
            let done = crate::store::witness::Event::DirSyncDone(dir.join(sub));
            assert!(events.contains(&done), "{sub}/ was not fsynced");
        }
    }

    #[test]
    fn delete_reports_what_it_could_not_do() {
        let (root, folder, mut messages) = folder_with("frank", &[("new", "1.M1P1Q1.h", b"a")]);
        let dir = root.path().join("localhost/frank");
        let message = messages.remove(0);
        // Another program put a directory where the message was: not removed.
        fs::remove_file(dir.join("new/1.M1P1Q1.h")).unwrap();
        fs::create_dir(dir.join("new/1.M1P1Q1.h")).unwrap();
        assert!(
            folder.delete(&message).is_err(),
            "a directory is not removed"
        );
        // The message is gone from new/, and cur/ cannot be looked in: not "gone".
        fs::remove_dir(dir.join("new/1.M1P1Q1.h")).unwrap();
        fs::write(dir.join("cur"), b"not a directory").unwrap();
        assert!(
            folder.delete(&message).is_err(),
            "cur/ could not be searched"
        );
    }

    #[test]
    fn a_message_renamed_by_another_reader_is_found_by_its_id() {
        let root = maildir_with("dave", &[("new", "1.M1P1Q1.h", b"hello")]);
        let folder = Folder::open(root.path(), &mailbox("dave"));
        let mut message = folder.list().unwrap().remove(0);
        // A local mail reader marks it seen behind our back.
        let dir = root.path().join("localhost/dave");
        fs::create_dir(dir.join("cur")).unwrap();
        fs::rename(dir.join("new/1.M1P1Q1.h"), dir.join("cur/1.M1P1Q1.h:2,S")).unwrap();
        assert_eq!(folder.read(&message).unwrap(), b"hello");
        folder.add_flag(&mut message, Flag::Flagged).unwrap();
        assert!(dir.join("cur/1.M1P1Q1.h:2,F").is_file());
        folder.delete(&message).unwrap();
        assert!(folder.list().unwrap().is_empty());
    }

    #[test]
    fn a_mailbox_without_mail_is_empty_and_nothing_is_created() {
        let root = tempfile::tempdir().unwrap();
        let folder = Folder::open(root.path(), &mailbox("nobody"));
        assert!(folder.list().unwrap().is_empty());
        folder.sync().unwrap();
        assert!(!root.path().join("localhost").exists());
    }

    #[test]
    fn every_delivery_rings_the_new_mail_bell() {
        let root = tempfile::tempdir().unwrap();
        let maildir = Arc::new(Maildir::open(root.path(), "mx").unwrap());
        let seen = maildir.bell().rings();
        let sender = {
            let maildir = Arc::clone(&maildir);
            std::thread::spawn(move || deliver(&maildir, "erin", b"hi\r\n"))
        };
        // Wait as an IMAP IDLE would, then look.
        let now = maildir.bell().wait_past(seen, Duration::from_secs(10));
        assert_eq!(now, seen + 1);
        let id = sender.join().unwrap();
        let folder = Folder::open(root.path(), &mailbox("erin"));
        let listed = ids(&folder);
        assert_eq!(listed.len(), 1);
        assert!(listed[0].starts_with(&id), "{listed:?}");
        // A delivery that fails rings nothing.
        let mut delivery = maildir
            .begin(&MessageId::new(), &[mailbox("erin")])
            .unwrap();
        delivery.write_all(b"x").unwrap();
        drop(delivery);
        assert_eq!(maildir.bell().rings(), now);
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
}
