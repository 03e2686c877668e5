//! The customer HTTP API over real sockets: a node listening on 127.0.0.1,
//! a reqwest client sending with an API key or SMPP credentials, and the
//! store checked for what was stored and charged.

mod common;

use reqwest::{RequestBuilder, Response};
use serde_json::{Value, json};
use smsgate::accounts::api_key;
use smsgate::config::Config;
use smsgate::node::Node;
use smsgate::store::NewAccount;

/// Valid numbers (libphonenumber): a UK mobile and a US number.
const UK: &str = "447911123456";
const US: &str = "14155551234";
/// Not a valid number, though it looks like one.
const INVALID: &str = "+447700900123";

struct Gateway {
    node: Node,
    base: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn start() -> Gateway {
    start_with(Config::default()).await
}

/// A node whose customers' callbacks may reach this machine's receivers
/// on 127.0.0.1 (refused by default).
async fn start_allowing_local_callbacks() -> Gateway {
    let mut config = Config::default();
    config.http.callback_allow = vec!["127.0.0.0/8".parse().expect("a range")];
    start_with(config).await
}

async fn start_with(mut config: Config) -> Gateway {
    let dir = tempfile::tempdir().expect("tempdir");
    common::listen_locally(&mut config);
    let node = common::start_node(&config, dir.path()).await;
    Gateway {
        base: format!("http://{}/api/v1", common::http_addr(&node)),
        node,
        http: common::http_client(),
        _dir: dir,
    }
}

impl Gateway {
    /// Creates account `system_id` (password "pw", no default sender
    /// needed: senders are given) and returns an API key for it.
    async fn account(&self, system_id: &str, adjust: impl FnOnce(&mut NewAccount)) -> String {
        let mut account = NewAccount {
            default_sender: Some("ACME".into()),
            ..common::test_account(system_id, "pw")
        };
        adjust(&mut account);
        common::add_account(&self.node, account).await;
        common::add_api_key(&self.node, system_id, Some("tests")).await
    }

    fn post(&self, path: &str, key: &str) -> RequestBuilder {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(key)
    }

    fn get(&self, path: &str, key: &str) -> RequestBuilder {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(key)
    }

    async fn credits(&self, system_id: &str) -> i64 {
        self.node
            .store
            .account(system_id)
            .await
            .expect("store")
            .expect("account")
            .credits
    }
}

/// The status and JSON body of an answer.
async fn answer(request: RequestBuilder) -> (u16, Value) {
    let response: Response = request.send().await.expect("the request is answered");
    let status = response.status().as_u16();
    let body = response.text().await.expect("a body");
    let json = serde_json::from_str(&body).unwrap_or_else(|_| panic!("not JSON: {body:?}"));
    (status, json)
}

/// The answer must be a problem with this status and code.
async fn problem(request: RequestBuilder, status: u16, code: &str) -> Value {
    let response = request.send().await.expect("the request is answered");
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    let got = response.status().as_u16();
    let body: Value = response.json().await.expect("a JSON problem");
    assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{body}");
    assert_eq!(body["status"], status);
    assert_eq!(
        body["type"],
        format!("https://smsgate.dev/problems/{code}").as_str()
    );
    assert!(
        body["title"].is_string() && body["detail"].is_string(),
        "{body}"
    );
    body
}

#[tokio::test]
async fn message_sent_with_an_api_key_is_stored_and_charged() {
    let gw = start().await;
    let key = gw.account("acme", |_| {}).await;
    let (status, body) = answer(gw.post("/messages", &key).json(&json!({
        "to": UK, "from": "ACME", "text": "hello", "client_ref": "order-7"
    })))
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["credits_charged"], 1);
    assert_eq!(body["client_ref"], "order-7");
    let sent = &body["messages"][0];
    assert_eq!(
        (sent["to"].as_str(), sent["segments"].as_u64()),
        (Some(UK), Some(1))
    );
    let id = sent["id"].as_str().expect("an id");
    let stored = gw
        .node
        .store
        .message(id)
        .await
        .expect("store")
        .expect("stored");
    assert_eq!(stored.account, "acme");
    assert_eq!(stored.destination.addr, UK);
    assert_eq!(stored.origin.protocol, "http");
    assert_eq!(gw.credits("acme").await, 999);
}

