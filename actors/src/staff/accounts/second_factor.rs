//! The second factor of a user account: TOTP enrolment and confirmation, the check at
//! sign-in (with replay refusal), turning it off, and one-time recovery codes (stored as
//! hashes). The codes themselves are `crate::staff::totp`.

use clowder_schemas::ValidationError;
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::users::User;

use super::SecondFactor;
use super::user::UserActor;
use crate::error::{Error, Result};
use crate::secrets::token_hash;
use crate::store::{ChangeSet, RecordTable};

impl UserActor {
    pub(super) fn unix_now(&self) -> u64 {
        self.ctx.clock.now().as_second().max(0) as u64
    }

    /// Checks the second factor of a user who has TOTP on; `Ok(Some(user))` is the user with
    /// the step or recovery code consumed.
    pub(super) fn second_factor(&self, u: &User, second: &SecondFactor) -> Result<Option<User>> {
        let Some(secret) = u.totp_secret.as_deref() else { return Ok(Some(u.clone())) };
        let secret = crate::staff::totp::decode_base32(secret)?;
        if let Some(code) = second.recovery_code.as_deref().filter(|c| !c.trim().is_empty()) {
            let h = token_hash(&normalise_recovery(code));
            if !u.recovery_codes.contains(&h) {
                return Ok(None);
            }
            let left = u.recovery_codes.iter().filter(|c| **c != h).cloned().collect();
            return Ok(Some(User { recovery_codes: left, ..u.clone() }));
        }
        let Some(code) = second.totp_code.as_deref().filter(|c| !c.trim().is_empty()) else {
            return Err(Error::TotpRequired);
        };
        Ok(crate::staff::totp::check(&secret, code, self.unix_now(), u.totp_last_step)?
            .map(|step| User { totp_last_step: Some(step), ..u.clone() }))
    }

    pub(super) async fn totp_enroll(&mut self, password: String, caller: &Caller) -> Result<(String, String)> {
        let cur = self.confirm_password(password, "password", caller, "auth.totp_enroll_failed").await?;
        let secret = crate::staff::totp::new_secret();
        let b32 = crate::staff::totp::base32(&secret);
        let uri = crate::staff::totp::otpauth_uri(&secret, &cur.username)?;
        let u = User { totp_pending: Some(b32.clone()), updated_at: self.ctx.clock.now(), ..cur };
        let mut set = ChangeSet::new();
        set.put(RecordTable::Users, u.id.as_u128(), &u)?;
        set.audit(AuditDraft::new(caller, "auth.totp_enroll_started").record("user", u.id));
        self.ctx.store.commit(set).await?;
        self.state = Some(u);
        Ok((b32, uri))
    }

    pub(super) async fn totp_confirm(&mut self, code: String, caller: &Caller) -> Result<Vec<String>> {
        let cur = self.current()?.clone();
        let Some(pending) = cur.totp_pending.clone() else {
            return Err(ValidationError::new("code", "start with POST /api/auth/totp/enroll").into());
        };
        let Some(step) =
            crate::staff::totp::check(&crate::staff::totp::decode_base32(&pending)?, &code, self.unix_now(), None)?
        else {
            return Err(ValidationError::new("code", "is not the current code of the new authenticator entry").into());
        };
        let codes: Vec<String> = (0..10).map(|_| recovery_code()).collect();
        let u = User {
            totp_secret: Some(pending),
            totp_pending: None,
            totp_last_step: Some(step),
            recovery_codes: codes.iter().map(|c| token_hash(&normalise_recovery(c))).collect(),
            updated_at: self.ctx.clock.now(),
            ..cur
        };
        let mut set = ChangeSet::new();
        set.put(RecordTable::Users, u.id.as_u128(), &u)?;
        set.audit(AuditDraft::new(caller, "auth.totp_enabled").record("user", u.id));
        self.ctx.store.commit(set).await?;
        self.state = Some(u);
        Ok(codes)
    }

    pub(super) async fn totp_disable(&mut self, password: String, code: String, caller: &Caller) -> Result<User> {
        let cur = self.confirm_password(password, "password", caller, "auth.totp_disable_failed").await?;
        let second = SecondFactor { totp_code: Some(code.clone()), recovery_code: Some(code) };
        if cur.totp_secret.is_some() && self.second_factor(&cur, &second).ok().flatten().is_none() {
            return Err(ValidationError::new("code", "is not a current code or an unused recovery code").into());
        }
        let u = User {
            totp_secret: None,
            totp_pending: None,
            totp_last_step: None,
            recovery_codes: Vec::new(),
            updated_at: self.ctx.clock.now(),
            ..cur
        };
        let mut set = ChangeSet::new();
        set.put(RecordTable::Users, u.id.as_u128(), &u)?;
        set.audit(AuditDraft::new(caller, "auth.totp_disabled").record("user", u.id));
        self.ctx.store.commit(set).await?;
        self.state = Some(u.clone());
        Ok(u)
    }
}

/// A recovery code: 10 characters from an unambiguous alphabet, shown as `xxxxx-xxxxx`.
fn recovery_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut raw = [0u8; 10];
    getrandom::fill(&mut raw).expect("the operating system's random source is available");
    let chars: String = raw.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

/// Recovery codes compare without dashes, spaces or case.
fn normalise_recovery(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_two_groups_of_five_unambiguous_characters() {
        for _ in 0..50 {
            let code = recovery_code();
            let (a, b) = code.split_once('-').expect("a dash in the middle");
            assert_eq!((a.len(), b.len()), (5, 5), "{code}");
            // No 0/o, 1/l/i: a code read off paper must not be mistyped.
            assert!(code.chars().filter(|c| *c != '-').all(|c| !"01ilo".contains(c)), "{code}");
        }
    }

    #[test]
    fn a_recovery_code_matches_whatever_case_dashes_or_spaces_it_is_typed_with() {
        let code = recovery_code();
        let stored = normalise_recovery(&code);
        assert_eq!(normalise_recovery(&code.to_uppercase()), stored);
        assert_eq!(normalise_recovery(&format!(" {} ", code.replace('-', " "))), stored);
        assert_eq!(stored.len(), 10);
    }
}
