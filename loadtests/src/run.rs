//! One run from start to finish: check the target, sign in, measure the fsync floor while
//! the server is idle, then drive the scenarios in order and collect their figures.
//!
//! Each phase has its own time budget; the caller adds the hard cap over the whole run.

use std::sync::Arc;

use anyhow::{Context, Result};

use crate::api::{Api, PoolOptions};
use crate::bodies::run_tag;
use crate::cli::{Args, FSYNC_BUDGET, Scenario};
use crate::fsync::{self, FsyncFloor, FsyncTarget};
use crate::load::Window;
use crate::process::ServerProcess;
use crate::report::Report;
use crate::scenarios::{self, Plan};
use crate::scheduling::{AVAILABILITY_DAYS, AVAILABILITY_VETS};
use crate::target::parse_target;

/// Runs what `args` asks for. Progress goes to stderr; the report is returned for printing.
pub async fn run(args: &Args) -> Result<Report> {
    let mut report = Report::default();
    if args.scenario == Scenario::Fsync {
        report.fsync = Some(measure_floor(args).await?);
        return Ok(report);
    }
    let api = Arc::new(sign_in(args).await?);
    report.fsync = Some(measure_floor(args).await?);
    let plan = plan(args);
    if matches!(args.scenario, Scenario::Read | Scenario::All) {
        progress(&format!("read: seeding {} patients, then {} connections", plan.read_set, plan.connections));
        report.scenarios.push(scenarios::read(&api, &plan).await?);
    }
    if matches!(args.scenario, Scenario::Write | Scenario::All) {
        progress(&format!("write: {} connections", plan.connections));
        report.scenarios.push(scenarios::write(&api, &plan).await?);
    }
    if matches!(args.scenario, Scenario::Book | Scenario::All) {
        progress(&format!(
            "book: creating {} locations, {} vets and {} cats, then {} connections",
            plan.locations, plan.connections, plan.connections, plan.connections
        ));
        report.scenarios.push(scenarios::book(&api, &plan).await?);
    }
    if matches!(args.scenario, Scenario::Availability | Scenario::All) {
        progress(&format!(
            "availability: seeding 1 location, {AVAILABILITY_VETS} vets with {AVAILABILITY_DAYS} days of shifts and \
             bookings, then {} connections",
            plan.connections
        ));
        report.scenarios.push(scenarios::availability(&api, &plan).await?);
    }
    if args.scenario == Scenario::DayView {
        progress("day-view: seeding 1 location, 6 vets, 6 rooms, 45 clients, 60 cats and 60 appointments on one day");
        report.scenarios.push(scenarios::day_view(&api, &plan).await?);
    }
    if args.scenario == Scenario::Chart {
        progress(&format!(
            "chart: seeding a vet and a cat with 10 years of history, then {} connections",
            plan.connections
        ));
        report.scenarios.extend(crate::chart::chart(&api, &plan).await?);
    }
    if args.scenario == Scenario::Reports {
        progress(&format!("reports: AR ageing and revenue, then checkouts, {} connections", plan.connections));
        let today = plan.now.to_zoned(jiff::tz::TimeZone::UTC).date();
        report.scenarios.extend(crate::reports::reports(&api, &plan, today).await?);
    }
    if args.scenario == Scenario::Signin {
        progress(&format!(
            "signin: seeding 1 patient and {} users, then {} connections reading alone, then {} reading beside {} signing in",
            plan.signin_users, plan.connections, plan.connections, plan.signin_connections
        ));
        report.scenarios.extend(scenarios::signin(&api, &plan).await?);
    }
    if args.scenario == Scenario::Fanout {
        let server = args.server_pid.map(|pid| ServerProcess { pid });
        if server.is_none() {
            progress("fanout: no --server-pid, so no server CPU per frame nor RSS per socket");
        }
        progress(&format!("fanout: setting up 1 room, then {} dashboards", args.dashboards));
        let (rows, figures) = scenarios::fanout(&api, &plan, args.dashboards, server).await?;
        report.scenarios.extend(rows);
        report.fanout = Some(figures);
    }
    if args.scenario == Scenario::Search {
        let server = args.server_pid.map(|pid| ServerProcess { pid });
        if server.is_none() {
            progress("search: no --server-pid, so no server RSS");
        }
        progress(&format!(
            "search: seeding {} clients with 2 cats each, {} requests at a time",
            args.search_clients,
            crate::search::SEED_IN_FLIGHT
        ));
        let (rows, figures) = scenarios::search(
            &api,
            &plan,
            args.search_clients,
            args.search_connections,
            server,
            args.search_setup_budget(),
        )
        .await?;
        report.scenarios.extend(rows);
        report.search = Some(figures);
    }
    Ok(report)
}

/// Checks the address before any traffic, then signs in once for the whole run.
pub(crate) async fn sign_in(args: &Args) -> Result<Api> {
    let base = parse_target(&args.url, args.allow_remote)?;
    let password = args.password.as_deref().context(
        "no password: set CLOWDER_ADMIN_PASSWORD (or pass --password) to the admin password the server was started with",
    )?;
    progress(&format!("signing in to {base} as {:?}", args.username));
    let pool = PoolOptions { connections: args.pool_connections(), request_timeout: args.request_timeout() };
    Api::sign_in(&base, pool, &args.username, password).await
}

/// Measures the floor on a blocking thread, within its budget.
pub(crate) async fn measure_floor(args: &Args) -> Result<FsyncFloor> {
    let target = FsyncTarget::choose(args.data_dir.as_deref());
    let samples = args.fsync_samples;
    progress(&format!("fsync floor: {samples} rounds in {}", target.dir.display()));
    let measuring = tokio::task::spawn_blocking(move || fsync::measure(&target, samples));
    tokio::time::timeout(FSYNC_BUDGET, measuring)
        .await
        .with_context(|| format!("measuring the fsync floor took longer than {} s", FSYNC_BUDGET.as_secs()))?
        .context("the fsync measurement panicked")?
}

pub(crate) fn plan(args: &Args) -> Plan {
    let now = jiff::Timestamp::now();
    Plan {
        connections: args.connections(),
        window: Window { warmup: args.warmup(), measure: args.duration() },
        read_set: args.read_set,
        signin_users: args.signin_users,
        signin_connections: args.signin_connections,
        locations: args.locations,
        now,
        run_tag: run_tag(now.as_millisecond().unsigned_abs(), std::process::id()),
        // Only the spread of reads depends on it; truncating the nanoseconds is fine.
        seed: now.as_nanosecond() as u64,
    }
}

/// One line of progress on stderr (stdout is the report's).
pub(crate) fn progress(message: &str) {
    eprintln!("clowder-loadtests: {message}");
}