#[tokio::test]
async fn long_text_is_one_message_charged_for_each_segment() {
    let gw = start().await;
    let key = gw.account("acme", |_| {}).await;
    let (status, body) = answer(
        gw.post("/messages", &key)
            .json(&json!({ "to": UK, "text": "a".repeat(200) })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["messages"][0]["segments"], 2);
    assert_eq!(body["messages"][0]["credits"], 2);
    let id = body["messages"][0]["id"].as_str().expect("an id");
    let stored = gw
        .node
        .store
        .message(id)
        .await
        .expect("store")
        .expect("stored");
    assert_eq!((stored.segments, stored.payload.len()), (2, 200));
    assert_eq!(gw.credits("acme").await, 998);
}

#[tokio::test]
async fn each_recipient_of_a_list_gets_its_own_message() {
    let gw = start().await;
    let key = gw.account("acme", |_| {}).await;
    let (status, body) = answer(
        gw.post("/messages", &key)
            .json(&json!({ "to": [UK, US], "text": "hi all" })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let messages = body["messages"].as_array().expect("a list");
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["to"], UK);
    assert_eq!(messages[1]["to"], US);
    assert_ne!(messages[0]["id"], messages[1]["id"]);
    assert_eq!(body["credits_charged"], 2);
}

#[tokio::test]
async fn a_refused_recipient_is_listed_with_its_problem_beside_the_accepted_ones() {
    let gw = start().await;
    let key = gw.account("acme", |_| {}).await;
    let (status, body) = answer(
        gw.post("/messages", &key)
            .json(&json!({ "to": [UK, INVALID], "text": "hi" })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert!(body["messages"][0]["id"].is_string(), "{body}");
    assert_eq!(
        body["messages"][1]["problem"]["code"],
        "invalid_destination"
    );
    assert_eq!(body["credits_charged"], 1);
}

#[tokio::test]
async fn batch_answers_each_message_on_its_own() {
    let gw = start().await;
    let key = gw.account("acme", |_| {}).await;
    let (status, body) = answer(gw.post("/messages/batch", &key).json(&json!({
        "messages": [
            { "to": UK, "text": "one" },
            { "to": INVALID, "text": "two" },
            { "to": US },
            { "to": US, "text": "four" },
        ]
    })))
    .await;
    assert_eq!(status, 200, "{body}");
    let results = body["results"].as_array().expect("results");
    assert_eq!(results.len(), 4);
    assert!(results[0]["messages"][0]["id"].is_string(), "{body}");
    assert_eq!(results[1]["problem"]["code"], "invalid_destination");
    assert_eq!(results[1]["problem"]["status"], 422);
    assert_eq!(results[2]["problem"]["code"], "bad_json");
    assert!(results[3]["messages"][0]["id"].is_string(), "{body}");
    assert_eq!(body["credits_charged"], 2);
    assert_eq!(gw.credits("acme").await, 998);
}

#[tokio::test]
async fn a_large_batch_is_accepted_whole_and_answered_in_the_order_it_was_sent() {
    // More entries than are accepted at once: the answers still line up
    // with the entries that asked.
    let gw = start().await;
    let key = gw.account("acme", |_| {}).await;
    let numbers: Vec<String> = (0..300).map(|n| format!("4479111{n:05}")).collect();
    let messages: Vec<_> = numbers
        .iter()
        .map(|to| json!({ "to": to, "text": "batch" }))
        .collect();
    let (status, body) = answer(
        gw.post("/messages/batch", &key)
            .json(&json!({ "messages": messages })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let results = body["results"].as_array().expect("results");
    assert_eq!(results.len(), numbers.len());
    for (result, to) in results.iter().zip(&numbers) {
        assert_eq!(result["messages"][0]["to"], to.as_str(), "{result}");
        assert!(result["messages"][0]["id"].is_string(), "{result}");
    }
    assert_eq!(body["credits_charged"], 300);
    assert_eq!(gw.credits("acme").await, 700);
}

#[tokio::test]
async fn message_lookup_shows_state_addresses_and_trace() {
    let gw = start().await;
    let key = gw.account("acme", |_| {}).await;
    let (_, sent) = answer(
        gw.post("/messages", &key)
            .json(&json!({ "to": UK, "from": "ACME", "text": "hello" })),
    )
    .await;
    let id = sent["messages"][0]["id"].as_str().expect("an id");
    let (status, body) = answer(gw.get(&format!("/messages/{id}"), &key)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], id);
    assert_eq!(body["to"], UK);
    assert_eq!(body["from"], "ACME");
    assert_eq!(body["segments"], 1);
    assert!(body["state"].is_string(), "{body}");
    let trace = body["trace"].as_array().expect("a trace");
    assert_eq!(trace[0]["kind"], "accepted", "{body}");
    assert!(
        trace[0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("via http")),
        "{body}"
    );
}

#[tokio::test]
async fn another_accounts_message_is_not_found() {
    let gw = start().await;
    let acme = gw.account("acme", |_| {}).await;
    let other = gw.account("other", |_| {}).await;
    let (_, sent) = answer(
        gw.post("/messages", &acme)
            .json(&json!({ "to": UK, "text": "mine" })),
    )
    .await;
    let id = sent["messages"][0]["id"].as_str().expect("an id");
    problem(gw.get(&format!("/messages/{id}"), &other), 404, "not_found").await;
    problem(gw.get("/messages/NOSUCHID", &acme), 404, "not_found").await;
}

#[tokio::test]
async fn balance_reports_the_accounts_credits() {
    let gw = start().await;
    let key = gw.account("acme", |a| a.credits = 42).await;
    let (status, body) = answer(gw.get("/balance", &key)).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({ "account": "acme", "credits": 42 }));
}

#[tokio::test]
async fn status_says_accepting_unless_the_account_has_no_credits() {
    let gw = start().await;
    let rich = gw.account("rich", |_| {}).await;
    let broke = gw.account("broke", |a| a.credits = 0).await;
    let (status, body) = answer(gw.get("/status", &rich)).await;
    assert_eq!((status, body), (200, json!({ "accepting": true })));
    let (status, body) = answer(gw.get("/status", &broke)).await;
    assert_eq!(status, 200);
    assert_eq!(body["accepting"], false);
    assert!(
        body["reason"]
            .as_str()
            .is_some_and(|r| r.contains("no credits")),
        "{body}"
    );
}

#[tokio::test]
async fn malformed_json_is_a_400_bad_json_problem() {
    let gw = start().await;
    let key = gw.account("acme", |_| {}).await;
    problem(
        gw.post("/messages", &key)
            .header("content-type", "application/json")
            .body("{\"to\": "),
        400,
        "bad_json",
    )
    .await;
    let body = problem(
        gw.post("/messages", &key)
            .json(&json!({ "to": UK, "text": "hi", "colour": "red" })),
        400,
        "bad_json",
    )
    .await;
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("colour")),
        "{body}"
    );
}

#[tokio::test]
async fn invalid_number_is_a_422_invalid_destination_problem() {
    let gw = start().await;
    let key = gw.account("acme", |_| {}).await;
    problem(
        gw.post("/messages", &key)
            .json(&json!({ "to": INVALID, "text": "hi" })),
        422,
        "invalid_destination",
    )
    .await;
    assert_eq!(gw.credits("acme").await, 1000, "nothing charged");
}

#[tokio::test]
async fn no_credits_is_a_402_insufficient_credits_problem() {
    let gw = start().await;
    let key = gw.account("acme", |a| a.credits = 1).await;
    problem(
        gw.post("/messages", &key)
            .json(&json!({ "to": UK, "text": "b".repeat(200) })),
        402,
        "insufficient_credits",
    )
    .await;
    assert_eq!(
        gw.credits("acme").await,
        1,
        "a long message is charged whole or not at all"
    );
}

#[tokio::test]
async fn over_the_accounts_rate_is_a_429_throttled_problem() {
    let gw = start().await;
    let key = gw.account("acme", |a| a.tps = Some(1)).await;
    let send = || {
        gw.post("/messages", &key)
            .json(&json!({ "to": UK, "text": "fast" }))
    };
    let (status, body) = answer(send()).await;
    assert_eq!(status, 201, "{body}");
    let response = send().send().await.expect("answered");
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    problem(send(), 429, "throttled").await;
}

#[tokio::test]
async fn missing_unknown_or_revoked_key_is_a_401_problem() {
    let gw = start().await;
    let key = gw.account("acme", |_| {}).await;
    problem(
        gw.http.get(format!("{}/balance", gw.base)),
        401,
        "unauthorized",
    )
    .await;
    problem(
        gw.get("/balance", "sgk_000000000000_deadbeef"),
        401,
        "unauthorized",
    )
    .await;
    problem(gw.get("/balance", "not-even-a-key"), 401, "unauthorized").await;
    let id = key
        .strip_prefix(api_key::PREFIX)
        .and_then(|rest| rest.split('_').next())
        .expect("the id is in the key");
    gw.node.store.revoke_api_key(id).await.expect("revoked");
    problem(gw.get("/balance", &key), 401, "unauthorized").await;
}

#[tokio::test]
async fn smpp_credentials_work_as_basic_auth_and_a_wrong_password_is_401() {
    let gw = start().await;
    gw.account("acme", |_| {}).await;
    let (status, body) = answer(
        gw.http
            .post(format!("{}/messages", gw.base))
            .basic_auth("acme", Some("pw"))
            .json(&json!({ "to": US, "text": "by password" })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    problem(
        gw.http
            .get(format!("{}/balance", gw.base))
            .basic_auth("acme", Some("wrong")),
        401,
        "unauthorized",
    )
    .await;
    problem(
        gw.http
            .get(format!("{}/balance", gw.base))
            .basic_auth("nobody", Some("pw")),
        401,
        "unauthorized",
    )
    .await;
}

#[tokio::test]
async fn disabled_account_and_address_outside_the_allowlist_are_403() {
    let gw = start().await;
    let fenced = gw
        .account("fenced", |a| {
            a.allowed_ips = vec!["192.0.2.0/24".parse().expect("net")]
        })
        .await;
    problem(gw.get("/balance", &fenced), 403, "address_not_allowed").await;
    let off = gw.account("off", |_| {}).await;
    common::disable_account(&gw.node, "off").await;
    problem(gw.get("/balance", &off), 403, "account_disabled").await;
}

#[tokio::test]
async fn callback_url_gets_signed_status_events_submitted_then_delivered_in_order() {
    use hmac::{Hmac, KeyInit, Mac};

    let gateway = start_allowing_local_callbacks().await;
    let key = gateway.account("acme", |_| {}).await;
    let (addr, seen) = common::recording_webhook("/cb").await;
    let callback = format!("http://{addr}/cb");

    let (status, body) = answer(gateway.post("/messages", &key).json(&json!({
        "to": UK, "from": "ACME", "text": "hi", "callback_url": callback,
        "client_ref": "order-7"
    })))
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["messages"][0]["id"]
        .as_str()
        .expect("an id")
        .to_string();

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let events = loop {
        let events = seen.lock().expect("lock").clone();
        if events.len() >= 2 {
            break events;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "only {} events",
            events.len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let secret = smsgate::delivery::webhook_courier::callback_secret(
        &smsgate::delivery::webhook_courier::callback_key(gateway._dir.path()).expect("key"),
        "acme",
    );
    let mut states = Vec::new();
    for (headers, body) in &events {
        let json: Value = serde_json::from_str(body).expect("JSON");
        assert_eq!(json["event"], "status");
        assert_eq!(json["id"], id.as_str());
        assert_eq!(
            json["client_ref"], "order-7",
            "the stored reference comes back"
        );
        states.push((
            json["previous_state"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            json["state"].as_str().unwrap_or_default().to_string(),
        ));
        let timestamp = headers
            .get("x-smsgate-timestamp")
            .and_then(|v| v.to_str().ok())
            .expect("timestamp header");
        let signature = headers
            .get("x-smsgate-signature")
            .and_then(|v| v.to_str().ok())
            .expect("signature header");
        let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
            .expect("any key length");
        mac.update(format!("{timestamp}.{body}").as_bytes());
        let expected: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(signature, format!("sha256={expected}"));
    }
    assert_eq!(
        states,
        [
            ("accepted".to_string(), "submitted".to_string()),
            ("submitted".to_string(), "delivered".to_string())
        ]
    );
}

#[tokio::test]
async fn a_hanging_callback_url_does_not_hold_back_another_accounts_callbacks() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::AsyncReadExt;

    let gateway = start_allowing_local_callbacks().await;
    let slow = gateway.account("slow", |_| {}).await;
    let fast = gateway.account("fast", |_| {}).await;
    // Takes every request and never answers; counts connections the
    // gateway gave up on (its callback timeout is 10 s).
    let hanging = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let hanging_addr = hanging.local_addr().expect("addr");
    let given_up = Arc::new(AtomicUsize::new(0));
    let opened = Arc::new(AtomicUsize::new(0));
    {
        let (given_up, opened) = (Arc::clone(&given_up), Arc::clone(&opened));
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = hanging.accept().await {
                opened.fetch_add(1, Ordering::SeqCst);
                let given_up = Arc::clone(&given_up);
                tokio::spawn(async move {
                    let mut sink = [0u8; 4096];
                    while matches!(socket.read(&mut sink).await, Ok(n) if n > 0) {}
                    given_up.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
    }
    let (fast_addr, seen) = common::recording_webhook("/cb").await;

    let (status, body) = answer(gateway.post("/messages", &slow).json(&json!({
        "to": UK, "text": "slow", "callback_url": format!("http://{hanging_addr}/cb")
    })))
    .await;
    assert_eq!(status, 201, "{body}");
    // Fast's messages are accepted after slow's, so its events are queued
    // behind slow's first event.
    while opened.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    for n in 0..3 {
        let (status, body) = answer(gateway.post("/messages", &fast).json(&json!({
            "to": UK, "text": format!("fast {n}"), "callback_url": format!("http://{fast_addr}/cb")
        })))
        .await;
        assert_eq!(status, 201, "{body}");
    }

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while seen.lock().expect("lock").len() < 6 {
        assert!(
            std::time::Instant::now() < deadline,
            "fast's callbacks never all came"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        given_up.load(Ordering::SeqCst),
        0,
        "fast's six events (submitted, delivered x 3) came only after the gateway gave up \
         on the hanging URL: they waited behind it"
    );
}

#[tokio::test]
async fn a_message_without_callback_url_reports_to_the_accounts_default_one() {
    let gateway = start_allowing_local_callbacks().await;
    let key = gateway.account("acme", |_| {}).await;
    let (addr, seen) = common::recording_webhook("/account-cb").await;
    gateway
        .node
        .store
        .update_account(
            "acme",
            smsgate::store::AccountPatch {
                callback_url: Some(Some(format!("http://{addr}/account-cb"))),
                ..Default::default()
            },
        )
        .await
        .expect("the default callback URL is set");
    let (status, body) = answer(
        gateway
            .post("/messages", &key)
            .json(&json!({"to": UK, "from": "ACME", "text": "hi"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["messages"][0]["id"]
        .as_str()
        .expect("an id")
        .to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let states: Vec<(String, String)> = seen
            .lock()
            .expect("lock")
            .iter()
            .filter_map(|(_, body)| serde_json::from_str::<Value>(body).ok())
            .map(|json| {
                (
                    json["id"].as_str().unwrap_or_default().to_string(),
                    json["state"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        if states.len() >= 2 {
            assert_eq!(
                states,
                [
                    (id.clone(), "submitted".to_string()),
                    (id.clone(), "delivered".to_string())
                ]
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "only {states:?} reached the account's callback URL"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_callback_url_that_is_not_http_is_refused() {
    let gateway = start().await;
    let key = gateway.account("acme", |_| {}).await;
    problem(
        gateway.post("/messages", &key).json(
            &json!({"to": UK, "from": "ACME", "text": "hi", "callback_url": "ftp://example.com/x"}),
        ),
        422,
        "invalid_callback_url",
    )
    .await;
}

#[tokio::test]
async fn tags_pick_the_route_with_a_matching_tag_filter_and_are_shown_with_the_message() {
    let config: Config = toml::from_str(
        r#"
        [connectors.bulk]
        kind = "sim"
        latency = "0s"
        [connectors.otp]
        kind = "sim"
        latency = "0s"
        [[routes]]
        name = "otp"
        tag = "otp"
        connectors = ["otp"]
        [[routes]]
        name = "default"
        connectors = ["bulk"]
        "#,
    )
    .expect("a valid config");
    let gateway = start_with(config).await;
    let key = gateway.account("acme", |_| {}).await;
    let mut ids = Vec::new();
    for tags in [json!(["bank", "otp"]), json!([])] {
        let (status, body) = answer(gateway.post("/messages", &key).json(
            &json!({"to": UK, "from": "ACME", "text": "hi", "tags": tags, "client_ref": "r1"}),
        ))
        .await;
        assert_eq!(status, 201, "{body}");
        ids.push(
            body["messages"][0]["id"]
                .as_str()
                .expect("an id")
                .to_string(),
        );
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut connectors = Vec::new();
    for id in &ids {
        loop {
            let (status, body) = answer(gateway.get(&format!("/messages/{id}"), &key)).await;
            assert_eq!(status, 200, "{body}");
            if body["connector"].is_string() {
                assert_eq!(body["client_ref"], "r1");
                connectors.push((body["connector"].clone(), body["tags"].clone()));
                break;
            }
            assert!(std::time::Instant::now() < deadline, "never routed: {body}");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
    assert_eq!(
        connectors,
        [
            (json!("otp"), json!(["bank", "otp"])),
            (json!("bulk"), json!([]))
        ]
    );
}

#[tokio::test]
async fn bad_tags_are_refused_with_invalid_tags() {
    let gateway = start().await;
    let key = gateway.account("acme", |_| {}).await;
    let (status, body) = answer(
        gateway
            .post("/messages", &key)
            .json(&json!({"to": UK, "from": "ACME", "text": "hi", "tags": ["no spaces"]})),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "invalid_tags");
}
