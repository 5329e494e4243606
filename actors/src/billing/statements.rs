//! Statements of account per client: the figures (`clowder_schemas::statements::statement`
//! over the client's invoices, read through `invoices_by_client` from one snapshot), the same
//! figures as a PDF on the clinic's letterhead, and the statement as an email attachment
//! (rendered when the outbox sends it, from its reference `statement:<client>:<from>:<to>`).
//! Reads are audited as reads of the client's financial record (`client.statement`,
//! `client.statement_pdf`). The bulk statement run is `runs`. docs/statements.md.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;
use std::sync::Arc;

use clowder_documents::{Block, Column, Document, Row, Table};
use clowder_schemas::ValidationError;
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::clients::Client;
use clowder_schemas::ids::ClientId;
use clowder_schemas::ids::{JobId, MessageId};
use clowder_schemas::invoices::Invoice;
use clowder_schemas::jobs::Job;
use clowder_schemas::money::Cents;
use clowder_schemas::reports::OpenInvoice;
use clowder_schemas::statements::{
    Statement, StatementRun, StatementRunStatus, StatementSent, StatementSkipped, statement,
};
use clowder_schemas::templates::TemplateCategory;
use jiff::civil::Date;

use clowder_schemas::comms::EmailAttachment;
use clowder_schemas::ids::PaymentId;

use super::invoices::Invoices;
use crate::comms::attachments::{AttachmentSource, Attachments, RenderFuture, job_error};
use crate::comms::messages::{Messages, NewMessage, Recipient};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::jobs::{JobCtx, JobError, JobFuture, JobHandler, JobOutcome, Jobs, NewJob, Scheduled};
use crate::printing;
use crate::store::ChangeSet;
use crate::store::tables::unique;
use crate::store::{IndexTable, Reader, RecordTable};

/// The job kind of a bulk statement email run.
pub const RUN_KIND: &str = "statement_run";

/// Clients handled between two writes of a run's progress.
const PROGRESS_EVERY: u32 = 10;

/// Statements' service.
#[derive(Clone)]
pub struct Statements {
    ctx: Arc<Ctx>,
    jobs: Jobs,
    messages: Messages,
}

/// Why a client is not sent their statement.
struct Skip {
    code: &'static str,
    reason: String,
}

/// The client and their statement from one snapshot (404 `client_not_found`).
pub(crate) fn read(reader: &Reader, ctx: &Ctx, client: ClientId, from: Date, to: Date) -> Result<(Client, Statement)> {
    let c = reader.get::<Client>(RecordTable::Clients, client.as_u128())?.ok_or(Error::ClientNotFound(client))?;
    let mut invoices = Vec::new();
    for key in reader.children(IndexTable::InvoicesByClient, client.as_u128(), None)? {
        if let Some(inv) = reader.get::<Invoice>(RecordTable::Invoices, key)? {
            invoices.push(inv);
        }
    }
    let s = statement(client, c.display_name(), &invoices, from, to, &ctx.config.time_zone);
    Ok((c, s))
}

