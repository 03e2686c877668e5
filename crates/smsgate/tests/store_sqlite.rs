//! The SQLite store against a real file: accounts, atomic charging, group
//! commit, part linking, durability across reopen, and shutdown.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use smsgate::store::sqlite::SqliteStore;
use smsgate::store::{
    AcceptOutcome, AccountPatch, BindType, MessageFilter, MessageState, NewAccount, NewApiKey,
    NewMessage, Origin, PartInfo, Store, StoreError, StoredAddress, TraceEvent,
};

fn db_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("data").join("smsgate.db")
}

fn open(path: &Path) -> SqliteStore {
    SqliteStore::open_with_node(path, "test-node").unwrap()
}

fn new_account(system_id: &str, credits: i64) -> NewAccount {
    NewAccount {
        system_id: system_id.to_string(),
        password_hash: "sha1-utf16le$DC215545BA63D605FBCD647A9555270F566D918B".to_string(),
        credits,
        max_binds: 4,
        tps: Some(50),
        window: 10,
        deliver_window: 10,
        bind_types: vec![BindType::Transmitter, BindType::Transceiver],
        allowed_ips: vec![
            "192.0.2.0/24".parse().unwrap(),
            "2001:db8::/32".parse().unwrap(),
        ],
        allowed_senders: vec!["ACME".to_string(), "49*".to_string()],
        default_sender: Some("ACME".to_string()),
        address_ranges: vec!["4930*".to_string()],
        group: Some("gold".to_string()),
    }
}

/// A time on a whole millisecond, as the store keeps them.
fn at(millis: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(millis)
}

const T0: u64 = 1_780_000_000_000;

fn message(id: &str, account: &str, accepted_at: SystemTime) -> NewMessage {
    NewMessage {
        callback_url: None,
        client_ref: None,
        tags: Vec::new(),
        id: id.to_string(),
        account: account.to_string(),
        cost: 1,
        source: StoredAddress {
            ton: 5,
            npi: 0,
            addr: "ACME".to_string(),
        },
        destination: StoredAddress {
            ton: 1,
            npi: 1,
            addr: "4915112345678".to_string(),
        },
        esm_class: 0,
        data_coding: 8,
        protocol_id: 0,
        priority: 1,
        registered_delivery: 1,
        schedule_at: None,
        expires_at: Some(at(T0 + 86_400_000)),
        payload: vec![0, 72, 0, 105],
        part: None,
        segments: 1,
        origin: Origin {
            protocol: "smpp".to_string(),
            remote_addr: Some("192.0.2.7:40123".parse().unwrap()),
            tls: true,
            session_id: Some(u64::MAX - 3),
        },
        accepted_at,
        trace_detail: "dest valid, sender allowed, 1 segment, charged 1".to_string(),
        claimed_by: None,
    }
}

fn part(id: &str, reference: u16, total: u8, seq: u8, accepted_at: SystemTime) -> NewMessage {
    NewMessage {
        callback_url: None,
        client_ref: None,
        tags: Vec::new(),
        part: Some(PartInfo {
            reference,
            total,
            seq,
        }),
        esm_class: 0x40,
        ..message(id, "acme", accepted_at)
    }
}

fn group_of(outcome: AcceptOutcome) -> String {
    match outcome {
        AcceptOutcome::Accepted { group_id } => group_id,
        other => panic!("not accepted: {other:?}"),
    }
}

#[tokio::test]
async fn account_is_created_read_listed_updated_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&db_path(&dir));

    let created = store.create_account(new_account("acme", 10)).await.unwrap();
    assert!(created.enabled);
    assert_eq!(store.account("acme").await.unwrap(), Some(created.clone()));
    store.create_account(new_account("beta", 0)).await.unwrap();
    let listed: Vec<String> = store
        .accounts()
        .await
        .unwrap()
        .into_iter()
        .map(|account| account.system_id)
        .collect();
    assert_eq!(listed, ["acme", "beta"]);

    let updated = store
        .update_account(
            "acme",
            AccountPatch {
                enabled: Some(false),
                tps: Some(None),
                window: Some(20),
                allowed_ips: Some(Vec::new()),
                default_sender: Some(None),
                group: Some(Some("silver".to_string())),
                ..AccountPatch::default()
            },
        )
        .await
        .unwrap();
    assert!(!updated.enabled);
    assert_eq!(updated.tps, None);
    assert_eq!(updated.window, 20);
    assert!(updated.allowed_ips.is_empty());
    assert_eq!(updated.default_sender, None);
    assert_eq!(updated.group.as_deref(), Some("silver"));
    assert_eq!(updated.allowed_senders, created.allowed_senders);
    assert_eq!(store.account("acme").await.unwrap(), Some(updated));

    store
        .set_password_hash("acme", "$argon2id$new")
        .await
        .unwrap();
    assert_eq!(
        store.account("acme").await.unwrap().unwrap().password_hash,
        "$argon2id$new"
    );

    store.delete_account("acme").await.unwrap();
    assert_eq!(store.account("acme").await.unwrap(), None);
    assert!(matches!(
        store.delete_account("acme").await,
        Err(StoreError::NotFound(_))
    ));
}

