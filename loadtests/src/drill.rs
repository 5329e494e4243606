//! The restore drill's two halves (ops/drill/restore-drill runs them): `drill-writer` keeps
//! writing until the server is killed and logs every write the server acknowledged;
//! `drill-check` asks the restored server for each of them and counts the ones lost.
//!
//! A write counts as acknowledged only when its `201` arrived: a request in flight at the
//! kill got no answer, so the clinic would not believe it saved. The log has one line per
//! acknowledged write, `<client id> <time the 201 arrived, RFC 3339>`, appended and flushed
//! as the writes come in.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use jiff::Timestamp;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

use clowder_schemas::ClientId;

use crate::api::Api;
use crate::bodies::NewClient;
use crate::cli::Args;
use crate::run::{plan, progress, sign_in};

/// The writer stops once no write has succeeded for this long: the server is gone.
const GONE_AFTER: Duration = Duration::from_secs(3);

/// Pause after a failed write, so a dead server is not hammered.
const FAILURE_PAUSE: Duration = Duration::from_millis(50);

/// One acknowledged write, as the log holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ack {
    pub id: ClientId,
    pub at: Timestamp,
}

impl Ack {
    pub fn line(&self) -> String {
        format!("{} {}", self.id, self.at)
    }

    /// Reads one line of the log; `None` for a line that is not one (a torn last line).
    pub fn parse(line: &str) -> Option<Self> {
        let (id, at) = line.trim().split_once(' ')?;
        Some(Self { id: id.parse().ok()?, at: at.parse().ok()? })
    }
}

/// What the writer did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WriterReport {
    pub acknowledged: u64,
    pub failed: u64,
    pub last_ack: Option<Timestamp>,
}

impl WriterReport {
    pub fn to_text(&self) -> String {
        format!(
            "acknowledged={}\nfailed={}\nlast_ack={}\n",
            self.acknowledged,
            self.failed,
            self.last_ack.map(|t| t.to_string()).unwrap_or_default()
        )
    }
}

/// `drill-writer`: `--connections` loops `POST /api/clients` until no write has succeeded
/// for `GONE_AFTER` (the server was killed) or `--duration-secs` pass.
pub async fn writer(args: &Args) -> Result<WriterReport> {
    let path = args.drill_log.as_deref().context("drill-writer needs --drill-log <file>")?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let api = Arc::new(sign_in(args).await?);
    let plan = plan(args);
    let connections = args.connections();
    progress(&format!("drill-writer: {connections} connections writing, logging to {}", path.display()));
    let (tx, rx) = mpsc::unbounded_channel::<Ack>();
    let logging = tokio::spawn(log_acks(file, rx));
    let deadline = Instant::now() + args.duration();
    let last_success = Arc::new(AtomicU64::new(0));
    let epoch = Instant::now();
    let mut tasks = JoinSet::new();
    for index in 0..connections {
        let (api, tx, tag, last_success) = (api.clone(), tx.clone(), plan.run_tag.clone(), last_success.clone());
        tasks.spawn(async move {
            let mut failed = 0u64;
            let mut n = u64::from(index);
            loop {
                let now = Instant::now();
                let quiet =
                    (now.duration_since(epoch).as_millis() as u64).saturating_sub(last_success.load(Ordering::Relaxed));
                if now >= deadline || Duration::from_millis(quiet) >= GONE_AFTER {
                    return failed;
                }
                match api.create_client(&NewClient::unique(&tag, n)).await {
                    Ok(id) => {
                        let at = Timestamp::now();
                        last_success.fetch_max(epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
                        // The logger ends only when every sender is gone.
                        let _ = tx.send(Ack { id, at });
                    }
                    Err(_) => {
                        failed += 1;
                        tokio::time::sleep(FAILURE_PAUSE).await;
                    }
                }
                n += u64::from(connections);
            }
        });
    }
    drop(tx);
    let mut failed = 0;
    while let Some(joined) = tasks.join_next().await {
        failed += joined.context("a writer task panicked")?;
    }
    let (acknowledged, last_ack) = logging.await.context("the log writer panicked")??;
    Ok(WriterReport { acknowledged, failed, last_ack })
}

/// Appends each ack to the log, flushing whenever no other waits, so the file is complete
/// whenever the writers pause.
async fn log_acks(file: std::fs::File, mut rx: mpsc::UnboundedReceiver<Ack>) -> Result<(u64, Option<Timestamp>)> {
    let mut out = std::io::BufWriter::new(file);
    let (mut count, mut last) = (0u64, None);
    while let Some(ack) = rx.recv().await {
        writeln!(out, "{}", ack.line()).context("writing the drill log")?;
        count += 1;
        last = Some(last.map_or(ack.at, |l: Timestamp| l.max(ack.at)));
        if rx.is_empty() {
            out.flush().context("writing the drill log")?;
        }
    }
    out.flush().context("writing the drill log")?;
    out.get_ref().sync_all().context("syncing the drill log")?;
    Ok((count, last))
}

/// What the check found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CheckReport {
    pub acknowledged: u64,
    pub present: u64,
    pub missing: u64,
    /// Answers other than 200 and 404 (each is also counted neither present nor missing).
    pub errors: u64,
    /// Log lines that are not an ack.
    pub unreadable_lines: u64,
    pub last_ack: Option<Timestamp>,
    pub last_present_ack: Option<Timestamp>,
    pub first_missing_ack: Option<Timestamp>,
    /// Missing writes acknowledged before the restored backup was taken: each one is data the
    /// backup should hold and does not (must be 0). `None` without `--drill-backup-at`.
    pub missing_before_backup: Option<u64>,
}

