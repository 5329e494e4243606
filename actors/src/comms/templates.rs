//! Message templates as a record kind, and their rendering: the catalogue of variables each
//! category may use (declared once, below), the checks made when a template is **saved**
//! (syntax and unbalanced tags, unknown variables, `<script>` in HTML, SMS segments of the
//! body rendered with sample data), and rendering with sample or given values.
//!
//! The engine is minijinja with strict undefined (an unknown variable is an error, never an
//! empty string) and HTML auto-escaping for the HTML body only: the subject and the text body
//! are plain text, so escaping there would show `&amp;` to the client.

use std::collections::{BTreeMap, BTreeSet};

use clowder_schemas::TemplateId;
use clowder_schemas::ValidationError;
use clowder_schemas::audit::Caller;
use clowder_schemas::events::DomainEvent;
use clowder_schemas::messages::Channel;
use clowder_schemas::templates::{
    PreviewTemplate, RenderedTemplate, SmsEncoding, SmsSegments, Template, TemplateCategory, TemplateContent,
    TemplateDraft, TemplateVersion, UpdateTemplate,
};
use jiff::tz::TimeZone;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};

use crate::error::{Error, Result};
use crate::records::{Claim, DecideCtx, Decision, ReadAudit, RecordKind, Records};
use crate::store::RecordTable;
use crate::store::tables::unique;

use TemplateCategory::*;

/// One variable of the catalogue: its name, the sample value previews use, and the
/// categories that may use it (`None`: every category).
struct Var {
    name: &'static str,
    sample: &'static str,
    only: Option<&'static [TemplateCategory]>,
}

const APPOINTMENT: &[TemplateCategory] = &[AppointmentReminder, AppointmentConfirmation, WaitlistOffer];
const BOOKING: &[TemplateCategory] = &[
    FollowUp,
    VaccineDue,
    Birthday,
    ReEngagement,
    Campaign,
    Newsletter,
    WellnessReminder,
    Anniversary,
    PlanStepReminder,
];

