//! `/api/wards` and `/api/admissions`: the hospital ward. Wards are set up with `ward:manage`;
//! admitting, the treatment sheet and marking slots need `ward:treat`; the board and sheets
//! are read with `ward:view` (audited). The screens `/wards`, `/wards/{id}` (the board) and
//! `/wards/{id}/display` (the wall TV) are at the end. See docs/ward.md.

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use clowder_schemas::ErrorResponse;
use clowder_schemas::ids::TreatmentId;
use clowder_schemas::ids::{AdmissionId, WardId};
use clowder_schemas::vitals::CreateVitals;
use clowder_schemas::wards::{
    AddTreatment, Admission, CreateAdmission, CreateWard, Discharge, MarkSlot, MoveAdmission, StopTreatment,
    UpdateWard, Ward, WardBoard,
};

use crate::access::granted_on;
use crate::error::ApiError;
use crate::extract::{Id, Json, ParentId, Staff};
use crate::reply::Created;
use crate::state::AppState;
use crate::views::ward::{Grid, WardGridPart, WardPage, WardRow, WardsPage};
use crate::views::{ErrorPage, Nav, Section, render};

/// Open a ward of a location with its cages.
#[utoipa::path(
    post, path = "/api/wards", tag = "ward",
    request_body = CreateWard,
    responses(
        (status = 201, description = "Created", body = Ward, headers(("Location" = String, description = "URL of the ward"))),
        (status = 404, description = "`location_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: no cages, a cage listed twice", body = ErrorResponse),
    )
)]
pub async fn wards_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<CreateWard>,
) -> Result<Response, ApiError> {
    let w = state.system.wards.open(body, &staff.caller).await?;
    Ok(Created::at(format!("/api/wards/{}", w.id), w).into_response())
}

/// Every ward.
#[utoipa::path(get, path = "/api/wards", tag = "ward", responses((status = 200, body = Vec<Ward>)))]
pub async fn wards_list(State(state): State<AppState>, staff: Staff) -> Result<axum::Json<Vec<Ward>>, ApiError> {
    Ok(axum::Json(state.system.wards.all(None, &staff.caller).await?))
}

/// One ward.
#[utoipa::path(
    get, path = "/api/wards/{id}", tag = "ward",
    params(("id" = WardId, Path)),
    responses((status = 200, body = Ward), (status = 404, description = "`ward_not_found`", body = ErrorResponse))
)]
pub async fn wards_get(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<WardId>,
) -> Result<axum::Json<Ward>, ApiError> {
    Ok(axum::Json(state.system.wards.get(id, &staff.caller).await?))
}

/// Change a ward: its name, its cages (the whole new list: added, renamed with `from`, out of
/// use with `active: false`, removed by leaving them out) or its overdue setting. A cage with a
/// cat in it cannot be removed, renamed or closed.
#[utoipa::path(
    patch, path = "/api/wards/{id}", tag = "ward",
    params(("id" = WardId, Path)),
    request_body = UpdateWard,
    responses(
        (status = 200, description = "The ward as changed", body = Ward),
        (status = 404, description = "`ward_not_found`", body = ErrorResponse),
        (status = 409, description = "`cage_occupied`: a cage with a cat in it", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: a cage listed twice, a rename of no cage, nothing to change", body = ErrorResponse),
    )
)]
pub async fn wards_update(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<WardId>,
    Json(body): Json<UpdateWard>,
) -> Result<axum::Json<Ward>, ApiError> {
    Ok(axum::Json(state.system.ward_boards.edit_ward(id, body, &staff.caller).await?))
}

/// The ward's board now: every cage, the cat in it, its slots not marked (overdue flagged)
/// and its next ones. Names only: nothing of the owner. Audited as a list of admissions.
#[utoipa::path(
    get, path = "/api/wards/{id}/board", tag = "ward",
    params(("id" = WardId, Path)),
    responses((status = 200, body = WardBoard), (status = 404, description = "`ward_not_found`", body = ErrorResponse))
)]
pub async fn wards_board(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<WardId>,
) -> Result<axum::Json<WardBoard>, ApiError> {
    Ok(axum::Json(board(&state, id, &staff).await?))
}

/// The board of a ward, for the API and the screens: from the ward's actor.
pub async fn board(state: &AppState, id: WardId, staff: &Staff) -> Result<WardBoard, ApiError> {
    Ok(state.system.ward_boards.board(id, &staff.caller).await?)
}

