//! `/api/visits` (visits: open, list, read, patch, complete, void), their SOAP note
//! (`/api/visits/{id}/note`: read, autosave the draft, sign, addenda), the note templates
//! (`/api/note-templates`), a cat's timeline (`/api/patients/{id}/timeline`) and its chart
//! in one read (`/api/patients/{id}/chart`).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use clowder_actors::clinical::plan_steps;
use clowder_actors::clinical::visits::VisitFilter;
use clowder_schemas::ids::VisitId;
use clowder_schemas::notes::{
    AddAddendum, DraftSaved, Note, NoteTemplate, NoteView, PutTemplate, SaveDraft, SignNote, TemplateFor,
};
use clowder_schemas::pagination::{Page, PageRequest};
use clowder_schemas::visits::{
    CreateVisit, TimelineEntry, TimelineQuery, UpdateVisit, Visit, VisitListQuery, VisitStatus, VoidVisit, parse_hours,
};
use clowder_schemas::{ErrorResponse, LocationId, PatientId, StaffId, ValidationError};

use super::locations::parse_query_id;
use crate::access::Granted;
use crate::error::ApiError;
use crate::extract::{Id, Json, ParentId, Query, Staff};
use crate::reply::Created;
use crate::state::AppState;

/// Open a visit: a walk-in (`patient_id`, `vet_id`, `type`, `chief_complaint`) or from an
/// appointment (`appointment_id`; the rest is taken from it). Visits of appointments are also
/// opened by themselves when the appointment goes `in_progress`. Its note's draft starts from
/// the template of its type.
#[utoipa::path(
    post, path = "/api/visits", tag = "clinical",
    request_body = CreateVisit,
    responses(
        (status = 201, description = "Opened", body = Visit, headers(("Location" = String, description = "URL of the visit"))),
        (status = 404, description = "`patient_not_found`, `appointment_not_found`, `staff_not_found` or `location_not_found`", body = ErrorResponse),
        (status = 409, description = "`duplicate_value` on `appointment_id`: the appointment has its visit", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: a deceased or inactive cat, a vet who is not a veterinarian, a missing field", body = ErrorResponse),
    )
)]
pub async fn visits_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<CreateVisit>,
) -> Result<Response, ApiError> {
    let visit = state.system.visits.open(body.validate()?, &state.system.jobs, &staff.caller).await?;
    Ok(Created::at(format!("/api/visits/{}", visit.id), visit).into_response())
}

fn status_of(s: Option<&str>) -> Result<Option<VisitStatus>, ApiError> {
    Ok(match s.map(str::trim) {
        None | Some("") | Some("all") => None,
        Some("open") => Some(VisitStatus::Open),
        Some("completed") => Some(VisitStatus::Completed),
        Some("voided") => Some(VisitStatus::Voided),
        Some(_) => return Err(ValidationError::new("status", "must be open, completed, voided or all").into()),
    })
}

fn local_day(
    state: &AppState,
    field: &str,
    raw: Option<&str>,
    next: bool,
) -> Result<Option<jiff::Timestamp>, ApiError> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else { return Ok(None) };
    let bad = || ApiError::from(ValidationError::new(field, "must be a date like 2026-03-01"));
    let mut date: jiff::civil::Date = raw.parse().map_err(|_| bad())?;
    if next {
        date = date.tomorrow().map_err(|_| bad())?;
    }
    let zone = state.system.ctx.config.time_zone.clone();
    Ok(Some(date.to_zoned(zone).map_err(|_| bad())?.timestamp()))
}

