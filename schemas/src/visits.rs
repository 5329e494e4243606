//! Visits (encounters: one cat seen once) of the medical record: the stored record, its
//! create and patch bodies with their validation, the status workflow, the list query, and the
//! patient timeline's entries.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::appointment_types::{AppointmentType, RoomKind};
use crate::errors::ValidationError;
use crate::ids::{
    AppointmentId, AppointmentTypeId, LocationId, NoteId, PatientId, PrescriptionId, ProblemId, StaffId, UserId,
    VaccinationId, VisitId, VitalsId,
};
use crate::patch::Patch;
use crate::prescriptions::PrescriptionStatus;
use crate::problems::{ProblemStatus, ProblemType};
use crate::records::Record;
use crate::values::{MAX_NOTE_CHARS, note_text, required_text};

/// Longest chief complaint (characters): a line or two, the details go in the note.
pub const MAX_COMPLAINT_CHARS: usize = 500;

/// What kind of visit it is (DOMAIN.md "Clinical record").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, strum::VariantArray)]
#[serde(rename_all = "snake_case")]
pub enum VisitType {
    Wellness,
    Sick,
    Emergency,
    FollowUp,
    Surgery,
    Dental,
    Other,
}

impl VisitType {
    /// Every type, in declaration order.
    pub const ALL: &'static [VisitType] = <VisitType as strum::VariantArray>::VARIANTS;

    /// The wire name (`follow_up`).
    pub fn as_str(self) -> &'static str {
        match self {
            VisitType::Wellness => "wellness",
            VisitType::Sick => "sick",
            VisitType::Emergency => "emergency",
            VisitType::FollowUp => "follow_up",
            VisitType::Surgery => "surgery",
            VisitType::Dental => "dental",
            VisitType::Other => "other",
        }
    }

    /// Parses the wire name.
    pub fn parse(field: &str, s: &str) -> Result<VisitType, ValidationError> {
        <VisitType as strum::VariantArray>::VARIANTS.iter().copied().find(|t| t.as_str() == s).ok_or_else(|| {
            ValidationError::new(field, "must be wellness, sick, emergency, follow_up, surgery, dental or other")
        })
    }

    /// The visit type an appointment of type `t` opens: by the words of its name (the
    /// clinic's own types included), then by the room it needs. Wellness, kitten, senior
    /// and vaccination visits are wellness; a recheck is a follow-up.
    pub fn of_appointment_type(t: &AppointmentType) -> VisitType {
        let name = t.name.to_lowercase();
        let has = |words: &[&str]| words.iter().any(|w| name.contains(w));
        if has(&["emergency", "urgent"]) {
            VisitType::Emergency
        } else if has(&["recheck", "follow"]) {
            VisitType::FollowUp
        } else if has(&["dental", "teeth"]) {
            VisitType::Dental
        } else if has(&["spay", "neuter", "castrat", "surgery", "surgical"]) {
            VisitType::Surgery
        } else if has(&["sick", "ill"]) {
            VisitType::Sick
        } else if has(&["wellness", "kitten", "senior", "vaccin", "check-up", "checkup", "annual"]) {
            VisitType::Wellness
        } else {
            match t.room_kind {
                Some(RoomKind::Surgery) => VisitType::Surgery,
                Some(RoomKind::Dental) => VisitType::Dental,
                _ => VisitType::Other,
            }
        }
    }
}

/// `open → completed`; `open` or `completed` → `voided` (with a reason). Nothing is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VisitStatus {
    Open,
    Completed,
    Voided,
}

impl VisitStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VisitStatus::Open => "open",
            VisitStatus::Completed => "completed",
            VisitStatus::Voided => "voided",
        }
    }
}

