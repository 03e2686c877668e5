//! The outbox: receipts, status callbacks and MO messages waiting for a
//! customer (the `outbox` table, claimed and finished by the couriers), and
//! MO messages as they arrive, with the parts of long ones still waiting for
//! their siblings (`mo_parts`).

use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, Row, params};

use smpp::receipt::ReceiptStat;

use crate::delivery::outbox::{self, OutboxItem, OutboxKind, OutboxResult};
use crate::store::{
    CLAIM_LEASE, MessageState, MoDelivery, MoRecord, NewMoPart, OutboxGroup, StoreResult,
    StoredAddress, StoredMoPart,
};

use super::sql::{backend, column, from_millis, int_column, to_millis};
use super::writer::Writer;

/// The columns of a message that its callbacks and receipts are made of,
/// for `SELECT` and for `UPDATE ... RETURNING` (a state change and what it
/// reports read in one statement).
macro_rules! notice_columns {
    () => {
        "account, callback_url, client_ref, registered_delivery, source_ton, source_npi, \
         source_addr, dest_ton, dest_npi, dest_addr, data_coding, esm_class, payload, \
         accepted_at, direction"
    };
}
pub(super) use notice_columns;

/// What a message's status callback and customer receipt are made of.
pub(super) struct Notice {
    account: String,
    callback_url: Option<String>,
    client_ref: Option<String>,
    registered: u8,
    source: StoredAddress,
    destination: StoredAddress,
    data_coding: u8,
    esm_class: u8,
    payload: Vec<u8>,
    accepted_at: i64,
    direction: String,
}

impl Notice {
    /// Reads a row of [`notice_columns`], in that order.
    pub(super) fn from_row(row: &Row<'_>) -> rusqlite::Result<Notice> {
        Ok(Notice {
            account: row.get(0)?,
            callback_url: row.get(1)?,
            client_ref: row.get(2)?,
            registered: u8::try_from(row.get::<_, i64>(3)?).unwrap_or(0),
            source: StoredAddress {
                ton: row.get(4)?,
                npi: row.get(5)?,
                addr: row.get(6)?,
            },
            destination: StoredAddress {
                ton: row.get(7)?,
                npi: row.get(8)?,
                addr: row.get(9)?,
            },
            data_coding: u8::try_from(row.get::<_, i64>(10)?).unwrap_or(0),
            esm_class: u8::try_from(row.get::<_, i64>(11)?).unwrap_or(0),
            payload: row.get(12)?,
            accepted_at: row.get(13)?,
            direction: row.get(14)?,
        })
    }
}

impl Writer {
    /// Message `id`'s [`Notice`], if it is stored.
    pub(super) fn notice(&self, id: &str) -> StoreResult<Option<Notice>> {
        self.conn
            .prepare_cached(concat!(
                "SELECT ",
                notice_columns!(),
                " FROM messages WHERE id = ?1"
            ))
            .and_then(|mut statement| statement.query_row([id], Notice::from_row).optional())
            .map_err(backend)
    }

    /// [`Writer::queue_callback_for`] and [`Writer::queue_receipt_for`]
    /// of one state change, with the message read once. `stat` is the
    /// receipt's, if the change has one.
    pub(super) fn queue_notices(
        &self,
        id: &str,
        stat: Option<&ReceiptStat>,
        state: MessageState,
        previous: MessageState,
        now: SystemTime,
    ) -> StoreResult<()> {
        let Some(notice) = self.notice(id)? else {
            return Ok(());
        };
        if let Some(stat) = stat {
            self.queue_receipt_for(id, &notice, stat, "", now)?;
        }
        self.queue_callback_for(id, &notice, state, previous, "", now)
    }

