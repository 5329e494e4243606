//! The hospital ward: wards with their cages, admissions of a cat to a ward and cage, and the
//! admission's treatment sheet (scheduled treatments expanded to a grid of due slots in the
//! clinic's zone, each slot marked done or skipped with who and when). Pure rules: validation,
//! the schedule's expansion (DST-correct with jiff) and the overdue rule.

use jiff::civil::Time;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::errors::ValidationError;
use crate::ids::{
    AdmissionId, CatalogueItemId, LocationId, PatientId, PrescriptionId, StaffId, TreatmentId, UserId, VisitId,
    VitalsId, WardId,
};
use crate::records::Record;
use crate::values::{MAX_NAME_CHARS, optional_text, required_text};

/// Most cages a ward lists.
pub const MAX_CAGES: usize = 100;
/// The longest interval a schedule may repeat at (a week).
pub const MAX_EVERY_HOURS: u32 = 168;
/// Most listed times of day in a schedule.
pub const MAX_TIMES: usize = 24;
/// The highest fluid rate accepted, in mL/h: a shock bolus of a large cat (60 mL/kg/h × 8 kg
/// is 480); more is a typing error (a litre an hour would drown a cat).
pub const MAX_FLUID_RATE_ML_H: f64 = 500.0;
/// Minutes after its due time a slot not done becomes overdue, unless the ward says otherwise.
pub const DEFAULT_OVERDUE_MINUTES: u32 = 30;
/// Most slots one expansion yields (a runaway schedule stops here).
pub const MAX_SLOTS: usize = 2_000;

/// A ward of a location, with its cages (kennels).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Ward {
    pub id: WardId,
    pub location_id: LocationId,
    pub name: String,
    /// Cage names, as shown on the board, in order.
    pub cages: Vec<String>,
    /// Cages out of use (cleaning, broken): listed, but they take no cat.
    #[serde(default)]
    pub inactive_cages: Vec<String>,
    /// The catalogue item charged once per day (or part of a day) of a stay, if any.
    pub daily_item_id: Option<CatalogueItemId>,
    /// Minutes after due a slot not done is overdue.
    pub overdue_after_minutes: u32,
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: Option<UserId>,
}

impl Record for Ward {
    const KIND: &'static str = "ward";
    const VERSION: u16 = 1;
}

/// Body of `POST /api/wards`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWard {
    pub location_id: LocationId,
    pub name: String,
    pub cages: Vec<String>,
    #[serde(default)]
    pub daily_item_id: Option<CatalogueItemId>,
    /// Default 30.
    #[serde(default)]
    pub overdue_after_minutes: Option<u32>,
}

impl CreateWard {
    /// Validates the body into a ward (the location is checked by the decision).
    pub fn validate(&self, id: WardId, now: Timestamp, by: Option<UserId>) -> Result<Ward, ValidationError> {
        let name = required_text("name", &self.name, MAX_NAME_CHARS)?;
        if self.cages.is_empty() || self.cages.len() > MAX_CAGES {
            return Err(ValidationError::new("cages", format!("a ward has 1 to {MAX_CAGES} cages")));
        }
        let mut cages: Vec<String> = Vec::with_capacity(self.cages.len());
        for c in &self.cages {
            let c = required_text("cages", c, MAX_NAME_CHARS)?;
            if cages.iter().any(|x| x.eq_ignore_ascii_case(&c)) {
                return Err(ValidationError::new("cages", format!("cage {c:?} is listed twice")));
            }
            cages.push(c);
        }
        let overdue = self.overdue_after_minutes.unwrap_or(DEFAULT_OVERDUE_MINUTES);
        if !(1..=24 * 60).contains(&overdue) {
            return Err(ValidationError::new("overdue_after_minutes", "must be 1 to 1440 minutes"));
        }
        Ok(Ward {
            id,
            location_id: self.location_id,
            name,
            cages,
            inactive_cages: Vec::new(),
            daily_item_id: self.daily_item_id,
            overdue_after_minutes: overdue,
            active: true,
            created_at: now,
            updated_at: now,
            created_by: by,
        })
    }
}

