//! Appointments and their status workflow.
//!
//! The workflow (DOMAIN.md "Scheduling") is enforced here, in [`Status::allowed`], and
//! nowhere else: `scheduled → confirmed → checked_in → in_progress → completed`;
//! `cancelled` from any state before `in_progress`; `no_show` from `scheduled` or `confirmed`
//! once the start has passed. One addition, decided for the front desk: a `scheduled`
//! appointment may go straight to `checked_in`, because a cat that arrives before its owner
//! confirmed is still there to be seen.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::errors::ValidationError;
use crate::ids::{AppointmentId, AppointmentTypeId, ClientId, LocationId, PatientId, RoomId, StaffId, UserId};
use crate::patch::{Patch, cleared};
use crate::records::Record;
use crate::values::{note_text, optional_text};

/// Where an appointment is in its day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Scheduled,
    Confirmed,
    CheckedIn,
    InProgress,
    Completed,
    Cancelled,
    NoShow,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Scheduled,
        Status::Confirmed,
        Status::CheckedIn,
        Status::InProgress,
        Status::Completed,
        Status::Cancelled,
        Status::NoShow,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Scheduled => "scheduled",
            Status::Confirmed => "confirmed",
            Status::CheckedIn => "checked_in",
            Status::InProgress => "in_progress",
            Status::Completed => "completed",
            Status::Cancelled => "cancelled",
            Status::NoShow => "no_show",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// The moves allowed from this status for an appointment starting at `start`, at `now`.
    pub fn allowed(self, start: Timestamp, now: Timestamp) -> Vec<Status> {
        use Status::*;
        let started = now >= start;
        match self {
            Scheduled if started => vec![Confirmed, CheckedIn, Cancelled, NoShow],
            Scheduled => vec![Confirmed, CheckedIn, Cancelled],
            Confirmed if started => vec![CheckedIn, Cancelled, NoShow],
            Confirmed => vec![CheckedIn, Cancelled],
            CheckedIn => vec![InProgress, Cancelled],
            InProgress => vec![Completed],
            Completed | Cancelled | NoShow => vec![],
        }
    }

    /// Whether the appointment still holds its vet, room and patient. A no-show keeps its
    /// slot (the time has passed anyway); only cancellation frees it.
    pub fn holds_slot(self) -> bool {
        self != Status::Cancelled
    }

    /// Whether its time, vet or room may still change.
    pub fn reschedulable(self) -> bool {
        matches!(self, Status::Scheduled | Status::Confirmed | Status::CheckedIn)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the appointment was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    #[default]
    Staff,
    Portal,
    PublicBooking,
    Waitlist,
}

/// One move of the workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatusChange {
    pub from: Status,
    pub to: Status,
    pub at: Timestamp,
    pub by: Option<UserId>,
    pub reason: Option<String>,
}

/// The time of each status reached (the first time it was reached).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatusTimes {
    pub confirmed_at: Option<Timestamp>,
    pub checked_in_at: Option<Timestamp>,
    pub started_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    pub cancelled_at: Option<Timestamp>,
    pub no_show_at: Option<Timestamp>,
}

impl StatusTimes {
    pub fn stamp(&mut self, to: Status, at: Timestamp) {
        let slot = match to {
            Status::Scheduled => return,
            Status::Confirmed => &mut self.confirmed_at,
            Status::CheckedIn => &mut self.checked_in_at,
            Status::InProgress => &mut self.started_at,
            Status::Completed => &mut self.completed_at,
            Status::Cancelled => &mut self.cancelled_at,
            Status::NoShow => &mut self.no_show_at,
        };
        slot.get_or_insert(at);
    }
}

/// An appointment, as stored and returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Appointment {
    pub id: AppointmentId,
    pub location_id: LocationId,
    pub client_id: ClientId,
    pub patient_id: PatientId,
    pub type_id: AppointmentTypeId,
    pub vet_id: Option<StaffId>,
    pub room_id: Option<RoomId>,
    pub start: Timestamp,
    pub end: Timestamp,
    /// Minutes kept free after `end`, copied from the type when booked so later edits of the
    /// type do not move existing bookings.
    pub buffer_after_minutes: u16,
    pub reason: Option<String>,
    pub notes: Option<String>,
    pub status: Status,
    pub times: StatusTimes,
    pub history: Vec<StatusChange>,
    pub cancelled_by: Option<UserId>,
    pub cancel_reason: Option<String>,
    pub source: Source,
    /// Booked over a conflict by someone allowed to (`appointments:overbook`).
    pub overbooked: bool,
    /// iCalendar SEQUENCE: incremented on every reschedule and on cancellation.
    pub sequence: u32,
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Record for Appointment {
    const KIND: &'static str = "appointment";
    const VERSION: u16 = 1;
}

