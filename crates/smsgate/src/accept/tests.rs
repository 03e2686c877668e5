//! The accept pipeline end to end, over an in-memory store: each step's
//! status, the order of the steps, segments and cost, the shared rate limit,
//! and that a rejection charges nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use smpp::types::{esm_class, ton};
use smpp::{Address, COctetString, CommandStatus};

use super::*;
use smpp::receipt::ReceiptStat;

use crate::store::{
    AccountPatch, ApiKey, Attempt, AttemptResult, BindType, ClaimedMessage, MessageFilter,
    MessageRecord, NewAccount, NewApiKey, QueueDepths, StoreError, StoreResult, TraceEvent,
};

/// A store that keeps accounts and accepted messages in memory, charging
/// credits under one lock so that the check and the charge are atomic.
#[derive(Default)]
struct MemoryStore {
    accounts: Mutex<HashMap<String, Account>>,
    messages: Mutex<Vec<NewMessage>>,
    failing: bool,
}

impl MemoryStore {
    fn with_account(account: &Account) -> Arc<MemoryStore> {
        let store = MemoryStore::default();
        store
            .accounts
            .lock()
            .expect("lock")
            .insert(account.system_id.clone(), account.clone());
        Arc::new(store)
    }

    fn credits(&self, system_id: &str) -> i64 {
        self.accounts.lock().expect("lock")[system_id].credits
    }

    fn stored(&self) -> Vec<NewMessage> {
        self.messages.lock().expect("lock").clone()
    }
}

fn not_found(system_id: &str) -> StoreError {
    StoreError::NotFound(format!("account {system_id}"))
}

#[async_trait]
impl Store for MemoryStore {
    async fn create_account(&self, new: NewAccount) -> StoreResult<Account> {
        let account = Account {
            system_id: new.system_id.clone(),
            password_hash: new.password_hash,
            enabled: true,
            credits: new.credits,
            max_binds: new.max_binds,
            tps: new.tps,
            window: new.window,
            deliver_window: new.deliver_window,
            bind_types: new.bind_types,
            allowed_ips: new.allowed_ips,
            allowed_senders: new.allowed_senders,
            default_sender: new.default_sender,
            address_ranges: new.address_ranges,
            group: new.group,
            callback_url: None,
            created_at: SystemTime::now(),
        };
        let mut accounts = self.accounts.lock().expect("lock");
        if accounts.contains_key(&new.system_id) {
            return Err(StoreError::AlreadyExists(new.system_id));
        }
        accounts.insert(new.system_id, account.clone());
        Ok(account)
    }

    async fn account(&self, system_id: &str) -> StoreResult<Option<Account>> {
        Ok(self.accounts.lock().expect("lock").get(system_id).cloned())
    }

    async fn accounts(&self) -> StoreResult<Vec<Account>> {
        Ok(self
            .accounts
            .lock()
            .expect("lock")
            .values()
            .cloned()
            .collect())
    }

    async fn update_account(&self, system_id: &str, patch: AccountPatch) -> StoreResult<Account> {
        let mut accounts = self.accounts.lock().expect("lock");
        let account = accounts
            .get_mut(system_id)
            .ok_or_else(|| not_found(system_id))?;
        if let Some(tps) = patch.tps {
            account.tps = tps;
        }
        if let Some(senders) = patch.allowed_senders {
            account.allowed_senders = senders;
        }
        Ok(account.clone())
    }

    async fn set_password_hash(&self, system_id: &str, hash: &str) -> StoreResult<()> {
        let mut accounts = self.accounts.lock().expect("lock");
        let account = accounts
            .get_mut(system_id)
            .ok_or_else(|| not_found(system_id))?;
        account.password_hash = hash.to_owned();
        Ok(())
    }

    async fn add_credits(&self, system_id: &str, delta: i64) -> StoreResult<i64> {
        let mut accounts = self.accounts.lock().expect("lock");
        let account = accounts
            .get_mut(system_id)
            .ok_or_else(|| not_found(system_id))?;
        account.credits += delta;
        Ok(account.credits)
    }

    async fn delete_account(&self, system_id: &str) -> StoreResult<()> {
        self.accounts
            .lock()
            .expect("lock")
            .remove(system_id)
            .map(drop)
            .ok_or_else(|| not_found(system_id))
    }

    // API keys are the HTTP API's business, not acceptance's: none exist here.
    async fn create_api_key(&self, key: NewApiKey) -> StoreResult<ApiKey> {
        Err(not_found(&key.account))
    }

