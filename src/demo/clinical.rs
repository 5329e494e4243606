//! The demo clinic's medical record: for each appointment seen (completed, or under way), its
//! visit with vitals, a SOAP note in cat-clinic wording (signed, a few with an addendum, a few
//! recent ones left unsigned so the vet's board shows them), problems on the cat's list and
//! prescriptions that pass the safety checks; and, for each cat seen, its weights over the
//! past year (vitals dated when they were taken), so the weight chart has a trend.
//!
//! Pure and deterministic like the other demo modules: [`plan_clinical`] draws from a stream
//! of its own (a seed derived from [`SEED`]) in the schedule's order, so it never changes what
//! is already generated; `super::seed_clinical` does the I/O.
//!
//! The year before those two weeks is `history`'s: visits of the past, imported with their own
//! times (`Visits::import`).

use std::collections::HashSet;

use clowder_schemas::PatientId;
use clowder_schemas::patients::CreatePatient;
use jiff::civil::Date;

use super::random::{SEED, SplitMix64};
use super::visits::PlannedVisit;

/// What a visit found, chosen from the appointment's reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finding {
    Healthy,
    Uri,
    Dental,
    Hyperthyroid,
    Kidney,
    Hypertension,
    Vomiting,
    Ears,
    Cystitis,
    Lame,
}

/// A prescription as the demo writes it: `(drug, form, strength, dose per kg, route,
/// frequency, quantity)`, each in the feline range of the seeded formulary for a 3–6 kg cat,
/// with no interacting pair (no NSAID is prescribed, so kidney disease never needs an
/// override).
pub type Rx = (&'static str, &'static str, f64, f64, &'static str, &'static str, f64);

/// How the note ends up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    Signed,
    /// Signed, then corrected by an addendum.
    Addendum(&'static str),
    /// Left as a draft (today's, or a few recent ones the vet has not signed yet).
    Unsigned,
}

/// The medical record of one visit.
#[derive(Debug, Clone, PartialEq)]
pub struct ClinicalVisit {
    /// Index into the schedule plan's visits.
    pub visit: usize,
    pub patient_id: PatientId,
    pub finding: Finding,
    pub weight_kg: f64,
    pub temperature_c: f64,
    pub heart_rate: i64,
    pub respiratory_rate: i64,
    /// BCS on the 9-point scale.
    pub bcs: i64,
    /// Systolic pressure (Doppler), measured for seniors.
    pub systolic: Option<f64>,
    pub soap: [String; 4],
    pub signing: Signing,
    /// Problems added at this visit: `(name, status, days before the visit it began)`.
    pub problems: Vec<(&'static str, &'static str, i64)>,
    pub prescription: Option<Rx>,
    /// Earlier weights of the cat: `(days before the visit, kg)`, oldest first.
    pub history: Vec<(i64, f64)>,
}

pub(super) const URI_RX: Rx = ("amoxicillin-clavulanate", "tablet", 62.5, 12.5, "oral", "q12h", 14.0);
pub(super) const GABAPENTIN_RX: Rx = ("gabapentin", "solution", 50.0, 10.0, "oral", "q12h", 6.0);
pub(super) const METHIMAZOLE_RX: Rx = ("methimazole", "tablet", 2.5, 0.5, "oral", "q12h", 60.0);
pub(super) const BENAZEPRIL_RX: Rx = ("benazepril", "tablet", 2.5, 0.5, "oral", "q24h", 30.0);
pub(super) const AMLODIPINE_RX: Rx = ("amlodipine", "tablet", 1.25, 0.25, "oral", "q24h", 30.0);
pub(super) const MAROPITANT_RX: Rx = ("maropitant", "injectable", 10.0, 1.0, "sc", "q24h", 1.0);

const ADDENDA: &[&str] = &[
    "Bloodwork back: creatinine 2.1 mg/dL, SDMA 19 µg/dL, USG 1.022 – consistent with IRIS stage 2. Owner called.",
    "Correction: weight in the objective is 4.3 kg, not 4.8 kg (typo). Owner phoned: eating well since the visit.",
    "Owner reports by phone that the cat is much brighter and eating. Continue the plan; recheck as booked.",
    "Urinalysis: no crystals, no bacteria on sediment; culture sent. Plan unchanged.",
];

pub(super) fn finding_of(reason: &str, senior: bool) -> Finding {
    let r = reason.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| r.contains(w));
    if has(&["sneez", "upper respiratory", "squinting", "eye"]) {
        Finding::Uri
    } else if has(&["bad breath", "dental", "dropping food", "extraction"]) {
        Finding::Dental
    } else if has(&["t4", "weight loss despite", "thinner"]) {
        Finding::Hyperthyroid
    } else if has(&["blood pressure", "amlodipine"]) {
        Finding::Hypertension
    } else if has(&["drinking", "ckd", "kidney"]) {
        Finding::Kidney
    } else if has(&["vomit", "not eating", "eating less", "diarrh"]) {
        Finding::Vomiting
    } else if has(&["ear"]) {
        Finding::Ears
    } else if has(&["urinat", "cystitis", "litter"]) {
        Finding::Cystitis
    } else if has(&["limp", "stiff", "mobility"]) {
        Finding::Lame
    } else if senior && has(&["senior", "bloodwork"]) {
        Finding::Kidney
    } else {
        Finding::Healthy
    }
}

