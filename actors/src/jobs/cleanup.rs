//! The daily clean-up job (`daily_cleanup`, recurring at `CLOWDER_JOBS_CLEANUP_AT` local):
//! ends sessions past their absolute expiry and forgets `Idempotency-Key`s claimed more than a
//! day ago. Both removals are the job's store-side effects, committed with its success. Then it
//! runs the [`CleanupTask`]s other domains hand it (the sweep of document contents no record
//! names, `clinical::document_files`): those domains use `jobs`, so it cannot name them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use clowder_schemas::ValidationError;
use clowder_schemas::audit::Caller;
use clowder_schemas::jobs::Job;

use super::{JobCtx, JobError, JobFuture, JobHandler, JobOutcome, Recurring, Rule};
use crate::idempotency::Idempotency;
use crate::staff::accounts::Accounts;
use crate::store::ChangeSet;

/// The kind's name.
pub const KIND: &str = "daily_cleanup";

/// Most sessions ended by one run (a larger backlog is finished by the next runs).
const MAX_SESSIONS: usize = 5_000;

/// What a [`CleanupTask`] returns.
pub type TaskFuture<'a> = Pin<Box<dyn Future<Output = crate::error::Result<()>> + Send + 'a>>;

/// A part of the daily clean-up another domain owns.
pub trait CleanupTask: Send + Sync {
    /// Does its part; its store-side effects (audit entries) go in `set`, committed with the
    /// job's success. An error fails the attempt, which is retried like any job's.
    fn run<'a>(&'a self, set: &'a mut ChangeSet, caller: &'a Caller) -> TaskFuture<'a>;
}

/// The clean-up handler.
pub struct Cleanup {
    pub accounts: Accounts,
    pub idempotency: Idempotency,
    /// Run after the store's own clean-up, in order.
    pub tasks: Vec<Arc<dyn CleanupTask>>,
}

impl Cleanup {
    /// Its recurring schedule: daily at `at` local.
    pub fn schedule(at: jiff::civil::Time) -> Recurring {
        Recurring { name: KIND, kind: KIND, rule: Rule::Daily { at }, payload: serde_json::json!({}) }
    }

    /// Registers the handler and, if `at` is set, its daily schedule.
    pub fn install(self, jobs: &super::Jobs, at: Option<jiff::civil::Time>) -> Result<(), ValidationError> {
        jobs.register(KIND, Arc::new(self))?;
        if let Some(at) = at {
            jobs.add_recurring(Self::schedule(at));
        }
        Ok(())
    }
}

impl JobHandler for Cleanup {
    fn validate(&self, payload: &serde_json::Value) -> Result<(), ValidationError> {
        crate::jobs::recurring::empty_payload(payload)
    }

    fn run<'a>(&'a self, _job: &'a Job, ctx: &'a JobCtx) -> JobFuture<'a> {
        Box::pin(async move {
            let mut set = ChangeSet::new();
            let sessions = self
                .accounts
                .end_expired_sessions(&mut set, &ctx.caller, MAX_SESSIONS)
                .map_err(|e| JobError::Retry(e.to_string()))?;
            let keys = self.idempotency.sweep_into(&mut set).map_err(|e| JobError::Retry(e.to_string()))?;
            tracing::info!(sessions, idempotency_keys = keys, "daily clean-up");
            for task in &self.tasks {
                task.run(&mut set, &ctx.caller).await.map_err(|e| JobError::Retry(e.to_string()))?;
            }
            Ok(JobOutcome::with(set))
        })
    }
}
