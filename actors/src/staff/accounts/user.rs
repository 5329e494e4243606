//! Staff accounts and sign-in sessions.
//!
//! **Users are per-entity actors.** Sign-in attempts, lockout counters, password and role
//! changes of one account are serialised by its actor, so five wrong passwords sent at once
//! still count as five. A change that could remove the last active administrator also takes
//! a clinic-wide lock, so two administrators cannot demote each other at the same moment.
//!
//! **Passwords** are hashed with argon2id (OWASP parameters: 19 MiB, 2 passes) on tokio's
//! blocking pool, never on the async workers. New passwords follow
//! `clowder_schemas::passwords` (NIST SP 800-63B). A wrong username and a wrong password are
//! indistinguishable, in answer and in timing (an unknown user is verified against a dummy
//! hash). Over-long passwords are refused before any hashing.
//!
//! **Sessions** are server-side records found by the SHA-256 of their bearer token; the token
//! itself is never stored. A session ends at its absolute expiry, after an idle period, when
//! revoked, when its user signs in once too often (the oldest goes), or when the user's
//! password or roles change. "Last seen" is tracked in memory and written at most every few
//! minutes, so a busy front desk does not cost a disk flush per request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use clowder_schemas::access::{ADMINISTRATOR, Permissions};
use clowder_schemas::audit::{AuditDraft, Caller, Outcome};
use clowder_schemas::devices::Device;
use clowder_schemas::events::{Author as By, DomainEvent};
use clowder_schemas::patch::Patch;
use clowder_schemas::users::{Session, UpdateUser, User, UserView, parse_username};
use clowder_schemas::values::{Email, MAX_NAME_CHARS, required_text};
use clowder_schemas::{DeviceId, SessionId, UserId, ValidationError, passwords};
use jiff::{SignedDuration, Timestamp};

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::runtime::registry::KeyedFactory;
use crate::runtime::{Actor, Registry, Reply};
use crate::secrets::{hash_password, random_secret, token_hash, verify_password};
use crate::staff::roles::Roles;
use crate::store::tables::unique;
use crate::store::{ChangeSet, IndexTable, RecordTable};

/// How often a session's "last seen" is written to the store at most.
const LAST_SEEN_WRITE_EVERY: SignedDuration = SignedDuration::from_mins(5);

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

/// Adds the removal of a session to a change set.
pub(crate) fn end_session(set: &mut ChangeSet, s: &Session, caller: &Caller, why: &str) {
    end_session_as(set, s, caller, "session.revoke", serde_json::json!({ "session_id": s.id, "why": why }));
}

/// Adds the removal of a session to a change set, audited as `action` with `detail`.
fn end_session_as(set: &mut ChangeSet, s: &Session, caller: &Caller, action: &str, detail: serde_json::Value) {
    let key = s.id.as_u128();
    set.release(unique::SESSION_TOKEN, &s.token_hash, key);
    set.delete(RecordTable::Sessions, key);
    set.unlink(IndexTable::SessionsByUser, s.user_id.as_u128(), key);
    set.event(caller.author(), DomainEvent::SessionEnded { user_id: s.user_id, session_id: s.id });
    set.audit(AuditDraft::new(caller, action).record("user", s.user_id).detail(detail));
}

