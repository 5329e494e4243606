//! Payment plans: an issued invoice's balance paid as a down payment and instalments at a
//! weekly, fortnightly or monthly interval, with optional simple interest. The schedule is
//! computed here in integer cents ([`schedule`]: remainder cents on the last instalment);
//! progress is read from the invoice's payments ([`PaymentPlan::progress`]); a modification
//! keeps the terms and schedule it replaced as a revision. See docs/estimates.md.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::errors::ValidationError;
use crate::ids::{ClientId, InvoiceId, PaymentPlanId, UserId};
use crate::money::{self, BasisPoints, Cents};
use crate::records::Record;

/// Most instalments of one plan: five years of monthly payments.
pub const MAX_INSTALMENTS: u32 = 60;

/// How far from today a plan may start: a plan agreed on the phone last month is recorded
/// with its real start; more than a year either way is a typing mistake.
pub const MAX_START_DAYS: i64 = 366;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Interval {
    Weekly,
    Fortnightly,
    Monthly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum PlanStatus {
    /// Being paid; at most one per invoice.
    Active,
    /// Every instalment paid.
    Completed,
    /// Given up with a reason (the invoice is owed as before).
    Cancelled,
}

impl PlanStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// What a plan was agreed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlanTerms {
    /// Paid first, on the start date (0: none).
    pub down_payment: Cents,
    /// 1 to 60.
    pub instalments: u32,
    pub interval: Interval,
    /// A yearly rate of simple interest on the financed amount (0: none).
    pub interest_bp: BasisPoints,
    /// The down payment's date; the first instalment is one interval later.
    #[schema(value_type = String, example = "2026-07-01")]
    pub start_date: Date,
}

/// One payment of the schedule: the down payment is number 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Instalment {
    pub no: u32,
    #[schema(value_type = String)]
    pub due_on: Date,
    pub amount: Cents,
    /// Paid towards it so far, from the invoice's payments (allocated oldest first).
    pub paid: Cents,
    /// Not fully paid by its due date (set by the plan's job, the day after).
    pub late: bool,
}

/// The terms and schedule a modification replaced, with who changed them, when and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlanRevision {
    /// The revision these terms were (1 is the plan as agreed).
    pub revision: u32,
    pub replaced_at: Timestamp,
    pub replaced_by: Option<UserId>,
    /// The terms' fields the modification changed.
    pub changed: Vec<String>,
    pub reason: Option<String>,
    pub terms: PlanTerms,
    pub schedule: Vec<Instalment>,
}

/// A payment plan, as stored and returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PaymentPlan {
    pub id: PaymentPlanId,
    pub invoice_id: InvoiceId,
    pub client_id: ClientId,
    pub status: PlanStatus,
    /// 1, then one more per modification.
    pub revision: u32,
    pub terms: PlanTerms,
    /// The invoice's balance when the plan was agreed: what the plan pays off.
    pub principal: Cents,
    /// `principal − down payment`.
    pub financed: Cents,
    /// Simple interest on the financed amount over the plan's term.
    pub interest: Cents,
    /// `principal + interest`: the down payment and every instalment.
    pub total: Cents,
    /// The invoices billing the interest, oldest first: the first issued with the plan, one
    /// more for each modification that raised it (a lowered interest is a credit note on
    /// them, newest first). An issued invoice is never edited. Empty without interest.
    #[serde(default)]
    pub interest_invoices: Vec<InvoiceId>,
    /// What the invoice had been paid before the plan; payments after it count towards it.
    pub paid_before: Cents,
    /// Paid towards the plan so far.
    pub paid: Cents,
    pub schedule: Vec<Instalment>,
    /// Earlier terms, oldest first.
    pub revisions: Vec<PlanRevision>,
    pub cancel_reason: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: Option<UserId>,
}

impl Record for PaymentPlan {
    const KIND: &'static str = "payment_plan";
    const VERSION: u16 = 1;
}

/// The amounts of a schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub financed: Cents,
    pub interest: Cents,
    pub total: Cents,
    pub instalments: Vec<Instalment>,
}

fn money(e: money::MoneyError, field: &str) -> ValidationError {
    ValidationError::new(field, e.to_string())
}

