//! Vital signs taken of a cat: the stored record, the create and amendment bodies with their
//! validation, the physiological limits beyond which a value is impossible (refused), and the
//! `vital_ranges` fact set of normal feline ranges beyond which a value is unusual (stored,
//! flagged with the range). Units are fixed: °C, kg, beats and breaths per minute, mmHg,
//! seconds. A weight typed in lb or g is converted and the entry kept; a body condition score
//! on the 5-point scale is converted to the 9-point scale and the entry kept.
//!
//! The impossible limits are code, not data: they describe what a living cat cannot measure
//! and protect the record from typos (a weight of 80 kg is a misplaced decimal), so no edit
//! of a fact set may widen them. Normal ranges are clinical facts with sources
//! ([`VitalRanges`]), editable and versioned; every vitals record names the version it was
//! flagged against.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::clinical_facts::FactSet;
use crate::errors::ValidationError;
use crate::ids::{PatientId, UserId, VisitId, VitalsId};
use crate::records::Record;
use crate::values::{MAX_NOTE_CHARS, note_text, required_text};

/// A hard limit: a value outside `min..=max` cannot be a living cat's, and is refused.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    pub field: &'static str,
    pub min: f64,
    pub max: f64,
    pub unit: &'static str,
}

impl Limit {
    fn check(&self, field: &str, v: f64) -> Result<f64, ValidationError> {
        if !v.is_finite() {
            return Err(ValidationError::new(field, "must be a number"));
        }
        if v < self.min {
            return Err(ValidationError::new(field, format!("must be at least {} {}", self.min, self.unit)));
        }
        if v > self.max {
            return Err(ValidationError::new(field, format!("must be at most {} {}", self.max, self.unit)));
        }
        Ok(v)
    }

    fn contains(&self, v: f64) -> bool {
        (self.min..=self.max).contains(&v)
    }
}

/// Below 25 °C or above 45 °C no cat is alive to be measured.
pub const TEMPERATURE_C: Limit = Limit { field: "temperature_c", min: 25.0, max: 45.0, unit: "°C" };
/// 50 g (a newborn kitten weighs about 100 g) to 25 kg (the heaviest cats on record weigh
/// about 21 kg).
pub const WEIGHT_KG: Limit = Limit { field: "weight", min: 0.05, max: 25.0, unit: "kg" };
pub const HEART_RATE: Limit = Limit { field: "heart_rate", min: 20.0, max: 400.0, unit: "/min" };
pub const RESPIRATORY_RATE: Limit = Limit { field: "respiratory_rate", min: 4.0, max: 150.0, unit: "/min" };
pub const SYSTOLIC: Limit = Limit { field: "systolic", min: 40.0, max: 300.0, unit: "mmHg" };
pub const DIASTOLIC: Limit = Limit { field: "diastolic", min: 20.0, max: 250.0, unit: "mmHg" };
pub const CRT_S: Limit = Limit { field: "crt_s", min: 0.1, max: 10.0, unit: "s" };
pub const BCS_9: Limit = Limit { field: "bcs", min: 1.0, max: 9.0, unit: "/9" };
pub const PAIN: Limit = Limit { field: "pain", min: 0.0, max: 10.0, unit: "/10" };
pub const FGS_TOTAL: Limit = Limit { field: "fgs_total", min: 0.0, max: 10.0, unit: "/10" };

/// Pounds to kilograms (exact by definition).
pub const KG_PER_LB: f64 = 0.453_592_37;

/// The unit a weight was typed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WeightUnit {
    Kg,
    Lb,
    G,
}

/// A weight as typed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeightEntry {
    pub value: f64,
    pub unit: WeightUnit,
}

impl WeightEntry {
    /// In kilograms, to the gram.
    pub fn kg(&self) -> f64 {
        let kg = match self.unit {
            WeightUnit::Kg => self.value,
            WeightUnit::Lb => self.value * KG_PER_LB,
            WeightUnit::G => self.value / 1000.0,
        };
        (kg * 1000.0).round() / 1000.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BpMethod {
    Doppler,
    Oscillometric,
    /// High-definition oscillometry.
    Hdo,
    /// Arterial line.
    Direct,
}

/// Blood pressure as measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BloodPressure {
    /// mmHg.
    pub systolic: u16,
    /// mmHg; Doppler gives none.
    #[serde(default)]
    pub diastolic: Option<u16>,
    pub method: BpMethod,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MucousMembranes {
    Pink,
    Pale,
    White,
    Cyanotic,
    Icteric,
    Hyperemic,
    BrickRed,
}

/// WSAVA muscle condition score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MuscleCondition {
    Normal,
    MildLoss,
    ModerateLoss,
    SevereLoss,
}

/// A body condition score: on the 9-point scale (5 ideal), with the entry as typed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Bcs {
    /// 1–9.
    pub score: u8,
    /// Always 9: the scale `score` is on.
    pub scale: u8,
    /// The score as typed (1–9, or 1–5 in half points).
    pub entered_score: f64,
    /// 9 or 5.
    pub entered_scale: u8,
}

