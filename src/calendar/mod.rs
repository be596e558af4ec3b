//! Meetings: iCalendar (RFC 5545) objects carried by mail as iTIP (RFC 5546) over
//! iMIP (RFC 6047). A meeting request is an email with a `text/calendar;
//! method=REQUEST` part; the answer is another email with `method=REPLY`.
//!
//! | what | module |
//! |---|---|
//! | a meeting, its people, their answers (RFC 5546 §2) | [`model`] |
//! | TZID, VTIMEZONE, the tz database (RFC 5545 §3.3.5, §3.6.5) | [`zone`] |
//! | iCalendar text in, a meeting out (with the `icalendar` crate) | [`parse`] |
//! | a meeting out as iCalendar text | [`write`](mod@write) |
//! | a new meeting's REQUEST, an attendee's REPLY | [`invite`] |
//! | what REQUEST, REPLY and CANCEL do to a calendar (RFC 5546 §3.2) | [`itip`] |
//! | one `.ics` per meeting beside each Maildir, written durably | [`store`] |
//! | the email around it, and finding it in mail (RFC 6047 §2) | [`imip`] |
//! | applying a delivered message to the recipients' calendars | [`deliver`] |
//!
//! Layering: stands on `store` (the durable helper, the mailbox gate) and touches
//! no protocol. SMTP's acceptance path calls [`deliver`] after a local commit; the
//! web view sends the messages through that same path (`smtp::submit`).
//!
//! Left out: recurring meetings, COUNTER and DECLINECOUNTER, REFRESH, ADD,
//! delegation, free/busy (RFC 5546 §3.2.4–§3.2.8, §3.3), alarms.

pub mod deliver;
pub mod imip;
pub mod invite;
pub mod itip;
pub mod model;
pub mod parse;
pub mod store;
pub mod write;
pub mod zone;

#[cfg(test)]
mod tests;

pub use model::{Attendee, Meeting, Method, PartStat, Person, When};
pub use store::Calendars;
