//! Store behaviour on a real redb file in a temporary directory.

use std::sync::Arc;

use clowder_schemas::events::{Actor, DomainEvent};
use clowder_schemas::users::UserView;
use clowder_schemas::{SessionId, UserId};
use jiff::Timestamp;

use super::*;
use crate::clock::ManualClock;
use crate::metrics::StoreMetrics;

fn open(dir: &Path) -> (Arc<Store>, StoreMetrics) {
    let metrics = StoreMetrics::default();
    let config = StoreConfig { path: dir.join("clowder.redb"), clinic_id: "test-clinic".into(), cache_bytes: 8 << 20 };
    let clock = Arc::new(ManualClock::new(Timestamp::from_second(1_790_000_000).unwrap()));
    (Store::open(&config, clock, metrics.clone()).unwrap(), metrics)
}

fn session_event(n: u128) -> DomainEvent {
    DomainEvent::SessionStarted { user_id: UserId::from_u128(n), session_id: SessionId::from_u128(n) }
}

fn user(n: u128) -> clowder_schemas::users::User {
    clowder_schemas::users::User {
        id: UserId::from_u128(n),
        username: format!("user{n}"),
        display_name: format!("User {n}"),
        email: None,
        password_hash: "x".into(),
        roles: vec![],
        active: true,
        must_change_password: false,
        created_at: Timestamp::UNIX_EPOCH,
        updated_at: Timestamp::UNIX_EPOCH,
        failed_logins: 0,
        locked_until: None,
        pin_hash: None,
        failed_pins: 0,
        pin_locked: false,
        totp_secret: None,
        totp_pending: None,
        totp_last_step: None,
        recovery_codes: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_share_commits_and_every_write_is_readable() {
    let dir = tempfile::tempdir().unwrap();
    let (store, metrics) = open(dir.path());
    let mut tasks = Vec::new();
    for n in 1..=200u128 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut set = ChangeSet::new();
            set.put(RecordTable::Users, n, &user(n)).unwrap();
            set.event(Actor::System, session_event(n));
            store.commit(set).await
        }));
    }
    for t in tasks {
        assert!(t.await.unwrap().is_ok());
    }
    assert!(metrics.commits.get() < 200, "group commit batched {} commits for 200 change sets", metrics.commits.get());
    assert_eq!(metrics.change_sets.get(), 200);
    let r = store.read().unwrap();
    assert_eq!(r.count(RecordTable::Users).unwrap(), 200);
    assert_eq!(store.last_seq(), 200);
    let events = r.events_after(0, 1000).unwrap();
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=200).collect::<Vec<_>>(), "gap-free sequence");
    for w in events.windows(2) {
        assert_eq!(w[1].prev_hash, w[0].hash);
    }
}

#[tokio::test]
async fn a_unique_claim_refuses_the_whole_change_set() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    let mut a = ChangeSet::new();
    a.claim(tables::unique::USERNAME, "morgan", 1, "username");
    a.put(RecordTable::Users, 1, &user(1)).unwrap();
    store.commit(a).await.unwrap();

    let mut b = ChangeSet::new();
    b.claim(tables::unique::USERNAME, "morgan", 2, "username");
    b.put(RecordTable::Users, 2, &user(2)).unwrap();
    b.event(Actor::System, session_event(2));
    assert_eq!(store.commit(b).await, Err(CommitError::Duplicate { field: "username" }));
    let r = store.read().unwrap();
    assert!(r.get::<clowder_schemas::users::User>(RecordTable::Users, 2).unwrap().is_none(), "nothing written");
    assert_eq!(r.events_after(0, 10).unwrap().len(), 0, "no event appended");

    // The owner may claim again (idempotent); a release frees the value.
    let mut c = ChangeSet::new();
    c.claim(tables::unique::USERNAME, "morgan", 1, "username");
    c.release(tables::unique::USERNAME, "morgan", 1);
    store.commit(c).await.unwrap();
    assert_eq!(store.read().unwrap().unique_owner(tables::unique::USERNAME, "morgan").unwrap(), None);
}

