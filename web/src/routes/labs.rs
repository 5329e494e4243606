//! `/api/lab-orders`, a cat's lab orders and trends, and `/api/lab-results/…`: the import
//! (JSON, or HL7 v2 ORU^R01 answered with an ACK) and the unmatched queue. Ordering needs
//! `labs:create`, results, import and the queue `labs:edit`, cancelling `labs:delete`, review
//! `visits:sign` (a veterinarian, like signing notes); reads `labs:view`, audited.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use clowder_actors::clinical::labs::{LabOrderCommand, LabOrderFilter, UnmatchedCommand, UnmatchedFilter};
use clowder_schemas::hl7::{self, AckCode};
use clowder_schemas::ids::{LabOrderId, LabUnmatchedId};
use clowder_schemas::labs::{
    AmendLabResult, AttachUnmatched, CancelLabOrder, CreateLabOrder, DiscardUnmatched, EnterResults, ImportReport,
    ImportResults, LabOrder, LabOrderListQuery, LabRanges, LabTrend, LabTrendQuery, LabUnmatched, MAX_MESSAGE_BYTES,
    MAX_RESULTS, ReviewLabOrder, UnmatchedListQuery, UnmatchedStatus, reason,
};
use clowder_schemas::pagination::{Page, PageRequest};
use clowder_schemas::values::{MAX_NOTE_CHARS, optional_text};
use clowder_schemas::{ErrorCode, ErrorResponse, PatientId, ValidationError};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::extract::{Id, Json, Query, Staff, parse_json};
use crate::reply::Created;
use crate::state::AppState;

/// Order a test of the catalogue for a cat in a visit (charged on the visit's draft by
/// charge capture, or an uncharged entry when no catalogue item links the test).
#[utoipa::path(
    post, path = "/api/lab-orders", tag = "clinical",
    request_body = CreateLabOrder,
    responses(
        (status = 201, description = "Ordered", body = LabOrder, headers(("Location" = String, description = "URL of the order"))),
        (status = 422, description = "`validation_failed`: no such visit or test", body = ErrorResponse),
    )
)]
pub async fn lab_orders_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<CreateLabOrder>,
) -> Result<Response, ApiError> {
    let o = state.system.labs.orders.create(body.validate()?, &staff.caller).await?;
    Ok(Created::at(format!("/api/lab-orders/{}", o.id), o).into_response())
}

/// One lab order with its results, flags, review and amendments.
#[utoipa::path(
    get, path = "/api/lab-orders/{id}", tag = "clinical",
    params(("id" = LabOrderId, Path)),
    responses((status = 200, body = LabOrder), (status = 404, description = "`lab_order_not_found`", body = ErrorResponse))
)]
pub async fn lab_orders_get(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<LabOrderId>,
) -> Result<axum::Json<LabOrder>, ApiError> {
    Ok(axum::Json(state.system.labs.orders.get(id, &staff.caller).await?))
}

/// Enter results by hand: each an analyte of the test, a number in a unit its range knows
/// (converted) or a text answer; flagged against the ranges in force.
#[utoipa::path(
    post, path = "/api/lab-orders/{id}/results", tag = "clinical",
    params(("id" = LabOrderId, Path)),
    request_body = EnterResults,
    responses(
        (status = 200, body = LabOrder),
        (status = 404, description = "`lab_order_not_found`", body = ErrorResponse),
        (status = 409, description = "`lab_order_reviewed` or `lab_order_cancelled`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: an unknown analyte or unit, naming `results[i]`", body = ErrorResponse),
    )
)]
pub async fn lab_orders_results(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<LabOrderId>,
    Json(body): Json<EnterResults>,
) -> Result<axum::Json<LabOrder>, ApiError> {
    body.validate()?;
    let command = LabOrderCommand::AddResults { values: body.results, source: "manual" };
    Ok(axum::Json(state.system.labs.orders.command(id, command, &staff.caller).await?))
}

