//! Retention: messages older than `[store] retention` are deleted in the
//! background, with their traces, provider ids and outbox items, a small
//! batch per transaction so that customers' writes are never held up for
//! long. Messages dispatch has not finished with (`accepted`, `queued`)
//! are kept whatever their age.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::Store;
use crate::metrics::Metrics;

/// Messages deleted per transaction.
const BATCH: u32 = 500;

/// The pause between two batches, so the writer serves others between them.
const PAUSE: Duration = Duration::from_millis(20);

/// How often the store is looked at for old messages.
const INTERVAL: Duration = Duration::from_secs(600);

/// `[store]`: what the store keeps.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// How long a message and its trace are kept after it was accepted;
    /// `0s` keeps them for ever. Default 30 days.
    #[serde(with = "crate::settings::duration")]
    pub retention: Duration,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            retention: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// Deletes messages older than `retention` every few minutes until
/// `stop`; counts them in `metrics`. Does nothing for a zero retention.
pub async fn run(
    store: Arc<dyn Store>,
    retention: Duration,
    metrics: Option<Arc<Metrics>>,
    stop: CancellationToken,
) {
    if retention.is_zero() {
        return;
    }
    loop {
        let purged = purge(store.as_ref(), retention, metrics.as_deref(), &stop).await;
        if purged > 0 {
            info!(
                purged,
                "store: messages older than {} deleted with their traces",
                humantime::format_duration(retention)
            );
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(INTERVAL) => {}
        }
    }
}

/// One round: batches until none is left (or `stop`); how many were deleted.
pub async fn purge(
    store: &dyn Store,
    retention: Duration,
    metrics: Option<&Metrics>,
    stop: &CancellationToken,
) -> u64 {
    let Some(before) = SystemTime::now().checked_sub(retention) else {
        return 0;
    };
    let mut total = 0;
    while !stop.is_cancelled() {
        match store.purge_messages(before, BATCH).await {
            Ok(purged) => {
                total += purged;
                if let Some(metrics) = metrics {
                    metrics.purged(purged);
                }
                if purged < u64::from(BATCH) {
                    break;
                }
            }
            Err(error) => {
                warn!(%error, "store: deleting old messages failed; tried again later");
                break;
            }
        }
        tokio::time::sleep(PAUSE).await;
    }
    total
}
