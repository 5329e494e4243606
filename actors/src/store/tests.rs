//! Store behaviour on a real redb file in a temporary directory.

use std::sync::Arc;

use clowder_schemas::events::{Author, DomainEvent};
use clowder_schemas::users::UserView;
use clowder_schemas::{SessionId, UserId};
use jiff::Timestamp;

use super::*;
use crate::clock::ManualClock;
use crate::metrics::StoreMetrics;

fn open(dir: &Path) -> (Arc<Store>, StoreMetrics) {
    let metrics = StoreMetrics::default();
    let config = StoreConfig {
        path: dir.join("clowder.redb"),
        clinic_id: "test-clinic".into(),
        cache_bytes: 8 << 20,
        journal: None,
    };
    let clock = Arc::new(ManualClock::new(Timestamp::from_second(1_790_000_000).unwrap()));
    (Store::open(&config, clock, metrics.clone()).unwrap(), metrics)
}

fn session_event(n: u128) -> DomainEvent {
    DomainEvent::SessionStarted { user_id: UserId::from_u128(n), session_id: SessionId::from_u128(n) }
}

pub(super) fn user(n: u128) -> clowder_schemas::users::User {
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
            set.event(Author::System, session_event(n));
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
    b.event(Author::System, session_event(2));
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

/// A table's generation moves on with each committed transaction that wrote it, and not
/// with a refused change set or a commit to another table.
#[tokio::test]
async fn a_table_generation_counts_the_commits_that_wrote_it() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    let users = store.generation(RecordTable::Users);
    let clients = store.generation(RecordTable::Clients);
    let mut a = ChangeSet::new();
    a.claim(tables::unique::USERNAME, "tabby", 1, "username");
    a.put(RecordTable::Users, 1, &user(1)).unwrap();
    store.commit(a).await.unwrap();
    assert_eq!(store.generation(RecordTable::Users), users + 1);
    assert_eq!(store.generation(RecordTable::Clients), clients);

    let mut b = ChangeSet::new();
    b.claim(tables::unique::USERNAME, "tabby", 2, "username");
    b.put(RecordTable::Users, 2, &user(2)).unwrap();
    assert!(store.commit(b).await.is_err());
    assert_eq!(store.generation(RecordTable::Users), users + 1, "a refused change set wrote nothing");

    let mut c = ChangeSet::new();
    c.delete(RecordTable::Users, 1);
    store.commit(c).await.unwrap();
    assert_eq!(store.generation(RecordTable::Users), users + 2, "a delete is a write");
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
                .event(Author::User(UserId::from_u128(n)), session_event(n));
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
    set.event(Author::System, session_event(6));
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
            set.event(Author::System, session_event(n));
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
    let config = StoreConfig { path, clinic_id: "x".into(), cache_bytes: 1 << 20, journal: None };
    let err = Store::open(&config, Arc::new(crate::SystemClock), StoreMetrics::default()).err().unwrap();
    assert!(matches!(err, StoreError::BrokenChain { seq: 2, .. }), "{err}");
}

#[tokio::test]
async fn a_second_process_cannot_open_the_same_store() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, _) = open(dir.path());
    let config = StoreConfig {
        path: dir.path().join("clowder.redb"),
        clinic_id: "x".into(),
        cache_bytes: 1 << 20,
        journal: None,
    };
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

/// A user standing in for an invoice: its display name is its number.
fn numbered(n: u128) -> impl FnOnce(&str) -> Result<clowder_schemas::users::User, String> + Send + 'static {
    move |number| Ok(clowder_schemas::users::User { display_name: number.to_owned(), ..user(n) })
}

fn name_of(store: &Store, n: u128) -> Option<String> {
    store.read().unwrap().get::<clowder_schemas::users::User>(RecordTable::Users, n).unwrap().map(|u| u.display_name)
}

const INV: Series = Series { prefix: "INV", year: 2026 };

