//! Marketing (`communications:manage`): saved segments (`/api/segments`, with a preview of
//! who they hold now), campaigns to them (`/api/campaigns`: create, schedule, send now,
//! cancel, results), and the newsletter's double opt-in started by staff for a client
//! (`POST /api/clients/{id}/newsletter`, `communications:send`); referral codes and the
//! credits owed for them (`/api/clients/{id}/referral` with `clients:view`, `/api/referrals`
//! with `clients:edit`). The logic is `clowder_actors::comms::{segments, campaigns,
//! referrals}`; see docs/communications.md, "Marketing".

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use clowder_actors::comms::campaigns::NewCampaign;
use clowder_schemas::campaigns::{
    CampaignView, ClientReferrals, CreateCampaign, CreateSegment, MAX_PREVIEW, RecordReferral, Referral,
    ScheduleCampaign, Segment, SegmentPreview,
};
use clowder_schemas::ids::{CampaignId, ReferralId, SegmentId};
use clowder_schemas::messages::Channel;
use clowder_schemas::{ClientId, ErrorResponse, ValidationError};
use jiff::Timestamp;
use serde::Deserialize;
use utoipa::IntoParams;

use super::messages::Queued;
use crate::access::Granted;
use crate::error::ApiError;
use crate::extract::{Id, Json, Query, Staff};
use crate::reply::Created;
use crate::state::AppState;

/// Most segments or campaigns a list shows (newest first).
const LIST_LIMIT: usize = 200;

fn instant(field: &str, v: Option<&str>) -> Result<Option<Timestamp>, ValidationError> {
    v.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<Timestamp>()
                .map_err(|_| ValidationError::new(field, "must be an RFC 3339 instant, e.g. 2026-03-01T15:00:00Z"))
        })
        .transpose()
}

/// Save a segment: a named audience definition (recency, frequency, services, life stage,
/// breed, location, active clients).
#[utoipa::path(
    post, path = "/api/segments", tag = "marketing",
    request_body = CreateSegment,
    responses(
        (status = 201, body = Segment),
        (status = 422, description = "`validation_failed`, naming the field: a blank or long name, bounds that cannot match, an unknown life stage", body = ErrorResponse),
    )
)]
pub async fn segments_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<CreateSegment>,
) -> Result<Response, ApiError> {
    let (name, filter) = body.validate()?;
    let s = state.system.segments.create(name, filter, &staff.caller).await?;
    Ok(Created::at(format!("/api/segments/{}", s.id), s).into_response())
}

/// The saved segments, newest first (at most 200).
#[utoipa::path(get, path = "/api/segments", tag = "marketing", responses((status = 200, body = Vec<Segment>)))]
pub async fn segments_list(State(state): State<AppState>, _staff: Staff) -> Result<axum::Json<Vec<Segment>>, ApiError> {
    Ok(axum::Json(state.system.segments.list(LIST_LIMIT)?))
}

/// One segment's definition.
#[utoipa::path(
    get, path = "/api/segments/{id}", tag = "marketing",
    params(("id" = SegmentId, Path)),
    responses((status = 200, body = Segment), (status = 404, description = "`segment_not_found`", body = ErrorResponse))
)]
pub async fn segments_get(
    State(state): State<AppState>,
    _staff: Staff,
    Id(id): Id<SegmentId>,
) -> Result<axum::Json<Segment>, ApiError> {
    Ok(axum::Json(state.system.segments.get(id)?))
}

/// Size of a preview.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PreviewQuery {
    /// Clients named, 0 to 100 (default 20).
    pub limit: Option<i64>,
}

/// How many clients the segment holds now, and the first of them by name (audited).
#[utoipa::path(
    get, path = "/api/segments/{id}/preview", tag = "marketing",
    params(("id" = SegmentId, Path), PreviewQuery),
    responses(
        (status = 200, body = SegmentPreview),
        (status = 404, description = "`segment_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: a limit out of range", body = ErrorResponse),
    )
)]
pub async fn segments_preview(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<SegmentId>,
    Query(q): Query<PreviewQuery>,
) -> Result<axum::Json<SegmentPreview>, ApiError> {
    let limit = match q.limit {
        None => 20,
        Some(n) if (0..=MAX_PREVIEW as i64).contains(&n) => n as usize,
        Some(_) => return Err(ValidationError::new("limit", format!("must be 0 to {MAX_PREVIEW}")).into()),
    };
    Ok(axum::Json(state.system.segments.preview(id, limit, &staff.caller).await?))
}

