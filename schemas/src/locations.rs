//! Locations (a building with its own time zone, opening hours, holidays and online-booking
//! rules) and their rooms.
//!
//! Opening hours are local wall-clock times per weekday, one span per day; a day missing
//! from the list is closed. A span ends before midnight (`close` at most 23:59): a clinic
//! open round the clock gives `00:00`–`23:59`, losing one minute, which keeps every span
//! inside one local date and the DST arithmetic simple.

use jiff::Timestamp;
use jiff::civil::{Date, Time, Weekday};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::appointment_types::RoomKind;
use crate::errors::ValidationError;
use crate::ids::{LocationId, RoomId};
use crate::money::BasisPoints;
use crate::patch::{Patch, cleared};
use crate::records::Record;
use crate::values::{MAX_NAME_CHARS, optional_text, required_text};

/// A day of the week as written on the wire (`monday` … `sunday`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Day {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Day {
    /// 0 for Monday … 6 for Sunday.
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn of(w: Weekday) -> Day {
        match w {
            Weekday::Monday => Day::Monday,
            Weekday::Tuesday => Day::Tuesday,
            Weekday::Wednesday => Day::Wednesday,
            Weekday::Thursday => Day::Thursday,
            Weekday::Friday => Day::Friday,
            Weekday::Saturday => Day::Saturday,
            Weekday::Sunday => Day::Sunday,
        }
    }
}

/// Opening hours of one weekday, local wall-clock time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DayHours {
    pub day: Day,
    /// e.g. `08:00`.
    #[schema(value_type = String, example = "08:00")]
    pub open: Time,
    /// After `open`, at most `23:59`.
    #[schema(value_type = String, example = "18:00")]
    pub close: Time,
}

/// Rules for booking through the client portal (staff may book outside them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BookingRules {
    /// The earliest a client may book: this many minutes from now (0–20,160, default 120).
    pub min_notice_minutes: u32,
    /// The latest a client may book: this many days ahead (1–730, default 90).
    pub horizon_days: u32,
    /// Start times are offered every this many minutes from opening (5–120, default 15).
    pub slot_step_minutes: u16,
}

impl Default for BookingRules {
    fn default() -> Self {
        Self { min_notice_minutes: 120, horizon_days: 90, slot_step_minutes: 15 }
    }
}

impl BookingRules {
    pub fn validate(self) -> Result<Self, ValidationError> {
        if self.min_notice_minutes > 20_160 {
            return Err(ValidationError::new("booking.min_notice_minutes", "must be between 0 and 20160 (14 days)"));
        }
        if !(1..=730).contains(&self.horizon_days) {
            return Err(ValidationError::new("booking.horizon_days", "must be between 1 and 730"));
        }
        if !(5..=120).contains(&self.slot_step_minutes) {
            return Err(ValidationError::new("booking.slot_step_minutes", "must be between 5 and 120"));
        }
        Ok(self)
    }
}

/// A clinic location, as stored and returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Location {
    pub id: LocationId,
    /// Unique (case-insensitive).
    pub name: String,
    /// IANA time zone, e.g. `America/New_York`: hours, shifts and slots are in it.
    pub time_zone: String,
    pub address: Option<String>,
    pub phone: Option<String>,
    /// One span per open weekday, Monday first; missing days are closed.
    pub hours: Vec<DayHours>,
    /// Local dates the location is closed (holidays), ascending.
    #[schema(value_type = Vec<String>)]
    pub blackout_dates: Vec<Date>,
    pub booking: BookingRules,
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Sales tax on taxable invoice lines here, in basis points (825 = 8.25 %); 0 by default.
    /// Records written before billing have none and read as 0.
    #[serde(default)]
    pub tax_rate: BasisPoints,
}

impl Record for Location {
    const KIND: &'static str = "location";
    const VERSION: u16 = 1;
}

impl Location {
    /// Opening hours per weekday, Monday first.
    pub fn week(&self) -> [Option<(Time, Time)>; 7] {
        let mut w = [None; 7];
        for h in &self.hours {
            w[h.day.index()] = Some((h.open, h.close));
        }
        w
    }
}

const MAX_BLACKOUT_DATES: usize = 400;

