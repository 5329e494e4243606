//! The newsletter's double opt-in, public side. `POST /api/communications/newsletter/subscribe`
//! (no session, rate limited per address) takes an email and, if it is a client's, sends the
//! confirmation email; it always answers the same 202 so it never tells who is a client.
//! `/l/subscribe/{token}`: `GET` shows the clinic's name and a confirm button (nothing changes:
//! mail scanners follow links); `POST` grants marketing email consent, ledger source
//! `double_opt_in`. A tampered or unknown token answers a 404 page, an expired one 410.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use clowder_actors::comms::links::{LinkError, LinkPurpose};
use clowder_schemas::audit::Caller;
use clowder_schemas::campaigns::NewsletterSubscribe;
use clowder_schemas::values::Email;
use clowder_schemas::{ClientId, ErrorResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::client_addr::ClientIp;
use crate::error::ApiError;
use crate::extract::Json;
use crate::state::AppState;

use super::client_page::{escape, limited, page};

fn caller(ip: &Option<axum::Extension<ClientIp>>) -> Caller {
    Caller { ip: ip.as_ref().map(|axum::Extension(ClientIp(ip))| ip.to_string()), ..Caller::system() }
}

/// The one answer of the public subscribe route.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscribeAccepted {
    /// Always the same sentence.
    pub message: &'static str,
}

/// Ask for the clinic's newsletter (public, rate limited): if the email is a client's, a
/// confirmation email with a link is sent; nothing is granted until its button is pressed.
/// Answers 202 the same way whether or not the email is known.
#[utoipa::path(
    post, path = "/api/communications/newsletter/subscribe", tag = "marketing",
    request_body = NewsletterSubscribe,
    responses(
        (status = 202, body = SubscribeAccepted),
        (status = 422, description = "`validation_failed`: not an email address", body = ErrorResponse),
        (status = 429, description = "`rate_limited`", body = ErrorResponse),
    )
)]
pub async fn newsletter_subscribe(
    State(state): State<AppState>,
    ip: Option<axum::Extension<ClientIp>>,
    Json(body): Json<NewsletterSubscribe>,
) -> Result<Response, ApiError> {
    limited(&state, &ip)?;
    let email = Email::parse("email", &body.email)?;
    // Looked up and queued after the answer: neither its content nor its timing may differ
    // for clients (a failure is logged).
    state.system.campaigns.request_subscription_later(email, caller(&ip));
    let accepted = SubscribeAccepted {
        message: "If this address can receive our newsletter, a confirmation email is on its way.",
    };
    Ok((StatusCode::ACCEPTED, axum::Json(accepted)).into_response())
}

enum Refused {
    NotFound,
    Expired,
}

fn client_of(state: &AppState, token: &str) -> Result<ClientId, Refused> {
    let now = state.system.ctx.clock.now();
    match state.system.links.verify(LinkPurpose::ConfirmSubscription, token, now) {
        Ok(link) => {
            let id = ClientId::from_u128(link.subject);
            state.system.consent.client_created_by(id).map(|_| id).map_err(|_| Refused::NotFound)
        }
        Err(LinkError::Expired(_)) => Err(Refused::Expired),
        Err(_) => Err(Refused::NotFound),
    }
}

fn refused_page(r: Refused, clinic: &str) -> Response {
    match r {
        Refused::NotFound => page(
            StatusCode::NOT_FOUND,
            clinic,
            "This link does not work",
            "<p>Check that the whole link was copied.</p>",
        ),
        Refused::Expired => page(
            StatusCode::GONE,
            clinic,
            "This link has expired",
            "<p>Ask for the newsletter again and use the link in the new email.</p>",
        ),
    }
}

/// The confirmation page: the clinic's name and one button.
pub async fn subscribe_page(
    State(state): State<AppState>,
    ip: Option<axum::Extension<ClientIp>>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    limited(&state, &ip)?;
    let clinic = &state.system.ctx.config.comms.clinic.name;
    if let Err(r) = client_of(&state, &token) {
        return Ok(refused_page(r, clinic));
    }
    let body = format!(
        "<p>Receive news and offers from {c} by email? You can unsubscribe from any of them with one click.</p>\
         <form method=\"post\"><button type=\"submit\">Yes, subscribe me</button></form>",
        c = escape(clinic)
    );
    Ok(page(StatusCode::OK, clinic, "Confirm your subscription", &body))
}

/// Grants marketing email consent (source `double_opt_in`). A second press writes nothing
/// and answers the same page.
pub async fn subscribe_confirm(
    State(state): State<AppState>,
    ip: Option<axum::Extension<ClientIp>>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    limited(&state, &ip)?;
    let clinic = &state.system.ctx.config.comms.clinic.name;
    let client = match client_of(&state, &token) {
        Ok(c) => c,
        Err(r) => return Ok(refused_page(r, clinic)),
    };
    state.system.campaigns.confirm_subscription(client, &caller(&ip)).await?;
    Ok(page(
        StatusCode::OK,
        clinic,
        "You are subscribed",
        "<p>Thank you. Every newsletter has a link to unsubscribe.</p>",
    ))
}
