//! Request bodies and the admin API's own problems: `invalid` (422) for a
//! field the API will not take, `conflict` (409) for something that exists
//! already, and store errors turned into the answer that says who must act.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::ingress::http_api::problem::Problem;
use crate::store::StoreError;

/// The body as `T`. JSON that does not parse is `bad_json` (400); JSON of
/// the wrong shape (a missing, unknown or mistyped field) is `invalid`
/// (422), with serde's words naming the field.
pub(super) fn json<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, Problem> {
    match body {
        Ok(Json(value)) => Ok(value),
        Err(JsonRejection::JsonDataError(error)) => Err(invalid(error.body_text())),
        Err(other) => Err(Problem::from(other)),
    }
}

/// A body that may be left out (empty: `T`'s default), as [`json`] reads
/// one otherwise.
pub(super) fn optional_json<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, Problem> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|error| match error.classify() {
        serde_json::error::Category::Data => invalid(error.to_string()),
        _ => Problem::new(StatusCode::BAD_REQUEST, "bad_json", error.to_string()),
    })
}

/// 422 `invalid`: a field the API will not take, and why.
pub(super) fn invalid(detail: impl Into<String>) -> Problem {
    Problem::unprocessable("invalid", detail)
}

/// 409 `conflict`: it exists already.
pub(super) fn conflict(detail: impl Into<String>) -> Problem {
    Problem::new(StatusCode::CONFLICT, "conflict", detail)
}

/// A store error as an answer: not found 404, exists 409, anything else
/// 503 (logged, not shown).
pub(super) fn store_problem(error: StoreError) -> Problem {
    match error {
        StoreError::NotFound(what) => Problem::not_found(format!("no {what}")),
        StoreError::AlreadyExists(what) => conflict(format!("{what} exists already")),
        other => Problem::store_unavailable(&other),
    }
}
