//! The store: one redb file in the data directory, its tables, the record codec, the event
//! log and the group-commit task.
//!
//! Writers never open write transactions themselves: they send a [`ChangeSet`] to
//! [`Store::commit`] and get an answer only once it is durable. Readers take an MVCC
//! snapshot with [`Store::read`], which never blocks the writer or any actor.
//!
//! Start-up opens the file (redb repairs it after a crash), creates missing tables, checks
//! the layout version, and verifies the hash chain of the newest events.

pub mod backup;
pub mod codec;
pub mod commit;
pub mod disk;
pub mod tables;

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use base64::Engine;
use clowder_schemas::audit::{AuditDraft, AuditEntry};
use clowder_schemas::events::{Event, GENESIS_HASH};
use clowder_schemas::idempotency::IdempotencyRecord;
use clowder_schemas::records::Record;
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata};
use tokio::sync::{broadcast, mpsc, oneshot};

pub use codec::CodecError;
pub use commit::{ChangeSet, CommitError, CommitReceipt, CommitStats, Published, Series};
pub use tables::{IndexTable, RecordTable};

use crate::clock::Clock;
use crate::metrics::StoreMetrics;
use commit::{Committer, Head, Job, QueuedAudit};
use tables::{AUDIT, EVENTS, FORMAT_VERSION, IDEMPOTENCY, META, SERIES, UNIQUE};

/// How many of the newest events start-up re-hashes (the full check is `audit verify`).
const VERIFY_TAIL: u64 = 1000;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("another Clowder process is using {0}; stop it first")]
    InUse(PathBuf),
    #[error(
        "the store file {path} was written by an unsupported layout ({found}); this build reads layout {FORMAT_VERSION}"
    )]
    Layout { path: PathBuf, found: String },
    #[error("the {log} is broken at sequence {seq}: {why}. The store may have been altered outside Clowder")]
    BrokenChain { log: &'static str, seq: u64, why: String },
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error("store I/O: {0}")]
    Redb(#[from] redb::Error),
    #[error("could not prepare the data directory {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the commit task is not running")]
    Closed,
    /// Records read at start could not be put together (e.g. an unknown time zone).
    #[error("loading the store: {0}")]
    Load(String),
}

macro_rules! redb_errors {
    ($($t:ty),*) => { $( impl From<$t> for StoreError { fn from(e: $t) -> Self { StoreError::Redb(e.into()) } } )* };
}
redb_errors!(redb::TransactionError, redb::TableError, redb::StorageError, redb::CommitError);

/// Where and how to open the store.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub path: PathBuf,
    /// Used when the store is created; an existing store keeps its own.
    pub clinic_id: String,
    /// redb page cache, bytes.
    pub cache_bytes: usize,
    /// The change journal incremental backups are made from (`backup` module): `Some(true)`
    /// keeps it (a backup destination is configured), `Some(false)` drops it at open, `None`
    /// leaves it as it is (tools that open a stopped store, e.g. `clowder reindex`).
    pub journal: Option<bool>,
}

/// Facts about the open store.
#[derive(Debug, Clone)]
pub struct StoreInfo {
    pub path: PathBuf,
    pub clinic_id: String,
    /// True when redb had to repair the file at open (the last run did not shut down cleanly).
    pub recovered: bool,
    /// True when the file was created by this open.
    pub created: bool,
    pub open_took: std::time::Duration,
}

/// The open store. Shared by every actor as `Arc<Store>`.
pub struct Store {
    /// `None` once closed: `close` takes the database out and closes it, so the file and its
    /// lock are released when `close` returns, whoever still holds an `Arc<Store>`.
    db: RwLock<Option<Arc<Database>>>,
    jobs: mpsc::Sender<Job>,
    /// The read-audit lane of the commit thread.
    audits: mpsc::Sender<QueuedAudit>,
    /// Read-audit entries handed to the lane so far (see `commit_after_reads`).
    audits_queued: AtomicU64,
    committer: Mutex<Option<std::thread::JoinHandle<()>>>,
    last_seq: Arc<AtomicU64>,
    /// Per record table, how many write transactions have changed it (see `generation`).
    generations: Arc<commit::Generations>,
    bus: broadcast::Sender<Arc<Published>>,
    info: StoreInfo,
    stats: Arc<CommitStats>,
    closed: AtomicBool,
    /// The data directory's free space and reserve (`disk` module).
    disk: Arc<disk::DiskGuard>,
    /// The key that signs links sent to clients (`comms::links`).
    link_key: [u8; 32],
    /// When this store was first opened (`meta.created_at`): the clinic's setup day.
    created_at: jiff::Timestamp,
}

