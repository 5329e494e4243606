//! The pure parts of the scheduling scenarios: where `book` puts each booking so that none
//! conflicts, what `availability` seeds (shifts and bookings per vet and day) and asks for,
//! and the check of an availability answer against its contract and the seeded bookings.
//!
//! No I/O here: [`crate::scenarios`] makes the HTTP calls with what this module computes.

use std::collections::BTreeMap;
use std::fmt;

use anyhow::{Context, Result, bail};
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;

use clowder_schemas::{AppointmentTypeId, ClientId, LocationId, PatientId, RoomId, StaffId};

/// The default type `book` books: 15 minutes, no buffer.
pub const BOOK_TYPE: &str = "Vaccination";

/// The default type `availability` asks about: 30 minutes, no buffer.
pub const AVAILABILITY_TYPE: &str = "Wellness exam";

/// Time zone of the locations the scenarios create.
pub const TIME_ZONE: &str = "America/New_York";

/// How far ahead `book` walks: the server refuses bookings more than five years ahead.
pub const BOOK_HORIZON_DAYS: i64 = 4 * 365;

/// Vets of the `availability` location, each with a shift every day of the window.
pub const AVAILABILITY_VETS: u16 = 6;

/// Length of the window `availability` asks about.
pub const AVAILABILITY_DAYS: i64 = 30;

/// Bookings seeded per vet and day, so the slot search has gaps to find.
pub const BOOKINGS_PER_VET_DAY: i64 = 8;

/// Every seeded shift runs 08:00–17:00 local time.
pub const SHIFT_START: Time = Time::constant(8, 0, 0, 0);
pub const SHIFT_END: Time = Time::constant(17, 0, 0, 0);

/// Seeded bookings start on the hour (shifted per vet, see [`seed_bookings`]), so each
/// must block at most this long.
const SEED_SPACING_MINUTES: i64 = 60;

/// What one lane of `book` books for: a vet of its own and a client's cat of its own, at
/// the vet's location.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lane {
    pub location_id: LocationId,
    pub vet_id: StaffId,
    pub client_id: ClientId,
    pub patient_id: PatientId,
}

/// The start times of `book`. Request number `n` goes to lane `n mod lanes` at `first +
/// (n div lanes) × step`. Request numbers are distinct across connections
/// (`load::Connection`), so no two requests share a lane and a start; with the step at least
/// the type's length plus buffer, no two bookings of a lane overlap, whichever connection
/// sends them and in whatever order they arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotWalk {
    first: Timestamp,
    step_minutes: i64,
    /// Starts per lane before the horizon.
    steps: u64,
}

impl SlotWalk {
    /// A walk from `first` in steps of `step_minutes`, ending `horizon_days` later.
    pub fn new(first: Timestamp, step_minutes: i64, horizon_days: i64) -> Result<Self> {
        if step_minutes <= 0 {
            bail!("a slot walk needs a positive step, not {step_minutes} minutes");
        }
        let steps = (horizon_days.max(0) * 24 * 60 / step_minutes).unsigned_abs();
        Ok(Self { first, step_minutes, steps })
    }

    /// Where request number `n` books: its lane and start; `None` once the lane's walk has
    /// reached the horizon. `lanes` must not be zero.
    pub fn slot(&self, n: u64, lanes: usize) -> Option<(usize, Timestamp)> {
        let lanes = lanes as u64;
        let step = n / lanes;
        if step >= self.steps {
            return None;
        }
        // `step` is below `steps`, which came from an i64 of minutes; the sum stays within
        // the horizon, far inside jiff's range.
        let offset = SignedDuration::from_mins(step as i64 * self.step_minutes);
        let start = self.first.checked_add(offset).ok()?;
        Some(((n % lanes) as usize, start))
    }

    /// Bookings each lane can take before the horizon.
    pub fn steps(&self) -> u64 {
        self.steps
    }
}

