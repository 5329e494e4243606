//! The `ward` scenario (issue 17's measure of the ward board): a ward with `CATS` admitted cats,
//! `--dashboards` boards following its topic (`ward:<id>`) over `/ws`, while slots of their
//! treatment sheets are marked done over HTTP at [`MARKS_PER_SEC`] for the window. The figure
//! is the board update latency: from the mark's commit (the event's `at`) to its frame on each
//! board, p50 and p99 (the server runs on this machine, so both clocks are the same).
//!
//! Then, once the marks stop, the **board read**: `--connections` closed loops (default 64)
//! `GET /api/wards/{id}/board` of the same ward (20 cats, their marks of the window) for a
//! warm-up and a window: requests per second and the answer's p50/p99, the figure a wall TV
//! or a tablet opening the board (or resyncing) costs.
//!
//! The measure itself is [`BoardWatch`]: open it on any ward, run any load beside it (the
//! issue wants it during an HL7 import burst, `hl7`), then [`BoardWatch::finish`]. It counts
//! every event frame the boards receive, whatever caused it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use jiff::{SignedDuration, Timestamp};
use reqwest::Method;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::api::Api;
use crate::bodies::{NewClient, NewPatient, NewVet};
use crate::cli::Args;
use crate::fanout::{Frame, latency_micros, parse_frame};
use crate::load::{Window, Workload, drive};
use crate::report::ScenarioSummary;
use crate::run::{progress, sign_in};
use crate::stats::new_histogram;

/// Slots marked done per second during the window.
pub const MARKS_PER_SEC: u64 = 20;

/// Cats in the ward (one hourly treatment each, starting far enough back to mark all window).
pub const CATS: u64 = 20;

/// The board update latency and what was delivered.
#[derive(Debug, Clone, Serialize)]
pub struct WardReport {
    pub boards: u32,
    pub marks_ok: u64,
    pub marks_failed: u64,
    /// Event frames received, summed over the boards.
    pub frames: u64,
    /// `marks_ok × boards − frames` (not below zero): frames a board never got.
    pub missing: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// `GET /api/wards/{id}/board` on `--connections` closed loops after the marks.
    pub board_read: ScenarioSummary,
}

impl WardReport {
    pub fn to_text(&self) -> String {
        format!(
            "ward: {} boards, {} marks done ({} failed) at {MARKS_PER_SEC}/s\n\
             board update latency (commit → frame): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms\n\
             frames {} (missing {})\n\
             board read (GET /api/wards/{{id}}/board, {} connections, {:.0} s): {:.0} req/s, p50 {} ms, p99 {} ms, {} errors\n",
            self.boards,
            self.marks_ok,
            self.marks_failed,
            self.p50_ms,
            self.p99_ms,
            self.max_ms,
            self.frames,
            self.missing,
            self.board_read.connections,
            self.board_read.duration_secs,
            self.board_read.ok_per_sec,
            self.board_read.latency.as_ref().map_or("-".into(), |l| format!("{:.2}", l.p50_ms)),
            self.board_read.latency.as_ref().map_or("-".into(), |l| format!("{:.2}", l.p99_ms)),
            self.board_read.errors.values().sum::<u64>()
        )
    }
}

/// Boards following one ward's topic, each stamping every event frame on arrival.
pub struct BoardWatch {
    tasks: JoinSet<()>,
    stop: watch::Sender<bool>,
    latency_us: Arc<Mutex<Histogram<u64>>>,
    frames: Arc<Mutex<u64>>,
    boards: u32,
}

/// What a [`BoardWatch`] saw.
#[derive(Debug, Clone)]
pub struct BoardFigures {
    pub frames: u64,
    pub latency_us: Histogram<u64>,
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

impl BoardWatch {
    /// Opens `boards` sockets subscribed to `ward:<ward>`; returns once all are subscribed.
    pub async fn open(api: &Api, ward: &str, boards: u32) -> Result<BoardWatch> {
        let (stop, stopped) = watch::channel(false);
        let latency_us = Arc::new(Mutex::new(new_histogram()));
        let frames = Arc::new(Mutex::new(0u64));
        let mut tasks = JoinSet::new();
        for _ in 0..boards {
            let socket = subscribe(api, ward).await?;
            let (latency_us, frames, stopped) = (latency_us.clone(), frames.clone(), stopped.clone());
            tasks.spawn(read(socket, latency_us, frames, stopped));
        }
        Ok(BoardWatch { tasks, stop, latency_us, frames, boards })
    }

