//! Per-entity ("virtual") actors: activated from the store on their first message,
//! passivated after an idle period, so memory stays bounded with a million patients on file.
//!
//! The passivation race (a caller took the address just before the actor leaves) is closed
//! in two steps. The actor leaves under the registry lock: it removes itself from the live
//! map and closes its mailbox there, so every later send fails with `Closed` and the caller
//! looks the key up again. Messages that got in before the close are still handled by the
//! leaving actor; meanwhile the key is marked *draining*, and a new activation of the key
//! waits until the old generation has finished before it loads from the store. So no message
//! is lost, and two generations of one entity never run at the same time.
//!
//! Memory pressure: a kind holds at most `ActorConfig::max_live` actors. Past it, activation
//! evicts by the clock (second-chance) rule over activation order: an actor asked since the
//! hand last passed keeps its place once, the others go. Eviction removes the actor from the
//! live map and marks its generation draining, like passivation; it drops the registry's
//! sender, so the actor exits as soon as the asks in flight (which hold their own senders)
//! are answered. The next ask activates a fresh generation that waits for the old one.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};

use super::{Actor, ActorConfig, ActorRef, AskError, Factory, Passivation, RETRY_AFTER, Reply, run};
use crate::metrics::KindMetrics;

/// Builds the actor for one key.
pub trait KeyedFactory<A: Actor>: Send + Sync + 'static {
    fn build(&self, key: u128) -> impl Future<Output = Result<A, crate::Error>> + Send;
}

/// Live actors of one kind, by key.
pub struct Registry<A: Actor, F: KeyedFactory<A>> {
    inner: Arc<Inner<A, F>>,
}

impl<A: Actor, F: KeyedFactory<A>> Clone for Registry<A, F> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone() }
    }
}

/// A live actor and its generation (which activation of this key it is).
type Entry<M> = (u64, ActorRef<M>);

/// A live actor as the registry keeps it.
struct Live<M> {
    generation: u64,
    actor: ActorRef<M>,
    /// Closed when this generation has finished (shared with its `Leave`).
    done: Arc<Semaphore>,
    /// Asked since the eviction hand last passed it.
    touched: bool,
}

struct Maps<M> {
    live: HashMap<u128, Live<M>>,
    /// Keys in activation order, with their generation, for the eviction clock; entries of
    /// generations that already left are skipped when the hand reaches them.
    order: VecDeque<(u128, u64)>,
    /// Generations that left the live map and are finishing their queued messages; the
    /// semaphore is closed when they are done.
    draining: HashMap<u128, (u64, Arc<Semaphore>)>,
}

struct Inner<A: Actor, F> {
    map: Mutex<Maps<A::Msg>>,
    next_generation: AtomicU64,
    factory: F,
    config: ActorConfig,
    metrics: KindMetrics,
}

