//! Where customers' callbacks may go, over real sockets: a node on
//! 127.0.0.1 with its demo simulator (messages are delivered half a second
//! after they are sent), receivers on 127.0.0.1, and the customer API's
//! answers and traces. Callbacks to internal addresses are refused unless
//! `[http] callback_allow` allows them, host names are checked when the
//! callback connects, redirects are not followed and a receiver's answer
//! body never reaches the customer.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::http::{StatusCode, header};
use serde_json::{Value, json};
use smsgate::config::Config;
use smsgate::node::Node;

/// A valid UK mobile number.
const UK: &str = "447911123456";

/// Long enough for anything that should happen; only reached on failure.
const PATIENCE: Duration = Duration::from_secs(20);

struct Gateway {
    node: Node,
    base: String,
    key: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// A node with `callback_allow` and the account `acme` with an API key.
async fn start(callback_allow: &[&str]) -> Gateway {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config: Config = common::local_config();
    config.http.callback_allow = callback_allow
        .iter()
        .map(|net| net.parse().expect("a range"))
        .collect();
    let node = common::start_node(&config, dir.path()).await;
    let account = smsgate::store::NewAccount {
        default_sender: Some("ACME".into()),
        ..common::test_account("acme", "pw")
    };
    common::add_account(&node, account).await;
    let key = common::add_api_key(&node, "acme", None).await;
    Gateway {
        base: format!("http://{}/api/v1", common::http_addr(&node)),
        node,
        key,
        http: common::http_client(),
        _dir: dir,
    }
}

impl Gateway {
    /// Sends "hi" to [`UK`] with `callback_url`; the status and JSON answer.
    async fn send(&self, callback_url: &str) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}/messages", self.base))
            .bearer_auth(&self.key)
            .json(&json!({"to": UK, "text": "hi", "callback_url": callback_url}))
            .send()
            .await
            .expect("answered");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON"))
    }

    /// Sends with `callback_url`, which must be accepted; the message id.
    async fn send_ok(&self, callback_url: &str) -> String {
        let (status, body) = self.send(callback_url).await;
        assert_eq!(status, 201, "{body}");
        body["messages"][0]["id"]
            .as_str()
            .expect("an id")
            .to_string()
    }

    /// What `GET /api/v1/messages/{id}` answers the customer, as text.
    async fn shown(&self, id: &str) -> String {
        let response = self
            .http
            .get(format!("{}/messages/{id}", self.base))
            .bearer_auth(&self.key)
            .send()
            .await
            .expect("answered");
        assert_eq!(response.status(), 200);
        response.text().await.expect("a body")
    }

    /// Waits until the message's trace has an event `kind` whose detail
    /// starts with `detail`; the whole trace as `kind: detail` lines.
    async fn until_traced(&self, id: &str, kind: &str, detail: &str) -> Vec<String> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let message = self
                .node
                .store
                .message(id)
                .await
                .expect("read")
                .expect("stored");
            let lines: Vec<String> = message
                .trace
                .iter()
                .map(|event| format!("{}: {}", event.kind, event.detail))
                .collect();
            if message
                .trace
                .iter()
                .any(|event| event.kind == kind && event.detail.starts_with(detail))
            {
                return lines;
            }
            assert!(
                Instant::now() < deadline,
                "{id} never traced {kind}: {detail}...: {lines:#?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A receiver on 127.0.0.1 that answers every POST to `/cb` with
/// `status`, the `location` header if given, and `body`; counts the POSTs.
async fn answering(
    status: StatusCode,
    location: Option<String>,
    body: &'static str,
) -> (SocketAddr, Arc<AtomicUsize>) {
    let posts = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&posts);
    let app = axum::Router::new().route(
        "/cb",
        axum::routing::post(move || {
            let counter = Arc::clone(&counter);
            let location = location.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                let mut headers = axum::http::HeaderMap::new();
                if let Some(location) = location {
                    headers.insert(header::LOCATION, location.parse().expect("a header value"));
                }
                (status, headers, body)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, posts)
}

#[tokio::test]
async fn a_loopback_callback_url_is_refused_with_422_by_default() {
    let gateway = start(&[]).await;
    let (addr, seen) = common::recording_webhook("/cb").await;
    let response = gateway
        .http
        .post(format!("{}/messages", gateway.base))
        .bearer_auth(&gateway.key)
        .json(&json!({"to": UK, "text": "hi", "callback_url": format!("http://{addr}/cb")}))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 422);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    let problem: Value = response.json().await.expect("a problem");
    assert_eq!(problem["code"], "invalid_callback_url");
    let detail = problem["detail"].as_str().expect("a detail");
    assert!(
        detail.contains("127.0.0.1 is a loopback address (127.0.0.0/8)"),
        "{detail}"
    );
    for internal in [
        "http://10.0.0.5/cb",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/cb",
        "http://[::ffff:127.0.0.1]/cb",
        "http://2130706433/cb",
        "http://0.0.0.0/cb",
    ] {
        let (status, body) = gateway.send(internal).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (422, Some("invalid_callback_url")),
            "{internal}: {body}"
        );
    }
    let account = common::stored_account(&gateway.node, "acme").await;
    assert_eq!(account.credits, 1000, "nothing was charged");
    assert!(seen.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn a_loopback_callback_url_is_accepted_and_posted_to_when_callback_allow_covers_it() {
    let gateway = start(&["127.0.0.0/8"]).await;
    let (addr, seen) = common::recording_webhook("/cb").await;
    let id = gateway.send_ok(&format!("http://{addr}/cb")).await;
    gateway
        .until_traced(&id, "webhook sent", "callback answered 2xx")
        .await;
    assert!(!seen.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn a_host_name_resolving_to_loopback_is_refused_when_the_callback_connects() {
    let gateway = start(&[]).await;
    let (addr, seen) = common::recording_webhook("/cb").await;
    // A name passes at submit: what it resolves to is checked when the
    // callback connects, as a name that changes its address would be.
    let id = gateway
        .send_ok(&format!("http://localhost:{}/cb", addr.port()))
        .await;
    let trace = gateway
        .until_traced(
            &id,
            "webhook dropped",
            "callback target refused: localhost resolves only to refused addresses: ",
        )
        .await;
    assert!(
        trace.iter().any(|line| line.contains("a loopback address")),
        "{trace:#?}"
    );
    assert!(
        !trace.iter().any(|line| line.starts_with("webhook retry")),
        "a refused target is not retried: {trace:#?}"
    );
    let shown = gateway.shown(&id).await;
    assert!(shown.contains("callback target refused"), "{shown}");
    // The delivered event comes after the submitted one and is refused too.
    let deadline = Instant::now() + PATIENCE;
    loop {
        let trace = gateway.until_traced(&id, "webhook dropped", "").await;
        let refused = trace
            .iter()
            .filter(|line| line.starts_with("webhook dropped: callback target refused"))
            .count();
        if refused >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "{trace:#?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        seen.lock().expect("lock").is_empty(),
        "no request reached the local receiver"
    );
}

#[tokio::test]
async fn a_redirect_to_another_local_receiver_is_not_followed() {
    let gateway = start(&["127.0.0.0/8"]).await;
    let (target, seen) = common::recording_webhook("/cb").await;
    let (redirecting, redirected) = answering(
        StatusCode::FOUND,
        Some(format!("http://{target}/cb")),
        "SECRET redirect page",
    )
    .await;
    let id = gateway.send_ok(&format!("http://{redirecting}/cb")).await;
    let trace = gateway
        .until_traced(&id, "webhook dropped", "callback answered HTTP 302 Found")
        .await;
    assert!(redirected.load(Ordering::SeqCst) >= 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        seen.lock().expect("lock").is_empty(),
        "the redirect was followed"
    );
    assert!(
        !trace.iter().any(|line| line.contains("SECRET")),
        "{trace:#?}"
    );
    let shown = gateway.shown(&id).await;
    assert!(!shown.contains("SECRET"), "{shown}");
}

#[tokio::test]
async fn a_receivers_error_body_never_reaches_the_customer_only_its_status() {
    let gateway = start(&["127.0.0.0/8"]).await;
    let (receiver, posts) = answering(
        StatusCode::INTERNAL_SERVER_ERROR,
        None,
        "SECRET internal data",
    )
    .await;
    let id = gateway.send_ok(&format!("http://{receiver}/cb")).await;
    let trace = gateway
        .until_traced(
            &id,
            "webhook retry",
            "callback answered HTTP 500 Internal Server Error",
        )
        .await;
    assert!(posts.load(Ordering::SeqCst) >= 1);
    assert!(
        !trace.iter().any(|line| line.contains("SECRET")),
        "{trace:#?}"
    );
    let shown = gateway.shown(&id).await;
    assert!(shown.contains("callback answered HTTP 500"), "{shown}");
    assert!(!shown.contains("SECRET"), "{shown}");
}
