//! Reading an iCalendar object (RFC 5545) into a [`Meeting`], with the `icalendar`
//! crate's parser: content lines unfolded (§3.1), properties, parameters (quoted or
//! not, §3.2) and TEXT values unescaped (§3.3.11). What a meeting needs is then
//! checked by the method's rules (RFC 5546 §3.2.2, §3.2.3, §3.2.5); every failure is a
//! sentence saying what is wrong, and nothing is applied.
//!
//! As clients send it: one VCALENDAR, its METHOD, the VTIMEZONEs its TZIDs name, and
//! one VEVENT per UID (an overridden instance, with RECURRENCE-ID, is skipped).
//!
//! Left out: recurrence (RRULE on the event: the first instance is the meeting),
//! VTODO and VJOURNAL, VALARM.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use icalendar::parser::{read_calendar_simple, unfold, Component, Property};

use super::model::{strip_mailto, Attendee, Meeting, Method, PartStat, Person, When};
use super::zone::{self, local, utc_offset, Observance, VTimezone, Yearly};

/// An iTIP message: a method and the meeting it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Itip {
    pub method: Method,
    pub meeting: Meeting,
}

/// Why a calendar object cannot be used: a sentence for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn invalid<T>(why: impl Into<String>) -> Result<T, Invalid> {
    Err(Invalid(why.into()))
}

/// The largest calendar object read; an invitation is a few kilobytes.
pub const MAX_OBJECT: usize = 256 * 1024;

/// An iTIP message: `METHOD` must be REQUEST, REPLY or CANCEL (RFC 5546 §1.4).
pub fn itip(text: &str) -> Result<Itip, Invalid> {
    let (method, meeting) = object(text)?;
    let method = match method {
        Some(m) => Method::parse(&m).ok_or_else(|| {
            Invalid(format!(
                "the METHOD {m} is not one postie handles (REQUEST, REPLY, CANCEL)"
            ))
        })?,
        None => return invalid(
            "the calendar has no METHOD, so it is not an invitation or an answer (RFC 5546 §1.4)",
        ),
    };
    check(method, &meeting)?;
    Ok(Itip { method, meeting })
}

/// A meeting as a calendar store keeps it (no METHOD; RFC 5545 §3.7.2).
pub fn stored(text: &str) -> Result<Meeting, Invalid> {
    let (_, meeting) = object(text)?;
    check(Method::Request, &meeting)?;
    Ok(meeting)
}

/// What each method requires of its VEVENT (RFC 5546 §3.2.2, §3.2.3, §3.2.5).
fn check(method: Method, m: &Meeting) -> Result<(), Invalid> {
    if m.organizer.address.is_empty() {
        return invalid("the event has no ORGANIZER");
    }
    match method {
        Method::Request if m.when.is_none() => invalid("the invitation has no DTSTART"),
        Method::Request if m.attendees.is_empty() => invalid("the invitation has no ATTENDEE"),
        // RFC 5546 §3.2.3: a REPLY speaks for exactly one attendee.
        Method::Reply if m.attendees.len() != 1 => invalid(format!(
            "a REPLY must name exactly one ATTENDEE, this one names {}",
            m.attendees.len()
        )),
        _ => Ok(()),
    }
}

fn named<'a>(c: &'a Component<'a>, name: &str) -> Option<&'a Property<'a>> {
    c.properties
        .iter()
        .find(|p| p.name.as_str().eq_ignore_ascii_case(name))
}

fn text(c: &Component<'_>, name: &str) -> String {
    named(c, name)
        .map(|p| p.val.as_str().trim().to_string())
        .unwrap_or_default()
}

fn param<'a>(p: &'a Property<'a>, name: &str) -> Option<&'a str> {
    p.params
        .iter()
        .find(|x| x.key.as_str().eq_ignore_ascii_case(name))
        .and_then(|x| x.val.as_ref().map(|v| v.as_str()))
}

