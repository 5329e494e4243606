//! Secrets and hashing in one place: random secrets (tokens, credentials, generated
//! passwords), the SHA-256 under which bearer secrets are stored, and argon2id for passwords
//! and PINs on tokio's blocking pool, at most `Ctx::hashing` at once. Nothing else in Clowder
//! draws secrets or hashes them.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::store::commit::hex;

/// The SHA-256 of a bearer secret (session token, tablet credential, feed token, recovery
/// code), hex: what the store keeps instead of the secret. The secrets are 256-bit random, so
/// a fast hash is enough.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// A random secret of `bytes` bytes, URL-safe base64 (tokens, generated passwords).
pub fn random_secret(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    // Without OS randomness no session or salt is safe; there is nothing sensible to go on with.
    getrandom::fill(&mut b).expect("the operating system's random source is available");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// argon2 is CPU-bound by design: at most `ctx.hashing` permits run at once, so a burst of
/// sign-ins queues among itself instead of taking every core from the rest of the clinic.
pub(crate) async fn hash_password(ctx: &Ctx, password: String) -> Result<String> {
    let _permit = ctx.hashing.acquire().await.map_err(|e| Error::Internal(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).expect("the operating system's random source is available");
        let salt = SaltString::encode_b64(&salt).map_err(|e| Error::Internal(e.to_string()))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(format!("hashing failed: {e}")))
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
}

/// True if `password` matches the argon2 `hash` (on the blocking pool, within `ctx.hashing`).
pub(crate) async fn verify_password(ctx: &Ctx, password: String, hash: String) -> Result<bool> {
    let _permit = ctx.hashing.acquire().await.map_err(|e| Error::Internal(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        let Ok(parsed) = PasswordHash::new(&hash) else { return false };
        Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))
}
