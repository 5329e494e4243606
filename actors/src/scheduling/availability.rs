//! Availability: which start instants are free for one bookable person at one location.
//!
//! Pure computation over instants: no store, no clock, no I/O. Callers derive `not_before`
//! and `not_after` from their `Clock`; nothing here reads the time.
//!
//! Invariant: each day's slot grid is built in absolute time. The day's local opening and
//! closing wall times are turned into instants with the location's time zone (by [`zones`]), and the grid
//! steps by real minutes from the opening instant. So on a spring-forward day no slot carries
//! a wall time that does not exist, and on a fall-back day the repeated hour yields distinct
//! instants, each once.

use std::borrow::Cow;

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::zones;

/// Closing time meaning "open until midnight" (24:00).
///
/// `civil::Time` cannot hold 24:00, so its largest value stands in for it: a day whose close
/// is `END_OF_DAY` closes at the first instant of the next local day, and a slot may end
/// exactly then (23:30 + 30 minutes fits). Any other close is an ordinary wall time.
pub const END_OF_DAY: Time = Time::MAX;

/// Half-open instant interval [start, end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    /// First instant inside.
    pub start: Timestamp,
    /// First instant after.
    pub end: Timestamp,
}

impl Interval {
    /// The interval [start, end); empty when `end <= start`.
    pub fn new(start: Timestamp, end: Timestamp) -> Interval {
        Interval { start, end }
    }

    /// True when the interval holds no instant.
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

/// Everything about the location and the requested type that shapes the slot grid.
#[derive(Debug, Clone, Copy)]
pub struct SlotRules<'a> {
    /// The location's time zone, in which hours and blackout dates are read.
    pub tz: &'a TimeZone,
    /// Opening hours per ISO weekday, index 0 = Monday .. 6 = Sunday: (open, close) local wall
    /// times with close > open, or None when closed that day. A close of [`END_OF_DAY`]
    /// means open until midnight.
    pub hours: &'a [Option<(Time, Time)>; 7],
    /// Local dates the location is closed (holidays), any order.
    pub blackout: &'a [Date],
    /// Slot grid step in minutes (e.g. 15); slots start at opening time + k*step. Zero gives
    /// no slots.
    pub step_minutes: u16,
    /// Length of the appointment, minutes. Zero gives no slots.
    pub duration_minutes: u16,
    /// Minutes kept free after it (the new booking blocks [start, end + buffer)).
    pub buffer_after_minutes: u16,
    /// Earliest allowed start (now + minimum notice).
    pub not_before: Timestamp,
    /// Latest allowed start (now + horizon), inclusive.
    pub not_after: Timestamp,
}

/// One bookable person (a vet) at this location.
#[derive(Debug, Clone, Default)]
pub struct Resource {
    /// When they work here: shifts minus time off, as instants, any order, may overlap.
    pub on_duty: Vec<Interval>,
    /// Existing non-cancelled bookings, each already extended by its own buffer, any order.
    pub busy: Vec<Interval>,
}

/// Sorts, drops empty intervals and joins overlapping or touching ones, so the result is
/// ascending with a gap between any two neighbours.
pub fn merge(mut v: Vec<Interval>) -> Vec<Interval> {
    v.retain(|i| !i.is_empty());
    v.sort_unstable_by_key(|i| i.start);
    // `dedup_by` hands over (later, kept): absorbing `later` into `kept` merges in place.
    v.dedup_by(|later, kept| {
        if later.start <= kept.end {
            kept.end = kept.end.max(later.end);
            true
        } else {
            false
        }
    });
    v
}

/// The instants in `a` and not in `b` (e.g. shifts minus time off), merged and ascending.
pub fn subtract(a: &[Interval], b: &[Interval]) -> Vec<Interval> {
    let a = merge(a.to_vec());
    let b = merge(b.to_vec());
    let mut out = Vec::with_capacity(a.len());
    let mut j = 0;
    for iv in a {
        let mut cur = iv.start;
        // A cut ending at or before `cur` cannot affect this or any later interval of `a`.
        while j < b.len() && b[j].end <= cur {
            j += 1;
        }
        // Cuts that reach past `iv.end` stay in play (`j` is not advanced) for the next one.
        for cut in b[j..].iter().take_while(|cut| cut.start < iv.end) {
            if cut.start > cur {
                out.push(Interval::new(cur, cut.start));
            }
            cur = cur.max(cut.end);
        }
        if cur < iv.end {
            out.push(Interval::new(cur, iv.end));
        }
    }
    out
}

