//! Statements of account: a client's statement over a period as JSON and as PDF
//! (`payments:view`, audited as reads of the client's financial record), and the bulk
//! statement email runs (`payments:edit`). docs/statements.md.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use clowder_schemas::ErrorResponse;
use clowder_schemas::ids::ClientId;
use clowder_schemas::statements::{Statement, StatementQuery};

use crate::error::ApiError;
use crate::extract::{Id, Query, Staff};
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
