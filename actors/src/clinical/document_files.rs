//! Document contents on disk, content-addressed: `<data dir>/documents/<first two hex digits of
//! the SHA-256>/<SHA-256>`. An upload is streamed into a temporary file under
//! `documents/.incoming/` while it is hashed and counted (never held in memory), refused as
//! soon as it passes the size limit or its first bytes are not an accepted type, then fsynced,
//! renamed to its hash and the directory fsynced: the record naming it is committed only after
//! that, so a record never names a file that a crash could lose. The same bytes uploaded
//! twice are one file (the second temporary file is dropped). A content a record names is
//! never deleted: a deactivated document keeps its content, as the medical record must.
//!
//! **The sweep** ([`DocumentFiles::sweep_unnamed`], run by the daily clean-up job and by
//! `clowder documents sweep`) removes a content only when no document record names it (any
//! state: deactivated ones included) **and** it was last stored more than [`SWEEP_GRACE`] ago
//! by its modification time. Such files are left by a crash between storing a content and
//! committing its record, or by a link that changed in between. The grace is what makes it
//! safe beside uploads: every stored content gets the clock's time as its mtime when it is
//! stored *or reused* by an upload of the same bytes ([`Incoming::finish`]), and the sweep's
//! check-and-remove of one file and that placement take the same lock, so a content an upload
//! is about to name is either absent (the upload stores it again) or fresh (kept). Only names
//! that are a SHA-256 are ever considered; `.incoming/` is never touched (it is emptied at start).
//! Nothing else names files here: signed consent PDFs are document records, the clinic's logo
//! and accounting exports are rows of the store, and backups keep their own copies.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::documents::{Document, MediaType, SNIFF_BYTES, StoredContent};
use prometheus_client::metrics::counter::Counter;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::store::{ChangeSet, RecordTable, Store};

/// How long a content no record names is kept after it was last stored: far longer than any
/// upload takes between storing its content and committing its record, so a sweep never races
/// one; short enough that a crash's leftovers go the next day.
pub const SWEEP_GRACE: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

/// Most swept hashes one audit entry lists (the count and bytes are always whole).
const AUDIT_HASHES: usize = 1_000;

/// Where document contents live, and the largest one accepted.
#[derive(Clone)]
pub struct DocumentFiles {
    dir: PathBuf,
    max_bytes: u64,
    clock: Arc<dyn Clock>,
    /// Held while an upload places (or reuses) a content and while the sweep checks and
    /// removes one: see the module doc.
    placing: Arc<Mutex<()>>,
    metrics: SweepMetrics,
}

impl std::fmt::Debug for DocumentFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentFiles").field("dir", &self.dir).field("max_bytes", &self.max_bytes).finish()
    }
}

/// What sweeps removed since the start (Prometheus counters).
#[derive(Clone, Default)]
pub struct SweepMetrics {
    /// Content files removed.
    pub files: Counter,
    /// Their bytes.
    pub bytes: Counter,
}

impl SweepMetrics {
    /// Adds them to the application's registry (`ops`).
    pub fn register(&self, r: &mut prometheus_client::registry::Registry) {
        r.register(
            "clowder_documents_swept_files",
            "Document content files no record named, removed by the sweep",
            self.files.clone(),
        );
        r.register("clowder_documents_swept_bytes", "Bytes of the content files the sweep removed", self.bytes.clone());
    }
}

/// A content the sweep removed (or, in a dry run, would remove).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweptContent {
    /// Its name.
    pub sha256: String,
    /// Its length, bytes.
    pub size: u64,
    /// When it was last stored (its mtime).
    pub stored_at: jiff::Timestamp,
}

/// What a sweep found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Contents no record names, older than the grace: removed (in a dry run, not yet).
    pub removed: Vec<SweptContent>,
    /// Their bytes.
    pub bytes: u64,
    /// Contents a record names: kept.
    pub named: usize,
    /// Contents no record names yet, stored within the grace: kept.
    pub fresh: usize,
    /// Contents that could not be checked or removed, each with why (logged too; the next
    /// sweep tries again).
    pub failed: Vec<String>,
}

