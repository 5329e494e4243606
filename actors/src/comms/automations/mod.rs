//! Automations: rules that message clients on their own. This module owns the mechanism
//! every rule shares; each rule is a module of its own (`reminders`, `follow_up`, `wellness`,
//! `birthday`, `anniversary`, `welcome`, `re_engagement`, `waitlist`, `vaccine_due`, `plan_step`), so a
//! new rule is one module and one line in [`rules`].
//!
//! A rule has a kind name, parameters with defaults (staff change them; the changed values are
//! an [`AutomationRule`] row, table `automations`), and a way to find what is due:
//! - **event** rules get a job in the change set of their cause (a booking schedules its
//!   reminders, a completed visit its follow-up; see [`SchedulingHooks`]), and the job works
//!   out the message when it runs, re-reading the records (a cancelled visit sends nothing);
//! - **sweep** rules are asked once a day, by the recurring `automation_sweep` job in the
//!   clinic's zone (`CLOWDER_AUTOMATIONS_SWEEP_AT`, 10:00 by default, or off), what is due on
//!   that local date.
//!
//! Either way a rule answers [`Due`]s: one client, the cats concerned (never a deceased one; a
//! client with none left gets nothing), a deterministic key `<rule>:<subject>:<occurrence>` and
//! the rule's own template values. [`Env::queue`] picks the channel, renders the clinic's active
//! template of the rule's category, and queues the message under that key, so running a rule
//! twice queues nothing twice. A disabled rule is checked when its job runs: turning it off
//! stops everything it has not sent. Consent and quiet hours are the `send_message` job's.

mod anniversary;
mod birthday;
mod follow_up;
pub mod links;
pub mod plan_step;
mod re_engagement;
mod reminders;
mod vaccine_due;
mod waitlist;
mod welcome;
mod wellness;

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use clowder_schemas::ValidationError;
use clowder_schemas::appointments::{Appointment, Status};
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::automations::{
    AutomationRule, AutomationView, ParamView, Preview, PreviewItem, Trigger, UpdateAutomation, rule_key,
};
use clowder_schemas::clients::{Client, PreferredContact};
use clowder_schemas::events::DomainEvent;
use clowder_schemas::jobs::Job;
use clowder_schemas::messages::{Channel, Purpose};
use clowder_schemas::patients::{Patient, PatientStatus};
use clowder_schemas::templates::TemplateCategory;
use clowder_schemas::waitlist::WaitlistOffer;
use jiff::Timestamp;
use jiff::civil::Date;

use super::links::Links;
use super::messages::{Messages, NewMessage, Recipient};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::jobs::{JobCtx, JobError, JobFuture, JobHandler, JobOutcome, Jobs, NewJob, Recurring, Rule as When};
use crate::scheduling::{Calendar, SchedulingHooks};
use crate::store::{ChangeSet, IndexTable, Reader, RecordTable};

/// The daily sweep's job kind.
pub const SWEEP: &str = "automation_sweep";

/// The default local time of the daily sweep (`CLOWDER_AUTOMATIONS_SWEEP_AT`): mid-morning,
/// inside every client's quiet hours' window.
pub const DEFAULT_SWEEP_AT: jiff::civil::Time = jiff::civil::time(10, 0, 0, 0);

/// One parameter of a rule.
pub struct Param {
    pub name: &'static str,
    pub description: &'static str,
    pub default: fn() -> serde_json::Value,
    /// Checks a value staff set (the message says what is expected).
    pub check: fn(&serde_json::Value) -> std::result::Result<(), String>,
}

/// A rule's settings: its row's values over the defaults.
#[derive(Debug, Clone)]
pub struct Settings {
    pub enabled: bool,
    pub params: BTreeMap<String, serde_json::Value>,
}

impl Settings {
    /// A whole-number parameter (0 when missing or not a number).
    pub fn int(&self, name: &str) -> i64 {
        self.params.get(name).and_then(|v| v.as_i64()).unwrap_or(0)
    }

    pub fn get(&self, name: &str) -> &serde_json::Value {
        self.params.get(name).unwrap_or(&serde_json::Value::Null)
    }
}

/// Parameter checks shared by the rules.
pub(crate) fn whole_number(min: i64, max: i64) -> impl Fn(&serde_json::Value) -> std::result::Result<(), String> {
    move |v| match v.as_i64() {
        Some(n) if (min..=max).contains(&n) => Ok(()),
        _ => Err(format!("must be a whole number from {min} to {max}")),
    }
}