    /// Queues a status event for message `id` (its [`Notice`] given) to its
    /// callback URL, if it has one (HTTP API customers): in the writer's
    /// transaction, with the state change it reports; posted in order by
    /// the webhook courier. `previous` is the state the customer was last
    /// told of: `accepted` (the API's answer) before the first event,
    /// `submitted` after it (the internal `queued` is never an event).
    pub(super) fn queue_callback_for(
        &self,
        id: &str,
        notice: &Notice,
        state: MessageState,
        previous: MessageState,
        err: &str,
        now: SystemTime,
    ) -> StoreResult<()> {
        let Some(url) = &notice.callback_url else {
            return Ok(());
        };
        let event = crate::delivery::webhook_courier::StoredCallback {
            url: url.clone(),
            account: notice.account.clone(),
            id: id.to_string(),
            state: state.as_str().to_string(),
            previous_state: Some(previous.as_str().to_string()),
            err: (!err.is_empty()).then(|| err.to_string()),
            at: to_millis(now),
            client_ref: notice.client_ref.clone(),
        };
        self.conn
            .prepare_cached(
                "INSERT INTO outbox (account, kind, message_id, pdu, created_at, next_attempt_at) \
                 VALUES ('callback', 'webhook', ?1, ?2, ?3, ?3)",
            )
            .and_then(|mut statement| {
                statement.execute(params![id, event.to_json().as_ref(), to_millis(now)])
            })
            .map_err(backend)?;
        self.trace(
            id,
            now,
            "callback queued",
            &format!("state {}", state.as_str()),
        )
    }

    /// Queues the customer's receipt for message `id` reporting `stat`
    /// (with the provider's `err`), if the customer asked for one (its
    /// registered_delivery) and the message came in over SMPP from a
    /// customer: in the writer's transaction, with the state change it reports.
    pub(super) fn queue_receipt(
        &self,
        id: &str,
        stat: &ReceiptStat,
        err: &str,
        now: SystemTime,
    ) -> StoreResult<()> {
        match self.notice(id)? {
            Some(notice) => self.queue_receipt_for(id, &notice, stat, err, now),
            None => Ok(()),
        }
    }

    /// [`Writer::queue_receipt`] with the message's [`Notice`] given.
    pub(super) fn queue_receipt_for(
        &self,
        id: &str,
        notice: &Notice,
        stat: &ReceiptStat,
        err: &str,
        now: SystemTime,
    ) -> StoreResult<()> {
        if notice.direction != "mt" || !outbox::wants_receipt(notice.registered, stat) {
            return Ok(());
        }
        let subject = outbox::ReceiptSubject {
            id,
            source: &notice.source,
            destination: &notice.destination,
            data_coding: notice.data_coding,
            esm_class: notice.esm_class,
            payload: &notice.payload,
            accepted_at: from_millis(notice.accepted_at),
        };
        let Some(pdu) = outbox::receipt_pdu(&subject, stat, err, now) else {
            return self.trace(
                id,
                now,
                "receipt dropped",
                "its addresses do not fit a deliver_sm",
            );
        };
        self.conn
            .prepare_cached(
                "INSERT INTO outbox (account, kind, message_id, pdu, created_at, next_attempt_at) \
                 VALUES (?1, 'receipt', ?2, ?3, ?4, ?4)",
            )
            .and_then(|mut statement| {
                statement.execute(params![notice.account, id, pdu.as_ref(), to_millis(now)])
            })
            .map_err(backend)?;
        self.trace(
            id,
            now,
            "receipt queued",
            &format!("stat {} for account {}", stat.as_str(), notice.account),
        )
    }

    /// See [`Store::claim_outbox`]. One statement per account, each
    /// walking that account's items oldest first through
    /// `outbox_by_account` and stopping at its room: the cost is what is
    /// claimed, not the size of the backlog.
    ///
    /// [`Store::claim_outbox`]: crate::store::Store::claim_outbox
    pub(super) fn claim_outbox(
        &self,
        node: &str,
        accounts: &[(String, u32)],
        limit: u32,
        now: SystemTime,
    ) -> StoreResult<Vec<OutboxItem>> {
        let lapsed = to_millis(now.checked_sub(CLAIM_LEASE).unwrap_or(UNIX_EPOCH));
        let mut statement = self
            .conn
            .prepare_cached(
                "UPDATE outbox SET claimed_by = ?1, claimed_at = ?2, attempts = attempts + 1 \
                 WHERE seq IN ( \
                   SELECT seq FROM outbox \
                   WHERE account = ?3 \
                     AND next_attempt_at <= ?2 \
                     AND (claimed_by IS NULL OR claimed_at <= ?4) \
                     AND NOT EXISTS (SELECT 1 FROM outbox AS earlier \
                       WHERE earlier.message_id = outbox.message_id AND earlier.seq < outbox.seq) \
                   ORDER BY seq LIMIT ?5) \
                 RETURNING seq, account, kind, message_id, pdu, created_at, attempts",
            )
            .map_err(backend)?;
        let mut items = Vec::new();
        let mut left = limit;
        for (account, room) in accounts {
            if left == 0 {
                break;
            }
            let most = (*room).min(left);
            if most == 0 {
                continue;
            }
            let claimed = statement
                .query_map(
                    params![node, to_millis(now), account, lapsed, most],
                    |row| {
                        Ok((
                            row.get::<_, i64>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, String>(2)?,
                            row.get::<_, String>(3)?,
                            row.get::<_, Vec<u8>>(4)?,
                            row.get::<_, i64>(5)?,
                            row.get::<_, i64>(6)?,
                        ))
                    },
                )
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(backend)?;
            left = left.saturating_sub(u32::try_from(claimed.len()).unwrap_or(u32::MAX));
            items.extend(claimed.into_iter().filter_map(
                |(seq, account, kind, message_id, pdu, created_at, attempts)| {
                    Some(OutboxItem {
                        seq,
                        account,
                        kind: OutboxKind::parse(&kind)?,
                        message_id,
                        pdu: bytes::Bytes::from(pdu),
                        created_at: from_millis(created_at),
                        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                    })
                },
            ));
        }
        items.sort_by_key(|item| item.seq);
        Ok(items)
    }

