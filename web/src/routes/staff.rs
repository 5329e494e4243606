//! `/api/staff` (profiles and their shifts) and `/api/time-off` (request, approve, deny,
//! cancel). Anyone signed in may ask for their own time off; deciding needs
//! `scheduling:manage`, as does asking on someone else's behalf.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use clowder_schemas::staff::{
    CreateShift, CreateStaff, DecideTimeOff, RequestTimeOff, Shift, StaffProfile, TimeOff, TimeOffStatus, UpdateShift,
    UpdateStaff,
};
use clowder_schemas::{ErrorResponse, ShiftId, StaffId, TimeOffId, ValidationError};
use jiff::civil::Date;
use serde::Deserialize;
use utoipa::IntoParams;

use super::locations::{include_inactive, parse_query_id};
use crate::access::Granted;
use crate::error::ApiError;
use crate::extract::{Id, Json, ParentId, Query, Staff};
use crate::state::AppState;

/// Filters of `GET /api/staff`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StaffListQuery {
    /// `active` (default) or `all`.
    pub status: Option<String>,
}

/// Staff by last name.
#[utoipa::path(
    get, path = "/api/staff", tag = "staff",
    params(StaffListQuery),
    responses((status = 200, body = Vec<StaffProfile>), (status = 422, body = ErrorResponse))
)]
pub async fn staff_list(
    State(state): State<AppState>,
    Query(q): Query<StaffListQuery>,
) -> Result<axum::Json<Vec<StaffProfile>>, ApiError> {
    Ok(axum::Json(state.system.scheduling.setup.staff_list(include_inactive(q.status.as_deref())?)))
}

/// Add a staff profile, optionally linked to a user account.
#[utoipa::path(
    post, path = "/api/staff", tag = "staff",
    request_body = CreateStaff,
    responses(
        (status = 201, body = StaffProfile),
        (status = 409, description = "`duplicate_value`: the email or user account has a profile already", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn staff_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<CreateStaff>,
) -> Result<Response, ApiError> {
    let s = state.system.scheduling.setup.create_staff(&body, &staff.caller).await?;
    let at = format!("/api/staff/{}", s.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, at)], axum::Json(s)).into_response())
}

/// One staff profile.
#[utoipa::path(
    get, path = "/api/staff/{id}", tag = "staff",
    params(("id" = StaffId, Path)),
    responses((status = 200, body = StaffProfile), (status = 404, description = "`staff_not_found`", body = ErrorResponse))
)]
pub async fn staff_get(
    State(state): State<AppState>,
    Id(id): Id<StaffId>,
) -> Result<axum::Json<StaffProfile>, ApiError> {
    Ok(axum::Json(state.system.scheduling.setup.staff(id)?))
}

/// Change a staff profile (merge-patch); `active: false` when someone leaves.
#[utoipa::path(
    patch, path = "/api/staff/{id}", tag = "staff",
    params(("id" = StaffId, Path)),
    request_body = UpdateStaff,
    responses(
        (status = 200, body = StaffProfile),
        (status = 404, description = "`staff_not_found`", body = ErrorResponse),
        (status = 409, description = "`duplicate_value`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn staff_update(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<StaffId>,
    Json(patch): Json<UpdateStaff>,
) -> Result<axum::Json<StaffProfile>, ApiError> {
    Ok(axum::Json(state.system.scheduling.setup.update_staff(id, &patch, &staff.caller).await?))
}

/// Range of `GET /api/staff/{id}/shifts`: local dates, inclusive.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ShiftListQuery {
    /// First date (default: today).
    #[param(value_type = Option<String>)]
    pub from: Option<Date>,
    /// Last date (default: 6 days after `from`); at most 92 days after it.
    #[param(value_type = Option<String>)]
    pub to: Option<Date>,
    /// `true` to include cancelled shifts.
    pub include_cancelled: Option<bool>,
}

/// Someone's shifts starting on the dates asked, by start.
#[utoipa::path(
    get, path = "/api/staff/{id}/shifts", tag = "staff",
    params(("id" = StaffId, Path), ShiftListQuery),
    responses(
        (status = 200, body = Vec<Shift>),
        (status = 404, description = "`staff_not_found`", body = ErrorResponse),
        (status = 422, body = ErrorResponse),
    )
)]
pub async fn shifts_list(
    State(state): State<AppState>,
    Id(id): Id<StaffId>,
    Query(q): Query<ShiftListQuery>,
) -> Result<axum::Json<Vec<Shift>>, ApiError> {
    let setup = &state.system.scheduling.setup;
    Ok(axum::Json(setup.shifts(id, q.from, q.to, q.include_cancelled.unwrap_or(false))?))
}

