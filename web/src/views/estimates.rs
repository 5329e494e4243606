//! The estimate and payment-plan screens: `/estimates` (the list, by status and client),
//! `/estimates/new` (a draft for a cat, or a visit's cat), `/estimates/{id}` (a draft's editor:
//! options of low–high lines, optional lines, option discounts, and Send; a sent estimate's
//! Viewed, Accept an option and Decline), `/payment-plans/new?invoice_id=` and
//! `/payment-plans/{id}` (terms, schedule, progress, revisions, Modify and Cancel). Every
//! amount shown is what the server computed (`schemas::money`); every label and whether an
//! action is offered is decided here; `estimates.js` posts the forms to the JSON API and
//! swaps in the fragment the server renders again.

use askama::Template;
use clowder_schemas::estimates::{Estimate, EstimateLine, EstimateOption, EstimateStatus};
use clowder_schemas::money::{Cents, Discount};
use clowder_schemas::payment_plans::{Instalment, Interval, PaymentPlan, PlanStatus};

use super::Nav;

/// A status's wording.
pub fn estimate_status(s: EstimateStatus) -> &'static str {
    match s {
        EstimateStatus::Draft => "Draft",
        EstimateStatus::Sent => "Sent",
        EstimateStatus::Viewed => "Viewed",
        EstimateStatus::Accepted => "Accepted",
        EstimateStatus::Declined => "Declined",
        EstimateStatus::Expired => "Expired",
    }
}

/// The list's status filter: value and label (the first is every status).
pub const STATUSES: &[(&str, &str)] = &[
    ("", "Any status"),
    ("draft", "Draft"),
    ("sent", "Sent"),
    ("viewed", "Viewed"),
    ("accepted", "Accepted"),
    ("declined", "Declined"),
    ("expired", "Expired"),
];

/// A discount in words: `10 %` or `5.00`.
pub fn discount_text(d: Option<Discount>) -> String {
    match d {
        None => String::new(),
        Some(Discount::Percent { basis_points }) => {
            let bp = basis_points.get();
            if bp % 100 == 0 { format!("{} %", bp / 100) } else { format!("{}.{:02} %", bp / 100, bp % 100) }
        }
        Some(Discount::Amount { amount }) => amount.to_string(),
    }
}

/// `low – high`, or one number when both ends agree.
fn range(low: String, high: String) -> String {
    if low == high { low } else { format!("{low} – {high}") }
}

/// A row of the list.
#[derive(Debug, Clone)]
pub struct EstimateRow {
    pub href: String,
    pub number: String,
    pub client: String,
    pub cat: String,
    pub status: &'static str,
    pub status_key: &'static str,
    /// The lowest option's low total to the highest option's high total.
    pub range: String,
    pub created: String,
}

impl EstimateRow {
    pub fn of(e: &Estimate, client: String, cat: String, tz: &jiff::tz::TimeZone) -> Self {
        let low = e.options.iter().map(|o| o.low.total).min().unwrap_or(Cents::ZERO);
        let high = e.options.iter().map(|o| o.high.total).max().unwrap_or(Cents::ZERO);
        EstimateRow {
            href: format!("/estimates/{}", e.id),
            number: e.number.clone().unwrap_or_else(|| "(draft)".to_owned()),
            client,
            cat,
            status: estimate_status(e.status),
            status_key: e.status.as_str(),
            range: range(low.to_string(), high.to_string()),
            created: e.created_at.to_zoned(tz.clone()).date().to_string(),
        }
    }
}

/// The results part of `/estimates` (answered alone to `HX-Request`, as
/// [`EstimatesFragment`]).
#[derive(Debug, Clone)]
pub struct EstimatesResults {
    pub rows: Vec<EstimateRow>,
    /// The next page's address.
    pub next: Option<String>,
    /// The first page's address, when this is not it.
    pub first: Option<String>,
}

/// The results of `/estimates` alone.
#[derive(Template)]
#[template(source = "{% include \"estimates_results.html\" %}", ext = "html")]
pub struct EstimatesFragment {
    pub results: EstimatesResults,
}

/// `/estimates`.
#[derive(Template)]
#[template(path = "estimates.html")]
pub struct EstimatesPage {
    pub nav: Nav,
    pub status: String,
    pub client_id: String,
    /// The client the list is narrowed to, by name.
    pub client_name: Option<String>,
    pub results: EstimatesResults,
}

impl EstimatesPage {
    pub fn statuses(&self) -> &'static [(&'static str, &'static str)] {
        STATUSES
    }
}

