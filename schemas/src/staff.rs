//! Staff profiles (the person behind a user account: position, licence, capabilities), their
//! shifts and their time off.
//!
//! A shift is written as a local date and local start/end times at a location; an end at or
//! before the start means the shift runs past midnight. The service turns it into instants
//! (`starts_at`, `ends_at`) with the location's time zone once, when it is saved, so
//! availability and overlap checks compare instants only.
//!
//! Only `regular` and `overtime` shifts make someone bookable; `on_call` and `training`
//! shifts are recorded for the rota but do not open appointment slots.

use jiff::Timestamp;
use jiff::civil::{Date, Time};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::appointment_types::Capability;
use crate::errors::ValidationError;
use crate::ids::{LocationId, ShiftId, StaffId, TimeOffId, UserId};
use crate::locations::Day;
use crate::patch::{Patch, cleared};
use crate::records::Record;
use crate::values::{Email, MAX_NAME_CHARS, note_text, optional_text, required_text};

/// What someone does at the clinic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Position {
    Veterinarian,
    VetTech,
    Receptionist,
    PracticeManager,
    Billing,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EmploymentType {
    FullTime,
    PartTime,
    Contractor,
    Locum,
}

/// A professional licence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Licence {
    pub number: String,
    /// Issuing state or board, e.g. `NY`.
    pub state: String,
    #[schema(value_type = Option<String>)]
    pub expires_on: Option<Date>,
}

/// What someone is allowed to do clinically; these are enforced (a surgery type needs
/// someone who can perform surgery).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Capabilities {
    pub can_prescribe: bool,
    pub can_perform_surgery: bool,
    pub can_access_billing: bool,
}

impl Capabilities {
    pub fn has(&self, c: Capability) -> bool {
        match c {
            Capability::CanPrescribe => self.can_prescribe,
            Capability::CanPerformSurgery => self.can_perform_surgery,
        }
    }
}

/// One span of the usual working week (a template for planning shifts; informative).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatternSpan {
    pub day: Day,
    #[schema(value_type = String, example = "08:00")]
    pub start: Time,
    #[schema(value_type = String, example = "17:00")]
    pub end: Time,
}

/// A staff member, as stored and returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StaffProfile {
    pub id: StaffId,
    /// The sign-in account of this person, if they have one (unique).
    pub user_id: Option<UserId>,
    pub first_name: String,
    pub last_name: String,
    /// Unique when present.
    #[schema(value_type = Option<String>)]
    pub email: Option<Email>,
    pub phone: Option<String>,
    pub position: Position,
    pub employment_type: EmploymentType,
    #[schema(value_type = Option<String>)]
    pub hire_date: Option<Date>,
    pub licence: Option<Licence>,
    pub capabilities: Capabilities,
    /// Where they usually work.
    pub home_location_id: Option<LocationId>,
    pub weekly_pattern: Vec<PatternSpan>,
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Record for StaffProfile {
    const KIND: &'static str = "staff";
    const VERSION: u16 = 1;
}

impl StaffProfile {
    /// How the calendar shows them: "Dr. Lee" for a veterinarian, "Sam Park" otherwise.
    pub fn display_name(&self) -> String {
        match self.position {
            Position::Veterinarian => format!("Dr. {} {}", self.first_name, self.last_name),
            _ => format!("{} {}", self.first_name, self.last_name),
        }
    }
}

fn check_licence(l: &Licence) -> Result<Licence, ValidationError> {
    Ok(Licence {
        number: required_text("licence.number", &l.number, 40)?,
        state: required_text("licence.state", &l.state, 40)?,
        expires_on: l.expires_on,
    })
}

fn check_pattern(mut p: Vec<PatternSpan>) -> Result<Vec<PatternSpan>, ValidationError> {
    if p.len() > 21 {
        return Err(ValidationError::new("weekly_pattern", "at most 21 spans"));
    }
    p.sort_by_key(|s| (s.day, s.start));
    Ok(p)
}