/// S, O (after the vitals), A and P for a finding.
pub(super) fn wording(f: Finding) -> (&'static str, &'static str, &'static str, &'static str) {
    match f {
        Finding::Healthy => (
            "Doing well at home. Eating and drinking normally, using the litter box normally, no vomiting or coughing.",
            "BAR. Eyes, ears and nose clean. Oral exam: mild tartar, no resorptive lesions seen. Heart: no murmur or \
             gallop. Lungs clear. Abdomen soft, non-painful; kidneys normal size. Coat good.",
            "Healthy cat.",
            "Vaccines per protocol. Continue parasite prevention and a measured-portion diet. Play with a wand toy \
             daily. Next wellness exam in 12 months.",
        ),
        Finding::Uri => (
            "Sneezing, clear to cloudy nasal discharge and watery eyes for 4 days. Eating a little less. Indoor cat; \
             new foster kitten in the house.",
            "Serous ocular and mucopurulent nasal discharge, mild conjunctivitis OU, no corneal ulcer (fluorescein \
             negative). Submandibular lymph nodes mildly enlarged. Lungs clear.",
            "Upper respiratory infection, feline herpesvirus-1 most likely, secondary bacterial rhinitis.",
            "Amoxicillin-clavulanate 7 days. Steam the bathroom twice a day, warm smelly food. Keep the kitten \
             apart. Recheck in 7–10 days or sooner if not eating.",
        ),
        Finding::Dental => (
            "Bad breath for a few months; drops food and chews on one side.",
            "Grade 3 periodontal disease with gingivitis; type 1 resorptive lesions suspected at 307 and 407. \
             Otherwise normal exam.",
            "Periodontal disease with tooth resorption.",
            "Pre-anaesthetic bloodwork today. Book a dental cleaning with full-mouth radiographs and extractions as \
             needed. Gabapentin before the visit to lower stress.",
        ),
        Finding::Hyperthyroid => (
            "Losing weight despite a ravenous appetite; vocal at night; occasional vomiting.",
            "Thin, unkempt coat. Palpable thyroid nodule (left). Tachycardic, grade II/VI parasternal murmur. \
             Kidneys small-normal.",
            "Hyperthyroidism (total T4 elevated), monitor renal values once euthyroid.",
            "Methimazole 2.5 mg q12h. Recheck T4, creatinine and blood pressure in 3 weeks. Discussed radioiodine.",
        ),
        Finding::Kidney => (
            "Drinking and urinating more; a little less interest in dry food. No vomiting.",
            "Mild dehydration (about 5 %). Kidneys small and irregular. Mild muscle loss over the spine.",
            "Chronic kidney disease, IRIS stage 2 (creatinine 2.2 mg/dL, SDMA 20 µg/dL), non-proteinuric so far.",
            "Renal diet, gradual change. Water fountain and wet food. Benazepril if proteinuric on UPC. Recheck \
             bloodwork, UPC and blood pressure in 3 months.",
        ),
        Finding::Hypertension => (
            "Recheck of blood pressure on treatment. Owner gives the tablet in a treat, no missed doses.",
            "Fundic exam: no retinal haemorrhage or detachment. Heart: soft systolic murmur, unchanged.",
            "Systemic hypertension secondary to CKD.",
            "Continue amlodipine 0.625 mg q24h. Recheck the pressure in 4 weeks; target systolic below 160 mmHg.",
        ),
        Finding::Vomiting => (
            "Vomiting food and hairballs 2–3 times a day for 2 days; ate a little this morning. No access to lilies \
             or string that the owner knows of.",
            "Quiet but alert. Mild cranial abdominal discomfort, no foreign body palpable, no string under the \
             tongue. Hydration adequate.",
            "Acute gastritis, dietary or hairball related; foreign body less likely.",
            "Maropitant injection given. Bland diet in small meals for 3 days. Call at once if vomiting continues, \
             the cat stops eating, or is lethargic.",
        ),
        Finding::Ears => (
            "Scratching at the ears and shaking the head for a week.",
            "Dark brown waxy debris in both ear canals; cytology: many mites (Otodectes), no yeast.",
            "Otitis externa due to ear mites.",
            "Ear cleaning done. Selamectin spot-on today and in 30 days for all cats in the home. Recheck in 4 weeks.",
        ),
        Finding::Cystitis => (
            "Urinating small amounts outside the box, straining once. Recent move to a new flat.",
            "Bladder small, mildly painful, not blocked. Urinalysis: haematuria, no crystals, no bacteria.",
            "Feline idiopathic cystitis, stress related.",
            "Gabapentin for 5 days, more water (wet food, fountain), one more litter box, Feliway diffuser. \
             Emergency if straining with no urine.",
        ),
        Finding::Lame => (
            "Reluctant to jump on the sofa; stiff after sleeping. Still eats well.",
            "Reduced range of motion and crepitus in both elbows and the left hip; otherwise normal.",
            "Degenerative joint disease (osteoarthritis).",
            "Ramps and low-sided litter box; weight control. Gabapentin at night for 2 weeks, then reassess. NSAID \
             only once kidney values are known.",
        ),
    }
}

