//! The exam-room whiteboard: what is happening in each room right now.
//!
//! A room moves `free → patient_waiting → in_exam → needs_cleaning → free`, and can be taken
//! `out_of_service` (and back to `free`) when no patient is in it. [`RoomState::allowed`] is
//! the one place the moves are decided.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::errors::ValidationError;
use crate::ids::{AppointmentId, LocationId, PatientId, RoomId, StaffId, UserId};
use crate::records::Record;

/// What a room is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoomState {
    Free,
    PatientWaiting,
    InExam,
    NeedsCleaning,
    OutOfService,
}

impl RoomState {
    pub fn as_str(self) -> &'static str {
        match self {
            RoomState::Free => "free",
            RoomState::PatientWaiting => "patient_waiting",
            RoomState::InExam => "in_exam",
            RoomState::NeedsCleaning => "needs_cleaning",
            RoomState::OutOfService => "out_of_service",
        }
    }

    /// The moves allowed from this state.
    pub fn allowed(self) -> &'static [RoomState] {
        use RoomState::*;
        match self {
            Free => &[PatientWaiting, InExam, OutOfService],
            PatientWaiting => &[InExam, Free],
            InExam => &[NeedsCleaning],
            NeedsCleaning => &[Free, OutOfService],
            OutOfService => &[Free],
        }
    }

    /// Whether a patient is in the room in this state.
    pub fn has_patient(self) -> bool {
        matches!(self, RoomState::PatientWaiting | RoomState::InExam)
    }
}

impl std::fmt::Display for RoomState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A room's place on the whiteboard, as stored and returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RoomStatus {
    pub room_id: RoomId,
    pub location_id: LocationId,
    pub state: RoomState,
    /// The cat in the room (waiting or being seen).
    pub patient_id: Option<PatientId>,
    /// The appointment being seen, when known.
    pub appointment_id: Option<AppointmentId>,
    /// Staff in the room.
    pub staff_ids: Vec<StaffId>,
    /// When the room entered this state.
    pub since: Timestamp,
    pub updated_by: Option<UserId>,
}

impl Record for RoomStatus {
    const KIND: &'static str = "room_status";
    const VERSION: u16 = 1;
}

/// A room on the whiteboard, with its place.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BoardRoom {
    pub room: crate::locations::Room,
    pub status: RoomStatus,
}

/// Body of `POST /api/rooms/{id}/state`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoomStateRequest {
    pub to: RoomState,
    /// The cat coming in (needed when a patient enters, unless `appointment_id` names it).
    #[serde(default)]
    pub patient_id: Option<PatientId>,
    #[serde(default)]
    pub appointment_id: Option<AppointmentId>,
    /// Who is in the room (replaces the list; kept when absent).
    #[serde(default)]
    pub staff_ids: Option<Vec<StaffId>>,
}

impl RoomStateRequest {
    pub fn check(&self) -> Result<(), ValidationError> {
        if self.staff_ids.as_ref().is_some_and(|s| s.len() > 20) {
            return Err(ValidationError::new("staff_ids", "at most 20 people in a room"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_room_cycle_and_its_exits() {
        use RoomState::*;
        assert!(Free.allowed().contains(&PatientWaiting) && PatientWaiting.allowed().contains(&InExam));
        assert!(InExam.allowed() == [NeedsCleaning] && NeedsCleaning.allowed().contains(&Free));
        assert!(!InExam.allowed().contains(&OutOfService), "not with a cat inside");
        assert_eq!(OutOfService.allowed(), [Free]);
        assert_eq!(serde_json::to_value(PatientWaiting).unwrap(), "patient_waiting");
    }
}
