//! The public pages of the signed links in automated messages: `/l/confirm`, `/l/cancel`,
//! `/l/reschedule` and `/l/offer` `/{token}`. A GET shows a small page with one button and
//! changes nothing (mail systems' link scanners follow links); the button POSTs, which acts.
//! A link that expired or whose appointment or offer moved on answers 410, one that is not
//! ours 404: both are pages for a client, not API errors, so the status comes from the page's
//! outcome here. No session is needed: the token is the authority.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use clowder_actors::comms::automations::links::{LinkPage, LinkStatus};
use clowder_actors::comms::links::LinkPurpose;

use crate::error::ApiError;
use crate::extract::Visitor;
use crate::state::AppState;

fn purpose_of(prefix: &str) -> Option<LinkPurpose> {
    [
        LinkPurpose::ConfirmAppointment,
        LinkPurpose::CancelAppointment,
        LinkPurpose::RescheduleAppointment,
        LinkPurpose::AcceptOffer,
    ]
    .into_iter()
    .find(|p| p.prefix() == prefix)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn render(page: &LinkPage) -> Response {
    let status = match page.status {
        LinkStatus::Ok => StatusCode::OK,
        LinkStatus::Gone => StatusCode::GONE,
        LinkStatus::NotFound => StatusCode::NOT_FOUND,
    };
    let button = page
        .button
        .as_deref()
        .map(|b| {
            format!(
                "<form method=\"post\"><button type=\"submit\" style=\"width:100%;min-height:48px;font-size:18px;border:0;border-radius:8px;background:#7a4e2d;color:#fff;\">{}</button></form>",
                escape(b)
            )
        })
        .unwrap_or_default();
    let phone = page.clinic_phone.as_deref().map(|p| format!("<p>{}</p>", escape(p))).unwrap_or_default();
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><meta name=\"robots\" content=\"noindex\"><title>{title}</title></head>\
<body style=\"margin:0;background:#f6f3ee;font-family:Helvetica,Arial,sans-serif;color:#2d2a26;\"><main style=\"max-width:480px;margin:0 auto;padding:24px 16px;\">\
<p style=\"font-weight:bold;color:#7a4e2d;\">{clinic}</p><h1 style=\"font-size:24px;\">{title}</h1><p>{message}</p>{button}{phone}</main></body></html>",
        title = escape(&page.title),
        clinic = escape(&page.clinic_name),
        message = escape(&page.message),
    );
    (status, [(axum::http::header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

/// What the link would do (changes nothing).
#[utoipa::path(
    get, path = "/l/{purpose}/{token}", tag = "communications",
    params(("purpose" = String, Path, description = "confirm, cancel, reschedule or offer"), ("token" = String, Path)),
    responses((status = 200, description = "the page with its button"), (status = 404, description = "not a link of ours"), (status = 410, description = "expired, used or no longer open"))
)]
pub async fn link_page(
    State(state): State<AppState>,
    Path((purpose, token)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let Some(p) = purpose_of(&purpose) else { return Ok(StatusCode::NOT_FOUND.into_response()) };
    Ok(render(&state.system.automations.link_page(p, &token)?))
}

/// Does what the link says (the page's button).
#[utoipa::path(
    post, path = "/l/{purpose}/{token}", tag = "communications",
    params(("purpose" = String, Path, description = "confirm, cancel, reschedule or offer"), ("token" = String, Path)),
    responses((status = 200, description = "done"), (status = 404, description = "not a link of ours"), (status = 410, description = "expired, used or no longer open; nothing changed"))
)]
pub async fn link_act(
    State(state): State<AppState>,
    Visitor(caller): Visitor,
    Path((purpose, token)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let Some(p) = purpose_of(&purpose) else { return Ok(StatusCode::NOT_FOUND.into_response()) };
    Ok(render(&state.system.automations.link_act(p, &token, caller.ip, caller.user_agent).await?))
}
