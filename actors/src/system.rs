//! The running core of one clinic: the store, the actor registries and the services built
//! on them, wired together once at start-up and shut down in order.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use jiff::civil::Date;
use jiff::tz::TimeZone;

use crate::accounts::Accounts;
use crate::audit::AuditLog;
use crate::clients::Clients;
use crate::clock::Clock;
use crate::devices::Devices;
use crate::metrics::{RuntimeMetrics, StoreMetrics};
use crate::patients::Patients;
use crate::roles::Roles;
use crate::runtime::ActorConfig;
use crate::scheduling::Scheduling;
use crate::search::Search;
use crate::store::{Store, StoreConfig, StoreError};

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
            cache_bytes: 64 << 20,
            waitlist_offer_ttl: jiff::SignedDuration::from_hours(2),
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

/// One component's health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentHealth {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

/// The clinic's core, running.
pub struct System {
    pub ctx: Arc<Ctx>,
    pub clients: Clients,
    pub patients: Patients,
    pub accounts: Accounts,
    pub audit: AuditLog,
    pub roles: Roles,
    pub devices: Devices,
    pub scheduling: Scheduling,
    pub search: Search,
    pub store_metrics: StoreMetrics,
    started: Instant,
    stopping: AtomicBool,
}

impl System {
    /// Opens the store and starts the actor registries. Must run inside a tokio runtime.
    pub fn start(config: SystemConfig, clock: Arc<dyn Clock>) -> Result<System, StoreError> {
        let store_metrics = StoreMetrics::default();
        let store_config = StoreConfig {
            path: config.store_path(),
            clinic_id: config.clinic_id.clone(),
            cache_bytes: config.cache_bytes,
        };
        let store = Store::open(&store_config, clock.clone(), store_metrics.clone())?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let hashing = tokio::sync::Semaphore::new((cores / 2).max(1));
        let tasks = tokio_util::task::TaskTracker::new();
        let ctx = Arc::new(Ctx { store, clock, config, metrics: RuntimeMetrics::default(), hashing, tasks });
        let roles = Roles::load(ctx.clone())?;
        let search = Search::start(ctx.clone()).map_err(|e| StoreError::Load(format!("the search index: {e}")))?;
        Ok(System {
            search,
            roles: roles.clone(),
            clients: Clients::new(ctx.clone()),
            patients: Patients::new(ctx.clone()),
            accounts: Accounts::new(ctx.clone(), roles),
            audit: AuditLog::new(ctx.clone()),
            devices: Devices::new(ctx.clone()),
            scheduling: Scheduling::start(ctx.clone()).map_err(|e| StoreError::Load(format!("the calendar: {e}")))?,
            ctx,
            store_metrics,
            started: Instant::now(),
            stopping: AtomicBool::new(false),
        })
    }

    /// Up to `limit` events of the log after sequence number `after`, in order.
    pub fn events_after(&self, after: u64, limit: usize) -> Result<Vec<clowder_schemas::events::Event>, StoreError> {
        self.ctx.store.read()?.events_after(after, limit)
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.ctx.store
    }

    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Health of each component; the server is ready when all are ok.
    pub fn readiness(&self) -> Vec<ComponentHealth> {
        let store = &self.ctx.store;
        let store_ok = store.is_running() && store.read().is_ok();
        let stopping = self.stopping.load(Ordering::Acquire);
        vec![
            ComponentHealth {
                name: "store",
                ok: store_ok,
                detail: if store_ok { "open".into() } else { "closed or unreadable".into() },
            },
            ComponentHealth {
                name: "search",
                ok: !stopping && self.search.is_running(),
                detail: format!(
                    "{} documents, indexed through event {} of {}",
                    self.search.documents(),
                    self.search.indexed_seq(),
                    store.last_seq()
                ),
            },
            ComponentHealth {
                name: "actors",
                ok: !stopping,
                detail: if stopping {
                    "shutting down".into()
                } else {
                    format!("{} clients, {} patients live", self.clients.live(), self.patients.live())
                },
            },
        ]
    }

    /// Stops the actors and the background tasks, waits for the writes they started,
    /// commits what is queued and closes the store. When it returns the store file is closed
    /// and its lock released, so a restart or `clowder audit verify` can open it at once,
    /// whatever still holds an `Arc<System>`. A second call waits like the first.
    pub async fn shutdown(&self) {
        if !self.stopping.swap(true, Ordering::AcqRel) {
            // Mailboxes close: each actor finishes the message in hand and ends. Their
            // commits go through the store's queue, which `close` drains.
            self.clients.stop_all();
            self.accounts.stop_all();
            self.patients.stop_all();
            self.scheduling.stop().await;
            self.search.stop().await;
            // Writes started on their own (see `Ctx::tasks`) finish while the store is open.
            self.ctx.tasks.close();
            self.ctx.tasks.wait().await;
        }
        let store = self.ctx.store.clone();
        // A concurrent or later call waits in `close` until the first has closed the file.
        let _ = tokio::task::spawn_blocking(move || store.close()).await;
    }
}
