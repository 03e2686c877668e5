//! The store: accounts, messages and their traces, durably.
//!
//! [`Store`] is the only way the rest of smsgate touches persistent state.
//! `sqlite/` implements it for a single node (one writer thread doing
//! group commit, readers on their own connections); a PostgreSQL
//! implementation for clusters will implement the same trait. Nothing
//! SQLite-specific leaks out of this folder: times are [`SystemTime`], ids
//! are strings, and every operation that must be atomic (charging credits
//! together with storing a message) is one trait method.

pub mod retention;
pub mod sqlite;

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use ipnet::IpNet;
use smpp::receipt::ReceiptStat;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No account or message with that key.
    #[error("{0} not found")]
    NotFound(String),
    /// An account with that system_id exists already.
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// The database failed (I/O, corruption, constraint): the operation did not happen.
    #[error("store error: {0}")]
    Backend(String),
    /// The store is shutting down and takes no more writes.
    #[error("the store is closed")]
    Closed,
}

/// Result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// The three ways an SMPP client can bind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BindType {
    /// bind_transmitter: submits only.
    Transmitter,
    /// bind_receiver: receives deliver_sm only.
    Receiver,
    /// bind_transceiver: both.
    Transceiver,
}

impl BindType {
    /// Every bind type, the default set an account may use.
    pub const ALL: [BindType; 3] = [
        BindType::Transmitter,
        BindType::Receiver,
        BindType::Transceiver,
    ];

    /// The short name used in the CLI and the store: `tx`, `rx`, `trx`.
    pub fn as_str(self) -> &'static str {
        match self {
            BindType::Transmitter => "tx",
            BindType::Receiver => "rx",
            BindType::Transceiver => "trx",
        }
    }

    /// Parses `tx`, `rx` or `trx` (also the long names).
    pub fn parse(text: &str) -> Option<BindType> {
        match text.to_ascii_lowercase().as_str() {
            "tx" | "transmitter" => Some(BindType::Transmitter),
            "rx" | "receiver" => Some(BindType::Receiver),
            "trx" | "transceiver" => Some(BindType::Transceiver),
            _ => None,
        }
    }
}

/// A customer identity and everything that limits it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Account {
    /// The SMPP system_id (also the login for the HTTP API). Up to 64 characters.
    pub system_id: String,
    /// The password hash: an argon2id PHC string (`$argon2id$…`), or a
    /// legacy hash imported from another SMS server (`sha1-utf16le$HEX`),
    /// replaced by argon2id on the next good bind. Never a password.
    #[serde(skip)]
    pub password_hash: String,
    /// A disabled account cannot bind (ESME_RBINDFAIL).
    pub enabled: bool,
    /// Prepaid credits, in integer units: one per segment unless a rate table says otherwise.
    pub credits: i64,
    /// How many sessions may be bound at once.
    pub max_binds: u32,
    /// Messages per second over all the account's sessions; `None` for no limit.
    pub tps: Option<u32>,
    /// How many of the account's requests may be in flight per session.
    pub window: u32,
    /// Which bind types the account may use.
    pub bind_types: Vec<BindType>,
    /// Source IP ranges a bind may come from; empty allows any.
    pub allowed_ips: Vec<IpNet>,
    /// Sender ids the account may use: exact, or a pattern with `*` and `?`; empty allows any.
    pub allowed_senders: Vec<String>,
    /// The sender put on messages that come without one.
    pub default_sender: Option<String>,
    /// Address ranges (MO routing): exact numbers, prefixes ending in `*`, or `/regex/`.
    pub address_ranges: Vec<String>,
    /// A group name routes can match on.
    pub group: Option<String>,
    /// Where the status events of its HTTP API messages sent without a
    /// `callback_url` of their own are POSTed; `None` for nowhere.
    pub callback_url: Option<String>,
    /// When the account was created.
    #[serde(with = "crate::timefmt::rfc3339")]
    pub created_at: SystemTime,
}

/// The fields of a new account; the rest take their defaults.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// The system_id.
    pub system_id: String,
    /// The password hash (see [`Account::password_hash`]).
    pub password_hash: String,
    /// Starting credits.
    pub credits: i64,
    /// Max binds (default 4 in the CLI).
    pub max_binds: u32,
    /// Messages per second, `None` for no limit.
    pub tps: Option<u32>,
    /// Window per session (default 10).
    pub window: u32,
    /// Allowed bind types.
    pub bind_types: Vec<BindType>,
    /// Allowed source IP ranges.
    pub allowed_ips: Vec<IpNet>,
    /// Allowed sender ids.
    pub allowed_senders: Vec<String>,
    /// Default sender.
    pub default_sender: Option<String>,
    /// MO address ranges.
    pub address_ranges: Vec<String>,
    /// Group.
    pub group: Option<String>,
}

