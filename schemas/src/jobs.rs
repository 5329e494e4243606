//! Durable jobs: work the server does later or again (send a reminder, sweep expired
//! sessions), stored so that a restart or a crash loses none. This module owns the stored
//! [`Job`], its [`JobState`] workflow, the `subject` form and the list filters; running them is
//! `clowder_actors::jobs`.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::errors::ValidationError;
use crate::ids::{JobId, UserId};
use crate::records::Record;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum JobState {
    /// Waiting for its due time.
    Queued,
    /// A handler is running it (after a crash: due again at start).
    Running,
    /// Done; its store-side effects committed with this state.
    Succeeded,
    /// The last attempt failed; it runs again at `due_at`.
    Failed,
    /// Failed for good (a permanent error, or the last attempt); only a manual retry revives it.
    Dead,
    /// Cancelled before it ran (by a person or by the record that caused it).
    Cancelled,
}

impl JobState {
    /// The wire name, e.g. `queued`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<JobState> {
        use JobState::*;
        [Queued, Running, Succeeded, Failed, Dead, Cancelled].into_iter().find(|st| st.as_str() == s)
    }

    /// True while the job will still run by itself (it sits in the due index).
    pub fn pending(self) -> bool {
        matches!(self, JobState::Queued | JobState::Running | JobState::Failed)
    }

    /// Whether a person may cancel a job in this state (it has not started, or waits for a retry).
    pub fn cancellable(self) -> bool {
        matches!(self, JobState::Queued | JobState::Failed)
    }

    /// Whether a person may send a job in this state back to the queue, due now.
    pub fn retryable(self) -> bool {
        matches!(self, JobState::Failed | JobState::Dead)
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A unit of deferred work, stored in the `jobs` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Job {
    pub id: JobId,
    /// The registered handler that runs it, snake_case (e.g. `send_message`).
    pub kind: String,
    /// The handler's input, checked by the handler when the job is enqueued.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// When it runs next (for `queued` and `failed`), or ran last.
    #[schema(value_type = String, format = DateTime)]
    pub due_at: Timestamp,
    pub state: JobState,
    /// Attempts started so far (a crash during one still counts it).
    pub attempts: u32,
    /// After this many failed attempts the job is `dead`.
    pub max_attempts: u32,
    pub last_error: Option<String>,
    /// Unique across all jobs (claimed in the store): the same key is enqueued once, e.g.
    /// `reminder:48h:<appointment id>` or `recurring:daily_cleanup:2026-03-08`.
    pub idempotency_key: String,
    /// The record that caused it, `kind:<ULID>` (e.g. `appointment:01J...`), if any.
    pub subject: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<Timestamp>,
    /// Who enqueued it (`None`: the system, e.g. a recurring schedule).
    pub created_by: Option<UserId>,
    /// Bumped by every stored change; a transition commits only if the stored job still has
    /// the revision it was decided on (the commit thread checks), so two writers never
    /// overwrite each other.
    pub rev: u64,
}

impl Record for Job {
    const KIND: &'static str = "job";
    const VERSION: u16 = 1;
}

/// The longest `kind`, `idempotency_key` and `subject`.
pub const MAX_KEY_LEN: usize = 200;

/// Checks a job kind's name: snake_case ASCII, 1–64 characters.
pub fn check_kind(field: &str, kind: &str) -> Result<(), ValidationError> {
    let ok = !kind.is_empty()
        && kind.len() <= 64
        && kind.starts_with(|c: char| c.is_ascii_lowercase())
        && kind.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok { Ok(()) } else { Err(ValidationError::new(field, "must be snake_case (a-z, 0-9, _), 1 to 64 characters")) }
}

/// Checks an idempotency key: 1–200 printable ASCII characters.
pub fn check_key(key: &str) -> Result<(), ValidationError> {
    if key.is_empty() || key.len() > MAX_KEY_LEN || !key.chars().all(|c| c.is_ascii_graphic()) {
        return Err(ValidationError::new("idempotency_key", "must be 1 to 200 printable ASCII characters"));
    }
    Ok(())
}

/// Parses a subject `kind:<ULID>` into its store key (the ULID as `u128`, the subject index's
/// parent key).
pub fn subject_key(subject: &str) -> Result<u128, ValidationError> {
    let bad = || ValidationError::new("subject", "must be `kind:<id>`, e.g. `appointment:01J...`");
    let (kind, id) = subject.split_once(':').ok_or_else(bad)?;
    check_kind("subject", kind).map_err(|_| bad())?;
    let id: crate::ids::JobId = id.parse().map_err(|_| bad())?; // any ULID-shaped id
    Ok(id.as_u128())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_have_wire_names_and_rules() {
        for s in ["queued", "running", "succeeded", "failed", "dead", "cancelled"] {
            let st = JobState::parse(s).unwrap();
            assert_eq!(st.as_str(), s);
            assert_eq!(serde_json::to_value(st).unwrap(), serde_json::json!(s));
        }
        assert!(JobState::parse("done").is_none());
        assert!(JobState::Queued.cancellable() && JobState::Failed.cancellable());
        assert!(!JobState::Running.cancellable() && !JobState::Dead.cancellable());
        assert!(JobState::Dead.retryable() && JobState::Failed.retryable());
        assert!(!JobState::Queued.retryable() && !JobState::Succeeded.retryable());
        assert!(JobState::Running.pending() && !JobState::Cancelled.pending());
    }

    #[test]
    fn kinds_keys_and_subjects_are_checked() {
        assert!(check_kind("kind", "send_message").is_ok());
        assert!(check_kind("kind", "Send").is_err() && check_kind("kind", "").is_err());
        assert!(check_key("reminder:48h:01J").is_ok());
        assert!(check_key("has space").is_err() && check_key("").is_err());
        let id = "01JGZ0J7Q8B5V2X3Y4Z5A6B7C8";
        assert_eq!(subject_key(&format!("appointment:{id}")).unwrap(), id.parse::<JobId>().unwrap().as_u128());
        assert!(subject_key("appointment").is_err() && subject_key("appointment:12").is_err());
    }
}
