//! What an IMAP session may do with one user's mail: the [`Folders`] trait, IMAP's
//! view of the store (folders, UIDs, flags); and, for tests, `Memory`, folders kept in
//! memory.
//!
//! The trait speaks IMAP's words (RFC 3501 §2.3.1: UIDs that only grow, a UIDVALIDITY
//! per folder; §2.3.2: the system flags), so the protocol above it never learns how
//! mail is kept. [`crate::imap::maildir`] keeps it in the Maildir that SMTP delivers to.
//!
//! Folder names here are UTF-8, decoded from modified UTF-7 by the parser; `INBOX` is
//! the user's own mailbox, and `.` separates levels of the hierarchy (`Archive.2026`),
//! as in Maildir++.
//!
//! Left out: keywords (`$Forwarded`…): PERMANENTFLAGS says so, and STORE refuses them.

use std::fmt;
use std::io;

/// The hierarchy separator (RFC 3501 §6.3.8), as in Maildir++.
pub const SEPARATOR: char = '.';

// ANCHOR: flags
/// The system flags a message keeps (RFC 3501 §2.3.2), as bits. `\Recent` is not one
/// of them: it belongs to a session, not to the message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Flags(u8);

impl Flags {
    pub const SEEN: Flags = Flags(1);
    pub const ANSWERED: Flags = Flags(2);
    pub const FLAGGED: Flags = Flags(4);
    pub const DELETED: Flags = Flags(8);
    pub const DRAFT: Flags = Flags(16);

    /// Each flag with its name, in the order they are shown.
    /// (The order of SELECT's FLAGS response, as Dovecot shows them too.)
    pub const NAMES: [(Flags, &'static str); 5] = [
        (Flags::ANSWERED, "\\Answered"),
        (Flags::FLAGGED, "\\Flagged"),
        (Flags::DELETED, "\\Deleted"),
        (Flags::SEEN, "\\Seen"),
        (Flags::DRAFT, "\\Draft"),
    ];

    pub fn empty() -> Flags {
        Flags(0)
    }

    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn union(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }

    pub fn minus(self, other: Flags) -> Flags {
        Flags(self.0 & !other.0)
    }

    /// One flag by its name, in any case (`\seen`).
    pub fn named(name: &str) -> Option<Flags> {
        Flags::NAMES
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name))
            .map(|&(flag, _)| flag)
    }

    /// The flags named in a list; the first name that is not a system flag is the
    /// error (`\Recent` may not be set by a client, §2.3.2).
    pub fn from_names(names: &[String]) -> std::result::Result<Flags, String> {
        names.iter().try_fold(Flags::empty(), |flags, name| {
            Flags::named(name)
                .map(|f| flags.union(f))
                .ok_or_else(|| name.clone())
        })
    }

    /// `(\Seen \Flagged)`, with `\Recent` when the session says so.
    pub fn list(self, recent: bool) -> String {
        let mut names: Vec<&str> = Flags::NAMES
            .iter()
            .filter(|(flag, _)| self.contains(*flag))
            .map(|&(_, name)| name)
            .collect();
        if recent {
            names.push("\\Recent");
        }
        format!("({})", names.join(" "))
    }
}
// ANCHOR_END: flags

// ANCHOR: snapshot
/// One message as a folder lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageInfo {
    pub uid: u32,
    pub flags: Flags,
    /// RFC822.SIZE: the octets of the message as IMAP sends it (CRLF line endings).
    pub size: u64,
    /// INTERNALDATE (§2.3.3), seconds since the epoch.
    pub internal_date: i64,
    /// No session has seen it yet (§2.3.2 `\Recent`).
    pub recent: bool,
}

/// A folder at one moment: its UIDVALIDITY, the next UID, its messages by UID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub uid_validity: u32,
    pub uid_next: u32,
    pub messages: Vec<MessageInfo>,
}
// ANCHOR_END: snapshot

/// A folder and what LIST says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderInfo {
    pub name: String,
    /// RFC 6154: `\Sent`, `\Drafts`, `\Trash`, `\Junk`, `\Archive`.
    pub special_use: Option<&'static str>,
    /// It has folders below it (RFC 3348 `\HasChildren`).
    pub has_children: bool,
}

/// The folders created for every user, with their special use (RFC 6154 §2).
pub const SPECIAL_FOLDERS: [(&str, &str); 4] = [
    ("Drafts", "\\Drafts"),
    ("Sent", "\\Sent"),
    ("Trash", "\\Trash"),
    ("Junk", "\\Junk"),
];

