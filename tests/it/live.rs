//! The live gateway (`/ws`) over a real WebSocket: authentication before the upgrade, the
//! Origin check for cookie sessions, permission-filtered topics, live events, and replay with
//! `since`: a screen that reconnects receives exactly the events it missed, in order.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::calendar::{Clinic, DAY};
use crate::helpers::{TestApp, id_of};

pub(crate) type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub(crate) async fn connect(app: &TestApp, token: &str) -> Socket {
    let mut req = format!("ws://{}/ws", app.addr).into_client_request().unwrap();
    req.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    tokio_tungstenite::connect_async(req).await.expect("the upgrade succeeds").0
}

pub(crate) async fn send(ws: &mut Socket, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// The next JSON text frame, within five seconds.
pub(crate) async fn next(ws: &mut Socket) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a frame within five seconds")
            .expect("the socket is open")
            .unwrap();
        if let Message::Text(t) = msg {
            return serde_json::from_str(&t).unwrap();
        }
    }
}

/// Frames until one of type `kind` (inclusive).
async fn until(ws: &mut Socket, kind: &str) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let v = next(ws).await;
        let done = v["type"] == kind;
        out.push(v);
        if done {
            return out;
        }
    }
}

fn calendar_topic(c: &Clinic) -> String {
    format!("calendar:{}:{DAY}", c.location)
}

