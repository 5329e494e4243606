//! Batch operations on a selection of invoices (issue 16, item 9): an invoice-level discount
//! applied to selected drafts, and selected invoices exported to CSV. They extend the batch
//! of `generate` rather than copy it: the same record (`InvoiceBatch`, with its `op`), the
//! same durable-job shape (the batch's id is its job's), the same progress and partial-failure
//! report, read by the same `GET /api/invoice-batches/{id}`.
//!
//! Each invoice is looked at on its own: an unknown id, an issued or void invoice (for a
//! discount), or one of another location (when the batch names one) is a failure in the
//! report, and the rest go on. Discounts go through the invoice's actor
//! (`Invoices::change`), so each is decided against the draft as it is; setting the same
//! discount again changes nothing, so a run repeated after a crash discounts nothing twice.
//! The export reads every selected invoice from one snapshot and keeps its CSV in
//! `accounting_files`, written with the job's success.

use std::sync::Arc;

use clowder_schemas::ValidationError;
use clowder_schemas::accounting::SelectionOp;
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::capture::{BatchChanged, BatchFailure, BatchOp, BatchStatus, InvoiceBatch};
use clowder_schemas::clients::Client;
use clowder_schemas::ids::InvoiceId;
use clowder_schemas::invoices::{DraftChange, Invoice, InvoiceStatus};
use clowder_schemas::jobs::Job;
use clowder_schemas::patch::Patch;

use crate::error::{Error, Result};
use crate::jobs::{JobCtx, JobError, JobFuture, JobHandler, JobOutcome, NewJob, Scheduled};
use crate::store::{ChangeSet, RecordTable};

use super::accounting::csv_cell;
use super::generate::InvoiceBatches;

/// The job kind that applies a discount to selected drafts.
pub const DISCOUNT_KIND: &str = "invoice_batch_discount";
/// The job kind that exports selected invoices to CSV.
pub const EXPORT_KIND: &str = "invoice_batch_export";

/// Invoices looked at between two writes of the batch's progress.
const PROGRESS_EVERY: u32 = 10;

/// The columns of the selection's CSV: one row per invoice line, the invoice's own figures
/// repeated on each (a spreadsheet then sums lines by category, or takes one row per invoice).
const COLUMNS: [&str; 23] = [
    "invoice_id",
    "number",
    "status",
    "issued_on",
    "due_on",
    "client_id",
    "client_name",
    "location_id",
    "line_no",
    "description",
    "category",
    "quantity",
    "unit_price",
    "line_gross",
    "line_discount",
    "line_net",
    "taxable",
    "invoice_subtotal",
    "invoice_discount",
    "invoice_tax",
    "invoice_total",
    "invoice_paid",
    "invoice_balance",
];

impl InvoiceBatches {
    /// Starts a selection batch (`DISCOUNT_KIND` or `EXPORT_KIND`): the batch record and its
    /// job in one change set with the caller's audit entry (the reason, for a discount).
    pub async fn start_selection(&self, op: SelectionOp, caller: &Caller) -> Result<InvoiceBatch> {
        let now = self.ctx.clock.now();
        let (kind, batch_op, action) = match op.discount {
            Some(_) => (DISCOUNT_KIND, BatchOp::Discount, "invoice.batch_discount"),
            None => (EXPORT_KIND, BatchOp::Export, "invoice.batch_export"),
        };
        let payload = serde_json::to_value(&op).map_err(|e| Error::Internal(format!("a batch payload: {e}")))?;
        let mut set = ChangeSet::new();
        let new = NewJob {
            kind: kind.into(),
            payload,
            due_at: now,
            idempotency_key: format!("invoice-batch:{}", self.ctx.new_ulid()),
            subject: None,
        };
        let (Scheduled::New(id) | Scheduled::Existing(id)) = self.jobs.schedule(&mut set, new, caller)?;
        let batch = InvoiceBatch {
            id,
            op: batch_op,
            from: None,
            to: None,
            status: BatchStatus::Running,
            total: op.invoice_ids.len() as u32,
            done: 0,
            issued: Vec::new(),
            failed: Vec::new(),
            changed: Vec::new(),
            file: None,
            created_at: now,
            updated_at: now,
            created_by: caller.user_id(),
        };
        set.put(RecordTable::InvoiceBatches, id.as_u128(), &batch)?;
        set.audit(AuditDraft::new(caller, action).record("invoice_batch", id).detail(serde_json::json!({
            "invoice_ids": op.invoice_ids,
            "discount": op.discount,
            "reason": op.reason,
            "location_id": op.location_id,
        })));
        self.ctx.store.commit(set).await?;
        self.jobs.wake();
        Ok(batch)
    }

