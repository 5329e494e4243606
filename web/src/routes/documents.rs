//! `/api/documents`: files on the medical record. Upload (`visits:edit`) is a
//! `multipart/form-data` body streamed to disk while it is hashed and counted (never held in
//! memory; `CLOWDER_DOCUMENT_MAX_BYTES`, 413 beyond), its type told from its first bytes (415
//! `document_type_refused` for an executable whatever its name); list, metadata and download
//! (`visits:view`) are audited reads; deactivation hides, never deletes.

use axum::body::Body;
use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use clowder_actors::clinical::documents::DocumentFilter;
use clowder_schemas::documents::{
    DeactivateDocument, Document, DocumentListQuery, UploadForm, content_disposition, display_name,
};
use clowder_schemas::ids::{ClientId, DocumentId, PatientId, VisitId};
use clowder_schemas::pagination::{Page, PageRequest};
use clowder_schemas::{ErrorCode, ErrorResponse, ValidationError};

use crate::error::ApiError;
use crate::extract::{Id, Json, Query, Staff};
use crate::reply::Created;
use crate::state::AppState;

/// Longest text field of the upload form (ids, category, tags), bytes.
const MAX_TEXT_FIELD: usize = 4096;
/// Bytes of multipart framing and text fields allowed on top of the file's limit.
const FORM_OVERHEAD: u64 = 64 * 1024;

fn multipart_error(e: MultipartError) -> ApiError {
    ApiError::new(ErrorCode::InvalidJson, format!("the multipart body could not be read: {}", e.body_text()))
}

async fn text_field(mut field: Field<'_>) -> Result<String, ApiError> {
    let name = field.name().unwrap_or_default().to_owned();
    let mut buf = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if buf.len() + chunk.len() > MAX_TEXT_FIELD {
            return Err(ValidationError::new(name, "is too long").into());
        }
        buf.extend_from_slice(&chunk);
    }
    String::from_utf8(buf).map_err(|_| ValidationError::new(name, "is not UTF-8 text").into())
}

/// File a document: `multipart/form-data` with a `file` part and the fields `client_id`,
/// `patient_id`, `visit_id` (at least one; they must agree: a visit's cat, a cat's owner),
/// `category` (`lab_report`, `imaging`, `referral`, `consent`, `insurance`, `other`) and
/// `tags` (comma-separated or repeated). The type is told from the content: PDF, PNG, JPEG,
/// GIF, WebP, TIFF or plain UTF-8 text. The same bytes uploaded twice are stored once.
#[utoipa::path(
    post, path = "/api/documents", tag = "clinical",
    request_body(content_type = "multipart/form-data", description = "`file` and the fields above"),
    responses(
        (status = 201, description = "Filed", body = Document, headers(("Location" = String, description = "URL of the document"))),
        (status = 404, description = "`client_not_found`, `patient_not_found`, `visit_not_found`", body = ErrorResponse),
        (status = 413, description = "`payload_too_large`: over `CLOWDER_DOCUMENT_MAX_BYTES`; nothing is stored", body = ErrorResponse),
        (status = 415, description = "`document_type_refused`: the content is not an accepted type (an executable, HTML...)", body = ErrorResponse),
        (status = 422, description = "`validation_failed`, naming the field (a cat of another client, a visit of another cat)", body = ErrorResponse),
    )
)]
pub async fn documents_upload(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    let files = &state.system.document_files;
    let too_large =
        || ApiError::from(clowder_actors::Error::DocumentTooLarge { max: files.max_bytes() }).with_field("file");
    // A declared length over the limit is refused before a byte is read.
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > files.max_bytes() + FORM_OVERHEAD) {
        return Err(too_large());
    }
    let mut multipart = multipart.map_err(|e| {
        ApiError::new(ErrorCode::UnsupportedMediaType, format!("send the upload as multipart/form-data ({e})"))
    })?;
    let mut form = UploadForm::default();
    let mut stored = None;
    let mut raw_name = None;
    let mut text_bytes = 0usize;
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            if stored.is_some() {
                return Err(ValidationError::new("file", "send one file per upload").into());
            }
            raw_name = field.file_name().map(str::to_owned);
            let mut incoming = files.begin().await?;
            while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                incoming.write(&chunk).await.map_err(|e| match e {
                    clowder_actors::Error::DocumentTooLarge { .. } => too_large(),
                    e => ApiError::from(e).with_field("file"),
                })?;
            }
            stored = Some(incoming);
            continue;
        }
        let value = text_field(field).await?;
        text_bytes += value.len();
        if text_bytes as u64 > FORM_OVERHEAD {
            return Err(too_large());
        }
        match name.as_str() {
            "client_id" => form.client_id = Some(value),
            "patient_id" => form.patient_id = Some(value),
            "visit_id" => form.visit_id = Some(value),
            "category" => form.category = Some(value),
            "tags" => form.tags.push(value),
            _ => return Err(ValidationError::new(name, "is not a field of a document upload").into()),
        }
    }
    let incoming = stored.ok_or_else(|| ValidationError::new("file", "is required"))?;
    // Checked before the content is made durable, so a refused form leaves nothing behind.
    let probe = clowder_schemas::documents::StoredContent {
        sha256: String::new(),
        size: 0,
        media_type: clowder_schemas::documents::MediaType::Text,
    };
    let links = form.validate(String::new(), probe)?;
    // So are the links (the cat's owner, the visit's cat): a refused link keeps no file.
    state.system.documents.check_links(&links, &staff.caller)?;
    let content = incoming.finish().await.map_err(|e| ApiError::from(e).with_field("file"))?;
    let file_name = display_name(raw_name.as_deref(), content.media_type);
    let draft = form.validate(file_name, content)?;
    let document = state.system.documents.create(draft, &staff.caller).await?;
    Ok(Created::at(format!("/api/documents/{}", document.id), document).into_response())
}

