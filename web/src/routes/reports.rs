//! `/api/reports`: financial reports (`reports:financial`): accounts-receivable ageing
//! (`ar-ageing`, audited with the clients shown) and revenue by day, week or month and by
//! catalogue category (`revenue`, audited). Both read structures the invoices keep as they
//! change (docs/reports.md), never the whole invoice history.

use axum::extract::State;
use clowder_schemas::ErrorResponse;
use clowder_schemas::reports::{AgeingQuery, AgeingReport, RevenueQuery, RevenueReport};

use crate::error::ApiError;
use crate::extract::{Query, Staff};
use crate::state::AppState;

/// Accounts-receivable ageing as of a day (default today): each client's balance in the
/// buckets current, 1–30, 31–60, 61–90 and over 90 days past due, a page of clients at a
/// time, with the totals over all of them.
#[utoipa::path(
    get, path = "/api/reports/ar-ageing", tag = "billing",
    params(AgeingQuery),
    responses(
        (status = 200, body = AgeingReport),
        (status = 422, description = "`validation_failed`: a malformed date, limit or cursor", body = ErrorResponse),
    )
)]
pub async fn reports_ar_ageing(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<AgeingQuery>,
) -> Result<axum::Json<AgeingReport>, ApiError> {
    Ok(axum::Json(state.system.reports.ageing(&q, &staff.caller).await?))
}

/// Revenue over a range of local days, by `day`, `week` (from Monday) or `month`, and by
/// catalogue category: sales net of discounts, credit notes on their own dates, tax apart.
#[utoipa::path(
    get, path = "/api/reports/revenue", tag = "billing",
    params(RevenueQuery),
    responses(
        (status = 200, body = RevenueReport),
        (status = 422, description = "`validation_failed`: a malformed date, `to` before `from`, a range too long for its grouping", body = ErrorResponse),
    )
)]
pub async fn reports_revenue(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<RevenueQuery>,
) -> Result<axum::Json<RevenueReport>, ApiError> {
    let by = q.check()?;
    Ok(axum::Json(state.system.reports.revenue(&q, by, &staff.caller).await?))
}