impl SweepReport {
    /// The audit entry of a sweep that removed something (`document.content_swept`).
    pub fn audit(&self, caller: &Caller) -> AuditDraft {
        let hashes: Vec<&str> = self.removed.iter().take(AUDIT_HASHES).map(|c| c.sha256.as_str()).collect();
        AuditDraft::new(caller, "document.content_swept").detail(serde_json::json!({
            "files": self.removed.len(),
            "bytes": self.bytes,
            "sha256": hashes,
            "failed": self.failed.len(),
        }))
    }
}

/// The folder under the data directory holding document contents (backups copy it).
pub const DIR: &str = "documents";
const INCOMING: &str = ".incoming";

/// True for a lowercase hex SHA-256 (64 characters): the only names ever joined to a path.
pub fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn io(doing: &str, path: &Path, e: std::io::Error) -> Error {
    Error::Internal(format!("documents: could not {doing} {}: {e}", path.display()))
}

impl DocumentFiles {
    /// The store under `data_dir`; temporary files a crash left behind are removed. `clock`
    /// stamps each content's mtime when it is stored or reused (the sweep's grace reads it).
    pub fn new(data_dir: &Path, max_bytes: u64, clock: Arc<dyn Clock>) -> DocumentFiles {
        let dir = data_dir.join(DIR);
        let _ = std::fs::remove_dir_all(dir.join(INCOMING));
        DocumentFiles { dir, max_bytes, clock, placing: Arc::default(), metrics: SweepMetrics::default() }
    }

    /// The sweep's counters, for the application's registry.
    pub fn metrics(&self) -> &SweepMetrics {
        &self.metrics
    }

    /// The largest content accepted, bytes.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Where the content with this hash is (or would be).
    pub fn path_of(&self, sha256: &str) -> Result<PathBuf> {
        path_in(&self.dir, sha256).ok_or_else(|| Error::Internal(format!("documents: {sha256:?} is not a SHA-256")))
    }

    /// Starts receiving a new content.
    pub async fn begin(&self) -> Result<Incoming> {
        let dir = self.dir.join(INCOMING);
        tokio::fs::create_dir_all(&dir).await.map_err(|e| io("create", &dir, e))?;
        // Unique within this process; `.incoming/` is emptied at every start.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let path = dir.join(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed).to_string());
        let file = tokio::fs::File::create(&path).await.map_err(|e| io("create", &path, e))?;
        Ok(Incoming {
            files: self.clone(),
            file: Some(file),
            path,
            hasher: Sha256::new(),
            size: 0,
            head: Vec::with_capacity(SNIFF_BYTES),
            media_type: None,
        })
    }

    /// Opens a stored content for reading, checking its length against the record's.
    pub async fn open(&self, sha256: &str, size: u64) -> Result<tokio::fs::File> {
        let path = self.path_of(sha256)?;
        let file = tokio::fs::File::open(&path).await.map_err(|e| io("open", &path, e))?;
        let len = file.metadata().await.map_err(|e| io("read the length of", &path, e))?.len();
        if len != size {
            return Err(Error::Internal(format!(
                "documents: {} has {len} bytes, its record says {size}",
                path.display()
            )));
        }
        Ok(file)
    }

