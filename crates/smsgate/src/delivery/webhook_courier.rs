//! The webhook courier: posts the outbox's webhook events, signed, oldest
//! first: many at once (at most 256, and 16 per target), each message's
//! events one after another in order, so one slow or hanging URL holds up
//! only its own events; retrying with backoff ([`crate::delivery::webhook::retry_delay`])
//! until the webhook's `max_age` (24 h by default), then dropping them with
//! a trace event. Two kinds:
//!
//! - MO messages routed to `[webhooks.NAME]` (signed with its `secret`);
//! - status events for messages sent over the HTTP API with a
//!   `callback_url` (account `callback` in the outbox), signed with the
//!   account's callback secret: HMAC-SHA256 of the account's system_id
//!   under the node's key in `<data dir>/callback.key`, so each account
//!   has its own (`smsgate account callback-secret ACCOUNT` prints it).
//!   A callback connects only to addresses
//!   [`callback_targets`](crate::delivery::callback_targets) allows; a
//!   refused target drops the event (`callback target refused: ...`).
//!
//! The trace of each attempt names the webhook (`callback`, or
//! `webhook NAME`) and how it went: `callback answered 2xx`, `callback
//! answered HTTP 500 Internal Server Error`; never what the target's
//! answer said.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::warn;

use super::outbox::{OutboxItem, OutboxResult};
use crate::delivery::callback_targets::CallbackTargets;
use crate::delivery::webhook::{
    PostOutcome, StatusEvent, Webhook, WebhookConfig, WebhookPayload, retry_delay,
};
use crate::store::{MessageState, Store};
use crate::tracking::mo::StoredMoEvent;

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
    /// Where callbacks may connect.
    targets: Arc<CallbackTargets>,
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
        let webhook = Arc::new(
            Webhook::guarded("callback", config, Arc::clone(&self.targets))
                .map_err(|error| error.to_string())?,
        );
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
    /// Starts posting for `webhooks` (by name) and for callback URLs,
    /// which may reach only what `callback_targets` allows.
    pub fn start(
        store: Arc<dyn Store>,
        webhooks: BTreeMap<String, Webhook>,
        callback_key: Vec<u8>,
        callback_targets: Arc<CallbackTargets>,
        node: String,
        poll_interval: Duration,
    ) -> WebhookCourier {
        let stop = CancellationToken::new();
        let posts = TaskTracker::new();
        let callbacks = Callbacks {
            key: callback_key,
            targets: callback_targets,
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

/// Posts in flight at once, over every target.
const MAX_POSTS: usize = 256;

/// Posts in flight at once to one target: a callback URL's scheme, host
/// and port, or one configured webhook.
const PER_TARGET: usize = 16;

/// Events held in memory (claimed, waiting or being posted), over every
/// target: what a backlog may take.
const MAX_HELD: usize = 4096;

/// Events held for one target: past it, the target's next events are put
/// off (back in the outbox, due again after [`PUT_OFF`]), so one slow or
/// hanging target cannot fill [`MAX_HELD`] and hold back everyone else's.
const TARGET_BACKLOG: usize = 256;

/// How long an event put off for a busy target waits in the outbox.
const PUT_OFF: Duration = Duration::from_secs(1);

/// What the claim loop and the posts share.
struct Lanes {
    store: Arc<dyn Store>,
    targets: Arc<Targets>,
    /// Per message with a post running: its later events, in order. A
    /// message's events are posted one after another, so its webhook sees
    /// them in the order they happened; different messages go at once.
    chains: Mutex<HashMap<String, std::collections::VecDeque<Held>>>,
    /// Per target: its posts' permits and how many events it holds.
    per_target: Mutex<HashMap<String, (Arc<Semaphore>, usize)>>,
    posts: Arc<Semaphore>,
    held: Arc<Semaphore>,
    tasks: TaskTracker,
}

/// An event in memory, with its room among [`MAX_HELD`] and its target.
struct Held {
    item: OutboxItem,
    target: String,
    _room: OwnedSemaphorePermit,
}

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
    let lanes = Arc::new(Lanes {
        store,
        targets: webhooks,
        chains: Mutex::new(HashMap::new()),
        per_target: Mutex::new(HashMap::new()),
        posts: Arc::new(Semaphore::new(MAX_POSTS)),
        held: Arc::new(Semaphore::new(MAX_HELD)),
        tasks: posts,
    });
    while !stop.is_cancelled() {
        // Wait for room for at least one event.
        let first = tokio::select! {
            () = stop.cancelled() => return,
            room = Arc::clone(&lanes.held).acquire_owned() => match room {
                Ok(room) => room,
                Err(_) => return,
            },
        };
        let mut rooms = vec![first];
        while rooms.len() < BATCH as usize {
            match Arc::clone(&lanes.held).try_acquire_owned() {
                Ok(room) => rooms.push(room),
                Err(_) => break,
            }
        }
        let limit = u32::try_from(rooms.len()).unwrap_or(BATCH);
        let more = match lanes
            .store
            .claim_outbox(
                &node,
                &accounts_room(&accounts, limit),
                limit,
                SystemTime::now(),
            )
            .await
        {
            Ok(items) => {
                let full = items.len() == rooms.len();
                for (item, room) in items.into_iter().zip(rooms) {
                    hand_over(&lanes, item, room);
                }
                full
            }
            Err(error) => {
                warn!(%error, "webhooks: claiming events failed");
                false
            }
        };
        if more {
            continue;
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(poll_interval) => {}
        }
    }
}

/// Where an event goes, for the per-target bound: a callback URL's origin
/// (scheme, host, port), or the configured webhook's name.
fn target_of(item: &OutboxItem) -> String {
    if item.account == CALLBACKS {
        let url = serde_json::from_slice::<StoredCallback>(&item.pdu)
            .ok()
            .and_then(|stored| reqwest::Url::parse(&stored.url).ok());
        return match url {
            Some(url) => url.origin().ascii_serialization(),
            None => String::new(),
        };
    }
    item.account.clone()
}

/// Queues a claimed event behind its message's earlier ones, or starts
/// its chain; puts it off when its target already holds its share.
fn hand_over(lanes: &Arc<Lanes>, item: OutboxItem, room: OwnedSemaphorePermit) {
    let target = target_of(&item);
    // Behind its message's earlier events whatever the target's load: a
    // message's events stay in order.
    let mut chains = lock(&lanes.chains);
    if let Some(chain) = chains.get_mut(&item.message_id) {
        count_in(lanes, &target);
        chain.push_back(Held {
            item,
            target,
            _room: room,
        });
        return;
    }
    drop(chains);
    let busy = {
        let mut per_target = lock(&lanes.per_target);
        let entry = per_target
            .entry(target.clone())
            .or_insert_with(|| (Arc::new(Semaphore::new(PER_TARGET)), 0));
        if entry.1 >= TARGET_BACKLOG {
            true
        } else {
            entry.1 += 1;
            false
        }
    };
    if busy {
        let store = Arc::clone(&lanes.store);
        lanes.tasks.spawn(async move {
            let result = OutboxResult::Retry {
                at: SystemTime::now() + PUT_OFF,
                detail: format!("{TARGET_BACKLOG} events already wait for {target}; put off"),
            };
            finish(store.as_ref(), &item, result).await;
            drop(room);
        });
        return;
    }
    let held = Held {
        item,
        target,
        _room: room,
    };
    lock(&lanes.chains).insert(held.item.message_id.clone(), Default::default());
    let lanes_for_chain = Arc::clone(lanes);
    lanes.tasks.spawn(chain(lanes_for_chain, held));
}

/// Counts one more event held for `target`.
fn count_in(lanes: &Lanes, target: &str) {
    lock(&lanes.per_target)
        .entry(target.to_string())
        .or_insert_with(|| (Arc::new(Semaphore::new(PER_TARGET)), 0))
        .1 += 1;
}

/// Posts one message's events in order, until none is left.
async fn chain(lanes: Arc<Lanes>, first: Held) {
    let message_id = first.item.message_id.clone();
    let mut next = Some(first);
    while let Some(held) = next {
        let target_permits = lock(&lanes.per_target)
            .get(&held.target)
            .map(|(permits, _)| Arc::clone(permits));
        let result = {
            let _for_target = match &target_permits {
                Some(permits) => Arc::clone(permits).acquire_owned().await.ok(),
                None => None,
            };
            let _post = Arc::clone(&lanes.posts).acquire_owned().await.ok();
            post(&lanes.targets, &held.item).await
        };
        finish(lanes.store.as_ref(), &held.item, result).await;
        {
            let mut per_target = lock(&lanes.per_target);
            if let Some(entry) = per_target.get_mut(&held.target) {
                entry.1 = entry.1.saturating_sub(1);
                if entry.1 == 0 {
                    per_target.remove(&held.target);
                }
            }
        }
        drop(held);
        let mut chains = lock(&lanes.chains);
        next = chains
            .get_mut(&message_id)
            .and_then(|chain| chain.pop_front());
        if next.is_none() {
            chains.remove(&message_id);
        }
    }
}

/// Records how a post ended.
async fn finish(store: &dyn Store, item: &OutboxItem, result: OutboxResult) {
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

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
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
        (
            webhook,
            WebhookPayload::Mo(event),
            format!("webhook {name}"),
        )
    };
    let name = name.as_str();
    match webhook.post(&payload).await {
        PostOutcome::Delivered => OutboxResult::Delivered {
            detail: format!("{name} answered 2xx"),
        },
        PostOutcome::Permanent(reason) => OutboxResult::Dropped {
            detail: format!("{name} {reason}"),
        },
        PostOutcome::Retry(reason) => {
            let now = SystemTime::now();
            let age = now.duration_since(item.created_at).unwrap_or_default();
            if age >= webhook.max_age() {
                OutboxResult::Dropped {
                    detail: format!(
                        "{name} {reason}; given up after {}",
                        humantime::format_duration(webhook.max_age())
                    ),
                }
            } else {
                OutboxResult::Retry {
                    at: now + retry_delay(item.attempts),
                    detail: format!("{name} {reason}"),
                }
            }
        }
    }
}

/// Every events lane may take up to `limit` in one claim: the lanes and
/// their per-target bounds decide what is posted when.
fn accounts_room(accounts: &[String], limit: u32) -> Vec<(String, u32)> {
    accounts
        .iter()
        .map(|account| (account.clone(), limit))
        .collect()
}
