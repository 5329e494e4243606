//! Where backups go: a local directory or an S3-compatible bucket, both through object_store.
//!
//! This module owns moving named objects to and from a destination and saying, in the
//! operator's words, why that failed: an unreachable destination (network, timeouts, 5xx
//! after retries), a refusal (4xx: access denied, missing bucket, disk or quota full) or a
//! missing object. It knows nothing of what a backup contains (the engine in `backup/` does).
//!
//! Guarantees the engine relies on: an upload is atomic (a failed `put_file` leaves no object
//! under its name: S3 shows an object only once its multipart upload completes, and the local
//! store writes a staging file that it renames into place); a dead destination is reported as
//! an error, never as success; no description or error contains the secret key.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig, WriteMultipart,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Files larger than this go up as a multipart upload, in parts of this size (S3 wants parts
/// of at least 5 MiB, all but the last of one size for some S3-compatible stores).
const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts uploaded at once: bounds the memory of an upload to about (this + 1) parts.
const PART_CONCURRENCY: usize = 2;
/// How much of the file is read at a time while filling parts.
const READ_CHUNK: usize = 1024 * 1024;

/// The settings of a destination, as given by the operator.
#[derive(Clone, PartialEq, Eq)]
pub enum DestinationConfig {
    /// A directory on this machine (created if missing). Durable: every write is fsynced.
    Local {
        /// The directory the objects are written to.
        dir: PathBuf,
    },
    /// A bucket of AWS S3 or of an S3-compatible store (MinIO, Garage, Ceph, moto...).
    S3 {
        /// The bucket; it must exist.
        bucket: String,
        /// The folder inside the bucket ("" for the bucket's root), without slashes at its ends.
        prefix: String,
        /// The store's URL for S3-compatible stores (`https://s3.example.net`); `None` for AWS.
        endpoint: Option<String>,
        /// The region (`us-east-1` when unsure: most S3-compatible stores ignore it).
        region: String,
        /// The access key id.
        access_key_id: String,
        /// The secret access key. Never printed: `Debug` masks it.
        secret_access_key: String,
        /// Whether a plain `http://` endpoint is allowed (a lab or a store on localhost).
        allow_http: bool,
    },
}

impl fmt::Debug for DestinationConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DestinationConfig::Local { dir } => f.debug_struct("Local").field("dir", dir).finish(),
            DestinationConfig::S3 {
                bucket,
                prefix,
                endpoint,
                region,
                access_key_id,
                secret_access_key: _,
                allow_http,
            } => f
                .debug_struct("S3")
                .field("bucket", bucket)
                .field("prefix", prefix)
                .field("endpoint", endpoint)
                .field("region", region)
                .field("access_key_id", access_key_id)
                .field("secret_access_key", &"***")
                .field("allow_http", allow_http)
                .finish(),
        }
    }
}

impl DestinationConfig {
    /// The destination named by the `CLOWDER_BACKUP_*` settings read through `var` (for
    /// example `|name| std::env::var(name).ok()`): `CLOWDER_BACKUP_DIR` for a local
    /// directory, or `CLOWDER_BACKUP_S3_BUCKET` with the other `CLOWDER_BACKUP_S3_*` settings.
    /// `Ok(None)` when neither is set (backups are off); an error when both are, or when an
    /// S3 setting is missing or malformed.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Option<DestinationConfig>, DestinationError> {
        let get = |name: &str| var(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let dir = get("CLOWDER_BACKUP_DIR");
        let bucket = get("CLOWDER_BACKUP_S3_BUCKET");
        match (dir, bucket) {
            (None, None) => Ok(None),
            (Some(_), Some(_)) => Err(DestinationError::Config(
                "CLOWDER_BACKUP_DIR and CLOWDER_BACKUP_S3_BUCKET are both set: choose one destination".into(),
            )),
            (Some(dir), None) => Ok(Some(DestinationConfig::Local { dir: PathBuf::from(dir) })),
            (None, Some(bucket)) => {
                let required = |name: &str| {
                    get(name).ok_or_else(|| {
                        DestinationError::Config(format!("CLOWDER_BACKUP_S3_BUCKET is set, so {name} is needed too"))
                    })
                };
                let allow_http = match get("CLOWDER_BACKUP_S3_ALLOW_HTTP").as_deref() {
                    None | Some("false" | "0" | "no") => false,
                    Some("true" | "1" | "yes") => true,
                    Some(other) => {
                        return Err(DestinationError::Config(format!(
                            "CLOWDER_BACKUP_S3_ALLOW_HTTP must be true or false, not {other:?}"
                        )));
                    }
                };
                Ok(Some(DestinationConfig::S3 {
                    bucket,
                    prefix: get("CLOWDER_BACKUP_S3_PREFIX").unwrap_or_default(),
                    endpoint: get("CLOWDER_BACKUP_S3_ENDPOINT"),
                    region: get("CLOWDER_BACKUP_S3_REGION").unwrap_or_else(|| "us-east-1".into()),
                    access_key_id: required("CLOWDER_BACKUP_S3_ACCESS_KEY_ID")?,
                    secret_access_key: required("CLOWDER_BACKUP_S3_SECRET_ACCESS_KEY")?,
                    allow_http,
                }))
            }
        }
    }

