//! The marketing screens of the Messages section: saved segments (`/messages/segments`, with
//! each one's size, and one segment's rules and first clients), campaigns
//! (`/messages/campaigns`, and one campaign's progress, results and the moves its state
//! allows), reminder analytics (`/messages/analytics`: rates per category, per template and
//! between A/B variants, and the no-show comparison), and the referral panel of a client's
//! page. Every label and which button shows are decided here; `comms.js` only posts what a
//! button names.

use askama::Template;
use clowder_schemas::analytics::{AnalyticsReport, Figures, NoShowGroup, VariantFigures};
use clowder_schemas::campaigns::{CampaignState, CampaignView, LifeStage, Segment, SegmentFilter, SegmentPreview};
use clowder_schemas::templates::TemplateCategory;
use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::Nav;
use super::comms::{Tabs, category_label, channel_label};
use super::records::client_href;

fn when(t: Timestamp, tz: &TimeZone) -> String {
    clowder_actors::comms::templates::format_time(t, tz)
}

/// The page links of a list: the first page (when not on it) and the next one.
#[derive(Debug, Clone, Default)]
pub struct Pager {
    pub first_href: Option<String>,
    pub next_href: Option<String>,
}

impl Pager {
    /// The links of the list at `path`, seen from `cursor`, going on at `next`.
    pub fn new(path: &str, cursor: Option<&str>, next: Option<&str>) -> Pager {
        let at = |c: &str| {
            let q = form_urlencoded::Serializer::new(String::new()).append_pair("cursor", c).finish();
            format!("{path}?{q}")
        };
        Pager { first_href: cursor.map(|_| path.to_owned()), next_href: next.map(at) }
    }
}

fn life_stage_words(s: LifeStage) -> &'static str {
    match s {
        LifeStage::Kitten => "kitten (under 1 year)",
        LifeStage::YoungAdult => "young adult (1–6 years)",
        LifeStage::Mature => "mature (7–10 years)",
        LifeStage::Senior => "senior (11–14 years)",
        LifeStage::Geriatric => "geriatric (15 years and over)",
    }
}

fn visits(n: u32) -> String {
    if n == 1 { "1 visit".to_owned() } else { format!("{n} visits") }
}

/// A segment's rules in words, one line each; `types` and `locations` are the names of the
/// filter's appointment types and locations, in its order.
pub fn segment_rules(f: &SegmentFilter, types: &[String], locations: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(d) = f.last_visit_older_than_days {
        out.push(format!("Last visit more than {d} days ago (never seen: not included)"));
    }
    if let Some(d) = f.last_visit_within_days {
        out.push(format!("Last visit within the last {d} days"));
    }
    match (f.min_visits_12m, f.max_visits_12m) {
        (Some(a), Some(b)) if a == b => out.push(format!("Exactly {} in the last 12 months", visits(a))),
        (Some(a), Some(b)) => out.push(format!("{a} to {} in the last 12 months", visits(b))),
        (Some(a), None) => out.push(format!("At least {} in the last 12 months", visits(a))),
        (None, Some(0)) => out.push("No visit in the last 12 months".to_owned()),
        (None, Some(b)) => out.push(format!("At most {} in the last 12 months", visits(b))),
        (None, None) => {}
    }
    if !types.is_empty() {
        out.push(format!("Had a visit of type: {}", types.join(", ")));
    }
    if !locations.is_empty() {
        out.push(format!("Had a visit at: {}", locations.join(", ")));
    }
    let stages: Vec<&str> = f.life_stages.iter().map(|s| life_stage_words(*s)).collect();
    match (stages.is_empty(), f.breeds.is_empty()) {
        (false, false) => {
            out.push(format!("Has a cat that is {} and a {}", stages.join(" or "), f.breeds.join(" or ")))
        }
        (false, true) => out.push(format!("Has a cat that is {}", stages.join(" or "))),
        (true, false) => out.push(format!("Has a cat of breed {}", f.breeds.join(" or "))),
        (true, true) => {}
    }
    out.push(if f.active_only { "Active clients only" } else { "Active and deactivated clients" }.to_owned());
    out
}

/// One segment in the list.
#[derive(Debug, Clone)]
pub struct SegmentRow {
    pub href: String,
    pub name: String,
    /// "12 clients".
    pub size: String,
    pub created: String,
}

fn clients_words(n: u32) -> String {
    if n == 1 { "1 client".to_owned() } else { format!("{n} clients") }
}

impl SegmentRow {
    pub fn of(s: &Segment, size: u32, tz: &TimeZone) -> SegmentRow {
        SegmentRow {
            href: format!("/messages/segments/{}", s.id),
            name: s.name.clone(),
            size: clients_words(size),
            created: when(s.created_at, tz),
        }
    }
}