impl Ward {
    /// The ward's own spelling of `name` if it is one of its cages (any case).
    pub fn cage(&self, name: &str) -> Option<&String> {
        self.cages.iter().find(|c| c.eq_ignore_ascii_case(name.trim()))
    }

    /// Whether the cage (the ward's spelling) is out of use.
    pub fn is_inactive(&self, cage: &str) -> bool {
        self.inactive_cages.iter().any(|c| c.eq_ignore_ascii_case(cage))
    }
}

/// One cage of `PATCH /api/wards/{id}`: its name, the name it had (a rename), and whether it
/// takes cats.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CageEdit {
    pub name: String,
    /// The cage's current name when it is renamed.
    #[serde(default)]
    pub from: Option<String>,
    /// Default true; false: out of use.
    #[serde(default)]
    pub active: Option<bool>,
}

/// Body of `PATCH /api/wards/{id}`. `cages`, when given, is the whole new list in order: a
/// cage left out is removed.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWard {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub cages: Option<Vec<CageEdit>>,
    #[serde(default)]
    pub overdue_after_minutes: Option<u32>,
}

/// A ward edit applied: the new ward, the changed fields, and the old names of the cages it
/// takes out of use (removed, renamed or deactivated), which must be empty.
#[derive(Debug, Clone, PartialEq)]
pub struct WardEdit {
    pub ward: Ward,
    pub changed: Vec<&'static str>,
    pub vacated: Vec<String>,
}

impl UpdateWard {
    /// Applies the edit to `ward` (the occupied cages are checked by the caller).
    pub fn apply(&self, ward: &Ward, now: Timestamp) -> Result<WardEdit, ValidationError> {
        let mut new = ward.clone();
        let mut changed = Vec::new();
        let mut vacated = Vec::new();
        if let Some(n) = &self.name {
            new.name = required_text("name", n, MAX_NAME_CHARS)?;
            changed.push("name");
        }
        if let Some(m) = self.overdue_after_minutes {
            if !(1..=24 * 60).contains(&m) {
                return Err(ValidationError::new("overdue_after_minutes", "must be 1 to 1440 minutes"));
            }
            new.overdue_after_minutes = m;
            changed.push("overdue_after_minutes");
        }
        if let Some(edits) = &self.cages {
            if edits.is_empty() || edits.len() > MAX_CAGES {
                return Err(ValidationError::new("cages", format!("a ward has 1 to {MAX_CAGES} cages")));
            }
            let mut cages: Vec<String> = Vec::with_capacity(edits.len());
            let mut inactive = Vec::new();
            // The old cage each new one continues (itself, or the one it renames).
            let mut kept: Vec<&String> = Vec::new();
            for e in edits {
                let name = required_text("cages", &e.name, MAX_NAME_CHARS)?;
                if cages.iter().any(|c| c.eq_ignore_ascii_case(&name)) {
                    return Err(ValidationError::new("cages", format!("cage {name:?} is listed twice")));
                }
                let old =
                    match &e.from {
                        Some(f) => Some(ward.cage(f).ok_or_else(|| {
                            ValidationError::new("cages", format!("{f:?} is not a cage of this ward"))
                        })?),
                        None => ward.cage(&name),
                    };
                if let Some(o) = old {
                    if kept.contains(&o) {
                        return Err(ValidationError::new("cages", format!("cage {o:?} is renamed twice")));
                    }
                    kept.push(o);
                    let active = e.active.unwrap_or(true);
                    if *o != name || (!active && !ward.is_inactive(o)) {
                        vacated.push(o.clone());
                    }
                }
                if !e.active.unwrap_or(true) {
                    inactive.push(name.clone());
                }
                cages.push(name);
            }
            vacated.extend(ward.cages.iter().filter(|c| !kept.contains(c)).cloned());
            new.cages = cages;
            new.inactive_cages = inactive;
            changed.push("cages");
        }
        if changed.is_empty() {
            return Err(ValidationError::new("name", "nothing to change: give name, cages or overdue_after_minutes"));
        }
        new.updated_at = now;
        Ok(WardEdit { ward: new, changed, vacated })
    }
}

