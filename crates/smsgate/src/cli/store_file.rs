//! The store file the CLI works on, and running a command against it.
//!
//! The commands open the SQLite file directly, so they work whether or not
//! the server is running (WAL lets both use it; SQLite serialises writers).

use std::path::Path;

use crate::node::database_path;
use crate::store::Store;
use crate::store::sqlite::SqliteStore;

use super::CliError;

/// Runs `command` against the store in `data_dir` on a small runtime, and
/// closes the store afterwards so every write is committed before exit.
pub(super) fn with_store<T>(
    data_dir: &Path,
    command: impl AsyncFnOnce(&SqliteStore) -> Result<T, CliError>,
) -> Result<T, CliError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let store = SqliteStore::open(&database_path(data_dir))?;
        let result = command(&store).await;
        store.close().await?;
        result
    })
}