/// The variables templates may use. `appointment_time` is the one computed value: its sample
/// is a fixed instant shown in the clinic's time zone ([`sample_values`]).
const CATALOGUE: &[Var] = &[
    Var { name: "client_name", sample: "Jane Doe", only: None },
    Var { name: "client_first_name", sample: "Jane", only: None },
    Var { name: "pet_names", sample: "Mochi and Biscuit", only: None },
    Var { name: "clinic_name", sample: "Whiskers Cat Clinic", only: None },
    Var { name: "clinic_phone", sample: "(508) 555-0100", only: None },
    Var { name: "appointment_time", sample: "", only: Some(APPOINTMENT) },
    Var { name: "appointment_type", sample: "Wellness exam", only: Some(APPOINTMENT) },
    Var {
        name: "confirm_link",
        // Samples as long as real links (46-character tokens), so the SMS segment check at
        // save time counts what clients will get.
        sample: "https://clinic.example/l/confirm/AQFwQ2xvd2Rlci1zYW1wbGUtbGluay10b2tlbi0xMjM0NTY",
        only: Some(&[AppointmentReminder, AppointmentConfirmation]),
    },
    Var {
        name: "cancel_link",
        sample: "https://clinic.example/l/cancel/AQFwQ2xvd2Rlci1zYW1wbGUtbGluay10b2tlbi0xMjM0NTY",
        only: Some(&[AppointmentReminder, AppointmentConfirmation]),
    },
    Var {
        name: "offer_link",
        sample: "https://clinic.example/l/offer/AQFwQ2xvd2Rlci1zYW1wbGUtbGluay10b2tlbi0xMjM0NTY",
        only: Some(&[WaitlistOffer]),
    },
    Var { name: "offer_expires", sample: "in 2 hours", only: Some(&[WaitlistOffer]) },
    Var { name: "booking_link", sample: "https://clinic.example/book", only: Some(BOOKING) },
    Var { name: "visit_date", sample: "March 2", only: Some(&[FollowUp]) },
    Var { name: "vaccine_name", sample: "FVRCP booster", only: Some(&[VaccineDue]) },
    Var { name: "due_date", sample: "April 1", only: Some(&[VaccineDue]) },
    Var { name: "pet_age", sample: "3", only: Some(&[Birthday]) },
    Var { name: "last_visit_date", sample: "last June", only: Some(&[ReEngagement]) },
    Var { name: "portal_link", sample: "https://clinic.example/portal", only: Some(&[Welcome]) },
    Var { name: "unsubscribe_link", sample: "https://clinic.example/u/Zr8", only: Some(&[Campaign, Newsletter]) },
    Var { name: "invoice_number", sample: "INV-2026-0042", only: Some(&[Receipt]) },
    Var { name: "amount", sample: "$84.50", only: Some(&[Receipt]) },
    Var { name: "receipt_link", sample: "https://clinic.example/r/9Lm", only: Some(&[Receipt]) },
    Var {
        name: "reschedule_link",
        sample: "https://clinic.example/l/reschedule/AQFwQ2xvd2Rlci1zYW1wbGUtbGluay10b2tlbi0xMjM0NTY",
        only: Some(&[AppointmentReminder, AppointmentConfirmation]),
    },
    Var { name: "discount_code", sample: "PURR10", only: Some(&[Birthday]) },
    Var { name: "welcome_day", sample: "0", only: Some(&[Welcome]) },
    Var { name: "years", sample: "3", only: Some(&[Anniversary]) },
    Var { name: "plan_invoice_number", sample: "INV-2026-0042", only: Some(&[PaymentPlanLate]) },
    Var { name: "instalment_amount", sample: "$42.50", only: Some(&[PaymentPlanLate]) },
    Var { name: "instalment_due_date", sample: "2026-04-01", only: Some(&[PaymentPlanLate]) },
    Var { name: "statement_from", sample: "2026-01-01", only: Some(&[Statement]) },
    Var { name: "statement_to", sample: "2026-03-31", only: Some(&[Statement]) },
    Var { name: "statement_balance", sample: "$120.00", only: Some(&[Statement]) },
    Var { name: "statement_overdue", sample: "$65.00", only: Some(&[Statement]) },
    Var { name: "estimate_number", sample: "EST-2026-000042", only: Some(&[Estimate]) },
    Var { name: "estimate_cat", sample: "Mochi", only: Some(&[Estimate]) },
    Var { name: "estimate_range", sample: "$180.00 – $260.00", only: Some(&[Estimate]) },
    Var { name: "estimate_valid_until", sample: "2026-04-30", only: Some(&[Estimate]) },
    Var { name: "step_title", sample: "Cleaning with radiographs under anaesthesia", only: Some(&[PlanStepReminder]) },
    Var { name: "step_date", sample: "April 8", only: Some(&[PlanStepReminder]) },
    Var { name: "plan_name", sample: "Dental cleaning", only: Some(&[PlanStepReminder]) },
];

/// Engine functions a template may call; they are not variables.
const FUNCTIONS: &[&str] = &["range", "dict", "namespace", "cycler", "joiner", "loop"];

/// The variables `category` may use, in catalogue order.
pub fn variables(category: TemplateCategory) -> Vec<&'static str> {
    CATALOGUE.iter().filter(|v| v.only.is_none_or(|c| c.contains(&category))).map(|v| v.name).collect()
}

/// Sample values of `category`'s variables (`appointment_time` shown in `tz`).
pub fn sample_values(category: TemplateCategory, tz: &TimeZone) -> BTreeMap<String, String> {
    CATALOGUE
        .iter()
        .filter(|v| v.only.is_none_or(|c| c.contains(&category)))
        .map(|v| {
            let value = if v.name == "appointment_time" {
                // A fixed instant: previews are the same every time.
                format_time(jiff::Timestamp::from_second(1_773_502_200).unwrap_or(jiff::Timestamp::UNIX_EPOCH), tz)
            } else {
                v.sample.to_owned()
            };
            (v.name.to_owned(), value)
        })
        .collect()
}

