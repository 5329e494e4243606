//! `/api/appointment-types`: what can be booked, for how long, where, and by whom.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use clowder_schemas::appointment_types::{AppointmentType, CreateAppointmentType, UpdateAppointmentType};
use clowder_schemas::{AppointmentTypeId, ErrorResponse, ValidationError};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::extract::{Id, Json, Query, Staff};
use crate::reply::Created;
use crate::state::AppState;

/// Filters of `GET /api/appointment-types`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TypeListQuery {
    /// `active` (default) or `all`.
    pub status: Option<String>,
}

/// The appointment types, active ones first.
#[utoipa::path(
    get, path = "/api/appointment-types", tag = "scheduling",
    params(TypeListQuery),
    responses((status = 200, body = Vec<AppointmentType>), (status = 422, body = ErrorResponse))
)]
pub async fn appointment_types_list(
    State(state): State<AppState>,
    Query(q): Query<TypeListQuery>,
) -> Result<axum::Json<Vec<AppointmentType>>, ApiError> {
    let all = match q.status.as_deref() {
        None | Some("active") => false,
        Some("all") => true,
        Some(_) => return Err(ValidationError::new("status", "must be active or all").into()),
    };
    Ok(axum::Json(state.system.scheduling.appointment_types.list(all)?))
}

/// Add an appointment type (duration 5–480 min, default 30; colour `#RRGGBB`, default
/// `#2563eb`; name unique).
#[utoipa::path(
    post, path = "/api/appointment-types", tag = "scheduling",
    request_body = CreateAppointmentType,
    responses(
        (status = 201, body = AppointmentType),
        (status = 409, description = "`duplicate_value`: the name is taken", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn appointment_types_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<CreateAppointmentType>,
) -> Result<Response, ApiError> {
    let t = state.system.scheduling.appointment_types.create(&body, &staff.caller).await?;
    Ok(Created::at(format!("/api/appointment-types/{}", t.id), t).into_response())
}

/// One appointment type.
#[utoipa::path(
    get, path = "/api/appointment-types/{id}", tag = "scheduling",
    params(("id" = AppointmentTypeId, Path)),
    responses((status = 200, body = AppointmentType), (status = 404, description = "`appointment_type_not_found`", body = ErrorResponse))
)]
pub async fn appointment_types_get(
    State(state): State<AppState>,
    Id(id): Id<AppointmentTypeId>,
) -> Result<axum::Json<AppointmentType>, ApiError> {
    Ok(axum::Json(state.system.scheduling.appointment_types.get(id)?))
}

/// Change an appointment type; `active: false` retires it.
#[utoipa::path(
    patch, path = "/api/appointment-types/{id}", tag = "scheduling",
    params(("id" = AppointmentTypeId, Path)),
    request_body = UpdateAppointmentType,
    responses(
        (status = 200, body = AppointmentType),
        (status = 404, description = "`appointment_type_not_found`", body = ErrorResponse),
        (status = 409, description = "`duplicate_value`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn appointment_types_update(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<AppointmentTypeId>,
    Json(patch): Json<UpdateAppointmentType>,
) -> Result<axum::Json<AppointmentType>, ApiError> {
    Ok(axum::Json(state.system.scheduling.appointment_types.update(id, &patch, &staff.caller).await?))
}
