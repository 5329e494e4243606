//! Finance charges on overdue balances (optional: `CLOWDER_FINANCE_CHARGE_BP`, a yearly rate;
//! 0, the default, is off). A monthly job (`finance_charge`, the 1st at 02:00 clinic time)
//! charges each invoice past its due date plus the grace days one month's interest on its
//! balance: `balance × rate ÷ 12`, half-up, at least the minimum charge. An issued invoice
//! changes only through credit notes, so the charge is a **new invoice** of its own, issued
//! at once, with one line of category `finance_charge` naming the overdue invoice's number
//! (its `source` is `finance_charge:<invoice>:<YYYY-MM>`).
//!
//! Never compounded: an invoice made of finance charges is never charged itself. Once per
//! invoice per month: the claim `finance_charge` `<invoice>:<YYYY-MM>` is owned by the charge's
//! invoice and written in its creating change set, so a run repeated after a crash (or twice
//! in a month) charges nothing twice; a charge left a draft by a crash between its creation
//! and its issue is issued by the next run. docs/statements.md "Finance charges".

use std::ops::ControlFlow;
use std::sync::Arc;

use clowder_schemas::ValidationError;
use clowder_schemas::audit::Caller;
use clowder_schemas::ids::InvoiceId;
use clowder_schemas::invoices::{Invoice, InvoiceDraft, InvoiceStatus, LineDraft};
use clowder_schemas::jobs::Job;
use clowder_schemas::money::{Cents, Quantity, share};
use clowder_schemas::reports::OpenInvoice;
use jiff::civil::Date;

use super::invoices::Invoices;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::jobs::recurring::{Recurring, Rule};
use crate::jobs::{JobCtx, JobError, JobFuture, JobHandler, JobOutcome, Jobs};
use crate::store::tables::unique;
use crate::store::{ChangeSet, IndexTable, RecordTable};

/// The job kind of the monthly run.
pub const KIND: &str = "finance_charge";

/// The category of a finance charge's line.
pub const CATEGORY: &str = "finance_charge";

/// Finance charges' settings.
#[derive(Debug, Clone, Default)]
pub struct FinanceConfig {
    /// Yearly rate in basis points (1800: 18 % a year, 1.5 % a month); 0: off.
    pub rate_bp: u32,
    /// The least a charge is (cents); 0: none.
    pub minimum: Cents,
    /// Days after the due date before a balance is charged.
    pub grace_days: u16,
}

/// One finance charge made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charged {
    /// The overdue invoice.
    pub invoice_id: InvoiceId,
    /// The finance-charge invoice.
    pub charge_id: InvoiceId,
    pub amount: Cents,
}

/// Finance charges' service.
#[derive(Clone)]
pub struct FinanceCharges {
    ctx: Arc<Ctx>,
    invoices: Invoices,
}

/// Whether an invoice is made of finance charges, a payment plan's interest among them (never
/// charged itself).
pub fn is_finance_charge(inv: &Invoice) -> bool {
    let charge = |s: &str| s.starts_with("finance_charge:") || s.starts_with(super::plans::INTEREST_SOURCE);
    !inv.lines.is_empty() && inv.lines.iter().all(|l| l.source.as_deref().is_some_and(charge))
}

/// One month's charge on `balance` at `rate_bp` a year: half-up, at least `minimum`.
pub fn monthly_charge(balance: Cents, rate_bp: u32, minimum: Cents) -> Result<Cents> {
    let c = share(balance, i128::from(rate_bp), 10_000 * 12)
        .map_err(|e| Error::Internal(format!("finance charge of {balance}: {e}")))?;
    Ok(c.max(minimum))
}

impl FinanceCharges {
    pub(crate) fn new(ctx: Arc<Ctx>, invoices: Invoices) -> Self {
        FinanceCharges { ctx, invoices }
    }

    /// Registers the job's handler and, when a rate is set, its monthly schedule.
    pub(crate) fn install(&self, jobs: &Jobs) -> std::result::Result<(), ValidationError> {
        jobs.register(KIND, Arc::new(Run { finance: self.clone() }))?;
        if self.ctx.config.finance.rate_bp > 0 {
            jobs.add_recurring(Recurring {
                name: KIND,
                kind: KIND,
                rule: Rule::Monthly { day: 1, at: jiff::civil::Time::constant(2, 0, 0, 0) },
                payload: serde_json::json!({}),
            });
        }
        Ok(())
    }

