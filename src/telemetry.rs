//! Structured logs: human-readable lines or JSON (`CLOWDER_LOG=json`), filtered by
//! `RUST_LOG` (default `info`). Each request's lines carry its request id (see
//! `clowder_web::middleware::observe`). And error tracking: the Sentry client, when
//! `CLOWDER_SENTRY_DSN` is set (what it sends and scrubs: `clowder_web::tracking`).

use tracing_subscriber::EnvFilter;

use crate::config::{ErrorTracking, LogFormat};

/// Installs the global subscriber. Idempotent: a second call (tests) is ignored.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only on a terminal: docker logs and files get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_ansi(ansi);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Starts the Sentry client (process-wide: its hub is global), with sentry's panic hook.
/// Keep the guard until the end of `main`: dropping it sends what is queued (for up to
/// `clowder_web::tracking::FLUSH_TIMEOUT`). `None`: tracking is off and nothing is ever sent
/// (not even to a `SENTRY_DSN` from the environment: the client is never created).
pub fn init_error_tracking(tracking: Option<&ErrorTracking>) -> anyhow::Result<Option<sentry::ClientInitGuard>> {
    let Some(t) = tracking else { return Ok(None) };
    let options = clowder_web::tracking::client_options(t.dsn.expose(), &t.environment, env!("CARGO_PKG_VERSION"))
        .map_err(|e| anyhow::anyhow!("CLOWDER_SENTRY_DSN: {e}"))?;
    let guard = sentry::init(options);
    tracing::info!(environment = %t.environment, "error tracking is on: panics and 5xx answers are reported, scrubbed");
    Ok(Some(guard))
}
