//! Estimates as a record kind: one actor per estimate, so its moves (a draft's options, sent,
//! viewed, accepted, declined, expired) are decided one at a time. Amounts are computed by
//! `clowder_schemas::money`'s rule (the function invoices use), never typed.
//!
//! Sending gives the estimate its `EST-YYYY-NNNNNN` number inside the commit
//! (`RecordKind::numbered`: gap-free per year) and writes the durable `estimate_expire` job in
//! the same change set, due the day after its validity date. Accepting an option creates the
//! draft invoice through the invoices service, together with a unique claim on the estimate's
//! id owned by the invoice (one invoice per estimate, ever), then records the acceptance with
//! the invoice's id. Also here: the estimate-vs-actual report, the PDF, and emailing it to the
//! client through the outbox (the PDF attached by reference, `estimate:<id>`).

use std::sync::Arc;

use clowder_documents::{Block, Column, Document, Row, Table};
use clowder_schemas::ValidationError;
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::catalogue::CatalogueItem;
use clowder_schemas::clients::Client;
use clowder_schemas::estimates::{
    AcceptEstimate, DEFAULT_VALID_DAYS, Estimate, EstimateActual, EstimateChange, EstimateDraft, EstimateLineDraft,
    EstimateOption, EstimateOptionDraft, EstimateReport, EstimateStatus, NewEstimateOption, UpdateEstimateLine,
    check_options,
};
use clowder_schemas::events::DomainEvent;
use clowder_schemas::ids::{ClientId, EstimateId, InvoiceId, LocationId, MessageId};
use clowder_schemas::invoices::{Invoice, InvoiceDraft, ItemDefaults, LineDraft};
use clowder_schemas::locations::Location;
use clowder_schemas::money::{BasisPoints, Cents};
use clowder_schemas::patients::Patient;
use clowder_schemas::templates::TemplateCategory;
use clowder_schemas::visits::{Visit, VisitStatus};
use jiff::civil::Date;

use super::invoices::Invoices;
use crate::comms::attachments::{AttachmentSource, Attachments, RenderFuture, job_error};
use crate::comms::messages::{Messages, NewMessage, Recipient};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::jobs::{JobHandler, Jobs, NewJob, RecordJob};
use crate::printing;
use crate::records::page::Page;
use crate::records::{Claim, DecideCtx, Decision, Link, Numbered, RecordKind, Records};
use crate::store::tables::unique;
use crate::store::{ChangeSet, IndexTable, RecordTable, Series};

/// The job kind that marks an unanswered estimate expired after its validity date.
pub const EXPIRE_KIND: &str = "estimate_expire";

/// The estimate record kind.
pub struct EstimateKind;

/// A change to an estimate.
#[derive(Debug)]
pub enum EstimateCommand {
    /// A draft's options, memo or location.
    Change(EstimateChange),
    /// One line of a draft changed in place.
    EditLine {
        option_no: u32,
        line_no: u32,
        edit: UpdateEstimateLine,
    },
    /// Numbered, the rate fixed, valid until the date given.
    Send {
        valid_until: Date,
    },
    /// The client opened it.
    MarkViewed,
    /// The option (with the optional lines taken) became the draft invoice `invoice_id`.
    Accept {
        option_no: u32,
        optional_lines: Vec<u32>,
        invoice_id: InvoiceId,
    },
    Decline {
        reason: Option<String>,
    },
    /// The expiry job's move: only an unanswered estimate past its validity date.
    Expire,
}

/// Which estimates a list shows.
#[derive(Debug, Clone, Default)]
pub struct EstimateFilter {
    pub client_id: Option<ClientId>,
    pub status: Option<EstimateStatus>,
}

impl RecordKind for EstimateKind {
    type Record = Estimate;
    type Id = EstimateId;
    type Draft = EstimateDraft;
    type Command = EstimateCommand;
    type Filter = EstimateFilter;

    const KIND: &'static str = "estimate";
    const TABLE: RecordTable = RecordTable::Estimates;
    const READ_ACTION: &'static str = "estimate.read";
    const LIST_ACTION: &'static str = "estimate.list";

    fn id(e: &Estimate) -> EstimateId {
        e.id
    }

    fn not_found(id: EstimateId) -> Error {
        Error::EstimateNotFound(id)
    }