/// The special use of a folder, by its name.
pub fn special_use(name: &str) -> Option<&'static str> {
    SPECIAL_FOLDERS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, u)| u)
}

/// Why a folder operation failed; each has its response code.
#[derive(Debug)]
pub enum FolderError {
    /// RFC 5530 `[NONEXISTENT]` (or `[TRYCREATE]` for APPEND, COPY, MOVE).
    NoSuchFolder,
    /// RFC 5530 `[ALREADYEXISTS]`.
    AlreadyExists,
    /// RFC 5530 `[CANNOT]`: a name the store cannot hold, or INBOX's own rules.
    Cannot(String),
    /// The message has gone (expunged by another session).
    NoSuchMessage,
    /// RFC 5530 `[SERVERBUG]`/`[UNAVAILABLE]`: the disk said no.
    Io(io::Error),
}

impl From<io::Error> for FolderError {
    fn from(e: io::Error) -> FolderError {
        FolderError::Io(e)
    }
}

impl fmt::Display for FolderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FolderError::NoSuchFolder => f.write_str("No such mailbox"),
            FolderError::AlreadyExists => f.write_str("Mailbox already exists"),
            FolderError::Cannot(why) => f.write_str(why),
            FolderError::NoSuchMessage => f.write_str("The message has been expunged"),
            FolderError::Io(e) => write!(f, "The mail store failed: {e}"),
        }
    }
}

pub type Result<T> = std::result::Result<T, FolderError>;

// ANCHOR: folders
/// One user's mail, as IMAP sees it. Every method may touch the disk.
pub trait Folders: Send {
    /// Every folder, INBOX first.
    fn list(&self) -> Result<Vec<FolderInfo>>;
    fn create(&self, name: &str) -> Result<()>;
    fn delete(&self, name: &str) -> Result<()>;
    fn rename(&self, from: &str, to: &str) -> Result<()>;
    fn subscriptions(&self) -> Result<Vec<String>>;
    fn subscribe(&self, name: &str, subscribed: bool) -> Result<()>;
    /// The folder now. With `claim_recent`, messages no session has seen are marked
    /// seen-by-a-session (they are reported `recent` this once, §2.3.2).
    fn snapshot(&self, name: &str, claim_recent: bool) -> Result<Snapshot>;
    /// The message, as IMAP sends it (CRLF line endings).
    fn read(&self, name: &str, uid: u32) -> Result<Vec<u8>>;
    fn set_flags(&self, name: &str, uid: u32, flags: Flags) -> Result<()>;
    /// Removes these messages for good.
    fn expunge(&self, name: &str, uids: &[u32]) -> Result<()>;
    /// Adds a message; returns (UIDVALIDITY, its UID) for APPENDUID (RFC 4315).
    fn append(
        &self,
        name: &str,
        message: &[u8],
        flags: Flags,
        date: Option<i64>,
    ) -> Result<(u32, u32)>;
    /// Copies messages to another folder; returns (UIDVALIDITY, the new UIDs in the
    /// same order) for COPYUID (RFC 4315).
    fn copy(&self, from: &str, uids: &[u32], to: &str) -> Result<(u32, Vec<u32>)>;
    /// A number that changes whenever new mail may have arrived (for IDLE).
    fn changes(&self) -> u64;
}
// ANCHOR_END: folders

#[cfg(test)]
mod memory;
#[cfg(test)]
pub use memory::Memory;

#[cfg(test)]
mod tests {
    use super::*;

    /// STORE's three modes (RFC 3501 §6.4.6) as set arithmetic: FLAGS replaces,
    /// +FLAGS adds (a flag already there stays once), -FLAGS removes (a flag not
    /// there is no error).
    #[test]
    fn flags_add_and_remove() {
        let seen_flagged = Flags::SEEN.union(Flags::FLAGGED);
        assert_eq!(seen_flagged.list(false), "(\\Flagged \\Seen)");
        assert_eq!(Flags::SEEN.union(Flags::SEEN), Flags::SEEN);
        assert_eq!(seen_flagged.minus(Flags::SEEN), Flags::FLAGGED);
        assert_eq!(seen_flagged.minus(Flags::DELETED), seen_flagged);
        assert_eq!(Flags::SEEN.minus(Flags::SEEN), Flags::empty());
        assert_eq!(Flags::empty().list(true), "(\\Recent)");
    }
}
