//! The small pages a client reaches from a link in a message without signing in
//! (unsubscribe, newsletter confirmation): one plain HTML shape, never cached, and the
//! per-address limit public routes share.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::client_addr::ClientIp;
use crate::error::ApiError;
use crate::state::AppState;

/// Text for HTML: the five characters that could open markup or leave an attribute.
pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// A page with the clinic's name, a title and `body` (HTML the caller built and escaped).
pub(crate) fn page(status: StatusCode, clinic: &str, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><meta name=\"robots\" content=\"noindex\">\
         <title>{t} · {c}</title></head><body><main><h1>{c}</h1><h2>{t}</h2>{body}</main></body></html>",
        t = escape(title),
        c = escape(clinic),
    );
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], html)
        .into_response()
}

/// The per-address limit of public writes (`Limits::public`); no address known, no limit.
pub(crate) fn limited(state: &AppState, ip: &Option<axum::Extension<ClientIp>>) -> Result<(), ApiError> {
    match ip {
        Some(axum::Extension(ClientIp(ip))) => state.limits.public(*ip),
        None => Ok(()),
    }
}