/// A body condition score as typed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BcsEntry {
    pub score: f64,
    /// 9 (default) or 5.
    #[serde(default = "nine")]
    pub scale: u8,
}

fn nine() -> u8 {
    9
}

impl BcsEntry {
    /// On the 9-point scale: a 5-point score `s` (in half points) is `2s - 1`.
    fn validated(&self) -> Result<Bcs, ValidationError> {
        let field = "measurements.bcs.score";
        let score = match self.scale {
            9 => {
                BCS_9.check(field, self.score)?;
                if self.score.fract() != 0.0 {
                    return Err(ValidationError::new(field, "must be a whole number on the 9-point scale"));
                }
                self.score
            }
            5 => {
                Limit { field: "bcs", min: 1.0, max: 5.0, unit: "/5" }.check(field, self.score)?;
                if (self.score * 2.0).fract() != 0.0 {
                    return Err(ValidationError::new(field, "must be in half points on the 5-point scale"));
                }
                self.score * 2.0 - 1.0
            }
            _ => return Err(ValidationError::new("measurements.bcs.scale", "must be 9 or 5")),
        };
        Ok(Bcs { score: score as u8, scale: 9, entered_score: self.score, entered_scale: self.scale })
    }
}

/// The Feline Grimace Scale: five action units scored 0–2 (Evangelista et al. 2019).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Fgs {
    pub ear_position: u8,
    pub orbital_tightening: u8,
    pub muzzle_tension: u8,
    pub whiskers_change: u8,
    pub head_position: u8,
    /// The sum, 0–10 (computed).
    pub total: u8,
}

/// The Feline Grimace Scale as typed (the total is computed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FgsEntry {
    pub ear_position: i64,
    pub orbital_tightening: i64,
    pub muzzle_tension: i64,
    pub whiskers_change: i64,
    pub head_position: i64,
}

impl FgsEntry {
    fn validated(&self) -> Result<Fgs, ValidationError> {
        let unit = |name: &str, v: i64| -> Result<u8, ValidationError> {
            if (0..=2).contains(&v) {
                Ok(v as u8)
            } else {
                Err(ValidationError::new(format!("measurements.fgs.{name}"), "must be 0, 1 or 2"))
            }
        };
        let ear_position = unit("ear_position", self.ear_position)?;
        let orbital_tightening = unit("orbital_tightening", self.orbital_tightening)?;
        let muzzle_tension = unit("muzzle_tension", self.muzzle_tension)?;
        let whiskers_change = unit("whiskers_change", self.whiskers_change)?;
        let head_position = unit("head_position", self.head_position)?;
        let total = ear_position + orbital_tightening + muzzle_tension + whiskers_change + head_position;
        Ok(Fgs { ear_position, orbital_tightening, muzzle_tension, whiskers_change, head_position, total })
    }
}

/// Which Fear Free FAS scale the clinic scores on (a setting of the `vital_ranges` fact set).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FasScale {
    /// 0 (no signs) to 5 (Fear Free's own scale).
    #[default]
    ZeroToFive,
    /// 1 to 5.
    OneToFive,
}

impl FasScale {
    fn min(self) -> u8 {
        match self {
            FasScale::ZeroToFive => 0,
            FasScale::OneToFive => 1,
        }
    }
}

/// A Fear Free fear, anxiety and stress score, with the scale it was scored on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Fas {
    pub score: u8,
    pub scale: FasScale,
}

