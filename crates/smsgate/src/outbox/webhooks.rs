//! The webhook courier: posts the outbox's webhook events (MO messages
//! routed to `[webhooks.NAME]`), signed, oldest first, retrying with
//! backoff ([`crate::delivery::webhook::retry_delay`]) until the webhook's
//! `max_age`, then dropping them with a trace event.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::warn;

use super::{OutboxItem, OutboxResult};
use crate::delivery::webhook::{PostOutcome, Webhook, WebhookPayload, retry_delay};
use crate::mo::StoredMoEvent;
use crate::store::Store;

/// Events claimed per look at the outbox.
const BATCH: u32 = 64;

/// How long shutdown waits for posts in flight.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(15);

/// The running webhook courier.
pub struct WebhookCourier {
    stop: CancellationToken,
    main: JoinHandle<()>,
    posts: TaskTracker,
}

impl WebhookCourier {
    /// Starts posting for `webhooks` (by name); nothing runs without any.
    pub fn start(
        store: Arc<dyn Store>,
        webhooks: BTreeMap<String, Webhook>,
        node: String,
        poll_interval: Duration,
    ) -> WebhookCourier {
        let stop = CancellationToken::new();
        let posts = TaskTracker::new();
        let main = tokio::spawn(run(
            store,
            Arc::new(webhooks),
            node,
            poll_interval,
            stop.clone(),
            posts.clone(),
        ));
        WebhookCourier { stop, main, posts }
    }

    /// Stops claiming; waits (bounded) for the posts in flight.
    pub async fn shutdown(self) {
        self.stop.cancel();
        let _ = self.main.await;
        self.posts.close();
        if tokio::time::timeout(SHUTDOWN_WAIT, self.posts.wait())
            .await
            .is_err()
        {
            warn!(
                "webhooks: posts still running at shutdown; they are sent again at the next start"
            );
        }
    }
}

async fn run(
    store: Arc<dyn Store>,
    webhooks: Arc<BTreeMap<String, Webhook>>,
    node: String,
    poll_interval: Duration,
    stop: CancellationToken,
    posts: TaskTracker,
) {
    if webhooks.is_empty() {
        return;
    }
    let accounts: Vec<String> = webhooks
        .keys()
        .map(|name| format!("webhook:{name}"))
        .collect();
    while !stop.is_cancelled() {
        match store
            .claim_outbox(&node, &accounts, BATCH, SystemTime::now())
            .await
        {
            // One at a time per batch, in order: a webhook sees a message's
            // events in the order they happened.
            Ok(items) if !items.is_empty() => {
                let store = Arc::clone(&store);
                let webhooks = Arc::clone(&webhooks);
                let batch = posts.spawn(async move {
                    for item in items {
                        let result = post(&webhooks, &item).await;
                        if let Err(error) = store
                            .finish_outbox(
                                item.seq,
                                &item.message_id,
                                item.kind,
                                result,
                                SystemTime::now(),
                            )
                            .await
                        {
                            warn!(seq = item.seq, %error, "webhooks: recording a post failed");
                        }
                    }
                });
                tokio::select! {
                    () = stop.cancelled() => return,
                    _ = batch => {}
                }
                continue;
            }
            Ok(_) => {}
            Err(error) => warn!(%error, "webhooks: claiming events failed"),
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(poll_interval) => {}
        }
    }
}

async fn post(webhooks: &BTreeMap<String, Webhook>, item: &OutboxItem) -> OutboxResult {
    let name = item
        .account
        .strip_prefix("webhook:")
        .unwrap_or(&item.account);
    let Some(webhook) = webhooks.get(name) else {
        return OutboxResult::Dropped {
            detail: format!("webhook {name} is not configured any more"),
        };
    };
    let Some(event) = StoredMoEvent::from_json(&item.pdu) else {
        return OutboxResult::Dropped {
            detail: "the stored event cannot be read".into(),
        };
    };
    match webhook.post(&WebhookPayload::Mo(event)).await {
        PostOutcome::Delivered => OutboxResult::Delivered {
            detail: format!("webhook {name} answered 2xx"),
        },
        PostOutcome::Permanent(reason) => OutboxResult::Dropped {
            detail: format!("webhook {name}: {reason}"),
        },
        PostOutcome::Retry(reason) => {
            let now = SystemTime::now();
            let age = now.duration_since(item.created_at).unwrap_or_default();
            if age >= webhook.max_age() {
                OutboxResult::Dropped {
                    detail: format!(
                        "webhook {name}: {reason}; given up after {}",
                        humantime::format_duration(webhook.max_age())
                    ),
                }
            } else {
                OutboxResult::Retry {
                    at: now + retry_delay(item.attempts),
                    detail: format!("webhook {name}: {reason}"),
                }
            }
        }
    }
}