/// Body of `POST /api/admissions/{id}/move`: to another cage of the same ward, or to a cage of
/// another ward of the same location.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveAdmission {
    /// Default: the cat's ward.
    #[serde(default)]
    pub ward_id: Option<WardId>,
    pub cage: String,
}

/// Body of `POST /api/admissions/{id}/treatments/{treatment_id}/stop`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StopTreatment {
    pub reason: String,
}

impl StopTreatment {
    pub fn reason(&self) -> Result<String, ValidationError> {
        required_text("reason", &self.reason, 500)
    }
}

/// Whether a cat is still in the ward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdmissionStatus {
    Admitted,
    Discharged,
}

/// A cat's stay in a ward: its cage, why, under which vet, its treatment sheet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Admission {
    pub id: AdmissionId,
    pub ward_id: WardId,
    pub cage: String,
    pub patient_id: PatientId,
    /// The visit the cat was admitted from: treatments' charges go on its invoice.
    pub visit_id: VisitId,
    pub reason: String,
    pub attending_vet_id: StaffId,
    pub status: AdmissionStatus,
    pub admitted_at: Timestamp,
    pub discharged_at: Option<Timestamp>,
    pub discharge_note: Option<String>,
    /// The treatment sheet: what is scheduled.
    pub treatments: Vec<Treatment>,
    /// What was done or skipped, one mark per slot.
    pub marks: Vec<SlotMark>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: Option<UserId>,
}

impl Record for Admission {
    const KIND: &'static str = "admission";
    const VERSION: u16 = 1;
}

/// Body of `POST /api/admissions`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAdmission {
    pub ward_id: WardId,
    pub cage: String,
    pub visit_id: VisitId,
    pub reason: String,
    /// Default: the visit's vet.
    #[serde(default)]
    pub attending_vet_id: Option<StaffId>,
}

/// Body of `POST /api/admissions/{id}/discharge`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Discharge {
    #[serde(default)]
    pub note: Option<String>,
}

impl Discharge {
    pub fn note(&self) -> Result<Option<String>, ValidationError> {
        optional_text("note", self.note.as_deref(), 2_000)
    }
}

/// Where a drug or fluid goes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    Oral,
    Iv,
    Sc,
    Im,
    Topical,
    Ocular,
    Inhaled,
}

/// What a check looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// Vital signs, entered through the vitals record.
    Vitals,
    PainScore,
    Litter,
    Urine,
    Faeces,
}

/// What a treatment is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TreatmentKind {
    Medication {
        drug: String,
        dose: String,
        route: Route,
        #[serde(default)]
        prescription_id: Option<PrescriptionId>,
    },
    Fluids {
        fluid: String,
        rate_ml_per_h: f64,
        route: Route,
    },
    Feeding {
        food: String,
        amount: String,
    },
    Check {
        check: CheckKind,
    },
}

impl TreatmentKind {
    /// Checks the texts and the fluid rate; answers the kind with its texts trimmed.
    pub fn validate(&self) -> Result<TreatmentKind, ValidationError> {
        let t = |f: &str, v: &str| required_text(f, v, MAX_NAME_CHARS);
        Ok(match self {
            TreatmentKind::Medication { drug, dose, route, prescription_id } => TreatmentKind::Medication {
                drug: t("treatment.drug", drug)?,
                dose: t("treatment.dose", dose)?,
                route: *route,
                prescription_id: *prescription_id,
            },
            TreatmentKind::Fluids { fluid, rate_ml_per_h, route } => {
                if !rate_ml_per_h.is_finite() || *rate_ml_per_h <= 0.0 || *rate_ml_per_h > MAX_FLUID_RATE_ML_H {
                    return Err(ValidationError::new(
                        "treatment.rate_ml_per_h",
                        format!("must be more than 0 and at most {MAX_FLUID_RATE_ML_H} mL/h"),
                    ));
                }
                TreatmentKind::Fluids {
                    fluid: t("treatment.fluid", fluid)?,
                    rate_ml_per_h: *rate_ml_per_h,
                    route: *route,
                }
            }
            TreatmentKind::Feeding { food, amount } => {
                TreatmentKind::Feeding { food: t("treatment.food", food)?, amount: t("treatment.amount", amount)? }
            }
            TreatmentKind::Check { check } => TreatmentKind::Check { check: *check },
        })
    }

