//! A cat's problem list: problems and diagnoses with their type (primary, differential,
//! rule-out), severity, status (active, resolved, chronic, ruled out), onset and resolution,
//! and an optional code. The stored record, the create and merge-patch bodies, and the rules
//! they keep: a resolved problem has a resolution date, never before its onset, and neither
//! date is in the future.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::errors::ValidationError;
use crate::ids::{PatientId, ProblemId, UserId, VisitId};
use crate::patch::{Patch, cleared};
use crate::records::Record;
use crate::values::{MAX_NAME_CHARS, note_text, optional_text, required_text};

/// Longest problem name ("Chronic kidney disease, IRIS stage 2, non-proteinuric, …").
pub const MAX_PROBLEM_NAME_CHARS: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProblemType {
    Primary,
    Differential,
    RuleOut,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Mild,
    Moderate,
    Severe,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProblemStatus {
    Active,
    Resolved,
    Chronic,
    RuledOut,
}

impl ProblemStatus {
    /// Active and chronic problems make the active problem list (the banner).
    pub fn is_current(self) -> bool {
        matches!(self, ProblemStatus::Active | ProblemStatus::Chronic)
    }
}

/// A problem as stored and as returned by the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    pub id: ProblemId,
    pub patient_id: PatientId,
    /// The visit it was recorded in, as given.
    pub visit_id: Option<VisitId>,
    pub name: String,
    /// e.g. a VeNom or SNOMED CT code.
    pub code: Option<String>,
    /// The code's system (`venom`, `snomed_ct`, …); only with a code.
    pub code_system: Option<String>,
    #[serde(rename = "type")]
    pub kind: ProblemType,
    pub severity: Option<Severity>,
    pub status: ProblemStatus,
    pub onset: Option<Date>,
    /// Set exactly when the status is `resolved`.
    pub resolved_on: Option<Date>,
    pub notes: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: Option<UserId>,
}

impl Record for Problem {
    const KIND: &'static str = "problem";
    const VERSION: u16 = 1;
}

/// Body of `POST /api/problems`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProblem {
    pub patient_id: PatientId,
    #[serde(default)]
    pub visit_id: Option<VisitId>,
    pub name: String,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub code_system: Option<String>,
    /// Default `primary`.
    #[serde(default, rename = "type")]
    pub kind: Option<ProblemType>,
    #[serde(default)]
    pub severity: Option<Severity>,
    /// Default `active`.
    #[serde(default)]
    pub status: Option<ProblemStatus>,
    #[serde(default)]
    pub onset: Option<Date>,
    #[serde(default)]
    pub resolved_on: Option<Date>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// The validated content of a new problem.
#[derive(Debug, Clone, PartialEq)]
pub struct ProblemDraft {
    pub patient_id: PatientId,
    pub visit_id: Option<VisitId>,
    pub name: String,
    pub code: Option<String>,
    pub code_system: Option<String>,
    pub kind: ProblemType,
    pub severity: Option<Severity>,
    pub status: ProblemStatus,
    pub onset: Option<Date>,
    pub resolved_on: Option<Date>,
    pub notes: Option<String>,
}

impl CreateProblem {
    /// Validates every field; `today` is the clinic's local date.
    pub fn validate(&self, today: Date) -> Result<ProblemDraft, ValidationError> {
        let d = ProblemDraft {
            patient_id: self.patient_id,
            visit_id: self.visit_id,
            name: required_text("name", &self.name, MAX_PROBLEM_NAME_CHARS)?,
            code: optional_text("code", self.code.as_deref(), MAX_NAME_CHARS)?,
            code_system: optional_text("code_system", self.code_system.as_deref(), MAX_NAME_CHARS)?,
            kind: self.kind.unwrap_or(ProblemType::Primary),
            severity: self.severity,
            status: self.status.unwrap_or(ProblemStatus::Active),
            onset: self.onset,
            resolved_on: self.resolved_on,
            notes: note_text("notes", self.notes.as_deref())?,
        };
        check(d.code.as_deref(), d.code_system.as_deref(), d.status, d.onset, d.resolved_on, today)?;
        Ok(d)
    }
}

