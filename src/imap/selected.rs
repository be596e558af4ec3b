//! The selected mailbox as one session knows it (RFC 3501 §3.3): its messages in
//! sequence order, which of them are `\Recent` for this session, and how to tell the
//! client what changed since it last looked.
//!
//! **Sequence numbers and other sessions** (§2.3.1.2, §5.2, §7.4.1). A session numbers
//! the messages 1..n as it last saw them. Another session (a phone and a laptop), or
//! SMTP, may add, flag or remove messages at any time; [`Selected::sync`] compares the
//! folder with the session's view and tells the client, as untagged `EXISTS`, `FETCH
//! (FLAGS)` and `EXPUNGE`, before the tagged response of the next command. The commands
//! ([`crate::imap::mailbox`]) do not sync for FETCH, STORE and SEARCH by sequence
//! number: §7.4.1 forbids an EXPUNGE while such a command runs, since it would change
//! the numbers under the client.
//!
//! Left out: QRESYNC's VANISHED (RFC 7162), which tells a client what was expunged
//! while it was away.

use std::collections::HashSet;

use super::folders::{Flags, MessageInfo, Snapshot};
use super::parse::{SeqNumber, SequenceSet};
use super::response::{Response, Status};

// ANCHOR: selected
/// The selected mailbox as this session knows it: the messages in sequence order.
#[derive(Debug, Clone)]
pub struct Selected {
    pub name: String,
    pub read_only: bool,
    pub uid_validity: u32,
    pub uid_next: u32,
    pub(super) messages: Vec<MessageInfo>,
    /// The UIDs that are `\Recent` for this session (§2.3.2).
    pub(super) recent: HashSet<u32>,
}
// ANCHOR_END: selected

impl Selected {
    pub fn open(name: &str, read_only: bool, snapshot: Snapshot) -> Selected {
        let recent = snapshot
            .messages
            .iter()
            .filter(|m| m.recent)
            .map(|m| m.uid)
            .collect();
        Selected {
            name: name.to_string(),
            read_only,
            uid_validity: snapshot.uid_validity,
            uid_next: snapshot.uid_next,
            messages: snapshot.messages,
            recent,
        }
    }

    pub fn len(&self) -> usize {
        self.messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    // ANCHOR: select_responses
    /// §6.3.1: what SELECT and EXAMINE answer before their tagged OK.
    pub fn select_responses(&self) -> Response {
        let unseen = self
            .messages
            .iter()
            .position(|m| !m.flags.contains(Flags::SEEN));
        let mut r = Response::new()
            .untagged("FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)")
            .untagged_status(
                Status::Ok,
                Some(if self.read_only {
                    "PERMANENTFLAGS ()"
                } else {
                    "PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)"
                }),
                "Flags permitted",
            )
            .untagged(&format!("{} EXISTS", self.messages.len()))
            .untagged(&format!("{} RECENT", self.recent.len()));
        if let Some(first) = unseen {
            r = r.untagged_status(
                Status::Ok,
                Some(&format!("UNSEEN {}", first + 1)),
                "First unseen",
            );
        }
        r.untagged_status(
            Status::Ok,
            Some(&format!("UIDVALIDITY {}", self.uid_validity)),
            "UIDs valid",
        )
        .untagged_status(
            Status::Ok,
            Some(&format!("UIDNEXT {}", self.uid_next)),
            "Predicted next UID",
        )
    }
    // ANCHOR_END: select_responses

    // ANCHOR: sync
    /// Tells the client what changed since it last looked: EXPUNGE (highest number
    /// first, so each number is right when it is read), FETCH FLAGS, EXISTS, RECENT.
    pub fn sync(&mut self, now: Snapshot) -> Response {
        let mut r = Response::new();
        let present: HashSet<u32> = now.messages.iter().map(|m| m.uid).collect();
        for seq in (1..=self.messages.len()).rev() {
            if !present.contains(&self.messages[seq - 1].uid) {
                let gone = self.messages.remove(seq - 1);
                self.recent.remove(&gone.uid);
                r = r.untagged(&format!("{seq} EXPUNGE"));
            }
        }
        let known_last = self.messages.last().map_or(0, |m| m.uid);
        let mut theirs = now.messages.iter().peekable();
        for (i, mine) in self.messages.iter_mut().enumerate() {
            while theirs.next_if(|m| m.uid < mine.uid).is_some() {}
            if let Some(now) = theirs.next_if(|m| m.uid == mine.uid) {
                if now.flags != mine.flags {
                    mine.flags = now.flags;
                    let recent = self.recent.contains(&mine.uid);
                    r = r.untagged(&format!(
                        "{} FETCH (UID {} FLAGS {})",
                        i + 1,
                        mine.uid,
                        mine.flags.list(recent)
                    ));
                }
            }
        }
        let before = self.messages.len();
        let recent_before = self.recent.len();
        for m in now.messages.into_iter().filter(|m| m.uid > known_last) {
            if m.recent {
                self.recent.insert(m.uid);
            }
            self.messages.push(m);
        }
        if self.messages.len() != before {
            r = r.untagged(&format!("{} EXISTS", self.messages.len()));
        }
        if self.recent.len() != recent_before {
            r = r.untagged(&format!("{} RECENT", self.recent.len()));
        }
        self.uid_next = self.uid_next.max(now.uid_next);
        r
    }
    // ANCHOR_END: sync

    // ANCHOR: resolve
    /// The indices a set names: by UID (`*` is the highest UID; numbers not in use
    /// are skipped, §6.4.8) or by sequence number (each must exist, or `Err`).
    pub fn resolve(&self, set: &SequenceSet, uid: bool) -> Result<Vec<usize>, &'static str> {
        if uid {
            let last = self.messages.last().map_or(0, |m| m.uid);
            return Ok((0..self.messages.len())
                .filter(|&i| set.contains(self.messages[i].uid, last))
                .collect());
        }
        let n = self.messages.len() as u32;
        let too_big = set.0.iter().any(|&(a, b)| {
            [a, b].iter().any(|s| match s {
                SeqNumber::Value(v) => *v > n,
                SeqNumber::Star => n == 0,
            })
        });
        if too_big {
            return Err("Invalid message sequence number");
        }
        Ok((0..self.messages.len())
            .filter(|&i| set.contains(i as u32 + 1, n))
            .collect())
    }
    // ANCHOR_END: resolve
}