#[tokio::test]
async fn taken_system_id_is_already_exists() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&db_path(&dir));
    store.create_account(new_account("acme", 1)).await.unwrap();
    assert!(matches!(
        store.create_account(new_account("acme", 5)).await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(store.account("acme").await.unwrap().unwrap().credits, 1);
}

#[tokio::test]
async fn changes_to_unknown_accounts_are_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&db_path(&dir));
    assert!(matches!(
        store.update_account("ghost", AccountPatch::default()).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.set_password_hash("ghost", "x").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.add_credits("ghost", 5).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.accept(message("m1", "ghost", at(T0))).await,
        Err(StoreError::NotFound(_))
    ));
}

#[tokio::test]
async fn credits_are_added_and_removed_but_never_below_zero() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&db_path(&dir));
    store.create_account(new_account("acme", 10)).await.unwrap();
    assert_eq!(store.add_credits("acme", 5).await.unwrap(), 15);
    assert_eq!(store.add_credits("acme", -15).await.unwrap(), 0);
    assert!(matches!(
        store.add_credits("acme", -1).await,
        Err(StoreError::Backend(_))
    ));
    assert_eq!(store.account("acme").await.unwrap().unwrap().credits, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thousand_concurrent_accepts_on_hundred_credits_accept_exactly_hundred() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&db_path(&dir)));
    store
        .create_account(new_account("acme", 100))
        .await
        .unwrap();

    let tasks: Vec<_> = (0..1000)
        .map(|n| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .accept(message(&format!("m{n:04}"), "acme", at(T0 + n)))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut accepted = 0;
    for task in tasks {
        match task.await.unwrap() {
            AcceptOutcome::Accepted { .. } => accepted += 1,
            AcceptOutcome::InsufficientCredits { balance } => assert_eq!(balance, 0),
        }
    }

    assert_eq!(accepted, 100);
    assert_eq!(store.account("acme").await.unwrap().unwrap().credits, 0);
    let stored = store
        .messages(MessageFilter {
            limit: Some(10_000),
            ..MessageFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(stored.len(), 100);
}

#[tokio::test]
async fn insufficient_credits_store_nothing_and_report_the_balance() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&db_path(&dir));
    store.create_account(new_account("acme", 2)).await.unwrap();
    let outcome = store
        .accept(NewMessage {
            callback_url: None,
            client_ref: None,
            tags: Vec::new(),
            cost: 3,
            segments: 3,
            ..message("m1", "acme", at(T0))
        })
        .await
        .unwrap();
    assert_eq!(outcome, AcceptOutcome::InsufficientCredits { balance: 2 });
    assert_eq!(store.message("m1").await.unwrap(), None);
    assert_eq!(store.account("acme").await.unwrap().unwrap().credits, 2);
}

#[tokio::test]
async fn accepted_message_reads_back_with_every_field_and_its_first_trace_event() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&db_path(&dir));
    store.create_account(new_account("acme", 5)).await.unwrap();
    let offered = message("m1", "acme", at(T0));
    let outcome = store.accept(offered.clone()).await.unwrap();
    assert_eq!(
        outcome,
        AcceptOutcome::Accepted {
            group_id: "m1".to_string()
        }
    );

    let record = store.message("m1").await.unwrap().unwrap();
    assert_eq!(record.group_id, "m1");
    assert_eq!(record.account, "acme");
    assert_eq!(record.state, MessageState::Accepted);
    assert_eq!(record.source, offered.source);
    assert_eq!(record.destination, offered.destination);
    assert_eq!(record.data_coding, 8);
    assert_eq!(record.registered_delivery, 1);
    assert_eq!(record.expires_at, offered.expires_at);
    assert_eq!(record.payload, offered.payload);
    assert_eq!(record.origin, offered.origin);
    assert_eq!(record.accepted_at, at(T0));
    assert_eq!(record.cost, 1);
    assert_eq!(
        record.trace,
        [TraceEvent {
            at: at(T0),
            node: "test-node".to_string(),
            kind: "accepted".to_string(),
            detail: offered.trace_detail,
        }]
    );
    assert_eq!(store.account("acme").await.unwrap().unwrap().credits, 4);
}

