//! The public routes of email tracking: `GET /l/open/{token}` (the open pixel) and
//! `GET /l/click/{token}/{n}` (a tracked link's redirect). No session: the signed token is the
//! authority, and it names only a message. See docs/communications.md "Analytics".
//!
//! The pixel answers its GIF whatever happens (a bad token, a store error, the rate limit):
//! mail clients show a broken image otherwise. Over the per-address limit of public routes
//! nothing is recorded, but the pixel and the redirect are still answered: a mail provider's
//! image proxy speaks for many readers from one address. A HEAD answers the same and counts
//! nothing (link checkers), and so does a request with staff's credentials (a stored message
//! shown on a staff screen loads its pixel from our origin).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use clowder_actors::comms::tracking::{ClickTarget, PIXEL_GIF};

use crate::client_addr::ClientIp;
use crate::state::AppState;

/// Whether the request carries a staff member's credentials (the session cookie or a bearer
/// token): staff looking at a stored message's HTML load its pixel from our own origin, and a
/// client's mail client never holds our session. Presence is enough: nothing is granted.
fn from_staff(headers: &HeaderMap) -> bool {
    headers.contains_key(header::AUTHORIZATION)
        || headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).any(|v| {
            v.split(';')
                .any(|pair| pair.trim().split_once('=').is_some_and(|(k, _)| k == crate::extract::SESSION_COOKIE))
        })
}

fn within_limit(state: &AppState, ip: &Option<axum::Extension<ClientIp>>) -> bool {
    match ip {
        Some(axum::Extension(ClientIp(ip))) => state.limits.public(*ip).is_ok(),
        None => true,
    }
}

/// The open pixel: a 1×1 transparent GIF, never cached (each load is an open).
#[utoipa::path(
    get, path = "/l/open/{token}", tag = "communications",
    params(("token" = String, Path)),
    responses((status = 200, description = "a 1×1 transparent GIF, whatever the token", content_type = "image/gif"))
)]
pub async fn open_pixel(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    ip: Option<axum::Extension<ClientIp>>,
    Path(token): Path<String>,
) -> Response {
    // A HEAD (link checkers, some scanners) loads no image: not an open; nor is staff's view.
    let record = method == Method::GET && !from_staff(&headers) && within_limit(&state, &ip);
    state.system.tracking.open(&token, record).await;
    (StatusCode::OK, [(header::CONTENT_TYPE, "image/gif"), (header::CACHE_CONTROL, "no-store")], PIXEL_GIF.as_slice())
        .into_response()
}

fn page(status: StatusCode, clinic: &str, title: &str) -> Response {
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><meta name=\"robots\" content=\"noindex\"><title>{title}</title></head>\
<body style=\"margin:0;background:#f6f3ee;font-family:Helvetica,Arial,sans-serif;color:#2d2a26;\"><main style=\"max-width:480px;margin:0 auto;padding:24px 16px;\">\
<p style=\"font-weight:bold;color:#7a4e2d;\">{clinic}</p><h1 style=\"font-size:24px;\">{title}</h1></main></body></html>",
        title = esc(title),
        clinic = esc(clinic),
    );
    (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

/// A tracked link: records the click and redirects to the link's original URL. Only URLs kept
/// on the message can be targets (no open redirect).
#[utoipa::path(
    get, path = "/l/click/{token}/{n}", tag = "communications",
    params(("token" = String, Path), ("n" = String, Path, description = "the link's index in the message")),
    responses(
        (status = 302, description = "to the link's original URL"),
        (status = 404, description = "not a link of ours (a page; no redirect)"),
        (status = 410, description = "the link expired (a page; no redirect)"),
    )
)]
pub async fn click_redirect(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    ip: Option<axum::Extension<ClientIp>>,
    Path((token, n)): Path<(String, String)>,
) -> Response {
    let record = method == Method::GET && !from_staff(&headers) && within_limit(&state, &ip);
    let clinic = &state.system.ctx.config.comms.clinic.name;
    match state.system.tracking.click(&token, &n, record).await {
        ClickTarget::Url(url) => match header::HeaderValue::from_str(&url) {
            Ok(to) => (
                StatusCode::FOUND,
                [(header::LOCATION, to), (header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"))],
            )
                .into_response(),
            // A URL that cannot be a header was never a working link.
            Err(_) => page(StatusCode::NOT_FOUND, clinic, "This link does not work"),
        },
        ClickTarget::NotFound => page(StatusCode::NOT_FOUND, clinic, "This link does not work"),
        ClickTarget::Expired => page(StatusCode::GONE, clinic, "This link has expired"),
    }
}
