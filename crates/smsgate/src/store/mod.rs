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

mod accounts;
mod messages;

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use smpp::receipt::ReceiptStat;

pub use accounts::{
    Account, AccountPatch, AdminToken, AdminUser, ApiKey, BindType, IdempotencyClaim, IpBlock,
    NewAccount, NewAdminToken, NewApiKey, Surface, TraceKind, TraceSwitch,
};
pub use messages::{
    AcceptOutcome, Attempt, AttemptResult, ClaimedMessage, Direction, DispatchProgress,
    MessageFilter, MessageRecord, MessageState, MoDelivery, MoRecord, NewMessage, NewMoPart,
    Origin, OutboxGroup, PartInfo, ProviderIdLink, QueueDepths, StoredAddress, StoredMoPart,
    TraceEvent,
};

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

/// How long another node's claim on a `queued` message holds. A node that
/// crashed while dispatching leaves its messages `queued`; once their claim
/// is this old, another node may claim them again (the node itself releases
/// its own at its next start). A node's own claims never lapse for it:
/// they wait in its dispatch queue, however long that takes. (A cluster
/// needs the node's liveness, not the claim's age, to tell a crashed node
/// from a busy one: the PostgreSQL backend's job.)
pub const CLAIM_LEASE: Duration = Duration::from_secs(5 * 60);

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
    /// customers, status events for webhooks) that are due at `now` and not
    /// claimed by a live node, for `node`: of each of `accounts` at most its
    /// number, oldest first, the accounts taken in the order given until
    /// `limit` is reached.
    async fn claim_outbox(
        &self,
        node: &str,
        accounts: &[(String, u32)],
        limit: u32,
        now: SystemTime,
    ) -> StoreResult<Vec<crate::delivery::outbox::OutboxItem>>;
    /// Records how an attempt to deliver outbox item `seq` (about message
    /// `message_id`) ended: delivered or dropped items leave the outbox, a
    /// retry is due again at its time; each is traced on the message.
    async fn finish_outbox(
        &self,
        seq: i64,
        message_id: &str,
        kind: crate::delivery::outbox::OutboxKind,
        result: crate::delivery::outbox::OutboxResult,
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

    // Idempotency keys of the customer API

    /// Looks up `key` of `account` and holds it for this request unless
    /// another holds it or has answered: a first request (or one whose
    /// holder has not answered since before `stale_before`) gets
    /// [`IdempotencyClaim::New`]. Deletes some keys from before
    /// `expired_before` on the way.
    async fn claim_idempotency_key(
        &self,
        account: &str,
        key: &str,
        request_hash: Vec<u8>,
        now: SystemTime,
        stale_before: SystemTime,
        expired_before: SystemTime,
    ) -> StoreResult<IdempotencyClaim>;
    /// Stores the answer to the request that holds `key`.
    async fn finish_idempotency_key(
        &self,
        account: &str,
        key: &str,
        status: u16,
        body: Vec<u8>,
    ) -> StoreResult<()>;
    /// Lets `key` go unanswered (its request failed in a way worth retrying).
    async fn release_idempotency_key(&self, account: &str, key: &str) -> StoreResult<()>;

    // Blocked addresses

    /// Stores blocks (replacing the `until` and node of one already there
    /// for the same surface and address), and deletes those that are over.
    async fn put_ip_blocks(&self, blocks: Vec<IpBlock>) -> StoreResult<()>;
    /// The blocks not over at `now`, by surface and address.
    async fn ip_blocks(&self, now: SystemTime) -> StoreResult<Vec<IpBlock>>;
    /// Lifts the blocks of `address` (on `surface`, or on every surface);
    /// returns how many there were.
    async fn delete_ip_blocks(
        &self,
        address: std::net::IpAddr,
        surface: Option<Surface>,
    ) -> StoreResult<u64>;

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
