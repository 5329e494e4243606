//! Marketing campaigns ([`Campaign`], table `campaigns`): a `campaign` or `newsletter`
//! template sent to a [segment](super::segments), now or at a set time, with its results
//! counted from its messages; and the newsletter's double opt-in (the confirmation email with
//! a `ConfirmSubscription` link, and the consent it grants).
//!
//! Scheduling writes the `campaign_send` job due at `scheduled_at` (subject `campaign:<id>`)
//! with the campaign's move, in one change set. The job's first run resolves the segment
//! (at send time, so the audience is who matches then) into `pending`; each run queues the
//! next [`super::batches::CHUNK`] clients' messages through [`Messages::queue`] (purpose `marketing`: the
//! consent gate of the send path suppresses clients without opt-in and adds
//! List-Unsubscribe) and schedules the next run, in the change set the scheduler commits with
//! the run's success: the pattern of `batches.rs`. Every message's key is
//! `campaign:<id>:<client>` and carries `automation: "campaign:<id>"`.
//!
//! Staff and the job both write the campaign: every write requires the `revision` it read
//! (`ChangeSet::require`), so a cancel between a run's read and its commit refuses the run's
//! change set, and the run's retry sees `cancelled`.

use std::collections::BTreeMap;
use std::sync::Arc;

use clowder_schemas::ValidationError;
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::batches::{BatchSkip, SkipReason};
use clowder_schemas::campaigns::{Campaign, CampaignResults, CampaignState, CampaignView, MAX_AUDIENCE, Segment};
use clowder_schemas::clients::Client;
use clowder_schemas::events::DomainEvent;
use clowder_schemas::ids::{CampaignId, SegmentId};
use clowder_schemas::jobs::Job;
use clowder_schemas::messages::{Channel, Message, MessageStatus, Purpose};
use clowder_schemas::templates::{Template, TemplateCategory};
use clowder_schemas::values::Email;
use clowder_schemas::{ClientId, MessageId, TemplateId};
use jiff::{SignedDuration, Timestamp};

use super::ClinicProfile;
use super::batches::queue_chunk;
use super::compose::{address, check_template, client_values, pet_names, render_for};
use super::consent::Consent;
use super::links::{LinkPurpose, Links};
use super::messages::{Messages, NewMessage, Recipient};
use super::segments::evaluate;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::jobs::{JobCtx, JobError, JobFuture, JobHandler, JobOutcome, Jobs, NewJob};
use crate::store::tables::unique;
use crate::store::{ChangeSet, Reader, RecordTable};

/// The job kind that queues one chunk of a campaign.
pub const KIND: &str = "campaign_send";

/// How many times a staff command reads again when a job moved under it.
const RACE_RETRIES: u32 = 5;

/// How long a newsletter confirmation link works.
pub const CONFIRM_LINK_TTL: SignedDuration = SignedDuration::from_hours(24 * 7);

/// A campaign to create, checked at the edge.
#[derive(Debug, Clone)]
pub struct NewCampaign {
    pub name: String,
    pub template_id: TemplateId,
    pub segment_id: SegmentId,
    pub channel: Option<Channel>,
    pub scheduled_at: Option<Timestamp>,
}

/// Campaigns and the newsletter's double opt-in.
#[derive(Clone)]
pub struct Campaigns {
    ctx: Arc<Ctx>,
    jobs: Jobs,
    messages: Messages,
    links: Links,
    consent: Consent,
}

fn clinic(ctx: &Ctx) -> &ClinicProfile {
    &ctx.config.comms.clinic
}

fn is_marketing(c: TemplateCategory) -> bool {
    matches!(c, TemplateCategory::Campaign | TemplateCategory::Newsletter)
}

/// The job that queues chunk `n` of a campaign, due at `due_at`.
fn chunk_job(id: CampaignId, n: u32, due_at: Timestamp) -> NewJob {
    NewJob {
        kind: KIND.into(),
        payload: serde_json::json!({ "campaign_id": id, "chunk": n }),
        due_at,
        idempotency_key: format!("campaign:{id}:chunk:{n}"),
        subject: Some(subject(id)),
    }
}

fn subject(id: CampaignId) -> String {
    format!("campaign:{id}")
}

