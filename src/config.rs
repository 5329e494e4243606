//! Configuration: command-line flags with environment fallbacks (clap), validated into
//! [`Settings`]. `clowder check-config` prints the effective values with secrets masked.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use clowder_actors::SystemConfig;
use clowder_actors::runtime::ActorConfig;
use clowder_web::WebConfig;
use jiff::tz::TimeZone;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A secret setting: usable as text, but `Debug` never shows it, so no log line or error
/// that prints the settings can leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(********)")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_owned())
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Flags of `clowder serve` and `clowder check-config`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "CLOWDER_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory of the store (and later the search index and backups).
    #[arg(long, env = "CLOWDER_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Seed a demo clinic when the store has no clients.
    #[arg(long, env = "CLOWDER_DEMO", value_parser = clap::builder::BoolishValueParser::new(), default_missing_value = "true", num_args = 0..=1, default_value = "false")]
    pub demo: bool,
    /// Password of the first administrator, used only when the store has no users yet.
    /// Unset: a random one is generated, logged once and written to
    /// `<data-dir>/initial-admin-password`.
    #[arg(long, env = "CLOWDER_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<Secret>,
    /// Identifies this clinic (location) in events.
    #[arg(long, env = "CLOWDER_CLINIC_ID", default_value = "main")]
    pub clinic_id: String,
    /// The clinic's IANA time zone (default: the system's).
    #[arg(long, env = "CLOWDER_TIME_ZONE")]
    pub time_zone: Option<String>,
    /// Calling code for phone numbers typed without one.
    #[arg(long, env = "CLOWDER_COUNTRY_CODE", default_value = "1")]
    pub country_code: String,
    /// Lifetime of a sign-in session, hours.
    #[arg(long, env = "CLOWDER_SESSION_TTL_HOURS", default_value_t = 12)]
    pub session_ttl_hours: u64,
    /// Mark the session cookie Secure (set when a TLS proxy sits in front; always on with
    /// --tls-cert/--tls-key).
    #[arg(long, env = "CLOWDER_SECURE_COOKIES", value_parser = clap::builder::BoolishValueParser::new(), default_missing_value = "true", num_args = 0..=1, default_value = "false")]
    pub secure_cookies: bool,
    /// Per-entity actors stop after this many idle seconds.
    #[arg(long, env = "CLOWDER_ACTOR_IDLE_SECS", default_value_t = 120)]
    pub actor_idle_secs: u64,
    /// Most live per-entity actors of one kind (clients, cats, ...); past it the least
    /// recently used are passivated early, bounding memory under bursts.
    #[arg(long, env = "CLOWDER_ACTORS_MAX_LIVE", default_value_t = clowder_actors::runtime::DEFAULT_MAX_LIVE, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10_000_000))]
    pub actors_max_live: usize,
    /// Mailbox capacity of each actor; beyond it requests get 503 + Retry-After.
    #[arg(long, env = "CLOWDER_MAILBOX", default_value_t = 64)]
    pub mailbox: usize,
    /// How long a request waits for an actor's answer, milliseconds.
    #[arg(long, env = "CLOWDER_ASK_TIMEOUT_MS", default_value_t = 10_000)]
    pub ask_timeout_ms: u64,
    /// Store page cache, MiB. 8 by measurement (docs/performance.md, "Memory: where it
    /// goes"): records live in their actors while in use and the OS page cache holds the file
    /// anyway. A larger cache filled with the audit trail's freshly written pages and showed
    /// only in RSS (64 MiB, then 16); `compare` with 8 and 4 ended 9–20 MiB lower than with 16
    /// and no request row cost more CPU.
    #[arg(long, env = "CLOWDER_CACHE_MB", default_value_t = 8)]
    pub cache_mb: usize,
    /// The most events the live gateway replays for a reconnecting screen (`since`); further
    /// back it answers `resync_required`.
    #[arg(long, env = "CLOWDER_WS_REPLAY_MAX", default_value_t = 10_000)]
    pub ws_replay_max: u64,
    /// Frames one live-gateway socket may have waiting; a screen further behind is told to
    /// resync and closed, so it never slows the others.
    #[arg(long, env = "CLOWDER_WS_QUEUE", default_value_t = 256)]
    pub ws_queue: usize,
    /// How often the live gateway pings each socket and checks its session, seconds; a socket
    /// silent for three of these is closed.
    #[arg(long, env = "CLOWDER_WS_HEARTBEAT_SECS", default_value_t = 20)]
    pub ws_heartbeat_secs: u64,
    /// How long a waitlist offer of a freed slot stays open, seconds (default two hours).
    #[arg(long, env = "CLOWDER_WAITLIST_OFFER_SECS", default_value_t = 7200)]
    pub waitlist_offer_secs: u64,
    /// The largest document a client's record accepts (an upload over it is refused with 413
    /// and nothing stored), bytes; 25 MiB by default.
    #[arg(long, env = "CLOWDER_DOCUMENT_MAX_BYTES", default_value_t = clowder_actors::ctx::DEFAULT_DOCUMENT_MAX_BYTES)]
    pub document_max_bytes: u64,
    /// Log format.
    #[arg(long, env = "CLOWDER_LOG", value_enum, default_value_t = LogFormat::Text)]
    pub log: LogFormat,
    #[command(flatten)]
    pub security: SecurityArgs,
    #[command(flatten)]
    pub operations: OperationsArgs,
    /// PEM certificate chain, the server's certificate first. With --tls-key: serve HTTPS
    /// (and only HTTPS) on --listen.
    #[arg(long, env = "CLOWDER_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of that certificate (PKCS#8, PKCS#1 or SEC1, unencrypted).
    #[arg(long, env = "CLOWDER_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    #[command(flatten)]
    pub backup: BackupArgs,
    #[command(flatten)]
    pub jobs: JobsArgs,
    #[command(flatten)]
    pub comms: CommsArgs,
    #[command(flatten)]
    pub automations: AutomationsArgs,
    #[command(flatten)]
    pub inventory: InventoryArgs,
    #[command(flatten)]
    pub billing: BillingArgs,
    #[command(flatten)]
    pub finance: FinanceArgs,
}

/// Finance charges on overdue balances (flattened into [`ServeArgs`]); see docs/statements.md.
/// Every default is 0 (off), so `Default` is derived and matches clap's.
#[derive(Debug, Clone, Default, Args)]
pub struct FinanceArgs {
    /// Yearly finance-charge rate on overdue balances, basis points (1800 = 18 % a year,
    /// charged monthly); 0 (the default) charges nothing.
    #[arg(long, env = "CLOWDER_FINANCE_CHARGE_BP", default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=10000))]
    pub finance_charge_bp: u32,
    /// The least one monthly finance charge is, in cents (0: no minimum).
    #[arg(long, env = "CLOWDER_FINANCE_CHARGE_MIN", default_value_t = 0, value_parser = clap::value_parser!(i64).range(0..=100000))]
    pub finance_charge_min: i64,
    /// Days after an invoice's due date before its balance is charged (0–365).
    #[arg(long, env = "CLOWDER_FINANCE_CHARGE_GRACE_DAYS", default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=365))]
    pub finance_charge_grace_days: u16,
}

/// Inventory's settings (flattened into [`ServeArgs`]); see docs/inventory.md.
#[derive(Debug, Clone, Args)]
pub struct InventoryArgs {
    /// The stock alerts' "expiring soon" window, in days (1–3650).
    #[arg(long, env = "CLOWDER_INVENTORY_EXPIRING_DAYS", default_value_t = 60)]
    pub inventory_expiring_days: u32,
    /// Local time (HH:MM, clinic zone) of the daily job that writes off expired lots; `off` to
    /// not schedule it.
    #[arg(long, env = "CLOWDER_INVENTORY_EXPIRE_AT", default_value = "00:15")]
    pub inventory_expire_at: String,
}

impl Default for InventoryArgs {
    fn default() -> Self {
        Self { inventory_expiring_days: 60, inventory_expire_at: "00:15".into() }
    }
}

impl InventoryArgs {
    fn config(&self) -> anyhow::Result<clowder_actors::inventory::InventoryConfig> {
        if !(1..=3650).contains(&self.inventory_expiring_days) {
            anyhow::bail!("CLOWDER_INVENTORY_EXPIRING_DAYS must be from 1 to 3650");
        }
        let expire_at = match self.inventory_expire_at.trim() {
            "off" => None,
            t => Some(
                clowder_actors::jobs::recurring::parse_time("CLOWDER_INVENTORY_EXPIRE_AT", t)
                    .map_err(|e| anyhow::anyhow!("CLOWDER_INVENTORY_EXPIRE_AT {}", e.message))?,
            ),
        };
        Ok(clowder_actors::inventory::InventoryConfig { expiring_days: self.inventory_expiring_days, expire_at })
    }
}

/// Billing's settings (flattened into [`ServeArgs`]); see docs/billing.md.
#[derive(Debug, Clone, Args)]
pub struct BillingArgs {
    /// Payment terms: days from an invoice's issue to its due date (0–365); the day after it,
    /// an unpaid invoice turns `overdue`.
    #[arg(long, env = "CLOWDER_INVOICE_TERMS_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u16).range(0..=365))]
    pub invoice_terms_days: u16,
    /// Keep the part of a payment above the invoice's balance as the client's credit on
    /// account (off: such a payment is refused).
    #[arg(long, env = "CLOWDER_CREDIT_ON_ACCOUNT", value_parser = clap::builder::BoolishValueParser::new(), default_missing_value = "true", num_args = 0..=1, default_value = "false")]
    pub credit_on_account: bool,
}

impl Default for BillingArgs {
    fn default() -> Self {
        Self { invoice_terms_days: 30, credit_on_account: false }
    }
}

/// The automations' settings (flattened into [`ServeArgs`]); see docs/automations.md.
#[derive(Debug, Clone, Args)]
pub struct AutomationsArgs {
    /// Local time (HH:MM, clinic zone) of the daily automation sweep (birthdays, wellness,
    /// welcome, anniversaries, re-engagement); `off` to not schedule it.
    #[arg(long, env = "CLOWDER_AUTOMATIONS_SWEEP_AT", default_value = "10:00")]
    pub automations_sweep_at: String,
}

