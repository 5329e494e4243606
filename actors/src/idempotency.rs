//! Safe retries (`Idempotency-Key`): what a request with a key gets (run, replay, refusal),
//! the in-process register of attempts still running, and the 24-hour expiry sweep (run by
//! the daily clean-up job, `jobs::cleanup`). The web
//! layer reads the header and turns [`Begin`] into HTTP; the commit thread claims keys.
//!
//! # Design
//!
//! The guarantee: a retry of a request whose first attempt committed never writes again,
//! even if the first attempt's answer never reached the client and the process restarted.
//!
//! - **The claim rides in the write's own change set.** A handler's write happens deep in an
//!   actor, in another task, so neither a task-local nor the handler can add to its change
//!   set. What does reach every change set is the request's
//!   [`Caller`](clowder_schemas::audit::Caller): every change carries its audit entry (an
//!   invariant), and the entry carries the caller. So the request's
//!   [`IdempotencyClaim`] travels in `Caller::idempotency`, and the commit thread claims
//!   `(principal, key)` in the `idempotency` table in the same transaction as the first change
//!   set of the request that writes (audit-only change sets, such as a refusal, claim
//!   nothing). A change set of a *different* attempt that meets a live claim is refused and
//!   writes nothing. So "committed" and "key claimed" are one fact, atomically, crash or not.
//! - **The answer follows in a second commit.** The handler's answer (status, body) exists
//!   only after its commit, so it is stored by [`Idempotency::finish`] in a follow-up change
//!   set. A crash between the two leaves a claimed key without an answer: a retry then gets
//!   [`Begin::AnswerLost`] (409 `idempotent_answer_lost`, naming the record the first attempt
//!   wrote) and still writes nothing. Putting the answer in the write's transaction would need
//!   every handler to render its answer before committing; the window here is one fsync.
//! - **Concurrent retries wait in memory.** One attempt per `(principal, key)` runs at a
//!   time; the others wait (up to [`WAIT_FOR_FIRST`]) and then replay what it stored, or get
//!   [`Begin::InProgress`]. The slot is freed only after the answer is durable, so a waiter
//!   always finds it. The commit thread's check backs this up.
//! - **Only requests that wrote keep their key.** The answer is stored exactly when the
//!   attempt's claim committed, whatever its status. A request that wrote nothing (422
//!   validation, 409 conflict, 5xx before the commit) leaves the key free: a retry runs again,
//!   and may use the same key with a corrected body. (Stripe also stores 4xx answers; here a
//!   refused request never changed anything, so running it again is safe and more useful.)
//! - Keys are per principal, and a key reused with another method, path or body (hashed into
//!   the fingerprint) is refused with 422 `idempotency_key_reused`. Keys expire
//!   [`KEY_TTL`](clowder_schemas::idempotency::KEY_TTL) after their claim; the sweep deletes
//!   them, and the commit thread already treats an expired claim as free.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clowder_schemas::idempotency::{IdempotencyClaim, StoredAnswer};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::ctx::Ctx;
use crate::error::Error;
use crate::store::ChangeSet;

/// How long a retry waits for an attempt with the same key that is still running.
pub const WAIT_FOR_FIRST: Duration = Duration::from_secs(15);

/// What a request with an `Idempotency-Key` should do.
#[derive(Debug)]
pub enum Begin {
    /// Run it, with [`Attempt::claim`] in its caller, then call [`Idempotency::finish`].
    Run(Attempt),
    /// A first attempt with this key and body wrote and answered this: send it again.
    Replay(StoredAnswer),
    /// The key was used for another request (method, path or body).
    Reused,
    /// An attempt with this key is still running after [`WAIT_FOR_FIRST`].
    InProgress,
    /// An attempt with this key wrote, but the process stopped before its answer was stored.
    AnswerLost { record_kind: Option<String>, record_id: Option<String> },
}

type Slots = Arc<Mutex<HashMap<(String, String), Running>>>;