/// The date of instalment `k` (1…): `k` intervals after the start, each counted from the start
/// so a monthly plan keeps its day of the month (the 31st falls on the last day of a shorter
/// month).
fn due_on(start: Date, interval: Interval, k: u32) -> Result<Date, ValidationError> {
    let k = i64::from(k);
    let span = match interval {
        Interval::Weekly => jiff::Span::new().days(7 * k),
        Interval::Fortnightly => jiff::Span::new().days(14 * k),
        Interval::Monthly => jiff::Span::new().months(k),
    };
    start.checked_add(span).map_err(|_| ValidationError::new("start_date", "puts the schedule out of range"))
}

/// Computes a plan's schedule for `principal` (the invoice's balance):
///
/// 1. `financed = principal − down payment` (the down payment at most the balance, and less
///    than it: something must be left for the instalments);
/// 2. `interest = financed × rate × term`, simple, rounded half-up once, where the term is
///    `instalments × 7/365` years (weekly), `× 14/365` (fortnightly) or `× 1/12` (monthly);
/// 3. each instalment is `(financed + interest) ÷ instalments` rounded down to the cent, and the
///    last one takes the remainder cents, so the instalments add up exactly;
/// 4. the down payment (if any) is number 0, due on the start date; instalment `k` is due `k`
///    intervals after it.
pub fn schedule(terms: &PlanTerms, principal: Cents) -> Result<Schedule, ValidationError> {
    if terms.instalments == 0 || terms.instalments > MAX_INSTALMENTS {
        return Err(ValidationError::new("instalments", format!("must be between 1 and {MAX_INSTALMENTS}")));
    }
    terms.down_payment.typed("down_payment", false)?;
    if terms.down_payment > principal {
        return Err(ValidationError::new(
            "down_payment",
            format!("is more than the invoice's balance ({} cents)", principal.get()),
        ));
    }
    let financed = principal.checked_sub(terms.down_payment).map_err(|e| money(e, "down_payment"))?;
    if !financed.is_positive() {
        return Err(ValidationError::new(
            "down_payment",
            "leaves nothing to pay in instalments: take a payment instead",
        ));
    }
    let n = i128::from(terms.instalments);
    let bp = i128::from(terms.interest_bp.get());
    let (num, den) = match terms.interval {
        Interval::Weekly => (bp * n * 7, 10_000 * 365),
        Interval::Fortnightly => (bp * n * 14, 10_000 * 365),
        Interval::Monthly => (bp * n, 10_000 * 12),
    };
    let interest = money::share(financed, num, den).map_err(|e| money(e, "interest_bp"))?;
    let owed = financed.checked_add(interest).map_err(|e| money(e, "interest_bp"))?;
    let each = owed.get() / i64::from(terms.instalments);
    let mut instalments = Vec::with_capacity(terms.instalments as usize + 1);
    if terms.down_payment.is_positive() {
        instalments.push(Instalment {
            no: 0,
            due_on: terms.start_date,
            amount: terms.down_payment,
            paid: Cents::ZERO,
            late: false,
        });
    }
    for k in 1..=terms.instalments {
        let amount = if k == terms.instalments { owed.get() - each * (i64::from(k) - 1) } else { each };
        instalments.push(Instalment {
            no: k,
            due_on: due_on(terms.start_date, terms.interval, k)?,
            amount: Cents::new(amount),
            paid: Cents::ZERO,
            late: false,
        });
    }
    let total = principal.checked_add(interest).map_err(|e| money(e, "interest_bp"))?;
    Ok(Schedule { financed, interest, total, instalments })
}

impl PaymentPlan {
    /// Fills in what was paid towards the plan from the invoice's paid amount (payments after
    /// the plan) and what its interest invoices were paid, allocated to the instalments oldest
    /// first, and `completed` when all is paid.
    pub fn progress(&mut self, invoice_paid: Cents, interest_paid: Cents) {
        let mut left = (invoice_paid.get() - self.paid_before.get()).max(0) + interest_paid.get().max(0);
        self.paid = Cents::new(left.min(self.total.get()));
        for i in &mut self.schedule {
            let take = left.min(i.amount.get());
            i.paid = Cents::new(take);
            left -= take;
        }
        if self.status == PlanStatus::Active && self.schedule.iter().all(|i| i.paid >= i.amount) {
            self.status = PlanStatus::Completed;
        }
    }

