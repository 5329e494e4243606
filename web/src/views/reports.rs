//! The financial reports screen, `/reports` (`reports:financial`): revenue by day, week or
//! month and category for a range (a stacked bar chart drawn by [`super::charts::bar_chart`]
//! and the table beside it), accounts receivable ageing as of a day (a bar per bucket and a
//! page of clients), and the estimate-vs-actual summary when the caller may read it. Every
//! figure is the reports service's, in integer cents; nothing is summed here but what a chart
//! stacks.

use askama::Template;
use clowder_schemas::estimates::{Against, EstimateReport};
use clowder_schemas::money::Cents;
use clowder_schemas::reports::{AgeingBuckets, AgeingReport, Period, RevenueFigures, RevenueReport};

use super::Nav;
use super::charts::{Bars, Chart, bar_chart};

fn money(c: i64) -> String {
    Cents::new(c).to_string()
}

/// The report's query as the form shows it.
#[derive(Debug, Clone, Default)]
pub struct ReportForm {
    pub from: String,
    pub to: String,
    /// `day`, `week` or `month`.
    pub by: &'static str,
    pub as_of: String,
    /// The location shown (its id; empty: the whole clinic).
    pub location: String,
    /// The clinic's locations, `(id, name)`, for the filter.
    pub locations: Vec<(String, String)>,
}

/// A period's (or the whole range's) figures.
#[derive(Debug, Clone)]
pub struct FiguresRow {
    pub label: String,
    pub sales: String,
    pub credits: String,
    pub net: String,
    pub tax: String,
    pub invoices: i64,
    pub credit_notes: i64,
}

impl FiguresRow {
    fn of(label: String, f: &RevenueFigures) -> Self {
        FiguresRow {
            label,
            sales: f.sales.to_string(),
            credits: f.credits.to_string(),
            net: f.net.to_string(),
            tax: f.net_tax.to_string(),
            invoices: f.invoices,
            credit_notes: f.credit_notes,
        }
    }
}

/// A category over the whole range.
#[derive(Debug, Clone)]
pub struct CategoryRow {
    pub category: String,
    pub sales: String,
    pub credits: String,
    pub net: String,
}

/// The revenue part.
#[derive(Debug, Clone)]
pub struct RevenueView {
    pub chart: Option<Chart>,
    pub periods: Vec<FiguresRow>,
    pub categories: Vec<CategoryRow>,
    pub totals: FiguresRow,
    /// "month", "week" or "day", for the headings.
    pub by: &'static str,
}

/// A period's label: `2026-03` by month, `week of 2026-03-02`, or the day.
fn period_label(by: Period, start: jiff::civil::Date) -> String {
    match by {
        Period::Month => format!("{:04}-{:02}", start.year(), start.month()),
        Period::Week => format!("week of {start}"),
        Period::Day => start.to_string(),
    }
}

/// The first day of each period from `from`'s to `to`'s (at most a report's length).
fn period_starts(by: Period, from: jiff::civil::Date, to: jiff::civil::Date) -> Vec<jiff::civil::Date> {
    let step = match by {
        Period::Day => jiff::Span::new().days(1),
        Period::Week => jiff::Span::new().weeks(1),
        Period::Month => jiff::Span::new().months(1),
    };
    let mut out = Vec::new();
    let mut d = by.start(from);
    while d <= to && out.len() <= clowder_schemas::reports::MAX_REVENUE_DAYS as usize {
        out.push(d);
        match d.checked_add(step) {
            Ok(next) => d = next,
            Err(_) => break,
        }
    }
    out
}

impl RevenueView {
    pub fn new(r: &RevenueReport) -> Self {
        let series: Vec<String> = r.categories.iter().map(|c| c.category.clone()).collect();
        // Every period of the range gets its slot, so a quiet month shows as a gap rather than
        // vanishing from the time axis (the report lists only periods with figures).
        let groups = period_starts(r.by, r.from, r.to)
            .into_iter()
            .map(|start| {
                let p = r.periods.iter().find(|p| p.start == start);
                let values = series
                    .iter()
                    .map(|s| p.and_then(|p| p.categories.iter().find(|c| &c.category == s)).map_or(0, |c| c.net.get()))
                    .collect();
                (period_label(r.by, start), values)
            })
            .collect();
        let chart =
            bar_chart(Bars { id: "revenue-chart", title: "Revenue by category", series, groups, format: &money });
        RevenueView {
            chart,
            periods: r.periods.iter().map(|p| FiguresRow::of(period_label(r.by, p.start), &p.figures)).collect(),
            categories: r
                .categories
                .iter()
                .map(|c| CategoryRow {
                    category: c.category.clone(),
                    sales: c.sales.to_string(),
                    credits: c.credits.to_string(),
                    net: c.net.to_string(),
                })
                .collect(),
            totals: FiguresRow::of("Total".to_owned(), &r.totals),
            by: match r.by {
                Period::Day => "day",
                Period::Week => "week",
                Period::Month => "month",
            },
        }
    }
}