#[tokio::test]
async fn numbers_are_consecutive_per_series_and_year_and_written_into_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    let mut set = ChangeSet::new();
    set.put_numbered(RecordTable::Users, 1, INV, numbered(1));
    set.put_numbered(RecordTable::Users, 2, INV, numbered(2));
    set.put_numbered(RecordTable::Users, 3, Series::new("EST", 2026), numbered(3));
    set.put_numbered(RecordTable::Users, 4, Series::new("INV", 2027), numbered(4));
    let receipt = store.commit(set).await.unwrap();
    assert_eq!(receipt.numbers, ["INV-2026-000001", "INV-2026-000002", "EST-2026-000001", "INV-2027-000001"]);
    assert_eq!(name_of(&store, 2).as_deref(), Some("INV-2026-000002"), "the record holds its number");
    let mut set = ChangeSet::new();
    set.put_numbered(RecordTable::Users, 5, INV, numbered(5));
    assert_eq!(store.commit(set).await.unwrap().numbers, ["INV-2026-000003"]);
    assert_eq!(store.last_number(INV).unwrap(), 3);
    assert_eq!(store.read().unwrap().series_last("test-clinic/INV/2026").unwrap(), 3, "counted per clinic");
}

#[tokio::test]
async fn a_refused_change_set_consumes_no_number_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    let mut taken = ChangeSet::new();
    taken.claim(tables::unique::USERNAME, "ana", 100, "username");
    store.commit(taken).await.unwrap();

    // A unique-value conflict refuses the whole change set, numbered record included.
    let mut set = ChangeSet::new();
    set.put_numbered(RecordTable::Users, 1, INV, numbered(1));
    set.claim(tables::unique::USERNAME, "ana", 1, "username");
    assert_eq!(store.commit(set).await, Err(CommitError::Duplicate { field: "username" }));
    // A builder that refuses after its number was allocated: nothing is kept.
    let mut set = ChangeSet::new();
    set.put_numbered(RecordTable::Users, 2, INV, numbered(2));
    set.put_numbered(RecordTable::Users, 3, INV, |_| Err::<clowder_schemas::users::User, _>("no lines".to_owned()));
    set.claim(tables::unique::USERNAME, "bea", 2, "username");
    assert_eq!(store.commit(set).await, Err(CommitError::Refused("no lines".into())));
    assert_eq!((name_of(&store, 1), name_of(&store, 2)), (None, None));
    assert_eq!(store.read().unwrap().unique_owner(tables::unique::USERNAME, "bea").unwrap(), None);
    assert_eq!(store.last_number(INV).unwrap(), 0);

    // A builder that panics refuses only its own change set; the commit thread goes on.
    let mut set = ChangeSet::new();
    set.put_numbered(RecordTable::Users, 5, INV, |_| -> Result<clowder_schemas::users::User, String> {
        panic!("a bug in a record's builder")
    });
    assert_eq!(store.commit(set).await, Err(CommitError::Refused("the record's builder panicked".into())));
    assert_eq!(store.last_number(INV).unwrap(), 0);

    let mut set = ChangeSet::new();
    set.put_numbered(RecordTable::Users, 4, INV, numbered(4));
    assert_eq!(store.commit(set).await.unwrap().numbers, ["INV-2026-000001"], "the next one gets the first number");
}

