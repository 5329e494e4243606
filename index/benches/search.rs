//! What search costs in process on a generated clinic group (500,000 clients, 1,000,000 cats
//! by default): the full rebuild into an on-disk index, the index's size and the process's
//! memory, and query latency by query shape, alone and from 16 threads sharing one reader.
//! Prints figures beside the goals; asserts nothing.
//!
//! `cargo bench -p clowder-index --bench search`
//!
//! Sizes and counts come from the environment, so a quick run can use fewer:
//! `CLOWDER_BENCH_CLIENTS` (500000), `CLOWDER_BENCH_PATIENTS` (1000000),
//! `CLOWDER_BENCH_QUERIES` (2000 per query shape), `CLOWDER_BENCH_THREADS` (16),
//! `CLOWDER_BENCH_THREAD_QUERIES` (1000 per thread), `CLOWDER_BENCH_DIR` (where the index is
//! built; a temporary directory under the system temp dir by default).
//!
//! The goals are for HTTP (p50 ≤ 1 ms and p99 ≤ 10 ms for typo-tolerant names at 16
//! connections, p99 ≤ 1 ms for exact phone and microchip); the in-process figures must sit
//! well under them, since the server adds routing, JSON and the access check on top.

use std::collections::BTreeSet;
use std::hint::black_box;
use std::path::Path;
use std::sync::{Barrier, Mutex, mpsc};
use std::time::{Duration, Instant};

use clowder_index::{SearchIndex, SearchReader};
use clowder_schemas::clients::{Client, PreferredContact};
use clowder_schemas::patients::{Patient, PatientStatus};
use clowder_schemas::values::{Email, Microchip, Phone};
use clowder_schemas::{ClientId, PatientId};
use hdrhistogram::Histogram;

/// Hits asked for per search: what the search box shows.
const LIMIT: usize = 10;

/// Queries run before each measured phase and not recorded, so the first page faults of the
/// memory-mapped index do not count against one shape.
const WARMUP_QUERIES: usize = 300;

/// How long background merges may take to settle after the rebuild before the queries start.
const SETTLE_LIMIT: Duration = Duration::from_secs(300);

/// How long the segment count must stay the same to call the merges settled.
const SETTLE_QUIET: Duration = Duration::from_secs(5);

fn main() {
    let config = Config::from_env();
    let names = Names::new();
    println!(
        "search bench: {} clients, {} patients ({} first names, {} last names, {} cat names, {} breeds, {} colours)",
        config.clients,
        config.patients,
        names.first.len(),
        names.last.len(),
        CAT_NAMES.len(),
        BREEDS.len(),
        COLOURS.len()
    );
    println!("machine: {} CPUs available to this process", std::thread::available_parallelism().map_or(0, |n| n.get()));
    let group = Group { config, names };
    let mut memory = vec![Memory::now("start")];

    // Generation alone, so the rebuild's figure can be read without it: a real rebuild
    // decodes records from the store instead.
    let started = Instant::now();
    let mut generated = 0usize;
    for i in 0..group.config.clients {
        generated += black_box(group.client(i)).first_name.len();
    }
    for j in 0..group.config.patients {
        let patient = group.patient(j);
        generated += black_box(group.owner_display_name(patient.client_id_index)).len();
        generated += black_box(patient.record).name.len();
    }
    black_box(generated);
    let generating = started.elapsed();
    memory.push(Memory::now("after generating"));

    // The index directory: a fresh temporary one unless the caller named a place.
    let temp = match &group.config.dir {
        Some(parent) => tempfile::tempdir_in(parent),
        None => tempfile::tempdir(),
    }
    .expect("a temporary directory for the index");
    let dir = temp.path().join("index");
    println!("index directory: {}", dir.display());

    let (mut index, rebuild) = rebuild(&group, &dir);
    let docs = index.num_docs();
    let size_built = dir_size(&dir);
    let segments_built = segment_count(&dir);
    memory.push(Memory::now("after rebuild"));
    println!(
        "rebuild: {docs} documents in {:.1} s ({:.0} docs/s; generating the records alone took {:.1} s of it), \
         {segments_built} segments, {} on disk",
        rebuild.as_secs_f64(),
        docs as f64 / rebuild.as_secs_f64(),
        generating.as_secs_f64(),
        mib(size_built)
    );

    let mut rows = Vec::new();
    let reader = index.reader();
    let typos = group.typo_queries(group.config.queries, 1);
    warm_up(&reader, &typos);
    rows.push(measure_shape(
        &reader,
        &format!("typo first+last, right after rebuild ({segments_built} segments)"),
        &typos,
        Goal::Name,
    ));

    // Background merges go on after the commit; the reader sees them only at the next commit
    // (the indexer actor commits regularly), so wait until they settle, then commit.
    let settle_started = Instant::now();
    let segments = settle(&mut index, &dir);
    let size = dir_size(&dir);
    memory.push(Memory::now("after merges settled"));
    println!(
        "merges settled in {:.1} s: {segments} segments, {} on disk",
        settle_started.elapsed().as_secs_f64(),
        mib(size)
    );

    let reader = index.reader();
    let shapes: Vec<(&str, Vec<String>, Goal)> = vec![
        ("typo first+last (\"Jon Smyth\")", group.typo_queries(group.config.queries, 2), Goal::Name),
        ("typo last name alone (\"Smyht\")", group.typo_last_queries(group.config.queries, 3), Goal::Name),
        ("owner + pet prefix (\"smith mitt\")", group.owner_pet_queries(group.config.queries, 4), Goal::Name),
        ("prefix, 3 letters (\"smi\")", group.prefix_queries(group.config.queries, 5, 3), Goal::Name),
        ("prefix, 4 letters (\"mitt\")", group.prefix_queries(group.config.queries, 6, 4), Goal::Name),
        (
            "phone, full (\"(503) 555-0123\")",
            group.phone_queries(group.config.queries, 7, PhoneForm::Full),
            Goal::Exact,
        ),
        ("phone, 7 digits (\"555-0123\")", group.phone_queries(group.config.queries, 8, PhoneForm::Local), Goal::Exact),
        ("phone, last four (\"0123\")", group.phone_queries(group.config.queries, 9, PhoneForm::LastFour), Goal::Exact),
        ("microchip (15 digits)", group.microchip_queries(group.config.queries, 10), Goal::Exact),
    ];
    let mixed: Vec<String> = shapes.iter().flat_map(|(_, q, _)| q.iter().take(40).cloned()).collect();
    warm_up(&reader, &mixed);
    for (name, queries, goal) in &shapes {
        rows.push(measure_shape(&reader, name, queries, *goal));
    }
    // The same queries asking for one hit: the difference is mostly loading the stored
    // documents of the hits (and their highlights).
    for (at, name) in [(0, "typo first+last, limit 1"), (7, "phone, last four, limit 1")] {
        rows.push(measure_shape_limit(&reader, name, &shapes[at].1, shapes[at].2, 1));
    }
    // Words no record has: what a term costs before any document matches. Three letters
    // get a prefix automaton, four a prefix and a one-edit one, eight a two-edit one;
    // with a space after it a word is no longer a prefix.
    for (name, word) in [
        ("no match, 3 letters (prefix)", "qxz"),
        ("no match, 4 letters (prefix + 1 edit)", "qxzj"),
        ("no match, 4 letters + space (1 edit)", "qxzj "),
        ("no match, 8 letters (prefix + 2 edits)", "qxzjvqxz"),
    ] {
        rows.push(measure_shape(
            &reader,
            name,
            &vec![word.to_owned(); group.config.queries.min(500)],
            Goal::Diagnostic,
        ));
    }
    memory.push(Memory::now("after single-thread queries"));

    let threads = group.config.threads;
    let concurrent_queries = group.typo_queries(threads * group.config.thread_queries, 11);
    let concurrent = measure_concurrent(&reader, &concurrent_queries, threads);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let queued = measure_queued(&reader, &concurrent_queries, threads, cpus);
    memory.push(Memory::now("after concurrent queries"));
    let (per_sec, wall) = (concurrent.per_sec, concurrent.wall);
    let (queued_per_sec, queued_wall) = (queued.per_sec, queued.wall);
    rows.push(concurrent.row);
    rows.push(queued.row);

    print_rows(&rows);
    println!(
        "  {threads} threads searching at once: {per_sec:.0} queries/s over {:.1} s on {cpus} CPUs; the OS time-slices \
         them, so a query can wait out other threads' slices mid-search",
        wall.as_secs_f64(),
    );
    println!(
        "  {threads} closed-loop callers, {cpus} search threads (a server's shape: requests queue, each search runs \
         to the end): {queued_per_sec:.0} queries/s over {:.1} s; latency from asking to the answer",
        queued_wall.as_secs_f64(),
    );
    automaton_costs();
    println!();
    println!("rebuild, size and memory");
    println!(
        "  full rebuild ≤ 30 s (goal for {} docs): {:.1} s: {}",
        docs,
        rebuild.as_secs_f64(),
        verdict(rebuild.as_secs_f64() <= 30.0)
    );
    println!(
        "  index on disk: {} right after the rebuild, {} once merged ({:.0} bytes per document)",
        mib(size_built),
        mib(size),
        size as f64 / docs.max(1) as f64
    );
    println!("  process memory (file-backed is mostly the memory-mapped index):");
    for m in &memory {
        println!("    {m}");
    }
}

