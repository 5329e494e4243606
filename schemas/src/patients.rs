//! Patients (cats): the stored record, the create and patch bodies, and their validation.
//! Species is always cat, so it is not a field.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::errors::ValidationError;
use crate::ids::{ClientId, PatientId, UserId};
use crate::patch::Patch;
use crate::records::Record;
use crate::values::{MAX_NAME_CHARS, Microchip, note_text, optional_text, required_text, text_list};

/// The oldest age we accept for a date of birth; the oldest recorded cat lived 38 years.
pub const MAX_AGE_YEARS: i16 = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Male,
    Female,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReproductiveStatus {
    Intact,
    /// Female, ovariohysterectomy or ovariectomy.
    Spayed,
    /// Male, castrated.
    Neutered,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PatientStatus {
    #[default]
    Active,
    Inactive,
    /// Kept on file; never reminded, never booked.
    Deceased,
}

/// How hard, or risky, the cat is to handle; shown in prominent colours on the exam-room
/// tablet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    #[default]
    None,
    Mild,
    Moderate,
    Severe,
}

/// Structured handling notes (Fear Free practice); free text goes in `behavior_notes`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct Handling {
    pub aggression: Level,
    pub fear_anxiety: Level,
    pub handling_difficulty: Level,
    pub muzzle: bool,
    pub towel_wrap: bool,
    /// Past sedation for handling, e.g. "gabapentin 100 mg 2 h before visits".
    pub sedation_history: Option<String>,
    pub preferred_restraint: Option<String>,
    pub staff_safety_notes: Option<String>,
}

/// Handling notes as typed into a request: like [`Handling`], but unknown keys are refused
/// (a misspelt `agression` must not silently record a biting cat as calm).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct HandlingInput {
    pub aggression: Level,
    pub fear_anxiety: Level,
    pub handling_difficulty: Level,
    pub muzzle: bool,
    pub towel_wrap: bool,
    pub sedation_history: Option<String>,
    pub preferred_restraint: Option<String>,
    pub staff_safety_notes: Option<String>,
}

impl HandlingInput {
    fn validated(&self) -> Result<Handling, ValidationError> {
        let t =
            |name: &str, v: &Option<String>| optional_text(name, v.as_deref(), 500).map_err(|e| e.within("handling"));
        Ok(Handling {
            aggression: self.aggression,
            fear_anxiety: self.fear_anxiety,
            handling_difficulty: self.handling_difficulty,
            muzzle: self.muzzle,
            towel_wrap: self.towel_wrap,
            sedation_history: t("sedation_history", &self.sedation_history)?,
            preferred_restraint: t("preferred_restraint", &self.preferred_restraint)?,
            staff_safety_notes: t("staff_safety_notes", &self.staff_safety_notes)?,
        })
    }
}

/// A patient as stored and as returned by the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Patient {
    pub id: PatientId,
    pub client_id: ClientId,
    pub name: String,
    pub breed: Option<String>,
    pub color: Option<String>,
    pub sex: Option<Sex>,
    pub reproductive_status: Option<ReproductiveStatus>,
    pub date_of_birth: Option<Date>,
    /// The date of birth is an estimate (strays, rescues).
    #[serde(default)]
    pub date_of_birth_estimated: bool,
    pub microchip: Option<Microchip>,
    pub allergies: Vec<String>,
    pub behavior_notes: Option<String>,
    #[serde(default)]
    pub handling: Handling,
    #[serde(default)]
    pub insurance: Option<String>,
    pub status: PatientStatus,
    pub deceased_on: Option<Date>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: Option<UserId>,
}

impl Record for Patient {
    const KIND: &'static str = "patient";
    const VERSION: u16 = 1;
}

/// Body of `POST /api/patients`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePatient {
    pub client_id: ClientId,
    pub name: String,
    #[serde(default)]
    pub breed: Option<String>,
    #[serde(default)]
    pub color: Option<String>,
    #[serde(default)]
    pub sex: Option<Sex>,
    #[serde(default)]
    pub reproductive_status: Option<ReproductiveStatus>,
    #[serde(default)]
    pub date_of_birth: Option<Date>,
    #[serde(default)]
    pub date_of_birth_estimated: bool,
    #[serde(default)]
    pub microchip: Option<String>,
    #[serde(default)]
    pub allergies: Vec<String>,
    #[serde(default)]
    pub behavior_notes: Option<String>,
    #[serde(default)]
    pub handling: Option<HandlingInput>,
    #[serde(default)]
    pub insurance: Option<String>,
}

