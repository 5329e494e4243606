//! `/api/templates`: message templates (read with `communications:view`, written with
//! `communications:manage`) and their preview. A template is checked when it is saved
//! (422 naming the field); see docs/communications.md.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use clowder_actors::comms::templates::TemplateFilter;
use clowder_schemas::pagination::{Page, PageRequest};
use clowder_schemas::templates::{
    CreateTemplate, PreviewTemplate, RenderedTemplate, Template, TemplateListQuery, UpdateTemplate,
};
use clowder_schemas::{ErrorResponse, TemplateId};

use crate::error::ApiError;
use crate::extract::{Id, Json, Query, Staff};
use crate::reply::Created;
use crate::state::AppState;

/// Templates in creation order, filtered by category, channel and `active`.
#[utoipa::path(
    get, path = "/api/templates", tag = "communications",
    params(TemplateListQuery),
    responses((status = 200, body = Page<Template>), (status = 422, description = "`validation_failed`", body = ErrorResponse))
)]
pub async fn templates_list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<TemplateListQuery>,
) -> Result<axum::Json<Page<Template>>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let filter = TemplateFilter { category: q.category, channel: q.channel, active: q.active };
    let (items, next) = state.system.templates.list(&filter, page.after, page.limit, &staff.caller).await?;
    Ok(axum::Json(Page::new(items, next)))
}

/// Add a template. Refused with 422 naming the field when it uses a variable its category
/// does not have, has a syntax error or unbalanced tags, has `<script>` in its HTML, or (SMS)
/// takes more than `max_sms_segments` with sample data.
#[utoipa::path(
    post, path = "/api/templates", tag = "communications",
    request_body = CreateTemplate,
    responses(
        (status = 201, body = Template),
        (status = 409, description = "`duplicate_value`: the name is taken on this channel", body = ErrorResponse),
        (status = 422, description = "`validation_failed`, naming the field", body = ErrorResponse),
    )
)]
pub async fn templates_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<CreateTemplate>,
) -> Result<Response, ApiError> {
    let t = state.system.templates.create(body.validate()?, &staff.caller).await?;
    Ok(Created::at(format!("/api/templates/{}", t.id), t).into_response())
}

/// One template, with its earlier versions.
#[utoipa::path(
    get, path = "/api/templates/{id}", tag = "communications",
    params(("id" = TemplateId, Path)),
    responses((status = 200, body = Template), (status = 404, description = "`template_not_found`", body = ErrorResponse))
)]
pub async fn templates_get(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<TemplateId>,
) -> Result<axum::Json<Template>, ApiError> {
    Ok(axum::Json(state.system.templates.get(id, &staff.caller).await?))
}

/// Change a template (merge patch). A change of content is checked like a new template and
/// makes a new version; the previous one is kept in `versions`.
#[utoipa::path(
    patch, path = "/api/templates/{id}", tag = "communications",
    params(("id" = TemplateId, Path)),
    request_body = UpdateTemplate,
    responses(
        (status = 200, body = Template),
        (status = 404, description = "`template_not_found`", body = ErrorResponse),
        (status = 409, description = "`duplicate_value`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn templates_update(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<TemplateId>,
    Json(patch): Json<UpdateTemplate>,
) -> Result<axum::Json<Template>, ApiError> {
    Ok(axum::Json(state.system.templates.update(id, patch, &staff.caller).await?))
}

/// Render a template with sample data; `values` replace sample values; `subject`,
/// `text_body` and `html_body`, when given, are unsaved content rendered instead of the saved
/// one (checked like a save: 422 naming the field). Writes nothing.
#[utoipa::path(
    post, path = "/api/templates/{id}/preview", tag = "communications",
    params(("id" = TemplateId, Path)),
    request_body = PreviewTemplate,
    responses(
        (status = 200, body = RenderedTemplate),
        (status = 404, description = "`template_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: a value not in the category's catalogue", body = ErrorResponse),
    )
)]
pub async fn templates_preview(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<TemplateId>,
    Json(body): Json<PreviewTemplate>,
) -> Result<axum::Json<RenderedTemplate>, ApiError> {
    let tz = state.system.ctx.config.time_zone.clone();
    Ok(axum::Json(state.system.templates.preview(id, body, &tz, &staff.caller).await?))
}
