//! Backups end to end: a real server backs up to a real directory on its schedule and on
//! demand; `clowder restore` (the real binary) restores to a point in time into an empty
//! directory, and the restored store serves; every bad input of a restore fails with its own
//! exit code and leaves nothing behind; a failing destination is reported, never hidden.

use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

pub(crate) struct Keys {
    pub(crate) identity: PathBuf,
    pub(crate) recipient: String,
}

pub(crate) fn keys(dir: &Path) -> Keys {
    let (identity, recipient) = clowder_ops::backup::crypt::generate();
    let path = dir.join("identity.txt");
    std::fs::write(&path, identity).unwrap();
    Keys { identity: path, recipient }
}

pub(crate) async fn backed_up(dest: &Path, recipient: &str) -> TestApp {
    let (dest, recipient) = (dest.to_owned(), recipient.to_owned());
    let app = TestApp::spawn_with(move |a| {
        a.backup.backup_dir = Some(dest);
        a.backup.backup_recipient = Some(recipient);
        // The schedule's first (full) backup runs at start; the test asks for the others.
        a.backup.backup_incremental_minutes = 600;
    })
    .await;
    app.login_admin().await;
    app
}

/// Waits until a first backup exists (the schedule's, at start) and none is running.
pub(crate) async fn first_backup(app: &TestApp) -> Value {
    app.poll_json("/api/backups", |v| {
        !v["status"]["last_success_at"].is_null() && !v["status"]["running"].as_bool().unwrap_or(true)
    })
    .await
}

pub(crate) fn restore(from: &Path, identity: &Path, to: &Path, at: Option<&str>) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_clowder"));
    cmd.args(["restore", "--from"]).arg(from).arg("--identity").arg(identity).arg("--data-dir").arg(to);
    if let Some(at) = at {
        cmd.args(["--at", at]);
    }
    cmd.env_remove("CLOWDER_BACKUP_DIR").output().expect("clowder restore runs")
}

