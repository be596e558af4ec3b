//! Where an incoming meeting message meets the calendar: at local delivery, right
//! after the message is durably in the recipient's Maildir (ARCHITECTURE.md, *250
//! only after the fsyncs*).
//!
//! Why there, and not when the message is viewed: delivery is the one moment that
//! knows the envelope sender (RFC 5321 §4.1.1.2), which RFC 6047 §3 asks to check
//! against the ORGANIZER or ATTENDEE; it happens once per recipient, whether or not
//! anyone opens the message (the organizer's calendar shows "accepted" without the
//! reply being read); and it is the same for mail from SMTP, from submission and
//! from the web view, which all pass through `smtp::accept`.
//!
//! It never puts the mail at risk: it runs only after the commit succeeded, and a
//! calendar that cannot be applied (malformed, from the wrong sender, about an
//! unknown meeting, or a disk error) is logged and leaves the message as ordinary
//! mail. The message's bytes are kept in memory while DATA lasts only up to
//! [`MAX_KEPT`]; a larger message is mail and nothing else.

use std::path::PathBuf;

use super::imip::carried;
use super::itip::{Outcome, Sender};
use super::parse;
use super::store::Calendars;
use crate::store::maildir::MailboxPath;

/// The largest message whose calendar part is applied (an invitation is a few KiB;
/// one with large attachments is still delivered, only not applied).
pub const MAX_KEPT: usize = 1024 * 1024;

// ANCHOR: pending
/// A message on its way into local mailboxes, watched for a calendar part.
pub struct Pending {
    calendars: Calendars,
    mailboxes: Vec<MailboxPath>,
    reverse_path: String,
    bytes: Vec<u8>,
    too_large: bool,
}
// ANCHOR_END: pending

impl Pending {
    pub fn new(
        maildir_root: PathBuf,
        mailboxes: Vec<MailboxPath>,
        reverse_path: String,
    ) -> Pending {
        Pending {
            calendars: Calendars::new(&maildir_root),
            mailboxes,
            reverse_path,
            bytes: Vec::new(),
            too_large: false,
        }
    }

    /// More of the message's text, as it is written to the Maildir.
    pub fn write(&mut self, bytes: &[u8]) {
        if self.too_large {
            return;
        }
        if self.bytes.len() + bytes.len() > MAX_KEPT {
            self.too_large = true;
            self.bytes = Vec::new();
            return;
        }
        self.bytes.extend_from_slice(bytes);
    }

    // ANCHOR: delivered
    /// The message is durably delivered: apply its calendar part, if it has one, to
    /// each recipient's calendar. Returns what happened for each, for the log and
    /// the tests.
    pub fn delivered(self) -> Vec<(String, Outcome)> {
        if self.too_large || !mentions_calendar(&self.bytes) {
            return vec![];
        }
        let Some(found) = carried(&self.bytes) else {
            return vec![];
        };
        let message = match parse::itip(&found.calendar) {
            Ok(message) => message,
            Err(why) => {
                log::info!(
                    "calendar: a message from <{}> was delivered as mail only: {why}",
                    self.reverse_path
                );
                return vec![];
            }
        };
        let sender = Sender {
            envelope: &self.reverse_path,
            from: &found.from,
        };
        let mut outcomes = Vec::new();
        for mailbox in &self.mailboxes {
            let address = format!("{}@{}", mailbox.mailbox, mailbox.domain);
            let outcome = match self.calendars.apply(mailbox, &address, &message, sender) {
                Ok(outcome) => outcome,
                Err(e) => {
                    log::error!(
                        "calendar of {address}: cannot apply {}: {e}",
                        message.meeting.uid
                    );
                    continue;
                }
            };
            match &outcome {
                Outcome::Save { note, .. } => log::info!(
                    "calendar of {address}: {} {:?}: {note}",
                    message.method.as_str(),
                    message.meeting.uid
                ),
                Outcome::Ignore(why) => log::info!(
                    "calendar of {address}: {} {:?} changes nothing: {why}",
                    message.method.as_str(),
                    message.meeting.uid
                ),
            }
            outcomes.push((address, outcome));
        }
        outcomes
    }
    // ANCHOR_END: delivered
}

/// A cheap look before parsing MIME: does a calendar type appear at all?
fn mentions_calendar(bytes: &[u8]) -> bool {
    let needles: [&[u8]; 2] = [b"text/calendar", b"application/ics"];
    bytes.windows(15).any(|w| {
        needles
            .iter()
            .any(|n| w.len() >= n.len() && w[..n.len()].eq_ignore_ascii_case(n))
    })
}