fn payload(p: &serde_json::Value) -> std::result::Result<(CampaignId, u32), ValidationError> {
    let bad = || ValidationError::new("payload", "needs campaign_id, a campaign id, and chunk, a number");
    let id =
        p.get("campaign_id").and_then(|v| v.as_str()).and_then(|s| s.parse::<CampaignId>().ok()).ok_or_else(bad)?;
    let n = p.get("chunk").and_then(|v| v.as_u64()).and_then(|n| u32::try_from(n).ok()).ok_or_else(bad)?;
    Ok((id, n))
}

/// Adds `new` to `set` as the next revision of `old` (refused at commit if another writer
/// moved it since), with the event when its state moved.
fn write(set: &mut ChangeSet, old: Option<&Campaign>, new: &mut Campaign, caller: &Caller) -> Result<()> {
    if let Some(old) = old {
        let rev = old.revision;
        new.revision = rev + 1;
        set.require(RecordTable::Campaigns, old.id.as_u128(), "campaign", move |b| {
            b.is_some_and(|b| crate::store::codec::decode::<Campaign>(b).is_ok_and(|c| c.revision == rev))
        });
    }
    set.put(RecordTable::Campaigns, new.id.as_u128(), &*new)?;
    if old.is_none_or(|o| o.state != new.state) {
        set.event(caller.author(), DomainEvent::CampaignUpdated { campaign_id: new.id, state: new.state });
    }
    Ok(())
}

/// A campaign's results: its messages by status now.
pub fn results(r: &Reader, c: &Campaign) -> Result<CampaignResults> {
    let mut out = CampaignResults {
        audience: c.audience,
        skipped: u32::try_from(c.skipped.len()).unwrap_or(u32::MAX),
        ..CampaignResults::default()
    };
    for e in &c.queued {
        let Some(m) = r.get::<Message>(RecordTable::Messages, e.message_id.as_u128())? else { continue };
        let slot = match m.status {
            MessageStatus::Queued | MessageStatus::Failed => &mut out.queued,
            MessageStatus::Sent => &mut out.sent,
            MessageStatus::Delivered => &mut out.delivered,
            MessageStatus::Suppressed => &mut out.suppressed,
            MessageStatus::Bounced => &mut out.bounced,
            MessageStatus::Dead => &mut out.failed,
        };
        *slot += 1;
    }
    Ok(out)
}

fn view(c: Campaign, results: CampaignResults) -> CampaignView {
    CampaignView {
        id: c.id,
        name: c.name,
        template_id: c.template_id,
        segment_id: c.segment_id,
        channel: c.channel,
        state: c.state,
        scheduled_at: c.scheduled_at,
        results,
        created_at: c.created_at,
        updated_at: c.updated_at,
        created_by: c.created_by,
    }
}

impl Campaigns {
    pub fn new(ctx: Arc<Ctx>, jobs: Jobs, messages: Messages, links: Links, consent: Consent) -> Campaigns {
        Campaigns { ctx, jobs, messages, links, consent }
    }

    fn load(&self, r: &Reader, id: CampaignId) -> Result<Campaign> {
        r.get::<Campaign>(RecordTable::Campaigns, id.as_u128())?.ok_or(Error::CampaignNotFound(id))
    }

    /// Creates a draft: the template must be an active `campaign` or `newsletter` template
    /// whose variables the client's record fills in, on the campaign's channel; the segment
    /// must exist.
    pub async fn create(&self, new: NewCampaign, caller: &Caller) -> Result<CampaignView> {
        let r = self.ctx.store.read()?;
        let t = r
            .get::<Template>(RecordTable::Templates, new.template_id.as_u128())?
            .ok_or_else(|| ValidationError::new("template_id", "no template has this id"))?;
        if !is_marketing(t.category) {
            return Err(
                ValidationError::new("template_id", "must be a template of category campaign or newsletter").into()
            );
        }
        check_template(&t, &BTreeMap::new(), clinic(&self.ctx))?;
        if new.channel.is_some_and(|c| c != t.channel) {
            return Err(ValidationError::new("channel", format!("the template is for {}", t.channel.as_str())).into());
        }
        if r.get::<Segment>(RecordTable::Segments, new.segment_id.as_u128())?.is_none() {
            return Err(ValidationError::new("segment_id", "no segment has this id").into());
        }
        drop(r);
        let now = self.ctx.clock.now();
        let id = CampaignId::from_ulid(self.ctx.new_ulid());
        let mut c = Campaign {
            id,
            name: new.name,
            template_id: t.id,
            segment_id: new.segment_id,
            channel: t.channel,
            state: CampaignState::Draft,
            scheduled_at: new.scheduled_at,
            audience: 0,
            pending: Vec::new(),
            queued: Vec::new(),
            skipped: Vec::new(),
            revision: 0,
            created_at: now,
            updated_at: now,
            created_by: caller.user_id(),
        };
        let mut set = ChangeSet::new();
        write(&mut set, None, &mut c, caller)?;
        set.audit(AuditDraft::new(caller, "campaign.create").record("campaign", id).detail(serde_json::json!({
            "template_id": c.template_id, "segment_id": c.segment_id, "channel": c.channel,
        })));
        self.ctx.store.commit(set).await?;
        Ok(view(c, CampaignResults::default()))
    }