/// Review and sign off a resulted order (a veterinarian only); never changed after, except
/// by amendments.
#[utoipa::path(
    post, path = "/api/lab-orders/{id}/review", tag = "clinical",
    params(("id" = LabOrderId, Path)),
    request_body = ReviewLabOrder,
    responses(
        (status = 200, body = LabOrder),
        (status = 403, description = "`forbidden`: not a veterinarian", body = ErrorResponse),
        (status = 409, description = "`lab_order_reviewed`: signed off already", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: results still awaited", body = ErrorResponse),
    )
)]
pub async fn lab_orders_review(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<LabOrderId>,
    Json(body): Json<ReviewLabOrder>,
) -> Result<axum::Json<LabOrder>, ApiError> {
    let note = optional_text("note", body.note.as_deref(), MAX_NOTE_CHARS)?;
    Ok(axum::Json(state.system.labs.orders.command(id, LabOrderCommand::Review { note }, &staff.caller).await?))
}

/// Cancel an order still awaiting results, with a reason.
#[utoipa::path(
    post, path = "/api/lab-orders/{id}/cancel", tag = "clinical",
    params(("id" = LabOrderId, Path)),
    request_body = CancelLabOrder,
    responses(
        (status = 200, body = LabOrder),
        (status = 409, description = "`lab_order_reviewed`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn lab_orders_cancel(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<LabOrderId>,
    Json(body): Json<CancelLabOrder>,
) -> Result<axum::Json<LabOrder>, ApiError> {
    let reason = reason("reason", &body.reason)?;
    Ok(axum::Json(state.system.labs.orders.command(id, LabOrderCommand::Cancel { reason }, &staff.caller).await?))
}

/// Correct one result of a reviewed order: the original is kept in `amendments`.
#[utoipa::path(
    post, path = "/api/lab-orders/{id}/amend", tag = "clinical",
    params(("id" = LabOrderId, Path)),
    request_body = AmendLabResult,
    responses(
        (status = 200, body = LabOrder),
        (status = 422, description = "`validation_failed`: not reviewed, or an unknown analyte or unit", body = ErrorResponse),
    )
)]
pub async fn lab_orders_amend(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<LabOrderId>,
    Json(body): Json<AmendLabResult>,
) -> Result<axum::Json<LabOrder>, ApiError> {
    let reason = reason("reason", &body.reason)?;
    let command = LabOrderCommand::Amend { value: body.result, reason };
    Ok(axum::Json(state.system.labs.orders.command(id, command, &staff.caller).await?))
}

/// A cat's lab orders, newest first (`visit_id` for one visit's).
#[utoipa::path(
    get, path = "/api/patients/{id}/lab-orders", tag = "clinical",
    params(("id" = PatientId, Path), LabOrderListQuery),
    responses((status = 200, body = Page<LabOrder>), (status = 404, description = "`patient_not_found`", body = ErrorResponse))
)]
pub async fn patients_lab_orders(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<PatientId>,
    Query(q): Query<LabOrderListQuery>,
) -> Result<axum::Json<Page<LabOrder>>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    state.system.patients.peek(id)?;
    let filter = LabOrderFilter { patient_id: Some(id), visit_id: q.visit_id, open_only: false };
    let (items, next) =
        state.system.labs.orders.list_newest_first(&filter, page.after, page.limit, &staff.caller).await?;
    Ok(axum::Json(Page::new(items, next)))
}

/// An analyte's results of a cat over time, oldest first, with their flags, in the range's
/// unit (`analyte=CREA`).
#[utoipa::path(
    get, path = "/api/patients/{id}/lab-trends", tag = "clinical",
    params(("id" = PatientId, Path), LabTrendQuery),
    responses(
        (status = 200, body = LabTrend),
        (status = 404, description = "`patient_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: an analyte without a range", body = ErrorResponse),
    )
)]
pub async fn patients_lab_trends(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<PatientId>,
    Query(q): Query<LabTrendQuery>,
) -> Result<axum::Json<LabTrend>, ApiError> {
    state.system.patients.peek(id)?;
    let ranges = current_ranges(&state)?;
    Ok(axum::Json(state.system.labs.orders.trend(id, &q.analyte, &ranges, &staff.caller).await?))
}

