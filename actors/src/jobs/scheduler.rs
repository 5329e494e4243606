//! The one scheduler: reads the due index, runs what is due through the registered handlers
//! with bounded concurrency, and writes each transition (running, then succeeded, failed or
//! dead) as one change set with its audit entry by the system. It sleeps until the next due
//! time, a [`Jobs::wake`] after a commit, or a free slot.
//!
//! At start a job left `running` by a crash is simply due again (its due time has passed and
//! its due-index entry is still there): at-least-once.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;
use std::time::Duration;

use clowder_schemas::JobId;
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::events::{Author, DomainEvent};
use clowder_schemas::jobs::{Job, JobState};
use jiff::{SignedDuration, Timestamp};
use tokio::task::JoinSet;

use super::{JobCtx, JobError, JobOutcome, Jobs, NewJob, backoff, due_key, write};
use crate::store::{ChangeSet, CommitError, IndexTable, RecordTable};

/// The longest the scheduler sleeps without looking at the index (a safety net: every
/// writer of jobs wakes it, and the clock may be moved).
const MAX_IDLE: Duration = Duration::from_secs(60);

/// How long attempts in flight may take to finish at shutdown.
const STOP_GRACE: Duration = Duration::from_secs(5);

pub(super) async fn run(jobs: Jobs) {
    if let Err(e) = super::selftest::enqueue_burst(&jobs).await {
        tracing::error!(error = %e, "could not enqueue the selftest jobs");
    }
    let concurrency = jobs.inner.config.concurrency.max(1);
    // The job each attempt in flight runs, by task (a panicking attempt still names its task).
    let mut running: HashMap<tokio::task::Id, u128> = HashMap::new();
    let mut tasks: JoinSet<()> = JoinSet::new();
    let mut plan = true;
    loop {
        if jobs.inner.stop.is_cancelled() {
            break;
        }
        if plan {
            plan_recurring(&jobs).await;
            plan = false;
        }
        let now = jobs.inner.ctx.clock.now();
        let busy: HashSet<u128> = running.values().copied().collect();
        let (due, next) = match next_due(&jobs, now, concurrency.saturating_sub(running.len()), &busy) {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "the scheduler could not read the due jobs");
                (Vec::new(), Some(now.checked_add(SignedDuration::from_secs(1)).unwrap_or(now)))
            }
        };
        for id in due {
            let jobs = jobs.clone();
            let handle = tasks.spawn(async move { attempt(&jobs, JobId::from_u128(id)).await });
            running.insert(handle.id(), id);
        }
        let sleep = next.map_or(MAX_IDLE, |t| {
            let d = t.duration_since(jobs.inner.ctx.clock.now());
            Duration::try_from(d).unwrap_or(Duration::ZERO).min(MAX_IDLE)
        });
        tokio::select! {
            _ = jobs.inner.stop.cancelled() => break,
            _ = jobs.inner.wake.notified() => {}
            Some(done) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                running.remove(&finished(done));
                plan = true;
            }
            _ = tokio::time::sleep(sleep), if running.len() < concurrency => {}
        }
        // Collect every attempt that has finished meanwhile.
        while let Some(done) = tasks.try_join_next_with_id() {
            running.remove(&finished(done));
            plan = true;
        }
    }
    if tokio::time::timeout(STOP_GRACE, async { while tasks.join_next().await.is_some() {} }).await.is_err() {
        tracing::warn!(jobs = tasks.len(), "jobs still running at shutdown were stopped; they run again at start");
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
    tracing::debug!("job scheduler stopped");
}

/// The task of a finished attempt (a panic is logged; its job stays running until restart,
/// when it is due again).
fn finished(done: Result<(tokio::task::Id, ()), tokio::task::JoinError>) -> tokio::task::Id {
    match done {
        Ok((id, ())) => id,
        Err(e) => {
            tracing::error!(error = %e, "a job's attempt panicked");
            e.id()
        }
    }
}

