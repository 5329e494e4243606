//! The hospital ward as two record kinds: wards (per location, with cages) and admissions (a
//! cat's stay, admitted from a visit, with its treatment sheet). One active admission per cat
//! and one cat per cage are unique claims held while the cat is in (released at discharge), so
//! two desks admitting at once cannot both win. Marking a slot is a command on the admission:
//! the slot must be one the schedule makes due, not marked before, and the admission not
//! discharged. Moving a cat releases its cage claim and takes the new one in one change set.
//! The board is held by one actor per ward (`ward_board.rs`, docs/ward.md).

use clowder_schemas::audit::Caller;
use clowder_schemas::events::DomainEvent;
use clowder_schemas::ids::{AdmissionId, TreatmentId, WardId};
use clowder_schemas::locations::Location;
use clowder_schemas::patients::{Patient, PatientStatus};
use clowder_schemas::visits::{Visit, VisitStatus};
use clowder_schemas::wards::{
    AddTreatment, Admission, AdmissionStatus, CreateAdmission, CreateWard, Discharge, MarkSlot, MoveAdmission,
    SlotMark, SlotOutcome, Treatment, UpdateWard, Ward,
};
use clowder_schemas::{LocationId, ValidationError};

use crate::error::{Error, Result};
use crate::records::page::Page;
use crate::records::{Claim, DecideCtx, Decision, Link, RecordKind, Records};
use crate::store::tables::unique;
use crate::store::{ChangeSet, IndexTable, RecordTable};

/// The wards service.
pub type Wards = Records<WardKind>;

/// The ward record kind.
pub struct WardKind;

/// A change to a ward.
#[derive(Debug)]
pub enum WardCommand {
    Update(UpdateWard),
}

fn cage_key_of(ward: WardId, cage: &str) -> String {
    format!("{ward}/{}", cage.to_lowercase())
}

/// Which wards a list shows.
#[derive(Debug, Clone, Default)]
pub struct WardFilter {
    pub location_id: Option<LocationId>,
}

impl RecordKind for WardKind {
    type Record = Ward;
    type Id = WardId;
    type Draft = CreateWard;
    type Command = WardCommand;
    type Filter = WardFilter;

    const KIND: &'static str = "ward";
    const TABLE: RecordTable = RecordTable::Wards;
    const READ_ACTION: &'static str = "ward.read";
    const LIST_ACTION: &'static str = "ward.list";

    fn id(w: &Ward) -> WardId {
        w.id
    }

    fn not_found(id: WardId) -> Error {
        Error::WardNotFound(id)
    }

    fn claims(_: &Ward) -> impl Iterator<Item = Claim<'_>> {
        std::iter::empty()
    }

    fn matches(f: &WardFilter, w: &Ward) -> bool {
        f.location_id.is_none_or(|l| l == w.location_id)
    }

    fn decide_create(ctx: &DecideCtx<'_>, id: WardId, body: CreateWard) -> Result<Decision<Ward>> {
        if ctx.get::<Location>(RecordTable::Locations, body.location_id.as_u128())?.is_none() {
            return Err(Error::LocationNotFound(body.location_id));
        }
        let ward = body.validate(id, ctx.now, ctx.caller.user_id())?;
        Ok(Decision {
            event: DomainEvent::WardSaved { ward_id: id, location_id: ward.location_id, changed: Vec::new() },
            record: ward,
            changed: Vec::new(),
            action: "ward.create",
        })
    }

    // A cage out of use is claimed by the ward itself, so an admission racing with the edit
    // that closes it cannot win (the edit refuses an occupied cage before it gets here).
    fn also(_: &DecideCtx<'_>, old: Option<&Ward>, new: &Ward) -> Result<ChangeSet> {
        let mut set = ChangeSet::new();
        let key = new.id.as_u128();
        let keys = |w: Option<&Ward>| -> Vec<String> {
            w.map(|w| w.inactive_cages.iter().map(|c| cage_key_of(w.id, c)).collect()).unwrap_or_default()
        };
        let (before, after) = (keys(old), keys(Some(new)));
        for k in after.iter().filter(|k| !before.contains(k)) {
            set.claim(unique::WARD_CAGE, k, key, "cages");
        }
        for k in before.iter().filter(|k| !after.contains(k)) {
            set.release(unique::WARD_CAGE, k, key);
        }
        Ok(set)
    }

    fn decide(ctx: &DecideCtx<'_>, current: &Ward, command: WardCommand) -> Result<Option<Decision<Ward>>> {
        let WardCommand::Update(body) = command;
        let edit = body.apply(current, ctx.now)?;
        for cage in &edit.vacated {
            let owner = ctx.unique_owner(unique::WARD_CAGE, &cage_key_of(current.id, cage))?;
            if owner.is_some_and(|o| o != current.id.as_u128()) {
                return Err(Error::CageOccupied(cage.clone()));
            }
        }
        Ok(Some(Decision {
            event: DomainEvent::WardSaved {
                ward_id: current.id,
                location_id: current.location_id,
                changed: edit.changed.iter().map(|s| s.to_string()).collect(),
            },
            record: edit.ward,
            changed: edit.changed,
            action: "ward.update",
        }))
    }
}

