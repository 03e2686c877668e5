//! `/admin/api/trace`: PDU hex dumps in the log for one account's sessions
//! or one connector's binds, switched at runtime (see
//! [`crate::trace_switch`] and docs/tracing.md). The switches are the
//! store's, so every node of a cluster follows them within seconds; this
//! node follows at once.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use tracing::info;

use super::AdminState;
use super::auth::Operator;
use super::body::{invalid, optional_json, store_problem};
use crate::ingress::http_api::problem::Problem;
use crate::store::{TraceKind, TraceSwitch};
use crate::trace_switch::TraceSwitchError;

/// The body of `PUT /admin/api/trace/{kind}/{name}`; empty means the default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SwitchOn {
    /// How long the trace lasts (default 30, at most 1440).
    minutes: Option<u32>,
}

/// `GET /admin/api/trace`: the switches on now, in the whole cluster.
pub(super) async fn list(
    State(admin): State<AdminState>,
) -> Result<Json<Vec<TraceSwitch>>, Problem> {
    let switches = admin
        .ctx
        .trace
        .list(admin.ctx.store.as_ref())
        .await
        .map_err(store_problem)?;
    Ok(Json(switches))
}

/// `PUT /admin/api/trace/{kind}/{name}`.
pub(super) async fn switch_on(
    State(admin): State<AdminState>,
    axum::Extension(operator): axum::Extension<Operator>,
    Path((kind, name)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<TraceSwitch>, Problem> {
    let kind = trace_kind(&kind)?;
    let SwitchOn { minutes } = optional_json(&body)?;
    let switch = admin
        .ctx
        .trace
        .switch_on(admin.ctx.store.as_ref(), kind, &name, minutes)
        .await
        .map_err(|error| match error {
            TraceSwitchError::Store(error) => store_problem(error),
            refused => invalid(refused.to_string()),
        })?;
    info!(kind = kind.as_str(), %name, by = %operator.user, "admin api: trace switched on");
    Ok(Json(switch))
}

/// `DELETE /admin/api/trace/{kind}/{name}`: 204, or 404 when it was not on.
pub(super) async fn switch_off(
    State(admin): State<AdminState>,
    axum::Extension(operator): axum::Extension<Operator>,
    Path((kind, name)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    let kind = trace_kind(&kind)?;
    let existed = admin
        .ctx
        .trace
        .switch_off(admin.ctx.store.as_ref(), kind, &name)
        .await
        .map_err(store_problem)?;
    if !existed {
        return Err(Problem::not_found(format!(
            "no trace switch for {} {name}",
            kind.as_str()
        )));
    }
    info!(kind = kind.as_str(), %name, by = %operator.user, "admin api: trace switched off");
    Ok(StatusCode::NO_CONTENT)
}

fn trace_kind(text: &str) -> Result<TraceKind, Problem> {
    TraceKind::parse(text).ok_or_else(|| {
        Problem::not_found(format!(
            "no trace kind {text:?}: it is `account` or `connector`"
        ))
    })
}
