//! iCalendar (RFC 5545) feeds: renders appointments as one VCALENDAR with a VTIMEZONE built
//! from jiff's transitions, so calendar apps show local wall times that stay right across
//! daylight-saving changes.
//!
//! Pure text in, text out: no I/O and no clock (the caller passes `now`). Which appointments
//! go into a feed, and who may read it, is decided by the handler that calls [`render`].
//!
//! The `icalendar` crate writes each content line (TEXT escaping, folding at 75 octets on
//! UTF-8 boundaries, CRLF) and the VEVENTs. It has no VTIMEZONE builder, so the BEGIN/END
//! framing of the calendar and of the VTIMEZONE is written here.

use icalendar::{Component, Event, EventLike, EventStatus, Property};
use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone, TimeZoneTransition};
use jiff::{SignedDuration, Timestamp};

/// Who made the feed (RFC 5545 §3.7.3).
const PRODID: &str = "-//Clowder//Clowder//EN";

/// An event's STATUS (RFC 5545 §3.8.1.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IcsStatus {
    /// The appointment is booked.
    Confirmed,
    /// The appointment is pencilled in, not yet confirmed.
    Tentative,
    /// The appointment was cancelled; it stays in the feed so calendars remove it.
    Cancelled,
}

/// One appointment as a VEVENT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcsEvent {
    /// Stable across edits, e.g. `<appointment ulid>@clowder`.
    pub uid: String,
    /// Incremented on every reschedule.
    pub sequence: u32,
    /// Start, written as a local time in the feed's zone.
    pub start: Timestamp,
    /// End (exclusive), written as a local time in the feed's zone.
    pub end: Timestamp,
    /// The title calendars show.
    pub summary: String,
    /// Free text shown with the event.
    pub description: Option<String>,
    /// Where, e.g. the clinic's name and address.
    pub location: Option<String>,
    /// Booked, pencilled in or cancelled.
    pub status: IcsStatus,
    /// When the appointment was booked.
    pub created: Timestamp,
    /// When the appointment last changed.
    pub last_modified: Timestamp,
}

/// A VCALENDAR with one VTIMEZONE for `tz_name` and the events; DTSTART/DTEND written as
/// local times with `TZID=<tz_name>`, DTSTAMP = `now` in UTC.
///
/// The VTIMEZONE covers from a year before the earliest event to a year after the latest
/// (around `now` when there are no events): the observance in force at the start of that span,
/// then one STANDARD or DAYLIGHT sub-component per transition within it. A zone that has never
/// changed its offset (UTC, a fixed offset) gets a single STANDARD with that offset.
pub fn render(cal_name: &str, tz_name: &str, tz: &TimeZone, events: &[IcsEvent], now: Timestamp) -> String {
    let mut out = String::from("BEGIN:VCALENDAR\r\n");
    for (key, value) in [
        ("PRODID", PRODID),
        ("VERSION", "2.0"),
        ("CALSCALE", "GREGORIAN"),
        ("METHOD", "PUBLISH"),
        ("X-WR-CALNAME", cal_name),
        ("X-WR-TIMEZONE", tz_name),
    ] {
        push_line(&mut out, Property::new(key, text(value)));
    }

    let earliest = events.iter().map(|e| e.start).min().unwrap_or(now);
    let latest = events.iter().map(|e| e.end.max(e.start)).max().unwrap_or(now);
    let year = SignedDuration::from_hours(366 * 24);
    push_vtimezone(&mut out, tz_name, tz, shift(earliest, -year), shift(latest, year));

    for event in events {
        out.push_str(&vevent(event, tz_name, tz, now).try_into_string().expect("writing to a String cannot fail"));
    }
    out.push_str("END:VCALENDAR\r\n");
    out
}

fn vevent(e: &IcsEvent, tz_name: &str, tz: &TimeZone, now: Timestamp) -> Event {
    let status = match e.status {
        IcsStatus::Confirmed => EventStatus::Confirmed,
        IcsStatus::Tentative => EventStatus::Tentative,
        IcsStatus::Cancelled => EventStatus::Cancelled,
    };
    let mut event = Event::new();
    // DTSTAMP and UID are always set: without them icalendar would write the system clock and
    // a random UUID, and the feed would change on every fetch.
    event
        .uid(&text(&e.uid))
        .sequence(e.sequence)
        .add_property("DTSTAMP", utc(now))
        .add_property("CREATED", utc(e.created))
        .add_property("LAST-MODIFIED", utc(e.last_modified))
        .append_property(local_time("DTSTART", tz_name, tz, e.start))
        .append_property(local_time("DTEND", tz_name, tz, e.end))
        .summary(&text(&e.summary))
        .status(status);
    if let Some(description) = &e.description {
        event.description(&text(description));
    }
    if let Some(location) = &e.location {
        event.location(&text(location));
    }
    event
}