/// A visit, as stored and returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Visit {
    pub id: VisitId,
    pub patient_id: PatientId,
    /// The appointment it was opened from (`None`: a walk-in). At most one visit per
    /// appointment.
    pub appointment_id: Option<AppointmentId>,
    /// The appointment's type (its note template, when the clinic wrote one for it).
    pub appointment_type_id: Option<AppointmentTypeId>,
    pub location_id: Option<LocationId>,
    /// The veterinarian in charge (the appointment's vet, or the walk-in's).
    pub vet_id: Option<StaffId>,
    #[serde(rename = "type")]
    pub visit_type: VisitType,
    pub chief_complaint: Option<String>,
    pub status: VisitStatus,
    pub opened_at: Timestamp,
    pub completed_at: Option<Timestamp>,
    pub voided_at: Option<Timestamp>,
    pub void_reason: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: Option<UserId>,
}

impl Record for Visit {
    const KIND: &'static str = "visit";
    const VERSION: u16 = 1;
}

/// Body of `POST /api/visits`: a walk-in (`patient_id`, `vet_id`, `type`, `chief_complaint`)
/// or a visit from an appointment (`appointment_id`; the patient, vet, type and location are
/// taken from it, `chief_complaint` defaults to its reason).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateVisit {
    pub appointment_id: Option<AppointmentId>,
    pub patient_id: Option<PatientId>,
    pub vet_id: Option<StaffId>,
    #[serde(rename = "type")]
    pub visit_type: Option<VisitType>,
    pub chief_complaint: Option<String>,
    pub location_id: Option<LocationId>,
}

/// A validated [`CreateVisit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VisitDraft {
    WalkIn {
        patient_id: PatientId,
        vet_id: StaffId,
        visit_type: VisitType,
        chief_complaint: String,
        location_id: Option<LocationId>,
    },
    FromAppointment {
        appointment_id: AppointmentId,
        chief_complaint: Option<String>,
    },
    /// A visit of the past brought in by an importer (the demo's year of history, a migration
    /// from another practice system), opened at the instant the import is made as of. Never
    /// built from an HTTP body ([`CreateVisit::validate`] makes the other two).
    Import(ImportVisit),
}

/// What an imported visit says of itself besides its opening time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportVisit {
    pub patient_id: PatientId,
    /// A veterinarian of the practice, then or now (one who has left still signs history).
    pub vet_id: StaffId,
    pub visit_type: VisitType,
    pub chief_complaint: String,
    pub location_id: Option<LocationId>,
    /// When it was completed (`None`: still open), not before its opening.
    pub completed_at: Option<Timestamp>,
}

fn complaint(field: &str, v: &str) -> Result<String, ValidationError> {
    required_text(field, v, MAX_COMPLAINT_CHARS)
}

impl CreateVisit {
    pub fn validate(&self) -> Result<VisitDraft, ValidationError> {
        if let Some(appointment_id) = self.appointment_id {
            for (field, given) in [
                ("patient_id", self.patient_id.is_some()),
                ("vet_id", self.vet_id.is_some()),
                ("type", self.visit_type.is_some()),
                ("location_id", self.location_id.is_some()),
            ] {
                if given {
                    return Err(ValidationError::new(field, "is taken from the appointment; leave it out"));
                }
            }
            let chief_complaint = match self.chief_complaint.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(c) => Some(complaint("chief_complaint", c)?),
            };
            return Ok(VisitDraft::FromAppointment { appointment_id, chief_complaint });
        }
        let required = |field: &str| ValidationError::new(field, "is required for a walk-in (or give appointment_id)");
        Ok(VisitDraft::WalkIn {
            patient_id: self.patient_id.ok_or_else(|| required("patient_id"))?,
            vet_id: self.vet_id.ok_or_else(|| required("vet_id"))?,
            visit_type: self.visit_type.ok_or_else(|| required("type"))?,
            chief_complaint: complaint("chief_complaint", self.chief_complaint.as_deref().unwrap_or(""))?,
            location_id: self.location_id,
        })
    }
}

/// Body of `PATCH /api/visits/{id}` (merge patch; the status moves through `complete` and
/// `void`).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateVisit {
    #[serde(default, rename = "type")]
    #[schema(value_type = Option<VisitType>)]
    pub visit_type: Patch<VisitType>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub chief_complaint: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<StaffId>)]
    pub vet_id: Patch<StaffId>,
}

