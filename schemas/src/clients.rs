//! Clients (cat owners): the stored record, the create and patch bodies, and their
//! validation.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::errors::ValidationError;
use crate::ids::{ClientId, UserId};
use crate::patch::Patch;
use crate::records::Record;
use crate::values::{Email, MAX_NAME_CHARS, Phone, note_text, optional_text, required_text, text_list};

/// How the client prefers to be reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PreferredContact {
    Email,
    Sms,
    #[default]
    Phone,
}

/// A postal address; every part is optional so a partial address can be kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Address {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2 country code, e.g. `US`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// An address as typed into a request: like [`Address`], but unknown keys are refused (a
/// misspelt `postcode` must not vanish silently). Stored records use [`Address`], which
/// tolerates fields removed in later versions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressInput {
    #[serde(default)]
    pub line1: Option<String>,
    #[serde(default)]
    pub line2: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2 country code, e.g. `US`.
    #[serde(default)]
    pub country: Option<String>,
}

impl AddressInput {
    fn validated(&self) -> Result<Option<Address>, ValidationError> {
        let f = |name: &str, v: &Option<String>, max: usize| {
            optional_text(name, v.as_deref(), max).map_err(|e| e.within("address"))
        };
        let country = match f("country", &self.country, 2)? {
            Some(c) if c.len() == 2 && c.chars().all(|ch| ch.is_ascii_alphabetic()) => Some(c.to_ascii_uppercase()),
            Some(_) => {
                return Err(ValidationError::new("address.country", "must be a two-letter country code such as US"));
            }
            None => None,
        };
        let a = Address {
            line1: f("line1", &self.line1, 200)?,
            line2: f("line2", &self.line2, 200)?,
            city: f("city", &self.city, 100)?,
            region: f("region", &self.region, 100)?,
            postal_code: f("postal_code", &self.postal_code, 20)?,
            country,
        };
        Ok((a != Address::default()).then_some(a))
    }
}

/// A client as stored and as returned by the API.
///
/// Version history: v1 had no `tags` and no `referral_source`; both default to empty when a
/// v1 record is read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Client {
    pub id: ClientId,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<Email>,
    pub phone: Phone,
    pub phone_secondary: Option<Phone>,
    pub address: Option<Address>,
    pub preferred_contact: PreferredContact,
    /// Shown prominently wherever the client appears (e.g. "pays cash only").
    pub alerts: Vec<String>,
    pub notes: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub referral_source: Option<String>,
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: Option<UserId>,
}

impl Record for Client {
    const KIND: &'static str = "client";
    const VERSION: u16 = 2;
}

impl Client {
    /// "Last, First" for lists and search labels.
    pub fn display_name(&self) -> String {
        format!("{}, {}", self.last_name, self.first_name)
    }
}

/// Body of `POST /api/clients`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClient {
    pub first_name: String,
    pub last_name: String,
    #[serde(default)]
    pub email: Option<String>,
    /// Primary phone; national numbers get the clinic's default country code.
    pub phone: String,
    #[serde(default)]
    pub phone_secondary: Option<String>,
    #[serde(default)]
    pub address: Option<AddressInput>,
    #[serde(default)]
    pub preferred_contact: Option<PreferredContact>,
    #[serde(default)]
    pub alerts: Vec<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub referral_source: Option<String>,
    /// Another client's referral code (`XXXX-XXXX`) the new client gave: the referral is
    /// recorded with the client, in one change set (not part of the client's record).
    #[serde(default)]
    pub referral_code: Option<String>,
}

/// The validated content of a client, without identity or timestamps.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientDraft {
    pub first_name: String,
    pub last_name: String,
    pub email: Option<Email>,
    pub phone: Phone,
    pub phone_secondary: Option<Phone>,
    pub address: Option<Address>,
    pub preferred_contact: PreferredContact,
    pub alerts: Vec<String>,
    pub notes: Option<String>,
    pub tags: Vec<String>,
    pub referral_source: Option<String>,
}

