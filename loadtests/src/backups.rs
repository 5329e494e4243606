//! The `backup` scenario (issue 13's measure: server write latency while a backup runs
//! against the same writes without one, in one run) and `backup-now` (one full backup, its
//! figures as `key=value` lines for the restore drill).
//!
//! `backup`: first one backup of the server's choice, to check backups are on and bring the
//! chain up to date (not measured); then `--connections` writers `POST /api/clients` for the
//! warm-up and `--duration-secs` alone; then the same again while backups are taken back to
//! back, a full one first, then incremental ones, until the window closes (the backup in
//! flight then is waited for). A `409 backup_running` (the server's own schedule got there
//! first) is asked again after a short pause. It prints the two write rows, the ratio of the
//! p99s (goal ≤ 1.5×) and per backup kind its count, duration and sizes.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, bail};
use serde::Serialize;
use tokio::time::Instant;

use crate::api::{Api, BackupAnswer, BackupFigures};
use crate::cli::Args;
use crate::load::{Window, Workload, drive, drive_from};
use crate::report::{ScenarioSummary, format_table};
use crate::run::{plan, progress, sign_in};

/// How long one backup may take before the run gives up on it: a full backup of a large
/// clinic on a slow disk takes minutes.
pub const BACKUP_WAIT: Duration = Duration::from_secs(30 * 60);

/// Pause before asking again when another backup is running.
const RUNNING_RETRY: Duration = Duration::from_millis(250);

/// The goal: write p99 while a backup runs at most this many times the p99 without.
pub const P99_RATIO_GOAL: f64 = 1.5;

/// Table row of the writes alone.
pub const WRITE_ALONE: &str = "write";
/// Table row of the writes beside the backups.
pub const WRITE_WITH_BACKUP: &str = "write+backup";

/// One kind's backups, summed up.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KindSummary {
    pub kind: String,
    pub count: u64,
    pub mean_duration_ms: f64,
    pub max_duration_ms: u64,
    pub mean_object_bytes: f64,
    pub mean_payload_bytes: f64,
}

/// The backups of `taken`, one summary per kind, full first.
pub fn summarize(taken: &[BackupFigures]) -> Vec<KindSummary> {
    let mut kinds: Vec<&str> = taken.iter().map(|b| b.kind.as_str()).collect();
    kinds.sort_by_key(|k| (*k != "full", *k));
    kinds.dedup();
    kinds
        .into_iter()
        .map(|kind| {
            let of: Vec<&BackupFigures> = taken.iter().filter(|b| b.kind == kind).collect();
            let n = of.len() as f64;
            KindSummary {
                kind: kind.to_owned(),
                count: of.len() as u64,
                mean_duration_ms: of.iter().map(|b| b.duration_ms as f64).sum::<f64>() / n,
                max_duration_ms: of.iter().map(|b| b.duration_ms).max().unwrap_or(0),
                mean_object_bytes: of.iter().map(|b| b.object_bytes as f64).sum::<f64>() / n,
                mean_payload_bytes: of.iter().map(|b| b.payload_bytes as f64).sum::<f64>() / n,
            }
        })
        .collect()
}

/// `with / without`, when both are there and `without` is above zero.
pub fn ratio(with: Option<f64>, without: Option<f64>) -> Option<f64> {
    match (with, without) {
        (Some(w), Some(wo)) if wo > 0.0 => Some(w / wo),
        _ => None,
    }
}

/// `1536` → `1.5 KiB`.
pub fn human_bytes(n: f64) -> String {
    const KIB: f64 = 1024.0;
    if n >= KIB * KIB * KIB {
        format!("{:.2} GiB", n / (KIB * KIB * KIB))
    } else if n >= KIB * KIB {
        format!("{:.1} MiB", n / (KIB * KIB))
    } else if n >= KIB {
        format!("{:.1} KiB", n / KIB)
    } else {
        format!("{n:.0} B")
    }
}

/// What `backup` measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackupReport {
    /// The backup taken before the windows (none when the chain was current).
    pub before: Option<BackupFigures>,
    pub rows: Vec<ScenarioSummary>,
    pub p50_ratio: Option<f64>,
    pub p99_ratio: Option<f64>,
    /// Every backup taken in the second window, in order.
    pub taken: Vec<BackupFigures>,
    /// `200 null` answers in the window (nothing had changed).
    pub current: u64,
    pub kinds: Vec<KindSummary>,
}