/// The statement's document.
pub(crate) fn document(ctx: &Ctx, s: &Statement, by: &str) -> Result<Document> {
    let now = ctx.clock.now();
    let mut doc = Document::new(printing::letterhead(ctx)?, "Statement of account", printing::generated(ctx, now, by))
        .paper(printing::paper(ctx));
    doc.push(Block::Fields(vec![
        ("Client".to_owned(), s.client_name.clone()),
        ("Period".to_owned(), format!("{} to {}", s.from, s.to)),
        ("Opening balance".to_owned(), s.opening_balance.to_string()),
        ("Charges".to_owned(), s.charges.to_string()),
        ("Payments and credits".to_owned(), s.payments_and_credits.to_string()),
        ("Closing balance".to_owned(), s.closing_balance.to_string()),
    ]));
    doc.push(Block::Heading("Activity".into()));
    let mut rows = vec![Row::new([
        s.from.to_string(),
        "Opening balance".to_owned(),
        String::new(),
        String::new(),
        s.opening_balance.to_string(),
    ])];
    for e in &s.entries {
        let (charge, credit) = if e.amount.is_positive() {
            (e.amount.to_string(), String::new())
        } else if e.amount.get() < 0 {
            (String::new(), Cents::new(-e.amount.get()).to_string())
        } else {
            (String::new(), String::new())
        };
        rows.push(Row::new([e.date.to_string(), e.description.clone(), charge, credit, e.balance.to_string()]));
    }
    rows.push(Row::total([
        s.to.to_string(),
        "Closing balance".to_owned(),
        s.charges.to_string(),
        s.payments_and_credits.to_string(),
        s.closing_balance.to_string(),
    ]));
    doc.push(Block::Table(Table {
        columns: vec![
            Column::new("Date", 1.6),
            Column::new("Description", 5.0),
            Column::right("Charges", 1.6),
            Column::right("Paid / credited", 1.8),
            Column::right("Balance", 1.6),
        ],
        rows,
    }));
    doc.push(Block::Heading(format!("Amounts due as of {}", s.to)));
    let a = &s.ageing;
    doc.push(Block::Table(Table {
        columns: vec![
            Column::right("Current", 1.0),
            Column::right("1-30 days", 1.0),
            Column::right("31-60 days", 1.0),
            Column::right("61-90 days", 1.0),
            Column::right("Over 90 days", 1.0),
            Column::right("Total due", 1.0),
        ],
        rows: vec![Row::new([
            a.current.to_string(),
            a.days_1_30.to_string(),
            a.days_31_60.to_string(),
            a.days_61_90.to_string(),
            a.days_over_90.to_string(),
            a.total.to_string(),
        ])],
    }));
    if s.closing_credit.is_positive() || s.opening_credit.is_positive() {
        doc.push(Block::Paragraph(format!(
            "Credit on account: {} (not deducted from the balance; ask us to apply it).",
            s.closing_credit
        )));
    }
    Ok(doc)
}

impl Statements {
    pub(crate) fn new(ctx: Arc<Ctx>, jobs: Jobs, messages: Messages) -> Self {
        Statements { ctx, jobs, messages }
    }

    /// The statement's email to its client, keyed `key`: the active `statement` email
    /// template (a fixed text when the clinic has none), the PDF attached by reference.
    /// `consent`: also ask the client's preferences now (a run reports a refusal as a skip;
    /// one email asked for by staff is left to the outbox's gate when it is sent, as receipts).
    fn compose(
        &self,
        reader: &Reader,
        client: &Client,
        s: &Statement,
        key: String,
        consent: bool,
    ) -> Result<std::result::Result<NewMessage, Skip>> {
        let Some(email) = client.email.clone() else {
            return Ok(Err(Skip { code: "no_email", reason: "the client has no email address on file".into() }));
        };
        if consent
            && let Some(reason) = crate::comms::consent::transactional_email_refused(reader, &self.ctx, client.id)?
        {
            return Ok(Err(Skip { code: "no_consent", reason }));
        }
        let pets = crate::comms::compose::pet_names(reader, client)?;
        let clinic = &self.ctx.config.comms.clinic;
        let mut values: BTreeMap<String, String> = crate::comms::compose::client_values(client, &pets, clinic);
        values.entry("clinic_phone".into()).or_default();
        values.insert("statement_from".into(), s.from.to_string());
        values.insert("statement_to".into(), s.to.to_string());
        values.insert("statement_balance".into(), s.closing_balance.to_string());
        let overdue = s.ageing.total.get() - s.ageing.current.get();
        values.insert("statement_overdue".into(), Cents::new(overdue).to_string());
        let message = crate::comms::compose::transactional_email(
            reader,
            TemplateCategory::Statement,
            Recipient::Email(email),
            client,
            &values,
            key,
            || {
                let clinic = printing::letterhead(&self.ctx)?.name;
                let text = format!(
                    "Dear {},\n\nYour statement of account with {clinic} for {} to {} is attached. The balance on {} is {}.\n",
                    client.display_name(),
                    s.from,
                    s.to,
                    s.to,
                    s.closing_balance
                );
                Ok((format!("Your statement from {clinic}"), text))
            },
        )?;
        Ok(Ok(message))
    }

    /// Emails one client their statement (each request a message of its own: a deliberate
    /// resend is a new message). 422 `email` without an address.
    pub async fn email(&self, client: ClientId, from: Date, to: Date, caller: &Caller) -> Result<MessageId> {
        let new = {
            let reader = self.ctx.store.read()?;
            let (c, s) = read(&reader, &self.ctx, client, from, to)?;
            let key = format!("statement:{client}:{from}:{to}:{}", self.ctx.new_ulid());
            match self.compose(&reader, &c, &s, key, false)? {
                Ok(new) => new,
                Err(skip) => return Err(ValidationError::new("email", skip.reason).into()),
            }
        };
        self.messages.send_with(new, vec![statement_ref(client, from, to)], caller).await
    }

