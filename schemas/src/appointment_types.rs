//! Scheduling vocabulary. So far: appointment types (what can be booked, for how long, in
//! which kind of room, needing which capability). Locations, rooms, shifts and appointments
//! join here with the calendar work.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::errors::ValidationError;
use crate::ids::AppointmentTypeId;
use crate::patch::Patch;
use crate::records::Record;
use crate::values::{MAX_NAME_CHARS, required_text};

/// Kinds of room an appointment can need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoomKind {
    Exam,
    Surgery,
    Dental,
    Isolation,
    /// A ward for cats only (no dogs barking next door).
    CatWard,
}

/// Staff capabilities an appointment can need (enforced when booking).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    CanPrescribe,
    CanPerformSurgery,
}

/// Default length of an appointment type, minutes.
pub const DEFAULT_DURATION: u16 = 30;
/// Default calendar colour.
pub const DEFAULT_COLOR: &str = "#2563eb";

/// A kind of appointment, as stored and returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AppointmentType {
    pub id: AppointmentTypeId,
    /// Unique (case-insensitive).
    pub name: String,
    /// 5–480 minutes.
    pub duration_minutes: u16,
    /// `#RRGGBB`.
    pub color: String,
    /// Clients may book it through the portal.
    pub bookable_online: bool,
    /// Minutes kept free after it (cleaning, notes), 0–240.
    pub buffer_after_minutes: u16,
    pub room_kind: Option<RoomKind>,
    pub requires_capability: Option<Capability>,
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Record for AppointmentType {
    const KIND: &'static str = "appointment_type";
    const VERSION: u16 = 1;
}

fn check_duration(field: &str, m: u16) -> Result<u16, ValidationError> {
    if (5..=480).contains(&m) { Ok(m) } else { Err(ValidationError::new(field, "must be between 5 and 480 minutes")) }
}

fn check_buffer(field: &str, m: u16) -> Result<u16, ValidationError> {
    if m <= 240 { Ok(m) } else { Err(ValidationError::new(field, "must be between 0 and 240 minutes")) }
}

/// Parses a `#RRGGBB` colour (upper-cased hex digits kept as typed, lower-cased).
pub fn parse_color(field: &str, input: &str) -> Result<String, ValidationError> {
    let c = input.trim().to_ascii_lowercase();
    let ok = c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|ch| ch.is_ascii_hexdigit());
    if ok { Ok(c) } else { Err(ValidationError::new(field, "must be a colour like #2563eb")) }
}

/// Body of `POST /api/appointment-types`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAppointmentType {
    pub name: String,
    /// Default 30.
    #[serde(default)]
    pub duration_minutes: Option<u16>,
    /// Default `#2563eb`.
    #[serde(default)]
    pub color: Option<String>,
    #[serde(default)]
    pub bookable_online: bool,
    #[serde(default)]
    pub buffer_after_minutes: u16,
    #[serde(default)]
    pub room_kind: Option<RoomKind>,
    #[serde(default)]
    pub requires_capability: Option<Capability>,
}

impl CreateAppointmentType {
    /// The validated type, with identity and times filled in by the caller.
    pub fn validate(&self, id: AppointmentTypeId, now: Timestamp) -> Result<AppointmentType, ValidationError> {
        Ok(AppointmentType {
            id,
            name: required_text("name", &self.name, MAX_NAME_CHARS)?,
            duration_minutes: check_duration("duration_minutes", self.duration_minutes.unwrap_or(DEFAULT_DURATION))?,
            color: match &self.color {
                Some(c) => parse_color("color", c)?,
                None => DEFAULT_COLOR.to_owned(),
            },
            bookable_online: self.bookable_online,
            buffer_after_minutes: check_buffer("buffer_after_minutes", self.buffer_after_minutes)?,
            room_kind: self.room_kind,
            requires_capability: self.requires_capability,
            active: true,
            created_at: now,
            updated_at: now,
        })
    }
}

/// Body of `PATCH /api/appointment-types/{id}`; `active: false` retires a type.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAppointmentType {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<u16>)]
    pub duration_minutes: Patch<u16>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub color: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub bookable_online: Patch<bool>,
    #[serde(default)]
    #[schema(value_type = Option<u16>)]
    pub buffer_after_minutes: Patch<u16>,
    #[serde(default)]
    #[schema(value_type = Option<RoomKind>)]
    pub room_kind: Patch<RoomKind>,
    #[serde(default)]
    #[schema(value_type = Option<Capability>)]
    pub requires_capability: Patch<Capability>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub active: Patch<bool>,
}