/// A change to an account: each `Some` field is replaced.
#[derive(Debug, Clone, Default)]
pub struct AccountPatch {
    /// New enabled flag.
    pub enabled: Option<bool>,
    /// New max binds.
    pub max_binds: Option<u32>,
    /// New rate (`Some(None)` removes the limit).
    pub tps: Option<Option<u32>>,
    /// New window.
    pub window: Option<u32>,
    /// New bind types.
    pub bind_types: Option<Vec<BindType>>,
    /// New IP allowlist.
    pub allowed_ips: Option<Vec<IpNet>>,
    /// New sender list.
    pub allowed_senders: Option<Vec<String>>,
    /// New default sender (`Some(None)` removes it).
    pub default_sender: Option<Option<String>>,
    /// New address ranges.
    pub address_ranges: Option<Vec<String>>,
    /// New group (`Some(None)` removes it).
    pub group: Option<Option<String>>,
    /// New default callback URL (`Some(None)` removes it).
    pub callback_url: Option<Option<String>>,
}

impl AccountPatch {
    /// Whether the patch sets nothing. Exhaustive on purpose: a new field
    /// must be considered here, and every caller that refuses an empty
    /// change (the CLI, the admin API) follows.
    pub fn is_empty(&self) -> bool {
        matches!(
            self,
            AccountPatch {
                enabled: None,
                max_binds: None,
                tps: None,
                window: None,
                bind_types: None,
                allowed_ips: None,
                allowed_senders: None,
                default_sender: None,
                address_ranges: None,
                group: None,
                callback_url: None,
            }
        )
    }

    /// Replaces the fields of `account` that this patch sets. Every store
    /// applies patches this way, so they mean the same everywhere.
    pub fn apply_to(self, account: &mut Account) {
        let AccountPatch {
            enabled,
            max_binds,
            tps,
            window,
            bind_types,
            allowed_ips,
            allowed_senders,
            default_sender,
            address_ranges,
            group,
            callback_url,
        } = self;
        if let Some(enabled) = enabled {
            account.enabled = enabled;
        }
        if let Some(max_binds) = max_binds {
            account.max_binds = max_binds;
        }
        if let Some(tps) = tps {
            account.tps = tps;
        }
        if let Some(window) = window {
            account.window = window;
        }
        if let Some(bind_types) = bind_types {
            account.bind_types = bind_types;
        }
        if let Some(allowed_ips) = allowed_ips {
            account.allowed_ips = allowed_ips;
        }
        if let Some(allowed_senders) = allowed_senders {
            account.allowed_senders = allowed_senders;
        }
        if let Some(default_sender) = default_sender {
            account.default_sender = default_sender;
        }
        if let Some(address_ranges) = address_ranges {
            account.address_ranges = address_ranges;
        }
        if let Some(group) = group {
            account.group = group;
        }
        if let Some(callback_url) = callback_url {
            account.callback_url = callback_url;
        }
    }
}

/// A key for the customer HTTP API, as listed: never the key itself, which
/// only its creator saw (the store keeps a SHA-256 of it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ApiKey {
    /// The key's public id (also written inside the key), to list and revoke it by.
    pub id: String,
    /// The account it authenticates as.
    pub account: String,
    /// What the customer or operator noted it is for.
    pub label: Option<String>,
    /// When it was created.
    #[serde(with = "crate::timefmt::rfc3339")]
    pub created_at: SystemTime,
    /// When it last authenticated a request, to the minute; `None` if never.
    #[serde(with = "crate::timefmt::rfc3339_option")]
    pub last_used_at: Option<SystemTime>,
}

/// A new API key for [`Store::create_api_key`]: its hash, never the key
/// (see [`crate::accounts::api_key`]).
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// Its public id.
    pub id: String,
    /// The account it authenticates as.
    pub account: String,
    /// The SHA-256 of the whole key, in lowercase hex.
    pub key_hash: String,
    /// A note on what it is for.
    pub label: Option<String>,
}

// Admin users and tokens

/// An operator of the admin API and the console, as listed: never the hash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AdminUser {
    /// The login name.
    pub name: String,
    /// An argon2id PHC string, as for accounts. Never a password.
    #[serde(skip)]
    pub password_hash: String,
    /// When the user was created.
    #[serde(with = "crate::timefmt::rfc3339")]
    pub created_at: SystemTime,
}

/// A token for scripts calling the admin API, as listed: never the token,
/// which only its creator saw (the store keeps a SHA-256 of it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AdminToken {
    /// The token's public id (also written inside the token).
    pub id: String,
    /// What the operator noted it is for.
    pub label: Option<String>,
    /// When it was created.
    #[serde(with = "crate::timefmt::rfc3339")]
    pub created_at: SystemTime,
    /// When it last authenticated a request, to the minute; `None` if never.
    #[serde(with = "crate::timefmt::rfc3339_option")]
    pub last_used_at: Option<SystemTime>,
}

/// A new admin token for [`Store::create_admin_token`]: its hash, never the
/// token (see [`crate::accounts::admin_token`]).
#[derive(Debug, Clone)]
pub struct NewAdminToken {
    /// Its public id.
    pub id: String,
    /// The SHA-256 of the whole token, in lowercase hex.
    pub token_hash: String,
    /// A note on what it is for.
    pub label: Option<String>,
}

// Message search (the admin API)

/// Which way a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Sent by a customer, towards a handset.
    Mt,
    /// From a handset, towards a customer.
    Mo,
}

