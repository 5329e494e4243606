//! The `reminders` scenario: issue 14's measure of the durable jobs and the reminder path.
//!
//! 1. **Booking with few pending jobs**: the `book` scenario's window (every booking adds its
//!    reminder jobs, so the row is booking as a clinic does it).
//! 2. **Pending jobs**: `--pending-jobs` reminder jobs are made the way a clinic makes them,
//!    by booking appointments weeks to months ahead (two reminders each with the default
//!    offsets), `SEED_CATS` cats with one appointment a day each.
//! 3. **Booking beside them**: the `book` window again, on fresh lanes; the p99 ratio of the
//!    two rows is the figure (goal ≤ 1.2×).
//! 4. **Reminders through SMTP**: `--reminders` clients (one cat each, an email address) are
//!    booked at one instant the reminder rule's shortest offset (24 h by default) plus a lead
//!    ahead, so all their reminders fall due together when booking is done (the longer offsets
//!    are already past and not scheduled); the tool's own SMTP sink (`smtp_sink`) counts what
//!    arrives. Figures: the time from due to the last
//!    message, messages per second, repeated deliveries (the same `Message-ID` twice: the crash
//!    window only, so 0 in a run without kills), and the server's RSS before and at its peak
//!    (with `--server-pid`). The rule's settings are read, never changed.
//!
//! The server must send email through SMTP to the sink, with nothing standing in the way of a
//! transactional email at any hour (`CLOWDER_QUIET_HOURS=00:00-24:00`, or the reminders wait
//! for the morning); [`SERVER_ENV`] is what to start it with.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use jiff::{SignedDuration, Timestamp};
use reqwest::Method;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use clowder_schemas::{AppointmentTypeId, ClientId, LocationId, PatientId};

use crate::api::Api;
use crate::bodies::{NewClient, NewLocation, NewPatient};
use crate::cli::Args;
use crate::process::ServerProcess;
use crate::report::{ScenarioSummary, format_table};
use crate::run::{plan, progress, sign_in};
use crate::scenarios::{self, appointment_type, in_parallel};
use crate::scheduling::BOOK_TYPE;
use crate::smtp_sink::{SinkStats, SmtpSink};

/// What the server needs besides the load-run settings: SMTP to the sink.
pub const SERVER_ENV: &str = "CLOWDER_EMAIL_PROVIDER=smtp CLOWDER_SMTP_HOST=127.0.0.1 CLOWDER_SMTP_PORT=2525 \
     CLOWDER_SMTP_TLS=none CLOWDER_EMAIL_FROM=front@clinic.example CLOWDER_CLINIC_NAME='Load Clinic' \
     CLOWDER_QUIET_HOURS=00:00-24:00";

/// The issue's goal: booking p99 with the pending jobs at most this many times the p99 without.
pub const P99_RATIO_GOAL: f64 = 1.2;

/// Cats the pending jobs' appointments are spread over (one appointment a day each).
const SEED_CATS: u64 = 500;

/// Reminder jobs one appointment makes with the default offsets (48 h and 24 h).
const JOBS_PER_BOOKING: u64 = 2;

/// The seeded appointments start this many days ahead, so no reminder of theirs falls due.
const SEED_FIRST_DAY: i64 = 7;

/// Time allowed per booking made in setup (a slow, busy machine does a few hundred a second).
const PER_BOOKING: Duration = Duration::from_millis(20);

/// Time allowed per reminder to arrive once due.
const PER_REMINDER: Duration = Duration::from_millis(20);

/// How often the sink and the server's RSS are looked at while reminders arrive.
const POLL: Duration = Duration::from_millis(200);

/// The longest the tool waits, after the last arrival, for more (then it reports what came).
const QUIET_LIMIT: Duration = Duration::from_secs(60);