impl CreateClient {
    /// Validates every field; `country_code` is the clinic's default calling code.
    pub fn validate(&self, country_code: &str) -> Result<ClientDraft, ValidationError> {
        let draft = ClientDraft {
            first_name: required_text("first_name", &self.first_name, MAX_NAME_CHARS)?,
            last_name: required_text("last_name", &self.last_name, MAX_NAME_CHARS)?,
            email: parse_optional(self.email.as_deref(), |v| Email::parse("email", v))?,
            phone: Phone::parse("phone", &self.phone, country_code)?,
            phone_secondary: parse_optional(self.phone_secondary.as_deref(), |v| {
                Phone::parse("phone_secondary", v, country_code)
            })?,
            address: match &self.address {
                Some(a) => a.validated()?,
                None => None,
            },
            preferred_contact: self.preferred_contact.unwrap_or_default(),
            alerts: text_list("alerts", &self.alerts, 200)?,
            notes: note_text("notes", self.notes.as_deref())?,
            tags: text_list("tags", &self.tags, 50)?,
            referral_source: optional_text("referral_source", self.referral_source.as_deref(), 200)?,
        };
        draft.check_contact()?;
        Ok(draft)
    }
}

impl ClientDraft {
    fn check_contact(&self) -> Result<(), ValidationError> {
        if self.preferred_contact == PreferredContact::Email && self.email.is_none() {
            return Err(ValidationError::new("preferred_contact", "is email, but the client has no email address"));
        }
        Ok(())
    }

    /// Builds the stored record.
    pub fn into_client(self, id: ClientId, now: Timestamp, by: Option<UserId>) -> Client {
        Client {
            id,
            first_name: self.first_name,
            last_name: self.last_name,
            email: self.email,
            phone: self.phone,
            phone_secondary: self.phone_secondary,
            address: self.address,
            preferred_contact: self.preferred_contact,
            alerts: self.alerts,
            notes: self.notes,
            tags: self.tags,
            referral_source: self.referral_source,
            active: true,
            created_at: now,
            updated_at: now,
            created_by: by,
        }
    }
}

fn parse_optional<T>(
    v: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, ValidationError>,
) -> Result<Option<T>, ValidationError> {
    match v.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => parse(v).map(Some),
    }
}

/// Body of `PATCH /api/clients/{id}`: absent fields stay, `null` clears an optional field.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateClient {
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
    #[schema(value_type = Option<String>)]
    pub phone_secondary: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<AddressInput>)]
    pub address: Patch<AddressInput>,
    #[serde(default)]
    #[schema(value_type = Option<PreferredContact>)]
    pub preferred_contact: Patch<PreferredContact>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub alerts: Patch<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub notes: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub tags: Patch<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub referral_source: Patch<String>,
    /// `true` reactivates a deactivated client; `false` deactivates.
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub active: Patch<bool>,
}

fn required<'a, T>(field: &str, p: &'a Patch<T>) -> Result<Option<&'a T>, ValidationError> {
    match p {
        Patch::Keep => Ok(None),
        Patch::Clear => Err(ValidationError::new(field, "is required and cannot be cleared")),
        Patch::Set(v) => Ok(Some(v)),
    }
}

impl UpdateClient {
    /// Applies the patch to `current`, returning the new record (timestamps untouched) and
    /// the JSON names of the fields that changed.
    pub fn apply(&self, current: &Client, country_code: &str) -> Result<(Client, Vec<&'static str>), ValidationError> {
        let mut c = current.clone();
        if let Some(v) = required("first_name", &self.first_name)? {
            c.first_name = required_text("first_name", v, MAX_NAME_CHARS)?;
        }
        if let Some(v) = required("last_name", &self.last_name)? {
            c.last_name = required_text("last_name", v, MAX_NAME_CHARS)?;
        }
        if let Some(v) = required("phone", &self.phone)? {
            c.phone = Phone::parse("phone", v, country_code)?;
        }
        match &self.email {
            Patch::Keep => {}
            Patch::Clear => c.email = None,
            Patch::Set(v) => c.email = parse_optional(Some(v), |v| Email::parse("email", v))?,
        }
        match &self.phone_secondary {
            Patch::Keep => {}
            Patch::Clear => c.phone_secondary = None,
            Patch::Set(v) => {
                c.phone_secondary = parse_optional(Some(v), |v| Phone::parse("phone_secondary", v, country_code))?
            }
        }
        match &self.address {
            Patch::Keep => {}
            Patch::Clear => c.address = None,
            Patch::Set(a) => c.address = a.validated()?,
        }
        match &self.preferred_contact {
            Patch::Keep => {}
            Patch::Clear => c.preferred_contact = PreferredContact::default(),
            Patch::Set(p) => c.preferred_contact = *p,
        }
        match &self.alerts {
            Patch::Keep => {}
            Patch::Clear => c.alerts.clear(),
            Patch::Set(v) => c.alerts = text_list("alerts", v, 200)?,
        }
        match &self.notes {
            Patch::Keep => {}
            Patch::Clear => c.notes = None,
            Patch::Set(v) => c.notes = note_text("notes", Some(v))?,
        }
        match &self.tags {
            Patch::Keep => {}
            Patch::Clear => c.tags.clear(),
            Patch::Set(v) => c.tags = text_list("tags", v, 50)?,
        }
        match &self.referral_source {
            Patch::Keep => {}
            Patch::Clear => c.referral_source = None,
            Patch::Set(v) => c.referral_source = optional_text("referral_source", Some(v), 200)?,
        }
        if let Some(v) = required("active", &self.active)? {
            c.active = *v;
        }
        if c.preferred_contact == PreferredContact::Email && c.email.is_none() {
            return Err(ValidationError::new("preferred_contact", "is email, but the client has no email address"));
        }
        let mut changed = Vec::new();
        macro_rules! diff {
            ($($f:ident),*) => { $( if c.$f != current.$f { changed.push(stringify!($f)); } )* };
        }
        diff!(
            first_name,
            last_name,
            email,
            phone,
            phone_secondary,
            address,
            preferred_contact,
            alerts,
            notes,
            tags,
            referral_source,
            active
        );
        Ok((c, changed))
    }
}

