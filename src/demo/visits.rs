//! The demo appointments: which cats come when, for what (with a believable reason), in
//! which room and with which vet, and what became of each visit ([`Outcome`]), which
//! [`status_path`] turns into workflow moves at the moment of seeding.

use std::collections::HashMap;

use clowder_schemas::appointment_types::{DEFAULT_DURATION, default_appointment_types};
use clowder_schemas::appointments::Status;
use clowder_schemas::ids::{ClientId, PatientId};
use clowder_schemas::locations::Day;
use clowder_schemas::patients::{CreatePatient, ReproductiveStatus, Sex};
use clowder_schemas::staff::Position;
use jiff::civil::{Date, Time, date};
use jiff::{SignedDuration, Timestamp};

use super::random::SplitMix64;
use super::schedule::{
    DENTAL_ROOM, EXAM_ROOMS, PlannedShift, SURGERY_ROOM, VISIT_DAYS, Week, add_days, at, hm, minutes,
};
use super::staff::PEOPLE;

/// What becomes of a booked appointment; [`status_path`] turns it into workflow moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub fate: Fate,
    /// How many hours before the start the owner confirmed (answering a reminder, or at
    /// booking); 0 if they never did.
    pub confirm_hours: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Seen,
    NoShow,
    /// Cancelled before the visit, with the reason given.
    Cancelled(&'static str),
}

/// One planned appointment. `vet` indexes [`PEOPLE`], `room` [`ROOMS`](super::schedule::ROOMS);
/// `type_name` is one of the default appointment types, `minutes` and `buffer_minutes` its defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedVisit {
    pub date: Date,
    pub start: Time,
    pub minutes: u16,
    pub buffer_minutes: u16,
    pub vet: usize,
    pub room: usize,
    pub type_name: &'static str,
    pub client_id: ClientId,
    pub patient_id: PatientId,
    pub reason: String,
    pub outcome: Outcome,
}

/// What the plan knows of a cat.
struct Cat {
    id: PatientId,
    client: ClientId,
    age_days: Option<i64>,
    sex: Option<Sex>,
    intact: bool,
}

/// The cats not yet booked; each cat is booked at most once in the plan, so no cat can be
/// in two places at once.
struct CatPool {
    cats: Vec<Cat>,
    used: Vec<bool>,
    households: HashMap<ClientId, Vec<usize>>,
}

impl CatPool {
    fn new(patients: &[(PatientId, CreatePatient)], today: Date) -> CatPool {
        let cats: Vec<Cat> = patients
            .iter()
            .map(|(id, p)| Cat {
                id: *id,
                client: p.client_id,
                age_days: p.date_of_birth.map(|b| i64::from((today - b).get_days())),
                sex: p.sex,
                intact: p.reproductive_status == Some(ReproductiveStatus::Intact),
            })
            .collect();
        let mut households: HashMap<ClientId, Vec<usize>> = HashMap::new();
        for (i, c) in cats.iter().enumerate() {
            households.entry(c.client).or_default().push(i);
        }
        CatPool { used: vec![false; cats.len()], cats, households }
    }

    /// A random unbooked cat that suits `fit`, if one turns up in a few hundred draws.
    fn take(&mut self, rng: &mut SplitMix64, fit: Fit) -> Option<usize> {
        if self.cats.is_empty() {
            return None;
        }
        for _ in 0..400 {
            let i = rng.below(self.cats.len() as u64) as usize;
            if !self.used[i] && fit.suits(&self.cats[i]) {
                self.used[i] = true;
                return Some(i);
            }
        }
        None
    }

    /// Another unbooked cat of the same household.
    fn sibling(&mut self, of: usize) -> Option<usize> {
        let i = *self.households.get(&self.cats[of].client)?.iter().find(|&&j| !self.used[j])?;
        self.used[i] = true;
        Some(i)
    }
}

/// Which cats a kind of visit suits (ages in days).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fit {
    Any,
    /// Under six months.
    Kitten,
    /// Six months to seven years (or age unknown).
    Adult,
    /// Seven years and over (DOMAIN.md: senior from 7, geriatric from 11).
    Senior,
    /// Fourteen years and over.
    Elderly,
    /// Old enough for vaccines (8 weeks).
    Vaccinable,
    /// Intact, four months to three years: spay or neuter.
    Intact,
    /// Three years and over (or age unknown): dental disease.
    Dental,
}

