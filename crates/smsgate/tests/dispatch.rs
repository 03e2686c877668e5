//! Dispatch and tracking end to end: a node in-process with a real SQLite
//! store, its `sim` connectors (simulators on 127.0.0.1 with our SMPP
//! connector bound to each, over real sockets), and messages accepted over
//! SMPP or put straight into the store. The store is polled until the
//! message reaches the state the test expects, within a bounded wait.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use smpp::Body;
use smpp::receipt::ReceiptStat;
use smpp::types::{npi, ton};
use smsgate::clock::ManualClock;
use smsgate::config::Config;
use smsgate::node::{Node, database_path};
use smsgate::store::sqlite::SqliteStore;
use smsgate::store::{
    AcceptOutcome, Attempt, AttemptResult, MessageRecord, MessageState, NewMessage, Origin, Store,
    StoredAddress,
};

/// Long enough for anything that should happen; only reached on failure.
const PATIENCE: Duration = Duration::from_secs(15);

const DESTINATION: &str = "447911123456";

/// The node's settings for these tests, with `extra` TOML (connectors and
/// routes) appended: fast polling and retries 50 ms apart, twice.
fn config(extra: &str) -> Config {
    common::parse_local_config(&format!(
        "[dispatch]\npoll_interval = \"20ms\"\nretry_delays = [\"50ms\", \"50ms\"]\n{extra}"
    ))
}

/// A simulator connector answering at once, with `keys` (TOML) added;
/// its receipts come 20 ms after the answer unless `keys` says otherwise.
fn sim(name: &str, keys: &str) -> String {
    let receipt_delay = if keys.contains("receipt_delay") {
        ""
    } else {
        "receipt_delay = \"20ms\"\n"
    };
    format!("[connectors.{name}]\nkind = \"sim\"\nlatency = \"0s\"\n{receipt_delay}{keys}\n")
}

fn route(name: &str, connectors: &[&str], keys: &str) -> String {
    let list: Vec<String> = connectors.iter().map(|c| format!("{c:?}")).collect();
    format!(
        "[[routes]]\nname = \"{name}\"\nconnectors = [{}]\n{keys}\n",
        list.join(", ")
    )
}

/// A message as `accept` would store it, straight into the store.
fn message(id: &str) -> NewMessage {
    NewMessage {
        callback_url: None,
        client_ref: None,
        tags: Vec::new(),
        id: id.into(),
        account: "acme".into(),
        cost: 1,
        source: StoredAddress {
            ton: ton::ALPHANUMERIC,
            npi: npi::UNKNOWN,
            addr: "Acme".into(),
        },
        destination: StoredAddress {
            ton: ton::INTERNATIONAL,
            npi: npi::ISDN,
            addr: DESTINATION.into(),
        },
        esm_class: 0,
        data_coding: 0,
        protocol_id: 0,
        priority: 0,
        registered_delivery: 1,
        schedule_at: None,
        expires_at: None,
        payload: b"hello".to_vec(),
        part: None,
        segments: 1,
        origin: Origin {
            protocol: "smpp".into(),
            remote_addr: None,
            tls: false,
            session_id: None,
        },
        accepted_at: SystemTime::now(),
        trace_detail: "accepted by the test".into(),
        claimed_by: None,
    }
}

/// Creates the account `acme` and stores `messages` as accepted.
async fn accept_all(store: &dyn Store, messages: Vec<NewMessage>) {
    store
        .create_account(common::test_account_with_hash("acme", "unused".into()))
        .await
        .expect("account created");
    for message in messages {
        let outcome = store.accept(message).await.expect("stored");
        assert!(matches!(outcome, AcceptOutcome::Accepted { .. }));
    }
}

