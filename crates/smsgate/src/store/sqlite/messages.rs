//! The journal of messages: the `messages` table and each message's
//! `trace_events`. A message is accepted (charging its account), claimed
//! for dispatch, tried, and ends delivered, rejected, failed (refunded) or
//! expired; the admin API searches and reads it here.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params};

use smpp::receipt::ReceiptStat;

use crate::store::{
    AcceptOutcome, Attempt, AttemptResult, CLAIM_LEASE, ClaimedMessage, Direction,
    DispatchProgress, MessageFilter, MessageRecord, MessageState, NewMessage, Origin, PartInfo,
    QueueDepths, StoreError, StoreResult, StoredAddress, TraceEvent,
};

use super::outbox::{Notice, notice_columns};
use super::sql::{
    account_not_found, backend, bad_column, column, from_millis, int_column, json_strings,
    not_queued, session_to_sql, to_millis,
};
use super::writer::Writer;

/// Parts of a long message arriving further apart than this are not linked.
const PART_WINDOW_MS: i64 = 60 * 60 * 1000;

/// How many messages [`Store::messages`] returns without a limit.
///
/// [`Store::messages`]: crate::store::Store::messages
const DEFAULT_LIST_LIMIT: u32 = 100;

/// The columns of a message row, in the order [`message_from_row`] reads them by name.
const MESSAGE_COLUMNS: &str = "id, group_id, account, state, source_ton, source_npi, source_addr, \
    dest_ton, dest_npi, dest_addr, esm_class, data_coding, registered_delivery, schedule_at, \
    expires_at, payload, part_ref, part_total, part_seq, segments, cost, origin_protocol, \
    origin_remote, origin_tls, origin_session, accepted_at";

/// The columns [`message_from_row`] reads besides [`MESSAGE_COLUMNS`] (which
/// also name what a new message is inserted with).
const MESSAGE_READ_COLUMNS: &str = "direction, connector, tags, client_ref";

impl Writer {
    /// Charges and stores a message; see [`Store::accept`].
    ///
    /// [`Store::accept`]: crate::store::Store::accept
    pub(super) fn accept(&self, message: &NewMessage) -> StoreResult<AcceptOutcome> {
        if message.cost < 0 {
            return Err(StoreError::Backend(format!(
                "message {} has a negative cost {}",
                message.id, message.cost
            )));
        }
        // The `credits >= cost` guard makes the charge atomic with the check:
        // concurrent accepts can never overdraw, whatever their order.
        let charged = self
            .conn
            .prepare_cached(
                "UPDATE accounts SET credits = credits - ?1 WHERE system_id = ?2 AND credits >= ?1",
            )
            .and_then(|mut statement| statement.execute(params![message.cost, message.account]))
            .map_err(backend)?;
        if charged == 0 {
            return match self.balance(&message.account)? {
                Some(balance) => Ok(AcceptOutcome::InsufficientCredits { balance }),
                None => Err(account_not_found(&message.account)),
            };
        }

        let accepted_at = to_millis(message.accepted_at);
        let group_id = match message.part {
            Some(part) => self
                .open_group(message, part, accepted_at)?
                .unwrap_or_else(|| message.id.clone()),
            None => message.id.clone(),
        };
        self.conn
            .prepare_cached(&format!(
                "INSERT INTO messages ({MESSAGE_COLUMNS}, protocol_id, priority, callback_url, \
                 tags, client_ref, claimed_by, claimed_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, \
                 ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, \
                 ?32, CASE WHEN ?32 IS NULL THEN NULL ELSE ?26 END)"
            ))
            .and_then(|mut statement| {
                statement.execute(params![
                    message.id,
                    group_id,
                    message.account,
                    if message.claimed_by.is_some() {
                        MessageState::Queued
                    } else {
                        MessageState::Accepted
                    }
                    .as_str(),
                    message.source.ton,
                    message.source.npi,
                    message.source.addr,
                    message.destination.ton,
                    message.destination.npi,
                    message.destination.addr,
                    message.esm_class,
                    message.data_coding,
                    message.registered_delivery,
                    message.schedule_at.map(to_millis),
                    message.expires_at.map(to_millis),
                    message.payload,
                    message.part.map(|part| part.reference),
                    message.part.map(|part| part.total),
                    message.part.map(|part| part.seq),
                    message.segments,
                    message.cost,
                    message.origin.protocol,
                    message.origin.remote_addr.map(|addr| addr.to_string()),
                    message.origin.tls,
                    message.origin.session_id.map(session_to_sql),
                    accepted_at,
                    message.protocol_id,
                    message.priority,
                    message.callback_url,
                    serde_json::to_string(&message.tags).map_err(|error| {
                        rusqlite::Error::ToSqlConversionFailure(Box::new(error))
                    })?,
                    message.client_ref,
                    message.claimed_by,
                ])
            })
            .map_err(backend)?;
        self.conn
            .prepare_cached(
                "INSERT INTO trace_events (message_id, at, node, kind, detail) \
                 VALUES (?1, ?2, ?3, 'accepted', ?4)",
            )
            .and_then(|mut statement| {
                statement.execute(params![
                    message.id,
                    accepted_at,
                    self.node,
                    message.trace_detail
                ])
            })
            .map_err(backend)?;
        Ok(AcceptOutcome::Accepted { group_id })
    }

