//! IMAP's folders kept in the Maildir that SMTP delivers to: INBOX is the user's
//! mailbox, the other folders are Maildir++ folders beside it
//! ([`crate::store::maildirpp`]), and flags are the letters after `:2,`
//! ([`crate::store::flags`]).
//!
//! **UIDs** (RFC 3501 §2.3.1.1) are IMAP's own: Maildir names are not numbers. Each
//! folder keeps a UID list, `postie-uidlist`, written durably at every change:
//!
//! ```text
//! postie-uidlist 1 V1796000000 N4
//! 1 1795829745.M399954P9554Q1.vm
//! 3 1795829790.M12P9554Q2.vm
//! ```
//!
//! `V` is the UIDVALIDITY (the time the list was first made), `N` the next UID; each
//! line gives a message's UID and its Maildir id, which stays the same when POP3 or
//! another reader moves it to `cur/` or changes its flags. A message found in the
//! folder and not in the list (SMTP delivered it) gets the next UID, in delivery
//! order; a line whose message has gone is dropped. So UIDs survive restarts, and POP3
//! and IMAP can share a mailbox. Lost list: a new UIDVALIDITY, which tells clients to
//! forget what they cached, as §2.3.1.1 asks.
//!
//! Sessions in this process take a lock per folder while they read and write the
//! list, so two of them never give one message two UIDs.
//!
//! `\Recent` is Maildir's `new/`: the first session to select the folder moves the
//! messages to `cur/` and reports them recent; later sessions do not. INTERNALDATE is
//! the delivery time in the Maildir name (postie's, Dovecot's and qmail's names begin
//! with it), so APPEND's date argument is not kept.
//!
//! Left out: keywords (Dovecot's lowercase letters are kept untouched, not shown),
//! locking against other programs that write the tree, an index of sizes and dates.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use super::folders::{
    self, Flags, FolderError, FolderInfo, Folders, MessageInfo, Result, Snapshot,
};
use super::utf7;
use crate::store::flags::{Flag, Flags as Letters};
use crate::store::folder::{Folder, Message};
use crate::store::maildir::MailboxPath;
use crate::store::maildirpp::{self, Tree};

/// The UID list's file name, in each folder's directory.
const UID_LIST: &str = "postie-uidlist";
/// The subscriptions (RFC 3501 §6.3.6), in INBOX's directory: one name a line.
const SUBSCRIPTIONS: &str = "postie-subscriptions";

// ANCHOR: letters
/// IMAP's system flags and Maildir's letters (RFC 3501 §2.3.2, the Maildir spec).
const LETTERS: [(Flags, Flag); 5] = [
    (Flags::SEEN, Flag::Seen),
    (Flags::ANSWERED, Flag::Replied),
    (Flags::FLAGGED, Flag::Flagged),
    (Flags::DELETED, Flag::Trashed),
    (Flags::DRAFT, Flag::Draft),
];

fn from_letters(letters: &Letters) -> Flags {
    LETTERS
        .iter()
        .filter(|(_, letter)| letters.contains(*letter))
        .fold(Flags::empty(), |flags, (flag, _)| flags.union(*flag))
}

/// IMAP flags onto the letters a message has: other letters (P, keywords) are kept.
fn onto_letters(flags: Flags, mut letters: Letters) -> Letters {
    for (flag, letter) in LETTERS {
        if flags.contains(flag) {
            letters.insert(letter);
        } else {
            letters.remove(letter);
        }
    }
    letters
}
// ANCHOR_END: letters

// ANCHOR: uid_list
/// One folder's UID list.
#[derive(Debug, Clone, PartialEq, Eq)]
struct UidList {
    validity: u32,
    next: u32,
    /// (UID, Maildir id), UIDs ascending.
    entries: Vec<(u32, String)>,
}