/// An instant as clients read it in the clinic's zone, e.g. `Sat Mar 14, 3:30 PM`.
pub fn format_time(at: jiff::Timestamp, tz: &TimeZone) -> String {
    at.to_zoned(tz.clone()).strftime("%a %b %-d, %-I:%M %p").to_string()
}

fn env(html: bool) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    let escape = if html { AutoEscape::Html } else { AutoEscape::None };
    env.set_auto_escape_callback(move |_| escape);
    env
}

fn engine_error(field: &str, e: &minijinja::Error) -> ValidationError {
    let mut msg = format!("{}", e.kind());
    if let Some(d) = e.detail() {
        msg = format!("{msg}: {d}");
    }
    if let Some(line) = e.line() {
        msg = format!("{msg} (line {line})");
    }
    ValidationError::new(field, msg)
}

/// Parses one field and checks its variables against the category's catalogue.
fn check_source(field: &str, source: &str, html: bool, allowed: &BTreeSet<&str>) -> Result<(), ValidationError> {
    let env = env(html);
    let t = env.template_from_str(source).map_err(|e| engine_error(field, &e))?;
    let mut unknown: Vec<String> = t
        .undeclared_variables(false)
        .into_iter()
        .filter(|v| !allowed.contains(v.as_str()) && !FUNCTIONS.contains(&v.as_str()))
        .collect();
    unknown.sort();
    if let Some(v) = unknown.first() {
        let list: Vec<&str> = allowed.iter().copied().collect();
        return Err(ValidationError::new(
            field,
            format!("unknown variable `{v}`; this category may use: {}", list.join(", ")),
        ));
    }
    Ok(())
}

fn render_source(
    field: &str,
    source: &str,
    html: bool,
    values: &BTreeMap<String, String>,
) -> Result<String, ValidationError> {
    let env = env(html);
    let t = env.template_from_str(source).map_err(|e| engine_error(field, &e))?;
    t.render(values).map_err(|e| engine_error(field, &e))
}

fn segments_of(text: &str) -> SmsSegments {
    let s = super::sms::segments(text);
    SmsSegments {
        encoding: match s.encoding {
            super::sms::Encoding::Gsm7 => SmsEncoding::Gsm7,
            super::sms::Encoding::Ucs2 => SmsEncoding::Ucs2,
        },
        units: u32::try_from(s.units).unwrap_or(u32::MAX),
        count: u32::try_from(s.count).unwrap_or(u32::MAX),
    }
}

/// Renders `content` with `values`: the subject and text as plain text, the HTML escaped.
pub fn render(
    channel: Channel,
    content: &TemplateContent,
    values: &BTreeMap<String, String>,
) -> Result<RenderedTemplate, ValidationError> {
    let subject = content.subject.as_deref().map(|s| render_source("subject", s, false, values)).transpose()?;
    let text = render_source("text_body", &content.text_body, false, values)?;
    let html = content.html_body.as_deref().map(|h| render_source("html_body", h, true, values)).transpose()?;
    let segments = (channel == Channel::Sms).then(|| segments_of(&text));
    Ok(RenderedTemplate { subject, text, html, segments })
}

/// The variables `content` uses (subject, text and HTML), engine functions left out; a field
/// that does not parse adds none (saving refused it already).
pub fn variables_used(content: &TemplateContent) -> BTreeSet<String> {
    let env = env(false);
    let sources = [content.subject.as_deref(), Some(content.text_body.as_str()), content.html_body.as_deref()];
    sources
        .into_iter()
        .flatten()
        .filter_map(|s| env.template_from_str(s).ok().map(|t| t.undeclared_variables(false)))
        .flatten()
        .filter(|v| !FUNCTIONS.contains(&v.as_str()))
        .collect()
}

