//! Visits as a record kind: opening one (a walk-in, or from an appointment), changing it,
//! completing and voiding it (nothing is deleted), and which visits a list shows.
//!
//! A visit is opened only for a cat on file that is active (not inactive, not deceased); one
//! visit per appointment is a unique claim (`visit_appointment`), so the automatic opening
//! (see `follow.rs`) and a person opening it by hand never make two. Each visit is linked
//! under its cat (`visits_by_patient`, the timeline's source) and, until its note is signed
//! or it is voided, in `visits_unsigned` (the board's reminder). Its note draft is written in
//! the visit's own change set, from its type's template ([`RecordKind::also`]).

use clowder_schemas::appointment_types::AppointmentType;
use clowder_schemas::appointments::{Appointment, Status as AppointmentStatus};
use clowder_schemas::audit::Caller;
use clowder_schemas::events::DomainEvent;
use clowder_schemas::ids::VisitId;
use clowder_schemas::locations::Location;
use clowder_schemas::notes::NoteDraft;
use clowder_schemas::patients::{Patient, PatientStatus};
use clowder_schemas::staff::{Position, StaffProfile};
use clowder_schemas::visits::{ImportVisit, UpdateVisit, Visit, VisitDraft, VisitStatus, VisitType};
use clowder_schemas::{AppointmentId, LocationId, PatientId, StaffId, ValidationError};
use jiff::Timestamp;

use super::drafts::template_for;
use crate::error::{Error, Result};
use crate::records::{Claim, DecideCtx, Decision, Link, RecordKind, Records};
use crate::store::tables::unique;
use crate::store::{ChangeSet, IndexTable, RecordTable};

/// The visits service: [`Records`] plus the verbs below.
pub type Visits = Records<VisitKind>;

/// The visit record kind.
pub struct VisitKind;

/// A change to a visit.
#[derive(Debug)]
pub enum VisitCommand {
    /// A merge patch (type, chief complaint, vet).
    Update(UpdateVisit),
    /// `open → completed` (a completed visit is answered unchanged).
    Complete,
    /// `open`/`completed` → `voided`, with the reason kept.
    Void { reason: String },
}

/// The parent of every entry of `visits_unsigned`: one list, oldest visit first.
pub const UNSIGNED: u128 = 0;

impl RecordKind for VisitKind {
    type Record = Visit;
    type Id = VisitId;
    type Draft = VisitDraft;
    type Command = VisitCommand;
    type Filter = VisitFilter;

    const KIND: &'static str = "visit";
    const TABLE: RecordTable = RecordTable::Visits;
    const READ_ACTION: &'static str = "visit.read";
    const LIST_ACTION: &'static str = "visit.list";

    fn id(v: &Visit) -> VisitId {
        v.id
    }

    fn not_found(id: VisitId) -> Error {
        Error::VisitNotFound(id)
    }

    /// The appointment's claim is taken in [`RecordKind::also`] at creation: an appointment
    /// id is not text the record holds, and a visit never changes appointment.
    fn claims(_: &Visit) -> impl Iterator<Item = Claim<'_>> {
        std::iter::empty()
    }

    fn links(v: &Visit) -> impl Iterator<Item = Link> {
        let by_patient = Link { index: IndexTable::VisitsByPatient, parent: v.patient_id.as_u128() };
        // Signing the note unlinks it too (in the note's change set); voiding drops it here.
        let unsigned =
            (v.status != VisitStatus::Voided).then_some(Link { index: IndexTable::VisitsUnsigned, parent: UNSIGNED });
        // The invoice batch reads a range of completed visits by this (`completion_link`).
        std::iter::once(by_patient).chain(unsigned).chain(completion_link(v))
    }

    fn matches(f: &VisitFilter, v: &Visit) -> bool {
        f.matches(v)
    }

    /// The unsigned list walks only the visits still unsigned; a cat's visits its index.
    fn list_via(f: &VisitFilter) -> Option<Link> {
        if f.unsigned_before.is_some() {
            return Some(Link { index: IndexTable::VisitsUnsigned, parent: UNSIGNED });
        }
        f.patient_id.map(|p| Link { index: IndexTable::VisitsByPatient, parent: p.as_u128() })
    }

    fn also(ctx: &DecideCtx<'_>, old: Option<&Visit>, new: &Visit) -> Result<ChangeSet> {
        let mut set = ChangeSet::new();
        if old.is_none() {
            if let Some(a) = new.appointment_id {
                set.claim(unique::VISIT_APPOINTMENT, &a.to_string(), new.id.as_u128(), "appointment_id");
            }
            // The note starts from the template of the visit's appointment type, else its type.
            let (template, soap) = template_for(ctx, new.appointment_type_id, new.visit_type)?;
            let draft = NoteDraft {
                visit_id: new.id,
                patient_id: new.patient_id,
                soap,
                revision: 0,
                template: Some(template),
                updated_at: ctx.now,
                updated_by: ctx.caller.user_id(),
            };
            set.put(RecordTable::NoteDrafts, new.id.as_u128(), &draft)?;
        }
        // Voiding a visit whose note is unsigned takes the board's alert away with it.
        if old.is_some_and(|o| o.status != VisitStatus::Voided)
            && new.status == VisitStatus::Voided
            && ctx.unique_owner(unique::NOTE_VISIT, &new.id.to_string())?.is_none()
        {
            super::unsigned::cleared(ctx, new, &mut set);
        }
        Ok(set)
    }

    fn decide_create(ctx: &DecideCtx<'_>, id: VisitId, draft: VisitDraft) -> Result<Decision<Visit>> {
        decide_create(ctx, id, draft)
    }

    fn decide(ctx: &DecideCtx<'_>, current: &Visit, command: VisitCommand) -> Result<Option<Decision<Visit>>> {
        match command {
            VisitCommand::Update(patch) => decide_update(ctx, current, &patch),
            VisitCommand::Complete => decide_complete(ctx, current),
            VisitCommand::Void { reason } => decide_void(ctx, current, reason),
        }
    }
}

