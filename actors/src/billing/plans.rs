//! Payment plans as a record kind: one actor per plan. A plan is agreed for an issued invoice
//! with a balance (at most one active plan per invoice: the `payment_plan_invoice` claim,
//! held while active); its schedule is computed by `clowder_schemas::payment_plans::schedule`;
//! its progress is read from the invoice's payments, never typed. Each instalment has a
//! durable `payment_plan_due` job, written with the plan (or its modification), due the day
//! after the instalment: if it is not paid by then it is marked late, the client is sent the
//! `payment_plan_late` template through the outbox in the same change set, and staff get the
//! `instalment_late` event. A due job that finds the invoice no longer needs the plan ends it
//! instead, with no notice: cancelled if the invoice was voided, completed if it is settled
//! (paid, or credited down to no balance). A modification keeps the terms and schedule it
//! replaced.
//!
//! **Interest is billed** as invoices of its own (finance-charge style, category
//! `finance_charge`, never charged finance charges themselves): one issued with the plan, and
//! whenever the plan's interest and what its interest invoices bill differ (a modification, a
//! cancellation) a new one for more or credit notes for less; an issued invoice is never
//! edited. One idempotent reconciliation ([`Plans::bill_interest`]) does it, run at once and
//! by a durable `payment_plan_interest` job written in the plan's change set, so a crash
//! between the plan and its invoice leaves the job to finish it. Progress counts the payments
//! of the plan's invoice and of its interest invoices.

use std::collections::BTreeMap;
use std::sync::Arc;

use clowder_schemas::ValidationError;
use clowder_schemas::audit::Caller;
use clowder_schemas::clients::Client;
use clowder_schemas::events::DomainEvent;
use clowder_schemas::ids::{InvoiceId, PaymentPlanId};
use clowder_schemas::invoices::{CreditNoteDraft, Invoice, InvoiceDraft, InvoiceStatus, LineDraft};
use clowder_schemas::messages::Purpose;
use clowder_schemas::money::{Cents, Quantity};
use clowder_schemas::payment_plans::{PaymentPlan, PlanStatus, PlanTerms, schedule};
use clowder_schemas::templates::TemplateCategory;

use super::invoices::Invoices;
use crate::comms::messages::{Messages, NewMessage};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::jobs::{JobHandler, Jobs, NewJob, RecordJob};
use crate::records::{Claim, DecideCtx, Decision, Link, RecordKind, Records};
use crate::store::tables::unique;
use crate::store::{ChangeSet, IndexTable, Reader, RecordTable};

/// The job kind that checks an instalment the day after it was due.
pub const DUE_KIND: &str = "payment_plan_due";

/// The job kind that bills (or credits) a plan's interest to match its terms.
pub const INTEREST_KIND: &str = "payment_plan_interest";

/// The source prefix of an interest invoice's line (`plan_interest:<plan>:<invoice>`).
pub const INTEREST_SOURCE: &str = "plan_interest:";

/// The job kind that ends a plan as soon as a payment or credit settles what it covers (the
/// due jobs would otherwise find it settled only on the next instalment's day).
pub const SETTLE_KIND: &str = "payment_plan_settle";

/// The plan money on `inv` may settle: the invoice's active plan (its claim), or the plan
/// whose interest it bills (its line's source).
fn plan_of(reader: &Reader, inv: &Invoice) -> Result<Option<PaymentPlanId>> {
    if let Some(owner) = reader.unique_owner(unique::PAYMENT_PLAN_INVOICE, &inv.id.to_string())? {
        return Ok(Some(PaymentPlanId::from_u128(owner)));
    }
    Ok(inv.lines.iter().find_map(|l| {
        let rest = l.source.as_deref()?.strip_prefix(INTEREST_SOURCE)?;
        rest.split(':').next()?.parse().ok()
    }))
}

