//! Financial reports: accounts-receivable ageing and revenue. Owns the revenue rollup's row
//! (`RevenueDay`: one day, location and category), what an invoice contributes to it
//! ([`contributions`], a pure function of the invoice, so the rollup's change is the
//! difference between an invoice's old and new contributions), the ageing buckets, and the
//! reports' queries and answers. The design (why a rollup and an open-invoice index) is in
//! docs/reports.md.

use std::collections::BTreeMap;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::errors::ValidationError;
use crate::ids::{ClientId, LocationId};
use crate::invoices::{Invoice, InvoiceLine, InvoiceStatus};
use crate::money::Cents;
use crate::records::Record;

/// The amounts one rollup row adds up. Every field is a sum, so rows add and subtract.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevenueAmounts {
    /// Net of discounts, before tax, of the invoices issued that day.
    pub sales: i64,
    /// Net before tax of the credit notes dated that day.
    pub credits: i64,
    /// Tax charged by the invoices issued that day (on the whole-invoice row only).
    pub tax: i64,
    /// Tax given back by the credit notes dated that day (on the whole-invoice row only).
    pub tax_credited: i64,
    /// Invoices issued that day (on the whole-invoice row only).
    pub invoices: i64,
    /// Credit notes dated that day (on the whole-invoice row only).
    pub credit_notes: i64,
}

impl RevenueAmounts {
    /// `self + sign × other`, saturating (amounts are bounded far below `i64::MAX`).
    pub fn add(&mut self, other: &RevenueAmounts, sign: i64) {
        self.sales = self.sales.saturating_add(sign.saturating_mul(other.sales));
        self.credits = self.credits.saturating_add(sign.saturating_mul(other.credits));
        self.tax = self.tax.saturating_add(sign.saturating_mul(other.tax));
        self.tax_credited = self.tax_credited.saturating_add(sign.saturating_mul(other.tax_credited));
        self.invoices = self.invoices.saturating_add(sign.saturating_mul(other.invoices));
        self.credit_notes = self.credit_notes.saturating_add(sign.saturating_mul(other.credit_notes));
    }

    pub fn is_zero(&self) -> bool {
        *self == RevenueAmounts::default()
    }
}

/// Where a rollup row's amounts belong: a day (the clinic's local date), a location, and a
/// category (`None`: the whole-invoice row holding tax and counts).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RevenueKey {
    pub date: Date,
    pub location_id: Option<LocationId>,
    pub category: Option<String>,
}

/// One row of the revenue rollup, table `revenue_days`.
///
/// Version history: v1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RevenueDay {
    pub key: RevenueKey,
    pub amounts: RevenueAmounts,
}

impl Record for RevenueDay {
    const KIND: &'static str = "revenue_day";
    const VERSION: u16 = 1;
}

/// The category a line without one is reported under.
pub const UNCATEGORISED: &str = "Uncategorised";

fn category_of(l: &InvoiceLine) -> String {
    match l.category.as_deref().map(str::trim) {
        Some(c) if !c.is_empty() => c.to_owned(),
        _ => UNCATEGORISED.to_owned(),
    }
}

/// `a × b ÷ c` rounded half-up (non-negative inputs; `c` > 0).
fn share(a: i64, b: i64, c: i64) -> i64 {
    if c <= 0 {
        return 0;
    }
    let n = i128::from(a) * i128::from(b);
    let c = i128::from(c);
    i64::try_from((2 * n + c) / (2 * c)).unwrap_or(i64::MAX)
}

