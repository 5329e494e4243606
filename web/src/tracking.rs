//! Error tracking (Sentry, optional, off unless `CLOWDER_SENTRY_DSN` is set): what a panic
//! or a 5xx answer sends, and the scrubbing that keeps personal and medical data out of it.
//!
//! What leaves the server is decided here, once, by [`scrub`] (the client's `before_send`),
//! whatever produced the event: no request (URL, query string, headers, cookies, body), no
//! user, no breadcrumbs, no extra data, no local variables or source lines; only the tags in
//! [`TAGS`] (request id, route template, method, status, error code); an exception's message
//! (which may quote user input, e.g. a panic's) is replaced by the error code. A path is
//! known only as its route template (`/api/patients/{id}`), so no id or name in a path is
//! sent.
//!
//! `middleware::observe` gives each request its own hub when tracking is on
//! ([`request_hub`]): a panic in the handler is reported by sentry's panic hook with the
//! request's tags, and a 5xx answer by [`report_status`]. Sending never blocks a request:
//! the client queues envelopes for its own transport thread.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use clowder_schemas::ErrorCode;
use sentry::protocol::{Event, Level};
use sentry::{ClientOptions, Hub};

/// The only tags an event may carry.
pub const TAGS: [&str; 5] = ["request_id", "route", "method", "status", "code"];

/// How long shutdown waits for queued events to be sent.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// Marks the 500 answer of a panic, which sentry's panic hook has already reported.
#[derive(Debug, Clone, Copy)]
pub struct Panicked;

/// Checks a DSN (`https://<key>@<host>/<project>`), for the settings.
pub fn check_dsn(dsn: &str) -> Result<(), String> {
    dsn.trim()
        .parse::<sentry::types::Dsn>()
        .map(|_| ())
        .map_err(|e| format!("not a Sentry DSN like https://<key>@<host>/<project> ({e})"))
}

/// The client's options: release `clowder@<version>`, no personal data, every event through
/// [`scrub`], a 2 s flush at shutdown.
pub fn client_options(dsn: &str, environment: &str, version: &str) -> Result<ClientOptions, String> {
    let dsn = dsn.trim().parse::<sentry::types::Dsn>().map_err(|e| format!("not a Sentry DSN ({e})"))?;
    let mut o = ClientOptions::default();
    o.dsn = Some(dsn);
    o.release = Some(Cow::Owned(format!("clowder@{version}")));
    o.environment = Some(Cow::Owned(environment.to_owned()));
    o.send_default_pii = false;
    o.max_breadcrumbs = 0;
    o.attach_stacktrace = false;
    o.shutdown_timeout = FLUSH_TIMEOUT;
    o.before_send = Some(Arc::new(|event| Some(scrub(event))));
    Ok(o)
}

/// A hub for one request, carrying its tags: what a panic while it runs is reported with.
/// The status and code preset are what a panic answers (`middleware::panicked`).
pub fn request_hub(request_id: &str, method: &str, route: &str) -> Arc<Hub> {
    let hub = Arc::new(Hub::new_from_top(Hub::main()));
    hub.configure_scope(|scope| {
        scope.set_tag("request_id", request_id);
        scope.set_tag("method", method);
        scope.set_tag("route", route);
        scope.set_tag("status", 500);
        scope.set_tag("code", ErrorCode::InternalError.as_str());
        scope.set_transaction(Some(route));
    });
    hub
}

/// Reports a 5xx answer (its code, when it is one of ours) on the request's hub.
pub fn report_status(hub: &Hub, method: &str, route: &str, status: u16, code: Option<ErrorCode>) {
    let code = code.map_or("none", ErrorCode::as_str);
    let event = Event {
        level: Level::Error,
        message: Some(format!("HTTP {status} {code}")),
        // One issue per route and code, not one per request.
        fingerprint: Cow::Owned(vec![
            Cow::Borrowed("http-5xx"),
            Cow::Owned(method.to_owned()),
            Cow::Owned(route.to_owned()),
            Cow::Borrowed(code),
        ]),
        ..Event::default()
    };
    hub.with_scope(
        |scope| {
            scope.set_tag("status", status);
            scope.set_tag("code", code);
        },
        || hub.capture_event(event),
    );
}

