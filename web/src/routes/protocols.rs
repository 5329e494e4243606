//! `/api/protocols` (templates of dated steps: read with `protocols:view`, written with
//! `protocols:manage`, each edit a new version; the built-in starters to copy) and
//! `/api/treatment-plans` (a protocol applied to a cat: the medical record, `visits:view` to
//! read, audited, and `visits:edit` to apply and change; every change is a revision; a step's
//! appointment booked and linked in one request, `plan_booking`). The
//! protocol screens (`/protocols`, `/protocols/{id}`, `/protocols/new`) are at the end.

use std::collections::BTreeSet;

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use clowder_actors::billing::catalogue::CatalogueFilter;
use clowder_actors::billing::invoices::InvoiceFilter;
use clowder_actors::clinical::plan_booking::book_step;
use clowder_actors::clinical::protocols::{ProtocolFilter, starters};
use clowder_actors::clinical::treatment_plans::PlanDraft;
use clowder_actors::scheduling::calendar::{AvailabilityRequest, WindowBound};
use clowder_schemas::access::Permission;
use clowder_schemas::appointments::Availability;
use clowder_schemas::audit::Caller;
use clowder_schemas::ids::{ProtocolId, TreatmentPlanId};
use clowder_schemas::invoices::InvoiceStatus;
use clowder_schemas::money::Cents;
use clowder_schemas::pagination::{Page, PageRequest};
use clowder_schemas::protocols::{
    BookStep, CreatePlan, CreateProtocol, OfferQuery, PlanChange, PlanRevision, PlanView, Protocol, ProtocolListQuery,
    StepBooked, StepStatus, TreatmentPlan, UpdateProtocol,
};
use clowder_schemas::{ErrorResponse, PatientId, ValidationError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::access::granted_on;
use crate::error::ApiError;
use crate::extract::{Id, Json, Query, Staff};
use crate::reply::Created;
use crate::state::AppState;
use crate::views::protocols::{ProtocolEditor, ProtocolsPage};
use crate::views::{ErrorPage, Nav, Section, render};

/// The clinic's protocols, oldest first (`active=true`: the ones that can be applied).
#[utoipa::path(
    get, path = "/api/protocols", tag = "clinical",
    params(ProtocolListQuery),
    responses((status = 200, body = Page<Protocol>), (status = 422, body = ErrorResponse))
)]
pub async fn protocols_list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ProtocolListQuery>,
) -> Result<axum::Json<Page<Protocol>>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let filter = ProtocolFilter { active: q.active };
    let (items, next) = state.system.protocols.list(&filter, page.after, page.limit, &staff.caller).await?;
    Ok(axum::Json(Page::new(items, next)))
}

/// Create a protocol: 1 to 100 steps, each with a day offset (0 to 3650) and a cost (typed,
/// or the catalogue item's price).
#[utoipa::path(
    post, path = "/api/protocols", tag = "clinical",
    request_body = CreateProtocol,
    responses(
        (status = 201, body = Protocol, headers(("Location" = String, description = "URL of the protocol"))),
        (status = 422, description = "`validation_failed`, naming the field (`steps[2].day_offset`)", body = ErrorResponse),
    )
)]
pub async fn protocols_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<CreateProtocol>,
) -> Result<Response, ApiError> {
    let draft = body.validate()?;
    let p = state.system.protocols.create(draft, &staff.caller).await?;
    Ok(Created::at(format!("/api/protocols/{}", p.id), p).into_response())
}

/// One protocol (its current version).
#[utoipa::path(
    get, path = "/api/protocols/{id}", tag = "clinical",
    params(("id" = ProtocolId, Path)),
    responses((status = 200, body = Protocol), (status = 404, description = "`protocol_not_found`", body = ErrorResponse))
)]
pub async fn protocols_get(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<ProtocolId>,
) -> Result<axum::Json<Protocol>, ApiError> {
    Ok(axum::Json(state.system.protocols.get(id, &staff.caller).await?))
}

