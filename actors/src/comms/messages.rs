//! The message log and the `send_message` job kind: [`Messages::queue`] adds a `queued`
//! [`Message`] and the job that sends it to the caller's change set; [`SendMessage`] sends it
//! through the provider of its channel with the job's idempotency key, and moves the message
//! (`sent`, `failed`, `dead`) in the change set the scheduler commits with the job's outcome,
//! so the log never disagrees with the job. Reads for `/api/messages` are audited.

use std::ops::ControlFlow;
use std::sync::Arc;

use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::comms::{EmailHeader, EmailMessage, Mailbox, MessageKey, Sent, SmsMessage};
use clowder_schemas::events::{Author, DomainEvent};
use clowder_schemas::jobs::{self as jobs_model, Job};
use clowder_schemas::messages::{Channel, Message, MessageStatus, Purpose};
use clowder_schemas::templates::TemplateCategory;
use clowder_schemas::values::{Email, Phone};
use clowder_schemas::{ClientId, MessageId, TemplateId, ValidationError};
use jiff::{SignedDuration, Timestamp};

use super::consent::{self, Gate};
use super::links::{LinkPurpose, Links};
use super::{Providers, SendError};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::jobs::{JobCtx, JobError, JobFuture, JobHandler, JobOutcome, Jobs, NewJob, Scheduled};
use crate::store::{ChangeSet, IndexTable, RecordTable};

/// The job kind that sends one message.
pub const KIND: &str = "send_message";

/// Who a new message goes to.
#[derive(Debug, Clone)]
pub enum Recipient {
    Email(Email),
    Sms(Phone),
}

/// A message to queue.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub to: Recipient,
    pub client_id: Option<ClientId>,
    /// Required for email, ignored for SMS.
    pub subject: Option<String>,
    pub text: String,
    pub html: Option<String>,
    /// The job's idempotency key, and the provider-side key of the message.
    pub idempotency_key: String,
    /// When to send (`None`: now).
    pub due_at: Option<Timestamp>,
    /// Transactional or marketing: the consent the message needs.
    pub purpose: Purpose,
    /// The template it was rendered from, and its category.
    pub template: Option<(TemplateId, TemplateCategory)>,
    /// The automation that sends it (`appointment_reminder`, …), if any.
    pub automation: Option<String>,
}

/// Filters of the message list.
#[derive(Debug, Clone, Default)]
pub struct MessageFilter {
    pub client_id: Option<ClientId>,
    pub status: Option<MessageStatus>,
    pub channel: Option<Channel>,
}

/// The message log's service.
#[derive(Clone)]
pub struct Messages {
    ctx: Arc<Ctx>,
    jobs: Jobs,
    /// Signs the open pixel and tracked links of emails.
    links: Links,
}

impl Messages {
    pub fn new(ctx: Arc<Ctx>, jobs: Jobs) -> Messages {
        let links = Links::new(ctx.store.link_key(), &ctx.config.comms.clinic.public_url);
        Messages { ctx, jobs, links }
    }

    /// Adds to `set` a `queued` message and the `send_message` job that sends it. A repeated
    /// idempotency key adds nothing and returns the message its first use queued. An email
    /// with HTML to a client gets its open pixel and tracked links here
    /// ([`super::tracking::instrument`]). The caller commits `set`, then calls [`Jobs::wake`].
    pub fn queue(&self, set: &mut ChangeSet, new: NewMessage, caller: &Caller) -> Result<MessageId> {
        self.queue_with(set, new, Vec::new(), caller)
    }

