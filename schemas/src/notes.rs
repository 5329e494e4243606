//! SOAP notes of visits: the autosaved draft (outside the event log), the signed and locked
//! note with its addenda, the note templates, and the bodies and answers of their routes.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::errors::ValidationError;
use crate::ids::{AppointmentTypeId, NoteId, PatientId, UserId, VisitId};
use crate::records::Record;
use crate::visits::VisitType;

/// Longest section of a note (characters): a long surgical report fits, a pasted book does
/// not.
pub const MAX_SECTION_CHARS: usize = 50_000;

/// The four sections of a SOAP note.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Soap {
    /// What the owner reports (history, appetite, litter box, behaviour at home).
    pub subjective: String,
    /// What the exam finds.
    pub objective: String,
    /// The interpretation: problems, differentials, diagnosis.
    pub assessment: String,
    /// What happens next: diagnostics, treatment, client instructions, recheck.
    pub plan: String,
}

impl Soap {
    /// True if every section is blank.
    pub fn is_blank(&self) -> bool {
        [&self.subjective, &self.objective, &self.assessment, &self.plan].iter().all(|s| s.trim().is_empty())
    }
}

/// A section's text: any length up to [`MAX_SECTION_CHARS`], newlines and tabs allowed,
/// other control characters refused. Kept as typed (not trimmed: an autosave lands in the
/// middle of typing).
pub fn section(field: &str, text: &str) -> Result<String, ValidationError> {
    if text.chars().count() > MAX_SECTION_CHARS {
        return Err(ValidationError::new(field, format!("must be at most {MAX_SECTION_CHARS} characters")));
    }
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
        return Err(ValidationError::new(field, "must not contain control characters"));
    }
    Ok(text.to_owned())
}

/// A visit's note while it is written: autosaved, not an event, deleted when the note is
/// signed (key: the visit's id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NoteDraft {
    pub visit_id: VisitId,
    pub patient_id: PatientId,
    #[serde(flatten)]
    pub soap: Soap,
    /// The client's revision of the last autosave stored (0: the template it started from).
    pub revision: u64,
    /// The template it started from (`wellness`, or an appointment type's id).
    pub template: Option<String>,
    pub updated_at: Timestamp,
    pub updated_by: Option<UserId>,
}

impl Record for NoteDraft {
    const KIND: &'static str = "note_draft";
    const VERSION: u16 = 1;
}

/// Body of `PUT /api/visits/{id}/note/draft`: the sections sent (absent ones stay as they
/// are) and the client's revision, which must grow with every autosave of the page: a save
/// whose revision is not above the stored one changes nothing (an older autosave arriving
/// late never overwrites a newer one).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveDraft {
    pub revision: u64,
    pub subjective: Option<String>,
    pub objective: Option<String>,
    pub assessment: Option<String>,
    pub plan: Option<String>,
}

impl SaveDraft {
    /// Checks the sections' lengths and characters, naming the field at fault.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.revision == 0 {
            return Err(ValidationError::new("revision", "must be 1 or more (0 is the template)"));
        }
        for (field, text) in self.fields() {
            if let Some(t) = text {
                section(field, t)?;
            }
        }
        Ok(())
    }

    fn fields(&self) -> [(&'static str, Option<&String>); 4] {
        [
            ("subjective", self.subjective.as_ref()),
            ("objective", self.objective.as_ref()),
            ("assessment", self.assessment.as_ref()),
            ("plan", self.plan.as_ref()),
        ]
    }

    /// The draft's sections after this save and the names of those that changed.
    pub fn apply(&self, soap: &Soap) -> (Soap, Vec<&'static str>) {
        let mut new = soap.clone();
        let mut changed = Vec::new();
        for (field, text) in self.fields() {
            let Some(t) = text else { continue };
            let slot = match field {
                "subjective" => &mut new.subjective,
                "objective" => &mut new.objective,
                "assessment" => &mut new.assessment,
                _ => &mut new.plan,
            };
            if slot != t {
                slot.clone_from(t);
                changed.push(field);
            }
        }
        (new, changed)
    }
}

/// The answer of an autosave: the draft as stored and whether this save was applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DraftSaved {
    /// The revision now stored (this save's, or a newer one that was already there).
    pub revision: u64,
    /// False when the stored revision was already this one or newer: nothing was written.
    pub applied: bool,
    pub draft: NoteDraft,
}

/// One addendum of a signed note: its own text, author, time and signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Addendum {
    /// 1, 2, … in order.
    pub number: u32,
    pub text: String,
    pub author: UserId,
    pub signed_at: Timestamp,
    /// Hex SHA-256 over the note's id, this addendum's number, text, author and time and the
    /// signature before it (the note's or the previous addendum's).
    pub signature: String,
}