/// `/messages/segments`.
#[derive(Template)]
#[template(path = "segments.html")]
pub struct SegmentsPage {
    pub nav: Nav,
    pub tabs: Tabs,
    pub rows: Vec<SegmentRow>,
    pub pager: Pager,
}

/// `/messages/segments/{id}`: a segment's rules and who it holds now.
#[derive(Template)]
#[template(path = "segment.html")]
pub struct SegmentPage {
    pub nav: Nav,
    pub tabs: Tabs,
    pub name: String,
    pub created: String,
    pub rules: Vec<String>,
    /// "12 clients".
    pub size: String,
    /// The first clients by name: link, "Last, First".
    pub clients: Vec<(String, String)>,
    /// How many of the size are not shown.
    pub more: u32,
}

impl SegmentPage {
    pub fn new(nav: Nav, tabs: Tabs, s: &Segment, rules: Vec<String>, p: &SegmentPreview, tz: &TimeZone) -> Self {
        let shown = u32::try_from(p.clients.len()).unwrap_or(u32::MAX);
        SegmentPage {
            nav,
            tabs,
            name: s.name.clone(),
            created: when(s.created_at, tz),
            rules,
            size: clients_words(p.count),
            clients: p.clients.iter().map(|c| (client_href(&c.id), c.name.clone())).collect(),
            more: p.count.saturating_sub(shown),
        }
    }
}

/// What staff call a campaign's state.
pub fn campaign_state_label(s: CampaignState) -> &'static str {
    match s {
        CampaignState::Draft => "Draft",
        CampaignState::Scheduled => "Scheduled",
        CampaignState::Sending => "Sending",
        CampaignState::Sent => "Sent",
        CampaignState::Cancelled => "Cancelled",
    }
}

/// A campaign's state badge: its wire name (for the class) and its words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateBadge {
    pub value: &'static str,
    pub label: &'static str,
}

impl StateBadge {
    pub fn of(s: CampaignState) -> StateBadge {
        StateBadge { value: s.as_str(), label: campaign_state_label(s) }
    }
}

/// One campaign in the list.
#[derive(Debug, Clone)]
pub struct CampaignRow {
    pub href: String,
    pub name: String,
    pub channel: &'static str,
    pub state: StateBadge,
    /// When it is (or was) due, or "Not scheduled".
    pub schedule: String,
    pub audience: u32,
    /// Accepted by a provider (sent, delivered).
    pub sent: u32,
    pub opted_out: u32,
    /// Failed for good, bounced.
    pub failed: u32,
}

fn schedule_words(c: &CampaignView, tz: &TimeZone) -> String {
    c.scheduled_at.map_or_else(|| "Not scheduled".to_owned(), |t| when(t, tz))
}

impl CampaignRow {
    pub fn of(c: &CampaignView, tz: &TimeZone) -> CampaignRow {
        let r = &c.results;
        CampaignRow {
            href: format!("/messages/campaigns/{}", c.id),
            name: c.name.clone(),
            channel: channel_label(c.channel),
            state: StateBadge::of(c.state),
            schedule: schedule_words(c, tz),
            audience: r.audience,
            sent: r.sent + r.delivered,
            opted_out: r.suppressed,
            failed: r.failed + r.bounced,
        }
    }
}

/// `/messages/campaigns`.
#[derive(Template)]
#[template(path = "campaigns.html")]
pub struct CampaignsPage {
    pub nav: Nav,
    pub tabs: Tabs,
    pub rows: Vec<CampaignRow>,
    pub pager: Pager,
}

/// What a campaign's page offers, decided from its state (the same rules as the service's)
/// and the caller's grants on the routes behind the buttons.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CampaignActions {
    pub schedule: bool,
    pub send_now: bool,
    pub cancel: bool,
}

impl CampaignActions {
    /// `may(path)`: whether the caller's POST to that route would pass the access check.
    pub fn of(s: CampaignState, may: impl Fn(&str) -> bool) -> CampaignActions {
        CampaignActions {
            schedule: s.can_schedule() && may("/api/campaigns/{id}/schedule"),
            send_now: s.can_send_now() && may("/api/campaigns/{id}/send-now"),
            cancel: s.can_cancel() && may("/api/campaigns/{id}/cancel"),
        }
    }

    /// Whether any button shows.
    pub fn any(&self) -> bool {
        self.schedule || self.send_now || self.cancel
    }
}