/// The admissions service: [`Records`] plus admitting, the sheet's commands and the board.
pub type Admissions = Records<AdmissionKind>;

/// The admission record kind.
pub struct AdmissionKind;

/// A change to an admission.
#[derive(Debug)]
pub enum AdmissionCommand {
    AddTreatment(AddTreatment, TreatmentId),
    /// A treatment stopped, with the reason.
    StopTreatment(TreatmentId, String),
    Move(MoveAdmission),
    /// A slot marked done or skipped; the vitals already recorded for it, if any.
    Mark(Box<MarkSlot>, Option<clowder_schemas::ids::VitalsId>),
    Discharge(Discharge),
}

/// Which admissions a list shows.
#[derive(Debug, Clone, Default)]
pub struct AdmissionFilter {
    pub ward_id: Option<WardId>,
    /// Only cats still in.
    pub current: bool,
}

fn cage_key(a: &Admission) -> String {
    cage_key_of(a.ward_id, &a.cage)
}

impl RecordKind for AdmissionKind {
    type Record = Admission;
    type Id = AdmissionId;
    type Draft = CreateAdmission;
    type Command = AdmissionCommand;
    type Filter = AdmissionFilter;

    const KIND: &'static str = "admission";
    const TABLE: RecordTable = RecordTable::Admissions;
    const READ_ACTION: &'static str = "admission.read";
    const LIST_ACTION: &'static str = "admission.list";

    fn id(a: &Admission) -> AdmissionId {
        a.id
    }

    fn not_found(id: AdmissionId) -> Error {
        Error::AdmissionNotFound(id)
    }