/// What was measured, as stored (every measurement optional, at least one present).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct Measurements {
    /// °C.
    pub temperature_c: Option<f64>,
    /// Kilograms, to the gram.
    pub weight_kg: Option<f64>,
    /// The weight as typed (its unit kept).
    pub weight_entered: Option<WeightEntry>,
    /// Beats per minute.
    pub heart_rate: Option<u16>,
    /// Breaths per minute.
    pub respiratory_rate: Option<u16>,
    pub blood_pressure: Option<BloodPressure>,
    /// Capillary refill time, seconds.
    pub crt_s: Option<f64>,
    pub mucous_membranes: Option<MucousMembranes>,
    pub bcs: Option<Bcs>,
    pub muscle_condition: Option<MuscleCondition>,
    /// 0–10.
    pub pain: Option<u8>,
    pub fgs: Option<Fgs>,
    pub fas: Option<Fas>,
    pub notes: Option<String>,
}

/// What was measured, as typed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct MeasurementsInput {
    pub temperature_c: Option<f64>,
    pub weight: Option<WeightEntry>,
    pub heart_rate: Option<i64>,
    pub respiratory_rate: Option<i64>,
    pub blood_pressure: Option<BloodPressureEntry>,
    pub crt_s: Option<f64>,
    pub mucous_membranes: Option<MucousMembranes>,
    pub bcs: Option<BcsEntry>,
    pub muscle_condition: Option<MuscleCondition>,
    pub pain: Option<i64>,
    pub fgs: Option<FgsEntry>,
    /// On the clinic's FAS scale (`vital_ranges.fas_scale`).
    pub fas: Option<i64>,
    pub notes: Option<String>,
}

/// Blood pressure as typed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BloodPressureEntry {
    pub systolic: f64,
    #[serde(default)]
    pub diastolic: Option<f64>,
    pub method: BpMethod,
}

fn whole(limit: &Limit, v: i64) -> Result<u16, ValidationError> {
    let field = format!("measurements.{}", limit.field);
    limit.check(&field, v as f64)?;
    Ok(v as u16)
}

impl MeasurementsInput {
    /// Refuses impossible values (naming the field and the limit) and converts units; the FAS
    /// is read on `fas_scale`.
    pub fn validate(&self, fas_scale: FasScale) -> Result<Measurements, ValidationError> {
        let f = |name: &str| format!("measurements.{name}");
        let weight_entered = self.weight;
        let weight_kg = match self.weight {
            None => None,
            Some(w) => {
                if !w.value.is_finite() {
                    return Err(ValidationError::new(f("weight.value"), "must be a number"));
                }
                Some(WEIGHT_KG.check(&f("weight.value"), w.kg())?)
            }
        };
        let blood_pressure = match self.blood_pressure {
            None => None,
            Some(bp) => {
                let systolic = SYSTOLIC.check(&f("blood_pressure.systolic"), bp.systolic)?.round() as u16;
                let diastolic = match bp.diastolic {
                    None => None,
                    Some(d) => {
                        let d = DIASTOLIC.check(&f("blood_pressure.diastolic"), d)?.round() as u16;
                        if d >= systolic {
                            return Err(ValidationError::new(
                                f("blood_pressure.diastolic"),
                                "must be lower than the systolic pressure",
                            ));
                        }
                        Some(d)
                    }
                };
                Some(BloodPressure { systolic, diastolic, method: bp.method })
            }
        };
        let fas = match self.fas {
            None => None,
            Some(s) => {
                let min = fas_scale.min();
                if !(i64::from(min)..=5).contains(&s) {
                    return Err(ValidationError::new(
                        f("fas"),
                        format!("must be between {min} and 5 on this clinic's scale"),
                    ));
                }
                Some(Fas { score: s as u8, scale: fas_scale })
            }
        };
        let m = Measurements {
            temperature_c: self.temperature_c.map(|v| TEMPERATURE_C.check(&f("temperature_c"), v)).transpose()?,
            weight_kg,
            weight_entered,
            heart_rate: self.heart_rate.map(|v| whole(&HEART_RATE, v)).transpose()?,
            respiratory_rate: self.respiratory_rate.map(|v| whole(&RESPIRATORY_RATE, v)).transpose()?,
            blood_pressure,
            crt_s: self.crt_s.map(|v| CRT_S.check(&f("crt_s"), v)).transpose()?,
            mucous_membranes: self.mucous_membranes,
            bcs: self.bcs.map(|b| b.validated()).transpose()?,
            muscle_condition: self.muscle_condition,
            pain: self.pain.map(|v| whole(&PAIN, v).map(|p| p as u8)).transpose()?,
            fgs: self.fgs.map(|g| g.validated()).transpose()?,
            fas,
            notes: note_text("measurements.notes", self.notes.as_deref())?,
        };
        let Measurements { notes, .. } = &m;
        if m == (Measurements { notes: notes.clone(), ..Measurements::default() }) {
            return Err(ValidationError::new("measurements", "record at least one measurement"));
        }
        Ok(m)
    }
}