fn current_ranges(state: &AppState) -> Result<LabRanges, ApiError> {
    let v = state.system.clinical_facts.get("lab_ranges", None)?;
    Ok(v.typed::<LabRanges>()?)
}

/// The JSON import's body: groups of results, each naming its order (our id) and cat.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportBody {
    pub groups: Vec<ImportResults>,
}

/// The HL7 media types accepted (and answered in).
const HL7_TYPES: [&str; 2] = ["application/hl7-v2", "x-application/hl7-v2+er7"];

/// Import results from an outside laboratory. As JSON (`{"groups": [...]}`) the answer says
/// per group whether it was matched or queued. As HL7 v2 (`Content-Type: application/hl7-v2`
/// or `x-application/hl7-v2+er7`, one ORU^R01) the answer is the ACK in the same type: `AA`
/// when every result is on its order, `AE` when some wait in the unmatched queue, `AR` when
/// the message could not be read (it is queued all the same). Nothing is dropped.
#[utoipa::path(
    post, path = "/api/lab-results/import", tag = "clinical",
    request_body(content = ImportBody, description = "JSON, or one HL7 v2 ORU^R01 message as application/hl7-v2"),
    responses(
        (status = 200, description = "JSON: the outcome of each group; HL7: the ACK", body = ImportReport),
        (status = 415, description = "`unsupported_media_type`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn lab_results_import(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if body.len() > MAX_MESSAGE_BYTES {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("an import is at most {MAX_MESSAGE_BYTES} bytes"),
        ));
    }
    if let Some(t) = HL7_TYPES.iter().find(|t| **t == media) {
        return hl7_import(&state, &staff, &body, t).await;
    }
    crate::extract::require_json_content_type(&headers)?;
    let body: ImportBody = parse_json(&body)?;
    if body.groups.is_empty() || body.groups.len() > MAX_RESULTS {
        return Err(ValidationError::new("groups", format!("must hold 1 to {MAX_RESULTS} groups")).into());
    }
    if let Some(i) = body.groups.iter().position(|g| g.results.len() > MAX_RESULTS) {
        return Err(ValidationError::new(format!("groups[{i}].results"), format!("at most {MAX_RESULTS}")).into());
    }
    let mut outcomes = Vec::with_capacity(body.groups.len());
    for g in body.groups {
        let raw = serde_json::to_string(&g).unwrap_or_default();
        outcomes.push(state.system.labs.import(g, "json", &raw, &staff.caller).await?);
    }
    Ok(axum::Json(ImportReport { outcomes }).into_response())
}

/// The message's bytes as text: UTF-8 where they are, `\xNN` for a byte that is not, so a
/// message in another encoding is kept whole in the queue.
fn raw_text(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

async fn hl7_import(state: &AppState, staff: &Staff, body: &[u8], media: &'static str) -> Result<Response, ApiError> {
    let head = hl7::header(body);
    let now = state.system.ctx.clock.now();
    let stamp = now.to_zoned(jiff::tz::TimeZone::UTC).strftime("%Y%m%d%H%M%S").to_string();
    let ack_id = format!("ACK{}", now.as_millisecond());
    let raw = raw_text(body);
    let labs = &state.system.labs;
    let (code, text) = match hl7::read_oru(body) {
        Err(e) => {
            let why = e.to_string();
            labs.queue(None, "hl7", why.clone(), &raw, &staff.caller).await?;
            // Rejected, so the sender's interface shows it; kept all the same.
            (AckCode::AR, format!("kept in the unmatched queue: {why}"))
        }
        Ok(m) => {
            let mut queued = Vec::new();
            for g in m.groups {
                let o = labs.import(g, "hl7", &raw, &staff.caller).await?;
                if let Some(r) = o.reason {
                    queued.push(r);
                }
            }
            if queued.is_empty() {
                (AckCode::AA, "results filed".to_owned())
            } else {
                (AckCode::AE, format!("kept in the unmatched queue: {}", queued.join("; ")))
            }
        }
    };
    let ack = hl7::ack(&head, code, &stamp, &ack_id, &text);
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, media)], ack).into_response())
}

