//! `/api/estimates`: drafts with several options of low–high lines (`invoices:create`),
//! changed while a draft, sent, marked viewed, declined (`invoices:edit`), accepted into a
//! draft invoice (`invoices:create`), read and printed (`invoices:view`, audited), and the
//! estimate-vs-actual report. Every amount is integer cents computed by the server.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use clowder_actors::billing::estimates::EstimateFilter;
use clowder_schemas::estimates::{
    AcceptEstimate, CreateEstimate, DeclineEstimate, Estimate, EstimateChange, EstimateDraft, EstimateListQuery,
    EstimateReport, SendEstimate, UpdateEstimate, UpdateEstimateLine,
};
use clowder_schemas::invoices::Invoice;
use clowder_schemas::pagination::{Cursor, Page, PageRequest};
use clowder_schemas::values::optional_text;
use clowder_schemas::{ClientId, ErrorResponse, errors::ErrorCode, ids::EstimateId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::extract::{Id, Json, ParentId, Query, RawId, Staff, parse_id};
use crate::reply::Created;
use crate::state::AppState;

/// Start a draft estimate for a client's cat: one or more options, each with lines whose
/// quantity and unit price are ranges (low and high), optional lines and discounts. The
/// location (optional) gives the tax rate.
#[utoipa::path(
    post, path = "/api/estimates", tag = "billing",
    request_body = CreateEstimate,
    responses(
        (status = 201, description = "A draft", body = Estimate, headers(("Location" = String, description = "URL of the estimate"))),
        (status = 404, description = "`client_not_found`, `patient_not_found`, `location_not_found`, `catalogue_item_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`, naming the field (`options.0.lines.2.quantity_high`, `options`, …)", body = ErrorResponse),
    )
)]
pub async fn estimates_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<CreateEstimate>,
) -> Result<Response, ApiError> {
    body.check()?;
    let estimates = &state.system.estimates;
    let draft = EstimateDraft {
        client_id: body.client_id,
        patient_id: body.patient_id,
        visit_id: body.visit_id,
        location_id: body.location_id,
        options: estimates.options(&body.options, true)?,
        memo: body.memo,
    };
    let e = estimates.create(draft, &staff.caller).await?;
    Ok(Created::at(format!("/api/estimates/{}", e.id), e).into_response())
}

/// Estimates, newest first (`status`, `client_id` filters).
#[utoipa::path(
    get, path = "/api/estimates", tag = "billing",
    params(EstimateListQuery),
    responses((status = 200, body = Page<Estimate>), (status = 422, description = "`validation_failed`", body = ErrorResponse))
)]
pub async fn estimates_list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<EstimateListQuery>,
) -> Result<axum::Json<Page<Estimate>>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let filter = EstimateFilter { client_id: q.client_id, status: q.status };
    let (items, next) = state.system.estimates.list(&filter, page.after, page.limit, &staff.caller).await?;
    Ok(axum::Json(Page::new(items, next)))
}