impl Direction {
    /// The name in the store and the API: `mt` or `mo`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Mt => "mt",
            Direction::Mo => "mo",
        }
    }

    /// Parses `mt` or `mo`.
    pub fn parse(text: &str) -> Option<Direction> {
        match text {
            "mt" => Some(Direction::Mt),
            "mo" => Some(Direction::Mo),
            _ => None,
        }
    }
}

/// One provider id linked to a message: what a receipt names it by.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProviderIdLink {
    /// The connector that took the message (or one of its segments).
    pub connector: String,
    /// The provider's id, in its stored form (see [`provider_id_forms`]).
    pub provider_id: String,
}

/// Outbox items waiting for one account (or webhook), of one kind.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OutboxGroup {
    /// The account whose sessions get them; `callback` for the customer
    /// API's status callbacks, `webhook:NAME` for an MO webhook.
    pub account: String,
    /// `receipt`, `mo` or `webhook`.
    pub kind: String,
    /// How many wait.
    pub count: u64,
    /// When the oldest of them was queued.
    #[serde(with = "crate::timefmt::rfc3339")]
    pub oldest: SystemTime,
}

/// What waits in the store, for the metrics' queue-depth gauges.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepths {
    /// Messages customers sent that are `accepted`: due or scheduled, not
    /// yet claimed by dispatch.
    pub accepted: u64,
    /// Messages customers sent that are `queued`: claimed, being submitted.
    pub queued: u64,
    /// Receipts and MO messages waiting in the outbox for an account.
    pub outbox: u64,
    /// The store's size on disk in bytes (the database file, without the
    /// write-ahead log); `None` where a backend cannot tell.
    pub store_bytes: Option<u64>,
}

/// Where a message is in its life. See DESIGN.md, "Message states".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageState {
    /// Stored and acknowledged to the customer.
    Accepted,
    /// Waiting in a connector's queue.
    Queued,
    /// A provider accepted it.
    Submitted,
    /// The handset got it.
    Delivered,
    /// The network gave up on it.
    Undeliverable,
    /// Its validity ran out.
    Expired,
    /// A provider refused it for good.
    Rejected,
    /// Cancelled.
    Deleted,
    /// The provider does not know.
    Unknown,
    /// No route, or every connector refused.
    Failed,
}

impl MessageState {
    /// Every state.
    pub const ALL: [MessageState; 10] = [
        MessageState::Accepted,
        MessageState::Queued,
        MessageState::Submitted,
        MessageState::Delivered,
        MessageState::Undeliverable,
        MessageState::Expired,
        MessageState::Rejected,
        MessageState::Deleted,
        MessageState::Unknown,
        MessageState::Failed,
    ];

    /// The lowercase name used in the store, the CLI and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageState::Accepted => "accepted",
            MessageState::Queued => "queued",
            MessageState::Submitted => "submitted",
            MessageState::Delivered => "delivered",
            MessageState::Undeliverable => "undeliverable",
            MessageState::Expired => "expired",
            MessageState::Rejected => "rejected",
            MessageState::Deleted => "deleted",
            MessageState::Unknown => "unknown",
            MessageState::Failed => "failed",
        }
    }

    /// Parses a lowercase name.
    pub fn parse(text: &str) -> Option<MessageState> {
        MessageState::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
    }
}

/// An SMPP address as stored: type of number, numbering plan, text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredAddress {
    /// Type of number.
    pub ton: u8,
    /// Numbering plan.
    pub npi: u8,
    /// The address (digits, or an alphanumeric sender).
    pub addr: String,
}

/// Where one part of a long message sits in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct PartInfo {
    /// The concatenation reference the customer chose (UDH or SAR).
    pub reference: u16,
    /// How many parts the whole message has.
    pub total: u8,
    /// This part's number, 1-based.
    pub seq: u8,
}

/// Where a message came in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Origin {
    /// `smpp` or `http`.
    pub protocol: String,
    /// The customer's address.
    pub remote_addr: Option<SocketAddr>,
    /// Whether the connection was TLS.
    pub tls: bool,
    /// The session's id on this node (SMPP), for the trace.
    pub session_id: Option<u64>,
}

