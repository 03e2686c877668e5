//! `/metrics` and `/readyz` on a node in-process (real SQLite store, SMPP
//! server and HTTP listener on 127.0.0.1, a simulator connector): after a
//! customer binds, submits one good and one bad message and gets the
//! receipt, the scrape shows each of them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use smpp::session::{self, InboundRequest, SessionConfig, SessionEvent, SessionHandle};
use smpp::types::{npi, ton};
use smpp::{Address, Bind, Body, COctetString, CommandStatus, SubmitSm};
use smsgate::accounts::password;
use smsgate::clock::ManualClock;
use smsgate::config::Config;
use smsgate::node::Node;
use smsgate::store::{BindType, MessageState, NewAccount};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// Long enough for anything that should happen; only reached on failure.
const PATIENCE: Duration = Duration::from_secs(20);

/// A node with a simulator connector `sim` routing everything, and the
/// account `acme`.
async fn start(dir: &std::path::Path) -> Node {
    let text = "[node]\nname = \"test\"\n\
         [smpp]\nlisten = [\"127.0.0.1:0\"]\ntls = false\nshutdown_timeout = \"2s\"\n\
         [http]\nlisten = [\"127.0.0.1:0\"]\n\
         [dispatch]\npoll_interval = \"20ms\"\n\
         [delivery]\npoll_interval = \"20ms\"\n\
         [connectors.sim]\nkind = \"sim\"\nlatency = \"0s\"\nreceipt_delay = \"20ms\"\n\
         [[routes]]\nname = \"all\"\nconnectors = \"sim\"\n";
    let config = Config::parse(text).expect("test configuration parses");
    let node = Node::start(&config, None, dir, Arc::new(ManualClock::new()))
        .await
        .expect("node starts");
    node.store
        .create_account(NewAccount {
            system_id: "acme".into(),
            password_hash: password::hash("secret").expect("hash"),
            credits: 1000,
            max_binds: 8,
            tps: None,
            window: 10,
            bind_types: BindType::ALL.to_vec(),
            allowed_ips: Vec::new(),
            allowed_senders: Vec::new(),
            default_sender: None,
            address_ranges: Vec::new(),
            group: None,
        })
        .await
        .expect("account created");
    node
}

fn http_addr(node: &Node) -> SocketAddr {
    node.http
        .as_ref()
        .expect("the HTTP listener runs")
        .local_addrs()[0]
}

fn http_client() -> reqwest::Client {
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("ring supports the defaults")
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .expect("a client")
}

/// A transceiver session of `acme`; its deliver_sm arrive on the channel.
async fn bind_transceiver(
    addr: SocketAddr,
) -> (SessionHandle, mpsc::UnboundedReceiver<InboundRequest>) {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let config = SessionConfig {
        response_timeout: Duration::from_secs(120),
        enquire_link_interval: None,
        inactivity_timeout: None,
        ..SessionConfig::default()
    };
    let (handle, mut events) = session::start(stream, config);
    let (requests, received) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            if let SessionEvent::Request(request) = event {
                let _ = requests.send(request);
            }
        }
    });
    let body = Body::BindTransceiver(Bind {
        system_id: COctetString::from_static("acme"),
        password: COctetString::from_static("secret"),
        interface_version: 0x34,
        ..Bind::default()
    });
    let resp = handle.request(body).await.expect("bind answered");
    assert_eq!(resp.status, CommandStatus::ESME_ROK, "bound");
    (handle, received)
}

/// Submits a message asking for a receipt; returns the answer.
async fn submit(client: &SessionHandle, destination: &str) -> smpp::Pdu {
    let body = Body::SubmitSm(SubmitSm {
        source: Address::new(
            ton::ALPHANUMERIC,
            npi::UNKNOWN,
            COctetString::from_static("Acme"),
        ),
        destination: Address::new(
            ton::INTERNATIONAL,
            npi::ISDN,
            COctetString::try_from(destination).expect("dest"),
        ),
        registered_delivery: 1,
        short_message: Bytes::from_static(b"Your code is 123456"),
        ..SubmitSm::default()
    });
    client.request(body).await.expect("answered")
}

/// The value of the series whose name and labels are exactly `series`.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.parse().expect("a number"))
}

#[tokio::test]
async fn metrics_count_accepted_rejected_submitted_receipts_and_sessions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path()).await;
    let smpp = node.smpp.plaintext_addr().expect("plaintext listener");
    let (client, mut received) = bind_transceiver(smpp).await;

    let good = submit(&client, "447911123456").await;
    assert_eq!(good.status, CommandStatus::ESME_ROK);
    let bad = submit(&client, "447700900123").await;
    assert_eq!(bad.status, CommandStatus::ESME_RINVDSTADR);
    let receipt = tokio::time::timeout(PATIENCE, received.recv())
        .await
        .expect("a receipt came in time")
        .expect("session open");
    receipt.respond_status(CommandStatus::ESME_ROK);
    let deadline = Instant::now() + PATIENCE;
    while node
        .store
        .messages(Default::default())
        .await
        .expect("read")
        .iter()
        .any(|message| message.state != MessageState::Delivered)
    {
        assert!(Instant::now() < deadline, "the message was never delivered");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let response = http_client()
        .get(format!("http://{}/metrics", http_addr(&node)))
        .send()
        .await
        .expect("scraped");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = response.text().await.expect("a body");
    let value = |series: &str| value(&text, series);
    assert_eq!(
        value(r#"smsgate_messages_accepted_total{account="acme"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(r#"smsgate_messages_rejected_total{account="acme",reason="invalid_destination"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(value("smsgate_accept_seconds_count"), Some(2.0), "{text}");
    assert_eq!(
        value(r#"smsgate_submits_total{connector="sim",outcome="accepted",verdict="submitted"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(r#"smsgate_provider_response_seconds_count{connector="sim"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(r#"smsgate_receipts_total{connector="sim",stat="DELIVRD"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(r#"smsgate_sessions{account="acme",bind_type="transceiver"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(r#"smsgate_connector_in_flight{connector="sim"}"#),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        value(r#"smsgate_messages_waiting{state="accepted"}"#),
        Some(0.0),
        "{text}"
    );
    assert!(value("smsgate_outbox_waiting").is_some(), "{text}");
    // Tracking observes the latency just after the receipt's state change
    // is stored, so a scrape may come between the two: ask again briefly.
    let latency = r#"smsgate_receipt_latency_seconds_count{connector="sim"}"#;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = http_client()
            .get(format!("http://{}/metrics", http_addr(&node)))
            .send()
            .await
            .expect("a scrape")
            .text()
            .await
            .expect("a body");
        let count = text
            .lines()
            .find_map(|line| line.strip_prefix(latency)?.strip_prefix(' '))
            .and_then(|v| v.parse::<f64>().ok());
        if count == Some(1.0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "one end-to-end receipt latency observed: {text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    node.shutdown().await;
}

#[tokio::test]
async fn readyz_answers_ready_while_the_store_answers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path()).await;
    let response = http_client()
        .get(format!("http://{}/readyz", http_addr(&node)))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("a body"), "ready\n");
    node.shutdown().await;
}
