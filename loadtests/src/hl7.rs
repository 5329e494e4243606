//! Issue 17's HL7 measure: a burst of [`HL7_MESSAGES`] ORU^R01 result messages posted to
//! `POST /api/lab-results/import` (after creating one T4 order per message across
//! [`HL7_CATS`] cats, each with a walk-in visit), on `--connections` connections: matched
//! messages per second (ACK `AA`), the p50/p99/max of a message's answer, and the latency of
//! the `lab_result_ready` event to a WebSocket client subscribed to the cats' topics (the
//! time from posting a message to its event arriving).
//!
//! With `--ward-boards N` the ward's board is measured in the same run (the issue's "the ward
//! board's update latency while it runs"): a ward of [`crate::ward::CATS`] admitted cats is
//! set up beforehand, N boards follow its topic ([`crate::ward::BoardWatch`]) and its slots
//! are marked done at `--ward-rate` a second from the start of the burst to its last answer;
//! the report adds the marks made and the board's commit → frame latency p50/p99.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::{Mutex, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::bodies::{NewClient, NewPatient, NewVet};
use crate::cli::Args;
use crate::run::{progress, sign_in};

/// Messages in the burst (issue 17's measure).
pub const HL7_MESSAGES: usize = 1_000;

/// Cats the orders are spread over.
pub const HL7_CATS: usize = 10;

/// How long events may keep arriving after the last answer.
const EVENT_GRACE: Duration = Duration::from_secs(10);

/// The setup (orders) and the burst may take this long at most.
pub fn budget() -> Duration {
    Duration::from_secs(600)
}

/// What the run measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Hl7Report {
    pub messages: usize,
    pub connections: usize,
    /// ACK `AA`: every result on its order.
    pub matched: usize,
    /// ACK `AE`/`AR`: kept in the unmatched queue.
    pub queued: usize,
    /// Not answered 200.
    pub failed: usize,
    pub burst_secs: f64,
    pub matched_per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub events: usize,
    pub event_p50_ms: Option<f64>,
    pub event_p99_ms: Option<f64>,
    pub orders_secs: f64,
    /// The ward board watched during the burst (`--ward-boards`).
    pub ward: Option<WardDuring>,
}

/// The ward's board during the burst.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WardDuring {
    pub boards: u32,
    /// Marks a second asked for.
    pub rate: u64,
    /// Marks a second made (one at a time, each awaited: below `rate` when a mark's answer
    /// takes longer than its turn).
    pub made_per_sec: f64,
    pub marks_ok: u64,
    pub marks_failed: u64,
    /// Event frames the boards received (all boards).
    pub frames: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Hl7Report {
    pub fn to_text(&self) -> String {
        let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.1} ms"));
        format!(
            "hl7: {} ORU^R01 messages on {} connections in {:.2} s (orders made beforehand in {:.1} s)\n\
             matched {} ({:.0} matched/s), queued {}, failed {}\n\
             answer p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms\n\
             lab_result_ready on /ws: {} of {} events, p50 {}, p99 {}\n",
            self.messages,
            self.connections,
            self.burst_secs,
            self.orders_secs,
            self.matched,
            self.matched_per_sec,
            self.queued,
            self.failed,
            self.p50_ms,
            self.p99_ms,
            self.max_ms,
            self.events,
            self.matched,
            ms(self.event_p50_ms),
            ms(self.event_p99_ms),
        ) + &self.ward.as_ref().map_or_else(String::new, |w| {
            format!(
                "ward board during the burst: {} boards, {} marks done ({} failed), {:.1}/s of {}/s asked, {} frames\n\
                 board update latency (commit → frame): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms\n",
                w.boards, w.marks_ok, w.marks_failed, w.made_per_sec, w.rate, w.frames, w.p50_ms, w.p99_ms, w.max_ms
            )
        })
    }
}

/// One ORU^R01 with a Total T4 result for `order` of `cat`.
pub fn message(n: usize, cat: &str, order: &str) -> String {
    let t4 = 1.0 + (n % 50) as f64 / 10.0;
    format!(
        "MSH|^~\\&|LOADLAB|REFLAB|CLOWDER|CLINIC|20261206083000||ORU^R01^ORU_R01|LOAD{n:06}|P|2.5.1||||||UNICODE UTF-8\r\
         PID|1||{cat}^^^CLOWDER||Load^Cat\r\
         ORC|RE|{order}\r\
         OBR|1|{order}||TT4^Total T4\r\
         OBX|1|NM|TT4^Total T4||{t4:.1}|ug/dL|0.8-4.7||||F\r"
    )
}

/// The MSA code of an ACK.
pub fn ack_code(ack: &str) -> &str {
    ack.find("MSA|").and_then(|i| ack.get(i + 4..i + 6)).unwrap_or("")
}

