//! The formulary and the drug-interaction pairs as clinical fact sets (versioned data with
//! their sources, `crate::clinical_facts`), and the dose arithmetic a prescription shows:
//! dose = dose per kg × weight; volume = dose ÷ concentration, or a number of tablets rounded
//! to the fraction the tablet can be split into.
//!
//! A fact set rather than a record kind: the formulary is reference data a clinic reviews and
//! republishes as a whole (with the citation it follows), and a prescription names the
//! version it was checked against; drugs have no life of their own (no per-drug workflow).
//!
//! Rounding (documented in docs/clinical.md): the dose is kept to 0.001 of its unit; a volume
//! to 0.01 mL (a 1 mL syringe's graduation); tablets and capsules to the nearest fraction the
//! form allows (`split`: 1 whole, 2 halves, 4 quarters), never rounded to nothing. The dose the
//! cat actually receives after rounding is stored beside the one asked for, with its per-kg
//! figure, and both are checked against the feline range.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::clinical_facts::FactSet;
use crate::errors::ValidationError;

/// The unit a drug is dosed in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DoseUnit {
    #[default]
    Mg,
    /// International units (insulin).
    Iu,
}

impl DoseUnit {
    pub fn as_str(self) -> &'static str {
        match self {
            DoseUnit::Mg => "mg",
            DoseUnit::Iu => "IU",
        }
    }
}

/// A dosage form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FormKind {
    Tablet,
    Capsule,
    Suspension,
    Solution,
    Injectable,
    Transdermal,
}

impl FormKind {
    /// Solid forms are counted (tablets, capsules); the others are measured in mL.
    pub fn is_solid(self) -> bool {
        matches!(self, FormKind::Tablet | FormKind::Capsule)
    }

    /// The unit a quantity of this form is counted in.
    pub fn unit(self) -> &'static str {
        match self {
            FormKind::Tablet => "tablet",
            FormKind::Capsule => "capsule",
            _ => "mL",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FormKind::Tablet => "tablet",
            FormKind::Capsule => "capsule",
            FormKind::Suspension => "suspension",
            FormKind::Solution => "solution",
            FormKind::Injectable => "injectable",
            FormKind::Transdermal => "transdermal",
        }
    }
}

/// A controlled-substance schedule (US DEA numbering; `none` for uncontrolled drugs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    #[default]
    None,
    Ii,
    Iii,
    Iv,
    V,
}

impl Schedule {
    pub fn is_controlled(self) -> bool {
        self != Schedule::None
    }
}

/// A feline dose range per kg, in the drug's dose unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DoseRange {
    pub min_per_kg: f64,
    pub max_per_kg: f64,
}

impl DoseRange {
    pub fn contains(&self, per_kg: f64) -> bool {
        // A tolerance of 0.5 % so that a dose typed as the range's end is inside it.
        per_kg >= self.min_per_kg * 0.995 && per_kg <= self.max_per_kg * 1.005
    }
}

/// One form of a drug and the strengths it comes in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DrugForm {
    pub form: FormKind,
    /// Per tablet or capsule for solid forms, per mL otherwise, in the drug's dose unit.
    pub strengths: Vec<f64>,
    /// Into how many equal parts a tablet may be split (1, 2 or 4); solid forms only.
    #[serde(default = "one")]
    pub split: u8,
    /// This form's feline range, when it differs from the drug's (an injection vs tablets).
    #[serde(default)]
    pub dose: Option<DoseRange>,
    /// Usual routes (`oral`, `sc`, `im`, `iv`, `otm`, `topical`).
    #[serde(default)]
    pub routes: Vec<String>,
}

fn one() -> u8 {
    1
}

/// A drug of the formulary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Drug {
    /// Stable identifier, lower-case (`meloxicam`): what prescriptions and the register name.
    pub id: String,
    /// Generic name as shown.
    pub name: String,
    /// Other names and brands it is asked for by (`paracetamol`, `Metacam`).
    #[serde(default)]
    pub synonyms: Vec<String>,
    /// Pharmacological class, lower-case (`nsaid`, `opioid`, `corticosteroid`, …); `nsaid`
    /// triggers the kidney-disease check.
    pub class: String,
    #[serde(default)]
    pub dose_unit: DoseUnit,
    #[serde(default)]
    pub forms: Vec<DrugForm>,
    /// Feline range per kg; absent only for a drug never prescribed (a toxic one).
    #[serde(default)]
    pub dose: Option<DoseRange>,
    /// Usual frequencies (`q24h`, `q12h`, `q8h`, `once`).
    #[serde(default)]
    pub frequencies: Vec<String>,
    #[serde(default)]
    pub schedule: Schedule,
    /// Why the drug must never be given to a cat; prescribing it is refused.
    #[serde(default)]
    pub feline_toxic: Option<String>,
    /// Remarks for the prescriber (label dose per cat, cautions).
    #[serde(default)]
    pub notes: Option<String>,
}