    async fn api_keys(&self, _account: &str) -> StoreResult<Vec<ApiKey>> {
        Ok(Vec::new())
    }

    async fn revoke_api_key(&self, id: &str) -> StoreResult<ApiKey> {
        Err(StoreError::NotFound(format!("API key {id}")))
    }

    async fn account_for_api_key(
        &self,
        _key_hash: &str,
        _now: SystemTime,
    ) -> StoreResult<Option<Account>> {
        Ok(None)
    }

    async fn accept(&self, message: NewMessage) -> StoreResult<AcceptOutcome> {
        if self.failing {
            return Err(StoreError::Backend("disk on fire".into()));
        }
        let mut accounts = self.accounts.lock().expect("lock");
        let account = accounts
            .get_mut(&message.account)
            .ok_or_else(|| not_found(&message.account))?;
        if account.credits < message.cost {
            return Ok(AcceptOutcome::InsufficientCredits {
                balance: account.credits,
            });
        }
        account.credits -= message.cost;
        let group_id = message.id.clone();
        self.messages.lock().expect("lock").push(message);
        Ok(AcceptOutcome::Accepted { group_id })
    }

    async fn message(&self, _id: &str) -> StoreResult<Option<MessageRecord>> {
        Ok(None)
    }

    async fn messages(&self, _filter: MessageFilter) -> StoreResult<Vec<MessageRecord>> {
        Ok(Vec::new())
    }

    async fn queue_depths(&self) -> StoreResult<QueueDepths> {
        Ok(QueueDepths {
            accepted: self.messages.lock().expect("lock").len() as u64,
            ..QueueDepths::default()
        })
    }

    async fn add_trace_event(&self, id: &str, _event: TraceEvent) -> StoreResult<()> {
        Err(StoreError::NotFound(format!("message {id}")))
    }

    // Dispatch and tracking are not part of acceptance: this store keeps no
    // dispatch state, so nothing is ever due and no message is found.
    async fn claim_due(
        &self,
        _node: &str,
        _limit: u32,
        _now: SystemTime,
    ) -> StoreResult<Vec<ClaimedMessage>> {
        Ok(Vec::new())
    }

    async fn release_claims(&self, _node: &str) -> StoreResult<u64> {
        Ok(0)
    }

    async fn record_submit_result(
        &self,
        id: &str,
        _attempt: Attempt<'_>,
        _result: AttemptResult,
        _detail: &str,
        _now: SystemTime,
    ) -> StoreResult<()> {
        Err(StoreError::NotFound(format!("message {id}")))
    }

    async fn record_failure(
        &self,
        id: &str,
        _reason: &str,
        _refund: bool,
        _now: SystemTime,
    ) -> StoreResult<()> {
        Err(StoreError::NotFound(format!("message {id}")))
    }

    async fn apply_receipt(
        &self,
        _connector: &str,
        _provider_id: &str,
        _stat: &ReceiptStat,
        _err: &str,
        _now: SystemTime,
    ) -> StoreResult<Option<String>> {
        Ok(None)
    }

    async fn expire_due(&self, _now: SystemTime) -> StoreResult<u64> {
        Ok(0)
    }

    async fn purge_pending_receipts(&self, _before: SystemTime) -> StoreResult<u64> {
        Ok(0)
    }

    async fn purge_messages(&self, _before: SystemTime, _limit: u32) -> StoreResult<u64> {
        Ok(0)
    }

    async fn claim_outbox(
        &self,
        _node: &str,
        _accounts: &[(String, u32)],
        _limit: u32,
        _now: SystemTime,
    ) -> StoreResult<Vec<crate::delivery::outbox::OutboxItem>> {
        Ok(Vec::new())
    }

    async fn finish_outbox(
        &self,
        _seq: i64,
        _message_id: &str,
        _kind: crate::delivery::outbox::OutboxKind,
        _result: crate::delivery::outbox::OutboxResult,
        _now: SystemTime,
    ) -> StoreResult<()> {
        Ok(())
    }

    async fn expire_outbox(&self, _before: SystemTime, _now: SystemTime) -> StoreResult<u64> {
        Ok(0)
    }

    async fn add_provider_ids(
        &self,
        _id: &str,
        _connector: &str,
        _provider_ids: &[String],
        _now: SystemTime,
    ) -> StoreResult<()> {
        Ok(())
    }

    async fn record_mo(&self, _record: crate::store::MoRecord) -> StoreResult<()> {
        Ok(())
    }