    fn claims(_: &Estimate) -> impl Iterator<Item = Claim<'_>> {
        std::iter::empty()
    }

    fn links(e: &Estimate) -> impl Iterator<Item = Link> {
        std::iter::once(Link { index: IndexTable::EstimatesByClient, parent: e.client_id.as_u128() })
    }

    fn matches(f: &EstimateFilter, e: &Estimate) -> bool {
        f.client_id.is_none_or(|c| c == e.client_id) && f.status.is_none_or(|s| s == e.status)
    }

    fn list_via(f: &EstimateFilter) -> Option<Link> {
        f.client_id.map(|c| Link { index: IndexTable::EstimatesByClient, parent: c.as_u128() })
    }

    fn numbered(old: Option<&Estimate>, new: &Estimate) -> Option<Numbered<Estimate>> {
        let was_draft = old.is_none_or(|o| o.status == EstimateStatus::Draft);
        if was_draft && new.status == EstimateStatus::Sent {
            let year = new.sent_on.map_or(1970, |d| d.year());
            return Some((Series::new("EST", year), |e, n| e.number = Some(n.to_owned())));
        }
        None
    }

    fn decide_create(ctx: &DecideCtx<'_>, id: EstimateId, draft: EstimateDraft) -> Result<Decision<Estimate>> {
        if ctx.get::<Client>(RecordTable::Clients, draft.client_id.as_u128())?.is_none() {
            return Err(Error::ClientNotFound(draft.client_id));
        }
        match ctx.get::<Patient>(RecordTable::Patients, draft.patient_id.as_u128())? {
            None => return Err(Error::PatientNotFound(draft.patient_id)),
            Some(cat) if cat.client_id != draft.client_id => {
                return Err(ValidationError::new("patient_id", "is a cat of another client").into());
            }
            Some(_) => {}
        }
        if let Some(v) = draft.visit_id {
            match ctx.get::<Visit>(RecordTable::Visits, v.as_u128())? {
                None => return Err(ValidationError::new("visit_id", "names no visit").into()),
                Some(visit) if visit.patient_id != draft.patient_id => {
                    return Err(ValidationError::new("visit_id", "is a visit of another cat").into());
                }
                Some(visit) if visit.status == VisitStatus::Voided => {
                    return Err(ValidationError::new("visit_id", "the visit was voided").into());
                }
                Some(_) => {}
            }
        }
        let rate = tax_rate(ctx, draft.location_id)?;
        let estimate = draft.into_estimate(id, rate, ctx.now, ctx.caller.user_id())?;
        Ok(Decision {
            event: DomainEvent::EstimateCreated { estimate_id: id, client_id: estimate.client_id },
            record: estimate,
            changed: Vec::new(),
            action: "estimate.create",
        })
    }

    fn decide(ctx: &DecideCtx<'_>, current: &Estimate, command: EstimateCommand) -> Result<Option<Decision<Estimate>>> {
        use EstimateStatus::*;
        let mut new = current.clone();
        let (changed, action): (Vec<&'static str>, &'static str) = match command {
            EstimateCommand::Change(change) => {
                require(current, &[Draft], "changed")?;
                let mut changed = new.change_draft(change)?;
                let rate = tax_rate(ctx, new.location_id)?;
                if rate != new.tax_rate {
                    new.tax_rate = rate;
                    new.recompute()?;
                    changed.push("tax_rate");
                }
                (changed, "estimate.update")
            }
            EstimateCommand::EditLine { option_no, line_no, edit } => {
                require(current, &[Draft], "changed")?;
                new.edit_line(option_no, line_no, &edit)?;
                if new.options == current.options {
                    return Ok(None);
                }
                (vec!["options"], "estimate.update")
            }
            EstimateCommand::Send { .. } if current.status != Draft => {
                // Sending a sent estimate again answers it unchanged (a retried click).
                require(current, &[Draft, Sent, Viewed], "sent")?;
                return Ok(None);
            }
            EstimateCommand::Send { valid_until } => {
                if current.options.iter().all(|o| o.lines.is_empty()) {
                    return Err(ValidationError::new("options", "an estimate needs a line to be sent").into());
                }
                let today = ctx.today();
                if valid_until < today {
                    return Err(ValidationError::new("valid_until", "is before today").into());
                }
                // The rate is the location's now, and fixed from here on.
                let rate = tax_rate(ctx, new.location_id)?;
                if rate != new.tax_rate {
                    new.tax_rate = rate;
                    new.recompute()?;
                }
                new.status = Sent;
                new.sent_on = Some(today);
                new.valid_until = Some(valid_until);
                (vec!["status", "number", "sent_on", "valid_until"], "estimate.send")
            }
            EstimateCommand::MarkViewed if current.status == Viewed => return Ok(None),
            EstimateCommand::MarkViewed => {
                require(current, &[Sent], "viewed")?;
                new.status = Viewed;
                new.viewed_at = Some(ctx.now);
                (vec!["status", "viewed_at"], "estimate.view")
            }
            EstimateCommand::Accept { option_no, optional_lines, invoice_id } => {
                if invoice_of(ctx, current.id)? == Some(invoice_id) {
                    check_complete(current, option_no, &optional_lines)?;
                } else {
                    check_accept(current, option_no, &optional_lines, ctx.today())?;
                }
                new.status = Accepted;
                new.answered_at = Some(ctx.now);
                new.accepted_option = Some(option_no);
                new.accepted_optional_lines = optional_lines;
                new.invoice_id = Some(invoice_id);
                (vec!["status", "accepted_option", "invoice_id"], "estimate.accept")
            }
            EstimateCommand::Decline { reason } => {
                require(current, &[Sent, Viewed], "declined")?;
                if invoice_of(ctx, current.id)?.is_some() {
                    // Accepted already: its invoice committed, the acceptance is completing.
                    return Err(Error::EstimateTransition {
                        from: Accepted,
                        to: "declined",
                        allowed: vec!["sent", "viewed"],
                    });
                }
                new.status = Declined;
                new.answered_at = Some(ctx.now);
                new.decline_reason = reason;
                (vec!["status", "decline_reason"], "estimate.decline")
            }
            EstimateCommand::Expire => {
                let past = current.valid_until.is_some_and(|d| ctx.today() > d);
                if !current.status.is_open() || !past {
                    return Ok(None);
                }
                if invoice_of(ctx, current.id)?.is_some() {
                    return Ok(None); // accepted in time: its invoice exists, the acceptance completes
                }
                new.status = Expired;
                (vec!["status"], "estimate.expire")
            }
        };
        if changed.is_empty() {
            return Ok(None);
        }
        new.updated_at = ctx.now;
        let event = DomainEvent::EstimateUpdated {
            estimate_id: new.id,
            client_id: new.client_id,
            changed: changed.iter().map(|s| s.to_string()).collect(),
        };
        Ok(Some(Decision { record: new, changed, event, action }))
    }
}

/// Refuses a move the estimate's status does not allow, naming the statuses that would.
fn require(current: &Estimate, allowed: &[EstimateStatus], to: &'static str) -> Result<()> {
    if allowed.contains(&current.status) {
        return Ok(());
    }
    Err(Error::EstimateTransition { from: current.status, to, allowed: allowed.iter().map(|s| s.as_str()).collect() })
}

