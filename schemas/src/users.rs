//! Staff users and their sign-in sessions: stored records and the auth API bodies.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::errors::ValidationError;
use crate::ids::{SessionId, UserId};
use crate::records::Record;
use crate::values::Email;

/// A staff account as stored. Never serialised to the API: see [`UserView`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    /// Unique, compared case-insensitively (stored lower-case).
    pub username: String,
    pub display_name: String,
    pub email: Option<Email>,
    /// PHC string of an argon2id hash.
    pub password_hash: String,
    /// Role names, e.g. `administrator`, `veterinarian`.
    pub roles: Vec<String>,
    pub active: bool,
    /// Set for accounts whose password an administrator chose (including the first admin
    /// when its password was generated).
    pub must_change_password: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Wrong passwords since the last success; 5 in a row lock the account.
    #[serde(default)]
    pub failed_logins: u32,
    /// Sign-in is refused until then, even with the right password.
    #[serde(default)]
    pub locked_until: Option<Timestamp>,
    /// argon2id hash of the tablet-unlock PIN, if one is set.
    #[serde(default)]
    pub pin_hash: Option<String>,
    /// Wrong PINs since the last success.
    #[serde(default)]
    pub failed_pins: u32,
    /// Too many wrong PINs: PIN unlock is refused until the next password sign-in.
    #[serde(default)]
    pub pin_locked: bool,
    /// Base32 TOTP secret once second-factor sign-in is enabled.
    #[serde(default)]
    pub totp_secret: Option<String>,
    /// A secret being enrolled, until a first code confirms it.
    #[serde(default)]
    pub totp_pending: Option<String>,
    /// The last TOTP step accepted (a code is never accepted twice).
    #[serde(default)]
    pub totp_last_step: Option<u64>,
    /// SHA-256 (hex) of the unused one-time recovery codes.
    #[serde(default)]
    pub recovery_codes: Vec<String>,
}

/// Version history: v2 added `failed_logins`, `locked_until`, `pin_hash`, `failed_pins`,
/// `pin_locked` and the TOTP fields (all default when a v1 record is read).
impl Record for User {
    const KIND: &'static str = "user";
    const VERSION: u16 = 2;
}

/// Validates a username: 3–32 characters of lower-case letters, digits, `.`, `_` or `-`,
/// starting with a letter. Input is lower-cased first.
pub fn parse_username(field: &str, input: &str) -> Result<String, ValidationError> {
    let u = input.trim().to_lowercase();
    let ok = (3..=32).contains(&u.len())
        && u.starts_with(|c: char| c.is_ascii_lowercase())
        && u.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(u)
    } else {
        Err(ValidationError::new(
            field,
            "must be 3 to 32 characters: letters, digits, '.', '_' or '-', starting with a letter",
        ))
    }
}

/// What the API shows of a staff account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UserView {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub email: Option<Email>,
    pub roles: Vec<String>,
    pub active: bool,
    pub must_change_password: bool,
    pub created_at: Timestamp,
    /// Set while the account is locked after repeated wrong passwords.
    pub locked_until: Option<Timestamp>,
    /// The user has a tablet-unlock PIN.
    #[serde(default)]
    pub has_pin: bool,
    /// Sign-in needs a one-time code from an authenticator app.
    #[serde(default)]
    pub totp_enabled: bool,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        UserView {
            id: u.id,
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            email: u.email.clone(),
            roles: u.roles.clone(),
            active: u.active,
            must_change_password: u.must_change_password,
            created_at: u.created_at,
            locked_until: u.locked_until,
            has_pin: u.pin_hash.is_some(),
            totp_enabled: u.totp_secret.is_some(),
        }
    }
}

/// A server-side session. The bearer token itself is never stored: only its SHA-256, so a
/// copy of the store does not hand out live sessions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub id: SessionId,
    pub user_id: UserId,
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// Last request seen with this session (written at most every few minutes).
    #[serde(default)]
    pub last_seen_at: Option<Timestamp>,
    /// The tablet this session was unlocked on with a PIN; such sessions lock after a few
    /// idle minutes.
    #[serde(default)]
    pub device_id: Option<crate::ids::DeviceId>,
}

