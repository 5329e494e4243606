//! Shared state of every handler.

use std::sync::Arc;

use clowder_actors::System;
use clowder_ops::metrics::Metrics;

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Mark the session cookie `Secure` (when served over TLS).
    pub secure_cookies: bool,
    /// Served over HTTPS by Clowder itself (`--tls-cert`/`--tls-key`), e.g. to send HSTS.
    pub tls: bool,
    /// The build's version, reported by `/health/detailed`.
    pub version: String,
    /// Origins (`scheme://host:port`) cookie-authenticated changes may come from.
    pub allowed_origins: Vec<String>,
    /// Sign-in attempts per IP address, and per username, in each `login_window`.
    pub login_attempts: u32,
    pub login_window: std::time::Duration,
    /// Sustained requests per second, and burst, allowed to one session.
    pub rate_per_sec: u32,
    pub rate_burst: u32,
    /// The most events `/ws` replays for a `since`; further back answers `resync_required`.
    pub ws_replay_max: u64,
    /// Frames one socket may have waiting; a screen further behind is told to resync.
    pub ws_queue: usize,
    /// How often `/ws` sockets are pinged and their sessions checked.
    pub ws_heartbeat: std::time::Duration,
    /// Backups: where to and how often; `None` when no destination is configured.
    pub backup: Option<clowder_ops::backup::BackupSettings>,
    /// Reverse proxies whose forwarding headers name the client (`client_addr`).
    pub trusted_proxies: crate::client_addr::TrustedProxies,
    /// Panics and 5xx answers are reported to Sentry (`tracking`); the client is set up by
    /// the binary.
    pub error_tracking: bool,
}

/// What handlers share: the running core, metrics and settings. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub system: Arc<System>,
    pub metrics: Metrics,
    pub config: WebConfig,
    pub limits: Arc<crate::limits::Limits>,
    /// The live gateway's hub (`/ws`).
    pub hub: Arc<crate::ws::Hub>,
    /// The backup service, when backups are configured.
    pub backups: Option<Arc<clowder_ops::backup::Backups>>,
}

impl AppState {
    /// Fails only when backups are configured and their destination or working directory
    /// cannot be opened.
    pub fn new(system: Arc<System>, config: WebConfig) -> Result<Self, clowder_ops::backup::BackupFailure> {
        let metrics = Metrics::new(&system);
        let limits = crate::limits::Limits::new(&config);
        let hub = crate::ws::Hub::new(config.ws_replay_max, config.ws_queue, config.ws_heartbeat);
        let backups = match &config.backup {
            Some(settings) => Some(clowder_ops::backup::Backups::new(
                system.store().clone(),
                system.ctx.clock.clone(),
                system.ctx.config.time_zone.clone(),
                settings.clone(),
                &system.ctx.config.data_dir,
                metrics.backup.clone(),
            )?),
            None => None,
        };
        Ok(Self(Arc::new(Inner { system, metrics, config, limits, hub, backups })))
    }

    /// Starts the tasks the HTTP layer runs beside requests: the live gateway's hub (whose
    /// handle is returned) and the backup schedule (stopped by [`AppState::stop_background`]).
    pub fn start_background(&self) -> tokio::task::JoinHandle<()> {
        if let Some(b) = &self.backups {
            b.start();
        }
        self.hub.start(self.clone())
    }

    /// Stops the backup schedule (before the store closes).
    pub fn stop_background(&self) {
        if let Some(b) = &self.backups {
            b.stop();
        }
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