/// Add a shift (an end at or before the start runs past midnight; one person's shifts
/// never overlap).
#[utoipa::path(
    post, path = "/api/staff/{id}/shifts", tag = "staff",
    params(("id" = StaffId, Path)),
    request_body = CreateShift,
    responses(
        (status = 201, body = Shift),
        (status = 404, description = "`staff_not_found`", body = ErrorResponse),
        (status = 409, description = "`shift_overlap`, naming the other shift in `details`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn shifts_create(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<StaffId>,
    Json(body): Json<CreateShift>,
) -> Result<Response, ApiError> {
    let s = state.system.scheduling.setup.create_shift(id, &body, &staff.caller).await?;
    let at = format!("/api/staff/{id}/shifts/{}", s.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, at)], axum::Json(s)).into_response())
}

/// Change a shift; `cancelled: true` cancels it.
#[utoipa::path(
    patch, path = "/api/staff/{id}/shifts/{shift_id}", tag = "staff",
    params(("id" = StaffId, Path), ("shift_id" = ShiftId, Path)),
    request_body = UpdateShift,
    responses(
        (status = 200, body = Shift),
        (status = 404, description = "`staff_not_found` or `shift_not_found`", body = ErrorResponse),
        (status = 409, description = "`shift_overlap`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn shifts_update(
    State(state): State<AppState>,
    staff: Staff,
    ParentId(s): ParentId<StaffId>,
    Id(x): Id<ShiftId>,
    Json(patch): Json<UpdateShift>,
) -> Result<axum::Json<Shift>, ApiError> {
    Ok(axum::Json(state.system.scheduling.setup.update_shift(s, x, &patch, &staff.caller).await?))
}

/// Cancel a shift (kept, marked cancelled).
#[utoipa::path(
    delete, path = "/api/staff/{id}/shifts/{shift_id}", tag = "staff",
    params(("id" = StaffId, Path), ("shift_id" = ShiftId, Path)),
    responses(
        (status = 200, body = Shift),
        (status = 404, description = "`staff_not_found` or `shift_not_found`", body = ErrorResponse),
    )
)]
pub async fn shifts_cancel(
    State(state): State<AppState>,
    staff: Staff,
    ParentId(s): ParentId<StaffId>,
    Id(x): Id<ShiftId>,
) -> Result<axum::Json<Shift>, ApiError> {
    let patch = UpdateShift { cancelled: clowder_schemas::patch::Patch::Set(true), ..Default::default() };
    Ok(axum::Json(state.system.scheduling.setup.update_shift(s, x, &patch, &staff.caller).await?))
}

/// Filters of `GET /api/time-off`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TimeOffListQuery {
    pub staff_id: Option<String>,
    /// `requested`, `approved`, `denied` or `cancelled`.
    pub status: Option<String>,
    /// Requests touching this date or later.
    #[param(value_type = Option<String>)]
    pub from: Option<Date>,
    /// Requests touching this date or earlier.
    #[param(value_type = Option<String>)]
    pub to: Option<Date>,
}

/// Time-off requests, newest first. The reason and the decision note are shown only to the
/// person and to those with `scheduling:manage`.
#[utoipa::path(
    get, path = "/api/time-off", tag = "staff",
    params(TimeOffListQuery),
    responses((status = 200, body = Vec<TimeOff>), (status = 422, body = ErrorResponse))
)]
pub async fn time_off_list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<TimeOffListQuery>,
) -> Result<axum::Json<Vec<TimeOff>>, ApiError> {
    let who = parse_query_id::<StaffId>("staff_id", q.staff_id.as_deref())?;
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some("requested") => Some(TimeOffStatus::Requested),
        Some("approved") => Some(TimeOffStatus::Approved),
        Some("denied") => Some(TimeOffStatus::Denied),
        Some("cancelled") => Some(TimeOffStatus::Cancelled),
        Some(_) => {
            return Err(ValidationError::new("status", "must be requested, approved, denied or cancelled").into());
        }
    };
    let mut list = state.system.scheduling.setup.time_off_list(who, status, q.from, q.to)?;
    state.system.scheduling.setup.hide_reasons(&mut list, &staff.principal.permissions, staff.principal.user.id);
    Ok(axum::Json(list))
}