    /// What the operator reads in logs and messages: the directory, or `s3://bucket/prefix`.
    /// It never contains a key.
    pub fn describe(&self) -> String {
        match self {
            DestinationConfig::Local { dir } => dir.display().to_string(),
            DestinationConfig::S3 { bucket, prefix, .. } if prefix.is_empty() => format!("s3://{bucket}"),
            DestinationConfig::S3 { bucket, prefix, .. } => format!("s3://{bucket}/{prefix}"),
        }
    }
}

/// Why an operation on a destination failed.
#[derive(Debug, thiserror::Error)]
pub enum DestinationError {
    /// The destination did not answer, or answered with a server error (5xx, throttling), even
    /// after retries: it may work later.
    #[error("the destination {destination} could not be reached: {cause}")]
    Unreachable {
        /// The destination, as `Destination::describe` says it.
        destination: String,
        /// What went wrong, in object_store's words.
        cause: String,
    },
    /// No object has this name.
    #[error("the destination {destination} has no object named {name}")]
    NotFound {
        /// The destination, as `Destination::describe` says it.
        destination: String,
        /// The object's name.
        name: String,
    },
    /// The destination answered but refused: access denied, bucket missing, disk or quota
    /// full. Retrying will not help until the operator acts.
    #[error("the destination {destination} refused: {cause}")]
    Refused {
        /// The destination, as `Destination::describe` says it.
        destination: String,
        /// What it said.
        cause: String,
    },
    /// A local file (the one uploaded or the one downloaded into) could not be read or written.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The destination's settings are wrong (or an object name is not a plain name).
    #[error("backup destination settings: {0}")]
    Config(String),
}

/// One object of a destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Its name, relative to the destination's prefix (`<id>.manifest.json`).
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last written, as the destination reports it.
    pub modified: jiff::Timestamp,
}

/// How `put_file` retries a whole upload that failed as `Unreachable` (after object_store's
/// own retries of each request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadRetry {
    /// Uploads tried again after the first one; 0 never retries.
    pub retries: u32,
    /// The wait before the first retry; each next wait is three times longer.
    pub first_backoff: Duration,
}

impl Default for UploadRetry {
    fn default() -> Self {
        UploadRetry { retries: 3, first_backoff: Duration::from_secs(1) }
    }
}

/// An open destination: cheap to clone, shareable between tasks.
#[derive(Clone)]
pub struct Destination {
    store: Arc<dyn ObjectStore>,
    description: String,
    retry: UploadRetry,
}

impl fmt::Debug for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Destination").field("description", &self.description).field("retry", &self.retry).finish()
    }
}

/// What the operation was, for mapping a not-found answer (a missing object for a read, a
/// missing bucket or folder for anything else).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Operation {
    Read,
    Write,
    List,
    Delete,
}

