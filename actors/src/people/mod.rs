//! The people a clinic cares for: clients (cat owners) and patients (their cats), as record
//! kinds on the generic record mechanism (`crate::records`).
//!
//! Domain dependencies: none.

pub mod clients;
pub mod patients;
