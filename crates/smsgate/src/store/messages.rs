//! Messages as the store keeps them: an MT message from its acceptance
//! through dispatch to its end, its trace, MO messages and their parts, and
//! what the admin API and the metrics read about them.

use std::net::SocketAddr;
use std::time::SystemTime;

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
    ///
    /// [`provider_id_forms`]: crate::store::provider_id_forms
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
    ///
    /// [`Store::claim_due`]: crate::store::Store::claim_due
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
///
/// [`Store::accept`]: crate::store::Store::accept
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
///
/// [`Store::claim_due`]: crate::store::Store::claim_due
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
///
/// [`Store::record_submit_result`]: crate::store::Store::record_submit_result
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
///
/// [`Store::record_mo`]: crate::store::Store::record_mo
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
    ///
    /// [`Store::store_mo_part`]: crate::store::Store::store_mo_part
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
        /// The stored event ([`crate::tracking::mo::StoredMoEvent`]).
        event: bytes::Bytes,
    },
}