/// Waits until message `id` is in `state`, and returns it with its trace.
async fn until_state(store: &dyn Store, id: &str, state: MessageState) -> MessageRecord {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let message = store.message(id).await.expect("read").expect("stored");
        if message.state == state {
            return message;
        }
        assert!(
            Instant::now() < deadline,
            "message {id} never became {state:?}: {message:#?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The trace as `kind: detail` lines.
fn trace(message: &MessageRecord) -> Vec<String> {
    message
        .trace
        .iter()
        .map(|event| format!("{}: {}", event.kind, event.detail))
        .collect()
}

fn count(lines: &[String], prefix: &str) -> usize {
    lines.iter().filter(|line| line.starts_with(prefix)).count()
}

/// How many submits were sent to `connector`: each attempt's outcome line
/// names it and ends with its number, 0 for one that sent nothing (a
/// connector passed over or paused).
fn sent_to(lines: &[String], connector: &str) -> usize {
    let named = format!(": connector {connector}");
    lines
        .iter()
        .filter(|line| line.contains(&named))
        .filter(|line| {
            line.rsplit_once(", attempt ")
                .and_then(|(_, number)| number.strip_suffix(')'))
                .and_then(|number| number.parse::<u32>().ok())
                .is_some_and(|number| number > 0)
        })
        .count()
}

#[tokio::test]
async fn message_submitted_over_smpp_is_delivered_through_the_demo_simulator() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut demo = Config::default();
    let test = config("");
    demo.node = test.node;
    demo.smpp = test.smpp;
    demo.http = test.http;
    demo.dispatch = test.dispatch;
    let node = common::start_node(&demo, dir.path()).await;
    common::add_account(&node, common::test_account("acme", "pw")).await;

    let addr = common::smpp_addr(&node);
    let client = common::bind_answering(addr, Body::BindTransceiver, "acme", "pw").await;
    let resp = client
        .request(common::submit_sm(DESTINATION, "hello", 0))
        .await
        .expect("submit answered");
    let id = common::submitted_id(resp);

    let delivered = until_state(node.store.as_ref(), &id, MessageState::Delivered).await;
    let lines = trace(&delivered);
    let kinds: Vec<&str> = delivered.trace.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["accepted", "submitted", "receipt"],
        "handed from accept to dispatch in memory: no claim, one write per attempt: {lines:#?}"
    );
    assert!(
        lines[1].starts_with("submitted: connector sim took it")
            && lines[1].ends_with("(route default, attempt 1)"),
        "{lines:#?}"
    );
    assert!(lines[2].contains("stat DELIVRD"), "{lines:#?}");
    node.shutdown().await;
}

#[tokio::test]
async fn submit_failed_fails_over_to_the_next_connector_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = sim("a", "accept_ratio = 0.0\nreject_status = 0x45")
        + &sim("b", "")
        + &route("r", &["a", "b"], "");
    let node = common::start_node(&config(&extra), dir.path()).await;
    accept_all(node.store.as_ref(), vec![message("m1")]).await;

    let delivered = until_state(node.store.as_ref(), "m1", MessageState::Delivered).await;
    let lines = trace(&delivered);
    assert_eq!(sent_to(&lines, "a"), 1, "{lines:#?}");
    assert_eq!(count(&lines, "failover: connector a"), 1, "{lines:#?}");
    assert_eq!(count(&lines, "submitted: connector b"), 1, "{lines:#?}");
    node.shutdown().await;
}

#[tokio::test]
async fn invalid_destination_is_rejected_without_failover() {
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = sim("a", "accept_ratio = 0.0\nreject_status = 0x0B")
        + &sim("b", "")
        + &route("r", &["a", "b"], "");
    let node = common::start_node(&config(&extra), dir.path()).await;
    accept_all(node.store.as_ref(), vec![message("m1")]).await;

    let rejected = until_state(node.store.as_ref(), "m1", MessageState::Rejected).await;
    let lines = trace(&rejected);
    assert_eq!(sent_to(&lines, "a") + sent_to(&lines, "b"), 1, "{lines:#?}");
    assert_eq!(count(&lines, "rejected: connector a"), 1, "{lines:#?}");
    assert_eq!(
        lines.last().map(String::as_str),
        Some("refunded: 1 credits refunded to acme"),
        "{lines:#?}"
    );
    let account = common::stored_account(&node, "acme").await;
    assert_eq!(account.credits, 1000, "the charge was given back");
    node.shutdown().await;
}

#[tokio::test]
async fn throttled_submits_are_retried_then_fail_over() {
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = sim("a", "accept_ratio = 0.0\nreject_status = 0x58")
        + &sim("b", "")
        + &route("r", &["a", "b"], "");
    let node = common::start_node(&config(&extra), dir.path()).await;
    accept_all(node.store.as_ref(), vec![message("m1")]).await;

    let delivered = until_state(node.store.as_ref(), "m1", MessageState::Delivered).await;
    let lines = trace(&delivered);
    // The first try and the two configured retries, then the next connector.
    assert_eq!(sent_to(&lines, "a"), 3, "{lines:#?}");
    assert_eq!(count(&lines, "retry: connector a"), 2, "{lines:#?}");
    assert_eq!(count(&lines, "failover: connector a"), 1, "{lines:#?}");
    assert_eq!(count(&lines, "submitted: connector b"), 1, "{lines:#?}");
    assert!(
        lines.iter().any(|line| line.contains("attempt 3")),
        "{lines:#?}"
    );
    node.shutdown().await;
}

