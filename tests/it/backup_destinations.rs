//! Backup destinations (`clowder_ops::backup::destination`) against the real thing: a local
//! directory, and a real S3-compatible server, moto's (`moto_server`, from PyPI), started per
//! test on an ephemeral port. Faults come from `FaultProxy`, a small HTTP proxy written here
//! that answers 503 to the requests a rule picks and forwards the others to moto.
//!
//! `scripts/test` installs moto into `target/test-tools/moto` when missing, exports
//! `CLOWDER_TEST_MOTO` (the `moto_server` to run) and sets `CLOWDER_BACKUP_TESTS=1`, which
//! makes a missing moto a failure; a plain `cargo test` on a machine without it (and without
//! `moto_server` on PATH) skips the S3 tests with a message.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clowder_ops::backup::destination::{Destination, DestinationConfig, DestinationError, UploadRetry};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The secret key of every S3 destination here: no description or error may show it.
const SECRET: &str = "SECRET-7f3a9c-never-printed";
/// Over the 8 MiB threshold: a multipart upload of three parts.
const BIG: usize = 20 * 1024 * 1024;

/// A moto server of our own, killed when dropped.
struct Moto {
    endpoint: String,
    _child: tokio::process::Child,
}

impl Moto {
    /// A running moto server, or `None` (after saying so) when moto is not installed and not
    /// required.
    async fn start() -> Option<Moto> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let Some(program) = moto_program() else {
            assert!(
                std::env::var("CLOWDER_BACKUP_TESTS").is_err(),
                "moto_server was not found (CLOWDER_TEST_MOTO unset and none on PATH); scripts/test installs it"
            );
            eprintln!("skipping the S3 destination test: run scripts/test to install moto (PyPI moto[server])");
            return None;
        };
        let port = free_port().await;
        let child = tokio::process::Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("{} does not start: {e}", program.display()));
        let moto = Moto { endpoint: format!("http://127.0.0.1:{port}"), _child: child };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = reqwest::get(format!("{}/", moto.endpoint)).await
                && r.status().is_success()
            {
                break;
            }
            assert!(Instant::now() < deadline, "moto did not answer on port {port} within 60 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Some(moto)
    }

    /// Creates a bucket with a plain `PUT /bucket` (moto's default mode takes it unsigned).
    async fn create_bucket(&self, bucket: &str) {
        let r = reqwest::Client::new().put(format!("{}/{bucket}", self.endpoint)).send().await.unwrap();
        assert!(r.status().is_success(), "creating the bucket: {}", r.status());
    }

    /// The bucket's keys and its multipart uploads still in progress, asked of moto directly.
    async fn contents(&self, bucket: &str) -> (String, String) {
        let get = |query: &'static str| {
            let url = format!("{}/{bucket}?{query}", self.endpoint);
            async move { reqwest::get(url).await.unwrap().text().await.unwrap() }
        };
        (get("list-type=2").await, get("uploads").await)
    }

    /// An S3 destination of `bucket` under the prefix `clinic`, reached through `endpoint`.
    fn destination(endpoint: &str, bucket: &str) -> Destination {
        Self::destination_at(endpoint, bucket, "clinic")
    }

    fn destination_at(endpoint: &str, bucket: &str, prefix: &str) -> Destination {
        let config = DestinationConfig::S3 {
            bucket: bucket.into(),
            prefix: prefix.into(),
            endpoint: Some(endpoint.into()),
            region: "us-east-1".into(),
            access_key_id: "test-key-id".into(),
            secret_access_key: SECRET.into(),
            allow_http: true,
        };
        assert!(!format!("{config:?}").contains(SECRET));
        let d = Destination::open(&config).expect("the destination opens");
        assert_eq!(d.describe(), format!("s3://{bucket}/{prefix}"));
        d.with_upload_retry(UploadRetry { retries: 3, first_backoff: Duration::from_millis(50) })
    }
}