impl<A: Actor, F> Inner<A, F> {
    fn map(&self) -> MutexGuard<'_, Maps<A::Msg>> {
        // A panic never happens while the lock is held; recover the map if it ever did.
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<A: Actor, F: KeyedFactory<A>> Registry<A, F> {
    pub fn new(factory: F, config: ActorConfig, metrics: KindMetrics) -> Self {
        Self {
            inner: Arc::new(Inner {
                map: Mutex::new(Maps { live: HashMap::new(), order: VecDeque::new(), draining: HashMap::new() }),
                next_generation: AtomicU64::new(1),
                factory,
                config,
                metrics,
            }),
        }
    }

    /// Asks the actor for `key`, activating it if needed.
    pub async fn ask<R>(&self, key: u128, make: impl FnOnce(Reply<R>) -> A::Msg) -> Result<R, AskError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let mut msg = make(tx);
        // Two rounds suffice: a `Closed` means the actor just passivated, and the next
        // lookup activates a fresh one; a third failure would be a bug, answered as `Failed`.
        for _ in 0..3 {
            let (generation, actor) = self.get_or_activate(key);
            match actor.try_send(msg) {
                Ok(()) => return actor.wait(rx).await,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    return Err(AskError::Overloaded { retry_after: RETRY_AFTER });
                }
                Err(mpsc::error::TrySendError::Closed(m)) => {
                    let mut map = self.inner.map();
                    if map.live.get(&key).is_some_and(|l| l.generation == generation) {
                        map.live.remove(&key);
                    }
                    msg = m;
                }
            }
        }
        Err(AskError::Failed)
    }

    fn get_or_activate(&self, key: u128) -> Entry<A::Msg> {
        let mut map = self.inner.map();
        if let Some(live) = map.live.get_mut(&key) {
            live.touched = true;
            return (live.generation, live.actor.clone());
        }
        let previous = map.draining.get(&key).map(|(_, done)| done.clone());
        let generation = self.inner.next_generation.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(self.inner.config.mailbox);
        let actor = ActorRef { tx, metrics: self.inner.metrics.clone(), ask_timeout: self.inner.config.ask_timeout };
        let done = Arc::new(Semaphore::new(0));
        map.live.insert(key, Live { generation, actor: actor.clone(), done: done.clone(), touched: false });
        map.order.push_back((key, generation));
        if map.live.len() > self.inner.config.max_live {
            self.evict(&mut map, key);
        }
        // Generations that passivated when idle leave their entry in `order` behind; compact
        // it when it holds more than twice the live actors (amortised: rarely, and linear).
        if map.order.len() > 2 * map.live.len() + 64 {
            let Maps { live, order, .. } = &mut *map;
            order.retain(|(k, g)| live.get(k).is_some_and(|l| l.generation == *g));
        }
        drop(map);
        let keyed = KeyFactory { inner: self.inner.clone(), key };
        let leave = Leave { inner: self.inner.clone(), key, generation, previous, done };
        tokio::spawn(run(Arc::new(keyed), rx, self.inner.metrics.clone(), Some(leave)));
        (generation, actor)
    }

    /// Evicts actors (never `keep`, the one being activated) until the kind is back within
    /// `max_live`, by the clock rule. Bounded: each entry is passed at most twice.
    fn evict(&self, map: &mut Maps<A::Msg>, keep: u128) {
        let mut budget = 2 * map.order.len();
        while map.live.len() > self.inner.config.max_live && budget > 0 {
            budget -= 1;
            let Some((key, generation)) = map.order.pop_front() else { break };
            let Some(live) = map.live.get_mut(&key).filter(|l| l.generation == generation) else {
                continue; // that generation already left
            };
            if key == keep || live.touched {
                live.touched = false;
                map.order.push_back((key, generation));
                continue;
            }
            if let Some(live) = map.live.remove(&key) {
                // Dropping `live.actor` drops the registry's sender: the actor exits once
                // the asks in flight are answered, and its `Leave::finished` clears this.
                map.draining.insert(key, (generation, live.done));
                self.inner.metrics.evicted.inc();
            }
        }
    }

    /// Number of live actors of this kind.
    pub fn live(&self) -> usize {
        self.inner.map().live.len()
    }

    /// Passivates every live actor of this kind now, as eviction does (each finishes the asks
    /// in flight; a new ask activates a fresh generation that waits for the old one): after
    /// bulk work such as demo seeding, which would otherwise keep its records in memory
    /// until they idle out.
    pub fn passivate_all(&self) {
        let mut map = self.inner.map();
        let live = std::mem::take(&mut map.live);
        map.order.clear();
        for (key, l) in live {
            map.draining.insert(key, (l.generation, l.done));
        }
    }

    /// Stops every actor of this kind: they finish what is queued, then exit.
    pub fn stop_all(&self) {
        let mut map = self.inner.map();
        map.live.clear();
        map.order.clear();
    }
}

struct KeyFactory<A: Actor, F> {
    inner: Arc<Inner<A, F>>,
    key: u128,
}

impl<A: Actor, F: KeyedFactory<A>> Factory<A> for KeyFactory<A, F> {
    fn build(&self) -> impl Future<Output = Result<A, crate::Error>> + Send {
        self.inner.factory.build(self.key)
    }
}

struct Leave<A: Actor, F> {
    inner: Arc<Inner<A, F>>,
    key: u128,
    generation: u64,
    /// The previous generation of this key, if it is still draining.
    previous: Option<Arc<Semaphore>>,
    /// Closed when this generation has finished.
    done: Arc<Semaphore>,
}

impl<A: Actor, F: Send + Sync + 'static> Passivation<A::Msg> for Leave<A, F> {
    fn try_leave(&self, rx: &mut mpsc::Receiver<A::Msg>) -> bool {
        let mut map = self.inner.map();
        if !rx.is_empty() {
            return false;
        }
        if map.live.get(&self.key).is_some_and(|l| l.generation == self.generation) {
            map.live.remove(&self.key);
        }
        // Closed under the lock: from here on, a send to this generation fails with
        // `Closed` and the caller activates a new one, which waits for `done`.
        rx.close();
        map.draining.insert(self.key, (self.generation, self.done.clone()));
        true
    }

    fn finished(&self) {
        let mut map = self.inner.map();
        if map.draining.get(&self.key).is_some_and(|(g, _)| *g == self.generation) {
            map.draining.remove(&self.key);
        }
        self.done.close();
    }

    fn previous(&self) -> Option<Arc<Semaphore>> {
        self.previous.clone()
    }

    fn idle_after(&self) -> Duration {
        self.inner.config.idle_after
    }
}
