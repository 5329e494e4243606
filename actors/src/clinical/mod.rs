//! The medical record: visits, SOAP notes, vitals and the problem list, as record kinds on the
//! generic record mechanism (`crate::records`). Every read is audited; events carry ids and
//! changed field names only (docs/websocket.md).
//!
//! The controlled-drug register checks a witness's PIN with `staff::accounts`.
//!
//! Domain dependencies: people, scheduling, jobs, staff.

pub mod controlled;
pub mod facts;
pub mod prescriptions;
pub mod problems;
pub mod vitals;
