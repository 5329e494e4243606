//! The billing screens: `/invoices` (the list with its filters), `/invoices/{id}` (the
//! invoice builder at checkout: a draft's lines from the visit, discounts, tax and totals; an
//! issued invoice's payments, credit notes, void and receipts) and `/clients/{id}/account`
//! (what a client owes, their credit, invoices, payments, refunds and payment plans). Every
//! amount shown is one the server computed, formatted here; every label (a status's wording,
//! which actions an invoice allows and the caller may take) is decided here, once.
//! `billing.js` posts the builder's forms to the JSON API and swaps in the fragment
//! `invoice_body.html` the page answers to `HX-Request`.

use askama::Template;
use clowder_schemas::capture::UnchargedEntry;
use clowder_schemas::invoices::{Invoice, InvoiceLine, InvoiceStatus};
use clowder_schemas::loyalty::LoyaltySettings;
use clowder_schemas::money::{BasisPoints, Cents, Discount};
use clowder_schemas::payment_plans::{PaymentPlan, PlanStatus};
use clowder_schemas::payments::{PaymentMethod, RefundOf};
use jiff::civil::Date;
use jiff::tz::TimeZone;

use super::Nav;

/// An invoice status's wording.
pub fn status_label(s: InvoiceStatus) -> &'static str {
    match s {
        InvoiceStatus::Draft => "Draft",
        InvoiceStatus::Issued => "Issued",
        InvoiceStatus::PartiallyPaid => "Partly paid",
        InvoiceStatus::Paid => "Paid",
        InvoiceStatus::Overdue => "Overdue",
        InvoiceStatus::Void => "Void",
    }
}

/// A payment method's wording.
pub fn method_label(m: PaymentMethod) -> &'static str {
    match m {
        PaymentMethod::Cash => "Cash",
        PaymentMethod::CardPresent => "Card",
        PaymentMethod::CardOnline => "Card online",
        PaymentMethod::Check => "Check",
        PaymentMethod::BankTransfer => "Bank transfer",
        PaymentMethod::Other => "Other",
        PaymentMethod::AccountCredit => "Credit on account",
    }
}

/// The methods a payment may be taken in at the desk (value, label): not credit on account,
/// which is applied, never typed.
pub const METHODS: [(&str, &str); 6] = [
    ("cash", "Cash"),
    ("card_present", "Card"),
    ("card_online", "Card online"),
    ("check", "Check"),
    ("bank_transfer", "Bank transfer"),
    ("other", "Other"),
];

/// The status filter of the list (value, label); the first is no filter.
pub const STATUSES: [(&str, &str); 7] = [
    ("", "Any status"),
    ("draft", "Draft"),
    ("issued", "Issued"),
    ("partially_paid", "Partly paid"),
    ("paid", "Paid"),
    ("overdue", "Overdue"),
    ("void", "Void"),
];

/// `12.34` (amounts are shown without a currency sign, as on the receipts).
pub fn money(c: Cents) -> String {
    c.to_string()
}

/// A rate as people write it: `8.25 %`, `10 %`.
pub fn percent(bp: BasisPoints) -> String {
    let bp = bp.get();
    let (whole, frac) = (bp / 100, bp % 100);
    if frac == 0 { format!("{whole} %") } else { format!("{whole}.{} %", format!("{frac:02}").trim_end_matches('0')) }
}

/// A discount in words (`10 %`, `5.00 off`).
pub fn discount_label(d: &Discount) -> String {
    match d {
        Discount::Percent { basis_points } => percent(*basis_points),
        Discount::Amount { amount } => format!("{} off", money(*amount)),
    }
}

/// A discount as its form's fields: the kind (`percent`, `amount` or ``) and the value as
/// typed (`12.5` per cent, `5.00` in money).
pub fn discount_fields(d: Option<&Discount>) -> (&'static str, String) {
    match d {
        None => ("", String::new()),
        Some(Discount::Percent { basis_points }) => {
            ("percent", percent(*basis_points).trim_end_matches(" %").to_owned())
        }
        Some(Discount::Amount { amount }) => ("amount", money(*amount)),
    }
}

