//! Treatment plans as a record kind: a protocol's current version applied to a living, active
//! cat from a start date (each step on start + offset, in the clinic's local dates). Every
//! change is one command that appends a [`PlanRevision`] (who, when, what, and why where a
//! reason is required), so the history is part of the record and read with it (audited: the
//! plan is medical record). A step is settled (done or skipped) once; the plan completes when
//! every step is settled and is closed to changes once completed or cancelled. Linked under
//! its cat in `treatment_plans_by_patient`. A step booked in an appointment is also done
//! automatically when that appointment's visit completes ([`PlanCommand::VisitCompleted`],
//! sent by the `plan_steps` job).

use clowder_schemas::appointments::Appointment;
use clowder_schemas::audit::Caller;
use clowder_schemas::events::DomainEvent;
use clowder_schemas::ids::TreatmentPlanId;
use clowder_schemas::ids::{AppointmentId, ProtocolId, VisitId};
use clowder_schemas::patients::{Patient, PatientStatus};
use clowder_schemas::protocols::{
    MAX_OFFSET_DAYS, MAX_STEPS, PlanChange, PlanRevision, PlanStatus, PlanStep, Protocol, RevisionKind, StepStatus,
    TreatmentPlan, reason,
};
use clowder_schemas::{PatientId, ValidationError};
use jiff::civil::Date;

use crate::error::{Error, Result};
use crate::records::page::Page;
use crate::records::{Claim, DecideCtx, Decision, Link, RecordKind, Records};
use crate::store::{IndexTable, RecordTable};

/// The treatment plans service.
pub type TreatmentPlans = Records<PlanKind>;

/// The treatment plan record kind.
pub struct PlanKind;

/// Applying a protocol to a cat.
#[derive(Debug, Clone)]
pub struct PlanDraft {
    pub patient_id: PatientId,
    pub protocol_id: ProtocolId,
    pub start_date: Date,
}

/// A change to a plan: a person's ([`PlanChange`], through the API), or Clowder's own when
/// the visit of a step's booked appointment completed.
#[derive(Debug)]
pub enum PlanCommand {
    Change(PlanChange),
    /// The open step booked in `appointment_id` becomes done with `visit_id`; nothing changes
    /// when no open step is booked there or the plan is closed (so a repeat is harmless).
    VisitCompleted {
        appointment_id: AppointmentId,
        visit_id: VisitId,
    },
}

/// Which plans a list shows.
#[derive(Debug, Clone, Default)]
pub struct PlanFilter {
    pub patient_id: Option<PatientId>,
}

impl RecordKind for PlanKind {
    type Record = TreatmentPlan;
    type Id = TreatmentPlanId;
    type Draft = PlanDraft;
    type Command = PlanCommand;
    type Filter = PlanFilter;

    const KIND: &'static str = "treatment_plan";
    const TABLE: RecordTable = RecordTable::TreatmentPlans;
    const READ_ACTION: &'static str = "treatment_plan.read";
    const LIST_ACTION: &'static str = "treatment_plan.list";

    fn id(p: &TreatmentPlan) -> TreatmentPlanId {
        p.id
    }

    fn not_found(id: TreatmentPlanId) -> Error {
        Error::TreatmentPlanNotFound(id)
    }

