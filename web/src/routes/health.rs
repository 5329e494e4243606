//! Operators' endpoints: liveness, readiness, detailed health, Prometheus metrics.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use clowder_ops::health::{DetailedHealth, Readiness};
use clowder_schemas::ErrorResponse;
use serde::Serialize;
use utoipa::ToSchema;

use crate::extract::Staff;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Liveness {
    /// Always `ok` while the process serves.
    pub status: &'static str,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/health", tag = "operations", responses((status = 200, body = Liveness)), security(()))]
pub async fn health() -> axum::Json<Liveness> {
    axum::Json(Liveness { status: "ok" })
}

/// Readiness: 200 when the store is open and the actors run, else 503 naming what fails.
#[utoipa::path(
    get, path = "/health/ready", tag = "operations",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness)),
    security(())
)]
pub async fn health_ready(State(state): State<AppState>) -> Response {
    let r = clowder_ops::health::readiness(&state.system);
    let status = if r.is_ready() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, axum::Json(r)).into_response()
}

/// Components, version, store size, last event sequence, uptime and commit latency.
#[utoipa::path(
    get, path = "/health/detailed", tag = "operations",
    responses((status = 200, body = DetailedHealth), (status = 401, body = ErrorResponse))
)]
pub async fn health_detailed(State(state): State<AppState>, _staff: Staff) -> axum::Json<DetailedHealth> {
    axum::Json(clowder_ops::health::detailed(&state.system, &state.config.version, state.backups.as_deref()))
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, content_type = "text/plain", body = String)), security(()))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let body = state.metrics.render(&state.system);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response()
}
