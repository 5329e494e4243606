//! `Application::build(settings)`: open the store, start the actors, create the first
//! administrator, seed demo data if asked, bind the listener. `run_until` serves until the
//! shutdown signal, then drains: stop accepting, finish in-flight requests (bounded), commit
//! what is queued, close the store.
//!
//! Plain HTTP is served by `axum::serve`; with a certificate and key (`--tls-cert`,
//! `--tls-key`) the same router is served over HTTPS by axum-server with rustls (ring).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::extract::connect_info::IntoMakeServiceWithConnectInfo;
use clowder_actors::{System, SystemClock};
use tokio::net::TcpListener;

use crate::config::{Settings, TlsSettings};

/// How long in-flight requests get to finish after a shutdown signal; the whole shutdown
/// stays under the 10 s an orchestrator usually allows before SIGKILL.
const DRAIN: Duration = Duration::from_secs(8);

pub struct Application {
    listener: TcpListener,
    system: Arc<System>,
    settings: Settings,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let started = Instant::now();
        // One crypto provider for every crate (ARCHITECTURE.md): whatever asks rustls for the
        // process default (outgoing HTTPS, SMTP) gets ring. Already installed (several
        // applications in one test process): keep it.
        let _ = rustls::crypto::ring::default_provider().install_default();
        std::fs::create_dir_all(&settings.system.data_dir)
            .with_context(|| format!("creating the data directory {}", settings.system.data_dir.display()))?;
        let system = System::start(settings.system.clone(), Arc::new(SystemClock))
            .with_context(|| format!("opening the store in {}", settings.system.data_dir.display()))?;
        let system = Arc::new(system);
        crate::bootstrap::ensure_admin(&system, settings.admin_password.as_ref().map(crate::config::Secret::expose))
            .await?;
        if settings.demo {
            crate::demo::seed(&system).await?;
        }
        let listener =
            TcpListener::bind(settings.listen).await.with_context(|| format!("listening on {}", settings.listen))?;
        let info = system.store().info();
        tracing::info!(
            addr = %listener.local_addr()?,
            scheme = if settings.tls.is_some() { "https" } else { "http" },
            data_dir = %settings.system.data_dir.display(),
            store_open_ms = info.open_took.as_secs_f64() * 1000.0,
            recovered = info.recovered,
            last_event_seq = system.store().last_seq(),
            ready_ms = started.elapsed().as_secs_f64() * 1000.0,
            "clowder is ready"
        );
        let mut settings = settings;
        if settings.listen.port() == 0 {
            // The default origins name the listen port; with port 0 it is known only now.
            let port = listener.local_addr()?.port();
            for o in &mut settings.web.allowed_origins {
                if let Some(base) = o.strip_suffix(":0") {
                    *o = format!("{base}:{port}");
                }
            }
        }
        Ok(Application { listener, system, settings })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    pub fn system(&self) -> Arc<System> {
        self.system.clone()
    }

    /// Serves until `shutdown` completes, then shuts down in order.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let Application { listener, system, settings } = self;
        let state = clowder_web::AppState::new(system.clone(), settings.web.clone())
            .context("starting backups (CLOWDER_BACKUP_*)")?;
        let live = state.start_background();
        let background = state.clone();
        let app = clowder_web::router(state).into_make_service_with_connect_info::<SocketAddr>();
        // Start-up freed several MiB (the search index rebuild, the OpenAPI document's tree):
        // give them back now rather than at the allocator's first purge after the first
        // request, so an idle server rests at its working size (docs/performance.md, "Memory").
        // SAFETY: `mi_collect` has no preconditions; it frees only memory mimalloc owns.
        #[cfg(feature = "mimalloc")]
        unsafe {
            libmimalloc_sys::mi_collect(true)
        };
        match &settings.tls {
            None => serve_http(listener, app, shutdown).await?,
            Some(tls) => serve_https(listener, tls, app, shutdown).await?,
        }
        // The live gateway's hub and the backup schedule hold the store; they end before it closes.
        background.stop_background();
        live.abort();
        let _ = live.await;
        tracing::info!("stopped accepting; flushing and closing the store");
        system.shutdown().await;
        tracing::info!("store closed; goodbye");
        Ok(())
    }
}

type MakeService = IntoMakeServiceWithConnectInfo<axum::Router, SocketAddr>;

/// Accepted connections send small writes at once (`TCP_NODELAY`): a live frame must not wait
/// for the screen to acknowledge the previous one (Nagle's algorithm), which couples every
/// socket's latency to how fast its reader is scheduled.
fn without_nagle(listener: TcpListener) -> axum::serve::TapIo<TcpListener, fn(&mut tokio::net::TcpStream)> {
    use axum::serve::ListenerExt;
    fn nodelay(tcp: &mut tokio::net::TcpStream) {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY on a connection");
        }
    }
    listener.tap_io(nodelay as fn(&mut tokio::net::TcpStream))
}

/// Plain HTTP until `shutdown`, then in-flight requests get [`DRAIN`] to finish.
async fn serve_http(
    listener: TcpListener,
    app: MakeService,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let signalled = async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    };
    let server = axum::serve(without_nagle(listener), app).with_graceful_shutdown(signalled);
    let mut stop_rx2 = stop_rx.clone();
    let drain_deadline = async move {
        let _ = stop_rx2.wait_for(|s| *s).await;
        tokio::time::sleep(DRAIN).await;
    };
    tokio::select! {
        r = server => r.context("serving HTTP")?,
        _ = drain_deadline => tracing::warn!("in-flight requests did not finish in time; closing anyway"),
    }
    Ok(())
}

/// HTTPS (rustls) on the already bound listener until `shutdown`; then the same drain as
/// [`serve_http`]: stop accepting, give in-flight requests [`DRAIN`], then close the
/// connections still open.
async fn serve_https(
    listener: TcpListener,
    tls: &TlsSettings,
    app: MakeService,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listener = listener.into_std().context("handing the listener to the HTTPS server")?;
    let config = axum_server::tls_rustls::RustlsConfig::from_config(tls.server_config.clone());
    let handle = axum_server::Handle::new();
    let server = axum_server::from_tcp_rustls(listener, config)
        .context("handing the listener to the HTTPS server")?
        .handle(handle.clone())
        // Failed handshakes (plain HTTP sent to the HTTPS port, scanners, untrusting clients)
        // are the client's problem; not worth more than a debug line.
        .accept_error_handler(|peer, e| tracing::debug!(peer = ?peer, error = %e, "TLS connection refused"))
        // As over plain HTTP: small writes (live frames) go out at once.
        .map(|tls| tls.acceptor(axum_server::accept::NoDelayAcceptor::new()))
        .serve(app);
    tokio::pin!(server);
    let signalled = async move {
        shutdown.await;
        handle.graceful_shutdown(Some(DRAIN));
    };
    tokio::select! {
        r = &mut server => return r.context("serving HTTPS"),
        () = signalled => {}
    }
    let draining = Instant::now();
    server.await.context("serving HTTPS")?;
    if draining.elapsed() >= DRAIN {
        tracing::warn!("in-flight requests did not finish in time; closing anyway");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use axum::serve::Listener;

    use super::*;

    #[tokio::test]
    async fn accepted_connections_have_nagle_off() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut listener = without_nagle(listener);
        let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (stream, _) = listener.accept().await;
        assert!(stream.nodelay().unwrap());
    }
}
