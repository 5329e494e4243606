//! The medical record: visits, SOAP notes, vitals and the problem list, as record kinds on the
//! generic record mechanism (`crate::records`). Every read is audited; events carry ids and
//! changed field names only (docs/websocket.md).
//!
//! Domain dependencies: people, scheduling, jobs.

pub mod facts;
pub mod problems;
pub mod vaccinations;
pub mod vitals;
