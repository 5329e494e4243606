//! Command-line arguments: where the server is, how to sign in, how hard and how long to push,
//! and the time budget that bounds the whole run.
//!
//! This module only describes and derives settings; it opens no sockets and touches no files.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum, value_parser};

use crate::compare::{COMPARE_WINDOWS, SETTLE_MAX};
use crate::search::{INDEX_WAIT, SEED_BUDGET_PER_CLIENT, SEED_IN_FLIGHT as SEARCH_SEED_IN_FLIGHT};

/// How long seeding the read set may take before the run gives up.
pub const SETUP_BUDGET: Duration = Duration::from_secs(120);

/// How long the fsync measurement may take before the run gives up.
pub const FSYNC_BUDGET: Duration = Duration::from_secs(120);

/// Slack for sign-in and for the connection tasks to wind down after their last request.
const SLACK: Duration = Duration::from_secs(15);

/// The server settings a load run needs: the default sign-in limit (10 attempts per username
/// and per address in 5 minutes) and per-session request limit would answer most of the
/// load with 429.
pub const LOAD_RUN_SERVER_ENV: &str =
    "CLOWDER_LOGIN_ATTEMPTS=100000000 CLOWDER_RATE_PER_SEC=1000000 CLOWDER_RATE_BURST=1000000";

/// What to do about 429 answers.
pub fn rate_limit_advice() -> String {
    format!("for load runs, start the server with {LOAD_RUN_SERVER_ENV}")
}

/// Load scenarios against a running Clowder server, with the disk's fsync latency measured
/// in the same run as the physical floor.
#[derive(Debug, Clone, Parser)]
#[command(name = "clowder-loadtests", version)]
pub struct Args {
    /// Base URL of the server. Must be a loopback address unless --allow-remote is given.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,

    /// Allow a server address that is not loopback (127.0.0.0/8, ::1, localhost).
    #[arg(long)]
    pub allow_remote: bool,

    /// User to sign in as.
    #[arg(long, default_value = "admin")]
    pub username: String,

    /// Password of that user.
    #[arg(long, env = "CLOWDER_ADMIN_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,

    /// Concurrent connections, each a closed loop of sequential requests (default 64; 8 for
    /// `backup` and `drill-writer`, see [`Args::connections`]).
    #[arg(long, value_parser = value_parser!(u16).range(1..=4096))]
    pub connections: Option<u16>,

    /// Measured time per scenario, after the warm-up.
    #[arg(long, default_value_t = 10, value_parser = value_parser!(u64).range(1..=3600))]
    pub duration_secs: u64,

    /// Time per scenario during which requests run but are not recorded.
    #[arg(long, default_value_t = 1, value_parser = value_parser!(u64).range(0..=600))]
    pub warmup_secs: u64,

    /// Per-request timeout.
    #[arg(long, default_value_t = 10, value_parser = value_parser!(u64).range(1..=120))]
    pub request_timeout_secs: u64,

    /// The server's data directory; the fsync floor is measured on its disk. Without it the
    /// system temp directory is used (and the report says so).
    #[arg(long, env = "CLOWDER_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// Number of 4 KiB write + fsync rounds for the floor.
    #[arg(long, default_value_t = 200, value_parser = value_parser!(u32).range(1..=100_000))]
    pub fsync_samples: u32,

    /// Clients (each with one patient) created for the read scenario.
    #[arg(long, default_value_t = 200, value_parser = value_parser!(u32).range(1..=100_000))]
    pub read_set: u32,

    /// Staff users created for the signin scenario; its sign-ins take them in turn.
    #[arg(long, default_value_t = 8, value_parser = value_parser!(u16).range(1..=1000))]
    pub signin_users: u16,

    /// Concurrent connections signing in, in the signin scenario (the GETs beside them use
    /// --connections).
    #[arg(long, default_value_t = 8, value_parser = value_parser!(u16).range(1..=4096))]
    pub signin_connections: u16,

    /// Locations created for the book scenario; connection i books at location i mod this.
    #[arg(long, default_value_t = 4, value_parser = value_parser!(u16).range(1..=256))]
    pub locations: u16,

    /// WebSocket connections (dashboards) opened by the fanout scenario, each subscribed to
    /// the same room.
    #[arg(long, default_value_t = 500, value_parser = value_parser!(u16).range(1..=5000))]
    pub dashboards: u16,