/// Up to `free` due jobs not running, and the due time of the next one after them.
fn next_due(
    jobs: &Jobs,
    now: Timestamp,
    free: usize,
    running: &HashSet<u128>,
) -> Result<(Vec<u128>, Option<Timestamp>), crate::store::StoreError> {
    let r = jobs.inner.ctx.store.read()?;
    let now_key = due_key(now);
    let mut due = Vec::new();
    let mut next = None;
    r.index_from(IndexTable::JobsDue, (0, 0), |(at, id)| {
        if running.contains(&id) {
            return ControlFlow::Continue(());
        }
        if at <= now_key && due.len() < free {
            due.push(id);
            return ControlFlow::Continue(());
        }
        next = Some(Timestamp::from_millisecond(at.min(i64::MAX as u128) as i64).unwrap_or(now));
        ControlFlow::Break(())
    })?;
    Ok((due, next))
}

/// Keeps the next occurrence of every recurring schedule enqueued.
async fn plan_recurring(jobs: &Jobs) {
    let all = jobs.inner.recurring.read().unwrap_or_else(|p| p.into_inner()).clone();
    let tz = jobs.inner.ctx.config.time_zone.clone();
    let now = jobs.inner.ctx.clock.now();
    for r in all {
        let planned = async {
            let (date, at) = super::recurring::next_occurrence(r.rule, &tz, now)?;
            let new = NewJob {
                kind: r.kind.to_owned(),
                payload: r.payload.clone(),
                due_at: at,
                idempotency_key: r.key(date),
                subject: None,
            };
            jobs.enqueue(new, &Caller::system()).await
        };
        if let Err(e) = planned.await {
            tracing::warn!(schedule = r.name, error = %e, "could not enqueue a recurring job");
        }
    }
}

/// The audit entry of a transition by the system.
fn audit(set: &mut ChangeSet, action: &str, job: &Job, detail: serde_json::Value) {
    set.audit(AuditDraft::new(&Caller::system(), action).record("job", job.id).detail(detail));
}

/// Runs one attempt of a due job, start to end. Each store write is one change set; a
/// write refused because the job moved meanwhile (cancelled, rescheduled) ends the attempt.
async fn attempt(jobs: &Jobs, id: JobId) {
    let ctx = &jobs.inner.ctx;
    let Ok(reader) = ctx.store.read() else { return };
    let old = match reader.get::<Job>(RecordTable::Jobs, id.as_u128()) {
        Ok(Some(j)) => j,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(job = %id, error = %e, "could not read a due job");
            return;
        }
    };
    drop(reader);
    let now = ctx.clock.now();
    if !old.state.pending() || old.due_at > now {
        return; // moved since the index was read
    }
    // Running: counts the attempt before it starts, so a crash mid-run still counts.
    let mut job = old.clone();
    job.state = JobState::Running;
    job.attempts = job.attempts.saturating_add(1);
    job.updated_at = now;
    let mut set = ChangeSet::new();
    if write(&mut set, Some(&old), &mut job).is_err() {
        return;
    }
    let detail = serde_json::json!({ "attempt": job.attempts, "recovered": old.state == JobState::Running });
    audit(&mut set, "job.start", &job, detail);
    match ctx.store.commit(set).await {
        Ok(_) => {}
        Err(CommitError::Changed { .. }) => return,
        Err(e) => {
            tracing::warn!(job = %id, error = %e, "could not mark a job running");
            return;
        }
    }
    let result = if old.state == JobState::Running && old.attempts >= old.max_attempts {
        // It was running when the server stopped, on its last attempt.
        Err(JobError::Permanent("interrupted on its last attempt (the server stopped)".into()))
    } else {
        match jobs.handler(&job.kind) {
            None => Err(JobError::Permanent(format!("no handler is registered for kind {:?}", job.kind))),
            Some(h) => {
                let jctx = JobCtx { ctx: ctx.clone(), caller: Caller::system() };
                match tokio::time::timeout(jobs.inner.config.run_timeout, h.run(&job, &jctx)).await {
                    Ok(r) => r,
                    Err(_) => Err(JobError::Retry("the attempt timed out".into())),
                }
            }
        }
    };
    match result {
        Ok(outcome) => succeed(jobs, &job, outcome).await,
        Err(JobError::Defer { until, reason }) => defer(jobs, &job, until, &reason).await,
        Err(e) => fail(jobs, &job, e).await,
    }
}

