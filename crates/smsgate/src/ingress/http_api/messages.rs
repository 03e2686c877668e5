//! `/api/v1/messages`: send one message (to one or more recipients), send a
//! batch, and look one up with its trace.
//!
//! Sending goes through the acceptor, as an SMPP submit does: when the
//! answer says a message was accepted, it is stored and charged (ack means
//! stored). Each recipient is accepted on its own, like the destinations of
//! a submit_multi: a request where some recipients were refused still
//! answers 201 and lists each recipient's outcome; one where none was
//! accepted answers the first refusal as its problem.

use std::sync::Arc;
use std::time::SystemTime;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};

use super::ApiContext;
use super::auth::Caller;
use super::problem::Problem;
use super::send::SendRequest;
use crate::store::{MessageState, TraceEvent};

/// The most messages one batch may hold.
pub const MAX_BATCH: usize = 1000;

/// Recipients of one message accepted at once: their writes share the
/// store's group commits instead of waiting for one fsync each.
const CONCURRENT_ACCEPTS: usize = 32;

/// The answer to one message.
#[derive(Debug, Serialize)]
pub struct SendAnswer {
    /// One entry per recipient, in the order given.
    pub messages: Vec<RecipientResult>,
    /// Credits charged for all of them.
    pub credits_charged: i64,
    /// The customer's reference, as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ref: Option<String>,
}

/// What became of one recipient.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum RecipientResult {
    /// Stored and charged.
    Accepted {
        /// The recipient as given.
        to: String,
        /// Our message id, for `GET /api/v1/messages/{id}`.
        id: String,
        /// SMS segments it is sent as.
        segments: u32,
        /// Credits charged.
        credits: i64,
    },
    /// Refused; nothing stored or charged.
    Refused {
        /// The recipient as given.
        to: String,
        /// Why.
        problem: Problem,
    },
}

/// `POST /api/v1/messages`.
pub async fn send(
    State(ctx): State<Arc<ApiContext>>,
    Extension(caller): Extension<Caller>,
    body: Result<Json<SendRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<SendAnswer>), Problem> {
    let Json(request) = body?;
    let answer = send_one(&ctx, &caller, request).await?;
    Ok((StatusCode::CREATED, Json(answer)))
}

/// Accepts one message for each of its recipients.
async fn send_one(
    ctx: &ApiContext,
    caller: &Caller,
    request: SendRequest,
) -> Result<SendAnswer, Problem> {
    let prepared = request.prepare()?;
    let messages: Vec<RecipientResult> = futures::stream::iter(prepared.submissions)
        .map(|(to, submission)| async move {
            match ctx
                .acceptor
                .accept(&caller.account, caller.origin(), submission)
                .await
            {
                Ok(accepted) => RecipientResult::Accepted {
                    to,
                    id: accepted.id,
                    segments: accepted.segments,
                    credits: accepted.cost,
                },
                Err(rejection) => RecipientResult::Refused {
                    to,
                    problem: rejection.into(),
                },
            }
        })
        .buffered(CONCURRENT_ACCEPTS)
        .collect()
        .await;
    let credits_charged = messages
        .iter()
        .map(|result| match result {
            RecipientResult::Accepted { credits, .. } => *credits,
            RecipientResult::Refused { .. } => 0,
        })
        .sum();
    let any_accepted = messages
        .iter()
        .any(|result| matches!(result, RecipientResult::Accepted { .. }));
    if !any_accepted && let Some(RecipientResult::Refused { problem, .. }) = messages.first() {
        return Err(problem.clone());
    }
    Ok(SendAnswer {
        messages,
        credits_charged,
        client_ref: prepared.client_ref,
    })
}

/// `POST /api/v1/messages/batch`: `{"messages": [...]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// The messages, each as for `POST /api/v1/messages`; kept as JSON here
    /// so one malformed entry is that entry's problem, not the batch's.
    messages: Vec<serde_json::Value>,
}

/// The answer to a batch: one result per message, in order.
#[derive(Debug, Serialize)]
pub struct BatchAnswer {
    /// Each message's answer or problem.
    results: Vec<BatchResult>,
    /// Credits charged for the whole batch.
    credits_charged: i64,
}

/// One batch entry's outcome.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum BatchResult {
    /// Accepted for at least one recipient.
    Sent(SendAnswer),
    /// Refused as a whole.
    Refused {
        /// Why.
        problem: Problem,
    },
}

/// `POST /api/v1/messages/batch`: each message is sent as by
/// `POST /api/v1/messages` and answered on its own; the batch answers 200
/// once its envelope is right.
pub async fn send_batch(
    State(ctx): State<Arc<ApiContext>>,
    Extension(caller): Extension<Caller>,
    body: Result<Json<BatchRequest>, JsonRejection>,
) -> Result<Json<BatchAnswer>, Problem> {
    let Json(batch) = body?;
    if batch.messages.len() > MAX_BATCH {
        return Err(Problem::unprocessable(
            "too_many_messages",
            format!(
                "the batch holds {} messages; at most {MAX_BATCH} fit one request",
                batch.messages.len()
            ),
        ));
    }
    let mut results = Vec::with_capacity(batch.messages.len());
    let mut credits_charged = 0;
    for (index, entry) in batch.messages.into_iter().enumerate() {
        let sent = match serde_json::from_value::<SendRequest>(entry) {
            Ok(request) => send_one(&ctx, &caller, request).await,
            Err(error) => Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "bad_json",
                format!("messages[{index}]: {error}"),
            )),
        };
        results.push(match sent {
            Ok(answer) => {
                credits_charged += answer.credits_charged;
                BatchResult::Sent(answer)
            }
            Err(problem) => BatchResult::Refused { problem },
        });
    }
    Ok(Json(BatchAnswer {
        results,
        credits_charged,
    }))
}

/// A message as its sender sees it.
#[derive(Debug, Serialize)]
pub struct MessageView {
    id: String,
    state: MessageState,
    to: String,
    from: String,
    segments: u32,
    credits: i64,
    registered_delivery: bool,
    #[serde(with = "crate::timefmt::rfc3339")]
    accepted_at: SystemTime,
    #[serde(with = "crate::timefmt::rfc3339_option")]
    send_at: Option<SystemTime>,
    #[serde(with = "crate::timefmt::rfc3339_option")]
    expires_at: Option<SystemTime>,
    /// What happened to it, oldest first: acceptance, routing, each
    /// submit to a provider (connector and provider status), receipts.
    trace: Vec<TraceEvent>,
}

/// `GET /api/v1/messages/{id}`: only the caller's own messages; any other
/// id is not found, whether it exists or not.
pub async fn show(
    State(ctx): State<Arc<ApiContext>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<MessageView>, Problem> {
    let message = ctx
        .store
        .message(&id)
        .await
        .map_err(|error| Problem::store_unavailable(&error))?
        .filter(|message| message.account == caller.account.system_id)
        .ok_or_else(|| Problem::not_found(format!("no message {id:?} of this account")))?;
    Ok(Json(MessageView {
        id: message.id,
        state: message.state,
        to: message.destination.addr,
        from: message.source.addr,
        segments: message.segments,
        credits: message.cost,
        registered_delivery: message.registered_delivery & 0x03 != 0,
        accepted_at: message.accepted_at,
        send_at: message.schedule_at,
        expires_at: message.expires_at,
        trace: message.trace,
    }))
}