/// Writes, in `set` (the change set of a payment or credit note `step` on invoice `id`), the
/// job that ends the plan this money may settle, if the invoice has one: due at once, in the
/// same commit as the money, so a crash cannot lose it. The job decides from the invoices
/// as they then are, so money that settles nothing costs one no-op.
pub(crate) fn settle_job(
    ctx: &Ctx,
    jobs: &Jobs,
    set: &mut ChangeSet,
    id: InvoiceId,
    step: &str,
    caller: &Caller,
) -> Result<()> {
    let reader = ctx.store.read()?;
    let Some(inv) = reader.get::<Invoice>(RecordTable::Invoices, id.as_u128())? else { return Ok(()) };
    let Some(plan) = plan_of(&reader, &inv)? else { return Ok(()) };
    drop(reader);
    jobs.schedule(
        set,
        NewJob {
            kind: SETTLE_KIND.into(),
            payload: serde_json::json!({ "plan_id": plan }),
            due_at: ctx.clock.now(),
            idempotency_key: format!("plan-settle:{plan}:{step}"),
            subject: Some(format!("payment_plan_settle:{plan}")),
        },
        caller,
    )?;
    Ok(())
}

/// What a new plan is made of (checked against the invoice by the decision).
#[derive(Debug, Clone)]
pub struct PlanDraft {
    pub invoice_id: InvoiceId,
    pub terms: PlanTerms,
    /// The id its interest invoice will have (used only when the terms bear interest).
    pub interest_invoice: Option<InvoiceId>,
}

/// A change to a plan.
#[derive(Debug)]
pub enum PlanCommand {
    /// New terms (the schedule recomputed, the old one kept as a revision).
    Modify {
        terms: PlanTerms,
        reason: Option<String>,
        /// The id of the invoice billing the interest added, if the new terms raise it.
        interest_invoice: Option<InvoiceId>,
    },
    Cancel {
        reason: String,
    },
    /// The due job's move: instalment `no` of revision `revision`, if still unpaid after its
    /// due date. `message` (the client's late notice, worked out by the service) is written
    /// only if the decision is "late"; an invoice that no longer needs the plan (void, paid,
    /// nothing left owed) ends it instead, with no notice.
    MarkLate {
        no: u32,
        revision: u32,
        message: Box<ChangeSet>,
    },
    /// The settle job's move after a payment or credit on the plan's invoice or one of its
    /// interest invoices: the plan ends at once if the invoice no longer needs it (as
    /// `MarkLate` would end it on the next due day); nothing otherwise.
    Settle,
}

/// The payment plan record kind.
pub struct PlanKind;

/// Which plans a list shows: an invoice's.
#[derive(Debug, Clone, Default)]
pub struct PlanFilter {
    pub invoice_id: Option<InvoiceId>,
}

/// The invoice a decision reads (from its snapshot).
fn invoice(ctx: &DecideCtx<'_>, id: InvoiceId) -> Result<Invoice> {
    ctx.get::<Invoice>(RecordTable::Invoices, id.as_u128())?.ok_or(Error::InvoiceNotFound(id))
}

/// What the plan's interest invoices were paid (`get` reads one; one not written yet is 0).
fn interest_paid(plan: &PaymentPlan, get: impl Fn(u128) -> Result<Option<Invoice>>) -> Result<Cents> {
    let mut paid = 0i64;
    for id in &plan.interest_invoices {
        if let Some(inv) = get(id.as_u128())? {
            paid = paid.saturating_add(inv.paid.get());
        }
    }
    Ok(Cents::new(paid))
}

impl RecordKind for PlanKind {
    type Record = PaymentPlan;
    type Id = PaymentPlanId;
    type Draft = PlanDraft;
    type Command = PlanCommand;
    type Filter = PlanFilter;

    const KIND: &'static str = "payment_plan";
    const TABLE: RecordTable = RecordTable::PaymentPlans;
    const READ_ACTION: &'static str = "payment_plan.read";
    const LIST_ACTION: &'static str = "payment_plan.list";

    fn id(p: &PaymentPlan) -> PaymentPlanId {
        p.id
    }

    fn not_found(id: PaymentPlanId) -> Error {
        Error::PaymentPlanNotFound(id)
    }

