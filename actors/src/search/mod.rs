//! Search across the clinic's records: the `Search` service answers queries from the tantivy
//! index (`clowder-index`), which the indexer task keeps in step with the store, and keeps
//! each staff user's recent searches and recently opened records in the store.
//!
//! It must not decide who may see what: callers pass a [`Visibility`] built from the user's
//! permissions, and the index filters by it (kinds, and the creator for `own` scopes), so a
//! hit the caller may not see never leaves the index.
//!
//! Decisions:
//! - Searches run on the calling task, not the blocking pool: a query takes well under a
//!   millisecond, less than a hand-off between threads would add.
//! - A search's audit entry is queued like every read's (durable with the next group commit,
//!   not waited for).
//! - History and recent views are cached per user in memory and written behind: a change
//!   marks the user's record dirty, and one write per `WRITE_BEHIND` (250 ms) stores every
//!   dirty record as it is then. Opening a cat is a read; it must not cost a store write
//!   each time (measured: the write per read was a third of an audited read's CPU). A crash
//!   loses at most the last 250 ms of "recently viewed" and "recent searches", never an
//!   audit entry. Reads of the lists answer from the cache, so they are never stale. The
//!   cache holds one small record per staff user who searched or opened a record.
//!
//! Domain dependencies: none.

mod indexer;
#[cfg(test)]
mod tests;

pub use indexer::{RebuildReport, rebuild};

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use clowder_index::{Filter, Hit, KindFilter, RecordId, SearchIndex, SearchReader};
use clowder_schemas::UserId;
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::clients::Client;
use clowder_schemas::patients::Patient;
use clowder_schemas::search::{
    OwnerRef, RecentItem, RecentViews, SearchFragment, SearchHighlight, SearchHistory, SearchHistoryEntry, SearchHit,
    SearchKind, SearchRequest, SearchStatus, Visibility, patient_label,
};
use tokio::task::JoinHandle;

use crate::ctx::Ctx;
use crate::error::Result;
use crate::store::{ChangeSet, RecordTable};

/// The index directory inside a data directory.
pub fn index_dir(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("index")
}

/// The search service. Cheap to clone.
#[derive(Clone)]
pub struct Search {
    ctx: Arc<Ctx>,
    reader: SearchReader,
    /// The last event sequence number whose changes are searchable.
    indexed: Arc<AtomicU64>,
    /// Index commits made by the indexer task since start.
    commits: Arc<AtomicU64>,
    /// The event sequence number the index's last commit records.
    committed: Arc<AtomicU64>,
    task: Arc<Mutex<Option<JoinHandle<()>>>>,
    /// The writer side, shared with the indexer task; `None` once stopped.
    index: Arc<Mutex<Option<SearchIndex>>>,
    history: Arc<PerUser<SearchHistory>>,
    recent: Arc<PerUser<RecentViews>>,
}

/// How long a changed history or recent-views record waits before it is written, so that a
/// user opening records quickly costs one write per period, not one per read.
const WRITE_BEHIND: std::time::Duration = std::time::Duration::from_millis(250);

/// One small record per staff user (their history, their recently viewed list), cached in
/// memory and written behind (see the module doc). The write takes the cache lock, so it
/// stores each record as it is at that moment and cannot overtake a later `replace`.
struct PerUser<R> {
    table: RecordTable,
    cache: tokio::sync::Mutex<HashMap<UserId, R>>,
    /// Users whose record changed since it was last written, and whether a write is due.
    dirty: Mutex<(HashSet<UserId>, bool)>,
}

impl<R: clowder_schemas::records::Record + Default + Clone> PerUser<R> {
    fn new(table: RecordTable) -> Arc<Self> {
        Arc::new(PerUser { table, cache: Default::default(), dirty: Default::default() })
    }

    fn load(&self, ctx: &Ctx, user: UserId) -> Result<R> {
        Ok(ctx.store.read()?.get::<R>(self.table, user.as_u128())?.unwrap_or_default())
    }

    /// The user's record as it is now.
    async fn get(&self, ctx: &Ctx, user: UserId) -> Result<R> {
        match self.cache.lock().await.get(&user) {
            Some(r) => Ok(r.clone()),
            None => self.load(ctx, user),
        }
    }

    /// Changes the user's record with `change`; it is written behind, within `WRITE_BEHIND`.
    async fn update(self: &Arc<Self>, ctx: &Arc<Ctx>, user: UserId, change: impl FnOnce(&mut R)) -> Result<()> {
        {
            let mut cache = self.cache.lock().await;
            let record = match cache.get_mut(&user) {
                Some(r) => r,
                None => {
                    let stored = self.load(ctx, user)?;
                    cache.entry(user).or_insert(stored)
                }
            };
            change(record);
        }
        let due = {
            let mut dirty = self.dirty.lock().unwrap_or_else(|p| p.into_inner());
            dirty.0.insert(user);
            !std::mem::replace(&mut dirty.1, true)
        };
        if due {
            let (this, ctx) = (self.clone(), ctx.clone());
            ctx.tasks.clone().spawn(async move {
                tokio::time::sleep(WRITE_BEHIND).await;
                if let Err(e) = this.write_dirty(&ctx).await {
                    tracing::warn!(error = %e, "could not store recent searches or views (kept in memory)");
                }
            });
        }
        Ok(())
    }

