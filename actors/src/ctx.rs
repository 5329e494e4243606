//! What every actor and service shares: the store, the clock, the settings of the core
//! ([`SystemConfig`]), the runtime's metrics, the hashing semaphore and the tracker of
//! writes running on their own. Built once by `System::start` (and by tests of one service);
//! it holds no domain state.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use jiff::civil::Date;
use jiff::tz::TimeZone;

use crate::clock::Clock;
use crate::metrics::RuntimeMetrics;
use crate::runtime::ActorConfig;
use crate::store::Store;

/// The default of `CLOWDER_DOCUMENT_MAX_BYTES`: 25 MiB, a long scanned referral or a
/// radiograph series as PDF.
pub const DEFAULT_DOCUMENT_MAX_BYTES: u64 = 25 << 20;

/// Settings of the core, built by the binary from its configuration.
#[derive(Debug, Clone)]
pub struct SystemConfig {
    pub data_dir: PathBuf,
    /// Identifies this clinic (location) in every event, for a later multi-site setup.
    pub clinic_id: String,
    /// Calling code given to phone numbers typed without one, e.g. `1`.
    pub country_code: String,
    /// The clinic's IANA time zone: local dates (birthdays, "today") are taken in it.
    pub time_zone: TimeZone,
    pub actors: ActorConfig,
    /// How long a sign-in session lasts at most.
    pub session_ttl: Duration,
    /// A session unused for this long ends.
    pub session_idle: Duration,
    /// A tablet session unlocked with a PIN locks after this long unused.
    pub device_idle: Duration,
    /// Wrong PINs in a row that lock PIN unlock until the next password sign-in.
    pub pin_lockout_after: u32,
    /// Sessions one user may hold at once; signing in again ends the oldest.
    pub max_sessions_per_user: usize,
    /// Wrong passwords in a row that lock an account.
    pub lockout_after: u32,
    /// How long a locked account stays locked.
    pub lockout_for: Duration,
    /// redb page cache, bytes.
    pub cache_bytes: usize,
    /// How long a waitlist offer of a freed slot stays open.
    pub waitlist_offer_ttl: jiff::SignedDuration,
    /// Keep the change journal incremental backups need (on when backups are configured).
    pub backup_journal: bool,
    /// Free space the data directory's disk keeps: below it, changes are refused (507) before
    /// anything is written (`store::disk`). 0 turns the guard off.
    pub min_free_bytes: u64,
    /// The largest document content accepted (`clinical::document_files`), bytes.
    pub document_max_bytes: u64,
    /// The job scheduler's settings (`jobs::`).
    pub jobs: crate::jobs::JobsConfig,
    /// The message providers of each channel (`comms`); the log provider by default.
    pub comms: crate::comms::CommsConfig,
    /// Local time (clinic zone) of the daily automation sweep (`comms::automations`);
    /// `None`: not scheduled (staff can still run it with `POST /api/automations/sweep`).
    pub automations_sweep_at: Option<jiff::civil::Time>,
    /// Inventory's settings (`inventory::`): the expiring-soon window, the write-off job.
    pub inventory: crate::inventory::InventoryConfig,
    /// Billing's settings (payment terms).
    pub billing: crate::billing::invoices::BillingConfig,
    /// Finance charges on overdue balances (`billing::finance`; off by default).
    pub finance: crate::billing::finance::FinanceConfig,
}

impl SystemConfig {
    /// Sensible defaults for a data directory (tests and the binary start from these).
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            clinic_id: "main".into(),
            country_code: "1".into(),
            time_zone: TimeZone::UTC,
            actors: ActorConfig::default(),
            session_ttl: Duration::from_secs(12 * 3600),
            session_idle: Duration::from_secs(8 * 3600),
            device_idle: Duration::from_secs(5 * 60),
            pin_lockout_after: 5,
            max_sessions_per_user: 3,
            lockout_after: 5,
            lockout_for: Duration::from_secs(15 * 60),
            cache_bytes: 16 << 20,
            waitlist_offer_ttl: jiff::SignedDuration::from_hours(2),
            backup_journal: false,
            // Off here (unit tests on small temporary disks); the binary's default is 512 MiB.
            min_free_bytes: 0,
            document_max_bytes: DEFAULT_DOCUMENT_MAX_BYTES,
            jobs: crate::jobs::JobsConfig::default(),
            comms: crate::comms::CommsConfig::default(),
            automations_sweep_at: Some(crate::comms::automations::DEFAULT_SWEEP_AT),
            inventory: crate::inventory::InventoryConfig::default(),
            billing: crate::billing::invoices::BillingConfig::default(),
            finance: crate::billing::finance::FinanceConfig::default(),
        }
    }

    pub fn store_path(&self) -> PathBuf {
        self.data_dir.join("clowder.redb")
    }
}

/// What every actor and service shares.
pub struct Ctx {
    pub store: Arc<Store>,
    pub clock: Arc<dyn Clock>,
    pub config: SystemConfig,
    pub metrics: RuntimeMetrics,
    /// Password and PIN hashing running at once (half the cores, at least one).
    pub hashing: tokio::sync::Semaphore,
    /// Short tasks that write to the store on their own (a commit that must finish though
    /// its caller went away, "last seen"): spawn them here so shutdown waits for them before
    /// it closes the store.
    pub tasks: tokio_util::task::TaskTracker,
}

impl Ctx {
    /// The context of a core on `store`, with `clock` and `config`.
    pub fn new(store: Arc<Store>, clock: Arc<dyn Clock>, config: SystemConfig) -> Ctx {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ctx {
            store,
            clock,
            config,
            metrics: RuntimeMetrics::default(),
            hashing: tokio::sync::Semaphore::new((cores / 2).max(1)),
            tasks: tokio_util::task::TaskTracker::new(),
        }
    }

    /// The clinic's local date today.
    pub fn today(&self) -> Date {
        self.clock.today(&self.config.time_zone)
    }

    /// A new time-ordered id.
    pub fn new_ulid(&self) -> ulid::Ulid {
        let mut random = [0u8; 16];
        // The OS random source failing is unrecoverable for a server that issues sessions.
        getrandom::fill(&mut random).expect("the operating system's random source is available");
        let ms = self.clock.now().as_millisecond().max(0) as u64;
        ulid::Ulid::from_parts(ms, u128::from_le_bytes(random))
    }
}

/// An id of a ledger whose entries must keep their order (the stock ledger, the controlled
/// register): the fresh ULID `new`, or `after + 1` when `new` is not above the last id given
/// (`after`; the same millisecond, or a clock set back).
pub fn ulid_after(new: ulid::Ulid, after: Option<u128>) -> u128 {
    match after {
        Some(prev) if new.0 <= prev => prev.saturating_add(1),
        _ => new.0,
    }
}

#[cfg(test)]
mod ulid_after_tests {
    #[test]
    fn a_new_id_sorts_after_the_last_even_in_the_same_millisecond() {
        let prev = ulid::Ulid::from_parts(1_000, 500).0;
        let same_ms_lower = ulid::Ulid::from_parts(1_000, 7);
        assert_eq!(super::ulid_after(same_ms_lower, Some(prev)), prev + 1);
        let later = ulid::Ulid::from_parts(1_001, 7);
        assert_eq!(super::ulid_after(later, Some(prev)), later.0);
        assert_eq!(super::ulid_after(same_ms_lower, None), same_ms_lower.0);
    }
}
