//! Provider webhooks over real sockets: a provider (reqwest) posts MO
//! messages and receipts to the router served on 127.0.0.1, and the events
//! arrive on the channel to tracking, or the request is refused with the
//! right status. A webhook must have `auth` or `permit_addr`, or say
//! `insecure = true`; the tests of reading requests use the last.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::RequestBuilder;
use sha2::Sha256;
use smpp::receipt::ReceiptStat;
use smpp::types::{npi, ton};
use smsgate::clock::ManualClock;
use smsgate::connectors::{Inbound, InboundEvent, ProviderMo, ProviderReceipt};
use smsgate::ingress::provider_webhooks::{ProviderWebhookConfig, router};
use smsgate::node::Node;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// Long enough for anything that should arrive; only reached on failure.
const PATIENCE: Duration = Duration::from_secs(5);

/// A webhook anyone may call, for the tests of how requests are read.
const OPEN: &str = "insecure = true";

/// A running webhook router for the connector `acme`, and what a stand-in
/// for tracking took from its channel (each event confirmed stored).
struct Gateway {
    base: String,
    events: mpsc::UnboundedReceiver<InboundEvent>,
    http: reqwest::Client,
}

/// Plays tracking: takes each event, passes it to the test, and tells the
/// router it is stored. Stops (closing the channel) once the test no longer
/// listens; an event taken then is dropped unstored.
fn confirm_each(mut inbound: mpsc::Receiver<Inbound>) -> mpsc::UnboundedReceiver<InboundEvent> {
    let (to_test, events) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(Inbound { event, stored }) = inbound.recv().await {
            if to_test.send(event).is_err() {
                break;
            }
            stored.finish(Ok(()));
        }
    });
    events
}

fn config(toml_text: &str) -> ProviderWebhookConfig {
    match toml::from_str(toml_text) {
        Ok(config) => config,
        Err(e) => panic!("test config does not parse: {e}"),
    }
}

async fn serve(toml_text: &str) -> Gateway {
    let (sender, inbound) = mpsc::channel(16);
    let base = serve_router(toml_text, sender).await;
    Gateway {
        base,
        events: confirm_each(inbound),
        http: common::http_client(),
    }
}

/// Serves the router for `acme` with `sender` as its channel to tracking;
/// returns its base URL.
async fn serve_router(toml_text: &str, sender: mpsc::Sender<Inbound>) -> String {
    let app = router("acme", &config(toml_text), sender).expect("the test config is valid");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    format!("http://{addr}")
}

impl Gateway {
    fn post(&self, path: &str) -> RequestBuilder {
        self.http.post(format!("{}{path}", self.base))
    }

    fn mo(&self) -> RequestBuilder {
        self.post("/hooks/acme/mo")
    }

    fn receipt(&self) -> RequestBuilder {
        self.post("/hooks/acme/receipt")
    }

    async fn next_event(&mut self) -> InboundEvent {
        tokio::time::timeout(PATIENCE, self.events.recv())
            .await
            .expect("an event arrives")
            .expect("the channel is open")
    }

    async fn next_mo(&mut self) -> ProviderMo {
        match self.next_event().await {
            InboundEvent::Mo(mo) => mo,
            other => panic!("expected an MO, got {other:?}"),
        }
    }

    async fn next_receipt(&mut self) -> ProviderReceipt {
        match self.next_event().await {
            InboundEvent::Receipt(receipt) => receipt,
            other => panic!("expected a receipt, got {other:?}"),
        }
    }

    /// Nothing reached tracking. Handlers answer only after the event is in
    /// the channel, so a request already answered has left its event.
    fn assert_no_event(&mut self) {
        if let Ok(event) = self.events.try_recv() {
            panic!("unexpected event {event:?}");
        }
    }
}

/// The status and body of the answer.
async fn send(request: RequestBuilder) -> (u16, String) {
    let response = request.send().await.expect("the request is answered");
    let status = response.status().as_u16();
    (status, response.text().await.expect("a body"))
}

