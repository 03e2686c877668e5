//! The writer thread and its plumbing: the one write connection, the batch
//! loop that commits a queue of writes in one transaction (savepoints only
//! when one of them fails), the pool of read-only connections, and the schema migrations.

use std::cell::Cell;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use crate::store::{StoreError, StoreResult};

use super::checkpoint::{Checkpoints, passive_checkpoint};
use super::{BUSY_TIMEOUT, lock};

/// The schema, one plain SQL file per version; `PRAGMA user_version` holds
/// how many of them the file has had applied.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_dispatch.sql"),
    include_str!("../migrations/0003_outbox.sql"),
    include_str!("../migrations/0004_api.sql"),
    include_str!("../migrations/0005_callbacks.sql"),
    include_str!("../migrations/0006_admin.sql"),
    include_str!("../migrations/0007_trace.sql"),
    include_str!("../migrations/0008_tags.sql"),
    include_str!("../migrations/0009_account_callback.sql"),
    include_str!("../migrations/0010_mo_parts.sql"),
    include_str!("../migrations/0011_deliver_window.sql"),
    include_str!("../migrations/0012_ip_blocks.sql"),
    include_str!("../migrations/0013_idempotency.sql"),
];

/// At most this many writes share one transaction, so one commit's latency
/// stays bounded however deep the queue gets.
pub(super) const MAX_BATCH: usize = 1024;

/// The writer's page cache, in KiB (as `PRAGMA cache_size` takes it: negative).
const WRITER_CACHE_KIB: i64 = -64 * 1024;

/// The write connection and what the writer thread knows; lives on that thread.
pub(super) struct Writer {
    pub(super) conn: Connection,
    /// This node's name, for the trace events it writes.
    pub(super) node: String,
    /// The checkpointer thread, told of each commit.
    pub(super) checkpoints: Checkpoints,
    /// How many receipts wait for their provider id, if known (see
    /// `may_have_pending_receipts`); forgotten at every rollback.
    pub(super) pending_receipts: Cell<Option<u64>>,
}

impl Writer {
    /// The writer thread's loop: batch, commit, answer, until every sender is gone.
    pub(super) fn run(self, mut queue: mpsc::Receiver<Box<dyn Job>>) {
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
            self.pending_receipts.set(None);
            tracing::error!(%error, jobs = batch.len(), "store: a write batch failed");
            error.to_string()
        });
        for job in batch.drain(..) {
            job.answer(failure.as_deref());
        }
        if failure.is_none() && self.checkpoints.after_commit() {
            // See the checkpoint module: finishing the checkpoint here lets
            // the next batch start the log over.
            if let Err(error) = passive_checkpoint(&self.conn) {
                tracing::warn!(%error, "store: a WAL checkpoint failed");
            }
        }
    }

    /// Runs the batch optimistically: every job straight into the
    /// transaction, no savepoints (a savepoint copies each page a job
    /// touches, a tenth of the writer's time under load). Jobs fail rarely
    /// (a message no longer `queued`, a name taken); when one does, its
    /// writes may be half done, so the whole transaction is rolled back and
    /// the batch runs again with each job in its own savepoint, which
    /// undoes a failing job alone. Jobs are re-runnable for this: each
    /// reads what it needs from the database as it runs.
    fn run_batch(&self, batch: &mut [Box<dyn Job>]) -> rusqlite::Result<()> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let mut clean = true;
        for job in batch.iter_mut() {
            if !job.run(self) {
                clean = false;
                break;
            }
        }
        if !clean {
            self.conn.execute_batch("ROLLBACK")?;
            self.pending_receipts.set(None);
            self.conn.execute_batch("BEGIN IMMEDIATE")?;
            for job in batch.iter_mut() {
                job.run_in_savepoint(self)?;
            }
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
            self.pending_receipts.set(None);
        }
        self.conn.prepare_cached("RELEASE job")?.execute([])?;
        Ok(result)
    }
}

/// A write waiting in the queue, its result type erased so one queue holds all kinds.
pub(super) trait Job: Send {
    /// Runs the work straight into the open transaction; false if it
    /// failed (what it wrote may be half done: the batch must be rolled
    /// back and run again with savepoints).
    fn run(&mut self, writer: &Writer) -> bool;
    /// Runs the work in its own savepoint; an error here dooms the whole batch.
    fn run_in_savepoint(&mut self, writer: &Writer) -> rusqlite::Result<()>;
    /// Answers the caller: the work's result if the batch committed, else why it did not.
    fn answer(self: Box<Self>, batch_failure: Option<&str>);
}

/// A write and, once it ran, its result. The work may run twice (see
/// [`Writer::run_batch`]); the last run's result is the one answered.
pub(super) struct PendingWrite<T, F> {
    pub(super) work: F,
    pub(super) result: Option<StoreResult<T>>,
    pub(super) reply: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> Job for PendingWrite<T, F>
where
    T: Send,
    F: FnMut(&Writer) -> StoreResult<T> + Send,
{
    fn run(&mut self, writer: &Writer) -> bool {
        let result = (self.work)(writer);
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn run_in_savepoint(&mut self, writer: &Writer) -> rusqlite::Result<()> {
        self.result = Some(writer.in_savepoint(&mut self.work)?);
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
pub(super) struct ReaderPool {
    pub(super) connections: Vec<Mutex<Connection>>,
    pub(super) next: AtomicUsize,
}

impl ReaderPool {
    pub(super) fn with<T>(
        &self,
        read: impl FnOnce(&Connection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.connections.len();
        let conn = lock(&self.connections[index]);
        read(&conn)
    }
}

pub(super) fn configure_writer(conn: &Connection, path: &Path) -> StoreResult<()> {
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
    // Checkpoints run on their own thread (see the checkpoint module).
    conn.pragma_update(None, "wal_autocheckpoint", 0)
        .map_err(failed)?;
    // Inserts into the indexes by number and account land on pages all over
    // them: a page cache that holds them (64 MiB; SQLite's default is 2 MiB)
    // saves reading each back from the file.
    conn.pragma_update(None, "cache_size", WRITER_CACHE_KIB)
        .map_err(failed)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(failed)
}

/// Brings the schema up to date in one transaction (so a crash mid-way
/// leaves the old version), serialised against other processes opening the
/// same file by the IMMEDIATE lock.
pub(super) fn migrate(conn: &mut Connection, path: &Path) -> StoreResult<()> {
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
