//! Durable jobs and the one scheduler that runs them.
//!
//! Domain dependencies: staff.
//!
//! A job is a row of the `jobs` table (`clowder_schemas::jobs::Job`) with an entry in the due
//! index while it will still run and one in the subject index when a record caused it. Any
//! service schedules, cancels or reschedules jobs by adding ops to the change set it already
//! commits ([`Jobs::schedule`], [`Jobs::cancel_subject`], [`Jobs::reschedule_subject`]), so the
//! job exists exactly when its cause does; afterwards it calls [`Jobs::wake`]. Every write of
//! a job requires the stored job to still have the revision it was decided on (checked by the
//! commit thread, `ChangeSet::require`), so the scheduler, a person and another service never
//! overwrite each other's move. The scheduler (`scheduler.rs`) runs due jobs through the
//! handlers registered here. Why jobs are not a kind of the generic record mechanism, and the
//! delivery contract (at-least-once runs, exactly-once store effects), are in `docs/jobs.md`.

pub mod backoff;
pub mod cleanup;
pub mod record_job;
pub mod recurring;
mod scheduler;
pub mod selftest;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::jobs::{self as model, Job, JobState};
use clowder_schemas::{JobId, ValidationError};
use jiff::Timestamp;

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::store::tables::unique;
use crate::store::{ChangeSet, IndexTable, RecordTable, codec};

pub use record_job::RecordJob;
pub use recurring::{Recurring, Rule};

/// The scheduler's settings.
#[derive(Debug, Clone)]
pub struct JobsConfig {
    /// Jobs running at once.
    pub concurrency: usize,
    /// Attempts before a job is dead, for kinds that do not set their own.
    pub max_attempts: u32,
    /// The first retry waits up to this long (full jitter); each next one up to twice as long.
    pub backoff_base: Duration,
    /// No retry waits longer than this.
    pub backoff_cap: Duration,
    /// A handler running longer than this counts as a failed attempt (to be retried).
    pub run_timeout: Duration,
    /// The daily clean-up's local time (`None`: not scheduled).
    pub cleanup_at: Option<jiff::civil::Time>,
    /// Registers the `selftest` kind and enqueues this many `selftest:<n>` jobs at start
    /// (0: off). For the crash test and for checking a deployment; see `docs/jobs.md`.
    pub selftest: usize,
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            concurrency: 8,
            max_attempts: 8,
            backoff_base: Duration::from_secs(30),
            backoff_cap: Duration::from_secs(3600),
            run_timeout: Duration::from_secs(300),
            cleanup_at: Some(jiff::civil::Time::constant(3, 30, 0, 0)),
            selftest: 0,
        }
    }
}

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// Worth trying again later (a provider is down, a record is busy).
    #[error("{0}")]
    Retry(String),
    /// Like `Retry`, but not before the given wait (a provider's `Retry-After`): the backoff
    /// delay is at least this long.
    #[error("{0}")]
    RetryAfter(String, Duration),
    /// Will never succeed (the payload names a record that is gone): the job is dead at once.
    #[error("{0}")]
    Permanent(String),
    /// Not a failure: the job may not run before `until` (a message outside the client's
    /// hours). The job goes back to `queued`, due at `until`, and the attempt is given back:
    /// waiting never brings a job closer to `dead`.
    #[error("deferred until {until}: {reason}")]
    Defer { until: Timestamp, reason: String },
}

/// What a successful attempt leaves behind.
#[derive(Debug, Default)]
pub struct JobOutcome {
    /// Store-side effects, committed in the same transaction as the job's `succeeded` state:
    /// both happen or neither does, so they happen once however often the job runs.
    pub changes: ChangeSet,
}

impl JobOutcome {
    /// Success with no store-side effect.
    pub fn done() -> Self {
        JobOutcome::default()
    }

    /// Success whose store-side effects are `changes`.
    pub fn with(changes: ChangeSet) -> Self {
        JobOutcome { changes }
    }
}