    fn claims(_: &PaymentPlan) -> impl Iterator<Item = Claim<'_>> {
        std::iter::empty()
    }

    fn links(p: &PaymentPlan) -> impl Iterator<Item = Link> {
        std::iter::once(Link { index: IndexTable::PaymentPlansByInvoice, parent: p.invoice_id.as_u128() })
    }

    /// At most one active plan per invoice: the invoice's id is claimed by the plan while it
    /// is active (not a `claims` value: the record does not hold the id as text).
    fn also(_ctx: &DecideCtx<'_>, old: Option<&PaymentPlan>, new: &PaymentPlan) -> Result<ChangeSet> {
        let mut set = ChangeSet::new();
        let was = old.is_some_and(|o| o.status == PlanStatus::Active);
        let is = new.status == PlanStatus::Active;
        let key = new.invoice_id.to_string();
        if is && !was {
            set.claim(unique::PAYMENT_PLAN_INVOICE, &key, new.id.as_u128(), "invoice_id");
        } else if was && !is {
            set.release(unique::PAYMENT_PLAN_INVOICE, &key, new.id.as_u128());
        }
        Ok(set)
    }

    fn matches(f: &PlanFilter, p: &PaymentPlan) -> bool {
        f.invoice_id.is_none_or(|i| i == p.invoice_id)
    }

    fn list_via(f: &PlanFilter) -> Option<Link> {
        f.invoice_id.map(|i| Link { index: IndexTable::PaymentPlansByInvoice, parent: i.as_u128() })
    }

    fn decide_create(ctx: &DecideCtx<'_>, id: PaymentPlanId, draft: PlanDraft) -> Result<Decision<PaymentPlan>> {
        let inv = invoice(ctx, draft.invoice_id)?;
        check_invoice(&inv)?;
        let s = schedule(&draft.terms, inv.balance)?;
        let plan = PaymentPlan {
            id,
            invoice_id: inv.id,
            client_id: inv.client_id,
            status: PlanStatus::Active,
            revision: 1,
            terms: draft.terms,
            principal: inv.balance,
            financed: s.financed,
            interest: s.interest,
            total: s.total,
            interest_invoices: draft.interest_invoice.filter(|_| s.interest.is_positive()).into_iter().collect(),
            paid_before: inv.paid,
            paid: Cents::ZERO,
            schedule: s.instalments,
            revisions: Vec::new(),
            cancel_reason: None,
            created_at: ctx.now,
            updated_at: ctx.now,
            created_by: ctx.caller.user_id(),
        };
        Ok(Decision {
            event: DomainEvent::PaymentPlanCreated { plan_id: id, invoice_id: inv.id, client_id: inv.client_id },
            record: plan,
            changed: Vec::new(),
            action: "payment_plan.create",
        })
    }

    fn decide(
        ctx: &DecideCtx<'_>,
        current: &PaymentPlan,
        command: PlanCommand,
    ) -> Result<Option<Decision<PaymentPlan>>> {
        let mut new = current.clone();
        let (changed, action, event): (Vec<&'static str>, &'static str, Option<DomainEvent>) = match command {
            PlanCommand::Modify { terms, reason, interest_invoice } => {
                require(current, "modified")?;
                let changed = new.modify(terms, reason, ctx.now, ctx.caller.user_id())?;
                if changed.is_empty() {
                    return Ok(None);
                }
                let mut all = vec!["revision", "schedule"];
                if let Some(id) = interest_invoice.filter(|_| new.interest > current.interest) {
                    new.interest_invoices.push(id);
                    all.push("interest_invoices");
                }
                all.extend(changed);
                (all, "payment_plan.modify", None)
            }
            PlanCommand::Cancel { reason } => {
                require(current, "cancelled")?;
                new.status = PlanStatus::Cancelled;
                new.cancel_reason = Some(reason);
                (vec!["status", "cancel_reason"], "payment_plan.cancel", None)
            }
            PlanCommand::Settle => {
                if current.status != PlanStatus::Active {
                    return Ok(None);
                }
                return ended(ctx, new);
            }
            PlanCommand::MarkLate { no, revision, message } => {
                if current.status != PlanStatus::Active || current.revision != revision {
                    return Ok(None); // a job of replaced terms, or of a plan that ended
                }
                let inv = invoice(ctx, current.invoice_id)?;
                let interest = interest_paid(current, |id| ctx.get::<Invoice>(RecordTable::Invoices, id))?;
                new.progress(inv.paid, interest);
                if let Some(end) = ended(ctx, new.clone())? {
                    return Ok(Some(end));
                }
                let today = ctx.today();
                let Some(i) = new.schedule.iter_mut().find(|i| i.no == no) else { return Ok(None) };
                if i.late || i.paid >= i.amount || today <= i.due_on {
                    return Ok(None);
                }
                i.late = true;
                let (due_on, client_id, invoice_id, plan_id) = (i.due_on, new.client_id, new.invoice_id, new.id);
                let late = DomainEvent::InstalmentLate { plan_id, invoice_id, client_id, instalment_no: no, due_on };
                ctx.write_also(*message);
                (vec!["schedule"], "payment_plan.late", Some(late))
            }
        };
        Ok(Some(decision(new, changed, action, event, ctx)))
    }
}

