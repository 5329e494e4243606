//! Cross-cutting request handling: request ids and structured request logs, metrics by
//! route template, the authentication gate of `/api/`, and response headers.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use crate::error::ApiError;
use crate::extract::authenticate;
use crate::state::AppState;

pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Routes under `/api/` that answer without a session.
fn is_public_api(path: &str) -> bool {
    path == "/api/auth/login" || path.starts_with("/api/public/")
}

/// A request id: the caller's `x-request-id` when it is short and plain, else a new one.
fn request_id(req: &Request) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)))
        .map(str::to_owned)
        .unwrap_or_else(|| clowder_actors::accounts::random_secret(12))
}

/// Request id, the request's log span, access log, metrics (inside `headers`).
pub async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(&req);
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |m| m.as_str()).to_owned();
    let span = tracing::info_span!("request", request_id = %id, method = %method, route = %route);
    let mut req = req;
    req.extensions_mut().insert(crate::extract::RequestId(id.clone()));
    let mut res = async move {
        let path = req.uri().path().to_owned();
        let res = next.run(req).await;
        let status = res.status().as_u16();
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        if res.status().is_server_error() {
            tracing::error!(path, status, latency_ms = ms, "request finished");
        } else {
            tracing::info!(path, status, latency_ms = ms, "request finished");
        }
        res
    }
    .instrument(span)
    .await;
    state.metrics.http.observe(method.as_str(), &route, res.status().as_u16(), started.elapsed().as_secs_f64());
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID.clone(), v);
    }
    res
}

/// Every `/api/` route except sign-in (and future `/api/public/` routes) needs a session,
/// known route or not, so an unauthenticated caller learns nothing about the API's shape.
pub async fn require_session(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if !path.starts_with("/api/") || is_public_api(path) {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    match authenticate(&parts, &state) {
        Ok(staff) => {
            parts.extensions.insert(staff);
            next.run(Request::from_parts(parts, body)).await
        }
        Err(e) => e.into_response(),
    }
}

/// Response headers for every answer. API answers carry personal and medical data: never
/// cached, never framed, never sniffed.
pub async fn headers(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"));
    if api {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// Answers of unknown routes: 404 in the one error shape.
pub async fn not_found() -> ApiError {
    ApiError::new(clowder_schemas::ErrorCode::NotFound, "no such route")
}

/// Answers of known routes called with a method they do not support.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(clowder_schemas::ErrorCode::MethodNotAllowed, "this route does not support that method")
}

/// A panic in a handler or extractor: answer 500 in the one error shape (logged, inside the
/// request's span) instead of dropping the connection.
pub fn panicked(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-text panic".into());
    tracing::error!(panic = %what, "handler panicked");
    ApiError::new(clowder_schemas::ErrorCode::InternalError, "something went wrong on our side; it has been logged")
        .into_response()
}