    /// A campaign with its results (counts only, no client named: not audited).
    pub fn get(&self, id: CampaignId) -> Result<CampaignView> {
        let r = self.ctx.store.read()?;
        let c = self.load(&r, id)?;
        let res = results(&r, &c)?;
        Ok(view(c, res))
    }

    /// The newest `limit` campaigns with their results, newest first.
    pub fn list(&self, limit: usize) -> Result<Vec<CampaignView>> {
        Ok(self.page(None, limit)?.0)
    }

    /// A page of campaigns with their results, newest first, from before the key `before`,
    /// with the key to go on from when there are more.
    pub fn page(&self, before: Option<u128>, limit: usize) -> Result<(Vec<CampaignView>, Option<u128>)> {
        let r = self.ctx.store.read()?;
        let mut all = Vec::new();
        r.scan_rev::<Campaign>(RecordTable::Campaigns, before, |c| {
            all.push(c);
            if all.len() > limit { std::ops::ControlFlow::Break(()) } else { std::ops::ControlFlow::Continue(()) }
        })?;
        let more = all.len() > limit;
        all.truncate(limit);
        let next = more.then(|| all.last().map(|c| c.id.as_u128())).flatten();
        let views = all.into_iter().map(|c| results(&r, &c).map(|res| view(c, res))).collect::<Result<_>>()?;
        Ok((views, next))
    }

    /// Schedules a draft for `at` (or its `scheduled_at`), which must be in the future: the
    /// campaign and its job in one change set. A scheduled campaign is rescheduled: its job
    /// moves to `at`. Once sending began, 409 `campaign_started`. The segment must hold at
    /// most [`MAX_AUDIENCE`] clients now.
    pub async fn schedule(&self, id: CampaignId, at: Option<Timestamp>, caller: &Caller) -> Result<CampaignView> {
        let mut tries = 0;
        loop {
            let now = self.ctx.clock.now();
            let r = self.ctx.store.read()?;
            let old = self.load(&r, id)?;
            let at = at.or(old.scheduled_at).ok_or_else(|| {
                ValidationError::new("scheduled_at", "is required: give it here or when creating the campaign")
            })?;
            if at <= now {
                return Err(
                    ValidationError::new("scheduled_at", "must be in the future (use send-now to send now)").into()
                );
            }
            match self.start(r, old, at, "campaign.schedule", caller).await {
                Err(Error::Changed { .. }) if tries < RACE_RETRIES => tries += 1,
                other => return other,
            }
        }
    }

    /// Sends a draft or scheduled campaign now: its job becomes due now (read again a few
    /// times if the scheduler moved the job meanwhile).
    pub async fn send_now(&self, id: CampaignId, caller: &Caller) -> Result<CampaignView> {
        let mut tries = 0;
        loop {
            let now = self.ctx.clock.now();
            let r = self.ctx.store.read()?;
            let old = self.load(&r, id)?;
            match self.start(r, old, now, "campaign.send_now", caller).await {
                Err(Error::Changed { .. }) if tries < RACE_RETRIES => tries += 1,
                other => return other,
            }
        }
    }