    /// Writes every dirty record as it is now (one change set, not waited for).
    async fn write_dirty(&self, ctx: &Ctx) -> Result<()> {
        let users: Vec<UserId> = {
            let mut dirty = self.dirty.lock().unwrap_or_else(|p| p.into_inner());
            dirty.1 = false;
            dirty.0.drain().collect()
        };
        let cache = self.cache.lock().await;
        let mut set = ChangeSet::new();
        for user in users {
            if let Some(record) = cache.get(&user) {
                set.put(self.table, user.as_u128(), record)?;
            }
        }
        if !set.is_empty() {
            ctx.store.enqueue(set).await?;
        }
        Ok(())
    }

    /// Replaces the user's record durably (waits for the commit of `set` with it).
    async fn replace(&self, ctx: &Ctx, user: UserId, mut set: ChangeSet, record: R) -> Result<()> {
        let mut cache = self.cache.lock().await;
        set.put(self.table, user.as_u128(), &record)?;
        ctx.store.commit(set).await?;
        cache.insert(user, record);
        Ok(())
    }
}

impl Search {
    /// Opens (rebuilding or catching up as needed) the index in `<data dir>/index` and starts
    /// the indexer. Must run inside a tokio runtime.
    pub(crate) fn start(ctx: Arc<Ctx>) -> Result<Search> {
        // Subscribe before reading the store, so no event falls between the two.
        let events = ctx.store.subscribe();
        let (index, seq) = indexer::open(&ctx.store, &index_dir(&ctx.config.data_dir))?;
        let reader = index.reader();
        let indexed = Arc::new(AtomicU64::new(seq));
        let commits = Arc::new(AtomicU64::new(0));
        // `open` commits what it replayed, so the index records `seq`.
        let committed = Arc::new(AtomicU64::new(seq));
        let index = Arc::new(Mutex::new(Some(index)));
        let following = indexer::Following {
            index: index.clone(),
            store: ctx.store.clone(),
            indexed: indexed.clone(),
            commits: commits.clone(),
            committed: committed.clone(),
        };
        let task = tokio::spawn(indexer::follow(events, following));
        Ok(Search {
            ctx,
            reader,
            indexed,
            commits,
            committed,
            task: Arc::new(Mutex::new(Some(task))),
            index,
            history: PerUser::new(RecordTable::SearchHistory),
            recent: PerUser::new(RecordTable::RecentViews),
        })
    }

    /// The last event sequence number whose changes are searchable.
    pub fn indexed_seq(&self) -> u64 {
        self.indexed.load(Ordering::Acquire)
    }

    /// Index commits the indexer made since start: each costs far more than the documents
    /// it carries, so changes arriving together share one (see `indexer::COMMIT_WINDOW`).
    pub fn index_commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// True while the indexer follows the event log (false once stopped or if it died).
    pub fn is_running(&self) -> bool {
        self.task.lock().map(|t| t.as_ref().is_some_and(|t| !t.is_finished())).unwrap_or(false)
    }

    /// Documents in the index.
    pub fn documents(&self) -> u64 {
        self.reader.num_docs()
    }

    /// Finds records for `request` among those `visibility` allows, best first. The search is
    /// audited (query and hit ids) and remembered in the caller's history; blank queries are
    /// neither.
    pub async fn search(
        &self,
        request: &SearchRequest,
        visibility: &Visibility,
        caller: &Caller,
    ) -> Result<Vec<SearchHit>> {
        let filter = filter(request, visibility);
        if request.q.trim().is_empty() || filter.kinds.is_empty() {
            return Ok(Vec::new());
        }
        let hits: Vec<SearchHit> =
            self.reader.search_with(&request.q, &filter, request.limit)?.into_iter().map(view).collect();
        let ids: Vec<String> = hits.iter().map(|h| format!("{}:{}", h.kind.as_str(), h.id)).collect();
        let draft =
            AuditDraft::new(caller, "search.run").detail(serde_json::json!({ "query": request.q, "hits": ids }));
        crate::audit::record_read(&self.ctx, draft).await?;
        let kind = match request.kinds.as_slice() {
            [one] => Some(*one),
            _ => None,
        };
        let now = self.ctx.clock.now();
        if let Some(user) = caller.user_id() {
            self.history.update(&self.ctx, user, |h| h.remember(&request.q, kind, now)).await?;
        }
        Ok(hits)
    }

    /// The user's recent searches, newest first.
    pub async fn history(&self, user: UserId) -> Result<Vec<SearchHistoryEntry>> {
        Ok(self.history.get(&self.ctx, user).await?.items)
    }

    /// Forgets the caller's recent searches (durably, before answering).
    pub async fn clear_history(&self, caller: &Caller) -> Result<()> {
        let Some(user) = caller.user_id() else { return Ok(()) };
        let mut set = ChangeSet::new();
        set.audit(AuditDraft::new(caller, "search.history_clear"));
        self.history.replace(&self.ctx, user, set, SearchHistory::default()).await
    }