struct Running {
    fingerprint: String,
    done: watch::Receiver<bool>,
}

/// One running attempt; holds its key's slot until dropped.
#[derive(Debug)]
pub struct Attempt {
    claim: IdempotencyClaim,
    slot: Slot,
}

impl Attempt {
    /// What the request's caller must carry into its change sets.
    pub fn claim(&self) -> &IdempotencyClaim {
        &self.claim
    }
}

struct Slot {
    slots: Slots,
    key: (String, String),
    done: watch::Sender<bool>,
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slot").field("key", &self.key).finish()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.key);
        let _ = self.done.send(true);
    }
}

/// The idempotency service. Cheap to clone.
#[derive(Clone)]
pub struct Idempotency {
    ctx: Arc<Ctx>,
    slots: Slots,
}

impl Idempotency {
    pub fn new(ctx: Arc<Ctx>) -> Self {
        Idempotency { ctx, slots: Arc::default() }
    }

    /// The principal part of a key's name: keys are per user.
    pub fn principal_of(user: clowder_schemas::UserId) -> String {
        format!("user:{user}")
    }

    /// Hex SHA-256 of the request (each part length-prefixed, so no two requests collide).
    pub fn fingerprint(method: &str, path: &str, principal: &str, body: &[u8]) -> String {
        let mut h = Sha256::new();
        for part in [method.as_bytes(), path.as_bytes(), principal.as_bytes(), body] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part);
        }
        crate::store::commit::hex(&h.finalize())
    }

    /// Decides what a request with `key` does; waits up to `wait` for a running attempt with
    /// the same key.
    pub async fn begin(&self, principal: &str, key: &str, fingerprint: &str, wait: Duration) -> Result<Begin, Error> {
        let deadline = tokio::time::Instant::now() + wait;
        let name = (principal.to_owned(), key.to_owned());
        loop {
            let mut done = {
                let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
                match slots.get(&name) {
                    Some(r) if r.fingerprint != fingerprint => return Ok(Begin::Reused),
                    Some(r) => r.done.clone(),
                    None => {
                        // Checked under the lock: no other attempt can start in between.
                        let now = self.ctx.clock.now();
                        match self.ctx.store.read()?.idempotency_key(principal, key)? {
                            Some(r) if !r.expired(now) => {
                                if r.fingerprint != fingerprint {
                                    return Ok(Begin::Reused);
                                }
                                return Ok(match r.answer {
                                    Some(a) => Begin::Replay(a),
                                    None => Begin::AnswerLost { record_kind: r.record_kind, record_id: r.record_id },
                                });
                            }
                            _ => {
                                let (tx, rx) = watch::channel(false);
                                slots.insert(name.clone(), Running { fingerprint: fingerprint.to_owned(), done: rx });
                                let claim = IdempotencyClaim {
                                    principal: principal.to_owned(),
                                    key: key.to_owned(),
                                    fingerprint: fingerprint.to_owned(),
                                    attempt: self.ctx.new_ulid().0,
                                };
                                let slot = Slot { slots: self.slots.clone(), key: name, done: tx };
                                return Ok(Begin::Run(Attempt { claim, slot }));
                            }
                        }
                    }
                }
            };
            // The first attempt frees its slot after storing its answer; then look again.
            match tokio::time::timeout_at(deadline, done.wait_for(|d| *d)).await {
                Ok(_) => continue,
                Err(_) => return Ok(Begin::InProgress),
            }
        }
    }

    /// Ends an attempt: stores its answer if the attempt wrote (its claim committed), then
    /// frees the key's slot. Returns whether the answer was stored.
    pub async fn finish(&self, attempt: Attempt, answer: StoredAnswer) -> Result<bool, Error> {
        let claim = &attempt.claim;
        let held = self.ctx.store.read()?.idempotency_key(&claim.principal, &claim.key)?;
        let wrote = held.is_some_and(|r| r.attempt == claim.attempt.to_string());
        if wrote {
            let mut set = ChangeSet::new();
            set.idempotent_answer(claim, answer);
            self.ctx.store.commit(set).await?;
        }
        drop(attempt.slot);
        Ok(wrote)
    }

    /// Adds to `set` the removal of every key claimed more than a day ago; returns how many.
    /// (The daily clean-up job commits these with its success; each removal only applies if
    /// the same attempt still holds the key.)
    pub fn sweep_into(&self, set: &mut ChangeSet) -> Result<usize, Error> {
        let now = self.ctx.clock.now();
        let expired = self.ctx.store.read()?.expired_idempotency_keys(now)?;
        for (principal, key, attempt) in &expired {
            set.forget_idempotency_key(principal, key, attempt);
        }
        Ok(expired.len())
    }

    /// Deletes every key claimed more than a day ago, in a change set of its own; returns how
    /// many.
    pub async fn sweep(&self) -> Result<usize, Error> {
        let mut set = ChangeSet::new();
        let n = self.sweep_into(&mut set)?;
        if n > 0 {
            self.ctx.store.commit(set).await?;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;
    use crate::ctx::SystemConfig;
    use clowder_schemas::audit::{AuditDraft, Caller};

    async fn service() -> (Idempotency, Arc<ManualClock>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(jiff::Timestamp::from_second(1_800_000_000).unwrap()));
        let system = crate::System::start(SystemConfig::new(dir.path()), clock.clone()).unwrap();
        (Idempotency::new(system.ctx.clone()), clock, dir)
    }

    /// A write in the attempt's name: a record, with the caller's audit entry.
    async fn write(svc: &Idempotency, claim: Option<&IdempotencyClaim>) -> Result<(), crate::store::CommitError> {
        let caller = Caller { idempotency: claim.cloned(), ..Caller::system() };
        let mut set = ChangeSet::new();
        let search = clowder_schemas::search::SearchHistory::default();
        set.put(crate::store::RecordTable::SearchHistory, svc.ctx.new_ulid().0, &search).unwrap();
        set.audit(AuditDraft::new(&caller, "test.write"));
        svc.ctx.store.commit(set).await.map(|_| ())
    }

    fn answer(body: &str) -> StoredAnswer {
        StoredAnswer { status: 201, content_type: Some("application/json".into()), location: None, body: body.into() }
    }

    #[tokio::test]
    async fn a_key_is_replayed_reused_or_expired() {
        let (svc, clock, _dir) = service().await;
        let Begin::Run(a) = svc.begin("user:1", "k", "f1", WAIT_FOR_FIRST).await.unwrap() else { panic!("runs") };
        write(&svc, Some(a.claim())).await.unwrap();
        assert!(svc.finish(a, answer("{\"n\":1}")).await.unwrap(), "it wrote, so its answer is kept");

        match svc.begin("user:1", "k", "f1", WAIT_FOR_FIRST).await.unwrap() {
            Begin::Replay(a) => assert_eq!(a.body, b"{\"n\":1}"),
            other => panic!("expected a replay, got {other:?}"),
        }
        assert!(matches!(svc.begin("user:1", "k", "f2", WAIT_FOR_FIRST).await.unwrap(), Begin::Reused));
        assert!(matches!(svc.begin("user:2", "k", "f1", WAIT_FOR_FIRST).await.unwrap(), Begin::Run(_)), "per user");

        clock.advance(jiff::SignedDuration::from_hours(23));
        assert_eq!(svc.sweep().await.unwrap(), 0, "a day has not passed");
        clock.advance(jiff::SignedDuration::from_hours(1));
        assert_eq!(svc.sweep().await.unwrap(), 1);
        assert!(svc.ctx.store.read().unwrap().idempotency_key("user:1", "k").unwrap().is_none(), "gone");
        assert!(matches!(svc.begin("user:1", "k", "f2", WAIT_FOR_FIRST).await.unwrap(), Begin::Run(_)));
    }

    #[tokio::test]
    async fn an_expired_key_is_free_before_the_sweep_and_the_sweep_keeps_its_new_claim() {
        let (svc, clock, _dir) = service().await;
        let Begin::Run(a) = svc.begin("user:1", "k", "f1", WAIT_FOR_FIRST).await.unwrap() else { panic!("runs") };
        write(&svc, Some(a.claim())).await.unwrap();
        svc.finish(a, answer("old")).await.unwrap();
        clock.advance(jiff::SignedDuration::from_hours(25));
        // Not swept yet, but expired: a new request may claim the key, even with another body.
        let Begin::Run(b) = svc.begin("user:1", "k", "f2", WAIT_FOR_FIRST).await.unwrap() else { panic!("runs") };
        write(&svc, Some(b.claim())).await.expect("the commit thread treats the expired claim as free");
        svc.finish(b, answer("new")).await.unwrap();
        assert_eq!(svc.sweep().await.unwrap(), 0, "the new claim is live");
        match svc.begin("user:1", "k", "f2", WAIT_FOR_FIRST).await.unwrap() {
            Begin::Replay(a) => assert_eq!(a.body, b"new"),
            other => panic!("expected a replay, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_request_that_wrote_nothing_leaves_its_key_free() {
        let (svc, _clock, _dir) = service().await;
        let Begin::Run(a) = svc.begin("user:1", "k", "f1", WAIT_FOR_FIRST).await.unwrap() else { panic!("runs") };
        // Only an audit entry (a refusal): no claim.
        let caller = Caller { idempotency: Some(a.claim().clone()), ..Caller::system() };
        let mut set = ChangeSet::new();
        set.audit(AuditDraft::new(&caller, "test.refused"));
        svc.ctx.store.commit(set).await.unwrap();
        assert!(!svc.finish(a, answer("{}")).await.unwrap());
        assert!(matches!(svc.begin("user:1", "k", "f2", WAIT_FOR_FIRST).await.unwrap(), Begin::Run(_)));
    }

    #[tokio::test]
    async fn another_attempt_cannot_write_under_a_claimed_key_and_a_lost_answer_is_reported() {
        let (svc, _clock, _dir) = service().await;
        let Begin::Run(a) = svc.begin("user:1", "k", "f1", WAIT_FOR_FIRST).await.unwrap() else { panic!("runs") };
        write(&svc, Some(a.claim())).await.unwrap();
        write(&svc, Some(a.claim())).await.expect("the same attempt may write again");
        let mut other = a.claim().clone();
        other.attempt += 1;
        assert_eq!(
            write(&svc, Some(&other)).await,
            Err(crate::store::CommitError::Duplicate { field: "Idempotency-Key" }),
            "a second attempt writes nothing"
        );
        // The process "stops" before the answer is stored: the slot goes, the claim stays.
        drop(a);
        assert!(matches!(svc.begin("user:1", "k", "f1", WAIT_FOR_FIRST).await.unwrap(), Begin::AnswerLost { .. }));
    }

    #[tokio::test]
    async fn a_retry_waits_for_the_running_attempt_or_gives_up() {
        let (svc, _clock, _dir) = service().await;
        let Begin::Run(a) = svc.begin("user:1", "k", "f1", WAIT_FOR_FIRST).await.unwrap() else { panic!("runs") };
        assert!(matches!(svc.begin("user:1", "k", "f1", Duration::from_millis(20)).await.unwrap(), Begin::InProgress));
        assert!(matches!(svc.begin("user:1", "k", "f9", WAIT_FOR_FIRST).await.unwrap(), Begin::Reused));
        let waiter = {
            let svc = svc.clone();
            tokio::spawn(async move { svc.begin("user:1", "k", "f1", WAIT_FOR_FIRST).await.unwrap() })
        };
        write(&svc, Some(a.claim())).await.unwrap();
        svc.finish(a, answer("first")).await.unwrap();
        match waiter.await.unwrap() {
            Begin::Replay(a) => assert_eq!(a.body, b"first"),
            other => panic!("expected a replay, got {other:?}"),
        }
    }
}