    /// See [`Store::claim_due`]. Each of the two kinds of due message is
    /// found through the (state, accepted_at) index, oldest first.
    ///
    /// [`Store::claim_due`]: crate::store::Store::claim_due
    pub(super) fn claim_due(
        &self,
        node: &str,
        limit: u32,
        now: SystemTime,
    ) -> StoreResult<Vec<ClaimedMessage>> {
        let now_ms = to_millis(now);
        let lapsed = to_millis(now.checked_sub(CLAIM_LEASE).unwrap_or(UNIX_EPOCH));
        let mut statement = self
            .conn
            .prepare_cached(&format!(
                "UPDATE messages SET state = 'queued', claimed_by = ?1, claimed_at = ?2, \
                 next_attempt_at = NULL \
                 WHERE id IN ( \
                   SELECT id FROM ( \
                     SELECT id, accepted_at FROM messages WHERE state = 'accepted' \
                       AND direction = 'mt' \
                       AND (schedule_at IS NULL OR schedule_at <= ?2) \
                       AND (next_attempt_at IS NULL OR next_attempt_at <= ?2) \
                       AND (expires_at IS NULL OR expires_at > ?2) \
                     UNION ALL \
                     SELECT id, accepted_at FROM messages WHERE state = 'queued' \
                       AND direction = 'mt' AND claimed_at <= ?3 AND claimed_by IS NOT ?1 \
                       AND (expires_at IS NULL OR expires_at > ?2)) \
                   ORDER BY accepted_at LIMIT ?4) \
                 RETURNING {MESSAGE_COLUMNS}, {MESSAGE_READ_COLUMNS}, protocol_id, priority, \
                 attempts, abandoned_connectors"
            ))
            .map_err(backend)?;
        let mut rows = statement
            .query(params![node, now_ms, lapsed, limit])
            .map_err(backend)?;
        let mut claimed = Vec::new();
        while let Some(row) = rows.next().map_err(backend)? {
            claimed.push(ClaimedMessage {
                message: message_from_row(row)?,
                protocol_id: int_column(row, "protocol_id")?,
                priority: int_column(row, "priority")?,
                progress: DispatchProgress {
                    connector: column(row, "connector")?,
                    attempts: int_column(row, "attempts")?,
                    abandoned: json_strings(row, "abandoned_connectors")?,
                },
            });
        }
        claimed.sort_by_key(|claim| claim.message.accepted_at);
        for claim in &claimed {
            self.trace(
                &claim.message.id,
                now,
                "queued",
                &format!("claimed by node {node}"),
            )?;
        }
        Ok(claimed)
    }