/// One estimate with its options and their low and high totals; `{id}.pdf` answers it as a
/// PDF to print or send (each option's lines with low and high amounts, and its totals).
#[utoipa::path(
    get, path = "/api/estimates/{id}", tag = "billing",
    params(("id" = EstimateId, Path, description = "the estimate's id; with `.pdf` appended, its PDF")),
    responses(
        (status = 200, body = Estimate),
        (status = 200, content_type = "application/pdf", body = Vec<u8>, description = "`/api/estimates/{id}.pdf`"),
        (status = 404, description = "`estimate_not_found`", body = ErrorResponse),
    )
)]
pub async fn estimates_get(State(state): State<AppState>, staff: Staff, raw: RawId) -> Result<Response, ApiError> {
    // One route for both: the router matches whole segments only, so `{id}.pdf` cannot be a
    // route of its own beside `{id}`.
    let (raw, pdf) = match raw {
        Ok(axum::extract::Path(s)) => match s.strip_suffix(".pdf") {
            Some(id) => (Ok(axum::extract::Path(id.to_owned())), true),
            None => (Ok(axum::extract::Path(s)), false),
        },
        Err(e) => (Err(e), false),
    };
    let id: EstimateId = parse_id(raw, ErrorCode::EstimateNotFound, "estimate")?;
    if !pdf {
        return Ok(axum::Json(state.system.estimates.get(id, &staff.caller).await?).into_response());
    }
    let (e, pdf) = state.system.estimates.pdf(id, &staff.caller).await?;
    let filename = format!("estimate-{}.pdf", e.number.as_deref().unwrap_or("draft"));
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

/// Change a draft: `options` replaces every option; `memo`, `location_id` are merge patches.
/// A sent estimate is not edited (409 `invalid_transition`).
#[utoipa::path(
    patch, path = "/api/estimates/{id}", tag = "billing",
    params(("id" = EstimateId, Path)),
    request_body = UpdateEstimate,
    responses(
        (status = 200, body = Estimate),
        (status = 404, description = "`estimate_not_found`", body = ErrorResponse),
        (status = 409, description = "`invalid_transition`: not a draft", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn estimates_update(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<EstimateId>,
    Json(body): Json<UpdateEstimate>,
) -> Result<axum::Json<Estimate>, ApiError> {
    let estimates = &state.system.estimates;
    let change = EstimateChange {
        options: body.options.as_deref().map(|o| estimates.options(o, true)).transpose()?,
        memo: body.memo,
        location_id: body.location_id,
    };
    Ok(axum::Json(estimates.change(id, change, &staff.caller).await?))
}

/// Change one line of a draft in place: its quantities and unit prices (low and high), its
/// discount (`null` removes it) and whether it is optional; what is absent stays. Checked as
/// an added line is; the option's totals are computed again. A sent estimate is not edited.
#[utoipa::path(
    patch, path = "/api/estimates/{id}/options/{option_no}/lines/{line_no}", tag = "billing",
    params(
        ("id" = EstimateId, Path),
        ("option_no" = u32, Path, description = "the option's number (1, 2, …)"),
        ("line_no" = u32, Path, description = "the line's number in its option"),
    ),
    request_body = UpdateEstimateLine,
    responses(
        (status = 200, body = Estimate),
        (status = 404, description = "`estimate_not_found`", body = ErrorResponse),
        (status = 409, description = "`invalid_transition`: not a draft", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: no such `option_no` or `line_no`, or the line's field (`options.0.lines.1.quantity_high`, …)", body = ErrorResponse),
    )
)]
pub async fn estimates_update_line(
    State(state): State<AppState>,
    staff: Staff,
    ParentId(id): ParentId<EstimateId>,
    params: axum::extract::RawPathParams,
    Json(body): Json<UpdateEstimateLine>,
) -> Result<axum::Json<Estimate>, ApiError> {
    let number = |name: &str| -> Result<u32, ApiError> {
        params
            .iter()
            .find(|(k, _)| *k == name)
            .and_then(|(_, v)| v.parse::<u32>().ok())
            .ok_or_else(|| clowder_schemas::ValidationError::new(name, "is not a number").into())
    };
    let (option_no, line_no) = (number("option_no")?, number("line_no")?);
    Ok(axum::Json(state.system.estimates.edit_line(id, option_no, line_no, body, &staff.caller).await?))
}

/// Send a draft: it gets its `EST-YYYY-NNNNNN` number (gap-free per year), the location's tax
/// rate is fixed, and it is valid until `valid_until` (default 30 days); the day after,
/// unanswered, it turns `expired`. Sending a sent estimate answers it unchanged.
#[utoipa::path(
    post, path = "/api/estimates/{id}/send", tag = "billing",
    params(("id" = EstimateId, Path)),
    request_body = SendEstimate,
    responses(
        (status = 200, body = Estimate),
        (status = 404, description = "`estimate_not_found`", body = ErrorResponse),
        (status = 409, description = "`invalid_transition`: answered or expired", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: no lines, `valid_until` before today", body = ErrorResponse),
    )
)]
pub async fn estimates_send(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<EstimateId>,
    Json(body): Json<SendEstimate>,
) -> Result<axum::Json<Estimate>, ApiError> {
    Ok(axum::Json(state.system.estimates.send(id, body.valid_until, &staff.caller).await?))
}

/// What emailing an estimate answers: the estimate (sent, if it was a draft) and the queued
/// message.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct EstimateEmailed {
    pub estimate: Estimate,
    pub message_id: clowder_schemas::ids::MessageId,
}

