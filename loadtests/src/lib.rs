//! Load scenarios against a running Clowder server, with the disk's fsync latency measured in
//! the same run as the physical floor the write figures are judged against.
//!
//! The harness sees the server only as its HTTP clients do: it depends on `clowder-schemas`
//! for the wire types and on no other Clowder crate. It refuses non-loopback addresses
//! unless told otherwise, bounds every request with a timeout and the whole run with a hard
//! cap, and reports the project's performance goals as figures without failing on them.
//!
//! Codemap: [`cli`] (arguments and time budgets), [`target`] (address check), [`api`] (HTTP
//! calls), [`bodies`] (request bodies), [`load`] (closed-loop driver), [`scenarios`] (`read`,
//! `write`, `book`, `availability`, `signin`, `fanout`, `search`), [`compare`] (the report of
//! audited routes next to the session route, CPU per request and RSS from `/proc`, the store's
//! share of a write from the server's histogram through [`server_metrics`]), [`fanout`] (the dashboards'
//! sockets, the room changes, gap counting, `/proc` figures), [`scheduling`] (the booking walk,
//! the availability seeding plan and answer check), [`search`] (the search scenario's clinic,
//! queries, probe check and figures), [`fsync`] (the floor), [`stats`] (tallies and
//! percentiles), [`report`] (table, JSON lines, goals, comparisons, hints), [`run`] (one run
//! in order), [`clinic`] (seeding a clinic of a given size and years of history),
//! [`backups`] (write latency beside backups; one backup now), [`drill`] (the restore
//! drill's writer and check), [`reminders`] (issue 14's measure: booking beside pending jobs,
//! reminders through SMTP) with its [`smtp_sink`], [`chart`] (issue 15's measures: a chart with
//! ten years of history opened, SOAP notes autosaved), [`reports`] (issue 16's: AR ageing and
//! revenue over years of seeded invoices, checkouts), [`hl7`] (issue 17's: a burst of ORU^R01
//! lab results, matched per second, p99, and the `lab_result_ready` event's latency).

pub mod api;
pub mod backups;
pub mod bodies;
pub mod chart;
pub mod cli;
pub mod clinic;
pub mod compare;
pub mod drill;
pub mod fanout;
pub mod fsync;
pub mod hl7;
pub mod load;
pub mod process;
pub mod reminders;
pub mod report;
pub mod reports;
pub mod rng;
pub mod run;
pub mod scenarios;
pub mod scheduling;
pub mod search;
pub mod server_metrics;
pub mod smtp_sink;
pub mod stats;
pub mod target;
pub mod ward;