/// A client's aged balance.
#[derive(Debug, Clone)]
pub struct AgeingRow {
    pub href: String,
    pub name: String,
    /// (bucket name, amount), oldest last.
    pub buckets: Vec<(&'static str, String)>,
    pub total: String,
    pub invoices: i64,
    pub oldest_due_on: String,
}

/// The bucket names, oldest last.
pub const BUCKETS: [&str; 5] = ["Current", "1–30 days", "31–60 days", "61–90 days", "Over 90 days"];

fn bucket_values(b: &AgeingBuckets) -> [i64; 5] {
    [b.current.get(), b.days_1_30.get(), b.days_31_60.get(), b.days_61_90.get(), b.days_over_90.get()]
}

/// The ageing part.
#[derive(Debug, Clone)]
pub struct AgeingView {
    pub as_of: String,
    pub chart: Option<Chart>,
    pub totals: [String; 5],
    pub total: String,
    pub clients_owing: i64,
    pub clients: Vec<AgeingRow>,
    pub next: Option<String>,
    pub first: Option<String>,
}

impl AgeingView {
    /// `page_href(cursor)` is this page's address with the ageing cursor set (`None`: the first).
    pub fn new(r: &AgeingReport, page_href: impl Fn(Option<&str>) -> String, on_first: bool) -> Self {
        let totals = bucket_values(&r.totals);
        let chart = bar_chart(Bars {
            id: "ageing-chart",
            title: "Receivables by age",
            series: vec!["Owed".to_owned()],
            groups: BUCKETS.iter().zip(totals).map(|(b, v)| ((*b).to_owned(), vec![v])).collect(),
            format: &money,
        });
        AgeingView {
            as_of: r.as_of.to_string(),
            chart,
            totals: totals.map(money),
            total: r.totals.total.to_string(),
            clients_owing: r.clients_owing,
            clients: r
                .clients
                .iter()
                .map(|c| AgeingRow {
                    href: format!("/clients/{}", c.client_id),
                    name: c.name.clone(),
                    buckets: BUCKETS.iter().copied().zip(bucket_values(&c.buckets).map(money)).collect(),
                    total: c.buckets.total.to_string(),
                    invoices: c.buckets.invoices,
                    oldest_due_on: c.oldest_due_on.map(|d| d.to_string()).unwrap_or_default(),
                })
                .collect(),
            next: r.next_cursor.as_deref().map(|c| page_href(Some(c))),
            first: (!on_first).then(|| page_href(None)),
        }
    }

    pub fn buckets(&self) -> &'static [&'static str; 5] {
        &BUCKETS
    }
}

/// An accepted estimate against its invoice.
#[derive(Debug, Clone)]
pub struct VsRow {
    pub href: String,
    pub number: String,
    pub option: String,
    pub range: String,
    pub invoice_href: String,
    pub invoice: String,
    pub actual: String,
    /// `below`, `within`, `above` or ``.
    pub against: &'static str,
    pub difference: String,
}

/// The estimate-vs-actual part.
#[derive(Debug, Clone)]
pub struct VsView {
    pub below: u32,
    pub within: u32,
    pub above: u32,
    pub rows: Vec<VsRow>,
}

impl VsView {
    pub fn new(r: &EstimateReport) -> Self {
        VsView {
            below: r.below,
            within: r.within,
            above: r.above,
            rows: r
                .rows
                .iter()
                .map(|x| VsRow {
                    href: format!("/estimates/{}", x.estimate_id),
                    number: x.number.clone().unwrap_or_default(),
                    option: x.option_name.clone(),
                    range: format!("{} – {}", x.low, x.high),
                    invoice_href: x.invoice_id.map(|i| format!("/invoices/{i}")).unwrap_or_default(),
                    invoice: x.invoice_number.clone().unwrap_or_else(|| "draft".to_owned()),
                    actual: x.actual.map(|a| a.to_string()).unwrap_or_default(),
                    against: match x.against {
                        Some(Against::Below) => "below",
                        Some(Against::Within) => "within",
                        Some(Against::Above) => "above",
                        None => "",
                    },
                    difference: x.difference.to_string(),
                })
                .collect(),
        }
    }
}

/// `/reports`.
#[derive(Template)]
#[template(path = "reports.html")]
pub struct ReportsPage {
    pub nav: Nav,
    pub form: ReportForm,
    pub revenue: RevenueView,
    pub ageing: AgeingView,
    /// When the caller may read `GET /api/estimates/report`.
    pub vs: Option<VsView>,
    /// The caller may open the accounting export (`/accounting`): the page links it.
    pub accounting: bool,
}

impl ReportsPage {
    pub fn periods(&self) -> &'static [(&'static str, &'static str)] {
        &[("day", "Day"), ("week", "Week"), ("month", "Month")]
    }
}
