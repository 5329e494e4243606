//! Keeps the search index in step with the store: the full rebuild (at start when the index
//! is missing or of another schema version, and `clowder reindex`), the catch-up from the
//! event log after a restart, and the task that follows the event bus and commits what
//! arrives within a short window as one batch. It must not answer searches (`Search` does) or write to the store.
//!
//! How it stays exact without being the truth:
//! - every index commit records the last event sequence number it reflects (tantivy's commit
//!   payload); at start, events after it are replayed, so a crash between a store commit and
//!   the index commit loses nothing;
//! - the task subscribes to the bus before the start-up snapshot is read, and skips events at
//!   or below what the index already reflects, so there is neither gap nor double work;
//! - an event only names a record that changed (`client:<id>`, `patient:<id>`); the document
//!   is rebuilt from the record as it is now in a store snapshot, so applying an event twice,
//!   or late, gives the same index. A client's change also rewrites their patients, whose
//!   documents carry the owner's name.

use std::collections::{BTreeSet, HashMap};
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clowder_index::{SearchIndex, needs_rebuild};
use clowder_schemas::clients::Client;
use clowder_schemas::patients::Patient;
use clowder_schemas::{ClientId, PatientId};
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};

use crate::error::Error;
use crate::store::commit::Published;
use crate::store::{IndexTable, Reader, RecordTable, Store};

/// Most events folded into one index commit: a burst commits as soon as this many wait, so
/// each commit stays short.
const MAX_BATCH: usize = 512;

/// How long the indexer gathers events after the first one before applying and committing
/// them. A tantivy commit (a new segment, its files and fsyncs, a merge now and then, the
/// reader's reload) costs far more than the documents it carries, and a clinic's writes come
/// one at a time: committing each alone made a single POST cost about 2 ms of CPU more.
/// Gathering for this long keeps "searchable within 1 s of the 2xx" with room to spare.
pub(crate) const COMMIT_WINDOW: Duration = Duration::from_millis(200);

/// Events read from the log per page when catching up.
const REPLAY_PAGE: usize = 2_000;

/// Most events the index's last commit may lag behind what the indexer has seen when none
/// of them changed a search document. Most of a clinic's events (visits, notes, vaccinations,
/// jobs, invoices) change no client or cat, and without a commit the index's recorded
/// sequence number stood still, so every restart replayed them all from the log: after the
/// demo's seeding 46,000 events, 2 s of start-up and the page cache filled with the log's
/// pages (21 MiB more resident, idle; docs/performance.md, "Memory: where it goes"). A commit
/// with no documents writes only tantivy's meta file: one per page of replay is nothing.
const MAX_UNCOMMITTED_EVENTS: u64 = REPLAY_PAGE as u64;

/// A record whose document must be rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Touched {
    Client(ClientId),
    Patient(PatientId),
}

impl Touched {
    /// The record an event is about, if search indexes that kind.
    fn from_subject(subject: &str) -> Option<Self> {
        let (kind, id) = subject.split_once(':')?;
        match kind {
            "client" => id.parse().ok().map(Touched::Client),
            "patient" => id.parse().ok().map(Touched::Patient),
            _ => None,
        }
    }
}

/// What a rebuild did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RebuildReport {
    pub clients: u64,
    pub patients: u64,
    /// The event sequence number the rebuilt index reflects.
    pub through_seq: u64,
    pub elapsed: std::time::Duration,
}

