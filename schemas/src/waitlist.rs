//! The waitlist: clients waiting for an earlier or a better slot, and the offers made to them
//! when one opens.
//!
//! An entry waits between two local dates for a type of appointment, with a time-of-day
//! preference and an urgency. When an appointment is cancelled, the entries that fit the freed
//! slot are offered it (an offer expires; the first to accept gets the slot, the others'
//! offers are superseded and their entries wait again). An entry expires after its last day.

use jiff::Timestamp;
use jiff::civil::{Date, Time};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::errors::ValidationError;
use crate::ids::{
    AppointmentId, AppointmentTypeId, ClientId, LocationId, OfferId, PatientId, RoomId, StaffId, UserId, WaitlistId,
};
use crate::patch::Patch;
use crate::records::Record;
use crate::values::note_text;

/// When in the day the client can come.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimeOfDay {
    #[default]
    Any,
    /// Starting before 12:00.
    Morning,
    /// Starting 12:00–16:59.
    Afternoon,
    /// Starting at 17:00 or later.
    Evening,
}

impl TimeOfDay {
    /// Whether a local start time suits this preference.
    pub fn suits(self, t: Time) -> bool {
        match self {
            TimeOfDay::Any => true,
            TimeOfDay::Morning => t.hour() < 12,
            TimeOfDay::Afternoon => (12..17).contains(&t.hour()),
            TimeOfDay::Evening => t.hour() >= 17,
        }
    }
}

/// How soon the cat should be seen; offers go to the most urgent first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    #[default]
    Routine,
    Soon,
    Urgent,
}

/// How the client wants to hear about an opening.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContactPreference {
    #[default]
    Phone,
    Sms,
    Email,
}

/// Where an entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryStatus {
    Active,
    /// An offer is open; the entry is not offered another slot meanwhile.
    Offered,
    Fulfilled,
    Expired,
    Cancelled,
}

impl EntryStatus {
    pub const ALL: [EntryStatus; 5] = [
        EntryStatus::Active,
        EntryStatus::Offered,
        EntryStatus::Fulfilled,
        EntryStatus::Expired,
        EntryStatus::Cancelled,
    ];

    /// The wire name, e.g. `fulfilled`.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryStatus::Active => "active",
            EntryStatus::Offered => "offered",
            EntryStatus::Fulfilled => "fulfilled",
            EntryStatus::Expired => "expired",
            EntryStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<EntryStatus> {
        EntryStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Still waiting (possibly holding an offer).
    pub fn open(self) -> bool {
        matches!(self, EntryStatus::Active | EntryStatus::Offered)
    }
}

/// A waitlist entry, as stored and returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WaitlistEntry {
    pub id: WaitlistId,
    pub client_id: ClientId,
    pub patient_id: PatientId,
    pub type_id: AppointmentTypeId,
    /// Only slots at this location, when set.
    pub location_id: Option<LocationId>,
    /// Only slots with this vet, when set.
    pub vet_id: Option<StaffId>,
    #[schema(value_type = String)]
    pub earliest: Date,
    /// The last day the client can come; the entry expires after it.
    #[schema(value_type = String)]
    pub latest: Date,
    pub time_of_day: TimeOfDay,
    pub urgency: Urgency,
    pub contact: ContactPreference,
    pub notes: Option<String>,
    pub status: EntryStatus,
    /// The appointment that fulfilled it.
    pub appointment_id: Option<AppointmentId>,
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Record for WaitlistEntry {
    const KIND: &'static str = "waitlist_entry";
    const VERSION: u16 = 1;
}

impl WaitlistEntry {
    /// The status as of `today`: an open entry past its last day has expired, whether or not
    /// the sweeper has written that down yet.
    pub fn status_on(&self, today: Date) -> EntryStatus {
        if self.status.open() && self.latest < today { EntryStatus::Expired } else { self.status }
    }
}

/// Body of `POST /api/waitlist`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWaitlistEntry {
    pub client_id: ClientId,
    pub patient_id: PatientId,
    pub type_id: AppointmentTypeId,
    #[serde(default)]
    pub location_id: Option<LocationId>,
    #[serde(default)]
    pub vet_id: Option<StaffId>,
    /// Default: today.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub earliest: Option<Date>,
    #[schema(value_type = String)]
    pub latest: Date,
    #[serde(default)]
    pub time_of_day: TimeOfDay,
    #[serde(default)]
    pub urgency: Urgency,
    #[serde(default)]
    pub contact: ContactPreference,
    #[serde(default)]
    pub notes: Option<String>,
}

