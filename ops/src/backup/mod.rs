//! Backups: taking them while the clinic works, checking every one, keeping them off the
//! server, and restoring them. The design and the operator's view are in docs/backups.md.
//!
//! A backup is the store's backup stream (`clowder_actors::store::backup`: a consistent
//! snapshot, whole or what changed since the previous backup) compressed with zstd and
//! encrypted with age to the clinic's recipient, stored as `<id>.clowder-backup` beside a
//! plain JSON `<id>.manifest.json` in a [`destination::Destination`] (a local directory or an
//! S3-compatible bucket). Full backups are taken daily (and whenever the chain cannot go on),
//! incremental ones every few minutes.
//!
//! **Verified every time, without the private key.** The server holds only the recipient
//! (public key), so it cannot decrypt what it stored. Instead it keeps a *replica* under
//! `<data dir>/backups/replica/`: the store a restore of the backups made so far would produce,
//! built by applying each backup's stream with the same code `clowder restore` uses. Each
//! backup is applied to the replica before it is stored; the replica's rows per table and the
//! stream's hash must match the manifest, and the whole hash chains of the replica are checked
//! after each full backup and at least hourly. After the upload, the stored object is read back
//! and its SHA-256 compared with the manifest's. A backup that fails any step is not reported
//! as taken: the failure is counted, shown on `/health/detailed`, and raised as a
//! `backup_failed` event to administrators' screens; the next run starts a new chain if the
//! replica can no longer be trusted. `clowder backup verify` does a full restore with the
//! identity (private key), off the server.

pub mod crypt;
pub mod destination;
pub mod manifest;
pub mod restore;
pub mod retention;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clowder_actors::Clock;
use clowder_actors::store::backup::{BackupError, ExportKind, Marks, Restorer};
use clowder_actors::store::{ChangeSet, Store};
use clowder_schemas::events::{Author, DomainEvent};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use serde::{Deserialize, Serialize};

use crypt::{CryptError, Recipient};
use destination::{Destination, DestinationConfig, DestinationError};
use manifest::{BackupKind, MANIFEST_FORMAT, MANIFEST_SUFFIX, Manifest, Position, Verification, backup_id};
use retention::Retention;

/// How often the replica's whole hash chains are re-checked, at least.
const CHAIN_CHECK_EVERY: jiff::SignedDuration = jiff::SignedDuration::from_hours(1);

/// How backups are taken and kept.
#[derive(Debug, Clone)]
pub struct BackupSettings {
    pub destination: DestinationConfig,
    /// The age recipient (public key) backups are encrypted to.
    pub recipient: Recipient,
    /// Time between incremental backups (5 minutes by default: the recovery point).
    pub incremental_every: Duration,
    /// The local time (clinic zone) of the daily full backup.
    pub full_at: jiff::civil::Time,
    pub retention: Retention,
}

/// Why a backup failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupFailure {
    #[error("{}", destination_failure(destination, source))]
    Destination {
        destination: String,
        #[source]
        source: DestinationError,
    },
    #[error(transparent)]
    Crypt(#[from] CryptError),
    #[error(transparent)]
    Store(#[from] BackupError),
    #[error("the backup did not verify: {0}")]
    Verification(String),
    #[error("a backup is already running")]
    Running,
    #[error(
        "the clock is behind the last backup ({last}); refusing to take a backup that would sort before it. Check the server's time"
    )]
    ClockBehind { last: jiff::Timestamp },
    #[error("backup working files: {0}")]
    Io(#[from] std::io::Error),
}

/// Labels of the per-kind backup metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    /// `full`, `incremental` or `verify`.
    pub kind: String,
}

/// The backup figures of `/metrics`.
#[derive(Clone)]
pub struct BackupMetrics {
    pub enabled: Gauge,
    pub last_success: Gauge,
    pub last_verified: Gauge,
    pub failures: Family<KindLabel, Counter>,
    pub bytes: Family<KindLabel, Counter>,
    pub duration: Family<KindLabel, Histogram, fn() -> Histogram>,
}

fn duration_histogram() -> Histogram {
    // 10 ms … ~3 h
    Histogram::new(exponential_buckets(0.01, 2.0, 20))
}

impl Default for BackupMetrics {
    fn default() -> Self {
        let m = BackupMetrics {
            enabled: Gauge::default(),
            last_success: Gauge::default(),
            last_verified: Gauge::default(),
            failures: Family::default(),
            bytes: Family::default(),
            duration: Family::new_with_constructor(duration_histogram),
        };
        // Every kind is exposed from the start (at 0), so alert rules and rates see a series
        // before the first failure.
        for kind in ["full", "incremental", "verify"] {
            let k = BackupMetrics::kind(kind);
            drop(m.failures.get_or_create(&k));
            drop(m.bytes.get_or_create(&k));
            drop(m.duration.get_or_create(&k));
        }
        m
    }
}

