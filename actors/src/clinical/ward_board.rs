//! The ward's board in memory: one actor per ward holding the ward and its admitted cats (their
//! sheets and names, nothing of the owner), built from the store on first use, told after each
//! committed change that concerns it, and serving the board at any instant without a store
//! scan. It passivates when idle and is rebuilt from the store after a restart or a panic, so
//! it can never hold anything the store does not. The sheet's commands go through
//! [`WardBoards`], which commits them on the admission's actor and then refreshes the boards
//! concerned (both, for a move). Also the overdue alert: one durable job per slot, chained
//! (`ward_treatment_overdue`; docs/ward.md "Overdue").

use std::collections::HashMap;
use std::sync::Arc;

use clowder_schemas::ValidationError;
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::events::DomainEvent;
use clowder_schemas::ids::{AdmissionId, TreatmentId, VitalsId, WardId};
use clowder_schemas::jobs::Job;
use clowder_schemas::patients::Patient;
use clowder_schemas::wards::{
    AddTreatment, Admission, AdmissionStatus, BoardAdmission, BoardCage, CreateAdmission, Discharge, MarkSlot,
    MoveAdmission, StopTreatment, Treatment, UpdateWard, Ward, WardBoard, board_slots,
};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::wards::{AdmissionFilter, Admissions, Wards};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::jobs::{JobCtx, JobError, JobFuture, JobHandler, JobOutcome, Jobs, NewJob};
use crate::runtime::registry::KeyedFactory;
use crate::runtime::{Actor, Registry, Reply};
use crate::store::{ChangeSet, RecordTable};

/// How many upcoming slots per cat the board shows.
pub const BOARD_NEXT: usize = 4;

/// The overdue alert's job kind.
pub const OVERDUE_KIND: &str = "ward_treatment_overdue";

/// A slot overdue longer than this when its job runs (the server was down) is not announced:
/// the board no longer shows it (it shows a day back).
const STALE: SignedDuration = SignedDuration::from_hours(24);

/// The longest gap between two slots of a schedule (a week) with a margin.
const NEXT_WITHIN: SignedDuration = SignedDuration::from_hours(8 * 24);

pub(crate) enum Msg {
    Board {
        now: Timestamp,
        reply: Reply<Result<WardBoard>>,
    },
    /// An admission of (or formerly of) this ward changed: read it again.
    Admission {
        id: AdmissionId,
        reply: Reply<Result<()>>,
    },
    /// The ward itself changed.
    Ward {
        reply: Reply<Result<()>>,
    },
}

/// A cat on the board.
struct Cat {
    admission: Admission,
    name: String,
}

pub(crate) struct WardActor {
    ctx: Arc<Ctx>,
    ward: Option<Ward>,
    cats: HashMap<AdmissionId, Cat>,
}

fn name_of(ctx: &Ctx, a: &Admission) -> Result<String> {
    let p = ctx.store.read()?.get::<Patient>(RecordTable::Patients, a.patient_id.as_u128())?;
    Ok(p.map_or_else(|| "?".to_string(), |p| p.name))
}

impl WardActor {
    fn board(&self, now: Timestamp) -> Result<WardBoard> {
        let ward = self.ward.as_ref().ok_or(Error::WardNotFound(WardId::from_u128(0)))?;
        let tz = &self.ctx.config.time_zone;
        let by_cage: HashMap<&str, &Cat> = self.cats.values().map(|c| (c.admission.cage.as_str(), c)).collect();
        let mut overdue_count = 0;
        let mut cages = Vec::with_capacity(ward.cages.len());
        for cage in &ward.cages {
            let admission = by_cage.get(cage.as_str()).map(|c| {
                let a = &c.admission;
                let (pending, next) = board_slots(a, tz, now, ward.overdue_after_minutes, BOARD_NEXT);
                overdue_count += pending.iter().filter(|s| s.overdue).count();
                BoardAdmission {
                    admission_id: a.id,
                    patient_id: a.patient_id,
                    patient_name: c.name.clone(),
                    reason: a.reason.clone(),
                    pending,
                    next,
                }
            });
            cages.push(BoardCage { cage: cage.clone(), inactive: ward.is_inactive(cage), admission });
        }
        Ok(WardBoard { ward_id: ward.id, name: ward.name.clone(), at: now, cages, overdue_count })
    }

