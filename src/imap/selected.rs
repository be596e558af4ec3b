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

#[cfg(test)]
mod tests {
    use super::*;

    fn message(uid: u32, flags: Flags, recent: bool) -> MessageInfo {
        MessageInfo {
            uid,
            flags,
            size: 10,
            internal_date: 0,
            recent,
        }
    }

    fn snapshot(messages: Vec<MessageInfo>) -> Snapshot {
        Snapshot {
            uid_validity: 1,
            uid_next: messages.last().map_or(1, |m| m.uid + 1),
            messages,
        }
    }

    fn said(response: Response) -> String {
        String::from_utf8(response.0).unwrap()
    }

    /// §7.4.1 and §7.3.1: what another session did, in the order that keeps each
    /// number right as the client reads it: EXPUNGEs from the highest number down,
    /// then changed flags by the new numbers, then the new EXISTS and RECENT.
    #[test]
    fn sync_reports_expunges_flags_and_new_mail_in_order() {
        let none = Flags::empty();
        let mut view = Selected::open(
            "INBOX",
            false,
            snapshot((1..=4).map(|uid| message(uid, none, false)).collect()),
        );
        let now = vec![
            message(2, none, false),
            message(4, Flags::SEEN, false),
            message(5, none, true),
        ];
        assert_eq!(
            said(view.sync(snapshot(now))),
            "* 3 EXPUNGE\r\n* 1 EXPUNGE\r\n* 2 FETCH (UID 4 FLAGS (\\Seen))\r\n\
             * 3 EXISTS\r\n* 1 RECENT\r\n"
        );
        assert_eq!(view.uid_next, 6);
        // Nothing changed: nothing to say.
        let again = vec![
            message(2, none, false),
            message(4, Flags::SEEN, false),
            message(5, none, false),
        ];
        assert_eq!(said(view.sync(snapshot(again))), "");
    }

    /// A UID below those the session knows, which it never saw, is passed over
    /// without losing the session's place: the flags of the messages after it are
    /// still compared.
    #[test]
    fn an_unknown_lower_uid_does_not_hide_flag_changes() {
        let none = Flags::empty();
        let mut view = Selected::open(
            "INBOX",
            false,
            snapshot(vec![message(2, none, false), message(3, none, false)]),
        );
        let now = vec![
            message(1, none, false),
            message(2, Flags::FLAGGED, false),
            message(3, Flags::SEEN, false),
        ];
        assert_eq!(
            said(view.sync(snapshot(now))),
            "* 1 FETCH (UID 2 FLAGS (\\Flagged))\r\n* 2 FETCH (UID 3 FLAGS (\\Seen))\r\n"
        );
    }

    /// §6.4.8 and §9: a sequence number past the last message, or `*` in an empty
    /// mailbox, is an error; a UID set simply names what is there.
    #[test]
    fn resolve_sequence_numbers_and_uids() {
        let set = |text: &[u8]| {
            crate::imap::parse::Parser::new(text)
                .sequence_set()
                .unwrap()
        };
        let none = Flags::empty();
        let empty = Selected::open("INBOX", false, snapshot(vec![]));
        assert!(empty.resolve(&set(b"*"), false).is_err());
        assert_eq!(empty.resolve(&set(b"*"), true), Ok(vec![]));
        let three = (1..=3).map(|n| message(n * 10, none, false)).collect();
        let view = Selected::open("INBOX", false, snapshot(three));
        assert_eq!(view.resolve(&set(b"*"), false), Ok(vec![2]));
        assert_eq!(view.resolve(&set(b"2:3"), false), Ok(vec![1, 2]));
        assert!(view.resolve(&set(b"4"), false).is_err());
        assert_eq!(view.resolve(&set(b"15:*"), true), Ok(vec![1, 2]));
        assert_eq!(view.resolve(&set(b"99"), true), Ok(vec![]));
    }
}
