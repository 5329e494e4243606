//! Time-based one-time passwords (RFC 6238: SHA-1, 6 digits, 30-second steps, one step of
//! clock skew either way) for staff second-factor sign-in, on the totp-rs crate. Time comes
//! from our `Clock`, never the system clock; a step once accepted is never accepted again.

use totp_rs::{Builder, Totp};

use crate::error::Error;

/// Issuer shown in authenticator apps.
pub const ISSUER: &str = "Clowder";

/// A fresh 160-bit secret.
pub fn new_secret() -> [u8; 20] {
    let mut s = [0u8; 20];
    getrandom::fill(&mut s).expect("the operating system's random source is available");
    s
}

fn totp(secret: &[u8], account: &str) -> Result<Totp, Error> {
    Builder::new()
        .with_secret(secret.to_vec())
        .with_account_name(account)
        .with_issuer(Some(ISSUER))
        .build()
        .map_err(|e| Error::Internal(format!("totp: {e}")))
}

/// The `otpauth://` URI an authenticator app scans (as a QR code) or imports.
pub fn otpauth_uri(secret: &[u8], account: &str) -> Result<String, Error> {
    totp(secret, account)?.to_url().map_err(|e| Error::Internal(format!("totp url: {e}")))
}

/// The secret in base32, for typing into an app by hand.
pub fn base32(secret: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for &b in secret {
        buf = (buf << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            out.push(ALPHABET[((buf >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buf << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Decodes base32 (as stored and as shown to users); anything else is an error.
pub fn decode_base32(s: &str) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(20);
    let (mut buf, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return Err(Error::Internal("a TOTP secret is not base32".into())),
        };
        buf = (buf << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            out.push((buf >> (bits - 8)) as u8);
            bits -= 8;
        }
    }
    Ok(out)
}

/// The code for `unix_seconds` (what an authenticator app shows then).
pub fn code_at(secret: &[u8], unix_seconds: u64) -> Result<String, Error> {
    Ok(totp(secret, "code")?.generate(unix_seconds).to_string())
}

/// The step a code is valid for at `unix_seconds`, if it is valid and newer than
/// `last_step` (replay protection).
pub fn check(secret: &[u8], code: &str, unix_seconds: u64, last_step: Option<u64>) -> Result<Option<u64>, Error> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return Ok(None);
    }
    let step = totp(secret, "check")?.check(&code, unix_seconds);
    Ok(step.filter(|s| last_step.is_none_or(|l| *s > l)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 secret "12345678901234567890", truncated to 6 digits.
    #[test]
    fn rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        for (t, code) in
            [(59u64, "287082"), (1_111_111_109, "081804"), (1_234_567_890, "005924"), (2_000_000_000, "279037")]
        {
            assert!(check(secret, code, t, None).unwrap().is_some(), "{t}");
        }
        assert!(check(secret, "287083", 59, None).unwrap().is_none());
    }

    #[test]
    fn a_step_is_accepted_once_and_bad_input_is_just_wrong() {
        let secret = b"12345678901234567890";
        let step = check(secret, "287082", 59, None).unwrap().unwrap();
        assert!(check(secret, "287082", 59, Some(step)).unwrap().is_none(), "replay refused");
        for bad in ["", "12345", "1234567", "abcdef", "２８７０８２"] {
            assert!(check(secret, bad, 59, None).unwrap().is_none());
        }
    }

    #[test]
    fn base32_and_uri() {
        assert_eq!(base32(b"12345678901234567890"), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(decode_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap(), b"12345678901234567890");
        assert!(decode_base32("not base32!").is_err());
        let uri = otpauth_uri(b"12345678901234567890", "drmorgan").unwrap();
        assert!(uri.starts_with("otpauth://totp/Clowder:drmorgan?"), "{uri}");
        assert!(uri.contains("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"), "{uri}");
    }
}