impl BackupMetrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register("clowder_backup_enabled", "1 when a backup destination is configured", self.enabled.clone());
        registry.register(
            "clowder_backup_last_success_timestamp_seconds",
            "Unix time of the last backup taken, verified and stored (0: none since start)",
            self.last_success.clone(),
        );
        registry.register(
            "clowder_backup_last_verified_timestamp_seconds",
            "Unix time of the last whole hash-chain check of the backups' replica",
            self.last_verified.clone(),
        );
        registry.register(
            "clowder_backup_failures",
            "Backups that failed, by kind (a failed verification also counts under kind=verify)",
            self.failures.clone(),
        );
        registry.register("clowder_backup_bytes", "Bytes of backup objects stored, by kind", self.bytes.clone());
        registry.register(
            "clowder_backup_duration_seconds",
            "Time to take (or verify) one backup, by kind",
            self.duration.clone(),
        );
    }

    fn kind(kind: &str) -> KindLabel {
        KindLabel { kind: kind.to_owned() }
    }
}

/// What the server remembers between backups (`<data dir>/backups/state.json`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct State {
    /// The newest backup stored: the one the next incremental continues.
    last: Option<Manifest>,
    last_full_at: Option<jiff::Timestamp>,
    /// When the replica's whole hash chains were last checked.
    chain_checked_at: Option<jiff::Timestamp>,
}

/// The last failure.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LastFailure {
    pub at: jiff::Timestamp,
    pub kind: String,
    pub reason: String,
}

/// What `/health/detailed` and `GET /api/backups` show about backups.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BackupStatus {
    /// `ok`, `degraded` (the last run failed, or the last success is older than twice the
    /// interval) or `disabled` (no destination configured).
    pub status: String,
    pub destination: Option<String>,
    pub recipient: Option<String>,
    pub incremental_every_seconds: Option<u64>,
    pub last_success_at: Option<jiff::Timestamp>,
    pub last_success_age_seconds: Option<i64>,
    /// The newest backup stored.
    pub last_backup: Option<Manifest>,
    pub last_full_at: Option<jiff::Timestamp>,
    pub last_verified_at: Option<jiff::Timestamp>,
    pub last_failure: Option<LastFailure>,
    pub running: bool,
}

impl BackupStatus {
    pub fn disabled() -> Self {
        BackupStatus {
            status: "disabled".into(),
            destination: None,
            recipient: None,
            incremental_every_seconds: None,
            last_success_at: None,
            last_success_age_seconds: None,
            last_backup: None,
            last_full_at: None,
            last_verified_at: None,
            last_failure: None,
            running: false,
        }
    }
}

struct Live {
    state: State,
    last_success: Option<jiff::Timestamp>,
    /// When the last successful run started: the schedule counts its interval from there, so
    /// the time between two backups' snapshots is the interval, not the interval plus a run.
    last_success_started: Option<jiff::Timestamp>,
    last_failure: Option<LastFailure>,
    /// The last attempt failed (not decided by timestamps: the clock may have gone back).
    failing: bool,
    running: bool,
    /// The kind the running (or last) attempt decided on, for the failure's label.
    attempting: BackupKind,
    /// Manifests read from the destination, by id (only new ones are fetched on each run).
    known: BTreeMap<String, Manifest>,
}