/// A value outside the normal feline range: stored, and shown with the range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VitalsFlag {
    /// The measurement, e.g. `temperature_c`.
    pub field: String,
    pub value: f64,
    pub low: Option<f64>,
    pub high: Option<f64>,
    /// "Temperature 40.1 °C is above the normal feline range (38.1–39.2 °C)".
    pub message: String,
}

/// A normal range; either end may be open.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NormalRange {
    #[serde(default)]
    pub low: Option<f64>,
    #[serde(default)]
    pub high: Option<f64>,
}

impl NormalRange {
    fn describe(&self, unit: &str) -> String {
        match (self.low, self.high) {
            (Some(l), Some(h)) => format!("{l}–{h} {unit}"),
            (Some(l), None) => format!("at least {l} {unit}"),
            (None, Some(h)) => format!("at most {h} {unit}"),
            (None, None) => "any value".into(),
        }
    }

    fn check(&self, field: &str, limit: &Limit) -> Result<(), ValidationError> {
        for v in [self.low, self.high].into_iter().flatten() {
            if !limit.contains(v) {
                return Err(ValidationError::new(
                    field,
                    format!("must lie within the possible {}–{} {}", limit.min, limit.max, limit.unit),
                ));
            }
        }
        if let (Some(l), Some(h)) = (self.low, self.high)
            && l > h
        {
            return Err(ValidationError::new(field, "low must not be above high"));
        }
        Ok(())
    }
}

/// The `vital_ranges` fact set: normal ranges of an adult cat, and the clinic's FAS scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VitalRanges {
    pub temperature_c: NormalRange,
    pub heart_rate: NormalRange,
    pub respiratory_rate: NormalRange,
    pub systolic: NormalRange,
    pub crt_s: NormalRange,
    /// On the 9-point scale.
    pub bcs: NormalRange,
    pub pain: NormalRange,
    pub fgs_total: NormalRange,
    /// The scale FAS scores are typed on (a clinic's choice, kept here so that it is
    /// versioned and audited with the ranges it is read beside).
    #[serde(default)]
    pub fas_scale: FasScale,
}

impl FactSet for VitalRanges {
    const NAME: &'static str = "vital_ranges";
    const KEY: u64 = 1;
    const DESCRIPTION: &'static str = "Normal ranges of an adult cat's vital signs (values outside are flagged), and the clinic's Fear Free FAS scale";
    const DEFAULTS: &'static str = include_str!("../data/clinical-facts/vital_ranges.json");

    fn check(&self) -> Result<(), ValidationError> {
        for (name, range, limit) in self.table() {
            range.check(name, limit)?;
        }
        Ok(())
    }
}

impl VitalRanges {
    fn table(&self) -> [(&'static str, &NormalRange, &'static Limit); 8] {
        [
            ("temperature_c", &self.temperature_c, &TEMPERATURE_C),
            ("heart_rate", &self.heart_rate, &HEART_RATE),
            ("respiratory_rate", &self.respiratory_rate, &RESPIRATORY_RATE),
            ("systolic", &self.systolic, &SYSTOLIC),
            ("crt_s", &self.crt_s, &CRT_S),
            ("bcs", &self.bcs, &BCS_9),
            ("pain", &self.pain, &PAIN),
            ("fgs_total", &self.fgs_total, &FGS_TOTAL),
        ]
    }

    /// The values of `m` outside their normal range.
    pub fn flags(&self, m: &Measurements) -> Vec<VitalsFlag> {
        let values = [
            ("Temperature", m.temperature_c),
            ("Heart rate", m.heart_rate.map(f64::from)),
            ("Respiratory rate", m.respiratory_rate.map(f64::from)),
            ("Systolic pressure", m.blood_pressure.map(|b| f64::from(b.systolic))),
            ("CRT", m.crt_s),
            ("BCS", m.bcs.map(|b| f64::from(b.score))),
            ("Pain score", m.pain.map(f64::from)),
            ("Feline Grimace Scale", m.fgs.map(|g| f64::from(g.total))),
        ];
        let mut out = Vec::new();
        for ((field, range, limit), (label, value)) in self.table().into_iter().zip(values) {
            let Some(v) = value else { continue };
            let side = if range.low.is_some_and(|l| v < l) {
                "below"
            } else if range.high.is_some_and(|h| v > h) {
                "above"
            } else {
                continue;
            };
            out.push(VitalsFlag {
                field: field.to_owned(),
                value: v,
                low: range.low,
                high: range.high,
                message: format!(
                    "{label} {v} {} is {side} the normal feline range ({})",
                    limit.unit,
                    range.describe(limit.unit)
                ),
            });
        }
        out
    }
}

