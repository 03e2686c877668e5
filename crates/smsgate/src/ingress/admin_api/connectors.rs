//! `/admin/api/connectors`: each connector's kind, health and pause, and
//! pausing and resuming one (see [`crate::dispatch::DispatchControl`]).

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use tracing::info;

use super::AdminState;
use super::auth::Operator;
use crate::dispatch::ConnectorStatus;
use crate::ingress::http_api::problem::Problem;

/// A connector as listed: its status and, at the top level for the
/// console's table, its submits in flight.
#[derive(Debug, Serialize)]
pub(super) struct ConnectorView {
    #[serde(flatten)]
    status: ConnectorStatus,
    in_flight: usize,
}

impl From<ConnectorStatus> for ConnectorView {
    fn from(status: ConnectorStatus) -> ConnectorView {
        ConnectorView {
            in_flight: status.health.in_flight,
            status,
        }
    }
}

/// `GET /admin/api/connectors`: by name.
pub(super) async fn list(State(admin): State<AdminState>) -> Json<Vec<ConnectorView>> {
    Json(
        admin
            .ctx
            .dispatch
            .connectors()
            .into_iter()
            .map(ConnectorView::from)
            .collect(),
    )
}

/// `POST /admin/api/connectors/{name}/pause`.
pub(super) async fn pause(
    State(admin): State<AdminState>,
    axum::Extension(operator): axum::Extension<Operator>,
    Path(name): Path<String>,
) -> Result<Json<ConnectorView>, Problem> {
    let status = admin.ctx.dispatch.pause(&name);
    answer(status, &name, &operator, "paused")
}

/// `POST /admin/api/connectors/{name}/resume`.
pub(super) async fn resume(
    State(admin): State<AdminState>,
    axum::Extension(operator): axum::Extension<Operator>,
    Path(name): Path<String>,
) -> Result<Json<ConnectorView>, Problem> {
    let status = admin.ctx.dispatch.resume(&name);
    answer(status, &name, &operator, "resumed")
}

/// The connector after a pause or resume, logged; 404 when none has that name.
fn answer(
    status: Option<ConnectorStatus>,
    name: &str,
    operator: &Operator,
    done: &str,
) -> Result<Json<ConnectorView>, Problem> {
    let status =
        status.ok_or_else(|| Problem::not_found(format!("no connector {name} is in force")))?;
    info!(connector = %name, by = %operator.user, "admin api: connector {done}");
    Ok(Json(status.into()))
}
