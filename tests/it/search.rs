//! Search through the real server: a change is searchable moments after its 2xx; typos,
//! sounds, prefixes, phones and microchips find records; bad input is text or a clear 422;
//! permissions narrow what is found; history and recently viewed are kept per user; the index
//! is rebuilt when missing, catches up after a restart, and `clowder reindex` rebuilds it.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::access::staff_user;
use crate::helpers::{TestApp, assert_error, client_body, expect_json, id_of};

/// How long a test waits for a change to become searchable. The promise is well under a
/// second (measured by the search load scenario and `docs/search.md`: 4–55 ms on a debug
/// build); a test only waits, with a deadline generous enough for a machine busy building
/// and testing, so it fails when indexing stops, not when the machine is slow.
const SEARCHABLE_WITHIN: Duration = Duration::from_secs(15);

fn search_path(q: &str, extra: &str) -> String {
    let mut url = reqwest::Url::parse("http://x/api/search").unwrap();
    url.query_pairs_mut().append_pair("q", q);
    format!("{}?{}{extra}", url.path(), url.query().unwrap())
}

async fn search(app: &TestApp, q: &str, extra: &str) -> Vec<Value> {
    let answer = expect_json(app.get(&search_path(q, extra)).await, StatusCode::OK).await;
    answer["hits"].as_array().unwrap().clone()
}

fn ids(hits: &[Value]) -> Vec<String> {
    hits.iter().map(|h| h["id"].as_str().unwrap().to_owned()).collect()
}

/// Polls until `check` holds for the hits of `q`, failing after `within`.
async fn wait_for(
    app: &TestApp,
    q: &str,
    extra: &str,
    within: Duration,
    check: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + within;
    loop {
        let hits = search(app, q, extra).await;
        if check(&hits) {
            return hits;
        }
        assert!(Instant::now() < deadline, "{q:?} did not give the expected hits within {within:?}: {hits:#?}");
        tokio::task::yield_now().await;
    }
}

fn contains(id: &str) -> impl Fn(&[Value]) -> bool + '_ {
    move |hits| hits.iter().any(|h| h["id"] == id)
}

/// John Smith with Mittens (microchipped), and Zoë Lefèvre with Smudge.
struct Family {
    john: String,
    mittens: String,
    zoe: String,
    chip: &'static str,
}

async fn family(app: &TestApp) -> Family {
    let john = id_of(
        &app.create_client(json!({"first_name": "John", "last_name": "Smith", "phone": "503-555-0142",
                                   "email": "john.smith@example.com"}))
            .await,
    );
    let chip = "985141000123456";
    let mittens = id_of(
        &app.create_patient(json!({"client_id": john, "name": "Mittens", "breed": "Maine Coon",
                                    "color": "Brown tabby", "microchip": chip}))
            .await,
    );
    let zoe =
        id_of(&app.create_client(json!({"first_name": "Zoë", "last_name": "Lefèvre", "phone": "503-555-0199"})).await);
    app.create_patient(json!({"client_id": zoe, "name": "Smudge"})).await;
    Family { john, mittens, zoe, chip }
}