    /// The hl7 scenario with the ward board watched in the same run: this many boards follow
    /// a ward of 20 admitted cats whose slots are marked done at --ward-rate during the burst
    /// (0: no ward).
    #[arg(long, default_value_t = 0, value_parser = value_parser!(u32).range(0..=1000))]
    pub ward_boards: u32,

    /// Slots marked done per second on that ward during the hl7 burst.
    #[arg(long, default_value_t = crate::ward::MARKS_PER_SEC, value_parser = value_parser!(u64).range(1..=1000))]
    pub ward_rate: u64,

    /// Clients the search scenario creates, each with two cats.
    #[arg(long, default_value_t = 20_000, value_parser = value_parser!(u32).range(1..=1_000_000))]
    pub search_clients: u32,

    /// Concurrent connections searching, in the search scenario (the goals are set
    /// for 16).
    #[arg(long, default_value_t = 16, value_parser = value_parser!(u16).range(1..=4096))]
    pub search_connections: u16,

    /// The server's process id, for the fanout scenario's server CPU per frame and RSS per
    /// socket, and the compare report's CPU per request and RSS (read from /proc; the server
    /// must run on this machine). Without it those figures are skipped.
    #[arg(long)]
    pub server_pid: Option<u32>,

    /// Print one JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,

    /// Clients (each with two cats) the compare report seeds for its search row: a few
    /// hundred keep the whole report within about two minutes.
    #[arg(long, default_value_t = 500, value_parser = value_parser!(u32).range(1..=100_000))]
    pub compare_search_clients: u32,

    /// A label for the compare report's heading and JSON (the build and the machine's state,
    /// e.g. "v0.2.0, quiet machine"), so a pasted row says what was measured.
    #[arg(long)]
    pub label: Option<String>,

    /// Cats the clinic scenario creates (for about 0.6 as many clients).
    #[arg(long, default_value_t = 100_000, value_parser = value_parser!(u64).range(1..=1_000_000))]
    pub clinic_patients: u64,

    /// Years of history the clinic scenario writes for every cat.
    #[arg(long, default_value_t = 5, value_parser = value_parser!(u32).range(0..=50))]
    pub clinic_years: u32,

    /// Visits per cat and year in the clinic's history, each one PATCH of the cat (notes with
    /// the weight, sometimes allergies or handling notes).
    #[arg(long, default_value_t = crate::clinic::VISITS_PER_YEAR, value_parser = value_parser!(u32).range(0..=100))]
    pub clinic_visits_per_year: u32,

    /// Audited reads (GET of the cat) per cat and year in the clinic's history.
    #[arg(long, default_value_t = crate::clinic::READS_PER_YEAR, value_parser = value_parser!(u32).range(0..=100))]
    pub clinic_reads_per_year: u32,

    /// The drill's log of acknowledged writes: `drill-writer` appends one line per 201
    /// (client id, time acknowledged), `drill-check` reads it.
    #[arg(long)]
    pub drill_log: Option<PathBuf>,

    /// For `drill-check`: when the backup restored was taken (its manifest's `created_at`).
    /// Every write acknowledged before it must be in the restored server; the check counts
    /// those that are not.
    #[arg(long)]
    pub drill_backup_at: Option<jiff::Timestamp>,

    /// Reminders the reminders scenario books and waits for at its SMTP sink.
    #[arg(long, default_value_t = 10_000, value_parser = value_parser!(u32).range(1..=200_000))]
    pub reminders: u32,

    /// Pending jobs the reminders scenario makes before its second booking window (two
    /// reminder jobs per appointment booked months ahead).
    #[arg(long, default_value_t = 100_000, value_parser = value_parser!(u32).range(0..=2_000_000))]
    pub pending_jobs: u32,

    /// Port of the reminders scenario's SMTP sink on 127.0.0.1; the server must send there
    /// (CLOWDER_EMAIL_PROVIDER=smtp CLOWDER_SMTP_HOST=127.0.0.1 CLOWDER_SMTP_PORT set to it
    /// CLOWDER_SMTP_TLS=none).
    #[arg(long, default_value_t = 2525)]
    pub smtp_sink_port: u16,

    /// What to run.
    #[arg(value_enum)]
    pub scenario: Scenario,
}