/// Replaces whatever index is in `dir` by one built from a snapshot of the store.
/// `progress(done, total)` is called every few thousand records and at the end.
pub fn rebuild(
    store: &Store,
    dir: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(SearchIndex, RebuildReport), Error> {
    let started = Instant::now();
    let mut index = SearchIndex::recreate(dir)?;
    let snapshot = store.read()?;
    let through_seq = snapshot.last_event_seq()?;
    let (clients, patients) = (snapshot.count(RecordTable::Clients)?, snapshot.count(RecordTable::Patients)?);
    let total = clients + patients;
    let mut done = 0u64;
    let mut failure = None;
    // Counts one record written, reporting progress now and then; stops the scan on an error.
    let mut step = |written: Result<(), clowder_index::IndexError>| match written {
        _ if failure.is_some() => ControlFlow::Break(()),
        Ok(()) => {
            done += 1;
            if done.is_multiple_of(5_000) {
                progress(done, total);
            }
            ControlFlow::Continue(())
        }
        Err(e) => {
            failure = Some(e);
            ControlFlow::Break(())
        }
    };
    // Owners' names, for the patients' documents: far cheaper than a look-up per patient.
    let mut owners: HashMap<u128, String> = HashMap::with_capacity(clients as usize);
    snapshot.scan::<Client>(RecordTable::Clients, None, |c| {
        owners.insert(c.id.as_u128(), c.display_name());
        step(index.upsert_client(&c))
    })?;
    snapshot.scan::<Patient>(RecordTable::Patients, None, |p| {
        let owner = owners.get(&p.client_id.as_u128()).map_or("", String::as_str);
        step(index.upsert_patient(&p, owner))
    })?;
    if let Some(e) = failure {
        return Err(e.into());
    }
    index.finish_rebuild_through(through_seq)?;
    progress(done, total);
    Ok((index, RebuildReport { clients, patients, through_seq, elapsed: started.elapsed() }))
}

/// Opens the index in `dir` for the running server: rebuilt when missing, outdated or
/// unreadable, otherwise brought up to date by replaying the events it has not seen.
/// Returns the index and the sequence number it reflects.
pub(crate) fn open(store: &Store, dir: &Path) -> Result<(SearchIndex, u64), Error> {
    if needs_rebuild(dir) {
        return rebuilt(store, dir, "missing or of another schema version");
    }
    let mut index = match SearchIndex::open_or_create(dir) {
        Ok(index) => index,
        // Another writer holds it: a second server on the same data directory. Rebuilding
        // would not help, so say so.
        Err(e @ clowder_index::IndexError::Locked { .. }) => return Err(e.into()),
        Err(e) => {
            tracing::warn!(error = %e, "the search index cannot be opened; rebuilding it from the store");
            return rebuilt(store, dir, "unreadable");
        }
    };
    let Some(seq) = index.committed_seq()? else {
        return rebuilt(store, dir, "without a record of the events it reflects");
    };
    let last = store.read()?.last_event_seq()?;
    if seq > last {
        // An index ahead of its store: the store was restored from an older backup.
        return rebuilt(store, dir, "ahead of the store (restored from a backup?)");
    }
    let seq = catch_up(&mut index, store, seq)?;
    Ok((index, seq))
}

fn rebuilt(store: &Store, dir: &Path, why: &str) -> Result<(SearchIndex, u64), Error> {
    tracing::info!(reason = why, "rebuilding the search index from the store");
    let (index, report) = rebuild(store, dir, &mut |_, _| {})?;
    tracing::info!(
        clients = report.clients,
        patients = report.patients,
        ms = report.elapsed.as_millis() as u64,
        "search index rebuilt"
    );
    Ok((index, report.through_seq))
}

/// Applies every event after `seq` in the log; returns the sequence number now reflected.
fn catch_up(index: &mut SearchIndex, store: &Store, mut seq: u64) -> Result<u64, Error> {
    loop {
        let snapshot = store.read()?;
        let events = snapshot.events_after(seq, REPLAY_PAGE)?;
        let Some(last) = events.last().map(|e| e.seq) else { return Ok(seq) };
        let touched: BTreeSet<Touched> = events.iter().filter_map(|e| Touched::from_subject(&e.subject)).collect();
        apply(index, &snapshot, &touched)?;
        // Every page, searchable or not, so the next start does not replay it again.
        index.commit_through(last)?;
        seq = last;
    }
}

/// Rewrites the documents of the touched records from `snapshot`.
fn apply(index: &mut SearchIndex, snapshot: &Reader, touched: &BTreeSet<Touched>) -> Result<(), Error> {
    let owner_name = |id: ClientId| -> Result<String, Error> {
        Ok(snapshot.get::<Client>(RecordTable::Clients, id.as_u128())?.map(|c| c.display_name()).unwrap_or_default())
    };
    for &t in touched {
        match t {
            Touched::Client(id) => {
                let Some(client) = snapshot.get::<Client>(RecordTable::Clients, id.as_u128())? else {
                    index.delete(id);
                    continue;
                };
                index.upsert_client(&client)?;
                // Their cats' documents carry the owner's name.
                let name = client.display_name();
                for key in snapshot.children(IndexTable::PatientsByClient, id.as_u128(), None)? {
                    if let Some(p) = snapshot.get::<Patient>(RecordTable::Patients, key)? {
                        index.upsert_patient(&p, &name)?;
                    }
                }
            }
            Touched::Patient(id) => match snapshot.get::<Patient>(RecordTable::Patients, id.as_u128())? {
                Some(p) => index.upsert_patient(&p, &owner_name(p.client_id)?)?,
                None => index.delete(id),
            },
        }
    }
    Ok(())
}

/// What the follow task works on and reports to.
pub(crate) struct Following {
    /// The writer side; `None` once `Search::stop` closed it.
    pub index: Arc<Mutex<Option<SearchIndex>>>,
    pub store: Arc<Store>,
    /// The last event sequence number whose changes are searchable.
    pub indexed: Arc<AtomicU64>,
    /// Index commits made.
    pub commits: Arc<AtomicU64>,
    /// The event sequence number the index's last commit records (what a restart replays after).
    pub committed: Arc<AtomicU64>,
}

/// Whether a batch must be committed: it changed documents, events went by unseen, or the
/// index's last commit lags too far behind what has been seen (see `MAX_UNCOMMITTED_EVENTS`).
fn must_commit(touched: bool, lagged: bool, through: u64, committed: u64) -> bool {
    touched || lagged || through.saturating_sub(committed) >= MAX_UNCOMMITTED_EVENTS
}

/// Follows the bus until it closes, committing a batch of changes at a time.
pub(crate) async fn follow(mut events: broadcast::Receiver<Arc<Published>>, following: Following) {
    let Following { index, store, indexed, commits, committed } = following;
    // Set when a batch failed: the next one re-reads the log from what the index reflects.
    let mut behind = false;
    loop {
        let mut lagged = std::mem::take(&mut behind);
        let mut batch = Vec::new();
        if !lagged {
            match events.recv().await {
                Ok(e) => batch.push(e),
                Err(RecvError::Lagged(_)) => lagged = true,
                Err(RecvError::Closed) => return,
            }
        }
        // Gather what arrives within the window (or until the batch is full), so a run of
        // single writes shares one commit.
        let deadline = tokio::time::Instant::now() + COMMIT_WINDOW;
        while batch.len() < MAX_BATCH {
            match events.try_recv() {
                Ok(e) => batch.push(e),
                Err(TryRecvError::Lagged(_)) => lagged = true,
                Err(TryRecvError::Closed) => break,
                Err(TryRecvError::Empty) => match tokio::time::timeout_at(deadline, events.recv()).await {
                    Ok(Ok(e)) => batch.push(e),
                    Ok(Err(RecvError::Lagged(_))) => lagged = true,
                    Ok(Err(RecvError::Closed)) | Err(_) => break,
                },
            }
        }
        let from = indexed.load(Ordering::Acquire);
        let touched: BTreeSet<Touched> = batch
            .iter()
            .filter(|p| p.event.seq > from)
            .filter_map(|p| Touched::from_subject(&p.event.subject))
            .collect();
        let through = batch.iter().map(|p| p.event.seq).max().unwrap_or(from).max(from);
        if !must_commit(!touched.is_empty(), lagged, through, committed.load(Ordering::Acquire)) {
            // Nothing searchable changed: remember how far we are without a commit.
            indexed.store(through, Ordering::Release);
            continue;
        }
        let (index, store, commits) = (index.clone(), store.clone(), commits.clone());
        let done = tokio::task::spawn_blocking(move || -> Result<u64, Error> {
            let mut guard = index.lock().map_err(|_| Error::Internal("the search index lock is poisoned".into()))?;
            // Closed by `Search::stop`: the server is shutting down.
            let Some(index) = guard.as_mut() else { return Ok(from) };
            if lagged {
                // Some events went by unseen (or a batch failed): take them from the log.
                tracing::warn!("the search indexer is catching up from the event log");
                return catch_up(index, &store, from);
            }
            let snapshot = store.read()?;
            apply(index, &snapshot, &touched)?;
            index.commit_through(through)?;
            commits.fetch_add(1, Ordering::Relaxed);
            Ok(through)
        })
        .await;
        match done {
            Ok(Ok(seq)) => {
                committed.fetch_max(seq, Ordering::AcqRel);
                indexed.fetch_max(seq, Ordering::AcqRel)
            }
            Ok(Err(e)) => {
                // The index is derived: the next batch replays these events from the log.
                tracing::error!(error = %e, "the search indexer could not apply a batch");
                behind = true;
                continue;
            }
            Err(e) => {
                tracing::error!(error = %e, "the search indexer's batch panicked");
                behind = true;
                continue;
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_client_and_patient_events_touch_documents() {
        let c = ClientId::from_u128(7);
        let p = PatientId::from_u128(9);
        assert_eq!(Touched::from_subject(&format!("client:{c}")), Some(Touched::Client(c)));
        assert_eq!(Touched::from_subject(&format!("patient:{p}")), Some(Touched::Patient(p)));
        assert_eq!(Touched::from_subject(&format!("appointment:{p}")), None);
        assert_eq!(Touched::from_subject("client:not-an-id"), None);
        assert_eq!(Touched::from_subject("client"), None);
    }

    #[test]
    fn a_run_of_unsearchable_events_is_committed_once_it_is_a_page_long() {
        let limit = MAX_UNCOMMITTED_EVENTS;
        assert!(!must_commit(false, false, 100 + limit - 1, 100), "under the limit: no commit");
        assert!(must_commit(false, false, 100 + limit, 100), "at the limit: committed");
        assert!(must_commit(true, false, 101, 100), "a document changed");
        assert!(must_commit(false, true, 100, 100), "events went by unseen");
    }
}