/// List visits in the order they were opened. With `unsigned_older_than` (hours), only the
/// visits whose note is still unsigned that long after opening (the board's reminder).
#[utoipa::path(
    get, path = "/api/visits", tag = "clinical",
    params(VisitListQuery),
    responses((status = 200, body = Page<Visit>), (status = 422, description = "`validation_failed`", body = ErrorResponse))
)]
pub async fn visits_list(
    State(state): State<AppState>,
    staff: Staff,
    granted: Granted,
    Query(q): Query<VisitListQuery>,
) -> Result<axum::Json<Page<Visit>>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let vet_id = match q.vet_id.as_deref().map(str::trim) {
        Some("me") => match state.system.visits.staff_of(staff.principal.user.id)? {
            Some(s) => Some(s),
            // No staff profile: nobody's visits are "mine".
            None => return Ok(axum::Json(Page::new(Vec::new(), None))),
        },
        other => parse_query_id::<StaffId>("vet_id", other)?,
    };
    let unsigned_before = match q.unsigned_older_than.as_deref() {
        None => None,
        Some(h) => {
            let hours = parse_hours("unsigned_older_than", h)?;
            let now = state.system.ctx.clock.now();
            Some(
                now.checked_sub(jiff::SignedDuration::from_hours(hours))
                    .map_err(|_| ApiError::from(ValidationError::new("unsigned_older_than", "is too far back")))?,
            )
        }
    };
    let filter = VisitFilter {
        patient_id: parse_query_id::<PatientId>("patient_id", q.patient_id.as_deref())?,
        vet_id,
        status: status_of(q.status.as_deref())?,
        location_id: parse_query_id::<LocationId>("location_id", q.location_id.as_deref())?,
        opened_from: local_day(&state, "from", q.from.as_deref(), false)?,
        opened_until: local_day(&state, "to", q.to.as_deref(), true)?,
        unsigned_before,
        created_by: granted.own_only(),
    };
    let (items, next) = state.system.visits.list(&filter, page.after, page.limit, &staff.caller).await?;
    Ok(axum::Json(Page::new(items, next)))
}

/// One visit (also when completed or voided).
#[utoipa::path(
    get, path = "/api/visits/{id}", tag = "clinical",
    params(("id" = VisitId, Path)),
    responses((status = 200, body = Visit), (status = 404, description = "`visit_not_found`", body = ErrorResponse))
)]
pub async fn visits_get(
    State(state): State<AppState>,
    staff: Staff,
    granted: Granted,
    Id(id): Id<VisitId>,
) -> Result<axum::Json<Visit>, ApiError> {
    granted.check_lazily(|| state.system.visits.peek(id).map(|v| v.created_by))?;
    Ok(axum::Json(state.system.visits.get(id, &staff.caller).await?))
}

/// Change a visit's type, chief complaint or vet (merge patch). A voided visit is 409.
#[utoipa::path(
    patch, path = "/api/visits/{id}", tag = "clinical",
    params(("id" = VisitId, Path)),
    request_body = UpdateVisit,
    responses(
        (status = 200, body = Visit),
        (status = 404, description = "`visit_not_found` or `staff_not_found`", body = ErrorResponse),
        (status = 409, description = "`invalid_transition`: the visit is voided", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn visits_update(
    State(state): State<AppState>,
    staff: Staff,
    granted: Granted,
    Id(id): Id<VisitId>,
    Json(patch): Json<UpdateVisit>,
) -> Result<axum::Json<Visit>, ApiError> {
    granted.check_lazily(|| state.system.visits.peek(id).map(|v| v.created_by))?;
    Ok(axum::Json(state.system.visits.update(id, patch, &staff.caller).await?))
}

/// Complete an open visit (completing its appointment does it too); a completed one is
/// answered unchanged. A treatment-plan step booked in its appointment becomes done (a job).
#[utoipa::path(
    post, path = "/api/visits/{id}/complete", tag = "clinical",
    params(("id" = VisitId, Path)),
    responses(
        (status = 200, body = Visit),
        (status = 404, description = "`visit_not_found`", body = ErrorResponse),
        (status = 409, description = "`invalid_transition`: the visit is voided", body = ErrorResponse),
    )
)]
pub async fn visits_complete(
    State(state): State<AppState>,
    staff: Staff,
    granted: Granted,
    Id(id): Id<VisitId>,
) -> Result<axum::Json<Visit>, ApiError> {
    granted.check_lazily(|| state.system.visits.peek(id).map(|v| v.created_by))?;
    let visit = state.system.visits.complete(id, &staff.caller).await?;
    // The plan step booked in its appointment is done by a job; the visit is completed either way.
    let now = state.system.ctx.clock.now();
    if let Err(e) = plan_steps::after_visit_completed(&state.system.jobs, &visit, now, &staff.caller).await {
        tracing::warn!(error = %e, visit = %visit.id, "the plan step job of a completed visit was not enqueued");
    }
    Ok(axum::Json(visit))
}

