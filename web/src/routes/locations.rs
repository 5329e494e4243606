//! `/api/locations` and `/api/rooms`: where the clinic works, its hours, holidays and
//! online-booking rules, and its rooms.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use clowder_schemas::locations::{CreateLocation, CreateRoom, Location, Room, UpdateLocation, UpdateRoom};
use clowder_schemas::{ErrorResponse, LocationId, RoomId, ValidationError};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::extract::{Id, Json, Query, Staff};
use crate::reply::Created;
use crate::state::AppState;

/// `active` (default) or `all`.
pub(crate) fn include_inactive(status: Option<&str>) -> Result<bool, ApiError> {
    match status {
        None | Some("active") => Ok(false),
        Some("all") => Ok(true),
        Some(_) => Err(ValidationError::new("status", "must be active or all").into()),
    }
}

/// Filters of `GET /api/locations`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LocationListQuery {
    /// `active` (default) or `all`.
    pub status: Option<String>,
}

/// The clinic's locations by name.
#[utoipa::path(
    get, path = "/api/locations", tag = "scheduling",
    params(LocationListQuery),
    responses((status = 200, body = Vec<Location>), (status = 422, body = ErrorResponse))
)]
pub async fn locations_list(
    State(state): State<AppState>,
    Query(q): Query<LocationListQuery>,
) -> Result<axum::Json<Vec<Location>>, ApiError> {
    Ok(axum::Json(state.system.scheduling.setup.locations(include_inactive(q.status.as_deref())?)))
}

/// Add a location (IANA time zone; hours default to Mon–Fri 08–18, Sat 09–13).
#[utoipa::path(
    post, path = "/api/locations", tag = "scheduling",
    request_body = CreateLocation,
    responses(
        (status = 201, body = Location),
        (status = 409, description = "`duplicate_value`: the name is taken", body = ErrorResponse),
        (status = 422, description = "`validation_failed`, e.g. an unknown time zone", body = ErrorResponse),
    )
)]
pub async fn locations_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<CreateLocation>,
) -> Result<Response, ApiError> {
    let l = state.system.scheduling.setup.create_location(&body, &staff.caller).await?;
    Ok(Created::at(format!("/api/locations/{}", l.id), l).into_response())
}

/// One location.
#[utoipa::path(
    get, path = "/api/locations/{id}", tag = "scheduling",
    params(("id" = LocationId, Path)),
    responses((status = 200, body = Location), (status = 404, description = "`location_not_found`", body = ErrorResponse))
)]
pub async fn locations_get(
    State(state): State<AppState>,
    Id(id): Id<LocationId>,
) -> Result<axum::Json<Location>, ApiError> {
    Ok(axum::Json(state.system.scheduling.setup.location(id)?))
}

/// Change a location (merge-patch); `active: false` retires it.
#[utoipa::path(
    patch, path = "/api/locations/{id}", tag = "scheduling",
    params(("id" = LocationId, Path)),
    request_body = UpdateLocation,
    responses(
        (status = 200, body = Location),
        (status = 404, description = "`location_not_found`", body = ErrorResponse),
        (status = 409, description = "`duplicate_value`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn locations_update(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<LocationId>,
    Json(patch): Json<UpdateLocation>,
) -> Result<axum::Json<Location>, ApiError> {
    Ok(axum::Json(state.system.scheduling.setup.update_location(id, &patch, &staff.caller).await?))
}

/// Filters of `GET /api/rooms`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RoomListQuery {
    pub location_id: Option<String>,
    /// `active` (default) or `all`.
    pub status: Option<String>,
}

/// Rooms, optionally of one location.
#[utoipa::path(
    get, path = "/api/rooms", tag = "scheduling",
    params(RoomListQuery),
    responses((status = 200, body = Vec<Room>), (status = 422, body = ErrorResponse))
)]
pub async fn rooms_list(
    State(state): State<AppState>,
    Query(q): Query<RoomListQuery>,
) -> Result<axum::Json<Vec<Room>>, ApiError> {
    let location = parse_query_id::<LocationId>("location_id", q.location_id.as_deref())?;
    Ok(axum::Json(state.system.scheduling.setup.rooms(location, include_inactive(q.status.as_deref())?)))
}