/// Admit a cat from a visit to a cage of a ward. One active admission per cat and one cat
/// per cage: either taken already is 409 `duplicate_value` naming `patient_id` or `cage`.
#[utoipa::path(
    post, path = "/api/admissions", tag = "ward",
    request_body = CreateAdmission,
    responses(
        (status = 201, description = "Admitted", body = Admission, headers(("Location" = String, description = "URL of the admission"))),
        (status = 404, description = "`ward_not_found`, `visit_not_found`", body = ErrorResponse),
        (status = 409, description = "`duplicate_value`: the cat is admitted already, or the cage is taken", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: not a cage of the ward, a voided visit", body = ErrorResponse),
    )
)]
pub async fn admissions_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<CreateAdmission>,
) -> Result<Response, ApiError> {
    let a = state.system.ward_boards.admit(body, &staff.caller).await?;
    Ok(Created::at(format!("/api/admissions/{}", a.id), a).into_response())
}

/// An admission with its treatment sheet and marks (audited).
#[utoipa::path(
    get, path = "/api/admissions/{id}", tag = "ward",
    params(("id" = AdmissionId, Path)),
    responses((status = 200, body = Admission), (status = 404, description = "`admission_not_found`", body = ErrorResponse))
)]
pub async fn admissions_get(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<AdmissionId>,
) -> Result<axum::Json<Admission>, ApiError> {
    Ok(axum::Json(state.system.admissions.get(id, &staff.caller).await?))
}

/// Schedule a treatment on the sheet: medication, fluids (rate in mL/h), feeding or a check,
/// every N hours from a start or at listed local times.
#[utoipa::path(
    post, path = "/api/admissions/{id}/treatments", tag = "ward",
    params(("id" = AdmissionId, Path)),
    request_body = AddTreatment,
    responses(
        (status = 200, description = "The sheet with the treatment", body = Admission),
        (status = 404, description = "`admission_not_found`", body = ErrorResponse),
        (status = 409, description = "`admission_discharged`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: an impossible fluid rate, a zero interval", body = ErrorResponse),
    )
)]
pub async fn admissions_add_treatment(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<AdmissionId>,
    Json(body): Json<AddTreatment>,
) -> Result<axum::Json<Admission>, ApiError> {
    Ok(axum::Json(state.system.ward_boards.add_treatment(id, body, &staff.caller).await?))
}

/// Mark a due slot done (at the actual time: a late entry gives it) or skipped with a reason.
/// A vitals check's `vitals` are recorded as the cat's vitals (the same record and weight
/// history as `POST /api/vitals`) and linked to the slot.
#[utoipa::path(
    post, path = "/api/admissions/{id}/slots", tag = "ward",
    params(("id" = AdmissionId, Path)),
    request_body = MarkSlot,
    responses(
        (status = 200, description = "The sheet with the mark", body = Admission),
        (status = 404, description = "`admission_not_found`", body = ErrorResponse),
        (status = 409, description = "`slot_already_marked`, `admission_discharged`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: not a due slot, a skip with no reason", body = ErrorResponse),
    )
)]
pub async fn admissions_mark(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<AdmissionId>,
    Json(body): Json<MarkSlot>,
) -> Result<axum::Json<Admission>, ApiError> {
    Ok(axum::Json(mark_slot(&state, id, body, &staff.caller).await?))
}

/// Marks a slot as `caller` (the signed-in user, or the nurse whose PIN the ward's tablet
/// checked): a vitals check's vitals first, then the mark through the ward's actor.
pub(crate) async fn mark_slot(
    state: &AppState,
    id: AdmissionId,
    body: MarkSlot,
    caller: &clowder_schemas::audit::Caller,
) -> Result<Admission, ApiError> {
    let vitals_id = match &body.vitals {
        None => None,
        Some(m) => {
            // Refuse before the vitals exist, so a refused mark leaves none behind.
            let a = state.system.admissions.peek(id)?;
            clowder_actors::clinical::wards::check_markable(&state.system.ctx.config, &a, &body)?;
            let now = state.system.ctx.clock.now();
            let v = CreateVitals {
                patient_id: a.patient_id,
                visit_id: Some(a.visit_id),
                taken_at: body.at,
                taken_by: None,
                measurements: m.clone(),
            };
            Some(state.system.vitals.record(v, now, caller).await?.id)
        }
    };
    Ok(state.system.ward_boards.mark(id, body, vitals_id, caller).await?)
}

/// Discharge the cat: the cage is free, the sheet closes (no more marks).
#[utoipa::path(
    post, path = "/api/admissions/{id}/discharge", tag = "ward",
    params(("id" = AdmissionId, Path)),
    request_body = Discharge,
    responses(
        (status = 200, description = "Discharged (again: unchanged)", body = Admission),
        (status = 404, description = "`admission_not_found`", body = ErrorResponse),
    )
)]
pub async fn admissions_discharge(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<AdmissionId>,
    Json(body): Json<Discharge>,
) -> Result<axum::Json<Admission>, ApiError> {
    Ok(axum::Json(state.system.ward_boards.discharge(id, body, &staff.caller).await?))
}