/// Email the estimate to its client through the outbox with its PDF attached; a draft is
/// sent first (numbered, valid 30 days). Refused for a client with no email address or who
/// opted out of email, before anything changes. A retry with the same `Idempotency-Key` sends
/// nothing more.
#[utoipa::path(
    post, path = "/api/estimates/{id}/email", tag = "billing",
    params(("id" = EstimateId, Path)),
    responses(
        (status = 202, body = EstimateEmailed),
        (status = 404, description = "`estimate_not_found`", body = ErrorResponse),
        (status = 409, description = "`invalid_transition`: answered or expired", body = ErrorResponse),
        (status = 422, description = "`validation_failed` on `email` (none on file, or opted out), or a draft without lines", body = ErrorResponse),
    )
)]
pub async fn estimates_email(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<EstimateId>,
) -> Result<Response, ApiError> {
    let (estimate, message_id) = state.system.estimates.email(id, &staff.caller).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(EstimateEmailed { estimate, message_id })).into_response())
}

/// Record that the client opened a sent estimate (staff mark it until the client portal
/// does). Marking a viewed estimate again answers it unchanged.
#[utoipa::path(
    post, path = "/api/estimates/{id}/viewed", tag = "billing",
    params(("id" = EstimateId, Path)),
    responses(
        (status = 200, body = Estimate),
        (status = 404, description = "`estimate_not_found`", body = ErrorResponse),
        (status = 409, description = "`invalid_transition`: a draft, answered or expired", body = ErrorResponse),
    )
)]
pub async fn estimates_viewed(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<EstimateId>,
) -> Result<axum::Json<Estimate>, ApiError> {
    Ok(axum::Json(state.system.estimates.mark_viewed(id, &staff.caller).await?))
}

/// The answer of an acceptance: the estimate and the draft invoice its option became.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Accepted {
    pub estimate: Estimate,
    pub invoice: Invoice,
}

/// Accept one option (and the optional lines the client takes): it becomes a draft invoice
/// at the high end of each range, whose lines name the estimate (`source`
/// `estimate:<id>:<option>:<line>`). Once: a second acceptance is 409.
#[utoipa::path(
    post, path = "/api/estimates/{id}/accept", tag = "billing",
    params(("id" = EstimateId, Path)),
    request_body = AcceptEstimate,
    responses(
        (status = 200, body = Accepted),
        (status = 404, description = "`estimate_not_found`", body = ErrorResponse),
        (status = 409, description = "`invalid_transition`: a draft, answered already, or expired", body = ErrorResponse),
        (status = 422, description = "`validation_failed` on `option_no` or `optional_lines`", body = ErrorResponse),
    )
)]
pub async fn estimates_accept(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<EstimateId>,
    Json(body): Json<AcceptEstimate>,
) -> Result<axum::Json<Accepted>, ApiError> {
    let (estimate, invoice) = state.system.estimates.accept(id, body, &staff.caller).await?;
    Ok(axum::Json(Accepted { estimate, invoice }))
}

/// The client declines a sent estimate (an optional reason).
#[utoipa::path(
    post, path = "/api/estimates/{id}/decline", tag = "billing",
    params(("id" = EstimateId, Path)),
    request_body = DeclineEstimate,
    responses(
        (status = 200, body = Estimate),
        (status = 404, description = "`estimate_not_found`", body = ErrorResponse),
        (status = 409, description = "`invalid_transition`: a draft, answered already, or expired", body = ErrorResponse),
        (status = 422, description = "`validation_failed` on `reason`", body = ErrorResponse),
    )
)]
pub async fn estimates_decline(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<EstimateId>,
    Json(body): Json<DeclineEstimate>,
) -> Result<axum::Json<Estimate>, ApiError> {
    let reason = optional_text("reason", body.reason.as_deref(), 300)?;
    Ok(axum::Json(state.system.estimates.decline(id, reason, &staff.caller).await?))
}

/// Filters of `GET /api/estimates/report`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    pub client_id: Option<ClientId>,
}

/// A page of the report, with the cursor of the next.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReportPage {
    #[serde(flatten)]
    pub report: EstimateReport,
    pub next_cursor: Option<String>,
}

/// Estimate vs actual: accepted estimates, newest first, each accepted option's low and
/// high total against the total of the invoice it became (`below`, `within`, `above`).
#[utoipa::path(
    get, path = "/api/estimates/report", tag = "billing",
    params(ReportQuery),
    responses((status = 200, body = ReportPage), (status = 422, description = "`validation_failed`", body = ErrorResponse))
)]
pub async fn estimates_report(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ReportQuery>,
) -> Result<axum::Json<ReportPage>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let (report, next) = state.system.estimates.report(q.client_id, page.after, page.limit, &staff.caller).await?;
    Ok(axum::Json(ReportPage { report, next_cursor: next.map(|k| Cursor(k).encode()) }))
}
