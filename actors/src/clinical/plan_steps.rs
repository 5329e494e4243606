//! A treatment-plan step booked in an appointment is done automatically when that
//! appointment's visit completes, through a durable `plan_step_visit_done` job.
//!
//! The job is written in the appointment's own change set when it moves to `completed` (by
//! [`super::follow::ClinicalHooks`]), and enqueued by the visit-completion route when a vet
//! completes the visit itself; both use one key per appointment, so there is one job. The job
//! first keeps the visit in step with its appointment (the idempotent
//! [`Visits::follow_appointment`], so it never waits on the `visit_follow_appointment` job),
//! then, if the visit is completed, asks the plans service to settle the steps booked there
//! ([`TreatmentPlans::visit_completed`]). Neither kind reads the other inside its decision;
//! a repeat changes nothing (the step is settled).

use clowder_schemas::ValidationError;
use clowder_schemas::audit::Caller;
use clowder_schemas::ids::AppointmentId;
use clowder_schemas::jobs::Job;
use clowder_schemas::visits::{Visit, VisitStatus};
use jiff::Timestamp;

use super::follow::{appointment_of, check_payload, follow_failure};
use super::treatment_plans::TreatmentPlans;
use super::visits::Visits;
use crate::error::Result;
use crate::jobs::{JobCtx, JobError, JobFuture, JobHandler, JobOutcome, Jobs, NewJob};

/// The job kind.
pub const KIND: &str = "plan_step_visit_done";

/// The job for the visit of `appointment`, due at `now` (one per appointment, ever).
pub fn job(appointment: AppointmentId, now: Timestamp) -> NewJob {
    NewJob {
        kind: KIND.into(),
        payload: serde_json::json!({ "appointment_id": appointment }),
        due_at: now,
        idempotency_key: format!("plan-step:{appointment}"),
        subject: Some(format!("appointment:{appointment}")),
    }
}

/// Enqueues the job for a visit just completed, when it came from an appointment (a walk-in
/// has no booked step). The route's answer does not wait for it.
pub async fn after_visit_completed(jobs: &Jobs, visit: &Visit, now: Timestamp, caller: &Caller) -> Result<()> {
    if let (Some(a), VisitStatus::Completed) = (visit.appointment_id, visit.status) {
        jobs.enqueue(job(a, now), caller).await?;
    }
    Ok(())
}

/// Runs `plan_step_visit_done` jobs.
pub struct StepVisitDone {
    pub visits: Visits,
    pub plans: TreatmentPlans,
}

impl JobHandler for StepVisitDone {
    fn validate(&self, payload: &serde_json::Value) -> std::result::Result<(), ValidationError> {
        check_payload(payload)
    }

    fn run<'a>(&'a self, job: &'a Job, ctx: &'a JobCtx) -> JobFuture<'a> {
        Box::pin(async move {
            let id = appointment_of(&job.payload).ok_or_else(|| JobError::Permanent("no appointment_id".into()))?;
            let visit = match self.visits.follow_appointment(id, &ctx.caller).await {
                Ok(Some(v)) => Some(v),
                Ok(None) => self.visits.of_appointment(id).map_err(|e| JobError::Retry(e.to_string()))?,
                Err(e) => return Err(follow_failure(e)),
            };
            // No visit, or one still open or voided: no step was done there.
            let Some(visit) = visit.filter(|v| v.status == VisitStatus::Completed) else {
                return Ok(JobOutcome::done());
            };
            match self.plans.visit_completed(visit.patient_id, id, visit.id, &ctx.caller).await {
                Ok(_) => Ok(JobOutcome::done()),
                Err(e) => Err(JobError::Retry(e.to_string())),
            }
        })
    }
}