/// A signed SOAP note: locked; later changes are [`Addendum`]s. One per visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Note {
    pub id: NoteId,
    pub visit_id: VisitId,
    pub patient_id: PatientId,
    #[serde(flatten)]
    pub soap: Soap,
    /// The draft revision that was signed.
    pub revision: u64,
    pub signed_by: UserId,
    pub signed_at: Timestamp,
    /// Hex SHA-256 over the note's id, visit, sections, signer and time.
    pub signature: String,
    pub addenda: Vec<Addendum>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: Option<UserId>,
}

impl Record for Note {
    const KIND: &'static str = "note";
    const VERSION: u16 = 1;
}

/// Body of `POST /api/visits/{id}/note/sign`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignNote {
    /// The draft revision the signer saw; if the stored draft moved on since, the signing is
    /// refused (`record_changed`) so nobody signs text they did not read.
    pub revision: Option<u64>,
}

/// Body of `POST /api/visits/{id}/note/addenda`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddAddendum {
    pub text: String,
}

impl AddAddendum {
    pub fn validate(&self) -> Result<String, ValidationError> {
        let t = section("text", &self.text)?;
        if t.trim().is_empty() {
            return Err(ValidationError::new("text", "is required"));
        }
        Ok(t.trim().to_owned())
    }
}

/// `GET /api/visits/{id}/note`: the draft while it is written, the signed note after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NoteView {
    pub visit_id: VisitId,
    /// `draft` or `signed`.
    pub status: String,
    pub draft: Option<NoteDraft>,
    pub note: Option<Note>,
}

/// Which visits a note template is for: a visit type (every clinic has one of each), or one
/// appointment type (preferred over its visit type's when the visit came from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateFor {
    VisitType(VisitType),
    AppointmentType(AppointmentTypeId),
}

impl TemplateFor {
    /// Parses a path's key: a visit type's name or an appointment type's id.
    pub fn parse(s: &str) -> Result<TemplateFor, ValidationError> {
        if let Ok(t) = VisitType::parse("key", s) {
            return Ok(TemplateFor::VisitType(t));
        }
        s.parse::<AppointmentTypeId>().map(TemplateFor::AppointmentType).map_err(|_| {
            ValidationError::new("key", "must be a visit type (wellness, sick, …) or an appointment type's id")
        })
    }

    /// The key as written in paths and answers.
    pub fn key(&self) -> String {
        match self {
            TemplateFor::VisitType(t) => t.as_str().to_owned(),
            TemplateFor::AppointmentType(id) => id.to_string(),
        }
    }

    /// Its store key: a visit type's small number (1–7, below any ULID), or the appointment
    /// type's id.
    pub fn store_key(&self) -> u128 {
        match self {
            TemplateFor::VisitType(t) => {
                let all = <VisitType as strum::VariantArray>::VARIANTS;
                all.iter().position(|x| x == t).map_or(0, |i| i as u128 + 1)
            }
            TemplateFor::AppointmentType(id) => id.as_u128(),
        }
    }
}

/// A note template the clinic edits: the text a new visit's draft starts from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NoteTemplate {
    /// A visit type (`wellness`) or an appointment type's id.
    pub key: String,
    #[serde(flatten)]
    pub soap: Soap,
    /// False for a built-in default nobody has edited yet.
    pub edited: bool,
    pub updated_at: Option<Timestamp>,
    pub updated_by: Option<UserId>,
}

impl Record for NoteTemplate {
    const KIND: &'static str = "note_template";
    const VERSION: u16 = 1;
}

/// Body of `PUT /api/note-templates/{key}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutTemplate {
    #[serde(default)]
    pub subjective: String,
    #[serde(default)]
    pub objective: String,
    #[serde(default)]
    pub assessment: String,
    #[serde(default)]
    pub plan: String,
}

impl PutTemplate {
    pub fn validate(&self) -> Result<Soap, ValidationError> {
        Ok(Soap {
            subjective: section("subjective", &self.subjective)?,
            objective: section("objective", &self.objective)?,
            assessment: section("assessment", &self.assessment)?,
            plan: section("plan", &self.plan)?,
        })
    }
}