impl Appointment {
    /// The end of the time it blocks: `end` plus the buffer.
    pub fn blocked_until(&self) -> Timestamp {
        self.end.saturating_add(jiff::SignedDuration::from_mins(self.buffer_after_minutes.into())).unwrap_or(self.end)
    }
}

/// The longest appointment that can be booked (a day of hospitalisation is not an
/// appointment).
pub const MAX_APPOINTMENT_MINUTES: i64 = 12 * 60;

/// Checks `end > start` and a sane length.
pub fn check_times(start: Timestamp, end: Timestamp) -> Result<(), ValidationError> {
    if end <= start {
        return Err(ValidationError::new("end", "must be after start"));
    }
    if end.duration_since(start) > jiff::SignedDuration::from_mins(MAX_APPOINTMENT_MINUTES) {
        return Err(ValidationError::new("end", "an appointment lasts at most 12 hours"));
    }
    Ok(())
}

/// Body of `POST /api/appointments`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAppointment {
    pub client_id: ClientId,
    pub patient_id: PatientId,
    pub type_id: AppointmentTypeId,
    #[serde(default)]
    pub vet_id: Option<StaffId>,
    #[serde(default)]
    pub room_id: Option<RoomId>,
    /// Needed when neither a room nor a single location tells where.
    #[serde(default)]
    pub location_id: Option<LocationId>,
    /// ISO 8601 with offset, e.g. `2026-12-01T09:00:00-05:00`.
    pub start: Timestamp,
    /// Default: start + the type's duration.
    #[serde(default)]
    pub end: Option<Timestamp>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    /// Book over a conflict (needs `appointments:overbook`; audited).
    #[serde(default)]
    pub overbook: bool,
}

/// The free-text parts of a booking, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingText {
    pub reason: Option<String>,
    pub notes: Option<String>,
}

impl CreateAppointment {
    pub fn text(&self) -> Result<BookingText, ValidationError> {
        Ok(BookingText {
            reason: optional_text("reason", self.reason.as_deref(), 500)?,
            notes: note_text("notes", self.notes.as_deref())?,
        })
    }
}

/// Body of `PATCH /api/appointments/{id}`. Changing `start`, `end`, `vet_id` or `room_id`
/// is a reschedule (checked for conflicts, SEQUENCE incremented); allowed until the patient
/// is in the room.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAppointment {
    #[serde(default)]
    #[schema(value_type = Option<Timestamp>)]
    pub start: Patch<Timestamp>,
    /// Setting `start` alone keeps the length.
    #[serde(default)]
    #[schema(value_type = Option<Timestamp>)]
    pub end: Patch<Timestamp>,
    #[serde(default)]
    #[schema(value_type = Option<StaffId>)]
    pub vet_id: Patch<StaffId>,
    #[serde(default)]
    #[schema(value_type = Option<RoomId>)]
    pub room_id: Patch<RoomId>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub reason: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub notes: Patch<String>,
    #[serde(default)]
    pub overbook: bool,
}

/// What a PATCH changes, after checking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppointmentEdit {
    pub start: Timestamp,
    pub end: Timestamp,
    pub vet_id: Option<StaffId>,
    pub room_id: Option<RoomId>,
    pub reason: Option<String>,
    pub notes: Option<String>,
}

impl AppointmentEdit {
    /// Whether the edit moves the appointment (time, vet or room).
    pub fn moves(&self, a: &Appointment) -> bool {
        self.start != a.start || self.end != a.end || self.vet_id != a.vet_id || self.room_id != a.room_id
    }
}

impl UpdateAppointment {
    pub fn apply(&self, a: &Appointment) -> Result<AppointmentEdit, ValidationError> {
        let start = match self.start {
            Patch::Keep => a.start,
            Patch::Clear => return Err(cleared("start")),
            Patch::Set(v) => v,
        };
        let end = match self.end {
            Patch::Keep => start.saturating_add(a.end.duration_since(a.start)).unwrap_or(a.end),
            Patch::Clear => return Err(cleared("end")),
            Patch::Set(v) => v,
        };
        check_times(start, end)?;
        let text = |p: &Patch<String>, cur: &Option<String>, f: &str, notes: bool| match p {
            Patch::Keep => Ok(cur.clone()),
            Patch::Clear => Ok(None),
            Patch::Set(v) if notes => note_text(f, Some(v)),
            Patch::Set(v) => optional_text(f, Some(v), 500),
        };
        Ok(AppointmentEdit {
            start,
            end,
            vet_id: self.vet_id.optional(a.vet_id),
            room_id: self.room_id.optional(a.room_id),
            reason: text(&self.reason, &a.reason, "reason", false)?,
            notes: text(&self.notes, &a.notes, "notes", true)?,
        })
    }
}

