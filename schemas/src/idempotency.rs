//! Safe retries: the `Idempotency-Key` a client sends with a change, the claim a request
//! carries into its change set ([`IdempotencyClaim`], inside the [`Caller`](crate::audit::Caller)),
//! and the stored record of a key ([`IdempotencyRecord`]) with the answer a retry replays.
//!
//! Only the vocabulary and the key's rules live here; the store claims keys in
//! `actors::store::commit`, `actors::idempotency` decides what a retry gets, and the web layer
//! reads the header and replays answers.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::errors::ValidationError;
use crate::records::Record;

/// The request header, as written in documentation and error `field`s.
pub const HEADER: &str = "Idempotency-Key";

/// Longest key accepted, in bytes.
pub const MAX_KEY_BYTES: usize = 255;

/// How long a key is remembered after the request that claimed it wrote.
pub const KEY_TTL: SignedDuration = SignedDuration::from_hours(24);

/// Checks a raw header value: 1 to 255 bytes of visible ASCII or spaces (no control
/// characters, which a log line or a terminal would interpret).
pub fn parse_key(raw: &[u8]) -> Result<&str, ValidationError> {
    let bad = |m: &str| ValidationError::new(HEADER, m);
    if raw.is_empty() {
        return Err(bad("Idempotency-Key must not be empty"));
    }
    if raw.len() > MAX_KEY_BYTES {
        return Err(bad("Idempotency-Key must be at most 255 bytes"));
    }
    if raw.iter().any(|b| !(b' '..=b'~').contains(b)) {
        return Err(bad("Idempotency-Key must be printable ASCII, without control characters"));
    }
    // Every byte is ASCII, so this cannot fail; the fallback keeps it panic-free.
    let key = std::str::from_utf8(raw).map_err(|_| bad("Idempotency-Key must be printable ASCII"))?;
    if key.trim().is_empty() {
        return Err(bad("Idempotency-Key must not be blank"));
    }
    Ok(key)
}

/// What one attempt of a request with an `Idempotency-Key` carries into the change sets it
/// commits. The commit thread claims `(principal, key)` for `attempt` in the first change set
/// of the attempt that writes anything; a change set of another attempt holding a live claim
/// on the same key is refused and writes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    /// Whose key it is: keys are per user (`user:<id>`).
    pub principal: String,
    pub key: String,
    /// Hex SHA-256 of the method, path, principal and body of the request.
    pub fingerprint: String,
    /// Tells this attempt from a retry (a fresh ULID per attempt).
    pub attempt: u128,
}

/// The answer a retry replays: status, the headers that matter and the body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAnswer {
    pub status: u16,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(with = "serde_bytes_vec")]
    pub body: Vec<u8>,
}

/// A claimed key, stored in the `idempotency` table under `(principal, key)`.
///
/// Version history: v1 is the first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    pub fingerprint: String,
    /// The attempt that claimed it (as a string: MessagePack has no 128-bit integers).
    pub attempt: String,
    /// When the claiming change set committed; the key expires [`KEY_TTL`] later.
    pub created_at: Timestamp,
    pub request_id: Option<String>,
    /// The record the claiming change set's first audit entry names, so a lost answer can
    /// still say what was done.
    pub record_kind: Option<String>,
    pub record_id: Option<String>,
    /// Written by a follow-up commit once the handler answered; `None` if the process
    /// stopped in between.
    pub answer: Option<StoredAnswer>,
}

impl IdempotencyRecord {
    /// True once the key may be forgotten (and claimed afresh).
    pub fn expired(&self, now: Timestamp) -> bool {
        self.created_at.checked_add(KEY_TTL).is_ok_and(|until| until <= now)
    }
}

impl Record for IdempotencyRecord {
    const KIND: &'static str = "idempotency_key";
    const VERSION: u16 = 1;
}

/// Answer bodies are JSON text: kept as a string (compact, and readable when debugging a
/// store), or as a list of bytes when one is not UTF-8.
mod serde_bytes_vec {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Text(String),
        Bytes(Vec<u8>),
    }

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(v) {
            Ok(t) => Repr::Text(t.to_owned()).serialize(s),
            Err(_) => Repr::Bytes(v.to_vec()).serialize(s),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        Ok(match Repr::deserialize(d)? {
            Repr::Text(t) => t.into_bytes(),
            Repr::Bytes(b) => b,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_short_printable_ascii() {
        assert_eq!(parse_key(b"3f1c0b6e-6a0e-4f0e-9a53-7d2b1e0c9f11").unwrap(), "3f1c0b6e-6a0e-4f0e-9a53-7d2b1e0c9f11");
        assert_eq!(parse_key(&[b'a'; 255]).unwrap().len(), 255);
        for bad in [&b""[..], &[b'a'; 256], b"ab\tc", b"ab\x7fc", b"line\nbreak", "caf\u{e9}".as_bytes(), b"   "] {
            assert_eq!(parse_key(bad).unwrap_err().field, HEADER, "{bad:?}");
        }
    }

    #[test]
    fn a_key_expires_a_day_after_it_was_claimed() {
        let at = Timestamp::from_second(1_800_000_000).unwrap();
        let r = IdempotencyRecord {
            fingerprint: String::new(),
            attempt: "1".into(),
            created_at: at,
            request_id: None,
            record_kind: None,
            record_id: None,
            answer: None,
        };
        assert!(!r.expired(at + SignedDuration::from_secs(86_399)));
        assert!(r.expired(at + SignedDuration::from_hours(24)));
    }
}