const TWILIO_FORM: &[(&str, &str)] = &[
    ("To", "+12025550160"),
    ("From", "+15017122661"),
    ("Body", "Incoming message! é😀"),
];

fn ucs2(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

fn addr_text(address: &smpp::Address) -> String {
    address.addr.to_string_lossy().into_owned()
}

#[tokio::test]
async fn form_mo_becomes_an_mo_event_with_ucs2_text() {
    let mut gateway = serve(OPEN).await;
    assert_eq!(
        send(gateway.mo().form(TWILIO_FORM)).await,
        (200, String::new())
    );
    let mo = gateway.next_mo().await;
    assert_eq!(mo.connector, "acme");
    assert_eq!(
        (mo.source.ton, mo.source.npi, addr_text(&mo.source)),
        (ton::INTERNATIONAL, npi::ISDN, "15017122661".to_string())
    );
    assert_eq!(
        (
            mo.destination.ton,
            mo.destination.npi,
            addr_text(&mo.destination)
        ),
        (ton::INTERNATIONAL, npi::ISDN, "12025550160".to_string())
    );
    assert_eq!(mo.data_coding, 8);
    assert_eq!(mo.esm_class, 0);
    assert_eq!(&mo.short_message[..], &ucs2("Incoming message! é😀")[..]);
    assert!(mo.tlvs.is_empty());
    let age = mo.received_at.elapsed().unwrap_or_default();
    assert!(age < PATIENCE, "received_at is now");
}

#[tokio::test]
async fn json_mo_from_the_websms_example_is_read_with_the_default_keys() {
    let mut gateway = serve(OPEN).await;
    let body =
        serde_json::json!({"to":"+12025550160","from":"+15017122661","body":"Incoming message!"});
    assert_eq!(send(gateway.mo().json(&body)).await.0, 200);
    let mo = gateway.next_mo().await;
    assert_eq!(addr_text(&mo.source), "15017122661");
    assert_eq!(addr_text(&mo.destination), "12025550160");
    assert_eq!(&mo.short_message[..], &ucs2("Incoming message!")[..]);
}

#[tokio::test]
async fn configured_keys_find_fields_nested_in_json_form_values() {
    // Zadarma posts a form whose `result` field is JSON.
    let mut gateway = serve(
        "insecure = true\nkey_to = \"caller_did\"\nkey_from = \"caller_id\"\nkey_body = \"text\"",
    )
    .await;
    let result = r#"{"caller_id":"+15017122661","caller_did":"12025550160","text":"Hi"}"#;
    let form = [("event", "SMS"), ("result", result)];
    assert_eq!(send(gateway.mo().form(&form)).await.0, 200);
    let mo = gateway.next_mo().await;
    assert_eq!(addr_text(&mo.source), "15017122661");
    assert_eq!(addr_text(&mo.destination), "12025550160");
    assert_eq!(&mo.short_message[..], &ucs2("Hi")[..]);
}

#[tokio::test]
async fn short_codes_and_sender_ids_keep_their_kind() {
    let mut gateway = serve(OPEN).await;
    let form = [("To", "12345"), ("From", "Acme"), ("Body", "x")];
    assert_eq!(send(gateway.mo().form(&form)).await.0, 200);
    let mo = gateway.next_mo().await;
    assert_eq!(
        (mo.destination.ton, mo.destination.npi),
        (ton::ABBREVIATED, npi::ISDN)
    );
    assert_eq!(
        (mo.source.ton, mo.source.npi),
        (ton::ALPHANUMERIC, npi::UNKNOWN)
    );
    assert_eq!(addr_text(&mo.source), "Acme");
}

#[tokio::test]
async fn key_echo_is_answered_with_its_value_and_makes_no_event() {
    let mut gateway = serve("insecure = true\nkey_echo = \"zd_echo\"").await;
    let url = format!("{}/hooks/acme/mo", gateway.base);
    let check = gateway.http.get(&url).query(&[("zd_echo", "a1b2 c3")]);
    assert_eq!(send(check).await, (200, "a1b2 c3".to_string()));
    let posted = gateway.mo().query(&[("zd_echo", "xyz")]).form(TWILIO_FORM);
    assert_eq!(send(posted).await, (200, "xyz".to_string()));
    gateway.assert_no_event();
}

#[tokio::test]
async fn a_get_that_is_not_a_url_check_is_method_not_allowed() {
    let mut gateway = serve("insecure = true\nkey_echo = \"zd_echo\"").await;
    let url = format!("{}/hooks/acme/mo", gateway.base);
    let (status, _) = send(gateway.http.get(&url).query(&[("To", "1")])).await;
    assert_eq!(status, 405);
    gateway.assert_no_event();
}

#[tokio::test]
async fn report_success_is_the_exact_answer_body() {
    let mut gateway = serve("insecure = true\nreport_success = \"<Response></Response>\"").await;
    let response = gateway
        .mo()
        .form(TWILIO_FORM)
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/xml; charset=utf-8"
    );
    assert_eq!(
        response.text().await.expect("body"),
        "<Response></Response>"
    );
    gateway.next_mo().await;
}