/// `NAME;TZID=<tz_name>:<local wall time>`.
fn local_time(name: &str, tz_name: &str, tz: &TimeZone, at: Timestamp) -> Property {
    let mut property = Property::new(name, basic(tz.to_datetime(at)));
    property.add_parameter("TZID", tz_name);
    property
}

/// One STANDARD or DAYLIGHT sub-component of a VTIMEZONE.
struct Observance {
    daylight: bool,
    /// Local wall time of the onset, in the offset in force before it (RFC 5545 §3.6.5).
    start: DateTime,
    from: Offset,
    to: Offset,
    name: String,
}

impl Observance {
    fn of(tz: &TimeZone, transition: &TimeZoneTransition<'_>) -> Observance {
        let at = transition.timestamp();
        let before = tz.to_offset(shift(at, -SignedDuration::from_nanos(1)));
        Observance {
            daylight: transition.dst().is_dst(),
            start: before.to_datetime(at),
            from: before,
            to: transition.offset(),
            name: transition.abbreviation().to_owned(),
        }
    }
}

fn push_vtimezone(out: &mut String, tz_name: &str, tz: &TimeZone, from: Timestamp, until: Timestamp) {
    // The observance in force when the span opens comes first, so that every instant of the
    // span follows some onset. `preceding` is strict, hence the nanosecond: a transition
    // exactly at `from` counts as in force, and `following` (also strict) skips it.
    let in_force = match tz.preceding(shift(from, SignedDuration::from_nanos(1))).next() {
        Some(transition) => Observance::of(tz, &transition),
        None => {
            let info = tz.to_offset_info(from);
            Observance {
                daylight: false,
                start: jiff::civil::datetime(1970, 1, 1, 0, 0, 0, 0),
                from: info.offset(),
                to: info.offset(),
                name: info.abbreviation().to_owned(),
            }
        }
    };
    let later = tz.following(from).take_while(|t| t.timestamp() <= until).map(|t| Observance::of(tz, &t));

    out.push_str("BEGIN:VTIMEZONE\r\n");
    push_line(out, Property::new("TZID", text(tz_name)));
    for observance in std::iter::once(in_force).chain(later) {
        let kind = if observance.daylight { "DAYLIGHT" } else { "STANDARD" };
        out.push_str(&format!("BEGIN:{kind}\r\n"));
        push_line(out, Property::new("DTSTART", basic(observance.start)));
        push_line(out, Property::new("TZOFFSETFROM", utc_offset(observance.from)));
        push_line(out, Property::new("TZOFFSETTO", utc_offset(observance.to)));
        push_line(out, Property::new("TZNAME", text(&observance.name)));
        out.push_str(&format!("END:{kind}\r\n"));
    }
    out.push_str("END:VTIMEZONE\r\n");
}

/// Appends one content line: escaped, folded and ended with CRLF by icalendar.
fn push_line(out: &mut String, property: Property) {
    let line: String = property.try_into().expect("writing to a String cannot fail");
    out.push_str(&line);
}

/// Prepares free text for a TEXT value. icalendar escapes `\`, `;`, `,` and LF but leaves CR
/// alone, and a CR inside a content line breaks readers: line breaks become LF (written as
/// `\n`), and other control characters, which TEXT may not hold (§3.3.11), are dropped.
fn text(s: &str) -> String {
    s.replace("\r\n", "\n")
        .replace('\r', "\n")
        .chars()
        .filter(|&c| !c.is_ascii_control() || c == '\n' || c == '\t')
        .collect()
}

/// RFC 5545 basic format without offset: `20260308T020000`. Sub-second digits are dropped;
/// DATE-TIME has none.
fn basic(dt: DateTime) -> String {
    format!("{:04}{:02}{:02}T{:02}{:02}{:02}", dt.year(), dt.month(), dt.day(), dt.hour(), dt.minute(), dt.second())
}

/// A UTC DATE-TIME: `20260308T070000Z`.
fn utc(at: Timestamp) -> String {
    format!("{}Z", basic(Offset::UTC.to_datetime(at)))
}

