//! Invoices as a record kind: one actor per invoice, so every change to what it asks (lines
//! while a draft, issue, credit notes, void, overdue) is decided one at a time against its
//! current amounts. Amounts are computed by `clowder_schemas::money`'s rule, never typed.
//!
//! Issuing gives the invoice its `INV-YYYY-NNNNNN` number inside the commit
//! (`RecordKind::numbered`: gap-free per year, none consumed by a refused change) and writes
//! the durable `invoice_overdue` job in the same change set, due the day after the due date;
//! a credit note gets its `CN-YYYY-NNNNNN` the same way. Every invoice is linked under its
//! client (`invoices_by_client`: the client's balance is summed over it, never stored) and
//! under its visit (`invoices_by_visit`).

use std::sync::Arc;

use clowder_schemas::ValidationError;
use clowder_schemas::audit::Caller;
use clowder_schemas::catalogue::CatalogueItem;
use clowder_schemas::clients::Client;
use clowder_schemas::events::DomainEvent;
use clowder_schemas::ids::{ClientId, CreditNoteId, InvoiceId, LocationId, PaymentId, RefundId};
use clowder_schemas::invoices::{
    ClientBalance, CreditNoteDraft, DraftChange, Invoice, InvoiceDraft, InvoiceStatus, ItemDefaults, LineDraft, NewLine,
};
use clowder_schemas::locations::Location;
use clowder_schemas::money::{BasisPoints, Cents};
use clowder_schemas::patients::Patient;
use clowder_schemas::payments::{PaymentDraft, RefundDraft, RefundOf};
use clowder_schemas::visits::{Visit, VisitStatus};
use jiff::civil::Date;

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::jobs::{JobHandler, Jobs, NewJob, RecordJob};
use crate::records::page::Page;
use crate::records::{Claim, DecideCtx, Decision, Link, Numbered, RecordKind, Records};
use crate::store::tables::unique;
use crate::store::{ChangeSet, IndexTable, RecordTable, Series};

/// The job kind that marks an issued invoice overdue after its due date.
pub const OVERDUE_KIND: &str = "invoice_overdue";

/// The invoice record kind.
pub struct InvoiceKind;

/// A change to an invoice.
#[derive(Debug)]
pub enum InvoiceCommand {
    /// A draft's lines, discount, memo or location.
    Change(DraftChange),
    /// Lines added to a draft.
    AddLines(Vec<LineDraft>),
    /// Numbered, the tax rate fixed, due on the date given (the service computed it from the
    /// clinic's terms and scheduled the overdue job for it).
    Issue {
        due_on: Date,
    },
    Void {
        reason: String,
    },
    /// The overdue job's move: only an open invoice with a balance past its due date.
    MarkOverdue,
    CreditNote {
        id: CreditNoteId,
        draft: CreditNoteDraft,
    },
    Pay {
        id: PaymentId,
        draft: PaymentDraft,
    },
    /// Charge capture's line or uncharged entry, on a draft (`billing::capture`).
    Capture(crate::billing::capture::Captured),
    /// Staff dealt with an uncharged entry (charged it by hand, or not).
    ResolveUncharged {
        source: String,
    },
    /// The client's credit on account applied as a payment: `amount`, or as much as both the
    /// credit and the balance allow. `lock` is the client's credit stripe
    /// (`CreditLocks::stripe`): the actor holds it while the credit is summed from its
    /// decision's snapshot and until the payment has committed.
    ApplyCredit {
        id: PaymentId,
        amount: Option<Cents>,
        lock: Arc<tokio::sync::Mutex<()>>,
    },
    /// A refund of (part of) one of its payments; `credit_lock` is the client's credit stripe
    /// when the refund is of credit (the credit is then summed in the decision, under it).
    Refund {
        id: RefundId,
        draft: RefundDraft,
        credit_lock: Option<Arc<tokio::sync::Mutex<()>>>,
    },
    /// Loyalty points redeemed on a draft (`Some`), replacing what it redeemed, or released
    /// (`None`); `lock` is the client's loyalty stripe, held from the decision's snapshot to
    /// the commit (`billing::loyalty`).
    Loyalty {
        points: Option<i64>,
        lock: Arc<tokio::sync::Mutex<()>>,
    },
}

/// Which invoices a list shows.
#[derive(Debug, Clone, Default)]
pub struct InvoiceFilter {
    pub client_id: Option<ClientId>,
    pub visit_id: Option<clowder_schemas::ids::VisitId>,
    pub status: Option<InvoiceStatus>,
}

impl RecordKind for InvoiceKind {
    type Record = Invoice;
    type Id = InvoiceId;
    type Draft = InvoiceDraft;
    type Command = InvoiceCommand;
    type Filter = InvoiceFilter;

    const KIND: &'static str = "invoice";
    const TABLE: RecordTable = RecordTable::Invoices;
    const READ_ACTION: &'static str = "invoice.read";
    const LIST_ACTION: &'static str = "invoice.list";

