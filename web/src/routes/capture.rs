//! Charge capture's routes: marking an uncharged entry of an invoice dealt with
//! (`invoices:edit`), and the batch that issues the invoices of a date range of completed
//! visits (`invoices:edit`: it issues them), with its progress and report polled by id.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use clowder_schemas::capture::{GenerateInvoices, InvoiceBatch, ResolveUncharged};
use clowder_schemas::ids::InvoiceId;
use clowder_schemas::invoices::Invoice;
use clowder_schemas::{ErrorResponse, JobId};

use crate::error::ApiError;
use crate::extract::{Id, Json, Staff};
use crate::state::AppState;

/// Mark an uncharged entry (something charge capture found no catalogue item for) dealt
/// with: charged by hand on the draft, or not charged on purpose. The entry stays listed,
/// with who resolved it and when.
#[utoipa::path(
    post, path = "/api/invoices/{id}/uncharged/resolve", tag = "billing",
    params(("id" = InvoiceId, Path)),
    request_body = ResolveUncharged,
    responses(
        (status = 200, body = Invoice),
        (status = 404, description = "`invoice_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed` on `source`: no such entry", body = ErrorResponse),
    )
)]
pub async fn invoices_resolve_uncharged(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<InvoiceId>,
    Json(body): Json<ResolveUncharged>,
) -> Result<axum::Json<Invoice>, ApiError> {
    let source = body.validate()?;
    Ok(axum::Json(state.system.invoices.resolve_uncharged(id, source, &staff.caller).await?))
}

/// Issue the invoices of the visits completed from `from` to `to` (clinic days): every such
/// visit's draft with lines and nothing left uncharged is issued; the others are named in the
/// report with why. Runs as a durable job; poll `GET /api/invoice-batches/{id}` for progress.
/// A second batch over the same range issues nothing twice.
#[utoipa::path(
    post, path = "/api/invoice-batches", tag = "billing",
    request_body = GenerateInvoices,
    responses(
        (status = 202, description = "The batch, running", body = InvoiceBatch,
         headers(("Location" = String, description = "URL of the batch"))),
        (status = 422, description = "`validation_failed` on `to`", body = ErrorResponse),
    )
)]
pub async fn invoice_batches_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<GenerateInvoices>,
) -> Result<Response, ApiError> {
    let (from, to) = body.validate()?;
    let batch = state.system.invoice_batches.start(from, to, &staff.caller).await?;
    let location = format!("/api/invoice-batches/{}", batch.id);
    Ok((StatusCode::ACCEPTED, [(axum::http::header::LOCATION, location)], axum::Json(batch)).into_response())
}

/// A batch's progress (`done` of `total` visits) and, once `done`, its report: the invoices
/// issued (or found issued already) and each visit that failed, with why.
#[utoipa::path(
    get, path = "/api/invoice-batches/{id}", tag = "billing",
    params(("id" = JobId, Path)),
    responses((status = 200, body = InvoiceBatch), (status = 404, description = "`job_not_found`", body = ErrorResponse))
)]
pub async fn invoice_batches_get(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<JobId>,
) -> Result<axum::Json<InvoiceBatch>, ApiError> {
    Ok(axum::Json(state.system.invoice_batches.get(id, &staff.caller).await?))
}