/// A message (or one part of a long one) as accepted, ready to be stored.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Where the customer wants its state changes POSTed (HTTP API).
    pub callback_url: Option<String>,
    /// The customer's reference, put in status callbacks (HTTP API).
    pub client_ref: Option<String>,
    /// Labels route `tag` filters match (HTTP API).
    pub tags: Vec<String>,
    /// Our id, returned to the customer: unique, at most 64 characters, sortable by time.
    pub id: String,
    /// The account's system_id.
    pub account: String,
    /// Credits to charge, atomically with storing it.
    pub cost: i64,
    /// The sender.
    pub source: StoredAddress,
    /// The recipient, normalised to E.164 digits where it is a number.
    pub destination: StoredAddress,
    /// esm_class as received (UDHI tells whether `payload` starts with a UDH).
    pub esm_class: u8,
    /// data_coding as received.
    pub data_coding: u8,
    /// protocol_id.
    pub protocol_id: u8,
    /// priority_flag.
    pub priority: u8,
    /// registered_delivery: which receipts the customer asked for.
    pub registered_delivery: u8,
    /// When to send it; `None` for now.
    pub schedule_at: Option<SystemTime>,
    /// When to give up on it; `None` for the gateway's default.
    pub expires_at: Option<SystemTime>,
    /// The message octets as received (short_message or message_payload, UDH included).
    pub payload: Vec<u8>,
    /// Set for one part of a long message: the store links the parts into one group.
    pub part: Option<PartInfo>,
    /// How many segments this row stands for (what was charged per segment).
    pub segments: u32,
    /// Where it came from.
    pub origin: Origin,
    /// When it was accepted.
    pub accepted_at: SystemTime,
    /// The first trace event's detail: what was validated and charged.
    pub trace_detail: String,
    /// The node whose dispatch takes the message from memory right after
    /// the commit: stored `queued`, claimed by it, so no claim write is
    /// needed. `None`: stored `accepted`, for [`Store::claim_due`] to find
    /// (a scheduled message, or dispatch's queue was full).
    pub claimed_by: Option<String>,
}

impl NewMessage {
    /// The message as dispatch takes it from memory once it is stored
    /// `queued` in group `group_id` (see [`NewMessage::claimed_by`]).
    pub fn to_claimed(&self, group_id: String) -> ClaimedMessage {
        ClaimedMessage {
            message: MessageRecord {
                id: self.id.clone(),
                group_id,
                account: self.account.clone(),
                state: MessageState::Queued,
                source: self.source.clone(),
                destination: self.destination.clone(),
                esm_class: self.esm_class,
                data_coding: self.data_coding,
                registered_delivery: self.registered_delivery,
                schedule_at: self.schedule_at,
                expires_at: self.expires_at,
                payload: self.payload.clone(),
                part: self.part,
                segments: self.segments,
                cost: self.cost,
                origin: self.origin.clone(),
                accepted_at: self.accepted_at,
                direction: Direction::Mt,
                connector: None,
                tags: self.tags.clone(),
                client_ref: self.client_ref.clone(),
                trace: Vec::new(),
            },
            protocol_id: self.protocol_id,
            priority: self.priority,
            progress: DispatchProgress::default(),
        }
    }
}

/// The store's verdict on a message offered to [`Store::accept`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcceptOutcome {
    /// Stored durably and charged; the id may be acknowledged. `group_id`
    /// is the id of the whole long message this part belongs to (its own id
    /// for a single message).
    Accepted {
        /// The group this message belongs to.
        group_id: String,
    },
    /// Not enough credits: nothing stored, nothing charged.
    InsufficientCredits {
        /// The balance at the time.
        balance: i64,
    },
}

/// One line of a message's history.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TraceEvent {
    /// When it happened.
    #[serde(with = "crate::timefmt::rfc3339")]
    pub at: SystemTime,
    /// Which node wrote it.
    pub node: String,
    /// A short kind: `accepted`, `routed`, `submitted`, `receipt`, …
    pub kind: String,
    /// What happened, for people.
    pub detail: String,
}

/// A stored message with its trace.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MessageRecord {
    /// Our id.
    pub id: String,
    /// The id of the long message it is part of (its own id if single).
    pub group_id: String,
    /// The account.
    pub account: String,
    /// Its state.
    pub state: MessageState,
    /// The sender.
    pub source: StoredAddress,
    /// The recipient.
    pub destination: StoredAddress,
    /// esm_class.
    pub esm_class: u8,
    /// data_coding.
    pub data_coding: u8,
    /// registered_delivery.
    pub registered_delivery: u8,
    /// Scheduled time.
    #[serde(with = "crate::timefmt::rfc3339_option")]
    pub schedule_at: Option<SystemTime>,
    /// Expiry.
    #[serde(with = "crate::timefmt::rfc3339_option")]
    pub expires_at: Option<SystemTime>,
    /// The octets as received.
    #[serde(skip)]
    pub payload: Vec<u8>,
    /// Part of a long message.
    pub part: Option<PartInfo>,
    /// Segments charged.
    pub segments: u32,
    /// Credits charged.
    pub cost: i64,
    /// Where it came from.
    pub origin: Origin,
    /// When it was accepted.
    #[serde(with = "crate::timefmt::rfc3339")]
    pub accepted_at: SystemTime,
    /// `mt` (a customer's) or `mo` (a handset's).
    pub direction: Direction,
    /// The connector of the last submit attempt (MT), or the one it came
    /// through (MO); `None` before any attempt.
    pub connector: Option<String>,
    /// Labels given by the customer (HTTP API `tags`), for route `tag` filters.
    pub tags: Vec<String>,
    /// The customer's reference given with it (HTTP API `client_ref`).
    pub client_ref: Option<String>,
    /// Its history, oldest first.
    pub trace: Vec<TraceEvent>,
}

