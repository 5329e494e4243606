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
//! - **Current permissions**: the effective permissions of a set of role names are kept once,
//!   shared by every socket opened with that set, tagged with the roles' generation
//!   (`Roles::generation`). Every dispatch compares the generation (one atomic load per role
//!   set) and recomputes after any role was edited, so narrowing a role takes effect on the
//!   next event, not at the next heartbeat. Changing a user's own roles ends their sessions; their
//!   sockets close at the next heartbeat (below).
//! - **Ids only for clinical kinds**: a frame's `data` is `clowder_actors::live::frame_data`:
//!   the logged event, or ids and changed field names for kinds that declare it (patients).
//! - **One hub** task follows the event log, computes each event's topics and audience,
//!   serialises the frame once per topic (only if some socket may receive it), decides once
//!   per role set who may see it (then per socket only the user, for scope `own`), and hands
//!   the shared bytes to each admitted socket's **bounded** queue. A socket whose queue is
//!   full is dropped from the hub, told `resync_required` and closed: a slow screen never
//!   slows anyone else. Closing waits for the client's Close (reading what it still sends),
//!   so a TCP reset never swallows the last frames.
//! - **One task per socket** takes everything its queue holds at once and writes it with one
//!   flush; it reads the client's messages in the same loop (no split halves, no lock
//!   between them).
//! - **Replay**: `subscribe` with `since` first registers the socket (so live events queue
//!   up), then reads the log after `since` and sends what matches and what the socket's user
//!   may see, then forwards the queue, skipping what the replay already sent. A gap longer
//!   than the replay limit answers `resync_required` instead.
//! - **Heartbeats**: the server pings every `CLOWDER_WS_HEARTBEAT_SECS` (20 s), closes a socket
//!   silent for three of them, and closes sockets whose session has ended. The hub's one
//!   timer beats every socket (a flag in its queue), a sixteenth of them at a time, so no
//!   socket has a timer of its own and the session checks do not all come at once.

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use clowder_actors::live::{Audience, Topic, frame_data};
use clowder_actors::staff::roles::Roles;
use clowder_schemas::access::Permissions;
use clowder_schemas::events::{Admitted, DomainEvent, Event};
use clowder_schemas::{ErrorBody, ErrorCode, SessionId, UserId};
use futures_util::task::AtomicWaker;
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::extract::Staff;
use crate::state::AppState;

/// An event frame, serialised once and shared by every socket that gets it.
#[derive(Clone)]
struct Frame {
    seq: u64,
    text: Utf8Bytes,
}

/// The effective permissions of one set of role names, shared by every socket opened with
/// it: the hub decides an event once per role set, not once per socket, and a thousand
/// screens of the front desk hold one copy of the permissions.
struct Access {
    roles: Vec<String>,
    /// Effective permissions, with the roles' generation they were computed at.
    permissions: Mutex<(u64, Permissions)>,
}

impl Access {
    fn new(roles: &Roles, names: Vec<String>) -> Access {
        // The generation is read before the roles: permissions stored under it are never
        // older than it says.
        let generation = roles.generation();
        let permissions = roles.effective(&names);
        Access { roles: names, permissions: Mutex::new((generation, permissions)) }
    }

    /// Runs `f` on the current effective permissions, recomputing them first if any role
    /// changed since they were computed.
    fn with_permissions<T>(&self, roles: &Roles, f: impl FnOnce(&Permissions) -> T) -> T {
        let generation = roles.generation();
        let mut held = self.permissions.lock().unwrap_or_else(|p| p.into_inner());
        if held.0 != generation {
            *held = (generation, roles.effective(&self.roles));
        }
        f(&held.1)
    }

    /// Which users of this role set may see an event with this audience.
    fn admitted(&self, roles: &Roles, audience: &Audience) -> Admitted {
        self.with_permissions(roles, |p| audience.admitted(p))
    }
}

/// One open socket, as the hub and the socket's own task share it.
struct Socket {
    id: u64,
    user: UserId,
    access: Arc<Access>,
    queue: Mutex<Queue>,
}