    pub(super) fn finish_outbox(
        &self,
        seq: i64,
        message_id: &str,
        kind: OutboxKind,
        result: OutboxResult,
        now: SystemTime,
    ) -> StoreResult<()> {
        let what = kind.as_str();
        match result {
            OutboxResult::Delivered { detail } => {
                self.delete_outbox(seq)?;
                self.end_mo(message_id, kind, true)?;
                self.trace(message_id, now, &format!("{what} sent"), &detail)
            }
            OutboxResult::Dropped { detail } => {
                self.delete_outbox(seq)?;
                self.end_mo(message_id, kind, false)?;
                self.trace(message_id, now, &format!("{what} dropped"), &detail)
            }
            OutboxResult::Retry { at, detail } => {
                self.conn
                    .prepare_cached(
                        "UPDATE outbox SET next_attempt_at = ?2, claimed_by = NULL, \
                         claimed_at = NULL WHERE seq = ?1",
                    )
                    .and_then(|mut statement| statement.execute(params![seq, to_millis(at)]))
                    .map_err(backend)?;
                self.trace(message_id, now, &format!("{what} retry"), &detail)
            }
        }
    }

    /// An MO message's state once its delivery ended: delivered when the
    /// customer took a part, failed when a part was given up (unless an
    /// earlier part was taken).
    fn end_mo(&self, message_id: &str, kind: OutboxKind, delivered: bool) -> StoreResult<()> {
        if kind == OutboxKind::Receipt {
            return Ok(());
        }
        let state = if delivered { "delivered" } else { "failed" };
        self.conn
            .prepare_cached(
                "UPDATE messages SET state = ?2 WHERE id = ?1 AND direction = 'mo' \
                 AND state = 'accepted'",
            )
            .and_then(|mut statement| statement.execute(params![message_id, state]))
            .map_err(backend)?;
        Ok(())
    }

    fn delete_outbox(&self, seq: i64) -> StoreResult<()> {
        self.conn
            .prepare_cached("DELETE FROM outbox WHERE seq = ?1")
            .and_then(|mut statement| statement.execute([seq]))
            .map_err(backend)?;
        Ok(())
    }

