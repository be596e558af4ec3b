//! A calendar per user, next to their Maildir: `<root>/<domain>/<mailbox>/calendar/`,
//! one `.ics` file per meeting (RFC 5545, without METHOD), named by the SHA-256 of its
//! UID so that no UID can name a path (ARCHITECTURE.md, *Mailbox names are never raw
//! input*: the mailbox comes through the store's gate).
//!
//! Every file is written with the store's durable helper (`store::durable::replace`:
//! a new file in `calendar/tmp/`, fsync, rename over the old one, fsync the
//! directory), so a reader sees the old version or the new one, and a change that was
//! answered "done" survives a crash. One lock serializes the read-apply-write of
//! every change in this process (SMTP deliveries and the web view both change
//! calendars).
//!
//! Left out: locking between processes (postie is one process).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::itip::{self, Outcome, Sender};
use super::model::Meeting;
use super::parse::{self, Itip};
use super::write;
use crate::store::durable;
use crate::store::maildir::MailboxPath;

/// The read-apply-write of one change at a time.
static CHANGES: Mutex<()> = Mutex::new(());
/// Makes every temporary name unique within this process.
static TMP: AtomicU64 = AtomicU64::new(0);

/// The calendars under a Maildir root.
#[derive(Debug, Clone)]
pub struct Calendars {
    root: PathBuf,
}

impl Calendars {
    pub fn new(maildir_root: &Path) -> Calendars {
        Calendars {
            root: maildir_root.to_path_buf(),
        }
    }

    /// The directory of `mailbox`'s calendar.
    pub fn dir(&self, mailbox: &MailboxPath) -> PathBuf {
        self.root
            .join(mailbox.domain.as_str())
            .join(mailbox.mailbox.as_str())
            .join("calendar")
    }

    fn file(&self, mailbox: &MailboxPath, uid: &str) -> PathBuf {
        let digest = ring::digest::digest(&ring::digest::SHA256, uid.as_bytes());
        let name: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        self.dir(mailbox).join(format!("{name}.ics"))
    }

    /// Every meeting in the calendar, by start time. A file that cannot be read as a
    /// meeting is logged and left out.
    pub fn list(&self, mailbox: &MailboxPath) -> io::Result<Vec<Meeting>> {
        let entries = match fs::read_dir(self.dir(mailbox)) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(vec![]),
            Err(e) => return Err(e),
        };
        let mut meetings = Vec::new();
        for entry in entries {
            let path = entry?.path();
            if path.extension().is_none_or(|x| x != "ics") {
                continue;
            }
            match read(&path)? {
                Some(meeting) => meetings.push(meeting),
                None => continue,
            }
        }
        meetings.sort_by_key(|m| (m.when.as_ref().map(|w| w.start), m.uid.clone()));
        Ok(meetings)
    }

    /// The meeting with this UID.
    pub fn get(&self, mailbox: &MailboxPath, uid: &str) -> io::Result<Option<Meeting>> {
        read(&self.file(mailbox, uid))
    }

    // ANCHOR: save
    /// Writes `meeting` durably, replacing the version there.
    pub fn save(&self, mailbox: &MailboxPath, meeting: &Meeting) -> io::Result<()> {
        let dir = self.dir(mailbox);
        let tmp = dir.join("tmp");
        if !tmp.is_dir() {
            fs::create_dir_all(&tmp)?;
            // The new directories' names must be durable too.
            durable::sync_dir(&dir)?;
            if let Some(parent) = dir.parent() {
                durable::sync_dir(parent)?;
            }
        }
        let n = TMP.fetch_add(1, Ordering::Relaxed);
        let name = format!("{}.{}.{n}", std::process::id(), meeting.sequence);
        let text = write::write(None, meeting);
        durable::replace(
            tmp.join(name),
            &self.file(mailbox, &meeting.uid),
            text.as_bytes(),
        )
    }
    // ANCHOR_END: save

    /// Removes the meeting with this UID (undoing a creation whose mail failed).
    pub fn remove(&self, mailbox: &MailboxPath, uid: &str) -> io::Result<()> {
        match fs::remove_file(self.file(mailbox, uid)) {
            Ok(()) => durable::sync_dir(&self.dir(mailbox)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Applies an iTIP message to `address`'s calendar (the rules are
    /// [`itip::apply`]'s) and saves the result; what happened, in words.
    pub fn apply(
        &self,
        mailbox: &MailboxPath,
        address: &str,
        message: &Itip,
        sender: Sender,
    ) -> io::Result<Outcome> {
        let _one_at_a_time = CHANGES.lock().unwrap_or_else(|p| p.into_inner());
        let stored = self.get(mailbox, &message.meeting.uid)?;
        let outcome = itip::apply(address, stored.as_ref(), message, sender);
        if let Outcome::Save { meeting, .. } = &outcome {
            self.save(mailbox, meeting)?;
        }
        Ok(outcome)
    }

    /// Changes one stored meeting under the lock: `change` returns false to leave it.
    pub fn update(
        &self,
        mailbox: &MailboxPath,
        uid: &str,
        change: impl FnOnce(&mut Meeting) -> bool,
    ) -> io::Result<Option<Meeting>> {
        let _one_at_a_time = CHANGES.lock().unwrap_or_else(|p| p.into_inner());
        let Some(mut meeting) = self.get(mailbox, uid)? else {
            return Ok(None);
        };
        if change(&mut meeting) {
            self.save(mailbox, &meeting)?;
        }
        Ok(Some(meeting))
    }
}

/// One stored meeting; `None` if the file is missing or not a meeting.
fn read(path: &Path) -> io::Result<Option<Meeting>> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    match parse::stored(&String::from_utf8_lossy(&bytes)) {
        Ok(meeting) => Ok(Some(meeting)),
        Err(why) => {
            log::warn!("calendar: {} is not a meeting: {why}", path.display());
            Ok(None)
        }
    }
}