impl UpdateAppointmentType {
    pub fn apply(&self, t: &AppointmentType) -> Result<AppointmentType, ValidationError> {
        let mut n = t.clone();
        let required = |f: &str| ValidationError::new(f, "is required and cannot be cleared");
        match &self.name {
            Patch::Keep => {}
            Patch::Clear => return Err(required("name")),
            Patch::Set(v) => n.name = required_text("name", v, MAX_NAME_CHARS)?,
        }
        match self.duration_minutes {
            Patch::Keep => {}
            Patch::Clear => n.duration_minutes = DEFAULT_DURATION,
            Patch::Set(v) => n.duration_minutes = check_duration("duration_minutes", v)?,
        }
        match &self.color {
            Patch::Keep => {}
            Patch::Clear => n.color = DEFAULT_COLOR.to_owned(),
            Patch::Set(v) => n.color = parse_color("color", v)?,
        }
        match self.bookable_online {
            Patch::Keep => {}
            Patch::Clear => n.bookable_online = false,
            Patch::Set(v) => n.bookable_online = v,
        }
        match self.buffer_after_minutes {
            Patch::Keep => {}
            Patch::Clear => n.buffer_after_minutes = 0,
            Patch::Set(v) => n.buffer_after_minutes = check_buffer("buffer_after_minutes", v)?,
        }
        match self.room_kind {
            Patch::Keep => {}
            Patch::Clear => n.room_kind = None,
            Patch::Set(v) => n.room_kind = Some(v),
        }
        match self.requires_capability {
            Patch::Keep => {}
            Patch::Clear => n.requires_capability = None,
            Patch::Set(v) => n.requires_capability = Some(v),
        }
        match self.active {
            Patch::Keep => {}
            Patch::Clear => return Err(required("active")),
            Patch::Set(v) => n.active = v,
        }
        Ok(n)
    }
}

/// The ten types a new cat clinic starts with (editable afterwards).
pub fn default_appointment_types() -> Vec<CreateAppointmentType> {
    let t =
        |name: &str, minutes: u16, color: &str, online: bool, buffer: u16, room: RoomKind, cap: Option<Capability>| {
            CreateAppointmentType {
                name: name.into(),
                duration_minutes: Some(minutes),
                color: Some(color.into()),
                bookable_online: online,
                buffer_after_minutes: buffer,
                room_kind: Some(room),
                requires_capability: cap,
            }
        };
    use Capability::*;
    use RoomKind::*;
    vec![
        t("Wellness exam", 30, "#2563eb", true, 0, Exam, None),
        t("New kitten visit", 45, "#10b981", true, 0, Exam, None),
        t("Vaccination", 15, "#06b6d4", true, 0, Exam, None),
        t("Senior wellness exam", 45, "#6366f1", true, 0, Exam, None),
        t("Sick visit", 30, "#f59e0b", false, 0, Exam, Some(CanPrescribe)),
        t("Recheck", 20, "#84cc16", true, 0, Exam, None),
        t("Nail trim", 10, "#a855f7", true, 0, Exam, None),
        t("Dental cleaning", 120, "#ec4899", false, 30, Dental, Some(CanPerformSurgery)),
        t("Spay or neuter", 90, "#ef4444", false, 30, Surgery, Some(CanPerformSurgery)),
        t("Quality-of-life consultation", 60, "#64748b", false, 15, Exam, None),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_ten_valid_types_with_unique_names() {
        let d = default_appointment_types();
        assert_eq!(d.len(), 10);
        let mut names: Vec<String> = d.iter().map(|t| t.name.to_lowercase()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 10);
        for t in &d {
            assert!(t.validate(AppointmentTypeId::from_u128(1), Timestamp::UNIX_EPOCH).is_ok(), "{}", t.name);
        }
    }

    #[test]
    fn bad_durations_colours_and_buffers_name_the_field() {
        let base = || default_appointment_types().remove(0);
        let check = |mut c: CreateAppointmentType, f: &dyn Fn(&mut CreateAppointmentType), field: &str| {
            f(&mut c);
            assert_eq!(c.validate(AppointmentTypeId::from_u128(1), Timestamp::UNIX_EPOCH).unwrap_err().field, field);
        };
        check(base(), &|c| c.duration_minutes = Some(4), "duration_minutes");
        check(base(), &|c| c.duration_minutes = Some(481), "duration_minutes");
        check(base(), &|c| c.color = Some("blue".into()), "color");
        check(base(), &|c| c.color = Some("#12345g".into()), "color");
        check(base(), &|c| c.buffer_after_minutes = 241, "buffer_after_minutes");
        check(base(), &|c| c.name = " ".into(), "name");
        let ok = CreateAppointmentType { duration_minutes: None, color: None, ..base() };
        let t = ok.validate(AppointmentTypeId::from_u128(1), Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!((t.duration_minutes, t.color.as_str()), (30, "#2563eb"));
    }
}
