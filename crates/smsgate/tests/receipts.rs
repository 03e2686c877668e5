//! Delivery receipts back to SMPP customers, end to end: a node in-process
//! (real SQLite store, SMPP server on 127.0.0.1, simulator connectors over
//! real sockets) and customers bound with our SMPP session as independent
//! clients. Receipts must reach a receiving session of the same system_id,
//! wait in the store while none is bound, and be retried after a
//! temporary error.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use smpp::receipt::{Receipt, ReceiptStat};
use smpp::session::{InboundRequest, SessionHandle};
use smpp::types::esm_class;
use smpp::{Bind, Body, COctetString, CommandStatus, DeliverSm, Tlv};
use smsgate::node::Node;
use smsgate::store::{BindType, MessageRecord, MessageState, NewAccount};
use tokio::sync::mpsc;

/// Long enough for anything that should happen; only reached on failure.
const PATIENCE: Duration = Duration::from_secs(20);

const UK: &str = "447911123456";
const US: &str = "14155551234";

/// A node with `extra` TOML (connectors, routes); fast polling and retries.
async fn start(extra: &str, dir: &std::path::Path) -> Node {
    let config = common::parse_local_config(&format!(
        "[dispatch]\npoll_interval = \"20ms\"\n\
         [delivery]\npoll_interval = \"20ms\"\nretry_delays = [\"100ms\"]\n{extra}"
    ));
    let node = common::start_node(&config, dir).await;
    common::add_account(
        &node,
        NewAccount {
            max_binds: 8,
            ..common::test_account("acme", "secret")
        },
    )
    .await;
    node
}

/// A simulator connector answering at once, receipts after 20 ms.
fn sim(name: &str, keys: &str) -> String {
    format!(
        "[connectors.{name}]\nkind = \"sim\"\nlatency = \"0s\"\nreceipt_delay = \"20ms\"\n{keys}\n"
    )
}

/// A customer session of `acme` bound as `bind_type`; its deliver_sm
/// arrive on the returned channel, each with its responder.
async fn bind(
    addr: SocketAddr,
    bind_type: BindType,
) -> (SessionHandle, mpsc::UnboundedReceiver<InboundRequest>) {
    let kind: fn(Bind) -> Body = match bind_type {
        BindType::Transmitter => Body::BindTransmitter,
        BindType::Receiver => Body::BindReceiver,
        BindType::Transceiver => Body::BindTransceiver,
    };
    common::bind_receiving(addr, kind, "acme", "secret").await
}

/// Submits a message; returns our id for it.
async fn submit(client: &SessionHandle, destination: &str, text: &str, registered: u8) -> String {
    let body = common::submit_sm(destination, text, registered);
    common::submitted_id(client.request(body).await.expect("answered"))
}

/// The next deliver_sm on a session, within the patience.
async fn next_deliver(received: &mut mpsc::UnboundedReceiver<InboundRequest>) -> InboundRequest {
    tokio::time::timeout(PATIENCE, received.recv())
        .await
        .expect("a deliver_sm came in time")
        .expect("session open")
}

fn receipt_of(request: &InboundRequest) -> (DeliverSm, Receipt) {
    let Body::DeliverSm(deliver) = &request.pdu.body else {
        panic!("not a deliver_sm: {:?}", request.pdu);
    };
    let receipt = Receipt::parse(&deliver.short_message).expect("receipt text");
    (deliver.clone(), receipt)
}

