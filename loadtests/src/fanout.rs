//! The fanout scenario's machinery: `--dashboards` WebSockets on the live gateway (`/ws`), all
//! following one room, while that room's state changes 100 times a second over HTTP.
//!
//! Each socket stamps every frame with the wall clock the moment it arrives and measures
//! against the event's `at` (when the server committed it; the server runs on this machine,
//! so both clocks are the same). Every socket must get every event: the events of the window
//! are the union of the sequence numbers any socket saw (and at least as many as the changes
//! answered 200), and each socket is charged with those it lacks. The server's CPU time
//! (`/proc/<pid>/stat`) over the window is divided by the frames delivered, and its resident
//! set (`/proc/<pid>/status`) before and after opening the sockets by their number, both read
//! through `crate::process`.
//!
//! The pure parts (frames, gap counting) are at the top and tested; the
//! socket and producer tasks follow.

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use jiff::Timestamp;
use serde::Deserialize;
use serde::Serialize;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use clowder_schemas::RoomId;
use clowder_schemas::whiteboard::RoomState;

use crate::api::Api;
use crate::bodies::RoomMove;
use crate::process::{ServerProcess, clock_ticks_per_sec, cpu_us_per_request};
use crate::stats::{Outcome, Tally, new_histogram};

/// Room changes per second during the warm-up and the window.
pub const EVENTS_PER_SEC: u64 = 100;

/// How long the sockets may take to receive the window's last events once the changes stop.
pub const DRAIN: Duration = Duration::from_secs(2);

/// How long the server gets to settle after the last socket subscribed, before its RSS is
/// read again.
pub const SETTLE: Duration = Duration::from_secs(1);

/// Handshakes (and subscriptions) in flight at once while the sockets open.
const OPENING_AT_ONCE: usize = 64;

/// One server → client frame, as far as the scenario cares.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// A committed event: its sequence number and commit time.
    Event { seq: u64, at: Timestamp },
    /// The answer to `subscribe`.
    Subscribed { last_seq: u64 },
    /// `error`, `resync_required` and the like: the whole frame, for the message.
    Other { kind: String },
}

#[derive(Deserialize)]
struct RawFrame {
    seq: Option<u64>,
    at: Option<Timestamp>,
    #[serde(rename = "type")]
    kind: Option<String>,
    last_seq: Option<u64>,
}

/// Reads one text frame of the gateway's protocol (docs/websocket.md): events carry `seq` and
/// `at`, the other messages a `type` only.
pub fn parse_frame(text: &str) -> Result<Frame> {
    let raw: RawFrame = serde_json::from_str(text).with_context(|| format!("a frame that is not JSON: {text:.200}"))?;
    match (raw.seq, raw.at, raw.kind.as_deref()) {
        (Some(seq), Some(at), _) => Ok(Frame::Event { seq, at }),
        (Some(_), None, _) => bail!("an event without `at`: {text:.200}"),
        (None, _, Some("subscribed")) => {
            Ok(Frame::Subscribed { last_seq: raw.last_seq.context("`subscribed` without `last_seq`")? })
        }
        (None, _, Some(kind)) => Ok(Frame::Other { kind: kind.to_string() }),
        (None, _, None) => bail!("a frame with neither `seq` nor `type`: {text:.200}"),
    }
}

/// The `subscribe` message for one room.
pub fn subscribe_message(room: RoomId) -> String {
    serde_json::json!({ "op": "subscribe", "topics": [format!("room:{room}")] }).to_string()
}

/// Microseconds from `at` to `received`; zero when the clocks disagree the other way.
pub fn latency_micros(at: Timestamp, received: Timestamp) -> u64 {
    let nanos = received.as_nanosecond() - at.as_nanosecond();
    u64::try_from(nanos / 1000).unwrap_or(0)
}

