//! Recurring schedules in the clinic's time zone: daily at a wall time, weekly on a weekday,
//! monthly on a day of the month. Each occurrence is enqueued as an ordinary job with the
//! idempotency key `recurring:<name>:<local date>`, so it runs once per local date whatever
//! the restarts and daylight-saving changes:
//!
//! - a wall time **skipped** by a spring-forward jump (02:30 on that night in New York) runs
//!   at the first instant after the jump (03:00 local);
//! - a wall time that **happens twice** (fall back) runs at its first occurrence only (the key
//!   names the date, and the date has one key).

use clowder_schemas::ValidationError;
use jiff::civil::{Date, Time, Weekday};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{Timestamp, ToSpan};

/// When a recurring job runs, in local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Daily {
        at: Time,
    },
    Weekly {
        on: Weekday,
        at: Time,
    },
    /// Day 29–31 in a shorter month runs on its last day.
    Monthly {
        day: i8,
        at: Time,
    },
}

/// A recurring job: a name (in its keys), the handler kind it enqueues, its rule and payload.
#[derive(Debug, Clone)]
pub struct Recurring {
    pub name: &'static str,
    pub kind: &'static str,
    pub rule: Rule,
    pub payload: serde_json::Value,
}

impl Recurring {
    /// The idempotency key of the occurrence on local date `date`.
    pub fn key(&self, date: Date) -> String {
        format!("recurring:{}:{date}", self.name)
    }
}

/// The payload check of a recurring job that takes none: exactly `{}`.
pub fn empty_payload(payload: &serde_json::Value) -> Result<(), ValidationError> {
    match payload.as_object() {
        Some(o) if o.is_empty() => Ok(()),
        _ => Err(ValidationError::new("payload", "must be {}")),
    }
}

/// The instant wall time `at` happens on `date` in `tz`: in a gap, the first instant after
/// the jump; in a fold, the first occurrence.
pub fn wall_instant(tz: &TimeZone, date: Date, at: Time) -> Result<Timestamp, ValidationError> {
    let out = || ValidationError::new("date", "is out of the supported range");
    let amb = tz.to_ambiguous_timestamp(date.to_datetime(at));
    match amb.offset() {
        AmbiguousOffset::Gap { after, .. } => {
            // Read with the offset after the jump, the wall time lands before it; the next
            // transition from there is the jump itself.
            let early = after.to_timestamp(date.to_datetime(at)).map_err(|_| out())?;
            tz.following(early).next().map(|t| t.timestamp()).ok_or_else(out)
        }
        _ => amb.compatible().map_err(|_| out()),
    }
}

/// Whether the rule has an occurrence on local date `date`.
fn occurs_on(rule: Rule, date: Date) -> Option<Time> {
    match rule {
        Rule::Daily { at } => Some(at),
        Rule::Weekly { on, at } => (date.weekday() == on).then_some(at),
        Rule::Monthly { day, at } => {
            let last = date.last_of_month().day();
            (date.day() == day.min(last)).then_some(at)
        }
    }
}

/// The first occurrence whose instant is at or after `from`: its local date and instant.
pub fn next_occurrence(rule: Rule, tz: &TimeZone, from: Timestamp) -> Result<(Date, Timestamp), ValidationError> {
    let mut date = from.to_zoned(tz.clone()).date();
    // A monthly rule occurs within 31 days; one more day covers an instant already past today.
    for _ in 0..40 {
        if let Some(at) = occurs_on(rule, date) {
            let when = wall_instant(tz, date, at)?;
            if when >= from {
                return Ok((date, when));
            }
        }
        date = date.checked_add(1.day()).map_err(|_| ValidationError::new("date", "is out of the supported range"))?;
    }
    Err(ValidationError::new("rule", "has no occurrence within 40 days"))
}

/// Parses `HH:MM` (a setting).
pub fn parse_time(field: &str, text: &str) -> Result<Time, ValidationError> {
    let bad = || ValidationError::new(field, "must be a time HH:MM, e.g. 03:30");
    let (h, m) = text.trim().split_once(':').ok_or_else(bad)?;
    let (h, m): (i8, i8) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    Time::new(h, m, 0, 0).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, time};

    fn ny() -> TimeZone {
        TimeZone::get("America/New_York").unwrap()
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_daily_time_skipped_by_spring_forward_runs_when_the_clock_jumps() {
        // 2026-03-08: New York jumps from 02:00 EST to 03:00 EDT (07:00 UTC).
        let rule = Rule::Daily { at: time(2, 30, 0, 0) };
        let (d, when) = next_occurrence(rule, &ny(), at("2026-03-08T05:00:00Z")).unwrap();
        assert_eq!(d, date(2026, 3, 8));
        assert_eq!(when, at("2026-03-08T07:00:00Z"), "03:00 EDT, the first valid instant");
        // The day before and after run at 02:30 local.
        let (_, before) = next_occurrence(rule, &ny(), at("2026-03-07T00:00:00Z")).unwrap();
        assert_eq!(before, at("2026-03-07T07:30:00Z"));
        let (d, after) = next_occurrence(rule, &ny(), at("2026-03-08T07:00:01Z")).unwrap();
        assert_eq!((d, after), (date(2026, 3, 9), at("2026-03-09T06:30:00Z")));
    }

    #[test]
    fn a_daily_time_repeated_by_fall_back_runs_once_at_its_first_occurrence() {
        // 2026-11-01: 01:00–02:00 happens twice (EDT, then EST).
        let rule = Rule::Daily { at: time(1, 30, 0, 0) };
        let (d, first) = next_occurrence(rule, &ny(), at("2026-11-01T04:00:00Z")).unwrap();
        assert_eq!((d, first), (date(2026, 11, 1), at("2026-11-01T05:30:00Z")), "01:30 EDT");
        // After the first 01:30, the next occurrence is the next day's, not the second 01:30.
        let (d, next) = next_occurrence(rule, &ny(), at("2026-11-01T05:30:01Z")).unwrap();
        assert_eq!((d, next), (date(2026, 11, 2), at("2026-11-02T06:30:00Z")));
        let r = Recurring { name: "x", kind: "x", rule, payload: serde_json::json!({}) };
        assert_eq!(r.key(d), "recurring:x:2026-11-02");
    }

    #[test]
    fn weekly_and_monthly_rules_pick_their_days() {
        let weekly = Rule::Weekly { on: Weekday::Monday, at: time(8, 0, 0, 0) };
        // Sunday 2026-03-08 → Monday 2026-03-09 08:00 EDT.
        let (d, w) = next_occurrence(weekly, &ny(), at("2026-03-08T12:00:00Z")).unwrap();
        assert_eq!((d, w), (date(2026, 3, 9), at("2026-03-09T12:00:00Z")));
        let monthly = Rule::Monthly { day: 31, at: time(6, 0, 0, 0) };
        let (d, _) = next_occurrence(monthly, &ny(), at("2026-02-02T00:00:00Z")).unwrap();
        assert_eq!(d, date(2026, 2, 28), "the 31st in February is its last day");
        assert!(parse_time("t", "03:30").is_ok() && parse_time("t", "25:00").is_err() && parse_time("t", "3").is_err());
    }
}
