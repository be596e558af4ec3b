//! [`Mail`] over the store: the mailboxes of [`crate::store::maildir::Maildir`], each
//! read through [`crate::store::folder::Folder`], the same API POP3 uses. So a message
//! read on the web carries the Maildir `S` flag that POP3 and any Maildir reader see,
//! and one deleted here is gone for them too (and the reverse).
//!
//! New mail: the Maildir's bell, which rings after every delivery.
//!
//! Left out: a message is found by listing its folder (the store keeps no index), so
//! opening one message costs a directory listing of its mailbox.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use super::mail::{Item, Mail};
use crate::store::flags::Flag;
use crate::store::folder::{Folder, Message};
use crate::store::mailbox::{domain_name, mailbox_name};
use crate::store::maildir::MailboxPath;
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
            })
            .collect())
    }

    fn read(&self, mailbox: &str, unique: &str) -> io::Result<Option<Vec<u8>>> {
        match self.find(mailbox, unique)? {
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
}
