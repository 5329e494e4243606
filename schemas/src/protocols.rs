//! Protocols (templates of ordered, dated steps with costs: a dental cleaning, CKD monitoring,
//! a kitten series) and the treatment plans made by applying one to a cat. The stored records,
//! the request bodies and the pure rules: step offsets `0..=3650` days, a protocol has 1 to
//! [`MAX_STEPS`] steps, a plan step is settled (done or skipped) once, and every change to a
//! plan is a [`PlanRevision`] with who, when and why.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::appointments::Appointment;
use crate::errors::ValidationError;
use crate::ids::{
    AppointmentId, AppointmentTypeId, CatalogueItemId, LocationId, PatientId, ProtocolId, RoomId, StaffId,
    TreatmentPlanId, UserId, VisitId,
};
use crate::money::{Cents, MAX_AMOUNT};
use crate::records::Record;
use crate::values::{MAX_NAME_CHARS, note_text, optional_text, required_text};

/// Most steps in one protocol or plan (a kitten series with boosters is about ten).
pub const MAX_STEPS: usize = 100;
/// The latest day a step may fall on, counted from the plan's start (ten years).
pub const MAX_OFFSET_DAYS: u32 = 3650;
/// Longest reminder lead (a quarter of a year).
pub const MAX_LEAD_DAYS: u32 = 90;
/// Longest appointment a step may ask for.
pub const MAX_DURATION_MINUTES: u32 = 480;
/// Longest reason of a plan change.
pub const MAX_REASON_CHARS: usize = 500;

/// What a step is; shown on the timeline and used to pick its icon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    Exam,
    Procedure,
    Lab,
    Vaccination,
    Medication,
    Recheck,
    Other,
}

impl StepKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Exam => "exam",
            StepKind::Procedure => "procedure",
            StepKind::Lab => "lab",
            StepKind::Vaccination => "vaccination",
            StepKind::Medication => "medication",
            StepKind::Recheck => "recheck",
            StepKind::Other => "other",
        }
    }
}

/// One step of a protocol: what, on which day after the plan's start, and what it costs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProtocolStep {
    pub title: String,
    pub kind: StepKind,
    /// Days after the plan's start (0 = the start date).
    pub day_offset: u32,
    /// The catalogue item it is charged as, when there is one.
    pub catalogue_item_id: Option<CatalogueItemId>,
    /// Estimated cost, cents: the catalogue item's price when the step was saved, or typed.
    pub cost: Cents,
    pub appointment_type_id: Option<AppointmentTypeId>,
    pub duration_minutes: Option<u32>,
    /// Days before the step's date the owner is reminded (`None`: no reminder).
    pub reminder_lead_days: Option<u32>,
}

/// A step as a request gives it. `cost` (cents) is required unless a catalogue item gives it.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepInput {
    pub title: String,
    pub kind: StepKind,
    /// 0..=3650.
    pub day_offset: i64,
    #[serde(default)]
    pub catalogue_item_id: Option<CatalogueItemId>,
    #[serde(default)]
    pub cost: Option<Cents>,
    #[serde(default)]
    pub appointment_type_id: Option<AppointmentTypeId>,
    #[serde(default)]
    pub duration_minutes: Option<i64>,
    #[serde(default)]
    pub reminder_lead_days: Option<i64>,
}

/// A validated step whose cost may still come from its catalogue item.
#[derive(Debug, Clone, PartialEq)]
pub struct StepDraft {
    pub step: ProtocolStep,
    /// True when the cost must be read from the catalogue item.
    pub cost_from_catalogue: bool,
}

fn bounded(field: &str, v: i64, max: u32) -> Result<u32, ValidationError> {
    u32::try_from(v)
        .ok()
        .filter(|n| *n <= max)
        .ok_or_else(|| ValidationError::new(field, format!("must be a whole number from 0 to {max}")))
}

