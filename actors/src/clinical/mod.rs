//! The medical record: visits, SOAP notes, vitals and the problem list, as record kinds on the
//! generic record mechanism (`crate::records`). Every read is audited; events carry ids and
//! changed field names only (docs/websocket.md).
//!
//! `visits` (the visit kind), `notes` (signed notes and addenda), `drafts` (autosaved drafts
//! outside the event log, and note templates), `follow` (visits following their
//! appointments through a durable job), `timeline` (a cat's entries of every kind, newest
//! first), `chart` (a cat's chart in one read from one snapshot), `prescriptions` (dose arithmetic and safety checks against the formulary) and
//! `controlled` (the controlled-drug register, which checks a witness's PIN with
//! `staff::accounts`) with `register_pdf` (the register as a printed document), the printed
//! documents of the record (`certificates`, `visit_pdfs`, `record_pdf`, `labels`, and
//! `print_batches` for many at once; docs/documents.md), `unsigned`
//! (the board's live alert for a note unsigned after 24 h, through a durable job) and `import`
//! (visits and notes of the past, for the demo and migrations), `labs` (lab orders, results
//! flagged against the reference ranges, review, and the import's unmatched queue), `documents`
//! (uploaded files and signed forms on the record, a kind) with `document_files` (their
//! contents on disk by hash), `consent_forms` (versioned consent templates, and forms signed on
//! the tablet whose signed PDF is a document), `wards` (the hospital ward: wards, admissions and
//! their treatment sheets, the live board), `protocols` (templates of dated steps with costs,
//! versioned, and the built-in starters) and `treatment_plans` (a protocol applied to a cat: steps
//! booked, done or skipped, every change a revision; docs/protocols.md) with `plan_steps` (a booked
//! step done when its appointment's visit completes, through a durable job) and `plan_booking`
//! (a step's appointment booked and linked in one request, withdrawn if the link is refused).
//! The design is in docs/clinical.md.
//!
//! Domain dependencies: people, scheduling, jobs, staff.

pub mod certificates;
pub mod chart;
pub mod consent_forms;
pub mod controlled;
pub mod document_files;
pub mod documents;
pub mod drafts;
pub mod facts;
pub mod follow;
pub mod import;
pub mod labels;
pub mod labs;
pub mod notes;
pub mod plan_booking;
pub mod plan_steps;
pub mod prescriptions;
pub mod print_batches;
pub mod problems;
pub mod protocols;
pub mod record_pdf;
pub mod register_pdf;
#[cfg(test)]
mod tests;
pub mod timeline;
pub mod treatment_plans;
pub mod unsigned;
pub mod vaccinations;
pub mod visit_pdfs;
pub mod visits;
pub mod vitals;
pub mod ward_board;
pub mod wards;