    /// Reads the admission as committed: on the board if it is in this ward, else off it.
    fn refresh(&mut self, id: AdmissionId) -> Result<()> {
        let Some(ward) = &self.ward else { return Ok(()) };
        let a = self.ctx.store.read()?.get::<Admission>(RecordTable::Admissions, id.as_u128())?;
        match a {
            Some(a) if a.ward_id == ward.id && a.status == AdmissionStatus::Admitted => {
                let name = match self.cats.remove(&id) {
                    Some(c) if c.admission.patient_id == a.patient_id => c.name,
                    _ => name_of(&self.ctx, &a)?,
                };
                self.cats.insert(id, Cat { admission: a, name });
            }
            _ => {
                self.cats.remove(&id);
            }
        }
        Ok(())
    }
}

impl Actor for WardActor {
    type Msg = Msg;

    fn is_vacant(&self) -> bool {
        self.ward.is_none()
    }

    async fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Board { now, reply } => {
                let _ = reply.send(self.board(now));
            }
            Msg::Admission { id, reply } => {
                let _ = reply.send(self.refresh(id));
            }
            Msg::Ward { reply } => {
                let r = match self.ward.as_ref().map(|w| w.id) {
                    None => Ok(()),
                    Some(id) => self.ctx.store.read().map_err(Error::from).and_then(|r| {
                        self.ward = r.get::<Ward>(RecordTable::Wards, id.as_u128())?;
                        Ok(())
                    }),
                };
                let _ = reply.send(r);
            }
        }
    }
}

pub(crate) struct Loader {
    ctx: Arc<Ctx>,
    admissions: Admissions,
}

impl KeyedFactory<WardActor> for Loader {
    async fn build(&self, key: u128) -> Result<WardActor> {
        let ward = self.ctx.store.read()?.get::<Ward>(RecordTable::Wards, key)?;
        let mut cats = HashMap::new();
        if ward.is_some() {
            let filter = AdmissionFilter { ward_id: Some(WardId::from_u128(key)), current: true };
            let mut after = None;
            loop {
                let (page, next) = self.admissions.list_unaudited(&filter, after, 500)?;
                for a in page {
                    let name = name_of(&self.ctx, &a)?;
                    cats.insert(a.id, Cat { admission: a, name });
                }
                match next {
                    Some(n) => after = Some(n),
                    None => break,
                }
            }
        }
        Ok(WardActor { ctx: self.ctx.clone(), ward, cats })
    }
}

/// The ward's commands and its board: each command commits on its record's actor, then the
/// boards it concerns read the committed record again.
#[derive(Clone)]
pub struct WardBoards {
    ctx: Arc<Ctx>,
    wards: Wards,
    admissions: Admissions,
    jobs: Jobs,
    reg: Arc<Registry<WardActor, Loader>>,
}

impl WardBoards {
    pub(crate) fn new(ctx: Arc<Ctx>, wards: Wards, admissions: Admissions, jobs: Jobs) -> Self {
        let metrics = ctx.metrics.for_kind("ward");
        let loader = Loader { ctx: ctx.clone(), admissions: admissions.clone() };
        let reg = Arc::new(Registry::new(loader, ctx.config.actors, metrics));
        Self { ctx, wards, admissions, jobs, reg }
    }

    /// The overdue alert's job handler.
    pub fn overdue_handler(&self) -> Arc<dyn JobHandler> {
        Arc::new(OverdueAlert { admissions: self.admissions.clone(), jobs: self.jobs.clone() })
    }

    pub(crate) fn stop_all(&self) {
        self.reg.stop_all();
    }

    /// Sends every ward actor away (tests: the next read rebuilds from the store).
    pub fn passivate_all(&self) {
        self.reg.passivate_all();
    }

    /// Live ward actors.
    pub fn live(&self) -> usize {
        self.reg.live()
    }

    async fn ask<R>(&self, ward: WardId, make: impl FnOnce(Reply<Result<R>>) -> Msg) -> Result<R> {
        self.reg.ask(ward.as_u128(), make).await.map_err(|e| Error::from_ask("ward", e))?
    }

    async fn refresh(&self, a: &Admission) -> Result<()> {
        let id = a.id;
        self.ask(a.ward_id, |reply| Msg::Admission { id, reply }).await
    }

