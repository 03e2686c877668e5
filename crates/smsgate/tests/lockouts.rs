//! Brute-force blocks as operators meet them: one guard per surface (SMPP
//! binds, the customer API, the console), the time left in the answer,
//! trusted networks, blocks kept in the store (over a restart), listed and
//! lifted through the admin API and `smsgate security`. A node in-process
//! on 127.0.0.1 with a real SQLite file; the CLI as the real binary.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use smpp::Body;
use smsgate::accounts::admin_token;
use smsgate::config::Config;
use smsgate::node::Node;
use smsgate::store::{NewAdminToken, Surface};

/// Long enough for anything that should happen; only reached on failure.
const PATIENCE: Duration = Duration::from_secs(15);

/// A node blocking after 3 failures, with account `acme` (password `pw`).
async fn start(dir: &Path, adjust: impl FnOnce(&mut Config)) -> Node {
    let mut config = common::local_config();
    config.security.max_failed_binds = 3;
    adjust(&mut config);
    let node = common::start_node(&config, dir).await;
    if node.store.account("acme").await.expect("read").is_none() {
        common::add_account(&node, common::test_account("acme", "pw")).await;
    }
    node
}

/// `GET /api/v1/balance` as `acme` with `password`.
async fn balance(node: &Node, password: &str) -> reqwest::Response {
    common::http_client()
        .get(format!("http://{}/api/v1/balance", common::http_addr(node)))
        .basic_auth("acme", Some(password))
        .send()
        .await
        .expect("answered")
}

/// Fails the customer API's login until the address is blocked.
async fn block_the_api(node: &Node) {
    for _ in 0..3 {
        let response = balance(node, "wrong").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let problem: Value = response.json().await.expect("json");
        assert_eq!(problem["detail"], "wrong system_id or password");
    }
}

async fn admin_token(node: &Node) -> String {
    let token = admin_token::generate();
    node.store
        .create_admin_token(NewAdminToken {
            id: token.id,
            token_hash: token.hash,
            label: None,
        })
        .await
        .expect("token stored");
    token.key
}

fn admin(node: &Node, method: reqwest::Method, path: &str, token: &str) -> reqwest::RequestBuilder {
    common::http_client()
        .request(
            method,
            format!("http://{}/admin/api{path}", common::http_addr(node)),
        )
        .bearer_auth(token)
}

/// Waits until `check` holds, asking again every 50 ms.
async fn eventually<F: Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let deadline = Instant::now() + PATIENCE;
    while !check().await {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn failed_api_logins_block_the_api_with_the_time_left_but_not_smpp_binds_nor_the_console() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |_| {}).await;
    block_the_api(&node).await;

    let refused = balance(&node, "pw").await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let retry_after: u64 = refused
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
        .expect("a Retry-After in seconds");
    assert!((890..=901).contains(&retry_after), "{retry_after}");
    let problem: Value = refused.json().await.expect("json");
    assert_eq!(problem["code"], "address_blocked");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(
        detail.contains("try again in 15m") || detail.contains("try again in 14m"),
        "{detail}"
    );

    // The same address binds over SMPP and logs in to the console.
    let (client, events) = common::connect(common::smpp_addr(&node)).await;
    common::answer_requests_ok(events);
    common::bind(&client, Body::BindTransceiver, "acme", "pw").await;
    let password = std::fs::read_to_string(dir.path().join("admin-password")).expect("file");
    let login = common::http_client()
        .post(format!(
            "http://{}/admin/api/login",
            common::http_addr(&node)
        ))
        .json(&json!({"username": "admin", "password": password.trim()}))
        .send()
        .await
        .expect("answered");
    assert_eq!(login.status(), StatusCode::OK);
    node.shutdown().await;
}

#[tokio::test]
async fn an_operator_lists_a_block_and_lifts_it_through_the_admin_api() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |_| {}).await;
    let token = admin_token(&node).await;
    block_the_api(&node).await;

    let blocks: Value = admin(&node, reqwest::Method::GET, "/security/blocks", &token)
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("json");
    let [block] = blocks.as_array().expect("a list").as_slice() else {
        panic!("one block: {blocks:#}");
    };
    assert_eq!(block["surface"], "api");
    assert_eq!(block["address"], "127.0.0.1");
    assert!(
        block["remaining_seconds"]
            .as_u64()
            .is_some_and(|left| left > 800)
    );

    let lifted = admin(
        &node,
        reqwest::Method::DELETE,
        "/security/blocks/127.0.0.1?surface=api",
        &token,
    )
    .send()
    .await
    .expect("answered");
    assert_eq!(lifted.status(), StatusCode::NO_CONTENT);
    assert_eq!(balance(&node, "pw").await.status(), StatusCode::OK);
    let again = admin(
        &node,
        reqwest::Method::DELETE,
        "/security/blocks/127.0.0.1",
        &token,
    )
    .send()
    .await
    .expect("answered");
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    node.shutdown().await;
}

#[tokio::test]
async fn the_cli_lists_a_stored_block_and_the_running_node_follows_its_unblock() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |_| {}).await;
    block_the_api(&node).await;
    eventually("the block is in the store", || async {
        let listed = common::smsgate_json(dir.path(), &["security", "blocks"]);
        listed.as_array().is_some_and(|blocks| {
            blocks
                .iter()
                .any(|block| block["surface"] == "api" && block["address"] == "127.0.0.1")
        })
    })
    .await;
    let table = common::smsgate_ok(dir.path(), &["security", "blocks"]);
    assert!(
        table.contains("api") && table.contains("127.0.0.1"),
        "{table}"
    );

    let answer = common::smsgate_ok(dir.path(), &["security", "unblock", "127.0.0.1"]);
    assert!(answer.contains("lifted 1 block"), "{answer}");
    eventually("the node lifted the block", || async {
        balance(&node, "pw").await.status() == StatusCode::OK
    })
    .await;
    let nothing = common::smsgate_ok(dir.path(), &["security", "unblock", "127.0.0.1"]);
    assert!(nothing.contains("is not blocked"), "{nothing}");
    node.shutdown().await;
}

#[tokio::test]
async fn a_block_holds_over_a_restart_of_the_node() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |_| {}).await;
    block_the_api(&node).await;
    let store = node.store.clone();
    eventually("the block is in the store", || async {
        store
            .ip_blocks(std::time::SystemTime::now())
            .await
            .expect("read")
            .iter()
            .any(|block| block.surface == Surface::Api)
    })
    .await;
    drop(store);
    node.shutdown().await;

    let node = start(dir.path(), |_| {}).await;
    assert_eq!(balance(&node, "pw").await.status(), StatusCode::FORBIDDEN);
    node.shutdown().await;
}

#[tokio::test]
async fn failed_logins_from_trusted_networks_are_never_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |config| {
        config.security.trusted_ips = vec!["127.0.0.0/8".parse().expect("cidr")];
    })
    .await;
    for _ in 0..6 {
        assert_eq!(
            balance(&node, "wrong").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(balance(&node, "pw").await.status(), StatusCode::OK);
    node.shutdown().await;
}
