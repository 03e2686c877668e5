//! WAL checkpoints on their own thread.
//!
//! A checkpoint copies the pages committed to the write-ahead log back into
//! the database file (and fsyncs it). SQLite runs one by itself after any
//! commit that leaves the log past 1,000 pages, on the committing thread:
//! under load that was a tenth of the writer thread's time, during which no
//! batch could commit. Here the writer only signals after each commit, and a
//! thread with its own connection runs PASSIVE checkpoints (which never
//! block the writer or readers), at most one every [`PAUSE`].
//!
//! A checkpoint that runs beside the writer never catches up with it
//! completely while writes keep coming, and SQLite starts the log from its
//! beginning again only once every frame in it has been copied; the log
//! file would grow for as long as the load lasts. So when the checkpointer
//! sees the log past [`LIMIT_FRAMES`], the writer runs one checkpoint itself
//! between two batches: by then nearly everything is copied, so it is short,
//! and the next batch starts the log over. The log stays within about
//! [`LIMIT_FRAMES`] pages (a page is 4 KiB).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use crate::store::{StoreError, StoreResult};

use super::BUSY_TIMEOUT;

/// Shortest time between two checkpoints of the checkpointer thread.
const PAUSE: Duration = Duration::from_millis(20);

/// A log longer than this (in pages) is finished by the writer itself.
pub(super) const LIMIT_FRAMES: i64 = 16_384;

/// The writer's side: signals commits, and hears when the log is too long.
pub(super) struct Checkpoints {
    committed: SyncSender<()>,
    too_long: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpoints {
    /// Opens the checkpointer's connection to `path` (configured as the
    /// writer's: WAL, `synchronous=FULL`) and starts its thread.
    pub(super) fn start(path: &Path) -> StoreResult<Checkpoints> {
        let failed = |error: rusqlite::Error| {
            StoreError::Backend(format!(
                "cannot open {} for checkpoints: {error}",
                path.display()
            ))
        };
        let conn = Connection::open(path).map_err(failed)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(failed)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(failed)?;
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(failed)?;
        // One signal is enough to say "there is something to copy".
        let (committed, signals) = mpsc::sync_channel(1);
        let too_long = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&too_long);
        let thread = std::thread::Builder::new()
            .name("smsgate-store-checkpoint".to_string())
            .spawn(move || run(&conn, &signals, &flag))
            .map_err(|error| {
                StoreError::Backend(format!("cannot start the checkpoint thread: {error}"))
            })?;
        Ok(Checkpoints {
            committed,
            too_long,
            thread: Some(thread),
        })
    }

    /// After a commit: wakes the checkpointer, and says whether the writer
    /// should finish a checkpoint itself now (the log is past the limit).
    pub(super) fn after_commit(&self) -> bool {
        match self.committed.try_send(()) {
            Ok(()) | Err(TrySendError::Full(())) | Err(TrySendError::Disconnected(())) => {}
        }
        self.too_long.swap(false, Ordering::Relaxed)
    }
}

impl Drop for Checkpoints {
    /// Stops the checkpointer (it ends when the signals stop) and waits for it.
    fn drop(&mut self) {
        let (closed, _) = mpsc::sync_channel(1);
        drop(std::mem::replace(&mut self.committed, closed));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(conn: &Connection, signals: &Receiver<()>, too_long: &AtomicBool) {
    while signals.recv().is_ok() {
        match passive_checkpoint(conn) {
            Ok((log, _)) if log > LIMIT_FRAMES => too_long.store(true, Ordering::Relaxed),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "store: a WAL checkpoint failed"),
        }
        std::thread::sleep(PAUSE);
    }
}

/// Runs a PASSIVE checkpoint on `conn`: copies what it can without waiting
/// for anyone. Returns the log's length and how much of it is now copied,
/// in pages.
pub(super) fn passive_checkpoint(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok((row.get(1)?, row.get(2)?))
    })
}
