//! Staff accounts and sign-in sessions.
//!
//! Passwords are hashed with argon2id (OWASP parameters: 19 MiB, 2 passes) on tokio's
//! blocking pool, never on the async workers. Sessions are server-side records found by the
//! SHA-256 of their bearer token; the token itself is never stored. A wrong username and a
//! wrong password are indistinguishable, in answer and in timing (an unknown user is still
//! verified against a dummy hash).
//!
//! Accounts are a service over the store rather than per-user actors: every write is a
//! single change set whose uniqueness (usernames, token hashes) the commit task enforces.
//! Lockout counters (a later issue) will need a per-user actor to serialise them.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use clowder_schemas::audit::{AuditDraft, Caller, Outcome};
use clowder_schemas::events::{Actor as By, DomainEvent};
use clowder_schemas::users::{Session, User, UserView, parse_username};
use clowder_schemas::values::Email;
use clowder_schemas::{SessionId, UserId, ValidationError};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::store::tables::unique;
use crate::store::{ChangeSet, IndexTable, RecordTable, commit::hex};
use crate::system::Ctx;

type Res<T> = Result<T, Error>;

/// Shortest password accepted (NIST SP 800-63B).
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password accepted; bounds hashing work per request.
pub const MAX_PASSWORD_CHARS: usize = 256;

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
}

/// Checks a password chosen for an account.
pub fn check_password(field: &str, password: &str, username: &str) -> Result<(), ValidationError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(ValidationError::new(field, format!("must be at least {MIN_PASSWORD_CHARS} characters")));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(ValidationError::new(field, format!("must be at most {MAX_PASSWORD_CHARS} characters")));
    }
    if !username.is_empty() && password.to_lowercase().contains(&username.to_lowercase()) {
        return Err(ValidationError::new(field, "must not contain the username"));
    }
    Ok(())
}

fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // Without OS randomness no session or salt is safe; there is nothing sensible to go on with.
    getrandom::fill(&mut b).expect("the operating system's random source is available");
    b
}

/// A random secret of `bytes` bytes, URL-safe base64 (tokens, generated passwords).
pub fn random_secret(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    getrandom::fill(&mut b).expect("the operating system's random source is available");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

async fn hash_password(password: String) -> Res<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&random_bytes::<16>()).map_err(|e| Error::Internal(e.to_string()))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(format!("hashing failed: {e}")))
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
}

async fn verify_password(password: String, hash: String) -> Res<bool> {
    tokio::task::spawn_blocking(move || {
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return false;
        };
        Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))
}

/// The accounts service.
#[derive(Clone)]
pub struct Accounts {
    ctx: Arc<Ctx>,
    /// Verified against when the username is unknown, so timing does not reveal it.
    dummy_hash: Arc<tokio::sync::OnceCell<String>>,
}

impl Accounts {
    pub(crate) fn new(ctx: Arc<Ctx>) -> Self {
        Self { ctx, dummy_hash: Arc::new(tokio::sync::OnceCell::new()) }
    }

    /// Number of staff accounts (0 on a fresh store).
    pub fn user_count(&self) -> Res<u64> {
        Ok(self.ctx.store.read()?.count(RecordTable::Users)?)
    }

    /// Creates a staff account.
    pub async fn create_user(&self, new: NewUser, caller: &Caller) -> Res<User> {
        let username = parse_username("username", &new.username)?;
        let display_name = clowder_schemas::values::required_text("display_name", &new.display_name, 100)?;
        check_password("password", &new.password, &username)?;
        let password_hash = hash_password(new.password).await?;
        let now = self.ctx.clock.now();
        let user = User {
            id: UserId::from_ulid(self.ctx.new_ulid()),
            username,
            display_name,
            email: new.email,
            password_hash,
            roles: new.roles,
            active: true,
            must_change_password: new.must_change_password,
            created_at: now,
            updated_at: now,
        };
        let key = user.id.as_u128();
        let mut set = ChangeSet::new();
        set.claim(unique::USERNAME, &user.username, key, "username");
        set.put(RecordTable::Users, key, &user)?;
        set.event(caller.event_actor(), DomainEvent::UserCreated { user: UserView::from(&user) });
        set.audit(
            AuditDraft::new(caller, "user.create")
                .record("user", user.id)
                .detail(serde_json::json!({ "username": user.username, "roles": user.roles })),
        );
        self.ctx.store.commit(set).await?;
        Ok(user)
    }

