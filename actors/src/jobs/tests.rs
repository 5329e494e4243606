//! The scheduler with test handlers registered through the same registry, on a real store.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use clowder_schemas::audit::Caller;
use clowder_schemas::jobs::{Job, JobState};
use clowder_schemas::{JobId, ValidationError};

use super::*;
use crate::SystemClock;
use crate::ctx::SystemConfig;

/// Fails `fail_first` times (retry), then succeeds; `permanent` fails for good at once.
struct Flaky {
    fail_first: u32,
    permanent: bool,
    calls: AtomicU32,
}

impl JobHandler for Flaky {
    fn validate(&self, payload: &serde_json::Value) -> std::result::Result<(), ValidationError> {
        if payload.is_object() { Ok(()) } else { Err(ValidationError::new("payload", "must be an object")) }
    }

    fn max_attempts(&self) -> Option<u32> {
        Some(4)
    }

    fn run<'a>(&'a self, _job: &'a Job, _ctx: &'a JobCtx) -> JobFuture<'a> {
        Box::pin(async move {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            if self.permanent {
                Err(JobError::Permanent("the record is gone".into()))
            } else if n <= self.fail_first {
                Err(JobError::Retry(format!("try {n} failed")))
            } else {
                Ok(JobOutcome::done())
            }
        })
    }
}

async fn system() -> (crate::System, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = SystemConfig::new(dir.path());
    config.jobs.backoff_base = Duration::from_millis(20);
    config.jobs.backoff_cap = Duration::from_millis(100);
    config.jobs.cleanup_at = None;
    let system = crate::System::start(config, Arc::new(SystemClock)).unwrap();
    (system, dir)
}

fn flaky(fail_first: u32, permanent: bool) -> Arc<Flaky> {
    Arc::new(Flaky { fail_first, permanent, calls: AtomicU32::new(0) })
}

fn new_job(kind: &str, key: &str, due: jiff::Timestamp) -> NewJob {
    NewJob {
        kind: kind.into(),
        payload: serde_json::json!({}),
        due_at: due,
        idempotency_key: key.into(),
        subject: Some("appointment:01JGZ0J7Q8B5V2X3Y4Z5A6B7C8".into()),
    }
}