#[tokio::test]
async fn trace_events_are_appended_in_order_and_need_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&db_path(&dir));
    store.create_account(new_account("acme", 5)).await.unwrap();
    store.accept(message("m1", "acme", at(T0))).await.unwrap();
    let routed = TraceEvent {
        at: at(T0 + 5),
        node: "other-node".to_string(),
        kind: "routed".to_string(),
        detail: "via sim".to_string(),
    };
    store.add_trace_event("m1", routed.clone()).await.unwrap();
    let trace = store.message("m1").await.unwrap().unwrap().trace;
    assert_eq!(trace.len(), 2);
    assert_eq!(trace[1], routed);
    assert!(matches!(
        store.add_trace_event("nope", routed).await,
        Err(StoreError::NotFound(_))
    ));
}

#[tokio::test]
async fn accepted_message_survives_drop_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    {
        let store = open(&path);
        store.create_account(new_account("acme", 5)).await.unwrap();
        store.accept(message("m1", "acme", at(T0))).await.unwrap();
    }
    let reopened = open(&path);
    let record = reopened.message("m1").await.unwrap().unwrap();
    assert_eq!(record.account, "acme");
    assert_eq!(record.trace.len(), 1);
    assert_eq!(reopened.account("acme").await.unwrap().unwrap().credits, 4);
}

#[tokio::test]
async fn parts_arriving_out_of_order_are_linked_into_one_group() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&db_path(&dir));
    store
        .create_account(new_account("acme", 100))
        .await
        .unwrap();

    let third = group_of(store.accept(part("p3", 7, 3, 3, at(T0))).await.unwrap());
    let first = group_of(
        store
            .accept(part("p1", 7, 3, 1, at(T0 + 10)))
            .await
            .unwrap(),
    );
    let second = group_of(
        store
            .accept(part("p2", 7, 3, 2, at(T0 + 20)))
            .await
            .unwrap(),
    );
    assert_eq!(third, "p3");
    assert_eq!(first, "p3");
    assert_eq!(second, "p3");
    assert_eq!(
        store.message("p1").await.unwrap().unwrap().part,
        Some(PartInfo {
            reference: 7,
            total: 3,
            seq: 1
        })
    );
}

#[tokio::test]
async fn a_reused_reference_starts_a_new_group_once_the_part_is_taken() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&db_path(&dir));
    store
        .create_account(new_account("acme", 100))
        .await
        .unwrap();

    let a1 = group_of(store.accept(part("a1", 9, 2, 1, at(T0))).await.unwrap());
    let b1 = group_of(store.accept(part("b1", 9, 2, 1, at(T0 + 1))).await.unwrap());
    let a2 = group_of(store.accept(part("a2", 9, 2, 2, at(T0 + 2))).await.unwrap());
    let b2 = group_of(store.accept(part("b2", 9, 2, 2, at(T0 + 3))).await.unwrap());
    assert_eq!((a1.as_str(), a2.as_str()), ("a1", "a1"));
    assert_eq!((b1.as_str(), b2.as_str()), ("b1", "b1"));
}

