//! Staff accounts and sign-in sessions: the `Accounts` service and the types it answers with.
//!
//! The work is split by concern: `user.rs` is the per-user actor (create, change, reset,
//! own password, sign-in, lockout, PIN and PIN unlock, the last-administrator guard);
//! `second_factor.rs` its TOTP enrolment, check and recovery codes; `sessions.rs` sessions
//! (issue, token look-up, idle and absolute expiry, last seen, the per-user limit,
//! revocation). Secrets and hashing are `crate::secrets`.
//!
//! **Passwords** are hashed with argon2id (OWASP parameters: 19 MiB, 2 passes) on tokio's
//! blocking pool, never on the async workers. New passwords follow
//! `clowder_schemas::passwords` (NIST SP 800-63B). A wrong username and a wrong password are
//! indistinguishable, in answer and in timing (an unknown user is verified against a dummy
//! hash). Over-long passwords are refused before any hashing.

mod second_factor;
mod sessions;
mod user;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use clowder_schemas::access::Permissions;
use clowder_schemas::audit::{AuditDraft, Caller, Outcome};
use clowder_schemas::devices::Device;
use clowder_schemas::users::{Session, UpdateUser, User, parse_username};
use clowder_schemas::values::Email;
use clowder_schemas::{SessionId, UserId, ValidationError, passwords};
use jiff::{SignedDuration, Timestamp};

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::runtime::{Registry, Reply};
use crate::secrets::{hash_password, random_secret, verify_password};
use crate::staff::roles::Roles;
use crate::store::tables::unique;
use crate::store::{ChangeSet, RecordTable};

pub(crate) use sessions::end_session;
use user::{Loader, Msg, SignIn, UserActor};

/// A staff account to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub email: Option<Email>,
    pub password: String,
    pub roles: Vec<String>,
    pub must_change_password: bool,
}

/// A signed-in staff member, as resolved from a session token.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub session: Session,
    /// Effective permissions from the user's roles, as of this request.
    pub permissions: Permissions,
    /// A role requires second-factor sign-in that the user has not set up yet.
    pub totp_enrollment_required: bool,
}

/// Checks a password chosen for an account (see `clowder_schemas::passwords`).
pub fn check_password(field: &str, password: &str, username: &str) -> Result<(), ValidationError> {
    passwords::check_new_password(field, password, username)
}

fn too_long(password: &str) -> bool {
    password.len() > passwords::MAX_CHARS * 4 || password.chars().count() > passwords::MAX_CHARS
}

fn to_signed(d: std::time::Duration) -> SignedDuration {
    SignedDuration::try_from(d).unwrap_or(SignedDuration::from_hours(24))
}

/// `at + d`, saturating at the end of time.
fn after(at: Timestamp, d: std::time::Duration) -> Timestamp {
    at.checked_add(to_signed(d)).unwrap_or(Timestamp::MAX)
}

/// The second factor offered with a password sign-in.
#[derive(Debug, Clone, Default)]
pub struct SecondFactor {
    pub totp_code: Option<String>,
    pub recovery_code: Option<String>,
}

/// Staff accounts and sessions. Commands on an account go to its actor (`user.rs`); the
/// session methods (`authenticate`, `session_active`, `sessions`, `revoke`, `revoke_all`,
/// `logout`) are in `sessions.rs`.
#[derive(Clone)]
pub struct Accounts {
    ctx: Arc<Ctx>,
    roles: Roles,
    reg: Registry<UserActor, Loader>,
    /// Verified against when the username is unknown, so timing does not reveal it.
    dummy_hash: Arc<tokio::sync::OnceCell<String>>,
    /// Last request per session, newer than what the store holds.
    seen: Arc<Mutex<HashMap<SessionId, Timestamp>>>,
    /// When a background write of "last seen" was last started, per session, so a busy
    /// session starts one write per interval rather than one per request.
    persisting: Arc<Mutex<HashMap<SessionId, Timestamp>>>,
}

const KIND: &str = "user";

impl Accounts {
    pub(crate) fn new(ctx: Arc<Ctx>, roles: Roles) -> Self {
        let reg = Registry::new(Loader::new(ctx.clone(), roles.clone()), ctx.config.actors, ctx.metrics.for_kind(KIND));
        Self { ctx, roles, reg, dummy_hash: Arc::default(), seen: Arc::default(), persisting: Arc::default() }
    }

