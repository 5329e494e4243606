//! Our own extractors, so malformed input looks like every other error: JSON bodies (400
//! `invalid_json`, 415, 413, or 422 naming the field), query strings (422 naming the
//! field), ids in paths (404, never 500), and the signed-in `Principal` (401).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use clowder_actors::staff::accounts::Principal;
use clowder_schemas::ErrorCode;
use clowder_schemas::audit::{Caller, MAX_REASON_CHARS};
use clowder_schemas::events::Author;
use clowder_schemas::ids::RecordId;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::AppState;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "clowder_session";

/// A JSON request body.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        require_json_content_type(req.headers())?;
        let bytes = Bytes::from_request(req, state).await.map_err(|e| match e {
            BytesRejection::FailedToBufferBody(_) if is_too_large(&e) => {
                ApiError::new(ErrorCode::PayloadTooLarge, "the request body is larger than 1 MiB")
            }
            _ => ApiError::new(ErrorCode::InvalidJson, "the request body could not be read"),
        })?;
        parse_json(&bytes).map(Json)
    }
}

/// 415 `unsupported_media_type` unless the body is declared as JSON.
pub fn require_json_content_type(headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    let is_json =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).and_then(|v| v.split(';').next()).is_some_and(
            |m| {
                let m = m.trim().to_ascii_lowercase();
                m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
            },
        );
    if is_json {
        Ok(())
    } else {
        Err(ApiError::new(ErrorCode::UnsupportedMediaType, "send the body as JSON (Content-Type: application/json)"))
    }
}

fn is_too_large(e: &BytesRejection) -> bool {
    e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE
}

/// Parses JSON, telling syntax errors (400) from values of the wrong shape (422 + field).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(v) => {
            de.end().map_err(|e| ApiError::new(ErrorCode::InvalidJson, format!("the body is not valid JSON: {e}")))?;
            Ok(v)
        }
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            use serde_json::error::Category;
            match inner.classify() {
                Category::Syntax | Category::Eof | Category::Io => {
                    Err(ApiError::new(ErrorCode::InvalidJson, format!("the body is not valid JSON: {inner}")))
                }
                Category::Data => Err(data_error(&path, &inner.to_string())),
            }
        }
    }
}

/// A value of the wrong shape: name the field from serde's path or message.
fn data_error(path: &str, message: &str) -> ApiError {
    let message = message.split(" at line ").next().unwrap_or(message).to_owned();
    let named = |prefix: &str| message.strip_prefix(prefix).and_then(|rest| rest.split('`').next()).map(str::to_owned);
    let field = if let Some(f) = named("missing field `") {
        Some(if path == "." { f } else { format!("{path}.{f}") })
    } else if let Some(f) = named("duplicate field `") {
        Some(if path == "." { f } else { format!("{path}.{f}") })
    } else if let Some(f) = named("unknown field `") {
        // serde_path_to_error's path already ends with the unknown field.
        Some(if path == "." { f } else { path.to_owned() })
    } else if path != "." {
        Some(path.to_owned())
    } else {
        None
    };
    let mut err = ApiError::new(ErrorCode::ValidationFailed, message);
    if let Some(f) = field {
        err.message = format!("{f}: {}", err.message);
        err.field = Some(f);
    }
    err
}

/// A query string.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let q = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(q.as_bytes()));
        serde_path_to_error::deserialize(de).map(Query).map_err(|e| {
            let path = e.path().to_string();
            let msg = e.into_inner().to_string();
            let field = if path == "." {
                msg.strip_prefix("unknown field `").and_then(|r| r.split('`').next()).map(str::to_owned)
            } else {
                Some(path)
            };
            let mut err = ApiError::new(ErrorCode::ValidationFailed, format!("invalid query parameter: {msg}"));
            err.field = field;
            err
        })
    }
}

/// The record id at the end of a path: `/api/clients/{id}` gives the client's,
/// `/api/staff/{id}/shifts/{shift_id}` the shift's. A malformed id (or one whose
/// percent-encoding is not UTF-8) answers the kind's 404, exactly like an unknown one, so a
/// handler never sees a bad id and never parses one itself.
#[derive(Debug, Clone, Copy)]
pub struct Id<T>(pub T);

/// The first id of a nested path: `/api/staff/{id}/shifts/{shift_id}` gives the staff
/// member's. Refused like [`Id`].
#[derive(Debug, Clone, Copy)]
pub struct ParentId<T>(pub T);

async fn path_id<T: RecordId, S: Send + Sync>(parts: &mut Parts, state: &S, last: bool) -> Result<T, ApiError> {
    let not_found = || ApiError::not_found(T::NOT_FOUND, T::NOUN);
    let raw = axum::extract::RawPathParams::from_request_parts(parts, state).await.map_err(|_| not_found())?;
    let value = if last { raw.iter().last() } else { raw.iter().next() };
    value.and_then(|(_, v)| v.parse::<T>().ok()).ok_or_else(not_found)
}

impl<T: RecordId, S: Send + Sync> FromRequestParts<S> for Id<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        path_id(parts, state, true).await.map(Id)
    }
}

impl<T: RecordId, S: Send + Sync> FromRequestParts<S> for ParentId<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        path_id(parts, state, false).await.map(ParentId)
    }
}

