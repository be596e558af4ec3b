//! Meetings in the web view and its API (RFC 5546 over RFC 6047; the rules live in
//! `crate::calendar`): creating one sends its REQUEST, answering one sends the REPLY,
//! both through SMTP's acceptance path (`smtp::submit`), as the logged-in user.
//!
//! | request | answer |
//! |---|---|
//! | `POST /api/v1/meetings` `{"Title","Start","DurationMinutes","TimeZone","Location","Attendees"}` | `{"UID": …}` |
//! | `POST /api/v1/meetings/{UID}/reply` `{"PartStat": "ACCEPTED"}` | the meeting |
//! | `GET /api/v1/meetings` | the viewer's meetings: `UID`, `Title`, `Start`, `End`, `Organizer`, `Attendees` |
//! | `GET /calendar/{address}.ics` | the calendar as one iCalendar object (read-only) |
//!
//! The same authentication and `Origin` rule as the rest of the API (see
//! [`super::auth`]). A meeting needs a sender, so only a logged-in viewer (with
//! `--users`) may create or answer one. Every refusal is a 4xx with a sentence, and
//! changes nothing: the organizer's copy is written before the REQUEST is sent and
//! removed again if sending fails.

use std::sync::Arc;

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::auth::Viewer;
use crate::calendar::imip::compose;
use crate::calendar::invite::{answer, invitation, new_uid, Draft};
use crate::calendar::write::write_all;
use crate::calendar::{Calendars, Meeting, Method, PartStat, Person};
use crate::http::{Request, Response, Status};
use crate::policy::Policy;
use crate::smtp::accept::Storage;
use crate::smtp::submit::{submit, Refused};
use crate::store::mailbox::{domain_name, mailbox_name};
use crate::store::maildir::MailboxPath;

/// What the web view needs to send and keep meetings.
pub struct Meetings {
    storage: Arc<Storage>,
    policy: Arc<dyn Policy>,
    hostname: String,
    pub calendars: Calendars,
}

/// `POST /api/v1/meetings`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NewMeeting {
    pub title: String,
    pub start: String,
    pub duration_minutes: i64,
    pub time_zone: String,
    #[serde(default)]
    pub location: String,
    pub attendees: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Answer {
    part_stat: String,
}

/// One meeting in `GET /api/v1/meetings`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Listed {
    #[serde(rename = "UID")]
    pub uid: String,
    pub title: String,
    /// RFC 3339, UTC.
    pub start: String,
    pub end: String,
    pub time_zone: String,
    pub location: String,
    pub organizer: String,
    pub attendees: Vec<ListedAttendee>,
    pub sequence: u32,
    /// `CONFIRMED` or `CANCELLED`.
    pub status: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListedAttendee {
    pub address: String,
    pub part_stat: &'static str,
}

impl Listed {
    pub fn of(m: &Meeting) -> Listed {
        let rfc3339 =
            |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        Listed {
            uid: m.uid.clone(),
            title: m.title().to_string(),
            start: m
                .when
                .as_ref()
                .map(|w| rfc3339(w.start))
                .unwrap_or_default(),
            end: m.when.as_ref().map(|w| rfc3339(w.end)).unwrap_or_default(),
            time_zone: m
                .when
                .as_ref()
                .and_then(|w| w.zone.clone())
                .unwrap_or_else(|| "UTC".into()),
            location: m.location.clone(),
            organizer: m.organizer.address.clone(),
            attendees: m
                .attendees
                .iter()
                .map(|a| ListedAttendee {
                    address: a.person.address.clone(),
                    part_stat: a.partstat.as_str(),
                })
                .collect(),
            sequence: m.sequence,
            status: if m.cancelled {
                "CANCELLED"
            } else {
                "CONFIRMED"
            },
        }
    }
}

fn refuse(status: u16, sentence: impl Into<String>) -> Response {
    Response::text(Status(status), sentence)
}

fn store_failed(e: std::io::Error) -> Response {
    log::warn!("web: the calendar store failed: {e}");
    refuse(
        500,
        format!("The calendar store failed: {e}. Nothing was sent."),
    )
}

/// `bob@b.test` through the store's gate.
pub fn mailbox_of(address: &str) -> Option<MailboxPath> {
    let (local, domain) = address.rsplit_once('@')?;
    Some(MailboxPath {
        domain: domain_name(domain).ok()?,
        mailbox: mailbox_name(local).ok()?,
    })
}

