//! The providers' webhooks, public routes with no session: Twilio status callbacks
//! (`/hooks/twilio/status`) and inbound texts (`/hooks/twilio/inbound`), SendGrid's Event
//! Webhook (`/hooks/sendgrid/events`). Each checks the provider's signature over the raw
//! request before reading anything of it (401 `webhook_signature_invalid` otherwise, nothing
//! changed), then hands what it says to `clowder_actors::comms::webhooks`. Rate limited per
//! address like other public routes. See docs/communications.md ("Webhooks").

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use clowder_actors::comms::webhooks::{Report, sendgrid_signature_ok, twilio_signature_ok};
use clowder_schemas::ErrorCode;
use clowder_schemas::ErrorResponse;
use clowder_schemas::consent::ConsentSource;
use clowder_schemas::messages::{Channel, Purpose};

use crate::client_addr::ClientIp;
use crate::error::ApiError;
use crate::state::AppState;

/// Twilio's code for "the recipient has opted out" (replied STOP to the carrier or Twilio).
const TWILIO_UNSUBSCRIBED: &str = "21610";

fn unsigned() -> ApiError {
    ApiError::new(ErrorCode::WebhookSignatureInvalid, "the request's signature is missing or does not match")
}

fn limit(state: &AppState, ip: Option<axum::Extension<ClientIp>>) -> Result<(), ApiError> {
    match ip {
        Some(axum::Extension(ClientIp(ip))) => state.limits.public(ip),
        None => Ok(()),
    }
}

/// The form parameters of a Twilio request, checked against `X-Twilio-Signature` with the
/// configured URL (`base`, its own query replaced by the request's, which carries
/// `clowder_key`): never the Host header, which a caller chooses.
fn twilio_params(
    state: &AppState,
    base: Option<&str>,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<(String, String)>, ApiError> {
    let hooks = state.system.webhooks.config();
    let (Some(token), Some(base)) = (hooks.twilio_auth_token.as_ref(), base) else { return Err(unsigned()) };
    let signature = headers.get("x-twilio-signature").and_then(|v| v.to_str().ok()).ok_or_else(unsigned)?;
    let url = match query.filter(|q| !q.is_empty()) {
        Some(q) => format!("{}?{q}", base.split('?').next().unwrap_or(base)),
        None => base.to_owned(),
    };
    let params: Vec<(String, String)> =
        form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    if !twilio_signature_ok(token.expose(), &url, &params, signature) {
        tracing::warn!("a Twilio webhook with a bad signature was refused");
        return Err(unsigned());
    }
    Ok(params)
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Twilio's delivery status of a text: `delivered` → delivered, `undelivered`/`failed` →
/// bounced (error 21610, the recipient opted out at the carrier, also revokes their SMS
/// consent); the other statuses are ignored.
#[utoipa::path(
    post, path = "/hooks/twilio/status", tag = "webhooks",
    security(()),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "Twilio's status callback parameters (`MessageSid`, `MessageStatus`, `ErrorCode`, …)"),
    responses(
        (status = 204, description = "applied, or nothing to apply"),
        (status = 401, description = "`webhook_signature_invalid`", body = ErrorResponse),
    )
)]
pub async fn hooks_twilio_status(
    State(state): State<AppState>,
    ip: Option<axum::Extension<ClientIp>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    limit(&state, ip)?;
    let hooks = state.system.webhooks.config();
    let params = twilio_params(&state, hooks.twilio_status_url.as_deref(), query.as_deref(), &headers, &body)?;
    let key: Option<String> = query.as_deref().and_then(|q| {
        form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "clowder_key").map(|(_, v)| v.into_owned())
    });
    let status = param(&params, "MessageStatus").or_else(|| param(&params, "SmsStatus")).unwrap_or("");
    let code = param(&params, "ErrorCode").filter(|c| !c.is_empty());
    let report = match status {
        "delivered" => Report::Delivered,
        "undelivered" | "failed" => Report::Bounced {
            reason: match code {
                Some(c) => format!("Twilio reports the text {status} (error {c})"),
                None => format!("Twilio reports the text {status}"),
            },
        },
        _ => return Ok(StatusCode::NO_CONTENT.into_response()),
    };
    let webhooks = &state.system.webhooks;
    let Some(message) = webhooks.find(key.as_deref(), param(&params, "MessageSid"))? else {
        tracing::info!(status, "a Twilio status callback for a message we do not know");
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let revoke: &[(Channel, Purpose, ConsentSource)] = if code == Some(TWILIO_UNSUBSCRIBED) {
        &[
            (Channel::Sms, Purpose::Transactional, ConsentSource::SmsKeyword),
            (Channel::Sms, Purpose::Marketing, ConsentSource::SmsKeyword),
        ]
    } else {
        &[]
    };
    let sid = param(&params, "MessageSid").unwrap_or("?");
    let evidence =
        format!("Twilio status {status} for {sid}{}", code.map(|c| format!(", error {c}")).unwrap_or_default());
    webhooks.report(message.id, Some(report), revoke, &evidence).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// XML text escaping for TwiML.
fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;")
}