/// What the run is asked to do, from the environment.
struct Config {
    clients: u64,
    patients: u64,
    queries: usize,
    threads: usize,
    thread_queries: usize,
    dir: Option<std::path::PathBuf>,
}

impl Config {
    fn from_env() -> Self {
        fn number(name: &str, default: u64) -> u64 {
            match std::env::var(name) {
                Ok(v) => v.trim().replace('_', "").parse().unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
                Err(_) => default,
            }
        }
        // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without
        // it, to check that it works: then a small clinic does.
        let full = std::env::args().any(|a| a == "--bench");
        let size = |n: u64| if full { n } else { n / 250 };
        let clients = number("CLOWDER_BENCH_CLIENTS", size(500_000)).max(1);
        // Phones are drawn from 8,000,000 local numbers without repeats.
        assert!(clients <= PHONE_SPACE, "CLOWDER_BENCH_CLIENTS must be at most {PHONE_SPACE}");
        Config {
            clients,
            patients: number("CLOWDER_BENCH_PATIENTS", size(1_000_000)).max(1),
            queries: number("CLOWDER_BENCH_QUERIES", size(2_000)).max(1) as usize,
            threads: number("CLOWDER_BENCH_THREADS", 16).max(1) as usize,
            thread_queries: number("CLOWDER_BENCH_THREAD_QUERIES", size(1_000)).max(1) as usize,
            dir: std::env::var_os("CLOWDER_BENCH_DIR").map(Into::into),
        }
    }
}

/// Full rebuild as the start-up path does it: recreate, upsert every record, finish.
fn rebuild(group: &Group, dir: &Path) -> (SearchIndex, Duration) {
    let total = group.config.clients + group.config.patients;
    let progress_every = (total / 10).max(1);
    let started = Instant::now();
    let mut index = SearchIndex::recreate(dir).expect("a new index in the temporary directory");
    let mut done = 0u64;
    let tick = |done: u64| {
        if done.is_multiple_of(progress_every) {
            eprintln!("  rebuild: {done} of {total} documents, {:.1} s", started.elapsed().as_secs_f64());
        }
    };
    for i in 0..group.config.clients {
        index.upsert_client(&group.client(i)).expect("a generated client is indexed");
        done += 1;
        tick(done);
    }
    for j in 0..group.config.patients {
        let patient = group.patient(j);
        let owner = group.owner_display_name(patient.client_id_index);
        index.upsert_patient(&patient.record, &owner).expect("a generated patient is indexed");
        done += 1;
        tick(done);
    }
    index.finish_rebuild().expect("the rebuild commits");
    (index, started.elapsed())
}