/// The sessions of a user, oldest first.
fn sessions_of(ctx: &Ctx, user: UserId) -> Result<Vec<Session>> {
    let r = ctx.store.read()?;
    let mut out = Vec::new();
    for key in r.children(IndexTable::SessionsByUser, user.as_u128(), None)? {
        if let Some(s) = r.get::<Session>(RecordTable::Sessions, key)? {
            out.push(s);
        }
    }
    out.sort_by_key(|s| s.created_at);
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// The user actor

pub(crate) struct UserActor {
    id: UserId,
    state: Option<User>,
    ctx: Arc<Ctx>,
    shared: Arc<Shared>,
}

/// What every user actor shares.
struct Shared {
    roles: Roles,
    /// Held by changes that could remove the last active administrator.
    admin_guard: tokio::sync::Mutex<()>,
}

type SignIn = (User, Session, String);

/// The second factor offered with a password sign-in.
#[derive(Debug, Clone, Default)]
pub struct SecondFactor {
    pub totp_code: Option<String>,
    pub recovery_code: Option<String>,
}

/// Large payloads are boxed (see `records::actor::Msg`).
pub(crate) enum Msg {
    Create { new: Box<NewUser>, caller: Box<Caller>, reply: Reply<Result<User>> },
    Get { reply: Reply<Result<User>> },
    Update { patch: Box<UpdateUser>, grantor: Box<Permissions>, caller: Box<Caller>, reply: Reply<Result<User>> },
    ResetPassword { password: String, caller: Box<Caller>, reply: Reply<Result<User>> },
    ChangePassword { current: String, new: String, keep: SessionId, caller: Box<Caller>, reply: Reply<Result<User>> },
    Login { password: String, second: Box<SecondFactor>, caller: Box<Caller>, reply: Reply<Result<SignIn>> },
    TotpEnroll { password: String, caller: Box<Caller>, reply: Reply<Result<(String, String)>> },
    TotpConfirm { code: String, caller: Box<Caller>, reply: Reply<Result<Vec<String>>> },
    TotpDisable { password: String, code: String, caller: Box<Caller>, reply: Reply<Result<User>> },
    SetPin { password: String, pin: String, caller: Box<Caller>, reply: Reply<Result<User>> },
    PinUnlock { pin: String, device: Box<Device>, caller: Box<Caller>, reply: Reply<Result<SignIn>> },
}

impl UserActor {
    fn current(&self) -> Result<&User> {
        self.state.as_ref().ok_or(Error::UserNotFound(self.id))
    }

    fn check_roles(&self, field: &str, names: &[String], grantor: Option<&Permissions>) -> Result<Vec<String>> {
        let mut out: Vec<String> = Vec::new();
        for (i, n) in names.iter().enumerate() {
            let n = n.trim().to_lowercase();
            if !self.shared.roles.exists(&n) {
                return Err(ValidationError::new(format!("{field}[{i}]"), format!("{n:?} is not a role")).into());
            }
            if !out.contains(&n) {
                out.push(n);
            }
        }
        if let Some(g) = grantor {
            // No one hands out permissions they do not hold themselves.
            let granted = self.shared.roles.effective(&out);
            Roles::check_grantor(g, &granted.as_grants())?;
        }
        Ok(out)
    }

    async fn create(&mut self, new: NewUser, caller: &Caller) -> Result<User> {
        if self.state.is_some() {
            return Err(Error::Internal(format!("user id {} already exists", self.id)));
        }
        let username = parse_username("username", &new.username)?;
        let display_name = required_text("display_name", &new.display_name, MAX_NAME_CHARS)?;
        check_password("password", &new.password, &username)?;
        let roles = self.check_roles("roles", &new.roles, None)?;
        let password_hash = hash_password(&self.ctx, new.password).await?;
        let now = self.ctx.clock.now();
        let user = User {
            id: self.id,
            username,
            display_name,
            email: new.email,
            password_hash,
            roles,
            active: true,
            must_change_password: new.must_change_password,
            created_at: now,
            updated_at: now,
            failed_logins: 0,
            locked_until: None,
            pin_hash: None,
            failed_pins: 0,
            pin_locked: false,
            totp_secret: None,
            totp_pending: None,
            totp_last_step: None,
            recovery_codes: Vec::new(),
        };
        let key = user.id.as_u128();
        let mut set = ChangeSet::new();
        set.claim(unique::USERNAME, &user.username, key, "username");
        set.put(RecordTable::Users, key, &user)?;
        set.event(caller.author(), DomainEvent::UserCreated { user: UserView::from(&user) });
        set.audit(
            AuditDraft::new(caller, "user.create")
                .record("user", user.id)
                .detail(serde_json::json!({ "username": user.username, "roles": user.roles })),
        );
        self.ctx.store.commit(set).await?;
        self.state = Some(user.clone());
        Ok(user)
    }

    /// Active administrators other than this user.
    fn other_active_admins(&self) -> Result<usize> {
        let mut n = 0;
        self.ctx.store.read()?.scan::<User>(RecordTable::Users, None, |u| {
            if u.id != self.id && u.active && u.roles.iter().any(|r| r == ADMINISTRATOR) {
                n += 1;
            }
            std::ops::ControlFlow::Continue(())
        })?;
        Ok(n)
    }

    async fn update(&mut self, patch: UpdateUser, grantor: &Permissions, caller: &Caller) -> Result<User> {
        let cur = self.current()?.clone();
        let mut u = cur.clone();
        match &patch.display_name {
            Patch::Keep => {}
            Patch::Clear => {
                return Err(ValidationError::new("display_name", "is required and cannot be cleared").into());
            }
            Patch::Set(d) => u.display_name = required_text("display_name", d, MAX_NAME_CHARS)?,
        }
        match &patch.email {
            Patch::Keep => {}
            Patch::Clear => u.email = None,
            Patch::Set(e) if e.trim().is_empty() => u.email = None,
            Patch::Set(e) => u.email = Some(Email::parse("email", e)?),
        }
        match &patch.roles {
            Patch::Keep => {}
            Patch::Clear => u.roles.clear(),
            Patch::Set(r) => u.roles = self.check_roles("roles", r, None)?,
        }
        match &patch.active {
            Patch::Keep => {}
            Patch::Clear => return Err(ValidationError::new("active", "is required and cannot be cleared").into()),
            Patch::Set(a) => u.active = *a,
        }
        match &patch.locked {
            Patch::Keep => {}
            Patch::Set(true) => {
                return Err(ValidationError::new("locked", "can only be set to false (to lift a lockout)").into());
            }
            Patch::Clear | Patch::Set(false) => {
                u.locked_until = None;
                u.failed_logins = 0;
            }
        }
        let roles_changed = u.roles != cur.roles;
        if roles_changed {
            // The granting user must hold every permission of the roles they hand out.
            let added: Vec<String> = u.roles.iter().filter(|r| !cur.roles.contains(r)).cloned().collect();
            Roles::check_grantor(grantor, &self.shared.roles.effective(&added).as_grants())?;
        }
        if u == cur {
            return Ok(cur);
        }
        let was_admin = cur.active && Roles::is_administrator(&cur.roles);
        let is_admin = u.active && Roles::is_administrator(&u.roles);
        let _guard = if was_admin && !is_admin {
            let g = self.shared.admin_guard.lock().await;
            if self.other_active_admins()? == 0 {
                return Err(Error::LastAdministrator);
            }
            Some(g)
        } else {
            None
        };
        u.updated_at = self.ctx.clock.now();
        let mut set = ChangeSet::new();
        set.put(RecordTable::Users, u.id.as_u128(), &u)?;
        let mut changed = Vec::new();
        if u.display_name != cur.display_name {
            changed.push("display_name");
        }
        if u.email != cur.email {
            changed.push("email");
        }
        if roles_changed {
            changed.push("roles");
        }
        if u.active != cur.active {
            changed.push("active");
        }
        if u.locked_until != cur.locked_until {
            changed.push("locked");
        }
        let action = if roles_changed {
            "user.roles_changed"
        } else if !u.active && cur.active {
            "user.deactivate"
        } else {
            "user.update"
        };
        set.audit(AuditDraft::new(caller, action).record("user", u.id).detail(serde_json::json!({
            "changed": changed, "roles_before": cur.roles, "roles_after": u.roles,
        })));
        // New roles or a deactivation take effect everywhere at once: the user's sessions end.
        if roles_changed || !u.active {
            for s in sessions_of(&self.ctx, u.id)? {
                end_session(&mut set, &s, caller, if roles_changed { "roles changed" } else { "user deactivated" });
            }
        }
        self.ctx.store.commit(set).await?;
        self.state = Some(u.clone());
        Ok(u)
    }

    async fn set_password(
        &mut self,
        password: String,
        must_change: bool,
        keep: Option<SessionId>,
        caller: &Caller,
        action: &str,
    ) -> Result<User> {
        let cur = self.current()?.clone();
        check_password(if must_change { "password" } else { "new_password" }, &password, &cur.username)?;
        let hash = hash_password(&self.ctx, password).await?;
        // An administrator's reset is also the way back for someone who lost their
        // authenticator and recovery codes: it clears the second factor (a role that requires
        // one makes them enrol again at once).
        let (totp_secret, totp_pending, recovery_codes) = if must_change {
            (None, None, Vec::new())
        } else {
            (cur.totp_secret.clone(), cur.totp_pending.clone(), cur.recovery_codes.clone())
        };
        let u = User {
            password_hash: hash,
            must_change_password: must_change,
            failed_logins: 0,
            locked_until: None,
            totp_secret,
            totp_pending,
            recovery_codes,
            updated_at: self.ctx.clock.now(),
            ..cur
        };
        let mut set = ChangeSet::new();
        set.put(RecordTable::Users, u.id.as_u128(), &u)?;
        set.audit(AuditDraft::new(caller, action).record("user", u.id));
        for s in sessions_of(&self.ctx, u.id)? {
            if Some(s.id) != keep {
                end_session(&mut set, &s, caller, "password changed");
            }
        }
        self.ctx.store.commit(set).await?;
        self.state = Some(u.clone());
        Ok(u)
    }

    async fn change_password(
        &mut self,
        current: String,
        new: String,
        keep: SessionId,
        caller: &Caller,
    ) -> Result<User> {
        self.confirm_password(current, "current_password", caller, "auth.password_change_failed").await?;
        if let Some(until) = self.locked_now() {
            return Err(Error::AccountLocked { until });
        }
        self.set_password(new, false, Some(keep), caller, "auth.password_changed").await
    }

    fn locked_now(&self) -> Option<Timestamp> {
        let now = self.ctx.clock.now();
        self.state.as_ref().and_then(|u| u.locked_until).filter(|t| *t > now)
    }

    /// Counts a wrong password; locks the account at the threshold.
    async fn failed_attempt(&mut self, caller: &Caller, action: &str) -> Result<()> {
        let cur = self.current()?.clone();
        let now = self.ctx.clock.now();
        let failed = cur.failed_logins.saturating_add(1);
        let lock = failed >= self.ctx.config.lockout_after;
        let until = lock.then(|| after(now, self.ctx.config.lockout_for));
        let u = User {
            failed_logins: if lock { 0 } else { failed },
            locked_until: until.or(cur.locked_until),
            updated_at: now,
            ..cur
        };
        let mut set = ChangeSet::new();
        set.put(RecordTable::Users, u.id.as_u128(), &u)?;
        set.audit(
            AuditDraft::new(caller, action)
                .record("user", u.id)
                .outcome(Outcome::Failure)
                .detail(serde_json::json!({ "username": u.username, "failed_in_a_row": failed })),
        );
        if let Some(until) = until {
            set.audit(
                AuditDraft::new(caller, "auth.account_locked")
                    .record("user", u.id)
                    .outcome(Outcome::Denied)
                    .detail(serde_json::json!({ "until": until })),
            );
        }
        self.ctx.store.commit(set).await?;
        self.state = Some(u);
        Ok(())
    }

    fn unix_now(&self) -> u64 {
        self.ctx.clock.now().as_second().max(0) as u64
    }

    /// Checks the second factor of a user who has TOTP on; `Ok(Some(user))` is the user with
    /// the step or recovery code consumed.
    fn second_factor(&self, u: &User, second: &SecondFactor) -> Result<Option<User>> {
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

    /// Confirms the account's current password for a sensitive change; a wrong one counts
    /// towards the lockout like a wrong sign-in (audited as `action`) and names `field`.
    async fn confirm_password(&mut self, password: String, field: &str, caller: &Caller, action: &str) -> Result<User> {
        let cur = self.current()?.clone();
        if too_long(&password) || !verify_password(&self.ctx, password, cur.password_hash.clone()).await? {
            self.failed_attempt(caller, action).await?;
            return Err(ValidationError::new(field, "is not your current password").into());
        }
        Ok(cur)
    }

    async fn totp_enroll(&mut self, password: String, caller: &Caller) -> Result<(String, String)> {
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

    async fn totp_confirm(&mut self, code: String, caller: &Caller) -> Result<Vec<String>> {
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

    async fn totp_disable(&mut self, password: String, code: String, caller: &Caller) -> Result<User> {
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

    async fn login(&mut self, password: String, second: &SecondFactor, caller: &Caller) -> Result<SignIn> {
        let cur = self.current()?.clone();
        let locked = self.locked_now();
        // Verify even when locked, so a locked account answers in the same time.
        let ok = !too_long(&password) && verify_password(&self.ctx, password, cur.password_hash.clone()).await?;
        if let Some(until) = locked {
            let mut set = ChangeSet::new();
            set.audit(
                AuditDraft::new(caller, "auth.login_refused_locked")
                    .record("user", cur.id)
                    .outcome(Outcome::Denied)
                    .detail(serde_json::json!({ "username": cur.username, "until": until })),
            );
            self.ctx.store.commit(set).await?;
            return Err(Error::AccountLocked { until });
        }
        if !ok || !cur.active {
            self.failed_attempt(caller, "auth.login_failed").await?;
            return Err(Error::InvalidCredentials);
        }
        // The password was right; with TOTP on, the code must be too (a wrong one counts).
        let checked = match self.second_factor(&cur, second)? {
            Some(u) => u,
            None => {
                self.failed_attempt(caller, "auth.login_failed_second_factor").await?;
                return Err(Error::InvalidCredentials);
            }
        };
        let signed_in =
            Caller { actor: Some(By::User(cur.id)), username: Some(cur.username.clone()), ..caller.clone() };
        // A password sign-in also clears a PIN lock.
        let u = User { failed_logins: 0, locked_until: None, failed_pins: 0, pin_locked: false, ..checked };
        let mut set = ChangeSet::new();
        if u != cur {
            set.put(RecordTable::Users, u.id.as_u128(), &u)?;
        }
        let (session, token) = self.open_session(&u, &signed_in, None, &mut set)?;
        set.audit(
            AuditDraft::new(&signed_in, "auth.login")
                .record("user", u.id)
                .detail(serde_json::json!({ "session_id": session.id })),
        );
        self.ctx.store.commit(set).await?;
        self.state = Some(u.clone());
        Ok((u, session, token))
    }
}

impl UserActor {
    /// Adds a new session of `u` to `set`: expired sessions of the user go, then the oldest
    /// beyond the per-user limit (counting the new one).
    fn open_session(
        &self,
        u: &User,
        signed_in: &Caller,
        device: Option<DeviceId>,
        set: &mut ChangeSet,
    ) -> Result<(Session, String)> {
        let now = self.ctx.clock.now();
        let token = random_secret(32);
        let session = Session {
            id: SessionId::from_ulid(self.ctx.new_ulid()),
            user_id: u.id,
            token_hash: token_hash(&token),
            created_at: now,
            expires_at: after(now, self.ctx.config.session_ttl),
            ip: signed_in.ip.clone(),
            user_agent: signed_in.user_agent.clone(),
            last_seen_at: Some(now),
            device_id: device,
        };
        let mut live: Vec<Session> = Vec::new();
        for s in sessions_of(&self.ctx, u.id)? {
            let idle = if s.device_id.is_some() { self.ctx.config.device_idle } else { self.ctx.config.session_idle };
            let idle_out = now.duration_since(s.last_seen_at.unwrap_or(s.created_at)) > to_signed(idle);
            if s.expires_at <= now || idle_out {
                end_session(set, &s, signed_in, "expired");
            } else {
                live.push(s);
            }
        }
        let max = self.ctx.config.max_sessions_per_user.max(1);
        let excess = (live.len() + 1).saturating_sub(max);
        for s in live.iter().take(excess) {
            end_session(set, s, signed_in, "session limit reached");
        }
        let key = session.id.as_u128();
        set.claim(unique::SESSION_TOKEN, &session.token_hash, key, "token");
        set.put(RecordTable::Sessions, key, &session)?;
        set.link(IndexTable::SessionsByUser, u.id.as_u128(), key);
        set.event(By::User(u.id), DomainEvent::SessionStarted { user_id: u.id, session_id: session.id });
        Ok((session, token))
    }

    async fn set_pin(&mut self, password: String, pin: String, caller: &Caller) -> Result<User> {
        let cur = self.confirm_password(password, "password", caller, "auth.pin_change_failed").await?;
        clowder_schemas::devices::check_pin("pin", &pin)?;
        let u = User {
            pin_hash: Some(hash_password(&self.ctx, pin).await?),
            failed_pins: 0,
            pin_locked: false,
            updated_at: self.ctx.clock.now(),
            ..cur
        };
        let mut set = ChangeSet::new();
        set.put(RecordTable::Users, u.id.as_u128(), &u)?;
        set.audit(AuditDraft::new(caller, "auth.pin_set").record("user", u.id));
        self.ctx.store.commit(set).await?;
        self.state = Some(u.clone());
        Ok(u)
    }

    async fn pin_unlock(&mut self, pin: String, device: &Device, caller: &Caller) -> Result<SignIn> {
        let cur = self.current()?.clone();
        let detail = serde_json::json!({ "username": cur.username, "device_id": device.id, "device": device.name });
        let ok = match &cur.pin_hash {
            Some(h) if pin.len() <= 6 => verify_password(&self.ctx, pin, h.clone()).await?,
            _ => false,
        };
        let refuse = |action: &str, outcome: Outcome| {
            let mut set = ChangeSet::new();
            set.audit(AuditDraft::new(caller, action).record("user", cur.id).outcome(outcome).detail(detail.clone()));
            set
        };
        if cur.pin_locked || !cur.active || self.locked_now().is_some() {
            self.ctx.store.commit(refuse("auth.pin_unlock_refused", Outcome::Denied)).await?;
            return Err(if cur.pin_locked { Error::PinLocked } else { Error::InvalidCredentials });
        }
        if !ok {
            let failed = cur.failed_pins.saturating_add(1);
            let locked = failed >= self.ctx.config.pin_lockout_after;
            let u = User { failed_pins: if locked { 0 } else { failed }, pin_locked: locked, ..cur.clone() };
            let mut set = refuse("auth.pin_unlock_failed", Outcome::Failure);
            set.put(RecordTable::Users, u.id.as_u128(), &u)?;
            self.ctx.store.commit(set).await?;
            self.state = Some(u);
            return Err(if locked { Error::PinLocked } else { Error::InvalidCredentials });
        }
        let signed_in =
            Caller { actor: Some(By::User(cur.id)), username: Some(cur.username.clone()), ..caller.clone() };
        let u = User { failed_pins: 0, ..cur.clone() };
        let mut set = ChangeSet::new();
        if u != cur {
            set.put(RecordTable::Users, u.id.as_u128(), &u)?;
        }
        let (session, token) = self.open_session(&u, &signed_in, Some(device.id), &mut set)?;
        set.audit(AuditDraft::new(&signed_in, "auth.pin_unlock").record("user", u.id).detail(detail));
        self.ctx.store.commit(set).await?;
        self.state = Some(u.clone());
        Ok((u, session, token))
    }
}

impl Actor for UserActor {
    type Msg = Msg;

    fn is_vacant(&self) -> bool {
        self.state.is_none()
    }

    async fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Create { new, caller, reply } => {
                let _ = reply.send(self.create(*new, &caller).await);
            }
            Msg::Get { reply } => {
                let _ = reply.send(self.current().cloned());
            }
            Msg::Update { patch, grantor, caller, reply } => {
                let _ = reply.send(self.update(*patch, &grantor, &caller).await);
            }
            Msg::ResetPassword { password, caller, reply } => {
                let r = self.set_password(password, true, None, &caller, "user.password_reset").await;
                let _ = reply.send(r);
            }
            Msg::ChangePassword { current, new, keep, caller, reply } => {
                let _ = reply.send(self.change_password(current, new, keep, &caller).await);
            }
            Msg::Login { password, second, caller, reply } => {
                let _ = reply.send(self.login(password, &second, &caller).await);
            }
            Msg::TotpEnroll { password, caller, reply } => {
                let _ = reply.send(self.totp_enroll(password, &caller).await);
            }
            Msg::TotpConfirm { code, caller, reply } => {
                let _ = reply.send(self.totp_confirm(code, &caller).await);
            }
            Msg::TotpDisable { password, code, caller, reply } => {
                let _ = reply.send(self.totp_disable(password, code, &caller).await);
            }
            Msg::SetPin { password, pin, caller, reply } => {
                let _ = reply.send(self.set_pin(password, pin, &caller).await);
            }
            Msg::PinUnlock { pin, device, caller, reply } => {
                let _ = reply.send(self.pin_unlock(pin, &device, &caller).await);
            }
        }
    }
}

pub(crate) struct Loader {
    ctx: Arc<Ctx>,
    shared: Arc<Shared>,
}

impl KeyedFactory<UserActor> for Loader {
    async fn build(&self, key: u128) -> Result<UserActor> {
        let state = self.ctx.store.read()?.get::<User>(RecordTable::Users, key)?;
        Ok(UserActor { id: UserId::from_u128(key), state, ctx: self.ctx.clone(), shared: self.shared.clone() })
    }
}

// ---------------------------------------------------------------------------------------
// The service

/// Staff accounts and sessions.
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
        let shared = Arc::new(Shared { roles: roles.clone(), admin_guard: tokio::sync::Mutex::new(()) });
        let reg = Registry::new(Loader { ctx: ctx.clone(), shared }, ctx.config.actors, ctx.metrics.for_kind(KIND));
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

    fn find_by_username(&self, username: &str) -> Result<Option<UserId>> {
        let Ok(name) = parse_username("username", username) else { return Ok(None) };
        Ok(self.ctx.store.read()?.unique_owner(unique::USERNAME, &name)?.map(UserId::from_u128))
    }

    async fn dummy_hash(&self) -> Result<String> {
        self.dummy_hash.get_or_try_init(|| hash_password(&self.ctx, random_secret(18))).await.cloned()
    }

    /// Resolves a bearer token to a live session of an active user, and notes the request
    /// as the session's last activity.
    /// Whether a session still stands: not ended, not past its absolute expiry, its user
    /// active. (Idle expiry is left to requests: a live screen keeps no request going.) The
    /// live gateway asks this to close sockets whose session has ended.
    pub fn session_active(&self, id: SessionId) -> Result<bool> {
        let r = self.ctx.store.read()?;
        let Some(s) = r.get::<Session>(RecordTable::Sessions, id.as_u128())? else { return Ok(false) };
        if s.expires_at <= self.ctx.clock.now() {
            return Ok(false);
        }
        Ok(r.get::<User>(RecordTable::Users, s.user_id.as_u128())?.is_some_and(|u| u.active))
    }

    pub fn authenticate(&self, token: &str) -> Result<Principal> {
        if token.is_empty() || token.len() > 128 {
            return Err(Error::Unauthenticated);
        }
        let r = self.ctx.store.read()?;
        let Some(key) = r.unique_owner(unique::SESSION_TOKEN, &token_hash(token))? else {
            return Err(Error::Unauthenticated);
        };
        let Some(mut session) = r.get::<Session>(RecordTable::Sessions, key)? else {
            return Err(Error::Unauthenticated);
        };
        let now = self.ctx.clock.now();
        let stored_seen = session.last_seen_at.unwrap_or(session.created_at);
        let seen = {
            let mut map = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            let last = map.get(&session.id).copied().unwrap_or(stored_seen).max(stored_seen);
            let idle =
                if session.device_id.is_some() { self.ctx.config.device_idle } else { self.ctx.config.session_idle };
            let idle_expired = now.duration_since(last) > to_signed(idle);
            if session.expires_at <= now || idle_expired {
                map.remove(&session.id);
                self.persisting.lock().unwrap_or_else(|p| p.into_inner()).remove(&session.id);
                return Err(Error::Unauthenticated);
            }
            map.insert(session.id, now);
            last
        };
        if let Some(d) = session.device_id
            && !r.get::<Device>(RecordTable::Devices, d.as_u128())?.is_some_and(|d| d.active)
        {
            return Err(Error::Unauthenticated); // the tablet was retired
        }
        let user = match r.get::<User>(RecordTable::Users, session.user_id.as_u128())? {
            Some(u) if u.active => u,
            _ => return Err(Error::Unauthenticated),
        };
        drop(r);
        // Tablet sessions idle out in minutes: write their last-seen more often.
        let write_every = if session.device_id.is_some() {
            to_signed(self.ctx.config.device_idle / 2).min(LAST_SEEN_WRITE_EVERY)
        } else {
            LAST_SEEN_WRITE_EVERY
        };
        if now.duration_since(stored_seen) > write_every {
            let mut started = self.persisting.lock().unwrap_or_else(|p| p.into_inner());
            let due = started.get(&session.id).is_none_or(|t| now.duration_since(*t) > write_every);
            if due {
                started.insert(session.id, now);
                drop(started);
                self.persist_last_seen(&session, now);
            }
        }
        session.last_seen_at = Some(seen.max(now));
        let permissions = self.roles.effective(&user.roles);
        let totp_enrollment_required = user.totp_secret.is_none() && self.roles.require_totp(&user.roles);
        Ok(Principal { user, session, permissions, totp_enrollment_required })
    }

    /// Drops the in-memory last-seen state of an ended session.
    fn forget(&self, id: SessionId) {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
        self.persisting.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
    }

    /// Writes "last seen" in the background: losing it in a crash costs at most a few
    /// minutes of idle time, never a session.
    fn persist_last_seen(&self, session: &Session, at: Timestamp) {
        let ctx = self.ctx.clone();
        let id = session.id;
        let tasks = ctx.tasks.clone();
        tasks.spawn(async move {
            let Ok(Some(mut s)) = ctx.store.read().and_then(|r| r.get::<Session>(RecordTable::Sessions, id.as_u128()))
            else {
                return; // ended meanwhile
            };
            s.last_seen_at = Some(at);
            let mut set = ChangeSet::new();
            if set.put(RecordTable::Sessions, id.as_u128(), &s).is_ok() {
                let _ = ctx.store.commit(set).await;
            }
        });
    }

    /// A user's live sessions, oldest first.
    pub fn sessions(&self, user: UserId) -> Result<Vec<Session>> {
        let now = self.ctx.clock.now();
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone();
        Ok(sessions_of(&self.ctx, user)?
            .into_iter()
            .filter(|s| s.expires_at > now)
            .map(|mut s| {
                if let Some(t) = seen.get(&s.id) {
                    s.last_seen_at = Some(s.last_seen_at.map_or(*t, |l| l.max(*t)));
                }
                s
            })
            .collect())
    }

    /// Ends one session. `owner` restricts it to that user's sessions (404 otherwise).
    pub async fn revoke(&self, id: SessionId, owner: Option<UserId>, caller: &Caller) -> Result<()> {
        let s = self.ctx.store.read()?.get::<Session>(RecordTable::Sessions, id.as_u128())?;
        let s = match s {
            Some(s) if owner.is_none_or(|o| o == s.user_id) => s,
            _ => return Err(Error::SessionNotFound(id)),
        };
        let mut set = ChangeSet::new();
        end_session(&mut set, &s, caller, "revoked");
        self.ctx.store.commit(set).await?;
        self.forget(id);
        Ok(())
    }

    /// Ends every session of a user (or of everyone, with `None`), except `keep`. Returns
    /// how many ended.
    pub async fn revoke_all(&self, user: Option<UserId>, keep: Option<SessionId>, caller: &Caller) -> Result<usize> {
        let sessions: Vec<Session> = match user {
            Some(u) => sessions_of(&self.ctx, u)?,
            None => {
                let mut all = Vec::new();
                self.ctx.store.read()?.scan::<Session>(RecordTable::Sessions, None, |s| {
                    all.push(s);
                    std::ops::ControlFlow::Continue(())
                })?;
                all
            }
        };
        let mut set = ChangeSet::new();
        let mut n = 0;
        for s in sessions.iter().filter(|s| Some(s.id) != keep) {
            end_session(&mut set, s, caller, if user.is_some() { "revoked" } else { "everyone signed out" });
            n += 1;
        }
        if n > 0 {
            self.ctx.store.commit(set).await?;
        }
        Ok(n)
    }

    /// Ends the caller's own session (sign-out). Ending an ended session is not an error.
    pub async fn logout(&self, session: &Session, caller: &Caller) -> Result<()> {
        let mut set = ChangeSet::new();
        end_session_as(&mut set, session, caller, "auth.logout", serde_json::json!({ "session_id": session.id }));
        self.ctx.store.commit(set).await?;
        self.forget(session.id);
        Ok(())
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