impl Drug {
    /// The form `form`, if the drug comes in it.
    pub fn form(&self, form: FormKind) -> Option<&DrugForm> {
        self.forms.iter().find(|f| f.form == form)
    }

    /// The feline range of `form`: its own, else the drug's.
    pub fn range(&self, form: &DrugForm) -> Option<DoseRange> {
        form.dose.or(self.dose)
    }

    pub fn is_nsaid(&self) -> bool {
        self.class == "nsaid"
    }

    /// True if `name` (any case) is its id, name or a synonym.
    pub fn answers_to(&self, name: &str) -> bool {
        let n = name.trim().to_lowercase();
        self.id == n || self.name.to_lowercase() == n || self.synonyms.iter().any(|s| s.to_lowercase() == n)
    }
}

/// The `formulary` fact set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Formulary {
    pub drugs: Vec<Drug>,
}

impl Formulary {
    /// The drug called `name` (id, generic name or synonym).
    pub fn find(&self, name: &str) -> Option<&Drug> {
        self.drugs.iter().find(|d| d.answers_to(name))
    }
}

impl FactSet for Formulary {
    const NAME: &'static str = "formulary";
    const KEY: u64 = 101;
    const DESCRIPTION: &'static str = "The drugs the clinic prescribes: forms, strengths, feline dose ranges, frequencies, controlled schedule, and the drugs toxic to cats";
    const DEFAULTS: &'static str = include_str!("../data/clinical-facts/formulary.json");

    fn check(&self) -> Result<(), ValidationError> {
        let mut seen: Vec<String> = Vec::new();
        for (i, d) in self.drugs.iter().enumerate() {
            let at = |f: &str| format!("drugs[{i}].{f}");
            if d.id.is_empty() || d.id != d.id.to_lowercase() || d.id.contains(char::is_whitespace) {
                return Err(ValidationError::new(at("id"), "must be lower case without spaces"));
            }
            for name in std::iter::once(&d.name).chain(&d.synonyms) {
                let n = name.trim().to_lowercase();
                if n.is_empty() {
                    return Err(ValidationError::new(at("name"), "must not be blank"));
                }
                if seen.contains(&n) {
                    return Err(ValidationError::new(at("synonyms"), format!("{name:?} names two drugs")));
                }
                seen.push(n);
            }
            if !seen.contains(&d.id) {
                seen.push(d.id.clone());
            }
            let check_range = |r: &DoseRange, field: String| {
                if !(r.min_per_kg > 0.0 && r.min_per_kg <= r.max_per_kg && r.max_per_kg < 1000.0) {
                    return Err(ValidationError::new(field, "needs 0 < min_per_kg <= max_per_kg < 1000"));
                }
                Ok(())
            };
            if let Some(r) = &d.dose {
                check_range(r, at("dose"))?;
            }
            if d.feline_toxic.is_none() && d.dose.is_none() && d.forms.iter().any(|f| f.dose.is_none()) {
                return Err(ValidationError::new(at("dose"), "a drug that may be prescribed needs a feline range"));
            }
            for (j, f) in d.forms.iter().enumerate() {
                let at = |x: &str| format!("drugs[{i}].forms[{j}].{x}");
                if f.strengths.is_empty() || f.strengths.iter().any(|s| !(*s > 0.0 && *s < 100_000.0)) {
                    return Err(ValidationError::new(at("strengths"), "needs at least one strength above 0"));
                }
                if !matches!(f.split, 1 | 2 | 4) || (!f.form.is_solid() && f.split != 1) {
                    return Err(ValidationError::new(at("split"), "is 1, 2 or 4, and 1 for liquids"));
                }
                if let Some(r) = &f.dose {
                    check_range(r, at("dose"))?;
                }
            }
        }
        Ok(())
    }
}