fn day(t: jiff::Timestamp, tz: &TimeZone) -> String {
    t.to_zoned(tz.clone()).date().to_string()
}

// ---- the list ----

/// An invoice in a list.
#[derive(Debug, Clone)]
pub struct InvoiceRow {
    pub href: String,
    /// The number, or "Draft" before issue.
    pub number: String,
    pub client: String,
    pub cat: String,
    pub date: String,
    pub total: String,
    pub balance: String,
    pub status: &'static str,
    pub status_label: &'static str,
}

impl InvoiceRow {
    /// `client` and `cat` are the names shown (empty when unknown); `date` the day the list
    /// files it under.
    pub fn of(i: &Invoice, client: String, cat: String, date: Date) -> Self {
        InvoiceRow {
            href: format!("/invoices/{}", i.id),
            number: i.number.clone().unwrap_or_else(|| "Draft".to_owned()),
            client,
            cat,
            date: date.to_string(),
            total: money(i.totals.total),
            // A draft owes nothing yet, and a void invoice nothing any more.
            balance: if i.status.is_open() || i.status == InvoiceStatus::Paid {
                money(i.balance)
            } else {
                String::new()
            },
            status: i.status.as_str(),
            status_label: status_label(i.status),
        }
    }
}

/// The list's filter, as typed (echoed into the form).
#[derive(Debug, Clone, Default)]
pub struct InvoiceForm {
    pub status: String,
    /// The client's id, and their name to show beside it.
    pub client: String,
    pub client_name: String,
    pub from: String,
    pub to: String,
}

impl InvoiceForm {
    /// The list's address with this filter (and a cursor).
    pub fn href(&self, cursor: Option<&str>) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [("status", &self.status), ("client", &self.client), ("from", &self.from), ("to", &self.to)] {
            if !v.is_empty() {
                q.append_pair(k, v);
            }
        }
        if let Some(c) = cursor {
            q.append_pair("cursor", c);
        }
        let q = q.finish();
        if q.is_empty() { "/invoices".to_owned() } else { format!("/invoices?{q}") }
    }
}

/// The rows of the list and its page links.
#[derive(Debug, Clone, Default)]
pub struct InvoiceRows {
    pub rows: Vec<InvoiceRow>,
    pub first_href: Option<String>,
    pub next_href: Option<String>,
}

/// The rows alone, answered to `HX-Request`.
#[derive(Template)]
#[template(path = "invoice_rows.html")]
pub struct InvoiceResults {
    pub results: InvoiceRows,
}

/// `/invoices`.
#[derive(Template)]
#[template(path = "invoices.html")]
pub struct InvoicesPage {
    pub nav: Nav,
    pub form: InvoiceForm,
    pub statuses: &'static [(&'static str, &'static str)],
    pub results: InvoiceRows,
    /// Why the filter was refused (the form is shown as typed), if it was.
    pub refused: Option<String>,
    /// Link to the loyalty programme's settings (for who may open them).
    pub loyalty: bool,
}

// ---- the builder ----

/// A line of the invoice, with what the edit form needs to send it back unchanged.
#[derive(Debug, Clone)]
pub struct LineRow {
    pub line_no: u32,
    pub description: String,
    pub quantity: String,
    pub unit_price: String,
    /// In cents, for the edit form (which sends every line back).
    pub unit_price_cents: i64,
    pub item_id: String,
    pub taxable: bool,
    pub discount: String,
    pub discount_kind: &'static str,
    pub discount_value: String,
    pub gross: String,
    pub net: String,
    /// Added by charge capture (not typed at the desk).
    pub captured: bool,
}

impl LineRow {
    pub fn of(l: &InvoiceLine) -> Self {
        let (discount_kind, discount_value) = discount_fields(l.discount.as_ref());
        LineRow {
            line_no: l.line_no,
            description: l.description.clone(),
            quantity: l.quantity.to_string(),
            unit_price: money(l.unit_price),
            unit_price_cents: l.unit_price.get(),
            item_id: l.item_id.map(|i| i.to_string()).unwrap_or_default(),
            taxable: l.taxable,
            discount: l.discount.as_ref().map(discount_label).unwrap_or_default(),
            discount_kind,
            discount_value,
            gross: money(l.amounts.gross),
            net: money(l.amounts.net),
            captured: l.source.is_some(),
        }
    }
}