    /// The CSV a finished export batch made.
    pub async fn file(
        &self,
        id: clowder_schemas::JobId,
        caller: &Caller,
    ) -> Result<clowder_schemas::accounting::StoredFile> {
        let file = self
            .ctx
            .store
            .read()?
            .get::<clowder_schemas::accounting::StoredFile>(RecordTable::AccountingFiles, id.as_u128())?
            .ok_or(Error::JobNotFound(id))?;
        crate::audit::record_read(&self.ctx, AuditDraft::new(caller, "invoice.batch_file").record("invoice_batch", id))
            .await?;
        Ok(file)
    }

    /// Why `inv` (or its absence) is not for this batch, if it is not.
    fn refusal(op: &SelectionOp, id: InvoiceId, inv: Option<&Invoice>) -> Option<BatchFailure> {
        let fail = |code: &str, reason: String| {
            Some(BatchFailure { visit_id: None, invoice_id: Some(id), code: code.into(), reason })
        };
        let Some(inv) = inv else { return fail("not_found", format!("no invoice with id {id}")) };
        if let Some(loc) = op.location_id
            && inv.location_id != Some(loc)
        {
            return fail("other_location", "the invoice belongs to another location".into());
        }
        if op.discount.is_some() {
            match inv.status {
                InvoiceStatus::Draft => {}
                InvoiceStatus::Void => return fail("void", "the invoice is void".into()),
                _ => return fail("issued", "issued invoices change only through credit notes".into()),
            }
        }
        None
    }

    async fn run_selection(&self, job: &Job, caller: &Caller) -> Result<ChangeSet> {
        let op: SelectionOp = serde_json::from_value(job.payload.clone())
            .map_err(|e| Error::Internal(format!("the batch job's payload: {e}")))?;
        let now = self.ctx.clock.now();
        let stored = self.ctx.store.read()?.get::<InvoiceBatch>(RecordTable::InvoiceBatches, job.id.as_u128())?;
        let mut batch = stored.ok_or_else(|| Error::Internal(format!("the batch {} has no record", job.id)))?;
        // A run repeated after a crash starts the report again.
        (batch.total, batch.done, batch.failed, batch.changed) =
            (op.invoice_ids.len() as u32, 0, Vec::new(), Vec::new());
        batch.status = BatchStatus::Running;
        batch.updated_at = now;
        self.write(&batch).await?;
        let mut set = ChangeSet::new();
        match op.discount {
            Some(discount) => {
                for id in &op.invoice_ids {
                    let inv = self.ctx.store.read()?.get::<Invoice>(RecordTable::Invoices, id.as_u128())?;
                    if let Some(f) = Self::refusal(&op, *id, inv.as_ref()) {
                        batch.failed.push(f);
                    } else {
                        let change = DraftChange { discount: Patch::Set(discount), ..Default::default() };
                        match self.invoices.change(*id, change, caller).await {
                            Ok(inv) => {
                                batch.changed.push(BatchChanged { invoice_id: inv.id, total: inv.totals.total.get() })
                            }
                            Err(e) if e.is_internal() => return Err(e),
                            Err(e) => batch.failed.push(BatchFailure {
                                visit_id: None,
                                invoice_id: Some(*id),
                                code: "refused".into(),
                                reason: e.to_string(),
                            }),
                        }
                    }
                    batch.done += 1;
                    if batch.done.is_multiple_of(PROGRESS_EVERY) {
                        batch.updated_at = self.ctx.clock.now();
                        self.write(&batch).await?;
                    }
                }
            }
            None => {
                let csv = self.export_csv(&op, &mut batch)?;
                let url = format!("/api/invoice-batches/{}/file", batch.id);
                set.put(
                    RecordTable::AccountingFiles,
                    batch.id.as_u128(),
                    &clowder_schemas::accounting::StoredFile {
                        content_type: "text/csv; charset=utf-8".into(),
                        filename: format!("invoices-{}.csv", batch.id),
                        content: csv,
                    },
                )?;
                batch.file = Some(url);
            }
        }
        batch.status = BatchStatus::Done;
        batch.updated_at = self.ctx.clock.now();
        set.put(RecordTable::InvoiceBatches, batch.id.as_u128(), &batch)?;
        Ok(set)
    }