impl Default for AutomationsArgs {
    fn default() -> Self {
        Self { automations_sweep_at: "10:00".into() }
    }
}

impl AutomationsArgs {
    fn sweep_at(&self) -> anyhow::Result<Option<jiff::civil::Time>> {
        match self.automations_sweep_at.trim() {
            "off" => Ok(None),
            t => clowder_actors::jobs::recurring::parse_time("CLOWDER_AUTOMATIONS_SWEEP_AT", t)
                .map(Some)
                .map_err(|e| anyhow::anyhow!("CLOWDER_AUTOMATIONS_SWEEP_AT {}", e.message)),
        }
    }
}

/// The job scheduler's settings (flattened into [`ServeArgs`]); see docs/jobs.md.
#[derive(Debug, Clone, Args)]
pub struct JobsArgs {
    /// Jobs running at once.
    #[arg(long, env = "CLOWDER_JOBS_CONCURRENCY", default_value_t = 8)]
    pub jobs_concurrency: usize,
    /// Attempts before a job is dead (kinds may set their own).
    #[arg(long, env = "CLOWDER_JOBS_MAX_ATTEMPTS", default_value_t = 8)]
    pub jobs_max_attempts: u32,
    /// The first retry waits up to this long, milliseconds (full jitter; doubling per attempt).
    #[arg(long, env = "CLOWDER_JOBS_BACKOFF_BASE_MS", default_value_t = 30_000)]
    pub jobs_backoff_base_ms: u64,
    /// No retry waits longer than this, milliseconds.
    #[arg(long, env = "CLOWDER_JOBS_BACKOFF_CAP_MS", default_value_t = 3_600_000)]
    pub jobs_backoff_cap_ms: u64,
    /// Local time (HH:MM, clinic zone) of the daily clean-up; `off` to not schedule it.
    #[arg(long, env = "CLOWDER_JOBS_CLEANUP_AT", default_value = "03:30")]
    pub jobs_cleanup_at: String,
    /// Enqueue this many `selftest` jobs at start (0: off; for crash tests, docs/jobs.md).
    #[arg(long, env = "CLOWDER_JOBS_SELFTEST", default_value_t = 0)]
    pub jobs_selftest: usize,
}

impl Default for JobsArgs {
    fn default() -> Self {
        Self {
            jobs_concurrency: 8,
            jobs_max_attempts: 8,
            jobs_backoff_base_ms: 30_000,
            jobs_backoff_cap_ms: 3_600_000,
            jobs_cleanup_at: "03:30".into(),
            jobs_selftest: 0,
        }
    }
}

impl JobsArgs {
    fn config(&self) -> anyhow::Result<clowder_actors::jobs::JobsConfig> {
        if !(1..=256).contains(&self.jobs_concurrency) {
            bail!("CLOWDER_JOBS_CONCURRENCY must be between 1 and 256");
        }
        if !(1..=1000).contains(&self.jobs_max_attempts) {
            bail!("CLOWDER_JOBS_MAX_ATTEMPTS must be between 1 and 1000");
        }
        if self.jobs_backoff_base_ms > self.jobs_backoff_cap_ms {
            bail!("CLOWDER_JOBS_BACKOFF_BASE_MS must not exceed CLOWDER_JOBS_BACKOFF_CAP_MS");
        }
        let cleanup_at = match self.jobs_cleanup_at.trim() {
            "off" => None,
            t => Some(
                clowder_actors::jobs::recurring::parse_time("CLOWDER_JOBS_CLEANUP_AT", t)
                    .map_err(|e| anyhow::anyhow!("CLOWDER_JOBS_CLEANUP_AT {}", e.message))?,
            ),
        };
        Ok(clowder_actors::jobs::JobsConfig {
            concurrency: self.jobs_concurrency,
            max_attempts: self.jobs_max_attempts,
            backoff_base: Duration::from_millis(self.jobs_backoff_base_ms),
            backoff_cap: Duration::from_millis(self.jobs_backoff_cap_ms),
            cleanup_at,
            selftest: self.jobs_selftest,
            ..Default::default()
        })
    }
}

/// Where backups go and how often (flattened into [`ServeArgs`] and the `backup` commands).
/// Backups are on once a destination and a recipient are set (docs/backups.md).
#[derive(Debug, Clone, Args)]
pub struct BackupArgs {
    /// Local directory backups are written to (another disk or a mounted share).
    #[arg(long, env = "CLOWDER_BACKUP_DIR", conflicts_with = "backup_s3_bucket")]
    pub backup_dir: Option<PathBuf>,
    /// S3-compatible bucket backups are written to (instead of a directory).
    #[arg(long, env = "CLOWDER_BACKUP_S3_BUCKET")]
    pub backup_s3_bucket: Option<String>,
    /// Key prefix (folder) inside the bucket; default: the bucket's root.
    #[arg(long, env = "CLOWDER_BACKUP_S3_PREFIX", default_value = "")]
    pub backup_s3_prefix: String,
    /// Endpoint of an S3-compatible service (e.g. `https://s3.eu-central-003.backblazeb2.com`);
    /// unset: AWS S3.
    #[arg(long, env = "CLOWDER_BACKUP_S3_ENDPOINT")]
    pub backup_s3_endpoint: Option<String>,
    #[arg(long, env = "CLOWDER_BACKUP_S3_REGION", default_value = "us-east-1")]
    pub backup_s3_region: String,
    #[arg(long, env = "CLOWDER_BACKUP_S3_ACCESS_KEY_ID")]
    pub backup_s3_access_key_id: Option<String>,
    #[arg(long, env = "CLOWDER_BACKUP_S3_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub backup_s3_secret_access_key: Option<Secret>,
    /// Allow a plain-HTTP endpoint (a lab or a store on the same host only).
    #[arg(long, env = "CLOWDER_BACKUP_S3_ALLOW_HTTP", value_parser = clap::builder::BoolishValueParser::new(), default_missing_value = "true", num_args = 0..=1, default_value = "false")]
    pub backup_s3_allow_http: bool,
    /// The age recipient (public key, `age1…`) backups are encrypted to. Its identity
    /// (private key) stays off the server: it is needed only to restore.
    #[arg(long, env = "CLOWDER_BACKUP_RECIPIENT")]
    pub backup_recipient: Option<String>,
    /// Minutes between incremental backups (the recovery point).
    #[arg(long, env = "CLOWDER_BACKUP_INCREMENTAL_MINUTES", default_value_t = 5)]
    pub backup_incremental_minutes: u64,
    /// Local time (clinic zone) of the daily full backup, HH:MM.
    #[arg(long, env = "CLOWDER_BACKUP_FULL_AT", default_value = "02:30")]
    pub backup_full_at: String,
    /// Keep every backup this many hours.
    #[arg(long, env = "CLOWDER_BACKUP_KEEP_INCREMENTAL_HOURS", default_value_t = 48)]
    pub backup_keep_incremental_hours: u32,
    /// Keep the day's last full backup this many days.
    #[arg(long, env = "CLOWDER_BACKUP_KEEP_DAILY_DAYS", default_value_t = 30)]
    pub backup_keep_daily_days: u32,
    /// Keep the month's last full backup this many months.
    #[arg(long, env = "CLOWDER_BACKUP_KEEP_MONTHLY_MONTHS", default_value_t = 12)]
    pub backup_keep_monthly_months: u32,
}

impl Default for BackupArgs {
    /// The flags' defaults: no destination (backups off).
    fn default() -> Self {
        BackupArgs {
            backup_dir: None,
            backup_s3_bucket: None,
            backup_s3_prefix: String::new(),
            backup_s3_endpoint: None,
            backup_s3_region: "us-east-1".into(),
            backup_s3_access_key_id: None,
            backup_s3_secret_access_key: None,
            backup_s3_allow_http: false,
            backup_recipient: None,
            backup_incremental_minutes: 5,
            backup_full_at: "02:30".into(),
            backup_keep_incremental_hours: 48,
            backup_keep_daily_days: 30,
            backup_keep_monthly_months: 12,
        }
    }
}

impl BackupArgs {
    /// The configured destination, if any.
    pub fn destination(&self) -> anyhow::Result<Option<clowder_ops::backup::destination::DestinationConfig>> {
        use clowder_ops::backup::destination::DestinationConfig;
        Ok(match (&self.backup_dir, &self.backup_s3_bucket) {
            (Some(dir), None) => Some(DestinationConfig::Local { dir: dir.clone() }),
            (None, Some(bucket)) => {
                let (Some(key_id), Some(secret)) = (&self.backup_s3_access_key_id, &self.backup_s3_secret_access_key)
                else {
                    bail!(
                        "CLOWDER_BACKUP_S3_BUCKET needs CLOWDER_BACKUP_S3_ACCESS_KEY_ID and CLOWDER_BACKUP_S3_SECRET_ACCESS_KEY"
                    );
                };
                Some(DestinationConfig::S3 {
                    bucket: bucket.clone(),
                    prefix: self.backup_s3_prefix.trim_matches('/').to_owned(),
                    endpoint: self.backup_s3_endpoint.clone(),
                    region: self.backup_s3_region.clone(),
                    access_key_id: key_id.clone(),
                    secret_access_key: secret.expose().to_owned(),
                    allow_http: self.backup_s3_allow_http,
                })
            }
            (None, None) => None,
            (Some(_), Some(_)) => bail!("set CLOWDER_BACKUP_DIR or CLOWDER_BACKUP_S3_BUCKET, not both"),
        })
    }

