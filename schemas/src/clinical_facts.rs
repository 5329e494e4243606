//! Clinical facts as editable, versioned data with their sources (DOMAIN.md "Feline clinical
//! facts"): a *fact set* is a named body of facts (`vital_ranges` today; the vaccination
//! protocol and the formulary next) whose every version is kept with the source it cites, who
//! changed it and when. A fact set's Rust type ([`FactSet`]) checks each new version; the
//! compiled-in first version is a JSON file under `schemas/data/clinical-facts/`.
//!
//! This module is the vocabulary only: the stored [`FactVersion`], the `PUT` body, the list
//! entry, and the catalogue of known fact sets ([`FACT_SETS`]). Storage is
//! `clowder_actors::clinical::facts`.

use jiff::Timestamp;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::errors::ValidationError;
use crate::ids::UserId;
use crate::records::Record;
use crate::values::{MAX_NOTE_CHARS, optional_text, required_text};

/// Longest source citation (a reference list of a few papers fits).
pub const MAX_SOURCE_CHARS: usize = 2_000;

/// Largest body of one version, as JSON (a formulary of a few hundred drugs fits).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// A kind of fact set: its name, its place in the store, its compiled-in first version, and
/// the check every new version passes. Adding one is a type implementing this, a JSON file
/// under `schemas/data/clinical-facts/`, and a line in [`FACT_SETS`].
pub trait FactSet: Serialize + DeserializeOwned {
    /// The name in URLs (`/api/clinical-facts/vital_ranges`).
    const NAME: &'static str;
    /// The fact set's number in the store's keys: unique, and never reused once shipped.
    const KEY: u64;
    /// What the facts are for, shown in the list.
    const DESCRIPTION: &'static str;
    /// The first version, `{"source": "...", "body": {...}}` (an `include_str!`).
    const DEFAULTS: &'static str;

    /// Checks what serde cannot (ranges in order, values within physical limits), naming the
    /// field under `body`.
    fn check(&self) -> Result<(), ValidationError>;
}

/// A fact set without its type: what the store service and the HTTP layer need.
#[derive(Debug, Clone, Copy)]
pub struct FactSetInfo {
    pub name: &'static str,
    pub key: u64,
    pub description: &'static str,
    pub defaults: &'static str,
    /// Parses and checks a body as the fact set's type, answering it normalised (defaults
    /// filled in, unknown keys refused).
    pub validate: fn(&serde_json::Value) -> Result<serde_json::Value, ValidationError>,
}

impl FactSetInfo {
    /// The description of fact set `F`.
    pub const fn of<F: FactSet>() -> FactSetInfo {
        FactSetInfo {
            name: F::NAME,
            key: F::KEY,
            description: F::DESCRIPTION,
            defaults: F::DEFAULTS,
            validate: validate::<F>,
        }
    }

    /// The compiled-in first version: its source and its checked body.
    pub fn first_version(&self) -> Result<(String, serde_json::Value), ValidationError> {
        let d: Defaults = serde_json::from_str(self.defaults)
            .map_err(|e| ValidationError::new("defaults", format!("{} is not a fact file: {e}", self.name)))?;
        Ok((d.source, (self.validate)(&d.body)?))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Defaults {
    source: String,
    body: serde_json::Value,
}

fn validate<F: FactSet>(body: &serde_json::Value) -> Result<serde_json::Value, ValidationError> {
    let typed: F = serde_json::from_value(body.clone()).map_err(|e| ValidationError::new("body", e.to_string()))?;
    typed.check().map_err(|e| e.within("body"))?;
    serde_json::to_value(&typed).map_err(|e| ValidationError::new("body", e.to_string()))
}

/// Every fact set Clowder knows, in the order the list shows them.
pub const FACT_SETS: &[FactSetInfo] = &[
    FactSetInfo::of::<crate::vitals::VitalRanges>(),
    FactSetInfo::of::<crate::formulary::Formulary>(),
    FactSetInfo::of::<crate::formulary::DrugInteractions>(),
    FactSetInfo::of::<crate::vaccine_protocol::VaccineProtocol>(),
    FactSetInfo::of::<crate::labs::LabTests>(),
    FactSetInfo::of::<crate::labs::LabRanges>(),
];

/// The fact set called `name`, if any.
pub fn fact_set(name: &str) -> Option<&'static FactSetInfo> {
    FACT_SETS.iter().find(|f| f.name == name)
}

/// One version of a fact set, as stored and as returned by the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FactVersion {
    pub name: String,
    /// 1 for the compiled-in first version, then +1 for each change.
    pub version: u32,
    /// The facts, in the fact set's shape (e.g. [`crate::vitals::VitalRanges`]).
    #[schema(value_type = Object)]
    pub body: serde_json::Value,
    /// Where the facts come from (guideline, paper, edition), as a citation.
    pub source: String,
    /// Why this version was made.
    pub note: Option<String>,
    pub changed_at: Timestamp,
    /// `None` for the compiled-in first version.
    pub changed_by: Option<UserId>,
}

