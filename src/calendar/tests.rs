//! The calendar's rules against the RFCs' own examples and the shapes real clients
//! send (Outlook, Gmail, Thunderbird, built from their documented structure).

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::deliver::Pending;
use super::imip::{carried, compose};
use super::invite::{answer, invitation, Draft};
use super::itip::{apply, Outcome, Sender};
use super::model::{Method, PartStat, Person};
use super::parse::{itip, stored, Itip};
use super::store::Calendars;
use super::write::write;

fn crlf(text: &str) -> String {
    text.lines().map(|l| format!("{l}\r\n")).collect()
}

fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .with_timezone(&Utc)
}

fn from(address: &str) -> Sender<'_> {
    Sender {
        envelope: address,
        from: address,
    }
}

fn saved(outcome: Outcome) -> super::Meeting {
    match outcome {
        Outcome::Save { meeting, .. } => *meeting,
        Outcome::Ignore(why) => panic!("ignored: {why}"),
    }
}

fn ignored(outcome: Outcome) -> String {
    match outcome {
        Outcome::Ignore(why) => why,
        Outcome::Save { note, .. } => panic!("saved: {note}"),
    }
}

/// RFC 5546 §4.2.1, with its erratum fixed (the RFC's DTEND has a seventh digit).
const RFC_5546_REQUEST: &str = "BEGIN:VCALENDAR
PRODID:-//Example/ExampleCalendarClient//EN
METHOD:REQUEST
VERSION:2.0
BEGIN:VEVENT
ORGANIZER:mailto:a@example.com
ATTENDEE;ROLE=CHAIR;PARTSTAT=ACCEPTED:mailto:a@example.com
ATTENDEE;RSVP=TRUE;TYPE=INDIVIDUAL:mailto:b@example.com
ATTENDEE;RSVP=TRUE;TYPE=INDIVIDUAL:mailto:c@example.com
ATTENDEE;RSVP=TRUE;TYPE=INDIVIDUAL:mailto:d@example.com
DTSTAMP:19970611T190000Z
DTSTART:19970701T200000Z
DTEND:19970701T210000Z
SUMMARY:Conference
UID:calsrv.example.com-873970198738777@example.com
SEQUENCE:0
STATUS:CONFIRMED
END:VEVENT
END:VCALENDAR";

/// RFC 5546 §4.2.2's REPLY, for the request above (its UID made the same).
const RFC_5546_REPLY: &str = "BEGIN:VCALENDAR
PRODID:-//Example/ExampleCalendarClient//EN
METHOD:REPLY
VERSION:2.0
BEGIN:VEVENT
ATTENDEE;PARTSTAT=ACCEPTED:mailto:b@example.com
ORGANIZER:mailto:a@example.com
UID:calsrv.example.com-873970198738777@example.com
SEQUENCE:0
REQUEST-STATUS:2.0;Success
DTSTAMP:19970612T190000Z
END:VEVENT
END:VCALENDAR";

/// RFC 6047 §4.1's request (with ATTACH and RSVP=YES as the RFC writes them).
const RFC_6047_REQUEST: &str = "BEGIN:VCALENDAR
PRODID:-//ACME/DesktopCalendar//EN
METHOD:REQUEST
VERSION:2.0
BEGIN:VEVENT
ORGANIZER:mailto:sman@netscape.example.com
ATTENDEE;ROLE=CHAIR;PARTSTAT=ACCEPTED:mailto:sman@netscape.example.com
ATTENDEE;RSVP=YES:mailto:stevesil@microsoft.example.com
DTSTAMP:19970611T190000Z
DTSTART:19970701T210000Z
DTEND:19970701T230000Z
SUMMARY:Phone Conference
DESCRIPTION:Please review the attached document.
UID:calsvr.example.com-873970198738777
ATTACH:ftp://ftp.bar.example.com/pub/docs/foo.doc
STATUS:CONFIRMED
END:VEVENT
END:VCALENDAR";