pub(crate) fn text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_backs_up_on_schedule_and_on_demand_and_restores_to_a_point_in_time() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("offsite");
    let k = keys(tmp.path());
    let app = backed_up(&dest, &k.recipient).await;
    let first = first_backup(&app).await;
    assert_eq!(first["items"][0]["kind"], "full", "{first}");

    let early = app.some_client("Ada", "Early").await;
    let one = expect_json(app.post_json("/api/backups", &json!({})).await, StatusCode::CREATED).await;
    assert_eq!(one["kind"], "incremental");
    assert_eq!(one["previous"], first["items"][0]["id"]);
    assert_eq!(one["verification"]["ok"], true, "{one}");
    let after_one = one["to"]["events"].as_u64().unwrap();
    let late = app.some_client("Bea", "Late").await;
    // Asked twice with one Idempotency-Key (a retry after a lost answer): one backup.
    let ask = || {
        app.request(reqwest::Method::POST, "/api/backups")
            .header("Idempotency-Key", "before-upgrade")
            .json(&json!({}))
            .send()
    };
    let two = expect_json(ask().await.unwrap(), StatusCode::CREATED).await;
    assert_eq!(two["previous"], one["id"]);
    let again = ask().await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(expect_json(again, StatusCode::CREATED).await["id"], two["id"]);

    let list = app.get_json("/api/backups").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 3, "{list}");
    assert_eq!(list["items"][0]["id"], two["id"], "newest first");
    for item in list["items"].as_array().unwrap() {
        assert_eq!(item["verification"]["ok"], true, "{item}");
    }
    let health = app.get_json("/health/detailed").await;
    assert_eq!(health["backups"]["status"], "ok", "{health}");
    assert_eq!(health["status"], "ok");
    let metrics = app.metrics().await;
    assert!(metrics.contains("clowder_backup_enabled 1"), "{metrics}");
    assert!(!metrics.contains("clowder_backup_last_success_timestamp_seconds 0\n"), "{metrics}");
    // What is stored is encrypted: no client's name is readable in any object.
    for e in std::fs::read_dir(&dest).unwrap().flatten() {
        let bytes = std::fs::read(e.path()).unwrap();
        assert!(!bytes.windows(4).any(|w| w == b"Ada\0" || w == b"Late"), "{} leaks a name", e.path().display());
    }

    // Restore to the first increment (by event sequence): Early is there, Late is not.
    let at_one = tmp.path().join("restored-at-one");
    let out = restore(&dest, &k.identity, &at_one, Some(&after_one.to_string()));
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("both hash chains intact"), "{}", text(&out));
    // And to the newest: both.
    let newest = tmp.path().join("restored-newest");
    let out = restore(&dest, &k.identity, &newest, None);
    assert!(out.status.success(), "{}", text(&out));

    // `backup list` and `backup verify` work on the destination alone.
    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_clowder")).args(args).env("CLOWDER_BACKUP_DIR", &dest).output().unwrap()
    };
    let listed = cli(&["backup", "list"]);
    assert!(listed.status.success(), "{}", text(&listed));
    for id in [&first["items"][0]["id"], &one["id"], &two["id"]] {
        assert!(text(&listed).contains(id.as_str().unwrap()), "{id} listed: {}", text(&listed));
    }
    assert_eq!(text(&listed).matches("ok at").count(), 3, "{}", text(&listed));
    let two_id = two["id"].as_str().unwrap();
    let identity = k.identity.to_str().unwrap();
    let verified = cli(&["backup", "verify", two_id, "--identity", identity]);
    assert!(verified.status.success(), "{}", text(&verified));
    assert!(text(&verified).contains("3 backup(s) applied"), "{}", text(&verified));
    let stranger = keys(&tmp.path().join("stranger").tap_mkdir());
    let refused = cli(&["backup", "verify", two_id, "--identity", stranger.identity.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(4), "{}", text(&refused));
    app.stop().await;

    let dir = tempfile::TempDir::new_in(tmp.path()).unwrap();
    std::fs::remove_dir(dir.path()).unwrap();
    std::fs::rename(&at_one, dir.path()).unwrap();
    let restored = TestApp::spawn_in_with(dir, |_| {}).await;
    restored.login_admin().await;
    assert_eq!(restored.get(&format!("/api/clients/{early}")).await.status(), StatusCode::OK);
    assert_eq!(restored.get(&format!("/api/clients/{late}")).await.status(), StatusCode::NOT_FOUND);
    // The restored server takes writes and its audit trail verifies.
    restored.some_client("Cy", "After").await;
    let dir = restored.stop().await;
    let verify = Command::new(env!("CARGO_BIN_EXE_clowder"))
        .args(["audit", "verify", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", text(&verify));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restores_refuse_bad_input_with_their_exit_codes_and_leave_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("offsite");
    let k = keys(tmp.path());
    let app = backed_up(&dest, &k.recipient).await;
    first_backup(&app).await;
    app.some_client("Di", "One").await;
    let one = expect_json(app.post_json("/api/backups", &json!({})).await, StatusCode::CREATED).await;
    app.some_client("Ed", "Two").await;
    expect_json(app.post_json("/api/backups", &json!({})).await, StatusCode::CREATED).await;
    app.stop().await;
    let code = |o: &std::process::Output| o.status.code();

    // A directory that already holds something.
    let occupied = tmp.path().join("occupied");
    std::fs::create_dir_all(&occupied).unwrap();
    std::fs::write(occupied.join("clowder.redb"), b"a store").unwrap();
    let out = restore(&dest, &k.identity, &occupied, None);
    assert_eq!(code(&out), Some(2), "{}", text(&out));
    assert!(text(&out).contains("not empty"), "{}", text(&out));
    assert_eq!(std::fs::read(occupied.join("clowder.redb")).unwrap(), b"a store", "untouched");

    // Another key.
    let other = keys(&tmp.path().join("other-key").tap_mkdir());
    let target = tmp.path().join("wrong-key");
    let out = restore(&dest, &other.identity, &target, None);
    assert_eq!(code(&out), Some(4), "{}", text(&out));
    assert!(text(&out).contains("another key"), "{}", text(&out));
    assert!(!target.exists(), "nothing half-restored");

    // A point before the first backup, and a time that is not one.
    let out = restore(&dest, &k.identity, &tmp.path().join("too-early"), Some("2001-01-01T00:00:00Z"));
    assert_eq!(code(&out), Some(2), "{}", text(&out));
    let out = restore(&dest, &k.identity, &tmp.path().join("nonsense"), Some("yesterday"));
    assert_eq!(code(&out), Some(1), "{}", text(&out));

    // A damaged object: one byte flipped.
    let newest = newest_object(&dest);
    let good = std::fs::read(&newest).unwrap();
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x55;
    std::fs::write(&newest, &bad).unwrap();
    let target = tmp.path().join("damaged");
    let out = restore(&dest, &k.identity, &target, None);
    assert_eq!(code(&out), Some(5), "{}", text(&out));
    assert!(!target.exists());
    // Truncated.
    std::fs::write(&newest, &good[..good.len() - 100]).unwrap();
    let out = restore(&dest, &k.identity, &tmp.path().join("truncated"), None);
    assert_eq!(code(&out), Some(5), "{}", text(&out));
    std::fs::write(&newest, &good).unwrap();

    // An increment missing from the middle of the chain.
    let one_id = one["id"].as_str().unwrap();
    std::fs::remove_file(dest.join(format!("{one_id}.manifest.json"))).unwrap();
    std::fs::remove_file(dest.join(format!("{one_id}.clowder-backup"))).unwrap();
    let target = tmp.path().join("gap");
    let out = restore(&dest, &k.identity, &target, None);
    assert_eq!(code(&out), Some(6), "{}", text(&out));
    assert!(text(&out).contains("missing"), "{}", text(&out));
    assert!(!target.exists());

    // A destination that is not there.
    let out = restore(&tmp.path().join("nowhere"), &k.identity, &tmp.path().join("x"), None);
    assert_eq!(code(&out), Some(2), "{}", text(&out));
}

fn newest_object(dest: &Path) -> PathBuf {
    let mut objects: Vec<PathBuf> = std::fs::read_dir(dest)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".clowder-backup"))
        .collect();
    objects.sort();
    objects.pop().unwrap()
}

