//! Issue 15's measures: opening a cat's chart with ten years of history, and autosaving a
//! SOAP note.
//!
//! Setup, through the real API: a veterinarian's account (past its first password change)
//! with a staff profile that can prescribe, then one cat born 11 years ago with
//! [`HISTORY`]'s ten years of records, written as that vet: vitals taken every ~12 days
//! (weights that rise, then fall as a senior cat's do), vaccination doses, walk-in visits each
//! with a SOAP note autosaved once and signed, prescriptions (each completed but the last few,
//! so none needs an interaction override) and a few problems. Then `connections` open visits
//! of a second cat, one draft per connection.
//!
//! Measured, each in its own window on `connections` connections, as the vet: every request
//! a chart screen makes when it opens ([`chart_requests`]: the cat, the first page of its
//! timeline, the latest vitals, the weight history, the problem list, the vaccinations with
//! their due list, the active prescriptions), then the whole chart as those requests one after the
//! other (row `chart-open`: a page that sends them in parallel waits about as long as the
//! slowest, so this is the upper bound), then the same chart as its one request (row
//! `chart-one`: `GET /api/patients/{id}/chart`, one snapshot and one audit entry), then autosaves (row `autosave`: `PUT
//! /api/visits/{id}/note/draft` with growing revisions).

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::Arc;

use anyhow::{Context, Result};
use jiff::{SignedDuration, Timestamp, ToSpan};
use reqwest::Method;
use serde_json::{Value, json};

use clowder_schemas::{ClientId, PatientId};

use crate::api::Api;
use crate::bodies::{NewClient, NewUser, staff_accounts};
use crate::cli::SETUP_BUDGET;
use crate::load::{Workload, drive};
use crate::report::{AUTOSAVE, CHART_ONE, CHART_OPEN, ScenarioSummary};
use crate::run::progress;
use crate::scenarios::{Plan, in_parallel};

/// How much history the chart's cat has (issue 15: ≈ 60 visits, 300 vitals, 40
/// vaccinations, 80 prescriptions over 10 years).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct History {
    pub years: i64,
    pub visits: usize,
    pub vitals: usize,
    pub vaccinations: usize,
    pub prescriptions: usize,
    pub problems: usize,
}

/// The cat.
pub const HISTORY: History =
    History { years: 10, visits: 60, vitals: 300, vaccinations: 40, prescriptions: 80, problems: 6 };

/// Prescriptions left active (the rest are completed as soon as written).
const ACTIVE_PRESCRIPTIONS: usize = 4;

/// Drugs the seed prescribes in turn: `(drug, form, strength, dose per kg, route, frequency,
/// quantity)`, none interacting with another (the interaction fact set's pairs are NSAIDs,
/// corticosteroids with insulin, opioids with gabapentinoids, amlodipine with ACE
/// inhibitors), each in its feline range for a 3–6 kg cat.
const DRUGS: &[(&str, &str, f64, f64, &str, &str, f64)] = &[
    ("amoxicillin-clavulanate", "tablet", 62.5, 12.5, "oral", "q12h", 14.0),
    ("methimazole", "tablet", 2.5, 0.5, "oral", "q12h", 60.0),
    ("gabapentin", "solution", 50.0, 10.0, "oral", "q12h", 10.0),
    ("maropitant", "injectable", 10.0, 1.0, "sc", "q24h", 1.0),
    ("prednisolone", "solution", 3.0, 1.0, "oral", "q24h", 15.0),
    ("amlodipine", "tablet", 1.25, 0.25, "oral", "q24h", 30.0),
];

/// Problems on the list: `(name, status)`.
const PROBLEMS: &[(&str, &str)] = &[
    ("Upper respiratory infection (feline herpesvirus suspected)", "resolved"),
    ("Dental disease, tooth resorption 307 and 407", "chronic"),
    ("Hyperthyroidism", "chronic"),
    ("Chronic kidney disease, IRIS stage 2", "chronic"),
    ("Systemic hypertension", "active"),
    ("Overweight (BCS 7/9)", "resolved"),
];

/// Rows of the requests a chart screen makes, in the order of [`chart_requests`].
pub const CHART_ROWS: [&str; 7] = [
    "chart-patient",
    "chart-timeline",
    "chart-vitals",
    "chart-weights",
    "chart-problems",
    "chart-vaccinations",
    "chart-prescriptions",
];