    /// [`Messages::queue`] for an email carrying attachments by reference
    /// ([`super::attachments`]): rendered by the sending job, at most
    /// [`clowder_schemas::comms::MAX_ATTACHMENTS`].
    pub fn queue_with(
        &self,
        set: &mut ChangeSet,
        new: NewMessage,
        attachments: Vec<String>,
        caller: &Caller,
    ) -> Result<MessageId> {
        if !attachments.is_empty() && !matches!(new.to, Recipient::Email(_)) {
            return Err(ValidationError::new("attachments", "only an email carries attachments").into());
        }
        if attachments.len() > clowder_schemas::comms::MAX_ATTACHMENTS {
            return Err(ValidationError::new("attachments", "too many").into());
        }
        for a in &attachments {
            clowder_schemas::comms::check_attachment_ref("attachments", a)?;
        }
        let key = MessageKey::parse("idempotency_key", &new.idempotency_key)?;
        jobs_model::check_key(&new.idempotency_key)?;
        let id = MessageId::from_ulid(self.ctx.new_ulid());
        let now = self.ctx.clock.now();
        let (channel, recipient, subject) = match &new.to {
            Recipient::Email(e) => {
                let m =
                    EmailMessage::new(key, Mailbox::new(e.clone()), new.subject.clone().unwrap_or_default(), &new.text);
                m.check()?;
                (Channel::Email, e.as_str().to_owned(), Some(m.subject))
            }
            Recipient::Sms(p) => {
                if new.text.trim().is_empty() {
                    return Err(ValidationError::new("text", "is required").into());
                }
                (Channel::Sms, p.as_str().to_owned(), None)
            }
        };
        let scheduled = self.jobs.schedule(
            set,
            NewJob {
                kind: KIND.into(),
                payload: serde_json::json!({ "message_id": id }),
                due_at: new.due_at.unwrap_or(now),
                idempotency_key: new.idempotency_key.clone(),
                subject: Some(format!("message:{id}")),
            },
            caller,
        )?;
        if let Scheduled::Existing(job) = scheduled {
            return self.message_of_job(job);
        }
        // Opens and clicks are tracked in an email's HTML to a client (a test message to a
        // typed address is nobody's), rewritten here so the stored HTML is what is sent.
        let (html, tracked_links) = match (channel, new.html, new.client_id) {
            (Channel::Email, Some(html), Some(_)) => {
                let public_url = &self.ctx.config.comms.clinic.public_url;
                let t = super::tracking::instrument(&self.links, public_url, &html, id, now);
                (Some(t.html), t.links)
            }
            (Channel::Email, html, _) => (html, Vec::new()),
            (Channel::Sms, _, _) => (None, Vec::new()),
        };
        let message = Message {
            id,
            channel,
            recipient,
            client_id: new.client_id,
            subject,
            text: new.text,
            html,
            idempotency_key: new.idempotency_key,
            purpose: new.purpose,
            template_id: new.template.map(|t| t.0),
            category: new.template.map(|t| t.1),
            automation: new.automation,
            status: MessageStatus::Queued,
            provider: None,
            provider_id: None,
            attempts: 0,
            last_error: None,
            created_at: now,
            sent_at: None,
            updated_at: now,
            created_by: caller.user_id(),
            link_clicks: vec![0; tracked_links.len()],
            tracked_links,
            opened_at: None,
            opens: 0,
            clicked_at: None,
            clicks: 0,
            attachments,
        };
        set.put(RecordTable::Messages, id.as_u128(), &message)?;
        if let Some(c) = message.client_id {
            set.link(IndexTable::MessagesByClient, c.as_u128(), id.as_u128());
        }
        set.audit(AuditDraft::new(caller, "message.queue").record("message", id).detail(serde_json::json!({
            "channel": channel, "client_id": message.client_id, "idempotency_key": message.idempotency_key,
        })));
        Ok(id)
    }

    /// Queues one message in a change set of its own and wakes the scheduler.
    pub async fn send(&self, new: NewMessage, caller: &Caller) -> Result<MessageId> {
        self.send_with(new, Vec::new(), caller).await
    }

    /// [`Messages::send`] of an email with attachments by reference.
    pub async fn send_with(&self, new: NewMessage, attachments: Vec<String>, caller: &Caller) -> Result<MessageId> {
        let mut set = ChangeSet::new();
        let id = self.queue_with(&mut set, new, attachments, caller)?;
        self.ctx.store.commit(set).await?;
        self.jobs.wake();
        Ok(id)
    }

    fn message_of_job(&self, job: clowder_schemas::JobId) -> Result<MessageId> {
        let r = self.ctx.store.read()?;
        let job = r.get::<Job>(RecordTable::Jobs, job.as_u128())?.ok_or(Error::JobNotFound(job))?;
        payload_message(&job.payload).map_err(|e| {
            Error::Validation(ValidationError::new("idempotency_key", format!("is used by another job: {e}")))
        })
    }

