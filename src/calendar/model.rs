//! A meeting as iTIP sees it (RFC 5546 §2, §3.2): who organizes it, who is asked and
//! what each answered, when it is, and which version this is.
//!
//! Times are kept as instants (UTC) together with the IANA zone they were given in,
//! when there is one: the instant decides when the meeting happens, the zone how it
//! is written back (RFC 5545 §3.3.5, form 3) and shown.

use chrono::{DateTime, Utc};

/// The iTIP method of a calendar object (RFC 5546 §1.4; RFC 5545 §3.7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// The organizer invites, or sends a new version (RFC 5546 §3.2.2).
    Request,
    /// An attendee answers (RFC 5546 §3.2.3).
    Reply,
    /// The organizer calls it off (RFC 5546 §3.2.5).
    Cancel,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Request => "REQUEST",
            Method::Reply => "REPLY",
            Method::Cancel => "CANCEL",
        }
    }

    pub fn parse(text: &str) -> Option<Method> {
        match text.trim().to_ascii_uppercase().as_str() {
            "REQUEST" => Some(Method::Request),
            "REPLY" => Some(Method::Reply),
            "CANCEL" => Some(Method::Cancel),
            _ => None,
        }
    }
}

/// An attendee's participation status for a VEVENT (RFC 5545 §3.2.12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartStat {
    NeedsAction,
    Accepted,
    Tentative,
    Declined,
    Delegated,
}

impl PartStat {
    pub fn as_str(self) -> &'static str {
        match self {
            PartStat::NeedsAction => "NEEDS-ACTION",
            PartStat::Accepted => "ACCEPTED",
            PartStat::Tentative => "TENTATIVE",
            PartStat::Declined => "DECLINED",
            PartStat::Delegated => "DELEGATED",
        }
    }

    /// RFC 5545 §3.2.12: the default is NEEDS-ACTION; an unknown value (an
    /// x-name or iana-token) is also to be treated as NEEDS-ACTION.
    pub fn parse(text: &str) -> PartStat {
        match text.trim().to_ascii_uppercase().as_str() {
            "ACCEPTED" => PartStat::Accepted,
            "TENTATIVE" => PartStat::Tentative,
            "DECLINED" => PartStat::Declined,
            "DELEGATED" => PartStat::Delegated,
            _ => PartStat::NeedsAction,
        }
    }

    /// The three answers a person gives (RFC 5546 §3.2.3).
    pub fn answer(text: &str) -> Option<PartStat> {
        match text.trim().to_ascii_uppercase().as_str() {
            "ACCEPTED" => Some(PartStat::Accepted),
            "TENTATIVE" => Some(PartStat::Tentative),
            "DECLINED" => Some(PartStat::Declined),
            _ => None,
        }
    }

    /// "has accepted", for the message a human reads.
    pub fn verb(self) -> &'static str {
        match self {
            PartStat::NeedsAction => "has not answered",
            PartStat::Accepted => "has accepted",
            PartStat::Tentative => "has tentatively accepted",
            PartStat::Declined => "has declined",
            PartStat::Delegated => "has delegated",
        }
    }
}

/// A calendar user: an address (RFC 5545 §3.3.3, `mailto:`) and a common name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The address without `mailto:`, as given.
    pub address: String,
    /// The CN parameter; empty when there is none.
    pub name: String,
}

impl Person {
    pub fn new(address: &str, name: &str) -> Person {
        Person {
            address: address.trim().to_string(),
            name: name.trim().to_string(),
        }
    }

    /// Is this the same calendar user as `address`? Addresses compare without case.
    pub fn is(&self, address: &str) -> bool {
        same_address(&self.address, address)
    }

    /// `Alice <alice@a.test>` or the bare address.
    pub fn shown(&self) -> String {
        match self.name.is_empty() {
            true => self.address.clone(),
            false => format!("{} <{}>", self.name, self.address),
        }
    }
}

/// Two addresses name the same person. The local part is case-sensitive in
/// principle (RFC 5321 §2.4), but every calendar client folds it, and so does postie's
/// store; `mailto:` is stripped.
pub fn same_address(a: &str, b: &str) -> bool {
    let a = strip_mailto(a);
    let b = strip_mailto(b);
    !a.is_empty() && a.eq_ignore_ascii_case(b)
}

/// `mailto:bob@b.test` → `bob@b.test` (RFC 6068; the scheme is case-insensitive).
pub fn strip_mailto(value: &str) -> &str {
    let value = value.trim();
    match value.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("mailto:") => value[7..].trim(),
        _ => value,
    }
}

/// One ATTENDEE (RFC 5545 §3.8.4.1) and what they answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attendee {
    pub person: Person,
    pub partstat: PartStat,
    /// RSVP=TRUE: the organizer asks for a reply (RFC 5545 §3.2.17).
    pub rsvp: bool,
}

/// When a meeting is: its start and end, and the zone it was given in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct When {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// An IANA zone name (`Europe/Berlin`) to write the times in, with a VTIMEZONE;
    /// `None`: written in UTC.
    pub zone: Option<String>,
}

/// One meeting: a VEVENT as an iTIP message or a calendar store carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meeting {
    /// RFC 5545 §3.8.4.7: the same for every version of the meeting.
    pub uid: String,
    /// RFC 5545 §3.8.7.4: the organizer raises it for each significant change.
    pub sequence: u32,
    /// RFC 5545 §3.8.7.2: when this object was made.
    pub dtstamp: DateTime<Utc>,
    /// `None` only in a REPLY or CANCEL that leaves DTSTART out (RFC 5546 §3.2.3).
    pub when: Option<When>,
    pub summary: String,
    pub location: String,
    pub description: String,
    pub organizer: Person,
    pub attendees: Vec<Attendee>,
    /// STATUS:CANCELLED (RFC 5545 §3.8.1.11), after a CANCEL.
    pub cancelled: bool,
}

impl Meeting {
    /// The attendee with this address.
    pub fn attendee(&self, address: &str) -> Option<&Attendee> {
        self.attendees.iter().find(|a| a.person.is(address))
    }

    pub fn attendee_mut(&mut self, address: &str) -> Option<&mut Attendee> {
        self.attendees.iter_mut().find(|a| a.person.is(address))
    }

    /// The title to show: the SUMMARY, or a stand-in when there is none.
    pub fn title(&self) -> &str {
        match self.summary.trim().is_empty() {
            true => "(untitled meeting)",
            false => self.summary.trim(),
        }
    }
}
