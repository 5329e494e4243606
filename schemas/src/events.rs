//! Domain events and the event-log envelope.
//!
//! Every committed change produces events. The envelope carries a sequence number (so a
//! screen can ask for "everything since N"), the clinic, who caused it, and a hash chained to
//! the previous event so tampering with the log is detectable.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::appointments::Appointment;
use crate::clients::Client;
use crate::ids::UserId;
use crate::locations::{Location, Room};
use crate::patients::Patient;
use crate::records::Record;
use crate::staff::{Shift, StaffProfile, TimeOff};
use crate::users::UserView;
use crate::waitlist::{WaitlistEntry, WaitlistOffer};

/// Who caused a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "type", content = "id")]
pub enum Actor {
    /// A signed-in staff user.
    User(UserId),
    /// Clowder itself (start-up, demo seeding, scheduled jobs).
    System,
}

/// A change that happened. On the wire and in the log the tag is the snake_case name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DomainEvent {
    ClientCreated {
        client: Client,
    },
    ClientUpdated {
        client: Client,
        changed: Vec<String>,
    },
    ClientDeactivated {
        client: Client,
    },
    PatientCreated {
        patient: Patient,
    },
    PatientUpdated {
        patient: Patient,
        changed: Vec<String>,
    },
    PatientDeactivated {
        patient: Patient,
    },
    UserCreated {
        user: UserView,
    },
    SessionStarted {
        user_id: UserId,
        session_id: crate::ids::SessionId,
    },
    SessionEnded {
        user_id: UserId,
        session_id: crate::ids::SessionId,
    },
    LocationCreated {
        location: Location,
    },
    LocationUpdated {
        location: Location,
    },
    RoomCreated {
        room: Room,
    },
    RoomUpdated {
        room: Room,
    },
    StaffCreated {
        staff: StaffProfile,
    },
    StaffUpdated {
        staff: StaffProfile,
    },
    ShiftCreated {
        shift: Shift,
    },
    ShiftUpdated {
        shift: Shift,
    },
    TimeOffRequested {
        time_off: TimeOff,
    },
    TimeOffDecided {
        time_off: TimeOff,
    },
    AppointmentBooked {
        appointment: Appointment,
    },
    /// Time, vet or room changed.
    AppointmentRescheduled {
        appointment: Appointment,
        previous_start: Timestamp,
        previous_end: Timestamp,
    },
    /// Reason or notes changed.
    AppointmentUpdated {
        appointment: Appointment,
    },
    AppointmentConfirmed {
        appointment: Appointment,
    },
    PatientCheckedIn {
        appointment: Appointment,
    },
    AppointmentStarted {
        appointment: Appointment,
    },
    AppointmentCompleted {
        appointment: Appointment,
    },
    AppointmentCancelled {
        appointment: Appointment,
    },
    AppointmentNoShow {
        appointment: Appointment,
    },
    WaitlistEntryCreated {
        entry: WaitlistEntry,
    },
    /// A room moved on the whiteboard (free, patient waiting, in exam, needs cleaning…).
    RoomStateChanged {
        status: crate::rooms::RoomStatus,
    },
    /// Changed, offered, fulfilled, expired or cancelled.
    WaitlistEntryUpdated {
        entry: WaitlistEntry,
    },
    /// A freed slot was offered to an entry.
    WaitlistOfferMade {
        offer: WaitlistOffer,
    },
    /// Accepted, declined, expired or superseded.
    WaitlistOfferUpdated {
        offer: WaitlistOffer,
    },
}