    async fn start(
        &self,
        r: Reader,
        old: Campaign,
        at: Timestamp,
        action: &'static str,
        caller: &Caller,
    ) -> Result<CampaignView> {
        let id = old.id;
        let scheduling = action == "campaign.schedule";
        let verb = if scheduling { "scheduled" } else { "sent now" };
        if scheduling && old.state.started() {
            return Err(Error::CampaignStarted { state: old.state });
        }
        let allowed: &[CampaignState] = &[CampaignState::Draft, CampaignState::Scheduled];
        let can = if scheduling { old.state.can_schedule() } else { old.state.can_send_now() };
        if !can {
            return Err(Error::CampaignTransition {
                from: old.state,
                action: verb,
                allowed: allowed.iter().map(|s| s.as_str()).collect(),
            });
        }
        let segment = r
            .get::<Segment>(RecordTable::Segments, old.segment_id.as_u128())?
            .ok_or(Error::SegmentNotFound(old.segment_id))?;
        let size = evaluate(&r, &segment.filter, self.ctx.clock.now(), self.ctx.today())?.len();
        drop(r);
        if size > MAX_AUDIENCE {
            return Err(ValidationError::new(
                "segment_id",
                format!("the segment holds {size} clients, more than {MAX_AUDIENCE}; narrow it"),
            )
            .into());
        }
        let mut c = old.clone();
        c.state = CampaignState::Scheduled;
        c.scheduled_at = Some(at);
        c.updated_at = self.ctx.clock.now();
        let mut set = ChangeSet::new();
        if old.state == CampaignState::Scheduled {
            let moved = self.jobs.reschedule_subject(&mut set, &subject(id), |_| Some(at), caller)?;
            // Its job is running: sending is beginning, too late to move it.
            if moved.is_empty() && scheduling {
                return Err(Error::CampaignStarted { state: CampaignState::Sending });
            }
        } else {
            self.jobs.schedule(&mut set, chunk_job(id, 0, at), caller)?;
        }
        write(&mut set, Some(&old), &mut c, caller)?;
        set.audit(
            AuditDraft::new(caller, action)
                .record("campaign", id)
                .detail(serde_json::json!({ "scheduled_at": at, "audience_now": size })),
        );
        self.ctx.store.commit(set).await?;
        self.jobs.wake();
        Ok(view(c, CampaignResults::default()))
    }

    /// Cancels a draft, scheduled or sending campaign: its jobs that have not run are
    /// cancelled; messages already queued still go. The scheduler may move a job (or a run
    /// the campaign) between this read and the commit: then it reads again, a few times.
    pub async fn cancel(&self, id: CampaignId, caller: &Caller) -> Result<CampaignView> {
        let mut tries = 0;
        loop {
            match self.cancel_once(id, caller).await {
                Err(Error::Changed { .. }) if tries < RACE_RETRIES => tries += 1,
                other => return other,
            }
        }
    }

    async fn cancel_once(&self, id: CampaignId, caller: &Caller) -> Result<CampaignView> {
        let r = self.ctx.store.read()?;
        let old = self.load(&r, id)?;
        if !old.state.can_cancel() {
            return Err(Error::CampaignTransition {
                from: old.state,
                action: "cancelled",
                allowed: vec!["draft", "scheduled", "sending"],
            });
        }
        let mut c = old.clone();
        c.state = CampaignState::Cancelled;
        c.updated_at = self.ctx.clock.now();
        let mut set = ChangeSet::new();
        self.jobs.cancel_subject(&mut set, &subject(id), caller)?;
        write(&mut set, Some(&old), &mut c, caller)?;
        set.audit(AuditDraft::new(caller, "campaign.cancel").record("campaign", id));
        self.ctx.store.commit(set).await?;
        let res = results(&self.ctx.store.read()?, &c)?;
        Ok(view(c, res))
    }

    /// The handler of the `campaign_send` job kind (registered at start).
    pub fn handler(&self) -> Arc<dyn JobHandler> {
        Arc::new(CampaignChunk { messages: self.messages.clone(), jobs: self.jobs.clone() })
    }

