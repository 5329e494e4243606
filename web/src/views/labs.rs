//! The lab screens: the open orders per location (`/labs`), one order with its results,
//! flags, hand entry, sign-off and amendments (`/labs/orders/{id}`, kept live by `labs.js`
//! on the cat's topic), the unmatched queue (`/labs/unmatched`; both lists live on the `labs`
//! topic, the queue with a form to type results), and the lab blocks of the
//! visit page (order a test, the visit's orders) and of the cat page (recent results and a
//! trend chart per analyte, the range band drawn and flagged points marked).

use std::collections::BTreeMap;

use askama::Template;
use clowder_schemas::labs::{
    AnalyteResult, Flag, LabOrder, LabOrderStatus, LabRanges, LabTests, LabTrend, LabUnmatched,
};
use jiff::tz::TimeZone;

use super::Nav;
use super::charts::{Chart, Series, line_chart};
use super::records::Fact;
use super::visits::when;

/// How a status reads.
pub fn status_label(s: LabOrderStatus) -> &'static str {
    match s {
        LabOrderStatus::Ordered => "Awaiting results",
        LabOrderStatus::Partial => "Partial results",
        LabOrderStatus::Resulted => "Awaiting review",
        LabOrderStatus::Reviewed => "Reviewed",
        LabOrderStatus::Cancelled => "Cancelled",
    }
}

/// How a flag reads beside its letters.
pub fn flag_label(f: Flag) -> &'static str {
    match f {
        Flag::L => "Low",
        Flag::H => "High",
        Flag::LL => "Critically low",
        Flag::HH => "Critically high",
        Flag::A => "Abnormal",
    }
}

fn number(v: f64) -> String {
    // At most three decimals, no trailing zeros: 3.394 mg/dL, 48 U/L.
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_owned()
}

fn with_unit(v: f64, unit: Option<&str>) -> String {
    match unit {
        Some(u) if !u.is_empty() => format!("{} {u}", number(v)),
        _ => number(v),
    }
}

/// An order in a list (the visit's, the cat's, the open orders).
#[derive(Debug, Clone)]
pub struct OrderRow {
    pub href: String,
    pub id: String,
    pub test: String,
    pub test_name: String,
    /// `ordered`, `partial`…, for scripts and tests.
    pub status: &'static str,
    pub status_label: &'static str,
    /// "2 flagged", "1 critical" or "".
    pub flags: String,
    pub critical: bool,
    pub ordered: String,
    /// The cat's name (the open orders list).
    pub cat: String,
}

impl OrderRow {
    pub fn of(o: &LabOrder, cat: String, tz: &TimeZone) -> OrderRow {
        let flagged = o.results.iter().filter(|r| r.flag.is_some()).count();
        let critical = o.results.iter().filter(|r| r.flag.is_some_and(Flag::is_critical)).count();
        let flags = match (flagged, critical) {
            (0, _) => String::new(),
            (n, 0) => format!("{n} flagged"),
            (n, c) => format!("{n} flagged, {c} critical"),
        };
        OrderRow {
            href: format!("/labs/orders/{}", o.id),
            id: o.id.to_string(),
            test: o.test.clone(),
            test_name: o.test_name.clone(),
            status: o.status.as_str(),
            status_label: status_label(o.status),
            flags,
            critical: critical > 0,
            ordered: when(o.created_at, tz),
            cat,
        }
    }
}

/// A test of the catalogue, as a choice.
#[derive(Debug, Clone)]
pub struct TestChoice {
    pub code: String,
    pub label: String,
}

/// The lab block of the visit page.
#[derive(Debug, Clone, Default)]
pub struct VisitLabs {
    pub visit_id: String,
    pub orders: Vec<OrderRow>,
    /// The catalogue's tests, when the caller may order (else empty and no form).
    pub tests: Vec<TestChoice>,
}

impl VisitLabs {
    pub fn new(visit_id: String, orders: Vec<OrderRow>, catalogue: Option<&LabTests>) -> VisitLabs {
        let tests = catalogue
            .map(|c| {
                c.tests
                    .iter()
                    .map(|t| TestChoice { code: t.code.clone(), label: format!("{} ({}, {})", t.name, t.code, t.lab) })
                    .collect()
            })
            .unwrap_or_default();
        VisitLabs { visit_id, orders, tests }
    }
}

