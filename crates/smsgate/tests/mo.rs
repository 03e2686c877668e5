//! Inbound messages (MO) end to end: simulators send MO over SMPP to our
//! connectors (or a provider POSTs it to our webhook endpoint), and the
//! node routes it to the right account's sessions, a customer webhook, or
//! an Asterisk spool; all over real sockets with a real SQLite store.

mod common;

use std::time::{Duration, Instant};

use smpp::session::{InboundRequest, SessionHandle};
use smpp::{Body, CommandStatus, DeliverSm};
use smsgate::node::Node;
use smsgate::store::{MessageFilter, MessageState, NewAccount};
use tokio::sync::mpsc;

const PATIENCE: Duration = Duration::from_secs(20);

async fn start(extra: &str, dir: &std::path::Path) -> Node {
    let config =
        common::parse_local_config(&format!("[delivery]\npoll_interval = \"20ms\"\n{extra}"));
    common::start_node(&config, dir).await
}

async fn add_account(node: &Node, system_id: &str, ranges: &[&str]) {
    let account = NewAccount {
        credits: 10,
        address_ranges: ranges.iter().map(|range| range.to_string()).collect(),
        ..common::test_account(system_id, "secret")
    };
    common::add_account(node, account).await;
}

async fn bind_receiver(
    node: &Node,
    system_id: &str,
) -> (SessionHandle, mpsc::UnboundedReceiver<InboundRequest>) {
    let addr = common::smpp_addr(node);
    common::bind_receiving(addr, Body::BindReceiver, system_id, "secret").await
}

/// The next deliver_sm, answered ESME_ROK.
async fn next_mo(received: &mut mpsc::UnboundedReceiver<InboundRequest>) -> DeliverSm {
    let request = tokio::time::timeout(PATIENCE, received.recv())
        .await
        .expect("an MO came in time")
        .expect("session open");
    let Body::DeliverSm(deliver) = request.pdu.body.clone() else {
        panic!("not a deliver_sm: {:?}", request.pdu);
    };
    request.respond_status(CommandStatus::ESME_ROK);
    deliver
}

fn sim_with_mo(name: &str, destination: &str, text: &str) -> String {
    format!(
        "[connectors.{name}]\nkind = \"sim\"\nlatency = \"0s\"\nmo_interval = \"300ms\"\n\
         mo_source = \"447911123456\"\nmo_destination = \"{destination}\"\nmo_text = \"{text}\"\n"
    )
}

#[tokio::test]
async fn mo_goes_to_the_account_whose_address_range_holds_its_destination() {
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = sim_with_mo("nl", "31699887766", "hello Test1")
        + &sim_with_mo("uk", "447700100200", "hello Test2")
        + "[[routes]]\nname = \"r\"\nconnectors = \"nl\"\n";
    let node = start(&extra, dir.path()).await;
    add_account(&node, "Test1", &["+31699887766"]).await;
    add_account(&node, "Test2", &["4477001*"]).await;
    add_account(&node, "Test3", &["/1.*/"]).await;
    // The ranges are read again within 5 s of a change.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let (_one, mut test1) = bind_receiver(&node, "Test1").await;
    let (_two, mut test2) = bind_receiver(&node, "Test2").await;
    let (_three, mut test3) = bind_receiver(&node, "Test3").await;

    let to_test1 = next_mo(&mut test1).await;
    assert_eq!(to_test1.destination.addr.to_string_lossy(), "31699887766");
    assert_eq!(&to_test1.short_message[..], b"hello Test1");
    assert_eq!(to_test1.source.addr.to_string_lossy(), "447911123456");
    let to_test2 = next_mo(&mut test2).await;
    assert_eq!(to_test2.destination.addr.to_string_lossy(), "447700100200");
    assert_eq!(&to_test2.short_message[..], b"hello Test2");
    assert!(test3.try_recv().is_err(), "Test3's range holds neither");

    let deadline = Instant::now() + PATIENCE;
    let delivered = loop {
        let stored = node
            .store
            .messages(MessageFilter {
                account: Some("Test1".into()),
                state: Some(MessageState::Delivered),
                ..MessageFilter::default()
            })
            .await
            .expect("listed");
        if let Some(message) = stored.first() {
            break node
                .store
                .message(&message.id)
                .await
                .expect("read")
                .expect("stored");
        }
        assert!(Instant::now() < deadline, "no MO of Test1 ended delivered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        delivered.trace.iter().any(|event| event
            .detail
            .contains("address range +31699887766 of account Test1")),
        "{:#?}",
        delivered.trace
    );
    node.shutdown().await;
}

