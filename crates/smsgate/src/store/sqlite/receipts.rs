//! Provider ids and delivery receipts: the `provider_ids` that link the id a
//! provider gave a message to the message, and the `pending_receipts` that
//! came before the answer that told us that id.

use std::time::SystemTime;

use rusqlite::{Connection, OptionalExtension, params};

use smpp::receipt::ReceiptStat;

use crate::store::{MessageState, ProviderIdLink, StoreResult, provider_id_forms, receipt_state};

use super::outbox::{Notice, notice_columns};
use super::sql::{backend, column, from_millis, to_millis};
use super::writer::Writer;

impl Writer {
    pub(super) fn add_provider_ids(
        &self,
        id: &str,
        connector: &str,
        provider_ids: &[String],
        now: SystemTime,
    ) -> StoreResult<()> {
        for provider_id in provider_ids.iter().filter(|p| !p.is_empty()) {
            self.store_provider_id(id, connector, provider_id, now)?;
        }
        Ok(())
    }

    /// Links a provider id to a message, then applies the receipts that
    /// came for it before this answer did.
    pub(super) fn store_provider_id(
        &self,
        id: &str,
        connector: &str,
        provider_id: &str,
        now: SystemTime,
    ) -> StoreResult<()> {
        let forms = provider_id_forms(provider_id);
        let stored = forms[0].as_str();
        self.conn
            .prepare_cached(
                "INSERT INTO provider_ids (connector, provider_id, message_id, at) \
                 VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (connector, provider_id) DO UPDATE SET \
                 message_id = excluded.message_id, at = excluded.at",
            )
            .and_then(|mut statement| {
                statement.execute(params![connector, stored, id, to_millis(now)])
            })
            .map_err(backend)?;
        if !self.may_have_pending_receipts()? {
            return Ok(());
        }
        let mut statement = self
            .conn
            .prepare_cached(
                "DELETE FROM pending_receipts WHERE connector = ?1 AND provider_id = ?2 \
                 RETURNING seq, stat, err, received_at",
            )
            .map_err(backend)?;
        let mut early = Vec::new();
        for form in &forms {
            let mut rows = statement.query(params![connector, form]).map_err(backend)?;
            while let Some(row) = rows.next().map_err(backend)? {
                let seq: i64 = column(row, "seq")?;
                let stat: String = column(row, "stat")?;
                let err: String = column(row, "err")?;
                early.push((seq, stat, err, from_millis(column(row, "received_at")?)));
            }
        }
        drop(statement);
        let taken = u64::try_from(early.len()).unwrap_or(u64::MAX);
        self.pending_receipts
            .set(self.pending_receipts.get().map(|n| n.saturating_sub(taken)));
        early.sort_by_key(|(seq, ..)| *seq);
        for (_, stat, err, received_at) in early {
            let stat = ReceiptStat::from_word(&stat);
            self.apply_known_receipt(id, connector, provider_id, &stat, &err, received_at)?;
        }
        Ok(())
    }