/// The checks made when a template is saved; answers the SMS segments of the sample.
pub fn check_content(
    category: TemplateCategory,
    channel: Channel,
    content: &TemplateContent,
    tz: &TimeZone,
) -> Result<Option<SmsSegments>, ValidationError> {
    let allowed: BTreeSet<&str> = variables(category).into_iter().collect();
    if let Some(s) = &content.subject {
        check_source("subject", s, false, &allowed)?;
    }
    check_source("text_body", &content.text_body, false, &allowed)?;
    if let Some(h) = &content.html_body {
        if h.to_lowercase().contains("<script") {
            return Err(ValidationError::new("html_body", "must not contain <script>"));
        }
        check_source("html_body", h, true, &allowed)?;
    }
    // Rendering the sample catches what parsing cannot (a filter given the wrong input).
    let rendered = render(channel, content, &sample_values(category, tz))?;
    if let Some(seg) = rendered.segments
        && seg.count > u32::from(content.max_sms_segments)
    {
        return Err(ValidationError::new(
            "text_body",
            format!(
                "takes {} SMS segments with sample data, more than max_sms_segments ({})",
                seg.count, content.max_sms_segments
            ),
        ));
    }
    Ok(rendered.segments)
}

/// The templates service: [`Records`] plus `update` and `preview`.
pub type Templates = Records<TemplateKind>;

/// The template record kind.
pub struct TemplateKind;

/// A change to a template.
#[derive(Debug)]
pub enum TemplateCommand {
    Update(UpdateTemplate),
}

/// Which templates a list shows.
#[derive(Debug, Clone, Default)]
pub struct TemplateFilter {
    pub category: Option<TemplateCategory>,
    pub channel: Option<Channel>,
    pub active: Option<bool>,
}

impl RecordKind for TemplateKind {
    type Record = Template;
    type Id = TemplateId;
    type Draft = TemplateDraft;
    type Command = TemplateCommand;
    type Filter = TemplateFilter;

    const KIND: &'static str = "template";
    const TABLE: RecordTable = RecordTable::Templates;
    const READ_ACTION: &'static str = "template.read";
    const LIST_ACTION: &'static str = "template.list";
    const READS: ReadAudit =
        ReadAudit::NotAudited { why: "a template is the clinic's wording, with no client's or cat's data in it" };

    fn id(t: &Template) -> TemplateId {
        t.id
    }

    fn not_found(id: TemplateId) -> Error {
        Error::TemplateNotFound(id)
    }

    fn claims(t: &Template) -> impl Iterator<Item = Claim<'_>> {
        let ns = match t.channel {
            Channel::Email => unique::TEMPLATE_NAME_EMAIL,
            Channel::Sms => unique::TEMPLATE_NAME_SMS,
        };
        std::iter::once(Claim { ns, value: t.content.name.as_str(), field: "name" })
    }

    fn matches(f: &TemplateFilter, t: &Template) -> bool {
        f.category.is_none_or(|c| c == t.category)
            && f.channel.is_none_or(|c| c == t.channel)
            && f.active.is_none_or(|a| a == t.active)
    }

    fn decide_create(ctx: &DecideCtx<'_>, id: TemplateId, draft: TemplateDraft) -> Result<Decision<Template>> {
        let sms_segments = check_content(draft.category, draft.channel, &draft.content, &ctx.settings.time_zone)?;
        let by = ctx.caller.user_id();
        let t = Template {
            id,
            category: draft.category,
            channel: draft.channel,
            content: draft.content,
            active: draft.active,
            version: 1,
            versions: Vec::new(),
            sms_segments,
            created_at: ctx.now,
            updated_at: ctx.now,
            created_by: by,
            updated_by: by,
        };
        Ok(Decision {
            event: DomainEvent::TemplateCreated { template_id: id, name: t.content.name.clone() },
            record: t,
            changed: Vec::new(),
            action: "template.create",
        })
    }

    fn decide(ctx: &DecideCtx<'_>, current: &Template, command: TemplateCommand) -> Result<Option<Decision<Template>>> {
        let TemplateCommand::Update(patch) = command;
        decide_update(ctx, current, &patch)
    }
}