    pub(super) fn release_claims(&self, node: &str) -> StoreResult<u64> {
        self.conn
            .prepare_cached(
                "UPDATE messages SET state = 'accepted', claimed_by = NULL, claimed_at = NULL \
                 WHERE state = 'queued' AND claimed_by = ?1",
            )
            .and_then(|mut statement| statement.execute([node]))
            .map(|released| released as u64)
            .map_err(backend)
    }

    pub(super) fn record_submit_result(
        &self,
        id: &str,
        attempt: Attempt<'_>,
        result: AttemptResult,
        detail: &str,
        now: SystemTime,
    ) -> StoreResult<()> {
        let Attempt {
            connector,
            route,
            number,
        } = attempt;
        let tried = format!("(route {route}, attempt {number})");
        match result {
            AttemptResult::Submitted { provider_id } => {
                let notice = self.leave_queued(
                    id,
                    concat!(
                        "UPDATE messages SET state = 'submitted', claimed_by = NULL, \
                         claimed_at = NULL, connector = ?2, attempts = ?3 \
                         WHERE id = ?1 AND state = 'queued' RETURNING ",
                        notice_columns!()
                    ),
                    connector,
                    number,
                )?;
                self.trace(
                    id,
                    now,
                    "submitted",
                    &format!("connector {connector} took it as {provider_id:?}: {detail} {tried}"),
                )?;
                self.queue_callback_for(
                    id,
                    &notice,
                    MessageState::Submitted,
                    MessageState::Accepted,
                    "",
                    now,
                )?;
                if !provider_id.is_empty() {
                    self.store_provider_id(id, connector, &provider_id, now)?;
                }
                Ok(())
            }
            AttemptResult::RetryLater { at } => {
                let changed = self
                    .conn
                    .prepare_cached(
                        "UPDATE messages SET state = 'accepted', claimed_by = NULL, \
                         claimed_at = NULL, connector = ?2, attempts = ?3, next_attempt_at = ?4 \
                         WHERE id = ?1 AND state = 'queued'",
                    )
                    .and_then(|mut statement| {
                        statement.execute(params![id, connector, number, to_millis(at)])
                    })
                    .map_err(backend)?;
                if changed == 0 {
                    return Err(not_queued(id));
                }
                let wait = at.duration_since(now).unwrap_or_default();
                self.trace(
                    id,
                    now,
                    "retry",
                    &format!(
                        "connector {connector}: {detail}; trying it again in {} {tried}",
                        humantime::format_duration(Duration::from_millis(
                            u64::try_from(wait.as_millis()).unwrap_or(u64::MAX)
                        ))
                    ),
                )
            }
            AttemptResult::FailOver => {
                let changed = self
                    .conn
                    .prepare_cached(
                        "UPDATE messages SET attempts = 0, connector = NULL, \
                         abandoned_connectors = json_insert(abandoned_connectors, '$[#]', ?2) \
                         WHERE id = ?1 AND state = 'queued'",
                    )
                    .and_then(|mut statement| statement.execute(params![id, connector]))
                    .map_err(backend)?;
                if changed == 0 {
                    return Err(not_queued(id));
                }
                self.trace(
                    id,
                    now,
                    "failover",
                    &format!("connector {connector}: {detail}; not trying it again {tried}"),
                )
            }
            AttemptResult::Rejected { refund } => {
                let notice = self.leave_queued(
                    id,
                    concat!(
                        "UPDATE messages SET state = 'rejected', connector = ?2, attempts = ?3 \
                         WHERE id = ?1 AND state = 'queued' RETURNING ",
                        notice_columns!()
                    ),
                    connector,
                    number,
                )?;
                self.trace(
                    id,
                    now,
                    "rejected",
                    &format!("connector {connector}: {detail} {tried}"),
                )?;
                self.queue_receipt_for(id, &notice, &ReceiptStat::Rejected, "", now)?;
                self.queue_callback_for(
                    id,
                    &notice,
                    MessageState::Rejected,
                    MessageState::Accepted,
                    "",
                    now,
                )?;
                if refund {
                    self.refund(id, now)?;
                }
                Ok(())
            }
            AttemptResult::Expired => {
                self.set_state_from(id, MessageState::Queued, MessageState::Expired)?;
                self.expired(id, now)
            }
        }
    }