impl Fit {
    fn suits(self, c: &Cat) -> bool {
        let age = c.age_days;
        match self {
            Fit::Any => true,
            Fit::Kitten => age.is_some_and(|a| a < 183),
            Fit::Adult => age.is_none_or(|a| (183..2_557).contains(&a)),
            Fit::Senior => age.is_some_and(|a| a >= 2_557),
            Fit::Elderly => age.is_some_and(|a| a >= 5_113),
            Fit::Vaccinable => age.is_none_or(|a| a >= 56),
            Fit::Intact => c.intact && c.sex.is_some() && age.is_some_and(|a| (120..1_096).contains(&a)),
            Fit::Dental => age.is_none_or(|a| a >= 1_096),
        }
    }
}

/// Exam-room visits: type, relative frequency, the cats it suits, and whether a second cat
/// of the household often comes along.
const VISITS: &[(&str, u64, Fit, bool)] = &[
    ("Wellness exam", 26, Fit::Adult, true),
    ("Sick visit", 22, Fit::Any, false),
    ("Vaccination", 14, Fit::Vaccinable, true),
    ("Recheck", 14, Fit::Any, false),
    ("Senior wellness exam", 10, Fit::Senior, true),
    ("New kitten visit", 6, Fit::Kitten, true),
    ("Nail trim", 5, Fit::Any, false),
    ("Quality-of-life consultation", 2, Fit::Elderly, false),
];
const SPAY: &str = "Spay or neuter";
const DENTAL: &str = "Dental cleaning";

/// Chance (per mille) that a free quarter hour of a vet's exam time starts an appointment:
/// about twelve appointments on a full day, with some gaps left for walk-ins.
const BOOKING_CHANCE: (u64, u64) = (450, 650);

/// The length and buffer of a default appointment type.
fn type_spec(name: &str) -> (u16, u16) {
    default_appointment_types()
        .into_iter()
        .find(|t| t.name == name)
        .map(|t| (t.duration_minutes.unwrap_or(DEFAULT_DURATION), t.buffer_after_minutes))
        .unwrap_or_else(|| panic!("{name} is one of the default appointment types"))
}

pub(super) fn plan_visits(
    rng: &mut SplitMix64,
    today: Date,
    hours: &Week,
    shifts: &[PlannedShift],
    patients: &[(PatientId, CreatePatient)],
) -> Vec<PlannedVisit> {
    let specs: HashMap<&str, (u16, u16)> =
        VISITS.iter().map(|v| v.0).chain([SPAY, DENTAL]).map(|n| (n, type_spec(n))).collect();
    let vets: Vec<usize> = (0..PEOPLE.len()).filter(|&i| PEOPLE[i].position == Position::Veterinarian).collect();
    let mut pool = CatPool::new(patients, today);
    let mut out = Vec::new();
    for offset in VISIT_DAYS.0..=VISIT_DAYS.1 {
        let d = add_days(today, offset);
        let on_duty: Vec<&PlannedShift> = shifts.iter().filter(|s| s.date == d && vets.contains(&s.person)).collect();
        // Procedures only on full clinic days, by surgeons there from the start; who gets
        // the surgery and who the dental room alternates day by day.
        let long_day =
            hours[Day::of(d.weekday()).index()].is_some_and(|(open, close)| minutes(close) - minutes(open) >= 480);
        let mut surgeons: Vec<&PlannedShift> = on_duty
            .iter()
            .copied()
            .filter(|s| long_day && PEOPLE[s.person].surgeon && s.start <= hm(10, 0) && s.end >= hm(12, 0))
            .collect();
        if !surgeons.is_empty() {
            let turn = (d - date(2001, 1, 1)).get_days().rem_euclid(surgeons.len() as i32) as usize;
            surgeons.rotate_left(turn);
        }
        let mut theatre: HashMap<usize, usize> = HashMap::new();
        for (s, room) in surgeons.iter().zip([SURGERY_ROOM, DENTAL_ROOM]) {
            if rng.chance(800) {
                theatre.insert(s.person, room);
            }
        }
        for s in on_duty {
            let rank = vets.iter().position(|&v| v == s.person).expect("on_duty holds vets only");
            let mut day =
                VetDay { rng: &mut *rng, pool: &mut pool, specs: &specs, out: &mut out, date: d, vet: s.person };
            let (start, end) = (minutes(s.start), minutes(s.end));
            // An hour's lunch from 12:30 splits a long shift that spans it.
            let segments = if s.break_minutes >= 60 && start < 750 && end > 810 {
                vec![(start, 750), (810, end)]
            } else {
                vec![(start, end)]
            };
            let busy = day.rng.between(BOOKING_CHANCE.0, BOOKING_CHANCE.1);
            for (k, &(from, to)) in segments.iter().enumerate() {
                match theatre.get(&s.person) {
                    // Admissions take the first half hour; the rest of the morning after
                    // the procedures is for recovery and calls.
                    Some(&room) if k == 0 => day.procedures(from + 30, to, room),
                    _ => day.exams(from, to, rank % EXAM_ROOMS, busy),
                }
            }
        }
    }
    out
}

