//! `clowder`: the clinic's operations server.

use clap::{Parser, Subcommand};
use clowder::config::ServeArgs;

// Why mimalloc: see the comment on the dependency in Cargo.toml and docs/performance.md.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "clowder", version, about = "Real-time operations server for feline veterinary clinics")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Print the effective configuration (secrets masked) and exit.
    CheckConfig(ServeArgs),
    /// Rebuild the search index (`<data dir>/index`) from the store, with a progress bar.
    /// The server must be stopped (the store is opened exclusively). The server also rebuilds
    /// the index by itself at start when it is missing or of another version.
    Reindex {
        #[arg(long, env = "CLOWDER_DATA_DIR", default_value = "./data")]
        data_dir: std::path::PathBuf,
    },
    /// Audit-trail tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Document contents on the medical record (docs/record-documents.md).
    Documents {
        #[command(subcommand)]
        command: DocumentsCommand,
    },
    /// Backups: take one, list them, verify one, make a key pair (docs/backups.md).
    Backup {
        #[command(subcommand)]
        command: clowder::backup_cli::BackupCommand,
    },
    /// Restore a backup (a full one and its increments, up to --at) into an empty data
    /// directory, then check it. Exit codes: 2 directory not empty or no such backup,
    /// 3 destination unreachable, 4 wrong key, 5 damaged backup or broken chain, 6 an
    /// increment is missing.
    Restore {
        /// The destination: a directory, or s3://bucket/prefix (credentials, endpoint and
        /// region from the CLOWDER_BACKUP_S3_* settings).
        #[arg(long)]
        from: String,
        /// An RFC 3339 time (the last backup at or before it) or an event sequence number
        /// (the first backup holding that event). Default: the newest backup.
        #[arg(long)]
        at: Option<String>,
        /// The age identity file (private key) the backups were encrypted for.
        #[arg(long, env = "CLOWDER_BACKUP_IDENTITY")]
        identity: std::path::PathBuf,
        /// An empty (or missing) directory to restore into.
        #[arg(long)]
        data_dir: std::path::PathBuf,
        #[command(flatten)]
        backup: clowder::config::BackupArgs,
    },
    /// Load tests only: write years of issued invoices (and clients to own them) straight into
    /// a stopped server's store, for the reports' measure (docs/performance.md "Reports").
    /// Start the server once first (it makes the location the invoices use).
    SeedInvoices {
        #[arg(long, env = "CLOWDER_DATA_DIR", default_value = "./data")]
        data_dir: std::path::PathBuf,
        /// Invoices to write, spread evenly over --years up to today.
        #[arg(long, default_value_t = 250_000)]
        invoices: u64,
        #[arg(long, default_value_t = 20_000)]
        clients: u64,
        #[arg(long, default_value_t = 5)]
        years: u32,
        /// Lines per invoice.
        #[arg(long, default_value_t = 4)]
        lines: u32,
        /// The clinic's IANA time zone (issue dates are local).
        #[arg(long, env = "CLOWDER_TIME_ZONE", default_value = "UTC")]
        time_zone: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walk the whole event log and audit trail and name the first broken link. The server
    /// must be stopped (the store is opened exclusively).
    Verify {
        #[arg(long, env = "CLOWDER_DATA_DIR", default_value = "./data")]
        data_dir: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum DocumentsCommand {
    /// Remove the content files under <data dir>/documents that no document record names
    /// (deactivated ones included) and that were last stored more than 24 h ago, as the daily
    /// clean-up does; prints each one. Audited as `document.content_swept`. The server must be
    /// stopped (the store is opened exclusively).
    Sweep {
        #[arg(long, env = "CLOWDER_DATA_DIR", default_value = "./data")]
        data_dir: std::path::PathBuf,
        /// Only print what would be removed.
        #[arg(long)]
        dry_run: bool,
    },
}

/// mimalloc's `mi_option_purge_delay` (its place in `mi_option_e`, which mimalloc keeps stable
/// for ABI compatibility; the sys crate names only some options).
#[cfg(feature = "mimalloc")]
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> std::process::ExitCode {
    // Freed memory goes back to the OS 100 ms after it is freed instead of mimalloc's default
    // second: purges run only when the allocator is used, so an idle server kept up to a
    // second's worth of freed pages for good (measured: 53 MiB idle RSS against 34 MiB).
    // SAFETY: no other thread exists yet (`mi_option_set` is not thread-safe).
    #[cfg(feature = "mimalloc")]
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 100)
    };
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::CheckConfig(args) => args.settings().map(|s| print!("{}", s.describe())),
        Command::Audit { command: AuditCommand::Verify { data_dir } } => audit_verify(&data_dir),
        Command::Reindex { data_dir } => reindex(&data_dir),
        Command::Documents { command: DocumentsCommand::Sweep { data_dir, dry_run } } => {
            documents_sweep(&data_dir, dry_run)
        }
        Command::Backup { command } => clowder::backup_cli::backup(command),
        Command::SeedInvoices { data_dir, invoices, clients, years, lines, time_zone } => {
            seed_invoices(&data_dir, invoices, clients, years, lines, &time_zone)
        }
        Command::Restore { from, at, identity, data_dir, backup } => {
            clowder::backup_cli::restore(&from, at.as_deref(), &identity, &data_dir, &backup)
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("clowder: {e:#}");
            let code = e.downcast_ref::<clowder_ops::backup::restore::RestoreError>().map_or(1, |r| r.exit_code());
            std::process::ExitCode::from(code)
        }
    }
}