impl UidList {
    fn fresh() -> UidList {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_secs());
        UidList {
            validity: u32::try_from(now).unwrap_or(u32::MAX).max(1),
            next: 1,
            entries: Vec::new(),
        }
    }

    /// Reads a list; anything unreadable gives `None` (and a new UIDVALIDITY).
    fn parse(text: &[u8]) -> Option<UidList> {
        let text = std::str::from_utf8(text).ok()?;
        let mut lines = text.lines();
        let mut header = lines.next()?.split(' ');
        if header.next()? != UID_LIST || header.next()? != "1" {
            return None;
        }
        let validity = header.next()?.strip_prefix('V')?.parse().ok()?;
        let next = header.next()?.strip_prefix('N')?.parse().ok()?;
        let mut entries = Vec::new();
        for line in lines {
            let (uid, id) = line.split_once(' ')?;
            let uid: u32 = uid.parse().ok()?;
            if uid >= next || entries.last().is_some_and(|&(last, _)| last >= uid) {
                return None;
            }
            entries.push((uid, id.to_string()));
        }
        Some(UidList {
            validity,
            next,
            entries,
        })
    }

    fn to_text(&self) -> String {
        let mut text = format!("{UID_LIST} 1 V{} N{}\n", self.validity, self.next);
        for (uid, id) in &self.entries {
            text.push_str(&format!("{uid} {id}\n"));
        }
        text
    }

    /// Brings the list up to date with the folder's messages (oldest first): drops
    /// the gone, numbers the new. True if it changed.
    fn update(&mut self, messages: &[Message]) -> bool {
        let present: HashMap<&str, ()> = messages.iter().map(|m| (m.id(), ())).collect();
        let before = self.entries.len();
        self.entries
            .retain(|(_, id)| present.contains_key(id.as_str()));
        let mut changed = self.entries.len() != before;
        let known: HashMap<String, ()> = self
            .entries
            .iter()
            .map(|(_, id)| (id.clone(), ()))
            .collect();
        for m in messages {
            if !known.contains_key(m.id()) {
                self.entries.push((self.next, m.id().to_string()));
                self.next += 1;
                changed = true;
            }
        }
        changed
    }
}
// ANCHOR_END: uid_list

/// Counts the Maildir's deliveries (`|| storage.maildir.bell().rings()`).
pub type Deliveries = Arc<dyn Fn() -> u64 + Send + Sync>;

/// One lock per folder directory, for every session in this process.
fn folder_lock(dir: &Path) -> Arc<Mutex<()>> {
    static LOCKS: OnceLock<Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>> = OnceLock::new();
    let mut locks = LOCKS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    locks.entry(dir.to_path_buf()).or_default().clone()
}

fn lock(mutex: &Mutex<()>) -> MutexGuard<'_, ()> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// One user's folders in the Maildir.
pub struct MaildirFolders {
    tree: Tree,
    /// How many deliveries the Maildir has made (its bell's rings): IDLE's news.
    deliveries: Option<Deliveries>,
    /// The messages of each folder as last listed, by UID.
    cache: Mutex<HashMap<String, Arc<HashMap<u32, Message>>>>,
}

type Stamp = (std::time::SystemTime, std::time::SystemTime);

/// A folder as last listed by any session: the stamp it was taken under, the snapshot,
/// and its messages by UID. While the stamp holds, nothing changed, and listing 10,000
/// files again is saved.
struct Listed {
    stamp: Stamp,
    snapshot: Snapshot,
    by_uid: Arc<HashMap<u32, Message>>,
}

/// Every folder's last listing, for every session in this process, by directory.
fn listings() -> MutexGuard<'static, HashMap<PathBuf, Arc<Listed>>> {
    static LISTINGS: OnceLock<Mutex<HashMap<PathBuf, Arc<Listed>>>> = OnceLock::new();
    LISTINGS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

