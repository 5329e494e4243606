//! `/api/clients`: create, list, read, patch, deactivate, and a client's cats.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use clowder_actors::people::clients::ClientFilter;
use clowder_actors::people::patients::PatientFilter;
use clowder_schemas::clients::{Client, ClientListQuery, CreateClient, UpdateClient};
use clowder_schemas::pagination::{Page, PageRequest};
use clowder_schemas::patients::{Patient, PatientListQuery};
use clowder_schemas::search::{RecordReadParams, SearchKind};
use clowder_schemas::{ClientId, ErrorCode, ErrorResponse, ValidationError};

use super::patients::patient_filter;
use crate::access::Granted;
use crate::error::ApiError;
use crate::extract::{Id, Json, Query, Staff};
use crate::reply::Created;
use crate::state::AppState;

pub(crate) fn name_fragment(raw: &Option<String>) -> Result<Option<String>, ApiError> {
    match raw.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(n) if n.chars().count() > 100 => {
            Err(ValidationError::new("name", "must be at most 100 characters").into())
        }
        Some(n) => Ok(Some(n.to_lowercase())),
    }
}

/// Register a new client.
#[utoipa::path(
    post, path = "/api/clients", tag = "clients",
    request_body = CreateClient,
    responses(
        (status = 201, description = "Created", body = Client, headers(("Location" = String, description = "URL of the new client"))),
        (status = 409, description = "`duplicate_value`: the email belongs to another client", body = ErrorResponse),
        (status = 422, description = "`validation_failed`, naming the field (`referral_code`: malformed, nobody's, ambiguous; the client is not created)", body = ErrorResponse),
    )
)]
pub async fn clients_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<CreateClient>,
) -> Result<Response, ApiError> {
    let draft = body.validate(&state.system.ctx.config.country_code)?;
    let system = &state.system;
    let client = match body.referral_code.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        None => system.clients.create(draft, &staff.caller).await?,
        // The referral is written in the client's own change set: both exist or neither.
        Some(code) => {
            let id = ClientId::from_ulid(system.ctx.new_ulid());
            let referral = system.referrals.for_new_client(code, id, &staff.caller)?;
            system.clients.create_with(id, draft, referral, &staff.caller).await?
        }
    };
    Ok(Created::at(format!("/api/clients/{}", client.id), client).into_response())
}

/// List clients in registration order.
#[utoipa::path(
    get, path = "/api/clients", tag = "clients",
    params(ClientListQuery),
    responses(
        (status = 200, body = Page<Client>),
        (status = 422, description = "`validation_failed` (bad limit or cursor)", body = ErrorResponse),
    )
)]
pub async fn clients_list(
    State(state): State<AppState>,
    staff: Staff,
    granted: Granted,
    Query(q): Query<ClientListQuery>,
) -> Result<axum::Json<Page<Client>>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let active = match q.status.as_deref() {
        Some("all") => None,
        Some("active") => Some(true),
        Some("inactive") => Some(false),
        Some(_) => return Err(ValidationError::new("status", "must be active, inactive or all").into()),
        None => Some(q.active.unwrap_or(true)),
    };
    let filter = ClientFilter { active, name: name_fragment(&q.name)?, created_by: granted.own_only() };
    let (items, next) = state.system.clients.list(&filter, page.after, page.limit, &staff.caller).await?;
    Ok(axum::Json(Page::new(items, next)))
}

/// One client (also when deactivated).
#[utoipa::path(
    get, path = "/api/clients/{id}", tag = "clients",
    params(("id" = ClientId, Path), RecordReadParams),
    responses((status = 200, body = Client), (status = 404, description = "`client_not_found`", body = ErrorResponse))
)]
pub async fn clients_get(
    State(state): State<AppState>,
    staff: Staff,
    granted: Granted,
    Id(id): Id<ClientId>,
    Query(read): Query<RecordReadParams>,
) -> Result<axum::Json<Client>, ApiError> {
    granted.check_lazily(|| state.system.clients.peek(id).map(|r| r.created_by))?;
    let client = state.system.clients.get(id, &staff.caller).await?;
    // Opening a record puts it on the caller's recently viewed list, unless it is only
    // shown in passing.
    if read.recent != Some(false) {
        state.system.search.viewed(&staff.caller, SearchKind::Client, id.ulid()).await?;
    }
    Ok(axum::Json(client))
}

/// Change some of a client's fields (JSON merge patch: `null` clears).
#[utoipa::path(
    patch, path = "/api/clients/{id}", tag = "clients",
    params(("id" = ClientId, Path)),
    request_body = UpdateClient,
    responses(
        (status = 200, body = Client),
        (status = 404, description = "`client_not_found`", body = ErrorResponse),
        (status = 409, description = "`duplicate_value`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn clients_update(
    State(state): State<AppState>,
    staff: Staff,
    granted: Granted,
    Id(id): Id<ClientId>,
    Json(patch): Json<UpdateClient>,
) -> Result<axum::Json<Client>, ApiError> {
    granted.check_lazily(|| state.system.clients.peek(id).map(|r| r.created_by))?;
    Ok(axum::Json(state.system.clients.update(id, patch, &staff.caller).await?))
}

/// Deactivate a client. The record stays readable with `active: false`.
#[utoipa::path(
    delete, path = "/api/clients/{id}", tag = "clients",
    params(("id" = ClientId, Path)),
    responses((status = 200, description = "Deactivated", body = Client), (status = 404, description = "`client_not_found`", body = ErrorResponse))
)]
pub async fn clients_delete(
    State(state): State<AppState>,
    staff: Staff,
    granted: Granted,
    Id(id): Id<ClientId>,
) -> Result<axum::Json<Client>, ApiError> {
    granted.check_lazily(|| state.system.clients.peek(id).map(|r| r.created_by))?;
    Ok(axum::Json(state.system.clients.deactivate(id, &staff.caller).await?))
}

/// A client's cats.
#[utoipa::path(
    get, path = "/api/clients/{id}/patients", tag = "clients",
    params(("id" = ClientId, Path), PatientListQuery),
    responses((status = 200, body = Page<Patient>), (status = 404, description = "`client_not_found`", body = ErrorResponse))
)]
pub async fn clients_patients(
    State(state): State<AppState>,
    staff: Staff,
    granted: Granted,
    Id(id): Id<ClientId>,
    Query(q): Query<PatientListQuery>,
) -> Result<axum::Json<Page<Patient>>, ApiError> {
    if !state.system.clients.exists(id)? {
        return Err(ApiError::not_found(ErrorCode::ClientNotFound, "client"));
    }
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let filter = PatientFilter { client_id: Some(id), created_by: granted.own_only(), ..patient_filter(&q, true)? };
    let (items, next) = state.system.patients.list(&filter, page.after, page.limit, &staff.caller).await?;
    Ok(axum::Json(Page::new(items, next)))
}