fn audit_verify(data_dir: &std::path::Path) -> anyhow::Result<()> {
    let path = clowder_actors::SystemConfig::new(data_dir).store_path();
    if !path.exists() {
        anyhow::bail!("no store at {}", path.display());
    }
    let report = clowder_actors::store::verify_all(&path)?;
    println!(
        "ok: {} events and {} audit entries verified; both hash chains are intact ({})",
        report.events,
        report.audit_entries,
        path.display()
    );
    Ok(())
}

/// The store of a stopped server's data directory, for the offline commands; an error naming
/// the path (and `hint`) when there is none.
fn offline_store(
    config: &clowder_actors::SystemConfig,
    hint: &str,
) -> anyhow::Result<clowder_actors::store::StoreConfig> {
    let path = config.store_path();
    if !path.exists() {
        anyhow::bail!("no store at {}{hint}", path.display());
    }
    Ok(clowder_actors::store::StoreConfig {
        path,
        clinic_id: config.clinic_id.clone(),
        cache_bytes: config.cache_bytes,
        journal: None,
    })
}

fn reindex(data_dir: &std::path::Path) -> anyhow::Result<()> {
    use clowder_actors::store::Store;
    let config = clowder_actors::SystemConfig::new(data_dir);
    let store_config = offline_store(&config, "")?;
    // The store's commit thread and channels expect a runtime around them.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let clock: std::sync::Arc<dyn clowder_actors::Clock> = std::sync::Arc::new(clowder_actors::SystemClock);
        let store = Store::open(&store_config, clock, Default::default())?;
        let dir = clowder_actors::search::index_dir(data_dir);
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} records ({per_sec})",
            )
            .expect("the progress template is valid"),
        );
        let result = clowder_actors::search::rebuild(&store, &dir, &mut |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        });
        bar.finish_and_clear();
        let closing = store.clone();
        let _ = tokio::task::spawn_blocking(move || closing.close()).await;
        let (_, report) = result?;
        println!(
            "ok: search index rebuilt in {:.1} s: {} clients and {} patients, through event {} ({})",
            report.elapsed.as_secs_f64(),
            report.clients,
            report.patients,
            report.through_seq,
            dir.display()
        );
        anyhow::Ok(())
    })
}

fn documents_sweep(data_dir: &std::path::Path, dry_run: bool) -> anyhow::Result<()> {
    use clowder_actors::clinical::document_files::{DocumentFiles, SWEEP_GRACE};
    use clowder_actors::store::{ChangeSet, Store};
    let config = clowder_actors::SystemConfig::new(data_dir);
    let store_config = offline_store(&config, "")?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let clock: std::sync::Arc<dyn clowder_actors::Clock> = std::sync::Arc::new(clowder_actors::SystemClock);
        // The store first: opened exclusively, it proves no server is using the directory.
        let store = Store::open(&store_config, clock.clone(), Default::default())?;
        let files = DocumentFiles::new(data_dir, config.document_max_bytes, clock);
        let result = async {
            let report = files.sweep_unnamed(&store, dry_run).await?;
            if !dry_run && (!report.removed.is_empty() || !report.failed.is_empty()) {
                let caller = clowder_schemas::audit::Caller {
                    reason: Some("clowder documents sweep".into()),
                    ..clowder_schemas::audit::Caller::system()
                };
                let mut set = ChangeSet::new();
                set.audit(report.audit(&caller));
                store.commit(set).await?;
            }
            anyhow::Ok(report)
        }
        .await;
        let closing = store.clone();
        let _ = tokio::task::spawn_blocking(move || closing.close()).await;
        let report = result?;
        let verb = if dry_run { "would remove" } else { "removed" };
        for c in &report.removed {
            println!("{verb} {} ({} bytes, last stored {})", c.sha256, c.size, c.stored_at);
        }
        println!(
            "ok: {} {} content files ({} bytes) no record names, older than {} h; kept {} named and {} newer; {} failed ({})",
            verb,
            report.removed.len(),
            report.bytes,
            SWEEP_GRACE.as_hours(),
            report.named,
            report.fresh,
            report.failed.len(),
            data_dir.join(clowder_actors::clinical::document_files::DIR).display()
        );
        for why in &report.failed {
            eprintln!("clowder: could not check or remove {why}");
        }
        if !report.failed.is_empty() {
            anyhow::bail!("{} content files could not be checked or removed", report.failed.len());
        }
        anyhow::Ok(())
    })
}