/// Waits until the message's trace has a line starting with `prefix`.
async fn until_traced(node: &Node, id: &str, prefix: &str) -> MessageRecord {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let message = node.store.message(id).await.expect("read").expect("stored");
        if message
            .trace
            .iter()
            .any(|event| format!("{}: {}", event.kind, event.detail).starts_with(prefix))
        {
            return message;
        }
        assert!(
            Instant::now() < deadline,
            "{id} never traced {prefix:?}: {:#?}",
            message.trace
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn receipt_reaches_a_receiver_session_other_than_the_submitting_transmitter() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(
        &(sim("a", "") + "[[routes]]\nname = \"r\"\nconnectors = \"a\"\n"),
        dir.path(),
    )
    .await;
    let (transmitter, mut transmitter_got) =
        bind(common::smpp_addr(&node), BindType::Transmitter).await;
    let (_receiver, mut receiver_got) = bind(common::smpp_addr(&node), BindType::Receiver).await;

    let id = submit(&transmitter, UK, "Your code is 123456", 1).await;
    let request = next_deliver(&mut receiver_got).await;
    let (deliver, receipt) = receipt_of(&request);
    assert_eq!(deliver.esm_class, esm_class::DELIVERY_RECEIPT);
    assert_eq!(receipt.id, id);
    assert_eq!(receipt.stat, ReceiptStat::Delivered);
    assert_eq!(receipt.text, "Your code is 123456");
    assert_eq!(
        deliver.source.addr.to_string_lossy(),
        UK,
        "from the handset"
    );
    assert_eq!(deliver.destination.addr.to_string_lossy(), "Acme");
    assert!(deliver.tlvs.contains(&Tlv::ReceiptedMessageId(
        COctetString::try_from(id.as_str()).expect("id")
    )));
    assert!(deliver.tlvs.contains(&Tlv::MessageState(2)));
    request.respond_status(CommandStatus::ESME_ROK);

    let message = until_traced(&node, &id, "receipt sent: session").await;
    assert_eq!(message.state, MessageState::Delivered);
    assert!(
        transmitter_got.try_recv().is_err(),
        "a transmitter never gets deliver_sm"
    );
    node.shutdown().await;
}

#[tokio::test]
async fn receipts_wait_while_no_receiver_is_bound_and_go_out_oldest_first_after_a_bind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(
        &(sim("a", "") + "[[routes]]\nname = \"r\"\nconnectors = \"a\"\n"),
        dir.path(),
    )
    .await;
    let (transmitter, _) = bind(common::smpp_addr(&node), BindType::Transmitter).await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(submit(&transmitter, UK, &format!("message {n}"), 1).await);
    }
    for id in &ids {
        until_traced(&node, id, "receipt queued").await;
    }

    let (_receiver, mut got) = bind(common::smpp_addr(&node), BindType::Transceiver).await;
    let mut order = Vec::new();
    for _ in 0..ids.len() {
        let request = next_deliver(&mut got).await;
        order.push(receipt_of(&request).1.id);
        request.respond_status(CommandStatus::ESME_ROK);
    }
    assert_eq!(order, ids, "oldest first");
    for id in &ids {
        until_traced(&node, id, "receipt sent").await;
    }
    node.shutdown().await;
}

#[tokio::test]
async fn receipt_refused_with_a_temporary_error_is_sent_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(
        &(sim("a", "") + "[[routes]]\nname = \"r\"\nconnectors = \"a\"\n"),
        dir.path(),
    )
    .await;
    let (client, mut got) = bind(common::smpp_addr(&node), BindType::Transceiver).await;
    let id = submit(&client, UK, "hello", 1).await;

    let first = next_deliver(&mut got).await;
    assert_eq!(receipt_of(&first).1.id, id);
    first.respond_status(CommandStatus::ESME_RX_T_APPN);
    let second = next_deliver(&mut got).await;
    assert_eq!(receipt_of(&second).1.id, id, "the same receipt again");
    second.respond_status(CommandStatus::ESME_ROK);

    let message = until_traced(&node, &id, "receipt sent").await;
    let retries = message
        .trace
        .iter()
        .filter(|event| event.kind == "receipt retry")
        .count();
    assert_eq!(retries, 1, "{:#?}", message.trace);
    node.shutdown().await;
}

#[tokio::test]
async fn receipt_refused_with_a_permanent_error_is_dropped_with_a_trace_event() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(
        &(sim("a", "") + "[[routes]]\nname = \"r\"\nconnectors = \"a\"\n"),
        dir.path(),
    )
    .await;
    let (client, mut got) = bind(common::smpp_addr(&node), BindType::Transceiver).await;
    let id = submit(&client, UK, "hello", 1).await;
    next_deliver(&mut got)
        .await
        .respond_status(CommandStatus::ESME_RX_P_APPN);
    until_traced(&node, &id, "receipt dropped").await;
    node.shutdown().await;
}

