//! `/api/users`: staff accounts (create, list, read, change, deactivate, password reset) and
//! their sessions.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use clowder_actors::staff::accounts::NewUser;
use clowder_schemas::pagination::{Page, PageRequest};
use clowder_schemas::users::{CreateUser, ResetPassword, SessionView, UpdateUser, UserListQuery, UserView};
use clowder_schemas::values::Email;
use clowder_schemas::{ErrorResponse, UserId, ValidationError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::extract::{Id, Json, Query, Staff};
use crate::reply::Created;
use crate::state::AppState;

/// Create a staff account. The first password is temporary: the user must change it at
/// first sign-in. You can only hand out roles whose permissions you hold.
#[utoipa::path(
    post, path = "/api/users", tag = "users",
    request_body = CreateUser,
    responses(
        (status = 201, body = UserView, headers(("Location" = String, description = "URL of the new user"))),
        (status = 403, description = "`forbidden`", body = ErrorResponse),
        (status = 409, description = "`duplicate_value`: the username is taken", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: e.g. a weak password or an unknown role", body = ErrorResponse),
    )
)]
pub async fn users_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<CreateUser>,
) -> Result<Response, ApiError> {
    let email = match body.email.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(e) => Some(Email::parse("email", e)?),
    };
    let new = NewUser {
        username: body.username,
        display_name: body.display_name,
        email,
        password: body.password,
        roles: body.roles,
        must_change_password: true,
    };
    let user = state.system.accounts.create_user_as(new, &staff.principal.permissions, &staff.caller).await?;
    Ok(Created::at(format!("/api/users/{}", user.id), UserView::from(&user)).into_response())
}

/// Staff accounts in creation order.
#[utoipa::path(
    get, path = "/api/users", tag = "users",
    params(UserListQuery),
    responses((status = 200, body = Page<UserView>), (status = 422, body = ErrorResponse))
)]
pub async fn users_list(
    State(state): State<AppState>,
    Query(q): Query<UserListQuery>,
) -> Result<axum::Json<Page<UserView>>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let active = match q.status.as_deref() {
        None | Some("active") => Some(true),
        Some("inactive") => Some(false),
        Some("all") => None,
        Some(_) => return Err(ValidationError::new("status", "must be active, inactive or all").into()),
    };
    let (users, next) = state.system.accounts.list(active, page.after, page.limit)?;
    Ok(axum::Json(Page::new(users.iter().map(UserView::from).collect(), next)))
}

/// One staff account.
#[utoipa::path(
    get, path = "/api/users/{id}", tag = "users",
    params(("id" = UserId, Path)),
    responses((status = 200, body = UserView), (status = 404, description = "`user_not_found`", body = ErrorResponse))
)]
pub async fn users_get(State(state): State<AppState>, Id(id): Id<UserId>) -> Result<axum::Json<UserView>, ApiError> {
    let user = state.system.accounts.get(id).await?;
    Ok(axum::Json(UserView::from(&user)))
}

/// Change a staff account: name, email, roles, `active` (deactivate instead of delete), or
/// `locked: false` to lift a lockout. New roles or a deactivation end the user's sessions.
#[utoipa::path(
    patch, path = "/api/users/{id}", tag = "users",
    params(("id" = UserId, Path)),
    request_body = UpdateUser,
    responses(
        (status = 200, body = UserView),
        (status = 403, description = "`forbidden`: a role with permissions you do not hold", body = ErrorResponse),
        (status = 404, description = "`user_not_found`", body = ErrorResponse),
        (status = 409, description = "`last_administrator`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn users_update(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<UserId>,
    Json(patch): Json<UpdateUser>,
) -> Result<axum::Json<UserView>, ApiError> {
    let user = state.system.accounts.update(id, patch, &staff.principal.permissions, &staff.caller).await?;
    Ok(axum::Json(UserView::from(&user)))
}

/// Reset a user's password (they must change it at next sign-in; their sessions end).
#[utoipa::path(
    post, path = "/api/users/{id}/password", tag = "users",
    params(("id" = UserId, Path)),
    request_body = ResetPassword,
    responses(
        (status = 200, body = UserView),
        (status = 404, description = "`user_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: a weak password", body = ErrorResponse),
    )
)]
pub async fn users_reset_password(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<UserId>,
    Json(body): Json<ResetPassword>,
) -> Result<axum::Json<UserView>, ApiError> {
    let user =
        state.system.accounts.reset_password(id, body.password, &staff.principal.permissions, &staff.caller).await?;
    Ok(axum::Json(UserView::from(&user)))
}

/// A user's live sessions.
#[utoipa::path(
    get, path = "/api/users/{id}/sessions", tag = "users",
    params(("id" = UserId, Path)),
    responses((status = 200, body = Vec<SessionView>), (status = 404, body = ErrorResponse))
)]
pub async fn users_sessions(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<UserId>,
) -> Result<axum::Json<Vec<SessionView>>, ApiError> {
    state.system.accounts.get(id).await?;
    Ok(axum::Json(session_views(&state, id, &staff)?))
}

/// How many sessions were ended.
#[derive(Debug, Serialize, ToSchema)]
pub struct Revoked {
    pub revoked: usize,
}

/// End every session of a user.
#[utoipa::path(
    delete, path = "/api/users/{id}/sessions", tag = "users",
    params(("id" = UserId, Path)),
    responses((status = 200, body = Revoked), (status = 404, body = ErrorResponse))
)]
pub async fn users_sessions_revoke(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<UserId>,
) -> Result<axum::Json<Revoked>, ApiError> {
    state.system.accounts.get(id).await?;
    let keep = Some(staff.principal.session.id);
    let revoked = state.system.accounts.revoke_all(Some(id), keep, &staff.caller).await?;
    Ok(axum::Json(Revoked { revoked }))
}

/// Sign everyone out (every session but the caller's).
#[utoipa::path(delete, path = "/api/sessions", tag = "users", responses((status = 200, body = Revoked)))]
pub async fn sessions_revoke_all(State(state): State<AppState>, staff: Staff) -> Result<axum::Json<Revoked>, ApiError> {
    let revoked = state.system.accounts.revoke_all(None, Some(staff.principal.session.id), &staff.caller).await?;
    Ok(axum::Json(Revoked { revoked }))
}

pub(crate) fn session_views(state: &AppState, user: UserId, staff: &Staff) -> Result<Vec<SessionView>, ApiError> {
    Ok(state
        .system
        .accounts
        .sessions(user)?
        .iter()
        .map(|s| SessionView { current: s.id == staff.principal.session.id, ..SessionView::from(s) })
        .collect())
}
