//! Tracking: what providers send back on their own, applied to our messages.
//!
//! Receipts from every connector arrive on one channel and go to
//! [`Store::apply_receipt`], which matches them to our message by the
//! connector and the provider's id, including a receipt that beat the
//! submit's answer (the store keeps it until that answer names the id).
//! Receipts waiting on the channel are applied together, so a burst shares
//! the store's group commits instead of paying one commit each.
//!
//! MO messages go to the [`MoRouter`], which puts long ones together,
//! routes and stores them.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::future::join_all;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::connectors::{InboundEvent, ProviderReceipt};
use crate::metrics::Metrics;
use crate::mo::MoRouter;
use crate::store::{Store, receipt_state};

/// Most receipts applied together.
const BATCH: usize = 256;

/// Applies what the connectors send until every connector has stopped
/// (the channel closes). Receipts are counted in `metrics`, if given.
pub async fn track(
    store: Arc<dyn Store>,
    mut events: mpsc::Receiver<InboundEvent>,
    mo: MoRouter,
    metrics: Option<Arc<Metrics>>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tokio::select! {
            received = events.recv_many(&mut batch, BATCH) => {
                if received == 0 {
                    return;
                }
            }
            _ = tick.tick() => {
                mo.tick().await;
                continue;
            }
        }
        let mut receipts = Vec::new();
        for event in batch.drain(..) {
            match event {
                InboundEvent::Receipt(receipt) => receipts.push(receipt),
                InboundEvent::Mo(message) => {
                    if let Some(metrics) = &metrics {
                        metrics.mo_received(&message.connector);
                    }
                    mo.handle(message).await
                }
            }
        }
        join_all(
            receipts
                .into_iter()
                .map(|receipt| apply(store.as_ref(), metrics.as_deref(), receipt)),
        )
        .await;
    }
}

async fn apply(store: &dyn Store, metrics: Option<&Metrics>, receipt: ProviderReceipt) {
    let ProviderReceipt {
        connector,
        provider_id,
        stat,
        err,
        received_at,
        ..
    } = receipt;
    if let Some(metrics) = metrics {
        metrics.receipt(&connector, stat.as_str());
    }
    match store
        .apply_receipt(&connector, &provider_id, &stat, &err, received_at)
        .await
    {
        Ok(Some(id)) => {
            info!(message_id = %id, %connector, stat = stat.as_str(), "tracking: receipt applied");
            if let (Some(metrics), Some(_)) = (metrics, receipt_state(&stat))
                && let Some(took) = since_accepted(&id, received_at)
            {
                metrics.receipt_latency(&connector, took);
            }
        }
        Ok(None) => {
            debug!(%connector, %provider_id, "tracking: receipt for an id not known yet; kept")
        }
        Err(error) => {
            warn!(%connector, %provider_id, %error, "tracking: a receipt could not be stored")
        }
    }
}

/// How long ago, at `received_at`, the message `id` was accepted: our ids
/// are ULIDs that carry their acceptance time (see
/// [`crate::accept::ids`]), so no store read is needed. `None` for an id
/// that is not one of ours or a clock that stepped back.
fn since_accepted(id: &str, received_at: SystemTime) -> Option<Duration> {
    let accepted = ulid::Ulid::from_string(id).ok()?.datetime();
    received_at.duration_since(accepted).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accept::ids::MessageIds;

    #[test]
    fn the_time_since_acceptance_is_read_from_the_message_id() {
        let accepted = SystemTime::UNIX_EPOCH + Duration::from_millis(1_790_000_000_123);
        let id = MessageIds::new().next(accepted).expect("id");
        assert_eq!(
            since_accepted(&id, accepted + Duration::from_millis(4_500)),
            Some(Duration::from_millis(4_500))
        );
        assert_eq!(since_accepted("not-an-id", accepted), None);
        assert_eq!(
            since_accepted(&id, accepted - Duration::from_secs(1)),
            None,
            "a receipt stamped before the acceptance is not a latency"
        );
    }
}
