//! The accounting export's routes (`accounting:export`): the chart-of-accounts mapping, and
//! exports recorded with their file (CSV or QuickBooks IIF) for download again; and the batch
//! operations on selected invoices (`invoices:edit`, like the batch that issues them): a
//! discount on selected drafts, selected invoices to CSV. The rules are in
//! `clowder_actors::billing::{accounting, batch_ops}`; docs/accounting.md.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use clowder_schemas::accounting::{
    AccountMapping, AccountingExport, BatchDiscount, BatchExport, CreateExport, PutAccountMap, StoredFile,
};
use clowder_schemas::capture::InvoiceBatch;
use clowder_schemas::ids::AccountingExportId;
use clowder_schemas::pagination::{Page, PageQuery, PageRequest};
use clowder_schemas::{ErrorResponse, JobId};

use crate::error::ApiError;
use crate::extract::{Id, Json, Query, Staff};
use crate::reply::Created;
use crate::state::AppState;

/// The chart-of-accounts mapping in force (`version` 0: the defaults, never saved).
#[utoipa::path(
    get, path = "/api/accounting/mapping", tag = "billing",
    responses((status = 200, body = AccountMapping))
)]
pub async fn accounting_mapping_get(
    State(state): State<AppState>,
    _staff: Staff,
) -> Result<axum::Json<AccountMapping>, ApiError> {
    Ok(axum::Json(state.system.accounting.mapping()?))
}

/// Replace the mapping: account names (1–100 characters, no tab or line break) for revenue
/// categories, payment methods, tax, receivables, client credit, purchases and payables.
/// Fields left out keep their defaults. A change makes a new version (audited).
#[utoipa::path(
    put, path = "/api/accounting/mapping", tag = "billing",
    request_body = PutAccountMap,
    responses(
        (status = 200, body = AccountMapping),
        (status = 422, description = "`validation_failed` naming the account", body = ErrorResponse),
    )
)]
pub async fn accounting_mapping_put(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<PutAccountMap>,
) -> Result<axum::Json<AccountMapping>, ApiError> {
    let map = body.validate()?;
    Ok(axum::Json(state.system.accounting.put_mapping(map, &staff.caller).await?))
}

/// Export a date range (clinic days, inclusive, at most 1,827) of invoices (and credit
/// notes), payments (and refunds) and received purchase lines as CSV or IIF. The export is
/// recorded with its file. Days already exported are refused (409 `export_overlap` naming
/// the earlier export) unless `reexport` is true with a `reason`.
#[utoipa::path(
    post, path = "/api/accounting/exports", tag = "billing",
    request_body = CreateExport,
    responses(
        (status = 201, body = AccountingExport, headers(("Location" = String, description = "URL of the export"))),
        (status = 409, description = "`export_overlap`: `details.export_id`, `kind`, `date`", body = ErrorResponse),
        (status = 422, description = "`validation_failed` on `to`, `kinds`, `format`, `reason`", body = ErrorResponse),
    )
)]
pub async fn accounting_exports_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<CreateExport>,
) -> Result<Response, ApiError> {
    let request = body.validate()?;
    let export = state.system.accounting.export(request, &staff.caller).await?;
    Ok(Created::at(format!("/api/accounting/exports/{}", export.id), export).into_response())
}

/// The exports, oldest first.
#[utoipa::path(
    get, path = "/api/accounting/exports", tag = "billing",
    params(PageQuery),
    responses((status = 200, body = Page<AccountingExport>), (status = 422, description = "`validation_failed`", body = ErrorResponse))
)]
pub async fn accounting_exports_list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<PageQuery>,
) -> Result<axum::Json<Page<AccountingExport>>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let (items, next) = state.system.accounting.list(page.after, page.limit, &staff.caller).await?;
    Ok(axum::Json(Page::new(items, next)))
}

/// One export: its range, kinds, format, counts and totals, the file's hash, who and when.
#[utoipa::path(
    get, path = "/api/accounting/exports/{id}", tag = "billing",
    params(("id" = AccountingExportId, Path)),
    responses((status = 200, body = AccountingExport), (status = 404, description = "`accounting_export_not_found`", body = ErrorResponse))
)]
pub async fn accounting_exports_get(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<AccountingExportId>,
) -> Result<axum::Json<AccountingExport>, ApiError> {
    Ok(axum::Json(state.system.accounting.get(id, &staff.caller).await?))
}

fn download(file: StoredFile) -> Response {
    (
        [
            (header::CONTENT_TYPE, file.content_type),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}\"", file.filename)),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        file.content,
    )
        .into_response()
}

/// The export's file, byte for byte as first built (its SHA-256 is the export's `sha256`).
#[utoipa::path(
    get, path = "/api/accounting/exports/{id}/file", tag = "billing",
    params(("id" = AccountingExportId, Path)),
    responses(
        (status = 200, content_type = "text/csv", body = String),
        (status = 404, description = "`accounting_export_not_found`", body = ErrorResponse),
    )
)]
pub async fn accounting_exports_file(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<AccountingExportId>,
) -> Result<Response, ApiError> {
    Ok(download(state.system.accounting.file(id, &staff.caller).await?))
}

/// Apply an invoice-level discount to selected drafts (1 to 1,000 ids), with a reason. Runs
/// as a durable job; poll `GET /api/invoice-batches/{id}`: `changed` lists the drafts
/// discounted, `failed` each invoice not (unknown, issued, void, another location, refused).
#[utoipa::path(
    post, path = "/api/invoice-batches/discount", tag = "billing",
    request_body = BatchDiscount,
    responses(
        (status = 202, description = "The batch, running", body = InvoiceBatch,
         headers(("Location" = String, description = "URL of the batch"))),
        (status = 422, description = "`validation_failed` on `invoice_ids`, `discount`, `reason`", body = ErrorResponse),
    )
)]
pub async fn invoice_batches_discount(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<BatchDiscount>,
) -> Result<Response, ApiError> {
    let op = body.validate()?;
    started(state.system.invoice_batches.start_selection(op, &staff.caller).await?)
}

/// Export selected invoices (1 to 1,000 ids) to CSV, one row per line. Runs as a durable
/// job; once `done`, the batch's `file` is the CSV's URL and `failed` names what was left out.
#[utoipa::path(
    post, path = "/api/invoice-batches/export", tag = "billing",
    request_body = BatchExport,
    responses(
        (status = 202, description = "The batch, running", body = InvoiceBatch,
         headers(("Location" = String, description = "URL of the batch"))),
        (status = 422, description = "`validation_failed` on `invoice_ids`", body = ErrorResponse),
    )
)]
pub async fn invoice_batches_export(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<BatchExport>,
) -> Result<Response, ApiError> {
    let op = body.validate()?;
    started(state.system.invoice_batches.start_selection(op, &staff.caller).await?)
}

fn started(batch: InvoiceBatch) -> Result<Response, ApiError> {
    let location = format!("/api/invoice-batches/{}", batch.id);
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, location)], axum::Json(batch)).into_response())
}

/// The CSV of a finished export batch.
#[utoipa::path(
    get, path = "/api/invoice-batches/{id}/file", tag = "billing",
    params(("id" = JobId, Path)),
    responses(
        (status = 200, content_type = "text/csv", body = String),
        (status = 404, description = "`job_not_found`: no such batch, or not finished", body = ErrorResponse),
    )
)]
pub async fn invoice_batches_file(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<JobId>,
) -> Result<Response, ApiError> {
    Ok(download(state.system.invoice_batches.file(id, &staff.caller).await?))
}