/// The first start of `book`'s walk: the next UTC midnight, so every run starts on a fresh
/// day with its fresh vets and cats.
pub fn first_booking_start(now: Timestamp) -> Timestamp {
    let day = 24 * 60 * 60;
    Timestamp::from_second((now.as_second().div_euclid(day) + 1) * day)
        .expect("the next midnight of a valid timestamp is valid for any date before 9999")
}

/// The instant of a local wall time, as the server places shifts: a time skipped by a DST
/// jump counts as just after the jump, a repeated one as its first occurrence.
pub fn local_instant(tz: &TimeZone, date: Date, time: Time) -> Result<Timestamp> {
    tz.to_ambiguous_timestamp(date.to_datetime(time)).compatible().with_context(|| format!("placing {date} {time}"))
}

/// The time window `availability` asks about: from `now` (whole seconds) for
/// [`AVAILABILITY_DAYS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AvailabilityWindow {
    pub from: Timestamp,
    pub to: Timestamp,
}

impl AvailabilityWindow {
    pub fn starting(now: Timestamp) -> Result<Self> {
        let from = Timestamp::from_second(now.as_second()).context("truncating now to seconds")?;
        let to = from.checked_add(SignedDuration::from_hours(24 * AVAILABILITY_DAYS)).context("now + 30 days")?;
        Ok(Self { from, to })
    }

    /// Every local date the window touches, in `tz`: the days that need shifts.
    pub fn local_dates(&self, tz: &TimeZone) -> Vec<Date> {
        let first = self.from.to_zoned(tz.clone()).date();
        let last = self.to.to_zoned(tz.clone()).date();
        first.series(jiff::Span::new().days(1)).take_while(|d| *d <= last).collect()
    }
}

/// One booking the `availability` setup makes: vet `vet` (an index into the seeded vets, whose
/// cat of the same index is the patient) from `start` to `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedBooking {
    pub vet: usize,
    pub start: Timestamp,
    pub end: Timestamp,
}

/// [`BOOKINGS_PER_VET_DAY`] bookings per vet and date, one an hour from the shift's start,
/// shifted by a quarter hour per vet (cycling through four) so the vets' free gaps differ.
/// `blocks_minutes` is the type's length plus buffer; each booking lasts the type's length.
pub fn seed_bookings(
    tz: &TimeZone,
    dates: &[Date],
    vets: usize,
    duration_minutes: i64,
    blocks_minutes: i64,
) -> Result<Vec<SeedBooking>> {
    if blocks_minutes > SEED_SPACING_MINUTES {
        bail!(
            "the {AVAILABILITY_TYPE:?} type blocks {blocks_minutes} minutes with its buffer; the availability \
             scenario seeds one booking an hour and needs it to fit (the default is 30)"
        );
    }
    let mut out = Vec::with_capacity(dates.len() * vets * BOOKINGS_PER_VET_DAY as usize);
    for &date in dates {
        for vet in 0..vets {
            for hour in 0..BOOKINGS_PER_VET_DAY {
                let minutes = SEED_SPACING_MINUTES * hour + 15 * (vet % 4) as i64;
                let time = SHIFT_START + SignedDuration::from_mins(minutes);
                let start = local_instant(tz, date, time)?;
                let end = start.checked_add(SignedDuration::from_mins(duration_minutes)).context("booking end")?;
                out.push(SeedBooking { vet, start, end });
            }
        }
    }
    Ok(out)
}

/// `GET /api/availability`'s answer, as its contract describes it: per vet, per local day,
/// wall times on the day's offset (or with their own, across a DST change).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AvailabilityAnswer {
    pub location_id: LocationId,
    pub time_zone: String,
    pub type_id: AppointmentTypeId,
    pub duration_minutes: u16,
    pub vets: Vec<FreeVet>,
}

/// One vet's free starts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FreeVet {
    pub vet_id: StaffId,
    pub days: Vec<FreeDay>,
}

/// One local day of free starts: `"08:30"` on the day's `offset`, or `"01:30-05:00"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FreeDay {
    pub date: Date,
    pub offset: String,
    pub starts: Vec<String>,
}

/// One start time and who is free then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedSlot {
    pub start: Timestamp,
    pub end: Timestamp,
    pub vet_ids: Vec<StaffId>,
}