impl Destination {
    /// Opens the destination: creates the local directory if missing, or prepares the S3
    /// client (which contacts nothing yet: a wrong bucket or key shows at the first call).
    pub fn open(config: &DestinationConfig) -> Result<Destination, DestinationError> {
        let description = config.describe();
        let store: Arc<dyn ObjectStore> = match config {
            DestinationConfig::Local { dir } => {
                std::fs::create_dir_all(dir).map_err(|e| DestinationError::Refused {
                    destination: description.clone(),
                    cause: format!("the directory cannot be created: {e}"),
                })?;
                // fsync: a backup that a power cut can lose is not a backup.
                let local = LocalFileSystem::new_with_prefix(dir)
                    .map_err(|e| DestinationError::Config(format!("{}: {e}", dir.display())))?
                    .with_fsync(true);
                Arc::new(local)
            }
            DestinationConfig::S3 {
                bucket,
                prefix,
                endpoint,
                region,
                access_key_id,
                secret_access_key,
                allow_http,
            } => {
                // reqwest is built with rustls but no provider: the process's must be ring.
                // An error only means one is installed already.
                let _ = rustls::crypto::ring::default_provider().install_default();
                if bucket.is_empty() || bucket.contains('/') {
                    return Err(DestinationError::Config(format!("{bucket:?} is not a bucket name")));
                }
                if let Some(endpoint) = endpoint
                    && endpoint.starts_with("http://")
                    && !allow_http
                {
                    return Err(DestinationError::Config(format!(
                        "the endpoint {endpoint} is plain HTTP; set CLOWDER_BACKUP_S3_ALLOW_HTTP=true to allow it"
                    )));
                }
                let retry = RetryConfig {
                    backoff: BackoffConfig {
                        init_backoff: Duration::from_millis(100),
                        max_backoff: Duration::from_secs(10),
                        base: 2.0,
                    },
                    max_retries: 4,
                    retry_timeout: Duration::from_secs(30),
                };
                let client = ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(Duration::from_secs(120))
                    .with_allow_http(*allow_http);
                let mut builder = AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_region(region)
                    .with_access_key_id(access_key_id)
                    .with_secret_access_key(secret_access_key)
                    .with_allow_http(*allow_http)
                    .with_retry(retry)
                    .with_client_options(client);
                if let Some(endpoint) = endpoint {
                    builder = builder.with_endpoint(endpoint);
                }
                let s3 = builder.build().map_err(|e| DestinationError::Config(format!("{description}: {e}")))?;
                let prefix = prefix.trim_matches('/');
                if prefix.is_empty() {
                    Arc::new(s3)
                } else {
                    let prefix = ObjectPath::parse(prefix)
                        .map_err(|e| DestinationError::Config(format!("the prefix {prefix:?}: {e}")))?;
                    Arc::new(PrefixStore::new(s3, prefix))
                }
            }
        };
        Ok(Destination { store, description, retry: UploadRetry::default() })
    }

    /// The same destination with another retry policy for `put_file` (tests use short waits).
    pub fn with_upload_retry(mut self, retry: UploadRetry) -> Destination {
        self.retry = retry;
        self
    }

    /// `/srv/backups` or `s3://bucket/prefix`; never a key.
    pub fn describe(&self) -> String {
        self.description.clone()
    }

    /// Uploads the file at `path` as `name` and returns its size. Streamed (a file over 8 MiB
    /// goes up as a multipart upload, at most a few parts in memory) and atomic: if it fails,
    /// nothing is left under `name` (a half-done multipart upload is aborted). An unreachable
    /// destination is tried again a few times (logged at warn) before the error is returned.
    pub async fn put_file(&self, name: &str, path: &Path) -> Result<u64, DestinationError> {
        let location = object_path(name)?;
        let mut attempt = 0;
        let mut backoff = self.retry.first_backoff;
        loop {
            attempt += 1;
            match self.upload_once(&location, path).await {
                Err(e @ DestinationError::Unreachable { .. }) if attempt <= self.retry.retries => {
                    tracing::warn!(
                        destination = %self.description,
                        object = name,
                        attempt,
                        retry_in_ms = backoff.as_millis() as u64,
                        error = %e,
                        "backup upload failed; trying again"
                    );
                    tokio::time::sleep(backoff).await;
                    backoff = backoff.saturating_mul(3);
                }
                other => return other,
            }
        }
    }