    fn load(&self, id: MessageId) -> Result<Message> {
        self.ctx.store.read()?.get::<Message>(RecordTable::Messages, id.as_u128())?.ok_or(Error::MessageNotFound(id))
    }

    /// One message (the read is audited: recipients are personal data).
    pub async fn get(&self, id: MessageId, caller: &Caller) -> Result<Message> {
        let m = self.load(id)?;
        self.ctx.store.enqueue_audit(AuditDraft::new(caller, "message.read").record("message", id)).await?;
        Ok(m)
    }

    /// A page of messages, newest first, below the cursor `before` (the read is audited).
    pub async fn list(
        &self,
        filter: &MessageFilter,
        limit: usize,
        before: Option<u128>,
        caller: &Caller,
    ) -> Result<(Vec<Message>, Option<u128>)> {
        // A filter matching nothing must not walk the whole table per request.
        const MAX_SCAN: usize = 20_000;
        let keep = |m: &Message| {
            filter.status.is_none_or(|s| s == m.status)
                && filter.channel.is_none_or(|c| c == m.channel)
                && filter.client_id.is_none_or(|c| m.client_id == Some(c))
        };
        let r = self.ctx.store.read()?;
        let mut out = Vec::new();
        let mut scanned = 0;
        let mut last = None;
        if let Some(client) = filter.client_id {
            let mut ids = r.children(IndexTable::MessagesByClient, client.as_u128(), None)?;
            ids.retain(|id| before.is_none_or(|b| *id < b));
            for id in ids.into_iter().rev() {
                if let Some(m) = r.get::<Message>(RecordTable::Messages, id)?
                    && keep(&m)
                {
                    out.push(m);
                }
                if out.len() > limit {
                    break;
                }
            }
        } else {
            r.scan_rev::<Message>(RecordTable::Messages, before, |m| {
                scanned += 1;
                last = Some(m.id.as_u128());
                if keep(&m) {
                    out.push(m);
                }
                if out.len() > limit || scanned >= MAX_SCAN {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })?;
        }
        let next = if out.len() > limit {
            out.truncate(limit);
            out.last().map(|m| m.id.as_u128())
        } else if scanned >= MAX_SCAN {
            last
        } else {
            None
        };
        self.ctx
            .store
            .enqueue_audit(AuditDraft::new(caller, "message.list").detail(serde_json::json!({ "count": out.len() })))
            .await?;
        Ok((out, next))
    }
}

fn payload_message(payload: &serde_json::Value) -> std::result::Result<MessageId, ValidationError> {
    payload
        .get("message_id")
        .and_then(|v| v.as_str())
        .and_then(|s| s.parse::<MessageId>().ok())
        .ok_or_else(|| ValidationError::new("payload", "needs message_id, a message id"))
}

/// A provider's refusal as the scheduler's: `Retry` (with the provider's wait) or `Permanent`.
pub fn job_error(e: SendError) -> JobError {
    match e {
        SendError::Retry { reason, after: Some(after) } => JobError::RetryAfter(reason, after),
        SendError::Retry { reason, after: None } => JobError::Retry(reason),
        SendError::Permanent { reason } => JobError::Permanent(reason),
    }
}

/// The message once a provider accepted it on attempt `attempts`.
pub fn after_sent(old: &Message, sent: &Sent, attempts: u32, now: Timestamp) -> Message {
    Message {
        status: MessageStatus::Sent,
        provider: Some(sent.provider.to_string()),
        provider_id: Some(sent.provider_id.clone()),
        attempts,
        last_error: None,
        sent_at: Some(sent.accepted_at),
        updated_at: now,
        ..old.clone()
    }
}

/// The message after a failed attempt: `dead` when the job gives up, else `failed`. A message
/// already `sent` (or `delivered`, `bounced`) stays so (a failure after the provider's acceptance, e.g. a refused commit,
/// does not unsend it).
pub fn after_failure(old: &Message, error: &JobError, dead: bool, attempts: u32, now: Timestamp) -> Message {
    if matches!(old.status, MessageStatus::Sent | MessageStatus::Delivered | MessageStatus::Bounced) {
        return old.clone();
    }
    Message {
        status: if dead { MessageStatus::Dead } else { MessageStatus::Failed },
        attempts,
        last_error: Some(error.to_string()),
        updated_at: now,
        ..old.clone()
    }
}

/// The `message_failed` event of a message that will not arrive: the recipient masked, no
/// content (the board shows it to everyone who may read the log).
pub fn failed_event(m: &Message, reason: &str) -> DomainEvent {
    DomainEvent::MessageFailed {
        message_id: m.id,
        client_id: m.client_id,
        channel: m.channel,
        status: m.status,
        recipient: super::providers::mask_recipient(&m.recipient),
        reason: reason.to_owned(),
    }
}

/// How long the unsubscribe link of a marketing email works.
pub const UNSUBSCRIBE_LINK_LIFE: SignedDuration = SignedDuration::from_hours(24 * 60);

/// The `send_message` handler.
pub struct SendMessage {
    pub providers: Providers,
    /// Signs the unsubscribe links of marketing emails.
    pub links: Links,
    /// Renders the attachments emails name by reference.
    pub attachments: super::attachments::Attachments,
}

/// The key of a provider's message id in `messages_by_provider_id`: the first 16 bytes of its
/// SHA-256 (ids are up to a few hundred bytes; the index keys are 128 bits).
pub fn provider_key(provider_id: &str) -> u128 {
    let d = ring::digest::digest(&ring::digest::SHA256, provider_id.trim().as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d.as_ref()[..16]);
    u128::from_be_bytes(b)
}

/// A `ChangeSet::require` check: the stored message still has `status`.
pub fn same_status(status: MessageStatus) -> impl Fn(Option<&[u8]>) -> bool + Send + 'static {
    move |bytes| bytes.is_some_and(|b| crate::store::codec::decode::<Message>(b).is_ok_and(|m| m.status == status))
}