impl StepInput {
    /// Validates one step (fields named without their position; see [`validate_steps`]).
    pub fn validate(&self) -> Result<StepDraft, ValidationError> {
        let cost = match (self.cost, self.catalogue_item_id) {
            (Some(c), _) => {
                if c.is_negative() || c > MAX_AMOUNT {
                    return Err(ValidationError::new("cost", "must be from 0 to 1000000000 cents"));
                }
                c
            }
            (None, Some(_)) => Cents::ZERO,
            (None, None) => return Err(ValidationError::new("cost", "is required without a catalogue item")),
        };
        let duration_minutes = match self.duration_minutes {
            Some(d) => Some(bounded("duration_minutes", d, MAX_DURATION_MINUTES)?)
                .filter(|d| *d > 0)
                .map(Some)
                .ok_or_else(|| ValidationError::new("duration_minutes", "must be from 1 to 480"))?,
            None => None,
        };
        Ok(StepDraft {
            step: ProtocolStep {
                title: required_text("title", &self.title, MAX_NAME_CHARS)?,
                kind: self.kind,
                day_offset: bounded("day_offset", self.day_offset, MAX_OFFSET_DAYS)?,
                catalogue_item_id: self.catalogue_item_id,
                cost,
                appointment_type_id: self.appointment_type_id,
                duration_minutes,
                reminder_lead_days: self
                    .reminder_lead_days
                    .map(|d| bounded("reminder_lead_days", d, MAX_LEAD_DAYS))
                    .transpose()?,
            },
            cost_from_catalogue: self.cost.is_none(),
        })
    }
}

/// Validates a protocol's steps: 1 to [`MAX_STEPS`], each valid (errors name `steps[i].field`);
/// they are kept ordered by day (stable, so steps of one day keep the order given).
pub fn validate_steps(steps: &[StepInput]) -> Result<Vec<StepDraft>, ValidationError> {
    if steps.is_empty() {
        return Err(ValidationError::new("steps", "a protocol needs at least one step"));
    }
    if steps.len() > MAX_STEPS {
        return Err(ValidationError::new("steps", format!("at most {MAX_STEPS} steps")));
    }
    let mut out = steps
        .iter()
        .enumerate()
        .map(|(i, s)| s.validate().map_err(|e| e.within(&format!("steps[{i}]"))))
        .collect::<Result<Vec<_>, _>>()?;
    out.sort_by_key(|d| d.step.day_offset);
    Ok(out)
}

/// A protocol as stored and returned. Editing it makes a new `version`; plans copy the steps
/// of the version they were made from, so later edits never change them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Protocol {
    pub id: ProtocolId,
    pub name: String,
    /// Which cats it suits ("adult cats with CKD, IRIS stage 2-3").
    pub species_note: Option<String>,
    pub description: Option<String>,
    pub active: bool,
    /// 1 at creation, one more at each edit.
    pub version: u32,
    pub steps: Vec<ProtocolStep>,
    /// The built-in starter it was copied from, if any (`dental_cleaning`).
    pub starter: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: Option<UserId>,
}

impl Record for Protocol {
    const KIND: &'static str = "protocol";
    const VERSION: u16 = 1;
}

impl Protocol {
    /// The sum of the steps' estimated costs.
    pub fn estimated_total(&self) -> Cents {
        Cents::sum(self.steps.iter().map(|s| s.cost)).unwrap_or(MAX_AMOUNT)
    }
}

/// Body of `POST /api/protocols`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProtocol {
    pub name: String,
    #[serde(default)]
    pub species_note: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Default true.
    #[serde(default)]
    pub active: Option<bool>,
    pub steps: Vec<StepInput>,
}

/// The validated content of a protocol (a creation or a new version).
#[derive(Debug, Clone, PartialEq)]
pub struct ProtocolDraft {
    pub name: String,
    pub species_note: Option<String>,
    pub description: Option<String>,
    pub active: bool,
    pub steps: Vec<StepDraft>,
    pub starter: Option<String>,
}

impl CreateProtocol {
    pub fn validate(&self) -> Result<ProtocolDraft, ValidationError> {
        Ok(ProtocolDraft {
            name: required_text("name", &self.name, MAX_NAME_CHARS)?,
            species_note: optional_text("species_note", self.species_note.as_deref(), MAX_NAME_CHARS * 2)?,
            description: note_text("description", self.description.as_deref())?,
            active: self.active.unwrap_or(true),
            steps: validate_steps(&self.steps)?,
            starter: None,
        })
    }
}