/// The end of an active plan whose invoice no longer needs it, if it does not: voided, it is
/// cancelled (nothing more is owed, but it was not paid); settled (paid, or credited down to
/// nothing left, and the interest paid) or every instalment paid, it is completed. Either
/// releases the invoice's claim; nobody is late.
fn ended(ctx: &DecideCtx<'_>, mut new: PaymentPlan) -> Result<Option<Decision<PaymentPlan>>> {
    let inv = invoice(ctx, new.invoice_id)?;
    let interest = interest_paid(&new, |id| ctx.get::<Invoice>(RecordTable::Invoices, id))?;
    new.progress(inv.paid, interest);
    if inv.status == InvoiceStatus::Void {
        new.status = PlanStatus::Cancelled;
        new.cancel_reason = Some("the invoice was voided".into());
        return Ok(Some(decision(new, vec!["status", "cancel_reason"], "payment_plan.cancel", None, ctx)));
    }
    // Settled also needs the interest paid (what is left of it once credited).
    if (!inv.status.is_open() || !inv.balance.is_positive()) && interest >= new.interest {
        new.status = PlanStatus::Completed;
    }
    if new.status == PlanStatus::Completed {
        return Ok(Some(decision(new, vec!["status"], "payment_plan.complete", None, ctx)));
    }
    Ok(None)
}

fn decision(
    mut new: PaymentPlan,
    changed: Vec<&'static str>,
    action: &'static str,
    event: Option<DomainEvent>,
    ctx: &DecideCtx<'_>,
) -> Decision<PaymentPlan> {
    new.updated_at = ctx.now;
    let event = event.unwrap_or_else(|| DomainEvent::PaymentPlanUpdated {
        plan_id: new.id,
        client_id: new.client_id,
        changed: changed.iter().map(|s| s.to_string()).collect(),
    });
    Decision { record: new, changed, event, action }
}

/// A plan is made for an issued invoice with a balance (never a draft, a void or a paid one).
fn check_invoice(inv: &Invoice) -> Result<()> {
    if inv.status.is_open() && inv.balance.is_positive() {
        return Ok(());
    }
    Err(ValidationError::new(
        "invoice_id",
        format!("a plan needs an issued invoice with a balance; this one is {}", inv.status.as_str()),
    )
    .into())
}

/// Refuses a change of a plan that is no longer active.
fn require(current: &PaymentPlan, to: &'static str) -> Result<()> {
    if current.status == PlanStatus::Active {
        return Ok(());
    }
    Err(Error::PaymentPlanTransition { from: current.status.as_str(), to, allowed: vec!["active"] })
}

/// The payment plans service.
#[derive(Clone)]
pub struct Plans {
    records: Records<PlanKind>,
    /// One interest reconciliation at a time (the immediate one and the job's).
    interest_lock: Arc<tokio::sync::Mutex<()>>,
    invoices: Invoices,
    jobs: Jobs,
    messages: Messages,
    ctx: Arc<Ctx>,
}

impl Plans {
    pub(crate) fn new(ctx: Arc<Ctx>, invoices: Invoices, jobs: Jobs, messages: Messages) -> Self {
        Plans {
            records: Records::new(ctx.clone()),
            interest_lock: Arc::new(tokio::sync::Mutex::new(())),
            invoices,
            jobs,
            messages,
            ctx,
        }
    }

    /// The generic service (reads, lists, passivation).
    pub fn records(&self) -> &Records<PlanKind> {
        &self.records
    }