    /// The ward's board now, from its actor. Audited as a list of the admissions it shows.
    pub async fn board(&self, ward: WardId, caller: &Caller) -> Result<WardBoard> {
        let now = self.ctx.clock.now();
        let board = self.ask(ward, |reply| Msg::Board { now, reply }).await.map_err(|e| match e {
            Error::WardNotFound(_) => Error::WardNotFound(ward),
            e => e,
        })?;
        let ids: Vec<String> =
            board.cages.iter().filter_map(|c| c.admission.as_ref()).map(|a| a.admission_id.to_string()).collect();
        crate::audit::record_read(
            &self.ctx,
            AuditDraft::new(caller, "admission.list").detail(serde_json::json!({ "ids": ids, "ward_id": ward })),
        )
        .await?;
        Ok(board)
    }

    /// Changes a ward (name, cages, overdue setting); its board follows.
    pub async fn edit_ward(&self, id: WardId, body: UpdateWard, caller: &Caller) -> Result<Ward> {
        let w = self.wards.edit(id, body, caller).await?;
        self.ask(id, |reply| Msg::Ward { reply }).await?;
        Ok(w)
    }

    /// Admits a cat (see `wards::decide_admit`).
    pub async fn admit(&self, body: CreateAdmission, caller: &Caller) -> Result<Admission> {
        let a = self.admissions.admit(body, caller).await?;
        self.refresh(&a).await?;
        Ok(a)
    }

    /// Adds a scheduled treatment, with the overdue alert job of its first slot (of the last
    /// day or later) in the same change set.
    pub async fn add_treatment(&self, id: AdmissionId, body: AddTreatment, caller: &Caller) -> Result<Admission> {
        let tid = TreatmentId::from_ulid(self.ctx.new_ulid());
        let now = self.ctx.clock.now();
        let current = self.admissions.peek(id)?;
        let mut set = ChangeSet::new();
        // An invalid body schedules nothing: the command refuses it with the same error.
        if let Ok(t) = body.validate(tid, now, None)
            && let Some(due) = first_slot(&t, &self.ctx.config.time_zone, now - STALE)
            && let Some(ward) = self.ctx.store.read()?.get::<Ward>(RecordTable::Wards, current.ward_id.as_u128())?
        {
            self.jobs.schedule(&mut set, alert_job(id, tid, due, ward.overdue_after_minutes), caller)?;
        }
        let a = self.admissions.add_treatment_with(id, tid, body, set, caller).await?;
        self.jobs.wake();
        self.refresh(&a).await?;
        Ok(a)
    }

    /// Stops a treatment (see `Admissions::stop_treatment`).
    pub async fn stop_treatment(
        &self,
        id: AdmissionId,
        tid: TreatmentId,
        body: &StopTreatment,
        caller: &Caller,
    ) -> Result<Admission> {
        let a = self.admissions.stop_treatment(id, tid, body, caller).await?;
        self.refresh(&a).await?;
        Ok(a)
    }

    /// Marks a slot (see `Admissions::mark`).
    pub async fn mark(
        &self,
        id: AdmissionId,
        body: MarkSlot,
        vitals_id: Option<VitalsId>,
        caller: &Caller,
    ) -> Result<Admission> {
        let a = self.admissions.mark(id, body, vitals_id, caller).await?;
        self.refresh(&a).await?;
        Ok(a)
    }

    /// Discharges the cat; its cage is free on the board.
    pub async fn discharge(&self, id: AdmissionId, body: Discharge, caller: &Caller) -> Result<Admission> {
        let a = self.admissions.discharge(id, body, caller).await?;
        self.refresh(&a).await?;
        Ok(a)
    }

    /// Moves the cat to another cage; both boards follow.
    pub async fn move_to(&self, id: AdmissionId, body: MoveAdmission, caller: &Caller) -> Result<Admission> {
        let from = self.admissions.peek(id)?.ward_id;
        let a = self.admissions.move_to(id, body, caller).await?;
        if from != a.ward_id {
            self.ask(from, |reply| Msg::Admission { id, reply }).await?;
        }
        self.refresh(&a).await?;
        Ok(a)
    }
}

