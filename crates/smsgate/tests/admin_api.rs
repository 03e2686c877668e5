//! The admin API over real sockets: a node listening on 127.0.0.1 with a
//! real SQLite file, its demo simulator connector, a reqwest client logging
//! in (cookie and CSRF token), or using an admin token or Basic, and SMPP
//! sessions bound with the smpp crate's client.

mod common;

use std::time::{Duration, Instant};

use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use smpp::session::SessionHandle;
use smpp::{Body, CommandStatus};
use smsgate::accounts::admin_token;
use smsgate::config::Config;
use smsgate::node::Node;
use smsgate::store::{NewAccount, NewAdminToken};

/// Long enough for anything that should happen; only reached on failure.
const PATIENCE: Duration = Duration::from_secs(15);

/// A valid UK mobile number, as stored (E.164 digits).
const UK: &str = "447911123456";

struct Gateway {
    node: Node,
    base: String,
    http: reqwest::Client,
    dir: tempfile::TempDir,
}

/// A logged-in console session.
struct Login {
    cookie: String,
    csrf: String,
}

async fn start() -> Gateway {
    start_with(|_| {}).await
}

/// A node with the default configuration (the demo simulator connector and
/// its route), listening on ephemeral ports, adjusted by `adjust`.
async fn start_with(adjust: impl FnOnce(&mut Config)) -> Gateway {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = common::local_config();
    adjust(&mut config);
    let node = common::start_node(&config, dir.path()).await;
    Gateway {
        base: format!("http://{}", common::http_addr(&node)),
        node,
        http: common::http_client(),
        dir,
    }
}

impl Gateway {
    /// The first admin user's password, from the file the node wrote.
    fn admin_password(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("admin-password"))
            .expect("the password file exists")
            .trim()
            .to_string()
    }

    async fn login(&self) -> Login {
        let response = self
            .http
            .post(format!("{}/admin/api/login", self.base))
            .json(&json!({"username": "admin", "password": self.admin_password()}))
            .send()
            .await
            .expect("answered");
        assert_eq!(response.status(), StatusCode::OK);
        let cookie = response
            .headers()
            .get(SET_COOKIE)
            .expect("a cookie is set")
            .to_str()
            .expect("ascii")
            .split(';')
            .next()
            .expect("name=value")
            .to_string();
        let body: Value = response.json().await.expect("json");
        Login {
            cookie,
            csrf: body["csrf"].as_str().expect("a csrf token").to_string(),
        }
    }

    /// A new admin token.
    async fn admin_token(&self) -> String {
        let token = admin_token::generate();
        self.node
            .store
            .create_admin_token(NewAdminToken {
                id: token.id,
                token_hash: token.hash,
                label: Some("tests".into()),
            })
            .await
            .expect("token stored");
        token.key
    }

    fn admin(&self, method: reqwest::Method, path: &str, token: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}/admin/api{path}", self.base))
            .bearer_auth(token)
    }

    fn get(&self, path: &str, token: &str) -> RequestBuilder {
        self.admin(reqwest::Method::GET, path, token)
    }

    fn post(&self, path: &str, token: &str) -> RequestBuilder {
        self.admin(reqwest::Method::POST, path, token)
    }

    /// Creates account `system_id` (password "pw", default sender ACME) and
    /// returns a customer API key for it.
    async fn account(&self, system_id: &str) -> String {
        common::add_account(
            &self.node,
            NewAccount {
                default_sender: Some("ACME".into()),
                ..common::test_account(system_id, "pw")
            },
        )
        .await;
        common::add_api_key(&self.node, system_id, None).await
    }

    /// Sends a message through the customer API; returns its id.
    async fn send(&self, key: &str, body: Value) -> String {
        let response = self
            .http
            .post(format!("{}/api/v1/messages", self.base))
            .bearer_auth(key)
            .json(&body)
            .send()
            .await
            .expect("answered");
        assert_eq!(response.status(), StatusCode::CREATED);
        let answer: Value = response.json().await.expect("json");
        answer["messages"][0]["id"]
            .as_str()
            .expect("accepted")
            .to_string()
    }

    /// Waits until the admin API shows message `id` in `state`.
    async fn until_state(&self, token: &str, id: &str, state: &str) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let message = json_of(self.get(&format!("/messages/{id}"), token)).await;
            if message["state"] == state {
                return message;
            }
            assert!(Instant::now() < deadline, "never {state}: {message:#}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Sends a request that must succeed and returns its JSON.
async fn json_of(request: RequestBuilder) -> Value {
    let response = request.send().await.expect("answered");
    let status = response.status();
    let text = response.text().await.expect("a body");
    assert!(status.is_success(), "{status}: {text}");
    serde_json::from_str(&text).expect("json")
}

/// Sends a request that must fail with `status` and problem `code`.
async fn problem(request: RequestBuilder, status: StatusCode, code: &str) -> Value {
    let response: Response = request.send().await.expect("answered");
    assert_eq!(response.status(), status);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["code"], code, "{body:#}");
    body
}

