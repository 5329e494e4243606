//! Issue 16's measures: the AR ageing and revenue reports over five years of a large clinic
//! (≈ 250,000 invoices), and checkouts (an invoice of 10 lines created, issued and paid).
//!
//! The invoices are not made here: the API issues no invoice in the past, so the volume is
//! written beforehand into the stopped server's store by `clowder seed-invoices` (years of
//! issued invoices, most paid, some open; docs/performance.md "Reports"). This scenario then
//! measures, each in its own window on `connections` connections: `GET
//! /api/reports/ar-ageing` (first page of 50 clients), the same as of yesterday (the open
//! invoices and those settled since), revenue by day over the last 30 days,
//! by month over the last year and over the last five years; then checkouts, after creating
//! a client and ten catalogue items across categories; then the ageing again on all but one
//! connection while that one checks out: every payment changes an open invoice, so the
//! server's ageing kept between changes is worked out again (its cold cost under writes).

use std::sync::Arc;

use anyhow::Result;
use jiff::ToSpan;
use reqwest::Method;
use serde_json::{Value, json};

use crate::api::Api;
use crate::load::{Workload, drive, drive_from};
use crate::report::{
    AR_AGEING, AR_AGEING_BESIDE_CHECKOUTS, AR_AGEING_YESTERDAY, CHECKOUT, CHECKOUT_BESIDE_AR_AGEING, REVENUE_5Y,
    REVENUE_30D, REVENUE_YEAR, ScenarioSummary,
};
use crate::run::progress;
use crate::scenarios::Plan;

/// Lines of a checkout's invoice (issue 16's measure).
pub const CHECKOUT_LINES: usize = 10;

/// The report requests measured, `(row, path and query)`, for the clinic's `today`.
pub fn report_requests(today: jiff::civil::Date) -> Vec<(&'static str, String)> {
    let back = |days: i64| today.checked_sub(days.days()).unwrap_or(today);
    vec![
        (AR_AGEING, "/api/reports/ar-ageing?limit=50".to_owned()),
        (AR_AGEING_YESTERDAY, format!("/api/reports/ar-ageing?limit=50&as_of={}", back(1))),
        (REVENUE_30D, format!("/api/reports/revenue?from={}&to={today}&by=day", back(29))),
        (REVENUE_YEAR, format!("/api/reports/revenue?from={}&to={today}&by=month", back(364))),
        (REVENUE_5Y, format!("/api/reports/revenue?from={}&to={today}&by=month", back(5 * 365 - 1))),
    ]
}

/// A checkout's draft: `items` in turn, one line each, `CHECKOUT_LINES` lines.
pub fn checkout_draft(client: &str, location: Option<&str>, items: &[String]) -> Value {
    let lines: Vec<Value> =
        (0..CHECKOUT_LINES).map(|i| json!({"item_id": items[i % items.len().max(1)], "quantity": 1})).collect();
    json!({"client_id": client, "location_id": location, "lines": lines})
}

/// Runs the measures; rows in the order above, then `checkout`.
pub async fn reports(api: &Arc<Api>, plan: &Plan, today: jiff::civil::Date) -> Result<Vec<ScenarioSummary>> {
    let mut rows = Vec::new();
    for (row, path) in report_requests(today) {
        let url = api.url(&path)?;
        let probed = api.probe_get(&url).await?;
        if let Some(why) = probed.failure {
            anyhow::bail!("{path} answered {why}: is this a server with the reports (issue 16)?");
        }
        progress(&format!("{row}: {} bytes an answer", probed.bytes));
        rows.push(measure(row, api, Workload::get(vec![url])?, plan).await?);
    }
    let draft = setup_checkout(api, plan).await?;
    rows.push(measure(CHECKOUT, api, Workload::Checkout { draft: draft.clone() }, plan).await?);

    let readers = plan.connections.saturating_sub(1).max(1);
    progress(&format!("{AR_AGEING_BESIDE_CHECKOUTS}: {readers} connections reading beside 1 checking out"));
    let ageing = Workload::get(vec![api.url(&report_requests(today)[0].1)?])?;
    let start = tokio::time::Instant::now();
    let (read, written) = tokio::join!(
        drive_from(start, api.clone(), Arc::new(ageing), readers, plan.window, plan.seed),
        drive_from(start, api.clone(), Arc::new(Workload::Checkout { draft }), 1, plan.window, plan.seed ^ 1),
    );
    rows.push(ScenarioSummary::new(AR_AGEING_BESIDE_CHECKOUTS, readers, plan.window.measure, &read?));
    rows.push(ScenarioSummary::new(CHECKOUT_BESIDE_AR_AGEING, 1, plan.window.measure, &written?));
    Ok(rows)
}

async fn measure(name: &str, api: &Arc<Api>, workload: Workload, plan: &Plan) -> Result<ScenarioSummary> {
    progress(&format!("{name}: {} connections", plan.connections));
    let tally = drive(api.clone(), Arc::new(workload), plan.connections, plan.window, plan.seed).await?;
    Ok(ScenarioSummary::new(name, plan.connections, plan.window.measure, &tally))
}

/// A client and ten catalogue items (one per category), the checkouts' draft.
async fn setup_checkout(api: &Arc<Api>, plan: &Plan) -> Result<Value> {
    let client: Value = api
        .setup_json(
            Method::POST,
            "/api/clients",
            Some(&json!({"first_name": "Checkout", "last_name": format!("Load {}", plan.run_tag), "phone": "(503) 555-0199"})),
        )
        .await?;
    let location = api.first_location().await?.map(|l| l.to_string());
    let mut items = Vec::new();
    for (i, (category, price, taxable)) in [
        ("Exams", 6500, false),
        ("Vaccines", 3200, false),
        ("Diagnostics", 14500, false),
        ("Medications", 2150, true),
        ("Dental", 38000, false),
        ("Surgery", 42000, false),
        ("Food", 4199, true),
        ("Boarding", 3800, true),
        ("Grooming", 4500, true),
        ("Supplies", 1299, true),
    ]
    .into_iter()
    .enumerate()
    {
        let body = json!({"name": format!("Load item {i} {}", plan.run_tag), "category": category, "kind": "service", "price": price, "taxable": taxable});
        let item: Value = api.setup_json(Method::POST, "/api/catalogue", Some(&body)).await?;
        items.push(item["id"].as_str().unwrap_or_default().to_owned());
    }
    Ok(checkout_draft(client["id"].as_str().unwrap_or_default(), location.as_deref(), &items))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reports_cover_30_days_a_year_and_five_years() {
        let today: jiff::civil::Date = "2026-12-06".parse().unwrap();
        let r = report_requests(today);
        assert_eq!(r[0].1, "/api/reports/ar-ageing?limit=50");
        assert_eq!(r[1].1, "/api/reports/ar-ageing?limit=50&as_of=2026-12-05");
        assert_eq!(r[2].1, "/api/reports/revenue?from=2026-11-07&to=2026-12-06&by=day");
        assert_eq!(r[3].1, "/api/reports/revenue?from=2025-12-07&to=2026-12-06&by=month");
        assert_eq!(r[4].1, "/api/reports/revenue?from=2021-12-08&to=2026-12-06&by=month");
    }

    #[test]
    fn a_checkout_has_ten_lines() {
        let d = checkout_draft("c", Some("l"), &["a".into(), "b".into()]);
        assert_eq!(d["lines"].as_array().unwrap().len(), CHECKOUT_LINES);
        assert_eq!(d["lines"][3]["item_id"], "b");
    }
}
