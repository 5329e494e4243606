//! A client's statement of account over a period: what they owed at its start, every invoice,
//! credit note, payment, credit application and refund in it with the running balance, what
//! they owe at its end, aged by the AR ageing's own rules (`reports::OpenInvoice::balance_as_of`
//! and `reports::AgeingBuckets::add`), and their credit on account beside it. Computed from
//! the client's invoices by one pure function ([`statement`]); nothing of it is stored.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::errors::ValidationError;
use crate::ids::{ClientId, InvoiceId};
use crate::invoices::{Invoice, InvoiceStatus};
use crate::money::Cents;
use crate::payments::{PaymentMethod, RefundOf};
use crate::reports::{AgeingBuckets, OpenInvoice};

/// The longest period one statement covers (ten years of days).
pub const MAX_PERIOD_DAYS: i32 = 3660;

/// Query of `GET /api/clients/{id}/statement` (and `.pdf`).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatementQuery {
    /// First day of the period (clinic's local date; default three months before `to`).
    pub from: Option<Date>,
    /// Last day of the period, included (default today).
    pub to: Option<Date>,
}

impl StatementQuery {
    /// The period asked for, with the defaults filled in: `to` today, `from` three months
    /// before it. `to` before `from`, or longer than [`MAX_PERIOD_DAYS`], is 422 on `to`.
    pub fn period(&self, today: Date) -> Result<(Date, Date), ValidationError> {
        let to = self.to.unwrap_or(today);
        let from = match self.from {
            Some(f) => f,
            None => to
                .checked_sub(jiff::Span::new().months(3))
                .map_err(|_| ValidationError::new("to", "is too early a date"))?,
        };
        if to < from {
            return Err(ValidationError::new("to", "is before from"));
        }
        if (to - from).get_days() > MAX_PERIOD_DAYS {
            return Err(ValidationError::new("to", format!("a statement covers at most {MAX_PERIOD_DAYS} days")));
        }
        Ok((from, to))
    }
}

/// What a statement line records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatementEntryKind {
    /// An invoice issued: its total is owed.
    Invoice,
    /// A credit note: its total is no longer owed.
    CreditNote,
    /// A payment in money (the part kept as credit on account does not pay the invoice).
    Payment,
    /// Credit on account applied to an invoice.
    CreditApplied,
    /// A refund: of what a payment paid (owed again) or of credit on account (money given
    /// back from the credit).
    Refund,
}

/// One line of a statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatementEntry {
    /// The clinic's local date it happened on.
    pub date: Date,
    pub kind: StatementEntryKind,
    pub invoice_id: InvoiceId,
    /// The invoice's number.
    pub invoice_number: Option<String>,
    /// The credit note's number, or the payment's method and reference, for reading.
    pub description: String,
    /// What it changed of the balance owed (signed cents: + charged, − paid or credited).
    pub amount: Cents,
    /// What it changed of the credit on account (signed cents; 0 for most entries).
    pub credit: Cents,
    /// What was owed after it.
    pub balance: Cents,
}

/// Answer of `GET /api/clients/{id}/statement`. `opening_balance + Σ amount = closing_balance`,
/// `closing_balance = ageing.total`, `opening_credit + Σ credit = closing_credit`, to the cent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Statement {
    pub client_id: ClientId,
    /// "Last, First".
    pub client_name: String,
    pub from: Date,
    pub to: Date,
    /// Owed at the end of the day before `from`.
    pub opening_balance: Cents,
    /// In date order.
    pub entries: Vec<StatementEntry>,
    /// Σ of the entries' positive amounts (invoices, refunds of payments).
    pub charges: Cents,
    /// Σ of the entries' negative amounts (payments, credit notes, credit applied), as a
    /// positive number.
    pub payments_and_credits: Cents,
    /// Owed at the end of `to`.
    pub closing_balance: Cents,
    /// What is owed at the end of `to` by days past due (the AR ageing's buckets).
    pub ageing: AgeingBuckets,
    /// Credit on account at the end of the day before `from`, and at the end of `to` (never
    /// netted with the balance: applying it is someone's decision).
    pub opening_credit: Cents,
    pub closing_credit: Cents,
}

/// The label of a method on a statement.
fn method_label(m: PaymentMethod) -> &'static str {
    match m {
        PaymentMethod::Cash => "cash",
        PaymentMethod::CardPresent => "card",
        PaymentMethod::CardOnline => "card (online)",
        PaymentMethod::Check => "check",
        PaymentMethod::BankTransfer => "bank transfer",
        PaymentMethod::Other => "other",
        PaymentMethod::AccountCredit => "credit on account",
    }
}

