//! The http connector against a real HTTP server on 127.0.0.1 (axum), which
//! records every request it gets and answers as each test says: the exact
//! request for each format and authentication, how answers become
//! outcomes, timeouts and refused connections, refusals before sending,
//! the concurrency limit, and the text of UDH-carrying segments.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use bytes::Bytes;
use smpp::types::{npi, ton};
use smpp::{Address, COctetString};
use smsgate::connectors::http::{
    Auth, Format, HttpConnector, HttpConnectorConfig, Method as HttpMethod, NOT_SENT, NumberFormat,
    Secret,
};
use smsgate::connectors::{OutboundSegment, SubmitFailure, SubmitOutcome};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// One request as the provider received it.
#[derive(Debug, Clone)]
struct Recorded {
    /// The connector's end of the connection that carried it.
    peer: SocketAddr,
    method: Method,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Bytes,
}

impl Recorded {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    fn body_text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("a UTF-8 body")
    }
}

type Reply = Box<dyn Fn(&Recorded) -> (StatusCode, String) + Send + Sync>;

struct ProviderState {
    requests: Mutex<Vec<Recorded>>,
    reply: Reply,
    /// How long each answer takes.
    delay: Duration,
    current: AtomicUsize,
    max_concurrent: AtomicUsize,
}

/// A provider's HTTP API: records every request, answers with `reply`
/// after `delay`. Stops when dropped.
struct Provider {
    addr: SocketAddr,
    state: Arc<ProviderState>,
    server: JoinHandle<()>,
}

impl Provider {
    async fn start(
        delay: Duration,
        reply: impl Fn(&Recorded) -> (StatusCode, String) + Send + Sync + 'static,
    ) -> Provider {
        let state = Arc::new(ProviderState {
            requests: Mutex::new(Vec::new()),
            reply: Box::new(reply),
            delay,
            current: AtomicUsize::new(0),
            max_concurrent: AtomicUsize::new(0),
        });
        let app = Router::new()
            .fallback(record_and_answer)
            .with_state(Arc::clone(&state));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let addr = listener.local_addr().expect("its address");
        let server = tokio::spawn(async move {
            let app = app.into_make_service_with_connect_info::<SocketAddr>();
            axum::serve(listener, app).await.expect("the server runs");
        });
        Provider {
            addr,
            state,
            server,
        }
    }

    /// A provider that answers 200 with `body` at once.
    async fn answering(status: StatusCode, body: &'static str) -> Provider {
        Provider::start(Duration::ZERO, move |_| (status, body.to_string())).await
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().expect("not poisoned").clone()
    }