/// Waits until tantivy's background merges stop changing the committed segments (or
/// [`SETTLE_LIMIT`] passes), then commits so the reader sees the merged segments. Returns the
/// segment count.
fn settle(index: &mut SearchIndex, dir: &Path) -> usize {
    let started = Instant::now();
    let mut last = segment_count(dir);
    let mut quiet_since = Instant::now();
    while started.elapsed() < SETTLE_LIMIT && quiet_since.elapsed() < SETTLE_QUIET {
        std::thread::sleep(Duration::from_millis(500));
        let now = segment_count(dir);
        if now != last {
            last = now;
            quiet_since = Instant::now();
        }
    }
    index.commit().expect("an empty commit to reload the reader");
    segment_count(dir)
}

/// Committed segments, from tantivy's `meta.json` (the public API does not expose them).
fn segment_count(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("meta.json")).map_or(0, |meta| meta.matches("\"segment_id\"").count())
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .expect("the index directory is readable")
        .filter_map(Result::ok)
        .filter_map(|entry| entry.metadata().ok())
        .filter(|meta| meta.is_file())
        .map(|meta| meta.len())
        .sum()
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn warm_up(reader: &SearchReader, queries: &[String]) {
    for q in queries.iter().cycle().take(WARMUP_QUERIES) {
        black_box(reader.search(q, LIMIT).expect("a search succeeds"));
    }
}

/// What building one Levenshtein automaton costs, by term: every query term of four or more
/// characters gets one (and the last term a prefix one too), digits included.
fn automaton_costs() {
    use tantivy::Term;
    use tantivy::query::FuzzyTermQuery;
    use tantivy::schema::Field;
    println!();
    println!("building one Levenshtein automaton (tantivy's FuzzyTermQuery, transpositions count as one edit)");
    for (text, distance) in [("wicmere", 1u8), ("4138", 1), ("weetshaw", 2), ("985297289249392", 2)] {
        let runs = 200u32;
        let started = Instant::now();
        for _ in 0..runs {
            let term = Term::from_field_text(Field::from_field_id(0), text);
            black_box(FuzzyTermQuery::new(term, distance, true).automaton().expect("distance at most 2"));
        }
        let micros = started.elapsed().as_secs_f64() * 1e6 / f64::from(runs);
        println!("  {text:<16} distance {distance}: {micros:>8.1} µs");
    }
}

/// Which of the goals a shape is held to.
#[derive(Clone, Copy)]
enum Goal {
    /// Typo-tolerant name queries: p50 ≤ 1 ms and p99 ≤ 10 ms.
    Name,
    /// Exact phone or microchip: p99 ≤ 1 ms.
    Exact,
    /// No goal: a figure that explains others.
    Diagnostic,
}

impl Goal {
    fn text(self) -> &'static str {
        match self {
            Goal::Name => "p50≤1 p99≤10",
            Goal::Exact => "p99≤1",
            Goal::Diagnostic => "-",
        }
    }

    fn met(self, h: &Histogram<u64>) -> bool {
        let ms = |q| h.value_at_quantile(q) as f64 / 1e6;
        match self {
            Goal::Name => ms(0.5) <= 1.0 && ms(0.99) <= 10.0,
            Goal::Exact => ms(0.99) <= 1.0,
            Goal::Diagnostic => true,
        }
    }
}

struct Row {
    shape: String,
    example: String,
    latency_ns: Histogram<u64>,
    hits: u64,
    empty: u64,
    goal: Goal,
}

fn new_histogram() -> Histogram<u64> {
    // 1 ns to 60 s at three significant figures.
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}

fn measure_shape(reader: &SearchReader, shape: &str, queries: &[String], goal: Goal) -> Row {
    measure_shape_limit(reader, shape, queries, goal, LIMIT)
}

fn measure_shape_limit(reader: &SearchReader, shape: &str, queries: &[String], goal: Goal, limit: usize) -> Row {
    let mut row = Row {
        shape: shape.to_owned(),
        example: queries.first().cloned().unwrap_or_default(),
        latency_ns: new_histogram(),
        hits: 0,
        empty: 0,
        goal,
    };
    for q in queries {
        let started = Instant::now();
        let hits = reader.search(q, limit).expect("a search succeeds");
        let elapsed = started.elapsed();
        row.latency_ns.saturating_record(elapsed.as_nanos() as u64);
        row.hits += hits.len() as u64;
        row.empty += u64::from(hits.is_empty());
        black_box(hits);
    }
    row
}

struct Concurrent {
    row: Row,
    per_sec: f64,
    wall: Duration,
}

/// `threads` threads share one reader (cloned handles of it), each running its slice of
/// `queries` back to back; their histograms are merged.
fn measure_concurrent(reader: &SearchReader, queries: &[String], threads: usize) -> Concurrent {
    warm_up(reader, queries);
    let per_thread = queries.len() / threads;
    let barrier = Barrier::new(threads + 1);
    let (rows, wall) = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let reader = reader.clone();
                let mine = &queries[t * per_thread..(t + 1) * per_thread];
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    measure_shape(&reader, "", mine, Goal::Name)
                })
            })
            .collect();
        barrier.wait();
        let started = Instant::now();
        let rows: Vec<Row> = handles.into_iter().map(|h| h.join().expect("a query thread panicked")).collect();
        (rows, started.elapsed())
    });
    let mut row = Row {
        shape: format!("typo first+last, {threads} threads, one reader"),
        example: queries.first().cloned().unwrap_or_default(),
        latency_ns: new_histogram(),
        hits: 0,
        empty: 0,
        goal: Goal::Name,
    };
    for r in &rows {
        row.latency_ns.add(&r.latency_ns).expect("histograms with the same bounds merge");
        row.hits += r.hits;
        row.empty += r.empty;
    }
    let per_sec = row.latency_ns.len() as f64 / wall.as_secs_f64();
    Concurrent { row, per_sec, wall }
}