/// The message the consent gate stopped: `suppressed`, with the reason.
pub fn after_suppressed(old: &Message, reason: &str, attempts: u32, now: Timestamp) -> Message {
    Message {
        status: MessageStatus::Suppressed,
        attempts,
        last_error: Some(reason.to_owned()),
        updated_at: now,
        ..old.clone()
    }
}

impl SendMessage {
    async fn attempt(&self, job: &Job, ctx: &JobCtx) -> std::result::Result<JobOutcome, JobError> {
        let id = payload_message(&job.payload).map_err(|e| JobError::Permanent(e.message))?;
        let message = ctx
            .ctx
            .store
            .read()
            .and_then(|r| r.get::<Message>(RecordTable::Messages, id.as_u128()))
            .map_err(|e| JobError::Retry(format!("could not read the message: {e}")))?
            .ok_or_else(|| JobError::Permanent(format!("message {id} does not exist")))?;
        if matches!(message.status, MessageStatus::Sent | MessageStatus::Delivered | MessageStatus::Bounced) {
            return Ok(JobOutcome::done());
        }
        // The consent gate: only for messages to a client (a test message to a typed address
        // has nobody's consent to ask).
        if let Some(client) = message.client_id {
            let now = ctx.ctx.clock.now();
            let r = ctx.ctx.store.read().map_err(|e| JobError::Retry(format!("could not read the store: {e}")))?;
            let prefs = consent::preferences_in(&r, client, &ctx.ctx.config.comms.quiet_hours)
                .map_err(|e| JobError::Retry(format!("could not read the client's preferences: {e}")))?;
            let since = now.checked_sub(consent::CAP_PERIOD).unwrap_or(now);
            let decision =
                consent::gate(&prefs, message.channel, message.purpose, now, &ctx.ctx.config.time_zone, || {
                    // A read error counts as over the cap: better one marketing message too few.
                    consent::marketing_sent_since(&r, client, since).unwrap_or(usize::MAX)
                });
            match decision {
                Gate::Send => {}
                Gate::Defer(until) => {
                    return Err(JobError::Defer { until, reason: "outside the client's hours".into() });
                }
                Gate::Suppress(reason) => {
                    let mut set = ChangeSet::new();
                    let updated = after_suppressed(&message, &reason, job.attempts, now);
                    set.require(RecordTable::Messages, id.as_u128(), "message", same_status(message.status));
                    set.put(RecordTable::Messages, id.as_u128(), &updated)
                        .map_err(|e| JobError::Retry(format!("could not encode the message: {e}")))?;
                    set.audit(
                        AuditDraft::new(&ctx.caller, "message.suppressed")
                            .record("message", id)
                            .detail(serde_json::json!({ "reason": reason })),
                    );
                    return Ok(JobOutcome::with(set));
                }
            }
        }
        let key =
            MessageKey::parse("idempotency_key", &job.idempotency_key).map_err(|e| JobError::Permanent(e.message))?;
        let sent = match message.channel {
            Channel::Email => {
                let to = Email::parse("recipient", &message.recipient).map_err(|e| JobError::Permanent(e.message))?;
                let mut m = EmailMessage::new(
                    key,
                    Mailbox::new(to),
                    message.subject.clone().unwrap_or_default(),
                    &message.text,
                );
                m.html = message.html.clone();
                // Rendered now, after the consent gate: a suppressed message renders nothing.
                for reference in &message.attachments {
                    m.attachments.push(self.attachments.render(reference).await?);
                }
                if let (Some(client), Purpose::Marketing) = (message.client_id, message.purpose) {
                    // RFC 8058 one-click unsubscribe: the link revokes marketing email.
                    let expires = ctx.ctx.clock.now().checked_add(UNSUBSCRIBE_LINK_LIFE).unwrap_or(Timestamp::MAX);
                    let url = self.links.url(LinkPurpose::Unsubscribe, client.as_u128(), expires);
                    m.headers.push(EmailHeader::list_unsubscribe(&url).map_err(|e| JobError::Permanent(e.message))?);
                    m.headers.push(EmailHeader::list_unsubscribe_post());
                }
                self.providers.email.send(&m).await
            }
            Channel::Sms => {
                let to = Phone::parse("recipient", &message.recipient, &ctx.ctx.config.country_code)
                    .map_err(|e| JobError::Permanent(e.message))?;
                self.providers.sms.send(&SmsMessage { key, to, body: message.text.clone() }).await
            }
        }
        .map_err(job_error)?;
        let mut set = ChangeSet::new();
        let updated = after_sent(&message, &sent, job.attempts, ctx.ctx.clock.now());
        // A delivery webhook that moved the message meanwhile wins: this commit is refused and
        // the next attempt finds the message delivered (and sends nothing).
        set.require(RecordTable::Messages, id.as_u128(), "message", same_status(message.status));
        set.put(RecordTable::Messages, id.as_u128(), &updated)
            .map_err(|e| JobError::Retry(format!("could not encode the message: {e}")))?;
        set.link(IndexTable::MessagesByProviderId, provider_key(&sent.provider_id), id.as_u128());
        set.audit(AuditDraft::new(&ctx.caller, "message.sent").record("message", id).detail(serde_json::json!({
            "provider": updated.provider, "provider_id": updated.provider_id, "attempt": job.attempts,
        })));
        Ok(JobOutcome::with(set))
    }
}

impl JobHandler for SendMessage {
    fn validate(&self, payload: &serde_json::Value) -> std::result::Result<(), ValidationError> {
        payload_message(payload).map(|_| ())
    }

    fn run<'a>(&'a self, job: &'a Job, ctx: &'a JobCtx) -> JobFuture<'a> {
        Box::pin(self.attempt(job, ctx))
    }

    fn on_failure(&self, job: &Job, error: &JobError, dead: bool, ctx: &JobCtx) -> ChangeSet {
        let mut set = ChangeSet::new();
        let Ok(id) = payload_message(&job.payload) else { return set };
        let old = match ctx.ctx.store.read().and_then(|r| r.get::<Message>(RecordTable::Messages, id.as_u128())) {
            Ok(Some(m)) => m,
            _ => return set,
        };
        let new = after_failure(&old, error, dead, job.attempts, ctx.ctx.clock.now());
        if new != old && set.put(RecordTable::Messages, id.as_u128(), &new).is_err() {
            return ChangeSet::new();
        }
        if new.status == MessageStatus::Dead && old.status != MessageStatus::Dead {
            set.event(Author::System, failed_event(&new, &error.to_string()));
        }
        set
    }
}

#[cfg(test)]
mod tests;