    async fn ask<R>(&self, id: UserId, make: impl FnOnce(Reply<Result<R>>) -> Msg) -> Result<R> {
        self.reg.ask(id.as_u128(), make).await.map_err(|e| Error::from_ask(KIND, e))?
    }

    pub(crate) fn stop_all(&self) {
        self.reg.stop_all();
    }

    /// Number of staff accounts (0 on a fresh store).
    pub fn user_count(&self) -> Result<u64> {
        Ok(self.ctx.store.read()?.count(RecordTable::Users)?)
    }

    /// Creates a staff account.
    pub async fn create_user(&self, new: NewUser, caller: &Caller) -> Result<User> {
        let id = UserId::from_ulid(self.ctx.new_ulid());
        let caller = Box::new(caller.clone());
        self.ask(id, |reply| Msg::Create { new: Box::new(new), caller, reply }).await
    }

    /// Creates a staff account on behalf of `grantor`, who must hold every permission of the
    /// roles given.
    pub async fn create_user_as(&self, new: NewUser, grantor: &Permissions, caller: &Caller) -> Result<User> {
        for (i, r) in new.roles.iter().enumerate() {
            if !self.roles.exists(&r.trim().to_lowercase()) {
                return Err(ValidationError::new(format!("roles[{i}]"), format!("{r:?} is not a role")).into());
            }
        }
        let names: Vec<String> = new.roles.iter().map(|r| r.trim().to_lowercase()).collect();
        Roles::check_grantor(grantor, &self.roles.effective(&names).as_grants())?;
        self.create_user(new, caller).await
    }

    pub async fn get(&self, id: UserId) -> Result<User> {
        self.ask(id, |reply| Msg::Get { reply }).await
    }

    /// One page of users in creation order; `active` `None` lists all.
    pub fn list(&self, active: Option<bool>, after: Option<u128>, limit: usize) -> Result<(Vec<User>, Option<u128>)> {
        let reader = self.ctx.store.read()?;
        let keep = |u: &User| active.is_none_or(|a| a == u.active);
        Ok(crate::records::page::scan_page(&reader, RecordTable::Users, after, limit, keep, |u| u.id.as_u128())?)
    }

    /// Refuses to act on an account that holds permissions the acting user lacks: a user
    /// manager cannot reset an administrator's password or deactivate them.
    fn check_power_over(&self, id: UserId, actor: &Permissions) -> Result<()> {
        let target =
            self.ctx.store.read()?.get::<User>(RecordTable::Users, id.as_u128())?.ok_or(Error::UserNotFound(id))?;
        Roles::check_grantor(actor, &self.roles.effective(&target.roles).as_grants())
    }

    pub async fn update(&self, id: UserId, patch: UpdateUser, grantor: &Permissions, caller: &Caller) -> Result<User> {
        self.check_power_over(id, grantor)?;
        let (patch, grantor, caller) = (Box::new(patch), Box::new(grantor.clone()), Box::new(caller.clone()));
        self.ask(id, |reply| Msg::Update { patch, grantor, caller, reply }).await
    }

    /// An administrator's reset: the user must change the password at next sign-in, and
    /// every session of theirs ends.
    pub async fn reset_password(
        &self,
        id: UserId,
        password: String,
        actor: &Permissions,
        caller: &Caller,
    ) -> Result<User> {
        self.check_power_over(id, actor)?;
        let caller = Box::new(caller.clone());
        self.ask(id, |reply| Msg::ResetPassword { password, caller, reply }).await
    }

    /// Changes one's own password; every other session of the user ends.
    pub async fn change_password(
        &self,
        who: &Principal,
        current: String,
        new: String,
        caller: &Caller,
    ) -> Result<User> {
        let (keep, caller) = (who.session.id, Box::new(caller.clone()));
        self.ask(who.user.id, |reply| Msg::ChangePassword { current, new, keep, caller, reply }).await
    }

    /// Signs in with a username and password; returns the user, the new session and its
    /// bearer token (shown once).
    pub async fn login(&self, username: &str, password: &str, second: SecondFactor, caller: &Caller) -> Result<SignIn> {
        let id = if too_long(password) { None } else { self.find_by_username(username)? };
        let Some(id) = id else {
            let hash = self.dummy_hash().await?;
            let _ = verify_password(&self.ctx, password.chars().take(passwords::MAX_CHARS).collect(), hash).await?;
            let tried: String = username.trim().chars().take(64).collect();
            let mut set = ChangeSet::new();
            set.audit(
                AuditDraft::new(caller, "auth.login_failed")
                    .outcome(Outcome::Failure)
                    .detail(serde_json::json!({ "username": tried })),
            );
            self.ctx.store.commit(set).await?;
            return Err(Error::InvalidCredentials);
        };
        let (password, second, caller) = (password.to_owned(), Box::new(second), Box::new(caller.clone()));
        self.ask(id, |reply| Msg::Login { password, second, caller, reply }).await
    }