/// Which messages to list.
#[derive(Debug, Clone, Default)]
pub struct MessageFilter {
    /// Only this account's.
    pub account: Option<String>,
    /// Only in this state.
    pub state: Option<MessageState>,
    /// Only accepted at or after this time.
    pub since: Option<SystemTime>,
    /// Only accepted before this time.
    pub until: Option<SystemTime>,
    /// Only going this way.
    pub direction: Option<Direction>,
    /// Only the parts of this long message (its group id).
    pub group: Option<String>,
    /// A search: the message with this id, or the messages whose
    /// destination or source is this number, written with or without `+`.
    pub q: Option<String>,
    /// At most this many, newest first (default 100).
    pub limit: Option<u32>,
}

/// How long another node's claim on a `queued` message holds. A node that
/// crashed while dispatching leaves its messages `queued`; once their claim
/// is this old, another node may claim them again (the node itself releases
/// its own at its next start). A node's own claims never lapse for it:
/// they wait in its dispatch queue, however long that takes. (A cluster
/// needs the node's liveness, not the claim's age, to tell a crashed node
/// from a busy one: the PostgreSQL backend's job.)
pub const CLAIM_LEASE: Duration = Duration::from_secs(5 * 60);

/// How far dispatch has got with a message. Kept with the message, so a
/// restarted node (or another one) carries on where the last attempt stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DispatchProgress {
    /// The connector of the last attempt, if any.
    pub connector: Option<String>,
    /// Attempts in a row on that connector (reset on failover).
    pub attempts: u32,
    /// Connectors the message failed over from: not tried again for it.
    pub abandoned: Vec<String>,
}

/// A message claimed for dispatch by [`Store::claim_due`].
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedMessage {
    /// The message, without its trace.
    pub message: MessageRecord,
    /// protocol_id, as submitted.
    pub protocol_id: u8,
    /// priority_flag, as submitted.
    pub priority: u8,
    /// Where dispatch stands with it.
    pub progress: DispatchProgress,
}

/// Which attempt a [`Store::record_submit_result`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt<'a> {
    /// The connector tried.
    pub connector: &'a str,
    /// The route that chose it.
    pub route: &'a str,
    /// Attempts in a row on this connector, this one included (0 when
    /// nothing was sent: a connector passed over or paused).
    pub number: u32,
}

/// What dispatch made of one submit to a connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptResult {
    /// The provider took it: state `submitted`, its id stored for receipts.
    Submitted {
        /// The provider's id for it (may be empty if it gave none).
        provider_id: String,
    },
    /// Try the same connector again at `at`: back to `accepted`, not due before then.
    RetryLater {
        /// When it is due again.
        at: SystemTime,
    },
    /// This connector will not carry it: it stays `queued` and the connector
    /// is added to [`DispatchProgress::abandoned`].
    FailOver,
    /// The provider refused it for good: state `rejected`; with `refund`,
    /// its credits go back to the account (no provider ever took it).
    Rejected {
        /// Whether to give the credits back.
        refund: bool,
    },
    /// Its validity ended before a provider took it: state `expired`.
    Expired,
}

/// An inbound message to store, with what delivers it
/// ([`Store::record_mo`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoRecord {
    /// Our id for it.
    pub id: String,
    /// The account it was routed to; empty when it went elsewhere or nowhere.
    pub account: String,
    /// The connector it came through.
    pub connector: String,
    /// `accepted` (on its way), `delivered` or `failed`.
    pub state: MessageState,
    /// The handset.
    pub source: StoredAddress,
    /// Our number.
    pub destination: StoredAddress,
    /// The alphabet of `payload`.
    pub data_coding: u8,
    /// Its text octets, all segments joined, without UDH.
    pub payload: Vec<u8>,
    /// How many segments it came in.
    pub segments: u32,
    /// When its last segment came.
    pub received_at: SystemTime,
    /// Trace lines (kind `mo`), in order.
    pub trace: Vec<String>,
    /// What delivers it.
    pub delivery: MoDelivery,
    /// The stored parts it was put together from ([`Store::store_mo_part`]),
    /// deleted in the same transaction.
    pub stored_parts: Vec<i64>,
}

/// One part of a long MO message, stored as it arrives so that its
/// provider can be answered before the other parts come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMoPart {
    /// The connector it came through.
    pub connector: String,
    /// The deliver_sm it came in, encoded (sequence 0).
    pub pdu: Vec<u8>,
    /// When it came.
    pub received_at: SystemTime,
}

/// A stored MO part, as read back at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMoPart {
    /// Its key in the store, named in [`MoRecord::stored_parts`].
    pub seq: i64,
    /// The part.
    pub part: NewMoPart,
}

/// How a stored MO message reaches its customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoDelivery {
    /// Nothing more to do (no route, or written to an Asterisk spool).
    None,
    /// deliver_sm for an SMPP account's sessions, one per segment.
    Account {
        /// The account.
        system_id: String,
        /// The encoded deliver_sm (sequence 0), in order.
        pdus: Vec<bytes::Bytes>,
    },
    /// An event for a webhook.
    Webhook {
        /// The webhook's name.
        name: String,
        /// The stored event ([`crate::mo::StoredMoEvent`]).
        event: bytes::Bytes,
    },
}