/// Change a protocol: a new version (`steps` replaces every step). Plans already made keep
/// the steps of their version.
#[utoipa::path(
    patch, path = "/api/protocols/{id}", tag = "clinical",
    params(("id" = ProtocolId, Path)),
    request_body = UpdateProtocol,
    responses(
        (status = 200, body = Protocol),
        (status = 404, description = "`protocol_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn protocols_update(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<ProtocolId>,
    Json(patch): Json<UpdateProtocol>,
) -> Result<axum::Json<Protocol>, ApiError> {
    let patch = patch.validate()?;
    Ok(axum::Json(state.system.protocols.update(id, patch, &staff.caller).await?))
}

/// A built-in starter protocol.
#[derive(Debug, Serialize, ToSchema)]
pub struct Starter {
    /// What `POST /api/protocols/starters/{key}` copies.
    pub key: &'static str,
    pub protocol: CreateProtocol,
}

/// The built-in starters (dental cleaning, CKD monitoring, hyperthyroid radioiodine work-up,
/// kitten series) a clinic copies and then prices.
#[utoipa::path(
    get, path = "/api/protocols/starters", tag = "clinical",
    responses((status = 200, body = Vec<Starter>))
)]
pub async fn protocols_starters() -> axum::Json<Vec<Starter>> {
    axum::Json(starters().into_iter().map(|(key, protocol)| Starter { key, protocol }).collect())
}

/// Copy a built-in starter into the clinic's protocols.
#[utoipa::path(
    post, path = "/api/protocols/starters/{key}", tag = "clinical",
    params(("key" = String, Path)),
    responses(
        (status = 201, body = Protocol, headers(("Location" = String, description = "URL of the protocol"))),
        (status = 422, description = "`validation_failed` on `key`", body = ErrorResponse),
    )
)]
pub async fn protocols_copy_starter(
    State(state): State<AppState>,
    staff: Staff,
    Path(key): Path<String>,
) -> Result<Response, ApiError> {
    let p = state.system.protocols.copy_starter(&key, &staff.caller).await?;
    Ok(Created::at(format!("/api/protocols/{}", p.id), p).into_response())
}

/// Apply a protocol to a cat: a plan with each step on the start date plus its offset (the
/// clinic's local dates). The cat must be active and alive, the protocol active.
#[utoipa::path(
    post, path = "/api/treatment-plans", tag = "clinical",
    request_body = CreatePlan,
    responses(
        (status = 201, body = PlanView, headers(("Location" = String, description = "URL of the plan"))),
        (status = 404, description = "`patient_not_found`, `protocol_not_found`", body = ErrorResponse),
        (status = 409, description = "`protocol_inactive`", body = ErrorResponse),
        (status = 422, description = "`validation_failed` (`patient_id`: deceased or inactive; `start_date`)", body = ErrorResponse),
    )
)]
pub async fn treatment_plans_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<CreatePlan>,
) -> Result<Response, ApiError> {
    let today = state.system.ctx.today();
    let start_date = body.start_date.unwrap_or(today);
    if start_date < today.saturating_sub(jiff::Span::new().days(366)) {
        return Err(ValidationError::new("start_date", "is more than a year ago").into());
    }
    let draft = PlanDraft { patient_id: body.patient_id, protocol_id: body.protocol_id, start_date };
    let plan = state.system.treatment_plans.create(draft, &staff.caller).await?;
    let view = view(&state, plan, &staff.caller).await?;
    Ok(Created::at(format!("/api/treatment-plans/{}", view.plan.id), view).into_response())
}

/// A plan with its progress and its estimated and actual cost (audited, with the invoices
/// read for the actual cost).
#[utoipa::path(
    get, path = "/api/treatment-plans/{id}", tag = "clinical",
    params(("id" = TreatmentPlanId, Path)),
    responses((status = 200, body = PlanView), (status = 404, description = "`treatment_plan_not_found`", body = ErrorResponse))
)]
pub async fn treatment_plans_get(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<TreatmentPlanId>,
) -> Result<axum::Json<PlanView>, ApiError> {
    let plan = state.system.treatment_plans.get(id, &staff.caller).await?;
    Ok(axum::Json(view(&state, plan, &staff.caller).await?))
}

/// Change a plan: `book` (link an appointment), `done`, `skip` (reason), `move` (date,
/// reason), `add` (a step, reason), `remove` (reason), `cancel` (reason). Each is a revision in
/// the plan's history.
#[utoipa::path(
    post, path = "/api/treatment-plans/{id}/changes", tag = "clinical",
    params(("id" = TreatmentPlanId, Path)),
    request_body = PlanChange,
    responses(
        (status = 200, body = PlanView),
        (status = 404, description = "`treatment_plan_not_found`, `plan_step_not_found`", body = ErrorResponse),
        (status = 409, description = "`plan_step_already_settled`, `treatment_plan_closed`", body = ErrorResponse),
        (status = 422, description = "`validation_failed` (`reason` missing, `date` outside the plan)", body = ErrorResponse),
    )
)]
pub async fn treatment_plans_change(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<TreatmentPlanId>,
    Json(change): Json<PlanChange>,
) -> Result<axum::Json<PlanView>, ApiError> {
    let plan = state.system.treatment_plans.change(id, change, &staff.caller).await?;
    Ok(axum::Json(view(&state, plan, &staff.caller).await?))
}

