//! The webhook courier: posts the outbox's webhook events, signed, oldest
//! first, retrying with backoff ([`crate::delivery::webhook::retry_delay`])
//! until the webhook's `max_age` (24 h by default), then dropping them with
//! a trace event. Two kinds:
//!
//! - MO messages routed to `[webhooks.NAME]` (signed with its `secret`);
//! - status events for messages sent over the HTTP API with a
//!   `callback_url` (account `callback` in the outbox), signed with the
//!   account's callback secret: HMAC-SHA256 of the account's system_id
//!   under the node's key in `<data dir>/callback.key`, so each account
//!   has its own (`smsgate account callback-secret ACCOUNT` prints it).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::warn;

use super::{OutboxItem, OutboxResult};
use crate::delivery::webhook::{
    PostOutcome, StatusEvent, Webhook, WebhookConfig, WebhookPayload, retry_delay,
};
use crate::mo::StoredMoEvent;
use crate::store::{MessageState, Store};

/// The outbox account of callback events.
const CALLBACKS: &str = "callback";

/// Most callback URLs with a client kept ready.
const CLIENT_CACHE: usize = 256;

/// A status event waiting for its callback URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCallback {
    /// Where to POST it.
    pub url: String,
    /// The account whose secret signs it.
    pub account: String,
    /// Our message id.
    pub id: String,
    /// The state the message reached.
    pub state: String,
    /// The state the customer was last told of (events stored before it
    /// was kept have none).
    #[serde(default)]
    pub previous_state: Option<String>,
    /// The provider's error code, if any.
    pub err: Option<String>,
    /// When, unix milliseconds.
    pub at: i64,
    /// The customer's reference given with the message (events stored
    /// before it was kept have none).
    #[serde(default)]
    pub client_ref: Option<String>,
}

impl StoredCallback {
    /// As stored in the outbox.
    pub fn to_json(&self) -> Bytes {
        Bytes::from(serde_json::to_vec(self).unwrap_or_default())
    }
}

/// The node's callback key: read from `<data_dir>/callback.key`, or made
/// (32 random octets, hex, mode 0600) on first use.
pub fn callback_key(data_dir: &Path) -> std::io::Result<Vec<u8>> {
    let path = data_dir.join("callback.key");
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(text.trim().as_bytes().to_vec()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let key: [u8; 32] = rand::random();
            let text: String = key.iter().map(|b| format!("{b:02x}")).collect();
            std::fs::create_dir_all(data_dir)?;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            use std::io::Write;
            let mut file = options.open(&path)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            Ok(text.into_bytes())
        }
        Err(error) => Err(error),
    }
}

/// An account's callback secret: hex HMAC-SHA256 of its system_id under the node key.
pub fn callback_secret(key: &[u8], account: &str) -> String {
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(account.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Webhooks for callback URLs, kept by URL and account.
struct Callbacks {
    key: Vec<u8>,
    clients: Mutex<HashMap<(String, String), Arc<Webhook>>>,
}

impl Callbacks {
    fn webhook(&self, url: &str, account: &str) -> Result<Arc<Webhook>, String> {
        let key = (url.to_string(), account.to_string());
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(webhook) = clients.get(&key) {
            return Ok(Arc::clone(webhook));
        }
        let config = WebhookConfig {
            url: url.to_string(),
            secret: Some(callback_secret(&self.key, account)),
            ..WebhookConfig::default()
        };
        let webhook =
            Arc::new(Webhook::new("callback", config).map_err(|error| error.to_string())?);
        if clients.len() >= CLIENT_CACHE {
            clients.clear();
        }
        clients.insert(key, Arc::clone(&webhook));
        Ok(webhook)
    }
}

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
        callback_key: Vec<u8>,
        node: String,
        poll_interval: Duration,
    ) -> WebhookCourier {
        let stop = CancellationToken::new();
        let posts = TaskTracker::new();
        let callbacks = Callbacks {
            key: callback_key,
            clients: Mutex::new(HashMap::new()),
        };
        let main = tokio::spawn(run(
            store,
            Arc::new((webhooks, callbacks)),
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

type Targets = (BTreeMap<String, Webhook>, Callbacks);

async fn run(
    store: Arc<dyn Store>,
    webhooks: Arc<Targets>,
    node: String,
    poll_interval: Duration,
    stop: CancellationToken,
    posts: TaskTracker,
) {
    let mut accounts: Vec<String> = webhooks
        .0
        .keys()
        .map(|name| format!("webhook:{name}"))
        .collect();
    accounts.push(CALLBACKS.to_string());
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

async fn post(targets: &Targets, item: &OutboxItem) -> OutboxResult {
    let held: Arc<Webhook>;
    let (webhook, payload, name): (&Webhook, WebhookPayload, String) = if item.account == CALLBACKS
    {
        let Ok(stored) = serde_json::from_slice::<StoredCallback>(&item.pdu) else {
            return OutboxResult::Dropped {
                detail: "the stored callback cannot be read".into(),
            };
        };
        held = match targets.1.webhook(&stored.url, &stored.account) {
            Ok(webhook) => webhook,
            Err(error) => {
                return OutboxResult::Dropped {
                    detail: format!("callback URL refused: {error}"),
                };
            }
        };
        let Some(state) = MessageState::parse(&stored.state) else {
            return OutboxResult::Dropped {
                detail: format!("unknown state {:?}", stored.state),
            };
        };
        let at =
            jiff::Timestamp::from_millisecond(stored.at).unwrap_or_else(|_| jiff::Timestamp::now());
        let payload = WebhookPayload::Status(StatusEvent {
            id: stored.id,
            state,
            previous_state: stored
                .previous_state
                .as_deref()
                .and_then(MessageState::parse),
            err: stored.err,
            at,
            client_ref: stored.client_ref,
        });
        (&*held, payload, "callback".to_string())
    } else {
        let name = item
            .account
            .strip_prefix("webhook:")
            .unwrap_or(&item.account);
        let Some(webhook) = targets.0.get(name) else {
            return OutboxResult::Dropped {
                detail: format!("webhook {name} is not configured any more"),
            };
        };
        let Some(event) = StoredMoEvent::from_json(&item.pdu) else {
            return OutboxResult::Dropped {
                detail: "the stored event cannot be read".into(),
            };
        };
        (webhook, WebhookPayload::Mo(event), name.to_string())
    };
    let name = name.as_str();
    match webhook.post(&payload).await {
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
