//! `/api/search`, `/api/search/history` and `/api/recent`: finding clients and patients as
//! staff type, their recent searches, and the records they opened last.
//!
//! The access table lets any signed-in staff member in; what they find is narrowed here to
//! the kinds whose view permission they hold (scope `own` to the records they created).

use axum::extract::State;
use axum::http::StatusCode;
use clowder_schemas::search::{RecentAnswer, SearchAnswer, SearchHistoryAnswer, SearchKind, SearchParams, Visibility};
use clowder_schemas::{ErrorCode, ErrorResponse};

use crate::error::ApiError;
use crate::extract::{Query, Staff};
use crate::state::AppState;

/// What the caller may find: each kind whose view permission they hold, and for a permission
/// held with scope `own`, the user whose records alone they see.
pub(crate) fn visibility(staff: &Staff) -> Visibility {
    Visibility::of(&staff.principal.permissions, staff.principal.user.id)
}

/// Find clients and patients as you type.
///
/// Typo-tolerant (none up to 3 characters, one edit up to 7, two from 8; a swap of two
/// letters is one edit), the last word matches as a prefix while it is typed, names match by
/// sound ("Jon Smyth" finds "John Smith"), accents are folded ("Zoe" finds "Zoë"). A phone
/// number (whole, national or its last four digits), a microchip or an email matches exactly
/// and ranks first. Every word must match. Only kinds the caller may view are searched;
/// active records unless `status` asks for others.
#[utoipa::path(
    get, path = "/api/search", tag = "search",
    params(SearchParams),
    responses(
        (status = 200, body = SearchAnswer),
        (status = 403, description = "`forbidden`: the caller may view neither clients nor patients, or not the `kind` asked for", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: `q` over 256 characters, or a bad `kind`, `status` or `limit`", body = ErrorResponse),
    )
)]
pub async fn search_run(
    State(state): State<AppState>,
    staff: Staff,
    Query(params): Query<SearchParams>,
) -> Result<axum::Json<SearchAnswer>, ApiError> {
    let request = params.validate()?;
    let visibility = visibility(&staff);
    if visibility.kinds.is_empty() {
        let any: Vec<&str> = SearchKind::ALL.iter().map(|k| k.view_permission().as_str()).collect();
        let message = format!("you need one of the permissions {} for this", any.join(", "));
        return Err(ApiError::new(ErrorCode::Forbidden, message));
    }
    if let Some(kind) = request.kinds.iter().find(|k| !visibility.kinds.iter().any(|(v, _)| v == *k)) {
        return Err(ApiError::forbidden(kind.view_permission()));
    }
    let hits = state.system.search.search(&request, &visibility, &staff.caller).await?;
    Ok(axum::Json(SearchAnswer { query: request.q, hits }))
}

/// The caller's last 20 searches, newest first.
#[utoipa::path(
    get, path = "/api/search/history", tag = "search",
    responses((status = 200, body = SearchHistoryAnswer))
)]
pub async fn search_history(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<axum::Json<SearchHistoryAnswer>, ApiError> {
    let items = state.system.search.history(staff.principal.user.id).await?;
    Ok(axum::Json(SearchHistoryAnswer { items }))
}

/// Forget the caller's recent searches.
#[utoipa::path(
    delete, path = "/api/search/history", tag = "search",
    responses((status = 204, description = "Forgotten"))
)]
pub async fn search_history_clear(State(state): State<AppState>, staff: Staff) -> Result<StatusCode, ApiError> {
    state.system.search.clear_history(&staff.caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The last 10 clients and patients the caller opened, newest first, as they are now.
#[utoipa::path(
    get, path = "/api/recent", tag = "search",
    responses((status = 200, body = RecentAnswer))
)]
pub async fn recent_list(State(state): State<AppState>, staff: Staff) -> Result<axum::Json<RecentAnswer>, ApiError> {
    let items = state.system.search.recent(&visibility(&staff), &staff.caller).await?;
    Ok(axum::Json(RecentAnswer { items }))
}