    /// Double opt-in, step one: if `email` is a client's, queues the confirmation email with
    /// its `ConfirmSubscription` link (at most one a day per client: the message's key holds
    /// the date). Returns whether a client matched, which the public route never tells.
    pub async fn request_subscription(&self, email: &Email, caller: &Caller) -> Result<bool> {
        let r = self.ctx.store.read()?;
        let Some(owner) = r.unique_owner(unique::CLIENT_EMAIL, email.as_str())? else {
            return Ok(false);
        };
        let Some(client) = r.get::<Client>(RecordTable::Clients, owner)? else { return Ok(false) };
        drop(r);
        if !client.active {
            return Ok(false);
        }
        self.send_confirmation(&client, caller).await?;
        Ok(true)
    }

    /// [`Self::request_subscription`] on a task of its own (tracked, so shutdown waits for
    /// it): the public route answers before the look-up, in the same time whether or not the
    /// address is a client's, so its timing tells nothing either.
    pub fn request_subscription_later(&self, email: Email, caller: Caller) {
        let this = self.clone();
        self.ctx.tasks.spawn(async move {
            if let Err(e) = this.request_subscription(&email, &caller).await {
                tracing::warn!(error = %e, "could not queue a newsletter confirmation");
            }
        });
    }

    /// Double opt-in started by staff for one client (422 if the client has no email).
    pub async fn start_subscription(&self, client: ClientId, caller: &Caller) -> Result<MessageId> {
        let c = self
            .ctx
            .store
            .read()?
            .get::<Client>(RecordTable::Clients, client.as_u128())?
            .ok_or(Error::ClientNotFound(client))?;
        if !c.active {
            return Err(ValidationError::new("client_id", "the client is deactivated").into());
        }
        self.send_confirmation(&c, caller).await
    }

    async fn send_confirmation(&self, client: &Client, caller: &Caller) -> Result<MessageId> {
        let Some(to) = client.email.clone() else {
            return Err(ValidationError::new("email", "the client has no email address").into());
        };
        let now = self.ctx.clock.now();
        let expires = now.checked_add(CONFIRM_LINK_TTL).map_err(|e| Error::Internal(e.to_string()))?;
        let url = self.links.url(LinkPurpose::ConfirmSubscription, client.id.as_u128(), expires);
        let name = &clinic(&self.ctx).name;
        let text = format!(
            "Hello {first},\n\nPlease confirm that you would like to receive news and offers from {name} by email:\n\n{url}\n\n\
             If you did not ask for this, ignore this email and nothing changes. The link works for 7 days.\n",
            first = client.first_name,
        );
        let new = NewMessage {
            to: Recipient::Email(to),
            client_id: Some(client.id),
            subject: Some(format!("Confirm your subscription to {name} news")),
            text,
            html: None,
            idempotency_key: format!("newsletter:{}:{}", client.id, self.ctx.today()),
            due_at: None,
            // What the person just asked for, not marketing: it goes without marketing consent.
            purpose: Purpose::Transactional,
            template: None,
            automation: Some("newsletter_confirmation".into()),
        };
        self.messages.send(new, caller).await
    }

    /// Double opt-in, step two: grants marketing email consent (ledger source
    /// `double_opt_in`). Nothing is written if it already was granted.
    pub async fn confirm_subscription(&self, client: ClientId, caller: &Caller) -> Result<()> {
        use clowder_schemas::consent::{ConsentActor, ConsentChange, ConsentSource};
        let change = ConsentChange {
            channel: Channel::Email,
            purpose: Purpose::Marketing,
            granted: true,
            source: ConsentSource::DoubleOptIn,
            evidence: Some("confirmed from the link of the newsletter confirmation email".into()),
            note: None,
        };
        self.consent.record(client, change, ConsentActor::Client, false, caller).await?;
        Ok(())
    }
}

/// What one client of a campaign gets: a message, or a skip with why.
fn decide_client(
    r: &Reader,
    c: &Campaign,
    t: &Template,
    client_id: ClientId,
    clinic: &ClinicProfile,
) -> Result<std::result::Result<NewMessage, BatchSkip>> {
    let skip = |reason, detail: Option<String>| Ok(Err(BatchSkip { client_id, reason, detail }));
    let Some(client) = r.get::<Client>(RecordTable::Clients, client_id.as_u128())? else {
        return skip(SkipReason::NotFound, None);
    };
    if !client.active {
        return skip(SkipReason::Inactive, None);
    }
    let Some(to) = address(&client, c.channel) else {
        return skip(SkipReason::NoAddress, Some(format!("no address for {}", c.channel.as_str())));
    };
    let pets = pet_names(r, &client)?;
    let rendered = match render_for(t, client_values(&client, &pets, clinic), &BTreeMap::new()) {
        Ok(x) => x,
        Err(e) => return skip(SkipReason::RenderFailed, Some(format!("{}: {}", e.field, e.message))),
    };
    Ok(Ok(NewMessage {
        to,
        client_id: Some(client_id),
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        idempotency_key: format!("campaign:{}:{client_id}", c.id),
        due_at: None,
        purpose: Purpose::Marketing,
        template: Some((t.id, t.category)),
        automation: Some(subject(c.id)),
    }))
}

