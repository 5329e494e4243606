//! `/api/payment-plans` and an invoice's plans: agreed for an issued invoice with a balance
//! (`payments:create`), modified with history and cancelled (`payments:edit`), read with
//! their progress (`payments:view`, audited). The schedule is computed by the server.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use clowder_actors::billing::plans::PlanDraft;
use clowder_schemas::ErrorResponse;
use clowder_schemas::ids::{InvoiceId, PaymentPlanId};
use clowder_schemas::payment_plans::{CancelPaymentPlan, CreatePaymentPlan, PaymentPlan, UpdatePaymentPlan};
use clowder_schemas::values::{optional_text, required_text};

use crate::error::ApiError;
use crate::extract::{Id, Json, Staff};
use crate::reply::Created;
use crate::state::AppState;

/// Agree a payment plan for an issued invoice's balance: a down payment (due on the start
/// date), 1–60 instalments at a weekly, fortnightly or monthly interval, optional yearly
/// simple interest. The schedule is computed by the server (remainder cents on the last
/// instalment); each instalment's check is a durable job. At most one active plan per
/// invoice (409 `duplicate_value` on `invoice_id`).
#[utoipa::path(
    post, path = "/api/payment-plans", tag = "billing",
    request_body = CreatePaymentPlan,
    responses(
        (status = 201, description = "The plan with its schedule", body = PaymentPlan, headers(("Location" = String, description = "URL of the plan"))),
        (status = 404, description = "`invoice_not_found`", body = ErrorResponse),
        (status = 409, description = "`duplicate_value` on `invoice_id`: the invoice has an active plan", body = ErrorResponse),
        (status = 422, description = "`validation_failed` on `instalments`, `down_payment`, `invoice_id` (a draft, void or paid invoice), `start_date`", body = ErrorResponse),
    )
)]
pub async fn payment_plans_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<CreatePaymentPlan>,
) -> Result<Response, ApiError> {
    let terms = body.terms(state.system.ctx.today())?;
    let plan = state
        .system
        .plans
        .create(PlanDraft { invoice_id: body.invoice_id, terms, interest_invoice: None }, &staff.caller)
        .await?;
    Ok(Created::at(format!("/api/payment-plans/{}", plan.id), plan).into_response())
}

/// One plan with its schedule, progress (paid per instalment, from the invoice's payments),
/// late marks and revisions.
#[utoipa::path(
    get, path = "/api/payment-plans/{id}", tag = "billing",
    params(("id" = PaymentPlanId, Path)),
    responses((status = 200, body = PaymentPlan), (status = 404, description = "`payment_plan_not_found`", body = ErrorResponse))
)]
pub async fn payment_plans_get(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<PaymentPlanId>,
) -> Result<axum::Json<PaymentPlan>, ApiError> {
    Ok(axum::Json(state.system.plans.get(id, &staff.caller).await?))
}

/// Modify an active plan's terms (those given; the rest kept) with an optional reason: the
/// schedule is recomputed over the same principal, and the terms and schedule replaced are
/// kept in `revisions` with who changed what and when.
#[utoipa::path(
    patch, path = "/api/payment-plans/{id}", tag = "billing",
    params(("id" = PaymentPlanId, Path)),
    request_body = UpdatePaymentPlan,
    responses(
        (status = 200, body = PaymentPlan),
        (status = 404, description = "`payment_plan_not_found`", body = ErrorResponse),
        (status = 409, description = "`invalid_transition`: cancelled or completed", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn payment_plans_update(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<PaymentPlanId>,
    Json(body): Json<UpdatePaymentPlan>,
) -> Result<axum::Json<PaymentPlan>, ApiError> {
    let plans = &state.system.plans;
    let current = plans.records().peek(id)?;
    let terms = body.terms(current.terms, state.system.ctx.today())?;
    let reason = optional_text("reason", body.reason.as_deref(), 300)?;
    Ok(axum::Json(plans.modify(id, terms, reason, &staff.caller).await?))
}

/// Cancel an active plan with a reason (its instalment checks with it); the invoice is owed
/// as before.
#[utoipa::path(
    post, path = "/api/payment-plans/{id}/cancel", tag = "billing",
    params(("id" = PaymentPlanId, Path)),
    request_body = CancelPaymentPlan,
    responses(
        (status = 200, body = PaymentPlan),
        (status = 404, description = "`payment_plan_not_found`", body = ErrorResponse),
        (status = 409, description = "`invalid_transition`: cancelled or completed", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: no reason", body = ErrorResponse),
    )
)]
pub async fn payment_plans_cancel(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<PaymentPlanId>,
    Json(body): Json<CancelPaymentPlan>,
) -> Result<axum::Json<PaymentPlan>, ApiError> {
    let reason = required_text("reason", &body.reason, 300)?;
    Ok(axum::Json(state.system.plans.cancel(id, reason, &staff.caller).await?))
}

/// An invoice's payment plans (the active one and those before it), oldest first.
#[utoipa::path(
    get, path = "/api/invoices/{id}/payment-plans", tag = "billing",
    params(("id" = InvoiceId, Path)),
    responses((status = 200, body = Vec<PaymentPlan>), (status = 404, description = "`invoice_not_found`", body = ErrorResponse))
)]
pub async fn invoices_payment_plans(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<InvoiceId>,
) -> Result<axum::Json<Vec<PaymentPlan>>, ApiError> {
    Ok(axum::Json(state.system.plans.of_invoice(id, &staff.caller).await?))
}
