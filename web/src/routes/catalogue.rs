//! `/api/catalogue`: the service catalogue. Read by whoever builds invoices (`invoices:view`);
//! added to, repriced and retired (`active: false`) with `catalogue:manage`. Never deleted.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use clowder_actors::billing::catalogue::CatalogueFilter;
use clowder_schemas::ErrorResponse;
use clowder_schemas::ValidationError;
use clowder_schemas::catalogue::{CatalogueItem, CatalogueListQuery, CreateCatalogueItem, UpdateCatalogueItem};
use clowder_schemas::ids::CatalogueItemId;
use clowder_schemas::pagination::{Page, PageRequest};

use crate::error::ApiError;
use crate::extract::{Id, Json, Query, Staff};
use crate::reply::Created;
use crate::state::AppState;

/// Add a service or product (amounts in integer cents).
#[utoipa::path(
    post, path = "/api/catalogue", tag = "billing",
    request_body = CreateCatalogueItem,
    responses(
        (status = 201, description = "Added", body = CatalogueItem, headers(("Location" = String, description = "URL of the item"))),
        (status = 409, description = "`duplicate_value`: another active item has this `code`, or already charges this `drug`, `vaccine` or `appointment_type_id`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`, naming the field", body = ErrorResponse),
    )
)]
pub async fn catalogue_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<CreateCatalogueItem>,
) -> Result<Response, ApiError> {
    let item = state.system.catalogue.add(&body, &staff.caller).await?;
    Ok(Created::at(format!("/api/catalogue/{}", item.id), item).into_response())
}

/// The catalogue, in the order items were added; `q` searches the name and code, `status`
/// is `active` (default), `retired` or `all`.
#[utoipa::path(
    get, path = "/api/catalogue", tag = "billing",
    params(CatalogueListQuery),
    responses((status = 200, body = Page<CatalogueItem>), (status = 422, description = "`validation_failed`", body = ErrorResponse))
)]
pub async fn catalogue_list(
    State(state): State<AppState>,
    _staff: Staff,
    Query(q): Query<CatalogueListQuery>,
) -> Result<axum::Json<Page<CatalogueItem>>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let active = match q.status.as_deref() {
        None | Some("active") => Some(true),
        Some("retired") => Some(false),
        Some("all") => None,
        Some(_) => return Err(ValidationError::new("status", "must be active, retired or all").into()),
    };
    let filter = CatalogueFilter {
        words: q.q.as_deref().unwrap_or("").split_whitespace().map(str::to_lowercase).collect(),
        category: q.category.as_deref().map(|c| c.trim().to_lowercase()).filter(|c| !c.is_empty()),
        kind: q.kind,
        active,
    };
    let (items, next) = state.system.catalogue.list_unaudited(&filter, page.after, page.limit)?;
    Ok(axum::Json(Page::new(items, next)))
}

/// One catalogue item.
#[utoipa::path(
    get, path = "/api/catalogue/{id}", tag = "billing",
    params(("id" = CatalogueItemId, Path)),
    responses((status = 200, body = CatalogueItem), (status = 404, description = "`catalogue_item_not_found`", body = ErrorResponse))
)]
pub async fn catalogue_get(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<CatalogueItemId>,
) -> Result<axum::Json<CatalogueItem>, ApiError> {
    Ok(axum::Json(state.system.catalogue.get(id, &staff.caller).await?))
}

/// Change an item (merge patch; `null` clears). `active: false` retires it: it is no longer
/// offered, gives up its code and links, and stays on the invoices that name it.
#[utoipa::path(
    patch, path = "/api/catalogue/{id}", tag = "billing",
    params(("id" = CatalogueItemId, Path)),
    request_body = UpdateCatalogueItem,
    responses(
        (status = 200, body = CatalogueItem),
        (status = 404, description = "`catalogue_item_not_found`", body = ErrorResponse),
        (status = 409, description = "`duplicate_value`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn catalogue_update(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<CatalogueItemId>,
    Json(patch): Json<UpdateCatalogueItem>,
) -> Result<axum::Json<CatalogueItem>, ApiError> {
    Ok(axum::Json(state.system.catalogue.update(id, patch, &staff.caller).await?))
}