/// A UTC-OFFSET (§3.3.14): `-0500`, or `-045602` when the offset has seconds (New York's LMT).
fn utc_offset(offset: Offset) -> String {
    let seconds = offset.seconds();
    // "-0000" is not allowed, so zero is positive.
    let sign = if seconds < 0 { '-' } else { '+' };
    let seconds = seconds.unsigned_abs();
    let (hours, minutes, seconds) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if seconds == 0 {
        format!("{sign}{hours:02}{minutes:02}")
    } else {
        format!("{sign}{hours:02}{minutes:02}{seconds:02}")
    }
}

fn shift(at: Timestamp, by: SignedDuration) -> Timestamp {
    at.saturating_add(by).expect("only a Span with calendar units can fail; this is a SignedDuration")
}

#[cfg(test)]
mod tests {
    use icalendar::parser::{self, read_calendar, unfold};

    use super::*;

    const NEW_YORK: &str = "America/New_York";

    fn zone(name: &str) -> TimeZone {
        TimeZone::get(name).expect("the system tzdb has the zone")
    }

    /// A 30-minute confirmed appointment at a local wall time in `tz`.
    fn appointment(uid: &str, tz: &TimeZone, (y, mo, d, h, mi): (i16, i8, i8, i8, i8)) -> IcsEvent {
        let start = jiff::civil::datetime(y, mo, d, h, mi, 0, 0).to_zoned(tz.clone()).expect("valid time").timestamp();
        IcsEvent {
            uid: uid.to_owned(),
            sequence: 0,
            start,
            end: shift(start, SignedDuration::from_mins(30)),
            summary: "Check-up".to_owned(),
            description: None,
            location: None,
            status: IcsStatus::Confirmed,
            created: shift(start, -SignedDuration::from_hours(24 * 7)),
            last_modified: shift(start, -SignedDuration::from_hours(24)),
        }
    }

    fn now() -> Timestamp {
        "2026-06-01T12:00:00Z".parse().expect("valid timestamp")
    }

    fn value<'a>(component: &'a parser::Component<'_>, name: &str) -> &'a str {
        component.find_prop(name).unwrap_or_else(|| panic!("{name} missing")).val.as_str()
    }

    fn param<'a>(component: &'a parser::Component<'_>, name: &str, key: &str) -> &'a str {
        let property = component.find_prop(name).unwrap_or_else(|| panic!("{name} missing"));
        let param = property.params.iter().find(|p| p.key.as_str() == key).unwrap_or_else(|| panic!("{key} missing"));
        param.val.as_ref().expect("parameter has a value").as_str()
    }

    fn components<'c, 'a>(calendar: &'c parser::Calendar<'a>, name: &str) -> Vec<&'c parser::Component<'a>> {
        calendar.components.iter().filter(|c| c.name.as_str() == name).collect()
    }

    /// (kind, DTSTART, TZOFFSETFROM, TZOFFSETTO, TZNAME) of each VTIMEZONE sub-component.
    fn observances(ics: &str) -> Vec<(String, String, String, String, String)> {
        let unfolded = unfold(ics);
        let calendar = read_calendar(&unfolded).expect("the feed parses");
        let zones = components(&calendar, "VTIMEZONE");
        assert_eq!(zones.len(), 1, "exactly one VTIMEZONE");
        zones[0]
            .components
            .iter()
            .map(|c| {
                let v = |name| value(c, name).to_owned();
                (c.name.as_str().to_owned(), v("DTSTART"), v("TZOFFSETFROM"), v("TZOFFSETTO"), v("TZNAME"))
            })
            .collect()
    }

    fn observance(
        kind: &str,
        start: &str,
        from: &str,
        to: &str,
        name: &str,
    ) -> (String, String, String, String, String) {
        (kind.to_owned(), start.to_owned(), from.to_owned(), to.to_owned(), name.to_owned())
    }