/// A client's statement over `from..=to` from their invoices (any order; drafts and voided
/// invoices owe nothing and are left out). `zone` gives the local date of payments and refunds.
pub fn statement(
    client_id: ClientId,
    client_name: String,
    invoices: &[Invoice],
    from: Date,
    to: Date,
    zone: &TimeZone,
) -> Statement {
    let local = |t: jiff::Timestamp| t.to_zoned(zone.clone()).date();
    let before = from.yesterday().unwrap_or(from);
    let mut opening = 0i64;
    let mut opening_credit = 0i64;
    let mut closing_credit = 0i64;
    let mut ageing = AgeingBuckets::default();
    // (date, kind, time, entry) so that a day reads invoices first, then what paid them.
    let mut entries: Vec<(Date, StatementEntryKind, jiff::Timestamp, StatementEntry)> = Vec::new();
    for inv in invoices {
        if matches!(inv.status, InvoiceStatus::Draft | InvoiceStatus::Void) {
            continue;
        }
        // Credit on account: what every payment and refund of this invoice did to it.
        for c in inv.credit_entries() {
            let d = local(c.at);
            if d < from {
                opening_credit += c.amount.get();
            }
            if d <= to {
                closing_credit += c.amount.get();
            }
        }
        let Some(view) = OpenInvoice::of(inv) else { continue };
        // The AR ageing's own figures: owed at the end of a day, and its bucket at `to`.
        if from > view.issued_on {
            // Not issued by then: owed nothing (balance_as_of says so too).
            opening += view.balance_as_of(before, local).map_or(0, Cents::get);
        }
        if let Some(owed) = view.balance_as_of(to, local) {
            ageing.add(owed, (to - view.due_on).get_days());
        }
        let mut push = |date: Date, kind, at, description: String, amount: i64, credit: i64| {
            if date < from || date > to {
                return;
            }
            let entry = StatementEntry {
                date,
                kind,
                invoice_id: inv.id,
                invoice_number: inv.number.clone(),
                description,
                amount: Cents::new(amount),
                credit: Cents::new(credit),
                balance: Cents::ZERO,
            };
            entries.push((date, kind, at, entry));
        };
        let number = inv.number.clone().unwrap_or_default();
        push(
            view.issued_on,
            StatementEntryKind::Invoice,
            inv.created_at,
            format!("Invoice {number}"),
            view.total.get(),
            0,
        );
        for c in &inv.credit_notes {
            let n = c.number.clone().unwrap_or_default();
            push(
                c.date,
                StatementEntryKind::CreditNote,
                c.created_at,
                format!("Credit note {n} on {number}: {}", c.reason),
                -c.totals.total.get(),
                0,
            );
        }
        for p in &inv.payments {
            let (kind, credit) = if p.method == PaymentMethod::AccountCredit {
                (StatementEntryKind::CreditApplied, -p.amount.get())
            } else {
                (StatementEntryKind::Payment, p.to_credit.get())
            };
            let mut d = if kind == StatementEntryKind::CreditApplied {
                format!("Credit on account applied to {number}")
            } else {
                format!("Payment on {number}, {}", method_label(p.method))
            };
            if let Some(r) = &p.reference {
                d.push_str(&format!(" ({r})"));
            }
            if p.to_credit.is_positive() {
                d.push_str(&format!("; {} received, {} kept as credit on account", p.amount, p.to_credit));
            }
            push(local(p.received_at), kind, p.received_at, d, -p.applied().get(), credit);
        }
        for r in &inv.refunds {
            let Some(p) = inv.payments.iter().find(|p| p.id == r.payment_id) else { continue };
            let (amount, credit, what) = match (r.of, p.method) {
                (RefundOf::Credit, _) => (0, -r.amount.get(), "of credit on account"),
                (RefundOf::Invoice, PaymentMethod::AccountCredit) => {
                    (r.amount.get(), r.amount.get(), "of applied credit, back to the account")
                }
                (RefundOf::Invoice, _) => (r.amount.get(), 0, "of a payment"),
            };
            let d = format!("Refund {what} on {number}, {}: {}", method_label(r.method), r.reason);
            push(local(r.refunded_at), StatementEntryKind::Refund, r.refunded_at, d, amount, credit);
        }
    }
    entries.sort_by_key(|a| (a.0, a.1, a.2));
    let mut balance = opening;
    let mut charges = 0i64;
    let mut paid = 0i64;
    let entries: Vec<StatementEntry> = entries
        .into_iter()
        .map(|(_, _, _, mut e)| {
            balance += e.amount.get();
            if e.amount.get() > 0 {
                charges += e.amount.get();
            } else {
                paid -= e.amount.get();
            }
            e.balance = Cents::new(balance);
            e
        })
        .collect();
    Statement {
        client_id,
        client_name,
        from,
        to,
        opening_balance: Cents::new(opening),
        entries,
        charges: Cents::new(charges),
        payments_and_credits: Cents::new(paid),
        closing_balance: Cents::new(balance),
        ageing,
        opening_credit: Cents::new(opening_credit),
        closing_credit: Cents::new(closing_credit),
    }
}