    /// Reads a stored content whole and checks its hash (backup verification, small files).
    pub async fn verify(&self, sha256: &str) -> Result<u64> {
        let path = self.path_of(sha256)?;
        let mut file = tokio::fs::File::open(&path).await.map_err(|e| io("open", &path, e))?;
        let (mut hasher, mut buf, mut size) = (Sha256::new(), vec![0u8; 64 * 1024], 0u64);
        loop {
            let n = file.read(&mut buf).await.map_err(|e| io("read", &path, e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            size += n as u64;
        }
        if hex(&hasher.finalize()) != sha256 {
            return Err(Error::Internal(format!("documents: {} does not hash to its name", path.display())));
        }
        Ok(size)
    }

    /// Every stored content's hash, sorted.
    pub fn list(&self) -> Result<Vec<String>> {
        list_in(&self.dir).map_err(|e| io("list", &self.dir, e))
    }

    /// Writes a content given whole (a consent form's PDF, a restore), like an upload.
    pub async fn put(&self, bytes: &[u8]) -> Result<StoredContent> {
        let mut incoming = self.begin().await?;
        incoming.write(bytes).await?;
        incoming.finish().await
    }

    /// Puts the finished temporary file `tmp` at `target` stamped with the clock's time, or,
    /// when the same bytes are already there, stamps that file and drops `tmp`. Under the
    /// lock the sweep takes per file, so the sweep never removes a content between this
    /// finding it and the upload's record naming it. True when the file is new. Blocking.
    fn place(&self, tmp: &Path, target: &Path) -> std::io::Result<bool> {
        let now = std::time::SystemTime::from(self.clock.now());
        let _placing = self.placing.lock().unwrap_or_else(PoisonError::into_inner);
        match std::fs::File::open(target) {
            Ok(existing) => {
                existing.set_modified(now)?;
                let _ = std::fs::remove_file(tmp);
                Ok(false)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::File::open(tmp)?.set_modified(now)?;
                if let Some(shard) = target.parent() {
                    std::fs::create_dir_all(shard)?;
                }
                std::fs::rename(tmp, target)?;
                Ok(true)
            }
            Err(e) => Err(e),
        }
    }

    /// Removes the contents no document record names that were last stored more than
    /// [`SWEEP_GRACE`] ago (see the module doc); with `dry_run`, only says which. The records
    /// are read from one snapshot taken before the files are listed. Counted in the metrics
    /// and logged; the caller records the audit entry ([`SweepReport::audit`]).
    pub async fn sweep_unnamed(&self, store: &Store, dry_run: bool) -> Result<SweepReport> {
        let named = named_contents(store)?;
        let files = self.clone();
        let report = tokio::task::spawn_blocking(move || files.sweep(&named, dry_run))
            .await
            .map_err(|e| Error::Internal(format!("documents: the sweep stopped: {e}")))??;
        if !dry_run {
            self.metrics.files.inc_by(report.removed.len() as u64);
            self.metrics.bytes.inc_by(report.bytes);
        }
        for why in &report.failed {
            tracing::warn!(why, "documents: the sweep could not check or remove a content");
        }
        tracing::info!(
            dry_run,
            removed = report.removed.len(),
            bytes = report.bytes,
            named = report.named,
            fresh = report.fresh,
            failed = report.failed.len(),
            "document contents no record names swept"
        );
        Ok(report)
    }

    /// The sweep over the files, given the hashes the records name. Blocking.
    fn sweep(&self, named: &HashSet<String>, dry_run: bool) -> Result<SweepReport> {
        let now = self.clock.now();
        let mut report = SweepReport::default();
        for sha in self.list()? {
            if named.contains(&sha) {
                report.named += 1;
                continue;
            }
            let path = self.path_of(&sha)?;
            let _placing = self.placing.lock().unwrap_or_else(PoisonError::into_inner);
            let meta = match std::fs::metadata(&path) {
                Ok(m) => m,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    report.failed.push(format!("{}: {e}", path.display()));
                    continue;
                }
            };
            let stored_at = match meta.modified().map(jiff::Timestamp::try_from) {
                Ok(Ok(t)) => t,
                _ => {
                    report.failed.push(format!("{}: its modification time is unreadable", path.display()));
                    continue;
                }
            };
            if now.duration_since(stored_at) < SWEEP_GRACE {
                report.fresh += 1;
                continue;
            }
            if !dry_run && let Err(e) = std::fs::remove_file(&path) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    report.failed.push(format!("{}: {e}", path.display()));
                }
                continue;
            }
            report.bytes += meta.len();
            report.removed.push(SweptContent { sha256: sha, size: meta.len(), stored_at });
        }
        Ok(report)
    }
}

/// The content hashes the document records name, every one of them (deactivated too), from
/// one snapshot of the store.
pub fn named_contents(store: &Store) -> Result<HashSet<String>> {
    let mut named = HashSet::new();
    store.read()?.scan::<Document>(RecordTable::Documents, None, |d| {
        named.insert(d.sha256);
        std::ops::ControlFlow::Continue(())
    })?;
    Ok(named)
}

/// The sweep as a part of the daily clean-up job: what it removed is audited
/// (`document.content_swept`) with the job's success.
pub struct ContentSweep {
    /// Where the records are read.
    pub store: Arc<Store>,
    /// The contents swept.
    pub files: DocumentFiles,
}

