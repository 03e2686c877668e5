//! `GET /api/v1/balance` and `GET /api/v1/status`: what a caller asks
//! before sending — what it has left, and whether sending would work now.

use axum::Json;
use axum::extract::Extension;
use serde::Serialize;

use super::auth::Caller;

/// The account's credits.
#[derive(Debug, Serialize)]
pub struct Balance {
    account: String,
    credits: i64,
}

/// `GET /api/v1/balance`: the credits as read for this request.
pub async fn balance(Extension(caller): Extension<Caller>) -> Json<Balance> {
    Json(Balance {
        account: caller.account.system_id.clone(),
        credits: caller.account.credits,
    })
}

/// Whether a message sent now would be taken (the hub API's status call).
#[derive(Debug, Serialize)]
pub struct Status {
    accepting: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// `GET /api/v1/status`. Getting here means the store answered (the
/// caller's account was just read from it) and the account is enabled and
/// allowed from this address; what is left to stop a message is credits.
/// A store that does not answer is the 503 `store_unavailable` problem
/// instead. Per-message checks (number, sender, rate) are not predicted.
pub async fn status(Extension(caller): Extension<Caller>) -> Json<Status> {
    let account = &caller.account;
    let reason = (account.credits <= 0)
        .then(|| format!("account {} has no credits left", account.system_id));
    Json(Status {
        accepting: reason.is_none(),
        reason,
    })
}
