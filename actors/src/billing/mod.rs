//! Money: the service catalogue, invoices (with their credit notes), estimates and payment
//! plans, as record kinds on the generic record mechanism (`crate::records`). Every amount is integer cents computed by
//! `clowder_schemas::money`'s one rounding rule; a client's balance is derived from their
//! invoices, never stored. Invoices' overdue moves run as durable jobs (`crate::jobs`). The
//! design, the rounding rule with a worked example, and what is still to come are in
//! docs/billing.md. Charge capture (`capture`) follows the event log and fills visits' draft
//! invoices; `generate` is the batch that issues the invoices of completed visits, `batch_ops`
//! the batches over selected invoices (discount, CSV), `accounting` the accounting export. It uses
//! clinical for the formulary (a catalogue item's drug link is resolved through it).
//!
//! A payment plan's missed instalment is told to the client through the comms outbox.
//!
//! Domain dependencies: clinical, jobs, comms.

pub mod accounting;
pub mod batch_ops;
pub mod capture;
pub mod catalogue;
pub mod credit;
pub mod estimates;
pub mod finance;
pub mod generate;
pub mod invoices;
pub mod listing;
pub mod loyalty;
pub mod plans;
pub mod receipt;
pub mod reports;
pub mod seed;
pub mod statements;