/// Move the cat to another cage of its ward or of another ward of the location: the old cage
/// is freed and the new one taken in one commit; both boards update.
#[utoipa::path(
    post, path = "/api/admissions/{id}/move", tag = "ward",
    params(("id" = AdmissionId, Path)),
    request_body = MoveAdmission,
    responses(
        (status = 200, description = "The admission in its new cage", body = Admission),
        (status = 404, description = "`admission_not_found`, `ward_not_found`", body = ErrorResponse),
        (status = 409, description = "`duplicate_value` (`cage`): the cage is taken; `admission_discharged`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: not a cage of the ward, a cage out of use, a ward of another location", body = ErrorResponse),
    )
)]
pub async fn admissions_move(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<AdmissionId>,
    Json(body): Json<MoveAdmission>,
) -> Result<axum::Json<Admission>, ApiError> {
    Ok(axum::Json(state.system.ward_boards.move_to(id, body, &staff.caller).await?))
}

/// Stop a treatment, with the reason: its slots from now disappear; the marked ones stay.
#[utoipa::path(
    post, path = "/api/admissions/{id}/treatments/{treatment_id}/stop", tag = "ward",
    params(("id" = AdmissionId, Path), ("treatment_id" = TreatmentId, Path)),
    request_body = StopTreatment,
    responses(
        (status = 200, description = "The sheet with the treatment stopped", body = Admission),
        (status = 404, description = "`admission_not_found`", body = ErrorResponse),
        (status = 409, description = "`treatment_stopped`: stopped already; `admission_discharged`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: no reason, not a treatment of this sheet", body = ErrorResponse),
    )
)]
pub async fn admissions_stop_treatment(
    State(state): State<AppState>,
    staff: Staff,
    ParentId(id): ParentId<AdmissionId>,
    params: axum::extract::RawPathParams,
    Json(body): Json<StopTreatment>,
) -> Result<axum::Json<Admission>, ApiError> {
    let tid: TreatmentId = params.iter().last().and_then(|(_, v)| v.parse().ok()).ok_or_else(|| {
        ApiError::from(clowder_schemas::ValidationError::new("treatment_id", "is not a treatment of this sheet"))
    })?;
    Ok(axum::Json(state.system.ward_boards.stop_treatment(id, tid, &body, &staff.caller).await?))
}

/// `/wards`: the wards, each with its board and its wall display.
pub async fn wards_page(State(state): State<AppState>, staff: Staff) -> Response {
    let nav = Nav::of(&staff, Section::Ward);
    let answer = async {
        let wards = state.system.wards.all(None, &staff.caller).await?;
        let view = WardsPage { nav: nav.clone(), wards: wards.iter().map(WardRow::of).collect() };
        Ok::<_, ApiError>(render(StatusCode::OK, &view))
    }
    .await;
    answer.unwrap_or_else(|e| ErrorPage::answer(nav, e))
}

/// `/wards/{id}`: the board for staff, with Done and Skip for who may treat.
pub async fn ward_page(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    id: Result<Id<WardId>, ApiError>,
) -> Response {
    ward_screen(state, staff, headers, id, Screen::Staff).await
}

/// `/wards/{id}/tablet`: the board on the ward's shared tablet. Done and Skip show for
/// whoever the tablet is signed in as (`ward:view`); each tap asks the nurse's username and
/// PIN and is marked as hers (`POST /api/admissions/{id}/slots/pin`).
pub async fn ward_tablet(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    id: Result<Id<WardId>, ApiError>,
) -> Response {
    ward_screen(state, staff, headers, id, Screen::Tablet).await
}

/// `/wards/{id}/display`: the read-only wall display (no controls, names only).
pub async fn ward_display(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    id: Result<Id<WardId>, ApiError>,
) -> Response {
    ward_screen(state, staff, headers, id, Screen::Tv).await
}

/// Which of the board's screens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Screen {
    Staff,
    Tv,
    Tablet,
}

async fn ward_screen(
    state: AppState,
    staff: Staff,
    headers: HeaderMap,
    id: Result<Id<WardId>, ApiError>,
    screen: Screen,
) -> Response {
    let nav = Nav::of(&staff, Section::Ward);
    let answer = async {
        let Id(id) = id?;
        let b = board(&state, id, &staff).await?;
        // On the tablet every tap is authorised by the PIN typed with it, not by the session.
        let can_treat =
            screen == Screen::Tablet || granted_on(&staff, &Method::POST, "/api/admissions/{id}/slots").is_some();
        let grid = Grid::new(&b, screen == Screen::Tv, can_treat, &state.system.ctx.config.time_zone);
        if headers.get("hx-request").is_some_and(|v| v == "true") {
            return Ok::<_, ApiError>(render(StatusCode::OK, &WardGridPart { grid }));
        }
        Ok(render(StatusCode::OK, &WardPage { nav: nav.clone(), grid, tablet: screen == Screen::Tablet }))
    }
    .await;
    answer.unwrap_or_else(|e| ErrorPage::answer(nav, e))
}