/// Puts a job that may not run yet back in the queue, due at `until`, with the attempt it
/// just used given back (no `job_failed` event: nothing went wrong).
async fn defer(jobs: &Jobs, running: &Job, until: Timestamp, reason: &str) {
    let ctx = &jobs.inner.ctx;
    let now = ctx.clock.now();
    let mut job = running.clone();
    job.state = JobState::Queued;
    job.attempts = running.attempts.saturating_sub(1);
    // Never in the past, so a wrong `until` cannot make the scheduler spin.
    job.due_at = until.max(now);
    job.updated_at = now;
    let mut set = ChangeSet::new();
    if write(&mut set, Some(running), &mut job).is_err() {
        return;
    }
    audit(&mut set, "job.defer", &job, serde_json::json!({ "until": job.due_at, "reason": reason }));
    if let Err(e) = ctx.store.commit(set).await {
        tracing::warn!(job = %running.id, error = %e, "could not defer a job; it runs again");
    } else {
        jobs.wake();
    }
}

async fn succeed(jobs: &Jobs, running: &Job, outcome: JobOutcome) {
    let ctx = &jobs.inner.ctx;
    let now = ctx.clock.now();
    let mut job = running.clone();
    job.state = JobState::Succeeded;
    job.updated_at = now;
    job.finished_at = Some(now);
    job.last_error = None;
    let mut set = outcome.changes;
    if write(&mut set, Some(running), &mut job).is_err() {
        return;
    }
    audit(&mut set, "job.succeeded", &job, serde_json::json!({ "attempt": job.attempts }));
    match ctx.store.commit(set).await {
        Ok(_) => {}
        // The handler's effects were refused (a duplicate, a record changed): nothing of
        // them was written; the attempt counts as failed and is retried.
        Err(e @ (CommitError::Changed { .. } | CommitError::Duplicate { .. } | CommitError::Refused(_))) => {
            fail(jobs, running, JobError::Retry(format!("its changes were refused: {e}"))).await;
        }
        Err(e) => tracing::warn!(job = %running.id, error = %e, "could not record a job's success; it runs again"),
    }
}

async fn fail(jobs: &Jobs, running: &Job, error: JobError) {
    let ctx = &jobs.inner.ctx;
    let cfg = &jobs.inner.config;
    let now = ctx.clock.now();
    let mut job = running.clone();
    job.updated_at = now;
    let reason = error.to_string();
    job.last_error = Some(reason.clone());
    let dead = matches!(error, JobError::Permanent(_)) || job.attempts >= job.max_attempts;
    let mut set = match jobs.handler(&running.kind) {
        Some(h) => h.on_failure(&job, &error, dead, &JobCtx { ctx: ctx.clone(), caller: Caller::system() }),
        None => ChangeSet::new(),
    };
    let event = if dead {
        job.state = JobState::Dead;
        job.finished_at = Some(now);
        DomainEvent::JobDead { job_id: job.id, kind: job.kind.clone(), attempts: job.attempts, error: reason.clone() }
    } else {
        let mut wait = backoff::delay(cfg.backoff_base, cfg.backoff_cap, job.attempts, backoff::random_unit());
        if let JobError::RetryAfter(_, after) = &error {
            // The provider's own wait wins over a shorter jittered one (capped like backoff).
            wait = wait.max((*after).min(cfg.backoff_cap));
        }
        job.state = JobState::Failed;
        job.due_at = now.checked_add(SignedDuration::try_from(wait).unwrap_or(SignedDuration::ZERO)).unwrap_or(now);
        DomainEvent::JobFailed {
            job_id: job.id,
            kind: job.kind.clone(),
            attempts: job.attempts,
            error: reason.clone(),
            retry_at: job.due_at,
        }
    };
    if write(&mut set, Some(running), &mut job).is_err() {
        return;
    }
    let action = if dead { "job.dead" } else { "job.failed" };
    audit(&mut set, action, &job, serde_json::json!({ "attempt": job.attempts, "error": reason }));
    set.event(Author::System, event);
    if let Err(e) = ctx.store.commit(set).await {
        tracing::warn!(job = %running.id, error = %e, "could not record a job's failure; it runs again");
    } else {
        if dead {
            tracing::warn!(job = %job.id, kind = %job.kind, error = %reason, "a job is dead");
        }
        jobs.wake();
    }
}