    /// Runs `update` (parameters: id, connector, attempts; it returns
    /// [`notice_columns`]) on a message that must be `queued`; an error if
    /// it is not.
    fn leave_queued(
        &self,
        id: &str,
        update: &str,
        connector: &str,
        number: u32,
    ) -> StoreResult<Notice> {
        self.conn
            .prepare_cached(update)
            .and_then(|mut statement| {
                statement
                    .query_row(params![id, connector, number], Notice::from_row)
                    .optional()
            })
            .map_err(backend)?
            .ok_or_else(|| not_queued(id))
    }

    pub(super) fn record_failure(
        &self,
        id: &str,
        reason: &str,
        refund: bool,
        now: SystemTime,
    ) -> StoreResult<()> {
        self.set_state_from(id, MessageState::Queued, MessageState::Failed)?;
        self.trace(id, now, "failed", reason)?;
        self.queue_notices(
            id,
            Some(&ReceiptStat::Undeliverable),
            MessageState::Failed,
            MessageState::Accepted,
            now,
        )?;
        if refund {
            self.refund(id, now)?;
        }
        Ok(())
    }

    pub(super) fn expire_due(&self, now: SystemTime) -> StoreResult<u64> {
        let lapsed = to_millis(now.checked_sub(CLAIM_LEASE).unwrap_or(UNIX_EPOCH));
        let mut statement = self
            .conn
            .prepare_cached(
                "UPDATE messages SET state = 'expired', claimed_by = NULL, claimed_at = NULL \
                 WHERE id IN ( \
                   SELECT id FROM messages WHERE state = 'accepted' AND expires_at <= ?1 \
                   UNION ALL \
                   SELECT id FROM messages WHERE state = 'queued' AND claimed_at <= ?2 \
                     AND claimed_by IS NOT ?3 AND expires_at <= ?1) \
                 RETURNING id",
            )
            .map_err(backend)?;
        let ids = statement
            .query_map(params![to_millis(now), lapsed, self.node], |row| {
                row.get::<_, String>(0)
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(backend)?;
        for id in &ids {
            self.expired(id, now)?;
        }
        Ok(ids.len() as u64)
    }

    /// What follows a message's expiry: its trace line, and the receipt and
    /// callback the customer asked for.
    fn expired(&self, id: &str, now: SystemTime) -> StoreResult<()> {
        self.trace(
            id,
            now,
            "expired",
            "its validity ended before a provider took it",
        )?;
        self.queue_notices(
            id,
            Some(&ReceiptStat::Expired),
            MessageState::Expired,
            MessageState::Accepted,
            now,
        )
    }

    /// Moves message `id` from state `from` to `to`; an error if it is not in `from`.
    fn set_state_from(&self, id: &str, from: MessageState, to: MessageState) -> StoreResult<()> {
        let changed = self
            .conn
            .prepare_cached("UPDATE messages SET state = ?3 WHERE id = ?1 AND state = ?2")
            .and_then(|mut statement| statement.execute(params![id, from.as_str(), to.as_str()]))
            .map_err(backend)?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!(
                "message {id} in state {}",
                from.as_str()
            )));
        }
        Ok(())
    }

    /// Gives a message's credits back to its account (if the account still
    /// exists) and traces it. Called only on the one transition into
    /// `failed` or `rejected`, so a message is refunded at most once.
    fn refund(&self, id: &str, now: SystemTime) -> StoreResult<()> {
        let (account, cost): (String, i64) = self
            .conn
            .prepare_cached("SELECT account, cost FROM messages WHERE id = ?1")
            .and_then(|mut statement| {
                statement.query_row(params![id], |row| Ok((row.get(0)?, row.get(1)?)))
            })
            .map_err(backend)?;
        if cost <= 0 {
            return Ok(());
        }
        let changed = self
            .conn
            .prepare_cached("UPDATE accounts SET credits = credits + ?2 WHERE system_id = ?1")
            .and_then(|mut statement| statement.execute(params![account, cost]))
            .map_err(backend)?;
        let detail = if changed == 0 {
            format!("{cost} credits not refunded: account {account} no longer exists")
        } else {
            format!("{cost} credits refunded to {account}")
        };
        self.trace(id, now, "refunded", &detail)
    }

    pub(super) fn add_trace_event(&self, id: &str, event: TraceEvent) -> StoreResult<()> {
        let added = self
            .conn
            .prepare_cached(
                "INSERT INTO trace_events (message_id, at, node, kind, detail) \
                 SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM messages WHERE id = ?1)",
            )
            .and_then(|mut statement| {
                statement.execute(params![
                    id,
                    to_millis(event.at),
                    event.node,
                    event.kind,
                    event.detail
                ])
            })
            .map_err(backend)?;
        if added == 0 {
            return Err(StoreError::NotFound(format!("message {id}")));
        }
        Ok(())
    }

    /// Appends a trace event written by this node.
    pub(super) fn trace(
        &self,
        id: &str,
        at: SystemTime,
        kind: &str,
        detail: &str,
    ) -> StoreResult<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO trace_events (message_id, at, node, kind, detail) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut statement| {
                statement.execute(params![id, to_millis(at), self.node, kind, detail])
            })
            .map_err(backend)?;
        Ok(())
    }

    /// The group an arriving part belongs to: the oldest recent group of the
    /// same account, addresses, reference and total that still lacks this
    /// part. Oldest first, so a customer reusing a reference for two long
    /// messages in a row fills them in arrival order.
    fn open_group(
        &self,
        message: &NewMessage,
        part: PartInfo,
        accepted_at: i64,
    ) -> StoreResult<Option<String>> {
        self.conn
            .prepare_cached(
                "SELECT candidate.group_id FROM messages AS candidate \
                 WHERE candidate.account = ?1 AND candidate.part_ref = ?2 \
                   AND candidate.part_total = ?3 AND candidate.source_addr = ?4 \
                   AND candidate.dest_addr = ?5 AND candidate.accepted_at >= ?6 \
                   AND NOT EXISTS (SELECT 1 FROM messages AS sibling \
                                   WHERE sibling.group_id = candidate.group_id \
                                     AND sibling.part_seq = ?7) \
                 ORDER BY candidate.accepted_at, candidate.rowid LIMIT 1",
            )
            .and_then(|mut statement| {
                statement
                    .query_row(
                        params![
                            message.account,
                            part.reference,
                            part.total,
                            message.source.addr,
                            message.destination.addr,
                            accepted_at.saturating_sub(PART_WINDOW_MS),
                            part.seq,
                        ],
                        |row| row.get(0),
                    )
                    .optional()
            })
            .map_err(backend)
    }

    pub(super) fn purge_messages(&self, before: SystemTime, limit: u32) -> StoreResult<u64> {
        // Through the accepted_at index, oldest first; the foreign keys
        // take the traces, provider ids and outbox items along.
        self.conn
            .prepare_cached(
                "DELETE FROM messages WHERE id IN ( \
                   SELECT id FROM messages WHERE accepted_at < ?1 \
                     AND state NOT IN ('accepted', 'queued') \
                   ORDER BY accepted_at LIMIT ?2)",
            )
            .and_then(|mut statement| statement.execute(params![to_millis(before), limit]))
            .map(|purged| purged as u64)
            .map_err(backend)
    }
}

