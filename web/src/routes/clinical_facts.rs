//! `/api/clinical-facts`: the clinical fact sets (normal ranges today; the vaccination
//! protocol and the formulary next), each version kept with its source. Reading is open to
//! every signed-in staff member (they are published guidelines, not patient data); a new
//! version needs `clinical_facts:manage` and is audited.

use axum::extract::{Path, State};
use clowder_schemas::clinical_facts::{FactSetSummary, FactVersion, FactsQuery, PutFacts, fact_set};
use clowder_schemas::{ErrorCode, ErrorResponse};

use crate::error::ApiError;
use crate::extract::{Json, Query, Staff};
use crate::state::AppState;

fn unknown(name: &str) -> ApiError {
    ApiError::new(ErrorCode::FactSetNotFound, format!("no clinical fact set called {name:?}"))
}

/// Every fact set with its current version and source.
#[utoipa::path(
    get, path = "/api/clinical-facts", tag = "clinical",
    responses((status = 200, body = Vec<FactSetSummary>))
)]
pub async fn clinical_facts_list(
    State(state): State<AppState>,
    _staff: Staff,
) -> Result<axum::Json<Vec<FactSetSummary>>, ApiError> {
    Ok(axum::Json(state.system.clinical_facts.list()?))
}

/// A fact set's current version, or the version `?version=` names.
#[utoipa::path(
    get, path = "/api/clinical-facts/{name}", tag = "clinical",
    params(("name" = String, Path, description = "e.g. `vital_ranges`"), FactsQuery),
    responses(
        (status = 200, body = FactVersion),
        (status = 404, description = "`fact_set_not_found`: no such fact set or version", body = ErrorResponse),
    )
)]
pub async fn clinical_facts_get(
    State(state): State<AppState>,
    _staff: Staff,
    Path(name): Path<String>,
    Query(q): Query<FactsQuery>,
) -> Result<axum::Json<FactVersion>, ApiError> {
    fact_set(&name).ok_or_else(|| unknown(&name))?;
    Ok(axum::Json(state.system.clinical_facts.get(&name, q.version)?))
}

/// Publish a new version of a fact set: the whole body, checked by the fact set's own type,
/// and the source it cites. Earlier versions stay readable; records name the version they
/// used.
#[utoipa::path(
    put, path = "/api/clinical-facts/{name}", tag = "clinical",
    params(("name" = String, Path, description = "e.g. `vital_ranges`")),
    request_body = PutFacts,
    responses(
        (status = 200, description = "The new version", body = FactVersion),
        (status = 404, description = "`fact_set_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`, naming the field under `body`", body = ErrorResponse),
    )
)]
pub async fn clinical_facts_put(
    State(state): State<AppState>,
    staff: Staff,
    Path(name): Path<String>,
    Json(body): Json<PutFacts>,
) -> Result<axum::Json<FactVersion>, ApiError> {
    let info = fact_set(&name).ok_or_else(|| unknown(&name))?;
    let draft = body.validate(info)?;
    Ok(axum::Json(state.system.clinical_facts.publish(&name, draft, &staff.caller).await?))
}