    async fn release_outbox_claims(&self, _node: &str) -> StoreResult<u64> {
        Ok(0)
    }

    async fn store_mo_part(&self, _part: crate::store::NewMoPart) -> StoreResult<i64> {
        Ok(0)
    }

    async fn mo_parts(&self) -> StoreResult<Vec<crate::store::StoredMoPart>> {
        Ok(Vec::new())
    }

    async fn set_trace_switch(
        &self,
        kind: crate::store::TraceKind,
        name: &str,
        until: SystemTime,
    ) -> StoreResult<crate::store::TraceSwitch> {
        Ok(crate::store::TraceSwitch {
            kind,
            name: name.to_string(),
            until,
        })
    }

    async fn clear_trace_switch(
        &self,
        _kind: crate::store::TraceKind,
        _name: &str,
    ) -> StoreResult<bool> {
        Ok(false)
    }

    async fn trace_switches(
        &self,
        _now: SystemTime,
    ) -> StoreResult<Vec<crate::store::TraceSwitch>> {
        Ok(Vec::new())
    }

    async fn claim_idempotency_key(
        &self,
        _account: &str,
        _key: &str,
        _request_hash: Vec<u8>,
        _now: SystemTime,
        _stale_before: SystemTime,
        _expired_before: SystemTime,
    ) -> StoreResult<crate::store::IdempotencyClaim> {
        Ok(crate::store::IdempotencyClaim::New)
    }

    async fn finish_idempotency_key(
        &self,
        _account: &str,
        _key: &str,
        _status: u16,
        _body: Vec<u8>,
    ) -> StoreResult<()> {
        Ok(())
    }

    async fn release_idempotency_key(&self, _account: &str, _key: &str) -> StoreResult<()> {
        Ok(())
    }

    async fn put_ip_blocks(&self, _blocks: Vec<crate::store::IpBlock>) -> StoreResult<()> {
        Ok(())
    }

    async fn ip_blocks(&self, _now: SystemTime) -> StoreResult<Vec<crate::store::IpBlock>> {
        Ok(Vec::new())
    }

    async fn delete_ip_blocks(
        &self,
        _address: std::net::IpAddr,
        _surface: Option<crate::store::Surface>,
    ) -> StoreResult<u64> {
        Ok(0)
    }

    // Admin users and tokens, message search: not used by acceptance.

    async fn create_admin_user(
        &self,
        name: &str,
        _password_hash: &str,
    ) -> StoreResult<crate::store::AdminUser> {
        Err(StoreError::Backend(format!(
            "no admin user {name} in this test store"
        )))
    }

    async fn admin_user(&self, _name: &str) -> StoreResult<Option<crate::store::AdminUser>> {
        Ok(None)
    }

    async fn admin_users(&self) -> StoreResult<Vec<crate::store::AdminUser>> {
        Ok(Vec::new())
    }

    async fn set_admin_password_hash(&self, name: &str, _hash: &str) -> StoreResult<()> {
        Err(StoreError::NotFound(format!("admin user {name}")))
    }

    async fn delete_admin_user(&self, name: &str) -> StoreResult<()> {
        Err(StoreError::NotFound(format!("admin user {name}")))
    }

    async fn create_admin_token(
        &self,
        token: crate::store::NewAdminToken,
    ) -> StoreResult<crate::store::AdminToken> {
        Err(StoreError::Backend(format!(
            "no admin token {} in this test store",
            token.id
        )))
    }

    async fn admin_tokens(&self) -> StoreResult<Vec<crate::store::AdminToken>> {
        Ok(Vec::new())
    }

    async fn revoke_admin_token(&self, id: &str) -> StoreResult<crate::store::AdminToken> {
        Err(StoreError::NotFound(format!("admin token {id}")))
    }

    async fn admin_token_for_hash(
        &self,
        _token_hash: &str,
        _now: SystemTime,
    ) -> StoreResult<Option<crate::store::AdminToken>> {
        Ok(None)
    }

    async fn provider_ids(&self, _id: &str) -> StoreResult<Vec<crate::store::ProviderIdLink>> {
        Ok(Vec::new())
    }

    async fn outbox_summary(&self) -> StoreResult<Vec<crate::store::OutboxGroup>> {
        Ok(Vec::new())
    }

    async fn close(&self) -> StoreResult<()> {
        Ok(())
    }
}