fn prescription(f: Finding, rng: &mut SplitMix64) -> Option<Rx> {
    match f {
        Finding::Uri => Some(URI_RX),
        Finding::Dental | Finding::Cystitis | Finding::Lame => Some(GABAPENTIN_RX),
        Finding::Hyperthyroid => Some(METHIMAZOLE_RX),
        Finding::Kidney => rng.chance(400).then_some(BENAZEPRIL_RX),
        Finding::Hypertension => Some(AMLODIPINE_RX),
        Finding::Vomiting => Some(MAROPITANT_RX),
        Finding::Healthy | Finding::Ears => None,
    }
}

fn problems(f: Finding, first_visit: bool, senior: bool) -> Vec<(&'static str, &'static str, i64)> {
    let mut out = match f {
        Finding::Uri => vec![("Upper respiratory infection (FHV-1 suspected)", "active", 4)],
        Finding::Dental => vec![("Periodontal disease with tooth resorption", "chronic", 120)],
        Finding::Hyperthyroid => vec![("Hyperthyroidism", "chronic", 60)],
        Finding::Kidney => vec![("Chronic kidney disease, IRIS stage 2", "chronic", 200)],
        Finding::Hypertension => {
            vec![("Chronic kidney disease, IRIS stage 2", "chronic", 300), ("Systemic hypertension", "active", 40)]
        }
        Finding::Ears => vec![("Otitis externa (ear mites)", "active", 7)],
        Finding::Cystitis => vec![("Feline idiopathic cystitis", "active", 3)],
        Finding::Lame => vec![("Degenerative joint disease", "chronic", 180)],
        Finding::Healthy | Finding::Vomiting => Vec::new(),
    };
    // A cat's history: a resolved URI from its younger days, dental disease in many seniors.
    if first_visit && !senior && f == Finding::Healthy {
        out.push(("Upper respiratory infection (resolved)", "resolved", 330));
    }
    if first_visit && senior && f != Finding::Dental {
        out.push(("Dental disease, grade 2", "chronic", 400));
    }
    out
}

/// A cat's usual weight: 3.4–5.8 kg for an adult from its id, less for kittens.
pub(super) fn base_weight(id: PatientId, age_days: Option<i64>) -> f64 {
    let h = (id.as_u128() % 25) as f64;
    let adult = 3.4 + h * 0.1;
    match age_days {
        Some(d) if d < 365 => (0.4 + d as f64 * 0.011).min(adult),
        _ => adult,
    }
}

