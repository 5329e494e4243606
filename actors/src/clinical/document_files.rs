//! Document contents on disk, content-addressed: `<data dir>/documents/<first two hex digits of
//! the SHA-256>/<SHA-256>`. An upload is streamed into a temporary file under
//! `documents/.incoming/` while it is hashed and counted (never held in memory), refused as
//! soon as it passes the size limit or its first bytes are not an accepted type, then fsynced,
//! renamed to its hash and the directory fsynced: the record naming it is committed only after
//! that, so a record never names a file that a crash could lose. The same bytes uploaded
//! twice are one file (the second temporary file is dropped). Files are never deleted: a
//! deactivated document keeps its content, as the medical record must.

use std::path::{Path, PathBuf};

use clowder_schemas::documents::{MediaType, SNIFF_BYTES, StoredContent};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::error::{Error, Result};

/// Where document contents live, and the largest one accepted.
#[derive(Debug, Clone)]
pub struct DocumentFiles {
    dir: PathBuf,
    max_bytes: u64,
}

/// The folder under the data directory holding document contents (backups copy it).
pub const DIR: &str = "documents";
const INCOMING: &str = ".incoming";

/// True for a lowercase hex SHA-256 (64 characters): the only names ever joined to a path.
pub fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn io(doing: &str, path: &Path, e: std::io::Error) -> Error {
    Error::Internal(format!("documents: could not {doing} {}: {e}", path.display()))
}

impl DocumentFiles {
    /// The store under `data_dir`; temporary files a crash left behind are removed.
    pub fn new(data_dir: &Path, max_bytes: u64) -> DocumentFiles {
        let dir = data_dir.join(DIR);
        let _ = std::fs::remove_dir_all(dir.join(INCOMING));
        DocumentFiles { dir, max_bytes }
    }

    /// The largest content accepted, bytes.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Where the content with this hash is (or would be).
    pub fn path_of(&self, sha256: &str) -> Result<PathBuf> {
        path_in(&self.dir, sha256).ok_or_else(|| Error::Internal(format!("documents: {sha256:?} is not a SHA-256")))
    }

    /// Starts receiving a new content.
    pub async fn begin(&self) -> Result<Incoming> {
        let dir = self.dir.join(INCOMING);
        tokio::fs::create_dir_all(&dir).await.map_err(|e| io("create", &dir, e))?;
        // Unique within this process; `.incoming/` is emptied at every start.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let path = dir.join(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed).to_string());
        let file = tokio::fs::File::create(&path).await.map_err(|e| io("create", &path, e))?;
        Ok(Incoming {
            files: self.clone(),
            file: Some(file),
            path,
            hasher: Sha256::new(),
            size: 0,
            head: Vec::with_capacity(SNIFF_BYTES),
            media_type: None,
        })
    }

    /// Opens a stored content for reading, checking its length against the record's.
    pub async fn open(&self, sha256: &str, size: u64) -> Result<tokio::fs::File> {
        let path = self.path_of(sha256)?;
        let file = tokio::fs::File::open(&path).await.map_err(|e| io("open", &path, e))?;
        let len = file.metadata().await.map_err(|e| io("read the length of", &path, e))?.len();
        if len != size {
            return Err(Error::Internal(format!(
                "documents: {} has {len} bytes, its record says {size}",
                path.display()
            )));
        }
        Ok(file)
    }