/// The most the seeding and the burst may take, for the run's hard cap.
pub fn budget(pending_jobs: u32, reminders: u32) -> Duration {
    let bookings = u64::from(pending_jobs).div_ceil(JOBS_PER_BOOKING) as u32;
    // The burst: clients, cats and bookings (three calls each), the lead, the arrivals.
    PER_BOOKING * bookings + PER_BOOKING * 3 * reminders + PER_REMINDER * reminders + QUIET_LIMIT * 2
}

/// Body of `POST /api/appointments` without vet or room: a clinic's reminders do not depend on
/// who sees the cat, and several cats may be booked at one instant this way.
#[derive(Debug, Clone, Serialize)]
struct Booking {
    client_id: ClientId,
    patient_id: PatientId,
    type_id: AppointmentTypeId,
    location_id: LocationId,
    start: Timestamp,
}

/// The part of `GET /api/automations` this scenario needs.
#[derive(Debug, Deserialize)]
struct Rule {
    kind: String,
    enabled: bool,
    #[serde(default)]
    params: serde_json::Value,
}

/// What `reminders` measured.
#[derive(Debug, Clone, Serialize)]
pub struct RemindersReport {
    /// `book` before the pending jobs, `book+jobs` beside them.
    pub rows: Vec<ScenarioSummary>,
    pub p99_ratio: Option<f64>,
    /// Appointments booked ahead to make the pending jobs, and how long that took.
    pub seeded_bookings: u64,
    pub seeded_secs: f64,
    /// Reminder jobs pending when the second window began (at least: the first window's
    /// bookings add theirs).
    pub pending_jobs: u64,
    /// Reminders booked to fall due at once, and how long booking them took.
    pub reminders: u64,
    pub booking_secs: f64,
    /// Distinct messages that arrived, and deliveries beyond the first of a `Message-ID`.
    pub arrived: u64,
    pub repeated: u64,
    /// From the reminders' due time to the last arrival.
    pub due_to_last_secs: Option<f64>,
    /// From the first arrival to the last.
    pub first_to_last_secs: Option<f64>,
    pub per_sec: Option<f64>,
    /// The server's RSS before the burst was booked and at its highest while it was sent.
    pub rss_before_kib: Option<u64>,
    pub rss_peak_kib: Option<u64>,
}

impl RemindersReport {
    pub fn to_text(&self) -> String {
        let mut out = format_table(&self.rows);
        let ms = |r: Option<&ScenarioSummary>| {
            r.and_then(|r| r.latency.map(|l| format!("{:.2} ms", l.p99_ms))).unwrap_or_else(|| "-".into())
        };
        let verdict = match self.p99_ratio {
            Some(r) if r <= P99_RATIO_GOAL => "goal met",
            Some(_) => "goal missed",
            None => "not measured",
        };
        out.push_str(&format!(
            "booking p99 with {} pending jobs: {} vs {} with few ({}; goal <= {P99_RATIO_GOAL}x: {verdict})\n",
            self.pending_jobs,
            ms(self.rows.get(1)),
            ms(self.rows.first()),
            self.p99_ratio.map_or("-".into(), |r| format!("{r:.2}x")),
        ));
        out.push_str(&format!(
            "pending jobs made by booking {} appointments ahead in {:.1} s ({:.0} bookings/s)\n",
            self.seeded_bookings,
            self.seeded_secs,
            per_sec(self.seeded_bookings, self.seeded_secs).unwrap_or(0.0)
        ));
        let secs = |s: Option<f64>| s.map_or("-".into(), |v| format!("{v:.1} s"));
        out.push_str(&format!(
            "reminders: {} booked in {:.1} s; {} arrived, {} repeated deliveries; due to last {}, first to last {}, {} msg/s\n",
            self.reminders,
            self.booking_secs,
            self.arrived,
            self.repeated,
            secs(self.due_to_last_secs),
            secs(self.first_to_last_secs),
            self.per_sec.map_or("-".into(), |v| format!("{v:.0}")),
        ));
        let kib = |k: Option<u64>| k.map_or("-".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0));
        out.push_str(&format!(
            "server RSS: {} before the burst, {} at its peak\n",
            kib(self.rss_before_kib),
            kib(self.rss_peak_kib)
        ));
        out
    }
}