    /// The due jobs of a plan's schedule (one per instalment, the down payment too), each due
    /// the first moment of the day after its instalment (clinic zone); keyed by revision, so
    /// a modification's jobs never collide with those it cancels.
    fn schedule_jobs(&self, set: &mut ChangeSet, plan: &PaymentPlan, caller: &Caller) -> Result<()> {
        for i in &plan.schedule {
            let due_at = i
                .due_on
                .tomorrow()
                .and_then(|d| d.to_zoned(self.ctx.config.time_zone.clone()))
                .map_err(|e| Error::Internal(format!("an instalment's job time: {e}")))?
                .timestamp();
            self.jobs.schedule(
                set,
                NewJob {
                    kind: DUE_KIND.into(),
                    payload: serde_json::json!({ "plan_id": plan.id, "no": i.no, "revision": plan.revision }),
                    due_at,
                    idempotency_key: format!("plan-due:{}:{}:{}", plan.id, plan.revision, i.no),
                    subject: Some(format!("payment_plan:{}", plan.id)),
                },
                caller,
            )?;
        }
        Ok(())
    }

    /// Agrees a plan for an invoice, with its due jobs in the same change set.
    pub async fn create(&self, draft: PlanDraft, caller: &Caller) -> Result<PaymentPlan> {
        let id = PaymentPlanId::from_ulid(self.ctx.new_ulid());
        // The schedule the decision will compute, for the jobs (the decision refuses bad terms
        // with the same checks; a job of a refused plan is never written).
        let inv = self.invoices.records().peek(draft.invoice_id)?;
        check_invoice(&inv)?;
        let s = schedule(&draft.terms, inv.balance)?;
        let draft = PlanDraft {
            interest_invoice: s.interest.is_positive().then(|| InvoiceId::from_ulid(self.ctx.new_ulid())),
            ..draft
        };
        let preview = PaymentPlan {
            id,
            invoice_id: inv.id,
            client_id: inv.client_id,
            status: PlanStatus::Active,
            revision: 1,
            terms: draft.terms,
            principal: inv.balance,
            financed: s.financed,
            interest: s.interest,
            total: s.total,
            interest_invoices: Vec::new(),
            paid_before: inv.paid,
            paid: inv.paid,
            schedule: s.instalments,
            revisions: Vec::new(),
            cancel_reason: None,
            created_at: self.ctx.clock.now(),
            updated_at: self.ctx.clock.now(),
            created_by: None,
        };
        let mut with = ChangeSet::new();
        self.schedule_jobs(&mut with, &preview, caller)?;
        if draft.interest_invoice.is_some() {
            self.interest_job(&mut with, id, "1", caller)?;
        }
        let plan = self.records.create_with(id, draft, with, caller).await?;
        self.jobs.wake();
        self.bill_interest_now(id, caller).await;
        self.with_progress(plan)
    }

    /// The durable job that brings the plan's interest invoices in line with its interest
    /// (`step` names the change: a revision, or `cancel`), due at once: it finishes what a
    /// crash after the plan's commit left undone, and finds nothing to do otherwise.
    fn interest_job(&self, set: &mut ChangeSet, id: PaymentPlanId, step: &str, caller: &Caller) -> Result<()> {
        self.jobs.schedule(
            set,
            NewJob {
                kind: INTEREST_KIND.into(),
                payload: serde_json::json!({ "plan_id": id }),
                due_at: self.ctx.clock.now(),
                idempotency_key: format!("plan-interest:{id}:{step}"),
                // Not the due jobs' subject: a modification cancels those, never this.
                subject: Some(format!("payment_plan_interest:{id}")),
            },
            caller,
        )?;
        Ok(())
    }

    /// [`Self::bill_interest`] at once after a change; a failure is left to the change's job.
    async fn bill_interest_now(&self, id: PaymentPlanId, caller: &Caller) {
        if let Err(e) = self.bill_interest(id, caller).await {
            tracing::warn!(plan = %id, error = %e, "the plan's interest is left to its job");
        }
    }