/// The forms a provider's message id is looked up by, best first. Providers
/// write the same id differently in the submit's answer and in receipts:
/// hex in one and decimal in the other, with or without leading zeros, in
/// either case (the receipt format leaves it to them). Ids are stored in
/// the first form (trimmed, leading zeros dropped, lower case); a receipt
/// is matched by its own first form, then by the other base's reading of
/// it. See [`smpp::receipt::ids_match`] for the same rule on two ids.
pub fn provider_id_forms(id: &str) -> Vec<String> {
    let trimmed = id.trim();
    let significant = trimmed.trim_start_matches('0');
    let normal = if significant.is_empty() && !trimmed.is_empty() {
        "0".to_string()
    } else {
        significant.to_ascii_lowercase()
    };
    let mut forms = vec![normal.clone()];
    let mut add = |form: String| {
        if !forms.contains(&form) {
            forms.push(form);
        }
    };
    if !normal.is_empty() && normal.len() <= 32 {
        if normal.bytes().all(|b| b.is_ascii_digit())
            && let Ok(value) = normal.parse::<u128>()
        {
            add(format!("{value:x}"));
        }
        if normal.bytes().all(|b| b.is_ascii_hexdigit())
            && let Ok(value) = u128::from_str_radix(&normal, 16)
        {
            add(value.to_string());
        }
    }
    if trimmed != normal && !trimmed.is_empty() {
        add(trimmed.to_string());
    }
    forms
}

/// The state a delivery receipt's `stat` puts a message in; `None` for the
/// intermediate ones (ENROUTE, ACCEPTD), which only add a trace event. A
/// word we do not know is taken as final and `unknown`, so the message does
/// not wait for ever.
pub fn receipt_state(stat: &ReceiptStat) -> Option<MessageState> {
    match stat {
        ReceiptStat::Enroute | ReceiptStat::Accepted => None,
        ReceiptStat::Delivered => Some(MessageState::Delivered),
        ReceiptStat::Undeliverable => Some(MessageState::Undeliverable),
        ReceiptStat::Expired => Some(MessageState::Expired),
        ReceiptStat::Rejected => Some(MessageState::Rejected),
        ReceiptStat::Deleted => Some(MessageState::Deleted),
        ReceiptStat::Unknown | ReceiptStat::Other(_) => Some(MessageState::Unknown),
    }
}

/// What a trace switch is for: one account's SMPP sessions, or one
/// connector's binds (or HTTP requests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TraceKind {
    /// An account, by system_id.
    Account,
    /// A connector, by name.
    Connector,
}

impl TraceKind {
    /// `account` or `connector`, as stored and as the CLI and the admin API spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            TraceKind::Account => "account",
            TraceKind::Connector => "connector",
        }
    }

    /// Parses `account` or `connector`.
    pub fn parse(text: &str) -> Option<TraceKind> {
        match text {
            "account" => Some(TraceKind::Account),
            "connector" => Some(TraceKind::Connector),
            _ => None,
        }
    }
}

impl std::fmt::Display for TraceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A trace switch: PDU hex dumps in the log for an account or a connector
/// until a time (see [`crate::trace_switch`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TraceSwitch {
    /// What it traces.
    pub kind: TraceKind,
    /// The account's system_id or the connector's name.
    pub name: String,
    /// When it switches itself off.
    #[serde(with = "crate::timefmt::rfc3339")]
    pub until: SystemTime,
}