    /// Reads a stored content whole and checks its hash (backup verification, small files).
    pub async fn verify(&self, sha256: &str) -> Result<u64> {
        let path = self.path_of(sha256)?;
        let mut file = tokio::fs::File::open(&path).await.map_err(|e| io("open", &path, e))?;
        let (mut hasher, mut buf, mut size) = (Sha256::new(), vec![0u8; 64 * 1024], 0u64);
        loop {
            let n = file.read(&mut buf).await.map_err(|e| io("read", &path, e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            size += n as u64;
        }
        if hex(&hasher.finalize()) != sha256 {
            return Err(Error::Internal(format!("documents: {} does not hash to its name", path.display())));
        }
        Ok(size)
    }

    /// Every stored content's hash, sorted.
    pub fn list(&self) -> Result<Vec<String>> {
        list_in(&self.dir).map_err(|e| io("list", &self.dir, e))
    }

    /// Writes a content given whole (a consent form's PDF, a restore), like an upload.
    pub async fn put(&self, bytes: &[u8]) -> Result<StoredContent> {
        let mut incoming = self.begin().await?;
        incoming.write(bytes).await?;
        incoming.finish().await
    }
}

/// The hashes of the contents stored under `dir` (a data directory's `documents/`), sorted;
/// none when it does not exist. Backups read it without opening a [`DocumentFiles`].
pub fn list_in(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut all = Vec::new();
    let shards = match std::fs::read_dir(dir) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(all),
        Err(e) => return Err(e),
    };
    for shard in shards {
        let shard = shard?.path();
        if !shard.is_dir() || shard.file_name().is_some_and(|n| n == INCOMING) {
            continue;
        }
        for f in std::fs::read_dir(&shard)? {
            if let Some(n) = f?.file_name().to_str().filter(|n| is_sha256(n)) {
                all.push(n.to_owned());
            }
        }
    }
    all.sort();
    Ok(all)
}

/// Where the content `sha256` goes under `dir` (a data directory's `documents/`).
pub fn path_in(dir: &Path, sha256: &str) -> Option<PathBuf> {
    is_sha256(sha256).then(|| dir.join(&sha256[..2]).join(sha256))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A content being received. Dropped before [`Incoming::finish`], its temporary file is removed.
pub struct Incoming {
    files: DocumentFiles,
    file: Option<tokio::fs::File>,
    path: PathBuf,
    hasher: Sha256,
    size: u64,
    head: Vec<u8>,
    media_type: Option<MediaType>,
}

impl Incoming {
    /// Appends a chunk: refused (and nothing kept) past the size limit, or once the first
    /// [`SNIFF_BYTES`] show a type that is not accepted.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<()> {
        self.size += chunk.len() as u64;
        if self.size > self.files.max_bytes {
            return Err(Error::DocumentTooLarge { max: self.files.max_bytes });
        }
        if self.media_type.is_none() && self.head.len() < SNIFF_BYTES {
            let take = chunk.len().min(SNIFF_BYTES - self.head.len());
            self.head.extend_from_slice(&chunk[..take]);
            if self.head.len() == SNIFF_BYTES {
                self.media_type = Some(MediaType::detect(&self.head).map_err(Error::DocumentTypeRefused)?);
            }
        }
        self.hasher.update(chunk);
        let file = self.file.as_mut().ok_or_else(|| Error::Internal("documents: write after finish".into()))?;
        file.write_all(chunk).await.map_err(|e| io("write", &self.path, e))
    }

    /// Makes the content durable under its hash and says what it is.
    pub async fn finish(mut self) -> Result<StoredContent> {
        let media_type = match self.media_type {
            Some(t) => t,
            None => MediaType::detect(&self.head).map_err(Error::DocumentTypeRefused)?,
        };
        let mut file = self.file.take().ok_or_else(|| Error::Internal("documents: finished twice".into()))?;
        file.flush().await.map_err(|e| io("flush", &self.path, e))?;
        file.sync_all().await.map_err(|e| io("fsync", &self.path, e))?;
        drop(file);
        let sha256 = hex(&std::mem::take(&mut self.hasher).finalize());
        let target = self.files.path_of(&sha256)?;
        let shard = target.parent().unwrap_or(&self.files.dir).to_path_buf();
        if tokio::fs::try_exists(&target).await.unwrap_or(false) {
            // Already stored: the same bytes (its name is their hash). The temporary file goes.
            let _ = tokio::fs::remove_file(&self.path).await;
        } else {
            tokio::fs::create_dir_all(&shard).await.map_err(|e| io("create", &shard, e))?;
            tokio::fs::rename(&self.path, &target).await.map_err(|e| io("rename into", &target, e))?;
            for dir in [&shard, &self.files.dir] {
                let d = tokio::fs::File::open(dir).await.map_err(|e| io("open", dir, e))?;
                d.sync_all().await.map_err(|e| io("fsync", dir, e))?;
            }
        }
        self.path = PathBuf::new();
        Ok(StoredContent { sha256, size: self.size, media_type })
    }
}

impl Drop for Incoming {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_same_bytes_are_one_file_and_a_refused_upload_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let files = DocumentFiles::new(dir.path(), 1000);
        let a = files.put(b"%PDF-1.4 one").await.unwrap();
        let b = files.put(b"%PDF-1.4 one").await.unwrap();
        assert_eq!(a, b);
        assert_eq!(a.media_type, MediaType::Pdf);
        assert_eq!(files.list().unwrap(), std::slice::from_ref(&a.sha256));
        assert_eq!(files.verify(&a.sha256).await.unwrap(), 12);

        let mut big = files.begin().await.unwrap();
        big.write(&[b'a'; 600]).await.unwrap();
        assert!(matches!(big.write(&[b'a'; 600]).await, Err(Error::DocumentTooLarge { max: 1000 })));
        drop(big);
        let mut exe = files.begin().await.unwrap();
        let mut elf = b"\x7fELF".to_vec();
        elf.resize(SNIFF_BYTES, 0);
        assert!(matches!(exe.write(&elf).await, Err(Error::DocumentTypeRefused(_))));
        drop(exe);
        let incoming = std::fs::read_dir(dir.path().join(DIR).join(INCOMING)).unwrap().count();
        assert_eq!(incoming, 0, "refused uploads leave no temporary file");
        assert_eq!(files.list().unwrap().len(), 1);
        assert!(files.path_of("../../etc/passwd").is_err());
    }
}