/// The validated content of a new patient.
#[derive(Debug, Clone, PartialEq)]
pub struct PatientDraft {
    pub client_id: ClientId,
    pub name: String,
    pub breed: Option<String>,
    pub color: Option<String>,
    pub sex: Option<Sex>,
    pub reproductive_status: Option<ReproductiveStatus>,
    pub date_of_birth: Option<Date>,
    pub date_of_birth_estimated: bool,
    pub microchip: Option<Microchip>,
    pub allergies: Vec<String>,
    pub behavior_notes: Option<String>,
    pub handling: Handling,
    pub insurance: Option<String>,
}

impl CreatePatient {
    /// Validates every field; `today` is the clinic's local date (no birthdays in the future).
    pub fn validate(&self, today: Date) -> Result<PatientDraft, ValidationError> {
        let d = PatientDraft {
            client_id: self.client_id,
            name: required_text("name", &self.name, MAX_NAME_CHARS)?,
            breed: optional_text("breed", self.breed.as_deref(), MAX_NAME_CHARS)?,
            color: optional_text("color", self.color.as_deref(), MAX_NAME_CHARS)?,
            sex: self.sex,
            reproductive_status: self.reproductive_status,
            date_of_birth: self.date_of_birth,
            date_of_birth_estimated: self.date_of_birth_estimated,
            microchip: match self.microchip.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(m) => Some(Microchip::parse("microchip", m)?),
            },
            allergies: text_list("allergies", &self.allergies, 200)?,
            behavior_notes: note_text("behavior_notes", self.behavior_notes.as_deref())?,
            handling: self.handling.as_ref().map(HandlingInput::validated).transpose()?.unwrap_or_default(),
            insurance: optional_text("insurance", self.insurance.as_deref(), 200)?,
        };
        check_sex_and_status(d.sex, d.reproductive_status)?;
        check_birth(d.date_of_birth, today)?;
        Ok(d)
    }
}

impl PatientDraft {
    pub fn into_patient(self, id: PatientId, now: Timestamp, by: Option<UserId>) -> Patient {
        Patient {
            id,
            client_id: self.client_id,
            name: self.name,
            breed: self.breed,
            color: self.color,
            sex: self.sex,
            reproductive_status: self.reproductive_status,
            date_of_birth: self.date_of_birth,
            date_of_birth_estimated: self.date_of_birth_estimated,
            microchip: self.microchip,
            allergies: self.allergies,
            behavior_notes: self.behavior_notes,
            handling: self.handling,
            insurance: self.insurance,
            status: PatientStatus::Active,
            deceased_on: None,
            created_at: now,
            updated_at: now,
            created_by: by,
        }
    }
}

fn check_sex_and_status(sex: Option<Sex>, status: Option<ReproductiveStatus>) -> Result<(), ValidationError> {
    match (sex, status) {
        (Some(Sex::Male), Some(ReproductiveStatus::Spayed)) => {
            Err(ValidationError::new("reproductive_status", "spayed applies to females; a male cat is neutered"))
        }
        (Some(Sex::Female), Some(ReproductiveStatus::Neutered)) => {
            Err(ValidationError::new("reproductive_status", "neutered applies to males; a female cat is spayed"))
        }
        _ => Ok(()),
    }
}

fn check_birth(dob: Option<Date>, today: Date) -> Result<(), ValidationError> {
    if let Some(dob) = dob {
        if dob > today {
            return Err(ValidationError::new("date_of_birth", "is in the future"));
        }
        if dob.year() < today.year() - MAX_AGE_YEARS {
            return Err(ValidationError::new("date_of_birth", format!("is more than {MAX_AGE_YEARS} years ago")));
        }
    }
    Ok(())
}

