//! `/admin/api/sessions`: this node's bound SMPP sessions, and
//! disconnecting one.

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use tracing::info;

use super::AdminState;
use super::auth::Operator;
use crate::accounts::canonical_ip;
use crate::ingress::http_api::problem::Problem;
use crate::ingress::smpp_server::BoundSession;
use crate::store::BindType;

/// How long a disconnected customer has to answer our unbind before the
/// connection is closed without it.
const UNBIND_WAIT: Duration = Duration::from_secs(5);

/// One session as listed.
#[derive(Debug, Serialize)]
pub(super) struct SessionView {
    id: u64,
    system_id: String,
    bind_type: BindType,
    remote: String,
    ip_version: u8,
    tls: bool,
    #[serde(with = "crate::timefmt::rfc3339")]
    since: SystemTime,
    window: WindowView,
    deliver_window: WindowView,
    messages_in: u64,
    messages_out: u64,
}

/// A window: for `window`, the customer's requests being handled now, of
/// how many it may have; for `deliver_window`, our deliver_sm it has not
/// answered yet, of how many it may have.
#[derive(Debug, Serialize)]
struct WindowView {
    in_use: usize,
    size: usize,
}

impl SessionView {
    fn of(session: &BoundSession) -> SessionView {
        let stats = &session.stats;
        SessionView {
            id: session.id,
            system_id: session.system_id.clone(),
            bind_type: session.bind_type,
            remote: session.remote.to_string(),
            ip_version: if canonical_ip(session.remote.ip()).is_ipv4() {
                4
            } else {
                6
            },
            tls: session.tls,
            since: session.since,
            window: WindowView {
                in_use: stats.in_flight.load(Ordering::Relaxed),
                size: stats.window.load(Ordering::Relaxed) as usize,
            },
            deliver_window: WindowView {
                in_use: session.handle.in_flight(),
                size: session.handle.window(),
            },
            messages_in: stats.messages_in.load(Ordering::Relaxed),
            messages_out: stats.messages_out.load(Ordering::Relaxed),
        }
    }
}

/// `GET /admin/api/sessions`: oldest first.
pub(super) async fn list(State(admin): State<AdminState>) -> Json<Vec<SessionView>> {
    Json(
        admin
            .ctx
            .registry
            .list()
            .iter()
            .map(SessionView::of)
            .collect(),
    )
}

/// `DELETE /admin/api/sessions/{id}`: unbinds the session, closing the
/// connection at once if the customer does not answer within
/// [`UNBIND_WAIT`]; answers 204 once it is done.
pub(super) async fn disconnect(
    State(admin): State<AdminState>,
    axum::Extension(operator): axum::Extension<Operator>,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let not_found = || Problem::not_found(format!("no session {id} is bound on this node"));
    let session = id
        .parse::<u64>()
        .ok()
        .and_then(|id| admin.ctx.registry.get(id))
        .ok_or_else(not_found)?;
    info!(
        session = session.id,
        account = %session.system_id,
        by = %operator.user,
        "admin api: disconnecting a session"
    );
    let unbound = tokio::time::timeout(UNBIND_WAIT, session.handle.unbind()).await;
    if !matches!(unbound, Ok(Ok(()))) {
        session.handle.close();
    }
    Ok(StatusCode::NO_CONTENT)
}