/// The server's shape: `callers` closed loops (connections) hand their queries to a pool of
/// `workers` search threads (one per CPU, like a blocking pool sized to the machine) and wait
/// for the answer. Latency runs from handing the query over to the answer, queueing included.
fn measure_queued(reader: &SearchReader, queries: &[String], callers: usize, workers: usize) -> Concurrent {
    type Job<'a> = (&'a str, mpsc::Sender<(usize, usize)>);
    let per_caller = queries.len() / callers;
    let (jobs, inbox) = mpsc::channel::<Job<'_>>();
    let inbox = Mutex::new(inbox);
    let barrier = Barrier::new(callers + 1);
    let (rows, wall) = std::thread::scope(|scope| {
        for _ in 0..workers {
            let (reader, inbox) = (reader.clone(), &inbox);
            scope.spawn(move || {
                loop {
                    // The lock is held only while taking the next job.
                    let job = inbox.lock().expect("no worker panics holding the lock").recv();
                    let Ok((query, answer)) = job else { return };
                    let hits = reader.search(query, LIMIT).expect("a search succeeds");
                    let empty = usize::from(hits.is_empty());
                    // The caller waits for every answer, so it is still listening.
                    let _ = answer.send((hits.len(), empty));
                }
            });
        }
        let handles: Vec<_> = (0..callers)
            .map(|c| {
                let (jobs, barrier) = (jobs.clone(), &barrier);
                let mine = &queries[c * per_caller..(c + 1) * per_caller];
                scope.spawn(move || {
                    let mut row = Row {
                        shape: String::new(),
                        example: String::new(),
                        latency_ns: new_histogram(),
                        hits: 0,
                        empty: 0,
                        goal: Goal::Name,
                    };
                    let (answer, answers) = mpsc::channel();
                    barrier.wait();
                    for q in mine {
                        let started = Instant::now();
                        jobs.send((q.as_str(), answer.clone())).expect("the workers outlive the callers");
                        let (hits, empty) = answers.recv().expect("every job is answered");
                        row.latency_ns.saturating_record(started.elapsed().as_nanos() as u64);
                        row.hits += hits as u64;
                        row.empty += empty as u64;
                    }
                    row
                })
            })
            .collect();
        // Only the callers' clones remain: once they finish, the workers see the channel close.
        drop(jobs);
        barrier.wait();
        let started = Instant::now();
        let rows: Vec<Row> = handles.into_iter().map(|h| h.join().expect("a caller thread panicked")).collect();
        (rows, started.elapsed())
    });
    let mut row = Row {
        shape: format!("typo first+last, {callers} callers, {workers} search threads"),
        example: queries.first().cloned().unwrap_or_default(),
        latency_ns: new_histogram(),
        hits: 0,
        empty: 0,
        goal: Goal::Name,
    };
    for r in &rows {
        row.latency_ns.add(&r.latency_ns).expect("histograms with the same bounds merge");
        row.hits += r.hits;
        row.empty += r.empty;
    }
    let per_sec = row.latency_ns.len() as f64 / wall.as_secs_f64();
    Concurrent { row, per_sec, wall }
}

fn verdict(met: bool) -> &'static str {
    if met { "goal met" } else { "goal missed" }
}

fn print_rows(rows: &[Row]) {
    println!();
    println!("query latency, limit {LIMIT}, milliseconds (goals are the issue's HTTP goals)");
    let width = rows.iter().map(|r| r.shape.chars().count()).max().unwrap_or(5).max(5);
    println!(
        "{:<width$}  {:>6}  {:>6}  {:>6}  {:>7}  {:>7}  {:>7}  {:>7}  {:<12}  {:<11}  example",
        "shape", "count", "hits/q", "empty", "p50", "p90", "p99", "max", "goal (ms)", "verdict"
    );
    for r in rows {
        let h = &r.latency_ns;
        let ms = |ns: u64| format!("{:.3}", ns as f64 / 1e6);
        let count = h.len();
        println!(
            "{:<width$}  {:>6}  {:>6.1}  {:>5.1}%  {:>7}  {:>7}  {:>7}  {:>7}  {:<12}  {:<11}  {:?}",
            r.shape,
            count,
            r.hits as f64 / count.max(1) as f64,
            100.0 * r.empty as f64 / count.max(1) as f64,
            ms(h.value_at_quantile(0.5)),
            ms(h.value_at_quantile(0.9)),
            ms(h.value_at_quantile(0.99)),
            ms(h.max()),
            r.goal.text(),
            if matches!(r.goal, Goal::Diagnostic) { "-" } else { verdict(r.goal.met(h)) },
            r.example
        );
    }
}

/// The process's memory from `/proc/self/status`, in KiB.
struct Memory {
    when: &'static str,
    rss: Option<u64>,
    hwm: Option<u64>,
    anon: Option<u64>,
    file: Option<u64>,
}

impl Memory {
    fn now(when: &'static str) -> Self {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        };
        Memory { when, rss: field("VmRSS:"), hwm: field("VmHWM:"), anon: field("RssAnon:"), file: field("RssFile:") }
    }
}

impl std::fmt::Display for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mb = |kib: Option<u64>| kib.map_or("?".to_owned(), |k| format!("{:.0} MiB", k as f64 / 1024.0));
        write!(
            f,
            "{:<28} VmRSS {:>9}  VmHWM {:>9}  (anonymous {:>9}, file-backed {:>9})",
            self.when,
            mb(self.rss),
            mb(self.hwm),
            mb(self.anon),
            mb(self.file)
        )
    }
}

// ---------------------------------------------------------------------------------------------
// The generated clinic group. Every record is a pure function of its number, so nothing is
// held in memory (the RSS figures are the index's) and queries can name real records.

/// Local numbers (exchange 200–999, any line) available for unique phones.
const PHONE_SPACE: u64 = 8_000_000;

/// Odd and not a multiple of 5, so multiplying by it permutes `0..PHONE_SPACE` and `0..10¹²`.
const SPREAD: u64 = 7_368_787;

/// Stream numbers keep the random draws of clients, patients and each query shape apart.
const CLIENT_STREAM: u64 = 1;

/// Patient ids start here, far above any client's.
const PATIENT_ID_BASE: u128 = 1 << 80;
const PATIENT_STREAM: u64 = 2;

struct Group {
    config: Config,
    names: Names,
}

/// A patient and its owner's number.
struct Generated {
    record: Patient,
    client_id_index: u64,
}

