//! The `Idempotency-Key` header: safe retries of POSTs (and of routes that opt in).
//!
//! This middleware does the HTTP half: it checks the key (422 naming `Idempotency-Key`),
//! buffers the body, fingerprints method + path + principal + body, and asks
//! `clowder_actors::idempotency::Idempotency` what to do. A first attempt runs with the claim
//! in its caller (the commit thread claims the key in the same change set as the write) and
//! its answer is stored afterwards; a retry gets that answer again with
//! `Idempotent-Replayed: true`. The design and its reasons are in the actors module's doc and
//! in `docs/idempotency.md`. The key is optional: a request without one runs as before.

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use clowder_actors::idempotency::{Begin, Idempotency, WAIT_FOR_FIRST};
use clowder_schemas::ErrorCode;
use clowder_schemas::idempotency::{HEADER, StoredAnswer, parse_key};
use futures_util::StreamExt;
use tracing::Instrument;

use crate::error::ApiError;
use crate::extract::Staff;
use crate::{AppState, MAX_BODY_BYTES};

/// Set on an answer replayed from a first attempt.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// POST routes that ignore the key, because their body or answer holds a secret (a
/// password, a session or device token, a TOTP secret, recovery codes, a feed token) that
/// must not be kept in the store, not even hashed. Each of them is safe to repeat or is
/// refused when repeated (a second user with the same username is a 409).
pub const IGNORED: &[&str] = &[
    "/api/auth/login",
    "/api/auth/pin-unlock",
    "/api/auth/password",
    "/api/auth/totp/enroll",
    "/api/auth/totp/confirm",
    "/api/devices",
    "/api/users",
    "/api/users/{id}/password",
    "/api/staff/{id}/feed",
];

/// POST routes whose body is streamed to disk, not buffered (a document upload may be 25 MiB):
/// their fingerprint is method, path, principal and the declared `Content-Length`, so a retry
/// of the same upload replays its answer; a different file of the same length under a reused
/// key is not told apart (a key is fresh per intended change).
pub const STREAMED: &[&str] = &["/api/documents"];

/// Routes other than POSTs that honour the key, as `(method, path template)`: one line per
/// route (e.g. a PATCH that moves an appointment or money).
pub const ALSO: &[(&str, &str)] = &[
    // Rescheduling moves an appointment: a retried move must not move it twice.
    ("PATCH", "/api/appointments/{id}"),
    // An autosave: the page's queue resends it after a dropped connection.
    ("PUT", "/api/visits/{id}/note/draft"),
    // A template edit: a retried save answers the first one instead of writing it again.
    ("PUT", "/api/note-templates/{key}"),
];

/// True when `method` on the route template `path` honours `Idempotency-Key`.
pub fn honours_key(method: &Method, path: &str) -> bool {
    (method == Method::POST && path.starts_with("/api/") && !IGNORED.contains(&path))
        || ALSO.iter().any(|(m, p)| *m == method.as_str() && *p == path)
}

/// The middleware (inside `authorize`, so the caller is known and allowed).
pub async fn idempotent(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(raw) = req.headers().get(HEADER) else { return next.run(req).await };
    let honoured = req.extensions().get::<MatchedPath>().is_some_and(|p| honours_key(req.method(), p.as_str()));
    if !honoured {
        return next.run(req).await;
    }
    let key = match parse_key(raw.as_bytes()) {
        Ok(k) => k.to_owned(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    // Keys are per user; a request without a signed-in user is refused further in anyway.
    let Some(user) = req.extensions().get::<Staff>().map(|s| s.principal.user.id) else {
        return next.run(req).await;
    };
    let principal = Idempotency::principal_of(user);
    let streamed = req.extensions().get::<MatchedPath>().is_some_and(|p| STREAMED.contains(&p.as_str()));
    let (mut parts, body) = req.into_parts();
    let (bytes, body) = if streamed {
        let length = parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).unwrap_or("chunked");
        (Bytes::from(format!("streamed body of {length} bytes")), body)
    } else {
        match read_body(body).await {
            Ok(b) => (b.clone(), Body::from(b)),
            Err(e) => return e.into_response(),
        }
    };
    let target = parts.uri.path_and_query().map_or(parts.uri.path(), |p| p.as_str());
    let fingerprint = Idempotency::fingerprint(parts.method.as_str(), target, &principal, &bytes);
    let service = state.system.idempotency.clone();
    let attempt = match service.begin(&principal, &key, &fingerprint, WAIT_FOR_FIRST).await {
        Ok(Begin::Run(attempt)) => attempt,
        Ok(Begin::Replay(answer)) => return replay(answer),
        Ok(Begin::Reused) => {
            return ApiError::new(
                ErrorCode::IdempotencyKeyReused,
                "this Idempotency-Key was already used for a different request; use a new key for a new request",
            )
            .with_field(HEADER)
            .into_response();
        }
        Ok(Begin::InProgress) => {
            let mut res = ApiError::new(
                ErrorCode::RequestInProgress,
                "a request with this Idempotency-Key is still being handled; retry shortly",
            )
            .with_field(HEADER)
            .into_response();
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return res;
        }
        Ok(Begin::AnswerLost { record_kind, record_id }) => {
            return ApiError::new(
                ErrorCode::IdempotentAnswerLost,
                "the request with this Idempotency-Key was carried out, but its answer was lost when the server \
                 stopped; look the record up instead of retrying",
            )
            .with_field(HEADER)
            .with_details(serde_json::json!({"record_kind": record_kind, "record_id": record_id}))
            .into_response();
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    if let Some(staff) = parts.extensions.get_mut::<Staff>() {
        staff.caller.idempotency = Some(attempt.claim().clone());
    }
    let req = Request::from_parts(parts, body);
    // Spawned, so a client that hangs up cannot cancel the attempt between its commit and the
    // storing of its answer (the retry would then find the key claimed without an answer).
    let run = async move {
        let res = next.run(req).await;
        let (parts, body) = res.into_parts();
        let body = match axum::body::to_bytes(body, usize::MAX).await {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "could not read a handler's answer to store it");
                Bytes::new()
            }
        };
        let text = |name: header::HeaderName| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let answer = StoredAnswer {
            status: parts.status.as_u16(),
            content_type: text(header::CONTENT_TYPE),
            location: text(header::LOCATION),
            body: body.to_vec(),
        };
        if let Err(e) = service.finish(attempt, answer).await {
            // The answer still goes out; a retry will hear that it was lost.
            tracing::error!(error = %e, "could not store the answer of an idempotent request");
        }
        Response::from_parts(parts, Body::from(body))
    };
    // Tracked with the core's writes: shutdown waits for it, so an answer whose write
    // committed is stored before the store closes, even when its client has hung up.
    match state.system.ctx.tasks.spawn(run.instrument(tracing::Span::current())).await {
        Ok(res) => res,
        Err(e) => {
            tracing::error!(error = %e, "an idempotent request's task failed");
            ApiError::from(clowder_actors::Error::Internal("the request failed".into())).into_response()
        }
    }
}

/// The body, up to [`MAX_BODY_BYTES`] (413 beyond, like the JSON extractor).
async fn read_body(body: Body) -> Result<Bytes, ApiError> {
    let mut stream = body.into_data_stream();
    let mut buf = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ApiError::new(ErrorCode::InvalidJson, "the request body could not be read"))?;
        if buf.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(ApiError::new(ErrorCode::PayloadTooLarge, "the request body is larger than 1 MiB"));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.into())
}