impl crate::jobs::cleanup::CleanupTask for ContentSweep {
    fn run<'a>(&'a self, set: &'a mut ChangeSet, caller: &'a Caller) -> crate::jobs::cleanup::TaskFuture<'a> {
        Box::pin(async move {
            let report = self.files.sweep_unnamed(&self.store, false).await?;
            if !report.removed.is_empty() || !report.failed.is_empty() {
                set.audit(report.audit(caller));
            }
            Ok(())
        })
    }
}

/// The hashes of the contents stored under `dir` (a data directory's `documents/`), sorted;
/// none when it does not exist. Backups read it without opening a [`DocumentFiles`].
pub fn list_in(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut all = Vec::new();
    let shards = match std::fs::read_dir(dir) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(all),
        Err(e) => return Err(e),
    };
    for shard in shards {
        let shard = shard?.path();
        if !shard.is_dir() || shard.file_name().is_some_and(|n| n == INCOMING) {
            continue;
        }
        for f in std::fs::read_dir(&shard)? {
            if let Some(n) = f?.file_name().to_str().filter(|n| is_sha256(n)) {
                all.push(n.to_owned());
            }
        }
    }
    all.sort();
    Ok(all)
}

/// Where the content `sha256` goes under `dir` (a data directory's `documents/`).
pub fn path_in(dir: &Path, sha256: &str) -> Option<PathBuf> {
    is_sha256(sha256).then(|| dir.join(&sha256[..2]).join(sha256))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A content being received. Dropped before [`Incoming::finish`], its temporary file is removed.
pub struct Incoming {
    files: DocumentFiles,
    file: Option<tokio::fs::File>,
    path: PathBuf,
    hasher: Sha256,
    size: u64,
    head: Vec<u8>,
    media_type: Option<MediaType>,
}

impl Incoming {
    /// Appends a chunk: refused (and nothing kept) past the size limit, or once the first
    /// [`SNIFF_BYTES`] show a type that is not accepted.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<()> {
        self.size += chunk.len() as u64;
        if self.size > self.files.max_bytes {
            return Err(Error::DocumentTooLarge { max: self.files.max_bytes });
        }
        if self.media_type.is_none() && self.head.len() < SNIFF_BYTES {
            let take = chunk.len().min(SNIFF_BYTES - self.head.len());
            self.head.extend_from_slice(&chunk[..take]);
            if self.head.len() == SNIFF_BYTES {
                self.media_type = Some(MediaType::detect(&self.head).map_err(Error::DocumentTypeRefused)?);
            }
        }
        self.hasher.update(chunk);
        let file = self.file.as_mut().ok_or_else(|| Error::Internal("documents: write after finish".into()))?;
        file.write_all(chunk).await.map_err(|e| io("write", &self.path, e))
    }

    /// Makes the content durable under its hash and says what it is.
    pub async fn finish(mut self) -> Result<StoredContent> {
        let media_type = match self.media_type {
            Some(t) => t,
            None => MediaType::detect(&self.head).map_err(Error::DocumentTypeRefused)?,
        };
        let mut file = self.file.take().ok_or_else(|| Error::Internal("documents: finished twice".into()))?;
        file.flush().await.map_err(|e| io("flush", &self.path, e))?;
        file.sync_all().await.map_err(|e| io("fsync", &self.path, e))?;
        drop(file);
        let sha256 = hex(&std::mem::take(&mut self.hasher).finalize());
        let target = self.files.path_of(&sha256)?;
        let shard = target.parent().unwrap_or(&self.files.dir).to_path_buf();
        // Already stored (the same bytes: its name is their hash): that file is stamped fresh
        // for the sweep and the temporary one goes. Else the temporary one is renamed in.
        let (files, tmp, into) = (self.files.clone(), self.path.clone(), target.clone());
        let new = tokio::task::spawn_blocking(move || files.place(&tmp, &into))
            .await
            .map_err(|e| Error::Internal(format!("documents: storing stopped: {e}")))?
            .map_err(|e| io("store", &target, e))?;
        if new {
            for dir in [&shard, &self.files.dir] {
                let d = tokio::fs::File::open(dir).await.map_err(|e| io("open", dir, e))?;
                d.sync_all().await.map_err(|e| io("fsync", dir, e))?;
            }
        }
        self.path = PathBuf::new();
        Ok(StoredContent { sha256, size: self.size, media_type })
    }
}

