//! `/api/messages` (the message log, `communications:view`) and `POST
//! /api/communications/test` (administrators: a test email or text through the configured
//! provider, queued like every message). See docs/communications.md.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use clowder_actors::comms::messages::{MessageFilter, NewMessage, Recipient};
use clowder_schemas::messages::{Channel, Message, MessageStatus, Purpose};
use clowder_schemas::pagination::{Page, PageRequest};
use clowder_schemas::values::{Email, Phone};
use clowder_schemas::{ClientId, ErrorResponse, MessageId, ValidationError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;
use crate::extract::{Id, Json, Query, Staff};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessagesQuery {
    /// A client's id: only the messages sent to them.
    pub client: Option<String>,
    /// `queued`, `sent`, `failed` or `dead`.
    pub status: Option<String>,
    /// `email` or `sms`.
    pub channel: Option<String>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn filter(q: &MessagesQuery) -> Result<MessageFilter, ValidationError> {
    let client_id = given(&q.client)
        .map(|c| c.parse::<ClientId>().map_err(|_| ValidationError::new("client", "must be a client id")))
        .transpose()?;
    let status = given(&q.status)
        .map(|s| {
            MessageStatus::parse(s)
                .ok_or_else(|| ValidationError::new("status", "must be queued, sent, failed or dead"))
        })
        .transpose()?;
    let channel = given(&q.channel)
        .map(|c| Channel::parse(c).ok_or_else(|| ValidationError::new("channel", "must be email or sms")))
        .transpose()?;
    Ok(MessageFilter { client_id, status, channel })
}

/// Messages, newest first, filtered by client, status and channel.
#[utoipa::path(
    get, path = "/api/messages", tag = "communications",
    params(MessagesQuery),
    responses(
        (status = 200, body = Page<Message>),
        (status = 422, description = "`validation_failed`: an unknown status or channel, a malformed client or cursor", body = ErrorResponse),
    )
)]
pub async fn messages_list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<MessagesQuery>,
) -> Result<axum::Json<Page<Message>>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let f = filter(&q)?;
    let (items, next) = state.system.messages.list(&f, page.limit, page.after, &staff.caller).await?;
    Ok(axum::Json(Page::new(items, next)))
}

/// One message.
#[utoipa::path(
    get, path = "/api/messages/{id}", tag = "communications",
    params(("id" = MessageId, Path)),
    responses((status = 200, body = Message), (status = 404, description = "`message_not_found`", body = ErrorResponse))
)]
pub async fn messages_get(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<MessageId>,
) -> Result<axum::Json<Message>, ApiError> {
    Ok(axum::Json(state.system.messages.get(id, &staff.caller).await?))
}

/// A test message to send.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestMessage {
    /// `email` or `sms`.
    pub channel: String,
    /// An email address (email) or a phone number (sms).
    pub to: String,
}

/// The queued test message.
#[derive(Debug, Serialize, ToSchema)]
pub struct Queued {
    pub message_id: MessageId,
}

/// Send a test email or text through the configured provider (queued; answers at once).
#[utoipa::path(
    post, path = "/api/communications/test", tag = "communications",
    request_body = TestMessage,
    responses(
        (status = 202, body = Queued),
        (status = 422, description = "`validation_failed`: an unknown channel, a malformed address or number", body = ErrorResponse),
    )
)]
pub async fn communications_test(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<TestMessage>,
) -> Result<Response, ApiError> {
    let system = &state.system;
    let to = match Channel::parse(body.channel.trim()) {
        Some(Channel::Email) => Recipient::Email(Email::parse("to", &body.to)?),
        Some(Channel::Sms) => Recipient::Sms(Phone::parse("to", &body.to, &system.ctx.config.country_code)?),
        None => return Err(ValidationError::new("channel", "must be email or sms").into()),
    };
    let text = "This is a test message from Clowder: the provider is set up.".to_owned();
    let new = NewMessage {
        to,
        client_id: None,
        subject: Some("Clowder test message".into()),
        text,
        html: None,
        idempotency_key: format!("test:{}", system.ctx.new_ulid()),
        due_at: None,
        purpose: Purpose::Transactional,
        template: None,
        automation: None,
    };
    let id = system.messages.send(new, &staff.caller).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(Queued { message_id: id })).into_response())
}