    /// One try of `put_file`.
    async fn upload_once(&self, location: &ObjectPath, path: &Path) -> Result<u64, DestinationError> {
        let mut file = tokio::fs::File::open(path).await.map_err(|e| io_context(e, "opening", path))?;
        let len = file.metadata().await.map_err(|e| io_context(e, "reading", path))?.len();
        if len <= PART_SIZE as u64 {
            // Small enough to hold: one request, atomic by itself.
            let mut bytes = Vec::with_capacity(len as usize);
            file.read_to_end(&mut bytes).await.map_err(|e| io_context(e, "reading", path))?;
            let size = bytes.len() as u64;
            self.store
                .put(location, PutPayload::from(bytes))
                .await
                .map_err(|e| self.error(e, Operation::Write, location))?;
            return Ok(size);
        }
        let upload = self.store.put_multipart(location).await.map_err(|e| self.error(e, Operation::Write, location))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut buf = vec![0u8; READ_CHUNK];
        let mut size = 0u64;
        let outcome = loop {
            let n = match file.read(&mut buf).await {
                Ok(0) => break Ok(()),
                Ok(n) => n,
                Err(e) => break Err(io_context(e, "reading", path)),
            };
            // Back pressure: wait for a part to finish before buffering beyond the limit.
            if let Err(e) = writer.wait_for_capacity(PART_CONCURRENCY).await {
                break Err(self.error(e, Operation::Write, location));
            }
            writer.write(&buf[..n]);
            size += n as u64;
        };
        match outcome {
            Ok(()) => {
                // `finish` aborts the upload itself when a part or the completion fails.
                writer.finish().await.map_err(|e| self.error(e, Operation::Write, location))?;
                Ok(size)
            }
            Err(e) => {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(
                        destination = %self.description,
                        object = %location,
                        error = %abort,
                        "a failed multipart upload could not be aborted; its parts stay until the bucket's lifecycle rule removes them"
                    );
                }
                Err(e)
            }
        }
    }

    /// Uploads `bytes` as `name` (a manifest): one request, atomic.
    pub async fn put_bytes(&self, name: &str, bytes: Vec<u8>) -> Result<(), DestinationError> {
        let location = object_path(name)?;
        self.store
            .put(&location, PutPayload::from(bytes))
            .await
            .map_err(|e| self.error(e, Operation::Write, &location))?;
        Ok(())
    }

    /// Downloads `name` into the file `path` (streamed) and returns its size. The file appears
    /// whole or not at all: it is written beside `path` and renamed into place.
    pub async fn get_to_file(&self, name: &str, path: &Path) -> Result<u64, DestinationError> {
        let location = object_path(name)?;
        let result = self.store.get(&location).await.map_err(|e| self.error(e, Operation::Read, &location))?;
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        let written = async {
            let mut file = tokio::fs::File::create(&partial).await.map_err(|e| io_context(e, "creating", &partial))?;
            let mut stream = result.into_stream();
            let mut size = 0u64;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| self.error(e, Operation::Read, &location))?;
                file.write_all(&chunk).await.map_err(|e| io_context(e, "writing", &partial))?;
                size += chunk.len() as u64;
            }
            file.sync_all().await.map_err(|e| io_context(e, "writing", &partial))?;
            tokio::fs::rename(&partial, path).await.map_err(|e| io_context(e, "renaming", &partial))?;
            Ok(size)
        }
        .await;
        if written.is_err() {
            let _ = tokio::fs::remove_file(&partial).await;
        }
        written
    }

    /// Downloads `name` into memory (a manifest).
    pub async fn get_bytes(&self, name: &str) -> Result<Vec<u8>, DestinationError> {
        let location = object_path(name)?;
        let result = self.store.get(&location).await.map_err(|e| self.error(e, Operation::Read, &location))?;
        let bytes = result.bytes().await.map_err(|e| self.error(e, Operation::Read, &location))?;
        Ok(bytes.to_vec())
    }

    /// Every object under the prefix (in no particular order), with names relative to it.
    pub async fn list(&self) -> Result<Vec<ObjectInfo>, DestinationError> {
        let mut stream = self.store.list(None);
        let mut objects = Vec::new();
        while let Some(meta) = stream.next().await {
            let meta = meta.map_err(|e| self.error(e, Operation::List, &ObjectPath::ROOT))?;
            let at = meta.last_modified;
            let modified = jiff::Timestamp::new(at.timestamp(), at.timestamp_subsec_nanos() as i32)
                .map_err(|e| self.unreachable(format!("{} has a bad modification time: {e}", meta.location)))?;
            objects.push(ObjectInfo { name: meta.location.to_string(), size: meta.size, modified });
        }
        Ok(objects)
    }

    /// Deletes `name`; deleting an object that does not exist succeeds.
    pub async fn delete(&self, name: &str) -> Result<(), DestinationError> {
        let location = object_path(name)?;
        match self.store.delete(&location).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error(e, Operation::Delete, &location)),
        }
    }

    fn unreachable(&self, cause: String) -> DestinationError {
        DestinationError::Unreachable { destination: self.description.clone(), cause }
    }

    fn refused(&self, cause: String) -> DestinationError {
        DestinationError::Refused { destination: self.description.clone(), cause }
    }

    /// Maps object_store's error to ours. object_store has already retried what it deems
    /// transient (5xx, 429, connection failures) by then.
    fn error(&self, e: object_store::Error, operation: Operation, location: &ObjectPath) -> DestinationError {
        let text = cause(&e);
        // S3 says 404 both for a missing object and a missing bucket; only the body tells.
        if text.contains("NoSuchBucket") {
            return self.refused(format!("the bucket does not exist ({text})"));
        }
        match e {
            object_store::Error::NotFound { .. } if operation == Operation::Read => {
                DestinationError::NotFound { destination: self.description.clone(), name: location.to_string() }
            }
            object_store::Error::NotFound { .. } => self.refused(text),
            object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. } => {
                self.refused(format!("access denied ({text})"))
            }
            object_store::Error::Generic { ref source, .. } => match classify(source.as_ref()) {
                Failure::Transport | Failure::Status(500..=599 | 429 | 408) => self.unreachable(text),
                Failure::Status(_) => self.refused(text),
                Failure::Io(kind) => match kind {
                    std::io::ErrorKind::StorageFull
                    | std::io::ErrorKind::QuotaExceeded
                    | std::io::ErrorKind::PermissionDenied
                    | std::io::ErrorKind::ReadOnlyFilesystem
                    | std::io::ErrorKind::NotADirectory
                    | std::io::ErrorKind::IsADirectory
                    | std::io::ErrorKind::NotFound => self.refused(text),
                    _ => self.unreachable(text),
                },
                // Anything else (a malformed answer, say) may pass: treat it as transient.
                Failure::Unknown => self.unreachable(text),
            },
            _ => self.refused(text),
        }
    }
}