    /// Signs in with a username and password; returns the user, the new session and its
    /// bearer token (shown once).
    pub async fn login(&self, username: &str, password: &str, caller: &Caller) -> Res<(User, Session, String)> {
        let user = if password.chars().count() > MAX_PASSWORD_CHARS { None } else { self.find_by_username(username)? };
        let hash = match &user {
            Some(u) => u.password_hash.clone(),
            None => self.dummy_hash().await?,
        };
        let ok = verify_password(password.to_owned(), hash).await?;
        let user = match user {
            Some(u) if ok && u.active => u,
            other => {
                // The attempted username is kept (trimmed) so repeated guessing shows up; the
                // password never is.
                let tried: String = username.trim().chars().take(64).collect();
                let mut draft = AuditDraft::new(caller, "auth.login_failed")
                    .outcome(Outcome::Failure)
                    .detail(serde_json::json!({ "username": tried }));
                if let Some(u) = other {
                    draft = draft.record("user", u.id);
                }
                let mut set = ChangeSet::new();
                set.audit(draft);
                self.ctx.store.commit(set).await?;
                return Err(Error::InvalidCredentials);
            }
        };
        let token = random_secret(32);
        let now = self.ctx.clock.now();
        let ttl =
            jiff::SignedDuration::try_from(self.ctx.config.session_ttl).unwrap_or(jiff::SignedDuration::from_hours(12));
        let session = Session {
            id: SessionId::from_ulid(self.ctx.new_ulid()),
            user_id: user.id,
            token_hash: token_hash(&token),
            created_at: now,
            expires_at: now.checked_add(ttl).map_err(|e| Error::Internal(e.to_string()))?,
            ip: caller.ip.as_ref().map(|s| s.chars().take(64).collect()),
            user_agent: caller.user_agent.as_ref().map(|s| s.chars().take(256).collect()),
        };
        let key = session.id.as_u128();
        let mut set = ChangeSet::new();
        set.claim(unique::SESSION_TOKEN, &session.token_hash, key, "token");
        set.put(RecordTable::Sessions, key, &session)?;
        set.link(IndexTable::SessionsByUser, user.id.as_u128(), key);
        set.event(By::User(user.id), DomainEvent::SessionStarted { user_id: user.id, session_id: session.id });
        let signed_in =
            Caller { actor: Some(By::User(user.id)), username: Some(user.username.clone()), ..caller.clone() };
        set.audit(
            AuditDraft::new(&signed_in, "auth.login")
                .record("user", user.id)
                .detail(serde_json::json!({ "session_id": session.id })),
        );
        self.ctx.store.commit(set).await?;
        Ok((user, session, token))
    }

    fn find_by_username(&self, username: &str) -> Res<Option<User>> {
        let Ok(name) = parse_username("username", username) else {
            return Ok(None);
        };
        let r = self.ctx.store.read()?;
        match r.unique_owner(unique::USERNAME, &name)? {
            Some(key) => Ok(r.get::<User>(RecordTable::Users, key)?),
            None => Ok(None),
        }
    }

    async fn dummy_hash(&self) -> Res<String> {
        self.dummy_hash.get_or_try_init(|| hash_password(random_secret(18))).await.cloned()
    }

    /// Resolves a bearer token to a live session of an active user.
    pub fn authenticate(&self, token: &str) -> Res<Principal> {
        if token.is_empty() || token.len() > 128 {
            return Err(Error::Unauthenticated);
        }
        let r = self.ctx.store.read()?;
        let Some(key) = r.unique_owner(unique::SESSION_TOKEN, &token_hash(token))? else {
            return Err(Error::Unauthenticated);
        };
        let Some(session) = r.get::<Session>(RecordTable::Sessions, key)? else {
            return Err(Error::Unauthenticated);
        };
        if session.expires_at <= self.ctx.clock.now() {
            return Err(Error::Unauthenticated);
        }
        match r.get::<User>(RecordTable::Users, session.user_id.as_u128())? {
            Some(user) if user.active => Ok(Principal { user, session }),
            _ => Err(Error::Unauthenticated),
        }
    }

    /// Ends a session (sign-out). Ending an already-ended session is not an error.
    pub async fn logout(&self, session: &Session, caller: &Caller) -> Res<()> {
        let key = session.id.as_u128();
        let mut set = ChangeSet::new();
        set.release(unique::SESSION_TOKEN, &session.token_hash, key);
        set.delete(RecordTable::Sessions, key);
        set.unlink(IndexTable::SessionsByUser, session.user_id.as_u128(), key);
        set.event(
            By::User(session.user_id),
            DomainEvent::SessionEnded { user_id: session.user_id, session_id: session.id },
        );
        set.audit(
            AuditDraft::new(caller, "auth.logout")
                .record("user", session.user_id)
                .detail(serde_json::json!({ "session_id": session.id })),
        );
        self.ctx.store.commit(set).await?;
        Ok(())
    }
}