    /// Applies new terms: the schedule recomputed over the same principal, the terms and
    /// schedule replaced kept as a revision. Returns the terms' changed fields.
    pub fn modify(
        &mut self,
        terms: PlanTerms,
        reason: Option<String>,
        now: Timestamp,
        by: Option<UserId>,
    ) -> Result<Vec<&'static str>, ValidationError> {
        let old = self.terms;
        let mut changed = Vec::new();
        if old.down_payment != terms.down_payment {
            changed.push("down_payment");
        }
        if old.instalments != terms.instalments {
            changed.push("instalments");
        }
        if old.interval != terms.interval {
            changed.push("interval");
        }
        if old.interest_bp != terms.interest_bp {
            changed.push("interest_bp");
        }
        if old.start_date != terms.start_date {
            changed.push("start_date");
        }
        if changed.is_empty() {
            return Ok(changed);
        }
        let s = schedule(&terms, self.principal)?;
        self.revisions.push(PlanRevision {
            revision: self.revision,
            replaced_at: now,
            replaced_by: by,
            changed: changed.iter().map(|c| c.to_string()).collect(),
            reason,
            terms: old,
            schedule: std::mem::take(&mut self.schedule),
        });
        self.revision += 1;
        self.terms = terms;
        self.financed = s.financed;
        self.interest = s.interest;
        self.total = s.total;
        self.schedule = s.instalments;
        Ok(changed)
    }
}

/// Body of `POST /api/payment-plans`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePaymentPlan {
    pub invoice_id: InvoiceId,
    /// Cents; default 0.
    #[serde(default)]
    pub down_payment: Option<Cents>,
    pub instalments: u32,
    pub interval: Interval,
    /// Yearly simple interest in basis points; default 0.
    #[serde(default)]
    pub interest_bp: Option<BasisPoints>,
    /// Default today (clinic zone).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub start_date: Option<Date>,
}

impl CreatePaymentPlan {
    /// The terms, with today's defaults (the schedule checks the rest against the balance).
    pub fn terms(&self, today: Date) -> Result<PlanTerms, ValidationError> {
        let terms = PlanTerms {
            down_payment: self.down_payment.unwrap_or(Cents::ZERO),
            instalments: self.instalments,
            interval: self.interval,
            interest_bp: self.interest_bp.unwrap_or(BasisPoints::ZERO),
            start_date: self.start_date.unwrap_or(today),
        };
        check_start(terms.start_date, today)?;
        Ok(terms)
    }
}

/// Refuses a start more than [`MAX_START_DAYS`] from today.
pub fn check_start(start: Date, today: Date) -> Result<(), ValidationError> {
    let days = (start - today).get_days();
    if i64::from(days).abs() > MAX_START_DAYS {
        return Err(ValidationError::new("start_date", "is more than a year from today"));
    }
    Ok(())
}

/// Body of `PATCH /api/payment-plans/{id}`: the terms to change (the rest are kept) and why.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePaymentPlan {
    #[serde(default)]
    pub down_payment: Option<Cents>,
    #[serde(default)]
    pub instalments: Option<u32>,
    #[serde(default)]
    pub interval: Option<Interval>,
    #[serde(default)]
    pub interest_bp: Option<BasisPoints>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub start_date: Option<Date>,
    #[serde(default)]
    pub reason: Option<String>,
}

impl UpdatePaymentPlan {
    /// The new terms over `current`.
    pub fn terms(&self, current: PlanTerms, today: Date) -> Result<PlanTerms, ValidationError> {
        let terms = PlanTerms {
            down_payment: self.down_payment.unwrap_or(current.down_payment),
            instalments: self.instalments.unwrap_or(current.instalments),
            interval: self.interval.unwrap_or(current.interval),
            interest_bp: self.interest_bp.unwrap_or(current.interest_bp),
            start_date: self.start_date.unwrap_or(current.start_date),
        };
        if self.start_date.is_some() {
            check_start(terms.start_date, today)?;
        }
        Ok(terms)
    }
}