#[tokio::test]
async fn message_every_connector_refuses_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = sim("a", "accept_ratio = 0.0\nreject_status = 0x45") + &route("r", &["a"], "");
    let node = common::start_node(&config(&extra), dir.path()).await;
    accept_all(node.store.as_ref(), vec![message("m1")]).await;

    let failed = until_state(node.store.as_ref(), "m1", MessageState::Failed).await;
    let lines = trace(&failed);
    assert_eq!(
        count(&lines, "failed: every connector of route r"),
        1,
        "{lines:#?}"
    );
    node.shutdown().await;
}

#[tokio::test]
async fn message_no_route_matches_fails_with_no_route() {
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = sim("a", "") + &route("us-only", &["a"], "prefix = \"1\"");
    let node = common::start_node(&config(&extra), dir.path()).await;
    accept_all(node.store.as_ref(), vec![message("m1")]).await;

    let failed = until_state(node.store.as_ref(), "m1", MessageState::Failed).await;
    let lines = trace(&failed);
    assert_eq!(count(&lines, "failed: no route"), 1, "{lines:#?}");
    assert_eq!(count(&lines, "refunded"), 1, "{lines:#?}");
    assert_eq!(sent_to(&lines, "a"), 0, "{lines:#?}");
    node.shutdown().await;
}

#[tokio::test]
async fn failed_message_keeps_its_charge_when_refunds_are_off() {
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = sim("a", "") + &route("us-only", &["a"], "prefix = \"1\"");
    let mut config = config(&extra);
    config.dispatch.refund_on_failure = false;
    let node = common::start_node(&config, dir.path()).await;
    accept_all(node.store.as_ref(), vec![message("m1")]).await;

    let failed = until_state(node.store.as_ref(), "m1", MessageState::Failed).await;
    assert_eq!(count(&trace(&failed), "refunded"), 0);
    let account = common::stored_account(&node, "acme").await;
    assert_eq!(account.credits, 999);
    node.shutdown().await;
}

#[tokio::test]
async fn receipts_racing_the_submit_answers_still_end_delivered() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The receipt follows the submit_sm_resp at once, so it often reaches
    // tracking before dispatch has stored the provider id.
    let extra = sim("a", "receipt_delay = \"0s\"") + &route("r", &["a"], "");
    let node = common::start_node(&config(&extra), dir.path()).await;
    let ids: Vec<String> = (0..30).map(|i| format!("m{i:02}")).collect();
    accept_all(
        node.store.as_ref(),
        ids.iter().map(|id| message(id)).collect(),
    )
    .await;

    for id in &ids {
        until_state(node.store.as_ref(), id, MessageState::Delivered).await;
    }
    node.shutdown().await;
}

#[tokio::test]
async fn messages_pending_before_a_restart_are_dispatched_after_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store =
            SqliteStore::open_with_node(&database_path(dir.path()), "test").expect("store opens");
        accept_all(&store, vec![message("m1"), message("m2"), message("m3")]).await;
        // The last run of this node had claimed one of them when it stopped.
        let claimed = store
            .claim_due("test", 1, SystemTime::now())
            .await
            .expect("claimed");
        assert_eq!(claimed.len(), 1);
        store.close().await.expect("closed");
    }
    let extra = sim("a", "") + &route("r", &["a"], "");
    let node = common::start_node(&config(&extra), dir.path()).await;
    for id in ["m1", "m2", "m3"] {
        until_state(node.store.as_ref(), id, MessageState::Delivered).await;
    }
    node.shutdown().await;
}