/// The id segment of a path, as extracted (or refused: e.g. percent-encoded bytes that are
/// not UTF-8). Handlers take this and parse it with [`parse_id`].
pub type RawId = Result<axum::extract::Path<String>, axum::extract::rejection::PathRejection>;

/// Parses an id taken from the path; anything that is not an id is "not found".
pub fn parse_id<T: std::str::FromStr>(raw: RawId, code: ErrorCode, what: &str) -> Result<T, ApiError> {
    match raw {
        Ok(axum::extract::Path(raw)) => raw.parse().map_err(|_| ApiError::not_found(code, what)),
        Err(_) => Err(ApiError::not_found(code, what)),
    }
}

/// The session token of a request: `Authorization: Bearer`, else the session cookie.
pub fn session_token(parts: &Parts) -> Option<(String, TokenSource)> {
    if let Some(v) = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let mut it = v.splitn(2, ' ');
        if it.next().is_some_and(|s| s.eq_ignore_ascii_case("bearer")) {
            return it.next().map(|t| (t.trim().to_owned(), TokenSource::Bearer));
        }
    }
    for v in parts.headers.get_all(header::COOKIE) {
        let Ok(v) = v.to_str() else { continue };
        for pair in v.split(';') {
            if let Some((k, val)) = pair.trim().split_once('=')
                && k == SESSION_COOKIE
            {
                return Some((val.to_owned(), TokenSource::Cookie));
            }
        }
    }
    None
}

/// Where the token came from (cookie sessions will need CSRF checks; bearer ones do not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    Bearer,
    Cookie,
}

/// The request id given to this request by `middleware::observe`.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Header with the caller's reason for an access, recorded in the audit trail.
pub const REASON_HEADER: &str = "x-clowder-reason";

/// Who is calling, from where and why, as far as the request tells (no session needed).
pub fn caller_of(parts: &Parts, principal: Option<&Principal>) -> Caller {
    let header = |name: header::HeaderName| {
        parts.headers.get(name).and_then(|v| v.to_str().ok()).map(|v| v.chars().take(256).collect::<String>())
    };
    let reason = parts
        .headers
        .get(REASON_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().filter(|c| !c.is_control()).take(MAX_REASON_CHARS).collect::<String>())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty());
    Caller {
        actor: principal.map(|p| Author::User(p.user.id)),
        username: principal.map(|p| p.user.username.clone()),
        // The client's address as `middleware::observe` decided it (behind a trusted proxy,
        // the forwarded one); the TCP peer if the request did not pass there.
        ip: parts
            .extensions
            .get::<crate::client_addr::ClientIp>()
            .map(|c| c.0)
            .or_else(|| parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()))
            .map(|ip| ip.to_string()),
        user_agent: header(header::USER_AGENT),
        request_id: parts.extensions.get::<RequestId>().map(|r| r.0.clone()),
        reason,
        // Set by `idempotency::idempotent` once the key is checked.
        idempotency: None,
    }
}

/// The audit context of a request that needs no session (sign-in).
#[derive(Debug, Clone)]
pub struct Visitor(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for Visitor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Visitor(caller_of(parts, None)))
    }
}

/// The signed-in staff member and the request's audit context. Resolved once per request
/// by the auth gate for `/api/` routes, or here for routes outside `/api/` that need a
/// session.
#[derive(Debug, Clone)]
pub struct Staff {
    pub principal: Principal,
    pub caller: Caller,
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(p) = parts.extensions.get::<Staff>() {
            return Ok(p.clone());
        }
        let staff = authenticate(parts, state)?;
        parts.extensions.insert(staff.clone());
        Ok(staff)
    }
}

pub(crate) fn authenticate(parts: &Parts, state: &AppState) -> Result<Staff, ApiError> {
    let (token, _) = session_token(parts).ok_or_else(ApiError::unauthenticated)?;
    let principal = state.system.accounts.authenticate(&token).map_err(ApiError::from)?;
    let caller = caller_of(parts, Some(&principal));
    Ok(Staff { principal, caller })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        inner: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        age: u8,
    }

    fn check(input: &str, code: ErrorCode, field: Option<&str>) {
        let err = parse_json::<Body>(input.as_bytes()).unwrap_err();
        assert_eq!(err.code, code, "{input}: {}", err.message);
        assert_eq!(err.field.as_deref(), field, "{input}: {}", err.message);
    }

    #[test]
    fn json_errors_name_the_field_or_say_it_is_not_json() {
        check("{", ErrorCode::InvalidJson, None);
        check("", ErrorCode::InvalidJson, None);
        check("{\"name\": \"a\"} trailing", ErrorCode::InvalidJson, None);
        check("{}", ErrorCode::ValidationFailed, Some("name"));
        check("{\"name\": 5}", ErrorCode::ValidationFailed, Some("name"));
        check("{\"name\": \"a\", \"nmae\": 1}", ErrorCode::ValidationFailed, Some("nmae"));
        check("{\"name\": \"a\", \"inner\": {\"age\": 300}}", ErrorCode::ValidationFailed, Some("inner.age"));
        check("{\"name\": \"a\", \"inner\": {}}", ErrorCode::ValidationFailed, Some("inner.age"));
        check("[]", ErrorCode::ValidationFailed, None);
        check("{\"name\": \"a\", \"name\": \"b\"}", ErrorCode::ValidationFailed, Some("name"));
    }
}
