//! The `compare` report (issue 12, "Measure it like this, forever"): in one run against one
//! server, the session route (`GET /api/auth/me`, the cheapest authenticated GET: the ceiling)
//! next to the audited reads and list, the client search and the day view, then writes at one
//! connection, the same writes beside a flood of reads, and writes at `--connections`. Each
//! row has its rate, p50/p99, ratio to the session route, the server's CPU per request and RSS
//! after the phase (from `/proc/<pid>` with `--server-pid`) and the size of one answer. The
//! text form is Markdown, to paste into a closing note and `docs/performance.md`.
//!
//! The pure parts (ratios, goals, rendering; `/proc` is read through `crate::process`) come
//! first and are tested; the run (seeding, settling, phases) follows.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use futures_util::future::join_all;
use jiff::tz::TimeZone;
use reqwest::Url;
use serde::Serialize;
use tokio::time::Instant;

use clowder_schemas::{ClientId, PatientId};

use crate::api::{Api, Probed};
use crate::bodies::{NewClient, NewLocation};
use crate::cli::{Args, SETUP_BUDGET};
use crate::fsync::FsyncFloor;
use crate::load::{Workload, drive_from};
use crate::process::{Memory, ServerProcess, clock_ticks_per_sec, cpu_us_per_request};
use crate::report::{GoalCheck, Hint, ScenarioSummary, format_errors, fsync_line, hints};
use crate::run::{measure_floor, plan, progress, sign_in};
use crate::scenarios::{Plan, appointment_type, book_vets, search_setup, seed_pets};
use crate::scheduling::{AVAILABILITY_TYPE, TIME_ZONE};
use crate::search::{Clinic, LIMIT as SEARCH_LIMIT, QUERY_SET};
use crate::server_metrics::{Histogram, LatencyBound};
use crate::stats::Tally;

/// Measured windows of a compare run: session, patient, client, client list, search, day
/// view, one writer, one writer beside the flood, writes at `--connections`.
pub const COMPARE_WINDOWS: u32 = 9;

/// The longest a phase waits for the server to go quiet after the phase before.
pub const SETTLE_MAX: Duration = Duration::from_secs(10);

/// How often the server's CPU is read while waiting for it to go quiet.
const SETTLE_POLL: Duration = Duration::from_millis(250);

/// The server counts as quiet when it used at most this share of one core over a poll.
const QUIET_SHARE: f64 = 0.05;

/// Rows, in the order they run.
pub const SESSION: &str = "session";
pub const PATIENT: &str = "patient";
pub const CLIENT: &str = "client";
pub const CLIENT_LIST: &str = "client-list";
pub const SEARCH: &str = "search";
pub const DAY_VIEW: &str = "day-view";
pub const WRITE_ONE: &str = "write-1";
pub const WRITE_FLOODED: &str = "write-1+flood";
pub const FLOOD_READS: &str = "flood-reads";
pub const WRITE: &str = "write";

/// Page size of the client list row (the list screen's page).
pub const LIST_LIMIT: u32 = 50;

/// Connections writing in the flood phase (alone in `write-1`, then beside the readers).
pub const FLOOD_WRITERS: u16 = 1;

/// Vets of the day view's location, each with a shift and eight bookings that day.
pub const DAY_VETS: u16 = 6;

// The goals of issue 12, measured on a 2-core machine against the original system's figures.
/// An audited patient GET reaches at least this share of the session route's rate.
pub const PATIENT_RATIO_GOAL: f64 = 0.8;
/// Audited patient GETs per second at 64 connections (50 x the original's 690)…
pub const PATIENT_RATE_GOAL: f64 = 34_500.0;
/// …with this p99 (ms).
pub const PATIENT_P99_GOAL_MS: f64 = 5.0;
/// Client searches per second at 64 connections (100 x the original's 116)…
pub const SEARCH_RATE_GOAL: f64 = 11_600.0;
/// …with this p99 (ms).
pub const SEARCH_P99_GOAL_MS: f64 = 10.0;
/// Day views per second (100 x the original's 25.7).
pub const DAY_VIEW_RATE_GOAL: f64 = 2_570.0;
/// The original's day view answer (44 KB for about 60 appointments), in bytes.
pub const DAY_VIEW_BYTES_GOAL: f64 = 44.0 * 1024.0;
/// Client creations per second at 64 connections (25 x the original's 325).
pub const WRITE_RATE_GOAL: f64 = 8_125.0;
/// Server CPU per single write at one connection (µs).
pub const WRITE_ONE_CPU_GOAL_US: f64 = 500.0;
/// The server's histogram of the time from queueing to the answer of change sets someone
/// waits for: the store's share of a write's latency.
pub const WAITED_COMMITS: &str = "clowder_store_waited_commit_seconds";

/// How much a read flood may add to a write's p99 ("a few milliseconds"; ms).
pub const FLOOD_P99_GOAL_MS: f64 = 5.0;
/// RSS after the load (MiB): a fifth of the original's 375 MiB.
pub const RSS_AFTER_GOAL_MIB: f64 = 75.0;
/// RSS of a freshly started, idle server (MiB).
pub const RSS_IDLE_GOAL_MIB: f64 = 40.0;
/// The connections the rate goals are set for.
pub const GOAL_CONNECTIONS: u16 = 64;

/// The most ticks a quiet server uses over `poll` (at least one, since ticks are coarse).
pub fn quiet_ticks(ticks_per_sec: u64, poll: Duration) -> u64 {
    ((ticks_per_sec as f64 * poll.as_secs_f64() * QUIET_SHARE).floor() as u64).max(1)
}

/// `value / base`, when `base` is above zero.
pub fn ratio(value: f64, base: f64) -> Option<f64> {
    (base > 0.0).then(|| value / base)
}

/// `0.47 x`, or `-` when there is no ratio.
pub fn format_ratio(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "-".into(), |r| format!("{r:.2} x"))
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

// ---------------------------------------------------------------------------------------
// The report

/// Where the figures were measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Machine {
    /// `--label`: the build and the machine's state, as the person running it put it.
    pub label: Option<String>,
    /// Cores this process may run on (what `nproc` prints).
    pub cores: usize,
    pub cpu_model: String,
    pub kernel: String,
    /// From `GET /health/detailed`.
    pub clowder_version: Option<String>,
    pub server_pid: Option<u32>,
    pub clock_ticks_per_sec: u64,
}

impl Machine {
    /// This machine, read from `/proc`.
    pub fn here(label: Option<String>, server_pid: Option<u32>, clowder_version: Option<String>) -> Self {
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        Self {
            label,
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu_model: parse_cpu_model(&read("/proc/cpuinfo")).unwrap_or_else(|| "unknown CPU".into()),
            kernel: kernel_line(&read("/proc/sys/kernel/ostype"), &read("/proc/sys/kernel/osrelease")),
            clowder_version,
            server_pid,
            clock_ticks_per_sec: clock_ticks_per_sec(),
        }
    }

