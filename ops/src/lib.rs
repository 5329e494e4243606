//! Running Clowder in production: the health and readiness model, the metrics registry and
//! backups (take, verify, keep, restore). Nothing here serves HTTP; `web` exposes these models
//! and `clowder` the commands. The deployment files are in `ops/deploy/`.

pub mod backup;
pub mod health;
pub mod metrics;