/// Fills one vet's day.
struct VetDay<'a> {
    rng: &'a mut SplitMix64,
    pool: &'a mut CatPool,
    specs: &'a HashMap<&'static str, (u16, u16)>,
    out: &'a mut Vec<PlannedVisit>,
    date: Date,
    vet: usize,
}

/// Minutes rounded up to the quarter hour: appointments start on the quarter hour.
fn quarter_hours(m: i32) -> i32 {
    (m + 14) / 15 * 15
}

impl VetDay<'_> {
    /// Books `cat` for `type_name` at `t` if it ends (with its buffer) by `end`; returns
    /// where the next appointment may start.
    fn place(&mut self, t: i32, end: i32, room: usize, type_name: &'static str, cat: usize) -> Option<i32> {
        let (length, buffer) = self.specs[type_name];
        let blocked = i32::from(length) + i32::from(buffer);
        if t + blocked > end {
            return None;
        }
        let c = &self.pool.cats[cat];
        let reason = visit_reason(self.rng, type_name, c);
        let outcome = outcome(self.rng, type_name);
        self.out.push(PlannedVisit {
            date: self.date,
            start: at(t),
            minutes: length,
            buffer_minutes: buffer,
            vet: self.vet,
            room,
            type_name,
            client_id: c.client,
            patient_id: c.id,
            reason,
            outcome,
        });
        Some(t + quarter_hours(blocked))
    }

    /// Spays, neuters or dentals back to back from `t`, as many as fit (at most three).
    fn procedures(&mut self, mut t: i32, end: i32, room: usize) {
        let (type_name, fit) = if room == DENTAL_ROOM { (DENTAL, Fit::Dental) } else { (SPAY, Fit::Intact) };
        for _ in 0..3 {
            let (length, buffer) = self.specs[type_name];
            if t + i32::from(length + buffer) > end {
                return;
            }
            let Some(cat) = self.pool.take(self.rng, fit) else { return };
            match self.place(t, end, room, type_name, cat) {
                Some(next) => t = next,
                None => return,
            }
        }
    }

    /// Exam-room appointments from `t` to `end`: every free quarter hour starts one with
    /// chance `busy` per mille; some owners bring a second cat.
    fn exams(&mut self, mut t: i32, end: i32, room: usize, busy: u64) {
        while t + 10 <= end {
            if !self.rng.chance(busy) {
                t += 15;
                continue;
            }
            let &(type_name, _, fit, household) = self.rng.weighted_by(VISITS, |v| v.1);
            let (length, buffer) = self.specs[type_name];
            if t + i32::from(length + buffer) > end {
                t += 15;
                continue;
            }
            let Some(cat) = self.pool.take(self.rng, fit) else {
                t += 15;
                continue;
            };
            t = self.place(t, end, room, type_name, cat).unwrap_or(t + 15);
            if household
                && self.rng.chance(250)
                && let Some(second) = self.pool.sibling(cat)
            {
                let c = &self.pool.cats[second];
                let second_type = [("New kitten visit", Fit::Kitten), ("Senior wellness exam", Fit::Senior)]
                    .into_iter()
                    .find(|(_, f)| f.suits(c))
                    .map_or(if type_name == "Vaccination" { "Vaccination" } else { "Wellness exam" }, |(n, _)| n);
                match self.place(t, end, room, second_type, second) {
                    Some(next) => t = next,
                    // No room left today: the second cat stays unbooked.
                    None => self.pool.used[second] = false,
                }
            }
        }
    }
}