/// Version history: v2 added `last_seen_at` and `device_id` (default `None` for v1).
impl Record for Session {
    const KIND: &'static str = "session";
    const VERSION: u16 = 2;
}

/// What the API shows of a session (never the token).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SessionView {
    pub id: SessionId,
    pub user_id: UserId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub ip: Option<String>,
    /// The device's browser or app, as it announced itself.
    pub user_agent: Option<String>,
    /// This is the session making the request.
    #[serde(default)]
    pub current: bool,
    /// The tablet, for a PIN-unlocked session.
    #[serde(default)]
    pub device_id: Option<crate::ids::DeviceId>,
}

impl From<&Session> for SessionView {
    fn from(s: &Session) -> Self {
        SessionView {
            id: s.id,
            user_id: s.user_id,
            created_at: s.created_at,
            expires_at: s.expires_at,
            last_seen_at: s.last_seen_at.unwrap_or(s.created_at),
            ip: s.ip.clone(),
            user_agent: s.user_agent.clone(),
            current: false,
            device_id: s.device_id,
        }
    }
}

/// Body of `POST /api/users`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub username: String,
    pub display_name: String,
    #[serde(default)]
    pub email: Option<String>,
    /// The first password; the user must change it at first sign-in.
    pub password: String,
    /// Role names, e.g. `["receptionist"]`.
    pub roles: Vec<String>,
}

/// Body of `PATCH /api/users/{id}`. Deactivate with `"active": false` (users are never
/// deleted).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub display_name: crate::patch::Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub email: crate::patch::Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub roles: crate::patch::Patch<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub active: crate::patch::Patch<bool>,
    /// `false` lifts a lockout early.
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub locked: crate::patch::Patch<bool>,
}

/// Body of `POST /api/users/{id}/password` (an administrator's reset).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPassword {
    /// A temporary password; the user must change it at next sign-in.
    pub password: String,
}

/// Body of `POST /api/auth/password` (change your own).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    pub current_password: String,
    pub new_password: String,
}

/// Filters of `GET /api/users`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UserListQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// `active` (default), `inactive` or `all`.
    pub status: Option<String>,
}

/// Body of `POST /api/auth/login`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// The 6-digit code of the user's authenticator app, when second-factor sign-in is on.
    #[serde(default)]
    pub totp_code: Option<String>,
    /// One of the user's one-time recovery codes, instead of `totp_code`.
    #[serde(default)]
    pub recovery_code: Option<String>,
}

/// Body of `POST /api/auth/totp/enroll`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpEnroll {
    pub password: String,
}

/// Answer of `POST /api/auth/totp/enroll`: show `otpauth_uri` as a QR code (or `secret` for
/// typing), then confirm with a first code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TotpEnrollment {
    pub secret: String,
    pub otpauth_uri: String,
}

/// Body of `POST /api/auth/totp/confirm` and `DELETE /api/auth/totp` (with `password`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpCode {
    pub code: String,
    #[serde(default)]
    pub password: Option<String>,
}

/// Answer of `POST /api/auth/totp/confirm`: one-time recovery codes, shown this once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

/// Answer of a successful sign-in. The token also arrives as the `clowder_session` cookie;
/// API clients and tablets send it as `Authorization: Bearer <token>`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LoginResponse {
    pub user: UserView,
    pub token: String,
    pub session: SessionView,
}

/// Answer of `GET /api/auth/me`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MeResponse {
    pub user: UserView,
    pub session: SessionView,
    /// Effective permissions, so the UI can hide what the user cannot do.
    pub permissions: Vec<crate::access::Grant>,
    /// One of the user's roles requires second-factor sign-in and it is not set up yet:
    /// only enrolment (and sign-out) answers until it is.
    #[serde(default)]
    pub totp_enrollment_required: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(parse_username("u", " Dr.Morgan ").unwrap(), "dr.morgan");
        for bad in ["", "ab", "1abc", "a b", "ädmin", &"a".repeat(33)] {
            assert!(parse_username("u", bad).is_err(), "{bad}");
        }
    }
}