/// Create a campaign (a draft): a `campaign` or `newsletter` template to a segment.
#[utoipa::path(
    post, path = "/api/campaigns", tag = "marketing",
    request_body = CreateCampaign,
    responses(
        (status = 201, body = CampaignView),
        (status = 422, description = "`validation_failed`, naming the field: an unknown template or one of another category, an inactive template, a channel that is not the template's, an unknown segment, a malformed instant", body = ErrorResponse),
    )
)]
pub async fn campaigns_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<CreateCampaign>,
) -> Result<Response, ApiError> {
    let name = body.name()?;
    let template_id =
        body.template_id.trim().parse().map_err(|_| ValidationError::new("template_id", "must be a template id"))?;
    let segment_id =
        body.segment_id.trim().parse().map_err(|_| ValidationError::new("segment_id", "must be a segment id"))?;
    let channel = body
        .channel
        .as_deref()
        .map(|c| Channel::parse(c.trim()).ok_or_else(|| ValidationError::new("channel", "must be email or sms")))
        .transpose()?;
    let scheduled_at = instant("scheduled_at", body.scheduled_at.as_deref())?;
    let new = NewCampaign { name, template_id, segment_id, channel, scheduled_at };
    let c = state.system.campaigns.create(new, &staff.caller).await?;
    Ok(Created::at(format!("/api/campaigns/{}", c.id), c).into_response())
}

/// The campaigns with their results, newest first (at most 200).
#[utoipa::path(get, path = "/api/campaigns", tag = "marketing", responses((status = 200, body = Vec<CampaignView>)))]
pub async fn campaigns_list(
    State(state): State<AppState>,
    _staff: Staff,
) -> Result<axum::Json<Vec<CampaignView>>, ApiError> {
    Ok(axum::Json(state.system.campaigns.list(LIST_LIMIT)?))
}

/// A campaign and its results: audience, skipped, queued, sent, delivered, suppressed (no
/// consent), bounced, failed, counted from its messages now.
#[utoipa::path(
    get, path = "/api/campaigns/{id}", tag = "marketing",
    params(("id" = CampaignId, Path)),
    responses((status = 200, body = CampaignView), (status = 404, description = "`campaign_not_found`", body = ErrorResponse))
)]
pub async fn campaigns_get(
    State(state): State<AppState>,
    _staff: Staff,
    Id(id): Id<CampaignId>,
) -> Result<axum::Json<CampaignView>, ApiError> {
    Ok(axum::Json(state.system.campaigns.get(id)?))
}

/// Schedule a draft for `scheduled_at` (here, or the one given at creation): a durable job
/// due then resolves the segment and queues the messages. A scheduled campaign is
/// rescheduled (its job moves) until sending begins.
#[utoipa::path(
    post, path = "/api/campaigns/{id}/schedule", tag = "marketing",
    params(("id" = CampaignId, Path)),
    request_body = ScheduleCampaign,
    responses(
        (status = 200, body = CampaignView),
        (status = 404, description = "`campaign_not_found`", body = ErrorResponse),
        (status = 409, description = "`campaign_started`: sending began (sending or sent), the schedule cannot move; `invalid_transition`: cancelled", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: no instant, one in the past, a segment over 5,000 clients", body = ErrorResponse),
    )
)]
pub async fn campaigns_schedule(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<CampaignId>,
    Json(body): Json<ScheduleCampaign>,
) -> Result<axum::Json<CampaignView>, ApiError> {
    let at = instant("scheduled_at", body.scheduled_at.as_deref())?;
    Ok(axum::Json(state.system.campaigns.schedule(id, at, &staff.caller).await?))
}

/// Send a draft or scheduled campaign now.
#[utoipa::path(
    post, path = "/api/campaigns/{id}/send-now", tag = "marketing",
    params(("id" = CampaignId, Path)),
    responses(
        (status = 200, body = CampaignView),
        (status = 404, description = "`campaign_not_found`", body = ErrorResponse),
        (status = 409, description = "`invalid_transition`: already sending, sent or cancelled", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: a segment over 5,000 clients", body = ErrorResponse),
    )
)]
pub async fn campaigns_send_now(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<CampaignId>,
) -> Result<axum::Json<CampaignView>, ApiError> {
    Ok(axum::Json(state.system.campaigns.send_now(id, &staff.caller).await?))
}

