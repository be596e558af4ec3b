//! Making the iTIP objects a person sends: a new meeting's REQUEST (RFC 5546 §3.2.2)
//! from what they typed, and an attendee's REPLY (§3.2.3) to a stored meeting.
//! Every check is here, so the JSON API and the form refuse the same things with
//! the same sentences.

use chrono::{DateTime, Duration, Utc};

use super::model::{Attendee, Meeting, PartStat, Person, When};
use super::parse::Invalid;
use super::zone::iana;

/// At most this many attendees in one meeting.
pub const MAX_ATTENDEES: usize = 100;
/// A meeting lasts at most a week.
pub const MAX_MINUTES: i64 = 7 * 24 * 60;
/// A title of at most this many characters.
pub const MAX_TITLE: usize = 200;

/// What a person asks for when they create a meeting.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub title: String,
    /// RFC 3339 with an offset: `2026-11-02T09:00:00+01:00`.
    pub start: String,
    pub duration_minutes: i64,
    /// An IANA name: `Europe/Berlin`.
    pub time_zone: String,
    pub location: String,
    pub attendees: Vec<String>,
}

fn refuse<T>(why: impl Into<String>) -> Result<T, Invalid> {
    Err(Invalid(why.into()))
}

// ANCHOR: invitation
/// The meeting `organizer` creates from `draft`, version 0, every attendee asked to
/// answer (PARTSTAT=NEEDS-ACTION, RSVP=TRUE; RFC 5546 §3.2.2).
pub fn invitation(
    organizer: Person,
    draft: &Draft,
    now: DateTime<Utc>,
    uid: String,
) -> Result<Meeting, Invalid> {
    let title = draft.title.trim();
    if title.is_empty() || title.chars().count() > MAX_TITLE {
        return refuse(format!("The title must have 1 to {MAX_TITLE} characters."));
    }
    let start = DateTime::parse_from_rfc3339(draft.start.trim()).map_err(|_| {
        Invalid(format!(
            "Start must be a date and time with its offset (RFC 3339), like \
             2026-11-02T09:00:00+01:00, not {:?}.",
            draft.start
        ))
    })?;
    if !(1..=MAX_MINUTES).contains(&draft.duration_minutes) {
        return refuse(format!("DurationMinutes must be 1 to {MAX_MINUTES}."));
    }
    let Some(zone) = iana(&draft.time_zone).filter(|_| !draft.time_zone.trim().is_empty()) else {
        return refuse(format!(
            "TimeZone must be an IANA time zone name like Europe/Berlin, not {:?}.",
            draft.time_zone
        ));
    };
    if draft.attendees.is_empty() || draft.attendees.len() > MAX_ATTENDEES {
        return refuse(format!("Invite 1 to {MAX_ATTENDEES} attendees."));
    }
    let mut attendees: Vec<Attendee> = Vec::new();
    for address in &draft.attendees {
        let address = address.trim();
        let valid = crate::address::parse_mailbox(address)
            .is_ok_and(|m| matches!(m.host, crate::address::Host::Domain(_)));
        if !valid {
            return refuse(format!(
                "{address:?} is not an address like bob@example.com."
            ));
        }
        if organizer.is(address) {
            return refuse("The organizer is not one of the attendees.");
        }
        if attendees.iter().any(|a| a.person.is(address)) {
            return refuse(format!("{address} is listed twice."));
        }
        attendees.push(Attendee {
            person: Person::new(address, ""),
            partstat: PartStat::NeedsAction,
            rsvp: true,
        });
    }
    let start = start.with_timezone(&Utc);
    Ok(Meeting {
        uid,
        sequence: 0,
        dtstamp: now,
        when: Some(When {
            start,
            end: start + Duration::minutes(draft.duration_minutes),
            zone: Some(zone.name().to_string()),
        }),
        summary: title.to_string(),
        location: draft.location.trim().to_string(),
        description: String::new(),
        organizer,
        attendees,
        cancelled: false,
    })
}
// ANCHOR_END: invitation

// ANCHOR: answer
/// The REPLY `me` sends about `meeting` (RFC 5546 §3.2.3): the same UID and
/// SEQUENCE, a new DTSTAMP, the ORGANIZER, and only my ATTENDEE line.
pub fn answer(
    meeting: &Meeting,
    me: &str,
    partstat: PartStat,
    now: DateTime<Utc>,
) -> Option<Meeting> {
    let mine = meeting.attendee(me)?;
    Some(Meeting {
        dtstamp: now,
        attendees: vec![Attendee {
            person: mine.person.clone(),
            partstat,
            rsvp: false,
        }],
        ..meeting.clone()
    })
}
// ANCHOR_END: answer

/// A new UID (RFC 5545 §3.8.4.7: globally unique; RFC 7986 §5.3 suggests a random
/// one that does not reveal a host): 128 random bits, hex.
pub fn new_uid() -> String {
    let mut bytes = [0u8; 16];
    use ring::rand::SecureRandom;
    if ring::rand::SystemRandom::new().fill(&mut bytes).is_err() {
        let seed = format!("{:?}{}", std::time::SystemTime::now(), std::process::id());
        bytes.copy_from_slice(
            &ring::digest::digest(&ring::digest::SHA256, seed.as_bytes()).as_ref()[..16],
        );
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