/// Something done during the visit that no catalogue item charged.
#[derive(Debug, Clone)]
pub struct UnchargedRow {
    pub source: String,
    pub description: String,
    pub quantity: String,
    pub reason: String,
    /// "Resolved on …" once dealt with.
    pub resolved: Option<String>,
}

impl UnchargedRow {
    pub fn of(u: &UnchargedEntry, tz: &TimeZone) -> Self {
        UnchargedRow {
            source: u.source.clone(),
            description: u.description.clone(),
            quantity: u.quantity.to_string(),
            reason: u.reason.clone(),
            resolved: u.resolved_at.map(|t| format!("Resolved on {}", day(t, tz))),
        }
    }
}

/// A payment or a refund.
#[derive(Debug, Clone)]
pub struct MoneyRow {
    /// The payment's id (its receipt's address); empty for a refund.
    pub payment_id: String,
    pub kind: &'static str,
    pub date: String,
    pub method: &'static str,
    pub reference: String,
    pub amount: String,
    /// The part of a payment kept as credit on account, if any.
    pub to_credit: String,
    pub receipt_href: String,
    /// The invoice it belongs to (on the account page).
    pub invoice: String,
    pub invoice_href: String,
}

/// The money that moved on an invoice, payments and refunds, oldest first.
pub fn money_rows(i: &Invoice, tz: &TimeZone) -> Vec<MoneyRow> {
    let number = i.number.clone().unwrap_or_default();
    let href = format!("/invoices/{}", i.id);
    let mut rows: Vec<(jiff::Timestamp, MoneyRow)> = i
        .payments
        .iter()
        .map(|p| {
            (
                p.received_at,
                MoneyRow {
                    payment_id: p.id.to_string(),
                    kind: "Payment",
                    date: day(p.received_at, tz),
                    method: method_label(p.method),
                    reference: p.reference.clone().unwrap_or_default(),
                    amount: money(p.amount),
                    to_credit: if p.to_credit.is_positive() { money(p.to_credit) } else { String::new() },
                    receipt_href: format!("/api/payments/{}/receipt.pdf", p.id),
                    invoice: number.clone(),
                    invoice_href: href.clone(),
                },
            )
        })
        .collect();
    rows.extend(i.refunds.iter().map(|r| {
        (
            r.refunded_at,
            MoneyRow {
                payment_id: String::new(),
                kind: match r.of {
                    RefundOf::Invoice => "Refund",
                    RefundOf::Credit => "Refund of credit",
                },
                date: day(r.refunded_at, tz),
                method: method_label(r.method),
                reference: r.reason.clone(),
                amount: money(r.amount),
                to_credit: String::new(),
                receipt_href: String::new(),
                invoice: number.clone(),
                invoice_href: href.clone(),
            },
        )
    }));
    rows.sort_by_key(|(t, _)| *t);
    rows.into_iter().map(|(_, r)| r).collect()
}

/// A credit note of an issued invoice.
#[derive(Debug, Clone)]
pub struct CreditRow {
    pub number: String,
    pub date: String,
    pub reason: String,
    pub total: String,
}

/// What the caller may do with this invoice now: each both allowed by its status and by the
/// route's access rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InvoiceActions {
    /// Change lines, discounts; resolve uncharged entries (a draft, `invoices:edit`).
    pub edit: bool,
    /// Issue (a draft with a line, `invoices:edit`).
    pub issue: bool,
    /// Take a payment (open, `payments:create`).
    pub pay: bool,
    /// Credit note (open, `invoices:edit`).
    pub credit: bool,
    /// Void (a draft, or open with nothing paid or credited; `invoices:delete`).
    pub void: bool,
    /// Print a receipt (`payments:view`).
    pub print: bool,
    /// Email a receipt (`payments:create`).
    pub email: bool,
    /// Link to agreeing a payment plan for the balance (open with a balance; the new-plan page).
    pub plan: bool,
    /// Apply credit on account (open with a balance, `payments:create`); the form shows when
    /// the client has credit (`InvoiceBody::credit`).
    pub apply_credit: bool,
    /// Refund a payment (issued with a payment not wholly refunded, `payments:edit`).
    pub refund: bool,
    /// Redeem loyalty points (a draft, `invoices:edit`); the form shows when the programme is
    /// on and the caller may read the client's points (`InvoiceBody::points`).
    pub redeem: bool,
}