impl CheckReport {
    /// Seconds of acknowledged writes lost, as the writer saw them: from the first missing
    /// ack to the last ack (0 when nothing is missing).
    pub fn lost_window_secs(&self) -> f64 {
        match (self.first_missing_ack, self.last_ack) {
            (Some(first), Some(last)) => last.duration_since(first).as_secs_f64().max(0.0),
            _ => 0.0,
        }
    }

    pub fn to_text(&self) -> String {
        let t = |t: Option<Timestamp>| t.map(|t| t.to_string()).unwrap_or_default();
        format!(
            "acknowledged={}\npresent={}\nmissing={}\nerrors={}\nunreadable_lines={}\nlast_ack={}\nlast_present_ack={}\nfirst_missing_ack={}\nlost_window_secs={:.3}\nmissing_before_backup={}\n",
            self.acknowledged,
            self.present,
            self.missing,
            self.errors,
            self.unreadable_lines,
            t(self.last_ack),
            t(self.last_present_ack),
            t(self.first_missing_ack),
            self.lost_window_secs(),
            self.missing_before_backup.map(|n| n.to_string()).unwrap_or_default()
        )
    }
}

/// Reads the log: the acks and how many lines were not one.
pub fn read_log(text: &str) -> (Vec<Ack>, u64) {
    let mut unreadable = 0;
    let acks = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| {
            let ack = Ack::parse(l);
            unreadable += u64::from(ack.is_none());
            ack
        })
        .collect();
    (acks, unreadable)
}

/// Tallies the answers: `statuses[i]` is what `GET /api/clients/{id}` of `acks[i]` answered.
/// With `backup_at`, also counts the missing writes acknowledged before it.
pub fn tally(acks: &[Ack], statuses: &[u16], unreadable_lines: u64, backup_at: Option<Timestamp>) -> CheckReport {
    let mut r = CheckReport {
        acknowledged: acks.len() as u64,
        unreadable_lines,
        missing_before_backup: backup_at.map(|_| 0),
        ..CheckReport::default()
    };
    let later = |a: Option<Timestamp>, b: Timestamp| Some(a.map_or(b, |a| a.max(b)));
    let earlier = |a: Option<Timestamp>, b: Timestamp| Some(a.map_or(b, |a| a.min(b)));
    for (ack, &status) in acks.iter().zip(statuses) {
        r.last_ack = later(r.last_ack, ack.at);
        match status {
            200 => {
                r.present += 1;
                r.last_present_ack = later(r.last_present_ack, ack.at);
            }
            404 => {
                r.missing += 1;
                r.first_missing_ack = earlier(r.first_missing_ack, ack.at);
                if let (Some(n), Some(at)) = (r.missing_before_backup.as_mut(), backup_at)
                    && ack.at < at
                {
                    *n += 1;
                }
            }
            _ => r.errors += 1,
        }
    }
    r
}