/// The cat must be on file and active: an inactive or deceased cat gets no new visit.
fn check_patient(ctx: &DecideCtx<'_>, id: PatientId) -> Result<()> {
    match ctx.get::<Patient>(RecordTable::Patients, id.as_u128())? {
        None => Err(Error::PatientNotFound(id)),
        Some(p) if p.status == PatientStatus::Deceased => {
            Err(ValidationError::new("patient_id", "the cat is deceased: no new visit can be opened").into())
        }
        Some(p) if p.status == PatientStatus::Inactive => {
            Err(ValidationError::new("patient_id", "the cat is inactive; reactivate it first").into())
        }
        Some(_) => Ok(()),
    }
}

/// The vet in charge must be an active veterinarian on the staff.
fn check_vet(ctx: &DecideCtx<'_>, id: StaffId) -> Result<()> {
    match ctx.get::<StaffProfile>(RecordTable::Staff, id.as_u128())? {
        None => Err(Error::StaffNotFound(id)),
        Some(s) if !s.active || s.position != Position::Veterinarian => {
            Err(ValidationError::new("vet_id", "must be an active veterinarian").into())
        }
        Some(_) => Ok(()),
    }
}

fn check_location(ctx: &DecideCtx<'_>, id: LocationId) -> Result<()> {
    match ctx.get::<Location>(RecordTable::Locations, id.as_u128())? {
        None => Err(Error::LocationNotFound(id)),
        Some(_) => Ok(()),
    }
}

struct Opening {
    patient_id: PatientId,
    appointment: Option<(AppointmentId, Option<clowder_schemas::AppointmentTypeId>)>,
    location_id: Option<LocationId>,
    vet_id: Option<StaffId>,
    visit_type: VisitType,
    chief_complaint: Option<String>,
}

/// What an appointment gives its visit: its cat, vet, location, type and reason. A cancelled
/// or no-show appointment opens nothing.
fn from_appointment(ctx: &DecideCtx<'_>, id: AppointmentId, complaint: Option<String>) -> Result<Opening> {
    let a = ctx.get::<Appointment>(RecordTable::Appointments, id.as_u128())?.ok_or(Error::AppointmentNotFound(id))?;
    if matches!(a.status, AppointmentStatus::Cancelled | AppointmentStatus::NoShow) {
        return Err(ValidationError::new("appointment_id", format!("the appointment is {}", a.status.as_str())).into());
    }
    let visit_type = ctx
        .get::<AppointmentType>(RecordTable::AppointmentTypes, a.type_id.as_u128())?
        .map_or(VisitType::Other, |t| VisitType::of_appointment_type(&t));
    Ok(Opening {
        patient_id: a.patient_id,
        appointment: Some((a.id, Some(a.type_id))),
        location_id: Some(a.location_id),
        vet_id: a.vet_id,
        visit_type,
        chief_complaint: complaint.or(a.reason),
    })
}