/// The paths a chart screen asks for when it opens, one per [`CHART_ROWS`] row: the banner's
/// cat, the timeline's first page, the latest vitals, the weight history for the chart (as
/// many points as a page holds), the problem list, the vaccinations with the due list, the
/// active prescriptions (the chart's "active medications"; the whole list is a tap away).
pub fn chart_requests(patient: PatientId) -> [String; 7] {
    let p = format!("/api/patients/{patient}");
    [
        p.clone(),
        format!("{p}/timeline?limit=20"),
        format!("{p}/vitals?limit=20"),
        format!("{p}/weights?limit=200"),
        format!("{p}/problems"),
        format!("{p}/vaccinations"),
        format!("{p}/prescriptions?status=active"),
    ]
}

/// The one request that answers the whole chart (row `chart-one`).
pub fn chart_one(patient: PatientId) -> String {
    format!("/api/patients/{patient}/chart")
}

/// The weight of the cat on day `i` of `n` of its history: 3.6 kg at one, up to 5.6 kg in
/// its middle years, down to 4.2 kg as a senior with kidney disease; a little noise.
pub fn weight_kg(i: usize, n: usize) -> f64 {
    let t = i as f64 / n.max(1) as f64;
    let trend = if t < 0.5 { 3.6 + 4.0 * t } else { 5.6 - 2.8 * (t - 0.5) };
    let noise = ((i * 7919) % 11) as f64 * 0.01 - 0.05;
    ((trend + noise) * 100.0).round() / 100.0
}

/// Seeds the chart's cat and the autosave drafts, then measures. Returns the rows of
/// [`CHART_ROWS`], `chart-open`, `chart-one` and `autosave`.
pub async fn chart(api: &Arc<Api>, plan: &Plan) -> Result<Vec<ScenarioSummary>> {
    let (vet, patient, drafts) =
        tokio::time::timeout(SETUP_BUDGET * 4, setup(api, plan)).await.with_context(|| {
            format!("setting up the chart scenario took longer than {} s", SETUP_BUDGET.as_secs() * 4)
        })??;
    let urls = chart_requests(patient).iter().map(|p| vet.url(p)).collect::<Result<Vec<_>>>()?;
    let one = vet.url(&chart_one(patient))?;
    for (row, url) in CHART_ROWS.iter().chain([&CHART_ONE]).zip(urls.iter().chain([&one])) {
        match vet.probe_get(url).await {
            Ok(p) if p.ok() => progress(&format!("chart: {row} answers {} bytes", p.bytes)),
            Ok(p) => progress(&format!("chart: {row} answered {}: {}", p.status, p.failure.unwrap_or_default())),
            Err(e) => progress(&format!("chart: {row} failed: {e:#}")),
        }
    }
    let mut rows = Vec::new();
    for (row, url) in CHART_ROWS.iter().zip(&urls) {
        rows.push(measure(row, &vet, Workload::get(vec![url.clone()])?, plan).await?);
    }
    rows.push(measure(CHART_OPEN, &vet, Workload::sequence(urls)?, plan).await?);
    rows.push(measure(CHART_ONE, &vet, Workload::get(vec![one])?, plan).await?);
    rows.push(measure(AUTOSAVE, &vet, Workload::autosave(drafts)?, plan).await?);
    Ok(rows)
}

async fn measure(name: &str, api: &Arc<Api>, workload: Workload, plan: &Plan) -> Result<ScenarioSummary> {
    progress(&format!("chart: {name} on {} connections", plan.connections));
    let tally = drive(api.clone(), Arc::new(workload), plan.connections, plan.window, plan.seed)
        .await
        .with_context(|| format!("running {name}"))?;
    Ok(ScenarioSummary::new(name, plan.connections, plan.window.measure, &tally))
}

