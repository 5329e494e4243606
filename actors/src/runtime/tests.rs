//! Runtime behaviour: supervision, overload, timeouts, passivation and reactivation.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::registry::KeyedFactory;
use super::*;
use crate::metrics::RuntimeMetrics;

/// "Committed" counters per key, standing in for the store.
#[derive(Default)]
struct Committed(Mutex<std::collections::HashMap<u128, u64>>);

struct Counter {
    key: u128,
    value: u64,
    store: Arc<Committed>,
    generations: Arc<Generations>,
}

/// Live generations of the test actor, and the most ever live at once.
#[derive(Default)]
struct Generations {
    live: std::sync::atomic::AtomicI64,
    most: std::sync::atomic::AtomicI64,
}

impl Drop for Counter {
    fn drop(&mut self) {
        self.generations.live.fetch_sub(1, Ordering::SeqCst);
    }
}

enum Msg {
    Add(u64, Reply<u64>),
    /// Changes memory, then panics before committing.
    AddThenPanic(u64, Reply<u64>),
    Get(Reply<u64>),
    Slow(Duration, Reply<()>),
    /// Signals that handling started, then waits for the gate.
    Hold(tokio::sync::oneshot::Sender<()>, tokio::sync::oneshot::Receiver<()>, Reply<()>),
}

impl Actor for Counter {
    type Msg = Msg;

    fn is_vacant(&self) -> bool {
        self.value == u64::MAX
    }

    async fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Add(n, reply) => {
                self.value += n;
                self.store.0.lock().unwrap().insert(self.key, self.value);
                let _ = reply.send(self.value);
            }
            Msg::AddThenPanic(n, _reply) => {
                self.value += n;
                panic!("injected failure");
            }
            Msg::Get(reply) => {
                let _ = reply.send(self.value);
            }
            Msg::Hold(started, gate, reply) => {
                let _ = started.send(());
                let _ = gate.await;
                let _ = reply.send(());
            }
            Msg::Slow(d, reply) => {
                tokio::time::sleep(d).await;
                let _ = reply.send(());
            }
        }
    }
}

struct Loader {
    store: Arc<Committed>,
    builds: Arc<AtomicU64>,
    generations: Arc<Generations>,
}

impl KeyedFactory<Counter> for Loader {
    async fn build(&self, key: u128) -> Result<Counter, crate::Error> {
        self.builds.fetch_add(1, Ordering::SeqCst);
        let value = self.store.0.lock().unwrap().get(&key).copied().unwrap_or(0);
        let live = self.generations.live.fetch_add(1, Ordering::SeqCst) + 1;
        self.generations.most.fetch_max(live, Ordering::SeqCst);
        Ok(Counter { key, value, store: self.store.clone(), generations: self.generations.clone() })
    }
}

fn registry(config: ActorConfig) -> (Registry<Counter, Loader>, Arc<AtomicU64>, RuntimeMetrics) {
    let metrics = RuntimeMetrics::default();
    let builds = Arc::new(AtomicU64::new(0));
    let loader = Loader { store: Arc::new(Committed::default()), builds: builds.clone(), generations: Arc::default() };
    (Registry::new(loader, config, metrics.for_kind("counter")), builds, metrics)
}

fn config() -> ActorConfig {
    ActorConfig {
        mailbox: 8,
        ask_timeout: Duration::from_secs(5),
        idle_after: Duration::from_secs(60),
        max_live: 1_000,
    }
}

#[tokio::test]
async fn a_panic_fails_one_request_and_the_actor_restarts_from_committed_state() {
    let (reg, builds, metrics) = registry(config());
    assert_eq!(reg.ask(1, |r| Msg::Add(5, r)).await, Ok(5));
    assert_eq!(reg.ask(2, |r| Msg::Add(7, r)).await, Ok(7));

    assert_eq!(reg.ask(1, |r| Msg::AddThenPanic(100, r)).await, Err(AskError::Failed));

    // The uncommitted +100 is gone; the committed 5 is back; the actor serves again.
    assert_eq!(reg.ask(1, Msg::Get).await, Ok(5));
    assert_eq!(reg.ask(1, |r| Msg::Add(1, r)).await, Ok(6));
    // The other actor never noticed.
    assert_eq!(reg.ask(2, Msg::Get).await, Ok(7));
    assert_eq!(builds.load(Ordering::SeqCst), 3, "two activations and one restart");
    let restarts = metrics.restarts.get_or_create_owned(&crate::metrics::KindLabel { kind: "counter".into() }).get();
    assert_eq!(restarts, 1);
}