/// `drill-check`: asks the server for every client in the log, `--connections` at a time.
pub async fn check(args: &Args) -> Result<CheckReport> {
    let path = args.drill_log.as_deref().context("drill-check needs --drill-log <file>")?;
    let (acks, unreadable) = read_log(&read(path)?);
    let api = Arc::new(sign_in(args).await?);
    progress(&format!("drill-check: asking for {} acknowledged clients", acks.len()));
    let statuses = statuses(&api, &acks, args.connections()).await?;
    Ok(tally(&acks, &statuses, unreadable, args.drill_backup_at))
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

async fn statuses(api: &Arc<Api>, acks: &[Ack], workers: u16) -> Result<Vec<u16>> {
    let ids: Arc<Vec<ClientId>> = Arc::new(acks.iter().map(|a| a.id).collect());
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = JoinSet::new();
    for _ in 0..workers {
        let (api, ids, next) = (api.clone(), ids.clone(), next.clone());
        tasks.spawn(async move {
            let mut got = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                let Some(&id) = ids.get(i) else { return anyhow::Ok(got) };
                got.push((i, api.client_status(id).await?));
            }
        });
    }
    let mut all = Vec::with_capacity(acks.len());
    while let Some(joined) = tasks.join_next().await {
        all.extend(joined.context("a check task panicked")??);
    }
    all.sort_unstable_by_key(|&(i, _)| i);
    Ok(all.into_iter().map(|(_, s)| s).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(n: u8, at: &str) -> Ack {
        Ack { id: format!("01JD7Y2Q4Z8W3N5K6M7P8R9S{n:02}").parse().unwrap(), at: at.parse().unwrap() }
    }

    #[test]
    fn log_lines_round_trip_and_torn_ones_are_counted() {
        let a = ack(1, "2026-12-05T14:30:00.123456789Z");
        assert_eq!(Ack::parse(&a.line()), Some(a));
        let text = format!(
            "{}\n{}\n\n01JD7Y2Q4Z8W3N5K6M7P8R9S03 2026-12-05T14:3",
            a.line(),
            ack(2, "2026-12-05T14:30:01Z").line()
        );
        let (acks, unreadable) = read_log(&text);
        assert_eq!((acks.len(), unreadable), (2, 1));
        assert_eq!(Ack::parse("not-an-id 2026-12-05T14:30:00Z"), None);
        assert_eq!(Ack::parse("01JD7Y2Q4Z8W3N5K6M7P8R9S01"), None);
    }

    #[test]
    fn the_check_counts_missing_writes_and_the_window_they_span() {
        let acks = [
            ack(1, "2026-12-05T14:30:00Z"),
            ack(2, "2026-12-05T14:30:10Z"),
            ack(3, "2026-12-05T14:30:20Z"),
            ack(4, "2026-12-05T14:30:25.500Z"),
            ack(5, "2026-12-05T14:30:26Z"),
        ];
        let r = tally(&acks, &[200, 200, 404, 404, 503], 1, None);
        assert_eq!((r.acknowledged, r.present, r.missing, r.errors, r.unreadable_lines), (5, 2, 2, 1, 1));
        assert_eq!(r.last_present_ack, Some("2026-12-05T14:30:10Z".parse().unwrap()));
        assert_eq!(r.first_missing_ack, Some("2026-12-05T14:30:20Z".parse().unwrap()));
        assert_eq!(r.lost_window_secs(), 6.0);
        let text = r.to_text();
        assert!(text.starts_with("acknowledged=5\npresent=2\nmissing=2\nerrors=1\n"), "{text}");
        assert!(text.ends_with("lost_window_secs=6.000\nmissing_before_backup=\n"), "{text}");
        // A write acknowledged before the backup was taken and missing is a backup that lost data.
        let at = Some("2026-12-05T14:30:21Z".parse().unwrap());
        assert_eq!(tally(&acks, &[200, 200, 404, 404, 503], 1, at).missing_before_backup, Some(1));
        let at = Some("2026-12-05T14:30:15Z".parse().unwrap());
        assert_eq!(tally(&acks, &[200, 200, 404, 404, 503], 1, at).missing_before_backup, Some(0));
    }

    #[test]
    fn nothing_missing_loses_nothing() {
        let acks = [ack(1, "2026-12-05T14:30:00Z")];
        let r = tally(&acks, &[200], 0, None);
        assert_eq!((r.missing, r.lost_window_secs()), (0, 0.0));
        assert!(r.to_text().contains("first_missing_ack=\n"));
        assert_eq!(tally(&[], &[], 0, None).acknowledged, 0);
    }

    #[test]
    fn the_writer_reports_as_key_values() {
        let r = WriterReport { acknowledged: 3, failed: 1, last_ack: Some("2026-12-05T14:30:00Z".parse().unwrap()) };
        assert_eq!(r.to_text(), "acknowledged=3\nfailed=1\nlast_ack=2026-12-05T14:30:00Z\n");
    }
}