/// Whether `option_no` (with those optional lines) may be accepted today: the estimate is sent
/// or viewed (a second acceptance is 409), within its validity date, and names its own
/// option and optional lines. Checked before the invoice is created and again in the decision.
pub fn check_accept(current: &Estimate, option_no: u32, optional_lines: &[u32], today: Date) -> Result<()> {
    require(current, &[EstimateStatus::Sent, EstimateStatus::Viewed], "accepted")?;
    if current.valid_until.is_some_and(|d| today > d) {
        return Err(Error::EstimateTransition {
            from: EstimateStatus::Expired,
            to: "accepted",
            allowed: vec!["sent", "viewed"],
        });
    }
    check_option(current, option_no, optional_lines)
}

/// Whether an acceptance whose invoice already exists (found by its `estimate_invoice` claim)
/// may be completed: whatever the status but accepted (a second acceptance is 409), even
/// expired, declined or past its date. The invoice was created while the estimate could be
/// accepted, and its commit came first: a crash before the acceptance's own commit, or an
/// expiry or decline decided on a snapshot from before it, must not leave the draft holding
/// the claim forever.
pub fn check_complete(current: &Estimate, option_no: u32, optional_lines: &[u32]) -> Result<()> {
    if current.status == EstimateStatus::Accepted {
        return Err(Error::EstimateTransition {
            from: EstimateStatus::Accepted,
            to: "accepted",
            allowed: vec!["sent", "viewed"],
        });
    }
    check_option(current, option_no, optional_lines)
}

/// The invoice an estimate became (the owner of its `estimate_invoice` claim), from the
/// decision's snapshot.
fn invoice_of(ctx: &DecideCtx<'_>, id: EstimateId) -> Result<Option<InvoiceId>> {
    Ok(ctx.unique_owner(unique::ESTIMATE_INVOICE, &id.to_string())?.map(InvoiceId::from_u128))
}

/// `option_no` names an option of the estimate and `optional_lines` optional lines of it.
fn check_option(current: &Estimate, option_no: u32, optional_lines: &[u32]) -> Result<()> {
    let option = current
        .option(option_no)
        .ok_or_else(|| ValidationError::new("option_no", format!("the estimate has no option {option_no}")))?;
    for no in optional_lines {
        if !option.lines.iter().any(|l| l.line_no == *no && l.optional) {
            return Err(ValidationError::new(
                "optional_lines",
                format!("line {no} is not an optional line of the option"),
            )
            .into());
        }
    }
    Ok(())
}

/// The tax rate of a location (0 without one).
fn tax_rate(ctx: &DecideCtx<'_>, location: Option<LocationId>) -> Result<BasisPoints> {
    let Some(id) = location else { return Ok(BasisPoints::ZERO) };
    match ctx.get::<Location>(RecordTable::Locations, id.as_u128())? {
        Some(l) => Ok(l.tax_rate),
        None => Err(Error::LocationNotFound(id)),
    }
}

/// The lines the invoice gets from an accepted option: the required lines and the optional
/// ones taken, at their **high** quantity and price (what the client agreed to at most; staff
/// lower them to what was done while the invoice is a draft). Each names its source
/// `estimate:<id>:<option>:<line>`, so the invoice links back to the estimate.
pub fn invoice_lines(e: &Estimate, option: &EstimateOption, optional_lines: &[u32]) -> Vec<LineDraft> {
    option
        .lines
        .iter()
        .filter(|l| !l.optional || optional_lines.contains(&l.line_no))
        .map(|l| LineDraft {
            item_id: l.item_id,
            description: l.description.clone(),
            category: l.category.clone(),
            quantity: l.quantity_high,
            unit_price: l.unit_price_high,
            taxable: l.taxable,
            discount: l.discount,
            source: Some(format!("estimate:{}:{}:{}", e.id, option.option_no, l.line_no)),
        })
        .collect()
}

/// The option an invoice converted from an estimate was made of, read from its lines' source.
fn option_of_invoice(inv: &Invoice, estimate: EstimateId) -> Option<u32> {
    let prefix = format!("estimate:{estimate}:");
    inv.lines.iter().find_map(|l| l.source.as_deref()?.strip_prefix(&prefix)?.split(':').next()?.parse().ok())
}

/// The estimates service: the record kind's commands with the catalogue look-ups, the
/// expiry job, the conversion into an invoice, the report and the PDF.
#[derive(Clone)]
pub struct Estimates {
    records: Records<EstimateKind>,
    invoices: Invoices,
    jobs: Jobs,
    messages: Messages,
    ctx: Arc<Ctx>,
}

/// The reference of an estimate's PDF attached to an email.
pub fn pdf_ref(id: EstimateId) -> String {
    format!("estimate:{id}")
}

/// Renders `estimate:<id>` attachments when their email is sent (the PDF as it then is).
struct EstimatePdf {
    estimates: Estimates,
}

impl AttachmentSource for EstimatePdf {
    fn render<'a>(&'a self, reference: &'a str) -> RenderFuture<'a> {
        Box::pin(async move {
            let id: EstimateId = reference
                .strip_prefix("estimate:")
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| crate::jobs::JobError::Permanent(format!("attachment {reference:?} names nothing")))?;
            let (e, content) = self.estimates.pdf(id, &Caller::system()).await.map_err(|e| job_error(reference, e))?;
            let name = e.number.unwrap_or_else(|| id.to_string());
            Ok(clowder_schemas::comms::EmailAttachment {
                filename: format!("estimate-{name}.pdf"),
                content_type: "application/pdf".into(),
                content,
            })
        })
    }
}

/// Installs the estimate PDF as an attachment source of the outbox (at start).
pub fn install_attachments(attachments: &Attachments, estimates: &Estimates) {
    attachments.install("estimate", Arc::new(EstimatePdf { estimates: estimates.clone() }));
}