#[tokio::test]
async fn registered_delivery_2_sends_only_the_failure_receipts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = sim("ok", "")
        + &sim("bad", "accept_ratio = 0.0\nreject_status = 0x0B")
        + "[[routes]]\nname = \"uk\"\nprefix = \"44\"\nconnectors = \"ok\"\n\
           [[routes]]\nname = \"us\"\nprefix = \"1\"\nconnectors = \"bad\"\n";
    let node = start(&extra, dir.path()).await;
    let (client, mut got) = bind(common::smpp_addr(&node), BindType::Transceiver).await;
    let delivered = submit(&client, UK, "fine", 2).await;
    let rejected = submit(&client, US, "refused", 2).await;

    let request = next_deliver(&mut got).await;
    let (_, receipt) = receipt_of(&request);
    assert_eq!(receipt.id, rejected);
    assert_eq!(receipt.stat, ReceiptStat::Rejected);
    request.respond_status(CommandStatus::ESME_ROK);

    let ok = node
        .store
        .message(&delivered)
        .await
        .expect("read")
        .expect("stored");
    let deadline = Instant::now() + PATIENCE;
    let mut ok = ok;
    while ok.state != MessageState::Delivered {
        assert!(Instant::now() < deadline, "never delivered: {ok:#?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
        ok = node
            .store
            .message(&delivered)
            .await
            .expect("read")
            .expect("stored");
    }
    assert!(
        !ok.trace
            .iter()
            .any(|event| event.kind.starts_with("receipt queued")),
        "no receipt for a delivered message: {:#?}",
        ok.trace
    );
    node.shutdown().await;
}

