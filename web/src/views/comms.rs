//! The Messages screens (`/messages...`) and the jobs admin page (`/jobs`): the message log
//! with its filters and pages, one message, the templates and their editor, the bulk sender,
//! the delivery dashboard; plus the client page's communication history rows. Every label
//! (a status's wording, a channel's name) is decided here; the editor's live preview and the
//! bulk sender's progress are `comms.js`, over the JSON API.

use askama::Template;
use clowder_schemas::batches::{CommsStats, StatusCounts};
use clowder_schemas::jobs::{Job, JobState};
use clowder_schemas::messages::{Channel, Message, MessageStatus};
use clowder_schemas::templates::{Template as MessageTemplate, TemplateCategory};
use jiff::tz::TimeZone;

use super::Nav;
use super::records::client_href;

/// The tabs of the Messages section: which the caller may open, and the current one.
#[derive(Debug, Clone)]
pub struct Tabs {
    pub current: &'static str,
    pub log: bool,
    pub templates: bool,
    pub dashboard: bool,
    pub bulk: bool,
    pub analytics: bool,
    pub segments: bool,
    pub campaigns: bool,
}

impl Tabs {
    /// The tabs `staff` may open, on the tab `current`.
    pub fn of(staff: &crate::extract::Staff, current: &'static str) -> Tabs {
        let holds = |path: &str| crate::access::granted_on(staff, &axum::http::Method::GET, path).is_some();
        Tabs {
            current,
            log: holds("/messages"),
            templates: holds("/messages/templates"),
            dashboard: holds("/messages/dashboard"),
            bulk: holds("/messages/bulk"),
            analytics: holds("/messages/analytics"),
            segments: holds("/messages/segments"),
            campaigns: holds("/messages/campaigns"),
        }
    }
}

/// A status badge: its value (for the class) and its words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Badge {
    pub value: &'static str,
    pub label: &'static str,
}

/// What staff call a message's status.
pub fn status_label(s: MessageStatus) -> &'static str {
    match s {
        MessageStatus::Queued => "Queued",
        MessageStatus::Sent => "Sent",
        MessageStatus::Delivered => "Delivered",
        MessageStatus::Failed => "Failed, retrying",
        MessageStatus::Dead => "Failed",
        MessageStatus::Bounced => "Bounced",
        MessageStatus::Suppressed => "Opted out",
    }
}

/// A message's status badge.
pub fn status_badge(s: MessageStatus) -> Badge {
    Badge { value: s.as_str(), label: status_label(s) }
}

/// "Email" or "Text".
pub fn channel_label(c: Channel) -> &'static str {
    match c {
        Channel::Email => "Email",
        Channel::Sms => "Text",
    }
}

/// A template category in words ("Appointment reminder").
pub fn category_label(c: TemplateCategory) -> String {
    category_words(c.into())
}

/// The address of a message's page.
pub fn message_href(id: &impl std::fmt::Display) -> String {
    format!("/messages/{id}")
}

/// One row of the log (and of a client's history).
#[derive(Debug, Clone)]
pub struct MessageRow {
    pub href: String,
    pub when: String,
    pub channel: &'static str,
    pub recipient: String,
    /// The subject, else the text's beginning.
    pub summary: String,
    pub status: Badge,
    pub error: Option<String>,
    pub client_href: Option<String>,
}

impl MessageRow {
    pub fn of(m: &Message, tz: &TimeZone) -> MessageRow {
        let summary = match &m.subject {
            Some(s) => s.clone(),
            None => {
                let mut t: String = m.text.chars().take(80).collect();
                if m.text.chars().count() > 80 {
                    t.push('…');
                }
                t
            }
        };
        MessageRow {
            href: message_href(&m.id),
            when: clowder_actors::comms::templates::format_time(m.created_at, tz),
            channel: channel_label(m.channel),
            recipient: m.recipient.clone(),
            summary,
            status: status_badge(m.status),
            error: m.last_error.clone(),
            client_href: m.client_id.map(|c| client_href(&c)),
        }
    }
}

/// The log's filter as the form shows it (and the address carries it).
#[derive(Debug, Clone, Default)]
pub struct LogForm {
    pub client: String,
    pub status: String,
    pub channel: String,
    pub template: String,
    pub from: String,
    pub to: String,
}

