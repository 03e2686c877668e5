//! The single-node store: one SQLite file in WAL mode.
//!
//! Writes go to ONE writer thread that owns the write connection and does
//! group commit: it blocks for the first queued write, drains whatever else
//! is queued (up to [`MAX_BATCH`]), runs them all in one transaction, commits
//! (an fsync with `synchronous=FULL`), and only then answers every caller.
//! There is no timer: while one commit's fsync runs, the next batch queues
//! up by itself, so a busy gateway commits hundreds of messages per fsync and
//! an idle one commits each message at once. Each write runs inside its own
//! SAVEPOINT, so one failing write is rolled back alone and does not take the
//! rest of its batch with it.
//!
//! Reads run on a small pool of read-only connections via `spawn_blocking`;
//! WAL lets them read the last commit while the writer writes.
//!
//! The file is the whole state, so the CLI can open it while the server runs
//! (SQLite's locks and the busy timeout serialise their writers).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use ipnet::IpNet;
use rusqlite::types::{FromSql, Value};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, TransactionBehavior, params};
use tokio::sync::{mpsc, oneshot};

use smpp::receipt::ReceiptStat;

use crate::outbox::{self, OutboxItem, OutboxKind, OutboxResult};

use super::{
    AcceptOutcome, Account, AccountPatch, AdminToken, AdminUser, ApiKey, Attempt, AttemptResult,
    BindType, CLAIM_LEASE, ClaimedMessage, Direction, DispatchProgress, MessageFilter,
    MessageRecord, MessageState, MoDelivery, MoRecord, NewAccount, NewAdminToken, NewApiKey,
    NewMessage, NewMoPart, Origin, OutboxGroup, PartInfo, ProviderIdLink, QueueDepths, Store,
    StoreError, StoreResult, StoredAddress, StoredMoPart, TraceEvent, provider_id_forms,
    receipt_state,
};
use super::{TraceKind, TraceSwitch};

/// The schema, one plain SQL file per version; `PRAGMA user_version` holds
/// how many of them the file has had applied.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_dispatch.sql"),
    include_str!("migrations/0003_outbox.sql"),
    include_str!("migrations/0004_api.sql"),
    include_str!("migrations/0005_callbacks.sql"),
    include_str!("migrations/0006_admin.sql"),
    include_str!("migrations/0007_trace.sql"),
    include_str!("migrations/0008_tags.sql"),
    include_str!("migrations/0009_account_callback.sql"),
    include_str!("migrations/0010_mo_parts.sql"),
];

/// At most this many writes share one transaction, so one commit's latency
/// stays bounded however deep the queue gets.
const MAX_BATCH: usize = 1024;

/// Writes waiting for the writer thread; past this, callers wait to enqueue
/// (backpressure instead of unbounded memory).
const WRITE_QUEUE_DEPTH: usize = 4 * MAX_BATCH;

/// Read-only connections; reads are short, a few cover a 2–8 core machine.
const READERS: usize = 4;

/// How long a connection waits for another process's lock (e.g. the CLI
/// writing while the server runs) before it reports the database busy.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Parts of a long message arriving further apart than this are not linked.
const PART_WINDOW_MS: i64 = 60 * 60 * 1000;

/// An API key's last use is written again only once it is this much older.
const LAST_USED_PRECISION_MS: i64 = 60 * 1000;

/// The columns of an API key row, as [`api_key_from_row`] reads them.
const API_KEY_COLUMNS: &str = "id, account, label, created_at, last_used_at";

/// How many messages [`Store::messages`] returns without a limit.
const DEFAULT_LIST_LIMIT: u32 = 100;

/// The columns of a message row, in the order [`message_from_row`] reads them by name.
const MESSAGE_COLUMNS: &str = "id, group_id, account, state, source_ton, source_npi, source_addr, \
    dest_ton, dest_npi, dest_addr, esm_class, data_coding, registered_delivery, schedule_at, \
    expires_at, payload, part_ref, part_total, part_seq, segments, cost, origin_protocol, \
    origin_remote, origin_tls, origin_session, accepted_at";

/// The columns [`message_from_row`] reads besides [`MESSAGE_COLUMNS`] (which
/// also name what a new message is inserted with).
const MESSAGE_READ_COLUMNS: &str = "direction, connector, tags, client_ref";

/// The columns of an admin user row, as [`admin_user_from_row`] reads them.
const ADMIN_USER_COLUMNS: &str = "name, password_hash, created_at";

/// The columns of an admin token row, as [`admin_token_from_row`] reads them.
const ADMIN_TOKEN_COLUMNS: &str = "id, label, created_at, last_used_at";

/// The columns of an account row.
const ACCOUNT_COLUMNS: &str = "system_id, password_hash, enabled, credits, max_binds, tps, window, \
    bind_types, allowed_ips, allowed_senders, default_sender, address_ranges, group_name, created_at, \
    callback_url";

/// The [`Store`] on a SQLite file. See the module docs for how it writes.
pub struct SqliteStore {
    /// Where writes are queued for the writer thread; `None` once closed.
    writes: Mutex<Option<mpsc::Sender<Box<dyn Job>>>>,
    /// The writer thread, joined by [`Store::close`] (or on drop).
    writer_thread: Mutex<Option<JoinHandle<()>>>,
    /// Connections for reads.
    readers: Arc<ReaderPool>,
}

impl SqliteStore {
    /// Opens (creating it and its parent directories if needed) the store at
    /// `path`, naming this node after the host in trace events.
    pub fn open(path: &Path) -> StoreResult<SqliteStore> {
        SqliteStore::open_with_node(path, default_node_name())
    }