    /// Starts second-factor enrolment: returns the secret (base32) and its otpauth URI.
    pub async fn totp_enroll(&self, who: &Principal, password: String, caller: &Caller) -> Result<(String, String)> {
        let caller = Box::new(caller.clone());
        self.ask(who.user.id, |reply| Msg::TotpEnroll { password, caller, reply }).await
    }

    /// Confirms enrolment with a first code; returns ten one-time recovery codes.
    pub async fn totp_confirm(&self, who: &Principal, code: String, caller: &Caller) -> Result<Vec<String>> {
        let caller = Box::new(caller.clone());
        self.ask(who.user.id, |reply| Msg::TotpConfirm { code, caller, reply }).await
    }

    /// Turns second-factor sign-in off (needs the password and a code).
    pub async fn totp_disable(&self, who: &Principal, password: String, code: String, caller: &Caller) -> Result<User> {
        let caller = Box::new(caller.clone());
        self.ask(who.user.id, |reply| Msg::TotpDisable { password, code, caller, reply }).await
    }

    /// Sets or changes one's tablet-unlock PIN (needs the password).
    pub async fn set_pin(&self, who: &Principal, password: String, pin: String, caller: &Caller) -> Result<User> {
        let caller = Box::new(caller.clone());
        self.ask(who.user.id, |reply| Msg::SetPin { password, pin, caller, reply }).await
    }

    /// Unlocks a session on a registered tablet with a PIN. Wrong PINs count; at the limit
    /// PIN unlock is refused until the user signs in with the password.
    pub async fn pin_unlock(&self, username: &str, pin: &str, device: Device, caller: &Caller) -> Result<SignIn> {
        let Some(id) = self.find_by_username(username)? else {
            let hash = self.dummy_hash().await?;
            let _ = verify_password(&self.ctx, pin.chars().take(6).collect(), hash).await?;
            let mut set = ChangeSet::new();
            set.audit(
                AuditDraft::new(caller, "auth.pin_unlock_failed")
                    .outcome(Outcome::Failure)
                    .detail(serde_json::json!({ "username": username.trim().chars().take(64).collect::<String>(), "device_id": device.id })),
            );
            self.ctx.store.commit(set).await?;
            return Err(Error::InvalidCredentials);
        };
        let (pin, device, caller) = (pin.to_owned(), Box::new(device), Box::new(caller.clone()));
        self.ask(id, |reply| Msg::PinUnlock { pin, device, caller, reply }).await
    }

    /// Checks a witness's username and PIN (another staff user standing by a controlled-drug
    /// entry). Wrong PINs count towards the PIN lock like PIN unlock; an unknown username
    /// costs the same time as a known one. Answers the witness's account.
    pub async fn verify_witness(&self, username: &str, pin: &str, caller: &Caller) -> Result<User> {
        let Some(id) = self.find_by_username(username)? else {
            let hash = self.dummy_hash().await?;
            let _ = verify_password(&self.ctx, pin.chars().take(6).collect(), hash).await?;
            let mut set = ChangeSet::new();
            set.audit(
                AuditDraft::new(caller, "auth.witness_failed")
                    .outcome(Outcome::Failure)
                    .detail(serde_json::json!({ "username": username.trim().chars().take(64).collect::<String>() })),
            );
            self.ctx.store.commit(set).await?;
            return Err(Error::InvalidCredentials);
        };
        let (pin, caller) = (pin.to_owned(), Box::new(caller.clone()));
        self.ask(id, |reply| Msg::VerifyWitness { pin, caller, reply }).await
    }

    fn find_by_username(&self, username: &str) -> Result<Option<UserId>> {
        let Ok(name) = parse_username("username", username) else { return Ok(None) };
        Ok(self.ctx.store.read()?.unique_owner(unique::USERNAME, &name)?.map(UserId::from_u128))
    }

    async fn dummy_hash(&self) -> Result<String> {
        self.dummy_hash.get_or_try_init(|| hash_password(&self.ctx, random_secret(18))).await.cloned()
    }
}