    /// Brings what the plan's interest invoices bill (their totals less credit notes; a void
    /// one bills nothing) in line with what the plan charges: its `interest`, or for a
    /// cancelled plan only what was already paid of it (the term that will not run is not
    /// charged). More: the first interest invoice not yet written is created and issued for
    /// the difference (one left a draft by a crash is issued). Less: credit notes on the
    /// interest invoices, newest first, each at most its balance (interest already paid beyond
    /// the new amount stays paid: a refund is staff's decision). Idempotent, and one at a time
    /// (`interest_lock`), so the immediate call and the job may both run.
    pub async fn bill_interest(&self, id: PaymentPlanId, caller: &Caller) -> Result<()> {
        let _one = self.interest_lock.lock().await;
        let plan = self.records.peek(id)?;
        if plan.interest_invoices.is_empty() {
            return Ok(());
        }
        let mut billed = 0i64;
        let mut paid = 0i64;
        let mut missing = None;
        let mut written = Vec::new();
        {
            let reader = self.ctx.store.read()?;
            for iid in &plan.interest_invoices {
                match reader.get::<Invoice>(RecordTable::Invoices, iid.as_u128())? {
                    Some(inv) if inv.status == InvoiceStatus::Void => {}
                    Some(inv) => {
                        billed += inv.totals.total.get() - inv.credited.get();
                        paid += inv.paid.get();
                        written.push(inv);
                    }
                    None => {
                        missing.get_or_insert(*iid);
                    }
                }
            }
        }
        for inv in written.iter_mut().filter(|i| i.status == InvoiceStatus::Draft) {
            *inv = self.invoices.issue(inv.id, caller).await?;
        }
        let target = match plan.status {
            PlanStatus::Cancelled => plan.interest.get().min(paid),
            _ => plan.interest.get(),
        };
        if target > billed {
            let Some(iid) = missing else {
                tracing::warn!(plan = %id, "a plan's interest is billed short and has no invoice left to bill it");
                return Ok(());
            };
            let main = self.invoices.records().peek(plan.invoice_id)?;
            let number = main.number.clone().unwrap_or_default();
            let bp = plan.terms.interest_bp.get();
            let line = LineDraft {
                item_id: None,
                description: format!(
                    "Interest on the payment plan for invoice {number}: {}.{:02} % a year on {} over {} instalments",
                    bp / 100,
                    bp % 100,
                    plan.financed,
                    plan.terms.instalments
                ),
                category: Some(super::finance::CATEGORY.into()),
                quantity: Quantity::ONE,
                unit_price: Cents::new(target - billed),
                taxable: false,
                discount: None,
                source: Some(format!("{INTEREST_SOURCE}{id}:{iid}")),
            };
            let draft = InvoiceDraft {
                client_id: main.client_id,
                patient_id: None,
                visit_id: None,
                location_id: main.location_id,
                lines: vec![line],
                discount: None,
                memo: Some(format!("Payment plan interest on {number}")),
            };
            self.invoices.records().create_with_id(iid, draft, caller).await?;
            self.invoices.issue(iid, caller).await?;
        } else if target < billed {
            let mut excess = billed - target;
            for inv in written.iter().rev() {
                let amount = excess.min(inv.balance.get());
                if amount <= 0 || !inv.status.is_open() {
                    continue;
                }
                let reason = match plan.status {
                    PlanStatus::Cancelled => "the payment plan was cancelled: its unpaid interest".to_string(),
                    _ => format!("the payment plan's terms changed (revision {}): less interest", plan.revision),
                };
                let line = LineDraft {
                    item_id: None,
                    description: reason.clone(),
                    category: Some(super::finance::CATEGORY.into()),
                    quantity: Quantity::ONE,
                    unit_price: Cents::new(amount),
                    taxable: false,
                    discount: None,
                    source: None,
                };
                let note = CreditNoteDraft { reason, lines: vec![line], of_lines: Vec::new() };
                self.invoices.credit(inv.id, note, caller).await?;
                excess -= amount;
                if excess == 0 {
                    break;
                }
            }
        }
        Ok(())
    }

    /// A plan with its progress from the invoice's payments (audited read).
    pub async fn get(&self, id: PaymentPlanId, caller: &Caller) -> Result<PaymentPlan> {
        let plan = self.records.get(id, caller).await?;
        self.with_progress(plan)
    }

