//! `/api/waitlist`: clients waiting for a slot, the entries that fit a freed slot, booking one
//! by hand, and the offers made automatically when an appointment is cancelled.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use clowder_actors::scheduling::waitlist::EntryFilter;
use clowder_schemas::appointments::Appointment;
use clowder_schemas::waitlist::{
    CreateWaitlistEntry, EntryStatus, FulfillRequest, OfferStatus, UpdateWaitlistEntry, WaitlistEntry, WaitlistMatch,
    WaitlistOffer,
};
use clowder_schemas::{ClientId, ErrorResponse, OfferId, PatientId, ValidationError, WaitlistId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::locations::parse_query_id;
use crate::error::ApiError;
use crate::extract::{Id, Json, Query, Staff};
use crate::reply::Created;
use crate::state::AppState;
use clowder_schemas::AppointmentId;

/// Filters of `GET /api/waitlist`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WaitlistQuery {
    /// `active`, `offered`, `fulfilled`, `expired` or `cancelled`.
    pub status: Option<String>,
    pub client_id: Option<String>,
    pub patient_id: Option<String>,
}

/// Waitlist entries in the order they joined (expiry applied).
#[utoipa::path(
    get, path = "/api/waitlist", tag = "waitlist",
    params(WaitlistQuery),
    responses((status = 200, body = Vec<WaitlistEntry>), (status = 422, body = ErrorResponse))
)]
pub async fn waitlist_list(
    State(state): State<AppState>,
    Query(q): Query<WaitlistQuery>,
) -> Result<axum::Json<Vec<WaitlistEntry>>, ApiError> {
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(s) => Some(EntryStatus::parse(s).ok_or_else(|| {
            ValidationError::new("status", "must be active, offered, fulfilled, expired or cancelled")
        })?),
    };
    let filter = EntryFilter {
        status,
        client: parse_query_id::<ClientId>("client_id", q.client_id.as_deref())?,
        patient: parse_query_id::<PatientId>("patient_id", q.patient_id.as_deref())?,
    };
    Ok(axum::Json(state.system.scheduling.waitlist.list(&filter)?))
}

/// Put a client's cat on the waitlist for a type of appointment between two dates.
#[utoipa::path(
    post, path = "/api/waitlist", tag = "waitlist",
    request_body = CreateWaitlistEntry,
    responses((status = 201, body = WaitlistEntry), (status = 422, description = "`validation_failed`", body = ErrorResponse))
)]
pub async fn waitlist_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<CreateWaitlistEntry>,
) -> Result<Response, ApiError> {
    let e = state.system.scheduling.waitlist.create(&body, &staff.caller).await?;
    Ok(Created::at(format!("/api/waitlist/{}", e.id), e).into_response())
}

/// One entry.
#[utoipa::path(
    get, path = "/api/waitlist/{id}", tag = "waitlist",
    params(("id" = WaitlistId, Path)),
    responses((status = 200, body = WaitlistEntry), (status = 404, description = "`waitlist_entry_not_found`", body = ErrorResponse))
)]
pub async fn waitlist_get(
    State(state): State<AppState>,
    Id(id): Id<WaitlistId>,
) -> Result<axum::Json<WaitlistEntry>, ApiError> {
    Ok(axum::Json(state.system.scheduling.waitlist.get(id)?))
}

/// Change an open entry (merge-patch).
#[utoipa::path(
    patch, path = "/api/waitlist/{id}", tag = "waitlist",
    params(("id" = WaitlistId, Path)),
    request_body = UpdateWaitlistEntry,
    responses(
        (status = 200, body = WaitlistEntry),
        (status = 404, description = "`waitlist_entry_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`, e.g. the entry is no longer open", body = ErrorResponse),
    )
)]
pub async fn waitlist_update(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<WaitlistId>,
    Json(patch): Json<UpdateWaitlistEntry>,
) -> Result<axum::Json<WaitlistEntry>, ApiError> {
    Ok(axum::Json(state.system.scheduling.waitlist.update(id, &patch, &staff.caller).await?))
}

/// Take an entry off the waitlist (kept, marked cancelled; its open offers close).
#[utoipa::path(
    delete, path = "/api/waitlist/{id}", tag = "waitlist",
    params(("id" = WaitlistId, Path)),
    responses(
        (status = 200, body = WaitlistEntry),
        (status = 404, description = "`waitlist_entry_not_found`", body = ErrorResponse),
        (status = 422, description = "already fulfilled or expired", body = ErrorResponse),
    )
)]
pub async fn waitlist_cancel(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<WaitlistId>,
) -> Result<axum::Json<WaitlistEntry>, ApiError> {
    Ok(axum::Json(state.system.scheduling.waitlist.cancel(id, &staff.caller).await?))
}

