//! Metrics the actor runtime and the store record. They live here (not in `ops`) because
//! this crate records them; `ops` registers them with the application's registry.
//! Each `System` owns its own metrics, so several servers in one test process never mix.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels an actor metric by the actor kind (`client`, `patient`, …).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: String,
}

fn seconds_histogram() -> Histogram {
    // 10 µs … ~10 s
    Histogram::new(exponential_buckets(0.000_01, 2.5, 16))
}

/// Per actor kind: mailbox depth, handling time, restarts, live actors, refused messages,
/// early passivations.
#[derive(Clone)]
pub struct RuntimeMetrics {
    pub mailbox_depth: Family<KindLabel, Gauge>,
    pub handling_seconds: Family<KindLabel, Histogram, fn() -> Histogram>,
    pub restarts: Family<KindLabel, Counter>,
    pub active: Family<KindLabel, Gauge>,
    pub rejected: Family<KindLabel, Counter>,
    pub evicted: Family<KindLabel, Counter>,
}

impl Default for RuntimeMetrics {
    fn default() -> Self {
        Self {
            mailbox_depth: Family::default(),
            handling_seconds: Family::new_with_constructor(seconds_histogram),
            restarts: Family::default(),
            active: Family::default(),
            rejected: Family::default(),
            evicted: Family::default(),
        }
    }
}

/// The metric handles of one actor kind, looked up once and shared by its actors.
#[derive(Clone)]
pub struct KindMetrics {
    pub kind: &'static str,
    pub mailbox_depth: Gauge,
    pub handling_seconds: Histogram,
    pub restarts: Counter,
    pub active: Gauge,
    pub rejected: Counter,
    pub evicted: Counter,
}

impl RuntimeMetrics {
    pub fn for_kind(&self, kind: &'static str) -> KindMetrics {
        let l = KindLabel { kind: kind.to_owned() };
        KindMetrics {
            kind,
            mailbox_depth: self.mailbox_depth.get_or_create_owned(&l),
            handling_seconds: self.handling_seconds.get_or_create_owned(&l),
            restarts: self.restarts.get_or_create_owned(&l),
            active: self.active.get_or_create_owned(&l),
            rejected: self.rejected.get_or_create_owned(&l),
            evicted: self.evicted.get_or_create_owned(&l),
        }
    }

    pub fn register(&self, r: &mut Registry) {
        r.register("clowder_actor_mailbox_depth", "Messages waiting in actor mailboxes", self.mailbox_depth.clone());
        r.register(
            "clowder_actor_handling_seconds",
            "Time an actor spends handling one message",
            self.handling_seconds.clone(),
        );
        r.register("clowder_actor_restarts", "Actor restarts after a panic in a handler", self.restarts.clone());
        r.register("clowder_actors_active", "Live actors", self.active.clone());
        r.register("clowder_actor_rejected", "Messages refused because a mailbox was full", self.rejected.clone());
        r.register(
            "clowder_actor_evicted",
            "Actors passivated early because their kind reached its most live actors",
            self.evicted.clone(),
        );
    }
}

/// Group-commit figures.
#[derive(Clone)]
pub struct StoreMetrics {
    pub batch_size: Histogram,
    pub commit_seconds: Histogram,
    pub queue_wait_seconds: Histogram,
    /// From queueing to the answer, for change sets someone waits for (a write's request):
    /// how long the store makes a write wait, read-audit batches and other writers included.
    pub waited_commit_seconds: Histogram,
    pub commits: Counter,
    pub commit_failures: Counter,
    pub change_sets: Counter,
}

impl Default for StoreMetrics {
    fn default() -> Self {
        Self {
            batch_size: Histogram::new(exponential_buckets(1.0, 2.0, 12)),
            commit_seconds: seconds_histogram(),
            queue_wait_seconds: seconds_histogram(),
            waited_commit_seconds: seconds_histogram(),
            commits: Counter::default(),
            commit_failures: Counter::default(),
            change_sets: Counter::default(),
        }
    }
}

impl StoreMetrics {
    pub fn register(&self, r: &mut Registry) {
        r.register("clowder_store_commit_batch_size", "Change sets per write transaction", self.batch_size.clone());
        r.register(
            "clowder_store_commit_seconds",
            "Duration of one durable commit (write transaction including fsync)",
            self.commit_seconds.clone(),
        );
        r.register(
            "clowder_store_queue_wait_seconds",
            "Time a change set waits for the commit task",
            self.queue_wait_seconds.clone(),
        );
        r.register(
            "clowder_store_waited_commit_seconds",
            "Time from queueing to the answer of a change set someone waits for (a write): the store's share of a write's latency",
            self.waited_commit_seconds.clone(),
        );
        r.register("clowder_store_commits", "Durable commits", self.commits.clone());
        r.register("clowder_store_commit_failures", "Failed commits", self.commit_failures.clone());
        r.register("clowder_store_change_sets", "Change sets committed", self.change_sets.clone());
    }
}