#[tokio::test]
async fn parts_differing_in_total_destination_account_or_age_are_not_linked() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&db_path(&dir));
    store
        .create_account(new_account("acme", 100))
        .await
        .unwrap();
    store
        .create_account(new_account("beta", 100))
        .await
        .unwrap();
    store.accept(part("x1", 4, 2, 1, at(T0))).await.unwrap();

    let other_total = group_of(store.accept(part("x2", 4, 3, 2, at(T0 + 1))).await.unwrap());
    let other_destination = NewMessage {
        callback_url: None,
        client_ref: None,
        tags: Vec::new(),
        destination: StoredAddress {
            ton: 1,
            npi: 1,
            addr: "4915100000000".to_string(),
        },
        ..part("x3", 4, 2, 2, at(T0 + 2))
    };
    let other_destination = group_of(store.accept(other_destination).await.unwrap());
    let other_account = NewMessage {
        callback_url: None,
        client_ref: None,
        tags: Vec::new(),
        account: "beta".to_string(),
        ..part("x4", 4, 2, 2, at(T0 + 3))
    };
    let other_account = group_of(store.accept(other_account).await.unwrap());
    let too_late = group_of(
        store
            .accept(part("x5", 4, 2, 2, at(T0 + 60 * 60 * 1000 + 1)))
            .await
            .unwrap(),
    );
    assert_eq!(other_total, "x2");
    assert_eq!(other_destination, "x3");
    assert_eq!(other_account, "x4");
    assert_eq!(too_late, "x5");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_write_in_a_batch_does_not_lose_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&db_path(&dir)));
    store
        .create_account(new_account("acme", 1000))
        .await
        .unwrap();
    store.accept(message("dup", "acme", at(T0))).await.unwrap();

    // Offered together so they share batches: the duplicate id fails alone.
    let tasks: Vec<_> = (0..200)
        .map(|n| {
            let store = Arc::clone(&store);
            let id = if n == 100 {
                "dup".to_string()
            } else {
                format!("m{n:03}")
            };
            tokio::spawn(async move {
                (
                    id.clone(),
                    store.accept(message(&id, "acme", at(T0 + 1))).await,
                )
            })
        })
        .collect();
    let mut failed = Vec::new();
    for task in tasks {
        let (id, outcome) = task.await.unwrap();
        match outcome {
            Ok(AcceptOutcome::Accepted { .. }) => {}
            Ok(other) => panic!("{id}: {other:?}"),
            Err(error) => failed.push((id, error)),
        }
    }
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].0, "dup");
    assert!(matches!(failed[0].1, StoreError::Backend(_)));
    // 1 + 199 stored and charged; the duplicate's charge was rolled back.
    assert_eq!(store.account("acme").await.unwrap().unwrap().credits, 800);
    let stored = store
        .messages(MessageFilter {
            limit: Some(1000),
            ..MessageFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(stored.len(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn close_commits_queued_writes_and_refuses_later_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let store = Arc::new(open(&path));
    store
        .create_account(new_account("acme", 1000))
        .await
        .unwrap();

    let tasks: Vec<_> = (0..300)
        .map(|n| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .accept(message(&format!("m{n:03}"), "acme", at(T0)))
                    .await
            })
        })
        .collect();
    // Let the writes reach the queue, then close while they are in flight.
    tokio::task::yield_now().await;
    store.close().await.unwrap();
    let mut acknowledged = Vec::new();
    for (n, task) in tasks.into_iter().enumerate() {
        match task.await.unwrap() {
            Ok(AcceptOutcome::Accepted { .. }) => acknowledged.push(format!("m{n:03}")),
            Ok(other) => panic!("{other:?}"),
            Err(StoreError::Closed) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    assert!(matches!(
        store.accept(message("late", "acme", at(T0))).await,
        Err(StoreError::Closed)
    ));
    assert!(matches!(
        store.add_credits("acme", 1).await,
        Err(StoreError::Closed)
    ));
    store.close().await.unwrap();

    // Every acknowledged write is in the file.
    drop(store);
    let reopened = open(&path);
    for id in &acknowledged {
        assert!(reopened.message(id).await.unwrap().is_some(), "{id} lost");
    }
    let balance = reopened.account("acme").await.unwrap().unwrap().credits;
    assert_eq!(balance, 1000 - acknowledged.len() as i64);
}

#[tokio::test]
async fn messages_filter_by_account_state_since_and_limit_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&db_path(&dir));
    store
        .create_account(new_account("acme", 100))
        .await
        .unwrap();
    store
        .create_account(new_account("beta", 100))
        .await
        .unwrap();
    for n in 0..5 {
        store
            .accept(message(&format!("a{n}"), "acme", at(T0 + n * 1000)))
            .await
            .unwrap();
        store
            .accept(message(&format!("b{n}"), "beta", at(T0 + n * 1000 + 1)))
            .await
            .unwrap();
    }
    let ids = |records: Vec<smsgate::store::MessageRecord>| {
        records.into_iter().map(|r| r.id).collect::<Vec<_>>()
    };

    let all = store.messages(MessageFilter::default()).await.unwrap();
    assert_eq!(all.len(), 10);
    assert_eq!(all[0].id, "b4");
    assert!(all.iter().all(|record| record.trace.is_empty()));

    let acme = store
        .messages(MessageFilter {
            account: Some("acme".to_string()),
            ..MessageFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(acme), ["a4", "a3", "a2", "a1", "a0"]);

    let recent = store
        .messages(MessageFilter {
            since: Some(at(T0 + 3000)),
            ..MessageFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(recent), ["b4", "a4", "b3", "a3"]);

    let limited = store
        .messages(MessageFilter {
            account: Some("beta".to_string()),
            limit: Some(2),
            ..MessageFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(limited), ["b4", "b3"]);

    let accepted = store
        .messages(MessageFilter {
            state: Some(MessageState::Accepted),
            ..MessageFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(accepted.len(), 10);
    let delivered = store
        .messages(MessageFilter {
            state: Some(MessageState::Delivered),
            ..MessageFilter::default()
        })
        .await
        .unwrap();
    assert!(delivered.is_empty());
}

#[tokio::test]
async fn deleting_an_account_keeps_its_messages() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&db_path(&dir));
    store.create_account(new_account("acme", 5)).await.unwrap();
    store.accept(message("m1", "acme", at(T0))).await.unwrap();
    store.delete_account("acme").await.unwrap();
    assert!(store.message("m1").await.unwrap().is_some());
}

#[tokio::test]
async fn reopening_an_up_to_date_database_applies_no_migration_twice() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    drop(open(&path));
    let store = open(&path);
    store.create_account(new_account("acme", 5)).await.unwrap();
    drop(store);
    assert_eq!(
        open(&path).account("acme").await.unwrap().unwrap().credits,
        5
    );
}

#[tokio::test]
async fn a_database_from_a_newer_smsgate_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    drop(open(&path));
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 999)
        .unwrap();
    match SqliteStore::open(&path) {
        Err(StoreError::Backend(message)) => assert!(message.contains("newer"), "{message}"),
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("opened a database from the future"),
    }
}