    pub(super) fn expire_outbox(&self, before: SystemTime, now: SystemTime) -> StoreResult<u64> {
        let mut statement = self
            .conn
            .prepare_cached(
                "DELETE FROM outbox WHERE created_at < ?1 RETURNING message_id, kind, attempts",
            )
            .map_err(backend)?;
        let dropped = statement
            .query_map([to_millis(before)], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?,
                ))
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(backend)?;
        drop(statement);
        for (message_id, kind, attempts) in &dropped {
            if let Some(kind) = OutboxKind::parse(kind) {
                self.end_mo(message_id, kind, false)?;
            }
            self.trace(
                message_id,
                now,
                &format!("{kind} dropped"),
                &format!(
                    "no session of the account took it before its maximum age \
                     ({attempts} attempts)"
                ),
            )?;
        }
        Ok(dropped.len() as u64)
    }

    pub(super) fn release_outbox_claims(&self, node: &str) -> StoreResult<u64> {
        self.conn
            .prepare_cached(
                "UPDATE outbox SET claimed_by = NULL, claimed_at = NULL WHERE claimed_by = ?1",
            )
            .and_then(|mut statement| statement.execute([node]))
            .map(|released| released as u64)
            .map_err(backend)
    }

    pub(super) fn record_mo(&self, record: MoRecord) -> StoreResult<()> {
        let at = to_millis(record.received_at);
        self.conn
            .prepare_cached(
                "INSERT INTO messages (id, group_id, account, state, source_ton, source_npi, \
                 source_addr, dest_ton, dest_npi, dest_addr, esm_class, data_coding, protocol_id, \
                 priority, registered_delivery, payload, segments, cost, origin_protocol, \
                 origin_remote, origin_tls, accepted_at, direction) \
                 VALUES (?1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, ?10, 0, 0, 0, ?11, ?12, 0, \
                 'mo:' || ?13, NULL, 0, ?14, 'mo')",
            )
            .and_then(|mut statement| {
                statement.execute(params![
                    record.id,
                    record.account,
                    record.state.as_str(),
                    record.source.ton,
                    record.source.npi,
                    record.source.addr,
                    record.destination.ton,
                    record.destination.npi,
                    record.destination.addr,
                    record.data_coding,
                    record.payload,
                    record.segments,
                    record.connector,
                    at,
                ])
            })
            .map_err(backend)?;
        let now = record.received_at;
        for line in &record.trace {
            self.trace(&record.id, now, "mo", line)?;
        }
        for seq in &record.stored_parts {
            self.conn
                .prepare_cached("DELETE FROM mo_parts WHERE seq = ?1")
                .and_then(|mut statement| statement.execute([seq]))
                .map_err(backend)?;
        }
        let entries: Vec<(String, &str, bytes::Bytes)> = match record.delivery {
            MoDelivery::None => Vec::new(),
            MoDelivery::Account { system_id, pdus } => pdus
                .into_iter()
                .map(|pdu| (system_id.clone(), "mo", pdu))
                .collect(),
            MoDelivery::Webhook { name, event } => {
                vec![(format!("webhook:{name}"), "webhook", event)]
            }
        };
        for (account, kind, body) in entries {
            self.conn
                .prepare_cached(
                    "INSERT INTO outbox (account, kind, message_id, pdu, created_at, next_attempt_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                )
                .and_then(|mut statement| {
                    statement.execute(params![account, kind, record.id, body.as_ref(), at])
                })
                .map_err(backend)?;
        }
        Ok(())
    }

    pub(super) fn store_mo_part(&self, part: NewMoPart) -> StoreResult<i64> {
        self.conn
            .prepare_cached(
                "INSERT INTO mo_parts (connector, pdu, received_at) VALUES (?1, ?2, ?3)",
            )
            .and_then(|mut statement| {
                statement.execute(params![
                    part.connector,
                    part.pdu,
                    to_millis(part.received_at)
                ])
            })
            .map_err(backend)?;
        Ok(self.conn.last_insert_rowid())
    }
}

pub(super) fn outbox_summary(conn: &Connection) -> StoreResult<Vec<OutboxGroup>> {
    let mut statement = conn
        .prepare_cached(
            "SELECT account, kind, COUNT(*) AS count, MIN(created_at) AS oldest \
             FROM outbox GROUP BY account, kind ORDER BY account, kind",
        )
        .map_err(backend)?;
    let mut rows = statement.query([]).map_err(backend)?;
    let mut groups = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        groups.push(OutboxGroup {
            account: column(row, "account")?,
            kind: column(row, "kind")?,
            count: int_column(row, "count")?,
            oldest: from_millis(column(row, "oldest")?),
        });
    }
    Ok(groups)
}

pub(super) fn list_mo_parts(conn: &Connection) -> StoreResult<Vec<StoredMoPart>> {
    let mut statement = conn
        .prepare_cached("SELECT seq, connector, pdu, received_at FROM mo_parts ORDER BY seq")
        .map_err(backend)?;
    let rows = statement
        .query_map([], |row| {
            Ok(StoredMoPart {
                seq: row.get(0)?,
                part: NewMoPart {
                    connector: row.get(1)?,
                    pdu: row.get(2)?,
                    received_at: from_millis(row.get(3)?),
                },
            })
        })
        .map_err(backend)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(backend)
}