fn visit_reason(rng: &mut SplitMix64, type_name: &str, c: &Cat) -> String {
    let senior = Fit::Senior.suits(c);
    let male = c.sex == Some(Sex::Male);
    match type_name {
        SPAY => {
            let what = if male { "Neuter" } else { "Spay" };
            if rng.chance(300) { format!("{what} and microchip") } else { what.to_owned() }
        }
        DENTAL => {
            let grade = rng.between(1, 4);
            let extractions = if grade >= 2 && rng.chance(600) { "; possible extractions" } else { "" };
            format!("Dental cleaning under anaesthesia, grade {grade} dental disease{extractions}")
        }
        "Sick visit" if male && rng.chance(60) => {
            "Straining in the litter box, little urine – rule out a blocked urethra".to_owned()
        }
        "Sick visit" if senior && rng.chance(350) => rng.text(SICK_SENIOR),
        "Sick visit" => rng.text(SICK),
        "Recheck" if senior && rng.chance(450) => rng.text(RECHECK_SENIOR),
        "Recheck" => rng.text(RECHECK),
        "Vaccination" if Fit::Kitten.suits(c) => rng.text(VACCINES_KITTEN),
        "Vaccination" => rng.text(VACCINES_ADULT),
        "Wellness exam" => rng.text(WELLNESS),
        "Senior wellness exam" => rng.text(SENIOR_WELLNESS),
        "New kitten visit" => rng.text(KITTEN_VISIT),
        "Quality-of-life consultation" => rng.text(QUALITY_OF_LIFE),
        _ => "Nail trim".to_owned(),
    }
}

/// Most appointments are kept; about 4 % are no-shows and 7 % are cancelled. Three
/// owners in four confirm, most of them when the reminder arrives two days before.
fn outcome(rng: &mut SplitMix64, type_name: &str) -> Outcome {
    let fate = match rng.below(1000) {
        0..40 => Fate::NoShow,
        40..110 => {
            let reasons = if type_name == SPAY || type_name == DENTAL { CANCEL_PROCEDURE } else { CANCEL };
            let reason = *rng.pick(reasons);
            Fate::Cancelled(reason)
        }
        _ => Fate::Seen,
    };
    Outcome { fate, confirm_hours: *rng.weighted(CONFIRM_HOURS) }
}

/// The workflow moves (each with a reason when one is needed) that bring a just-booked
/// appointment from `scheduled` to where it would be at `now`: past ones completed,
/// no-show or cancelled; the current one in progress; the next quarter hour checked in;
/// later ones confirmed once the owner has confirmed. Future appointments are never
/// cancelled or missed yet.
pub fn status_path(
    o: &Outcome,
    start: Timestamp,
    end: Timestamp,
    now: Timestamp,
) -> Vec<(Status, Option<&'static str>)> {
    let mut path = Vec::new();
    let confirmed_at = start.saturating_sub(SignedDuration::from_hours(o.confirm_hours.into())).unwrap_or(start);
    if o.confirm_hours > 0 && now >= confirmed_at {
        path.push((Status::Confirmed, None));
    }
    if now < start {
        if o.fate == Fate::Seen && start.duration_since(now) <= SignedDuration::from_mins(15) {
            path.push((Status::CheckedIn, None));
        }
        return path;
    }
    match o.fate {
        Fate::NoShow => path.push((Status::NoShow, None)),
        Fate::Cancelled(reason) => path.push((Status::Cancelled, Some(reason))),
        Fate::Seen => {
            path.extend([(Status::CheckedIn, None), (Status::InProgress, None)]);
            if now >= end {
                path.push((Status::Completed, None));
            }
        }
    }
    path
}