impl ProblemDraft {
    pub fn into_problem(self, id: ProblemId, now: Timestamp, by: Option<UserId>) -> Problem {
        Problem {
            id,
            patient_id: self.patient_id,
            visit_id: self.visit_id,
            name: self.name,
            code: self.code,
            code_system: self.code_system,
            kind: self.kind,
            severity: self.severity,
            status: self.status,
            onset: self.onset,
            resolved_on: self.resolved_on,
            notes: self.notes,
            created_at: now,
            updated_at: now,
            created_by: by,
        }
    }
}

/// The rules across fields, on the record as it would be.
fn check(
    code: Option<&str>,
    code_system: Option<&str>,
    status: ProblemStatus,
    onset: Option<Date>,
    resolved_on: Option<Date>,
    today: Date,
) -> Result<(), ValidationError> {
    if code_system.is_some() && code.is_none() {
        return Err(ValidationError::new("code_system", "is only given with a code"));
    }
    if onset.is_some_and(|d| d > today) {
        return Err(ValidationError::new("onset", "is in the future"));
    }
    match (status, resolved_on) {
        (ProblemStatus::Resolved, None) => {
            Err(ValidationError::new("resolved_on", "is required when the status is resolved"))
        }
        (ProblemStatus::Resolved, Some(r)) if r > today => Err(ValidationError::new("resolved_on", "is in the future")),
        (ProblemStatus::Resolved, Some(r)) if onset.is_some_and(|o| r < o) => {
            Err(ValidationError::new("resolved_on", "is before the onset"))
        }
        (ProblemStatus::Resolved, Some(_)) | (_, None) => Ok(()),
        (_, Some(_)) => Err(ValidationError::new("resolved_on", "is only given when the status is resolved")),
    }
}

/// Body of `PATCH /api/problems/{id}`: absent fields stay, `null` clears an optional field.
/// Moving a problem out of `resolved` clears its resolution date unless the patch sets it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProblem {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub code: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub code_system: Patch<String>,
    #[serde(default, rename = "type")]
    #[schema(value_type = Option<ProblemType>)]
    pub kind: Patch<ProblemType>,
    #[serde(default)]
    #[schema(value_type = Option<Severity>)]
    pub severity: Patch<Severity>,
    #[serde(default)]
    #[schema(value_type = Option<ProblemStatus>)]
    pub status: Patch<ProblemStatus>,
    #[serde(default)]
    #[schema(value_type = Option<Date>)]
    pub onset: Patch<Date>,
    #[serde(default)]
    #[schema(value_type = Option<Date>)]
    pub resolved_on: Patch<Date>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub notes: Patch<String>,
}

impl UpdateProblem {
    /// Applies the patch, returning the new record (timestamps untouched) and the JSON names
    /// of the fields that changed.
    pub fn apply(&self, cur: &Problem, today: Date) -> Result<(Problem, Vec<&'static str>), ValidationError> {
        let mut p = cur.clone();
        match &self.name {
            Patch::Keep => {}
            Patch::Clear => return Err(cleared("name")),
            Patch::Set(v) => p.name = required_text("name", v, MAX_PROBLEM_NAME_CHARS)?,
        }
        let text = |field: &str, patch: &Patch<String>, cur: &Option<String>, max: usize| match patch {
            Patch::Keep => Ok(cur.clone()),
            Patch::Clear => Ok(None),
            Patch::Set(v) => optional_text(field, Some(v), max),
        };
        p.code = text("code", &self.code, &cur.code, MAX_NAME_CHARS)?;
        p.code_system = text("code_system", &self.code_system, &cur.code_system, MAX_NAME_CHARS)?;
        p.notes = match &self.notes {
            Patch::Keep => cur.notes.clone(),
            Patch::Clear => None,
            Patch::Set(v) => note_text("notes", Some(v))?,
        };
        p.kind = self.kind.required(cur.kind, "type")?;
        p.severity = self.severity.optional(cur.severity);
        p.status = self.status.required(cur.status, "status")?;
        p.onset = self.onset.optional(cur.onset);
        p.resolved_on = self.resolved_on.optional(cur.resolved_on);
        if p.status != ProblemStatus::Resolved && self.resolved_on.is_keep() {
            p.resolved_on = None;
        }
        check(p.code.as_deref(), p.code_system.as_deref(), p.status, p.onset, p.resolved_on, today)?;
        let mut changed = Vec::new();
        macro_rules! diff {
            ($($f:ident => $name:literal),*) => { $( if p.$f != cur.$f { changed.push($name); } )* };
        }
        diff!(name => "name", code => "code", code_system => "code_system", kind => "type", severity => "severity",
              status => "status", onset => "onset", resolved_on => "resolved_on", notes => "notes");
        Ok((p, changed))
    }
}