/// Outlook (Exchange): Windows zone names defined by a VTIMEZONE with yearly rules,
/// LANGUAGE parameters, CN after the other parameters, an alarm.
const OUTLOOK_REQUEST: &str = "BEGIN:VCALENDAR
METHOD:REQUEST
PRODID:Microsoft Exchange Server 2010
VERSION:2.0
BEGIN:VTIMEZONE
TZID:W. Europe Standard Time
BEGIN:STANDARD
DTSTART:16010101T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VEVENT
ORGANIZER;CN=Alice Example:mailto:alice@a.test
ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;CN=Bob Example:mailto:bob@b.test
DESCRIPTION;LANGUAGE=en-US:Let's plan the launch.\\n
UID:040000008200E00074C5B7101A82E00800000000A0B1C2D3E4F5A601000000000000000010000000B
SUMMARY;LANGUAGE=en-US:Launch planning
DTSTART;TZID=W. Europe Standard Time:20261102T090000
DTEND;TZID=W. Europe Standard Time:20261102T100000
CLASS:PUBLIC
PRIORITY:5
DTSTAMP:20261020T120000Z
TRANSP:OPAQUE
STATUS:CONFIRMED
SEQUENCE:0
LOCATION;LANGUAGE=en-US:Room 1
X-MICROSOFT-CDO-APPT-SEQUENCE:0
X-MICROSOFT-CDO-BUSYSTATUS:TENTATIVE
BEGIN:VALARM
DESCRIPTION:REMINDER
TRIGGER;RELATED=START:-PT15M
ACTION:DISPLAY
END:VALARM
END:VEVENT
END:VCALENDAR";

/// Gmail: UTC times, the organizer also an ATTENDEE, CN = the address, X-NUM-GUESTS,
/// a long DESCRIPTION folded over lines.
const GMAIL_REQUEST: &str = "BEGIN:VCALENDAR
PRODID:-//Google Inc//Google Calendar 70.9054//EN
VERSION:2.0
CALSCALE:GREGORIAN
METHOD:REQUEST
BEGIN:VEVENT
DTSTART:20261102T080000Z
DTEND:20261102T090000Z
DTSTAMP:20261020T120000Z
ORGANIZER;CN=alice@a.test:mailto:alice@a.test
UID:7kukuqrfedlm2f9t0v1mn0qm5q@google.com
ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=
 TRUE;CN=bob@b.test;X-NUM-GUESTS=0:mailto:bob@b.test
ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=TRUE
 ;CN=alice@a.test;X-NUM-GUESTS=0:mailto:alice@a.test
CREATED:20261020T115959Z
DESCRIPTION:-::~:~::~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:
 ~:~:~:~:~:~:~:~::~:~::-\\nPlease do not edit this section of the description.
 \\n\\nView your event at https://calendar.google.example/event?action=VIEW
LAST-MODIFIED:20261020T120000Z
LOCATION:
SEQUENCE:0
STATUS:CONFIRMED
SUMMARY:Launch planning
TRANSP:OPAQUE
END:VEVENT
END:VCALENDAR";

/// Thunderbird: an IANA TZID with its VTIMEZONE, the organizer with RSVP and ROLE,
/// X-MOZ properties.
const THUNDERBIRD_REQUEST: &str = "BEGIN:VCALENDAR
PRODID:-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN
VERSION:2.0
METHOD:REQUEST
BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10
END:STANDARD
END:VTIMEZONE
BEGIN:VEVENT
CREATED:20261020T115500Z
LAST-MODIFIED:20261020T120000Z
DTSTAMP:20261020T120000Z
UID:3f2c1a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b
SUMMARY:Launch planning
ORGANIZER;RSVP=TRUE;CN=Alice Example;PARTSTAT=ACCEPTED;ROLE=CHAIR:mailto:alice@a.test
ATTENDEE;RSVP=TRUE;CN=Bob Example;PARTSTAT=NEEDS-ACTION;ROLE=REQ-PARTICIPANT:mailto:bob@b.test
DTSTART;TZID=Europe/Berlin:20261102T090000
DTEND;TZID=Europe/Berlin:20261102T100000
LOCATION:Room 1\\, second floor
SEQUENCE:0
TRANSP:OPAQUE
X-MOZ-SEND-INVITATIONS:TRUE
END:VEVENT
END:VCALENDAR";

