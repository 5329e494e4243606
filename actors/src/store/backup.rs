//! Backups at the store's level: the change journal that makes incremental backups possible,
//! the export of a consistent snapshot (whole, or what changed since an earlier backup) as a
//! stream of frames, and the import of such streams into a new store file. What happens to a
//! stream afterwards (compression, encryption, destinations, schedule, verification) belongs to
//! `clowder-ops`; this module is the only backup code that touches redb.
//!
//! **The journal.** Record tables are overwritten in place, so "what changed since the last
//! backup" is not in the data itself. When the store is opened with `journal: true` (a backup
//! destination is configured) the commit thread adds one row per write transaction to
//! `backup_journal`: the keys that transaction wrote or deleted, outside the event log and the
//! audit trail (those two are append-only, so a sequence range says what is new). One small
//! row per transaction, none for a batch of read-audit entries only. An incremental backup
//! reads the journal rows after the previous backup's mark and copies the *current* value of
//! each key named (or a deletion) from the same snapshot, plus the new events and audit
//! entries. Rows older than the last backup are pruned after each successful one.
//!
//! The journal belongs to an *epoch* (a ULID in `meta`), started whenever journalling starts
//! (first open with a destination, or after it was off). An incremental backup names the epoch
//! and the journal position it continues from; if the store is in another epoch, or the
//! journal does not reach back that far, the next backup must be full.
//!
//! **The stream** (`FORMAT`): a magic string, a header (MessagePack: kind, store layout,
//! clinic, marks from and to), then frames `put | delete, table, key, value` and an end frame
//! with the frame count; a stream without its end frame is truncated and refused. Keys and
//! values keep their table's own byte layout (ULIDs as 16 big-endian bytes, sequence numbers as
//! 8), so a restore is a sequence of inserts into a fresh file.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use redb::{Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::tables::{AUDIT, EVENTS, FORMAT_VERSION, IDEMPOTENCY, IndexTable, META, RecordTable, SERIES, UNIQUE};
use super::{Store, StoreError};

/// One row per journalled write transaction: journal position → MessagePack `Vec<Touch>`.
pub const JOURNAL: TableDefinition<u64, &[u8]> = TableDefinition::new("backup_journal");

/// `meta` keys of the journal; not copied into backups (a restored store starts its own epoch).
pub(super) const META_EPOCH: &str = "journal_epoch";
pub(super) const META_FROM: &str = "journal_from";
/// `meta` key a restored store keeps: the marks of the last backup applied to it (JSON).
const META_RESTORED: &str = "restored_marks";

const MAGIC: &[u8; 8] = b"CLWDBK\x00\x01";
/// The stream format written by this build (the magic's last byte).
pub const FORMAT: u8 = 1;

const TAG_END: u8 = 0;
const TAG_PUT: u8 = 1;
const TAG_DELETE: u8 = 2;

/// Frames applied per restore transaction (each commits without fsync but the last).
const FRAMES_PER_TXN: u64 = 50_000;

/// A key a write transaction touched, by table name (names outlive enum variants).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(super) enum Touch {
    Record(String, u128),
    Index(String, u128, u128),
    Unique(String, String),
    Idempotency(String, String),
    Series(String),
}

/// Where a backup stands in the store's history: the journal epoch and position, and the last
/// event and audit sequence numbers it includes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marks {
    /// The journal epoch (a ULID), empty for a store without a journal.
    pub epoch: String,
    /// The last journal position included (0: none).
    pub change: u64,
    /// The last event sequence number included.
    pub events: u64,
    /// The last audit sequence number included.
    pub audit: u64,
}

/// What to export.
#[derive(Debug, Clone)]
pub enum ExportKind {
    /// Every table.
    Full,
    /// What changed after the backup with these marks.
    Since(Marks),
}

/// The header at the start of every stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamHeader {
    /// `full` or `incremental`.
    pub kind: String,
    /// The store layout (`tables::FORMAT_VERSION`) the rows are in.
    pub layout: String,
    pub clinic_id: String,
    /// For an incremental stream, the marks it continues from.
    pub from: Option<Marks>,
    /// The marks of the snapshot the stream was taken from.
    pub to: Marks,
}