/// Body of `PATCH /api/patients/{id}`: absent fields stay, `null` clears an optional field.
/// Moving a cat to another owner is done by setting `client_id`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePatient {
    #[serde(default)]
    #[schema(value_type = Option<ClientId>)]
    pub client_id: Patch<ClientId>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub breed: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub color: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Sex>)]
    pub sex: Patch<Sex>,
    #[serde(default)]
    #[schema(value_type = Option<ReproductiveStatus>)]
    pub reproductive_status: Patch<ReproductiveStatus>,
    #[serde(default)]
    #[schema(value_type = Option<Date>)]
    pub date_of_birth: Patch<Date>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub date_of_birth_estimated: Patch<bool>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub microchip: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub allergies: Patch<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub behavior_notes: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<HandlingInput>)]
    pub handling: Patch<HandlingInput>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub insurance: Patch<String>,
    /// `active`, `inactive`, or `deceased` (then `deceased_on` defaults to today).
    #[serde(default)]
    #[schema(value_type = Option<PatientStatus>)]
    pub status: Patch<PatientStatus>,
    #[serde(default)]
    #[schema(value_type = Option<Date>)]
    pub deceased_on: Patch<Date>,
}

impl UpdatePatient {
    /// Applies the patch, returning the new record (timestamps untouched) and the JSON names
    /// of the fields that changed.
    pub fn apply(&self, cur: &Patient, today: Date) -> Result<(Patient, Vec<&'static str>), ValidationError> {
        let mut p = cur.clone();
        let required = |field: &str| ValidationError::new(field, "is required and cannot be cleared");
        match &self.client_id {
            Patch::Keep => {}
            Patch::Clear => return Err(required("client_id")),
            Patch::Set(c) => p.client_id = *c,
        }
        match &self.name {
            Patch::Keep => {}
            Patch::Clear => return Err(required("name")),
            Patch::Set(v) => p.name = required_text("name", v, MAX_NAME_CHARS)?,
        }
        set_text(&mut p.breed, &self.breed, |v| optional_text("breed", Some(v), MAX_NAME_CHARS))?;
        set_text(&mut p.color, &self.color, |v| optional_text("color", Some(v), MAX_NAME_CHARS))?;
        set_text(&mut p.insurance, &self.insurance, |v| optional_text("insurance", Some(v), 200))?;
        set_text(&mut p.behavior_notes, &self.behavior_notes, |v| note_text("behavior_notes", Some(v)))?;
        set_text(&mut p.microchip, &self.microchip, |v| {
            if v.trim().is_empty() { Ok(None) } else { Microchip::parse("microchip", v).map(Some) }
        })?;
        set_copy(&mut p.sex, &self.sex);
        set_copy(&mut p.reproductive_status, &self.reproductive_status);
        set_copy(&mut p.date_of_birth, &self.date_of_birth);
        match &self.date_of_birth_estimated {
            Patch::Keep => {}
            Patch::Clear => p.date_of_birth_estimated = false,
            Patch::Set(v) => p.date_of_birth_estimated = *v,
        }
        match &self.allergies {
            Patch::Keep => {}
            Patch::Clear => p.allergies.clear(),
            Patch::Set(v) => p.allergies = text_list("allergies", v, 200)?,
        }
        match &self.handling {
            Patch::Keep => {}
            Patch::Clear => p.handling = Handling::default(),
            Patch::Set(h) => p.handling = h.validated()?,
        }
        match &self.status {
            Patch::Keep => {}
            Patch::Clear => return Err(required("status")),
            Patch::Set(s) => {
                if cur.status == PatientStatus::Deceased && *s != PatientStatus::Deceased {
                    return Err(ValidationError::new("status", "a deceased patient's status cannot change"));
                }
                p.status = *s;
            }
        }
        set_copy(&mut p.deceased_on, &self.deceased_on);
        if p.status == PatientStatus::Deceased {
            let on = *p.deceased_on.get_or_insert(today);
            if on > today {
                return Err(ValidationError::new("deceased_on", "is in the future"));
            }
            if p.date_of_birth.is_some_and(|dob| on < dob) {
                return Err(ValidationError::new("deceased_on", "is before the date of birth"));
            }
        } else if p.deceased_on.is_some() {
            return Err(ValidationError::new("deceased_on", "can only be set when status is deceased"));
        }
        check_sex_and_status(p.sex, p.reproductive_status)?;
        if p.date_of_birth != cur.date_of_birth {
            check_birth(p.date_of_birth, today)?;
        }
        let mut changed = Vec::new();
        macro_rules! diff {
            ($($f:ident),*) => { $( if p.$f != cur.$f { changed.push(stringify!($f)); } )* };
        }
        diff!(
            client_id,
            name,
            breed,
            color,
            sex,
            reproductive_status,
            date_of_birth,
            date_of_birth_estimated,
            microchip,
            allergies,
            behavior_notes,
            handling,
            insurance,
            status,
            deceased_on
        );
        Ok((p, changed))
    }
}