/// The first slot of a treatment at or after `from` (within a week and a day).
fn first_slot(t: &Treatment, tz: &TimeZone, from: Timestamp) -> Option<Timestamp> {
    let from = from.max(t.schedule.start);
    t.slots(tz, from, from + NEXT_WITHIN, None).into_iter().next()
}

/// The slot after `due`.
fn next_slot(t: &Treatment, tz: &TimeZone, due: Timestamp) -> Option<Timestamp> {
    t.slots(tz, due, due + NEXT_WITHIN, None).into_iter().find(|s| *s > due)
}

/// The alert job of one slot: its key is the slot's, so a slot has one for ever.
fn alert_job(a: AdmissionId, t: TreatmentId, due: Timestamp, overdue_after_minutes: u32) -> NewJob {
    NewJob {
        kind: OVERDUE_KIND.into(),
        payload: serde_json::json!({ "admission_id": a, "treatment_id": t, "due": due }),
        due_at: due + SignedDuration::from_mins(i64::from(overdue_after_minutes)),
        idempotency_key: format!("ward_overdue:{a}/{t}/{}", due.as_millisecond()),
        subject: Some(format!("admission:{a}")),
    }
}

/// What an overdue job finds at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverdueCheck {
    /// Unmarked and overdue: announce it.
    Alert,
    /// Marked, stopped, discharged, or too old to show: nothing to say.
    Quiet,
    /// Not overdue yet (the ward's setting grew): run again then.
    Wait(Timestamp),
}

/// Whether the slot `due` of treatment `tid` is to be announced at `now` (pure: the rule of
/// docs/ward.md "Overdue").
pub fn check_overdue(
    a: &Admission,
    tid: TreatmentId,
    due: Timestamp,
    overdue_after_minutes: u32,
    now: Timestamp,
) -> OverdueCheck {
    let Some(t) = a.treatments.iter().find(|t| t.id == tid) else { return OverdueCheck::Quiet };
    if a.status != AdmissionStatus::Admitted
        || t.stopped_at.is_some_and(|s| due >= s)
        || a.marks.iter().any(|m| m.treatment_id == tid && m.due == due)
    {
        return OverdueCheck::Quiet;
    }
    let at = due + SignedDuration::from_mins(i64::from(overdue_after_minutes));
    if now < at {
        return OverdueCheck::Wait(at);
    }
    if now - STALE > at { OverdueCheck::Quiet } else { OverdueCheck::Alert }
}

fn slot_of(payload: &serde_json::Value) -> Option<(AdmissionId, TreatmentId, Timestamp)> {
    let s = |k: &str| payload.get(k).and_then(|v| v.as_str());
    Some((s("admission_id")?.parse().ok()?, s("treatment_id")?.parse().ok()?, s("due")?.parse().ok()?))
}

/// Runs `ward_treatment_overdue` jobs: announces the slot if it is overdue and unmarked, and
/// schedules the treatment's next slot's job in the same change set.
struct OverdueAlert {
    admissions: Admissions,
    jobs: Jobs,
}

impl OverdueAlert {
    async fn run_one(&self, job: &Job, ctx: &JobCtx) -> std::result::Result<JobOutcome, JobError> {
        let retry = |e: Error| JobError::Retry(e.to_string());
        let (aid, tid, due) = slot_of(&job.payload).ok_or_else(|| JobError::Permanent("a bad payload".into()))?;
        let a = match self.admissions.peek(aid) {
            Ok(a) => a,
            Err(Error::AdmissionNotFound(_)) => return Ok(JobOutcome::done()),
            Err(e) => return Err(retry(e)),
        };
        let r = ctx.ctx.store.read().map_err(|e| retry(e.into()))?;
        let Some(ward) = r.get::<Ward>(RecordTable::Wards, a.ward_id.as_u128()).map_err(|e| retry(e.into()))? else {
            return Ok(JobOutcome::done());
        };
        let now = ctx.ctx.clock.now();
        let mut set = ChangeSet::new();
        match check_overdue(&a, tid, due, ward.overdue_after_minutes, now) {
            OverdueCheck::Wait(until) => {
                return Err(JobError::Defer { until, reason: "the slot is not overdue yet".into() });
            }
            OverdueCheck::Alert => {
                set.event(
                    ctx.caller.author(),
                    DomainEvent::WardTreatmentOverdue {
                        admission_id: a.id,
                        ward_id: a.ward_id,
                        location_id: ward.location_id,
                        patient_id: a.patient_id,
                        treatment_id: tid,
                        due,
                    },
                );
            }
            OverdueCheck::Quiet => {}
        }
        let t = a.treatments.iter().find(|t| t.id == tid);
        if a.status == AdmissionStatus::Admitted
            && let Some(t) = t
            && let Some(next) = next_slot(t, &ctx.ctx.config.time_zone, due)
            && t.stopped_at.is_none_or(|s| next < s)
        {
            self.jobs
                .schedule(&mut set, alert_job(aid, tid, next, ward.overdue_after_minutes), &ctx.caller)
                .map_err(retry)?;
        }
        Ok(JobOutcome::with(set))
    }
}