    /// The selection's CSV, from one snapshot; the invoices it leaves out go in the report.
    fn export_csv(&self, op: &SelectionOp, batch: &mut InvoiceBatch) -> Result<String> {
        let reader = self.ctx.store.read()?;
        let fail = |e: csv::Error| Error::Internal(format!("writing the CSV: {e}"));
        let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
        w.write_record(COLUMNS).map_err(fail)?;
        let money = |c: clowder_schemas::money::Cents| c.to_string();
        for id in &op.invoice_ids {
            let inv = reader.get::<Invoice>(RecordTable::Invoices, id.as_u128())?;
            batch.done += 1;
            if let Some(f) = Self::refusal(op, *id, inv.as_ref()) {
                batch.failed.push(f);
                continue;
            }
            let Some(inv) = inv else { continue };
            let client = reader
                .get::<Client>(RecordTable::Clients, inv.client_id.as_u128())?
                .map(|c| c.display_name())
                .unwrap_or_default();
            let head = [
                inv.id.to_string(),
                inv.number.clone().unwrap_or_default(),
                inv.status.as_str().to_owned(),
                inv.issued_on.map(|d| d.to_string()).unwrap_or_default(),
                inv.due_on.map(|d| d.to_string()).unwrap_or_default(),
                inv.client_id.to_string(),
                csv_cell(&client),
                inv.location_id.map(|l| l.to_string()).unwrap_or_default(),
            ];
            let tail = [
                money(inv.totals.subtotal),
                money(inv.totals.discount),
                money(inv.totals.tax),
                money(inv.totals.total),
                money(inv.paid),
                money(inv.balance),
            ];
            let empty_line = || vec![String::new(); 9];
            let lines: Vec<Vec<String>> = if inv.lines.is_empty() {
                vec![empty_line()]
            } else {
                inv.lines
                    .iter()
                    .map(|l| {
                        vec![
                            l.line_no.to_string(),
                            csv_cell(&l.description),
                            csv_cell(l.category.as_deref().unwrap_or("")),
                            l.quantity.to_string(),
                            money(l.unit_price),
                            money(l.amounts.gross),
                            money(l.amounts.discount),
                            money(l.amounts.net),
                            l.taxable.to_string(),
                        ]
                    })
                    .collect()
            };
            for line in lines {
                let row: Vec<&str> = head
                    .iter()
                    .map(String::as_str)
                    .chain(line.iter().map(String::as_str))
                    .chain(tail.iter().map(String::as_str))
                    .collect();
                w.write_record(row).map_err(fail)?;
            }
        }
        let bytes = w.into_inner().map_err(|e| Error::Internal(format!("writing the CSV: {e}")))?;
        String::from_utf8(bytes).map_err(|e| Error::Internal(format!("the CSV is not UTF-8: {e}")))
    }

    /// The handler of [`DISCOUNT_KIND`] and [`EXPORT_KIND`] jobs.
    pub fn selection_handler(&self) -> Arc<dyn JobHandler> {
        Arc::new(Selection { batches: self.clone() })
    }
}

/// Runs selection batches.
struct Selection {
    batches: InvoiceBatches,
}

impl JobHandler for Selection {
    fn validate(&self, payload: &serde_json::Value) -> std::result::Result<(), ValidationError> {
        serde_json::from_value::<SelectionOp>(payload.clone())
            .map(|_| ())
            .map_err(|e| ValidationError::new("payload", format!("not a selection: {e}")))
    }

    fn run<'a>(&'a self, job: &'a Job, ctx: &'a JobCtx) -> JobFuture<'a> {
        Box::pin(async move {
            match self.batches.run_selection(job, &ctx.caller).await {
                Ok(set) => Ok(JobOutcome::with(set)),
                Err(e) => Err(JobError::Retry(e.to_string())),
            }
        })
    }
}