/// `/estimates/new`: a draft for a cat (and the visit, when started from one).
#[derive(Template)]
#[template(path = "estimate_new.html")]
pub struct NewEstimatePage {
    pub nav: Nav,
    pub client_id: String,
    pub client: String,
    pub patient_id: String,
    pub cat: String,
    pub visit_id: String,
    /// The clinic's locations (id, name); the first is chosen.
    pub locations: Vec<(String, String)>,
}

/// A line as the editor shows it.
#[derive(Debug, Clone)]
pub struct LineView {
    pub line_no: u32,
    pub description: String,
    pub category: String,
    pub quantity: String,
    pub unit_price: String,
    pub discount: String,
    pub optional: bool,
    pub taxable: bool,
    pub low: String,
    pub high: String,
    /// The editable values as the edit form shows them (`1.5`, `12.34`): quantity low and
    /// high, unit price low and high.
    pub inputs: [String; 4],
    /// The discount's kind (`percent`, `amount` or empty) and value (`10`, `5.00`) for the
    /// edit form.
    pub discount_kind: &'static str,
    pub discount_value: String,
}

impl LineView {
    fn of(l: &EstimateLine) -> Self {
        let (discount_kind, discount_value) = super::billing::discount_fields(l.discount.as_ref());
        LineView {
            line_no: l.line_no,
            description: l.description.clone(),
            category: l.category.clone().unwrap_or_default(),
            quantity: range(l.quantity_low.to_string(), l.quantity_high.to_string()),
            unit_price: range(l.unit_price_low.to_string(), l.unit_price_high.to_string()),
            discount: discount_text(l.discount),
            optional: l.optional,
            taxable: l.taxable,
            low: if l.optional { "optional".to_owned() } else { l.low.net.to_string() },
            high: l.high.net.to_string(),
            inputs: [
                l.quantity_low.to_string(),
                l.quantity_high.to_string(),
                l.unit_price_low.to_string(),
                l.unit_price_high.to_string(),
            ],
            discount_kind,
            discount_value,
        }
    }
}

/// An option's totals at both ends, as the server computed them.
#[derive(Debug, Clone)]
pub struct OptionView {
    pub option_no: u32,
    pub name: String,
    pub lines: Vec<LineView>,
    pub discount: String,
    pub subtotal: (String, String),
    pub discounts: (String, String),
    pub tax: (String, String),
    pub total: (String, String),
    /// This option was accepted.
    pub accepted: bool,
}

impl OptionView {
    fn of(o: &EstimateOption, accepted: bool) -> Self {
        let pair = |a: Cents, b: Cents| (a.to_string(), b.to_string());
        OptionView {
            option_no: o.option_no,
            name: o.name.clone(),
            lines: o.lines.iter().map(LineView::of).collect(),
            discount: discount_text(o.discount),
            subtotal: pair(o.low.subtotal, o.high.subtotal),
            discounts: pair(o.low.discount, o.high.discount),
            tax: pair(o.low.tax, o.high.tax),
            total: pair(o.low.total, o.high.total),
            accepted,
        }
    }

    /// The optional lines (what an acceptance may take too).
    pub fn optional_lines(&self) -> Vec<&LineView> {
        self.lines.iter().filter(|l| l.optional).collect()
    }
}

/// What the caller may do to this estimate now (its status and the caller's permissions).
#[derive(Debug, Clone, Copy, Default)]
pub struct EstimateActions {
    /// A draft, and `PATCH /api/estimates/{id}` is granted.
    pub edit: bool,
    /// A draft with a line, and send is granted.
    pub send: bool,
    /// Sent (not yet viewed), and viewed is granted.
    pub viewed: bool,
    /// Sent or viewed, and accept is granted.
    pub accept: bool,
    /// Sent or viewed, and decline is granted.
    pub decline: bool,
}

impl EstimateActions {
    /// `may(route)` says whether the POST or PATCH route would answer the caller.
    pub fn of(e: &Estimate, may: impl Fn(&str) -> bool) -> Self {
        let draft = e.status == EstimateStatus::Draft;
        let open = e.status.is_open();
        EstimateActions {
            edit: draft && may("PATCH /api/estimates/{id}"),
            send: draft && e.options.iter().any(|o| !o.lines.is_empty()) && may("POST /api/estimates/{id}/send"),
            viewed: e.status == EstimateStatus::Sent && may("POST /api/estimates/{id}/viewed"),
            accept: open && may("POST /api/estimates/{id}/accept"),
            decline: open && may("POST /api/estimates/{id}/decline"),
        }
    }
}