/// What a handler gets besides its job.
pub struct JobCtx {
    pub ctx: Arc<Ctx>,
    /// The system, as the author of what the handler writes.
    pub caller: Caller,
}

/// The future a handler returns.
pub type JobFuture<'a> = Pin<Box<dyn Future<Output = std::result::Result<JobOutcome, JobError>> + Send + 'a>>;

/// Runs one kind of job. External calls must carry the job's `idempotency_key` (a run can
/// repeat after a crash); store-side effects go in [`JobOutcome::changes`].
pub trait JobHandler: Send + Sync + 'static {
    /// Checks a payload when the job is enqueued (422 on `payload` if wrong).
    fn validate(&self, payload: &serde_json::Value) -> std::result::Result<(), ValidationError>;

    /// Attempts before the job is dead (`None`: the scheduler's default).
    fn max_attempts(&self) -> Option<u32> {
        None
    }

    /// Runs one attempt.
    fn run<'a>(&'a self, job: &'a Job, ctx: &'a JobCtx) -> JobFuture<'a>;

    /// Store-side effects of a failed attempt (`dead`: the job will not run again), committed
    /// in the same change set as the job's `failed` or `dead` state. Called for every failure,
    /// also a timeout or an attempt interrupted by a stop, so a record the job keeps in step
    /// (a message's status) never lags behind the job. Default: none.
    fn on_failure(&self, _job: &Job, _error: &JobError, _dead: bool, _ctx: &JobCtx) -> ChangeSet {
        ChangeSet::new()
    }
}

/// A job to schedule.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    pub payload: serde_json::Value,
    pub due_at: Timestamp,
    /// Unique across all jobs (see [`Scheduled`]).
    pub idempotency_key: String,
    /// `kind:<id>` of the record that causes it.
    pub subject: Option<String>,
}

/// What [`Jobs::schedule`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheduled {
    /// The job was added to the change set.
    New(JobId),
    /// A job with this idempotency key exists already: nothing was added (a repeat is
    /// ignored, not refused, so a retried cause does not fail).
    Existing(JobId),
}

impl Scheduled {
    pub fn id(self) -> JobId {
        match self {
            Scheduled::New(id) | Scheduled::Existing(id) => id,
        }
    }
}

/// Filters of the jobs list.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub state: Option<JobState>,
    pub kind: Option<String>,
    pub subject: Option<String>,
}

/// The Unix-millisecond key of an instant in the due index (instants before 1970 sort first).
pub(crate) fn due_key(t: Timestamp) -> u128 {
    t.as_millisecond().max(0) as u128
}

/// Adds the move of `old` to `new` to `set`: the stored job must still be `old` (its
/// revision) at commit; the due index follows the state.
pub(crate) fn write(set: &mut ChangeSet, old: Option<&Job>, new: &mut Job) -> Result<()> {
    let key = new.id.as_u128();
    let expected = old.map(|o| o.rev);
    new.rev = expected.map_or(1, |r| r + 1);
    set.require(RecordTable::Jobs, key, "job", move |bytes| match (bytes, expected) {
        (None, None) => true,
        (Some(b), Some(rev)) => codec::decode::<Job>(b).is_ok_and(|j| j.rev == rev),
        _ => false,
    });
    if let Some(o) = old
        && o.state.pending()
    {
        set.unlink(IndexTable::JobsDue, due_key(o.due_at), key);
    }
    if new.state.pending() {
        set.link(IndexTable::JobsDue, due_key(new.due_at), key);
    }
    set.put(RecordTable::Jobs, key, new)?;
    Ok(())
}