/// One analyte's trend on the cat page.
#[derive(Debug, Clone)]
pub struct TrendChart {
    pub analyte: String,
    pub name: String,
    pub chart: Chart,
}

impl TrendChart {
    /// An analyte's trend as the chart read answers it (`PatientChart::lab_trends`): its
    /// numeric points drawn like the cat page's, in the unit and against the range of its
    /// newest result; `None` when no point has a value.
    pub fn of(t: &LabTrend, tz: &TimeZone) -> Option<TrendChart> {
        let points = t.points.iter().filter_map(|p| Some((p.at, p.value?, p.flag))).collect();
        let unit = t.unit.as_deref().unwrap_or_default();
        TrendChart::draw(&t.analyte, &t.name, unit, (t.low, t.high), points, tz)
    }

    /// The one drawing of a lab trend: the axis spans the values and the range (so the band
    /// is always in view), the band is the range, flagged points are marked.
    fn draw(
        analyte: &str,
        name: &str,
        unit: &str,
        (low, high): (Option<f64>, Option<f64>),
        points: Vec<(jiff::Timestamp, f64, Option<Flag>)>,
        tz: &TimeZone,
    ) -> Option<TrendChart> {
        let id = format!("trend-{}", analyte.to_ascii_lowercase());
        let values = points.iter().map(|p| p.1).chain(low).chain(high);
        let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(v), h.max(v)));
        let pad = ((hi - lo) * 0.1).max(0.1);
        let chart = line_chart(
            Series {
                id: &id,
                title: name,
                unit,
                marks: points.iter().map(|p| p.2.map(Flag::as_str)).collect(),
                points: points.iter().map(|p| (p.0, p.1)).collect(),
                y_axis: Some(((lo - pad).max(0.0), hi + pad)),
                band: low.zip(high),
                decimals: 2,
            },
            tz,
        )?;
        Some(TrendChart { analyte: analyte.to_owned(), name: name.to_owned(), chart })
    }
}

/// The lab block of the cat page: its latest orders and a chart per analyte with a value.
#[derive(Debug, Clone, Default)]
pub struct PatientLabs {
    pub orders: Vec<OrderRow>,
    pub trends: Vec<TrendChart>,
}

/// Orders shown on the cat page.
pub const RECENT_ORDERS: usize = 5;

impl PatientLabs {
    /// From the cat's orders (newest first, cancelled ones left out of the trends): every
    /// numeric result drawn per analyte in the unit of its range, the band of the newest
    /// result's limits, flagged points marked.
    pub fn new(orders: &[LabOrder], tz: &TimeZone) -> PatientLabs {
        let mut per: BTreeMap<&str, Vec<&AnalyteResult>> = BTreeMap::new();
        for o in orders.iter().filter(|o| o.status != LabOrderStatus::Cancelled) {
            for r in o.results.iter().filter(|r| r.value.is_some()) {
                per.entry(r.analyte.as_str()).or_default().push(r);
            }
        }
        let trends = per
            .into_iter()
            .filter_map(|(analyte, mut rs)| {
                rs.sort_by_key(|r| r.resulted_at);
                let newest = *rs.last()?;
                let points = rs.iter().filter_map(|r| Some((r.resulted_at, r.value?, r.flag))).collect();
                let unit = newest.unit.as_deref().unwrap_or_default();
                TrendChart::draw(analyte, &newest.name, unit, (newest.low, newest.high), points, tz)
            })
            .collect();
        PatientLabs {
            orders: orders.iter().take(RECENT_ORDERS).map(|o| OrderRow::of(o, String::new(), tz)).collect(),
            trends,
        }
    }
}

/// A result as shown.
#[derive(Debug, Clone)]
pub struct ResultRow {
    pub analyte: String,
    pub name: String,
    /// "3.394 mg/dL" or the text.
    pub value: String,
    /// "300 µmol/L as reported", when converted.
    pub reported: Option<String>,
    /// "0.8–2.4 mg/dL", "expected negative" or "".
    pub range: String,
    pub flag: &'static str,
    pub flag_label: &'static str,
    pub critical: bool,
    pub resulted: String,
}