fn account() -> Account {
    Account {
        system_id: "acme".into(),
        password_hash: String::new(),
        enabled: true,
        credits: 100,
        max_binds: 4,
        tps: None,
        window: 10,
        deliver_window: 10,
        bind_types: BindType::ALL.to_vec(),
        allowed_ips: Vec::new(),
        allowed_senders: Vec::new(),
        default_sender: None,
        address_ranges: Vec::new(),
        group: None,
        callback_url: None,
        created_at: SystemTime::UNIX_EPOCH,
    }
}

fn origin() -> Origin {
    Origin {
        protocol: "smpp".into(),
        remote_addr: Some("192.0.2.7:40000".parse().expect("address")),
        tls: true,
        session_id: Some(17),
    }
}

fn address(ton: u8, text: &str) -> Address {
    Address::new(ton, 1, COctetString::try_from(text).expect("no NUL"))
}

fn text(t: &str) -> COctetString {
    COctetString::try_from(t).expect("no NUL")
}

/// A valid one-segment message from an alphanumeric sender to a UK mobile.
fn submission() -> Submission {
    Submission {
        callback_url: None,
        source: address(ton::ALPHANUMERIC, "MyBrand"),
        destination: address(ton::INTERNATIONAL, "447912345678"),
        short_message: Bytes::from_static(b"Your code is 8642"),
        ..Submission::default()
    }
}

fn acceptor_with(store: Arc<MemoryStore>, config: AcceptConfig) -> Acceptor {
    Acceptor {
        store,
        config,
        numbers: numbers::tests::shared_table(),
        rates: AccountRates::new(),
        ids: MessageIds::new(),
        stored: Arc::new(tokio::sync::Notify::new()),
        dispatch: None,
        metrics: None,
    }
}

fn acceptor(store: Arc<MemoryStore>) -> Acceptor {
    acceptor_with(store, AcceptConfig::default())
}

async fn status_of(account: &Account, submission: Submission) -> CommandStatus {
    let store = MemoryStore::with_account(account);
    let rejection = acceptor(store.clone())
        .accept(account, origin(), submission)
        .await
        .expect_err("rejected");
    assert!(store.stored().is_empty(), "a rejected message was stored");
    assert_eq!(
        store.credits(&account.system_id),
        account.credits,
        "a rejected message was charged"
    );
    rejection.status
}

async fn accepted(account: &Account, submission: Submission) -> (Accepted, NewMessage) {
    let store = MemoryStore::with_account(account);
    let accepted = acceptor(store.clone())
        .accept(account, origin(), submission)
        .await
        .expect("accepted");
    let stored = store.stored().pop().expect("stored");
    (accepted, stored)
}

#[tokio::test]
async fn a_message_due_now_is_stored_claimed_and_handed_to_dispatch_while_its_queue_has_room() {
    let account = account();
    let store = MemoryStore::with_account(&account);
    let (queue, mut receiver) = crate::dispatch::queue::queue("node-1", 1);
    let acceptor = acceptor(store.clone()).with_dispatch(queue);
    let stored_signal = acceptor.stored_signal();

    let first = acceptor
        .accept(&account, origin(), submission())
        .await
        .expect("accepted");
    let second = acceptor
        .accept(&account, origin(), submission())
        .await
        .expect("accepted");
    let mut later = submission();
    later.schedule_delivery_time = text("000000010000000R");
    let scheduled = acceptor
        .accept(&account, origin(), later)
        .await
        .expect("accepted");

    let stored = store.stored();
    let claimed: Vec<(&str, Option<&str>)> = stored
        .iter()
        .map(|message| (message.id.as_str(), message.claimed_by.as_deref()))
        .collect();
    assert_eq!(
        claimed,
        [
            (first.id.as_str(), Some("node-1")),
            (second.id.as_str(), None),
            (scheduled.id.as_str(), None),
        ],
        "the first takes the queue's one place; the second finds it full; \
         a scheduled message always waits in the store"
    );
    let handed = receiver
        .receiver
        .try_recv()
        .expect("the first was handed over");
    assert_eq!(handed.message.id, first.id);
    assert_eq!(handed.message.group_id, first.group_id);
    assert!(receiver.receiver.try_recv().is_err(), "only the first");
    tokio::time::timeout(std::time::Duration::from_secs(1), stored_signal.notified())
        .await
        .expect("dispatch is told to look in the store for the others");
}

