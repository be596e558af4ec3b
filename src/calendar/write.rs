//! Writing a [`Meeting`] as an iCalendar object (RFC 5545) with the `icalendar`
//! crate's content lines: it folds lines at 75 octets and ends them with CRLF (§3.1);
//! postie escapes TEXT values (§3.3.11) and quotes parameter values (§3.2) itself,
//! because it builds the lines.
//!
//! What is written: VERSION and PRODID (required, §3.6), the METHOD of an iTIP message
//! (RFC 5546 §1.4; none in a calendar store or feed, RFC 5545 §3.7.2), a VTIMEZONE for
//! a meeting given in an IANA zone (§3.6.5: the observances covering its times), and
//! the VEVENT with UID, DTSTAMP, SEQUENCE, DTSTART and DTEND (in that zone with TZID,
//! or in UTC), SUMMARY, LOCATION, ORGANIZER and one ATTENDEE per person.

use chrono::{DateTime, Duration, Utc};
use icalendar::parser::{Calendar, Component, Parameter, Property};

use super::model::{Meeting, Method, PartStat};
use super::zone::{format_offset, iana, transitions};

/// postie's product identifier (RFC 5545 §3.7.3).
pub const PRODID: &str = "-//postie//meetings 1.0//EN";

fn line(name: &str, value: String) -> Property<'static> {
    Property {
        name: name.to_string().into(),
        val: value.into(),
        params: vec![],
    }
}