/// Filters of `GET /api/clients`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ClientListQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// `true` (default) lists active clients, `false` inactive ones; `all` is `status=all`.
    pub active: Option<bool>,
    /// `all` to list active and inactive clients together.
    pub status: Option<String>,
    /// Case-insensitive fragment of the first or last name.
    pub name: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(json: serde_json::Value) -> CreateClient {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_complete_client_validates() {
        let d = create(serde_json::json!({
            "first_name": " Jane ", "last_name": "Doe", "email": "Jane@Example.com", "phone": "555-123-4567",
            "address": {"city": "Portland", "country": "us"}, "preferred_contact": "email", "alerts": ["Aggressive dog at home"]
        }))
        .validate("1")
        .unwrap();
        assert_eq!(d.first_name, "Jane");
        assert_eq!(d.email.unwrap().as_str(), "jane@example.com");
        assert_eq!(d.phone.as_str(), "+15551234567");
        assert_eq!(d.address.unwrap().country.as_deref(), Some("US"));
    }

    #[test]
    fn validation_names_the_field() {
        let cases = [
            (serde_json::json!({"first_name": "", "last_name": "Doe", "phone": "5551234567"}), "first_name"),
            (serde_json::json!({"first_name": "J", "last_name": " ", "phone": "5551234567"}), "last_name"),
            (serde_json::json!({"first_name": "J", "last_name": "D", "phone": "cats"}), "phone"),
            (serde_json::json!({"first_name": "J", "last_name": "D", "phone": "5551234567", "email": "nope"}), "email"),
            (
                serde_json::json!({"first_name": "J", "last_name": "D", "phone": "5551234567", "preferred_contact": "email"}),
                "preferred_contact",
            ),
            (
                serde_json::json!({"first_name": "J", "last_name": "D", "phone": "5551234567", "address": {"country": "USA"}}),
                "address.country",
            ),
        ];
        for (json, field) in cases {
            let err = create(json.clone()).validate("1").unwrap_err();
            assert_eq!(err.field, field, "{json}");
        }
    }

    #[test]
    fn patch_keeps_clears_and_sets() {
        let c = create(serde_json::json!({"first_name": "J", "last_name": "D", "phone": "5551234567", "notes": "n"}))
            .validate("1")
            .unwrap()
            .into_client(ClientId::from_u128(1), Timestamp::UNIX_EPOCH, None);
        let p: UpdateClient = serde_json::from_value(serde_json::json!({"notes": null, "last_name": "Dough"})).unwrap();
        let (n, changed) = p.apply(&c, "1").unwrap();
        assert_eq!(n.notes, None);
        assert_eq!(n.last_name, "Dough");
        assert_eq!(n.first_name, "J");
        assert_eq!(changed, vec!["last_name", "notes"]);
        let p: UpdateClient = serde_json::from_value(serde_json::json!({"first_name": null})).unwrap();
        assert_eq!(p.apply(&c, "1").unwrap_err().field, "first_name");
    }
}