    fn with_progress(&self, mut plan: PaymentPlan) -> Result<PaymentPlan> {
        let reader = self.ctx.store.read()?;
        let inv = reader.get::<Invoice>(RecordTable::Invoices, plan.invoice_id.as_u128())?;
        let interest = interest_paid(&plan, |id| Ok(reader.get::<Invoice>(RecordTable::Invoices, id)?))?;
        if let Some(inv) = inv {
            plan.progress(inv.paid, interest);
        }
        Ok(plan)
    }

    /// New terms: the schedule recomputed and kept as a revision; the old due jobs cancelled
    /// and the new ones written in the same change set.
    pub async fn modify(
        &self,
        id: PaymentPlanId,
        terms: PlanTerms,
        reason: Option<String>,
        caller: &Caller,
    ) -> Result<PaymentPlan> {
        let mut preview = self.records.peek(id)?;
        require(&preview, "modified")?;
        let before = preview.interest;
        let changed = preview.modify(terms, reason.clone(), self.ctx.clock.now(), None)?;
        let mut with = ChangeSet::new();
        let interest_invoice = (preview.interest > before).then(|| InvoiceId::from_ulid(self.ctx.new_ulid()));
        if !changed.is_empty() {
            self.jobs.cancel_subject(&mut with, &format!("payment_plan:{id}"), caller)?;
            self.schedule_jobs(&mut with, &preview, caller)?;
            if preview.interest != before {
                self.interest_job(&mut with, id, &preview.revision.to_string(), caller)?;
            }
        }
        let command = PlanCommand::Modify { terms, reason, interest_invoice };
        let plan = self.records.command_with(id, command, with, caller).await?;
        self.jobs.wake();
        self.bill_interest_now(id, caller).await;
        self.with_progress(plan)
    }

    /// Cancels an active plan (its due jobs with it); the invoice is owed as before.
    pub async fn cancel(&self, id: PaymentPlanId, reason: String, caller: &Caller) -> Result<PaymentPlan> {
        let mut with = ChangeSet::new();
        self.jobs.cancel_subject(&mut with, &format!("payment_plan:{id}"), caller)?;
        self.interest_job(&mut with, id, "cancel", caller)?;
        let plan = self.records.command_with(id, PlanCommand::Cancel { reason }, with, caller).await?;
        self.jobs.wake();
        self.bill_interest_now(id, caller).await;
        self.with_progress(plan)
    }

    /// An invoice's plans, oldest first (audited), each with its progress.
    pub async fn of_invoice(&self, invoice: InvoiceId, caller: &Caller) -> Result<Vec<PaymentPlan>> {
        self.invoices.records().peek(invoice)?;
        let filter = PlanFilter { invoice_id: Some(invoice) };
        let (plans, _) = self.records.list(&filter, None, 200, caller).await?;
        plans.into_iter().map(|p| self.with_progress(p)).collect()
    }

    /// The due job's work: marks the instalment late if it still is, and queues the client's
    /// message in the same change set (the decision writes it only when it marks the
    /// instalment late, not when it finds the plan ended, completed or no longer needed).
    async fn check_due(&self, id: PaymentPlanId, no: u32, revision: u32, caller: &Caller) -> Result<()> {
        let plan = self.with_progress(self.records.peek(id)?)?;
        let unpaid = plan.schedule.iter().find(|i| i.no == no).filter(|i| i.paid < i.amount && !i.late).copied();
        let mut with = ChangeSet::new();
        if let (Some(i), PlanStatus::Active, true) = (unpaid, plan.status, plan.revision == revision) {
            self.late_message(&mut with, &plan, i.no, i.amount, i.due_on, caller)?;
        }
        let command = PlanCommand::MarkLate { no, revision, message: Box::new(with) };
        self.records.command(id, command, caller).await?;
        self.jobs.wake();
        // A plan the voided invoice cancelled no longer charges its unpaid interest (a retry
        // of this job after a crash gets here again).
        self.bill_interest(id, caller).await
    }

    /// The handler of [`INTEREST_KIND`] jobs.
    pub fn interest_handler(&self) -> Arc<dyn JobHandler> {
        self.plan_handler(|plans, id, caller| async move { plans.bill_interest(id, &caller).await })
    }