impl ResultRow {
    pub fn of(r: &AnalyteResult, tz: &TimeZone) -> ResultRow {
        let value = match (r.value, &r.text) {
            (Some(v), _) => with_unit(v, r.unit.as_deref()),
            (None, Some(t)) => t.clone(),
            (None, None) => String::new(),
        };
        let reported = match (r.reported_value, &r.reported_unit) {
            (Some(v), Some(u)) if r.reported_unit != r.unit => Some(format!("{} {u} as reported", number(v))),
            _ => None,
        };
        let unit = r.unit.as_deref().filter(|u| !u.is_empty()).map(|u| format!(" {u}")).unwrap_or_default();
        let range = match (r.low, r.high) {
            (Some(l), Some(h)) => format!("{}–{}{unit}", number(l), number(h)),
            (Some(l), None) => format!("≥ {}{unit}", number(l)),
            (None, Some(h)) => format!("≤ {}{unit}", number(h)),
            (None, None) => String::new(),
        };
        ResultRow {
            analyte: r.analyte.clone(),
            name: r.name.clone(),
            value,
            reported,
            range,
            flag: r.flag.map_or("", Flag::as_str),
            flag_label: r.flag.map_or("", flag_label),
            critical: r.flag.is_some_and(Flag::is_critical),
            resulted: when(r.resulted_at, tz),
        }
    }
}

/// An analyte of the hand-entry form: a number with the units its range knows, or text.
#[derive(Debug, Clone)]
pub struct EntryRow {
    pub analyte: String,
    pub name: String,
    /// The range's unit first, then its alternatives; empty for a text analyte.
    pub units: Vec<String>,
}

/// An amendment as shown.
#[derive(Debug, Clone)]
pub struct AmendmentRow {
    pub analyte: String,
    pub original: String,
    pub corrected: String,
    pub reason: String,
    /// "5 Mar 2026 14:02 by Dr. Ana Lee".
    pub when: String,
}

/// The part of an order's page that `labs.js` swaps when the order changes.
#[derive(Debug, Clone)]
pub struct OrderBody {
    pub id: String,
    pub patient_id: String,
    pub title: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub facts: Vec<Fact>,
    pub results: Vec<ResultRow>,
    /// Analytes not back yet.
    pub awaiting: Vec<String>,
    /// The hand-entry form (the caller may enter results, the order takes them).
    pub entry: Vec<EntryRow>,
    /// The sign-off button (the caller may review, every result is in).
    pub can_review: bool,
    /// "Reviewed 5 Mar 2026 14:02 by Dr. Ana Lee: note".
    pub review: Option<String>,
    pub amendments: Vec<AmendmentRow>,
}

