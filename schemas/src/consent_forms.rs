//! Consent forms on the medical record (DOMAIN.md "Clinical record", issue 17 item 2): the
//! clinic's **templates** (anaesthesia, euthanasia, treatment estimate, other), each a title
//! and a body with placeholders, versioned; and the **forms** made from them for a visit, whose
//! text is filled in and frozen when made, then signed once on the tablet (the signer's name,
//! their relationship to the cat and a drawn signature, stamped with the time and the staff
//! witness) or voided before. A signed form is never changed: its PDF is a document.
//!
//! Checking and filling only; storing is `clowder_actors::clinical::consent_forms`.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::errors::ValidationError;
use crate::ids::{ClientId, ConsentFormId, ConsentTemplateId, DocumentId, EstimateId, PatientId, UserId, VisitId};
use crate::records::Record;
use crate::values::{MAX_NAME_CHARS, optional_text, required_text};

/// Longest template or form text (characters).
pub const MAX_BODY_CHARS: usize = 20_000;

/// The placeholders a template may use, written `{name}`.
pub const PLACEHOLDERS: [&str; 8] =
    ["cat", "owner", "clinic", "date", "procedure", "estimate_low", "estimate_high", "vet"];

/// What a consent form is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentKind {
    Anaesthesia,
    Euthanasia,
    /// Consent to a treatment and its estimated cost: made with an estimate.
    TreatmentEstimate,
    Other,
}

impl ConsentKind {
    /// Every kind, in display order.
    pub const ALL: [ConsentKind; 4] =
        [ConsentKind::Anaesthesia, ConsentKind::Euthanasia, ConsentKind::TreatmentEstimate, ConsentKind::Other];

    /// The wire name (`treatment_estimate`).
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentKind::Anaesthesia => "anaesthesia",
            ConsentKind::Euthanasia => "euthanasia",
            ConsentKind::TreatmentEstimate => "treatment_estimate",
            ConsentKind::Other => "other",
        }
    }
}

/// Checks a template's text: every `{…}` names a known placeholder; braces pair up.
pub fn check_placeholders(field: &str, body: &str) -> Result<(), ValidationError> {
    let mut rest = body;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err(ValidationError::new(field, "has a '}' without its '{'"));
        }
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or_else(|| ValidationError::new(field, "has a '{' without its '}'"))?;
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(ValidationError::new(
                field,
                format!(
                    "uses the unknown placeholder {{{name}}}; known: {}",
                    PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(" ")
                ),
            ));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

/// The values a form's placeholders were filled with, kept with the form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConsentValues {
    pub cat: String,
    pub owner: String,
    pub clinic: String,
    /// The day it was made, in the clinic's zone.
    pub date: String,
    pub procedure: String,
    /// The estimate option's low and high totals (`1234.50`), empty without an estimate.
    pub estimate_low: String,
    pub estimate_high: String,
    pub vet: String,
}

impl ConsentValues {
    fn get(&self, name: &str) -> Option<&str> {
        Some(match name {
            "cat" => &self.cat,
            "owner" => &self.owner,
            "clinic" => &self.clinic,
            "date" => &self.date,
            "procedure" => &self.procedure,
            "estimate_low" => &self.estimate_low,
            "estimate_high" => &self.estimate_high,
            "vet" => &self.vet,
            _ => return None,
        })
    }

    /// `text` with each known `{placeholder}` replaced (an empty value reads as a blank line
    /// to fill by hand, `________`); anything else is left as written.
    pub fn fill(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after.find('}').and_then(|close| self.get(&after[..close]).map(|v| (close, v))) {
                Some((close, v)) => {
                    out.push_str(if v.trim().is_empty() { "________" } else { v });
                    rest = &after[close + 1..];
                }
                None => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
}

/// A consent template, as stored and returned. Editing its title or body makes a new
/// version (`version` + 1); forms keep the version and the text they were made from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ConsentTemplate {
    pub id: ConsentTemplateId,
    pub kind: ConsentKind,
    pub title: String,
    /// The text with its placeholders.
    pub body: String,
    /// 1 when made; + 1 at each change of title or body.
    pub version: u32,
    /// Retired templates are not offered for new forms.
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub updated_by: Option<UserId>,
}

impl Record for ConsentTemplate {
    const KIND: &'static str = "consent_template";
    const VERSION: u16 = 1;
}

/// Body of `POST /api/consent-templates`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConsentTemplate {
    pub kind: ConsentKind,
    pub title: String,
    pub body: String,
}