/// How serious an interaction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InteractionSeverity {
    Minor,
    Moderate,
    /// Prescribing needs a written override reason.
    Severe,
}

/// A pair of drugs (or classes: `class:nsaid`) that interact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InteractionPair {
    /// A drug id or `class:<class>`.
    pub a: String,
    pub b: String,
    pub severity: InteractionSeverity,
    /// What happens, for the prescriber.
    pub effect: String,
}

fn side_matches(side: &str, d: &Drug) -> bool {
    match side.strip_prefix("class:") {
        Some(class) => d.class == class,
        None => d.id == side,
    }
}

impl InteractionPair {
    /// True if the pair concerns drugs `x` and `y`, in either order.
    pub fn concerns(&self, x: &Drug, y: &Drug) -> bool {
        (side_matches(&self.a, x) && side_matches(&self.b, y)) || (side_matches(&self.a, y) && side_matches(&self.b, x))
    }
}

/// The `drug_interactions` fact set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DrugInteractions {
    pub pairs: Vec<InteractionPair>,
}

impl DrugInteractions {
    /// The most severe pair concerning `x` and `y`, if any.
    pub fn between(&self, x: &Drug, y: &Drug) -> Option<&InteractionPair> {
        self.pairs.iter().filter(|p| p.concerns(x, y)).max_by_key(|p| p.severity)
    }
}

impl FactSet for DrugInteractions {
    const NAME: &'static str = "drug_interactions";
    const KEY: u64 = 102;
    const DESCRIPTION: &'static str =
        "Pairs of drugs (or drug classes) that interact, with their severity; checked on prescribing";
    const DEFAULTS: &'static str = include_str!("../data/clinical-facts/drug_interactions.json");

    fn check(&self) -> Result<(), ValidationError> {
        for (i, p) in self.pairs.iter().enumerate() {
            for (side, v) in [("a", &p.a), ("b", &p.b)] {
                if v.trim().is_empty() || v != &v.to_lowercase() {
                    return Err(ValidationError::new(
                        format!("pairs[{i}].{side}"),
                        "is a drug id or class:<class>, lower case",
                    ));
                }
            }
            if p.effect.trim().is_empty() {
                return Err(ValidationError::new(format!("pairs[{i}].effect"), "must say what happens"));
            }
        }
        Ok(())
    }
}

/// The arithmetic of one dose, as stored on a prescription and shown to the prescriber.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DoseCalc {
    /// The dose asked for, per kg.
    pub per_kg: f64,
    /// `mg` or `IU`.
    pub unit: DoseUnit,
    /// The weight used, kg.
    pub weight_kg: f64,
    /// per_kg × weight, to 0.001.
    pub dose: f64,
    /// Per tablet or capsule, or per mL.
    pub strength: f64,
    /// What one dose is measured in: `mL`, `tablet`, `capsule`.
    pub measure: String,
    /// Volume (mL) or number of tablets per dose, after rounding.
    pub amount: f64,
    /// The dose the cat receives after rounding, and per kg.
    pub given: f64,
    pub given_per_kg: f64,
    /// The whole calculation in words, e.g. `0.05 mg/kg × 4.2 kg = 0.21 mg; 0.21 mg ÷ 0.5 mg/mL = 0.42 mL`.
    pub shown: String,
}

/// Rounds to `places` decimal places (half away from zero).
pub fn round_to(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

/// Prints a number without trailing zeros (`0.42`, `6`, `0.267`).
pub fn num(x: f64) -> String {
    let s = format!("{:.3}", round_to(x, 3));
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.to_owned() }
}

fn fraction(parts: f64) -> String {
    // Quarters and halves read as a clinician writes them.
    let whole = parts.trunc();
    let rest = parts - whole;
    let tail = match (rest * 4.0).round() as u8 {
        1 => "¼",
        2 => "½",
        3 => "¾",
        _ => "",
    };
    match (whole as u64, tail) {
        (0, t) => t.to_owned(),
        (w, "") => w.to_string(),
        (w, t) => format!("{w}{t}"),
    }
}

