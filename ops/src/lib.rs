//! Running Clowder in production: the health and readiness model and the metrics registry.
//! (Backups and the deployment runbook join here in later work.) Nothing here serves HTTP;
//! `web` exposes these models.

pub mod backup;
pub mod health;
pub mod metrics;