    // Claims on values the record holds only as ids: taken and released in `also`.
    fn claims(_: &Admission) -> impl Iterator<Item = Claim<'_>> {
        std::iter::empty()
    }

    fn links(a: &Admission) -> impl Iterator<Item = Link> {
        std::iter::once(Link { index: IndexTable::AdmissionsByWard, parent: a.ward_id.as_u128() })
    }

    fn matches(f: &AdmissionFilter, a: &Admission) -> bool {
        f.ward_id.is_none_or(|w| w == a.ward_id) && (!f.current || a.status == AdmissionStatus::Admitted)
    }

    fn list_via(f: &AdmissionFilter) -> Option<Link> {
        f.ward_id.map(|w| Link { index: IndexTable::AdmissionsByWard, parent: w.as_u128() })
    }

    fn also(_: &DecideCtx<'_>, old: Option<&Admission>, new: &Admission) -> Result<ChangeSet> {
        let mut set = ChangeSet::new();
        let key = new.id.as_u128();
        let was_in = old.is_some_and(|o| o.status == AdmissionStatus::Admitted);
        let is_in = new.status == AdmissionStatus::Admitted;
        if is_in && !was_in {
            set.claim(unique::ADMITTED_PATIENT, &new.patient_id.to_string(), key, "patient_id");
            set.claim(unique::WARD_CAGE, &cage_key(new), key, "cage");
        }
        if was_in && !is_in {
            set.release(unique::ADMITTED_PATIENT, &new.patient_id.to_string(), key);
            set.release(unique::WARD_CAGE, &cage_key(new), key);
        }
        // A move: the old cage is freed and the new one taken in the same commit, so a cat
        // is never in two cages nor a cage given twice.
        if let Some(o) = old
            && was_in
            && is_in
            && cage_key(o) != cage_key(new)
        {
            set.release(unique::WARD_CAGE, &cage_key(o), key);
            set.claim(unique::WARD_CAGE, &cage_key(new), key, "cage");
        }
        Ok(set)
    }

    fn decide_create(ctx: &DecideCtx<'_>, id: AdmissionId, body: CreateAdmission) -> Result<Decision<Admission>> {
        decide_admit(ctx, id, body)
    }

    fn decide(
        ctx: &DecideCtx<'_>,
        current: &Admission,
        command: AdmissionCommand,
    ) -> Result<Option<Decision<Admission>>> {
        if current.status == AdmissionStatus::Discharged {
            if matches!(command, AdmissionCommand::Discharge(_)) {
                return Ok(None);
            }
            return Err(Error::AdmissionDischarged(current.id));
        }
        let mut new = current.clone();
        new.updated_at = ctx.now;
        let changed: Vec<&'static str> = match command {
            AdmissionCommand::AddTreatment(body, tid) => {
                new.treatments.push(body.validate(tid, ctx.now, ctx.caller.user_id())?);
                vec!["treatments"]
            }
            AdmissionCommand::StopTreatment(tid, reason) => {
                let t = treatment_mut(&mut new, tid)?;
                if t.stopped_at.is_some() {
                    return Err(Error::TreatmentStopped);
                }
                t.stopped_at = Some(ctx.now);
                t.stop_reason = Some(reason);
                vec!["treatments"]
            }
            AdmissionCommand::Move(body) => return decide_move(ctx, current, new, &body),
            AdmissionCommand::Mark(body, vitals_id) => {
                let mark = decide_mark(ctx, current, &body, vitals_id)?;
                let event = DomainEvent::SlotMarked {
                    admission_id: current.id,
                    ward_id: current.ward_id,
                    patient_id: current.patient_id,
                    visit_id: current.visit_id,
                    treatment_id: mark.treatment_id,
                    due: mark.due,
                    outcome: mark.outcome,
                };
                new.marks.push(mark);
                return Ok(Some(Decision { record: new, changed: vec!["marks"], event, action: "admission.mark" }));
            }
            AdmissionCommand::Discharge(body) => {
                new.discharge_note = body.note()?;
                new.status = AdmissionStatus::Discharged;
                new.discharged_at = Some(ctx.now);
                vec!["status", "discharged_at", "discharge_note"]
            }
        };
        let event = DomainEvent::AdmissionUpdated {
            admission_id: new.id,
            ward_id: new.ward_id,
            patient_id: new.patient_id,
            changed: changed.iter().map(|s| s.to_string()).collect(),
        };
        let action = if new.status == AdmissionStatus::Discharged { "admission.discharge" } else { "admission.update" };
        Ok(Some(Decision { record: new, changed, event, action }))
    }
}

fn treatment_mut(a: &mut Admission, id: TreatmentId) -> Result<&mut Treatment> {
    a.treatments
        .iter_mut()
        .find(|t| t.id == id)
        .ok_or_else(|| ValidationError::new("treatment_id", "is not a treatment of this sheet").into())
}

