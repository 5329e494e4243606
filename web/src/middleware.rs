//! Cross-cutting request handling: request ids, the client's address, structured request
//! logs, metrics by route template, error tracking of 5xx answers, the authentication gate
//! of `/api/`, and response headers.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use crate::error::ApiError;
use crate::extract::authenticate;
use crate::state::AppState;

pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Routes under `/api/` that answer without a session.
fn is_public_api(path: &str) -> bool {
    path == "/api/auth/login"
        || path == "/api/auth/pin-unlock"
        || path.starts_with("/api/public/")
        || path == "/api/communications/newsletter/subscribe"
}

/// A request id: the caller's `x-request-id` when it is short and plain, else a new one.
fn request_id(req: &Request) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)))
        .map(str::to_owned)
        .unwrap_or_else(|| clowder_actors::secrets::random_secret(12))
}

/// Request id, the client's address, the request's log span, access log, metrics (inside
/// `headers`), and with error tracking on, the request's Sentry hub and the report of a 5xx.
pub async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(&req);
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |m| m.as_str()).to_owned();
    let span = tracing::info_span!("request", request_id = %id, method = %method, route = %route);
    let mut req = req;
    req.extensions_mut().insert(crate::extract::RequestId(id.clone()));
    if let Some(peer) = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()) {
        let ip = crate::client_addr::client_ip(peer, req.headers(), &state.config.trusted_proxies);
        req.extensions_mut().insert(crate::client_addr::ClientIp(ip));
    }
    // A signed link's token (`/l/<purpose>/<token>`) lets its holder act: log the route, not it.
    let path = if route.starts_with("/l/") { route.clone() } else { req.uri().path().to_owned() };
    let handled = async move {
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
    .instrument(span);
    let mut res = if state.config.error_tracking {
        // A hub of the request's own, so a panic in the handler is reported with its tags.
        let hub = crate::tracking::request_hub(&id, method.as_str(), &route);
        let res = sentry::SentryFutureExt::bind_hub(handled, hub.clone()).await;
        let code = res.extensions().get::<clowder_schemas::ErrorCode>().copied();
        // Only errors (a code of ours) count: `/health/ready`'s 503 is a health result.
        if res.status().is_server_error()
            && code.is_some()
            && res.extensions().get::<crate::tracking::Panicked>().is_none()
        {
            crate::tracking::report_status(&hub, method.as_str(), &route, res.status().as_u16(), code);
        }
        res
    } else {
        handled.await
    };
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

/// Content-Security-Policy of API answers: nothing may load, nothing may frame them.
const CSP_API: &str = "default-src 'none'; frame-ancestors 'none'";
/// Content-Security-Policy of pages: only this origin's own scripts and styles; no inline
/// script, no framing, no plugins.
const CSP_PAGES: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Response headers for every answer. API answers carry personal and medical data: never
/// cached, never framed, never sniffed. Over TLS, browsers are told to stay on HTTPS. No
/// header names the server or its version.
pub async fn headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(if api { CSP_API } else { CSP_PAGES }));
    if api {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if state.config.tls {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    h.remove(header::SERVER);
    res
}

/// The origin (`scheme://host[:port]`) of a URL, lower-cased.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty()).then(|| format!("{}://{}", scheme.to_ascii_lowercase(), host.to_ascii_lowercase()))
}

/// Whether an `Origin` is one of the clinic's own (`CLOWDER_PUBLIC_ORIGIN`).
pub(crate) fn origin_allowed(state: &AppState, origin: &str) -> bool {
    state.config.allowed_origins.iter().any(|a| a.eq_ignore_ascii_case(origin.trim_end_matches('/')))
}

/// CSRF defence for state-changing requests (with SameSite=Strict cookies as the first
/// line). A request authenticated by the session cookie must come from one of the
/// configured origins, shown by `Origin` or, failing that, `Referer`; bearer-token requests
/// (tablets, integrations) cannot be forged by a browser and are exempt. Requests without
/// credentials (sign-in) are refused only when they name a foreign origin, so the real UI
/// and command-line clients can always sign in.
pub async fn csrf(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    // Signed links and providers' webhooks authenticate by what the request carries (the
    // link's token, the provider's signature), never by a session, so no ambient credential
    // can be abused; and a mail client's one-click unsubscribe may name its own origin.
    let path = req.uri().path();
    if path.starts_with("/l/") || path.starts_with("/hooks/") {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let source = crate::extract::session_token(&parts).map(|(_, s)| s);
    let named = parts
        .headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| parts.headers.get(header::REFERER).and_then(|v| v.to_str().ok()).and_then(origin_of));
    let allowed = |o: &str| origin_allowed(&state, o);
    let ok = match (source, named.as_deref()) {
        (Some(crate::extract::TokenSource::Bearer), _) => true,
        (Some(crate::extract::TokenSource::Cookie), Some(o)) => allowed(o),
        (Some(crate::extract::TokenSource::Cookie), None) => false,
        (None, Some(o)) => allowed(o),
        (None, None) => true,
    };
    if !ok {
        tracing::warn!(origin = ?named, "state-changing request from a foreign or unknown origin refused");
        return ApiError::new(
            clowder_schemas::ErrorCode::CsrfRejected,
            "this request did not come from the clinic's own pages (Origin check)",
        )
        .into_response();
    }
    next.run(Request::from_parts(parts, body)).await
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
    let mut res = ApiError::new(
        clowder_schemas::ErrorCode::InternalError,
        "something went wrong on our side; it has been logged",
    )
    .into_response();
    // Sentry's panic hook has reported it already, with the request's tags.
    res.extensions_mut().insert(crate::tracking::Panicked);
    res
}
