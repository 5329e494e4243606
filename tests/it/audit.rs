//! The audit trail: every sign-in (and failed attempt), sign-out, and every read or write
//! of a client or patient leaves a hash-chained entry with who, what, when, from where and
//! why; `clowder audit verify` names a broken link.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, client_body, id_of};

async fn entries(app: &TestApp, query: &str) -> Vec<Value> {
    let page = app.get_json(&format!("/api/audit?{query}")).await;
    page["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn reads_and_writes_of_records_are_audited_with_who_where_and_why() {
    let app = TestApp::signed_in().await;
    let client = app.create_client(client_body("Ada", "Lovelace")).await;
    let id = id_of(&client);
    let res = app
        .request(reqwest::Method::GET, &format!("/api/clients/{id}"))
        .header("x-clowder-reason", "owner called about the bill")
        .header("x-request-id", "req-audit-1")
        .header("user-agent", "front-desk-pc")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let mine = entries(&app, &format!("record_id={id}")).await;
    let actions: Vec<&str> = mine.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["client.read", "client.create"], "newest first");
    let read = &mine[0];
    assert_eq!(read["username"], "admin");
    assert_eq!(read["actor"]["type"], "user");
    assert_eq!(read["record_kind"], "client");
    assert_eq!(read["reason"], "owner called about the bill");
    assert_eq!(read["request_id"], "req-audit-1");
    assert_eq!(read["user_agent"], "front-desk-pc");
    assert_eq!(read["ip"], "127.0.0.1");
    assert_eq!(read["outcome"], "success");
    assert_eq!(read["hash"].as_str().unwrap().len(), 64);

    let cat = app.create_patient(json!({"client_id": id, "name": "Mittens"})).await;
    let cat_id = id_of(&cat);
    app.patch_json(&format!("/api/patients/{cat_id}"), &json!({"color": "tabby"})).await;
    app.get(&format!("/api/patients?client_id={id}")).await;
    let updates = entries(&app, &format!("record_id={cat_id}&action=patient.update")).await;
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0]["detail"]["changed"], json!(["color"]));
    let lists = entries(&app, "action=patient.list").await;
    assert_eq!(lists[0]["detail"]["ids"], json!([cat_id]), "a list records which records were shown");
}

#[tokio::test]
async fn sign_ins_failures_and_sign_outs_are_audited_without_the_password() {
    let app = TestApp::spawn().await;
    let wrong = "not-the-password-at-all";
    assert_eq!(app.login("admin", wrong).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.login("nobody-here", wrong).await.status(), StatusCode::UNAUTHORIZED);
    app.login_admin().await;

    let auth = entries(&app, "action=auth.").await;
    let actions: Vec<&str> = auth.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["auth.login", "auth.login_failed", "auth.login_failed"]);
    assert_eq!(auth[1]["detail"]["username"], "nobody-here");
    assert_eq!(auth[1]["outcome"], "failure");
    assert!(auth[1]["record_id"].is_null(), "an unknown user names no record");
    assert_eq!(auth[2]["record_kind"], "user", "a known user's failed attempt names the account");
    let whole = serde_json::to_string(&auth).unwrap();
    assert!(!whole.contains(wrong), "no password in the trail");
    assert!(!whole.contains(&app.admin_password), "no password in the trail");

    let res = app.request(reqwest::Method::POST, "/api/auth/logout").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    app.login_admin().await;
    assert_eq!(entries(&app, "action=auth.logout").await.len(), 1);
}

#[tokio::test]
async fn the_trail_pages_newest_first_and_filters_by_user_and_time() {
    let app = TestApp::signed_in().await;
    for i in 0..5 {
        app.create_client(client_body("Page", &format!("Turner{i}"))).await;
    }
    let first = app.get_json("/api/audit?action=client.create&limit=2").await;
    let second = app
        .get_json(&format!("/api/audit?action=client.create&limit=2&cursor={}", first["next_cursor"].as_str().unwrap()))
        .await;
    let seqs: Vec<u64> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["items"].as_array().unwrap())
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs.len(), 4);
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "newest first, no repeats: {seqs:?}");

    let me = app.get_json("/api/auth/me").await;
    let user_id = me["user"]["id"].as_str().unwrap();
    assert_eq!(entries(&app, &format!("user_id={user_id}&action=client.create")).await.len(), 5);
    assert!(entries(&app, "user_id=01JD7Y2Q4Z8W3N5K6M7P8R9S0T").await.is_empty());
    assert!(entries(&app, "from=2100-01-01T00:00:00Z").await.is_empty());
    let res = app.get("/api/audit?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z").await;
    crate::helpers::assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("to")).await;
    let res = app.get("/api/audit?cursor=zzz").await;
    crate::helpers::assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("cursor")).await;
}

