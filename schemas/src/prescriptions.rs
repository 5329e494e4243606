//! Prescriptions: the stored record (the drug, form and strength from the formulary, the
//! dose arithmetic with the weight it used and the vitals record that weight came from, the
//! warnings raised on prescribing and the override reason that let them through, refills and
//! status), the create body and its checked draft, and the refill and cancel bodies.
//! The checks that need the store (weight on record, problem list, other prescriptions,
//! the prescriber's capability) are `clowder_actors::clinical::prescriptions`.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::errors::ValidationError;
use crate::formulary::{DoseCalc, FormKind, InteractionSeverity, Schedule};
use crate::ids::{PatientId, PrescriptionId, StaffId, UserId, VisitId, VitalsId};
use crate::records::Record;
use crate::values::{optional_text, required_text};

/// Longest instructions for the owner.
pub const MAX_INSTRUCTIONS_CHARS: usize = 2_000;
/// Longest override or cancel reason.
pub const MAX_REASON_CHARS: usize = 2_000;
/// The most refills a prescription may allow.
pub const MAX_REFILLS: u8 = 12;
/// The longest course, in days.
pub const MAX_DURATION_DAYS: u32 = 3_650;

/// How a drug is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    Oral,
    /// Subcutaneous.
    Sc,
    Im,
    Iv,
    /// Oral transmucosal (buccal).
    Otm,
    Topical,
}

impl Route {
    pub fn as_str(self) -> &'static str {
        match self {
            Route::Oral => "oral",
            Route::Sc => "sc",
            Route::Im => "im",
            Route::Iv => "iv",
            Route::Otm => "otm",
            Route::Topical => "topical",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrescriptionStatus {
    Active,
    Completed,
    Cancelled,
}

/// What a warning is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// The dose per kg (asked or given after rounding) is outside the feline range.
    DoseRange,
    /// An NSAID for a cat with chronic kidney disease on its problem list: needs an override.
    NsaidCkd,
    /// Another active prescription interacts; severe ones need an override.
    Interaction,
    /// A frequency the formulary does not list for this drug.
    Frequency,
}

/// A warning raised on prescribing, kept on the record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Warning {
    pub kind: WarningKind,
    pub message: String,
    /// True if prescribing needed a written override reason because of it.
    pub needs_override: bool,
    /// For interactions: the other prescription and its severity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prescription_id: Option<PrescriptionId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<InteractionSeverity>,
}

/// One refill handed out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Refill {
    pub at: Timestamp,
    pub by: Option<UserId>,
}

/// A prescription as stored and as returned by the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Prescription {
    pub id: PrescriptionId,
    pub patient_id: PatientId,
    pub visit_id: Option<VisitId>,
    /// The formulary's drug id and name at prescribing.
    pub drug_id: String,
    pub drug_name: String,
    pub drug_class: String,
    pub form: FormKind,
    /// Per tablet or capsule, or per mL, in the dose unit.
    pub strength: f64,
    pub schedule: Schedule,
    /// The arithmetic, with the weight used.
    pub dose: DoseCalc,
    /// The vitals record the weight came from, and when the cat was weighed.
    pub weight_vitals_id: VitalsId,
    pub weighed_at: Timestamp,
    pub route: Route,
    pub frequency: String,
    pub duration_days: Option<u32>,
    /// How much is dispensed, in `quantity_unit` (`tablet`, `capsule`, `mL`).
    pub quantity: f64,
    pub quantity_unit: String,
    pub refills_allowed: u8,
    pub refills_remaining: u8,
    pub refills: Vec<Refill>,
    pub instructions: Option<String>,
    pub status: PrescriptionStatus,
    pub cancel_reason: Option<String>,
    pub warnings: Vec<Warning>,
    /// The written reason that let warnings needing one through (audited).
    pub override_reason: Option<String>,
    pub prescribed_by: Option<UserId>,
    /// The prescriber's staff profile (which holds `can_prescribe`).
    pub prescriber_staff_id: StaffId,
    pub formulary_version: u32,
    pub interactions_version: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: Option<UserId>,
}

impl Record for Prescription {
    const KIND: &'static str = "prescription";
    const VERSION: u16 = 1;
}