    /// The backup settings, or `None` when no destination is set.
    pub fn settings(&self) -> anyhow::Result<Option<clowder_ops::backup::BackupSettings>> {
        use clowder_ops::backup::{BackupSettings, crypt::Recipient, retention::Retention};
        let Some(destination) = self.destination()? else {
            if self.backup_recipient.is_some() {
                bail!(
                    "CLOWDER_BACKUP_RECIPIENT is set but no destination: set CLOWDER_BACKUP_DIR or CLOWDER_BACKUP_S3_BUCKET"
                );
            }
            return Ok(None);
        };
        let Some(recipient) = &self.backup_recipient else {
            bail!(
                "backups need CLOWDER_BACKUP_RECIPIENT, the age public key they are encrypted to (make a key pair with `clowder backup keygen` and keep the identity file off the server)"
            );
        };
        let recipient = Recipient::parse(recipient).map_err(|e| anyhow::anyhow!("CLOWDER_BACKUP_RECIPIENT: {e}"))?;
        if !(1..=24 * 60).contains(&self.backup_incremental_minutes) {
            bail!("CLOWDER_BACKUP_INCREMENTAL_MINUTES must be between 1 and 1440");
        }
        let full_at: jiff::civil::Time = self
            .backup_full_at
            .parse()
            .map_err(|_| anyhow::anyhow!("CLOWDER_BACKUP_FULL_AT must be a time like 02:30"))?;
        if self.backup_keep_incremental_hours == 0 || self.backup_keep_daily_days == 0 {
            bail!("CLOWDER_BACKUP_KEEP_INCREMENTAL_HOURS and CLOWDER_BACKUP_KEEP_DAILY_DAYS must be at least 1");
        }
        Ok(Some(BackupSettings {
            destination,
            recipient,
            incremental_every: Duration::from_secs(self.backup_incremental_minutes * 60),
            full_at,
            retention: Retention {
                keep_all_hours: self.backup_keep_incremental_hours,
                daily_days: self.backup_keep_daily_days,
                monthly_months: self.backup_keep_monthly_months,
            },
        }))
    }
}

const DEFAULT_SESSION_IDLE_MINUTES: u64 = 8 * 60;
const DEFAULT_MAX_SESSIONS: usize = 3;
const DEFAULT_DEVICE_IDLE_MINUTES: u64 = 5;
const DEFAULT_LOCKOUT_AFTER: u32 = 5;
const DEFAULT_LOCKOUT_MINUTES: u64 = 15;
const DEFAULT_LOGIN_ATTEMPTS: u32 = 10;
const DEFAULT_LOGIN_WINDOW_SECS: u64 = 300;
const DEFAULT_RATE_PER_SEC: u32 = 50;
const DEFAULT_RATE_BURST: u32 = 200;

/// Access-control settings of `clowder serve` (flattened into [`ServeArgs`]).
#[derive(Debug, Clone, Args)]
pub struct SecurityArgs {
    /// Origins the staff UI is served from, comma-separated, e.g. `https://clinic.example`.
    /// Cookie-authenticated changes must come from one of them (CSRF defence). Default: the
    /// listen address as `http(s)://127.0.0.1:PORT` and `http(s)://localhost:PORT`.
    #[arg(long = "public-origin", env = "CLOWDER_PUBLIC_ORIGIN", value_delimiter = ',')]
    pub public_origins: Vec<String>,
    /// A session unused for this many minutes ends.
    #[arg(long, env = "CLOWDER_SESSION_IDLE_MINUTES", default_value_t = DEFAULT_SESSION_IDLE_MINUTES)]
    pub session_idle_minutes: u64,
    /// Sessions one user may hold; signing in again ends the oldest.
    #[arg(long, env = "CLOWDER_MAX_SESSIONS", default_value_t = DEFAULT_MAX_SESSIONS)]
    pub max_sessions: usize,
    /// A tablet session unlocked with a PIN locks after this many idle minutes.
    #[arg(long, env = "CLOWDER_DEVICE_IDLE_MINUTES", default_value_t = DEFAULT_DEVICE_IDLE_MINUTES)]
    pub device_idle_minutes: u64,
    /// Wrong passwords in a row that lock an account.
    #[arg(long, env = "CLOWDER_LOCKOUT_AFTER", default_value_t = DEFAULT_LOCKOUT_AFTER)]
    pub lockout_after: u32,
    /// How long a locked account stays locked, minutes.
    #[arg(long, env = "CLOWDER_LOCKOUT_MINUTES", default_value_t = DEFAULT_LOCKOUT_MINUTES)]
    pub lockout_minutes: u64,
    /// Sign-in attempts allowed per IP address and per username in each window.
    #[arg(long, env = "CLOWDER_LOGIN_ATTEMPTS", default_value_t = DEFAULT_LOGIN_ATTEMPTS)]
    pub login_attempts: u32,
    /// The sign-in window, seconds.
    #[arg(long, env = "CLOWDER_LOGIN_WINDOW_SECS", default_value_t = DEFAULT_LOGIN_WINDOW_SECS)]
    pub login_window_secs: u64,
    /// Sustained requests per second allowed to one session.
    #[arg(long, env = "CLOWDER_RATE_PER_SEC", default_value_t = DEFAULT_RATE_PER_SEC)]
    pub rate_per_sec: u32,
    /// Requests one session may send in a burst above that rate.
    #[arg(long, env = "CLOWDER_RATE_BURST", default_value_t = DEFAULT_RATE_BURST)]
    pub rate_burst: u32,
    /// Reverse proxies whose `X-Forwarded-For` / `Forwarded` headers are believed, as IP
    /// addresses or CIDR ranges, comma-separated (e.g. `127.0.0.1,10.0.0.0/8`). Only a request
    /// from one of them has its client address taken from those headers (for rate limits and
    /// the audit trail); from anyone else the headers are ignored. Default: none.
    #[arg(long = "trusted-proxies", env = "CLOWDER_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,
}

impl Default for SecurityArgs {
    fn default() -> Self {
        Self {
            public_origins: Vec::new(),
            session_idle_minutes: DEFAULT_SESSION_IDLE_MINUTES,
            max_sessions: DEFAULT_MAX_SESSIONS,
            device_idle_minutes: DEFAULT_DEVICE_IDLE_MINUTES,
            lockout_after: DEFAULT_LOCKOUT_AFTER,
            lockout_minutes: DEFAULT_LOCKOUT_MINUTES,
            login_attempts: DEFAULT_LOGIN_ATTEMPTS,
            login_window_secs: DEFAULT_LOGIN_WINDOW_SECS,
            rate_per_sec: DEFAULT_RATE_PER_SEC,
            rate_burst: DEFAULT_RATE_BURST,
            trusted_proxies: Vec::new(),
        }
    }
}

const DEFAULT_MIN_FREE_MB: u64 = 512;

/// Running-it settings of `clowder serve` (flattened into [`ServeArgs`]): error tracking and
/// the disk-space reserve.
#[derive(Debug, Clone, Args)]
pub struct OperationsArgs {
    /// Sentry DSN (`https://<key>@<host>/<project>`): panics and 5xx answers are reported
    /// there, scrubbed of personal and medical data (docs/operations.md). Unset: nothing is
    /// sent anywhere.
    #[arg(long, env = "CLOWDER_SENTRY_DSN", hide_env_values = true)]
    pub sentry_dsn: Option<Secret>,
    /// The environment reported with each error (`production`, `staging`, ...).
    #[arg(long, env = "CLOWDER_SENTRY_ENVIRONMENT", default_value = "production")]
    pub sentry_environment: String,
    /// Free space, MiB, the data directory's disk keeps: below it every change is refused
    /// (507 `insufficient_storage`) before anything is written; reads go on. 0 turns the
    /// guard off.
    #[arg(long, env = "CLOWDER_MIN_FREE_MB", default_value_t = DEFAULT_MIN_FREE_MB)]
    pub min_free_mb: u64,
}

impl Default for OperationsArgs {
    fn default() -> Self {
        Self { sentry_dsn: None, sentry_environment: "production".into(), min_free_mb: DEFAULT_MIN_FREE_MB }
    }
}

/// Error tracking (Sentry), when a DSN is set.
#[derive(Debug, Clone)]
pub struct ErrorTracking {
    pub dsn: Secret,
    pub environment: String,
}

/// Which provider sends email (`CLOWDER_EMAIL_PROVIDER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EmailProviderArg {
    /// Write each message to the log only (development, the demo).
    Log,
    /// An SMTP relay (CLOWDER_SMTP_*).
    Smtp,
    /// SendGrid's v3 API (CLOWDER_SENDGRID_*).
    Sendgrid,
}

/// Which provider sends SMS (`CLOWDER_SMS_PROVIDER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SmsProviderArg {
    /// Write each message to the log only (development, the demo).
    Log,
    /// Twilio's Messages API (CLOWDER_TWILIO_*).
    Twilio,
}

/// How the SMTP connection is secured (`CLOWDER_SMTP_TLS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SmtpTlsArg {
    /// STARTTLS, required (port 587 by default).
    Starttls,
    /// TLS from the first byte (port 465 by default).
    Tls,
    /// No encryption: only for a relay on this machine (port 25 by default).
    None,
}

const DEFAULT_COMMS_TIMEOUT_SECS: u64 = 30;
const DEFAULT_SMS_MAX_SEGMENTS: usize = 4;
const DEFAULT_SENDGRID_BASE_URL: &str = "https://api.sendgrid.com";
const DEFAULT_TWILIO_BASE_URL: &str = "https://api.twilio.com";

