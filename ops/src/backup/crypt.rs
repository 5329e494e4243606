//! Sealing and opening backup objects: zstd compression, then age encryption to the clinic's
//! recipient (public key). The server holds only the recipient, so a stolen server or bucket
//! does not reveal the records; the identity (private key) is needed to restore and is kept
//! off the server (docs/backups.md).

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::str::FromStr;

use age::secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

/// zstd level: 3 (zstd's default) compresses the store's MessagePack several-fold at a few
/// hundred MB/s on one core, so a backup does not compete long with the clinic's requests.
pub const ZSTD_LEVEL: i32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum CryptError {
    #[error("{0} is not an age recipient (a public key starting with age1)")]
    BadRecipient(String),
    #[error("the identity file {0} holds no age identity")]
    NoIdentity(String),
    #[error("the identity does not open this backup: it was encrypted to another key")]
    WrongKey,
    #[error("the backup object is damaged or is not an age file: {0}")]
    Damaged(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// The clinic's backup recipient (age X25519 public key).
#[derive(Clone)]
pub struct Recipient {
    key: age::x25519::Recipient,
    text: String,
}

impl Recipient {
    pub fn parse(s: &str) -> Result<Recipient, CryptError> {
        let text = s.trim().to_owned();
        let key = age::x25519::Recipient::from_str(&text).map_err(|_| CryptError::BadRecipient(text.clone()))?;
        Ok(Recipient { key, text })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl std::fmt::Debug for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// The identities (private keys) of an age identity file, for restores and verification.
pub struct Identities(Vec<Box<dyn age::Identity + Send + Sync>>);

impl Identities {
    pub fn from_file(path: &Path) -> Result<Identities, CryptError> {
        let file = File::open(path)?;
        let ids = age::IdentityFile::from_buffer(BufReader::new(file))
            .and_then(|f| f.into_identities().map_err(|e| std::io::Error::other(e.to_string())))
            .map_err(|_| CryptError::NoIdentity(path.display().to_string()))?;
        if ids.is_empty() {
            return Err(CryptError::NoIdentity(path.display().to_string()));
        }
        Ok(Identities(ids))
    }
}

/// A new identity: `(identity file text, recipient)`.
pub fn generate() -> (String, String) {
    let id = age::x25519::Identity::generate();
    let recipient = id.to_public().to_string();
    (id.to_string().expose_secret().to_owned(), recipient)
}

/// A writer that hashes and counts what passes through.
pub struct Hashing<W: Write> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Hashing<W> {
    pub fn new(inner: W) -> Self {
        Hashing { inner, hash: Sha256::new(), bytes: 0 }
    }

    /// `(inner, sha256 hex, bytes)`.
    pub fn finish(self) -> (W, String, u64) {
        (self.inner, hex(&self.hash.finalize()), self.bytes)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// SHA-256 of a file, hex, and its length.
pub fn sha256_file(path: &Path) -> Result<(String, u64), std::io::Error> {
    let mut f = BufReader::new(File::open(path)?);
    let mut h = Hashing::new(std::io::sink());
    std::io::copy(&mut f, &mut h)?;
    let (_, sha, n) = h.finish();
    Ok((sha, n))
}

/// A zstd compressor writing into `path` (the local, unencrypted working copy).
pub fn compressor(path: &Path) -> Result<zstd::stream::write::Encoder<'static, BufWriter<File>>, std::io::Error> {
    zstd::stream::write::Encoder::new(BufWriter::new(File::create(path)?), ZSTD_LEVEL)
}

/// Encrypts the compressed file `plain` to `recipient` into `sealed`; SHA-256 and length of
/// the sealed object.
pub fn seal(plain: &Path, recipient: &Recipient, sealed: &Path) -> Result<(String, u64), CryptError> {
    let encryptor = age::Encryptor::with_recipients(std::iter::once(&recipient.key as &dyn age::Recipient))
        .map_err(|e| CryptError::Damaged(e.to_string()))?;
    let out = Hashing::new(BufWriter::new(File::create(sealed)?));
    let mut writer = encryptor.wrap_output(out)?;
    std::io::copy(&mut BufReader::new(File::open(plain)?), &mut writer)?;
    let out = writer.finish()?;
    let (mut file, sha, n) = out.finish();
    file.flush()?;
    file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok((sha, n))
}

/// The backup stream inside a compressed working copy.
pub fn open_plain(path: &Path) -> Result<impl Read, CryptError> {
    Ok(zstd::stream::read::Decoder::new(File::open(path)?)?)
}

/// The backup stream inside a sealed object.
pub fn open_sealed(path: &Path, identities: &Identities) -> Result<impl Read, CryptError> {
    let decryptor = age::Decryptor::new(BufReader::new(File::open(path)?)).map_err(|e| match e {
        age::DecryptError::Io(io) => CryptError::Io(io),
        other => CryptError::Damaged(other.to_string()),
    })?;
    let reader =
        decryptor.decrypt(identities.0.iter().map(|i| i.as_ref() as &dyn age::Identity)).map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => CryptError::WrongKey,
            age::DecryptError::Io(io) => CryptError::Io(io),
            other => CryptError::Damaged(other.to_string()),
        })?;
    Ok(zstd::stream::read::Decoder::new(reader)?)
}