#[tokio::test]
async fn data_and_the_event_chain_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (store, _) = open(dir.path());
        for n in 1..=5u128 {
            let mut set = ChangeSet::new();
            set.put(RecordTable::Users, n, &user(n))
                .unwrap()
                .event(Actor::User(UserId::from_u128(n)), session_event(n));
            store.commit(set).await.unwrap();
        }
        let s = store.clone();
        tokio::task::spawn_blocking(move || s.close()).await.unwrap();
    }
    let (store, _) = open(dir.path());
    assert!(!store.info().created);
    assert_eq!(store.info().clinic_id, "test-clinic");
    assert_eq!(store.last_seq(), 5);
    let mut set = ChangeSet::new();
    set.event(Actor::System, session_event(6));
    assert_eq!(store.commit(set).await.unwrap().last_seq, Some(6));
    let events = store.read().unwrap().events_after(4, 10).unwrap();
    assert_eq!(events[1].prev_hash, events[0].hash, "the chain continues across restarts");
}

#[tokio::test]
async fn a_tampered_event_log_is_detected_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clowder.redb");
    {
        let (store, _) = open(dir.path());
        for n in 1..=3u128 {
            let mut set = ChangeSet::new();
            set.event(Actor::System, session_event(n));
            store.commit(set).await.unwrap();
        }
        let s = store.clone();
        tokio::task::spawn_blocking(move || s.close()).await.unwrap();
    }
    {
        // Rewrite event 2's payload behind Clowder's back, keeping its old hash.
        let db = Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut t = txn.open_table(EVENTS).unwrap();
            let mut e: Event = codec::decode(t.get(2).unwrap().unwrap().value()).unwrap();
            e.payload = serde_json::json!({"type": "session_started", "forged": true});
            t.insert(2, codec::encode(&e).unwrap().as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }
    let config = StoreConfig { path, clinic_id: "x".into(), cache_bytes: 1 << 20 };
    let err = Store::open(&config, Arc::new(crate::SystemClock), StoreMetrics::default()).err().unwrap();
    assert!(matches!(err, StoreError::BrokenChain { seq: 2, .. }), "{err}");
}

#[tokio::test]
async fn a_second_process_cannot_open_the_same_store() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, _) = open(dir.path());
    let config = StoreConfig { path: dir.path().join("clowder.redb"), clinic_id: "x".into(), cache_bytes: 1 << 20 };
    let err = Store::open(&config, Arc::new(crate::SystemClock), StoreMetrics::default()).err().unwrap();
    assert!(matches!(err, StoreError::InUse(_)), "{err}");
}

#[tokio::test]
async fn commits_after_close_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    let s = store.clone();
    tokio::task::spawn_blocking(move || s.close()).await.unwrap();
    assert!(!store.is_running());
    assert_eq!(store.commit(ChangeSet::new()).await, Err(CommitError::Closed));
    let _ = UserView::from(&user(1));
}

#[tokio::test]
async fn close_releases_the_file_while_the_store_and_a_snapshot_are_still_held() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    let mut set = ChangeSet::new();
    set.put(RecordTable::Users, 1, &user(1)).unwrap();
    store.commit(set).await.unwrap();
    let snapshot = store.read().unwrap();
    let held = store.clone();
    let s = store.clone();
    tokio::task::spawn_blocking(move || s.close()).await.unwrap();
    // Another process (here: another open) gets the file at once, with the write in it.
    let (again, _) = open(dir.path());
    let user: Option<clowder_schemas::users::User> = again.read().unwrap().get(RecordTable::Users, 1).unwrap();
    assert_eq!(user.map(|u| u.username), Some("user1".into()));
    assert!(matches!(held.read(), Err(StoreError::Closed)));
    drop((snapshot, held));
}