/// What an invoice adds to the revenue rollup: nothing while a draft or once voided; the
/// issue date's sales per category (each line's net, less the category's share of the
/// invoice discount, the last category taking the remainder so the categories add up to
/// `subtotal − discount` exactly) and tax; each credit note's net per category and tax on
/// its own date.
pub fn contributions(inv: &Invoice) -> BTreeMap<RevenueKey, RevenueAmounts> {
    let mut out: BTreeMap<RevenueKey, RevenueAmounts> = BTreeMap::new();
    if matches!(inv.status, InvoiceStatus::Draft | InvoiceStatus::Void) {
        return out;
    }
    let Some(issued) = inv.issued_on else { return out };
    let key = |date: Date, category: Option<String>| RevenueKey { date, location_id: inv.location_id, category };

    let mut by_category: BTreeMap<String, i64> = BTreeMap::new();
    for l in &inv.lines {
        *by_category.entry(category_of(l)).or_default() += l.amounts.net.get();
    }
    let net: i64 = by_category.values().sum();
    let sales = inv.totals.subtotal.get() - inv.totals.discount.get();
    let invoice_discount = net - sales;
    let mut left = invoice_discount;
    let n = by_category.len();
    for (i, (category, cat_net)) in by_category.into_iter().enumerate() {
        let off = if i + 1 == n { left } else { share(invoice_discount, cat_net, net) };
        left -= off;
        out.entry(key(issued, Some(category))).or_default().sales += cat_net - off;
    }
    let whole = out.entry(key(issued, None)).or_default();
    whole.tax += inv.totals.tax.get();
    whole.invoices += 1;

    for cn in &inv.credit_notes {
        for l in &cn.lines {
            out.entry(key(cn.date, Some(category_of(l)))).or_default().credits += l.amounts.net.get();
        }
        let whole = out.entry(key(cn.date, None)).or_default();
        whole.tax_credited += cn.totals.tax.get();
        whole.credit_notes += 1;
    }
    out
}

/// What a change of an invoice from `old` to `new` changes in the rollup: the rows whose
/// amounts differ, with the difference.
pub fn rollup_delta(old: Option<&Invoice>, new: &Invoice) -> Vec<(RevenueKey, RevenueAmounts)> {
    let mut delta = contributions(new);
    if let Some(old) = old {
        for (k, a) in contributions(old) {
            delta.entry(k).or_default().add(&a, -1);
        }
    }
    delta.into_iter().filter(|(_, a)| !a.is_zero()).collect()
}

// ----- revenue report -----

/// How revenue is grouped in time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Day,
    Week,
    #[default]
    Month,
}

impl Period {
    /// The first day of the period holding `d` (weeks start on Monday, as ISO 8601's do).
    pub fn start(self, d: Date) -> Date {
        match self {
            Period::Day => d,
            Period::Week => {
                let back = i64::from(d.weekday().to_monday_zero_offset());
                d.checked_sub(jiff::Span::new().days(back)).unwrap_or(d)
            }
            Period::Month => d.first_of_month(),
        }
    }
}

/// Most days a revenue report covers (ten years and a leap day or two).
pub const MAX_REVENUE_DAYS: i32 = 3_660;
/// Most days a report by day covers.
pub const MAX_DAILY_DAYS: i32 = 366;

/// Query of `GET /api/reports/revenue`.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RevenueQuery {
    /// First day, the clinic's local date (inclusive).
    pub from: Date,
    /// Last day (inclusive).
    pub to: Date,
    /// `day`, `week` or `month` (default).
    pub by: Option<Period>,
    /// Only the invoices of this location.
    pub location: Option<LocationId>,
}

impl RevenueQuery {
    /// Checks the range: `from` ≤ `to`, at most [`MAX_REVENUE_DAYS`] (by day at most
    /// [`MAX_DAILY_DAYS`]).
    pub fn check(&self) -> Result<Period, ValidationError> {
        let by = self.by.unwrap_or_default();
        if self.to < self.from {
            return Err(ValidationError::new("to", "must not be before from"));
        }
        let days = (self.to - self.from).get_days() + 1;
        let max = if by == Period::Day { MAX_DAILY_DAYS } else { MAX_REVENUE_DAYS };
        if days > max {
            return Err(ValidationError::new(
                "to",
                format!("a report by {by:?} covers at most {max} days").to_lowercase(),
            ));
        }
        Ok(by)
    }
}

