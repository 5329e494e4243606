//! Message templates: the text (and, for email, HTML) a clinic sends for each kind of message,
//! with their earlier versions. This module owns the record and the request bodies and their
//! field checks; the template language checks (variables, syntax, `<script>`, SMS segments)
//! need the engine and live with the kind in `clowder_actors::comms::templates`.
//!
//! Versions: every saved change to the content bumps `version` and pushes the previous content
//! onto `versions` inside the record. A list inside the record (not a child table) because a
//! template changes a few times a year, is always read whole with its history (the editor shows
//! it), and the record and its history then commit in one change set through the generic
//! record actor without a second table to keep consistent.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::errors::ValidationError;
use crate::ids::{TemplateId, UserId};
use crate::messages::Channel;
use crate::patch::Patch;
use crate::records::Record;
use crate::values::{MAX_NAME_CHARS, required_text};

/// What a template is for (which variables it may use follows from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum TemplateCategory {
    AppointmentReminder,
    AppointmentConfirmation,
    FollowUp,
    VaccineDue,
    Birthday,
    Welcome,
    ReEngagement,
    WaitlistOffer,
    Campaign,
    Newsletter,
    Receipt,
    /// The yearly wellness-exam reminder (no wellness visit for about 11 months).
    WellnessReminder,
    /// The client's yearly anniversary with the clinic.
    Anniversary,
    /// An instalment of the client's payment plan was missed.
    PaymentPlanLate,
    /// A statement of account (its PDF attached).
    Statement,
    /// An estimate sent to the client (its PDF attached).
    Estimate,
    /// A treatment-plan step coming up (its reminder lead before the step's date).
    PlanStepReminder,
}

impl TemplateCategory {
    /// Every category, in declaration order (filters and pickers list them so).
    pub const ALL: [TemplateCategory; 17] = [
        TemplateCategory::AppointmentReminder,
        TemplateCategory::AppointmentConfirmation,
        TemplateCategory::FollowUp,
        TemplateCategory::VaccineDue,
        TemplateCategory::Birthday,
        TemplateCategory::Welcome,
        TemplateCategory::ReEngagement,
        TemplateCategory::WaitlistOffer,
        TemplateCategory::Campaign,
        TemplateCategory::Newsletter,
        TemplateCategory::Receipt,
        TemplateCategory::WellnessReminder,
        TemplateCategory::Anniversary,
        TemplateCategory::PaymentPlanLate,
        TemplateCategory::Statement,
        TemplateCategory::Estimate,
        TemplateCategory::PlanStepReminder,
    ];
}

/// Longest subject line, characters.
pub const MAX_SUBJECT_CHARS: usize = 200;
/// Longest body (text or HTML), characters.
pub const MAX_BODY_CHARS: usize = 50_000;
/// Default and largest `max_sms_segments`.
pub const DEFAULT_SMS_SEGMENTS: u8 = 3;
pub const MAX_SMS_SEGMENTS: u8 = 10;

/// The content of one version of a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TemplateContent {
    pub name: String,
    /// Email only.
    pub subject: Option<String>,
    /// The plain-text body (the SMS text, or the text part of an email).
    pub text_body: String,
    /// Email only, optional; rendered with HTML auto-escaping.
    pub html_body: Option<String>,
    /// SMS only: the largest number of segments the rendered sample may take.
    pub max_sms_segments: u8,
}

/// An earlier version, kept when the template changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TemplateVersion {
    pub version: u32,
    #[serde(flatten)]
    pub content: TemplateContent,
    /// When this version was saved.
    pub saved_at: Timestamp,
    pub saved_by: Option<UserId>,
}

/// How the SMS body, rendered with sample data, travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SmsSegments {
    /// `gsm7` or `ucs2`.
    pub encoding: SmsEncoding,
    /// Septets (GSM-7) or UTF-16 code units (UCS-2).
    pub units: u32,
    /// Messages it is split into.
    pub count: u32,
}

/// The alphabet of an SMS body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SmsEncoding {
    Gsm7,
    Ucs2,
}

/// A message template, as stored and returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Template {
    pub id: TemplateId,
    pub category: TemplateCategory,
    pub channel: Channel,
    #[serde(flatten)]
    pub content: TemplateContent,
    pub active: bool,
    /// 1 at creation, +1 on each change of the content (not of `active`).
    pub version: u32,
    /// Earlier versions, oldest first.
    pub versions: Vec<TemplateVersion>,
    /// SMS only: the segments of the body rendered with sample data.
    pub sms_segments: Option<SmsSegments>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: Option<UserId>,
    pub updated_by: Option<UserId>,
}

impl Record for Template {
    const KIND: &'static str = "template";
    const VERSION: u16 = 1;
}

/// Body of `POST /api/templates`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTemplate {
    pub category: TemplateCategory,
    pub channel: Channel,
    pub name: String,
    /// Required for email, refused for SMS.
    #[serde(default)]
    pub subject: Option<String>,
    pub text_body: String,
    /// Email only.
    #[serde(default)]
    pub html_body: Option<String>,
    /// SMS only, 1–10 (default 3).
    #[serde(default)]
    pub max_sms_segments: Option<u8>,
    /// Default true.
    #[serde(default)]
    pub active: Option<bool>,
}

/// A create body whose fields passed their own checks (the template checks come next).
#[derive(Debug, Clone)]
pub struct TemplateDraft {
    pub category: TemplateCategory,
    pub channel: Channel,
    pub content: TemplateContent,
    pub active: bool,
}