fn per_sec(n: u64, secs: f64) -> Option<f64> {
    (secs > 0.0).then(|| n as f64 / secs)
}

/// Runs the scenario.
pub async fn run(args: &Args) -> Result<RemindersReport> {
    let sink = SmtpSink::start(args.smtp_sink_port).await.with_context(|| {
        format!("start the SMTP sink on --smtp-sink-port {} (and the server with {SERVER_ENV})", args.smtp_sink_port)
    })?;
    let api = Arc::new(sign_in(args).await?);
    let server = args.server_pid.map(|pid| ServerProcess { pid });
    if server.is_none() {
        progress("reminders: no --server-pid, so no server RSS");
    }
    let plan = plan(args);

    progress(&format!("reminders: booking window with few pending jobs, {} connections", plan.connections));
    let alone = scenarios::book(&api, &plan).await?;

    let vaccination = appointment_type(&api, BOOK_TYPE).await?;
    let location = api.create_location(&NewLocation::numbered(&plan.run_tag, 900)).await?;
    let bookings = u64::from(args.pending_jobs).div_ceil(JOBS_PER_BOOKING);
    progress(&format!(
        "reminders: booking {bookings} appointments ahead for {} pending reminder jobs",
        args.pending_jobs
    ));
    let started = Instant::now();
    seed_pending(&api, vaccination.id, location, plan.now, bookings).await?;
    let seeded_secs = started.elapsed().as_secs_f64();
    let first_window_bookings = alone.ok;
    let pending_jobs = (bookings + first_window_bookings) * JOBS_PER_BOOKING;

    progress(&format!("reminders: booking window beside about {pending_jobs} pending jobs"));
    let mut later = plan.clone();
    later.run_tag = format!("{}j", plan.run_tag);
    let mut beside = scenarios::book(&api, &later).await?;
    beside.scenario = "book+jobs".into();
    let p99_ratio = match (beside.latency, alone.latency) {
        (Some(w), Some(wo)) if wo.p99_ms > 0.0 => Some(w.p99_ms / wo.p99_ms),
        _ => None,
    };

    // The burst's lead: its calls at the pace seeding showed, twice over, within the budget's pace.
    let per_call = if bookings > 0 {
        Duration::from_secs_f64(seeded_secs / bookings as f64 * 2.0).min(PER_BOOKING)
    } else {
        PER_BOOKING
    };
    let burst = burst(&api, args, &plan.run_tag, vaccination.id, location, &sink, server, per_call).await?;
    Ok(RemindersReport {
        rows: vec![alone, beside],
        p99_ratio,
        seeded_bookings: bookings,
        seeded_secs,
        pending_jobs,
        ..burst
    })
}

/// Books `bookings` appointments from [`SEED_FIRST_DAY`] days ahead: [`SEED_CATS`] cats, one
/// appointment a day each, at the same hour (no vet, no room: nothing else to conflict with).
async fn seed_pending(
    api: &Arc<Api>,
    type_id: AppointmentTypeId,
    location_id: LocationId,
    now: Timestamp,
    bookings: u64,
) -> Result<()> {
    if bookings == 0 {
        return Ok(());
    }
    let cats = SEED_CATS.min(bookings);
    let pets = in_parallel(api, (0..cats).collect(), |api, n| async move {
        let client = api.create_client(&NewClient::seed(9_000_000 + n)).await.context("seeding clients")?;
        let patient = api.create_patient(&NewPatient::for_client(client, n)).await.context("seeding cats")?;
        Ok((client, patient))
    })
    .await?;
    let first = crate::scheduling::first_booking_start(now)
        .checked_add(SignedDuration::from_hours(24 * SEED_FIRST_DAY + 14))
        .context("the first seeded day")?;
    let pets = Arc::new(pets);
    in_parallel(api, (0..bookings).collect(), move |api, n| {
        let pets = pets.clone();
        async move {
            let (client_id, patient_id) = pets[(n % cats) as usize];
            let day = i64::try_from(n / cats).context("day number")?;
            let start = first.checked_add(SignedDuration::from_hours(24 * day)).context("a seeded start")?;
            let body = Booking { client_id, patient_id, type_id, location_id, start };
            api.setup_json::<_, IgnoredAny>(Method::POST, "/api/appointments", Some(&body)).await.map(|_| ())
        }
    })
    .await?;
    Ok(())
}