impl MaildirFolders {
    /// Opens (and on first use creates) the user's INBOX and the special folders
    /// (RFC 6154: Drafts, Sent, Trash, Junk).
    pub fn open(
        root: &Path,
        mailbox: &MailboxPath,
        hostname: &str,
        deliveries: Option<Deliveries>,
    ) -> io::Result<MaildirFolders> {
        let tree = Tree::open(root, mailbox, hostname);
        tree.inbox()?;
        for (name, _) in folders::SPECIAL_FOLDERS {
            if !tree.exists(name) {
                match tree.create(name) {
                    Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
                    _ => {}
                }
            }
        }
        Ok(MaildirFolders {
            tree,
            deliveries,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The folder a name (UTF-8) names, if it exists.
    fn folder(&self, name: &str) -> Result<Folder> {
        if name == "INBOX" {
            return Ok(self.tree.inbox()?);
        }
        let encoded = utf7::encode(name);
        if !self.tree.exists(&encoded) {
            return Err(FolderError::NoSuchFolder);
        }
        self.tree.folder(&encoded).ok_or(FolderError::NoSuchFolder)
    }

    fn load(folder: &Folder) -> io::Result<UidList> {
        Ok(maildirpp::read_file(folder, UID_LIST)?
            .and_then(|text| UidList::parse(&text))
            .unwrap_or_else(UidList::fresh))
    }

    fn cache(&self) -> MutexGuard<'_, HashMap<String, Arc<HashMap<u32, Message>>>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The message with this UID, as last listed (listing again if needed).
    fn message(&self, name: &str, uid: u32) -> Result<Message> {
        if let Some(m) = self.cache().get(name).and_then(|c| c.get(&uid)) {
            return Ok(m.clone());
        }
        self.snapshot(name, false)?;
        self.cache()
            .get(name)
            .and_then(|c| c.get(&uid))
            .cloned()
            .ok_or(FolderError::NoSuchMessage)
    }

    /// Adds messages to a folder and numbers them; returns (UIDVALIDITY, UIDs).
    fn add(&self, name: &str, messages: &[(Vec<u8>, Flags)]) -> Result<(u32, Vec<u32>)> {
        let folder = self.folder(name)?;
        let mutex = folder_lock(folder.dir());
        let _guard = lock(&mutex);
        let mut list = MaildirFolders::load(&folder)?;
        // Number what is already there first, so new messages get the highest UIDs.
        list.update(&folder.list()?);
        let mut uids = Vec::new();
        for (text, flags) in messages {
            let id = self
                .tree
                .add(&folder, text, &onto_letters(*flags, Letters::new()))?;
            list.entries.push((list.next, id));
            uids.push(list.next);
            list.next += 1;
        }
        maildirpp::replace_file(&folder, UID_LIST, list.to_text().as_bytes())?;
        Ok((list.validity, uids))
    }
}

/// INTERNALDATE: the delivery time at the start of a Maildir name.
fn delivery_time(id: &str) -> i64 {
    let digits: String = id.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or(0)
}

fn not_found_is(e: io::Error, error: FolderError) -> FolderError {
    match e.kind() {
        io::ErrorKind::NotFound => error,
        io::ErrorKind::AlreadyExists => FolderError::AlreadyExists,
        io::ErrorKind::InvalidInput => FolderError::Cannot("Not a name postie can keep".into()),
        _ => FolderError::Io(e),
    }
}

impl Folders for MaildirFolders {
    fn list(&self) -> Result<Vec<FolderInfo>> {
        let names: Vec<String> = self
            .tree
            .names()?
            .iter()
            .filter_map(|raw| utf7::decode(raw.as_bytes()))
            .collect();
        let info = |name: &str| FolderInfo {
            name: name.to_string(),
            special_use: folders::special_use(name),
            has_children: names
                .iter()
                .any(|other| other.starts_with(&format!("{name}{}", folders::SEPARATOR))),
        };
        let mut all = vec![info("INBOX")];
        all.extend(names.iter().map(|n| info(n)));
        Ok(all)
    }

    fn create(&self, name: &str) -> Result<()> {
        self.tree
            .create(&utf7::encode(name))
            .map_err(|e| not_found_is(e, FolderError::NoSuchFolder))
    }

    fn delete(&self, name: &str) -> Result<()> {
        if name == "INBOX" {
            return Err(FolderError::Cannot("INBOX cannot be deleted".into()));
        }
        self.cache().remove(name);
        self.tree
            .delete(&utf7::encode(name))
            .map_err(|e| not_found_is(e, FolderError::NoSuchFolder))
    }

    fn rename(&self, from: &str, to: &str) -> Result<()> {
        self.cache().remove(from);
        self.tree
            .rename(&utf7::encode(from), &utf7::encode(to))
            .map_err(|e| not_found_is(e, FolderError::NoSuchFolder))
    }

    fn subscriptions(&self) -> Result<Vec<String>> {
        let inbox = self.tree.inbox()?;
        let text = maildirpp::read_file(&inbox, SUBSCRIPTIONS)?.unwrap_or_default();
        Ok(String::from_utf8_lossy(&text)
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect())
    }

    fn subscribe(&self, name: &str, subscribed: bool) -> Result<()> {
        let inbox = self.tree.inbox()?;
        let mutex = folder_lock(inbox.dir());
        let _guard = lock(&mutex);
        let mut names = self.subscriptions()?;
        names.retain(|n| n != name);
        if subscribed {
            names.push(name.to_string());
        }
        let text: String = names.iter().map(|n| format!("{n}\n")).collect();
        Ok(maildirpp::replace_file(
            &inbox,
            SUBSCRIPTIONS,
            text.as_bytes(),
        )?)
    }

    // ANCHOR: snapshot
    fn snapshot(&self, name: &str, claim_recent: bool) -> Result<Snapshot> {
        let folder = self.folder(name)?;
        let mutex = folder_lock(folder.dir());
        let _guard = lock(&mutex);
        // Unchanged since the last look (and nothing there was recent): the same answer.
        let stamp = maildirpp::stamp(&folder)?;
        let listed = listings().get(folder.dir()).cloned();
        if let (Some(stamp), Some(listed)) = (stamp, listed) {
            if stamp == listed.stamp && listed.snapshot.messages.iter().all(|m| !m.recent) {
                self.cache().insert(name.to_string(), listed.by_uid.clone());
                return Ok(listed.snapshot.clone());
            }
        }
        let mut messages = folder.list()?;
        let mut list = MaildirFolders::load(&folder)?;
        if list.update(&messages) {
            maildirpp::replace_file(&folder, UID_LIST, list.to_text().as_bytes())?;
        }
        let uids: HashMap<&str, u32> = list
            .entries
            .iter()
            .map(|(uid, id)| (id.as_str(), *uid))
            .collect();
        let mut infos = Vec::with_capacity(messages.len());
        let mut by_uid = HashMap::with_capacity(messages.len());
        for m in &mut messages {
            let Some(&uid) = uids.get(m.id()) else {
                continue;
            };
            let recent = m.is_new();
            // §2.3.2: the first session to see a message is the one told it is recent.
            if recent && claim_recent {
                if let Err(e) = folder.move_to_cur(m) {
                    log::warn!("IMAP: cannot move {} to cur: {e}", m.id());
                }
            }
            infos.push(MessageInfo {
                uid,
                flags: from_letters(m.flags()),
                size: m.octets(),
                internal_date: delivery_time(m.id()),
                recent,
            });
            by_uid.insert(uid, m.clone());
        }
        infos.sort_by_key(|m| m.uid);
        let by_uid = Arc::new(by_uid);
        self.cache().insert(name.to_string(), by_uid.clone());
        let snapshot = Snapshot {
            uid_validity: list.validity,
            uid_next: list.next,
            messages: infos,
        };
        // Taken before the listing: a change during it moves the times on, and the next
        // look lists again.
        match stamp {
            Some(stamp) => {
                let listed = Listed {
                    stamp,
                    snapshot: snapshot.clone(),
                    by_uid,
                };
                listings().insert(folder.dir().to_path_buf(), Arc::new(listed));
            }
            None => {
                listings().remove(folder.dir());
            }
        }
        Ok(snapshot)
    }
    // ANCHOR_END: snapshot

    fn read(&self, name: &str, uid: u32) -> Result<Vec<u8>> {
        let folder = self.folder(name)?;
        let message = self.message(name, uid)?;
        folder
            .read(&message)
            .map_err(|e| not_found_is(e, FolderError::NoSuchMessage))
    }

    fn set_flags(&self, name: &str, uid: u32, flags: Flags) -> Result<()> {
        let folder = self.folder(name)?;
        let mut message = self.message(name, uid)?;
        let letters = onto_letters(flags, message.flags().clone());
        folder
            .set_flags(&mut message, letters)
            .map_err(|e| not_found_is(e, FolderError::NoSuchMessage))?;
        if let Some(cached) = self.cache().get_mut(name) {
            Arc::make_mut(cached).insert(uid, message);
        }
        Ok(())
    }

    fn expunge(&self, name: &str, uids: &[u32]) -> Result<()> {
        if uids.is_empty() {
            return Ok(());
        }
        let folder = self.folder(name)?;
        for &uid in uids {
            match self.message(name, uid) {
                Ok(message) => folder.delete(&message)?,
                Err(FolderError::NoSuchMessage) => {}
                Err(e) => return Err(e),
            }
            if let Some(cached) = self.cache().get_mut(name) {
                Arc::make_mut(cached).remove(&uid);
            }
        }
        Ok(folder.sync()?)
    }

    fn append(
        &self,
        name: &str,
        message: &[u8],
        flags: Flags,
        _date: Option<i64>,
    ) -> Result<(u32, u32)> {
        let (validity, uids) = self.add(name, &[(message.to_vec(), flags)])?;
        Ok((validity, uids.first().copied().unwrap_or(0)))
    }

    fn copy(&self, from: &str, uids: &[u32], to: &str) -> Result<(u32, Vec<u32>)> {
        // The target must exist before anything is read (TRYCREATE).
        self.folder(to)?;
        let folder = self.folder(from)?;
        let mut copies = Vec::with_capacity(uids.len());
        for &uid in uids {
            let message = self.message(from, uid)?;
            let text = folder
                .read(&message)
                .map_err(|e| not_found_is(e, FolderError::NoSuchMessage))?;
            copies.push((text, from_letters(message.flags())));
        }
        self.add(to, &copies)
    }

    fn changes(&self) -> u64 {
        self.deliveries.as_ref().map_or(0, |count| count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::id::MessageId;
    use crate::store::mailbox::{domain_name, mailbox_name};
    use crate::store::maildir::Maildir;
    use std::io::Write;

    fn alice() -> MailboxPath {
        MailboxPath {
            domain: domain_name("localhost").unwrap(),
            mailbox: mailbox_name("alice").unwrap(),
        }
    }

    fn deliver(maildir: &Maildir, text: &[u8]) {
        let mut delivery = maildir.begin(&MessageId::new(), &[alice()]).unwrap();
        delivery.write_all(text).unwrap();
        delivery.commit().unwrap();
    }

    #[test]
    fn uid_lists_round_trip_and_refuse_nonsense() {
        let list = UidList {
            validity: 7,
            next: 5,
            entries: vec![(1, "a".into()), (4, "b".into())],
        };
        assert_eq!(UidList::parse(list.to_text().as_bytes()), Some(list));
        for bad in [
            &b""[..],
            b"postie-uidlist 2 V1 N1\n",
            b"postie-uidlist 1 V1 N2\n3 a\n",
            b"postie-uidlist 1 V1 N9\n3 a\n2 b\n",
        ] {
            assert_eq!(UidList::parse(bad), None);
        }
    }

    #[test]
    fn uids_survive_a_restart_and_pop3_moving_mail() {
        let root = tempfile::tempdir().unwrap();
        let maildir = Maildir::open(root.path(), "mx").unwrap();
        deliver(&maildir, b"Subject: one\r\n\r\n1\r\n");
        deliver(&maildir, b"Subject: two\r\n\r\n2\r\n");
        let folders = MaildirFolders::open(root.path(), &alice(), "mx", None).unwrap();
        let first = folders.snapshot("INBOX", true).unwrap();
        assert_eq!(
            first.messages.iter().map(|m| m.uid).collect::<Vec<_>>(),
            [1, 2]
        );
        assert!(first.messages.iter().all(|m| m.recent));
        folders
            .set_flags("INBOX", 2, Flags::SEEN.union(Flags::FLAGGED))
            .unwrap();
        folders.expunge("INBOX", &[1]).unwrap();
        deliver(&maildir, b"Subject: three\r\n\r\n3\r\n");
        // A new process: the same UIDs, the same UIDVALIDITY, not recent any more.
        let again = MaildirFolders::open(root.path(), &alice(), "mx", None).unwrap();
        let second = again.snapshot("INBOX", false).unwrap();
        assert_eq!(second.uid_validity, first.uid_validity);
        assert_eq!(second.uid_next, 4);
        let summary: Vec<(u32, Flags, bool)> = second
            .messages
            .iter()
            .map(|m| (m.uid, m.flags, m.recent))
            .collect();
        assert_eq!(
            summary,
            [
                (2, Flags::SEEN.union(Flags::FLAGGED), false),
                (3, Flags::empty(), true)
            ]
        );
        assert_eq!(
            again.read("INBOX", 3).unwrap(),
            b"Subject: three\r\n\r\n3\r\n"
        );
    }

    /// Makes INBOX look as if nothing had happened there for an hour.
    fn settle(root: &Path) {
        settle_for(root, 3600);
    }

    /// Makes INBOX look as if nothing had happened there for `seconds`.
    fn settle_for(root: &Path, seconds: u64) {
        let then = std::time::SystemTime::now() - std::time::Duration::from_secs(seconds);
        let inbox = Folder::open(root, &alice());
        maildirpp::backdate(&inbox, then).unwrap();
    }

    #[test]
    fn a_remembered_snapshot_is_dropped_when_the_folder_changes() {
        let root = tempfile::tempdir().unwrap();
        let maildir = Maildir::open(root.path(), "mx").unwrap();
        deliver(&maildir, b"Subject: one\r\n\r\n1\r\n");
        let mine = MaildirFolders::open(root.path(), &alice(), "mx", None).unwrap();
        let theirs = MaildirFolders::open(root.path(), &alice(), "mx", None).unwrap();
        mine.snapshot("INBOX", true).unwrap();
        settle(root.path());
        let quiet = mine.snapshot("INBOX", false).unwrap();
        assert_eq!(
            mine.snapshot("INBOX", false).unwrap(),
            quiet,
            "nothing changed"
        );
        // Another session changes a flag, and the folder settles again: a new look.
        theirs.set_flags("INBOX", 1, Flags::SEEN).unwrap();
        settle_for(root.path(), 1800);
        let seen = mine.snapshot("INBOX", false).unwrap();
        assert_eq!(seen.messages[0].flags, Flags::SEEN);
        // Another session flags the message (a rename), another delivery arrives.
        theirs.set_flags("INBOX", 1, Flags::FLAGGED).unwrap();
        deliver(&maildir, b"Subject: two\r\n\r\n2\r\n");
        let now = mine.snapshot("INBOX", false).unwrap();
        assert_eq!(now.messages.len(), 2);
        assert_eq!(now.messages[0].flags, Flags::FLAGGED);
        settle(root.path());
        theirs.expunge("INBOX", &[1]).unwrap();
        assert_eq!(mine.snapshot("INBOX", false).unwrap().messages.len(), 1);
    }

    #[test]
    fn folders_append_copy_and_names_in_utf7_on_disk() {
        let root = tempfile::tempdir().unwrap();
        let maildir = Maildir::open(root.path(), "mx").unwrap();
        deliver(&maildir, b"Subject: hi\r\n\r\nhello\r\n");
        let folders = MaildirFolders::open(root.path(), &alice(), "mx", None).unwrap();
        folders.create("Café").unwrap();
        assert!(matches!(
            folders.create("Café"),
            Err(FolderError::AlreadyExists)
        ));
        assert!(root.path().join("localhost/alice/.Caf&AOk-/cur").is_dir());
        let names: Vec<String> = folders
            .list()
            .unwrap()
            .into_iter()
            .map(|f| f.name)
            .collect();
        assert_eq!(
            names,
            ["INBOX", "Caf\u{e9}", "Drafts", "Junk", "Sent", "Trash"]
        );
        folders.snapshot("INBOX", false).unwrap();
        let (validity, uids) = folders.copy("INBOX", &[1], "Café").unwrap();
        assert_eq!(uids, [1]);
        let (v2, uid) = folders
            .append("Café", b"Subject: x\r\n\r\ny\r\n", Flags::SEEN, None)
            .unwrap();
        assert_eq!((v2, uid), (validity, 2));
        let cafe = folders.snapshot("Café", false).unwrap();
        assert_eq!(cafe.messages.len(), 2);
        assert_eq!(cafe.messages[1].flags, Flags::SEEN);
        assert!(matches!(
            folders.snapshot("Nope", false),
            Err(FolderError::NoSuchFolder)
        ));
        folders.subscribe("Café", true).unwrap();
        assert_eq!(folders.subscriptions().unwrap(), ["Café"]);
        folders.rename("Café", "Tea").unwrap();
        assert_eq!(
            folders.snapshot("Tea", false).unwrap().uid_validity,
            validity
        );
        folders.delete("Tea").unwrap();
        assert!(matches!(
            folders.delete("INBOX"),
            Err(FolderError::Cannot(_))
        ));
    }
    #[test]
    fn copies_of_several_messages_are_numbered_in_turn() {
        let root = tempfile::tempdir().unwrap();
        let maildir = Maildir::open(root.path(), "mx").unwrap();
        let before = unix_now();
        for n in 1..=3 {
            deliver(&maildir, format!("Subject: {n}\r\n\r\n{n}\r\n").as_bytes());
        }
        let folders = MaildirFolders::open(root.path(), &alice(), "mx", None).unwrap();
        let inbox = folders.snapshot("INBOX", false).unwrap();
        // INTERNALDATE (RFC 3501 §2.3.3) is the delivery time the name begins with.
        assert!(inbox
            .messages
            .iter()
            .all(|m| (before..=unix_now()).contains(&m.internal_date)));
        let (_, uids) = folders.copy("INBOX", &[1, 2, 3], "Trash").unwrap();
        assert_eq!(uids, [1, 2, 3]);
        let (_, uid) = folders
            .append("Trash", b"Subject: 4\r\n\r\n4\r\n", Flags::empty(), None)
            .unwrap();
        assert_eq!(uid, 4);
        let trash = folders.snapshot("Trash", false).unwrap();
        assert_eq!(
            trash.messages.iter().map(|m| m.uid).collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
        assert_eq!(
            folders.read("Trash", 2).unwrap(),
            b"Subject: 2\r\n\r\n2\r\n"
        );
    }

    fn unix_now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    #[test]
    fn the_uid_list_forgets_a_message_removed_behind_its_back() {
        let root = tempfile::tempdir().unwrap();
        let maildir = Maildir::open(root.path(), "mx").unwrap();
        deliver(&maildir, b"Subject: one\r\n\r\n1\r\n");
        deliver(&maildir, b"Subject: two\r\n\r\n2\r\n");
        let folders = MaildirFolders::open(root.path(), &alice(), "mx", None).unwrap();
        folders.snapshot("INBOX", false).unwrap();
        let inbox = Folder::open(root.path(), &alice());
        let on_disk = || {
            let text = maildirpp::read_file(&inbox, UID_LIST).unwrap().unwrap();
            UidList::parse(&text).unwrap()
        };
        assert_eq!(on_disk().entries.len(), 2);
        // Another program (a POP3 client's DELE) removes the first message.
        let first = inbox.list().unwrap().remove(0);
        let new = inbox.dir().join("new");
        // The file's name starts with the id (a Maildir++ writer may add `,S=<size>`).
        let file = std::fs::read_dir(&new)
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .find(|name| name.to_string_lossy().starts_with(first.id()))
            .unwrap();
        std::fs::remove_file(new.join(file)).unwrap();
        let now = folders.snapshot("INBOX", false).unwrap();
        assert_eq!(now.messages.iter().map(|m| m.uid).collect::<Vec<_>>(), [2]);
        let list = on_disk();
        assert_eq!(
            list.entries.iter().map(|(uid, _)| *uid).collect::<Vec<_>>(),
            [2]
        );
        assert_eq!(list.next, 3);
    }

    #[test]
    fn sessions_appending_at_once_get_distinct_uids() {
        // Two sessions of one user, each with its own MaildirFolders: the folder's
        // lock is shared by the process, so neither overwrites the other's UID list.
        let root = tempfile::tempdir().unwrap();
        Maildir::open(root.path(), "mx").unwrap();
        let appender = |n: usize| {
            let root = root.path().to_path_buf();
            std::thread::spawn(move || {
                let folders = MaildirFolders::open(&root, &alice(), "mx", None).unwrap();
                (0..n)
                    .map(|_| {
                        let (_, uid) = folders
                            .append("Sent", b"Subject: x\r\n\r\nx\r\n", Flags::SEEN, None)
                            .unwrap();
                        uid
                    })
                    .collect::<Vec<u32>>()
            })
        };
        let (a, b) = (appender(25), appender(25));
        let mut uids: Vec<u32> = a.join().unwrap();
        uids.extend(b.join().unwrap());
        uids.sort();
        assert_eq!(uids, (1..=50).collect::<Vec<u32>>());
        let folders = MaildirFolders::open(root.path(), &alice(), "mx", None).unwrap();
        let sent = folders.snapshot("Sent", false).unwrap();
        assert_eq!(
            sent.messages.iter().map(|m| m.uid).collect::<Vec<_>>(),
            (1..=50).collect::<Vec<u32>>()
        );
    }

    #[test]
    fn a_look_that_does_not_claim_leaves_recent_alone() {
        // §2.3.2: EXAMINE (and STATUS) look without claiming; the next SELECT is the
        // session told the message is recent, and the only one.
        let root = tempfile::tempdir().unwrap();
        let maildir = Maildir::open(root.path(), "mx").unwrap();
        deliver(&maildir, b"Subject: one\r\n\r\n1\r\n");
        let folders = MaildirFolders::open(root.path(), &alice(), "mx", None).unwrap();
        // Settled, so that a look may be remembered: the claim must not be skipped.
        settle(root.path());
        let recent = |claim: bool| folders.snapshot("INBOX", claim).unwrap().messages[0].recent;
        assert!(recent(false));
        assert!(recent(false));
        assert!(recent(true));
        assert!(!recent(true));
    }

    #[test]
    fn subscriptions_are_a_set() {
        let root = tempfile::tempdir().unwrap();
        Maildir::open(root.path(), "mx").unwrap();
        let folders = MaildirFolders::open(root.path(), &alice(), "mx", None).unwrap();
        for (name, on) in [
            ("Café", true),
            ("Trash", true),
            ("Trash", true),
            ("Café", false),
        ] {
            folders.subscribe(name, on).unwrap();
        }
        assert_eq!(folders.subscriptions().unwrap(), ["Trash"]);
    }

    #[test]
    fn what_the_disk_refuses_reads_as_imap_errors() {
        let root = tempfile::tempdir().unwrap();
        Maildir::open(root.path(), "mx").unwrap();
        let folders = MaildirFolders::open(root.path(), &alice(), "mx", None).unwrap();
        assert!(matches!(
            folders.delete("Nope"),
            Err(FolderError::NoSuchFolder)
        ));
        assert!(matches!(
            folders.rename("Nope", "Other"),
            Err(FolderError::NoSuchFolder)
        ));
        // 100 × "é" is 200 octets of UTF-8, but 269 of modified UTF-7 on disk.
        assert!(matches!(
            folders.create(&"é".repeat(100)),
            Err(FolderError::Cannot(_))
        ));
        // Something already where a special folder would be: opening still works, as
        // when another session makes the folder at the same moment.
        let fresh = tempfile::tempdir().unwrap();
        let inbox = fresh.path().join("localhost/alice");
        std::fs::create_dir_all(&inbox).unwrap();
        std::fs::write(inbox.join(".Drafts"), b"").unwrap();
        assert!(MaildirFolders::open(fresh.path(), &alice(), "mx", None).is_ok());
    }
}