    /// A handler of jobs whose payload names a plan (`{"plan_id"}`), doing `work` on it; a plan
    /// that is gone ends the job.
    fn plan_handler<Fut>(&self, work: fn(Plans, PaymentPlanId, Caller) -> Fut) -> Arc<dyn JobHandler>
    where
        Fut: std::future::Future<Output = Result<()>> + Send + 'static,
    {
        #[derive(serde::Deserialize)]
        struct Payload {
            plan_id: PaymentPlanId,
        }
        let plans = self.clone();
        Arc::new(RecordJob::new(
            "{\"plan_id\": <plan id>}",
            |e| matches!(e, Error::PaymentPlanNotFound(_)),
            move |p: Payload, caller: Caller| work(plans.clone(), p.plan_id, caller),
        ))
    }

    /// The client's `payment_plan_late` message (their preferred channel's active template),
    /// keyed by plan, revision and instalment so it is queued once. Nothing when the clinic
    /// has no such template (the staff alert still goes out).
    fn late_message(
        &self,
        set: &mut ChangeSet,
        plan: &PaymentPlan,
        no: u32,
        amount: Cents,
        due_on: jiff::civil::Date,
        caller: &Caller,
    ) -> Result<()> {
        let reader = self.ctx.store.read()?;
        let Some(client) = reader.get::<Client>(RecordTable::Clients, plan.client_id.as_u128())? else { return Ok(()) };
        let key = format!("plan-late:{}:{}:{no}", plan.id, plan.revision);
        let (channel, to) = crate::comms::automations::channel_of(&client);
        let Some(t) = crate::comms::analytics::pick_variant(&reader, TemplateCategory::PaymentPlanLate, channel, &key)?
        else {
            tracing::warn!(plan = %plan.id, "no active payment_plan_late template; the client is not told");
            return Ok(());
        };
        let number = reader
            .get::<Invoice>(RecordTable::Invoices, plan.invoice_id.as_u128())?
            .and_then(|i| i.number)
            .unwrap_or_default();
        let pets = crate::comms::compose::pet_names(&reader, &client)?;
        let clinic = &self.ctx.config.comms.clinic;
        let mut values: BTreeMap<String, String> = crate::comms::compose::client_values(&client, &pets, clinic);
        values.entry("clinic_phone".into()).or_default();
        values.insert("plan_invoice_number".into(), number);
        values.insert("instalment_amount".into(), amount.to_string());
        values.insert("instalment_due_date".into(), due_on.to_string());
        let rendered = crate::comms::templates::render(channel, &t.content, &values)?;
        self.messages.queue(
            set,
            NewMessage {
                to,
                client_id: Some(client.id),
                subject: rendered.subject,
                text: rendered.text,
                html: rendered.html,
                idempotency_key: key,
                due_at: None,
                purpose: Purpose::Transactional,
                template: Some((t.id, t.category)),
                automation: None,
            },
            caller,
        )?;
        Ok(())
    }

    /// The settle job's work: ends the plan if its invoices no longer need it.
    async fn settle(&self, id: PaymentPlanId, caller: &Caller) -> Result<()> {
        self.records.command(id, PlanCommand::Settle, caller).await?;
        Ok(())
    }

    /// The handler of [`SETTLE_KIND`] jobs.
    pub fn settle_handler(&self) -> Arc<dyn JobHandler> {
        self.plan_handler(|plans, id, caller| async move { plans.settle(id, &caller).await })
    }

    /// The handler of [`DUE_KIND`] jobs.
    pub fn due_handler(&self) -> Arc<dyn JobHandler> {
        #[derive(serde::Deserialize)]
        struct Payload {
            plan_id: PaymentPlanId,
            no: u32,
            revision: u32,
        }
        let plans = self.clone();
        Arc::new(RecordJob::new(
            "{\"plan_id\": <plan id>, \"no\": <instalment>, \"revision\": <n>}",
            |e| matches!(e, Error::PaymentPlanNotFound(_)),
            move |p: Payload, caller: Caller| {
                let plans = plans.clone();
                async move { plans.check_due(p.plan_id, p.no, p.revision, &caller).await }
            },
        ))
    }

    pub(crate) fn stop_all(&self) {
        self.records.stop_all();
    }
}
