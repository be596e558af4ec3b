//! The meeting pages: a week of the viewer's meetings, the "New meeting" form, the
//! answer buttons (the card on a message that carries a meeting is
//! [`super::invitation`]).
//!
//! | page | what |
//! |---|---|
//! | `/meetings?week=YYYY-MM-DD&tz=Zone` | the week (Monday first) in the reader's zone, and every meeting with each answer |
//! | `/meetings/new`, `POST /meetings/new` | the form; sends the REQUEST |
//! | `POST /meetings/{UID}/reply` | Accept, Tentative or Decline; sends the REPLY |
//!
//! The reader's time zone is the browser's: the script adds `tz=` to the week's
//! address, and writes every `<time class="local">` in local time; without the
//! script the page says UTC. Forms carry the CSRF token of [`super::auth`].

use askama::Template;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use super::auth::{Auth, Viewer};
use super::meetings::{draft, Meetings, NewMeeting};
use super::pages::{render, Nav};
use crate::calendar::imip::when_text;
use crate::calendar::model::Meeting;
use crate::calendar::zone::iana;
use crate::http::request::percent_encode;
use crate::http::{Request, Response, Status};

/// A meeting as the pages show it.
pub struct Shown {
    pub uid: String,
    pub title: String,
    pub when: String,
    /// RFC 3339 start, for the script.
    pub start: String,
    pub location: String,
    pub organizer: String,
    pub attendees: Vec<(String, String)>,
    pub cancelled: bool,
    /// The viewer's own answer, when they are an attendee.
    pub mine: Option<String>,
    pub reply_action: String,
    /// Minutes from the day's start and the length, for the week grid.
    pub top: i64,
    pub height: i64,
}

fn shown(m: &Meeting, me: Option<&str>, tz: Tz) -> Shown {
    let (start, end) = m
        .when
        .as_ref()
        .map_or((Utc::now(), Utc::now()), |w| (w.start, w.end));
    let local = start.with_timezone(&tz);
    let minutes = i64::from(local.hour_minute());
    Shown {
        uid: m.uid.clone(),
        title: m.title().to_string(),
        when: when_text(start, end, Some(tz.name())),
        start: start.to_rfc3339(),
        location: m.location.clone(),
        organizer: m.organizer.shown(),
        attendees: m
            .attendees
            .iter()
            .map(|a| (a.person.shown(), a.partstat.verb().to_string()))
            .collect(),
        cancelled: m.cancelled,
        mine: me
            .and_then(|me| m.attendee(me))
            .map(|a| a.partstat.as_str().to_string()),
        reply_action: format!("/meetings/{}/reply", percent_encode(&m.uid)),
        top: minutes,
        height: ((end - start).num_minutes()).clamp(20, 24 * 60 - minutes),
    }
}

trait HourMinute {
    fn hour_minute(&self) -> u32;
}
impl HourMinute for DateTime<Tz> {
    fn hour_minute(&self) -> u32 {
        use chrono::Timelike;
        self.hour() * 60 + self.minute()
    }
}

pub struct Day {
    pub label: String,
    pub meetings: Vec<Shown>,
}

#[derive(Template)]
#[template(path = "meetings.html")]
pub struct WeekPage {
    pub nav: Nav,
    pub zone: String,
    pub days: Vec<Day>,
    pub all: Vec<Shown>,
    pub prev: String,
    pub next: String,
    pub heading: String,
}

#[derive(Template)]
#[template(path = "meeting_new.html")]
pub struct NewPage {
    pub nav: Nav,
    pub error: Option<String>,
    pub title: String,
    pub start: String,
    pub duration: String,
    pub zone: String,
    pub location: String,
    pub attendees: String,
}

fn nav(auth: &Auth, viewer: &Viewer, request: &Request) -> Nav {
    Nav {
        user: viewer.name().map(str::to_string),
        admin: viewer.is_admin(),
        accounts: auth.has_accounts(),
        csrf: auth.csrf_token(request),
    }
}