fn twiml(message: Option<&str>) -> Response {
    let body = match message {
        Some(m) => {
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>{}</Message></Response>", xml(m))
        }
        None => "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>".to_owned(),
    };
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
}

/// A text sent to the clinic's Twilio number. STOP (STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT,
/// OPTOUT, REVOKE) revokes SMS for every purpose of every client with that number; START
/// (YES, UNSTOP, OPTIN) grants transactional SMS again; HELP (INFO) is answered. The answer
/// is TwiML; other texts get an empty one (they are logged, not kept).
#[utoipa::path(
    post, path = "/hooks/twilio/inbound", tag = "webhooks",
    security(()),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "Twilio's inbound message parameters (`From`, `Body`, `MessageSid`, …)"),
    responses(
        (status = 200, content_type = "text/xml", body = String, description = "TwiML: `<Response><Message>…</Message></Response>` or an empty `<Response/>`"),
        (status = 401, description = "`webhook_signature_invalid`", body = ErrorResponse),
    )
)]
pub async fn hooks_twilio_inbound(
    State(state): State<AppState>,
    ip: Option<axum::Extension<ClientIp>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    limit(&state, ip)?;
    let hooks = state.system.webhooks.config();
    let params = twilio_params(&state, hooks.twilio_inbound_url.as_deref(), query.as_deref(), &headers, &body)?;
    let from = param(&params, "From").unwrap_or("");
    let text = param(&params, "Body").unwrap_or("");
    let sid = param(&params, "MessageSid").or_else(|| param(&params, "SmsSid")).unwrap_or("?");
    let answer = state.system.webhooks.inbound(from, text, sid).await?;
    Ok(twiml(answer.as_deref()))
}

/// SendGrid's Event Webhook (a JSON array of events). `delivered` → delivered; `bounce`
/// (type `bounce`, a hard bounce) → bounced and email consent revoked; `bounce` of type
/// `blocked` and `dropped` → bounced; `spamreport` → marketing email revoked; `deferred`,
/// `processed`, `open`, `click` and the rest are ignored. Events signed more than
/// `CLOWDER_SENDGRID_WEBHOOK_MAX_AGE_SECS` ago are refused (401).
#[utoipa::path(
    post, path = "/hooks/sendgrid/events", tag = "webhooks",
    security(()),
    request_body(content = String, content_type = "application/json", description = "SendGrid's events"),
    responses(
        (status = 204, description = "applied (unknown messages and events are skipped)"),
        (status = 400, description = "`invalid_json`: the body is not an array of events", body = ErrorResponse),
        (status = 401, description = "`webhook_signature_invalid`: missing, wrong or too old", body = ErrorResponse),
    )
)]
pub async fn hooks_sendgrid_events(
    State(state): State<AppState>,
    ip: Option<axum::Extension<ClientIp>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    limit(&state, ip)?;
    let webhooks = &state.system.webhooks;
    let hooks = webhooks.config();
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let (Some(key), Some(sig), Some(ts)) = (
        hooks.sendgrid_key.as_deref(),
        header("x-twilio-email-event-webhook-signature"),
        header("x-twilio-email-event-webhook-timestamp"),
    ) else {
        return Err(unsigned());
    };
    let now = state.system.ctx.clock.now();
    if !sendgrid_signature_ok(key, ts, &body, sig, now, hooks.sendgrid_max_age) {
        tracing::warn!("a SendGrid webhook with a bad or old signature was refused");
        return Err(unsigned());
    }
    let events: Vec<serde_json::Value> = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(ErrorCode::InvalidJson, format!("the body is not an array of events: {e}")))?;
    for e in &events {
        let s = |k: &str| e.get(k).and_then(|v| v.as_str());
        let kind = s("event").unwrap_or("");
        let reason = s("reason").unwrap_or("").chars().take(200).collect::<String>();
        let (report, revoke): (Option<Report>, &[(Channel, Purpose, ConsentSource)]) = match (kind, s("type")) {
            ("delivered", _) => (Some(Report::Delivered), &[]),
            ("bounce", Some("blocked")) | ("dropped", _) => {
                (Some(Report::Bounced { reason: format!("SendGrid: {kind}: {reason}") }), &[])
            }
            ("bounce", _) => (
                Some(Report::Bounced { reason: format!("SendGrid: bounce: {reason}") }),
                &[
                    (Channel::Email, Purpose::Transactional, ConsentSource::Bounce),
                    (Channel::Email, Purpose::Marketing, ConsentSource::Bounce),
                ],
            ),
            ("spamreport", _) => (None, &[(Channel::Email, Purpose::Marketing, ConsentSource::Complaint)]),
            _ => continue,
        };
        let key = s("clowder_key")
            .or_else(|| e.get("custom_args").and_then(|c| c.get("clowder_key")).and_then(|v| v.as_str()));
        // `sg_message_id` is the `X-Message-Id` we recorded, then `.filter…` of SendGrid's own.
        let provider_id = s("sg_message_id").map(|id| id.split('.').next().unwrap_or(id));
        let Some(message) = webhooks.find(key, provider_id)? else { continue };
        let evidence = format!("SendGrid {kind} event {}", s("sg_event_id").unwrap_or("?"));
        webhooks.report(message.id, report, revoke, &evidence).await?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