/// Body of `POST /api/appointments/{id}/transition`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    pub to: Status,
    /// Required when cancelling.
    #[serde(default)]
    pub reason: Option<String>,
    /// When checking in: the room the patient goes to (waits in).
    #[serde(default)]
    pub room_id: Option<RoomId>,
}

impl TransitionRequest {
    pub fn reason(&self) -> Result<Option<String>, ValidationError> {
        let r = optional_text("reason", self.reason.as_deref(), 500)?;
        if self.to == Status::Cancelled && r.is_none() {
            return Err(ValidationError::new("reason", "is required when cancelling"));
        }
        Ok(r)
    }
}

/// One appointment on a calendar screen, with the names the screen shows.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CalendarEntry {
    pub appointment: Appointment,
    pub patient_name: String,
    pub client_name: String,
    pub type_name: String,
    /// The type's colour, `#RRGGBB`.
    pub color: String,
}

/// A column of the day view: one vet or one room.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CalendarColumn {
    /// The vet's or room's id.
    pub id: String,
    pub name: String,
    pub entries: Vec<CalendarEntry>,
}

/// `GET /api/calendar`: one location's day, in columns per vet and per room.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DayView {
    pub location_id: LocationId,
    #[schema(value_type = String)]
    pub date: jiff::civil::Date,
    pub time_zone: String,
    /// Opening hours that day as `[open, close]` instants; absent when closed.
    pub open: Option<[Timestamp; 2]>,
    /// Every vet with a shift or an appointment that day.
    pub vets: Vec<CalendarColumn>,
    /// Every active room of the location, and any other room booked that day.
    pub rooms: Vec<CalendarColumn>,
    /// Appointments with no vet.
    pub unassigned: Vec<CalendarEntry>,
}

/// A cat waiting after check-in.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct QueueEntry {
    pub appointment_id: AppointmentId,
    pub patient_id: PatientId,
    pub patient_name: String,
    pub client_name: String,
    pub type_name: String,
    pub vet_id: Option<StaffId>,
    pub room_id: Option<RoomId>,
    pub checked_in_at: Timestamp,
    /// Minutes waited when the snapshot was taken (screens count on from `checked_in_at`).
    pub waited_minutes: i64,
}

/// The day's numbers on the board.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct Counters {
    /// Appointments of the day that are not cancelled.
    pub booked: u32,
    pub confirmed: u32,
    pub checked_in: u32,
    pub in_exam: u32,
    pub completed: u32,
    pub no_shows: u32,
    pub cancelled: u32,
}

/// A location's Today board: the day view, the waiting queue, the rooms and the counters.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Dashboard {
    pub day: DayView,
    /// Checked-in cats, longest waiting first.
    pub queue: Vec<QueueEntry>,
    pub rooms: Vec<crate::whiteboard::BoardRoom>,
    pub counters: Counters,
    /// The event log's newest sequence number when this was read: events after it follow.
    pub last_seq: u64,
}

/// An instant with the UTC offset in force where it is shown. On the wire: ISO 8601 with
/// that offset, e.g. `2026-12-01T08:00:00-05:00`. Written digit by digit straight into the
/// output, with no allocation, because an availability answer holds hundreds of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalInstant {
    pub at: Timestamp,
    pub offset: jiff::tz::Offset,
}

impl LocalInstant {
    /// The instant as shown in `tz`.
    pub fn in_zone(at: Timestamp, tz: &jiff::tz::TimeZone) -> LocalInstant {
        LocalInstant { at, offset: tz.to_offset(at) }
    }

    /// Writes the ISO 8601 text into `buf` and returns it.
    pub fn write<'b>(&self, buf: &'b mut [u8; 32]) -> &'b str {
        let dt = self.offset.to_datetime(self.at);
        let mut n = 0;
        let mut put = |b: u8| {
            buf[n] = b;
            n += 1;
        };
        let two = |v: i32, put: &mut dyn FnMut(u8)| {
            put(b'0' + (v / 10 % 10) as u8);
            put(b'0' + (v % 10) as u8);
        };
        let year = i32::from(dt.year());
        if year < 0 {
            put(b'-');
        }
        two(year.abs() / 100, &mut put);
        two(year.abs() % 100, &mut put);
        put(b'-');
        two(dt.month().into(), &mut put);
        put(b'-');
        two(dt.day().into(), &mut put);
        put(b'T');
        two(dt.hour().into(), &mut put);
        put(b':');
        two(dt.minute().into(), &mut put);
        put(b':');
        two(dt.second().into(), &mut put);
        let secs = self.offset.seconds();
        put(if secs < 0 { b'-' } else { b'+' });
        two(secs.abs() / 3600, &mut put);
        put(b':');
        two(secs.abs() % 3600 / 60, &mut put);
        // Only ASCII digits and punctuation were written.
        std::str::from_utf8(&buf[..n]).unwrap_or_default()
    }
}

