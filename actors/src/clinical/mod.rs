//! The medical record: visits, SOAP notes, vitals and the problem list, as record kinds on the
//! generic record mechanism (`crate::records`). Every read is audited; events carry ids and
//! changed field names only (docs/websocket.md).
//!
//! Domain dependencies: people, scheduling, jobs, staff (the controlled-drug register checks
//! a witness's PIN with `staff::accounts`).

pub mod controlled;
pub mod facts;
pub mod prescriptions;
pub mod problems;
pub mod vitals;
