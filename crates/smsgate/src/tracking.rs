//! Tracking: what providers send back on their own, applied to our messages.
//!
//! Receipts from every connector arrive on one channel and go to
//! [`Store::apply_receipt`], which matches them to our message by the
//! connector and the provider's id, including a receipt that beat the
//! submit's answer (the store keeps it until that answer names the id).
//! Receipts waiting on the channel are applied together, so a burst shares
//! the store's group commits instead of paying one commit each.
//!
//! MO messages are logged and not stored yet: routing them to an account
//! is the MO router's job (issue #5). The smpp connector has already
//! acknowledged them to the provider.

use std::sync::Arc;

use futures::future::join_all;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::connectors::{InboundEvent, ProviderReceipt};
use crate::store::Store;

/// Most receipts applied together.
const BATCH: usize = 256;

/// Applies what the connectors send until every connector has stopped
/// (the channel closes).
pub async fn track(store: Arc<dyn Store>, mut events: mpsc::Receiver<InboundEvent>) {
    let mut batch = Vec::with_capacity(BATCH);
    while events.recv_many(&mut batch, BATCH).await > 0 {
        let receipts = batch.drain(..).filter_map(|event| match event {
            InboundEvent::Receipt(receipt) => Some(receipt),
            InboundEvent::Mo(mo) => {
                info!(
                    connector = %mo.connector,
                    destination = %mo.destination.addr,
                    "tracking: MO message received; not routed yet (MO routing is to come)"
                );
                None
            }
        });
        join_all(receipts.map(|receipt| apply(store.as_ref(), receipt))).await;
    }
}

async fn apply(store: &dyn Store, receipt: ProviderReceipt) {
    let ProviderReceipt {
        connector,
        provider_id,
        stat,
        err,
        received_at,
        ..
    } = receipt;
    match store
        .apply_receipt(&connector, &provider_id, &stat, &err, received_at)
        .await
    {
        Ok(Some(id)) => {
            debug!(message_id = %id, %connector, stat = stat.as_str(), "tracking: receipt applied")
        }
        Ok(None) => {
            debug!(%connector, %provider_id, "tracking: receipt for an id not known yet; kept")
        }
        Err(error) => {
            warn!(%connector, %provider_id, %error, "tracking: a receipt could not be stored")
        }
    }
}