    /// Opens the store at `path`; `node` names this process in the trace
    /// events it writes (several nodes may share one database).
    pub fn open_with_node(path: &Path, node: impl Into<String>) -> StoreResult<SqliteStore> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|error| {
                StoreError::Backend(format!("cannot create {}: {error}", parent.display()))
            })?;
        }
        let cannot_open = |error: rusqlite::Error| {
            StoreError::Backend(format!("cannot open {}: {error}", path.display()))
        };
        let mut conn = Connection::open(path).map_err(cannot_open)?;
        configure_writer(&conn, path)?;
        migrate(&mut conn, path)?;

        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let reader = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(cannot_open)?;
            reader.busy_timeout(BUSY_TIMEOUT).map_err(cannot_open)?;
            readers.push(Mutex::new(reader));
        }

        let (sender, receiver) = mpsc::channel(WRITE_QUEUE_DEPTH);
        let writer = Writer {
            conn,
            node: node.into(),
        };
        let thread = std::thread::Builder::new()
            .name("smsgate-store-writer".to_string())
            .spawn(move || writer.run(receiver))
            .map_err(|error| {
                StoreError::Backend(format!("cannot start the store's writer thread: {error}"))
            })?;

        Ok(SqliteStore {
            writes: Mutex::new(Some(sender)),
            writer_thread: Mutex::new(Some(thread)),
            readers: Arc::new(ReaderPool {
                connections: readers,
                next: AtomicUsize::new(0),
            }),
        })
    }

    /// Queues `work` for the writer thread and waits until its batch is committed.
    async fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Writer) -> StoreResult<T> + Send + 'static,
    {
        let sender = lock(&self.writes).clone().ok_or(StoreError::Closed)?;
        let (reply, answer) = oneshot::channel();
        let job = Box::new(PendingWrite {
            work: Some(work),
            result: None,
            reply,
        });
        sender.send(job).await.map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| {
            StoreError::Backend("the store's writer thread stopped before answering".to_string())
        })?
    }

    /// Queues `work` for the writer thread without waiting for it, for
    /// bookkeeping no caller waits on; dropped if the queue is full or closed.
    fn write_in_background<F>(&self, work: F)
    where
        F: FnOnce(&Writer) -> StoreResult<()> + Send + 'static,
    {
        let Some(sender) = lock(&self.writes).clone() else {
            return;
        };
        let (reply, _) = oneshot::channel();
        let _ = sender.try_send(Box::new(PendingWrite {
            work: Some(work),
            result: None,
            reply,
        }));
    }

    /// Runs `read` on a reader connection, off the async workers.
    async fn read<T, F>(&self, read: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let pool = Arc::clone(&self.readers);
        tokio::task::spawn_blocking(move || pool.with(read))
            .await
            .map_err(|error| StoreError::Backend(format!("a store read failed: {error}")))?
    }

    /// Closes the write queue (the writer thread then commits what is queued
    /// and exits) and hands back the thread to join; `None` if already done.
    fn shut_down_writer(&self) -> Option<JoinHandle<()>> {
        drop(lock(&self.writes).take());
        lock(&self.writer_thread).take()
    }
}