/// An imported visit's vet: a veterinarian on the staff, active or not (history names vets
/// who have since left).
fn check_vet_then(ctx: &DecideCtx<'_>, id: StaffId) -> Result<()> {
    match ctx.get::<StaffProfile>(RecordTable::Staff, id.as_u128())? {
        None => Err(Error::StaffNotFound(id)),
        Some(s) if s.position != Position::Veterinarian => {
            Err(ValidationError::new("vet_id", "must be a veterinarian").into())
        }
        Some(_) => Ok(()),
    }
}

/// Brings in a visit of the past, decided as of its opening (`ctx.now`): any cat on file
/// (one that has died since had its visits while alive), a veterinarian then or now; completed
/// when it says so, never before it opened. Audited as `visit.import`.
fn decide_import(ctx: &DecideCtx<'_>, id: VisitId, v: ImportVisit) -> Result<Decision<Visit>> {
    check_vet_then(ctx, v.vet_id)?;
    if let Some(l) = v.location_id {
        check_location(ctx, l)?;
    }
    if ctx.get::<Patient>(RecordTable::Patients, v.patient_id.as_u128())?.is_none() {
        return Err(Error::PatientNotFound(v.patient_id));
    }
    if v.completed_at.is_some_and(|c| c < ctx.now) {
        return Err(ValidationError::new("completed_at", "is before the visit opened").into());
    }
    let visit = Visit {
        id,
        patient_id: v.patient_id,
        appointment_id: None,
        appointment_type_id: None,
        location_id: v.location_id,
        vet_id: Some(v.vet_id),
        visit_type: v.visit_type,
        chief_complaint: Some(v.chief_complaint),
        status: if v.completed_at.is_some() { VisitStatus::Completed } else { VisitStatus::Open },
        opened_at: ctx.now,
        completed_at: v.completed_at,
        voided_at: None,
        void_reason: None,
        created_at: ctx.now,
        updated_at: v.completed_at.unwrap_or(ctx.now),
        created_by: ctx.caller.user_id(),
    };
    Ok(Decision {
        event: DomainEvent::VisitOpened { visit_id: id, patient_id: visit.patient_id },
        record: visit,
        changed: Vec::new(),
        action: "visit.import",
    })
}

/// Opens a visit: a walk-in names its cat, vet and type; one from an appointment takes them
/// from it; an import says everything (decided as of its opening: any cat on file, a vet then or now).
pub fn decide_create(ctx: &DecideCtx<'_>, id: VisitId, draft: VisitDraft) -> Result<Decision<Visit>> {
    let o = match draft {
        VisitDraft::Import(v) => return decide_import(ctx, id, v),
        VisitDraft::WalkIn { patient_id, vet_id, visit_type, chief_complaint, location_id } => {
            check_vet(ctx, vet_id)?;
            if let Some(l) = location_id {
                check_location(ctx, l)?;
            }
            Opening {
                patient_id,
                appointment: None,
                location_id,
                vet_id: Some(vet_id),
                visit_type,
                chief_complaint: Some(chief_complaint),
            }
        }
        VisitDraft::FromAppointment { appointment_id, chief_complaint } => {
            from_appointment(ctx, appointment_id, chief_complaint)?
        }
    };
    check_patient(ctx, o.patient_id)?;
    let visit = Visit {
        id,
        patient_id: o.patient_id,
        appointment_id: o.appointment.map(|a| a.0),
        appointment_type_id: o.appointment.and_then(|a| a.1),
        location_id: o.location_id,
        vet_id: o.vet_id,
        visit_type: o.visit_type,
        chief_complaint: o.chief_complaint,
        status: VisitStatus::Open,
        opened_at: ctx.now,
        completed_at: None,
        voided_at: None,
        void_reason: None,
        created_at: ctx.now,
        updated_at: ctx.now,
        created_by: ctx.caller.user_id(),
    };
    Ok(Decision {
        event: DomainEvent::VisitOpened { visit_id: id, patient_id: visit.patient_id },
        record: visit,
        changed: Vec::new(),
        action: "visit.create",
    })
}

fn refuse(from: VisitStatus, to: &'static str) -> Error {
    let allowed = match to {
        "completed" => vec!["open"],
        _ => vec!["open", "completed"],
    };
    Error::VisitTransition { from, to, allowed }
}

