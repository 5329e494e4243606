//! REST handlers, one module per resource. Handlers translate HTTP to calls on the actors'
//! services and back; they hold no business rules.

pub mod analytics;
pub mod appointment_types;
pub mod appointments;
pub mod audit;
pub mod auth;
pub mod automations;
pub mod backups;
pub mod calendar_feeds;
pub mod campaigns;
pub mod client_page;
pub mod clients;
pub mod clinical_facts;
pub mod communications;
pub mod consent;
pub mod devices;
pub mod health;
pub mod hooks;
pub mod jobs;
pub mod links;
pub mod locations;
pub mod messages;
pub mod pages;
pub mod patients;
pub mod problems;
pub mod roles;
pub mod search;
pub mod staff;
pub mod subscribe;
pub mod templates;
pub mod tracking;
pub mod unsubscribe;
pub mod users;
pub mod vaccinations;
pub mod vitals;
pub mod waitlist;