impl JobHandler for OverdueAlert {
    fn validate(&self, payload: &serde_json::Value) -> std::result::Result<(), ValidationError> {
        slot_of(payload).map(|_| ()).ok_or_else(|| {
            ValidationError::new("payload", "must be {\"admission_id\", \"treatment_id\", \"due\": <instant>}")
        })
    }

    fn run<'a>(&'a self, job: &'a Job, ctx: &'a JobCtx) -> JobFuture<'a> {
        Box::pin(self.run_one(job, ctx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clinical::wards::tests::admission;
    use clowder_schemas::wards::{SlotMark, SlotOutcome};

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[allow(non_snake_case)]
    fn T() -> TreatmentId {
        TreatmentId::from_u128(6)
    }

    #[test]
    fn a_slot_alerts_once_it_is_overdue_unless_it_was_marked_first() {
        let a = admission();
        let due = ts("2026-12-06T12:00:00Z");
        // The manual clock of the decision: before, at and long after the overdue instant.
        assert_eq!(
            check_overdue(&a, T(), due, 30, ts("2026-12-06T12:29:00Z")),
            OverdueCheck::Wait(ts("2026-12-06T12:30:00Z"))
        );
        assert_eq!(check_overdue(&a, T(), due, 30, ts("2026-12-06T12:30:00Z")), OverdueCheck::Alert);
        assert_eq!(check_overdue(&a, T(), due, 30, ts("2026-12-08T12:30:00Z")), OverdueCheck::Quiet, "stale");
        let mut marked = a.clone();
        marked.marks.push(SlotMark {
            treatment_id: T(),
            due,
            outcome: SlotOutcome::Done,
            reason: None,
            at: due,
            by: None,
            entered_at: due,
            vitals_id: None,
            note: None,
        });
        assert_eq!(check_overdue(&marked, T(), due, 30, ts("2026-12-06T12:30:00Z")), OverdueCheck::Quiet);
        let mut stopped = a.clone();
        stopped.treatments[0].stopped_at = Some(ts("2026-12-06T11:00:00Z"));
        assert_eq!(check_overdue(&stopped, T(), due, 30, ts("2026-12-06T12:30:00Z")), OverdueCheck::Quiet);
        let mut out = a;
        out.status = AdmissionStatus::Discharged;
        assert_eq!(check_overdue(&out, T(), due, 30, ts("2026-12-06T12:30:00Z")), OverdueCheck::Quiet);
    }

    #[test]
    fn the_chain_goes_slot_by_slot_from_the_first_of_the_last_day() {
        let a = admission();
        let tz = TimeZone::UTC;
        let t = &a.treatments[0];
        assert_eq!(first_slot(t, &tz, ts("2026-12-06T09:00:00Z")), Some(ts("2026-12-06T12:00:00Z")));
        assert_eq!(first_slot(t, &tz, ts("2026-12-01T09:00:00Z")), Some(ts("2026-12-06T08:00:00Z")));
        assert_eq!(next_slot(t, &tz, ts("2026-12-06T12:00:00Z")), Some(ts("2026-12-06T16:00:00Z")));
        let job = alert_job(a.id, T(), ts("2026-12-06T12:00:00Z"), 30);
        assert_eq!(job.due_at, ts("2026-12-06T12:30:00Z"));
        assert_eq!(slot_of(&job.payload), Some((a.id, T(), ts("2026-12-06T12:00:00Z"))));
    }
}