impl std::fmt::Display for LocalInstant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.write(&mut [0; 32]))
    }
}

impl Serialize for LocalInstant {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.write(&mut [0; 32]))
    }
}

impl<'de> Deserialize<'de> for LocalInstant {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let at: Timestamp = text.parse().map_err(serde::de::Error::custom)?;
        let zoned: jiff::Zoned = text
            .parse::<jiff::civil::DateTime>()
            .map_err(serde::de::Error::custom)?
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map_err(serde::de::Error::custom)?;
        let secs = (zoned.timestamp().as_second() - at.as_second()) as i32;
        let offset = jiff::tz::Offset::from_seconds(secs).map_err(serde::de::Error::custom)?;
        Ok(LocalInstant { at, offset })
    }
}

/// A start time at which the type can be booked, and who is free then.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FreeSlot {
    /// ISO 8601 with the location's offset, e.g. `2026-12-01T08:00:00-05:00`.
    #[schema(value_type = String)]
    pub start: LocalInstant,
    #[schema(value_type = String)]
    pub end: LocalInstant,
    /// The vets free for the whole appointment (and its buffer).
    pub vet_ids: Vec<StaffId>,
}

/// `GET /api/availability`: free start times of one appointment type at one location.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Availability {
    pub location_id: LocationId,
    pub time_zone: String,
    pub type_id: AppointmentTypeId,
    pub slots: Vec<FreeSlot>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workflow_allows_only_its_moves() {
        use Status::*;
        let start = Timestamp::from_second(1_000_000).unwrap();
        let before = Timestamp::from_second(999_000).unwrap();
        let after = Timestamp::from_second(1_001_000).unwrap();
        assert_eq!(Scheduled.allowed(start, before), vec![Confirmed, CheckedIn, Cancelled]);
        assert!(Scheduled.allowed(start, after).contains(&NoShow), "no-show once the start has passed");
        assert!(!CheckedIn.allowed(start, after).contains(&NoShow));
        assert_eq!(InProgress.allowed(start, after), vec![Completed], "no cancelling once in progress");
        for s in [Completed, Cancelled, NoShow] {
            assert!(s.allowed(start, after).is_empty());
        }
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }

    #[test]
    fn local_instants_are_written_with_their_offset_and_read_back() {
        let zone = |n| jiff::tz::TimeZone::get(n).unwrap();
        let show = |ts: &str, tz: &jiff::tz::TimeZone| LocalInstant::in_zone(ts.parse().unwrap(), tz).to_string();
        assert_eq!(show("2026-12-01T13:00:00Z", &zone("America/New_York")), "2026-12-01T08:00:00-05:00");
        assert_eq!(show("2026-07-01T12:30:05Z", &zone("America/New_York")), "2026-07-01T08:30:05-04:00");
        assert_eq!(show("2026-12-01T13:00:00Z", &zone("Asia/Kolkata")), "2026-12-01T18:30:00+05:30");
        assert_eq!(show("2026-12-01T13:00:00Z", &zone("America/St_Johns")), "2026-12-01T09:30:00-03:30");
        assert_eq!(show("0042-03-04T05:06:07Z", &jiff::tz::TimeZone::UTC), "0042-03-04T05:06:07+00:00");
        let l = LocalInstant::in_zone("2026-07-01T12:30:05Z".parse().unwrap(), &zone("America/New_York"));
        let json = serde_json::to_string(&l).unwrap();
        assert_eq!(json, "\"2026-07-01T08:30:05-04:00\"");
        assert_eq!(serde_json::from_str::<LocalInstant>(&json).unwrap(), l);
    }

    #[test]
    fn cancelling_needs_a_reason() {
        let t = TransitionRequest { to: Status::Cancelled, reason: Some("  ".into()), room_id: None };
        assert_eq!(t.reason().unwrap_err().field, "reason");
        let t = TransitionRequest { to: Status::Confirmed, reason: None, room_id: None };
        assert_eq!(t.reason().unwrap(), None);
    }

    #[test]
    fn times_must_be_ordered_and_bounded() {
        let s = Timestamp::from_second(1_000_000).unwrap();
        assert_eq!(check_times(s, s).unwrap_err().field, "end");
        let long = s.saturating_add(jiff::SignedDuration::from_hours(13)).unwrap();
        assert_eq!(check_times(s, long).unwrap_err().field, "end");
        // Seconds count: 12 h 00 m 59 s is over the limit (the conflict index relies on it).
        let just_over = s.saturating_add(jiff::SignedDuration::from_secs(12 * 3600 + 59)).unwrap();
        assert_eq!(check_times(s, just_over).unwrap_err().field, "end");
        assert!(check_times(s, s.saturating_add(jiff::SignedDuration::from_hours(12)).unwrap()).is_ok());
    }
}
