//! The `selftest` kind, registered only when `CLOWDER_JOBS_SELFTEST=<n>` is set (n > 0): at
//! start the scheduler enqueues `n` jobs keyed `selftest:<i>` (keys already taken are
//! skipped, so a restart adds none), and each job's one effect is an audit entry
//! `job.selftest_effect` naming it, committed with its success. Counting those entries shows
//! whether every job's effect happened exactly once: the crash test (`tests/it/jobs.rs`)
//! SIGKILLs the server while they run; an operator can run it on a scratch copy of a store.

use std::sync::Arc;

use clowder_schemas::ValidationError;
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::jobs::Job;

use super::{JobCtx, JobFuture, JobHandler, JobOutcome, Jobs, NewJob, Scheduled};
use crate::error::Result;
use crate::store::ChangeSet;

/// The kind's name.
pub const KIND: &str = "selftest";

/// Jobs per change set when the burst is enqueued.
const CHUNK: usize = 500;

/// The selftest handler.
pub struct SelfTest;

impl JobHandler for SelfTest {
    fn validate(&self, payload: &serde_json::Value) -> std::result::Result<(), ValidationError> {
        payload.get("n").and_then(|n| n.as_u64()).map(|_| ()).ok_or_else(|| ValidationError::new("payload", "needs n"))
    }

    /// Crashes may interrupt a job several times; each counts as an attempt.
    fn max_attempts(&self) -> Option<u32> {
        Some(100)
    }

    fn run<'a>(&'a self, job: &'a Job, ctx: &'a JobCtx) -> JobFuture<'a> {
        Box::pin(async move {
            let mut set = ChangeSet::new();
            set.audit(
                AuditDraft::new(&ctx.caller, "job.selftest_effect")
                    .record("job", job.id)
                    .detail(serde_json::json!({ "key": job.idempotency_key })),
            );
            Ok(JobOutcome::with(set))
        })
    }
}

/// Registers the kind and enqueues the burst, if configured.
pub(super) async fn enqueue_burst(jobs: &Jobs) -> Result<()> {
    let n = jobs.config().selftest;
    if n == 0 {
        return Ok(());
    }
    jobs.register(KIND, Arc::new(SelfTest))?;
    let now = jobs.inner.ctx.clock.now();
    let caller = Caller::system();
    let mut i = 0;
    while i < n {
        let mut set = ChangeSet::new();
        let mut added = 0;
        for k in i..(i + CHUNK).min(n) {
            let new = NewJob {
                kind: KIND.into(),
                payload: serde_json::json!({ "n": k }),
                due_at: now,
                idempotency_key: format!("selftest:{k}"),
                subject: None,
            };
            if let Scheduled::New(_) = jobs.schedule(&mut set, new, &caller)? {
                added += 1;
            }
        }
        if added > 0 {
            jobs.inner.ctx.store.commit(set).await?;
        }
        i += CHUNK;
    }
    tracing::info!(jobs = n, "selftest jobs enqueued");
    Ok(())
}