/// Body of `PATCH /api/protocols/{id}`: absent fields stay; `steps` replaces every step.
/// Any change makes a new version.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProtocol {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub species_note: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    pub steps: Option<Vec<StepInput>>,
}

/// The validated patch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProtocolPatch {
    pub name: Option<String>,
    pub species_note: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub active: Option<bool>,
    pub steps: Option<Vec<StepDraft>>,
}

impl UpdateProtocol {
    pub fn validate(&self) -> Result<ProtocolPatch, ValidationError> {
        Ok(ProtocolPatch {
            name: self.name.as_deref().map(|n| required_text("name", n, MAX_NAME_CHARS)).transpose()?,
            species_note: self
                .species_note
                .as_deref()
                .map(|s| optional_text("species_note", Some(s), MAX_NAME_CHARS * 2))
                .transpose()?,
            description: self.description.as_deref().map(|s| note_text("description", Some(s))).transpose()?,
            active: self.active,
            steps: self.steps.as_deref().map(validate_steps).transpose()?,
        })
    }
}

/// Query of `GET /api/protocols`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ProtocolListQuery {
    /// `true`: active ones only.
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    pub limit: Option<i64>,
    #[serde(default)]
    pub cursor: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Treatment plans

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    Active,
    /// Every step is done or skipped.
    Completed,
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Planned,
    /// Linked to an appointment.
    Booked,
    Done,
    Skipped,
}

impl StepStatus {
    pub fn is_settled(self) -> bool {
        matches!(self, StepStatus::Done | StepStatus::Skipped)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Planned => "planned",
            StepStatus::Booked => "booked",
            StepStatus::Done => "done",
            StepStatus::Skipped => "skipped",
        }
    }
}

/// One step of a plan: the protocol's step on its date, and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlanStep {
    /// The step's number in its plan (1, 2, ...; never reused, so a removed step's number
    /// stays free).
    pub number: u32,
    pub title: String,
    pub kind: StepKind,
    /// The clinic's local date it is due.
    pub date: Date,
    pub catalogue_item_id: Option<CatalogueItemId>,
    /// Estimated cost, cents.
    pub cost: Cents,
    pub appointment_type_id: Option<AppointmentTypeId>,
    pub duration_minutes: Option<u32>,
    pub reminder_lead_days: Option<u32>,
    pub status: StepStatus,
    pub appointment_id: Option<AppointmentId>,
    /// The visit it was done in (its charges are the step's actual cost).
    pub visit_id: Option<VisitId>,
    /// Why it was skipped.
    pub reason: Option<String>,
    /// Who settled or booked it, and when.
    pub by: Option<UserId>,
    pub at: Option<Timestamp>,
}

impl PlanStep {
    /// The protocol step scheduled from `start`.
    pub fn scheduled(number: u32, s: &ProtocolStep, start: Date) -> Result<PlanStep, ValidationError> {
        let date = start
            .checked_add(jiff::Span::new().days(i64::from(s.day_offset)))
            .map_err(|_| ValidationError::new("start_date", "puts a step past the calendar's end"))?;
        Ok(PlanStep {
            number,
            title: s.title.clone(),
            kind: s.kind,
            date,
            catalogue_item_id: s.catalogue_item_id,
            cost: s.cost,
            appointment_type_id: s.appointment_type_id,
            duration_minutes: s.duration_minutes,
            reminder_lead_days: s.reminder_lead_days,
            status: StepStatus::Planned,
            appointment_id: None,
            visit_id: None,
            reason: None,
            by: None,
            at: None,
        })
    }

    /// The local date its reminder is due, if it has one.
    pub fn reminder_on(&self) -> Option<Date> {
        let lead = self.reminder_lead_days?;
        self.date.checked_sub(jiff::Span::new().days(i64::from(lead))).ok()
    }
}

/// What a revision changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RevisionKind {
    Created,
    StepMoved,
    StepAdded,
    StepRemoved,
    StepBooked,
    StepDone,
    StepSkipped,
    Completed,
    Cancelled,
}

