//! `/api/appointments` (book, list, read, reschedule, move along the workflow) and
//! `/api/calendar` (one location's day in columns per vet and per room).
//!
//! Handlers only parse the query into typed values; the calendar service decides what they
//! mean (a local date in the location's zone, the only location when none is named, today and
//! default windows) and who may overbook or cancel.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use clowder_actors::scheduling::{AppointmentFilter, AvailabilityRequest, DayRequest, WindowBound};
use clowder_schemas::appointments::{
    Appointment, Availability, CreateAppointment, DayView, Status, TransitionRequest, UpdateAppointment,
};
use clowder_schemas::pagination::{Cursor, Page, PageRequest};
use clowder_schemas::{
    AppointmentId, AppointmentTypeId, ClientId, ErrorResponse, LocationId, PatientId, RoomId, StaffId, ValidationError,
};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Deserialize;
use utoipa::IntoParams;

use super::locations::parse_query_id;
use crate::error::ApiError;
use crate::extract::{Id, Json, Query, Staff};
use crate::reply::Created;
use crate::state::AppState;

/// Book an appointment. `end` defaults to start + the type's duration. A vet, room or
/// patient already held then is a 409 `appointment_conflict` naming the other appointment,
/// unless `"overbook": true` is sent by someone holding `appointments:overbook`.
#[utoipa::path(
    post, path = "/api/appointments", tag = "appointments",
    request_body = CreateAppointment,
    responses(
        (status = 201, body = Appointment),
        (status = 403, description = "`overbook` without `appointments:overbook`", body = ErrorResponse),
        (status = 409, description = "`appointment_conflict`; `field` names the vet, room or patient and `details.appointment_id` the other appointment", body = ErrorResponse),
        (status = 422, description = "`validation_failed`, e.g. the patient is not this client's", body = ErrorResponse),
    )
)]
pub async fn appointments_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<CreateAppointment>,
) -> Result<Response, ApiError> {
    let a = state.system.scheduling.calendar.book(&body, &staff.principal.permissions, &staff.caller).await?;
    Ok(Created::at(format!("/api/appointments/{}", a.id), a).into_response())
}

/// Filters of `GET /api/appointments`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AppointmentListQuery {
    /// A local date (in the location's time zone when `location_id` is given, else the
    /// clinic's): appointments starting that day.
    #[param(value_type = Option<String>)]
    pub date: Option<Date>,
    /// Starting at or after this instant (ISO 8601 with offset).
    #[param(value_type = Option<String>)]
    pub from: Option<Timestamp>,
    /// Starting before this instant.
    #[param(value_type = Option<String>)]
    pub to: Option<Timestamp>,
    pub location_id: Option<String>,
    pub vet_id: Option<String>,
    pub room_id: Option<String>,
    pub client_id: Option<String>,
    pub patient_id: Option<String>,
    /// One status, e.g. `checked_in`.
    pub status: Option<String>,
    pub cursor: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<i64>,
}

/// Appointments by start time, a page at a time.
#[utoipa::path(
    get, path = "/api/appointments", tag = "appointments",
    params(AppointmentListQuery),
    responses((status = 200, body = Page<Appointment>), (status = 422, body = ErrorResponse))
)]
pub async fn appointments_list(
    State(state): State<AppState>,
    Query(q): Query<AppointmentListQuery>,
) -> Result<axum::Json<Page<Appointment>>, ApiError> {
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(s) => Some(Status::parse(s).ok_or_else(|| {
            ValidationError::new(
                "status",
                "must be one of scheduled, confirmed, checked_in, in_progress, completed, cancelled, no_show",
            )
        })?),
    };
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let filter = AppointmentFilter {
        date: q.date,
        from: q.from,
        to: q.to,
        location: parse_query_id::<LocationId>("location_id", q.location_id.as_deref())?,
        vet: parse_query_id::<StaffId>("vet_id", q.vet_id.as_deref())?,
        room: parse_query_id::<RoomId>("room_id", q.room_id.as_deref())?,
        client: parse_query_id::<ClientId>("client_id", q.client_id.as_deref())?,
        patient: parse_query_id::<PatientId>("patient_id", q.patient_id.as_deref())?,
        status,
        after: page.after.map(Cursor),
        limit: page.limit,
    };
    Ok(axum::Json(state.system.scheduling.calendar.list(&filter)?))
}

/// One appointment, with its status history.
#[utoipa::path(
    get, path = "/api/appointments/{id}", tag = "appointments",
    params(("id" = AppointmentId, Path)),
    responses((status = 200, body = Appointment), (status = 404, description = "`appointment_not_found`", body = ErrorResponse))
)]
pub async fn appointments_get(
    State(state): State<AppState>,
    Id(id): Id<AppointmentId>,
) -> Result<axum::Json<Appointment>, ApiError> {
    Ok(axum::Json(state.system.scheduling.calendar.get(id)?))
}