impl Drop for Incoming {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_same_bytes_are_one_file_and_a_refused_upload_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let files = DocumentFiles::new(dir.path(), 1000, Arc::new(crate::SystemClock));
        let a = files.put(b"%PDF-1.4 one").await.unwrap();
        let b = files.put(b"%PDF-1.4 one").await.unwrap();
        assert_eq!(a, b);
        assert_eq!(a.media_type, MediaType::Pdf);
        assert_eq!(files.list().unwrap(), std::slice::from_ref(&a.sha256));
        assert_eq!(files.verify(&a.sha256).await.unwrap(), 12);

        let mut big = files.begin().await.unwrap();
        big.write(&[b'a'; 600]).await.unwrap();
        assert!(matches!(big.write(&[b'a'; 600]).await, Err(Error::DocumentTooLarge { max: 1000 })));
        drop(big);
        let mut exe = files.begin().await.unwrap();
        let mut elf = b"\x7fELF".to_vec();
        elf.resize(SNIFF_BYTES, 0);
        assert!(matches!(exe.write(&elf).await, Err(Error::DocumentTypeRefused(_))));
        drop(exe);
        let incoming = std::fs::read_dir(dir.path().join(DIR).join(INCOMING)).unwrap().count();
        assert_eq!(incoming, 0, "refused uploads leave no temporary file");
        assert_eq!(files.list().unwrap().len(), 1);
        assert!(files.path_of("../../etc/passwd").is_err());
    }

    #[tokio::test]
    async fn the_sweep_removes_only_unnamed_contents_past_the_grace_and_a_reused_one_is_fresh_again() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(crate::ManualClock::new("2026-03-02T09:00:00Z".parse().unwrap()));
        let files = DocumentFiles::new(dir.path(), 1000, clock.clone());
        let named = files.put(b"%PDF-1.4 named").await.unwrap().sha256;
        let orphan = files.put(b"%PDF-1.4 orphan").await.unwrap().sha256;
        let reused = files.put(b"%PDF-1.4 reused").await.unwrap().sha256;
        // A file of another name in a shard, and a temporary upload: never the sweep's.
        std::fs::write(dir.path().join(DIR).join(&orphan[..2]).join("notes.txt"), b"x").unwrap();
        let mut pending = files.begin().await.unwrap();
        pending.write(b"%PDF-1.4 pending").await.unwrap();

        let names: HashSet<String> = HashSet::from([named.clone()]);
        clock.advance(SWEEP_GRACE - jiff::SignedDuration::from_secs(1));
        let early = files.sweep(&names, false).unwrap();
        assert_eq!((early.removed.len(), early.named, early.fresh), (0, 1, 2), "within the grace, nothing goes");

        clock.advance(jiff::SignedDuration::from_secs(2));
        // The same bytes uploaded again: its record will name it, so it is fresh again.
        assert_eq!(files.put(b"%PDF-1.4 reused").await.unwrap().sha256, reused);
        let dry = files.sweep(&names, true).unwrap();
        assert_eq!(dry.removed.iter().map(|c| c.sha256.as_str()).collect::<Vec<_>>(), [orphan.as_str()]);
        assert!(files.path_of(&orphan).unwrap().is_file(), "a dry run removes nothing");

        let swept = files.sweep(&names, false).unwrap();
        assert_eq!(swept.removed.len(), 1);
        assert_eq!(swept.removed[0].sha256, orphan);
        assert_eq!(swept.removed[0].stored_at, "2026-03-02T09:00:00Z".parse().unwrap());
        assert_eq!((swept.bytes, swept.named, swept.fresh, swept.failed.len()), (15, 1, 1, 0));
        assert!(!files.path_of(&orphan).unwrap().exists());
        assert!(files.path_of(&named).unwrap().is_file() && files.path_of(&reused).unwrap().is_file());
        assert!(dir.path().join(DIR).join(&orphan[..2]).join("notes.txt").is_file());
        assert_eq!(std::fs::read_dir(dir.path().join(DIR).join(INCOMING)).unwrap().count(), 1);
        // Once swept, the same bytes store again.
        drop(pending);
        assert_eq!(files.put(b"%PDF-1.4 orphan").await.unwrap().sha256, orphan);
        assert!(files.path_of(&orphan).unwrap().is_file());
    }
}