#[tokio::test]
async fn message_whose_validity_ends_before_it_is_due_expires_unsent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = sim("a", "") + &route("r", &["a"], "");
    let node = common::start_node(&config(&extra), dir.path()).await;
    let now = SystemTime::now();
    let mut late = message("m1");
    late.schedule_at = Some(now + Duration::from_secs(3600));
    late.expires_at = Some(now + Duration::from_millis(200));
    accept_all(node.store.as_ref(), vec![late]).await;

    let expired = until_state(node.store.as_ref(), "m1", MessageState::Expired).await;
    let lines = trace(&expired);
    assert_eq!(sent_to(&lines, "a"), 0, "{lines:#?}");
    assert_eq!(count(&lines, "expired"), 1, "{lines:#?}");
    node.shutdown().await;
}

#[tokio::test]
async fn node_refuses_a_route_naming_an_undeclared_connector() {
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = sim("a", "") + &route("r", &["a", "ghost"], "");
    let started = Node::start(
        &config(&extra),
        None,
        dir.path(),
        Arc::new(ManualClock::new()),
    )
    .await;
    let Err(error) = started else {
        panic!("a node started with a route to an undeclared connector");
    };
    assert!(error.to_string().contains("ghost"), "{error}");
}

/// The store's side of tracking, without a node: the order of events is
/// the test's to choose.
mod store {
    use super::*;

    async fn submitting(store: &SqliteStore, id: &str) {
        let claimed = store
            .claim_due("test", 10, SystemTime::now())
            .await
            .expect("claimed");
        assert!(claimed.iter().any(|claim| claim.message.id == id));
    }

    /// The first attempt on connector `a` by route `r`.
    const FIRST: Attempt<'static> = Attempt {
        connector: "a",
        route: "r",
        number: 1,
    };

    fn open(dir: &Path) -> SqliteStore {
        SqliteStore::open_with_node(&database_path(dir), "test").expect("store opens")
    }

    #[tokio::test]
    async fn receipt_before_the_submit_answer_is_applied_when_the_answer_comes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(dir.path());
        accept_all(&store, vec![message("m1")]).await;
        submitting(&store, "m1").await;
        let now = SystemTime::now();
        let early = store
            .apply_receipt("a", "p-1", &ReceiptStat::Delivered, "000", now)
            .await
            .expect("kept");
        assert_eq!(early, None);
        store
            .record_submit_result(
                "m1",
                FIRST,
                AttemptResult::Submitted {
                    provider_id: "p-1".into(),
                },
                "accepted",
                now,
            )
            .await
            .expect("recorded");
        let message = store.message("m1").await.expect("read").expect("stored");
        assert_eq!(message.state, MessageState::Delivered);
    }

    #[tokio::test]
    async fn intermediate_receipt_is_traced_and_the_final_one_ends_the_message() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(dir.path());
        accept_all(&store, vec![message("m1")]).await;
        submitting(&store, "m1").await;
        let now = SystemTime::now();
        let submitted = AttemptResult::Submitted {
            provider_id: "p-1".into(),
        };
        store
            .record_submit_result("m1", FIRST, submitted, "accepted", now)
            .await
            .expect("recorded");
        let enroute = store
            .apply_receipt("a", "p-1", &ReceiptStat::Enroute, "", now)
            .await
            .expect("applied");
        assert_eq!(enroute.as_deref(), Some("m1"));
        let message = store.message("m1").await.expect("read").expect("stored");
        assert_eq!(message.state, MessageState::Submitted);
        store
            .apply_receipt("a", "p-1", &ReceiptStat::Undeliverable, "001", now)
            .await
            .expect("applied");
        let message = store.message("m1").await.expect("read").expect("stored");
        assert_eq!(message.state, MessageState::Undeliverable);
        assert_eq!(count(&trace(&message), "receipt: "), 2);
    }

    #[tokio::test]
    async fn receipt_on_another_connector_does_not_match() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(dir.path());
        accept_all(&store, vec![message("m1")]).await;
        submitting(&store, "m1").await;
        let now = SystemTime::now();
        let submitted = AttemptResult::Submitted {
            provider_id: "p-1".into(),
        };
        store
            .record_submit_result("m1", FIRST, submitted, "accepted", now)
            .await
            .expect("recorded");
        let other = store
            .apply_receipt("b", "p-1", &ReceiptStat::Delivered, "", now)
            .await
            .expect("kept");
        assert_eq!(other, None);
        let message = store.message("m1").await.expect("read").expect("stored");
        assert_eq!(message.state, MessageState::Submitted);
    }

    #[tokio::test]
    async fn claim_of_a_crashed_node_lapses_after_the_lease() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(dir.path());
        accept_all(&store, vec![message("m1")]).await;
        let now = SystemTime::now();
        let first = store.claim_due("crashed", 10, now).await.expect("claimed");
        assert_eq!(first.len(), 1);
        taken_by_another_only_after_the_lease(&store, now).await;
    }

    /// Node `other` cannot claim the message a minute after `now`, and can
    /// once the lease (5 min) has passed.
    async fn taken_by_another_only_after_the_lease(store: &SqliteStore, now: SystemTime) {
        let soon = store
            .claim_due("other", 10, now + Duration::from_secs(60))
            .await
            .expect("claim ran");
        assert!(soon.is_empty(), "a live claim was taken: {soon:?}");
        let later = store
            .claim_due("other", 10, now + Duration::from_secs(6 * 60))
            .await
            .expect("claim ran");
        assert_eq!(later.len(), 1, "a crashed node's claim lapses for others");
    }

    #[tokio::test]
    async fn a_message_stored_claimed_for_memory_is_never_claimed_again_by_its_node_but_by_another_after_the_lease()
     {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(dir.path());
        let mut handed = message("m1");
        handed.claimed_by = Some("test".into());
        accept_all(&store, vec![handed]).await;
        let now = SystemTime::now();
        let stored = store.message("m1").await.expect("read").expect("stored");
        assert_eq!(stored.state, MessageState::Queued);
        let own = store
            .claim_due("test", 10, now + Duration::from_secs(3600))
            .await
            .expect("claim ran");
        assert!(own.is_empty(), "its own node's queue has it: {own:?}");
        taken_by_another_only_after_the_lease(&store, now).await;
    }

    #[tokio::test]
    async fn a_restart_releases_the_messages_its_last_run_held_in_memory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(dir.path());
        let mut handed = message("m1");
        handed.claimed_by = Some("test".into());
        accept_all(&store, vec![handed]).await;
        assert_eq!(store.release_claims("test").await.expect("released"), 1);
        let due = store
            .claim_due("test", 10, SystemTime::now())
            .await
            .expect("claim ran");
        assert_eq!(due.len(), 1);
    }

    #[tokio::test]
    async fn retry_is_not_due_before_its_time_and_keeps_the_connector() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(dir.path());
        accept_all(&store, vec![message("m1")]).await;
        submitting(&store, "m1").await;
        let now = SystemTime::now();
        let at = now + Duration::from_secs(5);
        store
            .record_submit_result(
                "m1",
                FIRST,
                AttemptResult::RetryLater { at },
                "throttled",
                now,
            )
            .await
            .expect("recorded");
        let early = store
            .claim_due("test", 10, now + Duration::from_secs(1))
            .await
            .expect("claim ran");
        assert!(early.is_empty());
        let due = store
            .claim_due("test", 10, now + Duration::from_secs(6))
            .await
            .expect("claim ran");
        let [claim] = due.as_slice() else {
            panic!("one message due: {due:?}");
        };
        assert_eq!(claim.progress.connector.as_deref(), Some("a"));
        assert_eq!(claim.progress.attempts, 1);
    }
}

