//! The batch that issues the invoices of a date range of completed visits (issue 16, item 9):
//! a durable job (`invoice_batch_generate`) whose progress and report live in a record of
//! their own (`invoice_batches`, keyed by the job's id), read by polling. It owns that record;
//! issuing is the invoice actor's (`Invoices::issue`), so a visit's draft is numbered exactly as
//! at the front desk.
//!
//! Idempotent: issuing an issued invoice answers it unchanged, so a run repeated after a
//! crash, or a second batch over the same range, issues nothing twice (those visits are
//! reported `already`). A visit that cannot be invoiced is named in the report with a reason,
//! and the rest go on.

use std::ops::ControlFlow;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use clowder_schemas::ValidationError;
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::capture::{BatchFailure, BatchIssued, BatchOp, BatchStatus, InvoiceBatch};
use clowder_schemas::ids::{JobId, VisitId};
use clowder_schemas::invoices::{Invoice, InvoiceStatus};
use clowder_schemas::jobs::Job;
use clowder_schemas::visits::{Visit, VisitStatus};
use jiff::civil::Date;
use jiff::tz::TimeZone;

use crate::clinical::visits::{completion_day_key, completion_link};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::jobs::{JobCtx, JobError, JobFuture, JobHandler, JobOutcome, Jobs, NewJob, Scheduled};
use crate::store::{ChangeSet, IndexTable, Reader, RecordTable};

use super::capture::Capture;
use super::invoices::Invoices;

/// The job kind that runs a batch.
pub const KIND: &str = "invoice_batch_generate";

/// The visits completed on the clinic's days `[from, to]` (in `zone`), oldest first, read
/// through `visits_by_completion_day` (a local day is at most one from the UTC day: the index
/// is read with a day's margin each side, then each visit's local day is checked).
pub fn completed_between(reader: &Reader, zone: &TimeZone, from: Date, to: Date) -> Result<Vec<VisitId>> {
    let lo = completion_day_key(from.yesterday().unwrap_or(from));
    let hi = completion_day_key(to.tomorrow().unwrap_or(to));
    let mut keys = Vec::new();
    reader.index_from(IndexTable::VisitsByCompletionDay, (lo, 0), |(day, visit)| {
        if day > hi {
            return ControlFlow::Break(());
        }
        keys.push(visit);
        ControlFlow::Continue(())
    })?;
    keys.sort_unstable();
    let mut out = Vec::new();
    for key in keys {
        let Some(v) = reader.get::<Visit>(RecordTable::Visits, key)? else { continue };
        let day = v.completed_at.map(|t| t.to_zoned(zone.clone()).date());
        if v.status == VisitStatus::Completed && day.is_some_and(|d| d >= from && d <= to) {
            out.push(v.id);
        }
    }
    Ok(out)
}

/// Visits tried between two writes of the batch's progress.
const PROGRESS_EVERY: u32 = 10;

/// How long a run waits for charge capture to reach the log's head as it was at the run's
/// start (a charge in flight must be on its draft before the draft is issued).
const CAPTURE_WAIT: Duration = Duration::from_secs(60);

/// Batches issuing the invoices of completed visits.
#[derive(Clone)]
pub struct InvoiceBatches {
    pub(super) ctx: Arc<Ctx>,
    pub(super) jobs: Jobs,
    pub(super) invoices: Invoices,
    /// Charge capture, set once it is started (after the job handlers are registered).
    capture: Arc<OnceLock<Capture>>,
}

impl InvoiceBatches {
    pub(crate) fn new(ctx: Arc<Ctx>, jobs: Jobs, invoices: Invoices) -> Self {
        InvoiceBatches { ctx, jobs, invoices, capture: Arc::default() }
    }

    /// Gives the batch charge capture to wait for (see [`CAPTURE_WAIT`]).
    pub(crate) fn follow(&self, capture: Capture) {
        let _ = self.capture.set(capture);
    }