// ---- Tables (the long ones are left unformatted so they stay compact) ----

/// Hours before the start that owners confirm (0: never), by frequency.
const CONFIRM_HOURS: &[(u16, u64)] = &[(0, 25), (24, 20), (36, 20), (48, 20), (336, 15)];

#[rustfmt::skip]
const WELLNESS: &[&str] = &[
    "Annual wellness exam", "Annual wellness exam", "Annual wellness exam", "Annual exam and vaccines",
    "Annual exam and vaccines", "Annual exam; owner asks about weight gain",
    "New client – wellness exam and records review", "Annual exam and flea prevention refill",
    "Wellness exam before a move (health certificate)",
];

#[rustfmt::skip]
const SENIOR_WELLNESS: &[&str] = &[
    "Senior wellness exam with bloodwork and urinalysis", "Senior exam and blood pressure check",
    "Senior wellness – owner notes some weight loss", "Six-month senior check and bloodwork",
];

#[rustfmt::skip]
const KITTEN_VISIT: &[&str] = &[
    "New kitten – first exam, deworming, FVRCP #1", "Newly adopted from the shelter – exam and records review",
    "New kitten: FeLV/FIV test and first vaccines", "Kitten exam, FVRCP booster and deworming",
];

#[rustfmt::skip]
const VACCINES_KITTEN: &[&str] = &[
    "FVRCP booster (kitten series)", "FVRCP and FeLV boosters (kitten series)", "Final kitten FVRCP booster and rabies",
];

#[rustfmt::skip]
const VACCINES_ADULT: &[&str] = &[
    "FVRCP booster (every 3 years)", "Rabies booster", "FeLV booster (indoor-outdoor cat)", "FVRCP and rabies boosters",
    "One-year FVRCP, FeLV and rabies boosters",
];

#[rustfmt::skip]
const SICK: &[&str] = &[
    "Vomiting for two days", "Not eating since yesterday", "Sneezing and discharge from both eyes",
    "Diarrhoea for three days", "Limping on the right hind leg", "Scratching at the ears and shaking the head",
    "Swelling on the cheek – possible bite abscess", "Hair loss on the belly from overgrooming",
    "Lump on the left side", "Coughing fits – owner has a video", "Squinting, left eye watery",
    "Hiding and lethargic since the weekend", "Urinating outside the litter box",
];

#[rustfmt::skip]
const SICK_SENIOR: &[&str] = &[
    "Weight loss despite a good appetite", "Drinking and urinating more than usual", "Bad breath and dropping food",
    "Stiff and reluctant to jump", "Eating less; lost weight since the last visit", "Vomiting more often, thinner",
];

#[rustfmt::skip]
const RECHECK: &[&str] = &[
    "Recheck – upper respiratory infection", "Recheck – ear infection", "Recheck – overgrooming and skin",
    "Incision check after spay", "Recheck – cystitis, urine sample", "Recheck – corneal ulcer (fluorescein stain)",
    "Weigh-in on the weight-loss plan", "Recheck – bite abscess", "Suture removal",
];

#[rustfmt::skip]
const RECHECK_SENIOR: &[&str] = &[
    "Recheck – CKD bloodwork (creatinine, SDMA) and blood pressure", "Recheck – T4 on methimazole",
    "Recheck – glucose curve (diabetes)", "Recheck – blood pressure on amlodipine", "Recheck after dental extractions",
];

#[rustfmt::skip]
const QUALITY_OF_LIFE: &[&str] = &[
    "Quality-of-life discussion – end-stage kidney disease", "Quality-of-life consultation – eating less, very thin",
    "Quality-of-life consultation – lymphoma", "Quality-of-life consultation – mobility and pain",
];

#[rustfmt::skip]
const CANCEL: &[&str] = &[
    "Could not get the cat into the carrier", "Owner is unwell", "Cat is doing better; owner will call if needed",
    "Work conflict – owner will rebook", "Car trouble", "Owner travelling – will rebook after the trip",
];