/// `CLOWDER_TEST_MOTO` (relative to the repository), else `moto_server` on PATH.
fn moto_program() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CLOWDER_TEST_MOTO") {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
        assert!(path.exists(), "CLOWDER_TEST_MOTO names {}, which does not exist", path.display());
        return Some(path);
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths).map(|dir| dir.join("moto_server")).find(|p| p.is_file())
}

/// A port nothing listens on (once the listener that found it is dropped).
async fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port()
}

/// Decides, from a request's index (from 0) and its request line (`PUT /b/k?partNumber=2
/// HTTP/1.1`), whether the proxy answers 503 instead of forwarding it.
type Rule = dyn Fn(usize, &str) -> bool + Send + Sync;

/// An HTTP/1.1 proxy in front of moto that fails the requests its rule picks (503 unless told
/// otherwise). One request per connection (moto closes every connection after its answer, and
/// so does the proxy).
struct FaultProxy {
    endpoint: String,
    requests: Arc<AtomicUsize>,
    failed: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    async fn start(upstream: &str, rule: impl Fn(usize, &str) -> bool + Send + Sync + 'static) -> FaultProxy {
        Self::with(Action::Answer { status: 503, code: "ServiceUnavailable" }, upstream, rule).await
    }

    /// A proxy that does `action` to the requests `rule` picks.
    async fn with(
        action: Action,
        upstream: &str,
        rule: impl Fn(usize, &str) -> bool + Send + Sync + 'static,
    ) -> FaultProxy {
        let upstream: SocketAddr = upstream.trim_start_matches("http://").parse().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let failed = Arc::new(AtomicUsize::new(0));
        let rule: Arc<Rule> = Arc::new(rule);
        let (counted, refused) = (requests.clone(), failed.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else { return };
                let (rule, counted, refused) = (rule.clone(), counted.clone(), refused.clone());
                tokio::spawn(async move {
                    let fault = Fault { action, rule: &*rule, counted: &counted, refused: &refused };
                    let _ = fault.serve(client, upstream).await;
                });
            }
        });
        FaultProxy { endpoint, requests, failed, task }
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    fn failed(&self) -> usize {
        self.failed.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What a `FaultProxy` does to a request its rule picks.
#[derive(Clone, Copy)]
enum Action {
    /// Answers this status with this S3 error code instead of forwarding.
    Answer { status: u16, code: &'static str },
    /// Forwards, but passes on only this many bytes of the answer, then hangs up.
    CutAfter(usize),
}

/// What a `FaultProxy` does with one connection.
struct Fault<'a> {
    action: Action,
    rule: &'a Rule,
    counted: &'a AtomicUsize,
    refused: &'a AtomicUsize,
}

impl Fault<'_> {
    async fn serve(&self, mut client: TcpStream, upstream: SocketAddr) -> std::io::Result<()> {
        // The head, then the body by its Content-Length (object_store always sends one).
        let mut request = Vec::new();
        let mut buf = [0u8; 64 * 1024];
        let head_end = loop {
            if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            let n = client.read(&mut buf).await?;
            if n == 0 {
                return Ok(());
            }
            request.extend_from_slice(&buf[..n]);
        };
        let head = String::from_utf8_lossy(&request[..head_end]).into_owned();
        assert!(!head.to_ascii_lowercase().contains("transfer-encoding: chunked"), "a chunked request: {head}");
        let length: usize = head
            .lines()
            .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-length")))
            .map(|(_, v)| v.trim().parse().unwrap())
            .unwrap_or(0);
        while request.len() < head_end + length {
            let n = client.read(&mut buf).await?;
            if n == 0 {
                return Ok(());
            }
            request.extend_from_slice(&buf[..n]);
        }
        let index = self.counted.fetch_add(1, Ordering::SeqCst);
        let line = head.lines().next().unwrap_or_default();
        let picked = (self.rule)(index, line);
        if picked {
            self.refused.fetch_add(1, Ordering::SeqCst);
        }
        if let (true, Action::Answer { status, code }) = (picked, self.action) {
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{}</Code>\
                 <Message>injected by the test's proxy</Message></Error>",
                code
            );
            let answer = format!(
                "HTTP/1.1 {} Injected\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                status,
                body.len()
            );
            client.write_all(answer.as_bytes()).await?;
            return client.shutdown().await;
        }
        let mut moto = TcpStream::connect(upstream).await?;
        moto.write_all(&request).await?;
        // moto answers and closes: the answer is everything up to its end of stream.
        match (picked, self.action) {
            (true, Action::CutAfter(bytes)) => {
                tokio::io::copy(&mut (&mut moto).take(bytes as u64), &mut client).await?;
            }
            _ => {
                tokio::io::copy(&mut moto, &mut client).await?;
            }
        }
        client.shutdown().await
    }
}