#[tokio::test]
async fn valid_message_is_stored_charged_and_normalised() {
    let mut submission = submission();
    submission.destination = address(ton::UNKNOWN, "+4407912345678");
    let (accepted, stored) = accepted(&account(), submission).await;
    assert_eq!(accepted.segments, 1);
    assert_eq!(accepted.cost, 1);
    assert_eq!(accepted.group_id, accepted.id);
    assert_eq!(stored.id, accepted.id);
    assert_eq!(
        stored.destination,
        StoredAddress {
            ton: 1,
            npi: 1,
            addr: "447912345678".into()
        }
    );
    assert_eq!(stored.source.addr, "MyBrand");
    assert_eq!(stored.payload, b"Your code is 8642");
    assert!(stored.expires_at.is_some());
}

#[tokio::test]
async fn trace_says_who_and_what_but_never_the_text() {
    let (_, stored) = accepted(&account(), submission()).await;
    let detail = &stored.trace_detail;
    for expected in [
        "acme",
        "192.0.2.7:40000",
        "TLS",
        "session 17",
        "447912345678",
        "cost 1 credit",
    ] {
        assert!(
            detail.contains(expected),
            "{expected:?} missing from {detail:?}"
        );
    }
    assert!(
        !detail.contains("code is"),
        "the trace quotes the message: {detail:?}"
    );
}

#[tokio::test]
async fn empty_destination_is_invalid_destination() {
    let mut submission = submission();
    submission.destination = address(ton::INTERNATIONAL, "");
    assert_eq!(
        status_of(&account(), submission).await,
        CommandStatus::ESME_RINVDSTADR
    );
}

#[tokio::test]
async fn destination_longer_than_21_characters_is_invalid_destination() {
    let mut submission = submission();
    submission.destination = address(ton::NATIONAL, &"1".repeat(22));
    assert_eq!(
        status_of(&account(), submission).await,
        CommandStatus::ESME_RINVDSTADR
    );
}

#[tokio::test]
async fn destination_that_is_no_e164_number_is_invalid_destination() {
    let mut submission = submission();
    submission.destination = address(ton::INTERNATIONAL, "4412");
    assert_eq!(
        status_of(&account(), submission).await,
        CommandStatus::ESME_RINVDSTADR
    );
}

#[tokio::test]
async fn national_destination_with_letters_is_invalid_destination() {
    let mut submission = submission();
    submission.destination = address(ton::NATIONAL, "0770O900123");
    assert_eq!(
        status_of(&account(), submission).await,
        CommandStatus::ESME_RINVDSTADR
    );
}

#[tokio::test]
async fn short_code_destination_is_kept_as_given() {
    let mut submission = submission();
    submission.destination = address(ton::NETWORK_SPECIFIC, "12345");
    let (_, stored) = accepted(&account(), submission).await;
    assert_eq!(stored.destination.addr, "12345");
    assert_eq!(stored.destination.ton, ton::NETWORK_SPECIFIC);
}

#[tokio::test]
async fn empty_sender_takes_the_account_default() {
    let mut account = account();
    account.default_sender = Some("Acme".into());
    let mut submission = submission();
    submission.source = address(ton::UNKNOWN, "");
    let (_, stored) = accepted(&account, submission).await;
    assert_eq!(
        stored.source,
        StoredAddress {
            ton: ton::ALPHANUMERIC,
            npi: 0,
            addr: "Acme".into()
        }
    );
}

#[tokio::test]
async fn empty_sender_without_default_is_invalid_source() {
    let mut submission = submission();
    submission.source = address(ton::UNKNOWN, "");
    assert_eq!(
        status_of(&account(), submission).await,
        CommandStatus::ESME_RINVSRCADR
    );
}

#[tokio::test]
async fn sender_not_allowed_for_the_account_is_invalid_source() {
    let mut account = account();
    account.allowed_senders = vec!["Acme*".into(), "4477*".into()];
    assert_eq!(
        status_of(&account, submission()).await,
        CommandStatus::ESME_RINVSRCADR
    );
    let mut allowed = submission();
    allowed.source = address(ton::ALPHANUMERIC, "ACMEshop");
    accepted(&account, allowed).await;
}

#[tokio::test]
async fn alphanumeric_sender_over_11_characters_is_invalid_source() {
    let mut submission = submission();
    submission.source = address(ton::ALPHANUMERIC, "MyBrandIsLong");
    assert_eq!(
        status_of(&account(), submission).await,
        CommandStatus::ESME_RINVSRCADR
    );
}

