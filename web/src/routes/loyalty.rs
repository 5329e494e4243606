//! Loyalty points: the programme's settings (read `invoices:view`, replaced with
//! `loyalty:manage`), a client's balance and history (`invoices:view`), a manager's
//! adjustment (`loyalty:manage`), and redeeming points on a draft invoice at checkout or
//! releasing them (`invoices:edit`). Rules: docs/loyalty.md.

use axum::extract::State;
use clowder_actors::billing::loyalty::HistoryPage;
use clowder_schemas::ErrorResponse;
use clowder_schemas::ids::{ClientId, InvoiceId};
use clowder_schemas::invoices::Invoice;
use clowder_schemas::loyalty::{
    AdjustPoints, LoyaltyAccount, LoyaltyEntry, LoyaltyHistoryQuery, LoyaltySettings, PutLoyaltySettings, RedeemPoints,
};

use crate::error::ApiError;
use crate::extract::{Id, Json, Query, Staff};
use crate::reply::Created;
use crate::state::AppState;

/// The loyalty programme's settings (off, with the defaults, until a manager sets them).
#[utoipa::path(get, path = "/api/loyalty/settings", tag = "billing", responses((status = 200, body = LoyaltySettings)))]
pub async fn loyalty_settings_get(
    State(state): State<AppState>,
    _staff: Staff,
) -> Result<axum::Json<LoyaltySettings>, ApiError> {
    Ok(axum::Json(state.system.loyalty.settings()?))
}

/// Replace the programme's settings (every field). Audited `loyalty.settings_update`.
#[utoipa::path(
    put, path = "/api/loyalty/settings", tag = "billing",
    request_body = PutLoyaltySettings,
    responses(
        (status = 200, body = LoyaltySettings),
        (status = 404, description = "`catalogue_item_not_found`: a bonus item is not in the catalogue", body = ErrorResponse),
        (status = 422, description = "`validation_failed` naming the field out of range", body = ErrorResponse),
    )
)]
pub async fn loyalty_settings_put(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<PutLoyaltySettings>,
) -> Result<axum::Json<LoyaltySettings>, ApiError> {
    Ok(axum::Json(state.system.loyalty.put_settings(body, &staff.caller).await?))
}

/// A client's points: the balance (derived from the ledger and their invoices), what drafts
/// hold, what is available, and a page of the history, newest first. Audited `client.loyalty`.
#[utoipa::path(
    get, path = "/api/clients/{id}/loyalty", tag = "billing",
    params(("id" = ClientId, Path), LoyaltyHistoryQuery),
    responses(
        (status = 200, body = LoyaltyAccount),
        (status = 404, description = "`client_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed` on `limit` or `cursor`", body = ErrorResponse),
    )
)]
pub async fn clients_loyalty(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<ClientId>,
    Query(q): Query<LoyaltyHistoryQuery>,
) -> Result<axum::Json<LoyaltyAccount>, ApiError> {
    let page = HistoryPage { limit: q.limit, cursor: q.cursor };
    Ok(axum::Json(state.system.loyalty.account(id, page, &staff.caller).await?))
}

/// Add or take away points with a reason. Never more than the client has available (422
/// `points`); 409 `loyalty_disabled` while the programme is off. Audited `loyalty.adjust`.
#[utoipa::path(
    post, path = "/api/clients/{id}/loyalty/adjustments", tag = "billing",
    params(("id" = ClientId, Path)),
    request_body = AdjustPoints,
    responses(
        (status = 201, body = LoyaltyEntry),
        (status = 404, description = "`client_not_found`", body = ErrorResponse),
        (status = 409, description = "`loyalty_disabled`", body = ErrorResponse),
        (status = 422, description = "`validation_failed` on `points` (0, too many, more than available) or `reason`", body = ErrorResponse),
    )
)]
pub async fn clients_loyalty_adjust(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<ClientId>,
    Json(body): Json<AdjustPoints>,
) -> Result<Created<LoyaltyEntry>, ApiError> {
    let (points, reason) = body.validate()?;
    let entry = state.system.loyalty.adjust(id, points, reason, &staff.caller).await?;
    Ok(Created::at(format!("/api/clients/{id}/loyalty"), entry))
}

/// Redeem points on a draft invoice: their value comes off as part of its invoice discount
/// (`loyalty` on the invoice), replacing what it redeemed before; the points are held while
/// it is a draft and spent when it is issued. Never more than the client has available nor
/// than the invoice after its discounts (422 `points`); a whole number of redemption steps,
/// at least the minimum (422 `points`); drafts only (409 `invalid_transition`); 409
/// `loyalty_disabled` while the programme is off.
#[utoipa::path(
    post, path = "/api/invoices/{id}/loyalty/redeem", tag = "billing",
    params(("id" = InvoiceId, Path)),
    request_body = RedeemPoints,
    responses(
        (status = 200, description = "The draft with `loyalty` and its totals", body = Invoice),
        (status = 404, description = "`invoice_not_found`", body = ErrorResponse),
        (status = 409, description = "`invalid_transition` (not a draft) or `loyalty_disabled`", body = ErrorResponse),
        (status = 422, description = "`validation_failed` on `points`", body = ErrorResponse),
    )
)]
pub async fn invoices_loyalty_redeem(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<InvoiceId>,
    Json(body): Json<RedeemPoints>,
) -> Result<axum::Json<Invoice>, ApiError> {
    Ok(axum::Json(state.system.loyalty.redeem(id, Some(body.points), &staff.caller).await?))
}

/// Release the points a draft holds (the discount goes; nothing changes if it held none).
#[utoipa::path(
    post, path = "/api/invoices/{id}/loyalty/release", tag = "billing",
    params(("id" = InvoiceId, Path)),
    responses(
        (status = 200, body = Invoice),
        (status = 404, description = "`invoice_not_found`", body = ErrorResponse),
        (status = 409, description = "`invalid_transition`: not a draft", body = ErrorResponse),
    )
)]
pub async fn invoices_loyalty_release(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<InvoiceId>,
) -> Result<axum::Json<Invoice>, ApiError> {
    Ok(axum::Json(state.system.loyalty.redeem(id, None, &staff.caller).await?))
}