/// The cat whose index a list of a client's, cat's or visit's records walks (a visit's are
/// found through its cat); at least one of the three must be named.
pub(crate) fn listed_cat(
    state: &AppState,
    client_id: Option<ClientId>,
    patient_id: Option<PatientId>,
    visit_id: Option<VisitId>,
) -> Result<Option<PatientId>, ApiError> {
    if client_id.is_none() && patient_id.is_none() && visit_id.is_none() {
        return Err(ValidationError::new("client_id", "name a client_id, patient_id or visit_id").into());
    }
    Ok(match (patient_id, visit_id) {
        (None, Some(v)) => Some(state.system.visits.peek(v)?.patient_id),
        (p, _) => p,
    })
}

/// Documents of a client, a cat or a visit (at least one), newest first; deactivated ones
/// only with `include_inactive=true`. Audited.
#[utoipa::path(
    get, path = "/api/documents", tag = "clinical",
    params(DocumentListQuery),
    responses(
        (status = 200, body = Page<Document>),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn documents_list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<DocumentListQuery>,
) -> Result<axum::Json<Page<Document>>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let patient_id = listed_cat(&state, q.client_id, q.patient_id, q.visit_id)?;
    let filter = DocumentFilter {
        client_id: q.client_id,
        patient_id,
        visit_id: q.visit_id,
        category: q.category,
        tag: q.tag,
        include_inactive: q.include_inactive,
    };
    let (items, next) = state.system.documents.list_for(&filter, page.after, page.limit, &staff.caller).await?;
    Ok(axum::Json(Page::new(items, next)))
}

/// One document's metadata (audited).
#[utoipa::path(
    get, path = "/api/documents/{id}", tag = "clinical",
    params(("id" = DocumentId, Path)),
    responses((status = 200, body = Document), (status = 404, description = "`document_not_found`", body = ErrorResponse))
)]
pub async fn documents_get(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<DocumentId>,
) -> Result<axum::Json<Document>, ApiError> {
    Ok(axum::Json(state.system.documents.get(id, &staff.caller).await?))
}

/// The document's content, streamed from disk with the type told at upload, a safe file name
/// and `X-Content-Type-Options: nosniff`; PDFs and images `inline`, text as an attachment.
/// Audited as a read of the document.
#[utoipa::path(
    get, path = "/api/documents/{id}/content", tag = "clinical",
    params(("id" = DocumentId, Path)),
    responses(
        (status = 200, description = "The file", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 404, description = "`document_not_found`", body = ErrorResponse)
    )
)]
pub async fn documents_content(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<DocumentId>,
) -> Result<Response, ApiError> {
    let document = state.system.documents.get(id, &staff.caller).await?;
    let file = state.system.document_files.open(&document.sha256, document.size).await?;
    let inline = document.media_type != clowder_schemas::documents::MediaType::Text;
    let disposition = content_disposition(&document.file_name, inline);
    let mut res = Body::from_stream(tokio_util::io::ReaderStream::new(file)).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(document.media_type.content_type()));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(document.size));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).unwrap_or(HeaderValue::from_static("attachment")),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // The record's content never changes under its id, but it is medical: not kept by caches.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(res)
}

/// Deactivate a document: hidden from the record's lists, still readable, never deleted.
#[utoipa::path(
    post, path = "/api/documents/{id}/deactivate", tag = "clinical",
    params(("id" = DocumentId, Path)),
    request_body = DeactivateDocument,
    responses(
        (status = 200, body = Document),
        (status = 404, description = "`document_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn documents_deactivate(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<DocumentId>,
    Json(body): Json<DeactivateDocument>,
) -> Result<axum::Json<Document>, ApiError> {
    let reason = body.reason()?;
    Ok(axum::Json(state.system.documents.deactivate(id, reason, &staff.caller).await?))
}