#[tokio::test]
async fn permit_addr_refuses_addresses_outside_it() {
    let mut gateway = serve("permit_addr = [\"10.0.0.0/8\"]").await;
    let (status, body) = send(gateway.mo().form(TWILIO_FORM)).await;
    assert_eq!(status, 403);
    assert!(body.contains("127.0.0.1"), "{body}");
    gateway.assert_no_event();
}

#[tokio::test]
async fn permit_addr_admits_addresses_inside_it() {
    let mut gateway = serve("permit_addr = [\"10.0.0.0/8\", \"127.0.0.0/8\"]").await;
    assert_eq!(send(gateway.mo().form(TWILIO_FORM)).await.0, 200);
    gateway.next_mo().await;
}

#[tokio::test]
async fn proxy_header_from_an_untrusted_peer_is_ignored() {
    let mut gateway =
        serve("permit_addr = [\"10.0.0.0/8\"]\nproxy_addr = [\"192.0.2.0/24\"]").await;
    let forged = gateway
        .mo()
        .header("X-Forwarded-For", "10.1.2.3")
        .form(TWILIO_FORM);
    assert_eq!(send(forged).await.0, 403);
    gateway.assert_no_event();
}

#[tokio::test]
async fn proxy_header_from_a_trusted_proxy_names_the_client() {
    let mut gateway =
        serve("permit_addr = [\"10.0.0.0/8\"]\nproxy_addr = [\"127.0.0.1/32\"]").await;
    let proxied = gateway
        .mo()
        .header("X-Forwarded-For", "198.51.100.1, 10.1.2.3")
        .form(TWILIO_FORM);
    assert_eq!(send(proxied).await.0, 200);
    gateway.next_mo().await;
}

#[tokio::test]
async fn a_trusted_proxy_forwarding_an_unpermitted_client_is_refused() {
    // The proxy itself (127.0.0.1) is permitted; the client it names is not.
    let mut gateway =
        serve("permit_addr = [\"127.0.0.0/8\"]\nproxy_addr = [\"127.0.0.1/32\"]").await;
    let proxied = gateway
        .mo()
        .header("X-Forwarded-For", "203.0.113.9")
        .form(TWILIO_FORM);
    let (status, body) = send(proxied).await;
    assert_eq!(status, 403);
    assert!(body.contains("203.0.113.9"), "{body}");
    gateway.assert_no_event();
}

#[tokio::test]
async fn a_configured_proxy_header_is_the_one_read() {
    let mut gateway = serve(
        "permit_addr = [\"10.0.0.0/8\"]\nproxy_addr = [\"127.0.0.1\"]\nproxy_header = \"X-Real-IP\"",
    )
    .await;
    let wrong_header = gateway
        .mo()
        .header("X-Forwarded-For", "10.1.2.3")
        .form(TWILIO_FORM);
    assert_eq!(send(wrong_header).await.0, 403);
    let right_header = gateway
        .mo()
        .header("X-Real-IP", "10.1.2.3")
        .form(TWILIO_FORM);
    assert_eq!(send(right_header).await.0, 200);
    gateway.next_mo().await;
}