impl OrderBody {
    /// `may_enter` and `may_review`: the caller's routes would be allowed. `name` gives a
    /// user's name, `ranges` the ranges in force (the entry form's units).
    pub fn new(
        o: &LabOrder,
        ranges: &LabRanges,
        may_enter: bool,
        may_review: bool,
        name: impl Fn(clowder_schemas::UserId) -> String,
        tz: &TimeZone,
    ) -> OrderBody {
        let who = |u: Option<clowder_schemas::UserId>| u.map(|u| format!(" by {}", name(u))).unwrap_or_default();
        let mut facts = vec![
            Fact::link_to("Cat", "Open the cat's record", super::records::patient_href(&o.patient_id)),
            Fact::link_to("Visit", "Open the visit", format!("/visits/{}", o.visit_id)),
            Fact::text_of("Specimen", o.specimen.clone()),
            Fact::text_of("Laboratory", o.lab.clone()),
            Fact::text_of("Ordered", format!("{}{}", when(o.created_at, tz), who(o.created_by))),
        ];
        if let Some(n) = &o.notes {
            facts.push(Fact::text_of("Notes", n.clone()));
        }
        if let Some(r) = &o.cancel_reason {
            facts.push(Fact::text_of("Cancelled because", r.clone()));
        }
        let open = matches!(o.status, LabOrderStatus::Ordered | LabOrderStatus::Partial | LabOrderStatus::Resulted);
        let back = |a: &str| o.results.iter().any(|r| r.analyte == a);
        let entry = if may_enter && open {
            o.analytes
                .iter()
                .map(|a| {
                    let range = ranges.analytes.get(a);
                    let units = range
                        .and_then(|r| r.unit.clone().map(|u| (u, &r.alt_units)))
                        .map(|(u, alts)| std::iter::once(u).chain(alts.iter().map(|x| x.unit.clone())).collect())
                        .unwrap_or_default();
                    EntryRow { analyte: a.clone(), name: range.map_or_else(|| a.clone(), |r| r.name.clone()), units }
                })
                .collect()
        } else {
            Vec::new()
        };
        let shown = |r: &AnalyteResult| ResultRow::of(r, tz).value;
        OrderBody {
            id: o.id.to_string(),
            patient_id: o.patient_id.to_string(),
            title: format!("{} ({})", o.test_name, o.test),
            status: o.status.as_str(),
            status_label: status_label(o.status),
            facts,
            results: o
                .analytes
                .iter()
                .filter_map(|a| o.results.iter().find(|r| &r.analyte == a))
                .map(|r| ResultRow::of(r, tz))
                .collect(),
            awaiting: o.analytes.iter().filter(|a| !back(a)).cloned().collect(),
            entry,
            can_review: may_review && o.status == LabOrderStatus::Resulted,
            review: o.reviewed_at.map(|t| {
                let note = o.review_note.as_deref().map(|n| format!(": {n}")).unwrap_or_default();
                format!("Reviewed {}{}{note}", when(t, tz), who(o.reviewed_by))
            }),
            amendments: o
                .amendments
                .iter()
                .map(|a| AmendmentRow {
                    analyte: a.corrected.analyte.clone(),
                    original: shown(&a.original),
                    corrected: shown(&a.corrected),
                    reason: a.reason.clone(),
                    when: format!("{}{}", when(a.at, tz), who(a.by)),
                })
                .collect(),
        }
    }
}

/// `/labs/orders/{id}`.
#[derive(Template)]
#[template(path = "lab_order.html")]
pub struct LabOrderPage {
    pub nav: Nav,
    pub order: OrderBody,
}

/// The order's body alone (the page's script asks for it with `HX-Request`).
#[derive(Template)]
#[template(path = "lab_order_body.html")]
pub struct LabOrderPart {
    pub order: OrderBody,
}

/// The open orders of one location.
#[derive(Debug, Clone)]
pub struct LocationOrders {
    pub location: String,
    pub orders: Vec<OrderRow>,
}

/// What `/labs` shows and `labs.js` redraws when a lab event arrives on the `labs` topic.
#[derive(Debug, Clone, Default)]
pub struct LabsBoard {
    pub locations: Vec<LocationOrders>,
    /// Open entries in the unmatched queue.
    pub unmatched: usize,
}

/// `/labs`: orders awaiting results or review, per location.
#[derive(Template)]
#[template(path = "labs.html")]
pub struct LabsPage {
    pub nav: Nav,
    pub board: LabsBoard,
}

/// The board of `/labs` alone (its script asks for it with `HX-Request`).
#[derive(Template)]
#[template(path = "labs_body.html")]
pub struct LabsPart {
    pub board: LabsBoard,
}

/// An order an entry can be attached to.
#[derive(Debug, Clone)]
pub struct AttachChoice {
    pub id: String,
    /// "Mittens · Chem 10 (CHEM10) · 5 Mar 2026 14:02".
    pub label: String,
}

/// An entry of the unmatched queue as shown.
#[derive(Debug, Clone)]
pub struct UnmatchedRow {
    pub id: String,
    pub received: String,
    pub format: String,
    pub reason: String,
    /// What was read: "Cat 01J…, test CHEM10, 3 results".
    pub read: String,
    /// The message as received (escaped by the template like any text).
    pub raw: String,
    pub status: &'static str,
    /// "Attached to …" or "Discarded: reason".
    pub resolution: String,
    /// The orders it may go on: the named cat's open ones, else every open order.
    pub choices: Vec<AttachChoice>,
    /// Nothing was read of it (no result): attaching it needs the results typed.
    pub unreadable: bool,
}

