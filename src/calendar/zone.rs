//! Time zones: from a local DATE-TIME with a TZID to an instant, and the VTIMEZONE
//! that describes a zone when we write one (RFC 5545 §3.3.5 form 3, §3.2.19, §3.6.5).
//!
//! A TZID is resolved by the VTIMEZONE of the same object when it has one (that is
//! what RFC 5545 §3.2.19 makes it mean: Outlook's "W. Europe Standard Time" is known
//! only that way), else as an IANA name from the tz database (Gmail and Thunderbird
//! use IANA names; older Thunderbirds prefix them with a path, which is stripped).
//! A VTIMEZONE's observances are read with the yearly rules clients write:
//! `FREQ=YEARLY;BYMONTH=m;BYDAY=nDD` (the n-th weekday, or the last with n = -1), or a
//! single onset.
//!
//! A local time that does not exist (the hour skipped in spring) is read with the
//! offset before the gap; one that exists twice (autumn) is the first of the two
//! (RFC 5545 §3.3.5).
//!
//! Left out: rules with BYMONTHDAY, BYYEARDAY or BYSETPOS, and RDATE lists; an
//! object that needs them gets a clear error, not a guess.

use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc, Weekday,
};
use chrono_tz::{OffsetComponents, OffsetName, Tz};

/// One STANDARD or DAYLIGHT sub-component of a VTIMEZONE (RFC 5545 §3.6.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observance {
    pub daylight: bool,
    /// The first onset, in local time as it was before the onset (TZOFFSETFROM).
    pub start: NaiveDateTime,
    /// Seconds east of UTC before and after the onset.
    pub offset_from: i32,
    pub offset_to: i32,
    /// The yearly rule of further onsets, if any.
    pub rule: Option<Yearly>,
    pub name: String,
}

/// `FREQ=YEARLY;BYMONTH=m;BYDAY=nDD[;UNTIL=…]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Yearly {
    pub month: u32,
    /// 1..=5 from the start of the month, -1..=-5 from its end.
    pub week: i8,
    pub weekday: Weekday,
    /// The last onset allowed, in UTC.
    pub until: Option<DateTime<Utc>>,
}

/// A VTIMEZONE as read from an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VTimezone {
    pub tzid: String,
    pub observances: Vec<Observance>,
}

impl Yearly {
    /// `FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10`; `None` for any other kind of rule.
    pub fn parse(rule: &str) -> Option<Yearly> {
        let (mut yearly, mut month, mut byday, mut until) = (false, None, None, None);
        for part in rule.split(';') {
            let (key, value) = part.split_once('=')?;
            match key.trim().to_ascii_uppercase().as_str() {
                "FREQ" => yearly = value.eq_ignore_ascii_case("YEARLY"),
                "BYMONTH" => month = value.parse::<u32>().ok().filter(|m| (1..=12).contains(m)),
                "BYDAY" => byday = Some(value.trim().to_ascii_uppercase()),
                "UNTIL" => until = Some(parse_utc_or_date(value)?),
                "INTERVAL" if value.trim() == "1" => {}
                "WKST" => {}
                _ => return None,
            }
        }
        let byday = byday?;
        let split = byday.len().checked_sub(2)?;
        let (n, day) = (byday.get(..split)?, byday.get(split..)?);
        let week: i8 = match n {
            "" => return None,
            n => n.trim_start_matches('+').parse().ok()?,
        };
        if week == 0 || !(-5..=5).contains(&week) || !yearly {
            return None;
        }
        Some(Yearly {
            month: month?,
            week,
            weekday: weekday(day)?,
            until,
        })
    }

    /// The onset's date in `year`.
    fn date(&self, year: i32) -> Option<NaiveDate> {
        if self.week > 0 {
            NaiveDate::from_weekday_of_month_opt(year, self.month, self.weekday, self.week as u8)
        } else {
            let (next_year, next_month) = match self.month {
                12 => (year + 1, 1),
                m => (year, m + 1),
            };
            let last = NaiveDate::from_ymd_opt(next_year, next_month, 1)?.pred_opt()?;
            let back = (7 + last.weekday().num_days_from_monday()
                - self.weekday.num_days_from_monday())
                % 7;
            let first_back = last - Duration::days(i64::from(back));
            Some(first_back - Duration::weeks(i64::from(-self.week - 1)))
        }
    }
}

