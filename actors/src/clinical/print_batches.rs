//! Batch printing (issue 17, item 6): patient labels, prescription labels or vaccination
//! certificates for a selection of up to 500 records, printed by a durable job
//! (`print_batch`) into one PDF. Progress and per-item failures live in a record of their own
//! (`print_batches`, keyed by the job's id), read by polling; the PDF in `print_files`.
//!
//! An id that names nothing (or is not an id) is reported `not_found` and the rest print; a
//! run repeated after a crash starts the report again and prints the whole selection anew
//! (nothing is sent anywhere, so printing twice harms nothing). Certificates print as the
//! person who asked for the batch (signed by them when they are a vet). Each batch is audited
//! when asked for (`print.batch_create`, with every id) and when its file is read.

use std::str::FromStr;
use std::sync::Arc;

use clowder_documents::{Document, Label};
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::ids::{JobId, PatientId, PrescriptionId};
use clowder_schemas::jobs::Job;
use clowder_schemas::printing::{CreatePrintBatch, PrintBatch, PrintFailure, PrintFile, PrintKind, PrintStatus};
use clowder_schemas::users::User;
use clowder_schemas::{ErrorCode, ErrorKind, UserId, ValidationError};

use super::certificates::certificate_for;
use super::labels::{patient_label, prescription_label, sheet};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::jobs::{JobCtx, JobError, JobFuture, JobHandler, JobOutcome, Jobs, NewJob, Scheduled};
use crate::printing;
use crate::store::{ChangeSet, RecordTable};

/// The job kind that prints a batch.
pub const KIND: &str = "print_batch";

/// Items tried between two writes of the batch's progress.
const PROGRESS_EVERY: u32 = 25;

/// Print batches.
#[derive(Clone)]
pub struct PrintBatches {
    ctx: Arc<Ctx>,
    jobs: Jobs,
}

/// What one batch prints, item by item.
enum Printed {
    Labels(Vec<Label>),
    Documents(Vec<Document>),
}

impl PrintBatches {
    pub(crate) fn new(ctx: Arc<Ctx>, jobs: Jobs) -> Self {
        PrintBatches { ctx, jobs }
    }

    /// The handler of [`KIND`] jobs.
    pub fn handler(&self) -> Arc<dyn JobHandler> {
        Arc::new(PrintJob { batches: self.clone() })
    }

    /// Starts a batch: its record and its job in one change set with the caller's audit entry.
    pub async fn start(&self, body: CreatePrintBatch, caller: &Caller) -> Result<PrintBatch> {
        body.validate()?;
        let now = self.ctx.clock.now();
        let mut set = ChangeSet::new();
        let new = NewJob {
            kind: KIND.into(),
            payload: serde_json::json!({ "kind": body.kind, "ids": body.ids }),
            due_at: now,
            // Each request is a batch of its own (a retried request is answered by its
            // Idempotency-Key).
            idempotency_key: format!("print-batch:{}", self.ctx.new_ulid()),
            subject: None,
        };
        let (Scheduled::New(id) | Scheduled::Existing(id)) = self.jobs.schedule(&mut set, new, caller)?;
        let batch = PrintBatch::running(id, body.kind, body.ids.len() as u32, now, caller.user_id());
        set.put(RecordTable::PrintBatches, id.as_u128(), &batch)?;
        set.audit(
            AuditDraft::new(caller, "print.batch_create")
                .record("print_batch", id)
                .detail(serde_json::json!({ "kind": body.kind, "ids": body.ids })),
        );
        self.ctx.store.commit(set).await?;
        self.jobs.wake();
        Ok(batch)
    }

    /// A batch with its progress (404 `job_not_found`). Not audited: it names no record, only
    /// the ids that failed, which the caller sent.
    pub fn get(&self, id: JobId) -> Result<PrintBatch> {
        self.ctx.store.read()?.get::<PrintBatch>(RecordTable::PrintBatches, id.as_u128())?.ok_or(Error::JobNotFound(id))
    }

    /// A finished batch's PDF (404 `job_not_found` until there is one); audited
    /// `print.batch_file`.
    pub async fn file(&self, id: JobId, caller: &Caller) -> Result<PrintFile> {
        let file = self
            .ctx
            .store
            .read()?
            .get::<PrintFile>(RecordTable::PrintFiles, id.as_u128())?
            .ok_or(Error::JobNotFound(id))?;
        crate::audit::record_now(
            &self.ctx,
            AuditDraft::new(caller, "print.batch_file")
                .record("print_batch", id)
                .detail(serde_json::json!({ "bytes": file.bytes.len() })),
        )
        .await?;
        Ok(file)
    }

    async fn write(&self, batch: &PrintBatch) -> Result<()> {
        let mut set = ChangeSet::new();
        set.put(RecordTable::PrintBatches, batch.id.as_u128(), batch)?;
        self.ctx.store.commit(set).await?;
        Ok(())
    }

