//! Local dates and wall times of a location's time zone turned into instants, and back.
//!
//! Pure functions over jiff (no store, no clock): the one place that decides what a local
//! time means when a daylight-saving change makes it skip or repeat. Everything scheduling
//! stores is an instant; local dates and times (opening hours, shifts, `?date=`) go through
//! here on their way in.
//!
//! - A wall time **skipped** by a spring-forward jump counts as the instant just after the
//!   jump, moved on by the jump's length (02:30 on that night is 03:30, RFC 5545's rule).
//! - A wall time that **happens twice** (fall back) is its first occurrence, except for a
//!   closing time ([`closing_instant`]), which is its second so the repeated hour stays open.

use clowder_schemas::ValidationError;
use jiff::Timestamp;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;

/// Resolves an IANA time-zone name (422 on `field` for a name the database does not know).
pub fn time_zone(field: &str, name: &str) -> Result<TimeZone, ValidationError> {
    TimeZone::get(name)
        .map_err(|_| ValidationError::new(field, "must be an IANA time zone such as America/New_York or Europe/London"))
}

/// Only dates near the ends of the representable range (years −9999 and 9999) have no
/// instant; that is the caller's input, so it is a validation error on `date`.
fn out_of_range() -> ValidationError {
    ValidationError::new("date", "is out of the supported range")
}

/// The instant a local wall time happens at: in a gap, the instant after the jump by the
/// time's distance into the gap; in a fold, the first occurrence.
pub fn local_instant(tz: &TimeZone, date: Date, time: Time) -> Result<Timestamp, ValidationError> {
    tz.to_ambiguous_timestamp(date.to_datetime(time)).compatible().map_err(|_| out_of_range())
}

/// The instant a closing time happens at: like [`local_instant`] in a gap, but in a fold
/// the second occurrence, so a day closing inside a repeated hour keeps both copies of it.
pub fn closing_instant(tz: &TimeZone, date: Date, time: Time) -> Result<Timestamp, ValidationError> {
    tz.to_ambiguous_timestamp(date.to_datetime(time)).later().map_err(|_| out_of_range())
}

/// The instants a local date begins and ends (the next date's beginning): `[start, end)`.
/// A day is 23 or 25 hours long on a transition day, and begins at 01:00 where midnight
/// itself is skipped.
pub fn day_bounds(tz: &TimeZone, date: Date) -> Result<(Timestamp, Timestamp), ValidationError> {
    let next = date.tomorrow().map_err(|_| out_of_range())?;
    Ok((local_instant(tz, date, Time::midnight())?, local_instant(tz, next, Time::midnight())?))
}

/// The local date an instant falls on.
pub fn local_date(tz: &TimeZone, at: Timestamp) -> Date {
    at.to_zoned(tz.clone()).date()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, time};

    fn new_york() -> TimeZone {
        time_zone("time_zone", "America/New_York").expect("the test machine has the tz database")
    }

    fn at(s: &str) -> Timestamp {
        s.parse().expect("a valid instant")
    }

    // 2026 in New York: clocks jump 02:00 → 03:00 on 8 March and fall 02:00 → 01:00 on 1 November.
    const SPRING: Date = date(2026, 3, 8);
    const FALL: Date = date(2026, 11, 1);

    #[test]
    fn an_ordinary_wall_time_is_its_one_instant() {
        assert_eq!(local_instant(&new_york(), date(2026, 6, 1), time(9, 0, 0, 0)), Ok(at("2026-06-01T13:00:00Z")));
        assert_eq!(closing_instant(&new_york(), date(2026, 6, 1), time(18, 0, 0, 0)), Ok(at("2026-06-01T22:00:00Z")));
    }

    #[test]
    fn a_wall_time_skipped_by_spring_forward_moves_on_by_the_jump() {
        let tz = new_york();
        // 02:30 does not exist; it is read as 03:30 EDT (07:30Z), for openings and closings alike.
        assert_eq!(local_instant(&tz, SPRING, time(2, 30, 0, 0)), Ok(at("2026-03-08T07:30:00Z")));
        assert_eq!(closing_instant(&tz, SPRING, time(2, 30, 0, 0)), Ok(at("2026-03-08T07:30:00Z")));
        // The jump's own start is its end: 02:00 is 03:00 EDT.
        assert_eq!(local_instant(&tz, SPRING, time(2, 0, 0, 0)), local_instant(&tz, SPRING, time(3, 0, 0, 0)));
    }

    #[test]
    fn a_wall_time_repeated_by_fall_back_is_its_first_occurrence_and_a_closing_its_second() {
        let tz = new_york();
        // 01:30 happens at 05:30Z (EDT) and again at 06:30Z (EST).
        assert_eq!(local_instant(&tz, FALL, time(1, 30, 0, 0)), Ok(at("2026-11-01T05:30:00Z")));
        assert_eq!(closing_instant(&tz, FALL, time(1, 30, 0, 0)), Ok(at("2026-11-01T06:30:00Z")));
    }

    #[test]
    fn transition_days_are_23_and_25_hours_long() {
        let tz = new_york();
        let hours = |d: Date| {
            let (start, end) = day_bounds(&tz, d).expect("in range");
            end.duration_since(start).as_hours()
        };
        assert_eq!(hours(SPRING), 23);
        assert_eq!(hours(FALL), 25);
        assert_eq!(hours(date(2026, 6, 1)), 24);
        assert_eq!(day_bounds(&tz, FALL), Ok((at("2026-11-01T04:00:00Z"), at("2026-11-02T05:00:00Z"))));
    }

    #[test]
    fn a_day_whose_midnight_is_skipped_begins_after_the_jump() {
        // São Paulo sprang forward at midnight in 2018: 4 November began at 01:00 -02:00.
        let tz = time_zone("time_zone", "America/Sao_Paulo").expect("the test machine has the tz database");
        let (start, end) = day_bounds(&tz, date(2018, 11, 4)).expect("in range");
        assert_eq!(start, at("2018-11-04T03:00:00Z"));
        assert_eq!(end.duration_since(start).as_hours(), 23);
        // And the day before ends where this one begins: nothing falls between two days.
        assert_eq!(day_bounds(&tz, date(2018, 11, 3)).expect("in range").1, start);
    }

    #[test]
    fn local_date_follows_the_zone_not_utc() {
        let tz = new_york();
        assert_eq!(local_date(&tz, at("2026-06-02T03:59:59Z")), date(2026, 6, 1));
        assert_eq!(local_date(&tz, at("2026-06-02T04:00:00Z")), date(2026, 6, 2));
        // The second 01:30 of the fall-back night is still 1 November.
        assert_eq!(local_date(&tz, at("2026-11-01T06:30:00Z")), FALL);
    }

    #[test]
    fn an_unknown_zone_or_a_date_at_the_end_of_time_is_a_validation_error() {
        assert_eq!(time_zone("time_zone", "Mars/Olympus_Mons").unwrap_err().field, "time_zone");
        assert_eq!(day_bounds(&TimeZone::UTC, Date::MAX).unwrap_err().field, "date");
    }
}