/// A named run. Every scenario that talks HTTP measures the fsync floor first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// Only the fsync floor; needs no server.
    Fsync,
    /// Seed a small set of patients, then GET them at random.
    Read,
    /// Create clients with unique data.
    Write,
    /// Book non-conflicting appointments at several locations.
    Book,
    /// fsync floor, then read, write, book and availability.
    All,
    /// Sign-ins per second, and GET latency with and without sign-ins running beside them.
    /// Not part of `all`.
    Signin,
    /// Ask for 30 days of free slots of 6 booked-up vets at one location.
    Availability,
    /// Fill one day with 60 appointments (6 vets, 6 rooms, 60 cats of 45 clients), then ask
    /// for its day view; prints the answer's bytes plain and gzipped. Not part of `all`.
    DayView,
    /// --dashboards WebSockets follow one room while its state changes 100 times a second:
    /// event latency, server CPU per frame, RSS per socket. Not part of `all`.
    Fanout,
    /// Seed --search-clients clients with two cats each, wait for the index, then
    /// typo-tolerant name searches and exact phone and microchip searches on
    /// --search-connections connections. Not part of `all`.
    Search,
    /// One report for docs/performance.md: the session route next to the audited reads, the
    /// search and the day view, writes at 64 and 1 connections, writes beside a read flood;
    /// ratios, server CPU per request and RSS (with --server-pid), answer sizes. Not part of
    /// `all`.
    Compare,
    /// Seed a clinic for the backup figures: --clinic-patients cats of about 0.6 as many
    /// clients, then --clinic-years years of history (visits as PATCHes of the cat, audited
    /// reads as GETs). Prints what it made and how long it took; not measured, not in `all`.
    Clinic,
    /// Writes (POST /api/clients) without a backup, then while backups are taken back to back
    /// (a full one, then incremental ones): write p50/p99 without and with, and each backup's
    /// duration and size. The server must have backups configured. Not part of `all`.
    Backup,
    /// Take a full backup now (POST /api/backups, waiting while another runs) and print its
    /// figures as `key=value` lines, for ops/drill/restore-drill.
    BackupNow,
    /// The restore drill's writer: POST /api/clients on --connections until the server goes
    /// away (or --duration-secs pass), appending each acknowledged client's id and time to
    /// --drill-log.
    DrillWriter,
    /// The restore drill's check: GET every client in --drill-log from the (restored) server
    /// and print how many acknowledged writes are missing, as `key=value` lines.
    DrillCheck,
    /// Issue 14's measure: booking p99 with few pending jobs, then again after
    /// --pending-jobs reminder jobs were made; then --reminders appointment reminders falling
    /// due at once, sent through the server's SMTP provider to this tool's sink on
    /// --smtp-sink-port: throughput, repeats, server RSS (with --server-pid). Not in `all`.
    Reminders,
    /// Issue 15's measures: seed a cat with ten years of history (60 visits with signed
    /// notes, 300 vitals, 40 vaccinations, 80 prescriptions) as a vet, then each request of
    /// opening its chart, the whole chart, and autosaving SOAP notes (one draft per
    /// connection; 16 connections unless --connections says). Not part of `all`.
    Chart,
    /// Issue 16's measures: AR ageing and revenue (30 days by day, a year and five years by
    /// month) over the invoices `clowder seed-invoices` wrote into the store beforehand, then
    /// checkouts (an invoice of 10 lines created, issued and paid). Not part of `all`.
    Reports,
    /// Issue 17's HL7 measure: 1,000 T4 orders over 10 cats, then a burst of 1,000 ORU^R01
    /// results on --connections connections (16 unless said): matched/s, p99, and the
    /// `lab_result_ready` event's latency on a /ws client; with --ward-boards N, N ward boards
    /// watched while slots are marked at --ward-rate, in the same run. Not part of `all`.
    Hl7,
    /// Issue 17's ward board: 20 admitted cats, --dashboards boards on the ward's topic,
    /// slots marked done 20 times a second: board update latency p50/p99 (reusable beside
    /// another load as `ward::BoardWatch`). Not part of `all`.
    Ward,
}