pub(super) fn queue_depths(conn: &Connection) -> StoreResult<QueueDepths> {
    let count = |sql: &str, state: Option<MessageState>| -> StoreResult<u64> {
        let count: i64 = conn
            .prepare_cached(sql)
            .and_then(|mut statement| match state {
                Some(state) => statement.query_row(params![state.as_str()], |row| row.get(0)),
                None => statement.query_row([], |row| row.get(0)),
            })
            .map_err(backend)?;
        Ok(u64::try_from(count).unwrap_or_default())
    };
    let messages = "SELECT COUNT(*) FROM messages WHERE state = ?1 AND direction = 'mt'";
    Ok(QueueDepths {
        accepted: count(messages, Some(MessageState::Accepted))?,
        queued: count(messages, Some(MessageState::Queued))?,
        outbox: count("SELECT COUNT(*) FROM outbox", None)?,
        store_bytes: Some(count(
            "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
            None,
        )?),
    })
}

pub(super) fn load_message(conn: &Connection, id: &str) -> StoreResult<Option<MessageRecord>> {
    let mut statement = conn
        .prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS}, {MESSAGE_READ_COLUMNS} FROM messages WHERE id = ?1"
        ))
        .map_err(backend)?;
    let mut rows = statement.query([id]).map_err(backend)?;
    let Some(row) = rows.next().map_err(backend)? else {
        return Ok(None);
    };
    let mut message = message_from_row(row)?;

    let mut statement = conn
        .prepare_cached(
            "SELECT at, node, kind, detail FROM trace_events WHERE message_id = ?1 ORDER BY seq",
        )
        .map_err(backend)?;
    let mut rows = statement.query([id]).map_err(backend)?;
    while let Some(row) = rows.next().map_err(backend)? {
        message.trace.push(TraceEvent {
            at: from_millis(column(row, "at")?),
            node: column(row, "node")?,
            kind: column(row, "kind")?,
            detail: column(row, "detail")?,
        });
    }
    Ok(Some(message))
}