    /// Who asked for the batch, as certificates name them.
    fn asker(&self, user: Option<UserId>) -> Result<String> {
        let Some(u) = user else { return Ok("Clowder".into()) };
        Ok(self
            .ctx
            .store
            .read()?
            .get::<User>(RecordTable::Users, u.as_u128())?
            .map_or_else(|| u.to_string(), |u| u.username))
    }

    /// One item of the batch, or why it cannot print.
    fn one(&self, kind: PrintKind, id: &str, signer: Option<UserId>, by: &str, out: &mut Printed) -> Result<()> {
        let reader = self.ctx.store.read()?;
        let ctx = &self.ctx;
        let not_an_id = || Error::Validation(ValidationError::new("id", "is not an id"));
        match (kind, out) {
            (PrintKind::PatientLabels, Printed::Labels(l)) => {
                let p = PatientId::from_str(id).map_err(|_| not_an_id())?;
                l.push(patient_label(ctx, &reader, p)?);
            }
            (PrintKind::PrescriptionLabels, Printed::Labels(l)) => {
                let p = PrescriptionId::from_str(id).map_err(|_| not_an_id())?;
                l.push(prescription_label(ctx, &reader, p)?);
            }
            (PrintKind::VaccinationCertificates, Printed::Documents(d)) => {
                let p = PatientId::from_str(id).map_err(|_| not_an_id())?;
                let when = (ctx.clock.now(), ctx.today());
                d.push(certificate_for(ctx, &reader, p, when, signer, by)?.0);
            }
            _ => return Err(Error::Internal("a print batch's output does not match its kind".into())),
        }
        Ok(())
    }

    async fn run(&self, job: &Job) -> Result<ChangeSet> {
        let kind: PrintKind = serde_json::from_value(job.payload["kind"].clone())
            .map_err(|e| Error::Internal(format!("the print job's kind: {e}")))?;
        let ids: Vec<String> = serde_json::from_value(job.payload["ids"].clone())
            .map_err(|e| Error::Internal(format!("the print job's ids: {e}")))?;
        let now = self.ctx.clock.now();
        let mut batch = self.get(job.id).unwrap_or(PrintBatch::running(job.id, kind, 0, now, job.created_by));
        // A run repeated after a crash starts the report again.
        (batch.total, batch.done, batch.printed, batch.failed) = (ids.len() as u32, 0, 0, Vec::new());
        batch.status = PrintStatus::Running;
        self.write(&batch).await?;
        let by = self.asker(job.created_by)?;
        let mut out = match kind {
            PrintKind::VaccinationCertificates => Printed::Documents(Vec::new()),
            _ => Printed::Labels(Vec::new()),
        };
        for id in &ids {
            match self.one(kind, id, job.created_by, &by, &mut out) {
                Ok(()) => batch.printed += 1,
                Err(e) if e.is_internal() => return Err(e),
                Err(e) => {
                    let code = match e.code() {
                        ErrorCode::ValidationFailed => "not_found",
                        c if c.kind() == ErrorKind::NotFound => "not_found",
                        _ => "error",
                    };
                    batch.failed.push(PrintFailure { id: id.clone(), code: code.into(), reason: e.to_string() });
                }
            }
            batch.done += 1;
            if batch.done.is_multiple_of(PROGRESS_EVERY) {
                batch.updated_at = self.ctx.clock.now();
                self.write(&batch).await?;
            }
        }
        let mut set = ChangeSet::new();
        if batch.printed > 0 {
            let title = format!("Print batch {} ({})", batch.id, kind.as_str());
            let pdf = match out {
                Printed::Labels(labels) => printing::render_labels(sheet(&self.ctx), title, labels).await?,
                Printed::Documents(docs) => printing::render_many(title, docs).await?,
            };
            let filename = format!("{}-{}.pdf", kind.as_str().replace('_', "-"), batch.id);
            set.put(RecordTable::PrintFiles, batch.id.as_u128(), &PrintFile { filename, bytes: pdf })?;
            batch.file = Some(format!("/api/print-batches/{}/file", batch.id));
        }
        batch.status = PrintStatus::Done;
        batch.updated_at = self.ctx.clock.now();
        set.put(RecordTable::PrintBatches, batch.id.as_u128(), &batch)?;
        Ok(set)
    }
}

/// Runs [`KIND`] jobs.
struct PrintJob {
    batches: PrintBatches,
}

impl JobHandler for PrintJob {
    fn validate(&self, payload: &serde_json::Value) -> std::result::Result<(), ValidationError> {
        let kind = serde_json::from_value::<PrintKind>(payload["kind"].clone()).is_ok();
        let ids = payload["ids"].as_array().is_some_and(|a| a.iter().all(|v| v.is_string()));
        if kind && ids {
            Ok(())
        } else {
            Err(ValidationError::new("payload", "must be {\"kind\": <print kind>, \"ids\": [<id>, …]}"))
        }
    }

    fn run<'a>(&'a self, job: &'a Job, _ctx: &'a JobCtx) -> JobFuture<'a> {
        Box::pin(async move {
            match self.batches.run(job).await {
                Ok(set) => Ok(JobOutcome::with(set)),
                Err(e) => Err(JobError::Retry(e.to_string())),
            }
        })
    }
}
