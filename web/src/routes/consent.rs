//! A client's communication preferences and consent ledger: `GET`/`PUT
//! /api/clients/{id}/preferences`, `GET`/`POST /api/clients/{id}/consent` (read with
//! `clients:view`, written with `clients:edit`: the front desk records what a client tells
//! them). Reads are audited. See docs/communications.md ("Consent").

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use clowder_schemas::consent::{ConsentActor, ConsentEntry, Preferences, RecordConsent, UpdatePreferences};
use clowder_schemas::pagination::{Page, PageRequest};
use clowder_schemas::{ClientId, ErrorResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::access::Granted;
use crate::error::ApiError;
use crate::extract::{Id, Json, Query, Staff};
use crate::reply::Created;
use crate::state::AppState;

/// Refuses a client created by someone else to a caller whose permission is scope `own`.
fn check_own(state: &AppState, granted: &Granted, id: ClientId) -> Result<(), ApiError> {
    granted.check_lazily(|| state.system.consent.client_created_by(id))
}

/// The client's preferences and current consent (defaults if never changed).
#[utoipa::path(
    get, path = "/api/clients/{id}/preferences", tag = "clients",
    params(("id" = ClientId, Path)),
    responses((status = 200, body = Preferences), (status = 404, description = "`client_not_found`", body = ErrorResponse))
)]
pub async fn preferences_get(
    State(state): State<AppState>,
    staff: Staff,
    granted: Granted,
    Id(id): Id<ClientId>,
) -> Result<axum::Json<Preferences>, ApiError> {
    check_own(&state, &granted, id)?;
    Ok(axum::Json(state.system.consent.preferences(id, &staff.caller).await?))
}

/// Replace the client's channels, hours and marketing cap (consent itself changes through
/// `POST …/consent`).
#[utoipa::path(
    put, path = "/api/clients/{id}/preferences", tag = "clients",
    params(("id" = ClientId, Path)),
    request_body = UpdatePreferences,
    responses(
        (status = 200, body = Preferences),
        (status = 404, description = "`client_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: a time not HH:MM, an end before its start, a preferred time outside the quiet hours, a cap over 50", body = ErrorResponse),
    )
)]
pub async fn preferences_update(
    State(state): State<AppState>,
    staff: Staff,
    granted: Granted,
    Id(id): Id<ClientId>,
    Json(body): Json<UpdatePreferences>,
) -> Result<axum::Json<Preferences>, ApiError> {
    check_own(&state, &granted, id)?;
    Ok(axum::Json(state.system.consent.update_preferences(id, &body, &staff.caller).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LedgerQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The client's consent ledger, newest first.
#[utoipa::path(
    get, path = "/api/clients/{id}/consent", tag = "clients",
    params(("id" = ClientId, Path), LedgerQuery),
    responses((status = 200, body = Page<ConsentEntry>), (status = 404, description = "`client_not_found`", body = ErrorResponse))
)]
pub async fn consent_list(
    State(state): State<AppState>,
    staff: Staff,
    granted: Granted,
    Id(id): Id<ClientId>,
    Query(q): Query<LedgerQuery>,
) -> Result<axum::Json<Page<ConsentEntry>>, ApiError> {
    check_own(&state, &granted, id)?;
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let (items, next) = state.system.consent.ledger(id, page.limit, page.after, &staff.caller).await?;
    Ok(axum::Json(Page::new(items, next)))
}

/// Record a consent the client gave or withdrew (a new ledger line, always written: the
/// record of what the client said is evidence even when nothing changes).
#[utoipa::path(
    post, path = "/api/clients/{id}/consent", tag = "clients",
    params(("id" = ClientId, Path)),
    request_body = RecordConsent,
    responses(
        (status = 201, body = ConsentEntry),
        (status = 404, description = "`client_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: an unknown channel, purpose or source, a note over 500 characters", body = ErrorResponse),
    )
)]
pub async fn consent_create(
    State(state): State<AppState>,
    staff: Staff,
    granted: Granted,
    Id(id): Id<ClientId>,
    Json(body): Json<RecordConsent>,
) -> Result<Response, ApiError> {
    check_own(&state, &granted, id)?;
    let change = body.validate()?;
    let who = match staff.caller.user_id() {
        Some(u) => ConsentActor::User(u),
        None => ConsentActor::Client,
    };
    let entry = state.system.consent.record(id, change, who, true, &staff.caller).await?.ok_or_else(|| {
        ApiError::new(clowder_schemas::ErrorCode::InternalError, "the consent was not recorded; it has been logged")
    })?;
    Ok(Created::at(format!("/api/clients/{id}/consent"), entry).into_response())
}
