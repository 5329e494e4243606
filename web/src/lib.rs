//! Clowder's HTTP surface: the axum router, extractors, the one `ApiError` mapping, the
//! REST handlers and the OpenAPI document generated from the Rust types.
//!
//! No business rules live here: handlers parse and authenticate, call the actors' services,
//! and turn answers (or domain errors, in `error.rs`) into HTTP. Nothing here opens the
//! store or the search index.

pub mod access;
pub mod client_addr;
pub mod error;
pub mod extract;
pub mod ics;
pub mod idempotency;
pub mod limits;
pub mod middleware;
pub mod openapi;
pub mod reply;
pub mod routes;
pub mod state;
pub mod tracking;
pub mod views;
pub mod ws;

use axum::Router;
use axum::extract::DefaultBodyLimit;

pub use state::{AppState, WebConfig};

/// Largest request body accepted (413 beyond).
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The complete application router.
pub fn router(state: AppState) -> Router {
    let (api, mut doc) = openapi::api_router().split_for_parts();
    openapi::add_common_responses(&mut doc);
    // Serialised once, and the document's tree dropped: held as a tree it cost several MiB of
    // the idle server's memory, and every request cloned all of it (about 19 MiB of RSS
    // after one fetch) to answer 1.1 MB of unchanging JSON (docs/performance.md).
    let doc = axum::body::Bytes::from(serde_json::to_vec(&doc).expect("the OpenAPI document serialises"));
    api.route(
        "/api/openapi.json",
        axum::routing::get(move || {
            let doc = doc.clone();
            async move { ([(axum::http::header::CONTENT_TYPE, "application/json")], doc) }
        }),
    )
    // A WebSocket, so not in the OpenAPI document; its protocol is docs/websocket.md.
    .route("/ws", axum::routing::get(ws::upgrade))
    // The staff pages (server-rendered screens, CSS, ES modules), not API routes either.
    .route("/", axum::routing::get(routes::pages::home))
    .route("/signin", axum::routing::get(routes::pages::signin))
    .route("/board", axum::routing::get(routes::pages::board))
    .route("/tablet", axum::routing::get(routes::pages::tablet))
    .route("/clients", axum::routing::get(routes::pages::clients))
    .route("/clients/{id}", axum::routing::get(routes::pages::client))
    .route("/patients", axum::routing::get(routes::pages::patients))
    .route("/patients/{id}", axum::routing::get(routes::pages::patient))
    .route("/visits/{id}", axum::routing::get(routes::pages::visit))
    .route("/consents/{id}/sign", axum::routing::get(routes::pages::consent_sign))
    .route("/documents/rows", axum::routing::get(routes::record_documents::document_rows))
    .route("/tablet/chart", axum::routing::get(routes::pages::tablet_chart))
    .route("/messages", axum::routing::get(routes::pages::messages))
    .route("/messages/{id}", axum::routing::get(routes::pages::message))
    .route("/messages/templates", axum::routing::get(routes::pages::templates))
    .route("/messages/templates/{id}", axum::routing::get(routes::pages::template))
    .route("/messages/bulk", axum::routing::get(routes::pages::bulk))
    .route("/messages/dashboard", axum::routing::get(routes::pages::dashboard))
    .route("/jobs", axum::routing::get(routes::pages::jobs))
    .route("/messages/analytics", axum::routing::get(routes::pages::analytics))
    .route("/messages/segments", axum::routing::get(routes::pages::segments))
    .route("/messages/segments/{id}", axum::routing::get(routes::pages::segment))
    .route("/messages/campaigns", axum::routing::get(routes::pages::campaigns))
    .route("/messages/campaigns/{id}", axum::routing::get(routes::pages::campaign))
    .route("/inventory", axum::routing::get(routes::inventory::inventory_page))
    .route("/wards", axum::routing::get(routes::wards::wards_page))
    .route("/wards/{id}", axum::routing::get(routes::wards::ward_page))
    .route("/wards/{id}/display", axum::routing::get(routes::wards::ward_display))
    .route("/wards/{id}/tablet", axum::routing::get(routes::wards::ward_tablet))
    .route("/labs", axum::routing::get(routes::labs::labs_page))
    .route("/labs/orders/{id}", axum::routing::get(routes::labs::lab_order_page))
    .route("/labs/unmatched", axum::routing::get(routes::labs::lab_unmatched_page))
    .route("/inventory/purchase-orders/{id}", axum::routing::get(routes::inventory::purchase_order_page))
    .route("/estimates", axum::routing::get(routes::pages::estimates))
    .route("/estimates/new", axum::routing::get(routes::pages::estimate_new))
    .route("/estimates/{id}", axum::routing::get(routes::pages::estimate))
    .route("/payment-plans/new", axum::routing::get(routes::pages::payment_plan_new))
    .route("/payment-plans/{id}", axum::routing::get(routes::pages::payment_plan))
    .route("/protocols", axum::routing::get(routes::protocols::protocols_page))
    .route("/protocols/new", axum::routing::get(routes::protocols::protocol_new_page))
    .route("/protocols/{id}", axum::routing::get(routes::protocols::protocol_page))
    .route("/treatment-plans/{id}", axum::routing::get(routes::pages::treatment_plan))
    .route("/reports", axum::routing::get(routes::pages::reports))
    .route("/invoices", axum::routing::get(routes::pages::invoices))
    .route("/invoices/{id}", axum::routing::get(routes::pages::invoice))
    .route("/clients/{id}/account", axum::routing::get(routes::pages::account))
    .route("/loyalty", axum::routing::get(routes::pages::loyalty_settings))
    .route("/accounting", axum::routing::get(routes::pages::accounting))
    .route("/assets/{file}", axum::routing::get(routes::pages::asset))
    // Pages for clients, without signing in (signed links).
    .route(
        "/l/unsubscribe/{token}",
        axum::routing::get(routes::unsubscribe::unsubscribe_page).post(routes::unsubscribe::unsubscribe_confirm),
    )
    .route(
        "/l/subscribe/{token}",
        axum::routing::get(routes::subscribe::subscribe_page).post(routes::subscribe::subscribe_confirm),
    )
    .fallback(middleware::not_found)
    .method_not_allowed_fallback(middleware::method_not_allowed)
    .layer(axum::middleware::from_fn_with_state(state.clone(), idempotency::idempotent))
    .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
    .layer(axum::middleware::from_fn_with_state(state.clone(), access::authorize))
    .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::require_session))
    .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::csrf))
    .layer(tower_http::catch_panic::CatchPanicLayer::custom(middleware::panicked))
    .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::observe))
    // Outside `idempotent`, so a stored answer is the plain one and a replay is compressed
    // afresh for whoever asks again.
    .layer(compression())
    .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::headers))
    .with_state(state)
}

/// Answers at least this large are gzipped for clients that accept it; below it the header
/// and CPU cost more than the bytes saved.
pub const COMPRESS_ABOVE_BYTES: u16 = 1024;

/// gzip at the fastest level, for JSON and HTML answers of [`COMPRESS_ABOVE_BYTES`] or more
/// (the day view, availability, lists, pages). Never for `/ws` (an upgrade has no body) or
/// anything else (assets, calendars, event streams).
fn compression() -> tower_http::compression::CompressionLayer<impl tower_http::compression::Predicate> {
    use tower_http::compression::predicate::{Predicate as _, SizeAbove};
    let json_or_html = |_: axum::http::StatusCode,
                        _: axum::http::Version,
                        headers: &axum::http::HeaderMap,
                        _: &axum::http::Extensions| {
        headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("application/json") || t.starts_with("text/html"))
    };
    tower_http::compression::CompressionLayer::new()
        .quality(tower_http::CompressionLevel::Fastest)
        .compress_when(SizeAbove::new(COMPRESS_ABOVE_BYTES).and(json_or_html))
}