/// A message to `destination`, otherwise as [`message`].
fn message_to(id: &str, destination: &str) -> NewMessage {
    let mut message = message(id);
    message.destination.addr = destination.into();
    message
}

/// The connector the message was submitted through, from its trace.
fn submitted_through(message: &MessageRecord) -> String {
    let lines = trace(message);
    let line = lines
        .iter()
        .find(|line| line.starts_with("submitted: connector "))
        .unwrap_or_else(|| panic!("never submitted: {lines:#?}"));
    line["submitted: connector ".len()..]
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn prefix_routes_send_each_destination_to_its_own_connector() {
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = sim("uk", "")
        + &sim("us", "")
        + &sim("rest", "")
        + &route("uk", &["uk"], "prefix = \"44\"")
        + &route("uk-mobile", &["us"], "prefix = \"4479\"\norder = 200")
        + &route("us", &["us"], "prefix = \"+1\"")
        + &route("default", &["rest"], "order = 1000");
    let node = common::start_node(&config(&extra), dir.path()).await;
    accept_all(
        node.store.as_ref(),
        vec![
            message_to("m-uk", "447911123456"),
            message_to("m-us", "14155551234"),
            message_to("m-nl", "31612345678"),
        ],
    )
    .await;
    let store = node.store.as_ref();
    let uk = until_state(store, "m-uk", MessageState::Delivered).await;
    let us = until_state(store, "m-us", MessageState::Delivered).await;
    let nl = until_state(store, "m-nl", MessageState::Delivered).await;
    // "4479" is longer but of a later order: the order decides first.
    assert_eq!(submitted_through(&uk), "uk");
    assert_eq!(submitted_through(&us), "us");
    assert_eq!(submitted_through(&nl), "rest");
    node.shutdown().await;
}

#[tokio::test]
async fn least_cost_route_picks_the_cheapest_connector_for_each_destination() {
    let dir = tempfile::tempdir().expect("tempdir");
    let prices = tempfile::tempdir().expect("tempdir");
    let alpha = prices.path().join("alpha.csv");
    let beta = prices.path().join("beta.csv");
    std::fs::write(&alpha, "prefix,price\n44,0.0500\n1,0.0100\n").expect("written");
    std::fs::write(&beta, "prefix,price\n44,0.0300\n1,0.0200\n").expect("written");
    let keys = format!(
        "strategy = \"least_cost\"\nprice_tables = {{ alpha = {:?}, beta = {:?} }}",
        alpha.display().to_string(),
        beta.display().to_string()
    );
    let extra = sim("alpha", "") + &sim("beta", "") + &route("cheap", &["alpha", "beta"], &keys);
    let node = common::start_node(&config(&extra), dir.path()).await;
    accept_all(
        node.store.as_ref(),
        vec![
            message_to("m-uk", "447911123456"),
            message_to("m-us", "14155551234"),
        ],
    )
    .await;
    let store = node.store.as_ref();
    let uk = until_state(store, "m-uk", MessageState::Delivered).await;
    let us = until_state(store, "m-us", MessageState::Delivered).await;
    assert_eq!(submitted_through(&uk), "beta", "0.03 beats 0.05 for 44");
    assert_eq!(submitted_through(&us), "alpha", "0.01 beats 0.02 for 1");
    node.shutdown().await;
}

#[tokio::test]
async fn group_and_text_filters_apply_to_dispatched_messages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = sim("resellers", "")
        + &sim("offers", "")
        + &sim("rest", "")
        + &route("group", &["resellers"], "group = \"resellers\"\norder = 10")
        + &route(
            "offers",
            &["offers"],
            "text_regex = '(?i)\\boffer\\b'\norder = 20",
        )
        + &route("default", &["rest"], "order = 1000");
    let node = common::start_node(&config(&extra), dir.path()).await;
    let store = node.store.as_ref();
    accept_all(store, vec![]).await;
    let mut reseller = common::test_account_with_hash("shop", "unused".into());
    reseller.group = Some("resellers".into());
    store.create_account(reseller).await.expect("created");
    let mut from_shop = message("m-shop");
    from_shop.account = "shop".into();
    let mut offer = message("m-offer");
    offer.payload = b"Our OFFER ends today".to_vec();
    for message in [from_shop, offer, message("m-plain")] {
        store.accept(message).await.expect("stored");
    }
    let shop = until_state(store, "m-shop", MessageState::Delivered).await;
    let offer = until_state(store, "m-offer", MessageState::Delivered).await;
    let plain = until_state(store, "m-plain", MessageState::Delivered).await;
    assert_eq!(submitted_through(&shop), "resellers");
    assert_eq!(submitted_through(&offer), "offers");
    assert_eq!(submitted_through(&plain), "rest");
    node.shutdown().await;
}

