//! The physical floor: how long the data directory's disk takes to make 4 KiB durable.
//!
//! A durable write cannot be faster than one `fsync`, so the write scenario's latency is
//! judged against this figure measured in the same run on the same disk. The measurement is
//! blocking file I/O; callers run it off the async runtime. It creates one temporary file in
//! the directory and always removes it, even when a write fails.

use std::fs::{self, File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use hdrhistogram::Histogram;
use serde::Serialize;

use crate::stats::{Latency, new_histogram, record_duration};

/// Size of each write: one page, the smallest unit a store commit touches.
pub const BLOCK_BYTES: usize = 4096;

/// Where the floor was measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsyncTarget {
    pub dir: PathBuf,
    /// True when no data directory was given and the system temp directory stands in for it.
    pub is_temp_dir: bool,
}

impl FsyncTarget {
    /// The server's data directory if known, else the system temp directory.
    pub fn choose(data_dir: Option<&Path>) -> Self {
        match data_dir {
            Some(dir) => Self { dir: dir.to_path_buf(), is_temp_dir: false },
            None => Self { dir: std::env::temp_dir(), is_temp_dir: true },
        }
    }
}

/// The measured floor, as reported.
#[derive(Debug, Clone, Serialize)]
pub struct FsyncFloor {
    /// The directory, as text.
    pub dir: String,
    pub is_temp_dir: bool,
    pub samples: u32,
    pub block_bytes: usize,
    pub latency: Option<Latency>,
}

/// Writes [`BLOCK_BYTES`] and calls `sync_data` `samples` times in a fresh file inside the
/// target directory, then deletes the file.
pub fn measure(target: &FsyncTarget, samples: u32) -> Result<FsyncFloor> {
    let mut scratch = ScratchFile::create(&target.dir)?;
    let histogram = time_syncs(&mut scratch.file, samples)
        .with_context(|| format!("measuring fsync in {}", target.dir.display()))?;
    scratch.remove()?;
    Ok(FsyncFloor {
        dir: target.dir.display().to_string(),
        is_temp_dir: target.is_temp_dir,
        samples,
        block_bytes: BLOCK_BYTES,
        latency: Latency::of(&histogram),
    })
}

/// Overwrites the same block each round, so the figure is the cost of making data durable,
/// not of growing the file. One unrecorded round first allocates the block.
fn time_syncs(file: &mut File, samples: u32) -> Result<Histogram<u64>> {
    let mut block = [0u8; BLOCK_BYTES];
    write_block(file, &mut block, u64::MAX)?;
    let mut histogram = new_histogram();
    for round in 0..u64::from(samples) {
        let started = Instant::now();
        write_block(file, &mut block, round)?;
        record_duration(&mut histogram, started.elapsed());
    }
    Ok(histogram)
}

/// Stamps the round number into the block (so no layer can skip an identical write), writes
/// it at offset 0 and waits until it is on the disk.
fn write_block(file: &mut File, block: &mut [u8; BLOCK_BYTES], round: u64) -> Result<()> {
    block[..8].copy_from_slice(&round.to_le_bytes());
    file.seek(SeekFrom::Start(0))?;
    file.write_all(block)?;
    file.sync_data()?;
    Ok(())
}

/// A temporary file that is deleted when dropped, so an error mid-measurement leaves nothing
/// behind in the server's data directory.
struct ScratchFile {
    path: PathBuf,
    file: File,
    removed: bool,
}

impl ScratchFile {
    fn create(dir: &Path) -> Result<Self> {
        let name =
            format!(".clowder-loadtests-fsync-{}-{}.tmp", std::process::id(), jiff::Timestamp::now().as_nanosecond());
        let path = dir.join(name);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .with_context(|| format!("creating the fsync probe file {}", path.display()))?;
        Ok(Self { path, file, removed: false })
    }

    /// Deletes the file, reporting a failure (the drop fallback can only ignore it).
    fn remove(mut self) -> Result<()> {
        self.removed = true;
        fs::remove_file(&self.path).with_context(|| format!("removing the fsync probe file {}", self.path.display()))
    }
}

impl Drop for ScratchFile {
    fn drop(&mut self) {
        if !self.removed {
            // Best effort on the error path; the error that got us here is the one to report.
            let _ = fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own_temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("clowder-loadtests-{name}-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn measuring_reports_every_sample_and_leaves_no_file() {
        let dir = own_temp_dir("fsync-ok");
        let target = FsyncTarget::choose(Some(&dir));
        let floor = measure(&target, 5).unwrap();
        assert_eq!(floor.samples, 5);
        assert!(!floor.is_temp_dir);
        let latency = floor.latency.unwrap();
        assert!(latency.p50_ms <= latency.p99_ms && latency.p99_ms <= latency.max_ms);
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0, "probe file left behind");
        fs::remove_dir(&dir).unwrap();
    }

    #[test]
    fn a_missing_directory_is_a_clear_error() {
        let dir = own_temp_dir("fsync-missing").join("does-not-exist");
        let err = measure(&FsyncTarget::choose(Some(&dir)), 1).unwrap_err();
        assert!(format!("{err:#}").contains("fsync probe file"), "{err:#}");
        fs::remove_dir(dir.parent().unwrap()).unwrap();
    }

    #[test]
    fn without_a_data_dir_the_temp_dir_is_used_and_flagged() {
        let target = FsyncTarget::choose(None);
        assert!(target.is_temp_dir);
        assert_eq!(target.dir, std::env::temp_dir());
    }
}