/// Message providers of `clowder serve` (flattened into [`ServeArgs`]): which one sends each
/// channel and their credentials (docs/communications.md).
#[derive(Debug, Clone, Args)]
pub struct CommsArgs {
    /// Email provider.
    #[arg(long, env = "CLOWDER_EMAIL_PROVIDER", value_enum, default_value_t = EmailProviderArg::Log)]
    pub email_provider: EmailProviderArg,
    /// SMS provider.
    #[arg(long, env = "CLOWDER_SMS_PROVIDER", value_enum, default_value_t = SmsProviderArg::Log)]
    pub sms_provider: SmsProviderArg,
    /// Sender of the clinic's email, `front@clinic.example` or `Whisker Clinic
    /// <front@clinic.example>` (required with smtp and sendgrid); its domain names the
    /// `Message-ID`s.
    #[arg(long, env = "CLOWDER_EMAIL_FROM")]
    pub email_from: Option<String>,
    /// How long one message may take to be accepted by its provider, seconds; beyond it the
    /// send is retried later.
    #[arg(long, env = "CLOWDER_COMMS_TIMEOUT_SECS", default_value_t = DEFAULT_COMMS_TIMEOUT_SECS)]
    pub comms_timeout_secs: u64,
    /// Longest text message accepted, in SMS segments (160 GSM-7 / 70 UCS-2 characters for one).
    #[arg(long, env = "CLOWDER_SMS_MAX_SEGMENTS", default_value_t = DEFAULT_SMS_MAX_SEGMENTS)]
    pub sms_max_segments: usize,
    /// SMTP relay host.
    #[arg(long, env = "CLOWDER_SMTP_HOST")]
    pub smtp_host: Option<String>,
    /// SMTP port (default: 587 with starttls, 465 with tls, 25 with none).
    #[arg(long, env = "CLOWDER_SMTP_PORT")]
    pub smtp_port: Option<u16>,
    /// SMTP connection security.
    #[arg(long, env = "CLOWDER_SMTP_TLS", value_enum, default_value_t = SmtpTlsArg::Starttls)]
    pub smtp_tls: SmtpTlsArg,
    /// SMTP AUTH username (with CLOWDER_SMTP_PASSWORD).
    #[arg(long, env = "CLOWDER_SMTP_USERNAME")]
    pub smtp_username: Option<String>,
    #[arg(long, env = "CLOWDER_SMTP_PASSWORD", hide_env_values = true)]
    pub smtp_password: Option<Secret>,
    /// PEM file of CA certificates trusted for the relay besides the system's.
    #[arg(long, env = "CLOWDER_SMTP_CA_FILE")]
    pub smtp_ca_file: Option<PathBuf>,
    #[arg(long, env = "CLOWDER_SENDGRID_API_KEY", hide_env_values = true)]
    pub sendgrid_api_key: Option<Secret>,
    #[arg(long, env = "CLOWDER_SENDGRID_BASE_URL", default_value = DEFAULT_SENDGRID_BASE_URL)]
    pub sendgrid_base_url: String,
    #[arg(long, env = "CLOWDER_TWILIO_ACCOUNT_SID")]
    pub twilio_account_sid: Option<String>,
    #[arg(long, env = "CLOWDER_TWILIO_AUTH_TOKEN", hide_env_values = true)]
    pub twilio_auth_token: Option<Secret>,
    /// The Twilio number (E.164) or sender id texts come from (or set
    /// CLOWDER_TWILIO_MESSAGING_SERVICE_SID).
    #[arg(long, env = "CLOWDER_TWILIO_FROM", conflicts_with = "twilio_messaging_service_sid")]
    pub twilio_from: Option<String>,
    /// A Messaging Service that picks the sending number (instead of CLOWDER_TWILIO_FROM).
    #[arg(long, env = "CLOWDER_TWILIO_MESSAGING_SERVICE_SID")]
    pub twilio_messaging_service_sid: Option<String>,
    /// URL Twilio posts delivery status to: `<public origin>/hooks/twilio/status` as Twilio
    /// reaches it (its signature is checked against this URL, never the Host header).
    #[arg(long, env = "CLOWDER_TWILIO_STATUS_CALLBACK")]
    pub twilio_status_callback: Option<String>,
    #[arg(long, env = "CLOWDER_TWILIO_BASE_URL", default_value = DEFAULT_TWILIO_BASE_URL)]
    pub twilio_base_url: String,
    /// The clinic's name as messages show it (required with a provider other than log).
    #[arg(long, env = "CLOWDER_CLINIC_NAME")]
    pub clinic_name: Option<String>,
    /// The clinic's phone number as clients should dial it, e.g. `(508) 555-0100`.
    #[arg(long, env = "CLOWDER_CLINIC_PHONE")]
    pub clinic_phone: Option<String>,
    /// The hours messages may arrive for clients who chose none, `HH:MM-HH:MM` in the
    /// clinic's zone (`00:00-24:00`: any time).
    #[arg(long, env = "CLOWDER_QUIET_HOURS", default_value = DEFAULT_QUIET_HOURS)]
    pub quiet_hours: String,
    /// The URL set as the Twilio number's "a message comes in" webhook:
    /// `<public origin>/hooks/twilio/inbound` (STOP/START/HELP); signed like status callbacks.
    #[arg(long, env = "CLOWDER_TWILIO_INBOUND_URL")]
    pub twilio_inbound_url: Option<String>,
    /// SendGrid's Event Webhook verification key, base64 as SendGrid shows it (the webhook
    /// `/hooks/sendgrid/events` answers 401 without it).
    #[arg(long, env = "CLOWDER_SENDGRID_WEBHOOK_PUBLIC_KEY")]
    pub sendgrid_webhook_public_key: Option<String>,
    /// SendGrid events signed longer ago than this are refused as replays.
    #[arg(long, env = "CLOWDER_SENDGRID_WEBHOOK_MAX_AGE_SECS", default_value_t = 600)]
    pub sendgrid_webhook_max_age_secs: u64,
}

impl Default for CommsArgs {
    /// The flags' defaults: the log provider on both channels.
    fn default() -> Self {
        Self {
            email_provider: EmailProviderArg::Log,
            sms_provider: SmsProviderArg::Log,
            email_from: None,
            comms_timeout_secs: DEFAULT_COMMS_TIMEOUT_SECS,
            sms_max_segments: DEFAULT_SMS_MAX_SEGMENTS,
            smtp_host: None,
            smtp_port: None,
            smtp_tls: SmtpTlsArg::Starttls,
            smtp_username: None,
            smtp_password: None,
            smtp_ca_file: None,
            sendgrid_api_key: None,
            sendgrid_base_url: DEFAULT_SENDGRID_BASE_URL.into(),
            twilio_account_sid: None,
            twilio_auth_token: None,
            twilio_from: None,
            twilio_messaging_service_sid: None,
            twilio_status_callback: None,
            twilio_base_url: DEFAULT_TWILIO_BASE_URL.into(),
            clinic_name: None,
            clinic_phone: None,
            quiet_hours: DEFAULT_QUIET_HOURS.into(),
            twilio_inbound_url: None,
            sendgrid_webhook_public_key: None,
            sendgrid_webhook_max_age_secs: 600,
        }
    }
}

