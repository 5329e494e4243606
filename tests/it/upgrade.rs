//! Upgrades: a store written by an earlier build opens in this one. Each
//! `tests/fixtures/store-*/` holds a `clowder.redb` made by `scripts/make-fixture-store` with
//! the format of its day and an `expected.json` of what it holds; the test copies it into a
//! temporary data directory, checks both hash chains from the first entry, starts the real
//! server on it, reads the records back, writes, and checks the chains again. A new record
//! version or layout adds a fixture and keeps the old ones (docs/store.md, "Upgrades").

use std::path::{Path, PathBuf};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, client_body, expect_json, id_of};

/// The fixture directories, oldest first.
fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("store-")))
        .collect();
    found.sort();
    assert!(!found.is_empty(), "no tests/fixtures/store-* directory");
    found
}

/// A list's items, whether the route answers a page (`items`, `next_cursor`) or an array.
async fn list_len(app: &TestApp, path: &str) -> usize {
    let first = app.get_json(path).await;
    if first.is_array() { first.as_array().map_or(0, Vec::len) } else { app.walk(path, 200).await.len() }
}

/// Copies the fixture's store into a fresh temporary data directory.
fn copy_of(fixture: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::copy(fixture.join("clowder.redb"), dir.path().join("clowder.redb"))
        .unwrap_or_else(|e| panic!("{}: {e}", fixture.display()));
    dir
}

fn verify_chains(data_dir: &Path) -> clowder_actors::store::VerifyReport {
    clowder_actors::store::verify_all(&data_dir.join("clowder.redb")).expect("both hash chains verify")
}

#[tokio::test]
async fn stores_written_by_earlier_builds_open_read_and_accept_writes() {
    for fixture in fixtures() {
        let name = fixture.display().to_string();
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(fixture.join("expected.json")).unwrap_or_else(|e| panic!("{name}: {e}")),
        )
        .unwrap_or_else(|e| panic!("{name}/expected.json: {e}"));

        let dir = copy_of(&fixture);
        let before = verify_chains(dir.path());
        assert!(before.events > 0 && before.audit_entries > 0, "{name}: an empty history");

        let password = expected["admin_password"].as_str().expect("admin_password").to_owned();
        let app = TestApp::spawn_in_with(dir, |args| args.admin_password = Some(password.as_str().into())).await;
        app.login_admin().await;

        let detailed = app.get_json("/health/detailed").await;
        assert_eq!(detailed["status"], "ok", "{name}: {detailed}");
        assert_eq!(detailed["store"]["clinic_id"], expected["clinic_id"], "{name}: the store keeps its clinic");
        // Start-up may append (built-in roles brought up to date), never lose.
        let seq = detailed["store"]["last_event_seq"].as_u64().expect("last_event_seq");
        assert!(seq >= before.events, "{name}: the store opened at event {seq}, the fixture holds {}", before.events);

        for list in expected["lists"].as_array().expect("lists") {
            let path = list["path"].as_str().expect("a list path");
            let at_least = list["at_least"].as_u64().expect("at_least") as usize;
            let got = list_len(&app, path).await;
            assert!(got >= at_least, "{name}: {path} lists {got} records, the fixture holds {at_least}");
        }
        let records = expected["records"].as_array().expect("records");
        assert!(!records.is_empty(), "{name}: no records to read back");
        for record in records {
            let path = record["path"].as_str().expect("a record path");
            let got = app.get_json(path).await;
            for (field, value) in record["fields"].as_object().expect("fields") {
                assert_eq!(&got[field], value, "{name}: {path} field {field}: {got}");
            }
        }

        // Writes: a new client, and a change to a client the old build wrote (read through
        // its version's upcaster, written back at the current version).
        let created = app.create_client(client_body("Upgrade", "Check")).await;
        let old_client = expected["records"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["path"].as_str().is_some_and(|p| p.starts_with("/api/clients/"))))
            .and_then(|r| r["path"].as_str())
            .expect("a fixture client")
            .to_owned();
        let patched =
            expect_json(app.patch_json(&old_client, &json!({"notes": "seen after an upgrade"})).await, StatusCode::OK)
                .await;
        assert_eq!(patched["notes"], "seen after an upgrade", "{name}");
        assert_eq!(app.get_json(&format!("/api/clients/{}", id_of(&created))).await["last_name"], "Check");

        let dir = app.stop().await;
        let after = verify_chains(dir.path());
        assert!(after.events > before.events, "{name}: the writes extend the event log");
        assert!(after.audit_entries > before.audit_entries, "{name}: and the audit trail");
    }
}

#[tokio::test]
async fn a_store_from_before_the_active_prescriptions_index_lists_its_active_ones() {
    // store-v2 holds one active prescription and no `active_prescriptions_by_patient` rows: the
    // start fills the index from the table, so the chart and `?status=active` still find it.
    let fixture = fixtures().into_iter().find(|f| f.ends_with("store-v2")).expect("store-v2");
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture.join("expected.json")).unwrap()).unwrap();
    let password = expected["admin_password"].as_str().unwrap().to_owned();
    let app =
        TestApp::spawn_in_with(copy_of(&fixture), |args| args.admin_password = Some(password.as_str().into())).await;
    app.login_admin().await;
    let rx = app.get_json("/api/prescriptions/01M943EKQWKCK8ABMJENH4H70T").await;
    assert_eq!(rx["status"], "active", "{rx}");
    let cat = rx["patient_id"].as_str().unwrap();
    let active = app.get_json(&format!("/api/patients/{cat}/prescriptions?status=active")).await;
    assert_eq!(crate::helpers::page_ids(&active), [id_of(&rx)]);
    let chart = app.get_json(&format!("/api/patients/{cat}/chart")).await;
    assert_eq!(chart["medications"][0]["id"], rx["id"], "{chart}");
}