    /// Stops the boards (after `drain` for the last frames) and answers what they saw.
    pub async fn finish(mut self, drain: Duration) -> BoardFigures {
        tokio::time::sleep(drain).await;
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
        let latency_us = self.latency_us.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let frames = *self.frames.lock().unwrap_or_else(|p| p.into_inner());
        BoardFigures { frames, latency_us }
    }

    pub fn boards(&self) -> u32 {
        self.boards
    }
}

async fn subscribe(api: &Api, ward: &str) -> Result<Socket> {
    let mut request = api.ws_url().as_str().into_client_request().context("building the WebSocket handshake")?;
    request.headers_mut().insert("authorization", api.bearer().clone());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.context("the WebSocket handshake")?;
    let msg = json!({"op": "subscribe", "topics": [format!("ward:{ward}")]}).to_string();
    socket.send(Message::text(msg)).await.context("sending subscribe")?;
    loop {
        let message = socket.next().await.context("the socket closed before `subscribed`")?.context("reading")?;
        let Message::Text(text) = message else { continue };
        match parse_frame(text.as_str())? {
            Frame::Subscribed { .. } => return Ok(socket),
            Frame::Other { kind } if kind == "error" => bail!("subscribing was answered {:.300}", text.as_str()),
            _ => {}
        }
    }
}

async fn read(
    mut socket: Socket,
    latency_us: Arc<Mutex<Histogram<u64>>>,
    frames: Arc<Mutex<u64>>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let message = tokio::select! {
            biased;
            m = socket.next() => m,
            _ = stopped.wait_for(|&s| s) => break,
        };
        let received = Timestamp::now();
        let text = match message {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(_)) => continue,
            _ => break,
        };
        if let Ok(Frame::Event { at, .. }) = parse_frame(text.as_str()) {
            let us = latency_micros(at, received).max(1);
            let _ = latency_us.lock().unwrap_or_else(|p| p.into_inner()).record(us);
            *frames.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        }
    }
}

/// One admitted cat: its admission and its hourly treatment's first due slot.
pub(crate) struct Sheet {
    admission: String,
    treatment: String,
    start: Timestamp,
}

fn id(v: &Value) -> Result<String> {
    v["id"].as_str().map(str::to_owned).with_context(|| format!("an answer without an id: {v:.200}"))
}

/// Sets the ward up: a vet, `CATS` cats with a walk-in visit each, admitted, each with an
/// hourly pain-score check starting far enough back to have a slot due for every mark.
pub(crate) async fn set_up(api: &Api, tag: &str, hours_back: i64) -> Result<(String, Vec<Sheet>)> {
    let location = api.first_location().await?.context("the server has no location")?;
    let vet = api.create_vet(&NewVet::numbered(1, location)).await?;
    let cages: Vec<String> = (0..CATS).map(|n| format!("W{n}")).collect();
    let ward: Value = api
        .setup_json(
            Method::POST,
            "/api/wards",
            Some(&json!({"location_id": location, "name": format!("Load ward {tag}"), "cages": cages})),
        )
        .await?;
    let ward = id(&ward)?;
    let now = Timestamp::now();
    let start =
        Timestamp::from_second(now.as_second() - now.as_second() % 3600)? - SignedDuration::from_hours(hours_back);
    let mut sheets = Vec::new();
    for n in 0..CATS {
        let client = api.create_client(&NewClient::seed(900_000 + n)).await?;
        let cat = api.create_patient(&NewPatient::for_client(client, n)).await?;
        let visit: Value = api
            .setup_json(
                Method::POST,
                "/api/visits",
                Some(&json!({"patient_id": cat, "vet_id": vet, "type": "sick", "chief_complaint": "Load test"})),
            )
            .await?;
        let body = json!({"ward_id": ward, "cage": format!("W{n}"), "visit_id": id(&visit)?, "reason": "Load test"});
        let admission: Value = api.setup_json(Method::POST, "/api/admissions", Some(&body)).await?;
        let admission = id(&admission)?;
        let body = json!({"treatment": {"type": "check", "check": "pain_score"},
                          "schedule": {"start": start.to_string(), "every_hours": 1}});
        let sheet: Value =
            api.setup_json(Method::POST, &format!("/api/admissions/{admission}/treatments"), Some(&body)).await?;
        let treatment = sheet["treatments"][0]["id"].as_str().context("the sheet has no treatment")?.to_owned();
        sheets.push(Sheet { admission, treatment, start });
    }
    Ok((ward, sheets))
}

