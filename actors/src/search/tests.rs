//! The search service in process, on a system in a temporary directory: how the indexer
//! batches its commits.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clowder_schemas::audit::Caller;
use clowder_schemas::clients::CreateClient;
use jiff::Timestamp;

use crate::clock::ManualClock;
use crate::ctx::SystemConfig;

fn client(n: usize) -> clowder_schemas::clients::ClientDraft {
    let body: CreateClient = serde_json::from_value(serde_json::json!({
        "first_name": "Ada", "last_name": format!("Batchley{n}"), "phone": format!("50355501{n:02}")
    }))
    .unwrap();
    body.validate("1").unwrap()
}

#[tokio::test]
async fn single_writes_in_a_row_share_index_commits_and_are_searchable_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(Timestamp::from_second(1_800_000_000).unwrap()));
    let system = crate::System::start(SystemConfig::new(dir.path()), clock).unwrap();
    let before = system.search.index_commits();
    let writes = 3;
    for n in 0..writes {
        // One at a time, each waited for and a little apart, as a front desk writes: without
        // the commit window the first is committed alone as soon as it arrives.
        system.clients.create(client(n), &Caller::system()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let written = Instant::now();
    let last = system.ctx.store.last_seq();
    while system.search.indexed_seq() < last {
        assert!(written.elapsed() < Duration::from_secs(5), "the index did not catch up");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The promise is 1 s; the window is a fifth of it (a loaded test machine gets slack).
    assert!(written.elapsed() < Duration::from_secs(2), "searchable {:?} after the last write", written.elapsed());
    let commits = system.search.index_commits() - before;
    assert_eq!(commits, 1, "{writes} single writes made {commits} index commits");
    assert_eq!(system.search.documents(), writes as u64);
    system.shutdown().await;
}

#[tokio::test]
async fn a_stop_records_the_events_seen_so_a_restart_replays_none_of_them() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(Timestamp::from_second(1_800_000_000).unwrap()));
    let system = crate::System::start(SystemConfig::new(dir.path()), clock).unwrap();
    system.clients.create(client(1), &Caller::system()).await.unwrap();
    let searchable = system.ctx.store.last_seq();
    // An event that changes no search document (the first location) after it.
    system.scheduling.setup.ensure_location().await.unwrap();
    let last = system.ctx.store.last_seq();
    assert!(last > searchable, "the location's event follows the client's");
    let started = Instant::now();
    while system.search.indexed_seq() < last {
        assert!(started.elapsed() < Duration::from_secs(5), "the indexer did not see every event");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    system.shutdown().await;
    let index = clowder_index::SearchIndex::open_or_create(crate::search::index_dir(dir.path())).unwrap();
    assert_eq!(index.committed_seq().unwrap(), Some(last), "the index records the last event it saw");
}