// ----- Statement email -----

/// Body of `POST /api/clients/{id}/statement/email` (the period; defaults as for the statement).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailStatement {
    pub from: Option<Date>,
    pub to: Option<Date>,
}

/// Body of `POST /api/statements/runs`: email every client who owes at least `min_balance`
/// their statement over `from..=to`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartStatementRun {
    /// The day balances are measured at and the statements end (default today); `to` is
    /// another name for it (give one or the other, or both equal).
    pub as_of: Option<Date>,
    /// Clients owing less than this at `as_of` are not sent one (cents; default 1: anyone who
    /// owes anything).
    pub min_balance: Option<Cents>,
    /// First day of the statements (default three months before `as_of`).
    pub from: Option<Date>,
    pub to: Option<Date>,
}

impl StartStatementRun {
    /// The period and the minimum balance (422 naming the field).
    pub fn check(&self, today: Date) -> Result<(Date, Date, Cents), ValidationError> {
        let to = match (self.as_of, self.to) {
            (Some(a), Some(t)) if a != t => return Err(ValidationError::new("to", "differs from as_of")),
            (a, t) => a.or(t),
        };
        let (from, to) = StatementQuery { from: self.from, to }.period(today)?;
        let min = self.min_balance.unwrap_or(Cents::new(1));
        if !min.is_positive() || min > crate::money::MAX_AMOUNT {
            return Err(ValidationError::new("min_balance", "must be more than 0 and at most 1000000000"));
        }
        Ok((from, to, min))
    }
}

/// Where a statement run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatementRunStatus {
    Running,
    Done,
}

/// A client whose statement was queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatementSent {
    pub client_id: ClientId,
    /// What they owed at the end of the period.
    pub balance: Cents,
    pub message_id: crate::ids::MessageId,
}

/// A client not sent one, with why: `no_email`, `no_consent` (the reason from their
/// preferences), `already_sent` (this period's statement went out in an earlier run),
/// `error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatementSkipped {
    pub client_id: ClientId,
    pub code: String,
    pub reason: String,
}

/// A bulk statement email run with its progress and report (`GET /api/statements/runs/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatementRun {
    /// The id of the durable job that runs it.
    pub id: crate::ids::JobId,
    pub from: Date,
    pub to: Date,
    pub min_balance: Cents,
    pub status: StatementRunStatus,
    /// Clients owing at least `min_balance` (known once the job started).
    pub total: u32,
    /// Clients handled so far.
    pub done: u32,
    pub sent: Vec<StatementSent>,
    /// The partial-failure report.
    pub skipped: Vec<StatementSkipped>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: jiff::Timestamp,
    pub created_by: Option<crate::ids::UserId>,
}

/// Version history: v1.
impl crate::records::Record for StatementRun {
    const KIND: &'static str = "statement_run";
    const VERSION: u16 = 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn the_period_defaults_to_the_three_months_to_today_and_refuses_backwards_or_too_long() {
        let today = d("2026-12-06");
        assert_eq!(StatementQuery::default().period(today).unwrap(), (d("2026-09-06"), today));
        let q = StatementQuery { from: None, to: Some(d("2026-05-31")) };
        assert_eq!(q.period(today).unwrap(), (d("2026-02-28"), d("2026-05-31")), "month ends clamp");
        let back = StatementQuery { from: Some(d("2026-12-07")), to: Some(today) };
        assert_eq!(back.period(today).unwrap_err().field, "to");
        let long = StatementQuery { from: Some(d("2010-01-01")), to: Some(today) };
        assert_eq!(long.period(today).unwrap_err().field, "to");
    }

    #[test]
    fn a_run_takes_as_of_or_to_and_a_positive_minimum() {
        let today = d("2026-12-06");
        let r = StartStatementRun { as_of: Some(d("2026-11-30")), ..Default::default() };
        assert_eq!(r.check(today).unwrap(), (d("2026-08-30"), d("2026-11-30"), Cents::new(1)));
        let both = StartStatementRun { as_of: Some(d("2026-11-30")), to: Some(today), ..Default::default() };
        assert_eq!(both.check(today).unwrap_err().field, "to");
        let zero = StartStatementRun { min_balance: Some(Cents::ZERO), ..Default::default() };
        assert_eq!(zero.check(today).unwrap_err().field, "min_balance");
    }
}
