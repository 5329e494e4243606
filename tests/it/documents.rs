//! Documents on the record through HTTP: a multipart upload for a cat's visit, filed under its
//! owner, listed per client, cat and visit, read and downloaded (both audited), the same bytes
//! stored once, deactivation; `Idempotency-Key` on the upload; and bad input: a body over the
//! limit (declared, and streamed without a length), an executable renamed `.pdf`, a
//! path-traversal file name, another client's cat or another cat's visit.

use std::path::Path;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Digest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::calendar::Clinic;
use crate::helpers::{TestApp, assert_error, expect_json, id_of, page_ids};
use crate::visits::walk_in;

const BOUNDARY: &str = "clowder-test-boundary-7MA4YWxkTrZu0gW";

/// A `multipart/form-data` body: the text fields, then `file` named `name`.
fn form(fields: &[(&str, &str)], name: &str, content: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             Content-Type: application/pdf\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

pub(crate) async fn upload(app: &TestApp, fields: &[(&str, &str)], name: &str, content: &[u8]) -> reqwest::Response {
    app.request(Method::POST, "/api/documents")
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(form(fields, name, content))
        .send()
        .await
        .unwrap()
}

/// A small but real-looking PDF.
pub(crate) fn pdf(text: &str) -> Vec<u8> {
    format!("%PDF-1.4\n% {text}\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n").into_bytes()
}

/// Content files under the data directory's `documents/` (not the temporary ones).
fn stored_files(data_dir: &Path) -> Vec<String> {
    let mut all = Vec::new();
    let Ok(shards) = std::fs::read_dir(data_dir.join("documents")) else { return all };
    for shard in shards.flatten() {
        if shard.file_name() == ".incoming" {
            let left = std::fs::read_dir(shard.path()).unwrap().count();
            assert_eq!(left, 0, "no temporary file is left behind");
            continue;
        }
        all.extend(std::fs::read_dir(shard.path()).unwrap().flatten().map(|f| f.file_name().into_string().unwrap()));
    }
    all.sort();
    all
}

#[tokio::test]
async fn a_lab_report_is_filed_for_a_visit_listed_downloaded_once_stored_and_deactivated() {
    let c = Clinic::new().await;
    let visit =
        id_of(&expect_json(c.app.post_json("/api/visits", &walk_in(&c.cat, &c.vet)).await, StatusCode::CREATED).await);
    let content = pdf("CBC and chemistry, Mochi");
    let fields = [("visit_id", visit.as_str()), ("category", "lab_report"), ("tags", "renal, cbc")];
    let res = upload(&c.app, &fields, "Mochi bloods.pdf", &content).await;
    assert!(res.headers()["location"].to_str().unwrap().starts_with("/api/documents/"));
    let doc = expect_json(res, StatusCode::CREATED).await;
    // Filed under the visit's cat and its owner, typed by content, named for display only.
    assert_eq!(doc["client_id"], json!(c.client));
    assert_eq!(doc["patient_id"], json!(c.cat));
    assert_eq!(
        (doc["media_type"].as_str(), doc["file_name"].as_str()),
        (Some("application/pdf"), Some("Mochi bloods.pdf"))
    );
    assert_eq!(doc["tags"], json!(["renal", "cbc"]));
    assert_eq!(doc["size"], json!(content.len()));
    let sha = doc["sha256"].as_str().unwrap().to_owned();
    assert_eq!(stored_files(&c.app.data_dir), std::slice::from_ref(&sha));
    assert!(c.app.data_dir.join("documents").join(&sha[..2]).join(&sha).is_file());

    // The same bytes again, for the client: a second record, one file.
    let again = upload(&c.app, &[("client_id", &c.client), ("category", "other")], "copy.pdf", &content).await;
    let again = expect_json(again, StatusCode::CREATED).await;
    assert_eq!(again["sha256"].as_str(), Some(sha.as_str()));
    assert_ne!(again["id"], doc["id"]);
    assert_eq!(stored_files(&c.app.data_dir).len(), 1);

    let id = id_of(&doc);
    let by_client = c.app.get_json(&format!("/api/documents?client_id={}", c.client)).await;
    assert_eq!(page_ids(&by_client), [id_of(&again), id.clone()]);
    let by_cat = c.app.get_json(&format!("/api/documents?patient_id={}", c.cat)).await;
    assert_eq!(page_ids(&by_cat), std::slice::from_ref(&id));
    let by_visit = c.app.get_json(&format!("/api/documents?visit_id={visit}&category=lab_report&tag=RENAL")).await;
    assert_eq!(page_ids(&by_visit), std::slice::from_ref(&id));
    assert_eq!(page_ids(&c.app.get_json(&format!("/api/documents?patient_id={}", c.cat2)).await), Vec::<String>::new());

    let meta = c.app.get_json(&format!("/api/documents/{id}")).await;
    assert_eq!(meta["sha256"].as_str(), Some(sha.as_str()));
    let res = c.app.get(&format!("/api/documents/{id}/content")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers().clone();
    assert_eq!(h["content-type"], "application/pdf");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["content-disposition"], "inline; filename=\"Mochi bloods.pdf\"; filename*=UTF-8''Mochi%20bloods.pdf");
    assert_eq!(res.bytes().await.unwrap().as_ref(), content.as_slice());

    // Reads of the record are audited: the metadata, the download and the lists.
    let audit = c.app.get_json(&format!("/api/audit?record_kind=document&record_id={id}")).await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.iter().filter(|a| **a == "document.read").count() >= 2, "{actions:?}");
    assert!(actions.contains(&"document.create"), "{actions:?}");

    // Deactivated: out of the lists, still on file and readable; again changes nothing.
    let off = c.app.post_json(&format!("/api/documents/{id}/deactivate"), &json!({"reason": "wrong cat"})).await;
    let off = expect_json(off, StatusCode::OK).await;
    assert_eq!((off["active"].as_bool(), off["deactivated_reason"].as_str()), (Some(false), Some("wrong cat")));
    let by_cat = c.app.get_json(&format!("/api/documents?patient_id={}", c.cat)).await;
    assert!(page_ids(&by_cat).is_empty());
    let all = c.app.get_json(&format!("/api/documents?patient_id={}&include_inactive=true", c.cat)).await;
    assert_eq!(page_ids(&all), std::slice::from_ref(&id));
    assert_eq!(c.app.get(&format!("/api/documents/{id}/content")).await.status(), StatusCode::OK);
    let res = c.app.get("/api/documents/01JD7Y2Q4Z8W3N5K6M7P8R9S0T").await;
    assert_error(res, StatusCode::NOT_FOUND, "document_not_found", None).await;
}

