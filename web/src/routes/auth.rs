//! Staff sign-in, sign-out and "who am I".

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use clowder_schemas::ErrorResponse;
use clowder_schemas::SessionId;
use clowder_schemas::users::{
    ChangePassword, LoginRequest, LoginResponse, MeResponse, RecoveryCodes, SessionView, TotpCode, TotpEnroll,
    TotpEnrollment, UserView,
};

use crate::access::Granted;
use crate::error::ApiError;
use crate::extract::{Id, Json, SESSION_COOKIE, Staff, Visitor};
use crate::state::AppState;

pub(crate) fn session_cookie(state: &AppState, token: &str, max_age_secs: u64) -> HeaderValue {
    let secure = if state.config.secure_cookies { "; Secure" } else { "" };
    let v = format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}");
    // Tokens are URL-safe base64, so the header value is always valid.
    HeaderValue::from_str(&v).expect("cookie text is visible ASCII")
}

/// Sign in with a username and password.
#[utoipa::path(
    post, path = "/api/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in; also sets the `clowder_session` cookie", body = LoginResponse),
        (status = 401, description = "`invalid_credentials`: wrong username or password", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
        (status = 401, description = "`totp_required`: second-factor sign-in is on; send `totp_code` or `recovery_code`", body = ErrorResponse),
        (status = 423, description = "`account_locked`: too many wrong passwords", body = ErrorResponse),
        (status = 429, description = "`rate_limited`: too many attempts from this address or for this username", body = ErrorResponse),
    ),
    security(())
)]
pub async fn auth_login(
    State(state): State<AppState>,
    Visitor(caller): Visitor,
    Json(body): Json<LoginRequest>,
) -> Result<Response, ApiError> {
    let ip = caller.ip.as_deref().and_then(|i| i.parse().ok());
    state.limits.sign_in(ip, &body.username)?;
    let second =
        clowder_actors::staff::accounts::SecondFactor { totp_code: body.totp_code, recovery_code: body.recovery_code };
    let (user, session, token) = state.system.accounts.login(&body.username, &body.password, second, &caller).await?;
    let ttl = state.system.ctx.config.session_ttl.as_secs();
    let cookie = session_cookie(&state, &token, ttl);
    let body = LoginResponse { user: UserView::from(&user), token, session: SessionView::from(&session) };
    Ok(([(header::SET_COOKIE, cookie)], axum::Json(body)).into_response())
}

/// End the current session.
#[utoipa::path(
    post, path = "/api/auth/logout", tag = "auth",
    responses(
        (status = 204, description = "Signed out; the cookie is cleared"),
        (status = 401, description = "`unauthenticated`", body = ErrorResponse),
    )
)]
pub async fn auth_logout(State(state): State<AppState>, staff: Staff) -> Result<Response, ApiError> {
    state.system.accounts.logout(&staff.principal.session, &staff.caller).await?;
    let cookie = session_cookie(&state, "", 0);
    Ok((axum::http::StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

/// The signed-in user and session.
#[utoipa::path(
    get, path = "/api/auth/me", tag = "auth",
    responses(
        (status = 200, body = MeResponse),
        (status = 401, description = "`unauthenticated`", body = ErrorResponse),
    )
)]
pub async fn auth_me(staff: Staff) -> axum::Json<MeResponse> {
    axum::Json(MeResponse {
        user: UserView::from(&staff.principal.user),
        session: SessionView::from(&staff.principal.session),
        permissions: staff.principal.permissions.as_grants(),
        totp_enrollment_required: staff.principal.totp_enrollment_required,
    })
}

/// Change your own password (needs the current one). Your other sessions end.
#[utoipa::path(
    post, path = "/api/auth/password", tag = "auth",
    request_body = ChangePassword,
    responses(
        (status = 204, description = "Changed"),
        (status = 422, description = "`validation_failed`: wrong current password or a weak new one", body = ErrorResponse),
        (status = 423, description = "`account_locked`", body = ErrorResponse),
    )
)]
pub async fn auth_password(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<ChangePassword>,
) -> Result<StatusCode, ApiError> {
    state
        .system
        .accounts
        .change_password(&staff.principal, body.current_password, body.new_password, &staff.caller)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Your live sessions (device, IP, user agent, created, last seen).
#[utoipa::path(get, path = "/api/auth/sessions", tag = "auth", responses((status = 200, body = Vec<SessionView>)))]
pub async fn auth_sessions(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<axum::Json<Vec<SessionView>>, ApiError> {
    Ok(axum::Json(super::users::session_views(&state, staff.principal.user.id, &staff)?))
}

/// End one of your sessions (or anyone's, with `sessions:manage`).
#[utoipa::path(
    delete, path = "/api/auth/sessions/{id}", tag = "auth",
    params(("id" = SessionId, Path)),
    responses((status = 204), (status = 404, description = "`session_not_found`", body = ErrorResponse))
)]
pub async fn auth_sessions_revoke(
    State(state): State<AppState>,
    staff: Staff,
    granted: Granted,
    Id(id): Id<SessionId>,
) -> Result<StatusCode, ApiError> {
    // Without the route's permission, only one's own sessions.
    let owner = (!granted.holds()).then_some(granted.user);
    state.system.accounts.revoke(id, owner, &staff.caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Start second-factor (TOTP) enrolment: scan `otpauth_uri` (or type `secret`) into an
/// authenticator app, then confirm with its first code.
#[utoipa::path(
    post, path = "/api/auth/totp/enroll", tag = "auth",
    request_body = TotpEnroll,
    responses((status = 200, body = TotpEnrollment), (status = 422, body = ErrorResponse))
)]
pub async fn auth_totp_enroll(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<TotpEnroll>,
) -> Result<axum::Json<TotpEnrollment>, ApiError> {
    let (secret, otpauth_uri) =
        state.system.accounts.totp_enroll(&staff.principal, body.password, &staff.caller).await?;
    Ok(axum::Json(TotpEnrollment { secret, otpauth_uri }))
}

/// Confirm enrolment with the app's current code; answers ten one-time recovery codes.
#[utoipa::path(
    post, path = "/api/auth/totp/confirm", tag = "auth",
    request_body = TotpCode,
    responses((status = 200, body = RecoveryCodes), (status = 422, body = ErrorResponse))
)]
pub async fn auth_totp_confirm(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<TotpCode>,
) -> Result<axum::Json<RecoveryCodes>, ApiError> {
    let recovery_codes = state.system.accounts.totp_confirm(&staff.principal, body.code, &staff.caller).await?;
    Ok(axum::Json(RecoveryCodes { recovery_codes }))
}

/// Turn second-factor sign-in off (needs `password` and a current `code` or recovery code).
#[utoipa::path(
    delete, path = "/api/auth/totp", tag = "auth",
    request_body = TotpCode,
    responses((status = 204), (status = 422, body = ErrorResponse))
)]
pub async fn auth_totp_disable(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<TotpCode>,
) -> Result<StatusCode, ApiError> {
    let password = body
        .password
        .ok_or_else(|| ApiError::from(clowder_schemas::ValidationError::new("password", "is required")))?;
    state.system.accounts.totp_disable(&staff.principal, password, body.code, &staff.caller).await?;
    Ok(StatusCode::NO_CONTENT)
}