/// What an export wrote.
#[derive(Debug, Clone)]
pub struct ExportReport {
    pub header: StreamHeader,
    /// Rows per table in the snapshot (whole tables, also for an incremental), by table name.
    pub counts: BTreeMap<String, u64>,
    /// Put and delete frames written.
    pub frames: u64,
    /// Bytes of the stream.
    pub bytes: u64,
    /// SHA-256 of the stream, hex.
    pub sha256: String,
}

/// Why a backup or restore step failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// An incremental backup is not possible from the given marks; take a full one.
    #[error("a full backup is needed: {0}")]
    NeedsFull(String),
    #[error("backup stream I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stream is not a Clowder backup, is truncated or is damaged.
    #[error("the backup is unreadable: {0}")]
    Damaged(String),
    /// The streams do not follow each other (a missing or reordered increment).
    #[error("the backups do not follow each other: {0}")]
    Gap(String),
    /// The target of a restore is not empty.
    #[error("{0} already holds a store; restore into an empty directory")]
    NotEmpty(PathBuf),
}

impl From<redb::Error> for BackupError {
    fn from(e: redb::Error) -> Self {
        BackupError::Store(StoreError::Redb(e))
    }
}

macro_rules! backup_redb_errors {
    ($($t:ty),*) => { $( impl From<$t> for BackupError { fn from(e: $t) -> Self { BackupError::from(redb::Error::from(e)) } } )* };
}
backup_redb_errors!(redb::TransactionError, redb::TableError, redb::StorageError, redb::CommitError);

/// The shape of a backed-up table's keys and values.
#[derive(Debug, Clone, Copy)]
enum Shape {
    Meta,
    Record(RecordTable),
    Index(IndexTable),
    Unique,
    Idempotency,
    Series,
    Events,
    Audit,
}

/// Every table a backup carries, by name (all but the journal).
fn shapes() -> Vec<(String, Shape)> {
    use redb::TableHandle;
    let mut out = vec![(META.name().to_owned(), Shape::Meta)];
    out.extend(RecordTable::ALL.iter().map(|t| (t.def().name().to_owned(), Shape::Record(*t))));
    out.extend(IndexTable::ALL.iter().map(|t| (t.def().name().to_owned(), Shape::Index(*t))));
    out.extend([
        (UNIQUE.name().to_owned(), Shape::Unique),
        (IDEMPOTENCY.name().to_owned(), Shape::Idempotency),
        (SERIES.name().to_owned(), Shape::Series),
        (EVENTS.name().to_owned(), Shape::Events),
        (AUDIT.name().to_owned(), Shape::Audit),
    ]);
    out
}

fn shape_of(name: &str) -> Option<Shape> {
    shapes().into_iter().find(|(n, _)| n == name).map(|(_, s)| s)
}

fn pair_key(a: &str, b: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(2 + a.len() + b.len());
    k.extend_from_slice(&(a.len() as u16).to_be_bytes());
    k.extend_from_slice(a.as_bytes());
    k.extend_from_slice(b.as_bytes());
    k
}

fn split_pair(k: &[u8]) -> Result<(&str, &str), BackupError> {
    let bad = || BackupError::Damaged("a key of two strings is malformed".into());
    let n = u16::from_be_bytes(k.get(..2).ok_or_else(bad)?.try_into().map_err(|_| bad())?) as usize;
    let a = k.get(2..2 + n).ok_or_else(bad)?;
    let b = &k[2 + n..];
    Ok((std::str::from_utf8(a).map_err(|_| bad())?, std::str::from_utf8(b).map_err(|_| bad())?))
}

fn u128_of(b: &[u8]) -> Result<u128, BackupError> {
    Ok(u128::from_be_bytes(b.try_into().map_err(|_| BackupError::Damaged("a 16-byte key is malformed".into()))?))
}