    /// One line for the board ("Buprenorphine 0.02 mg/kg oral").
    pub fn label(&self) -> String {
        match self {
            TreatmentKind::Medication { drug, dose, route, .. } => format!("{drug} {dose} {}", route_name(*route)),
            TreatmentKind::Fluids { fluid, rate_ml_per_h, route } => {
                format!("{fluid} {rate_ml_per_h} mL/h {}", route_name(*route))
            }
            TreatmentKind::Feeding { food, amount } => format!("Feed {amount} {food}"),
            TreatmentKind::Check { check } => match check {
                CheckKind::Vitals => "Vitals".into(),
                CheckKind::PainScore => "Pain score".into(),
                CheckKind::Litter => "Litter tray".into(),
                CheckKind::Urine => "Urine".into(),
                CheckKind::Faeces => "Faeces".into(),
            },
        }
    }
}

fn route_name(r: Route) -> &'static str {
    match r {
        Route::Oral => "PO",
        Route::Iv => "IV",
        Route::Sc => "SC",
        Route::Im => "IM",
        Route::Topical => "topical",
        Route::Ocular => "ocular",
        Route::Inhaled => "inhaled",
    }
}

/// When a treatment is due: every N hours from `start`, or at listed local times of day from
/// `start`'s day; never after `until` (or the treatment's stop, or the discharge).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    pub start: Timestamp,
    /// Every N elapsed hours (8 h is 8 h across a clock change).
    #[serde(default)]
    pub every_hours: Option<u32>,
    /// Local times of day in the clinic's zone ("08:00", "20:00"): wall-clock times, so a
    /// clock change moves them with the clinic.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub times: Vec<Time>,
    #[serde(default)]
    pub until: Option<Timestamp>,
}

impl Schedule {
    /// Exactly one of `every_hours` (1 to 168) and `times` (1 to 24, distinct); `until`
    /// after `start`.
    pub fn validate(&self) -> Result<Schedule, ValidationError> {
        match (self.every_hours, self.times.is_empty()) {
            (Some(_), false) => {
                return Err(ValidationError::new("schedule", "give either every_hours or times, not both"));
            }
            (None, true) => return Err(ValidationError::new("schedule", "give every_hours or times")),
            (Some(h), true) if !(1..=MAX_EVERY_HOURS).contains(&h) => {
                return Err(ValidationError::new(
                    "schedule.every_hours",
                    format!("must be 1 to {MAX_EVERY_HOURS} hours"),
                ));
            }
            _ => {}
        }
        if self.times.len() > MAX_TIMES {
            return Err(ValidationError::new("schedule.times", format!("at most {MAX_TIMES} times a day")));
        }
        let mut times = self.times.clone();
        times.sort();
        times.dedup();
        if times.len() != self.times.len() {
            return Err(ValidationError::new("schedule.times", "a time is listed twice"));
        }
        if self.until.is_some_and(|u| u <= self.start) {
            return Err(ValidationError::new("schedule.until", "must be after start"));
        }
        Ok(Schedule { start: self.start, every_hours: self.every_hours, times, until: self.until })
    }

