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
use utoipa::ToSchema;
use utoipa::openapi::schema::{ArrayBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};

use super::ApiContext;
use super::auth::Caller;
use super::problem::{Problem, ProblemBody};
use super::send::SendRequest;
use crate::store::{MessageState, TraceEvent};

/// The most messages one batch may hold.
pub const MAX_BATCH: usize = 1000;

/// Recipients of one message, or entries of one batch, accepted at once:
/// their writes share the store's group commits instead of waiting for one
/// fsync each.
const CONCURRENT_ACCEPTS: usize = 128;

/// The answer to one message.
#[derive(Debug, Serialize, ToSchema)]
#[schema(examples(json!({
    "messages": [
        {"to": "+447911123456", "id": "01JD5ZK3V8Q6W1R2T3Y4U5I6O7", "segments": 1, "credits": 1},
        {"to": "+447700900123", "problem": {
            "type": "https://smsgate.dev/problems/invalid_destination",
            "title": "Invalid recipient number", "status": 422,
            "detail": "+447700900123 is not a valid number", "code": "invalid_destination"
        }}
    ],
    "credits_charged": 1,
    "client_ref": "order-7"
})))]
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
#[derive(Debug, Serialize, ToSchema)]
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
        #[schema(value_type = ProblemBody)]
        problem: Problem,
    },
}

/// `POST /api/v1/messages`: one text to one or more recipients.
///
/// Each recipient is accepted on its own: the answer is 201 when at least
/// one was accepted, listing each recipient's id or problem; when none was,
/// it is the first recipient's problem.
#[utoipa::path(
    post,
    path = "/api/v1/messages",
    tag = "messages",
    params(("Idempotency-Key" = Option<String>, Header, description = "Up to 255 characters; the same key (per account) with the same body within 24 h gets the first 2xx answer again, with `Idempotent-Replayed: true`, and is not sent or charged again; with another body, 422 `idempotency_key_reused`; while the first runs, 409 `idempotency_key_in_use`")),
    request_body = SendRequest,
    responses(
        (status = 201, description = "Accepted for at least one recipient: stored and charged", body = SendAnswer),
        (status = 400, description = "The body is not a message (`bad_json`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No or wrong credentials (`unauthorized`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 402, description = "Not enough credits (`insufficient_credits`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "The sender or the caller is not allowed (`sender_not_allowed`, `account_disabled`, `address_not_allowed`, `address_blocked`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "The first request with this Idempotency-Key is still being answered (`idempotency_key_in_use`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 415, description = "The body is not `application/json` (`bad_json`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "A message the gateway will not take (`invalid_destination`, `invalid_text`, ...)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Over the account's message rate (`throttled`); retry after `Retry-After` seconds", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "The gateway could not take it now (`system_error`, `store_unavailable`); retry later", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
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
    let prepared = request.prepare(&ctx.callback_targets)?;
    let messages: Vec<RecipientResult> = futures::stream::iter(prepared.submissions)
        .map(|(to, mut submission)| async move {
            // Without a callback URL of its own, a message reports to the
            // account's default one, if it has one.
            if submission.callback_url.is_none() {
                submission.callback_url = caller.account.callback_url.clone();
            }
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
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"messages": [
    {"to": "+447911123456", "from": "ACME", "text": "Your code is 123456"},
    {"to": ["+14155551234", "+14155550000"], "from": "ACME", "text": "Doors open at 8", "client_ref": "event-3"}
]})))]
pub struct BatchRequest {
    /// The messages, each as for `POST /api/v1/messages`; kept as JSON here
    /// so one malformed entry is that entry's problem, not the batch's.
    #[schema(value_type = Vec<SendRequest>, max_items = 1000)]
    messages: Vec<serde_json::Value>,
}

/// The answer to a batch: one result per message, in order.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchAnswer {
    /// Each message's answer or problem.
    results: Vec<BatchResult>,
    /// Credits charged for the whole batch.
    credits_charged: i64,
}

/// One batch entry's outcome.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
enum BatchResult {
    /// Accepted for at least one recipient.
    Sent(SendAnswer),
    /// Refused as a whole.
    Refused {
        /// Why.
        #[schema(value_type = ProblemBody)]
        problem: Problem,
    },
}