    /// `2 cores, AMD EPYC, Linux 6.8.0, clowder 0.1.0 (pid 4242, 100 clock ticks/s)`.
    pub fn line(&self) -> String {
        let version =
            self.clowder_version.as_deref().map_or("clowder version unknown".into(), |v| format!("clowder {v}"));
        let pid = self.server_pid.map_or("no --server-pid".into(), |pid| format!("pid {pid}"));
        format!(
            "{} cores, {}, {}, {version} ({pid}, {} clock ticks/s)",
            self.cores, self.cpu_model, self.kernel, self.clock_ticks_per_sec
        )
    }
}

/// The first `model name` of `/proc/cpuinfo` (x86), else its `Processor` or `cpu model`.
pub fn parse_cpu_model(cpuinfo: &str) -> Option<String> {
    ["model name", "Processor", "cpu model"].iter().find_map(|key| {
        cpuinfo.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            (name.trim() == *key && !value.trim().is_empty()).then(|| value.trim().to_string())
        })
    })
}

fn kernel_line(ostype: &str, osrelease: &str) -> String {
    match (ostype.trim(), osrelease.trim()) {
        ("", "") => "unknown kernel".into(),
        ("", release) => release.into(),
        (os, release) => format!("{os} {release}"),
    }
}

/// What the run seeded and how it ran.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Settings {
    pub connections: u16,
    pub warmup_secs: f64,
    pub duration_secs: f64,
    /// Clients with one cat each: the patient, client and flood rows read them.
    pub read_set: u64,
    /// Clients (each with two cats) the search row finds.
    pub search_clients: u64,
    pub search_cats: u64,
    /// Appointments on the day the day view shows.
    pub day_appointments: u64,
    /// How long seeding took, and the index to find the last search client afterwards.
    pub seed_secs: f64,
    pub index_catch_up_secs: Option<f64>,
}

/// One phase's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompareRow {
    /// The figures as the other scenarios have them; `scenario` is the row's name.
    #[serde(flatten)]
    pub summary: ScenarioSummary,
    /// What each request was, e.g. `GET /api/patients/{id}`.
    pub route: String,
    /// `ok/s` over the session row's, when both ran at the same connections.
    pub ratio_to_session: Option<f64>,
    /// Server CPU (user + system) over the measured window, per recorded request.
    pub cpu_us_per_request: Option<f64>,
    /// Body of one answer, as sent (this client asks for no compression).
    pub answer_bytes: Option<u64>,
    /// The server's resident set after the phase.
    pub rss_after_kib: Option<u64>,
}

impl CompareRow {
    fn p99_ms(&self) -> Option<f64> {
        self.summary.latency.map(|l| l.p99_ms)
    }
}

/// Puts each row's rate against the session row's, where both ran at the same connections.
pub fn set_ratios(rows: &mut [CompareRow]) {
    let Some(session) = rows.iter().find(|r| r.summary.scenario == SESSION).map(|r| r.summary.clone()) else {
        return;
    };
    for row in rows {
        row.ratio_to_session = (row.summary.connections == session.connections)
            .then(|| ratio(row.summary.ok_per_sec, session.ok_per_sec))
            .flatten();
    }
}

/// Write p99 alone against the same writers beside a read flood.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FloodFigures {
    pub writers: u16,
    /// Connections reading patients beside the writers.
    pub readers: u16,
    pub alone_p99_ms: Option<f64>,
    pub flooded_p99_ms: Option<f64>,
    /// `flooded - alone`.
    pub difference_ms: Option<f64>,
    /// `flooded / alone`.
    pub ratio: Option<f64>,
    /// Server CPU over the flood phase per request (writes and reads together).
    pub server_cpu_us_per_request: Option<f64>,
    /// The store's share of the writes' latency (queued to answered, from the server's
    /// `clowder_store_waited_commit_seconds`) in `write-1`, warm-up included.
    pub commit_alone: Option<LatencyBound>,
    /// The same beside the read flood.
    pub commit_flooded: Option<LatencyBound>,
}

impl FloodFigures {
    pub fn new(alone: &ScenarioSummary, flooded: &ScenarioSummary, readers: u16, cpu: Option<f64>) -> Self {
        let alone_p99 = alone.latency.map(|l| l.p99_ms);
        let flooded_p99 = flooded.latency.map(|l| l.p99_ms);
        let both = alone_p99.zip(flooded_p99);
        Self {
            writers: flooded.connections,
            readers,
            alone_p99_ms: alone_p99,
            flooded_p99_ms: flooded_p99,
            difference_ms: both.map(|(a, f)| f - a),
            ratio: both.and_then(|(a, f)| ratio(f, a)),
            server_cpu_us_per_request: cpu,
            commit_alone: None,
            commit_flooded: None,
        }
    }

    /// `write p99 beside a read flood: 1 writer alone 3.100 ms, with 63 connections reading
    /// 5.200 ms: +2.100 ms (1.68 x)`.
    pub fn line(&self) -> String {
        let ms = |v: Option<f64>| v.map_or("no successful request".into(), |v| format!("{v:.3} ms"));
        let writers = if self.writers == 1 { "1 writer".into() } else { format!("{} writers", self.writers) };
        let mut line = format!(
            "write p99 beside a read flood: {writers} alone {}, with {} connections reading `GET /api/patients/{{id}}` {}",
            ms(self.alone_p99_ms),
            self.readers,
            ms(self.flooded_p99_ms)
        );
        if let Some(d) = self.difference_ms {
            let _ = write!(line, ": {d:+.3} ms ({})", format_ratio(self.ratio));
        }
        if let Some(cpu) = self.server_cpu_us_per_request {
            let _ = write!(line, "; server CPU {cpu:.1} µs per request over both");
        }
        if let (Some(alone), Some(flooded)) = (self.commit_alone, self.commit_flooded) {
            let bound =
                |b: LatencyBound| b.p99_at_most_ms.map_or("over the last bucket".into(), |v| format!("{v:.2} ms"));
            let _ = write!(
                line,
                "; the store's share of a write (queued to answered, `clowder_store_waited_commit_seconds`): mean \
                 {:.2} ms alone, {:.2} ms beside the flood; 99 % within {} alone, {} beside it",
                alone.mean_ms,
                flooded.mean_ms,
                bound(alone),
                bound(flooded)
            );
        }
        line
    }
}

/// The server's memory at the start (idle), once seeded, and at the end.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MemoryFigures {
    pub idle: Option<Memory>,
    pub after_seeding: Option<Memory>,
    pub end: Option<Memory>,
    /// The server's threads at the end.
    pub threads_end: Option<u64>,
}