    /// Charges every invoice more than the grace days past due at the end of `as_of` one
    /// month's finance charge, once per invoice and month (the month of `as_of`). Nothing when
    /// the rate is 0. Returns what it charged now.
    pub async fn charge_overdue(&self, as_of: Date, caller: &Caller) -> Result<Vec<Charged>> {
        let cfg = self.ctx.config.finance.clone();
        if cfg.rate_bp == 0 {
            return Ok(Vec::new());
        }
        let month = as_of.strftime("%Y-%m").to_string();
        // The clients with a balance past due (the ageing's open views), then their invoices.
        let mut due: Vec<u128> = Vec::new();
        {
            let reader = self.ctx.store.read()?;
            let mut clients = std::collections::BTreeSet::new();
            reader.scan::<OpenInvoice>(RecordTable::ArOpen, None, |v| {
                if v.balance.is_positive() && (as_of - v.due_on).get_days() > i32::from(cfg.grace_days) {
                    clients.insert(v.client_id.as_u128());
                }
                ControlFlow::Continue(())
            })?;
            for client in clients {
                for key in reader.children(IndexTable::InvoicesByClient, client, None)? {
                    let Some(inv) = reader.get::<Invoice>(RecordTable::Invoices, key)? else { continue };
                    let past = inv.due_on.is_some_and(|d| (as_of - d).get_days() > i32::from(cfg.grace_days));
                    if past && inv.balance.is_positive() {
                        due.push(key);
                    }
                }
            }
        }
        let mut out = Vec::new();
        for key in due {
            let (inv, owner) = {
                let reader = self.ctx.store.read()?;
                let Some(inv) = reader.get::<Invoice>(RecordTable::Invoices, key)? else { continue };
                let owner = reader.unique_owner(unique::FINANCE_CHARGE, &format!("{}:{month}", inv.id))?;
                (inv, owner)
            };
            if is_finance_charge(&inv)
                || !matches!(inv.status, InvoiceStatus::Issued | InvoiceStatus::PartiallyPaid | InvoiceStatus::Overdue)
            {
                continue;
            }
            if let Some(owner) = owner {
                // Charged this month already; a charge a crash left a draft is issued now.
                let id = InvoiceId::from_u128(owner);
                let draft = self
                    .ctx
                    .store
                    .read()?
                    .get::<Invoice>(RecordTable::Invoices, owner)?
                    .is_some_and(|c| c.status == InvoiceStatus::Draft);
                if draft {
                    self.invoices.issue(id, caller).await?;
                }
                continue;
            }
            let amount = monthly_charge(inv.balance, cfg.rate_bp, cfg.minimum)?;
            if !amount.is_positive() {
                continue;
            }
            let number = inv.number.clone().unwrap_or_default();
            let rate = format!("{}.{:02} %", cfg.rate_bp / 100, cfg.rate_bp % 100);
            let line = LineDraft {
                item_id: None,
                description: format!(
                    "Finance charge {month} on invoice {number}: {} overdue since {} at {rate} a year",
                    inv.balance,
                    inv.due_on.map(|d| d.to_string()).unwrap_or_default()
                ),
                category: Some(CATEGORY.into()),
                quantity: Quantity::ONE,
                unit_price: amount,
                taxable: false,
                discount: None,
                source: Some(format!("finance_charge:{}:{month}", inv.id)),
            };
            let draft = InvoiceDraft {
                client_id: inv.client_id,
                patient_id: None,
                visit_id: None,
                location_id: inv.location_id,
                lines: vec![line],
                discount: None,
                memo: Some(format!("Finance charge on {number}")),
            };
            let id = InvoiceId::from_ulid(self.ctx.new_ulid());
            let mut with = ChangeSet::new();
            with.claim(unique::FINANCE_CHARGE, &format!("{}:{month}", inv.id), id.as_u128(), "invoice_id");
            match self.invoices.records().create_with(id, draft, with, caller).await {
                Ok(_) => {}
                // Another run charged it meanwhile.
                Err(Error::Duplicate { .. }) => continue,
                Err(e) => return Err(e),
            }
            self.invoices.issue(id, caller).await?;
            out.push(Charged { invoice_id: inv.id, charge_id: id, amount });
        }
        Ok(out)
    }
}

/// Runs [`KIND`] jobs: the month's charges as of the clinic's today.
struct Run {
    finance: FinanceCharges,
}

impl JobHandler for Run {
    fn validate(&self, payload: &serde_json::Value) -> std::result::Result<(), ValidationError> {
        crate::jobs::recurring::empty_payload(payload)
    }

    fn run<'a>(&'a self, _job: &'a Job, ctx: &'a JobCtx) -> JobFuture<'a> {
        Box::pin(async move {
            let today = self.finance.ctx.today();
            let n =
                self.finance.charge_overdue(today, &ctx.caller).await.map_err(|e| JobError::Retry(e.to_string()))?;
            tracing::info!(charges = n.len(), "finance charges made");
            Ok(JobOutcome::done())
        })
    }
}
