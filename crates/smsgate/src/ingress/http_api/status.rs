//! `GET /api/v1/balance` and `GET /api/v1/status`: what a caller asks
//! before sending — what it has left, and whether sending would work now.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, State};
use serde::Serialize;
use utoipa::ToSchema;

use super::ApiContext;
use super::auth::Caller;
use super::problem::{Problem, ProblemBody};
use crate::store::Account;

/// The account's credits.
#[derive(Debug, Serialize, ToSchema)]
#[schema(examples(json!({"account": "acme", "credits": 997})))]
pub struct Balance {
    /// The account's system_id.
    account: String,
    /// Credits left; each SMS segment costs what the route's price says.
    credits: i64,
}

/// `GET /api/v1/balance`: the credits as the store has them now.
#[utoipa::path(
    get,
    path = "/api/v1/balance",
    tag = "account",
    responses(
        (status = 200, description = "The account's credits", body = Balance),
        (status = 401, description = "No or wrong credentials (`unauthorized`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "The account is disabled or the address is not allowed (`account_disabled`, `address_not_allowed`, `address_blocked`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable (`store_unavailable`)", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub async fn balance(
    State(ctx): State<Arc<ApiContext>>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Balance>, Problem> {
    let account = current(&ctx, &caller).await?;
    Ok(Json(Balance {
        account: account.system_id,
        credits: account.credits,
    }))
}

/// The caller's account as the store has it now: the one authentication
/// found may be up to 2 s old (API keys are remembered that long), and
/// credits change with every message.
async fn current(ctx: &ApiContext, caller: &Caller) -> Result<Account, Problem> {
    ctx.store
        .account(&caller.account.system_id)
        .await
        .map_err(|error| Problem::store_unavailable(&error))?
        .ok_or_else(Problem::unauthorized)
}

/// Whether a message sent now would be taken (the hub API's status call).
#[derive(Debug, Serialize, ToSchema)]
#[schema(examples(
    json!({"accepting": true}),
    json!({"accepting": false, "reason": "account acme has no credits left"})
))]
pub struct Status {
    /// True when a message sent now would be taken.
    accepting: bool,
    /// Why not, when `accepting` is false.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// `GET /api/v1/status`. Getting here means the store answered (the
/// caller's account was just read from it) and the account is enabled and
/// allowed from this address; what is left to stop a message is credits.
/// A store that does not answer is the 503 `store_unavailable` problem
/// instead. Per-message checks (number, sender, rate) are not predicted.
#[utoipa::path(
    get,
    path = "/api/v1/status",
    tag = "account",
    responses(
        (status = 200, description = "Whether a message sent now would be taken, and if not why", body = Status),
        (status = 401, description = "No or wrong credentials (`unauthorized`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "The account is disabled or the address is not allowed (`account_disabled`, `address_not_allowed`, `address_blocked`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable (`store_unavailable`)", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub async fn status(
    State(ctx): State<Arc<ApiContext>>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Status>, Problem> {
    let account = current(&ctx, &caller).await?;
    let reason = (account.credits <= 0)
        .then(|| format!("account {} has no credits left", account.system_id));
    Ok(Json(Status {
        accepting: reason.is_none(),
        reason,
    }))
}