impl Estimates {
    pub(crate) fn new(ctx: Arc<Ctx>, invoices: Invoices, jobs: Jobs, messages: Messages) -> Self {
        Estimates { records: Records::new(ctx.clone()), invoices, jobs, messages, ctx }
    }

    /// Emails the estimate to its client through the outbox, its PDF attached, sending a
    /// draft first (numbered, `sent`, its expiry job written). Checked before anything
    /// changes: a draft, sent or viewed estimate (409 `invalid_transition` otherwise), a
    /// client with an email address and who has not opted out of email (422 `email`, as a
    /// statement run skips them). Each request is a message of its own (a deliberate resend
    /// is a new one; a retried request is answered by its `Idempotency-Key`).
    pub async fn email(&self, id: EstimateId, caller: &Caller) -> Result<(Estimate, MessageId)> {
        let current = self.records.peek(id)?;
        require(&current, &[EstimateStatus::Draft, EstimateStatus::Sent, EstimateStatus::Viewed], "emailed")?;
        let (client, cat) = {
            let reader = self.ctx.store.read()?;
            let client = reader
                .get::<Client>(RecordTable::Clients, current.client_id.as_u128())?
                .ok_or(Error::ClientNotFound(current.client_id))?;
            if let Some(reason) = crate::comms::consent::transactional_email_refused(&reader, &self.ctx, client.id)? {
                return Err(ValidationError::new("email", reason).into());
            }
            let cat = reader.get::<Patient>(RecordTable::Patients, current.patient_id.as_u128())?.map(|p| p.name);
            (client, cat)
        };
        let Some(address) = client.email.clone() else {
            return Err(ValidationError::new("email", "the client has no email address on file").into());
        };
        let e = if current.status == EstimateStatus::Draft { self.send(id, None, caller).await? } else { current };
        let new =
            self.compose(address, &client, cat.as_deref(), &e, format!("estimate:{id}:{}", self.ctx.new_ulid()))?;
        let message = self.messages.send_with(new, vec![pdf_ref(id)], caller).await?;
        Ok((e, message))
    }

    /// The estimate's email to its client, keyed `key`: the active `estimate` email template
    /// (a fixed text when there is none: a clinic whose templates were written before the
    /// category existed and that has not added one), its PDF attached by the caller.
    fn compose(
        &self,
        address: clowder_schemas::values::Email,
        client: &Client,
        cat: Option<&str>,
        e: &Estimate,
        key: String,
    ) -> Result<NewMessage> {
        let reader = self.ctx.store.read()?;
        let number = e.number.clone().unwrap_or_default();
        // From the cheapest option's low total to the dearest option's high one.
        let low = Cents::new(e.options.iter().map(|o| o.low.total.get()).min().unwrap_or(0));
        let high = Cents::new(e.options.iter().map(|o| o.high.total.get()).max().unwrap_or(0));
        let range = if low == high { low.to_string() } else { format!("{low} – {high}") };
        let valid = e.valid_until.map(|d| d.to_string()).unwrap_or_default();
        let pets = crate::comms::compose::pet_names(&reader, client)?;
        let mut values = crate::comms::compose::client_values(client, &pets, &self.ctx.config.comms.clinic);
        values.entry("clinic_phone".into()).or_default();
        values.insert("estimate_number".into(), number.clone());
        values.insert("estimate_cat".into(), cat.unwrap_or_default().to_owned());
        values.insert("estimate_range".into(), range.clone());
        values.insert("estimate_valid_until".into(), valid.clone());
        crate::comms::compose::transactional_email(
            &reader,
            TemplateCategory::Estimate,
            Recipient::Email(address),
            client,
            &values,
            key,
            || {
                let clinic = printing::letterhead(&self.ctx)?.name;
                let about = cat.map(|c| format!(" for {c}")).unwrap_or_default();
                let valid = e.valid_until.map(|d| format!(" It is valid until {d}.")).unwrap_or_default();
                let text = format!(
                    "Dear {},\n\nYour estimate {number}{about} from {clinic} is attached ({range}).{valid}\n",
                    client.display_name()
                );
                Ok((format!("Your estimate {number} from {clinic}"), text))
            },
        )
    }

    /// The generic service (reads, lists, passivation).
    pub fn records(&self) -> &Records<EstimateKind> {
        &self.records
    }

    /// Checks options and their lines against the catalogue (active items only).
    pub fn options(&self, options: &[NewEstimateOption], at_least_one: bool) -> Result<Vec<EstimateOptionDraft>> {
        check_options(options, at_least_one)?;
        let reader = self.ctx.store.read()?;
        let mut out = Vec::with_capacity(options.len());
        for (n, o) in options.iter().enumerate() {
            let mut lines: Vec<EstimateLineDraft> = Vec::with_capacity(o.lines.len());
            for (m, l) in o.lines.iter().enumerate() {
                let at = format!("options.{n}.lines.{m}");
                let item = match l.item_id {
                    None => None,
                    Some(id) => match reader.get::<CatalogueItem>(RecordTable::CatalogueItems, id.as_u128())? {
                        Some(i) if i.active => Some(ItemDefaults {
                            name: i.name,
                            category: i.category,
                            price: i.price,
                            taxable: i.taxable,
                        }),
                        Some(_) => {
                            return Err(ValidationError::new(format!("{at}.item_id"), "the item is retired").into());
                        }
                        None => return Err(Error::CatalogueItemNotFound(id)),
                    },
                };
                lines.push(l.validate(item.as_ref(), &at)?);
            }
            out.push(EstimateOptionDraft { name: o.name.trim().to_owned(), lines, discount: o.discount });
        }
        Ok(out)
    }

    pub async fn create(&self, draft: EstimateDraft, caller: &Caller) -> Result<Estimate> {
        self.records.create(draft, caller).await
    }

    /// Reads an estimate (audited).
    pub async fn get(&self, id: EstimateId, caller: &Caller) -> Result<Estimate> {
        self.records.get(id, caller).await
    }

