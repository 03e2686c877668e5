//! `Idempotency-Key` on the customer API's sends, over real sockets: a
//! node in-process on 127.0.0.1 with a real SQLite file, reqwest as the
//! client. A retry with the key gets the first answer and is not charged.

mod common;

use reqwest::StatusCode;
use serde_json::{Value, json};
use smsgate::node::Node;
use smsgate::store::NewAccount;

struct Api {
    node: Node,
    base: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn start() -> Api {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = common::start_node(&common::local_config(), dir.path()).await;
    for system_id in ["acme", "beta"] {
        common::add_account(
            &node,
            NewAccount {
                default_sender: Some("ACME".into()),
                ..common::test_account(system_id, "pw")
            },
        )
        .await;
    }
    Api {
        base: format!("http://{}/api/v1", common::http_addr(&node)),
        node,
        http: common::http_client(),
        _dir: dir,
    }
}

impl Api {
    async fn post(
        &self,
        account: &str,
        path: &str,
        key: &str,
        body: &Value,
    ) -> (StatusCode, Option<String>, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .basic_auth(account, Some("pw"))
            .header("idempotency-key", key)
            .json(body)
            .send()
            .await
            .expect("answered");
        let status = response.status();
        let replayed = response
            .headers()
            .get("idempotent-replayed")
            .and_then(|value| value.to_str().ok())
            .map(str::to_string);
        (status, replayed, response.json().await.expect("json"))
    }

    async fn credits(&self, account: &str) -> i64 {
        common::stored_account(&self.node, account).await.credits
    }
}

#[tokio::test]
async fn a_retry_with_the_same_key_gets_the_first_answer_and_is_not_charged_again() {
    let api = start().await;
    let body = json!({"to": "+447911123456", "text": "once only"});
    let (status, replayed, first) = api.post("acme", "/messages", "k-1", &body).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(replayed, None);
    let (status, replayed, again) = api.post("acme", "/messages", "k-1", &body).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(replayed.as_deref(), Some("true"));
    assert_eq!(again, first, "the same ids");
    assert_eq!(api.credits("acme").await, 999, "charged once");
    // Keys are per account: beta's k-1 is its own.
    let (status, replayed, _) = api.post("beta", "/messages", "k-1", &body).await;
    assert_eq!((status, replayed), (StatusCode::CREATED, None));
    assert_eq!(api.credits("beta").await, 999);
    api.node.shutdown().await;
}

#[tokio::test]
async fn a_batch_retried_with_its_key_is_answered_the_same_and_charged_once() {
    let api = start().await;
    let body = json!({"messages": [
        {"to": "+447911123456", "text": "one"},
        {"to": "+447911123457", "text": "two"},
    ]});
    let (status, _, first) = api.post("acme", "/messages/batch", "b-1", &body).await;
    assert!(status.is_success(), "{status}: {first}");
    let (_, replayed, again) = api.post("acme", "/messages/batch", "b-1", &body).await;
    assert_eq!(replayed.as_deref(), Some("true"));
    assert_eq!(again, first);
    assert_eq!(api.credits("acme").await, 998);
    api.node.shutdown().await;
}

#[tokio::test]
async fn the_same_key_for_another_request_is_refused_and_a_refusal_is_not_kept() {
    let api = start().await;
    let (status, _, _) = api
        .post(
            "acme",
            "/messages",
            "k-2",
            &json!({"to": "+447911123456", "text": "first"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _, problem) = api
        .post(
            "acme",
            "/messages",
            "k-2",
            &json!({"to": "+447911123456", "text": "something else"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["code"], "idempotency_key_reused");

    // A refused request lets its key go: the corrected one runs.
    let (status, _, _) = api
        .post(
            "acme",
            "/messages",
            "k-3",
            &json!({"to": "+1", "text": "x"}),
        )
        .await;
    assert!(status.is_client_error(), "{status}");
    let (status, replayed, _) = api
        .post(
            "acme",
            "/messages",
            "k-3",
            &json!({"to": "+447911123456", "text": "x"}),
        )
        .await;
    assert_eq!((status, replayed), (StatusCode::CREATED, None));
    assert_eq!(api.credits("acme").await, 998);
    api.node.shutdown().await;
}
