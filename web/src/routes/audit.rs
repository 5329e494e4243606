//! `GET /api/audit`: the audit trail, newest first, filtered.

use axum::extract::State;
use clowder_actors::audit::AuditFilter;
use clowder_schemas::audit::{AuditEntry, AuditQuery};
use clowder_schemas::pagination::{Page, PageRequest};
use clowder_schemas::{ErrorResponse, ValidationError};

use crate::error::ApiError;
use crate::extract::{Query, Staff};
use crate::state::AppState;

fn text(field: &str, v: &Option<String>) -> Result<Option<String>, ApiError> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) if t.chars().count() > 100 => Err(ValidationError::new(field, "must be at most 100 characters").into()),
        Some(t) => Ok(Some(t.to_owned())),
    }
}

/// The audit trail, newest first: who read or changed what, when, from where, and why.
#[utoipa::path(
    get, path = "/api/audit", tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, body = Page<AuditEntry>),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn audit_list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<AuditQuery>,
) -> Result<axum::Json<Page<AuditEntry>>, ApiError> {
    // Newest first: the cursor holds the sequence number the next page goes on below.
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let before = match page.after.map(u64::try_from) {
        None => None,
        Some(Ok(seq)) => Some(seq),
        Some(Err(_)) => return Err(ValidationError::new("cursor", "is not a cursor returned by this list").into()),
    };
    let limit = page.limit;
    if let (Some(f), Some(t)) = (q.from, q.to)
        && f >= t
    {
        return Err(ValidationError::new("to", "must be after from").into());
    }
    let filter = AuditFilter {
        user_id: text("user_id", &q.user_id)?,
        record_kind: text("record_kind", &q.record_kind)?,
        record_id: text("record_id", &q.record_id)?,
        action: text("action", &q.action)?,
        from: q.from,
        to: q.to,
    };
    let (items, next) = state.system.audit.page(&filter, before, limit, &staff.caller).await?;
    Ok(axum::Json(Page::new(items, next.map(u128::from))))
}
