//! Live alerts for notes left unsigned: when a visit's note turns 24 hours old unsigned, its
//! vet's Today board shows it at once, and the alert goes when the note is signed or the
//! visit voided.
//!
//! One durable job per visit (`note_unsigned_alert`), due 24 hours after the opening, through
//! the scheduler: it survives a restart, and a server that was down at the time raises the
//! alert when it is back. Its run emits `note_unsigned_due` (ids only, on the location's
//! `dashboard:` topic, for `visits:view`) if the note is still unsigned and the visit not
//! voided, and nothing otherwise. The signing and the voiding emit `note_unsigned_cleared` in
//! their own change sets once the visit is 24 hours old (see `notes.rs`, `visits.rs`). The job
//! is written with its cause: a walk-in's in the visit's change set ([`Visits::open`]), a
//! visit opened from an appointment in the appointment's (the clinical scheduling hook, keyed
//! by the appointment: the visit's id is chosen later, by the follow job), an imported
//! unsigned visit's by the import. Imported signed notes get none.

use clowder_schemas::ValidationError;
use clowder_schemas::audit::Caller;
use clowder_schemas::events::DomainEvent;
use clowder_schemas::ids::{AppointmentId, VisitId};
use clowder_schemas::jobs::Job;
use clowder_schemas::visits::{Visit, VisitStatus};
use jiff::{SignedDuration, Timestamp};

use super::visits::Visits;
use crate::error::{Error, Result};
use crate::jobs::{JobCtx, JobError, JobFuture, JobHandler, JobOutcome, Jobs, NewJob};
use crate::records::DecideCtx;
use crate::store::ChangeSet;
use crate::store::tables::unique;

/// The job kind.
pub const KIND: &str = "note_unsigned_alert";

/// How long a note may stay unsigned before its vet's board shows it.
pub const AFTER: SignedDuration = SignedDuration::from_hours(24);

/// The alert job of a visit (walk-ins, imports), due at `due_at`.
pub fn of_visit(visit: VisitId, due_at: Timestamp) -> NewJob {
    NewJob {
        kind: KIND.into(),
        payload: serde_json::json!({ "visit_id": visit }),
        due_at,
        idempotency_key: format!("note_unsigned:visit:{visit}"),
        subject: Some(format!("visit:{visit}")),
    }
}

/// The alert job of the visit an appointment opens (its id is not known yet), due at `due_at`.
pub fn of_appointment(appointment: AppointmentId, due_at: Timestamp) -> NewJob {
    NewJob {
        kind: KIND.into(),
        payload: serde_json::json!({ "appointment_id": appointment }),
        due_at,
        idempotency_key: format!("note_unsigned:appointment:{appointment}"),
        subject: Some(format!("appointment:{appointment}")),
    }
}

enum Target {
    Visit(VisitId),
    Appointment(AppointmentId),
}

fn target(payload: &serde_json::Value) -> Option<Target> {
    let id = |k: &str| payload.get(k).and_then(|v| v.as_str());
    match (id("visit_id"), id("appointment_id")) {
        (Some(v), None) => v.parse().ok().map(Target::Visit),
        (None, Some(a)) => a.parse().ok().map(Target::Appointment),
        _ => None,
    }
}

/// True when the visit's note is unsigned and the visit not voided.
fn unsigned(r: &crate::store::Reader, v: &Visit) -> Result<bool> {
    Ok(v.status != VisitStatus::Voided && r.unique_owner(unique::NOTE_VISIT, &v.id.to_string())?.is_none())
}

/// The event that takes the alert off the board, for a change set that signs the note of
/// `visit` or voids it while unsigned, if the board shows it by then (24 hours after the
/// opening).
pub fn cleared(ctx: &DecideCtx<'_>, visit: &Visit, set: &mut ChangeSet) {
    if visit.opened_at.checked_add(AFTER).is_ok_and(|due| due <= ctx.now) {
        set.event(
            ctx.caller.author(),
            DomainEvent::NoteUnsignedCleared {
                visit_id: visit.id,
                patient_id: visit.patient_id,
                vet_id: visit.vet_id,
                location_id: visit.location_id,
            },
        );
    }
}

/// Runs `note_unsigned_alert` jobs.
pub struct UnsignedAlert {
    pub visits: Visits,
}

impl UnsignedAlert {
    async fn run_one(&self, job: &Job, ctx: &JobCtx) -> std::result::Result<JobOutcome, JobError> {
        let t = target(&job.payload).ok_or_else(|| JobError::Permanent("no visit_id or appointment_id".into()))?;
        let visit = match t {
            Target::Visit(id) => match self.visits.peek(id) {
                Ok(v) => Some(v),
                Err(Error::VisitNotFound(_)) => None,
                Err(e) => return Err(JobError::Retry(e.to_string())),
            },
            // The appointment never opened a visit (a deceased cat): nothing to sign.
            Target::Appointment(id) => self.visits.of_appointment(id).map_err(|e| JobError::Retry(e.to_string()))?,
        };
        let Some(visit) = visit else { return Ok(JobOutcome::done()) };
        let r = ctx.ctx.store.read().map_err(|e| JobError::Retry(e.to_string()))?;
        if !unsigned(&r, &visit).map_err(|e| JobError::Retry(e.to_string()))? {
            return Ok(JobOutcome::done());
        }
        // Scheduled with the appointment's start, the visit may have opened later.
        let due = visit.opened_at.checked_add(AFTER).map_err(|e| JobError::Permanent(e.to_string()))?;
        if ctx.ctx.clock.now() < due {
            return Err(JobError::Defer { until: due, reason: "the note is not 24 hours old yet".into() });
        }
        let mut set = ChangeSet::new();
        set.event(
            ctx.caller.author(),
            DomainEvent::NoteUnsignedDue {
                visit_id: visit.id,
                patient_id: visit.patient_id,
                vet_id: visit.vet_id,
                location_id: visit.location_id,
            },
        );
        Ok(JobOutcome::with(set))
    }
}

impl JobHandler for UnsignedAlert {
    fn validate(&self, payload: &serde_json::Value) -> std::result::Result<(), ValidationError> {
        target(payload).map(|_| ()).ok_or_else(|| {
            ValidationError::new(
                "payload",
                "must be {\"visit_id\": <visit id>} or {\"appointment_id\": <appointment id>}",
            )
        })
    }

    fn run<'a>(&'a self, job: &'a Job, ctx: &'a JobCtx) -> JobFuture<'a> {
        Box::pin(self.run_one(job, ctx))
    }
}

impl Visits {
    /// Opens a visit (a walk-in over HTTP) with its unsigned-note alert job in the same change
    /// set, and wakes the scheduler.
    pub async fn open(
        &self,
        draft: clowder_schemas::visits::VisitDraft,
        jobs: &Jobs,
        caller: &Caller,
    ) -> Result<Visit> {
        let ctx = self.ctx_ref();
        let id = VisitId::from_ulid(ctx.new_ulid());
        let due = ctx.clock.now().checked_add(AFTER).map_err(|e| Error::Internal(e.to_string()))?;
        let mut set = ChangeSet::new();
        jobs.schedule(&mut set, of_visit(id, due), caller)?;
        let visit = self.create_with(id, draft, set, caller).await?;
        jobs.wake();
        Ok(visit)
    }
}