/// The backup service of a running server (or of `clowder backup run` on a stopped store).
pub struct Backups {
    store: Arc<Store>,
    clock: Arc<dyn Clock>,
    zone: jiff::tz::TimeZone,
    settings: BackupSettings,
    destination: Destination,
    work: PathBuf,
    /// `<data dir>/documents`: document contents, backed up as objects of their own.
    documents: PathBuf,
    metrics: BackupMetrics,
    live: Mutex<Live>,
    one_at_a_time: tokio::sync::Mutex<()>,
    schedule: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// Removes the working files of one run, whatever happens.
struct TempFiles(Vec<PathBuf>);

impl Drop for TempFiles {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

impl Backups {
    /// Opens the destination and the working directory (`<data dir>/backups`).
    pub fn new(
        store: Arc<Store>,
        clock: Arc<dyn Clock>,
        zone: jiff::tz::TimeZone,
        settings: BackupSettings,
        data_dir: &Path,
        metrics: BackupMetrics,
    ) -> Result<Arc<Backups>, BackupFailure> {
        let destination = Destination::open(&settings.destination).map_err(|source| BackupFailure::Destination {
            destination: describe_config(&settings.destination),
            source,
        })?;
        let work = data_dir.join("backups");
        std::fs::create_dir_all(work.join("tmp"))?;
        // Working files of a run that did not finish (a crash, a kill) are of no use.
        for e in std::fs::read_dir(work.join("tmp"))?.flatten() {
            let _ = std::fs::remove_file(e.path());
        }
        let state: State = match std::fs::read(work.join("state.json")) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "the backup state file is unreadable; the next backup is a full one");
                State::default()
            }),
            Err(_) => State::default(),
        };
        metrics.enabled.set(1);
        let last_success = state.last.as_ref().map(|m| m.created_at);
        if let Some(at) = last_success {
            metrics.last_success.set(at.as_second());
        }
        if let Some(at) = state.chain_checked_at {
            metrics.last_verified.set(at.as_second());
        }
        Ok(Arc::new(Backups {
            store,
            clock,
            zone,
            settings,
            destination,
            work,
            documents: data_dir.join(clowder_actors::clinical::document_files::DIR),
            metrics,
            live: Mutex::new(Live {
                state,
                last_success,
                last_success_started: last_success,
                last_failure: None,
                failing: false,
                running: false,
                attempting: BackupKind::Incremental,
                known: BTreeMap::new(),
            }),
            one_at_a_time: tokio::sync::Mutex::new(()),
            schedule: Mutex::new(None),
        }))
    }

    pub fn destination(&self) -> &Destination {
        &self.destination
    }

    /// A destination error, naming the destination.
    fn dest(&self, source: DestinationError) -> BackupFailure {
        BackupFailure::Destination { destination: self.destination.describe(), source }
    }

    fn live(&self) -> std::sync::MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The state shown by `/health/detailed` and `GET /api/backups`.
    pub fn status(&self) -> BackupStatus {
        let now = self.clock.now();
        let live = self.live();
        let age = live.last_success.map(|t| now.duration_since(t).as_secs());
        let late = age.is_none_or(|a| a > 2 * self.settings.incremental_every.as_secs() as i64);
        let failed_last = live.failing;
        BackupStatus {
            status: if late || failed_last { "degraded" } else { "ok" }.into(),
            destination: Some(self.destination.describe()),
            recipient: Some(self.settings.recipient.as_str().to_owned()),
            incremental_every_seconds: Some(self.settings.incremental_every.as_secs()),
            last_success_at: live.last_success,
            last_success_age_seconds: age,
            last_backup: live.state.last.clone(),
            last_full_at: live.state.last_full_at,
            last_verified_at: live.state.chain_checked_at,
            last_failure: live.last_failure.clone(),
            running: live.running,
        }
    }

    /// Records a backup someone asked for (`POST /api/backups`): the `backup_taken` event and
    /// the `backup.run` audit entry in one change set carrying the caller, and so the request's
    /// `Idempotency-Key` claim (a retry replays the answer instead of backing up again). When
    /// nothing was taken (nothing changed) only the audit entry is written.
    pub async fn record_run(
        &self,
        caller: &clowder_schemas::audit::Caller,
        made: Option<&Manifest>,
    ) -> Result<(), clowder_actors::store::CommitError> {
        let mut set = ChangeSet::new();
        let mut draft = clowder_schemas::audit::AuditDraft::new(caller, "backup.run");
        if let Some(m) = made {
            let author = caller.actor.unwrap_or(Author::System);
            set.event(author, DomainEvent::BackupTaken { id: m.id.clone(), kind: m.kind.as_str().into() });
            draft = draft.record("backup", &m.id);
        }
        set.audit(draft);
        self.store.commit(set).await.map(|_| ())
    }

    /// Every backup in the destination, oldest first (manifests fetched once and cached).
    pub async fn list(&self) -> Result<Vec<Manifest>, BackupFailure> {
        let ids: std::collections::BTreeSet<String> =
            manifest::ids_in(&self.destination).await.map_err(|e| self.dest(e))?.into_iter().collect();
        let missing: Vec<String> = {
            let live = self.live();
            ids.iter().filter(|id| !live.known.contains_key(*id)).cloned().collect()
        };
        let mut fetched = Vec::new();
        for id in missing {
            if let Some(m) = manifest::read(&self.destination, &id).await.map_err(|e| self.dest(e))? {
                fetched.push(m);
            }
        }
        let mut live = self.live();
        for m in fetched {
            live.known.insert(m.id.clone(), m);
        }
        live.known.retain(|id, _| ids.contains(id));
        Ok(live.known.values().cloned().collect())
    }

    /// Takes a backup now: full if asked or needed, else incremental. `Ok(None)` when nothing
    /// changed since the last backup (it is still current). Refuses while another runs.
    pub async fn run(self: &Arc<Self>, want: Option<BackupKind>) -> Result<Option<Manifest>, BackupFailure> {
        let Ok(_one) = self.one_at_a_time.try_lock() else {
            return Err(BackupFailure::Running);
        };
        self.live().running = true;
        let started = Instant::now();
        let started_at = self.clock.now();
        let result = self.take(want, started).await;
        let now = self.clock.now();
        let failed = {
            let mut live = self.live();
            live.running = false;
            match &result {
                Ok(made) => {
                    live.failing = false;
                    live.last_success = Some(now);
                    live.last_success_started = Some(started_at);
                    self.metrics.last_success.set(now.as_second());
                    if let Some(m) = made {
                        let label = BackupMetrics::kind(m.kind.as_str());
                        self.metrics.bytes.get_or_create(&label).inc_by(m.object_bytes);
                        self.metrics.duration.get_or_create(&label).observe(started.elapsed().as_secs_f64());
                        tracing::info!(backup = %m.id, kind = m.kind.as_str(), bytes = m.object_bytes, ms = m.duration_ms, "backup stored and verified");
                    }
                    None
                }
                Err(BackupFailure::Running) => None,
                Err(e) => {
                    live.failing = true;
                    let kind = live.attempting.as_str().to_owned();
                    self.metrics.failures.get_or_create(&BackupMetrics::kind(&kind)).inc();
                    if matches!(e, BackupFailure::Verification(_)) {
                        self.metrics.failures.get_or_create(&BackupMetrics::kind("verify")).inc();
                    }
                    live.last_failure = Some(LastFailure { at: now, kind: kind.clone(), reason: e.to_string() });
                    Some((kind, e.to_string()))
                }
            }
        };
        if let Some((kind, reason)) = failed {
            tracing::error!(error = %reason, kind = %kind, "backup failed");
            let mut set = ChangeSet::new();
            set.event(Author::System, DomainEvent::BackupFailed { kind, reason });
            if let Err(e) = self.store.commit(set).await {
                tracing::error!(error = %e, "could not record the backup failure event");
            }
        }
        result
    }

    async fn take(
        self: &Arc<Self>,
        want: Option<BackupKind>,
        started: Instant,
    ) -> Result<Option<Manifest>, BackupFailure> {
        let now = self.clock.now();
        let state = self.live().state.clone();
        if let Some(last) = &state.last
            && now <= last.created_at
        {
            return Err(BackupFailure::ClockBehind { last: last.created_at });
        }
        let replica = self.replica_path();
        let mut kind = match (&want, &state.last) {
            (Some(BackupKind::Full), _) | (_, None) => BackupKind::Full,
            _ if self.full_due(&state, now) => BackupKind::Full,
            // A new key starts a new chain: a restore never needs two identities.
            (_, Some(last)) if last.recipient != self.settings.recipient.as_str() => BackupKind::Full,
            _ => BackupKind::Incremental,
        };
        // The replica must stand exactly where the chain ends, or increments cannot be checked.
        if kind == BackupKind::Incremental {
            let at = replica_marks(&replica);
            let chain_end = state.last.as_ref().map(|m| Marks::from(&m.to));
            if at.is_none() || at != chain_end {
                tracing::info!("the backup replica does not match the last backup; taking a full backup");
                kind = BackupKind::Full;
            }
        }
        self.live().attempting = kind;
        let from = match kind {
            BackupKind::Full => None,
            BackupKind::Incremental => state.last.as_ref().map(|m| Marks::from(&m.to)),
        };
        if let (Some(from), BackupKind::Incremental) = (&from, kind)
            && self.store.backup_marks()? == *from
        {
            return Ok(None);
        }
        let id = backup_id(now, kind);
        let plain = self.work.join("tmp").join(format!("{id}.zst"));
        let sealed = self.work.join("tmp").join(format!("{id}.age"));
        let check = self.work.join("tmp").join(format!("{id}.check"));
        let _cleanup = TempFiles(vec![plain.clone(), sealed.clone(), check.clone()]);

        // 1. Export (one read transaction; writers go on) and compress, off the async workers.
        let export = {
            let store = self.store.clone();
            let plain = plain.clone();
            let kind_req = match &from {
                None => ExportKind::Full,
                Some(m) => ExportKind::Since(m.clone()),
            };
            in_background(move || -> Result<_, BackupFailure> {
                let mut enc = crypt::compressor(&plain)?;
                let report = store.export(&kind_req, &mut enc)?;
                let file = enc.finish()?;
                file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
                Ok(report)
            })
            .await?
        };
        let report = match export {
            Err(BackupFailure::Store(BackupError::NeedsFull(why))) => {
                tracing::info!(reason = %why, "an incremental backup is not possible; taking a full one");
                return Box::pin(self.take(Some(BackupKind::Full), started)).await;
            }
            other => other?,
        };

        // 2. Encrypt to the recipient.
        let (object_sha256, object_bytes) = {
            let (plain, sealed, r) = (plain.clone(), sealed.clone(), self.settings.recipient.clone());
            in_background(move || crypt::seal(&plain, &r, &sealed)).await??
        };

        // 3. Apply to the replica: what a restore would build must match what was taken.
        let check_chain = kind == BackupKind::Full
            || state.chain_checked_at.is_none_or(|t| now.duration_since(t) >= CHAIN_CHECK_EVERY);
        let verified = {
            let (this, plain) = (self.clone(), plain.clone());
            let (counts, sha) = (report.counts.clone(), report.sha256.clone());
            in_background(move || this.verify_into_replica(kind, &plain, &counts, &sha, check_chain)).await?
        };
        let detail = match verified {
            Ok(detail) => detail,
            Err(e) => {
                // The replica may be half-applied: the next backup rebuilds it from a full one.
                let _ = std::fs::remove_dir_all(self.work.join("replica"));
                return Err(e);
            }
        };

        // 4. Store the object, read it back, then the manifest (its presence means "complete").
        let mut manifest = Manifest {
            format: MANIFEST_FORMAT,
            id: id.clone(),
            kind,
            base: match kind {
                BackupKind::Full => id.clone(),
                BackupKind::Incremental => state.last.as_ref().map(|m| m.base.clone()).unwrap_or_default(),
            },
            previous: match kind {
                BackupKind::Full => None,
                BackupKind::Incremental => state.last.as_ref().map(|m| m.id.clone()),
            },
            clinic_id: report.header.clinic_id.clone(),
            created_at: now,
            clowder_version: env!("CARGO_PKG_VERSION").into(),
            layout: report.header.layout.clone(),
            from: from.as_ref().map(Position::from),
            to: Position::from(&report.header.to),
            counts: report.counts.clone(),
            payload_sha256: report.sha256.clone(),
            payload_bytes: report.bytes,
            object_sha256: object_sha256.clone(),
            object_bytes,
            compression: "zstd".into(),
            encryption: "age".into(),
            recipient: self.settings.recipient.as_str().to_owned(),
            duration_ms: 0,
            verification: None,
            documents: Vec::new(),
        };
        // Document contents first: every file a record of this snapshot names was durable
        // before its record committed, so the files listed now include all of them.
        manifest.documents = self.store_documents().await?;
        self.destination.put_file(&manifest.object_name(), &sealed).await.map_err(|e| self.dest(e))?;
        self.destination.get_to_file(&manifest.object_name(), &check).await.map_err(|e| self.dest(e))?;
        let (read_back, _) = crypt::sha256_file(&check)?;
        if read_back != object_sha256 {
            return Err(BackupFailure::Verification(format!(
                "the object read back from {} differs from what was stored (SHA-256 {read_back}, expected {object_sha256})",
                self.destination.describe()
            )));
        }
        manifest.duration_ms = started.elapsed().as_millis() as u64;
        manifest.verification = Some(Verification { verified_at: self.clock.now(), ok: true, detail });
        let json = serde_json::to_vec_pretty(&manifest).map_err(|e| BackupFailure::Io(std::io::Error::other(e)))?;
        self.destination.put_bytes(&manifest.manifest_name(), json).await.map_err(|e| self.dest(e))?;

        // 5. Remember it; the journal before it is no longer needed.
        {
            let mut live = self.live();
            live.state.last = Some(manifest.clone());
            if kind == BackupKind::Full {
                live.state.last_full_at = Some(now);
            }
            if check_chain {
                live.state.chain_checked_at = Some(now);
                self.metrics.last_verified.set(now.as_second());
            }
            live.known.insert(manifest.id.clone(), manifest.clone());
            self.save_state(&live.state)?;
        }
        if let Err(e) = self.store.prune_backup_journal(report.header.to.change).await {
            tracing::warn!(error = %e, "could not prune the backup journal; it will be next time");
        }
        self.apply_retention().await;
        Ok(Some(manifest))
    }

    /// Stores each document content the destination lacks (for this recipient) as its own
    /// object: checked against its name (SHA-256) while it is compressed, sealed, uploaded, read
    /// back and compared. Contents never change, so each is stored once and later backups
    /// name it again. Returns every content's hash. A content gone between the listing and its
    /// upload was swept (no record named it, `document_files`): it is left out, as if listed
    /// after.
    async fn store_documents(&self) -> Result<Vec<String>, BackupFailure> {
        let dir = self.documents.clone();
        let local = in_background(move || clowder_actors::clinical::document_files::list_in(&dir)).await??;
        if local.is_empty() {
            return Ok(local);
        }
        let recipient = self.settings.recipient.clone();
        let present: std::collections::HashSet<String> =
            self.destination.list().await.map_err(|e| self.dest(e))?.into_iter().map(|o| o.name).collect();
        let mut kept = Vec::with_capacity(local.len());
        for sha in local {
            let name = manifest::document_object(&sha, recipient.as_str());
            if present.contains(&name) {
                kept.push(sha);
                continue;
            }
            let tmp = self.work.join("tmp");
            let (plain, sealed, check) =
                (tmp.join(format!("{sha}.zst")), tmp.join(format!("{sha}.age")), tmp.join(format!("{sha}.check")));
            let _cleanup = TempFiles(vec![plain.clone(), sealed.clone(), check.clone()]);
            let source = clowder_actors::clinical::document_files::path_in(&self.documents, &sha)
                .ok_or_else(|| BackupFailure::Verification(format!("{sha} is not a document content name")))?;
            let (want, p, s, r) = (sha.clone(), plain.clone(), sealed.clone(), recipient.clone());
            let object_sha = in_background(move || -> Result<Option<String>, BackupFailure> {
                let mut file = match std::fs::File::open(&source) {
                    Ok(f) => f,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(e.into()),
                };
                let mut hashing = crypt::Hashing::new(crypt::compressor(&p)?);
                std::io::copy(&mut file, &mut hashing)?;
                let (enc, got, _) = hashing.finish();
                if got != want {
                    return Err(BackupFailure::Verification(format!(
                        "the document content {} does not hash to its name (SHA-256 {got})",
                        source.display()
                    )));
                }
                enc.finish()?.into_inner().map_err(|e| e.into_error())?.sync_all()?;
                Ok(Some(crypt::seal(&p, &r, &s)?.0))
            })
            .await??;
            let Some(object_sha) = object_sha else { continue };
            self.destination.put_file(&name, &sealed).await.map_err(|e| self.dest(e))?;
            self.destination.get_to_file(&name, &check).await.map_err(|e| self.dest(e))?;
            if crypt::sha256_file(&check)?.0 != object_sha {
                return Err(BackupFailure::Verification(format!(
                    "the document object {name} read back from {} differs from what was stored",
                    self.destination.describe()
                )));
            }
            kept.push(sha);
        }
        Ok(kept)
    }

    fn full_due(&self, state: &State, now: jiff::Timestamp) -> bool {
        let Some(last_full) = state.last_full_at else { return true };
        if now.duration_since(last_full) >= jiff::SignedDuration::from_hours(24) {
            return true;
        }
        // Today's full time in the clinic's zone, if it has passed since the last full one.
        let today = now.to_zoned(self.zone.clone()).date();
        match today.to_datetime(self.settings.full_at).to_zoned(self.zone.clone()) {
            Ok(at) => {
                let at = at.timestamp();
                now >= at && last_full < at
            }
            Err(_) => false,
        }
    }

    fn replica_path(&self) -> PathBuf {
        self.work.join("replica").join("clowder.redb")
    }

    /// Applies the stream in `plain` to the replica (a new one for a full backup) and checks
    /// it against what the export reported. Blocking.
    fn verify_into_replica(
        &self,
        kind: BackupKind,
        plain: &Path,
        counts: &BTreeMap<String, u64>,
        sha256: &str,
        check_chain: bool,
    ) -> Result<String, BackupFailure> {
        let started = Instant::now();
        let replica_dir = self.work.join("replica");
        let building = self.work.join("replica.new");
        let target = match kind {
            BackupKind::Full => {
                let _ = std::fs::remove_dir_all(&building);
                building.join("clowder.redb")
            }
            BackupKind::Incremental => self.replica_path(),
        };
        let mut restorer = match kind {
            BackupKind::Full => Restorer::create(&target)?,
            BackupKind::Incremental => Restorer::resume(&target)?,
        };
        let applied = restorer.apply(crypt::open_plain(plain)?)?;
        let path = restorer.finish()?;
        if applied.sha256 != sha256 {
            return Err(BackupFailure::Verification("the stream read back differs from the stream written".into()));
        }
        if &applied.counts != counts {
            let diff: Vec<String> = counts
                .iter()
                .filter(|(t, n)| applied.counts.get(*t) != Some(n))
                .map(|(t, n)| {
                    format!("{t}: {} restored, {n} in the store", applied.counts.get(t).copied().unwrap_or(0))
                })
                .collect();
            return Err(BackupFailure::Verification(format!("rows differ after restoring: {}", diff.join("; "))));
        }
        let mut detail = format!(
            "applied to the replica: {} rows in {} tables match the store, stream hash matches",
            counts.values().sum::<u64>(),
            counts.len()
        );
        if check_chain {
            let report =
                clowder_actors::store::verify_all(&path).map_err(|e| BackupFailure::Verification(e.to_string()))?;
            detail.push_str(&format!(
                "; whole hash chains intact ({} events, {} audit entries)",
                report.events, report.audit_entries
            ));
        }
        if kind == BackupKind::Full {
            let _ = std::fs::remove_dir_all(&replica_dir);
            std::fs::rename(&building, &replica_dir)?;
        }
        self.metrics.duration.get_or_create(&BackupMetrics::kind("verify")).observe(started.elapsed().as_secs_f64());
        detail.push_str("; object read back and its SHA-256 matches");
        Ok(detail)
    }

    fn save_state(&self, state: &State) -> Result<(), BackupFailure> {
        let tmp = self.work.join("state.json.tmp");
        let bytes = serde_json::to_vec_pretty(state).map_err(|e| BackupFailure::Io(std::io::Error::other(e)))?;
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, self.work.join("state.json"))?;
        Ok(())
    }

    /// Deletes what falls out of the retention policy (manifest first, so a half-deleted
    /// backup is never listed). Failures are logged; the next run tries again.
    async fn apply_retention(&self) {
        let all = match self.list().await {
            Ok(all) => all,
            Err(e) => {
                tracing::warn!(error = %e, "could not list backups to apply retention");
                return;
            }
        };
        let expired = retention::expired(&all, &self.settings.retention, self.clock.now(), &self.zone);
        for id in expired {
            let m = format!("{id}{MANIFEST_SUFFIX}");
            let o = format!("{id}{}", manifest::OBJECT_SUFFIX);
            match self.destination.delete(&m).await {
                Ok(()) => {
                    if let Err(e) = self.destination.delete(&o).await {
                        tracing::warn!(backup = %id, error = %e, "could not delete an expired backup's object");
                    }
                    self.live().known.remove(&id);
                    tracing::info!(backup = %id, "expired backup deleted");
                }
                Err(e) => tracing::warn!(backup = %id, error = %e, "could not delete an expired backup"),
            }
        }
    }

    /// When the next backup is due.
    fn next_due(&self) -> jiff::Timestamp {
        let live = self.live();
        let every = jiff::SignedDuration::try_from(self.settings.incremental_every)
            .unwrap_or(jiff::SignedDuration::from_mins(5));
        let base = match (&live.last_failure, live.last_success_started) {
            (Some(f), _) if live.failing => f.at,
            (_, Some(ok)) => ok,
            _ => return self.clock.now(),
        };
        base + every
    }

    /// Starts the schedule: a backup at once if none was taken yet, then every interval (full
    /// when due). Stopped by [`Backups::stop`].
    pub fn start(self: &Arc<Self>) {
        let this = self.clone();
        let task = tokio::spawn(async move {
            loop {
                let wait = this.next_due().duration_since(this.clock.now());
                if wait.is_positive() {
                    tokio::time::sleep(wait.unsigned_abs()).await;
                }
                match this.run(None).await {
                    Ok(_) | Err(BackupFailure::Running) => {}
                    // Counted, logged and raised in `run`; try again at the next interval.
                    Err(_) => {}
                }
            }
        });
        *self.schedule.lock().unwrap_or_else(|p| p.into_inner()) = Some(task);
    }

    /// Stops the schedule (a backup in progress is abandoned; its working files are removed
    /// at the next start).
    pub fn stop(&self) {
        if let Some(t) = self.schedule.lock().unwrap_or_else(|p| p.into_inner()).take() {
            t.abort();
        }
    }
}

