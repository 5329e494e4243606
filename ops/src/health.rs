//! Health reports: liveness (the process answers), readiness (every component can serve),
//! and the detailed view for signed-in staff and operators.

use clowder_actors::System;
use serde::Serialize;
use utoipa::ToSchema;

/// One component's state.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Component {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// Answer of `GET /health/ready`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Readiness {
    /// `ok` or `unavailable`.
    pub status: String,
    pub components: Vec<Component>,
    /// Names of the failing components (empty when ready).
    pub failing: Vec<String>,
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.failing.is_empty()
    }
}

/// The store's figures in the detailed health report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StoreHealth {
    pub path: String,
    pub size_bytes: u64,
    pub last_event_seq: u64,
    pub clinic_id: String,
    /// The last run did not shut down cleanly and redb repaired the file at start.
    pub recovered_at_start: bool,
    pub open_ms: f64,
}

/// Commit latency over the last (up to 1,024) commits.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommitLatency {
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// The data directory's disk in the detailed health report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DiskHealth {
    /// `ok`; `degraded` below twice the reserve; `unavailable` below the reserve (changes are
    /// refused with 507 `insufficient_storage`); `unknown` when the free space cannot be read.
    pub status: String,
    /// Free bytes of the data directory's filesystem (absent when unknown).
    pub free_bytes: Option<u64>,
    /// `CLOWDER_MIN_FREE_MB` in bytes; 0 when the guard is off.
    pub reserve_bytes: u64,
}

/// Answer of `GET /health/detailed`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DetailedHealth {
    pub status: String,
    pub version: String,
    pub uptime_seconds: u64,
    pub components: Vec<Component>,
    pub store: StoreHealth,
    pub commit_latency: Option<CommitLatency>,
    pub resident_memory_bytes: Option<u64>,
    /// Backups: last success and verification, failures; `status` `degraded` when the last
    /// run failed or the last success is older than twice the interval (which makes the
    /// report's `status` `degraded` too, without failing readiness).
    pub backups: crate::backup::BackupStatus,
    pub disk: DiskHealth,
}

pub fn readiness(system: &System) -> Readiness {
    let components: Vec<Component> = system
        .readiness()
        .into_iter()
        .map(|c| Component { name: c.name.to_owned(), ok: c.ok, detail: c.detail })
        .collect();
    let failing: Vec<String> = components.iter().filter(|c| !c.ok).map(|c| c.name.clone()).collect();
    Readiness { status: if failing.is_empty() { "ok" } else { "unavailable" }.into(), components, failing }
}

/// The `disk` component and figures. A full disk does not make the server unready: reads
/// still work, and taking it out of service would stop those too.
fn disk(system: &System) -> (Component, DiskHealth) {
    use clowder_actors::store::disk::DiskState;
    let d = system.store().disk().status();
    let mib = |b: u64| b >> 20;
    let free = d.free_bytes.map_or("unknown".to_owned(), |f| format!("{} MiB free", mib(f)));
    let detail = match d.state {
        DiskState::Ok if d.reserve_bytes == 0 => format!("{free}; no reserve (CLOWDER_MIN_FREE_MB=0)"),
        DiskState::Ok => format!("{free}, reserve {} MiB", mib(d.reserve_bytes)),
        DiskState::Degraded => format!("{free}: less than twice the reserve of {} MiB", mib(d.reserve_bytes)),
        DiskState::Unavailable => {
            format!(
                "{free}: below the reserve of {} MiB; changes are refused until space is freed",
                mib(d.reserve_bytes)
            )
        }
        DiskState::Unknown => "the free space of the data directory cannot be read".to_owned(),
    };
    let component =
        Component { name: "disk".into(), ok: matches!(d.state, DiskState::Ok | DiskState::Degraded), detail };
    let health =
        DiskHealth { status: d.state.as_str().into(), free_bytes: d.free_bytes, reserve_bytes: d.reserve_bytes };
    (component, health)
}

/// The detailed report: readiness plus figures. Ready but with the disk not `ok` or backups
/// `degraded`, the status is `degraded` (readiness itself does not fail: reads go on).
pub fn detailed(system: &System, version: &str, backups: Option<&crate::backup::Backups>) -> DetailedHealth {
    let ready = readiness(system);
    let store = system.store();
    let info = store.info();
    let (disk_component, disk) = disk(system);
    let backups = backups.map_or_else(crate::backup::BackupStatus::disabled, |b| b.status());
    let status = if ready.is_ready() && (disk.status != "ok" || backups.status == "degraded") {
        "degraded".to_owned()
    } else {
        ready.status
    };
    let mut components = ready.components;
    components.push(disk_component);
    DetailedHealth {
        status,
        version: version.to_owned(),
        uptime_seconds: system.uptime().as_secs(),
        components,
        store: StoreHealth {
            path: info.path.display().to_string(),
            size_bytes: store.file_size(),
            last_event_seq: store.last_seq(),
            clinic_id: info.clinic_id.clone(),
            recovered_at_start: info.recovered,
            open_ms: info.open_took.as_secs_f64() * 1000.0,
        },
        commit_latency: store
            .commit_stats()
            .percentiles()
            .map(|(p50, p99)| CommitLatency { p50_ms: p50.as_secs_f64() * 1000.0, p99_ms: p99.as_secs_f64() * 1000.0 }),
        resident_memory_bytes: resident_memory_bytes(),
        backups,
        disk,
    }
}

/// Resident set size of this process, from `/proc/self/statm` (Linux); `None` elsewhere.
pub fn resident_memory_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // 4 KiB pages on every platform Clowder ships for (x86_64 and aarch64 Linux).
    Some(pages * 4096)
}
