//! `/api/backups`: the backups' state and list, and taking one now (administrators:
//! `backups:manage`). The schedule runs on its own; this is for "back up before the upgrade"
//! and for the screen that shows whether the clinic's data is safe.

use axum::extract::State;
use clowder_ops::backup::manifest::{BackupKind, Manifest};
use clowder_ops::backup::{BackupStatus, Backups};
use clowder_schemas::audit::AuditDraft;
use clowder_schemas::pagination::{Cursor, PageRequest};
use clowder_schemas::{ErrorCode, ErrorResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;
use crate::extract::{Json, Query, Staff};
use crate::reply::Created;
use crate::state::AppState;

/// The backups' state and one page of the backups stored, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct BackupsAnswer {
    pub status: BackupStatus,
    pub items: Vec<Manifest>,
    pub next_cursor: Option<String>,
    /// Why the destination could not be listed (the state above is still current).
    pub list_error: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BackupsQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// `POST /api/backups`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunBackup {
    /// `full` forces a full backup; absent or `incremental`: the schedule's choice (an
    /// increment when the chain can go on).
    pub kind: Option<BackupKind>,
}

fn backups(state: &AppState) -> Result<&std::sync::Arc<Backups>, ApiError> {
    state.backups.as_ref().ok_or_else(|| {
        ApiError::new(
            ErrorCode::BackupsDisabled,
            "backups are not configured on this server: set CLOWDER_BACKUP_DIR or CLOWDER_BACKUP_S3_BUCKET and CLOWDER_BACKUP_RECIPIENT",
        )
    })
}

/// The backups' state (last success, last verification, failures) and the backups stored.
#[utoipa::path(
    get, path = "/api/backups", tag = "operations",
    params(BackupsQuery),
    responses(
        (status = 200, body = BackupsAnswer),
        (status = 409, description = "`backups_disabled`", body = ErrorResponse),
    )
)]
pub async fn backups_list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<BackupsQuery>,
) -> Result<axum::Json<BackupsAnswer>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let b = backups(&state)?;
    let status = b.status();
    let (mut all, list_error) = match b.list().await {
        Ok(all) => (all, None),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    // Newest first; the cursor is the creation time (ms) the next page goes on below.
    all.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    let below = page.after.map(|c| c as i128);
    let mut items: Vec<Manifest> = all
        .into_iter()
        .filter(|m| below.is_none_or(|c| (m.created_at.as_millisecond() as i128) < c))
        .take(page.limit + 1)
        .collect();
    let next_cursor = if items.len() > page.limit {
        items.truncate(page.limit);
        items.last().map(|m| Cursor(m.created_at.as_millisecond().max(0) as u128).encode())
    } else {
        None
    };
    state.system.audit.record(AuditDraft::new(&staff.caller, "backup.list")).await?;
    Ok(axum::Json(BackupsAnswer { status, items, next_cursor, list_error }))
}

/// One backup's manifest.
#[utoipa::path(
    get, path = "/api/backups/{id}", tag = "operations",
    params(("id" = String, Path, description = "The backup's id, e.g. `20261205T143000.123Z-full`")),
    responses(
        (status = 200, body = Manifest),
        (status = 404, description = "`not_found`", body = ErrorResponse),
        (status = 409, description = "`backups_disabled`", body = ErrorResponse),
    )
)]
pub async fn backups_get(
    State(state): State<AppState>,
    staff: Staff,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<axum::Json<Manifest>, ApiError> {
    let b = backups(&state)?;
    let all = b.list().await?;
    state.system.audit.record(AuditDraft::new(&staff.caller, "backup.read").record("backup", &id)).await?;
    all.into_iter()
        .find(|m| m.id == id)
        .map(axum::Json)
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("there is no backup {id}")).with_field("id"))
}

/// Takes a backup now, verifies and stores it, and answers its manifest. Answers 200 with
/// `null` when nothing changed since the last backup (it is current).
#[utoipa::path(
    post, path = "/api/backups", tag = "operations",
    request_body = RunBackup,
    responses(
        (status = 201, body = Manifest, headers(("location" = String, description = "/api/backups/{id}"))),
        (status = 200, description = "nothing changed since the last backup", body = Option<Manifest>),
        (status = 409, description = "`backups_disabled`, `backup_running`", body = ErrorResponse),
        (status = 503, description = "`backup_failed`: the destination or the verification failed", body = ErrorResponse),
    )
)]
pub async fn backups_run(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<RunBackup>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let want = body.kind;
    let b = backups(&state)?.clone();
    let made = match b.run(want).await {
        Ok(made) => made,
        Err(e) => {
            // The refusal is in the trail too (the failure itself is counted and raised by `run`).
            state.system.audit.record(AuditDraft::new(&staff.caller, "backup.run.failed")).await?;
            return Err(e.into());
        }
    };
    b.record_run(&staff.caller, made.as_ref()).await.map_err(clowder_actors::Error::from)?;
    match made {
        Some(m) => {
            let location = format!("/api/backups/{}", m.id);
            Ok(Created::at(location, m).into_response())
        }
        None => Ok(axum::Json(Option::<Manifest>::None).into_response()),
    }
}
