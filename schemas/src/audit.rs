//! The audit trail's vocabulary: who asked ([`Caller`]), and the hash-chained entries
//! ([`AuditEntry`]) that record every sign-in, every change of access rights, and every read
//! or write of a client or patient record.
//!
//! Entries never hold secrets: no password, token, PIN or TOTP secret is ever put in `detail`.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::events::Author;
use crate::records::Record;

/// Who is asking, from where, and why. Built at the HTTP edge and carried into every
/// command, so a change and its audit entry are written in one transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// `None` for an anonymous caller (e.g. a failed sign-in).
    pub actor: Option<Author>,
    /// The staff username, kept in the entry so the trail reads without joins.
    pub username: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// Why the caller did it (`X-Clowder-Reason`), e.g. "owner asked for records by phone".
    pub reason: Option<String>,
    /// The request's `Idempotency-Key` claim: the commit thread claims it with the first
    /// change set of this request that writes (see `docs/idempotency.md`). Never stored.
    #[serde(skip)]
    pub idempotency: Option<crate::idempotency::IdempotencyClaim>,
}

impl Caller {
    /// Clowder itself (start-up, demo seeding, scheduled jobs).
    pub fn system() -> Self {
        Caller { actor: Some(Author::System), ..Caller::default() }
    }

    /// The signed-in user, if the caller is one.
    pub fn user_id(&self) -> Option<crate::ids::UserId> {
        match self.actor {
            Some(Author::User(u)) => Some(u),
            _ => None,
        }
    }

    /// The author recorded in events (anonymous callers cause no events).
    pub fn author(&self) -> Author {
        self.actor.unwrap_or(Author::System)
    }
}

/// How the audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
    /// Refused by a permission check or a lock.
    Denied,
}

/// What an actor or service asks the store to record; the commit task adds the sequence
/// number, time, clinic and hash chain.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditDraft {
    pub caller: Caller,
    /// Dotted name, e.g. `client.read`, `auth.login_failed`, `user.roles_changed`.
    pub action: String,
    pub record_kind: Option<String>,
    pub record_id: Option<String>,
    pub outcome: Outcome,
    /// Non-secret facts, e.g. the fields changed or a list's filter and size.
    pub detail: Option<serde_json::Value>,
}

impl AuditDraft {
    pub fn new(caller: &Caller, action: impl Into<String>) -> Self {
        AuditDraft {
            caller: caller.clone(),
            action: action.into(),
            record_kind: None,
            record_id: None,
            outcome: Outcome::Success,
            detail: None,
        }
    }

    pub fn record(mut self, kind: &str, id: impl ToString) -> Self {
        self.record_kind = Some(kind.to_owned());
        self.record_id = Some(id.to_string());
        self
    }

    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(detail);
        self
    }
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    /// Position in the trail; gap-free from 1.
    pub seq: u64,
    pub at: Timestamp,
    pub clinic_id: String,
    pub actor: Option<Author>,
    pub username: Option<String>,
    pub action: String,
    pub record_kind: Option<String>,
    pub record_id: Option<String>,
    pub outcome: Outcome,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub reason: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub detail: Option<serde_json::Value>,
    /// Hex SHA-256 of the previous entry (64 zeros for the first).
    pub prev_hash: String,
    /// Hex SHA-256 over this entry's fields and `prev_hash`.
    pub hash: String,
}

impl Record for AuditEntry {
    const KIND: &'static str = "audit_entry";
    const VERSION: u16 = 1;
}

impl AuditEntry {
    /// The bytes the hash covers: every field but `hash`, length-prefixed in a fixed order
    /// (optional fields as JSON, so `None` and `""` differ).
    pub fn hash_input(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        let mut put = |bytes: &[u8]| {
            out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
            out.extend_from_slice(bytes);
        };
        let json = |v: &dyn erased::Json| v.json();
        put(self.prev_hash.as_bytes());
        put(&self.seq.to_be_bytes());
        put(self.at.to_string().as_bytes());
        put(self.clinic_id.as_bytes());
        put(json(&self.actor).as_bytes());
        put(json(&self.username).as_bytes());
        put(self.action.as_bytes());
        put(json(&self.record_kind).as_bytes());
        put(json(&self.record_id).as_bytes());
        put(json(&self.outcome).as_bytes());
        put(json(&self.ip).as_bytes());
        put(json(&self.user_agent).as_bytes());
        put(json(&self.request_id).as_bytes());
        put(json(&self.reason).as_bytes());
        put(json(&self.detail).as_bytes());
        out
    }
}

mod erased {
    /// Canonical JSON of a value (serde_json sorts object keys).
    pub trait Json {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap_or_default()
        }
    }
}

/// Filters of `GET /api/audit`. Entries come newest first.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only this staff user's entries (user id).
    pub user_id: Option<String>,
    /// Only entries about this record kind (`client`, `patient`, `user`, …).
    pub record_kind: Option<String>,
    /// Only entries about this record id.
    pub record_id: Option<String>,
    /// Only this action, or a prefix ending in `.` (e.g. `auth.`).
    pub action: Option<String>,
    /// Entries at or after this instant (RFC 3339).
    pub from: Option<Timestamp>,
    /// Entries before this instant (RFC 3339).
    pub to: Option<Timestamp>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Maximum length of an `X-Clowder-Reason`.
pub const MAX_REASON_CHARS: usize = 500;