/// A checked new template.
#[derive(Debug, Clone)]
pub struct ConsentTemplateDraft {
    pub kind: ConsentKind,
    pub title: String,
    pub body: String,
}

fn body_text(field: &str, body: &str) -> Result<String, ValidationError> {
    let b = body.trim();
    if b.is_empty() {
        return Err(ValidationError::new(field, "is required"));
    }
    if b.chars().count() > MAX_BODY_CHARS {
        return Err(ValidationError::new(field, format!("must be at most {MAX_BODY_CHARS} characters")));
    }
    if b.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
        return Err(ValidationError::new(field, "must not contain control characters"));
    }
    check_placeholders(field, b)?;
    Ok(b.replace("\r\n", "\n"))
}

fn title_text(title: &str) -> Result<String, ValidationError> {
    let t = required_text("title", title, MAX_NAME_CHARS)?;
    check_placeholders("title", &t)?;
    Ok(t)
}

impl CreateConsentTemplate {
    /// Checks the title and the body (known placeholders only).
    pub fn validate(self) -> Result<ConsentTemplateDraft, ValidationError> {
        Ok(ConsentTemplateDraft {
            kind: self.kind,
            title: title_text(&self.title)?,
            body: body_text("body", &self.body)?,
        })
    }
}

impl ConsentTemplateDraft {
    /// The template, version 1.
    pub fn into_template(self, id: ConsentTemplateId, now: Timestamp, by: Option<UserId>) -> ConsentTemplate {
        ConsentTemplate {
            id,
            kind: self.kind,
            title: self.title,
            body: self.body,
            version: 1,
            active: true,
            created_at: now,
            updated_at: now,
            updated_by: by,
        }
    }
}

/// Body of `PATCH /api/consent-templates/{id}`: a new version's title or body, or retiring it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateConsentTemplate {
    pub title: Option<String>,
    pub body: Option<String>,
    pub active: Option<bool>,
}

impl UpdateConsentTemplate {
    /// The changed template and the fields that changed; a new title or body is a new version.
    pub fn apply(&self, t: &ConsentTemplate) -> Result<(ConsentTemplate, Vec<&'static str>), ValidationError> {
        let mut new = t.clone();
        let mut changed = Vec::new();
        if let Some(title) = &self.title {
            let title = title_text(title)?;
            if title != t.title {
                new.title = title;
                changed.push("title");
            }
        }
        if let Some(body) = &self.body {
            let body = body_text("body", body)?;
            if body != t.body {
                new.body = body;
                changed.push("body");
            }
        }
        if !changed.is_empty() {
            new.version += 1;
            changed.push("version");
        }
        if let Some(active) = self.active.filter(|a| *a != t.active) {
            new.active = active;
            changed.push("active");
        }
        Ok((new, changed))
    }
}

/// The wording Clowder starts with, one per kind but "other" (written for Clowder; a clinic
/// edits them to its own). `(kind, title, body)`.
pub const DEFAULT_TEMPLATES: [(ConsentKind, &str, &str); 3] = [
    (
        ConsentKind::Anaesthesia,
        "Consent to anaesthesia and procedure",
        "I, {owner}, am the owner (or the owner's authorised agent) of {cat} and I ask {clinic} to \
         carry out the following procedure under general anaesthesia or sedation: {procedure}.\n\n\
         {vet} has explained the procedure, why it is recommended, and its alternatives. I \
         understand that every anaesthetic carries a risk, small in a healthy cat and greater in \
         older cats and in cats with heart, kidney or thyroid disease, including rare serious \
         complications and death. Pre-anaesthetic blood tests, intravenous fluids and monitoring \
         have been offered to lower that risk.\n\n\
         I confirm that {cat} has had no food since the time I was given, and I have told the \
         clinic about every medicine, supplement and illness I know of. I agree that the team \
         may give the treatment needed if an emergency arises during the procedure and will \
         try to reach me first whenever they can.\n\n\
         I understand that the cost of the procedure is my responsibility.\n\nDate: {date}",
    ),
    (
        ConsentKind::Euthanasia,
        "Consent to euthanasia",
        "I, {owner}, am the owner (or the owner's authorised agent) of {cat} and I have the \
         authority to make this decision. I ask {clinic} and {vet} to end {cat}'s life \
         humanely by euthanasia.\n\n\
         To the best of my knowledge {cat} has not bitten or scratched anyone in the last 14 \
         days and has not been exposed to rabies.\n\n\
         I understand that euthanasia cannot be undone. The procedure and what I may see \
         during it have been explained to me, and I have been told that I may stay with {cat} \
         if I wish.\n\n\
         My wishes for {cat}'s body (private cremation with ashes returned, communal \
         cremation, or home burial) are recorded separately with the clinic.\n\nDate: {date}",
    ),
    (
        ConsentKind::TreatmentEstimate,
        "Consent to treatment and its estimated cost",
        "I, {owner}, am the owner (or the owner's authorised agent) of {cat} and I ask {clinic} \
         to provide the following treatment: {procedure}.\n\n\
         I have received the estimate for this treatment: between {estimate_low} and \
         {estimate_high}, taxes included. I understand that an estimate is not a fixed price: \
         the clinic will contact me before the cost goes beyond the higher figure, unless \
         {cat}'s life depends on treatment that cannot wait.\n\n\
         {vet} has explained the treatment, its expected benefits and risks, and the \
         alternatives, including not treating. I agree to pay for the treatment as set out in \
         the clinic's terms.\n\nDate: {date}",
    ),
];