/// One entry of a plan's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlanRevision {
    /// 1, 2, ... in order.
    pub number: u32,
    pub kind: RevisionKind,
    /// The step concerned, if any.
    pub step: Option<u32>,
    /// What changed, in words ("moved from 2026-12-13 to 2026-12-20").
    pub detail: String,
    /// Why (required for moves, additions, removals, skips and cancelling).
    pub reason: Option<String>,
    pub by: Option<UserId>,
    pub at: Timestamp,
}

/// A treatment plan: a protocol's version applied to one cat from a start date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TreatmentPlan {
    pub id: TreatmentPlanId,
    pub patient_id: PatientId,
    pub protocol_id: ProtocolId,
    /// The protocol version its steps were copied from.
    pub protocol_version: u32,
    pub name: String,
    pub start_date: Date,
    pub status: PlanStatus,
    pub steps: Vec<PlanStep>,
    pub history: Vec<PlanRevision>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: Option<UserId>,
}

impl Record for TreatmentPlan {
    const KIND: &'static str = "treatment_plan";
    const VERSION: u16 = 1;
}

impl TreatmentPlan {
    /// The sum of the steps' estimated costs (skipped steps left out).
    pub fn estimated_total(&self) -> Cents {
        let costs = self.steps.iter().filter(|s| s.status != StepStatus::Skipped).map(|s| s.cost);
        Cents::sum(costs).unwrap_or(MAX_AMOUNT)
    }

    /// `(done, total)`: skipped steps count as neither.
    pub fn progress(&self) -> (usize, usize) {
        let counted = self.steps.iter().filter(|s| s.status != StepStatus::Skipped);
        let (done, total) = counted.fold((0, 0), |(d, t), s| (d + usize::from(s.status == StepStatus::Done), t + 1));
        (done, total)
    }

    pub fn step(&self, number: u32) -> Option<&PlanStep> {
        self.steps.iter().find(|s| s.number == number)
    }

    /// The next free step number.
    pub fn next_number(&self) -> u32 {
        self.steps.iter().map(|s| s.number).max().unwrap_or(0).max(self.history_max_step()) + 1
    }

    fn history_max_step(&self) -> u32 {
        self.history.iter().filter_map(|r| r.step).max().unwrap_or(0)
    }
}

/// Body of `POST /api/treatment-plans`: apply a protocol to a cat.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePlan {
    pub patient_id: PatientId,
    pub protocol_id: ProtocolId,
    /// The clinic's local date of day 0; default today.
    #[serde(default)]
    pub start_date: Option<Date>,
}

/// Body of `POST /api/treatment-plans/{id}/changes`: one change, kept in the history.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum PlanChange {
    /// Link a step to an appointment booked for this cat (`POST /api/appointments`).
    Book {
        step: u32,
        appointment_id: AppointmentId,
    },
    /// Mark a step done, optionally naming the visit it was done in.
    Done {
        step: u32,
        #[serde(default)]
        visit_id: Option<VisitId>,
    },
    Skip {
        step: u32,
        reason: String,
    },
    Move {
        step: u32,
        date: Date,
        reason: String,
    },
    /// A new step on the plan's start + `day_offset`.
    Add {
        step: StepInput,
        reason: String,
    },
    Remove {
        step: u32,
        reason: String,
    },
    Cancel {
        reason: String,
    },
}

/// Body of `POST /api/treatment-plans/{id}/bookings`: book an appointment for a step (of the
/// step's appointment type, for the plan's cat and its owner) and link it, in one request.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookStep {
    /// The step's number; it must have an appointment type.
    pub step: u32,
    /// The vet seen (the slot's, from `GET .../offer`).
    #[serde(default)]
    pub vet_id: Option<StaffId>,
    #[serde(default)]
    pub room_id: Option<RoomId>,
    /// Needed when neither a room nor a single location tells where.
    #[serde(default)]
    pub location_id: Option<LocationId>,
    /// ISO 8601 with offset, e.g. `2026-12-01T09:00:00-05:00`.
    pub start: Timestamp,
    #[serde(default)]
    pub notes: Option<String>,
    /// Book over a conflict (needs `appointments:overbook`; audited).
    #[serde(default)]
    pub overbook: bool,
}

