//! The demo clinic's year of medical history: for each cat, the visits of the twelve months
//! before the two weeks of appointments, as a cat clinic sees them. Most cats come for their
//! wellness exam on the days their vaccination history (`vaccinations`) says they were
//! vaccinated, so the doses and the visits agree and the due lists stay as they were; cats
//! whose history lapsed did not come; cats with no history on file (paper records) come for a
//! wellness exam on a day of the year, most of them. The chronic ones come more: kidney disease
//! rechecked every three months, hyperthyroid cats from their diagnosis with a T4 check three
//! weeks on and then every three months; some seniors and adults come for their teeth, some
//! adults for a sick visit (ears, cystitis, vomiting), and kittens with an upper respiratory
//! infection. Each visit has its vitals, a SOAP note in the wording of `clinical`, signed by its
//! vet the same day, the problems it found (onsets at the visit, resolutions two weeks on) and
//! the prescriptions it wrote (courses that have ended are completed).
//!
//! Pure and deterministic: [`plan_history`] draws from a stream of its own (a seed derived
//! from [`SEED`]), cat by cat in the clinic's order; `super::seed_history` imports it.

use std::collections::{BTreeSet, HashMap};

use clowder_schemas::PatientId;
use clowder_schemas::patients::CreatePatient;
use clowder_schemas::staff::Position;
use clowder_schemas::visits::VisitType;
use jiff::ToSpan;
use jiff::civil::{Date, Time, Weekday};

use super::clinical::{
    BENAZEPRIL_RX, Finding, GABAPENTIN_RX, MAROPITANT_RX, METHIMAZOLE_RX, Rx, URI_RX, base_weight, round2, wording,
};
use super::random::{SEED, SplitMix64};
use super::staff::PEOPLE;

const HISTORY_SEED: u64 = SEED ^ 0x4157_0A11_7EA2_0016;

/// The history ends this many days before today: the schedule's two weeks are after it.
pub const GAP_DAYS: i64 = 15;
/// And begins this many days before today.
pub const YEAR_DAYS: i64 = 365;

/// One visit of the past year and its record.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryVisit {
    pub patient_id: PatientId,
    /// The clinic's date (never a Sunday) and the local time it opened.
    pub date: Date,
    pub start: Time,
    /// Minutes from opening to completion; the note is signed `sign_after` minutes after that.
    pub minutes: i64,
    pub sign_after: i64,
    /// Index into [`PEOPLE`] (a veterinarian).
    pub vet: usize,
    pub visit_type: VisitType,
    pub reason: &'static str,
    pub finding: Finding,
    pub weight_kg: f64,
    pub temperature_c: f64,
    pub heart_rate: i64,
    pub respiratory_rate: i64,
    pub bcs: i64,
    pub systolic: Option<f64>,
    pub soap: [String; 4],
    /// Problems found: `(name, status, days before the visit it began)`; a `resolved` one
    /// resolved 14 days after its onset.
    pub problems: Vec<(&'static str, &'static str, i64)>,
    /// With the days its course lasts (`None`: ongoing, never completed here).
    pub prescription: Option<(Rx, Option<i64>)>,
    /// The cat was vaccinated at this visit (the doses of `vaccinations` on this date).
    pub vaccinated: bool,
}

/// The day a visit planned on `d` happens: the clinic is closed on Sundays.
pub fn clinic_day(d: Date) -> Date {
    if d.weekday() == Weekday::Sunday { d.tomorrow().unwrap_or(d) } else { d }
}