#[tokio::test]
async fn alphanumeric_sender_outside_gsm_is_invalid_source() {
    let mut submission = submission();
    submission.source = address(ton::ALPHANUMERIC, "Brand™");
    assert_eq!(
        status_of(&account(), submission).await,
        CommandStatus::ESME_RINVSRCADR
    );
}

#[tokio::test]
async fn international_sender_with_letters_is_invalid_source() {
    let mut submission = submission();
    submission.source = address(ton::INTERNATIONAL, "44770O");
    assert_eq!(
        status_of(&account(), submission).await,
        CommandStatus::ESME_RINVSRCADR
    );
}

#[tokio::test]
async fn unsupported_data_coding_is_invalid_data_coding() {
    let mut submission = submission();
    submission.data_coding = 0x06;
    assert_eq!(
        status_of(&account(), submission).await,
        CommandStatus::ESME_RINVDCS
    );
}

#[tokio::test]
async fn binary_data_coding_is_accepted() {
    let mut submission = submission();
    submission.data_coding = 0x04;
    submission.short_message = Bytes::from_static(&[0xFF, 0x00, 0x81]);
    let (accepted, _) = accepted(&account(), submission).await;
    assert_eq!(accepted.segments, 1);
}

#[tokio::test]
async fn short_message_over_254_octets_is_invalid_length() {
    let mut submission = submission();
    submission.short_message = Bytes::from(vec![b'a'; 255]);
    assert_eq!(
        status_of(&account(), submission).await,
        CommandStatus::ESME_RINVMSGLEN
    );
}

#[tokio::test]
async fn an_empty_message_is_invalid_length_and_not_charged() {
    let mut submission = submission();
    submission.short_message = Bytes::new();
    assert_eq!(
        status_of(&account(), submission.clone()).await,
        CommandStatus::ESME_RINVMSGLEN
    );
    submission.message_payload = Some(Bytes::new());
    assert_eq!(
        status_of(&account(), submission).await,
        CommandStatus::ESME_RINVMSGLEN
    );
}

#[tokio::test]
async fn short_message_and_payload_together_are_invalid_length() {
    let mut submission = submission();
    submission.message_payload = Some(Bytes::from_static(b"also here"));
    assert_eq!(
        status_of(&account(), submission).await,
        CommandStatus::ESME_RINVMSGLEN
    );
}

#[tokio::test]
async fn payload_over_the_configured_maximum_is_invalid_length() {
    let mut submission = submission();
    submission.short_message = Bytes::new();
    submission.message_payload = Some(Bytes::from(vec![
        b'a';
        AcceptConfig::default().max_payload_len + 1
    ]));
    assert_eq!(
        status_of(&account(), submission).await,
        CommandStatus::ESME_RINVMSGLEN
    );
}

#[tokio::test]
async fn udhi_without_a_valid_udh_is_invalid_esm_class() {
    let mut submission = submission();
    submission.esm_class = esm_class::UDHI;
    submission.short_message = Bytes::from_static(&[0x05, 0x00, 0x03]);
    assert_eq!(
        status_of(&account(), submission).await,
        CommandStatus::ESME_RINVESMCLASS
    );
}

#[tokio::test]
async fn sar_part_number_beyond_total_is_invalid_parameter_value() {
    let mut submission = submission();
    submission.sar = Some((7, 2, 3));
    assert_eq!(
        status_of(&account(), submission).await,
        CommandStatus::ESME_RINVOPTPARAMVAL
    );
}

#[tokio::test]
async fn unreadable_validity_is_invalid_expiry() {
    let mut submission = submission();
    submission.validity_period = text("soon");
    assert_eq!(
        status_of(&account(), submission).await,
        CommandStatus::ESME_RINVEXPIRY
    );
}

#[tokio::test]
async fn validity_in_the_past_is_invalid_expiry() {
    let mut submission = submission();
    submission.validity_period = text("010101000000000+");
    assert_eq!(
        status_of(&account(), submission).await,
        CommandStatus::ESME_RINVEXPIRY
    );
}

#[tokio::test]
async fn unreadable_schedule_is_invalid_schedule() {
    let mut submission = submission();
    submission.schedule_delivery_time = text("later");
    assert_eq!(
        status_of(&account(), submission).await,
        CommandStatus::ESME_RINVSCHED
    );
}

#[tokio::test]
async fn too_few_credits_is_submit_failed() {
    let mut account = account();
    account.credits = 0;
    assert_eq!(
        status_of(&account, submission()).await,
        CommandStatus::ESME_RSUBMITFAIL
    );
}

