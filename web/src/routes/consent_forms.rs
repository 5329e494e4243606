//! `/api/consent-templates` and `/api/consent-forms`: the clinic's consent wording (read with
//! `visits:view`, written with `consent_templates:manage`, each change a new version) and the
//! forms made from it for a visit (`visits:edit`), signed on the tablet with a drawn signature
//! (a PNG data URL checked by its pixels); the signed PDF is a `consent` document. A signed
//! form never changes: 409 `consent_form_signed`.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use clowder_actors::clinical::consent_forms::{FormFilter, Signing, TemplateFilter};
use clowder_schemas::consent_forms::{
    ConsentForm, ConsentFormListQuery, ConsentKind, ConsentTemplate, CreateConsentForm, CreateConsentTemplate,
    SignConsentForm, UpdateConsentForm, UpdateConsentTemplate, VoidConsentForm,
};
use clowder_schemas::ids::{ConsentFormId, ConsentTemplateId};
use clowder_schemas::pagination::{Page, PageRequest};
use clowder_schemas::{ErrorResponse, ValidationError};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::extract::{Id, Json, Query, Staff};
use crate::reply::Created;
use crate::state::AppState;

/// Longest signature data URL read (256 KiB of PNG in base64, with room for the prefix).
const MAX_SIGNATURE_CHARS: usize = 256 * 1024 * 4 / 3 + 64;

/// Query of `GET /api/consent-templates`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TemplateListQuery {
    /// Only this kind.
    pub kind: Option<ConsentKind>,
    /// Retired templates too (default false).
    #[serde(default)]
    pub include_inactive: bool,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The consent templates, oldest first.
#[utoipa::path(
    get, path = "/api/consent-templates", tag = "clinical",
    params(TemplateListQuery),
    responses((status = 200, body = Page<ConsentTemplate>), (status = 422, description = "`validation_failed`", body = ErrorResponse))
)]
pub async fn consent_templates_list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<TemplateListQuery>,
) -> Result<axum::Json<Page<ConsentTemplate>>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let filter = TemplateFilter { kind: q.kind, include_inactive: q.include_inactive };
    let (items, next) = state.system.consent_templates.list(&filter, page.after, page.limit, &staff.caller).await?;
    Ok(axum::Json(Page::new(items, next)))
}

/// Write a new consent template. The title and body may use the placeholders `{cat}`,
/// `{owner}`, `{clinic}`, `{date}`, `{procedure}`, `{estimate_low}`, `{estimate_high}`,
/// `{vet}`; any other is 422 on the field naming it.
#[utoipa::path(
    post, path = "/api/consent-templates", tag = "clinical",
    request_body = CreateConsentTemplate,
    responses(
        (status = 201, description = "Written, version 1", body = ConsentTemplate, headers(("Location" = String, description = "URL of the template"))),
        (status = 422, description = "`validation_failed` (an unknown placeholder)", body = ErrorResponse),
    )
)]
pub async fn consent_templates_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<CreateConsentTemplate>,
) -> Result<Response, ApiError> {
    let t = state.system.consent_templates.create(body.validate()?, &staff.caller).await?;
    Ok(Created::at(format!("/api/consent-templates/{}", t.id), t).into_response())
}

/// One consent template, its current version.
#[utoipa::path(
    get, path = "/api/consent-templates/{id}", tag = "clinical",
    params(("id" = ConsentTemplateId, Path)),
    responses((status = 200, body = ConsentTemplate), (status = 404, description = "`consent_template_not_found`", body = ErrorResponse))
)]
pub async fn consent_templates_get(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<ConsentTemplateId>,
) -> Result<axum::Json<ConsentTemplate>, ApiError> {
    Ok(axum::Json(state.system.consent_templates.get(id, &staff.caller).await?))
}

/// Change a template: a new title or body is a new version (forms made before keep theirs);
/// `active: false` retires it.
#[utoipa::path(
    patch, path = "/api/consent-templates/{id}", tag = "clinical",
    params(("id" = ConsentTemplateId, Path)),
    request_body = UpdateConsentTemplate,
    responses(
        (status = 200, body = ConsentTemplate),
        (status = 404, description = "`consent_template_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed` (an unknown placeholder)", body = ErrorResponse),
    )
)]
pub async fn consent_templates_update(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<ConsentTemplateId>,
    Json(patch): Json<UpdateConsentTemplate>,
) -> Result<axum::Json<ConsentTemplate>, ApiError> {
    Ok(axum::Json(state.system.consent_templates.command(id, patch, &staff.caller).await?))
}

