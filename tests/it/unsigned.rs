//! The vet's board learns live that a note has been unsigned for 24 hours, and that it no
//! longer is (signed, or its visit voided): `note_unsigned_due` and `note_unsigned_cleared` on
//! the location's `dashboard:` topic, ids only, for `visits:view` holders. Times come from the
//! import path (a visit opened 24 h ago, less a moment), so the test awaits the event, never
//! sleeps.

use clowder_schemas::audit::Caller;
use clowder_schemas::visits::{ImportVisit, VisitType};
use jiff::SignedDuration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::access::staff_user_with_id;
use crate::calendar::Clinic;
use crate::helpers::{expect_json, id_of};
use crate::live::{Socket, connect, next, send};
use crate::visits::{as_user, vet_with_account, walk_in};

/// Subscribes to the location's board and reads up to `subscribed`.
async fn board(c: &Clinic, token: &str) -> Socket {
    let mut ws = connect(&c.app, token).await;
    send(&mut ws, json!({"op": "subscribe", "topics": [format!("dashboard:{}", c.location)]})).await;
    while next(&mut ws).await["type"] != "subscribed" {}
    ws
}

/// Event frames until one of `kind` about `visit` (inclusive).
async fn until_event(ws: &mut Socket, kind: &str, visit: &str) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let v = next(ws).await;
        let done = v["type"] == kind && v["data"]["visit_id"] == visit;
        if v["seq"].is_u64() {
            out.push(v);
        }
        if done {
            return out;
        }
    }
}

/// Imports an unsigned visit of `c.cat` opened `ago` before now, with its board alert.
async fn imported(c: &Clinic, vet_staff: &str, ago: SignedDuration) -> String {
    let system = &c.app.system;
    let opened = system.ctx.clock.now().checked_sub(ago).unwrap();
    let visit = ImportVisit {
        patient_id: c.cat.parse().unwrap(),
        vet_id: vet_staff.parse().unwrap(),
        visit_type: VisitType::Sick,
        chief_complaint: "Not eating".into(),
        location_id: Some(c.location.parse().unwrap()),
        completed_at: None,
    };
    system.visits.import(opened, visit, Some(&system.jobs), &Caller::system()).await.unwrap().id.to_string()
}