/// A cat moved to a cage in use of its ward or of another open ward of the same location (the
/// new cage's claim, in `also`, refuses an occupied one).
fn decide_move(
    ctx: &DecideCtx<'_>,
    current: &Admission,
    mut new: Admission,
    body: &MoveAdmission,
) -> Result<Option<Decision<Admission>>> {
    let from =
        ctx.get::<Ward>(RecordTable::Wards, current.ward_id.as_u128())?.ok_or(Error::WardNotFound(current.ward_id))?;
    let to_id = body.ward_id.unwrap_or(current.ward_id);
    let to = if to_id == from.id {
        from.clone()
    } else {
        ctx.get::<Ward>(RecordTable::Wards, to_id.as_u128())?.ok_or(Error::WardNotFound(to_id))?
    };
    if to.location_id != from.location_id {
        return Err(ValidationError::new("ward_id", "is a ward of another location").into());
    }
    if !to.active {
        return Err(ValidationError::new("ward_id", "the ward is closed").into());
    }
    let cage = to
        .cage(&body.cage)
        .ok_or_else(|| ValidationError::new("cage", format!("{:?} is not a cage of {}", body.cage, to.name)))?
        .clone();
    if to.is_inactive(&cage) {
        return Err(ValidationError::new("cage", format!("{cage:?} is out of use")).into());
    }
    if to.id == current.ward_id && cage == current.cage {
        return Ok(None);
    }
    new.ward_id = to.id;
    new.cage = cage.clone();
    Ok(Some(Decision {
        event: DomainEvent::AdmissionMoved {
            admission_id: current.id,
            patient_id: current.patient_id,
            from_ward_id: current.ward_id,
            from_cage: current.cage.clone(),
            ward_id: to.id,
            cage,
        },
        record: new,
        changed: vec!["ward_id", "cage"],
        action: "admission.move",
    }))
}

/// A cat admitted from a visit of it (not voided, the cat alive) to a cage of an active ward.
pub fn decide_admit(ctx: &DecideCtx<'_>, id: AdmissionId, body: CreateAdmission) -> Result<Decision<Admission>> {
    let ward = ctx.get::<Ward>(RecordTable::Wards, body.ward_id.as_u128())?.ok_or(Error::WardNotFound(body.ward_id))?;
    if !ward.active {
        return Err(ValidationError::new("ward_id", "the ward is closed").into());
    }
    let cage = ward
        .cage(&body.cage)
        .ok_or_else(|| ValidationError::new("cage", format!("{:?} is not a cage of {}", body.cage, ward.name)))?
        .clone();
    if ward.is_inactive(&cage) {
        return Err(ValidationError::new("cage", format!("{cage:?} is out of use")).into());
    }
    let visit =
        ctx.get::<Visit>(RecordTable::Visits, body.visit_id.as_u128())?.ok_or(Error::VisitNotFound(body.visit_id))?;
    if visit.status == VisitStatus::Voided {
        return Err(ValidationError::new("visit_id", "the visit was voided").into());
    }
    let patient = ctx
        .get::<Patient>(RecordTable::Patients, visit.patient_id.as_u128())?
        .ok_or(Error::PatientNotFound(visit.patient_id))?;
    if patient.status == PatientStatus::Deceased {
        return Err(ValidationError::new("visit_id", "the cat is deceased").into());
    }
    let vet = body
        .attending_vet_id
        .or(visit.vet_id)
        .ok_or_else(|| ValidationError::new("attending_vet_id", "is required when the visit names no vet"))?;
    let reason = clowder_schemas::values::required_text("reason", &body.reason, 500)?;
    let record = Admission {
        id,
        ward_id: ward.id,
        cage,
        patient_id: visit.patient_id,
        visit_id: visit.id,
        reason,
        attending_vet_id: vet,
        status: AdmissionStatus::Admitted,
        admitted_at: ctx.now,
        discharged_at: None,
        discharge_note: None,
        treatments: Vec::new(),
        marks: Vec::new(),
        created_at: ctx.now,
        updated_at: ctx.now,
        created_by: ctx.caller.user_id(),
    };
    Ok(Decision {
        event: DomainEvent::AdmissionUpdated {
            admission_id: id,
            ward_id: record.ward_id,
            patient_id: record.patient_id,
            changed: Vec::new(),
        },
        record,
        changed: Vec::new(),
        action: "admission.create",
    })
}

/// A slot marked: one the treatment's schedule makes due (before its stop), marked once.
pub fn decide_mark(
    ctx: &DecideCtx<'_>,
    a: &Admission,
    body: &MarkSlot,
    vitals_id: Option<clowder_schemas::ids::VitalsId>,
) -> Result<SlotMark> {
    check_markable(ctx.settings, a, body)?;
    Ok(body.validate(ctx.now, ctx.caller.user_id(), vitals_id)?)
}