/// A consent form's state: drafted, then signed once, or voided before signing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentStatus {
    Draft,
    Signed,
    Voided,
}

/// Who signed, towards the cat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SignerRelationship {
    Owner,
    /// Someone the owner sent (a family member, a pet sitter).
    Agent,
}

/// How a form was signed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ConsentSignature {
    pub signer_name: String,
    pub relationship: SignerRelationship,
    /// Stamped by the server's clock.
    pub signed_at: Timestamp,
    /// The staff member at the tablet: the witness.
    pub witness_id: Option<UserId>,
    pub witness_name: String,
    /// The signed PDF, a document of category `consent`.
    pub document_id: DocumentId,
}

/// A consent form, as stored and returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ConsentForm {
    pub id: ConsentFormId,
    pub template_id: ConsentTemplateId,
    /// The template's version it was made from.
    pub template_version: u32,
    pub kind: ConsentKind,
    /// Filled and frozen when made.
    pub title: String,
    /// The template's title and body of that version, kept so a draft's procedure can be
    /// corrected without taking a newer wording.
    pub template_title: String,
    pub template_body: String,
    pub values: ConsentValues,
    pub estimate_id: Option<EstimateId>,
    pub estimate_option: Option<u32>,
    /// The text the signer agrees to: the template filled with `values`.
    pub text: String,
    pub client_id: ClientId,
    pub patient_id: PatientId,
    pub visit_id: VisitId,
    pub status: ConsentStatus,
    pub void_reason: Option<String>,
    pub signature: Option<ConsentSignature>,
    pub created_at: Timestamp,
    pub created_by: Option<UserId>,
    pub updated_at: Timestamp,
}

impl Record for ConsentForm {
    const KIND: &'static str = "consent_form";
    const VERSION: u16 = 1;
}

/// Body of `POST /api/consent-forms`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConsentForm {
    pub template_id: ConsentTemplateId,
    pub visit_id: VisitId,
    /// What is consented to (fills `{procedure}`); defaults to the visit's complaint.
    pub procedure: Option<String>,
    /// Required for a treatment-estimate template: an estimate of the visit's cat.
    pub estimate_id: Option<EstimateId>,
    /// Which of its options (`option_no`); default the accepted one, else the first.
    pub estimate_option: Option<u32>,
}

/// A checked new form.
#[derive(Debug, Clone)]
pub struct ConsentFormDraft {
    pub template_id: ConsentTemplateId,
    pub visit_id: VisitId,
    pub procedure: Option<String>,
    pub estimate_id: Option<EstimateId>,
    pub estimate_option: Option<u32>,
}

fn procedure(value: Option<&str>) -> Result<Option<String>, ValidationError> {
    optional_text("procedure", value, 300)
}

impl CreateConsentForm {
    /// Checks the procedure's text; the links are checked against the record.
    pub fn validate(self) -> Result<ConsentFormDraft, ValidationError> {
        if self.estimate_option.is_some() && self.estimate_id.is_none() {
            return Err(ValidationError::new("estimate_option", "name the estimate_id too"));
        }
        Ok(ConsentFormDraft {
            template_id: self.template_id,
            visit_id: self.visit_id,
            procedure: procedure(self.procedure.as_deref())?,
            estimate_id: self.estimate_id,
            estimate_option: self.estimate_option,
        })
    }
}