/// The niceness of a backup's own thread: it yields the CPU to the clinic's requests when both
/// want it (measured: a full backup beside writes raised their p99 1.6-1.7× at normal priority
/// on two cores; docs/performance.md), and runs at full speed when the machine is idle.
const BACKUP_NICENESS: i32 = 10;

/// Runs `f` (CPU and disk work: export, compression, encryption, the replica) on a thread of its
/// own at a lower priority. A thread of its own because a pool thread cannot get its priority
/// back without privileges.
async fn in_background<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, BackupFailure> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new().name("clowder-backup".into()).spawn(move || {
        // Linux applies PRIO_PROCESS to a thread id as that thread's niceness. Failing to lower
        // it only costs the clinic some CPU.
        if let Err(e) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), BACKUP_NICENESS) {
            tracing::debug!(error = %e, "could not lower the backup thread's priority");
        }
        let _ = tx.send(f());
    })?;
    rx.await.map_err(|_| BackupFailure::Io(std::io::Error::other("the backup thread ended without an answer")))
}

/// A destination's error names the destination already, except for local I/O and settings.
fn destination_failure(destination: &str, source: &DestinationError) -> String {
    match source {
        DestinationError::Io(_) | DestinationError::Config(_) => {
            format!("the backup destination {destination}: {source}")
        }
        other => other.to_string(),
    }
}