/// Cancel a draft, scheduled or sending campaign (messages already queued still go).
#[utoipa::path(
    post, path = "/api/campaigns/{id}/cancel", tag = "marketing",
    params(("id" = CampaignId, Path)),
    responses(
        (status = 200, body = CampaignView),
        (status = 404, description = "`campaign_not_found`", body = ErrorResponse),
        (status = 409, description = "`invalid_transition`: already sent or cancelled", body = ErrorResponse),
    )
)]
pub async fn campaigns_cancel(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<CampaignId>,
) -> Result<axum::Json<CampaignView>, ApiError> {
    Ok(axum::Json(state.system.campaigns.cancel(id, &staff.caller).await?))
}

/// Send the client the newsletter's confirmation email (double opt-in): their marketing
/// email consent is granted only when they press its link's button.
#[utoipa::path(
    post, path = "/api/clients/{id}/newsletter", tag = "marketing",
    params(("id" = ClientId, Path)),
    responses(
        (status = 202, body = Queued),
        (status = 404, description = "`client_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: the client has no email or is deactivated", body = ErrorResponse),
    )
)]
pub async fn clients_newsletter(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<ClientId>,
) -> Result<Response, ApiError> {
    let message_id = state.system.campaigns.start_subscription(id, &staff.caller).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(Queued { message_id })).into_response())
}

/// Refuses a client created by someone else to a caller whose permission is scope `own`.
fn check_own(state: &AppState, granted: &Granted, id: ClientId) -> Result<(), ApiError> {
    granted.check_lazily(|| state.system.consent.client_created_by(id))
}

/// The client's referral code (the same every time) and the referrals it brought, with the
/// credits still owed (audited).
#[utoipa::path(
    get, path = "/api/clients/{id}/referral", tag = "marketing",
    params(("id" = ClientId, Path)),
    responses((status = 200, body = ClientReferrals), (status = 404, description = "`client_not_found`", body = ErrorResponse))
)]
pub async fn clients_referral(
    State(state): State<AppState>,
    staff: Staff,
    granted: Granted,
    Id(id): Id<ClientId>,
) -> Result<axum::Json<ClientReferrals>, ApiError> {
    check_own(&state, &granted, id)?;
    Ok(axum::Json(state.system.referrals.of_client(id, &staff.caller).await?))
}

/// Record that a (new) client came through another client's code: the referrer is owed
/// `credit`.
#[utoipa::path(
    post, path = "/api/referrals", tag = "marketing",
    request_body = RecordReferral,
    responses(
        (status = 201, body = Referral),
        (status = 409, description = "`duplicate_value` naming `client_id`: the client was already referred", body = ErrorResponse),
        (status = 422, description = "`validation_failed`, naming the field: a malformed or unknown code, the client's own code, an unknown or deactivated client, a blank or long credit", body = ErrorResponse),
    )
)]
pub async fn referrals_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<RecordReferral>,
) -> Result<Response, ApiError> {
    let client_id: ClientId =
        body.client_id.trim().parse().map_err(|_| ValidationError::new("client_id", "must be a client id"))?;
    let credit = body.credit()?;
    let x = state.system.referrals.record(&body.code, client_id, credit, &staff.caller).await?;
    Ok(Created::at(format!("/api/clients/{}/referral", x.referrer_id), x).into_response())
}

/// The front desk gave the referrer the credit.
#[utoipa::path(
    post, path = "/api/referrals/{id}/redeem", tag = "marketing",
    params(("id" = ReferralId, Path)),
    responses(
        (status = 200, body = Referral),
        (status = 404, description = "`referral_not_found`", body = ErrorResponse),
        (status = 409, description = "`invalid_transition`: already redeemed", body = ErrorResponse),
    )
)]
pub async fn referrals_redeem(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<ReferralId>,
) -> Result<axum::Json<Referral>, ApiError> {
    Ok(axum::Json(state.system.referrals.redeem(id, &staff.caller).await?))
}