/// Body of `POST /api/prescriptions`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePrescription {
    pub patient_id: PatientId,
    #[serde(default)]
    pub visit_id: Option<VisitId>,
    /// A formulary drug: its id, generic name or a synonym.
    pub drug: String,
    pub form: FormKind,
    /// One of the form's strengths (per tablet, or per mL).
    pub strength: f64,
    /// The dose per kg, in the drug's unit (mg/kg, IU/kg for insulin).
    pub dose_per_kg: f64,
    pub route: Route,
    /// e.g. `q12h`, `q24h`, `once`.
    pub frequency: String,
    #[serde(default)]
    pub duration_days: Option<u32>,
    /// In tablets, capsules or mL.
    pub quantity: f64,
    #[serde(default)]
    pub refills_allowed: u8,
    #[serde(default)]
    pub instructions: Option<String>,
    /// Required when a warning needs one (NSAID with kidney disease, a severe interaction).
    #[serde(default)]
    pub override_reason: Option<String>,
}

/// A create body with its own fields checked (the formulary and the record are checked by
/// the decision).
#[derive(Debug, Clone, PartialEq)]
pub struct PrescriptionDraft {
    pub patient_id: PatientId,
    pub visit_id: Option<VisitId>,
    pub drug: String,
    pub form: FormKind,
    pub strength: f64,
    pub dose_per_kg: f64,
    pub route: Route,
    pub frequency: String,
    pub duration_days: Option<u32>,
    pub quantity: f64,
    pub refills_allowed: u8,
    pub instructions: Option<String>,
    pub override_reason: Option<String>,
}

impl CreatePrescription {
    pub fn validate(&self) -> Result<PrescriptionDraft, ValidationError> {
        if !(self.quantity.is_finite() && self.quantity > 0.0 && self.quantity <= 10_000.0) {
            return Err(ValidationError::new("quantity", "must be above 0 and at most 10000"));
        }
        if self.refills_allowed > MAX_REFILLS {
            return Err(ValidationError::new("refills_allowed", format!("must be at most {MAX_REFILLS}")));
        }
        if let Some(d) = self.duration_days
            && !(1..=MAX_DURATION_DAYS).contains(&d)
        {
            return Err(ValidationError::new("duration_days", format!("must be 1 to {MAX_DURATION_DAYS}")));
        }
        let frequency = required_text("frequency", &self.frequency, 40)?.to_lowercase();
        Ok(PrescriptionDraft {
            patient_id: self.patient_id,
            visit_id: self.visit_id,
            drug: required_text("drug", &self.drug, 100)?,
            form: self.form,
            strength: self.strength,
            dose_per_kg: self.dose_per_kg,
            route: self.route,
            frequency,
            duration_days: self.duration_days,
            quantity: self.quantity,
            refills_allowed: self.refills_allowed,
            instructions: optional_text("instructions", self.instructions.as_deref(), MAX_INSTRUCTIONS_CHARS)?,
            override_reason: optional_text("override_reason", self.override_reason.as_deref(), MAX_REASON_CHARS)?,
        })
    }
}

/// Body of `POST /api/prescriptions/{id}/cancel`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelPrescription {
    pub reason: String,
}

impl CancelPrescription {
    pub fn reason(&self) -> Result<String, ValidationError> {
        required_text("reason", &self.reason, MAX_REASON_CHARS)
    }
}

/// Query of `GET /api/patients/{id}/prescriptions`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PatientPrescriptionsQuery {
    /// Only this status.
    pub status: Option<PrescriptionStatus>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: serde_json::Value) -> CreatePrescription {
        let mut base = serde_json::json!({
            "patient_id": "01JD7Y2Q4Z8W3N5K6M7P8R9S0T", "drug": "meloxicam", "form": "suspension",
            "strength": 0.5, "dose_per_kg": 0.05, "route": "oral", "frequency": "q24h", "quantity": 10
        });
        if let (Some(b), Some(o)) = (base.as_object_mut(), v.as_object()) {
            for (k, x) in o {
                b.insert(k.clone(), x.clone());
            }
        }
        serde_json::from_value(base).unwrap()
    }

    #[test]
    fn the_body_s_own_fields_are_checked_naming_the_field() {
        assert!(body(serde_json::json!({})).validate().is_ok());
        for (patch, field) in [
            (serde_json::json!({"quantity": 0}), "quantity"),
            (serde_json::json!({"refills_allowed": 13}), "refills_allowed"),
            (serde_json::json!({"duration_days": 0}), "duration_days"),
            (serde_json::json!({"frequency": " "}), "frequency"),
            (serde_json::json!({"instructions": "x".repeat(1_000_000)}), "instructions"),
            (serde_json::json!({"override_reason": "x".repeat(1_000_000)}), "override_reason"),
        ] {
            assert_eq!(body(patch.clone()).validate().unwrap_err().field, field, "{patch}");
        }
    }
}