/// Whether `day` is `months` calendar months after `last` (a month-end that does not exist
/// in the target month falls on that month's last day: 31 March + 11 months is 28 or 29
/// February), the date logic of the wellness and re-engagement rules.
pub(crate) fn months_after(last: Date, months: i64, day: Date) -> bool {
    last.checked_add(jiff::Span::new().months(months)).ok() == Some(day)
}

/// Something a rule would send: one message to one client about some of their cats.
#[derive(Debug, Clone)]
pub struct Due {
    pub client: Client,
    /// The cats it is about (alive, the client's), at least one.
    pub patients: Vec<Patient>,
    /// `<rule>:<subject>:<occurrence>`: the message's idempotency key.
    pub key: String,
    /// When it should go (the preview shows it; sweeps and jobs queue it at once).
    pub due_at: Timestamp,
    /// The rule's own template values (`appointment_time`, `confirm_link`, …).
    pub values: BTreeMap<String, String>,
}

/// One automation rule. See the module doc.
pub trait Rule: Send + Sync + 'static {
    /// The kind name (`appointment_reminder`): settings key, `Message::automation`, key prefix.
    fn kind(&self) -> &'static str;
    fn description(&self) -> &'static str;
    /// The template category its messages use.
    fn category(&self) -> TemplateCategory;
    /// Transactional or marketing (may depend on the settings: a birthday with a discount is
    /// marketing).
    fn purpose(&self, settings: &Settings) -> Purpose;
    fn trigger(&self) -> Trigger;
    fn params(&self) -> &'static [Param];
    /// Sweep rules: what is due on the local date `date` in the clinic's zone.
    fn due_on(&self, _env: &Env, _settings: &Settings, _date: Date) -> Result<Vec<Due>> {
        Ok(Vec::new())
    }
    /// Event rules whose cause schedules jobs: the job kind.
    fn job_kind(&self) -> Option<&'static str> {
        None
    }
    /// Event rules: what `job` sends if it runs at `at` (`None`: nothing, e.g. the visit
    /// was cancelled).
    fn due_of_job(&self, _env: &Env, _settings: &Settings, _job: &Job, _at: Timestamp) -> Result<Option<Due>> {
        Ok(None)
    }
}

/// Every rule, in the order `GET /api/automations` lists them.
pub fn rules() -> Vec<Arc<dyn Rule>> {
    vec![
        Arc::new(reminders::Reminders),
        Arc::new(follow_up::FollowUp),
        Arc::new(wellness::Wellness),
        Arc::new(birthday::Birthday),
        Arc::new(anniversary::Anniversary),
        Arc::new(welcome::Welcome),
        Arc::new(re_engagement::ReEngagement),
        Arc::new(waitlist::WaitlistOffers),
        Arc::new(vaccine_due::VaccineDue),
        Arc::new(plan_step::PlanStepReminder),
    ]
}

/// What rules work with: the store, the calendar, the message log, links.
#[derive(Clone)]
pub struct Env {
    pub ctx: Arc<Ctx>,
    pub calendar: Calendar,
    pub waitlist: crate::scheduling::Waitlist,
    pub messages: Messages,
    pub jobs: Jobs,
    pub links: Links,
}

