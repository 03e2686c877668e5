//! `/admin/api/messages`: search the store's messages (by id or number,
//! account, state, direction and time), and look at one with everything
//! known of it: its trace, the connector and the providers' ids for it,
//! the other parts of a long message, and its text.

use std::time::SystemTime;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};

use super::AdminState;
use super::body::{invalid, store_problem};
use crate::dispatch::message_text;
use crate::ingress::http_api::problem::Problem;
use crate::store::{Direction, MessageFilter, MessageRecord, MessageState, ProviderIdLink};

/// Messages listed when no `limit` is given.
const DEFAULT_LIMIT: u32 = 50;

/// The most messages one search lists.
const MAX_LIMIT: u32 = 500;

/// The query of `GET /admin/api/messages`; empty values count as absent
/// (a search form sends every field).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SearchQuery {
    q: Option<String>,
    account: Option<String>,
    state: Option<String>,
    direction: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<String>,
}

/// A message as listed.
#[derive(Debug, Serialize)]
pub(super) struct MessageItem {
    id: String,
    group_id: String,
    account: String,
    direction: Direction,
    state: MessageState,
    source: String,
    destination: String,
    segments: u32,
    cost: i64,
    #[serde(with = "crate::timefmt::rfc3339")]
    accepted_at: SystemTime,
    connector: Option<String>,
}

impl From<&MessageRecord> for MessageItem {
    fn from(message: &MessageRecord) -> MessageItem {
        MessageItem {
            id: message.id.clone(),
            group_id: message.group_id.clone(),
            account: message.account.clone(),
            direction: message.direction,
            state: message.state,
            source: message.source.addr.clone(),
            destination: message.destination.addr.clone(),
            segments: message.segments,
            cost: message.cost,
            accepted_at: message.accepted_at,
            connector: message.connector.clone(),
        }
    }
}

/// One message with everything known of it.
#[derive(Debug, Serialize)]
pub(super) struct MessageDetail {
    /// The stored record, its trace (oldest first) and connector included.
    #[serde(flatten)]
    message: MessageRecord,
    /// The providers' ids for it, which their receipts name.
    provider_ids: Vec<ProviderIdLink>,
    /// The other parts of its long message, in order.
    parts: Vec<MessageItem>,
    /// Its text, where it can be decoded (`null` for binary data).
    text: Option<String>,
}

/// `GET /admin/api/messages`: newest first.
pub(super) async fn search(
    State(admin): State<AdminState>,
    query: Result<Query<SearchQuery>, QueryRejection>,
) -> Result<Json<Vec<MessageItem>>, Problem> {
    let Query(query) = query.map_err(|rejection| invalid(rejection.body_text()))?;
    let filter = filter_of(query)?;
    let messages = admin
        .ctx
        .store
        .messages(filter)
        .await
        .map_err(store_problem)?;
    Ok(Json(messages.iter().map(MessageItem::from).collect()))
}

/// `GET /admin/api/messages/{id}`.
pub(super) async fn show(
    State(admin): State<AdminState>,
    Path(id): Path<String>,
) -> Result<Json<MessageDetail>, Problem> {
    let store = &admin.ctx.store;
    let message = store
        .message(&id)
        .await
        .map_err(store_problem)?
        .ok_or_else(|| Problem::not_found(format!("no message {id}")))?;
    let provider_ids = store.provider_ids(&id).await.map_err(store_problem)?;
    let parts = if message.part.is_some() {
        let mut group = store
            .messages(MessageFilter {
                group: Some(message.group_id.clone()),
                limit: Some(u32::from(u8::MAX)),
                ..MessageFilter::default()
            })
            .await
            .map_err(store_problem)?;
        group.retain(|part| part.id != message.id);
        group.sort_by_key(|part| part.part.map(|info| info.seq));
        group.iter().map(MessageItem::from).collect()
    } else {
        Vec::new()
    };
    let text = message_text(message.esm_class, message.data_coding, &message.payload);
    Ok(Json(MessageDetail {
        message,
        provider_ids,
        parts,
        text,
    }))
}

/// The store's filter for a search, every field checked.
fn filter_of(query: SearchQuery) -> Result<MessageFilter, Problem> {
    let given = |value: Option<String>| value.filter(|value| !value.trim().is_empty());
    let state = given(query.state)
        .map(|state| {
            MessageState::parse(state.trim()).ok_or_else(|| {
                let names: Vec<&str> = MessageState::ALL.iter().map(|s| s.as_str()).collect();
                invalid(format!(
                    "state: {state:?} is not a state (one of {})",
                    names.join(", ")
                ))
            })
        })
        .transpose()?;
    let direction = given(query.direction)
        .map(|direction| {
            Direction::parse(direction.trim())
                .ok_or_else(|| invalid(format!("direction: {direction:?} is not mt or mo")))
        })
        .transpose()?;
    let limit = match given(query.limit) {
        None => DEFAULT_LIMIT,
        Some(text) => match text.trim().parse::<u32>() {
            Ok(limit) if (1..=MAX_LIMIT).contains(&limit) => limit,
            _ => {
                return Err(invalid(format!(
                    "limit: {text:?} is not a number from 1 to {MAX_LIMIT}"
                )));
            }
        },
    };
    Ok(MessageFilter {
        account: given(query.account),
        state,
        since: given(query.since).map(|t| time("since", &t)).transpose()?,
        until: given(query.until).map(|t| time("until", &t)).transpose()?,
        direction,
        group: None,
        q: given(query.q),
        limit: Some(limit),
    })
}

fn time(name: &str, text: &str) -> Result<SystemTime, Problem> {
    text.trim()
        .parse::<jiff::Timestamp>()
        .map(SystemTime::from)
        .map_err(|_| {
            invalid(format!(
                "{name}: {text:?} is not an RFC 3339 time (like 2026-11-22T05:00:00Z)"
            ))
        })
}