#[tokio::test]
async fn synchronous_connector_success_ends_the_message_delivered_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The simulator's own receipt would come a minute later: delivered
    // now means the submit's answer ended it.
    let extra =
        sim("otp", "synchronous = true\nreceipt_delay = \"60s\"") + &route("r", &["otp"], "");
    let node = common::start_node(&config(&extra), dir.path()).await;
    accept_all(node.store.as_ref(), vec![message("m1")]).await;
    let delivered = until_state(node.store.as_ref(), "m1", MessageState::Delivered).await;
    let lines = trace(&delivered);
    assert_eq!(count(&lines, "receipt: connector otp"), 1, "{lines:#?}");
    assert!(
        lines
            .iter()
            .any(|line| line.contains("synchronous connector")),
        "{lines:#?}"
    );
    node.shutdown().await;
}

#[tokio::test]
async fn connector_outcome_table_turns_a_final_status_into_a_failover() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = sim("a", "accept_ratio = 0.0\nreject_status = 0x0B")
        + "[connectors.a.outcomes]\nfail_over = [\"ESME_RINVDSTADR\"]\n";
    let extra = a + &sim("b", "") + &route("r", &["a", "b"], "");
    let node = common::start_node(&config(&extra), dir.path()).await;
    accept_all(node.store.as_ref(), vec![message("m1")]).await;
    let delivered = until_state(node.store.as_ref(), "m1", MessageState::Delivered).await;
    let lines = trace(&delivered);
    assert_eq!(count(&lines, "failover: connector a"), 1, "{lines:#?}");
    assert_eq!(submitted_through(&delivered), "b");
    node.shutdown().await;
}