struct Inner {
    ctx: Arc<Ctx>,
    config: JobsConfig,
    handlers: RwLock<HashMap<String, Arc<dyn JobHandler>>>,
    recurring: RwLock<Vec<Recurring>>,
    wake: tokio::sync::Notify,
    stop: tokio_util::sync::CancellationToken,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// The jobs service: the job API, the handler registry and the scheduler's handle.
#[derive(Clone)]
pub struct Jobs {
    inner: Arc<Inner>,
}

impl Jobs {
    /// A jobs service with no handlers and no scheduler running yet.
    pub fn new(ctx: Arc<Ctx>, config: JobsConfig) -> Jobs {
        Jobs {
            inner: Arc::new(Inner {
                ctx,
                config,
                handlers: RwLock::new(HashMap::new()),
                recurring: RwLock::new(Vec::new()),
                wake: tokio::sync::Notify::new(),
                stop: tokio_util::sync::CancellationToken::new(),
                task: Mutex::new(None),
            }),
        }
    }

    pub fn config(&self) -> &JobsConfig {
        &self.inner.config
    }

    /// Registers the handler of `kind` (a later registration of the same kind replaces it).
    pub fn register(&self, kind: &str, handler: Arc<dyn JobHandler>) -> std::result::Result<(), ValidationError> {
        model::check_kind("kind", kind)?;
        self.inner.handlers.write().unwrap_or_else(|p| p.into_inner()).insert(kind.to_owned(), handler);
        Ok(())
    }

    /// Adds a recurring schedule; the scheduler keeps its next occurrence enqueued.
    pub fn add_recurring(&self, r: Recurring) {
        self.inner.recurring.write().unwrap_or_else(|p| p.into_inner()).push(r);
        self.wake();
    }

    pub(crate) fn handler(&self, kind: &str) -> Option<Arc<dyn JobHandler>> {
        self.inner.handlers.read().unwrap_or_else(|p| p.into_inner()).get(kind).cloned()
    }

    fn max_attempts_of(&self, kind: &str) -> u32 {
        self.handler(kind).and_then(|h| h.max_attempts()).unwrap_or(self.inner.config.max_attempts).max(1)
    }

    /// Tells the scheduler that jobs were committed (call after the commit of a change set
    /// that scheduled or moved jobs): it re-reads the due index at once instead of sleeping
    /// until the time it had planned.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Adds a new job to `set` (the caller's change set, which carries the caller's audit
    /// entry), unless a job with its idempotency key exists already. The kind must be
    /// registered and its handler must accept the payload. The key is claimed in the commit:
    /// if a concurrent change set claims it first, this one is refused with
    /// `duplicate_value` on `idempotency_key` (retry: the repeat is then ignored).
    pub fn schedule(&self, set: &mut ChangeSet, new: NewJob, caller: &Caller) -> Result<Scheduled> {
        model::check_kind("kind", &new.kind)?;
        model::check_key(&new.idempotency_key)?;
        let subject_key = new.subject.as_deref().map(model::subject_key).transpose()?;
        let handler = self
            .handler(&new.kind)
            .ok_or_else(|| ValidationError::new("kind", format!("no job handler is registered for {:?}", new.kind)))?;
        handler.validate(&new.payload)?;
        if let Some(owner) = self.inner.ctx.store.read()?.unique_owner(unique::JOB_KEY, &new.idempotency_key)? {
            return Ok(Scheduled::Existing(JobId::from_u128(owner)));
        }
        let now = self.inner.ctx.clock.now();
        let id = JobId::from_ulid(self.inner.ctx.new_ulid());
        let mut job = Job {
            id,
            max_attempts: self.max_attempts_of(&new.kind),
            kind: new.kind,
            payload: new.payload,
            due_at: new.due_at,
            state: JobState::Queued,
            attempts: 0,
            last_error: None,
            idempotency_key: new.idempotency_key,
            subject: new.subject,
            created_at: now,
            updated_at: now,
            finished_at: None,
            created_by: caller.user_id(),
            rev: 0,
        };
        set.claim(unique::JOB_KEY, &job.idempotency_key, id.as_u128(), "idempotency_key");
        if let Some(s) = subject_key {
            set.link(IndexTable::JobsBySubject, s, id.as_u128());
        }
        write(set, None, &mut job)?;
        set.audit(AuditDraft::new(caller, "job.schedule").record("job", id).detail(serde_json::json!({
            "kind": job.kind, "due_at": job.due_at, "idempotency_key": job.idempotency_key, "subject": job.subject,
        })));
        Ok(Scheduled::New(id))
    }

