//! Clowder's live core: the actor runtime, the domain actors and their rules, and the redb
//! store with its group-commit task.
//!
//! Only this crate opens the store. The rule it enforces: a change is acknowledged only
//! after the write transaction that holds it (records, index keys, events) has been fsync'd.
//! Nothing here knows about HTTP; errors are domain words (`Error`) that `web` maps.

pub mod audit;
pub mod billing;
pub mod clinical;
pub mod clock;
pub mod comms;
pub mod ctx;
pub mod error;
pub mod idempotency;
pub mod inventory;
pub mod jobs;
pub mod live;
pub mod metrics;
pub mod people;
pub mod printing;
pub mod records;
pub mod runtime;
pub mod scheduling;
pub mod search;
pub mod secrets;
pub mod staff;
pub mod store;
pub mod system;

pub use clock::{Clock, ManualClock, SystemClock};
pub use ctx::{Ctx, SystemConfig};
pub use error::Error;
pub use system::System;
