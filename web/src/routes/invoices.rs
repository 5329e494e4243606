//! `/api/invoices` and a client's invoices and balance: drafts built and changed
//! (`invoices:create`, `invoices:edit`), issued (`invoices:edit`), credited after issue
//! (`invoices:edit`), voided (`invoices:delete`), read (`invoices:view`, audited). Every
//! amount is integer cents computed by the server.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use clowder_actors::billing::invoices::InvoiceFilter;
use clowder_schemas::invoices::{
    ClientBalance, CreateCreditNote, CreateInvoice, CreditLineKind, CreditNoteDraft, DraftChange, Invoice,
    InvoiceDraft, InvoiceListQuery, NewLine, UpdateInvoice, VoidInvoice, credit_reason,
};
use clowder_schemas::pagination::{Page, PageRequest};
use clowder_schemas::patch::Patch;
use clowder_schemas::payments::CreatePayment;
use clowder_schemas::{ClientId, ErrorResponse, ids::InvoiceId};

use crate::error::ApiError;
use crate::extract::{Id, Json, Query, Staff};
use crate::reply::Created;
use crate::state::AppState;

/// Start a draft invoice for a client (optionally a cat, a visit and the location whose tax
/// rate applies), with lines from the catalogue or free text.
#[utoipa::path(
    post, path = "/api/invoices", tag = "billing",
    request_body = CreateInvoice,
    responses(
        (status = 201, description = "A draft", body = Invoice, headers(("Location" = String, description = "URL of the invoice"))),
        (status = 404, description = "`client_not_found`, `patient_not_found`, `location_not_found`, `catalogue_item_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`, naming the field (`lines.2.unit_price`, `discount`, …)", body = ErrorResponse),
    )
)]
pub async fn invoices_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<CreateInvoice>,
) -> Result<Response, ApiError> {
    body.check()?;
    let invoices = &state.system.invoices;
    let draft = InvoiceDraft {
        client_id: body.client_id,
        patient_id: body.patient_id,
        visit_id: body.visit_id,
        location_id: body.location_id,
        lines: invoices.lines(&body.lines, "lines")?,
        discount: body.discount,
        memo: body.memo,
    };
    let inv = invoices.create(draft, &staff.caller).await?;
    Ok(Created::at(format!("/api/invoices/{}", inv.id), inv).into_response())
}

/// Invoices, newest first (`status`, `visit_id` filters).
#[utoipa::path(
    get, path = "/api/invoices", tag = "billing",
    params(InvoiceListQuery),
    responses((status = 200, body = Page<Invoice>), (status = 422, description = "`validation_failed`", body = ErrorResponse))
)]
pub async fn invoices_list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<InvoiceListQuery>,
) -> Result<axum::Json<Page<Invoice>>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let filter = InvoiceFilter { client_id: None, visit_id: q.visit_id, status: q.status };
    let (items, next) = state.system.invoices.list(&filter, page.after, page.limit, &staff.caller).await?;
    Ok(axum::Json(Page::new(items, next)))
}

/// One invoice with its lines, credit notes and amounts.
#[utoipa::path(
    get, path = "/api/invoices/{id}", tag = "billing",
    params(("id" = InvoiceId, Path)),
    responses((status = 200, body = Invoice), (status = 404, description = "`invoice_not_found`", body = ErrorResponse))
)]
pub async fn invoices_get(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<InvoiceId>,
) -> Result<axum::Json<Invoice>, ApiError> {
    Ok(axum::Json(state.system.invoices.get(id, &staff.caller).await?))
}