    fn id(i: &Invoice) -> InvoiceId {
        i.id
    }

    fn not_found(id: InvoiceId) -> Error {
        Error::InvoiceNotFound(id)
    }

    fn claims(_: &Invoice) -> impl Iterator<Item = Claim<'_>> {
        std::iter::empty()
    }

    fn links(i: &Invoice) -> impl Iterator<Item = Link> {
        std::iter::once(Link { index: IndexTable::InvoicesByClient, parent: i.client_id.as_u128() })
            .chain(i.visit_id.map(|v| Link { index: IndexTable::InvoicesByVisit, parent: v.as_u128() }))
            .chain(super::reports::links(i))
            .chain(super::accounting::links(i))
    }

    /// A processor's payment id is recorded once across all invoices (a webhook delivered
    /// twice pays once): claimed when its payment is added. Payments are never removed.
    fn also(_ctx: &DecideCtx<'_>, old: Option<&Invoice>, new: &Invoice) -> Result<ChangeSet> {
        let mut set = ChangeSet::new();
        let before = old.map_or(0, |o| o.payments.len());
        for p in new.payments.iter().skip(before) {
            if let Some(key) = p.processor_key() {
                // Owned by the payment, so the same invoice cannot record it twice either.
                set.claim(unique::PAYMENT_PROCESSOR_ID, &key, p.id.as_u128(), "processor_payment_id");
            }
            // `/api/payments/{id}/…` finds the payment's invoice by this claim.
            set.claim(unique::PAYMENT_INVOICE, &p.id.to_string(), new.id.as_u128(), "payment_id");
        }
        crate::billing::capture::claim_sources(&mut set, old, new);
        also_refunds(old, new, &mut set);
        set.append(super::reports::rollup_changes(old, new));
        Ok(set)
    }

    fn matches(f: &InvoiceFilter, i: &Invoice) -> bool {
        f.client_id.is_none_or(|c| c == i.client_id)
            && f.visit_id.is_none_or(|v| Some(v) == i.visit_id)
            && f.status.is_none_or(|s| s == i.status)
    }

    fn list_via(f: &InvoiceFilter) -> Option<Link> {
        match (f.visit_id, f.client_id) {
            (Some(v), _) => Some(Link { index: IndexTable::InvoicesByVisit, parent: v.as_u128() }),
            (None, Some(c)) => Some(Link { index: IndexTable::InvoicesByClient, parent: c.as_u128() }),
            (None, None) => None,
        }
    }

    /// Spending credit (applying it, refunding it) holds the client's credit stripe from the
    /// decision's snapshot until the commit: the actor takes it, so a command still in the
    /// mailbox after its ask timed out is decided against the credit as it then is.
    fn locks(command: &InvoiceCommand) -> Vec<Arc<tokio::sync::Mutex<()>>> {
        match command {
            InvoiceCommand::ApplyCredit { lock, .. } => vec![lock.clone()],
            InvoiceCommand::Refund { credit_lock: Some(lock), .. } => vec![lock.clone()],
            InvoiceCommand::Loyalty { lock, .. } => vec![lock.clone()],
            _ => Vec::new(),
        }
    }

    fn numbered(old: Option<&Invoice>, new: &Invoice) -> Option<Numbered<Invoice>> {
        let was_draft = old.is_none_or(|o| o.status == InvoiceStatus::Draft);
        if was_draft && new.status != InvoiceStatus::Draft && new.status != InvoiceStatus::Void {
            let year = new.issued_on.map_or(1970, |d| d.year());
            return Some((Series::new("INV", year), |i, n| i.number = Some(n.to_owned())));
        }
        let credits_before = old.map_or(0, |o| o.credit_notes.len());
        if new.credit_notes.len() > credits_before {
            let year = new.credit_notes.last().map_or(1970, |c| c.date.year());
            return Some((Series::new("CN", year), |i, n| {
                if let Some(c) = i.credit_notes.last_mut() {
                    c.number = Some(n.to_owned());
                }
            }));
        }
        None
    }

    fn decide_create(ctx: &DecideCtx<'_>, id: InvoiceId, draft: InvoiceDraft) -> Result<Decision<Invoice>> {
        if ctx.get::<Client>(RecordTable::Clients, draft.client_id.as_u128())?.is_none() {
            return Err(Error::ClientNotFound(draft.client_id));
        }
        if let Some(p) = draft.patient_id {
            match ctx.get::<Patient>(RecordTable::Patients, p.as_u128())? {
                None => return Err(Error::PatientNotFound(p)),
                Some(cat) if cat.client_id != draft.client_id => {
                    return Err(ValidationError::new("patient_id", "is a cat of another client").into());
                }
                Some(_) => {}
            }
        }
        if let Some(v) = draft.visit_id {
            match ctx.get::<Visit>(RecordTable::Visits, v.as_u128())? {
                None => return Err(ValidationError::new("visit_id", "names no visit").into()),
                Some(visit) if Some(visit.patient_id) != draft.patient_id => {
                    return Err(
                        ValidationError::new("visit_id", "is a visit of another cat (or no patient_id given)").into()
                    );
                }
                Some(visit) if visit.status == VisitStatus::Voided => {
                    return Err(ValidationError::new("visit_id", "the visit was voided").into());
                }
                Some(_) => {}
            }
        }
        let rate = tax_rate(ctx, draft.location_id)?;
        let invoice = draft.into_invoice(id, rate, ctx.now, ctx.caller.user_id())?;
        Ok(Decision {
            event: DomainEvent::InvoiceCreated { invoice_id: id, client_id: invoice.client_id },
            record: invoice,
            changed: Vec::new(),
            action: "invoice.create",
        })
    }

    fn decide(ctx: &DecideCtx<'_>, current: &Invoice, command: InvoiceCommand) -> Result<Option<Decision<Invoice>>> {
        let mut new = current.clone();
        let (changed, action): (Vec<&'static str>, &'static str) = match command {
            InvoiceCommand::Change(change) => {
                require(current, &[InvoiceStatus::Draft], "changed")?;
                let mut changed = new.change_draft(change)?;
                changed.extend(refresh_rate(ctx, &mut new)?);
                (changed, "invoice.update")
            }
            InvoiceCommand::AddLines(lines) => {
                require(current, &[InvoiceStatus::Draft], "changed")?;
                new.add_lines(lines)?;
                let mut changed = vec!["lines"];
                changed.extend(refresh_rate(ctx, &mut new)?);
                (changed, "invoice.add_lines")
            }
            InvoiceCommand::Issue { due_on } => {
                if current.status != InvoiceStatus::Draft && current.status != InvoiceStatus::Void {
                    return Ok(None); // issued already: a retry answers the invoice as it is
                }
                require(current, &[InvoiceStatus::Draft], "issued")?;
                if current.lines.is_empty() {
                    return Err(ValidationError::new("lines", "an invoice without lines cannot be issued").into());
                }
                refresh_rate(ctx, &mut new)?;
                new.issued_on = Some(ctx.today());
                new.issued_at = Some(ctx.now);
                new.due_on = Some(due_on);
                new.status = InvoiceStatus::Issued;
                new.settle_status();
                (vec!["status", "number", "issued_on", "due_on"], "invoice.issue")
            }
            InvoiceCommand::Void { reason } => {
                require(current, &[InvoiceStatus::Draft, InvoiceStatus::Issued, InvoiceStatus::Overdue], "voided")?;
                if current.paid.is_positive() || current.credited.is_positive() {
                    return Err(Error::InvoiceTransition {
                        from: current.status,
                        to: "voided",
                        allowed: vec!["draft", "issued or overdue with no payments and no credit notes"],
                    });
                }
                new.status = InvoiceStatus::Void;
                new.void_reason = Some(reason);
                new.voided_at = Some(ctx.now);
                (vec!["status", "void_reason", "voided_at"], "invoice.void")
            }
            InvoiceCommand::MarkOverdue => {
                let due = current.due_on.is_some_and(|d| ctx.today() > d);
                if !matches!(current.status, InvoiceStatus::Issued | InvoiceStatus::PartiallyPaid)
                    || !current.balance.is_positive()
                    || !due
                {
                    return Ok(None);
                }
                new.status = InvoiceStatus::Overdue;
                (vec!["status"], "invoice.overdue")
            }
            InvoiceCommand::Pay { id, draft } => {
                require(
                    current,
                    &[InvoiceStatus::Issued, InvoiceStatus::PartiallyPaid, InvoiceStatus::Overdue],
                    "paid",
                )?;
                new.pay_keeping_credit(
                    id,
                    draft,
                    ctx.settings.billing.credit_on_account,
                    ctx.now,
                    ctx.caller.user_id(),
                )?;
                (vec!["payments", "paid", "balance", "status"], "invoice.payment")
            }
            InvoiceCommand::CreditNote { id, draft } => {
                require(
                    current,
                    &[InvoiceStatus::Issued, InvoiceStatus::PartiallyPaid, InvoiceStatus::Overdue],
                    "credited",
                )?;
                new.add_credit_note(id, draft, ctx.today(), ctx.now, ctx.caller.user_id())?;
                (vec!["credit_notes", "credited", "balance", "status"], "invoice.credit_note")
            }
            InvoiceCommand::Capture(captured) => {
                require(current, &[InvoiceStatus::Draft], "changed")?;
                let Some((mut changed, action)) = crate::billing::capture::apply(&mut new, captured, ctx.now)? else {
                    return Ok(None);
                };
                changed.extend(refresh_rate(ctx, &mut new)?);
                (changed, action)
            }
            InvoiceCommand::ResolveUncharged { source } => {
                if !crate::billing::capture::resolve(&mut new, &source, ctx.now, ctx.caller.user_id())? {
                    return Ok(None);
                }
                (vec!["uncharged"], "invoice.resolve_uncharged")
            }
            InvoiceCommand::ApplyCredit { id, amount, lock: _ } => {
                require(
                    current,
                    &[InvoiceStatus::Issued, InvoiceStatus::PartiallyPaid, InvoiceStatus::Overdue],
                    "paid",
                )?;
                // Summed under the lock the actor holds (`locks`), from this decision's snapshot.
                let available = crate::billing::credit::ledger(ctx.reader()?, current.client_id)?.credit;
                let amount = amount.unwrap_or(available.min(current.balance));
                new.apply_credit(id, amount, available, ctx.now, ctx.caller.user_id())?;
                (vec!["payments", "paid", "balance", "status"], "invoice.apply_credit")
            }
            InvoiceCommand::Refund { id, draft, credit_lock: _ } => {
                // A refund of credit spends it: summed under the lock the actor holds.
                let available = match draft.of {
                    RefundOf::Credit => Some(crate::billing::credit::ledger(ctx.reader()?, current.client_id)?.credit),
                    RefundOf::Invoice => None,
                };
                new.refund(id, draft, available, ctx.today(), ctx.now, ctx.caller.user_id())?;
                (vec!["refunds", "refunded", "paid", "balance", "status"], "invoice.refund")
            }
            InvoiceCommand::Loyalty { points, lock: _ } => {
                require(current, &[InvoiceStatus::Draft], "changed")?;
                let action = if points.is_some() { "invoice.loyalty_redeem" } else { "invoice.loyalty_release" };
                if !crate::billing::loyalty::decide(ctx, &mut new, points)? {
                    return Ok(None);
                }
                (vec!["loyalty"], action)
            }
        };
        if changed.is_empty() {
            return Ok(None);
        }
        new.updated_at = ctx.now;
        let event = DomainEvent::InvoiceUpdated {
            invoice_id: new.id,
            client_id: new.client_id,
            changed: changed.iter().map(|s| s.to_string()).collect(),
        };
        Ok(Some(Decision { record: new, changed, event, action }))
    }
}