/// Amounts of revenue, in cents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct RevenueFigures {
    /// Net of discounts, before tax, of the invoices issued.
    pub sales: Cents,
    /// Net before tax of the credit notes.
    pub credits: Cents,
    /// `sales − credits`: the revenue.
    pub net: Cents,
    /// Tax charged.
    pub tax: Cents,
    /// Tax given back by credit notes.
    pub tax_credited: Cents,
    /// `tax − tax_credited`.
    pub net_tax: Cents,
    pub invoices: i64,
    pub credit_notes: i64,
}

impl RevenueFigures {
    pub fn of(a: &RevenueAmounts) -> Self {
        RevenueFigures {
            sales: Cents::new(a.sales),
            credits: Cents::new(a.credits),
            net: Cents::new(a.sales.saturating_sub(a.credits)),
            tax: Cents::new(a.tax),
            tax_credited: Cents::new(a.tax_credited),
            net_tax: Cents::new(a.tax.saturating_sub(a.tax_credited)),
            invoices: a.invoices,
            credit_notes: a.credit_notes,
        }
    }
}

/// One category's revenue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CategoryRevenue {
    pub category: String,
    pub sales: Cents,
    pub credits: Cents,
    pub net: Cents,
}

/// One period's revenue, with its categories.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PeriodRevenue {
    /// The first day of the period.
    pub start: Date,
    #[serde(flatten)]
    pub figures: RevenueFigures,
    pub categories: Vec<CategoryRevenue>,
}

/// Answer of `GET /api/reports/revenue`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RevenueReport {
    pub from: Date,
    pub to: Date,
    pub by: Period,
    pub location_id: Option<LocationId>,
    /// Periods with any figure, in order.
    pub periods: Vec<PeriodRevenue>,
    /// The whole range per category, by name.
    pub categories: Vec<CategoryRevenue>,
    pub totals: RevenueFigures,
}

fn category_rows(m: BTreeMap<String, RevenueAmounts>) -> Vec<CategoryRevenue> {
    m.into_iter()
        .map(|(category, a)| CategoryRevenue {
            category,
            sales: Cents::new(a.sales),
            credits: Cents::new(a.credits),
            net: Cents::new(a.sales.saturating_sub(a.credits)),
        })
        .collect()
}

/// Builds the report from the rollup's rows of the range (any order; rows of other
/// locations are skipped when `location` is set).
pub fn revenue_report(q: &RevenueQuery, by: Period, rows: impl IntoIterator<Item = RevenueDay>) -> RevenueReport {
    type Acc = (RevenueAmounts, BTreeMap<String, RevenueAmounts>);
    let mut periods: BTreeMap<Date, Acc> = BTreeMap::new();
    let mut total = RevenueAmounts::default();
    let mut cats: BTreeMap<String, RevenueAmounts> = BTreeMap::new();
    for row in rows {
        let k = &row.key;
        if k.date < q.from || k.date > q.to || q.location.is_some_and(|l| Some(l) != k.location_id) {
            continue;
        }
        let p = periods.entry(by.start(k.date)).or_default();
        p.0.add(&row.amounts, 1);
        total.add(&row.amounts, 1);
        if let Some(c) = &k.category {
            p.1.entry(c.clone()).or_default().add(&row.amounts, 1);
            cats.entry(c.clone()).or_default().add(&row.amounts, 1);
        }
    }
    RevenueReport {
        from: q.from,
        to: q.to,
        by,
        location_id: q.location,
        periods: periods
            .into_iter()
            .map(|(start, (a, c))| PeriodRevenue {
                start,
                figures: RevenueFigures::of(&a),
                categories: category_rows(c),
            })
            .collect(),
        categories: category_rows(cats),
        totals: RevenueFigures::of(&total),
    }
}

// ----- AR ageing -----

