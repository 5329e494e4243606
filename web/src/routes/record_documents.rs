//! The documents and consent-form blocks of the client and cat pages (the reads are the API's,
//! audited, as the caller), and `/documents/rows`: one page of a block's documents answered
//! alone, for "Show more" and for the list after an upload.

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use clowder_actors::clinical::consent_forms::FormFilter;
use clowder_actors::clinical::documents::DocumentFilter;
use clowder_schemas::ValidationError;
use clowder_schemas::ids::{ClientId, PatientId};
use clowder_schemas::pagination::{Cursor, PageRequest};

use crate::access::granted_on;
use crate::error::ApiError;
use crate::extract::{Query, Staff};
use crate::state::AppState;
use crate::views::documents::{ConsentFormRow, DocumentRow, DocumentRows, DocumentRowsPage, DocumentsBlock, NEWEST};
use crate::views::{ErrorPage, Nav, Section, render};

/// Whose documents a block lists.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Owner {
    /// A client's: their own and their cats' (each row names its cat).
    Client(ClientId),
    Patient(PatientId),
}

fn allowed(staff: &Staff, method: Method, path: &str) -> bool {
    granted_on(staff, &method, path).is_some()
}

/// The documents block, newest first from `cursor`, when the caller may list documents
/// (`GET /api/documents`); the upload form when they may file one.
pub(crate) async fn documents_block(
    state: &AppState,
    staff: &Staff,
    owner: Owner,
    cursor: Option<&str>,
) -> Result<Option<DocumentsBlock>, ApiError> {
    if !allowed(staff, Method::GET, "/api/documents") {
        return Ok(None);
    }
    let after = PageRequest::parse(None, cursor)?.after;
    let (filter, field, id, show_cat) = match owner {
        Owner::Client(c) => {
            (DocumentFilter { client_id: Some(c), ..DocumentFilter::default() }, "client_id", c.to_string(), true)
        }
        Owner::Patient(p) => {
            (DocumentFilter { patient_id: Some(p), ..DocumentFilter::default() }, "patient_id", p.to_string(), false)
        }
    };
    let (items, next) = state.system.documents.list_for(&filter, after, NEWEST, &staff.caller).await?;
    let names = super::pages::user_names(state, items.iter().filter_map(|d| d.created_by)).await;
    let may_download = allowed(staff, Method::GET, "/api/documents/{id}/content");
    let tz = &state.system.ctx.config.time_zone;
    let rows = items
        .iter()
        .map(|d| {
            let who = d.created_by.and_then(|u| names.get(&u).cloned()).unwrap_or_else(|| "Clowder".to_owned());
            // The client page names the cat a document is for (the cat is the client's own).
            let cat = d
                .patient_id
                .filter(|_| show_cat)
                .and_then(|p| state.system.patients.peek(p).ok())
                .map(|p| (p.name.clone(), format!("/patients/{}", p.id)));
            DocumentRow::of(d, &who, cat, may_download, tz)
        })
        .collect();
    let more_href = next.map(|k| format!("/documents/rows?{field}={id}&cursor={}", Cursor(k).encode()));
    let list = DocumentRows { rows, show_cat, more_href };
    Ok(Some(DocumentsBlock::new(field, id, list, allowed(staff, Method::POST, "/api/documents"))))
}

/// The cat's consent forms (newest first), when the caller may list them.
pub(crate) async fn patient_consent_forms(
    state: &AppState,
    staff: &Staff,
    patient: PatientId,
) -> Result<Option<Vec<ConsentFormRow>>, ApiError> {
    if !allowed(staff, Method::GET, "/api/consent-forms") {
        return Ok(None);
    }
    let filter = FormFilter { patient_id: Some(patient), ..FormFilter::default() };
    let (forms, _) = state.system.consent_forms.list(&filter, None, 50, &staff.caller).await?;
    let may_download = allowed(staff, Method::GET, "/api/documents/{id}/content");
    let may_sign = allowed(staff, Method::POST, "/api/consent-forms/{id}/sign");
    let tz = &state.system.ctx.config.time_zone;
    Ok(Some(forms.iter().map(|f| ConsentFormRow::of(f, may_download, may_sign, tz)).collect()))
}

/// The query of `/documents/rows`: a client or a cat, and where the page starts.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowsParams {
    pub client_id: Option<String>,
    pub patient_id: Option<String>,
    pub cursor: Option<String>,
}

fn parse_id<T: std::str::FromStr>(field: &str, value: &str) -> Result<T, ApiError> {
    value.parse().map_err(|_| ValidationError::new(field, "is not an id").into())
}

/// `/documents/rows?client_id=…|patient_id=…&cursor=…`: one page of a block's documents
/// (`visits:view`, audited like `GET /api/documents`); an unknown client or cat is 404.
pub async fn document_rows(
    State(state): State<AppState>,
    staff: Staff,
    q: Result<Query<RowsParams>, ApiError>,
) -> Response {
    let nav = Nav::of(&staff, Section::Cats);
    let answer = async {
        let Query(q) = q?;
        let owner = match (q.client_id.as_deref(), q.patient_id.as_deref()) {
            (Some(c), None) => {
                let id = parse_id::<ClientId>("client_id", c)?;
                state.system.clients.peek(id)?;
                Owner::Client(id)
            }
            (None, Some(p)) => {
                let id = parse_id::<PatientId>("patient_id", p)?;
                state.system.patients.peek(id)?;
                Owner::Patient(id)
            }
            _ => return Err(ValidationError::new("client_id", "name a client_id or a patient_id").into()),
        };
        let block = documents_block(&state, &staff, owner, q.cursor.as_deref()).await?;
        let documents = block.ok_or_else(|| ApiError::new(clowder_schemas::ErrorCode::Forbidden, "not allowed"))?;
        Ok::<_, ApiError>(render(StatusCode::OK, &DocumentRowsPage { documents }))
    }
    .await;
    answer.unwrap_or_else(|e| ErrorPage::answer(nav.clone(), e))
}