impl Store {
    /// Opens (creating if needed), checks and recovers the store, and starts the commit task.
    pub fn open(config: &StoreConfig, clock: Arc<dyn Clock>, metrics: StoreMetrics) -> Result<Arc<Store>, StoreError> {
        let started = Instant::now();
        if let Some(dir) = config.path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io { path: dir.to_owned(), source })?;
        }
        let created = !config.path.exists();
        let recovered = Arc::new(AtomicBool::new(false));
        let flag = recovered.clone();
        let mut builder = Database::builder();
        builder.set_cache_size(config.cache_bytes).set_repair_callback(move |_| flag.store(true, Ordering::Relaxed));
        let db = builder.create(&config.path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => StoreError::InUse(config.path.clone()),
            other => StoreError::Redb(other.into()),
        })?;
        let (clinic_id, link_key, created_at) = init_layout(&db, &config.path, &config.clinic_id, clock.now())?;
        let journal = init_journal(&db, config.journal, clock.now())?;
        let (head, audit_head) = {
            let txn = db.begin_read()?;
            (
                verify_chain::<Event>(&txn, EVENTS, Some(VERIFY_TAIL))?,
                verify_chain::<AuditEntry>(&txn, AUDIT, Some(VERIFY_TAIL))?,
            )
        };
        let recovered = recovered.load(Ordering::Relaxed);
        if recovered {
            tracing::warn!(path = %config.path.display(), "the store was not closed cleanly; redb repaired it");
        }

        let db = Arc::new(db);
        let (jobs, rx) = mpsc::channel(4 * commit::MAX_BATCH);
        // Bounded: when the commit thread cannot keep up with reads, readers wait for room
        // (backpressure) instead of the queue growing.
        let (audits, audit_rx) = mpsc::channel(8 * commit::AUDITS_PER_BATCH);
        let (bus, _) = broadcast::channel(4096);
        let last_seq = Arc::new(AtomicU64::new(head.seq));
        let generations = Arc::new(commit::Generations::default());
        let stats = Arc::new(CommitStats::default());
        let dir = config.path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let disk = Arc::new(disk::DiskGuard::new(dir));
        let committer = Committer {
            db: db.clone(),
            rx,
            audit_rx,
            audits_taken: 0,
            head,
            audit_head,
            last_seq: last_seq.clone(),
            generations: generations.clone(),
            bus: bus.clone(),
            clock,
            clinic_id: clinic_id.clone(),
            metrics,
            stats: stats.clone(),
            scratch: Vec::with_capacity(1024),
            journal,
            disk: disk.clone(),
        };
        let handle = std::thread::Builder::new()
            .name("clowder-commit".into())
            .spawn(move || committer.run())
            .map_err(|source| StoreError::Io { path: config.path.clone(), source })?;
        Ok(Arc::new(Store {
            db: RwLock::new(Some(db)),
            jobs,
            audits,
            audits_queued: AtomicU64::new(0),
            committer: Mutex::new(Some(handle)),
            last_seq,
            generations,
            bus,
            info: StoreInfo { path: config.path.clone(), clinic_id, recovered, created, open_took: started.elapsed() },
            stats,
            closed: AtomicBool::new(false),
            disk,
            link_key,
            created_at,
        }))
    }

    /// Commits a change set durably (one fsync shared with every change set queued with it).
    pub async fn commit(&self, set: ChangeSet) -> Result<CommitReceipt, CommitError> {
        let (reply, rx) = oneshot::channel();
        let job = Job::Commit { set, reply, queued: Instant::now(), after_audits: None };
        self.jobs.send(job).await.map_err(|_| CommitError::Closed)?;
        rx.await.map_err(|_| CommitError::Closed)?
    }

    /// Commits a change set durably, in the same transaction as or after every read-audit
    /// entry queued before this call: the audit trail's own read, so a page of the trail
    /// shows every read that was answered before it. Other change sets do not wait for the
    /// read lane (a write must not queue behind a flood of reads).
    pub async fn commit_after_reads(&self, set: ChangeSet) -> Result<CommitReceipt, CommitError> {
        let (reply, rx) = oneshot::channel();
        let after = self.audits_queued.load(Ordering::Acquire);
        let job = Job::Commit { set, reply, queued: Instant::now(), after_audits: Some(after) };
        self.jobs.send(job).await.map_err(|_| CommitError::Closed)?;
        rx.await.map_err(|_| CommitError::Closed)?
    }

    /// Queues a change set for the next group commit without waiting for its fsync: for
    /// writes that may be lost in a crash (recent views and searches, written behind). A
    /// read's audit entry goes through [`Store::enqueue_audit`] instead. A full queue still
    /// makes the caller wait, so the queue stays bounded.
    pub async fn enqueue(&self, set: ChangeSet) -> Result<(), CommitError> {
        let (reply, _) = oneshot::channel();
        let job = Job::Commit { set, reply, queued: Instant::now(), after_audits: None };
        self.jobs.send(job).await.map_err(|_| CommitError::Closed)
    }

    /// Queues a read's audit entry for the next group commit, like [`Store::enqueue`] but
    /// without a change set or a reply: the cheapest way to audit a read.
    pub async fn enqueue_audit(&self, draft: AuditDraft) -> Result<(), CommitError> {
        let permit = self.audits.reserve().await.map_err(|_| CommitError::Closed)?;
        // Counted right after it is queued, with no await in between, so a reader of the
        // count that sees this read's answer also sees its entry counted.
        permit.send(QueuedAudit { draft, queued: Instant::now() });
        self.audits_queued.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// An MVCC snapshot for reading.
    pub fn read(&self) -> Result<Reader, StoreError> {
        Ok(Reader { txn: self.read_txn()? })
    }

    fn read_txn(&self) -> Result<redb::ReadTransaction, StoreError> {
        let db = self.db.read().unwrap_or_else(|p| p.into_inner());
        let db = db.as_ref().ok_or(StoreError::Closed)?;
        Ok(db.begin_read()?)
    }

    /// The last number allocated in `series` for this store's clinic (0 if none yet).
    pub fn last_number(&self, series: Series) -> Result<u64, StoreError> {
        self.read()?.series_last(&series.counter_key(&self.info.clinic_id))
    }

    /// Sequence number of the newest committed event (0 when the log is empty).
    pub fn last_seq(&self) -> u64 {
        self.last_seq.load(Ordering::Acquire)
    }

    /// How many committed write transactions have changed `table` since the store opened.
    ///
    /// It goes up only after the transaction is committed, so a value read *before* opening a
    /// reader is never newer than what the reader sees: something computed from that reader
    /// and kept under that value is stale once the value moves on, and at worst computed
    /// again once too often. Caches of derived figures (the AR ageing's) key on it.
    pub fn generation(&self, table: RecordTable) -> u64 {
        self.generations.get(table)
    }

    /// Live feed of committed events, in sequence order.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Published>> {
        self.bus.subscribe()
    }

    pub fn info(&self) -> &StoreInfo {
        &self.info
    }

    pub fn commit_stats(&self) -> &CommitStats {
        &self.stats
    }

    /// The data directory's free space and the reserve below which changes are refused.
    pub fn disk(&self) -> &disk::DiskGuard {
        &self.disk
    }

    /// The key that signs links sent to clients (confirm, cancel, unsubscribe): made at the
    /// first open and kept in `meta`, so backups carry it.
    pub fn link_key(&self) -> &[u8; 32] {
        &self.link_key
    }

    /// When this store was first opened: the day the clinic was set up.
    pub fn created_at(&self) -> jiff::Timestamp {
        self.created_at
    }

    /// Size of the store file in bytes.
    pub fn file_size(&self) -> u64 {
        std::fs::metadata(&self.info.path).map(|m| m.len()).unwrap_or(0)
    }

    /// True while the commit task accepts work.
    pub fn is_running(&self) -> bool {
        !self.closed.load(Ordering::Acquire) && !self.jobs.is_closed()
    }

    /// Commits everything already queued, stops the commit task and waits for it, then closes
    /// the database: when this returns the file is released, so another process (a restart,
    /// `clowder audit verify`) can open it at once. Snapshots still held get
    /// [`StoreError::Closed`] or redb's "closed" error. Blocking: call from a blocking context.
    pub fn close(&self) {
        // Held to the end, so a second caller returns only once the first has closed the file.
        let mut committer = self.committer.lock().unwrap_or_else(|p| p.into_inner());
        if !self.closed.swap(true, Ordering::AcqRel) {
            let _ = self.jobs.blocking_send(Job::Shutdown);
        }
        if let Some(h) = committer.take() {
            let _ = h.join();
        }
        // The commit thread, the only other owner, has ended and dropped its handle.
        let db = self.db.write().unwrap_or_else(|p| p.into_inner()).take();
        match db.map(Arc::try_unwrap) {
            Some(Ok(db)) => {
                if let Err(e) = db.close() {
                    tracing::error!(error = %e, path = %self.info.path.display(), "closing the store");
                }
            }
            Some(Err(_)) => {
                tracing::error!("the store is still shared after its commit thread ended; it closes on drop")
            }
            None => {}
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // `close` may not have run (tests, start-up failures): still stop the thread.
        if !self.closed.swap(true, Ordering::AcqRel) {
            let _ = self.jobs.try_send(Job::Shutdown);
        }
    }
}