/// Query of `GET /api/reports/ar-ageing`.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AgeingQuery {
    /// The day balances are aged at (the clinic's local date; default today). Payments and
    /// credit notes after it are not counted.
    pub as_of: Option<Date>,
    /// Only the invoices of this location.
    pub location: Option<LocationId>,
    /// Clients per page, 1–200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Balances by how long they are past due, in cents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct AgeingBuckets {
    /// Not yet past due.
    pub current: Cents,
    pub days_1_30: Cents,
    pub days_31_60: Cents,
    pub days_61_90: Cents,
    pub days_over_90: Cents,
    pub total: Cents,
    /// Invoices with a balance.
    pub invoices: i64,
}

impl AgeingBuckets {
    /// Adds `balance` of an invoice `days_past_due` past its due date (≤ 0: current).
    pub fn add(&mut self, balance: Cents, days_past_due: i32) {
        let bucket = match days_past_due {
            ..=0 => &mut self.current,
            1..=30 => &mut self.days_1_30,
            31..=60 => &mut self.days_31_60,
            61..=90 => &mut self.days_61_90,
            _ => &mut self.days_over_90,
        };
        *bucket = Cents::new(bucket.get().saturating_add(balance.get()));
        self.total = Cents::new(self.total.get().saturating_add(balance.get()));
        self.invoices += 1;
    }
}

/// One client's aged balance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ClientAgeing {
    pub client_id: ClientId,
    pub name: String,
    #[serde(flatten)]
    pub buckets: AgeingBuckets,
    /// The earliest due date among the client's invoices with a balance.
    pub oldest_due_on: Option<Date>,
}

/// Answer of `GET /api/reports/ar-ageing`: totals over every client, the clients a page at a
/// time (in the order they were added).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AgeingReport {
    pub as_of: Date,
    pub location_id: Option<LocationId>,
    pub totals: AgeingBuckets,
    /// Clients who owe anything.
    pub clients_owing: i64,
    pub clients: Vec<ClientAgeing>,
    pub next_cursor: Option<String>,
}

/// What the ageing report needs of an invoice with a balance, kept in table `ar_open` (key:
/// the invoice's id) while the invoice is issued, partially paid or overdue, written in the
/// invoice's change set: a few dozen bytes instead of the invoice with its lines.
///
/// Version history: v1 (`refunds` added with a serde default: a row written before holds
/// none, and its payments' gross amounts, until its invoice next changes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenInvoice {
    pub client_id: ClientId,
    pub location_id: Option<LocationId>,
    pub issued_on: Date,
    pub due_on: Date,
    pub total: Cents,
    /// What is owed now.
    pub balance: Cents,
    /// Credit notes: their date and total.
    pub credits: Vec<(Date, Cents)>,
    /// Payments: when received and the part applied to the invoice (what was kept as the
    /// client's credit on account never paid it).
    pub payments: Vec<(jiff::Timestamp, Cents)>,
    /// Refunds of the invoice part of its payments: when and how much (they take back what
    /// was paid, so the invoice asked for it again from then). Refunds of kept credit are not
    /// here: they never touched the invoice.
    #[serde(default)]
    pub refunds: Vec<(jiff::Timestamp, Cents)>,
}

impl Record for OpenInvoice {
    const KIND: &'static str = "open_invoice";
    const VERSION: u16 = 1;
}

impl OpenInvoice {
    /// The ageing's view of an issued invoice (`None` for a draft or a voided one).
    pub fn of(inv: &Invoice) -> Option<OpenInvoice> {
        if matches!(inv.status, InvoiceStatus::Draft | InvoiceStatus::Void) {
            return None;
        }
        let issued_on = inv.issued_on?;
        Some(OpenInvoice {
            client_id: inv.client_id,
            location_id: inv.location_id,
            issued_on,
            due_on: inv.due_on.unwrap_or(issued_on),
            total: inv.totals.total,
            balance: inv.balance,
            credits: inv.credit_notes.iter().map(|c| (c.date, c.totals.total)).collect(),
            payments: inv.payments.iter().map(|p| (p.received_at, p.applied())).collect(),
            refunds: inv
                .refunds
                .iter()
                .filter(|r| r.of == crate::payments::RefundOf::Invoice)
                .map(|r| (r.refunded_at, r.amount))
                .collect(),
        })
    }