#[tokio::test]
async fn receipts_naming_a_hex_id_in_decimal_still_end_the_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = sim("a", "receipt_ids_in_decimal = true") + &route("r", &["a"], "");
    let node = common::start_node(&config(&extra), dir.path()).await;
    accept_all(node.store.as_ref(), vec![message("m1")]).await;
    let delivered = until_state(node.store.as_ref(), "m1", MessageState::Delivered).await;
    let lines = trace(&delivered);
    assert_eq!(count(&lines, "receipt: connector a"), 1, "{lines:#?}");
    node.shutdown().await;
}

#[tokio::test]
async fn reload_keeps_unchanged_connectors_bound_and_puts_new_routes_in_force() {
    let dir = tempfile::tempdir().expect("tempdir");
    let before = sim("a", "") + &sim("b", "") + &route("r", &["a"], "");
    let mut node = common::start_node(&config(&before), dir.path()).await;
    accept_all(node.store.as_ref(), vec![message("m1")]).await;
    let first = until_state(node.store.as_ref(), "m1", MessageState::Delivered).await;
    assert_eq!(submitted_through(&first), "a");
    let deadline = Instant::now() + PATIENCE;
    while node.connector_health()["b"].bound == 0 {
        assert!(Instant::now() < deadline, "b never bound");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // b unchanged, a removed, c new; the route now goes to b then c.
    let after = sim("b", "") + &sim("c", "") + &route("r", &["b", "c"], "");
    let at_restart = node.reload(&config(&after), None).expect("reloaded");
    assert!(at_restart.is_empty(), "{at_restart:?}");
    let health = node.connector_health();
    assert_eq!(
        health.keys().map(String::as_str).collect::<Vec<_>>(),
        ["b", "c"]
    );
    assert_eq!(health["b"].bound, 1, "b kept its bind through the reload");
    node.store.accept(message("m2")).await.expect("stored");
    let second = until_state(node.store.as_ref(), "m2", MessageState::Delivered).await;
    assert_eq!(submitted_through(&second), "b");

    // A configuration that cannot work changes nothing.
    let broken = route("r", &["ghost"], "");
    assert!(node.reload(&config(&broken), None).is_err());
    assert_eq!(node.connector_health().len(), 2);
    node.shutdown().await;
}

#[tokio::test]
async fn long_message_sent_whole_goes_in_segments_to_a_udh_carrier_and_whole_to_a_payload_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = sim("split", "long_messages = \"udh\"")
        + &sim("whole", "long_messages = \"payload\"")
        + &route("uk", &["split"], "prefix = \"44\"")
        + &route("us", &["whole"], "prefix = \"1\"");
    let node = common::start_node(&config(&extra), dir.path()).await;
    let long = "x".repeat(300).into_bytes();
    let mut to_uk = message_to("m-uk", "447911123456");
    to_uk.payload = long.clone();
    to_uk.segments = 2;
    let mut to_us = message_to("m-us", "14155551234");
    to_us.payload = long;
    to_us.segments = 2;
    accept_all(node.store.as_ref(), vec![to_uk, to_us]).await;

    let uk = until_state(node.store.as_ref(), "m-uk", MessageState::Delivered).await;
    let lines = trace(&uk);
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("submitted: connector split")
                && line.contains("in 2 segments")),
        "{lines:#?}"
    );
    let us = until_state(node.store.as_ref(), "m-us", MessageState::Delivered).await;
    let lines = trace(&us);
    assert!(
        !lines.iter().any(|line| line.contains("segments")),
        "one submit with message_payload: {lines:#?}"
    );
    node.shutdown().await;
}

