//! `/api/controlled`: the controlled-drug register. Containers received, administrations and
//! dispensing, discrepancies, stock counts and reversals (`controlled:record`, each with a
//! witness's username and PIN); containers, their entries and the register as CSV or PDF
//! (`controlled:view`, audited). Nothing is edited or deleted: corrections are reversals.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use clowder_schemas::ErrorResponse;
use clowder_schemas::controlled::{
    ContainerView, ContainersQuery, ReceiveContainer, RecordCount, RecordDiscrepancy, RecordUse, Recorded,
    RegisterQuery, ReverseEntry,
};
use clowder_schemas::ids::{ControlledContainerId, ControlledEntryId};

use crate::error::ApiError;
use crate::extract::{Id, Json, Query, Staff};
use crate::reply::Created;
use crate::state::AppState;

/// Receive a container (bottle, vial, box) of a controlled drug: the container and its
/// receipt entry, witnessed.
#[utoipa::path(
    post, path = "/api/controlled/containers", tag = "clinical",
    request_body = ReceiveContainer,
    responses(
        (status = 201, description = "Received", body = ContainerView, headers(("Location" = String, description = "URL of the container"))),
        (status = 422, description = "`validation_failed`: no witness (`witness`), a wrong witness PIN (`witness.pin`), not a controlled drug (`drug`)", body = ErrorResponse),
    )
)]
pub async fn controlled_receive(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<ReceiveContainer>,
) -> Result<Response, ApiError> {
    let v = state.system.controlled.receive(body, &staff.caller).await?;
    Ok(Created::at(format!("/api/controlled/containers/{}", v.container.id), v).into_response())
}

/// Every container with its running balance (of one drug with `?drug=`), newest first.
#[utoipa::path(
    get, path = "/api/controlled/containers", tag = "clinical",
    params(ContainersQuery),
    responses((status = 200, body = Vec<ContainerView>))
)]
pub async fn controlled_list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ContainersQuery>,
) -> Result<axum::Json<Vec<ContainerView>>, ApiError> {
    Ok(axum::Json(state.system.controlled.list(q.drug.as_deref(), &staff.caller).await?))
}

/// One container with its balance and every entry, oldest first.
#[utoipa::path(
    get, path = "/api/controlled/containers/{id}", tag = "clinical",
    params(("id" = ControlledContainerId, Path)),
    responses((status = 200, body = ContainerView), (status = 404, description = "`controlled_container_not_found`", body = ErrorResponse))
)]
pub async fn controlled_get(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<ControlledContainerId>,
) -> Result<axum::Json<ContainerView>, ApiError> {
    Ok(axum::Json(state.system.controlled.get(id, &staff.caller).await?))
}

/// Record an administration or a dispensing for a cat, witnessed; never more than remains.
#[utoipa::path(
    post, path = "/api/controlled/containers/{id}/uses", tag = "clinical",
    params(("id" = ControlledContainerId, Path)),
    request_body = RecordUse,
    responses(
        (status = 200, body = Recorded),
        (status = 404, description = "`controlled_container_not_found`, `patient_not_found`, `prescription_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: no witness, a wrong PIN, more than remains (`quantity`)", body = ErrorResponse),
    )
)]
pub async fn controlled_use(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<ControlledContainerId>,
    Json(body): Json<RecordUse>,
) -> Result<axum::Json<Recorded>, ApiError> {
    Ok(axum::Json(state.system.controlled.record_use(id, body, &staff.caller).await?))
}

/// Log a discrepancy (drug lost or found) with its reason, witnessed.
#[utoipa::path(
    post, path = "/api/controlled/containers/{id}/discrepancies", tag = "clinical",
    params(("id" = ControlledContainerId, Path)),
    request_body = RecordDiscrepancy,
    responses(
        (status = 200, body = Recorded),
        (status = 404, description = "`controlled_container_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn controlled_discrepancy(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<ControlledContainerId>,
    Json(body): Json<RecordDiscrepancy>,
) -> Result<axum::Json<Recorded>, ApiError> {
    Ok(axum::Json(state.system.controlled.discrepancy(id, body, &staff.caller).await?))
}

/// Record a physical stock count, witnessed. A count that differs from the running balance
/// needs a reason and logs a discrepancy that brings the balance to the count.
#[utoipa::path(
    post, path = "/api/controlled/containers/{id}/counts", tag = "clinical",
    params(("id" = ControlledContainerId, Path)),
    request_body = RecordCount,
    responses(
        (status = 200, description = "The count, and the discrepancy when it differs", body = Recorded),
        (status = 404, description = "`controlled_container_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: a differing count without `reason`", body = ErrorResponse),
    )
)]
pub async fn controlled_count(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<ControlledContainerId>,
    Json(body): Json<RecordCount>,
) -> Result<axum::Json<Recorded>, ApiError> {
    Ok(axum::Json(state.system.controlled.count(id, body, &staff.caller).await?))
}

/// Reverse an entry (the register's only correction): the opposite change with a reason,
/// witnessed; an entry is reversed at most once.
#[utoipa::path(
    post, path = "/api/controlled/entries/{id}/reversal", tag = "clinical",
    params(("id" = ControlledEntryId, Path)),
    request_body = ReverseEntry,
    responses(
        (status = 200, body = Recorded),
        (status = 404, description = "`controlled_entry_not_found`", body = ErrorResponse),
        (status = 409, description = "`duplicate_value`: already reversed", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: a count or a reversal, no reason, no witness", body = ErrorResponse),
    )
)]
pub async fn controlled_reverse(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<ControlledEntryId>,
    Json(body): Json<ReverseEntry>,
) -> Result<axum::Json<Recorded>, ApiError> {
    Ok(axum::Json(state.system.controlled.reverse(id, body, &staff.caller).await?))
}

/// The register from `from` to `to` (the clinic's local dates, inclusive) as CSV, one line per
/// entry, oldest first. The export is audited.
#[utoipa::path(
    get, path = "/api/controlled/register.csv", tag = "clinical",
    params(RegisterQuery),
    responses(
        (status = 200, content_type = "text/csv", body = String),
        (status = 422, description = "`validation_failed`: `to` before `from`, an unknown drug", body = ErrorResponse),
    )
)]
pub async fn controlled_register_csv(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<RegisterQuery>,
) -> Result<Response, ApiError> {
    let csv = state.system.controlled.register_csv(q.from, q.to, q.drug.as_deref(), &staff.caller).await?;
    let filename = format!("controlled-register-{}-{}.csv", q.from, q.to);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        csv,
    )
        .into_response())
}

/// The register from `from` to `to` (the clinic's local dates, inclusive) as a PDF, landscape
/// on the clinic's paper: per drug and container, the balance brought forward, every entry
/// (local date and time, kind, cat and owner, quantity, balance, who, witness, reason) and
/// the container's totals, under the clinic's letterhead, each page numbered. Same checks as
/// the CSV; audited as `controlled.export_pdf`.
#[utoipa::path(
    get, path = "/api/controlled/register.pdf", tag = "clinical",
    params(RegisterQuery),
    responses(
        (status = 200, content_type = "application/pdf", body = Vec<u8>),
        (status = 422, description = "`validation_failed`: `to` before `from`, an unknown drug", body = ErrorResponse),
    )
)]
pub async fn controlled_register_pdf(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<RegisterQuery>,
) -> Result<Response, ApiError> {
    let pdf = state.system.controlled.register_pdf(q.from, q.to, q.drug.as_deref(), &staff.caller).await?;
    let filename = format!("controlled-register-{}-{}.pdf", q.from, q.to);
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