#[tokio::test]
async fn a_new_client_is_searchable_within_a_second_by_typo_sound_prefix_phone_and_chip() {
    let app = TestApp::signed_in().await;
    let f = family(&app).await;
    // The last record created; once it is searchable, so are the others.
    wait_for(&app, "smudge", "", SEARCHABLE_WITHIN, |h| !h.is_empty()).await;

    let hits = search(&app, "Jon Smyth", "").await;
    assert_eq!(hits[0]["id"], f.john.as_str(), "{hits:#?}");
    assert_eq!(hits[0]["kind"], "client");
    assert_eq!(hits[0]["label"], "Smith, John");
    assert_eq!(hits[0]["status"], "active");
    let name = &hits[0]["highlights"][0];
    assert_eq!(name["field"], "name");
    let marked: Vec<&str> = name["fragments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["matched"] == true)
        .map(|f| f["text"].as_str().unwrap())
        .collect();
    assert_eq!(marked, ["John", "Smith"]);

    let hits = search(&app, "smith mitt", "").await;
    assert_eq!(ids(&hits), std::slice::from_ref(&f.mittens));
    assert_eq!(hits[0]["kind"], "patient");
    assert_eq!(hits[0]["owner"], json!({"id": f.john, "label": "Smith, John"}));

    for q in ["0142", "503-555-0142", "+1 (503) 555-0142", "john.smith@EXAMPLE.com"] {
        assert_eq!(search(&app, q, "").await[0]["id"], f.john.as_str(), "{q}");
    }
    let hits = search(&app, f.chip, "").await;
    assert_eq!(ids(&hits), std::slice::from_ref(&f.mittens));
    assert_eq!(hits[0]["highlights"][0]["field"], "microchip");
    assert_eq!(search(&app, "zoe", "").await[0]["id"], f.zoe.as_str());
    assert_eq!(search(&app, "lefevre", "&kind=client").await.len(), 1);
    assert!(search(&app, "lefevre", "&kind=patient").await.iter().all(|h| h["kind"] == "patient"));
}

#[tokio::test]
async fn changes_renames_and_deactivation_reach_the_index() {
    let app = TestApp::signed_in().await;
    let f = family(&app).await;
    wait_for(&app, "mittens", "", SEARCHABLE_WITHIN, contains(&f.mittens)).await;

    // Renaming the owner relabels their cat.
    let res = app.patch_json(&format!("/api/clients/{}", f.john), &json!({"last_name": "Smithson"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let hits = wait_for(&app, "mittens smithson", "", SEARCHABLE_WITHIN, contains(&f.mittens)).await;
    assert_eq!(hits[0]["label"], "Mittens (Smithson, John)");

    // A deactivated cat leaves the default search but is found when asked for.
    let res = app.delete(&format!("/api/patients/{}", f.mittens)).await;
    assert_eq!(res.status(), StatusCode::OK);
    wait_for(&app, "mittens", "", SEARCHABLE_WITHIN, |h| h.is_empty()).await;
    let hits = search(&app, "mittens", "&status=inactive").await;
    assert_eq!((ids(&hits), hits[0]["status"].clone()), (vec![f.mittens.clone()], json!("inactive")));
    assert_eq!(search(&app, "mittens", "&status=all").await.len(), 1);
    assert!(search(&app, "mittens", "&status=deceased").await.is_empty());

    // A cat who died is found only among the deceased, and says so.
    let smudge = search(&app, "smudge", "").await[0]["id"].as_str().unwrap().to_owned();
    let res = app.patch_json(&format!("/api/patients/{smudge}"), &json!({"status": "deceased"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    wait_for(&app, "smudge", "", SEARCHABLE_WITHIN, |h| h.is_empty()).await;
    let hits = search(&app, "smudge", "&status=deceased").await;
    assert_eq!((ids(&hits), hits[0]["status"].clone()), (vec![smudge], json!("deceased")));
}

#[tokio::test]
async fn bad_input_is_plain_text_or_a_clear_422() {
    let app = TestApp::signed_in().await;
    let f = family(&app).await;
    wait_for(&app, "smudge", "", SEARCHABLE_WITHIN, |h| !h.is_empty()).await;
    for q in ["", "   ", "\"", "*", ":", "(", ")", "AND", "OR NOT", "name:smith~2^3", "[a TO z]", "\\", "🐈", "\u{0}"]
    {
        let res = app.get(&search_path(q, "")).await;
        assert_eq!(res.status(), StatusCode::OK, "{q:?}");
    }
    assert!(search(&app, "", "").await.is_empty());
    assert_eq!(search(&app, "\"smith\": (john*", "").await[0]["id"], f.john.as_str());

    assert_error(
        app.get(&search_path(&"a".repeat(257), "")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("q"),
    )
    .await;
    assert_error(
        app.get(&search_path(&"x".repeat(10 * 1024), "")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("q"),
    )
    .await;
    // 256 characters (not bytes) are fine.
    assert_eq!(app.get(&search_path(&"é".repeat(256), "")).await.status(), StatusCode::OK);
    for (extra, field) in [
        ("&kind=invoice", "kind"),
        ("&status=gone", "status"),
        ("&limit=0", "limit"),
        ("&limit=51", "limit"),
        ("&limit=x", "limit"),
    ] {
        let res = app.get(&search_path("smith", extra)).await;
        assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
    }
    assert_eq!(search(&app, "s", "&limit=1&status=all").await.len(), 0, "one letter is a prefix of nothing here");
    assert_eq!(search(&app, "smi", "&limit=1").await.len(), 1);
}

#[tokio::test]
async fn what_is_found_follows_the_callers_permissions() {
    let app = TestApp::signed_in().await;
    let f = family(&app).await;
    wait_for(&app, "smudge", "", SEARCHABLE_WITHIN, |h| !h.is_empty()).await;

    // Billing sees clients, not cats.
    let billing = staff_user(&app, "bea.billing", &["billing"]).await;
    let as_billing = |path: String| app.anonymous(Method::GET, &path).bearer_auth(&billing).send();
    let answer = expect_json(as_billing(search_path("smith", "")).await.unwrap(), StatusCode::OK).await;
    let kinds: Vec<&str> = answer["hits"].as_array().unwrap().iter().map(|h| h["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["client"]);
    let res = as_billing(search_path("smith", "&kind=patient")).await.unwrap();
    let body = assert_error(res, StatusCode::FORBIDDEN, "forbidden", None).await;
    assert!(body["message"].as_str().unwrap().contains("patients:view"));

    // A role that sees only the clients its holder registered.
    let res = app
        .post_json(
            "/api/roles",
            &json!({"name": "intake", "grants": [{"permission": "clients:view", "scope": "own"},
                                                                      {"permission": "clients:create"}]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap());
    let intake = staff_user(&app, "ida.intake", &["intake"]).await;
    let res = app
        .anonymous(Method::POST, "/api/clients")
        .bearer_auth(&intake)
        .json(&client_body("Jonas", "Smith"))
        .send()
        .await
        .unwrap();
    let jonas = id_of(&expect_json(res, StatusCode::CREATED).await);
    wait_for(&app, "jonas", "", SEARCHABLE_WITHIN, contains(&jonas)).await;
    let res = app.anonymous(Method::GET, &search_path("smith", "")).bearer_auth(&intake).send().await.unwrap();
    let answer = expect_json(res, StatusCode::OK).await;
    assert_eq!(ids(answer["hits"].as_array().unwrap()), std::slice::from_ref(&jonas), "only their own client");

    // Nobody without a view permission searches at all.
    let res = app
        .post_json("/api/roles", &json!({"name": "kennel_hand", "grants": [{"permission": "appointments:view"}]}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let kennel = staff_user(&app, "ken.kennel", &["kennel_hand"]).await;
    let res = app.anonymous(Method::GET, &search_path("smith", "")).bearer_auth(&kennel).send().await.unwrap();
    assert_error(res, StatusCode::FORBIDDEN, "forbidden", None).await;
    let _ = f;
}

#[tokio::test]
async fn history_and_recently_viewed_are_kept_per_user() {
    let app = TestApp::signed_in().await;
    let f = family(&app).await;
    wait_for(&app, "smudge", "", SEARCHABLE_WITHIN, |h| !h.is_empty()).await;
    // Typing one letter at a time leaves one entry.
    for q in ["m", "mi", "mit", "mitt"] {
        search(&app, q, "").await;
    }
    search(&app, "zoe", "&kind=client").await;
    let history = app.get_json("/api/search/history").await;
    let queries: Vec<&str> =
        history["items"].as_array().unwrap().iter().map(|e| e["query"].as_str().unwrap()).collect();
    assert_eq!(queries[..2], ["zoe", "mitt"], "{history:#}");
    assert_eq!(history["items"][0]["kind"], "client");
    for i in 0..25 {
        search(&app, &format!("query{i:02} x"), "").await;
    }
    let history = app.get_json("/api/search/history").await;
    assert_eq!(history["items"].as_array().unwrap().len(), 20);
    assert_eq!(history["items"][0]["query"], "query24 x");

    app.get(&format!("/api/clients/{}", f.zoe)).await;
    app.get(&format!("/api/patients/{}", f.mittens)).await;
    app.get(&format!("/api/clients/{}", f.zoe)).await;
    // A record shown in passing (the owner on a cat's page) does not count as opened.
    let res = app.get(&format!("/api/clients/{}?recent=false", f.john)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.get(&format!("/api/patients/{}?recent=nope", f.mittens)).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("recent")).await;
    let recent = app.get_json("/api/recent").await;
    let items = recent["items"].as_array().unwrap();
    assert_eq!(ids(items), [f.zoe.clone(), f.mittens.clone()]);
    assert_eq!(items[1]["label"], "Mittens (Smith, John)");
    assert_eq!(items[1]["owner"]["id"], f.john.as_str());

    // Another user has lists of their own.
    let rita = staff_user(&app, "rita", &["receptionist"]).await;
    for path in ["/api/search/history", "/api/recent"] {
        let res = app.anonymous(Method::GET, path).bearer_auth(&rita).send().await.unwrap();
        let body = expect_json(res, StatusCode::OK).await;
        assert_eq!(body["items"], json!([]), "{path}");
    }

    // Both outlive a restart; clearing the history empties it.
    let dir = app.stop().await;
    let app = TestApp::spawn_with(|args| args.data_dir = dir.path().into()).await;
    app.login_admin().await;
    assert_eq!(app.get_json("/api/search/history").await["items"].as_array().unwrap().len(), 20);
    assert_eq!(ids(app.get_json("/api/recent").await["items"].as_array().unwrap()), [f.zoe.clone(), f.mittens.clone()]);
    assert_eq!(app.delete("/api/search/history").await.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get_json("/api/search/history").await["items"], json!([]));
}

#[tokio::test]
async fn the_index_is_rebuilt_when_missing_and_catches_up_after_a_restart() {
    let app = TestApp::signed_in().await;
    let f = family(&app).await;
    wait_for(&app, "smudge", "", SEARCHABLE_WITHIN, |h| !h.is_empty()).await;
    // The first server's directory guard keeps the data directory; later servers started on
    // it hand back guards of their own, unused, directories.
    let guard = app.stop().await;
    let data = guard.path().to_owned();
    let restart = || async {
        let app = TestApp::spawn_with(|args| args.data_dir = data.clone()).await;
        app.login_admin().await;
        app
    };
    let index = data.join("index");
    let saved = data.join("index-before");
    copy_dir(&index, &saved);

    // A client added after the saved copy: the old index has not seen them.
    let app = restart().await;
    let late = id_of(&app.create_client(client_body("Ottoline", "Quist")).await);
    wait_for(&app, "ottoline", "", SEARCHABLE_WITHIN, contains(&late)).await;
    app.stop().await;

    // Behind the store: the events after its last commit are replayed at start.
    std::fs::remove_dir_all(&index).unwrap();
    std::fs::rename(&saved, &index).unwrap();
    let app = restart().await;
    assert_eq!(ids(&search(&app, "ottoline", "").await), std::slice::from_ref(&late));
    app.stop().await;

    // Missing: rebuilt from the store.
    std::fs::remove_dir_all(&index).unwrap();
    let app = restart().await;
    assert_eq!(ids(&search(&app, "ottoline", "").await), std::slice::from_ref(&late));
    assert_eq!(search(&app, "jon smyth", "").await[0]["id"], f.john.as_str());
    let health = app.get_json("/health/detailed").await;
    let search_health =
        health["components"].as_array().unwrap().iter().find(|c| c["name"] == "search").unwrap().clone();
    assert_eq!(search_health["ok"], true);
    app.stop().await;

    // `clowder reindex` rebuilds it with the server stopped.
    let reindex = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_clowder"))
            .args(["reindex", "--data-dir"])
            .arg(&data)
            .output()
            .unwrap()
    };
    let out = reindex();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("search index rebuilt") && stdout.contains("3 clients and 2 patients"), "{stdout}");
    let app = restart().await;
    assert_eq!(ids(&search(&app, "ottoline", "").await), std::slice::from_ref(&late));

    // Not while the server runs: the store is in use.
    let out = reindex();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("clowder:"), "a clear message");
    app.stop().await;
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        // The writer lock file is left behind: a copy must not look locked.
        if entry.file_name().to_string_lossy().ends_with(".lock") {
            continue;
        }
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[tokio::test]
async fn a_phone_typed_from_its_start_finds_the_client_after_exact_numbers() {
    let app = TestApp::signed_in().await;
    let reader = id_of(
        &app.create_client(json!({"first_name": "Rita", "last_name": "Caller", "phone": "+1 508 555 0142"})).await,
    );
    // Her number's local part is someone else's whole number ending: exact ranks first.
    let exact =
        id_of(&app.create_client(json!({"first_name": "Ed", "last_name": "Exact", "phone": "+1 617 555 0142"})).await);
    wait_for(&app, "exact", "", SEARCHABLE_WITHIN, |h| !h.is_empty()).await;

    for q in ["508555", "50855501", "(508) 555", "508-555-01", "+1 508 555", "1508", "5085550142"] {
        let hits = search(&app, q, "").await;
        assert_eq!(ids(&hits), std::slice::from_ref(&reader), "{q}");
        assert_eq!(hits[0]["highlights"][0]["field"], "phone", "{q}: {hits:#?}");
    }
    // Both start their local number with 555 014; the one whose number is 6175550142 in full
    // comes first when typed whole.
    let hits = ids(&search(&app, "555014", "").await);
    assert!(hits.contains(&reader) && hits.contains(&exact), "{hits:?}");
    assert_eq!(ids(&search(&app, "617 555 0142", "").await)[0], exact);
    assert_eq!(ids(&search(&app, "617", "").await), [exact]);
}
