//! Statements of account: a client's statement over a period as JSON and as PDF
//! (`payments:view`, audited as reads of the client's financial record), and the bulk
//! statement email runs (`payments:edit`). docs/statements.md.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use clowder_schemas::ErrorResponse;
use clowder_schemas::ids::{ClientId, JobId};
use clowder_schemas::statements::{EmailStatement, StartStatementRun, Statement, StatementQuery, StatementRun};

use crate::error::ApiError;
use crate::extract::{Id, Json, Query, Staff};
use crate::state::AppState;

/// A client's statement over `from..=to` (default: the three months to today, clinic's
/// zone): opening balance, every invoice, credit note, payment, credit application and refund
/// in date order with the running balance, closing balance, the amounts due by age as of `to`,
/// and the credit on account beside it. Integer cents.
#[utoipa::path(
    get, path = "/api/clients/{id}/statement", tag = "billing",
    params(("id" = ClientId, Path), StatementQuery),
    responses(
        (status = 200, body = Statement),
        (status = 404, description = "`client_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: a malformed date, `to` before `from`, a period too long", body = ErrorResponse),
    )
)]
pub async fn clients_statement(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<ClientId>,
    Query(q): Query<StatementQuery>,
) -> Result<axum::Json<Statement>, ApiError> {
    let (from, to) = q.period(state.system.ctx.today())?;
    Ok(axum::Json(state.system.statements.get(id, from, to, &staff.caller).await?))
}

/// The same statement as a PDF on the clinic's letterhead.
#[utoipa::path(
    get, path = "/api/clients/{id}/statement.pdf", tag = "billing",
    params(("id" = ClientId, Path), StatementQuery),
    responses(
        (status = 200, content_type = "application/pdf", body = Vec<u8>),
        (status = 404, description = "`client_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: a malformed date, `to` before `from`, a period too long", body = ErrorResponse),
    )
)]
pub async fn clients_statement_pdf(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<ClientId>,
    Query(q): Query<StatementQuery>,
) -> Result<Response, ApiError> {
    let (from, to) = q.period(state.system.ctx.today())?;
    let (filename, pdf) = state.system.statements.pdf(id, from, to, &staff.caller).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        pdf,
    )
        .into_response())
}

/// Email a client their statement over `from..=to` (defaults as for the statement) through
/// the comms outbox, its PDF attached (rendered when sent). The client needs an email (422
/// `email`); their consent is checked by the outbox when it sends. Each request sends one
/// email (a retry with the same `Idempotency-Key` sends none more).
#[utoipa::path(
    post, path = "/api/clients/{id}/statement/email", tag = "billing",
    params(("id" = ClientId, Path)),
    request_body = EmailStatement,
    responses(
        (status = 202, body = crate::routes::messages::Queued),
        (status = 404, description = "`client_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed` on `email` (none on file) or `to`", body = ErrorResponse),
    )
)]
pub async fn clients_statement_email(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<ClientId>,
    Json(body): Json<EmailStatement>,
) -> Result<Response, ApiError> {
    let (from, to) = StatementQuery { from: body.from, to: body.to }.period(state.system.ctx.today())?;
    let message_id = state.system.statements.email(id, from, to, &staff.caller).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(crate::routes::messages::Queued { message_id })).into_response())
}

/// Email every client who owes at least `min_balance` at `as_of` their statement over
/// `from..=as_of`, each through the outbox with its PDF attached. Runs as a durable job; poll
/// `GET /api/statements/runs/{id}` for progress (`done` of `total`) and the report (`sent`,
/// and `skipped` with why: no email, no consent, already sent by an earlier run of the same
/// period). A second run of the same period emails nobody twice.
#[utoipa::path(
    post, path = "/api/statements/runs", tag = "billing",
    request_body = StartStatementRun,
    responses(
        (status = 202, description = "The run, running", body = StatementRun,
         headers(("Location" = String, description = "URL of the run"))),
        (status = 422, description = "`validation_failed` on `to`, `min_balance`", body = ErrorResponse),
    )
)]
pub async fn statement_runs_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<StartStatementRun>,
) -> Result<Response, ApiError> {
    let (from, to, min) = body.check(state.system.ctx.today())?;
    let run = state.system.statements.start_run(from, to, min, &staff.caller).await?;
    let location = format!("/api/statements/runs/{}", run.id);
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, location)], axum::Json(run)).into_response())
}

/// A statement run's progress and, once `done`, its report.
#[utoipa::path(
    get, path = "/api/statements/runs/{id}", tag = "billing",
    params(("id" = JobId, Path)),
    responses((status = 200, body = StatementRun), (status = 404, description = "`job_not_found`", body = ErrorResponse))
)]
pub async fn statement_runs_get(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<JobId>,
) -> Result<axum::Json<StatementRun>, ApiError> {
    Ok(axum::Json(state.system.statements.get_run(id, &staff.caller).await?))
}