/// Answers `/meetings…`; `path` is what follows `meetings`.
pub fn route(
    meetings: Option<&Meetings>,
    auth: &Auth,
    viewer: &Viewer,
    request: &Request,
    path: &[String],
) -> Response {
    let Some(meetings) = meetings else {
        return Response::text(
            Status::NOT_FOUND,
            "Meetings are not enabled on this web view.",
        );
    };
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    let method = request.method.as_str();
    if method == "POST" {
        let form = request.form();
        if !auth.csrf_ok(request, form.get("csrf").map(String::as_str)) {
            return Response::text(
                Status::FORBIDDEN,
                "The form's CSRF token is missing or stale; reload the page and try again.",
            );
        }
    }
    match (path.as_slice(), method) {
        ([], "GET" | "HEAD") => week(meetings, auth, viewer, request),
        (["new"], "GET" | "HEAD") => render(NewPage {
            nav: nav(auth, viewer, request),
            error: None,
            title: String::new(),
            start: String::new(),
            duration: "30".into(),
            zone: request
                .query_map()
                .get("tz")
                .cloned()
                .unwrap_or_else(|| "UTC".into()),
            location: String::new(),
            attendees: String::new(),
        }),
        (["new"], "POST") => create(meetings, auth, viewer, request),
        ([uid, "reply"], "POST") => {
            let form = request.form();
            let partstat = form.get("partstat").cloned().unwrap_or_default();
            match meetings.reply(viewer, uid, &partstat) {
                Ok(_) => Response::redirect(&format!("/meetings?answered={}", percent_encode(uid))),
                Err(refusal) => refusal,
            }
        }
        _ => Response::text(Status::NOT_FOUND, "No such page."),
    }
}

/// The form's fields: `start` is a local date and time (`2026-11-02T09:00`, as an
/// `<input type="datetime-local">` sends it) in the form's time zone.
fn create(meetings: &Meetings, auth: &Auth, viewer: &Viewer, request: &Request) -> Response {
    let form = request.form();
    let field = |name: &str| form.get(name).cloned().unwrap_or_default();
    let zone = field("zone");
    let start_local = field("start");
    // The form has no offset: the zone gives it (RFC 5545 §3.3.5's rules for gaps).
    let start = match (
        chrono::NaiveDateTime::parse_from_str(&start_local, "%Y-%m-%dT%H:%M"),
        iana(&zone),
    ) {
        (Ok(local), Some(tz)) => crate::calendar::zone::in_zone(local, tz).to_rfc3339(),
        _ => start_local.clone(),
    };
    let body = NewMeeting {
        title: field("title"),
        start,
        duration_minutes: field("duration").trim().parse().unwrap_or(0),
        time_zone: zone.clone(),
        location: field("location"),
        attendees: field("attendees")
            .split([',', '\n', ' ', ';'])
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect(),
    };
    match meetings.create(viewer, &draft(body)) {
        Ok(m) => Response::redirect(&format!("/meetings?created={}", percent_encode(&m.uid))),
        Err(refusal) => {
            let mut page = render(NewPage {
                nav: nav(auth, viewer, request),
                error: Some(match &refusal.body {
                    crate::http::response::Body::Bytes(b) => {
                        String::from_utf8_lossy(b).into_owned()
                    }
                    _ => "Not sent.".into(),
                }),
                title: field("title"),
                start: start_local,
                duration: field("duration"),
                zone,
                location: field("location"),
                attendees: field("attendees"),
            });
            page.status = refusal.status;
            page
        }
    }
}

fn week(meetings: &Meetings, auth: &Auth, viewer: &Viewer, request: &Request) -> Response {
    let query = request.query_map();
    let tz = query
        .get("tz")
        .and_then(|z| iana(z))
        .unwrap_or(chrono_tz::UTC);
    let list = match meetings.list(viewer) {
        Ok(list) => list,
        Err(refusal) => return refusal,
    };
    let today = Utc::now().with_timezone(&tz).date_naive();
    let day = query
        .get("week")
        .and_then(|w| NaiveDate::parse_from_str(w, "%Y-%m-%d").ok())
        .unwrap_or(today);
    let monday = day - Duration::days(i64::from(day.weekday().num_days_from_monday()));
    let me = viewer.name();
    let days = (0..7)
        .map(|i| {
            let date = monday + Duration::days(i);
            Day {
                label: date.format("%a %-d %b").to_string(),
                meetings: list
                    .iter()
                    .filter(|m| {
                        m.when
                            .as_ref()
                            .is_some_and(|w| w.start.with_timezone(&tz).date_naive() == date)
                    })
                    .map(|m| shown(m, me, tz))
                    .collect(),
            }
        })
        .collect();
    let link = |d: NaiveDate| {
        format!(
            "/meetings?week={}&tz={}",
            d.format("%Y-%m-%d"),
            percent_encode(tz.name())
        )
    };
    render(WeekPage {
        nav: nav(auth, viewer, request),
        zone: tz.name().to_string(),
        days,
        all: list.iter().map(|m| shown(m, me, tz)).collect(),
        prev: link(monday - Duration::days(7)),
        next: link(monday + Duration::days(7)),
        heading: format!("Week of {}", monday.format("%-d %B %Y")),
    })
}