/// The meta key of the link-signing key: 32 random bytes, base64, made at the first open. It
/// lives in the store so a restored server still honours the links it sent.
pub const META_LINK_KEY: &str = "link_key";

fn init_layout(
    db: &Database,
    path: &Path,
    clinic_id: &str,
    now: jiff::Timestamp,
) -> Result<(String, [u8; 32], jiff::Timestamp), StoreError> {
    let txn = db.begin_write()?;
    let id = {
        let mut meta = txn.open_table(META)?;
        let format = meta.get("format")?.map(|v| v.value().to_owned());
        match format.as_deref() {
            None => {
                meta.insert("format", FORMAT_VERSION)?;
                meta.insert("clinic_id", clinic_id)?;
                meta.insert("created_at", now.to_string().as_str())?;
            }
            Some(FORMAT_VERSION) => {}
            Some(other) => {
                return Err(StoreError::Layout { path: path.to_owned(), found: other.to_owned() });
            }
        }
        let id = meta.get("clinic_id")?.map(|v| v.value().to_owned()).unwrap_or_else(|| clinic_id.to_owned());
        let stored = meta.get(META_LINK_KEY)?.map(|v| v.value().to_owned());
        let key = match stored.as_deref().and_then(decode_link_key) {
            Some(key) => key,
            None => {
                let mut key = [0u8; 32];
                // Without OS randomness no link or session is safe; nothing sensible to go on with.
                getrandom::fill(&mut key).expect("the operating system's random source is available");
                meta.insert(META_LINK_KEY, base64::engine::general_purpose::STANDARD.encode(key).as_str())?;
                key
            }
        };
        for t in RecordTable::ALL {
            txn.open_table(t.def())?;
        }
        for t in IndexTable::ALL {
            txn.open_table(t.def())?;
        }
        txn.open_table(UNIQUE)?;
        txn.open_table(IDEMPOTENCY)?;
        txn.open_table(SERIES)?;
        txn.open_table(EVENTS)?;
        txn.open_table(AUDIT)?;
        // Stores made before `created_at` was kept count from now.
        let created = meta.get("created_at")?.and_then(|v| v.value().parse().ok()).unwrap_or(now);
        (id, key, created)
    };
    txn.commit()?;
    Ok(id)
}