    /// Waits until charge capture has handled every event up to `seq`; an error after
    /// [`CAPTURE_WAIT`] (the job is retried later: issuing now could leave a charge in flight
    /// on a draft no one issues).
    async fn captured(&self, seq: u64) -> Result<()> {
        let Some(capture) = self.capture.get() else { return Ok(()) };
        let deadline = Instant::now() + CAPTURE_WAIT;
        while capture.captured_seq() < seq {
            if Instant::now() >= deadline {
                tracing::warn!(
                    captured = capture.captured_seq(),
                    seq,
                    "the invoice batch waited for charge capture in vain; it will be retried"
                );
                return Err(Error::Timeout { kind: "charge capture" });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// The handler of [`KIND`] jobs.
    pub fn handler(&self) -> Arc<dyn JobHandler> {
        Arc::new(Generate { batches: self.clone() })
    }

    /// Starts a batch over the visits completed from `from` to `to` (clinic days, both
    /// included): the batch record and its job in one change set with the caller's audit entry.
    pub async fn start(&self, from: Date, to: Date, caller: &Caller) -> Result<InvoiceBatch> {
        let now = self.ctx.clock.now();
        let mut set = ChangeSet::new();
        let new = NewJob {
            kind: KIND.into(),
            payload: serde_json::json!({ "from": from, "to": to }),
            due_at: now,
            // Each request is a batch of its own (a retried request is answered by its
            // Idempotency-Key); a second batch over the same range issues nothing twice.
            idempotency_key: format!("invoice-batch:{}", self.ctx.new_ulid()),
            subject: None,
        };
        let (Scheduled::New(id) | Scheduled::Existing(id)) = self.jobs.schedule(&mut set, new, caller)?;
        let batch = InvoiceBatch {
            id,
            op: BatchOp::Generate,
            from: Some(from),
            to: Some(to),
            status: BatchStatus::Running,
            total: 0,
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
        set.audit(
            AuditDraft::new(caller, "invoice.batch_generate")
                .record("invoice_batch", id)
                .detail(serde_json::json!({ "from": from, "to": to })),
        );
        self.ctx.store.commit(set).await?;
        self.jobs.wake();
        Ok(batch)
    }

    /// A batch with its progress and report (audited: it names visits and invoices).
    pub async fn get(&self, id: JobId, caller: &Caller) -> Result<InvoiceBatch> {
        let batch = self
            .ctx
            .store
            .read()?
            .get::<InvoiceBatch>(RecordTable::InvoiceBatches, id.as_u128())?
            .ok_or(Error::JobNotFound(id))?;
        crate::audit::record_read(&self.ctx, AuditDraft::new(caller, "invoice.batch_read").record("invoice_batch", id))
            .await?;
        Ok(batch)
    }

    /// The completed visits of the range, oldest first.
    fn visits(&self, from: Date, to: Date) -> Result<Vec<VisitId>> {
        completed_between(&self.ctx.store.read()?, &self.ctx.config.time_zone, from, to)
    }

    /// Fills `visits_by_completion_day` from the visits when it is empty (a store written
    /// before it existed); afterwards the visits' own change sets keep it. Returns how many
    /// visits it linked.
    pub async fn ensure_completion_index(&self) -> Result<usize> {
        crate::records::fill_index_when_empty(
            &self.ctx.store,
            IndexTable::VisitsByCompletionDay,
            RecordTable::Visits,
            |v: &Visit| (v.id.as_u128(), completion_link(v)),
            "invoice_batch.visit_index",
            "visits",
        )
        .await
    }

    /// Issues the drafts of one visit; records what happened in `batch`.
    async fn one(&self, visit: VisitId, batch: &mut InvoiceBatch, caller: &Caller) -> Result<()> {
        let invoices: Vec<Invoice> = {
            let reader = self.ctx.store.read()?;
            let mut out = Vec::new();
            for key in reader.children(IndexTable::InvoicesByVisit, visit.as_u128(), None)? {
                if let Some(inv) = reader.get::<Invoice>(RecordTable::Invoices, key)? {
                    out.push(inv);
                }
            }
            out
        };
        let fail = |batch: &mut InvoiceBatch, invoice: Option<&Invoice>, code: &str, reason: String| {
            batch.failed.push(BatchFailure {
                visit_id: Some(visit),
                invoice_id: invoice.map(|i| i.id),
                code: code.into(),
                reason,
            })
        };
        // Issued before this run (by the front desk, or by an earlier batch): reported, not
        // issued again.
        for inv in invoices.iter().filter(|i| !matches!(i.status, InvoiceStatus::Draft | InvoiceStatus::Void)) {
            batch.issued.push(BatchIssued {
                visit_id: visit,
                invoice_id: inv.id,
                number: inv.number.clone(),
                already: true,
            });
        }
        let drafts: Vec<&Invoice> = invoices.iter().filter(|i| i.status == InvoiceStatus::Draft).collect();
        if drafts.is_empty() && !batch.issued.iter().any(|i| i.visit_id == visit) {
            fail(batch, None, "no_charges", "the visit has no invoice (nothing was charged)".into());
        }
        if drafts.len() > 1 {
            // Charges that reached a visit after its invoice was issued (or on their way while
            // it was): which to issue, or merge, is the front desk's choice, not the batch's.
            let ids: Vec<String> = drafts.iter().map(|d| d.id.to_string()).collect();
            fail(
                batch,
                None,
                "several_drafts",
                format!(
                    "the visit has {} drafts ({}): issue, merge or void them by hand",
                    drafts.len(),
                    ids.join(", ")
                ),
            );
            return Ok(());
        }
        for draft in drafts {
            let waiting: Vec<&str> =
                draft.uncharged.iter().filter(|u| u.resolved_at.is_none()).map(|u| u.description.as_str()).collect();
            if !waiting.is_empty() {
                // Issued, the invoice could no longer take the line: the front desk charges
                // these by hand (or marks them resolved) first.
                fail(
                    batch,
                    Some(draft),
                    "uncharged_items",
                    format!("not charged yet (no catalogue item): {}", waiting.join("; ")),
                );
                continue;
            }
            if draft.lines.is_empty() {
                fail(batch, Some(draft), "no_charges", "the draft has no lines".into());
                continue;
            }
            match self.invoices.issue(draft.id, caller).await {
                Ok(inv) => batch.issued.push(BatchIssued {
                    visit_id: visit,
                    invoice_id: inv.id,
                    number: inv.number,
                    already: false,
                }),
                Err(e) if e.is_internal() => return Err(e),
                Err(e) => fail(batch, Some(draft), "refused", e.to_string()),
            }
        }
        Ok(())
    }

    pub(super) async fn write(&self, batch: &InvoiceBatch) -> Result<()> {
        let mut set = ChangeSet::new();
        set.put(RecordTable::InvoiceBatches, batch.id.as_u128(), batch)?;
        self.ctx.store.commit(set).await?;
        Ok(())
    }

    async fn run(&self, job: &Job, caller: &Caller) -> Result<ChangeSet> {
        let range = |k: &str| -> Result<Date> {
            job.payload
                .get(k)
                .and_then(|v| v.as_str())
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| Error::Internal(format!("the batch job has no {k} date")))
        };
        let (from, to) = (range("from")?, range("to")?);
        // Every charge of what happened before the run is on its draft before any is issued.
        self.captured(self.ctx.store.last_seq()).await?;
        let now = self.ctx.clock.now();
        let mut batch =
            self.ctx.store.read()?.get::<InvoiceBatch>(RecordTable::InvoiceBatches, job.id.as_u128())?.unwrap_or(
                InvoiceBatch {
                    id: job.id,
                    op: BatchOp::Generate,
                    from: Some(from),
                    to: Some(to),
                    status: BatchStatus::Running,
                    total: 0,
                    done: 0,
                    issued: Vec::new(),
                    failed: Vec::new(),
                    changed: Vec::new(),
                    file: None,
                    created_at: now,
                    updated_at: now,
                    created_by: job.created_by,
                },
            );
        // A run repeated after a crash starts the report again (what the first run issued is
        // reported `already`).
        let visits = self.visits(from, to)?;
        (batch.total, batch.done, batch.issued, batch.failed) = (visits.len() as u32, 0, Vec::new(), Vec::new());
        batch.status = BatchStatus::Running;
        self.write(&batch).await?;
        for visit in visits {
            if let Err(e) = self.one(visit, &mut batch, caller).await {
                batch.failed.push(BatchFailure {
                    visit_id: Some(visit),
                    invoice_id: None,
                    code: "error".into(),
                    reason: e.to_string(),
                });
            }
            batch.done += 1;
            if batch.done.is_multiple_of(PROGRESS_EVERY) {
                batch.updated_at = self.ctx.clock.now();
                self.write(&batch).await?;
            }
        }
        batch.status = BatchStatus::Done;
        batch.updated_at = self.ctx.clock.now();
        let mut set = ChangeSet::new();
        set.put(RecordTable::InvoiceBatches, batch.id.as_u128(), &batch)?;
        Ok(set)
    }
}

/// Runs [`KIND`] jobs.
struct Generate {
    batches: InvoiceBatches,
}

impl JobHandler for Generate {
    fn validate(&self, payload: &serde_json::Value) -> std::result::Result<(), ValidationError> {
        let ok = |k: &str| payload.get(k).and_then(|v| v.as_str()).is_some_and(|s| s.parse::<Date>().is_ok());
        if ok("from") && ok("to") {
            Ok(())
        } else {
            Err(ValidationError::new("payload", "must be {\"from\": <date>, \"to\": <date>}"))
        }
    }

    fn run<'a>(&'a self, job: &'a Job, ctx: &'a JobCtx) -> JobFuture<'a> {
        Box::pin(async move {
            match self.batches.run(job, &ctx.caller).await {
                Ok(set) => Ok(JobOutcome::with(set)),
                Err(e) => Err(JobError::Retry(e.to_string())),
            }
        })
    }
}
