//! A small actor runtime on plain tokio tasks.
//!
//! An actor is a task that owns its state and a **bounded** mailbox and handles one message
//! at a time, so it needs no locks. Callers hold a cloneable [`ActorRef`] and `ask` with a
//! timeout; a full mailbox is refused at once (the caller answers 503 with `Retry-After`),
//! never queued without bound.
//!
//! **Supervision.** Each message is handled inside `catch_unwind`. A panic fails only that
//! message (its reply channel is dropped, so the caller sees [`AskError::Failed`]); the actor
//! is then rebuilt by its factory from the last committed state in the store, and goes on
//! with the next message. No other actor notices.
//!
//! **Why hand-written and not ractor or kameo.** What we need is ~200 lines: bounded mpsc,
//! oneshot replies, catch_unwind, a registry with idle passivation. A bare idle
//! hand-written actor costs about 1.3 KB against 7–8 KB for the libraries (ARCHITECTURE.md;
//! ours measures ~5 KB per live client actor including its record, see docs/actors.md),
//! which matters with one actor per active patient and client; and the libraries' supervision trees model
//! restarts that lose in-memory state, where ours always restarts from the store. We keep
//! full control of metrics and passivation races without adapting to a library's lifecycle.

pub mod registry;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use tokio::sync::{mpsc, oneshot};

pub use registry::Registry;

use crate::metrics::KindMetrics;

/// The reply half carried by a message that expects an answer.
pub type Reply<T> = oneshot::Sender<T>;

/// Why an `ask` got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AskError {
    #[error("mailbox full")]
    Overloaded { retry_after: Duration },
    #[error("no answer in time")]
    Timeout,
    /// The handler panicked, or the actor stopped, before answering.
    #[error("actor failed")]
    Failed,
}

/// How long a caller is told to wait when a mailbox is full.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Something that handles messages one at a time.
pub trait Actor: Send + 'static {
    type Msg: Send + 'static;

    /// Handles one message. A panic here fails only this message.
    fn handle(&mut self, msg: Self::Msg) -> impl Future<Output = ()> + Send;

    /// True when the actor holds nothing worth keeping in memory (e.g. it was asked for a
    /// record that does not exist). A per-entity actor then passivates as soon as its
    /// mailbox is empty instead of after the idle period, so requests for unknown ids
    /// cannot fill memory with empty actors.
    fn is_vacant(&self) -> bool {
        false
    }
}

/// Builds (or rebuilds, after a panic) an actor from the store.
pub trait Factory<A: Actor>: Send + Sync + 'static {
    fn build(&self) -> impl Future<Output = Result<A, crate::Error>> + Send;
}

/// A cheap, cloneable address of an actor.
pub struct ActorRef<M> {
    tx: mpsc::Sender<M>,
    metrics: KindMetrics,
    ask_timeout: Duration,
}

impl<M> Clone for ActorRef<M> {
    fn clone(&self) -> Self {
        Self { tx: self.tx.clone(), metrics: self.metrics.clone(), ask_timeout: self.ask_timeout }
    }
}

impl<M: Send + 'static> ActorRef<M> {
    /// Sends a message built around a reply channel and waits for the answer.
    pub async fn ask<R>(&self, make: impl FnOnce(Reply<R>) -> M) -> Result<R, AskError> {
        let (tx, rx) = oneshot::channel();
        match self.try_send(make(tx)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                return Err(AskError::Overloaded { retry_after: RETRY_AFTER });
            }
            Err(mpsc::error::TrySendError::Closed(_)) => return Err(AskError::Failed),
        }
        self.wait(rx).await
    }

    pub(crate) fn try_send(&self, msg: M) -> Result<(), mpsc::error::TrySendError<M>> {
        match self.tx.try_send(msg) {
            Ok(()) => {
                self.metrics.mailbox_depth.inc();
                Ok(())
            }
            Err(e) => {
                if matches!(e, mpsc::error::TrySendError::Full(_)) {
                    self.metrics.rejected.inc();
                }
                Err(e)
            }
        }
    }

    pub(crate) async fn wait<R>(&self, rx: oneshot::Receiver<R>) -> Result<R, AskError> {
        match tokio::time::timeout(self.ask_timeout, rx).await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(_)) => Err(AskError::Failed),
            Err(_) => Err(AskError::Timeout),
        }
    }
}

/// Mailbox size and timeouts of one actor kind.
#[derive(Debug, Clone, Copy)]
pub struct ActorConfig {
    pub mailbox: usize,
    pub ask_timeout: Duration,
    /// Per-entity actors stop after this long without a message (singletons never do).
    pub idle_after: Duration,
    /// Most live per-entity actors of one kind: past it, the least recently asked are
    /// passivated at once instead of after `idle_after`, so a burst (an import, a load test,
    /// a morning of new clients) cannot hold thousands of records in memory for minutes.
    pub max_live: usize,
}

