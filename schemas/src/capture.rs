//! Charge capture's records: what a clinical event left on a visit's draft invoice when no
//! catalogue item charges it (an **uncharged** entry, listed on the invoice so the front desk
//! can add it by hand: never a silent loss), the follower's cursor in the event log, and the
//! batch that issues the invoices of a date range of completed visits with its report.
//! The design is in docs/billing.md, "Charge capture".

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::errors::ValidationError;
use crate::ids::{InvoiceId, UserId, VisitId};
use crate::money::Quantity;
use crate::records::Record;

/// Longest source key (`dispense:<prescription id>/<fill>` is about 40 characters).
pub const MAX_SOURCE_CHARS: usize = 120;

/// A clinical event charge capture found no catalogue item for: it is listed on the visit's
/// draft invoice, with what it was, until staff mark it resolved (charged by hand or not
/// charged on purpose).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UnchargedEntry {
    /// What recorded it (`vaccination:<id>`, `dispense:<prescription id>/<fill>`,
    /// `visit:<id>`): each source is captured once, as a line or as this entry.
    pub source: String,
    /// What was done, in words (`Vaccination FVRCP`, `Dispensed gabapentin capsule 100 × 30`).
    pub description: String,
    /// How much (1 for a vaccination or an exam).
    pub quantity: Quantity,
    /// Why no line was added (`no active catalogue item charges vaccine "fvrcp"`).
    pub reason: String,
    pub captured_at: Timestamp,
    /// When staff marked it dealt with; `None` while it waits.
    #[serde(default)]
    pub resolved_at: Option<Timestamp>,
    #[serde(default)]
    pub resolved_by: Option<UserId>,
}

/// Body of `POST /api/invoices/{id}/uncharged/resolve`: the entry (by its source) staff
/// charged by hand, or decided not to charge.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveUncharged {
    pub source: String,
}

impl ResolveUncharged {
    pub fn validate(&self) -> Result<String, ValidationError> {
        crate::values::required_text("source", &self.source, MAX_SOURCE_CHARS)
    }
}

/// How far charge capture has read the event log: stored in the same change set as the
/// lines it adds, so a crash never loses nor doubles a charge.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CaptureCursor {
    /// The last event sequence number whose charges are on their invoices.
    pub through_seq: u64,
}

impl Record for CaptureCursor {
    const KIND: &'static str = "capture_cursor";
    const VERSION: u16 = 1;
}

/// Body of `POST /api/invoices/batch/generate`: the completed visits (by the day they were
/// completed, clinic zone, both days included) whose invoices to issue.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateInvoices {
    pub from: Date,
    pub to: Date,
}

/// The longest range one batch covers (a year and a day: an annual run).
pub const MAX_BATCH_DAYS: i32 = 366;

impl GenerateInvoices {
    pub fn validate(&self) -> Result<(Date, Date), ValidationError> {
        if self.to < self.from {
            return Err(ValidationError::new("to", "is before from"));
        }
        let days = self.from.until(self.to).map(|s| s.get_days()).unwrap_or(i32::MAX);
        if days >= MAX_BATCH_DAYS {
            return Err(ValidationError::new("to", format!("a batch covers at most {MAX_BATCH_DAYS} days")));
        }
        Ok((self.from, self.to))
    }
}

/// Where a batch is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BatchStatus {
    /// Queued or working through the visits.
    Running,
    /// Every visit was tried; `failed` names those that were not invoiced.
    Done,
}

/// One visit a batch issued an invoice for (or found issued already).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BatchIssued {
    pub visit_id: VisitId,
    pub invoice_id: InvoiceId,
    pub number: Option<String>,
    /// `true` when it was issued before this batch (a second run issues nothing twice).
    pub already: bool,
}

/// One visit a batch could not invoice, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BatchFailure {
    /// The visit (a batch over completed visits); `null` in a batch over selected invoices.
    #[serde(default)]
    pub visit_id: Option<VisitId>,
    pub invoice_id: Option<InvoiceId>,
    /// A stable word: `no_charges`, `uncharged_items`, `several_drafts`, `refused`, `error`;
    /// over selected invoices also `not_found`, `issued`, `void`, `other_location`.
    pub code: String,
    pub reason: String,
}

/// A batch generating invoices, with its progress and its report (`GET
/// /api/invoices/batches/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InvoiceBatch {
    /// The id of the durable job that runs it.
    pub id: crate::ids::JobId,
    /// What the batch does (`generate` for batches stored before there were others).
    #[serde(default)]
    pub op: BatchOp,
    /// The range of a `generate` batch; `null` for a selection.
    #[schema(value_type = Option<String>, format = Date)]
    pub from: Option<Date>,
    #[schema(value_type = Option<String>, format = Date)]
    pub to: Option<Date>,
    pub status: BatchStatus,
    /// Completed visits in the range (known once the job started).
    pub total: u32,
    /// Visits tried so far.
    pub done: u32,
    pub issued: Vec<BatchIssued>,
    pub failed: Vec<BatchFailure>,
    /// A `discount` batch: the drafts it discounted (or found discounted so already).
    #[serde(default)]
    pub changed: Vec<BatchChanged>,
    /// An `export` batch, once done: where its CSV is (`/api/invoice-batches/{id}/file`).
    #[serde(default)]
    pub file: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: Option<UserId>,
}

/// Version history: v1; v2 added `op`, `changed`, `file`, made `from`, `to` and a failure's
/// `visit_id` optional (a v1 row reads as a `generate` batch with all three present).
impl Record for InvoiceBatch {
    const KIND: &'static str = "invoice_batch";
    const VERSION: u16 = 2;
}

/// What an invoice batch does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BatchOp {
    /// Issue the drafts of the visits completed in a date range.
    #[default]
    Generate,
    /// Apply an invoice-level discount to selected drafts.
    Discount,
    /// Export selected invoices to CSV.
    Export,
}

/// A draft a discount batch changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BatchChanged {
    pub invoice_id: InvoiceId,
    /// The draft's total after the discount, in cents.
    pub total: i64,
}