/// One correction of a vitals record: the values before it, why, by whom and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Amendment {
    pub at: Timestamp,
    pub by: Option<UserId>,
    pub reason: String,
    /// The measurements that changed (JSON names).
    pub changed: Vec<String>,
    /// Every measurement as it was before this amendment.
    pub previous: Measurements,
}

/// One set of vital signs, as stored and as returned by the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Vitals {
    pub id: VitalsId,
    pub patient_id: PatientId,
    /// The visit they were taken in, as given.
    pub visit_id: Option<VisitId>,
    pub taken_at: Timestamp,
    pub taken_by: Option<UserId>,
    /// The values as they stand (after any amendment).
    pub measurements: Measurements,
    /// Values outside the normal feline range of [`Self::ranges_version`].
    pub flags: Vec<VitalsFlag>,
    /// The version of the `vital_ranges` fact set the flags were computed from.
    pub ranges_version: u32,
    /// Corrections, oldest first; each keeps the values it replaced.
    pub amendments: Vec<Amendment>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: Option<UserId>,
}

impl Record for Vitals {
    const KIND: &'static str = "vitals";
    const VERSION: u16 = 1;
}

/// Body of `POST /api/vitals`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateVitals {
    pub patient_id: PatientId,
    #[serde(default)]
    pub visit_id: Option<VisitId>,
    /// Default: now. Not in the future.
    #[serde(default)]
    pub taken_at: Option<Timestamp>,
    /// Who took them (default: the caller).
    #[serde(default)]
    pub taken_by: Option<UserId>,
    pub measurements: MeasurementsInput,
}

/// Body of `POST /api/vitals/{id}/amendments`: the corrected measurements, whole, and why.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmendVitals {
    pub reason: String,
    pub measurements: MeasurementsInput,
}

/// Longest amendment reason.
pub const MAX_REASON_CHARS: usize = 1_000;

impl AmendVitals {
    pub fn reason(&self) -> Result<String, ValidationError> {
        required_text("reason", &self.reason, MAX_REASON_CHARS)
    }
}

/// The names of the measurements that differ between `a` and `b`.
pub fn changed_measurements(a: &Measurements, b: &Measurements) -> Vec<&'static str> {
    let mut out = Vec::new();
    macro_rules! diff {
        ($($f:ident),*) => { $( if a.$f != b.$f { out.push(stringify!($f)); } )* };
    }
    diff!(
        temperature_c,
        weight_kg,
        weight_entered,
        heart_rate,
        respiratory_rate,
        blood_pressure,
        crt_s,
        mucous_membranes,
        bcs,
        muscle_condition,
        pain,
        fgs,
        fas,
        notes
    );
    out
}

/// One point of a cat's weight history (`GET /api/patients/{id}/weights`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WeightPoint {
    pub vitals_id: VitalsId,
    pub taken_at: Timestamp,
    pub weight_kg: f64,
    pub entered: Option<WeightEntry>,
    /// The body condition score taken with it (9-point), if any.
    pub bcs: Option<u8>,
}

