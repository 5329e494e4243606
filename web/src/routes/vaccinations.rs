//! `/api/vaccinations` and a cat's `/api/patients/{id}/vaccinations`: doses, refusals,
//! adverse reactions, due-date overrides, risk assessments, a cat's due list and the clinic's.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use clowder_actors::clinical::vaccinations::DueFilter;
use clowder_schemas::ids::{LocationId, VaccinationId};
use clowder_schemas::pagination::{Page, PageRequest};
use clowder_schemas::vaccinations::{
    AddReaction, AssessRisk, CreateVaccination, DeclineVaccination, DueCat, DueQuery, DueStatus, OverrideDue,
    PatientVaccinations, Vaccination,
};
use clowder_schemas::{ErrorResponse, PatientId, ValidationError};

use crate::error::ApiError;
use crate::extract::{Id, Json, Query, Staff};
use crate::reply::Created;
use crate::state::AppState;

fn created(v: Vaccination) -> Response {
    Created::at(format!("/api/vaccinations/{}", v.id), v).into_response()
}

/// Record a dose given. The date is not in the future, not before the cat's birth and not after
/// the product's expiry; rabies doses name the label's duration (`label_years`).
#[utoipa::path(
    post, path = "/api/vaccinations", tag = "clinical",
    request_body = CreateVaccination,
    responses(
        (status = 201, description = "Created", body = Vaccination, headers(("Location" = String, description = "URL of the entry"))),
        (status = 404, description = "`patient_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`, naming the field (`given_on`, `vaccine`, `label_years`, `patient_id` for a deceased cat, …)", body = ErrorResponse),
    )
)]
pub async fn vaccinations_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<CreateVaccination>,
) -> Result<Response, ApiError> {
    let today = state.system.ctx.today();
    Ok(created(state.system.vaccinations.record_dose(body, today, &staff.caller).await?))
}

/// Record that the owner declined a vaccine, with their reason.
#[utoipa::path(
    post, path = "/api/vaccinations/declined", tag = "clinical",
    request_body = DeclineVaccination,
    responses(
        (status = 201, description = "Created", body = Vaccination),
        (status = 404, description = "`patient_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn vaccinations_decline(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<DeclineVaccination>,
) -> Result<Response, ApiError> {
    let today = state.system.ctx.today();
    Ok(created(state.system.vaccinations.decline(body, today, &staff.caller).await?))
}

/// One vaccination entry.
#[utoipa::path(
    get, path = "/api/vaccinations/{id}", tag = "clinical",
    params(("id" = VaccinationId, Path)),
    responses((status = 200, body = Vaccination), (status = 404, description = "`vaccination_not_found`", body = ErrorResponse))
)]
pub async fn vaccinations_get(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<VaccinationId>,
) -> Result<axum::Json<Vaccination>, ApiError> {
    Ok(axum::Json(state.system.vaccinations.get(id, &staff.caller).await?))
}

/// Add an adverse reaction observed after a dose (who and when are recorded).
#[utoipa::path(
    post, path = "/api/vaccinations/{id}/reactions", tag = "clinical",
    params(("id" = VaccinationId, Path)),
    request_body = AddReaction,
    responses(
        (status = 200, body = Vaccination),
        (status = 404, description = "`vaccination_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed` (`id` when the entry is not a dose)", body = ErrorResponse),
    )
)]
pub async fn vaccinations_reaction(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<VaccinationId>,
    Json(body): Json<AddReaction>,
) -> Result<axum::Json<Vaccination>, ApiError> {
    Ok(axum::Json(state.system.vaccinations.add_reaction(id, body, &staff.caller).await?))
}

/// A cat's vaccination entries (newest first) and its due list: each vaccine's computed date
/// with the rule that produced it and the protocol version, and any override beside it.
#[utoipa::path(
    get, path = "/api/patients/{id}/vaccinations", tag = "clinical",
    params(("id" = PatientId, Path)),
    responses((status = 200, body = PatientVaccinations), (status = 404, description = "`patient_not_found`", body = ErrorResponse))
)]
pub async fn patient_vaccinations(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<PatientId>,
) -> Result<axum::Json<PatientVaccinations>, ApiError> {
    let today = state.system.ctx.today();
    Ok(axum::Json(state.system.vaccinations.for_patient(id, today, &staff.caller).await?))
}

/// Override a cat's next due date of a vaccine (`due_on: null`: not due), with a reason. It
/// holds until the next dose.
#[utoipa::path(
    post, path = "/api/patients/{id}/vaccinations/overrides", tag = "clinical",
    params(("id" = PatientId, Path)),
    request_body = OverrideDue,
    responses(
        (status = 201, description = "Created", body = Vaccination),
        (status = 404, description = "`patient_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn patient_vaccination_override(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<PatientId>,
    Json(body): Json<OverrideDue>,
) -> Result<Response, ApiError> {
    Ok(created(state.system.vaccinations.override_due(id, body, &staff.caller).await?))
}

/// Record whether a cat is at risk for a risk-based vaccine (FeLV for adults, the non-core
/// ones): outdoor access, FeLV-positive housemates, boarding.
#[utoipa::path(
    post, path = "/api/patients/{id}/vaccinations/risk", tag = "clinical",
    params(("id" = PatientId, Path)),
    request_body = AssessRisk,
    responses(
        (status = 201, description = "Created", body = Vaccination),
        (status = 404, description = "`patient_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn patient_vaccination_risk(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<PatientId>,
    Json(body): Json<AssessRisk>,
) -> Result<Response, ApiError> {
    Ok(created(state.system.vaccinations.assess_risk(id, body, &staff.caller).await?))
}

/// Vaccines due or overdue, per cat (active cats only), optionally at one location (a cat's
/// location is where its last appointment was). `to` defaults to 30 days from today.
#[utoipa::path(
    get, path = "/api/vaccinations/due", tag = "clinical",
    params(DueQuery),
    responses((status = 200, body = Page<DueCat>), (status = 422, description = "`validation_failed`", body = ErrorResponse))
)]
pub async fn vaccinations_due(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<DueQuery>,
) -> Result<axum::Json<Page<DueCat>>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let today = state.system.ctx.today();
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some("due") => Some(DueStatus::Due),
        Some("overdue") => Some(DueStatus::Overdue),
        Some(_) => return Err(ValidationError::new("status", "must be due or overdue").into()),
    };
    let location_id = match q.location_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(l) => Some(
            l.parse::<LocationId>()
                .map_err(|_| ApiError::from(ValidationError::new("location_id", "is not a location id")))?,
        ),
    };
    let to = q.to.unwrap_or_else(|| today.checked_add(jiff::Span::new().days(30)).unwrap_or(today));
    if q.from.is_some_and(|f| f > to) {
        return Err(ValidationError::new("from", "is after to").into());
    }
    let filter = DueFilter { location_id, from: q.from, to: Some(to), status };
    let (items, next) = state.system.vaccinations.due(&filter, today, page.after, page.limit, &staff.caller).await?;
    Ok(axum::Json(Page::new(items, next)))
}