fn parsed(text: &str) -> Itip {
    itip(&crlf(text)).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn rfc_5546_request_then_reply() {
    let request = parsed(RFC_5546_REQUEST);
    assert_eq!(request.method, Method::Request);
    let m = &request.meeting;
    assert_eq!(m.attendees.len(), 4);
    assert_eq!(m.when.as_ref().unwrap().start, at("1997-07-01T20:00:00Z"));
    // The organizer's own calendar holds the meeting; b's answer arrives.
    let reply = parsed(RFC_5546_REPLY);
    let updated = saved(apply(
        "a@example.com",
        Some(m),
        &reply,
        from("b@example.com"),
    ));
    assert_eq!(
        updated.attendee("b@example.com").unwrap().partstat,
        PartStat::Accepted
    );
    assert_eq!(
        updated.attendee("c@example.com").unwrap().partstat,
        PartStat::NeedsAction
    );
    // An invited attendee's calendar takes the request from the organizer.
    let mine = saved(apply(
        "c@example.com",
        None,
        &request,
        from("a@example.com"),
    ));
    assert_eq!(mine.uid, m.uid);
}

#[test]
fn rfc_6047_request_is_read() {
    let request = parsed(RFC_6047_REQUEST);
    assert_eq!(request.meeting.summary, "Phone Conference");
    // RSVP=YES is not RFC 5545's TRUE: read as no reply asked for.
    assert!(
        !request
            .meeting
            .attendee("stevesil@microsoft.example.com")
            .unwrap()
            .rsvp
    );
    let m = saved(apply(
        "stevesil@microsoft.example.com",
        None,
        &request,
        from("sman@netscape.example.com"),
    ));
    let when = m.when.unwrap();
    assert_eq!(when.end - when.start, Duration::hours(2));
}

#[test]
fn outlook_gmail_and_thunderbird_invitations_mean_the_same_meeting() {
    // 09:00 in Berlin on 2 November 2026 (winter time, +01:00) is 08:00 UTC.
    for (client, text) in [
        ("Outlook", OUTLOOK_REQUEST),
        ("Gmail", GMAIL_REQUEST),
        ("Thunderbird", THUNDERBIRD_REQUEST),
    ] {
        let request = parsed(text);
        let m = &request.meeting;
        let when = m.when.as_ref().unwrap();
        assert_eq!(when.start, at("2026-11-02T08:00:00Z"), "{client}");
        assert_eq!(when.end, at("2026-11-02T09:00:00Z"), "{client}");
        assert_eq!(m.summary, "Launch planning", "{client}");
        assert_eq!(m.organizer.address, "alice@a.test", "{client}");
        let bob = m.attendee("bob@b.test").unwrap();
        assert_eq!(
            (bob.partstat, bob.rsvp),
            (PartStat::NeedsAction, true),
            "{client}"
        );
        let kept = saved(apply("bob@b.test", None, &request, from("alice@a.test")));
        // Written back and read again: the same instants.
        let again = stored(&write(None, &kept)).unwrap();
        assert_eq!(again.when.as_ref().unwrap().start, when.start, "{client}");
        // Bob answers; the answer is a REPLY the organizer's calendar takes.
        let reply = answer(&kept, "bob@b.test", PartStat::Accepted, Utc::now()).unwrap();
        let reply = itip(&write(Some(Method::Reply), &reply)).unwrap();
        let organizer = saved(apply("alice@a.test", Some(m), &reply, from("bob@b.test")));
        assert_eq!(
            organizer.attendee("bob@b.test").unwrap().partstat,
            PartStat::Accepted
        );
    }
    assert_eq!(
        parsed(THUNDERBIRD_REQUEST).meeting.location,
        "Room 1, second floor"
    );
    assert!(parsed(GMAIL_REQUEST)
        .meeting
        .description
        .contains("View your event at"));
    assert_eq!(
        parsed(OUTLOOK_REQUEST).meeting.when.unwrap().zone,
        None,
        "a Windows name"
    );
    assert_eq!(
        parsed(THUNDERBIRD_REQUEST)
            .meeting
            .when
            .unwrap()
            .zone
            .as_deref(),
        Some("Europe/Berlin")
    );
}

fn draft() -> Draft {
    Draft {
        title: "Kick-off; part 1, \"the plan\"".into(),
        start: "2026-10-25T01:30:00+02:00".into(),
        duration_minutes: 180,
        time_zone: "Europe/Berlin".into(),
        location: "Room 1".into(),
        attendees: vec!["bob@b.test".into(), "carol@a.test".into()],
    }
}

fn alice() -> Person {
    Person::new("alice@a.test", "Alice Example")
}

#[test]
fn a_meeting_across_the_change_to_winter_time() {
    // 01:30 summer time to 03:30 winter time on 25 October 2026: three hours, though
    // the clock moves by two.
    let now = Utc.with_ymd_and_hms(2026, 10, 1, 12, 0, 0).unwrap();
    let m = invitation(alice(), &draft(), now, "uid-1".into()).unwrap();
    let text = write(Some(Method::Request), &m);
    assert!(
        text.contains("DTSTART;TZID=Europe/Berlin:20261025T013000\r\n"),
        "{text}"
    );
    assert!(
        text.contains("DTEND;TZID=Europe/Berlin:20261025T033000\r\n"),
        "{text}"
    );
    assert!(text.contains("BEGIN:DAYLIGHT\r\n") && text.contains("BEGIN:STANDARD\r\n"));
    assert!(
        text.contains("TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n"),
        "{text}"
    );
    assert!(
        text.contains("SUMMARY:Kick-off\\; part 1\\, \"the plan\"\r\n"),
        "{text}"
    );
    let unfolded = icalendar::parser::unfold(&text);
    assert!(
        unfolded.contains(
            "ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:bob@b.test\r\n"
        ),
        "{unfolded}"
    );
    assert!(text.lines().all(|l| l.len() <= 75), "folded at 75 octets");
    let back = itip(&text).unwrap();
    assert_eq!(back.meeting, m, "a round trip changes nothing");
    let w = back.meeting.when.unwrap();
    assert_eq!(w.end - w.start, Duration::hours(3));
}

#[test]
fn updates_follow_the_sequence() {
    let now = Utc::now();
    let v0 = invitation(alice(), &draft(), now, "uid-2".into()).unwrap();
    let request = |m: &super::Meeting| itip(&write(Some(Method::Request), m)).unwrap();
    let mut bobs = saved(apply(
        "bob@b.test",
        None,
        &request(&v0),
        from("alice@a.test"),
    ));
    bobs.attendee_mut("bob@b.test").unwrap().partstat = PartStat::Accepted;
    // The same version again (a later DTSTAMP, a new location): the answer holds.
    let mut same = v0.clone();
    same.location = "Room 2".into();
    same.dtstamp = now + Duration::minutes(1);
    let kept = saved(apply(
        "bob@b.test",
        Some(&bobs),
        &request(&same),
        from("alice@a.test"),
    ));
    assert_eq!(kept.location, "Room 2");
    assert_eq!(
        kept.attendee("bob@b.test").unwrap().partstat,
        PartStat::Accepted
    );
    // A new time, SEQUENCE 1: updated, and asked again.
    let mut v1 = same.clone();
    v1.sequence = 1;
    v1.when.as_mut().unwrap().start += Duration::hours(1);
    let moved = saved(apply(
        "bob@b.test",
        Some(&kept),
        &request(&v1),
        from("alice@a.test"),
    ));
    assert_eq!(moved.sequence, 1);
    assert_eq!(
        moved.attendee("bob@b.test").unwrap().partstat,
        PartStat::NeedsAction
    );
    // The old version arriving late changes nothing.
    assert!(ignored(apply(
        "bob@b.test",
        Some(&moved),
        &request(&v0),
        from("alice@a.test")
    ))
    .contains("older"));
    // A reply to SEQUENCE 0 does not count at the organizer, who is at 1.
    let late = answer(&v0, "bob@b.test", PartStat::Declined, now).unwrap();
    let late = itip(&write(Some(Method::Reply), &late)).unwrap();
    assert!(
        ignored(apply("alice@a.test", Some(&v1), &late, from("bob@b.test"))).contains("SEQUENCE")
    );
    // CANCEL: cancelled, not removed.
    let mut cancel = v1.clone();
    cancel.sequence = 2;
    let cancel = itip(&write(Some(Method::Cancel), &cancel)).unwrap();
    assert_eq!(cancel.method, Method::Cancel);
    let gone = saved(apply(
        "bob@b.test",
        Some(&moved),
        &cancel,
        from("alice@a.test"),
    ));
    assert!(gone.cancelled);
    assert!(write(None, &gone).contains("STATUS:CANCELLED\r\n"));
    // Only the organizer may cancel.
    assert!(ignored(apply(
        "bob@b.test",
        Some(&moved),
        &cancel,
        from("carol@a.test")
    ))
    .contains("only the organizer"));
}

#[test]
fn bad_input_changes_nothing() {
    let m = invitation(alice(), &draft(), Utc::now(), "uid-3".into()).unwrap();
    // Malformed calendars: each a sentence.
    for (text, expected) in [
        ("hello", "not valid iCalendar"),
        ("BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n", "no VEVENT"),
        ("BEGIN:VCALENDAR\r\nMETHOD:PUBLISH\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTAMP:20260101T000000Z\r\nORGANIZER:mailto:a@b\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", "PUBLISH"),
        ("BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTAMP:20260101T000000Z\r\nORGANIZER:mailto:a@b\r\nATTENDEE:mailto:c@d\r\nDTSTART;TZID=Mars/Base:20260101T100000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", "Mars/Base"),
        ("BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTAMP:20260101T000000Z\r\nORGANIZER:mailto:a@b\r\nATTENDEE:mailto:c@d\r\nDTSTART:2026-01-01\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", "not a DATE-TIME"),
        ("BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTAMP:20260101T000000Z\r\nATTENDEE:mailto:c@d\r\nDTSTART:20260101T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", "no ORGANIZER"),
        ("BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTAMP:20260101T000000Z\r\nORGANIZER:mailto:a@b\r\nATTENDEE:mailto:c@d\r\nDTSTART:20260101T100000Z\r\nSEQUENCE:one\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", "SEQUENCE"),
    ] {
        let why = itip(text).unwrap_err().0;
        assert!(why.contains(expected), "{text:?}: {why}");
    }
    let request = itip(&write(Some(Method::Request), &m)).unwrap();
    // ORGANIZER not the sender, by envelope or by From.
    assert!(ignored(apply(
        "bob@b.test",
        None,
        &request,
        from("mallory@evil.test")
    ))
    .contains("ORGANIZER"));
    let forged = Sender {
        envelope: "mallory@evil.test",
        from: "alice@a.test",
    };
    assert!(ignored(apply("bob@b.test", None, &request, forged)).contains("ORGANIZER"));
    // Not to an attendee.
    assert!(
        ignored(apply("dave@b.test", None, &request, from("alice@a.test"))).contains("ATTENDEE")
    );
    // A REPLY from someone who is not that attendee, or not invited, or unknown.
    let reply = itip(&write(
        Some(Method::Reply),
        &answer(&m, "bob@b.test", PartStat::Accepted, Utc::now()).unwrap(),
    ))
    .unwrap();
    assert!(ignored(apply(
        "alice@a.test",
        Some(&m),
        &reply,
        from("carol@a.test")
    ))
    .contains("speaks for"));
    let half = Sender {
        envelope: "bob@b.test",
        from: "carol@a.test",
    };
    assert!(ignored(apply("alice@a.test", Some(&m), &reply, half)).contains("speaks for"));
    let mut stranger = answer(&m, "bob@b.test", PartStat::Accepted, Utc::now()).unwrap();
    stranger.attendees[0].person = Person::new("eve@e.test", "");
    let stranger = itip(&write(Some(Method::Reply), &stranger)).unwrap();
    assert!(ignored(apply(
        "alice@a.test",
        Some(&m),
        &stranger,
        from("eve@e.test")
    ))
    .contains("not invited"));
    assert!(
        ignored(apply("alice@a.test", None, &reply, from("bob@b.test")))
            .contains("not in this calendar")
    );
    assert!(
        ignored(apply("bob@b.test", Some(&m), &reply, from("bob@b.test")))
            .contains("does not organize")
    );
}

#[test]
fn the_form_refuses_what_cannot_be_a_meeting() {
    let now = Utc::now();
    type Change = fn(&mut Draft);
    let cases: [(Change, &str); 6] = [
        (|d| d.title = " ".into(), "title"),
        (|d| d.start = "2026-11-02 09:00".into(), "RFC 3339"),
        (|d| d.duration_minutes = 0, "DurationMinutes"),
        (|d| d.time_zone = "CET+1".into(), "IANA"),
        (|d| d.attendees = vec!["bob".into()], "not an address"),
        (|d| d.attendees = vec!["alice@a.test".into()], "organizer"),
    ];
    for (change, expected) in cases {
        let mut d = draft();
        change(&mut d);
        let why = invitation(alice(), &d, now, "u".into()).unwrap_err().0;
        assert!(why.contains(expected), "{why}");
    }
}

#[test]
fn imip_messages_carry_the_calendar_and_delivery_applies_it() {
    let dir = tempfile::tempdir().unwrap();
    let now = Utc.with_ymd_and_hms(2026, 10, 20, 12, 0, 0).unwrap();
    let m = invitation(alice(), &draft(), now, "uid-4".into()).unwrap();
    let bob = Person::new("bob@b.test", "");
    let bytes = compose(Method::Request, &m, &alice(), &[bob], now, "u1");
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(
        text.contains("Content-Type: multipart/alternative;"),
        "{text}"
    );
    assert!(text.contains("Content-Type: text/calendar; charset=UTF-8; method=REQUEST\r\n"));
    assert!(
        text.find("text/plain").unwrap() < text.find("text/calendar").unwrap(),
        "RFC 6047 §2.4: the calendar last"
    );
    assert!(text.contains("Subject: Invitation: Kick-off; part 1, \"the plan\"\r\n"));
    let found = carried(&bytes).unwrap();
    assert_eq!(found.from, "alice@a.test");
    assert_eq!(itip(&found.calendar).unwrap().meeting, m);

    // Delivered to bob: his calendar has it; a forged copy changes nothing.
    let bob_box = crate::store::maildir::MailboxPath {
        domain: crate::store::mailbox::domain_name("b.test").unwrap(),
        mailbox: crate::store::mailbox::mailbox_name("bob").unwrap(),
    };
    let deliver = |reverse: &str, bytes: &[u8]| {
        let mut pending = Pending::new(
            dir.path().to_path_buf(),
            vec![bob_box.clone()],
            reverse.into(),
        );
        pending.write(bytes);
        pending.delivered()
    };
    let outcomes = deliver("mallory@evil.test", &bytes);
    assert!(
        matches!(&outcomes[..], [(_, Outcome::Ignore(_))]),
        "{outcomes:?}"
    );
    let calendars = Calendars::new(dir.path());
    assert_eq!(calendars.list(&bob_box).unwrap(), vec![]);
    let outcomes = deliver("alice@a.test", &bytes);
    assert!(
        matches!(&outcomes[..], [(_, Outcome::Save { .. })]),
        "{outcomes:?}"
    );
    assert_eq!(calendars.get(&bob_box, "uid-4").unwrap().as_ref(), Some(&m));
    let files: Vec<_> = std::fs::read_dir(calendars.dir(&bob_box))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(files.len(), 2, "one .ics and tmp/: {files:?}");
    // Plain mail and a malformed calendar are just mail.
    assert!(deliver(
        "alice@a.test",
        b"Subject: hi\r\n\r\ntext/calendar is only words here\r\n"
    )
    .is_empty());
    let broken = text.replace("BEGIN:VEVENT", "BEGIN:VEVENT\r\nDTSTART:garbage");
    assert!(deliver("alice@a.test", broken.as_bytes()).is_empty());
    assert_eq!(calendars.list(&bob_box).unwrap().len(), 1);
}

#[test]
fn a_gmail_message_with_an_ics_attachment_too() {
    let cal = crlf(GMAIL_REQUEST);
    let message = format!(
        "From: Alice <alice@a.test>\r\nTo: bob@b.test\r\nSubject: Invitation\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n--m\r\n\
         Content-Type: multipart/alternative; boundary=\"a\"\r\n\r\n--a\r\n\
         Content-Type: text/plain; charset=\"UTF-8\"\r\n\r\nYou have been invited.\r\n--a\r\n\
         Content-Type: text/calendar; charset=\"UTF-8\"; method=REQUEST\r\n\
         Content-Transfer-Encoding: 7bit\r\n\r\n{cal}\r\n--a--\r\n--m\r\n\
         Content-Type: application/ics; name=\"invite.ics\"\r\n\
         Content-Disposition: attachment; filename=\"invite.ics\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--m--\r\n"
    );
    let found = carried(message.as_bytes()).unwrap();
    assert_eq!(
        itip(&found.calendar).unwrap().meeting.uid,
        "7kukuqrfedlm2f9t0v1mn0qm5q@google.com"
    );
}

/// The two messages the chapter "A meeting is an email" shows, byte for byte: Alice's
/// invitation and Bob's answer as postie writes them (with a fixed clock, UID and
/// Message-ID). After a deliberate change, `POSTIE_BLESS=1 cargo test --lib calendar`
/// writes them anew, and the diff shows what changed.
#[test]
fn the_chapters_messages_are_what_postie_writes() {
    let now = Utc.with_ymd_and_hms(2026, 10, 26, 8, 0, 0).unwrap();
    let draft = Draft {
        title: "Launch planning".into(),
        start: "2026-11-02T09:00:00+01:00".into(),
        duration_minutes: 60,
        time_zone: "Europe/Berlin".into(),
        location: "Room 2".into(),
        attendees: vec!["bob@b.test".into()],
    };
    let uid = "7f3c2a9e41d04b6c8e5f1a2b3c4d5e6f".to_string();
    let meeting = invitation(alice(), &draft, now, uid).unwrap();
    let bob = Person::new("bob@b.test", "");
    let request = compose(
        Method::Request,
        &meeting,
        &alice(),
        std::slice::from_ref(&bob),
        now,
        "m1",
    );
    let later = now + Duration::minutes(7);
    let accepted = answer(&meeting, "bob@b.test", PartStat::Accepted, later).unwrap();
    let reply = compose(Method::Reply, &accepted, &bob, &[alice()], later, "m2");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts");
    for (file, bytes) in [
        ("meeting-request.eml", request),
        ("meeting-reply.eml", reply),
    ] {
        let path = dir.join(file);
        if std::env::var_os("POSTIE_BLESS").is_some() {
            std::fs::write(&path, &bytes).unwrap();
        }
        let golden = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            String::from_utf8_lossy(&golden),
            String::from_utf8_lossy(&bytes),
            "tests/transcripts/{file} is not what postie writes (POSTIE_BLESS=1 writes it anew)"
        );
    }
}