/// The longest a client may wait on one entry.
pub const MAX_WINDOW_DAYS: i32 = 366;

/// Checks a date window against today.
pub fn check_window(earliest: Date, latest: Date, today: Date) -> Result<(), ValidationError> {
    if latest < earliest {
        return Err(ValidationError::new("latest", "must be on or after earliest"));
    }
    if latest < today {
        return Err(ValidationError::new("latest", "is in the past"));
    }
    if (latest - earliest).get_days() > MAX_WINDOW_DAYS {
        return Err(ValidationError::new("latest", "an entry waits at most a year"));
    }
    Ok(())
}

impl CreateWaitlistEntry {
    /// The window and notes, checked (`earliest` defaults to `today`).
    pub fn check(&self, today: Date) -> Result<(Date, Option<String>), ValidationError> {
        let earliest = self.earliest.unwrap_or(today);
        check_window(earliest, self.latest, today)?;
        Ok((earliest, note_text("notes", self.notes.as_deref())?))
    }
}

/// Body of `PATCH /api/waitlist/{id}`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWaitlistEntry {
    #[serde(default)]
    #[schema(value_type = Option<AppointmentTypeId>)]
    pub type_id: Patch<AppointmentTypeId>,
    #[serde(default)]
    #[schema(value_type = Option<LocationId>)]
    pub location_id: Patch<LocationId>,
    #[serde(default)]
    #[schema(value_type = Option<StaffId>)]
    pub vet_id: Patch<StaffId>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub earliest: Patch<Date>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub latest: Patch<Date>,
    #[serde(default)]
    #[schema(value_type = Option<TimeOfDay>)]
    pub time_of_day: Patch<TimeOfDay>,
    #[serde(default)]
    #[schema(value_type = Option<Urgency>)]
    pub urgency: Patch<Urgency>,
    #[serde(default)]
    #[schema(value_type = Option<ContactPreference>)]
    pub contact: Patch<ContactPreference>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub notes: Patch<String>,
}

impl UpdateWaitlistEntry {
    pub fn apply(&self, e: &WaitlistEntry, today: Date) -> Result<WaitlistEntry, ValidationError> {
        let mut n = e.clone();
        n.type_id = self.type_id.required(e.type_id, "type_id")?;
        n.location_id = self.location_id.optional(e.location_id);
        n.vet_id = self.vet_id.optional(e.vet_id);
        n.earliest = self.earliest.required(e.earliest, "earliest")?;
        n.latest = self.latest.required(e.latest, "latest")?;
        n.time_of_day = match self.time_of_day {
            Patch::Clear => TimeOfDay::Any,
            ref p => p.required(e.time_of_day, "time_of_day")?,
        };
        n.urgency = match self.urgency {
            Patch::Clear => Urgency::Routine,
            ref p => p.required(e.urgency, "urgency")?,
        };
        n.contact = match self.contact {
            Patch::Clear => ContactPreference::Phone,
            ref p => p.required(e.contact, "contact")?,
        };
        n.notes = match &self.notes {
            Patch::Keep => e.notes.clone(),
            Patch::Clear => None,
            Patch::Set(v) => note_text("notes", Some(v))?,
        };
        if n.earliest != e.earliest || n.latest != e.latest {
            check_window(n.earliest, n.latest, today)?;
        }
        Ok(n)
    }
}

/// A slot that opened: where, when and with whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FreedSlot {
    /// The cancelled appointment that freed it.
    pub appointment_id: AppointmentId,
    pub location_id: LocationId,
    pub type_id: AppointmentTypeId,
    pub vet_id: Option<StaffId>,
    pub room_id: Option<RoomId>,
    pub start: Timestamp,
    pub end: Timestamp,
}