#[tokio::test]
async fn store_failure_is_system_error() {
    let account = account();
    let store = MemoryStore {
        failing: true,
        ..MemoryStore::default()
    };
    let rejection = acceptor(Arc::new(store))
        .accept(&account, origin(), submission())
        .await
        .expect_err("rejected");
    assert_eq!(rejection.status, CommandStatus::ESME_RSYSERR);
}

#[tokio::test]
async fn message_bad_in_two_ways_gets_the_earlier_status() {
    let mut account = account();
    account.credits = 0;
    let mut all_bad = submission();
    all_bad.destination = address(ton::INTERNATIONAL, "4412");
    all_bad.source = address(ton::ALPHANUMERIC, "MyBrandIsLong");
    all_bad.data_coding = 0x06;
    all_bad.short_message = Bytes::from(vec![b'a'; 255]);
    all_bad.validity_period = text("soon");
    let expected = [
        CommandStatus::ESME_RINVDSTADR,
        CommandStatus::ESME_RINVSRCADR,
        CommandStatus::ESME_RINVDCS,
        CommandStatus::ESME_RINVMSGLEN,
        CommandStatus::ESME_RINVEXPIRY,
        CommandStatus::ESME_RSUBMITFAIL,
    ];
    let good = submission();
    for status in expected {
        assert_eq!(status_of(&account, all_bad.clone()).await, status);
        // Mend the fault just reported; the next one must show.
        match status {
            CommandStatus::ESME_RINVDSTADR => all_bad.destination = good.destination.clone(),
            CommandStatus::ESME_RINVSRCADR => all_bad.source = good.source.clone(),
            CommandStatus::ESME_RINVDCS => all_bad.data_coding = good.data_coding,
            CommandStatus::ESME_RINVMSGLEN => all_bad.short_message = good.short_message.clone(),
            _ => all_bad.validity_period = good.validity_period.clone(),
        }
    }
}

#[tokio::test]
async fn throttling_comes_before_the_credit_check() {
    let mut account = account();
    account.credits = 0;
    account.tps = Some(1);
    let store = MemoryStore::with_account(&account);
    let acceptor = acceptor(store);
    let first = acceptor.accept(&account, origin(), submission()).await;
    assert_eq!(
        first.expect_err("no credits").status,
        CommandStatus::ESME_RSUBMITFAIL
    );
    let second = acceptor.accept(&account, origin(), submission()).await;
    assert_eq!(
        second.expect_err("throttled").status,
        CommandStatus::ESME_RTHROTTLED
    );
}

#[tokio::test]
async fn rate_limit_is_shared_by_all_sessions_of_an_account() {
    let mut account = account();
    account.tps = Some(3);
    let store = MemoryStore::with_account(&account);
    let acceptor = Arc::new(acceptor(store.clone()));
    let mut sessions = Vec::new();
    for session in 0..2u64 {
        let acceptor = Arc::clone(&acceptor);
        let account = account.clone();
        sessions.push(tokio::spawn(async move {
            let mut origin = origin();
            origin.session_id = Some(session);
            let mut statuses = Vec::new();
            for _ in 0..3 {
                let outcome = acceptor
                    .accept(&account, origin.clone(), submission())
                    .await;
                statuses.push(
                    outcome.map_or_else(|rejection| rejection.status, |_| CommandStatus::ESME_ROK),
                );
            }
            statuses
        }));
    }
    let mut statuses = Vec::new();
    for session in sessions {
        statuses.extend(session.await.expect("session task"));
    }
    let ok = statuses
        .iter()
        .filter(|&&s| s == CommandStatus::ESME_ROK)
        .count();
    let throttled = statuses
        .iter()
        .filter(|&&s| s == CommandStatus::ESME_RTHROTTLED)
        .count();
    assert_eq!((ok, throttled), (3, 3), "{statuses:?}");
    assert_eq!(store.credits("acme"), 97);
}

#[tokio::test]
async fn udh_part_is_one_segment_of_a_long_message() {
    let mut submission = submission();
    submission.esm_class = esm_class::UDHI;
    let mut octets = vec![0x05, 0x00, 0x03, 0x2A, 0x03, 0x02];
    octets.extend_from_slice(&[b'a'; 153]);
    submission.short_message = Bytes::from(octets);
    let (accepted, stored) = accepted(&account(), submission).await;
    assert_eq!((accepted.segments, accepted.cost), (1, 1));
    assert_eq!(
        stored.part,
        Some(crate::store::PartInfo {
            reference: 0x2A,
            total: 3,
            seq: 2
        })
    );
}