/// Void a visit with a reason. Nothing is deleted: it stays on the record, marked voided.
#[utoipa::path(
    post, path = "/api/visits/{id}/void", tag = "clinical",
    params(("id" = VisitId, Path)),
    request_body = VoidVisit,
    responses(
        (status = 200, body = Visit),
        (status = 404, description = "`visit_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: the reason is required", body = ErrorResponse),
    )
)]
pub async fn visits_void(
    State(state): State<AppState>,
    staff: Staff,
    granted: Granted,
    Id(id): Id<VisitId>,
    Json(body): Json<VoidVisit>,
) -> Result<axum::Json<Visit>, ApiError> {
    let reason = body.validate()?;
    granted.check_lazily(|| state.system.visits.peek(id).map(|v| v.created_by))?;
    Ok(axum::Json(state.system.visits.void(id, reason, &staff.caller).await?))
}

/// The visit's SOAP note: its draft while it is written (`status: draft`), the signed note
/// with its addenda after (`status: signed`). Audited.
#[utoipa::path(
    get, path = "/api/visits/{id}/note", tag = "clinical",
    params(("id" = VisitId, Path)),
    responses((status = 200, body = NoteView), (status = 404, description = "`visit_not_found`", body = ErrorResponse))
)]
pub async fn notes_get(
    State(state): State<AppState>,
    staff: Staff,
    granted: Granted,
    ParentId(id): ParentId<VisitId>,
) -> Result<axum::Json<NoteView>, ApiError> {
    granted.check_lazily(|| state.system.visits.peek(id).map(|v| v.created_by))?;
    Ok(axum::Json(state.system.drafts.view(id, &staff.caller).await?))
}

/// Autosave the note's draft: the sections sent replace theirs, and `revision` (growing with
/// every save of the page) decides: a save not newer than the stored revision writes nothing
/// and answers the stored draft (`applied: false`). Not an event; audited. After signing: 409
/// `note_signed`, naming the addendum route in `details.addendum_route`. Honours
/// `Idempotency-Key`.
#[utoipa::path(
    put, path = "/api/visits/{id}/note/draft", tag = "clinical",
    params(("id" = VisitId, Path)),
    request_body = SaveDraft,
    responses(
        (status = 200, body = DraftSaved),
        (status = 404, description = "`visit_not_found`", body = ErrorResponse),
        (status = 409, description = "`note_signed`: the note is locked (add an addendum); `invalid_transition`: the visit is voided; `record_changed`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`, naming the section (at most 50,000 characters each)", body = ErrorResponse),
    )
)]
pub async fn notes_save_draft(
    State(state): State<AppState>,
    staff: Staff,
    granted: Granted,
    ParentId(id): ParentId<VisitId>,
    Json(body): Json<SaveDraft>,
) -> Result<axum::Json<DraftSaved>, ApiError> {
    granted.check_lazily(|| state.system.visits.peek(id).map(|v| v.created_by))?;
    Ok(axum::Json(state.system.drafts.save(id, body, &staff.caller).await?))
}

/// Sign the note: only a veterinarian (by staff profile) holding `visits:sign`. The note is
/// locked, with its signer, time and signature; later changes are addenda. With `revision`,
/// the signing is refused (`record_changed`) if the draft moved on since.
#[utoipa::path(
    post, path = "/api/visits/{id}/note/sign", tag = "clinical",
    params(("id" = VisitId, Path)),
    request_body = SignNote,
    responses(
        (status = 201, description = "Signed", body = Note, headers(("Location" = String, description = "URL of the note"))),
        (status = 403, description = "`forbidden`: not a veterinarian, or (scope `own`) another vet's visit", body = ErrorResponse),
        (status = 404, description = "`visit_not_found`", body = ErrorResponse),
        (status = 409, description = "`note_signed`: signed already; `record_changed`; `invalid_transition`: the visit is voided", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: the note is empty", body = ErrorResponse),
    )
)]
pub async fn notes_sign(
    State(state): State<AppState>,
    staff: Staff,
    granted: Granted,
    ParentId(id): ParentId<VisitId>,
    Json(body): Json<SignNote>,
) -> Result<Response, ApiError> {
    own_visit(&state, &granted, id)?;
    let note = state.system.notes.sign(id, body.revision, &staff.caller).await?;
    Ok(Created::at(format!("/api/visits/{id}/note"), note).into_response())
}