/// The open entries that fit the slot an appointment holds (or held, once cancelled), in
/// offer order: the same type first, then urgency, then the oldest entry.
#[utoipa::path(
    get, path = "/api/waitlist/matches/{appointment_id}", tag = "waitlist",
    params(("appointment_id" = clowder_schemas::AppointmentId, Path)),
    responses(
        (status = 200, body = Vec<WaitlistMatch>),
        (status = 404, description = "`appointment_not_found`", body = ErrorResponse),
    )
)]
pub async fn waitlist_matches(
    State(state): State<AppState>,
    Id(id): Id<AppointmentId>,
) -> Result<axum::Json<Vec<WaitlistMatch>>, ApiError> {
    let waitlist = &state.system.scheduling.waitlist;
    let slot = waitlist.slot_of(id)?;
    Ok(axum::Json(waitlist.matches(&slot, false)?))
}

/// Book a slot for an entry: the slot a cancelled appointment freed
/// (`from_appointment_id`), or one given by `start` (and `vet_id`, `room_id`,
/// `location_id`). The entry becomes `fulfilled`.
#[utoipa::path(
    post, path = "/api/waitlist/{id}/fulfill", tag = "waitlist",
    params(("id" = WaitlistId, Path)),
    request_body = FulfillRequest,
    responses(
        (status = 201, body = Appointment),
        (status = 404, description = "`waitlist_entry_not_found`", body = ErrorResponse),
        (status = 409, description = "`appointment_conflict`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn waitlist_fulfill(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<WaitlistId>,
    Json(body): Json<FulfillRequest>,
) -> Result<Response, ApiError> {
    let a = state.system.scheduling.waitlist.fulfill(id, &body, &staff.caller).await?;
    Ok(Created::at(format!("/api/appointments/{}", a.id), a).into_response())
}

/// Filters of `GET /api/waitlist/offers`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OfferQuery {
    /// `pending`, `accepted`, `declined`, `expired` or `superseded`.
    pub status: Option<String>,
    pub entry_id: Option<String>,
}

/// Offers made, newest first (expiry applied).
#[utoipa::path(
    get, path = "/api/waitlist/offers", tag = "waitlist",
    params(OfferQuery),
    responses((status = 200, body = Vec<WaitlistOffer>), (status = 422, body = ErrorResponse))
)]
pub async fn waitlist_offers(
    State(state): State<AppState>,
    Query(q): Query<OfferQuery>,
) -> Result<axum::Json<Vec<WaitlistOffer>>, ApiError> {
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some("pending") => Some(OfferStatus::Pending),
        Some("accepted") => Some(OfferStatus::Accepted),
        Some("declined") => Some(OfferStatus::Declined),
        Some("expired") => Some(OfferStatus::Expired),
        Some("superseded") => Some(OfferStatus::Superseded),
        Some(_) => {
            return Err(
                ValidationError::new("status", "must be pending, accepted, declined, expired or superseded").into()
            );
        }
    };
    let entry = parse_query_id::<WaitlistId>("entry_id", q.entry_id.as_deref())?;
    Ok(axum::Json(state.system.scheduling.waitlist.offers(status, entry)?))
}

/// An accepted offer and the appointment it booked.
#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptedOffer {
    pub offer: WaitlistOffer,
    pub appointment: Appointment,
}

/// Accept an offer for the client (e.g. they called back): the first to accept gets the slot.
#[utoipa::path(
    post, path = "/api/waitlist/offers/{id}/accept", tag = "waitlist",
    params(("id" = OfferId, Path)),
    responses(
        (status = 201, body = AcceptedOffer),
        (status = 404, description = "`offer_not_found`", body = ErrorResponse),
        (status = 409, description = "`offer_closed`: expired, declined, or the slot went to someone else", body = ErrorResponse),
    )
)]
pub async fn waitlist_offer_accept(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<OfferId>,
) -> Result<Response, ApiError> {
    let (offer, appointment) = state.system.scheduling.waitlist.accept(id, &staff.caller).await?;
    let at = format!("/api/appointments/{}", appointment.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, at)], axum::Json(AcceptedOffer { offer, appointment }))
        .into_response())
}

/// Decline an offer; the entry waits for the next slot.
#[utoipa::path(
    post, path = "/api/waitlist/offers/{id}/decline", tag = "waitlist",
    params(("id" = OfferId, Path)),
    responses(
        (status = 200, body = WaitlistOffer),
        (status = 404, description = "`offer_not_found`", body = ErrorResponse),
        (status = 409, description = "`offer_closed`", body = ErrorResponse),
    )
)]
pub async fn waitlist_offer_decline(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<OfferId>,
) -> Result<axum::Json<WaitlistOffer>, ApiError> {
    Ok(axum::Json(state.system.scheduling.waitlist.decline(id, &staff.caller).await?))
}