fn percentile(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

/// Runs the measure.
pub async fn run(args: &Args) -> Result<Hl7Report> {
    let api = Arc::new(sign_in(args).await?);
    let connections = usize::from(args.connections()).clamp(1, 256);
    let location = api.first_location().await?.context("the server has no location")?;
    // Distinguishes this run's clients from an earlier run's on the same server.
    let tag = std::process::id() as usize % 100_000;
    let vet = api.create_vet(&NewVet::numbered(tag, location)).await?;

    progress(&format!("hl7: {HL7_CATS} cats with a visit, then {HL7_MESSAGES} T4 orders"));
    let started = Instant::now();
    let mut cats = Vec::new();
    for i in 0..HL7_CATS {
        let client = api.create_client(&NewClient::seed((900_000 + tag * 100 + i) as u64)).await?;
        let body = NewPatient { client_id: client, name: format!("Lab{i}"), breed: None, color: None, microchip: None };
        let cat = api.create_patient(&body).await?.to_string();
        let visit: Value = api
            .setup_json(
                Method::POST,
                "/api/visits",
                Some(&json!({"patient_id": cat, "vet_id": vet, "type": "sick", "chief_complaint": "Recheck T4"})),
            )
            .await?;
        cats.push((cat, visit["id"].as_str().unwrap_or_default().to_owned()));
    }
    let mut orders = Vec::with_capacity(HL7_MESSAGES);
    for n in 0..HL7_MESSAGES {
        let (cat, visit) = &cats[n % HL7_CATS];
        let o: Value =
            api.setup_json(Method::POST, "/api/lab-orders", Some(&json!({"visit_id": visit, "test": "T4"}))).await?;
        orders.push((cat.clone(), o["id"].as_str().unwrap_or_default().to_owned()));
    }
    let orders_secs = started.elapsed().as_secs_f64();

    // The ward, its boards subscribed before the burst (marked from its first message).
    let ward = if args.ward_boards > 0 {
        // Slots enough for the rate over the whole budget.
        let limit = args.ward_rate * budget().as_secs();
        let hours_back = i64::try_from(limit.div_ceil(crate::ward::CATS)).unwrap_or(i64::MAX / 4) + 1;
        progress(&format!("hl7: a ward of {} cats and {} boards", crate::ward::CATS, args.ward_boards));
        let (ward, sheets) = crate::ward::set_up(&api, &format!("hl7 {tag}"), hours_back).await?;
        let watch = crate::ward::BoardWatch::open(&api, &ward, args.ward_boards).await?;
        Some((watch, sheets, limit))
    } else {
        None
    };

    // The event socket, subscribed before the burst.
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let topics: Vec<String> = cats.iter().map(|(c, _)| format!("patient:{c}")).collect();
    let mut request = api.ws_url().as_str().into_client_request().context("building the WebSocket handshake")?;
    request.headers_mut().insert("authorization", api.bearer().clone());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.context("the WebSocket handshake")?;
    socket.send(Message::text(json!({"op": "subscribe", "topics": topics}).to_string())).await?;
    loop {
        let Some(m) = socket.next().await else { bail!("the socket closed before `subscribed`") };
        if let Message::Text(t) = m? {
            let v: Value = serde_json::from_str(t.as_str())?;
            match v["type"].as_str() {
                Some("subscribed") => break,
                Some("error") => bail!("subscribing was answered {v}"),
                _ => {}
            }
        }
    }
    let arrivals: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let reader = {
        let arrivals = arrivals.clone();
        tokio::spawn(async move {
            while let Some(Ok(m)) = socket.next().await {
                let Message::Text(t) = m else { continue };
                let Ok(v) = serde_json::from_str::<Value>(t.as_str()) else { continue };
                if v["type"] == "lab_result_ready"
                    && let Some(id) = v["data"]["lab_order_id"].as_str()
                {
                    arrivals.lock().await.insert(id.to_owned(), Instant::now());
                }
            }
        })
    };

    progress(&format!("hl7: posting {HL7_MESSAGES} messages on {connections} connections"));
    let gate = Arc::new(Semaphore::new(connections));
    let mut tasks = JoinSet::new();
    let burst = Instant::now();
    let (stop_marks, marks_stopped) = tokio::sync::watch::channel(false);
    let (watch, marker) = match ward {
        Some((watch, sheets, limit)) => {
            let marker = tokio::spawn(crate::ward::mark(api.clone(), sheets, args.ward_rate, limit, marks_stopped));
            (Some(watch), Some(marker))
        }
        None => (None, None),
    };
    for (n, (cat, order)) in orders.iter().enumerate() {
        let permit = gate.clone().acquire_owned().await?;
        let (api, sent) = (api.clone(), sent.clone());
        let body = message(n, cat, order).into_bytes();
        let order = order.clone();
        tasks.spawn(async move {
            let t0 = Instant::now();
            sent.lock().await.insert(order, t0);
            let answer = api.post_raw("/api/lab-results/import", "application/hl7-v2", body).await;
            drop(permit);
            (t0.elapsed(), answer)
        });
    }
    let mut latency = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
    let (mut matched, mut queued, mut failed) = (0, 0, 0);
    while let Some(done) = tasks.join_next().await {
        let (took, answer) = done?;
        latency.record(took.as_micros().max(1) as u64).ok();
        match answer {
            Ok((200, ack)) if ack_code(&ack) == "AA" => matched += 1,
            Ok((200, _)) => queued += 1,
            _ => failed += 1,
        }
    }
    let burst_secs = burst.elapsed().as_secs_f64();
    let _ = stop_marks.send(true);
    let ward = match (watch, marker) {
        (Some(watch), Some(marker)) => {
            let (marks_ok, marks_failed) = marker.await.context("the ward's marking task")?;
            let boards = watch.boards();
            let figures = watch.finish(Duration::from_secs(2)).await;
            let ms = |q: f64| figures.latency_us.value_at_quantile(q) as f64 / 1000.0;
            Some(WardDuring {
                boards,
                rate: args.ward_rate,
                made_per_sec: marks_ok as f64 / burst_secs.max(1e-9),
                marks_ok,
                marks_failed,
                frames: figures.frames,
                p50_ms: ms(0.5),
                p99_ms: ms(0.99),
                max_ms: figures.latency_us.max() as f64 / 1000.0,
            })
        }
        _ => None,
    };

    // Events still on their way: wait until each matched message's arrived, or the grace ends.
    let deadline = Instant::now() + EVENT_GRACE;
    while arrivals.lock().await.len() < matched && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    reader.abort();
    let arrivals = arrivals.lock().await;
    let sent = sent.lock().await;
    let mut events = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
    for (order, at) in arrivals.iter() {
        if let Some(t0) = sent.get(order) {
            events.record(at.saturating_duration_since(*t0).as_micros().max(1) as u64).ok();
        }
    }
    let seen = events.len() as usize;
    Ok(Hl7Report {
        messages: HL7_MESSAGES,
        connections,
        matched,
        queued,
        failed,
        burst_secs,
        matched_per_sec: matched as f64 / burst_secs.max(1e-9),
        p50_ms: percentile(&latency, 0.5),
        p99_ms: percentile(&latency, 0.99),
        max_ms: latency.max() as f64 / 1000.0,
        events: seen,
        event_p50_ms: (seen > 0).then(|| percentile(&events, 0.5)),
        event_p99_ms: (seen > 0).then(|| percentile(&events, 0.99)),
        orders_secs,
        ward,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_load_message_is_an_oru_naming_its_order_and_cat() {
        let m = message(7, "01JCAT", "01JORDER");
        let r = clowder_schemas::hl7::read_oru(m.as_bytes()).unwrap();
        assert_eq!(r.control_id, "LOAD000007");
        let g = &r.groups[0];
        assert_eq!((g.order_id.as_deref(), g.patient_id.as_deref()), (Some("01JORDER"), Some("01JCAT")));
        assert_eq!(g.results[0].value, Some(1.7));
        assert_eq!(ack_code("MSH|...\rMSA|AE|X|text\r"), "AE");
    }

    #[test]
    fn the_ward_flags_parse_and_the_report_prints_the_board_of_the_same_run() {
        use clap::Parser;
        let args =
            Args::try_parse_from(["clowder-loadtests", "--ward-boards", "10", "--ward-rate", "25", "hl7"]).unwrap();
        assert_eq!((args.ward_boards, args.ward_rate), (10, 25));
        let plain = Args::try_parse_from(["clowder-loadtests", "hl7"]).unwrap();
        assert_eq!((plain.ward_boards, plain.ward_rate), (0, crate::ward::MARKS_PER_SEC));
        let mut r = Hl7Report {
            messages: 1000,
            connections: 16,
            matched: 1000,
            queued: 0,
            failed: 0,
            burst_secs: 5.0,
            matched_per_sec: 200.0,
            p50_ms: 60.0,
            p99_ms: 190.0,
            max_ms: 230.0,
            events: 1000,
            event_p50_ms: Some(61.0),
            event_p99_ms: Some(191.0),
            orders_secs: 9.0,
            ward: None,
        };
        assert!(!r.to_text().contains("ward board"));
        r.ward = Some(WardDuring {
            boards: 10,
            rate: 20,
            made_per_sec: 18.6,
            marks_ok: 93,
            marks_failed: 0,
            frames: 930,
            p50_ms: 33.25,
            p99_ms: 152.7,
            max_ms: 160.0,
        });
        let text = r.to_text();
        assert!(text.contains("matched 1000 (200 matched/s)") && text.contains("18.6/s of 20/s asked"), "{text}");
        assert!(text.contains("p50 33.25 ms, p99 152.70 ms"), "{text}");
    }
}
