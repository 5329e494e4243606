//! `clowder`: the clinic's operations server.

use clap::{Parser, Subcommand};
use clowder::config::ServeArgs;

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
    /// Audit-trail tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
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

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::CheckConfig(args) => args.settings().map(|s| print!("{}", s.describe())),
        Command::Audit { command: AuditCommand::Verify { data_dir } } => audit_verify(&data_dir),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("clowder: {e:#}");
            std::process::ExitCode::FAILURE
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

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let settings = args.settings()?;
    clowder::telemetry::init(settings.log);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let app = clowder::Application::build(settings).await?;
        app.run_until(shutdown_signal()).await
    })
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