pub(super) fn list_messages(
    conn: &Connection,
    filter: MessageFilter,
) -> StoreResult<Vec<MessageRecord>> {
    let mut sql =
        format!("SELECT {MESSAGE_COLUMNS}, {MESSAGE_READ_COLUMNS} FROM messages WHERE 1 = 1");
    let mut args = Vec::new();
    let q = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    // With a search term, the id and number indexes find a handful of rows;
    // the account and state indexes would have SQLite walk all of an
    // account's messages to filter them (0.28 s for 200k of 1M messages,
    // see BENCHMARKS.md). A unary `+` keeps a column out of index choice.
    let plain = if q.is_some() { "+" } else { "" };
    if let Some(account) = filter.account {
        sql.push_str(&format!(" AND {plain}account = ?"));
        args.push(Value::Text(account));
    }
    if let Some(state) = filter.state {
        sql.push_str(&format!(" AND {plain}state = ?"));
        args.push(Value::Text(state.as_str().to_string()));
    }
    if let Some(since) = filter.since {
        sql.push_str(" AND accepted_at >= ?");
        args.push(Value::Integer(to_millis(since)));
    }
    if let Some(until) = filter.until {
        sql.push_str(" AND accepted_at < ?");
        args.push(Value::Integer(to_millis(until)));
    }
    if let Some(direction) = filter.direction {
        sql.push_str(" AND direction = ?");
        args.push(Value::Text(direction.as_str().to_string()));
    }
    if let Some(group) = filter.group {
        sql.push_str(" AND group_id = ?");
        args.push(Value::Text(group));
    }
    if let Some(q) = q {
        // Numbers are stored as typed for senders and without `+` for
        // E.164 destinations: look for both spellings.
        let bare = q.strip_prefix('+').unwrap_or(q).to_string();
        let plus = format!("+{bare}");
        sql.push_str(" AND (id = ? OR dest_addr IN (?, ?) OR source_addr IN (?, ?))");
        args.push(Value::Text(q.to_string()));
        for _ in 0..2 {
            args.push(Value::Text(bare.clone()));
            args.push(Value::Text(plus.clone()));
        }
    }
    sql.push_str(" ORDER BY accepted_at DESC, id DESC LIMIT ?");
    args.push(Value::Integer(i64::from(
        filter.limit.unwrap_or(DEFAULT_LIST_LIMIT),
    )));

    let mut statement = conn.prepare_cached(&sql).map_err(backend)?;
    let mut rows = statement
        .query(rusqlite::params_from_iter(args))
        .map_err(backend)?;
    let mut messages = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        messages.push(message_from_row(row)?);
    }
    Ok(messages)
}