#[tokio::test]
async fn a_full_mailbox_is_refused_at_once() {
    let (reg, _, metrics) = registry(ActorConfig { mailbox: 1, ..config() });
    let depth = metrics.mailbox_depth.get_or_create_owned(&crate::metrics::KindLabel { kind: "counter".into() });
    // Hold the actor busy inside a handler…
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    let (gate_tx, gate_rx) = tokio::sync::oneshot::channel();
    let r1 = reg.clone();
    let holder = tokio::spawn(async move { r1.ask(1, |r| Msg::Hold(started_tx, gate_rx, r)).await });
    started_rx.await.unwrap();
    // …fill its single mailbox slot…
    let r2 = reg.clone();
    let queued = tokio::spawn(async move { r2.ask(1, Msg::Get).await });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while depth.get() < 1 && tokio::time::Instant::now() < deadline {
        tokio::task::yield_now().await;
    }
    // …and the next message is refused without waiting.
    assert!(matches!(reg.ask(1, Msg::Get).await, Err(AskError::Overloaded { .. })));
    gate_tx.send(()).unwrap();
    assert_eq!(holder.await.unwrap(), Ok(()));
    assert_eq!(queued.await.unwrap(), Ok(0));
}

#[tokio::test]
async fn an_answer_that_takes_too_long_times_out() {
    let (reg, _, _) = registry(ActorConfig { ask_timeout: Duration::from_millis(50), ..config() });
    assert_eq!(reg.ask(1, |r| Msg::Slow(Duration::from_secs(2), r)).await, Err(AskError::Timeout));
}