trait TapMkdir {
    fn tap_mkdir(self) -> Self;
}

impl TapMkdir for PathBuf {
    fn tap_mkdir(self) -> Self {
        std::fs::create_dir_all(&self).unwrap();
        self
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_destination_is_reported_and_never_counted_as_a_backup() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("offsite");
    let k = keys(tmp.path());
    let app = backed_up(&dest, &k.recipient).await;
    first_backup(&app).await;
    app.some_client("Flo", "Failing").await;
    // An administrator's board is open.
    let location = id_of(&app.get_json("/api/locations").await[0]);
    let mut board = crate::live::connect(&app, &app.token().unwrap()).await;
    crate::live::send(&mut board, json!({"op": "subscribe", "topics": [format!("dashboard:{location}")]})).await;
    while crate::live::next(&mut board).await["type"] != "subscribed" {}
    // The destination disappears and a file takes its place: nothing can be written there.
    std::fs::remove_dir_all(&dest).unwrap();
    std::fs::write(&dest, b"not a directory").unwrap();
    let err = assert_error(
        app.post_json("/api/backups", &json!({})).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "backup_failed",
        None,
    )
    .await;
    assert!(err["message"].as_str().unwrap().contains("backup failed"), "{err}");
    let health = app.get_json("/health/detailed").await;
    assert_eq!(health["backups"]["status"], "degraded", "{health}");
    assert_eq!(health["status"], "degraded");
    assert!(health["backups"]["last_failure"]["reason"].is_string(), "{health}");
    let metrics = app.metrics().await;
    assert!(metrics.contains("clowder_backup_failures_total{kind=\"incremental\"} 1"), "{metrics}");
    // The administrator's board hears of it at once.
    let frame = loop {
        let f = crate::live::next(&mut board).await;
        if f["type"] == "backup_failed" {
            break f;
        }
    };
    assert_eq!(frame["data"]["kind"], "incremental", "{frame}");
    let reason = frame["data"]["reason"].as_str().unwrap();
    assert!(reason.contains("offsite") && reason.contains("refused"), "names the destination and what it did: {frame}");
    // Back in place: the next backup goes through (and continues the chain from the last one stored).
    std::fs::remove_file(&dest).unwrap();
    std::fs::create_dir_all(&dest).unwrap();
    let ok = expect_json(app.post_json("/api/backups", &json!({"kind": "full"})).await, StatusCode::CREATED).await;
    assert_eq!(ok["kind"], "full");
    assert_eq!(app.get_json("/health/detailed").await["backups"]["status"], "ok");
}

#[tokio::test]
async fn backups_answer_clearly_when_not_configured_and_only_to_administrators() {
    let app = TestApp::signed_in().await;
    assert_error(app.get("/api/backups").await, StatusCode::CONFLICT, "backups_disabled", None).await;
    assert_error(app.post_json("/api/backups", &json!({})).await, StatusCode::CONFLICT, "backups_disabled", None).await;
    assert_error(
        app.post_json("/api/backups", &json!({"kind": "weekly"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("kind"),
    )
    .await;
    let health = app.get_json("/health/detailed").await;
    assert_eq!(health["backups"]["status"], "disabled");
}
