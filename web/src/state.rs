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
}

/// What handlers share: the running core, metrics and settings. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub system: Arc<System>,
    pub metrics: Metrics,
    pub config: WebConfig,
    pub limits: Arc<crate::limits::Limits>,
}

impl AppState {
    pub fn new(system: Arc<System>, config: WebConfig) -> Self {
        let metrics = Metrics::new(&system);
        let limits = crate::limits::Limits::new(&config);
        Self(Arc::new(Inner { system, metrics, config, limits }))
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