#[tokio::test]
async fn a_transaction_that_never_commits_consumes_no_number_and_numbers_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (store, _) = open(dir.path());
        let mut set = ChangeSet::new();
        set.put_numbered(RecordTable::Users, 1, INV, numbered(1));
        store.commit(set).await.unwrap();
        // The process dies before the transaction commits: as if it never happened.
        let mut set = ChangeSet::new();
        set.put_numbered(RecordTable::Users, 2, INV, numbered(2));
        set.fail_transaction = true;
        assert!(matches!(store.commit(set).await, Err(CommitError::Store(_))));
        assert_eq!(name_of(&store, 2), None);
        tokio::task::spawn_blocking(move || store.close()).await.unwrap();
    }
    let (store, _) = open(dir.path());
    assert_eq!(store.last_number(INV).unwrap(), 1);
    let mut set = ChangeSet::new();
    set.put_numbered(RecordTable::Users, 3, INV, numbered(3));
    assert_eq!(store.commit(set).await.unwrap().numbers, ["INV-2026-000002"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_allocations_are_consecutive_with_no_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    let mut tasks = Vec::new();
    for n in 1..=120u128 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut set = ChangeSet::new();
            if n % 3 == 0 {
                // Every third one fails after its number was allocated.
                set.put_numbered(RecordTable::Users, n, INV, |_| Err::<clowder_schemas::users::User, _>("no".into()));
            } else {
                set.put_numbered(RecordTable::Users, n, INV, numbered(n));
            }
            store.commit(set).await.map(|r| (n, r.numbers))
        }));
    }
    let mut given = Vec::new();
    for t in tasks {
        if let Ok((n, numbers)) = t.await.unwrap() {
            assert_eq!(name_of(&store, n).as_ref(), numbers.first());
            given.extend(numbers);
        }
    }
    given.sort();
    let expected: Vec<String> = (1..=80).map(|n| INV.format(n)).collect();
    assert_eq!(given, expected);
    assert_eq!(store.last_number(INV).unwrap(), 80);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trails_own_read_follows_every_read_entry_queued_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    let caller = clowder_schemas::audit::Caller::system();
    // More than one batch's worth of read entries, queued without waiting.
    let reads = 3 * commit::AUDITS_PER_BATCH + 7;
    for i in 0..reads {
        store.enqueue_audit(AuditDraft::new(&caller, "patient.read").record("patient", i)).await.unwrap();
    }
    let mut set = ChangeSet::new();
    set.audit(AuditDraft::new(&caller, "audit.read"));
    store.commit_after_reads(set).await.unwrap();
    // Committed means visible to a snapshot taken now: every read queued before is there.
    let (entries, _) = store.read().unwrap().audit_before(None, reads + 10, 100_000, |_| true).unwrap();
    let read_entries = entries.iter().filter(|e| e.action == "patient.read").count();
    assert_eq!(read_entries, reads, "every read entry queued before the trail's read is committed with it or before");
    assert!(entries.iter().any(|e| e.action == "audit.read"));
    // And the chain over both lanes verifies when the store opens again.
    tokio::task::spawn_blocking(move || store.close()).await.unwrap();
    let (store, _) = open(dir.path());
    assert!(!store.read().unwrap().audit_before(None, 1, 10, |_| true).unwrap().0.is_empty());
}

/// Read entries that arrive while a batch of them lingers join that batch: on any machine,
/// batches nobody waits for are at least `UNWAITED_LINGER` apart, so a trickle of reads costs
/// one fsync per linger, not one per read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_entries_arriving_while_a_batch_lingers_join_it() {
    let dir = tempfile::tempdir().unwrap();
    let (store, metrics) = open(dir.path());
    let caller = clowder_schemas::audit::Caller::system();
    let before = metrics.commits.get();
    let started = std::time::Instant::now();
    let reads = 200;
    for i in 0..reads {
        store.enqueue_audit(AuditDraft::new(&caller, "patient.read").record("patient", i)).await.unwrap();
        // Paces the reads (tokio's timer makes this about a millisecond), like a trickle of
        // requests; nothing is waited for here.
        tokio::time::sleep(std::time::Duration::from_micros(100)).await;
    }
    let elapsed = started.elapsed();
    let mut set = ChangeSet::new();
    set.audit(AuditDraft::new(&caller, "audit.read"));
    store.commit_after_reads(set).await.unwrap();
    let commits = metrics.commits.get() - before;
    // One batch per linger while the reads came, one for the last of them, one for the
    // trail's read, one to spare.
    let bound = (elapsed.as_micros() / commit::UNWAITED_LINGER.as_micros()) as u64 + 3;
    assert!(commits <= bound, "{commits} commits for {reads} reads over {elapsed:?}, at most {bound}");
    let (entries, _) = store.read().unwrap().audit_before(None, reads as usize + 10, 100_000, |_| true).unwrap();
    assert_eq!(entries.iter().filter(|e| e.action == "patient.read").count(), reads as usize);
    tokio::task::spawn_blocking(move || store.close()).await.unwrap();
}