/// Body of `POST /api/staff`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateStaff {
    #[serde(default)]
    pub user_id: Option<UserId>,
    pub first_name: String,
    pub last_name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    pub position: Position,
    #[serde(default = "full_time")]
    pub employment_type: EmploymentType,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub hire_date: Option<Date>,
    #[serde(default)]
    pub licence: Option<Licence>,
    #[serde(default)]
    pub capabilities: Capabilities,
    #[serde(default)]
    pub home_location_id: Option<LocationId>,
    #[serde(default)]
    pub weekly_pattern: Vec<PatternSpan>,
}

fn full_time() -> EmploymentType {
    EmploymentType::FullTime
}

impl CreateStaff {
    pub fn validate(&self, id: StaffId, now: Timestamp) -> Result<StaffProfile, ValidationError> {
        Ok(StaffProfile {
            id,
            user_id: self.user_id,
            first_name: required_text("first_name", &self.first_name, MAX_NAME_CHARS)?,
            last_name: required_text("last_name", &self.last_name, MAX_NAME_CHARS)?,
            email: match self.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
                Some(e) => Some(Email::parse("email", e)?),
                None => None,
            },
            phone: optional_text("phone", self.phone.as_deref(), 40)?,
            position: self.position,
            employment_type: self.employment_type,
            hire_date: self.hire_date,
            licence: self.licence.as_ref().map(check_licence).transpose()?,
            capabilities: self.capabilities,
            home_location_id: self.home_location_id,
            weekly_pattern: check_pattern(self.weekly_pattern.clone())?,
            active: true,
            created_at: now,
            updated_at: now,
        })
    }
}

/// Body of `PATCH /api/staff/{id}` (merge-patch); `active: false` when someone leaves.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateStaff {
    #[serde(default)]
    #[schema(value_type = Option<UserId>)]
    pub user_id: Patch<UserId>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub first_name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub last_name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub email: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub phone: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Position>)]
    pub position: Patch<Position>,
    #[serde(default)]
    #[schema(value_type = Option<EmploymentType>)]
    pub employment_type: Patch<EmploymentType>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub hire_date: Patch<Date>,
    #[serde(default)]
    #[schema(value_type = Option<Licence>)]
    pub licence: Patch<Licence>,
    #[serde(default)]
    #[schema(value_type = Option<Capabilities>)]
    pub capabilities: Patch<Capabilities>,
    #[serde(default)]
    #[schema(value_type = Option<LocationId>)]
    pub home_location_id: Patch<LocationId>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<PatternSpan>>)]
    pub weekly_pattern: Patch<Vec<PatternSpan>>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub active: Patch<bool>,
}

impl UpdateStaff {
    pub fn apply(&self, s: &StaffProfile) -> Result<StaffProfile, ValidationError> {
        let mut n = s.clone();
        n.user_id = self.user_id.optional(n.user_id);
        match &self.first_name {
            Patch::Keep => {}
            Patch::Clear => return Err(cleared("first_name")),
            Patch::Set(v) => n.first_name = required_text("first_name", v, MAX_NAME_CHARS)?,
        }
        match &self.last_name {
            Patch::Keep => {}
            Patch::Clear => return Err(cleared("last_name")),
            Patch::Set(v) => n.last_name = required_text("last_name", v, MAX_NAME_CHARS)?,
        }
        match &self.email {
            Patch::Keep => {}
            Patch::Clear => n.email = None,
            Patch::Set(v) => n.email = Some(Email::parse("email", v)?),
        }
        match &self.phone {
            Patch::Keep => {}
            Patch::Clear => n.phone = None,
            Patch::Set(v) => n.phone = optional_text("phone", Some(v), 40)?,
        }
        n.position = self.position.required(n.position, "position")?;
        n.employment_type = self.employment_type.required(n.employment_type, "employment_type")?;
        n.hire_date = self.hire_date.optional(n.hire_date);
        match &self.licence {
            Patch::Keep => {}
            Patch::Clear => n.licence = None,
            Patch::Set(v) => n.licence = Some(check_licence(v)?),
        }
        match self.capabilities {
            Patch::Keep => {}
            Patch::Clear => n.capabilities = Capabilities::default(),
            Patch::Set(v) => n.capabilities = v,
        }
        n.home_location_id = self.home_location_id.optional(n.home_location_id);
        match &self.weekly_pattern {
            Patch::Keep => {}
            Patch::Clear => n.weekly_pattern = Vec::new(),
            Patch::Set(v) => n.weekly_pattern = check_pattern(v.clone())?,
        }
        n.active = self.active.required(n.active, "active")?;
        Ok(n)
    }
}