impl BackupReport {
    pub fn to_text(&self) -> String {
        let mut out = format_table(&self.rows);
        let (alone, with) = (self.row(WRITE_ALONE), self.row(WRITE_WITH_BACKUP));
        let ms = |p: Option<f64>| p.map_or("-".into(), |v| format!("{v:.2} ms"));
        let times = |r: Option<f64>| r.map_or("-".into(), |v| format!("{v:.2}x"));
        out.push_str(&format!(
            "write p50 with backups running: {} vs {} without ({})\n",
            ms(with.and_then(|r| r.latency.map(|l| l.p50_ms))),
            ms(alone.and_then(|r| r.latency.map(|l| l.p50_ms))),
            times(self.p50_ratio)
        ));
        let verdict = match self.p99_ratio {
            Some(r) if r <= P99_RATIO_GOAL => "goal met",
            Some(_) => "goal missed",
            None => "not measured",
        };
        out.push_str(&format!(
            "write p99 with backups running: {} vs {} without ({}; goal <= {P99_RATIO_GOAL}x: {verdict})\n",
            ms(with.and_then(|r| r.latency.map(|l| l.p99_ms))),
            ms(alone.and_then(|r| r.latency.map(|l| l.p99_ms))),
            times(self.p99_ratio)
        ));
        if let Some(b) = &self.before {
            out.push_str(&format!("before the windows: {}\n", backup_line(b)));
        }
        out.push_str(&format!(
            "backups in the second window: {} taken, {} answered current\n",
            self.taken.len(),
            self.current
        ));
        for b in &self.taken {
            out.push_str(&format!("  {}\n", backup_line(b)));
        }
        for k in &self.kinds {
            out.push_str(&format!(
                "{}: {} backup(s), duration mean {:.0} ms (max {} ms), object {} mean, payload {} mean\n",
                k.kind,
                k.count,
                k.mean_duration_ms,
                k.max_duration_ms,
                human_bytes(k.mean_object_bytes),
                human_bytes(k.mean_payload_bytes)
            ));
        }
        out
    }

    fn row(&self, name: &str) -> Option<&ScenarioSummary> {
        self.rows.iter().find(|r| r.scenario == name)
    }
}

fn backup_line(b: &BackupFigures) -> String {
    format!(
        "{} {}: {} ms, object {}, payload {}, events ..{}",
        b.kind,
        b.id,
        b.duration_ms,
        human_bytes(b.object_bytes as f64),
        human_bytes(b.payload_bytes as f64),
        b.to.events
    )
}

/// Takes one backup, asking again while another runs, for at most [`BACKUP_WAIT`].
pub async fn take(api: &Api, full: bool) -> Result<Option<BackupFigures>> {
    let deadline = Instant::now() + BACKUP_WAIT;
    loop {
        match api.post_backup(full, BACKUP_WAIT).await? {
            BackupAnswer::Taken(figures) => return Ok(Some(figures)),
            BackupAnswer::Current => return Ok(None),
            BackupAnswer::Running if Instant::now() < deadline => tokio::time::sleep(RUNNING_RETRY).await,
            BackupAnswer::Running => bail!("another backup was still running after {} s", BACKUP_WAIT.as_secs()),
        }
    }
}

/// Backups back to back from now until `stop_at`: a full one first, then incremental ones.
/// The one in flight at `stop_at` is finished and counted.
async fn back_to_back(api: Arc<Api>, stop_at: Instant) -> Result<(Vec<BackupFigures>, u64)> {
    let (mut taken, mut current) = (Vec::new(), 0);
    let mut full = true;
    while Instant::now() < stop_at {
        match api.post_backup(full, BACKUP_WAIT).await? {
            BackupAnswer::Taken(figures) => {
                progress(&format!("backup: {}", backup_line(&figures)));
                taken.push(figures);
                full = false;
            }
            BackupAnswer::Current => current += 1,
            BackupAnswer::Running => tokio::time::sleep(RUNNING_RETRY).await,
        }
    }
    Ok((taken, current))
}

/// The `backup` scenario.
pub async fn run(args: &Args) -> Result<BackupReport> {
    let api = Arc::new(sign_in(args).await?);
    let plan = plan(args);
    let connections = args.connections();
    progress("backup: one backup first, to check backups are on and bring the chain up to date");
    let before = take(&api, false).await?;
    if let Some(b) = &before {
        progress(&format!("backup: {}", backup_line(b)));
    }

    progress(&format!("backup: {connections} connections writing, no backup"));
    let alone_work = Arc::new(Workload::create_clients(format!("{}a", plan.run_tag)));
    let alone = drive(api.clone(), alone_work, connections, plan.window, plan.seed).await?;

    progress(&format!("backup: {connections} connections writing while backups are taken back to back"));
    let start = Instant::now();
    let stop_at = start + plan.window.warmup + plan.window.measure;
    let with_work = Arc::new(Workload::create_clients(format!("{}b", plan.run_tag)));
    let (with, backups) = tokio::join!(
        drive_from(start, api.clone(), with_work, connections, plan.window, plan.seed),
        back_to_back(api.clone(), stop_at)
    );
    let (with, (taken, current)) = (with?, backups?);
    Ok(report(before, plan.window, connections, &alone, &with, taken, current))
}

