//! The user actor: one per staff account, behind the `Accounts` service (`mod.rs`). It
//! creates and changes the account, resets or changes its password, signs it in (password,
//! or PIN on a registered tablet) and keeps its lockout counters; the second factor is in
//! `second_factor.rs`, the sessions it opens in `sessions.rs`.
//!
//! **Users are per-entity actors.** Sign-in attempts, lockout counters, password and role
//! changes of one account are serialised by its actor, so five wrong passwords sent at once
//! still count as five. A change that could remove the last active administrator also takes
//! a clinic-wide lock, so two administrators cannot demote each other at the same moment.

use std::sync::Arc;

use clowder_schemas::access::{ADMINISTRATOR, Permissions};
use clowder_schemas::audit::{AuditDraft, Caller, Outcome};
use clowder_schemas::devices::Device;
use clowder_schemas::events::{Author as By, DomainEvent};
use clowder_schemas::patch::Patch;
use clowder_schemas::users::{Session, UpdateUser, User, UserView, parse_username};
use clowder_schemas::values::{Email, MAX_NAME_CHARS, required_text};
use clowder_schemas::{SessionId, UserId, ValidationError};
use jiff::Timestamp;

use super::sessions::{end_session, sessions_of};
use super::{NewUser, SecondFactor, after, check_password, too_long};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::runtime::registry::KeyedFactory;
use crate::runtime::{Actor, Reply};
use crate::secrets::{hash_password, verify_password};
use crate::staff::roles::Roles;
use crate::store::tables::unique;
use crate::store::{ChangeSet, RecordTable};

pub(crate) struct UserActor {
    id: UserId,
    pub(super) state: Option<User>,
    pub(super) ctx: Arc<Ctx>,
    shared: Arc<Shared>,
}

/// What every user actor shares.
struct Shared {
    roles: Roles,
    /// Held by changes that could remove the last active administrator.
    admin_guard: tokio::sync::Mutex<()>,
}

/// A sign-in: the user, the new session and its bearer token.
pub(super) type SignIn = (User, Session, String);

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
    VerifyWitness { pin: String, caller: Box<Caller>, reply: Reply<Result<User>> },
}

impl UserActor {
    pub(super) fn current(&self) -> Result<&User> {
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

    /// Confirms the account's current password for a sensitive change; a wrong one counts
    /// towards the lockout like a wrong sign-in (audited as `action`) and names `field`.
    pub(super) async fn confirm_password(
        &mut self,
        password: String,
        field: &str,
        caller: &Caller,
        action: &str,
    ) -> Result<User> {
        let cur = self.current()?.clone();
        if too_long(&password) || !verify_password(&self.ctx, password, cur.password_hash.clone()).await? {
            self.failed_attempt(caller, action).await?;
            return Err(ValidationError::new(field, "is not your current password").into());
        }
        Ok(cur)
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

impl UserActor {
    /// Checks this user's PIN as a witness (the controlled-drug register): the same hash,
    /// failure counter and lock as PIN unlock, but no session is opened. A failure is audited
    /// here; a success is named in the entry the witness signs.
    async fn verify_witness(&mut self, pin: String, caller: &Caller) -> Result<User> {
        let cur = self.current()?.clone();
        let detail = serde_json::json!({ "witness": cur.username });
        if cur.pin_locked || !cur.active || cur.pin_hash.is_none() {
            let mut set = ChangeSet::new();
            set.audit(
                AuditDraft::new(caller, "auth.witness_refused")
                    .record("user", cur.id)
                    .outcome(Outcome::Denied)
                    .detail(detail),
            );
            self.ctx.store.commit(set).await?;
            return Err(if cur.pin_locked { Error::PinLocked } else { Error::InvalidCredentials });
        }
        let ok = match &cur.pin_hash {
            Some(h) if pin.len() <= 6 => verify_password(&self.ctx, pin, h.clone()).await?,
            _ => false,
        };
        if !ok {
            let failed = cur.failed_pins.saturating_add(1);
            let locked = failed >= self.ctx.config.pin_lockout_after;
            let u = User { failed_pins: if locked { 0 } else { failed }, pin_locked: locked, ..cur.clone() };
            let mut set = ChangeSet::new();
            set.audit(
                AuditDraft::new(caller, "auth.witness_failed")
                    .record("user", cur.id)
                    .outcome(Outcome::Failure)
                    .detail(detail),
            );
            set.put(RecordTable::Users, u.id.as_u128(), &u)?;
            self.ctx.store.commit(set).await?;
            self.state = Some(u);
            return Err(if locked { Error::PinLocked } else { Error::InvalidCredentials });
        }
        if cur.failed_pins != 0 {
            let u = User { failed_pins: 0, ..cur.clone() };
            let mut set = ChangeSet::new();
            set.put(RecordTable::Users, u.id.as_u128(), &u)?;
            self.ctx.store.commit(set).await?;
            self.state = Some(u);
        }
        Ok(cur)
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
            Msg::VerifyWitness { pin, caller, reply } => {
                let _ = reply.send(self.verify_witness(pin, &caller).await);
            }
        }
    }
}

pub(crate) struct Loader {
    ctx: Arc<Ctx>,
    shared: Arc<Shared>,
}

impl Loader {
    pub(super) fn new(ctx: Arc<Ctx>, roles: Roles) -> Self {
        Self { ctx, shared: Arc::new(Shared { roles, admin_guard: tokio::sync::Mutex::new(()) }) }
    }
}

impl KeyedFactory<UserActor> for Loader {
    async fn build(&self, key: u128) -> Result<UserActor> {
        let state = self.ctx.store.read()?.get::<User>(RecordTable::Users, key)?;
        Ok(UserActor { id: UserId::from_u128(key), state, ctx: self.ctx.clone(), shared: self.shared.clone() })
    }
}