/// What one socket saw of the measured window.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Sequence numbers of the window's events, in arrival order.
    pub seqs: Vec<u64>,
    /// Commit → arrival, microseconds, of the window's events.
    pub latency_us: Histogram<u64>,
    /// Why the socket stopped before the end, if it did (closed, `resync_required`, error).
    pub ended: Option<String>,
}

impl Default for Seen {
    fn default() -> Self {
        Self { seqs: Vec::new(), latency_us: new_histogram(), ended: None }
    }
}

/// Every socket's part of the window, set against every event of the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Delivery {
    /// Events of the window: every seq any socket saw, or the changes answered 200 if more.
    pub events: u64,
    /// `events` × sockets.
    pub expected: u64,
    /// Distinct events received, summed over the sockets.
    pub delivered: u64,
    /// `expected - delivered`.
    pub missing: u64,
    /// Frames that came again or after a later one.
    pub out_of_order: u64,
}

/// Counts the gaps: `changes_ok` is how many changes the server acknowledged in the window.
pub fn count_delivery(sockets: &[Seen], changes_ok: u64) -> Delivery {
    let union: BTreeSet<u64> = sockets.iter().flat_map(|s| s.seqs.iter().copied()).collect();
    let events = (union.len() as u64).max(changes_ok);
    let mut delivered = 0;
    let mut out_of_order = 0;
    for socket in sockets {
        let mut last = None;
        let mut distinct = BTreeSet::new();
        for &seq in &socket.seqs {
            if last.is_some_and(|l| seq <= l) {
                out_of_order += 1;
            }
            last = Some(last.map_or(seq, |l: u64| l.max(seq)));
            distinct.insert(seq);
        }
        delivered += distinct.len() as u64;
    }
    let expected = events * sockets.len() as u64;
    Delivery { events, expected, delivered, missing: expected.saturating_sub(delivered), out_of_order }
}

/// Server CPU per delivered frame in microseconds; `None` without frames.
pub fn cpu_micros_per_frame(ticks: u64, frames: u64) -> Option<f64> {
    cpu_us_per_request(ticks, clock_ticks_per_sec(), frames)
}

/// Growth of the resident set per socket in KiB; `None` without sockets.
pub fn rss_kib_per_socket(before_kib: u64, after_kib: u64, sockets: u64) -> Option<f64> {
    (sockets > 0).then(|| (after_kib as f64 - before_kib as f64) / sockets as f64)
}

/// The server-side figures of a fanout run, beside its table rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FanoutFigures {
    pub dashboards: u16,
    /// Events in the measured window, frames expected and delivered, and the gaps.
    pub events: u64,
    pub frames_expected: u64,
    pub frames_delivered: u64,
    pub missing: u64,
    pub out_of_order: u64,
    /// Sockets that stopped early, with the first reason.
    pub sockets_ended: u64,
    pub first_end_reason: Option<String>,
    /// Server CPU (user + system) over the window and drain, per delivered frame; `None`
    /// without `--server-pid` or frames. Includes handling the changes themselves.
    pub server_cpu_us_per_frame: Option<f64>,
    /// Server RSS before and after opening the sockets, and the growth per socket.
    pub rss_before_kib: Option<u64>,
    pub rss_after_kib: Option<u64>,
    pub rss_kib_per_socket: Option<f64>,
}

/// Whether a change sent at `sent` and answered at `answered` counts among the window's
/// changes (`measure_at..end`). Only one answered before `end`: its event was committed before
/// the answer, so inside the sockets' span; a change sent just before the end but committed
/// after it is outside the span the sockets count, and counting it here charged every socket
/// with a frame it was right not to count (a `missing` of exactly one frame per socket).
pub fn counts_for_window(sent: Instant, answered: Instant, measure_at: Instant, end: Instant) -> bool {
    sent >= measure_at && answered < end
}

/// When the window is, in wall-clock time, so the sockets know which events count.
#[derive(Debug, Clone, Copy)]
struct Span {
    from: Timestamp,
    to: Timestamp,
}