impl Default for ActorConfig {
    fn default() -> Self {
        Self {
            mailbox: 64,
            ask_timeout: Duration::from_secs(10),
            idle_after: Duration::from_secs(120),
            max_live: DEFAULT_MAX_LIVE,
        }
    }
}

/// Live actors per kind before the least recently asked are passivated. A clinic's busy day
/// touches a few hundred cats and clients; at a few KiB each (record, mailbox, task), 1,000
/// per kind bound the actors' memory to a few MiB (measured in docs/performance.md).
pub const DEFAULT_MAX_LIVE: usize = 1_000;

/// Starts a long-lived (never passivated) actor.
pub fn spawn<A: Actor, F: Factory<A>>(factory: F, config: ActorConfig, metrics: KindMetrics) -> ActorRef<A::Msg> {
    let (tx, rx) = mpsc::channel(config.mailbox);
    let r = ActorRef { tx, metrics: metrics.clone(), ask_timeout: config.ask_timeout };
    tokio::spawn(run(Arc::new(factory), rx, metrics, None::<NoPassivation>));
    r
}

/// How a per-entity actor leaves its registry (passivation).
pub(crate) trait Passivation<M>: Send + 'static {
    /// Leaves the registry if the mailbox is still empty, closing it; `true` if it left.
    fn try_leave(&self, rx: &mut mpsc::Receiver<M>) -> bool;
    /// Called once the actor has handled everything queued and is about to exit.
    fn finished(&self);
    /// The previous generation of this entity, still finishing; wait for it before loading.
    fn previous(&self) -> Option<Arc<tokio::sync::Semaphore>>;
    fn idle_after(&self) -> Duration;
}

struct NoPassivation;
impl<M> Passivation<M> for NoPassivation {
    fn try_leave(&self, _: &mut mpsc::Receiver<M>) -> bool {
        false
    }
    fn finished(&self) {}
    fn previous(&self) -> Option<Arc<tokio::sync::Semaphore>> {
        None
    }
    fn idle_after(&self) -> Duration {
        Duration::MAX
    }
}

/// The actor loop: build, handle messages under supervision, passivate when idle or vacant.
pub(crate) async fn run<A: Actor, F: Factory<A>, P: Passivation<A::Msg>>(
    factory: Arc<F>,
    mut rx: mpsc::Receiver<A::Msg>,
    metrics: KindMetrics,
    passivation: Option<P>,
) {
    metrics.active.inc();
    if let Some(previous) = passivation.as_ref().and_then(|p| p.previous()) {
        // Resolves (with an error) once the previous generation closes it.
        let _ = previous.acquire().await;
    }
    let mut actor = match factory.build().await {
        Ok(a) => Some(a),
        Err(e) => {
            tracing::error!(kind = metrics.kind, error = %e, "actor failed to start; refusing its messages");
            None
        }
    };
    let idle = passivation.as_ref().map_or(Duration::MAX, |p| p.idle_after());
    loop {
        let leave = match tokio::time::timeout(idle, rx.recv()).await {
            Ok(Some(msg)) => {
                metrics.mailbox_depth.dec();
                handle_one(&mut actor, &*factory, msg, &metrics).await;
                // An actor that could not (re)build from the store, or holds nothing, goes.
                actor.as_ref().is_none_or(Actor::is_vacant)
            }
            Ok(None) => break,
            Err(_) => true,
        };
        if !leave {
            continue;
        }
        let left = match &passivation {
            Some(p) => p.try_leave(&mut rx),
            None if actor.is_none() => {
                rx.close();
                true
            }
            None => false,
        };
        if left {
            // Messages sent before we left are still handled (or, without an actor, dropped:
            // their callers see `Failed`).
            while let Some(msg) = rx.recv().await {
                metrics.mailbox_depth.dec();
                handle_one(&mut actor, &*factory, msg, &metrics).await;
            }
            break;
        }
    }
    // The state goes before the next generation may load.
    drop(actor);
    if let Some(p) = &passivation {
        p.finished();
    }
    metrics.active.dec();
}

async fn handle_one<A: Actor, F: Factory<A>>(actor: &mut Option<A>, factory: &F, msg: A::Msg, m: &KindMetrics) {
    let Some(a) = actor.as_mut() else {
        return; // dropping `msg` drops its reply: the caller sees `Failed`
    };
    let started = Instant::now();
    // Boxed so an idle actor's task stays small: the handler's state machine exists only
    // while a message is being handled.
    let outcome = AssertUnwindSafe(Box::pin(a.handle(msg))).catch_unwind().await;
    m.handling_seconds.observe(started.elapsed().as_secs_f64());
    if outcome.is_err() {
        m.restarts.inc();
        tracing::error!(kind = m.kind, "actor handler panicked; restarting from the store");
        *actor = match factory.build().await {
            Ok(a) => Some(a),
            Err(e) => {
                tracing::error!(kind = m.kind, error = %e, "actor could not restart");
                None
            }
        };
    }
}

#[cfg(test)]
mod tests;
