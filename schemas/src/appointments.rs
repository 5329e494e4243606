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

    /// Whether the visit is still to happen or happened: neither cancelled nor missed (what a
    /// treatment-plan step booked in it waits for; a step is booked again only otherwise).
    pub fn takes_place(self) -> bool {
        !matches!(self, Status::Cancelled | Status::NoShow)
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

/// One appointment on the Today board, with the names the board shows.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CalendarEntry {
    pub appointment: Appointment,
    pub patient_name: String,
    pub client_name: String,
    pub type_name: String,
    /// The type's colour, `#RRGGBB`.
    pub color: String,
}

/// A column of the Today board's day: one vet or one room.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CalendarColumn {
    /// The vet's or room's id.
    pub id: String,
    pub name: String,
    pub entries: Vec<CalendarEntry>,
}

/// The Today board's day (`GET /api/dashboard`, the `/ws` snapshot): columns per vet and per
/// room with whole appointments, which the board keeps current from the events.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BoardDay {
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

/// A vet heading a column of the day view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DayVet {
    pub id: StaffId,
    pub name: String,
}

/// A room heading a column of the day view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DayRoom {
    pub id: RoomId,
    pub name: String,
}

/// A cat on the day view (each once, however many appointments it has).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DayPatient {
    pub name: String,
}

/// A client on the day view: the name the front desk greets. Contact details stay on the
/// client's (audited) record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DayClient {
    /// "First Last".
    pub name: String,
}

/// An appointment type on the day view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DayType {
    pub name: String,
    /// `#RRGGBB`.
    pub color: String,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One appointment of the day view: what a front-desk line shows, the rest by reference to
/// the maps of the [`DayView`]. Absent optional fields and `false` flags are left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DayAppointment {
    pub id: AppointmentId,
    pub start: Timestamp,
    pub end: Timestamp,
    pub status: Status,
    /// A key of `types`.
    pub type_id: AppointmentTypeId,
    /// A key of `patients`.
    pub patient_id: PatientId,
    /// A key of `clients`.
    pub client_id: ClientId,
    /// The id of one of `vets`; absent when unassigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vet_id: Option<StaffId>,
    /// The id of one of `rooms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_id: Option<RoomId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The appointment has notes (read them on the appointment).
    #[serde(default, skip_serializing_if = "is_false")]
    pub has_notes: bool,
    /// The cat's first appointment here (no earlier one that was not cancelled).
    #[serde(default, skip_serializing_if = "is_false")]
    pub first_visit: bool,
    /// Booked over a conflict.
    #[serde(default, skip_serializing_if = "is_false")]
    pub overbooked: bool,
    /// When the cat arrived (the waiting time counts from it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_in_at: Option<Timestamp>,
}

/// `GET /api/calendar`: one location's day for the front desk, lean: each vet, room, cat,
/// client and type once, and the appointments referring to them by id.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DayView {
    pub location_id: LocationId,
    #[schema(value_type = String)]
    pub date: jiff::civil::Date,
    pub time_zone: String,
    /// Opening hours that day as `[open, close]` instants; absent when closed.
    pub open: Option<[Timestamp; 2]>,
    /// The vet columns, by name: every vet with a shift there that day, and anyone booked.
    pub vets: Vec<DayVet>,
    /// The room columns, by name: every active room of the location, and any other room booked.
    pub rooms: Vec<DayRoom>,
    /// The day's appointments (cancelled ones too), by start.
    pub appointments: Vec<DayAppointment>,
    /// The cats of `appointments`, by id.
    #[schema(value_type = std::collections::BTreeMap<String, DayPatient>)]
    pub patients: std::collections::BTreeMap<PatientId, DayPatient>,
    /// The clients of `appointments`, by id.
    #[schema(value_type = std::collections::BTreeMap<String, DayClient>)]
    pub clients: std::collections::BTreeMap<ClientId, DayClient>,
    /// The appointment types of `appointments`, by id.
    #[schema(value_type = std::collections::BTreeMap<String, DayType>)]
    pub types: std::collections::BTreeMap<AppointmentTypeId, DayType>,
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
    pub day: BoardDay,
    /// Checked-in cats, longest waiting first.
    pub queue: Vec<QueueEntry>,
    pub rooms: Vec<crate::whiteboard::BoardRoom>,
    pub counters: Counters,
    /// The event log's newest sequence number when this was read: events after it follow.
    pub last_seq: u64,
}