    fn claims(_: &TreatmentPlan) -> impl Iterator<Item = Claim<'_>> {
        std::iter::empty()
    }

    fn links(p: &TreatmentPlan) -> impl Iterator<Item = Link> {
        std::iter::once(Link { index: IndexTable::TreatmentPlansByPatient, parent: p.patient_id.as_u128() })
    }

    fn matches(f: &PlanFilter, p: &TreatmentPlan) -> bool {
        f.patient_id.is_none_or(|id| id == p.patient_id)
    }

    fn list_via(f: &PlanFilter) -> Option<Link> {
        f.patient_id.map(|p| Link { index: IndexTable::TreatmentPlansByPatient, parent: p.as_u128() })
    }

    fn decide_create(ctx: &DecideCtx<'_>, id: TreatmentPlanId, d: PlanDraft) -> Result<Decision<TreatmentPlan>> {
        match ctx.get::<Patient>(RecordTable::Patients, d.patient_id.as_u128())? {
            None => return Err(Error::PatientNotFound(d.patient_id)),
            Some(p) if p.status == PatientStatus::Deceased => {
                return Err(ValidationError::new("patient_id", "the cat is deceased").into());
            }
            Some(p) if p.status != PatientStatus::Active => {
                return Err(ValidationError::new("patient_id", "the cat is inactive").into());
            }
            Some(_) => {}
        }
        let protocol = ctx
            .get::<Protocol>(RecordTable::Protocols, d.protocol_id.as_u128())?
            .ok_or(Error::ProtocolNotFound(d.protocol_id))?;
        if !protocol.active {
            return Err(Error::ProtocolInactive(protocol.id));
        }
        let steps = (1u32..)
            .zip(&protocol.steps)
            .map(|(n, s)| PlanStep::scheduled(n, s, d.start_date))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let by = ctx.caller.user_id();
        let plan = TreatmentPlan {
            id,
            patient_id: d.patient_id,
            protocol_id: protocol.id,
            protocol_version: protocol.version,
            name: protocol.name.clone(),
            start_date: d.start_date,
            status: PlanStatus::Active,
            history: vec![PlanRevision {
                number: 1,
                kind: RevisionKind::Created,
                step: None,
                detail: format!(
                    "applied {} (version {}) from {} with {} steps",
                    protocol.name,
                    protocol.version,
                    d.start_date,
                    steps.len()
                ),
                reason: None,
                by,
                at: ctx.now,
            }],
            steps,
            created_at: ctx.now,
            updated_at: ctx.now,
            created_by: by,
        };
        Ok(Decision {
            event: DomainEvent::TreatmentPlanCreated { plan_id: id, patient_id: plan.patient_id },
            record: plan,
            changed: Vec::new(),
            action: "treatment_plan.create",
        })
    }

    fn decide(
        ctx: &DecideCtx<'_>,
        current: &TreatmentPlan,
        command: PlanCommand,
    ) -> Result<Option<Decision<TreatmentPlan>>> {
        match command {
            PlanCommand::Change(change) => decide_change(ctx, current, change),
            PlanCommand::VisitCompleted { appointment_id, visit_id } => {
                decide_visit_completed(ctx, current, appointment_id, visit_id)
            }
        }
    }
}

/// The step `number` of `plan`, refused when it is settled.
fn open_step(plan: &mut TreatmentPlan, number: u32) -> Result<&mut PlanStep> {
    let s = plan.steps.iter_mut().find(|s| s.number == number).ok_or(Error::PlanStepNotFound(number))?;
    if s.status.is_settled() {
        return Err(Error::PlanStepAlreadySettled(number, s.status.as_str()));
    }
    Ok(s)
}

/// The step `number` if an appointment may be booked for it: the plan active and the step
/// there and open. Whether it is already booked in an appointment that still takes place is
/// the `book` decision's alone (it reads that appointment).
pub fn open_for_booking(plan: &TreatmentPlan, number: u32) -> Result<&PlanStep> {
    match plan.status {
        PlanStatus::Active => {}
        PlanStatus::Cancelled => return Err(Error::TreatmentPlanClosed("cancelled")),
        PlanStatus::Completed => return Err(Error::TreatmentPlanClosed("completed")),
    }
    let s = plan.step(number).ok_or(Error::PlanStepNotFound(number))?;
    if s.status.is_settled() {
        return Err(Error::PlanStepAlreadySettled(number, s.status.as_str()));
    }
    Ok(s)
}

/// A step's date must fall in the plan's span: from its start to [`MAX_OFFSET_DAYS`] later.
fn check_date(plan: &TreatmentPlan, date: Date, field: &str) -> Result<()> {
    let last = plan.start_date.checked_add(jiff::Span::new().days(i64::from(MAX_OFFSET_DAYS))).unwrap_or(Date::MAX);
    if date < plan.start_date || date > last {
        return Err(ValidationError::new(
            field,
            format!("must be from the plan's start ({}) to {last}", plan.start_date),
        )
        .into());
    }
    Ok(())
}