/// What waits for a socket's task. A plain deque under a lock rather than a channel: it
/// allocates nothing until the first frame (an idle screen costs a few dozen bytes here),
/// and the task takes everything waiting at once, so frames that queued up go out in one
/// write.
#[derive(Default)]
struct Queue {
    frames: VecDeque<Frame>,
    /// The hub dropped this socket (its queue was full, or the hub fell behind): send what
    /// is left, then `resync_required`.
    dropped: bool,
    /// A heartbeat is due (the hub's one timer sets it on every socket).
    beat: bool,
    /// The socket's task, when it waits for something here.
    waker: Option<Waker>,
}

/// What [`Socket::take`] found besides frames.
struct Taken {
    dropped: bool,
    beat: bool,
}

impl Socket {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a frame unless `cap` frames already wait; false if the queue was full.
    fn offer(&self, frame: Frame, cap: usize) -> bool {
        let mut q = self.lock();
        if q.frames.len() >= cap {
            return false;
        }
        q.frames.push_back(frame);
        // Taking the waker means frames that arrive before the task runs wake it only once.
        let waker = q.waker.take();
        drop(q);
        if let Some(w) = waker {
            w.wake();
        }
        true
    }

    /// Sets a flag under the lock and wakes the task.
    fn signal(&self, set: impl FnOnce(&mut Queue)) {
        let mut q = self.lock();
        set(&mut q);
        let waker = q.waker.take();
        drop(q);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Ready once something is waiting: moves every waiting frame into `into` (empty, keeping
    /// its capacity: the two deques trade places, so nothing is allocated per frame).
    fn poll_take(&self, cx: &mut Context<'_>, into: &mut VecDeque<Frame>) -> Poll<Taken> {
        let mut q = self.lock();
        if q.frames.is_empty() && !q.dropped && !q.beat {
            if !q.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                q.waker = Some(cx.waker().clone());
            }
            return Poll::Pending;
        }
        std::mem::swap(&mut q.frames, into);
        Poll::Ready(Taken { dropped: q.dropped, beat: std::mem::take(&mut q.beat) })
    }
}

/// What woke a socket's task.
enum Next {
    Queue(Taken),
    Read(Option<Result<Message, axum::Error>>),
}

/// Reads a socket's client messages, polling the socket only when its read side woke the
/// task (or may hold more): the task wakes for every batch of frames, and polling the read
/// side each time (its waker bookkeeping, a `read` that finds nothing) would cost more than
/// writing the frame.
struct Reader {
    flag: Arc<ReadFlag>,
    waker: Waker,
}

/// The read side's waker: notes that it fired, then wakes the task.
struct ReadFlag {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl Wake for ReadFlag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

impl Reader {
    fn new() -> Reader {
        // Woken at first: nothing was registered yet.
        let flag = Arc::new(ReadFlag { woken: AtomicBool::new(true), task: AtomicWaker::new() });
        Reader { waker: Waker::from(flag.clone()), flag }
    }