impl DomainEvent {
    /// The snake_case event name, e.g. `client_created`.
    pub fn kind(&self) -> &'static str {
        match self {
            DomainEvent::ClientCreated { .. } => "client_created",
            DomainEvent::ClientUpdated { .. } => "client_updated",
            DomainEvent::ClientDeactivated { .. } => "client_deactivated",
            DomainEvent::PatientCreated { .. } => "patient_created",
            DomainEvent::PatientUpdated { .. } => "patient_updated",
            DomainEvent::PatientDeactivated { .. } => "patient_deactivated",
            DomainEvent::UserCreated { .. } => "user_created",
            DomainEvent::SessionStarted { .. } => "session_started",
            DomainEvent::SessionEnded { .. } => "session_ended",
            DomainEvent::LocationCreated { .. } => "location_created",
            DomainEvent::LocationUpdated { .. } => "location_updated",
            DomainEvent::RoomCreated { .. } => "room_created",
            DomainEvent::RoomUpdated { .. } => "room_updated",
            DomainEvent::StaffCreated { .. } => "staff_created",
            DomainEvent::StaffUpdated { .. } => "staff_updated",
            DomainEvent::ShiftCreated { .. } => "shift_created",
            DomainEvent::ShiftUpdated { .. } => "shift_updated",
            DomainEvent::TimeOffRequested { .. } => "time_off_requested",
            DomainEvent::TimeOffDecided { .. } => "time_off_decided",
            DomainEvent::AppointmentBooked { .. } => "appointment_booked",
            DomainEvent::AppointmentRescheduled { .. } => "appointment_rescheduled",
            DomainEvent::AppointmentUpdated { .. } => "appointment_updated",
            DomainEvent::AppointmentConfirmed { .. } => "appointment_confirmed",
            DomainEvent::PatientCheckedIn { .. } => "patient_checked_in",
            DomainEvent::AppointmentStarted { .. } => "appointment_started",
            DomainEvent::AppointmentCompleted { .. } => "appointment_completed",
            DomainEvent::AppointmentCancelled { .. } => "appointment_cancelled",
            DomainEvent::AppointmentNoShow { .. } => "appointment_no_show",
            DomainEvent::WaitlistEntryCreated { .. } => "waitlist_entry_created",
            DomainEvent::RoomStateChanged { .. } => "room_state_changed",
            DomainEvent::WaitlistEntryUpdated { .. } => "waitlist_entry_updated",
            DomainEvent::WaitlistOfferMade { .. } => "waitlist_offer_made",
            DomainEvent::WaitlistOfferUpdated { .. } => "waitlist_offer_updated",
        }
    }

    /// The record the event is about, as `kind:id` (used for topics and audit).
    pub fn subject(&self) -> String {
        match self {
            DomainEvent::ClientCreated { client }
            | DomainEvent::ClientUpdated { client, .. }
            | DomainEvent::ClientDeactivated { client } => format!("client:{}", client.id),
            DomainEvent::PatientCreated { patient }
            | DomainEvent::PatientUpdated { patient, .. }
            | DomainEvent::PatientDeactivated { patient } => format!("patient:{}", patient.id),
            DomainEvent::UserCreated { user } => format!("user:{}", user.id),
            DomainEvent::SessionStarted { user_id, .. } | DomainEvent::SessionEnded { user_id, .. } => {
                format!("user:{user_id}")
            }
            DomainEvent::LocationCreated { location } | DomainEvent::LocationUpdated { location } => {
                format!("location:{}", location.id)
            }
            DomainEvent::RoomCreated { room } | DomainEvent::RoomUpdated { room } => format!("room:{}", room.id),
            DomainEvent::StaffCreated { staff } | DomainEvent::StaffUpdated { staff } => format!("staff:{}", staff.id),
            DomainEvent::ShiftCreated { shift } | DomainEvent::ShiftUpdated { shift } => format!("shift:{}", shift.id),
            DomainEvent::TimeOffRequested { time_off } | DomainEvent::TimeOffDecided { time_off } => {
                format!("time_off:{}", time_off.id)
            }
            DomainEvent::AppointmentBooked { appointment }
            | DomainEvent::AppointmentRescheduled { appointment, .. }
            | DomainEvent::AppointmentUpdated { appointment }
            | DomainEvent::AppointmentConfirmed { appointment }
            | DomainEvent::PatientCheckedIn { appointment }
            | DomainEvent::AppointmentStarted { appointment }
            | DomainEvent::AppointmentCompleted { appointment }
            | DomainEvent::AppointmentCancelled { appointment }
            | DomainEvent::AppointmentNoShow { appointment } => format!("appointment:{}", appointment.id),
            DomainEvent::RoomStateChanged { status } => format!("room:{}", status.room_id),
            DomainEvent::WaitlistEntryCreated { entry } | DomainEvent::WaitlistEntryUpdated { entry } => {
                format!("waitlist:{}", entry.id)
            }
            DomainEvent::WaitlistOfferMade { offer } | DomainEvent::WaitlistOfferUpdated { offer } => {
                format!("waitlist_offer:{}", offer.id)
            }
        }
    }
}

/// One entry of the event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    /// Position in the log; gap-free and increasing from 1.
    pub seq: u64,
    pub at: Timestamp,
    /// The clinic (location) whose process recorded the event.
    pub clinic_id: String,
    pub actor: Actor,
    /// Event name, e.g. `client_created`.
    pub kind: String,
    /// `kind:id` of the record concerned.
    pub subject: String,
    /// The event's data (the [`DomainEvent`] as JSON).
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// Hex SHA-256 of the previous event (64 zeros for the first).
    pub prev_hash: String,
    /// Hex SHA-256 over this event's fields and `prev_hash`.
    pub hash: String,
}

impl Record for Event {
    const KIND: &'static str = "event";
    const VERSION: u16 = 1;
}

impl Event {
    /// The bytes the hash covers, in a fixed order with length prefixes so no two different
    /// events can produce the same input. `payload` is canonical JSON (serde_json sorts
    /// object keys).
    pub fn hash_input(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        let mut put = |bytes: &[u8]| {
            out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
            out.extend_from_slice(bytes);
        };
        put(self.prev_hash.as_bytes());
        put(&self.seq.to_be_bytes());
        put(self.at.to_string().as_bytes());
        put(self.clinic_id.as_bytes());
        put(serde_json::to_string(&self.actor).unwrap_or_default().as_bytes());
        put(self.kind.as_bytes());
        put(self.subject.as_bytes());
        put(serde_json::to_string(&self.payload).unwrap_or_default().as_bytes());
        out
    }
}

/// The hash of "no previous event".
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";