#[tokio::test]
async fn audit_verify_passes_on_an_intact_store_and_names_an_altered_entry() {
    let app = TestApp::signed_in().await;
    let id = id_of(&app.create_client(client_body("Vera", "Fy")).await);
    app.get(&format!("/api/clients/{id}")).await;
    let guard = app.stop().await;
    let dir = guard.path().to_owned();

    let verify = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_clowder"))
            .args(["audit", "verify", "--data-dir"])
            .arg(&dir)
            .output()
            .unwrap()
    };
    let ok = verify();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("intact"));

    // Alter one stored entry behind Clowder's back: the read becomes a "rexd".
    let db = redb::Database::create(dir.join("clowder.redb")).unwrap();
    let txn = db.begin_write().unwrap();
    let altered = {
        let table: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("audit");
        let mut t = txn.open_table(table).unwrap();
        let mut found = None;
        for row in redb::ReadableTable::iter(&t).unwrap() {
            let (k, v) = row.unwrap();
            let bytes = v.value().to_vec();
            if let Some(at) = bytes.windows(11).position(|w| w == b"client.read") {
                found = Some((k.value(), bytes, at));
                break;
            }
        }
        let (seq, mut bytes, at) = found.expect("the read is in the trail");
        bytes[at + 9] = b'x';
        t.insert(seq, bytes.as_slice()).unwrap();
        seq
    };
    txn.commit().unwrap();
    drop(db);

    let bad = verify();
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("audit trail") && err.contains(&format!("sequence {altered}")), "{err}");
}

#[tokio::test]
async fn a_refused_write_leaves_no_audit_entry_for_it() {
    let app = TestApp::signed_in().await;
    let mut body = client_body("Dee", "Plicate");
    body["email"] = json!("dee@example.com");
    app.create_client(body.clone()).await;
    assert_eq!(app.post_json("/api/clients", &body).await.status(), StatusCode::CONFLICT);
    assert_eq!(
        entries(&app, "action=client.create").await.len(),
        1,
        "the change and its entry exist together or not at all"
    );
}

#[tokio::test]
async fn once_stopped_the_store_file_is_closed_even_while_a_socket_and_a_connection_stay_open() {
    let first = TestApp::spawn().await;
    let dir = first.stop().await;
    let data = dir.path().to_owned();
    for round in 0..5 {
        let app = TestApp::spawn_with(|args| args.data_dir = data.clone()).await;
        app.login_admin().await;
        let id = id_of(&app.create_client(client_body("Round", &format!("Trip{round}"))).await);
        app.patch_json(&format!("/api/clients/{id}"), &json!({"notes": "called back"})).await;
        app.get(&format!("/api/clients/{id}")).await;
        // A live socket and a kept-alive HTTP connection both outlive the stop: neither may
        // keep the store open.
        let token = app.token().expect("signed in");
        let socket = crate::live::connect(&app, &token).await;
        let client = app.client.clone();
        let _unused_dir = app.stop().await;

        let path = data.join("clowder.redb");
        match redb::Database::create(&path) {
            Ok(db) => drop(db),
            Err(e) => panic!("round {round}: the store is still open after stop returned: {e}"),
        }
        let verify = std::process::Command::new(env!("CARGO_BIN_EXE_clowder"))
            .args(["audit", "verify", "--data-dir"])
            .arg(&data)
            .output()
            .unwrap();
        assert!(verify.status.success(), "round {round}: {}", String::from_utf8_lossy(&verify.stderr));
        drop((socket, client));
    }
}
