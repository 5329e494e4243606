//! What staff send by hand: one message to one client ([`Batches::send`]) and a template to
//! many clients ([`Batches::start`]), with the batch's progress and partial-failure report
//! ([`Batches::report`]).
//!
//! A batch is a row of `message_batches` holding the clients still to do (`pending`), the
//! messages queued and the clients skipped with why. The request writes only the batch and
//! the first `message_batch` job; each run of that job queues the next [`CHUNK`] clients'
//! messages (each with its `send_message` job, through [`Messages::queue`]) and schedules the
//! run for the next chunk, all in the change set the scheduler commits with the run's
//! success. So a batch of 5,000 clients is 25 modest commits between which other writes get
//! the commit thread, and a crash resumes at the chunk that did not commit, without queueing
//! a client twice (each message's key is `batch:<batch>:<client>`).
//!
//! Consent is not decided here: every message goes through the send gate of
//! `messages.rs` like any other; a batch only skips what it cannot address.

use std::collections::{BTreeMap, HashSet};
use std::ops::ControlFlow;
use std::sync::Arc;

use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::batches::{
    Audience, Batch, BatchEntry, BatchFailure, BatchReport, BatchSkip, BatchStarted, BatchState, MAX_BATCH_CLIENTS,
    SkipReason, StatusCounts,
};
use clowder_schemas::campaigns::Segment;
use clowder_schemas::clients::Client;
use clowder_schemas::ids::SegmentId;
use clowder_schemas::jobs::Job;
use clowder_schemas::messages::{Channel, Message, MessageStatus};
use clowder_schemas::templates::Template;
use clowder_schemas::{BatchId, ClientId, MessageId, TemplateId, ValidationError};

use super::ClinicProfile;
use super::compose::{address, check_template, client_values, default_channel, pet_names, purpose_of, render_for};
use super::messages::{Messages, NewMessage};
use super::segments::evaluate;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::jobs::{JobCtx, JobError, JobFuture, JobHandler, JobOutcome, Jobs, NewJob};
use crate::store::{ChangeSet, Reader, RecordTable};

/// The job kind that queues one chunk of a batch.
pub const KIND: &str = "message_batch";

/// Clients queued per change set.
pub const CHUNK: usize = 200;

/// What a message sent to one client holds: a template, or content typed by staff.
#[derive(Debug, Clone)]
pub enum Content {
    Template { id: TemplateId, values: BTreeMap<String, String> },
    Typed { subject: Option<String>, text: String, html: Option<String> },
}

/// One message to one client.
#[derive(Debug, Clone)]
pub struct SendRequest {
    pub client_id: ClientId,
    /// `None`: the template's channel, else the client's preferred one.
    pub channel: Option<Channel>,
    pub content: Content,
}

/// A template to many clients.
#[derive(Debug, Clone)]
pub struct BatchRequest {
    pub template_id: TemplateId,
    pub audience: Audience,
    /// With [`Audience::Clients`]; repeats are sent once.
    pub client_ids: Vec<ClientId>,
    /// With [`Audience::Segment`]: the saved segment, resolved now.
    pub segment_id: Option<SegmentId>,
    pub values: BTreeMap<String, String>,
}

/// Staff sends and batches.
#[derive(Clone)]
pub struct Batches {
    ctx: Arc<Ctx>,
    jobs: Jobs,
    messages: Messages,
}

fn clinic(ctx: &Ctx) -> &ClinicProfile {
    &ctx.config.comms.clinic
}

/// A template from the snapshot, or 422 naming `template_id`.
fn template(r: &Reader, id: TemplateId) -> Result<Template> {
    r.get::<Template>(RecordTable::Templates, id.as_u128())?
        .ok_or_else(|| ValidationError::new("template_id", "no template has this id").into())
}

impl Batches {
    pub fn new(ctx: Arc<Ctx>, jobs: Jobs, messages: Messages) -> Batches {
        Batches { ctx, jobs, messages }
    }

