//! The `clowder` binary's library half: configuration, telemetry and
//! [`Application::build`], which wires the store, the actors and the HTTP router together.
//! Composition only: no business rules live here. (Split from `main.rs` so integration tests
//! can start the real application in-process on port 0.)

pub mod app;
pub mod backup_cli;
pub mod bootstrap;
pub mod config;
pub mod demo;
pub mod telemetry;

pub use app::Application;
pub use config::Settings;
