//! Visits follow their appointments: opened when the appointment goes `in_progress`,
//! completed when it is `completed`.
//!
//! Scheduling must not depend on clinical, so the calendar only calls its
//! [`SchedulingHooks`]; this hook adds a durable `visit_follow_appointment` job to the
//! appointment's own change set. The job exists exactly when the status change does (both
//! commit or neither), survives a crash, and is retried with backoff if the visit cannot be
//! written at once. It is idempotent: the job's key is per appointment and status, and the
//! visit's `visit_appointment` claim makes a second opening answer the first visit. The HTTP
//! route that moved the appointment also calls [`Visits::follow_appointment`] at once, so the
//! tablet that pressed "Start" finds the visit in the answer's wake, without waiting for the
//! scheduler; whichever comes second finds the visit there.

use std::sync::Arc;

use clowder_schemas::AppointmentId;
use clowder_schemas::ValidationError;
use clowder_schemas::appointments::{Appointment, Status};
use clowder_schemas::audit::Caller;
use clowder_schemas::jobs::Job;
use clowder_schemas::waitlist::WaitlistOffer;

use super::visits::Visits;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::jobs::{JobCtx, JobError, JobFuture, JobHandler, JobOutcome, Jobs, NewJob};
use crate::scheduling::SchedulingHooks;
use crate::store::ChangeSet;

/// The job kind.
pub const KIND: &str = "visit_follow_appointment";

/// The appointment a job's payload names (`{"appointment_id": …}`).
pub(crate) fn appointment_of(payload: &serde_json::Value) -> Option<AppointmentId> {
    payload.get("appointment_id")?.as_str()?.parse().ok()
}

/// Checks a job's payload names an appointment (this job's, and `plan_step_visit_done`'s).
pub(crate) fn check_payload(payload: &serde_json::Value) -> std::result::Result<(), ValidationError> {
    appointment_of(payload)
        .map(|_| ())
        .ok_or_else(|| ValidationError::new("payload", "must be {\"appointment_id\": <appointment id>}"))
}

/// What a job does when following an appointment failed: a cat that cannot get a visit
/// (deceased, inactive), an appointment or a voided visit that is gone are permanent (trying
/// again changes nothing); anything else is retried.
pub(crate) fn follow_failure(e: Error) -> JobError {
    match e {
        Error::Validation(_)
        | Error::AppointmentNotFound(_)
        | Error::PatientNotFound(_)
        | Error::VisitTransition { .. } => JobError::Permanent(e.to_string()),
        e => JobError::Retry(e.to_string()),
    }
}

/// Runs `visit_follow_appointment` jobs.
pub struct FollowAppointment {
    pub visits: Visits,
}

impl JobHandler for FollowAppointment {
    fn validate(&self, payload: &serde_json::Value) -> std::result::Result<(), ValidationError> {
        check_payload(payload)
    }

    fn run<'a>(&'a self, job: &'a Job, ctx: &'a JobCtx) -> JobFuture<'a> {
        Box::pin(async move {
            let id = appointment_of(&job.payload).ok_or_else(|| JobError::Permanent("no appointment_id".into()))?;
            self.visits.follow_appointment(id, &ctx.caller).await.map(|_| JobOutcome::done()).map_err(follow_failure)
        })
    }
}

/// The clinical domain's [`SchedulingHooks`].
pub struct ClinicalHooks {
    pub ctx: Arc<Ctx>,
    pub jobs: Jobs,
}

impl SchedulingHooks for ClinicalHooks {
    fn appointment_changed(
        &self,
        set: &mut ChangeSet,
        before: Option<&Appointment>,
        after: &Appointment,
        caller: &Caller,
    ) -> Result<()> {
        let moved = before.is_none_or(|b| b.status != after.status);
        if !moved || !matches!(after.status, Status::InProgress | Status::Completed) {
            return Ok(());
        }
        let now = self.ctx.clock.now();
        self.jobs.schedule(
            set,
            NewJob {
                kind: KIND.into(),
                payload: serde_json::json!({ "appointment_id": after.id }),
                due_at: now,
                idempotency_key: format!("visit:{}:{}", after.id, after.status.as_str()),
                subject: Some(format!("appointment:{}", after.id)),
            },
            caller,
        )?;
        // The plan step booked in it, done once its visit is (a no-op when none is).
        if after.status == Status::Completed {
            self.jobs.schedule(set, super::plan_steps::job(after.id, now), caller)?;
        }
        // The visit's unsigned-note alert, 24 h on (one per appointment: a repeat is ignored).
        let due = now.checked_add(super::unsigned::AFTER).map_err(|e| Error::Internal(e.to_string()))?;
        self.jobs.schedule(set, super::unsigned::of_appointment(after.id, due), caller)?;
        Ok(())
    }

    fn offer_made(&self, _: &mut ChangeSet, _: &WaitlistOffer, _: &Caller) -> Result<()> {
        Ok(())
    }

    fn committed(&self) {
        self.jobs.wake();
    }
}