impl Drop for SqliteStore {
    /// Dropping the store without [`Store::close`] still commits what was
    /// queued: the writer drains the queue before it exits, and we wait for it
    /// so the file is complete when drop returns.
    fn drop(&mut self) {
        if let Some(thread) = self.shut_down_writer() {
            // A panic on the writer thread has already been reported by the
            // panic hook; nothing is left to do about it here.
            let _ = thread.join();
        }
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_account(&self, account: NewAccount) -> StoreResult<Account> {
        self.write(move |writer| writer.create_account(account))
            .await
    }

    async fn account(&self, system_id: &str) -> StoreResult<Option<Account>> {
        let system_id = system_id.to_string();
        self.read(move |conn| load_account(conn, &system_id)).await
    }

    async fn accounts(&self) -> StoreResult<Vec<Account>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(&format!(
                    "SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY system_id"
                ))
                .map_err(backend)?;
            let mut rows = statement.query([]).map_err(backend)?;
            let mut accounts = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                accounts.push(account_from_row(row)?);
            }
            Ok(accounts)
        })
        .await
    }

    async fn update_account(&self, system_id: &str, patch: AccountPatch) -> StoreResult<Account> {
        let system_id = system_id.to_string();
        self.write(move |writer| writer.update_account(&system_id, patch))
            .await
    }

    async fn set_password_hash(&self, system_id: &str, hash: &str) -> StoreResult<()> {
        let (system_id, hash) = (system_id.to_string(), hash.to_string());
        self.write(move |writer| {
            let changed = writer
                .conn
                .prepare_cached("UPDATE accounts SET password_hash = ?1 WHERE system_id = ?2")
                .and_then(|mut statement| statement.execute(params![hash, system_id]))
                .map_err(backend)?;
            if changed == 0 {
                return Err(account_not_found(&system_id));
            }
            Ok(())
        })
        .await
    }

    async fn add_credits(&self, system_id: &str, delta: i64) -> StoreResult<i64> {
        let system_id = system_id.to_string();
        self.write(move |writer| writer.add_credits(&system_id, delta))
            .await
    }

    async fn delete_account(&self, system_id: &str) -> StoreResult<()> {
        let system_id = system_id.to_string();
        self.write(move |writer| {
            let deleted = writer
                .conn
                .prepare_cached("DELETE FROM accounts WHERE system_id = ?1")
                .and_then(|mut statement| statement.execute([&system_id]))
                .map_err(backend)?;
            if deleted == 0 {
                return Err(account_not_found(&system_id));
            }
            Ok(())
        })
        .await
    }

    async fn create_api_key(&self, key: NewApiKey) -> StoreResult<ApiKey> {
        self.write(move |writer| writer.create_api_key(key)).await
    }

    async fn api_keys(&self, account: &str) -> StoreResult<Vec<ApiKey>> {
        let account = account.to_string();
        self.read(move |conn| {
            let mut statement = conn
                .prepare_cached(&format!(
                    "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE account = ?1 \
                     ORDER BY created_at, id"
                ))
                .map_err(backend)?;
            let mut rows = statement.query([&account]).map_err(backend)?;
            let mut keys = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                keys.push(api_key_from_row(row)?);
            }
            Ok(keys)
        })
        .await
    }

    async fn revoke_api_key(&self, id: &str) -> StoreResult<ApiKey> {
        let id = id.to_string();
        self.write(move |writer| {
            let mut statement = writer
                .conn
                .prepare_cached(&format!(
                    "DELETE FROM api_keys WHERE id = ?1 RETURNING {API_KEY_COLUMNS}"
                ))
                .map_err(backend)?;
            let mut rows = statement.query([&id]).map_err(backend)?;
            match rows.next().map_err(backend)? {
                Some(row) => api_key_from_row(row),
                None => Err(StoreError::NotFound(format!("API key {id}"))),
            }
        })
        .await
    }

    async fn account_for_api_key(
        &self,
        key_hash: &str,
        now: SystemTime,
    ) -> StoreResult<Option<Account>> {
        let key_hash = key_hash.to_string();
        let found = self
            .read(move |conn| {
                let key: Option<(String, String, Option<i64>)> = conn
                    .prepare_cached(
                        "SELECT id, account, last_used_at FROM api_keys WHERE key_hash = ?1",
                    )
                    .and_then(|mut statement| {
                        statement
                            .query_row([&key_hash], |row| {
                                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                            })
                            .optional()
                    })
                    .map_err(backend)?;
                let Some((id, account, last_used)) = key else {
                    return Ok(None);
                };
                Ok(load_account(conn, &account)?.map(|account| (id, last_used, account)))
            })
            .await?;
        let Some((id, last_used, account)) = found else {
            return Ok(None);
        };
        let now = to_millis(now);
        if last_used.is_none_or(|at| now.saturating_sub(at) >= LAST_USED_PRECISION_MS) {
            self.write_in_background(move |writer| {
                writer
                    .conn
                    .prepare_cached("UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1")
                    .and_then(|mut statement| statement.execute(params![id, now]))
                    .map(drop)
                    .map_err(backend)
            });
        }
        Ok(Some(account))
    }

    async fn accept(&self, message: NewMessage) -> StoreResult<AcceptOutcome> {
        self.write(move |writer| writer.accept(&message)).await
    }

    async fn message(&self, id: &str) -> StoreResult<Option<MessageRecord>> {
        let id = id.to_string();
        self.read(move |conn| load_message(conn, &id)).await
    }

    async fn messages(&self, filter: MessageFilter) -> StoreResult<Vec<MessageRecord>> {
        self.read(move |conn| list_messages(conn, filter)).await
    }

    async fn queue_depths(&self) -> StoreResult<QueueDepths> {
        self.read(|conn| {
            let count = |sql: &str, state: Option<MessageState>| -> StoreResult<u64> {
                let count: i64 = conn
                    .prepare_cached(sql)
                    .and_then(|mut statement| match state {
                        Some(state) => {
                            statement.query_row(params![state.as_str()], |row| row.get(0))
                        }
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
        })
        .await
    }

    async fn add_trace_event(&self, id: &str, event: TraceEvent) -> StoreResult<()> {
        let id = id.to_string();
        self.write(move |writer| {
            let added = writer
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
        })
        .await
    }

    async fn claim_due(
        &self,
        node: &str,
        limit: u32,
        now: SystemTime,
    ) -> StoreResult<Vec<ClaimedMessage>> {
        let node = node.to_string();
        self.write(move |writer| writer.claim_due(&node, limit, now))
            .await
    }

    async fn release_claims(&self, node: &str) -> StoreResult<u64> {
        let node = node.to_string();
        self.write(move |writer| {
            writer
                .conn
                .prepare_cached(
                    "UPDATE messages SET state = 'accepted', claimed_by = NULL, claimed_at = NULL \
                     WHERE state = 'queued' AND claimed_by = ?1",
                )
                .and_then(|mut statement| statement.execute([&node]))
                .map(|released| released as u64)
                .map_err(backend)
        })
        .await
    }

    async fn record_submit_result(
        &self,
        id: &str,
        attempt: Attempt<'_>,
        result: AttemptResult,
        detail: &str,
        now: SystemTime,
    ) -> StoreResult<()> {
        let (id, connector, route, detail) = (
            id.to_string(),
            attempt.connector.to_string(),
            attempt.route.to_string(),
            detail.to_string(),
        );
        let number = attempt.number;
        self.write(move |writer| {
            let attempt = Attempt {
                connector: &connector,
                route: &route,
                number,
            };
            writer.record_submit_result(&id, attempt, result, &detail, now)
        })
        .await
    }

    async fn record_failure(
        &self,
        id: &str,
        reason: &str,
        refund: bool,
        now: SystemTime,
    ) -> StoreResult<()> {
        let (id, reason) = (id.to_string(), reason.to_string());
        self.write(move |writer| {
            writer.set_state_from(&id, MessageState::Queued, MessageState::Failed)?;
            writer.trace(&id, now, "failed", &reason)?;
            writer.queue_receipt(&id, &ReceiptStat::Undeliverable, "", now)?;
            writer.queue_callback(&id, MessageState::Failed, MessageState::Accepted, "", now)?;
            if refund {
                writer.refund(&id, now)?;
            }
            Ok(())
        })
        .await
    }

    async fn apply_receipt(
        &self,
        connector: &str,
        provider_id: &str,
        stat: &ReceiptStat,
        err: &str,
        now: SystemTime,
    ) -> StoreResult<Option<String>> {
        let (connector, provider_id) = (connector.to_string(), provider_id.to_string());
        let (stat, err) = (stat.clone(), err.to_string());
        self.write(move |writer| writer.apply_receipt(&connector, &provider_id, &stat, &err, now))
            .await
    }

    async fn expire_due(&self, now: SystemTime) -> StoreResult<u64> {
        self.write(move |writer| writer.expire_due(now)).await
    }

    async fn claim_outbox(
        &self,
        node: &str,
        accounts: &[String],
        limit: u32,
        now: SystemTime,
    ) -> StoreResult<Vec<OutboxItem>> {
        let node = node.to_string();
        let accounts = serde_json::to_string(accounts)
            .map_err(|e| StoreError::Backend(format!("account list: {e}")))?;
        self.write(move |writer| writer.claim_outbox(&node, &accounts, limit, now))
            .await
    }

    async fn finish_outbox(
        &self,
        seq: i64,
        message_id: &str,
        kind: OutboxKind,
        result: OutboxResult,
        now: SystemTime,
    ) -> StoreResult<()> {
        let message_id = message_id.to_string();
        self.write(move |writer| writer.finish_outbox(seq, &message_id, kind, result, now))
            .await
    }

    async fn expire_outbox(&self, before: SystemTime, now: SystemTime) -> StoreResult<u64> {
        self.write(move |writer| writer.expire_outbox(before, now))
            .await
    }

    async fn add_provider_ids(
        &self,
        id: &str,
        connector: &str,
        provider_ids: &[String],
        now: SystemTime,
    ) -> StoreResult<()> {
        let (id, connector) = (id.to_string(), connector.to_string());
        let provider_ids = provider_ids.to_vec();
        self.write(move |writer| {
            for provider_id in provider_ids.iter().filter(|p| !p.is_empty()) {
                writer.store_provider_id(&id, &connector, provider_id, now)?;
            }
            Ok(())
        })
        .await
    }

    async fn record_mo(&self, record: MoRecord) -> StoreResult<()> {
        self.write(move |writer| writer.record_mo(record)).await
    }

    async fn store_mo_part(&self, part: NewMoPart) -> StoreResult<i64> {
        self.write(move |writer| {
            writer
                .conn
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
            Ok(writer.conn.last_insert_rowid())
        })
        .await
    }

    async fn mo_parts(&self) -> StoreResult<Vec<StoredMoPart>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT seq, connector, pdu, received_at FROM mo_parts ORDER BY seq",
                )
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
        })
        .await
    }

    async fn release_outbox_claims(&self, node: &str) -> StoreResult<u64> {
        let node = node.to_string();
        self.write(move |writer| {
            writer
                .conn
                .prepare_cached(
                    "UPDATE outbox SET claimed_by = NULL, claimed_at = NULL WHERE claimed_by = ?1",
                )
                .and_then(|mut statement| statement.execute([&node]))
                .map(|released| released as u64)
                .map_err(backend)
        })
        .await
    }

    async fn purge_messages(&self, before: SystemTime, limit: u32) -> StoreResult<u64> {
        self.write(move |writer| {
            // Through the accepted_at index, oldest first; the foreign keys
            // take the traces, provider ids and outbox items along.
            writer
                .conn
                .prepare_cached(
                    "DELETE FROM messages WHERE id IN ( \
                       SELECT id FROM messages WHERE accepted_at < ?1 \
                         AND state NOT IN ('accepted', 'queued') \
                       ORDER BY accepted_at LIMIT ?2)",
                )
                .and_then(|mut statement| statement.execute(params![to_millis(before), limit]))
                .map(|purged| purged as u64)
                .map_err(backend)
        })
        .await
    }

    async fn purge_pending_receipts(&self, before: SystemTime) -> StoreResult<u64> {
        self.write(move |writer| {
            writer
                .conn
                .prepare_cached("DELETE FROM pending_receipts WHERE received_at < ?1")
                .and_then(|mut statement| statement.execute([to_millis(before)]))
                .map(|purged| purged as u64)
                .map_err(backend)
        })
        .await
    }

    // Admin users and tokens

    async fn create_admin_user(&self, name: &str, password_hash: &str) -> StoreResult<AdminUser> {
        let (name, password_hash) = (name.to_string(), password_hash.to_string());
        self.write(move |writer| {
            let created_at = to_millis(SystemTime::now());
            let inserted = writer
                .conn
                .prepare_cached(
                    "INSERT INTO admin_users (name, password_hash, created_at) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (name) DO NOTHING",
                )
                .and_then(|mut statement| {
                    statement.execute(params![name, password_hash, created_at])
                })
                .map_err(backend)?;
            if inserted == 0 {
                return Err(StoreError::AlreadyExists(format!("admin user {name}")));
            }
            Ok(AdminUser {
                name,
                password_hash,
                created_at: from_millis(created_at),
            })
        })
        .await
    }

    async fn admin_user(&self, name: &str) -> StoreResult<Option<AdminUser>> {
        let name = name.to_string();
        self.read(move |conn| {
            let mut statement = conn
                .prepare_cached(&format!(
                    "SELECT {ADMIN_USER_COLUMNS} FROM admin_users WHERE name = ?1"
                ))
                .map_err(backend)?;
            let mut rows = statement.query([&name]).map_err(backend)?;
            match rows.next().map_err(backend)? {
                Some(row) => admin_user_from_row(row).map(Some),
                None => Ok(None),
            }
        })
        .await
    }

    async fn admin_users(&self) -> StoreResult<Vec<AdminUser>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(&format!(
                    "SELECT {ADMIN_USER_COLUMNS} FROM admin_users ORDER BY name"
                ))
                .map_err(backend)?;
            let mut rows = statement.query([]).map_err(backend)?;
            let mut users = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                users.push(admin_user_from_row(row)?);
            }
            Ok(users)
        })
        .await
    }

    async fn set_admin_password_hash(&self, name: &str, hash: &str) -> StoreResult<()> {
        let (name, hash) = (name.to_string(), hash.to_string());
        self.write(move |writer| {
            let changed = writer
                .conn
                .prepare_cached("UPDATE admin_users SET password_hash = ?1 WHERE name = ?2")
                .and_then(|mut statement| statement.execute(params![hash, name]))
                .map_err(backend)?;
            if changed == 0 {
                return Err(StoreError::NotFound(format!("admin user {name}")));
            }
            Ok(())
        })
        .await
    }

    async fn delete_admin_user(&self, name: &str) -> StoreResult<()> {
        let name = name.to_string();
        self.write(move |writer| {
            let deleted = writer
                .conn
                .prepare_cached("DELETE FROM admin_users WHERE name = ?1")
                .and_then(|mut statement| statement.execute([&name]))
                .map_err(backend)?;
            if deleted == 0 {
                return Err(StoreError::NotFound(format!("admin user {name}")));
            }
            Ok(())
        })
        .await
    }

    async fn create_admin_token(&self, token: NewAdminToken) -> StoreResult<AdminToken> {
        self.write(move |writer| {
            let created_at = to_millis(SystemTime::now());
            let inserted = writer
                .conn
                .prepare_cached(
                    "INSERT INTO admin_tokens (id, token_hash, label, created_at) \
                     VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                )
                .and_then(|mut statement| {
                    statement.execute(params![token.id, token.token_hash, token.label, created_at])
                })
                .map_err(backend)?;
            if inserted == 0 {
                return Err(StoreError::AlreadyExists(format!(
                    "admin token {}",
                    token.id
                )));
            }
            Ok(AdminToken {
                id: token.id,
                label: token.label,
                created_at: from_millis(created_at),
                last_used_at: None,
            })
        })
        .await
    }

    async fn admin_tokens(&self) -> StoreResult<Vec<AdminToken>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(&format!(
                    "SELECT {ADMIN_TOKEN_COLUMNS} FROM admin_tokens ORDER BY created_at, id"
                ))
                .map_err(backend)?;
            let mut rows = statement.query([]).map_err(backend)?;
            let mut tokens = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                tokens.push(admin_token_from_row(row)?);
            }
            Ok(tokens)
        })
        .await
    }

    async fn revoke_admin_token(&self, id: &str) -> StoreResult<AdminToken> {
        let id = id.to_string();
        self.write(move |writer| {
            let mut statement = writer
                .conn
                .prepare_cached(&format!(
                    "DELETE FROM admin_tokens WHERE id = ?1 RETURNING {ADMIN_TOKEN_COLUMNS}"
                ))
                .map_err(backend)?;
            let mut rows = statement.query([&id]).map_err(backend)?;
            match rows.next().map_err(backend)? {
                Some(row) => admin_token_from_row(row),
                None => Err(StoreError::NotFound(format!("admin token {id}"))),
            }
        })
        .await
    }

    async fn admin_token_for_hash(
        &self,
        token_hash: &str,
        now: SystemTime,
    ) -> StoreResult<Option<AdminToken>> {
        let token_hash = token_hash.to_string();
        let token = self
            .read(move |conn| {
                let mut statement = conn
                    .prepare_cached(&format!(
                        "SELECT {ADMIN_TOKEN_COLUMNS} FROM admin_tokens WHERE token_hash = ?1"
                    ))
                    .map_err(backend)?;
                let mut rows = statement.query([&token_hash]).map_err(backend)?;
                match rows.next().map_err(backend)? {
                    Some(row) => admin_token_from_row(row).map(Some),
                    None => Ok(None),
                }
            })
            .await?;
        let Some(token) = token else {
            return Ok(None);
        };
        let now = to_millis(now);
        let last_used = token.last_used_at.map(to_millis);
        if last_used.is_none_or(|at| now.saturating_sub(at) >= LAST_USED_PRECISION_MS) {
            let id = token.id.clone();
            self.write_in_background(move |writer| {
                writer
                    .conn
                    .prepare_cached("UPDATE admin_tokens SET last_used_at = ?2 WHERE id = ?1")
                    .and_then(|mut statement| statement.execute(params![id, now]))
                    .map(drop)
                    .map_err(backend)
            });
        }
        Ok(Some(token))
    }

    // Message search (the admin API)

    async fn provider_ids(&self, id: &str) -> StoreResult<Vec<ProviderIdLink>> {
        let id = id.to_string();
        self.read(move |conn| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT connector, provider_id FROM provider_ids WHERE message_id = ?1 \
                     ORDER BY at, connector, provider_id",
                )
                .map_err(backend)?;
            let mut rows = statement.query([&id]).map_err(backend)?;
            let mut links = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                links.push(ProviderIdLink {
                    connector: column(row, "connector")?,
                    provider_id: column(row, "provider_id")?,
                });
            }
            Ok(links)
        })
        .await
    }

    async fn outbox_summary(&self) -> StoreResult<Vec<OutboxGroup>> {
        self.read(|conn| {
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
        })
        .await
    }

    // Trace switches

    async fn set_trace_switch(
        &self,
        kind: TraceKind,
        name: &str,
        until: SystemTime,
    ) -> StoreResult<TraceSwitch> {
        let name = name.to_string();
        self.write(move |writer| {
            writer
                .conn
                .prepare_cached(
                    "INSERT INTO trace_switches (kind, name, until) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (kind, name) DO UPDATE SET until = excluded.until",
                )
                .and_then(|mut statement| {
                    statement.execute(params![kind.as_str(), &name, to_millis(until)])
                })
                .map_err(backend)?;
            Ok(TraceSwitch {
                kind,
                name,
                until: from_millis(to_millis(until)),
            })
        })
        .await
    }

    async fn clear_trace_switch(&self, kind: TraceKind, name: &str) -> StoreResult<bool> {
        let name = name.to_string();
        self.write(move |writer| {
            writer
                .conn
                .prepare_cached("DELETE FROM trace_switches WHERE kind = ?1 AND name = ?2")
                .and_then(|mut statement| statement.execute(params![kind.as_str(), &name]))
                .map(|deleted| deleted > 0)
                .map_err(backend)
        })
        .await
    }

    async fn trace_switches(&self, now: SystemTime) -> StoreResult<Vec<TraceSwitch>> {
        self.read(move |conn| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT kind, name, until FROM trace_switches WHERE until > ?1 \
                     ORDER BY kind, name",
                )
                .map_err(backend)?;
            let mut rows = statement.query([to_millis(now)]).map_err(backend)?;
            let mut switches = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                let kind: String = column(row, "kind")?;
                switches.push(TraceSwitch {
                    kind: TraceKind::parse(&kind).ok_or_else(|| bad_column("kind", &kind))?,
                    name: column(row, "name")?,
                    until: from_millis(column(row, "until")?),
                });
            }
            Ok(switches)
        })
        .await
    }

    async fn close(&self) -> StoreResult<()> {
        let Some(thread) = self.shut_down_writer() else {
            return Ok(());
        };
        tokio::task::spawn_blocking(move || thread.join())
            .await
            .map_err(|error| StoreError::Backend(format!("closing the store failed: {error}")))?
            .map_err(|_| StoreError::Backend("the store's writer thread panicked".to_string()))
    }
}