impl Group {
    fn client_name(&self, i: u64) -> (&str, &str) {
        let (first, last, _) = self.client_draws(i);
        (first, last)
    }

    /// The client's names, and the generator to draw the rest of the client from.
    fn client_draws(&self, i: u64) -> (&str, &str, Rng) {
        let mut rng = Rng::for_item(CLIENT_STREAM, i);
        let first = self.names.first[rng.skewed(self.names.first.len())];
        let last = self.names.last[rng.skewed(self.names.last.len())];
        (first, last, rng)
    }

    fn client(&self, i: u64) -> Client {
        let (first, last, mut rng) = self.client_draws(i);
        let email = (rng.below(100) < 60).then(|| {
            let local: String =
                format!("{first}.{last}{i}").chars().filter(|c| c.is_alphanumeric() || *c == '.').collect();
            let domain = ["example.com", "mail.example.org", "example.net"][rng.below(3)];
            Email::parse("email", &format!("{local}@{domain}")).expect("generated emails are valid")
        });
        let active = rng.below(100) < 97;
        Client {
            id: ClientId::from_u128(u128::from(i) + 1),
            first_name: first.to_owned(),
            last_name: last.to_owned(),
            email,
            phone: Phone::parse("phone", &self.phone(i), "1").expect("generated phones are valid"),
            phone_secondary: None,
            address: None,
            preferred_contact: PreferredContact::Phone,
            alerts: Vec::new(),
            notes: None,
            tags: Vec::new(),
            referral_source: None,
            active,
            created_at: Default::default(),
            updated_at: Default::default(),
            created_by: None,
        }
    }

    fn owner_display_name(&self, i: u64) -> String {
        let (first, last) = self.client_name(i);
        format!("{last}, {first}")
    }

    /// "(503) 555-0123": an area code from the list and a local number no other client has.
    fn phone(&self, i: u64) -> String {
        let area = AREA_CODES[Rng::for_item(CLIENT_STREAM + 100, i).below(AREA_CODES.len())];
        let local = (i * SPREAD + 12_345) % PHONE_SPACE;
        format!("({area}) {}-{:04}", 200 + local / 10_000, local % 10_000)
    }

    fn patient(&self, j: u64) -> Generated {
        let mut rng = Rng::for_item(PATIENT_STREAM, j);
        let owner = rng.below(self.config.clients as usize) as u64;
        let name = CAT_NAMES[rng.skewed(CAT_NAMES.len())];
        // Most cats in a clinic are domestic short- or longhairs: the list starts with them.
        let breed = (rng.below(100) < 90).then(|| BREEDS[rng.skewed(BREEDS.len())].to_owned());
        let color = (rng.below(100) < 85).then(|| COLOURS[rng.below(COLOURS.len())].to_owned());
        let microchip = (rng.below(100) < 70)
            .then(|| Microchip::parse("microchip", &self.microchip(j)).expect("generated microchips are valid"));
        let status = match rng.below(100) {
            0..=89 => PatientStatus::Active,
            90..=94 => PatientStatus::Inactive,
            _ => PatientStatus::Deceased,
        };
        let record = Patient {
            // Real ULIDs never repeat across kinds, and the index deletes by id alone: keep
            // patients' numbers clear of clients'.
            id: PatientId::from_u128(PATIENT_ID_BASE + u128::from(j)),
            client_id: ClientId::from_u128(u128::from(owner) + 1),
            name: name.to_owned(),
            breed,
            color,
            sex: None,
            reproductive_status: None,
            date_of_birth: None,
            date_of_birth_estimated: false,
            microchip,
            allergies: Vec::new(),
            behavior_notes: None,
            handling: Default::default(),
            insurance: None,
            status,
            deceased_on: None,
            created_at: Default::default(),
            updated_at: Default::default(),
            created_by: None,
        };
        Generated { record, client_id_index: owner }
    }

    /// "985" and twelve digits no other patient has (ISO 11784 numbers start with a
    /// manufacturer or country code).
    fn microchip(&self, j: u64) -> String {
        let n = (u128::from(j) * u128::from(SPREAD) + 987_654_321) % 1_000_000_000_000;
        format!("985{n:012}")
    }

    /// Clients' first and last names with one typo in one of them: "Jon Smyth".
    fn typo_queries(&self, count: usize, stream: u64) -> Vec<String> {
        let mut rng = Rng::for_item(stream, 0);
        (0..count)
            .map(|k| {
                let (first, last) = self.client_name(rng.below(self.config.clients as usize) as u64);
                let kind = Typo::ALL[k % Typo::ALL.len()];
                // The typo goes into the longer word: one edit in a word of five or more
                // letters is what the search forgives.
                if first.chars().count() > last.chars().count() {
                    format!("{} {last}", typo(first, kind, &mut rng))
                } else {
                    format!("{first} {}", typo(last, kind, &mut rng))
                }
            })
            .collect()
    }

    fn typo_last_queries(&self, count: usize, stream: u64) -> Vec<String> {
        let mut rng = Rng::for_item(stream, 0);
        (0..count)
            .map(|k| {
                let (_, last) = self.client_name(rng.below(self.config.clients as usize) as u64);
                typo(last, Typo::ALL[k % Typo::ALL.len()], &mut rng)
            })
            .collect()
    }

    /// The owner's last name and the first three or four letters of the cat's: "smith mitt".
    fn owner_pet_queries(&self, count: usize, stream: u64) -> Vec<String> {
        let mut rng = Rng::for_item(stream, 0);
        (0..count)
            .map(|_| {
                let patient = self.patient(rng.below(self.config.patients as usize) as u64);
                let (_, last) = self.client_name(patient.client_id_index);
                let typed = 3 + rng.below(2);
                let pet: String = patient.record.name.chars().take(typed).collect();
                format!("{} {}", last.to_lowercase(), pet.to_lowercase())
            })
            .collect()
    }

    /// The first `letters` letters of a last name or a cat's name, as typed so far.
    fn prefix_queries(&self, count: usize, stream: u64, letters: usize) -> Vec<String> {
        let mut rng = Rng::for_item(stream, 0);
        (0..count)
            .map(|k| {
                let word = if k % 2 == 0 {
                    self.client_name(rng.below(self.config.clients as usize) as u64).1.to_owned()
                } else {
                    self.patient(rng.below(self.config.patients as usize) as u64).record.name
                };
                word.chars().take(letters).collect::<String>().to_lowercase()
            })
            .collect()
    }