    /// Queues one message to one client (422 naming the field when the client, the
    /// template, the channel's address or a variable's value is missing).
    pub async fn send(&self, req: SendRequest, caller: &Caller) -> Result<MessageId> {
        let r = self.ctx.store.read()?;
        let client = r
            .get::<Client>(RecordTable::Clients, req.client_id.as_u128())?
            .ok_or_else(|| ValidationError::new("client_id", "no client has this id"))?;
        if !client.active {
            return Err(ValidationError::new("client_id", "the client is deactivated").into());
        }
        let (channel, subject, text, html, purpose, template) = match req.content {
            Content::Template { id, values } => {
                let t = template(&r, id)?;
                check_template(&t, &values, clinic(&self.ctx))?;
                if req.channel.is_some_and(|c| c != t.channel) {
                    return Err(ValidationError::new(
                        "channel",
                        format!("the template is for {}", channel_words(t.channel)),
                    )
                    .into());
                }
                let pets = pet_names(&r, &client)?;
                let rendered = render_for(&t, client_values(&client, &pets, clinic(&self.ctx)), &values)?;
                (
                    t.channel,
                    rendered.subject,
                    rendered.text,
                    rendered.html,
                    purpose_of(t.category),
                    Some((id, t.category)),
                )
            }
            Content::Typed { subject, text, html } => {
                let channel = req.channel.unwrap_or_else(|| default_channel(&client));
                if channel == Channel::Sms {
                    if subject.is_some() {
                        return Err(ValidationError::new("subject", "a text message has no subject").into());
                    }
                    if html.is_some() {
                        return Err(ValidationError::new("html", "a text message has no HTML part").into());
                    }
                }
                (channel, subject, text, html, clowder_schemas::messages::Purpose::Transactional, None)
            }
        };
        let to = address(&client, channel)
            .ok_or_else(|| ValidationError::new("channel", format!("the client has no {}", address_words(channel))))?;
        drop(r);
        let new = NewMessage {
            to,
            client_id: Some(client.id),
            subject,
            text,
            html,
            idempotency_key: format!("send:{}", self.ctx.new_ulid()),
            due_at: None,
            purpose,
            template,
            automation: None,
        };
        self.messages.send(new, caller).await
    }