    fn poll(&self, cx: &mut Context<'_>, socket: &mut WebSocket) -> Poll<Option<Result<Message, axum::Error>>> {
        self.flag.task.register(cx.waker());
        if !self.flag.woken.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        match socket.poll_next_unpin(&mut Context::from_waker(&self.waker)) {
            Poll::Ready(m) => {
                // More may be buffered already, with no wake-up to come for it.
                self.flag.woken.store(true, Ordering::Release);
                Poll::Ready(m)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Who listens to what. Dropping a socket from here marks its queue dropped: the socket
/// learns it fell behind.
#[derive(Default)]
struct Registry {
    members: HashMap<u64, Arc<Socket>>,
    by_topic: HashMap<Topic, HashMap<u64, Arc<Socket>>>,
    topics_of: HashMap<u64, Vec<Topic>>,
    /// Role sets of open sockets, by their sorted role names.
    access: HashMap<Vec<String>, Weak<Access>>,
}

impl Registry {
    fn remove(&mut self, id: u64) -> Option<Arc<Socket>> {
        let socket = self.members.remove(&id);
        for t in self.topics_of.remove(&id).unwrap_or_default() {
            if let Some(subs) = self.by_topic.get_mut(&t) {
                subs.remove(&id);
                if subs.is_empty() {
                    self.by_topic.remove(&t);
                }
            }
        }
        socket
    }

    /// The shared permissions of this role set, created on first use.
    fn access(&mut self, mut names: Vec<String>, make: impl FnOnce(Vec<String>) -> Access) -> Arc<Access> {
        names.sort();
        names.dedup();
        if let Some(a) = self.access.get(&names).and_then(Weak::upgrade) {
            return a;
        }
        self.access.retain(|_, a| a.strong_count() > 0);
        let a = Arc::new(make(names.clone()));
        self.access.insert(names, Arc::downgrade(&a));
        a
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

/// The sockets are beaten in this many slices per heartbeat period.
const BEAT_SLICES: u64 = 16;

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

/// The first of `verdicts` for this role set, deciding and noting it on first sight.
fn verdict(
    verdicts: &mut Vec<(*const Access, Admitted)>,
    access: &Arc<Access>,
    roles: &Roles,
    audience: &Audience,
) -> Admitted {
    let key = Arc::as_ptr(access);
    if let Some((_, v)) = verdicts.iter().find(|(k, _)| std::ptr::eq(*k, key)) {
        return *v;
    }
    let v = access.admitted(roles, audience);
    verdicts.push((key, v));
    v
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

    /// Follows the event log until the store closes, and beats every socket's heartbeat;
    /// run once per application.
    pub fn start(self: &Arc<Self>, state: AppState) -> tokio::task::JoinHandle<()> {
        let hub = self.clone();
        let mut events = state.system.store().subscribe();
        // One timer for every socket rather than one each: nothing to poll on every frame,
        // nothing to keep per idle socket. It beats a slice of the sockets at a time, so
        // their session checks and pings are spread over the period, not all at once.
        let every = (hub.heartbeat / BEAT_SLICES as u32).max(Duration::from_millis(1));
        let mut beat = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut slice = 0u64;
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    biased;
                    received = events.recv() => match received {
                        Ok(p) => hub.dispatch(&state, &p.event, &p.domain),
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                            // Events were missed: every socket must start over.
                            tracing::warn!(missed = n, "the live gateway fell behind the event log; all sockets resync");
                            hub.drop_all();
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                    },
                    _ = beat.tick() => {
                        hub.beat(slice);
                        slice = (slice + 1) % BEAT_SLICES;
                    }
                }
            }
        })
    }

    fn dispatch(&self, state: &AppState, e: &Event, domain: &DomainEvent) {
        let topics = state.system.topics.of(domain);
        let mut reg = self.lock();
        let followed: Vec<(&Topic, &HashMap<u64, Arc<Socket>>)> =
            topics.iter().filter_map(|t| reg.by_topic.get(t).map(|subs| (t, subs))).collect();
        if followed.is_empty() {
            return;
        }
        let audience = domain.audience();
        let data = frame_data(domain, &e.kind, &e.payload);
        let roles = &state.system.roles;
        // Whether a socket may see the event depends on its role set (and, for scope `own`,
        // its user), not on the topic: decided once per role set.
        let mut verdicts = Vec::new();
        // One frame per event per socket; only needed when several topics have listeners.
        let mut decided: Option<HashSet<u64>> = (followed.len() > 1).then(HashSet::new);
        let mut overflowed = Vec::new();
        for (t, subs) in followed {
            let mut text = None; // serialised once per topic, when a first socket may have it
            for (id, s) in subs {
                if decided.as_mut().is_some_and(|d| !d.insert(*id)) {
                    continue;
                }
                if !verdict(&mut verdicts, &s.access, roles, &audience).includes(s.user) {
                    continue;
                }
                let text = text.get_or_insert_with(|| frame_text(e, t, &data));
                if !s.offer(Frame { seq: e.seq, text: text.clone() }, self.queue) {
                    overflowed.push(*id);
                }
            }
        }
        // The socket sends what it still has, then `resync_required`.
        for id in overflowed {
            if let Some(s) = reg.remove(id) {
                s.signal(|q| q.dropped = true);
            }
        }
    }

    fn drop_all(&self) {
        let mut reg = self.lock();
        for s in reg.members.values() {
            s.signal(|q| q.dropped = true);
        }
        *reg = Registry::default();
    }

    /// Tells the sockets of one slice that a heartbeat is due; each slice comes once per
    /// heartbeat period.
    fn beat(&self, slice: u64) {
        for s in self.lock().members.values().filter(|s| s.id % BEAT_SLICES == slice) {
            s.signal(|q| q.beat = true);
        }
    }

    fn register(&self, roles: &Roles, user: UserId, role_names: Vec<String>) -> Arc<Socket> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let mut reg = self.lock();
        let access = reg.access(role_names, |names| Access::new(roles, names));
        let socket = Arc::new(Socket { id, user, access, queue: Mutex::default() });
        reg.members.insert(id, socket.clone());
        socket
    }

    /// Adds topics to a socket; false if the hub has dropped it (it fell behind).
    fn subscribe(&self, id: u64, topics: &[Topic]) -> bool {
        let mut reg = self.lock();
        let Some(sub) = reg.members.get(&id).cloned() else { return false };
        let mine = reg.topics_of.entry(id).or_default();
        let added: Vec<Topic> = topics.iter().filter(|t| !mine.contains(t)).cloned().collect();
        mine.extend(added.iter().cloned());
        for t in added {
            reg.by_topic.entry(t).or_default().insert(id, sub.clone());
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
                mine.retain(|m| m != t);
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
    // would cost far more than the socket itself. The read buffer is allocated (and zeroed)
    // up front for every socket, so it is kept to what a client's messages take (a
    // subscription with its topics; a bigger message grows it). Frames are written once the
    // queue is drained or 4 KiB have gathered (the write buffer grows only as frames come).
    // Clients only ever send small JSON, so a message is capped at 64 KiB rather than
    // tungstenite's 64 MiB.
    let who = Who {
        user: staff.principal.user.id,
        roles: staff.principal.user.roles.clone(),
        session: staff.principal.session.id,
    };
    drop(staff);
    ws.read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BATCH)
        .max_message_size(64 * 1024)
        .max_frame_size(64 * 1024)
        .on_upgrade(move |socket| serve(state, who, socket))
}

/// Bytes of a socket's read buffer (see `upgrade`).
const READ_BUFFER: usize = 1024;
/// Bytes gathered before a write while a batch of frames goes out.
const WRITE_BATCH: usize = 4 * 1024;

/// What a socket keeps of the request that opened it.
struct Who {
    user: UserId,
    roles: Vec<String>,
    session: SessionId,
}

/// Why a socket's task stops.
enum End {
    /// The peer went away, closed or failed; nothing more to send.
    Gone,
    /// Close from our side after the frames already queued on the socket.
    Close,
}

async fn serve(state: AppState, who: Who, mut socket: WebSocket) {
    let hub = state.hub.clone();
    let me = hub.register(&state.system.roles, who.user, who.roles);
    let mut heard = Instant::now();
    // Events with a sequence number up to this were sent by a replay: skip them live.
    let mut replayed_to = 0u64;
    // Frames taken from the queue; kept between batches so its allocation is reused.
    let mut batch = VecDeque::new();
    let reader = Reader::new();
    let end = loop {
        // The client's messages when its side woke the task, so a stream of frames cannot
        // starve them; then the queue.
        let next = poll_fn(|cx| {
            if let Poll::Ready(msg) = reader.poll(cx, &mut socket) {
                return Poll::Ready(Next::Read(msg));
            }
            me.poll_take(cx, &mut batch).map(Next::Queue)
        })
        .await;
        match next {
            Next::Queue(taken) => {
                match send_batch(&mut socket, &mut batch, replayed_to).await {
                    Ok(()) => {}
                    Err(end) => break end,
                }
                if taken.dropped {
                    // The hub dropped this socket: its queue overflowed.
                    let resync = control(serde_json::json!({
                        "type": "resync_required",
                        "reason": "this screen fell behind; reconnect and load a snapshot",
                        "last_seq": state.system.store().last_seq(),
                    }));
                    let _ = socket.feed(resync).await;
                    break End::Close;
                }
                if taken.beat {
                    if heard.elapsed() > hub.heartbeat * 3 {
                        break End::Gone;
                    }
                    // A session that ended (sign-out, revocation, a role or password change)
                    // ends its sockets too.
                    if !state.system.accounts.session_active(who.session).unwrap_or(false) {
                        let _ = socket
                            .feed(error_frame(ErrorCode::Unauthenticated, "the session has ended; sign in again", None))
                            .await;
                        break End::Close;
                    }
                    if socket.send(Message::Ping(Default::default())).await.is_err() {
                        break End::Gone;
                    }
                }
            }
            Next::Read(msg) => {
                let Some(Ok(msg)) = msg else { break End::Gone };
                heard = Instant::now();
                let text = match msg {
                    Message::Text(t) => t,
                    Message::Close(_) => break End::Gone,
                    Message::Binary(_) => {
                        let _ =
                            socket.send(error_frame(ErrorCode::ValidationFailed, "send JSON text frames", None)).await;
                        continue;
                    }
                    _ => continue,
                };
                let reply = match serde_json::from_str::<ClientMsg>(&text) {
                    Err(e) => {
                        vec![error_frame(ErrorCode::InvalidJson, format!("not a message of this protocol: {e}"), None)]
                    }
                    Ok(ClientMsg::Ping) => vec![control(serde_json::json!({ "type": "pong" }))],
                    Ok(ClientMsg::Unsubscribe { topics }) => {
                        let parsed: Vec<Topic> = topics.iter().filter_map(|t| Topic::parse(t).ok()).collect();
                        hub.unsubscribe(me.id, &parsed);
                        vec![control(serde_json::json!({ "type": "unsubscribed", "topics": topics }))]
                    }
                    Ok(ClientMsg::Subscribe { topics, since }) => {
                        // Boxed: the replay's state lives only while it runs, not in every
                        // idle socket's task.
                        match Box::pin(subscribe(&state, &me, &topics, since)).await {
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
                if send_all(&mut socket, reply).await.is_err() {
                    break End::Gone;
                }
            }
        }
    };
    hub.leave(me.id);
    if let End::Close = end {
        close(&mut socket, hub.heartbeat).await;
    }
}

/// Closes from our side without losing what is still on its way: sends Close, then reads
/// (and drops) what the client sends until its Close arrives, for at most `grace`. Closing the
/// TCP connection while the client still sends (a pong to a ping it has just read) makes the
/// kernel reset it, and a reset throws away frames the client has not read yet, such as the
/// `resync_required` that tells a screen why it is being closed.
async fn close(socket: &mut WebSocket, grace: Duration) {
    if socket.send(Message::Close(None)).await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(grace, async {
        while let Some(Ok(m)) = socket.recv().await {
            if let Message::Close(_) = m {
                break;
            }
        }
    })
    .await;
}

/// Writes a batch of event frames (skipping those a replay already sent) with one flush, so
/// frames that queued up together leave in as few writes as their size allows.
async fn send_batch(socket: &mut WebSocket, batch: &mut VecDeque<Frame>, replayed_to: u64) -> Result<(), End> {
    if batch.is_empty() {
        return Ok(());
    }
    while let Some(f) = batch.pop_front() {
        if f.seq > replayed_to && socket.feed(Message::Text(f.text)).await.is_err() {
            batch.clear();
            return Err(End::Gone);
        }
    }
    socket.flush().await.map_err(|_| End::Gone)
}

/// Writes protocol messages with one flush.
async fn send_all(socket: &mut WebSocket, messages: Vec<Message>) -> Result<(), axum::Error> {
    for m in messages {
        socket.feed(m).await?;
    }
    socket.flush().await
}

struct Subscribed {
    topics: Vec<Topic>,
    frames: Vec<Message>,
    /// The newest sequence number the replay covered (the log's newest without `since`).
    up_to: u64,
    /// Set when `since` is too far back: the newest sequence number.
    resync: Option<u64>,
}

async fn subscribe(state: &AppState, me: &Socket, raw: &[String], since: Option<u64>) -> Result<Subscribed, Message> {
    if raw.is_empty() || raw.len() > 50 {
        return Err(error_frame(ErrorCode::ValidationFailed, "give 1 to 50 topics", Some("topics")));
    }
    let closing = || error_frame(ErrorCode::Unavailable, "this socket is closing", None);
    let roles = &state.system.roles;
    let mut topics = Vec::with_capacity(raw.len());
    for t in raw {
        let topic = Topic::parse(t).map_err(|e| error_frame(ErrorCode::ValidationFailed, e.message, Some("topics")))?;
        let need = topic.permission();
        // The user's permissions now, not when the socket opened.
        if me.access.with_permissions(roles, |p| p.scope(need).is_none()) {
            return Err(error_frame(
                ErrorCode::Forbidden,
                format!("you need the permission {need} for the topic {topic}"),
                Some("topics"),
            ));
        }
        topics.push(topic);
    }
    // Register first, then read the log: nothing can fall between the two.
    if !state.hub.subscribe(me.id, &topics) {
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
            if me.access.admitted(roles, &domain.audience()).includes(me.user) {
                frames.push(Message::Text(frame_text(e, &t, &frame_data(&domain, &e.kind, &e.payload))));
            }
        }
        if frames.len() as u64 > state.hub.replay_max {
            break;
        }
    }
    Ok(Subscribed { topics, frames, up_to: up_to.max(since), resync: None })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    /// A waker that counts its wake-ups.
    #[derive(Default)]
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn socket() -> Socket {
        socket_numbered(1)
    }

    fn socket_numbered(id: u64) -> Socket {
        let access = Arc::new(Access { roles: Vec::new(), permissions: Mutex::new((0, Permissions::default())) });
        Socket { id, user: UserId::from_u128(1), access, queue: Mutex::default() }
    }

    fn frame(seq: u64) -> Frame {
        Frame { seq, text: Utf8Bytes::from(format!("{{\"seq\":{seq}}}")) }
    }

    #[test]
    fn frames_that_queue_up_wake_the_socket_once_and_are_taken_together() {
        let s = socket();
        let count = Arc::new(Count::default());
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let mut batch = VecDeque::new();
        assert!(s.poll_take(&mut cx, &mut batch).is_pending());
        for seq in 1..=3 {
            assert!(s.offer(frame(seq), 8));
        }
        assert_eq!(count.0.load(Ordering::SeqCst), 1, "one wake-up for three frames");
        let Poll::Ready(taken) = s.poll_take(&mut cx, &mut batch) else { panic!("frames are waiting") };
        assert!(!taken.dropped && !taken.beat);
        assert_eq!(batch.iter().map(|f| f.seq).collect::<Vec<_>>(), [1, 2, 3]);
        batch.clear();
        assert!(s.poll_take(&mut cx, &mut batch).is_pending(), "nothing is left behind");
    }

    #[test]
    fn a_full_queue_refuses_the_frame_and_the_dropped_socket_still_gets_what_it_had() {
        let s = socket();
        assert!(s.offer(frame(1), 2) && s.offer(frame(2), 2));
        assert!(!s.offer(frame(3), 2), "the third frame overflows a queue of two");
        s.signal(|q| q.dropped = true);
        let waker = Waker::from(Arc::new(Count::default()));
        let mut batch = VecDeque::new();
        let Poll::Ready(taken) = s.poll_take(&mut Context::from_waker(&waker), &mut batch) else { panic!() };
        assert!(taken.dropped);
        assert_eq!(batch.len(), 2);
    }

    #[test]
    fn an_idle_socket_is_woken_for_its_heartbeat_and_allocates_no_queue() {
        let s = socket();
        assert_eq!(s.lock().frames.capacity(), 0);
        let count = Arc::new(Count::default());
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let mut batch = VecDeque::new();
        assert!(s.poll_take(&mut cx, &mut batch).is_pending());
        s.signal(|q| q.beat = true);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        let Poll::Ready(taken) = s.poll_take(&mut cx, &mut batch) else { panic!() };
        assert!(taken.beat && batch.is_empty());
        assert!(s.poll_take(&mut cx, &mut batch).is_pending(), "a beat is taken once");
    }

    #[test]
    fn each_heartbeat_slice_beats_only_its_own_sockets() {
        let hub = Hub::new(10, 8, Duration::from_secs(16));
        for id in [1, 2, 1 + BEAT_SLICES] {
            hub.lock().members.insert(id, Arc::new(socket_numbered(id)));
        }
        hub.beat(1);
        let beaten = |id: u64| hub.lock().members[&id].lock().beat;
        assert!(beaten(1) && beaten(1 + BEAT_SLICES));
        assert!(!beaten(2), "its slice comes later in the period");
        hub.beat(2);
        assert!(beaten(2));
    }

    #[test]
    fn sockets_of_the_same_role_set_share_its_permissions() {
        let mut reg = Registry::default();
        let make = |names| Access { roles: names, permissions: Mutex::new((0, Permissions::default())) };
        let a = reg.access(vec!["vet".into(), "billing".into()], make);
        let b = reg.access(vec!["billing".into(), "vet".into(), "vet".into()], make);
        assert!(Arc::ptr_eq(&a, &b), "the order and repeats of role names do not matter");
        let c = reg.access(vec!["vet".into()], make);
        assert!(!Arc::ptr_eq(&a, &c));
        drop((a, b));
        let d = reg.access(vec!["receptionist".into()], make);
        assert_eq!(reg.access.len(), 2, "a role set no socket holds any more is forgotten");
        drop((c, d));
    }
}