/// Marks the sheets' slots done at `rate` a second, in order, until `stop` says so (or every
/// slot set up is marked): the load on the ward while something else runs. Each mark is sent
/// on its tick without waiting for the one before (a slow answer does not lower the rate).
/// Answers the marks that succeeded and failed.
pub(crate) async fn mark(
    api: Arc<Api>,
    sheets: Vec<Sheet>,
    rate: u64,
    limit: u64,
    mut stop: watch::Receiver<bool>,
) -> (u64, u64) {
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate.max(1)));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let cats = sheets.len() as u64;
    let mut sent = JoinSet::new();
    let mut n = 0u64;
    while n < limit && cats > 0 {
        tokio::select! {
            biased;
            _ = stop.wait_for(|&s| s) => break,
            _ = tick.tick() => {}
        }
        let s = &sheets[(n % cats) as usize];
        let due = s.start + SignedDuration::from_hours(i64::try_from(n / cats).unwrap_or(0));
        let body = json!({"treatment_id": s.treatment, "due": due.to_string(), "outcome": "done"});
        let path = format!("/api/admissions/{}/slots", s.admission);
        let api = api.clone();
        sent.spawn(async move { api.setup_json::<_, Value>(Method::POST, &path, Some(&body)).await.is_ok() });
        n += 1;
    }
    let (mut ok, mut failed) = (0u64, 0u64);
    while let Some(done) = sent.join_next().await {
        if matches!(done, Ok(true)) {
            ok += 1;
        } else {
            failed += 1;
        }
    }
    (ok, failed)
}

/// Runs the scenario: set-up, the boards, the marks for the window, the figures.
pub async fn run(args: &Args) -> Result<WardReport> {
    let api = Arc::new(sign_in(args).await?);
    let window = args.duration();
    let marks = MARKS_PER_SEC * window.as_secs().max(1);
    let hours_back = i64::try_from(marks.div_ceil(CATS)).unwrap_or(i64::MAX / 4) + 1;
    let tag = Timestamp::now().as_second().to_string();
    progress(&format!("ward: setting up {CATS} admitted cats"));
    let (ward, sheets) = set_up(&api, &tag, hours_back).await?;
    let boards = u32::from(args.dashboards).max(1);
    progress(&format!("ward: opening {boards} boards on ward:{ward}"));
    let watch = BoardWatch::open(&api, &ward, boards).await?;
    progress(&format!("ward: marking {MARKS_PER_SEC} slots a second for {} s", window.as_secs()));
    let (stop, stopped) = watch::channel(false);
    let marker = tokio::spawn(mark(api.clone(), sheets, MARKS_PER_SEC, marks, stopped));
    tokio::spawn(async move {
        tokio::time::sleep(window).await;
        let _ = stop.send(true);
    });
    let (ok, failed) = marker.await.context("the marking task")?;
    let figures = watch.finish(Duration::from_secs(2)).await;
    let ms = |q: f64| figures.latency_us.value_at_quantile(q) as f64 / 1000.0;
    let connections = args.connections();
    progress(&format!("ward: reading the board on {connections} connections"));
    let read = Workload::get(vec![api.url(&format!("/api/wards/{ward}/board"))?])?;
    let window = Window { warmup: args.warmup(), measure: args.duration() };
    let tally = drive(api.clone(), Arc::new(read), connections, window, 17).await.context("reading the board")?;
    let board_read = ScenarioSummary::new("ward board read", connections, window.measure, &tally);
    Ok(WardReport {
        boards,
        marks_ok: ok,
        marks_failed: failed,
        frames: figures.frames,
        missing: (ok * u64::from(boards)).saturating_sub(figures.frames),
        p50_ms: ms(0.5),
        p99_ms: ms(0.99),
        max_ms: figures.latency_us.max() as f64 / 1000.0,
        board_read,
    })
}
