//! Backups at the store's level on real redb files: what a full backup and its increments
//! restore, and every way a restore is refused.

use std::sync::Arc;

use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::events::{Author, DomainEvent};
use clowder_schemas::{SessionId, UserId};
use jiff::Timestamp;

use super::backup::{BackupError, ExportKind, Restorer};
use super::*;
use crate::clock::ManualClock;
use crate::metrics::StoreMetrics;

fn open_with(path: &Path, journal: Option<bool>) -> Arc<Store> {
    let config = StoreConfig { path: path.to_owned(), clinic_id: "test-clinic".into(), cache_bytes: 8 << 20, journal };
    let clock = Arc::new(ManualClock::new(Timestamp::from_second(1_790_000_000).unwrap()));
    Store::open(&config, clock, StoreMetrics::default()).unwrap()
}

fn user(n: u128, name: &str) -> clowder_schemas::users::User {
    clowder_schemas::users::User { username: name.into(), ..super::tests::user(n) }
}

fn started(n: u128) -> DomainEvent {
    DomainEvent::SessionStarted { user_id: UserId::from_u128(n), session_id: SessionId::from_u128(n) }
}

/// Writes user `n` with its username claim, a link, an event and an audit entry.
async fn add_user(store: &Store, n: u128) {
    let name = format!("user{n}");
    let mut set = ChangeSet::new();
    set.put(RecordTable::Users, n, &user(n, &name)).unwrap();
    set.claim(tables::unique::USERNAME, &name, n, "username");
    set.link(IndexTable::SessionsByUser, n, n + 1000);
    set.event(Author::System, started(n));
    set.audit(AuditDraft::new(&Caller::system(), "user.create").record("user", n));
    store.commit(set).await.unwrap();
}