/// Removes from an event everything that could carry personal or medical data (see the
/// module doc). Runs on every event, whatever produced it.
pub fn scrub(mut event: Event<'static>) -> Event<'static> {
    event.request = None;
    event.user = None;
    event.breadcrumbs.values.clear();
    event.extra.clear();
    event.logentry = None;
    event.culprit = None;
    event.template = None;
    event.tags.retain(|k, _| TAGS.contains(&k.as_str()));
    let code = event.tags.get("code").cloned().unwrap_or_else(|| ErrorCode::InternalError.as_str().to_owned());
    event.message = event.tags.get("status").map(|status| format!("HTTP {status} {code}"));
    event.transaction = event.tags.get("route").cloned();
    for exception in &mut event.exception.values {
        // A panic's message may quote a value (a name, a note); its type and stack stay.
        exception.value = Some(code.clone());
        if let Some(m) = exception.mechanism.as_mut() {
            m.description = None;
            m.data.clear();
        }
        for st in [exception.stacktrace.as_mut(), exception.raw_stacktrace.as_mut()].into_iter().flatten() {
            scrub_frames(st);
        }
    }
    if let Some(st) = event.stacktrace.as_mut() {
        scrub_frames(st);
    }
    for thread in &mut event.threads.values {
        if let Some(st) = thread.stacktrace.as_mut() {
            scrub_frames(st);
        }
    }
    event
}

/// Keeps where a frame is (function, file, line), never what it held or its source lines.
fn scrub_frames(st: &mut sentry::protocol::Stacktrace) {
    st.registers.clear();
    for f in &mut st.frames {
        f.vars.clear();
        f.pre_context.clear();
        f.context_line = None;
        f.post_context.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sentry::protocol::{Breadcrumb, Exception, Frame, Request, Stacktrace, User, Values};

    const PERSONAL: [&str; 5] = ["Jane Doe", "jane@example.com", "503 555 0100", "feline leukemia", "Whiskers"];

    /// An event stuffed with personal data everywhere a careless integration might put it.
    fn leaky_event() -> Event<'static> {
        let mut e = Event {
            message: Some("failed for Jane Doe <jane@example.com>".into()),
            culprit: Some("Whiskers".into()),
            user: Some(User { email: Some("jane@example.com".into()), ..Default::default() }),
            request: Some(Request {
                url: "http://clinic/api/clients?q=Jane%20Doe".parse().ok(),
                data: Some(r#"{"phone":"503 555 0100"}"#.into()),
                query_string: Some("q=Jane Doe".into()),
                cookies: Some("clowder_session=abc".into()),
                ..Default::default()
            }),
            breadcrumbs: Values { values: vec![Breadcrumb { message: Some("Whiskers".into()), ..Default::default() }] },
            exception: Values {
                values: vec![Exception {
                    ty: "panic".into(),
                    value: Some("called unwrap on Err(\"feline leukemia\")".into()),
                    stacktrace: Some(Stacktrace {
                        frames: vec![Frame {
                            function: Some("clowder_web::routes::clients::clients_create".into()),
                            lineno: Some(42),
                            context_line: Some("let name = \"Jane Doe\";".into()),
                            vars: [("name".to_owned(), "Jane Doe".into())].into_iter().collect(),
                            ..Default::default()
                        }],
                        ..Default::default()
                    }),
                    ..Default::default()
                }],
            },
            ..Default::default()
        };
        e.extra.insert("body".into(), "503 555 0100".into());
        e.tags.insert("client".into(), "Jane Doe".into());
        e.tags.insert("request_id".into(), "req-1".into());
        e.tags.insert("route".into(), "/api/clients/{id}".into());
        e.tags.insert("status".into(), "500".into());
        e.tags.insert("code".into(), "internal_error".into());
        e
    }

    #[test]
    fn scrubbing_leaves_no_personal_data_and_keeps_the_request_tags() {
        let scrubbed = scrub(leaky_event());
        let json = serde_json::to_string(&scrubbed).unwrap();
        for word in PERSONAL {
            assert!(!json.contains(word), "{word} left in {json}");
        }
        assert_eq!(
            scrubbed.tags.keys().map(String::as_str).collect::<Vec<_>>(),
            ["code", "request_id", "route", "status"]
        );
        assert_eq!(scrubbed.message.as_deref(), Some("HTTP 500 internal_error"));
        assert_eq!(scrubbed.transaction.as_deref(), Some("/api/clients/{id}"));
        let exception = &scrubbed.exception.values[0];
        assert_eq!((exception.ty.as_str(), exception.value.as_deref()), ("panic", Some("internal_error")));
        let frame = &exception.stacktrace.as_ref().unwrap().frames[0];
        assert_eq!(frame.lineno, Some(42), "where it failed is kept");
        assert!(frame.function.as_deref().unwrap().ends_with("clients_create"));
    }

    #[test]
    fn an_event_outside_a_request_loses_its_message() {
        let mut e = leaky_event();
        e.tags.clear();
        let scrubbed = scrub(e);
        assert!(scrubbed.message.is_none() && scrubbed.tags.is_empty() && scrubbed.transaction.is_none());
        assert_eq!(scrubbed.exception.values[0].value.as_deref(), Some("internal_error"));
    }

    #[test]
    fn options_name_the_release_and_send_no_personal_data() {
        let o = client_options("http://public@127.0.0.1:9/1", "staging", "1.2.3").unwrap();
        assert_eq!(o.release.as_deref(), Some("clowder@1.2.3"));
        assert_eq!(o.environment.as_deref(), Some("staging"));
        assert!(!o.send_default_pii && o.before_send.is_some());
        assert!(check_dsn("not a dsn").is_err());
        assert!(check_dsn("https://key@sentry.example/42").is_ok());
    }
}