#[tokio::test]
async fn sar_part_is_one_segment_of_a_long_message() {
    let mut submission = submission();
    submission.sar = Some((0x1234, 4, 4));
    let (accepted, stored) = accepted(&account(), submission).await;
    assert_eq!((accepted.segments, accepted.cost), (1, 1));
    assert_eq!(
        stored.part,
        Some(crate::store::PartInfo {
            reference: 0x1234,
            total: 4,
            seq: 4
        })
    );
}

#[tokio::test]
async fn message_payload_costs_one_credit_per_segment() {
    let mut submission = submission();
    submission.short_message = Bytes::new();
    submission.message_payload = Some(Bytes::from(vec![b'a'; 153 * 3]));
    let (accepted, stored) = accepted(&account(), submission).await;
    assert_eq!((accepted.segments, accepted.cost), (3, 3));
    assert_eq!(stored.segments, 3);
    assert_eq!(stored.part, None);
}

#[tokio::test]
async fn long_ucs2_short_message_is_counted_in_ucs2() {
    let mut submission = submission();
    submission.data_coding = 0x08;
    // 71 UTF-16 code units: one more than a single UCS-2 SMS holds.
    submission.short_message = Bytes::from(
        "é".repeat(71)
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect::<Vec<u8>>(),
    );
    let (accepted, _) = accepted(&account(), submission).await;
    assert_eq!(accepted.segments, 2);
}

#[tokio::test]
async fn gsm_text_of_160_characters_is_one_segment_and_161_two() {
    for (len, segments) in [(160, 1), (161, 2)] {
        let mut submission = submission();
        submission.short_message = Bytes::from(vec![b'a'; len]);
        let (accepted, _) = accepted(&account(), submission).await;
        assert_eq!(accepted.segments, segments, "{len} characters");
    }
}

#[tokio::test]
async fn long_binary_payload_is_counted_by_octets() {
    let mut submission = submission();
    submission.data_coding = 0x04;
    submission.short_message = Bytes::new();
    submission.message_payload = Some(Bytes::from(vec![0xAB; 134 * 2 + 1]));
    let (accepted, _) = accepted(&account(), submission).await;
    assert_eq!(accepted.segments, 3);
}

#[tokio::test]
async fn payload_of_more_than_255_segments_is_invalid_length() {
    let mut submission = submission();
    submission.data_coding = 0x08;
    submission.short_message = Bytes::new();
    submission.message_payload = Some(Bytes::from(vec![0x00; 67 * 2 * 256]));
    let config = AcceptConfig {
        max_payload_len: 1 << 20,
        ..AcceptConfig::default()
    };
    let account = account();
    let store = MemoryStore::with_account(&account);
    let rejection = acceptor_with(store, config)
        .accept(&account, origin(), submission)
        .await
        .expect_err("rejected");
    assert_eq!(rejection.status, CommandStatus::ESME_RINVMSGLEN);
}

#[tokio::test]
async fn ids_are_unique_and_sort_in_acceptance_order() {
    let account = account();
    let store = MemoryStore::with_account(&account);
    let acceptor = acceptor(store);
    let mut ids = Vec::new();
    for _ in 0..50 {
        ids.push(
            acceptor
                .accept(&account, origin(), submission())
                .await
                .expect("accepted")
                .id,
        );
    }
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, ids);
    assert!(ids.iter().all(|id| id.len() <= 64));
}

#[tokio::test]
async fn metrics_count_accepted_and_rejected_submissions_by_reason() {
    let account = account();
    let store = MemoryStore::with_account(&account);
    let metrics = Arc::new(crate::metrics::Metrics::new());
    let acceptor = acceptor(store).with_metrics(Arc::clone(&metrics));
    acceptor
        .accept(&account, origin(), submission())
        .await
        .expect("accepted");
    let mut invalid = submission();
    invalid.destination = address(ton::INTERNATIONAL, "");
    acceptor
        .accept(&account, origin(), invalid)
        .await
        .expect_err("rejected");
    let text = metrics.render(&crate::metrics::Snapshot::default());
    assert!(
        text.contains("smsgate_messages_accepted_total{account=\"acme\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "smsgate_messages_rejected_total{account=\"acme\",reason=\"missing_destination\"} 1\n"
        ),
        "{text}"
    );
    assert!(text.contains("smsgate_accept_seconds_count 2\n"), "{text}");
}