/// What brings a cat in.
#[derive(Clone, Copy)]
enum Kind {
    Wellness { vaccinated: bool, records: bool },
    Kidney { first: bool },
    Thyroid { first: bool },
    Dental,
    Sick(&'static str, Finding),
    Uri,
}

const SICK: &[(&str, Finding)] = &[
    ("Vomiting for two days, not eating much", Finding::Vomiting),
    ("Scratching at the ears and shaking the head", Finding::Ears),
    ("Urinating outside the litter box", Finding::Cystitis),
    ("Stiff after sleeping, reluctant to jump", Finding::Lame),
];

/// The visits of every cat with a date of birth, cat by cat in the clinic's order and each
/// cat's in date order. `dosed`: the dates each cat was vaccinated (from `vaccinations`);
/// `on_file`: the cats whose vaccination history is on file at all.
pub fn plan_history(
    patients: &[(PatientId, CreatePatient)],
    dosed: &HashMap<PatientId, BTreeSet<Date>>,
    today: Date,
) -> Vec<HistoryVisit> {
    let mut rng = SplitMix64(HISTORY_SEED);
    let vets: Vec<usize> =
        PEOPLE.iter().enumerate().filter(|(_, p)| p.position == Position::Veterinarian).map(|(i, _)| i).collect();
    let Some(first_day) = today.checked_sub(YEAR_DAYS.days()).ok() else { return Vec::new() };
    let Some(last_day) = today.checked_sub(GAP_DAYS.days()).ok() else { return Vec::new() };
    let day = |days_ago: i64| today.checked_sub(days_ago.days()).ok();
    let mut out = Vec::new();
    for (id, cat) in patients {
        let Some(dob) = cat.date_of_birth else { continue };
        let age_now = (today - dob).get_days() as i64;
        let mut plan: Vec<(Date, Kind)> = Vec::new();
        // Wellness: the days the history says it was vaccinated, else (no history on file)
        // most cats once in the year; a cat whose vaccinations lapsed did not come.
        match dosed.get(id) {
            Some(dates) => {
                for d in dates.iter().filter(|d| (first_day..=last_day).contains(*d)) {
                    plan.push((*d, Kind::Wellness { vaccinated: true, records: false }));
                }
            }
            None => {
                if rng.chance(700) {
                    let d = day(GAP_DAYS + rng.below((YEAR_DAYS - GAP_DAYS) as u64) as i64);
                    plan.extend(d.map(|d| (d, Kind::Wellness { vaccinated: false, records: true })));
                }
            }
        }
        let senior = age_now >= 11 * 365;
        let adult = age_now >= 365;
        let roll = rng.below(100);
        if senior && roll < 22 {
            // Kidney disease: rechecks every three months.
            let start = 300 + rng.below(60) as i64;
            for (k, back) in [start, start - 91, start - 182, start - 273].into_iter().enumerate() {
                plan.extend(day(back).map(|d| (d, Kind::Kidney { first: k == 0 })));
            }
        } else if senior && roll < 34 {
            // Hyperthyroidism: diagnosed, T4 three weeks on, then every three months.
            let start = 250 + rng.below(90) as i64;
            for (k, back) in [start, start - 21, start - 112, start - 203].into_iter().enumerate() {
                plan.extend(day(back).map(|d| (d, Kind::Thyroid { first: k == 0 })));
            }
        } else if (senior && roll < 50) || (adult && age_now >= 3 * 365 && roll < 8) {
            plan.extend(day(GAP_DAYS + rng.below((YEAR_DAYS - GAP_DAYS) as u64) as i64).map(|d| (d, Kind::Dental)));
        } else if adult && roll >= 88 {
            let &(reason, finding) = rng.pick(SICK);
            plan.extend(
                day(GAP_DAYS + rng.below((YEAR_DAYS - GAP_DAYS) as u64) as i64)
                    .map(|d| (d, Kind::Sick(reason, finding))),
            );
        }
        // Kittens: an upper respiratory infection at 10 to 14 weeks, for some.
        if rng.chance(300) {
            plan.extend(dob.checked_add((70 + rng.below(28) as i64).days()).ok().map(|d| (d, Kind::Uri)));
        }
        let mut plan: Vec<(Date, Kind)> = plan
            .into_iter()
            .map(|(d, k)| (clinic_day(d), k))
            .filter(|(d, _)| (first_day..=last_day).contains(d) && *d >= dob.checked_add(8.weeks()).unwrap_or(*d))
            .collect();
        plan.sort_by_key(|(d, _)| *d);
        // One visit a day: a wellness exam on a recheck's day is the recheck.
        plan.dedup_by(|later, earlier| {
            if later.0 != earlier.0 {
                return false;
            }
            if let Kind::Wellness { vaccinated: true, .. } = later.1 {
                earlier.1 = merge_vaccinated(earlier.1);
            }
            true
        });
        let vet = *rng.pick(&vets);
        for (date, kind) in plan {
            out.push(visit(&mut rng, *id, dob, date, kind, vet, &vets));
        }
    }
    out
}

/// A visit that also gave the day's vaccines.
fn merge_vaccinated(k: Kind) -> Kind {
    match k {
        Kind::Wellness { records, .. } => Kind::Wellness { vaccinated: true, records },
        other => other,
    }
}

fn visit(
    rng: &mut SplitMix64,
    patient_id: PatientId,
    dob: Date,
    date: Date,
    kind: Kind,
    usual_vet: usize,
    vets: &[usize],
) -> HistoryVisit {
    let age_days = (date - dob).get_days() as i64;
    let senior = age_days >= 11 * 365;
    let (visit_type, reason, finding) = match kind {
        Kind::Wellness { .. } if age_days < 200 => {
            (VisitType::Wellness, "Kitten vaccines and check-up", Finding::Healthy)
        }
        Kind::Wellness { .. } if senior => (VisitType::Wellness, "Senior wellness exam and vaccines", Finding::Healthy),
        Kind::Wellness { .. } => (VisitType::Wellness, "Annual wellness exam and vaccines", Finding::Healthy),
        Kind::Kidney { first: true } => (VisitType::Sick, "Drinking more and losing weight", Finding::Kidney),
        Kind::Kidney { first: false } => {
            (VisitType::FollowUp, "CKD recheck: bloodwork and blood pressure", Finding::Kidney)
        }
        Kind::Thyroid { first: true } => (VisitType::Sick, "Weight loss despite a big appetite", Finding::Hyperthyroid),
        Kind::Thyroid { first: false } => (VisitType::FollowUp, "T4 recheck on methimazole", Finding::Hyperthyroid),
        Kind::Dental => (VisitType::Dental, "Dental: bad breath, dropping food", Finding::Dental),
        Kind::Sick(reason, finding) => (VisitType::Sick, reason, finding),
        Kind::Uri => (VisitType::Sick, "Sneezing and runny eyes", Finding::Uri),
    };
    let vaccinated = matches!(kind, Kind::Wellness { vaccinated: true, .. });
    let base = base_weight(patient_id, Some(age_days));
    let sick = matches!(finding, Finding::Hyperthyroid | Finding::Kidney);
    let weight_kg = round2(base * if sick { 0.9 } else { 1.0 } + rng.below(20) as f64 * 0.01 - 0.1);
    let fever = finding == Finding::Uri && rng.chance(500);
    let temperature_c = if fever { 39.6 + rng.below(5) as f64 * 0.1 } else { 38.2 + rng.below(9) as f64 * 0.1 };
    let heart_rate =
        if finding == Finding::Hyperthyroid { 230 + rng.below(30) as i64 } else { 160 + rng.below(50) as i64 };
    let respiratory_rate = 24 + rng.below(16) as i64;
    let bcs = if sick { 4 } else { 5 + rng.below(3) as i64 };
    let systolic = senior.then(|| 130.0 + rng.below(30) as f64);
    let (s, o, a, p) = wording(finding);
    let plan = match kind {
        Kind::Wellness { records: true, .. } => {
            "Vaccination history from the previous clinic requested; vaccines per protocol once it is on file. \
             Continue a measured-portion diet and daily play. Next wellness exam in 12 months."
        }
        Kind::Thyroid { first: false } => {
            "T4 in the normal range on methimazole 2.5 mg q12h; continue. Recheck T4, creatinine and blood pressure \
             in 3 months."
        }
        _ => p,
    };
    let soap = [
        format!("Presented for: {reason}. {s}"),
        format!(
            "T {temperature_c:.1} °C, HR {heart_rate}/min, RR {respiratory_rate}/min, weight {weight_kg:.2} kg, \
             BCS {bcs}/9. {o}"
        ),
        a.to_owned(),
        plan.to_owned(),
    ];
    let problems = match kind {
        Kind::Kidney { first: true } => vec![("Chronic kidney disease, IRIS stage 2", "chronic", 0)],
        Kind::Thyroid { first: true } => vec![("Hyperthyroidism", "chronic", 0)],
        Kind::Dental => vec![("Periodontal disease with tooth resorption", "chronic", 90)],
        Kind::Uri => vec![("Upper respiratory infection (resolved)", "resolved", 4)],
        Kind::Sick(_, Finding::Ears) => vec![("Otitis externa (ear mites)", "resolved", 7)],
        Kind::Sick(_, Finding::Cystitis) => vec![("Feline idiopathic cystitis", "resolved", 3)],
        Kind::Sick(_, Finding::Lame) => vec![("Degenerative joint disease", "chronic", 180)],
        _ => Vec::new(),
    };
    // Courses end: a month of tablets between rechecks, a week of antibiotics, a few days of
    // gabapentin, one injection.
    let prescription = match kind {
        Kind::Kidney { .. } => rng.chance(500).then_some((BENAZEPRIL_RX, Some(30))),
        Kind::Thyroid { .. } => Some((METHIMAZOLE_RX, Some(30))),
        Kind::Uri => Some((URI_RX, Some(7))),
        Kind::Dental | Kind::Sick(_, Finding::Cystitis | Finding::Lame) => Some((GABAPENTIN_RX, Some(5))),
        Kind::Sick(_, Finding::Vomiting) => Some((MAROPITANT_RX, Some(1))),
        _ => None,
    };
    // A small kitten's dose is less than half a tablet: nothing to give in that form.
    let prescription = prescription
        .filter(|((_, form, strength, per_kg, ..), _)| *form != "tablet" || per_kg * weight_kg >= strength / 2.0);
    // Mostly the cat's usual vet.
    let vet = if rng.chance(750) { usual_vet } else { *rng.pick(vets) };
    let start = Time::constant(8, 30, 0, 0).saturating_add((20 * rng.below(24) as i64).minutes());
    HistoryVisit {
        patient_id,
        date,
        start,
        minutes: 20 + rng.below(25) as i64,
        sign_after: 10 + rng.below(300) as i64,
        vet,
        visit_type,
        reason,
        finding,
        weight_kg,
        temperature_c,
        heart_rate,
        respiratory_rate,
        bcs,
        systolic,
        soap,
        problems,
        prescription,
        vaccinated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::clients::generate;
    use crate::demo::tests::TODAY;
    use crate::demo::vaccinations::dose_dates;

    fn history() -> Vec<HistoryVisit> {
        let clinic = generate(TODAY);
        let dosed = dose_dates(&super::super::vaccinations::plan_vaccinations(&clinic.patients, TODAY));
        plan_history(&clinic.patients, &dosed, TODAY)
    }

    #[test]
    fn a_year_of_visits_as_a_cat_clinic_sees_them() {
        let h = history();
        assert_eq!(h, history(), "deterministic");
        let first = TODAY.checked_sub(YEAR_DAYS.days()).unwrap();
        let last = TODAY.checked_sub(GAP_DAYS.days()).unwrap();
        assert!(h.len() > 2_000, "{}", h.len());
        for v in &h {
            assert!((first..=last).contains(&v.date) && v.date.weekday() != Weekday::Sunday, "{v:?}");
            assert!((0.3..=8.0).contains(&v.weight_kg), "{v:?}");
            assert_eq!(PEOPLE[v.vet].position, Position::Veterinarian);
        }
        let count = |f: &dyn Fn(&HistoryVisit) -> bool| h.iter().filter(|v| f(v)).count();
        assert!(count(&|v| v.visit_type == VisitType::Wellness) > h.len() / 2);
        assert!(count(&|v| v.vaccinated) > 500);
        // Kidney cats come back every three months; hyperthyroid ones too.
        let ckd: HashMap<PatientId, usize> =
            h.iter().filter(|v| v.finding == Finding::Kidney).fold(HashMap::new(), |mut m, v| {
                *m.entry(v.patient_id).or_default() += 1;
                m
            });
        assert!(ckd.values().filter(|n| **n >= 4).count() > 20, "{ckd:?}");
        assert!(count(&|v| v.finding == Finding::Hyperthyroid) > 40);
        assert!(count(&|v| v.finding == Finding::Dental) > 40);
        assert!(count(&|v| v.finding == Finding::Uri) > 10);
        // One visit a cat a day, in date order.
        for w in h.windows(2) {
            assert!(w[0].patient_id != w[1].patient_id || w[0].date < w[1].date, "{w:?}");
        }
    }
}