fn weekday(code: &str) -> Option<Weekday> {
    Some(match code {
        "MO" => Weekday::Mon,
        "TU" => Weekday::Tue,
        "WE" => Weekday::Wed,
        "TH" => Weekday::Thu,
        "FR" => Weekday::Fri,
        "SA" => Weekday::Sat,
        "SU" => Weekday::Sun,
        _ => return None,
    })
}

/// `20261025T010000Z` or `20261025`.
fn parse_utc_or_date(value: &str) -> Option<DateTime<Utc>> {
    let value = value.trim();
    if let Some(stripped) = value.strip_suffix(['Z', 'z']) {
        return local(stripped).map(|t| t.and_utc());
    }
    NaiveDate::parse_from_str(value, "%Y%m%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// A local DATE-TIME, `20261101T090000` (RFC 5545 §3.3.5).
pub fn local(value: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(value.trim(), "%Y%m%dT%H%M%S").ok()
}

/// A UTC offset, `+0100`, `-0530`, `+013045` (RFC 5545 §3.3.14): seconds east.
pub fn utc_offset(value: &str) -> Option<i32> {
    let value = value.trim();
    let sign = match value.get(..1)? {
        "+" => 1,
        "-" => -1,
        _ => return None,
    };
    let digits = value.get(1..)?;
    if !(digits.len() == 4 || digits.len() == 6) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i32 = digits.get(..2)?.parse().ok()?;
    let minutes: i32 = digits.get(2..4)?.parse().ok()?;
    let seconds: i32 = digits
        .get(4..)
        .filter(|s| !s.is_empty())
        .map_or(Some(0), |s| s.parse().ok())?;
    if minutes > 59 || seconds > 59 {
        return None;
    }
    Some(sign * (hours * 3600 + minutes * 60 + seconds))
}

/// `+0100` for 3600.
pub fn format_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.unsigned_abs();
    match s % 60 {
        0 => format!("{sign}{:02}{:02}", s / 3600, s / 60 % 60),
        r => format!("{sign}{:02}{:02}{r:02}", s / 3600, s / 60 % 60),
    }
}

impl VTimezone {
    /// The offset in force at local time `at` (seconds east of UTC).
    pub fn offset_at(&self, at: NaiveDateTime) -> Option<i32> {
        let mut latest: Option<(NaiveDateTime, i32)> = None;
        for o in &self.observances {
            for onset in o.onsets_until(at) {
                if latest.is_none_or(|(when, _)| onset > when) {
                    latest = Some((onset, o.offset_to));
                }
            }
        }
        match latest {
            Some((_, offset)) => Some(offset),
            // Before every onset: the offset the earliest one starts from.
            None => self
                .observances
                .iter()
                .min_by_key(|o| o.start)
                .map(|o| o.offset_from),
        }
    }
}

impl Observance {
    /// This observance's onsets at or before local time `at` (only the last two years'
    /// matter: an onset recurs at least yearly).
    fn onsets_until(&self, at: NaiveDateTime) -> Vec<NaiveDateTime> {
        let mut out = Vec::new();
        if self.start <= at {
            out.push(self.start);
        }
        if let Some(rule) = &self.rule {
            for year in [at.year() - 1, at.year()] {
                let Some(onset) = rule.date(year).map(|d| d.and_time(self.start.time())) else {
                    continue;
                };
                let utc = onset - Duration::seconds(i64::from(self.offset_from));
                let allowed = rule.until.is_none_or(|u| utc.and_utc() <= u);
                if onset >= self.start && onset <= at && allowed {
                    out.push(onset);
                }
            }
        }
        out
    }
}

/// An IANA zone by name, also from a TZID with a path before it
/// (`/mozilla.org/20050126_1/Europe/Berlin`).
pub fn iana(tzid: &str) -> Option<Tz> {
    let tzid = tzid.trim().trim_matches('"');
    if let Ok(tz) = Tz::from_str(tzid) {
        return Some(tz);
    }
    let parts: Vec<&str> = tzid.split('/').filter(|p| !p.is_empty()).collect();
    (1..parts.len()).find_map(|skip| Tz::from_str(&parts[skip..].join("/")).ok())
}

/// The instant of local time `at` in the zone `tzid`: by the object's VTIMEZONE of
/// that name if it has one, else by the tz database.
pub fn resolve(
    at: NaiveDateTime,
    tzid: &str,
    defined: &[VTimezone],
) -> Result<DateTime<Utc>, String> {
    if let Some(vtz) = defined.iter().find(|v| v.tzid == tzid) {
        let offset = vtz
            .offset_at(at)
            .ok_or_else(|| format!("the VTIMEZONE {tzid:?} has no STANDARD or DAYLIGHT part"))?;
        return Ok((at - Duration::seconds(i64::from(offset))).and_utc());
    }
    let tz = iana(tzid).ok_or_else(|| {
        format!("the time zone {tzid:?} is neither an IANA name nor defined by a VTIMEZONE")
    })?;
    Ok(in_zone(at, tz))
}

/// Local time `at` in `tz`, by RFC 5545 §3.3.5's rules for gaps and repeats.
pub fn in_zone(at: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    match tz.from_local_datetime(&at).earliest() {
        Some(t) => t.with_timezone(&Utc),
        None => {
            // In a gap: the offset before it, which held a day earlier.
            let before = tz.offset_from_utc_datetime(&(at - Duration::days(1)));
            (at - Duration::seconds(i64::from(before.fix().local_minus_utc()))).and_utc()
        }
    }
}

/// A change of offset in a zone, for writing a VTIMEZONE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub at: DateTime<Utc>,
    pub offset_from: i32,
    pub offset_to: i32,
    pub daylight: bool,
    pub name: String,
}