#[tokio::test]
async fn paused_connector_gets_nothing_and_the_next_one_takes_the_message_until_resumed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = sim("a", "") + &sim("b", "") + &route("r", &["a", "b"], "");
    let node = common::start_node(&config(&extra), dir.path()).await;
    let control = node.dispatch_control();
    let paused = control.pause("a").expect("connector a runs");
    assert!(paused.paused);
    accept_all(node.store.as_ref(), vec![message("m1")]).await;

    let first = until_state(node.store.as_ref(), "m1", MessageState::Delivered).await;
    let lines = trace(&first);
    assert_eq!(submitted_through(&first), "b", "{lines:#?}");
    assert_eq!(sent_to(&lines, "a"), 0, "{lines:#?}");
    assert_eq!(
        control.connector("a").expect("a runs").health.submitted,
        0,
        "nothing was sent to the paused connector"
    );
    assert!(
        control.connector("a").expect("a runs").health.bound > 0,
        "its binds stay up"
    );

    assert!(!control.resume("a").expect("connector a runs").paused);
    node.store.accept(message("m2")).await.expect("stored");
    let second = until_state(node.store.as_ref(), "m2", MessageState::Delivered).await;
    assert_eq!(submitted_through(&second), "a", "{:#?}", trace(&second));
    node.shutdown().await;
}

#[tokio::test]
async fn message_whose_only_connector_is_paused_waits_instead_of_failing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = sim("a", "") + &route("r", &["a"], "");
    let node = common::start_node(&config(&extra), dir.path()).await;
    let control = node.dispatch_control();
    control.pause("a").expect("connector a runs");
    assert!(control.pause("nope").is_none(), "no such connector");
    accept_all(node.store.as_ref(), vec![message("m1")]).await;

    let deadline = Instant::now() + PATIENCE;
    let waiting = loop {
        let message = node
            .store
            .message("m1")
            .await
            .expect("read")
            .expect("stored");
        if message.trace.iter().any(|event| event.kind == "retry") {
            break message;
        }
        assert!(Instant::now() < deadline, "never held back: {message:#?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let lines = trace(&waiting);
    assert_eq!(waiting.state, MessageState::Accepted, "{lines:#?}");
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("retry: connector a: paused by an operator")),
        "{lines:#?}"
    );
    assert_eq!(sent_to(&lines, "a"), 0, "{lines:#?}");
    node.shutdown().await;
}

/// A message being retried on a connector that has since lost its binds
/// goes at once to the route's connector that has one, with no attempt on
/// the one that is down (before, it went back to it first and used up its
/// retries there: 36 s with the default delays).
#[tokio::test]
async fn a_retry_skips_its_connector_once_it_has_no_bind_when_another_has_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let closed = common::free_port();
    {
        let store =
            SqliteStore::open_with_node(&database_path(dir.path()), "test").expect("store opens");
        accept_all(&store, vec![message("m1")]).await;
        // The last run tried "down" once and meant to try it again.
        let claimed = store
            .claim_due("test", 1, SystemTime::now())
            .await
            .expect("claimed");
        assert_eq!(claimed.len(), 1);
        store
            .record_submit_result(
                "m1",
                Attempt {
                    connector: "down",
                    route: "r",
                    number: 1,
                },
                AttemptResult::RetryLater {
                    at: SystemTime::now(),
                },
                "throttled",
                SystemTime::now(),
            )
            .await
            .expect("recorded");
        store.close().await.expect("closed");
    }
    // "down" points at a port nothing listens on: it never binds.
    let extra = format!(
        "[connectors.down]\nkind = \"smpp\"\nsystem_id = \"x\"\npassword = \"y\"\n\
         hosts = [{{ address = \"127.0.0.1:{closed}\" }}]\n"
    ) + &sim("up", "")
        + &route("r", &["down", "up"], "");
    let node = common::start_node(&config(&extra), dir.path()).await;
    let delivered = until_state(node.store.as_ref(), "m1", MessageState::Delivered).await;
    let lines = trace(&delivered);
    assert_eq!(
        sent_to(&lines, "down"),
        1,
        "only the earlier run's try: {lines:#?}"
    );
    assert_eq!(count(&lines, "retry: connector down"), 1, "{lines:#?}");
    assert_eq!(count(&lines, "submitted: connector up"), 1, "{lines:#?}");
    node.shutdown().await;
}