#[tokio::test]
async fn a_retried_upload_with_the_same_key_is_filed_once() {
    let c = Clinic::new().await;
    let send = || {
        c.app
            .request(Method::POST, "/api/documents")
            .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
            .header("idempotency-key", "upload-1")
            .body(form(
                &[("patient_id", &c.cat), ("category", "imaging")],
                "rads.png",
                b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
            ))
            .send()
    };
    let first = expect_json(send().await.unwrap(), StatusCode::CREATED).await;
    let retry = send().await.unwrap();
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let retry = expect_json(retry, StatusCode::CREATED).await;
    assert_eq!(retry["id"], first["id"]);
    assert_eq!(first["media_type"], "image/png");
    let listed = c.app.get_json(&format!("/api/documents?patient_id={}", c.cat)).await;
    assert_eq!(page_ids(&listed), [id_of(&first)]);
}

#[tokio::test]
async fn executables_traversal_names_and_other_clients_records_are_refused_and_nothing_is_stored() {
    let c = Clinic::new().await;
    // An ELF and a Windows program renamed .pdf: refused by content, whatever the name says.
    let mut elf = b"\x7fELF\x02\x01\x01\0".to_vec();
    elf.resize(4096, 0);
    for (exe, what) in [(elf, "ELF"), (b"MZ\x90\0\x03\0\0\0\x04\0".to_vec(), "Windows PE")] {
        let res = upload(&c.app, &[("patient_id", &c.cat), ("category", "lab_report")], "results.pdf", &exe).await;
        let body = assert_error(res, StatusCode::UNSUPPORTED_MEDIA_TYPE, "document_type_refused", Some("file")).await;
        assert!(body.to_string().contains(what), "{body}");
    }
    // HTML posing as text would run in a browser.
    let res =
        upload(&c.app, &[("client_id", &c.client), ("category", "other")], "a.txt", b"<html><script>x</script>").await;
    assert_error(res, StatusCode::UNSUPPORTED_MEDIA_TYPE, "document_type_refused", Some("file")).await;

    // Refused by content: nothing reached the content store.
    assert!(stored_files(&c.app.data_dir).is_empty());

    // Another client's cat, another cat's visit, a cat that does not exist.
    let visit2 =
        id_of(&expect_json(c.app.post_json("/api/visits", &walk_in(&c.cat2, &c.vet)).await, StatusCode::CREATED).await);
    let content = pdf("not for this client");
    let res = upload(
        &c.app,
        &[("client_id", &c.client), ("patient_id", &c.cat2), ("category", "referral")],
        "r.pdf",
        &content,
    )
    .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("patient_id")).await;
    let res =
        upload(&c.app, &[("patient_id", &c.cat), ("visit_id", &visit2), ("category", "referral")], "r.pdf", &content)
            .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("visit_id")).await;
    let res =
        upload(&c.app, &[("client_id", &c.client), ("visit_id", &visit2), ("category", "referral")], "r.pdf", &content)
            .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("patient_id")).await;
    let res =
        upload(&c.app, &[("patient_id", "01JD7Y2Q4Z8W3N5K6M7P8R9S0T"), ("category", "referral")], "r.pdf", &content)
            .await;
    assert_error(res, StatusCode::NOT_FOUND, "patient_not_found", None).await;
    let res = upload(&c.app, &[("patient_id", &c.cat), ("category", "selfie")], "r.pdf", &content).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("category")).await;
    let res =
        upload(&c.app, &[("patient_id", &c.cat), ("category", "other"), ("path", "/etc")], "r.pdf", &content).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("path")).await;
    let res = c.app.post_json("/api/documents", &json!({"patient_id": c.cat})).await;
    assert_error(res, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", None).await;
    for (client, cat) in [(&c.client, &c.cat), (&c.client2, &c.cat2)] {
        let listed = c.app.get_json(&format!("/api/documents?client_id={client}&include_inactive=true")).await;
        assert!(page_ids(&listed).is_empty(), "nothing filed for {cat}");
    }
    // The links are checked before the content is kept: a refused link leaves no file.
    assert!(stored_files(&c.app.data_dir).is_empty(), "a refused link leaves no orphan content");

    // A path-traversal name is shown as its last component; the file is stored by its hash.
    let traversal = "../../../../etc/cron.d/evil.pdf";
    let res = upload(&c.app, &[("patient_id", &c.cat), ("category", "other")], traversal, &content).await;
    let doc = expect_json(res, StatusCode::CREATED).await;
    assert_eq!(doc["file_name"], "evil.pdf");
    assert_eq!(stored_files(&c.app.data_dir), [doc["sha256"].as_str().unwrap().to_owned()], "the same bytes: one file");
    assert!(
        !c.app.data_dir.join("etc").exists() && !c.app.data_dir.parent().unwrap().join("etc/cron.d/evil.pdf").exists()
    );
    let res = c.app.get(&format!("/api/documents/{}/content", id_of(&doc))).await;
    assert_eq!(res.headers()["content-disposition"], "inline; filename=\"evil.pdf\"; filename*=UTF-8''evil.pdf");
}