#[tokio::test]
async fn live_events_arrive_and_a_reconnect_with_since_gets_exactly_what_it_missed() {
    let c = Clinic::new().await;
    let token = c.app.token().unwrap();
    let mut ws = connect(&c.app, &token).await;
    send(&mut ws, json!({"op": "subscribe", "topics": [calendar_topic(&c)]})).await;
    let ack = next(&mut ws).await;
    assert_eq!(ack["type"], "subscribed");
    let seen_to = ack["last_seq"].as_u64().unwrap();

    let a = c.book(&c.wellness(&format!("{DAY}T09:00:00-05:00"))).await;
    let e = next(&mut ws).await;
    assert_eq!(
        (e["type"].as_str(), e["topic"].as_str()),
        (Some("appointment_booked"), Some(calendar_topic(&c).as_str()))
    );
    assert_eq!(e["data"]["appointment"]["id"], a["id"]);
    let first_seq = e["seq"].as_u64().unwrap();
    assert!(first_seq > seen_to);
    drop(ws);

    // While the screen is away: two changes on its calendar, one elsewhere.
    let id = id_of(&a);
    c.transition(&id, "confirmed").await;
    c.app.some_client("Not", "Shown").await;
    c.transition(&id, "checked_in").await;

    let mut ws = connect(&c.app, &token).await;
    send(&mut ws, json!({"op": "subscribe", "topics": [calendar_topic(&c)], "since": first_seq})).await;
    let frames = until(&mut ws, "subscribed").await;
    let kinds: Vec<&str> = frames.iter().map(|f| f["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["appointment_confirmed", "patient_checked_in", "subscribed"]);
    assert!(frames[0]["seq"].as_u64() < frames[1]["seq"].as_u64());
    // And it goes on live, with no duplicate of what the replay sent.
    c.transition(&id, "in_progress").await;
    let live = next(&mut ws).await;
    assert_eq!(live["type"], "appointment_started");
    assert!(live["seq"].as_u64() > frames[1]["seq"].as_u64());
    send(&mut ws, json!({"op": "ping"})).await;
    assert_eq!(next(&mut ws).await["type"], "pong");
}

#[tokio::test]
async fn a_since_too_far_back_asks_for_a_resync() {
    let app = TestApp::spawn_with(|a| a.ws_replay_max = 3).await;
    app.login_admin().await;
    let c = Clinic::on(app).await;
    let mut ws = connect(&c.app, &c.app.token().unwrap()).await;
    send(&mut ws, json!({"op": "subscribe", "topics": [calendar_topic(&c)], "since": 1})).await;
    let frames = until(&mut ws, "subscribed").await;
    assert_eq!(frames[0]["type"], "resync_required", "{frames:?}");
    assert!(frames[0]["last_seq"].as_u64().unwrap() > 3);
}

#[tokio::test]
async fn topics_need_their_permission_and_bad_messages_get_errors() {
    let c = Clinic::new().await;
    let billing = crate::access::staff_user(&c.app, "bill", &["billing"]).await;
    let mut ws = connect(&c.app, &billing).await;
    send(&mut ws, json!({"op": "subscribe", "topics": [calendar_topic(&c)]})).await;
    let e = next(&mut ws).await;
    assert_eq!((e["type"].as_str(), e["error"]["code"].as_str()), (Some("error"), Some("forbidden")));
    assert!(e["error"]["message"].as_str().unwrap().contains("appointments:view"));
    send(&mut ws, json!({"op": "subscribe", "topics": [format!("patient:{}", c.cat)]})).await;
    assert_eq!(next(&mut ws).await["error"]["code"], "forbidden");
    send(&mut ws, json!({"op": "subscribe", "topics": ["clients:all"]})).await;
    let e = next(&mut ws).await;
    assert_eq!(
        (e["error"]["code"].as_str(), e["error"]["field"].as_str()),
        (Some("validation_failed"), Some("topics"))
    );
    ws.send(Message::Text("{not json".into())).await.unwrap();
    assert_eq!(next(&mut ws).await["error"]["code"], "invalid_json");
    // Nothing of the calendar reaches this socket.
    c.book(&c.wellness(&format!("{DAY}T10:00:00-05:00"))).await;
    send(&mut ws, json!({"op": "ping"})).await;
    assert_eq!(next(&mut ws).await["type"], "pong");
}

#[tokio::test]
async fn the_upgrade_needs_a_session_and_a_cookie_needs_the_clinics_origin() {
    let app = TestApp::signed_in().await;
    let url = format!("ws://{}/ws", app.addr);
    match tokio_tungstenite::connect_async(url.as_str()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => assert_eq!(res.status(), StatusCode::UNAUTHORIZED),
        other => panic!("expected 401, got {other:?}"),
    }
    let token = app.token().unwrap();
    let mut req = url.as_str().into_client_request().unwrap();
    req.headers_mut().insert("cookie", format!("clowder_session={token}").parse().unwrap());
    req.headers_mut().insert("origin", "https://evil.example".parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => assert_eq!(res.status(), StatusCode::FORBIDDEN),
        other => panic!("expected 403, got {other:?}"),
    }
    let mut req = url.as_str().into_client_request().unwrap();
    req.headers_mut().insert("cookie", format!("clowder_session={token}").parse().unwrap());
    req.headers_mut().insert("origin", format!("http://{}", app.addr).parse().unwrap());
    assert!(tokio_tungstenite::connect_async(req).await.is_ok(), "the clinic's own page may connect");
}

/// A socket whose receive buffer is tiny, so the server's sends back up quickly when it does
/// not read.
async fn connect_small(app: &TestApp, token: &str) -> Socket {
    let mut req = format!("ws://{}/ws", app.addr).into_client_request().unwrap();
    req.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    let stream = sock.connect(app.addr).await.unwrap();
    let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
    tokio_tungstenite::client_async(req, stream).await.expect("the upgrade succeeds").0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screen_that_falls_behind_is_told_to_resync_and_never_slows_the_others() {
    let app = TestApp::spawn_with(|a| a.ws_queue = 4).await;
    app.login_admin().await;
    let c = Clinic::on(app).await;
    let app = &c.app;
    let appointment = id_of(&c.book(&c.wellness(&format!("{DAY}T09:00:00-05:00"))).await);
    let token = app.token().unwrap();
    // A cat's own events go out as ids only (small); its appointments carry their notes.
    let topic = json!({"op": "subscribe", "topics": [format!("patient:{}", c.cat)]});
    let mut slow = connect_small(app, &token).await;
    send(&mut slow, topic.clone()).await;
    let mut fast = connect(app, &token).await;
    send(&mut fast, topic).await;
    assert_eq!(next(&mut fast).await["type"], "subscribed");
    // Big events; the slow screen reads nothing meanwhile. The fast one sees every event
    // as it happens.
    let note = "x".repeat(9_000);
    const CHANGES: usize = 600;
    for i in 0..CHANGES {
        let body = json!({"notes": format!("{note}{i}")});
        assert_eq!(app.patch_json(&format!("/api/appointments/{appointment}"), &body).await.status(), StatusCode::OK);
        assert_eq!(next(&mut fast).await["type"], "appointment_updated", "change {i}");
    }
    // The slow screen got part of it, then `resync_required`, then the socket closed.
    let mut events = 0;
    let mut resync = false;
    while let Ok(Some(Ok(m))) = tokio::time::timeout(Duration::from_secs(5), slow.next()).await {
        match m {
            Message::Text(t) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                match v["type"].as_str() {
                    Some("appointment_updated") => events += 1,
                    Some("resync_required") => resync = true,
                    _ => {}
                }
            }
            Message::Close(_) => break,
            _ => {}
        }
    }
    assert!(resync, "the slow screen was told to resync (it got {events} events)");
    assert!(events < CHANGES, "and it was cut off before the end");
}

#[tokio::test]
async fn a_socket_closes_when_its_session_ends() {
    let app = TestApp::spawn_with(|a| a.ws_heartbeat_secs = 1).await;
    app.login_admin().await;
    let token = app.token().unwrap();
    let mut ws = connect(&app, &token).await;
    send(&mut ws, json!({"op": "ping"})).await;
    assert_eq!(next(&mut ws).await["type"], "pong");
    let res = app.anonymous(reqwest::Method::POST, "/api/auth/logout").bearer_auth(&token).send().await.unwrap();
    assert!(res.status().is_success());
    // Within a heartbeat or two: an `unauthenticated` error, then the socket closes.
    let e = next(&mut ws).await;
    assert_eq!(e["error"]["code"], "unauthenticated", "{e}");
    let end = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.unwrap();
    assert!(matches!(end, None | Some(Ok(Message::Close(_))) | Some(Err(_))), "{end:?}");
}

#[tokio::test]
async fn a_dashboard_starts_from_a_snapshot_and_stays_current() {
    let c = Clinic::new().await;
    let app = &c.app;
    // An appointment starting now (so it is today's whatever the hour), checked in.
    let soon = (clowder_actors::Clock::now(&clowder_actors::SystemClock) - jiff::SignedDuration::from_secs(2))
        .round(jiff::TimestampRound::new().smallest(jiff::Unit::Second))
        .unwrap();
    let a = c.book(&c.wellness(&soon.to_string())).await;
    let id = id_of(&a);
    c.transition(&id, "checked_in").await;
    let board = app.get_json("/api/dashboard").await;
    assert_eq!(board["counters"]["checked_in"], 1);
    assert_eq!(board["queue"][0]["appointment_id"], json!(id));
    assert_eq!(board["queue"][0]["patient_name"], "Mittens");
    assert_eq!(board["rooms"].as_array().unwrap().len(), 2);

    let mut ws = connect(app, &app.token().unwrap()).await;
    send(&mut ws, json!({"op": "subscribe", "topics": [format!("dashboard:{}", c.location)]})).await;
    let snap = next(&mut ws).await;
    assert_eq!(snap["type"], "snapshot");
    assert_eq!(snap["data"]["queue"][0]["appointment_id"], json!(id));
    assert_eq!(snap["data"]["counters"]["booked"], 1);
    assert_eq!(next(&mut ws).await["type"], "subscribed");
    c.transition(&id, "in_progress").await;
    let e = next(&mut ws).await;
    assert_eq!(
        (e["type"].as_str(), e["data"]["appointment"]["status"].as_str()),
        (Some("appointment_started"), Some("in_progress"))
    );
    assert!(e["seq"].as_u64().unwrap() > snap["last_seq"].as_u64().unwrap());
    // The room of the appointment follows, on the same topic.
    let r = next(&mut ws).await;
    assert_eq!(
        (r["type"].as_str(), r["data"]["status"]["state"].as_str()),
        (Some("room_state_changed"), Some("in_exam"))
    );
}

/// Creates a custom role (as the signed-in administrator) with `(permission, scope)` grants.
async fn custom_role(app: &TestApp, name: &str, grants: &[(&str, &str)]) -> String {
    let grants: Vec<Value> = grants.iter().map(|(p, s)| json!({"permission": p, "scope": s})).collect();
    let res = app.post_json("/api/roles", &json!({"name": name, "grants": grants})).await;
    id_of(&crate::helpers::expect_json(res, StatusCode::CREATED).await)
}

/// `method path` with `body`, as the holder of `token`.
async fn call_as(app: &TestApp, token: &str, method: reqwest::Method, path: &str, body: &Value) -> reqwest::Response {
    app.anonymous(method, path).bearer_auth(token).json(body).send().await.unwrap()
}

/// Subscribes and returns every frame up to the `subscribed` acknowledgement (replay first).
async fn subscribe(ws: &mut Socket, topics: &[String], since: Option<u64>) -> Vec<Value> {
    let mut msg = json!({"op": "subscribe", "topics": topics});
    if let Some(s) = since {
        msg["since"] = json!(s);
    }
    send(ws, msg).await;
    until(ws, "subscribed").await
}

/// The event frames (those with a `seq`) among `frames`.
fn events(frames: &[Value]) -> Vec<&Value> {
    frames.iter().filter(|f| f["seq"].is_u64()).collect()
}

#[tokio::test]
async fn an_own_scope_gets_no_frame_of_someone_elses_cat_live_or_in_replay() {
    let app = TestApp::signed_in().await;
    custom_role(&app, "own_cats", &[("patients:view", "own"), ("patients:create", "own"), ("patients:edit", "own")])
        .await;
    let (alice, _) = crate::access::staff_user_with_id(&app, "alice", &["own_cats"]).await;
    let (bob, _) = crate::access::staff_user_with_id(&app, "bob", &["own_cats"]).await;
    let owner = app.some_client("Jon", "Smith").await;
    let before = app.last_event_seq().await;
    let create = |name: &str| json!({"client_id": owner, "name": name});
    let res = call_as(&app, &alice, reqwest::Method::POST, "/api/patients", &create("Alice's cat")).await;
    let alices_cat = id_of(&crate::helpers::expect_json(res, StatusCode::CREATED).await);
    let res = call_as(&app, &bob, reqwest::Method::POST, "/api/patients", &create("Bob's cat")).await;
    let bobs_cat = id_of(&crate::helpers::expect_json(res, StatusCode::CREATED).await);
    // REST refuses Bob Alice's cat.
    let res =
        app.anonymous(reqwest::Method::GET, &format!("/api/patients/{alices_cat}")).bearer_auth(&bob).send().await;
    let res = res.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let topics = [format!("patient:{alices_cat}"), format!("patient:{bobs_cat}")];
    let mut bobs = connect(&app, &bob).await;
    assert!(events(&subscribe(&mut bobs, &topics, None).await).is_empty());
    let mut alices = connect(&app, &alice).await;
    assert!(events(&subscribe(&mut alices, &topics[..1], None).await).is_empty());

    // Alice's cat changes, then Bob's. Frames come in log order, so had Bob been sent the
    // first change it would arrive before the second.
    let patch = |cat: &str, body: Value| {
        let app = &app;
        let path = format!("/api/patients/{cat}");
        async move { assert_eq!(app.patch_json(&path, &body).await.status(), StatusCode::OK) }
    };
    patch(&alices_cat, json!({"allergies": ["penicillin"], "behavior_notes": "bites when restrained"})).await;
    patch(&bobs_cat, json!({"color": "grey"})).await;
    let e = next(&mut bobs).await;
    assert_eq!((e["type"].as_str(), e["data"]["patient_id"].as_str()), (Some("patient_updated"), Some(&*bobs_cat)));
    // The creator does get her cat's change: its ids and changed fields, not the record.
    let e = next(&mut alices).await;
    assert_eq!(e["type"], "patient_updated");
    assert_eq!(
        e["data"],
        json!({"type": "patient_updated", "patient_id": alices_cat, "client_id": owner,
               "changed": ["allergies", "behavior_notes"]})
    );
    assert!(!e.to_string().contains("penicillin") && !e.to_string().contains("bites"), "{e}");
    drop((bobs, alices));

    // Replay filters the same way: Bob gets his cat's two events and nothing of Alice's.
    let mut bobs = connect(&app, &bob).await;
    let frames = subscribe(&mut bobs, &topics, Some(before)).await;
    let seen: Vec<(&str, &str)> = events(&frames)
        .iter()
        .map(|f| (f["type"].as_str().unwrap(), f["data"]["patient_id"].as_str().unwrap()))
        .collect();
    assert_eq!(seen, [("patient_created", &*bobs_cat), ("patient_updated", &*bobs_cat)], "{frames:?}");
    let mut alices = connect(&app, &alice).await;
    let frames = subscribe(&mut alices, &topics, Some(before)).await;
    let seen: Vec<&str> = events(&frames).iter().map(|f| f["data"]["patient_id"].as_str().unwrap()).collect();
    assert_eq!(seen, [&*alices_cat, &*alices_cat], "{frames:?}");
}

#[tokio::test]
async fn a_role_without_patients_view_sees_the_board_but_nothing_of_the_cats_record() {
    let c = Clinic::new().await;
    let app = &c.app;
    let secret = json!({"allergies": ["penicillin"], "behavior_notes": "bites when restrained"});
    assert_eq!(app.patch_json(&format!("/api/patients/{}", c.cat), &secret).await.status(), StatusCode::OK);
    custom_role(app, "calendar_only", &[("appointments:view", "all")]).await;
    let token = crate::access::staff_user(app, "desk", &["calendar_only"]).await;
    let before = app.last_event_seq().await;
    let leaks = |f: &Value| {
        let t = f.to_string();
        t.contains("penicillin") || t.contains("bites") || f["data"]["patient"].is_object()
    };

    let mut ws = connect(app, &token).await;
    send(&mut ws, json!({"op": "subscribe", "topics": [format!("patient:{}", c.cat)]})).await;
    assert_eq!(next(&mut ws).await["error"]["code"], "forbidden");
    let dashboard = [format!("dashboard:{}", c.location)];
    let frames = subscribe(&mut ws, &dashboard, None).await;
    assert_eq!(frames[0]["type"], "snapshot");
    assert!(!frames.iter().any(leaks), "{frames:?}");

    // The cat is booked, its record changes, it goes into the exam room.
    let id = id_of(&c.book(&c.wellness(&format!("{DAY}T09:00:00-05:00"))).await);
    assert_eq!(c.transition(&id, "checked_in").await.status(), StatusCode::OK);
    let more = json!({"behavior_notes": "bites when restrained; muzzle"});
    assert_eq!(app.patch_json(&format!("/api/patients/{}", c.cat), &more).await.status(), StatusCode::OK);
    assert_eq!(c.transition(&id, "in_progress").await.status(), StatusCode::OK);
    let mut live = Vec::new();
    loop {
        let f = next(&mut ws).await;
        let done = f["type"] == "room_state_changed" && f["data"]["status"]["state"] == "in_exam";
        live.push(f);
        if done {
            break;
        }
    }
    let check = |frames: &[Value]| {
        let kinds: Vec<&str> = events(frames).iter().map(|f| f["type"].as_str().unwrap()).collect();
        assert!(kinds.contains(&"appointment_booked") && kinds.contains(&"patient_checked_in"), "{kinds:?}");
        assert!(!kinds.iter().any(|k| k.starts_with("patient_") && *k != "patient_checked_in"), "{kinds:?}");
        assert!(!frames.iter().any(leaks), "{frames:?}");
        // The whiteboard names the cat in the room by its id only, as GET /api/rooms/board does.
        let board = events(frames).into_iter().find(|f| f["type"] == "room_state_changed").unwrap();
        assert_eq!(board["data"]["status"]["patient_id"], json!(c.cat));
    };
    check(&live);
    // And the same in a replay.
    let mut ws = connect(app, &token).await;
    check(&subscribe(&mut ws, &dashboard, Some(before)).await);
}

#[tokio::test]
async fn narrowing_a_role_stops_its_open_sockets_frames_at_once() {
    let c = Clinic::new().await;
    let app = &c.app;
    let role = custom_role(app, "cat_watchers", &[("patients:view", "all"), ("appointments:view", "all")]).await;
    let token = crate::access::staff_user(app, "watcher", &["cat_watchers"]).await;
    let mut ws = connect(app, &token).await;
    subscribe(&mut ws, &[format!("patient:{}", c.cat)], None).await;
    let path = format!("/api/patients/{}", c.cat);
    assert_eq!(app.patch_json(&path, &json!({"color": "grey"})).await.status(), StatusCode::OK);
    assert_eq!(next(&mut ws).await["type"], "patient_updated");

    // patients:view is taken away while the socket is open (its session stands).
    let narrowed = json!({"grants": [{"permission": "appointments:view", "scope": "all"}]});
    assert_eq!(app.patch_json(&format!("/api/roles/{role}"), &narrowed).await.status(), StatusCode::OK);
    assert_eq!(app.patch_json(&path, &json!({"color": "black"})).await.status(), StatusCode::OK);
    c.book(&c.wellness(&format!("{DAY}T09:00:00-05:00"))).await;
    // The next frame is the booking, which the role still may see: not the cat's change.
    assert_eq!(next(&mut ws).await["type"], "appointment_booked");
}