/// One change to a plan, with its revision. Pure but for the snapshot reads that check an
/// appointment, a visit or a catalogue item.
pub fn decide_change(
    ctx: &DecideCtx<'_>,
    current: &TreatmentPlan,
    change: PlanChange,
) -> Result<Option<Decision<TreatmentPlan>>> {
    if current.status != PlanStatus::Active {
        let s = if current.status == PlanStatus::Cancelled { "cancelled" } else { "completed" };
        return Err(Error::TreatmentPlanClosed(s));
    }
    let mut new = current.clone();
    let by = ctx.caller.user_id();
    let (kind, step, detail, why, changed) = match change {
        PlanChange::Book { step, appointment_id } => {
            let a = ctx
                .get::<Appointment>(RecordTable::Appointments, appointment_id.as_u128())?
                .ok_or_else(|| ValidationError::new("appointment_id", "names no appointment"))?;
            if a.patient_id != current.patient_id {
                return Err(ValidationError::new("appointment_id", "is an appointment of another cat").into());
            }
            let s = open_step(&mut new, step)?;
            if s.appointment_id == Some(appointment_id) {
                return Ok(None);
            }
            // Relinking while the first appointment still takes place would leave it on the
            // calendar with nothing pointing at it; once it is cancelled (or missed) the step
            // may be booked again.
            if let Some(other) = s.appointment_id.filter(|_| s.status == StepStatus::Booked) {
                let held = ctx.get::<Appointment>(RecordTable::Appointments, other.as_u128())?;
                if held.is_some_and(|o| o.status.takes_place()) {
                    return Err(Error::PlanStepAlreadyBooked(step, other));
                }
            }
            let local = a.start.to_zoned(ctx.settings.time_zone.clone());
            s.status = StepStatus::Booked;
            s.appointment_id = Some(appointment_id);
            (s.by, s.at) = (by, Some(ctx.now));
            let detail = format!("booked for {}", local.strftime("%Y-%m-%d %H:%M"));
            (RevisionKind::StepBooked, Some(step), detail, None, vec!["steps"])
        }
        PlanChange::Done { step, visit_id } => {
            super::visits::check_visit_of(ctx, visit_id, current.patient_id)?;
            let s = open_step(&mut new, step)?;
            s.status = StepStatus::Done;
            s.visit_id = visit_id.or(s.visit_id);
            (s.by, s.at) = (by, Some(ctx.now));
            let detail = format!("{} done", s.title);
            (RevisionKind::StepDone, Some(step), detail, None, vec!["steps"])
        }
        PlanChange::Skip { step, reason: r } => {
            let r = reason(&r)?;
            let s = open_step(&mut new, step)?;
            s.status = StepStatus::Skipped;
            s.reason = Some(r.clone());
            (s.by, s.at) = (by, Some(ctx.now));
            let detail = format!("{} skipped", s.title);
            (RevisionKind::StepSkipped, Some(step), detail, Some(r), vec!["steps"])
        }
        PlanChange::Move { step, date, reason: r } => {
            let r = reason(&r)?;
            check_date(current, date, "date")?;
            let s = open_step(&mut new, step)?;
            if s.date == date {
                return Ok(None);
            }
            let detail = format!("{} moved from {} to {date}", s.title, s.date);
            s.date = date;
            (RevisionKind::StepMoved, Some(step), detail, Some(r), vec!["steps"])
        }
        PlanChange::Add { step: input, reason: r } => {
            let r = reason(&r)?;
            if current.steps.len() >= MAX_STEPS {
                return Err(ValidationError::new("step", format!("a plan has at most {MAX_STEPS} steps")).into());
            }
            let draft = input.validate().map_err(|e| e.within("step"))?;
            let priced = super::protocols::priced(ctx, vec![draft]).map_err(|e| match e {
                Error::Validation(v) => {
                    Error::Validation(ValidationError::new(v.field.replacen("steps[0]", "step", 1), v.message))
                }
                other => other,
            })?;
            let number = current.next_number();
            let mut s = PlanStep::scheduled(number, &priced[0], current.start_date)?;
            check_date(current, s.date, "step.day_offset")?;
            (s.by, s.at) = (by, Some(ctx.now));
            let detail = format!("{} added on {}", s.title, s.date);
            new.steps.push(s);
            (RevisionKind::StepAdded, Some(number), detail, Some(r), vec!["steps"])
        }
        PlanChange::Remove { step, reason: r } => {
            let r = reason(&r)?;
            let s = new.steps.iter().find(|s| s.number == step).ok_or(Error::PlanStepNotFound(step))?;
            if s.status == StepStatus::Done {
                return Err(Error::PlanStepAlreadySettled(step, "done"));
            }
            let detail = format!("{} ({}) removed", s.title, s.date);
            new.steps.retain(|s| s.number != step);
            (RevisionKind::StepRemoved, Some(step), detail, Some(r), vec!["steps"])
        }
        PlanChange::Cancel { reason: r } => {
            let r = reason(&r)?;
            new.status = PlanStatus::Cancelled;
            (RevisionKind::Cancelled, None, "plan cancelled".to_string(), Some(r), vec!["status"])
        }
    };
    Ok(Some(finish(ctx, new, kind, step, detail, why, changed)))
}

