//! What the web view asks of the mail at rest: mailboxes, their messages, one
//! message's bytes, the read flag, deletion, and a bell for new mail.
//!
//! [`Mail`] is the whole of it, so the pages and the API are written (and tested)
//! without knowing the store's types; [`crate::web::store`] answers it from the
//! Maildir, with the same flags and files POP3 sees.
//!
//! A message's API id is `<mailbox>:<unique>`: the mailbox (`bob@localhost`) and the
//! Maildir unique name. A message delivered to two mailboxes has one unique name and
//! two ids. [`MessageRef::parse`] is the gate for ids from a client: the mailbox must
//! pass the store's name gate and the unique name may hold no `/`, no leading dot and
//! nothing outside printable ASCII, so `..`, `/` and `%2e%2e` never name a path.

use std::io;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::store::folder::Message;
use crate::store::mailbox::{domain_name, mailbox_name};

/// One message as a list shows it, before anyone reads its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The Maildir unique name.
    pub unique: String,
    /// Has a reader seen it (the Maildir `S` flag)?
    pub read: bool,
    /// Its size as stored.
    pub octets: u64,
    /// Where the store last saw it, so that reading it needs no search; `None` when
    /// the item was not made by a listing.
    pub stored: Option<Message>,
}

impl Item {
    /// When it was delivered, from the time at the start of its unique name
    /// (`<secs>.M<usec>…`); the epoch when the name does not say.
    pub fn received(&self) -> SystemTime {
        let (secs, rest) = self.unique.split_once('.').unwrap_or((&self.unique, ""));
        let micros: String = rest
            .strip_prefix('M')
            .unwrap_or("")
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        UNIX_EPOCH
            + Duration::from_secs(secs.parse().unwrap_or(0))
            + Duration::from_micros(micros.parse().unwrap_or(0).min(999_999))
    }

    /// The id the SMTP reply gave (`250 … queued as <id>`): postie's unique names are
    /// `<secs>.M<usec>P<pid>Q<n>.<host>`, its ids `<secs>M<usec>P<pid>Q<n>`.
    pub fn smtp_id(&self) -> String {
        let mut parts = self.unique.splitn(3, '.');
        match (parts.next(), parts.next()) {
            (Some(secs), Some(rest)) => format!("{secs}{rest}"),
            _ => self.unique.clone(),
        }
    }
}

// ANCHOR: mail
/// The mail at rest, as the web view uses it. Mailboxes are named `local@domain`.
pub trait Mail: Send + Sync {
    /// Every mailbox that has a directory, sorted.
    fn mailboxes(&self) -> io::Result<Vec<String>>;
    /// A mailbox's messages, oldest first; a mailbox without mail is empty.
    fn list(&self, mailbox: &str) -> io::Result<Vec<Item>>;
    /// A listed message's bytes as stored; `None` if it is not there (any more).
    fn read(&self, mailbox: &str, item: &Item) -> io::Result<Option<Vec<u8>>>;
    /// Sets or clears the read (`S`) flag; false if the message is not there.
    fn set_read(&self, mailbox: &str, unique: &str, read: bool) -> io::Result<bool>;
    /// Removes a message; false if it was not there.
    fn delete(&self, mailbox: &str, unique: &str) -> io::Result<bool>;
    /// How many deliveries so far (a bell's count).
    fn deliveries(&self) -> u64;
    /// Waits until the count is past `seen`, or `timeout`; returns the count.
    fn wait_for_delivery(&self, seen: u64, timeout: Duration) -> u64;
    /// The outbound queue, oldest first (none by default).
    fn queue(&self) -> io::Result<Vec<Queued>> {
        Ok(vec![])
    }
    /// Asks the relay to try every queued message now.
    fn retry_queue(&self) -> io::Result<()> {
        Err(io::Error::other("this store has no queue"))
    }
}

// ANCHOR: queued
/// One message in the outbound queue (`GET /api/v1/queue`).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Queued {
    #[serde(rename = "ID")]
    pub id: String,
    /// The reverse path; empty for a bounce.
    pub from: String,
    pub recipients: Vec<QueuedTo>,
    /// RFC 3339.
    pub arrived: String,
    pub attempts: u32,
    /// RFC 3339.
    pub next_attempt: String,
    pub last_error: String,
}

/// One recipient of a queued message, and how far it got.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueuedTo {
    pub address: String,
    /// `pending`, `delivered` or `failed`.
    pub state: &'static str,
    /// What the remote server said last, if anything.
    pub diagnostic: String,
}
// ANCHOR_END: queued
// ANCHOR_END: mail

/// A message's id, checked: which mailbox, which unique name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MessageRef {
    pub mailbox: String,
    pub unique: String,
}

