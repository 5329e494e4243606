//! `/api/problems` and a cat's problem list: add and change (`visits:edit`), read
//! (`visits:view`, audited). A problem's history is the audit trail and the event log.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use clowder_schemas::ids::ProblemId;
use clowder_schemas::pagination::{Page, PageRequest};
use clowder_schemas::problems::{CreateProblem, Problem, ProblemListQuery, ProblemStatus, UpdateProblem};
use clowder_schemas::{ErrorResponse, PatientId, ValidationError};

use crate::error::ApiError;
use crate::extract::{Id, Json, Query, Staff};
use crate::reply::Created;
use crate::state::AppState;

/// The statuses a `status` filter names (`None`: all).
pub(crate) fn statuses(status: Option<&str>) -> Result<Option<Vec<ProblemStatus>>, ApiError> {
    use ProblemStatus::*;
    Ok(match status {
        None | Some("all") => None,
        Some("current") => Some(vec![Active, Chronic]),
        Some("active") => Some(vec![Active]),
        Some("resolved") => Some(vec![Resolved]),
        Some("chronic") => Some(vec![Chronic]),
        Some("ruled_out") => Some(vec![RuledOut]),
        Some(_) => {
            return Err(
                ValidationError::new("status", "must be current, active, resolved, chronic, ruled_out or all").into()
            );
        }
    })
}

/// Add a problem or diagnosis to a cat's problem list.
#[utoipa::path(
    post, path = "/api/problems", tag = "clinical",
    request_body = CreateProblem,
    responses(
        (status = 201, description = "Added", body = Problem, headers(("Location" = String, description = "URL of the problem"))),
        (status = 404, description = "`patient_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`, naming the field", body = ErrorResponse),
    )
)]
pub async fn problems_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<CreateProblem>,
) -> Result<Response, ApiError> {
    let draft = body.validate(state.system.ctx.today())?;
    let p = state.system.problems.create(draft, &staff.caller).await?;
    Ok(Created::at(format!("/api/problems/{}", p.id), p).into_response())
}

/// One problem.
#[utoipa::path(
    get, path = "/api/problems/{id}", tag = "clinical",
    params(("id" = ProblemId, Path)),
    responses((status = 200, body = Problem), (status = 404, description = "`problem_not_found`", body = ErrorResponse))
)]
pub async fn problems_get(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<ProblemId>,
) -> Result<axum::Json<Problem>, ApiError> {
    Ok(axum::Json(state.system.problems.get(id, &staff.caller).await?))
}

/// Change a problem (JSON merge patch: `null` clears). Resolving needs `resolved_on`, not
/// before the onset; moving out of `resolved` clears it.
#[utoipa::path(
    patch, path = "/api/problems/{id}", tag = "clinical",
    params(("id" = ProblemId, Path)),
    request_body = UpdateProblem,
    responses(
        (status = 200, body = Problem),
        (status = 404, description = "`problem_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn problems_update(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<ProblemId>,
    Json(patch): Json<UpdateProblem>,
) -> Result<axum::Json<Problem>, ApiError> {
    Ok(axum::Json(state.system.problems.update(id, patch, &staff.caller).await?))
}

/// A cat's problem list, newest first (`status=current` for the active problem list).
#[utoipa::path(
    get, path = "/api/patients/{id}/problems", tag = "clinical",
    params(("id" = PatientId, Path), ProblemListQuery),
    responses(
        (status = 200, body = Page<Problem>),
        (status = 404, description = "`patient_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn patients_problems(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<PatientId>,
    Query(q): Query<ProblemListQuery>,
) -> Result<axum::Json<Page<Problem>>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let statuses = statuses(q.status.as_deref())?;
    state.system.patients.peek(id)?;
    let (items, next) =
        state.system.problems.list_for_patient(id, statuses, page.after, page.limit, &staff.caller).await?;
    Ok(axum::Json(Page::new(items, next)))
}