/// Where an offer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OfferStatus {
    Pending,
    Accepted,
    Declined,
    Expired,
    /// Someone else accepted first, or the slot was taken otherwise.
    Superseded,
}

/// An offer of a freed slot to one waitlist entry, as stored and returned. Sending it to the
/// client arrives with the communications work; the record is made now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WaitlistOffer {
    pub id: OfferId,
    pub entry_id: WaitlistId,
    pub client_id: ClientId,
    pub patient_id: PatientId,
    pub slot: FreedSlot,
    pub status: OfferStatus,
    pub expires_at: Timestamp,
    /// The appointment booked when accepted.
    pub appointment_id: Option<AppointmentId>,
    pub responded_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

impl Record for WaitlistOffer {
    const KIND: &'static str = "waitlist_offer";
    const VERSION: u16 = 1;
}

impl WaitlistOffer {
    /// The status as of `now` (a pending offer past its expiry has expired).
    pub fn status_at(&self, now: Timestamp) -> OfferStatus {
        if self.status == OfferStatus::Pending && now >= self.expires_at { OfferStatus::Expired } else { self.status }
    }
}

/// A waitlist entry that fits a freed slot, in offer order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WaitlistMatch {
    pub entry: WaitlistEntry,
    /// The entry asked for exactly this type (otherwise its type fits in the slot).
    pub same_type: bool,
}

/// Body of `POST /api/waitlist/{id}/fulfill`: either the slot of a cancelled appointment, or
/// a slot given outright.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FulfillRequest {
    /// Take the slot this cancelled appointment freed.
    #[serde(default)]
    pub from_appointment_id: Option<AppointmentId>,
    #[serde(default)]
    pub start: Option<Timestamp>,
    #[serde(default)]
    pub end: Option<Timestamp>,
    #[serde(default)]
    pub vet_id: Option<StaffId>,
    #[serde(default)]
    pub room_id: Option<RoomId>,
    #[serde(default)]
    pub location_id: Option<LocationId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_of_day_preferences() {
        let t = |h| Time::constant(h, 30, 0, 0);
        assert!(TimeOfDay::Morning.suits(t(11)) && !TimeOfDay::Morning.suits(t(12)));
        assert!(TimeOfDay::Afternoon.suits(t(16)) && !TimeOfDay::Afternoon.suits(t(17)));
        assert!(TimeOfDay::Evening.suits(t(17)) && TimeOfDay::Any.suits(t(3)));
        assert!(Urgency::Urgent > Urgency::Soon && Urgency::Soon > Urgency::Routine);
    }

    #[test]
    fn windows_are_checked_and_entries_expire_after_their_last_day() {
        let d = |day| Date::constant(2026, 12, day);
        assert_eq!(check_window(d(10), d(9), d(1)).unwrap_err().field, "latest");
        assert_eq!(check_window(d(1), d(2), d(5)).unwrap_err().message, "is in the past");
        assert!(check_window(d(5), d(5), d(5)).is_ok());
        let e = WaitlistEntry {
            id: WaitlistId::from_u128(1),
            client_id: ClientId::from_u128(1),
            patient_id: PatientId::from_u128(1),
            type_id: AppointmentTypeId::from_u128(1),
            location_id: None,
            vet_id: None,
            earliest: d(1),
            latest: d(5),
            time_of_day: TimeOfDay::Any,
            urgency: Urgency::Routine,
            contact: ContactPreference::Phone,
            notes: None,
            status: EntryStatus::Offered,
            appointment_id: None,
            created_by: None,
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
        };
        assert_eq!(e.status_on(d(5)), EntryStatus::Offered);
        assert_eq!(e.status_on(d(6)), EntryStatus::Expired);
        let done = WaitlistEntry { status: EntryStatus::Fulfilled, ..e };
        assert_eq!(done.status_on(d(30)), EntryStatus::Fulfilled);
    }
}