/// A free start on a day of [`Availability`]: the local wall time, and the UTC offset only
/// when it differs from the day's (the second pass through the hour repeated when clocks go
/// back). On the wire `"08:30"` (`"08:30:15"` with seconds), or `"01:30-05:00"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreeStart {
    pub time: jiff::civil::Time,
    /// `None`: the day's `offset`.
    pub offset: Option<jiff::tz::Offset>,
}

impl FreeStart {
    /// `at` as shown in `tz`, on a day whose starts are at `day_offset`.
    pub fn in_zone(at: Timestamp, tz: &jiff::tz::TimeZone, day_offset: jiff::tz::Offset) -> FreeStart {
        let offset = tz.to_offset(at);
        FreeStart { time: offset.to_datetime(at).time(), offset: (offset != day_offset).then_some(offset) }
    }

    /// Writes the wire text into `buf` and returns it.
    fn write<'b>(&self, buf: &'b mut [u8; 16]) -> &'b str {
        let mut n = 0;
        let mut two = |v: i32| {
            buf[n] = b'0' + (v / 10 % 10) as u8;
            buf[n + 1] = b'0' + (v % 10) as u8;
            n += 2;
        };
        two(self.time.hour().into());
        two(self.time.minute().into());
        if self.time.second() != 0 {
            two(self.time.second().into());
        }
        let mut text = [0u8; 16];
        // Insert the colons: "HHMM[SS]" becomes "HH:MM[:SS]".
        let mut m = 0;
        for (i, b) in buf[..n].iter().enumerate() {
            if i > 0 && i % 2 == 0 {
                text[m] = b':';
                m += 1;
            }
            text[m] = *b;
            m += 1;
        }
        if let Some(o) = self.offset {
            text[m..m + 6].copy_from_slice(&offset_text::bytes(o));
            m += 6;
        }
        buf.copy_from_slice(&text);
        // Only ASCII digits and punctuation were written.
        std::str::from_utf8(&buf[..m]).unwrap_or_default()
    }
}

impl std::fmt::Display for FreeStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.write(&mut [0; 16]))
    }
}

impl Serialize for FreeStart {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.write(&mut [0; 16]))
    }
}

impl std::str::FromStr for FreeStart {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{text:?} is not a wall time (08:30) with an optional offset (01:30-05:00)");
        let split = text.find(['+', '-']).unwrap_or(text.len());
        let time: jiff::civil::Time = text[..split].parse().map_err(|_| bad())?;
        let offset = match &text[split..] {
            "" => None,
            o => Some(offset_text::parse(o).ok_or_else(bad)?),
        };
        Ok(FreeStart { time, offset })
    }
}

impl<'de> Deserialize<'de> for FreeStart {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A UTC offset as `±HH:MM` (seconds of historic offsets are dropped: no start uses one).
mod offset_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn bytes(o: jiff::tz::Offset) -> [u8; 6] {
        let secs = o.seconds();
        let (h, m) = (secs.abs() / 3600, secs.abs() % 3600 / 60);
        let digit = |v: i32| b'0' + (v % 10) as u8;
        [if secs < 0 { b'-' } else { b'+' }, digit(h / 10), digit(h), b':', digit(m / 10), digit(m)]
    }