#[tokio::test]
async fn api_key_finds_its_account_until_revoked_or_the_account_is_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&db_path(&dir));
    store.create_account(new_account("acme", 5)).await.unwrap();
    let new_key = |id: &str, account: &str| NewApiKey {
        id: id.to_string(),
        account: account.to_string(),
        key_hash: format!("hash-{id}"),
        label: None,
    };
    let created = store.create_api_key(new_key("k1", "acme")).await.unwrap();
    assert_eq!(
        (created.account.as_str(), created.last_used_at),
        ("acme", None)
    );
    store.create_api_key(new_key("k2", "acme")).await.unwrap();
    assert!(matches!(
        store.create_api_key(new_key("k1", "acme")).await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert!(matches!(
        store.create_api_key(new_key("k3", "ghost")).await,
        Err(StoreError::NotFound(_))
    ));

    let found = store.account_for_api_key("hash-k1", at(T0)).await.unwrap();
    assert_eq!(
        found.map(|account| account.system_id).as_deref(),
        Some("acme")
    );
    let mut last_used = None;
    for _ in 0..100 {
        last_used = store.api_keys("acme").await.unwrap()[0].last_used_at;
        if last_used.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        last_used,
        Some(at(T0)),
        "the use is noted in the background"
    );
    assert!(
        store
            .account_for_api_key("hash-nope", at(T0))
            .await
            .unwrap()
            .is_none()
    );

    assert_eq!(store.revoke_api_key("k1").await.unwrap().id, "k1");
    assert!(
        store
            .account_for_api_key("hash-k1", at(T0))
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        store.revoke_api_key("k1").await,
        Err(StoreError::NotFound(_))
    ));
    let ids: Vec<String> = store
        .api_keys("acme")
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.id)
        .collect();
    assert_eq!(ids, ["k2"]);

    store.delete_account("acme").await.unwrap();
    assert!(
        store
            .account_for_api_key("hash-k2", at(T0))
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.api_keys("acme").await.unwrap().is_empty());
}