    fn only_request(&self) -> Recorded {
        let requests = self.requests();
        assert_eq!(requests.len(), 1, "{requests:?}");
        requests.into_iter().next().expect("one request")
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn record_and_answer(
    State(state): State<Arc<ProviderState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let now = state.current.fetch_add(1, Ordering::SeqCst) + 1;
    state.max_concurrent.fetch_max(now, Ordering::SeqCst);
    let recorded = Recorded {
        peer,
        method,
        path: uri.path().to_string(),
        query: uri.query().map(str::to_string),
        headers,
        body,
    };
    state
        .requests
        .lock()
        .expect("not poisoned")
        .push(recorded.clone());
    tokio::time::sleep(state.delay).await;
    state.current.fetch_sub(1, Ordering::SeqCst);
    (state.reply)(&recorded)
}

fn address(ton: u8, addr: &str) -> Address {
    Address::new(
        ton,
        npi::ISDN,
        COctetString::try_from(addr).expect("no NUL"),
    )
}

/// A segment from 447700900001 to 447700900123 (both international), in
/// UCS-2.
fn segment(text: &str) -> OutboundSegment {
    OutboundSegment {
        message_id: "01JMSG".into(),
        source: address(ton::INTERNATIONAL, "447700900001"),
        destination: address(ton::INTERNATIONAL, "447700900123"),
        esm_class: 0,
        protocol_id: 0,
        priority: 0,
        data_coding: 8,
        registered_delivery: 1,
        validity_period: COctetString::empty(),
        short_message: text
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect::<Bytes>(),
        tlvs: Vec::new(),
    }
}

fn start(config: HttpConnectorConfig) -> HttpConnector {
    HttpConnector::start("acme".into(), config).expect("a valid configuration")
}

fn accepted(provider_id: &str) -> SubmitOutcome {
    SubmitOutcome::Accepted {
        provider_id: provider_id.into(),
    }
}

#[tokio::test]
async fn form_post_carries_numbers_text_our_id_and_constant_fields() {
    let provider = Provider::answering(StatusCode::OK, "OK").await;
    let mut config = HttpConnectorConfig::new(provider.url("/sms/send"));
    config.key_text = "body".into();
    config.key_message_id = Some("ref".into());
    config.number_format = NumberFormat::E164;
    config.fields.insert("type".into(), "unicode".into());
    config
        .secret_fields
        .insert("api_key".into(), Secret::new("k3y/+"));
    let connector = start(config);

    let outcome = connector.submit(&segment("Héllo & good-bye 100%")).await;

    assert_eq!(outcome, accepted(""));
    let request = provider.only_request();
    assert_eq!(request.method, Method::POST);
    assert_eq!(request.path, "/sms/send");
    assert_eq!(request.query, None);
    assert_eq!(
        request.header("content-type"),
        "application/x-www-form-urlencoded"
    );
    assert_eq!(
        request.body_text(),
        "to=%2B447700900123&from=%2B447700900001&body=H%C3%A9llo+%26+good-bye+100%25\
         &ref=01JMSG&type=unicode&api_key=k3y%2F%2B"
    );
    assert!(
        request.header("user-agent").starts_with("smsgate/"),
        "{request:?}"
    );
    assert_eq!(request.header("authorization"), "");
}

#[tokio::test]
async fn json_post_sends_one_object_with_digits_only_numbers() {
    let provider = Provider::answering(StatusCode::CREATED, "{}").await;
    let mut config = HttpConnectorConfig::new(provider.url("/v2/messages"));
    config.format = Format::Json;
    config.key_to = "To".into();
    config.key_from = "From".into();
    config.key_text = "Body".into();
    config.number_format = NumberFormat::Digits;
    config.fields.insert("channel".into(), "sms".into());
    let connector = start(config);
    let mut with_plus = segment("Привет 😀");
    with_plus.destination = address(ton::UNKNOWN, "+12025550183");

    assert_eq!(connector.submit(&with_plus).await, accepted(""));

    let request = provider.only_request();
    assert_eq!(request.method, Method::POST);
    assert_eq!(request.header("content-type"), "application/json");
    let sent: serde_json::Value = serde_json::from_slice(&request.body).expect("JSON");
    assert_eq!(
        sent,
        serde_json::json!({
            "To": "12025550183",
            "From": "447700900001",
            "Body": "Привет 😀",
            "channel": "sms",
        })
    );
}

#[tokio::test]
async fn get_puts_the_parameters_in_the_query_string() {
    let provider = Provider::answering(StatusCode::OK, "OK").await;
    let mut config = HttpConnectorConfig::new(provider.url("/api/send?user=acme"));
    config.method = HttpMethod::Get;
    config.format = Format::Query;
    let connector = start(config);
    let mut alpha = segment("a b+c");
    alpha.source = address(ton::ALPHANUMERIC, "My Shop");

    assert_eq!(connector.submit(&alpha).await, accepted(""));

    let request = provider.only_request();
    assert_eq!(request.method, Method::GET);
    assert_eq!(request.path, "/api/send");
    assert_eq!(
        request.query.as_deref(),
        Some("user=acme&to=447700900123&from=My+Shop&text=a+b%2Bc")
    );
    assert!(request.body.is_empty());
}

#[tokio::test]
async fn basic_auth_sends_the_credentials_header() {
    let provider = Provider::answering(StatusCode::OK, "").await;
    let mut config = HttpConnectorConfig::new(provider.url("/send"));
    config.auth = Auth::Basic {
        user: "Aladdin".into(),
        password: Secret::new("open sesame"),
    };
    let connector = start(config);

    assert_eq!(connector.submit(&segment("hi")).await, accepted(""));

    assert_eq!(
        provider.only_request().header("authorization"),
        "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
    );
}

#[tokio::test]
async fn bearer_auth_sends_the_token() {
    let provider = Provider::answering(StatusCode::OK, "").await;
    let mut config = HttpConnectorConfig::new(provider.url("/send"));
    config.auth = Auth::Bearer {
        token: Secret::new("tok-123.abc"),
    };
    let connector = start(config);

    assert_eq!(connector.submit(&segment("hi")).await, accepted(""));

    assert_eq!(
        provider.only_request().header("authorization"),
        "Bearer tok-123.abc"
    );
}

#[tokio::test]
async fn zadarma_auth_signs_path_and_sorted_parameters() {
    let provider = Provider::answering(
        StatusCode::OK,
        r#"{"status":"success","messages":1,"cost":0.06,"currency":"USD"}"#,
    )
    .await;
    let mut config = HttpConnectorConfig::new(provider.url("/v1/sms/send/"));
    config.key_to = "number".into();
    config.key_from = "caller_id".into();
    config.key_text = "message".into();
    config.number_format = NumberFormat::E164;
    config.fields.insert("format".into(), "json".into());
    config.auth = Auth::Zadarma {
        key: "a1b2c3".into(),
        secret: Secret::new("s3cr3t"),
    };
    config.success_field = Some("/status".into());
    config.success_value = Some("success".into());
    let connector = start(config);
    let mut shop = segment("Hi there & €5!");
    shop.source = address(ton::ALPHANUMERIC, "Shop");

    assert_eq!(connector.submit(&shop).await, accepted(""));

    let request = provider.only_request();
    assert_eq!(
        request.body_text(),
        "number=%2B447700900123&caller_id=Shop&message=Hi+there+%26+%E2%82%AC5%21&format=json"
    );
    // Computed independently with Python's standard library, following
    // Zadarma's PHP client (ksort, http_build_query RFC 1738, hash_hmac
    // hex, base64_encode):
    //
    // python3 -c 'import hmac,hashlib,base64,urllib.parse as u
    // p=sorted({"number":"+447700900123","message":"Hi there & €5!","caller_id":"Shop","format":"json"}.items())
    // q=u.urlencode(p); s="/v1/sms/send/"+q+hashlib.md5(q.encode()).hexdigest()
    // print(base64.b64encode(hmac.new(b"s3cr3t",s.encode(),hashlib.sha1).hexdigest().encode()).decode())'
    assert_eq!(
        request.header("authorization"),
        "a1b2c3:YjFjOTg3NmM2NTE2MGMzODQyNGVmZTExNzk4Zjc0MDhlOTU0Y2U5MA=="
    );
}

#[tokio::test]
async fn a_passing_check_accepts_with_the_id_at_the_json_pointer() {
    let provider = Provider::answering(
        StatusCode::OK,
        r#"{"status":"0","messages":[{"id":9007199254740993,"to":"447700900123"}]}"#,
    )
    .await;
    let mut config = HttpConnectorConfig::new(provider.url("/send"));
    config.success_field = Some("/status".into());
    config.success_value = Some("0".into());
    config.id_pointer = Some("/messages/0/id".into());
    let connector = start(config);

    assert_eq!(
        connector.submit(&segment("hi")).await,
        accepted("9007199254740993")
    );
}

#[tokio::test]
async fn a_failing_check_is_refused_with_the_field_and_its_value() {
    let provider = Provider::answering(
        StatusCode::OK,
        r#"{"status":"error","message":"Insufficient funds"}"#,
    )
    .await;
    let mut config = HttpConnectorConfig::new(provider.url("/send"));
    config.success_field = Some("/status".into());
    config.success_value = Some("success".into());
    let connector = start(config);

    let SubmitOutcome::HttpRefused { status, detail } = connector.submit(&segment("hi")).await
    else {
        panic!("refused");
    };
    assert_eq!(status, 200);
    assert!(
        detail.starts_with(r#"/status is "error", not "success""#),
        "{detail}"
    );
    assert!(detail.contains("Insufficient funds"), "{detail}");
    assert_eq!(connector.health().refused, 1);
}

#[tokio::test]
async fn the_id_is_read_by_regex_from_a_text_answer() {
    let provider = Provider::answering(StatusCode::OK, "OK: ID=ab12cd; credits=41\n").await;
    let mut config = HttpConnectorConfig::new(provider.url("/send"));
    config.id_regex = Some(r"ID=(\w+)".into());
    let connector = start(config);

    assert_eq!(connector.submit(&segment("hi")).await, accepted("ab12cd"));
}

#[tokio::test]
async fn an_answer_without_the_expected_id_is_malformed() {
    let provider = Provider::answering(StatusCode::OK, "<html>maintenance</html>").await;
    let mut config = HttpConnectorConfig::new(provider.url("/send"));
    config.id_pointer = Some("/id".into());
    let connector = start(config);

    assert_eq!(
        connector.submit(&segment("hi")).await,
        SubmitOutcome::Failed {
            reason: SubmitFailure::Malformed
        }
    );
    let health = connector.health();
    assert_eq!(health.failed, 1);
    assert!(
        health.last_error.is_some_and(|e| e.contains("not JSON")),
        "{:?}",
        connector.health()
    );
}

#[tokio::test]
async fn server_errors_and_throttling_are_refused_with_their_status() {
    for (status, body) in [
        (StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
        (StatusCode::TOO_MANY_REQUESTS, ""),
    ] {
        let provider = Provider::answering(status, body).await;
        let connector = start(HttpConnectorConfig::new(provider.url("/send")));

        let outcome = connector.submit(&segment("hi")).await;

        let SubmitOutcome::HttpRefused {
            status: answered,
            detail,
        } = outcome
        else {
            panic!("refused: {outcome:?}");
        };
        assert_eq!(answered, status.as_u16());
        let expected = if body.is_empty() {
            "Too Many Requests"
        } else {
            body
        };
        assert_eq!(detail, expected);
        let health = connector.health();
        assert!(
            health
                .last_error
                .is_some_and(|e| e.starts_with(&format!("HTTP {answered}"))),
            "{:?}",
            connector.health()
        );
    }
}

#[tokio::test]
async fn a_bad_request_is_refused_with_the_start_of_the_body() {
    let long_error = format!(
        "{{\"error\":\"invalid number\",\"pad\":\"{}\"}}",
        "x".repeat(500)
    );
    let provider = Provider::start(Duration::ZERO, move |_| {
        (StatusCode::BAD_REQUEST, long_error.clone())
    })
    .await;
    let connector = start(HttpConnectorConfig::new(provider.url("/send")));

    let SubmitOutcome::HttpRefused { status, detail } = connector.submit(&segment("hi")).await
    else {
        panic!("refused");
    };
    assert_eq!(status, 400);
    assert!(
        detail.starts_with("{\"error\":\"invalid number\""),
        "{detail}"
    );
    assert!(detail.chars().count() <= 201, "{}", detail.len());
    assert_eq!(
        connector.health().last_error,
        None,
        "a refused message is not the connector's trouble"
    );
}

#[tokio::test]
async fn a_redirect_is_refused_not_followed() {
    let provider = Provider::start(Duration::ZERO, |r| {
        if r.path == "/old" {
            (StatusCode::FOUND, String::new())
        } else {
            (StatusCode::OK, String::new())
        }
    })
    .await;
    let connector = start(HttpConnectorConfig::new(provider.url("/old")));

    assert!(matches!(
        connector.submit(&segment("hi")).await,
        SubmitOutcome::HttpRefused { status: 302, .. }
    ));
    assert_eq!(provider.requests().len(), 1);
}

#[tokio::test]
async fn a_provider_slower_than_the_timeout_fails_with_timeout() {
    let provider =
        Provider::start(Duration::from_secs(5), |_| (StatusCode::OK, String::new())).await;
    let mut config = HttpConnectorConfig::new(provider.url("/send"));
    config.timeout = Duration::from_millis(300);
    let connector = start(config);

    let started = std::time::Instant::now();
    let outcome = connector.submit(&segment("hi")).await;

    assert_eq!(
        outcome,
        SubmitOutcome::Failed {
            reason: SubmitFailure::Timeout
        }
    );
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(provider.requests().len(), 1, "the request was sent");
    let health = connector.health();
    assert_eq!((health.failed, health.in_flight), (1, 0));
}

#[tokio::test]
async fn nothing_listening_fails_as_not_bound() {
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        listener.local_addr().expect("its address")
    };
    let connector = start(HttpConnectorConfig::new(format!("http://{closed}/send")));

    assert_eq!(
        connector.submit(&segment("hi")).await,
        SubmitOutcome::Failed {
            reason: SubmitFailure::NotBound
        }
    );
    let health = connector.health();
    assert_eq!(health.failed, 1);
    assert!(health.last_error.is_some());
}

#[tokio::test]
async fn astral_text_on_a_ucs2_connector_is_refused_before_sending() {
    let provider = Provider::answering(StatusCode::OK, "").await;
    let mut config = HttpConnectorConfig::new(provider.url("/send"));
    config.charset = smsgate::connectors::http::Charset::Ucs2;
    let connector = start(config);

    let outcome = connector.submit(&segment("Thanks 😀")).await;

    let SubmitOutcome::HttpRefused { status, detail } = outcome else {
        panic!("refused: {outcome:?}");
    };
    assert_eq!(status, NOT_SENT);
    assert!(detail.contains("U+1F600"), "{detail}");
    assert!(provider.requests().is_empty(), "no request was made");
    assert_eq!(connector.submit(&segment("Привет")).await, accepted(""));
    assert_eq!(provider.requests().len(), 1);
}

#[tokio::test]
async fn text_outside_gsm_on_a_gsm7_connector_is_refused_before_sending() {
    let provider = Provider::answering(StatusCode::OK, "").await;
    let mut config = HttpConnectorConfig::new(provider.url("/send"));
    config.charset = smsgate::connectors::http::Charset::Gsm7;
    let connector = start(config);

    assert!(matches!(
        connector.submit(&segment("Привет")).await,
        SubmitOutcome::HttpRefused {
            status: NOT_SENT,
            ..
        }
    ));
    assert_eq!(connector.submit(&segment("Hi {€}")).await, accepted(""));
    assert_eq!(provider.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_more_requests_than_the_concurrency_are_in_flight() {
    let provider = Provider::start(Duration::from_millis(100), |_| {
        (StatusCode::OK, String::new())
    })
    .await;
    let mut config = HttpConnectorConfig::new(provider.url("/send"));
    config.concurrency = 2;
    let connector = start(config);
    let message = segment("hi");

    let outcomes = futures::future::join_all((0..10).map(|_| connector.submit(&message))).await;

    assert!(outcomes.iter().all(|o| *o == accepted("")), "{outcomes:?}");
    assert_eq!(provider.requests().len(), 10);
    assert_eq!(provider.state.max_concurrent.load(Ordering::SeqCst), 2);
    let health = connector.health();
    assert_eq!((health.submitted, health.in_flight), (10, 0));
}

#[tokio::test]
async fn ucs2_and_gsm_segments_with_a_udh_send_only_their_text() {
    let provider = Provider::answering(StatusCode::OK, "").await;
    let connector = start(HttpConnectorConfig::new(provider.url("/send")));
    let mut ucs2 = segment("");
    ucs2.esm_class = 0x40;
    ucs2.data_coding = 8;
    ucs2.short_message = Bytes::from_static(&[
        0x05, 0x00, 0x03, 0x2A, 0x02, 0x01, 0x04, 0x1F, 0x04, 0x40, 0xD8, 0x3D, 0xDE, 0x00,
    ]);
    let mut gsm = segment("");
    gsm.esm_class = 0x40;
    gsm.data_coding = 0;
    // UDH, then unpacked septets: "5€ ok" (€ is ESC 0x65).
    gsm.short_message = Bytes::from_static(&[
        0x06, 0x08, 0x04, 0x01, 0x00, 0x02, 0x02, b'5', 0x1B, 0x65, b' ', b'o', b'k',
    ]);

    assert_eq!(connector.submit(&ucs2).await, accepted(""));
    assert_eq!(connector.submit(&gsm).await, accepted(""));

    let texts: Vec<String> = provider
        .requests()
        .iter()
        .map(|r| {
            let url = reqwest::Url::parse(&format!("http://x/?{}", r.body_text())).expect("form");
            url.query_pairs()
                .find(|(k, _)| k == "text")
                .map(|(_, v)| v.into_owned())
                .expect("a text parameter")
        })
        .collect();
    assert_eq!(texts, ["Пр😀", "5€ ok"]);
}

#[tokio::test]
async fn health_counts_one_bound_link_and_every_outcome() {
    let provider = Provider::start(Duration::ZERO, |r| {
        if r.body_text().contains("text=bad") {
            (StatusCode::UNPROCESSABLE_ENTITY, "bad".into())
        } else {
            (StatusCode::OK, String::new())
        }
    })
    .await;
    let mut config = HttpConnectorConfig::new(provider.url("/send"));
    config.charset = smsgate::connectors::http::Charset::Ucs2;
    let connector = start(config);

    connector.submit(&segment("good")).await;
    connector.submit(&segment("bad")).await;
    connector.submit(&segment("😀")).await;

    let health = connector.health();
    assert_eq!((health.bound, health.configured), (1, 1));
    assert_eq!((health.submitted, health.refused, health.failed), (1, 2, 0));
    assert_eq!(health.in_flight, 0);
    assert_eq!(connector.name(), "acme");
    tokio::time::timeout(Duration::from_secs(5), connector.shutdown())
        .await
        .expect("an idle connector shuts down at once");
}

#[tokio::test]
async fn one_pooled_connection_carries_successive_requests() {
    let provider = Provider::answering(StatusCode::OK, "").await;
    let connector = start(HttpConnectorConfig::new(provider.url("/send")));

    for _ in 0..3 {
        assert_eq!(connector.submit(&segment("hi")).await, accepted(""));
    }

    let peers: Vec<SocketAddr> = provider.requests().iter().map(|r| r.peer).collect();
    assert_eq!(peers.len(), 3);
    assert!(peers.iter().all(|p| *p == peers[0]), "{peers:?}");
}

#[tokio::test]
async fn a_connection_closed_before_the_answer_is_lost_not_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let addr = listener.local_addr().expect("its address");
    let rude = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("a connection");
        let mut request = [0u8; 1024];
        let read = tokio::io::AsyncReadExt::read(&mut socket, &mut request)
            .await
            .expect("the request");
        assert!(read > 0);
        // Dropped without a word.
    });
    let connector = start(HttpConnectorConfig::new(format!("http://{addr}/send")));

    assert_eq!(
        connector.submit(&segment("hi")).await,
        SubmitOutcome::Failed {
            reason: SubmitFailure::ConnectionLost
        }
    );
    rude.await.expect("the server read the request");
}

#[tokio::test]
async fn tps_spaces_requests_evenly() {
    let provider = Provider::answering(StatusCode::OK, "").await;
    let mut config = HttpConnectorConfig::new(provider.url("/send"));
    config.tps = Some(20);
    let connector = start(config);
    let message = segment("hi");

    let started = std::time::Instant::now();
    for _ in 0..5 {
        assert_eq!(connector.submit(&message).await, accepted(""));
    }

    // At 20/s without a burst, the fifth request goes 4 × 50 ms after the
    // first, however fast the machine.
    assert!(
        started.elapsed() >= Duration::from_millis(190),
        "{:?}",
        started.elapsed()
    );
}