/// Waits (with a deadline) until the job reaches a final state.
async fn settled(jobs: &Jobs, id: JobId) -> Job {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let job = jobs.load(id).unwrap();
        if matches!(job.state, JobState::Succeeded | JobState::Dead | JobState::Cancelled) {
            return job;
        }
        assert!(Instant::now() < deadline, "job still {} after 20 s: {job:?}", job.state);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn events_of(system: &crate::System, kind: &str) -> usize {
    system.events_after(0, 10_000).unwrap().iter().filter(|e| e.kind == kind).count()
}

#[tokio::test]
async fn a_job_that_fails_twice_then_succeeds_takes_three_attempts() {
    let (system, _dir) = system().await;
    let h = flaky(2, false);
    system.jobs.register("flaky", h.clone()).unwrap();
    let now = system.ctx.clock.now();
    let id = system.jobs.enqueue(new_job("flaky", "t:1", now), &Caller::system()).await.unwrap().id();
    let job = settled(&system.jobs, id).await;
    assert_eq!((job.state, job.attempts), (JobState::Succeeded, 3));
    assert_eq!(h.calls.load(Ordering::SeqCst), 3);
    assert_eq!(job.last_error, None);
    assert!(job.finished_at.is_some());
    assert_eq!(events_of(&system, "job_failed"), 2);
    assert_eq!(events_of(&system, "job_dead"), 0);
    // No longer in the due index.
    assert!(
        system.store().read().unwrap().children(IndexTable::JobsDue, due_key(job.due_at), None).unwrap().is_empty()
    );
    system.shutdown().await;
}

#[tokio::test]
async fn a_job_that_always_fails_is_dead_after_its_last_attempt_and_a_permanent_error_at_once() {
    let (system, _dir) = system().await;
    system.jobs.register("broken", flaky(u32::MAX, false)).unwrap();
    system.jobs.register("gone", flaky(0, true)).unwrap();
    let now = system.ctx.clock.now();
    let a = system.jobs.enqueue(new_job("broken", "t:a", now), &Caller::system()).await.unwrap().id();
    let b = system.jobs.enqueue(new_job("gone", "t:b", now), &Caller::system()).await.unwrap().id();
    let a = settled(&system.jobs, a).await;
    assert_eq!((a.state, a.attempts), (JobState::Dead, 4));
    assert_eq!(a.last_error.as_deref(), Some("try 4 failed"));
    let b = settled(&system.jobs, b).await;
    assert_eq!((b.state, b.attempts), (JobState::Dead, 1));
    assert_eq!(events_of(&system, "job_dead"), 2);
    // A manual retry revives a dead job with a fresh allowance.
    system.jobs.register("gone", flaky(0, false)).unwrap();
    let retried = system.jobs.retry(b.id, &Caller::system()).await.unwrap();
    assert_eq!(retried.state, JobState::Queued);
    let b = settled(&system.jobs, b.id).await;
    assert_eq!((b.state, b.attempts), (JobState::Succeeded, 2));
    system.shutdown().await;
}

#[tokio::test]
async fn a_key_is_scheduled_once_and_subjects_cancel_and_reschedule_their_jobs() {
    let (system, _dir) = system().await;
    system.jobs.register("later", flaky(0, false)).unwrap();
    let far = system.ctx.clock.now().checked_add(jiff::SignedDuration::from_hours(48)).unwrap();
    let first = system.jobs.enqueue(new_job("later", "reminder:48h:x", far), &Caller::system()).await.unwrap();
    let again = system.jobs.enqueue(new_job("later", "reminder:48h:x", far), &Caller::system()).await.unwrap();
    assert!(matches!(first, Scheduled::New(_)));
    assert_eq!(again, Scheduled::Existing(first.id()), "a repeated key is ignored");
    let subject = "appointment:01JGZ0J7Q8B5V2X3Y4Z5A6B7C8";
    let second = system.jobs.enqueue(new_job("later", "reminder:2h:x", far), &Caller::system()).await.unwrap();
    assert_eq!(system.jobs.of_subject(subject).unwrap().len(), 2);

    let sooner = far.checked_sub(jiff::SignedDuration::from_hours(1)).unwrap();
    let mut set = ChangeSet::new();
    let moved = system.jobs.reschedule_subject(&mut set, subject, |_| Some(sooner), &Caller::system()).unwrap();
    assert_eq!(moved.len(), 2);
    system.store().commit(set).await.unwrap();
    assert!(system.jobs.of_subject(subject).unwrap().iter().all(|j| j.due_at == sooner && j.rev == 2));

    // A change set decided on a stale revision is refused whole.
    let mut stale = ChangeSet::new();
    system.jobs.cancel_subject(&mut stale, subject, &Caller::system()).unwrap();
    let mut set = ChangeSet::new();
    assert_eq!(system.jobs.cancel_subject(&mut set, subject, &Caller::system()).unwrap().len(), 2);
    system.store().commit(set).await.unwrap();
    assert_eq!(system.store().commit(stale).await, Err(crate::store::CommitError::Changed { what: "job" }));
    for j in system.jobs.of_subject(subject).unwrap() {
        assert_eq!(j.state, JobState::Cancelled);
    }
    let err = system.jobs.cancel(second.id(), &Caller::system()).await.unwrap_err();
    assert_eq!(err.code(), clowder_schemas::ErrorCode::InvalidTransition);
    let err = system.jobs.retry(second.id(), &Caller::system()).await.unwrap_err();
    assert_eq!(err.code(), clowder_schemas::ErrorCode::InvalidTransition);
    system.shutdown().await;
}

#[tokio::test]
async fn an_unknown_kind_or_a_bad_payload_is_refused_at_enqueue() {
    let (system, _dir) = system().await;
    system.jobs.register("flaky", flaky(0, false)).unwrap();
    let now = system.ctx.clock.now();
    let err = system.jobs.enqueue(new_job("nobody", "k", now), &Caller::system()).await.unwrap_err();
    assert_eq!(err.field(), Some("kind"));
    let mut bad = new_job("flaky", "k", now);
    bad.payload = serde_json::json!(3);
    assert_eq!(system.jobs.enqueue(bad, &Caller::system()).await.unwrap_err().field(), Some("payload"));
    let mut bad = new_job("flaky", "k", now);
    bad.subject = Some("appointment".into());
    assert_eq!(system.jobs.enqueue(bad, &Caller::system()).await.unwrap_err().field(), Some("subject"));
    system.shutdown().await;
}

#[tokio::test]
async fn the_daily_cleanup_is_enqueued_for_its_next_local_time_and_sweeps() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = SystemConfig::new(dir.path());
    config.time_zone = jiff::tz::TimeZone::get("America/New_York").unwrap();
    let system = crate::System::start(config, Arc::new(SystemClock)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let job = loop {
        let r = system.store().read().unwrap();
        let mut found = None;
        // Other recurring jobs (the automations' sweep) start beside it: find the clean-up.
        r.scan::<Job>(crate::store::RecordTable::Jobs, None, |j| {
            if j.kind == cleanup::KIND {
                found = Some(j);
                return std::ops::ControlFlow::Break(());
            }
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
        if let Some(j) = found {
            break j;
        }
        assert!(Instant::now() < deadline, "no clean-up job was enqueued");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(job.kind, cleanup::KIND);
    let local = job.due_at.to_zoned(system.ctx.config.time_zone.clone());
    assert_eq!((local.hour(), local.minute()), (3, 30));
    assert_eq!(job.idempotency_key, format!("recurring:daily_cleanup:{}", local.date()));
    // Run it now: an expired idempotency key goes.
    let h = system.jobs.handler(cleanup::KIND).unwrap();
    let jctx = JobCtx { ctx: system.ctx.clone(), caller: Caller::system() };
    let out = h.run(&job, &jctx).await.unwrap();
    system.store().commit(out.changes).await.unwrap();
    system.shutdown().await;
}

/// Fails with a provider's wait (an hour), and adds an audit entry through `on_failure`.
struct Throttled;

impl JobHandler for Throttled {
    fn validate(&self, _payload: &serde_json::Value) -> std::result::Result<(), ValidationError> {
        Ok(())
    }

    fn run<'a>(&'a self, _job: &'a Job, _ctx: &'a JobCtx) -> JobFuture<'a> {
        Box::pin(async { Err(JobError::RetryAfter("429".into(), Duration::from_secs(3600))) })
    }

    fn on_failure(&self, job: &Job, error: &JobError, dead: bool, ctx: &JobCtx) -> ChangeSet {
        let mut set = ChangeSet::new();
        set.audit(
            AuditDraft::new(&ctx.caller, "job.test_failure")
                .record("job", job.id)
                .detail(serde_json::json!({ "error": error.to_string(), "dead": dead })),
        );
        set
    }
}

#[tokio::test]
async fn a_retry_after_waits_at_least_that_long_up_to_the_cap() {
    let (system, _dir) = system().await;
    system.jobs.register("throttled", Arc::new(Throttled)).unwrap();
    let now = system.ctx.clock.now();
    let id = system.jobs.enqueue(new_job("throttled", "t:429", now), &Caller::system()).await.unwrap().id();
    let deadline = Instant::now() + Duration::from_secs(20);
    let job = loop {
        let job = system.jobs.load(id).unwrap();
        if job.state == JobState::Failed {
            break job;
        }
        assert!(Instant::now() < deadline, "job still {}", job.state);
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    // Without the provider's wait the retry would be due within the 20-100 ms backoff; with
    // it, the wait is the cap (100 ms here), never less.
    let wait = job.due_at.duration_since(job.updated_at);
    assert!(wait >= jiff::SignedDuration::from_millis(100), "{wait:?}");
    // (That on_failure's changes commit with the failure is shown by the message log's
    // integration test: a message becomes `failed` or `dead` with its job.)
    system.shutdown().await;
}

/// Defers its first two runs by 30 ms, then succeeds.
struct Waits {
    calls: AtomicU32,
}

impl JobHandler for Waits {
    fn validate(&self, _payload: &serde_json::Value) -> std::result::Result<(), ValidationError> {
        Ok(())
    }

    fn max_attempts(&self) -> Option<u32> {
        Some(1)
    }

    fn run<'a>(&'a self, _job: &'a Job, ctx: &'a JobCtx) -> JobFuture<'a> {
        Box::pin(async move {
            if self.calls.fetch_add(1, Ordering::SeqCst) < 2 {
                let until = ctx.ctx.clock.now().checked_add(jiff::SignedDuration::from_millis(30)).unwrap();
                Err(JobError::Defer { until, reason: "outside the client's hours".into() })
            } else {
                Ok(JobOutcome::done())
            }
        })
    }
}

#[tokio::test]
async fn a_deferred_job_waits_without_spending_an_attempt() {
    let (system, _dir) = system().await;
    let h = Arc::new(Waits { calls: AtomicU32::new(0) });
    system.jobs.register("waits", h.clone()).unwrap();
    let now = system.ctx.clock.now();
    let id = system.jobs.enqueue(new_job("waits", "t:defer", now), &Caller::system()).await.unwrap().id();
    let job = settled(&system.jobs, id).await;
    // One attempt allowed, three runs: the two deferrals gave theirs back.
    assert_eq!((job.state, job.attempts), (JobState::Succeeded, 1));
    assert_eq!(h.calls.load(Ordering::SeqCst), 3);
    assert_eq!(events_of(&system, "job_failed"), 0);
    assert!(job.due_at > now, "the job was due again later: {job:?}");
    system.shutdown().await;
}