fn decode_link_key(text: &str) -> Option<[u8; 32]> {
    base64::engine::general_purpose::STANDARD.decode(text).ok()?.try_into().ok()
}

/// Starts, keeps or drops the backup change journal; the next journal position if it is kept.
fn init_journal(db: &Database, on: Option<bool>, now: jiff::Timestamp) -> Result<Option<u64>, StoreError> {
    use backup::{JOURNAL, META_EPOCH, META_FROM};
    let txn = db.begin_write()?;
    let next = {
        let mut meta = txn.open_table(META)?;
        let on = on.unwrap_or(meta.get(META_EPOCH)?.is_some());
        if on {
            let next = txn.open_table(JOURNAL)?.last()?.map_or(1, |(k, _)| k.value() + 1);
            if meta.get(META_EPOCH)?.is_none() {
                // A new epoch: backups taken before it cannot be continued incrementally.
                let mut random = [0u8; 10];
                getrandom::fill(&mut random)
                    .map_err(|e| StoreError::Load(format!("no randomness for the journal epoch: {e}")))?;
                let mut bits = [0u8; 16];
                bits[6..].copy_from_slice(&random);
                let epoch = ulid::Ulid::from_parts(now.as_millisecond().max(0) as u64, u128::from_be_bytes(bits));
                meta.insert(META_EPOCH, epoch.to_string().as_str())?;
                meta.insert(META_FROM, next.to_string().as_str())?;
            }
            Some(next)
        } else {
            meta.remove(META_EPOCH)?;
            meta.remove(META_FROM)?;
            txn.delete_table(JOURNAL)?;
            None
        }
    };
    txn.commit()?;
    Ok(next)
}