/// The METHOD and the meeting of one VCALENDAR.
fn object(source: &str) -> Result<(Option<String>, Meeting), Invalid> {
    if source.len() > MAX_OBJECT {
        return invalid(format!("the calendar is larger than {MAX_OBJECT} octets"));
    }
    let unfolded = unfold(source);
    let components = read_calendar_simple(&unfolded)
        .map_err(|_| Invalid("the calendar part is not valid iCalendar (RFC 5545)".into()))?;
    let Some(calendar) = components
        .iter()
        .find(|c| c.name.as_str().eq_ignore_ascii_case("VCALENDAR"))
    else {
        return invalid("the calendar part has no VCALENDAR");
    };
    let method = named(calendar, "METHOD").map(|p| p.val.as_str().trim().to_string());
    let zones = calendar
        .components
        .iter()
        .filter(|c| c.name.as_str().eq_ignore_ascii_case("VTIMEZONE"))
        .map(vtimezone)
        .collect::<Result<Vec<_>, _>>()?;
    let events: Vec<&Component> = calendar
        .components
        .iter()
        .filter(|c| c.name.as_str().eq_ignore_ascii_case("VEVENT"))
        .collect();
    let Some(first) = events.first() else {
        return invalid("the calendar has no VEVENT");
    };
    let uid = text(first, "UID");
    if events.iter().any(|e| text(e, "UID") != uid) {
        return invalid("the calendar mixes events with different UIDs (RFC 5546 §1.4)");
    }
    let master = events
        .iter()
        .find(|e| named(e, "RECURRENCE-ID").is_none())
        .unwrap_or(first);
    Ok((method, event(master, &zones)?))
}

fn vtimezone(c: &Component<'_>) -> Result<VTimezone, Invalid> {
    let tzid = text(c, "TZID");
    let mut observances = Vec::new();
    for o in &c.components {
        let daylight = match o.name.as_str().to_ascii_uppercase().as_str() {
            "STANDARD" => false,
            "DAYLIGHT" => true,
            _ => continue,
        };
        let bad = |what: &str| Invalid(format!("the VTIMEZONE {tzid:?} has a bad {what}"));
        let start = local(&text(o, "DTSTART")).ok_or_else(|| bad("DTSTART"))?;
        let offset_from =
            utc_offset(&text(o, "TZOFFSETFROM")).ok_or_else(|| bad("TZOFFSETFROM"))?;
        let offset_to = utc_offset(&text(o, "TZOFFSETTO")).ok_or_else(|| bad("TZOFFSETTO"))?;
        let rule = match named(o, "RRULE") {
            None => None,
            Some(p) => Some(Yearly::parse(p.val.as_str()).ok_or_else(|| {
                Invalid(format!(
                    "the VTIMEZONE {tzid:?} has a rule postie cannot read: {}",
                    p.val.as_str()
                ))
            })?),
        };
        observances.push(Observance {
            daylight,
            start,
            offset_from,
            offset_to,
            rule,
            name: text(o, "TZNAME"),
        });
    }
    Ok(VTimezone { tzid, observances })
}

/// A DATE-TIME or DATE property as an instant, and the IANA zone it was in.
fn date_time(
    p: &Property<'_>,
    zones: &[VTimezone],
) -> Result<(DateTime<Utc>, Option<String>, bool), Invalid> {
    let value = p.val.as_str().trim();
    let name = p.name.as_str();
    let is_date =
        param(p, "VALUE").is_some_and(|v| v.eq_ignore_ascii_case("DATE")) || value.len() == 8;
    if is_date {
        let date = NaiveDate::parse_from_str(value, "%Y%m%d")
            .map_err(|_| Invalid(format!("{name} is not a DATE: {value}")))?;
        let midnight = date.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
        return midnight
            .map(|t| (t, None, true))
            .ok_or_else(|| Invalid(format!("{name} is not a DATE: {value}")));
    }
    if let Some(utc) = value.strip_suffix(['Z', 'z']) {
        let at =
            local(utc).ok_or_else(|| Invalid(format!("{name} is not a DATE-TIME: {value}")))?;
        return Ok((at.and_utc(), None, false));
    }
    let at = local(value).ok_or_else(|| Invalid(format!("{name} is not a DATE-TIME: {value}")))?;
    match param(p, "TZID") {
        Some(tzid) => {
            let instant = zone::resolve(at, tzid, zones).map_err(Invalid)?;
            let iana = zone::iana(tzid).map(|tz| tz.name().to_string());
            Ok((instant, iana, false))
        }
        // Floating time (RFC 5545 §3.3.5 form 1) means "wherever you are"; a meeting
        // between two people needs one instant, so it is read as UTC.
        None => Ok((at.and_utc(), None, false)),
    }
}

