//! `/api/patients`: create, list, read, patch, deactivate.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use clowder_actors::people::patients::PatientFilter;
use clowder_schemas::pagination::{Page, PageRequest};
use clowder_schemas::patients::{CreatePatient, Patient, PatientListQuery, PatientStatus, UpdatePatient};
use clowder_schemas::{ClientId, ErrorResponse, PatientId, ValidationError};

use super::clients::name_fragment;
use clowder_schemas::search::{RecordReadParams, SearchKind};

use crate::access::Granted;
use crate::error::ApiError;
use crate::extract::{Id, Json, Query, Staff};
use crate::reply::Created;
use crate::state::AppState;

/// Builds the filter of a patient list. Under a client (`/api/clients/{id}/patients`) every
/// status is listed by default: the front desk wants to see the whole household.
pub(crate) fn patient_filter(q: &PatientListQuery, under_client: bool) -> Result<PatientFilter, ApiError> {
    let status = match q.status.as_deref() {
        None if under_client => None,
        None | Some("active") => Some(PatientStatus::Active),
        Some("inactive") => Some(PatientStatus::Inactive),
        Some("deceased") => Some(PatientStatus::Deceased),
        Some("all") => None,
        Some(_) => return Err(ValidationError::new("status", "must be active, inactive, deceased or all").into()),
    };
    let client_id = match q.client_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(c) => Some(
            c.parse::<ClientId>()
                .map_err(|_| ApiError::from(ValidationError::new("client_id", "is not a client id")))?,
        ),
    };
    Ok(PatientFilter { status, client_id, name: name_fragment(&q.name)?, created_by: None })
}

/// Register a cat to an existing client.
#[utoipa::path(
    post, path = "/api/patients", tag = "patients",
    request_body = CreatePatient,
    responses(
        (status = 201, description = "Created", body = Patient, headers(("Location" = String, description = "URL of the new patient"))),
        (status = 404, description = "`client_not_found`: the owner does not exist", body = ErrorResponse),
        (status = 409, description = "`duplicate_value`: the microchip belongs to another cat", body = ErrorResponse),
        (status = 422, description = "`validation_failed`, naming the field", body = ErrorResponse),
    )
)]
pub async fn patients_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<CreatePatient>,
) -> Result<Response, ApiError> {
    let draft = body.validate(state.system.ctx.today())?;
    let patient = state.system.patients.create(draft, &staff.caller).await?;
    Ok(Created::at(format!("/api/patients/{}", patient.id), patient).into_response())
}

/// List patients in registration order (active ones unless `status` says otherwise).
#[utoipa::path(
    get, path = "/api/patients", tag = "patients",
    params(PatientListQuery),
    responses(
        (status = 200, body = Page<Patient>),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn patients_list(
    State(state): State<AppState>,
    staff: Staff,
    granted: Granted,
    Query(q): Query<PatientListQuery>,
) -> Result<axum::Json<Page<Patient>>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let filter = PatientFilter { created_by: granted.own_only(), ..patient_filter(&q, false)? };
    let (items, next) = state.system.patients.list(&filter, page.after, page.limit, &staff.caller).await?;
    Ok(axum::Json(Page::new(items, next)))
}

/// One patient (also when inactive or deceased).
#[utoipa::path(
    get, path = "/api/patients/{id}", tag = "patients",
    params(("id" = PatientId, Path), RecordReadParams),
    responses((status = 200, body = Patient), (status = 404, description = "`patient_not_found`", body = ErrorResponse))
)]
pub async fn patients_get(
    State(state): State<AppState>,
    staff: Staff,
    granted: Granted,
    Id(id): Id<PatientId>,
    Query(read): Query<RecordReadParams>,
) -> Result<axum::Json<Patient>, ApiError> {
    granted.check_lazily(|| state.system.patients.peek(id).map(|r| r.created_by))?;
    let patient = state.system.patients.get(id, &staff.caller).await?;
    // Opening a record puts it on the caller's recently viewed list, unless it is only
    // shown in passing.
    if read.recent != Some(false) {
        state.system.search.viewed(&staff.caller, SearchKind::Patient, id.ulid()).await?;
    }
    Ok(axum::Json(patient))
}

/// Change some of a patient's fields (JSON merge patch: `null` clears). Setting `status`
/// to `deceased` records `deceased_on` (default today); it cannot be undone.
#[utoipa::path(
    patch, path = "/api/patients/{id}", tag = "patients",
    params(("id" = PatientId, Path)),
    request_body = UpdatePatient,
    responses(
        (status = 200, body = Patient),
        (status = 404, description = "`patient_not_found` or `client_not_found`", body = ErrorResponse),
        (status = 409, description = "`duplicate_value`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn patients_update(
    State(state): State<AppState>,
    staff: Staff,
    granted: Granted,
    Id(id): Id<PatientId>,
    Json(patch): Json<UpdatePatient>,
) -> Result<axum::Json<Patient>, ApiError> {
    granted.check_lazily(|| state.system.patients.peek(id).map(|r| r.created_by))?;
    Ok(axum::Json(state.system.patients.update(id, patch, &staff.caller).await?))
}

/// Deactivate a patient (status `inactive`; a deceased patient stays deceased).
#[utoipa::path(
    delete, path = "/api/patients/{id}", tag = "patients",
    params(("id" = PatientId, Path)),
    responses((status = 200, description = "Deactivated", body = Patient), (status = 404, description = "`patient_not_found`", body = ErrorResponse))
)]
pub async fn patients_delete(
    State(state): State<AppState>,
    staff: Staff,
    granted: Granted,
    Id(id): Id<PatientId>,
) -> Result<axum::Json<Patient>, ApiError> {
    granted.check_lazily(|| state.system.patients.peek(id).map(|r| r.created_by))?;
    Ok(axum::Json(state.system.patients.deactivate(id, &staff.caller).await?))
}
