//! The exam-room whiteboard: room moves through HTTP, the room following its appointment
//! (check in to a room, start, complete), and the change reaching a subscribed screen.

use reqwest::StatusCode;
use serde_json::json;

use crate::calendar::{Clinic, DAY};
use crate::helpers::{UNKNOWN_ID, assert_error, expect_json, id_of};

#[tokio::test]
async fn rooms_move_only_along_the_whiteboard() {
    let c = Clinic::new().await;
    let app = &c.app;
    let board = app.get_json(&format!("/api/rooms/board?location_id={}", c.location)).await;
    assert_eq!(board.as_array().unwrap().len(), 2);
    assert!(board.as_array().unwrap().iter().all(|r| r["status"]["state"] == "free"));
    let path = format!("/api/rooms/{}/state", c.exam);
    // A tablet in the room follows it live.
    let mut tablet = crate::live::connect(app, &app.token().unwrap()).await;
    crate::live::send(&mut tablet, json!({"op": "subscribe", "topics": [format!("room:{}", c.exam)]})).await;
    assert_eq!(crate::live::next(&mut tablet).await["type"], "subscribed");
    let res = app.post_json(&path, &json!({"to": "in_exam"})).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("patient_id")).await;
    let s = expect_json(
        app.post_json(&path, &json!({"to": "in_exam", "patient_id": c.cat, "staff_ids": [c.vet]})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!((s["state"].as_str(), s["patient_id"].as_str()), (Some("in_exam"), Some(c.cat.as_str())));
    assert_eq!(s["staff_ids"], json!([c.vet]));
    let live = crate::live::next(&mut tablet).await;
    assert_eq!(
        (live["type"].as_str(), live["data"]["status"]["state"].as_str()),
        (Some("room_state_changed"), Some("in_exam"))
    );
    let res = app.post_json(&path, &json!({"to": "free"})).await;
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_transition");
    assert_eq!(body["error"]["details"]["allowed"], json!(["needs_cleaning"]));
    let s = expect_json(app.post_json(&path, &json!({"to": "needs_cleaning"})).await, StatusCode::OK).await;
    assert!(s["patient_id"].is_null(), "the cat has left");
    expect_json(app.post_json(&path, &json!({"to": "out_of_service"})).await, StatusCode::OK).await;
    expect_json(app.post_json(&path, &json!({"to": "free"})).await, StatusCode::OK).await;
    let res = app.post_json(&format!("/api/rooms/{UNKNOWN_ID}/state"), &json!({"to": "free"})).await;
    assert_error(res, StatusCode::NOT_FOUND, "room_not_found", None).await;
    let res = app.post_json(&path, &json!({"to": "sparkling"})).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_room_follows_its_appointment_from_check_in_to_cleaning() {
    let c = Clinic::new().await;
    let app = &c.app;
    let mut body = c.wellness(&format!("{DAY}T09:00:00-05:00"));
    body["room_id"] = json!(null);
    let a = c.book(&body).await;
    let id = id_of(&a);
    let path = format!("/api/appointments/{id}/transition");
    let checked =
        expect_json(app.post_json(&path, &json!({"to": "checked_in", "room_id": c.exam})).await, StatusCode::OK).await;
    assert_eq!(checked["room_id"], json!(c.exam), "checking in assigned the room");
    let room = |board: &serde_json::Value| {
        board.as_array().unwrap().iter().find(|r| r["room"]["id"] == json!(c.exam)).unwrap()["status"].clone()
    };
    let s = room(&app.get_json("/api/rooms/board").await);
    assert_eq!((s["state"].as_str(), s["patient_id"].as_str()), (Some("patient_waiting"), Some(c.cat.as_str())));
    assert_eq!(s["appointment_id"], json!(id));
    expect_json(app.post_json(&path, &json!({"to": "in_progress"})).await, StatusCode::OK).await;
    let s = room(&app.get_json("/api/rooms/board").await);
    assert_eq!(s["state"], "in_exam");
    assert_eq!(s["staff_ids"], json!([c.vet]), "the vet is in the room");
    expect_json(app.post_json(&path, &json!({"to": "completed"})).await, StatusCode::OK).await;
    assert_eq!(room(&app.get_json("/api/rooms/board").await)["state"], "needs_cleaning");
    // A room is only named when checking in.
    let res = app
        .post_json(&format!("/api/appointments/{id}/transition"), &json!({"to": "completed", "room_id": c.exam}))
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("room_id")).await;
}
