//! The disk-space guard: the free space of the data directory's filesystem and the reserve
//! below which the commit thread refuses change sets that write.
//!
//! A full disk must never half-write a change: redb would fail mid-transaction and the
//! server would answer 500s. So the commit thread checks the free space *before* it opens a
//! write transaction (sampled with `statvfs`, at most once per second: a system call, cheap)
//! and, below the reserve, answers every writing change set of the batch
//! [`CommitError::DiskFull`](super::CommitError::DiskFull) while read-audit entries are still
//! committed (they are small, and a read must stay audited). `/metrics` and
//! `/health/detailed` take a fresh sample through [`DiskGuard::status`]. It decides nothing
//! else: freeing space is the operator's job (docs/operations.md).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How often the commit thread re-reads the free space at most.
const SAMPLE_EVERY: Duration = Duration::from_secs(1);

/// The free space of the filesystem holding `dir`, as an unprivileged process may use it
/// (`f_bavail`: the blocks reserved for root do not count), in bytes.
pub fn free_bytes(dir: &Path) -> std::io::Result<u64> {
    let s = rustix::fs::statvfs(dir)?;
    Ok(s.f_bavail.saturating_mul(s.f_frsize))
}

/// How the free space compares with the reserve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskState {
    /// At least twice the reserve is free (or the guard is off).
    Ok,
    /// Less than twice the reserve is free: writes still work, but not for long.
    Degraded,
    /// Less than the reserve is free: changes are refused.
    Unavailable,
    /// The free space could not be read; writes are not refused for it.
    Unknown,
}

impl DiskState {
    /// The lower-case name used by `/health/detailed`.
    pub fn as_str(self) -> &'static str {
        match self {
            DiskState::Ok => "ok",
            DiskState::Degraded => "degraded",
            DiskState::Unavailable => "unavailable",
            DiskState::Unknown => "unknown",
        }
    }
}

/// One reading of the guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskStatus {
    /// Free bytes of the data directory's filesystem; `None` if it could not be read.
    pub free_bytes: Option<u64>,
    /// The reserve, bytes; 0 when the guard is off.
    pub reserve_bytes: u64,
    pub state: DiskState,
}

/// The data directory's free space and its reserve, shared by the commit thread, `/metrics`
/// and `/health/detailed`.
#[derive(Debug)]
pub struct DiskGuard {
    dir: PathBuf,
    reserve: AtomicU64,
    /// When the commit thread last sampled, and whether that sample refused writes.
    sampled: Mutex<Option<(Instant, bool)>>,
    /// Whether writes are being refused, to log the change once rather than every batch.
    refusing: AtomicBool,
}

impl DiskGuard {
    /// A guard of the filesystem holding `dir`, off (reserve 0) until [`DiskGuard::set_reserve`].
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            reserve: AtomicU64::new(0),
            sampled: Mutex::new(None),
            refusing: AtomicBool::new(false),
        }
    }

    /// Sets the reserve (`CLOWDER_MIN_FREE_MB`, in bytes); 0 turns the guard off.
    pub fn set_reserve(&self, bytes: u64) {
        self.reserve.store(bytes, Ordering::Relaxed);
        *self.sampled.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// The reserve, bytes (0: off).
    pub fn reserve(&self) -> u64 {
        self.reserve.load(Ordering::Relaxed)
    }

    /// A fresh reading.
    pub fn status(&self) -> DiskStatus {
        let reserve = self.reserve();
        let free = free_bytes(&self.dir).ok();
        let state = match free {
            None => DiskState::Unknown,
            Some(_) if reserve == 0 => DiskState::Ok,
            Some(f) if f < reserve => DiskState::Unavailable,
            Some(f) if f < reserve.saturating_mul(2) => DiskState::Degraded,
            Some(_) => DiskState::Ok,
        };
        DiskStatus { free_bytes: free, reserve_bytes: reserve, state }
    }

    /// For the commit thread, before a write transaction: true when changes must be refused.
    /// Reads the free space at most once per [`SAMPLE_EVERY`]; between samples the last
    /// answer stands.
    pub(crate) fn refuses_writes(&self) -> bool {
        if self.reserve() == 0 {
            return false;
        }
        let mut sampled = self.sampled.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, refuses)) = *sampled
            && at.elapsed() < SAMPLE_EVERY
        {
            return refuses;
        }
        let status = self.status();
        let refuses = status.state == DiskState::Unavailable;
        *sampled = Some((Instant::now(), refuses));
        drop(sampled);
        if self.refusing.swap(refuses, Ordering::Relaxed) != refuses {
            if refuses {
                tracing::error!(
                    dir = %self.dir.display(),
                    free_bytes = status.free_bytes,
                    reserve_bytes = status.reserve_bytes,
                    "the data directory's disk is below its reserve (CLOWDER_MIN_FREE_MB): changes are refused until space is freed"
                );
            } else {
                tracing::warn!(
                    dir = %self.dir.display(),
                    free_bytes = status.free_bytes,
                    "the data directory's disk is above its reserve again: changes are accepted"
                );
            }
        }
        refuses
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_follows_the_reserve() {
        let dir = tempfile::tempdir().unwrap();
        let guard = DiskGuard::new(dir.path());
        let free = free_bytes(dir.path()).unwrap();
        assert!(free > 0);
        assert_eq!(guard.status().state, DiskState::Ok, "off");
        assert!(!guard.refuses_writes());

        // Margins wide enough that other processes writing or deleting meanwhile change nothing.
        guard.set_reserve(free * 2 + (1 << 30));
        assert_eq!(guard.status().state, DiskState::Unavailable);
        assert!(guard.refuses_writes());

        guard.set_reserve(free / 2 + free / 8);
        assert_eq!(guard.status().state, DiskState::Degraded);
        assert!(!guard.refuses_writes(), "a new reserve is sampled at once");

        guard.set_reserve(1);
        let s = guard.status();
        assert_eq!((s.state, s.reserve_bytes), (DiskState::Ok, 1));
    }

    #[test]
    fn an_unreadable_directory_is_unknown_and_refuses_nothing() {
        let guard = DiskGuard::new("/nonexistent/clowder/data");
        guard.set_reserve(u64::MAX);
        assert_eq!(guard.status().state, DiskState::Unknown);
        assert!(!guard.refuses_writes());
    }
}