/// What the caller's grants allow, by route: edit, issue, pay, credit, void, print, email,
/// plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Grants {
    pub edit: bool,
    pub pay: bool,
    pub void: bool,
    pub print: bool,
    pub email: bool,
    pub plan: bool,
    pub apply_credit: bool,
    pub refund: bool,
    pub redeem: bool,
}

impl InvoiceActions {
    /// The actions `i`'s status allows, narrowed to what the caller may do.
    pub fn of(i: &Invoice, may: Grants) -> Self {
        let draft = i.status == InvoiceStatus::Draft;
        let open = i.status.is_open();
        let untouched = i.payments.is_empty() && i.credit_notes.is_empty();
        InvoiceActions {
            edit: draft && may.edit,
            issue: draft && !i.lines.is_empty() && may.edit,
            pay: open && i.balance.is_positive() && may.pay,
            credit: open && i.balance.is_positive() && may.edit,
            void: (draft || (open && untouched)) && may.void,
            print: may.print,
            email: may.email,
            plan: open && i.balance.is_positive() && may.plan,
            apply_credit: open && i.balance.is_positive() && may.apply_credit,
            refund: !refundable(i).is_empty() && may.refund,
            redeem: draft && may.redeem,
        }
    }
}

/// A part of a payment with money still to give back (`Invoice::refundable`): what it paid on
/// the invoice, or what of it is the client's credit on account (an overpayment kept as
/// credit, or credit applied and then given back to the account by a refund of the invoice
/// part). Each is its own choice, so the desk picks which money goes back.
#[derive(Debug, Clone)]
pub struct RefundChoice {
    /// The option's value: the payment's id, then `|credit` for the credit part.
    pub value: String,
    /// "2026-03-02 · Card · 80.00", and " · kept as credit" for the credit part.
    pub label: String,
    pub left: String,
    /// The credit part (`of: "credit"`), which can never give back more than the client's
    /// credit holds now.
    credit_part: bool,
    left_cents: Cents,
}

fn refundable(i: &Invoice) -> Vec<(&clowder_schemas::payments::Payment, RefundOf, Cents)> {
    i.payments
        .iter()
        .flat_map(|p| [RefundOf::Invoice, RefundOf::Credit].map(|of| (p, of)))
        .filter_map(|(p, of)| i.refundable(p.id, of).filter(|c| c.is_positive()).map(|c| (p, of, c)))
        .collect()
}

/// The client's credit on account, for the apply-credit form.
#[derive(Debug, Clone)]
pub struct CreditBox {
    pub credit: String,
    /// The most that can be applied: the lesser of the credit and the balance.
    pub max: String,
}

/// The client's loyalty points, for the redeem form of a draft.
#[derive(Debug, Clone)]
pub struct PointsBox {
    pub available: i64,
    /// What `available` is worth (whole steps).
    pub value: String,
    /// "100 points = 1.00; at least 100".
    pub rule: String,
    /// What this draft redeems now (0: nothing) and its value.
    pub redeemed_points: i64,
    pub redeemed_value: String,
}

impl PointsBox {
    pub fn of(account: &clowder_schemas::loyalty::LoyaltyAccount, settings: &LoyaltySettings, i: &Invoice) -> Self {
        PointsBox {
            available: account.available,
            value: money(account.available_value),
            rule: format!(
                "{} points = {}; at least {}",
                settings.redeem_points,
                money(settings.redeem_cents),
                settings.min_redeem
            ),
            redeemed_points: i.loyalty.as_ref().map_or(0, |l| l.points),
            redeemed_value: i.loyalty.as_ref().map(|l| money(l.value)).unwrap_or_default(),
        }
    }
}