    /// The due instants in `[from, to)` (and before `until`), at most [`MAX_SLOTS`].
    pub fn slots(&self, tz: &TimeZone, from: Timestamp, to: Timestamp) -> Vec<Timestamp> {
        let end = self.until.map_or(to, |u| u.min(to));
        let mut out = Vec::new();
        if let Some(h) = self.every_hours {
            let step = SignedDuration::from_hours(i64::from(h.max(1)));
            // Skip straight to the first slot at or after `from`.
            let mut at = self.start;
            if from > self.start {
                let behind = from.duration_since(self.start).as_secs();
                let n = behind / step.as_secs();
                at = self.start + SignedDuration::from_secs(n * step.as_secs());
                if at < from {
                    at += step;
                }
            }
            while at < end && out.len() < MAX_SLOTS {
                out.push(at);
                at += step;
            }
            return out;
        }
        let first = from.max(self.start);
        let mut day = first.to_zoned(tz.clone()).date();
        while out.len() < MAX_SLOTS {
            let mut past_end = true;
            for t in &self.times {
                // A time in a spring-forward gap lands just after it (jiff's compatible rule);
                // in the autumn's repeated hour, the first of the two.
                let Ok(z) = day.to_datetime(*t).to_zoned(tz.clone()) else { continue };
                let at = z.timestamp();
                if at >= end {
                    continue;
                }
                past_end = false;
                if at >= first {
                    out.push(at);
                }
            }
            if past_end {
                break;
            }
            match day.checked_add(1.day()) {
                Ok(d) => day = d,
                Err(_) => break,
            }
        }
        out.truncate(MAX_SLOTS);
        out
    }

    /// Whether `at` is one of the schedule's due instants.
    pub fn is_due_at(&self, tz: &TimeZone, at: Timestamp) -> bool {
        self.slots(tz, at, at + SignedDuration::from_secs(1)).first() == Some(&at)
    }
}

/// A scheduled treatment of the sheet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Treatment {
    pub id: TreatmentId,
    pub treatment: TreatmentKind,
    pub schedule: Schedule,
    /// The catalogue item a done slot charges; none: an uncharged entry.
    pub catalogue_item_id: Option<CatalogueItemId>,
    pub notes: Option<String>,
    /// Stopped early: no slot is due from then.
    pub stopped_at: Option<Timestamp>,
    /// Why it was stopped.
    #[serde(default)]
    pub stop_reason: Option<String>,
    pub added_at: Timestamp,
    pub added_by: Option<UserId>,
}

impl Treatment {
    /// The due instants in `[from, to)`, cut at the stop and the discharge.
    pub fn slots(
        &self,
        tz: &TimeZone,
        from: Timestamp,
        to: Timestamp,
        discharged: Option<Timestamp>,
    ) -> Vec<Timestamp> {
        let mut to = to;
        for cut in [self.stopped_at, discharged].into_iter().flatten() {
            to = to.min(cut);
        }
        if to <= from {
            return Vec::new();
        }
        self.schedule.slots(tz, from, to)
    }
}

/// Body of `POST /api/admissions/{id}/treatments`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddTreatment {
    pub treatment: TreatmentKind,
    pub schedule: Schedule,
    #[serde(default)]
    pub catalogue_item_id: Option<CatalogueItemId>,
    #[serde(default)]
    pub notes: Option<String>,
}

impl AddTreatment {
    pub fn validate(&self, id: TreatmentId, now: Timestamp, by: Option<UserId>) -> Result<Treatment, ValidationError> {
        Ok(Treatment {
            id,
            treatment: self.treatment.validate()?,
            schedule: self.schedule.validate()?,
            catalogue_item_id: self.catalogue_item_id,
            notes: optional_text("notes", self.notes.as_deref(), 2_000)?,
            stopped_at: None,
            stop_reason: None,
            added_at: now,
            added_by: by,
        })
    }
}

/// What happened at a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SlotOutcome {
    Done,
    Skipped,
}