fn seed_invoices(
    data_dir: &std::path::Path,
    invoices: u64,
    clients: u64,
    years: u32,
    lines: u32,
    time_zone: &str,
) -> anyhow::Result<()> {
    use clowder_actors::store::Store;
    let config = clowder_actors::SystemConfig::new(data_dir);
    let store_config = offline_store(&config, ": start the server on it once first")?;
    let zone = jiff::tz::TimeZone::get(time_zone)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let clock: std::sync::Arc<dyn clowder_actors::Clock> = std::sync::Arc::new(clowder_actors::SystemClock);
        let today = clock.today(&zone);
        let store = Store::open(&store_config, clock, Default::default())?;
        let plan = clowder_actors::billing::seed::SeedPlan { invoices, clients, years, lines, today };
        let started = std::time::Instant::now();
        let result = clowder_actors::billing::seed::seed_invoices(&store, &zone, plan, |n| {
            if n % 50_000 == 0 {
                eprintln!("clowder: {n} invoices written");
            }
        })
        .await;
        let closing = store.clone();
        let _ = tokio::task::spawn_blocking(move || closing.close()).await;
        let seeded = result?;
        println!(
            "ok: {} clients and {} invoices ({} open) over {years} years to {today} written in {:.1} s ({})",
            seeded.clients,
            seeded.invoices,
            seeded.open,
            started.elapsed().as_secs_f64(),
            store_config.path.display()
        );
        anyhow::Ok(())
    })
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let settings = args.settings()?;
    clowder::telemetry::init(settings.log);
    // One crypto provider for every crate (ARCHITECTURE.md), installed before anything builds
    // an HTTPS client (the error tracker's is built by `sentry::init`). Already installed: fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Kept to the end of `serve` (and so of `main`): dropping it flushes queued reports.
    let _tracking = clowder::telemetry::init_error_tracking(settings.error_tracking.as_ref())?;
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    #[cfg(feature = "mimalloc")]
    runtime.on_thread_park(collect_before_park);
    let runtime = runtime.build()?;
    runtime.block_on(async move {
        let app = clowder::Application::build(settings).await?;
        app.run_until(shutdown_signal()).await
    })
}

/// The shortest time between two collections of one worker's allocator heap.
#[cfg(feature = "mimalloc")]
const COLLECT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// Before a tokio worker parks, hands back the pages its allocator heap keeps for its next
/// allocations. mimalloc keeps one emptied page per size class in each thread's heap and frees
/// it only when that thread allocates again, which a parked worker does not; only the thread
/// itself can collect its heap (docs/performance.md, "After the load, 6 December third
/// session"). Measured: 47-51 MiB anonymous 5 s after `compare` against 52-58 without, no CPU
/// difference beyond the noise. At most every [`COLLECT_EVERY`] per worker, so a busy worker that
/// parks between requests does not pay it per request.
#[cfg(feature = "mimalloc")]
fn collect_before_park() {
    use std::cell::Cell;
    use std::time::Instant;
    thread_local! {
        static LAST: Cell<Option<Instant>> = const { Cell::new(None) };
    }
    let now = Instant::now();
    if LAST.get().is_some_and(|last| now.duration_since(last) < COLLECT_EVERY) {
        return;
    }
    LAST.set(Some(now));
    // SAFETY: `mi_collect` has no preconditions; it frees only what this thread's heap owns.
    unsafe { libmimalloc_sys::mi_collect(true) };
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received");
}
