//! Sign-in sessions: issuing one at sign-in (`UserActor::open_session`), resolving a bearer
//! token, idle and absolute expiry, last-seen writes, the per-user limit, listing and
//! revocation.
//!
//! Sessions are server-side records found by the SHA-256 of their bearer token; the token
//! itself is never stored. A session ends at its absolute expiry, after an idle period, when
//! revoked, when its user signs in once too often (the oldest goes), or when the user's
//! password or roles change. "Last seen" is tracked in memory and written at most every few
//! minutes, so a busy front desk does not cost a disk flush per request.

use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::devices::Device;
use clowder_schemas::events::{Author as By, DomainEvent};
use clowder_schemas::users::{Session, User};
use clowder_schemas::{DeviceId, SessionId, UserId};
use jiff::{SignedDuration, Timestamp};

use super::user::UserActor;
use super::{Accounts, Principal, after, to_signed};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::secrets::{random_secret, token_hash};
use crate::store::tables::unique;
use crate::store::{ChangeSet, IndexTable, RecordTable};

/// How often a session's "last seen" is written to the store at most.
const LAST_SEEN_WRITE_EVERY: SignedDuration = SignedDuration::from_mins(5);

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
pub(super) fn sessions_of(ctx: &Ctx, user: UserId) -> Result<Vec<Session>> {
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

impl UserActor {
    /// Adds a new session of `u` to `set`: expired sessions of the user go, then the oldest
    /// beyond the per-user limit (counting the new one).
    pub(super) fn open_session(
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
}

impl Accounts {
    /// Adds to `set` the end of every session past its absolute expiry, at most `max` of
    /// them (the daily clean-up job commits them with its success); returns how many. Each
    /// removal requires the session to be still stored at commit, so a user's actor ending
    /// the same session first refuses the set instead of ending it twice.
    pub fn end_expired_sessions(&self, set: &mut ChangeSet, caller: &Caller, max: usize) -> Result<usize> {
        let now = self.ctx.clock.now();
        let r = self.ctx.store.read()?;
        let mut expired = Vec::new();
        r.scan::<Session>(RecordTable::Sessions, None, |s| {
            if s.expires_at <= now {
                expired.push(s);
            }
            if expired.len() >= max { std::ops::ControlFlow::Break(()) } else { std::ops::ControlFlow::Continue(()) }
        })?;
        for s in &expired {
            set.require(RecordTable::Sessions, s.id.as_u128(), "session", |v| v.is_some());
            end_session(set, s, caller, "expired");
        }
        Ok(expired.len())
    }

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

    /// Resolves a bearer token to a live session of an active user, and notes the request
    /// as the session's last activity.
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