#[rustfmt::skip]
const CANCEL_PROCEDURE: &[&str] = &[
    "Cat ate breakfast – anaesthesia postponed", "Owner wants a written estimate first",
    "Cat is sneezing – procedure postponed until recovered",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::clients::generate;
    use crate::demo::schedule::{ROOMS, plan_schedule};
    use crate::demo::tests::{TODAY, default_week, plan};
    use clowder_schemas::appointment_types::RoomKind;
    use jiff::civil::Weekday;
    use std::collections::HashSet;

    /// Minutes of the day a visit holds its vet, room and cat: start to end plus buffer.
    fn held(v: &PlannedVisit) -> (i32, i32) {
        (minutes(v.start), minutes(v.start) + i32::from(v.minutes + v.buffer_minutes))
    }

    fn instant(d: Date, t: Time) -> Timestamp {
        d.to_datetime(t).to_zoned(jiff::tz::TimeZone::UTC).unwrap().timestamp()
    }

    #[test]
    fn no_vet_room_or_cat_is_double_booked_in_the_plan() {
        let p = plan();
        let cats: HashSet<PatientId> = p.visits.iter().map(|v| v.patient_id).collect();
        assert_eq!(cats.len(), p.visits.len(), "each cat comes once");
        for (i, a) in p.visits.iter().enumerate() {
            for b in &p.visits[i + 1..] {
                let ((a0, a1), (b0, b1)) = (held(a), held(b));
                let overlap = a.date == b.date && a0 < b1 && b0 < a1;
                assert!(!(overlap && a.vet == b.vet), "vet double-booked: {a:?} {b:?}");
                assert!(!(overlap && a.room == b.room), "room double-booked: {a:?} {b:?}");
            }
        }
    }

    #[test]
    fn every_visit_is_in_its_vets_shift_in_a_room_of_the_right_kind() {
        let p = plan();
        let types = default_appointment_types();
        for v in &p.visits {
            let t = types.iter().find(|t| t.name == v.type_name).expect("a default type");
            assert_eq!(Some(ROOMS[v.room].1), t.room_kind, "{v:?}");
            assert_eq!(PEOPLE[v.vet].position, Position::Veterinarian);
            let s = p.shifts.iter().find(|s| s.person == v.vet && s.date == v.date).expect("on shift");
            let (from, to) = held(v);
            assert!(minutes(s.start) <= from && to <= minutes(s.end), "{v:?} outside {s:?}");
            assert!(!p.time_off.covers(v.vet, v.date));
            assert_eq!(v.start.minute() % 15, 0, "on the quarter hour");
        }
    }

    #[test]
    fn procedures_are_for_surgeons_in_the_morning_and_suit_the_cat() {
        let p = plan();
        let clinic = generate(TODAY);
        let cats: HashMap<PatientId, &CreatePatient> = clinic.patients.iter().map(|(id, c)| (*id, c)).collect();
        let mut procedures = 0;
        for v in p.visits.iter().filter(|v| v.type_name == SPAY || v.type_name == DENTAL) {
            procedures += 1;
            assert!(PEOPLE[v.vet].surgeon, "{v:?}");
            assert!(v.start < hm(12, 0), "{v:?}");
            assert_ne!(v.date.weekday(), Weekday::Saturday);
            if v.type_name == SPAY {
                assert_eq!(cats[&v.patient_id].reproductive_status, Some(ReproductiveStatus::Intact));
            }
        }
        assert!(procedures >= 10, "{procedures} procedures");
        let owners: HashMap<PatientId, ClientId> = cats.iter().map(|(id, c)| (*id, c.client_id)).collect();
        assert!(p.visits.iter().all(|v| owners[&v.patient_id] == v.client_id), "each cat comes with its owner");
    }

    #[test]
    fn a_full_day_has_ten_to_fourteen_appointments_per_vet() {
        let p = plan();
        let mut per_day: Vec<usize> = p
            .shifts
            .iter()
            .filter(|s| PEOPLE[s.person].position == Position::Veterinarian && s.break_minutes == 60)
            .filter(|s| (add_days(TODAY, VISIT_DAYS.0)..=add_days(TODAY, VISIT_DAYS.1)).contains(&s.date))
            .map(|s| p.visits.iter().filter(|v| v.vet == s.person && v.date == s.date).collect::<Vec<_>>())
            // A morning of procedures leaves only the afternoon for exams.
            .filter(|day| day.iter().all(|v| ROOMS[v.room].1 == RoomKind::Exam))
            .map(|day| day.len())
            .collect();
        per_day.sort();
        let mean = per_day.iter().sum::<usize>() as f64 / per_day.len() as f64;
        assert!((10.0..=14.0).contains(&mean), "{mean} on average: {per_day:?}");
        assert!(per_day.len() >= 10, "{per_day:?}");
        let kinds: HashSet<&str> = p.visits.iter().map(|v| v.type_name).collect();
        assert!(kinds.len() >= 9, "{kinds:?}");
    }

    #[test]
    fn status_paths_follow_the_workflow_and_the_clock() {
        use Status::*;
        let d = TODAY;
        let (start, end) = (instant(d, hm(10, 0)), instant(d, hm(10, 30)));
        let now = |h, m| instant(d, hm(h, m));
        let seen = Outcome { fate: Fate::Seen, confirm_hours: 24 };
        let path = |o: &Outcome, n| status_path(o, start, end, n).into_iter().map(|(s, _)| s).collect::<Vec<_>>();
        assert_eq!(path(&seen, now(11, 0)), [Confirmed, CheckedIn, InProgress, Completed]);
        assert_eq!(path(&seen, now(10, 10)), [Confirmed, CheckedIn, InProgress]);
        assert_eq!(path(&seen, now(9, 50)), [Confirmed, CheckedIn]);
        assert_eq!(path(&seen, now(8, 0)), [Confirmed]);
        let unconfirmed = Outcome { confirm_hours: 0, ..seen };
        assert_eq!(path(&unconfirmed, now(11, 0)), [CheckedIn, InProgress, Completed], "scheduled → checked_in");
        let early = instant(add_days(d, -2), hm(9, 0));
        assert_eq!(path(&seen, early), [] as [Status; 0], "confirmed only once the reminder is answered");
        let no_show = Outcome { fate: Fate::NoShow, confirm_hours: 0 };
        assert_eq!(path(&no_show, now(9, 0)), [] as [Status; 0], "not a no-show before the start");
        assert_eq!(path(&no_show, now(12, 0)), [NoShow]);
        let cancelled = Outcome { fate: Fate::Cancelled("Car trouble"), confirm_hours: 48 };
        assert_eq!(path(&cancelled, now(9, 0)), [Confirmed], "future appointments are not cancelled yet");
        assert_eq!(
            status_path(&cancelled, start, end, now(12, 0)),
            [(Confirmed, None), (Cancelled, Some("Car trouble"))]
        );
    }

    #[test]
    fn every_planned_status_path_is_allowed_by_the_workflow() {
        // TODAY is a Sunday, when the clinic is closed: look at a Tuesday through the day.
        let tuesday = date(2026, 3, 17);
        let p = plan_schedule(tuesday, &default_week(), &[], &generate(TODAY).patients);
        let mut finals: HashMap<Status, usize> = HashMap::new();
        for (h, m) in [(8, 5), (9, 40), (11, 20), (14, 50), (16, 35)] {
            let now = instant(tuesday, hm(h, m));
            for v in &p.visits {
                let start = instant(v.date, v.start);
                let end = start.saturating_add(SignedDuration::from_mins(v.minutes.into())).unwrap();
                let mut status = Status::Scheduled;
                for (to, reason) in status_path(&v.outcome, start, end, now) {
                    assert!(status.allowed(start, now).contains(&to), "{status} → {to} for {v:?}");
                    assert_eq!(reason.is_some(), to == Status::Cancelled);
                    status = to;
                }
                if v.date > tuesday {
                    assert!(matches!(status, Status::Scheduled | Status::Confirmed), "{status} in the future");
                }
                *finals.entry(status).or_default() += 1;
            }
        }
        for s in Status::ALL {
            assert!(finals.get(&s).copied().unwrap_or(0) > 0, "no {s} in {finals:?}");
        }
        let missed = finals[&Status::NoShow] + finals[&Status::Cancelled];
        assert!(finals[&Status::Completed] > 5 * missed, "{finals:?}");
    }
}
