//! `/metrics` and `/readyz` on a node in-process (real SQLite store, SMPP
//! server and HTTP listener on 127.0.0.1, a simulator connector): after a
//! customer binds, submits one good and one bad message and gets the
//! receipt, the scrape shows each of them.

mod common;

use std::time::{Duration, Instant};

use smpp::session::SessionHandle;
use smpp::{Body, CommandStatus};
use smsgate::node::Node;
use smsgate::store::{MessageState, NewAccount};

/// Long enough for anything that should happen; only reached on failure.
const PATIENCE: Duration = Duration::from_secs(20);

/// A node with a simulator connector `sim` routing everything, and the
/// account `acme`.
async fn start(dir: &std::path::Path) -> Node {
    let config = common::parse_local_config(
        "[dispatch]\npoll_interval = \"20ms\"\n\
         [delivery]\npoll_interval = \"20ms\"\n\
         [connectors.sim]\nkind = \"sim\"\nlatency = \"0s\"\nreceipt_delay = \"20ms\"\n\
         [[routes]]\nname = \"all\"\nconnectors = \"sim\"\n",
    );
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

/// Submits a message asking for a receipt; returns the answer.
async fn submit(client: &SessionHandle, destination: &str) -> smpp::Pdu {
    let body = common::submit_sm(destination, "Your code is 123456", 1);
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
    let smpp = common::smpp_addr(&node);
    let (client, mut received) =
        common::bind_receiving(smpp, Body::BindTransceiver, "acme", "secret").await;

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

    let response = common::http_client()
        .get(format!("http://{}/metrics", common::http_addr(&node)))
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
        let text = common::http_client()
            .get(format!("http://{}/metrics", common::http_addr(&node)))
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
    let response = common::http_client()
        .get(format!("http://{}/readyz", common::http_addr(&node)))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("a body"), "ready\n");
    node.shutdown().await;
}

#[tokio::test]
async fn metrics_outside_allowed_ips_need_the_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = common::local_config();
    // Loopback taken out: the test's own address is now "outside".
    config.metrics.allowed_ips = Vec::new();
    config.metrics.token = Some("scrape-me".into());
    let node = common::start_node(&config, dir.path()).await;
    let url = format!("http://{}/metrics", common::http_addr(&node));
    let http = common::http_client();
    let refused = http.get(&url).send().await.expect("answered");
    assert_eq!(refused.status(), reqwest::StatusCode::FORBIDDEN);
    let wrong = http
        .get(&url)
        .bearer_auth("guess")
        .send()
        .await
        .expect("answered");
    assert_eq!(wrong.status(), reqwest::StatusCode::FORBIDDEN);
    let allowed = http
        .get(&url)
        .bearer_auth("scrape-me")
        .send()
        .await
        .expect("answered");
    assert_eq!(allowed.status(), reqwest::StatusCode::OK);
    assert!(allowed.text().await.expect("text").contains("smsgate_"));
    node.shutdown().await;
}