/// `PT1H30M`, `P1D`, `-PT15M`, `P2W` (RFC 5545 §3.3.6).
pub fn duration(value: &str) -> Option<Duration> {
    let value = value.trim();
    let (sign, rest) = match value.as_bytes().first()? {
        b'-' => (-1, &value[1..]),
        b'+' => (1, &value[1..]),
        _ => (1, value),
    };
    let rest = rest.strip_prefix(['P', 'p'])?;
    let (mut total, mut number, mut in_time, mut any) = (0i64, String::new(), false, false);
    for c in rest.chars() {
        match c.to_ascii_uppercase() {
            '0'..='9' => number.push(c),
            'T' if number.is_empty() => in_time = true,
            unit => {
                let n: i64 = number.parse().ok()?;
                number.clear();
                any = true;
                total += n * match (unit, in_time) {
                    ('W', false) => 7 * 86400,
                    ('D', false) => 86400,
                    ('H', true) => 3600,
                    ('M', true) => 60,
                    ('S', true) => 1,
                    _ => return None,
                };
            }
        }
    }
    (any && number.is_empty()).then(|| Duration::seconds(sign * total))
}

fn person(p: &Property<'_>) -> Person {
    Person::new(strip_mailto(p.val.as_str()), param(p, "CN").unwrap_or(""))
}

fn event(e: &Component<'_>, zones: &[VTimezone]) -> Result<Meeting, Invalid> {
    let uid = text(e, "UID");
    if uid.is_empty() {
        return invalid("the event has no UID");
    }
    let dtstamp = match named(e, "DTSTAMP") {
        Some(p) => date_time(p, zones)?.0,
        None => return invalid("the event has no DTSTAMP"),
    };
    let sequence = match named(e, "SEQUENCE") {
        None => 0,
        Some(p) => p.val.as_str().trim().parse().map_err(|_| {
            Invalid(format!(
                "SEQUENCE must be a whole number, not {:?}",
                p.val.as_str()
            ))
        })?,
    };
    let when = match named(e, "DTSTART") {
        None => None,
        Some(p) => {
            let (start, zone, all_day) = date_time(p, zones)?;
            let end = match (named(e, "DTEND"), named(e, "DURATION")) {
                (Some(p), _) => date_time(p, zones)?.0,
                (None, Some(d)) => {
                    start
                        + duration(d.val.as_str()).ok_or_else(|| {
                            Invalid(format!("DURATION is not a duration: {}", d.val.as_str()))
                        })?
                }
                // RFC 5545 §3.6.1: a DATE lasts a day; a DATE-TIME, no time at all.
                (None, None) if all_day => start + Duration::days(1),
                (None, None) => start,
            };
            if end < start {
                return invalid("the event ends before it starts");
            }
            Some(When { start, end, zone })
        }
    };
    let organizer = named(e, "ORGANIZER")
        .map(person)
        .unwrap_or_else(|| Person::new("", ""));
    let attendees = e
        .properties
        .iter()
        .filter(|p| p.name.as_str().eq_ignore_ascii_case("ATTENDEE"))
        .map(|p| Attendee {
            person: person(p),
            partstat: PartStat::parse(param(p, "PARTSTAT").unwrap_or("")),
            rsvp: param(p, "RSVP").is_some_and(|v| v.eq_ignore_ascii_case("TRUE")),
        })
        .collect();
    Ok(Meeting {
        uid,
        sequence,
        dtstamp,
        when,
        summary: text(e, "SUMMARY"),
        location: text(e, "LOCATION"),
        description: text(e, "DESCRIPTION"),
        organizer,
        attendees,
        cancelled: text(e, "STATUS").eq_ignore_ascii_case("CANCELLED"),
    })
}
