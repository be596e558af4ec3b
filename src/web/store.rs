//! [`Mail`] over the store: the mailboxes of [`crate::store::maildir::Maildir`], each
//! read through [`crate::store::folder::Folder`], the same API POP3 uses. So a message
//! read on the web carries the Maildir `S` flag that POP3 and any Maildir reader see,
//! and one deleted here is gone for them too (and the reverse).
//!
//! New mail: the Maildir's bell, which rings after every delivery. The outbound
//! queue: the store's spool, listed as `postie queue` lists it; "retry now" asks the
//! relay to flush it, as `postie queue --flush` does.
//!
//! Left out: a message is found by listing its folder (the store keeps no index), so
//! opening one message costs a directory listing of its mailbox.

use std::io;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use super::mail::{Item, Mail, Queued, QueuedTo};
use super::message::rfc3339;
use crate::store::flags::Flag;
use crate::store::folder::{Folder, Message};
use crate::store::mailbox::{domain_name, mailbox_name};
use crate::store::maildir::MailboxPath;
use crate::store::spool::RecipientState;
use crate::store::Storage;

/// The local mailboxes of a running server.
pub struct StoreMail {
    storage: Arc<Storage>,
}

impl StoreMail {
    pub fn new(storage: Arc<Storage>) -> StoreMail {
        StoreMail { storage }
    }

    /// `bob@localhost`, through the store's gate.
    fn folder(&self, mailbox: &str) -> Option<Folder> {
        let (local, domain) = mailbox.rsplit_once('@')?;
        let path = MailboxPath {
            domain: domain_name(domain).ok()?,
            mailbox: mailbox_name(local).ok()?,
        };
        Some(Folder::open(self.storage.maildir.root(), &path))
    }

    /// The folder and the message called `unique` in it.
    fn find(&self, mailbox: &str, unique: &str) -> io::Result<Option<(Folder, Message)>> {
        let Some(folder) = self.folder(mailbox) else {
            return Ok(None);
        };
        let found = folder.list()?.into_iter().find(|m| m.id() == unique);
        Ok(found.map(|message| (folder, message)))
    }
}

impl Mail for StoreMail {
    fn mailboxes(&self) -> io::Result<Vec<String>> {
        Ok(self
            .storage
            .maildir
            .mailboxes()?
            .into_iter()
            .map(|path| format!("{}@{}", path.mailbox, path.domain))
            .collect())
    }

    fn list(&self, mailbox: &str) -> io::Result<Vec<Item>> {
        let Some(folder) = self.folder(mailbox) else {
            return Ok(vec![]);
        };
        Ok(folder
            .list()?
            .iter()
            .map(|m| Item {
                unique: m.id().to_string(),
                read: m.flags().contains(Flag::Seen),
                octets: m.octets(),
                stored: Some(m.clone()),
            })
            .collect())
    }

    fn read(&self, mailbox: &str, item: &Item) -> io::Result<Option<Vec<u8>>> {
        // A listed item knows where its file is; the folder looks again if it moved.
        let found = match (&item.stored, self.folder(mailbox)) {
            (Some(message), Some(folder)) => Some((folder, message.clone())),
            _ => self.find(mailbox, &item.unique)?,
        };
        match found {
            Some((folder, message)) => match folder.read(&message) {
                Ok(bytes) => Ok(Some(bytes)),
                // Another reader deleted it between the listing and the read.
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            },
            None => Ok(None),
        }
    }

    // ANCHOR: set_read
    fn set_read(&self, mailbox: &str, unique: &str, read: bool) -> io::Result<bool> {
        let Some((folder, mut message)) = self.find(mailbox, unique)? else {
            return Ok(false);
        };
        if read {
            folder.add_flag(&mut message, Flag::Seen)?;
        } else {
            folder.remove_flag(&mut message, Flag::Seen)?;
        }
        Ok(true)
    }
    // ANCHOR_END: set_read

    fn delete(&self, mailbox: &str, unique: &str) -> io::Result<bool> {
        let Some((folder, message)) = self.find(mailbox, unique)? else {
            return Ok(false);
        };
        folder.delete(&message)?;
        folder.sync()?;
        Ok(true)
    }

    fn deliveries(&self) -> u64 {
        self.storage.maildir.bell().rings()
    }

    fn wait_for_delivery(&self, seen: u64, timeout: Duration) -> u64 {
        self.storage.maildir.bell().wait_past(seen, timeout)
    }

    fn queue(&self) -> io::Result<Vec<Queued>> {
        let at = |secs: u64| rfc3339(UNIX_EPOCH + Duration::from_secs(secs));
        let mut entries = self.storage.spool.list()?;
        entries.sort_by_key(|e| e.arrived);
        Ok(entries
            .into_iter()
            .map(|e| Queued {
                id: e.id.to_string(),
                from: e.reverse_path.clone(),
                recipients: e
                    .recipients
                    .iter()
                    .map(|r| QueuedTo {
                        address: r.address.clone(),
                        state: match r.state {
                            RecipientState::Pending => "pending",
                            RecipientState::Delivered => "delivered",
                            RecipientState::Failed => "failed",
                        },
                        diagnostic: r.diagnostic.clone().unwrap_or_default(),
                    })
                    .collect(),
                arrived: at(e.arrived),
                attempts: e.attempts,
                next_attempt: at(e.next_attempt),
                last_error: e.last_error.clone().unwrap_or_default(),
            })
            .collect())
    }

    // ANCHOR: retry_queue
    /// What `postie queue --flush` does: the relay sees the request within a second;
    /// the bell wakes it at once.
    fn retry_queue(&self) -> io::Result<()> {
        self.storage.spool.request_flush()?;
        self.storage.spool.bell().ring();
        Ok(())
    }
    // ANCHOR_END: retry_queue
}