/// Book a step's appointment and link it, in one request: the appointment (the step's type,
/// for the plan's cat and its owner) is booked as `POST /api/appointments` books, then linked
/// (`action: book`). If the link is refused (the plan closed, the step settled or booked
/// meanwhile) the appointment just booked is cancelled with the refusal as its reason before
/// the refusal is answered, so the calendar never keeps a booking nothing points at. Needs
/// `appointments:create` besides `visits:edit`.
#[utoipa::path(
    post, path = "/api/treatment-plans/{id}/bookings", tag = "clinical",
    params(("id" = TreatmentPlanId, Path)),
    request_body = BookStep,
    responses(
        (status = 201, body = StepBooked, headers(("Location" = String, description = "URL of the appointment"))),
        (status = 403, description = "without `appointments:create`, or `overbook` without `appointments:overbook`", body = ErrorResponse),
        (status = 404, description = "`treatment_plan_not_found`, `plan_step_not_found`", body = ErrorResponse),
        (status = 409, description = "`appointment_conflict` (nothing booked); `plan_step_already_settled`, `plan_step_already_booked`, `treatment_plan_closed` (the appointment, if booked, withdrawn)", body = ErrorResponse),
        (status = 422, description = "`validation_failed` (`step` has no appointment type; the booking's fields)", body = ErrorResponse),
    )
)]
pub async fn treatment_plans_book(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<TreatmentPlanId>,
    Json(body): Json<BookStep>,
) -> Result<Response, ApiError> {
    if granted_on(&staff, &Method::POST, "/api/appointments").is_none() {
        return Err(ApiError::forbidden(Permission::AppointmentsCreate));
    }
    let (calendar, held) = (&state.system.scheduling.calendar, &staff.principal.permissions);
    let (appointment, plan) =
        book_step(&state.system.treatment_plans, calendar, id, &body, held, &staff.caller).await?;
    let view = view(&state, plan, &staff.caller).await?;
    Ok(Created::at(format!("/api/appointments/{}", appointment.id), StepBooked { appointment, view }).into_response())
}

/// A plan's history: every revision with who, when, what and why (audited as a read).
#[utoipa::path(
    get, path = "/api/treatment-plans/{id}/history", tag = "clinical",
    params(("id" = TreatmentPlanId, Path)),
    responses((status = 200, body = Vec<PlanRevision>), (status = 404, description = "`treatment_plan_not_found`", body = ErrorResponse))
)]
pub async fn treatment_plans_history(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<TreatmentPlanId>,
) -> Result<axum::Json<Vec<PlanRevision>>, ApiError> {
    Ok(axum::Json(state.system.treatment_plans.get(id, &staff.caller).await?.history))
}

/// Free slots to book a step: the availability of the step's appointment type from `window_days`
/// (default 3, at most 14) before its date (not before today) to as many after.
#[utoipa::path(
    get, path = "/api/treatment-plans/{id}/offer", tag = "clinical",
    params(("id" = TreatmentPlanId, Path), OfferQuery),
    responses(
        (status = 200, body = Availability),
        (status = 404, description = "`treatment_plan_not_found`, `plan_step_not_found`", body = ErrorResponse),
        (status = 409, description = "`plan_step_already_settled`", body = ErrorResponse),
        (status = 422, description = "`validation_failed` (`step` has no appointment type)", body = ErrorResponse),
    )
)]
pub async fn treatment_plans_offer(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<TreatmentPlanId>,
    Query(q): Query<OfferQuery>,
) -> Result<axum::Json<Availability>, ApiError> {
    let plan = state.system.treatment_plans.get(id, &staff.caller).await?;
    let step = plan.step(q.step).ok_or(clowder_actors::error::Error::PlanStepNotFound(q.step))?;
    if step.status.is_settled() {
        return Err(clowder_actors::error::Error::PlanStepAlreadySettled(step.number, step.status.as_str()).into());
    }
    let type_id = step.appointment_type_id.ok_or_else(|| ValidationError::new("step", "has no appointment type"))?;
    let w = q.window_days.unwrap_or(3);
    if w > 14 {
        return Err(ValidationError::new("window_days", "must be from 0 to 14").into());
    }
    let span = jiff::Span::new().days(i64::from(w));
    let from = step.date.saturating_sub(span).max(state.system.ctx.today());
    let to = step.date.saturating_add(span).max(from);
    let request = AvailabilityRequest {
        type_id,
        location: q.location_id,
        from: Some(WindowBound::Date(from)),
        to: Some(WindowBound::Date(to)),
        vet: None,
    };
    Ok(axum::Json(state.system.scheduling.calendar.availability(&request)?))
}

