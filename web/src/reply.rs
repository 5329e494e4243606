//! Responders: the shapes of successful answers, written once so handlers only say what
//! they answer. Errors are `crate::error::ApiError`'s business.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// `201 Created` with a `Location` header naming the new record and the record as the body.
#[derive(Debug)]
pub struct Created<T> {
    location: String,
    body: T,
}

impl<T: Serialize> Created<T> {
    /// The record `body`, now readable at `location` (a path such as `/api/clients/<id>`).
    pub fn at(location: impl Into<String>, body: T) -> Self {
        Self { location: location.into(), body }
    }
}

impl<T: Serialize> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        (StatusCode::CREATED, [(header::LOCATION, self.location)], axum::Json(self.body)).into_response()
    }
}
