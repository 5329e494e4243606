//! Demo vaccination histories: each demo cat's doses from its kitten series on, following the
//! AAHA/AAFP 2020 schedule (FVRCP at 9, 13 and 17 weeks, at 6 months, then every 3 years;
//! rabies at 13 weeks, a year later, then per a 1- or 3-year label; FeLV at 9 and 13 weeks and
//! a year later, then yearly for the fifth of cats recorded at risk), until the owner lapsed:
//! most cats are up to date, some are due within weeks, some overdue; a few owners declined a
//! vaccine. Half the cats have a history on file. Pure and deterministic, from a stream of its own (so nothing else generated
//! changes); `seed` writes the entries through the vaccinations service.

use clowder_schemas::ids::PatientId;
use clowder_schemas::patients::CreatePatient;
use clowder_schemas::vaccinations::{AssessRisk, CreateVaccination, DeclineVaccination, Route};
use jiff::ToSpan;
use jiff::civil::Date;

use super::random::{SEED, SplitMix64};

const VACCINATION_SEED: u64 = SEED ^ 0x7ACC_1A7E_7ACC_1A7E;

/// One entry to record.
#[derive(Debug, Clone)]
pub enum DemoEntry {
    Dose(CreateVaccination),
    Declined(DeclineVaccination),
    Risk(PatientId, AssessRisk),
}

/// (product, manufacturer, label years) per vaccine.
const FVRCP: &[(&str, &str, Option<u8>)] = &[
    ("Purevax Feline 3", "Boehringer Ingelheim", None),
    ("Fel-O-Vax PCT", "Elanco", None),
    ("Feline Focus 3", "Merck Animal Health", None),
];
const RABIES: &[(&str, &str, Option<u8>)] = &[
    ("Purevax Feline Rabies", "Boehringer Ingelheim", Some(1)),
    ("Purevax Feline Rabies 3 YR", "Boehringer Ingelheim", Some(3)),
    ("Imrab 3", "Boehringer Ingelheim", Some(3)),
];
const FELV: &[(&str, &str, Option<u8>)] = &[
    ("Purevax Recombinant FeLV", "Boehringer Ingelheim", None),
    ("Nobivac Feline 2-FeLV", "Merck Animal Health", None),
];

/// The dates of a schedule: the series at these ages in weeks, then a booster `booster`
/// months after the last, then every `every` months (none when `None`), up to `until`.
fn schedule(dob: Date, weeks: &[i64], booster: i64, every: Option<i64>, until: Date) -> Vec<Date> {
    let mut out: Vec<Date> = weeks.iter().filter_map(|w| dob.checked_add(w.weeks()).ok()).collect();
    let Some(mut last) = out.last().copied() else { return out };
    if let Ok(b) = dob.checked_add(booster.months()) {
        out.push(b.max(last));
        last = b.max(last);
    }
    if let Some(every) = every {
        while let Ok(next) = last.checked_add(every.months()) {
            if next > until {
                break;
            }
            out.push(next);
            last = next;
        }
    }
    out.retain(|d| *d <= until);
    out
}

fn dose(
    rng: &mut SplitMix64,
    patient: PatientId,
    vaccine: &str,
    on: Date,
    products: &[(&str, &str, Option<u8>)],
    site: &str,
    route: Route,
) -> CreateVaccination {
    let &(product, manufacturer, label_years) = rng.pick(products);
    CreateVaccination {
        patient_id: patient,
        visit_id: None,
        vaccine: vaccine.into(),
        product: product.into(),
        manufacturer: Some(manufacturer.into()),
        lot: format!("{}{:05}", ["A", "B", "K", "R"][rng.below(4) as usize], rng.below(100_000)),
        serial: None,
        expiry: on.checked_add(18.months()).ok(),
        given_on: Some(on),
        route: Some(route),
        site: Some(site.into()),
        given_by: None,
        label_years,
        note: None,
    }
}

/// The days each cat was vaccinated, for every cat whose history is on file (a cat with
/// entries but no dose has an empty set): the year of visits (`history`) puts the wellness
/// exams on those days.
pub fn dose_dates(entries: &[DemoEntry]) -> std::collections::HashMap<PatientId, std::collections::BTreeSet<Date>> {
    let mut out: std::collections::HashMap<PatientId, std::collections::BTreeSet<Date>> = Default::default();
    for e in entries {
        match e {
            DemoEntry::Dose(d) => {
                out.entry(d.patient_id).or_default().extend(d.given_on);
            }
            DemoEntry::Declined(d) => {
                out.entry(d.patient_id).or_default();
            }
            DemoEntry::Risk(id, _) => {
                out.entry(*id).or_default();
            }
        }
    }
    out
}