fn with(mut p: Property<'static>, params: &[(&str, String)]) -> Property<'static> {
    for (key, value) in params {
        p.params.push(Parameter {
            key: key.to_string().into(),
            val: Some(param_value(value).into()),
        });
    }
    p
}

fn component(name: &str, properties: Vec<Property<'static>>) -> Component<'static> {
    Component {
        name: name.to_string().into(),
        properties,
        components: vec![],
    }
}

/// RFC 5545 §3.3.11: backslash, semicolon, comma and newline are escaped.
pub fn escape_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// RFC 5545 §3.2: a value with `:`, `;` or `,` is quoted; a DQUOTE or a control
/// character cannot appear in one at all, so it is dropped.
fn param_value(value: &str) -> String {
    let clean: String = value
        .chars()
        .filter(|c| *c != '"' && !c.is_control())
        .collect();
    match clean.contains([':', ';', ',']) {
        true => format!("\"{clean}\""),
        false => clean,
    }
}

/// `20261101T090000Z`.
pub fn utc(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

/// A DATE-TIME property in the meeting's zone (with TZID) or in UTC.
fn time(name: &str, at: DateTime<Utc>, zone: Option<&str>) -> Property<'static> {
    match zone.and_then(iana) {
        Some(tz) => with(
            line(
                name,
                at.with_timezone(&tz).format("%Y%m%dT%H%M%S").to_string(),
            ),
            &[("TZID", tz.name().to_string())],
        ),
        None => line(name, utc(at)),
    }
}

/// The VTIMEZONE for an IANA zone, covering `from..=to` (RFC 5545 §3.6.5).
fn vtimezone(zone: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<Component<'static>> {
    let tz = iana(zone)?;
    let mut c = component("VTIMEZONE", vec![line("TZID", tz.name().to_string())]);
    for t in transitions(tz, from - Duration::days(1), to) {
        let onset = (t.at + Duration::seconds(i64::from(t.offset_from))).naive_utc();
        let mut properties = vec![
            line("DTSTART", onset.format("%Y%m%dT%H%M%S").to_string()),
            line("TZOFFSETFROM", format_offset(t.offset_from)),
            line("TZOFFSETTO", format_offset(t.offset_to)),
        ];
        if !t.name.is_empty() && !t.name.starts_with(['+', '-']) {
            properties.push(line("TZNAME", escape_text(&t.name)));
        }
        let kind = if t.daylight { "DAYLIGHT" } else { "STANDARD" };
        c.components.push(component(kind, properties));
    }
    Some(c)
}

fn address(a: &str) -> String {
    format!("mailto:{a}")
}

/// The VEVENT of `m`.
fn vevent(m: &Meeting, method: Option<Method>) -> Component<'static> {
    let mut p = vec![
        line("UID", escape_text(&m.uid)),
        line("DTSTAMP", utc(m.dtstamp)),
        line("SEQUENCE", m.sequence.to_string()),
    ];
    if let Some(w) = &m.when {
        p.push(time("DTSTART", w.start, w.zone.as_deref()));
        p.push(time("DTEND", w.end, w.zone.as_deref()));
    }
    p.push(line("SUMMARY", escape_text(&m.summary)));
    if !m.location.is_empty() {
        p.push(line("LOCATION", escape_text(&m.location)));
    }
    if !m.description.is_empty() {
        p.push(line("DESCRIPTION", escape_text(&m.description)));
    }
    let cn = |name: &str| -> Vec<(&str, String)> {
        match name.is_empty() {
            true => vec![],
            false => vec![("CN", name.to_string())],
        }
    };
    p.push(with(
        line("ORGANIZER", address(&m.organizer.address)),
        &cn(&m.organizer.name),
    ));
    for a in &m.attendees {
        let mut params = cn(&a.person.name);
        params.push(("ROLE", "REQ-PARTICIPANT".into()));
        params.push(("PARTSTAT", a.partstat.as_str().into()));
        // RFC 5546 §3.2.3: a REPLY does not ask for another reply.
        if a.rsvp && method != Some(Method::Reply) && a.partstat == PartStat::NeedsAction {
            params.push(("RSVP", "TRUE".into()));
        }
        p.push(with(line("ATTENDEE", address(&a.person.address)), &params));
    }
    let status = match (method, m.cancelled) {
        (Some(Method::Cancel), _) | (_, true) => "CANCELLED",
        _ => "CONFIRMED",
    };
    p.push(line("STATUS", status.into()));
    component("VEVENT", p)
}

// ANCHOR: write
/// `m` as an iCalendar object: an iTIP message with `method`, or (with `None`) as a
/// calendar store and the feed keep it.
pub fn write(method: Option<Method>, m: &Meeting) -> String {
    let mut properties = vec![
        line("PRODID", PRODID.into()),
        line("VERSION", "2.0".into()),
        line("CALSCALE", "GREGORIAN".into()),
    ];
    if let Some(method) = method {
        properties.push(line("METHOD", method.as_str().into()));
    }
    let mut components = Vec::new();
    if let Some(w) = &m.when {
        if let Some(zone) = w.zone.as_deref().and_then(|z| vtimezone(z, w.start, w.end)) {
            components.push(zone);
        }
    }
    components.push(vevent(m, method));
    Calendar {
        properties,
        components,
    }
    .to_string()
}
// ANCHOR_END: write

/// Several meetings in one object, for the feed (RFC 5545 §3.4; no METHOD).
pub fn write_all(meetings: &[Meeting]) -> String {
    let mut components = Vec::new();
    let mut zones: Vec<String> = Vec::new();
    for m in meetings {
        let Some(w) = &m.when else { continue };
        if let Some(zone) = w.zone.as_deref() {
            if !zones.iter().any(|z| z == zone) {
                // One VTIMEZONE per TZID: it covers every meeting in that zone.
                let (from, to) = meetings
                    .iter()
                    .filter_map(|m| m.when.as_ref())
                    .filter(|x| x.zone.as_deref() == Some(zone))
                    .fold((w.start, w.end), |(f, t), x| (f.min(x.start), t.max(x.end)));
                if let Some(c) = vtimezone(zone, from, to) {
                    components.push(c);
                    zones.push(zone.to_string());
                }
            }
        }
    }
    components.extend(meetings.iter().map(|m| vevent(m, None)));
    let properties = vec![
        line("PRODID", PRODID.into()),
        line("VERSION", "2.0".into()),
        line("CALSCALE", "GREGORIAN".into()),
    ];
    Calendar {
        properties,
        components,
    }
    .to_string()
}