/// The parts of the builder that change with each action.
#[derive(Debug, Clone)]
pub struct InvoiceBody {
    pub id: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub number: String,
    pub issued_on: String,
    pub due_on: String,
    pub void_reason: String,
    pub lines: Vec<LineRow>,
    pub uncharged: Vec<UnchargedRow>,
    pub subtotal: String,
    pub discount: String,
    pub invoice_discount: String,
    pub invoice_discount_kind: &'static str,
    pub invoice_discount_value: String,
    pub taxable: String,
    pub tax_rate: String,
    pub tax: String,
    pub total: String,
    pub credited: String,
    pub paid: String,
    pub refunded: String,
    pub balance: String,
    /// The balance as a plain number, the payment form's most.
    pub balance_max: String,
    pub credit_notes: Vec<CreditRow>,
    pub payments: Vec<MoneyRow>,
    pub actions: InvoiceActions,
    pub methods: &'static [(&'static str, &'static str)],
    /// Whether anything was issued (the lower half: money, credit notes).
    pub issued: bool,
    /// Payments that can still be refunded (with `actions.refund`).
    pub refundable: Vec<RefundChoice>,
    /// The client's credit, when `actions.apply_credit` and they have some.
    pub credit: Option<CreditBox>,
    /// The client's points, when `actions.redeem` and the programme is on.
    pub points: Option<PointsBox>,
}

impl InvoiceBody {
    pub fn new(i: &Invoice, actions: InvoiceActions, tz: &TimeZone) -> Self {
        let (invoice_discount_kind, invoice_discount_value) = discount_fields(i.discount.as_ref());
        InvoiceBody {
            id: i.id.to_string(),
            status: i.status.as_str(),
            status_label: status_label(i.status),
            number: i.number.clone().unwrap_or_else(|| "Draft invoice".to_owned()),
            issued_on: i.issued_on.map(|d| d.to_string()).unwrap_or_default(),
            due_on: i.due_on.map(|d| d.to_string()).unwrap_or_default(),
            void_reason: i.void_reason.clone().unwrap_or_default(),
            lines: i.lines.iter().map(LineRow::of).collect(),
            uncharged: i.uncharged.iter().map(|u| UnchargedRow::of(u, tz)).collect(),
            subtotal: money(i.totals.subtotal),
            discount: money(i.totals.discount),
            invoice_discount: i.discount.as_ref().map(discount_label).unwrap_or_default(),
            invoice_discount_kind,
            invoice_discount_value,
            taxable: money(i.totals.taxable),
            tax_rate: percent(i.tax_rate),
            tax: money(i.totals.tax),
            total: money(i.totals.total),
            credited: money(i.credited),
            paid: money(i.paid),
            refunded: money(i.refunded),
            balance: money(i.balance),
            balance_max: money(i.balance),
            credit_notes: i
                .credit_notes
                .iter()
                .map(|c| CreditRow {
                    number: c.number.clone().unwrap_or_default(),
                    date: c.date.to_string(),
                    reason: c.reason.clone(),
                    total: money(c.totals.total),
                })
                .collect(),
            payments: money_rows(i, tz),
            actions,
            methods: &METHODS,
            issued: i.issued_on.is_some(),
            refundable: if actions.refund {
                refundable(i)
                    .into_iter()
                    .map(|(p, of, left)| {
                        let label =
                            format!("{} · {} · {}", day(p.received_at, tz), method_label(p.method), money(p.applied()));
                        let credit_part = of == RefundOf::Credit;
                        RefundChoice {
                            value: if credit_part { format!("{}|credit", p.id) } else { p.id.to_string() },
                            label: if credit_part { format!("{label} · kept as credit") } else { label },
                            left: money(left),
                            credit_part,
                            left_cents: left,
                        }
                    })
                    .collect()
            } else {
                Vec::new()
            },
            credit: None,
            points: None,
        }
    }

    /// Whether a payment's credit part is among the refund choices (the page then reads the
    /// client's credit, to offer no more than it holds).
    pub fn refunds_credit(&self) -> bool {
        self.refundable.iter().any(|r| r.credit_part)
    }

