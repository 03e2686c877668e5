//! The single-node store: one SQLite file in WAL mode.
//!
//! Writes go to ONE writer thread that owns the write connection and does
//! group commit: it blocks for the first queued write, drains whatever else
//! is queued (up to [`MAX_BATCH`]), runs them all in one transaction, commits
//! (an fsync with `synchronous=FULL`), and only then answers every caller.
//! There is no timer: while one commit's fsync runs, the next batch queues
//! up by itself, so a busy gateway commits hundreds of messages per fsync and
//! an idle one commits each message at once. The writes of a batch run
//! straight into its transaction; if one fails, the batch is rolled back
//! and run again with each write in its own SAVEPOINT, so one failing write
//! is rolled back alone and does not take the rest of its batch with it.
//!
//! Reads run on a small pool of read-only connections via `spawn_blocking`;
//! WAL lets them read the last commit while the writer writes.
//!
//! The file is the whole state, so the CLI can open it while the server runs
//! (SQLite's locks and the busy timeout serialise their writers).

mod accounts;
mod admin;
mod checkpoint;
mod messages;
mod outbox;
mod receipts;
mod sql;
mod writer;

use std::path::Path;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags};
use tokio::sync::{mpsc, oneshot};

use smpp::receipt::ReceiptStat;

use crate::delivery::outbox::{OutboxItem, OutboxKind, OutboxResult};

use super::{
    AcceptOutcome, Account, AccountPatch, AdminToken, AdminUser, ApiKey, Attempt, AttemptResult,
    ClaimedMessage, MessageFilter, MessageRecord, MoRecord, NewAccount, NewAdminToken, NewApiKey,
    NewMessage, NewMoPart, OutboxGroup, ProviderIdLink, QueueDepths, Store, StoreError,
    StoreResult, StoredMoPart, TraceEvent,
};
use super::{IdempotencyClaim, IpBlock, Surface, TraceKind, TraceSwitch};
use sql::to_millis;
use writer::{Job, MAX_BATCH, PendingWrite, ReaderPool, Writer, configure_writer, migrate};

/// Writes waiting for the writer thread; past this, callers wait to enqueue
/// (backpressure instead of unbounded memory).
const WRITE_QUEUE_DEPTH: usize = 4 * MAX_BATCH;

/// Read-only connections; reads are short, a few cover a 2–8 core machine.
const READERS: usize = 4;

