//! The staff pages, served by the binary: hand-written HTML, CSS and ES modules embedded at
//! compile time (no build step, no third-party front-end code). A page holds no data; it
//! loads everything from the API on the session cookie, so pages themselves are public and
//! send a visitor without a session to the sign-in page.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::error::ApiError;

const SIGNIN: &str = include_str!("../pages/signin.html");
const BOARD: &str = include_str!("../pages/board.html");
const TABLET: &str = include_str!("../pages/tablet.html");
const RECORD: &str = include_str!("../pages/record.html");

/// The embedded assets: name, content type, body.
const ASSETS: &[(&str, &str, &str)] = &[
    ("app.css", "text/css; charset=utf-8", include_str!("../pages/app.css")),
    ("api.js", "text/javascript; charset=utf-8", include_str!("../pages/api.js")),
    ("live.js", "text/javascript; charset=utf-8", include_str!("../pages/live.js")),
    ("signin.js", "text/javascript; charset=utf-8", include_str!("../pages/signin.js")),
    ("board.js", "text/javascript; charset=utf-8", include_str!("../pages/board.js")),
    ("tablet.js", "text/javascript; charset=utf-8", include_str!("../pages/tablet.js")),
    ("search.js", "text/javascript; charset=utf-8", include_str!("../pages/search.js")),
    ("record.js", "text/javascript; charset=utf-8", include_str!("../pages/record.js")),
];

fn html(body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

/// `/`: the Today board.
pub async fn home() -> Redirect {
    Redirect::to("/board")
}

/// `/signin`.
pub async fn signin() -> Response {
    html(SIGNIN)
}

/// `/board`: the Today board.
pub async fn board() -> Response {
    html(BOARD)
}

/// `/tablet?room=<id>`: an exam room's tablet.
pub async fn tablet() -> Response {
    html(TABLET)
}

/// `/clients/{id}` and `/patients/{id}`: one client's or one cat's record. The page is the
/// same static HTML for every id and never reads it here: its script takes the id from the
/// address and the API, which validates it, answers 404 for one that names nothing.
pub async fn record() -> Response {
    html(RECORD)
}

/// `/assets/{file}`.
pub async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, ct, body)) => {
            (StatusCode::OK, [(header::CONTENT_TYPE, *ct), (header::CACHE_CONTROL, "no-cache")], *body).into_response()
        }
        None => ApiError::new(clowder_schemas::ErrorCode::NotFound, "no such asset").into_response(),
    }
}