#[tokio::test]
async fn receipts_are_spread_over_the_accounts_receiving_sessions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(
        &(sim("a", "") + "[[routes]]\nname = \"r\"\nconnectors = \"a\"\n"),
        dir.path(),
    )
    .await;
    let (transmitter, _) = bind(common::smpp_addr(&node), BindType::Transmitter).await;
    let (_first, mut first_got) = bind(common::smpp_addr(&node), BindType::Receiver).await;
    let (_second, mut second_got) = bind(common::smpp_addr(&node), BindType::Receiver).await;
    let mut ids = Vec::new();
    for n in 0..6 {
        ids.push(submit(&transmitter, UK, &format!("message {n}"), 1).await);
    }
    // Nothing is answered until all have arrived: each session holds its
    // receipts in its window, and the courier picks the less busy one.
    let mut held = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    let (mut on_first, mut on_second) = (0, 0);
    while held.len() < ids.len() {
        assert!(
            Instant::now() < deadline,
            "only {} receipts came",
            held.len()
        );
        tokio::select! {
            Some(request) = first_got.recv() => { on_first += 1; held.push(request); }
            Some(request) = second_got.recv() => { on_second += 1; held.push(request); }
            () = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
    assert!(on_first > 0 && on_second > 0, "{on_first} and {on_second}");
    for request in held {
        request.respond_status(CommandStatus::ESME_ROK);
    }
    for id in &ids {
        until_traced(&node, id, "receipt sent").await;
    }
    node.shutdown().await;
}

/// An account whose receiver takes deliver_sm but never answers them holds
/// only its own share of the courier: another account's receipts keep
/// flowing meanwhile (before, the stuck account's backlog took every
/// delivery slot of the node until its session was closed).
#[tokio::test]
async fn a_receiver_that_never_answers_does_not_hold_back_another_accounts_receipts() {
    // More receipts than the courier used to hold for all accounts together.
    const STUCK: usize = 1_100;
    const FAST: usize = 100;
    let dir = tempfile::tempdir().expect("tempdir");
    // Answers that never come are waited for (30 s, the default response
    // timeout) longer than any step of this test may take.
    let node = start(
        &(sim("a", "") + "[[routes]]\nname = \"r\"\nconnectors = \"a\"\n"),
        dir.path(),
    )
    .await;
    for system_id in ["slow", "fast"] {
        common::add_account(
            &node,
            NewAccount {
                credits: 10_000,
                window: 100,
                deliver_window: 10,
                ..common::test_account(system_id, "secret")
            },
        )
        .await;
    }
    let addr = common::smpp_addr(&node);

    let (slow, mut slow_got) =
        common::bind_receiving(addr, Body::BindTransceiver, "slow", "secret").await;
    let mut stuck = Vec::with_capacity(STUCK);
    for n in 0..STUCK {
        stuck.push(submit(&slow, UK, &format!("slow {n}"), 1).await);
    }
    // Every receipt of `slow` waits for it before `fast` sends anything;
    // its receiver takes what it is sent and answers none of it.
    for id in &stuck {
        until_traced(&node, id, "receipt queued").await;
    }
    let mut unanswered = Vec::new();
    while let Ok(Some(request)) =
        tokio::time::timeout(Duration::from_millis(300), slow_got.recv()).await
    {
        unanswered.push(request);
    }
    assert!(
        !unanswered.is_empty() && unanswered.len() < STUCK,
        "slow's receiver got {} deliver_sm",
        unanswered.len()
    );

    let (fast, mut fast_got) =
        common::bind_receiving(addr, Body::BindTransceiver, "fast", "secret").await;
    let mut sent = Vec::with_capacity(FAST);
    for n in 0..FAST {
        sent.push(submit(&fast, US, &format!("fast {n}"), 1).await);
    }
    let mut receipts = Vec::with_capacity(FAST);
    while receipts.len() < FAST {
        let request = next_deliver(&mut fast_got).await;
        receipts.push(receipt_of(&request).1.id);
        request.respond_status(CommandStatus::ESME_ROK);
    }
    receipts.sort();
    sent.sort();
    assert_eq!(receipts, sent, "every receipt of fast, each once");
    drop(unanswered);
    node.shutdown().await;
}

/// Submits `total` messages as `system_id` (deliver window `window`) and
/// returns how many receipts its session was sent before it answered any,
/// and how many came in all once it answered.
async fn held_then_delivered(system_id: &str, window: u32, total: usize) -> (usize, usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(
        &(sim("a", "") + "[[routes]]\nname = \"r\"\nconnectors = \"a\"\n"),
        dir.path(),
    )
    .await;
    common::add_account(
        &node,
        NewAccount {
            window: 100,
            deliver_window: window,
            ..common::test_account(system_id, "secret")
        },
    )
    .await;
    // A client that would take far more than the window unanswered.
    let stream = tokio::net::TcpStream::connect(common::smpp_addr(&node))
        .await
        .expect("connect");
    let (session, events) = smpp::session::start(
        stream,
        smpp::session::SessionConfig {
            peer_window: 1000,
            ..common::client_session_config()
        },
    );
    let mut got = common::forward_requests(events);
    common::bind(&session, Body::BindTransceiver, system_id, "secret").await;
    let mut ids = Vec::with_capacity(total);
    for n in 0..total {
        ids.push(submit(&session, UK, &format!("message {n}"), 1).await);
    }
    for id in &ids {
        until_traced(&node, id, "receipt queued").await;
    }
    let mut unanswered = Vec::new();
    while let Ok(Some(request)) = tokio::time::timeout(Duration::from_millis(500), got.recv()).await
    {
        unanswered.push(request);
    }
    let held = unanswered.len();
    let mut delivered = held;
    for request in unanswered {
        request.respond_status(CommandStatus::ESME_ROK);
    }
    while delivered < total {
        next_deliver(&mut got)
            .await
            .respond_status(CommandStatus::ESME_ROK);
        delivered += 1;
    }
    node.shutdown().await;
    (held, delivered)
}

/// The account's deliver window, not a fixed 10, is how many deliver_sm
/// one of its sessions is sent without answering: a customer platform that
/// takes one at a time gets one, a fast one gets what it asked for.
#[tokio::test]
async fn a_session_is_sent_at_most_its_accounts_deliver_window_of_unanswered_receipts() {
    assert_eq!(held_then_delivered("narrow", 1, 5).await, (1, 5));
    assert_eq!(held_then_delivered("wide", 25, 40).await, (25, 40));
}