/// The persistent state of smsgate. Implementations must make every
/// acknowledged write durable before returning (`synchronous=FULL` or the
/// equivalent) and may batch concurrent writes into one transaction.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Creates an account; [`StoreError::AlreadyExists`] if the system_id is taken.
    async fn create_account(&self, account: NewAccount) -> StoreResult<Account>;
    /// One account by system_id.
    async fn account(&self, system_id: &str) -> StoreResult<Option<Account>>;
    /// Every account, by system_id.
    async fn accounts(&self) -> StoreResult<Vec<Account>>;
    /// Changes an account's settings.
    async fn update_account(&self, system_id: &str, patch: AccountPatch) -> StoreResult<Account>;
    /// Replaces the password hash (password change, or upgrade of a legacy hash).
    async fn set_password_hash(&self, system_id: &str, hash: &str) -> StoreResult<()>;
    /// Adds `delta` (which may be negative) to the credits; returns the new balance.
    async fn add_credits(&self, system_id: &str, delta: i64) -> StoreResult<i64>;
    /// Deletes an account (its messages stay, for the record).
    async fn delete_account(&self, system_id: &str) -> StoreResult<()>;

    /// Stores a new HTTP API key; [`StoreError::NotFound`] if the account
    /// does not exist, [`StoreError::AlreadyExists`] if the id or hash is taken.
    async fn create_api_key(&self, key: NewApiKey) -> StoreResult<ApiKey>;
    /// An account's API keys, oldest first.
    async fn api_keys(&self, account: &str) -> StoreResult<Vec<ApiKey>>;
    /// Deletes an API key, so it authenticates nothing from now on; returns
    /// what it was. [`StoreError::NotFound`] if there is no such key.
    async fn revoke_api_key(&self, id: &str) -> StoreResult<ApiKey>;
    /// The account an API key (by the SHA-256 of the key) authenticates as,
    /// `None` for an unknown or revoked key. Notes that the key was used at
    /// `now` (at most once a minute per key, without waiting for the write).
    async fn account_for_api_key(
        &self,
        key_hash: &str,
        now: SystemTime,
    ) -> StoreResult<Option<Account>>;

    /// Charges `message.cost` credits and stores the message with state
    /// `accepted` and its first trace event, atomically: both or neither.
    /// Returns only once the message is durable.
    async fn accept(&self, message: NewMessage) -> StoreResult<AcceptOutcome>;
    /// One message with its trace.
    async fn message(&self, id: &str) -> StoreResult<Option<MessageRecord>>;
    /// Messages matching a filter, newest first, without their traces.
    async fn messages(&self, filter: MessageFilter) -> StoreResult<Vec<MessageRecord>>;
    /// Appends an event to a message's trace.
    async fn add_trace_event(&self, id: &str, event: TraceEvent) -> StoreResult<()>;
    /// How much waits: messages not yet submitted, deliveries not yet sent.
    /// Counts over indexed states, cheap enough for every metrics scrape.
    async fn queue_depths(&self) -> StoreResult<QueueDepths>;

    /// Claims up to `limit` messages that are due, for `node` to dispatch:
    /// `accepted` ones whose schedule and retry time have come, and
    /// `queued` ones of another node whose claim is older than
    /// [`CLAIM_LEASE`] (a crashed node's); never expired ones, and never
    /// `node`'s own claims (those are in its memory, and released at its
    /// start by [`Store::release_claims`]). They become `queued`, claimed by
    /// `node` at `now`, durably, before they are returned: oldest first.
    async fn claim_due(
        &self,
        node: &str,
        limit: u32,
        now: SystemTime,
    ) -> StoreResult<Vec<ClaimedMessage>>;
    /// Hands back every message `node` has claimed (they become `accepted`
    /// again): at start, for the claims of this node's previous run, so they
    /// need not wait for the lease.
    async fn release_claims(&self, node: &str) -> StoreResult<u64>;
    /// Records what became of attempt `attempt` of a `queued` message
    /// (see [`AttemptResult`]), with `detail` (the provider's status) in
    /// the trace. One write per attempt, after its answer: a crash before
    /// it leaves the message `queued`, sent again after the restart (the
    /// at-least-once window). Storing a provider id applies any receipt
    /// that came for it first.
    async fn record_submit_result(
        &self,
        id: &str,
        attempt: Attempt<'_>,
        result: AttemptResult,
        detail: &str,
        now: SystemTime,
    ) -> StoreResult<()>;
    /// Ends a message that cannot be sent (no route, every connector
    /// refused): state `failed`, with `reason` in the trace; with `refund`,
    /// its credits go back to the account in the same transaction.
    async fn record_failure(
        &self,
        id: &str,
        reason: &str,
        refund: bool,
        now: SystemTime,
    ) -> StoreResult<()>;
    /// Links more provider ids to message `id` (a message sent as several
    /// segments on `connector`), applying receipts that came for them first.
    async fn add_provider_ids(
        &self,
        id: &str,
        connector: &str,
        provider_ids: &[String],
        now: SystemTime,
    ) -> StoreResult<()>;
    /// Applies a delivery receipt: finds the message by the connector and
    /// the provider's id, moves a `submitted` message to the receipt's final
    /// state (see [`receipt_state`]) and traces it. Returns the message id;
    /// `None` if the provider id is not known yet, in which case the receipt
    /// is kept and applied when [`Store::record_submit_result`] stores it.
    async fn apply_receipt(
        &self,
        connector: &str,
        provider_id: &str,
        stat: &ReceiptStat,
        err: &str,
        now: SystemTime,
    ) -> StoreResult<Option<String>>;
    /// Moves messages not yet with a provider (`accepted`, or `queued` under
    /// a lapsed claim) whose validity ended by `now` to `expired`, with a
    /// trace event; returns how many.
    async fn expire_due(&self, now: SystemTime) -> StoreResult<u64>;
    /// Claims up to `limit` outbox items (receipts and MO for SMPP
    /// customers) of `accounts` that are due at `now` and not claimed by a
    /// live node, oldest first, for `node`.
    async fn claim_outbox(
        &self,
        node: &str,
        accounts: &[String],
        limit: u32,
        now: SystemTime,
    ) -> StoreResult<Vec<crate::outbox::OutboxItem>>;
    /// Records how an attempt to deliver outbox item `seq` (about message
    /// `message_id`) ended: delivered or dropped items leave the outbox, a
    /// retry is due again at its time; each is traced on the message.
    async fn finish_outbox(
        &self,
        seq: i64,
        message_id: &str,
        kind: crate::outbox::OutboxKind,
        result: crate::outbox::OutboxResult,
        now: SystemTime,
    ) -> StoreResult<()>;
    /// Drops outbox items queued before `before`, with a trace event each;
    /// returns how many.
    async fn expire_outbox(&self, before: SystemTime, now: SystemTime) -> StoreResult<u64>;
    /// Stores an inbound message, its trace and its outbox entries in one
    /// transaction.
    async fn record_mo(&self, record: MoRecord) -> StoreResult<()>;
    /// Stores one part of a long MO message until the rest comes; returns
    /// its key. Durable when it returns.
    async fn store_mo_part(&self, part: NewMoPart) -> StoreResult<i64>;
    /// Every stored MO part, oldest first (at start).
    async fn mo_parts(&self) -> StoreResult<Vec<StoredMoPart>>;
    /// Releases the outbox claims `node` holds (at its start).
    async fn release_outbox_claims(&self, node: &str) -> StoreResult<u64>;
    /// Drops the receipts kept for a provider id no submit answer named,
    /// received before `before`; returns how many.
    async fn purge_pending_receipts(&self, before: SystemTime) -> StoreResult<u64>;
    /// Deletes up to `limit` messages (MT and MO) accepted before `before`
    /// that dispatch is done with (any state but `accepted` and `queued`),
    /// oldest first, with their traces, provider ids and outbox items, in
    /// one transaction; returns how many. Retention calls it in small
    /// batches, so no one write holds the store for long.
    async fn purge_messages(&self, before: SystemTime, limit: u32) -> StoreResult<u64>;

    // Admin users and tokens

    /// Creates an admin user; [`StoreError::AlreadyExists`] if the name is taken.
    async fn create_admin_user(&self, name: &str, password_hash: &str) -> StoreResult<AdminUser>;
    /// One admin user by name.
    async fn admin_user(&self, name: &str) -> StoreResult<Option<AdminUser>>;
    /// Every admin user, by name.
    async fn admin_users(&self) -> StoreResult<Vec<AdminUser>>;
    /// Replaces an admin user's password hash; [`StoreError::NotFound`] if
    /// there is no such user.
    async fn set_admin_password_hash(&self, name: &str, hash: &str) -> StoreResult<()>;
    /// Deletes an admin user; [`StoreError::NotFound`] if there is no such user.
    async fn delete_admin_user(&self, name: &str) -> StoreResult<()>;
    /// Stores a new admin token; [`StoreError::AlreadyExists`] if the id or
    /// hash is taken.
    async fn create_admin_token(&self, token: NewAdminToken) -> StoreResult<AdminToken>;
    /// Every admin token, oldest first.
    async fn admin_tokens(&self) -> StoreResult<Vec<AdminToken>>;
    /// Deletes an admin token, so it authenticates nothing from now on;
    /// returns what it was. [`StoreError::NotFound`] if there is no such token.
    async fn revoke_admin_token(&self, id: &str) -> StoreResult<AdminToken>;
    /// The admin token with this SHA-256, `None` for an unknown or revoked
    /// one. Notes that it was used at `now` (at most once a minute, without
    /// waiting for the write).
    async fn admin_token_for_hash(
        &self,
        token_hash: &str,
        now: SystemTime,
    ) -> StoreResult<Option<AdminToken>>;

    // Message search (the admin API)

    /// The provider ids linked to message `id`, in the order they were stored.
    async fn provider_ids(&self, id: &str) -> StoreResult<Vec<ProviderIdLink>>;
    /// What waits in the outbox, by account and kind, with the oldest item's age.
    async fn outbox_summary(&self) -> StoreResult<Vec<OutboxGroup>>;

    // Trace switches

    /// Switches trace on for `kind` `name` until `until`, replacing the
    /// time of a switch already there; returns the switch as stored.
    async fn set_trace_switch(
        &self,
        kind: TraceKind,
        name: &str,
        until: SystemTime,
    ) -> StoreResult<TraceSwitch>;
    /// Switches trace off for `kind` `name`; returns whether a switch was
    /// stored (still on or already expired).
    async fn clear_trace_switch(&self, kind: TraceKind, name: &str) -> StoreResult<bool>;
    /// The switches still on at `now` (`until` after it), by kind and name.
    async fn trace_switches(&self, now: SystemTime) -> StoreResult<Vec<TraceSwitch>>;

    /// Waits until every write handed to the store so far is durable, then
    /// stops accepting writes (graceful shutdown).
    async fn close(&self) -> StoreResult<()>;
}

#[cfg(test)]
mod provider_id_tests {
    use super::provider_id_forms;

    #[test]
    fn provider_ids_are_stored_trimmed_without_leading_zeros_in_lower_case() {
        assert_eq!(provider_id_forms(" 00AbC ")[0], "abc");
        assert_eq!(provider_id_forms("000")[0], "0");
    }

    #[test]
    fn a_decimal_receipt_id_finds_a_hex_submit_id_and_back() {
        // 0x1A2B = 6699
        assert!(provider_id_forms("6699").contains(&"1a2b".to_string()));
        assert!(provider_id_forms("00001A2B").contains(&"6699".to_string()));
        assert_eq!(
            provider_id_forms("6699")[0],
            "6699",
            "the id as written first"
        );
    }

    #[test]
    fn ids_that_are_not_numbers_have_one_form() {
        assert_eq!(provider_id_forms("msg-42"), vec!["msg-42".to_string()]);
        let uuid = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";
        assert_eq!(provider_id_forms(uuid), vec![uuid.to_string()]);
    }
}