#[tokio::test]
async fn retention_deletes_old_finished_messages_with_their_traces_and_keeps_open_and_recent_ones()
{
    const DAY: u64 = 24 * 3600 * 1000;
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let store = open(&path);
    store
        .create_account(new_account("acme", 100))
        .await
        .unwrap();
    for (id, accepted) in [
        ("old-done-1", T0),
        ("old-done-2", T0 + 1),
        ("old-open", T0 + 2),
        ("new-done", T0 + 10 * DAY),
    ] {
        let unending = NewMessage {
            expires_at: None,
            ..message(id, "acme", at(accepted))
        };
        store.accept(unending).await.unwrap();
    }
    let claimed = store.claim_due("n", 10, at(T0 + 11 * DAY)).await.unwrap();
    assert_eq!(claimed.len(), 4);
    for id in ["old-done-1", "old-done-2", "new-done"] {
        store
            .record_failure(id, "no route", false, at(T0 + 11 * DAY))
            .await
            .unwrap();
    }
    store.release_claims("n").await.unwrap();

    let cutoff = at(T0 + DAY);
    assert_eq!(
        store.purge_messages(cutoff, 1).await.unwrap(),
        1,
        "one batch takes at most its limit"
    );
    assert_eq!(store.purge_messages(cutoff, 500).await.unwrap(), 1);
    assert_eq!(store.purge_messages(cutoff, 500).await.unwrap(), 0);

    for gone in ["old-done-1", "old-done-2"] {
        assert_eq!(store.message(gone).await.unwrap(), None, "{gone}");
    }
    let open_one = store.message("old-open").await.unwrap().expect("kept");
    assert_eq!(
        open_one.state,
        MessageState::Accepted,
        "dispatch is not done with it"
    );
    assert!(store.message("new-done").await.unwrap().is_some());
    store.close().await.unwrap();
    let db = rusqlite::Connection::open(&path).unwrap();
    let orphans: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM trace_events WHERE message_id LIKE 'old-done-%'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0, "the traces went with their messages");
}

/// Submits `id` (claimed by node "n") to connector "c" as `provider_id`.
async fn submitted_as(store: &SqliteStore, id: &str, provider_id: &str, now: SystemTime) {
    store
        .record_submit_result(
            id,
            smsgate::store::Attempt {
                connector: "c",
                route: "r",
                number: 1,
            },
            smsgate::store::AttemptResult::Submitted {
                provider_id: provider_id.to_string(),
            },
            "ok",
            now,
        )
        .await
        .unwrap();
}

/// A receipt that comes before the submit's answer waits; it is applied
/// when the answer stores its provider id, also after the store was
/// reopened and after a batch was rolled back (the writer's count of such
/// receipts is not trusted then).
#[tokio::test]
async fn a_receipt_before_the_provider_id_is_applied_after_a_reopen_and_a_rollback() {
    use smpp::receipt::ReceiptStat;
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    {
        let store = open(&path);
        store
            .create_account(new_account("acme", 100))
            .await
            .unwrap();
        for id in ["first", "second", "dup"] {
            store.accept(message(id, "acme", at(T0))).await.unwrap();
        }
        assert_eq!(store.claim_due("n", 10, at(T0)).await.unwrap().len(), 3);
        let early = store
            .apply_receipt("c", "AB01", &ReceiptStat::Delivered, "000", at(T0 + 1))
            .await
            .unwrap();
        assert_eq!(early, None, "no message has that provider id yet");
        store.close().await.unwrap();
    }
    let store = open(&path);
    submitted_as(&store, "first", "ab01", at(T0 + 2)).await;
    let first = store.message("first").await.unwrap().unwrap();
    assert_eq!(first.state, MessageState::Delivered, "{:#?}", first.trace);

    // A failing write rolls back its batch; the next early receipt is
    // still found.
    let late = store
        .apply_receipt("c", "CD02", &ReceiptStat::Undeliverable, "001", at(T0 + 3))
        .await
        .unwrap();
    assert_eq!(late, None);
    assert!(store.accept(message("dup", "acme", at(T0))).await.is_err());
    submitted_as(&store, "second", "cd02", at(T0 + 4)).await;
    let second = store.message("second").await.unwrap().unwrap();
    assert_eq!(
        second.state,
        MessageState::Undeliverable,
        "{:#?}",
        second.trace
    );
}