    /// Schedules one job in a change set of its own and wakes the scheduler.
    pub async fn enqueue(&self, new: NewJob, caller: &Caller) -> Result<Scheduled> {
        let mut set = ChangeSet::new();
        let s = self.schedule(&mut set, new, caller)?;
        if matches!(s, Scheduled::New(_)) {
            self.inner.ctx.store.commit(set).await?;
            self.wake();
        }
        Ok(s)
    }

    /// The jobs a record caused (`kind:<id>`), oldest first.
    pub fn of_subject(&self, subject: &str) -> Result<Vec<Job>> {
        let key = model::subject_key(subject)?;
        let r = self.inner.ctx.store.read()?;
        let mut out = Vec::new();
        for id in r.children(IndexTable::JobsBySubject, key, None)? {
            if let Some(j) = r.get::<Job>(RecordTable::Jobs, id)?
                && j.subject.as_deref() == Some(subject)
            {
                out.push(j);
            }
        }
        Ok(out)
    }

    /// Adds to `set` the cancellation of every job of `subject` that has not run (queued, or
    /// failed and waiting for a retry); returns their ids. A job that starts running before
    /// `set` commits makes the commit fail with `record_changed` (read again and retry).
    pub fn cancel_subject(&self, set: &mut ChangeSet, subject: &str, caller: &Caller) -> Result<Vec<JobId>> {
        let now = self.inner.ctx.clock.now();
        let mut out = Vec::new();
        for job in self.of_subject(subject)?.into_iter().filter(|j| j.state.cancellable()) {
            self.cancel_into(set, &job, now, caller)?;
            out.push(job.id);
        }
        Ok(out)
    }

    /// Adds to `set` a new due time for each job of `subject` that has not run, as `due_at`
    /// decides from the job (`None`: leave it); returns the ids moved. (A reminder 48 h before
    /// an appointment moves with the appointment.)
    pub fn reschedule_subject(
        &self,
        set: &mut ChangeSet,
        subject: &str,
        due_at: impl Fn(&Job) -> Option<Timestamp>,
        caller: &Caller,
    ) -> Result<Vec<JobId>> {
        let now = self.inner.ctx.clock.now();
        let mut out = Vec::new();
        for old in self.of_subject(subject)?.into_iter().filter(|j| j.state.cancellable()) {
            let Some(due) = due_at(&old) else { continue };
            let mut job = old.clone();
            job.due_at = due;
            job.updated_at = now;
            write(set, Some(&old), &mut job)?;
            set.audit(
                AuditDraft::new(caller, "job.reschedule")
                    .record("job", job.id)
                    .detail(serde_json::json!({ "from": old.due_at, "to": due })),
            );
            out.push(job.id);
        }
        Ok(out)
    }

    fn cancel_into(&self, set: &mut ChangeSet, old: &Job, now: Timestamp, caller: &Caller) -> Result<Job> {
        let mut job = old.clone();
        job.state = JobState::Cancelled;
        job.updated_at = now;
        job.finished_at = Some(now);
        write(set, Some(old), &mut job)?;
        set.audit(
            AuditDraft::new(caller, "job.cancel")
                .record("job", job.id)
                .detail(serde_json::json!({ "from": old.state })),
        );
        Ok(job)
    }

    fn load(&self, id: JobId) -> Result<Job> {
        self.inner.ctx.store.read()?.get::<Job>(RecordTable::Jobs, id.as_u128())?.ok_or(Error::JobNotFound(id))
    }

    /// Cancels a queued or failed job (a person's request).
    pub async fn cancel(&self, id: JobId, caller: &Caller) -> Result<Job> {
        let old = self.load(id)?;
        if !old.state.cancellable() {
            return Err(Error::JobTransition {
                from: old.state,
                action: "cancelled",
                allowed: vec!["queued", "failed"],
            });
        }
        let mut set = ChangeSet::new();
        let job = self.cancel_into(&mut set, &old, self.inner.ctx.clock.now(), caller)?;
        self.inner.ctx.store.commit(set).await?;
        self.wake();
        Ok(job)
    }