/// The frames of a full export (everything after the header), which restored and original
/// stores must share byte for byte.
fn body(store: &Store) -> Vec<u8> {
    let mut out = Vec::new();
    store.export(&ExportKind::Full, &mut out).unwrap();
    let header_len = u32::from_be_bytes(out[8..12].try_into().unwrap()) as usize;
    out[12 + header_len..].to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_backup_and_its_increments_restore_the_store_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with(&dir.path().join("live/clowder.redb"), Some(true));
    for n in 1..=5 {
        add_user(&store, n).await;
    }
    let mut full = Vec::new();
    let full_report = store.export(&ExportKind::Full, &mut full).unwrap();
    assert_eq!(full_report.header.kind, "full");
    assert_eq!(full_report.counts["users"], 5);
    assert_eq!(full_report.header.to.events, 5);

    // Changes of every kind after the full backup: update, delete, unlink, release, new rows,
    // read-audit entries on their own lane.
    let mut set = ChangeSet::new();
    set.put(RecordTable::Users, 2, &user(2, "renamed")).unwrap();
    set.delete(RecordTable::Users, 3);
    set.unlink(IndexTable::SessionsByUser, 3, 1003);
    set.release(tables::unique::USERNAME, "user3", 3);
    set.event(Author::System, started(3));
    store.commit(set).await.unwrap();
    for i in 0..10u128 {
        store.enqueue_audit(AuditDraft::new(&Caller::system(), "patient.read").record("patient", i)).await.unwrap();
    }
    let mut first = Vec::new();
    let first_report = store.export(&ExportKind::Since(full_report.header.to.clone()), &mut first).unwrap();
    add_user(&store, 6).await;
    let mut second = Vec::new();
    let second_report = store.export(&ExportKind::Since(first_report.header.to.clone()), &mut second).unwrap();
    assert!(second.len() < full.len(), "an increment carries only what changed");

    let target = dir.path().join("restored/clowder.redb");
    let mut restorer = Restorer::create(&target).unwrap();
    let applied = restorer.apply(full.as_slice()).unwrap();
    assert_eq!(applied.sha256, full_report.sha256);
    assert_eq!(applied.counts, full_report.counts);
    assert_eq!(restorer.apply(first.as_slice()).unwrap().counts, first_report.counts);
    assert_eq!(restorer.apply(second.as_slice()).unwrap().counts, second_report.counts);
    restorer.finish().unwrap();

    let report = verify_all(&target).unwrap();
    assert_eq!(report.events, 7);
    let restored = open_with(&target, None);
    assert_eq!(body(&restored), body(&store), "the restored store holds exactly the original's rows");
    let renamed: Option<clowder_schemas::users::User> = restored.read().unwrap().get(RecordTable::Users, 2).unwrap();
    assert_eq!(renamed.map(|u| u.username).as_deref(), Some("renamed"));
    assert_eq!(restored.read().unwrap().unique_owner(tables::unique::USERNAME, "user3").unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restores_refuse_gaps_damage_and_occupied_targets() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with(&dir.path().join("live/clowder.redb"), Some(true));
    add_user(&store, 1).await;
    let mut full = Vec::new();
    let marks = store.export(&ExportKind::Full, &mut full).unwrap().header.to;
    add_user(&store, 2).await;
    let mut first = Vec::new();
    let after_first = store.export(&ExportKind::Since(marks), &mut first).unwrap().header.to;
    add_user(&store, 3).await;
    let mut second = Vec::new();
    store.export(&ExportKind::Since(after_first), &mut second).unwrap();

    let fresh = |name: &str| Restorer::create(&dir.path().join(name).join("clowder.redb")).unwrap();
    // An increment without its full backup, and one skipped in the middle.
    assert!(matches!(fresh("a").apply(first.as_slice()), Err(BackupError::Gap(_))));
    let mut r = fresh("b");
    r.apply(full.as_slice()).unwrap();
    let err = r.apply(second.as_slice()).unwrap_err();
    assert!(matches!(err, BackupError::Gap(_)), "{err}");
    assert!(err.to_string().contains("missing"), "{err}");
    // A truncated stream, and bytes that are not a backup.
    let cut = &full[..full.len() - 20];
    let err = fresh("c").apply(cut).unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");
    let err = fresh("d").apply(&b"age-encryption.org/v1 and more"[..]).unwrap_err();
    assert!(matches!(err, BackupError::Damaged(_)), "{err}");
    // A flipped byte inside a value still restores rows, but the chain check finds it; a
    // flipped frame tag is refused outright.
    let mut bad = full.clone();
    let at = bad.len() - 9 - 3;
    bad[at] ^= 0xff;
    let mut r = fresh("e");
    if r.apply(bad.as_slice()).is_ok() {
        let path = r.finish().unwrap();
        assert!(verify_all(&path).is_err(), "a damaged audit entry breaks the chain");
    }
    // The target must be empty.
    let occupied = dir.path().join("live/clowder.redb");
    assert!(matches!(Restorer::create(&occupied), Err(BackupError::NotEmpty(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn increments_need_an_unbroken_journal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clowder.redb");
    // Without a journal only full backups are possible.
    let store = open_with(&path, Some(false));
    add_user(&store, 1).await;
    let mut out = Vec::new();
    let marks = store.export(&ExportKind::Full, &mut out).unwrap().header.to;
    assert!(marks.epoch.is_empty());
    let err = store.export(&ExportKind::Since(marks), Vec::new()).unwrap_err();
    assert!(matches!(err, BackupError::NeedsFull(_)), "{err}");
    tokio::task::block_in_place(|| store.close());

    // Journal on: a new epoch; increments continue from its backups only.
    let store = open_with(&path, Some(true));
    let before = store.backup_marks().unwrap();
    assert!(!before.epoch.is_empty());
    add_user(&store, 2).await;
    let mut full = Vec::new();
    let marks = store.export(&ExportKind::Full, &mut full).unwrap().header.to;
    add_user(&store, 3).await;
    add_user(&store, 4).await;
    // Pruning up to the last backup keeps what the next increment needs.
    let now = store.backup_marks().unwrap();
    store.prune_backup_journal(marks.change).await.unwrap();
    store.export(&ExportKind::Since(marks.clone()), Vec::new()).unwrap();
    store.prune_backup_journal(now.change).await.unwrap();
    let err = store.export(&ExportKind::Since(marks.clone()), Vec::new()).unwrap_err();
    assert!(matches!(err, BackupError::NeedsFull(_)), "a pruned journal cannot answer: {err}");
    store.export(&ExportKind::Since(now.clone()), Vec::new()).unwrap();
    tokio::task::block_in_place(|| store.close());

    // Reopened by a tool (journal left as it is): the epoch and the journal survive.
    let store = open_with(&path, None);
    assert_eq!(store.backup_marks().unwrap().epoch, now.epoch);
    store.export(&ExportKind::Since(now.clone()), Vec::new()).unwrap();
    tokio::task::block_in_place(|| store.close());
    // Switched off and on again: a new epoch, so the old backups cannot be continued.
    let off = open_with(&path, Some(false));
    tokio::task::block_in_place(|| off.close());
    let store = open_with(&path, Some(true));
    let err = store.export(&ExportKind::Since(now), Vec::new()).unwrap_err();
    assert!(matches!(err, BackupError::NeedsFull(_)), "{err}");
}