    /// What it still asked for at the end of `as_of`: the total less the credit notes dated
    /// by then and the payments applied by then, plus what was refunded of them by then
    /// (`paid_on` gives a payment's or refund's local date). `None`: not issued by then, or
    /// nothing owed.
    pub fn balance_as_of(&self, as_of: Date, paid_on: impl Fn(jiff::Timestamp) -> Date) -> Option<Cents> {
        if self.issued_on > as_of {
            return None;
        }
        let credited: i64 = self.credits.iter().filter(|c| c.0 <= as_of).map(|c| c.1.get()).sum();
        let paid: i64 = self.payments.iter().filter(|p| paid_on(p.0) <= as_of).map(|p| p.1.get()).sum();
        let refunded: i64 = self.refunds.iter().filter(|r| paid_on(r.0) <= as_of).map(|r| r.1.get()).sum();
        let left = self.total.get() - credited - paid + refunded;
        (left > 0).then(|| Cents::new(left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An invoice of 100.00 issued on Jan 1, due Jan 31, paid `amount` on Jan 2 (the excess
    /// kept as credit), then refunded `refund` of part `of` on Jan 10.
    fn paid_then_refunded(amount: i64, refund: i64, of: crate::payments::RefundOf) -> OpenInvoice {
        use crate::ids::{InvoiceId, PaymentId, RefundId};
        use crate::invoices::{InvoiceDraft, LineDraft};
        use crate::money::{BasisPoints, Quantity};
        use crate::payments::{PaymentDraft, PaymentMethod, RefundDraft};
        let at = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
        let line = LineDraft {
            item_id: None,
            description: "Exam".into(),
            category: None,
            quantity: Quantity::ONE,
            unit_price: Cents::new(10_000),
            taxable: false,
            discount: None,
            source: None,
        };
        let draft = InvoiceDraft {
            client_id: ClientId::from_u128(1),
            patient_id: None,
            visit_id: None,
            location_id: None,
            lines: vec![line],
            discount: None,
            memo: None,
        };
        let mut inv =
            draft.into_invoice(InvoiceId::from_u128(2), BasisPoints::ZERO, at("2026-01-01T12:00:00Z"), None).unwrap();
        inv.status = InvoiceStatus::Issued;
        inv.issued_on = Some(d("2026-01-01"));
        inv.due_on = Some(d("2026-01-31"));
        let pay = PaymentDraft {
            amount: Cents::new(amount),
            method: PaymentMethod::Cash,
            reference: None,
            processor: None,
            processor_payment_id: None,
        };
        inv.pay_keeping_credit(PaymentId::from_u128(3), pay, true, at("2026-01-02T12:00:00Z"), None).unwrap();
        assert_eq!(inv.status, InvoiceStatus::Paid);
        let refund = RefundDraft {
            payment_id: PaymentId::from_u128(3),
            amount: Cents::new(refund),
            method: None,
            of,
            reason: "r".into(),
            reference: None,
            processor: None,
            processor_refund_id: None,
        };
        let now = at("2026-01-10T12:00:00Z");
        inv.refund(RefundId::from_u128(4), refund, Some(Cents::new(amount)), d("2026-01-10"), now, None).unwrap();
        OpenInvoice::of(&inv).unwrap()
    }

    #[test]
    fn a_past_day_balance_adds_back_refunds_and_leaves_out_kept_credit() {
        use crate::payments::RefundOf;
        let utc = |t: jiff::Timestamp| t.to_zoned(jiff::tz::TimeZone::UTC).date();
        // Paid Jan 2, refunded Jan 10: nothing owed between, owed again from Jan 10.
        let reopened = paid_then_refunded(10_000, 10_000, RefundOf::Invoice);
        assert_eq!(reopened.balance.get(), 10_000);
        assert_eq!(reopened.balance_as_of(d("2026-01-05"), utc), None);
        assert_eq!(reopened.balance_as_of(d("2026-01-10"), utc), Some(Cents::new(10_000)));
        assert_eq!(reopened.balance_as_of(d("2026-01-15"), utc), Some(Cents::new(10_000)));
        // Overpaid 150 (50 kept as credit), the invoice part refunded: owed 100 again, not -50.
        let overpaid = paid_then_refunded(15_000, 10_000, RefundOf::Invoice);
        assert_eq!(overpaid.payments[0].1.get(), 10_000, "only the applied part paid the invoice");
        assert_eq!(overpaid.balance_as_of(d("2026-01-05"), utc), None);
        assert_eq!(overpaid.balance_as_of(d("2026-01-15"), utc), Some(Cents::new(10_000)));
        // The kept credit refunded: the invoice stays paid on every day.
        let credit_back = paid_then_refunded(15_000, 5_000, RefundOf::Credit);
        assert!(credit_back.refunds.is_empty());
        assert_eq!(credit_back.balance_as_of(d("2026-01-15"), utc), None);
        // Part of the invoice part refunded after an overpayment: 30 owed from Jan 10.
        let part = paid_then_refunded(15_000, 3_000, RefundOf::Invoice);
        assert_eq!(part.balance_as_of(d("2026-01-15"), utc), Some(Cents::new(3_000)));
    }

    #[test]
    fn a_view_written_before_refunds_were_kept_still_reads() {
        let old = serde_json::json!({
            "client_id": ClientId::from_u128(1), "location_id": null, "issued_on": "2026-01-01",
            "due_on": "2026-01-31", "total": 100, "balance": 100, "credits": [], "payments": []
        });
        let v: OpenInvoice = serde_json::from_value(old).unwrap();
        assert!(v.refunds.is_empty());
    }

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn buckets_follow_days_past_due() {
        let mut b = AgeingBuckets::default();
        for (days, cents) in
            [(-3, 1), (0, 2), (1, 10), (30, 20), (31, 100), (60, 200), (61, 1000), (90, 2000), (91, 10000)]
        {
            b.add(Cents::new(cents), days);
        }
        assert_eq!(b.current.get(), 3);
        assert_eq!(b.days_1_30.get(), 30);
        assert_eq!(b.days_31_60.get(), 300);
        assert_eq!(b.days_61_90.get(), 3000);
        assert_eq!(b.days_over_90.get(), 10000);
        assert_eq!(b.total.get(), 13333);
        assert_eq!(b.invoices, 9);
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        // 2026-03-05 is a Thursday.
        assert_eq!(Period::Week.start(d("2026-03-05")), d("2026-03-02"));
        assert_eq!(Period::Week.start(d("2026-03-02")), d("2026-03-02"));
        assert_eq!(Period::Week.start(d("2026-03-01")), d("2026-02-23"));
        assert_eq!(Period::Month.start(d("2026-03-31")), d("2026-03-01"));
        assert_eq!(Period::Day.start(d("2026-03-31")), d("2026-03-31"));
    }

    #[test]
    fn the_range_is_checked() {
        let q = |from: &str, to: &str, by| RevenueQuery { from: d(from), to: d(to), by, location: None };
        assert!(q("2026-01-02", "2026-01-01", None).check().is_err());
        assert!(q("2025-01-01", "2026-01-02", Some(Period::Day)).check().is_err());
        assert_eq!(q("2021-01-01", "2025-12-31", None).check().unwrap(), Period::Month);
        assert!(q("2010-01-01", "2025-12-31", Some(Period::Week)).check().is_err());
    }

    #[test]
    fn a_half_cent_share_rounds_up() {
        assert_eq!(share(500, 1800, 8300), 108);
        assert_eq!(share(1, 1, 2), 1);
        assert_eq!(share(5, 0, 0), 0);
    }
}
