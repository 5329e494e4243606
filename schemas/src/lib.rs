//! Clowder's vocabulary: ids, validated value types, stored records, events, API request and
//! response types, and the stable error-code table.
//!
//! This crate does no I/O and knows nothing of storage, HTTP or tokio. Everything a user can
//! type is parsed here into a type that cannot hold an invalid value ("parse, don't
//! validate"); the other crates only ever see the parsed types.

pub mod access;
pub mod analytics;
pub mod appointment_types;
pub mod appointments;
pub mod audit;
pub mod automations;
pub mod batches;
pub mod campaigns;
pub mod capture;
pub mod catalogue;
pub mod chart;
pub mod clients;
pub mod clinical_facts;
pub mod comms;
pub mod consent;
pub mod controlled;
pub mod devices;
pub mod errors;
pub mod estimates;
pub mod events;
pub mod formulary;
pub mod hl7;
pub mod idempotency;
pub mod ids;
pub mod inventory;
pub mod invoices;
pub mod jobs;
pub mod labs;
pub mod locations;
pub mod loyalty;
pub mod messages;
pub mod money;
pub mod notes;
pub mod pagination;
pub mod passwords;
pub mod patch;
pub mod patients;
pub mod payment_plans;
pub mod payments;
pub mod prescriptions;
pub mod printing;
pub mod problems;
pub mod protocols;
pub mod records;
pub mod search;
pub mod staff;
pub mod templates;
pub mod users;
pub mod vaccinations;
pub mod vaccine_protocol;
pub mod values;
pub mod visits;
pub mod vitals;
pub mod waitlist;
pub mod wards;
pub mod whiteboard;

pub use errors::{ErrorBody, ErrorCode, ErrorKind, ErrorResponse, ValidationError};
pub use ids::BatchId;
pub use ids::JobId;
pub use ids::MessageId;
pub use ids::TemplateId;
pub use ids::{
    AppointmentId, AppointmentTypeId, ClientId, DeviceId, FeedId, LocationId, OfferId, PatientId, RoleId, RoomId,
    SessionId, ShiftId, StaffId, TimeOffId, UserId, WaitlistId,
};
pub mod accounting;
pub mod consent_forms;
pub mod documents;
pub mod reports;
pub mod statements;