/// Where a destination configuration points, without secrets.
fn describe_config(config: &DestinationConfig) -> String {
    match config {
        DestinationConfig::Local { dir } => dir.display().to_string(),
        DestinationConfig::S3 { bucket, prefix, .. } => format!("s3://{bucket}/{prefix}"),
    }
}

fn replica_marks(path: &Path) -> Option<Marks> {
    if !path.exists() {
        return None;
    }
    Restorer::resume(path).ok().and_then(|r| r.marks().cloned())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use clowder_actors::ManualClock;
    use clowder_actors::store::{ChangeSet, Store, StoreConfig};
    use clowder_schemas::events::{Author, DomainEvent};

    use super::*;

    fn settings(dir: &Path, recipient: &str) -> BackupSettings {
        BackupSettings {
            destination: DestinationConfig::Local { dir: dir.join("offsite") },
            recipient: Recipient::parse(recipient).unwrap(),
            incremental_every: Duration::from_secs(300),
            full_at: "02:30".parse().unwrap(),
            retention: Retention::default(),
        }
    }

    async fn touch(store: &Store, n: u128) {
        let mut set = ChangeSet::new();
        set.event(
            Author::System,
            DomainEvent::BackupFailed { kind: "test".into(), reason: format!("a change to back up ({n})") },
        );
        store.commit(set).await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn chains_continue_until_the_key_changes_and_the_clock_may_not_go_back() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new("2026-12-05T10:00:00Z".parse().unwrap()));
        let config = StoreConfig {
            path: dir.path().join("data/clowder.redb"),
            clinic_id: "main".into(),
            cache_bytes: 1 << 20,
            journal: Some(true),
        };
        let store = Store::open(&config, clock.clone(), Default::default()).unwrap();
        let (_, recipient) = crypt::generate();
        let zone = jiff::tz::TimeZone::UTC;
        let data = dir.path().join("data");
        let b = Backups::new(
            store.clone(),
            clock.clone(),
            zone.clone(),
            settings(dir.path(), &recipient),
            &data,
            BackupMetrics::default(),
        )
        .unwrap();
        let full = b.run(None).await.unwrap().unwrap();
        assert_eq!(full.kind, BackupKind::Full, "the first backup is full");
        clock.advance(jiff::SignedDuration::from_mins(5));
        assert!(b.run(None).await.unwrap().is_none(), "nothing changed: no backup");
        touch(&store, 1).await;
        let inc = b.run(None).await.unwrap().unwrap();
        assert_eq!((inc.kind, inc.previous.as_deref()), (BackupKind::Incremental, Some(full.id.as_str())));
        assert!(inc.verification.as_ref().is_some_and(|v| v.ok));

        // The clock goes back before the last backup: refused, and said so.
        clock.advance(jiff::SignedDuration::from_mins(-10));
        touch(&store, 2).await;
        let err = b.run(None).await.unwrap_err();
        assert!(matches!(err, BackupFailure::ClockBehind { .. }), "{err}");
        assert_eq!(b.status().status, "degraded");
        clock.advance(jiff::SignedDuration::from_mins(15));
        assert_eq!(b.run(None).await.unwrap().unwrap().kind, BackupKind::Incremental);

        // A new key starts a new chain (a restore never needs two identities).
        let (_, other) = crypt::generate();
        let b2 = Backups::new(
            store.clone(),
            clock.clone(),
            zone,
            settings(dir.path(), &other),
            &data,
            BackupMetrics::default(),
        )
        .unwrap();
        touch(&store, 3).await;
        clock.advance(jiff::SignedDuration::from_mins(5));
        let fresh = b2.run(None).await.unwrap().unwrap();
        assert_eq!(fresh.kind, BackupKind::Full);
        assert_eq!(fresh.recipient, other);
        assert_eq!(b2.list().await.unwrap().len(), 4);
        tokio::task::block_in_place(|| store.close());
    }
}