/// The logged-in viewer's address and mailbox, or the sentence why there is none.
fn who(viewer: &Viewer) -> Result<(String, MailboxPath), Response> {
    let Some(name) = viewer.name() else {
        return Err(refuse(
            403,
            "Meetings need a login: start postie with --users so the web view knows who is \
             sending the invitation.",
        ));
    };
    let mailbox =
        mailbox_of(name).ok_or_else(|| refuse(400, "Your address cannot be a mailbox."))?;
    Ok((name.to_string(), mailbox))
}

fn refused(why: Refused) -> Response {
    match why {
        Refused::Recipient(why) => refuse(400, format!("Not sent: {why}.")),
        Refused::TryLater(why) => refuse(503, format!("Not sent: {why}.")),
        Refused::Store(_) => refuse(500, format!("Not sent: {why}.")),
    }
}

impl Meetings {
    pub fn new(storage: Arc<Storage>, policy: Arc<dyn Policy>, hostname: &str) -> Meetings {
        Meetings {
            calendars: Calendars::new(storage.maildir.root()),
            storage,
            policy,
            hostname: hostname.to_string(),
        }
    }

    // ANCHOR: create
    /// A new meeting by the viewer: kept in their calendar, its REQUEST sent.
    pub fn create(&self, viewer: &Viewer, draft: &Draft) -> Result<Meeting, Response> {
        let (me, mailbox) = who(viewer)?;
        let now = Utc::now();
        let meeting = invitation(Person::new(&me, ""), draft, now, new_uid())
            .map_err(|why| refuse(400, why.0))?;
        self.calendars
            .save(&mailbox, &meeting)
            .map_err(store_failed)?;
        let to: Vec<Person> = meeting.attendees.iter().map(|a| a.person.clone()).collect();
        let message = compose(
            Method::Request,
            &meeting,
            &meeting.organizer,
            &to,
            now,
            &meeting.uid,
        );
        let addresses: Vec<String> = to.iter().map(|p| p.address.clone()).collect();
        if let Err(why) = submit(
            &self.storage,
            &*self.policy,
            &self.hostname,
            &me,
            &addresses,
            &message,
        ) {
            // Nothing was sent, so nothing is kept.
            if let Err(e) = self.calendars.remove(&mailbox, &meeting.uid) {
                log::error!("calendar of {me}: cannot undo {}: {e}", meeting.uid);
            }
            return Err(refused(why));
        }
        log::info!(
            "calendar of {me}: invited {} to {:?}",
            addresses.join(", "),
            meeting.uid
        );
        Ok(meeting)
    }
    // ANCHOR_END: create

    // ANCHOR: reply
    /// The viewer answers a meeting in their calendar: the REPLY goes to the
    /// organizer, then their own copy records the answer.
    pub fn reply(&self, viewer: &Viewer, uid: &str, partstat: &str) -> Result<Meeting, Response> {
        let (me, mailbox) = who(viewer)?;
        let Some(partstat) = PartStat::answer(partstat) else {
            return Err(refuse(
                400,
                format!("PartStat must be ACCEPTED, TENTATIVE or DECLINED, not {partstat:?}."),
            ));
        };
        let meeting = match self.calendars.get(&mailbox, uid) {
            Ok(Some(meeting)) => meeting,
            Ok(None) => {
                return Err(refuse(
                    404,
                    "There is no meeting with this UID in your calendar.",
                ))
            }
            Err(e) => return Err(store_failed(e)),
        };
        if meeting.cancelled {
            return Err(refuse(
                409,
                "This meeting was cancelled; there is nothing to answer.",
            ));
        }
        let now = Utc::now();
        let Some(reply) = answer(&meeting, &me, partstat, now) else {
            return Err(refuse(403, "You are not an attendee of this meeting."));
        };
        let from = reply.attendees[0].person.clone();
        let unique = format!("{}-reply-{}", new_uid(), now.timestamp());
        let message = compose(
            Method::Reply,
            &reply,
            &from,
            std::slice::from_ref(&meeting.organizer),
            now,
            &unique,
        );
        submit(
            &self.storage,
            &*self.policy,
            &self.hostname,
            &me,
            std::slice::from_ref(&meeting.organizer.address),
            &message,
        )
        .map_err(refused)?;
        let updated = self
            .calendars
            .update(&mailbox, uid, |m| match m.attendee_mut(&me) {
                Some(a) => {
                    a.partstat = partstat;
                    a.rsvp = false;
                    true
                }
                None => false,
            });
        match updated {
            Ok(Some(m)) => Ok(m),
            Ok(None) => Err(refuse(
                404,
                "The meeting went away meanwhile; the answer was sent.",
            )),
            Err(e) => Err(refuse(
                500,
                format!("The answer was sent, but your calendar could not record it: {e}"),
            )),
        }
    }
    // ANCHOR_END: reply

