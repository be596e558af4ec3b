"""Checks calendars with Python's icalendar: each argument is an .ics file or a mail
message (.eml) whose text/calendar parts are checked. Prints "ok NAME" per calendar;
exits non-zero on the first problem.

RFC 5545's required properties: VCALENDAR has PRODID and VERSION (§3.6); VEVENT has
UID and DTSTAMP (§3.6.1), and DTSTART when there is no METHOD (§3.6.1); a VTIMEZONE
has TZID and each STANDARD/DAYLIGHT DTSTART, TZOFFSETFROM, TZOFFSETTO (§3.6.5).
RFC 6047 §2.4: the Content-Type's method equals the object's METHOD.
"""

import email
import email.policy
import sys

import icalendar


def check(name, text, method=None):
    cal = icalendar.Calendar.from_ical(text)
    assert cal.name == "VCALENDAR", name
    for prop in ["PRODID", "VERSION"]:
        assert prop in cal, f"{name}: VCALENDAR without {prop}"
    if method is not None:
        assert str(cal.get("METHOD", "")).upper() == method.upper(), f"{name}: METHOD {cal.get('METHOD')} != {method}"
    events = [c for c in cal.walk() if c.name == "VEVENT"]
    assert events, f"{name}: no VEVENT"
    for event in events:
        for prop in ["UID", "DTSTAMP"]:
            assert prop in event, f"{name}: VEVENT without {prop}"
        if "METHOD" not in cal or str(cal["METHOD"]) == "REQUEST":
            assert "DTSTART" in event, f"{name}: VEVENT without DTSTART"
            event.decoded("DTSTART")
    for zone in [c for c in cal.walk() if c.name == "VTIMEZONE"]:
        assert "TZID" in zone, f"{name}: VTIMEZONE without TZID"
        for part in zone.subcomponents:
            for prop in ["DTSTART", "TZOFFSETFROM", "TZOFFSETTO"]:
                assert prop in part, f"{name}: {part.name} without {prop}"
    print(f"ok {name} {cal.get('METHOD', 'feed')}", flush=True)


def main():
    for path in sys.argv[1:]:
        data = open(path, "rb").read()
        if path.endswith(".ics"):
            check(path, data)
            continue
        message = email.message_from_bytes(data, policy=email.policy.default)
        for part in message.walk():
            if part.get_content_type() == "text/calendar":
                check(path, part.get_content(), part.get_param("method"))


if __name__ == "__main__":
    main()