/// Books `--reminders` clients' cats at one instant, the rule's shortest offset plus a lead
/// ahead, and waits for their reminders at the sink. The offsets are read, not changed:
/// changing them re-applies them to every booked appointment, which would be measured too.
#[allow(clippy::too_many_arguments)]
async fn burst(
    api: &Arc<Api>,
    args: &Args,
    run_tag: &str,
    type_id: AppointmentTypeId,
    location_id: LocationId,
    sink: &SmtpSink,
    server: Option<ServerProcess>,
    per_call: Duration,
) -> Result<RemindersReport> {
    let rules: Vec<Rule> = api
        .setup_json::<(), _>(Method::GET, "/api/automations", None)
        .await
        .context("reading the automations (is this a server with issue 14's automations?)")?;
    let rule = rules
        .into_iter()
        .find(|r| r.kind == "appointment_reminder")
        .context("the server has no appointment_reminder automation")?;
    if !rule.enabled {
        bail!("the appointment_reminder automation is turned off on this server");
    }
    let offset = shortest_offset(&rule.params).context("the appointment_reminder rule has no offsets_minutes")?;
    burst_with_offset(api, args, run_tag, type_id, location_id, sink, server, offset, per_call).await
}

/// The smallest of the rule's `offsets_minutes` (`params`: `[{name, value, …}]`).
fn shortest_offset(params: &serde_json::Value) -> Option<i64> {
    params.as_array()?.iter().find(|p| p["name"] == "offsets_minutes")?["value"]
        .as_array()?
        .iter()
        .filter_map(serde_json::Value::as_i64)
        .filter(|m| *m > 0)
        .min()
}

#[allow(clippy::too_many_arguments)]
async fn burst_with_offset(
    api: &Arc<Api>,
    args: &Args,
    run_tag: &str,
    type_id: AppointmentTypeId,
    location_id: LocationId,
    sink: &SmtpSink,
    server: Option<ServerProcess>,
    offset_minutes: i64,
    per_call: Duration,
) -> Result<RemindersReport> {
    let n = u64::from(args.reminders);
    let rss_before_kib = server.and_then(|s| s.rss_kib().ok());
    // Long enough to create and book everything before the first reminder is due.
    let lead = per_call * 3 * args.reminders + Duration::from_secs(20);
    let due = Timestamp::now()
        .checked_add(SignedDuration::try_from(lead).context("lead")?)
        .context("the reminders' due time")?;
    // The other (longer) offsets fall in the past and are not scheduled.
    let start = due.checked_add(SignedDuration::from_mins(offset_minutes)).context("the start")?;
    progress(&format!("reminders: {n} clients with one cat each, booked at {start}; reminders due at {due}"));
    let started = Instant::now();
    let tag = run_tag.to_owned();
    in_parallel(api, (0..n).collect(), move |api, i| {
        let tag = tag.clone();
        async move {
            let client_id = api.create_client(&NewClient::unique(&format!("{tag}r"), i)).await?;
            let patient_id = api.create_patient(&NewPatient::for_client(client_id, i)).await?;
            let body = Booking { client_id, patient_id, type_id, location_id, start };
            api.setup_json::<_, IgnoredAny>(Method::POST, "/api/appointments", Some(&body)).await.map(|_| ())
        }
    })
    .await?;
    let booking_secs = started.elapsed().as_secs_f64();
    let due_in = due.duration_since(Timestamp::now());
    if due_in.is_negative() {
        bail!("booking the reminders took past their due time ({booking_secs:.1} s); ask for fewer --reminders");
    }
    let due_at = Instant::now() + Duration::try_from(due_in).unwrap_or_default();
    progress(&format!("reminders: booked in {booking_secs:.1} s; waiting for them at the sink"));

    let deadline = due_at + PER_REMINDER * args.reminders + QUIET_LIMIT;
    let mut rss_peak_kib = rss_before_kib;
    let mut last_change = Instant::now();
    let mut stats = sink.stats();
    loop {
        tokio::time::sleep(POLL).await;
        if let Some(rss) = server.and_then(|s| s.rss_kib().ok()) {
            rss_peak_kib = Some(rss_peak_kib.map_or(rss, |p| p.max(rss)));
        }
        let now = sink.stats();
        if now.received != stats.received {
            last_change = Instant::now();
        }
        stats = now;
        if stats.distinct >= n {
            break;
        }
        // Reminders are rendered before their messages are sent (the send jobs are due later
        // than the reminder jobs), so nothing may arrive for a while: only silence after
        // arrivals began ends the wait early.
        let quiet = stats.received > 0 && last_change.elapsed() > QUIET_LIMIT;
        if Instant::now() > deadline || quiet {
            progress(&format!("reminders: stopped waiting with {} of {n} arrived", stats.distinct));
            break;
        }
    }
    if stats.received == 0 {
        bail!("no reminder reached the SMTP sink: start the server with {SERVER_ENV}");
    }
    Ok(figures(n, booking_secs, &stats, due_at, rss_before_kib, rss_peak_kib))
}