/// Sorts, checks and de-duplicates opening hours.
pub fn check_hours(mut hours: Vec<DayHours>) -> Result<Vec<DayHours>, ValidationError> {
    hours.sort_by_key(|h| h.day);
    for (i, h) in hours.iter().enumerate() {
        let field = format!("hours[{i}]");
        if h.close <= h.open {
            return Err(ValidationError::new(format!("{field}.close"), "must be after open"));
        }
        if i > 0 && hours[i - 1].day == h.day {
            return Err(ValidationError::new(format!("{field}.day"), "appears twice; one span per day"));
        }
    }
    Ok(hours)
}

/// Sorts and de-duplicates blackout dates.
pub fn check_blackout(mut dates: Vec<Date>) -> Result<Vec<Date>, ValidationError> {
    if dates.len() > MAX_BLACKOUT_DATES {
        return Err(ValidationError::new("blackout_dates", format!("at most {MAX_BLACKOUT_DATES} dates")));
    }
    dates.sort();
    dates.dedup();
    Ok(dates)
}

/// Monday to Friday 08:00–18:00 and Saturday 09:00–13:00: a typical small-animal clinic.
pub fn default_hours() -> Vec<DayHours> {
    let t = |h: i8, m: i8| Time::constant(h, m, 0, 0);
    let mut v: Vec<DayHours> = [Day::Monday, Day::Tuesday, Day::Wednesday, Day::Thursday, Day::Friday]
        .into_iter()
        .map(|day| DayHours { day, open: t(8, 0), close: t(18, 0) })
        .collect();
    v.push(DayHours { day: Day::Saturday, open: t(9, 0), close: t(13, 0) });
    v
}

/// Body of `POST /api/locations`. The time zone is checked against the time-zone database
/// by the service (this crate does no I/O).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLocation {
    pub name: String,
    pub time_zone: String,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    /// Default: Monday–Friday 08:00–18:00, Saturday 09:00–13:00.
    #[serde(default)]
    pub hours: Option<Vec<DayHours>>,
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub blackout_dates: Vec<Date>,
    #[serde(default)]
    pub booking: Option<BookingRules>,
    /// Sales tax in basis points, `0..=10000` (default 0).
    #[serde(default)]
    pub tax_rate: Option<BasisPoints>,
}

impl CreateLocation {
    pub fn validate(&self, id: LocationId, now: Timestamp) -> Result<Location, ValidationError> {
        Ok(Location {
            id,
            name: required_text("name", &self.name, MAX_NAME_CHARS)?,
            time_zone: required_text("time_zone", &self.time_zone, 64)?,
            address: optional_text("address", self.address.as_deref(), 300)?,
            phone: optional_text("phone", self.phone.as_deref(), 40)?,
            hours: check_hours(self.hours.clone().unwrap_or_else(default_hours))?,
            blackout_dates: check_blackout(self.blackout_dates.clone())?,
            booking: self.booking.unwrap_or_default().validate()?,
            active: true,
            created_at: now,
            updated_at: now,
            tax_rate: self.tax_rate.unwrap_or_default(),
        })
    }
}

/// Body of `PATCH /api/locations/{id}` (merge-patch); `active: false` retires a location.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateLocation {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub time_zone: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub address: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub phone: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<DayHours>>)]
    pub hours: Patch<Vec<DayHours>>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub blackout_dates: Patch<Vec<Date>>,
    #[serde(default)]
    #[schema(value_type = Option<BookingRules>)]
    pub booking: Patch<BookingRules>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub active: Patch<bool>,
    /// Sales tax in basis points; `null` sets it to 0.
    #[serde(default)]
    #[schema(value_type = Option<u32>)]
    pub tax_rate: Patch<BasisPoints>,
}