/// Parses an optional id given in a query string (422 naming the parameter when malformed).
pub(crate) fn parse_query_id<T: std::str::FromStr>(field: &str, raw: Option<&str>) -> Result<Option<T>, ApiError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| ValidationError::new(field, "is not a valid id").into()),
    }
}

/// Add a room to a location (name unique within it).
#[utoipa::path(
    post, path = "/api/rooms", tag = "scheduling",
    request_body = CreateRoom,
    responses(
        (status = 201, body = Room),
        (status = 409, description = "`duplicate_value`: the location has a room of that name", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn rooms_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<CreateRoom>,
) -> Result<Response, ApiError> {
    let r = state.system.scheduling.setup.create_room(&body, &staff.caller).await?;
    Ok(Created::at(format!("/api/rooms/{}", r.id), r).into_response())
}

/// One room.
#[utoipa::path(
    get, path = "/api/rooms/{id}", tag = "scheduling",
    params(("id" = RoomId, Path)),
    responses((status = 200, body = Room), (status = 404, description = "`room_not_found`", body = ErrorResponse))
)]
pub async fn rooms_get(State(state): State<AppState>, Id(id): Id<RoomId>) -> Result<axum::Json<Room>, ApiError> {
    Ok(axum::Json(state.system.scheduling.setup.room(id)?))
}

/// Change a room; `active: false` takes it out of booking.
#[utoipa::path(
    patch, path = "/api/rooms/{id}", tag = "scheduling",
    params(("id" = RoomId, Path)),
    request_body = UpdateRoom,
    responses(
        (status = 200, body = Room),
        (status = 404, description = "`room_not_found`", body = ErrorResponse),
        (status = 409, description = "`duplicate_value`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn rooms_update(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<RoomId>,
    Json(patch): Json<UpdateRoom>,
) -> Result<axum::Json<Room>, ApiError> {
    Ok(axum::Json(state.system.scheduling.setup.update_room(id, &patch, &staff.caller).await?))
}

/// Filters of `GET /api/rooms/board`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BoardQuery {
    pub location_id: Option<String>,
}

/// The exam-room whiteboard: every active room with its state, patient, staff and since when.
#[utoipa::path(
    get, path = "/api/rooms/board", tag = "scheduling",
    params(BoardQuery),
    responses((status = 200, body = Vec<clowder_schemas::whiteboard::BoardRoom>), (status = 422, body = ErrorResponse))
)]
pub async fn rooms_board(
    State(state): State<AppState>,
    Query(q): Query<BoardQuery>,
) -> Result<axum::Json<Vec<clowder_schemas::whiteboard::BoardRoom>>, ApiError> {
    let location = parse_query_id::<LocationId>("location_id", q.location_id.as_deref())?;
    Ok(axum::Json(state.system.scheduling.whiteboard.board(location)?))
}

/// Move a room on the whiteboard: `free → patient_waiting → in_exam → needs_cleaning → free`,
/// or `out_of_service` and back when no patient is in it. A patient entering needs
/// `patient_id` or `appointment_id`. Any other move is 409 `invalid_transition`.
#[utoipa::path(
    post, path = "/api/rooms/{id}/state", tag = "scheduling",
    params(("id" = RoomId, Path)),
    request_body = clowder_schemas::whiteboard::RoomStateRequest,
    responses(
        (status = 200, body = clowder_schemas::whiteboard::RoomStatus),
        (status = 404, description = "`room_not_found`", body = ErrorResponse),
        (status = 409, description = "`invalid_transition`, with `details.allowed`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn rooms_state(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<RoomId>,
    Json(body): Json<clowder_schemas::whiteboard::RoomStateRequest>,
) -> Result<axum::Json<clowder_schemas::whiteboard::RoomStatus>, ApiError> {
    Ok(axum::Json(state.system.scheduling.whiteboard.set(id, body, &staff.caller).await?))
}