fn figures(
    n: u64,
    booking_secs: f64,
    stats: &SinkStats,
    due_at: Instant,
    rss_before_kib: Option<u64>,
    rss_peak_kib: Option<u64>,
) -> RemindersReport {
    let first_to_last = match (stats.first, stats.last) {
        (Some(f), Some(l)) => Some(l.duration_since(f).as_secs_f64()),
        _ => None,
    };
    let due_to_last = stats.last.map(|l| l.saturating_duration_since(due_at).as_secs_f64());
    RemindersReport {
        rows: Vec::new(),
        p99_ratio: None,
        seeded_bookings: 0,
        seeded_secs: 0.0,
        pending_jobs: 0,
        reminders: n,
        booking_secs,
        arrived: stats.distinct,
        repeated: stats.repeated,
        due_to_last_secs: due_to_last,
        first_to_last_secs: first_to_last,
        per_sec: due_to_last.and_then(|s| per_sec(stats.distinct, s)),
        rss_before_kib,
        rss_peak_kib,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shortest_positive_offset_is_used() {
        let params = serde_json::json!([
            { "name": "same_visit_minutes", "value": 90 },
            { "name": "offsets_minutes", "value": [2880, 1440] },
        ]);
        assert_eq!(shortest_offset(&params), Some(1440));
        assert_eq!(shortest_offset(&serde_json::json!([{ "name": "offsets_minutes", "value": [] }])), None);
        assert_eq!(shortest_offset(&serde_json::json!({})), None);
    }

    #[test]
    fn the_budget_grows_with_the_work() {
        assert!(budget(100_000, 10_000) > budget(0, 10_000));
        assert!(budget(0, 10_000) > budget(0, 100));
        // The defaults fit in well under an hour.
        assert!(budget(100_000, 10_000) < Duration::from_secs(3600));
    }

    #[test]
    fn figures_count_from_due_to_last_arrival() {
        let due = Instant::now();
        let stats = SinkStats {
            received: 12,
            distinct: 10,
            repeated: 2,
            without_id: 0,
            first: Some(due + Duration::from_millis(500)),
            last: Some(due + Duration::from_secs(2)),
        };
        let r = figures(10, 3.0, &stats, due, Some(1024), Some(2048));
        assert_eq!((r.arrived, r.repeated), (10, 2));
        assert!((r.due_to_last_secs.unwrap() - 2.0).abs() < 1e-6);
        assert!((r.per_sec.unwrap() - 5.0).abs() < 1e-6);
        assert!(r.to_text().contains("10 arrived, 2 repeated deliveries"));
    }
}
