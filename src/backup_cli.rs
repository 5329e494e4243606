//! The backup commands of the binary: `clowder backup run | list | verify | keygen` and
//! `clowder restore`. Composition only: the work is `clowder_ops::backup`'s. They run on a
//! stopped server's data directory or on the destination alone; a running server takes its
//! own backups (docs/backups.md).

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Subcommand;
use clowder_actors::{Clock, SystemClock};
use clowder_ops::backup::crypt::{self, Identities};
use clowder_ops::backup::destination::{Destination, DestinationConfig};
use clowder_ops::backup::manifest::BackupKind;
use clowder_ops::backup::restore::{self, RestorePoint};
use clowder_ops::backup::{BackupMetrics, Backups};

use crate::config::BackupArgs;

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Take a backup of a stopped server's store now (a running server backs up on its
    /// schedule, or on `POST /api/backups`).
    Run {
        /// A full backup even if an incremental one could continue the chain.
        #[arg(long)]
        full: bool,
        #[arg(long, env = "CLOWDER_DATA_DIR", default_value = "./data")]
        data_dir: std::path::PathBuf,
        /// The clinic's IANA time zone (for the daily full backup's time).
        #[arg(long, env = "CLOWDER_TIME_ZONE")]
        time_zone: Option<String>,
        #[command(flatten)]
        backup: crate::config::BackupArgs,
    },
    /// List the backups in the configured destination: age, kind, size, verification.
    List {
        #[command(flatten)]
        backup: crate::config::BackupArgs,
    },
    /// Restore a backup (with its chain) into a temporary directory and check it: hashes,
    /// rows per table, the whole hash chains. Needs the identity (private key).
    Verify {
        /// The backup's id, as `backup list` shows it.
        id: String,
        #[arg(long, env = "CLOWDER_BACKUP_IDENTITY")]
        identity: std::path::PathBuf,
        #[command(flatten)]
        backup: crate::config::BackupArgs,
    },
    /// Make a new key pair: writes the identity (private key) to --out, prints the recipient
    /// (public key) to set as CLOWDER_BACKUP_RECIPIENT. Keep the identity off the server.
    Keygen {
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    // Multi-threaded: restores decrypt and write on the calling worker (`block_in_place`).
    let _ = rustls::crypto::ring::default_provider().install_default();
    Ok(tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?)
}

fn destination_of(args: &BackupArgs) -> anyhow::Result<Destination> {
    let Some(config) = args.destination()? else {
        bail!("no backup destination: set CLOWDER_BACKUP_DIR or CLOWDER_BACKUP_S3_BUCKET (or the matching flags)");
    };
    Ok(Destination::open(&config)?)
}

/// Runs one `clowder backup` command.
pub fn backup(command: BackupCommand) -> anyhow::Result<()> {
    match command {
        BackupCommand::Keygen { out } => keygen(&out),
        BackupCommand::List { backup } => runtime()?.block_on(list(&backup)),
        BackupCommand::Verify { id, identity, backup } => runtime()?.block_on(async {
            let destination = destination_of(&backup)?;
            let identities = Identities::from_file(&identity).map_err(restore::RestoreError::Key)?;
            let scratch = std::env::temp_dir();
            let report = restore::verify(&destination, &identities, &id, &scratch, &|p| eprintln!("{p}")).await?;
            println!(
                "ok: {id} restores ({} backup(s) applied) in {:.1} s; rows, hashes and both hash chains check ({} events, {} audit entries)",
                report.applied.len(),
                report.took.as_secs_f64(),
                report.events,
                report.audit_entries
            );
            Ok(())
        }),
        BackupCommand::Run { full, data_dir, time_zone, backup } => runtime()?.block_on(run(full, &data_dir, time_zone, &backup)),
    }
}

fn keygen(out: &Path) -> anyhow::Result<()> {
    if out.exists() {
        bail!("{} exists; choose another file (an identity is never overwritten)", out.display());
    }
    let (identity, recipient) = crypt::generate();
    let text = format!(
        "# Clowder backup identity (age). Keep it OFF the server, in two safe places.\n# public key: {recipient}\n{identity}\n"
    );
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    use std::io::Write;
    opts.open(out)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .with_context(|| format!("writing {}", out.display()))?;
    println!("{recipient}");
    eprintln!(
        "identity written to {}; set CLOWDER_BACKUP_RECIPIENT={recipient} on the server and move the identity file off it",
        out.display()
    );
    Ok(())
}