/// `/messages/campaigns/{id}`: progress, results and the moves the state allows.
#[derive(Template)]
#[template(path = "campaign.html")]
pub struct CampaignPage {
    pub nav: Nav,
    pub tabs: Tabs,
    pub id: String,
    pub name: String,
    pub state: StateBadge,
    pub facts: Vec<(&'static str, String)>,
    /// Segment page link and name.
    pub segment: (String, String),
    /// Clients looked at so far (skipped or with a settled message) of the audience.
    pub done: u32,
    pub audience: u32,
    /// Result rows: label, count.
    pub results: Vec<(&'static str, u32)>,
    pub actions: CampaignActions,
    /// "Schedule" for a draft, "Reschedule" for a scheduled campaign.
    pub schedule_label: &'static str,
    /// The schedule field's value (`YYYY-MM-DDTHH:MM`, in the clinic's zone).
    pub schedule_value: String,
    /// The clinic's zone, named by the schedule field.
    pub zone: String,
}

impl CampaignPage {
    pub fn new(
        nav: Nav,
        tabs: Tabs,
        c: &CampaignView,
        template: String,
        segment: String,
        actions: CampaignActions,
        tz: &TimeZone,
    ) -> CampaignPage {
        let r = &c.results;
        let facts = vec![
            ("State", campaign_state_label(c.state).to_owned()),
            ("Channel", channel_label(c.channel).to_owned()),
            ("Template", template),
            ("Scheduled for", schedule_words(c, tz)),
            ("Created", when(c.created_at, tz)),
            ("Last change", when(c.updated_at, tz)),
        ];
        let results = vec![
            ("Clients in the audience", r.audience),
            ("Sent", r.sent),
            ("Delivered", r.delivered),
            ("Waiting to be sent", r.queued),
            ("Opted out", r.suppressed),
            ("Bounced", r.bounced),
            ("Failed", r.failed),
            ("Skipped (no address, deactivated)", r.skipped),
        ];
        let schedule_value =
            c.scheduled_at.map(|t| t.to_zoned(tz.clone()).strftime("%Y-%m-%dT%H:%M").to_string()).unwrap_or_default();
        CampaignPage {
            nav,
            tabs,
            id: c.id.to_string(),
            name: c.name.clone(),
            state: StateBadge::of(c.state),
            facts,
            segment: (format!("/messages/segments/{}", c.segment_id), segment),
            // Clients still pending (not yet queued) are in neither figure, so "done" is
            // what was settled, not the audience less what waits.
            done: (r.skipped + r.sent + r.delivered + r.suppressed + r.bounced + r.failed).min(r.audience),
            audience: r.audience,
            results,
            actions,
            schedule_label: if c.state == CampaignState::Scheduled { "Reschedule" } else { "Schedule" },
            schedule_value,
            zone: tz.iana_name().unwrap_or("UTC").to_owned(),
        }
    }
}

/// A rate as a percentage ("12.5 %"), or a dash over nothing.
pub fn percent(r: Option<f64>) -> String {
    match r {
        None => "—".to_owned(),
        Some(v) => {
            let p = (v * 1000.0).round() / 10.0;
            format!("{p} %")
        }
    }
}

/// One row of an analytics table.
#[derive(Debug, Clone)]
pub struct RateRow {
    pub label: String,
    pub sent: u32,
    pub delivered: String,
    pub opened: String,
    pub clicked: String,
    pub booked: String,
}

impl RateRow {
    pub fn of(label: impl Into<String>, f: &Figures) -> RateRow {
        RateRow {
            label: label.into(),
            sent: f.sent,
            delivered: percent(f.delivery_rate),
            opened: percent(f.open_rate),
            clicked: percent(f.click_rate),
            booked: percent(f.conversion_rate),
        }
    }
}

/// One table of rates.
#[derive(Debug, Clone)]
pub struct RateSection {
    pub id: &'static str,
    pub caption: &'static str,
    pub rows: Vec<RateRow>,
}

/// A table of A/B variants: the category and channel, and one row per template.
#[derive(Debug, Clone)]
pub struct VariantGroup {
    pub caption: String,
    pub rows: Vec<RateRow>,
}

/// One no-show group's row.
#[derive(Debug, Clone)]
pub struct NoShowRow {
    pub label: &'static str,
    pub completed: u32,
    pub no_show: u32,
    pub cancelled: u32,
    pub rate: String,
}

impl NoShowRow {
    fn of(label: &'static str, g: &NoShowGroup) -> NoShowRow {
        NoShowRow {
            label,
            completed: g.completed,
            no_show: g.no_show,
            cancelled: g.cancelled,
            rate: percent(g.no_show_rate),
        }
    }
}

fn add(into: &mut Figures, f: &Figures) {
    into.messages += f.messages;
    into.sent += f.sent;
    into.delivered += f.delivered;
    into.tracked += f.tracked;
    into.opened += f.opened;
    into.clicked += f.clicked;
    into.converted += f.converted;
}

fn variant_label(v: &VariantFigures) -> String {
    let name = v.template_name.clone().unwrap_or_else(|| match v.template_id {
        Some(_) => "(deleted template)".to_owned(),
        None => "Without a template".to_owned(),
    });
    format!("{name} ({})", channel_label(v.channel))
}

/// `/messages/analytics`: delivery, open, click and booking rates over a date range.
#[derive(Template)]
#[template(path = "analytics.html")]
pub struct AnalyticsPage {
    pub nav: Nav,
    pub tabs: Tabs,
    pub from: String,
    pub to: String,
    /// Why the range was refused (the page answers 422 with the form to correct it).
    pub error: Option<String>,
    pub convert_days: u16,
    /// In all, by category, by template.
    pub sections: Vec<RateSection>,
    /// Categories with more than one template on a channel: their variants side by side.
    pub variants: Vec<VariantGroup>,
    pub no_shows: Vec<NoShowRow>,
}

impl AnalyticsPage {
    /// The page of a report.
    pub fn new(nav: Nav, tabs: Tabs, r: &AnalyticsReport) -> AnalyticsPage {
        let mut categories: Vec<(Option<TemplateCategory>, Figures)> = Vec::new();
        for v in &r.variants {
            match categories.iter_mut().find(|(c, _)| *c == v.category) {
                Some((_, f)) => add(f, &v.figures),
                None => {
                    let mut f = Figures::default();
                    add(&mut f, &v.figures);
                    categories.push((v.category, f));
                }
            }
        }
        let by_category: Vec<RateRow> = categories
            .into_iter()
            .map(|(c, f)| {
                let label = c.map_or_else(|| "Without a template".to_owned(), category_label);
                RateRow::of(label, &f.with_rates())
            })
            .collect();
        let mut variants: Vec<VariantGroup> = Vec::new();
        let mut keys: Vec<(TemplateCategory, clowder_schemas::messages::Channel)> = Vec::new();
        for v in &r.variants {
            if let Some(c) = v.category
                && !keys.contains(&(c, v.channel))
            {
                keys.push((c, v.channel));
            }
        }
        for (c, ch) in keys {
            let rows: Vec<RateRow> = r
                .variants
                .iter()
                .filter(|v| v.category == Some(c) && v.channel == ch && v.template_id.is_some())
                .map(|v| RateRow::of(variant_label(v), &v.figures))
                .collect();
            if rows.len() > 1 {
                variants.push(VariantGroup { caption: format!("{} ({})", category_label(c), channel_label(ch)), rows });
            }
        }
        AnalyticsPage {
            nav,
            tabs,
            from: r.from.to_string(),
            to: r.to.to_string(),
            error: None,
            convert_days: r.convert_days,
            sections: vec![
                RateSection {
                    id: "rates-total",
                    caption: "In all",
                    rows: vec![RateRow::of("All messages", &r.totals)],
                },
                RateSection { id: "rates-category", caption: "By category", rows: by_category },
                RateSection {
                    id: "rates-template",
                    caption: "By template",
                    rows: r.variants.iter().map(|v| RateRow::of(variant_label(v), &v.figures)).collect(),
                },
            ],
            variants,
            no_shows: vec![
                NoShowRow::of("Reminded", &r.no_shows.reminded),
                NoShowRow::of("Not reminded", &r.no_shows.not_reminded),
            ],
        }
    }

    /// The page of a refused range: the form as typed, and why.
    pub fn refused(nav: Nav, tabs: Tabs, from: String, to: String, why: String) -> AnalyticsPage {
        AnalyticsPage {
            nav,
            tabs,
            from,
            to,
            error: Some(why),
            convert_days: clowder_schemas::analytics::DEFAULT_CONVERT_DAYS,
            sections: Vec::new(),
            variants: Vec::new(),
            no_shows: Vec::new(),
        }
    }
}

/// A client's referral panel: their code, the credits owed, who they referred.
#[derive(Debug, Clone)]
pub struct ReferralPanel {
    /// `XXXX-XXXX`.
    pub code: String,
    pub owed: u32,
    /// One per referral: the referred client's link (when the caller may open it), their
    /// name (or "A client"), the credit and its state in words, the day.
    pub referred: Vec<ReferredRow>,
}

/// One referral on the panel.
#[derive(Debug, Clone)]
pub struct ReferredRow {
    pub href: Option<String>,
    pub name: String,
    pub credit: String,
    pub status: &'static str,
    pub when: String,
}

impl ReferredRow {
    /// `name`: the referred client's name when the caller may see it.
    pub fn of(x: &clowder_schemas::campaigns::Referral, name: Option<String>, tz: &TimeZone) -> ReferredRow {
        ReferredRow {
            href: name.as_ref().map(|_| client_href(&x.referred_id)),
            name: name.unwrap_or_else(|| "A client".to_owned()),
            credit: x.credit.clone(),
            status: match x.status {
                clowder_schemas::campaigns::ReferralStatus::Owed => "Owed",
                clowder_schemas::campaigns::ReferralStatus::Redeemed => "Given",
            },
            when: when(x.created_at, tz),
        }
    }
}