/// The body of `/estimates/{id}` (answered alone to `HX-Request`, after each action, as
/// [`EstimateFragment`]).
#[derive(Debug, Clone)]
pub struct EstimateBody {
    pub id: String,
    pub number: String,
    pub status: &'static str,
    pub status_key: &'static str,
    pub client: String,
    pub client_href: String,
    /// The list narrowed to this client.
    pub client_estimates_href: String,
    pub cat: String,
    pub cat_href: String,
    pub tax_rate: String,
    pub memo: String,
    pub sent_on: String,
    pub valid_until: String,
    pub decline_reason: String,
    pub invoice_href: Option<String>,
    pub options: Vec<OptionView>,
    pub actions: EstimateActions,
}

impl EstimateBody {
    /// A line's catalogue item is chosen by searching the price list (`GET /api/catalogue?q=`,
    /// paged), so no list of items is rendered.
    pub fn new(e: &Estimate, client: String, cat: String, actions: EstimateActions) -> Self {
        let bp = e.tax_rate.get();
        EstimateBody {
            id: e.id.to_string(),
            number: e.number.clone().unwrap_or_else(|| "Draft estimate".to_owned()),
            status: estimate_status(e.status),
            status_key: e.status.as_str(),
            client,
            client_href: format!("/clients/{}", e.client_id),
            client_estimates_href: format!("/estimates?client_id={}", e.client_id),
            cat,
            cat_href: format!("/patients/{}", e.patient_id),
            tax_rate: format!("{}.{:02} %", bp / 100, bp % 100),
            memo: e.memo.clone().unwrap_or_default(),
            sent_on: e.sent_on.map(|d| d.to_string()).unwrap_or_default(),
            valid_until: e.valid_until.map(|d| d.to_string()).unwrap_or_default(),
            decline_reason: e.decline_reason.clone().unwrap_or_default(),
            invoice_href: e.invoice_id.map(|i| format!("/invoices/{i}")),
            options: e.options.iter().map(|o| OptionView::of(o, e.accepted_option == Some(o.option_no))).collect(),
            actions,
        }
    }
}

/// `/estimates/{id}`.
#[derive(Template)]
#[template(path = "estimate.html")]
pub struct EstimatePage {
    pub nav: Nav,
    pub b: EstimateBody,
}

/// The body of `/estimates/{id}` alone.
#[derive(Template)]
#[template(source = "{% include \"estimate_body.html\" %}", ext = "html")]
pub struct EstimateFragment {
    pub b: EstimateBody,
}

// ---- payment plans ----

fn interval_text(i: Interval) -> &'static str {
    match i {
        Interval::Weekly => "Weekly",
        Interval::Fortnightly => "Every two weeks",
        Interval::Monthly => "Monthly",
    }
}

/// The wire name of an interval (the form's value).
fn interval_key(i: Interval) -> &'static str {
    match i {
        Interval::Weekly => "weekly",
        Interval::Fortnightly => "fortnightly",
        Interval::Monthly => "monthly",
    }
}

/// A plan status's wording.
pub fn plan_status(s: PlanStatus) -> &'static str {
    match s {
        PlanStatus::Active => "Active",
        PlanStatus::Completed => "Completed",
        PlanStatus::Cancelled => "Cancelled",
    }
}

/// An instalment's row.
#[derive(Debug, Clone)]
pub struct InstalmentRow {
    /// "Down payment" or the number.
    pub no: String,
    pub due_on: String,
    pub amount: String,
    pub paid: String,
    /// `paid`, `late`, `part` or `due`.
    pub state: &'static str,
    pub state_text: &'static str,
}

impl InstalmentRow {
    fn of(i: &Instalment) -> Self {
        let (state, state_text) = if i.paid >= i.amount {
            ("paid", "Paid")
        } else if i.late {
            ("late", "Late")
        } else if i.paid.is_positive() {
            ("part", "Part paid")
        } else {
            ("due", "Due")
        };
        InstalmentRow {
            no: if i.no == 0 { "Down payment".to_owned() } else { i.no.to_string() },
            due_on: i.due_on.to_string(),
            amount: i.amount.to_string(),
            paid: i.paid.to_string(),
            state,
            state_text,
        }
    }
}

/// A revision: the terms it replaced, when and why.
#[derive(Debug, Clone)]
pub struct RevisionRow {
    pub revision: u32,
    pub replaced_on: String,
    pub by: String,
    pub changed: String,
    pub reason: String,
    pub terms: String,
}

