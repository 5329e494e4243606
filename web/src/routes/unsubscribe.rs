//! `/l/unsubscribe/{token}`: stopping marketing email without signing in. `GET` shows a small
//! page with the clinic's name and one button; `POST` (the button, or a mail client's RFC 8058
//! one-click `List-Unsubscribe=One-Click`) revokes the client's marketing email consent
//! (ledger source `unsubscribe_link`). A tampered or unknown token answers a 404 page, an
//! expired one 410, and nothing changes.
//!
//! No CSRF token is possible for one-click (the mail provider posts without our page), and
//! none is needed: the only thing the route can do is revoke, which a forged request cannot
//! turn into harm beyond what the link's holder could do anyway.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use clowder_actors::comms::links::{LinkError, LinkPurpose};
use clowder_schemas::ClientId;
use clowder_schemas::audit::Caller;
use clowder_schemas::consent::{ConsentActor, ConsentChange, ConsentSource};
use clowder_schemas::messages::{Channel, Purpose};

use crate::client_addr::ClientIp;
use crate::error::ApiError;
use crate::state::AppState;

use super::client_page::{escape, limited, page};

/// Why a token does not name a client.
enum Refused {
    NotFound,
    Expired,
}

impl Refused {
    fn page(self, clinic: &str) -> Response {
        match self {
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
                "<p>Use the link in a more recent email, or call us and we will stop these emails.</p>",
            ),
        }
    }
}

/// The client a token names.
fn client_of(state: &AppState, token: &str) -> Result<ClientId, Refused> {
    let now = state.system.ctx.clock.now();
    match state.system.links.verify(LinkPurpose::Unsubscribe, token, now) {
        Ok(link) => {
            let id = ClientId::from_u128(link.subject);
            // A client deleted since the email was sent: nothing to unsubscribe.
            state.system.consent.client_created_by(id).map(|_| id).map_err(|_| Refused::NotFound)
        }
        Err(LinkError::Expired(_)) => Err(Refused::Expired),
        Err(_) => Err(Refused::NotFound),
    }
}

/// The unsubscribe page: the clinic's name and a button (nothing changes until it is pressed:
/// mail scanners follow links).
pub async fn unsubscribe_page(
    State(state): State<AppState>,
    ip: Option<axum::Extension<ClientIp>>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    limited(&state, &ip)?;
    let clinic = &state.system.ctx.config.comms.clinic.name;
    if let Err(refused) = client_of(&state, &token) {
        return Ok(refused.page(clinic));
    }
    let body = format!(
        "<p>Stop receiving news and offers from {c} by email? Appointment reminders and messages \
         about your cats' care still come.</p><form method=\"post\"><button type=\"submit\">Unsubscribe</button></form>",
        c = escape(clinic)
    );
    Ok(page(StatusCode::OK, clinic, "Unsubscribe", &body))
}

/// Revokes marketing email (the page's button, or RFC 8058 one-click). Idempotent: a second
/// press writes nothing and answers the same page.
pub async fn unsubscribe_confirm(
    State(state): State<AppState>,
    ip: Option<axum::Extension<ClientIp>>,
    Path(token): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    limited(&state, &ip)?;
    let clinic = &state.system.ctx.config.comms.clinic.name;
    let client = match client_of(&state, &token) {
        Ok(c) => c,
        Err(refused) => return Ok(refused.page(clinic)),
    };
    let one_click = form_urlencoded::parse(&body).any(|(k, v)| k == "List-Unsubscribe" && v == "One-Click");
    let change = ConsentChange {
        channel: Channel::Email,
        purpose: Purpose::Marketing,
        granted: false,
        source: ConsentSource::UnsubscribeLink,
        evidence: Some(if one_click {
            "one-click unsubscribe (RFC 8058) from an email's List-Unsubscribe".into()
        } else {
            "the unsubscribe page's button".into()
        }),
        note: None,
    };
    state.system.consent.record(client, change, ConsentActor::Client, false, &Caller::system()).await?;
    Ok(page(
        StatusCode::OK,
        clinic,
        "You are unsubscribed",
        "<p>You will not receive news and offers by email any more. Appointment reminders and care messages still come.</p>",
    ))
}
