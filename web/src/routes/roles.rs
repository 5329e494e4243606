//! `/api/roles` and `/api/permissions`: the permission catalogue, built-in and custom roles.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use clowder_schemas::access::{CreateRole, Permission, PermissionInfo, Role, UpdateRole};
use clowder_schemas::{ErrorResponse, RoleId};

use crate::error::ApiError;
use crate::extract::{Id, Json, Staff};
use crate::reply::Created;
use crate::state::AppState;

/// Every permission Clowder knows.
#[utoipa::path(get, path = "/api/permissions", tag = "access", responses((status = 200, body = Vec<PermissionInfo>)))]
pub async fn permissions_list() -> axum::Json<Vec<PermissionInfo>> {
    axum::Json(
        Permission::ALL.iter().map(|p| PermissionInfo { permission: *p, description: p.description() }).collect(),
    )
}

/// Every role, built-in ones first.
#[utoipa::path(get, path = "/api/roles", tag = "access", responses((status = 200, body = Vec<Role>)))]
pub async fn roles_list(State(state): State<AppState>) -> axum::Json<Vec<Role>> {
    axum::Json(state.system.roles.list())
}

/// Create a custom role. You can only grant permissions you hold yourself.
#[utoipa::path(
    post, path = "/api/roles", tag = "access",
    request_body = CreateRole,
    responses(
        (status = 201, body = Role),
        (status = 403, description = "`forbidden`: a grant you do not hold", body = ErrorResponse),
        (status = 409, description = "`duplicate_value`: the name is taken", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: e.g. an unknown permission", body = ErrorResponse),
    )
)]
pub async fn roles_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<CreateRole>,
) -> Result<Response, ApiError> {
    let draft = body.validate()?;
    let role = state.system.roles.create(draft, &staff.principal.permissions, &staff.caller).await?;
    Ok(Created::at(format!("/api/roles/{}", role.id), role).into_response())
}

/// One role.
#[utoipa::path(
    get, path = "/api/roles/{id}", tag = "access",
    params(("id" = RoleId, Path)),
    responses((status = 200, body = Role), (status = 404, description = "`role_not_found`", body = ErrorResponse))
)]
pub async fn roles_get(State(state): State<AppState>, Id(id): Id<RoleId>) -> Result<axum::Json<Role>, ApiError> {
    Ok(axum::Json(state.system.roles.get(id)?))
}

/// Change a custom role (built-in roles cannot be changed).
#[utoipa::path(
    patch, path = "/api/roles/{id}", tag = "access",
    params(("id" = RoleId, Path)),
    request_body = UpdateRole,
    responses(
        (status = 200, body = Role),
        (status = 403, description = "`forbidden`: a grant you do not hold", body = ErrorResponse),
        (status = 404, description = "`role_not_found`", body = ErrorResponse),
        (status = 409, description = "`role_is_builtin`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn roles_update(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<RoleId>,
    Json(patch): Json<UpdateRole>,
) -> Result<axum::Json<Role>, ApiError> {
    Ok(axum::Json(state.system.roles.update(id, &patch, &staff.principal.permissions, &staff.caller).await?))
}