impl Scenario {
    /// How many setup phases (seeding, creating users) this run has.
    pub fn setups(self) -> u32 {
        match self {
            Scenario::Fsync => 0,
            Scenario::Read
            | Scenario::Write
            | Scenario::Book
            | Scenario::Signin
            | Scenario::Availability
            | Scenario::DayView
            | Scenario::Fanout
            | Scenario::Search => 1,
            // The chart's seeding has four setup budgets (see `chart`).
            Scenario::Chart => 4,
            // The checkouts' client and items.
            Scenario::Reports => 1,
            // The ward, its cats and their sheets.
            Scenario::Ward => 1,
            // `all`: seeding the read set, then setting up the book and availability scenarios.
            Scenario::All => 3,
            // `compare`: the read set and the day; the search clients have a budget of their own.
            Scenario::Compare => 1,
            // Their own budgets, see `Args::hard_cap`.
            Scenario::Clinic | Scenario::BackupNow | Scenario::DrillWriter | Scenario::DrillCheck => 0,
            Scenario::Hl7 => 0,
            Scenario::Backup => 1,
            // The book setups; seeding and the reminders have budgets of their own.
            Scenario::Reminders => 2,
        }
    }

    /// How many measured windows (each after its warm-up) this run has, one after another.
    pub fn windows(self) -> u32 {
        match self {
            Scenario::Fsync | Scenario::Clinic | Scenario::BackupNow | Scenario::DrillCheck => 0,
            Scenario::Hl7 => 0,
            // `drill-writer`: one window of --duration-secs at most, without warm-up.
            Scenario::DrillWriter => 1,
            // `backup`: writes alone, then writes beside backups; `reminders`: booking before
            // and after the pending jobs.
            Scenario::Backup | Scenario::Reminders => 2,
            Scenario::Read
            | Scenario::Write
            | Scenario::Book
            | Scenario::Availability
            | Scenario::DayView
            | Scenario::Fanout => 1,
            // Each chart request, the whole chart, the autosaves.
            Scenario::Chart => crate::chart::CHART_ROWS.len() as u32 + 2,
            // Five reports (the ageing of today and of yesterday), then the checkouts.
            Scenario::Reports => 6,
            // The marks, then the board read.
            Scenario::Ward => 2,
            // `signin`: GETs alone, then GETs beside sign-ins; `search`: names, then exact.
            Scenario::Signin | Scenario::Search => 2,
            // `all`: read, then write, then book, then availability.
            Scenario::All => 4,
            Scenario::Compare => COMPARE_WINDOWS,
        }
    }
}

impl Args {
    /// `--connections`, or its default: 8 for `backup` and `drill-writer` (a clinic's
    /// writers, not a flood), 64 for the others.
    pub fn connections(&self) -> u16 {
        self.connections.unwrap_or(match self.scenario {
            Scenario::Backup | Scenario::DrillWriter => 8,
            // Issue 15's goals are set at 16.
            Scenario::Chart => crate::report::CHART_GOAL_CONNECTIONS,
            // A laboratory's interface sends from a few connections, not a flood.
            Scenario::Hl7 => 16,
            _ => 64,
        })
    }

    /// What the clinic scenario makes.
    pub fn clinic_plan(&self) -> crate::clinic::ClinicPlan {
        crate::clinic::ClinicPlan {
            patients: self.clinic_patients,
            years: self.clinic_years,
            visits_per_year: self.clinic_visits_per_year,
            reads_per_year: self.clinic_reads_per_year,
        }
    }

    pub fn warmup(&self) -> Duration {
        Duration::from_secs(self.warmup_secs)
    }

