//! `clowder-loadtests`: parses the command line, runs the chosen scenarios on a runtime of
//! its own under a hard time cap, and prints the report (a table, or JSON lines).

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use clap::Parser;

use clowder_loadtests::cli::{Args, Scenario};
use clowder_loadtests::report::Report;
use clowder_loadtests::run::run;
use clowder_loadtests::{backups, clinic, compare, drill, hl7, reminders, ward};

/// How long the runtime may wait for stragglers (a blocking fsync stuck in the kernel) once
/// the run is over or aborted.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

fn main() -> ExitCode {
    let args = Args::parse();
    // `compare` has a report of its own; every other scenario shares `Report`.
    let done = match args.scenario {
        Scenario::Compare => run_capped(&args, compare::run(&args)).and_then(|report| {
            let text = if args.json { report.to_json_lines()? } else { report.to_markdown() };
            print_text(&text)
        }),
        Scenario::Clinic => run_capped(&args, clinic::run(&args))
            .and_then(|r| print_text(&if args.json { json_line(&r)? } else { r.to_text() })),
        Scenario::Backup => run_capped(&args, backups::run(&args))
            .and_then(|r| print_text(&if args.json { json_line(&r)? } else { r.to_text() })),
        Scenario::BackupNow => run_capped(&args, backups::now(&args)).and_then(|text| print_text(&text)),
        Scenario::DrillWriter => run_capped(&args, drill::writer(&args)).and_then(|r| print_text(&r.to_text())),
        Scenario::DrillCheck => run_capped(&args, drill::check(&args)).and_then(|r| print_text(&r.to_text())),
        Scenario::Hl7 => run_capped(&args, hl7::run(&args))
            .and_then(|r| print_text(&if args.json { json_line(&r)? } else { r.to_text() })),
        Scenario::Reminders => run_capped(&args, reminders::run(&args))
            .and_then(|r| print_text(&if args.json { json_line(&r)? } else { r.to_text() })),
        Scenario::Ward => run_capped(&args, ward::run(&args))
            .and_then(|r| print_text(&if args.json { json_line(&r)? } else { r.to_text() })),
        _ => run_capped(&args, run(&args)).and_then(|report| print_report(&report, args.json)),
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The cause chain, without the backtrace `RUST_BACKTRACE` would add to `Debug`.
            eprintln!("clowder-loadtests: error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}

fn run_capped<T>(args: &Args, run: impl Future<Output = Result<T>>) -> Result<T> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")?;
    let cap = args.hard_cap();
    let outcome = runtime.block_on(async { tokio::time::timeout(cap, run).await });
    // Dropping a runtime waits for blocking tasks without limit; this does not.
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
    outcome.map_err(|_| anyhow!("the run exceeded its hard cap of {} s and was stopped", cap.as_secs()))?
}

fn print_report(report: &Report, json: bool) -> Result<()> {
    let text = if json { report.to_json_lines()? } else { report.to_text() };
    print_text(&text)
}

/// One JSON object on one line.
fn json_line(value: &impl serde::Serialize) -> Result<String> {
    Ok(serde_json::to_string(value).context("writing the report as JSON")? + "\n")
}

fn print_text(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes()).context("writing the report")?;
    stdout.flush().context("writing the report")
}