impl CommsArgs {
    /// The providers' settings, checked.
    pub fn config(&self) -> anyhow::Result<clowder_actors::comms::CommsConfig> {
        use clowder_actors::comms::{
            ClinicProfile, CommsConfig, EmailSettings, SendGridConfig, SmsSettings, SmtpConfig, SmtpTls, TwilioConfig,
            TwilioSender,
            providers::{Secret as ProviderSecret, default_from},
        };
        use clowder_schemas::comms::Mailbox;
        fn secret(s: &Option<Secret>) -> Option<&str> {
            s.as_ref().map(Secret::expose).filter(|v| !v.trim().is_empty())
        }
        if !(1..=600).contains(&self.comms_timeout_secs) {
            bail!("CLOWDER_COMMS_TIMEOUT_SECS must be between 1 and 600");
        }
        if !(1..=10).contains(&self.sms_max_segments) {
            bail!("CLOWDER_SMS_MAX_SEGMENTS must be between 1 and 10");
        }
        let from = match self.email_from.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
            Some(f) => Mailbox::parse("CLOWDER_EMAIL_FROM", f)
                .map_err(|e| anyhow::anyhow!("CLOWDER_EMAIL_FROM {}", e.message))?,
            None if self.email_provider == EmailProviderArg::Log => default_from(),
            None => bail!("CLOWDER_EMAIL_FROM is required with CLOWDER_EMAIL_PROVIDER={:?}", self.email_provider),
        };
        let email = match self.email_provider {
            EmailProviderArg::Log => EmailSettings::Log,
            EmailProviderArg::Smtp => {
                let Some(host) = self.smtp_host.as_deref().map(str::trim).filter(|h| !h.is_empty()) else {
                    bail!("CLOWDER_SMTP_HOST is required with CLOWDER_EMAIL_PROVIDER=smtp");
                };
                let tls = match self.smtp_tls {
                    SmtpTlsArg::Starttls => SmtpTls::Starttls,
                    SmtpTlsArg::Tls => SmtpTls::Tls,
                    SmtpTlsArg::None => SmtpTls::None,
                };
                // Unencrypted SMTP would send passwords and clients' mail in clear text.
                if tls == SmtpTls::None && !matches!(host, "localhost" | "127.0.0.1" | "::1" | "[::1]") {
                    bail!("CLOWDER_SMTP_TLS=none is only allowed for a relay on this machine (localhost)");
                }
                let port = self.smtp_port.unwrap_or(match tls {
                    SmtpTls::Starttls => 587,
                    SmtpTls::Tls => 465,
                    SmtpTls::None => 25,
                });
                let credentials = match (&self.smtp_username, secret(&self.smtp_password)) {
                    (Some(user), Some(password)) => Some((user.clone(), ProviderSecret::new(password))),
                    (None, None) => None,
                    _ => bail!("CLOWDER_SMTP_USERNAME and CLOWDER_SMTP_PASSWORD go together"),
                };
                let extra_roots_pem = match &self.smtp_ca_file {
                    None => None,
                    Some(path) => {
                        let pem = std::fs::read(path)
                            .with_context(|| format!("CLOWDER_SMTP_CA_FILE: cannot read {}", path.display()))?;
                        if CertificateDer::pem_slice_iter(&pem).next().is_none() {
                            bail!("CLOWDER_SMTP_CA_FILE: {} holds no PEM certificate", path.display());
                        }
                        Some(pem)
                    }
                };
                EmailSettings::Smtp(SmtpConfig { host: host.to_owned(), port, tls, credentials, extra_roots_pem })
            }
            EmailProviderArg::Sendgrid => {
                let Some(key) = secret(&self.sendgrid_api_key) else {
                    bail!("CLOWDER_SENDGRID_API_KEY is required with CLOWDER_EMAIL_PROVIDER=sendgrid");
                };
                EmailSettings::SendGrid(SendGridConfig {
                    api_key: ProviderSecret::new(key),
                    base_url: self.sendgrid_base_url.clone(),
                })
            }
        };
        let sms = match self.sms_provider {
            SmsProviderArg::Log => SmsSettings::Log,
            SmsProviderArg::Twilio => {
                let (Some(sid), Some(token)) = (&self.twilio_account_sid, secret(&self.twilio_auth_token)) else {
                    bail!(
                        "CLOWDER_TWILIO_ACCOUNT_SID and CLOWDER_TWILIO_AUTH_TOKEN are required with CLOWDER_SMS_PROVIDER=twilio"
                    );
                };
                let sender = match (&self.twilio_from, &self.twilio_messaging_service_sid) {
                    (Some(from), None) => TwilioSender::From(from.trim().to_owned()),
                    (None, Some(service)) => TwilioSender::MessagingService(service.trim().to_owned()),
                    _ => bail!("set CLOWDER_TWILIO_FROM or CLOWDER_TWILIO_MESSAGING_SERVICE_SID (one of them)"),
                };
                SmsSettings::Twilio(TwilioConfig {
                    account_sid: sid.trim().to_owned(),
                    auth_token: ProviderSecret::new(token),
                    sender,
                    status_callback: self.twilio_status_callback.clone().filter(|u| !u.trim().is_empty()),
                    base_url: self.twilio_base_url.clone(),
                })
            }
        };
        let real = !matches!((&email, &sms), (EmailSettings::Log, SmsSettings::Log));
        let name = match self.clinic_name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            Some(n) if n.chars().count() > 100 || n.chars().any(char::is_control) => {
                bail!("CLOWDER_CLINIC_NAME must be one line of at most 100 characters")
            }
            Some(n) => n.to_owned(),
            // A real client must never get a message signed by a placeholder.
            None if real => bail!("CLOWDER_CLINIC_NAME is required when a provider other than log is set"),
            None => ClinicProfile::default().name,
        };
        let phone = match self.clinic_phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            Some(p) if p.len() > 40 || p.chars().any(char::is_control) => {
                bail!("CLOWDER_CLINIC_PHONE must be one line of at most 40 characters")
            }
            p => p.map(str::to_owned),
        };
        let config = CommsConfig {
            email,
            sms,
            from,
            timeout: Duration::from_secs(self.comms_timeout_secs),
            max_sms_segments: self.sms_max_segments,
            // The public address is set by `ServeArgs::settings` from CLOWDER_PUBLIC_ORIGIN.
            clinic: ClinicProfile { name, phone, ..ClinicProfile::default() },
            hooks: self.hooks()?,
            quiet_hours: quiet_hours(&self.quiet_hours)?,
        };
        // Build once now, so settings that cannot work (a bad URL or account id) stop
        // `check-config` and start-up with their setting's name.
        clowder_actors::comms::Providers::build(&config, Arc::new(clowder_actors::SystemClock))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(config)
    }

    /// The webhooks' settings, checked.
    fn hooks(&self) -> anyhow::Result<clowder_actors::comms::webhooks::HooksConfig> {
        use clowder_actors::comms::providers::Secret as ProviderSecret;
        let url = |name: &str, v: &Option<String>| -> anyhow::Result<Option<String>> {
            match v.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
                None => Ok(None),
                Some(u) if u.starts_with("https://") || u.starts_with("http://") => Ok(Some(u.to_owned())),
                Some(_) => bail!("{name} must be an http(s) URL"),
            }
        };
        let sendgrid_key = match self.sendgrid_webhook_public_key.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
            None => None,
            Some(k) => Some(
                clowder_actors::comms::webhooks::sendgrid_key(k)
                    .map_err(|e| anyhow::anyhow!("CLOWDER_SENDGRID_WEBHOOK_PUBLIC_KEY {e}"))?,
            ),
        };
        if !(10..=86_400).contains(&self.sendgrid_webhook_max_age_secs) {
            bail!("CLOWDER_SENDGRID_WEBHOOK_MAX_AGE_SECS must be between 10 and 86400");
        }
        let token = self.twilio_auth_token.as_ref().map(Secret::expose).filter(|v| !v.trim().is_empty());
        let inbound = url("CLOWDER_TWILIO_INBOUND_URL", &self.twilio_inbound_url)?;
        if inbound.is_some() && token.is_none() {
            bail!("CLOWDER_TWILIO_INBOUND_URL needs CLOWDER_TWILIO_AUTH_TOKEN (the signature's key)");
        }
        Ok(clowder_actors::comms::webhooks::HooksConfig {
            twilio_auth_token: token.map(ProviderSecret::new),
            twilio_status_url: url("CLOWDER_TWILIO_STATUS_CALLBACK", &self.twilio_status_callback)?,
            twilio_inbound_url: inbound,
            sendgrid_key,
            sendgrid_max_age: Duration::from_secs(self.sendgrid_webhook_max_age_secs),
        })
    }

    /// The `describe()` rows of the providers in use, secrets masked.
    fn describe(config: &clowder_actors::comms::CommsConfig, rows: &mut Vec<(&'static str, String)>) {
        use clowder_actors::comms::{EmailSettings, SmsSettings, SmtpTls, TwilioSender};
        let set = "******** (set)".to_owned();
        match &config.email {
            EmailSettings::Log => rows.push(("CLOWDER_EMAIL_PROVIDER", "log".into())),
            EmailSettings::Smtp(smtp) => {
                rows.push(("CLOWDER_EMAIL_PROVIDER", "smtp".into()));
                rows.push(("CLOWDER_SMTP_HOST", smtp.host.clone()));
                rows.push(("CLOWDER_SMTP_PORT", smtp.port.to_string()));
                let tls = match smtp.tls {
                    SmtpTls::Starttls => "starttls",
                    SmtpTls::Tls => "tls",
                    SmtpTls::None => "none",
                };
                rows.push(("CLOWDER_SMTP_TLS", tls.into()));
                let (user, password) = match &smtp.credentials {
                    Some((user, _)) => (user.clone(), set.clone()),
                    None => ("(not set: no AUTH)".into(), "(not set)".into()),
                };
                rows.push(("CLOWDER_SMTP_USERNAME", user));
                rows.push(("CLOWDER_SMTP_PASSWORD", password));
                let ca = if smtp.extra_roots_pem.is_some() { "(set)" } else { "(not set: system roots)" };
                rows.push(("CLOWDER_SMTP_CA_FILE", ca.into()));
            }
            EmailSettings::SendGrid(sg) => {
                rows.push(("CLOWDER_EMAIL_PROVIDER", "sendgrid".into()));
                rows.push(("CLOWDER_SENDGRID_API_KEY", set.clone()));
                rows.push(("CLOWDER_SENDGRID_BASE_URL", sg.base_url.clone()));
            }
        }
        rows.push(("CLOWDER_EMAIL_FROM", config.from.to_string()));
        match &config.sms {
            SmsSettings::Log => rows.push(("CLOWDER_SMS_PROVIDER", "log".into())),
            SmsSettings::Twilio(tw) => {
                rows.push(("CLOWDER_SMS_PROVIDER", "twilio".into()));
                rows.push(("CLOWDER_TWILIO_ACCOUNT_SID", tw.account_sid.clone()));
                rows.push(("CLOWDER_TWILIO_AUTH_TOKEN", set));
                match &tw.sender {
                    TwilioSender::From(from) => rows.push(("CLOWDER_TWILIO_FROM", from.clone())),
                    TwilioSender::MessagingService(sid) => {
                        rows.push(("CLOWDER_TWILIO_MESSAGING_SERVICE_SID", sid.clone()))
                    }
                }
                let callback = tw.status_callback.clone().unwrap_or_else(|| "(not set)".into());
                rows.push(("CLOWDER_TWILIO_STATUS_CALLBACK", callback));
                rows.push(("CLOWDER_TWILIO_BASE_URL", tw.base_url.clone()));
            }
        }
        rows.push(("CLOWDER_COMMS_TIMEOUT_SECS", config.timeout.as_secs().to_string()));
        rows.push(("CLOWDER_SMS_MAX_SEGMENTS", config.max_sms_segments.to_string()));
        rows.push(("CLOWDER_CLINIC_NAME", config.clinic.name.clone()));
        rows.push(("CLOWDER_CLINIC_PHONE", config.clinic.phone.clone().unwrap_or_else(|| "(not set)".into())));
        rows.push(("CLOWDER_QUIET_HOURS", format!("{}-{}", config.quiet_hours.start, config.quiet_hours.end)));
        let hooks = &config.hooks;
        let inbound = hooks.twilio_inbound_url.clone().unwrap_or_else(|| "(not set)".into());
        rows.push(("CLOWDER_TWILIO_INBOUND_URL", inbound));
        let key = if hooks.sendgrid_key.is_some() { "(set)" } else { "(not set: the SendGrid webhook answers 401)" };
        rows.push(("CLOWDER_SENDGRID_WEBHOOK_PUBLIC_KEY", key.into()));
        rows.push(("CLOWDER_SENDGRID_WEBHOOK_MAX_AGE_SECS", hooks.sendgrid_max_age.as_secs().to_string()));
    }
}

/// The default of `CLOWDER_QUIET_HOURS`.
const DEFAULT_QUIET_HOURS: &str = "09:00-19:00";

/// `HH:MM-HH:MM` as the clinic's default sending hours.
fn quiet_hours(raw: &str) -> anyhow::Result<clowder_schemas::consent::TimeWindow> {
    let (start, end) =
        raw.trim().split_once('-').context("CLOWDER_QUIET_HOURS must be HH:MM-HH:MM, e.g. 09:00-19:00")?;
    clowder_schemas::consent::TimeWindow { start: start.trim().into(), end: end.trim().into() }
        .validate("CLOWDER_QUIET_HOURS")
        .map_err(|e| anyhow::anyhow!("CLOWDER_QUIET_HOURS {}", e.message))
}

/// An origin as browsers send it: `scheme://host[:port]`, lower-case, no path.
fn parse_origin(raw: &str) -> anyhow::Result<String> {
    let o = raw.trim().trim_end_matches('/').to_ascii_lowercase();
    let rest = o.strip_prefix("https://").or_else(|| o.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(['/', '?', '#', ' ']) => Ok(o),
        _ => bail!("CLOWDER_PUBLIC_ORIGIN: {raw:?} is not an origin like https://clinic.example or http://host:8080"),
    }
}

/// Validated settings of a server.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub system: SystemConfig,
    pub web: WebConfig,
    pub demo: bool,
    pub admin_password: Option<Secret>,
    pub log: LogFormat,
    /// Serve HTTPS with this certificate and key; `None`: plain HTTP.
    pub tls: Option<TlsSettings>,
    /// Report panics and 5xx answers to Sentry; `None`: off.
    pub error_tracking: Option<ErrorTracking>,
}

