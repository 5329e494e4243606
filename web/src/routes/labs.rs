//! `/api/lab-orders`, a cat's lab orders and trends, and `/api/lab-results/…`: the import
//! (JSON, or HL7 v2 ORU^R01 answered with an ACK) and the unmatched queue. Ordering needs
//! `labs:create`, results, import and the queue `labs:edit`, cancelling `labs:delete`, review
//! `visits:sign` (a veterinarian, like signing notes); reads `labs:view`, audited. The lab
//! screens (`/labs`, `/labs/orders/{id}`, `/labs/unmatched`) and the lab blocks of the visit
//! and cat pages are at the end.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use clowder_actors::clinical::labs::{LabOrderCommand, LabOrderFilter, UnmatchedCommand, UnmatchedFilter};
use clowder_schemas::hl7::{self, AckCode};
use clowder_schemas::ids::{LabOrderId, LabUnmatchedId};
use clowder_schemas::labs::{
    AmendLabResult, AttachUnmatched, CancelLabOrder, CreateLabOrder, DiscardUnmatched, EnterResults, ImportReport,
    ImportResults, LabOrder, LabOrderListQuery, LabOrderStatus, LabRanges, LabTests, LabTrend, LabTrendQuery,
    LabUnmatched, MAX_MESSAGE_BYTES, MAX_RESULTS, ReviewLabOrder, UnmatchedListQuery, UnmatchedStatus, reason,
};
use clowder_schemas::pagination::{Page, PageRequest};
use clowder_schemas::values::{MAX_NOTE_CHARS, optional_text};
use clowder_schemas::{ErrorCode, ErrorResponse, PatientId, ValidationError};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::access::granted_on;
use crate::error::ApiError;
use crate::extract::{Id, Json, Query, Staff, parse_json};
use crate::reply::Created;
use crate::state::AppState;
use crate::views::labs::{
    AttachChoice, LabOrderPage, LabOrderPart, LabsBoard, LabsPage, LabsPart, LocationOrders, OrderBody, OrderRow,
    PatientLabs, TypedAnalyte, UnmatchedList, UnmatchedPage, UnmatchedPart, UnmatchedRow, VisitLabs,
};
use crate::views::{ErrorPage, Nav, Section, render};
use std::collections::{BTreeMap, HashMap};

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

/// A cat's lab orders, newest first (`visit_id` for one visit's; `unreviewed=true` for those
/// not signed off yet), read through the cat's index.
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
    let filter = LabOrderFilter {
        patient_id: Some(id),
        visit_id: q.visit_id,
        unreviewed_only: q.unreviewed == Some(true),
        ..LabOrderFilter::default()
    };
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
    if body.results.as_ref().is_some_and(|r| r.len() > MAX_RESULTS) {
        return Err(ValidationError::new("results", format!("at most {MAX_RESULTS}")).into());
    }
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

/// Orders the lab screens read at most (the open orders list, a cat's page, the choices of
/// the unmatched queue): newest first.
const SCREEN_ORDERS: usize = 200;

fn is_fragment(headers: &HeaderMap) -> bool {
    headers.get("hx-request").is_some_and(|v| v == "true")
}

fn cat_name(state: &AppState, id: PatientId) -> String {
    state.system.patients.peek(id).map(|p| p.name).unwrap_or_else(|_| id.to_string())
}

/// The orders not yet signed off (awaiting results or review), newest first, read as one
/// audited list: a cat's through its index (its 200 newest unreviewed), else those among
/// the clinic's 200 newest orders (no index by status: a filter over the whole table would
/// walk every reviewed order; the queue screen searches by cat for older ones).
async fn unreviewed(state: &AppState, staff: &Staff, patient: Option<PatientId>) -> Result<Vec<LabOrder>, ApiError> {
    let filter =
        LabOrderFilter { patient_id: patient, unreviewed_only: patient.is_some(), ..LabOrderFilter::default() };
    let (items, _) = state.system.labs.orders.list_newest_first(&filter, None, SCREEN_ORDERS, &staff.caller).await?;
    Ok(items
        .into_iter()
        .filter(|o| matches!(o.status, LabOrderStatus::Ordered | LabOrderStatus::Partial | LabOrderStatus::Resulted))
        .collect())
}