    /// Notes that the caller opened a client or patient, for their recently viewed list.
    pub async fn viewed(&self, caller: &Caller, kind: SearchKind, id: ulid::Ulid) -> Result<()> {
        let Some(user) = caller.user_id() else { return Ok(()) };
        let now = self.ctx.clock.now();
        self.recent.update(&self.ctx, user, |r| r.viewed(kind, id, now)).await
    }

    /// The records the caller opened last, newest first, as they are now; records the caller
    /// may no longer see are left out. The list is audited like any other.
    pub async fn recent(&self, visibility: &Visibility, caller: &Caller) -> Result<Vec<RecentItem>> {
        let Some(user) = caller.user_id() else { return Ok(Vec::new()) };
        let views = self.recent.get(&self.ctx, user).await?;
        let snapshot = self.ctx.store.read()?;
        let mut items = Vec::with_capacity(views.items.len());
        for v in &views.items {
            let Some(&(_, own)) = visibility.kinds.iter().find(|(k, _)| *k == v.kind) else { continue };
            let visible = |created_by: Option<UserId>| own.is_none() || created_by == own;
            let item = match v.kind {
                SearchKind::Client => {
                    let Some(c) = snapshot.get::<Client>(RecordTable::Clients, v.id.0)? else { continue };
                    if !visible(c.created_by) {
                        continue;
                    }
                    RecentItem {
                        kind: v.kind,
                        id: v.id,
                        label: c.display_name(),
                        status: SearchStatus::of_client(&c),
                        owner: None,
                        viewed_at: v.viewed_at,
                    }
                }
                SearchKind::Patient => {
                    let Some(p) = snapshot.get::<Patient>(RecordTable::Patients, v.id.0)? else { continue };
                    if !visible(p.created_by) {
                        continue;
                    }
                    let owner = snapshot
                        .get::<Client>(RecordTable::Clients, p.client_id.as_u128())?
                        .map(|c| OwnerRef { id: c.id, label: c.display_name() });
                    let label = patient_label(&p.name, owner.as_ref().map_or("", |o| o.label.as_str()));
                    let status = SearchStatus::of_patient(&p);
                    RecentItem { kind: v.kind, id: v.id, label, status, owner, viewed_at: v.viewed_at }
                }
            };
            items.push(item);
        }
        let ids: Vec<String> = items.iter().map(|i| format!("{}:{}", i.kind.as_str(), i.id)).collect();
        crate::audit::record_read(
            &self.ctx,
            AuditDraft::new(caller, "search.recent").detail(serde_json::json!({ "records": ids })),
        )
        .await?;
        Ok(items)
    }

    /// Stops the indexer and closes the index (releasing its writer lock). The index records
    /// how far it has seen, so the next start replays only what came after; a batch not yet
    /// committed is replayed from the log.
    pub(crate) async fn stop(&self) {
        if let Some(task) = self.task.lock().ok().and_then(|mut t| t.take()) {
            task.abort();
            let _ = task.await;
        }
        let index = self.index.clone();
        let (seen, committed) = (self.indexed_seq(), self.committed.load(Ordering::Acquire));
        // Waits for a batch still being applied (it holds the lock), then closes.
        let closed = tokio::task::spawn_blocking(move || {
            let mut index = index.lock().ok().and_then(|mut i| i.take())?;
            // Events since the last commit changed no document (those that did are committed
            // before `indexed` moves past them): record them, or the next start replays them.
            if seen > committed
                && let Err(e) = index.commit_through(seen)
            {
                tracing::warn!(error = %e, "the search index could not record how far it has seen");
            }
            Some(index.close())
        })
        .await;
        if let Ok(Some(Err(e))) = closed {
            tracing::warn!(error = %e, "the search index did not close cleanly; it is rebuilt or caught up at the next start");
        }
    }
}

/// The index filter for a request: the kinds asked for (all when none) that the caller may
/// see, and the statuses asked for.
fn filter(request: &SearchRequest, visibility: &Visibility) -> Filter {
    let kinds = visibility
        .kinds
        .iter()
        .filter(|(kind, _)| request.kinds.is_empty() || request.kinds.contains(kind))
        .map(|&(kind, created_by)| KindFilter { kind, created_by })
        .collect();
    Filter { kinds, statuses: request.statuses.clone() }
}

fn view(hit: Hit) -> SearchHit {
    let id = match hit.id {
        RecordId::Client(id) => id.ulid(),
        RecordId::Patient(id) => id.ulid(),
    };
    SearchHit {
        kind: hit.kind,
        id,
        label: hit.label,
        status: hit.status,
        owner: hit.owner.map(|(id, label)| OwnerRef { id, label }),
        highlights: hit
            .highlights
            .into_iter()
            .map(|h| SearchHighlight {
                field: h.field.to_owned(),
                fragments: h
                    .fragments
                    .into_iter()
                    .map(|f| SearchFragment { text: f.text, matched: f.matched })
                    .collect(),
            })
            .collect(),
    }
}
