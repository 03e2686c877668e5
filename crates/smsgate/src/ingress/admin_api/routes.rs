//! `/admin/api/routes`: the routes in force, and a dry run of routing for
//! one message, the same answer as `smsgate route list --json` and
//! `smsgate route test --json` ([`crate::routing::test_route`]), judged on
//! the running connectors' binds and pauses.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use serde::Deserialize;

use super::AdminState;
use super::body::{invalid, json, store_problem};
use crate::ingress::http_api::problem::Problem;
use crate::routing::{RouteSummary, RouteTest};

/// `POST /admin/api/routes/test`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RouteTestRequest {
    /// The submitting account; its group is used when it exists.
    account: String,
    /// The destination, international.
    to: String,
    /// The sender; default the account's default sender.
    #[serde(default)]
    from: Option<String>,
    /// The text; without it the message routes as binary.
    #[serde(default)]
    text: Option<String>,
}

/// `GET /admin/api/routes`: in evaluation order.
pub(super) async fn list(State(admin): State<AdminState>) -> Json<Vec<RouteSummary>> {
    Json(admin.ctx.dispatch.routes())
}

/// `POST /admin/api/routes/test`: the route and connector order the message
/// would get now and why, with the status of each of the route's connectors
/// (`connector_status`); 422 for a destination that is not a number.
pub(super) async fn test(
    State(admin): State<AdminState>,
    body: Result<Json<RouteTestRequest>, JsonRejection>,
) -> Result<Json<serde_json::Value>, Problem> {
    let request = json(body)?;
    let account = admin
        .ctx
        .store
        .account(&request.account)
        .await
        .map_err(store_problem)?;
    let from = request
        .from
        .or_else(|| account.as_ref().and_then(|a| a.default_sender.clone()))
        .unwrap_or_default();
    let test = RouteTest {
        account: &request.account,
        group: account.as_ref().and_then(|a| a.group.as_deref()),
        from: &from,
        to: &request.to,
        text: request.text.as_deref(),
        tags: &[],
        data_coding: 0,
        at: jiff::Timestamp::now(),
    };
    let dispatch = &admin.ctx.dispatch;
    let answer = dispatch
        .test_route(admin.ctx.acceptor.numbers(), &test)
        .map_err(|why| invalid(format!("to: {why}")))?;
    let statuses: Vec<_> = answer
        .explanation
        .connectors
        .iter()
        .filter_map(|note| dispatch.connector(&note.name))
        .collect();
    let mut output = answer.to_json();
    if let Some(object) = output.as_object_mut() {
        object.insert(
            "connector_status".into(),
            serde_json::to_value(statuses).unwrap_or_default(),
        );
    }
    Ok(Json(output))
}