    #[test]
    fn a_new_york_event_round_trips_through_a_parser() {
        let tz = zone(NEW_YORK);
        let mut event = appointment("01JZ8Q3V4W5X6Y7Z8A9B0C1D2E@clowder", &tz, (2026, 7, 14, 14, 30));
        event.sequence = 3;
        event.summary = "Zoë; check-up, annual".to_owned();
        event.description = Some("Bring the carrier.\nOwner: O'Brien \\ Smith".to_owned());
        event.location = Some("Clowder Clinic, 12 Main St; Room 2".to_owned());

        let ics = render("Clowder, Main St", NEW_YORK, &tz, std::slice::from_ref(&event), now());

        // The escaping on the wire, checked against RFC 5545 §3.3.11 rather than against the
        // parser, which shares icalendar's unescaping table.
        assert!(ics.contains("SUMMARY:Zoë\\; check-up\\, annual\r\n"), "{ics}");
        assert!(ics.contains("X-WR-CALNAME:Clowder\\, Main St\r\n"), "{ics}");

        let unfolded = unfold(&ics);
        let calendar = read_calendar(&unfolded).expect("the feed parses");
        let header = |name: &str| {
            calendar.properties.iter().find(|p| p.name.as_str() == name).map(|p| p.val.as_str().to_owned())
        };
        assert_eq!(header("PRODID").as_deref(), Some("-//Clowder//Clowder//EN"));
        assert_eq!(header("VERSION").as_deref(), Some("2.0"));
        assert_eq!(header("CALSCALE").as_deref(), Some("GREGORIAN"));
        assert_eq!(header("METHOD").as_deref(), Some("PUBLISH"));
        assert_eq!(header("X-WR-CALNAME").as_deref(), Some("Clowder, Main St"));
        assert_eq!(header("X-WR-TIMEZONE").as_deref(), Some(NEW_YORK));

        let events = components(&calendar, "VEVENT");
        assert_eq!(events.len(), 1);
        let parsed = events[0];
        assert_eq!(value(parsed, "UID"), "01JZ8Q3V4W5X6Y7Z8A9B0C1D2E@clowder");
        assert_eq!(value(parsed, "SEQUENCE"), "3");
        assert_eq!(value(parsed, "DTSTART"), "20260714T143000");
        assert_eq!(param(parsed, "DTSTART", "TZID"), NEW_YORK);
        assert_eq!(value(parsed, "DTEND"), "20260714T150000");
        assert_eq!(param(parsed, "DTEND", "TZID"), NEW_YORK);
        assert_eq!(value(parsed, "STATUS"), "CONFIRMED");
        assert_eq!(value(parsed, "SUMMARY"), "Zoë; check-up, annual");
        assert_eq!(value(parsed, "DESCRIPTION"), "Bring the carrier.\nOwner: O'Brien \\ Smith");
        assert_eq!(value(parsed, "LOCATION"), "Clowder Clinic, 12 Main St; Room 2");
        assert_eq!(value(parsed, "DTSTAMP"), "20260601T120000Z");
        assert_eq!(value(parsed, "CREATED"), "20260707T183000Z");
        assert_eq!(value(parsed, "LAST-MODIFIED"), "20260713T183000Z");

        let zone = components(&calendar, "VTIMEZONE")[0];
        assert_eq!(value(zone, "TZID"), NEW_YORK);
    }

    #[test]
    fn the_new_york_vtimezone_has_the_2026_transitions() {
        let tz = zone(NEW_YORK);
        let events =
            [appointment("a@clowder", &tz, (2026, 1, 15, 9, 0)), appointment("b@clowder", &tz, (2026, 12, 10, 9, 0))];

        let found = observances(&render("Clinic", NEW_YORK, &tz, &events, now()));

        assert!(found.contains(&observance("DAYLIGHT", "20260308T020000", "-0500", "-0400", "EDT")), "{found:#?}");
        assert!(found.contains(&observance("STANDARD", "20261101T020000", "-0400", "-0500", "EST")), "{found:#?}");
        // A year either side: from the observance in force in January 2025 to November 2027.
        assert_eq!(found.first(), Some(&observance("STANDARD", "20241103T020000", "-0400", "-0500", "EST")));
        assert_eq!(found.last(), Some(&observance("STANDARD", "20271107T020000", "-0400", "-0500", "EST")));
        assert_eq!(found.len(), 7, "{found:#?}");
    }

    #[test]
    fn a_zone_without_transitions_has_a_single_standard_component() {
        let event = appointment("a@clowder", &TimeZone::UTC, (2026, 7, 14, 14, 30));
        let ics = render("Clinic", "UTC", &TimeZone::UTC, &[event], now());
        assert_eq!(observances(&ics), [observance("STANDARD", "19700101T000000", "+0000", "+0000", "UTC")]);
        assert!(ics.contains("DTSTART;TZID=UTC:20260714T143000\r\n"), "{ics}");

        // Tokyo last changed its offset in 1951: one STANDARD, that onset, ending at +0900.
        let tokyo = zone("Asia/Tokyo");
        let event = appointment("b@clowder", &tokyo, (2026, 7, 14, 14, 30));
        let found = observances(&render("Clinic", "Asia/Tokyo", &tokyo, &[event], now()));
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!((found[0].0.as_str(), found[0].3.as_str(), found[0].4.as_str()), ("STANDARD", "+0900", "JST"));
    }