/// Free start instants in [from, to) for one resource, ascending, no duplicates.
///
/// A start `s` is free when it lies on the grid of a local day that is neither a blackout
/// date nor a closed weekday; [s, s + duration) lies within that day's opening and within one
/// merged on-duty interval; [s, s + duration + buffer) overlaps no busy interval; and
/// `not_before <= s <= not_after`.
///
/// The day's opening instant takes the earlier instant of a repeated wall time and, for a
/// wall time skipped by a spring-forward gap, the instant at the end of the gap; the closing
/// instant takes the later instant of a repeated wall time, so a 25-hour day keeps its
/// repeated hour.
pub fn free_starts(rules: &SlotRules, resource: &Resource, from: Timestamp, to: Timestamp) -> Vec<Timestamp> {
    let mut out = Vec::new();
    if rules.step_minutes == 0 || rules.duration_minutes == 0 {
        return out;
    }
    // Integer nanoseconds keep the per-slot loop to plain additions and comparisons.
    let step = minutes_ns(rules.step_minutes);
    let duration = minutes_ns(rules.duration_minutes);
    let blocks = duration + minutes_ns(rules.buffer_after_minutes);
    let lo = ns(from).max(ns(rules.not_before));
    // `not_after` is inclusive; `to` is not.
    let hi = ns(to).min(ns(rules.not_after) + 1);
    if lo >= hi {
        return out;
    }

    // Intervals ending by `lo` or starting after the last possible slot's blocked time touch
    // no slot; dropping them first keeps the sort small when callers pass a long history.
    let window = (lo, hi + blocks);
    let duty = merged_ns(&resource.on_duty, window);
    let busy = merged_ns(&resource.busy, window);
    let blackout: Cow<[Date]> = if rules.blackout.is_sorted() {
        Cow::Borrowed(rules.blackout)
    } else {
        let mut v = rules.blackout.to_vec();
        v.sort_unstable();
        Cow::Owned(v)
    };

    let first_day = rules.tz.to_datetime(from_ns(lo)).date();
    let last_day = rules.tz.to_datetime(from_ns(hi - 1)).date();
    // The day before is looked at too: around a fold at local midnight its window can reach
    // into `first_day`. It costs two time-zone look-ups.
    let mut day = first_day.yesterday().unwrap_or(first_day);
    loop {
        if blackout.binary_search(&day).is_err()
            && let Some(Opening { at, open, close }) = opening(rules, day)
        {
            let mut s = next_on_grid(open, step, lo);
            // Found afresh per day, so correctness never depends on days' windows being
            // disjoint; within a day both cursors only move forward.
            let mut d = duty.partition_point(|iv| iv.1 < s + duration);
            let mut b = busy.partition_point(|iv| iv.1 <= s);
            while s < hi && s + duration <= close {
                // The only merged on-duty interval that can hold [s, s + duration) is the first
                // one ending at or after s + duration.
                while d < duty.len() && duty[d].1 < s + duration {
                    d += 1;
                }
                let Some(&(duty_start, _)) = duty.get(d) else { break };
                if duty_start > s {
                    s = next_on_grid(open, step, duty_start);
                    continue;
                }
                while b < busy.len() && busy[b].1 <= s {
                    b += 1;
                }
                match busy.get(b) {
                    // Every start before this busy interval ends would still overlap it.
                    Some(&(busy_start, busy_end)) if busy_start < s + blocks => {
                        s = next_on_grid(open, step, busy_end);
                    }
                    _ => {
                        out.push(slot_instant(at, s - open));
                        s += step;
                    }
                }
            }
        }
        if day >= last_day {
            break;
        }
        let Ok(next) = day.tomorrow() else { break };
        day = next;
    }
    // Only a time zone whose fold spans local midnight could make two days' windows overlap;
    // this keeps the promise (ascending, no duplicates) even then, at O(n) otherwise.
    if !out.is_sorted() {
        out.sort_unstable();
    }
    out.dedup();
    out
}

/// A day's opening window [open, close) in nanoseconds, and its opening instant.
struct Opening {
    at: Timestamp,
    open: i128,
    close: i128,
}

/// The day's opening window, or None when closed or empty.
fn opening(rules: &SlotRules, day: Date) -> Option<Opening> {
    let weekday = usize::try_from(day.weekday().to_monday_zero_offset()).ok()?;
    let (open, close) = rules.hours[weekday]?;
    // An opening in a fold is its first occurrence, in a gap the gap's end.
    let open = zones::local_instant(rules.tz, day, open).ok()?;
    let close = if close == END_OF_DAY {
        zones::local_instant(rules.tz, day.tomorrow().ok()?, Time::midnight()).ok()?
    } else {
        // The second occurrence keeps a repeated hour before the close inside the day.
        zones::closing_instant(rules.tz, day, close).ok()?
    };
    (open < close).then_some(Opening { at: open, open: ns(open), close: ns(close) })
}

/// The first grid instant `open + k * step` (k >= 0) at or after `t`.
fn next_on_grid(open: i128, step: i128, t: i128) -> i128 {
    if t <= open { open } else { open + (t - open + step - 1) / step * step }
}

fn minutes_ns(minutes: u16) -> i128 {
    i128::from(minutes) * 60_000_000_000
}

fn ns(t: Timestamp) -> i128 {
    t.as_nanosecond()
}

fn from_ns(t: i128) -> Timestamp {
    Timestamp::from_nanosecond(t).expect("only called with instants between two valid timestamps")
}