/// Applies a patch: a change of content is checked like a new template and makes a new
/// version (the previous content is kept in `versions`); `active` alone keeps the version.
pub fn decide_update(
    ctx: &DecideCtx<'_>,
    current: &Template,
    patch: &UpdateTemplate,
) -> Result<Option<Decision<Template>>> {
    let (content, active, changed) = patch.apply(current)?;
    if changed.is_empty() {
        return Ok(None);
    }
    let mut new = current.clone();
    if content != current.content {
        new.sms_segments = check_content(current.category, current.channel, &content, &ctx.settings.time_zone)?;
        new.versions.push(TemplateVersion {
            version: current.version,
            content: current.content.clone(),
            saved_at: current.updated_at,
            saved_by: current.updated_by,
        });
        new.version += 1;
        new.content = content;
    }
    new.active = active;
    new.updated_at = ctx.now;
    new.updated_by = ctx.caller.user_id();
    let event = DomainEvent::TemplateUpdated {
        template_id: new.id,
        version: new.version,
        changed: changed.iter().map(|s| s.to_string()).collect(),
    };
    Ok(Some(Decision { record: new, changed, event, action: "template.update" }))
}

impl Templates {
    /// Applies a merge patch to a template.
    pub async fn update(&self, id: TemplateId, patch: UpdateTemplate, caller: &Caller) -> Result<Template> {
        self.command(id, TemplateCommand::Update(patch), caller).await
    }

    /// Renders a template with sample data, `values` replacing sample values (a name outside
    /// the category's catalogue is refused, naming `values.<name>`). Unsaved content in
    /// `body` is rendered instead of the saved content, after the checks of a save.
    pub async fn preview(
        &self,
        id: TemplateId,
        body: PreviewTemplate,
        tz: &TimeZone,
        caller: &Caller,
    ) -> Result<RenderedTemplate> {
        let mut t = self.get(id, caller).await?;
        if body.subject.is_some() || body.text_body.is_some() || body.html_body.is_some() {
            let mut c = t.content.clone();
            c.subject = body.subject.or(c.subject);
            c.text_body = body.text_body.unwrap_or(c.text_body);
            if let Some(h) = body.html_body {
                c.html_body = (!h.trim().is_empty()).then_some(h);
            }
            let c = c.check(t.channel)?;
            check_content(t.category, t.channel, &c, tz)?;
            t.content = c;
        }
        let mut all = sample_values(t.category, tz);
        for (k, v) in body.values {
            if !all.contains_key(&k) {
                return Err(ValidationError::new(format!("values.{k}"), "is not a variable of this category").into());
            }
            all.insert(k, v);
        }
        Ok(render(t.channel, &t.content, &all)?)
    }
}

#[cfg(test)]
mod tests {
    use clowder_schemas::templates::CreateTemplate;

    use super::*;
    use crate::ctx::SystemConfig;

    fn content(text: &str, html: Option<&str>) -> TemplateContent {
        TemplateContent {
            name: "t".into(),
            subject: Some("Hello {{ client_first_name }}".into()),
            text_body: text.into(),
            html_body: html.map(str::to_owned),
            max_sms_segments: 3,
        }
    }

    fn check(text: &str, html: Option<&str>) -> std::result::Result<Option<SmsSegments>, ValidationError> {
        check_content(AppointmentReminder, Channel::Email, &content(text, html), &TimeZone::UTC)
    }

    #[test]
    fn an_unknown_variable_is_refused_naming_the_field() {
        let e = check("Hi {{ client_nam }}", None).unwrap_err();
        assert_eq!(e.field, "text_body");
        assert!(e.message.contains("`client_nam`"), "{}", e.message);
        // A variable of another category is unknown here too.
        let e = check("ok", Some("<p>{{ invoice_number }}</p>")).unwrap_err();
        assert_eq!(e.field, "html_body");
        assert!(check("Hi {{ client_name }} at {{ appointment_time }}", None).is_ok());
    }