impl AvailabilityAnswer {
    /// The answer as slots (start, end and the vets free then), by start; a start that cannot
    /// be read is a problem, described.
    pub fn slots(&self) -> (Vec<OfferedSlot>, Vec<String>) {
        let mut by_start: BTreeMap<Timestamp, Vec<StaffId>> = BTreeMap::new();
        let mut unreadable = Vec::new();
        for vet in &self.vets {
            for day in &vet.days {
                for start in &day.starts {
                    let (wall, offset) = match start.find(['+', '-']) {
                        Some(i) => (&start[..i], &start[i..]),
                        None => (start.as_str(), day.offset.as_str()),
                    };
                    let wall = if wall.len() == 5 { format!("{wall}:00") } else { wall.to_owned() };
                    match format!("{}T{wall}{offset}", day.date).parse::<Timestamp>() {
                        Ok(at) => by_start.entry(at).or_default().push(vet.vet_id),
                        Err(_) => unreadable.push(format!("start {start:?} on {} cannot be read", day.date)),
                    }
                }
            }
        }
        let length = SignedDuration::from_mins(self.duration_minutes.into());
        let slots = by_start
            .into_iter()
            .map(|(start, vet_ids)| OfferedSlot { start, end: start.checked_add(length).unwrap_or(start), vet_ids })
            .collect();
        (slots, unreadable)
    }
}

/// What the `availability` setup made, to check an answer against.
#[derive(Debug, Clone)]
pub struct AvailabilitySeed {
    pub location_id: LocationId,
    pub type_id: AppointmentTypeId,
    pub tz: TimeZone,
    pub window: AvailabilityWindow,
    /// Per vet, the seeded bookings as (start, end), by start.
    pub booked: BTreeMap<StaffId, Vec<(Timestamp, Timestamp)>>,
}

/// At most this many problems are described one by one; the rest are counted.
const PROBLEMS_DESCRIBED: usize = 5;

/// The outcome of checking one availability answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnswerCheck {
    pub slots: usize,
    /// Slot × vet pairs offered.
    pub offers: usize,
    /// Local dates with at least one slot.
    pub days: usize,
    pub problem_count: usize,
    /// The first few problems, in words.
    pub problems: Vec<String>,
}

impl AnswerCheck {
    fn problem(&mut self, text: impl FnOnce() -> String) {
        self.problem_count += 1;
        if self.problems.len() < PROBLEMS_DESCRIBED {
            self.problems.push(text());
        }
    }
}

impl fmt::Display for AnswerCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} slots on {} days, {} vet offers", self.slots, self.days, self.offers)?;
        match self.problem_count {
            0 => write!(f, ", no contract problem"),
            n => write!(f, ", {n} contract problems: {}", self.problems.join("; ")),
        }
    }
}