    /// Starts a bulk run: the run record and its job in one change set with the caller's
    /// audit entry.
    pub async fn start_run(&self, from: Date, to: Date, min: Cents, caller: &Caller) -> Result<StatementRun> {
        let now = self.ctx.clock.now();
        let mut set = ChangeSet::new();
        let new = NewJob {
            kind: RUN_KIND.into(),
            payload: serde_json::json!({ "from": from, "to": to, "min_balance": min }),
            due_at: now,
            // Each request is a run of its own (a retried request is answered by its
            // Idempotency-Key); a second run of the same period emails nobody twice (claims).
            idempotency_key: format!("statement-run:{}", self.ctx.new_ulid()),
            subject: None,
        };
        let (Scheduled::New(id) | Scheduled::Existing(id)) = self.jobs.schedule(&mut set, new, caller)?;
        let run = StatementRun {
            id,
            from,
            to,
            min_balance: min,
            status: StatementRunStatus::Running,
            total: 0,
            done: 0,
            sent: Vec::new(),
            skipped: Vec::new(),
            created_at: now,
            updated_at: now,
            created_by: caller.user_id(),
        };
        set.put(RecordTable::StatementRuns, id.as_u128(), &run)?;
        set.audit(
            AuditDraft::new(caller, "statement.run")
                .record("statement_run", id)
                .detail(serde_json::json!({ "from": from, "to": to, "min_balance": min })),
        );
        self.ctx.store.commit(set).await?;
        self.jobs.wake();
        Ok(run)
    }

    /// A run with its progress and report (audited: it names clients).
    pub async fn get_run(&self, id: JobId, caller: &Caller) -> Result<StatementRun> {
        let run = self
            .ctx
            .store
            .read()?
            .get::<StatementRun>(RecordTable::StatementRuns, id.as_u128())?
            .ok_or(Error::JobNotFound(id))?;
        crate::audit::record_read(&self.ctx, AuditDraft::new(caller, "statement.run_read").record("statement_run", id))
            .await?;
        Ok(run)
    }

    /// The clients owing anything now (the AR ageing's open views), in id order.
    fn owing(&self) -> Result<Vec<ClientId>> {
        let mut out = BTreeSet::new();
        self.ctx.store.read()?.scan::<OpenInvoice>(RecordTable::ArOpen, None, |v| {
            if v.balance.is_positive() {
                out.insert(v.client_id.as_u128());
            }
            ControlFlow::Continue(())
        })?;
        Ok(out.into_iter().map(ClientId::from_u128).collect())
    }

