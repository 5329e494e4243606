//! iCalendar downloads: one appointment (`/api/appointments/{id}/ics`, for staff) and the
//! personal subscription feed of a staff member (`/ical/{token}.ics`, no sign-in, no medical
//! details), with the routes that issue and revoke its token.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use clowder_actors::scheduling::feeds::FeedItem;
use clowder_schemas::appointments::{Appointment, Status};
use clowder_schemas::patients::Patient;
use clowder_schemas::{ErrorCode, ErrorResponse, FeedId, StaffId};
use jiff::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

use crate::access::Granted;
use crate::error::ApiError;
use crate::extract::{Id, RawId, Staff};
use crate::ics::{IcsEvent, IcsStatus, render};
use crate::state::AppState;
use clowder_schemas::AppointmentId;

const CALENDAR: &str = "text/calendar; charset=utf-8";

fn status(a: &Appointment) -> IcsStatus {
    match a.status {
        Status::Cancelled => IcsStatus::Cancelled,
        Status::Scheduled => IcsStatus::Tentative,
        _ => IcsStatus::Confirmed,
    }
}

fn event(a: &Appointment, summary: String, description: Option<String>, location: Option<String>) -> IcsEvent {
    IcsEvent {
        uid: format!("{}@clowder", a.id),
        sequence: a.sequence,
        start: a.start,
        end: a.end,
        summary,
        description,
        location,
        status: status(a),
        created: a.created_at,
        last_modified: a.updated_at,
    }
}

fn calendar_response(body: String, filename: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, CALENDAR.to_owned()),
            (header::CONTENT_DISPOSITION, format!("inline; filename=\"{filename}\"")),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

/// One appointment as an iCalendar file (stable UID, SEQUENCE incremented on every
/// reschedule, `STATUS:CANCELLED` once cancelled, times in the location's zone).
#[utoipa::path(
    get, path = "/api/appointments/{id}/ics", tag = "appointments",
    params(("id" = clowder_schemas::AppointmentId, Path)),
    responses(
        (status = 200, content_type = "text/calendar", body = String),
        (status = 404, description = "`appointment_not_found`", body = ErrorResponse),
    )
)]
pub async fn appointments_ics(State(state): State<AppState>, Id(id): Id<AppointmentId>) -> Result<Response, ApiError> {
    let sched = &state.system.scheduling;
    let a = sched.calendar.get(id)?;
    let location = sched.setup.location(a.location_id)?;
    let tz = clowder_actors::scheduling::zones::time_zone("time_zone", &location.time_zone)?;
    let t = sched.appointment_types.get(a.type_id)?;
    let patient = state.system.patients.peek(a.patient_id).map(|p: Patient| p.name).unwrap_or_default();
    let vet = a.vet_id.and_then(|v| sched.setup.staff(v).ok()).map(|s| s.display_name());
    let summary = match &vet {
        Some(v) => format!("{}: {patient} with {v}", t.name),
        None => format!("{}: {patient}", t.name),
    };
    let place = match &location.address {
        Some(addr) => format!("{}, {addr}", location.name),
        None => location.name.clone(),
    };
    let e = event(&a, summary, a.reason.clone(), Some(place));
    let body = render(&location.name, &location.time_zone, &tz, &[e], state.system.ctx.clock.now());
    Ok(calendar_response(body, &format!("appointment-{}.ics", a.id)))
}

/// A newly issued feed: the URL to subscribe to (shown once).
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedFeed {
    pub feed_id: FeedId,
    pub staff_id: StaffId,
    /// Subscribe a calendar app to this; it works without signing in until revoked.
    pub url: String,
    /// The same, relative to the server.
    pub path: String,
    pub created_at: Timestamp,
}

/// One's own feed, or anyone's with the route's permission.
fn may_manage_feed(state: &AppState, granted: &Granted, of: StaffId) -> Result<(), ApiError> {
    let mine = state.system.scheduling.setup.staff_of_user(granted.user).is_some_and(|p| p.id == of);
    if mine || granted.holds() { Ok(()) } else { Err(granted.refuse()) }
}

/// Issue a personal calendar feed URL for a staff member (one's own, or anyone's with
/// `scheduling:manage`); an earlier URL stops working.
#[utoipa::path(
    post, path = "/api/staff/{id}/feed", tag = "staff",
    params(("id" = StaffId, Path)),
    responses(
        (status = 201, body = IssuedFeed),
        (status = 403, body = ErrorResponse),
        (status = 404, description = "`staff_not_found`", body = ErrorResponse),
    )
)]
pub async fn staff_feed_issue(
    State(state): State<AppState>,
    staff: Staff,
    granted: Granted,
    Id(of): Id<StaffId>,
) -> Result<Response, ApiError> {
    state.system.scheduling.setup.staff(of)?;
    may_manage_feed(&state, &granted, of)?;
    let (feed, token) = state.system.scheduling.feeds.issue(of, &staff.caller).await?;
    let path = format!("/ical/{token}.ics");
    let origin = state.config.allowed_origins.first().cloned().unwrap_or_default();
    let body = IssuedFeed {
        feed_id: feed.id,
        staff_id: of,
        url: format!("{origin}{path}"),
        path,
        created_at: feed.created_at,
    };
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// Revoke a staff member's calendar feed URL.
#[utoipa::path(
    delete, path = "/api/staff/{id}/feed", tag = "staff",
    params(("id" = StaffId, Path)),
    responses(
        (status = 204, description = "Revoked (or there was none)"),
        (status = 403, body = ErrorResponse),
        (status = 404, description = "`staff_not_found`", body = ErrorResponse),
    )
)]
pub async fn staff_feed_revoke(
    State(state): State<AppState>,
    staff: Staff,
    granted: Granted,
    Id(of): Id<StaffId>,
) -> Result<StatusCode, ApiError> {
    state.system.scheduling.setup.staff(of)?;
    may_manage_feed(&state, &granted, of)?;
    state.system.scheduling.feeds.revoke(of, &staff.caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn feed_event(item: &FeedItem) -> IcsEvent {
    // No medical details: the URL works without signing in.
    let summary = format!("{}: {}", item.type_name, item.patient_name);
    let location = (!item.location_name.is_empty()).then(|| item.location_name.clone());
    event(&item.appointment, summary, None, location)
}

/// A staff member's appointments from 30 days ago to a year ahead, for a calendar app: the
/// cat's name and the appointment type only. An unknown or revoked token is 404.
#[utoipa::path(
    get, path = "/ical/{file}", tag = "staff",
    params(("file" = String, Path, description = "`<token>.ics`")),
    security(()),
    responses(
        (status = 200, content_type = "text/calendar", body = String),
        (status = 404, description = "`feed_not_found`", body = ErrorResponse),
    )
)]
pub async fn ical_feed(State(state): State<AppState>, file: RawId) -> Result<Response, ApiError> {
    let not_found = || ApiError::new(ErrorCode::FeedNotFound, "no calendar feed at this address (revoked or mistyped)");
    let axum::extract::Path(file) = file.map_err(|_| not_found())?;
    let token = file.strip_suffix(".ics").ok_or_else(not_found)?;
    let contents = state.system.scheduling.feeds.contents(token)?.ok_or_else(not_found)?;
    let events: Vec<IcsEvent> = contents.items.iter().map(feed_event).collect();
    let name = contents.staff.display_name();
    let body = render(&name, &contents.tz_name, &contents.tz, &events, state.system.ctx.clock.now());
    Ok(calendar_response(body, "clowder.ics"))
}
