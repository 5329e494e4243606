//! Booking a treatment-plan step in one request: the appointment is booked and linked to the
//! step, or the calendar is left as it was.
//!
//! The plan and the calendar are two kinds with actors of their own, so the booking and the
//! link are two commits. The order is: refuse early what the plan already refuses (a closed
//! plan, a settled step, no appointment type), book through the calendar (every booking rule
//! and conflict check as `POST /api/appointments`), link (`book`, the plan's decision: it also
//! refuses a step already booked in an appointment that still takes place), and when the link
//! is refused, cancel the appointment just booked (withdrawn, with the refusal as its reason,
//! audited `appointment.cancelled` like any cancellation) before answering that refusal. All
//! of it runs as the caller, so with an `Idempotency-Key` the booking's commit claims the key
//! and a retry gets the stored refusal instead of booking again.
//!
//! What this does not cover: the process stopping between the booking's commit and the
//! withdrawal (the retry is then told `idempotent_answer_lost`, naming the appointment); and
//! a link that timed out but was applied later (the step then names a cancelled appointment
//! and can be booked again).

use clowder_schemas::access::Permissions;
use clowder_schemas::appointments::{Appointment, CreateAppointment};
use clowder_schemas::audit::Caller;
use clowder_schemas::ids::TreatmentPlanId;
use clowder_schemas::patients::Patient;
use clowder_schemas::protocols::{BookStep, PlanChange, TreatmentPlan};
use clowder_schemas::{ErrorCode, ValidationError};

use super::treatment_plans::{TreatmentPlans, open_for_booking};
use crate::error::{Error, Result};
use crate::scheduling::Calendar;
use crate::store::RecordTable;

/// Longest withdrawal reason an appointment keeps (the cancellation reason's limit).
const MAX_REASON_CHARS: usize = 500;

/// Books `body`'s slot for the step and links it, as `caller` holding `held`; answers the
/// appointment and the plan. On a refused link the appointment is withdrawn and the refusal
/// answered (or, should the withdrawal itself fail, that failure).
pub async fn book_step(
    plans: &TreatmentPlans,
    calendar: &Calendar,
    id: TreatmentPlanId,
    body: &BookStep,
    held: &Permissions,
    caller: &Caller,
) -> Result<(Appointment, TreatmentPlan)> {
    let plan = plans.peek(id)?;
    let step = open_for_booking(&plan, body.step)?;
    let type_id = step.appointment_type_id.ok_or_else(|| ValidationError::new("step", "has no appointment type"))?;
    let patient = plans
        .store()
        .read()?
        .get::<Patient>(RecordTable::Patients, plan.patient_id.as_u128())?
        .ok_or(Error::PatientNotFound(plan.patient_id))?;
    let request = CreateAppointment {
        client_id: patient.client_id,
        patient_id: patient.id,
        type_id,
        vet_id: body.vet_id,
        room_id: body.room_id,
        location_id: body.location_id,
        start: body.start,
        end: None,
        reason: Some(clip(&format!("{}: {}", plan.name, step.title))),
        notes: body.notes.clone(),
        overbook: body.overbook,
    };
    let appointment = calendar.book(&request, held, caller).await?;
    let link = PlanChange::Book { step: body.step, appointment_id: appointment.id };
    match plans.change(id, link, caller).await {
        Ok(plan) => Ok((appointment, plan)),
        Err(refused) => {
            let code: ErrorCode = refused.code();
            let reason = clip(&format!(
                "withdrawn: step {} of the treatment plan refused it ({}: {refused})",
                body.step,
                code.as_str()
            ));
            if let Err(e) = calendar.withdraw(appointment.id, reason, caller).await {
                tracing::error!(
                    appointment = %appointment.id, plan = %id, error = %e, refused = %refused,
                    "a plan step refused its appointment and the appointment could not be withdrawn"
                );
                return Err(e);
            }
            Err(refused)
        }
    }
}

/// `text` cut to the cancellation reason's limit.
fn clip(text: &str) -> String {
    text.chars().take(MAX_REASON_CHARS).collect()
}