impl LogForm {
    /// This filter's address from `cursor` on.
    pub fn href(&self, cursor: Option<&str>) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("client", &self.client),
            ("status", &self.status),
            ("channel", &self.channel),
            ("template", &self.template),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if !v.trim().is_empty() {
                q.append_pair(k, v.trim());
            }
        }
        if let Some(c) = cursor {
            q.append_pair("cursor", c);
        }
        let q = q.finish();
        if q.is_empty() { "/messages".to_owned() } else { format!("/messages?{q}") }
    }
}

/// A choice of a select: value, label.
pub type Choice = (String, String);

/// The status choices of the log's filter.
pub fn status_choices() -> Vec<Choice> {
    MessageStatus::ALL.iter().map(|s| (s.as_str().to_owned(), status_label(*s).to_owned())).collect()
}

/// `/messages`: the message log.
#[derive(Template)]
#[template(path = "messages.html")]
pub struct MessagesPage {
    pub nav: Nav,
    pub tabs: Tabs,
    pub form: LogForm,
    pub statuses: Vec<Choice>,
    pub templates: Vec<Choice>,
    pub rows: Vec<MessageRow>,
    pub next_href: Option<String>,
    pub first_href: Option<String>,
}

/// `/messages/{id}`: one message as it was sent.
#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub nav: Nav,
    pub tabs: Tabs,
    pub row: MessageRow,
    pub facts: Vec<(&'static str, String)>,
    pub text: String,
    /// The HTML part's source, shown as text (never rendered in a staff page).
    pub html: Option<String>,
    /// The log filtered by the message's client.
    pub client_log_href: Option<String>,
}

impl MessagePage {
    pub fn new(nav: Nav, tabs: Tabs, m: &Message, template_name: Option<String>, tz: &TimeZone) -> MessagePage {
        let row = MessageRow::of(m, tz);
        let mut facts = vec![
            ("Status", row.status.label.to_owned()),
            ("Channel", row.channel.to_owned()),
            ("To", m.recipient.clone()),
            ("Queued", row.when.clone()),
        ];
        if let Some(s) = m.sent_at {
            facts.push(("Accepted by the provider", clowder_actors::comms::templates::format_time(s, tz)));
        }
        if let Some(p) = &m.provider {
            facts.push(("Provider", format!("{p} {}", m.provider_id.clone().unwrap_or_default()).trim().to_owned()));
        }
        if let Some(t) = template_name {
            facts.push(("Template", t));
        }
        facts
            .push(("Purpose", if m.purpose.as_str() == "marketing" { "Marketing" } else { "About their care" }.into()));
        facts.push(("Attempts", m.attempts.to_string()));
        if let Some(e) = &m.last_error {
            facts.push(("Last error", e.clone()));
        }
        let client_log_href = m.client_id.map(|c| LogForm { client: c.to_string(), ..LogForm::default() }.href(None));
        MessagePage { nav, tabs, row, facts, text: m.text.clone(), html: m.html.clone(), client_log_href }
    }
}

/// One template in the list.
#[derive(Debug, Clone)]
pub struct TemplateRow {
    pub href: String,
    pub name: String,
    pub channel: &'static str,
    pub category: String,
    pub active: bool,
    pub version: u32,
}

impl TemplateRow {
    pub fn of(t: &MessageTemplate) -> TemplateRow {
        TemplateRow {
            href: format!("/messages/templates/{}", t.id),
            name: t.content.name.clone(),
            channel: channel_label(t.channel),
            category: category_label(t.category),
            active: t.active,
            version: t.version,
        }
    }
}

/// `/messages/templates`.
#[derive(Template)]
#[template(path = "templates.html")]
pub struct TemplatesPage {
    pub nav: Nav,
    pub tabs: Tabs,
    pub rows: Vec<TemplateRow>,
    pub next_href: Option<String>,
    /// The category filter's choices (wire name, words) and the chosen one (empty: any).
    pub categories: Vec<(String, String)>,
    pub category: String,
    /// `email`, `sms` or empty.
    pub channel: String,
}