/// Makes the vet, the cat with its history and the drafts; returns the vet's API, the cat and
/// the drafts' URLs.
async fn setup(api: &Arc<Api>, plan: &Plan) -> Result<(Arc<Api>, PatientId, Vec<reqwest::Url>)> {
    let started = std::time::Instant::now();
    let (vet, staff_id) = vet_account(api, plan).await?;
    let staff_id: Arc<str> = staff_id.into();
    let client = api.create_client(&NewClient::seed(0)).await?;
    let now = Timestamp::now();
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    let born = today.checked_sub((HISTORY.years + 1).years()).context("a date of birth")?;
    let patient = create_cat(api, client, "Chart", born).await?;
    let h = HISTORY;
    progress(&format!(
        "chart: seeding {} vitals, {} vaccinations, {} visits with signed notes, {} prescriptions, {} problems",
        h.vitals, h.vaccinations, h.visits, h.prescriptions, h.problems
    ));
    let span = SignedDuration::from_hours(24 * 365 * h.years);
    let at = move |i: usize, n: usize| now - span + span.checked_div(n as i32).unwrap_or_default() * (i as i32);

    let vitals: Vec<(usize, Timestamp)> = (0..h.vitals).map(|i| (i, at(i, h.vitals))).collect();
    in_parallel(&vet, vitals, move |vet, (i, taken_at)| async move {
        let body = json!({"patient_id": patient, "taken_at": taken_at,
            "measurements": {"weight": {"value": weight_kg(i, h.vitals), "unit": "kg"},
                             "temperature_c": 38.3 + (i % 7) as f64 * 0.1, "heart_rate": 170 + (i % 9) * 5,
                             "bcs": {"score": 5 + (i * 3 / h.vitals), "scale": 9}}});
        vet.setup_json::<_, serde::de::IgnoredAny>(Method::POST, "/api/vitals", Some(&body)).await.map(drop)
    })
    .await?;

    let doses: Vec<usize> = (0..h.vaccinations).collect();
    in_parallel(&vet, doses, move |vet, i| async move {
        let given_on =
            (at(i, h.vaccinations) + SignedDuration::from_hours(24)).to_zoned(jiff::tz::TimeZone::UTC).date();
        let rabies = i % 2 == 1;
        let body = json!({"patient_id": patient, "vaccine": if rabies { "rabies" } else { "fvrcp" },
            "product": if rabies { "Purevax Rabies" } else { "Purevax RCP" }, "manufacturer": "Boehringer Ingelheim",
            "lot": format!("L{i:04}"), "given_on": given_on, "route": "subcutaneous",
            "site": if rabies { "right hind limb, distal" } else { "right forelimb, distal" },
            "label_years": if rabies { Some(1) } else { None }});
        vet.setup_json::<_, serde::de::IgnoredAny>(Method::POST, "/api/vaccinations", Some(&body)).await.map(drop)
    })
    .await?;

    let visits: Vec<usize> = (0..h.visits).collect();
    let staff = staff_id.clone();
    in_parallel(&vet, visits, move |vet, i| {
        let staff = staff.clone();
        async move {
            let visit = open_visit(&vet, patient, &staff, i).await?;
            let draft = json!({"revision": 1,
            "subjective": format!("Visit {i}: owner reports the cat is eating well, no vomiting or diarrhoea."),
            "objective": "BAR, well hydrated. Heart and lungs normal. Abdomen soft, non-painful.",
            "assessment": "Healthy senior cat; stable chronic conditions.",
            "plan": "Continue current medication; recheck bloods and blood pressure in 3 months."});
            let path = format!("/api/visits/{visit}/note/draft");
            vet.setup_json::<_, serde::de::IgnoredAny>(Method::PUT, &path, Some(&draft)).await?;
            let path = format!("/api/visits/{visit}/note/sign");
            vet.setup_json::<_, serde::de::IgnoredAny>(Method::POST, &path, Some(&json!({"revision": 1}))).await?;
            let path = format!("/api/visits/{visit}/complete");
            vet.setup_json::<_, serde::de::IgnoredAny>(Method::POST, &path, Some(&json!({}))).await.map(drop)
        }
    })
    .await?;

    // One after another: each is checked against the cat's active prescriptions.
    for i in 0..h.prescriptions {
        let (drug, form, strength, per_kg, route, frequency, quantity) = DRUGS[i % DRUGS.len()];
        let body = json!({"patient_id": patient, "drug": drug, "form": form, "strength": strength,
            "dose_per_kg": per_kg, "route": route, "frequency": frequency, "quantity": quantity,
            "duration_days": 14, "instructions": "Give with a little food."});
        let rx: Value = vet.setup_json(Method::POST, "/api/prescriptions", Some(&body)).await?;
        if i + ACTIVE_PRESCRIPTIONS < h.prescriptions {
            let id = rx["id"].as_str().context("a prescription's id")?;
            let path = format!("/api/prescriptions/{id}/complete");
            vet.setup_json::<_, serde::de::IgnoredAny>(Method::POST, &path, Some(&json!({}))).await?;
        }
    }

    for (i, &(name, status)) in PROBLEMS.iter().enumerate().take(h.problems) {
        let onset = at(i * 8 + 10, 60).to_zoned(jiff::tz::TimeZone::UTC).date();
        let mut body = json!({"patient_id": patient, "name": name, "type": "primary", "status": status,
                              "onset": onset});
        if status == "resolved" {
            body["resolved_on"] = json!(onset.checked_add(30.days()).context("a resolution date")?);
        }
        vet.setup_json::<_, serde::de::IgnoredAny>(Method::POST, "/api/problems", Some(&body)).await?;
    }

    // The drafts autosaved: one open visit per connection, of another cat.
    let other = create_cat(api, client, "Draft", born).await?;
    let n: Vec<usize> = (0..usize::from(plan.connections)).collect();
    let drafts = in_parallel(&vet, n, move |vet, i| {
        let staff = staff_id.clone();
        async move {
            let visit = open_visit(&vet, other, &staff, i).await?;
            vet.url(&format!("/api/visits/{visit}/note/draft"))
        }
    })
    .await?;
    progress(&format!("chart: seeded in {:.1} s", started.elapsed().as_secs_f64()));
    Ok((vet, patient, drafts))
}