impl MessageRef {
    /// `bob@localhost:1795829745.M399954P9554Q1.vm`, already percent-decoded; `None`
    /// for anything that is not an id this store could have given.
    pub fn parse(id: &str) -> Option<MessageRef> {
        let (mailbox, unique) = id.split_once(':')?;
        if !is_mailbox(mailbox) || !is_unique(unique) {
            return None;
        }
        Some(MessageRef {
            mailbox: mailbox.to_string(),
            unique: unique.to_string(),
        })
    }

    pub fn id(&self) -> String {
        format!("{}:{}", self.mailbox, self.unique)
    }
}

/// A mailbox name that the store's gate accepts as it is (already folded).
pub fn is_mailbox(name: &str) -> bool {
    let Some((local, domain)) = name.rsplit_once('@') else {
        return false;
    };
    matches!(mailbox_name(local), Ok(safe) if safe.as_str() == local)
        && matches!(domain_name(domain), Ok(safe) if safe.as_str() == domain)
}

/// A Maildir unique name: printable ASCII, no `/` or `:`, not starting with a dot.
fn is_unique(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'/' && b != b':' && b != b'\\')
}

#[cfg(test)]
pub mod fake {
    //! A [`Mail`] in memory, for the API's and the pages' unit tests.

    use super::*;
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    /// Each mailbox's messages with their bytes.
    type Boxes = BTreeMap<String, Vec<(Item, Vec<u8>)>>;

    #[derive(Default)]
    pub struct FakeMail {
        pub boxes: Mutex<Boxes>,
    }

    impl FakeMail {
        pub fn add(&self, mailbox: &str, unique: &str, bytes: &[u8]) {
            let item = Item {
                unique: unique.into(),
                read: false,
                octets: bytes.len() as u64,
                stored: None,
            };
            let mut boxes = self.boxes.lock().unwrap();
            boxes
                .entry(mailbox.into())
                .or_default()
                .push((item, bytes.to_vec()));
        }
    }

    impl Mail for FakeMail {
        fn mailboxes(&self) -> io::Result<Vec<String>> {
            Ok(self.boxes.lock().unwrap().keys().cloned().collect())
        }
        fn list(&self, mailbox: &str) -> io::Result<Vec<Item>> {
            let boxes = self.boxes.lock().unwrap();
            Ok(boxes
                .get(mailbox)
                .map(|m| m.iter().map(|(i, _)| i.clone()).collect())
                .unwrap_or_default())
        }
        fn read(&self, mailbox: &str, item: &Item) -> io::Result<Option<Vec<u8>>> {
            let boxes = self.boxes.lock().unwrap();
            Ok(boxes.get(mailbox).and_then(|m| {
                m.iter()
                    .find(|(i, _)| i.unique == item.unique)
                    .map(|(_, b)| b.clone())
            }))
        }
        fn set_read(&self, mailbox: &str, unique: &str, read: bool) -> io::Result<bool> {
            let mut boxes = self.boxes.lock().unwrap();
            let found = boxes
                .get_mut(mailbox)
                .and_then(|m| m.iter_mut().find(|(i, _)| i.unique == unique));
            Ok(found.map(|(i, _)| i.read = read).is_some())
        }
        fn delete(&self, mailbox: &str, unique: &str) -> io::Result<bool> {
            let mut boxes = self.boxes.lock().unwrap();
            let Some(m) = boxes.get_mut(mailbox) else {
                return Ok(false);
            };
            let before = m.len();
            m.retain(|(i, _)| i.unique != unique);
            Ok(m.len() < before)
        }
        fn deliveries(&self) -> u64 {
            0
        }
        fn wait_for_delivery(&self, seen: u64, timeout: Duration) -> u64 {
            std::thread::sleep(timeout.min(Duration::from_millis(10)));
            seen
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_a_gate() {
        let good = MessageRef::parse("bob@localhost:1795829745.M399954P9554Q1.vm").unwrap();
        assert_eq!(good.mailbox, "bob@localhost");
        assert_eq!(good.id(), "bob@localhost:1795829745.M399954P9554Q1.vm");
        for bad in [
            "bob@localhost:..",
            "bob@localhost:../../etc/passwd",
            "bob@localhost:a/b",
            "bob@localhost:.hidden",
            "../bob@localhost:x",
            "Bob@localhost:x",
            "bob@local/host:x",
            "bob@..:x",
            "bob@localhost:",
            "nocolon",
            "bob:x",
        ] {
            assert_eq!(MessageRef::parse(bad), None, "{bad}");
        }
        let item = Item {
            unique: "1795829745.M399954P9554Q1.vm".into(),
            read: false,
            octets: 1,
            stored: None,
        };
        assert_eq!(item.smtp_id(), "1795829745M399954P9554Q1");
        let since = item.received().duration_since(UNIX_EPOCH).unwrap();
        assert_eq!(since.as_micros(), 1_795_829_745_399_954);
    }
}
