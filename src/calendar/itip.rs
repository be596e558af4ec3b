//! What an incoming iTIP message does to one person's calendar (RFC 5546 §3.2), as a
//! pure function: the stored meeting (if any), the message, who sent it, and who
//! received it, in; the meeting to save, or why nothing changes, out.
//!
//! The rules, each with its section:
//!
//! - **REQUEST** (§3.2.2): only from its ORGANIZER (RFC 6047 §3: the originator of
//!   the message is the organizer); only to one of its ATTENDEEs. A new UID is added;
//!   a higher SEQUENCE replaces the stored version (and asks the attendee again); the
//!   same SEQUENCE updates the details and keeps the answer (§2.1.5); a lower one is
//!   stale and ignored. A meeting we know under another organizer is not replaced.
//! - **REPLY** (§3.2.3): only to the organizer of a meeting in the calendar; only
//!   from the ATTENDEE it speaks for (RFC 6047 §3.1: the sender must be that
//!   attendee; postie asks both the envelope sender and `From:`), who must be one
//!   the meeting invited; a reply to an older SEQUENCE is ignored (§2.1.5).
//! - **CANCEL** (§3.2.5): only from the organizer of a meeting in the calendar,
//!   with no lower SEQUENCE; the meeting stays, marked cancelled.
//!
//! An unknown meeting is never created by a REPLY or CANCEL: it changes nothing and
//! the message is simply mail.

use super::model::{same_address, Meeting, Method, PartStat};
use super::parse::Itip;

/// Who a message came from: the envelope's reverse path (RFC 5321 §4.1.2) and the
/// address in its `From:` field (RFC 5322 §3.6.2).
#[derive(Debug, Clone, Copy)]
pub struct Sender<'a> {
    pub envelope: &'a str,
    pub from: &'a str,
}

impl Sender<'_> {
    /// Both say they are `address`.
    pub fn is(&self, address: &str) -> bool {
        same_address(self.envelope, address) && same_address(self.from, address)
    }
}

/// What applying a message comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Save this meeting; the note says what changed.
    Save { meeting: Box<Meeting>, note: String },
    /// Nothing changes, for this reason.
    Ignore(String),
}

fn ignore<T: Into<String>>(why: T) -> Outcome {
    Outcome::Ignore(why.into())
}

/// RFC 5546 §2.1.5: a message whose SEQUENCE is lower than the stored one's speaks
/// of an earlier version of the meeting, and changes nothing.
fn older(new: &Meeting, old: &Meeting) -> Option<Outcome> {
    (new.sequence < old.sequence).then(|| {
        ignore(format!(
            "SEQUENCE {} is older than the {} already here",
            new.sequence, old.sequence
        ))
    })
}

// ANCHOR: apply
/// Applies `message` to `recipient`'s calendar, where `stored` is the meeting of
/// the same UID, if there is one.
pub fn apply(recipient: &str, stored: Option<&Meeting>, message: &Itip, sender: Sender) -> Outcome {
    let new = &message.meeting;
    match message.method {
        Method::Request => request(recipient, stored, new, sender),
        Method::Reply => reply(recipient, stored, new, sender),
        Method::Cancel => cancel(recipient, stored, new, sender),
    }
}
// ANCHOR_END: apply

fn request(recipient: &str, stored: Option<&Meeting>, new: &Meeting, sender: Sender) -> Outcome {
    if !sender.is(&new.organizer.address) {
        return ignore(format!(
            "the invitation's ORGANIZER <{}> is not its sender <{}> (From <{}>)",
            new.organizer.address, sender.envelope, sender.from
        ));
    }
    if new.attendee(recipient).is_none() {
        return ignore(format!(
            "the invitation does not list <{recipient}> as an ATTENDEE"
        ));
    }
    let Some(old) = stored else {
        return Outcome::Save {
            meeting: Box::new(new.clone()),
            note: format!("invited by {}", new.organizer.shown()),
        };
    };
    if !old.organizer.is(&new.organizer.address) {
        return ignore(format!(
            "this UID belongs to a meeting organized by <{}>",
            old.organizer.address
        ));
    }
    if let Some(stale) = older(new, old) {
        return stale;
    }
    let mut meeting = new.clone();
    if new.sequence == old.sequence {
        // RFC 5546 §2.1.5: the same version again; the answer given still holds.
        if new.dtstamp < old.dtstamp {
            return ignore("an older copy of a version already here");
        }
        if let (Some(mine), Some(was)) = (meeting.attendee_mut(recipient), old.attendee(recipient))
        {
            mine.partstat = was.partstat;
        }
        return Outcome::Save {
            meeting: Box::new(meeting),
            note: "details updated".into(),
        };
    }
    Outcome::Save {
        meeting: Box::new(meeting),
        note: format!("updated to SEQUENCE {}: please answer again", new.sequence),
    }
}

fn reply(recipient: &str, stored: Option<&Meeting>, new: &Meeting, sender: Sender) -> Outcome {
    let Some(old) = stored else {
        return ignore("a reply about a meeting that is not in this calendar");
    };
    if !old.organizer.is(recipient) {
        return ignore(format!("<{recipient}> does not organize this meeting"));
    }
    let Some(answer) = new.attendees.first() else {
        return ignore("the reply names no ATTENDEE");
    };
    let who = &answer.person.address;
    if !sender.is(who) {
        return ignore(format!(
            "the reply speaks for <{who}> but comes from <{}> (From <{}>)",
            sender.envelope, sender.from
        ));
    }
    if new.sequence < old.sequence {
        return ignore(format!(
            "the reply answers SEQUENCE {}, the meeting is at {}",
            new.sequence, old.sequence
        ));
    }
    if !matches!(
        answer.partstat,
        PartStat::Accepted | PartStat::Tentative | PartStat::Declined
    ) {
        return ignore(format!(
            "a reply with PARTSTAT {}",
            answer.partstat.as_str()
        ));
    }
    let mut meeting = old.clone();
    let Some(attendee) = meeting.attendee_mut(who) else {
        return ignore(format!("<{who}> was not invited to this meeting"));
    };
    attendee.partstat = answer.partstat;
    attendee.rsvp = false;
    if attendee.person.name.is_empty() {
        attendee.person.name = answer.person.name.clone();
    }
    Outcome::Save {
        note: format!("{} {}", answer.person.shown(), answer.partstat.verb()),
        meeting: Box::new(meeting),
    }
}

fn cancel(recipient: &str, stored: Option<&Meeting>, new: &Meeting, sender: Sender) -> Outcome {
    let Some(old) = stored else {
        return ignore("a cancellation of a meeting that is not in this calendar");
    };
    if !old.organizer.is(&new.organizer.address) || !sender.is(&old.organizer.address) {
        return ignore(format!(
            "only the organizer <{}> may cancel this meeting",
            old.organizer.address
        ));
    }
    if let Some(stale) = older(new, old) {
        return stale;
    }
    // RFC 5546 §3.2.5: a CANCEL that lists attendees cancels it for those only.
    if !new.attendees.is_empty() && new.attendee(recipient).is_none() {
        return ignore("the cancellation is for other attendees");
    }
    let mut meeting = old.clone();
    meeting.cancelled = true;
    meeting.sequence = new.sequence;
    meeting.dtstamp = new.dtstamp;
    Outcome::Save {
        meeting: Box::new(meeting),
        note: "cancelled by the organizer".into(),
    }
}