/// The terms in one line ("50.00 down, 6 monthly instalments from 2026-01-05, 12.00 % a year").
fn terms_text(t: &clowder_schemas::payment_plans::PlanTerms) -> String {
    let bp = t.interest_bp.get();
    format!(
        "{} down, {} × {} from {}, interest {}.{:02} % a year",
        t.down_payment,
        t.instalments,
        interval_text(t.interval).to_lowercase(),
        t.start_date,
        bp / 100,
        bp % 100
    )
}

/// The body of `/payment-plans/{id}` (answered alone to `HX-Request`, as [`PlanFragment`]).
#[derive(Debug, Clone)]
pub struct PlanBody {
    pub id: String,
    pub status: &'static str,
    pub status_key: &'static str,
    pub invoice: String,
    pub invoice_href: String,
    pub client: String,
    pub client_href: String,
    pub revision: u32,
    pub terms: String,
    pub principal: String,
    pub interest: String,
    pub total: String,
    pub paid: String,
    pub left: String,
    /// Paid and total, in cents, for the `<progress>` bar.
    pub progress: (i64, i64),
    pub percent: i64,
    pub schedule: Vec<InstalmentRow>,
    pub revisions: Vec<RevisionRow>,
    pub cancel_reason: String,
    /// Active, and `payments:edit` (modify and cancel).
    pub can_change: bool,
    /// The current terms, for the modify form: down payment, instalments, interval, interest
    /// percent, start.
    pub form: (String, u32, &'static str, String, String),
}

impl PlanBody {
    pub fn new(
        p: &PaymentPlan,
        invoice: String,
        client: String,
        may_change: bool,
        name: impl Fn(Option<clowder_schemas::UserId>) -> String,
        tz: &jiff::tz::TimeZone,
    ) -> Self {
        let bp = p.terms.interest_bp.get();
        let paid = p.paid.get().min(p.total.get());
        PlanBody {
            id: p.id.to_string(),
            status: plan_status(p.status),
            status_key: p.status.as_str(),
            invoice,
            invoice_href: format!("/invoices/{}", p.invoice_id),
            client,
            client_href: format!("/clients/{}", p.client_id),
            revision: p.revision,
            terms: terms_text(&p.terms),
            principal: p.principal.to_string(),
            interest: p.interest.to_string(),
            total: p.total.to_string(),
            paid: p.paid.to_string(),
            left: Cents::new((p.total.get() - p.paid.get()).max(0)).to_string(),
            progress: (paid.max(0), p.total.get().max(1)),
            percent: if p.total.is_positive() { paid.max(0) * 100 / p.total.get() } else { 100 },
            schedule: p.schedule.iter().map(InstalmentRow::of).collect(),
            revisions: p
                .revisions
                .iter()
                .rev()
                .map(|r| RevisionRow {
                    revision: r.revision,
                    replaced_on: r.replaced_at.to_zoned(tz.clone()).date().to_string(),
                    by: name(r.replaced_by),
                    changed: r.changed.join(", "),
                    reason: r.reason.clone().unwrap_or_default(),
                    terms: terms_text(&r.terms),
                })
                .collect(),
            cancel_reason: p.cancel_reason.clone().unwrap_or_default(),
            can_change: p.status == PlanStatus::Active && may_change,
            form: (
                p.terms.down_payment.to_string(),
                p.terms.instalments,
                interval_key(p.terms.interval),
                format!("{}.{:02}", bp / 100, bp % 100),
                p.terms.start_date.to_string(),
            ),
        }
    }
}

/// `/payment-plans/{id}`.
#[derive(Template)]
#[template(path = "payment_plan.html")]
pub struct PlanPage {
    pub nav: Nav,
    pub b: PlanBody,
}

/// The body of `/payment-plans/{id}` alone.
#[derive(Template)]
#[template(source = "{% include \"payment_plan_body.html\" %}", ext = "html")]
pub struct PlanFragment {
    pub b: PlanBody,
}

/// An existing plan of an invoice, linked from the new-plan page.
#[derive(Debug, Clone)]
pub struct PlanLink {
    pub href: String,
    pub text: String,
}

/// `/payment-plans/new?invoice_id=`: the form to agree a plan for an issued invoice.
#[derive(Template)]
#[template(path = "payment_plan_new.html")]
pub struct NewPlanPage {
    pub nav: Nav,
    pub invoice_id: String,
    pub invoice: String,
    pub invoice_href: String,
    pub client: String,
    pub balance: String,
    /// Why no plan can be made (not issued, nothing owed, a plan already active), if so.
    pub refused: Option<String>,
    pub plans: Vec<PlanLink>,
    pub today: String,
}