    /// The viewer's meetings, by start.
    pub fn list(&self, viewer: &Viewer) -> Result<Vec<Meeting>, Response> {
        let (_, mailbox) = who(viewer)?;
        self.calendars.list(&mailbox).map_err(store_failed)
    }
}

fn disabled() -> Response {
    refuse(404, "Meetings are not enabled on this web view.")
}

/// Answers `/api/v1/meetings…`; `rest` is the path after `meetings`.
pub fn api(
    meetings: Option<&Meetings>,
    viewer: &Viewer,
    request: &Request,
    rest: &[String],
) -> Response {
    let Some(meetings) = meetings else {
        return disabled();
    };
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    let method = request.method.as_str();
    let result = match (rest.as_slice(), method) {
        ([], "GET" | "HEAD") => meetings
            .list(viewer)
            .map(|list| Response::json(&list.iter().map(Listed::of).collect::<Vec<_>>())),
        ([], "POST") => match serde_json::from_slice::<NewMeeting>(&request.body) {
            Ok(body) => meetings.create(viewer, &draft(body)).map(|m| {
                #[derive(Serialize)]
                struct Created {
                    #[serde(rename = "UID")]
                    uid: String,
                }
                Response::json(&Created { uid: m.uid })
            }),
            Err(e) => Err(refuse(400, format!(
                "The body must be JSON like {{\"Title\": \"…\", \"Start\": \"2026-11-02T09:00:00+01:00\", \
                 \"DurationMinutes\": 30, \"TimeZone\": \"Europe/Berlin\", \"Location\": \"…\", \
                 \"Attendees\": [\"bob@example.com\"]}}: {e}"
            ))),
        },
        ([uid, "reply"], "POST") => match serde_json::from_slice::<Answer>(&request.body) {
            Ok(body) => meetings
                .reply(viewer, uid, &body.part_stat)
                .map(|m| Response::json(&Listed::of(&m))),
            Err(e) => Err(refuse(400, format!(
                "The body must be JSON like {{\"PartStat\": \"ACCEPTED\"}}: {e}"
            ))),
        },
        ([], _) => Err(refuse(405, format!("{method} is not allowed here.")).with("Allow", "GET, HEAD, POST")),
        ([_, "reply"], _) => Err(refuse(405, format!("{method} is not allowed here.")).with("Allow", "POST")),
        _ => Err(refuse(404, "No such API endpoint.")),
    };
    result.unwrap_or_else(|refusal| refusal)
}

/// The API's body as the calendar's draft.
pub fn draft(body: NewMeeting) -> Draft {
    Draft {
        title: body.title,
        start: body.start,
        duration_minutes: body.duration_minutes,
        time_zone: body.time_zone,
        location: body.location,
        attendees: body.attendees,
    }
}

// ANCHOR: feed
/// `GET /calendar/{address}.ics`: the calendar a client subscribes to (RFC 5545 §3.4,
/// no METHOD), for a viewer who may see that mailbox.
pub fn feed(
    meetings: Option<&Meetings>,
    viewer: &Viewer,
    request: &Request,
    name: &str,
) -> Response {
    let Some(meetings) = meetings else {
        return disabled();
    };
    if !matches!(request.method.as_str(), "GET" | "HEAD") {
        return refuse(405, "The calendar is read-only.").with("Allow", "GET, HEAD");
    }
    let address = name.strip_suffix(".ics").unwrap_or(name).to_lowercase();
    let Some(mailbox) = mailbox_of(&address).filter(|_| viewer.sees(&address)) else {
        return refuse(404, "No such calendar.");
    };
    match meetings.calendars.list(&mailbox) {
        Ok(list) => Response::new(Status::OK, "text/calendar; charset=utf-8", write_all(&list))
            .with("Cache-Control", "no-store"),
        Err(e) => store_failed(e),
    }
}
// ANCHOR_END: feed
