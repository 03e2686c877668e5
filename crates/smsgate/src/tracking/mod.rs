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
//!
//! Each event's connector is told when it is durable (or that the store
//! failed), and only then answers the provider: an acknowledged receipt
//! or MO is never lost, and many are in flight at once.

pub mod mo;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::StreamExt;
use futures::future::join_all;
use futures::stream::FuturesUnordered;
use tokio::sync::{Notify, mpsc};
use tracing::{debug, warn};

use crate::connectors::{Inbound, InboundEvent, ProviderMo, ProviderReceipt, StoredSignal};
use crate::metrics::Metrics;
use crate::store::{Store, receipt_state};
use mo::MoRouter;

/// Most events taken off the channel at once.
const BATCH: usize = 512;

/// Batches of receipts being applied at once: while one batch's commit
/// fsyncs, the next is already queued with the store (pipelined commits).
const BATCHES_IN_FLIGHT: usize = 4;

/// Applies what the connectors send until every connector has stopped
/// (the channel closes). Receipts are counted in `metrics`, if given.
/// `outbox` is signalled after each batch is stored, so the courier sends
/// the receipts and MO it queued at once instead of at its next poll.
pub async fn track(
    store: Arc<dyn Store>,
    mut events: mpsc::Receiver<Inbound>,
    mo: MoRouter,
    metrics: Option<Arc<Metrics>>,
    outbox: Arc<Notify>,
) {
    let (to_mo, mo_queue) = mpsc::channel(BATCH);
    let mo_task = tokio::spawn(route_mo(mo, mo_queue, metrics.clone(), Arc::clone(&outbox)));
    let mut batch = Vec::with_capacity(BATCH);
    let mut applying = FuturesUnordered::new();
    loop {
        tokio::select! {
            received = events.recv_many(&mut batch, BATCH), if applying.len() < BATCHES_IN_FLIGHT => {
                if received == 0 {
                    break;
                }
            }
            Some(()) = applying.next(), if !applying.is_empty() => continue,
        }
        let mut receipts = Vec::new();
        for Inbound { event, stored } in batch.drain(..) {
            match event {
                InboundEvent::Receipt(receipt) => receipts.push((receipt, stored)),
                InboundEvent::Mo(message) => {
                    if to_mo.send((message, stored)).await.is_err() {
                        warn!("tracking: the MO router stopped; an MO message is refused");
                    }
                }
            }
        }
        if receipts.is_empty() {
            continue;
        }
        let store = Arc::clone(&store);
        let metrics = metrics.clone();
        let outbox = Arc::clone(&outbox);
        applying.push(async move {
            join_all(receipts.into_iter().map(|(receipt, stored)| {
                let store = &store;
                let metrics = &metrics;
                async move {
                    stored.finish(apply(store.as_ref(), metrics.as_deref(), receipt).await);
                }
            }))
            .await;
            outbox.notify_one();
        });
    }
    while applying.next().await.is_some() {}
    drop(to_mo);
    if let Err(error) = mo_task.await {
        warn!(%error, "tracking: the MO router ended abnormally");
    }
}

/// Routes MO messages one after another (the parts of a long one meet in
/// the router), and ticks the router's timers every second.
async fn route_mo(
    mo: MoRouter,
    mut queue: mpsc::Receiver<(ProviderMo, StoredSignal)>,
    metrics: Option<Arc<Metrics>>,
    outbox: Arc<Notify>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            next = queue.recv() => {
                let Some((message, stored)) = next else { return };
                if let Some(metrics) = &metrics {
                    metrics.mo_received(&message.connector);
                }
                stored.finish(mo.handle(message).await);
                outbox.notify_one();
            }
            _ = tick.tick() => mo.tick().await,
        }
    }
}

/// Applies one receipt; `Ok` once it is durable (applied, or kept for a
/// provider id not known yet).
async fn apply(
    store: &dyn Store,
    metrics: Option<&Metrics>,
    receipt: ProviderReceipt,
) -> Result<(), String> {
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
            debug!(message_id = %id, %connector, stat = stat.as_str(), "tracking: receipt applied");
            if let (Some(metrics), Some(_)) = (metrics, receipt_state(&stat))
                && let Some(took) = since_accepted(&id, received_at)
            {
                metrics.receipt_latency(&connector, took);
            }
            Ok(())
        }
        Ok(None) => {
            debug!(%connector, %provider_id, "tracking: receipt for an id not known yet; kept");
            Ok(())
        }
        Err(error) => {
            warn!(%connector, %provider_id, %error, "tracking: a receipt could not be stored; the provider is asked to send it again");
            Err(error.to_string())
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