/// How long a connection waits for another process's lock (e.g. the CLI
/// writing while the server runs) before it reports the database busy.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// An API key's last use is written again only once it is this much older.
const LAST_USED_PRECISION_MS: i64 = 60 * 1000;

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
            checkpoints: checkpoint::Checkpoints::start(path)?,
            pending_receipts: std::cell::Cell::new(None),
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
        F: FnMut(&Writer) -> StoreResult<T> + Send + 'static,
    {
        let sender = lock(&self.writes).clone().ok_or(StoreError::Closed)?;
        let (reply, answer) = oneshot::channel();
        let job = Box::new(PendingWrite {
            work,
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
        F: FnMut(&Writer) -> StoreResult<()> + Send + 'static,
    {
        let Some(sender) = lock(&self.writes).clone() else {
            return;
        };
        let (reply, _) = oneshot::channel();
        let _ = sender.try_send(Box::new(PendingWrite {
            work,
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
        self.write(move |writer| writer.create_account(account.clone()))
            .await
    }

    async fn account(&self, system_id: &str) -> StoreResult<Option<Account>> {
        let system_id = system_id.to_string();
        self.read(move |conn| accounts::load_account(conn, &system_id))
            .await
    }

    async fn accounts(&self) -> StoreResult<Vec<Account>> {
        self.read(accounts::list_accounts).await
    }

    async fn update_account(&self, system_id: &str, patch: AccountPatch) -> StoreResult<Account> {
        let system_id = system_id.to_string();
        self.write(move |writer| writer.update_account(&system_id, patch.clone()))
            .await
    }

    async fn set_password_hash(&self, system_id: &str, hash: &str) -> StoreResult<()> {
        let (system_id, hash) = (system_id.to_string(), hash.to_string());
        self.write(move |writer| writer.set_password_hash(&system_id, &hash))
            .await
    }

    async fn add_credits(&self, system_id: &str, delta: i64) -> StoreResult<i64> {
        let system_id = system_id.to_string();
        self.write(move |writer| writer.add_credits(&system_id, delta))
            .await
    }

    async fn delete_account(&self, system_id: &str) -> StoreResult<()> {
        let system_id = system_id.to_string();
        self.write(move |writer| writer.delete_account(&system_id))
            .await
    }

    async fn create_api_key(&self, key: NewApiKey) -> StoreResult<ApiKey> {
        self.write(move |writer| writer.create_api_key(key.clone()))
            .await
    }

    async fn api_keys(&self, account: &str) -> StoreResult<Vec<ApiKey>> {
        let account = account.to_string();
        self.read(move |conn| accounts::list_api_keys(conn, &account))
            .await
    }

    async fn revoke_api_key(&self, id: &str) -> StoreResult<ApiKey> {
        let id = id.to_string();
        self.write(move |writer| writer.revoke_api_key(&id)).await
    }

    async fn account_for_api_key(
        &self,
        key_hash: &str,
        now: SystemTime,
    ) -> StoreResult<Option<Account>> {
        let key_hash = key_hash.to_string();
        let found = self
            .read(move |conn| accounts::api_key_account(conn, &key_hash))
            .await?;
        let Some((id, last_used, account)) = found else {
            return Ok(None);
        };
        let now = to_millis(now);
        if last_used.is_none_or(|at| now.saturating_sub(at) >= LAST_USED_PRECISION_MS) {
            self.write_in_background(move |writer| writer.touch_api_key(&id, now));
        }
        Ok(Some(account))
    }

    async fn accept(&self, message: NewMessage) -> StoreResult<AcceptOutcome> {
        self.write(move |writer| writer.accept(&message)).await
    }

    async fn message(&self, id: &str) -> StoreResult<Option<MessageRecord>> {
        let id = id.to_string();
        self.read(move |conn| messages::load_message(conn, &id))
            .await
    }

    async fn messages(&self, filter: MessageFilter) -> StoreResult<Vec<MessageRecord>> {
        self.read(move |conn| messages::list_messages(conn, filter))
            .await
    }

    async fn queue_depths(&self) -> StoreResult<QueueDepths> {
        self.read(messages::queue_depths).await
    }

    async fn add_trace_event(&self, id: &str, event: TraceEvent) -> StoreResult<()> {
        let id = id.to_string();
        self.write(move |writer| writer.add_trace_event(&id, event.clone()))
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
        self.write(move |writer| writer.release_claims(&node)).await
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
            writer.record_submit_result(&id, attempt, result.clone(), &detail, now)
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
        self.write(move |writer| writer.record_failure(&id, &reason, refund, now))
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
        accounts: &[(String, u32)],
        limit: u32,
        now: SystemTime,
    ) -> StoreResult<Vec<OutboxItem>> {
        let node = node.to_string();
        let accounts = accounts.to_vec();
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
        self.write(move |writer| writer.finish_outbox(seq, &message_id, kind, result.clone(), now))
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
        self.write(move |writer| writer.add_provider_ids(&id, &connector, &provider_ids, now))
            .await
    }

    async fn record_mo(&self, record: MoRecord) -> StoreResult<()> {
        self.write(move |writer| writer.record_mo(record.clone()))
            .await
    }

    async fn store_mo_part(&self, part: NewMoPart) -> StoreResult<i64> {
        self.write(move |writer| writer.store_mo_part(part.clone()))
            .await
    }

    async fn mo_parts(&self) -> StoreResult<Vec<StoredMoPart>> {
        self.read(outbox::list_mo_parts).await
    }

    async fn release_outbox_claims(&self, node: &str) -> StoreResult<u64> {
        let node = node.to_string();
        self.write(move |writer| writer.release_outbox_claims(&node))
            .await
    }

    async fn purge_messages(&self, before: SystemTime, limit: u32) -> StoreResult<u64> {
        self.write(move |writer| writer.purge_messages(before, limit))
            .await
    }

    async fn purge_pending_receipts(&self, before: SystemTime) -> StoreResult<u64> {
        self.write(move |writer| writer.purge_pending_receipts(before))
            .await
    }

    // Admin users and tokens

    async fn create_admin_user(&self, name: &str, password_hash: &str) -> StoreResult<AdminUser> {
        let (name, password_hash) = (name.to_string(), password_hash.to_string());
        self.write(move |writer| writer.create_admin_user(name.clone(), password_hash.clone()))
            .await
    }

    async fn admin_user(&self, name: &str) -> StoreResult<Option<AdminUser>> {
        let name = name.to_string();
        self.read(move |conn| admin::load_admin_user(conn, &name))
            .await
    }

    async fn admin_users(&self) -> StoreResult<Vec<AdminUser>> {
        self.read(admin::list_admin_users).await
    }

    async fn set_admin_password_hash(&self, name: &str, hash: &str) -> StoreResult<()> {
        let (name, hash) = (name.to_string(), hash.to_string());
        self.write(move |writer| writer.set_admin_password_hash(&name, &hash))
            .await
    }

    async fn delete_admin_user(&self, name: &str) -> StoreResult<()> {
        let name = name.to_string();
        self.write(move |writer| writer.delete_admin_user(&name))
            .await
    }

    async fn create_admin_token(&self, token: NewAdminToken) -> StoreResult<AdminToken> {
        self.write(move |writer| writer.create_admin_token(token.clone()))
            .await
    }

    async fn admin_tokens(&self) -> StoreResult<Vec<AdminToken>> {
        self.read(admin::list_admin_tokens).await
    }

    async fn revoke_admin_token(&self, id: &str) -> StoreResult<AdminToken> {
        let id = id.to_string();
        self.write(move |writer| writer.revoke_admin_token(&id))
            .await
    }

    async fn admin_token_for_hash(
        &self,
        token_hash: &str,
        now: SystemTime,
    ) -> StoreResult<Option<AdminToken>> {
        let token_hash = token_hash.to_string();
        let token = self
            .read(move |conn| admin::admin_token_for_hash(conn, &token_hash))
            .await?;
        let Some(token) = token else {
            return Ok(None);
        };
        let now = to_millis(now);
        let last_used = token.last_used_at.map(to_millis);
        if last_used.is_none_or(|at| now.saturating_sub(at) >= LAST_USED_PRECISION_MS) {
            let id = token.id.clone();
            self.write_in_background(move |writer| writer.touch_admin_token(&id, now));
        }
        Ok(Some(token))
    }

    // Message search (the admin API)

    async fn provider_ids(&self, id: &str) -> StoreResult<Vec<ProviderIdLink>> {
        let id = id.to_string();
        self.read(move |conn| receipts::list_provider_ids(conn, &id))
            .await
    }

    async fn outbox_summary(&self) -> StoreResult<Vec<OutboxGroup>> {
        self.read(outbox::outbox_summary).await
    }

    // Trace switches

    async fn set_trace_switch(
        &self,
        kind: TraceKind,
        name: &str,
        until: SystemTime,
    ) -> StoreResult<TraceSwitch> {
        let name = name.to_string();
        self.write(move |writer| writer.set_trace_switch(kind, name.clone(), until))
            .await
    }

    async fn clear_trace_switch(&self, kind: TraceKind, name: &str) -> StoreResult<bool> {
        let name = name.to_string();
        self.write(move |writer| writer.clear_trace_switch(kind, &name))
            .await
    }

    async fn trace_switches(&self, now: SystemTime) -> StoreResult<Vec<TraceSwitch>> {
        self.read(move |conn| admin::list_trace_switches(conn, now))
            .await
    }

    async fn claim_idempotency_key(
        &self,
        account: &str,
        key: &str,
        request_hash: Vec<u8>,
        now: SystemTime,
        stale_before: SystemTime,
        expired_before: SystemTime,
    ) -> StoreResult<IdempotencyClaim> {
        let (account, key) = (account.to_string(), key.to_string());
        self.write(move |writer| {
            writer.claim_idempotency_key(
                &account,
                &key,
                &request_hash,
                now,
                stale_before,
                expired_before,
            )
        })
        .await
    }

    async fn finish_idempotency_key(
        &self,
        account: &str,
        key: &str,
        status: u16,
        body: Vec<u8>,
    ) -> StoreResult<()> {
        let (account, key) = (account.to_string(), key.to_string());
        self.write(move |writer| writer.finish_idempotency_key(&account, &key, status, &body))
            .await
    }

    async fn release_idempotency_key(&self, account: &str, key: &str) -> StoreResult<()> {
        let (account, key) = (account.to_string(), key.to_string());
        self.write(move |writer| writer.release_idempotency_key(&account, &key))
            .await
    }

    async fn put_ip_blocks(&self, blocks: Vec<IpBlock>) -> StoreResult<()> {
        let now = SystemTime::now();
        self.write(move |writer| writer.put_ip_blocks(&blocks, now))
            .await
    }

    async fn ip_blocks(&self, now: SystemTime) -> StoreResult<Vec<IpBlock>> {
        self.read(move |conn| admin::list_ip_blocks(conn, now))
            .await
    }

    async fn delete_ip_blocks(
        &self,
        address: std::net::IpAddr,
        surface: Option<Surface>,
    ) -> StoreResult<u64> {
        self.write(move |writer| writer.delete_ip_blocks(address, surface))
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

/// Locks a mutex whose data stays valid even if a holder panicked (a
/// connection or a channel end has no invariant a panic could break).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
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
