//! `/api/communications/...`: what staff send by hand and what they read about it. One
//! message to one client (`send`, `communications:send`), a template to many clients
//! (`send-batch`, `communications:send`) and a batch's progress with its partial-failure
//! report (`batches/{id}`), the message log with more filters than `/api/messages` (`log`),
//! the templates (`templates`, the same list as `/api/templates`) and the delivery
//! statistics of a date range (`stats`). See docs/communications.md, "Staff features".

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use clowder_actors::comms::batches::{BatchRequest, Content, SendRequest};
use clowder_actors::comms::stats::LogFilter;
use clowder_schemas::batches::{Audience, BatchReport, BatchStarted, CommsStats, SendBatch, SendToClient};
use clowder_schemas::messages::{Channel, Message, MessageStatus};
use clowder_schemas::pagination::{Page, PageRequest};
use clowder_schemas::templates::{Template, TemplateListQuery};
use clowder_schemas::{BatchId, ClientId, ErrorResponse, TemplateId, ValidationError};
use jiff::civil::Date;
use serde::Deserialize;
use utoipa::IntoParams;

use super::messages::Queued;
use crate::error::ApiError;
use crate::extract::{Id, Json, Query, Staff};
use crate::state::AppState;

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn channel(field: &str, v: &Option<String>) -> Result<Option<Channel>, ValidationError> {
    given(v).map(|c| Channel::parse(c).ok_or_else(|| ValidationError::new(field, "must be email or sms"))).transpose()
}

fn template_id(v: &str) -> Result<TemplateId, ValidationError> {
    v.trim().parse().map_err(|_| ValidationError::new("template_id", "must be a template id"))
}

/// Send one message to one client: a template rendered with the client's values (and
/// `values`), or typed content. Queued at once with its job; answers 202.
#[utoipa::path(
    post, path = "/api/communications/send", tag = "communications",
    request_body = SendToClient,
    responses(
        (status = 202, body = Queued),
        (status = 422, description = "`validation_failed`, naming the field: an unknown or deactivated client, an unknown or inactive template, no address on the channel, a variable without a value, typed content missing", body = ErrorResponse),
    )
)]
pub async fn communications_send(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<SendToClient>,
) -> Result<Response, ApiError> {
    let client_id: ClientId =
        body.client_id.trim().parse().map_err(|_| ValidationError::new("client_id", "must be a client id"))?;
    let channel = channel("channel", &body.channel)?;
    let content = match given(&body.template_id) {
        Some(t) => {
            for (field, v) in [("subject", &body.subject), ("text", &body.text), ("html", &body.html)] {
                if v.is_some() {
                    return Err(ValidationError::new(field, "give a template or typed content, not both").into());
                }
            }
            Content::Template { id: template_id(t)?, values: body.values }
        }
        None => {
            if !body.values.is_empty() {
                return Err(ValidationError::new("values", "values are for templates").into());
            }
            let text =
                given(&body.text).ok_or_else(|| ValidationError::new("text", "is required without a template"))?;
            Content::Typed { subject: body.subject, text: text.to_owned(), html: body.html }
        }
    };
    let id = state.system.batches.send(SendRequest { client_id, channel, content }, &staff.caller).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(Queued { message_id: id })).into_response())
}

/// Send a template to many clients: the clients named (up to 5,000) or every active client
/// with an address on the template's channel. Answers 202 with the batch; its messages are
/// queued in chunks of 200, and `GET /api/communications/batches/{id}` shows the progress.
#[utoipa::path(
    post, path = "/api/communications/send-batch", tag = "communications",
    request_body = SendBatch,
    responses(
        (status = 202, body = BatchStarted),
        (status = 422, description = "`validation_failed`, naming the field: an unknown or inactive template, no clients or too many, a segment id that names none (or an empty segment, or one over 5,000 clients), a variable without a value", body = ErrorResponse),
    )
)]
pub async fn communications_send_batch(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<SendBatch>,
) -> Result<Response, ApiError> {
    let template_id = template_id(&body.template_id)?;
    let segment_id = given(&body.segment_id)
        .map(|s| s.parse().map_err(|_| ValidationError::new("segment_id", "must be a segment id")))
        .transpose()?;
    let audience = body.audience.unwrap_or(if segment_id.is_some() { Audience::Segment } else { Audience::Clients });
    if audience != Audience::Clients && !body.client_ids.is_empty() {
        return Err(ValidationError::new("client_ids", "name clients only with audience `clients`").into());
    }
    if audience != Audience::Segment && segment_id.is_some() {
        return Err(ValidationError::new("segment_id", "name a segment only with audience `segment`").into());
    }
    let mut client_ids = Vec::with_capacity(body.client_ids.len());
    for (i, c) in body.client_ids.iter().enumerate() {
        client_ids.push(
            c.trim().parse().map_err(|_| ValidationError::new(format!("client_ids[{i}]"), "must be a client id"))?,
        );
    }
    let req = BatchRequest { template_id, audience, client_ids, segment_id, values: body.values };
    let started = state.system.batches.start(req, &staff.caller).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(started)).into_response())
}

/// A batch: how many clients were queued and skipped (with why), its messages by status,
/// and the messages that failed, bounced or were suppressed (the partial-failure report).
#[utoipa::path(
    get, path = "/api/communications/batches/{id}", tag = "communications",
    params(("id" = BatchId, Path)),
    responses((status = 200, body = BatchReport), (status = 404, description = "`batch_not_found`", body = ErrorResponse))
)]
pub async fn communications_batch_get(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<BatchId>,
) -> Result<axum::Json<BatchReport>, ApiError> {
    Ok(axum::Json(state.system.batches.report(id, &staff.caller).await?))
}