    /// One client of a run: their statement queued (with the claim of the period in the same
    /// change set), or the reason not.
    async fn one(&self, run: &mut StatementRun, client: ClientId, caller: &Caller) -> Result<()> {
        let claim = format!("{client}:{}:{}", run.from, run.to);
        let (new, balance) = {
            let reader = self.ctx.store.read()?;
            if let Some(owner) = reader.unique_owner(unique::STATEMENT_SENT, &claim)?
                && owner != run.id.as_u128()
            {
                run.skipped.push(StatementSkipped {
                    client_id: client,
                    code: "already_sent".into(),
                    reason: format!("emailed by run {}", JobId::from_u128(owner)),
                });
                return Ok(());
            }
            let (c, s) = read(&reader, &self.ctx, client, run.from, run.to)?;
            let key = format!("statement:{client}:{}:{}", run.from, run.to);
            match self.compose(&reader, &c, &s, key, true)? {
                Ok(new) => (new, s.closing_balance),
                Err(skip) => {
                    run.skipped.push(StatementSkipped {
                        client_id: client,
                        code: skip.code.into(),
                        reason: skip.reason,
                    });
                    return Ok(());
                }
            }
        };
        let mut set = ChangeSet::new();
        set.claim(unique::STATEMENT_SENT, &claim, run.id.as_u128(), "client_id");
        let message_id =
            self.messages.queue_with(&mut set, new, vec![statement_ref(client, run.from, run.to)], caller)?;
        match self.ctx.store.commit(set).await {
            Ok(_) => {}
            // Another run claimed it meanwhile.
            Err(e) if matches!(Error::from(e.clone()), Error::Duplicate { .. }) => {
                run.skipped.push(StatementSkipped {
                    client_id: client,
                    code: "already_sent".into(),
                    reason: "emailed by another run".into(),
                });
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        }
        run.sent.push(StatementSent { client_id: client, balance, message_id });
        Ok(())
    }

    async fn write_run(&self, run: &StatementRun) -> Result<()> {
        let mut set = ChangeSet::new();
        set.put(RecordTable::StatementRuns, run.id.as_u128(), run)?;
        self.ctx.store.commit(set).await?;
        Ok(())
    }

    async fn run(&self, job: &Job, caller: &Caller) -> Result<ChangeSet> {
        let (from, to, min) = run_payload(&job.payload)
            .ok_or_else(|| Error::Internal("the statement run's payload is malformed".into()))?;
        let now = self.ctx.clock.now();
        let mut run =
            self.ctx.store.read()?.get::<StatementRun>(RecordTable::StatementRuns, job.id.as_u128())?.unwrap_or(
                StatementRun {
                    id: job.id,
                    from,
                    to,
                    min_balance: min,
                    status: StatementRunStatus::Running,
                    total: 0,
                    done: 0,
                    sent: Vec::new(),
                    skipped: Vec::new(),
                    created_at: now,
                    updated_at: now,
                    created_by: job.created_by,
                },
            );
        // Who owes at least the minimum at the end of the period (the statement's own figure).
        let mut clients = Vec::new();
        {
            let reader = self.ctx.store.read()?;
            for c in self.owing()? {
                match read(&reader, &self.ctx, c, from, to) {
                    Ok((_, s)) if s.closing_balance >= min => clients.push(c),
                    Ok(_) | Err(Error::ClientNotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        // A run repeated after a crash starts its report again; its own claims let it queue
        // what it queued before (the message's key finds the same message).
        (run.total, run.done, run.sent, run.skipped) = (clients.len() as u32, 0, Vec::new(), Vec::new());
        run.status = StatementRunStatus::Running;
        self.write_run(&run).await?;
        for client in clients {
            if let Err(e) = self.one(&mut run, client, caller).await {
                if e.is_internal() {
                    return Err(e);
                }
                run.skipped.push(StatementSkipped { client_id: client, code: "error".into(), reason: e.to_string() });
            }
            run.done += 1;
            if run.done.is_multiple_of(PROGRESS_EVERY) {
                run.updated_at = self.ctx.clock.now();
                self.write_run(&run).await?;
            }
        }
        self.jobs.wake();
        run.status = StatementRunStatus::Done;
        run.updated_at = self.ctx.clock.now();
        let mut set = ChangeSet::new();
        set.put(RecordTable::StatementRuns, run.id.as_u128(), &run)?;
        set.audit(
            AuditDraft::new(caller, "statement.run_done")
                .record("statement_run", run.id)
                .detail(serde_json::json!({ "sent": run.sent.len(), "skipped": run.skipped.len() })),
        );
        Ok(set)
    }

    /// The handler of [`RUN_KIND`] jobs.
    pub fn run_handler(&self) -> Arc<dyn JobHandler> {
        Arc::new(RunStatements { statements: self.clone() })
    }

    /// A client's statement over `from..=to`, audited as `client.statement`.
    pub async fn get(&self, client: ClientId, from: Date, to: Date, caller: &Caller) -> Result<Statement> {
        let (_, s) = read(&self.ctx.store.read()?, &self.ctx, client, from, to)?;
        crate::audit::record_read(
            &self.ctx,
            AuditDraft::new(caller, "client.statement")
                .record("client", client)
                .detail(serde_json::json!({ "from": from, "to": to })),
        )
        .await?;
        Ok(s)
    }

    /// The statement as PDF bytes, with its file name, audited as `client.statement_pdf`.
    pub async fn pdf(&self, client: ClientId, from: Date, to: Date, caller: &Caller) -> Result<(String, Vec<u8>)> {
        let (_, s) = read(&self.ctx.store.read()?, &self.ctx, client, from, to)?;
        let by = caller.username.clone().unwrap_or_else(|| "Clowder".into());
        let pdf = printing::render(document(&self.ctx, &s, &by)?).await?;
        crate::audit::record_now(
            &self.ctx,
            AuditDraft::new(caller, "client.statement_pdf").record("client", client).detail(serde_json::json!({
                "from": from, "to": to, "bytes": pdf.len(),
            })),
        )
        .await?;
        Ok((file_name(client, from, to), pdf))
    }

    /// The PDF alone, without an audit entry of its own: for the outbox, whose queueing of
    /// the email was audited (`message.queue`) and whose sending is (`message.sent`).
    pub async fn render_for_email(&self, client: ClientId, from: Date, to: Date) -> Result<(String, Vec<u8>)> {
        let (_, s) = read(&self.ctx.store.read()?, &self.ctx, client, from, to)?;
        let pdf = printing::render(document(&self.ctx, &s, "Clowder")?).await?;
        Ok((file_name(client, from, to), pdf))
    }
}

/// `statement-<from>-<to>.pdf`: the client's name is not in it (file names travel further
/// than their content).
fn file_name(_client: ClientId, from: Date, to: Date) -> String {
    format!("statement-{from}-{to}.pdf")
}

fn run_payload(payload: &serde_json::Value) -> Option<(Date, Date, Cents)> {
    let date = |k: &str| payload.get(k)?.as_str()?.parse::<Date>().ok();
    let min = Cents::new(payload.get("min_balance")?.as_i64()?);
    Some((date("from")?, date("to")?, min))
}

/// Runs [`RUN_KIND`] jobs.
struct RunStatements {
    statements: Statements,
}

impl JobHandler for RunStatements {
    fn validate(&self, payload: &serde_json::Value) -> std::result::Result<(), ValidationError> {
        run_payload(payload).map(|_| ()).ok_or_else(|| {
            ValidationError::new("payload", "must be {\"from\": <date>, \"to\": <date>, \"min_balance\": <cents>}")
        })
    }

    fn run<'a>(&'a self, job: &'a Job, ctx: &'a JobCtx) -> JobFuture<'a> {
        Box::pin(async move {
            match self.statements.run(job, &ctx.caller).await {
                Ok(set) => Ok(JobOutcome::with(set)),
                Err(e) => Err(JobError::Retry(e.to_string())),
            }
        })
    }
}

/// Billing's attachments: `receipt:<payment>` (the receipt's PDF) and
/// `statement:<client>:<from>:<to>` (the statement's), rendered when the email is sent.
struct PdfAttachments {
    invoices: Invoices,
    statements: Statements,
}

/// A statement's attachment reference.
pub fn statement_ref(client: ClientId, from: Date, to: Date) -> String {
    format!("statement:{client}:{from}:{to}")
}

/// A receipt's attachment reference.
pub fn receipt_ref(payment: PaymentId) -> String {
    format!("receipt:{payment}")
}

fn pdf(filename: String, content: Vec<u8>) -> EmailAttachment {
    EmailAttachment { filename, content_type: "application/pdf".into(), content }
}

impl AttachmentSource for PdfAttachments {
    fn render<'a>(&'a self, reference: &'a str) -> RenderFuture<'a> {
        Box::pin(async move {
            let bad = || JobError::Permanent(format!("attachment {reference:?} names nothing"));
            let mut parts = reference.split(':');
            match (parts.next(), parts.next(), parts.next(), parts.next(), parts.next()) {
                (Some("receipt"), Some(p), None, None, None) => {
                    let payment: PaymentId = p.parse().map_err(|_| bad())?;
                    let (_, name, bytes) = self
                        .invoices
                        .render_receipt(payment, &Caller::system())
                        .await
                        .map_err(|e| job_error(reference, e))?;
                    Ok(pdf(name, bytes))
                }
                (Some("statement"), Some(c), Some(from), Some(to), None) => {
                    let client: ClientId = c.parse().map_err(|_| bad())?;
                    let from: Date = from.parse().map_err(|_| bad())?;
                    let to: Date = to.parse().map_err(|_| bad())?;
                    let (name, bytes) = self
                        .statements
                        .render_for_email(client, from, to)
                        .await
                        .map_err(|e| job_error(reference, e))?;
                    Ok(pdf(name, bytes))
                }
                _ => Err(bad()),
            }
        })
    }
}

/// Installs billing's attachment sources in the outbox (at start).
pub fn install_attachments(attachments: &Attachments, invoices: &Invoices, statements: &Statements) {
    let source = Arc::new(PdfAttachments { invoices: invoices.clone(), statements: statements.clone() });
    attachments.install("receipt", source.clone());
    attachments.install("statement", source);
}