/// A hash-chained log entry (events, audit entries).
trait Chained: Record {
    const LOG: &'static str;
    fn seq(&self) -> u64;
    fn hash(&self) -> &str;
    fn prev_hash(&self) -> &str;
    fn computed_hash(&self) -> String;
}

impl Chained for Event {
    const LOG: &'static str = "event log";
    fn seq(&self) -> u64 {
        self.seq
    }
    fn hash(&self) -> &str {
        &self.hash
    }
    fn prev_hash(&self) -> &str {
        &self.prev_hash
    }
    fn computed_hash(&self) -> String {
        commit::event_hash(self)
    }
}

impl Chained for AuditEntry {
    const LOG: &'static str = "audit trail";
    fn seq(&self) -> u64 {
        self.seq
    }
    fn hash(&self) -> &str {
        &self.hash
    }
    fn prev_hash(&self) -> &str {
        &self.prev_hash
    }
    fn computed_hash(&self) -> String {
        commit::audit_hash(self)
    }
}

/// Checks the chain of `table` from `from` to its end (or only its newest `tail` entries)
/// and returns the head: the last sequence number and hash.
fn verify_chain<T: Chained>(
    txn: &redb::ReadTransaction,
    table: redb::TableDefinition<u64, &[u8]>,
    tail: Option<u64>,
) -> Result<Head, StoreError> {
    let t = txn.open_table(table)?;
    let Some((last, _)) = t.last()? else {
        return Ok(Head { seq: 0, hash: GENESIS_HASH.to_owned() });
    };
    let last = last.value();
    let from = tail.map_or(1, |n| last.saturating_sub(n.saturating_sub(1)).max(1));
    let mut prev: Option<(u64, String)> = None;
    for row in t.range(from..=last)? {
        let (k, v) = row?;
        let seq = k.value();
        let broken = |why: &str| StoreError::BrokenChain { log: T::LOG, seq, why: why.to_owned() };
        let e: T = codec::decode(v.value()).map_err(|e| broken(&format!("the entry cannot be read: {e}")))?;
        if e.seq() != seq {
            return Err(broken("the stored sequence number does not match its key"));
        }
        if e.computed_hash() != e.hash() {
            return Err(broken("the entry's hash does not match its content"));
        }
        match &prev {
            Some((p_seq, p_hash)) if *p_seq + 1 != seq || p_hash != e.prev_hash() => {
                return Err(broken("the entry does not follow the previous one"));
            }
            None if seq == 1 && e.prev_hash() != GENESIS_HASH => {
                return Err(broken("the first entry does not start the chain"));
            }
            _ => {}
        }
        prev = Some((seq, e.hash().to_owned()));
    }
    let (seq, hash) = prev.expect("the range holds at least the last entry");
    Ok(Head { seq, hash })
}