fn body(field: &str, v: &str) -> Result<String, ValidationError> {
    if v.trim().is_empty() {
        return Err(ValidationError::new(field, "is required"));
    }
    if v.chars().count() > MAX_BODY_CHARS {
        return Err(ValidationError::new(field, format!("must be at most {MAX_BODY_CHARS} characters")));
    }
    Ok(v.to_owned())
}

impl TemplateContent {
    /// Checks the fields against the channel: an email needs a subject; SMS has neither a
    /// subject nor HTML; the segment limit is 1–10.
    pub fn check(mut self, channel: Channel) -> Result<Self, ValidationError> {
        self.name = required_text("name", &self.name, MAX_NAME_CHARS)?;
        self.text_body = body("text_body", &self.text_body)?;
        match channel {
            Channel::Email => {
                let s = self.subject.as_deref().unwrap_or("");
                self.subject = Some(required_text("subject", s, MAX_SUBJECT_CHARS)?);
                if let Some(h) = &self.html_body {
                    self.html_body = Some(body("html_body", h)?);
                }
            }
            Channel::Sms => {
                if self.subject.is_some() {
                    return Err(ValidationError::new("subject", "a text message has no subject"));
                }
                if self.html_body.is_some() {
                    return Err(ValidationError::new("html_body", "a text message has no HTML body"));
                }
            }
        }
        if !(1..=MAX_SMS_SEGMENTS).contains(&self.max_sms_segments) {
            return Err(ValidationError::new("max_sms_segments", format!("must be between 1 and {MAX_SMS_SEGMENTS}")));
        }
        Ok(self)
    }
}

impl CreateTemplate {
    /// The draft, with the fields checked against the channel.
    pub fn validate(self) -> Result<TemplateDraft, ValidationError> {
        let content = TemplateContent {
            name: self.name,
            subject: self.subject,
            text_body: self.text_body,
            html_body: self.html_body,
            max_sms_segments: self.max_sms_segments.unwrap_or(DEFAULT_SMS_SEGMENTS),
        }
        .check(self.channel)?;
        Ok(TemplateDraft {
            category: self.category,
            channel: self.channel,
            content,
            active: self.active.unwrap_or(true),
        })
    }
}

/// Body of `PATCH /api/templates/{id}` (merge patch; category and channel are fixed).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTemplate {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub subject: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub text_body: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub html_body: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<u8>)]
    pub max_sms_segments: Patch<u8>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub active: Patch<bool>,
}

impl UpdateTemplate {
    /// The new content and `active`, with the names of the fields that changed.
    pub fn apply(&self, t: &Template) -> Result<(TemplateContent, bool, Vec<&'static str>), ValidationError> {
        let mut c = t.content.clone();
        let required = |f: &str| ValidationError::new(f, "is required and cannot be cleared");
        match &self.name {
            Patch::Keep => {}
            Patch::Clear => return Err(required("name")),
            Patch::Set(v) => c.name = v.clone(),
        }
        match &self.subject {
            Patch::Keep => {}
            Patch::Clear => c.subject = None,
            Patch::Set(v) => c.subject = Some(v.clone()),
        }
        match &self.text_body {
            Patch::Keep => {}
            Patch::Clear => return Err(required("text_body")),
            Patch::Set(v) => c.text_body = v.clone(),
        }
        match &self.html_body {
            Patch::Keep => {}
            Patch::Clear => c.html_body = None,
            Patch::Set(v) => c.html_body = Some(v.clone()),
        }
        match self.max_sms_segments {
            Patch::Keep => {}
            Patch::Clear => c.max_sms_segments = DEFAULT_SMS_SEGMENTS,
            Patch::Set(v) => c.max_sms_segments = v,
        }
        let active = match self.active {
            Patch::Keep => t.active,
            Patch::Clear => return Err(required("active")),
            Patch::Set(v) => v,
        };
        let c = c.check(t.channel)?;
        let old = &t.content;
        let mut changed = Vec::new();
        for (name, differs) in [
            ("name", c.name != old.name),
            ("subject", c.subject != old.subject),
            ("text_body", c.text_body != old.text_body),
            ("html_body", c.html_body != old.html_body),
            ("max_sms_segments", c.max_sms_segments != old.max_sms_segments),
            ("active", active != t.active),
        ] {
            if differs {
                changed.push(name);
            }
        }
        Ok((c, active, changed))
    }
}

/// Filters of `GET /api/templates`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TemplateListQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    pub category: Option<TemplateCategory>,
    pub channel: Option<Channel>,
    /// Absent: active and inactive.
    pub active: Option<bool>,
}

/// Body of `POST /api/templates/{id}/preview`: values that replace the sample ones, and
/// optionally unsaved content (the editor's live preview) rendered instead of the saved one
/// and checked as a save would check it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewTemplate {
    #[serde(default)]
    pub values: std::collections::BTreeMap<String, String>,
    /// Unsaved subject (email).
    #[serde(default)]
    pub subject: Option<String>,
    /// Unsaved text body.
    #[serde(default)]
    pub text_body: Option<String>,
    /// Unsaved HTML body (email; an empty one means none).
    #[serde(default)]
    pub html_body: Option<String>,
}

/// A rendered template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RenderedTemplate {
    pub subject: Option<String>,
    pub text: String,
    pub html: Option<String>,
    /// SMS only.
    pub segments: Option<SmsSegments>,
}