/// A veterinarian's account and staff profile (can prescribe); the API signed in as them.
async fn vet_account(api: &Arc<Api>, plan: &Plan) -> Result<(Arc<Api>, String)> {
    // A real account: its passwords come from the OS randomness behind `RandomState`.
    let account = staff_accounts(&format!("chart{}", plan.run_tag), 1, RandomState::new().hash_one(plan.seed))
        .pop()
        .context("a vet account")?;
    let body = NewUser {
        username: &account.username,
        display_name: &account.display_name,
        password: &account.temporary_password,
        roles: ["veterinarian"],
    };
    let user: Value = api.setup_json(Method::POST, "/api/users", Some(&body)).await?;
    let user_id = user["id"].as_str().context("the new user's id")?.to_owned();
    let first = api.staff_sign_in(&account.new_user_credentials()).await?;
    api.change_password(&first, &account.password_change()).await?;
    let bearer = api.staff_sign_in(&account.credentials()).await?;
    let profile = json!({"user_id": user_id, "first_name": "Chart", "last_name": account.username,
                         "position": "veterinarian", "capabilities": {"can_prescribe": true}});
    let staff: Value = api.setup_json(Method::POST, "/api/staff", Some(&profile)).await?;
    let staff_id = staff["id"].as_str().context("the staff profile's id")?.to_owned();
    Ok((Arc::new(api.as_user(bearer)), staff_id))
}

async fn create_cat(api: &Api, client: ClientId, name: &str, born: jiff::civil::Date) -> Result<PatientId> {
    let body = json!({"client_id": client, "name": name, "breed": "Domestic Shorthair", "date_of_birth": born});
    let cat: Value = api.setup_json(Method::POST, "/api/patients", Some(&body)).await?;
    cat["id"].as_str().context("the new cat's id")?.parse().context("the new cat's id")
}

async fn open_visit(vet: &Api, patient: PatientId, vet_id: &str, i: usize) -> Result<String> {
    let body = json!({"patient_id": patient, "vet_id": vet_id, "type": if i.is_multiple_of(3) { "wellness" } else { "sick" },
                      "chief_complaint": "Recheck: weight, thyroid and kidney values"});
    let visit: Value = vet.setup_json(Method::POST, "/api/visits", Some(&body)).await?;
    Ok(visit["id"].as_str().context("the new visit's id")?.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_weight_rises_then_falls_within_a_cats_range() {
        let w: Vec<f64> = (0..300).map(|i| weight_kg(i, 300)).collect();
        assert!(w.iter().all(|&kg| (3.0..6.0).contains(&kg)), "{w:?}");
        assert!(w[150] > w[0] + 1.5 && w[150] > w[299] + 1.0);
    }

    #[test]
    fn the_chart_asks_for_each_row() {
        let id: PatientId = "01JD7Y2Q4Z8W3N5K6M7P8R9S01".parse().unwrap();
        let paths = chart_requests(id);
        assert_eq!(paths.len(), CHART_ROWS.len());
        assert!(paths[3].ends_with("/weights?limit=200"));
        assert_eq!(chart_one(id), format!("{}/chart", paths[0]), "the one request names the same cat");
        assert!(DRUGS.len() > ACTIVE_PRESCRIPTIONS);
    }
}