/// One slot marked: done (with the actual time, which may be a late entry) or skipped with a
/// reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SlotMark {
    pub treatment_id: TreatmentId,
    /// The slot's due instant (its key with the treatment).
    pub due: Timestamp,
    pub outcome: SlotOutcome,
    pub reason: Option<String>,
    /// When it was actually given or checked.
    pub at: Timestamp,
    pub by: Option<UserId>,
    /// When it was entered (later than `at` for a late entry).
    pub entered_at: Timestamp,
    /// The vitals taken for a vitals check.
    pub vitals_id: Option<VitalsId>,
    pub note: Option<String>,
}

/// Body of `POST /api/admissions/{id}/slots`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkSlot {
    pub treatment_id: TreatmentId,
    pub due: Timestamp,
    pub outcome: SlotOutcome,
    /// Required when skipped.
    #[serde(default)]
    pub reason: Option<String>,
    /// Default now; a late entry gives the time it was really done.
    #[serde(default)]
    pub at: Option<Timestamp>,
    #[serde(default)]
    pub note: Option<String>,
    /// For a vitals check: the measurements, recorded as the cat's vitals (same record,
    /// weight history) and linked to the slot.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub vitals: Option<crate::vitals::MeasurementsInput>,
}

/// Body of `POST /api/admissions/{id}/slots/pin`: a mark made on the ward's shared tablet,
/// with the username and PIN of the nurse who did it (the mark is hers, not the tablet's).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PinMark {
    /// The nurse's username.
    pub username: String,
    /// Her PIN (the exam-room tablet's, set with `PUT /api/auth/pin`).
    pub pin: String,
    /// The mark, as for `POST /api/admissions/{id}/slots`.
    pub mark: MarkSlot,
}

/// How far ahead of the clock a mark's `at` may be (a tablet's clock runs a little fast).
pub const MARK_FUTURE_SKEW: SignedDuration = SignedDuration::from_mins(5);

impl MarkSlot {
    /// The mark as it would be stored, checked against itself (the sheet checks the rest).
    pub fn validate(
        &self,
        now: Timestamp,
        by: Option<UserId>,
        vitals_id: Option<VitalsId>,
    ) -> Result<SlotMark, ValidationError> {
        let reason = optional_text("reason", self.reason.as_deref(), 500)?;
        if self.outcome == SlotOutcome::Skipped && reason.is_none() {
            return Err(ValidationError::new("reason", "is required to skip a treatment"));
        }
        if self.outcome == SlotOutcome::Skipped && self.vitals.is_some() {
            return Err(ValidationError::new("vitals", "a skipped check has no vitals"));
        }
        let at = self.at.unwrap_or(now);
        if at > now + MARK_FUTURE_SKEW {
            return Err(ValidationError::new("at", "is in the future"));
        }
        Ok(SlotMark {
            treatment_id: self.treatment_id,
            due: self.due,
            outcome: self.outcome,
            reason,
            at,
            by,
            entered_at: now,
            vitals_id,
            note: optional_text("note", self.note.as_deref(), 2_000)?,
        })
    }
}

/// Whether a slot due at `due` and not marked is overdue at `now`.
pub fn is_overdue(due: Timestamp, now: Timestamp, overdue_after_minutes: u32) -> bool {
    now >= due + SignedDuration::from_mins(i64::from(overdue_after_minutes))
}

/// One slot on the board.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BoardSlot {
    pub treatment_id: TreatmentId,
    pub label: String,
    pub due: Timestamp,
    /// `HH:MM` in the clinic's zone.
    pub due_local: String,
    pub overdue: bool,
}

/// A cage of the board: empty, or the cat in it with its next and overdue slots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BoardCage {
    pub cage: String,
    /// Out of use: takes no cat.
    #[serde(default)]
    pub inactive: bool,
    pub admission: Option<BoardAdmission>,
}

