//! The accounting screen (`/accounting`): the chart-of-accounts mapping as a form, a new
//! export (range, format, kinds, re-export with its reason) and the exports made, newest first,
//! each with its file. Built from what `GET /api/accounting/mapping` and
//! `GET /api/accounting/exports` answer; `accounting.js` sends the forms to the API, which
//! decides every rule (an overlap is its 409, shown on the form).

use std::collections::HashMap;

use askama::Template;
use clowder_schemas::UserId;
use clowder_schemas::accounting::{AccountMapping, AccountingExport, ExportFormat, ExportKind, METHODS, method_name};
use clowder_schemas::money::Cents;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use super::Nav;

/// A payment method's account on the form.
#[derive(Debug, Clone)]
pub struct MethodRow {
    /// The wire name the API takes (`card_present`).
    pub name: &'static str,
    /// How the form names it ("Card, in person").
    pub label: &'static str,
    pub account: String,
}

/// One exported file in the list.
#[derive(Debug, Clone)]
pub struct ExportRow {
    pub id: String,
    /// When it was made, in the clinic's zone.
    pub when: String,
    pub who: String,
    /// "1 Mar 2026 – 31 Mar 2026".
    pub range: String,
    /// "CSV" or "IIF".
    pub format: &'static str,
    /// Per kind exported: "Invoices: 12 transactions, 1,234.50".
    pub totals: Vec<String>,
    /// The reason, for a re-export.
    pub reexport: Option<String>,
    /// Reversals of invoices voided after an earlier export, when some.
    pub voids: usize,
    pub filename: String,
    /// `/api/accounting/exports/{id}/file`.
    pub href: String,
    /// "12.3 KB".
    pub size: String,
}

/// `/accounting`.
#[derive(Template)]
#[template(path = "accounting.html")]
pub struct AccountingPage {
    pub nav: Nav,
    /// "Defaults (never saved)" or "Version 3, saved 2 Mar 2026 14:05 by Rita Wright".
    pub mapping_state: String,
    /// Revenue account per category, in the category's order.
    pub revenue: Vec<(String, String)>,
    /// The price list's categories, offered when a row is added.
    pub categories: Vec<String>,
    pub default_revenue: String,
    pub methods: Vec<MethodRow>,
    pub tax_payable: String,
    pub accounts_receivable: String,
    pub customer_credit: String,
    pub purchases: String,
    pub accounts_payable: String,
    /// The range the new-export form proposes, `YYYY-MM-DD`.
    pub from: String,
    pub to: String,
    pub exports: Vec<ExportRow>,
    /// `?before=` of the next page of older exports.
    pub older: Option<String>,
    /// This page is not the newest one.
    pub paged: bool,
}

/// The range a new export proposes (decided: the books want whole days, in order): the days
/// after the newest export up to yesterday; with no export yet, last month. When the newest
/// export already reaches yesterday, yesterday alone (the API will name the overlap).
pub fn proposed_range(newest: Option<&AccountingExport>, today: Date) -> (Date, Date) {
    let yesterday = today.yesterday().unwrap_or(today);
    match newest {
        Some(e) => {
            let from = e.to.tomorrow().unwrap_or(e.to);
            if from > yesterday { (yesterday, yesterday) } else { (from, yesterday) }
        }
        None => {
            let first = today.first_of_month();
            let last_month = first.yesterday().unwrap_or(first);
            (last_month.first_of_month(), last_month)
        }
    }
}

fn method_label(name: &str) -> &'static str {
    match name {
        "cash" => "Cash",
        "card_present" => "Card, in person",
        "card_online" => "Card, online",
        "check" => "Check",
        "bank_transfer" => "Bank transfer",
        "other" => "Other",
        "account_credit" => "Credit on account (applied)",
        _ => "Other",
    }
}

fn kind_label(k: &str) -> &'static str {
    match k {
        "invoices" => "Invoices and credit notes",
        "payments" => "Payments and refunds",
        "purchases" => "Purchases received",
        _ => "Other",
    }
}

fn day(d: Date) -> String {
    d.strftime("%-d %b %Y").to_string()
}

fn size(bytes: u64) -> String {
    if bytes < 1024 { format!("{bytes} B") } else { format!("{:.1} KB", bytes as f64 / 1024.0) }
}

impl AccountingPage {
    /// The page from the stored mapping, the price list's categories, one page of exports
    /// (newest first) and the names of who made them.
    #[allow(clippy::too_many_arguments)]
    pub fn of(
        nav: Nav,
        mapping: &AccountMapping,
        categories: Vec<String>,
        exports: &[AccountingExport],
        older: Option<u128>,
        paged: bool,
        names: &HashMap<UserId, String>,
        proposed: (Date, Date),
        tz: &TimeZone,
    ) -> Self {
        let who = |u: Option<UserId>| u.and_then(|u| names.get(&u).cloned()).unwrap_or_else(|| "Clowder".into());
        let mapping_state = match mapping.updated_at {
            None => "Defaults (never saved)".to_owned(),
            Some(at) => format!(
                "Version {}, saved {} by {}",
                mapping.version,
                super::visits::when(at, tz),
                who(mapping.updated_by)
            ),
        };
        let m = &mapping.map;
        AccountingPage {
            nav,
            mapping_state,
            revenue: m.revenue.iter().map(|(c, a)| (c.clone(), a.clone())).collect(),
            categories,
            default_revenue: m.default_revenue.clone(),
            methods: METHODS
                .iter()
                .map(|&pm| {
                    let name = method_name(pm);
                    MethodRow {
                        name,
                        label: method_label(name),
                        account: m.payment_methods.get(name).cloned().unwrap_or_default(),
                    }
                })
                .collect(),
            tax_payable: m.tax_payable.clone(),
            accounts_receivable: m.accounts_receivable.clone(),
            customer_credit: m.customer_credit.clone(),
            purchases: m.purchases.clone(),
            accounts_payable: m.accounts_payable.clone(),
            from: proposed.0.to_string(),
            to: proposed.1.to_string(),
            exports: exports
                .iter()
                .map(|e| ExportRow {
                    id: e.id.to_string(),
                    when: super::visits::when(e.created_at, tz),
                    who: who(e.created_by),
                    range: format!("{} – {}", day(e.from), day(e.to)),
                    format: match e.format {
                        ExportFormat::Csv => "CSV",
                        ExportFormat::Iif => "IIF",
                    },
                    totals: e
                        .kinds
                        .iter()
                        .map(|k| {
                            let t = e.totals.get(k.as_str()).cloned().unwrap_or_default();
                            let n = t.transactions;
                            format!(
                                "{}: {n} transaction{}, {}",
                                kind_label(k.as_str()),
                                if n == 1 { "" } else { "s" },
                                Cents::new(t.debits)
                            )
                        })
                        .collect(),
                    reexport: e.reexport_reason.clone(),
                    voids: e.voids_reversed.len(),
                    filename: e.filename.clone(),
                    href: format!("/api/accounting/exports/{}/file", e.id),
                    size: size(e.size),
                })
                .collect(),
            older: older.map(|k| clowder_schemas::ids::AccountingExportId::from_u128(k).to_string()),
            paged,
        }
    }

    /// The kinds an export may take, as the form's checkboxes: wire name and label.
    pub fn kinds(&self) -> [(&'static str, &'static str); 3] {
        [ExportKind::Invoices, ExportKind::Payments, ExportKind::Purchases]
            .map(|k| (k.as_str(), kind_label(k.as_str())))
    }
}