/// What a full verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub events: u64,
    pub audit_entries: u64,
}

/// Walks the whole event log and audit trail of the store at `path` (which no server may
/// have open) and names the first broken link, if any.
pub fn verify_all(path: &Path) -> Result<VerifyReport, StoreError> {
    let db = Database::builder().open(path).map_err(|e| match e {
        redb::DatabaseError::DatabaseAlreadyOpen => StoreError::InUse(path.to_owned()),
        other => StoreError::Redb(other.into()),
    })?;
    let txn = db.begin_read()?;
    let events = verify_chain::<Event>(&txn, EVENTS, None)?;
    let audit = verify_chain::<AuditEntry>(&txn, AUDIT, None)?;
    Ok(VerifyReport { events: events.seq, audit_entries: audit.seq })
}

/// How far a bounded scan went.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scan {
    /// Entries looked at.
    pub count: usize,
    /// Key of the last entry looked at.
    pub last: Option<u64>,
}

/// A consistent snapshot of the store.
pub struct Reader {
    txn: redb::ReadTransaction,
}

impl Reader {
    pub fn get<R: Record>(&self, table: RecordTable, key: u128) -> Result<Option<R>, StoreError> {
        let t = self.txn.open_table(table.def())?;
        match t.get(key)? {
            Some(v) => Ok(Some(codec::decode(v.value())?)),
            None => Ok(None),
        }
    }

    /// Visits records in key (creation) order, starting after `after`, until `f` breaks.
    pub fn scan<R: Record>(
        &self,
        table: RecordTable,
        after: Option<u128>,
        mut f: impl FnMut(R) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        let t = self.txn.open_table(table.def())?;
        let range = match after {
            Some(a) if a == u128::MAX => return Ok(()),
            Some(a) => t.range(a + 1..)?,
            None => t.range(0..)?,
        };
        for row in range {
            let (_, v) = row?;
            if f(codec::decode(v.value())?).is_break() {
                break;
            }
        }
        Ok(())
    }

    /// Visits records newest (highest key) first, below `before` (exclusive), until `f` breaks.
    pub fn scan_rev<R: Record>(
        &self,
        table: RecordTable,
        before: Option<u128>,
        mut f: impl FnMut(R) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        let t = self.txn.open_table(table.def())?;
        let range = match before {
            Some(b) => t.range(..b)?,
            None => t.range(0..)?,
        };
        for row in range.rev() {
            let (_, v) = row?;
            if f(codec::decode(v.value())?).is_break() {
                break;
            }
        }
        Ok(())
    }

    /// Visits an index's keys in order from `from` (inclusive) until `f` breaks (the jobs'
    /// due index is read as a queue this way).
    pub fn index_from(
        &self,
        index: IndexTable,
        from: (u128, u128),
        mut f: impl FnMut((u128, u128)) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        let t = self.txn.open_table(index.def())?;
        for row in t.range(from..)? {
            if f(row?.0.value()).is_break() {
                break;
            }
        }
        Ok(())
    }

    /// Child keys of `parent` in an index, in key order, starting after `after`.
    pub fn children(&self, index: IndexTable, parent: u128, after: Option<u128>) -> Result<Vec<u128>, StoreError> {
        let t = self.txn.open_table(index.def())?;
        let start = match after {
            Some(a) if a == u128::MAX => return Ok(Vec::new()),
            Some(a) => a + 1,
            None => 0,
        };
        let mut out = Vec::new();
        for row in t.range((parent, start)..=(parent, u128::MAX))? {
            out.push(row?.0.value().1);
        }
        Ok(out)
    }

