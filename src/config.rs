//! Configuration: command-line flags with environment fallbacks (clap), validated into
//! [`Settings`]. `clowder check-config` prints the effective values with secrets masked.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use clowder_actors::SystemConfig;
use clowder_actors::runtime::ActorConfig;
use clowder_web::WebConfig;
use jiff::tz::TimeZone;

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
    pub admin_password: Option<String>,
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
    /// Mark the session cookie Secure (set when a TLS proxy sits in front).
    #[arg(long, env = "CLOWDER_SECURE_COOKIES", value_parser = clap::builder::BoolishValueParser::new(), default_missing_value = "true", num_args = 0..=1, default_value = "false")]
    pub secure_cookies: bool,
    /// Per-entity actors stop after this many idle seconds.
    #[arg(long, env = "CLOWDER_ACTOR_IDLE_SECS", default_value_t = 120)]
    pub actor_idle_secs: u64,
    /// Mailbox capacity of each actor; beyond it requests get 503 + Retry-After.
    #[arg(long, env = "CLOWDER_MAILBOX", default_value_t = 64)]
    pub mailbox: usize,
    /// How long a request waits for an actor's answer, milliseconds.
    #[arg(long, env = "CLOWDER_ASK_TIMEOUT_MS", default_value_t = 10_000)]
    pub ask_timeout_ms: u64,
    /// Store page cache, MiB.
    #[arg(long, env = "CLOWDER_CACHE_MB", default_value_t = 64)]
    pub cache_mb: usize,
    /// Log format.
    #[arg(long, env = "CLOWDER_LOG", value_enum, default_value_t = LogFormat::Text)]
    pub log: LogFormat,
}

/// Validated settings of a server.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub system: SystemConfig,
    pub web: WebConfig,
    pub demo: bool,
    pub admin_password: Option<String>,
    pub log: LogFormat,
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
        if !(1..=65_536).contains(&self.mailbox) {
            bail!("CLOWDER_MAILBOX must be between 1 and 65536");
        }
        if let Some(p) = &self.admin_password {
            clowder_actors::accounts::check_password("CLOWDER_ADMIN_PASSWORD", p, "admin")
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        let system = SystemConfig {
            clinic_id: self.clinic_id.clone(),
            country_code: self.country_code.clone(),
            time_zone,
            actors: ActorConfig {
                mailbox: self.mailbox,
                ask_timeout: Duration::from_millis(self.ask_timeout_ms.max(1)),
                idle_after: Duration::from_secs(self.actor_idle_secs.max(1)),
            },
            session_ttl: Duration::from_secs(self.session_ttl_hours * 3600),
            cache_bytes: self.cache_mb.max(1) << 20,
            ..SystemConfig::new(&self.data_dir)
        };
        Ok(Settings {
            listen: self.listen,
            system,
            web: WebConfig { secure_cookies: self.secure_cookies, version: env!("CARGO_PKG_VERSION").to_owned() },
            demo: self.demo,
            admin_password: self.admin_password.clone(),
            log: self.log,
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
        let rows = [
            ("CLOWDER_LISTEN", self.listen.to_string()),
            ("CLOWDER_DATA_DIR", s.data_dir.display().to_string()),
            ("CLOWDER_DEMO", self.demo.to_string()),
            ("CLOWDER_ADMIN_PASSWORD", masked),
            ("CLOWDER_CLINIC_ID", s.clinic_id.clone()),
            ("CLOWDER_TIME_ZONE", s.time_zone.iana_name().unwrap_or("(system, unnamed)").to_owned()),
            ("CLOWDER_COUNTRY_CODE", s.country_code.clone()),
            ("CLOWDER_SESSION_TTL_HOURS", (s.session_ttl.as_secs() / 3600).to_string()),
            ("CLOWDER_SECURE_COOKIES", self.web.secure_cookies.to_string()),
            ("CLOWDER_ACTOR_IDLE_SECS", s.actors.idle_after.as_secs().to_string()),
            ("CLOWDER_MAILBOX", s.actors.mailbox.to_string()),
            ("CLOWDER_ASK_TIMEOUT_MS", s.actors.ask_timeout.as_millis().to_string()),
            ("CLOWDER_CACHE_MB", (s.cache_bytes >> 20).to_string()),
            ("CLOWDER_LOG", format!("{:?}", self.log).to_lowercase()),
        ];
        rows.iter().map(|(k, v)| format!("{k:<26} = {v}\n")).collect()
    }
}
