//! `/api/automations`: the automation rules with their settings and last run (read with
//! `communications:view`), turning one on or off and setting its parameters, running the
//! daily sweep now (`communications:manage`), and the dry run. See docs/automations.md.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use clowder_schemas::ErrorResponse;
use clowder_schemas::automations::{AutomationView, Preview, UpdateAutomation};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::extract::{Json, Query, Staff};
use crate::state::AppState;

/// Every rule, with its settings (defaults and values) and its last run.
#[utoipa::path(get, path = "/api/automations", tag = "communications", responses((status = 200, body = Vec<AutomationView>)))]
pub async fn automations_list(
    State(state): State<AppState>,
    _staff: Staff,
) -> Result<axum::Json<Vec<AutomationView>>, ApiError> {
    Ok(axum::Json(state.system.automations.list()?))
}

/// Turn a rule on or off and set its parameters (`null`: the default). Turning a rule off
/// stops everything it has not sent yet.
#[utoipa::path(
    patch, path = "/api/automations/{kind}", tag = "communications",
    params(("kind" = String, Path)),
    request_body = UpdateAutomation,
    responses(
        (status = 200, body = AutomationView),
        (status = 404, description = "`automation_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed` naming `params.<name>`", body = ErrorResponse),
    )
)]
pub async fn automations_update(
    State(state): State<AppState>,
    staff: Staff,
    Path(kind): Path<String>,
    Json(body): Json<UpdateAutomation>,
) -> Result<axum::Json<AutomationView>, ApiError> {
    Ok(axum::Json(state.system.automations.update(&kind, body, &staff.caller).await?))
}

/// The preview's query.
#[derive(Debug, Deserialize, IntoParams)]
pub struct PreviewQuery {
    /// Days ahead, 1–31 (default 7).
    pub days: Option<u32>,
}

/// What a rule would send in the next `days` days: client, cats, channel, due time, subject
/// and first line. Nothing is queued.
#[utoipa::path(
    get, path = "/api/automations/{kind}/preview", tag = "communications",
    params(("kind" = String, Path), PreviewQuery),
    responses(
        (status = 200, body = Preview),
        (status = 404, description = "`automation_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed` on `days`", body = ErrorResponse),
    )
)]
pub async fn automations_preview(
    State(state): State<AppState>,
    _staff: Staff,
    Path(kind): Path<String>,
    Query(q): Query<PreviewQuery>,
) -> Result<axum::Json<Preview>, ApiError> {
    Ok(axum::Json(state.system.automations.preview(&kind, q.days.unwrap_or(7))?))
}

/// Runs the daily sweep (wellness, birthdays, anniversaries, welcome, re-engagement) now.
/// Messages are keyed by rule, client and occurrence, so a second run queues nothing twice.
#[utoipa::path(post, path = "/api/automations/sweep", tag = "communications", responses((status = 202, description = "`{\"job_id\"}`")))]
pub async fn automations_sweep(State(state): State<AppState>, staff: Staff) -> Result<Response, ApiError> {
    let job = state.system.automations.sweep_now(&staff.caller).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(serde_json::json!({ "job_id": job }))).into_response())
}