fn u64_of(b: &[u8]) -> Result<u64, BackupError> {
    Ok(u64::from_be_bytes(b.try_into().map_err(|_| BackupError::Damaged("an 8-byte value is malformed".into()))?))
}

fn str_of(b: &[u8]) -> Result<&str, BackupError> {
    std::str::from_utf8(b).map_err(|_| BackupError::Damaged("a text key is not UTF-8".into()))
}

/// Writes frames, hashing and counting what goes out.
struct FrameWriter<W: Write> {
    out: W,
    hash: Sha256,
    bytes: u64,
    frames: u64,
}

impl<W: Write> FrameWriter<W> {
    fn raw(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.out.write_all(b)?;
        self.hash.update(b);
        self.bytes += b.len() as u64;
        Ok(())
    }

    fn start(&mut self, header: &StreamHeader) -> Result<(), BackupError> {
        self.raw(MAGIC)?;
        let h = rmp_serde::to_vec_named(header).map_err(|e| BackupError::Damaged(e.to_string()))?;
        self.raw(&(h.len() as u32).to_be_bytes())?;
        self.raw(&h)?;
        Ok(())
    }

    fn frame(&mut self, tag: u8, table: &str, key: &[u8], value: Option<&[u8]>) -> std::io::Result<()> {
        self.raw(&[tag, table.len() as u8])?;
        self.raw(table.as_bytes())?;
        self.raw(&(key.len() as u16).to_be_bytes())?;
        self.raw(key)?;
        if let Some(v) = value {
            self.raw(&(v.len() as u32).to_be_bytes())?;
            self.raw(v)?;
        }
        self.frames += 1;
        Ok(())
    }

    fn put(&mut self, table: &str, key: &[u8], value: &[u8]) -> std::io::Result<()> {
        self.frame(TAG_PUT, table, key, Some(value))
    }

    fn delete(&mut self, table: &str, key: &[u8]) -> std::io::Result<()> {
        self.frame(TAG_DELETE, table, key, None)
    }