/// Change an appointment. Moving it (start, end, vet, room) is checked for conflicts like
/// a new booking and increments its iCalendar SEQUENCE; only possible until the patient is
/// in the room.
#[utoipa::path(
    patch, path = "/api/appointments/{id}", tag = "appointments",
    params(("id" = AppointmentId, Path)),
    request_body = UpdateAppointment,
    responses(
        (status = 200, body = Appointment),
        (status = 403, body = ErrorResponse),
        (status = 404, description = "`appointment_not_found`", body = ErrorResponse),
        (status = 409, description = "`appointment_conflict`, or `invalid_transition` when it can no longer move", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn appointments_update(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<AppointmentId>,
    Json(patch): Json<UpdateAppointment>,
) -> Result<axum::Json<Appointment>, ApiError> {
    let held = &staff.principal.permissions;
    Ok(axum::Json(state.system.scheduling.calendar.update(id, patch, held, &staff.caller).await?))
}

/// Move an appointment along its workflow: `scheduled → confirmed → checked_in →
/// in_progress → completed`; `cancelled` (with a reason, needs `appointments:delete`) before
/// `in_progress`; `no_show` from `scheduled`/`confirmed` once the start has passed. Any other
/// move is 409 `invalid_transition` with the allowed ones in `details.allowed`.
#[utoipa::path(
    post, path = "/api/appointments/{id}/transition", tag = "appointments",
    params(("id" = AppointmentId, Path)),
    request_body = TransitionRequest,
    responses(
        (status = 200, body = Appointment),
        (status = 403, description = "cancelling without `appointments:delete`", body = ErrorResponse),
        (status = 404, description = "`appointment_not_found`", body = ErrorResponse),
        (status = 409, description = "`invalid_transition`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: cancelling needs a reason", body = ErrorResponse),
    )
)]
pub async fn appointments_transition(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<AppointmentId>,
    Json(body): Json<TransitionRequest>,
) -> Result<axum::Json<Appointment>, ApiError> {
    let held = &staff.principal.permissions;
    let appointment = state.system.scheduling.calendar.transition(id, body, held, &staff.caller).await?;
    if matches!(appointment.status, Status::InProgress | Status::Completed) {
        // The visit follows at once for the screen that moved it; the job written with the
        // move does the same (idempotently) if this fails or the process stops now.
        if let Err(e) = state.system.visits.follow_appointment(appointment.id, &staff.caller).await {
            tracing::warn!(appointment = %appointment.id, error = %e, "the visit will follow through its job");
        }
    }
    Ok(axum::Json(appointment))
}

/// Parameters of `GET /api/calendar`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DayQuery {
    /// Local date (default: today in the location's time zone).
    #[param(value_type = Option<String>)]
    pub date: Option<Date>,
    /// Needed when the clinic has several locations.
    pub location: Option<String>,
}

/// One location's day: a column per vet (anyone on shift or booked) and per room.
#[utoipa::path(
    get, path = "/api/calendar", tag = "appointments",
    params(DayQuery),
    responses(
        (status = 200, body = DayView),
        (status = 404, description = "`location_not_found`", body = ErrorResponse),
        (status = 422, body = ErrorResponse),
    )
)]
pub async fn calendar_day(
    State(state): State<AppState>,
    Query(q): Query<DayQuery>,
) -> Result<axum::Json<DayView>, ApiError> {
    let day = DayRequest { location: parse_query_id::<LocationId>("location", q.location.as_deref())?, date: q.date };
    Ok(axum::Json(state.system.scheduling.calendar.day(day)?))
}

/// Parameters of `GET /api/availability`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityParams {
    pub type_id: String,
    /// An instant (ISO 8601 with offset) or a local date (`2026-12-01`, from its midnight);
    /// default now.
    pub from: Option<String>,
    /// An instant, or a local date (up to the end of that day); default 7 days after `from`;
    /// at most 62 days after it.
    pub to: Option<String>,
    pub vet_id: Option<String>,
    /// Needed when the clinic has several locations.
    pub location_id: Option<String>,
}

/// Free start times for an appointment type, in the location's time zone (ISO 8601 with
/// offset): opening hours, blackout dates, bookable shifts minus approved time off, existing
/// bookings and buffers, minimum notice and horizon; correct across DST changes (no slot at a
/// local time that does not exist, none lost or doubled in a repeated hour).
#[utoipa::path(
    get, path = "/api/availability", tag = "appointments",
    params(AvailabilityParams),
    responses((status = 200, body = Availability), (status = 422, body = ErrorResponse))
)]
pub async fn availability(
    State(state): State<AppState>,
    Query(q): Query<AvailabilityParams>,
) -> Result<axum::Json<Availability>, ApiError> {
    let type_id = parse_query_id::<AppointmentTypeId>("type_id", Some(&q.type_id))?
        .ok_or_else(|| ValidationError::new("type_id", "is required"))?;
    let request = AvailabilityRequest {
        type_id,
        location: parse_query_id::<LocationId>("location_id", q.location_id.as_deref())?,
        from: WindowBound::parse("from", q.from.as_deref())?,
        to: WindowBound::parse("to", q.to.as_deref())?,
        vet: parse_query_id::<StaffId>("vet_id", q.vet_id.as_deref())?,
    };
    Ok(axum::Json(state.system.scheduling.calendar.availability(&request)?))
}

/// Parameters of `GET /api/dashboard`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DashboardQuery {
    /// Needed when the clinic has several locations.
    pub location: Option<String>,
    /// Local date (default: today in the location's time zone).
    #[param(value_type = Option<String>)]
    pub date: Option<Date>,
}

/// A location's Today board: the day in columns per vet and room, the waiting queue
/// (longest waiting first), the rooms whiteboard and the counters. The same data is the
/// `snapshot` a `/ws` subscription to `dashboard:<location>` starts with.
#[utoipa::path(
    get, path = "/api/dashboard", tag = "appointments",
    params(DashboardQuery),
    responses(
        (status = 200, body = clowder_schemas::appointments::Dashboard),
        (status = 404, description = "`location_not_found`", body = ErrorResponse),
        (status = 422, body = ErrorResponse),
    )
)]
pub async fn dashboard(
    State(state): State<AppState>,
    Query(q): Query<DashboardQuery>,
) -> Result<axum::Json<clowder_schemas::appointments::Dashboard>, ApiError> {
    let day = DayRequest { location: parse_query_id::<LocationId>("location", q.location.as_deref())?, date: q.date };
    Ok(axum::Json(state.system.scheduling.calendar.dashboard(day)?))
}
