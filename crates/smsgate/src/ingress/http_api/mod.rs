//! The customer HTTP API, v1: JSON under `/api/v1`, the HTTP twin of the
//! SMPP server. Sending goes through the same acceptance (validation, the
//! account's rate and credits, persist-then-answer); refusals are RFC 9457
//! problems carrying acceptance's stable codes ([`problem`]).
//!
//! - `POST /api/v1/messages` — one text to one or more recipients ([`send`]);
//! - `POST /api/v1/messages/batch` — many, each answered on its own;
//! - `GET /api/v1/messages/{id}` — state and trace of one of the caller's messages;
//! - `GET /api/v1/balance` — the account's credits;
//! - `GET /api/v1/status` — whether a message sent now would be taken;
//! - `GET /api/v1/openapi.json` — the OpenAPI document of all this ([`openapi`]).
//!
//! Every route but the document needs credentials ([`auth`]): an API key,
//! or the account's SMPP system_id and password. The API owns no state of its own: accounts,
//! keys and messages are the store's, limits the acceptor's.

mod auth;
mod idempotency;
mod key_cache;
mod messages;
pub mod openapi;
pub mod problem;
pub mod send;
mod status;

use std::sync::Arc;

use axum::Router;
use axum::middleware;
use axum::routing::{get, post};

pub use self::key_cache::KeyCache;
use self::problem::Problem;
use crate::accept::Acceptor;
use crate::accounts::ip_guard::IpGuard;
use crate::accounts::verifier::PasswordVerifier;
use crate::delivery::callback_targets::CallbackTargets;
use crate::store::Store;

/// What every request shares: the node's store and acceptor, and the
/// password verifier and IP guard of the SMPP server (so failed logins
/// count the same whichever way they come).
pub struct ApiContext {
    /// Accounts, API keys and messages.
    pub store: Arc<dyn Store>,
    /// Validation, rate, charging and storing.
    pub acceptor: Arc<Acceptor>,
    /// Password checks for HTTP Basic credentials.
    pub verifier: Arc<PasswordVerifier>,
    /// Brute-force blocking of addresses.
    pub guard: Arc<IpGuard>,
    /// Where callback URLs may point (`[http] callback_allow`).
    pub callback_targets: Arc<CallbackTargets>,
    /// API keys found in the last seconds, with their accounts (shared
    /// with the admin API, which empties it when accounts or keys change).
    pub keys: Arc<KeyCache>,
}

/// The API's routes, to merge into the HTTP listener's router.
pub fn router(ctx: ApiContext) -> Router {
    let ctx = Arc::new(ctx);
    let api = Router::new()
        .route(
            "/messages",
            post(messages::send).layer(middleware::from_fn_with_state(
                Arc::clone(&ctx),
                idempotency::guard,
            )),
        )
        .route(
            "/messages/batch",
            post(messages::send_batch).layer(middleware::from_fn_with_state(
                Arc::clone(&ctx),
                idempotency::guard,
            )),
        )
        .route("/messages/{id}", get(messages::show))
        .route("/balance", get(status::balance))
        .route("/status", get(status::status))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&ctx),
            auth::authenticate,
        ))
        // After the auth layer, which covers only the routes before it.
        .route("/openapi.json", get(openapi::document))
        .fallback(|| async { Problem::not_found("no such endpoint in API v1") })
        .with_state(ctx);
    Router::new().nest("/api/v1", api)
}