fn offset(tz: Tz, at: DateTime<Utc>) -> (i32, bool, String) {
    let o = tz.offset_from_utc_datetime(&at.naive_utc());
    let daylight = o.dst_offset() != chrono::TimeDelta::zero();
    let _ = o.base_utc_offset();
    (
        o.fix().local_minus_utc(),
        daylight,
        o.abbreviation().unwrap_or("").to_string(),
    )
}

/// What a VTIMEZONE for `tz` must say to cover `from..=to`: the offset in force at
/// `from` (as a first onset) and every change until `to`.
pub fn transitions(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Transition> {
    let (first, daylight, name) = offset(tz, from);
    let mut out = vec![Transition {
        at: from,
        offset_from: first,
        offset_to: first,
        daylight,
        name,
    }];
    let mut day = DateTime::from_timestamp(from.timestamp(), 0).unwrap_or(from);
    let mut current = first;
    while day < to {
        let next = day + Duration::hours(12);
        let (o, _, _) = offset(tz, next);
        if o != current {
            // The change is in (day, next]: narrow it to the second.
            let (mut lo, mut hi) = (day.timestamp(), next.timestamp());
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                let at = DateTime::from_timestamp(mid, 0).unwrap_or(day);
                if offset(tz, at).0 == current {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            let hi = DateTime::from_timestamp(hi, 0).unwrap_or(next);
            let (to_offset, daylight, name) = offset(tz, hi);
            out.push(Transition {
                at: hi,
                offset_from: current,
                offset_to: to_offset,
                daylight,
                name,
            });
            current = to_offset;
        }
        day = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        local(s).unwrap()
    }

    /// Outlook's Central European zone, as RFC 5545 §3.6.5's examples write rules.
    fn outlook_berlin() -> VTimezone {
        VTimezone {
            tzid: "W. Europe Standard Time".into(),
            observances: vec![
                Observance {
                    daylight: false,
                    start: t("16010101T030000"),
                    offset_from: 7200,
                    offset_to: 3600,
                    rule: Yearly::parse("FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10"),
                    name: String::new(),
                },
                Observance {
                    daylight: true,
                    start: t("16010101T020000"),
                    offset_from: 3600,
                    offset_to: 7200,
                    rule: Yearly::parse("FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3"),
                    name: String::new(),
                },
            ],
        }
    }

    #[test]
    fn rules_find_the_last_and_nth_sundays() {
        let last = Yearly::parse("FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10").unwrap();
        assert_eq!(last.date(2026), NaiveDate::from_ymd_opt(2026, 10, 25));
        let second = Yearly::parse("FREQ=YEARLY;BYMONTH=3;BYDAY=2SU").unwrap();
        assert_eq!(second.date(2026), NaiveDate::from_ymd_opt(2026, 3, 8));
        assert_eq!(Yearly::parse("FREQ=MONTHLY;BYDAY=1SU;BYMONTH=3"), None);
        assert_eq!(Yearly::parse("FREQ=YEARLY;BYMONTHDAY=8;BYMONTH=3"), None);
    }

    #[test]
    fn a_vtimezone_gives_summer_and_winter_offsets() {
        let zone = outlook_berlin();
        assert_eq!(zone.offset_at(t("20260710T090000")), Some(7200));
        assert_eq!(zone.offset_at(t("20261224T090000")), Some(3600));
        // The night of the change: 02:30 on 25 October 2026 is already winter time
        // by the rule's clock (03:00 summer = 02:00 winter).
        assert_eq!(zone.offset_at(t("20261025T013000")), Some(7200));
        assert_eq!(zone.offset_at(t("20261025T040000")), Some(3600));
        let instant = resolve(t("20261101T090000"), "W. Europe Standard Time", &[zone]).unwrap();
        assert_eq!(instant.to_rfc3339(), "2026-11-01T08:00:00+00:00");
    }

    #[test]
    fn iana_names_with_and_without_a_path() {
        assert_eq!(iana("Europe/Berlin"), Some(Tz::Europe__Berlin));
        assert_eq!(
            iana("/mozilla.org/20050126_1/America/New_York"),
            Some(Tz::America__New_York)
        );
        assert_eq!(iana("Mars/Olympus_Mons"), None);
        assert!(resolve(t("20261101T090000"), "Mars/Olympus_Mons", &[]).is_err());
    }

    #[test]
    fn gaps_and_repeats_follow_rfc_5545() {
        let berlin = Tz::Europe__Berlin;
        // 02:30 on 29 March 2026 does not exist: read with the offset before (+01).
        assert_eq!(
            in_zone(t("20260329T023000"), berlin).to_rfc3339(),
            "2026-03-29T01:30:00+00:00"
        );
        // 02:30 on 25 October 2026 happens twice: the first (+02).
        assert_eq!(
            in_zone(t("20261025T023000"), berlin).to_rfc3339(),
            "2026-10-25T00:30:00+00:00"
        );
    }

    #[test]
    fn transitions_of_a_year_in_berlin() {
        let from = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let to = Utc.with_ymd_and_hms(2026, 12, 31, 0, 0, 0).unwrap();
        let found = transitions(Tz::Europe__Berlin, from, to);
        let shown: Vec<(String, i32, i32, bool)> = found
            .iter()
            .map(|t| (t.at.to_rfc3339(), t.offset_from, t.offset_to, t.daylight))
            .collect();
        assert_eq!(
            shown,
            [
                ("2026-01-01T00:00:00+00:00".into(), 3600, 3600, false),
                ("2026-03-29T01:00:00+00:00".into(), 3600, 7200, true),
                ("2026-10-25T01:00:00+00:00".into(), 7200, 3600, false),
            ]
        );
        assert_eq!(found[1].name, "CEST");
        assert_eq!(utc_offset("+0200"), Some(7200));
        assert_eq!(utc_offset("-0530"), Some(-19800));
        assert_eq!(utc_offset("0200"), None);
        assert_eq!(format_offset(-19800), "-0530");
    }
}
