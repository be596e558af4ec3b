//! The invitation card a message page shows when the message carries a meeting
//! (RFC 6047 §2: the `text/calendar` part of a `multipart/alternative`): what, when,
//! where, who, and where the answer buttons post. A module of its own, below both the
//! message page (`pages.rs`) and the meeting pages (`meeting_pages.rs`), so that
//! neither has to reach into the other.

use crate::calendar::imip::{carried, when_text};
use crate::calendar::model::Method;
use crate::calendar::parse::itip;
use crate::http::request::percent_encode;

/// The card on a message that carries a meeting.
pub struct Card {
    pub method: &'static str,
    pub title: String,
    pub when: String,
    pub start: String,
    pub location: String,
    pub organizer: String,
    pub attendees: Vec<String>,
    /// For a REPLY: "bob@b.test has accepted".
    pub answer: String,
    pub reply_action: String,
    /// Why the calendar part cannot be used, if it cannot.
    pub problem: String,
}

// ANCHOR: card
/// The invitation card for a message, if it carries a calendar part.
pub fn card(bytes: &[u8]) -> Option<Card> {
    let found = carried(bytes)?;
    let mut card = Card {
        method: "",
        title: String::new(),
        when: String::new(),
        start: String::new(),
        location: String::new(),
        organizer: String::new(),
        attendees: vec![],
        answer: String::new(),
        reply_action: String::new(),
        problem: String::new(),
    };
    let message = match itip(&found.calendar) {
        Ok(message) => message,
        Err(why) => {
            card.problem = format!("This message carries a calendar postie cannot use: {why}.");
            return Some(card);
        }
    };
    let m = &message.meeting;
    card.method = message.method.as_str();
    card.title = m.title().to_string();
    if let Some(w) = &m.when {
        card.when = when_text(w.start, w.end, w.zone.as_deref());
        card.start = w.start.to_rfc3339();
    }
    card.location = m.location.clone();
    card.organizer = m.organizer.shown();
    card.attendees = m.attendees.iter().map(|a| a.person.shown()).collect();
    if message.method == Method::Reply {
        if let Some(a) = m.attendees.first() {
            card.answer = format!("{} {}", a.person.shown(), a.partstat.verb());
        }
    }
    card.reply_action = format!("/meetings/{}/reply", percent_encode(&m.uid));
    Some(card)
}
// ANCHOR_END: card
