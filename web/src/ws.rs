//! `/ws`: the live gateway. Screens subscribe to topics and receive every committed event of
//! those topics, in order, without gaps or duplicates; the protocol is in
//! `docs/websocket.md`.
//!
//! - **Authentication** happens before the upgrade, in the `authorize` middleware (session
//!   cookie or bearer token); a cookie-authenticated upgrade must also come from one of the
//!   clinic's origins (the browser sends `Origin` on WebSocket handshakes).
//! - **Permissions, twice**: each topic needs a permission (`clowder_actors::live::permission_of`);
//!   a subscription to a topic the user may not read is refused with an `error` frame. Then
//!   each event goes only to the sockets whose user its audience admits
//!   (`DomainEvent::audience`: the permission its REST read needs, and for scope `own` whose
//!   records count), live and in replay alike: a topic the user may only partly see yields
//!   only what they may see. A socket never receives a frame its user could not `GET`.
//! - **Current permissions**: a socket keeps its user's role names and the effective
//!   permissions computed from them, tagged with the roles' generation
//!   (`Roles::generation`). Every dispatch compares the generation (one atomic load) and
//!   recomputes after any role was edited, so narrowing a role takes effect on the next
//!   event, not at the next heartbeat. Changing a user's own roles ends their sessions; their
//!   sockets close at the next heartbeat (below).
//! - **Ids only for clinical kinds**: a frame's `data` is `clowder_actors::live::frame_data`:
//!   the logged event, or ids and changed field names for kinds that declare it (patients).
//! - **One hub** task follows the event log, computes each event's topics and audience,
//!   serialises the frame once per topic (only if some socket may receive it), decides per
//!   socket whether to send it, and hands the shared bytes to each admitted socket's
//!   **bounded** queue. A socket whose queue is full is dropped from the hub, told
//!   `resync_required` and closed: a slow screen never slows anyone else.
//! - **Replay**: `subscribe` with `since` first registers the socket (so live events queue
//!   up), then reads the log after `since` and sends what matches and what the socket's user
//!   may see, then forwards the queue, skipping what the replay already sent. A gap longer
//!   than the replay limit answers `resync_required` instead.
//! - **Heartbeats**: the server pings every `CLOWDER_WS_HEARTBEAT_SECS` (20 s), closes a socket
//!   silent for three of them, and closes sockets whose session has ended.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use clowder_actors::live::{Audience, Topic, frame_data};
use clowder_actors::staff::roles::Roles;
use clowder_schemas::access::Permissions;
use clowder_schemas::events::{DomainEvent, Event};
use clowder_schemas::{ErrorBody, ErrorCode, UserId};
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::error::ApiError;
use crate::extract::Staff;
use crate::state::AppState;

/// An event frame, serialised once and shared by every socket that gets it.
#[derive(Clone)]
struct Frame {
    seq: u64,
    text: Utf8Bytes,
}

struct Subscriber {
    tx: mpsc::Sender<Frame>,
    user: UserId,
    /// The user's role names when the socket opened (changing them ends the session).
    roles: Vec<String>,
    /// Effective permissions, with the roles' generation they were computed at.
    permissions: Mutex<(u64, Permissions)>,
}

impl Subscriber {
    /// Runs `f` on the user's current effective permissions, recomputing them first if any
    /// role changed since they were computed.
    fn with_permissions<T>(&self, roles: &Roles, f: impl FnOnce(&Permissions) -> T) -> T {
        // The generation is read before the roles: permissions stored under it are never
        // older than it says.
        let generation = roles.generation();
        let mut held = self.permissions.lock().unwrap_or_else(|p| p.into_inner());
        if held.0 != generation {
            *held = (generation, roles.effective(&self.roles));
        }
        f(&held.1)
    }

    /// True if this socket's user may see an event with this audience.
    fn admits(&self, roles: &Roles, audience: &Audience) -> bool {
        self.with_permissions(roles, |p| audience.admits(p, self.user))
    }
}

/// The hub holds the only sender of each socket's queue, so dropping a socket from here
/// closes its queue and the socket learns it fell behind.
#[derive(Default)]
struct Registry {
    members: HashMap<u64, Arc<Subscriber>>,
    by_topic: HashMap<Topic, HashMap<u64, Arc<Subscriber>>>,
    topics_of: HashMap<u64, HashSet<Topic>>,
}

impl Registry {
    fn remove(&mut self, id: u64) {
        self.members.remove(&id);
        for t in self.topics_of.remove(&id).unwrap_or_default() {
            if let Some(subs) = self.by_topic.get_mut(&t) {
                subs.remove(&id);
                if subs.is_empty() {
                    self.by_topic.remove(&t);
                }
            }
        }
    }
}