impl AvailabilitySeed {
    /// Checks an answer: the right location, time zone and type; every slot inside the
    /// window and the seeded shift, as long as the type, with seeded vets only; and no vet
    /// offered while one of the seeded bookings holds them.
    pub fn check(&self, answer: &AvailabilityAnswer, duration_minutes: i64) -> AnswerCheck {
        let (slots, unreadable) = answer.slots();
        let mut check = AnswerCheck { slots: slots.len(), ..AnswerCheck::default() };
        for problem in unreadable {
            check.problem(|| problem);
        }
        if i64::from(answer.duration_minutes) != duration_minutes {
            check.problem(|| {
                format!("duration_minutes is {}, the type lasts {duration_minutes}", answer.duration_minutes)
            });
        }
        if answer.location_id != self.location_id {
            check.problem(|| format!("location_id is {}, asked for {}", answer.location_id, self.location_id));
        }
        if answer.type_id != self.type_id {
            check.problem(|| format!("type_id is {}, asked for {}", answer.type_id, self.type_id));
        }
        if answer.time_zone != TIME_ZONE {
            check.problem(|| format!("time_zone is {:?}, the location's is {TIME_ZONE:?}", answer.time_zone));
        }
        if slots.is_empty() {
            check.problem(|| "no slot at all, though every vet has free time every day".into());
        }
        let mut days = std::collections::BTreeSet::new();
        for slot in &slots {
            let at = slot.start;
            let date = at.to_zoned(self.tz.clone()).date();
            days.insert(date);
            if at < self.window.from || slot.end > self.window.to {
                check.problem(|| format!("slot {at} lies outside the window asked for"));
            }
            let in_shift = local_instant(&self.tz, date, SHIFT_START).is_ok_and(|s| at >= s)
                && local_instant(&self.tz, date, SHIFT_END).is_ok_and(|e| slot.end <= e);
            if !in_shift {
                check.problem(|| format!("slot {at} lies outside the vets' 08:00-17:00 shift"));
            }
            if slot.vet_ids.is_empty() {
                check.problem(|| format!("slot {at} names no vet"));
            }
            for vet in &slot.vet_ids {
                check.offers += 1;
                match self.booked.get(vet) {
                    None => check.problem(|| format!("slot {at} offers {vet}, not a vet of this location")),
                    Some(held) if overlaps(held, at, slot.end) => {
                        check.problem(|| format!("slot {at} offers {vet}, who is booked then"))
                    }
                    Some(_) => {}
                }
            }
        }
        check.days = days.len();
        check
    }
}

/// True when `[start, end)` overlaps one of `held`, which are sorted by start and do not
/// overlap each other (so their ends are sorted too).
fn overlaps(held: &[(Timestamp, Timestamp)], start: Timestamp, end: Timestamp) -> bool {
    let first_ending_after = held.partition_point(|&(_, until)| until <= start);
    held.get(first_ending_after).is_some_and(|&(from, _)| from < end)
}

/// The row of the day-view scenario.
pub const DAY_VIEW: &str = "day-view";

/// The day-view scenario's day at one location: this many vets, each in an exam room of its
/// own at any time, ...
pub const DAY_VIEW_VETS: usize = 6;

/// ... booked every 30 minutes from 08:00, for this many appointments in all (10 a vet) ...
pub const DAY_VIEW_APPOINTMENTS: usize = 60;

/// ... of one cat each, belonging to this many clients (the first 15 have two cats).
pub const DAY_VIEW_CLIENTS: usize = 45;

/// Reasons for a visit, in turn.
const DAY_VIEW_REASONS: [&str; 4] =
    ["annual check-up", "vaccination booster", "limping on the left hind leg", "not eating for two days"];

/// How far ahead the day-view day is: a week, so every booking is in the future.
const DAY_VIEW_DAYS_AHEAD: i64 = 7;

/// The local date the day-view scenario fills: a week after `now` at the location.
pub fn day_view_date(now: Timestamp, tz: &TimeZone) -> Result<Date> {
    let later = now.checked_add(SignedDuration::from_hours(24 * DAY_VIEW_DAYS_AHEAD)).context("now + a week")?;
    Ok(later.to_zoned(tz.clone()).date())
}

/// One booking of the day-view day: indexes into the seeded vets, rooms and cats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayBooking {
    pub vet: usize,
    pub room: usize,
    pub cat: usize,
    pub start: Timestamp,
    pub reason: &'static str,
}

/// The day: booking `n` is vet `n mod 6` at `08:00 + 30 min × (n div 6)`, in room `(vet + n
/// div 6) mod 6` (so no two vets share a room at once), for cat `n`.
pub fn day_view_bookings(tz: &TimeZone, date: Date) -> Result<Vec<DayBooking>> {
    (0..DAY_VIEW_APPOINTMENTS)
        .map(|n| {
            let (vet, slot) = (n % DAY_VIEW_VETS, n / DAY_VIEW_VETS);
            let time = SHIFT_START + SignedDuration::from_mins(30 * slot as i64);
            Ok(DayBooking {
                vet,
                room: (vet + slot) % DAY_VIEW_VETS,
                cat: n,
                start: local_instant(tz, date, time)?,
                reason: DAY_VIEW_REASONS[n % DAY_VIEW_REASONS.len()],
            })
        })
        .collect()
}