    fn phone_queries(&self, count: usize, stream: u64, form: PhoneForm) -> Vec<String> {
        let mut rng = Rng::for_item(stream, 0);
        (0..count)
            .map(|_| {
                let phone = self.phone(rng.below(self.config.clients as usize) as u64);
                match form {
                    PhoneForm::Full => phone,
                    // "(503) 555-0123" → "555-0123", "0123".
                    PhoneForm::Local => phone[6..].to_owned(),
                    PhoneForm::LastFour => phone[phone.len() - 4..].to_owned(),
                }
            })
            .collect()
    }

    /// Microchips of patients that have one (about 70 %).
    fn microchip_queries(&self, count: usize, stream: u64) -> Vec<String> {
        let mut rng = Rng::for_item(stream, 0);
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let j = rng.below(self.config.patients as usize) as u64;
            if let Some(chip) = self.patient(j).record.microchip {
                out.push(chip.as_str().to_owned());
            }
        }
        out
    }
}

#[derive(Clone, Copy)]
enum PhoneForm {
    Full,
    Local,
    LastFour,
}

#[derive(Clone, Copy)]
enum Typo {
    Substitution,
    Transposition,
    Deletion,
}

impl Typo {
    const ALL: [Typo; 3] = [Typo::Substitution, Typo::Transposition, Typo::Deletion];
}

/// `word` with one typo away from its first letter (people rarely get that one wrong).
fn typo(word: &str, kind: Typo, rng: &mut Rng) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    if chars.len() < 3 {
        return word.to_owned();
    }
    let at = 1 + rng.below(chars.len() - 2);
    match kind {
        Typo::Substitution => {
            let was = chars[at].to_ascii_lowercase();
            let mut with = char::from(b'a' + rng.below(26) as u8);
            if with == was {
                with = if with == 'z' { 'a' } else { char::from(with as u8 + 1) };
            }
            chars[at] = with;
        }
        Typo::Transposition => chars.swap(at, at + 1),
        Typo::Deletion => {
            chars.remove(at);
        }
    }
    chars.into_iter().collect()
}

/// SplitMix64, seeded per item so any record can be generated alone.
struct Rng(u64);

