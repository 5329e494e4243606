//! The manifest stored beside every backup object: what the backup holds (its range of the
//! event log and audit trail, the journal position, rows per table), how to check it (hashes
//! of the stream and of the stored object) and how its verification went. Plain JSON, so
//! `clowder backup list` works without the decryption key; it holds no personal data.

use std::collections::BTreeMap;

use clowder_actors::store::backup::Marks;
use serde::{Deserialize, Serialize};

/// The manifest layout written by this build.
pub const MANIFEST_FORMAT: u32 = 1;

/// Suffix of a backup's object (zstd, then age).
pub const OBJECT_SUFFIX: &str = ".clowder-backup";
/// Suffix of a backup's manifest.
pub const MANIFEST_SUFFIX: &str = ".manifest.json";

/// Full or incremental.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BackupKind {
    /// Every table of the store.
    Full,
    /// What changed since the previous backup of its chain.
    Incremental,
}

impl BackupKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BackupKind::Full => "full",
            BackupKind::Incremental => "incremental",
        }
    }
}

/// How a backup was checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Verification {
    pub verified_at: jiff::Timestamp,
    pub ok: bool,
    /// What was checked, in words (e.g. "restored into the replica; counts and hashes match;
    /// whole hash chains intact; stored object read back").
    pub detail: String,
}

/// The journal and log positions of a backup (see `store::backup::Marks`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Position {
    pub epoch: String,
    pub change: u64,
    pub events: u64,
    pub audit: u64,
}

impl From<&Marks> for Position {
    fn from(m: &Marks) -> Self {
        Position { epoch: m.epoch.clone(), change: m.change, events: m.events, audit: m.audit }
    }
}

impl From<&Position> for Marks {
    fn from(p: &Position) -> Self {
        Marks { epoch: p.epoch.clone(), change: p.change, events: p.events, audit: p.audit }
    }
}

/// One backup's manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Manifest {
    pub format: u32,
    /// `<UTC time>-<kind>`, e.g. `20261205T143000.123Z-full`: sorts by time.
    pub id: String,
    pub kind: BackupKind,
    /// The full backup this one's chain starts from (itself for a full one).
    pub base: String,
    /// The backup this one continues (none for a full one).
    pub previous: Option<String>,
    pub clinic_id: String,
    pub created_at: jiff::Timestamp,
    pub clowder_version: String,
    /// Store layout of the rows.
    pub layout: String,
    /// Where the previous backup ended (incremental only).
    pub from: Option<Position>,
    /// Where this backup ends.
    pub to: Position,
    /// Rows per table in the store when the backup was taken.
    pub counts: BTreeMap<String, u64>,
    /// SHA-256 and length of the backup stream before compression and encryption.
    pub payload_sha256: String,
    pub payload_bytes: u64,
    /// SHA-256 and length of the stored object.
    pub object_sha256: String,
    pub object_bytes: u64,
    /// `zstd`.
    pub compression: String,
    /// `age` with the recipient (public key) it was encrypted to.
    pub encryption: String,
    pub recipient: String,
    /// How long taking it took, milliseconds (export, compression, encryption, upload).
    pub duration_ms: u64,
    pub verification: Option<Verification>,
    /// SHA-256 of every document content under `<data dir>/documents/` when it was taken; each
    /// is its own object ([`document_object`]), stored once and shared by later backups.
    #[serde(default)]
    pub documents: Vec<String>,
}

/// The object holding the document content `sha256`, sealed to `recipient` (named by a part of
/// the recipient's hash, so a new key stores the contents again instead of reusing objects a
/// restore with the new identity could not open).
pub fn document_object(sha256: &str, recipient: &str) -> String {
    use sha2::Digest;
    let key: String = sha2::Sha256::digest(recipient.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("document-{sha256}-{key}.clowder-document")
}

impl Manifest {
    pub fn object_name(&self) -> String {
        format!("{}{OBJECT_SUFFIX}", self.id)
    }

    pub fn manifest_name(&self) -> String {
        format!("{}{MANIFEST_SUFFIX}", self.id)
    }
}

/// The ids of the backups whose manifests `destination` holds, sorted.
pub async fn ids_in(
    destination: &super::destination::Destination,
) -> Result<Vec<String>, super::destination::DestinationError> {
    let mut ids: Vec<String> = destination
        .list()
        .await?
        .iter()
        .filter_map(|o| o.name.strip_suffix(MANIFEST_SUFFIX))
        .map(str::to_owned)
        .collect();
    ids.sort();
    Ok(ids)
}

/// The manifest of backup `id`; `None` (logged) when it cannot be read as one.
pub async fn read(
    destination: &super::destination::Destination,
    id: &str,
) -> Result<Option<Manifest>, super::destination::DestinationError> {
    let bytes = destination.get_bytes(&format!("{id}{MANIFEST_SUFFIX}")).await?;
    match serde_json::from_slice::<Manifest>(&bytes) {
        Ok(m) => Ok(Some(m)),
        Err(e) => {
            tracing::warn!(backup = %id, error = %e, "a backup manifest cannot be read; it is ignored");
            Ok(None)
        }
    }
}

/// A backup's id: the UTC time to the millisecond, then the kind.
pub fn backup_id(at: jiff::Timestamp, kind: BackupKind) -> String {
    format!("{}-{}", at.strftime("%Y%m%dT%H%M%S.%3fZ"), kind.as_str())
}

/// Follows `previous` links from `target` back to its full backup: the chain to apply, full
/// first. Names what is missing if a link is.
pub fn chain<'a>(all: &'a [Manifest], target: &str) -> Result<Vec<&'a Manifest>, String> {
    let by_id: BTreeMap<&str, &Manifest> = all.iter().map(|m| (m.id.as_str(), m)).collect();
    let mut out = Vec::new();
    let mut at = by_id.get(target).copied().ok_or_else(|| format!("no backup {target}"))?;
    loop {
        out.push(at);
        match (&at.kind, &at.previous) {
            (BackupKind::Full, _) => break,
            (BackupKind::Incremental, Some(prev)) => {
                at = by_id.get(prev.as_str()).copied().ok_or_else(|| {
                    format!(
                        "backup {prev}, which {} continues, is missing: an increment is missing from the chain",
                        at.id
                    )
                })?;
            }
            (BackupKind::Incremental, None) => {
                return Err(format!("incremental backup {} names no previous backup", at.id));
            }
        }
    }
    out.reverse();
    Ok(out)
}