/// Binds a transceiver session for `system_id` (password "pw").
async fn bind(gateway: &Gateway, system_id: &'static str) -> SessionHandle {
    let addr = common::smpp_addr(&gateway.node);
    common::bind_answering(addr, Body::BindTransceiver, system_id, "pw").await
}

#[tokio::test]
async fn first_start_creates_admin_with_a_password_file_only_its_owner_reads() {
    let gateway = start().await;
    let file = gateway.dir.path().join("admin-password");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file)
            .expect("written")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(gateway.admin_password().len() >= 20);
    let users = gateway.node.store.admin_users().await.expect("read");
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].name, "admin");
    gateway.login().await;
}

#[tokio::test]
async fn login_sets_an_httponly_strict_cookie_and_me_answers_with_the_csrf_token() {
    let gateway = start().await;
    let response = gateway
        .http
        .post(format!("{}/admin/api/login", gateway.base))
        .json(&json!({"username": "admin", "password": gateway.admin_password()}))
        .send()
        .await
        .expect("answered");
    let cookie = response
        .headers()
        .get(SET_COOKIE)
        .expect("cookie")
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(cookie.starts_with("smsgate_admin="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["user"], "admin");

    let login = gateway.login().await;
    let me = json_of(
        gateway
            .http
            .get(format!("{}/admin/api/me", gateway.base))
            .header(COOKIE, &login.cookie),
    )
    .await;
    assert_eq!(me, json!({"user": "admin", "csrf": login.csrf}));
}

#[tokio::test]
async fn no_credentials_is_401_without_a_basic_challenge() {
    let gateway = start().await;
    let response = gateway
        .http
        .get(format!("{}/admin/api/me", gateway.base))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(!challenge.contains("Basic"), "{challenge}");
}

#[tokio::test]
async fn cookie_session_changes_need_the_csrf_header_reads_do_not() {
    let gateway = start().await;
    let login = gateway.login().await;
    let url = |path: &str| format!("{}/admin/api{path}", gateway.base);
    json_of(
        gateway
            .http
            .get(url("/connectors"))
            .header(COOKIE, &login.cookie),
    )
    .await;
    problem(
        gateway
            .http
            .post(url("/connectors/sim/pause"))
            .header(COOKIE, &login.cookie),
        StatusCode::FORBIDDEN,
        "csrf",
    )
    .await;
    problem(
        gateway
            .http
            .post(url("/connectors/sim/pause"))
            .header(COOKIE, &login.cookie)
            .header("X-Smsgate-Csrf", "not-the-token"),
        StatusCode::FORBIDDEN,
        "csrf",
    )
    .await;
    let paused = json_of(
        gateway
            .http
            .post(url("/connectors/sim/pause"))
            .header(COOKIE, &login.cookie)
            .header("X-Smsgate-Csrf", &login.csrf),
    )
    .await;
    assert_eq!(paused["paused"], true);
}

#[tokio::test]
async fn logout_ends_the_session() {
    let gateway = start().await;
    let login = gateway.login().await;
    let url = |path: &str| format!("{}/admin/api{path}", gateway.base);
    let response = gateway
        .http
        .post(url("/logout"))
        .header(COOKIE, &login.cookie)
        .header("X-Smsgate-Csrf", &login.csrf)
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    problem(
        gateway.http.get(url("/me")).header(COOKIE, &login.cookie),
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
}

#[tokio::test]
async fn bad_password_is_401_and_counts_towards_blocking_the_address() {
    let gateway = start_with(|config| config.security.max_failed_binds = 3).await;
    let login = |password: String| {
        gateway
            .http
            .post(format!("{}/admin/api/login", gateway.base))
            .json(&json!({"username": "admin", "password": password}))
    };
    for _ in 0..2 {
        problem(
            login("wrong".into()),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        )
        .await;
    }
    problem(
        gateway
            .http
            .get(format!("{}/admin/api/me", gateway.base))
            .basic_auth("nobody", Some("wrong")),
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    // Three failures (logins and Basic alike) block the address: even the
    // right password is refused now.
    problem(
        login(gateway.admin_password()),
        StatusCode::FORBIDDEN,
        "address_blocked",
    )
    .await;
}

#[tokio::test]
async fn admin_token_and_basic_work_without_csrf() {
    let gateway = start().await;
    let token = gateway.admin_token().await;
    let me = json_of(gateway.get("/me", &token)).await;
    assert!(me["user"].as_str().expect("user").starts_with("token:"));
    assert_eq!(me["csrf"], Value::Null);
    json_of(gateway.post("/connectors/sim/pause", &token)).await;
    let paused = json_of(
        gateway
            .http
            .post(format!("{}/admin/api/connectors/sim/resume", gateway.base))
            .basic_auth("admin", Some(gateway.admin_password())),
    )
    .await;
    assert_eq!(paused["paused"], false);
}

#[tokio::test]
async fn customer_api_keys_and_passwords_are_refused_on_the_admin_api() {
    let gateway = start().await;
    let key = gateway.account("acme").await;
    problem(
        gateway.get("/accounts", &key),
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    problem(
        gateway
            .http
            .get(format!("{}/admin/api/accounts", gateway.base))
            .basic_auth("acme", Some("pw")),
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
}

#[tokio::test]
async fn admin_tokens_and_passwords_are_refused_on_the_customer_api() {
    let gateway = start().await;
    let token = gateway.admin_token().await;
    let balance =
        |request: RequestBuilder| async move { request.send().await.expect("answered").status() };
    let url = format!("{}/api/v1/balance", gateway.base);
    assert_eq!(
        balance(gateway.http.get(&url).bearer_auth(&token)).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        balance(
            gateway
                .http
                .get(&url)
                .basic_auth("admin", Some(gateway.admin_password()))
        )
        .await,
        StatusCode::UNAUTHORIZED
    );
    let login = gateway.login().await;
    assert_eq!(
        balance(gateway.http.get(&url).header(COOKIE, &login.cookie)).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn accounts_are_created_listed_changed_credited_and_deleted() {
    let gateway = start().await;
    let token = gateway.admin_token().await;
    let created = gateway
        .post("/accounts", &token)
        .json(
            &json!({"system_id": "acme", "password": "Secr3t", "credits": 100,
                      "tps": 50, "allowed_ips": ["203.0.113.7/24"], "group": "gold"}),
        )
        .send()
        .await
        .expect("answered");
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.expect("json");
    assert_eq!(created["system_id"], "acme");
    assert_eq!(created["credits"], 100);
    assert_eq!(created["max_binds"], 4, "the CLI's default");
    assert_eq!(created["window"], 10, "the CLI's default");
    assert_eq!(created["deliver_window"], 10, "the CLI's default");
    assert_eq!(created["allowed_ips"], json!(["203.0.113.0/24"]));
    assert_eq!(created["sessions"], 0);
    assert!(created.get("password_hash").is_none());

    let listed = json_of(gateway.get("/accounts", &token)).await;
    assert_eq!(listed.as_array().expect("a list").len(), 1);

    let changed = json_of(
        gateway
            .admin(reqwest::Method::PATCH, "/accounts/acme", &token)
            .json(
                &json!({"tps": null, "group": null, "window": 20, "deliver_window": 200,
                          "enabled": false}),
            ),
    )
    .await;
    assert_eq!(changed["deliver_window"], 200);
    assert_eq!(changed["tps"], Value::Null);
    assert_eq!(changed["group"], Value::Null);
    assert_eq!(changed["window"], 20);
    assert_eq!(changed["enabled"], false);

    let credited = json_of(
        gateway
            .post("/accounts/acme/credits", &token)
            .json(&json!({"delta": -40})),
    )
    .await;
    assert_eq!(credited, json!({"credits": 60}));

    let response = gateway
        .admin(reqwest::Method::DELETE, "/accounts/acme", &token)
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    problem(
        gateway.get("/accounts/acme", &token),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn creating_an_existing_account_is_a_conflict() {
    let gateway = start().await;
    let token = gateway.admin_token().await;
    gateway.account("acme").await;
    problem(
        gateway
            .post("/accounts", &token)
            .json(&json!({"system_id": "acme", "password": "x"})),
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
}

#[tokio::test]
async fn account_fields_out_of_range_are_invalid_and_name_the_field() {
    let gateway = start().await;
    let token = gateway.admin_token().await;
    for (body, field) in [
        (
            json!({"system_id": "acme", "password": "x", "window": 0}),
            "window",
        ),
        (
            json!({"system_id": "acme", "password": "x", "deliver_window": 0}),
            "deliver_window",
        ),
        (
            json!({"system_id": "acme", "password": "x", "deliver_window": 1001}),
            "deliver_window",
        ),
        (
            json!({"system_id": "acme", "password": "x", "allowed_ips": ["nowhere"]}),
            "allowed_ips",
        ),
        (
            json!({"system_id": "has space", "password": "x"}),
            "system_id",
        ),
        (json!({"system_id": "acme", "password": ""}), "password"),
        (
            json!({"system_id": "acme", "password": "x", "credits": -1}),
            "credits",
        ),
        (
            json!({"system_id": "acme", "password": "x", "bind_types": ["both"]}),
            "bind_types",
        ),
        (
            json!({"system_id": "acme", "password": "x", "window": "ten"}),
            "window",
        ),
        (
            json!({"system_id": "acme", "password": "x", "callback_url": "ftp://example.com"}),
            "callback_url",
        ),
    ] {
        let found = problem(
            gateway.post("/accounts", &token).json(&body),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        )
        .await;
        assert!(
            found["detail"].as_str().expect("detail").contains(field),
            "{field}: {found:#}"
        );
    }
    assert!(
        gateway
            .node
            .store
            .accounts()
            .await
            .expect("read")
            .is_empty()
    );
    problem(
        gateway
            .post("/accounts", &token)
            .header("content-type", "application/json")
            .body("{not json"),
        StatusCode::BAD_REQUEST,
        "bad_json",
    )
    .await;
}

#[tokio::test]
async fn credits_never_go_below_zero() {
    let gateway = start().await;
    let token = gateway.admin_token().await;
    gateway.account("acme").await;
    let refused = problem(
        gateway
            .post("/accounts/acme/credits", &token)
            .json(&json!({"delta": -1001})),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert!(
        refused["detail"]
            .as_str()
            .expect("detail")
            .contains("below zero")
    );
    let account = common::stored_account(&gateway.node, "acme").await;
    assert_eq!(account.credits, 1000, "nothing changed");
    problem(
        gateway
            .post("/accounts/nobody/credits", &token)
            .json(&json!({"delta": 5})),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn api_keys_are_created_once_listed_without_secret_and_revoked() {
    let gateway = start().await;
    let token = gateway.admin_token().await;
    gateway.account("acme").await;
    let created = gateway
        .post("/accounts/acme/api-keys", &token)
        .json(&json!({"label": "shop"}))
        .send()
        .await
        .expect("answered");
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.expect("json");
    let key = created["key"].as_str().expect("the key").to_string();
    let id = created["id"].as_str().expect("the id").to_string();
    assert_eq!(created["label"], "shop");
    let balance = format!("{}/api/v1/balance", gateway.base);
    let works = gateway
        .http
        .get(&balance)
        .bearer_auth(&key)
        .send()
        .await
        .expect("answered");
    assert_eq!(works.status(), StatusCode::OK);

    let listed = json_of(gateway.get("/accounts/acme/api-keys", &token)).await;
    let listed = listed.as_array().expect("a list");
    assert_eq!(listed.len(), 2, "the test key and the new one");
    assert!(listed.iter().all(|key| key.get("key").is_none()));

    problem(
        gateway.admin(
            reqwest::Method::DELETE,
            "/accounts/acme/api-keys/nope",
            &token,
        ),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let revoked = gateway
        .admin(
            reqwest::Method::DELETE,
            &format!("/accounts/acme/api-keys/{id}"),
            &token,
        )
        .send()
        .await
        .expect("answered");
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let refused = gateway
        .http
        .get(&balance)
        .bearer_auth(&key)
        .send()
        .await
        .expect("answered");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sessions_list_counts_messages_and_disconnect_unbinds_the_session() {
    let gateway = start().await;
    let token = gateway.admin_token().await;
    gateway.account("acme").await;
    let client = bind(&gateway, "acme").await;
    let resp = client
        .request(common::submit_sm(UK, "hello", 0))
        .await
        .expect("submit answered");
    assert_eq!(resp.status, CommandStatus::ESME_ROK);

    let sessions = json_of(gateway.get("/sessions", &token)).await;
    let [session] = sessions.as_array().expect("a list").as_slice() else {
        panic!("one session: {sessions:#}");
    };
    assert_eq!(session["system_id"], "acme");
    assert_eq!(session["bind_type"], "transceiver");
    assert_eq!(session["ip_version"], 4);
    assert_eq!(session["tls"], false);
    assert_eq!(session["messages_in"], 1);
    assert_eq!(session["window"]["size"], 10);
    assert_eq!(session["deliver_window"], json!({"in_use": 0, "size": 10}));
    let accounts = json_of(gateway.get("/accounts/acme", &token)).await;
    assert_eq!(accounts["sessions"], 1);

    problem(
        gateway.admin(reqwest::Method::DELETE, "/sessions/999999", &token),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let id = session["id"].as_u64().expect("an id");
    let response = gateway
        .admin(reqwest::Method::DELETE, &format!("/sessions/{id}"), &token)
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let deadline = Instant::now() + PATIENCE;
    loop {
        let sessions = json_of(gateway.get("/sessions", &token)).await;
        if sessions.as_array().is_some_and(Vec::is_empty) && client.is_closed() {
            break;
        }
        assert!(Instant::now() < deadline, "still bound: {sessions:#}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn messages_are_found_by_number_account_and_state_and_shown_with_trace_and_provider_ids() {
    let gateway = start().await;
    let token = gateway.admin_token().await;
    let acme = gateway.account("acme").await;
    let beta = gateway.account("beta").await;
    let first = gateway
        .send(&acme, json!({"to": format!("+{UK}"), "text": "hello"}))
        .await;
    let other = gateway
        .send(&beta, json!({"to": "+14155551234", "text": "hi"}))
        .await;

    let detail = gateway.until_state(&token, &first, "delivered").await;
    assert_eq!(detail["connector"], "sim");
    assert_eq!(detail["direction"], "mt");
    assert_eq!(detail["text"], "hello");
    assert_eq!(detail["provider_ids"][0]["connector"], "sim");
    assert!(
        detail["provider_ids"][0]["provider_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    let kinds: Vec<&str> = detail["trace"]
        .as_array()
        .expect("a trace")
        .iter()
        .filter_map(|event| event["kind"].as_str())
        .collect();
    assert_eq!(kinds.first(), Some(&"accepted"), "oldest first: {kinds:?}");
    assert!(kinds.contains(&"receipt"), "{kinds:?}");

    let ids = |found: &Value| -> Vec<String> {
        found
            .as_array()
            .expect("a list")
            .iter()
            .filter_map(|m| m["id"].as_str().map(str::to_string))
            .collect()
    };
    for q in [UK.to_string(), format!("%2B{UK}"), first.clone()] {
        let found = json_of(gateway.get(&format!("/messages?q={q}"), &token)).await;
        assert_eq!(ids(&found), [first.as_str()], "q={q}");
    }
    let by_account = json_of(gateway.get("/messages?account=beta", &token)).await;
    assert_eq!(ids(&by_account), [other.as_str()]);
    assert_eq!(by_account[0]["destination"], "14155551234");
    let delivered = json_of(gateway.get("/messages?state=delivered&account=acme", &token)).await;
    assert_eq!(ids(&delivered), [first.as_str()]);
    let mo = json_of(gateway.get("/messages?direction=mo", &token)).await;
    assert_eq!(ids(&mo), Vec::<String>::new(), "no MO was received");
    let mt =
        json_of(gateway.get("/messages?direction=mt&until=2100-01-01T00:00:00Z", &token)).await;
    assert_eq!(ids(&mt).len(), 2);
    let before = json_of(gateway.get("/messages?until=2001-01-01T00:00:00Z", &token)).await;
    assert_eq!(ids(&before), Vec::<String>::new());
    let all = json_of(gateway.get("/messages?q=&account=&limit=1", &token)).await;
    assert_eq!(ids(&all).len(), 1, "at most limit, newest first");

    problem(
        gateway.get("/messages?state=lost", &token),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    problem(
        gateway.get("/messages?limit=501", &token),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    problem(
        gateway.get("/messages?since=yesterday", &token),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    problem(
        gateway.get("/messages/nope", &token),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn customer_api_shows_the_connector_and_provider_ids_of_a_message() {
    let gateway = start().await;
    let token = gateway.admin_token().await;
    let key = gateway.account("acme").await;
    let id = gateway
        .send(&key, json!({"to": format!("+{UK}"), "text": "hello"}))
        .await;
    gateway.until_state(&token, &id, "delivered").await;
    let shown = json_of(
        gateway
            .http
            .get(format!("{}/api/v1/messages/{id}", gateway.base))
            .bearer_auth(&key),
    )
    .await;
    assert_eq!(shown["connector"], "sim");
    assert_eq!(shown["provider_ids"][0]["connector"], "sim");
}

#[tokio::test]
async fn queues_list_the_outbox_by_account_and_kind() {
    let gateway = start().await;
    let token = gateway.admin_token().await;
    let key = gateway.account("acme").await;
    // A receipt asked for, with no receiver session bound: it waits.
    let id = gateway
        .send(
            &key,
            json!({"to": format!("+{UK}"), "text": "hello", "registered_delivery": true}),
        )
        .await;
    gateway.until_state(&token, &id, "delivered").await;
    let deadline = Instant::now() + PATIENCE;
    let queues = loop {
        let queues = json_of(gateway.get("/queues", &token)).await;
        if queues["outbox"]
            .as_array()
            .is_some_and(|items| !items.is_empty())
        {
            break queues;
        }
        assert!(
            Instant::now() < deadline,
            "nothing in the outbox: {queues:#}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(queues["accepted"], 0);
    assert_eq!(queues["queued"], 0);
    let [group] = queues["outbox"].as_array().expect("a list").as_slice() else {
        panic!("one group: {queues:#}");
    };
    assert_eq!(group["account"], "acme");
    assert_eq!(group["kind"], "receipt");
    assert_eq!(group["count"], 1);
    assert!(group["oldest"].as_str().is_some_and(|at| at.ends_with('Z')));

    let overview = json_of(gateway.get("/overview", &token)).await;
    assert_eq!(overview["node"], "test");
    assert_eq!(overview["accepting"], true);
    assert_eq!(overview["queues"]["outbox"], 1);
    assert_eq!(overview["counters"]["accepted"], 1);
    assert_eq!(overview["counters"]["submitted"], 1);
    assert_eq!(overview["connectors"]["total"], 1);
}

#[tokio::test]
async fn connectors_are_listed_paused_and_resumed() {
    let gateway = start().await;
    let token = gateway.admin_token().await;
    let listed = json_of(gateway.get("/connectors", &token)).await;
    let [sim] = listed.as_array().expect("a list").as_slice() else {
        panic!("the demo connector: {listed:#}");
    };
    assert_eq!(sim["name"], "sim");
    assert_eq!(sim["kind"], "sim");
    assert_eq!(sim["paused"], false);
    assert_eq!(sim["in_flight"], 0);
    assert!(sim["health"]["configured"].as_u64().is_some());

    let paused = json_of(gateway.post("/connectors/sim/pause", &token)).await;
    assert_eq!(paused["paused"], true);
    let overview = json_of(gateway.get("/overview", &token)).await;
    assert_eq!(overview["connectors"]["paused"], 1);
    let resumed = json_of(gateway.post("/connectors/sim/resume", &token)).await;
    assert_eq!(resumed["paused"], false);
    problem(
        gateway.post("/connectors/nope/pause", &token),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn trace_switches_are_set_listed_and_cleared_and_this_node_follows_at_once() {
    let gateway = start().await;
    let token = gateway.admin_token().await;
    assert_eq!(json_of(gateway.get("/trace", &token)).await, json!([]));

    let on = json_of(
        gateway
            .admin(reqwest::Method::PUT, "/trace/account/acme", &token)
            .json(&json!({"minutes": 5})),
    )
    .await;
    assert_eq!(on["kind"], "account");
    assert_eq!(on["name"], "acme");
    assert!(on["until"].as_str().is_some(), "{on:#}");
    assert!(gateway.node.trace.account_on("acme"));
    // An empty body takes the default duration.
    json_of(gateway.admin(reqwest::Method::PUT, "/trace/connector/sim", &token)).await;
    assert!(gateway.node.trace.connector_on("sim"));
    let listed = json_of(gateway.get("/trace", &token)).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed:#}");

    let off = gateway
        .admin(reqwest::Method::DELETE, "/trace/account/acme", &token)
        .send()
        .await
        .expect("answered");
    assert_eq!(off.status(), StatusCode::NO_CONTENT);
    assert!(!gateway.node.trace.account_on("acme"));
    problem(
        gateway.admin(reqwest::Method::DELETE, "/trace/account/acme", &token),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    problem(
        gateway
            .admin(reqwest::Method::PUT, "/trace/account/acme", &token)
            .json(&json!({"minutes": 5000})),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    problem(
        gateway.admin(reqwest::Method::PUT, "/trace/session/7", &token),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn routes_are_listed_and_a_test_shows_the_connector_order_with_status() {
    let gateway = start().await;
    let token = gateway.admin_token().await;
    let routes = json_of(gateway.get("/routes", &token)).await;
    assert_eq!(routes[0]["name"], "default");

    json_of(gateway.post("/connectors/sim/pause", &token)).await;
    let tested = json_of(
        gateway
            .post("/routes/test", &token)
            .json(&json!({"account": "acme", "to": format!("+{UK}"), "text": "hi"})),
    )
    .await;
    assert_eq!(tested["route"], "default");
    assert_eq!(tested["connectors"], json!(["sim"]));
    assert_eq!(tested["destination"], UK);
    assert_eq!(tested["destination_valid"], true);
    assert_eq!(tested["connector_status"][0]["name"], "sim");
    assert_eq!(tested["connector_status"][0]["paused"], true);
    assert_eq!(
        tested["connector_notes"][0]["healthy"], false,
        "paused counts as unhealthy"
    );

    problem(
        gateway
            .post("/routes/test", &token)
            .json(&json!({"account": "acme", "to": "not a number"})),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
}

#[tokio::test]
async fn unknown_admin_endpoints_are_not_found_problems() {
    let gateway = start().await;
    let token = gateway.admin_token().await;
    problem(
        gateway.get("/nothing-here", &token),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn admin_allowed_ips_refuse_other_addresses_before_any_password_but_not_customers() {
    // The test client comes from 127.0.0.1, which this list leaves out.
    let gateway = start_with(|config| {
        config.admin.allowed_ips = vec!["10.0.0.0/8".parse().expect("a network")];
    })
    .await;
    let token = gateway.admin_token().await;
    problem(
        gateway.get("/overview", &token),
        StatusCode::FORBIDDEN,
        "address_not_allowed",
    )
    .await;
    problem(
        gateway
            .http
            .post(format!("{}/admin/api/login", gateway.base))
            .json(&json!({"username": "admin", "password": gateway.admin_password()})),
        StatusCode::FORBIDDEN,
        "address_not_allowed",
    )
    .await;
    let console = gateway
        .http
        .get(format!("{}/console/", gateway.base))
        .send()
        .await
        .expect("answered");
    assert_eq!(console.status(), StatusCode::FORBIDDEN);
    // The customer API on the same listener is not the admin side.
    let key = gateway.account("acme").await;
    let balance = gateway
        .http
        .get(format!("{}/api/v1/balance", gateway.base))
        .bearer_auth(&key)
        .send()
        .await
        .expect("answered");
    assert_eq!(balance.status(), StatusCode::OK);
}

#[tokio::test]
async fn admin_allowed_ips_let_listed_addresses_in_and_secure_cookie_marks_the_cookie() {
    let gateway = start_with(|config| {
        config.admin.allowed_ips = vec!["127.0.0.0/8".parse().expect("a network")];
        config.admin.secure_cookie = true;
    })
    .await;
    let response = gateway
        .http
        .post(format!("{}/admin/api/login", gateway.base))
        .json(&json!({"username": "admin", "password": gateway.admin_password()}))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response
        .headers()
        .get(SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .expect("a cookie")
        .to_string();
    assert!(cookie.ends_with("; Secure"), "{cookie}");
}

#[tokio::test]
async fn an_accounts_default_callback_url_is_set_at_creation_changed_and_removed() {
    // An internal receiver, which the operator allows.
    let gateway = start_with(|config| {
        config.http.callback_allow = vec!["10.0.0.0/8".parse().expect("a range")];
    })
    .await;
    let token = gateway.admin_token().await;
    let created = json_of(gateway.post("/accounts", &token).json(&json!({
        "system_id": "acme", "password": "secret",
        "callback_url": "https://example.com/sms/status"
    })))
    .await;
    assert_eq!(created["callback_url"], "https://example.com/sms/status");
    let changed = json_of(
        gateway
            .admin(reqwest::Method::PATCH, "/accounts/acme", &token)
            .json(&json!({"callback_url": "http://10.0.0.5/cb"})),
    )
    .await;
    assert_eq!(changed["callback_url"], "http://10.0.0.5/cb");
    let stored = gateway
        .node
        .store
        .account("acme")
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(stored.callback_url.as_deref(), Some("http://10.0.0.5/cb"));
    let removed = json_of(
        gateway
            .admin(reqwest::Method::PATCH, "/accounts/acme", &token)
            .json(&json!({"callback_url": null})),
    )
    .await;
    assert_eq!(removed["callback_url"], Value::Null);
}

#[tokio::test]
async fn an_accounts_default_callback_url_at_an_internal_address_is_refused_unless_allowed() {
    let gateway = start().await;
    let token = gateway.admin_token().await;
    let found = problem(
        gateway.post("/accounts", &token).json(&json!({
            "system_id": "acme", "password": "secret",
            "callback_url": "http://169.254.169.254/latest/meta-data/"
        })),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    let detail = found["detail"].as_str().expect("detail");
    assert!(
        detail.contains("169.254.169.254 is a link-local address (169.254.0.0/16)"),
        "{detail}"
    );
    json_of(gateway.post("/accounts", &token).json(&json!({
        "system_id": "acme", "password": "secret"
    })))
    .await;
    problem(
        gateway
            .admin(reqwest::Method::PATCH, "/accounts/acme", &token)
            .json(&json!({"callback_url": "http://[fd00::5]/cb"})),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    let stored = gateway
        .node
        .store
        .account("acme")
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(stored.callback_url, None, "nothing was set");
}

#[tokio::test]
async fn overview_history_keeps_samples_of_the_counters_and_queues_with_the_nodes_clock() {
    let gateway = start().await;
    let token = gateway.admin_token().await;
    let key = gateway.account("acme").await;
    gateway
        .send(&key, json!({"to": "+447911123456", "text": "hi"}))
        .await;
    // The sampler takes one at start and then every 2 s: wait for one that
    // has counted the message.
    let deadline = Instant::now() + PATIENCE;
    let history = loop {
        let history = json_of(gateway.get("/overview/history", &token)).await;
        let counted = history["samples"]
            .as_array()
            .and_then(|samples| samples.last())
            .is_some_and(|last| last["counters"]["accepted"] == 1);
        if counted {
            break history;
        }
        assert!(Instant::now() < deadline, "never sampled: {history:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(history["every_seconds"], 2);
    assert!(history["now"].as_str().is_some(), "{history:#}");
    let last = &history["samples"][history["samples"].as_array().map_or(0, Vec::len) - 1];
    assert!(last["at"].as_str().is_some(), "{last:#}");
    assert!(last["queues"]["outbox"].as_u64().is_some(), "{last:#}");
}