/// The write connection and what the writer thread knows; lives on that thread.
struct Writer {
    conn: Connection,
    /// This node's name, for the trace events it writes.
    node: String,
}

impl Writer {
    /// The writer thread's loop: batch, commit, answer, until every sender is gone.
    fn run(self, mut queue: mpsc::Receiver<Box<dyn Job>>) {
        let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
        while let Some(first) = queue.blocking_recv() {
            batch.push(first);
            while batch.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            self.commit_batch(&mut batch);
        }
    }

    /// Runs a batch in one transaction and answers each job once its fate is known.
    fn commit_batch(&self, batch: &mut Vec<Box<dyn Job>>) {
        let failure = self.run_batch(batch).err().map(|error| {
            // The transaction may be half done (or already gone); either way
            // none of it may stay, and every job hears why.
            let _ = self.conn.execute_batch("ROLLBACK");
            tracing::error!(%error, jobs = batch.len(), "store: a write batch failed");
            error.to_string()
        });
        for job in batch.drain(..) {
            job.answer(failure.as_deref());
        }
    }

    fn run_batch(&self, batch: &mut [Box<dyn Job>]) -> rusqlite::Result<()> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        for job in batch.iter_mut() {
            job.run(self)?;
        }
        self.conn.execute_batch("COMMIT")
    }

    /// Runs one job's work in a savepoint: rolled back alone if it fails.
    /// The outer error is the savepoint machinery failing, which dooms the batch.
    fn in_savepoint<T>(
        &self,
        work: impl FnOnce(&Writer) -> StoreResult<T>,
    ) -> rusqlite::Result<StoreResult<T>> {
        self.conn.prepare_cached("SAVEPOINT job")?.execute([])?;
        let result = work(self);
        if result.is_err() {
            self.conn.prepare_cached("ROLLBACK TO job")?.execute([])?;
        }
        self.conn.prepare_cached("RELEASE job")?.execute([])?;
        Ok(result)
    }

    fn create_account(&self, account: NewAccount) -> StoreResult<Account> {
        let created_at = from_millis(to_millis(SystemTime::now()));
        let inserted = self
            .conn
            .prepare_cached(
                "INSERT INTO accounts (system_id, password_hash, enabled, credits, max_binds, tps, \
                 window, bind_types, allowed_ips, allowed_senders, default_sender, address_ranges, \
                 group_name, created_at) \
                 VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
                 ON CONFLICT (system_id) DO NOTHING",
            )
            .and_then(|mut statement| {
                statement.execute(params![
                    account.system_id,
                    account.password_hash,
                    account.credits,
                    account.max_binds,
                    account.tps,
                    account.window,
                    bind_types_json(&account.bind_types),
                    ips_json(&account.allowed_ips),
                    strings_json(&account.allowed_senders),
                    account.default_sender,
                    strings_json(&account.address_ranges),
                    account.group,
                    to_millis(created_at),
                ])
            })
            .map_err(backend)?;
        if inserted == 0 {
            return Err(StoreError::AlreadyExists(format!(
                "account {}",
                account.system_id
            )));
        }
        Ok(Account {
            system_id: account.system_id,
            password_hash: account.password_hash,
            enabled: true,
            credits: account.credits,
            max_binds: account.max_binds,
            tps: account.tps,
            window: account.window,
            bind_types: account.bind_types,
            allowed_ips: account.allowed_ips,
            allowed_senders: account.allowed_senders,
            default_sender: account.default_sender,
            address_ranges: account.address_ranges,
            group: account.group,
            callback_url: None,
            created_at,
        })
    }

    fn update_account(&self, system_id: &str, patch: AccountPatch) -> StoreResult<Account> {
        let mut account =
            load_account(&self.conn, system_id)?.ok_or_else(|| account_not_found(system_id))?;
        patch.apply_to(&mut account);
        self.conn
            .prepare_cached(
                "UPDATE accounts SET enabled = ?2, max_binds = ?3, tps = ?4, window = ?5, \
                 bind_types = ?6, allowed_ips = ?7, allowed_senders = ?8, default_sender = ?9, \
                 address_ranges = ?10, group_name = ?11, callback_url = ?12 WHERE system_id = ?1",
            )
            .and_then(|mut statement| {
                statement.execute(params![
                    account.system_id,
                    account.enabled,
                    account.max_binds,
                    account.tps,
                    account.window,
                    bind_types_json(&account.bind_types),
                    ips_json(&account.allowed_ips),
                    strings_json(&account.allowed_senders),
                    account.default_sender,
                    strings_json(&account.address_ranges),
                    account.group,
                    account.callback_url,
                ])
            })
            .map_err(backend)?;
        Ok(account)
    }

    /// Adds `delta` unless that would take the balance below zero.
    fn add_credits(&self, system_id: &str, delta: i64) -> StoreResult<i64> {
        let balance: Option<i64> = self
            .conn
            .prepare_cached(
                "UPDATE accounts SET credits = credits + ?2 \
                 WHERE system_id = ?1 AND credits + ?2 >= 0 RETURNING credits",
            )
            .and_then(|mut statement| {
                statement
                    .query_row(params![system_id, delta], |row| row.get(0))
                    .optional()
            })
            .map_err(backend)?;
        if let Some(balance) = balance {
            return Ok(balance);
        }
        match self.balance(system_id)? {
            None => Err(account_not_found(system_id)),
            Some(balance) => Err(StoreError::Backend(format!(
                "the credits of account {system_id} cannot go below zero \
                 (balance {balance}, change {delta})"
            ))),
        }
    }

    fn balance(&self, system_id: &str) -> StoreResult<Option<i64>> {
        self.conn
            .prepare_cached("SELECT credits FROM accounts WHERE system_id = ?1")
            .and_then(|mut statement| {
                statement
                    .query_row([system_id], |row| row.get(0))
                    .optional()
            })
            .map_err(backend)
    }

    /// See [`Store::create_api_key`].
    fn create_api_key(&self, key: NewApiKey) -> StoreResult<ApiKey> {
        if self.balance(&key.account)?.is_none() {
            return Err(account_not_found(&key.account));
        }
        let created_at = from_millis(to_millis(SystemTime::now()));
        let inserted = self
            .conn
            .prepare_cached(
                "INSERT INTO api_keys (id, account, key_hash, label, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
            )
            .and_then(|mut statement| {
                statement.execute(params![
                    key.id,
                    key.account,
                    key.key_hash,
                    key.label,
                    to_millis(created_at)
                ])
            })
            .map_err(backend)?;
        if inserted == 0 {
            return Err(StoreError::AlreadyExists(format!("API key {}", key.id)));
        }
        Ok(ApiKey {
            id: key.id,
            account: key.account,
            label: key.label,
            created_at,
            last_used_at: None,
        })
    }

    /// Charges and stores a message; see [`Store::accept`].
    fn accept(&self, message: &NewMessage) -> StoreResult<AcceptOutcome> {
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
    fn claim_due(
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

    fn record_submit_result(
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
                self.leave_queued(
                    id,
                    "UPDATE messages SET state = 'submitted', claimed_by = NULL, \
                     claimed_at = NULL, connector = ?2, attempts = ?3 \
                     WHERE id = ?1 AND state = 'queued'",
                    connector,
                    number,
                )?;
                self.trace(
                    id,
                    now,
                    "submitted",
                    &format!("connector {connector} took it as {provider_id:?}: {detail} {tried}"),
                )?;
                self.queue_callback(id, MessageState::Submitted, MessageState::Accepted, "", now)?;
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
                self.leave_queued(
                    id,
                    "UPDATE messages SET state = 'rejected', connector = ?2, attempts = ?3 \
                     WHERE id = ?1 AND state = 'queued'",
                    connector,
                    number,
                )?;
                self.trace(
                    id,
                    now,
                    "rejected",
                    &format!("connector {connector}: {detail} {tried}"),
                )?;
                self.queue_receipt(id, &ReceiptStat::Rejected, "", now)?;
                self.queue_callback(id, MessageState::Rejected, MessageState::Accepted, "", now)?;
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

    /// Runs `update` (parameters: id, connector, attempts) on a message
    /// that must be `queued`; an error if it is not.
    fn leave_queued(
        &self,
        id: &str,
        update: &str,
        connector: &str,
        number: u32,
    ) -> StoreResult<()> {
        let changed = self
            .conn
            .prepare_cached(update)
            .and_then(|mut statement| statement.execute(params![id, connector, number]))
            .map_err(backend)?;
        if changed == 0 {
            return Err(not_queued(id));
        }
        Ok(())
    }

    /// Links a provider id to a message, then applies the receipts that
    /// came for it before this answer did.
    fn store_provider_id(
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
        early.sort_by_key(|(seq, ..)| *seq);
        for (_, stat, err, received_at) in early {
            let stat = ReceiptStat::from_word(&stat);
            self.apply_known_receipt(id, connector, provider_id, &stat, &err, received_at)?;
        }
        Ok(())
    }

    fn apply_receipt(
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
        let ended = match receipt_state(stat) {
            Some(state) => {
                let changed = self
                    .conn
                    .prepare_cached(
                        "UPDATE messages SET state = ?2 WHERE id = ?1 AND state = 'submitted'",
                    )
                    .and_then(|mut statement| statement.execute(params![id, state.as_str()]))
                    .map_err(backend)?
                    > 0;
                if changed {
                    self.queue_callback(id, state, MessageState::Submitted, err, at)?;
                }
                changed
            }
            None => false,
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
        if ended
            || (!stat.is_final() && matches!(stat, ReceiptStat::Enroute | ReceiptStat::Accepted))
        {
            self.queue_receipt(id, stat, err, at)?;
        }
        Ok(())
    }

    /// Queues a status event for message `id`'s callback URL, if it has
    /// one (HTTP API customers): in the writer's transaction, with the
    /// state change it reports; posted in order by the webhook courier.
    /// `previous` is the state the customer was last told of: `accepted`
    /// (the API's answer) before the first event, `submitted` after it
    /// (the internal `queued` is never an event).
    fn queue_callback(
        &self,
        id: &str,
        state: MessageState,
        previous: MessageState,
        err: &str,
        now: SystemTime,
    ) -> StoreResult<()> {
        let row: Option<(String, Option<String>, Option<String>)> = self
            .conn
            .prepare_cached("SELECT account, callback_url, client_ref FROM messages WHERE id = ?1")
            .and_then(|mut statement| {
                statement
                    .query_row([id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
                    .optional()
            })
            .map_err(backend)?;
        let Some((account, Some(url), client_ref)) = row else {
            return Ok(());
        };
        let event = outbox::webhooks::StoredCallback {
            url,
            account,
            id: id.to_string(),
            state: state.as_str().to_string(),
            previous_state: Some(previous.as_str().to_string()),
            err: (!err.is_empty()).then(|| err.to_string()),
            at: to_millis(now),
            client_ref,
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
    fn queue_receipt(
        &self,
        id: &str,
        stat: &ReceiptStat,
        err: &str,
        now: SystemTime,
    ) -> StoreResult<()> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT account, registered_delivery, source_ton, source_npi, source_addr, \
                 dest_ton, dest_npi, dest_addr, data_coding, esm_class, payload, accepted_at, \
                 direction FROM messages WHERE id = ?1",
            )
            .and_then(|mut statement| {
                statement
                    .query_row([id], |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, i64>(1)?,
                            StoredAddress {
                                ton: row.get(2)?,
                                npi: row.get(3)?,
                                addr: row.get(4)?,
                            },
                            StoredAddress {
                                ton: row.get(5)?,
                                npi: row.get(6)?,
                                addr: row.get(7)?,
                            },
                            row.get::<_, i64>(8)?,
                            row.get::<_, i64>(9)?,
                            row.get::<_, Vec<u8>>(10)?,
                            row.get::<_, i64>(11)?,
                            row.get::<_, String>(12)?,
                        ))
                    })
                    .optional()
            })
            .map_err(backend)?;
        let Some((
            account,
            registered,
            source,
            destination,
            data_coding,
            esm_class,
            payload,
            accepted_at,
            direction,
        )) = row
        else {
            return Ok(());
        };
        let registered = u8::try_from(registered).unwrap_or(0);
        if direction != "mt" || !outbox::wants_receipt(registered, stat) {
            return Ok(());
        }
        let subject = outbox::ReceiptSubject {
            id,
            source: &source,
            destination: &destination,
            data_coding: u8::try_from(data_coding).unwrap_or(0),
            esm_class: u8::try_from(esm_class).unwrap_or(0),
            payload: &payload,
            accepted_at: from_millis(accepted_at),
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
                statement.execute(params![account, id, pdu.as_ref(), to_millis(now)])
            })
            .map_err(backend)?;
        self.trace(
            id,
            now,
            "receipt queued",
            &format!("stat {} for account {account}", stat.as_str()),
        )
    }

    fn claim_outbox(
        &self,
        node: &str,
        accounts: &str,
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
                   WHERE account IN (SELECT value FROM json_each(?3)) \
                     AND next_attempt_at <= ?2 \
                     AND (claimed_by IS NULL OR claimed_at <= ?4) \
                     AND NOT EXISTS (SELECT 1 FROM outbox AS earlier \
                       WHERE earlier.message_id = outbox.message_id AND earlier.seq < outbox.seq) \
                   ORDER BY seq LIMIT ?5) \
                 RETURNING seq, account, kind, message_id, pdu, created_at, attempts",
            )
            .map_err(backend)?;
        let mut items = statement
            .query_map(
                params![node, to_millis(now), accounts, lapsed, limit],
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
            .map_err(backend)?
            .into_iter()
            .filter_map(
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
            )
            .collect::<Vec<_>>();
        items.sort_by_key(|item| item.seq);
        Ok(items)
    }

    fn finish_outbox(
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

    fn record_mo(&self, record: MoRecord) -> StoreResult<()> {
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

    fn expire_outbox(&self, before: SystemTime, now: SystemTime) -> StoreResult<u64> {
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

    fn expire_due(&self, now: SystemTime) -> StoreResult<u64> {
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
        self.queue_receipt(id, &ReceiptStat::Expired, "", now)?;
        self.queue_callback(id, MessageState::Expired, MessageState::Accepted, "", now)
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

    /// Appends a trace event written by this node.
    fn trace(&self, id: &str, at: SystemTime, kind: &str, detail: &str) -> StoreResult<()> {
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
}

/// A write waiting in the queue, its result type erased so one queue holds all kinds.
trait Job: Send {
    /// Runs the work in its own savepoint; an error here dooms the whole batch.
    fn run(&mut self, writer: &Writer) -> rusqlite::Result<()>;
    /// Answers the caller: the work's result if the batch committed, else why it did not.
    fn answer(self: Box<Self>, batch_failure: Option<&str>);
}

struct PendingWrite<T, F> {
    work: Option<F>,
    result: Option<StoreResult<T>>,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> Job for PendingWrite<T, F>
where
    T: Send,
    F: FnOnce(&Writer) -> StoreResult<T> + Send,
{
    fn run(&mut self, writer: &Writer) -> rusqlite::Result<()> {
        if let Some(work) = self.work.take() {
            self.result = Some(writer.in_savepoint(work)?);
        }
        Ok(())
    }

    fn answer(self: Box<Self>, batch_failure: Option<&str>) {
        let result = match (batch_failure, self.result) {
            (None, Some(result)) => result,
            (Some(why), _) => Err(StoreError::Backend(why.to_string())),
            (None, None) => Err(StoreError::Backend(
                "the write was not run before its batch committed".to_string(),
            )),
        };
        // The caller may have stopped waiting (its task was cancelled); the
        // write stands either way.
        let _ = self.reply.send(result);
    }
}

/// Read-only connections, handed out round robin.
struct ReaderPool {
    connections: Vec<Mutex<Connection>>,
    next: AtomicUsize,
}

impl ReaderPool {
    fn with<T>(&self, read: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.connections.len();
        let conn = lock(&self.connections[index]);
        read(&conn)
    }
}

/// Locks a mutex whose data stays valid even if a holder panicked (a
/// connection or a channel end has no invariant a panic could break).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn configure_writer(conn: &Connection, path: &Path) -> StoreResult<()> {
    let failed = |error: rusqlite::Error| {
        StoreError::Backend(format!("cannot configure {}: {error}", path.display()))
    };
    conn.busy_timeout(BUSY_TIMEOUT).map_err(failed)?;
    // Room for every statement the writer runs, so none is ever re-prepared.
    conn.set_prepared_statement_cache_capacity(64);
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "wal", |row| row.get(0))
        .map_err(failed)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Backend(format!(
            "{} refused WAL mode (it stays in {mode} mode); is it on a network file system?",
            path.display()
        )));
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(failed)?;
    // Each job of a batch runs in a savepoint, whose rollback journal (the
    // sub-journal) would otherwise be a temporary file written page by page:
    // a third of the writer's time under load. It only ever serves a
    // rollback inside the open transaction, so memory loses nothing; the
    // WAL (synchronous=FULL) is what makes a commit durable.
    conn.pragma_update(None, "temp_store", "MEMORY")
        .map_err(failed)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(failed)
}

/// Brings the schema up to date in one transaction (so a crash mid-way
/// leaves the old version), serialised against other processes opening the
/// same file by the IMMEDIATE lock.
fn migrate(conn: &mut Connection, path: &Path) -> StoreResult<()> {
    let failed = |error: rusqlite::Error| {
        StoreError::Backend(format!("cannot migrate {}: {error}", path.display()))
    };
    let transaction = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(failed)?;
    let version: i64 = transaction
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(failed)?;
    let applied = usize::try_from(version).unwrap_or(usize::MAX);
    let Some(pending) = MIGRATIONS.get(applied..) else {
        return Err(StoreError::Backend(format!(
            "{} has schema version {version}, newer than this smsgate knows ({}): \
             run a newer smsgate on it",
            path.display(),
            MIGRATIONS.len()
        )));
    };
    for migration in pending {
        transaction.execute_batch(migration).map_err(failed)?;
    }
    transaction
        .pragma_update(
            None,
            "user_version",
            i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX),
        )
        .map_err(failed)?;
    transaction.commit().map_err(failed)
}

fn load_account(conn: &Connection, system_id: &str) -> StoreResult<Option<Account>> {
    let mut statement = conn
        .prepare_cached(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE system_id = ?1"
        ))
        .map_err(backend)?;
    let mut rows = statement.query([system_id]).map_err(backend)?;
    match rows.next().map_err(backend)? {
        Some(row) => account_from_row(row).map(Some),
        None => Ok(None),
    }
}

fn account_from_row(row: &Row<'_>) -> StoreResult<Account> {
    let bind_types = json_strings(row, "bind_types")?
        .iter()
        .map(|name| BindType::parse(name).ok_or_else(|| bad_column("bind_types", name)))
        .collect::<StoreResult<Vec<_>>>()?;
    let allowed_ips = json_strings(row, "allowed_ips")?
        .iter()
        .map(|net| {
            net.parse::<IpNet>()
                .map_err(|_| bad_column("allowed_ips", net))
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Account {
        system_id: column(row, "system_id")?,
        password_hash: column(row, "password_hash")?,
        enabled: column(row, "enabled")?,
        credits: column(row, "credits")?,
        max_binds: int_column(row, "max_binds")?,
        tps: column::<Option<i64>>(row, "tps")?
            .map(|tps| u32::try_from(tps).map_err(|_| bad_column("tps", tps)))
            .transpose()?,
        window: int_column(row, "window")?,
        bind_types,
        allowed_ips,
        allowed_senders: json_strings(row, "allowed_senders")?,
        default_sender: column(row, "default_sender")?,
        address_ranges: json_strings(row, "address_ranges")?,
        group: column(row, "group_name")?,
        callback_url: column(row, "callback_url")?,
        created_at: from_millis(column(row, "created_at")?),
    })
}

fn admin_user_from_row(row: &Row<'_>) -> StoreResult<AdminUser> {
    Ok(AdminUser {
        name: column(row, "name")?,
        password_hash: column(row, "password_hash")?,
        created_at: from_millis(column(row, "created_at")?),
    })
}

fn admin_token_from_row(row: &Row<'_>) -> StoreResult<AdminToken> {
    Ok(AdminToken {
        id: column(row, "id")?,
        label: column(row, "label")?,
        created_at: from_millis(column(row, "created_at")?),
        last_used_at: column::<Option<i64>>(row, "last_used_at")?.map(from_millis),
    })
}

fn api_key_from_row(row: &Row<'_>) -> StoreResult<ApiKey> {
    Ok(ApiKey {
        id: column(row, "id")?,
        account: column(row, "account")?,
        label: column(row, "label")?,
        created_at: from_millis(column(row, "created_at")?),
        last_used_at: column::<Option<i64>>(row, "last_used_at")?.map(from_millis),
    })
}

fn load_message(conn: &Connection, id: &str) -> StoreResult<Option<MessageRecord>> {
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

fn list_messages(conn: &Connection, filter: MessageFilter) -> StoreResult<Vec<MessageRecord>> {
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

/// SQLite integers are signed; a session id keeps its 64 bits by reinterpretation.
fn session_to_sql(id: u64) -> i64 {
    i64::from_ne_bytes(id.to_ne_bytes())
}

fn column<T: FromSql>(row: &Row<'_>, name: &str) -> StoreResult<T> {
    row.get(name)
        .map_err(|error| StoreError::Backend(format!("column {name}: {error}")))
}

/// An integer column that must fit a narrower type (a u8 esm_class, a u32 window).
fn int_column<T: TryFrom<i64>>(row: &Row<'_>, name: &str) -> StoreResult<T> {
    let value: i64 = column(row, name)?;
    T::try_from(value).map_err(|_| bad_column(name, value))
}

fn json_strings(row: &Row<'_>, name: &str) -> StoreResult<Vec<String>> {
    let text: String = column(row, name)?;
    serde_json::from_str(&text).map_err(|_| bad_column(name, &text))
}

fn bad_column(name: &str, value: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("column {name} holds an invalid value: {value}"))
}

fn strings_json(items: &[String]) -> String {
    serde_json::Value::from(items.to_vec()).to_string()
}

fn bind_types_json(types: &[BindType]) -> String {
    serde_json::Value::from(types.iter().map(|t| t.as_str()).collect::<Vec<_>>()).to_string()
}

fn ips_json(nets: &[IpNet]) -> String {
    serde_json::Value::from(nets.iter().map(IpNet::to_string).collect::<Vec<_>>()).to_string()
}

fn backend(error: rusqlite::Error) -> StoreError {
    StoreError::Backend(error.to_string())
}

fn not_queued(id: &str) -> StoreError {
    StoreError::NotFound(format!("message {id} in state queued"))
}

fn account_not_found(system_id: &str) -> StoreError {
    StoreError::NotFound(format!("account {system_id}"))
}

/// Unix milliseconds, negative before 1970, saturating far out.
fn to_millis(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    }
}

fn from_millis(millis: i64) -> SystemTime {
    let offset = Duration::from_millis(millis.unsigned_abs());
    let time = if millis >= 0 {
        UNIX_EPOCH.checked_add(offset)
    } else {
        UNIX_EPOCH.checked_sub(offset)
    };
    time.unwrap_or(UNIX_EPOCH)
}

/// The host's name, or `local` when it cannot be read.
fn default_node_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|file| {
            std::fs::read_to_string(file)
                .ok()
                .map(|name| name.trim().to_string())
                .filter(|name| !name.is_empty())
        })
        .unwrap_or_else(|| "local".to_string())
}