/// Every entry of every cat with a date of birth, in the order to record them.
pub fn plan_vaccinations(patients: &[(PatientId, CreatePatient)], today: Date) -> Vec<DemoEntry> {
    let mut rng = SplitMix64(VACCINATION_SEED);
    let mut out = Vec::new();
    for (id, cat) in patients {
        let Some(dob) = cat.date_of_birth else { continue };
        // Half the cats have their history on file (the rest came with paper records): enough
        // for every screen, and seeding stays quick.
        if !rng.chance(500) {
            continue;
        }
        // Most owners keep up; a third lapsed some time in the last three years.
        let until =
            if rng.chance(330) { today.checked_sub((rng.below(1_100) as i64).days()).unwrap_or(today) } else { today };
        let at_risk = rng.chance(200);
        // AAFP: FVRCP in the right forelimb, rabies in the right hind limb, FeLV in the left
        // hind limb, low on the limb.
        for on in schedule(dob, &[9, 13, 17], 6, Some(36), until) {
            out.push(DemoEntry::Dose(dose(
                &mut rng,
                *id,
                "fvrcp",
                on,
                FVRCP,
                "right forelimb, distal",
                Route::Subcutaneous,
            )));
        }
        // Rabies: after the first booster each interval is the label of the dose before it.
        let label = |rng: &mut SplitMix64| if rng.chance(600) { 3u8 } else { 1 };
        let mut rabies: Vec<(Date, u8)> =
            schedule(dob, &[13], 15, None, until).into_iter().map(|d| (d, label(&mut rng))).collect();
        while let [_, .., (last, years)] = rabies.as_slice() {
            let Ok(next) = last.checked_add((12 * i64::from(*years)).months()) else { break };
            if next > until || rabies.len() > 20 {
                break;
            }
            rabies.push((next, label(&mut rng)));
        }
        for (on, years) in rabies {
            let products: Vec<_> = RABIES.iter().copied().filter(|p| p.2 == Some(years)).collect();
            out.push(DemoEntry::Dose(dose(
                &mut rng,
                *id,
                "rabies",
                on,
                &products,
                "right hind limb, distal",
                Route::Subcutaneous,
            )));
        }
        let felv = schedule(dob, &[9, 13], 15, at_risk.then_some(12), until);
        for on in felv {
            out.push(DemoEntry::Dose(dose(
                &mut rng,
                *id,
                "felv",
                on,
                FELV,
                "left hind limb, distal",
                Route::Subcutaneous,
            )));
        }
        if at_risk {
            let note = rng.text(&["goes outdoors", "lives with a FeLV-positive cat", "indoor-outdoor, hunts"]);
            out.push(DemoEntry::Risk(*id, AssessRisk { vaccine: "felv".into(), at_risk: true, note: Some(note) }));
        }
        if until < today && until >= dob && rng.chance(150) {
            out.push(DemoEntry::Declined(DeclineVaccination {
                patient_id: *id,
                visit_id: None,
                vaccine: "rabies".into(),
                reason: rng.text(&[
                    "indoor only; owner declines",
                    "owner wants to wait until the next visit",
                    "previous reaction; vet to discuss",
                ]),
                declined_on: Some(until),
            }));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use clowder_schemas::vaccinations::{Entry, Vaccination, due_list};
    use clowder_schemas::vaccine_protocol::VaccineProtocol;

    use super::*;
    use crate::demo::clients::generate;
    use crate::demo::tests::TODAY;

    #[test]
    fn the_histories_are_valid_deterministic_and_leave_cats_up_to_date_due_and_overdue() {
        let clinic = generate(TODAY);
        let plan = plan_vaccinations(&clinic.patients, TODAY);
        let again = plan_vaccinations(&clinic.patients, TODAY);
        assert_eq!(format!("{plan:?}"), format!("{again:?}"));
        let (_, body) = clowder_schemas::clinical_facts::fact_set("vaccine_protocol").unwrap().first_version().unwrap();
        let p: VaccineProtocol = serde_json::from_value(body).unwrap();
        let mut by_cat: std::collections::BTreeMap<PatientId, Vec<Vaccination>> = Default::default();
        for (n, e) in plan.iter().enumerate() {
            let draft = match e {
                DemoEntry::Dose(d) => d.validate(TODAY).unwrap(),
                DemoEntry::Declined(d) => d.validate(TODAY).unwrap(),
                DemoEntry::Risk(id, r) => r.validate(*id).unwrap(),
            };
            let dob = clinic.patients.iter().find(|(id, _)| *id == draft.patient_id).unwrap().1.date_of_birth.unwrap();
            if let Entry::Dose(d) = &draft.entry {
                assert!(d.given_on >= dob && d.given_on <= TODAY);
            }
            let at = jiff::Timestamp::from_second(1_000 + n as i64).unwrap();
            by_cat.entry(draft.patient_id).or_default().push(Vaccination {
                id: clowder_schemas::ids::VaccinationId::from_u128(n as u128 + 1),
                patient_id: draft.patient_id,
                visit_id: None,
                vaccine: draft.vaccine,
                entry: draft.entry,
                reactions: Vec::new(),
                protocol_version: 1,
                created_at: at,
                updated_at: at,
                created_by: None,
            });
        }
        let mut statuses = std::collections::BTreeMap::new();
        for (id, entries) in &by_cat {
            let dob = clinic.patients.iter().find(|(p, _)| p == id).unwrap().1.date_of_birth;
            for i in due_list(&p, 1, dob, entries, TODAY).into_iter().filter(|i| i.vaccine == "fvrcp") {
                let soon = i.due_on.is_some_and(|d| d >= TODAY && d <= TODAY.checked_add(30.days()).unwrap());
                *statuses.entry((format!("{:?}", i.status), soon)).or_insert(0) += 1;
            }
        }
        assert!(statuses.get(&("Overdue".to_owned(), false)).is_some_and(|n| *n > 10), "{statuses:?}");
        assert!(statuses.get(&("Due".to_owned(), true)).is_some_and(|n| *n > 0), "{statuses:?}");
        assert!(statuses.get(&("Due".to_owned(), false)).is_some_and(|n| *n > 10), "{statuses:?}");
    }
}