/// What a shift is for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShiftKind {
    #[default]
    Regular,
    OnCall,
    Overtime,
    Training,
}

impl ShiftKind {
    /// Whether the person can be booked during it.
    pub fn bookable(self) -> bool {
        matches!(self, ShiftKind::Regular | ShiftKind::Overtime)
    }
}

/// One shift, as stored and returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Shift {
    pub id: ShiftId,
    pub staff_id: StaffId,
    pub location_id: LocationId,
    /// The local date the shift starts on.
    #[schema(value_type = String)]
    pub date: Date,
    #[schema(value_type = String, example = "08:00")]
    pub start: Time,
    /// At or before `start`: the shift ends the next day.
    #[schema(value_type = String, example = "17:00")]
    pub end: Time,
    pub kind: ShiftKind,
    pub break_minutes: u16,
    pub notes: Option<String>,
    /// The start as an instant (from the location's time zone when saved).
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub cancelled: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Record for Shift {
    const KIND: &'static str = "shift";
    const VERSION: u16 = 1;
}

impl Shift {
    pub fn overnight(&self) -> bool {
        self.end <= self.start
    }
}

/// Body of `POST /api/staff/{id}/shifts`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateShift {
    pub location_id: LocationId,
    #[schema(value_type = String, example = "2026-12-01")]
    pub date: Date,
    #[schema(value_type = String, example = "08:00")]
    pub start: Time,
    #[schema(value_type = String, example = "17:00")]
    pub end: Time,
    #[serde(default)]
    pub kind: ShiftKind,
    #[serde(default)]
    pub break_minutes: u16,
    #[serde(default)]
    pub notes: Option<String>,
}

/// The shape of a shift before the service places it in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftDraft {
    pub location_id: LocationId,
    pub date: Date,
    pub start: Time,
    pub end: Time,
    pub kind: ShiftKind,
    pub break_minutes: u16,
    pub notes: Option<String>,
}

fn check_break(m: u16) -> Result<u16, ValidationError> {
    if m <= 240 { Ok(m) } else { Err(ValidationError::new("break_minutes", "must be between 0 and 240")) }
}

impl CreateShift {
    pub fn validate(&self) -> Result<ShiftDraft, ValidationError> {
        if self.start == self.end {
            return Err(ValidationError::new("end", "must differ from start (a shift cannot last 0 or 24 hours)"));
        }
        Ok(ShiftDraft {
            location_id: self.location_id,
            date: self.date,
            start: self.start,
            end: self.end,
            kind: self.kind,
            break_minutes: check_break(self.break_minutes)?,
            notes: note_text("notes", self.notes.as_deref())?,
        })
    }
}

/// Body of `PATCH /api/staff/{id}/shifts/{shift_id}`; `cancelled: true` cancels it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateShift {
    #[serde(default)]
    #[schema(value_type = Option<LocationId>)]
    pub location_id: Patch<LocationId>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub date: Patch<Date>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub start: Patch<Time>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub end: Patch<Time>,
    #[serde(default)]
    #[schema(value_type = Option<ShiftKind>)]
    pub kind: Patch<ShiftKind>,
    #[serde(default)]
    #[schema(value_type = Option<u16>)]
    pub break_minutes: Patch<u16>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub notes: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub cancelled: Patch<bool>,
}

impl UpdateShift {
    /// The changed draft and the new cancelled flag.
    pub fn apply(&self, s: &Shift) -> Result<(ShiftDraft, bool), ValidationError> {
        let create = CreateShift {
            location_id: self.location_id.required(s.location_id, "location_id")?,
            date: self.date.required(s.date, "date")?,
            start: self.start.required(s.start, "start")?,
            end: self.end.required(s.end, "end")?,
            kind: self.kind.required(s.kind, "kind")?,
            break_minutes: match self.break_minutes {
                Patch::Keep => s.break_minutes,
                Patch::Clear => 0,
                Patch::Set(v) => v,
            },
            notes: match &self.notes {
                Patch::Keep => s.notes.clone(),
                Patch::Clear => None,
                Patch::Set(v) => Some(v.clone()),
            },
        };
        let cancelled = self.cancelled.required(s.cancelled, "cancelled")?;
        Ok((create.validate()?, cancelled))
    }
}

