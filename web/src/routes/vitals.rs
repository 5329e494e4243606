//! `/api/vitals` and a cat's vitals and weight history: record (`vitals:create`), read
//! (`visits:view`, audited), correct by amendment with a reason (`vitals:create`).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use clowder_schemas::ids::VitalsId;
use clowder_schemas::pagination::{Page, PageQuery, PageRequest};
use clowder_schemas::vitals::{AmendVitals, CreateVitals, Vitals, WeightPoint};
use clowder_schemas::{ErrorResponse, PatientId};

use crate::error::ApiError;
use crate::extract::{Id, Json, Query, Staff};
use crate::reply::Created;
use crate::state::AppState;

/// Record a cat's vital signs. Impossible values are refused naming the field and the limit;
/// values outside the normal feline range are stored with a flag naming the range.
#[utoipa::path(
    post, path = "/api/vitals", tag = "clinical",
    request_body = CreateVitals,
    responses(
        (status = 201, description = "Recorded", body = Vitals, headers(("Location" = String, description = "URL of the record"))),
        (status = 404, description = "`patient_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: an impossible value (the message names the limit), a deceased cat, a time in the future", body = ErrorResponse),
    )
)]
pub async fn vitals_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<CreateVitals>,
) -> Result<Response, ApiError> {
    let now = state.system.ctx.clock.now();
    let v = state.system.vitals.record(body, now, &staff.caller).await?;
    Ok(Created::at(format!("/api/vitals/{}", v.id), v).into_response())
}

/// One vitals record, with its flags and amendments.
#[utoipa::path(
    get, path = "/api/vitals/{id}", tag = "clinical",
    params(("id" = VitalsId, Path)),
    responses((status = 200, body = Vitals), (status = 404, description = "`vitals_not_found`", body = ErrorResponse))
)]
pub async fn vitals_get(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<VitalsId>,
) -> Result<axum::Json<Vitals>, ApiError> {
    Ok(axum::Json(state.system.vitals.get(id, &staff.caller).await?))
}

/// Correct a vitals record: the measurements as they should have been, whole, and why. The
/// values replaced stay on the record in `amendments`; nothing is edited silently.
#[utoipa::path(
    post, path = "/api/vitals/{id}/amendments", tag = "clinical",
    params(("id" = VitalsId, Path)),
    request_body = AmendVitals,
    responses(
        (status = 200, description = "The amended record", body = Vitals),
        (status = 404, description = "`vitals_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn vitals_amend(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<VitalsId>,
    Json(body): Json<AmendVitals>,
) -> Result<axum::Json<Vitals>, ApiError> {
    Ok(axum::Json(state.system.vitals.amend(id, body, &staff.caller).await?))
}

/// A cat's vitals, newest taken first.
#[utoipa::path(
    get, path = "/api/patients/{id}/vitals", tag = "clinical",
    params(("id" = PatientId, Path), PageQuery),
    responses((status = 200, body = Page<Vitals>), (status = 404, description = "`patient_not_found`", body = ErrorResponse))
)]
pub async fn patients_vitals(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<PatientId>,
    Query(q): Query<PageQuery>,
) -> Result<axum::Json<Page<Vitals>>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    state.system.patients.peek(id)?;
    let (items, next) = state.system.vitals.list_for_patient(id, page.after, page.limit, &staff.caller).await?;
    Ok(axum::Json(Page::new(items, next)))
}

/// A cat's weight history: every weight recorded with its vitals, newest taken first, in kg
/// with the entry as typed and the body condition score taken with it.
#[utoipa::path(
    get, path = "/api/patients/{id}/weights", tag = "clinical",
    params(("id" = PatientId, Path), PageQuery),
    responses((status = 200, body = Page<WeightPoint>), (status = 404, description = "`patient_not_found`", body = ErrorResponse))
)]
pub async fn patients_weights(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<PatientId>,
    Query(q): Query<PageQuery>,
) -> Result<axum::Json<Page<WeightPoint>>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    state.system.patients.peek(id)?;
    let (items, next) = state.system.vitals.weights(id, page.after, page.limit, &staff.caller).await?;
    Ok(axum::Json(Page::new(items, next)))
}