/// The open sockets, each reading on a task of its own until told to stop.
pub struct Dashboards {
    tasks: JoinSet<Seen>,
    window: Arc<OnceLock<Span>>,
    stop: watch::Sender<bool>,
    count: usize,
}

/// Opens `count` sockets to `/ws` with the run's bearer, each subscribed to `room`, and returns
/// once every one has its `subscribed`. The first failure fails the lot.
pub async fn open(api: &Api, room: RoomId, count: u16) -> Result<Dashboards> {
    let url = api.ws_url().to_string();
    let bearer = HeaderValue::from_str(api.bearer().to_str().context("the bearer is not text")?)
        .context("the bearer is not a header value")?;
    let window = Arc::new(OnceLock::new());
    let (stop, stopped) = watch::channel(false);
    let (ready_tx, mut ready) = mpsc::channel(usize::from(count).max(1));
    let opening = Arc::new(Semaphore::new(OPENING_AT_ONCE));
    let mut tasks = JoinSet::new();
    for _ in 0..count {
        let (url, bearer, window, stopped) = (url.clone(), bearer.clone(), window.clone(), stopped.clone());
        let (ready_tx, opening) = (ready_tx.clone(), opening.clone());
        tasks.spawn(async move {
            let permit = opening.acquire_owned().await;
            let socket = connect(&url, bearer, room).await;
            drop(permit);
            match socket {
                Ok(socket) => {
                    let _ = ready_tx.send(Ok(())).await;
                    read_until_stopped(socket, window, stopped).await
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e)).await;
                    Seen { ended: Some("could not open".into()), ..Seen::default() }
                }
            }
        });
    }
    drop(ready_tx);
    for _ in 0..count {
        match ready.recv().await {
            Some(Ok(())) => {}
            Some(Err(e)) => {
                return Err(e.context(
                    "opening the dashboards' sockets (at thousands of sockets, raise `ulimit -n` for the server and \
                     this tool)",
                ));
            }
            None => bail!("a socket task ended before it said whether it opened"),
        }
    }
    Ok(Dashboards { tasks, window, stop, count: usize::from(count) })
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(url: &str, bearer: HeaderValue, room: RoomId) -> Result<Socket> {
    let mut request = url.into_client_request().context("building the WebSocket handshake")?;
    request.headers_mut().insert("authorization", bearer);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.context("the WebSocket handshake")?;
    socket.send(Message::text(subscribe_message(room))).await.context("sending subscribe")?;
    loop {
        let message = socket.next().await.context("the socket closed before `subscribed`")?.context("reading")?;
        let Message::Text(text) = message else { continue };
        let text = text.as_str();
        match parse_frame(text)? {
            Frame::Subscribed { .. } => return Ok(socket),
            Frame::Other { kind } if kind == "error" || kind == "resync_required" => {
                bail!("subscribing was answered {text:.300}")
            }
            _ => {}
        }
    }
}