/// Where a time-off request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimeOffStatus {
    Requested,
    Approved,
    Denied,
    Cancelled,
}

/// Whole days off (local dates, inclusive), as stored and returned. Only approved time off
/// removes someone from availability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TimeOff {
    pub id: TimeOffId,
    pub staff_id: StaffId,
    #[schema(value_type = String)]
    pub first_day: Date,
    #[schema(value_type = String)]
    pub last_day: Date,
    pub reason: Option<String>,
    pub status: TimeOffStatus,
    pub requested_by: Option<UserId>,
    pub decided_by: Option<UserId>,
    pub decided_at: Option<Timestamp>,
    pub decision_note: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Record for TimeOff {
    const KIND: &'static str = "time_off";
    const VERSION: u16 = 1;
}

/// Body of `POST /api/time-off`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestTimeOff {
    pub staff_id: StaffId,
    #[schema(value_type = String, example = "2026-12-24")]
    pub first_day: Date,
    #[schema(value_type = String, example = "2026-12-26")]
    pub last_day: Date,
    #[serde(default)]
    pub reason: Option<String>,
}

impl RequestTimeOff {
    pub fn validate(&self) -> Result<(Date, Date, Option<String>), ValidationError> {
        if self.last_day < self.first_day {
            return Err(ValidationError::new("last_day", "must be on or after first_day"));
        }
        if (self.last_day - self.first_day).get_days() > 366 {
            return Err(ValidationError::new("last_day", "time off spans at most a year per request"));
        }
        Ok((self.first_day, self.last_day, optional_text("reason", self.reason.as_deref(), 500)?))
    }
}

/// Body of `POST /api/time-off/{id}/approve` and `/deny`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideTimeOff {
    #[serde(default)]
    pub note: Option<String>,
}

/// A personal calendar subscription of one staff member (`GET /ical/{token}.ics`). The token is
/// shown once and stored only as its SHA-256; issuing a new one revokes the old. Never sent
/// over the API as is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarFeed {
    pub id: crate::ids::FeedId,
    pub staff_id: StaffId,
    /// Hex SHA-256 of the token (never shown).
    pub token_hash: String,
    pub active: bool,
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

impl Record for CalendarFeed {
    const KIND: &'static str = "calendar_feed";
    const VERSION: u16 = 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shift_needs_distinct_start_and_end_and_a_sane_break() {
        let c = |s: (i8, i8), e: (i8, i8), brk| CreateShift {
            location_id: LocationId::from_u128(1),
            date: Date::constant(2026, 12, 1),
            start: Time::constant(s.0, s.1, 0, 0),
            end: Time::constant(e.0, e.1, 0, 0),
            kind: ShiftKind::Regular,
            break_minutes: brk,
            notes: None,
        };
        assert_eq!(c((8, 0), (8, 0), 0).validate().unwrap_err().field, "end");
        assert_eq!(c((8, 0), (17, 0), 241).validate().unwrap_err().field, "break_minutes");
        assert!(c((22, 0), (6, 0), 30).validate().is_ok(), "overnight shifts are allowed");
    }

    #[test]
    fn time_off_ends_on_or_after_it_starts() {
        let r = RequestTimeOff {
            staff_id: StaffId::from_u128(1),
            first_day: Date::constant(2026, 12, 24),
            last_day: Date::constant(2026, 12, 23),
            reason: None,
        };
        assert_eq!(r.validate().unwrap_err().field, "last_day");
    }

    #[test]
    fn vets_are_shown_as_doctors() {
        let c = CreateStaff {
            user_id: None,
            first_name: "Ana".into(),
            last_name: "Lee".into(),
            email: Some("".into()),
            phone: None,
            position: Position::Veterinarian,
            employment_type: EmploymentType::FullTime,
            hire_date: None,
            licence: None,
            capabilities: Capabilities::default(),
            home_location_id: None,
            weekly_pattern: vec![],
        };
        let s = c.validate(StaffId::from_u128(1), Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!((s.display_name().as_str(), s.email.is_none()), ("Dr. Ana Lee", true));
    }
}
