//! `/api/jobs`: the durable jobs (administrators: `jobs:manage`): list and filter them, read
//! one, retry a failed or dead one, cancel one that has not run. See docs/jobs.md.

use axum::extract::State;
use clowder_actors::jobs::JobFilter;
use clowder_schemas::jobs::{self as model, Job, JobState};
use clowder_schemas::pagination::{Page, PageRequest};
use clowder_schemas::{ErrorResponse, JobId, ValidationError};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::extract::{Id, Query, Staff};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobsQuery {
    /// `queued`, `running`, `succeeded`, `failed`, `dead` or `cancelled`.
    pub state: Option<String>,
    /// A handler kind, e.g. `daily_cleanup`.
    pub kind: Option<String>,
    /// The record that caused the jobs, `kind:<id>` (e.g. `appointment:01J...`).
    pub subject: Option<String>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn filter(q: &JobsQuery) -> Result<JobFilter, ValidationError> {
    let state = match q.state.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(JobState::parse(s).ok_or_else(|| {
            ValidationError::new("state", "must be queued, running, succeeded, failed, dead or cancelled")
        })?),
    };
    let kind = match q.kind.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(k) => {
            model::check_kind("kind", k)?;
            Some(k.to_owned())
        }
    };
    let subject = match q.subject.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => {
            model::subject_key(s)?;
            Some(s.to_owned())
        }
    };
    Ok(JobFilter { state, kind, subject })
}

/// Jobs, newest first, filtered by state, kind and subject.
#[utoipa::path(
    get, path = "/api/jobs", tag = "operations",
    params(JobsQuery),
    responses(
        (status = 200, body = Page<Job>),
        (status = 422, description = "`validation_failed`: an unknown state, a malformed kind, subject or cursor", body = ErrorResponse),
    )
)]
pub async fn jobs_list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<JobsQuery>,
) -> Result<axum::Json<Page<Job>>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let f = filter(&q)?;
    let (items, next) = state.system.jobs.list(&f, page.limit, page.after, &staff.caller).await?;
    Ok(axum::Json(Page::new(items, next)))
}

/// One job.
#[utoipa::path(
    get, path = "/api/jobs/{id}", tag = "operations",
    params(("id" = JobId, Path)),
    responses((status = 200, body = Job), (status = 404, description = "`job_not_found`", body = ErrorResponse))
)]
pub async fn jobs_get(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<JobId>,
) -> Result<axum::Json<Job>, ApiError> {
    Ok(axum::Json(state.system.jobs.get(id, &staff.caller).await?))
}

/// Send a failed or dead job back to the queue, due now, with a fresh allowance of attempts.
#[utoipa::path(
    post, path = "/api/jobs/{id}/retry", tag = "operations",
    params(("id" = JobId, Path)),
    responses(
        (status = 200, body = Job),
        (status = 404, description = "`job_not_found`", body = ErrorResponse),
        (status = 409, description = "`invalid_transition`: the job is not failed or dead; `record_changed`: it moved meanwhile", body = ErrorResponse),
    )
)]
pub async fn jobs_retry(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<JobId>,
) -> Result<axum::Json<Job>, ApiError> {
    Ok(axum::Json(state.system.jobs.retry(id, &staff.caller).await?))
}

/// Cancel a job that has not run (queued, or failed and waiting for its retry).
#[utoipa::path(
    post, path = "/api/jobs/{id}/cancel", tag = "operations",
    params(("id" = JobId, Path)),
    responses(
        (status = 200, body = Job),
        (status = 404, description = "`job_not_found`", body = ErrorResponse),
        (status = 409, description = "`invalid_transition`: the job is running or finished; `record_changed`: it moved meanwhile", body = ErrorResponse),
    )
)]
pub async fn jobs_cancel(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<JobId>,
) -> Result<axum::Json<Job>, ApiError> {
    Ok(axum::Json(state.system.jobs.cancel(id, &staff.caller).await?))
}
