//! Secrets and hashing in one place: random secrets (tokens, credentials, generated
//! passwords), the SHA-256 under which bearer secrets are stored, and argon2id for passwords
//! and PINs on tokio's blocking pool, at most `Ctx::hashing` at once. Nothing else in Clowder
//! draws secrets or hashes them.
//!
//! argon2's working memory (19 MiB per check with the default parameters) is an anonymous
//! mapping of its own, unmapped as soon as the hash is computed: from the allocator, freed
//! memory of that size stayed in the process until the allocator's next purge, so an idle
//! server sat 19 MiB above its resting size after one sign-in (docs/performance.md, "Memory").

use argon2::password_hash::{Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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
        hash_new(password.as_bytes(), salt.as_salt()).map_err(|e| Error::Internal(format!("hashing failed: {e}")))
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
}

/// True if `password` matches the argon2 `hash` (on the blocking pool, within `ctx.hashing`).
pub(crate) async fn verify_password(ctx: &Ctx, password: String, hash: String) -> Result<bool> {
    let _permit = ctx.hashing.acquire().await.map_err(|e| Error::Internal(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        let Ok(parsed) = PasswordHash::new(&hash) else { return false };
        matches(password.as_bytes(), &parsed)
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))
}

/// The PHC string of `password` hashed with argon2id and the default parameters.
fn hash_new(password: &[u8], salt: Salt<'_>) -> argon2::password_hash::Result<String> {
    let params = Params::default();
    let output = compute(&Argon2::default(), &params, password, salt, Params::DEFAULT_OUTPUT_LEN)?;
    let hash = PasswordHash {
        algorithm: Algorithm::default().ident(),
        version: Some(Version::default().into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(salt),
        hash: Some(output),
    };
    Ok(hash.to_string())
}

/// True if `password` hashes to `hash` under the algorithm, version and parameters it names.
fn matches(password: &[u8], hash: &PasswordHash<'_>) -> bool {
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else { return false };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm) else { return false };
    let Ok(version) = hash.version.map(Version::try_from).transpose() else { return false };
    let Ok(params) = Params::try_from(hash) else { return false };
    let argon2 = Argon2::new(algorithm, version.unwrap_or_default(), params.clone());
    // `Output`'s equality is constant-time.
    compute(&argon2, &params, password, salt, expected.len()).is_ok_and(|computed| computed == expected)
}

fn compute(
    argon2: &Argon2<'_>,
    params: &Params,
    password: &[u8],
    salt: Salt<'_>,
    len: usize,
) -> argon2::password_hash::Result<Output> {
    let mut salt_bytes = [0u8; Salt::MAX_LENGTH];
    let salt = salt.decode_b64(&mut salt_bytes)?;
    let mut memory = Scratch::new(params.block_count()).map_err(|_| argon2::password_hash::Error::Crypto)?;
    Output::init_with(len, |out| Ok(argon2.hash_password_into_with_memory(password, salt, out, &mut memory)?))
}

/// argon2's blocks in an anonymous mapping of their own, given back to the OS when dropped.
struct Scratch {
    map: memmap2::MmapMut,
    blocks: usize,
}

impl Scratch {
    fn new(blocks: usize) -> std::io::Result<Self> {
        Ok(Self { map: memmap2::MmapMut::map_anon(blocks.max(1) * Block::SIZE)?, blocks })
    }
}

impl AsMut<[Block]> for &mut Scratch {
    fn as_mut(&mut self) -> &mut [Block] {
        // SAFETY: the mapping is page-aligned (a Block needs 64 bytes' alignment) and
        // `blocks * Block::SIZE` bytes long; the kernel fills it with zeros, a valid Block (plain
        // u64s); the slice borrows `self`, so the mapping outlives it and nothing else aliases it.
        unsafe { std::slice::from_raw_parts_mut(self.map.as_mut_ptr().cast::<Block>(), self.blocks) }
    }
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    use super::*;

    #[test]
    fn hashes_in_own_memory_agree_with_the_argon2_crate_both_ways() {
        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        let ours = hash_new(b"Purring-Kettle-2026", salt.as_salt()).unwrap();
        let theirs = Argon2::default().hash_password(b"Purring-Kettle-2026", &salt).unwrap().to_string();
        assert_eq!(ours, theirs);
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"Purring-Kettle-2026", &parsed).is_ok());
        assert!(matches(b"Purring-Kettle-2026", &parsed));
        assert!(!matches(b"Purring-Kettle-2025", &parsed));
        // A hash made with other parameters (an older policy) is checked under its own.
        let params = Params::new(8 * 1024, 3, 1, None).unwrap();
        let older = Argon2::new(Algorithm::Argon2id, Version::V0x13, params).hash_password(b"pin-2468", &salt).unwrap();
        assert!(matches(b"pin-2468", &older));
        assert!(!matches(b"pin-2469", &older));
        let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x10, Params::new(64, 1, 1, None).unwrap())
            .hash_password(b"pin-2468", &salt)
            .unwrap();
        assert!(matches(b"pin-2468", &argon2i));
    }
}
