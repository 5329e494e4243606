//! The demo calendar around today: the location's name, rooms and holidays, who works when
//! (shifts from each person's usual week and the opening hours), the one approved time off,
//! and [`plan_schedule`], which lays it all out and has `visits` book the appointments.

use clowder_schemas::appointment_types::RoomKind;
use clowder_schemas::ids::PatientId;
use clowder_schemas::locations::Day;
use clowder_schemas::patients::CreatePatient;
use jiff::Span;
use jiff::civil::{Date, Time, Weekday};

use super::random::{SEED, SplitMix64};
use super::staff::{PEOPLE, working_span};
use super::visits::{PlannedVisit, plan_visits};

/// Name, address and phone the demo gives the first location while it still has its
/// start-up name ("Main clinic").
pub const LOCATION_NAME: &str = "Rose City Cat Clinic";
pub const LOCATION_ADDRESS: &str = "3520 SE Hawthorne Blvd, Portland, OR 97214";
pub const LOCATION_PHONE: &str = "(503) 555-0142";

/// The days most US practices close, on the day itself: New Year's Day, Memorial Day,
/// Independence Day, Labor Day, Thanksgiving and Christmas Day. The demo location gets them
/// as blackout dates, so the demo does not book a full Thanksgiving.
pub fn holidays(year: i16) -> Vec<Date> {
    let day = |month, day| Date::new(year, month, day).ok();
    let nth = |month, nth, weekday| Date::new(year, month, 1).and_then(|d| d.nth_weekday_of_month(nth, weekday)).ok();
    [
        day(1, 1),
        nth(5, -1, Weekday::Monday),
        day(7, 4),
        nth(9, 1, Weekday::Monday),
        nth(11, 4, Weekday::Thursday),
        day(12, 25),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The demo location's rooms. The exam rooms come first: veterinarian number `i` (in
/// [`PEOPLE`] order) sees patients in exam room `i`, so two vets never need the same room.
pub const ROOMS: &[(&str, RoomKind)] = &[
    ("Exam 1", RoomKind::Exam),
    ("Exam 2", RoomKind::Exam),
    ("Exam 3", RoomKind::Exam),
    ("Exam 4", RoomKind::Exam),
    ("Surgery", RoomKind::Surgery),
    ("Dental", RoomKind::Dental),
    ("Isolation", RoomKind::Isolation),
    ("Cat ward", RoomKind::CatWard),
];
pub(super) const EXAM_ROOMS: usize = 4;
pub(super) const SURGERY_ROOM: usize = 4;
pub(super) const DENTAL_ROOM: usize = 5;

/// Opening hours per weekday, Monday first (as `Location::week` gives them).
pub type Week = [Option<(Time, Time)>; 7];

pub(super) const fn hm(h: i8, m: i8) -> Time {
    Time::constant(h, m, 0, 0)
}

pub(super) fn minutes(t: Time) -> i32 {
    i32::from(t.hour()) * 60 + i32::from(t.minute())
}

pub(super) fn at(m: i32) -> Time {
    Time::new((m / 60) as i8, (m % 60) as i8, 0, 0).expect("plan times stay within one day")
}

pub(super) fn add_days(d: Date, n: i64) -> Date {
    d.saturating_add(Span::new().days(n))
}

/// An hour's lunch on a long day, half an hour on a medium one.
fn break_for(start: Time, end: Time) -> u16 {
    match minutes(end) - minutes(start) {
        481.. => 60,
        301.. => 30,
        _ => 0,
    }
}

/// Seed of the schedule: its own stream, so planning never changes the generated clinic.
const SCHEDULE_SEED: u64 = SEED ^ 0x5C4E_D01E_5C4E_D01E;

/// Shifts run from a week before today to two weeks after; appointments a week either side.
pub const SHIFT_DAYS: (i64, i64) = (-7, 14);
pub const VISIT_DAYS: (i64, i64) = (-7, 7);

/// One planned shift; `person` indexes [`PEOPLE`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedShift {
    pub person: usize,
    pub date: Date,
    pub start: Time,
    pub end: Time,
    pub break_minutes: u16,
}

/// The one time-off request, approved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedTimeOff {
    pub person: usize,
    pub first_day: Date,
    pub last_day: Date,
    pub reason: &'static str,
    pub note: &'static str,
}

impl PlannedTimeOff {
    pub(super) fn covers(&self, person: usize, d: Date) -> bool {
        self.person == person && (self.first_day..=self.last_day).contains(&d)
    }
}

/// Who works when, the approved time off, and the appointments around `today`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulePlan {
    pub shifts: Vec<PlannedShift>,
    pub time_off: PlannedTimeOff,
    pub visits: Vec<PlannedVisit>,
}