    #[test]
    fn unbalanced_tags_and_syntax_errors_are_refused() {
        for bad in ["{% if pet_names %}yes", "{{ client_name ", "{% endif %}", "{{ client_name | }}"] {
            let e = check(bad, None).unwrap_err();
            assert_eq!(e.field, "text_body", "{bad}");
            assert!(e.message.contains("syntax error"), "{bad}: {}", e.message);
        }
    }

    #[test]
    fn script_in_html_is_refused() {
        let e = check("ok", Some("<p>Hi</p><SCRIPT>alert(1)</script>")).unwrap_err();
        assert_eq!((e.field.as_str(), e.message.as_str()), ("html_body", "must not contain <script>"));
    }

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let c = content("Hi {{ client_name }}", Some("<p>Hi {{ client_name }}</p>"));
        let mut values = sample_values(AppointmentReminder, &TimeZone::UTC);
        values.insert("client_name".into(), "<b>Tom & Jerry</b>".into());
        let r = render(Channel::Email, &c, &values).unwrap();
        assert_eq!(r.text, "Hi <b>Tom & Jerry</b>");
        assert_eq!(r.html.as_deref(), Some("<p>Hi &lt;b&gt;Tom &amp; Jerry&lt;&#x2f;b&gt;</p>"));
        assert_eq!(r.subject.as_deref(), Some("Hello Jane"));
    }

    #[test]
    fn the_appointment_time_is_shown_in_the_clinic_zone() {
        let ny = TimeZone::get("America/New_York").unwrap();
        let v = sample_values(AppointmentReminder, &ny);
        assert_eq!(v["appointment_time"], "Sat Mar 14, 11:30 AM");
        assert!(!sample_values(Receipt, &ny).contains_key("appointment_time"));
    }

    #[test]
    fn an_sms_over_its_segments_is_refused_and_the_count_answered() {
        let mut c = content("{{ clinic_name }}: see you {{ appointment_time }}", None);
        c.subject = None;
        let seg = check_content(AppointmentReminder, Channel::Sms, &c, &TimeZone::UTC).unwrap().unwrap();
        assert_eq!((seg.encoding, seg.count), (SmsEncoding::Gsm7, 1));
        c.text_body = format!("{{{{ clinic_name }}}} {}", "a".repeat(320));
        c.max_sms_segments = 2;
        let e = check_content(AppointmentReminder, Channel::Sms, &c, &TimeZone::UTC).unwrap_err();
        assert_eq!(e.field, "text_body");
        assert!(e.message.contains("3 SMS segments"), "{}", e.message);
    }

    #[test]
    fn a_content_change_makes_a_version_and_keeps_the_old_one() {
        let settings = SystemConfig::new("unused");
        let caller = Caller::default();
        let ctx = DecideCtx::new(jiff::Timestamp::UNIX_EPOCH, &settings, &caller, None);
        let body: CreateTemplate = serde_json::from_value(serde_json::json!({
            "category": "welcome", "channel": "sms", "name": "Welcome", "text_body": "Welcome to {{ clinic_name }}!"
        }))
        .unwrap();
        let t = TemplateKind::decide_create(&ctx, TemplateId::from_u128(1), body.validate().unwrap()).unwrap().record;
        assert_eq!((t.version, t.versions.len()), (1, 0));
        let patch: UpdateTemplate =
            serde_json::from_value(serde_json::json!({ "text_body": "Hi from {{ clinic_name }}" })).unwrap();
        let d = decide_update(&ctx, &t, &patch).unwrap().unwrap();
        assert_eq!((d.record.version, d.changed.clone()), (2, vec!["text_body"]));
        assert_eq!(d.record.versions[0].content.text_body, "Welcome to {{ clinic_name }}!");
        // `active` alone is not a new version; an unchanged patch writes nothing.
        let off: UpdateTemplate = serde_json::from_value(serde_json::json!({ "active": false })).unwrap();
        let d2 = decide_update(&ctx, &d.record, &off).unwrap().unwrap();
        assert_eq!((d2.record.version, d2.record.active), (2, false));
        assert!(decide_update(&ctx, &d2.record, &off).unwrap().is_none());
    }
}