impl UnmatchedRow {
    pub fn of(u: &LabUnmatched, choices: Vec<AttachChoice>, tz: &TimeZone) -> UnmatchedRow {
        let read = match &u.group {
            None => "Nothing could be read".to_owned(),
            Some(g) => {
                let mut parts = Vec::new();
                if let Some(p) = &g.patient_id {
                    parts.push(format!("cat {p}"));
                }
                if let Some(o) = &g.order_id {
                    parts.push(format!("order {o}"));
                }
                if let Some(t) = &g.test {
                    parts.push(format!("test {t}"));
                }
                let values: Vec<String> = g
                    .results
                    .iter()
                    .map(|r| match (r.value, &r.text) {
                        (Some(v), _) => format!("{} {}", r.analyte, with_unit(v, r.unit.as_deref())),
                        (None, Some(t)) => format!("{} {t}", r.analyte),
                        _ => r.analyte.clone(),
                    })
                    .collect();
                parts.push(values.join(", "));
                parts.join("; ")
            }
        };
        let (status, resolution) = match u.status {
            clowder_schemas::labs::UnmatchedStatus::Open => ("open", String::new()),
            clowder_schemas::labs::UnmatchedStatus::Attached => {
                ("attached", format!("Attached to order {}", u.attached_to.map(|o| o.to_string()).unwrap_or_default()))
            }
            clowder_schemas::labs::UnmatchedStatus::Discarded => {
                ("discarded", format!("Discarded: {}", u.discard_reason.clone().unwrap_or_default()))
            }
        };
        UnmatchedRow {
            id: u.id.to_string(),
            received: when(u.received_at, tz),
            format: u.format.to_uppercase(),
            reason: u.reason.clone(),
            read,
            raw: u.raw.clone(),
            status,
            resolution,
            choices,
            unreadable: u.group.as_ref().is_none_or(|g| g.results.is_empty()),
        }
    }
}

/// An analyte a result can be typed for (the attach form of an entry nothing was read of).
#[derive(Debug, Clone)]
pub struct TypedAnalyte {
    pub code: String,
    /// "Creatinine (CREA)".
    pub label: String,
    /// A number with a unit (else a text answer, `negative`).
    pub numeric: bool,
    /// The range's unit then its alternatives, joined by `|` (`""` alone: a ratio, no unit).
    pub units: String,
}

impl TypedAnalyte {
    /// Every analyte of the ranges in force, by code.
    pub fn all(ranges: &LabRanges) -> Vec<TypedAnalyte> {
        ranges
            .analytes
            .iter()
            .map(|(code, r)| TypedAnalyte {
                code: code.clone(),
                label: format!("{} ({code})", r.name),
                numeric: r.unit.is_some(),
                units: r
                    .unit
                    .iter()
                    .cloned()
                    .chain(r.alt_units.iter().map(|a| a.unit.clone()))
                    .collect::<Vec<_>>()
                    .join("|"),
            })
            .collect()
    }
}

/// The queue's entries, as `/labs/unmatched` shows them and `labs.js` redraws them.
#[derive(Debug, Clone, Default)]
pub struct UnmatchedList {
    pub entries: Vec<UnmatchedRow>,
    /// Attach and Discard shown (the caller may `POST …/attach`).
    pub can_resolve: bool,
    /// The analytes of the typed-results form (empty unless `can_resolve`).
    pub analytes: Vec<TypedAnalyte>,
}

/// `/labs/unmatched`.
#[derive(Template)]
#[template(path = "lab_unmatched.html")]
pub struct UnmatchedPage {
    pub nav: Nav,
    pub list: UnmatchedList,
}

/// The entries alone (the queue's script asks for them with `HX-Request`).
#[derive(Template)]
#[template(path = "lab_unmatched_body.html")]
pub struct UnmatchedPart {
    pub list: UnmatchedList,
}
