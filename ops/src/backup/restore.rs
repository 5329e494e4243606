//! Restoring: a full backup and its increments, up to a point in time, from a destination into
//! an empty data directory, with the identity (private key). Also `clowder backup verify`,
//! which is a restore into a temporary directory. Every failure names its cause and has its own
//! exit code; a restore that fails removes what it wrote, so there is never a silently partial
//! store.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clowder_actors::store::backup::{BackupError, Restorer};

use super::crypt::{self, CryptError, Identities};
use super::destination::{Destination, DestinationError};
use super::manifest::{Manifest, chain};

/// Which backup to restore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestorePoint {
    /// The newest backup.
    Latest,
    /// The newest backup taken at or before this time.
    Time(jiff::Timestamp),
    /// The oldest backup that holds this event (its sequence number).
    Event(u64),
    /// This backup.
    Id(String),
}

impl RestorePoint {
    /// Parses `--at`: an RFC 3339 time or an event sequence number.
    pub fn parse(s: &str) -> Result<RestorePoint, String> {
        if let Ok(n) = s.parse::<u64>() {
            return Ok(RestorePoint::Event(n));
        }
        s.parse::<jiff::Timestamp>()
            .map(RestorePoint::Time)
            .map_err(|_| format!("--at {s}: give an RFC 3339 time (2026-12-05T14:30:00Z) or an event sequence number"))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("{0} is not empty: restore into a new, empty directory (the server's store is never overwritten)")]
    NotEmpty(PathBuf),
    #[error("{0}")]
    Destination(#[from] DestinationError),
    #[error("{0}")]
    Key(CryptError),
    #[error("no backup matches: {0}")]
    NoBackup(String),
    #[error("{0}")]
    MissingIncrement(String),
    #[error("the backup {id} is damaged: {why}")]
    Damaged { id: String, why: String },
    #[error("the restored store does not verify: {0}")]
    Broken(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl RestoreError {
    /// The process exit code `clowder restore` and `clowder backup verify` end with.
    pub fn exit_code(&self) -> u8 {
        match self {
            RestoreError::NotEmpty(_) | RestoreError::NoBackup(_) => 2,
            RestoreError::Destination(_) => 3,
            RestoreError::Key(_) => 4,
            RestoreError::Damaged { .. } | RestoreError::Broken(_) => 5,
            RestoreError::MissingIncrement(_) => 6,
            RestoreError::Io(_) => 1,
        }
    }
}

/// What a restore did.
#[derive(Debug, Clone)]
pub struct RestoreReport {
    /// The backups applied, full first.
    pub applied: Vec<Manifest>,
    pub events: u64,
    pub audit_entries: u64,
    pub rows: u64,
    pub took: Duration,
    pub store: PathBuf,
}

/// Every manifest in the destination, oldest first.
pub async fn manifests(destination: &Destination) -> Result<Vec<Manifest>, RestoreError> {
    let mut out = Vec::new();
    for id in super::manifest::ids_in(destination).await? {
        out.extend(super::manifest::read(destination, &id).await?);
    }
    out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    Ok(out)
}

/// Picks the backup for `point`.
pub fn pick<'a>(all: &'a [Manifest], point: &RestorePoint) -> Result<&'a Manifest, RestoreError> {
    let found = match point {
        RestorePoint::Latest => all.last(),
        RestorePoint::Time(t) => all.iter().rev().find(|m| m.created_at <= *t),
        RestorePoint::Event(n) => all.iter().find(|m| m.to.events >= *n),
        RestorePoint::Id(id) => all.iter().find(|m| &m.id == id),
    };
    found.ok_or_else(|| {
        RestoreError::NoBackup(match point {
            RestorePoint::Latest => "the destination holds no backup".into(),
            RestorePoint::Time(t) => format!("no backup was taken at or before {t}"),
            RestorePoint::Event(n) => format!("no backup holds event {n} yet"),
            RestorePoint::Id(id) => format!("there is no backup {id}"),
        })
    })
}

/// Restores `point` into `data_dir` (which must be empty or missing).
pub async fn restore(
    destination: &Destination,
    identities: &Identities,
    point: &RestorePoint,
    data_dir: &Path,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<RestoreReport, RestoreError> {
    if data_dir.exists() && std::fs::read_dir(data_dir)?.next().is_some() {
        return Err(RestoreError::NotEmpty(data_dir.to_owned()));
    }
    let created_dir = !data_dir.exists();
    let result = restore_into(destination, identities, point, data_dir, progress).await;
    if result.is_err() {
        // Never leave a partial store behind.
        if created_dir {
            let _ = std::fs::remove_dir_all(data_dir);
        } else if let Ok(entries) = std::fs::read_dir(data_dir) {
            for e in entries.flatten() {
                let p = e.path();
                let _ = if p.is_dir() { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) };
            }
        }
    }
    result
}

async fn restore_into(
    destination: &Destination,
    identities: &Identities,
    point: &RestorePoint,
    data_dir: &Path,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<RestoreReport, RestoreError> {
    let started = Instant::now();
    let all = manifests(destination).await?;
    let target = pick(&all, point)?;
    let steps: Vec<Manifest> =
        chain(&all, &target.id).map_err(RestoreError::MissingIncrement)?.into_iter().cloned().collect();
    std::fs::create_dir_all(data_dir)?;
    let store_path = data_dir.join("clowder.redb");
    let download_dir = data_dir.join(".restore-download");
    std::fs::create_dir_all(&download_dir)?;
    let mut restorer = Restorer::create(&store_path).map_err(|e| store_error(&target.id, e))?;
    for (i, m) in steps.iter().enumerate() {
        progress(&format!("[{}/{}] {} ({} bytes)", i + 1, steps.len(), m.id, m.object_bytes));
        let file = download_dir.join(m.object_name());
        destination.get_to_file(&m.object_name(), &file).await?;
        let (sha, _) = crypt::sha256_file(&file)?;
        if sha != m.object_sha256 {
            return Err(RestoreError::Damaged {
                id: m.id.clone(),
                why: format!("its object's SHA-256 is {sha}, the manifest says {}", m.object_sha256),
            });
        }
        let applied = {
            let reader = crypt::open_sealed(&file, identities).map_err(|e| match e {
                CryptError::WrongKey | CryptError::NoIdentity(_) | CryptError::BadRecipient(_) => RestoreError::Key(e),
                other => RestoreError::Damaged { id: m.id.clone(), why: other.to_string() },
            })?;
            // Decrypting and inserting is CPU and disk work: keep it off the async workers.
            tokio::task::block_in_place(|| restorer.apply(reader)).map_err(|e| store_error(&m.id, e))?
        };
        let _ = std::fs::remove_file(&file);
        if applied.sha256 != m.payload_sha256 {
            return Err(RestoreError::Damaged {
                id: m.id.clone(),
                why: "its stream's hash differs from the manifest's".into(),
            });
        }
        if applied.counts != m.counts {
            return Err(RestoreError::Broken(format!("after {} the rows per table differ from its manifest", m.id)));
        }
    }
    let path = restorer.finish().map_err(|e| store_error(&target.id, e))?;
    restore_documents(destination, identities, target, data_dir, &download_dir, progress).await?;
    let _ = std::fs::remove_dir_all(&download_dir);
    progress("checking the whole hash chains");
    let verify_path = path.clone();
    let report = tokio::task::spawn_blocking(move || clowder_actors::store::verify_all(&verify_path))
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?
        .map_err(|e| RestoreError::Broken(e.to_string()))?;
    Ok(RestoreReport {
        rows: target.counts.values().sum(),
        applied: steps,
        events: report.events,
        audit_entries: report.audit_entries,
        took: started.elapsed(),
        store: path,
    })
}

/// Downloads, decrypts and checks every document content the backup names into
/// `<data dir>/documents/`: each must hash to its name.
async fn restore_documents(
    destination: &Destination,
    identities: &Identities,
    target: &Manifest,
    data_dir: &Path,
    download_dir: &Path,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<(), RestoreError> {
    use clowder_actors::clinical::document_files::{DIR, path_in};
    if !target.documents.is_empty() {
        progress(&format!("{} document contents", target.documents.len()));
    }
    let damaged = |why: String| RestoreError::Damaged { id: target.id.clone(), why };
    for sha in &target.documents {
        let into =
            path_in(&data_dir.join(DIR), sha).ok_or_else(|| damaged(format!("{sha:?} is not a content hash")))?;
        let name = super::manifest::document_object(sha, &target.recipient);
        let file = download_dir.join(&name);
        destination.get_to_file(&name, &file).await?;
        let got = tokio::task::block_in_place(|| -> Result<String, RestoreError> {
            let mut reader = crypt::open_sealed(&file, identities).map_err(|e| match e {
                CryptError::WrongKey | CryptError::NoIdentity(_) | CryptError::BadRecipient(_) => RestoreError::Key(e),
                other => damaged(format!("document {sha}: {other}")),
            })?;
            std::fs::create_dir_all(into.parent().unwrap_or(data_dir))?;
            let mut out = crypt::Hashing::new(std::fs::File::create(&into)?);
            std::io::copy(&mut reader, &mut out).map_err(|e| damaged(format!("document {sha}: {e}")))?;
            let (f, got, _) = out.finish();
            f.sync_all()?;
            Ok(got)
        })?;
        let _ = std::fs::remove_file(&file);
        if &got != sha {
            return Err(damaged(format!("the document content {sha} restored with SHA-256 {got}")));
        }
    }
    Ok(())
}

fn store_error(id: &str, e: BackupError) -> RestoreError {
    match e {
        BackupError::Gap(why) => RestoreError::MissingIncrement(format!("{id}: {why}")),
        BackupError::NotEmpty(p) => RestoreError::NotEmpty(p),
        other => RestoreError::Damaged { id: id.to_owned(), why: other.to_string() },
    }
}

/// `clowder backup verify`: restores `id` (with its chain) into a temporary directory and
/// checks it; the directory is removed afterwards.
pub async fn verify(
    destination: &Destination,
    identities: &Identities,
    id: &str,
    scratch: &Path,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<RestoreReport, RestoreError> {
    let dir = scratch.join(format!("clowder-verify-{}", id.replace(['/', '\\'], "_")));
    let _ = std::fs::remove_dir_all(&dir);
    let out = restore(destination, identities, &RestorePoint::Id(id.to_owned()), &dir, progress).await;
    let _ = std::fs::remove_dir_all(&dir);
    out
}