/// An object_store error as one line: its message, the causes beneath it that it does not
/// already say ("Connection refused" lies four levels down), and an S3 XML error body cut to
/// its code and message.
fn cause(e: &object_store::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let message = s.to_string();
        if !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        source = s.source();
    }
    let between = |xml: &str, open: &str, close: &str| {
        let start = xml.find(open)? + open.len();
        Some(xml[start..].split(close).next()?.to_owned())
    };
    if let Some(start) = text.find("<?xml").or_else(|| text.find("<Error>")) {
        let xml = &text[start..];
        let end = xml.find("</Error>").map_or(text.len(), |at| start + at + "</Error>".len());
        let code = between(xml, "<Code>", "</Code>").unwrap_or_default();
        let message = between(xml, "<Message>", "</Message>").unwrap_or_default();
        text.replace_range(start..end, &format!("{code}: {message}"));
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What lies at the bottom of an object_store error.
#[derive(Debug, PartialEq, Eq)]
enum Failure {
    /// The request did not get an answer (connection refused or reset, timeout).
    Transport,
    /// The server answered with this status.
    Status(u16),
    /// The local file system failed.
    Io(std::io::ErrorKind),
    Unknown,
}

/// Walks an error's source chain. object_store's HTTP errors are public
/// (`object_store::client::HttpError`) but its retry error, which holds the status, is
/// not: the status is read from its message ("Server returned non-2xx status code: 503 ...").
fn classify(error: &(dyn std::error::Error + 'static)) -> Failure {
    let mut current = Some(error);
    while let Some(e) = current {
        if e.downcast_ref::<object_store::client::HttpError>().is_some() {
            return Failure::Transport;
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Failure::Io(io.kind());
        }
        if let Some(status) = status_in(&e.to_string()) {
            return Failure::Status(status);
        }
        current = e.source();
    }
    Failure::Unknown
}

/// The HTTP status in object_store's "Server returned non-2xx status code: 503 ..." message.
fn status_in(message: &str) -> Option<u16> {
    const MARK: &str = "status code: ";
    let at = message.find(MARK)? + MARK.len();
    message.get(at..at + 3)?.parse().ok().filter(|s| (100..600).contains(s))
}

/// An object's path from its plain name (`<id>.clowder-backup`): letters, digits, `.`, `-`
/// and `_` only, so a name is the same on every destination and cannot escape the prefix
/// (nor look like the local store's `name#n` staging files).
fn object_path(name: &str) -> Result<ObjectPath, DestinationError> {
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if !plain {
        return Err(DestinationError::Config(format!("{name:?} is not a plain object name")));
    }
    ObjectPath::parse(name).map_err(|e| DestinationError::Config(format!("{name:?}: {e}")))
}

fn io_context(e: std::io::Error, doing: &str, path: &Path) -> DestinationError {
    DestinationError::Io(std::io::Error::new(e.kind(), format!("{doing} {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3(secret: &str) -> DestinationConfig {
        DestinationConfig::S3 {
            bucket: "clinic-backups".into(),
            prefix: "main-street".into(),
            endpoint: Some("https://s3.example.net".into()),
            region: "eu-west-1".into(),
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: secret.into(),
            allow_http: false,
        }
    }

    #[test]
    fn a_config_never_shows_its_secret() {
        let config = s3("wJalrXUtnFEMI-secret");
        assert!(!format!("{config:?}").contains("wJalrXUtnFEMI"));
        assert!(format!("{config:?}").contains("AKIDEXAMPLE"));
        assert_eq!(config.describe(), "s3://clinic-backups/main-street");
        let destination = Destination::open(&config).unwrap();
        assert_eq!(destination.describe(), "s3://clinic-backups/main-street");
        assert!(!format!("{destination:?}").contains("wJalrXUtnFEMI"));
    }

    #[test]
    fn settings_name_one_destination() {
        fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
            move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        }
        assert_eq!(DestinationConfig::from_vars(vars(&[])).unwrap(), None);
        assert_eq!(
            DestinationConfig::from_vars(vars(&[("CLOWDER_BACKUP_DIR", "/srv/backups")])).unwrap(),
            Some(DestinationConfig::Local { dir: "/srv/backups".into() })
        );
        let both = [("CLOWDER_BACKUP_DIR", "/srv/backups"), ("CLOWDER_BACKUP_S3_BUCKET", "b")];
        assert!(matches!(DestinationConfig::from_vars(vars(&both)), Err(DestinationError::Config(_))));
        let no_secret = [("CLOWDER_BACKUP_S3_BUCKET", "b"), ("CLOWDER_BACKUP_S3_ACCESS_KEY_ID", "id")];
        let err = DestinationConfig::from_vars(vars(&no_secret)).unwrap_err().to_string();
        assert!(err.contains("CLOWDER_BACKUP_S3_SECRET_ACCESS_KEY"), "{err}");
        let full = [
            ("CLOWDER_BACKUP_S3_BUCKET", "b"),
            ("CLOWDER_BACKUP_S3_PREFIX", "clinic"),
            ("CLOWDER_BACKUP_S3_ENDPOINT", "http://127.0.0.1:9000"),
            ("CLOWDER_BACKUP_S3_ACCESS_KEY_ID", "id"),
            ("CLOWDER_BACKUP_S3_SECRET_ACCESS_KEY", "secret"),
            ("CLOWDER_BACKUP_S3_ALLOW_HTTP", "true"),
        ];
        assert_eq!(
            DestinationConfig::from_vars(vars(&full)).unwrap(),
            Some(DestinationConfig::S3 {
                bucket: "b".into(),
                prefix: "clinic".into(),
                endpoint: Some("http://127.0.0.1:9000".into()),
                region: "us-east-1".into(),
                access_key_id: "id".into(),
                secret_access_key: "secret".into(),
                allow_http: true,
            })
        );
    }

    #[test]
    fn a_plain_http_endpoint_needs_allow_http() {
        let DestinationConfig::S3 { bucket, prefix, region, access_key_id, secret_access_key, .. } = s3("s") else {
            unreachable!()
        };
        let config = DestinationConfig::S3 {
            bucket,
            prefix,
            endpoint: Some("http://127.0.0.1:9000".into()),
            region,
            access_key_id,
            secret_access_key,
            allow_http: false,
        };
        let Err(DestinationError::Config(message)) = Destination::open(&config) else { panic!("plain HTTP accepted") };
        assert!(message.contains("CLOWDER_BACKUP_S3_ALLOW_HTTP"), "{message}");
    }

    #[test]
    fn object_names_are_plain() {
        for good in ["01J8Z3.clowder-backup", "01J8Z3.manifest.json", "a_b-c"] {
            assert!(object_path(good).is_ok(), "{good}");
        }
        for bad in ["", "..", ".hidden", "a/b", "../x", "a#1", "a b", "é"] {
            assert!(matches!(object_path(bad), Err(DestinationError::Config(_))), "{bad}");
        }
    }

    #[derive(Debug, thiserror::Error)]
    #[error("Error performing PUT http://h/b/k in 1s - Server returned non-2xx status code: {0} Whatever: <Error/>")]
    struct Answered(u16);

    fn generic(source: impl std::error::Error + Send + Sync + 'static) -> object_store::Error {
        object_store::Error::Generic { store: "S3", source: Box::new(source) }
    }

    #[test]
    fn errors_map_to_what_the_operator_can_do() {
        let d = Destination::open(&s3("s")).unwrap();
        let at = ObjectPath::from("x");
        let unreachable = |e: &DestinationError| matches!(e, DestinationError::Unreachable { .. });
        let refused = |e: &DestinationError| matches!(e, DestinationError::Refused { .. });
        assert!(unreachable(&d.error(generic(Answered(503)), Operation::Write, &at)));
        assert!(unreachable(&d.error(generic(Answered(429)), Operation::Write, &at)));
        assert!(refused(&d.error(generic(Answered(400)), Operation::Write, &at)));
        let full = std::io::Error::new(std::io::ErrorKind::StorageFull, "No space left on device");
        assert!(refused(&d.error(generic(full), Operation::Write, &at)));
        let denied = object_store::Error::PermissionDenied { path: "x".into(), source: Box::new(Answered(403)) };
        assert!(refused(&d.error(denied, Operation::Read, &at)));
        let missing = || object_store::Error::NotFound { path: "x".into(), source: Box::new(Answered(404)) };
        assert!(matches!(d.error(missing(), Operation::Read, &at), DestinationError::NotFound { .. }));
        assert!(refused(&d.error(missing(), Operation::Write, &at)));
        let e = d.error(generic(Answered(503)), Operation::Write, &at);
        assert!(
            e.to_string().starts_with("the destination s3://clinic-backups/main-street could not be reached: "),
            "{e}"
        );
    }

    #[test]
    fn a_cause_is_one_line_with_s3_s_code_and_message() {
        #[derive(Debug, thiserror::Error)]
        #[error(
            "Server returned non-2xx status code: 404 Not Found: <?xml version=\"1.0\"?>\n<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><RequestId>x</RequestId></Error>"
        )]
        struct Body;
        #[derive(Debug, thiserror::Error)]
        #[error("HTTP error: error sending request")]
        struct Outer(#[source] std::io::Error);
        let missing = object_store::Error::NotFound { path: "k".into(), source: Box::new(Body) };
        assert_eq!(
            cause(&missing),
            "Object at location k not found: Server returned non-2xx status code: 404 Not Found: \
             NoSuchBucket: The specified bucket does not exist"
        );
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused (os error 111)");
        assert_eq!(
            cause(&generic(Outer(refused))),
            "Generic S3 error: HTTP error: error sending request: Connection refused (os error 111)"
        );
    }

    #[test]
    fn the_status_is_read_from_object_stores_message() {
        assert_eq!(status_in("Server returned non-2xx status code: 503 Service Unavailable: "), Some(503));
        assert_eq!(status_in("Server returned non-2xx status code: 40"), None);
        assert_eq!(status_in("connection refused"), None);
    }
}
