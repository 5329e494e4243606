//! End-to-end tests: the real application on an ephemeral port with a temporary data
//! directory, driven over real sockets. One test binary (see STYLE.md); one module per area.

mod access;
mod architecture;
mod audit;
mod auth;
mod availability;
mod backup_destinations;
mod backups;
mod browser;
mod calendar;
mod clients;
mod demo;
mod disk;
mod docs;
mod durability;
mod errors;
mod helpers;
mod ics;
mod idempotency;
mod jobs;
mod live;
mod messages;
mod operations;
mod ops_files;
mod patients;
mod providers;
mod proxies;
mod rooms;
mod scheduling;
mod search;
mod secrets;
mod tls;
mod tracking;
mod upgrade;
mod views;
mod waitlist;