/// Computes one dose: `per_kg` × `weight_kg`, then the volume at `strength` per mL or the
/// number of tablets at `strength` each, rounded as the module doc says. Refuses a dose that
/// rounds to nothing with this strength (naming `strength`).
pub fn calculate(
    per_kg: f64,
    weight_kg: f64,
    unit: DoseUnit,
    form: FormKind,
    strength: f64,
    split: u8,
) -> Result<DoseCalc, ValidationError> {
    if !(per_kg.is_finite() && per_kg > 0.0 && per_kg < 1000.0) {
        return Err(ValidationError::new("dose_per_kg", "must be a number above 0 and below 1000"));
    }
    if !(weight_kg.is_finite() && weight_kg > 0.0 && strength.is_finite() && strength > 0.0) {
        return Err(ValidationError::new("strength", "must be above 0"));
    }
    let u = unit.as_str();
    let dose = round_to(per_kg * weight_kg, 3);
    let mut shown = format!("{} {u}/kg × {} kg = {} {u}", num(per_kg), num(weight_kg), num(dose));
    let (measure, amount) = if form.is_solid() {
        let parts = f64::from(split.max(1));
        let exact = dose / strength;
        let amount = (exact * parts).round() / parts;
        if amount <= 0.0 {
            return Err(ValidationError::new(
                "strength",
                format!(
                    "{} {u} is less than the smallest part of a {} {u} {} (1/{split}); choose a smaller strength or a liquid form",
                    num(dose),
                    num(strength),
                    form.unit()
                ),
            ));
        }
        let rule = match split {
            1 => "whole only",
            2 => "to the half",
            _ => "to the quarter",
        };
        shown.push_str(&format!(
            "; {} {u} ÷ {} {u}/{} = {} → {} {} ({rule})",
            num(dose),
            num(strength),
            form.unit(),
            num(exact),
            fraction(amount),
            form.unit()
        ));
        (form.unit(), amount)
    } else {
        let exact = dose / strength;
        let amount = round_to(exact, 2);
        if amount <= 0.0 {
            return Err(ValidationError::new(
                "strength",
                format!("{} {u} is under 0.01 mL at {} {u}/mL; choose a lower concentration", num(dose), num(strength)),
            ));
        }
        shown.push_str(&format!("; {} {u} ÷ {} {u}/mL = {} mL", num(dose), num(strength), num(amount)));
        ("mL", amount)
    };
    let given = round_to(amount * strength, 3);
    let given_per_kg = round_to(given / weight_kg, 3);
    if (given - dose).abs() > 0.0005 {
        shown.push_str(&format!(" = {} {u} given ({} {u}/kg)", num(given), num(given_per_kg)));
    }
    Ok(DoseCalc {
        per_kg,
        unit,
        weight_kg,
        dose,
        strength,
        measure: measure.to_owned(),
        amount,
        given,
        given_per_kg,
        shown,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clinical_facts::fact_set;

    #[test]
    fn a_liquid_dose_is_mg_per_kg_times_kg_then_ml_at_the_concentration() {
        let c = calculate(0.05, 4.2, DoseUnit::Mg, FormKind::Suspension, 0.5, 1).unwrap();
        assert_eq!(c.dose, 0.21);
        assert_eq!(c.amount, 0.42);
        assert_eq!(c.measure, "mL");
        assert_eq!(c.given, 0.21);
        assert_eq!(c.shown, "0.05 mg/kg × 4.2 kg = 0.21 mg; 0.21 mg ÷ 0.5 mg/mL = 0.42 mL");
        // Buprenorphine 0.02 mg/kg for 4 kg at 0.3 mg/mL: 0.08 mg = 0.2667 mL → 0.27 mL.
        let c = calculate(0.02, 4.0, DoseUnit::Mg, FormKind::Injectable, 0.3, 1).unwrap();
        assert_eq!((c.dose, c.amount, c.given), (0.08, 0.27, 0.081));
        assert!(c.shown.ends_with("= 0.081 mg given (0.02 mg/kg)"), "{}", c.shown);
    }

    #[test]
    fn tablets_round_to_the_fraction_the_tablet_splits_into_and_never_to_nothing() {
        // Robenacoxib 1 mg/kg, 4.2 kg, 6 mg tablets, whole only: 0.7 → 1 tablet = 6 mg.
        let c = calculate(1.0, 4.2, DoseUnit::Mg, FormKind::Tablet, 6.0, 1).unwrap();
        assert_eq!((c.dose, c.amount, c.given, c.given_per_kg), (4.2, 1.0, 6.0, 1.429));
        assert_eq!(
            c.shown,
            "1 mg/kg × 4.2 kg = 4.2 mg; 4.2 mg ÷ 6 mg/tablet = 0.7 → 1 tablet (whole only) = 6 mg given (1.429 mg/kg)"
        );
        // Benazepril 0.5 mg/kg, 4.2 kg, 2.5 mg halves: 0.84 → 1 tablet; quarters: 0.75 → ¾.
        assert_eq!(calculate(0.5, 4.2, DoseUnit::Mg, FormKind::Tablet, 2.5, 2).unwrap().amount, 1.0);
        let c = calculate(0.5, 4.2, DoseUnit::Mg, FormKind::Tablet, 2.5, 4).unwrap();
        assert_eq!(c.amount, 0.75);
        assert!(c.shown.contains("→ ¾ tablet (to the quarter)"), "{}", c.shown);
        // Amlodipine 0.1 mg/kg for 3 kg from 2.5 mg halves: 0.12 of a tablet rounds to 0: refused.
        let e = calculate(0.1, 3.0, DoseUnit::Mg, FormKind::Tablet, 2.5, 2).unwrap_err();
        assert_eq!(e.field, "strength");
    }

    #[test]
    fn insulin_is_dosed_in_international_units() {
        let c = calculate(0.25, 4.0, DoseUnit::Iu, FormKind::Injectable, 100.0, 1).unwrap();
        assert_eq!((c.dose, c.amount), (1.0, 0.01));
        assert_eq!(c.shown, "0.25 IU/kg × 4 kg = 1 IU; 1 IU ÷ 100 IU/mL = 0.01 mL");
    }

    #[test]
    fn nonsense_doses_are_refused() {
        for bad in [0.0, -1.0, f64::NAN, 5000.0] {
            assert_eq!(calculate(bad, 4.0, DoseUnit::Mg, FormKind::Tablet, 6.0, 1).unwrap_err().field, "dose_per_kg");
        }
    }

    #[test]
    fn the_seeded_formulary_has_the_brief_s_drugs_and_blocks_the_toxic_ones() {
        let (_, body) = fact_set("formulary").unwrap().first_version().unwrap();
        let f: Formulary = serde_json::from_value(body).unwrap();
        for d in [
            "meloxicam",
            "robenacoxib",
            "buprenorphine",
            "gabapentin",
            "methimazole",
            "amoxicillin-clavulanate",
            "prednisolone",
            "maropitant",
            "mirtazapine",
            "amlodipine",
            "benazepril",
            "insulin-glargine",
        ] {
            let drug = f.find(d).unwrap_or_else(|| panic!("{d} missing"));
            assert!(drug.feline_toxic.is_none() && !drug.forms.is_empty(), "{d}");
        }
        for t in ["acetaminophen", "Paracetamol", "permethrin"] {
            assert!(f.find(t).unwrap().feline_toxic.is_some(), "{t}");
        }
        assert_eq!(f.find("buprenorphine").unwrap().schedule, Schedule::Iii);
        assert!(f.find("Metacam").unwrap().is_nsaid());
        let (_, body) = fact_set("drug_interactions").unwrap().first_version().unwrap();
        let i: DrugInteractions = serde_json::from_value(body).unwrap();
        let pair = i.between(f.find("meloxicam").unwrap(), f.find("prednisolone").unwrap()).unwrap();
        assert_eq!(pair.severity, InteractionSeverity::Severe);
        assert!(i.between(f.find("gabapentin").unwrap(), f.find("methimazole").unwrap()).is_none());
    }

    #[test]
    fn a_formulary_naming_one_drug_twice_or_with_a_reversed_range_is_refused() {
        let info = fact_set("formulary").unwrap();
        let (_, mut body) = info.first_version().unwrap();
        body["drugs"][1]["synonyms"] = serde_json::json!(["meloxicam"]);
        assert!((info.validate)(&body).unwrap_err().field.starts_with("body.drugs[1]"));
        let (_, mut body) = info.first_version().unwrap();
        body["drugs"][0]["dose"] = serde_json::json!({"min_per_kg": 2, "max_per_kg": 1});
        assert_eq!((info.validate)(&body).unwrap_err().field, "body.drugs[0].dose");
    }
}