/// The certificate and key files and the rustls configuration loaded from them (ring
/// provider, HTTP/2 and HTTP/1.1 offered by ALPN).
#[derive(Clone)]
pub struct TlsSettings {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub server_config: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for TlsSettings {
    /// The paths only: the loaded configuration holds the private key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSettings").field("cert", &self.cert).field("key", &self.key).finish_non_exhaustive()
    }
}

impl TlsSettings {
    /// Reads and checks the PEM files: unreadable files, files without a certificate or key,
    /// and a key that does not belong to the certificate are errors naming the file.
    pub fn load(cert: &Path, key: &Path) -> anyhow::Result<TlsSettings> {
        let cert_pem =
            std::fs::read(cert).with_context(|| format!("CLOWDER_TLS_CERT: cannot read {}", cert.display()))?;
        let chain = CertificateDer::pem_slice_iter(&cert_pem).collect::<Result<Vec<_>, _>>().map_err(|e| {
            anyhow::anyhow!("CLOWDER_TLS_CERT: {} is not valid PEM: {}", cert.display(), pem_problem(&e))
        })?;
        if chain.is_empty() {
            bail!("CLOWDER_TLS_CERT: {} holds no PEM certificate (BEGIN CERTIFICATE)", cert.display());
        }
        let key_pem = std::fs::read(key).with_context(|| format!("CLOWDER_TLS_KEY: cannot read {}", key.display()))?;
        let private_key = match PrivateKeyDer::from_pem_slice(&key_pem) {
            Ok(k) => k,
            Err(rustls::pki_types::pem::Error::NoItemsFound) => bail!(
                "CLOWDER_TLS_KEY: {} holds no unencrypted PEM private key \
                 (BEGIN PRIVATE KEY, BEGIN RSA PRIVATE KEY or BEGIN EC PRIVATE KEY)",
                key.display()
            ),
            Err(e) => bail!("CLOWDER_TLS_KEY: {} is not valid PEM: {}", key.display(), pem_problem(&e)),
        };
        // One crypto provider for every crate (ARCHITECTURE.md): ring, given explicitly so
        // the choice does not depend on the process default.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("TLS: the ring provider supports no default protocol version")?
            .with_no_client_auth()
            .with_single_cert(chain, private_key)
            .map_err(|e| {
                anyhow::anyhow!(
                    "CLOWDER_TLS_KEY: the key in {} is unusable with the certificate in {}: {e}",
                    key.display(),
                    cert.display()
                )
            })?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(TlsSettings { cert: cert.to_owned(), key: key.to_owned(), server_config: Arc::new(config) })
    }
}

/// A PEM error in words (the library shows the offending lines as byte arrays).
fn pem_problem(e: &rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error;
    match e {
        Error::MissingSectionEnd { end_marker } => {
            format!("no closing line for a {} section", String::from_utf8_lossy(end_marker))
        }
        Error::IllegalSectionStart { line } => format!("malformed line {:?}", String::from_utf8_lossy(line)),
        other => other.to_string(),
    }
}

