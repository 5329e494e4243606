//! The Today board in a real browser: headless Chromium (Debian's package) driven by
//! playwright-core through `tests/browser/board.mjs`. Two staff members sign in on their own
//! pages; one checks a patient in to a room, and the other's board shows the check-in and the
//! room's new state without a reload within a second; then the room's tablet page shows the
//! cat's banner (with its allergy) and starts the exam, and the first board follows; once its
//! session ends, the tablet asks for a PIN, and the vet's PIN unlocks it.
//! Screenshots of the pages are left in `tests/browser/artifacts/`.
//!
//! `scripts/test` installs Chromium and playwright-core when missing and sets
//! `CLOWDER_BROWSER_TESTS=1`, which makes a missing browser a failure; a plain `cargo test`
//! on a machine without them skips this test with a message.

use std::path::Path;

use serde_json::json;

use crate::calendar::Clinic;
use crate::helpers::id_of;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_boards_show_a_check_in_to_a_room_within_a_second() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let browser_dir = root.join("tests/browser");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let ready = Path::new(&chromium).exists() && browser_dir.join("node_modules/playwright-core").exists();
    if !ready {
        assert!(
            std::env::var("CLOWDER_BROWSER_TESTS").is_err(),
            "Chromium ({chromium}) or playwright-core is missing; scripts/test installs them"
        );
        eprintln!("skipping the browser test: run scripts/test to install Chromium and playwright-core");
        return;
    }
    let c = Clinic::new().await;
    // An appointment starting now, so it is on today's board whatever the hour.
    let now = clowder_actors::Clock::now(&clowder_actors::SystemClock) - jiff::SignedDuration::from_secs(2);
    let now = now.round(jiff::TimestampRound::new().smallest(jiff::Unit::Second)).unwrap();
    let mut body = c.wellness(&now.to_string());
    body["room_id"] = json!(null);
    let a = c.book(&body).await;
    let res = c.app.patch_json(&format!("/api/patients/{}", c.cat), &json!({"allergies": ["penicillin"]})).await;
    assert!(res.status().is_success());
    crate::access::staff_user(&c.app, "rita", &["receptionist"]).await;
    let vic = crate::access::staff_user(&c.app, "vic", &["veterinarian"]).await;
    // Vic's PIN, and a registered tablet for the exam room.
    let res = c
        .app
        .anonymous(reqwest::Method::PUT, "/api/auth/pin")
        .bearer_auth(&vic)
        .json(&json!({"password": crate::access::NEW_PASSWORD, "pin": "4826"}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let device = c.app.post_json("/api/devices", &json!({"name": "Exam 1 tablet"})).await;
    let device: serde_json::Value = device.json().await.unwrap();
    let credential = device["credential"].as_str().expect("a credential").to_owned();
    let artifacts = browser_dir.join("artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let out = tokio::process::Command::new("node")
        .arg(browser_dir.join("board.mjs"))
        .env("BASE_URL", format!("http://{}", c.app.addr))
        .env("USER_A", "rita")
        .env("USER_B", "vic")
        .env("PASSWORD", crate::access::NEW_PASSWORD)
        .env("APPOINTMENT", id_of(&a))
        .env("ROOM", &c.exam)
        .env("PATIENT_NAME", "Mittens")
        .env("ALLERGY", "penicillin")
        .env("DEVICE", &credential)
        .env("PIN", "4826")
        .env("ARTIFACTS", &artifacts)
        .env("CHROMIUM", &chromium)
        .output()
        .await
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the browser test failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("\"ok\":true"), "{stdout}\n{stderr}");
    assert!(artifacts.join("board-vet.png").exists() && artifacts.join("board-front-desk.png").exists());
    // The server agrees with what the pages showed.
    let room = c.app.get_json("/api/rooms/board").await;
    let exam = room.as_array().unwrap().iter().find(|r| r["room"]["id"] == json!(c.exam)).unwrap();
    assert_eq!(exam["status"]["state"], "needs_cleaning", "the tablet, unlocked by PIN, finished the exam");
    assert!(artifacts.join("tablet.png").exists());
}