/// Change a draft: `lines` replaces every line; `discount`, `memo`, `location_id` are merge
/// patches. An issued invoice changes only through credit notes (409 `invalid_transition`).
#[utoipa::path(
    patch, path = "/api/invoices/{id}", tag = "billing",
    params(("id" = InvoiceId, Path)),
    request_body = UpdateInvoice,
    responses(
        (status = 200, body = Invoice),
        (status = 404, description = "`invoice_not_found`", body = ErrorResponse),
        (status = 409, description = "`invalid_transition`: not a draft", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn invoices_update(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<InvoiceId>,
    Json(body): Json<UpdateInvoice>,
) -> Result<axum::Json<Invoice>, ApiError> {
    let invoices = &state.system.invoices;
    if let Patch::Set(d) = body.discount {
        d.typed("discount")?;
    }
    let change = DraftChange {
        lines: body.lines.as_deref().map(|l| invoices.lines(l, "lines")).transpose()?,
        discount: body.discount,
        memo: body.memo,
        location_id: body.location_id,
    };
    Ok(axum::Json(invoices.change(id, change, &staff.caller).await?))
}

/// Add lines to a draft (the checkout's "add item").
#[utoipa::path(
    post, path = "/api/invoices/{id}/lines", tag = "billing",
    params(("id" = InvoiceId, Path)),
    request_body = Vec<NewLine>,
    responses(
        (status = 200, body = Invoice),
        (status = 404, description = "`invoice_not_found`, `catalogue_item_not_found`", body = ErrorResponse),
        (status = 409, description = "`invalid_transition`: not a draft", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn invoices_add_lines(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<InvoiceId>,
    Json(lines): Json<Vec<NewLine>>,
) -> Result<axum::Json<Invoice>, ApiError> {
    let invoices = &state.system.invoices;
    let lines = invoices.lines(&lines, "lines")?;
    Ok(axum::Json(invoices.add_lines(id, lines, &staff.caller).await?))
}

/// Issue a draft: it gets its `INV-YYYY-NNNNNN` number (gap-free per year), the location's
/// tax rate is fixed, and it is due after the clinic's terms (`CLOWDER_INVOICE_TERMS_DAYS`);
/// the day after, unpaid, it turns `overdue`. Issuing an issued invoice answers it unchanged.
#[utoipa::path(
    post, path = "/api/invoices/{id}/issue", tag = "billing",
    params(("id" = InvoiceId, Path)),
    responses(
        (status = 200, body = Invoice),
        (status = 404, description = "`invoice_not_found`", body = ErrorResponse),
        (status = 409, description = "`invalid_transition`: voided", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: no lines", body = ErrorResponse),
    )
)]
pub async fn invoices_issue(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<InvoiceId>,
) -> Result<axum::Json<Invoice>, ApiError> {
    Ok(axum::Json(state.system.invoices.issue(id, &staff.caller).await?))
}

/// Void a draft, or an issued invoice with no payments and no credit notes, with a reason.
/// Nothing is deleted; a second void is refused.
#[utoipa::path(
    post, path = "/api/invoices/{id}/void", tag = "billing",
    params(("id" = InvoiceId, Path)),
    request_body = VoidInvoice,
    responses(
        (status = 200, body = Invoice),
        (status = 404, description = "`invoice_not_found`", body = ErrorResponse),
        (status = 409, description = "`invalid_transition`: voided already, paid or credited", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: no reason", body = ErrorResponse),
    )
)]
pub async fn invoices_void(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<InvoiceId>,
    Json(body): Json<VoidInvoice>,
) -> Result<axum::Json<Invoice>, ApiError> {
    let reason = body.validate()?;
    Ok(axum::Json(state.system.invoices.void(id, reason, &staff.caller).await?))
}

/// Credit an issued invoice: a credit note (`CN-YYYY-NNNNNN`) whose lines, taxed at the
/// invoice's rate, reduce its balance; never more than the balance.
#[utoipa::path(
    post, path = "/api/invoices/{id}/credit-notes", tag = "billing",
    params(("id" = InvoiceId, Path)),
    request_body = CreateCreditNote,
    responses(
        (status = 200, description = "The invoice with its new credit note (last in `credit_notes`)", body = Invoice),
        (status = 404, description = "`invoice_not_found`", body = ErrorResponse),
        (status = 409, description = "`invalid_transition`: a draft, paid or void", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: no lines, or more than the balance", body = ErrorResponse),
    )
)]
pub async fn invoices_credit(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<InvoiceId>,
    Json(body): Json<CreateCreditNote>,
) -> Result<axum::Json<Invoice>, ApiError> {
    let invoices = &state.system.invoices;
    let draft = credit_note_draft(invoices, &body)?;
    Ok(axum::Json(invoices.credit(id, draft, &staff.caller).await?))
}

/// A client's invoices, newest first.
#[utoipa::path(
    get, path = "/api/clients/{id}/invoices", tag = "billing",
    params(("id" = ClientId, Path), InvoiceListQuery),
    responses(
        (status = 200, body = Page<Invoice>),
        (status = 404, description = "`client_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn clients_invoices(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<ClientId>,
    Query(q): Query<InvoiceListQuery>,
) -> Result<axum::Json<Page<Invoice>>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    state.system.clients.peek(id)?;
    let filter = InvoiceFilter { client_id: Some(id), visit_id: q.visit_id, status: q.status };
    let (items, next) = state.system.invoices.list(&filter, page.after, page.limit, &staff.caller).await?;
    Ok(axum::Json(Page::new(items, next)))
}

/// What a client owes: the sum of their issued invoices' balances (and of which overdue),
/// derived from the invoices at each request, never stored.
#[utoipa::path(
    get, path = "/api/clients/{id}/balance", tag = "billing",
    params(("id" = ClientId, Path)),
    responses((status = 200, body = ClientBalance), (status = 404, description = "`client_not_found`", body = ErrorResponse))
)]
pub async fn clients_balance(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<ClientId>,
) -> Result<axum::Json<ClientBalance>, ApiError> {
    Ok(axum::Json(state.system.invoices.balance(id, &staff.caller).await?))
}