/// With `visits:sign` held only for one's own records, a vet signs only the visits they are
/// the vet of.
fn own_visit(state: &AppState, granted: &Granted, id: VisitId) -> Result<(), ApiError> {
    let Some(me) = granted.own_only() else { return Ok(()) };
    let visit = state.system.visits.peek(id)?;
    let mine = state.system.visits.staff_of(me)?;
    match (visit.vet_id, mine) {
        (Some(v), Some(m)) if v == m => Ok(()),
        _ => Err(ApiError::forbidden_beyond_own(clowder_schemas::access::Permission::VisitsSign)),
    }
}

/// Add a signed addendum to the signed note (its own text, author, time and signature; the
/// original stays as it was). Only a veterinarian holding `visits:sign`.
#[utoipa::path(
    post, path = "/api/visits/{id}/note/addenda", tag = "clinical",
    params(("id" = VisitId, Path)),
    request_body = AddAddendum,
    responses(
        (status = 201, description = "Added", body = Note, headers(("Location" = String, description = "URL of the note"))),
        (status = 403, description = "`forbidden`: not a veterinarian", body = ErrorResponse),
        (status = 404, description = "`visit_not_found`", body = ErrorResponse),
        (status = 409, description = "`note_unsigned`: sign the note first", body = ErrorResponse),
        (status = 422, description = "`validation_failed` on `text`", body = ErrorResponse),
    )
)]
pub async fn notes_add_addendum(
    State(state): State<AppState>,
    staff: Staff,
    granted: Granted,
    ParentId(id): ParentId<VisitId>,
    Json(body): Json<AddAddendum>,
) -> Result<Response, ApiError> {
    let text = body.validate()?;
    own_visit(&state, &granted, id)?;
    let note = state.system.notes.add_addendum(id, text, &staff.caller).await?;
    Ok(Created::at(format!("/api/visits/{id}/note"), note).into_response())
}

/// The note templates: one per visit type (built in until edited), then those written for
/// appointment types. A new visit's draft starts from its appointment type's template, else
/// its visit type's.
#[utoipa::path(
    get, path = "/api/note-templates", tag = "clinical",
    responses((status = 200, body = Vec<NoteTemplate>))
)]
pub async fn note_templates_list(State(state): State<AppState>) -> Result<axum::Json<Vec<NoteTemplate>>, ApiError> {
    Ok(axum::Json(state.system.drafts.templates()?))
}