    /// Changes a draft (409 `invalid_transition` once sent).
    pub async fn change(&self, id: EstimateId, change: EstimateChange, caller: &Caller) -> Result<Estimate> {
        self.records.command(id, EstimateCommand::Change(change), caller).await
    }

    /// Changes one line of a draft in place (409 `invalid_transition` once sent).
    pub async fn edit_line(
        &self,
        id: EstimateId,
        option_no: u32,
        line_no: u32,
        edit: UpdateEstimateLine,
        caller: &Caller,
    ) -> Result<Estimate> {
        self.records.command(id, EstimateCommand::EditLine { option_no, line_no, edit }, caller).await
    }

    /// Sends a draft: numbered, valid until `valid_until` (default 30 days from today), with
    /// its expiry job written in the same change set (due the first moment of the day after).
    pub async fn send(&self, id: EstimateId, valid_until: Option<Date>, caller: &Caller) -> Result<Estimate> {
        let today = self.ctx.today();
        let valid_until = match valid_until {
            Some(d) => d,
            None => today
                .checked_add(jiff::Span::new().days(DEFAULT_VALID_DAYS))
                .map_err(|e| Error::Internal(format!("the validity date: {e}")))?,
        };
        let due_at = valid_until
            .tomorrow()
            .and_then(|d| d.to_zoned(self.ctx.config.time_zone.clone()))
            .map_err(|_| ValidationError::new("valid_until", "is out of range"))?
            .timestamp();
        let mut with = ChangeSet::new();
        self.jobs.schedule(
            &mut with,
            NewJob {
                kind: EXPIRE_KIND.into(),
                payload: serde_json::json!({ "estimate_id": id }),
                due_at,
                idempotency_key: format!("estimate-expire:{id}"),
                subject: Some(format!("estimate:{id}")),
            },
            caller,
        )?;
        let e = self.records.command_with(id, EstimateCommand::Send { valid_until }, with, caller).await?;
        self.jobs.wake();
        Ok(e)
    }

    /// Marks a sent estimate viewed (staff record that the client opened it).
    pub async fn mark_viewed(&self, id: EstimateId, caller: &Caller) -> Result<Estimate> {
        self.records.command(id, EstimateCommand::MarkViewed, caller).await
    }

    /// Declines a sent estimate (its expiry job cancelled in the same change set).
    pub async fn decline(&self, id: EstimateId, reason: Option<String>, caller: &Caller) -> Result<Estimate> {
        let mut with = ChangeSet::new();
        self.jobs.cancel_subject(&mut with, &format!("estimate:{id}"), caller)?;
        self.records.command_with(id, EstimateCommand::Decline { reason }, with, caller).await
    }