impl MemoryFigures {
    /// `memory (VmRSS / VmHWM): idle at start 20.1 / 20.3 MiB (12.0 anonymous); …`, or why
    /// there is none.
    pub fn line(&self) -> String {
        let Some(end) = self.end else {
            return "memory: not measured (needs --server-pid)".into();
        };
        let pair = |m: Option<Memory>| {
            m.map_or("-".into(), |m| {
                let anon = m.anon_kib.map_or(String::new(), |a| format!(" ({:.1} anonymous)", mib(a)));
                format!("{:.1} / {:.1} MiB{anon}", mib(m.rss_kib), mib(m.hwm_kib))
            })
        };
        let mut line = format!(
            "memory (VmRSS / VmHWM): idle at start {}; after seeding {}; at the end {}",
            pair(self.idle),
            pair(self.after_seeding),
            pair(Some(end))
        );
        if let Some(threads) = self.threads_end {
            let _ = write!(line, "; {threads} threads");
        }
        line
    }
}

/// A line about something the run skipped or could not do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    pub message: String,
}

/// Everything one compare run measured.
#[derive(Debug, Clone)]
pub struct CompareReport {
    pub machine: Machine,
    pub settings: Settings,
    pub fsync: Option<FsyncFloor>,
    pub rows: Vec<CompareRow>,
    pub flood: Option<FloodFigures>,
    pub memory: MemoryFigures,
    pub notes: Vec<Note>,
}

/// A goal on an "at most" figure; missed when unmeasured.
fn at_most(goal: String, measured: Option<f64>, limit: f64, unit: &'static str) -> GoalCheck {
    GoalCheck { goal, measured, limit, unit, met: measured.is_some_and(|m| m <= limit) }
}

/// A goal on an "at least" figure; missed when unmeasured.
fn at_least(goal: String, measured: Option<f64>, limit: f64, unit: &'static str) -> GoalCheck {
    GoalCheck { goal, measured, limit, unit, met: measured.is_some_and(|m| m >= limit) }
}

/// ` at 64 connections`, or what the run had instead.
fn at_connections(connections: u16) -> String {
    if connections == GOAL_CONNECTIONS {
        format!("at {GOAL_CONNECTIONS} connections")
    } else {
        format!("(set for {GOAL_CONNECTIONS} connections; this run had {connections})")
    }
}

/// Issue 12's goals against this run's figures: only for the rows that ran (a missing figure
/// in a row that ran, such as CPU without `--server-pid`, shows as missed with no figure).
pub fn compare_goals(
    rows: &[CompareRow],
    flood: Option<&FloodFigures>,
    memory: &MemoryFigures,
    day_appointments: u64,
) -> Vec<GoalCheck> {
    let find = |name: &str| rows.iter().find(|r| r.summary.scenario == name);
    let mut checks = Vec::new();
    if let Some(patient) = find(PATIENT) {
        checks.push(at_least(
            format!("patient GET >= {PATIENT_RATIO_GOAL} x the session GET, same run"),
            patient.ratio_to_session,
            PATIENT_RATIO_GOAL,
            "x",
        ));
        let at = at_connections(patient.summary.connections);
        checks.push(at_least(
            format!("patient GETs/s >= {PATIENT_RATE_GOAL} {at}"),
            Some(patient.summary.ok_per_sec),
            PATIENT_RATE_GOAL,
            "/s",
        ));
        checks.push(at_most(
            format!("patient GET p99 <= {PATIENT_P99_GOAL_MS} ms"),
            patient.p99_ms(),
            PATIENT_P99_GOAL_MS,
            "ms",
        ));
    }
    if let Some(search) = find(SEARCH) {
        let at = at_connections(search.summary.connections);
        checks.push(at_least(
            format!("searches/s >= {SEARCH_RATE_GOAL} {at}"),
            Some(search.summary.ok_per_sec),
            SEARCH_RATE_GOAL,
            "/s",
        ));
        checks.push(at_most(
            format!("search p99 <= {SEARCH_P99_GOAL_MS} ms"),
            search.p99_ms(),
            SEARCH_P99_GOAL_MS,
            "ms",
        ));
    }
    if let Some(day) = find(DAY_VIEW) {
        checks.push(at_least(
            format!("day views/s >= {DAY_VIEW_RATE_GOAL} (100 x the original)"),
            Some(day.summary.ok_per_sec),
            DAY_VIEW_RATE_GOAL,
            "/s",
        ));
        checks.push(at_most(
            format!("day view answer <= the original's 44 KB (about 60 appointments; this day has {day_appointments})"),
            day.answer_bytes.map(|b| b as f64),
            DAY_VIEW_BYTES_GOAL,
            "B",
        ));
    }
    if let Some(one) = find(WRITE_ONE) {
        checks.push(at_most(
            format!("server CPU per single write <= {WRITE_ONE_CPU_GOAL_US} µs (1 connection)"),
            one.cpu_us_per_request,
            WRITE_ONE_CPU_GOAL_US,
            "µs",
        ));
    }
    if let Some(flood) = flood {
        checks.push(at_most(
            format!("a read flood adds <= {FLOOD_P99_GOAL_MS} ms to the write p99 (\"a few milliseconds\")"),
            flood.difference_ms,
            FLOOD_P99_GOAL_MS,
            "ms",
        ));
    }
    if let Some(write) = find(WRITE) {
        let at = at_connections(write.summary.connections);
        checks.push(at_least(
            format!("writes/s >= {WRITE_RATE_GOAL} {at}"),
            Some(write.summary.ok_per_sec),
            WRITE_RATE_GOAL,
            "/s",
        ));
    }
    if !rows.is_empty() {
        checks.push(at_most(
            format!("RSS at the end <= {RSS_AFTER_GOAL_MIB} MiB"),
            memory.end.map(|m| mib(m.rss_kib)),
            RSS_AFTER_GOAL_MIB,
            "MiB",
        ));
        checks.push(at_most(
            format!("RSS idle at the start <= {RSS_IDLE_GOAL_MIB} MiB (meaningful on a freshly started server)"),
            memory.idle.map(|m| mib(m.rss_kib)),
            RSS_IDLE_GOAL_MIB,
            "MiB",
        ));
    }
    checks
}

const TABLE_HEADERS: [&str; 11] =
    ["row", "route", "conns", "req/s", "p50 ms", "p99 ms", "vs session", "CPU µs/req", "answer B", "RSS MiB", "errors"];

/// Columns of the table that hold figures (right-aligned).
const NUMERIC: [bool; 11] = [false, false, true, true, true, true, true, true, true, true, false];

fn row_cells(row: &CompareRow) -> [String; 11] {
    let s = &row.summary;
    let ms =
        |pick: fn(&crate::stats::Latency) -> f64| s.latency.as_ref().map_or("-".into(), |l| format!("{:.3}", pick(l)));
    [
        s.scenario.clone(),
        format!("`{}`", row.route),
        s.connections.to_string(),
        format!("{:.1}", s.ok_per_sec),
        ms(|l| l.p50_ms),
        ms(|l| l.p99_ms),
        format_ratio(row.ratio_to_session),
        row.cpu_us_per_request.map_or("-".into(), |c| format!("{c:.1}")),
        row.answer_bytes.map_or("-".into(), |b| b.to_string()),
        row.rss_after_kib.map_or("-".into(), |k| format!("{:.1}", mib(k))),
        format_errors(&s.errors),
    ]
}

