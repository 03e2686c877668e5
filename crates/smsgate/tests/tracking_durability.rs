//! Tracking tells a connector that a receipt or MO is stored only once it
//! is durable in a real SQLite store, and that it failed when the store
//! refuses the write: the connector then answers the provider with a
//! temporary error instead of ESME_ROK. The store is made to fail for real,
//! by a trigger another connection puts on its file (as a full disk or a
//! locked database would make the write fail).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use smpp::receipt::ReceiptStat;
use smpp::{Address, COctetString, Tlv};
use smsgate::connectors::{Inbound, InboundEvent, ProviderMo, ProviderReceipt, StoredReceiver};
use smsgate::store::sqlite::SqliteStore;
use smsgate::store::{MessageFilter, Store};
use smsgate::tracking::mo::{MoConfig, MoRouter};
use tokio::sync::mpsc;

/// Long enough for anything that should arrive; only reached on failure.
const PATIENCE: Duration = Duration::from_secs(10);

struct Tracking {
    events: mpsc::Sender<Inbound>,
    store: Arc<dyn Store>,
    path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

/// An MO router with no routes or spools over `store`.
async fn mo_router(store: &Arc<dyn Store>) -> MoRouter {
    MoRouter::new(
        Arc::clone(store),
        Vec::new(),
        BTreeMap::new(),
        MoConfig::default(),
    )
    .await
    .expect("router")
}

async fn start_tracking() -> Tracking {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("smsgate.db");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).expect("store opens"));
    let mo = mo_router(&store).await;
    let (events, inbound) = mpsc::channel(16);
    tokio::spawn(smsgate::tracking::track(
        Arc::clone(&store),
        inbound,
        mo,
        None,
        Arc::new(tokio::sync::Notify::new()),
    ));
    Tracking {
        events,
        store,
        path,
        _dir: dir,
    }
}

impl Tracking {
    async fn hand_over(&self, event: InboundEvent) -> StoredReceiver {
        let (inbound, stored) = Inbound::new(event);
        self.events.send(inbound).await.expect("tracking runs");
        stored
    }

    /// Runs SQL on the store's file from another connection.
    fn sql(&self, sql: &str) {
        let conn = rusqlite::Connection::open(&self.path).expect("second connection");
        conn.busy_timeout(Duration::from_secs(5)).expect("timeout");
        conn.execute_batch(sql).expect("sql runs");
    }
}

async fn outcome(stored: StoredReceiver) -> Result<(), String> {
    tokio::time::timeout(PATIENCE, stored)
        .await
        .expect("tracking answers")
        .expect("tracking answers before it drops the event")
}

fn receipt(provider_id: &str) -> InboundEvent {
    InboundEvent::Receipt(ProviderReceipt {
        connector: "carrier".into(),
        provider_id: provider_id.into(),
        stat: ReceiptStat::Delivered,
        err: String::new(),
        network_error: None,
        done_at: None,
        received_at: SystemTime::now(),
    })
}

fn mo_part(seq: u8, text: &[u8]) -> InboundEvent {
    InboundEvent::Mo(ProviderMo {
        connector: "carrier".into(),
        source: Address::new(1, 1, COctetString::from_static("447911000001")),
        destination: Address::new(0, 1, COctetString::from_static("4477")),
        data_coding: 0,
        esm_class: 0,
        short_message: Bytes::copy_from_slice(text),
        tlvs: vec![
            Tlv::SarMsgRefNum(42),
            Tlv::SarTotalSegments(2),
            Tlv::SarSegmentSeqnum(seq),
        ],
        received_at: SystemTime::now(),
    })
}

#[tokio::test]
async fn a_receipt_is_confirmed_stored_and_a_failing_store_is_reported_not_confirmed() {
    let tracking = start_tracking().await;
    // A receipt for an id no submit named yet is kept: that is a write too.
    assert_eq!(
        outcome(tracking.hand_over(receipt("a1")).await).await,
        Ok(())
    );

    tracking.sql(
        "CREATE TRIGGER refuse BEFORE INSERT ON pending_receipts \
         BEGIN SELECT RAISE(ABORT, 'simulated disk failure'); END;",
    );
    let refused = outcome(tracking.hand_over(receipt("a2")).await).await;
    let why = refused.expect_err("a failed write is not confirmed");
    assert!(why.contains("simulated disk failure"), "{why}");

    tracking.sql("DROP TRIGGER refuse;");
    assert_eq!(
        outcome(tracking.hand_over(receipt("a2")).await).await,
        Ok(())
    );
}

#[tokio::test]
async fn each_part_of_a_long_mo_is_stored_before_it_is_confirmed_and_the_whole_replaces_them() {
    let tracking = start_tracking().await;
    tracking.sql(
        "CREATE TRIGGER refuse BEFORE INSERT ON mo_parts \
         BEGIN SELECT RAISE(ABORT, 'simulated disk failure'); END;",
    );
    let refused = outcome(tracking.hand_over(mo_part(1, b"Hello ")).await).await;
    assert!(
        refused.is_err(),
        "a part that could not be stored was confirmed"
    );
    tracking.sql("DROP TRIGGER refuse;");

    assert_eq!(
        outcome(tracking.hand_over(mo_part(1, b"Hello ")).await).await,
        Ok(())
    );
    let parts = tracking.store.mo_parts().await.expect("readable");
    assert_eq!(parts.len(), 1, "the first part waits in the store");

    assert_eq!(
        outcome(tracking.hand_over(mo_part(2, b"world")).await).await,
        Ok(())
    );
    assert!(
        tracking
            .store
            .mo_parts()
            .await
            .expect("readable")
            .is_empty(),
        "the whole message's transaction removes its parts"
    );
    let stored = tracking
        .store
        .messages(MessageFilter::default())
        .await
        .expect("readable");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].payload, b"Hello world");
    assert_eq!(stored[0].segments, 2);
}

#[tokio::test]
async fn parts_stored_before_a_restart_are_put_together_with_the_rest_after_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("smsgate.db");
    {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).expect("store opens"));
        let mo = mo_router(&store).await;
        let InboundEvent::Mo(first) = mo_part(1, b"Hello ") else {
            unreachable!("an MO part")
        };
        assert_eq!(mo.handle(first).await, Ok(()));
        store.close().await.expect("closes");
    }
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).expect("store opens again"));
    let mo = mo_router(&store).await;
    assert_eq!(mo.resume_stored_parts().await, Ok(1));
    let InboundEvent::Mo(second) = mo_part(2, b"world") else {
        unreachable!("an MO part")
    };
    assert_eq!(mo.handle(second).await, Ok(()));
    let stored = store
        .messages(MessageFilter::default())
        .await
        .expect("readable");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].payload, b"Hello world");
    assert!(store.mo_parts().await.expect("readable").is_empty());
}