/// Applies a merge patch; a voided visit does not change any more.
pub fn decide_update(ctx: &DecideCtx<'_>, current: &Visit, patch: &UpdateVisit) -> Result<Option<Decision<Visit>>> {
    if current.status == VisitStatus::Voided {
        return Err(refuse(current.status, "changed"));
    }
    let (mut new, changed) = patch.apply(current)?;
    if changed.is_empty() {
        return Ok(None);
    }
    if let Some(v) = new.vet_id
        && new.vet_id != current.vet_id
    {
        check_vet(ctx, v)?;
    }
    new.updated_at = ctx.now;
    let event = DomainEvent::VisitUpdated {
        visit_id: new.id,
        patient_id: new.patient_id,
        changed: changed.iter().map(|s| s.to_string()).collect(),
    };
    Ok(Some(Decision { record: new, changed, event, action: "visit.update" }))
}

/// Completes an open visit (a completed one is answered unchanged: completing the
/// appointment and a person's click may both ask).
pub fn decide_complete(ctx: &DecideCtx<'_>, current: &Visit) -> Result<Option<Decision<Visit>>> {
    match current.status {
        VisitStatus::Completed => Ok(None),
        VisitStatus::Voided => Err(refuse(current.status, "completed")),
        VisitStatus::Open => {
            let new = Visit {
                status: VisitStatus::Completed,
                completed_at: Some(ctx.now),
                updated_at: ctx.now,
                ..current.clone()
            };
            Ok(Some(Decision {
                event: DomainEvent::VisitCompleted { visit_id: new.id, patient_id: new.patient_id },
                record: new,
                changed: vec!["status", "completed_at"],
                action: "visit.complete",
            }))
        }
    }
}

/// Voids a visit with a reason; it stays on file, marked voided.
pub fn decide_void(ctx: &DecideCtx<'_>, current: &Visit, reason: String) -> Result<Option<Decision<Visit>>> {
    if current.status == VisitStatus::Voided {
        return Ok(None);
    }
    let new = Visit {
        status: VisitStatus::Voided,
        voided_at: Some(ctx.now),
        void_reason: Some(reason),
        updated_at: ctx.now,
        ..current.clone()
    };
    Ok(Some(Decision {
        event: DomainEvent::VisitVoided { visit_id: new.id, patient_id: new.patient_id },
        record: new,
        changed: vec!["status", "voided_at", "void_reason"],
        action: "visit.void",
    }))
}

impl Visits {
    /// Applies a merge patch to a visit.
    pub async fn update(&self, id: VisitId, patch: UpdateVisit, caller: &Caller) -> Result<Visit> {
        self.command(id, VisitCommand::Update(patch), caller).await
    }

    /// Completes a visit.
    pub async fn complete(&self, id: VisitId, caller: &Caller) -> Result<Visit> {
        self.command(id, VisitCommand::Complete, caller).await
    }

    /// Voids a visit, keeping it on file with the reason.
    pub async fn void(&self, id: VisitId, reason: String, caller: &Caller) -> Result<Visit> {
        self.command(id, VisitCommand::Void { reason }, caller).await
    }

    /// The visit opened from an appointment, if there is one (unaudited: for the automatic
    /// opening and access checks).
    pub fn of_appointment(&self, id: AppointmentId) -> Result<Option<Visit>> {
        let owner = self.store().read()?.unique_owner(unique::VISIT_APPOINTMENT, &id.to_string())?;
        owner.map(|k| self.peek(VisitId::from_u128(k))).transpose()
    }

