//! The HTTP scenarios: their setup (seeding the data they need) and their workload.
//!
//! `read` seeds a small set of clients, each with one cat, then reads the cats at random;
//! `write` creates clients with unique data. Both return one [`ScenarioSummary`]. `signin`
//! seeds one cat and a few staff users, reads the cat alone, then reads it while the users
//! sign in over and over beside the reads, and returns three rows (see [`signin`]).

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::Arc;

use anyhow::{Context, Result};
use tokio::task::JoinSet;

use clowder_schemas::PatientId;

use crate::api::Api;
use crate::bodies::{NewClient, NewPatient, StaffAccount, staff_accounts};
use crate::cli::SETUP_BUDGET;
use crate::load::{Window, Workload, drive, drive_from};
use crate::report::{READ, READ_WITH_SIGNIN, SIGNIN, ScenarioSummary};

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
    /// Staff users created for `signin`.
    pub signin_users: u16,
    /// Connections signing in, in `signin`, beside `connections` reading.
    pub signin_connections: u16,
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

/// Seeds one patient and `signin_users` staff users (each past its first password change),
/// then runs two windows one after the other: GETs of the patient alone (row `read`), then the
/// same GETs with `signin_connections` connections signing in beside them (rows
/// `read+signin` and `signin`). Argon2 makes a sign-in expensive on purpose; the difference
/// between the two GET rows shows whether it holds up the other requests.
pub async fn signin(api: &Arc<Api>, plan: &Plan) -> Result<Vec<ScenarioSummary>> {
    let (ids, accounts) = tokio::time::timeout(SETUP_BUDGET, async {
        let ids = seed_patients(api, 1).await?;
        // The accounts are real ones on the server: their passwords come from the OS
        // randomness behind `RandomState`, not from the clock-based run seed.
        let accounts = staff_accounts(&plan.run_tag, plan.signin_users, RandomState::new().hash_one(plan.seed));
        create_staff(api, &accounts).await?;
        anyhow::Ok((ids, accounts))
    })
    .await
    .with_context(|| format!("setting up the signin scenario took longer than {} s", SETUP_BUDGET.as_secs()))??;
    let reads = Arc::new(Workload::read_patients(ids)?);
    let sign_ins = Arc::new(Workload::sign_in(accounts)?);

    let alone = drive(api.clone(), reads.clone(), plan.connections, plan.window, plan.seed)
        .await
        .context("running the GETs alone")?;

    let start = tokio::time::Instant::now();
    let beside = drive_from(start, api.clone(), reads, plan.connections, plan.window, plan.seed);
    let signing_in = drive_from(start, api.clone(), sign_ins, plan.signin_connections, plan.window, plan.seed);
    let (beside, signing_in) = tokio::join!(beside, signing_in);
    let beside = beside.context("running the GETs beside the sign-ins")?;
    let signing_in = signing_in.context("running the sign-ins")?;

    let row = |name: &str, connections: u16, tally| ScenarioSummary::new(name, connections, plan.window.measure, tally);
    Ok(vec![
        row(READ, plan.connections, &alone),
        row(READ_WITH_SIGNIN, plan.connections, &beside),
        row(SIGNIN, plan.signin_connections, &signing_in),
    ])
}

/// Creates each account, signs in with its temporary password and changes it, as a new
/// user must before anything else; a few accounts at a time.
async fn create_staff(api: &Arc<Api>, accounts: &[StaffAccount]) -> Result<()> {
    let mut workers = JoinSet::new();
    let workers_wanted = (SEED_WORKERS as usize).min(accounts.len());
    for worker in 0..workers_wanted {
        let api = api.clone();
        let mine: Vec<StaffAccount> = accounts.iter().skip(worker).step_by(SEED_WORKERS as usize).cloned().collect();
        workers.spawn(async move {
            for account in &mine {
                api.create_user(&account.new_user()).await?;
                let bearer = api.staff_sign_in(&account.new_user_credentials()).await?;
                api.change_password(&bearer, &account.password_change()).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(joined) = workers.join_next().await {
        joined.context("a task creating users panicked")?.context("creating the signin scenario's users")?;
    }
    Ok(())
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