    /// Reads `±HH:MM`.
    pub(super) fn parse(text: &str) -> Option<jiff::tz::Offset> {
        let sign = match text.as_bytes().first()? {
            b'-' => -1,
            b'+' => 1,
            _ => return None,
        };
        let (h, m) = text[1..].split_once(':')?;
        if h.len() != 2 || m.len() != 2 {
            return None;
        }
        let secs = h.parse::<i32>().ok()? * 3600 + m.parse::<i32>().ok()? * 60;
        jiff::tz::Offset::from_seconds(sign * secs).ok()
    }

    pub(super) fn serialize<S: Serializer>(o: &jiff::tz::Offset, s: S) -> Result<S::Ok, S::Error> {
        // Only ASCII was written.
        s.serialize_str(std::str::from_utf8(&bytes(*o)).unwrap_or_default())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<jiff::tz::Offset, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        parse(&text).ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not an offset like -05:00")))
    }
}

/// One local day of a vet's free starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FreeDay {
    #[schema(value_type = String)]
    pub date: jiff::civil::Date,
    /// The UTC offset of the day's starts, e.g. `-05:00` (that of its first start).
    #[schema(value_type = String)]
    #[serde(with = "offset_text")]
    pub offset: jiff::tz::Offset,
    /// Local wall times, in time order: `"08:30"`, or `"01:30-05:00"` for a start at
    /// another offset than the day's (the repeated hour when clocks go back).
    #[schema(value_type = Vec<String>)]
    pub starts: Vec<FreeStart>,
}

/// A vet's free starts, per local day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FreeVet {
    pub vet_id: StaffId,
    /// Days with at least one free start, in order.
    pub days: Vec<FreeDay>,
}

/// `GET /api/availability`: free start times of one appointment type at one location, per
/// vet and local day. Every start is free for the whole appointment (`duration_minutes`)
/// and the type's buffer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Availability {
    pub location_id: LocationId,
    pub time_zone: String,
    pub type_id: AppointmentTypeId,
    /// How long the appointment lasts from each start.
    pub duration_minutes: u16,
    /// Vets with at least one free start, in id order.
    pub vets: Vec<FreeVet>,
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
    fn free_starts_are_wall_times_with_an_offset_only_when_it_differs() {
        let ny = jiff::tz::TimeZone::get("America/New_York").unwrap();
        let est = jiff::tz::Offset::from_hours(-5).unwrap();
        let edt = jiff::tz::Offset::from_hours(-4).unwrap();
        let show = |ts: &str, day: jiff::tz::Offset| FreeStart::in_zone(ts.parse().unwrap(), &ny, day).to_string();
        assert_eq!(show("2026-12-01T13:00:00Z", est), "08:00");
        assert_eq!(show("2026-12-01T13:30:15Z", est), "08:30:15");
        // Fall-back day (1 November 2026): the day starts at -04:00; 01:30 happens twice.
        assert_eq!(show("2026-11-01T05:30:00Z", edt), "01:30");
        assert_eq!(show("2026-11-01T06:30:00Z", edt), "01:30-05:00");
        let kolkata = jiff::tz::TimeZone::get("Asia/Kolkata").unwrap();
        let odd = FreeStart::in_zone("2026-12-01T13:00:00Z".parse().unwrap(), &kolkata, est);
        assert_eq!(odd.to_string(), "18:30+05:30");
        for text in ["08:00", "08:30:15", "01:30-05:00", "18:30+05:30", "00:00"] {
            let s: FreeStart = serde_json::from_value(serde_json::json!(text)).unwrap();
            assert_eq!(serde_json::to_value(s).unwrap(), text);
        }
        let day = FreeDay { date: jiff::civil::date(2026, 12, 1), offset: est, starts: vec![] };
        let json = serde_json::to_value(&day).unwrap();
        assert_eq!(json["offset"], "-05:00");
        assert_eq!(serde_json::from_value::<FreeDay>(json).unwrap(), day);
        assert!("8h".parse::<FreeStart>().is_err());
        assert!("08:00-0500".parse::<FreeStart>().is_err());
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