/// Longest note on a vitals record (the common note limit).
pub const MAX_VITALS_NOTE_CHARS: usize = MAX_NOTE_CHARS;

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: serde_json::Value) -> MeasurementsInput {
        serde_json::from_value(json).unwrap()
    }

    fn ranges() -> VitalRanges {
        let (_, body) = crate::clinical_facts::fact_set("vital_ranges").unwrap().first_version().unwrap();
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn impossible_values_are_refused_naming_the_field_and_the_limit() {
        let cases = [
            (
                serde_json::json!({"weight": {"value": 0, "unit": "kg"}}),
                "measurements.weight.value",
                "at least 0.05 kg",
            ),
            (serde_json::json!({"weight": {"value": 80, "unit": "kg"}}), "measurements.weight.value", "at most 25 kg"),
            (serde_json::json!({"temperature_c": 50}), "measurements.temperature_c", "at most 45 °C"),
            (serde_json::json!({"heart_rate": -3}), "measurements.heart_rate", "at least 20 /min"),
            (serde_json::json!({"pain": 11}), "measurements.pain", "at most 10 /10"),
            (serde_json::json!({"bcs": {"score": 10}}), "measurements.bcs.score", "at most 9"),
            (serde_json::json!({"bcs": {"score": 3.3, "scale": 5}}), "measurements.bcs.score", "half points"),
            (serde_json::json!({"bcs": {"score": 3, "scale": 7}}), "measurements.bcs.scale", "9 or 5"),
            (
                serde_json::json!({"fgs": {"ear_position": 3, "orbital_tightening": 0, "muzzle_tension": 0, "whiskers_change": 0, "head_position": 0}}),
                "measurements.fgs.ear_position",
                "0, 1 or 2",
            ),
            (
                serde_json::json!({"blood_pressure": {"systolic": 120, "diastolic": 130, "method": "oscillometric"}}),
                "measurements.blood_pressure.diastolic",
                "lower than",
            ),
            (serde_json::json!({"notes": "only a note"}), "measurements", "at least one"),
        ];
        for (json, field, says) in cases {
            let e = input(json.clone()).validate(FasScale::ZeroToFive).unwrap_err();
            assert_eq!(e.field, field, "{json}");
            assert!(e.message.contains(says), "{json}: {}", e.message);
        }
        let e = input(serde_json::json!({"fas": 0})).validate(FasScale::OneToFive).unwrap_err();
        assert_eq!((e.field.as_str(), e.message.contains("between 1 and 5")), ("measurements.fas", true));
        assert!(input(serde_json::json!({"fas": 0})).validate(FasScale::ZeroToFive).is_ok());
    }

    #[test]
    fn pounds_and_grams_are_converted_and_the_entry_kept() {
        let m =
            input(serde_json::json!({"weight": {"value": 10, "unit": "lb"}})).validate(FasScale::default()).unwrap();
        assert_eq!(m.weight_kg, Some(4.536));
        assert_eq!(m.weight_entered, Some(WeightEntry { value: 10.0, unit: WeightUnit::Lb }));
        let m =
            input(serde_json::json!({"weight": {"value": 4250, "unit": "g"}})).validate(FasScale::default()).unwrap();
        assert_eq!(m.weight_kg, Some(4.25));
    }

    #[test]
    fn a_five_point_bcs_is_converted_to_nine_and_both_kept() {
        for (five, nine) in [(1.0, 1), (3.0, 5), (3.5, 6), (5.0, 9)] {
            let m =
                input(serde_json::json!({"bcs": {"score": five, "scale": 5}})).validate(FasScale::default()).unwrap();
            let b = m.bcs.unwrap();
            assert_eq!((b.score, b.scale, b.entered_score, b.entered_scale), (nine, 9, five, 5));
        }
    }

    #[test]
    fn the_grimace_total_is_the_sum_of_its_units() {
        let m = input(serde_json::json!({"fgs": {"ear_position": 2, "orbital_tightening": 1, "muzzle_tension": 1, "whiskers_change": 0, "head_position": 2}}))
            .validate(FasScale::default())
            .unwrap();
        assert_eq!(m.fgs.unwrap().total, 6);
    }

    #[test]
    fn unusual_values_are_flagged_with_the_normal_range() {
        let m = input(serde_json::json!({"temperature_c": 40.1, "heart_rate": 180, "respiratory_rate": 12}))
            .validate(FasScale::default())
            .unwrap();
        let flags = ranges().flags(&m);
        let fields: Vec<_> = flags.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["temperature_c", "respiratory_rate"]);
        assert_eq!(flags[0].message, "Temperature 40.1 °C is above the normal feline range (38.1–39.2 °C)");
        assert!(flags[1].message.contains("below"), "{}", flags[1].message);
    }

    #[test]
    fn a_range_outside_the_possible_or_upside_down_is_refused() {
        let mut r = ranges();
        r.temperature_c = NormalRange { low: Some(20.0), high: Some(39.0) };
        assert_eq!(r.check().unwrap_err().field, "temperature_c");
        let mut r = ranges();
        r.heart_rate = NormalRange { low: Some(220.0), high: Some(140.0) };
        assert_eq!(r.check().unwrap_err().field, "heart_rate");
    }
}