/// The step booked in `appointment` done with `visit`, its revision saying so; `None` when the
/// plan is closed or no open step is booked there (the job's repeat, a step settled by hand).
pub fn decide_visit_completed(
    ctx: &DecideCtx<'_>,
    current: &TreatmentPlan,
    appointment: AppointmentId,
    visit: VisitId,
) -> Result<Option<Decision<TreatmentPlan>>> {
    if current.status != PlanStatus::Active {
        return Ok(None);
    }
    let mut new = current.clone();
    let Some(s) = new.steps.iter_mut().find(|s| s.appointment_id == Some(appointment) && !s.status.is_settled()) else {
        return Ok(None);
    };
    s.status = StepStatus::Done;
    s.visit_id = Some(visit);
    (s.by, s.at) = (ctx.caller.user_id(), Some(ctx.now));
    let (number, detail) = (s.number, format!("{} done automatically with visit {visit}", s.title));
    Ok(Some(finish(ctx, new, RevisionKind::StepDone, Some(number), detail, None, vec!["steps"])))
}

/// The end of every change: steps in date order, the revision, the completion when every step
/// is settled, and the event.
fn finish(
    ctx: &DecideCtx<'_>,
    mut new: TreatmentPlan,
    kind: RevisionKind,
    step: Option<u32>,
    detail: String,
    why: Option<String>,
    mut changed: Vec<&'static str>,
) -> Decision<TreatmentPlan> {
    new.steps.sort_by_key(|s| (s.date, s.number));
    push(&mut new, kind, step, detail, why, ctx);
    // Completed once every step is settled (a plan with no steps left is complete too).
    if new.status == PlanStatus::Active && new.steps.iter().all(|s| s.status.is_settled()) {
        new.status = PlanStatus::Completed;
        push(&mut new, RevisionKind::Completed, None, "every step is done or skipped".into(), None, ctx);
        changed.push("status");
    }
    changed.push("history");
    new.updated_at = ctx.now;
    let event = DomainEvent::TreatmentPlanChanged {
        plan_id: new.id,
        patient_id: new.patient_id,
        changed: changed.iter().map(|s| s.to_string()).collect(),
    };
    Decision { record: new, changed, event, action: "treatment_plan.change" }
}

fn push(
    plan: &mut TreatmentPlan,
    kind: RevisionKind,
    step: Option<u32>,
    detail: String,
    reason: Option<String>,
    ctx: &DecideCtx<'_>,
) {
    let number = plan.history.len() as u32 + 1;
    plan.history.push(PlanRevision { number, kind, step, detail, reason, by: ctx.caller.user_id(), at: ctx.now });
}

impl TreatmentPlans {
    /// One change, kept in the plan's history.
    pub async fn change(&self, id: TreatmentPlanId, change: PlanChange, caller: &Caller) -> Result<TreatmentPlan> {
        self.command(id, PlanCommand::Change(change), caller).await
    }