    fn end(mut self) -> std::io::Result<(u64, u64, String)> {
        let frames = self.frames;
        self.raw(&[TAG_END])?;
        self.raw(&frames.to_be_bytes())?;
        self.out.flush()?;
        Ok((frames, self.bytes, hex(&self.hash.finalize())))
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The marks of a snapshot.
fn marks_of(txn: &redb::ReadTransaction) -> Result<Marks, BackupError> {
    let meta = txn.open_table(META)?;
    let epoch = meta.get(META_EPOCH)?.map(|v| v.value().to_owned()).unwrap_or_default();
    let change = match txn.open_table(JOURNAL) {
        Ok(j) => j.last()?.map_or(0, |(k, _)| k.value()),
        Err(redb::TableError::TableDoesNotExist(_)) => 0,
        Err(e) => return Err(e.into()),
    };
    let events = txn.open_table(EVENTS)?.last()?.map_or(0, |(k, _)| k.value());
    let audit = txn.open_table(AUDIT)?.last()?.map_or(0, |(k, _)| k.value());
    Ok(Marks { epoch, change, events, audit })
}

fn counts_of(txn: &redb::ReadTransaction) -> Result<BTreeMap<String, u64>, BackupError> {
    let mut counts = BTreeMap::new();
    for (name, shape) in shapes() {
        let n = match shape {
            Shape::Meta => txn.open_table(META)?.len()?,
            Shape::Record(t) => txn.open_table(t.def())?.len()?,
            Shape::Index(t) => txn.open_table(t.def())?.len()?,
            Shape::Unique => txn.open_table(UNIQUE)?.len()?,
            Shape::Idempotency => txn.open_table(IDEMPOTENCY)?.len()?,
            Shape::Series => txn.open_table(SERIES)?.len()?,
            Shape::Events => txn.open_table(EVENTS)?.len()?,
            Shape::Audit => txn.open_table(AUDIT)?.len()?,
        };
        counts.insert(name.to_owned(), n);
    }
    Ok(counts)
}

/// Writes every row of one table as put frames (`meta` without the journal's keys).
fn export_table<W: Write>(
    txn: &redb::ReadTransaction,
    name: &str,
    shape: Shape,
    w: &mut FrameWriter<W>,
) -> Result<(), BackupError> {
    match shape {
        Shape::Meta => {
            for row in txn.open_table(META)?.iter()? {
                let (k, v) = row?;
                if [META_EPOCH, META_FROM, META_RESTORED].contains(&k.value()) {
                    continue;
                }
                w.put(name, k.value().as_bytes(), v.value().as_bytes())?;
            }
        }
        Shape::Record(t) => {
            for row in txn.open_table(t.def())?.iter()? {
                let (k, v) = row?;
                w.put(name, &k.value().to_be_bytes(), v.value())?;
            }
        }
        Shape::Index(t) => {
            for row in txn.open_table(t.def())?.iter()? {
                let (k, _) = row?;
                let (a, b) = k.value();
                let mut key = [0u8; 32];
                key[..16].copy_from_slice(&a.to_be_bytes());
                key[16..].copy_from_slice(&b.to_be_bytes());
                w.put(name, &key, &[])?;
            }
        }
        Shape::Unique => {
            for row in txn.open_table(UNIQUE)?.iter()? {
                let (k, v) = row?;
                let (a, b) = k.value();
                w.put(name, &pair_key(a, b), &v.value().to_be_bytes())?;
            }
        }
        Shape::Idempotency => {
            for row in txn.open_table(IDEMPOTENCY)?.iter()? {
                let (k, v) = row?;
                let (a, b) = k.value();
                w.put(name, &pair_key(a, b), v.value())?;
            }
        }
        Shape::Series => {
            for row in txn.open_table(SERIES)?.iter()? {
                let (k, v) = row?;
                w.put(name, k.value().as_bytes(), &v.value().to_be_bytes())?;
            }
        }
        Shape::Events | Shape::Audit => {
            let def = if matches!(shape, Shape::Events) { EVENTS } else { AUDIT };
            for row in txn.open_table(def)?.iter()? {
                let (k, v) = row?;
                w.put(name, &k.value().to_be_bytes(), v.value())?;
            }
        }
    }
    Ok(())
}

/// Writes one touched key's current value (or its deletion).
fn export_touch<W: Write>(
    txn: &redb::ReadTransaction,
    touch: &Touch,
    w: &mut FrameWriter<W>,
) -> Result<(), BackupError> {
    match touch {
        Touch::Record(table, key) => {
            let Some(Shape::Record(t)) = shape_of(table) else {
                return Err(BackupError::Damaged(format!("the journal names an unknown table {table}")));
            };
            let k = key.to_be_bytes();
            match txn.open_table(t.def())?.get(*key)? {
                Some(v) => w.put(table, &k, v.value())?,
                None => w.delete(table, &k)?,
            }
        }
        Touch::Index(table, a, b) => {
            let Some(Shape::Index(t)) = shape_of(table) else {
                return Err(BackupError::Damaged(format!("the journal names an unknown index {table}")));
            };
            let mut k = [0u8; 32];
            k[..16].copy_from_slice(&a.to_be_bytes());
            k[16..].copy_from_slice(&b.to_be_bytes());
            match txn.open_table(t.def())?.get((*a, *b))? {
                Some(_) => w.put(table, &k, &[])?,
                None => w.delete(table, &k)?,
            }
        }
        Touch::Unique(ns, value) => {
            use redb::TableHandle;
            let k = pair_key(ns, value);
            match txn.open_table(UNIQUE)?.get((ns.as_str(), value.as_str()))? {
                Some(v) => w.put(UNIQUE.name(), &k, &v.value().to_be_bytes())?,
                None => w.delete(UNIQUE.name(), &k)?,
            }
        }
        Touch::Idempotency(principal, key) => {
            use redb::TableHandle;
            let k = pair_key(principal, key);
            match txn.open_table(IDEMPOTENCY)?.get((principal.as_str(), key.as_str()))? {
                Some(v) => w.put(IDEMPOTENCY.name(), &k, v.value())?,
                None => w.delete(IDEMPOTENCY.name(), &k)?,
            }
        }
        Touch::Series(counter) => {
            use redb::TableHandle;
            match txn.open_table(SERIES)?.get(counter.as_str())? {
                Some(v) => w.put(SERIES.name(), counter.as_bytes(), &v.value().to_be_bytes())?,
                None => w.delete(SERIES.name(), counter.as_bytes())?,
            }
        }
    }
    Ok(())
}

impl Store {
    /// Writes a consistent snapshot of the store to `out` as a backup stream: every table, or
    /// what changed after `since`. Runs in one read transaction, so writers go on meanwhile
    /// (redb keeps the snapshot's pages until it ends). Blocking: call it from a blocking
    /// thread.
    pub fn export(&self, kind: &ExportKind, out: impl Write) -> Result<ExportReport, BackupError> {
        let txn = self.read_txn()?;
        export_snapshot(&txn, &self.info.clinic_id, kind, out)
    }

    /// The marks of the store as it is now (what a backup taken now would reach).
    pub fn backup_marks(&self) -> Result<Marks, BackupError> {
        marks_of(&self.read_txn()?)
    }

    /// Forgets journal rows before `position` (those a successful backup covers). The row at
    /// `position` is kept, so the next position never goes back. Waits for the commit.
    pub async fn prune_backup_journal(&self, position: u64) -> Result<(), super::CommitError> {
        let mut set = super::ChangeSet::new();
        set.prune_journal(position);
        self.commit(set).await.map(|_| ())
    }
}

fn export_snapshot(
    txn: &redb::ReadTransaction,
    clinic_id: &str,
    kind: &ExportKind,
    out: impl Write,
) -> Result<ExportReport, BackupError> {
    let to = marks_of(txn)?;
    let counts = counts_of(txn)?;
    let mut w = FrameWriter { out, hash: Sha256::new(), bytes: 0, frames: 0 };
    let header = StreamHeader {
        kind: match kind {
            ExportKind::Full => "full".into(),
            ExportKind::Since(_) => "incremental".into(),
        },
        layout: FORMAT_VERSION.into(),
        clinic_id: clinic_id.to_owned(),
        from: match kind {
            ExportKind::Full => None,
            ExportKind::Since(m) => Some(m.clone()),
        },
        to: to.clone(),
    };
    match kind {
        ExportKind::Full => {
            w.start(&header)?;
            for (name, shape) in shapes() {
                export_table(txn, &name, shape, &mut w)?;
            }
        }
        ExportKind::Since(from) => {
            check_continues(txn, from, &to)?;
            w.start(&header)?;
            // meta is tiny and changes rarely: always whole.
            use redb::TableHandle;
            export_table(txn, META.name(), Shape::Meta, &mut w)?;
            let mut touched = BTreeSet::new();
            for row in txn.open_table(JOURNAL)?.range(from.change + 1..=to.change)? {
                let (_, v) = row?;
                let list: Vec<Touch> = rmp_serde::from_slice(v.value())
                    .map_err(|e| BackupError::Damaged(format!("a journal row cannot be read: {e}")))?;
                touched.extend(list);
            }
            for t in &touched {
                export_touch(txn, t, &mut w)?;
            }
            for row in txn.open_table(EVENTS)?.range(from.events + 1..=to.events)? {
                let (k, v) = row?;
                w.put(EVENTS.name(), &k.value().to_be_bytes(), v.value())?;
            }
            for row in txn.open_table(AUDIT)?.range(from.audit + 1..=to.audit)? {
                let (k, v) = row?;
                w.put(AUDIT.name(), &k.value().to_be_bytes(), v.value())?;
            }
        }
    }
    let (frames, bytes, sha256) = w.end()?;
    Ok(ExportReport { header, counts, frames, bytes, sha256 })
}

/// Refuses an incremental export the journal cannot answer.
fn check_continues(txn: &redb::ReadTransaction, from: &Marks, to: &Marks) -> Result<(), BackupError> {
    if to.epoch.is_empty() {
        return Err(BackupError::NeedsFull("the store keeps no change journal".into()));
    }
    if from.epoch != to.epoch {
        return Err(BackupError::NeedsFull("the change journal was restarted since the last backup".into()));
    }
    let journal_from: u64 =
        txn.open_table(META)?.get(META_FROM)?.and_then(|v| v.value().parse().ok()).unwrap_or(u64::MAX);
    let first_kept = txn.open_table(JOURNAL)?.first()?.map(|(k, _)| k.value());
    let reaches = from.change + 1 >= journal_from && first_kept.is_none_or(|first| first <= from.change + 1);
    if !reaches {
        return Err(BackupError::NeedsFull("the change journal no longer reaches back to the last backup".into()));
    }
    if from.change > to.change || from.events > to.events || from.audit > to.audit {
        return Err(BackupError::NeedsFull("the last backup is ahead of this store (was it restored?)".into()));
    }
    Ok(())
}

/// What applying one stream did.
#[derive(Debug, Clone)]
pub struct ApplyReport {
    pub header: StreamHeader,
    pub frames: u64,
    /// SHA-256 of the stream as read, hex (compare with the manifest's).
    pub sha256: String,
    /// Rows per table after the stream was applied.
    pub counts: BTreeMap<String, u64>,
}

/// Builds a store file from a full backup stream and the incremental streams after it, in
/// order. Used by `clowder restore` and by the verification after each backup.
pub struct Restorer {
    db: Database,
    path: PathBuf,
    /// The marks of the last stream applied; `None` until the full one is.
    marks: Option<Marks>,
    clinic_id: Option<String>,
}

impl Restorer {
    /// Creates a new store file at `path`; refuses one that exists.
    pub fn create(path: &Path) -> Result<Restorer, BackupError> {
        if path.exists() {
            return Err(BackupError::NotEmpty(path.to_owned()));
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let db = Database::builder().create(path).map_err(|e| BackupError::from(redb::Error::from(e)))?;
        Ok(Restorer { db, path: path.to_owned(), marks: None, clinic_id: None })
    }

    /// Reopens a store built by an earlier `Restorer` (the verification replica) to apply
    /// more increments to it.
    pub fn resume(path: &Path) -> Result<Restorer, BackupError> {
        let db = Database::builder().open(path).map_err(|e| BackupError::from(redb::Error::from(e)))?;
        let (marks, clinic_id) = {
            let txn = db.begin_read()?;
            let meta = txn.open_table(META)?;
            let marks = match meta.get(META_RESTORED)? {
                Some(v) => Some(
                    serde_json::from_str(v.value())
                        .map_err(|e| BackupError::Damaged(format!("the replica's marks cannot be read: {e}")))?,
                ),
                None => None,
            };
            (marks, meta.get("clinic_id")?.map(|v| v.value().to_owned()))
        };
        Ok(Restorer { db, path: path.to_owned(), marks, clinic_id })
    }

    /// The marks of the last stream applied.
    pub fn marks(&self) -> Option<&Marks> {
        self.marks.as_ref()
    }

    /// Applies one stream; a full one first, then each increment in order. Refuses a stream
    /// that does not continue from the last one, and a truncated or damaged one. A stream
    /// refused halfway leaves the file unusable: restores start again from an empty file.
    pub fn apply(&mut self, input: impl Read) -> Result<ApplyReport, BackupError> {
        let mut r = FrameReader { input, hash: Sha256::new() };
        let mut magic = [0u8; 8];
        r.exact(&mut magic)?;
        if magic[..7] != MAGIC[..7] {
            return Err(BackupError::Damaged("this is not a Clowder backup (or it was not decrypted)".into()));
        }
        if magic[7] != FORMAT {
            return Err(BackupError::Damaged(format!(
                "backup stream format {} is not the one this build reads ({FORMAT})",
                magic[7]
            )));
        }
        let len = r.u32()? as usize;
        let header: StreamHeader = rmp_serde::from_slice(&r.bytes(len)?)
            .map_err(|e| BackupError::Damaged(format!("the header cannot be read: {e}")))?;
        if header.layout != FORMAT_VERSION {
            return Err(BackupError::Damaged(format!(
                "the backup holds store layout {}, this build reads layout {FORMAT_VERSION}",
                header.layout
            )));
        }
        match (&header.from, &self.marks) {
            (None, None) => {}
            (None, Some(_)) => return Err(BackupError::Gap("a full backup cannot follow another backup".into())),
            (Some(_), None) => {
                return Err(BackupError::Gap("an incremental backup needs its full backup applied first".into()));
            }
            (Some(from), Some(have)) if from != have => {
                return Err(BackupError::Gap(format!(
                    "this increment continues from events {} / audit {} / change {}, but the restore reached events {} / audit {} / change {}: an increment is missing",
                    from.events, from.audit, from.change, have.events, have.audit, have.change
                )));
            }
            _ => {}
        }
        if let Some(c) = &self.clinic_id
            && c != &header.clinic_id
        {
            return Err(BackupError::Gap(format!("this backup is of clinic {}, not {c}", header.clinic_id)));
        }
        let by_name: std::collections::HashMap<String, Shape> = shapes().into_iter().collect();
        let mut frames = 0u64;
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::None).map_err(|e| BackupError::Damaged(e.to_string()))?;
        loop {
            let tag = r.u8()?;
            if tag == TAG_END {
                break;
            }
            let name_len = r.u8()? as usize;
            let name = String::from_utf8(r.bytes(name_len)?)
                .map_err(|_| BackupError::Damaged("a table name is not UTF-8".into()))?;
            let key_len = r.u16()? as usize;
            let key = r.bytes(key_len)?;
            let value = match tag {
                TAG_PUT => {
                    let n = r.u32()? as usize;
                    Some(r.bytes(n)?)
                }
                TAG_DELETE => None,
                other => return Err(BackupError::Damaged(format!("unknown frame tag {other}"))),
            };
            let shape = *by_name.get(&name).ok_or_else(|| BackupError::Damaged(format!("unknown table {name}")))?;
            apply_frame(&txn, shape, &key, value.as_deref())?;
            frames += 1;
            if frames.is_multiple_of(FRAMES_PER_TXN) {
                txn.commit()?;
                txn = self.db.begin_write()?;
                txn.set_durability(Durability::None).map_err(|e| BackupError::Damaged(e.to_string()))?;
            }
        }
        let expected = r.u64_plain()?;
        let sha256 = hex(&r.hash.clone().finalize());
        if expected != frames {
            return Err(BackupError::Damaged(format!("the stream says {expected} frames but holds {frames}")));
        }
        {
            let mut meta = txn.open_table(META)?;
            let json = serde_json::to_string(&header.to).map_err(|e| BackupError::Damaged(e.to_string()))?;
            meta.insert(META_RESTORED, json.as_str())?;
        }
        // Tables the stream had no rows for still exist, as in a store Clowder created.
        for (_, shape) in shapes() {
            open_for(&txn, shape)?;
        }
        txn.set_durability(Durability::Immediate).map_err(|e| BackupError::Damaged(e.to_string()))?;
        txn.commit()?;
        let counts = counts_of(&self.db.begin_read()?)?;
        self.clinic_id = Some(header.clinic_id.clone());
        self.marks = Some(header.to.clone());
        Ok(ApplyReport { header, frames, sha256, counts })
    }

    /// Closes the file; the store at [`Restorer::path`] is ready to open.
    pub fn finish(self) -> Result<PathBuf, BackupError> {
        let path = self.path.clone();
        drop(self.db);
        Ok(path)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn open_for(txn: &redb::WriteTransaction, shape: Shape) -> Result<(), BackupError> {
    match shape {
        Shape::Meta => drop(txn.open_table(META)?),
        Shape::Record(t) => drop(txn.open_table(t.def())?),
        Shape::Index(t) => drop(txn.open_table(t.def())?),
        Shape::Unique => drop(txn.open_table(UNIQUE)?),
        Shape::Idempotency => drop(txn.open_table(IDEMPOTENCY)?),
        Shape::Series => drop(txn.open_table(SERIES)?),
        Shape::Events => drop(txn.open_table(EVENTS)?),
        Shape::Audit => drop(txn.open_table(AUDIT)?),
    }
    Ok(())
}

fn apply_frame(
    txn: &redb::WriteTransaction,
    shape: Shape,
    key: &[u8],
    value: Option<&[u8]>,
) -> Result<(), BackupError> {
    match shape {
        Shape::Meta => {
            let mut t = txn.open_table(META)?;
            let k = str_of(key)?;
            match value {
                Some(v) => drop(t.insert(k, str_of(v)?)?),
                None => drop(t.remove(k)?),
            }
        }
        Shape::Record(def) => {
            let mut t = txn.open_table(def.def())?;
            let k = u128_of(key)?;
            match value {
                Some(v) => drop(t.insert(k, v)?),
                None => drop(t.remove(k)?),
            }
        }
        Shape::Index(def) => {
            let mut t = txn.open_table(def.def())?;
            if key.len() != 32 {
                return Err(BackupError::Damaged("an index key is malformed".into()));
            }
            let k = (u128_of(&key[..16])?, u128_of(&key[16..])?);
            match value {
                Some(_) => drop(t.insert(k, ())?),
                None => drop(t.remove(k)?),
            }
        }
        Shape::Unique => {
            let mut t = txn.open_table(UNIQUE)?;
            let k = split_pair(key)?;
            match value {
                Some(v) => drop(t.insert(k, u128_of(v)?)?),
                None => drop(t.remove(k)?),
            }
        }
        Shape::Idempotency => {
            let mut t = txn.open_table(IDEMPOTENCY)?;
            let k = split_pair(key)?;
            match value {
                Some(v) => drop(t.insert(k, v)?),
                None => drop(t.remove(k)?),
            }
        }
        Shape::Series => {
            let mut t = txn.open_table(SERIES)?;
            let k = str_of(key)?;
            match value {
                Some(v) => drop(t.insert(k, u64_of(v)?)?),
                None => drop(t.remove(k)?),
            }
        }
        Shape::Events | Shape::Audit => {
            let mut t = txn.open_table(if matches!(shape, Shape::Events) { EVENTS } else { AUDIT })?;
            let k = u64_of(key)?;
            match value {
                Some(v) => drop(t.insert(k, v)?),
                None => drop(t.remove(k)?),
            }
        }
    }
    Ok(())
}

struct FrameReader<R: Read> {
    input: R,
    hash: Sha256,
}

impl<R: Read> FrameReader<R> {
    fn exact(&mut self, buf: &mut [u8]) -> Result<(), BackupError> {
        self.input.read_exact(buf).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => BackupError::Damaged("the backup is truncated".into()),
            _ => BackupError::Io(e),
        })?;
        self.hash.update(&buf[..]);
        Ok(())
    }

    fn u8(&mut self) -> Result<u8, BackupError> {
        let mut b = [0u8; 1];
        self.exact(&mut b)?;
        Ok(b[0])
    }

    fn u16(&mut self) -> Result<u16, BackupError> {
        let mut b = [0u8; 2];
        self.exact(&mut b)?;
        Ok(u16::from_be_bytes(b))
    }

    fn u32(&mut self) -> Result<u32, BackupError> {
        let mut b = [0u8; 4];
        self.exact(&mut b)?;
        Ok(u32::from_be_bytes(b))
    }

    fn u64_plain(&mut self) -> Result<u64, BackupError> {
        let mut b = [0u8; 8];
        self.exact(&mut b)?;
        Ok(u64::from_be_bytes(b))
    }

    fn bytes(&mut self, n: usize) -> Result<Vec<u8>, BackupError> {
        let mut v = vec![0u8; n];
        self.exact(&mut v)?;
        Ok(v)
    }
}