/// Body of `PATCH /api/consent-forms/{id}`: a draft's procedure corrected (the text is filled
/// again from the same template version). A signed or voided form answers 409.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateConsentForm {
    pub procedure: String,
}

impl UpdateConsentForm {
    /// The new procedure text.
    pub fn procedure(&self) -> Result<String, ValidationError> {
        required_text("procedure", &self.procedure, 300)
    }
}

/// Body of `POST /api/consent-forms/{id}/sign`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignConsentForm {
    pub signer_name: String,
    pub relationship: SignerRelationship,
    /// The drawn signature: a PNG as a `data:image/png;base64,…` URL (at most 256 KiB of PNG,
    /// 2000 × 1000 pixels, not blank).
    pub signature: String,
}

impl SignConsentForm {
    /// The signer's name, one line.
    pub fn signer_name(&self) -> Result<String, ValidationError> {
        required_text("signer_name", &self.signer_name, MAX_NAME_CHARS)
    }

    /// The base64 part of the signature's data URL.
    pub fn png_base64(&self) -> Result<&str, ValidationError> {
        let s = self.signature.trim();
        let Some((head, data)) = s.split_once(',') else {
            return Err(ValidationError::new("signature", "must be a data:image/png;base64 URL"));
        };
        if !head.eq_ignore_ascii_case("data:image/png;base64") {
            return Err(ValidationError::new("signature", "must be a data:image/png;base64 URL"));
        }
        Ok(data)
    }
}

/// Body of `POST /api/consent-forms/{id}/void`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidConsentForm {
    pub reason: String,
}

impl VoidConsentForm {
    /// The reason, required.
    pub fn reason(&self) -> Result<String, ValidationError> {
        required_text("reason", &self.reason, MAX_NAME_CHARS)
    }
}

/// Query of `GET /api/consent-forms`: one client's, cat's or visit's forms.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsentFormListQuery {
    pub client_id: Option<ClientId>,
    pub patient_id: Option<PatientId>,
    pub visit_id: Option<VisitId>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_name_only_known_placeholders() {
        assert!(check_placeholders("body", "I, {owner}, consent for {cat} on {date}.").is_ok());
        let e = check_placeholders("body", "Dear {owner_name}").unwrap_err();
        assert_eq!(e.field, "body");
        assert!(e.message.contains("{owner_name}"), "{}", e.message);
        assert!(check_placeholders("body", "an open { brace").is_err());
        assert!(check_placeholders("body", "a close } brace").is_err());
        for (_, title, body) in DEFAULT_TEMPLATES {
            check_placeholders("title", title).unwrap();
            check_placeholders("body", body).unwrap();
        }
    }

    #[test]
    fn filling_replaces_known_placeholders_and_marks_empty_ones() {
        let v = ConsentValues { cat: "Miso".into(), owner: "Ana Ruiz".into(), ..ConsentValues::default() };
        assert_eq!(v.fill("{owner} consents for {cat}: {procedure}."), "Ana Ruiz consents for Miso: ________.");
        assert_eq!(v.fill("a { left alone"), "a { left alone");
    }

    #[test]
    fn a_new_title_or_body_is_a_new_version_and_retiring_is_not() {
        let t = CreateConsentTemplate { kind: ConsentKind::Other, title: "Photo".into(), body: "{cat}".into() }
            .validate()
            .unwrap()
            .into_template(ConsentTemplateId::from_u128(1), Timestamp::UNIX_EPOCH, None);
        let (new, changed) =
            UpdateConsentTemplate { body: Some("{cat} and {owner}".into()), ..Default::default() }.apply(&t).unwrap();
        assert_eq!((new.version, changed), (2, vec!["body", "version"]));
        let (same, changed) = UpdateConsentTemplate { active: Some(false), ..Default::default() }.apply(&t).unwrap();
        assert_eq!((same.version, changed), (1, vec!["active"]));
        assert!(UpdateConsentTemplate { body: Some("{dog}".into()), ..Default::default() }.apply(&t).is_err());
    }

    #[test]
    fn a_signature_must_be_a_png_data_url() {
        let sign = |s: &str| SignConsentForm {
            signer_name: " ".into(),
            relationship: SignerRelationship::Owner,
            signature: s.into(),
        };
        assert_eq!(sign("data:image/png;base64,iVBO").png_base64().unwrap(), "iVBO");
        assert!(sign("data:image/svg+xml;base64,PHN2").png_base64().is_err());
        assert!(sign("iVBO").png_base64().is_err());
        assert!(sign("").signer_name().is_err());
    }
}