fn report(
    before: Option<BackupFigures>,
    window: Window,
    connections: u16,
    alone: &crate::stats::Tally,
    with: &crate::stats::Tally,
    taken: Vec<BackupFigures>,
    current: u64,
) -> BackupReport {
    let rows = vec![
        ScenarioSummary::new(WRITE_ALONE, connections, window.measure, alone),
        ScenarioSummary::new(WRITE_WITH_BACKUP, connections, window.measure, with),
    ];
    let p = |i: usize, f: fn(&crate::stats::Latency) -> f64| rows[i].latency.as_ref().map(f);
    let p50_ratio = ratio(p(1, |l| l.p50_ms), p(0, |l| l.p50_ms));
    let p99_ratio = ratio(p(1, |l| l.p99_ms), p(0, |l| l.p99_ms));
    let kinds = summarize(&taken);
    BackupReport { before, rows, p50_ratio, p99_ratio, taken, current, kinds }
}

/// `backup-now`: one full backup, its figures as `key=value` lines.
pub async fn now(args: &Args) -> Result<String> {
    let api = sign_in(args).await?;
    progress("backup-now: taking a full backup");
    let Some(b) = take(&api, true).await? else {
        bail!("the server answered that nothing changed, to a request for a full backup");
    };
    Ok(key_values(&b))
}

/// A backup's figures as `key=value` lines, for shell scripts.
pub fn key_values(b: &BackupFigures) -> String {
    format!(
        "id={}\nkind={}\ncreated_at={}\nduration_ms={}\nobject_bytes={}\npayload_bytes={}\nevents={}\naudit={}\n",
        b.id, b.kind, b.created_at, b.duration_ms, b.object_bytes, b.payload_bytes, b.to.events, b.to.audit
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::BackupPosition;
    use crate::stats::{Outcome, Tally};

    fn backup(kind: &str, duration_ms: u64, object_bytes: u64) -> BackupFigures {
        BackupFigures {
            id: format!("20261205T143000.123Z-{kind}"),
            kind: kind.into(),
            created_at: "2026-12-05T14:30:00.123Z".parse().unwrap(),
            duration_ms,
            object_bytes,
            payload_bytes: object_bytes * 4,
            to: BackupPosition { events: 10, audit: 20 },
        }
    }

    #[test]
    fn backups_are_summed_up_per_kind_full_first() {
        let taken = [backup("incremental", 100, 10), backup("full", 5000, 1000), backup("incremental", 300, 30)];
        let kinds = summarize(&taken);
        assert_eq!(kinds.len(), 2);
        assert_eq!((kinds[0].kind.as_str(), kinds[0].count, kinds[0].max_duration_ms), ("full", 1, 5000));
        assert_eq!((kinds[1].kind.as_str(), kinds[1].count, kinds[1].max_duration_ms), ("incremental", 2, 300));
        assert_eq!((kinds[1].mean_duration_ms, kinds[1].mean_object_bytes), (200.0, 20.0));
        assert_eq!(kinds[1].mean_payload_bytes, 80.0);
        assert!(summarize(&[]).is_empty());
    }

    #[test]
    fn the_ratio_needs_both_figures_and_a_positive_baseline() {
        assert_eq!(ratio(Some(3.0), Some(2.0)), Some(1.5));
        assert_eq!(ratio(Some(3.0), None), None);
        assert_eq!(ratio(None, Some(2.0)), None);
        assert_eq!(ratio(Some(3.0), Some(0.0)), None);
    }

    #[test]
    fn bytes_are_shown_in_binary_units() {
        assert_eq!(human_bytes(512.0), "512 B");
        assert_eq!(human_bytes(1536.0), "1.5 KiB");
        assert_eq!(human_bytes(3.0 * 1024.0 * 1024.0), "3.0 MiB");
        assert_eq!(human_bytes(2.5 * 1024.0 * 1024.0 * 1024.0), "2.50 GiB");
    }

    #[test]
    fn the_report_sets_the_p99s_side_by_side_against_the_goal() {
        let tally = |ms: u64| {
            let mut t = Tally::default();
            for _ in 0..100 {
                t.record(Outcome::Ok, Duration::from_millis(ms));
            }
            t
        };
        let window = Window { warmup: Duration::from_secs(1), measure: Duration::from_secs(10) };
        let r = report(None, window, 8, &tally(2), &tally(4), vec![backup("full", 5000, 1000)], 0);
        assert_eq!(r.p99_ratio.map(|x| (x * 10.0).round()), Some(20.0));
        let text = r.to_text();
        assert!(
            text.contains(
                "write p99 with backups running: 4.00 ms vs 2.00 ms without (2.00x; goal <= 1.5x: goal missed)"
            ),
            "{text}"
        );
        assert!(text.contains("full: 1 backup(s), duration mean 5000 ms"), "{text}");
        let fine = report(None, window, 8, &tally(2), &tally(2), Vec::new(), 1);
        assert!(fine.to_text().contains("goal met"));
    }

    #[test]
    fn figures_print_as_key_value_lines() {
        let text = key_values(&backup("full", 42, 1000));
        assert!(
            text.starts_with("id=20261205T143000.123Z-full\nkind=full\ncreated_at=2026-12-05T14:30:00.123Z\n"),
            "{text}"
        );
        assert!(
            text.contains("\nduration_ms=42\nobject_bytes=1000\npayload_bytes=4000\nevents=10\naudit=20\n"),
            "{text}"
        );
    }
}