/// `/messages/templates/{id}`: the editor.
#[derive(Template)]
#[template(path = "template_editor.html")]
pub struct TemplateEditorPage {
    pub nav: Nav,
    pub tabs: Tabs,
    pub id: String,
    pub name: String,
    pub channel: &'static str,
    pub is_email: bool,
    pub category: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub active: bool,
    pub version: u32,
    /// Whether the caller may save (the PATCH would answer).
    pub can_save: bool,
    /// The variables this category may use.
    pub variables: Vec<&'static str>,
    /// Earlier versions: number and when saved.
    pub versions: Vec<(u32, String)>,
    /// "2 segments (GSM-7, 290 characters)" for a text message's saved sample.
    pub segments: Option<String>,
}

/// A segment count in words.
pub fn segments_label(s: &clowder_schemas::templates::SmsSegments) -> String {
    let (enc, unit) = match s.encoding {
        clowder_schemas::templates::SmsEncoding::Gsm7 => ("GSM-7", "characters"),
        clowder_schemas::templates::SmsEncoding::Ucs2 => ("Unicode", "UTF-16 units"),
    };
    let n = if s.count == 1 { "1 segment".to_owned() } else { format!("{} segments", s.count) };
    format!("{n} ({enc}, {} {unit})", s.units)
}

impl TemplateEditorPage {
    pub fn new(nav: Nav, tabs: Tabs, t: &MessageTemplate, can_save: bool, tz: &TimeZone) -> TemplateEditorPage {
        TemplateEditorPage {
            nav,
            tabs,
            id: t.id.to_string(),
            name: t.content.name.clone(),
            channel: channel_label(t.channel),
            is_email: t.channel == Channel::Email,
            category: category_label(t.category),
            subject: t.content.subject.clone().unwrap_or_default(),
            text_body: t.content.text_body.clone(),
            html_body: t.content.html_body.clone().unwrap_or_default(),
            active: t.active,
            version: t.version,
            can_save,
            variables: clowder_actors::comms::templates::variables(t.category),
            versions: t
                .versions
                .iter()
                .rev()
                .map(|v| (v.version, clowder_actors::comms::templates::format_time(v.saved_at, tz)))
                .collect(),
            segments: t.sms_segments.as_ref().map(segments_label),
        }
    }
}

/// `/messages/bulk`: the bulk sender.
#[derive(Template)]
#[template(path = "bulk_send.html")]
pub struct BulkPage {
    pub nav: Nav,
    pub tabs: Tabs,
    /// Active templates: id, "Name (Email)".
    pub templates: Vec<Choice>,
    /// Saved segments to send to (id, name), when the caller may list them.
    pub segments: Vec<Choice>,
    /// The batch whose progress to show at once (`?batch=`, where a send leaves the address).
    pub follow: Option<String>,
    /// The newest batches.
    pub recent: Vec<BatchRow>,
}

/// A batch in the bulk sender's list.
#[derive(Debug, Clone)]
pub struct BatchRow {
    pub href: String,
    pub when: String,
    pub template: String,
    pub total: u32,
    pub state: &'static str,
}

impl BatchRow {
    pub fn of(b: &clowder_schemas::batches::Batch, tz: &TimeZone) -> BatchRow {
        BatchRow {
            href: format!("/messages/bulk?batch={}", b.id),
            when: clowder_actors::comms::templates::format_time(b.created_at, tz),
            template: format!("{} ({})", b.template_name, channel_label(b.channel)),
            total: b.total,
            state: match b.state {
                clowder_schemas::batches::BatchState::Queueing => "Queueing",
                clowder_schemas::batches::BatchState::Queued => "All queued",
            },
        }
    }
}

/// One row of a dashboard table: a label and its counts in [`STAT_COLUMNS`] order.
#[derive(Debug, Clone)]
pub struct StatRow {
    pub label: String,
    pub counts: Vec<u32>,
    pub total: u32,
}

/// The dashboard's columns (the statuses that say how delivery went).
pub const STAT_COLUMNS: [&str; 7] = ["Sent", "Delivered", "Failed", "Bounced", "Opted out", "Queued", "Retrying"];

impl StatRow {
    pub fn of(label: impl Into<String>, c: &StatusCounts) -> StatRow {
        // Sent counts every message a provider accepted, delivered or not yet known.
        StatRow {
            label: label.into(),
            counts: vec![
                c.sent + c.delivered + c.bounced,
                c.delivered,
                c.dead,
                c.bounced,
                c.suppressed,
                c.queued,
                c.failed,
            ],
            total: c.total(),
        }
    }
}