/// Filters of `GET /api/patients/{id}/problems`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ProblemListQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// `current` (active and chronic), `active`, `resolved`, `chronic`, `ruled_out`, or `all`
    /// (default).
    pub status: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    const CAT: &str = "01JD7Y2Q4Z8W3N5K6M7P8R9S0T";

    fn create(json: serde_json::Value) -> CreateProblem {
        serde_json::from_value(json).unwrap()
    }

    fn patch(json: serde_json::Value) -> UpdateProblem {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn resolution_needs_a_date_not_before_onset_nor_in_the_future() {
        let today = date(2026, 11, 24);
        let cases = [
            (serde_json::json!({"patient_id": CAT, "name": "FLUTD", "status": "resolved"}), "resolved_on"),
            (
                serde_json::json!({"patient_id": CAT, "name": "FLUTD", "status": "resolved", "onset": "2026-05-01", "resolved_on": "2026-04-01"}),
                "resolved_on",
            ),
            (
                serde_json::json!({"patient_id": CAT, "name": "FLUTD", "status": "resolved", "resolved_on": "2026-12-01"}),
                "resolved_on",
            ),
            (serde_json::json!({"patient_id": CAT, "name": "FLUTD", "resolved_on": "2026-04-01"}), "resolved_on"),
            (serde_json::json!({"patient_id": CAT, "name": "FLUTD", "onset": "2027-01-01"}), "onset"),
            (serde_json::json!({"patient_id": CAT, "name": " "}), "name"),
            (serde_json::json!({"patient_id": CAT, "name": "CKD", "code_system": "venom"}), "code_system"),
        ];
        for (json, field) in cases {
            assert_eq!(create(json.clone()).validate(today).unwrap_err().field, field, "{json}");
        }
        let d = create(serde_json::json!({"patient_id": CAT, "name": "CKD", "status": "chronic", "type": "primary"}))
            .validate(today)
            .unwrap();
        assert_eq!((d.kind, d.status), (ProblemType::Primary, ProblemStatus::Chronic));
    }

    #[test]
    fn resolving_and_reopening_move_the_resolution_date() {
        let today = date(2026, 11, 24);
        let p = create(serde_json::json!({"patient_id": CAT, "name": "URI", "onset": "2026-11-01"}))
            .validate(today)
            .unwrap()
            .into_problem(ProblemId::from_u128(1), Timestamp::UNIX_EPOCH, None);
        assert_eq!(patch(serde_json::json!({"status": "resolved"})).apply(&p, today).unwrap_err().field, "resolved_on");
        let (done, changed) =
            patch(serde_json::json!({"status": "resolved", "resolved_on": "2026-11-20"})).apply(&p, today).unwrap();
        assert_eq!(changed, ["status", "resolved_on"]);
        let (again, changed) = patch(serde_json::json!({"status": "active"})).apply(&done, today).unwrap();
        assert_eq!((again.resolved_on, changed), (None, vec!["status", "resolved_on"]));
        assert!(patch(serde_json::json!({"name": "URI"})).apply(&p, today).unwrap().1.is_empty());
        assert_eq!(patch(serde_json::json!({"type": null})).apply(&p, today).unwrap_err().field, "type");
    }
}