/// The client of cat `n`: clients `0..45` own cats `0..45`, and clients `0..15` cats `45..60` too.
pub fn day_view_owner(cat: usize) -> usize {
    cat % DAY_VIEW_CLIENTS
}

/// `GET /api/calendar`'s answer, as far as the scenario checks it.
#[derive(Debug, Clone, Deserialize)]
pub struct DayAnswer {
    pub vets: Vec<Named<StaffId>>,
    pub rooms: Vec<Named<RoomId>>,
    pub appointments: Vec<DayLine>,
    pub patients: BTreeMap<PatientId, serde::de::IgnoredAny>,
    pub clients: BTreeMap<ClientId, serde::de::IgnoredAny>,
    pub types: BTreeMap<AppointmentTypeId, serde::de::IgnoredAny>,
}

/// A column of the day view.
#[derive(Debug, Clone, Deserialize)]
pub struct Named<I> {
    pub id: I,
    pub name: String,
}

/// An appointment of the day view.
#[derive(Debug, Clone, Deserialize)]
pub struct DayLine {
    pub patient_id: PatientId,
    pub client_id: ClientId,
    pub type_id: AppointmentTypeId,
    pub vet_id: Option<StaffId>,
    pub room_id: Option<RoomId>,
}

impl fmt::Display for DayAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dangling = self
            .appointments
            .iter()
            .filter(|a| {
                !self.patients.contains_key(&a.patient_id)
                    || !self.clients.contains_key(&a.client_id)
                    || !self.types.contains_key(&a.type_id)
                    || a.vet_id.is_some_and(|v| !self.vets.iter().any(|c| c.id == v))
                    || a.room_id.is_some_and(|r| !self.rooms.iter().any(|c| c.id == r))
            })
            .count();
        write!(
            f,
            "{} appointments, {} cats, {} clients, {} vets, {} rooms, {dangling} appointments naming something the answer lacks",
            self.appointments.len(),
            self.patients.len(),
            self.clients.len(),
            self.vets.len(),
            self.rooms.len()
        )
    }
}

/// Bytes of an answer as sent plain and as sent to a client accepting gzip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerBytes {
    pub plain: usize,
    pub gzip: usize,
}