/// Refuses a move the invoice's status does not allow (a second void, editing an issued
/// invoice), naming the statuses that would.
fn require(current: &Invoice, allowed: &[InvoiceStatus], to: &'static str) -> Result<()> {
    if allowed.contains(&current.status) {
        return Ok(());
    }
    Err(Error::InvoiceTransition { from: current.status, to, allowed: allowed.iter().map(|s| s.as_str()).collect() })
}

/// The tax rate of a location (0 without one).
fn tax_rate(ctx: &DecideCtx<'_>, location: Option<LocationId>) -> Result<BasisPoints> {
    let Some(id) = location else { return Ok(BasisPoints::ZERO) };
    match ctx.get::<Location>(RecordTable::Locations, id.as_u128())? {
        Some(l) => Ok(l.tax_rate),
        None => Err(Error::LocationNotFound(id)),
    }
}

/// A draft follows its location's current rate; returns `["tax_rate"]` if it moved.
fn refresh_rate(ctx: &DecideCtx<'_>, inv: &mut Invoice) -> Result<Vec<&'static str>> {
    let rate = tax_rate(ctx, inv.location_id)?;
    if rate == inv.tax_rate {
        return Ok(Vec::new());
    }
    inv.tax_rate = rate;
    inv.recompute()?;
    Ok(vec!["tax_rate"])
}

/// Billing's settings.
#[derive(Debug, Clone)]
pub struct BillingConfig {
    /// Days from issue to the due date (the clinic's payment terms); 0: due on the day.
    pub terms_days: u16,
    /// A payment above the balance keeps the excess as the client's credit on account
    /// (`CLOWDER_CREDIT_ON_ACCOUNT`); off, it is refused.
    pub credit_on_account: bool,
}

impl Default for BillingConfig {
    fn default() -> Self {
        BillingConfig { terms_days: 30, credit_on_account: false }
    }
}

/// The invoices service: the record kind's commands with the catalogue look-ups and the
/// overdue job around them.
#[derive(Clone)]
pub struct Invoices {
    records: Records<InvoiceKind>,
    jobs: Jobs,
    ctx: Arc<Ctx>,
    credit_locks: crate::billing::credit::CreditLocks,
}

impl Invoices {
    pub(crate) fn new(ctx: Arc<Ctx>, jobs: Jobs) -> Self {
        Invoices { records: Records::new(ctx.clone()), jobs, ctx, credit_locks: Default::default() }
    }

    /// The generic service (reads, lists, passivation).
    pub fn records(&self) -> &Records<InvoiceKind> {
        &self.records
    }

    /// Checks lines against the catalogue (active items only for a new line); `field` is the
    /// list's JSON name.
    pub fn lines(&self, lines: &[NewLine], field: &str) -> Result<Vec<LineDraft>> {
        clowder_schemas::invoices::check_line_count(lines.len(), field, false)?;
        let reader = self.ctx.store.read()?;
        lines
            .iter()
            .enumerate()
            .map(|(n, l)| {
                let at = format!("{field}.{n}");
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
                Ok(l.validate(item.as_ref(), &at)?)
            })
            .collect()
    }

    pub async fn create(&self, draft: InvoiceDraft, caller: &Caller) -> Result<Invoice> {
        self.records.create(draft, caller).await
    }

    /// Reads an invoice (audited).
    pub async fn get(&self, id: InvoiceId, caller: &Caller) -> Result<Invoice> {
        self.records.get(id, caller).await
    }

    pub async fn change(&self, id: InvoiceId, change: DraftChange, caller: &Caller) -> Result<Invoice> {
        self.records.command(id, InvoiceCommand::Change(change), caller).await
    }

    pub async fn add_lines(&self, id: InvoiceId, lines: Vec<LineDraft>, caller: &Caller) -> Result<Invoice> {
        self.records.command(id, InvoiceCommand::AddLines(lines), caller).await
    }

    /// Issues a draft: numbered, due after the clinic's terms, with its overdue job written in
    /// the same change set (due the first moment of the day after the due date, clinic time).
    /// Issuing an issued invoice again answers it unchanged.
    pub async fn issue(&self, id: InvoiceId, caller: &Caller) -> Result<Invoice> {
        let today = self.ctx.today();
        let due_on = today
            .checked_add(jiff::Span::new().days(i64::from(self.ctx.config.billing.terms_days)))
            .map_err(|e| Error::Internal(format!("the due date: {e}")))?;
        let due_at = due_on
            .tomorrow()
            .and_then(|d| d.to_zoned(self.ctx.config.time_zone.clone()))
            .map_err(|e| Error::Internal(format!("the overdue job's time: {e}")))?
            .timestamp();
        let mut with = ChangeSet::new();
        self.jobs.schedule(
            &mut with,
            NewJob {
                kind: OVERDUE_KIND.into(),
                payload: serde_json::json!({ "invoice_id": id }),
                due_at,
                idempotency_key: format!("invoice-overdue:{id}"),
                subject: Some(format!("invoice:{id}")),
            },
            caller,
        )?;
        let inv = self.records.command_with(id, InvoiceCommand::Issue { due_on }, with, caller).await?;
        self.jobs.wake();
        Ok(inv)
    }

    /// Voids a draft, or an issued invoice nothing was paid or credited on (its overdue job
    /// is cancelled in the same change set).
    pub async fn void(&self, id: InvoiceId, reason: String, caller: &Caller) -> Result<Invoice> {
        let mut with = ChangeSet::new();
        self.jobs.cancel_subject(&mut with, &format!("invoice:{id}"), caller)?;
        self.records.command_with(id, InvoiceCommand::Void { reason }, with, caller).await
    }

    /// Marks an invoice overdue if it still is (the job's move; a no-op otherwise).
    pub async fn mark_overdue(&self, id: InvoiceId, caller: &Caller) -> Result<Invoice> {
        self.records.command(id, InvoiceCommand::MarkOverdue, caller).await
    }

    /// Adds a credit note (numbered `CN-YYYY-NNNNNN` in its commit).
    pub async fn credit(&self, id: InvoiceId, draft: CreditNoteDraft, caller: &Caller) -> Result<Invoice> {
        let note = CreditNoteId::from_ulid(self.ctx.new_ulid());
        let with = self.plan_settle(id, &note.to_string(), caller)?;
        self.paid_in(self.records.command_with(id, InvoiceCommand::CreditNote { id: note, draft }, with, caller).await)
    }

    /// Takes a payment against an issued invoice (at most its balance).
    pub async fn pay(&self, id: InvoiceId, draft: PaymentDraft, caller: &Caller) -> Result<Invoice> {
        let payment = PaymentId::from_ulid(self.ctx.new_ulid());
        let with = self.plan_settle(id, &payment.to_string(), caller)?;
        self.paid_in(self.records.command_with(id, InvoiceCommand::Pay { id: payment, draft }, with, caller).await)
    }

    /// The payment plan's settle job for money `step` on invoice `id`, if a plan covers it
    /// (`plans::settle_job`).
    pub(crate) fn plan_settle(&self, id: InvoiceId, step: &str, caller: &Caller) -> Result<ChangeSet> {
        let mut with = ChangeSet::new();
        super::plans::settle_job(&self.ctx, &self.jobs, &mut with, id, step, caller)?;
        Ok(with)
    }

    /// Wakes the jobs after money landed, so a settle job written with it runs at once.
    pub(crate) fn paid_in(&self, done: Result<Invoice>) -> Result<Invoice> {
        if done.is_ok() {
            self.jobs.wake();
        }
        done
    }

    /// A page of invoices (audited), newest first.
    pub async fn list(
        &self,
        filter: &InvoiceFilter,
        before: Option<u128>,
        limit: usize,
        caller: &Caller,
    ) -> Result<Page<Invoice>> {
        self.records.list_newest_first(filter, before, limit, caller).await
    }

    /// What a client owes, summed over their invoices from one snapshot: never stored, so it
    /// cannot drift from the invoices. The read is audited like a list.
    pub async fn balance(&self, client: ClientId, caller: &Caller) -> Result<ClientBalance> {
        let reader = self.ctx.store.read()?;
        if reader.get::<Client>(RecordTable::Clients, client.as_u128())?.is_none() {
            return Err(Error::ClientNotFound(client));
        }
        let mut out = ClientBalance {
            client_id: client,
            balance: Cents::ZERO,
            overdue: Cents::ZERO,
            open_invoices: 0,
            credit: Cents::ZERO,
        };
        let overflow = |_| Error::Internal("a client's balance overflowed".into());
        for key in reader.children(IndexTable::InvoicesByClient, client.as_u128(), None)? {
            let Some(inv) = reader.get::<Invoice>(RecordTable::Invoices, key)? else { continue };
            out.credit = out.credit.checked_add(crate::billing::credit::credit_of(&inv)?).map_err(overflow)?;
            if !inv.status.is_open() {
                continue;
            }
            out.balance = out.balance.checked_add(inv.balance).map_err(overflow)?;
            if inv.status == InvoiceStatus::Overdue {
                out.overdue = out.overdue.checked_add(inv.balance).map_err(overflow)?;
            }
            out.open_invoices += 1;
        }
        crate::audit::record_read(
            &self.ctx,
            clowder_schemas::audit::AuditDraft::new(caller, "client.balance").record("client", client),
        )
        .await?;
        Ok(out)
    }

    /// The handler of [`OVERDUE_KIND`] jobs.
    pub fn overdue_handler(&self) -> Arc<dyn JobHandler> {
        #[derive(serde::Deserialize)]
        struct Payload {
            invoice_id: InvoiceId,
        }
        let invoices = self.clone();
        Arc::new(RecordJob::new(
            "{\"invoice_id\": <invoice id>}",
            |e| matches!(e, Error::InvoiceNotFound(_)),
            move |p: Payload, caller: Caller| {
                let invoices = invoices.clone();
                async move { invoices.mark_overdue(p.invoice_id, &caller).await.map(drop) }
            },
        ))
    }

    pub(crate) fn stop_all(&self) {
        self.records.stop_all();
    }

    /// Marks an uncharged entry (charge capture's) dealt with.
    pub async fn resolve_uncharged(&self, id: InvoiceId, source: String, caller: &Caller) -> Result<Invoice> {
        self.records.command(id, InvoiceCommand::ResolveUncharged { source }, caller).await
    }
}

impl Invoices {
    /// The system's context (for the credit module's reads).
    pub(super) fn ctx(&self) -> &Arc<Ctx> {
        &self.ctx
    }

    /// The per-client locks credit is spent under.
    pub(super) fn credit_locks(&self) -> &crate::billing::credit::CreditLocks {
        &self.credit_locks
    }
}

/// Claims a new refund's processor id (a webhook delivered twice refunds once).
fn also_refunds(old: Option<&Invoice>, new: &Invoice, set: &mut ChangeSet) {
    let before = old.map_or(0, |o| o.refunds.len());
    for r in new.refunds.iter().skip(before) {
        if let Some(key) = r.processor_key() {
            set.claim(unique::REFUND_PROCESSOR_ID, &key, r.id.as_u128(), "processor_refund_id");
        }
    }
}

#[cfg(test)]
mod tests {
    use clowder_schemas::UserId;
    use clowder_schemas::events::Author;
    use clowder_schemas::money::{Quantity, Totals};
    use jiff::Timestamp;

    use super::*;
    use crate::ctx::SystemConfig;

    fn caller() -> Caller {
        Caller { actor: Some(Author::User(UserId::from_u128(7))), ..Caller::default() }
    }

    fn invoice(status: InvoiceStatus) -> Invoice {
        let line = LineDraft {
            item_id: None,
            description: "Exam".into(),
            category: None,
            quantity: Quantity::ONE,
            unit_price: Cents::new(6500),
            taxable: false,
            discount: None,
            source: None,
        };
        let mut inv = InvoiceDraft {
            client_id: ClientId::from_u128(1),
            patient_id: None,
            visit_id: None,
            location_id: None,
            lines: vec![line],
            discount: None,
            memo: None,
        }
        .into_invoice(InvoiceId::from_u128(2), BasisPoints::ZERO, Timestamp::UNIX_EPOCH, None)
        .unwrap();
        inv.status = status;
        inv.due_on = Some(jiff::civil::date(2026, 6, 1));
        inv
    }

    #[test]
    fn issued_invoices_refuse_line_changes_and_a_second_void() {
        let (settings, caller) = (SystemConfig::new("unused"), caller());
        let ctx = DecideCtx::new("2026-06-01T12:00:00Z".parse().unwrap(), &settings, &caller, None);
        let issued = invoice(InvoiceStatus::Issued);
        let e = InvoiceKind::decide(&ctx, &issued, InvoiceCommand::AddLines(Vec::new())).unwrap_err();
        assert!(matches!(e, Error::InvoiceTransition { to: "changed", .. }), "{e:?}");
        let void = InvoiceKind::decide(&ctx, &issued, InvoiceCommand::Void { reason: "typo".into() }).unwrap().unwrap();
        assert_eq!((void.record.status, void.action), (InvoiceStatus::Void, "invoice.void"));
        let e = InvoiceKind::decide(&ctx, &void.record, InvoiceCommand::Void { reason: "again".into() }).unwrap_err();
        assert!(matches!(e, Error::InvoiceTransition { from: InvoiceStatus::Void, .. }), "{e:?}");
        let mut paid_some = invoice(InvoiceStatus::PartiallyPaid);
        paid_some.paid = Cents::new(100);
        assert!(InvoiceKind::decide(&ctx, &paid_some, InvoiceCommand::Void { reason: "x".into() }).is_err());
    }

    #[test]
    fn overdue_only_after_the_due_date_and_only_with_a_balance() {
        let (settings, caller) = (SystemConfig::new("unused"), caller());
        let on_due = DecideCtx::new("2026-06-01T23:00:00Z".parse().unwrap(), &settings, &caller, None);
        let after = DecideCtx::new("2026-06-02T00:00:00Z".parse().unwrap(), &settings, &caller, None);
        let issued = invoice(InvoiceStatus::Issued);
        assert!(InvoiceKind::decide(&on_due, &issued, InvoiceCommand::MarkOverdue).unwrap().is_none());
        let d = InvoiceKind::decide(&after, &issued, InvoiceCommand::MarkOverdue).unwrap().unwrap();
        assert_eq!(d.record.status, InvoiceStatus::Overdue);
        let paid = Invoice { status: InvoiceStatus::Paid, balance: Cents::ZERO, ..issued.clone() };
        assert!(InvoiceKind::decide(&after, &paid, InvoiceCommand::MarkOverdue).unwrap().is_none());
        let void = Invoice { status: InvoiceStatus::Void, ..issued };
        assert!(InvoiceKind::decide(&after, &void, InvoiceCommand::MarkOverdue).unwrap().is_none());
    }

    #[test]
    fn issuing_is_numbered_in_the_issue_year_and_a_credit_note_in_its_own_series() {
        let draft = invoice(InvoiceStatus::Draft);
        let mut issued =
            Invoice { status: InvoiceStatus::Issued, issued_on: Some(jiff::civil::date(2026, 3, 4)), ..draft.clone() };
        let (series, write) = InvoiceKind::numbered(Some(&draft), &issued).unwrap();
        assert_eq!(series, Series::new("INV", 2026));
        write(&mut issued, "INV-2026-000001");
        assert_eq!(issued.number.as_deref(), Some("INV-2026-000001"));
        assert!(InvoiceKind::numbered(Some(&issued), &issued).is_none());
        let void = Invoice { status: InvoiceStatus::Void, ..draft.clone() };
        assert!(InvoiceKind::numbered(Some(&draft), &void).is_none(), "a voided draft takes no number");
        let mut credited = issued.clone();
        credited.credit_notes.push(clowder_schemas::invoices::CreditNote {
            id: CreditNoteId::from_u128(3),
            number: None,
            date: jiff::civil::date(2027, 1, 2),
            reason: "r".into(),
            lines: Vec::new(),
            totals: Totals::default(),
            created_at: Timestamp::UNIX_EPOCH,
            created_by: None,
        });
        let (series, write) = InvoiceKind::numbered(Some(&issued), &credited).unwrap();
        assert_eq!(series, Series::new("CN", 2027));
        write(&mut credited, "CN-2027-000001");
        assert_eq!(credited.credit_notes[0].number.as_deref(), Some("CN-2027-000001"));
    }

    /// An invoice of client 1 with id `id`, issued, stored and linked under the client.
    fn stored(set: &mut ChangeSet, id: u128, inv: &Invoice) {
        let inv = Invoice { id: InvoiceId::from_u128(id), ..inv.clone() };
        set.put(RecordTable::Invoices, id, &inv).unwrap();
        set.link(IndexTable::InvoicesByClient, inv.client_id.as_u128(), id);
    }

    /// The old design summed the credit before the command reached the actor and the
    /// decision trusted that sum: a command that waited in the mailbox spent credit another
    /// invoice had spent meanwhile. Now the decision sums it from its own snapshot.
    #[tokio::test]
    async fn credit_is_summed_by_the_decision_from_its_snapshot_so_spent_credit_is_not_spent_again() {
        use clowder_schemas::audit::AuditDraft;
        use clowder_schemas::payments::{PaymentDraft, PaymentMethod};

        use crate::clock::ManualClock;
        use crate::metrics::StoreMetrics;
        use crate::store::{Store, StoreConfig};

        let dir = tempfile::tempdir().unwrap();
        let config = StoreConfig {
            path: dir.path().join("clowder.redb"),
            clinic_id: "test".into(),
            cache_bytes: 8 << 20,
            journal: None,
        };
        let store =
            Store::open(&config, Arc::new(ManualClock::new(Timestamp::UNIX_EPOCH)), StoreMetrics::default()).unwrap();
        let now: Timestamp = "2026-05-01T12:00:00Z".parse().unwrap();
        // Invoice 2 overpaid by 100 (kept as credit); 3 and 4 open for 6500 each.
        let mut overpaid = invoice(InvoiceStatus::Issued);
        let cash = PaymentDraft {
            amount: Cents::new(6600),
            method: PaymentMethod::Cash,
            reference: None,
            processor: None,
            processor_payment_id: None,
        };
        overpaid.pay_keeping_credit(PaymentId::from_u128(9), cash, true, now, None).unwrap();
        let open = invoice(InvoiceStatus::Issued);
        let mut set = ChangeSet::new();
        stored(&mut set, 2, &overpaid);
        stored(&mut set, 3, &open);
        stored(&mut set, 4, &open);
        set.audit(AuditDraft::new(&Caller::system(), "test.seed"));
        store.commit(set).await.unwrap();

        let (settings, caller) = (SystemConfig::new("unused"), caller());
        let lock = crate::billing::credit::CreditLocks::default().stripe(ClientId::from_u128(1));
        let apply = |id: u128, amount: Option<Cents>| InvoiceCommand::ApplyCredit {
            id: PaymentId::from_u128(id),
            amount,
            lock: lock.clone(),
        };
        let b = Invoice { id: InvoiceId::from_u128(3), ..open.clone() };
        let c = Invoice { id: InvoiceId::from_u128(4), ..open.clone() };
        let first = {
            let ctx = DecideCtx::new(now, &settings, &caller, Some(&store));
            // By default as much as the credit allows.
            InvoiceKind::decide(&ctx, &b, apply(10, None)).unwrap().unwrap().record
        };
        assert_eq!(first.paid, Cents::new(100));
        let mut set = ChangeSet::new();
        set.put(RecordTable::Invoices, 3, &first).unwrap();
        set.audit(AuditDraft::new(&Caller::system(), "test.apply"));
        store.commit(set).await.unwrap();

        // The second invoice's command comes after the first committed: nothing is left.
        let ctx = DecideCtx::new(now, &settings, &caller, Some(&store));
        let e = InvoiceKind::decide(&ctx, &c, apply(11, Some(Cents::new(100)))).unwrap_err();
        assert!(format!("{e:?}").contains("credit on account (0 cents)"), "{e:?}");
        let ctx = DecideCtx::new(now, &settings, &caller, Some(&store));
        assert!(InvoiceKind::decide(&ctx, &c, apply(12, None)).is_err(), "no credit to apply by default");
        // Refunding the spent credit as money is refused the same way.
        let refund = |of| InvoiceCommand::Refund {
            id: RefundId::from_u128(13),
            draft: RefundDraft {
                payment_id: PaymentId::from_u128(9),
                amount: Cents::new(100),
                method: Some(PaymentMethod::Cash),
                of,
                reason: "moving away".into(),
                reference: None,
                processor: None,
                processor_refund_id: None,
            },
            credit_lock: (of == RefundOf::Credit).then(|| lock.clone()),
        };
        let a = Invoice { id: InvoiceId::from_u128(2), ..overpaid.clone() };
        let ctx = DecideCtx::new(now, &settings, &caller, Some(&store));
        let e = InvoiceKind::decide(&ctx, &a, refund(RefundOf::Credit)).unwrap_err();
        assert!(format!("{e:?}").contains("credit on account (0 cents)"), "{e:?}");

        // The actor takes the client's stripe for spending credit, and only then.
        assert_eq!(InvoiceKind::locks(&apply(14, None)).len(), 1);
        assert!(Arc::ptr_eq(&InvoiceKind::locks(&refund(RefundOf::Credit))[0], &lock));
        assert!(InvoiceKind::locks(&refund(RefundOf::Invoice)).is_empty());
        assert!(InvoiceKind::locks(&InvoiceCommand::MarkOverdue).is_empty());
    }
}
