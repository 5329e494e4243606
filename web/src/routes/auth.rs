//! Staff sign-in, sign-out and "who am I".

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use clowder_schemas::ErrorResponse;
use clowder_schemas::users::{LoginRequest, LoginResponse, MeResponse, SessionView, UserView};

use crate::error::ApiError;
use crate::extract::{Json, SESSION_COOKIE, Staff, Visitor};
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
    ),
    security(())
)]
pub async fn auth_login(
    State(state): State<AppState>,
    Visitor(caller): Visitor,
    Json(body): Json<LoginRequest>,
) -> Result<Response, ApiError> {
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
    })
}