/// Body of `POST /api/payment-plans/{id}/cancel`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelPaymentPlan {
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(down: i64, n: u32, interval: Interval, bp: u32) -> PlanTerms {
        PlanTerms {
            down_payment: Cents::new(down),
            instalments: n,
            interval,
            interest_bp: BasisPoints::new(bp).unwrap(),
            start_date: jiff::civil::date(2026, 1, 31),
        }
    }

    #[test]
    fn the_remainder_cents_go_on_the_last_instalment_and_months_keep_their_day() {
        let s = schedule(&terms(1000, 3, Interval::Monthly, 0), Cents::new(11_000)).unwrap();
        let amounts: Vec<i64> = s.instalments.iter().map(|i| i.amount.get()).collect();
        assert_eq!(amounts, vec![1000, 3333, 3333, 3334]);
        let dates: Vec<String> = s.instalments.iter().map(|i| i.due_on.to_string()).collect();
        assert_eq!(dates, vec!["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"]);
        assert_eq!(s.total, Cents::new(11_000));
        let w = schedule(&terms(0, 2, Interval::Fortnightly, 0), Cents::new(101)).unwrap();
        assert_eq!(w.instalments.iter().map(|i| (i.no, i.amount.get())).collect::<Vec<_>>(), vec![(1, 50), (2, 51)]);
        assert_eq!(w.instalments[1].due_on, jiff::civil::date(2026, 2, 28));
    }

    #[test]
    fn simple_interest_runs_over_the_term_rounded_once() {
        // 12 % a year on 1,000.00 for 6 months: 60.00. Weekly for 10 weeks at 10 %:
        // 1,000.00 × 0.10 × 70/365 = 19.178… → 19.18.
        let m = schedule(&terms(0, 6, Interval::Monthly, 1200), Cents::new(100_000)).unwrap();
        assert_eq!((m.interest.get(), m.total.get()), (6000, 106_000));
        assert_eq!(m.instalments.iter().map(|i| i.amount.get()).sum::<i64>(), 106_000);
        let w = schedule(&terms(0, 10, Interval::Weekly, 1000), Cents::new(100_000)).unwrap();
        assert_eq!(w.interest.get(), 1918);
    }

    #[test]
    fn bad_terms_are_refused_naming_the_field() {
        let f = |t: PlanTerms, p: i64| schedule(&t, Cents::new(p)).unwrap_err().field;
        assert_eq!(f(terms(0, 0, Interval::Weekly, 0), 100), "instalments");
        assert_eq!(f(terms(0, 61, Interval::Weekly, 0), 100), "instalments");
        assert_eq!(f(terms(101, 2, Interval::Weekly, 0), 100), "down_payment");
        assert_eq!(f(terms(100, 2, Interval::Weekly, 0), 100), "down_payment");
        assert_eq!(f(terms(-1, 2, Interval::Weekly, 0), 100), "down_payment");
    }

    /// An active plan of `t` over `principal`, `paid_before` paid before it.
    fn plan_of(t: PlanTerms, principal: i64, paid_before: i64) -> PaymentPlan {
        let s = schedule(&t, Cents::new(principal)).unwrap();
        PaymentPlan {
            id: PaymentPlanId::from_u128(1),
            invoice_id: InvoiceId::from_u128(2),
            client_id: ClientId::from_u128(3),
            status: PlanStatus::Active,
            revision: 1,
            terms: t,
            principal: Cents::new(principal),
            financed: s.financed,
            interest: s.interest,
            total: s.total,
            interest_invoices: Vec::new(),
            paid_before: Cents::new(paid_before),
            paid: Cents::ZERO,
            schedule: s.instalments,
            revisions: Vec::new(),
            cancel_reason: None,
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
            created_by: None,
        }
    }

    #[test]
    fn progress_is_allocated_oldest_first_and_a_modification_keeps_the_old_terms() {
        let mut plan = plan_of(terms(1000, 2, Interval::Weekly, 0), 5000, 500);
        plan.progress(Cents::new(2000), Cents::ZERO);
        let paid: Vec<i64> = plan.schedule.iter().map(|i| i.paid.get()).collect();
        assert_eq!((plan.paid.get(), paid), (1500, vec![1000, 500, 0]));
        let changed =
            plan.modify(terms(1000, 4, Interval::Weekly, 0), Some("lost job".into()), Timestamp::UNIX_EPOCH, None);
        assert_eq!(changed.unwrap(), vec!["instalments"]);
        assert_eq!((plan.revision, plan.schedule.len(), plan.revisions[0].schedule.len()), (2, 5, 3));
        plan.progress(Cents::new(5500), Cents::ZERO);
        assert_eq!(plan.status, PlanStatus::Completed);
    }

    #[test]
    fn the_interest_invoices_payments_count_towards_the_plan() {
        let mut plan = plan_of(terms(0, 2, Interval::Monthly, 1200), 10_000, 0);
        assert_eq!(plan.interest.get(), 200);
        plan.interest_invoices = vec![InvoiceId::from_u128(4)];
        // The whole principal paid, none of the interest: the last instalment is still short.
        plan.progress(Cents::new(10_000), Cents::ZERO);
        assert_eq!((plan.status, plan.schedule[1].paid.get()), (PlanStatus::Active, 4900));
        plan.progress(Cents::new(10_000), Cents::new(200));
        assert_eq!((plan.status, plan.paid.get()), (PlanStatus::Completed, 10_200));
    }
}
