//! [`Memory`]: IMAP folders kept in memory, for the tests of everything above the disk
//! (the IMAP session and its mailbox view); the real store is [`crate::imap::maildir`].
//! Compiled for tests only.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::*;

/// Folders in memory, for tests of everything above the disk.
#[derive(Debug, Default)]
pub struct Memory {
    inner: Mutex<MemoryInner>,
}

#[derive(Debug, Default)]
struct MemoryInner {
    folders: BTreeMap<String, MemoryFolder>,
    subscribed: Vec<String>,
    next_validity: u32,
    changes: u64,
}

#[derive(Debug, Default)]
struct MemoryFolder {
    uid_validity: u32,
    uid_next: u32,
    /// uid → (info, text)
    messages: BTreeMap<u32, (MessageInfo, Vec<u8>)>,
}

impl Memory {
    /// INBOX and the special folders, empty.
    pub fn new() -> Memory {
        let memory = Memory::default();
        for name in std::iter::once("INBOX").chain(SPECIAL_FOLDERS.iter().map(|(n, _)| *n)) {
            let _ = memory.create(name);
        }
        memory
    }

    /// A message arrives as SMTP would deliver it (recent, no flags).
    pub fn deliver(&self, name: &str, message: &[u8], date: i64) -> u32 {
        let mut inner = self.lock();
        inner.changes += 1;
        let Some(folder) = inner.folders.get_mut(name) else {
            return 0;
        };
        let uid = folder.uid_next;
        folder.uid_next += 1;
        let info = MessageInfo {
            uid,
            flags: Flags::empty(),
            size: message.len() as u64,
            internal_date: date,
            recent: true,
        };
        folder.messages.insert(uid, (info, message.to_vec()));
        uid
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Folders for Memory {
    fn list(&self) -> Result<Vec<FolderInfo>> {
        let inner = self.lock();
        let mut names: Vec<&String> = inner.folders.keys().collect();
        names.sort_by_key(|n| (n.as_str() != "INBOX", n.as_str()));
        Ok(names
            .iter()
            .map(|name| FolderInfo {
                name: name.to_string(),
                special_use: special_use(name),
                has_children: inner
                    .folders
                    .keys()
                    .any(|other| other.starts_with(&format!("{name}{SEPARATOR}"))),
            })
            .collect())
    }

    fn create(&self, name: &str) -> Result<()> {
        let mut inner = self.lock();
        if inner.folders.contains_key(name) {
            return Err(FolderError::AlreadyExists);
        }
        inner.next_validity += 1;
        let uid_validity = inner.next_validity;
        inner.folders.insert(
            name.to_string(),
            MemoryFolder {
                uid_validity,
                uid_next: 1,
                messages: BTreeMap::new(),
            },
        );
        Ok(())
    }

    fn delete(&self, name: &str) -> Result<()> {
        if name == "INBOX" {
            return Err(FolderError::Cannot("INBOX cannot be deleted".into()));
        }
        self.lock()
            .folders
            .remove(name)
            .map(|_| ())
            .ok_or(FolderError::NoSuchFolder)
    }

    fn rename(&self, from: &str, to: &str) -> Result<()> {
        let mut inner = self.lock();
        if inner.folders.contains_key(to) {
            return Err(FolderError::AlreadyExists);
        }
        let folder = inner
            .folders
            .remove(from)
            .ok_or(FolderError::NoSuchFolder)?;
        inner.folders.insert(to.to_string(), folder);
        Ok(())
    }

    fn subscriptions(&self) -> Result<Vec<String>> {
        Ok(self.lock().subscribed.clone())
    }

    fn subscribe(&self, name: &str, subscribed: bool) -> Result<()> {
        let mut inner = self.lock();
        inner.subscribed.retain(|n| n != name);
        if subscribed {
            inner.subscribed.push(name.to_string());
        }
        Ok(())
    }

    fn snapshot(&self, name: &str, claim_recent: bool) -> Result<Snapshot> {
        let mut inner = self.lock();
        let folder = inner
            .folders
            .get_mut(name)
            .ok_or(FolderError::NoSuchFolder)?;
        let messages = folder
            .messages
            .values_mut()
            .map(|(info, _)| {
                let seen = info.clone();
                if claim_recent {
                    info.recent = false;
                }
                seen
            })
            .collect();
        Ok(Snapshot {
            uid_validity: folder.uid_validity,
            uid_next: folder.uid_next,
            messages,
        })
    }

    fn read(&self, name: &str, uid: u32) -> Result<Vec<u8>> {
        let inner = self.lock();
        let folder = inner.folders.get(name).ok_or(FolderError::NoSuchFolder)?;
        let (_, text) = folder
            .messages
            .get(&uid)
            .ok_or(FolderError::NoSuchMessage)?;
        Ok(text.clone())
    }

    fn set_flags(&self, name: &str, uid: u32, flags: Flags) -> Result<()> {
        let mut inner = self.lock();
        let folder = inner
            .folders
            .get_mut(name)
            .ok_or(FolderError::NoSuchFolder)?;
        let (info, _) = folder
            .messages
            .get_mut(&uid)
            .ok_or(FolderError::NoSuchMessage)?;
        info.flags = flags;
        Ok(())
    }

    fn expunge(&self, name: &str, uids: &[u32]) -> Result<()> {
        let mut inner = self.lock();
        let folder = inner
            .folders
            .get_mut(name)
            .ok_or(FolderError::NoSuchFolder)?;
        for uid in uids {
            folder.messages.remove(uid);
        }
        Ok(())
    }

    fn append(
        &self,
        name: &str,
        message: &[u8],
        flags: Flags,
        date: Option<i64>,
    ) -> Result<(u32, u32)> {
        let mut inner = self.lock();
        inner.changes += 1;
        let folder = inner
            .folders
            .get_mut(name)
            .ok_or(FolderError::NoSuchFolder)?;
        let uid = folder.uid_next;
        folder.uid_next += 1;
        let info = MessageInfo {
            uid,
            flags,
            size: message.len() as u64,
            internal_date: date.unwrap_or(0),
            recent: true,
        };
        folder.messages.insert(uid, (info, message.to_vec()));
        Ok((folder.uid_validity, uid))
    }

    fn copy(&self, from: &str, uids: &[u32], to: &str) -> Result<(u32, Vec<u32>)> {
        let copies: Vec<(MessageInfo, Vec<u8>)> = {
            let inner = self.lock();
            let source = inner.folders.get(from).ok_or(FolderError::NoSuchFolder)?;
            if !inner.folders.contains_key(to) {
                return Err(FolderError::NoSuchFolder);
            }
            uids.iter()
                .filter_map(|uid| source.messages.get(uid).cloned())
                .collect()
        };
        let mut validity = 0;
        let mut new = Vec::new();
        for (info, text) in copies {
            let (v, uid) = self.append(to, &text, info.flags, Some(info.internal_date))?;
            validity = v;
            new.push(uid);
        }
        if validity == 0 {
            validity = self.snapshot(to, false)?.uid_validity;
        }
        Ok((validity, new))
    }

    fn changes(&self) -> u64 {
        self.lock().changes
    }
}