async fn list(args: &BackupArgs) -> anyhow::Result<()> {
    let destination = destination_of(args)?;
    let all = restore::manifests(&destination).await?;
    if all.is_empty() {
        println!("no backups in {}", destination.describe());
        return Ok(());
    }
    let now = SystemClock.now();
    println!("{:<32} {:<12} {:>10} {:>12} {:>10}  verification", "id", "kind", "age", "size", "events");
    for m in &all {
        let age = now.duration_since(m.created_at);
        let age = if age.as_secs() < 3600 {
            format!("{} min", age.as_secs() / 60)
        } else if age.as_secs() < 48 * 3600 {
            format!("{} h", age.as_secs() / 3600)
        } else {
            format!("{} d", age.as_secs() / 86_400)
        };
        let verified = match &m.verification {
            Some(v) if v.ok => format!("ok at {}", v.verified_at.strftime("%Y-%m-%d %H:%M")),
            Some(v) => format!("FAILED: {}", v.detail),
            None => "not verified".into(),
        };
        println!(
            "{:<32} {:<12} {:>10} {:>12} {:>10}  {verified}",
            m.id,
            m.kind.as_str(),
            age,
            human_bytes(m.object_bytes),
            format!("..{}", m.to.events)
        );
    }
    println!("{} backup(s) in {}", all.len(), destination.describe());
    Ok(())
}

fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

async fn run(full: bool, data_dir: &Path, time_zone: Option<String>, args: &BackupArgs) -> anyhow::Result<()> {
    let Some(settings) = args.settings()? else {
        bail!(
            "no backup destination: set CLOWDER_BACKUP_DIR or CLOWDER_BACKUP_S3_BUCKET (and CLOWDER_BACKUP_RECIPIENT)"
        );
    };
    let zone = match time_zone {
        Some(name) => {
            jiff::tz::TimeZone::get(&name).with_context(|| format!("CLOWDER_TIME_ZONE: unknown time zone {name:?}"))?
        }
        None => jiff::tz::TimeZone::try_system().unwrap_or(jiff::tz::TimeZone::UTC),
    };
    let config = clowder_actors::SystemConfig::new(data_dir);
    let path = config.store_path();
    if !path.exists() {
        bail!("no store at {}", path.display());
    }
    let store_config = clowder_actors::store::StoreConfig {
        path: path.clone(),
        clinic_id: config.clinic_id.clone(),
        cache_bytes: config.cache_bytes,
        // Left as it is: the journal is the server's, on while it runs with backups.
        journal: None,
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store =
        clowder_actors::store::Store::open(&store_config, clock.clone(), Default::default()).with_context(|| {
            format!("opening {} (stop the server first; it backs up on its own schedule)", path.display())
        })?;
    let backups = Backups::new(store.clone(), clock, zone, settings, data_dir, BackupMetrics::default())?;
    let result = backups.run(full.then_some(BackupKind::Full)).await;
    let closing = store.clone();
    let _ = tokio::task::spawn_blocking(move || closing.close()).await;
    match result? {
        Some(m) => println!(
            "ok: {} backup {} stored in {}: {} bytes, events ..{}, audit ..{}; {}",
            m.kind.as_str(),
            m.id,
            backups.destination().describe(),
            m.object_bytes,
            m.to.events,
            m.to.audit,
            m.verification.map(|v| v.detail).unwrap_or_default()
        ),
        None => println!("ok: nothing changed since the last backup; it is current"),
    }
    Ok(())
}

/// `clowder restore`.
pub fn restore(
    from: &str,
    at: Option<&str>,
    identity: &Path,
    data_dir: &Path,
    args: &BackupArgs,
) -> anyhow::Result<()> {
    let point = match at {
        Some(a) => RestorePoint::parse(a).map_err(|e| anyhow::anyhow!(e))?,
        None => RestorePoint::Latest,
    };
    let config = match from.strip_prefix("s3://") {
        Some(rest) => {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let s3 = BackupArgs {
                backup_dir: None,
                backup_s3_bucket: Some(bucket.to_owned()),
                backup_s3_prefix: prefix.to_owned(),
                ..args.clone()
            };
            s3.destination()?.context("the S3 destination")?
        }
        None => DestinationConfig::Local { dir: from.into() },
    };
    if let DestinationConfig::Local { dir } = &config
        && !dir.is_dir()
    {
        return Err(restore::RestoreError::NoBackup(format!("{} is not a directory", dir.display())).into());
    }
    runtime()?.block_on(async {
        let destination = Destination::open(&config)?;
        let identities = Identities::from_file(identity).map_err(restore::RestoreError::Key)?;
        let report = restore::restore(&destination, &identities, &point, data_dir, &|p| eprintln!("{p}")).await?;
        let last = report.applied.last().map(|m| (m.id.clone(), m.created_at)).unwrap_or_default();
        println!(
            "ok: restored {} ({} backup(s), taken {}) into {} in {:.1} s: {} rows, {} events, {} audit entries; both hash chains intact. Start the server on this directory; it rebuilds the search index at start.",
            last.0,
            report.applied.len(),
            last.1,
            report.store.display(),
            report.took.as_secs_f64(),
            report.rows,
            report.events,
            report.audit_entries
        );
        anyhow::Ok(())
    })
}
