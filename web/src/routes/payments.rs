//! Payments beyond taking one (which is `POST /api/invoices/{id}/payments`): refunds of a
//! payment (`payments:edit`), the client's credit on account and applying it to an invoice
//! (`payments:create`; reading it `payments:view`). Every amount is integer cents.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use clowder_actors::comms::messages::{NewMessage, Recipient};
use clowder_schemas::ErrorResponse;
use clowder_schemas::ValidationError;
use clowder_schemas::ids::{ClientId, InvoiceId, PaymentId};
use clowder_schemas::invoices::Invoice;
use clowder_schemas::messages::Purpose;
use clowder_schemas::payments::{ApplyCredit, CreateRefund, CreditLedger};

use crate::error::ApiError;
use crate::extract::{Id, Json, Staff};
use crate::state::AppState;

/// Refund (part of) a payment: never more than is left of it after earlier refunds (422
/// `amount`). `of: "invoice"` (default) gives back what it paid on its invoice, whose `paid`
/// and balance follow (a paid invoice with a balance again turns `partially_paid`, `issued`,
/// or `overdue` after its due date); `of: "credit"` gives back the part of an overpayment kept
/// as the client's credit. A processor's refund id is recorded once (409 `duplicate_value`).
#[utoipa::path(
    post, path = "/api/payments/{id}/refunds", tag = "billing",
    params(("id" = PaymentId, Path)),
    request_body = CreateRefund,
    responses(
        (status = 200, description = "The payment's invoice with the refund (last in `refunds`)", body = Invoice),
        (status = 404, description = "`payment_not_found`", body = ErrorResponse),
        (status = 409, description = "`duplicate_value` on `processor_refund_id`", body = ErrorResponse),
        (status = 422, description = "`validation_failed` on `amount` (more than is left of the payment, or than the client's credit), `method`, `reason`, …", body = ErrorResponse),
    )
)]
pub async fn payments_refund(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<PaymentId>,
    Json(body): Json<CreateRefund>,
) -> Result<axum::Json<Invoice>, ApiError> {
    let draft = body.validate(id)?;
    Ok(axum::Json(state.system.invoices.refund(draft, &staff.caller).await?))
}

/// Apply the client's credit on account to an invoice: `amount` (default: as much as both the
/// credit and the balance allow), never more than either (422 `amount`). Recorded as a payment
/// of method `account_credit`.
#[utoipa::path(
    post, path = "/api/invoices/{id}/apply-credit", tag = "billing",
    params(("id" = InvoiceId, Path)),
    request_body = ApplyCredit,
    responses(
        (status = 200, description = "The invoice with the credit applied (last in `payments`)", body = Invoice),
        (status = 404, description = "`invoice_not_found`", body = ErrorResponse),
        (status = 409, description = "`invalid_transition`: a draft, paid or void", body = ErrorResponse),
        (status = 422, description = "`validation_failed` on `amount`: more than the credit or the balance, or no credit", body = ErrorResponse),
    )
)]
pub async fn invoices_apply_credit(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<InvoiceId>,
    Json(body): Json<ApplyCredit>,
) -> Result<axum::Json<Invoice>, ApiError> {
    let amount = body.amount.map(|a| a.typed("amount", true)).transpose()?;
    Ok(axum::Json(state.system.invoices.apply_credit(id, amount, &staff.caller).await?))
}

/// A client's credit on account: every overpayment kept, credit applied, refunded or restored,
/// oldest first, and their sum (derived from the invoices at each request, never stored).
#[utoipa::path(
    get, path = "/api/clients/{id}/credit", tag = "billing",
    params(("id" = ClientId, Path)),
    responses((status = 200, body = CreditLedger), (status = 404, description = "`client_not_found`", body = ErrorResponse))
)]
pub async fn clients_credit(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<ClientId>,
) -> Result<axum::Json<CreditLedger>, ApiError> {
    Ok(axum::Json(state.system.invoices.credit_ledger(id, &staff.caller).await?))
}

/// A payment's receipt on the clinic's paper: who paid, the invoice's number and lines, the
/// method, reference and amount, and the balance after it. Audited as `payment.receipt_pdf`.
#[utoipa::path(
    get, path = "/api/payments/{id}/receipt.pdf", tag = "billing",
    params(("id" = PaymentId, Path)),
    responses(
        (status = 200, content_type = "application/pdf", body = Vec<u8>),
        (status = 404, description = "`payment_not_found`", body = ErrorResponse),
    )
)]
pub async fn payments_receipt_pdf(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<PaymentId>,
) -> Result<Response, ApiError> {
    let (filename, pdf) = state.system.invoices.receipt_pdf(id, &staff.caller).await?;
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

/// Email a payment's receipt to its client through the comms outbox (queued; answers at once),
/// the receipt's PDF attached.
/// The client needs an email (422 `email`); their consent to transactional email is checked
/// when it is sent, as for every message. Each request sends one email (a retry with the
/// same `Idempotency-Key` sends none more).
#[utoipa::path(
    post, path = "/api/payments/{id}/receipt/email", tag = "billing",
    params(("id" = PaymentId, Path)),
    responses(
        (status = 202, body = crate::routes::messages::Queued),
        (status = 404, description = "`payment_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed` on `email`: the client has none", body = ErrorResponse),
    )
)]
pub async fn payments_receipt_email(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<PaymentId>,
) -> Result<Response, ApiError> {
    let system = &state.system;
    let r = system.invoices.receipt_email(id)?;
    let Some(to) = r.to else {
        return Err(ValidationError::new("email", "the client has no email address on file").into());
    };
    let new = NewMessage {
        to: Recipient::Email(to),
        client_id: Some(r.client_id),
        subject: Some(r.subject),
        text: r.text,
        html: None,
        idempotency_key: format!("receipt:{id}:{}", system.ctx.new_ulid()),
        due_at: None,
        purpose: Purpose::Transactional,
        template: None,
        automation: None,
    };
    // The receipt's PDF goes with it, rendered when the outbox sends it.
    let pdf = clowder_actors::billing::statements::receipt_ref(id);
    let message_id = system.messages.send_with(new, vec![pdf], &staff.caller).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(crate::routes::messages::Queued { message_id })).into_response())
}