#[tokio::test(start_paused = true)]
async fn idle_actors_passivate_and_reactivate_from_the_store() {
    let (reg, builds, _) = registry(ActorConfig { idle_after: Duration::from_secs(10), ..config() });
    assert_eq!(reg.ask(9, |r| Msg::Add(3, r)).await, Ok(3));
    assert_eq!(reg.live(), 1);
    // Paused time jumps straight to the idle deadline once every task is waiting.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while reg.live() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert_eq!(reg.live(), 0, "the idle actor left the registry");
    assert_eq!(reg.ask(9, Msg::Get).await, Ok(3), "state comes back from the store");
    assert_eq!(builds.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn many_concurrent_asks_across_passivation_lose_nothing() {
    let (reg, _, _) = registry(ActorConfig { idle_after: Duration::from_millis(1), mailbox: 1024, ..config() });
    let mut tasks = Vec::new();
    for i in 0..200u64 {
        let reg = reg.clone();
        tasks.push(tokio::spawn(async move {
            if i % 10 == 0 {
                tokio::task::yield_now().await;
            }
            reg.ask(u128::from(i % 4), |r| Msg::Add(1, r)).await
        }));
    }
    for t in tasks {
        assert!(t.await.unwrap().is_ok());
    }
    let mut total = 0;
    for k in 0..4 {
        total += reg.ask(k, Msg::Get).await.unwrap();
    }
    assert_eq!(total, 200);
}

#[tokio::test]
async fn a_vacant_actor_leaves_as_soon_as_its_mailbox_is_empty() {
    let (reg, builds, _) = registry(config());
    // u64::MAX marks "nothing to keep" for the test actor.
    assert_eq!(reg.ask(5, |r| Msg::Add(u64::MAX, r)).await, Ok(u64::MAX));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while reg.live() > 0 && tokio::time::Instant::now() < deadline {
        tokio::task::yield_now().await;
    }
    assert_eq!(reg.live(), 0, "the vacant actor left without waiting for the idle period");
    assert_eq!(reg.ask(5, Msg::Get).await, Ok(u64::MAX), "and comes back on demand");
    assert_eq!(builds.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_generations_of_one_entity_never_run_at_once() {
    let metrics = RuntimeMetrics::default();
    let generations: Arc<Generations> = Arc::default();
    let loader = Loader { store: Arc::default(), builds: Arc::default(), generations: generations.clone() };
    // Passivate constantly: after a millisecond idle, and whenever the value is "vacant".
    let config = ActorConfig { idle_after: Duration::from_millis(1), mailbox: 4096, ..config() };
    let reg = Registry::new(loader, config, metrics.for_kind("counter"));
    let mut tasks = Vec::new();
    for i in 0..400u64 {
        let reg = reg.clone();
        tasks.push(tokio::spawn(async move {
            if i % 7 == 0 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            reg.ask(1, |r| Msg::Add(1, r)).await
        }));
    }
    for t in tasks {
        assert!(t.await.unwrap().is_ok());
    }
    assert_eq!(reg.ask(1, Msg::Get).await, Ok(400), "no update was lost");
    assert_eq!(generations.most.load(Ordering::SeqCst), 1, "generations overlapped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_max_live_the_least_recently_asked_actors_are_passivated() {
    let generations: Arc<Generations> = Arc::default();
    let builds = Arc::new(AtomicU64::new(0));
    let loader = Loader { store: Arc::default(), builds: builds.clone(), generations: generations.clone() };
    let metrics = RuntimeMetrics::default();
    let reg = Registry::new(loader, ActorConfig { max_live: 3, ..config() }, metrics.for_kind("counter"));
    for key in 1..=3u128 {
        assert_eq!(reg.ask(key, |r| Msg::Add(10, r)).await, Ok(10));
    }
    // Key 1 is asked again, so the clock hand passes it over once.
    assert_eq!(reg.ask(1, Msg::Get).await, Ok(10));
    assert_eq!(reg.ask(4, |r| Msg::Add(1, r)).await, Ok(1));
    assert_eq!(reg.live(), 3, "the kind stays within max_live");
    // The evicted generation exits (its state is dropped) once its asks are answered.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while generations.live.load(Ordering::SeqCst) > 3 && tokio::time::Instant::now() < deadline {
        tokio::task::yield_now().await;
    }
    assert_eq!(generations.live.load(Ordering::SeqCst), 3, "the evicted actor's state was dropped");
    let before = builds.load(Ordering::SeqCst);
    assert_eq!(reg.ask(1, Msg::Get).await, Ok(10), "the recently asked actor stayed live");
    assert_eq!(builds.load(Ordering::SeqCst), before, "without being rebuilt");
    assert_eq!(reg.ask(2, Msg::Get).await, Ok(10), "an evicted actor comes back from the store");
    assert_eq!(builds.load(Ordering::SeqCst), before + 1);
    assert!(metrics.evicted.get_or_create(&crate::metrics::KindLabel { kind: "counter".into() }).get() >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eviction_under_load_loses_no_update() {
    let generations: Arc<Generations> = Arc::default();
    let loader = Loader { store: Arc::default(), builds: Arc::default(), generations: generations.clone() };
    let metrics = RuntimeMetrics::default();
    // Two live actors for eight keys: nearly every activation evicts another.
    let reg = Registry::new(loader, ActorConfig { max_live: 2, mailbox: 4096, ..config() }, metrics.for_kind("c"));
    let mut tasks = Vec::new();
    for i in 0..800u64 {
        let reg = reg.clone();
        tasks.push(tokio::spawn(async move { reg.ask(u128::from(i % 8), |r| Msg::Add(1, r)).await }));
    }
    for t in tasks {
        assert!(t.await.unwrap().is_ok());
    }
    let mut total = 0;
    for k in 0..8 {
        total += reg.ask(k, Msg::Get).await.unwrap();
    }
    // A new generation loads the committed value: had it started before the evicted one
    // finished its queued adds, those adds would be lost here.
    assert_eq!(total, 800, "no update was lost");
    assert!(generations.live.load(Ordering::SeqCst) <= 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passivate_all_lets_every_actor_go_and_they_come_back_from_the_store() {
    let generations: Arc<Generations> = Arc::default();
    let builds = Arc::new(AtomicU64::new(0));
    let loader = Loader { store: Arc::default(), builds: builds.clone(), generations: generations.clone() };
    let reg = Registry::new(loader, config(), RuntimeMetrics::default().for_kind("counter"));
    for key in 0..5u128 {
        assert_eq!(reg.ask(key, |r| Msg::Add(2, r)).await, Ok(2));
    }
    reg.passivate_all();
    assert_eq!(reg.live(), 0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while generations.live.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
        tokio::task::yield_now().await;
    }
    assert_eq!(generations.live.load(Ordering::SeqCst), 0, "every actor's state was dropped");
    assert_eq!(reg.ask(3, Msg::Get).await, Ok(2), "and comes back from the store");
    assert_eq!(builds.load(Ordering::SeqCst), 6);
}