/// "Mochi", "Mochi and Biscuit", "Mochi, Biscuit and Pounce".
pub fn pet_names(patients: &[Patient]) -> String {
    let names: Vec<&str> = patients.iter().map(|p| p.name.as_str()).collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The channel of a client: their preferred one when that address exists, else email when
/// they have one, else SMS (every client has a phone; a phone-only client gets texts).
pub fn channel_of(client: &Client) -> (Channel, Recipient) {
    match (&client.preferred_contact, &client.email) {
        (PreferredContact::Sms, _) | (_, None) => (Channel::Sms, Recipient::Sms(client.phone.clone())),
        (_, Some(e)) => (Channel::Email, Recipient::Email(e.clone())),
    }
}

/// The living cats of `client` among `patients`, in name order.
pub(crate) fn alive(patients: impl IntoIterator<Item = Patient>) -> Vec<Patient> {
    let mut out: Vec<Patient> = patients.into_iter().filter(|p| p.status == PatientStatus::Active).collect();
    out.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    out.dedup_by_key(|p| p.id);
    out
}

impl Env {
    pub fn now(&self) -> Timestamp {
        self.ctx.clock.now()
    }

    pub fn read(&self) -> Result<Reader> {
        Ok(self.ctx.store.read()?)
    }

    /// The clinic's local date of an instant.
    pub fn local_date(&self, at: Timestamp) -> Date {
        at.to_zoned(self.ctx.config.time_zone.clone()).date()
    }

    /// Every record of a table (the sweeps walk clients, cats and appointments once a day).
    pub fn all<R: clowder_schemas::records::Record>(&self, table: RecordTable) -> Result<Vec<R>> {
        let mut out = Vec::new();
        self.read()?.scan::<R>(table, None, |r| {
            out.push(r);
            ControlFlow::Continue(())
        })?;
        Ok(out)
    }

    /// A client's cats.
    pub fn cats_of(&self, r: &Reader, client: &Client) -> Result<Vec<Patient>> {
        let mut out = Vec::new();
        for id in r.children(IndexTable::PatientsByClient, client.id.as_u128(), None)? {
            if let Some(p) = r.get::<Patient>(RecordTable::Patients, id)? {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// The link base: the booking link of messages is the clinic's phone as a `tel:` link
    /// (there is no online booking yet), or the public origin.
    fn booking_link(&self) -> String {
        let c = &self.ctx.config.comms.clinic;
        match &c.phone {
            Some(p) if !p.is_empty() => format!("tel:{}", p.chars().filter(|c| !c.is_whitespace()).collect::<String>()),
            _ => self.links_base(),
        }
    }

    fn links_base(&self) -> String {
        self.ctx.config.comms.clinic.public_url.trim_end_matches('/').to_owned()
    }

    /// The values every message has, then the rule's.
    fn values(&self, due: &Due) -> BTreeMap<String, String> {
        let c = &self.ctx.config.comms.clinic;
        let mut v = BTreeMap::from([
            ("client_name".to_owned(), due.client.display_name()),
            ("client_first_name".to_owned(), due.client.first_name.clone()),
            ("pet_names".to_owned(), pet_names(&due.patients)),
            ("clinic_name".to_owned(), c.name.clone()),
            ("clinic_phone".to_owned(), c.phone.clone().unwrap_or_default()),
            ("booking_link".to_owned(), self.booking_link()),
            ("portal_link".to_owned(), self.links_base()),
        ]);
        v.extend(due.values.clone());
        v
    }

    /// Renders what `due` would send: the message (not yet queued) and its preview row.
    pub fn render(&self, rule: &dyn Rule, settings: &Settings, due: &Due) -> Result<Option<(NewMessage, PreviewItem)>> {
        if !due.client.active || due.patients.is_empty() {
            return Ok(None);
        }
        let (channel, to) = channel_of(&due.client);
        // A/B variants: one of the active templates, chosen by the key (issue 14 item 7).
        let Some(t) = super::analytics::pick_variant(&self.read()?, rule.category(), channel, &due.key)? else {
            tracing::warn!(rule = rule.kind(), channel = channel.as_str(), "no active template; nothing sent");
            return Ok(None);
        };
        let rendered = super::templates::render(channel, &t.content, &self.values(due))?;
        let item = PreviewItem {
            client_id: due.client.id,
            client_name: due.client.display_name(),
            patient_ids: due.patients.iter().map(|p| p.id).collect(),
            pet_names: pet_names(&due.patients),
            channel,
            due_at: due.due_at,
            key: due.key.clone(),
            subject: rendered.subject.clone(),
            first_line: rendered.text.lines().find(|l| !l.trim().is_empty()).unwrap_or_default().to_owned(),
        };
        let message = NewMessage {
            to,
            client_id: Some(due.client.id),
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
            idempotency_key: due.key.clone(),
            due_at: None,
            purpose: rule.purpose(settings),
            template: Some((t.id, t.category)),
            automation: Some(rule.kind().to_owned()),
        };
        Ok(Some((message, item)))
    }

    /// Queues what `due` sends into `set` (a repeated key adds nothing); true if a message
    /// was rendered.
    pub fn queue(
        &self,
        set: &mut ChangeSet,
        rule: &dyn Rule,
        settings: &Settings,
        due: &Due,
        caller: &Caller,
    ) -> Result<bool> {
        match self.render(rule, settings, due)? {
            Some((m, _)) => {
                self.messages.queue(set, m, caller)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// The stored row of a rule, if staff changed it.
    fn row(&self, kind: &str) -> Result<Option<AutomationRule>> {
        Ok(self.read()?.get::<AutomationRule>(RecordTable::Automations, rule_key(kind))?)
    }

    /// A rule's settings: its row over the defaults.
    pub fn settings(&self, rule: &dyn Rule) -> Result<Settings> {
        let row = self.row(rule.kind())?;
        let mut params: BTreeMap<String, serde_json::Value> =
            rule.params().iter().map(|p| (p.name.to_owned(), (p.default)())).collect();
        if let Some(r) = &row {
            for (k, v) in &r.params {
                if params.contains_key(k) {
                    params.insert(k.clone(), v.clone());
                }
            }
        }
        Ok(Settings { enabled: row.as_ref().is_none_or(|r| r.enabled), params })
    }

    /// Adds `job` to `set`, keyed `key`, for the record `subject`.
    #[allow(clippy::too_many_arguments)] // each is one field of the job; a struct would only rename NewJob
    pub(crate) fn schedule(
        &self,
        set: &mut ChangeSet,
        kind: &str,
        payload: serde_json::Value,
        due_at: Timestamp,
        key: String,
        subject: String,
        caller: &Caller,
    ) -> Result<()> {
        self.jobs.schedule(
            set,
            NewJob { kind: kind.into(), payload, due_at, idempotency_key: key, subject: Some(subject) },
            caller,
        )?;
        Ok(())
    }

    /// The appointments of `client` that are still to happen or happened, by start.
    pub(crate) fn appointments_of(
        &self,
        client: clowder_schemas::ClientId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Appointment>> {
        // Bounded by time: the calendar's index is by start, so a window keeps this a short
        // range walk instead of a pass over every appointment the clinic has.
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = self.calendar.list(&crate::scheduling::AppointmentFilter {
                client: Some(client),
                from: Some(from),
                to: Some(to),
                after,
                limit: 200,
                ..Default::default()
            })?;
            let more = page.next_cursor.is_some();
            out.extend(page.items);
            if !more {
                break;
            }
            after = page.next_cursor.and_then(|c| clowder_schemas::pagination::Cursor::decode(&c).ok());
        }
        Ok(out)
    }
}

/// The automations service: rules' settings, the dry run, the daily sweep, and the hooks the
/// calendar calls.
#[derive(Clone)]
pub struct Automations {
    env: Env,
    rules: Arc<Vec<Arc<dyn Rule>>>,
    writer: Arc<tokio::sync::Mutex<()>>,
}

impl Automations {
    /// Registers the rules' job kinds and the daily sweep.
    pub fn install(env: Env) -> std::result::Result<Automations, ValidationError> {
        let a = Automations { env, rules: Arc::new(rules()), writer: Arc::default() };
        for rule in a.rules.iter() {
            if let Some(kind) = rule.job_kind() {
                a.env.jobs.register(kind, Arc::new(RuleJob { env: a.env.clone(), rule: rule.clone() }))?;
            }
        }
        a.env.jobs.register(SWEEP, Arc::new(Sweep { automations: a.clone() }))?;
        if let Some(at) = a.env.ctx.config.automations_sweep_at {
            a.env.jobs.add_recurring(Recurring {
                name: SWEEP,
                kind: SWEEP,
                rule: When::Daily { at },
                payload: serde_json::json!({}),
            });
        }
        Ok(a)
    }

    pub fn env(&self) -> &Env {
        &self.env
    }

    fn rule(&self, kind: &str) -> Result<Arc<dyn Rule>> {
        self.rules.iter().find(|r| r.kind() == kind).cloned().ok_or_else(|| Error::AutomationNotFound(kind.to_owned()))
    }

    fn view(&self, rule: &dyn Rule) -> Result<AutomationView> {
        let row = self.env.row(rule.kind())?;
        let s = self.env.settings(rule)?;
        Ok(AutomationView {
            kind: rule.kind().to_owned(),
            description: rule.description().to_owned(),
            purpose: rule.purpose(&s),
            trigger: rule.trigger(),
            enabled: s.enabled,
            params: rule
                .params()
                .iter()
                .map(|p| ParamView {
                    name: p.name.to_owned(),
                    description: p.description.to_owned(),
                    default: (p.default)(),
                    value: s.get(p.name).clone(),
                })
                .collect(),
            last_run_at: row.as_ref().and_then(|r| r.last_run_at),
            last_run_queued: row.as_ref().map_or(0, |r| r.last_run_queued),
            updated_at: row.as_ref().and_then(|r| r.updated_at),
            updated_by: row.as_ref().and_then(|r| r.updated_by),
        })
    }

    /// Every rule with its settings and last run.
    pub fn list(&self) -> Result<Vec<AutomationView>> {
        self.rules.iter().map(|r| self.view(r.as_ref())).collect()
    }

    /// One rule.
    pub fn get(&self, kind: &str) -> Result<AutomationView> {
        self.view(self.rule(kind)?.as_ref())
    }

    /// Turns a rule on or off and sets parameters (`null`: back to the default); audited, with
    /// an `automation_updated` event.
    pub async fn update(&self, kind: &str, patch: UpdateAutomation, caller: &Caller) -> Result<AutomationView> {
        let rule = self.rule(kind)?;
        let _w = self.writer.lock().await;
        let now = self.env.now();
        let mut row = self.env.row(kind)?.unwrap_or_else(|| AutomationRule {
            kind: kind.to_owned(),
            enabled: true,
            params: BTreeMap::new(),
            updated_at: None,
            updated_by: None,
            last_run_at: None,
            last_run_queued: 0,
        });
        let mut changed = Vec::new();
        if let Some(e) = patch.enabled
            && e != row.enabled
        {
            row.enabled = e;
            changed.push("enabled".to_owned());
        }
        for (name, value) in patch.params.unwrap_or_default() {
            let field = format!("params.{name}");
            let p = rule
                .params()
                .iter()
                .find(|p| p.name == name)
                .ok_or_else(|| ValidationError::new(field.clone(), "is not a parameter of this rule"))?;
            if value.is_null() {
                if row.params.remove(&name).is_some() {
                    changed.push(field);
                }
                continue;
            }
            (p.check)(&value).map_err(|m| ValidationError::new(field.clone(), m))?;
            if row.params.get(&name) != Some(&value) {
                row.params.insert(name, value);
                changed.push(field);
            }
        }
        if changed.is_empty() {
            return self.view(rule.as_ref());
        }
        row.updated_at = Some(now);
        row.updated_by = caller.user_id();
        let mut set = ChangeSet::new();
        set.put(RecordTable::Automations, rule_key(kind), &row)?;
        set.event(
            caller.author(),
            DomainEvent::AutomationUpdated { kind: kind.to_owned(), enabled: row.enabled, changed: changed.clone() },
        );
        set.audit(AuditDraft::new(caller, "automation.update").detail(
            serde_json::json!({ "kind": kind, "changed": changed, "enabled": row.enabled, "params": row.params }),
        ));
        self.env.ctx.store.commit(set).await?;
        if kind == reminders::KIND && changed.iter().any(|c| c == "params.offsets_minutes") {
            let n = reminders::reoffset(&self.env, now, caller).await?;
            tracing::info!(appointments = n, "reminder offsets changed: pending reminders re-planned");
        }
        self.view(rule.as_ref())
    }

    /// What a rule would send in the next `days` days (1–31), nothing queued.
    pub fn preview(&self, kind: &str, days: u32) -> Result<Preview> {
        let rule = self.rule(kind)?;
        if !(1..=31).contains(&days) {
            return Err(ValidationError::new("days", "must be from 1 to 31").into());
        }
        let s = self.env.settings(rule.as_ref())?;
        let from = self.env.now();
        let to = from.saturating_add(jiff::SignedDuration::from_hours(24 * i64::from(days))).unwrap_or(from);
        let mut dues = Vec::new();
        match rule.job_kind() {
            Some(job_kind) => {
                let r = self.env.read()?;
                let mut jobs = Vec::new();
                r.index_from(IndexTable::JobsDue, (0, 0), |(due_ms, id)| {
                    if due_ms > crate::jobs::due_key(to) {
                        return ControlFlow::Break(());
                    }
                    jobs.push(id);
                    ControlFlow::Continue(())
                })?;
                for id in jobs {
                    if let Some(job) = r.get::<Job>(RecordTable::Jobs, id)?
                        && job.kind == job_kind
                        && let Some(d) = rule.due_of_job(&self.env, &s, &job, job.due_at.max(from))?
                    {
                        dues.push(d);
                    }
                }
            }
            None if rule.trigger() == Trigger::Sweep => {
                let mut day = self.env.local_date(from);
                for _ in 0..days {
                    let mut ds = rule.due_on(&self.env, &s, day)?;
                    let sweep_at = self.env.ctx.config.automations_sweep_at.unwrap_or(DEFAULT_SWEEP_AT);
                    let at = crate::jobs::recurring::wall_instant(&self.env.ctx.config.time_zone, day, sweep_at)?;
                    for d in &mut ds {
                        d.due_at = at;
                    }
                    dues.extend(ds);
                    day = day.tomorrow().map_err(|e| ValidationError::new("days", e.to_string()))?;
                }
            }
            None => {}
        }
        let mut seen = std::collections::BTreeSet::new();
        let mut items = Vec::new();
        for d in dues {
            if seen.insert(d.key.clone())
                && let Some((_, item)) = self.env.render(rule.as_ref(), &s, &d)?
            {
                items.push(item);
            }
        }
        items.sort_by(|a, b| a.due_at.cmp(&b.due_at).then(a.key.cmp(&b.key)));
        Ok(Preview { kind: kind.to_owned(), enabled: s.enabled, from, to, items })
    }

    /// Runs the daily sweep now (staff, or a test): a job of its own, keyed by the moment.
    pub async fn sweep_now(&self, caller: &Caller) -> Result<clowder_schemas::JobId> {
        let key = format!("{SWEEP}:manual:{}", self.env.ctx.new_ulid());
        let s = self
            .env
            .jobs
            .enqueue(
                NewJob {
                    kind: SWEEP.into(),
                    payload: serde_json::json!({}),
                    due_at: self.env.now(),
                    idempotency_key: key,
                    subject: None,
                },
                caller,
            )
            .await?;
        Ok(s.id())
    }

    /// Runs every enabled sweep rule for today into `set`; returns the messages per rule.
    fn sweep_into(&self, set: &mut ChangeSet, caller: &Caller) -> Result<Vec<(String, u32)>> {
        let today = self.env.local_date(self.env.now());
        let mut out = Vec::new();
        for rule in self.rules.iter().filter(|r| r.trigger() == Trigger::Sweep) {
            let s = self.env.settings(rule.as_ref())?;
            if !s.enabled {
                continue;
            }
            let mut n = 0;
            let mut seen = std::collections::BTreeSet::new();
            for d in rule.due_on(&self.env, &s, today)? {
                if seen.insert(d.key.clone()) && self.env.queue(set, rule.as_ref(), &s, &d, caller)? {
                    n += 1;
                }
            }
            out.push((rule.kind().to_owned(), n));
        }
        Ok(out)
    }

    /// Records a rule's last run in `set`.
    fn ran(&self, set: &mut ChangeSet, kind: &str, queued: u32) -> Result<()> {
        let mut row = self.env.row(kind)?.unwrap_or_else(|| AutomationRule {
            kind: kind.to_owned(),
            enabled: true,
            params: BTreeMap::new(),
            updated_at: None,
            updated_by: None,
            last_run_at: None,
            last_run_queued: 0,
        });
        row.last_run_at = Some(self.env.now());
        row.last_run_queued = queued;
        set.put(RecordTable::Automations, rule_key(kind), &row)?;
        Ok(())
    }
}

/// The job of an event rule: works out the message when it runs and queues it with its success.
struct RuleJob {
    env: Env,
    rule: Arc<dyn Rule>,
}

fn retry(e: Error) -> JobError {
    JobError::Retry(e.to_string())
}

impl JobHandler for RuleJob {
    fn validate(&self, payload: &serde_json::Value) -> std::result::Result<(), ValidationError> {
        if payload.is_object() { Ok(()) } else { Err(ValidationError::new("payload", "must be an object")) }
    }

    fn run<'a>(&'a self, job: &'a Job, ctx: &'a JobCtx) -> JobFuture<'a> {
        Box::pin(async move {
            let s = self.env.settings(self.rule.as_ref()).map_err(retry)?;
            if !s.enabled {
                return Ok(JobOutcome::done());
            }
            let Some(due) = self.rule.due_of_job(&self.env, &s, job, self.env.now()).map_err(retry)? else {
                return Ok(JobOutcome::done());
            };
            let mut set = ChangeSet::new();
            self.env.queue(&mut set, self.rule.as_ref(), &s, &due, &ctx.caller).map_err(|e| match e {
                Error::Validation(v) => JobError::Permanent(format!("the template does not render: {}", v.message)),
                e => retry(e),
            })?;
            Ok(JobOutcome::with(set))
        })
    }
}

/// The daily sweep: every enabled sweep rule, for today.
struct Sweep {
    automations: Automations,
}

impl JobHandler for Sweep {
    fn validate(&self, payload: &serde_json::Value) -> std::result::Result<(), ValidationError> {
        if payload.is_object() { Ok(()) } else { Err(ValidationError::new("payload", "must be an object")) }
    }

    fn run<'a>(&'a self, _job: &'a Job, ctx: &'a JobCtx) -> JobFuture<'a> {
        Box::pin(async move {
            let mut set = ChangeSet::new();
            let runs = self.automations.sweep_into(&mut set, &ctx.caller).map_err(retry)?;
            for (kind, n) in &runs {
                self.automations.ran(&mut set, kind, *n).map_err(retry)?;
            }
            tracing::info!(?runs, "automation sweep");
            Ok(JobOutcome::with(set))
        })
    }
}

impl SchedulingHooks for Automations {
    fn appointment_changed(
        &self,
        set: &mut ChangeSet,
        before: Option<&Appointment>,
        after: &Appointment,
        caller: &Caller,
    ) -> Result<()> {
        let subject = format!("appointment:{}", after.id);
        match after.status {
            Status::Cancelled | Status::NoShow if before.is_some_and(|b| b.status != after.status) => {
                self.env.jobs.cancel_subject(set, &subject, caller)?;
                Ok(())
            }
            Status::Completed if before.is_some_and(|b| b.status != Status::Completed) => {
                follow_up::schedule(&self.env, set, after, caller)
            }
            Status::Scheduled | Status::Confirmed => reminders::schedule(&self.env, set, before, after, caller),
            _ => Ok(()),
        }
    }

    fn offer_made(&self, set: &mut ChangeSet, offer: &WaitlistOffer, caller: &Caller) -> Result<()> {
        waitlist::queue_offer(&self.env, set, offer, caller)
    }

    fn committed(&self) {
        self.env.jobs.wake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_after_counts_calendar_months_and_clamps_month_ends() {
        use jiff::civil::date;
        assert!(months_after(date(2025, 5, 10), 11, date(2026, 4, 10)));
        assert!(!months_after(date(2025, 5, 10), 11, date(2026, 4, 9)));
        assert!(!months_after(date(2025, 5, 10), 12, date(2026, 4, 10)));
        assert!(months_after(date(2025, 5, 10), 12, date(2026, 5, 10)));
        // A month-end falls on the shorter month's last day, so no visit is skipped.
        assert!(months_after(date(2025, 3, 31), 11, date(2026, 2, 28)));
        assert!(months_after(date(2023, 3, 31), 11, date(2024, 2, 29)));
        assert!(months_after(date(2025, 1, 31), 12, date(2026, 1, 31)));
    }

    #[test]
    fn pet_names_read_as_a_sentence() {
        let cat = |n: &str| Patient { name: n.into(), ..test_patient() };
        assert_eq!(pet_names(&[cat("Mochi")]), "Mochi");
        assert_eq!(pet_names(&[cat("Mochi"), cat("Biscuit")]), "Mochi and Biscuit");
        assert_eq!(pet_names(&[cat("A"), cat("B"), cat("C")]), "A, B and C");
    }

    fn test_patient() -> Patient {
        serde_json::from_value(serde_json::json!({
            "id": clowder_schemas::PatientId::from_u128(1), "client_id": clowder_schemas::ClientId::from_u128(1),
            "name": "x", "breed": null, "color": null, "sex": null, "reproductive_status": null,
            "date_of_birth": null, "date_of_birth_estimated": false, "microchip": null, "allergies": [],
            "behavior_notes": null, "status": "active", "deceased_on": null,
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z", "created_by": null
        }))
        .unwrap()
    }
}