impl Record for FactVersion {
    const KIND: &'static str = "clinical_fact";
    const VERSION: u16 = 1;
}

impl FactVersion {
    /// The body as the fact set's type.
    pub fn typed<F: FactSet>(&self) -> Result<F, ValidationError> {
        serde_json::from_value(self.body.clone()).map_err(|e| ValidationError::new("body", e.to_string()))
    }
}

/// Body of `PUT /api/clinical-facts/{name}`: a whole new version.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutFacts {
    #[schema(value_type = Object)]
    pub body: serde_json::Value,
    /// The citation the new facts come from; required.
    pub source: String,
    #[serde(default)]
    pub note: Option<String>,
}

/// A checked new version: body normalised by the fact set's type.
#[derive(Debug, Clone, PartialEq)]
pub struct FactsDraft {
    pub body: serde_json::Value,
    pub source: String,
    pub note: Option<String>,
}

impl PutFacts {
    /// Checks the body as fact set `info`'s type, and the citation.
    pub fn validate(&self, info: &FactSetInfo) -> Result<FactsDraft, ValidationError> {
        let size = serde_json::to_string(&self.body).map(|s| s.len()).unwrap_or(usize::MAX);
        if size > MAX_BODY_BYTES {
            return Err(ValidationError::new("body", format!("is longer than {MAX_BODY_BYTES} bytes as JSON")));
        }
        Ok(FactsDraft {
            body: (info.validate)(&self.body)?,
            source: required_text("source", &self.source, MAX_SOURCE_CHARS)?,
            note: optional_text("note", self.note.as_deref(), MAX_NOTE_CHARS)?,
        })
    }
}

/// One entry of `GET /api/clinical-facts`: a fact set and its current version.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FactSetSummary {
    pub name: String,
    pub description: String,
    pub version: u32,
    pub source: String,
    pub changed_at: Timestamp,
    pub changed_by: Option<UserId>,
}

/// Query of `GET /api/clinical-facts/{name}`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FactsQuery {
    /// A past version (default: the current one).
    pub version: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_compiled_in_fact_set_passes_its_own_check_and_keys_are_unique() {
        for f in FACT_SETS {
            let (source, _) = f.first_version().unwrap_or_else(|e| panic!("{}: {e:?}", f.name));
            assert!(!source.trim().is_empty(), "{} cites no source", f.name);
            assert_eq!(FACT_SETS.iter().filter(|g| g.key == f.key || g.name == f.name).count(), 1, "{}", f.name);
        }
    }

    #[test]
    fn a_body_of_the_wrong_shape_is_refused_naming_body() {
        let info = fact_set("vital_ranges").unwrap();
        let put = PutFacts { body: serde_json::json!({"nonsense": 1}), source: "me".into(), note: None };
        assert!(put.validate(info).unwrap_err().field.starts_with("body"));
        let (_, body) = info.first_version().unwrap();
        let put = PutFacts { body, source: "  ".into(), note: None };
        assert_eq!(put.validate(info).unwrap_err().field, "source");
    }
}