impl ServeArgs {
    pub fn settings(&self) -> anyhow::Result<Settings> {
        let time_zone = match &self.time_zone {
            Some(name) => {
                TimeZone::get(name).with_context(|| format!("CLOWDER_TIME_ZONE: unknown time zone {name:?}"))?
            }
            None => TimeZone::try_system().unwrap_or(TimeZone::UTC),
        };
        if self.country_code.is_empty()
            || self.country_code.len() > 3
            || !self.country_code.chars().all(|c| c.is_ascii_digit())
            || self.country_code.starts_with('0')
        {
            bail!("CLOWDER_COUNTRY_CODE must be 1 to 3 digits without a leading 0, e.g. 1 or 44");
        }
        if !(1..=24 * 30).contains(&self.session_ttl_hours) {
            bail!("CLOWDER_SESSION_TTL_HOURS must be between 1 and 720");
        }
        if !(1..=3600).contains(&self.ws_heartbeat_secs) {
            bail!("CLOWDER_WS_HEARTBEAT_SECS must be between 1 and 3600");
        }
        if !(1..=65_536).contains(&self.ws_queue) {
            bail!("CLOWDER_WS_QUEUE must be between 1 and 65536");
        }
        if !(1..=1_000_000).contains(&self.ws_replay_max) {
            bail!("CLOWDER_WS_REPLAY_MAX must be between 1 and 1000000");
        }
        if !(1..=7 * 24 * 3600).contains(&self.waitlist_offer_secs) {
            bail!("CLOWDER_WAITLIST_OFFER_SECS must be between 1 and 604800 (a week)");
        }
        if !(1..=65_536).contains(&self.mailbox) {
            bail!("CLOWDER_MAILBOX must be between 1 and 65536");
        }
        if let Some(p) = self.admin_password.as_ref().map(Secret::expose) {
            clowder_actors::staff::accounts::check_password("CLOWDER_ADMIN_PASSWORD", p, "admin")
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(TlsSettings::load(cert, key)?),
            (None, None) => None,
            _ => bail!(
                "CLOWDER_TLS_CERT and CLOWDER_TLS_KEY go together: set both to serve HTTPS, or neither for plain HTTP"
            ),
        };
        let backup = self.backup.settings()?;
        let mut comms = self.comms.config()?;
        let sec = &self.security;
        if !(1..=60 * 24 * 30).contains(&sec.session_idle_minutes) {
            bail!("CLOWDER_SESSION_IDLE_MINUTES must be between 1 and 43200");
        }
        if !(1..=24 * 60).contains(&sec.device_idle_minutes) {
            bail!("CLOWDER_DEVICE_IDLE_MINUTES must be between 1 and 1440");
        }
        if !(1..=100).contains(&sec.max_sessions) {
            bail!("CLOWDER_MAX_SESSIONS must be between 1 and 100");
        }
        if !(1..=100).contains(&sec.lockout_after) || !(1..=24 * 60).contains(&sec.lockout_minutes) {
            bail!("CLOWDER_LOCKOUT_AFTER must be 1 to 100 and CLOWDER_LOCKOUT_MINUTES 1 to 1440");
        }
        if sec.login_attempts == 0 || sec.login_window_secs == 0 || sec.rate_per_sec == 0 || sec.rate_burst == 0 {
            bail!(
                "CLOWDER_LOGIN_ATTEMPTS, CLOWDER_LOGIN_WINDOW_SECS, CLOWDER_RATE_PER_SEC and CLOWDER_RATE_BURST must be above 0"
            );
        }
        let trusted_proxies = clowder_web::client_addr::TrustedProxies::parse(&sec.trusted_proxies)
            .map_err(|e| anyhow::anyhow!("CLOWDER_TRUSTED_PROXIES: {e}"))?;
        let ops = &self.operations;
        let error_tracking = match &ops.sentry_dsn {
            Some(dsn) if !dsn.expose().trim().is_empty() => {
                clowder_web::tracking::check_dsn(dsn.expose())
                    .map_err(|e| anyhow::anyhow!("CLOWDER_SENTRY_DSN: {e}"))?;
                if ops.sentry_environment.trim().is_empty() {
                    bail!("CLOWDER_SENTRY_ENVIRONMENT must not be empty");
                }
                Some(ErrorTracking { dsn: dsn.clone(), environment: ops.sentry_environment.trim().to_owned() })
            }
            _ => None,
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let allowed_origins = if sec.public_origins.is_empty() {
            let port = self.listen.port();
            vec![format!("{scheme}://127.0.0.1:{port}"), format!("{scheme}://localhost:{port}")]
        } else {
            sec.public_origins.iter().map(|o| parse_origin(o)).collect::<anyhow::Result<Vec<_>>>()?
        };
        // Links in messages (confirm, cancel, unsubscribe) point at the first public origin.
        comms.clinic.public_url = allowed_origins[0].clone();
        let system = SystemConfig {
            clinic_id: self.clinic_id.clone(),
            country_code: self.country_code.clone(),
            time_zone,
            actors: ActorConfig {
                mailbox: self.mailbox,
                ask_timeout: Duration::from_millis(self.ask_timeout_ms.max(1)),
                idle_after: Duration::from_secs(self.actor_idle_secs.max(1)),
                max_live: self.actors_max_live,
            },
            session_ttl: Duration::from_secs(self.session_ttl_hours * 3600),
            session_idle: Duration::from_secs(sec.session_idle_minutes * 60),
            device_idle: Duration::from_secs(sec.device_idle_minutes * 60),
            max_sessions_per_user: sec.max_sessions,
            lockout_after: sec.lockout_after,
            lockout_for: Duration::from_secs(sec.lockout_minutes * 60),
            cache_bytes: self.cache_mb.max(1) << 20,
            waitlist_offer_ttl: jiff::SignedDuration::from_secs(self.waitlist_offer_secs as i64),
            document_max_bytes: self.document_max_bytes.max(1),
            backup_journal: backup.is_some(),
            min_free_bytes: ops.min_free_mb.saturating_mul(1 << 20),
            jobs: self.jobs.config()?,
            comms,
            automations_sweep_at: self.automations.sweep_at()?,
            inventory: self.inventory.config()?,
            billing: clowder_actors::billing::invoices::BillingConfig {
                terms_days: self.billing.invoice_terms_days,
                credit_on_account: self.billing.credit_on_account,
            },
            finance: clowder_actors::billing::finance::FinanceConfig {
                rate_bp: self.finance.finance_charge_bp,
                minimum: clowder_schemas::money::Cents::new(self.finance.finance_charge_min),
                grace_days: self.finance.finance_charge_grace_days,
            },
            ..SystemConfig::new(&self.data_dir)
        };
        Ok(Settings {
            listen: self.listen,
            system,
            web: WebConfig {
                // A cookie sent over HTTPS is always marked Secure.
                secure_cookies: self.secure_cookies || tls.is_some(),
                tls: tls.is_some(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
                allowed_origins,
                login_attempts: sec.login_attempts,
                login_window: Duration::from_secs(sec.login_window_secs),
                rate_per_sec: sec.rate_per_sec,
                rate_burst: sec.rate_burst,
                ws_replay_max: self.ws_replay_max,
                ws_queue: self.ws_queue,
                ws_heartbeat: Duration::from_secs(self.ws_heartbeat_secs),
                backup,
                trusted_proxies,
                error_tracking: error_tracking.is_some(),
            },
            demo: self.demo,
            admin_password: self.admin_password.clone(),
            log: self.log,
            tls,
            error_tracking,
        })
    }
}

impl Settings {
    /// The effective configuration, one `NAME = value` line each, secrets masked.
    pub fn describe(&self) -> String {
        let s = &self.system;
        let masked = match &self.admin_password {
            Some(_) => "******** (set)".to_owned(),
            None => "(not set: generated at first start)".to_owned(),
        };
        let secure_cookies = match &self.tls {
            Some(_) => "true (always with TLS)".to_owned(),
            None => self.web.secure_cookies.to_string(),
        };
        let (tls_cert, tls_key) = match &self.tls {
            Some(t) => (t.cert.display().to_string(), t.key.display().to_string()),
            None => ("(not set: plain HTTP)".to_owned(), "(not set: plain HTTP)".to_owned()),
        };
        let (sentry_dsn, sentry_environment) = match &self.error_tracking {
            Some(t) => ("******** (set)".to_owned(), t.environment.clone()),
            None => ("(not set: no error tracking)".to_owned(), "(unused)".to_owned()),
        };
        let min_free = match s.min_free_bytes >> 20 {
            0 => "0 (off)".to_owned(),
            mb => mb.to_string(),
        };
        let rows = [
            ("CLOWDER_LISTEN", self.listen.to_string()),
            ("CLOWDER_DATA_DIR", s.data_dir.display().to_string()),
            ("CLOWDER_DEMO", self.demo.to_string()),
            ("CLOWDER_ADMIN_PASSWORD", masked),
            ("CLOWDER_CLINIC_ID", s.clinic_id.clone()),
            ("CLOWDER_TIME_ZONE", s.time_zone.iana_name().unwrap_or("(system, unnamed)").to_owned()),
            ("CLOWDER_COUNTRY_CODE", s.country_code.clone()),
            ("CLOWDER_SESSION_TTL_HOURS", (s.session_ttl.as_secs() / 3600).to_string()),
            ("CLOWDER_SECURE_COOKIES", secure_cookies),
            ("CLOWDER_PUBLIC_ORIGIN", self.web.allowed_origins.join(",")),
            ("CLOWDER_SESSION_IDLE_MINUTES", (s.session_idle.as_secs() / 60).to_string()),
            ("CLOWDER_MAX_SESSIONS", s.max_sessions_per_user.to_string()),
            ("CLOWDER_DEVICE_IDLE_MINUTES", (s.device_idle.as_secs() / 60).to_string()),
            ("CLOWDER_LOCKOUT_AFTER", s.lockout_after.to_string()),
            ("CLOWDER_LOCKOUT_MINUTES", (s.lockout_for.as_secs() / 60).to_string()),
            ("CLOWDER_LOGIN_ATTEMPTS", self.web.login_attempts.to_string()),
            ("CLOWDER_LOGIN_WINDOW_SECS", self.web.login_window.as_secs().to_string()),
            ("CLOWDER_RATE_PER_SEC", self.web.rate_per_sec.to_string()),
            ("CLOWDER_RATE_BURST", self.web.rate_burst.to_string()),
            ("CLOWDER_TRUSTED_PROXIES", self.web.trusted_proxies.to_string()),
            ("CLOWDER_ACTOR_IDLE_SECS", s.actors.idle_after.as_secs().to_string()),
            ("CLOWDER_ACTORS_MAX_LIVE", s.actors.max_live.to_string()),
            ("CLOWDER_MAILBOX", s.actors.mailbox.to_string()),
            ("CLOWDER_ASK_TIMEOUT_MS", s.actors.ask_timeout.as_millis().to_string()),
            ("CLOWDER_CACHE_MB", (s.cache_bytes >> 20).to_string()),
            ("CLOWDER_WAITLIST_OFFER_SECS", s.waitlist_offer_ttl.as_secs().to_string()),
            ("CLOWDER_DOCUMENT_MAX_BYTES", s.document_max_bytes.to_string()),
            ("CLOWDER_WS_REPLAY_MAX", self.web.ws_replay_max.to_string()),
            ("CLOWDER_WS_QUEUE", self.web.ws_queue.to_string()),
            ("CLOWDER_WS_HEARTBEAT_SECS", self.web.ws_heartbeat.as_secs().to_string()),
            ("CLOWDER_LOG", format!("{:?}", self.log).to_lowercase()),
            ("CLOWDER_TLS_CERT", tls_cert),
            ("CLOWDER_TLS_KEY", tls_key),
            ("CLOWDER_SENTRY_DSN", sentry_dsn),
            ("CLOWDER_SENTRY_ENVIRONMENT", sentry_environment),
            ("CLOWDER_MIN_FREE_MB", min_free),
            ("CLOWDER_JOBS_CONCURRENCY", s.jobs.concurrency.to_string()),
            ("CLOWDER_JOBS_MAX_ATTEMPTS", s.jobs.max_attempts.to_string()),
            ("CLOWDER_JOBS_BACKOFF_BASE_MS", s.jobs.backoff_base.as_millis().to_string()),
            ("CLOWDER_JOBS_BACKOFF_CAP_MS", s.jobs.backoff_cap.as_millis().to_string()),
            (
                "CLOWDER_JOBS_CLEANUP_AT",
                s.jobs.cleanup_at.map_or_else(|| "off".to_owned(), |t| t.strftime("%H:%M").to_string()),
            ),
            ("CLOWDER_JOBS_SELFTEST", s.jobs.selftest.to_string()),
            (
                "CLOWDER_AUTOMATIONS_SWEEP_AT",
                s.automations_sweep_at.map_or_else(|| "off".to_owned(), |t| t.strftime("%H:%M").to_string()),
            ),
            ("CLOWDER_INVENTORY_EXPIRING_DAYS", s.inventory.expiring_days.to_string()),
            (
                "CLOWDER_INVENTORY_EXPIRE_AT",
                s.inventory.expire_at.map_or_else(|| "off".to_owned(), |t| t.strftime("%H:%M").to_string()),
            ),
            ("CLOWDER_INVOICE_TERMS_DAYS", s.billing.terms_days.to_string()),
            ("CLOWDER_CREDIT_ON_ACCOUNT", s.billing.credit_on_account.to_string()),
            ("CLOWDER_FINANCE_CHARGE_BP", s.finance.rate_bp.to_string()),
            ("CLOWDER_FINANCE_CHARGE_MIN", s.finance.minimum.get().to_string()),
            ("CLOWDER_FINANCE_CHARGE_GRACE_DAYS", s.finance.grace_days.to_string()),
        ];
        let mut rows: Vec<(&str, String)> = rows.into_iter().collect();
        match &self.web.backup {
            None => rows.push(("CLOWDER_BACKUP_DIR", "(not set: backups off)".into())),
            Some(b) => {
                use clowder_ops::backup::destination::DestinationConfig;
                match &b.destination {
                    DestinationConfig::Local { dir } => rows.push(("CLOWDER_BACKUP_DIR", dir.display().to_string())),
                    DestinationConfig::S3 { bucket, prefix, endpoint, region, access_key_id, allow_http, .. } => {
                        rows.push(("CLOWDER_BACKUP_S3_BUCKET", bucket.clone()));
                        rows.push(("CLOWDER_BACKUP_S3_PREFIX", prefix.clone()));
                        rows.push(("CLOWDER_BACKUP_S3_ENDPOINT", endpoint.clone().unwrap_or_else(|| "(AWS)".into())));
                        rows.push(("CLOWDER_BACKUP_S3_REGION", region.clone()));
                        rows.push(("CLOWDER_BACKUP_S3_ACCESS_KEY_ID", access_key_id.clone()));
                        rows.push(("CLOWDER_BACKUP_S3_SECRET_ACCESS_KEY", "******** (set)".into()));
                        rows.push(("CLOWDER_BACKUP_S3_ALLOW_HTTP", allow_http.to_string()));
                    }
                }
                rows.push(("CLOWDER_BACKUP_RECIPIENT", b.recipient.as_str().to_owned()));
                rows.push(("CLOWDER_BACKUP_INCREMENTAL_MINUTES", (b.incremental_every.as_secs() / 60).to_string()));
                rows.push(("CLOWDER_BACKUP_FULL_AT", b.full_at.strftime("%H:%M").to_string()));
                rows.push(("CLOWDER_BACKUP_KEEP_INCREMENTAL_HOURS", b.retention.keep_all_hours.to_string()));
                rows.push(("CLOWDER_BACKUP_KEEP_DAILY_DAYS", b.retention.daily_days.to_string()));
                rows.push(("CLOWDER_BACKUP_KEEP_MONTHLY_MONTHS", b.retention.monthly_months.to_string()));
            }
        }
        CommsArgs::describe(&s.comms, &mut rows);
        rows.iter().map(|(k, v)| format!("{k:<37} = {v}\n")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    #[test]
    fn check_config_masks_the_sentry_dsn_and_shows_the_operations_settings() {
        use clap::Parser;
        let dsn = "https://secretkey123@sentry.example/42";
        let args = ["clowder", "--sentry-dsn", dsn, "--trusted-proxies", "127.0.0.1,10.0.0.0/8", "--min-free-mb", "0"];
        let settings = Cli::try_parse_from(args).unwrap().serve.settings().unwrap();
        // Column widths aside.
        let shown = settings.describe().split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ");
        assert!(!shown.contains("secretkey123") && !format!("{settings:?}").contains("secretkey123"), "{shown}");
        assert!(shown.contains("CLOWDER_SENTRY_DSN = ******** (set)"), "{shown}");
        assert!(shown.contains("CLOWDER_SENTRY_ENVIRONMENT = production"), "{shown}");
        assert!(shown.contains("CLOWDER_TRUSTED_PROXIES = 127.0.0.1/32,10.0.0.0/8"), "{shown}");
        assert!(shown.contains("CLOWDER_MIN_FREE_MB = 0 (off)"), "{shown}");
        assert!(settings.web.error_tracking && settings.system.min_free_bytes == 0);

        let defaults = Cli::try_parse_from(["clowder"]).unwrap().serve.settings().unwrap();
        assert!(defaults.error_tracking.is_none() && !defaults.web.error_tracking);
        assert_eq!(defaults.system.min_free_bytes, 512 << 20);
        assert!(defaults.web.trusted_proxies.is_empty());
        let bad = Cli::try_parse_from(["clowder", "--trusted-proxies", "proxy.lan"]).unwrap().serve.settings();
        assert!(bad.unwrap_err().to_string().contains("CLOWDER_TRUSTED_PROXIES"));
    }

    #[test]
    fn comms_settings_are_checked_and_their_secrets_masked() {
        use clap::Parser;
        let parse = |extra: &[&str]| {
            let mut args = vec!["clowder"];
            args.extend_from_slice(extra);
            Cli::try_parse_from(args).unwrap().serve.settings()
        };
        let defaults = parse(&[]).unwrap();
        let shown = defaults.describe();
        assert!(shown.contains("CLOWDER_EMAIL_PROVIDER") && shown.contains("= log"), "{shown}");
        assert!(matches!(defaults.system.comms.email, clowder_actors::comms::EmailSettings::Log));

        let err = |extra: &[&str]| parse(extra).unwrap_err().to_string();
        assert!(err(&["--email-provider", "smtp"]).contains("CLOWDER_EMAIL_FROM"));
        assert!(err(&["--email-provider", "smtp", "--email-from", "a@clinic.example"]).contains("CLOWDER_SMTP_HOST"));
        let remote_plain =
            ["--email-provider", "smtp", "--email-from", "a@clinic.example", "--smtp-host", "mail.example.com"];
        assert!(err(&[&remote_plain[..], &["--smtp-tls", "none"]].concat()).contains("localhost"));
        assert!(err(&[&remote_plain[..], &["--smtp-username", "u"]].concat()).contains("go together"));
        assert!(err(&["--email-from", "Clinic <nope>"]).contains("CLOWDER_EMAIL_FROM"));
        assert!(err(&["--sms-provider", "twilio"]).contains("CLOWDER_TWILIO_ACCOUNT_SID"));
        let sid = "AC0123456789abcdef0123456789abcdef";
        let twilio = [
            "--sms-provider",
            "twilio",
            "--twilio-account-sid",
            sid,
            "--twilio-auth-token",
            "tok-secret-1",
            "--clinic-name",
            "Whisker Cat Clinic",
        ];
        assert!(err(&twilio).contains("CLOWDER_TWILIO_FROM"));
        // A real provider needs the clinic's name: no client gets a message from a placeholder.
        assert!(err(&[&twilio[..6], &["--twilio-from", "+15550001111"]].concat()).contains("CLOWDER_CLINIC_NAME"));
        assert!(
            err(&[&twilio[..], &["--twilio-from", "+15550001111", "--twilio-base-url", "ftp://x"]].concat())
                .contains("CLOWDER_TWILIO_BASE_URL")
        );

        let full = [
            &twilio[..],
            &["--twilio-from", "+15550001111"],
            &["--email-provider", "sendgrid", "--email-from", "Whisker <front@whisker.example>"],
            &["--sendgrid-api-key", "SG.very-secret-key", "--smtp-password", "unused-smtp-secret"],
        ]
        .concat();
        let settings = parse(&full).unwrap();
        let shown = settings.describe();
        let debug = format!("{settings:?}");
        for secret in ["tok-secret-1", "SG.very-secret-key", "unused-smtp-secret"] {
            assert!(!shown.contains(secret) && !debug.contains(secret), "{secret} leaked: {shown}");
        }
        let shown = shown.split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ");
        assert!(shown.contains("CLOWDER_SENDGRID_API_KEY = ******** (set)"), "{shown}");
        assert!(shown.contains("CLOWDER_TWILIO_AUTH_TOKEN = ******** (set)"), "{shown}");
        assert!(shown.contains("CLOWDER_EMAIL_FROM = Whisker <front@whisker.example>"), "{shown}");
        assert_eq!(settings.system.comms.clinic.name, "Whisker Cat Clinic");
        assert_eq!(settings.system.comms.quiet_hours.start, "09:00");
        let any_time = parse(&["--quiet-hours", "00:00-24:00"]).unwrap();
        assert_eq!(
            (any_time.system.comms.quiet_hours.start.as_str(), any_time.system.comms.quiet_hours.end.as_str()),
            ("00:00", "24:00")
        );
        for bad in ["9-5", "19:00-09:00", "09:00", "09:00-25:00"] {
            assert!(err(&["--quiet-hours", bad]).contains("CLOWDER_QUIET_HOURS"), "{bad}");
        }
        assert_eq!(settings.system.comms.clinic.public_url, "http://127.0.0.1:8080", "links use the first origin");
    }

    #[test]
    fn webhook_settings_are_checked() {
        use clap::Parser;
        let parse = |extra: &[&str]| {
            let mut args = vec!["clowder"];
            args.extend_from_slice(extra);
            Cli::try_parse_from(args).unwrap().serve.settings()
        };
        let err = |extra: &[&str]| parse(extra).unwrap_err().to_string();
        let inbound = ["--twilio-inbound-url", "https://clinic.example/hooks/twilio/inbound"];
        assert!(err(&inbound).contains("CLOWDER_TWILIO_AUTH_TOKEN"), "the signature needs its key");
        assert!(err(&["--sendgrid-webhook-public-key", "not-a-key"]).contains("CLOWDER_SENDGRID_WEBHOOK_PUBLIC_KEY"));
        assert!(err(&["--sendgrid-webhook-max-age-secs", "1"]).contains("CLOWDER_SENDGRID_WEBHOOK_MAX_AGE_SECS"));
        assert!(err(&["--twilio-inbound-url", "clinic.example/in", "--twilio-auth-token", "t"]).contains("http(s)"));
        // SendGrid's format: base64 of a P-256 SubjectPublicKeyInfo (here the curve's generator).
        let key = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEaxfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpZP40Li/hp/m47n60p8D54WK84zV2sxXs7LtkBoN79R9Q==";
        let settings =
            parse(&[&inbound[..], &["--twilio-auth-token", "tok-2", "--sendgrid-webhook-public-key", key]].concat())
                .unwrap();
        let hooks = &settings.system.comms.hooks;
        assert_eq!(hooks.sendgrid_key.as_ref().map(Vec::len), Some(65));
        assert_eq!(hooks.twilio_auth_token.as_ref().map(|t| t.expose()), Some("tok-2"));
        let shown = settings.describe();
        assert!(shown.contains("CLOWDER_TWILIO_INBOUND_URL") && !shown.contains("tok-2"), "{shown}");
    }

    #[test]
    fn the_automation_sweep_time_is_a_clinic_time_or_off() {
        use clap::Parser;
        let parse = |extra: &[&str]| {
            let mut args = vec!["clowder"];
            args.extend_from_slice(extra);
            Cli::try_parse_from(args).unwrap().serve.settings()
        };
        let defaults = parse(&[]).unwrap();
        assert_eq!(defaults.system.automations_sweep_at, Some(jiff::civil::time(10, 0, 0, 0)));
        assert!(defaults.describe().contains("CLOWDER_AUTOMATIONS_SWEEP_AT"));
        let early = parse(&["--automations-sweep-at", "07:15"]).unwrap();
        assert_eq!(early.system.automations_sweep_at, Some(jiff::civil::time(7, 15, 0, 0)));
        assert_eq!(parse(&["--automations-sweep-at", "off"]).unwrap().system.automations_sweep_at, None);
        let bad = parse(&["--automations-sweep-at", "25:00"]).unwrap_err().to_string();
        assert!(bad.contains("CLOWDER_AUTOMATIONS_SWEEP_AT"), "{bad}");
    }

    #[test]
    fn debug_output_never_shows_the_admin_password() {
        let secret: Secret = "hunter2-but-longer-than-twelve".into();
        assert!(!format!("{secret:?}").contains("hunter2"));
        assert_eq!(secret.expose(), "hunter2-but-longer-than-twelve");
    }

    #[test]
    fn backup_settings_are_checked_and_their_secret_masked() {
        use clap::Parser;
        let parse = |extra: &[&str]| {
            let mut args = vec!["clowder"];
            args.extend_from_slice(extra);
            Cli::try_parse_from(args).unwrap().serve.settings()
        };
        assert!(parse(&[]).unwrap().web.backup.is_none(), "no destination: backups off");
        let err = parse(&["--backup-dir", "/srv/b"]).unwrap_err().to_string();
        assert!(err.contains("CLOWDER_BACKUP_RECIPIENT") && err.contains("keygen"), "{err}");
        let err = parse(&["--backup-dir", "/srv/b", "--backup-recipient", "not-a-key"]).unwrap_err().to_string();
        assert!(err.contains("not an age recipient"), "{err}");
        let err = parse(&["--backup-s3-bucket", "b", "--backup-recipient", "x"]).unwrap_err().to_string();
        assert!(err.contains("ACCESS_KEY_ID"), "{err}");
        let (_, recipient) = clowder_ops::backup::crypt::generate();
        let err = parse(&["--backup-dir", "/srv/b", "--backup-recipient", &recipient, "--backup-full-at", "25:00"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("CLOWDER_BACKUP_FULL_AT"), "{err}");
        let s3 = [
            "--backup-s3-bucket",
            "clinic",
            "--backup-s3-access-key-id",
            "AKIAEXAMPLE",
            "--backup-s3-secret-access-key",
            "very-secret-value",
            "--backup-recipient",
            &recipient,
        ];
        let settings = parse(&s3).unwrap();
        assert!(settings.system.backup_journal, "a destination keeps the change journal");
        let shown = settings.describe();
        assert!(
            !shown.contains("very-secret-value") && !format!("{settings:?}").contains("very-secret-value"),
            "{shown}"
        );
        assert!(shown.contains("CLOWDER_BACKUP_S3_BUCKET") && shown.contains(&recipient), "{shown}");
    }
}