/// The checks of a mark that do not depend on the moment (the web layer runs them before it
/// records a vitals check's vitals, so a refused mark leaves no vitals behind).
pub fn check_markable(settings: &crate::ctx::SystemConfig, a: &Admission, body: &MarkSlot) -> Result<()> {
    if a.status == AdmissionStatus::Discharged {
        return Err(Error::AdmissionDischarged(a.id));
    }
    let t = a
        .treatments
        .iter()
        .find(|t| t.id == body.treatment_id)
        .ok_or_else(|| ValidationError::new("treatment_id", "is not a treatment of this sheet"))?;
    if t.stopped_at.is_some_and(|s| body.due >= s) || !t.schedule.is_due_at(&settings.time_zone, body.due) {
        return Err(ValidationError::new("due", "is not a due slot of this treatment").into());
    }
    if let Some(m) = a.marks.iter().find(|m| m.treatment_id == body.treatment_id && m.due == body.due) {
        return Err(Error::SlotAlreadyMarked(match m.outcome {
            SlotOutcome::Done => "done",
            SlotOutcome::Skipped => "skipped",
        }));
    }
    let is_vitals_check = matches!(
        t.treatment,
        clowder_schemas::wards::TreatmentKind::Check { check: clowder_schemas::wards::CheckKind::Vitals }
    );
    if body.vitals.is_some() && !is_vitals_check {
        return Err(ValidationError::new("vitals", "only a vitals check takes vitals").into());
    }
    Ok(())
}

impl Wards {
    /// Changes a ward's name, cages or overdue setting (an occupied cage stays).
    pub async fn edit(&self, id: WardId, body: UpdateWard, caller: &Caller) -> Result<Ward> {
        self.command(id, WardCommand::Update(body), caller).await
    }

    /// Creates a ward (the location must exist).
    pub async fn open(&self, body: CreateWard, caller: &Caller) -> Result<Ward> {
        self.create(body, caller).await
    }

    /// Every ward, of one location or all (no clinical content: not audited beyond the list).
    pub async fn all(&self, location: Option<LocationId>, caller: &Caller) -> Result<Vec<Ward>> {
        let (items, _) = self.list(&WardFilter { location_id: location }, None, 500, caller).await?;
        Ok(items)
    }
}

impl Admissions {
    /// Admits a cat (see [`decide_admit`]).
    pub async fn admit(&self, body: CreateAdmission, caller: &Caller) -> Result<Admission> {
        self.create(body, caller).await
    }

    /// Adds a scheduled treatment to the sheet, with `with` (its overdue alert's job) in the
    /// same change set.
    pub async fn add_treatment_with(
        &self,
        id: AdmissionId,
        tid: TreatmentId,
        body: AddTreatment,
        with: ChangeSet,
        caller: &Caller,
    ) -> Result<Admission> {
        self.command_with(id, AdmissionCommand::AddTreatment(body, tid), with, caller).await
    }

    /// Stops a treatment: no slot is due from now; the marks stay. A second stop is refused.
    pub async fn stop_treatment(
        &self,
        id: AdmissionId,
        tid: TreatmentId,
        body: &clowder_schemas::wards::StopTreatment,
        caller: &Caller,
    ) -> Result<Admission> {
        let reason = body.reason()?;
        self.command(id, AdmissionCommand::StopTreatment(tid, reason), caller).await
    }

    /// Moves the cat to another cage (see `decide_move`).
    pub async fn move_to(&self, id: AdmissionId, body: MoveAdmission, caller: &Caller) -> Result<Admission> {
        self.command(id, AdmissionCommand::Move(body), caller).await
    }

    /// Marks a slot done or skipped; `vitals_id` is the vitals already recorded for it.
    pub async fn mark(
        &self,
        id: AdmissionId,
        body: MarkSlot,
        vitals_id: Option<clowder_schemas::ids::VitalsId>,
        caller: &Caller,
    ) -> Result<Admission> {
        self.command(id, AdmissionCommand::Mark(Box::new(body), vitals_id), caller).await
    }

