//! Exam-room tablets: registration and retirement (`/api/devices`), staff PINs
//! (`PUT /api/auth/pin`) and PIN unlock on a registered tablet (`POST /api/auth/pin-unlock`).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use clowder_schemas::devices::{CreateDevice, DeviceRegistered, DeviceView, PinUnlock, SetPin, UpdateDevice};
use clowder_schemas::users::{LoginResponse, SessionView, UserView};
use clowder_schemas::{DeviceId, ErrorCode, ErrorResponse};

use crate::error::ApiError;
use crate::extract::{Id, Json, Staff, Visitor};
use crate::state::AppState;

/// The header a registered tablet sends its credential in.
pub const DEVICE_HEADER: &str = "x-clowder-device";

/// Register a tablet; its credential is shown once.
#[utoipa::path(
    post, path = "/api/devices", tag = "devices",
    request_body = CreateDevice,
    responses((status = 201, body = DeviceRegistered), (status = 422, body = ErrorResponse))
)]
pub async fn devices_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<CreateDevice>,
) -> Result<Response, ApiError> {
    let (name, location) = body.validate()?;
    let (device, credential) = state.system.devices.register(name, location, &staff.caller).await?;
    Ok((StatusCode::CREATED, axum::Json(DeviceRegistered { device: DeviceView::from(&device), credential }))
        .into_response())
}

/// Every registered tablet.
#[utoipa::path(get, path = "/api/devices", tag = "devices", responses((status = 200, body = Vec<DeviceView>)))]
pub async fn devices_list(State(state): State<AppState>) -> Result<axum::Json<Vec<DeviceView>>, ApiError> {
    Ok(axum::Json(state.system.devices.list()?.iter().map(DeviceView::from).collect()))
}

/// Retire (`active: false`) or re-enable a tablet; retiring ends its sessions.
#[utoipa::path(
    patch, path = "/api/devices/{id}", tag = "devices",
    params(("id" = DeviceId, Path)),
    request_body = UpdateDevice,
    responses((status = 200, body = DeviceView), (status = 404, description = "`device_not_found`", body = ErrorResponse))
)]
pub async fn devices_update(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<DeviceId>,
    Json(body): Json<UpdateDevice>,
) -> Result<axum::Json<DeviceView>, ApiError> {
    let device = state.system.devices.set_active(id, body.active, &staff.caller).await?;
    Ok(axum::Json(DeviceView::from(&device)))
}

/// Set or change your tablet-unlock PIN (4–6 digits; needs your password).
#[utoipa::path(
    put, path = "/api/auth/pin", tag = "auth",
    request_body = SetPin,
    responses((status = 204), (status = 422, description = "`validation_failed`", body = ErrorResponse))
)]
pub async fn auth_pin(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<SetPin>,
) -> Result<StatusCode, ApiError> {
    state.system.accounts.set_pin(&staff.principal, body.password, body.pin, &staff.caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Unlock a session on a registered tablet with your PIN. The tablet sends its credential in
/// `X-Clowder-Device`; the session it gets locks again after a few idle minutes.
#[utoipa::path(
    post, path = "/api/auth/pin-unlock", tag = "auth",
    request_body = PinUnlock,
    responses(
        (status = 200, body = LoginResponse),
        (status = 401, description = "`invalid_credentials` (wrong PIN or user) or `unauthenticated` (unknown device)", body = ErrorResponse),
        (status = 423, description = "`pin_locked`: too many wrong PINs; sign in with the password", body = ErrorResponse),
        (status = 429, description = "`rate_limited`", body = ErrorResponse),
    ),
    security(())
)]
pub async fn auth_pin_unlock(
    State(state): State<AppState>,
    Visitor(caller): Visitor,
    headers: HeaderMap,
    Json(body): Json<PinUnlock>,
) -> Result<Response, ApiError> {
    let credential = headers.get(DEVICE_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
    let device =
        state.system.devices.by_credential(credential)?.ok_or_else(|| {
            ApiError::new(ErrorCode::Unauthenticated, "this device is not registered (X-Clowder-Device)")
        })?;
    let ip = caller.ip.as_deref().and_then(|i| i.parse().ok());
    state.limits.sign_in(ip, &body.username)?;
    let (user, session, token) = state.system.accounts.pin_unlock(&body.username, &body.pin, device, &caller).await?;
    // The tablet page works on the cookie, like any page; apps may use the token instead.
    let cookie = super::auth::session_cookie(&state, &token, state.system.ctx.config.session_ttl.as_secs());
    let body = LoginResponse { user: UserView::from(&user), token, session: SessionView::from(&session) };
    Ok(([(axum::http::header::SET_COOKIE, cookie)], axum::Json(body)).into_response())
}
