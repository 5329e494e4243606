//! `GET /api/communications/analytics` (`communications:view`): reminder analytics over a date
//! range (sent, delivered, opened, clicked, booked per template variant; no-shows of reminded
//! vs not reminded appointments). Counts only, naming no client, so the read is not audited
//! (the message log's reads are, because they show recipients). See docs/communications.md.

use axum::extract::State;
use clowder_schemas::ErrorResponse;
use clowder_schemas::analytics::{AnalyticsQuery, AnalyticsReport};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::extract::{Query, Staff};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AnalyticsParams {
    /// First local date (clinic's zone), `YYYY-MM-DD`; default 29 days before `to`.
    pub from: Option<String>,
    /// Last local date, included; default today.
    pub to: Option<String>,
    /// Only messages of this automation (`appointment_reminder`, `birthday`, …).
    pub automation: Option<String>,
    /// Only messages of this template category.
    pub category: Option<String>,
    /// Booking-conversion window, 1–90 days after the message was sent (default 14).
    pub convert_days: Option<String>,
}

/// Reminder analytics: totals and per-variant figures of the messages queued in the range,
/// and the no-show comparison of the appointments that started in it.
#[utoipa::path(
    get, path = "/api/communications/analytics", tag = "communications",
    params(AnalyticsParams),
    responses(
        (status = 200, body = AnalyticsReport),
        (status = 422, description = "`validation_failed`: a malformed date, `to` before `from`, a range over 366 days, an unknown automation or category, `convert_days` outside 1–90", body = ErrorResponse),
    )
)]
pub async fn communications_analytics(
    State(state): State<AppState>,
    _staff: Staff,
    Query(q): Query<AnalyticsParams>,
) -> Result<axum::Json<AnalyticsReport>, ApiError> {
    let analytics = &state.system.analytics;
    let q = AnalyticsQuery::parse(
        q.from.as_deref(),
        q.to.as_deref(),
        q.automation.as_deref(),
        q.category.as_deref(),
        q.convert_days.as_deref(),
        analytics.today(),
    )?;
    let report = analytics.report(&q)?;
    Ok(axum::Json(report))
}