    /// Accepts one option: creates the draft invoice (with a claim on the estimate's id, so
    /// an estimate becomes at most one invoice), then records the acceptance with the
    /// invoice's id and cancels the expiry job. A second acceptance is 409. If a crash came
    /// between the two commits, accepting the same option again finds the invoice by its
    /// claim and completes the acceptance without a second invoice, even if the estimate has
    /// passed its date meanwhile (the expiry job and a decline leave an estimate whose
    /// invoice exists alone).
    pub async fn accept(&self, id: EstimateId, body: AcceptEstimate, caller: &Caller) -> Result<(Estimate, Invoice)> {
        let est = self.records.peek(id)?;
        let owner = self.ctx.store.read()?.unique_owner(unique::ESTIMATE_INVOICE, &id.to_string())?;
        match owner {
            Some(_) => check_complete(&est, body.option_no, &body.optional_lines)?,
            None => check_accept(&est, body.option_no, &body.optional_lines, self.ctx.today())?,
        }
        let invoice = match owner {
            Some(key) => {
                let inv = self.invoices.records().peek(InvoiceId::from_u128(key))?;
                if option_of_invoice(&inv, id) != Some(body.option_no) {
                    return Err(ValidationError::new(
                        "option_no",
                        "the estimate was already converted into an invoice with another option",
                    )
                    .into());
                }
                inv
            }
            None => {
                let option = est.option(body.option_no).expect("checked by check_accept");
                let number = est.number.clone().unwrap_or_default();
                let draft = InvoiceDraft {
                    client_id: est.client_id,
                    patient_id: Some(est.patient_id),
                    visit_id: est.visit_id,
                    location_id: est.location_id,
                    lines: invoice_lines(&est, option, &body.optional_lines),
                    discount: option.discount,
                    memo: Some(format!("From estimate {number}, option {} \"{}\"", option.option_no, option.name)),
                };
                let invoice_id = InvoiceId::from_ulid(self.ctx.new_ulid());
                let mut with = ChangeSet::new();
                with.claim(unique::ESTIMATE_INVOICE, &id.to_string(), invoice_id.as_u128(), "estimate_id");
                match self.invoices.records().create_with(invoice_id, draft, with, caller).await {
                    Ok(inv) => inv,
                    Err(Error::Duplicate { field: "estimate_id" }) => {
                        // Another acceptance won the race: answer as a second acceptance.
                        let now = self.records.peek(id)?;
                        check_accept(&now, body.option_no, &body.optional_lines, self.ctx.today())?;
                        return Err(Error::Duplicate { field: "estimate_id" });
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        let mut with = ChangeSet::new();
        self.jobs.cancel_subject(&mut with, &format!("estimate:{id}"), caller)?;
        let command = EstimateCommand::Accept {
            option_no: body.option_no,
            optional_lines: body.optional_lines,
            invoice_id: invoice.id,
        };
        let est = self.records.command_with(id, command, with, caller).await?;
        Ok((est, invoice))
    }

    /// Marks an estimate expired if it still is (the job's move; a no-op otherwise).
    pub async fn expire(&self, id: EstimateId, caller: &Caller) -> Result<Estimate> {
        self.records.command(id, EstimateCommand::Expire, caller).await
    }

    /// A page of estimates (audited), newest first.
    pub async fn list(
        &self,
        filter: &EstimateFilter,
        before: Option<u128>,
        limit: usize,
        caller: &Caller,
    ) -> Result<Page<Estimate>> {
        self.records.list_newest_first(filter, before, limit, caller).await
    }

    /// Estimate vs actual: a page of accepted estimates (audited as a list), each option's
    /// low and high total against the total of the invoice it became, read from one snapshot.
    pub async fn report(
        &self,
        client: Option<ClientId>,
        before: Option<u128>,
        limit: usize,
        caller: &Caller,
    ) -> Result<(EstimateReport, Option<u128>)> {
        let filter = EstimateFilter { client_id: client, status: Some(EstimateStatus::Accepted) };
        let (items, next) = self.records.list_newest_first(&filter, before, limit, caller).await?;
        let reader = self.ctx.store.read()?;
        let mut report = EstimateReport { rows: Vec::with_capacity(items.len()), below: 0, within: 0, above: 0 };
        for e in items {
            let Some(option) = e.accepted_option.and_then(|n| e.option(n)) else { continue };
            // The range of what was accepted: the optional lines taken count at both ends.
            let (low, high) = accepted_range(&e, option)?;
            let inv = match e.invoice_id {
                Some(i) => reader.get::<Invoice>(RecordTable::Invoices, i.as_u128())?,
                None => None,
            };
            let actual = inv.as_ref().map(|i| i.totals.total);
            let (against, difference) = match actual {
                Some(a) => {
                    let (against, d) = EstimateActual::compare(low, high, a);
                    match against {
                        clowder_schemas::estimates::Against::Below => report.below += 1,
                        clowder_schemas::estimates::Against::Within => report.within += 1,
                        clowder_schemas::estimates::Against::Above => report.above += 1,
                    }
                    (Some(against), d)
                }
                None => (None, Cents::ZERO),
            };
            report.rows.push(EstimateActual {
                estimate_id: e.id,
                number: e.number.clone(),
                client_id: e.client_id,
                patient_id: e.patient_id,
                option_no: option.option_no,
                option_name: option.name.clone(),
                low,
                high,
                invoice_id: e.invoice_id,
                invoice_number: inv.as_ref().and_then(|i| i.number.clone()),
                invoice_status: inv.as_ref().map(|i| i.status.as_str().to_owned()),
                actual,
                difference,
                against,
            });
        }
        Ok((report, next))
    }

    /// The estimate as a PDF: each option's lines with their low and high amounts and the
    /// option's totals. Audited as `estimate.export_pdf` before it is returned.
    pub async fn pdf(&self, id: EstimateId, caller: &Caller) -> Result<(Estimate, Vec<u8>)> {
        let e = self.records.peek(id)?;
        let reader = self.ctx.store.read()?;
        let client = reader.get::<Client>(RecordTable::Clients, e.client_id.as_u128())?;
        let cat = reader.get::<Patient>(RecordTable::Patients, e.patient_id.as_u128())?;
        drop(reader);
        let now = self.ctx.clock.now();
        let by = caller.username.clone().unwrap_or_else(|| "Clowder".into());
        let title = match &e.number {
            Some(n) => format!("Estimate {n}"),
            None => "Estimate (draft)".to_owned(),
        };
        let mut doc = Document::new(printing::letterhead(&self.ctx)?, title, printing::generated(&self.ctx, now, &by))
            .paper(printing::paper(&self.ctx));
        let mut fields = vec![
            ("Client".to_owned(), client.map_or_else(String::new, |c| format!("{} {}", c.first_name, c.last_name))),
            ("Cat".to_owned(), cat.map_or_else(String::new, |p| p.name)),
            ("Status".to_owned(), e.status.as_str().replace('_', " ")),
        ];
        if let Some(d) = e.sent_on {
            fields.push(("Date".into(), d.to_string()));
        }
        if let Some(d) = e.valid_until {
            fields.push(("Valid until".into(), d.to_string()));
        }
        fields.push(("Tax rate".into(), format!("{}.{:02} %", e.tax_rate.get() / 100, e.tax_rate.get() % 100)));
        doc.push(Block::Fields(fields));
        if let Some(m) = &e.memo {
            doc.push(Block::Paragraph(m.clone()));
        }
        for o in &e.options {
            doc.push(Block::Heading(format!("Option {}: {}", o.option_no, o.name)));
            let mut rows: Vec<Row> = o
                .lines
                .iter()
                .map(|l| {
                    let what = if l.optional { format!("{} (optional)", l.description) } else { l.description.clone() };
                    Row::new([
                        what,
                        range(l.quantity_low.to_string(), l.quantity_high.to_string()),
                        range(l.unit_price_low.to_string(), l.unit_price_high.to_string()),
                        l.low.net.to_string(),
                        l.high.net.to_string(),
                    ])
                })
                .collect();
            for (label, low, high) in [
                ("Subtotal", o.low.subtotal, o.high.subtotal),
                ("Discount", o.low.discount, o.high.discount),
                ("Tax", o.low.tax, o.high.tax),
                ("Total", o.low.total, o.high.total),
            ] {
                rows.push(Row::total([
                    label.to_owned(),
                    String::new(),
                    String::new(),
                    low.to_string(),
                    high.to_string(),
                ]));
            }
            doc.push(Block::Table(Table {
                columns: vec![
                    Column::new("Item", 4.0),
                    Column::right("Quantity", 1.5),
                    Column::right("Unit price", 2.0),
                    Column::right("Low", 1.5),
                    Column::right("High", 1.5),
                ],
                rows,
            }));
        }
        doc.push(Block::Paragraph(
            "Low: the required lines at their lowest quantity and price. High: every line, optional ones too, at its highest."
                .into(),
        ));
        let pdf = printing::render(doc).await?;
        crate::audit::record_now(
            &self.ctx,
            AuditDraft::new(caller, "estimate.export_pdf")
                .record("estimate", id)
                .detail(serde_json::json!({ "bytes": pdf.len() })),
        )
        .await?;
        Ok((e, pdf))
    }

    /// The handler of [`EXPIRE_KIND`] jobs.
    pub fn expire_handler(&self) -> Arc<dyn JobHandler> {
        #[derive(serde::Deserialize)]
        struct Payload {
            estimate_id: EstimateId,
        }
        let estimates = self.clone();
        Arc::new(RecordJob::new(
            "{\"estimate_id\": <estimate id>}",
            |e| matches!(e, Error::EstimateNotFound(_)),
            move |p: Payload, caller: Caller| {
                let estimates = estimates.clone();
                async move { estimates.expire(p.estimate_id, &caller).await.map(drop) }
            },
        ))
    }

    pub(crate) fn stop_all(&self) {
        self.records.stop_all();
    }
}

/// `1` or `1 – 2`.
fn range(low: String, high: String) -> String {
    if low == high { low } else { format!("{low} – {high}") }
}

/// The low and high totals of what was accepted: the option's, with the optional lines the
/// client took counted at both ends (computed by the same rule, at the estimate's rate).
fn accepted_range(e: &Estimate, option: &EstimateOption) -> Result<(Cents, Cents)> {
    use clowder_schemas::money::{LineInput, compute};
    let taken =
        |l: &&clowder_schemas::estimates::EstimateLine| !l.optional || e.accepted_optional_lines.contains(&l.line_no);
    let input = |l: &clowder_schemas::estimates::EstimateLine, high: bool| LineInput {
        quantity: if high { l.quantity_high } else { l.quantity_low },
        unit_price: if high { l.unit_price_high } else { l.unit_price_low },
        taxable: l.taxable,
        discount: l.discount,
    };
    let low: Vec<LineInput> = option.lines.iter().filter(taken).map(|l| input(l, false)).collect();
    let high: Vec<LineInput> = option.lines.iter().filter(taken).map(|l| input(l, true)).collect();
    let err = |e: clowder_schemas::money::MoneyError| Error::Internal(format!("an accepted estimate's range: {e}"));
    Ok((
        compute(&low, option.discount, e.tax_rate).map_err(err)?.1.total,
        compute(&high, option.discount, e.tax_rate).map_err(err)?.1.total,
    ))
}

#[cfg(test)]
mod tests {
    use clowder_schemas::UserId;
    use clowder_schemas::events::Author;
    use clowder_schemas::ids::PatientId;
    use clowder_schemas::money::Quantity;
    use jiff::Timestamp;

    use super::*;
    use crate::clock::ManualClock;
    use crate::ctx::SystemConfig;
    use crate::metrics::StoreMetrics;
    use crate::store::{Store, StoreConfig};

    /// An empty store (decisions read the `estimate_invoice` claim from it).
    fn store(dir: &std::path::Path) -> Arc<Store> {
        let config = StoreConfig {
            path: dir.join("clowder.redb"),
            clinic_id: "test".into(),
            cache_bytes: 8 << 20,
            journal: None,
        };
        Store::open(&config, Arc::new(ManualClock::new(Timestamp::UNIX_EPOCH)), StoreMetrics::default()).unwrap()
    }

    fn caller() -> Caller {
        Caller { actor: Some(Author::User(UserId::from_u128(7))), ..Caller::default() }
    }

    fn estimate(status: EstimateStatus) -> Estimate {
        let line = |optional| EstimateLineDraft {
            item_id: None,
            description: "Dental".into(),
            category: None,
            quantity_low: Quantity::ONE,
            quantity_high: Quantity::from_thousandths(2000),
            unit_price_low: Cents::new(10_000),
            unit_price_high: Cents::new(15_000),
            taxable: false,
            discount: None,
            optional,
        };
        let mut e = EstimateDraft {
            client_id: ClientId::from_u128(1),
            patient_id: PatientId::from_u128(2),
            visit_id: None,
            location_id: None,
            options: vec![EstimateOptionDraft {
                name: "Best case".into(),
                lines: vec![line(false), line(true)],
                discount: None,
            }],
            memo: None,
        }
        .into_estimate(EstimateId::from_u128(3), BasisPoints::ZERO, Timestamp::UNIX_EPOCH, None)
        .unwrap();
        e.status = status;
        e.valid_until = Some(jiff::civil::date(2026, 6, 1));
        e
    }

    #[test]
    fn a_sent_estimate_is_not_edited_and_is_accepted_once_within_its_validity() {
        let (settings, caller) = (SystemConfig::new("unused"), caller());
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let ctx = DecideCtx::new("2026-06-01T12:00:00Z".parse().unwrap(), &settings, &caller, Some(&store));
        let sent = estimate(EstimateStatus::Sent);
        let e = EstimateKind::decide(&ctx, &sent, EstimateCommand::Change(EstimateChange::default())).unwrap_err();
        assert!(matches!(e, Error::EstimateTransition { to: "changed", .. }), "{e:?}");
        let accept = |no, lines: Vec<u32>| EstimateCommand::Accept {
            option_no: no,
            optional_lines: lines,
            invoice_id: InvoiceId::from_u128(9),
        };
        assert!(
            matches!(EstimateKind::decide(&ctx, &sent, accept(2, vec![])).unwrap_err(), Error::Validation(v) if v.field == "option_no")
        );
        assert!(
            matches!(EstimateKind::decide(&ctx, &sent, accept(1, vec![1])).unwrap_err(), Error::Validation(v) if v.field == "optional_lines")
        );
        let d = EstimateKind::decide(&ctx, &sent, accept(1, vec![2])).unwrap().unwrap();
        assert_eq!((d.record.status, d.record.invoice_id), (EstimateStatus::Accepted, Some(InvoiceId::from_u128(9))));
        let e = EstimateKind::decide(&ctx, &d.record, accept(1, vec![])).unwrap_err();
        assert!(matches!(e, Error::EstimateTransition { from: EstimateStatus::Accepted, .. }), "{e:?}");
        let after = DecideCtx::new("2026-06-02T12:00:00Z".parse().unwrap(), &settings, &caller, Some(&store));
        let e = EstimateKind::decide(&after, &sent, accept(1, vec![])).unwrap_err();
        assert!(matches!(e, Error::EstimateTransition { from: EstimateStatus::Expired, .. }), "{e:?}");
    }

    #[test]
    fn expiry_only_after_the_validity_date_and_only_unanswered() {
        let (settings, caller) = (SystemConfig::new("unused"), caller());
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let on = DecideCtx::new("2026-06-01T23:00:00Z".parse().unwrap(), &settings, &caller, Some(&store));
        let after = DecideCtx::new("2026-06-02T00:00:00Z".parse().unwrap(), &settings, &caller, Some(&store));
        let viewed = estimate(EstimateStatus::Viewed);
        assert!(EstimateKind::decide(&on, &viewed, EstimateCommand::Expire).unwrap().is_none());
        assert_eq!(
            EstimateKind::decide(&after, &viewed, EstimateCommand::Expire).unwrap().unwrap().record.status,
            EstimateStatus::Expired
        );
        let declined = estimate(EstimateStatus::Declined);
        assert!(EstimateKind::decide(&after, &declined, EstimateCommand::Expire).unwrap().is_none());
    }

    /// The gap between acceptance's two commits: once the draft invoice holds the estimate's
    /// claim, the expiry job and a decline leave the estimate alone, and the acceptance
    /// completes even if the estimate expired or was declined meanwhile (or its date passed).
    #[tokio::test]
    async fn once_its_invoice_exists_the_acceptance_completes_and_expiry_or_decline_stand_aside() {
        let (settings, caller) = (SystemConfig::new("unused"), caller());
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let viewed = estimate(EstimateStatus::Viewed);
        let at = |t: &str| t.parse::<Timestamp>().unwrap();
        let accept = |invoice| EstimateCommand::Accept {
            option_no: 1,
            optional_lines: vec![],
            invoice_id: InvoiceId::from_u128(invoice),
        };
        let decline = || EstimateCommand::Decline { reason: None };
        {
            // Without an invoice: expiry and decline go through, a late acceptance is refused.
            let after = DecideCtx::new(at("2026-06-02T12:00:00Z"), &settings, &caller, Some(&store));
            let expired = EstimateKind::decide(&after, &viewed, EstimateCommand::Expire).unwrap().unwrap().record;
            assert_eq!(expired.status, EstimateStatus::Expired);
            assert!(EstimateKind::decide(&after, &expired, accept(9)).is_err());
            let on = DecideCtx::new(at("2026-06-01T12:00:00Z"), &settings, &caller, Some(&store));
            let d = EstimateKind::decide(&on, &viewed, decline()).unwrap().unwrap();
            assert_eq!(d.record.status, EstimateStatus::Declined);
        }
        // The first commit of an acceptance: the draft invoice 9 claims the estimate's id.
        let mut set = ChangeSet::new();
        set.claim(unique::ESTIMATE_INVOICE, &viewed.id.to_string(), 9, "estimate_id");
        store.commit(set).await.unwrap();

        let after = DecideCtx::new(at("2026-06-02T12:00:00Z"), &settings, &caller, Some(&store));
        assert!(EstimateKind::decide(&after, &viewed, EstimateCommand::Expire).unwrap().is_none(), "no expiry");
        let on = DecideCtx::new(at("2026-06-01T12:00:00Z"), &settings, &caller, Some(&store));
        let e = EstimateKind::decide(&on, &viewed, decline()).unwrap_err();
        assert!(matches!(e, Error::EstimateTransition { from: EstimateStatus::Accepted, .. }), "{e:?}");
        // The retry completes past the date, and from an expired or declined estimate (an
        // expiry or decline decided on a snapshot from before the invoice).
        for status in [EstimateStatus::Viewed, EstimateStatus::Expired, EstimateStatus::Declined] {
            let d = EstimateKind::decide(&after, &estimate(status), accept(9)).unwrap().unwrap();
            assert_eq!(
                (d.record.status, d.record.invoice_id),
                (EstimateStatus::Accepted, Some(InvoiceId::from_u128(9)))
            );
            let e = EstimateKind::decide(&after, &d.record, accept(9)).unwrap_err();
            assert!(matches!(e, Error::EstimateTransition { from: EstimateStatus::Accepted, .. }), "{e:?}");
        }
        // Another invoice's id does not complete anything.
        assert!(EstimateKind::decide(&after, &estimate(EstimateStatus::Expired), accept(8)).is_err());
    }

    #[test]
    fn the_invoice_takes_the_high_end_and_only_the_optional_lines_accepted() {
        let e = estimate(EstimateStatus::Sent);
        let lines = invoice_lines(&e, &e.options[0], &[]);
        assert_eq!(lines.len(), 1);
        assert_eq!((lines[0].quantity, lines[0].unit_price), (Quantity::from_thousandths(2000), Cents::new(15_000)));
        assert_eq!(lines[0].source.as_deref(), Some(format!("estimate:{}:1:1", e.id).as_str()));
        assert_eq!(invoice_lines(&e, &e.options[0], &[2]).len(), 2);
        let (low, high) =
            accepted_range(&Estimate { accepted_optional_lines: vec![2], ..e.clone() }, &e.options[0]).unwrap();
        assert_eq!((low.get(), high.get()), (20_000, 60_000));
    }
}