/// Write the template of a visit type (`wellness`, `sick`, …) or of an appointment type (its
/// id). Visits opened afterwards start from it.
#[utoipa::path(
    put, path = "/api/note-templates/{key}", tag = "clinical",
    params(("key" = String, Path, description = "a visit type or an appointment type's id")),
    request_body = PutTemplate,
    responses(
        (status = 200, body = NoteTemplate),
        (status = 404, description = "`appointment_type_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn note_templates_put(
    State(state): State<AppState>,
    staff: Staff,
    Path(key): Path<String>,
    Json(body): Json<PutTemplate>,
) -> Result<axum::Json<NoteTemplate>, ApiError> {
    let key = TemplateFor::parse(&key)?;
    let soap = body.validate()?;
    Ok(axum::Json(state.system.drafts.put_template(key, soap, &staff.caller).await?))
}

/// A cat's timeline: visits and signed notes (vitals, problems, vaccinations and
/// prescriptions join as they are built), newest first, in cursor pages. Audited. Needs
/// `visits:view` with scope `all`.
#[utoipa::path(
    get, path = "/api/patients/{id}/timeline", tag = "clinical",
    params(("id" = PatientId, Path), TimelineQuery),
    responses(
        (status = 200, body = Page<TimelineEntry>),
        (status = 404, description = "`patient_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn patients_timeline(
    State(state): State<AppState>,
    staff: Staff,
    granted: Granted,
    ParentId(id): ParentId<PatientId>,
    Query(q): Query<TimelineQuery>,
) -> Result<axum::Json<Page<TimelineEntry>>, ApiError> {
    // A cat's whole record is nobody's own: `visits:view` at scope `own` reads its own visits
    // one by one, not the timeline.
    if granted.own_only().is_some() {
        return Err(ApiError::forbidden_beyond_own(clowder_schemas::access::Permission::VisitsView));
    }
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    // Prescriptions join the timeline only for who may read them over REST (scope `all`).
    let rx = staff.principal.permissions.scope(clowder_schemas::access::Permission::PrescriptionsView)
        == Some(clowder_schemas::access::Scope::All);
    let (items, next) = state.system.timeline.page(id, page.after, page.limit, rx, &staff.caller).await?;
    Ok(axum::Json(Page::new(items, next)))
}

/// What `staff` may see of a cat's chart: each part as its separate endpoint decides it (the
/// owner as `GET /api/clients/{id}`, the timeline as `GET /api/patients/{id}/timeline`, the
/// medications as `GET /api/patients/{id}/prescriptions`, prescriptions in the timeline at
/// scope `all`, the lab trends as `GET /api/patients/{id}/lab-trends`). The chart endpoint, the tablet's chart and the cat's page all use it.
pub(crate) fn chart_access(staff: &Staff) -> clowder_actors::clinical::chart::ChartAccess {
    use axum::http::Method;
    use clowder_actors::clinical::chart::{ChartAccess, OwnerAccess};
    use clowder_schemas::access::{Permission, Scope};

    use crate::access::granted_on;
    let owner = match granted_on(staff, &Method::GET, "/api/clients/{id}") {
        None => OwnerAccess::No,
        Some(g) => match g.own_only() {
            Some(me) => OwnerAccess::CreatedBy(me),
            None => OwnerAccess::Any,
        },
    };
    ChartAccess {
        owner,
        timeline: granted_on(staff, &Method::GET, "/api/patients/{id}/timeline")
            .is_some_and(|g| g.own_only().is_none()),
        timeline_prescriptions: staff.principal.permissions.scope(Permission::PrescriptionsView) == Some(Scope::All),
        medications: granted_on(staff, &Method::GET, "/api/patients/{id}/prescriptions").is_some(),
        vaccines: true,
        labs: granted_on(staff, &Method::GET, "/api/patients/{id}/lab-trends").is_some(),
    }
}

/// Refuses the cat's banner as `GET /api/patients/{id}` would: without `patients:view`, or
/// with it at scope `own` for a cat someone else registered.
pub(crate) fn check_patient_read(state: &AppState, staff: &Staff, id: PatientId) -> Result<(), ApiError> {
    use clowder_schemas::access::Permission;
    match crate::access::granted_on(staff, &axum::http::Method::GET, "/api/patients/{id}") {
        None => Err(ApiError::forbidden(Permission::PatientsView)),
        Some(g) => g.check_lazily(|| state.system.patients.peek(id).map(|r| r.created_by)),
    }
}

/// A cat's chart in one read: everything the chart screen draws, from one snapshot of the
/// store, audited as one entry (`patient.chart`). The banner (the cat; its owner when the
/// caller may read them; the active and chronic problems), the 3 latest vitals, the weight
/// and BCS trends over the 2 years before the newest vitals (one point per ~12-day bucket,
/// 60 at most), the vaccines due, overdue or declined, the active medications (only with
/// `prescriptions:view`; absent otherwise), the timeline's first 20 entries with their
/// cursor (absent at scope `own`; prescriptions in it at scope `all` only) and a lab trend per
/// analyte (from the 200 newest orders, 60 newest points each; absent without `labs:view`). Needs
/// `visits:view` and, for the banner, what `GET /api/patients/{id}` needs.
#[utoipa::path(
    get, path = "/api/patients/{id}/chart", tag = "clinical",
    params(("id" = PatientId, Path), clowder_schemas::search::RecordReadParams),
    responses(
        (status = 200, body = clowder_schemas::chart::PatientChart),
        (status = 404, description = "`patient_not_found`", body = ErrorResponse),
    )
)]
pub async fn patients_chart(
    State(state): State<AppState>,
    staff: Staff,
    ParentId(id): ParentId<PatientId>,
    Query(read): Query<clowder_schemas::search::RecordReadParams>,
) -> Result<axum::Json<clowder_schemas::chart::PatientChart>, ApiError> {
    check_patient_read(&state, &staff, id)?;
    let today = state.system.ctx.today();
    let chart = state.system.charts.chart(id, chart_access(&staff), today, None, &staff.caller).await?;
    // Opening the chart is opening the cat, as `GET /api/patients/{id}` (unless in passing).
    if read.recent != Some(false) {
        state.system.search.viewed(&staff.caller, clowder_schemas::search::SearchKind::Patient, id.ulid()).await?;
    }
    Ok(axum::Json(chart))
}
