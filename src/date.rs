//! Dates as mail writes them: RFC 5322 §3.3 `date-time`, always in UTC.
//!
//! Used by every part that writes a header: SMTP's `Received:` (RFC 5321 §4.4), bounces
//! (RFC 3464), and any protocol that shows when a message arrived.
//!
//! Left out: parsing dates (a reader of headers needs a forgiving parser for the
//! obsolete forms of RFC 5322 §4.3; `mail-parser` does that), and local time zones:
//! `+0000` is always right, and never ambiguous.

use time::{OffsetDateTime, UtcOffset};

// ANCHOR: rfc5322_date
/// An RFC 5322 §3.3 date-time in UTC: "Mon, 5 Jan 2026 01:02:03 +0000".
/// The day has no leading zero (the grammar allows one or two digits).
pub fn rfc5322_date(t: OffsetDateTime) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{}, {} {} {:04} {:02}:{:02}:{:02} +0000",
        DAYS[usize::from(t.weekday().number_days_from_monday())],
        t.day(),
        MONTHS[usize::from(u8::from(t.month()) - 1)],
        t.year(),
        t.hour(),
        t.minute(),
        t.second(),
    )
}
// ANCHOR_END: rfc5322_date

#[cfg(test)]
mod tests {
    use super::*;

    /// Sat, 28 Nov 2026 01:02:03 UTC and Mon, 5 Jan 2026 01:02:03 UTC.
    const NOV_28: i64 = 1_795_827_723;
    const JAN_5: i64 = 1_767_574_923;

    fn at(unix: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(unix).unwrap()
    }

    #[test]
    fn dates() {
        assert_eq!(rfc5322_date(at(NOV_28)), "Sat, 28 Nov 2026 01:02:03 +0000");
        assert_eq!(rfc5322_date(at(JAN_5)), "Mon, 5 Jan 2026 01:02:03 +0000");
        assert_eq!(rfc5322_date(at(0)), "Thu, 1 Jan 1970 00:00:00 +0000");
        // Another offset is converted to UTC, never printed as a zone name.
        let tokyo = at(JAN_5).to_offset(UtcOffset::from_hms(9, 0, 0).unwrap());
        assert_eq!(rfc5322_date(tokyo), "Mon, 5 Jan 2026 01:02:03 +0000");
        let new_york = at(JAN_5).to_offset(UtcOffset::from_hms(-5, 0, 0).unwrap());
        assert_eq!(rfc5322_date(new_york), "Mon, 5 Jan 2026 01:02:03 +0000");
    }
}