/// A message row, without its trace.
fn message_from_row(row: &Row<'_>) -> StoreResult<MessageRecord> {
    let state: String = column(row, "state")?;
    let direction: String = column(row, "direction")?;
    let origin_protocol: String = column(row, "origin_protocol")?;
    let part = match (
        column::<Option<i64>>(row, "part_ref")?,
        column::<Option<i64>>(row, "part_total")?,
        column::<Option<i64>>(row, "part_seq")?,
    ) {
        (Some(reference), Some(total), Some(seq)) => Some(PartInfo {
            reference: u16::try_from(reference).map_err(|_| bad_column("part_ref", reference))?,
            total: u8::try_from(total).map_err(|_| bad_column("part_total", total))?,
            seq: u8::try_from(seq).map_err(|_| bad_column("part_seq", seq))?,
        }),
        _ => None,
    };
    let remote_addr = column::<Option<String>>(row, "origin_remote")?
        .map(|addr| {
            addr.parse::<SocketAddr>()
                .map_err(|_| bad_column("origin_remote", &addr))
        })
        .transpose()?;
    Ok(MessageRecord {
        id: column(row, "id")?,
        group_id: column(row, "group_id")?,
        account: column(row, "account")?,
        state: MessageState::parse(&state).ok_or_else(|| bad_column("state", &state))?,
        source: StoredAddress {
            ton: int_column(row, "source_ton")?,
            npi: int_column(row, "source_npi")?,
            addr: column(row, "source_addr")?,
        },
        destination: StoredAddress {
            ton: int_column(row, "dest_ton")?,
            npi: int_column(row, "dest_npi")?,
            addr: column(row, "dest_addr")?,
        },
        esm_class: int_column(row, "esm_class")?,
        data_coding: int_column(row, "data_coding")?,
        registered_delivery: int_column(row, "registered_delivery")?,
        schedule_at: column::<Option<i64>>(row, "schedule_at")?.map(from_millis),
        expires_at: column::<Option<i64>>(row, "expires_at")?.map(from_millis),
        payload: column(row, "payload")?,
        part,
        segments: int_column(row, "segments")?,
        cost: column(row, "cost")?,
        origin: Origin {
            protocol: origin_protocol.clone(),
            remote_addr,
            tls: column(row, "origin_tls")?,
            session_id: column::<Option<i64>>(row, "origin_session")?
                .map(|id| u64::from_ne_bytes(id.to_ne_bytes())),
        },
        accepted_at: from_millis(column(row, "accepted_at")?),
        direction: Direction::parse(&direction)
            .ok_or_else(|| bad_column("direction", &direction))?,
        // An MO message names the connector it came through in its origin.
        connector: column::<Option<String>>(row, "connector")?
            .or_else(|| origin_protocol.strip_prefix("mo:").map(str::to_string)),
        tags: json_strings(row, "tags")?,
        client_ref: column(row, "client_ref")?,
        trace: Vec::new(),
    })
}