/// The rows as a Markdown table, columns padded so it reads as well in a terminal.
pub fn markdown_table(rows: &[CompareRow]) -> String {
    let cells: Vec<[String; 11]> = rows.iter().map(row_cells).collect();
    let widths: Vec<usize> = (0..TABLE_HEADERS.len())
        .map(|col| {
            cells
                .iter()
                .map(|r| r[col].chars().count())
                .chain([TABLE_HEADERS[col].chars().count(), 3])
                .max()
                .unwrap_or(3)
        })
        .collect();
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .zip(NUMERIC)
            .map(
                |((cell, &width), numeric)| if numeric { format!("{cell:>width$}") } else { format!("{cell:<width$}") },
            )
            .collect();
        format!("| {} |\n", padded.join(" | "))
    };
    let mut out = line(&TABLE_HEADERS.map(String::from));
    let rule: Vec<String> = widths
        .iter()
        .zip(NUMERIC)
        .map(|(&w, numeric)| if numeric { format!("{}:", "-".repeat(w - 1)) } else { "-".repeat(w) })
        .collect();
    out.push_str(&format!("|{}|\n", rule.iter().map(|r| format!(" {r} ")).collect::<Vec<_>>().join("|")));
    for row in &cells {
        out.push_str(&line(row));
    }
    out
}

impl CompareReport {
    pub fn goals(&self) -> Vec<GoalCheck> {
        compare_goals(&self.rows, self.flood.as_ref(), &self.memory, self.settings.day_appointments)
    }

    /// The 429 and similar hints of the other scenarios, for these rows.
    pub fn hints(&self) -> Vec<Hint> {
        hints(&self.rows.iter().map(|r| r.summary.clone()).collect::<Vec<_>>())
    }

    /// The human form, in Markdown: heading, machine and run, fsync floor, table, the flood
    /// and memory lines, goals, hints and notes.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let title = self.machine.label.as_deref().unwrap_or("unlabelled run");
        let _ = writeln!(out, "### clowder-loadtests compare: {title}\n");
        let _ = writeln!(out, "- machine: {}", self.machine.line());
        let s = &self.settings;
        let _ = write!(
            out,
            "- run: {} connections, {:.0} s per phase after {:.0} s of warm-up; seeded {} clients with a cat each",
            s.connections, s.duration_secs, s.warmup_secs, s.read_set
        );
        if s.search_clients > 0 {
            let _ = write!(out, ", {} search clients with {} cats", s.search_clients, s.search_cats);
        }
        if s.day_appointments > 0 {
            let _ = write!(out, ", a day of {} appointments for {DAY_VETS} vets", s.day_appointments);
        }
        let _ = write!(out, " in {:.1} s", s.seed_secs);
        if let Some(catch_up) = s.index_catch_up_secs {
            let _ = write!(out, " (the index found the last search client {catch_up:.2} s later)");
        }
        out.push('\n');
        if let Some(floor) = &self.fsync {
            let _ = writeln!(out, "- {}", fsync_line(floor));
        }
        out.push('\n');
        out.push_str(&markdown_table(&self.rows));
        out.push('\n');
        if let Some(flood) = &self.flood {
            let _ = writeln!(out, "- {}", flood.line());
        }
        let _ = writeln!(out, "- {}", self.memory.line());
        let goals = self.goals();
        if !goals.is_empty() {
            let _ = writeln!(out, "- goals of issue 12 (figures only; they never fail the run):");
            for goal in goals {
                let _ = writeln!(out, "  - {goal}");
            }
        }
        for hint in self.hints() {
            let _ = writeln!(out, "- {hint}");
        }
        for note in &self.notes {
            let _ = writeln!(out, "- note: {}", note.message);
        }
        out
    }

    /// The machine form: one JSON object per line, each tagged with its `kind`.
    pub fn to_json_lines(&self) -> Result<String> {
        let mut lines = vec![
            serde_json::to_string(&JsonLine::Machine(&self.machine))?,
            serde_json::to_string(&JsonLine::Run(&self.settings))?,
        ];
        if let Some(floor) = &self.fsync {
            lines.push(serde_json::to_string(&JsonLine::Fsync(floor))?);
        }
        for row in &self.rows {
            lines.push(serde_json::to_string(&JsonLine::Compare(row))?);
        }
        if let Some(flood) = &self.flood {
            lines.push(serde_json::to_string(&JsonLine::Flood(flood))?);
        }
        lines.push(serde_json::to_string(&JsonLine::Memory(&self.memory))?);
        for goal in &self.goals() {
            lines.push(serde_json::to_string(&JsonLine::Goal(goal))?);
        }
        for hint in &self.hints() {
            lines.push(serde_json::to_string(&JsonLine::Hint(hint))?);
        }
        for note in &self.notes {
            lines.push(serde_json::to_string(&JsonLine::Note(note))?);
        }
        Ok(lines.iter().map(|l| format!("{l}\n")).collect())
    }
}