    /// Sends a failed or dead job back to the queue, due now, with a fresh set of attempts.
    pub async fn retry(&self, id: JobId, caller: &Caller) -> Result<Job> {
        let old = self.load(id)?;
        if !old.state.retryable() {
            return Err(Error::JobTransition { from: old.state, action: "retried", allowed: vec!["failed", "dead"] });
        }
        let now = self.inner.ctx.clock.now();
        let mut job = old.clone();
        job.state = JobState::Queued;
        job.due_at = now;
        job.updated_at = now;
        job.finished_at = None;
        // A manual retry gets the kind's full allowance again, counted from here.
        job.max_attempts = job.attempts.saturating_add(self.max_attempts_of(&job.kind));
        let mut set = ChangeSet::new();
        write(&mut set, Some(&old), &mut job)?;
        set.audit(
            AuditDraft::new(caller, "job.retry").record("job", id).detail(serde_json::json!({ "from": old.state })),
        );
        self.inner.ctx.store.commit(set).await?;
        self.wake();
        Ok(job)
    }

    /// One job (the read is audited).
    pub async fn get(&self, id: JobId, caller: &Caller) -> Result<Job> {
        let job = self.load(id)?;
        self.inner.ctx.store.enqueue_audit(AuditDraft::new(caller, "job.read").record("job", id)).await?;
        Ok(job)
    }

    /// A page of jobs, newest first, below the cursor `before` (the read is audited).
    pub async fn list(
        &self,
        filter: &JobFilter,
        limit: usize,
        before: Option<u128>,
        caller: &Caller,
    ) -> Result<(Vec<Job>, Option<u128>)> {
        // A filter matching nothing must not walk the whole table per request.
        const MAX_SCAN: usize = 20_000;
        let r = self.inner.ctx.store.read()?;
        let mut out = Vec::new();
        let mut scanned = 0;
        let mut last = None;
        r.scan_rev::<Job>(RecordTable::Jobs, before, |j| {
            scanned += 1;
            last = Some(j.id.as_u128());
            let keep = filter.state.is_none_or(|s| s == j.state)
                && filter.kind.as_deref().is_none_or(|k| k == j.kind)
                && filter.subject.as_deref().is_none_or(|s| j.subject.as_deref() == Some(s));
            if keep {
                out.push(j);
            }
            if out.len() > limit || scanned >= MAX_SCAN { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        })?;
        let next = if out.len() > limit {
            out.truncate(limit);
            out.last().map(|j| j.id.as_u128())
        } else if scanned >= MAX_SCAN {
            last
        } else {
            None
        };
        self.inner
            .ctx
            .store
            .enqueue_audit(AuditDraft::new(caller, "job.list").detail(serde_json::json!({ "count": out.len() })))
            .await?;
        Ok((out, next))
    }

    /// Starts the scheduler (once): it enqueues the selftest burst if configured, then runs.
    pub fn start(&self) {
        let mut task = self.inner.task.lock().unwrap_or_else(|p| p.into_inner());
        if task.is_none() {
            *task = Some(tokio::spawn(scheduler::run(self.clone())));
        }
    }

    /// Stops the scheduler: no new attempt starts; attempts in flight get a few seconds to
    /// finish, then are dropped (their jobs stay `running` and are due again at next start).
    pub async fn stop(&self) {
        self.inner.stop.cancel();
        let task = self.inner.task.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(task) = task {
            let _ = task.await;
        }
        // A handler may hold this service (one that queues messages holds `Messages`, which
        // holds `Jobs`); dropping the handlers breaks that cycle, so a stopped system is freed.
        self.inner.handlers.write().unwrap_or_else(|p| p.into_inner()).clear();
    }
}