/// The lab block of a visit's page: its orders, and the order form for who may order.
pub(crate) async fn visit_labs(
    state: &AppState,
    staff: &Staff,
    visit: &clowder_schemas::visits::Visit,
) -> Result<Option<VisitLabs>, ApiError> {
    if granted_on(staff, &Method::GET, "/api/patients/{id}/lab-orders").is_none() {
        return Ok(None);
    }
    let tz = &state.system.ctx.config.time_zone;
    let filter =
        LabOrderFilter { patient_id: Some(visit.patient_id), visit_id: Some(visit.id), ..LabOrderFilter::default() };
    let (orders, _) = state.system.labs.orders.list_newest_first(&filter, None, SCREEN_ORDERS, &staff.caller).await?;
    let rows = orders.iter().map(|o| OrderRow::of(o, String::new(), tz)).collect();
    let may_order = granted_on(staff, &Method::POST, "/api/lab-orders").is_some()
        && visit.status != clowder_schemas::visits::VisitStatus::Voided;
    let catalogue =
        if may_order { Some(state.system.clinical_facts.get("lab_tests", None)?.typed::<LabTests>()?) } else { None };
    Ok(Some(VisitLabs::new(visit.id.to_string(), rows, catalogue.as_ref())))
}

/// The lab block of a cat's page: its latest orders and a trend per analyte.
pub(crate) async fn patient_labs(
    state: &AppState,
    staff: &Staff,
    patient: PatientId,
) -> Result<Option<PatientLabs>, ApiError> {
    if granted_on(staff, &Method::GET, "/api/patients/{id}/lab-orders").is_none() {
        return Ok(None);
    }
    let filter = LabOrderFilter { patient_id: Some(patient), ..LabOrderFilter::default() };
    let (orders, _) = state.system.labs.orders.list_newest_first(&filter, None, SCREEN_ORDERS, &staff.caller).await?;
    Ok(Some(PatientLabs::new(&orders, &state.system.ctx.config.time_zone)))
}

/// `/labs`: the orders awaiting results or review, per location (the visit's; "Any
/// location" when it named none), and how many results wait in the unmatched queue.
/// `labs.js` asks for the board again (`HX-Request`) when the `labs` topic says a lab
/// record changed.
pub async fn labs_page(State(state): State<AppState>, staff: Staff, headers: HeaderMap) -> Response {
    let nav = Nav::of(&staff, Section::Labs);
    let answer = async {
        let tz = &state.system.ctx.config.time_zone;
        let orders = unreviewed(&state, &staff, None).await?;
        let names: HashMap<_, _> =
            state.system.scheduling.setup.locations(false).into_iter().map(|l| (l.id, l.name)).collect();
        let mut per: BTreeMap<String, Vec<OrderRow>> = BTreeMap::new();
        for o in &orders {
            let place = o.location_id.and_then(|l| names.get(&l).cloned()).unwrap_or_else(|| "Any location".to_owned());
            per.entry(place).or_default().push(OrderRow::of(o, cat_name(&state, o.patient_id), tz));
        }
        let filter = UnmatchedFilter { status: Some(UnmatchedStatus::Open) };
        let (open, _) = state.system.labs.unmatched.list(&filter, None, SCREEN_ORDERS, &staff.caller).await?;
        let board = LabsBoard {
            locations: per.into_iter().map(|(location, orders)| LocationOrders { location, orders }).collect(),
            unmatched: open.len(),
        };
        if is_fragment(&headers) {
            return Ok::<_, ApiError>(render(StatusCode::OK, &LabsPart { board }));
        }
        Ok(render(StatusCode::OK, &LabsPage { nav: nav.clone(), board }))
    }
    .await;
    answer.unwrap_or_else(|e| ErrorPage::answer(nav, e))
}