/// Take a payment: more than 0 cents and at most the balance (the clinic takes no credit on
/// account yet). A processor's payment id is recorded once: the same `processor` and
/// `processor_payment_id` again is 409 `duplicate_value`.
#[utoipa::path(
    post, path = "/api/invoices/{id}/payments", tag = "billing",
    params(("id" = InvoiceId, Path)),
    request_body = CreatePayment,
    responses(
        (status = 200, description = "The invoice with the payment (last in `payments`)", body = Invoice),
        (status = 404, description = "`invoice_not_found`", body = ErrorResponse),
        (status = 409, description = "`invalid_transition`: a draft, paid or void; `duplicate_value` on `processor_payment_id`", body = ErrorResponse),
        (status = 422, description = "`validation_failed` on `amount` (not more than 0, or above the balance), `method`, …", body = ErrorResponse),
    )
)]
pub async fn invoices_pay(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<InvoiceId>,
    Json(body): Json<CreatePayment>,
) -> Result<axum::Json<Invoice>, ApiError> {
    let draft = body.validate()?;
    Ok(axum::Json(state.system.invoices.pay(id, draft, &staff.caller).await?))
}

/// A credit note's request split into free lines (checked against the catalogue) and credits
/// of invoice lines (computed from the line by the invoice's actor).
fn credit_note_draft(
    invoices: &clowder_actors::billing::invoices::Invoices,
    body: &CreateCreditNote,
) -> Result<CreditNoteDraft, ApiError> {
    clowder_schemas::invoices::check_line_count(body.lines.len(), "lines", true)?;
    let mut draft = CreditNoteDraft { reason: credit_reason(&body.reason)?, lines: Vec::new(), of_lines: Vec::new() };
    for (n, l) in body.lines.iter().enumerate() {
        let at = format!("lines.{n}");
        match l.kind(&at)? {
            CreditLineKind::OfLine(c) => draft.of_lines.push(c),
            CreditLineKind::Free(free) => {
                // Checked alone, so an error names its place in the request.
                let checked = invoices.lines(std::slice::from_ref(&free), "lines").map_err(|e| match e {
                    clowder_actors::Error::Validation(mut v) => {
                        v.field = v.field.replacen("lines.0", &at, 1);
                        clowder_actors::Error::Validation(v)
                    }
                    e => e,
                })?;
                draft.lines.extend(checked);
            }
        }
    }
    Ok(draft)
}
