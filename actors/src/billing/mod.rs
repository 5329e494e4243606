//! Money: the service catalogue and invoices (with their credit notes), as record kinds on
//! the generic record mechanism (`crate::records`). Every amount is integer cents computed by
//! `clowder_schemas::money`'s one rounding rule; a client's balance is derived from their
//! invoices, never stored. Invoices' overdue moves run as durable jobs (`crate::jobs`). The
//! design, the rounding rule with a worked example, and what is still to come (payments,
//! charge capture) are in docs/billing.md.
//!
//! Domain dependencies: jobs.

pub mod catalogue;
pub mod invoices;
pub mod reports;
pub mod seed;