impl fmt::Display for AnswerBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes, {} with Accept-Encoding: gzip", self.plain, self.gzip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn ny() -> TimeZone {
        TimeZone::get(TIME_ZONE).unwrap()
    }

    #[test]
    fn requests_walk_forward_per_lane_without_overlap() {
        let walk = SlotWalk::new(at("2027-01-05T00:00:00Z"), 15, BOOK_HORIZON_DAYS).unwrap();
        let slots: Vec<(usize, String)> =
            (0..6).map(|n| walk.slot(n, 3).map(|(lane, start)| (lane, start.to_string())).unwrap()).collect();
        assert_eq!(
            slots,
            [
                (0, "2027-01-05T00:00:00Z".into()),
                (1, "2027-01-05T00:00:00Z".into()),
                (2, "2027-01-05T00:00:00Z".into()),
                (0, "2027-01-05T00:15:00Z".into()),
                (1, "2027-01-05T00:15:00Z".into()),
                (2, "2027-01-05T00:15:00Z".into()),
            ]
        );
    }

    /// Whatever the connections and lanes, the numbers the connections draw (index, index +
    /// connections, …) never put two bookings of one lane within a step of each other.
    #[test]
    fn no_two_requests_of_a_lane_overlap_whoever_sends_them() {
        let walk = SlotWalk::new(at("2027-01-05T00:00:00Z"), 15, BOOK_HORIZON_DAYS).unwrap();
        for (connections, lanes) in [(64u64, 64usize), (64, 16), (8, 12), (1, 5), (7, 3)] {
            let mut starts: BTreeMap<usize, Vec<Timestamp>> = BTreeMap::new();
            for index in 0..connections {
                for k in 0..50 {
                    let (lane, start) = walk.slot(index + k * connections, lanes).unwrap();
                    starts.entry(lane).or_default().push(start);
                }
            }
            for (lane, mut list) in starts {
                list.sort();
                for pair in list.windows(2) {
                    let gap = pair[1].duration_since(pair[0]);
                    assert!(gap >= SignedDuration::from_mins(15), "{connections}/{lanes}: lane {lane}: {pair:?}");
                }
            }
        }
    }

    #[test]
    fn the_walk_ends_at_the_horizon() {
        let walk = SlotWalk::new(at("2027-01-05T00:00:00Z"), 15, 1).unwrap();
        assert_eq!(walk.steps(), 96);
        assert_eq!(walk.slot(96 * 4 - 1, 4).unwrap(), (3, at("2027-01-05T23:45:00Z")));
        assert_eq!(walk.slot(96 * 4, 4), None);
        let four_years = SlotWalk::new(at("2027-01-05T00:00:00Z"), 15, BOOK_HORIZON_DAYS).unwrap();
        let (_, last) = four_years.slot(four_years.steps() - 1, 1).unwrap();
        // Well inside the server's five years (5 × 366 days from now).
        assert!(last < at("2027-01-05T00:00:00Z").checked_add(SignedDuration::from_hours(24 * 4 * 366)).unwrap());
    }

    #[test]
    fn a_walk_needs_a_positive_step() {
        assert!(SlotWalk::new(at("2027-01-05T00:00:00Z"), 0, 10).is_err());
        assert!(SlotWalk::new(at("2027-01-05T00:00:00Z"), -15, 10).is_err());
    }

    #[test]
    fn the_walk_starts_at_the_next_utc_midnight() {
        assert_eq!(first_booking_start(at("2026-11-30T13:07:12.5Z")), at("2026-12-01T00:00:00Z"));
        assert_eq!(first_booking_start(at("2026-12-01T00:00:00Z")), at("2026-12-02T00:00:00Z"));
    }

    #[test]
    fn the_window_is_thirty_days_from_now_in_whole_seconds() {
        let w = AvailabilityWindow::starting(at("2026-12-01T14:30:15.75Z")).unwrap();
        assert_eq!((w.from, w.to), (at("2026-12-01T14:30:15Z"), at("2026-12-31T14:30:15Z")));
        assert_eq!(w.from.to_string(), "2026-12-01T14:30:15Z");
        let dates = w.local_dates(&ny());
        assert_eq!(dates.len(), 31);
        assert_eq!((dates[0], dates[30]), (Date::constant(2026, 12, 1), Date::constant(2026, 12, 31)));
        // Late in the evening in New York it is already the next day in UTC: the local dates count.
        let evening = AvailabilityWindow::starting(at("2026-12-02T03:00:00Z")).unwrap().local_dates(&ny());
        assert_eq!(evening[0], Date::constant(2026, 12, 1));
    }

    #[test]
    fn seeded_bookings_fill_the_shift_an_hour_apart_without_overlap() {
        let dates = [Date::constant(2026, 12, 1), Date::constant(2026, 12, 2)];
        let seeded = seed_bookings(&ny(), &dates, 6, 30, 30).unwrap();
        assert_eq!(seeded.len(), 2 * 6 * 8);
        let first_of = |vet: usize| seeded.iter().find(|b| b.vet == vet).unwrap();
        // 08:00 in New York in December is 13:00 UTC; vets are shifted by a quarter hour.
        assert_eq!(first_of(0).start, at("2026-12-01T13:00:00Z"));
        assert_eq!(first_of(3).start, at("2026-12-01T13:45:00Z"));
        assert_eq!(first_of(4).start, at("2026-12-01T13:00:00Z"));
        let last = seeded.iter().filter(|b| b.vet == 3).nth(7).unwrap();
        assert_eq!((last.start, last.end), (at("2026-12-01T20:45:00Z"), at("2026-12-01T21:15:00Z")));
        for vet in 0..6 {
            let mine: Vec<&SeedBooking> = seeded.iter().filter(|b| b.vet == vet).collect();
            assert!(mine.windows(2).all(|p| p[0].end <= p[1].start), "vet {vet}");
        }
    }

    #[test]
    fn seeding_refuses_a_type_too_long_for_the_plan() {
        let day = [Date::constant(2026, 12, 1)];
        let err = seed_bookings(&ny(), &day, 1, 60, 75).unwrap_err().to_string();
        assert!(err.contains("blocks 75 minutes"), "{err}");
        assert!(seed_bookings(&ny(), &day, 1, 45, 60).is_ok());
    }

    fn id<T: std::str::FromStr>(n: u8) -> T
    where
        T::Err: fmt::Debug,
    {
        format!("01JD7Y2Q4Z8W3N5K6M7P8R9S{n:02}").parse().unwrap()
    }

    /// Two vets; vet 1 booked 08:00-08:30 and 09:00-09:30 local on 1 December 2026.
    fn seed() -> AvailabilitySeed {
        let mut booked = BTreeMap::new();
        booked.insert(
            id(1),
            vec![
                (at("2026-12-01T13:00:00Z"), at("2026-12-01T13:30:00Z")),
                (at("2026-12-01T14:00:00Z"), at("2026-12-01T14:30:00Z")),
            ],
        );
        booked.insert(id(2), Vec::new());
        AvailabilitySeed {
            location_id: id(10),
            type_id: id(20),
            tz: ny(),
            window: AvailabilityWindow::starting(at("2026-12-01T12:00:00Z")).unwrap(),
            booked,
        }
    }

    fn answer(json: &str) -> AvailabilityAnswer {
        serde_json::from_str(json).unwrap()
    }

    /// A start (ISO 8601 with its offset) and the vets (by number) free then.
    fn slot(start: &'static str, vets: &[u8]) -> (&'static str, Vec<u8>) {
        (start, vets.to_vec())
    }

    /// The answer offering `slots` for a type of `duration` minutes, in the wire's shape: per
    /// vet, per date, wall times on the offset written with the start.
    fn answer_lasting(duration: u16, slots: &[(&str, Vec<u8>)]) -> AvailabilityAnswer {
        let mut per_vet: BTreeMap<u8, BTreeMap<(&str, &str), Vec<String>>> = BTreeMap::new();
        for (start, vets) in slots {
            for &vet in vets {
                let day = per_vet.entry(vet).or_default().entry((&start[..10], &start[19..])).or_default();
                day.push(format!("\"{}\"", &start[11..16]));
            }
        }
        let vets: Vec<String> = per_vet
            .into_iter()
            .map(|(vet, days)| {
                let days: Vec<String> = days
                    .into_iter()
                    .map(|((date, offset), starts)| {
                        format!(r#"{{"date":"{date}","offset":"{offset}","starts":[{}]}}"#, starts.join(","))
                    })
                    .collect();
                format!(r#"{{"vet_id":"{}","days":[{}]}}"#, id::<StaffId>(vet), days.join(","))
            })
            .collect();
        answer(&format!(
            r#"{{"location_id":"{}","time_zone":"America/New_York","type_id":"{}","duration_minutes":{duration},"vets":[{}]}}"#,
            id::<LocationId>(10),
            id::<AppointmentTypeId>(20),
            vets.join(",")
        ))
    }

    fn answer_with(slots: &[(&str, Vec<u8>)]) -> AvailabilityAnswer {
        answer_lasting(30, slots)
    }

    #[test]
    fn a_good_answer_in_local_offsets_passes() {
        let a = answer_with(&[
            slot("2026-12-01T08:00:00-05:00", &[2]),
            slot("2026-12-01T08:30:00-05:00", &[1, 2]),
            slot("2026-12-02T16:30:00-05:00", &[1]),
        ]);
        let check = seed().check(&a, 30);
        assert_eq!(
            check,
            AnswerCheck { slots: 3, offers: 4, days: 2, problem_count: 0, problems: Vec::new() },
            "{check}"
        );
        assert_eq!(check.to_string(), "3 slots on 2 days, 4 vet offers, no contract problem");
    }

    #[test]
    fn offering_a_booked_vet_is_a_problem() {
        let a = answer_with(&[
            slot("2026-12-01T08:15:00-05:00", &[1, 2]),
            slot("2026-12-01T09:29:00-05:00", &[1]),
            slot("2026-12-01T09:30:00-05:00", &[1]),
        ]);
        let check = seed().check(&a, 30);
        assert_eq!(check.problem_count, 2, "{check}");
        assert_eq!(
            check.problems[0],
            format!("slot 2026-12-01T13:15:00Z offers {}, who is booked then", id::<StaffId>(1))
        );
    }

    #[test]
    fn slots_outside_the_shift_window_or_length_are_problems() {
        let a = answer_with(&[
            slot("2026-12-01T07:45:00-05:00", &[2]),
            slot("2026-12-01T16:45:00-05:00", &[2]),
            slot("2026-12-01T10:00:00-05:00", &[2]),
            slot("2027-01-04T10:00:00-05:00", &[2]),
            slot("2026-12-01T12:00:00-05:00", &[9]),
        ]);
        let check = seed().check(&a, 30);
        assert_eq!(check.problem_count, 4, "{check}");
        assert!(
            check.to_string().starts_with("5 slots on 2 days, 5 vet offers, 4 contract problems: slot "),
            "{check}"
        );
        // A length other than the type's, and starts that cannot be read.
        let mut long = answer_lasting(45, &[slot("2026-12-01T10:00:00-05:00", &[2])]);
        long.vets[0].days[0].starts.extend(["8h".to_owned(), "25:00".to_owned()]);
        let check = seed().check(&long, 30);
        assert_eq!(check.problem_count, 3, "{check}");
        assert_eq!(check.problems.len(), 3);
        assert!(check.problems.iter().any(|p| p.starts_with("duration_minutes is 45")), "{check}");
    }

    #[test]
    fn the_wrong_location_type_zone_or_no_slot_at_all_are_problems() {
        let mut a = answer_with(&[]);
        a.location_id = id(11);
        a.type_id = id(21);
        a.time_zone = "UTC".into();
        let check = seed().check(&a, 30);
        assert_eq!(check.problem_count, 4, "{check}");
        assert!(check.problems[3].starts_with("no slot at all"));
    }

    #[test]
    fn the_day_view_day_puts_six_vets_in_six_rooms_without_a_clash() {
        let day = day_view_bookings(&ny(), Date::constant(2026, 12, 1)).unwrap();
        assert_eq!(day.len(), DAY_VIEW_APPOINTMENTS);
        assert_eq!(day[0].start, at("2026-12-01T13:00:00Z"));
        assert_eq!(day[59].start, at("2026-12-01T17:30:00Z"), "the tenth half hour from 08:00");
        let mut taken = std::collections::BTreeSet::new();
        for b in &day {
            assert!(taken.insert((b.start, "vet", b.vet)), "{b:?}");
            assert!(taken.insert((b.start, "room", b.room)), "{b:?}");
        }
        let owners: std::collections::BTreeSet<usize> = day.iter().map(|b| day_view_owner(b.cat)).collect();
        assert_eq!(owners.len(), DAY_VIEW_CLIENTS);
        assert_eq!(day_view_date(at("2026-11-24T22:00:00Z"), &ny()).unwrap(), Date::constant(2026, 12, 1));
    }

    #[test]
    fn overlap_is_half_open() {
        let held = [(at("2026-12-01T13:00:00Z"), at("2026-12-01T13:30:00Z"))];
        assert!(!overlaps(&held, at("2026-12-01T12:30:00Z"), at("2026-12-01T13:00:00Z")));
        assert!(overlaps(&held, at("2026-12-01T12:31:00Z"), at("2026-12-01T13:01:00Z")));
        assert!(overlaps(&held, at("2026-12-01T13:29:00Z"), at("2026-12-01T13:59:00Z")));
        assert!(!overlaps(&held, at("2026-12-01T13:30:00Z"), at("2026-12-01T14:00:00Z")));
        assert!(!overlaps(&[], at("2026-12-01T13:00:00Z"), at("2026-12-01T14:00:00Z")));
    }
}