/// The built-in template of a visit type, in a cat clinic's words (editable).
pub fn default_template(t: VisitType) -> Soap {
    let s = |a: &str, b: &str, c: &str, d: &str| Soap {
        subjective: a.into(),
        objective: b.into(),
        assessment: c.into(),
        plan: d.into(),
    };
    const EXAM: &str = "T: __ °C  HR: __/min  RR: __/min  Weight: __ kg  BCS: _/9  MCS: __  FAS: _/5\n\
        General: BAR / QAR / depressed. Mucous membranes: pink, moist, CRT < 2 s.\n\
        Eyes / ears / nose: \nOral cavity, teeth (tartar, resorptive lesions): \n\
        Heart / lungs (murmur, gallop, crackles): \nAbdomen (kidney size, bladder, thyroid slip): \n\
        Skin / coat (fleas, overgrooming): \nMusculoskeletal (stiffness, jumping): ";
    match t {
        VisitType::Wellness => s(
            "Reason: wellness exam. Indoor / outdoor: . Diet and appetite: . Water intake: . \
             Litter box (urine clumps, stool): . Vomiting / hairballs: . Behaviour, play, hiding: . \
             Travel stress (carrier, car): .",
            EXAM,
            "Healthy adult cat / findings: .",
            "Vaccines per AAHA/AAFP protocol: . Parasite prevention: . Diet and weight goal: . \
             Dental home care: . Next wellness exam: .",
        ),
        VisitType::Sick => s(
            "Presenting complaint: . Onset and duration: . Appetite (hours since last meal matter in cats): . \
             Vomiting / diarrhoea / urination changes: . Medications and supplements: . Toxins (lilies, \
             permethrin, paracetamol) possible: .",
            EXAM,
            "Problem list: . Differentials: .",
            "Diagnostics: . Treatment: . Owner instructions (watch appetite; a cat not eating for 24 h \
             must be rechecked): . Recheck: .",
        ),
        VisitType::Emergency => s(
            "Presenting emergency: . Time of onset: . Trauma / toxin / urinary blockage (male cat straining): .",
            "Triage: airway, breathing, circulation. Mentation: . Pain score: /10. Feline Grimace Scale: .",
            "Stabilisation assessment: .",
            "Stabilisation: . Diagnostics: . Owner updated, estimate given: . Hospitalisation / referral: .",
        ),
        VisitType::FollowUp => s(
            "Recheck of: . Progress since the last visit: . Medication given as prescribed (pilling stress?): .",
            EXAM,
            "Improved / unchanged / worse: .",
            "Continue / change treatment: . Next recheck: .",
        ),
        VisitType::Surgery => s(
            "Procedure: . Fasted since: . Pre-anaesthetic bloodwork: . Consent signed: .",
            "Pre-op exam: . Anaesthetic protocol: . Monitoring (SpO2, ETCO2, BP, temperature): . \
             Procedure notes: . Recovery: .",
            "ASA status: . Procedure outcome: .",
            "Analgesia (cat-safe only; no paracetamol): . E-collar / suit: . Recheck and suture removal: . \
             Home instructions: .",
        ),
        VisitType::Dental => s(
            "Reason: dental. Eating on one side, dropping food, drooling: .",
            "Dental chart: . Resorptive lesions (FORL): . Gingivitis / stomatitis: . Extractions: . \
             Radiographs: .",
            "Periodontal stage: .",
            "Analgesia: . Soft food for __ days: . Home care: . Recheck: .",
        ),
        VisitType::Other => s("Reason: .", "Findings: .", "Assessment: .", "Plan: ."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_save_changes_only_the_sections_it_sends() {
        let save: SaveDraft =
            serde_json::from_value(serde_json::json!({ "revision": 2, "plan": "Recheck in 2 weeks" })).unwrap();
        let before = Soap { plan: "x".into(), subjective: "Eats well".into(), ..Soap::default() };
        let (after, changed) = save.apply(&before);
        assert_eq!(changed, ["plan"]);
        assert_eq!((after.subjective.as_str(), after.plan.as_str()), ("Eats well", "Recheck in 2 weeks"));
    }

    #[test]
    fn a_section_too_long_names_its_field() {
        let big = "a".repeat(MAX_SECTION_CHARS + 1);
        let save: SaveDraft = serde_json::from_value(serde_json::json!({ "revision": 1, "objective": big })).unwrap();
        assert_eq!(save.validate().unwrap_err().field, "objective");
        let zero: SaveDraft = serde_json::from_value(serde_json::json!({ "revision": 0 })).unwrap();
        assert_eq!(zero.validate().unwrap_err().field, "revision");
    }

    #[test]
    fn template_keys_parse_and_visit_types_sort_below_ulids() {
        let w = TemplateFor::parse("wellness").unwrap();
        assert_eq!((w.key().as_str(), w.store_key()), ("wellness", 1));
        assert_eq!(TemplateFor::parse("other").unwrap().store_key(), 7);
        let id = AppointmentTypeId::from_u128(1 << 100);
        assert_eq!(TemplateFor::parse(&id.to_string()).unwrap(), TemplateFor::AppointmentType(id));
        assert_eq!(TemplateFor::parse("nope").unwrap_err().field, "key");
        for t in <VisitType as strum::VariantArray>::VARIANTS {
            assert!(!default_template(*t).is_blank());
        }
    }
}