pub(super) fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// The medical record of each seen visit (`seen[i]` true), in the plan's order. `today` is
/// the clinic's date: visits of today and of the last three days are the ones that may stay
/// unsigned. `listed`: problems already on the cats' lists (the year of history's chronic
/// ones), not added again.
pub fn plan_clinical(
    visits: &[PlannedVisit],
    seen: &[bool],
    patients: &[(PatientId, CreatePatient)],
    today: Date,
    listed: &HashSet<(PatientId, &'static str)>,
) -> Vec<ClinicalVisit> {
    let mut rng = SplitMix64(SEED ^ 0x0C11_41CA_1515_0015);
    let mut met: HashSet<PatientId> = HashSet::new();
    let mut listed = listed.clone();
    let mut out = Vec::new();
    for (i, v) in visits.iter().enumerate() {
        if !seen.get(i).copied().unwrap_or(false) {
            continue;
        }
        let cat = patients.iter().find(|(id, _)| *id == v.patient_id).map(|(_, c)| c);
        let age_days = cat.and_then(|c| c.date_of_birth).and_then(|dob| (v.date - dob).get_days().into());
        let age_days: Option<i64> = age_days.map(i64::from);
        let senior = age_days.is_some_and(|d| d >= 11 * 365);
        let finding = finding_of(&v.reason, senior);
        let first = met.insert(v.patient_id);
        let base = base_weight(v.patient_id, age_days);
        // Losing weight when ill in the way these diseases do.
        let sick = matches!(finding, Finding::Hyperthyroid | Finding::Kidney | Finding::Hypertension);
        let weight_kg = round2(base * if sick { 0.88 } else { 1.0 } + rng.below(20) as f64 * 0.01 - 0.1);
        let fever = finding == Finding::Uri && rng.chance(600);
        let temperature_c = if fever { 39.6 + rng.below(5) as f64 * 0.1 } else { 38.2 + rng.below(9) as f64 * 0.1 };
        let heart_rate = if finding == Finding::Hyperthyroid { 250 } else { 160 + rng.below(50) as i64 };
        let respiratory_rate = 24 + rng.below(16) as i64;
        let bcs = if sick { 4 } else { 5 + rng.below(3) as i64 };
        let systolic =
            senior.then(|| if finding == Finding::Hypertension { 172.0 } else { 130.0 + rng.below(25) as f64 });
        let (s, o, a, p) = wording(finding);
        let soap = [
            format!("Presented for: {}. {s}", v.reason),
            format!(
                "T {temperature_c:.1} °C, HR {heart_rate}/min, RR {respiratory_rate}/min, weight {weight_kg:.2} kg, \
                 BCS {bcs}/9. {o}"
            ),
            a.to_owned(),
            p.to_owned(),
        ];
        let days_ago = (today - v.date).get_days();
        let signing = if days_ago == 0 || (days_ago <= 3 && rng.chance(250)) {
            Signing::Unsigned
        } else if rng.chance(120) {
            Signing::Addendum(ADDENDA[rng.below(ADDENDA.len() as u64) as usize])
        } else {
            Signing::Signed
        };
        // A problem already on the cat's list is not added again.
        let problems: Vec<_> =
            problems(finding, first, senior).into_iter().filter(|p| listed.insert((v.patient_id, p.0))).collect();
        let prescription = prescription(finding, &mut rng);
        // Weights over the past year, first visit of an adult only: a sick cat was heavier.
        let history = if first && age_days.is_some_and(|d| d > 500) {
            [330, 240, 150, 60]
                .iter()
                .map(|&d| {
                    let drift = if sick { 1.0 + 0.12 * d as f64 / 330.0 } else { 1.0 };
                    (d, round2(base * drift + rng.below(16) as f64 * 0.01 - 0.08))
                })
                .collect()
        } else {
            Vec::new()
        };
        out.push(ClinicalVisit {
            visit: i,
            patient_id: v.patient_id,
            finding,
            weight_kg,
            temperature_c,
            heart_rate,
            respiratory_rate,
            bcs,
            systolic,
            soap,
            signing,
            problems,
            prescription,
            history,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::clients::generate;
    use crate::demo::tests::{TODAY, plan};

    fn clinical() -> Vec<ClinicalVisit> {
        let p = plan();
        let seen: Vec<bool> = p.visits.iter().map(|v| v.date <= TODAY).collect();
        plan_clinical(&p.visits, &seen, &generate(TODAY).patients, TODAY, &HashSet::new())
    }

    #[test]
    fn every_seen_visit_has_a_plausible_record() {
        let c = clinical();
        assert!(c.len() > 50, "{}", c.len());
        for v in &c {
            assert!((0.4..=8.0).contains(&v.weight_kg), "{v:?}");
            assert!((38.0..=40.5).contains(&v.temperature_c), "{v:?}");
            assert!(v.soap.iter().all(|s| !s.is_empty()));
        }
        // Findings vary, and the note's states all occur.
        let kinds: HashSet<String> = c.iter().map(|v| format!("{:?}", v.finding)).collect();
        assert!(kinds.len() >= 5, "{kinds:?}");
        assert!(c.iter().any(|v| v.signing == Signing::Unsigned));
        assert!(c.iter().any(|v| matches!(v.signing, Signing::Addendum(_))));
        assert!(c.iter().filter(|v| v.signing == Signing::Signed).count() > c.len() / 2);
        assert!(c.iter().any(|v| v.prescription.is_some()));
        assert!(c.iter().any(|v| v.problems.iter().any(|p| p.1 == "resolved")));
        assert!(c.iter().any(|v| v.problems.iter().any(|p| p.0.contains("kidney"))));
        assert!(c.iter().any(|v| v.history.len() == 4));
    }

    #[test]
    fn it_is_deterministic() {
        assert_eq!(clinical(), clinical());
    }

    #[test]
    fn no_prescription_is_an_nsaid_or_a_pair_that_interacts_badly() {
        for rx in [URI_RX, GABAPENTIN_RX, METHIMAZOLE_RX, BENAZEPRIL_RX, AMLODIPINE_RX, MAROPITANT_RX] {
            assert!(!["meloxicam", "robenacoxib", "prednisolone", "buprenorphine"].contains(&rx.0));
        }
    }
}