/// Filters of the log.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    /// A client's id.
    pub client: Option<String>,
    /// `queued`, `sent`, `failed`, `dead`, `delivered`, `bounced` or `suppressed`.
    pub status: Option<String>,
    /// `email` or `sms`.
    pub channel: Option<String>,
    /// A template's id.
    pub template: Option<String>,
    /// First day (`YYYY-MM-DD`, the clinic's zone), inclusive.
    pub from: Option<String>,
    /// Last day, inclusive.
    pub to: Option<String>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn date(field: &str, v: &Option<String>) -> Result<Option<Date>, ValidationError> {
    given(v)
        .map(|d| d.parse::<Date>().map_err(|_| ValidationError::new(field, "must be a date, YYYY-MM-DD")))
        .transpose()
}

/// The log's filter from a query (shared with the log page).
pub fn log_filter(state: &AppState, q: &LogQuery) -> Result<LogFilter, ValidationError> {
    let client_id = given(&q.client)
        .map(|c| c.parse::<ClientId>().map_err(|_| ValidationError::new("client", "must be a client id")))
        .transpose()?;
    let status = given(&q.status)
        .map(|s| {
            MessageStatus::parse(s).ok_or_else(|| {
                let all: Vec<&str> = MessageStatus::ALL.iter().map(|s| s.as_str()).collect();
                ValidationError::new("status", format!("must be one of {}", all.join(", ")))
            })
        })
        .transpose()?;
    let template_id = given(&q.template)
        .map(|t| t.parse::<TemplateId>().map_err(|_| ValidationError::new("template", "must be a template id")))
        .transpose()?;
    let tz = &state.system.ctx.config.time_zone;
    let instant = |field: &str, d: Date| {
        d.to_zoned(tz.clone()).map(|z| z.timestamp()).map_err(|e| ValidationError::new(field, e.to_string()))
    };
    let from = date("from", &q.from)?.map(|d| instant("from", d)).transpose()?;
    let until = date("to", &q.to)?
        .map(|d| d.tomorrow().map_err(|e| ValidationError::new("to", e.to_string())).and_then(|d| instant("to", d)))
        .transpose()?;
    if let (Some(f), Some(u)) = (from, until)
        && u <= f
    {
        return Err(ValidationError::new("to", "must not be before from"));
    }
    Ok(LogFilter { client_id, status, channel: channel("channel", &q.channel)?, template_id, from, until })
}

/// The message log, newest first, filtered by client, status, channel, template and days.
/// Audited like `/api/messages` (`message.list`).
#[utoipa::path(
    get, path = "/api/communications/log", tag = "communications",
    params(LogQuery),
    responses(
        (status = 200, body = Page<Message>),
        (status = 422, description = "`validation_failed`: an unknown status or channel, a malformed id, date or cursor", body = ErrorResponse),
    )
)]
pub async fn communications_log(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<LogQuery>,
) -> Result<axum::Json<Page<Message>>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let f = log_filter(&state, &q)?;
    let (items, next) = state.system.comms_log.page(&f, page.limit, page.after, &staff.caller).await?;
    Ok(axum::Json(Page::new(items, next)))
}

/// The message templates (the same list as `GET /api/templates`).
#[utoipa::path(
    get, path = "/api/communications/templates", tag = "communications",
    params(TemplateListQuery),
    responses((status = 200, body = Page<Template>), (status = 422, description = "`validation_failed`", body = ErrorResponse))
)]
pub async fn communications_templates(
    state: State<AppState>,
    staff: Staff,
    q: Query<TemplateListQuery>,
) -> Result<axum::Json<Page<Template>>, ApiError> {
    super::templates::templates_list(state, staff, q).await
}

/// Date range of the statistics.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    /// First day (`YYYY-MM-DD`, the clinic's zone), inclusive; default 29 days before `to`.
    pub from: Option<String>,
    /// Last day, inclusive; default today.
    pub to: Option<String>,
}

/// The range a stats query asks for (defaults: the last 30 days).
pub fn stats_range(state: &AppState, q: &StatsQuery) -> Result<(Date, Date), ValidationError> {
    let to = date("to", &q.to)?.unwrap_or_else(|| state.system.ctx.today());
    let from = match date("from", &q.from)? {
        Some(f) => f,
        None => to.checked_sub(jiff::Span::new().days(29)).map_err(|e| ValidationError::new("to", e.to_string()))?,
    };
    Ok((from, to))
}

/// Counts of the messages created on the days `from..=to` (at most 366 days) by status:
/// in all, by channel, by template category and by template.
#[utoipa::path(
    get, path = "/api/communications/stats", tag = "communications",
    params(StatsQuery),
    responses(
        (status = 200, body = CommsStats),
        (status = 422, description = "`validation_failed`: a malformed date, `to` before `from`, a range over 366 days", body = ErrorResponse),
    )
)]
pub async fn communications_stats(
    State(state): State<AppState>,
    _staff: Staff,
    Query(q): Query<StatsQuery>,
) -> Result<axum::Json<CommsStats>, ApiError> {
    let (from, to) = stats_range(&state, &q)?;
    Ok(axum::Json(state.system.comms_log.stats(from, to)?))
}