/// Ask for time off: for oneself, or for anyone with `scheduling:manage`.
#[utoipa::path(
    post, path = "/api/time-off", tag = "staff",
    request_body = RequestTimeOff,
    responses(
        (status = 201, body = TimeOff),
        (status = 403, description = "asking for someone else without `scheduling:manage`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn time_off_request(
    State(state): State<AppState>,
    staff: Staff,
    granted: Granted,
    Json(body): Json<RequestTimeOff>,
) -> Result<Response, ApiError> {
    let setup = &state.system.scheduling.setup;
    let mine = setup.staff_of_user(granted.user).is_some_and(|p| p.id == body.staff_id);
    if !mine && !granted.holds() {
        return Err(granted.refuse());
    }
    let t = setup.request_time_off(&body, &staff.caller).await?;
    let at = format!("/api/time-off/{}", t.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, at)], axum::Json(t)).into_response())
}

/// A body that may be left out (an empty body means "no note"); one that is sent is read like
/// every other JSON body (415, 400 `invalid_json`, 422 naming the field).
fn optional_body(headers: &HeaderMap, bytes: &[u8]) -> Result<Option<DecideTimeOff>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    crate::extract::require_json_content_type(headers)?;
    crate::extract::parse_json(bytes).map(Some)
}

async fn decide(
    state: &AppState,
    staff: &Staff,
    id: TimeOffId,
    to: TimeOffStatus,
    body: Option<DecideTimeOff>,
) -> Result<axum::Json<TimeOff>, ApiError> {
    let note = match body.and_then(|b| b.note) {
        Some(n) => clowder_schemas::values::optional_text("note", Some(&n), 500)?,
        None => None,
    };
    Ok(axum::Json(state.system.scheduling.setup.decide_time_off(id, to, note, &staff.caller).await?))
}

/// Approve a request: the person is no longer offered for booking on those days.
#[utoipa::path(
    post, path = "/api/time-off/{id}/approve", tag = "staff",
    params(("id" = TimeOffId, Path)),
    request_body(content = DecideTimeOff, description = "Optional note"),
    responses(
        (status = 200, body = TimeOff),
        (status = 404, description = "`time_off_not_found`", body = ErrorResponse),
        (status = 422, description = "already decided", body = ErrorResponse),
    )
)]
pub async fn time_off_approve(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<TimeOffId>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<axum::Json<TimeOff>, ApiError> {
    decide(&state, &staff, id, TimeOffStatus::Approved, optional_body(&headers, &body)?).await
}

/// Deny a request.
#[utoipa::path(
    post, path = "/api/time-off/{id}/deny", tag = "staff",
    params(("id" = TimeOffId, Path)),
    request_body(content = DecideTimeOff, description = "Optional note"),
    responses(
        (status = 200, body = TimeOff),
        (status = 404, description = "`time_off_not_found`", body = ErrorResponse),
        (status = 422, description = "already decided", body = ErrorResponse),
    )
)]
pub async fn time_off_deny(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<TimeOffId>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<axum::Json<TimeOff>, ApiError> {
    decide(&state, &staff, id, TimeOffStatus::Denied, optional_body(&headers, &body)?).await
}

/// Withdraw a request (one's own, or anyone's with `scheduling:manage`), approved or not.
#[utoipa::path(
    post, path = "/api/time-off/{id}/cancel", tag = "staff",
    params(("id" = TimeOffId, Path)),
    responses(
        (status = 200, body = TimeOff),
        (status = 403, body = ErrorResponse),
        (status = 404, description = "`time_off_not_found`", body = ErrorResponse),
        (status = 422, description = "already denied or cancelled", body = ErrorResponse),
    )
)]
pub async fn time_off_cancel(
    State(state): State<AppState>,
    staff: Staff,
    granted: Granted,
    Id(tid): Id<TimeOffId>,
) -> Result<axum::Json<TimeOff>, ApiError> {
    let setup = &state.system.scheduling.setup;
    let t = setup.time_off(tid)?;
    let mine = setup.staff_of_user(granted.user).is_some_and(|p| p.id == t.staff_id);
    if !mine && !granted.holds() {
        return Err(granted.refuse());
    }
    Ok(axum::Json(setup.decide_time_off(tid, TimeOffStatus::Cancelled, None, &staff.caller).await?))
}