/// A cat's treatment plans, newest first (audited).
#[utoipa::path(
    get, path = "/api/patients/{id}/treatment-plans", tag = "clinical",
    params(("id" = PatientId, Path), ProtocolListQuery),
    responses(
        (status = 200, body = Page<TreatmentPlan>),
        (status = 404, description = "`patient_not_found`", body = ErrorResponse),
    )
)]
pub async fn patients_treatment_plans(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<PatientId>,
    Query(q): Query<ProtocolListQuery>,
) -> Result<axum::Json<Page<TreatmentPlan>>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    state.system.patients.peek(id)?;
    let (items, next) =
        state.system.treatment_plans.list_for_patient(id, page.after, page.limit, &staff.caller).await?;
    Ok(axum::Json(Page::new(items, next)))
}

/// The plan with its progress and costs. The actual cost is read through the invoice service
/// (audited like any invoice list), never from inside the plan's decision.
pub(crate) async fn view(state: &AppState, plan: TreatmentPlan, caller: &Caller) -> Result<PlanView, ApiError> {
    let visits: BTreeSet<_> =
        plan.steps.iter().filter(|s| s.status == StepStatus::Done).filter_map(|s| s.visit_id).collect();
    let mut actual = Cents::ZERO;
    for visit in visits {
        let filter = InvoiceFilter { visit_id: Some(visit), ..InvoiceFilter::default() };
        let (invoices, _) = state.system.invoices.list(&filter, None, 50, caller).await?;
        for i in invoices.iter().filter(|i| i.status != InvoiceStatus::Void) {
            actual = actual.checked_add(i.totals.total).unwrap_or(actual);
        }
    }
    let (done, total) = plan.progress();
    Ok(PlanView { done, total, estimated_total: plan.estimated_total(), actual_total: actual, plan })
}

/// Whether the caller may write protocols (`PATCH /api/protocols/{id}`, `protocols:manage`).
fn may_manage(staff: &Staff) -> bool {
    granted_on(staff, &Method::PATCH, "/api/protocols/{id}").is_some()
}

/// Most protocols the list screen shows (a clinic has tens).
const SCREEN_PROTOCOLS: usize = 200;

/// `/protocols`: the clinic's protocols (name, version, steps, estimated cost, active or
/// archived) and, for who may write them, "New protocol" and the starters to copy.
pub async fn protocols_page(State(state): State<AppState>, staff: Staff) -> Response {
    let nav = Nav::of(&staff, Section::Protocols);
    let answer = async {
        let filter = ProtocolFilter { active: None };
        let (protocols, _) = state.system.protocols.list(&filter, None, SCREEN_PROTOCOLS, &staff.caller).await?;
        Ok::<_, ApiError>(render(
            StatusCode::OK,
            &ProtocolsPage::new(nav.clone(), &protocols, &starters(), may_manage(&staff)),
        ))
    }
    .await;
    answer.unwrap_or_else(|e| ErrorPage::answer(nav, e))
}

/// The editor of `protocol` (a new one when `None`), with the catalogue items and appointment
/// types its steps may name.
fn editor(state: &AppState, staff: &Staff, nav: Nav, protocol: Option<&Protocol>) -> Result<Response, ApiError> {
    let filter = CatalogueFilter::default();
    let (items, _) = state.system.catalogue.list_unaudited(&filter, None, 1000)?;
    let types = state.system.scheduling.appointment_types.list(false)?;
    Ok(render(StatusCode::OK, &ProtocolEditor::new(nav, protocol, &items, &types, may_manage(staff))))
}

/// `/protocols/{id}`: the editor of a protocol's current version (disabled for who may only
/// read it); saving makes the next version.
pub async fn protocol_page(
    State(state): State<AppState>,
    staff: Staff,
    id: Result<Id<ProtocolId>, ApiError>,
) -> Response {
    let nav = Nav::of(&staff, Section::Protocols);
    let answer = async {
        let Id(id) = id?;
        let p = state.system.protocols.get(id, &staff.caller).await?;
        editor(&state, &staff, nav.clone(), Some(&p))
    }
    .await;
    answer.unwrap_or_else(|e| ErrorPage::answer(nav, e))
}

/// `/protocols/new`: an empty editor with one step (`protocols:manage`).
pub async fn protocol_new_page(State(state): State<AppState>, staff: Staff) -> Response {
    let nav = Nav::of(&staff, Section::Protocols);
    editor(&state, &staff, nav.clone(), None).unwrap_or_else(|e| ErrorPage::answer(nav, e))
}