impl UpdateVisit {
    /// The visit after the patch and the JSON names of the fields that changed.
    pub fn apply(&self, v: &Visit) -> Result<(Visit, Vec<&'static str>), ValidationError> {
        let mut new = v.clone();
        let mut changed = Vec::new();
        new.visit_type = self.visit_type.required(v.visit_type, "type")?;
        if new.visit_type != v.visit_type {
            changed.push("type");
        }
        new.chief_complaint = match &self.chief_complaint {
            Patch::Keep => v.chief_complaint.clone(),
            Patch::Clear => None,
            Patch::Set(c) if c.trim().is_empty() => None,
            Patch::Set(c) => Some(complaint("chief_complaint", c)?),
        };
        if new.chief_complaint != v.chief_complaint {
            changed.push("chief_complaint");
        }
        new.vet_id = self.vet_id.optional(v.vet_id);
        if new.vet_id != v.vet_id {
            changed.push("vet_id");
        }
        Ok((new, changed))
    }
}

/// Body of `POST /api/visits/{id}/void`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidVisit {
    /// Why the visit is voided (kept on the record).
    pub reason: String,
}

impl VoidVisit {
    pub fn validate(&self) -> Result<String, ValidationError> {
        match note_text("reason", Some(&self.reason))? {
            Some(r) if r.chars().count() <= MAX_NOTE_CHARS => Ok(r),
            _ => Err(ValidationError::new("reason", "is required")),
        }
    }
}

/// Filters of `GET /api/visits`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VisitListQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only this cat's visits.
    pub patient_id: Option<String>,
    /// Only this vet's visits (a staff id, or `me` for the caller's own staff profile).
    pub vet_id: Option<String>,
    /// `open`, `completed`, `voided` or `all` (default: all).
    pub status: Option<String>,
    pub location_id: Option<String>,
    /// Opened on or after this local date (`2026-03-01`, the clinic's zone).
    pub from: Option<String>,
    /// Opened on or before this local date.
    pub to: Option<String>,
    /// Only visits whose note is still unsigned this long after the visit opened: hours,
    /// e.g. `24` or `24h` (voided visits never count).
    pub unsigned_older_than: Option<String>,
}

/// Parses `unsigned_older_than`: whole hours, 1 to 8760, with an optional `h`.
pub fn parse_hours(field: &str, s: &str) -> Result<i64, ValidationError> {
    let s = s.trim();
    let digits = s.strip_suffix('h').unwrap_or(s);
    match digits.parse::<i64>() {
        Ok(h) if (1..=8760).contains(&h) => Ok(h),
        _ => Err(ValidationError::new(field, "must be whole hours from 1 to 8760, e.g. 24h")),
    }
}

/// One entry of a patient's timeline (`GET /api/patients/{id}/timeline`), newest first. Each
/// clinical kind adds a variant (vitals, problems, vaccinations and prescriptions join as
/// they are built); an entry carries what the chart lists, and the record is read from its
/// own route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TimelineEntry {
    /// A visit was opened.
    Visit {
        at: Timestamp,
        visit_id: VisitId,
        #[serde(rename = "type")]
        visit_type: VisitType,
        status: VisitStatus,
        vet_id: Option<StaffId>,
        chief_complaint: Option<String>,
    },
    /// A SOAP note was signed (its addenda counted).
    Note { at: Timestamp, note_id: NoteId, visit_id: VisitId, signed_by: UserId, addenda: u32 },
    /// Vital signs were taken (the weight and how many values were flagged; the rest is read
    /// from the vitals record).
    Vitals { at: Timestamp, vitals_id: VitalsId, visit_id: Option<VisitId>, weight_kg: Option<f64>, flagged: u32 },
    /// A problem was added to the list (shown with its current status).
    Problem {
        at: Timestamp,
        problem_id: ProblemId,
        name: String,
        #[serde(rename = "type")]
        kind: ProblemType,
        status: ProblemStatus,
    },
    /// A drug was prescribed (shown only to holders of `prescriptions:view`).
    Prescription {
        at: Timestamp,
        prescription_id: PrescriptionId,
        visit_id: Option<VisitId>,
        drug_name: String,
        status: PrescriptionStatus,
    },
    /// A vaccination entry: a dose (with its date and product), a refusal, a due-date override
    /// or a risk assessment.
    Vaccination {
        at: Timestamp,
        vaccination_id: VaccinationId,
        visit_id: Option<VisitId>,
        vaccine: String,
        /// `dose`, `declined`, `due_override` or `risk`.
        entry: String,
        /// The day a dose was given.
        given_on: Option<jiff::civil::Date>,
        product: Option<String>,
        reactions: u32,
    },
}