/// Make a consent form for a visit from a template's current version: the cat and owner
/// are the visit's; a treatment-estimate template needs an estimate of that cat, whose
/// option's low and high totals fill `{estimate_low}` and `{estimate_high}`. The text is
/// filled and frozen now.
#[utoipa::path(
    post, path = "/api/consent-forms", tag = "clinical",
    request_body = CreateConsentForm,
    responses(
        (status = 201, description = "Made, a draft", body = ConsentForm, headers(("Location" = String, description = "URL of the form"))),
        (status = 404, description = "`consent_template_not_found`, `visit_not_found`, `estimate_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed` (a retired template, an estimate of another cat)", body = ErrorResponse),
    )
)]
pub async fn consent_forms_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<CreateConsentForm>,
) -> Result<Response, ApiError> {
    let form = state.system.consent_forms.create(body.validate()?, &staff.caller).await?;
    Ok(Created::at(format!("/api/consent-forms/{}", form.id), form).into_response())
}

/// Consent forms of a client, a cat or a visit (at least one), newest first. Audited.
#[utoipa::path(
    get, path = "/api/consent-forms", tag = "clinical",
    params(ConsentFormListQuery),
    responses((status = 200, body = Page<ConsentForm>), (status = 422, description = "`validation_failed`", body = ErrorResponse))
)]
pub async fn consent_forms_list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ConsentFormListQuery>,
) -> Result<axum::Json<Page<ConsentForm>>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let patient_id = super::documents::listed_cat(&state, q.client_id, q.patient_id, q.visit_id)?;
    let filter = FormFilter { client_id: q.client_id, patient_id, visit_id: q.visit_id };
    let (items, next) = state.system.consent_forms.list(&filter, page.after, page.limit, &staff.caller).await?;
    Ok(axum::Json(Page::new(items, next)))
}

/// One consent form (audited).
#[utoipa::path(
    get, path = "/api/consent-forms/{id}", tag = "clinical",
    params(("id" = ConsentFormId, Path)),
    responses((status = 200, body = ConsentForm), (status = 404, description = "`consent_form_not_found`", body = ErrorResponse))
)]
pub async fn consent_forms_get(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<ConsentFormId>,
) -> Result<axum::Json<ConsentForm>, ApiError> {
    Ok(axum::Json(state.system.consent_forms.get(id, &staff.caller).await?))
}

/// Correct a draft's procedure (the text is filled again from the same template version).
#[utoipa::path(
    patch, path = "/api/consent-forms/{id}", tag = "clinical",
    params(("id" = ConsentFormId, Path)),
    request_body = UpdateConsentForm,
    responses(
        (status = 200, body = ConsentForm),
        (status = 404, description = "`consent_form_not_found`", body = ErrorResponse),
        (status = 409, description = "`consent_form_signed`, `consent_form_voided`: it cannot change", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn consent_forms_update(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<ConsentFormId>,
    Json(body): Json<UpdateConsentForm>,
) -> Result<axum::Json<ConsentForm>, ApiError> {
    Ok(axum::Json(state.system.consent_forms.set_procedure(id, body.procedure()?, &staff.caller).await?))
}

/// Sign a draft on the tablet: the signer's name, their relationship to the cat and the drawn
/// signature (a `data:image/png;base64,…` URL: a real PNG of at most 256 KiB and 2000 × 1000
/// pixels, not blank). The server stamps the time and the witness (the signed-in staff
/// member), prints the signed PDF and files it as a `consent` document of the visit
/// (`signature.document_id`). Once signed, it never changes.
#[utoipa::path(
    post, path = "/api/consent-forms/{id}/sign", tag = "clinical",
    params(("id" = ConsentFormId, Path)),
    request_body = SignConsentForm,
    responses(
        (status = 200, description = "Signed", body = ConsentForm),
        (status = 404, description = "`consent_form_not_found`", body = ErrorResponse),
        (status = 409, description = "`consent_form_signed` (signed before), `consent_form_voided`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: `signer_name` empty, `signature` not a PNG, too large, or blank", body = ErrorResponse),
    )
)]
pub async fn consent_forms_sign(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<ConsentFormId>,
    Json(body): Json<SignConsentForm>,
) -> Result<axum::Json<ConsentForm>, ApiError> {
    let signer_name = body.signer_name()?;
    let data = body.png_base64()?;
    if data.len() > MAX_SIGNATURE_CHARS {
        return Err(ValidationError::new("signature", "is larger than 256 KiB").into());
    }
    let png = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|_| ValidationError::new("signature", "is not valid base64"))?;
    let signing = Signing { signer_name, relationship: body.relationship, png };
    Ok(axum::Json(state.system.consent_forms.sign(id, signing, &staff.caller).await?))
}

/// Void a draft (a wrong template, the owner declined) with a reason; a signed form is 409.
#[utoipa::path(
    post, path = "/api/consent-forms/{id}/void", tag = "clinical",
    params(("id" = ConsentFormId, Path)),
    request_body = VoidConsentForm,
    responses(
        (status = 200, body = ConsentForm),
        (status = 404, description = "`consent_form_not_found`", body = ErrorResponse),
        (status = 409, description = "`consent_form_signed`, `consent_form_voided`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn consent_forms_void(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<ConsentFormId>,
    Json(body): Json<VoidConsentForm>,
) -> Result<axum::Json<ConsentForm>, ApiError> {
    Ok(axum::Json(state.system.consent_forms.void(id, body.reason()?, &staff.caller).await?))
}