#[tokio::test]
async fn mo_matching_no_range_is_stored_failed_with_the_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = sim_with_mo("nl", "31699887766", "anyone there")
        + "[[routes]]\nname = \"r\"\nconnectors = \"nl\"\n";
    let node = start(&extra, dir.path()).await;
    let deadline = Instant::now() + PATIENCE;
    loop {
        let failed = node
            .store
            .messages(MessageFilter {
                state: Some(MessageState::Failed),
                ..MessageFilter::default()
            })
            .await
            .expect("listed");
        if let Some(listed) = failed.first() {
            let message = node
                .store
                .message(&listed.id)
                .await
                .expect("read")
                .expect("stored");
            assert!(
                message
                    .trace
                    .iter()
                    .any(|event| event.detail == "no matching address range"),
                "{:#?}",
                message.trace
            );
            break;
        }
        assert!(Instant::now() < deadline, "no failed MO stored");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    node.shutdown().await;
}

#[tokio::test]
async fn multipart_mo_is_reassembled_for_a_signed_webhook() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (addr, seen) = common::recording_webhook("/mo").await;
    let long_text = "This reply is longer than one SMS can hold, so the network delivers it \
                     in two parts with a concatenation header; the customer's webhook must \
                     get it back in one piece, exactly as the handset sent it. End.";
    let extra = sim_with_mo("nl", "12345", long_text)
        + "[[routes]]\nname = \"r\"\nconnectors = \"nl\"\n"
        + "[[mo_routes]]\ndestination = \"12345\"\nwebhook = \"crm\"\n"
        + &format!("[webhooks.crm]\nurl = \"http://{addr}/mo\"\nsecret = \"s3cret\"\n");
    let node = start(&extra, dir.path()).await;

    let deadline = Instant::now() + PATIENCE;
    let (headers, body) = loop {
        if let Some(first) = seen.lock().expect("lock").first().cloned() {
            break first;
        }
        assert!(Instant::now() < deadline, "the webhook was never called");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let json: serde_json::Value = serde_json::from_str(&body).expect("JSON body");
    assert_eq!(json["event"], "mo");
    assert_eq!(json["text"], long_text);
    assert_eq!(json["segments"], 2);
    assert_eq!(json["to"], "12345");
    let signature = headers
        .get("x-smsgate-signature")
        .and_then(|value| value.to_str().ok())
        .expect("signed");
    assert!(signature.starts_with("sha256="), "{signature}");
    node.shutdown().await;
}

#[tokio::test]
async fn mo_routed_to_asterisk_becomes_a_call_file_in_the_outgoing_spool() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spool = tempfile::tempdir().expect("tempdir");
    let outgoing = spool.path().join("outgoing");
    let staging = spool.path().join("staging");
    std::fs::create_dir(&outgoing).expect("outgoing");
    let extra = sim_with_mo("nl", "12345", "call me")
        + "[[routes]]\nname = \"r\"\nconnectors = \"nl\"\n"
        + "[[mo_routes]]\nkeyword = \"CALL\"\nasterisk = \"pbx\"\n"
        + &format!(
            "[asterisk.pbx]\noutgoing_dir = {:?}\nstaging_dir = {:?}\nchannel_context = \"sms\"\n",
            outgoing.display().to_string(),
            staging.display().to_string()
        );
    let node = start(&extra, dir.path()).await;
    let deadline = Instant::now() + PATIENCE;
    let file = loop {
        let found = std::fs::read_dir(&outgoing)
            .expect("readable")
            .filter_map(Result::ok)
            .next();
        if let Some(entry) = found {
            break std::fs::read_to_string(entry.path()).expect("call file");
        }
        assert!(Instant::now() < deadline, "no call file written");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(file.contains("Channel: Local/12345@sms"), "{file}");
    assert!(file.contains("setvar: MESSAGE(body)=call%20me"), "{file}");
    assert!(
        file.contains("setvar: MESSAGE(from)=447911123456"),
        "{file}"
    );
    node.shutdown().await;
}

#[tokio::test]
async fn mo_posted_to_the_provider_webhook_endpoint_reaches_the_accounts_session() {
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = "[connectors.web]\nkind = \"http\"\nurl = \"http://127.0.0.1:9/send\"\n\
                 [connectors.web.webhooks]\npermit_addr = [\"127.0.0.0/8\"]\n\
                 [[routes]]\nname = \"r\"\nconnectors = \"web\"\n";
    let node = start(extra, dir.path()).await;
    add_account(&node, "Test1", &["+31699887766"]).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let (_session, mut got) = bind_receiver(&node, "Test1").await;

    let url = format!("http://{}/hooks/web/mo", common::http_addr(&node));
    let client = common::http_client();
    let response = client
        .post(url)
        .form(&[
            ("To", "+31699887766"),
            ("From", "+447911123456"),
            ("Body", "Hallo via HTTP"),
        ])
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status().as_u16(), 200);

    let mo = next_mo(&mut got).await;
    assert_eq!(mo.destination.addr.to_string_lossy(), "31699887766");
    assert_eq!(
        smstext::decode(mo.data_coding, &mo.short_message).expect("text"),
        "Hallo via HTTP"
    );
    node.shutdown().await;
}