/// The unmatched queue (`status=open` by default), oldest first.
#[utoipa::path(
    get, path = "/api/lab-results/unmatched", tag = "clinical",
    params(UnmatchedListQuery),
    responses((status = 200, body = Page<LabUnmatched>), (status = 422, description = "`validation_failed`", body = ErrorResponse))
)]
pub async fn lab_unmatched_list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<UnmatchedListQuery>,
) -> Result<axum::Json<Page<LabUnmatched>>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let status = match q.status.as_deref() {
        None | Some("open") => Some(UnmatchedStatus::Open),
        Some("attached") => Some(UnmatchedStatus::Attached),
        Some("discarded") => Some(UnmatchedStatus::Discarded),
        Some("all") => None,
        Some(_) => return Err(ValidationError::new("status", "must be open, attached, discarded or all").into()),
    };
    let (items, next) =
        state.system.labs.unmatched.list(&UnmatchedFilter { status }, page.after, page.limit, &staff.caller).await?;
    Ok(axum::Json(Page::new(items, next)))
}

/// One queue entry, with the message as received.
#[utoipa::path(
    get, path = "/api/lab-results/unmatched/{id}", tag = "clinical",
    params(("id" = LabUnmatchedId, Path)),
    responses((status = 200, body = LabUnmatched), (status = 404, description = "`lab_unmatched_not_found`", body = ErrorResponse))
)]
pub async fn lab_unmatched_get(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<LabUnmatchedId>,
) -> Result<axum::Json<LabUnmatched>, ApiError> {
    Ok(axum::Json(state.system.labs.unmatched.get(id, &staff.caller).await?))
}

/// Attach a queue entry to an order: its results (or results typed from it) go on the order.
#[utoipa::path(
    post, path = "/api/lab-results/unmatched/{id}/attach", tag = "clinical",
    params(("id" = LabUnmatchedId, Path)),
    request_body = AttachUnmatched,
    responses(
        (status = 200, body = LabOrder),
        (status = 409, description = "`lab_unmatched_resolved`, `lab_order_reviewed`, `lab_order_cancelled`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: another cat's order, or results that do not fit it", body = ErrorResponse),
    )
)]
pub async fn lab_unmatched_attach(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<LabUnmatchedId>,
    Json(body): Json<AttachUnmatched>,
) -> Result<axum::Json<LabOrder>, ApiError> {
    let (_, order) = state.system.labs.attach(id, body.order_id, body.results, &staff.caller).await?;
    Ok(axum::Json(order))
}

/// Discard a queue entry, with a reason (it stays on file, discarded).
#[utoipa::path(
    post, path = "/api/lab-results/unmatched/{id}/discard", tag = "clinical",
    params(("id" = LabUnmatchedId, Path)),
    request_body = DiscardUnmatched,
    responses(
        (status = 200, body = LabUnmatched),
        (status = 409, description = "`lab_unmatched_resolved`", body = ErrorResponse),
    )
)]
pub async fn lab_unmatched_discard(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<LabUnmatchedId>,
    Json(body): Json<DiscardUnmatched>,
) -> Result<axum::Json<LabUnmatched>, ApiError> {
    let reason = reason("reason", &body.reason)?;
    Ok(axum::Json(state.system.labs.unmatched.command(id, UnmatchedCommand::Discard { reason }, &staff.caller).await?))
}
