//! The ward's shared tablet: `/wards/{id}/tablet`, the board with Done and Skip for whoever
//! stands at it, and `POST /api/admissions/{id}/slots/pin`, a slot marked under the nurse
//! whose username and PIN were typed for that tap, not the tablet's own session. The PIN is
//! the exam-room tablet's (`PUT /api/auth/pin`), checked only on a registered tablet
//! (`X-Clowder-Device`), with the same sign-in rate limit and PIN lock.

use axum::extract::State;
use axum::http::HeaderMap;
use clowder_schemas::access::Permission;
use clowder_schemas::audit::Caller;
use clowder_schemas::events::Author;
use clowder_schemas::ids::AdmissionId;
use clowder_schemas::wards::{Admission, PinMark};
use clowder_schemas::{ErrorCode, ErrorResponse, ValidationError};

use super::devices::DEVICE_HEADER;
use crate::error::ApiError;
use crate::extract::{Id, Json, Staff};
use crate::state::AppState;

/// Mark a due slot on the ward's shared tablet, as the nurse whose username and PIN are sent
/// with it (she needs `ward:treat`; the tablet's session only `ward:view`). The tablet sends
/// its credential in `X-Clowder-Device`. Attempts count against the sign-in rate limits and
/// wrong PINs towards the PIN lock, as on the exam-room tablet.
#[utoipa::path(
    post, path = "/api/admissions/{id}/slots/pin", tag = "ward",
    params(("id" = AdmissionId, Path)),
    request_body = PinMark,
    responses(
        (status = 200, description = "The sheet with the mark, made by the PIN's owner", body = Admission),
        (status = 403, description = "`forbidden`: not a registered tablet, or the PIN's owner may not mark treatments", body = ErrorResponse),
        (status = 404, description = "`admission_not_found`", body = ErrorResponse),
        (status = 409, description = "`slot_already_marked`, `admission_discharged`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: a wrong username or PIN (`pin`), not a due slot", body = ErrorResponse),
        (status = 423, description = "`pin_locked`: too many wrong PINs; sign in with the password", body = ErrorResponse),
        (status = 429, description = "`rate_limited`", body = ErrorResponse),
    )
)]
pub async fn admissions_mark_by_pin(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Id(id): Id<AdmissionId>,
    Json(body): Json<PinMark>,
) -> Result<axum::Json<Admission>, ApiError> {
    let credential = headers.get(DEVICE_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
    if state.system.devices.by_credential(credential)?.is_none() {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "marking by PIN needs a registered tablet (X-Clowder-Device); set this tablet up first",
        ));
    }
    let ip = staff.caller.ip.as_deref().and_then(|i| i.parse().ok());
    state.limits.sign_in(ip, &body.username)?;
    let nurse = match state.system.accounts.verify_witness(&body.username, &body.pin, &staff.caller).await {
        Ok(u) => u,
        // Not 401: the tablet's own session is fine; the person at it typed a wrong PIN.
        Err(clowder_actors::Error::InvalidCredentials) => {
            return Err(ValidationError::new("pin", "the username or PIN is not right").into());
        }
        Err(e) => return Err(e.into()),
    };
    if state.system.roles.effective(&nurse.roles).scope(Permission::WardTreat).is_none() {
        let message = format!("{} may not mark treatments (needs ward:treat)", nurse.display_name);
        return Err(ApiError::new(ErrorCode::Forbidden, message).with_field("username"));
    }
    // The mark, its audit entry and its event are the nurse's; the rest of the request (address,
    // request id, idempotency claim) stays the tablet's.
    let caller =
        Caller { actor: Some(Author::User(nurse.id)), username: Some(nurse.username.clone()), ..staff.caller.clone() };
    Ok(axum::Json(super::wards::mark_slot(&state, id, body.mark, &caller).await?))
}