    pub(super) fn apply_receipt(
        &self,
        connector: &str,
        provider_id: &str,
        stat: &ReceiptStat,
        err: &str,
        now: SystemTime,
    ) -> StoreResult<Option<String>> {
        let forms = provider_id_forms(provider_id);
        let mut id: Option<String> = None;
        for form in &forms {
            id = self
                .conn
                .prepare_cached(
                    "SELECT message_id FROM provider_ids WHERE connector = ?1 AND provider_id = ?2",
                )
                .and_then(|mut statement| {
                    statement
                        .query_row(params![connector, form], |row| row.get(0))
                        .optional()
                })
                .map_err(backend)?;
            if id.is_some() {
                break;
            }
        }
        let Some(id) = id else {
            self.conn
                .prepare_cached(
                    "INSERT INTO pending_receipts (connector, provider_id, stat, err, received_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .and_then(|mut statement| {
                    statement.execute(params![
                        connector,
                        forms[0],
                        stat.as_str(),
                        err,
                        to_millis(now)
                    ])
                })
                .map_err(backend)?;
            self.pending_receipts
                .set(self.pending_receipts.get().map(|n| n.saturating_add(1)));
            return Ok(None);
        };
        self.apply_known_receipt(&id, connector, provider_id, stat, err, now)?;
        Ok(Some(id))
    }

    /// A receipt for message `id`: a final one ends a `submitted` message
    /// (a message already ended keeps its state: the first final word
    /// stands); every one is traced.
    fn apply_known_receipt(
        &self,
        id: &str,
        connector: &str,
        provider_id: &str,
        stat: &ReceiptStat,
        err: &str,
        at: SystemTime,
    ) -> StoreResult<()> {
        // A final receipt's state change returns what its callback and the
        // customer's receipt are made of.
        let ended = match receipt_state(stat) {
            Some(state) => {
                let notice = self
                    .conn
                    .prepare_cached(concat!(
                        "UPDATE messages SET state = ?2 WHERE id = ?1 AND state = 'submitted' \
                         RETURNING ",
                        notice_columns!()
                    ))
                    .and_then(|mut statement| {
                        statement
                            .query_row(params![id, state.as_str()], Notice::from_row)
                            .optional()
                    })
                    .map_err(backend)?;
                if let Some(notice) = &notice {
                    self.queue_callback_for(id, notice, state, MessageState::Submitted, err, at)?;
                }
                notice
            }
            None => None,
        };
        let shown = if err.is_empty() { "none" } else { err };
        self.trace(
            id,
            at,
            "receipt",
            &format!(
                "connector {connector}, provider id {provider_id}: stat {}, err {shown}",
                stat.as_str()
            ),
        )?;
        // The customer hears of the first final outcome only, and of
        // intermediate ones while the message is open.
        if let Some(notice) = &ended {
            self.queue_receipt_for(id, notice, stat, err, at)?;
        } else if !stat.is_final() && matches!(stat, ReceiptStat::Enroute | ReceiptStat::Accepted) {
            self.queue_receipt(id, stat, err, at)?;
        }
        Ok(())
    }

    /// Whether any receipt waits for its provider id. Nearly always none
    /// does (providers answer a submit before its receipt), so knowing it
    /// saves a lookup per form of every provider id stored. The count is
    /// kept by this writer, the only one that adds such receipts; read
    /// from the table whenever it may be wrong (after a rollback or a purge).
    fn may_have_pending_receipts(&self) -> StoreResult<bool> {
        let count = match self.pending_receipts.get() {
            Some(count) => count,
            None => {
                let count: i64 = self
                    .conn
                    .prepare_cached("SELECT count(*) FROM pending_receipts")
                    .and_then(|mut statement| statement.query_row([], |row| row.get(0)))
                    .map_err(backend)?;
                let count = u64::try_from(count).unwrap_or(0);
                self.pending_receipts.set(Some(count));
                count
            }
        };
        Ok(count > 0)
    }

    pub(super) fn purge_pending_receipts(&self, before: SystemTime) -> StoreResult<u64> {
        self.pending_receipts.set(None);
        self.conn
            .prepare_cached("DELETE FROM pending_receipts WHERE received_at < ?1")
            .and_then(|mut statement| statement.execute([to_millis(before)]))
            .map(|purged| purged as u64)
            .map_err(backend)
    }
}

pub(super) fn list_provider_ids(conn: &Connection, id: &str) -> StoreResult<Vec<ProviderIdLink>> {
    let mut statement = conn
        .prepare_cached(
            "SELECT connector, provider_id FROM provider_ids WHERE message_id = ?1 \
             ORDER BY at, connector, provider_id",
        )
        .map_err(backend)?;
    let mut rows = statement.query([id]).map_err(backend)?;
    let mut links = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        links.push(ProviderIdLink {
            connector: column(row, "connector")?,
            provider_id: column(row, "provider_id")?,
        });
    }
    Ok(links)
}