    /// Discharges the cat: its cage and its claim to a ward are free again; the sheet closes.
    pub async fn discharge(&self, id: AdmissionId, body: Discharge, caller: &Caller) -> Result<Admission> {
        self.command(id, AdmissionCommand::Discharge(body), caller).await
    }

    /// The cats in a ward now (audited as a list).
    pub async fn current(&self, ward: WardId, caller: &Caller) -> Result<Page<Admission>> {
        self.list(&AdmissionFilter { ward_id: Some(ward), current: true }, None, 500, caller).await
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use clowder_schemas::ids::{PatientId, StaffId, VisitId};
    use clowder_schemas::wards::{CheckKind, Schedule, TreatmentKind};
    use jiff::Timestamp;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// A cat in C1 with a pain score every 4 hours from 08:00 (also the board's tests).
    pub(crate) fn admission() -> Admission {
        let now = ts("2026-12-06T08:00:00Z");
        Admission {
            id: AdmissionId::from_u128(1),
            ward_id: WardId::from_u128(2),
            cage: "C1".into(),
            patient_id: PatientId::from_u128(3),
            visit_id: VisitId::from_u128(4),
            reason: "Pyelonephritis".into(),
            attending_vet_id: StaffId::from_u128(5),
            status: AdmissionStatus::Admitted,
            admitted_at: now,
            discharged_at: None,
            discharge_note: None,
            treatments: vec![Treatment {
                id: TreatmentId::from_u128(6),
                treatment: TreatmentKind::Check { check: CheckKind::PainScore },
                schedule: Schedule { start: now, every_hours: Some(4), times: vec![], until: None },
                catalogue_item_id: None,
                notes: None,
                stopped_at: None,
                stop_reason: None,
                added_at: now,
                added_by: None,
            }],
            marks: Vec::new(),
            created_at: now,
            updated_at: now,
            created_by: None,
        }
    }

    fn mark(due: &str) -> MarkSlot {
        MarkSlot {
            treatment_id: TreatmentId::from_u128(6),
            due: ts(due),
            outcome: SlotOutcome::Done,
            reason: None,
            at: None,
            note: None,
            vitals: None,
        }
    }

    #[test]
    fn a_slot_is_marked_once_and_only_a_due_one() {
        let settings = crate::ctx::SystemConfig::new("/nonexistent");
        let caller = Caller::system();
        let ctx = DecideCtx::new(ts("2026-12-06T12:10:00Z"), &settings, &caller, None);
        let a = admission();
        let d = AdmissionKind::decide(&ctx, &a, AdmissionCommand::Mark(Box::new(mark("2026-12-06T12:00:00Z")), None))
            .unwrap()
            .unwrap();
        let again = AdmissionKind::decide(
            &ctx,
            &d.record,
            AdmissionCommand::Mark(Box::new(mark("2026-12-06T12:00:00Z")), None),
        );
        assert!(matches!(again, Err(Error::SlotAlreadyMarked("done"))));
        let off = AdmissionKind::decide(&ctx, &a, AdmissionCommand::Mark(Box::new(mark("2026-12-06T13:00:00Z")), None));
        assert!(matches!(off, Err(Error::Validation(v)) if v.field == "due"));
    }

    #[test]
    fn a_discharged_sheet_takes_no_marks() {
        let settings = crate::ctx::SystemConfig::new("/nonexistent");
        let caller = Caller::system();
        let ctx = DecideCtx::new(ts("2026-12-06T12:10:00Z"), &settings, &caller, None);
        let out = AdmissionKind::decide(&ctx, &admission(), AdmissionCommand::Discharge(Discharge::default()))
            .unwrap()
            .unwrap()
            .record;
        let m = AdmissionKind::decide(&ctx, &out, AdmissionCommand::Mark(Box::new(mark("2026-12-06T12:00:00Z")), None));
        assert!(matches!(m, Err(Error::AdmissionDischarged(_))));
    }
}
