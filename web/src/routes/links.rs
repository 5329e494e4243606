//! The public pages of the signed links in automated messages: `/l/confirm`, `/l/cancel`,
//! `/l/reschedule` and `/l/offer` `/{token}`. A GET shows a small page with one button and
//! changes nothing (mail systems' link scanners follow links); the button POSTs, which acts.
//! A link that expired or whose appointment or offer moved on answers 410, one that is not
//! ours 404: both are pages for a client, not API errors, so the status comes from the page's
//! outcome here. No session is needed: the token is the authority. A POST is idempotent with
//! the link as its key (see [`link_act`]).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use clowder_actors::comms::automations::links::{LINK_KEY, LinkPage, LinkStatus, link_principal};
use clowder_actors::comms::links::LinkPurpose;
use clowder_actors::idempotency::{Begin, Idempotency, WAIT_FOR_FIRST};
use clowder_schemas::idempotency::{HEADER, StoredAnswer, parse_key};
use tracing::Instrument;

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

const HTML: &str = "text/html; charset=utf-8";

fn status_of(page: &LinkPage) -> StatusCode {
    match page.status {
        LinkStatus::Ok => StatusCode::OK,
        LinkStatus::Gone => StatusCode::GONE,
        LinkStatus::NotFound => StatusCode::NOT_FOUND,
    }
}

fn render(page: &LinkPage) -> Response {
    respond(page, page_html(page))
}

fn respond(page: &LinkPage, html: String) -> Response {
    (status_of(page), [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

fn page_html(page: &LinkPage) -> String {
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
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><meta name=\"robots\" content=\"noindex\"><title>{title}</title></head>\
<body style=\"margin:0;background:#f6f3ee;font-family:Helvetica,Arial,sans-serif;color:#2d2a26;\"><main style=\"max-width:480px;margin:0 auto;padding:24px 16px;\">\
<p style=\"font-weight:bold;color:#7a4e2d;\">{clinic}</p><h1 style=\"font-size:24px;\">{title}</h1><p>{message}</p>{button}{phone}</main></body></html>",
        title = escape(&page.title),
        clinic = escape(&page.clinic_name),
        message = escape(&page.message),
    )
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

/// Does what the link says (the page's button). Every POST of one link is one idempotent
/// request: the link is the key (principal `link:<sha256 of the token>`, key `link`), so a
/// repeat, with or without an `Idempotency-Key` header, replays the first answer
/// (`Idempotent-Replayed: true`) and never acts twice; two at once wait for the first.
#[utoipa::path(
    post, path = "/l/{purpose}/{token}", tag = "communications",
    params(("purpose" = String, Path, description = "confirm, cancel, reschedule or offer"), ("token" = String, Path)),
    responses((status = 200, description = "done (or the first answer again)"), (status = 404, description = "not a link of ours"), (status = 409, description = "the same link is being handled; retry"), (status = 410, description = "expired, used or no longer open; nothing changed"))
)]
pub async fn link_act(
    State(state): State<AppState>,
    Visitor(caller): Visitor,
    Path((purpose, token)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(p) = purpose_of(&purpose) else { return Ok(StatusCode::NOT_FOUND.into_response()) };
    // A malformed header is refused as on every other POST; a valid one adds nothing the
    // link's own key does not give (a different key must not let a link act twice).
    if let Some(raw) = headers.get(HEADER) {
        parse_key(raw.as_bytes())?;
    }
    let principal = link_principal(&token);
    let fingerprint = Idempotency::fingerprint("POST", &format!("/l/{purpose}/{token}"), &principal, b"");
    let service = state.system.idempotency.clone();
    let attempt = match service.begin(&principal, LINK_KEY, &fingerprint, WAIT_FOR_FIRST).await? {
        Begin::Run(attempt) => attempt,
        Begin::Replay(answer) => return Ok(replay(answer)),
        Begin::InProgress | Begin::Reused => {
            let page = state.system.automations.busy_page();
            let mut res = render(&page);
            *res.status_mut() = StatusCode::CONFLICT;
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return Ok(res);
        }
        Begin::AnswerLost { .. } => return Ok(render(&state.system.automations.used_page())),
    };
    let mut visitor = caller;
    visitor.idempotency = Some(attempt.claim().clone());
    let automations = state.system.automations.clone();
    // Spawned and tracked, like the middleware's attempts: a visitor who hangs up cannot stop
    // the attempt between its commit and the storing of its answer.
    let run = async move {
        let page = automations.link_act(p, &token, &visitor).await?;
        let html = page_html(&page);
        let answer = StoredAnswer {
            status: status_of(&page).as_u16(),
            content_type: Some(HTML.to_owned()),
            location: None,
            body: html.clone().into_bytes(),
        };
        if let Err(e) = service.finish(attempt, answer).await {
            tracing::error!(error = %e, "could not store the answer of a link's POST");
        }
        Ok::<Response, ApiError>(respond(&page, html))
    };
    match state.system.ctx.tasks.spawn(run.instrument(tracing::Span::current())).await {
        Ok(res) => res,
        Err(e) => {
            tracing::error!(error = %e, "a link's POST failed");
            Err(ApiError::from(clowder_actors::Error::Internal("the request failed".into())))
        }
    }
}

/// A stored answer again, marked as a replay.
fn replay(answer: StoredAnswer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut res = (status, answer.body).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(HTML));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(crate::idempotency::REPLAYED_HEADER, HeaderValue::from_static("true"));
    res
}
