//! Money: the service catalogue, invoices (with their credit notes), estimates and payment
//! plans, as record kinds on the generic record mechanism (`crate::records`). Every amount is integer cents computed by
//! `clowder_schemas::money`'s one rounding rule; a client's balance is derived from their
//! invoices, never stored. Invoices' overdue moves run as durable jobs (`crate::jobs`). The
//! design, the rounding rule with a worked example, and what is still to come (payments,
//! charge capture) are in docs/billing.md.
//!
//! A payment plan's missed instalment is told to the client through the comms outbox.
//!
//! Domain dependencies: jobs, comms.

pub mod catalogue;
pub mod estimates;
pub mod invoices;
pub mod plans;