const BASIC: &str = "auth = { method = \"basic\", user = \"acme\", password = \"s3cret\" }";

#[tokio::test]
async fn basic_auth_with_the_right_credentials_is_taken() {
    let mut gateway = serve(BASIC).await;
    let request = gateway
        .mo()
        .basic_auth("acme", Some("s3cret"))
        .form(TWILIO_FORM);
    assert_eq!(send(request).await.0, 200);
    gateway.next_mo().await;
}

#[tokio::test]
async fn basic_auth_with_a_wrong_password_is_unauthorized() {
    let mut gateway = serve(BASIC).await;
    let response = gateway
        .mo()
        .basic_auth("acme", Some("guess"))
        .form(TWILIO_FORM)
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status().as_u16(), 401);
    assert!(response.headers().contains_key("www-authenticate"));
    let body = response.text().await.expect("body");
    assert!(
        !body.contains("s3cret") && !body.contains("guess"),
        "{body}"
    );
    let (status, _) = send(gateway.mo().form(TWILIO_FORM)).await;
    assert_eq!(status, 401, "no credentials at all");
    gateway.assert_no_event();
}

const HMAC: &str = "auth = { method = \"hmac\", secret = \"k3y\", header = \"X-Signature\", encoding = \"base64\" }";

const SIGNED_MO: &str = r#"{"To":"12025550160","From":"15017122661","Body":"signed"}"#;

