//! The HTTP scenarios: their setup (seeding the data they need) and their workload.
//!
//! `read` seeds a small set of clients, each with one cat, then reads the cats at random;
//! `write` creates clients with unique data. Both return one [`ScenarioSummary`].

use std::sync::Arc;

use anyhow::{Context, Result};
use tokio::task::JoinSet;

use clowder_schemas::PatientId;

use crate::api::Api;
use crate::bodies::{NewClient, NewPatient};
use crate::cli::SETUP_BUDGET;
use crate::load::{Window, Workload, drive};
use crate::report::ScenarioSummary;

/// Concurrent requests while seeding: enough to seed a few hundred records in seconds,
/// few enough not to be a load test of its own.
const SEED_WORKERS: u32 = 16;

/// How a run drives its scenarios.
#[derive(Debug, Clone)]
pub struct Plan {
    pub connections: u16,
    pub window: Window,
    /// Clients (each with one patient) seeded for `read`.
    pub read_set: u32,
    /// Distinguishes this run's data from earlier runs' in the same data directory.
    pub run_tag: String,
    pub seed: u64,
}

/// Seeds the read set, then reads it at random.
pub async fn read(api: &Arc<Api>, plan: &Plan) -> Result<ScenarioSummary> {
    let ids = tokio::time::timeout(SETUP_BUDGET, seed_patients(api, plan.read_set))
        .await
        .with_context(|| format!("seeding the read set took longer than {} s", SETUP_BUDGET.as_secs()))??;
    let workload = Workload::read_patients(ids)?;
    run("read", api, workload, plan).await
}

/// Creates clients with data unique to this run.
pub async fn write(api: &Arc<Api>, plan: &Plan) -> Result<ScenarioSummary> {
    let workload = Workload::create_clients(plan.run_tag.clone());
    run("write", api, workload, plan).await
}

async fn run(name: &str, api: &Arc<Api>, workload: Workload, plan: &Plan) -> Result<ScenarioSummary> {
    let tally = drive(api.clone(), Arc::new(workload), plan.connections, plan.window, plan.seed)
        .await
        .with_context(|| format!("running the {name} scenario"))?;
    Ok(ScenarioSummary::new(name, plan.connections, plan.window.measure, &tally))
}

/// Creates `count` clients with one patient each and returns the patients' ids.
async fn seed_patients(api: &Arc<Api>, count: u32) -> Result<Vec<PatientId>> {
    let mut workers = JoinSet::new();
    for worker in 0..SEED_WORKERS.min(count) {
        let api = api.clone();
        let numbers = (worker..count).step_by(SEED_WORKERS as usize);
        workers.spawn(async move { seed_some(&api, numbers).await });
    }
    let mut ids = Vec::with_capacity(count as usize);
    while let Some(joined) = workers.join_next().await {
        ids.extend(joined.context("a seeding task panicked")??);
    }
    Ok(ids)
}

async fn seed_some(api: &Api, numbers: impl Iterator<Item = u32>) -> Result<Vec<PatientId>> {
    let mut ids = Vec::new();
    for n in numbers.map(u64::from) {
        let client = api.create_client(&NewClient::seed(n)).await.context("seeding the read set")?;
        let patient = api.create_patient(&NewPatient::for_client(client, n)).await.context("seeding the read set")?;
        ids.push(patient);
    }
    Ok(ids)
}