    pub fn duration(&self) -> Duration {
        Duration::from_secs(self.duration_secs)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    /// Connections the run holds open at once, so the pool keeps them all: in `signin` the
    /// sign-in connections come on top of the GET ones.
    pub fn pool_connections(&self) -> usize {
        match self.scenario {
            Scenario::Signin => usize::from(self.connections()) + usize::from(self.signin_connections),
            // Seeding and searching never overlap.
            Scenario::Search => usize::from(self.search_connections).max(SEARCH_SEED_IN_FLIGHT as usize),
            // The flood phase holds `connections` in all (writers plus readers); seeding the
            // search clients holds its own count.
            Scenario::Compare => usize::from(self.connections()).max(SEARCH_SEED_IN_FLIGHT as usize),
            _ => usize::from(self.connections()),
        }
    }

    /// The search scenario's setup budget: the usual one, plus time per client seeded and the
    /// wait for the index to catch up.
    pub fn search_setup_budget(&self) -> Duration {
        SETUP_BUDGET + SEED_BUDGET_PER_CLIENT * self.search_clients + INDEX_WAIT
    }

    /// The compare report's budget for seeding its search clients and waiting for the index.
    pub fn compare_search_budget(&self) -> Duration {
        SETUP_BUDGET + SEED_BUDGET_PER_CLIENT * self.compare_search_clients + INDEX_WAIT
    }

    /// The most the whole run may take: the fsync budget, a setup budget for each setup
    /// phase, for each measured window its warm-up, measured time and one request timeout for
    /// the last requests in flight, plus slack. Past it the run is aborted, so it always stops
    /// by itself.
    pub fn hard_cap(&self) -> Duration {
        match self.scenario {
            Scenario::Clinic => return SETUP_BUDGET + crate::clinic::budget(&self.clinic_plan()),
            // A backup of a large store may take minutes; the drill's check reads every id.
            Scenario::BackupNow | Scenario::DrillCheck => return SETUP_BUDGET * 10,
            Scenario::Hl7 => return SETUP_BUDGET + crate::hl7::budget() + SLACK,
            Scenario::Reminders => {
                let windows = (self.warmup() + self.duration() + self.request_timeout()) * 2;
                return FSYNC_BUDGET
                    + SETUP_BUDGET * 2
                    + windows
                    + crate::reminders::budget(self.pending_jobs, self.reminders)
                    + SLACK;
            }
            _ => {}
        }
        let mut per_window = self.warmup() + self.duration() + self.request_timeout();
        let setup = match self.scenario {
            Scenario::Search => self.search_setup_budget(),
            // Before each phase, compare may wait for the server to go quiet.
            // The backup in flight when the window closes is waited for.
            Scenario::Backup => {
                per_window += crate::backups::BACKUP_WAIT;
                SETUP_BUDGET
            }
            Scenario::Compare => {
                per_window += SETTLE_MAX;
                SETUP_BUDGET * Scenario::Compare.setups() + self.compare_search_budget()
            }
            other => SETUP_BUDGET * other.setups(),
        };
        FSYNC_BUDGET + setup + per_window * self.scenario.windows() + SLACK + self.request_timeout()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("clowder-loadtests").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn defaults_match_the_documented_ones() {
        let a = parse(&["--password", "x", "read"]);
        assert_eq!(a.url, "http://127.0.0.1:8080");
        assert_eq!(a.username, "admin");
        assert_eq!(a.connections(), 64);
        assert_eq!(a.duration_secs, 10);
        assert_eq!(a.warmup_secs, 1);
        assert_eq!(a.fsync_samples, 200);
        assert_eq!(a.scenario, Scenario::Read);
        assert_eq!((a.signin_users, a.signin_connections), (8, 8));
        assert_eq!(a.locations, 4);
        assert!(!a.allow_remote && !a.json);
    }

    #[test]
    fn book_and_availability_are_scenarios_with_their_options() {
        let book = parse(&["--locations", "8", "--connections", "128", "book"]);
        assert_eq!((book.scenario, book.locations, book.connections()), (Scenario::Book, 8, 128));
        assert_eq!(parse(&["availability"]).scenario, Scenario::Availability);
        assert!(Args::try_parse_from(["clowder-loadtests", "--locations", "0", "book"]).is_err());
        assert!(Args::try_parse_from(["clowder-loadtests", "--locations", "257", "book"]).is_err());
        assert!(Args::try_parse_from(["clowder-loadtests", "booking"]).is_err());
    }

    #[test]
    fn all_runs_four_windows_and_the_scheduling_scenarios_one_each() {
        assert_eq!((Scenario::All.setups(), Scenario::All.windows()), (3, 4));
        for one in [Scenario::Book, Scenario::Availability] {
            assert_eq!((one.setups(), one.windows()), (1, 1), "{one:?}");
        }
        let window = Duration::from_secs(1 + 10 + 10);
        let all = parse(&["--duration-secs", "10", "--warmup-secs", "1", "all"]);
        assert!(all.hard_cap() > FSYNC_BUDGET + SETUP_BUDGET * 3 + window * 4);
        let book = parse(&["--duration-secs", "10", "--warmup-secs", "1", "book"]);
        assert!(book.hard_cap() > FSYNC_BUDGET + SETUP_BUDGET + window);
        assert!(book.hard_cap() < all.hard_cap());
    }

    #[test]
    fn signin_is_a_scenario_of_its_own() {
        let a = parse(&["--signin-users", "4", "--signin-connections", "16", "signin"]);
        assert_eq!(a.scenario, Scenario::Signin);
        assert_eq!((a.signin_users, a.signin_connections), (4, 16));
        assert!(Args::try_parse_from(["clowder-loadtests", "--signin-users", "0", "signin"]).is_err());
        assert!(Args::try_parse_from(["clowder-loadtests", "--signin-connections", "0", "signin"]).is_err());
    }

    #[test]
    fn the_pool_holds_the_sign_in_connections_only_when_they_run() {
        assert_eq!(parse(&["--connections", "64", "--signin-connections", "8", "signin"]).pool_connections(), 72);
        assert_eq!(parse(&["--connections", "64", "--signin-connections", "8", "all"]).pool_connections(), 64);
    }

    #[test]
    fn fanout_takes_dashboards_up_to_five_thousand_and_an_optional_server_pid() {
        let a = parse(&["fanout"]);
        assert_eq!((a.scenario, a.dashboards, a.server_pid), (Scenario::Fanout, 500, None));
        let b = parse(&["--dashboards", "5000", "--server-pid", "4242", "fanout"]);
        assert_eq!((b.dashboards, b.server_pid), (5000, Some(4242)));
        assert!(Args::try_parse_from(["clowder-loadtests", "--dashboards", "5001", "fanout"]).is_err());
        assert!(Args::try_parse_from(["clowder-loadtests", "--dashboards", "0", "fanout"]).is_err());
        assert_eq!((Scenario::Fanout.setups(), Scenario::Fanout.windows()), (1, 1));
    }

    #[test]
    fn search_seeds_twenty_thousand_clients_and_searches_on_sixteen_connections() {
        let a = parse(&["search"]);
        assert_eq!((a.scenario, a.search_clients, a.search_connections), (Scenario::Search, 20_000, 16));
        assert_eq!((Scenario::Search.setups(), Scenario::Search.windows()), (1, 2));
        assert_eq!(a.pool_connections(), 32);
        // Seeding 20,000 clients takes longer than the usual setup budget allows.
        assert!(a.hard_cap() > FSYNC_BUDGET + SETUP_BUDGET + INDEX_WAIT + Duration::from_secs(200));
        let small = parse(&["--search-clients", "5000", "--search-connections", "64", "search"]);
        assert!(small.hard_cap() < a.hard_cap());
        assert_eq!(small.pool_connections(), 64);
        assert!(Args::try_parse_from(["clowder-loadtests", "--search-clients", "0", "search"]).is_err());
    }

    #[test]
    fn compare_is_a_scenario_of_its_own_with_a_modest_search_set() {
        let a = parse(&["--server-pid", "42", "--label", "v1, quiet", "compare"]);
        assert_eq!((a.scenario, a.compare_search_clients, a.server_pid), (Scenario::Compare, 500, Some(42)));
        assert_eq!(a.label.as_deref(), Some("v1, quiet"));
        assert_eq!((Scenario::Compare.setups(), Scenario::Compare.windows()), (1, COMPARE_WINDOWS));
        assert_eq!(a.pool_connections(), 64);
        let window = Duration::from_secs(1 + 10 + 10);
        assert!(a.hard_cap() > FSYNC_BUDGET + SETUP_BUDGET * 2 + INDEX_WAIT + (window + SETTLE_MAX) * COMPARE_WINDOWS);
        assert_eq!(parse(&["--connections", "8", "compare"]).pool_connections(), 32);
        assert!(Args::try_parse_from(["clowder-loadtests", "--compare-search-clients", "0", "compare"]).is_err());
    }

    #[test]
    fn zero_connections_is_refused() {
        let r = Args::try_parse_from(["clowder-loadtests", "--connections", "0", "write"]);
        assert!(r.is_err());
    }

    #[test]
    fn the_hard_cap_covers_every_phase() {
        let a = parse(&["--duration-secs", "10", "--warmup-secs", "1", "all"]);
        let phases = FSYNC_BUDGET + (SETUP_BUDGET + Duration::from_secs(1 + 10 + 10)) * 2;
        assert!(a.hard_cap() > phases);
        let fsync_only = parse(&["fsync"]);
        assert!(fsync_only.hard_cap() < a.hard_cap());
        // signin: one setup, then two windows (GETs alone, GETs beside sign-ins).
        let signin = parse(&["--duration-secs", "10", "--warmup-secs", "1", "signin"]);
        assert!(signin.hard_cap() > FSYNC_BUDGET + SETUP_BUDGET + Duration::from_secs(1 + 10 + 10) * 2);
    }
}