/// Reads frames until `stopped` turns true; records the window's events.
async fn read_until_stopped(
    mut socket: Socket,
    window: Arc<OnceLock<Span>>,
    mut stopped: watch::Receiver<bool>,
) -> Seen {
    let mut seen = Seen::default();
    loop {
        let message = tokio::select! {
            biased;
            message = socket.next() => message,
            _ = stopped.wait_for(|&stop| stop) => break,
        };
        let received = Timestamp::now();
        let bytes = match message {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => {
                seen.ended = Some(format!("closed by the server: {frame:?}"));
                break;
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => {
                seen.ended = Some(format!("read error: {e}"));
                break;
            }
            None => {
                seen.ended = Some("closed".into());
                break;
            }
        };
        let text = bytes.as_str();
        match parse_frame(text) {
            Ok(Frame::Event { seq, at }) => {
                if let Some(span) = window.get()
                    && at >= span.from
                    && at < span.to
                {
                    seen.seqs.push(seq);
                    seen.latency_us.saturating_record(latency_micros(at, received));
                }
            }
            Ok(Frame::Other { kind }) if kind == "resync_required" || kind == "error" => {
                seen.ended.get_or_insert_with(|| format!("{text:.300}"));
            }
            Ok(_) => {}
            Err(e) => {
                seen.ended.get_or_insert_with(|| format!("{e:#}"));
            }
        }
    }
    let _ = tokio::time::timeout(Duration::from_millis(200), socket.close(None)).await;
    seen
}

/// The changes made during the window, beside the sockets.
pub struct Produced {
    /// The `POST /api/rooms/{id}/state` of the window, as a row.
    pub changes: Tally,
    /// Server CPU ticks over the window and drain, with `--server-pid`.
    pub cpu_ticks: Option<u64>,
}

impl Dashboards {
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Changes the room [`EVENTS_PER_SEC`] times a second, alternating out of service and
    /// free, for `warmup` and then `measure`; the sockets count the events committed in the
    /// measured part. Reads the server's CPU time at the start of the measured part and after
    /// the drain. Returns the changes' tally and every socket's part.
    pub async fn run(
        mut self,
        api: &Api,
        room: RoomId,
        warmup: Duration,
        measure: Duration,
        server: Option<ServerProcess>,
    ) -> Result<(Produced, Vec<Seen>)> {
        // `start` before `now`, so the window's wall-clock end (`span.to`) is never before the
        // monotonic `end`: a change answered before `end` committed inside the span.
        let start = Instant::now();
        let now = Timestamp::now();
        let (measure_at, end) = (start + warmup, start + warmup + measure);
        let span = Span { from: now + warmup, to: now + warmup + measure };
        self.window.set(span).map_err(|_| anyhow!("the window was set twice"))?;

        let mut changes = Tally::default();
        let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / EVENTS_PER_SEC));
        tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
        let mut next = RoomState::OutOfService;
        let mut cpu_before = None;
        loop {
            tick.tick().await;
            let sent = Instant::now();
            if sent >= end {
                break;
            }
            if sent >= measure_at && cpu_before.is_none() {
                cpu_before = Some(server.map(|s| s.cpu_ticks()).transpose()?);
            }
            let outcome = api.post_room_state(room, &RoomMove { to: next }).await;
            if counts_for_window(sent, Instant::now(), measure_at, end) {
                changes.record(outcome, sent.elapsed());
            }
            if outcome == Outcome::Ok {
                next = if next == RoomState::Free { RoomState::OutOfService } else { RoomState::Free };
            }
        }
        tokio::time::sleep(DRAIN).await;
        let cpu_after = server.map(|s| s.cpu_ticks()).transpose()?;
        let cpu_ticks = match (cpu_before.flatten(), cpu_after) {
            (Some(before), Some(after)) => Some(after.saturating_sub(before)),
            _ => None,
        };
        self.stop.send_replace(true);
        let mut seen = Vec::with_capacity(self.count);
        while let Some(joined) = self.tasks.join_next().await {
            seen.push(joined.context("a socket task panicked")?);
        }
        Ok((Produced { changes, cpu_ticks }, seen))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(seqs: &[u64]) -> Seen {
        Seen { seqs: seqs.to_vec(), ..Seen::default() }
    }

    #[test]
    fn a_change_counts_for_the_window_only_when_sent_and_answered_inside_it() {
        let start = Instant::now();
        let (measure_at, end) = (start + Duration::from_secs(1), start + Duration::from_secs(11));
        let at = |ms: u64| start + Duration::from_millis(ms);
        assert!(!counts_for_window(at(999), at(1_002), measure_at, end), "sent in the warm-up");
        assert!(counts_for_window(at(1_000), at(1_003), measure_at, end));
        assert!(counts_for_window(at(10_990), at(10_999), measure_at, end));
        assert!(!counts_for_window(at(10_998), at(11_001), measure_at, end), "answered after the end");
    }

    #[test]
    fn events_and_protocol_messages_are_told_apart() {
        let event = r#"{"seq":42,"topic":"room:r1","type":"room_state_changed","data":{"x":1},"at":"2026-11-24T10:00:00.123456789Z"}"#;
        assert_eq!(
            parse_frame(event).unwrap(),
            Frame::Event { seq: 42, at: "2026-11-24T10:00:00.123456789Z".parse().unwrap() }
        );
        assert_eq!(
            parse_frame(r#"{"type":"subscribed","topics":["room:r1"],"last_seq":7}"#).unwrap(),
            Frame::Subscribed { last_seq: 7 }
        );
        assert_eq!(
            parse_frame(r#"{"type":"resync_required","reason":"slow","last_seq":9}"#).unwrap(),
            Frame::Other { kind: "resync_required".into() }
        );
        assert!(parse_frame("not json").is_err());
        assert!(parse_frame(r#"{"seq":1,"type":"x"}"#).is_err(), "an event needs its commit time");
        assert!(parse_frame(r#"{"topics":[]}"#).is_err());
        assert!(parse_frame(r#"{"type":"subscribed"}"#).is_err());
    }

    #[test]
    fn the_subscription_names_the_room_topic() {
        let room = RoomId::from_u128(1);
        let message: serde_json::Value = serde_json::from_str(&subscribe_message(room)).unwrap();
        assert_eq!(message["op"], "subscribe");
        assert_eq!(message["topics"][0], format!("room:{room}"));
    }

    #[test]
    fn latency_is_arrival_minus_commit_and_never_negative() {
        let at: Timestamp = "2026-11-24T10:00:00.000100Z".parse().unwrap();
        let later: Timestamp = "2026-11-24T10:00:00.002600Z".parse().unwrap();
        assert_eq!(latency_micros(at, later), 2500);
        assert_eq!(latency_micros(later, at), 0);
    }

    #[test]
    fn every_socket_is_charged_with_the_events_it_lacks() {
        let sockets = [seen(&[10, 11, 12, 13]), seen(&[10, 12, 13]), seen(&[10, 11, 12, 13])];
        let d = count_delivery(&sockets, 4);
        assert_eq!(d, Delivery { events: 4, expected: 12, delivered: 11, missing: 1, out_of_order: 0 });
    }

    #[test]
    fn an_event_no_socket_got_still_counts_when_the_server_acknowledged_it() {
        // Five changes answered 200, but every socket lacks the same one.
        let sockets = [seen(&[1, 2, 4, 5]), seen(&[1, 2, 4, 5])];
        let d = count_delivery(&sockets, 5);
        assert_eq!((d.events, d.expected, d.delivered, d.missing), (5, 10, 8, 2));
    }

    #[test]
    fn duplicates_and_reordering_are_counted_but_not_delivered_twice() {
        let d = count_delivery(&[seen(&[1, 3, 2, 3])], 3);
        assert_eq!((d.delivered, d.missing, d.out_of_order), (3, 0, 2));
    }

    #[test]
    fn no_sockets_means_nothing_expected() {
        assert_eq!(count_delivery(&[], 10).expected, 0);
    }

    #[test]
    fn per_frame_and_per_socket_figures() {
        // 150 ticks = 1.5 s of CPU over 500,000 frames: 3 µs a frame.
        assert_eq!(cpu_micros_per_frame(150, 500_000), Some(3.0));
        assert_eq!(cpu_micros_per_frame(150, 0), None);
        assert_eq!(rss_kib_per_socket(100_000, 104_000, 500), Some(8.0));
        assert_eq!(rss_kib_per_socket(100_000, 99_000, 500), Some(-2.0));
        assert_eq!(rss_kib_per_socket(1, 2, 0), None);
    }
}