/// The gateway's hub: who listens to what.
pub struct Hub {
    registry: Mutex<Registry>,
    next: AtomicU64,
    /// The most events a `since` may ask to replay.
    pub replay_max: u64,
    /// Frames a socket may have waiting before it counts as too slow.
    pub queue: usize,
    /// How often each socket is pinged and its session checked; a socket silent for three
    /// of these is closed.
    pub heartbeat: Duration,
}

/// An event frame on the wire (borrowing, so nothing is copied before it is written).
#[derive(Serialize)]
struct EventFrame<'a> {
    seq: u64,
    topic: String,
    #[serde(rename = "type")]
    kind: &'a str,
    data: &'a serde_json::Value,
    at: jiff::Timestamp,
}

fn frame_text(e: &Event, topic: &Topic, data: &serde_json::Value) -> Utf8Bytes {
    let frame = EventFrame { seq: e.seq, topic: topic.to_string(), kind: &e.kind, data, at: e.at };
    Utf8Bytes::from(serde_json::to_string(&frame).unwrap_or_default())
}

impl Hub {
    pub fn new(replay_max: u64, queue: usize, heartbeat: Duration) -> Arc<Hub> {
        Arc::new(Hub {
            registry: Mutex::default(),
            next: AtomicU64::new(1),
            replay_max,
            queue: queue.max(1),
            heartbeat,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Follows the event log until the store closes; run once per application.
    pub fn start(self: &Arc<Self>, state: AppState) -> tokio::task::JoinHandle<()> {
        let hub = self.clone();
        let mut events = state.system.store().subscribe();
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(p) => hub.dispatch(&state, &p.event, &p.domain),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        // Events were missed: every socket must start over.
                        tracing::warn!(missed = n, "the live gateway fell behind the event log; all sockets resync");
                        hub.drop_all();
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        })
    }

    fn dispatch(&self, state: &AppState, e: &Event, domain: &DomainEvent) {
        let topics = state.system.topics.of(domain);
        if topics.is_empty() {
            return;
        }
        let audience = domain.audience();
        let data = frame_data(domain, &e.kind, &e.payload);
        let roles = &state.system.roles;
        let mut reg = self.lock();
        // Sockets already decided for this event: one frame per event per socket, and
        // whether it may see the event does not depend on the topic.
        let mut decided: HashSet<u64> = HashSet::new();
        let mut overflowed = Vec::new();
        for t in topics {
            let Some(subs) = reg.by_topic.get(&t) else { continue };
            let mut text = None; // serialised once per topic, when a first socket may have it
            for (id, s) in subs {
                if !decided.insert(*id) || !s.admits(roles, &audience) {
                    continue;
                }
                let text = text.get_or_insert_with(|| frame_text(e, &t, &data));
                if s.tx.try_send(Frame { seq: e.seq, text: text.clone() }).is_err() {
                    overflowed.push(*id);
                }
            }
        }
        // Dropping its sender ends the socket's queue: the socket sends `resync_required`.
        for id in overflowed {
            reg.remove(id);
        }
    }

    fn drop_all(&self) {
        let mut reg = self.lock();
        *reg = Registry::default();
    }

    fn register(&self, staff: &Staff) -> (u64, mpsc::Receiver<Frame>) {
        let (tx, rx) = mpsc::channel(self.queue);
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let user = &staff.principal.user;
        // Tagged with generation 0: current only while no role has changed since start (and
        // then the session's permissions are current too); otherwise the first use
        // recomputes them.
        let permissions = Mutex::new((0, staff.principal.permissions.clone()));
        let sub = Subscriber { tx, user: user.id, roles: user.roles.clone(), permissions };
        self.lock().members.insert(id, Arc::new(sub));
        (id, rx)
    }

    /// A registered socket, unless the hub has dropped it.
    fn member(&self, id: u64) -> Option<Arc<Subscriber>> {
        self.lock().members.get(&id).cloned()
    }

    /// Adds topics to a socket; false if the hub has dropped it (it fell behind).
    fn subscribe(&self, id: u64, topics: &[Topic]) -> bool {
        let mut reg = self.lock();
        let Some(sub) = reg.members.get(&id).cloned() else { return false };
        for t in topics {
            reg.by_topic.entry(t.clone()).or_default().insert(id, sub.clone());
            reg.topics_of.entry(id).or_default().insert(t.clone());
        }
        true
    }

    fn unsubscribe(&self, id: u64, topics: &[Topic]) {
        let mut reg = self.lock();
        for t in topics {
            if let Some(subs) = reg.by_topic.get_mut(t) {
                subs.remove(&id);
                if subs.is_empty() {
                    reg.by_topic.remove(t);
                }
            }
            if let Some(mine) = reg.topics_of.get_mut(&id) {
                mine.remove(t);
            }
        }
    }

    fn leave(&self, id: u64) {
        self.lock().remove(id);
    }

    /// Sockets open now (for metrics and tests).
    pub fn sockets(&self) -> usize {
        self.lock().members.len()
    }
}

/// What a client sends.
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
enum ClientMsg {
    Subscribe {
        topics: Vec<String>,
        #[serde(default)]
        since: Option<u64>,
    },
    Unsubscribe {
        topics: Vec<String>,
    },
    Ping,
}

fn error_frame(code: ErrorCode, message: impl Into<String>, field: Option<&str>) -> Message {
    let body = ErrorBody { code, message: message.into(), field: field.map(str::to_owned), details: None };
    Message::Text(serde_json::json!({ "type": "error", "error": body }).to_string().into())
}

fn control(v: serde_json::Value) -> Message {
    Message::Text(v.to_string().into())
}

/// `GET /ws`: upgrades a signed-in request to the live gateway.
pub async fn upgrade(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let by_bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer "));
    if !by_bearer {
        let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
        let allowed = origin.is_some_and(|o| crate::middleware::origin_allowed(&state, o));
        if !allowed {
            return ApiError::new(
                ErrorCode::CsrfRejected,
                "a WebSocket on the session cookie must come from the clinic's own pages (Origin check)",
            )
            .into_response();
        }
    }
    let ws = match ws {
        Ok(ws) => ws,
        Err(e) => {
            return ApiError::new(ErrorCode::ValidationFailed, format!("not a WebSocket handshake: {e}"))
                .into_response();
        }
    };
    // Small buffers: thousands of screens stay open all day, and the defaults (128 KiB each)
    // would cost far more than the socket itself. Clients only ever send small JSON, so a
    // message is capped at 64 KiB rather than tungstenite's 64 MiB.
    ws.read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(64 * 1024)
        .max_frame_size(64 * 1024)
        .on_upgrade(move |socket| serve(state, staff, socket))
}

async fn serve(state: AppState, staff: Staff, socket: WebSocket) {
    let hub = state.hub.clone();
    let (id, mut queue) = hub.register(&staff);
    let (mut out, mut incoming) = socket.split();
    let mut ping = tokio::time::interval(hub.heartbeat);
    let mut heard = Instant::now();
    // Events with a sequence number up to this were sent by a replay: skip them live.
    let mut replayed_to = 0u64;
    loop {
        tokio::select! {
            msg = incoming.next() => {
                let Some(Ok(msg)) = msg else { break };
                heard = Instant::now();
                let text = match msg {
                    Message::Text(t) => t,
                    Message::Close(_) => break,
                    Message::Binary(_) => {
                        let _ = out.send(error_frame(ErrorCode::ValidationFailed, "send JSON text frames", None)).await;
                        continue;
                    }
                    _ => continue,
                };
                let reply = match serde_json::from_str::<ClientMsg>(&text) {
                    Err(e) => vec![error_frame(ErrorCode::InvalidJson, format!("not a message of this protocol: {e}"), None)],
                    Ok(ClientMsg::Ping) => vec![control(serde_json::json!({ "type": "pong" }))],
                    Ok(ClientMsg::Unsubscribe { topics }) => {
                        let parsed: Vec<Topic> = topics.iter().filter_map(|t| Topic::parse(t).ok()).collect();
                        hub.unsubscribe(id, &parsed);
                        vec![control(serde_json::json!({ "type": "unsubscribed", "topics": topics }))]
                    }
                    Ok(ClientMsg::Subscribe { topics, since }) => {
                        match subscribe(&state, id, &topics, since).await {
                            Ok(Subscribed { topics: added, frames, up_to, resync }) => {
                                replayed_to = replayed_to.max(up_to);
                                let mut v = frames;
                                if let Some(last) = resync {
                                    v.push(control(serde_json::json!({
                                        "type": "resync_required",
                                        "reason": "more events were missed than can be replayed; load a snapshot",
                                        "last_seq": last,
                                    })));
                                }
                                v.push(control(serde_json::json!({
                                    "type": "subscribed",
                                    "topics": added.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
                                    "last_seq": up_to,
                                })));
                                v
                            }
                            Err(m) => vec![m],
                        }
                    }
                };
                for m in reply {
                    if out.send(m).await.is_err() {
                        hub.leave(id);
                        return;
                    }
                }
            }
            frame = queue.recv() => {
                match frame {
                    Some(f) if f.seq <= replayed_to => {}
                    Some(f) => {
                        if out.send(Message::Text(f.text)).await.is_err() {
                            break;
                        }
                    }
                    None => {
                        // The hub dropped this socket: its queue overflowed.
                        let _ = out.send(control(serde_json::json!({
                            "type": "resync_required",
                            "reason": "this screen fell behind; reconnect and load a snapshot",
                            "last_seq": state.system.store().last_seq(),
                        }))).await;
                        let _ = out.send(Message::Close(None)).await;
                        return;
                    }
                }
            }
            _ = ping.tick() => {
                if heard.elapsed() > hub.heartbeat * 3 {
                    break;
                }
                // A session that ended (sign-out, revocation, a role or password change)
                // ends its sockets too.
                if !state.system.accounts.session_active(staff.principal.session.id).unwrap_or(false) {
                    let _ = out.send(error_frame(ErrorCode::Unauthenticated, "the session has ended; sign in again", None)).await;
                    let _ = out.send(Message::Close(None)).await;
                    break;
                }
                if out.send(Message::Ping(Vec::new().into())).await.is_err() {
                    break;
                }
            }
        }
    }
    hub.leave(id);
}

struct Subscribed {
    topics: Vec<Topic>,
    frames: Vec<Message>,
    /// The newest sequence number the replay covered (the log's newest without `since`).
    up_to: u64,
    /// Set when `since` is too far back: the newest sequence number.
    resync: Option<u64>,
}

async fn subscribe(state: &AppState, id: u64, raw: &[String], since: Option<u64>) -> Result<Subscribed, Message> {
    if raw.is_empty() || raw.len() > 50 {
        return Err(error_frame(ErrorCode::ValidationFailed, "give 1 to 50 topics", Some("topics")));
    }
    let closing = || error_frame(ErrorCode::Unavailable, "this socket is closing", None);
    let me = state.hub.member(id).ok_or_else(closing)?;
    let roles = &state.system.roles;
    let mut topics = Vec::with_capacity(raw.len());
    for t in raw {
        let topic = Topic::parse(t).map_err(|e| error_frame(ErrorCode::ValidationFailed, e.message, Some("topics")))?;
        let need = topic.permission();
        // The user's permissions now, not when the socket opened.
        if me.with_permissions(roles, |p| p.scope(need).is_none()) {
            return Err(error_frame(
                ErrorCode::Forbidden,
                format!("you need the permission {need} for the topic {topic}"),
                Some("topics"),
            ));
        }
        topics.push(topic);
    }
    // Register first, then read the log: nothing can fall between the two.
    if !state.hub.subscribe(id, &topics) {
        return Err(closing());
    }
    // A dashboard starts from a snapshot of today's board; events after its `last_seq`
    // follow (each appointment event carries the whole appointment, so one already reflected is
    // harmless).
    let mut snapshots = Vec::new();
    for t in &topics {
        if let Topic::Dashboard(l) = t {
            let today = clowder_actors::scheduling::DayRequest { location: Some(*l), date: None };
            let board = state.system.scheduling.calendar.dashboard(today).map_err(|e| {
                let e = ApiError::from(e);
                error_frame(e.code, e.message, Some("topics"))
            })?;
            snapshots.push(Message::Text(
                serde_json::json!({ "type": "snapshot", "topic": t.to_string(), "data": board, "last_seq": board.last_seq })
                    .to_string()
                    .into(),
            ));
        }
    }
    let store = state.system.store();
    let Some(since) = since else {
        return Ok(Subscribed { topics, frames: snapshots, up_to: store.last_seq(), resync: None });
    };
    let last = store.last_seq();
    if last.saturating_sub(since) > state.hub.replay_max {
        return Ok(Subscribed { topics, frames: snapshots, up_to: last, resync: Some(last) });
    }
    let wanted: HashSet<&Topic> = topics.iter().collect();
    let mut frames = snapshots;
    let mut up_to = since;
    let mut after = since;
    loop {
        let batch = state
            .system
            .events_after(after, 500)
            .map_err(|_| error_frame(ErrorCode::InternalError, "the event log could not be read", None))?;
        if batch.is_empty() {
            break;
        }
        for e in &batch {
            after = e.seq;
            up_to = e.seq;
            let Ok(domain) = serde_json::from_value::<DomainEvent>(e.payload.clone()) else { continue };
            let Some(t) = state.system.topics.of(&domain).into_iter().find(|t| wanted.contains(t)) else {
                continue;
            };
            // The same rule as live dispatch: only what this user may see, in the same shape.
            if me.admits(roles, &domain.audience()) {
                frames.push(Message::Text(frame_text(e, &t, &frame_data(&domain, &e.kind, &e.payload))));
            }
        }
        if frames.len() as u64 > state.hub.replay_max {
            break;
        }
    }
    Ok(Subscribed { topics, frames, up_to: up_to.max(since), resync: None })
}
