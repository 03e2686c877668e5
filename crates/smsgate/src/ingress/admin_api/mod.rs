//! The admin API: JSON under `/admin/api`, what the operator console uses
//! and what operators' scripts call (see docs/admin-api.md for the
//! contract).
//!
//! - `POST /admin/api/login`, `POST /admin/api/logout`, `GET /admin/api/me`
//!   — console sessions ([`auth`]);
//! - `GET /admin/api/overview` — the dashboard ([`overview`]), and
//!   `/overview/history`, its last five minutes ([`history`]);
//! - `/admin/api/accounts…` — accounts, credits and API keys ([`accounts`]);
//! - `/admin/api/sessions…` — this node's bound SMPP sessions ([`sessions`]);
//! - `/admin/api/connectors…` — connector status, pause and resume ([`connectors`]);
//! - `/admin/api/routes…` — the routes in force and a dry run ([`routes`]);
//! - `/admin/api/messages…` — message search and detail ([`messages`]);
//! - `GET /admin/api/queues` — what waits ([`overview`]);
//! - `/admin/api/trace…` — runtime PDU trace switches ([`trace`]).
//!
//! Every route but login needs admin credentials ([`auth`]): a console
//! session cookie, an admin token or an admin user's password. Customer
//! credentials never work here, as admin credentials never work on
//! `/api/v1`. The API owns no state of its own besides the console's login
//! sessions: accounts and messages are the store's, sessions the SMPP
//! server's registry, connectors and routes the dispatcher's.

mod accounts;
mod auth;
mod body;
pub mod bootstrap;
mod connectors;
mod gate;
mod history;
mod messages;
mod overview;
mod routes;
mod security;
mod sessions;
mod trace;

use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::Response;
use axum::routing::{delete, get, post, put};
use tokio_util::sync::CancellationToken;

use self::auth::LoginSessions;
pub use self::gate::{AdminConfig, gated};
use crate::accept::Acceptor;
use crate::accounts::ip_guard::Guards;
use crate::accounts::verifier::PasswordVerifier;
use crate::delivery::callback_targets::CallbackTargets;
use crate::dispatch::DispatchControl;
use crate::ingress::http_api::problem::Problem;
use crate::ingress::smpp_server::SessionRegistry;
use crate::metrics::Metrics;
use crate::store::Store;
use crate::trace_switch::TraceSwitches;

/// What the admin API reads and changes: the node's parts, shared.
pub struct AdminContext {
    /// This node's name (the overview).
    pub node: String,
    /// When the node started.
    pub started_at: SystemTime,
    /// Cancelled when the node begins shutting down: it no longer accepts.
    pub stopping: CancellationToken,
    /// Accounts, admin users and tokens, messages.
    pub store: Arc<dyn Store>,
    /// The phone number tables (route tests).
    pub acceptor: Arc<Acceptor>,
    /// This node's bound SMPP sessions.
    pub registry: Arc<SessionRegistry>,
    /// Connectors and routes in force.
    pub dispatch: DispatchControl,
    /// The node's counters.
    pub metrics: Arc<Metrics>,
    /// Password checks (shared with binds and the customer API).
    pub verifier: Arc<PasswordVerifier>,
    /// Brute-force blocking, one guard per surface: failed admin and
    /// console logins count on `console`; all three are listed and lifted
    /// here.
    pub guards: Guards,
    /// The runtime PDU trace switches.
    pub trace: TraceSwitches,
    /// `[admin]`: allowed addresses, cookie flags.
    pub config: AdminConfig,
    /// Where accounts' default callback URLs may point (`[http] callback_allow`).
    pub callback_targets: Arc<CallbackTargets>,
    /// The customer API's remembered API keys: emptied when an account or
    /// a key changes here, so that the change holds at once on this node.
    pub api_keys: Arc<crate::ingress::http_api::KeyCache>,
}

/// The context and the console's login sessions, behind every handler.
struct Admin {
    ctx: AdminContext,
    logins: LoginSessions,
    /// The dashboard's last five minutes ([`history`]).
    history: Arc<history::History>,
}

/// The shared state of the admin routes.
type AdminState = Arc<Admin>;

/// The admin API's routes, to merge into the HTTP listener's router.
pub fn router(ctx: AdminContext) -> Router {
    let admin_config = ctx.config.clone();
    let history = Arc::new(history::History::default());
    history.spawn_sampler(
        Arc::clone(&ctx.metrics),
        Arc::clone(&ctx.store),
        ctx.stopping.clone(),
    );
    let state = Arc::new(Admin {
        ctx,
        logins: LoginSessions::new(),
        history,
    });
    let api = Router::new()
        .route("/logout", post(auth::logout))
        .route("/me", get(auth::me))
        .route("/overview", get(overview::overview))
        .route("/overview/history", get(history::history))
        .route("/queues", get(overview::queues))
        .route("/accounts", get(accounts::list).post(accounts::create))
        .route(
            "/accounts/{system_id}",
            get(accounts::show)
                .patch(accounts::update)
                .delete(accounts::remove),
        )
        .route("/accounts/{system_id}/credits", post(accounts::credit))
        .route(
            "/accounts/{system_id}/api-keys",
            get(accounts::api_keys).post(accounts::create_api_key),
        )
        .route(
            "/accounts/{system_id}/api-keys/{key_id}",
            delete(accounts::revoke_api_key),
        )
        .route("/sessions", get(sessions::list))
        .route("/sessions/{id}", delete(sessions::disconnect))
        .route("/connectors", get(connectors::list))
        .route("/connectors/{name}/pause", post(connectors::pause))
        .route("/connectors/{name}/resume", post(connectors::resume))
        .route("/routes", get(routes::list))
        .route("/routes/test", post(routes::test))
        .route("/messages", get(messages::search))
        .route("/messages/{id}", get(messages::show))
        .route("/security/blocks", get(security::list))
        .route("/security/blocks/{address}", delete(security::unblock))
        .route("/trace", get(trace::list))
        .route(
            "/trace/{kind}/{name}",
            put(trace::switch_on).delete(trace::switch_off),
        )
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            auth::authenticate,
        ))
        // After the auth layer, which covers only the routes before it.
        .route("/login", post(auth::login))
        .fallback(|| async { Problem::not_found("no such endpoint in the admin API") })
        .layer(middleware::map_response(no_basic_challenge))
        .with_state(state);
    gated(Router::new().nest("/admin/api", api), &admin_config)
}

/// A 401 here challenges for a bearer token only. The shared problem type
/// also offers Basic, which would make a browser pop up its own password
/// dialog over the console whenever a session ends; scripts using Basic
/// send their credentials without being asked, so they lose nothing.
async fn no_basic_challenge(mut response: Response) -> Response {
    if response.status() == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"smsgate-admin\""),
        );
    }
    response
}
