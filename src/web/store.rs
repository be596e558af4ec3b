//! [`Mail`] over the Maildir tree: `<root>/<domain>/<user>/{new,cur}`, with the
//! Maildir conventions POP3 follows too (<https://cr.yp.to/proto/maildir.html>):
//! a message's id is its unique name (before `:2,`), the `S` flag in `cur/` means
//! read, marking anything moves the file from `new/` to `cur/`, deleting unlinks it.
//! So a message read on the web is read in POP3, and one deleted in POP3 is gone here.
//!
//! New mail: the bell is the newest modification time of the `new/` directories,
//! looked at every quarter second while someone waits (a delivery renames a file into
//! `new/`, which changes its time).
//!
//! Left out: this module reads the tree itself until the store's mailbox API
//! (`store::folder`, with a bell the Maildir rings) lands on main; then it becomes a
//! thin adapter over that and names no directory.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, UNIX_EPOCH};

use super::mail::{is_mailbox, Item, Mail};

/// The Maildir tree under `root`.
pub struct MaildirMail {
    root: PathBuf,
}

impl MaildirMail {
    pub fn new(root: &Path) -> MaildirMail {
        MaildirMail {
            root: root.to_path_buf(),
        }
    }

    /// `bob@localhost` → `<root>/localhost/bob`, only for names the gate accepts.
    fn dir(&self, mailbox: &str) -> Option<PathBuf> {
        let (local, domain) = mailbox.rsplit_once('@')?;
        is_mailbox(mailbox).then(|| self.root.join(domain).join(local))
    }

    /// Where the message is now, and its flags.
    fn find(&self, mailbox: &str, unique: &str) -> io::Result<Option<(PathBuf, String)>> {
        let Some(dir) = self.dir(mailbox) else {
            return Ok(None);
        };
        for sub in ["new", "cur"] {
            for path in files(&dir.join(sub))? {
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                let (id, flags) = name.split_once(":2,").unwrap_or((name, ""));
                if id == unique {
                    return Ok(Some((path.clone(), flags.to_string())));
                }
            }
        }
        Ok(None)
    }

    /// The newest change to any `new/` directory, in nanoseconds.
    fn newest_delivery(&self) -> u64 {
        let mut newest = 0;
        for mailbox in self.mailboxes().unwrap_or_default() {
            if let Some(dir) = self.dir(&mailbox) {
                let modified = fs::metadata(dir.join("new"))
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos() as u64);
                newest = newest.max(modified);
            }
        }
        newest
    }
}

impl Mail for MaildirMail {
    fn mailboxes(&self) -> io::Result<Vec<String>> {
        let mut boxes = Vec::new();
        for domain in subdirs(&self.root)? {
            for user in subdirs(&self.root.join(&domain))? {
                let name = format!("{user}@{domain}");
                if is_mailbox(&name) {
                    boxes.push(name);
                }
            }
        }
        boxes.sort();
        Ok(boxes)
    }

    fn list(&self, mailbox: &str) -> io::Result<Vec<Item>> {
        let Some(dir) = self.dir(mailbox) else {
            return Ok(vec![]);
        };
        let mut items = Vec::new();
        for sub in ["new", "cur"] {
            for path in files(&dir.join(sub))? {
                let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                    continue;
                };
                let (unique, flags) = name.split_once(":2,").unwrap_or((name, ""));
                let octets = match fs::metadata(&path) {
                    Ok(m) => m.len(),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                };
                items.push(Item {
                    unique: unique.to_string(),
                    read: flags.contains('S'),
                    octets,
                });
            }
        }
        items.sort_by_cached_key(Item::received);
        Ok(items)
    }

    fn read(&self, mailbox: &str, unique: &str) -> io::Result<Option<Vec<u8>>> {
        match self.find(mailbox, unique)? {
            Some((path, _)) => match fs::read(path) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            },
            None => Ok(None),
        }
    }

    fn set_read(&self, mailbox: &str, unique: &str, read: bool) -> io::Result<bool> {
        let (Some((path, flags)), Some(dir)) = (self.find(mailbox, unique)?, self.dir(mailbox))
        else {
            return Ok(false);
        };
        let mut letters: Vec<char> = flags.chars().filter(|&c| c != 'S').collect();
        if read {
            letters.push('S');
        }
        letters.sort_unstable();
        letters.dedup();
        let flags: String = letters.into_iter().collect();
        let target = dir.join("cur").join(format!("{unique}:2,{flags}"));
        if target != path {
            fs::create_dir_all(dir.join("cur"))?;
            fs::rename(&path, &target)?;
        }
        Ok(true)
    }

    fn delete(&self, mailbox: &str, unique: &str) -> io::Result<bool> {
        match self.find(mailbox, unique)? {
            Some((path, _)) => match fs::remove_file(path) {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(e),
            },
            None => Ok(false),
        }
    }

    fn deliveries(&self) -> u64 {
        self.newest_delivery()
    }

    fn wait_for_delivery(&self, seen: u64, timeout: Duration) -> u64 {
        let until = Instant::now() + timeout;
        loop {
            let now = self.newest_delivery();
            if now != seen || Instant::now() >= until {
                return now;
            }
            std::thread::sleep(Duration::from_millis(250).min(until - Instant::now()));
        }
    }
}

/// Plain files not starting with a dot; none for a directory that does not exist.
fn files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        let visible = !entry.file_name().to_string_lossy().starts_with('.');
        if visible && entry.file_type()?.is_file() {
            out.push(entry.path());
        }
    }
    Ok(out)
}

/// Names of the subdirectories (not starting with a dot) that are UTF-8.
fn subdirs(dir: &Path) -> io::Result<Vec<String>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        if let Some(name) = entry.file_name().to_str() {
            if !name.starts_with('.') && entry.file_type()?.is_dir() {
                out.push(name.to_string());
            }
        }
    }
    Ok(out)
}