/// `/messages/dashboard`: the delivery dashboard.
#[derive(Template)]
#[template(path = "comms_dashboard.html")]
pub struct DashboardPage {
    pub nav: Nav,
    pub tabs: Tabs,
    pub from: String,
    pub to: String,
    pub columns: &'static [&'static str],
    /// In all, by channel, by template, by category.
    pub sections: Vec<StatSection>,
}

/// One table of the dashboard.
#[derive(Debug, Clone)]
pub struct StatSection {
    pub id: &'static str,
    pub caption: &'static str,
    pub rows: Vec<StatRow>,
}

impl DashboardPage {
    pub fn new(nav: Nav, tabs: Tabs, s: &CommsStats) -> DashboardPage {
        let by_channel = s
            .by_channel
            .iter()
            .map(|(k, c)| StatRow::of(Channel::parse(k).map_or(k.clone(), |ch| channel_label(ch).to_owned()), c))
            .collect();
        let by_category = s
            .by_category
            .iter()
            .map(|(k, c)| {
                let label = if k == "none" { "Without a template".to_owned() } else { category_words(k) };
                StatRow::of(label, c)
            })
            .collect();
        let by_template = s
            .by_template
            .iter()
            .map(|t| {
                let name = t.name.clone().unwrap_or_else(|| "(deleted template)".into());
                StatRow::of(format!("{name} ({})", channel_label(t.channel)), &t.counts)
            })
            .collect();
        DashboardPage {
            nav,
            tabs,
            from: s.from.to_string(),
            to: s.to.to_string(),
            columns: &STAT_COLUMNS,
            sections: vec![
                StatSection { id: "stats-total", caption: "In all", rows: vec![StatRow::of("All messages", &s.total)] },
                StatSection { id: "stats-channel", caption: "By channel", rows: by_channel },
                StatSection { id: "stats-template", caption: "By template", rows: by_template },
                StatSection { id: "stats-category", caption: "By category", rows: by_category },
            ],
        }
    }
}

fn category_words(wire: &str) -> String {
    let mut w = wire.replace('_', " ");
    if let Some(first) = w.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    w
}

/// What staff call a job's state.
pub fn job_state_label(s: JobState) -> &'static str {
    match s {
        JobState::Queued => "Queued",
        JobState::Running => "Running",
        JobState::Succeeded => "Done",
        JobState::Failed => "Failed, retrying",
        JobState::Dead => "Dead",
        JobState::Cancelled => "Cancelled",
    }
}

/// The state choices of the jobs page; the first is the default.
pub const JOB_STATES: [(&str, &str); 7] = [
    ("", "All"),
    ("queued", "Queued"),
    ("running", "Running"),
    ("failed", "Failed, retrying"),
    ("dead", "Dead"),
    ("succeeded", "Done"),
    ("cancelled", "Cancelled"),
];

/// One job.
#[derive(Debug, Clone)]
pub struct JobRow {
    pub id: String,
    pub kind: String,
    pub subject: String,
    /// The page of the subject, when there is one (`message:<id>` → the message).
    pub subject_href: Option<String>,
    pub state: Badge,
    pub attempts: String,
    pub due: String,
    pub error: Option<String>,
    pub can_retry: bool,
    pub can_cancel: bool,
}

impl JobRow {
    pub fn of(j: &Job, tz: &TimeZone) -> JobRow {
        JobRow {
            id: j.id.to_string(),
            kind: j.kind.clone(),
            subject: j.subject.clone().unwrap_or_default(),
            subject_href: j.subject.as_deref().and_then(|s| s.strip_prefix("message:")).map(|id| message_href(&id)),
            state: Badge { value: j.state.as_str(), label: job_state_label(j.state) },
            attempts: format!("{} of {}", j.attempts, j.max_attempts),
            due: clowder_actors::comms::templates::format_time(j.due_at, tz),
            error: j.last_error.clone(),
            can_retry: j.state.retryable(),
            can_cancel: j.state.cancellable(),
        }
    }
}

/// `/jobs`: the jobs admin page.
#[derive(Template)]
#[template(path = "jobs.html")]
pub struct JobsPage {
    pub nav: Nav,
    pub state: String,
    pub states: &'static [(&'static str, &'static str)],
    pub rows: Vec<JobRow>,
    pub next_href: Option<String>,
    pub first_href: Option<String>,
}