    /// Starts a batch: checks the template and the audience, writes the batch and the job
    /// of its first chunk (with the caller's audit entry, which carries an
    /// `Idempotency-Key`), and wakes the scheduler.
    pub async fn start(&self, req: BatchRequest, caller: &Caller) -> Result<BatchStarted> {
        let r = self.ctx.store.read()?;
        let t = template(&r, req.template_id)?;
        check_template(&t, &req.values, clinic(&self.ctx))?;
        let clients = match req.audience {
            Audience::Clients => {
                let mut seen = HashSet::new();
                let ids: Vec<ClientId> = req.client_ids.into_iter().filter(|c| seen.insert(*c)).collect();
                if ids.is_empty() || ids.len() > MAX_BATCH_CLIENTS {
                    return Err(ValidationError::new(
                        "client_ids",
                        format!("must name 1 to {MAX_BATCH_CLIENTS} clients"),
                    )
                    .into());
                }
                ids
            }
            Audience::ActiveClients => {
                let mut ids = Vec::new();
                r.scan::<Client>(RecordTable::Clients, None, |c| {
                    if c.active && address(&c, t.channel).is_some() {
                        ids.push(c.id);
                    }
                    if ids.len() > MAX_BATCH_CLIENTS { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
                })?;
                if ids.is_empty() {
                    return Err(ValidationError::new(
                        "audience",
                        format!("no active client has {}", address_words(t.channel)),
                    )
                    .into());
                }
                if ids.len() > MAX_BATCH_CLIENTS {
                    return Err(ValidationError::new(
                        "audience",
                        format!("more than {MAX_BATCH_CLIENTS} clients; send to lists of clients in parts"),
                    )
                    .into());
                }
                ids
            }
            Audience::Segment => {
                let id = req
                    .segment_id
                    .ok_or_else(|| ValidationError::new("segment_id", "is required with audience segment"))?;
                let s = r
                    .get::<Segment>(RecordTable::Segments, id.as_u128())?
                    .ok_or_else(|| ValidationError::new("segment_id", "no segment has this id"))?;
                // Resolved now, like a campaign when it starts sending; who cannot be reached
                // on the channel is skipped with why by the chunk that meets them.
                let ids: Vec<ClientId> = evaluate(&r, &s.filter, self.ctx.clock.now(), self.ctx.today())?
                    .into_iter()
                    .map(|c| c.id)
                    .collect();
                if ids.is_empty() {
                    return Err(ValidationError::new("segment_id", "the segment holds no client now").into());
                }
                if ids.len() > MAX_BATCH_CLIENTS {
                    return Err(ValidationError::new(
                        "segment_id",
                        format!("the segment holds {} clients, more than {MAX_BATCH_CLIENTS}; narrow it", ids.len()),
                    )
                    .into());
                }
                ids
            }
        };
        drop(r);
        let id = BatchId::from_ulid(self.ctx.new_ulid());
        let now = self.ctx.clock.now();
        let total = u32::try_from(clients.len()).unwrap_or(u32::MAX);
        let batch = Batch {
            id,
            template_id: t.id,
            template_name: t.content.name.clone(),
            category: t.category,
            channel: t.channel,
            audience: req.audience,
            segment_id: req.segment_id.filter(|_| req.audience == Audience::Segment),
            values: req.values,
            state: BatchState::Queueing,
            total,
            pending: clients,
            queued: Vec::new(),
            skipped: Vec::new(),
            created_at: now,
            updated_at: now,
            created_by: caller.user_id(),
        };
        let mut set = ChangeSet::new();
        set.put(RecordTable::Batches, id.as_u128(), &batch)?;
        self.jobs.schedule(&mut set, chunk_job(id, 0, now), caller)?;
        set.audit(AuditDraft::new(caller, "batch.create").record("message_batch", id).detail(serde_json::json!({
            "template_id": t.id, "channel": t.channel, "audience": req.audience, "total": total,
            "segment_id": batch.segment_id,
        })));
        self.ctx.store.commit(set).await?;
        self.jobs.wake();
        Ok(BatchStarted { batch_id: id, total })
    }

    /// A batch's progress and partial-failure report, its messages counted by status now
    /// (audited: it names clients).
    pub async fn report(&self, id: BatchId, caller: &Caller) -> Result<BatchReport> {
        let r = self.ctx.store.read()?;
        let b = r.get::<Batch>(RecordTable::Batches, id.as_u128())?.ok_or(Error::BatchNotFound(id))?;
        let mut messages = StatusCounts::default();
        let mut failures = Vec::new();
        for e in &b.queued {
            let Some(m) = r.get::<Message>(RecordTable::Messages, e.message_id.as_u128())? else { continue };
            messages.add(m.status);
            if matches!(
                m.status,
                MessageStatus::Failed | MessageStatus::Dead | MessageStatus::Bounced | MessageStatus::Suppressed
            ) {
                failures.push(BatchFailure {
                    client_id: e.client_id,
                    message_id: m.id,
                    status: m.status,
                    reason: m.last_error.clone(),
                });
            }
        }
        drop(r);
        self.ctx.store.enqueue_audit(AuditDraft::new(caller, "batch.read").record("message_batch", id)).await?;
        let queued = u32::try_from(b.queued.len()).unwrap_or(u32::MAX);
        let done = b.state == BatchState::Queued && messages.settled() == queued;
        Ok(BatchReport {
            id: b.id,
            template_id: b.template_id,
            template_name: b.template_name,
            channel: b.channel,
            audience: b.audience,
            state: b.state,
            total: b.total,
            queued,
            skipped_count: u32::try_from(b.skipped.len()).unwrap_or(u32::MAX),
            pending: u32::try_from(b.pending.len()).unwrap_or(u32::MAX),
            messages,
            done,
            skipped: b.skipped,
            failures,
            created_at: b.created_at,
            created_by: b.created_by,
        })
    }

    /// The newest `limit` batches, newest first: what was sent, to how many, and whether all
    /// were queued (no client is named, so the read is not audited).
    pub fn recent(&self, limit: usize) -> Result<Vec<Batch>> {
        let r = self.ctx.store.read()?;
        let mut out = Vec::with_capacity(limit);
        r.scan_rev::<Batch>(RecordTable::Batches, None, |mut b| {
            // The lists of clients are not needed for a summary.
            b.pending = Vec::new();
            b.skipped = Vec::new();
            b.queued = Vec::new();
            out.push(b);
            if out.len() >= limit { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        })?;
        Ok(out)
    }

    /// The handler of the `message_batch` job kind (registered at start).
    pub fn handler(&self) -> Arc<dyn JobHandler> {
        Arc::new(BatchChunk { messages: self.messages.clone(), jobs: self.jobs.clone() })
    }
}

fn channel_words(c: Channel) -> &'static str {
    match c {
        Channel::Email => "email",
        Channel::Sms => "text messages",
    }
}

fn address_words(c: Channel) -> &'static str {
    match c {
        Channel::Email => "email address",
        Channel::Sms => "mobile number",
    }
}

/// The job that queues chunk `n` of a batch.
fn chunk_job(id: BatchId, n: u32, due_at: jiff::Timestamp) -> NewJob {
    NewJob {
        kind: KIND.into(),
        payload: serde_json::json!({ "batch_id": id, "chunk": n }),
        due_at,
        idempotency_key: format!("batch:{id}:chunk:{n}"),
        subject: Some(format!("message_batch:{id}")),
    }
}

fn payload(p: &serde_json::Value) -> std::result::Result<(BatchId, u32), ValidationError> {
    let bad = || ValidationError::new("payload", "needs batch_id, a batch id, and chunk, a number");
    let id = p.get("batch_id").and_then(|v| v.as_str()).and_then(|s| s.parse::<BatchId>().ok()).ok_or_else(bad)?;
    let n = p.get("chunk").and_then(|v| v.as_u64()).and_then(|n| u32::try_from(n).ok()).ok_or_else(bad)?;
    Ok((id, n))
}