fn set_text<T>(
    slot: &mut Option<T>,
    patch: &Patch<String>,
    parse: impl FnOnce(&str) -> Result<Option<T>, ValidationError>,
) -> Result<(), ValidationError> {
    match patch {
        Patch::Keep => {}
        Patch::Clear => *slot = None,
        Patch::Set(v) => *slot = parse(v)?,
    }
    Ok(())
}

fn set_copy<T: Copy>(slot: &mut Option<T>, patch: &Patch<T>) {
    match patch {
        Patch::Keep => {}
        Patch::Clear => *slot = None,
        Patch::Set(v) => *slot = Some(*v),
    }
}

/// Filters of `GET /api/patients`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PatientListQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// `active` (default), `inactive`, `deceased` or `all`.
    pub status: Option<String>,
    /// Only this owner's cats.
    pub client_id: Option<String>,
    /// Case-insensitive fragment of the cat's name.
    pub name: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn create(json: serde_json::Value) -> CreatePatient {
        serde_json::from_value(json).unwrap()
    }

    const OWNER: &str = "01JD7Y2Q4Z8W3N5K6M7P8R9S0T";

    #[test]
    fn a_cat_validates() {
        let d = create(serde_json::json!({
            "client_id": OWNER, "name": "Mittens", "breed": "Maine Coon", "sex": "female",
            "reproductive_status": "spayed", "date_of_birth": "2019-04-01", "microchip": "985 141 000 123 456",
            "handling": {"aggression": "moderate", "towel_wrap": true}
        }))
        .validate(date(2026, 11, 24))
        .unwrap();
        assert_eq!(d.microchip.unwrap().as_str(), "985141000123456");
        assert_eq!(d.handling.aggression, Level::Moderate);
    }

    #[test]
    fn impossible_cats_are_refused_naming_the_field() {
        let today = date(2026, 11, 24);
        let cases = [
            (serde_json::json!({"client_id": OWNER, "name": ""}), "name"),
            (
                serde_json::json!({"client_id": OWNER, "name": "Tom", "sex": "male", "reproductive_status": "spayed"}),
                "reproductive_status",
            ),
            (serde_json::json!({"client_id": OWNER, "name": "Tom", "date_of_birth": "2027-01-01"}), "date_of_birth"),
            (serde_json::json!({"client_id": OWNER, "name": "Tom", "date_of_birth": "1950-01-01"}), "date_of_birth"),
            (serde_json::json!({"client_id": OWNER, "name": "Tom", "microchip": "12345"}), "microchip"),
        ];
        for (json, field) in cases {
            assert_eq!(create(json.clone()).validate(today).unwrap_err().field, field, "{json}");
        }
    }

    #[test]
    fn deceased_is_final_and_dated() {
        let today = date(2026, 11, 24);
        let p = create(serde_json::json!({"client_id": OWNER, "name": "Tom", "date_of_birth": "2010-01-01"}))
            .validate(today)
            .unwrap()
            .into_patient(PatientId::from_u128(7), Timestamp::UNIX_EPOCH, None);
        let died: UpdatePatient = serde_json::from_value(serde_json::json!({"status": "deceased"})).unwrap();
        let (dead, changed) = died.apply(&p, today).unwrap();
        assert_eq!(dead.deceased_on, Some(today));
        assert_eq!(changed, vec!["status", "deceased_on"]);
        let back: UpdatePatient = serde_json::from_value(serde_json::json!({"status": "active"})).unwrap();
        assert_eq!(back.apply(&dead, today).unwrap_err().field, "status");
        let early: UpdatePatient =
            serde_json::from_value(serde_json::json!({"status": "deceased", "deceased_on": "2009-01-01"})).unwrap();
        assert_eq!(early.apply(&p, today).unwrap_err().field, "deceased_on");
    }
}