/// `/labs/orders/{id}`: one order, its results with flags, the hand-entry form and the
/// sign-off button for who may; `labs.js` asks for the body again (`HX-Request`) when the
/// cat's topic says the order changed.
pub async fn lab_order_page(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    id: Result<Id<LabOrderId>, ApiError>,
) -> Response {
    let nav = Nav::of(&staff, Section::Labs);
    let answer = async {
        let Id(id) = id?;
        let o = state.system.labs.orders.get(id, &staff.caller).await?;
        let ranges = current_ranges(&state)?;
        let users = o.created_by.into_iter().chain(o.reviewed_by).chain(o.amendments.iter().filter_map(|a| a.by));
        let names = super::pages::user_names(&state, users).await;
        let name = |u: clowder_schemas::UserId| names.get(&u).cloned().unwrap_or_else(|| u.to_string());
        let may_enter = granted_on(&staff, &Method::POST, "/api/lab-orders/{id}/results").is_some();
        let may_review = granted_on(&staff, &Method::POST, "/api/lab-orders/{id}/review").is_some();
        let order = OrderBody::new(&o, &ranges, may_enter, may_review, name, &state.system.ctx.config.time_zone);
        if is_fragment(&headers) {
            return Ok::<_, ApiError>(render(StatusCode::OK, &LabOrderPart { order }));
        }
        Ok(render(StatusCode::OK, &LabOrderPage { nav: nav.clone(), order }))
    }
    .await;
    answer.unwrap_or_else(|e| ErrorPage::answer(nav, e))
}

/// `/labs/unmatched`: the open entries of the queue, oldest first, each with the orders it
/// may go on (the named cat's unreviewed orders when it names a cat on file, read through the
/// cat's index; else the 200 newest unreviewed orders, and a search by cat for the others),
/// the typed-results form when nothing could be read of it, and Attach and Discard for who
/// may. `labs.js` asks for the entries again (`HX-Request`) on the `labs` topic's events.
pub async fn lab_unmatched_page(State(state): State<AppState>, staff: Staff, headers: HeaderMap) -> Response {
    let nav = Nav::of(&staff, Section::Labs);
    let answer = async {
        let tz = &state.system.ctx.config.time_zone;
        let filter = UnmatchedFilter { status: Some(UnmatchedStatus::Open) };
        let (entries, _) = state.system.labs.unmatched.list(&filter, None, SCREEN_ORDERS, &staff.caller).await?;
        let can_resolve = granted_on(&staff, &Method::POST, "/api/lab-results/unmatched/{id}/attach").is_some();
        let named = |u: &LabUnmatched| {
            u.group
                .as_ref()
                .and_then(|g| g.patient_id.as_deref())
                .and_then(|p| p.trim().parse::<PatientId>().ok())
                .filter(|p| state.system.patients.exists(*p).unwrap_or(false))
        };
        let anonymous = entries.iter().any(|u| named(u).is_none());
        let open = if can_resolve && anonymous { unreviewed(&state, &staff, None).await? } else { Vec::new() };
        // A named cat's orders through its index, so an older one is offered too.
        let mut per_cat: HashMap<PatientId, Vec<LabOrder>> = HashMap::new();
        if can_resolve {
            for p in entries.iter().filter_map(named) {
                if let std::collections::hash_map::Entry::Vacant(v) = per_cat.entry(p) {
                    v.insert(unreviewed(&state, &staff, Some(p)).await?);
                }
            }
        }
        let choice = |o: &LabOrder| AttachChoice {
            id: o.id.to_string(),
            label: format!(
                "{} · {} ({}) · {}",
                cat_name(&state, o.patient_id),
                o.test_name,
                o.test,
                crate::views::visits::when(o.created_at, tz)
            ),
        };
        let rows = entries
            .iter()
            .map(|u| {
                let choices = match named(u) {
                    Some(p) => per_cat.get(&p).map(|os| os.iter().map(choice).collect()).unwrap_or_default(),
                    None => open.iter().map(choice).collect(),
                };
                UnmatchedRow::of(u, choices, tz)
            })
            .collect();
        let analytes = if can_resolve { TypedAnalyte::all(&current_ranges(&state)?) } else { Vec::new() };
        let list = UnmatchedList { entries: rows, can_resolve, analytes };
        if is_fragment(&headers) {
            return Ok::<_, ApiError>(render(StatusCode::OK, &UnmatchedPart { list }));
        }
        Ok(render(StatusCode::OK, &UnmatchedPage { nav: nav.clone(), list }))
    }
    .await;
    answer.unwrap_or_else(|e| ErrorPage::answer(nav, e))
}