#[tokio::test]
async fn below_the_disk_reserve_writes_are_refused_before_the_transaction_and_audit_entries_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    let caller = clowder_schemas::audit::Caller::system();
    let free = disk::free_bytes(dir.path()).unwrap();
    // Far above the free space, whatever other processes do meanwhile.
    store.disk().set_reserve(free.saturating_mul(2) + (1 << 30));

    let mut write = ChangeSet::new();
    write.put(RecordTable::Users, 1, &user(1)).unwrap().event(Author::System, session_event(1));
    write.audit(AuditDraft::new(&caller, "user.create").record("user", 1));
    assert_eq!(store.commit(write).await, Err(CommitError::DiskFull));
    store.enqueue_audit(AuditDraft::new(&caller, "user.read").record("user", 1)).await.unwrap();
    let mut refusal = ChangeSet::new();
    refusal.audit(AuditDraft::new(&caller, "access.denied"));
    store.commit(refusal).await.unwrap();

    let r = store.read().unwrap();
    assert!(r.get::<clowder_schemas::users::User>(RecordTable::Users, 1).unwrap().is_none(), "nothing written");
    assert_eq!(r.events_after(0, 10).unwrap().len(), 0, "no event appended");
    let (entries, _) = r.audit_before(None, 10, 100, |_| true).unwrap();
    // The read's entry rides its own lane: its order against the refusal's is not fixed.
    let mut actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    actions.sort_unstable();
    assert_eq!(actions, ["access.denied", "user.read"], "audit entries of reads and refusals are still written");
    drop(r);

    store.disk().set_reserve(0);
    let mut write = ChangeSet::new();
    write.put(RecordTable::Users, 1, &user(1)).unwrap();
    store.commit(write).await.unwrap();
}

/// `ChangeSet::update` reads what the transaction holds, so concurrent change sets (many in
/// one batch) each add their part and none is lost, as the revenue rollup needs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_updates_of_one_row_all_count() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut set = ChangeSet::new();
            set.update(RecordTable::Users, 7, |current| {
                let mut u =
                    current.map_or_else(|| user(7), |b| codec::decode::<clowder_schemas::users::User>(b).unwrap());
                u.failed_logins += 1;
                codec::encode(&u).unwrap()
            });
            store.commit(set).await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let u = store.read().unwrap().get::<clowder_schemas::users::User>(RecordTable::Users, 7).unwrap().unwrap();
    assert_eq!(u.failed_logins, 200);
}

/// An update closure that panics refuses its own change set (nothing of it written, its
/// claim not taken) and the commit thread goes on; an update still sees the set's earlier
/// put of its key.
#[tokio::test]
async fn an_update_that_panics_refuses_only_its_own_change_set() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    let mut set = ChangeSet::new();
    set.put(RecordTable::Users, 1, &user(1)).unwrap();
    set.claim(tables::unique::USERNAME, "ann", 1, "username");
    set.update(RecordTable::Users, 2, |_| panic!("a bug in an update"));
    assert_eq!(store.commit(set).await, Err(CommitError::Refused("a change set's update panicked".into())));
    assert_eq!(name_of(&store, 1), None);
    assert_eq!(store.read().unwrap().unique_owner(tables::unique::USERNAME, "ann").unwrap(), None);

    let mut set = ChangeSet::new();
    set.put(RecordTable::Users, 3, &user(3)).unwrap();
    set.update(RecordTable::Users, 3, |current| {
        let mut u = codec::decode::<clowder_schemas::users::User>(current.unwrap()).unwrap();
        u.display_name = "Updated".into();
        codec::encode(&u).unwrap()
    });
    store.commit(set).await.unwrap();
    assert_eq!(name_of(&store, 3).as_deref(), Some("Updated"), "the commit thread still writes");
}