impl TimelineEntry {
    /// When it happened (the order of the timeline).
    pub fn at(&self) -> Timestamp {
        match self {
            TimelineEntry::Visit { at, .. }
            | TimelineEntry::Note { at, .. }
            | TimelineEntry::Vitals { at, .. }
            | TimelineEntry::Problem { at, .. }
            | TimelineEntry::Prescription { at, .. }
            | TimelineEntry::Vaccination { at, .. } => *at,
        }
    }
}

/// Query of `GET /api/patients/{id}/timeline`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TimelineQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page (older entries).
    pub cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: serde_json::Value) -> CreateVisit {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_walk_in_needs_patient_vet_type_and_complaint() {
        let p = PatientId::from_u128(1);
        let s = StaffId::from_u128(2);
        let e = body(serde_json::json!({ "patient_id": p, "vet_id": s, "type": "sick" })).validate().unwrap_err();
        assert_eq!(e.field, "chief_complaint");
        let e = body(serde_json::json!({ "patient_id": p, "type": "sick", "chief_complaint": "x" }))
            .validate()
            .unwrap_err();
        assert_eq!(e.field, "vet_id");
        let d =
            body(serde_json::json!({ "patient_id": p, "vet_id": s, "type": "sick", "chief_complaint": " Vomiting " }))
                .validate()
                .unwrap();
        assert!(matches!(d, VisitDraft::WalkIn { ref chief_complaint, .. } if chief_complaint == "Vomiting"));
    }

    #[test]
    fn from_an_appointment_the_rest_is_taken_from_it() {
        let a = AppointmentId::from_u128(3);
        let e = body(serde_json::json!({ "appointment_id": a, "type": "sick" })).validate().unwrap_err();
        assert_eq!(e.field, "type");
        let d = body(serde_json::json!({ "appointment_id": a })).validate().unwrap();
        assert_eq!(d, VisitDraft::FromAppointment { appointment_id: a, chief_complaint: None });
    }

    #[test]
    fn appointment_types_map_to_visit_types() {
        let t = |name: &str, room: RoomKind| AppointmentType {
            id: AppointmentTypeId::from_u128(1),
            name: name.into(),
            duration_minutes: 30,
            color: "#000000".into(),
            bookable_online: false,
            buffer_after_minutes: 0,
            room_kind: Some(room),
            requires_capability: None,
            active: true,
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
        };
        let of = |name, room| VisitType::of_appointment_type(&t(name, room));
        assert_eq!(of("Wellness exam", RoomKind::Exam), VisitType::Wellness);
        assert_eq!(of("New kitten visit", RoomKind::Exam), VisitType::Wellness);
        assert_eq!(of("Vaccination", RoomKind::Exam), VisitType::Wellness);
        assert_eq!(of("Sick visit", RoomKind::Exam), VisitType::Sick);
        assert_eq!(of("Recheck", RoomKind::Exam), VisitType::FollowUp);
        assert_eq!(of("Dental cleaning", RoomKind::Dental), VisitType::Dental);
        assert_eq!(of("Spay or neuter", RoomKind::Surgery), VisitType::Surgery);
        assert_eq!(of("Nail trim", RoomKind::Exam), VisitType::Other);
        assert_eq!(of("Mass removal", RoomKind::Surgery), VisitType::Surgery);
    }

    #[test]
    fn hours_parse_with_or_without_h() {
        assert_eq!(parse_hours("x", "24h").unwrap(), 24);
        assert_eq!(parse_hours("x", "48").unwrap(), 48);
        assert_eq!(parse_hours("x", "0").unwrap_err().field, "x");
        assert!(parse_hours("x", "1d").is_err());
    }
}