    /// Marks done, with `visit`, the open steps booked in `appointment` in the cat's active
    /// plans (what the `plan_step_visit_done` job does once the visit completed). The plans
    /// are found without a read audit (Clowder's own step; each change is audited). Answers
    /// the plans changed.
    pub async fn visit_completed(
        &self,
        patient: PatientId,
        appointment: AppointmentId,
        visit: VisitId,
        caller: &Caller,
    ) -> Result<Vec<TreatmentPlanId>> {
        let filter = PlanFilter { patient_id: Some(patient) };
        let (mut after, mut changed) = (None, Vec::new());
        loop {
            let (plans, next) = self.list_unaudited(&filter, after, 100)?;
            for p in plans.iter().filter(|p| {
                p.status == PlanStatus::Active
                    && p.steps.iter().any(|s| s.appointment_id == Some(appointment) && !s.status.is_settled())
            }) {
                let command = PlanCommand::VisitCompleted { appointment_id: appointment, visit_id: visit };
                match self.command(p.id, command, caller).await {
                    Ok(_) => changed.push(p.id),
                    // Closed meanwhile by a person: nothing left to do there.
                    Err(Error::TreatmentPlanClosed(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            match next {
                Some(n) => after = Some(n),
                None => return Ok(changed),
            }
        }
    }

    /// A cat's plans, newest first, below the key `before`; audited.
    pub async fn list_for_patient(
        &self,
        patient: PatientId,
        before: Option<u128>,
        limit: usize,
        caller: &Caller,
    ) -> Result<Page<TreatmentPlan>> {
        self.list_newest_first(&PlanFilter { patient_id: Some(patient) }, before, limit, caller).await
    }
}

/// A plan for tests: "Dental" from 2026-12-01, one exam step ("step N") per (day offset,
/// reminder lead), each costing 10.00.
#[cfg(test)]
pub(crate) fn sample_plan(steps: &[(u32, Option<u32>)]) -> TreatmentPlan {
    use clowder_schemas::money::Cents;
    use clowder_schemas::protocols::{ProtocolStep, StepKind};
    let start = jiff::civil::date(2026, 12, 1);
    let steps = steps
        .iter()
        .zip(1..)
        .map(|((day, lead), n)| {
            let s = ProtocolStep {
                title: format!("step {n}"),
                kind: StepKind::Exam,
                day_offset: *day,
                catalogue_item_id: None,
                cost: Cents::new(1000),
                appointment_type_id: None,
                duration_minutes: None,
                reminder_lead_days: *lead,
            };
            PlanStep::scheduled(n, &s, start).unwrap()
        })
        .collect();
    TreatmentPlan {
        id: TreatmentPlanId::from_u128(1),
        patient_id: PatientId::from_u128(2),
        protocol_id: ProtocolId::from_u128(3),
        protocol_version: 1,
        name: "Dental".into(),
        start_date: start,
        status: PlanStatus::Active,
        steps,
        history: Vec::new(),
        created_at: jiff::Timestamp::UNIX_EPOCH,
        updated_at: jiff::Timestamp::UNIX_EPOCH,
        created_by: None,
    }
}

#[cfg(test)]
mod tests {
    use clowder_schemas::UserId;
    use clowder_schemas::events::Author;

    use super::*;
    use crate::ctx::SystemConfig;

    fn plan() -> TreatmentPlan {
        sample_plan(&[(0, None), (7, None), (21, None)])
    }

    fn change(v: serde_json::Value) -> PlanChange {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_step_is_settled_once_and_the_plan_completes_when_all_are() {
        let settings = SystemConfig::new("unused");
        let caller = Caller { actor: Some(Author::User(UserId::from_u128(7))), ..Caller::default() };
        let ctx = DecideCtx::new("2026-12-01T12:00:00Z".parse().unwrap(), &settings, &caller, None);
        let p = plan();
        let done = decide_change(&ctx, &p, change(serde_json::json!({"action": "done", "step": 1}))).unwrap().unwrap();
        assert_eq!(done.record.steps[0].status, StepStatus::Done);
        assert_eq!(done.record.history.last().unwrap().kind, RevisionKind::StepDone);
        let again = decide_change(&ctx, &done.record, change(serde_json::json!({"action": "done", "step": 1})));
        assert!(matches!(again, Err(Error::PlanStepAlreadySettled(1, "done"))), "{again:?}");
        let no_reason =
            decide_change(&ctx, &p, change(serde_json::json!({"action": "skip", "step": 2, "reason": " "})));
        assert!(matches!(no_reason, Err(Error::Validation(ref v)) if v.field == "reason"), "{no_reason:?}");
        let p2 = decide_change(
            &ctx,
            &done.record,
            change(serde_json::json!({"action": "skip", "step": 2, "reason": "owner declined"})),
        )
        .unwrap()
        .unwrap()
        .record;
        let p3 = decide_change(
            &ctx,
            &p2,
            change(serde_json::json!({"action": "remove", "step": 3, "reason": "not needed"})),
        )
        .unwrap()
        .unwrap();
        assert_eq!(p3.record.status, PlanStatus::Completed);
        assert_eq!(p3.changed, ["steps", "status", "history"]);
        let closed = decide_change(&ctx, &p3.record, change(serde_json::json!({"action": "cancel", "reason": "x"})));
        assert!(matches!(closed, Err(Error::TreatmentPlanClosed("completed"))), "{closed:?}");
    }

    #[test]
    fn a_move_stays_in_the_plans_span_and_reorders_the_steps() {
        let settings = SystemConfig::new("unused");
        let caller = Caller::default();
        let ctx = DecideCtx::new("2026-12-01T12:00:00Z".parse().unwrap(), &settings, &caller, None);
        let p = plan();
        let before = decide_change(
            &ctx,
            &p,
            change(serde_json::json!({"action": "move", "step": 3, "date": "2026-11-30", "reason": "x"})),
        );
        assert!(matches!(before, Err(Error::Validation(ref v)) if v.field == "date"), "{before:?}");
        let moved = decide_change(
            &ctx,
            &p,
            change(serde_json::json!({"action": "move", "step": 3, "date": "2026-12-02", "reason": "owner away"})),
        )
        .unwrap()
        .unwrap()
        .record;
        let order: Vec<u32> = moved.steps.iter().map(|s| s.number).collect();
        assert_eq!(order, [1, 3, 2]);
        let r = moved.history.last().unwrap();
        assert_eq!((r.kind, r.reason.as_deref()), (RevisionKind::StepMoved, Some("owner away")));
        assert_eq!(r.detail, "step 3 moved from 2026-12-22 to 2026-12-02");
    }

    #[test]
    fn a_step_is_open_for_booking_only_in_an_active_plan_and_until_settled() {
        let mut p = plan();
        p.steps[0].status = StepStatus::Done;
        p.steps[1].status = StepStatus::Booked;
        assert!(matches!(open_for_booking(&p, 1), Err(Error::PlanStepAlreadySettled(1, "done"))));
        assert_eq!(open_for_booking(&p, 2).unwrap().number, 2, "booked: the link decides");
        assert!(matches!(open_for_booking(&p, 99), Err(Error::PlanStepNotFound(99))));
        p.status = PlanStatus::Cancelled;
        assert!(matches!(open_for_booking(&p, 3), Err(Error::TreatmentPlanClosed("cancelled"))));
    }

    #[test]
    fn the_step_booked_in_an_appointment_is_done_once_its_visit_completes() {
        let settings = SystemConfig::new("unused");
        let caller = Caller::system();
        let ctx = DecideCtx::new("2026-12-01T12:00:00Z".parse().unwrap(), &settings, &caller, None);
        let (appt, visit) = (AppointmentId::from_u128(40), VisitId::from_u128(41));
        let mut p = plan();
        p.steps[1].status = StepStatus::Booked;
        p.steps[1].appointment_id = Some(appt);
        let other = decide_visit_completed(&ctx, &p, AppointmentId::from_u128(99), visit).unwrap();
        assert!(other.is_none(), "a visit of an appointment no step is booked in changes nothing");
        let done = decide_visit_completed(&ctx, &p, appt, visit).unwrap().unwrap().record;
        assert_eq!((done.steps[1].status, done.steps[1].visit_id), (StepStatus::Done, Some(visit)));
        let r = done.history.last().unwrap();
        assert_eq!((r.kind, r.step), (RevisionKind::StepDone, Some(2)));
        assert_eq!(r.detail, format!("step 2 done automatically with visit {visit}"));
        assert!(decide_visit_completed(&ctx, &done, appt, visit).unwrap().is_none(), "a repeat changes nothing");
        let mut closed = p.clone();
        closed.status = PlanStatus::Cancelled;
        assert!(decide_visit_completed(&ctx, &closed, appt, visit).unwrap().is_none());
    }
}