#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum JsonLine<'a> {
    Machine(&'a Machine),
    Run(&'a Settings),
    Fsync(&'a FsyncFloor),
    Compare(&'a CompareRow),
    Flood(&'a FloodFigures),
    Memory(&'a MemoryFigures),
    Goal(&'a GoalCheck),
    Hint(&'a Hint),
    Note(&'a Note),
}

// ---------------------------------------------------------------------------------------
// The run

/// What seeding made for the phases.
struct Seeded {
    pets: Vec<(ClientId, PatientId)>,
    /// Typo'd name queries, when the server has search.
    search_urls: Vec<Url>,
    /// One location's day, when it could be seeded.
    day_url: Option<Url>,
}

/// Drives the phases one after another and collects the rows.
struct Runner {
    api: Arc<Api>,
    plan: Plan,
    server: Option<ServerProcess>,
    ticks_per_sec: u64,
    rows: Vec<CompareRow>,
    notes: Vec<Note>,
}

/// One phase's recorded requests (one tally per group of connections) and server CPU ticks.
struct Measured {
    tallies: Vec<Tally>,
    ticks: Option<u64>,
}

impl Runner {
    fn note(&mut self, message: String) {
        progress(&format!("compare: {message}"));
        self.notes.push(Note { message });
    }

    /// Waits until the server goes quiet (at most [`SETTLE_MAX`]), so work left from the phase
    /// before (the index catching up, the audit queue draining) is not billed to `next`.
    /// Without `--server-pid` there is nothing to watch.
    async fn settle(&mut self, next: &str) -> Result<()> {
        let Some(server) = self.server else { return Ok(()) };
        let quiet = quiet_ticks(self.ticks_per_sec, SETTLE_POLL);
        let deadline = Instant::now() + SETTLE_MAX;
        let mut last = server.stat()?.cpu_ticks();
        loop {
            tokio::time::sleep(SETTLE_POLL).await;
            let now = server.stat()?.cpu_ticks();
            if now.saturating_sub(last) <= quiet {
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.note(format!(
                    "the server was still busy {} s after the phase before {next}; its leftover work counts in {next}'s CPU",
                    SETTLE_MAX.as_secs()
                ));
                return Ok(());
            }
            last = now;
        }
    }

    /// Runs the groups of connections side by side over one window and reads the server's CPU
    /// at the start of the measured part and once every recorded request has its answer.
    async fn measure(&self, groups: Vec<(Arc<Workload>, u16)>) -> Result<Measured> {
        let start = Instant::now();
        let window = self.plan.window;
        let server = self.server;
        let cpu_at_start = async move {
            tokio::time::sleep_until(start + window.warmup).await;
            server.map(|s| s.stat()).transpose()
        };
        let drives = groups.into_iter().enumerate().map(|(i, (workload, connections))| {
            let seed = self.plan.seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            drive_from(start, self.api.clone(), workload, connections, window, seed)
        });
        let (tallies, before) = tokio::join!(join_all(drives), cpu_at_start);
        let after = server.map(|s| s.stat()).transpose()?;
        let ticks = before?.zip(after).map(|(b, a)| a.cpu_ticks().saturating_sub(b.cpu_ticks()));
        Ok(Measured { tallies: tallies.into_iter().collect::<Result<_>>()?, ticks })
    }

    /// The store's waited-commit histogram now; `None`, with a note, when the server does
    /// not show it (an older build) or `/metrics` cannot be read.
    async fn waited_commits(&mut self) -> Option<Histogram> {
        match self.api.metrics_text().await {
            Ok(text) => {
                let h = Histogram::parse(&text, WAITED_COMMITS);
                if h.is_none() {
                    self.note(format!(
                        "the server's /metrics has no {WAITED_COMMITS}: no store share on the flood line"
                    ));
                }
                h
            }
            Err(e) => {
                self.note(format!("could not read /metrics ({e:#}): no store share on the flood line"));
                None
            }
        }
    }

    fn rss_kib(&self) -> Result<Option<u64>> {
        Ok(self.server.map(|s| s.memory()).transpose()?.map(|m| m.rss_kib))
    }

    /// Settles, asks once for the answer's size, then runs `workload` on `connections`: one
    /// row. A probe answered other than 2xx skips the row with a note.
    async fn phase(
        &mut self,
        name: &str,
        route: &str,
        connections: u16,
        probe: Result<Probed>,
        workload: Workload,
    ) -> Result<()> {
        self.settle(name).await?;
        let probed = probe?;
        if let Some(failure) = &probed.failure {
            self.note(format!("{name} skipped: `{route}` answered {failure}"));
            return Ok(());
        }
        let plural = if connections == 1 { "" } else { "s" };
        progress(&format!("compare: {name}: {connections} connection{plural}, `{route}`"));
        let measured = self.measure(vec![(Arc::new(workload), connections)]).await?;
        let tally = &measured.tallies[0];
        let summary = ScenarioSummary::new(name, connections, self.plan.window.measure, tally);
        let cpu = measured.ticks.and_then(|t| cpu_us_per_request(t, self.ticks_per_sec, summary.requests));
        self.rows.push(CompareRow {
            summary,
            route: route.into(),
            ratio_to_session: None,
            cpu_us_per_request: cpu,
            answer_bytes: Some(probed.bytes),
            rss_after_kib: self.rss_kib()?,
        });
        Ok(())
    }

    /// [`FLOOD_WRITERS`] writers beside `connections - writers` readers of the read set: two
    /// rows, and the figures that set the writers' p99 against the `write-1` row's.
    async fn flood(&mut self, pets: &[(ClientId, PatientId)], bytes: u64) -> Result<Option<FloodFigures>> {
        self.settle(WRITE_FLOODED).await?;
        let readers = self.plan.connections.saturating_sub(FLOOD_WRITERS).max(1);
        progress(&format!("compare: {WRITE_FLOODED}: {FLOOD_WRITERS} writing beside {readers} reading"));
        let writes = Workload::create_clients(format!("{}f", self.plan.run_tag));
        let reads = Workload::read_patients(pets.iter().map(|&(_, p)| p).collect())?;
        let measured = self.measure(vec![(Arc::new(writes), FLOOD_WRITERS), (Arc::new(reads), readers)]).await?;
        let window = self.plan.window.measure;
        let written = ScenarioSummary::new(WRITE_FLOODED, FLOOD_WRITERS, window, &measured.tallies[0]);
        let read = ScenarioSummary::new(FLOOD_READS, readers, window, &measured.tallies[1]);
        let cpu =
            measured.ticks.and_then(|t| cpu_us_per_request(t, self.ticks_per_sec, written.requests + read.requests));
        let rss = self.rss_kib()?;
        let alone = self.rows.iter().find(|r| r.summary.scenario == WRITE_ONE).map(|r| r.summary.clone());
        let figures = alone.map(|alone| FloodFigures::new(&alone, &written, readers, cpu));
        for (summary, route, answer) in [(written, "POST /api/clients", bytes), (read, "GET /api/patients/{id}", 0)] {
            // The phase's CPU is shared by both rows: it is on the flood line instead.
            let answer_bytes = (answer > 0).then_some(answer);
            self.rows.push(CompareRow {
                summary,
                route: route.into(),
                ratio_to_session: None,
                cpu_us_per_request: None,
                answer_bytes,
                rss_after_kib: rss,
            });
        }
        Ok(figures)
    }
}

/// Seeds the read set and one location's day, then the search clients (each within its
/// budget); a server without search or the day view gets a note and no row.
async fn seed(
    api: &Arc<Api>,
    args: &Args,
    plan: &Plan,
    settings: &mut Settings,
    notes: &mut Vec<Note>,
) -> Result<Seeded> {
    let started = Instant::now();
    progress(&format!("compare: seeding {} clients with a cat each and a day of appointments", plan.read_set));
    let (pets, day) = tokio::time::timeout(SETUP_BUDGET, async {
        let pets = seed_pets(api, plan.read_set).await?;
        let day = seed_day(api, plan, &pets).await;
        anyhow::Ok((pets, day))
    })
    .await
    .with_context(|| format!("seeding the read set and the day took longer than {} s", SETUP_BUDGET.as_secs()))??;
    let day_url = match day {
        Ok((url, appointments)) => {
            settings.day_appointments = appointments;
            Some(url)
        }
        Err(e) => {
            notes.push(Note { message: format!("{DAY_VIEW} skipped: seeding the day failed: {e:#}") });
            None
        }
    };
    settings.read_set = pets.len() as u64;

    let mut search_urls = Vec::new();
    let ask = api.probe_get(&api.search_url("probe", SEARCH_LIMIT)).await?;
    if let Some(failure) = ask.failure {
        notes.push(Note { message: format!("{SEARCH} skipped: `GET /api/search` answered {failure}") });
    } else {
        let clinic = Clinic { clients: u64::from(args.compare_search_clients), seed: plan.seed };
        progress(&format!("compare: seeding {} search clients with 2 cats each", clinic.clients));
        let budget = args.compare_search_budget();
        let (figures, _, _) = tokio::time::timeout(budget, search_setup(api, clinic, None))
            .await
            .with_context(|| format!("seeding the search clients took longer than {} s", budget.as_secs()))??;
        settings.search_clients = figures.clients;
        settings.search_cats = figures.patients;
        settings.index_catch_up_secs = Some(figures.index_catch_up_secs);
        search_urls =
            clinic.name_queries(QUERY_SET).into_iter().map(|(q, _)| api.search_url(&q, SEARCH_LIMIT)).collect();
    }
    settings.seed_secs = started.elapsed().as_secs_f64();
    Ok(Seeded { pets, search_urls, day_url })
}

/// One location open every day, [`DAY_VETS`] vets with a shift tomorrow and eight "Wellness
/// exam" bookings each (as the availability scenario seeds a day), for the first cats of the
/// read set. Returns the day view's URL and the appointments booked.
async fn seed_day(api: &Arc<Api>, plan: &Plan, pets: &[(ClientId, PatientId)]) -> Result<(Url, u64)> {
    let wellness = appointment_type(api, AVAILABILITY_TYPE).await?;
    let tz = TimeZone::get(TIME_ZONE).with_context(|| format!("looking up the time zone {TIME_ZONE}"))?;
    let date = plan.now.to_zoned(tz.clone()).date().tomorrow().context("tomorrow's date")?;
    let location =
        NewLocation { name: format!("Load {} day view", plan.run_tag), ..NewLocation::open_every_day(&plan.run_tag) };
    let location_id = api.create_location(&location).await?;
    let vet_count = usize::from(DAY_VETS);
    // Each vet books a cat of its own, so no cat is in two places at once.
    let pets: Vec<(ClientId, PatientId)> =
        if pets.len() >= vet_count { pets[..vet_count].to_vec() } else { seed_pets(api, u32::from(DAY_VETS)).await? };
    let (_, bookings) = book_vets(api, None, &wellness, &tz, location_id, &[date], &pets).await?;
    let count = bookings.len() as u64;
    Ok((api.day_view_url(date, location_id), count))
}

/// The whole compare run: sign in, read the machine and the idle server, measure the fsync
/// floor, seed, then the phases in order (see the module doc).
pub async fn run(args: &Args) -> Result<CompareReport> {
    let api = Arc::new(sign_in(args).await?);
    let server = args.server_pid.map(|pid| ServerProcess { pid });
    let mut notes = Vec::new();
    if server.is_none() {
        notes.push(Note { message: "no --server-pid: no server CPU per request and no RSS".into() });
    }
    // Before anything of this run touches the server: its idle figure.
    let idle = server.map(|s| s.memory()).transpose()?;
    let version = match api.server_version().await {
        Ok(version) => version,
        Err(e) => {
            notes.push(Note { message: format!("no server version: {e:#}") });
            None
        }
    };
    let machine = Machine::here(args.label.clone(), args.server_pid, version);
    let fsync = measure_floor(args).await?;
    let plan = plan(args);
    let mut settings = Settings {
        connections: plan.connections,
        warmup_secs: plan.window.warmup.as_secs_f64(),
        duration_secs: plan.window.measure.as_secs_f64(),
        ..Settings::default()
    };
    let seeded = seed(&api, args, &plan, &mut settings, &mut notes).await?;
    let after_seeding = server.map(|s| s.memory()).transpose()?;

    let connections = plan.connections;
    let mut runner =
        Runner { api: api.clone(), plan, server, ticks_per_sec: machine.clock_ticks_per_sec, rows: Vec::new(), notes };
    let me = api.me_url();
    runner.phase(SESSION, "GET /api/auth/me", connections, api.probe_get(&me).await, Workload::get(vec![me])?).await?;
    let patients: Vec<PatientId> = seeded.pets.iter().map(|&(_, p)| p).collect();
    let first_patient = api.patient_url(patients[0])?;
    runner
        .phase(
            PATIENT,
            "GET /api/patients/{id}",
            connections,
            api.probe_get(&first_patient).await,
            Workload::read_patients(patients)?,
        )
        .await?;
    let clients = seeded.pets.iter().map(|&(c, _)| api.client_url(c)).collect::<Result<Vec<_>>>()?;
    runner
        .phase(CLIENT, "GET /api/clients/{id}", connections, api.probe_get(&clients[0]).await, Workload::get(clients)?)
        .await?;
    let list = api.clients_list_url(LIST_LIMIT);
    let list_route = format!("GET /api/clients?limit={LIST_LIMIT}");
    runner.phase(CLIENT_LIST, &list_route, connections, api.probe_get(&list).await, Workload::get(vec![list])?).await?;
    if let Some(first) = seeded.search_urls.first().cloned() {
        let probe = api.probe_get(&first).await;
        runner
            .phase(
                SEARCH,
                "GET /api/search?q=<name, one typo>&limit=10",
                connections,
                probe,
                Workload::get(seeded.search_urls)?,
            )
            .await?;
    }
    if let Some(day) = seeded.day_url {
        let probe = api.probe_get(&day).await;
        runner
            .phase(DAY_VIEW, "GET /api/calendar?date=…&location=…", connections, probe, Workload::get(vec![day])?)
            .await?;
    }
    // One client created outside the phases, for the answer's size; its own tag keeps its
    // email apart from the phases' (each phase has a tag of its own for the same reason).
    let write_probe = api.probe_post_client(&NewClient::unique(&format!("{}p", runner.plan.run_tag), 0)).await;
    let write_bytes = write_probe.as_ref().ok().filter(|p| p.ok()).map(|p| p.bytes);
    let tag = runner.plan.run_tag.clone();
    let commits_before = runner.waited_commits().await;
    runner
        .phase(WRITE_ONE, "POST /api/clients", FLOOD_WRITERS, write_probe, Workload::create_clients(format!("{tag}o")))
        .await?;
    let commits_alone = runner.waited_commits().await;
    let mut flood = match write_bytes {
        Some(bytes) => runner.flood(&seeded.pets, bytes).await?,
        None => {
            runner.note(format!("{WRITE_FLOODED} skipped: creating a client failed"));
            None
        }
    };
    if let Some(flood) = flood.as_mut() {
        let commits_flooded = runner.waited_commits().await;
        let phase = |after: &Option<Histogram>, before: &Option<Histogram>| {
            after.as_ref().zip(before.as_ref()).and_then(|(a, b)| a.since(b).figures_ms())
        };
        flood.commit_alone = phase(&commits_alone, &commits_before);
        flood.commit_flooded = phase(&commits_flooded, &commits_alone);
    }
    let probe = api.probe_post_client(&NewClient::unique(&format!("{tag}p"), 1)).await;
    runner.phase(WRITE, "POST /api/clients", connections, probe, Workload::create_clients(format!("{tag}w"))).await?;

    let mut rows = runner.rows;
    set_ratios(&mut rows);
    let end = server.map(|s| s.stat().and_then(|stat| Ok((s.memory()?, stat.threads)))).transpose()?;
    let memory = MemoryFigures { idle, after_seeding, end: end.map(|(m, _)| m), threads_end: end.map(|(_, t)| t) };
    Ok(CompareReport { machine, settings, fsync: Some(fsync), rows, flood, memory, notes: runner.notes })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::stats::Latency;

    #[test]
    fn cpu_per_request_is_ticks_in_microseconds_over_requests() {
        // 250 ticks at 100 a second = 2.5 s of CPU over 10,000 requests = 250 µs each.
        assert_eq!(cpu_us_per_request(250, 100, 10_000), Some(250.0));
        assert_eq!(cpu_us_per_request(1, 1000, 4), Some(250.0));
        assert_eq!(cpu_us_per_request(0, 100, 10), Some(0.0));
        assert_eq!(cpu_us_per_request(5, 100, 0), None);
        assert_eq!(cpu_us_per_request(5, 0, 10), None);
    }

    #[test]
    fn quiet_is_a_twentieth_of_a_core_but_at_least_one_tick() {
        assert_eq!(quiet_ticks(100, Duration::from_millis(250)), 1);
        assert_eq!(quiet_ticks(1000, Duration::from_millis(250)), 12);
        assert_eq!(quiet_ticks(100, Duration::from_secs(2)), 10);
    }

    #[test]
    fn ratios_have_two_decimals_or_a_dash() {
        assert_eq!(format_ratio(ratio(11_442.0, 26_693.0)), "0.43 x");
        assert_eq!(format_ratio(ratio(3.0, 2.0)), "1.50 x");
        assert_eq!(ratio(1.0, 0.0), None);
        assert_eq!(format_ratio(None), "-");
    }

    #[test]
    fn the_cpu_model_and_kernel_are_read_from_proc() {
        let x86 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13\n";
        assert_eq!(parse_cpu_model(x86).as_deref(), Some("AMD EPYC 7B13"));
        assert_eq!(parse_cpu_model("processor\t: 0\nBogoMIPS\t: 50\n"), None);
        assert_eq!(parse_cpu_model("Processor\t: ARMv7 rev 4 (v7l)\n").as_deref(), Some("ARMv7 rev 4 (v7l)"));
        assert_eq!(kernel_line("Linux\n", "6.8.0-45-generic\n"), "Linux 6.8.0-45-generic");
        assert_eq!(kernel_line("", ""), "unknown kernel");
    }

    fn latency(p50: f64, p99: f64) -> Option<Latency> {
        Some(Latency { p50_ms: p50, p90_ms: p99 / 2.0, p99_ms: p99, max_ms: p99 * 2.0 })
    }

    fn row(
        name: &str,
        connections: u16,
        ok_per_sec: f64,
        p99: f64,
        cpu: Option<f64>,
        bytes: Option<u64>,
    ) -> CompareRow {
        let requests = (ok_per_sec * 10.0) as u64;
        CompareRow {
            summary: ScenarioSummary {
                scenario: name.into(),
                connections,
                duration_secs: 10.0,
                requests,
                ok: requests,
                ok_per_sec,
                errors: BTreeMap::new(),
                latency: latency(p99 / 4.0, p99),
                ran_out: 0,
            },
            route: match name {
                SESSION => "GET /api/auth/me".into(),
                PATIENT => "GET /api/patients/{id}".into(),
                _ => "POST /api/clients".into(),
            },
            ratio_to_session: None,
            cpu_us_per_request: cpu,
            answer_bytes: bytes,
            rss_after_kib: Some(102_400),
        }
    }

    fn report() -> CompareReport {
        let mut rows = vec![
            row(SESSION, 64, 26_693.0, 3.0, Some(60.0), Some(312)),
            row(PATIENT, 64, 11_442.0, 10.9, Some(130.0), Some(420)),
            row(DAY_VIEW, 64, 1_498.0, 80.0, Some(1230.0), Some(119_808)),
            row(WRITE_ONE, 1, 669.0, 2.0, Some(2500.0), Some(380)),
            row(WRITE_FLOODED, 1, 400.0, 6.5, None, Some(380)),
            row(WRITE, 64, 5_388.0, 20.0, Some(330.0), Some(380)),
        ];
        set_ratios(&mut rows);
        let flood = FloodFigures::new(&rows[3].summary, &rows[4].summary, 63, Some(90.0));
        CompareReport {
            machine: Machine {
                label: Some("baseline, busy machine".into()),
                cores: 2,
                cpu_model: "AMD EPYC".into(),
                kernel: "Linux 6.8.0".into(),
                clowder_version: Some("0.1.0".into()),
                server_pid: Some(4242),
                clock_ticks_per_sec: 100,
            },
            settings: Settings {
                connections: 64,
                warmup_secs: 1.0,
                duration_secs: 10.0,
                read_set: 200,
                search_clients: 0,
                search_cats: 0,
                day_appointments: 48,
                seed_secs: 3.5,
                index_catch_up_secs: None,
            },
            fsync: None,
            rows,
            flood: Some(flood),
            memory: MemoryFigures {
                idle: Some(Memory { rss_kib: 30 * 1024, hwm_kib: 30 * 1024, anon_kib: Some(12 * 1024) }),
                after_seeding: Some(Memory { rss_kib: 60 * 1024, hwm_kib: 61 * 1024, anon_kib: None }),
                end: Some(Memory { rss_kib: 510 * 1024, hwm_kib: 520 * 1024, anon_kib: None }),
                threads_end: Some(9),
            },
            notes: vec![Note { message: "search skipped: `GET /api/search` answered HTTP 404".into() }],
        }
    }

    #[test]
    fn ratios_are_to_the_session_row_at_the_same_connections() {
        let r = report();
        let ratios: Vec<Option<String>> =
            r.rows.iter().map(|row| row.ratio_to_session.map(|x| format!("{x:.3}"))).collect();
        let s = |v: &str| Some(v.to_string());
        assert_eq!(ratios, [s("1.000"), s("0.429"), s("0.056"), None, None, s("0.202")]);
        let mut no_session = vec![row(PATIENT, 64, 1.0, 1.0, None, None)];
        set_ratios(&mut no_session);
        assert_eq!(no_session[0].ratio_to_session, None);
    }

    #[test]
    fn the_flood_line_gives_both_p99s_and_the_difference() {
        let flood = report().flood.unwrap();
        assert_eq!((flood.writers, flood.readers), (1, 63));
        assert!((flood.difference_ms.unwrap() - 4.5).abs() < 1e-9);
        assert_eq!(
            flood.line(),
            "write p99 beside a read flood: 1 writer alone 2.000 ms, with 63 connections reading \
             `GET /api/patients/{id}` 6.500 ms: +4.500 ms (3.25 x); server CPU 90.0 µs per request over both"
        );
        let mut failed = report().rows[4].summary.clone();
        failed.latency = None;
        let none = FloodFigures::new(&report().rows[3].summary, &failed, 63, None);
        assert_eq!((none.difference_ms, none.ratio), (None, None));
        assert!(none.line().ends_with("`GET /api/patients/{id}` no successful request"), "{}", none.line());
    }

    #[test]
    fn the_flood_line_gives_the_stores_share_of_a_write_when_the_server_shows_it() {
        let mut flood = report().flood.unwrap();
        flood.commit_alone = Some(LatencyBound { count: 500, mean_ms: 0.61, p99_at_most_ms: Some(0.977) });
        flood.commit_flooded = Some(LatencyBound { count: 80, mean_ms: 1.234, p99_at_most_ms: None });
        assert!(
            flood.line().ends_with(
                "; the store's share of a write (queued to answered, `clowder_store_waited_commit_seconds`): mean \
                 0.61 ms alone, 1.23 ms beside the flood; 99 % within 0.98 ms alone, over the last bucket beside it"
            ),
            "{}",
            flood.line()
        );
        // Only one side measured (the server restarted, /metrics failed): nothing is printed.
        flood.commit_flooded = None;
        assert!(flood.line().ends_with("per request over both"), "{}", flood.line());
    }

    #[test]
    fn the_markdown_report_has_machine_table_flood_memory_goals_and_notes() {
        let text = report().to_markdown();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "### clowder-loadtests compare: baseline, busy machine");
        assert_eq!(lines[2], "- machine: 2 cores, AMD EPYC, Linux 6.8.0, clowder 0.1.0 (pid 4242, 100 clock ticks/s)");
        assert!(
            lines[3].starts_with("- run: 64 connections, 10 s per phase after 1 s of warm-up; seeded 200 clients"),
            "{text}"
        );
        assert!(lines[3].contains("a day of 48 appointments for 6 vets in 3.5 s"), "{text}");
        let header = lines.iter().position(|l| l.starts_with("| row")).unwrap();
        assert!(lines[header + 1].starts_with("| ---"), "{text}");
        assert!(lines[header + 1].contains("---: |"), "{text}");
        let patient = lines[header + 3];
        let cells: Vec<&str> = patient.trim_matches('|').split('|').map(str::trim).collect();
        assert_eq!(
            cells,
            [
                "patient",
                "`GET /api/patients/{id}`",
                "64",
                "11442.0",
                "2.725",
                "10.900",
                "0.43 x",
                "130.0",
                "420",
                "100.0",
                "none"
            ]
        );
        // Every line of the table is as wide as the header: the columns line up.
        let widths: Vec<usize> = lines[header..header + 8].iter().map(|l| l.chars().count()).collect();
        assert!(widths.iter().all(|&w| w == widths[0]), "{widths:?}\n{text}");
        assert!(text.contains("\n- write p99 beside a read flood: 1 writer alone 2.000 ms"), "{text}");
        assert!(text.contains("\n- memory (VmRSS / VmHWM): idle at start 30.0 / 30.0 MiB (12.0 anonymous); after seeding 60.0 / 61.0 MiB; at the end 510.0 / 520.0 MiB; 9 threads\n"), "{text}");
        assert!(
            text.contains(
                "\n  - patient GET >= 0.8 x the session GET, same run: measured 0.43 x, limit 0.80 x: goal missed\n"
            ),
            "{text}"
        );
        assert!(text.ends_with("- note: search skipped: `GET /api/search` answered HTTP 404\n"), "{text}");
    }

    #[test]
    fn goals_cover_the_rows_that_ran() {
        let r = report();
        let lines: Vec<String> = r.goals().iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "patient GET >= 0.8 x the session GET, same run: measured 0.43 x, limit 0.80 x: goal missed",
                "patient GETs/s >= 34500 at 64 connections: measured 11442.0/s, limit 34500.0/s: goal missed",
                "patient GET p99 <= 5 ms: measured 10.900 ms, limit 5.000 ms: goal missed",
                "day views/s >= 2570 (100 x the original): measured 1498.0/s, limit 2570.0/s: goal missed",
                "day view answer <= the original's 44 KB (about 60 appointments; this day has 48): measured 119808 B, \
                 limit 45056 B: goal missed",
                "server CPU per single write <= 500 µs (1 connection): measured 2500.00 µs, limit 500.00 µs: goal missed",
                "a read flood adds <= 5 ms to the write p99 (\"a few milliseconds\"): measured 4.500 ms, limit 5.000 ms: \
                 goal met",
                "writes/s >= 8125 at 64 connections: measured 5388.0/s, limit 8125.0/s: goal missed",
                "RSS at the end <= 75 MiB: measured 510.0 MiB, limit 75.0 MiB: goal missed",
                "RSS idle at the start <= 40 MiB (meaningful on a freshly started server): measured 30.0 MiB, limit \
                 40.0 MiB: goal met",
            ]
        );
        // Without --server-pid the CPU and memory goals are missed with no figure.
        let mut blind = report();
        blind.memory = MemoryFigures::default();
        blind.rows.iter_mut().for_each(|r| r.cpu_us_per_request = None);
        let checks = blind.goals();
        let cpu = checks.iter().find(|c| c.goal.starts_with("server CPU")).unwrap();
        assert_eq!((cpu.measured, cpu.met), (None, false));
        assert_eq!(blind.memory.line(), "memory: not measured (needs --server-pid)");
        // Another connection count is said so.
        let mut fewer = vec![row(WRITE, 16, 9000.0, 1.0, None, None)];
        set_ratios(&mut fewer);
        let check = &compare_goals(&fewer, None, &MemoryFigures::default(), 0)[0];
        assert_eq!(check.goal, "writes/s >= 8125 (set for 64 connections; this run had 16)");
        assert!(compare_goals(&[], None, &MemoryFigures::default(), 0).is_empty());
    }

    #[test]
    fn json_lines_are_one_tagged_object_each() {
        let text = report().to_json_lines().unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let kinds: Vec<&str> = lines.iter().map(|l| l["kind"].as_str().unwrap()).collect();
        let mut expected = vec!["machine", "run"];
        expected.extend(["compare"; 6]);
        expected.extend(["flood", "memory"]);
        expected.extend(["goal"; 10]);
        expected.push("note");
        assert_eq!(kinds, expected);
        assert_eq!(lines[0]["cores"], 2);
        assert_eq!(lines[0]["label"], "baseline, busy machine");
        let patient = &lines[3];
        assert_eq!(patient["scenario"], "patient");
        assert_eq!(patient["route"], "GET /api/patients/{id}");
        assert_eq!(patient["latency"]["p99_ms"], 10.9);
        assert_eq!(patient["cpu_us_per_request"], 130.0);
        assert_eq!(patient["answer_bytes"], 420);
        assert_eq!(patient["rss_after_kib"], 102_400);
        assert_eq!(lines[8]["readers"], 63);
        assert_eq!(lines[9]["end"]["hwm_kib"], 520 * 1024);
        assert_eq!(lines.last().unwrap()["message"], "search skipped: `GET /api/search` answered HTTP 404");
    }
}