/// Answer of `POST /api/treatment-plans/{id}/bookings`: the appointment booked and the plan
/// with the step linked to it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StepBooked {
    /// The appointment booked (`Location` names it).
    pub appointment: Appointment,
    /// The plan as `GET /api/treatment-plans/{id}` answers it, the step booked.
    pub view: PlanView,
}

/// A required reason, trimmed, at most [`MAX_REASON_CHARS`].
pub fn reason(value: &str) -> Result<String, ValidationError> {
    required_text("reason", value, MAX_REASON_CHARS)
}

/// A plan as `GET /api/treatment-plans/{id}` answers it: the record with its progress and
/// its estimated and actual cost.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PlanView {
    pub plan: TreatmentPlan,
    /// Steps done (skipped steps count as neither done nor to do).
    pub done: usize,
    pub total: usize,
    /// The steps' estimated costs, skipped ones left out.
    pub estimated_total: Cents,
    /// What was charged: the totals of the invoices (not void) of the visits its done steps
    /// name.
    pub actual_total: Cents,
}

/// Query of `GET /api/treatment-plans/{id}/offer`.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OfferQuery {
    pub step: u32,
    /// Needed when the clinic has several locations.
    #[serde(default)]
    pub location_id: Option<crate::ids::LocationId>,
    /// Days either side of the step's date searched (default 3, at most 14).
    #[serde(default)]
    pub window_days: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(offset: i64) -> StepInput {
        StepInput {
            title: "Recheck".into(),
            kind: StepKind::Recheck,
            day_offset: offset,
            catalogue_item_id: None,
            cost: Some(Cents::new(4500)),
            appointment_type_id: None,
            duration_minutes: None,
            reminder_lead_days: Some(3),
        }
    }

    #[test]
    fn offsets_are_checked_and_steps_are_ordered_by_day() {
        for (bad, field) in
            [(-1, "steps[0].day_offset"), (3651, "steps[0].day_offset"), (i64::MAX, "steps[0].day_offset")]
        {
            let e = validate_steps(&[step(bad)]).unwrap_err();
            assert_eq!(e.field, field, "{bad}");
        }
        let ok = validate_steps(&[step(21), step(0), step(3650)]).unwrap();
        let days: Vec<u32> = ok.iter().map(|d| d.step.day_offset).collect();
        assert_eq!(days, [0, 21, 3650]);
        assert_eq!(validate_steps(&[]).unwrap_err().field, "steps");
        let mut free = step(0);
        free.cost = None;
        assert_eq!(validate_steps(&[free]).unwrap_err().field, "steps[0].cost");
    }

    #[test]
    fn a_plan_counts_progress_and_cost_without_skipped_steps() {
        let p = ProtocolStep {
            title: "Bloods".into(),
            kind: StepKind::Lab,
            day_offset: 7,
            catalogue_item_id: None,
            cost: Cents::new(10_000),
            appointment_type_id: None,
            duration_minutes: None,
            reminder_lead_days: Some(2),
        };
        let start = jiff::civil::date(2026, 12, 30);
        let mut a = PlanStep::scheduled(1, &p, start).unwrap();
        assert_eq!(a.date, jiff::civil::date(2027, 1, 6));
        assert_eq!(a.reminder_on(), Some(jiff::civil::date(2027, 1, 4)));
        let mut b = a.clone();
        b.number = 2;
        b.status = StepStatus::Skipped;
        a.status = StepStatus::Done;
        let mut c = a.clone();
        c.number = 3;
        c.status = StepStatus::Planned;
        let plan = TreatmentPlan {
            id: TreatmentPlanId::from_u128(1),
            patient_id: PatientId::from_u128(2),
            protocol_id: ProtocolId::from_u128(3),
            protocol_version: 1,
            name: "x".into(),
            start_date: start,
            status: PlanStatus::Active,
            steps: vec![a, b, c],
            history: Vec::new(),
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
            created_by: None,
        };
        assert_eq!(plan.progress(), (1, 2));
        assert_eq!(plan.estimated_total(), Cents::new(20_000));
        assert_eq!(plan.next_number(), 4);
    }
}