/// A file of `len` bytes that do not repeat (so a part mixed up with another shows).
fn write_file(path: &Path, len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ len as u64;
    let bytes: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(path, &bytes).unwrap();
    bytes
}

/// Fails if the error (its message or its debug form) shows the secret key.
fn assert_no_secret(e: &DestinationError) {
    assert!(!e.to_string().contains(SECRET), "{e}");
    assert!(!format!("{e:?}").contains(SECRET), "{e:?}");
}

/// Everything a backup does with a destination: a big file up and down, a manifest up and
/// down, the list, deletes (twice), a missing object.
async fn round_trip(d: &Destination, scratch: &Path) {
    let big = write_file(&scratch.join("big"), BIG);
    let size = d.put_file("01J9BACKUP.clowder-backup", &scratch.join("big")).await.unwrap();
    assert_eq!(size, BIG as u64);
    d.put_bytes("01J9BACKUP.manifest.json", b"{\"kind\":\"full\"}".to_vec()).await.unwrap();

    let mut listed = d.list().await.unwrap();
    listed.sort_by(|a, b| a.name.cmp(&b.name));
    let names: Vec<(&str, u64)> = listed.iter().map(|o| (o.name.as_str(), o.size)).collect();
    assert_eq!(names, [("01J9BACKUP.clowder-backup", BIG as u64), ("01J9BACKUP.manifest.json", 15)]);
    let now = clowder_actors::Clock::now(&clowder_actors::SystemClock);
    let age = now.duration_since(listed[0].modified).as_secs().abs();
    assert!(age < 600, "modified {} is not about now", listed[0].modified);

    let back = scratch.join("restored");
    assert_eq!(d.get_to_file("01J9BACKUP.clowder-backup", &back).await.unwrap(), BIG as u64);
    assert!(std::fs::read(&back).unwrap() == big, "the downloaded file differs from the uploaded one");
    assert_eq!(d.get_bytes("01J9BACKUP.manifest.json").await.unwrap(), b"{\"kind\":\"full\"}");

    let missing = d.get_bytes("01J9OTHER.manifest.json").await.unwrap_err();
    assert!(
        matches!(missing, DestinationError::NotFound { ref name, .. } if name == "01J9OTHER.manifest.json"),
        "{missing:?}"
    );
    let missing = d.get_to_file("01J9OTHER.clowder-backup", &scratch.join("other")).await.unwrap_err();
    assert!(matches!(missing, DestinationError::NotFound { .. }), "{missing:?}");
    assert!(!scratch.join("other").exists() && !scratch.join("other.partial").exists());

    d.delete("01J9BACKUP.clowder-backup").await.unwrap();
    d.delete("01J9BACKUP.clowder-backup").await.expect("deleting a missing object is fine");
    d.delete("01J9BACKUP.manifest.json").await.unwrap();
    assert!(d.list().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_directory_keeps_uploads_lists_and_deletes_them() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("backups/nested");
    let d = Destination::open(&DestinationConfig::Local { dir: dir.clone() }).unwrap();
    assert!(dir.is_dir(), "the directory is created");
    assert_eq!(d.describe(), dir.display().to_string());
    round_trip(&d, scratch.path()).await;

    // A file that cannot be read leaves nothing behind.
    let e = d.put_file("gone.clowder-backup", &scratch.path().join("no-such-file")).await.unwrap_err();
    assert!(matches!(e, DestinationError::Io(_)), "{e:?}");
    assert!(d.list().await.unwrap().is_empty());
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "no staging file is left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_bucket_keeps_uploads_lists_and_deletes_them() {
    let Some(moto) = Moto::start().await else { return };
    moto.create_bucket("backups").await;
    let scratch = tempfile::tempdir().unwrap();
    let d = Moto::destination(&moto.endpoint, "backups");
    round_trip(&d, scratch.path()).await;
    let (_, uploads) = moto.contents("backups").await;
    assert!(!uploads.contains("<Upload>"), "a multipart upload was left open: {uploads}");

    // Objects live under the prefix, and another prefix's are not listed.
    d.put_bytes("x.manifest.json", vec![1]).await.unwrap();
    let other = Moto::destination_at(&moto.endpoint, "backups", "clinic-2/annex");
    other.put_bytes("y.manifest.json", vec![2]).await.unwrap();
    let (keys, _) = moto.contents("backups").await;
    assert!(keys.contains("<Key>clinic/x.manifest.json</Key>"), "{keys}");
    assert!(keys.contains("<Key>clinic-2/annex/y.manifest.json</Key>"), "{keys}");
    let names: Vec<String> = d.list().await.unwrap().into_iter().map(|o| o.name).collect();
    assert_eq!(names, ["x.manifest.json"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_that_answers_503_for_a_while_gets_the_upload_in_the_end() {
    let Some(moto) = Moto::start().await else { return };
    moto.create_bucket("backups").await;
    let scratch = tempfile::tempdir().unwrap();
    let big = write_file(&scratch.path().join("big"), BIG);

    // Three failures: object_store's own retries of the request get through.
    let proxy = FaultProxy::start(&moto.endpoint, |i, _| i < 3).await;
    let d = Moto::destination(&proxy.endpoint, "backups");
    d.put_bytes("a.manifest.json", b"{}".to_vec()).await.unwrap();
    assert_eq!(proxy.failed(), 3);

    // Six: the first try of the upload gives up (1 request + 4 retries), the second succeeds.
    let proxy = FaultProxy::start(&moto.endpoint, |i, _| i < 6).await;
    let d = Moto::destination(&proxy.endpoint, "backups");
    assert_eq!(d.put_file("a.clowder-backup", &scratch.path().join("big")).await.unwrap(), BIG as u64);
    assert_eq!(proxy.failed(), 6);
    assert!(proxy.requests() > 6);

    let direct = Moto::destination(&moto.endpoint, "backups");
    assert!(direct.get_bytes("a.clowder-backup").await.unwrap() == big);
    assert_eq!(direct.get_bytes("a.manifest.json").await.unwrap(), b"{}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_that_keeps_answering_503_is_reported_unreachable_and_keeps_nothing() {
    let Some(moto) = Moto::start().await else { return };
    moto.create_bucket("backups").await;
    let scratch = tempfile::tempdir().unwrap();
    write_file(&scratch.path().join("big"), BIG);
    write_file(&scratch.path().join("small"), 1000);
    let proxy = FaultProxy::start(&moto.endpoint, |_, _| true).await;
    let d = Moto::destination(&proxy.endpoint, "backups");

    for file in ["big", "small"] {
        let e = d.put_file("a.clowder-backup", &scratch.path().join(file)).await.unwrap_err();
        assert!(matches!(e, DestinationError::Unreachable { .. }), "{e:?}");
        let message = e.to_string();
        assert!(message.starts_with("the destination s3://backups/clinic could not be reached: "), "{message}");
        assert!(message.contains("503"), "{message}");
        assert_no_secret(&e);
    }
    // Each of the 4 tries of each upload is 1 request and object_store's 4 retries.
    assert_eq!(proxy.failed(), 2 * 4 * 5);
    let e = d.list().await.unwrap_err();
    assert!(matches!(e, DestinationError::Unreachable { .. }), "{e:?}");
    let (keys, uploads) = moto.contents("backups").await;
    assert!(!keys.contains("<Key>"), "{keys}");
    assert!(!uploads.contains("<Upload>"), "{uploads}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_that_never_goes_up_aborts_the_upload_and_leaves_no_object() {
    let Some(moto) = Moto::start().await else { return };
    moto.create_bucket("backups").await;
    let scratch = tempfile::tempdir().unwrap();
    write_file(&scratch.path().join("big"), BIG);
    // Only the second part fails; starting, the other parts and aborting go through.
    let proxy = FaultProxy::start(&moto.endpoint, |_, line| line.contains("partNumber=2&")).await;
    let d = Moto::destination(&proxy.endpoint, "backups");

    let e = d.put_file("a.clowder-backup", &scratch.path().join("big")).await.unwrap_err();
    assert!(matches!(e, DestinationError::Unreachable { .. }), "{e:?}");
    assert_eq!(proxy.failed(), 4 * 5, "every try of the upload failed at part 2");
    let (keys, uploads) = moto.contents("backups").await;
    assert!(!keys.contains("<Key>"), "{keys}");
    assert!(!uploads.contains("<Upload>"), "the failed uploads were not aborted: {uploads}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_nobody_listens_on_is_reported_unreachable() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let scratch = tempfile::tempdir().unwrap();
    write_file(&scratch.path().join("small"), 1000);
    let endpoint = format!("http://127.0.0.1:{}", free_port().await);
    let d = Moto::destination(&endpoint, "backups");
    let e = d.put_file("a.clowder-backup", &scratch.path().join("small")).await.unwrap_err();
    assert!(matches!(e, DestinationError::Unreachable { .. }), "{e:?}");
    assert!(e.to_string().contains("s3://backups/clinic"), "{e}");
    assert_no_secret(&e);
    let e = d.get_bytes("a.manifest.json").await.unwrap_err();
    assert!(matches!(e, DestinationError::Unreachable { .. }), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_bucket_is_refused_with_a_message_naming_the_destination() {
    let Some(moto) = Moto::start().await else { return };
    let scratch = tempfile::tempdir().unwrap();
    write_file(&scratch.path().join("big"), BIG);
    let d = Moto::destination(&moto.endpoint, "no-such-bucket");
    let errors = [
        d.put_bytes("a.manifest.json", vec![1]).await.unwrap_err(),
        d.put_file("a.clowder-backup", &scratch.path().join("big")).await.unwrap_err(),
        d.list().await.unwrap_err(),
        d.get_bytes("a.manifest.json").await.unwrap_err(),
    ];
    for e in errors {
        assert!(matches!(e, DestinationError::Refused { .. }), "{e:?}");
        let message = e.to_string();
        assert!(
            message.starts_with("the destination s3://no-such-bucket/clinic refused: the bucket does not exist"),
            "{message}"
        );
        assert_no_secret(&e);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_that_denies_access_is_refused_at_once() {
    let Some(moto) = Moto::start().await else { return };
    moto.create_bucket("backups").await;
    let scratch = tempfile::tempdir().unwrap();
    write_file(&scratch.path().join("small"), 1000);
    let proxy =
        FaultProxy::with(Action::Answer { status: 403, code: "AccessDenied" }, &moto.endpoint, |_, _| true).await;
    let d = Moto::destination(&proxy.endpoint, "backups");
    let e = d.put_file("a.clowder-backup", &scratch.path().join("small")).await.unwrap_err();
    assert!(matches!(e, DestinationError::Refused { .. }), "{e:?}");
    let message = e.to_string();
    assert!(message.starts_with("the destination s3://backups/clinic refused: access denied"), "{message}");
    assert!(message.contains("AccessDenied: injected by the test's proxy"), "{message}");
    assert_no_secret(&e);
    assert_eq!(proxy.failed(), 1, "a refusal is not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_cut_off_leaves_no_file() {
    let Some(moto) = Moto::start().await else { return };
    moto.create_bucket("backups").await;
    let scratch = tempfile::tempdir().unwrap();
    write_file(&scratch.path().join("big"), BIG);
    Moto::destination(&moto.endpoint, "backups")
        .put_file("a.clowder-backup", &scratch.path().join("big"))
        .await
        .unwrap();
    // Every GET answer stops after its headers and 64 KiB of the body.
    let proxy = FaultProxy::with(Action::CutAfter(64 * 1024), &moto.endpoint, |_, line| line.starts_with("GET ")).await;
    let d = Moto::destination(&proxy.endpoint, "backups");
    let target = scratch.path().join("restored");
    let e = d.get_to_file("a.clowder-backup", &target).await.unwrap_err();
    assert!(matches!(e, DestinationError::Unreachable { .. }), "{e:?}");
    assert_no_secret(&e);
    assert!(proxy.failed() > 1, "object_store resumes a cut-off download");
    assert!(!target.exists(), "a partial download was left as the file");
    assert!(!scratch.path().join("restored.partial").exists(), "the partial download was not removed");
}

/// End to end over S3: a server backs up to a moto bucket on its own, and `clowder restore
/// --from s3://bucket/prefix` (the real binary, credentials from the environment) restores it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_backs_up_to_s3_and_the_backup_restores_from_there() {
    let Some(moto) = Moto::start().await else { return };
    moto.create_bucket("clinic-backups").await;
    let tmp = tempfile::tempdir().unwrap();
    let (identity, recipient) = clowder_ops::backup::crypt::generate();
    let identity_file = tmp.path().join("identity.txt");
    std::fs::write(&identity_file, identity).unwrap();
    let endpoint = moto.endpoint.clone();
    let app = crate::helpers::TestApp::spawn_with(move |a| {
        a.backup.backup_s3_bucket = Some("clinic-backups".into());
        a.backup.backup_s3_prefix = "main-street".into();
        a.backup.backup_s3_endpoint = Some(endpoint);
        a.backup.backup_s3_access_key_id = Some("test-key-id".into());
        a.backup.backup_s3_secret_access_key = Some(SECRET.into());
        a.backup.backup_s3_allow_http = true;
        a.backup.backup_recipient = Some(recipient);
        a.backup.backup_incremental_minutes = 600;
    })
    .await;
    app.login_admin().await;
    // The schedule's first backup, at start, goes first.
    crate::backups::first_backup(&app).await;
    let client = app.some_client("Gus", "Bucket").await;
    let made = crate::helpers::expect_json(
        app.post_json("/api/backups", &serde_json::json!({"kind": "full"})).await,
        reqwest::StatusCode::CREATED,
    )
    .await;
    assert_eq!(made["verification"]["ok"], true, "{made}");
    let listed = app.get_json("/api/backups").await;
    assert_eq!(listed["status"]["destination"], "s3://clinic-backups/main-street", "{listed}");
    assert!(!listed.to_string().contains(SECRET));
    let (keys, _) = moto.contents("clinic-backups").await;
    assert!(
        keys.contains(&format!("<Key>main-street/{}.clowder-backup</Key>", made["id"].as_str().unwrap())),
        "{keys}"
    );
    app.stop().await;

    let target = tmp.path().join("restored");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_clowder"))
        .args(["restore", "--from", "s3://clinic-backups/main-street", "--identity"])
        .arg(&identity_file)
        .arg("--data-dir")
        .arg(&target)
        .env("CLOWDER_BACKUP_S3_ENDPOINT", &moto.endpoint)
        .env("CLOWDER_BACKUP_S3_ACCESS_KEY_ID", "test-key-id")
        .env("CLOWDER_BACKUP_S3_SECRET_ACCESS_KEY", SECRET)
        .env("CLOWDER_BACKUP_S3_ALLOW_HTTP", "true")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert!(!text.contains(SECRET), "{text}");
    let dir = tempfile::TempDir::new_in(tmp.path()).unwrap();
    std::fs::remove_dir(dir.path()).unwrap();
    std::fs::rename(&target, dir.path()).unwrap();
    let restored = crate::helpers::TestApp::spawn_in_with(dir, |_| {}).await;
    restored.login_admin().await;
    assert_eq!(restored.get(&format!("/api/clients/{client}")).await.status(), reqwest::StatusCode::OK);
}