/// Plans the demo schedule around `today` for a location with opening hours `hours` and
/// closed on `closed` dates. Pure: the same inputs give the same plan. Nobody works on
/// approved time off; nobody (vet, room or cat) is in two appointments at once, counting
/// each type's buffer; procedures go to surgeons, in the morning, in their own rooms.
pub fn plan_schedule(
    today: Date,
    hours: &Week,
    closed: &[Date],
    patients: &[(PatientId, CreatePatient)],
) -> SchedulePlan {
    let mut rng = SplitMix64(SCHEDULE_SEED);
    let time_off = plan_time_off(today);
    let mut shifts = Vec::new();
    for offset in SHIFT_DAYS.0..=SHIFT_DAYS.1 {
        let d = add_days(today, offset);
        if closed.contains(&d) {
            continue;
        }
        let open = hours[Day::of(d.weekday()).index()];
        for (i, p) in PEOPLE.iter().enumerate() {
            if !p.clinical() || time_off.covers(i, d) {
                continue;
            }
            if let Some((start, end)) = working_span(p.week[Day::of(d.weekday()).index()], open, d) {
                shifts.push(PlannedShift { person: i, date: d, start, end, break_minutes: break_for(start, end) });
            }
        }
    }
    let visits = plan_visits(&mut rng, today, hours, &shifts, patients);
    SchedulePlan { shifts, time_off, visits }
}

/// Dr. Patel is at a conference on the first Thursday and Friday at least three days away.
fn plan_time_off(today: Date) -> PlannedTimeOff {
    let mut first = add_days(today, 3);
    while first.weekday() != Weekday::Thursday {
        first = add_days(first, 1);
    }
    PlannedTimeOff {
        person: PEOPLE.iter().position(|p| p.username == Some("drpatel")).expect("Dr. Patel is on the staff"),
        first_day: first,
        last_day: add_days(first, 1),
        reason: "Continuing education: feline medicine conference",
        note: "Approved; Dr. Nakamura covers the Friday rechecks.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::clients::generate;
    use crate::demo::tests::{TODAY, default_week, plan};
    use clowder_schemas::staff::Position;
    use jiff::civil::date;

    #[test]
    fn the_schedule_plan_is_deterministic() {
        assert_eq!(plan(), plan());
        let other = plan_schedule(date(2026, 3, 18), &default_week(), &[], &generate(TODAY).patients);
        assert_ne!(plan().visits, other.visits, "the plan follows today");
    }

    #[test]
    fn shifts_follow_the_week_the_opening_hours_and_the_time_off() {
        let p = plan();
        let hours = default_week();
        let days = (SHIFT_DAYS.0..=SHIFT_DAYS.1).map(|o| add_days(TODAY, o));
        for d in days {
            let open = hours[Day::of(d.weekday()).index()];
            let today: Vec<&PlannedShift> = p.shifts.iter().filter(|s| s.date == d).collect();
            let Some((o, c)) = open else {
                assert!(today.is_empty(), "nobody works on {d} (closed)");
                continue;
            };
            for s in &today {
                assert!(o <= s.start && s.end <= c && s.start < s.end, "{s:?}");
                assert!(PEOPLE[s.person].clinical());
                assert!(!p.time_off.covers(s.person, d));
                assert_eq!(today.iter().filter(|x| x.person == s.person).count(), 1);
            }
            let vets = |from: Time, to: Time| {
                today
                    .iter()
                    .filter(|s| PEOPLE[s.person].position == Position::Veterinarian)
                    .filter(|s| s.start <= from && to <= s.end)
                    .count()
            };
            if d.weekday() == Weekday::Saturday {
                assert_eq!(vets(o, c), 2, "two vets share each Saturday ({d})");
            } else {
                assert!(vets(o, hm(12, 0)) >= 2 && vets(hm(13, 0), c) >= 1, "cover on {d}: {today:?}");
            }
        }
        let t = &p.time_off;
        assert_eq!(PEOPLE[t.person].position, Position::Veterinarian);
        assert!(TODAY < t.first_day && t.last_day <= add_days(TODAY, 14));
        assert!(p.shifts.iter().any(|s| s.person == t.person && s.date > t.last_day), "back after the time off");
    }

    #[test]
    fn nobody_works_or_is_booked_on_a_closed_day() {
        let clinic = generate(TODAY);
        let tuesday = date(2026, 3, 17);
        let open = plan_schedule(tuesday, &default_week(), &[], &clinic.patients);
        assert!(open.shifts.iter().any(|s| s.date == tuesday) && open.visits.iter().any(|v| v.date == tuesday));
        let closed = plan_schedule(tuesday, &default_week(), &[tuesday], &clinic.patients);
        assert!(closed.shifts.iter().all(|s| s.date != tuesday) && closed.visits.iter().all(|v| v.date != tuesday));
        assert!(closed.visits.len() > 200, "the other days are still booked");
    }

    #[test]
    fn holidays_fall_on_their_days() {
        let h = holidays(2026);
        for d in [date(2026, 1, 1), date(2026, 5, 25), date(2026, 7, 4), date(2026, 9, 7), date(2026, 11, 26)] {
            assert!(h.contains(&d), "{d} in {h:?}");
        }
        assert_eq!((h.len(), holidays(2027)[4]), (6, date(2027, 11, 25)));
    }
}