/// An admitted cat on the board: nothing of its owner (the board hangs on a wall).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BoardAdmission {
    pub admission_id: AdmissionId,
    pub patient_id: PatientId,
    pub patient_name: String,
    pub reason: String,
    /// Slots due before now and not marked (overdue or not yet), oldest first.
    pub pending: Vec<BoardSlot>,
    /// The next slots due from now (a few), soonest first.
    pub next: Vec<BoardSlot>,
}

/// `GET /api/wards/{id}/board`: the live grid of a ward.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WardBoard {
    pub ward_id: WardId,
    pub name: String,
    pub at: Timestamp,
    pub cages: Vec<BoardCage>,
    pub overdue_count: usize,
}

/// Builds a cat's slots for the board at `now`: every unmarked slot of the last day before
/// now (a sheet may start before the admission was entered), and the next `next_n` slots
/// within a day.
pub fn board_slots(
    a: &Admission,
    tz: &TimeZone,
    now: Timestamp,
    overdue_after_minutes: u32,
    next_n: usize,
) -> (Vec<BoardSlot>, Vec<BoardSlot>) {
    let day = SignedDuration::from_hours(24);
    let from = now - day;
    let mut pending = Vec::new();
    let mut next = Vec::new();
    for t in &a.treatments {
        let label = t.treatment.label();
        for due in t.slots(tz, from, now + day, a.discharged_at) {
            if a.marks.iter().any(|m| m.treatment_id == t.id && m.due == due) {
                continue;
            }
            let slot = BoardSlot {
                treatment_id: t.id,
                label: label.clone(),
                due,
                due_local: due.to_zoned(tz.clone()).strftime("%H:%M").to_string(),
                overdue: is_overdue(due, now, overdue_after_minutes),
            };
            if due <= now { pending.push(slot) } else { next.push(slot) }
        }
    }
    pending.sort_by_key(|s| s.due);
    next.sort_by_key(|s| s.due);
    next.truncate(next_n);
    (pending, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn every(h: u32) -> Schedule {
        Schedule { start: ts("2026-03-07T20:00:00Z"), every_hours: Some(h), times: vec![], until: None }
    }

    #[test]
    fn a_schedule_needs_a_positive_interval_or_times() {
        assert_eq!(every(0).validate().unwrap_err().field, "schedule.every_hours");
        assert_eq!(every(169).validate().unwrap_err().field, "schedule.every_hours");
        let none = Schedule { every_hours: None, ..every(1) };
        assert_eq!(none.validate().unwrap_err().field, "schedule");
        let both = Schedule { times: vec![Time::constant(8, 0, 0, 0)], ..every(8) };
        assert_eq!(both.validate().unwrap_err().field, "schedule");
        let back = Schedule { until: Some(ts("2026-03-07T19:00:00Z")), ..every(8) };
        assert_eq!(back.validate().unwrap_err().field, "schedule.until");
        assert!(every(8).validate().is_ok());
    }

    #[test]
    fn every_n_hours_counts_elapsed_hours_and_starts_at_the_first_slot_in_range() {
        let s = every(8);
        let tz = TimeZone::get("America/New_York").unwrap();
        // Across the spring-forward night (8 March 2026 in New York) slots stay 8 h apart.
        let slots = s.slots(&tz, ts("2026-03-08T00:00:00Z"), ts("2026-03-09T00:00:00Z"));
        assert_eq!(slots, vec![ts("2026-03-08T04:00:00Z"), ts("2026-03-08T12:00:00Z"), ts("2026-03-08T20:00:00Z")]);
        assert!(s.is_due_at(&tz, ts("2026-03-08T12:00:00Z")));
        assert!(!s.is_due_at(&tz, ts("2026-03-08T13:00:00Z")));
    }

    #[test]
    fn listed_times_follow_the_wall_clock_across_a_clock_change() {
        let tz = TimeZone::get("America/New_York").unwrap();
        let s = Schedule {
            start: ts("2026-03-07T05:00:00Z"),
            every_hours: None,
            times: vec![Time::constant(8, 0, 0, 0), Time::constant(2, 30, 0, 0)],
            until: Some(ts("2026-03-09T05:00:00Z")),
        }
        .validate()
        .unwrap();
        let slots = s.slots(&tz, ts("2026-03-01T00:00:00Z"), ts("2026-04-01T00:00:00Z"));
        let local: Vec<String> =
            slots.iter().map(|t| t.to_zoned(tz.clone()).strftime("%m-%d %H:%M %Z").to_string()).collect();
        // 08:00 is EST on the 7th and EDT on the 8th; 02:30 does not exist on the 8th and
        // lands at 03:30 EDT.
        assert_eq!(local, ["03-07 02:30 EST", "03-07 08:00 EST", "03-08 03:30 EDT", "03-08 08:00 EDT"]);
    }

    #[test]
    fn an_impossible_fluid_rate_is_refused() {
        for rate in [0.0, -5.0, 501.0, f64::NAN, f64::INFINITY] {
            let k = TreatmentKind::Fluids { fluid: "LRS".into(), rate_ml_per_h: rate, route: Route::Iv };
            assert_eq!(k.validate().unwrap_err().field, "treatment.rate_ml_per_h", "{rate}");
        }
        let ok = TreatmentKind::Fluids { fluid: "LRS".into(), rate_ml_per_h: 12.5, route: Route::Iv };
        assert!(ok.validate().is_ok());
    }

    fn ward() -> Ward {
        CreateWard {
            location_id: LocationId::from_u128(1),
            name: "Cat ward".into(),
            cages: vec!["C1".into(), "C2".into(), "C3".into()],
            daily_item_id: None,
            overdue_after_minutes: None,
        }
        .validate(WardId::from_u128(2), ts("2026-03-07T20:00:00Z"), None)
        .unwrap()
    }

    fn cage(name: &str, from: Option<&str>, active: bool) -> CageEdit {
        CageEdit { name: name.into(), from: from.map(Into::into), active: Some(active) }
    }

    #[test]
    fn a_ward_edit_adds_renames_and_deactivates_cages_and_names_the_ones_it_vacates() {
        let w = ward();
        let edit = UpdateWard {
            cages: Some(vec![cage("C1", None, true), cage("Kennel 2", Some("c2"), true), cage("C4", None, false)]),
            ..Default::default()
        };
        let e = edit.apply(&w, ts("2026-03-08T00:00:00Z")).unwrap();
        assert_eq!(e.ward.cages, ["C1", "Kennel 2", "C4"]);
        assert_eq!(e.ward.inactive_cages, ["C4"]);
        assert_eq!(e.vacated, ["C2", "C3"], "renamed C2, removed C3");
        let off = UpdateWard { cages: Some(vec![cage("C1", None, false)]), ..Default::default() };
        assert_eq!(off.apply(&w, ts("2026-03-08T00:00:00Z")).unwrap().vacated, ["C1", "C2", "C3"]);
        let twice =
            UpdateWard { cages: Some(vec![cage("A", None, true), cage("a", None, true)]), ..Default::default() };
        assert_eq!(twice.apply(&w, ts("2026-03-08T00:00:00Z")).unwrap_err().field, "cages");
        let unknown = UpdateWard { cages: Some(vec![cage("A", Some("Z9"), true)]), ..Default::default() };
        assert_eq!(unknown.apply(&w, ts("2026-03-08T00:00:00Z")).unwrap_err().field, "cages");
        assert_eq!(UpdateWard::default().apply(&w, ts("2026-03-08T00:00:00Z")).unwrap_err().field, "name");
    }

    #[test]
    fn overdue_is_thirty_minutes_after_due_by_default() {
        let due = ts("2026-03-07T20:00:00Z");
        assert!(!is_overdue(due, ts("2026-03-07T20:29:59Z"), DEFAULT_OVERDUE_MINUTES));
        assert!(is_overdue(due, ts("2026-03-07T20:30:00Z"), DEFAULT_OVERDUE_MINUTES));
    }
}