    /// Visits the child keys of `parent` in an index, newest (highest key) first, below
    /// `before` (exclusive), until `f` breaks.
    pub fn children_rev(
        &self,
        index: IndexTable,
        parent: u128,
        before: Option<u128>,
        mut f: impl FnMut(u128) -> Result<ControlFlow<()>, StoreError>,
    ) -> Result<(), StoreError> {
        let t = self.txn.open_table(index.def())?;
        let range = match before {
            Some(0) => return Ok(()),
            Some(b) => t.range((parent, 0)..=(parent, b - 1))?,
            None => t.range((parent, 0)..=(parent, u128::MAX))?,
        };
        for row in range.rev() {
            if f(row?.0.value().1)?.is_break() {
                break;
            }
        }
        Ok(())
    }

    /// The record that holds a unique value, if any.
    pub fn unique_owner(&self, ns: &str, value: &str) -> Result<Option<u128>, StoreError> {
        let t = self.txn.open_table(UNIQUE)?;
        Ok(t.get((ns, value))?.map(|v| v.value()))
    }

    pub fn count(&self, table: RecordTable) -> Result<u64, StoreError> {
        Ok(self.txn.open_table(table.def())?.len()?)
    }

    /// Audit entries newest first, below sequence `before` (exclusive), that `keep` accepts;
    /// at most `limit + 1` so the caller can tell whether more remain. Stops scanning after
    /// `max_scan` entries so a filter matching nothing cannot walk years of trail per request.
    pub fn audit_before(
        &self,
        before: Option<u64>,
        limit: usize,
        max_scan: usize,
        mut keep: impl FnMut(&AuditEntry) -> bool,
    ) -> Result<(Vec<AuditEntry>, Scan), StoreError> {
        let t = self.txn.open_table(AUDIT)?;
        let range = match before {
            Some(b) => t.range(..b)?,
            None => t.range(0..)?,
        };
        let mut out = Vec::new();
        let mut scan = Scan::default();
        for row in range.rev().take(max_scan) {
            let (k, v) = row?;
            scan.last = Some(k.value());
            scan.count += 1;
            let e: AuditEntry = codec::decode(v.value())?;
            if keep(&e) {
                out.push(e);
                if out.len() > limit {
                    break;
                }
            }
        }
        Ok((out, scan))
    }

    /// The stored claim of an idempotency key, if any (expired or not).
    pub fn idempotency_key(&self, principal: &str, key: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        let t = self.txn.open_table(IDEMPOTENCY)?;
        match t.get((principal, key))? {
            Some(v) => Ok(Some(codec::decode(v.value())?)),
            None => Ok(None),
        }
    }

    /// `(principal, key, attempt)` of every idempotency key expired at `now`.
    pub fn expired_idempotency_keys(&self, now: jiff::Timestamp) -> Result<Vec<(String, String, String)>, StoreError> {
        let t = self.txn.open_table(IDEMPOTENCY)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let (k, v) = row?;
            let r: IdempotencyRecord = codec::decode(v.value())?;
            if r.expired(now) {
                let (principal, key) = k.value();
                out.push((principal.to_owned(), key.to_owned(), r.attempt));
            }
        }
        Ok(out)
    }

    /// The last number allocated in a series counter (`Series::counter_key`), 0 if none.
    pub fn series_last(&self, counter_key: &str) -> Result<u64, StoreError> {
        let t = self.txn.open_table(SERIES)?;
        Ok(t.get(counter_key)?.map_or(0, |v| v.value()))
    }

    /// Sequence number of the newest event in this snapshot (0 when the log is empty).
    pub fn last_event_seq(&self) -> Result<u64, StoreError> {
        let t = self.txn.open_table(EVENTS)?;
        Ok(t.last()?.map_or(0, |(k, _)| k.value()))
    }

    /// Events with sequence numbers above `after`, oldest first, at most `limit`.
    pub fn events_after(&self, after: u64, limit: usize) -> Result<Vec<Event>, StoreError> {
        let t = self.txn.open_table(EVENTS)?;
        let mut out = Vec::new();
        for row in t.range(after.saturating_add(1)..)?.take(limit) {
            out.push(codec::decode(row?.1.value())?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod backup_tests;