/// The `campaign_send` handler: resolves the segment on the first run, queues one chunk and
/// schedules the next.
struct CampaignChunk {
    messages: Messages,
    jobs: Jobs,
}

impl CampaignChunk {
    async fn attempt(&self, job: &Job, jc: &JobCtx) -> std::result::Result<JobOutcome, JobError> {
        let (id, n) = payload(&job.payload).map_err(|e| JobError::Permanent(e.message))?;
        let retry = |e: Error| JobError::Retry(format!("could not queue the campaign's chunk: {e}"));
        let r = jc.ctx.store.read().map_err(|e| retry(e.into()))?;
        let old = r
            .get::<Campaign>(RecordTable::Campaigns, id.as_u128())
            .map_err(|e| retry(e.into()))?
            .ok_or_else(|| JobError::Permanent(format!("campaign {id} does not exist")))?;
        if !matches!(old.state, CampaignState::Scheduled | CampaignState::Sending) {
            return Ok(JobOutcome::done());
        }
        let t = r
            .get::<Template>(RecordTable::Templates, old.template_id.as_u128())
            .map_err(|e| retry(e.into()))?
            .ok_or_else(|| JobError::Permanent(format!("template {} does not exist", old.template_id)))?;
        let now = jc.ctx.clock.now();
        let mut c = old.clone();
        if c.state == CampaignState::Scheduled {
            let segment = r
                .get::<Segment>(RecordTable::Segments, c.segment_id.as_u128())
                .map_err(|e| retry(e.into()))?
                .ok_or_else(|| JobError::Permanent(format!("segment {} does not exist", c.segment_id)))?;
            let mut members: Vec<ClientId> =
                evaluate(&r, &segment.filter, now, jc.ctx.today()).map_err(retry)?.into_iter().map(|c| c.id).collect();
            // Checked when scheduled; a segment that grew since is cut, not refused.
            members.truncate(MAX_AUDIENCE);
            c.audience = u32::try_from(members.len()).unwrap_or(u32::MAX);
            c.pending = members;
            c.state = CampaignState::Sending;
        }
        let mut set = ChangeSet::new();
        let mut pending = std::mem::take(&mut c.pending);
        let (mut queued, mut skipped) = (std::mem::take(&mut c.queued), std::mem::take(&mut c.skipped));
        let clinic = &jc.ctx.config.comms.clinic;
        queue_chunk(&self.messages, &mut set, &jc.caller, &mut pending, &mut queued, &mut skipped, |client_id| {
            decide_client(&r, &c, &t, client_id, clinic)
        })
        .map_err(retry)?;
        (c.pending, c.queued, c.skipped) = (pending, queued, skipped);
        drop(r);
        c.updated_at = now;
        if c.pending.is_empty() {
            c.state = CampaignState::Sent;
        } else {
            // Due after the messages just queued, so the scheduler sends a chunk before it
            // queues the next one (a big campaign does not run ahead of its own sending).
            let next = jc.ctx.clock.now();
            self.jobs.schedule(&mut set, chunk_job(id, n + 1, next), &jc.caller).map_err(retry)?;
        }
        write(&mut set, Some(&old), &mut c, &jc.caller).map_err(retry)?;
        Ok(JobOutcome::with(set))
    }
}

impl JobHandler for CampaignChunk {
    fn validate(&self, p: &serde_json::Value) -> std::result::Result<(), ValidationError> {
        payload(p).map(|_| ())
    }

    fn run<'a>(&'a self, job: &'a Job, ctx: &'a JobCtx) -> JobFuture<'a> {
        Box::pin(self.attempt(job, ctx))
    }
}