/// `POST /api/v1/messages/batch`: each message is sent as by
/// `POST /api/v1/messages` and answered on its own; the batch answers 200
/// once its envelope is right.
#[utoipa::path(
    post,
    path = "/api/v1/messages/batch",
    tag = "messages",
    params(("Idempotency-Key" = Option<String>, Header, description = "Up to 255 characters; the same key (per account) with the same body within 24 h gets the first 2xx answer again, with `Idempotent-Replayed: true`, and is not sent or charged again; with another body, 422 `idempotency_key_reused`; while the first runs, 409 `idempotency_key_in_use`")),
    request_body = BatchRequest,
    responses(
        (status = 200, description = "Each message's answer or problem, in order", body = BatchAnswer),
        (status = 400, description = "The body is not a batch (`bad_json`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No or wrong credentials (`unauthorized`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "The caller is not allowed (`account_disabled`, `address_not_allowed`, `address_blocked`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "The first request with this Idempotency-Key is still being answered (`idempotency_key_in_use`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 415, description = "The body is not `application/json` (`bad_json`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "More than 1000 messages (`too_many_messages`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable (`store_unavailable`)", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
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
    // The entries are accepted side by side (up to CONCURRENT_ACCEPTS at
    // once), not one after another: their writes share the store's group
    // commits, so a batch of 100 costs about one commit, not 100 in a row.
    // They are started in the batch's order and the answers keep it.
    let ctx = &ctx;
    let caller = &caller;
    let sends = futures::stream::iter(batch.messages.into_iter().enumerate())
        .map(|(index, entry)| async move {
            match serde_json::from_value::<SendRequest>(entry) {
                Ok(request) => send_one(ctx, caller, request).await,
                Err(error) => Err(Problem::new(
                    StatusCode::BAD_REQUEST,
                    "bad_json",
                    format!("messages[{index}]: {error}"),
                )),
            }
        })
        .buffered(CONCURRENT_ACCEPTS);
    let answers: Vec<_> = sends.collect().await;
    let mut results = Vec::with_capacity(answers.len());
    let mut credits_charged = 0;
    for sent in answers {
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
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    /// Our message id.
    id: String,
    /// Where it is in its life.
    #[schema(schema_with = message_state_schema)]
    state: MessageState,
    /// The recipient.
    to: String,
    /// The sender.
    from: String,
    /// SMS segments it is sent as.
    segments: u32,
    /// Credits charged.
    credits: i64,
    /// Whether a delivery receipt was asked for.
    registered_delivery: bool,
    /// When the gateway took it.
    #[serde(with = "crate::timefmt::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    accepted_at: SystemTime,
    /// When it is to be sent, if scheduled.
    #[serde(with = "crate::timefmt::rfc3339_option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    send_at: Option<SystemTime>,
    /// When the gateway stops trying.
    #[serde(with = "crate::timefmt::rfc3339_option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    expires_at: Option<SystemTime>,
    /// The connector (provider link) of the last attempt to send it;
    /// `null` before any.
    connector: Option<String>,
    /// The providers' ids for it, as their receipts name it: one per
    /// segment sent separately. Empty until a provider took it.
    provider_ids: Vec<ProviderIdView>,
    /// The tags it was sent with.
    tags: Vec<String>,
    /// The reference it was sent with.
    client_ref: Option<String>,
    /// What happened to it, oldest first: acceptance, routing, each
    /// submit to a provider (connector and provider status), receipts.
    #[schema(schema_with = trace_schema)]
    trace: Vec<TraceEvent>,
}

/// One provider id of a message.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderIdView {
    /// The connector that sent it.
    connector: String,
    /// The provider's id for it (trimmed, leading zeros dropped, lower case).
    provider_id: String,
}

/// [`MessageState`] as it serializes: the store's states, by their names.
fn message_state_schema() -> ObjectBuilder {
    let names = MessageState::ALL
        .iter()
        .map(|state| serde_json::Value::String(state.as_str().to_string()));
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(names))
        .description(Some("Where the message is in its life"))
}

/// A list of [`TraceEvent`]s.
fn trace_schema() -> ArrayBuilder {
    let text = |description: &str| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(description))
    };
    let event = ObjectBuilder::new()
        .property(
            "at",
            text("When it happened").format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
        )
        .required("at")
        .property("node", text("Which gateway node wrote it"))
        .required("node")
        .property(
            "kind",
            text("A short kind: `accepted`, `routed`, `submitted`, `receipt`, ..."),
        )
        .required("kind")
        .property("detail", text("What happened, for people"))
        .required("detail");
    ArrayBuilder::new()
        .items(event)
        .description(Some("What happened to the message, oldest first"))
}

/// `GET /api/v1/messages/{id}`: only the caller's own messages; any other
/// id is not found, whether it exists or not.
#[utoipa::path(
    get,
    path = "/api/v1/messages/{id}",
    tag = "messages",
    params(("id" = String, Path, description = "The message id from the send answer")),
    responses(
        (status = 200, description = "The message, its state, the connector and provider ids it was sent with, and its trace", body = MessageView),
        (status = 401, description = "No or wrong credentials (`unauthorized`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "The caller is not allowed (`account_disabled`, `address_not_allowed`, `address_blocked`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such message of this account (`not_found`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable (`store_unavailable`)", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
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
    let provider_ids = ctx
        .store
        .provider_ids(&message.id)
        .await
        .map_err(|error| Problem::store_unavailable(&error))?
        .into_iter()
        .map(|link| ProviderIdView {
            connector: link.connector,
            provider_id: link.provider_id,
        })
        .collect();
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
        connector: message.connector,
        provider_ids,
        tags: message.tags,
        client_ref: message.client_ref,
        trace: message.trace,
    }))
}