impl Rng {
    fn for_item(stream: u64, item: u64) -> Self {
        let mut rng = Rng(stream.wrapping_mul(0xD6E8_FEB8_6659_FD93) ^ item);
        rng.next();
        rng
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`; `n` must not be zero.
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next()) * n as u128) >> 64) as usize
    }

    /// In `0..n`, favouring the start of a list ordered most common first: the first of a
    /// thousand names comes about once in a hundred, like Smith among American surnames.
    fn skewed(&mut self, n: usize) -> usize {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((u.powf(1.5) * n as f64) as usize).min(n - 1)
    }
}

/// The name lists, most common first.
struct Names {
    first: Vec<&'static str>,
    last: Vec<&'static str>,
}

impl Names {
    fn new() -> Self {
        // Surnames beyond the hand-written ones are built from English place-name parts, so
        // the tail is long and realistic-looking ("Ashford", "Thornbury"); duplicates dropped.
        let mut seen: BTreeSet<&'static str> = LAST_NAMES.iter().copied().collect();
        let mut last: Vec<&'static str> = LAST_NAMES.to_vec();
        for prefix in SURNAME_HEADS {
            for suffix in SURNAME_TAILS {
                let name: &'static str = Box::leak(format!("{prefix}{suffix}").into_boxed_str());
                if seen.insert(name) {
                    last.push(name);
                }
            }
        }
        Names { first: FIRST_NAMES.to_vec(), last }
    }
}

const AREA_CODES: [u16; 40] = [
    212, 213, 305, 312, 404, 415, 503, 512, 602, 617, 702, 713, 720, 808, 818, 904, 916, 971, 206, 303, 314, 412, 502,
    513, 614, 615, 704, 717, 801, 803, 813, 860, 901, 907, 919, 952, 207, 401, 509, 541,
];

const FIRST_NAMES: &[&str] = &[
    "James",
    "Mary",
    "John",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "William",
    "Elizabeth",
    "David",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Christopher",
    "Lisa",
    "Daniel",
    "Nancy",
    "Matthew",
    "Betty",
    "Anthony",
    "Margaret",
    "Mark",
    "Sandra",
    "Donald",
    "Ashley",
    "Steven",
    "Kimberly",
    "Paul",
    "Emily",
    "Andrew",
    "Donna",
    "Joshua",
    "Michelle",
    "Kenneth",
    "Carol",
    "Kevin",
    "Amanda",
    "Brian",
    "Dorothy",
    "George",
    "Melissa",
    "Timothy",
    "Deborah",
    "Ronald",
    "Stephanie",
    "Edward",
    "Rebecca",
    "Jason",
    "Sharon",
    "Jeffrey",
    "Laura",
    "Ryan",
    "Cynthia",
    "Jacob",
    "Kathleen",
    "Gary",
    "Amy",
    "Nicholas",
    "Angela",
    "Eric",
    "Shirley",
    "Jonathan",
    "Anna",
    "Stephen",
    "Brenda",
    "Larry",
    "Pamela",
    "Justin",
    "Emma",
    "Scott",
    "Nicole",
    "Brandon",
    "Helen",
    "Benjamin",
    "Samantha",
    "Samuel",
    "Katherine",
    "Gregory",
    "Christine",
    "Alexander",
    "Debra",
    "Frank",
    "Rachel",
    "Patrick",
    "Carolyn",
    "Raymond",
    "Janet",
    "Jack",
    "Catherine",
    "Dennis",
    "Maria",
    "Jerry",
    "Heather",
    "Tyler",
    "Diane",
    "Aaron",
    "Ruth",
    "Jose",
    "Julie",
    "Adam",
    "Olivia",
    "Nathan",
    "Joyce",
    "Henry",
    "Virginia",
    "Douglas",
    "Victoria",
    "Zachary",
    "Kelly",
    "Peter",
    "Lauren",
    "Kyle",
    "Christina",
    "Ethan",
    "Joan",
    "Walter",
    "Evelyn",
    "Noah",
    "Judith",
    "Jeremy",
    "Megan",
    "Christian",
    "Andrea",
    "Keith",
    "Cheryl",
    "Roger",
    "Hannah",
    "Terry",
    "Jacqueline",
    "Gerald",
    "Martha",
    "Harold",
    "Gloria",
    "Sean",
    "Teresa",
    "Austin",
    "Ann",
    "Carl",
    "Sara",
    "Arthur",
    "Madison",
    "Lawrence",
    "Frances",
    "Dylan",
    "Kathryn",
    "Jesse",
    "Janice",
    "Jordan",
    "Jean",
    "Bryan",
    "Abigail",
    "Billy",
    "Alice",
    "Joe",
    "Julia",
    "Bruce",
    "Judy",
    "Gabriel",
    "Sophia",
    "Logan",
    "Grace",
    "Albert",
    "Denise",
    "Willie",
    "Amber",
    "Alan",
    "Doris",
    "Juan",
    "Marilyn",
    "Wayne",
    "Danielle",
    "Elijah",
    "Beverly",
    "Randy",
    "Isabella",
    "Roy",
    "Theresa",
    "Vincent",
    "Diana",
    "Ralph",
    "Natalie",
    "Eugene",
    "Brittany",
    "Russell",
    "Charlotte",
    "Bobby",
    "Marie",
    "Mason",
    "Kayla",
    "Philip",
    "Alexis",
    "Louis",
    "Lori",
    "Zoë",
    "José",
    "Chloé",
    "Renée",
    "Noémie",
    "Björn",
    "Søren",
    "Inés",
    "Mónica",
    "François",
    "Hélène",
    "Jérôme",
    "Anaïs",
    "Léa",
    "Raphaël",
    "Jürgen",
    "Åsa",
    "Zoltán",
    "Siobhán",
    "Íñigo",
    "Mei",
    "Wei",
    "Hiroshi",
    "Yuki",
    "Priya",
    "Arjun",
    "Aisha",
    "Omar",
    "Fatima",
    "Kwame",
    "Ngozi",
    "Dmitri",
    "Olga",
    "Ingrid",
    "Lars",
];

const LAST_NAMES: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Gomez",
    "Phillips",
    "Evans",
    "Turner",
    "Diaz",
    "Parker",
    "Cruz",
    "Edwards",
    "Collins",
    "Reyes",
    "Stewart",
    "Morris",
    "Morales",
    "Murphy",
    "Cook",
    "Rogers",
    "Gutierrez",
    "Ortiz",
    "Morgan",
    "Cooper",
    "Peterson",
    "Bailey",
    "Reed",
    "Kelly",
    "Howard",
    "Ramos",
    "Kim",
    "Cox",
    "Ward",
    "Richardson",
    "Watson",
    "Brooks",
    "Chavez",
    "Wood",
    "James",
    "Bennett",
    "Gray",
    "Mendoza",
    "Ruiz",
    "Hughes",
    "Price",
    "Alvarez",
    "Castillo",
    "Sanders",
    "Patel",
    "Myers",
    "Long",
    "Ross",
    "Foster",
    "Jimenez",
    "Powell",
    "Jenkins",
    "Perry",
    "Russell",
    "Sullivan",
    "Bell",
    "Coleman",
    "Butler",
    "Henderson",
    "Barnes",
    "Gonzales",
    "Fisher",
    "Vasquez",
    "Simmons",
    "Romero",
    "Jordan",
    "Patterson",
    "Alexander",
    "Hamilton",
    "Graham",
    "Reynolds",
    "Griffin",
    "Wallace",
    "Moreno",
    "West",
    "Cole",
    "Hayes",
    "Bryant",
    "Herrera",
    "Gibson",
    "Ellis",
    "Tran",
    "Medina",
    "Aguilar",
    "Stevens",
    "Murray",
    "Ford",
    "Castro",
    "Marshall",
    "Owens",
    "Harrison",
    "Fernandez",
    "McDonald",
    "Woods",
    "Washington",
    "Kennedy",
    "Wells",
    "Vargas",
    "Henry",
    "Chen",
    "Freeman",
    "Webb",
    "Tucker",
    "Guzman",
    "Burns",
    "Crawford",
    "Olson",
    "Simpson",
    "Porter",
    "Hunter",
    "Gordon",
    "Mendez",
    "Silva",
    "Shaw",
    "Snyder",
    "Mason",
    "Dixon",
    "Munoz",
    "Hunt",
    "Hicks",
    "Holmes",
    "Palmer",
    "Wagner",
    "Black",
    "Robertson",
    "Boyd",
    "Rose",
    "Stone",
    "Salazar",
    "Fox",
    "Warren",
    "Mills",
    "Meyer",
    "Rice",
    "Schmidt",
    "Garza",
    "Daniels",
    "Ferguson",
    "Nichols",
    "Stephens",
    "Soto",
    "Weaver",
    "Ryan",
    "Gardner",
    "Payne",
    "Grant",
    "Dunn",
    "O'Brien",
    "O'Connor",
    "McCarthy",
    "Lefèvre",
    "Müller",
    "Núñez",
    "Ibáñez",
    "Peña",
    "Dvořák",
    "Böhm",
    "Schäfer",
    "Sørensen",
    "Fernández",
    "Gutiérrez",
    "Jiménez",
    "Côté",
    "Gagné",
    "Bélanger",
    "Lévesque",
    "Østergaard",
    "Šimek",
    "Kovač",
    "Groß",
    "Weiß",
    "Żukowski",
    "Çelik",
    "Yılmaz",
    "Öztürk",
    "Håkansson",
    "Gómez",
    "Martín",
    "Muñoz",
];

const SURNAME_HEADS: [&str; 30] = [
    "Ash", "Black", "Brad", "Brook", "Cald", "Cart", "Dal", "Dun", "Elm", "Fair", "Farn", "Glen", "Hart", "Hol",
    "Kings", "Lang", "Mar", "Mor", "North", "Oak", "Pem", "Red", "Ros", "Stan", "Thorn", "Wal", "West", "Whit", "Win",
    "Hay",
];

const SURNAME_TAILS: [&str; 30] = [
    "ley", "ton", "ford", "wood", "field", "by", "ham", "well", "more", "worth", "brook", "ridge", "dale", "stead",
    "wick", "shaw", "croft", "combe", "hurst", "land", "wright", "bury", "den", "mere", "gate", "holm", "thwaite",
    "burn", "cott", "stow",
];

const CAT_NAMES: &[&str] = &[
    "Luna",
    "Bella",
    "Oliver",
    "Leo",
    "Milo",
    "Charlie",
    "Lucy",
    "Max",
    "Simba",
    "Kitty",
    "Chloe",
    "Nala",
    "Tiger",
    "Jack",
    "Lily",
    "Loki",
    "Cleo",
    "Sophie",
    "Oreo",
    "Smokey",
    "Shadow",
    "Gracie",
    "Pepper",
    "Jasper",
    "Lola",
    "Zoe",
    "Daisy",
    "Coco",
    "Sasha",
    "Mittens",
    "Tom",
    "Felix",
    "Garfield",
    "Whiskers",
    "Ginger",
    "Misty",
    "Boots",
    "Socks",
    "Patches",
    "Midnight",
    "Pumpkin",
    "Mochi",
    "Binx",
    "Salem",
    "Toby",
    "Oscar",
    "Sammy",
    "Buddy",
    "Rocky",
    "Angel",
    "Princess",
    "Baby",
    "Molly",
    "Sadie",
    "Abby",
    "Callie",
    "Penny",
    "Rosie",
    "Ruby",
    "Willow",
    "Olive",
    "Ivy",
    "Hazel",
    "Pixel",
    "Ziggy",
    "Biscuit",
    "Butters",
    "Cookie",
    "Muffin",
    "Peanut",
    "Nugget",
    "Noodle",
    "Pickles",
    "Waffles",
    "Tofu",
    "Sushi",
    "Miso",
    "Kiki",
    "Gizmo",
    "Bandit",
    "Buster",
    "Casper",
    "Dexter",
    "Duke",
    "Finn",
    "George",
    "Harley",
    "Henry",
    "Jax",
    "Louie",
    "Marley",
    "Merlin",
    "Murphy",
    "Ollie",
    "Pablo",
    "Rusty",
    "Sebastian",
    "Sylvester",
    "Teddy",
    "Thor",
    "Tigger",
    "Winston",
    "Zeus",
    "Apollo",
    "Atlas",
    "Bagheera",
    "Boris",
    "Cheddar",
    "Chester",
    "Cosmo",
    "Dusty",
    "Figaro",
    "Frankie",
    "Gus",
    "Hercules",
    "Igor",
    "Jinx",
    "Kingston",
    "Leroy",
    "Mango",
    "Mowgli",
    "Nemo",
    "Newton",
    "Otis",
    "Percy",
    "Pippin",
    "Remy",
    "Rufus",
    "Scout",
    "Sparky",
    "Stanley",
    "Theo",
    "Tux",
    "Walter",
    "Yoda",
    "Ziggy Stardust",
    "Amélie",
    "Bébé",
    "Crème Brûlée",
    "Chloé",
    "Zoë",
    "Noël",
    "Léon",
    "Café",
    "Athena",
    "Belle",
    "Bonnie",
    "Cinnamon",
    "Clementine",
    "Cupcake",
    "Dolly",
    "Ella",
    "Emma",
    "Fiona",
    "Freya",
    "Gigi",
    "Honey",
    "Izzy",
    "Jasmine",
    "Juniper",
    "Kali",
    "Lulu",
    "Maggie",
    "Maple",
    "Marble",
    "Mia",
    "Minnie",
    "Nova",
    "Peaches",
    "Phoebe",
    "Piper",
    "Poppy",
    "Queenie",
    "Roxy",
    "Sable",
    "Sage",
    "Snowball",
    "Stella",
    "Sugar",
    "Sunny",
    "Tabitha",
    "Trixie",
    "Velvet",
    "Violet",
    "Wanda",
    "Xena",
    "Yuki",
    "Zelda",
    "Ash",
    "Biscotti",
    "Churro",
    "Domino",
    "Ember",
    "Fudge",
    "Hobbes",
    "Inky",
    "Jellybean",
    "Kitkat",
    "Licorice",
    "Meatball",
    "Nacho",
    "Onyx",
    "Panda",
    "Quincy",
    "Raven",
    "Sprinkles",
    "Truffle",
];

const BREEDS: [&str; 32] = [
    "Domestic Shorthair",
    "Domestic Longhair",
    "Domestic Medium Hair",
    "Maine Coon",
    "Siamese",
    "Persian",
    "Ragdoll",
    "Bengal",
    "British Shorthair",
    "Abyssinian",
    "Sphynx",
    "Scottish Fold",
    "Russian Blue",
    "Birman",
    "Norwegian Forest Cat",
    "Devon Rex",
    "Cornish Rex",
    "Burmese",
    "Tonkinese",
    "Oriental Shorthair",
    "Exotic Shorthair",
    "Himalayan",
    "Savannah",
    "Turkish Angora",
    "Turkish Van",
    "Manx",
    "American Shorthair",
    "Egyptian Mau",
    "Chartreux",
    "Somali",
    "Balinese",
    "Selkirk Rex",
];

const COLOURS: [&str; 25] = [
    "Black",
    "White",
    "Grey",
    "Blue",
    "Orange tabby",
    "Brown tabby",
    "Silver tabby",
    "Grey tabby",
    "Tortoiseshell",
    "Calico",
    "Dilute calico",
    "Tuxedo",
    "Cream",
    "Seal point",
    "Blue point",
    "Lilac point",
    "Flame point",
    "Chocolate",
    "Cinnamon",
    "Fawn",
    "Smoke",
    "Black and white",
    "Ginger",
    "Torbie",
    "Bicolour",
];