/// The instant `offset` nanoseconds after `open`, for a slot of that day. Cheaper than
/// `from_ns`: an in-day offset fits an `i64`, whose division by 10^9 compiles to a multiply.
fn slot_instant(open: Timestamp, offset: i128) -> Timestamp {
    let offset = i64::try_from(offset).expect("a slot starts within a day or so of its opening");
    open.checked_add(SignedDuration::from_nanos(offset)).expect("a slot starts before `to`, a valid timestamp")
}

/// `merge` of the intervals meeting `(lo, hi)`, in nanoseconds.
fn merged_ns(v: &[Interval], (lo, hi): (i128, i128)) -> Vec<(i128, i128)> {
    let mut out = Vec::with_capacity(v.len());
    out.extend(
        v.iter().map(|i| (ns(i.start), ns(i.end))).filter(|&(start, end)| start < end && end > lo && start < hi),
    );
    out.sort_unstable_by_key(|&(start, _)| start);
    out.dedup_by(|later, kept| {
        if later.0 <= kept.1 {
            kept.1 = kept.1.max(later.1);
            true
        } else {
            false
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use jiff::ToSpan;
    use jiff::civil::{DateTime, date, time};
    use proptest::prelude::*;

    use super::*;

    fn tz(name: &str) -> TimeZone {
        TimeZone::get(name).expect("the system tzdb has this zone")
    }

    /// The instant of a local wall time, taking the earlier instant of a repeated one.
    fn local(tz: &TimeZone, dt: DateTime) -> Timestamp {
        tz.to_ambiguous_timestamp(dt).compatible().expect("in range")
    }

    fn iv(start: Timestamp, end: Timestamp) -> Interval {
        Interval::new(start, end)
    }

    fn utc(h: i8, m: i8) -> Timestamp {
        local(&TimeZone::UTC, date(2026, 1, 14).at(h, m, 0, 0))
    }

    /// A location open the same hours every day, 15-minute grid, 30-minute visits, no
    /// buffer and no notice or horizon limits; tests change what they are about.
    struct Case {
        tz: TimeZone,
        hours: [Option<(Time, Time)>; 7],
        blackout: Vec<Date>,
        step: u16,
        duration: u16,
        buffer: u16,
        not_before: Timestamp,
        not_after: Timestamp,
    }

    impl Case {
        fn new(tz_name: &str, open: Time, close: Time) -> Case {
            Case {
                tz: tz(tz_name),
                hours: [Some((open, close)); 7],
                blackout: Vec::new(),
                step: 15,
                duration: 30,
                buffer: 0,
                not_before: Timestamp::MIN,
                not_after: Timestamp::MAX,
            }
        }

        fn rules(&self) -> SlotRules<'_> {
            SlotRules {
                tz: &self.tz,
                hours: &self.hours,
                blackout: &self.blackout,
                step_minutes: self.step,
                duration_minutes: self.duration,
                buffer_after_minutes: self.buffer,
                not_before: self.not_before,
                not_after: self.not_after,
            }
        }

        /// The instants of the local day: 23, 24 or 25 hours.
        fn bounds(&self, day: Date) -> (Timestamp, Timestamp) {
            (local(&self.tz, day.into()), local(&self.tz, day.tomorrow().unwrap().into()))
        }

        /// Free starts over the whole local day, rendered as wall time and offset.
        fn day(&self, resource: &Resource, day: Date) -> Vec<String> {
            let (from, to) = self.bounds(day);
            self.render(&free_starts(&self.rules(), resource, from, to))
        }

        fn render(&self, starts: &[Timestamp]) -> Vec<String> {
            starts.iter().map(|ts| ts.to_zoned(self.tz.clone()).strftime("%H:%M%:z").to_string()).collect()
        }
    }

    /// Wall times with one offset, as `Case::day` renders them.
    fn wall(times: &[&str], offset: &str) -> Vec<String> {
        times.iter().map(|t| format!("{t}{offset}")).collect()
    }

    fn always_on_duty() -> Resource {
        Resource { on_duty: vec![iv(Timestamp::MIN, Timestamp::MAX)], busy: Vec::new() }
    }

    // 2026-01-14 is a Wednesday.
    const WEDNESDAY: Date = date(2026, 1, 14);

    #[test]
    fn plain_day_steps_from_opening_to_last_start_that_fits() {
        let case = Case::new("UTC", time(8, 0, 0, 0), time(12, 0, 0, 0));
        let starts = case.day(&always_on_duty(), WEDNESDAY);
        let expected: Vec<String> =
            (0..15).map(|k| format!("{:02}:{:02}+00:00", 8 + k * 15 / 60, k * 15 % 60)).collect();
        assert_eq!(starts, expected);
        assert_eq!(starts.first().unwrap(), "08:00+00:00");
        assert_eq!(starts.last().unwrap(), "11:30+00:00");
    }

    #[test]
    fn busy_interval_removes_every_overlapping_start() {
        let case = Case::new("Europe/London", time(8, 0, 0, 0), time(12, 0, 0, 0));
        let resource = Resource { busy: vec![iv(utc(9, 0), utc(9, 30))], ..always_on_duty() };
        let expected = wall(
            &[
                "08:00", "08:15", "08:30", "09:30", "09:45", "10:00", "10:15", "10:30", "10:45", "11:00", "11:15",
                "11:30",
            ],
            "+00:00",
        );
        assert_eq!(case.day(&resource, WEDNESDAY), expected);
    }

    #[test]
    fn buffer_after_the_new_booking_keeps_clear_of_the_next_busy_interval() {
        let mut case = Case::new("UTC", time(8, 0, 0, 0), time(12, 0, 0, 0));
        case.buffer = 15;
        let resource = Resource { busy: vec![iv(utc(9, 0), utc(9, 30))], ..always_on_duty() };
        // 08:30 would block until 09:15. The buffer guards bookings, not closing time, so
        // 11:30 stays although 11:30 + 30 + 15 runs past noon.
        let expected = wall(
            &["08:00", "08:15", "09:30", "09:45", "10:00", "10:15", "10:30", "10:45", "11:00", "11:15", "11:30"],
            "+00:00",
        );
        assert_eq!(case.day(&resource, WEDNESDAY), expected);
    }

    #[test]
    fn on_duty_shorter_than_opening_hours_limits_starts() {
        let case = Case::new("UTC", time(8, 0, 0, 0), time(12, 0, 0, 0));
        let resource = Resource { on_duty: vec![iv(utc(9, 10), utc(10, 30))], busy: Vec::new() };
        assert_eq!(case.day(&resource, WEDNESDAY), ["09:15+00:00", "09:30+00:00", "09:45+00:00", "10:00+00:00"]);
    }

    #[test]
    fn touching_shifts_merge_so_a_slot_may_span_them() {
        let mut case = Case::new("UTC", time(8, 0, 0, 0), time(18, 0, 0, 0));
        case.step = 15;
        let resource =
            Resource { on_duty: vec![iv(utc(12, 0), utc(16, 0)), iv(utc(8, 0), utc(12, 0))], busy: Vec::new() };
        let starts = case.day(&resource, WEDNESDAY);
        assert!(starts.contains(&"11:45+00:00".to_string()), "{starts:?}");
        assert_eq!(starts.first().unwrap(), "08:00+00:00");
        assert_eq!(starts.last().unwrap(), "15:30+00:00");
        assert_eq!(starts.len(), 31);

        // With a one-minute hole between the shifts the spanning slots disappear.
        let holed = Resource { on_duty: vec![iv(utc(8, 0), utc(12, 0)), iv(utc(12, 1), utc(16, 0))], busy: Vec::new() };
        let starts = case.day(&holed, WEDNESDAY);
        assert!(!starts.contains(&"11:45+00:00".to_string()), "{starts:?}");
        assert!(starts.contains(&"11:30+00:00".to_string()), "{starts:?}");
        assert!(starts.contains(&"12:15+00:00".to_string()), "{starts:?}");
    }

    #[test]
    fn blackout_date_gives_nothing() {
        let mut case = Case::new("UTC", time(8, 0, 0, 0), time(12, 0, 0, 0));
        case.blackout = vec![date(2026, 12, 25), WEDNESDAY, date(2026, 1, 1)];
        assert_eq!(case.day(&always_on_duty(), WEDNESDAY), Vec::<String>::new());
        assert_eq!(case.day(&always_on_duty(), WEDNESDAY.tomorrow().unwrap()).len(), 15);
    }

    #[test]
    fn closed_weekday_gives_nothing() {
        let mut case = Case::new("UTC", time(8, 0, 0, 0), time(12, 0, 0, 0));
        case.hours[2] = None;
        assert_eq!(case.day(&always_on_duty(), WEDNESDAY), Vec::<String>::new());
        assert_eq!(case.day(&always_on_duty(), WEDNESDAY.yesterday().unwrap()).len(), 15);
    }

    #[test]
    fn not_before_and_not_after_clip_and_are_inclusive() {
        let mut case = Case::new("UTC", time(8, 0, 0, 0), time(12, 0, 0, 0));
        case.not_before = utc(9, 0) + SignedDuration::from_secs(1);
        case.not_after = utc(10, 0);
        assert_eq!(
            case.day(&always_on_duty(), WEDNESDAY),
            ["09:15+00:00", "09:30+00:00", "09:45+00:00", "10:00+00:00"]
        );
        case.not_after = utc(9, 0);
        assert_eq!(case.day(&always_on_duty(), WEDNESDAY), Vec::<String>::new());
    }

    #[test]
    fn from_is_inclusive_and_to_exclusive() {
        let case = Case::new("UTC", time(8, 0, 0, 0), time(12, 0, 0, 0));
        let starts = free_starts(&case.rules(), &always_on_duty(), utc(9, 0), utc(10, 0));
        assert_eq!(case.render(&starts), ["09:00+00:00", "09:15+00:00", "09:30+00:00", "09:45+00:00"]);
        assert_eq!(free_starts(&case.rules(), &always_on_duty(), utc(10, 0), utc(9, 0)), vec![]);
    }

    #[test]
    fn a_range_over_several_days_lists_each_open_day_in_order() {
        let mut case = Case::new("Europe/London", time(9, 0, 0, 0), time(10, 0, 0, 0));
        case.step = 30;
        case.hours[5] = None;
        case.hours[6] = None;
        // Friday 2026-01-16 through Monday 2026-01-19.
        // `Timestamp` arithmetic takes no calendar units, so whole days are counted in hours.
        let from = utc(0, 0) + 48.hours();
        let starts = free_starts(&case.rules(), &always_on_duty(), from, from + 96.hours());
        let rendered: Vec<String> = starts.iter().map(|t| t.to_string()).collect();
        assert_eq!(
            rendered,
            ["2026-01-16T09:00:00Z", "2026-01-16T09:30:00Z", "2026-01-19T09:00:00Z", "2026-01-19T09:30:00Z"]
        );
    }

    #[test]
    fn open_until_midnight_lets_the_last_slot_end_at_midnight() {
        let mut case = Case::new("UTC", time(22, 0, 0, 0), END_OF_DAY);
        case.step = 30;
        assert_eq!(
            case.day(&always_on_duty(), WEDNESDAY),
            ["22:00+00:00", "22:30+00:00", "23:00+00:00", "23:30+00:00"]
        );
    }

    #[test]
    fn zero_step_or_zero_duration_gives_nothing() {
        let mut case = Case::new("UTC", time(8, 0, 0, 0), time(12, 0, 0, 0));
        case.step = 0;
        assert_eq!(case.day(&always_on_duty(), WEDNESDAY), Vec::<String>::new());
        case.step = 15;
        case.duration = 0;
        assert_eq!(case.day(&always_on_duty(), WEDNESDAY), Vec::<String>::new());
    }

    const SPRING_FORWARD: Date = date(2026, 3, 8);
    const FALL_BACK: Date = date(2026, 11, 1);

    #[test]
    fn spring_forward_night_has_no_missing_wall_times_and_counts_real_hours() {
        let mut case = Case::new("America/New_York", time(0, 0, 0, 0), time(6, 0, 0, 0));
        case.step = 30;
        assert_eq!(
            case.day(&always_on_duty(), SPRING_FORWARD),
            [
                "00:00-05:00",
                "00:30-05:00",
                "01:00-05:00",
                "01:30-05:00",
                "03:00-04:00",
                "03:30-04:00",
                "04:00-04:00",
                "04:30-04:00",
                "05:00-04:00",
                "05:30-04:00",
            ]
        );
    }

    #[test]
    fn spring_forward_day_hours_are_ordinary() {
        let mut case = Case::new("America/New_York", time(8, 0, 0, 0), time(18, 0, 0, 0));
        case.step = 30;
        let (from, to) = case.bounds(SPRING_FORWARD);
        let starts = free_starts(&case.rules(), &always_on_duty(), from, to);
        assert_eq!(starts.len(), 20);
        assert_eq!(starts[0].to_string(), "2026-03-08T12:00:00Z");
        assert_eq!(starts[0].to_zoned(case.tz.clone()).to_string(), "2026-03-08T08:00:00-04:00[America/New_York]");
        assert_eq!(starts[19].to_string(), "2026-03-08T21:30:00Z");
    }

    #[test]
    fn opening_inside_the_spring_forward_gap_starts_at_the_gap_end() {
        let mut case = Case::new("America/New_York", time(2, 30, 0, 0), time(4, 0, 0, 0));
        case.step = 30;
        assert_eq!(case.day(&always_on_duty(), SPRING_FORWARD), ["03:30-04:00"]);
    }

    #[test]
    fn fall_back_night_yields_the_repeated_hour_twice_and_nothing_missing() {
        let mut case = Case::new("America/New_York", time(0, 0, 0, 0), time(4, 0, 0, 0));
        case.step = 30;
        let (from, to) = case.bounds(FALL_BACK);
        let starts = free_starts(&case.rules(), &always_on_duty(), from, to);
        assert_eq!(
            case.render(&starts),
            [
                "00:00-04:00",
                "00:30-04:00",
                "01:00-04:00",
                "01:30-04:00",
                "01:00-05:00",
                "01:30-05:00",
                "02:00-05:00",
                "02:30-05:00",
                "03:00-05:00",
                "03:30-05:00",
            ]
        );
        for pair in starts.windows(2) {
            assert_eq!(pair[1].duration_since(pair[0]), SignedDuration::from_mins(30), "{pair:?}");
        }
    }

    #[test]
    fn fall_back_closing_inside_the_repeated_hour_keeps_both_copies() {
        let mut case = Case::new("America/New_York", time(1, 0, 0, 0), time(1, 30, 0, 0));
        case.step = 30;
        // Open at the first 01:00, close at the second 01:30: 90 real minutes.
        assert_eq!(case.day(&always_on_duty(), FALL_BACK), ["01:00-04:00", "01:30-04:00", "01:00-05:00"]);
    }

    #[test]
    fn day_after_each_transition_is_ordinary() {
        let mut case = Case::new("America/New_York", time(0, 0, 0, 0), time(6, 0, 0, 0));
        case.step = 30;
        for (day, offset) in [(SPRING_FORWARD.tomorrow().unwrap(), "-04:00"), (FALL_BACK.tomorrow().unwrap(), "-05:00")]
        {
            let expected: Vec<String> = (0..12).map(|k| format!("{:02}:{:02}{offset}", k / 2, k % 2 * 30)).collect();
            assert_eq!(case.day(&always_on_duty(), day), expected, "{day}");
        }
    }

    #[test]
    fn london_transitions_behave_like_new_york() {
        let mut case = Case::new("Europe/London", time(0, 0, 0, 0), time(3, 0, 0, 0));
        case.step = 60;
        case.duration = 60;
        // 2026-03-29 01:00 GMT -> 02:00 BST; 2026-10-25 02:00 BST -> 01:00 GMT.
        assert_eq!(case.day(&always_on_duty(), date(2026, 3, 29)), ["00:00+00:00", "02:00+01:00"]);
        assert_eq!(
            case.day(&always_on_duty(), date(2026, 10, 25)),
            ["00:00+01:00", "01:00+01:00", "01:00+00:00", "02:00+00:00"]
        );
    }

    #[test]
    fn unsorted_overlapping_inputs_are_normalised() {
        let case = Case::new("UTC", time(8, 0, 0, 0), time(12, 0, 0, 0));
        let resource = Resource {
            // Merged: 08:00-09:45 and 10:00-12:00.
            on_duty: vec![iv(utc(10, 0), utc(12, 0)), iv(utc(8, 0), utc(9, 0)), iv(utc(8, 30), utc(9, 45))],
            // Merged: 09:00-09:30 and 11:00-11:30.
            busy: vec![iv(utc(11, 0), utc(11, 30)), iv(utc(9, 0), utc(9, 15)), iv(utc(9, 10), utc(9, 30))],
        };
        assert_eq!(
            case.day(&resource, WEDNESDAY),
            wall(&["08:00", "08:15", "08:30", "10:00", "10:15", "10:30", "11:30"], "+00:00")
        );
    }

    #[test]
    fn merge_joins_touching_and_contained_and_drops_empty() {
        assert_eq!(merge(vec![]), vec![]);
        assert_eq!(merge(vec![iv(utc(9, 0), utc(9, 0)), iv(utc(10, 0), utc(9, 0))]), vec![]);
        assert_eq!(
            merge(vec![iv(utc(12, 0), utc(13, 0)), iv(utc(8, 0), utc(10, 0)), iv(utc(10, 0), utc(11, 0))]),
            vec![iv(utc(8, 0), utc(11, 0)), iv(utc(12, 0), utc(13, 0))]
        );
        assert_eq!(
            merge(vec![iv(utc(8, 0), utc(12, 0)), iv(utc(9, 0), utc(10, 0)), iv(utc(11, 0), utc(11, 30))]),
            vec![iv(utc(8, 0), utc(12, 0))]
        );
    }

    #[test]
    fn subtract_cuts_middles_edges_and_whole_intervals() {
        let shifts = [iv(utc(8, 0), utc(12, 0)), iv(utc(13, 0), utc(17, 0))];
        assert_eq!(subtract(&shifts, &[]), shifts.to_vec());
        assert_eq!(subtract(&[], &shifts), vec![]);
        // A cut in the middle, one touching the start, and one spanning the lunch break.
        assert_eq!(
            subtract(&shifts, &[iv(utc(9, 0), utc(9, 30)), iv(utc(11, 0), utc(14, 0)), iv(utc(7, 0), utc(8, 0))]),
            vec![iv(utc(8, 0), utc(9, 0)), iv(utc(9, 30), utc(11, 0)), iv(utc(14, 0), utc(17, 0))]
        );
        // Touching cuts take nothing; a covering cut takes everything.
        assert_eq!(subtract(&shifts, &[iv(utc(12, 0), utc(13, 0))]), shifts.to_vec());
        assert_eq!(subtract(&shifts, &[iv(utc(6, 0), utc(18, 0))]), vec![]);
        // Overlapping, unsorted inputs are merged first.
        assert_eq!(
            subtract(
                &[iv(utc(10, 0), utc(12, 0)), iv(utc(8, 0), utc(10, 0))],
                &[iv(utc(9, 30), utc(10, 30)), iv(utc(9, 0), utc(10, 0))]
            ),
            vec![iv(utc(8, 0), utc(9, 0)), iv(utc(10, 30), utc(12, 0))]
        );
    }

    /// The rules read literally: slow but plainly right. It reaches the opening instants
    /// through `Zoned` rather than `AmbiguousTimestamp` and checks on-duty cover against the
    /// raw, unmerged intervals.
    struct Reference<'a> {
        rules: &'a SlotRules<'a>,
        resource: &'a Resource,
        from: Timestamp,
        to: Timestamp,
    }

    impl Reference<'_> {
        fn mins(m: u16) -> SignedDuration {
            SignedDuration::from_mins(i64::from(m))
        }

        /// Every grid instant of every open, non-blackout day whose slot fits the opening,
        /// with no other rule applied; a day on each side more than needed.
        fn grid(&self) -> Vec<Timestamp> {
            let r = self.rules;
            let mut out = Vec::new();
            if r.step_minutes == 0 || r.duration_minutes == 0 {
                return out;
            }
            let mut day = r.tz.to_datetime(self.from).date() - 2.days();
            while day <= r.tz.to_datetime(self.to).date() + 1.day() {
                if let Some((open, close)) = r.hours[day.weekday().to_monday_zero_offset() as usize]
                    && !r.blackout.contains(&day)
                {
                    let open = day.to_datetime(open).to_zoned(r.tz.clone()).unwrap().timestamp();
                    let close = if close == END_OF_DAY {
                        day.tomorrow().unwrap().to_zoned(r.tz.clone()).unwrap().timestamp()
                    } else {
                        r.tz.to_ambiguous_zoned(day.to_datetime(close)).later().unwrap().timestamp()
                    };
                    let mut s = open;
                    while s + Self::mins(r.duration_minutes) <= close {
                        out.push(s);
                        s += Self::mins(r.step_minutes);
                    }
                }
                day = day.tomorrow().unwrap();
            }
            out.sort();
            out.dedup();
            out
        }

        /// Every rule other than being on the grid.
        fn allows(&self, s: Timestamp) -> bool {
            let (r, res) = (self.rules, self.resource);
            let end = s + Self::mins(r.duration_minutes);
            let blocked_end = end + Self::mins(r.buffer_after_minutes);
            !r.blackout.contains(&r.tz.to_datetime(s).date())
                && self.from <= s
                && s < self.to
                && r.not_before <= s
                && s <= r.not_after
                && Self::covered(&res.on_duty, s, end)
                && res.busy.iter().all(|b| b.is_empty() || b.end <= s || blocked_end <= b.start)
        }

        /// Whether the union of `v` covers [start, end), walking from interval to interval.
        fn covered(v: &[Interval], start: Timestamp, end: Timestamp) -> bool {
            let mut cur = start;
            while cur < end {
                match v.iter().filter(|i| i.start <= cur && cur < i.end).map(|i| i.end).max() {
                    Some(reach) => cur = reach,
                    None => return false,
                }
            }
            true
        }
    }

    /// Each zone with a date a few days before one of its DST changes (UTC has none).
    const ZONES: [(&str, [Date; 2]); 4] = [
        ("UTC", [date(2026, 3, 6), date(2026, 10, 30)]),
        // Springs forward 2026-03-08, falls back 2026-11-01.
        ("America/New_York", [date(2026, 3, 6), date(2026, 10, 30)]),
        // Springs forward 2026-03-29, falls back 2026-10-25.
        ("Europe/London", [date(2026, 3, 27), date(2026, 10, 23)]),
        // Half-hour changes: falls back 2026-04-05, springs forward 2026-10-04.
        ("Australia/Lord_Howe", [date(2026, 4, 3), date(2026, 10, 2)]),
    ];
    const SPAN_MINUTES: i64 = 4 * 24 * 60;

    /// A minute of the day, mostly on a quarter hour so that boundaries coincide, and half the
    /// time in the small hours where the changes are.
    fn minute() -> impl Strategy<Value = u16> {
        prop_oneof![
            1 => 0u16..1440,
            2 => (0u16..96).prop_map(|q| q * 15),
            3 => (0u16..16).prop_map(|q| q * 15),
        ]
    }

    /// Minutes from the case's base instant, mostly on a quarter hour.
    fn offset(range: std::ops::Range<i64>) -> impl Strategy<Value = i64> {
        let quarters = (range.start / 15..range.end / 15).prop_map(|q| q * 15);
        prop_oneof![range, quarters]
    }

    fn day_hours() -> impl Strategy<Value = Option<(Time, Time)>> {
        let to_time = |m: u16| time((m / 60) as i8, (m % 60) as i8, 0, 0);
        (minute(), minute(), prop::bool::weighted(0.15), prop::bool::weighted(0.15)).prop_map(
            move |(a, b, closed, until_midnight)| {
                let (open, close) = (a.min(b), a.max(b));
                if closed || (open == close && !until_midnight) {
                    return None;
                }
                Some((to_time(open), if until_midnight { END_OF_DAY } else { to_time(close) }))
            },
        )
    }

    /// (start, length) pairs in minutes from the case's base instant, each starting a gap
    /// after the previous one ends; the gap is often zero (touching) or negative (overlap).
    /// Listed newest first so the input is unsorted.
    fn intervals(max_len: i64, max_count: usize) -> impl Strategy<Value = Vec<(i64, i64)>> {
        let gap = prop_oneof![Just(0), offset(-60..600)];
        (offset(-120..SPAN_MINUTES / 2), prop::collection::vec((gap, offset(0..max_len)), 0..max_count)).prop_map(
            |(mut at, steps)| {
                let mut v: Vec<(i64, i64)> = steps
                    .into_iter()
                    .map(|(gap, len)| {
                        let start = at + gap;
                        at = start + len;
                        (start, len)
                    })
                    .collect();
                v.reverse();
                v
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn free_starts_match_a_naive_reading_of_the_rules(
            (zone, base) in (0..ZONES.len(), 0..2usize),
            hours in prop::array::uniform7(day_hours()),
            blackout in prop::collection::vec(-1i64..5, 0..3),
            step in prop_oneof![1u16..=60, prop::sample::select(vec![5u16, 10, 15, 20, 30, 60])],
            duration in prop_oneof![1u16..=120, (1u16..=8).prop_map(|q| q * 15)],
            buffer in prop_oneof![Just(0u16), 0u16..=30],
            all_day_duty in any::<bool>(),
            on_duty in intervals(1500, 6),
            busy in intervals(180, 10),
            from in offset(-1440..SPAN_MINUTES),
            len in offset(0..SPAN_MINUTES),
            not_before in (offset(-1440..SPAN_MINUTES), prop_oneof![Just(0i64), 0..60i64]),
            horizon in offset(0..SPAN_MINUTES),
        ) {
            let (zone, dates) = ZONES[zone];
            let tz = tz(zone);
            let base_day = dates[base];
            let base_ts = local(&tz, base_day.into());
            let at = |minutes: i64| base_ts + SignedDuration::from_mins(minutes);
            let to_intervals = |v: &[(i64, i64)]| v.iter().map(|&(s, l)| iv(at(s), at(s + l))).collect::<Vec<_>>();
            let blackout: Vec<Date> = blackout.iter().map(|&d| base_day + d.days()).collect();
            let not_before = at(not_before.0) + SignedDuration::from_secs(not_before.1);
            let rules = SlotRules {
                tz: &tz,
                hours: &hours,
                blackout: &blackout,
                step_minutes: step,
                duration_minutes: duration,
                buffer_after_minutes: buffer,
                not_before,
                not_after: not_before + SignedDuration::from_mins(horizon),
            };
            let on_duty =
                if all_day_duty { vec![iv(at(-1440), at(2 * SPAN_MINUTES))] } else { to_intervals(&on_duty) };
            let resource = Resource { on_duty, busy: to_intervals(&busy) };

            check_against_reference(&rules, &resource, (at(from), at(from + len)))?;
        }

        /// Every day open only in the small hours, around a change, with nothing else in the
        /// way: the disambiguation of opening and closing is all that is tested.
        #[test]
        fn transition_nights_match_a_naive_reading_of_the_rules(
            (zone, base) in (1..ZONES.len(), 0..2usize),
            open in (0u16..12).prop_map(|q| q * 15),
            len in (1u16..12).prop_map(|q| q * 15),
            step in prop::sample::select(vec![5u16, 10, 15, 20, 30, 60]),
            duration in prop::sample::select(vec![5u16, 15, 30, 45, 60]),
        ) {
            let (zone, dates) = ZONES[zone];
            let tz = tz(zone);
            let to_time = |m: u16| time((m / 60) as i8, (m % 60) as i8, 0, 0);
            let hours = [Some((to_time(open), to_time(open + len))); 7];
            let rules = SlotRules {
                tz: &tz,
                hours: &hours,
                blackout: &[],
                step_minutes: step,
                duration_minutes: duration,
                buffer_after_minutes: 0,
                not_before: Timestamp::MIN,
                not_after: Timestamp::MAX,
            };
            let from = local(&tz, dates[base].into());
            check_against_reference(&rules, &always_on_duty(), (from, from + SignedDuration::from_hours(4 * 24)))?;
        }
    }

    /// Asserts that `free_starts` returns, strictly ascending, exactly the reference grid
    /// instants that the reference rules allow.
    fn check_against_reference(
        rules: &SlotRules,
        resource: &Resource,
        (from, to): (Timestamp, Timestamp),
    ) -> Result<(), TestCaseError> {
        let got = free_starts(rules, resource, from, to);
        let reference = Reference { rules, resource, from, to };
        let grid = reference.grid();
        let show = |t: &Timestamp| t.to_zoned(rules.tz.clone()).to_string();
        prop_assert!(
            got.is_sorted_by(|a, b| a < b),
            "not strictly ascending: {:?}",
            got.iter().map(show).collect::<Vec<_>>()
        );
        for s in &got {
            prop_assert!(grid.binary_search(s).is_ok(), "{} is off the grid", show(s));
            prop_assert!(reference.allows(*s), "{} breaks a rule", show(s));
        }
        let missing: Vec<String> =
            grid.iter().filter(|s| reference.allows(**s) && got.binary_search(s).is_err()).map(show).collect();
        prop_assert!(missing.is_empty(), "missing free starts: {missing:?}");
        Ok(())
    }
}