    /// Keeps the visit of an appointment in step with it: opened once the appointment is
    /// `in_progress`, completed once it is `completed` (opened first if it never was).
    /// Idempotent: the appointment's claim makes a second opening answer the first visit.
    /// `None` for an appointment in another status.
    pub async fn follow_appointment(&self, id: AppointmentId, caller: &Caller) -> Result<Option<Visit>> {
        let a = self
            .store()
            .read()?
            .get::<Appointment>(RecordTable::Appointments, id.as_u128())?
            .ok_or(Error::AppointmentNotFound(id))?;
        if !matches!(a.status, AppointmentStatus::InProgress | AppointmentStatus::Completed) {
            return Ok(None);
        }
        let visit = match self.of_appointment(id)? {
            Some(v) => v,
            None => {
                let draft = VisitDraft::FromAppointment { appointment_id: id, chief_complaint: None };
                match self.create(draft, caller).await {
                    Ok(v) => v,
                    // Opened meanwhile by the other path (the job, or a person).
                    Err(Error::Duplicate { field: "appointment_id" }) => {
                        self.of_appointment(id)?.ok_or_else(|| Error::Internal("visit claim without a visit".into()))?
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        if a.status == AppointmentStatus::Completed && visit.status == VisitStatus::Open {
            return self.complete(visit.id, caller).await.map(Some);
        }
        Ok(Some(visit))
    }
}

/// Which visits a list shows.
#[derive(Debug, Clone, Default)]
pub struct VisitFilter {
    pub patient_id: Option<PatientId>,
    pub vet_id: Option<StaffId>,
    /// `None` lists every status.
    pub status: Option<VisitStatus>,
    pub location_id: Option<LocationId>,
    /// Opened at or after.
    pub opened_from: Option<Timestamp>,
    /// Opened before.
    pub opened_until: Option<Timestamp>,
    /// Only visits whose note is unsigned and that were opened before this instant (walks
    /// `visits_unsigned`; voided visits are never in it).
    pub unsigned_before: Option<Timestamp>,
    /// Only visits this user opened (a permission held with scope `own`).
    pub created_by: Option<clowder_schemas::UserId>,
}

impl VisitFilter {
    fn matches(&self, v: &Visit) -> bool {
        self.patient_id.is_none_or(|p| p == v.patient_id)
            && self.vet_id.is_none_or(|s| Some(s) == v.vet_id)
            && self.status.is_none_or(|s| s == v.status)
            && self.location_id.is_none_or(|l| Some(l) == v.location_id)
            && self.opened_from.is_none_or(|t| v.opened_at >= t)
            && self.opened_until.is_none_or(|t| v.opened_at < t)
            && self.unsigned_before.is_none_or(|t| v.opened_at < t && v.status != VisitStatus::Voided)
            && (self.created_by.is_none() || v.created_by == self.created_by)
    }
}

impl Visits {
    /// The staff profile of a user account, if it has one (`vet_id=me`, the board's own
    /// visits, the `own` scope of signing).
    pub fn staff_of(&self, user: clowder_schemas::UserId) -> Result<Option<StaffId>> {
        let owner = self.store().read()?.unique_owner(unique::STAFF_USER, &user.to_string())?;
        Ok(owner.map(StaffId::from_u128))
    }

    /// The staff profile of a user account, if it has one: the exam-room tablet shows Sign
    /// only to an active veterinarian and Prescribe only to a prescriber, the same checks the
    /// writes make, so it never offers a button that would be refused.
    pub fn profile_of(&self, user: clowder_schemas::UserId) -> Result<Option<StaffProfile>> {
        let r = self.store().read()?;
        let Some(owner) = r.unique_owner(unique::STAFF_USER, &user.to_string())? else { return Ok(None) };
        Ok(r.get::<StaffProfile>(RecordTable::Staff, owner)?)
    }
}

/// Checks an entry's optional `visit_id` (vitals, problems, doses, prescriptions): the visit
/// must be on file, of the same cat, and not voided. 422 on `visit_id` otherwise.
pub fn check_visit_of(ctx: &DecideCtx<'_>, visit_id: Option<VisitId>, patient_id: PatientId) -> Result<()> {
    let Some(id) = visit_id else { return Ok(()) };
    match ctx.get::<Visit>(RecordTable::Visits, id.as_u128())? {
        None => Err(ValidationError::new("visit_id", "names no visit").into()),
        Some(v) if v.patient_id != patient_id => {
            Err(ValidationError::new("visit_id", "is a visit of another cat").into())
        }
        Some(v) if v.status == VisitStatus::Voided => {
            Err(ValidationError::new("visit_id", "the visit was voided").into())
        }
        Some(_) => Ok(()),
    }
}

/// The `visits_by_completion_day` key of a UTC day: days since 1970-01-01.
pub fn completion_day_key(d: jiff::civil::Date) -> u128 {
    u128::try_from((d - jiff::civil::date(1970, 1, 1)).get_days()).unwrap_or(0)
}

/// A completed visit's link under the UTC day it was completed (`visits_by_completion_day`),
/// so the batch that issues a range's invoices reads only that range; none for a visit not
/// completed (a voided one drops out).
pub fn completion_link(v: &Visit) -> Option<Link> {
    let at = v.completed_at.filter(|_| v.status == VisitStatus::Completed)?;
    let day = at.to_zoned(jiff::tz::TimeZone::UTC).date();
    Some(Link { index: IndexTable::VisitsByCompletionDay, parent: completion_day_key(day) })
}