    #[test]
    fn a_cancelled_event_with_a_long_summary_is_folded_with_crlf() {
        let tz = zone(NEW_YORK);
        let mut event = appointment("a@clowder", &tz, (2026, 7, 14, 14, 30));
        event.status = IcsStatus::Cancelled;
        event.summary = "Zoë the tabby: annual check-up, vaccines; nails. ".chars().cycle().take(200).collect();
        // Two-byte characters only, so some 75-octet fold points fall inside a character.
        event.description = Some("ë".repeat(200));
        // Line breaks as a browser form sends them.
        event.location = Some("Room 2\r\nback entrance\rside door".to_owned());

        let ics = render("Clinic", NEW_YORK, &tz, &[event.clone()], now());

        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        for line in ics.split_inclusive('\n') {
            assert!(line.ends_with("\r\n"), "{line:?}");
            assert!(line.len() - 2 <= 75, "{} octets: {line:?}", line.len() - 2);
        }
        assert_eq!(ics.matches('\r').count(), ics.matches("\r\n").count(), "a CR without LF");
        assert_eq!(ics.matches('\n').count(), ics.matches("\r\n").count(), "an LF without CR");
        assert!(ics.lines().filter(|l| l.starts_with(' ')).count() >= 5, "the long values are folded");

        let unfolded = unfold(&ics);
        let calendar = read_calendar(&unfolded).expect("the feed parses");
        let parsed = components(&calendar, "VEVENT")[0];
        assert_eq!(value(parsed, "STATUS"), "CANCELLED");
        assert_eq!(value(parsed, "SUMMARY"), event.summary);
        assert_eq!(value(parsed, "SUMMARY").chars().count(), 200);
        assert_eq!(value(parsed, "DESCRIPTION"), "ë".repeat(200));
        assert_eq!(value(parsed, "LOCATION"), "Room 2\nback entrance\nside door");
    }

    #[test]
    fn several_events_in_one_feed_are_all_parsed() {
        let tz = zone(NEW_YORK);
        let mut events = vec![
            appointment("a@clowder", &tz, (2026, 3, 8, 9, 0)),
            appointment("b@clowder", &tz, (2026, 11, 1, 1, 30)),
            appointment("c@clowder", &tz, (2028, 5, 2, 16, 45)),
        ];
        events[1].status = IcsStatus::Tentative;
        events[2].status = IcsStatus::Cancelled;
        events[2].sequence = 2;

        let ics = render("Clinic", NEW_YORK, &tz, &events, now());
        let unfolded = unfold(&ics);
        let calendar = read_calendar(&unfolded).expect("the feed parses");

        let parsed: Vec<_> = components(&calendar, "VEVENT")
            .into_iter()
            .map(|e| (value(e, "UID"), value(e, "DTSTART"), value(e, "STATUS"), value(e, "SEQUENCE")))
            .collect();
        assert_eq!(
            parsed,
            [
                ("a@clowder", "20260308T090000", "CONFIRMED", "0"),
                // 01:30 on the night clocks fall back is ambiguous; jiff picks the first, EDT.
                ("b@clowder", "20261101T013000", "TENTATIVE", "0"),
                ("c@clowder", "20280502T164500", "CANCELLED", "2"),
            ]
        );
        // The zone covers a year either side of the events.
        let found = observances(&ics);
        assert!(found.iter().any(|o| o.1 == "20250309T020000"), "{found:#?}");
        assert!(found.iter().any(|o| o.1 == "20290311T020000"), "{found:#?}");
    }

    #[test]
    fn an_empty_feed_still_describes_the_zone_around_now() {
        let tz = zone(NEW_YORK);
        let ics = render("Clinic", NEW_YORK, &tz, &[], now());
        let found = observances(&ics);
        assert!(found.iter().any(|o| o.1 == "20251102T020000"), "{found:#?}");
        assert!(found.iter().any(|o| o.1 == "20270314T020000"), "{found:#?}");
        assert!(!found.iter().any(|o| o.1 == "20271107T020000"), "{found:#?}");
        assert!(!ics.contains("BEGIN:VEVENT"));
    }
}