/// Unix seconds `ago` before now.
fn unix_time(ago: Duration) -> u64 {
    (SystemTime::now() - ago)
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// HMAC-SHA256 with the key `k3y` of `parts`, one after the other, in base64.
fn hmac_base64(parts: &[&[u8]]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(b"k3y").expect("any key length");
    for part in parts {
        mac.update(part);
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// `request` with `body` as JSON, signed as docs/connectors.md says a
/// provider signs: X-Timestamp holds `signed_at` in unix seconds and
/// X-Signature the HMAC of `<X-Timestamp>.<body>`.
fn signed(request: RequestBuilder, body: &str, signed_at: u64) -> RequestBuilder {
    let timestamp = signed_at.to_string();
    let signature = hmac_base64(&[timestamp.as_bytes(), b".", body.as_bytes()]);
    request
        .header("Content-Type", "application/json")
        .header("X-Timestamp", timestamp)
        .header("X-Signature", signature)
        .body(body.to_string())
}

impl Gateway {
    /// An MO, [`signed`].
    fn signed_mo(&self, body: &str, signed_at: u64) -> RequestBuilder {
        signed(self.mo(), body, signed_at)
    }
}

#[tokio::test]
async fn hmac_signed_timestamp_and_body_is_taken() {
    let mut gateway = serve(HMAC).await;
    let request = gateway.signed_mo(SIGNED_MO, unix_time(Duration::ZERO));
    assert_eq!(send(request).await.0, 200);
    gateway.next_mo().await;
}

#[tokio::test]
async fn hmac_over_another_body_is_unauthorized() {
    let mut gateway = serve(HMAC).await;
    let timestamp = unix_time(Duration::ZERO).to_string();
    let tampered = r#"{"To":"12025550160","From":"15017122661","Body":"forged"}"#;
    let request = gateway
        .mo()
        .header("Content-Type", "application/json")
        .header("X-Timestamp", &timestamp)
        .header(
            "X-Signature",
            hmac_base64(&[timestamp.as_bytes(), b".", SIGNED_MO.as_bytes()]),
        )
        .body(tampered);
    let (status, body) = send(request).await;
    assert_eq!(status, 401);
    assert!(body.contains("does not match"), "{body}");
    gateway.assert_no_event();
}

#[tokio::test]
async fn an_unsigned_request_to_an_hmac_webhook_is_refused_and_stores_nothing() {
    let mut gateway = serve(HMAC).await;
    let json = |request: RequestBuilder| {
        request
            .header("Content-Type", "application/json")
            .body(SIGNED_MO)
    };
    let (status, body) = send(json(gateway.mo())).await;
    assert_eq!(status, 401, "no signature at all: {body}");
    assert!(body.contains("X-Signature"), "{body}");
    // Signed the way a body-only HMAC is, with no time to check.
    let body_only = hmac_base64(&[SIGNED_MO.as_bytes()]);
    let untimed = json(gateway.mo().header("X-Signature", &body_only));
    let (status, body) = send(untimed).await;
    assert_eq!(status, 401, "no timestamp: {body}");
    assert!(body.contains("X-Timestamp"), "{body}");
    let timestamp = unix_time(Duration::ZERO).to_string();
    let unsigned_time = json(
        gateway
            .mo()
            .header("X-Timestamp", timestamp)
            .header("X-Signature", &body_only),
    );
    assert_eq!(send(unsigned_time).await.0, 401, "the time is not signed");
    gateway.assert_no_event();
    // The same MO, signed with its time, is taken: the refusals were for
    // the missing signature, not the request.
    let signed = gateway.signed_mo(SIGNED_MO, unix_time(Duration::ZERO));
    assert_eq!(send(signed).await.0, 200);
    gateway.next_mo().await;
}

#[tokio::test]
async fn a_correctly_signed_request_older_than_the_window_is_refused() {
    let mut gateway = serve(HMAC).await;
    let stale = gateway.signed_mo(SIGNED_MO, unix_time(Duration::from_secs(5 * 60 + 30)));
    let (status, body) = send(stale).await;
    assert_eq!(status, 401);
    assert!(body.contains("old") && body.contains("5m"), "{body}");
    let ahead = gateway.signed_mo(SIGNED_MO, unix_time(Duration::ZERO) + 5 * 60 + 30);
    let (status, body) = send(ahead).await;
    assert_eq!(status, 401);
    assert!(body.contains("in the future"), "{body}");
    gateway.assert_no_event();
    let recent = gateway.signed_mo(SIGNED_MO, unix_time(Duration::from_secs(4 * 60)));
    assert_eq!(send(recent).await.0, 200, "within the window");
    gateway.next_mo().await;
}

#[tokio::test]
async fn max_age_sets_the_window() {
    let mut gateway = serve(
        "auth = { method = \"hmac\", secret = \"k3y\", header = \"X-Signature\", \
         encoding = \"base64\", max_age = \"1m\" }",
    )
    .await;
    let stale = gateway.signed_mo(SIGNED_MO, unix_time(Duration::from_secs(90)));
    assert_eq!(send(stale).await.0, 401);
    gateway.assert_no_event();
    let recent = gateway.signed_mo(SIGNED_MO, unix_time(Duration::from_secs(30)));
    assert_eq!(send(recent).await.0, 200);
    gateway.next_mo().await;
}

#[tokio::test]
async fn the_same_signed_request_sent_twice_is_taken_once() {
    let mut gateway = serve(HMAC).await;
    let signed_at = unix_time(Duration::ZERO);
    assert_eq!(send(gateway.signed_mo(SIGNED_MO, signed_at)).await.0, 200);
    gateway.next_mo().await;
    let (status, body) = send(gateway.signed_mo(SIGNED_MO, signed_at)).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("taken before"), "{body}");
    gateway.assert_no_event();
    // The provider's next request (signed afresh) is taken.
    let other = r#"{"To":"12025550160","From":"15017122661","Body":"next"}"#;
    assert_eq!(send(gateway.signed_mo(other, signed_at)).await.0, 200);
    gateway.next_mo().await;
}

#[tokio::test]
async fn a_signed_request_answered_503_is_taken_when_the_provider_sends_it_again() {
    let (sender, mut inbound) = mpsc::channel(4);
    let base = serve_router(HMAC, sender).await;
    let http = common::http_client();
    let signed_at = unix_time(Duration::ZERO);
    let post = || {
        signed(
            http.post(format!("{base}/hooks/acme/mo")),
            SIGNED_MO,
            signed_at,
        )
    };
    let first = tokio::spawn(send(post()));
    let Inbound { stored, .. } = tokio::time::timeout(PATIENCE, inbound.recv())
        .await
        .expect("the signed request reaches tracking")
        .expect("an event");
    stored.finish(Err("disk I/O error".to_string()));
    assert_eq!(first.await.expect("the request").0, 503);
    let again = tokio::spawn(send(post()));
    let Inbound { stored, .. } = tokio::time::timeout(PATIENCE, inbound.recv())
        .await
        .expect("the retry reaches tracking")
        .expect("an event");
    stored.finish(Ok(()));
    assert_eq!(again.await.expect("the retry").0, 200);
}

#[tokio::test]
async fn receipt_status_is_mapped_through_status_map() {
    let mut gateway = serve(
        "insecure = true\nkey_id = \"msgid\"\nkey_status = \"state\"\nkey_err = \"code\"\nkey_done_at = \"at\"\n\
         status_map = { \"2\" = \"DELIVRD\", \"5\" = \"UNDELIV\" }",
    )
    .await;
    let form = [
        ("msgid", "abc-123"),
        ("state", "2"),
        ("code", "000"),
        ("at", "2026-03-01T12:00:00Z"),
    ];
    assert_eq!(send(gateway.receipt().form(&form)).await.0, 200);
    let receipt = gateway.next_receipt().await;
    assert_eq!(receipt.connector, "acme");
    assert_eq!(receipt.provider_id, "abc-123");
    assert_eq!(receipt.stat, ReceiptStat::Delivered);
    assert_eq!(receipt.err, "000");
    assert_eq!(
        receipt.done_at,
        Some(UNIX_EPOCH + Duration::from_secs(1_772_366_400))
    );
    assert_eq!(receipt.network_error, None);
}

#[tokio::test]
async fn receipt_with_a_common_status_word_needs_no_map() {
    let mut gateway = serve("insecure = true\nkey_done_at = \"timestamp\"").await;
    let body = serde_json::json!({"id": 4711, "status": "Failed", "timestamp": 1_772_366_400});
    assert_eq!(send(gateway.receipt().json(&body)).await.0, 200);
    let receipt = gateway.next_receipt().await;
    assert_eq!(receipt.provider_id, "4711");
    assert_eq!(receipt.stat, ReceiptStat::Undeliverable);
    assert_eq!(receipt.err, "", "no key_err configured");
    assert_eq!(
        receipt.done_at,
        Some(UNIX_EPOCH + Duration::from_secs(1_772_366_400))
    );
}

#[tokio::test]
async fn receipt_with_an_unknown_status_word_keeps_it() {
    let mut gateway = serve(OPEN).await;
    let form = [("id", "abc"), ("status", "throttled")];
    assert_eq!(send(gateway.receipt().form(&form)).await.0, 200);
    let receipt = gateway.next_receipt().await;
    assert_eq!(receipt.stat, ReceiptStat::Other("throttled".into()));
}

#[tokio::test]
async fn a_full_channel_answers_503_until_tracking_catches_up() {
    let (sender, mut inbound) = mpsc::channel(1);
    let probe = sender.clone();
    let base = serve_router("insecure = true\nevent_handoff_timeout = \"50ms\"", sender).await;
    let http = common::http_client();
    let post = || http.post(format!("{base}/hooks/acme/mo")).form(TWILIO_FORM);
    // The first takes the channel's one place and waits to be stored.
    let first = tokio::spawn(send(post()));
    tokio::time::timeout(PATIENCE, async {
        while probe.capacity() > 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .expect("the first event reaches the channel");
    let (status, body) = send(post()).await;
    assert_eq!(status, 503);
    assert!(body.contains("try again"), "{body}");
    assert!(!first.is_finished(), "answered before it was stored");
    let Inbound { event, stored } = inbound.recv().await.expect("the first event");
    assert!(matches!(event, InboundEvent::Mo(_)));
    stored.finish(Ok(()));
    assert_eq!(first.await.expect("the first request").0, 200);
    assert!(
        inbound.try_recv().is_err(),
        "the refused one reached tracking"
    );
}

#[tokio::test]
async fn an_event_is_answered_200_only_once_stored_and_503_when_the_store_fails() {
    let (sender, mut inbound) = mpsc::channel(4);
    let base = serve_router(OPEN, sender).await;
    let http = common::http_client();
    let receipt = [("id", "1"), ("status", "delivered")];
    let post = || {
        http.post(format!("{base}/hooks/acme/receipt"))
            .form(&receipt)
    };

    let waiting = tokio::spawn(send(post()));
    let Inbound { stored, .. } = inbound.recv().await.expect("an event");
    // Tracking has the event but has not stored it: no answer yet. The
    // next request gets past the channel too, so the first had every chance.
    let second = tokio::spawn(send(post()));
    let Inbound {
        stored: second_stored,
        ..
    } = inbound.recv().await.expect("an event");
    assert!(!waiting.is_finished(), "answered before it was stored");
    stored.finish(Err("disk I/O error".to_string()));
    let (status, body) = waiting.await.expect("the request");
    assert_eq!(status, 503, "a store failure is a temporary refusal");
    assert!(body.contains("try again"), "{body}");
    second_stored.finish(Ok(()));
    assert_eq!(second.await.expect("the request").0, 200);
}

#[tokio::test]
async fn a_closed_channel_answers_503() {
    let gateway = serve(OPEN).await;
    let Gateway {
        base, events, http, ..
    } = gateway;
    drop(events);
    let request = http
        .post(format!("{base}/hooks/acme/receipt"))
        .form(&[("id", "1"), ("status", "delivered")]);
    assert_eq!(send(request).await.0, 503);
}

#[tokio::test]
async fn a_missing_field_is_400_naming_it() {
    let mut gateway = serve(OPEN).await;
    let (status, body) = send(gateway.mo().form(&[("To", "12025550160"), ("Body", "x")])).await;
    assert_eq!(status, 400);
    assert!(body.contains("\"From\""), "{body}");
    let (status, body) = send(gateway.receipt().form(&[("id", "1")])).await;
    assert_eq!(status, 400);
    assert!(body.contains("\"status\""), "{body}");
    gateway.assert_no_event();
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let mut gateway = serve("insecure = true\nmax_body_size = 1024").await;
    let big = "x".repeat(2000);
    let form = [
        ("To", "12025550160"),
        ("From", "15017122661"),
        ("Body", big.as_str()),
    ];
    assert_eq!(send(gateway.mo().form(&form)).await.0, 413);
    gateway.assert_no_event();
}

#[tokio::test]
async fn a_body_that_is_neither_form_nor_json_is_415() {
    let mut gateway = serve(OPEN).await;
    let request = gateway
        .mo()
        .header("Content-Type", "text/plain")
        .body("To=1");
    assert_eq!(send(request).await.0, 415);
    gateway.assert_no_event();
}

#[tokio::test]
async fn configured_paths_are_served_instead_of_the_defaults() {
    let mut gateway =
        serve("insecure = true\nmo_path = \"/in/sms\"\nreceipt_path = \"/in/dlr\"").await;
    assert_eq!(send(gateway.post("/in/sms").form(TWILIO_FORM)).await.0, 200);
    gateway.next_mo().await;
    let receipt = [("id", "1"), ("status", "delivered")];
    assert_eq!(send(gateway.post("/in/dlr").form(&receipt)).await.0, 200);
    gateway.next_receipt().await;
    assert_eq!(send(gateway.mo().form(TWILIO_FORM)).await.0, 404);
}

#[tokio::test]
async fn routers_of_two_connectors_merge_into_one_listener() {
    let (sender, inbound) = mpsc::channel(4);
    let mut events = confirm_each(inbound);
    let acme = router("acme", &config(OPEN), sender.clone()).expect("valid");
    let other = router("other", &config(OPEN), sender).expect("valid");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local address");
    let app = acme.merge(other);
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    let request = common::http_client()
        .post(format!("http://{addr}/hooks/other/mo"))
        .form(TWILIO_FORM);
    assert_eq!(send(request).await.0, 200);
    let event = tokio::time::timeout(PATIENCE, events.recv())
        .await
        .expect("an event arrives");
    assert!(matches!(event, Some(InboundEvent::Mo(mo)) if mo.connector == "other"));
}

#[tokio::test]
async fn a_router_served_without_connect_info_refuses_with_500() {
    let (sender, mut events) = mpsc::channel(4);
    let app = router("acme", &config(OPEN), sender).expect("valid");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let request = common::http_client()
        .post(format!("http://{addr}/hooks/acme/mo"))
        .form(TWILIO_FORM);
    assert_eq!(send(request).await.0, 500);
    assert!(events.try_recv().is_err());
}

/// A client whose requests come from `local` (any of 127/8 reaches the
/// listener on 127.0.0.1 through lo).
fn client_from(local: Ipv4Addr) -> reqwest::Client {
    common::http_client_builder()
        .local_address(IpAddr::V4(local))
        .build()
        .expect("a client")
}

#[tokio::test]
async fn a_request_from_outside_permit_addr_is_refused_whatever_x_forwarded_for_says() {
    let mut gateway = serve("permit_addr = [\"127.0.0.1/32\"]").await;
    let outsider = client_from(Ipv4Addr::new(127, 0, 0, 2));
    let forged = outsider
        .post(format!("{}/hooks/acme/mo", gateway.base))
        .header("X-Forwarded-For", "127.0.0.1")
        .form(TWILIO_FORM);
    let (status, body) = send(forged).await;
    assert_eq!(status, 403);
    assert!(body.contains("127.0.0.2"), "{body}");
    gateway.assert_no_event();
    let insider = client_from(Ipv4Addr::LOCALHOST);
    let permitted = insider
        .post(format!("{}/hooks/acme/mo", gateway.base))
        .form(TWILIO_FORM);
    assert_eq!(send(permitted).await.0, 200);
    gateway.next_mo().await;
}

#[tokio::test]
async fn insecure_true_keeps_an_open_webhook_taking_anyones_requests() {
    let mut gateway = serve("insecure = true").await;
    let anyone = client_from(Ipv4Addr::new(127, 0, 0, 3));
    let mo = anyone
        .post(format!("{}/hooks/acme/mo", gateway.base))
        .form(TWILIO_FORM);
    assert_eq!(send(mo).await, (200, String::new()));
    assert_eq!(addr_text(&gateway.next_mo().await.source), "15017122661");
    let receipt = anyone
        .post(format!("{}/hooks/acme/receipt", gateway.base))
        .form(&[("id", "abc"), ("status", "delivered")]);
    assert_eq!(send(receipt).await.0, 200);
    assert_eq!(gateway.next_receipt().await.stat, ReceiptStat::Delivered);
}

#[tokio::test]
async fn a_webhook_without_auth_or_permit_addr_or_insecure_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = common::parse_local_config(
        "[connectors.web]\nkind = \"http\"\nurl = \"http://127.0.0.1:9/send\"\n\
         [connectors.web.webhooks]\nkey_body = \"text\"\n\
         [[routes]]\nname = \"r\"\nconnectors = \"web\"\n",
    );
    let started = Node::start(&config, None, dir.path(), Arc::new(ManualClock::new())).await;
    let error = match started {
        Ok(node) => {
            node.shutdown().await;
            panic!("a node with an open webhook started");
        }
        Err(error) => error.to_string(),
    };
    assert!(error.contains("connector \"web\""), "{error}");
    for option in ["auth", "permit_addr", "insecure = true"] {
        assert!(error.contains(option), "{option} missing from: {error}");
    }
}
