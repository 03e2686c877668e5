//! `Idempotency-Key` on `POST /api/v1/messages` and `/messages/batch`: a
//! client that did not get the answer (a timeout, a dropped connection)
//! sends the request again with the same key, and within 24 h gets the
//! first answer again (`Idempotent-Replayed: true`), with nothing sent or
//! charged twice.
//!
//! - Only answers that accepted something (2xx) are kept; a refusal (4xx,
//!   5xx) lets the key go, so the corrected or retried request runs.
//! - The same key with a different body is 422 `idempotency_key_reused`;
//!   while the first request still runs, 409 `idempotency_key_in_use`
//!   (with `Retry-After`).
//! - Keys are per account. A key whose first request never answered (the
//!   node died while it ran) may be used again after [`ABANDONED_AFTER`]:
//!   the one case where a message could be accepted twice. A client that
//!   goes away mid-request does not count: the request runs to its answer,
//!   which is kept for the retry.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use tracing::warn;

use super::ApiContext;
use super::auth::Caller;
use super::problem::Problem;
use crate::store::IdempotencyClaim;

/// How long a key's answer is kept.
pub const KEPT_FOR: Duration = Duration::from_secs(24 * 3600);

/// A key held this long by a request that never answered is free again
/// (longer than any request may take: `[http] request_timeout` is 30 s).
pub const ABANDONED_AFTER: Duration = Duration::from_secs(120);

/// The longest key taken (the IETF draft's keys are UUIDs, 36 characters).
const MAX_KEY_LEN: usize = 255;

/// The largest request body read to digest it (the batch's JSON bodies
/// are refused past 2 MB by axum's own limit anyway).
const MAX_BODY: usize = 4 * 1024 * 1024;

/// The layer of the two POST routes; passes requests without a key through.
pub async fn guard(State(ctx): State<Arc<ApiContext>>, request: Request, next: Next) -> Response {
    let Some(key) = request.headers().get("idempotency-key") else {
        return next.run(request).await;
    };
    let Some(key) = key
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|key| !key.is_empty() && key.len() <= MAX_KEY_LEN)
        .map(str::to_string)
    else {
        return Problem::unprocessable(
            "invalid_idempotency_key",
            format!("Idempotency-Key is 1 to {MAX_KEY_LEN} printable ASCII characters"),
        )
        .into_response();
    };
    let Some(account) = request
        .extensions()
        .get::<Caller>()
        .map(|caller| caller.account.system_id.clone())
    else {
        return Problem::unauthorized().into_response();
    };
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the request body is larger than {MAX_BODY} octets"),
        )
        .into_response();
    };
    let digest = Sha256::new()
        .chain_update(parts.method.as_str())
        .chain_update(b" ")
        .chain_update(parts.uri.path())
        .chain_update(b"\n")
        .chain_update(&bytes)
        .finalize()
        .to_vec();
    let now = SystemTime::now();
    let claim = ctx
        .store
        .claim_idempotency_key(
            &account,
            &key,
            digest.clone(),
            now,
            now.checked_sub(ABANDONED_AFTER).unwrap_or(now),
            now.checked_sub(KEPT_FOR).unwrap_or(now),
        )
        .await;
    match claim {
        Err(error) => Problem::store_unavailable(&error).into_response(),
        Ok(
            IdempotencyClaim::Done { request_hash, .. }
            | IdempotencyClaim::Running { request_hash },
        ) if request_hash != digest => Problem::unprocessable(
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different request; use a new key for a new request",
        )
        .into_response(),
        Ok(IdempotencyClaim::Running { .. }) => {
            let mut response = Problem::new(
                StatusCode::CONFLICT,
                "idempotency_key_in_use",
                "the first request with this Idempotency-Key is still being answered",
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            response
        }
        Ok(IdempotencyClaim::Done { status, body, .. }) => replay(status, body),
        Ok(IdempotencyClaim::New) => {
            // On a task of its own: a client that goes away mid-request
            // (the reason it retries) does not leave the key held.
            let request = Request::from_parts(parts, Body::from(bytes));
            let work = tokio::spawn(async move {
                let response = next.run(request).await;
                keep(&ctx, &account, &key, response).await
            });
            work.await.unwrap_or_else(|_| {
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the request failed inside the gateway",
                )
                .into_response()
            })
        }
    }
}

/// Keeps a 2xx answer under the key and lets the key go otherwise.
async fn keep(ctx: &ApiContext, account: &str, key: &str, response: Response) -> Response {
    let (parts, body) = response.into_parts();
    if !parts.status.is_success() {
        if let Err(error) = ctx.store.release_idempotency_key(account, key).await {
            warn!(%error, account, "http api: cannot release an idempotency key");
        }
        return Response::from_parts(parts, body);
    }
    // Our own answers: bounded by the batch size.
    let Ok(bytes) = to_bytes(body, usize::MAX).await else {
        return Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the answer could not be read back",
        )
        .into_response();
    };
    if let Err(error) = ctx
        .store
        .finish_idempotency_key(account, key, parts.status.as_u16(), bytes.to_vec())
        .await
    {
        // The messages are stored; only a replay is lost (a retry with the
        // key would get 409 until the key is abandoned).
        warn!(%error, account, "http api: cannot keep the answer of an idempotency key");
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The first answer again.
fn replay(status: u16, body: Vec<u8>) -> Response {
    let mut response =
        (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}