/// Takes up to [`CHUNK`] clients off `pending` and queues each one's message into `set`
/// (batches and campaigns alike): a client `decide` skips, or whose message the log refuses,
/// is recorded as a skip; any other error fails the chunk, which is then retried whole.
pub(crate) fn queue_chunk(
    messages: &Messages,
    set: &mut ChangeSet,
    caller: &Caller,
    pending: &mut Vec<ClientId>,
    queued: &mut Vec<BatchEntry>,
    skipped: &mut Vec<BatchSkip>,
    mut decide: impl FnMut(ClientId) -> Result<std::result::Result<NewMessage, BatchSkip>>,
) -> Result<()> {
    let take = pending.len().min(CHUNK);
    for client_id in pending.drain(..take).collect::<Vec<_>>() {
        match decide(client_id)? {
            Err(skip) => skipped.push(skip),
            Ok(new) => match messages.queue(set, new, caller) {
                Ok(message_id) => queued.push(BatchEntry { client_id, message_id }),
                Err(Error::Validation(e)) => skipped.push(BatchSkip {
                    client_id,
                    reason: SkipReason::Refused,
                    detail: Some(format!("{}: {}", e.field, e.message)),
                }),
                Err(e) => return Err(e),
            },
        }
    }
    Ok(())
}

/// What one client of a batch gets: a message, or a skip with why.
pub fn decide_client(
    r: &Reader,
    batch: &Batch,
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
    let Some(to) = address(&client, batch.channel) else {
        return skip(SkipReason::NoAddress, Some(format!("no {}", address_words(batch.channel))));
    };
    let pets = pet_names(r, &client)?;
    let rendered = match render_for(t, client_values(&client, &pets, clinic), &batch.values) {
        Ok(x) => x,
        Err(e) => return skip(SkipReason::RenderFailed, Some(format!("{}: {}", e.field, e.message))),
    };
    Ok(Ok(NewMessage {
        to,
        client_id: Some(client_id),
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        idempotency_key: format!("batch:{}:{client_id}", batch.id),
        due_at: None,
        purpose: purpose_of(batch.category),
        template: Some((batch.template_id, batch.category)),
        automation: None,
    }))
}

/// The `message_batch` handler: queues one chunk and schedules the next.
struct BatchChunk {
    messages: Messages,
    jobs: Jobs,
}

impl BatchChunk {
    async fn attempt(&self, job: &Job, jc: &JobCtx) -> std::result::Result<JobOutcome, JobError> {
        let (id, n) = payload(&job.payload).map_err(|e| JobError::Permanent(e.message))?;
        let retry = |e: Error| JobError::Retry(format!("could not queue the batch's chunk: {e}"));
        let r = jc.ctx.store.read().map_err(|e| retry(e.into()))?;
        let mut batch = r
            .get::<Batch>(RecordTable::Batches, id.as_u128())
            .map_err(|e| retry(e.into()))?
            .ok_or_else(|| JobError::Permanent(format!("batch {id} does not exist")))?;
        if batch.state == BatchState::Queued {
            return Ok(JobOutcome::done());
        }
        let t = r
            .get::<Template>(RecordTable::Templates, batch.template_id.as_u128())
            .map_err(|e| retry(e.into()))?
            .ok_or_else(|| JobError::Permanent(format!("template {} does not exist", batch.template_id)))?;
        let now = jc.ctx.clock.now();
        let mut set = ChangeSet::new();
        let mut pending = std::mem::take(&mut batch.pending);
        let (mut queued, mut skipped) = (std::mem::take(&mut batch.queued), std::mem::take(&mut batch.skipped));
        queue_chunk(&self.messages, &mut set, &jc.caller, &mut pending, &mut queued, &mut skipped, |client_id| {
            decide_client(&r, &batch, &t, client_id, clinic(&jc.ctx))
        })
        .map_err(retry)?;
        (batch.pending, batch.queued, batch.skipped) = (pending, queued, skipped);
        drop(r);
        batch.updated_at = now;
        if batch.pending.is_empty() {
            batch.state = BatchState::Queued;
        } else {
            self.jobs.schedule(&mut set, chunk_job(id, n + 1, now), &jc.caller).map_err(retry)?;
        }
        set.put(RecordTable::Batches, id.as_u128(), &batch).map_err(|e| retry(e.into()))?;
        Ok(JobOutcome::with(set))
    }
}

impl JobHandler for BatchChunk {
    fn validate(&self, p: &serde_json::Value) -> std::result::Result<(), ValidationError> {
        payload(p).map(|_| ())
    }

    fn run<'a>(&'a self, job: &'a Job, ctx: &'a JobCtx) -> JobFuture<'a> {
        Box::pin(self.attempt(job, ctx))
    }
}
