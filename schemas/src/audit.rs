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
        self.write_hash_input(&mut out);
        out
    }

    /// Appends [`Self::hash_input`] to `out`. Each field is written in place and its length
    /// patched in afterwards, so an entry costs no allocation besides `out`'s own growth:
    /// the commit thread hashes every read's entry, and reuses one buffer for all of them.
    pub fn write_hash_input(&self, out: &mut Vec<u8>) {
        /// Writes a length prefix, then `write`'s bytes, then patches the length.
        fn put(out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) {
            let at = out.len();
            out.extend_from_slice(&[0; 8]);
            write(out);
            let len = (out.len() - at - 8) as u64;
            out[at..at + 8].copy_from_slice(&len.to_be_bytes());
        }
        /// Canonical JSON (serde_json sorts object keys); the same bytes as `to_string`.
        fn json<T: Serialize>(out: &mut Vec<u8>, value: &T) {
            put(out, |out| {
                let _ = serde_json::to_writer(out, value);
            })
        }
        put(out, |o| o.extend_from_slice(self.prev_hash.as_bytes()));
        put(out, |o| o.extend_from_slice(&self.seq.to_be_bytes()));
        put(out, |o| {
            use std::io::Write;
            let _ = write!(o, "{}", self.at);
        });
        put(out, |o| o.extend_from_slice(self.clinic_id.as_bytes()));
        json(out, &self.actor);
        json(out, &self.username);
        put(out, |o| o.extend_from_slice(self.action.as_bytes()));
        json(out, &self.record_kind);
        json(out, &self.record_id);
        json(out, &self.outcome);
        json(out, &self.ip);
        json(out, &self.user_agent);
        json(out, &self.request_id);
        json(out, &self.reason);
        json(out, &self.detail);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::UserId;

    /// The definition of the hash input as first written (a `String` per field). Stored
    /// trails are chained over these bytes, so the allocation-free writer must match it.
    fn reference_input(e: &AuditEntry) -> Vec<u8> {
        let mut out = Vec::new();
        let mut put = |bytes: &[u8]| {
            out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
            out.extend_from_slice(bytes);
        };
        let json = |v: &dyn erased::Json| v.json();
        put(e.prev_hash.as_bytes());
        put(&e.seq.to_be_bytes());
        put(e.at.to_string().as_bytes());
        put(e.clinic_id.as_bytes());
        put(json(&e.actor).as_bytes());
        put(json(&e.username).as_bytes());
        put(e.action.as_bytes());
        put(json(&e.record_kind).as_bytes());
        put(json(&e.record_id).as_bytes());
        put(json(&e.outcome).as_bytes());
        put(json(&e.ip).as_bytes());
        put(json(&e.user_agent).as_bytes());
        put(json(&e.request_id).as_bytes());
        put(json(&e.reason).as_bytes());
        put(json(&e.detail).as_bytes());
        out
    }

    mod erased {
        pub trait Json {
            fn json(&self) -> String;
        }
        impl<T: serde::Serialize> Json for T {
            fn json(&self) -> String {
                serde_json::to_string(self).unwrap_or_default()
            }
        }
    }

    fn entry() -> AuditEntry {
        AuditEntry {
            seq: 42,
            at: Timestamp::from_second(1_790_000_000).unwrap(),
            clinic_id: "main".into(),
            actor: Some(Author::User(UserId::from_u128(7))),
            username: Some("dr.ruiz".into()),
            action: "patient.read".into(),
            record_kind: Some("patient".into()),
            record_id: Some("01JD7Y2Q4Z8W3N5K6M7P8R9S0T".into()),
            outcome: Outcome::Success,
            ip: Some("127.0.0.1".into()),
            user_agent: Some("tablet \"exam 2\" \u{e9}\n".into()),
            request_id: None,
            reason: Some(String::new()),
            detail: Some(serde_json::json!({"z": 1, "a": [1, "two", null], "ids": ["x"]})),
            prev_hash: "ab".repeat(32),
            hash: String::new(),
        }
    }

    #[test]
    fn the_hash_input_is_the_bytes_of_its_first_definition() {
        let full = entry();
        assert_eq!(full.hash_input(), reference_input(&full));
        let mut bare = entry();
        bare.actor = None;
        bare.username = None;
        bare.record_kind = None;
        bare.record_id = None;
        bare.ip = None;
        bare.user_agent = None;
        bare.reason = None;
        bare.detail = None;
        bare.outcome = Outcome::Denied;
        bare.at = Timestamp::from_second(1_790_000_000).unwrap() + jiff::SignedDuration::from_nanos(123_456_789);
        assert_eq!(bare.hash_input(), reference_input(&bare));
        // Appending reuses a buffer that already holds another entry's input.
        let mut buf = full.hash_input();
        bare.write_hash_input(&mut buf);
        assert_eq!(buf[full.hash_input().len()..], reference_input(&bare)[..]);
    }
}