/// Documents the header on every operation that honours it, once, after the routes are
/// registered: the parameter, and the 409 and 422 answers it adds.
pub fn document(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, ResponseBuilder};

    let parameter = ParameterBuilder::new()
        .name(HEADER)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "Makes a retry safe: 1-255 printable ASCII characters, a fresh one per intended change (a UUID), \
             kept 24 h per user. A retry with the same key and the same request gets the first answer again \
             (with `Idempotent-Replayed: true`) and changes nothing; see docs/idempotency.md.",
        ))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String).min_length(Some(1)).max_length(Some(255))))
        .build();
    let adds = [
        (
            "409",
            "`request_in_progress`: a request with this `Idempotency-Key` is still running; `idempotent_answer_lost`: it was carried out but its answer was lost in a restart",
        ),
        (
            "422",
            "`validation_failed` naming `Idempotency-Key` (too long, control characters); `idempotency_key_reused`: the key was used for another request",
        ),
    ];
    let document_one = |op: &mut Operation| {
        op.parameters.get_or_insert_with(Vec::new).push(parameter.clone());
        for (status, text) in adds {
            match op.responses.responses.get_mut(status) {
                Some(RefOr::T(r)) => r.description = format!("{}; {text}", r.description),
                Some(RefOr::Ref(_)) => {}
                None => {
                    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorResponse"))).build();
                    let response =
                        ResponseBuilder::new().description(text).content("application/json", content).build();
                    op.responses.responses.insert(status.to_owned(), RefOr::T(response));
                }
            }
        }
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        for (method, op) in
            [(Method::POST, item.post.as_mut()), (Method::PATCH, item.patch.as_mut()), (Method::PUT, item.put.as_mut())]
        {
            if let Some(op) = op
                && honours_key(&method, path)
            {
                document_one(op);
            }
        }
    }
}

fn replay(answer: StoredAnswer) -> Response {
    let mut res = Response::new(Body::from(answer.body));
    *res.status_mut() = axum::http::StatusCode::from_u16(answer.status).unwrap_or(axum::http::StatusCode::OK);
    let headers = res.headers_mut();
    for (name, value) in [(header::CONTENT_TYPE, answer.content_type), (header::LOCATION, answer.location)] {
        if let Some(v) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(name, v);
        }
    }
    headers.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_post_but_those_carrying_secrets_honours_the_key() {
        assert!(honours_key(&Method::POST, "/api/appointments"));
        assert!(honours_key(&Method::POST, "/api/clients"));
        assert!(!honours_key(&Method::POST, "/api/auth/login"));
        assert!(honours_key(&Method::PATCH, "/api/appointments/{id}"), "a reschedule opts in");
        assert!(!honours_key(&Method::PATCH, "/api/clients/{id}"));
        assert!(!honours_key(&Method::GET, "/api/clients"));
    }

    #[test]
    fn every_ignored_route_is_a_post_of_the_access_table() {
        for path in IGNORED {
            assert!(crate::access::ROUTES.iter().any(|(m, p, _)| *m == "POST" && p == path), "{path}");
        }
    }
}