    /// Offers each credit part for at most the client's `credit` now (credit spent on other
    /// invoices since cannot be paid out), and not at all when none is left; the refund box
    /// goes when nothing is left to choose.
    pub fn with_refundable_credit(mut self, credit: Cents) -> Self {
        self.refundable.retain_mut(|r| {
            if r.credit_part && credit.get() < r.left_cents.get() {
                r.left_cents = credit;
                r.left = money(credit);
            }
            !r.credit_part || r.left_cents.is_positive()
        });
        self.actions.refund &= !self.refundable.is_empty();
        self
    }

    /// Shows the apply-credit form for a client's `credit` (when there is some to apply).
    pub fn with_credit(mut self, credit: Cents, balance: Cents) -> Self {
        if self.actions.apply_credit && credit.is_positive() {
            let max = if credit.get() < balance.get() { credit } else { balance };
            self.credit = Some(CreditBox { credit: money(credit), max: money(max) });
        }
        self
    }
}

/// The builder's changing part alone, answered to `HX-Request` (`billing.js` swaps it in
/// after each action).
#[derive(Template)]
#[template(path = "invoice_body.html")]
pub struct InvoiceFragment {
    pub body: InvoiceBody,
}

/// `/invoices/{id}`: the invoice builder.
#[derive(Template)]
#[template(path = "invoice.html")]
pub struct InvoicePage {
    pub nav: Nav,
    pub client: String,
    /// The client's account page, when the caller may open it.
    pub account_href: Option<String>,
    pub cat: String,
    pub cat_href: Option<String>,
    pub visit_href: Option<String>,
    pub body: InvoiceBody,
}

// ---- the account ----

/// A payment plan on the account page.
#[derive(Debug, Clone)]
pub struct PlanRow {
    pub invoice: String,
    pub invoice_href: String,
    pub status: &'static str,
    pub total: String,
    pub paid: String,
    /// "12.50 on 2026-08-01", or empty when nothing is left to pay.
    pub next: String,
    /// Instalments marked late.
    pub late: usize,
}

impl PlanRow {
    pub fn of(p: &PaymentPlan, invoice: &str) -> Self {
        PlanRow {
            invoice: invoice.to_owned(),
            invoice_href: format!("/invoices/{}", p.invoice_id),
            status: match p.status {
                PlanStatus::Active => "Active",
                PlanStatus::Completed => "Completed",
                PlanStatus::Cancelled => "Cancelled",
            },
            total: money(p.total),
            paid: money(p.paid),
            next: p
                .schedule
                .iter()
                .find(|i| i.paid < i.amount)
                .filter(|_| p.status == PlanStatus::Active)
                .map(|i| {
                    let left = i.amount.checked_sub(i.paid).unwrap_or(i.amount);
                    format!("{} on {}", money(left), i.due_on)
                })
                .unwrap_or_default(),
            late: p.schedule.iter().filter(|i| i.late).count(),
        }
    }
}

/// `/clients/{id}/account`.
#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub nav: Nav,
    pub name: String,
    pub client_href: String,
    /// What the client owes (open invoices' balances), of which overdue, and how many.
    pub owed: String,
    pub overdue: String,
    pub has_overdue: bool,
    pub open_count: u32,
    /// Credit on account (kept overpayments, less what was applied or refunded).
    pub credit: String,
    pub has_credit: bool,
    /// Every open invoice, however old.
    pub open: Vec<InvoiceRow>,
    /// A page of the client's invoices, newest first.
    pub recent: Vec<InvoiceRow>,
    /// The next page of older invoices, when there is one.
    pub older_href: Option<String>,
    /// Back to the newest invoices, from a later page.
    pub newest_href: Option<String>,
    /// `None` when the caller may not see payments.
    pub payments: Option<Vec<MoneyRow>>,
    pub plans: Option<Vec<PlanRow>>,
    pub statement_href: String,
    pub invoices_href: String,
    /// The client's estimates (`None` when the caller may not open the estimates list).
    pub estimates_href: Option<String>,
}