/// Sends `head` then, if `chunks` > 0, that many 64 KiB chunks of chunked body on a raw
/// connection, reading the answer meanwhile; the answer's status line, or `None` if the
/// server closed the connection before one could be read.
async fn raw_upload(app: &TestApp, head: String, chunks: usize) -> Option<String> {
    let stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let writer = tokio::spawn(async move {
        wr.write_all(head.as_bytes()).await?;
        let mut prefix = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.pdf\"\r\n\r\n%PDF-1.4\n"
        )
        .into_bytes();
        for _ in 0..chunks {
            prefix.resize(64 * 1024, b'x');
            wr.write_all(format!("{:x}\r\n", prefix.len()).as_bytes()).await?;
            wr.write_all(&prefix).await?;
            wr.write_all(b"\r\n").await?;
            prefix.clear();
        }
        Ok::<_, std::io::Error>(())
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let read = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while !answer.windows(2).any(|w| w == b"\r\n") {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server answers an oversized upload without reading it all");
    writer.abort();
    let text = String::from_utf8_lossy(&answer);
    text.lines().next().filter(|l| !l.is_empty()).map(str::to_owned)
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_without_being_kept_and_the_server_carries_on() {
    let app = TestApp::spawn_with(|a| a.document_max_bytes = 256 * 1024).await;
    app.login_admin().await;
    let client = app.some_client("Ada", "Big").await;
    let token = app.token().unwrap();
    let head = |length: &str| {
        format!(
            "POST /api/documents?client_id={client} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n{length}\r\n",
            app.addr
        )
    };
    // 2 GB declared: refused before the body is read.
    let status = raw_upload(&app, head("Content-Length: 2147483648\r\n"), 0).await;
    assert_eq!(status.as_deref(), Some("HTTP/1.1 413 Payload Too Large"));
    // 64 MiB streamed without a length: refused once the file passes the limit. The server
    // may close the connection before the answer is read; either way it stores nothing.
    let status = raw_upload(&app, head("Transfer-Encoding: chunked\r\n"), 1024).await;
    if let Some(s) = status {
        assert_eq!(s, "HTTP/1.1 413 Payload Too Large");
    }
    // The same through the ordinary client, with the JSON error.
    let big = pdf(&"x".repeat(300 * 1024));
    let res = upload(&app, &[("client_id", &client), ("category", "other")], "big.pdf", &big).await;
    assert_error(res, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", Some("file")).await;
    assert!(stored_files(&app.data_dir).is_empty());
    let listed: Value = app.get_json(&format!("/api/documents?client_id={client}&include_inactive=true")).await;
    assert!(page_ids(&listed).is_empty());
    // Still serving: a document under the limit goes through.
    let res = upload(&app, &[("client_id", &client), ("category", "other")], "small.pdf", &pdf("fine")).await;
    expect_json(res, StatusCode::CREATED).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_carries_the_documents_and_a_restored_server_serves_them() {
    use crate::backups::{backed_up, first_backup, keys, restore, text};
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("offsite");
    let k = keys(tmp.path());
    let app = backed_up(&dest, &k.recipient).await;
    first_backup(&app).await;
    let client = app.some_client("Ada", "Papers").await;
    let content = pdf("Referral letter for Mochi");
    let doc = upload(&app, &[("client_id", &client), ("category", "referral")], "referral.pdf", &content).await;
    let doc = expect_json(doc, StatusCode::CREATED).await;
    let sha = doc["sha256"].as_str().unwrap().to_owned();
    let backup = expect_json(app.post_json("/api/backups", &json!({})).await, StatusCode::CREATED).await;
    assert_eq!(backup["documents"], json!([sha]), "{backup}");
    // The content is its own object, encrypted: the letter's text is not readable in it.
    let objects: Vec<_> = std::fs::read_dir(&dest).unwrap().flatten().map(|e| e.path()).collect();
    let stored: Vec<_> = objects.iter().filter(|p| p.to_string_lossy().contains(&format!("document-{sha}"))).collect();
    assert_eq!(stored.len(), 1, "{objects:?}");
    assert!(!std::fs::read(stored[0]).unwrap().windows(8).any(|w| w == b"Referral"));
    app.stop().await;

    let dir = tempfile::TempDir::new_in(tmp.path()).unwrap();
    let out = restore(&dest, &k.identity, &dir.path().join("data"), None);
    assert!(out.status.success(), "{}", text(&out));
    let data = dir.path().join("data");
    assert!(data.join("documents").join(&sha[..2]).join(&sha).is_file());
    let restored_dir = tempfile::TempDir::new_in(tmp.path()).unwrap();
    std::fs::remove_dir(restored_dir.path()).unwrap();
    std::fs::rename(&data, restored_dir.path()).unwrap();
    let restored = TestApp::spawn_in_with(restored_dir, |_| {}).await;
    restored.login_admin().await;
    let res = restored.get(&format!("/api/documents/{}/content", id_of(&doc))).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap().as_ref(), content.as_slice());

    // A damaged content object fails the restore (exit 5) and leaves nothing behind.
    let mut bytes = std::fs::read(stored[0]).unwrap();
    let last = bytes.len() - 20;
    bytes[last] ^= 0xff;
    std::fs::write(stored[0], bytes).unwrap();
    let target = tmp.path().join("damaged");
    let out = restore(&dest, &k.identity, &target, None);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(!target.exists() || std::fs::read_dir(&target).unwrap().next().is_none());
}

/// Sets a content file's modification time to `at` (seconds since the epoch).
fn stored_at(data_dir: &Path, sha: &str, at: u64) {
    let path = data_dir.join("documents").join(&sha[..2]).join(sha);
    let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(at);
    std::fs::File::open(path).unwrap().set_modified(when).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_clean_up_sweeps_old_contents_no_record_names_and_backups_still_restore() {
    use crate::backups::{backed_up, first_backup, keys, restore, text};
    use clowder_actors::jobs::{NewJob, cleanup};
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("offsite");
    let k = keys(tmp.path());
    let app = backed_up(&dest, &k.recipient).await;
    first_backup(&app).await;
    let client = app.some_client("Ada", "Papers").await;
    let kept = upload(&app, &[("client_id", &client), ("category", "referral")], "kept.pdf", &pdf("kept")).await;
    let kept = expect_json(kept, StatusCode::CREATED).await;
    let off = upload(&app, &[("client_id", &client), ("category", "other")], "off.pdf", &pdf("deactivated")).await;
    let off = expect_json(off, StatusCode::CREATED).await;
    let res = app.post_json(&format!("/api/documents/{}/deactivate", id_of(&off)), &json!({})).await;
    expect_json(res, StatusCode::OK).await;
    // Contents stored with no record to name them, as a crash before the commit leaves them.
    let files = &app.system.document_files;
    let old = files.put(&pdf("orphan from a crash long ago")).await.unwrap();
    let fresh = files.put(&pdf("orphan of an upload still committing")).await.unwrap();
    let (kept, off) = (kept["sha256"].as_str().unwrap().to_owned(), off["sha256"].as_str().unwrap().to_owned());
    // Named contents as old as the orphan: age alone never removes a content.
    for sha in [&kept, &off, &old.sha256] {
        stored_at(&app.data_dir, sha, 1_600_000_000);
    }
    let before = expect_json(app.post_json("/api/backups", &json!({})).await, StatusCode::CREATED).await;
    assert_eq!(before["documents"].as_array().unwrap().len(), 4, "{before}");

    // The daily clean-up, run now by the scheduler.
    let new = NewJob {
        kind: cleanup::KIND.into(),
        payload: json!({}),
        due_at: app.system.ctx.clock.now(),
        idempotency_key: "test:cleanup-now".into(),
        subject: None,
    };
    app.system.jobs.enqueue(new, &clowder_schemas::audit::Caller::system()).await.unwrap();
    app.poll_json("/api/jobs?kind=daily_cleanup&state=succeeded", |v| !v["items"].as_array().unwrap().is_empty()).await;
    let mut left = vec![kept.clone(), off.clone(), fresh.sha256.clone()];
    left.sort();
    assert_eq!(stored_files(&app.data_dir), left);
    let audit = app.get_json("/api/audit?action=document.content_swept").await;
    let entry = &audit["items"][0];
    assert_eq!(entry["detail"]["files"], json!(1), "{audit}");
    assert_eq!(entry["detail"]["bytes"], json!(old.size));
    assert_eq!(entry["detail"]["sha256"], json!([old.sha256]));
    let metrics = app.anonymous(Method::GET, "/metrics").send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("clowder_documents_swept_files_total 1\n"), "{metrics}");
    assert!(metrics.contains(&format!("clowder_documents_swept_bytes_total {}\n", old.size)));

    // The next backup names what is left; restored, every record's content is there.
    let after = expect_json(app.post_json("/api/backups", &json!({})).await, StatusCode::CREATED).await;
    let mut listed: Vec<String> = serde_json::from_value(after["documents"].clone()).unwrap();
    listed.sort();
    assert_eq!(listed, left);
    let dir = app.stop().await;

    // The operator's command on the stopped server: a dry run first, then the sweep.
    let content = pdf("orphan the command sweeps");
    let sha: String = sha2::Sha256::digest(&content).iter().map(|b| format!("{b:02x}")).collect();
    std::fs::create_dir_all(dir.path().join("documents").join(&sha[..2])).unwrap();
    std::fs::write(dir.path().join("documents").join(&sha[..2]).join(&sha), &content).unwrap();
    stored_at(dir.path(), &sha, 1_600_000_000);
    let sweep = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_clowder"))
            .args(["documents", "sweep", "--data-dir"])
            .arg(dir.path())
            .args(extra)
            .output()
            .unwrap()
    };
    let dry = sweep(&["--dry-run"]);
    assert!(dry.status.success(), "{}", text(&dry));
    assert!(String::from_utf8_lossy(&dry.stdout).contains(&format!("would remove {sha} ({} bytes", content.len())));
    assert!(stored_files(dir.path()).contains(&sha), "a dry run removes nothing");
    let done = sweep(&[]);
    assert!(done.status.success(), "{}", text(&done));
    let said = String::from_utf8_lossy(&done.stdout);
    assert!(said.contains(&format!("removed {sha}")) && said.contains("kept 2 named and 1 newer"), "{said}");
    assert_eq!(stored_files(dir.path()), left);

    let data = tmp.path().join("restored");
    let out = restore(&dest, &k.identity, &data, None);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(stored_files(&data), left);
}