#[tokio::test]
async fn a_note_unsigned_for_24_hours_alerts_the_board_live_until_it_is_signed_or_voided() {
    let c = Clinic::new().await;
    let (vet, vet_staff) = vet_with_account(&c.app, "dr.late").await;
    let (front, _) = staff_user_with_id(&c.app, "front.late", &["receptionist"]).await;
    let mut vet_ws = board(&c, &vet).await;
    let mut front_ws = board(&c, &front).await;

    // Opened 25 h ago: the alert is due at once. Opened 24 h ago less two seconds: due then.
    let old = imported(&c, &vet_staff, SignedDuration::from_hours(25)).await;
    let soon = imported(&c, &vet_staff, SignedDuration::from_hours(24) - SignedDuration::from_secs(2)).await;
    let frames = until_event(&mut vet_ws, "note_unsigned_due", &old).await;
    assert_eq!(frames.last().unwrap()["data"]["vet_id"], vet_staff.as_str());
    assert!(frames.last().unwrap()["data"].get("chief_complaint").is_none(), "ids only: {frames:?}");
    let frames = until_event(&mut vet_ws, "note_unsigned_due", &soon).await;
    assert!(frames.iter().all(|f| f["data"]["visit_id"] != old || f["type"] != "note_unsigned_cleared"));
    // The board's list (what it reloads on the event) now holds both.
    let res = as_user(&c.app, &vet, Method::GET, "/api/visits?unsigned_older_than=24h&vet_id=me", None).await;
    let listed: Vec<String> =
        expect_json(res, StatusCode::OK).await["items"].as_array().unwrap().iter().map(id_of).collect();
    assert!(listed.contains(&old) && listed.contains(&soon), "{listed:?}");

    // Signing takes one off the board, voiding the other.
    let res = as_user(&c.app, &vet, Method::POST, &format!("/api/visits/{soon}/note/sign"), Some(&json!({}))).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    until_event(&mut vet_ws, "note_unsigned_cleared", &soon).await;
    let res = c.app.post_json(&format!("/api/visits/{old}/void"), &json!({"reason": "opened in error"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    until_event(&mut vet_ws, "note_unsigned_cleared", &old).await;

    // A receptionist on the same board got none of it (the audience is `visits:view`): an
    // appointment booked now is the next frame after the ones it may see.
    let appt = c.book(&c.wellness(&format!("{}T15:00:00-05:00", crate::calendar::DAY))).await;
    loop {
        let f = next(&mut front_ws).await;
        assert!(!f["type"].as_str().unwrap_or("").starts_with("note_unsigned"), "{f}");
        if f["type"] == "appointment_booked" && f["data"]["appointment"]["id"] == appt["id"] {
            break;
        }
    }
}

#[tokio::test]
async fn a_walk_in_schedules_its_alert_24_hours_on_and_a_signed_note_never_raises_it() {
    let c = Clinic::new().await;
    let (vet, vet_user) = staff_user_with_id(&c.app, "dr.prompt", &["veterinarian"]).await;
    let body = json!({"first_name": "Prompt", "last_name": "Vet", "position": "veterinarian", "user_id": vet_user});
    let vet_staff = id_of(&expect_json(c.app.post_json("/api/staff", &body).await, StatusCode::CREATED).await);
    let before = c.app.system.ctx.clock.now();
    let visit = expect_json(
        as_user(&c.app, &vet, Method::POST, "/api/visits", Some(&walk_in(&c.cat, &vet_staff))).await,
        StatusCode::CREATED,
    )
    .await;
    let id = id_of(&visit);
    let jobs = c.app.get_json(&format!("/api/jobs?kind=note_unsigned_alert&subject=visit:{id}")).await;
    let jobs = jobs["items"].as_array().unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let due: jiff::Timestamp = jobs[0]["due_at"].as_str().unwrap().parse().unwrap();
    assert!(due >= before + SignedDuration::from_hours(24), "{due}");
    assert_eq!(jobs[0]["state"], "queued");

    // An appointment that goes in progress schedules the alert of the visit it opens.
    let appt = c.book(&c.wellness(&format!("{}T10:00:00-05:00", crate::calendar::DAY))).await;
    for to in ["checked_in", "in_progress"] {
        assert_eq!(c.transition(&id_of(&appt), to).await.status(), StatusCode::OK);
    }
    let jobs =
        c.app.get_json(&format!("/api/jobs?kind=note_unsigned_alert&subject=appointment:{}", id_of(&appt))).await;
    assert_eq!(jobs["items"].as_array().unwrap().len(), 1, "{jobs}");

    // An imported note signed a day after its visit: the board never showed it, and the
    // import is audited as one, by the system, saying when.
    let system = &c.app.system;
    let opened = system.ctx.clock.now().checked_sub(SignedDuration::from_hours(72)).unwrap();
    let v = ImportVisit {
        patient_id: c.cat.parse().unwrap(),
        vet_id: vet_staff.parse().unwrap(),
        visit_type: VisitType::Wellness,
        chief_complaint: "Annual exam".into(),
        location_id: None,
        completed_at: Some(opened + SignedDuration::from_mins(30)),
    };
    let v = system.visits.import(opened, v, None, &Caller::system()).await.unwrap();
    assert_eq!((v.opened_at, v.status.as_str()), (opened, "completed"));
    let soap = clowder_schemas::notes::Soap {
        subjective: "Doing well.".into(),
        objective: "Healthy.".into(),
        assessment: "Healthy cat.".into(),
        plan: "Next year.".into(),
    };
    let import = clowder_actors::clinical::notes::ImportNote { soap, signed_by: vet_user.parse().unwrap() };
    let signed_at = opened + SignedDuration::from_hours(2);
    let note = system.notes.import(v.id, signed_at, import, &Caller::system()).await.unwrap();
    assert_eq!((note.signed_at, note.signed_by.to_string()), (signed_at, vet_user.clone()));
    let audit = c.app.get_json(&format!("/api/audit?record_id={}&action=visit.import", v.id)).await;
    let entry = &audit["items"][0];
    assert_eq!(entry["detail"]["imported_as_of"], json!(opened));
    // The future is refused, and a note cannot be signed before its visit opened.
    let later = system.ctx.clock.now() + SignedDuration::from_hours(1);
    let v2 = ImportVisit {
        patient_id: c.cat.parse().unwrap(),
        vet_id: vet_staff.parse().unwrap(),
        visit_type: VisitType::Sick,
        chief_complaint: "Sneezing".into(),
        location_id: None,
        completed_at: None,
    };
    let e = system.visits.import(later, v2.clone(), None, &Caller::system()).await.unwrap_err();
    assert!(format!("{e:?}").contains("opened_at"), "{e:?}");
    let v2 = system.visits.import(opened, v2, None, &Caller::system()).await.unwrap();
    let import =
        clowder_actors::clinical::notes::ImportNote { soap: note.soap.clone(), signed_by: vet_user.parse().unwrap() };
    let e =
        system.notes.import(v2.id, opened - SignedDuration::from_mins(1), import, &Caller::system()).await.unwrap_err();
    assert!(format!("{e:?}").contains("signed_at"), "{e:?}");
}
