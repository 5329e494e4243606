//! `/api/prescriptions` and a cat's prescriptions: prescribe (`prescriptions:create` and a
//! staff profile that can prescribe), read (`prescriptions:view`, audited), refill and
//! complete (`prescriptions:edit`), cancel with a reason (`prescriptions:delete`).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use clowder_schemas::ids::PrescriptionId;
use clowder_schemas::pagination::Page;
use clowder_schemas::prescriptions::{CancelPrescription, CreatePrescription, PatientPrescriptionsQuery, Prescription};
use clowder_schemas::{ErrorResponse, PatientId};

use crate::error::ApiError;
use crate::extract::{Id, Json, Query, Staff};
use crate::reply::Created;
use crate::state::AppState;

/// Prescribe. The dose is computed from the cat's newest recorded weight and answered with
/// the arithmetic (`dose.shown`); warnings (dose outside the feline range, an NSAID with
/// kidney disease, interactions) are kept on the record and answered. An NSAID for a cat with
/// CKD, and a severe interaction, need `override_reason`.
#[utoipa::path(
    post, path = "/api/prescriptions", tag = "clinical",
    request_body = CreatePrescription,
    responses(
        (status = 201, description = "Prescribed, with the arithmetic and any warnings", body = Prescription, headers(("Location" = String, description = "URL of the prescription"))),
        (status = 403, description = "`forbidden`: no `prescriptions:create`, or a staff profile without `can_prescribe` (`details.capability`)", body = ErrorResponse),
        (status = 404, description = "`patient_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: no weight on record (`weight`), a feline-toxic or unknown drug (`drug`), a form or strength the formulary lacks, an override reason needed (`override_reason`)", body = ErrorResponse),
    )
)]
pub async fn prescriptions_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<CreatePrescription>,
) -> Result<Response, ApiError> {
    let draft = body.validate()?;
    let p = state.system.prescriptions.create(draft, &staff.caller).await?;
    Ok(Created::at(format!("/api/prescriptions/{}", p.id), p).into_response())
}

/// One prescription.
#[utoipa::path(
    get, path = "/api/prescriptions/{id}", tag = "clinical",
    params(("id" = PrescriptionId, Path)),
    responses((status = 200, body = Prescription), (status = 404, description = "`prescription_not_found`", body = ErrorResponse))
)]
pub async fn prescriptions_get(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<PrescriptionId>,
) -> Result<axum::Json<Prescription>, ApiError> {
    Ok(axum::Json(state.system.prescriptions.get(id, &staff.caller).await?))
}

/// Hand out one refill: decrements `refills_remaining`.
#[utoipa::path(
    post, path = "/api/prescriptions/{id}/refill", tag = "clinical",
    params(("id" = PrescriptionId, Path)),
    responses(
        (status = 200, body = Prescription),
        (status = 404, description = "`prescription_not_found`", body = ErrorResponse),
        (status = 409, description = "`no_refills_left`, or `prescription_not_active` (completed or cancelled)", body = ErrorResponse),
    )
)]
pub async fn prescriptions_refill(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<PrescriptionId>,
) -> Result<axum::Json<Prescription>, ApiError> {
    Ok(axum::Json(state.system.prescriptions.refill(id, &staff.caller).await?))
}

/// Mark a course completed.
#[utoipa::path(
    post, path = "/api/prescriptions/{id}/complete", tag = "clinical",
    params(("id" = PrescriptionId, Path)),
    responses(
        (status = 200, body = Prescription),
        (status = 404, description = "`prescription_not_found`", body = ErrorResponse),
        (status = 409, description = "`prescription_not_active`: it was cancelled", body = ErrorResponse),
    )
)]
pub async fn prescriptions_complete(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<PrescriptionId>,
) -> Result<axum::Json<Prescription>, ApiError> {
    Ok(axum::Json(state.system.prescriptions.complete(id, &staff.caller).await?))
}

/// Cancel a prescription, saying why (kept on the record).
#[utoipa::path(
    post, path = "/api/prescriptions/{id}/cancel", tag = "clinical",
    params(("id" = PrescriptionId, Path)),
    request_body = CancelPrescription,
    responses(
        (status = 200, body = Prescription),
        (status = 404, description = "`prescription_not_found`", body = ErrorResponse),
        (status = 409, description = "`prescription_not_active`: it was completed", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: no reason", body = ErrorResponse),
    )
)]
pub async fn prescriptions_cancel(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<PrescriptionId>,
    Json(body): Json<CancelPrescription>,
) -> Result<axum::Json<Prescription>, ApiError> {
    let reason = body.reason()?;
    Ok(axum::Json(state.system.prescriptions.cancel(id, reason, &staff.caller).await?))
}

/// A cat's prescriptions: active medications first, then the rest, newest first.
#[utoipa::path(
    get, path = "/api/patients/{id}/prescriptions", tag = "clinical",
    params(("id" = PatientId, Path), PatientPrescriptionsQuery),
    responses((status = 200, body = Page<Prescription>), (status = 404, description = "`patient_not_found`", body = ErrorResponse))
)]
pub async fn patients_prescriptions(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<PatientId>,
    Query(q): Query<PatientPrescriptionsQuery>,
) -> Result<axum::Json<Page<Prescription>>, ApiError> {
    state.system.patients.peek(id)?;
    let items = state.system.prescriptions.list_for_patient(id, q.status, &staff.caller).await?;
    Ok(axum::Json(Page::new(items, None)))
}
