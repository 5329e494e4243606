//! Staff sign-in, sign-out and "who am I".

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use clowder_schemas::ErrorResponse;
use clowder_schemas::users::{ChangePassword, LoginRequest, LoginResponse, MeResponse, SessionView, UserView};
use clowder_schemas::{ErrorCode, SessionId};

use crate::error::ApiError;
use crate::extract::{Json, RawId, SESSION_COOKIE, Staff, Visitor, parse_id};
use crate::state::AppState;

fn session_cookie(state: &AppState, token: &str, max_age_secs: u64) -> HeaderValue {
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
    let (user, session, token) = state.system.accounts.login(&body.username, &body.password, &caller).await?;
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
    id: RawId,
) -> Result<StatusCode, ApiError> {
    let id: SessionId = parse_id(id, ErrorCode::SessionNotFound, "session")?;
    let owner = match staff.principal.permissions.scope("sessions:manage") {
        Some(_) => None,
        None => Some(staff.principal.user.id),
    };
    state.system.accounts.revoke(id, owner, &staff.caller).await?;
    Ok(StatusCode::NO_CONTENT)
}