impl UpdateLocation {
    pub fn apply(&self, l: &Location) -> Result<Location, ValidationError> {
        let mut n = l.clone();
        match &self.name {
            Patch::Keep => {}
            Patch::Clear => return Err(cleared("name")),
            Patch::Set(v) => n.name = required_text("name", v, MAX_NAME_CHARS)?,
        }
        match &self.time_zone {
            Patch::Keep => {}
            Patch::Clear => return Err(cleared("time_zone")),
            Patch::Set(v) => n.time_zone = required_text("time_zone", v, 64)?,
        }
        match &self.address {
            Patch::Keep => {}
            Patch::Clear => n.address = None,
            Patch::Set(v) => n.address = optional_text("address", Some(v), 300)?,
        }
        match &self.phone {
            Patch::Keep => {}
            Patch::Clear => n.phone = None,
            Patch::Set(v) => n.phone = optional_text("phone", Some(v), 40)?,
        }
        match &self.hours {
            Patch::Keep => {}
            Patch::Clear => n.hours = Vec::new(),
            Patch::Set(v) => n.hours = check_hours(v.clone())?,
        }
        match &self.blackout_dates {
            Patch::Keep => {}
            Patch::Clear => n.blackout_dates = Vec::new(),
            Patch::Set(v) => n.blackout_dates = check_blackout(v.clone())?,
        }
        match self.booking {
            Patch::Keep => {}
            Patch::Clear => n.booking = BookingRules::default(),
            Patch::Set(v) => n.booking = v.validate()?,
        }
        n.active = self.active.required(n.active, "active")?;
        n.tax_rate = self.tax_rate.optional(Some(n.tax_rate)).unwrap_or_default();
        Ok(n)
    }
}

/// A room at a location, as stored and returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Room {
    pub id: RoomId,
    pub location_id: LocationId,
    /// Unique within its location (case-insensitive).
    pub name: String,
    pub kind: RoomKind,
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Record for Room {
    const KIND: &'static str = "room";
    const VERSION: u16 = 1;
}

/// Body of `POST /api/rooms`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRoom {
    pub location_id: LocationId,
    pub name: String,
    pub kind: RoomKind,
}

impl CreateRoom {
    pub fn validate(&self, id: RoomId, now: Timestamp) -> Result<Room, ValidationError> {
        Ok(Room {
            id,
            location_id: self.location_id,
            name: required_text("name", &self.name, MAX_NAME_CHARS)?,
            kind: self.kind,
            active: true,
            created_at: now,
            updated_at: now,
        })
    }
}

/// Body of `PATCH /api/rooms/{id}`; `active: false` takes a room out of booking.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRoom {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<RoomKind>)]
    pub kind: Patch<RoomKind>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub active: Patch<bool>,
}

impl UpdateRoom {
    pub fn apply(&self, r: &Room) -> Result<Room, ValidationError> {
        let mut n = r.clone();
        match &self.name {
            Patch::Keep => {}
            Patch::Clear => return Err(cleared("name")),
            Patch::Set(v) => n.name = required_text("name", v, MAX_NAME_CHARS)?,
        }
        n.kind = self.kind.required(n.kind, "kind")?;
        n.active = self.active.required(n.active, "active")?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_must_close_after_opening_once_per_day() {
        let t = |h| Time::constant(h, 0, 0, 0);
        let bad = vec![DayHours { day: Day::Monday, open: t(9), close: t(9) }];
        assert_eq!(check_hours(bad).unwrap_err().field, "hours[0].close");
        let twice = vec![
            DayHours { day: Day::Monday, open: t(9), close: t(12) },
            DayHours { day: Day::Monday, open: t(13), close: t(17) },
        ];
        assert_eq!(check_hours(twice).unwrap_err().field, "hours[1].day");
        let sorted =
            check_hours(vec![DayHours { day: Day::Friday, open: t(9), close: t(12) }, default_hours()[0]]).unwrap();
        assert_eq!(sorted[0].day, Day::Monday);
    }

    #[test]
    fn booking_rules_are_bounded() {
        let r = BookingRules { slot_step_minutes: 3, ..Default::default() };
        assert_eq!(r.validate().unwrap_err().field, "booking.slot_step_minutes");
        let r = BookingRules { horizon_days: 0, ..Default::default() };
        assert_eq!(r.validate().unwrap_err().field, "booking.horizon_days");
    }

    #[test]
    fn hours_parse_from_short_wall_times() {
        let h: DayHours = serde_json::from_str(r#"{"day":"monday","open":"08:00","close":"17:30"}"#).unwrap();
        assert_eq!(h.close, Time::constant(17, 30, 0, 0));
    }
}
