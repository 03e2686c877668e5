//! Scaffolding shared by the integration tests: a node started in-process
//! on 127.0.0.1, test accounts and API keys in its store, a reqwest client,
//! SMPP customer sessions bound with the smpp crate's session layer, and
//! the `smsgate` binary run as a command.
//!
//! Each test file that uses it says `mod common;`; Cargo does not build
//! `tests/common/mod.rs` as a test binary of its own.

// Every test binary compiles this module but uses only some of its helpers.
#![allow(dead_code)]

use std::io::Write as _;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use bytes::Bytes;
use smpp::session::{self, InboundRequest, SessionConfig, SessionEvent, SessionHandle};
use smpp::types::{npi, ton};
use smpp::{Address, Bind, Body, COctetString, CommandStatus, Pdu, SubmitSm};
use smsgate::accounts::{api_key, password};
use smsgate::clock::ManualClock;
use smsgate::config::Config;
use smsgate::node::Node;
use smsgate::store::{Account, AccountPatch, BindType, NewAccount, NewApiKey};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

// ---------------------------------------------------------------------------
// A node in-process

/// Names the node `test` and puts SMPP (without TLS) and HTTP on ephemeral
/// ports of 127.0.0.1.
pub fn listen_locally(config: &mut Config) {
    config.node.name = Some("test".into());
    config.smpp.listen = vec!["127.0.0.1:0".parse().expect("addr")];
    config.smpp.tls = false;
    config.http.listen = vec!["127.0.0.1:0".parse().expect("addr")];
}

/// The built-in defaults (so the demo simulator connector and its route),
/// [listening locally](listen_locally).
pub fn local_config() -> Config {
    let mut config = Config::default();
    listen_locally(&mut config);
    config
}

/// A configuration parsed from TOML: node name `test`, SMPP without TLS and
/// HTTP on ephemeral ports of 127.0.0.1, a 2 s SMPP shutdown, then
/// `sections` (`[dispatch]`, `[delivery]`, connectors, routes) appended.
/// As for any configuration file, the demo connector and route stay only
/// if `sections` declares neither connectors nor routes.
pub fn parse_local_config(sections: &str) -> Config {
    let text = format!(
        "[node]\nname = \"test\"\n\
         [smpp]\nlisten = [\"127.0.0.1:0\"]\ntls = false\nshutdown_timeout = \"2s\"\n\
         [http]\nlisten = [\"127.0.0.1:0\"]\n{sections}"
    );
    Config::parse(&text).expect("test configuration parses")
}

/// Starts a node with `config`, its data (the SQLite store) in `dir`, on a
/// manual clock.
pub async fn start_node(config: &Config, dir: &Path) -> Node {
    Node::start(config, None, dir, Arc::new(ManualClock::new()))
        .await
        .expect("node starts")
}

/// Where the node's HTTP listener (admin and customer APIs, metrics,
/// webhooks, console) listens.
pub fn http_addr(node: &Node) -> SocketAddr {
    node.http
        .as_ref()
        .expect("the HTTP listener runs")
        .local_addrs()[0]
}

/// Where the node's plaintext SMPP listener listens.
pub fn smpp_addr(node: &Node) -> SocketAddr {
    node.smpp.plaintext_addr().expect("plaintext listener")
}

// ---------------------------------------------------------------------------
// Accounts and API keys

/// A customer account `system_id` with `password`: 1000 credits, 4 binds of
/// any type, a window of 10, no TPS limit, no default sender and no
/// restrictions. Callers adjust the fields they need before storing it.
pub fn test_account(system_id: &str, password: &str) -> NewAccount {
    test_account_with_hash(system_id, password::hash(password).expect("hash"))
}

/// [`test_account`] with `password_hash` stored as it is (no bind or Basic
/// authentication is meant to succeed with an arbitrary one).
pub fn test_account_with_hash(system_id: &str, password_hash: String) -> NewAccount {
    NewAccount {
        system_id: system_id.into(),
        password_hash,
        credits: 1000,
        max_binds: 4,
        tps: None,
        window: 10,
        deliver_window: 10,
        bind_types: BindType::ALL.to_vec(),
        allowed_ips: Vec::new(),
        allowed_senders: Vec::new(),
        default_sender: None,
        address_ranges: Vec::new(),
        group: None,
    }
}

/// Stores `account` in the node's store.
pub async fn add_account(node: &Node, account: NewAccount) {
    node.store
        .create_account(account)
        .await
        .expect("account created");
}

/// The stored account `system_id`, which must exist.
pub async fn stored_account(node: &Node, system_id: &str) -> Account {
    node.store
        .account(system_id)
        .await
        .expect("read")
        .expect("exists")
}

/// Disables the stored account `system_id`.
pub async fn disable_account(node: &Node, system_id: &str) {
    node.store
        .update_account(
            system_id,
            AccountPatch {
                enabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .expect("disabled");
}

/// Creates a customer API key for `system_id` with `label`; returns the key.
pub async fn add_api_key(node: &Node, system_id: &str, label: Option<&str>) -> String {
    let key = api_key::generate();
    node.store
        .create_api_key(NewApiKey {
            id: key.id,
            account: system_id.into(),
            key_hash: key.hash,
            label: label.map(Into::into),
        })
        .await
        .expect("key created");
    key.key
}

// ---------------------------------------------------------------------------
// HTTP

/// A reqwest client builder for plain HTTP. reqwest builds its TLS set-up
/// even for http, and no process-wide rustls provider is assumed: give it
/// ring, as the gateway's own clients do.
pub fn http_client_builder() -> reqwest::ClientBuilder {
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("ring supports the defaults")
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    reqwest::Client::builder().tls_backend_preconfigured(tls)
}

/// A plain-HTTP reqwest client (see [`http_client_builder`]).
pub fn http_client() -> reqwest::Client {
    http_client_builder().build().expect("a client")
}

/// What a [`recording_webhook`] was sent: each POST's headers and body.
pub type Posts = Arc<Mutex<Vec<(HeaderMap, String)>>>;

/// A customer's webhook endpoint on a free port of 127.0.0.1: answers `ok`
/// to each POST to `path` and records its headers and body.
pub async fn recording_webhook(path: &str) -> (SocketAddr, Posts) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let recorder = Arc::clone(&seen);
    let app = axum::Router::new().route(
        path,
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let recorder = Arc::clone(&recorder);
            async move {
                recorder.lock().expect("lock").push((headers, body));
                "ok"
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
    (addr, seen)
}

// ---------------------------------------------------------------------------
// SMPP customer sessions

/// The session settings of a test customer: no enquire_link and no
/// inactivity timeout, and a generous response timeout: under a loaded CI
/// machine a queued password check can take seconds, and the tests assert
/// answers, not speed.
pub fn client_session_config() -> SessionConfig {
    SessionConfig {
        response_timeout: Duration::from_secs(120),
        enquire_link_interval: None,
        inactivity_timeout: None,
        ..SessionConfig::default()
    }
}

/// Opens an SMPP session (not bound yet) to `addr` with
/// [`client_session_config`].
pub async fn connect(addr: SocketAddr) -> (SessionHandle, mpsc::Receiver<SessionEvent>) {
    let stream = TcpStream::connect(addr).await.expect("connect");
    session::start(stream, client_session_config())
}

/// Keeps a session's events flowing (so it keeps reading), answering every
/// request the peer sends (deliver_sm, …) with ESME_ROK.
pub fn answer_requests_ok(mut events: mpsc::Receiver<SessionEvent>) {
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            if let SessionEvent::Request(request) = event {
                request.respond_status(CommandStatus::ESME_ROK);
            }
        }
    });
}

/// Hands every request the peer sends (deliver_sm, …) to the returned
/// channel, each with its responder, unanswered.
pub fn forward_requests(
    mut events: mpsc::Receiver<SessionEvent>,
) -> mpsc::UnboundedReceiver<InboundRequest> {
    let (requests, received) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            if let SessionEvent::Request(request) = event {
                let _ = requests.send(request);
            }
        }
    });
    received
}

/// The body of a bind (SMPP 3.4) as `system_id` with `password`.
pub fn bind_body(system_id: &str, password: &str) -> Bind {
    Bind {
        system_id: COctetString::try_from(system_id).expect("id"),
        password: COctetString::try_from(password).expect("password"),
        interface_version: 0x34,
        ..Bind::default()
    }
}

/// Binds `client` as `system_id` with `password`; `kind` is the bind
/// (`Body::BindTransceiver`, …). Panics unless the bind succeeds.
pub async fn bind(client: &SessionHandle, kind: fn(Bind) -> Body, system_id: &str, password: &str) {
    let bound = client
        .request(kind(bind_body(system_id, password)))
        .await
        .expect("bind answered");
    assert_eq!(bound.status, CommandStatus::ESME_ROK, "bound");
}

/// A customer session to `addr`, bound (see [`bind`]), that answers every
/// request it gets with ESME_ROK.
pub async fn bind_answering(
    addr: SocketAddr,
    kind: fn(Bind) -> Body,
    system_id: &str,
    password: &str,
) -> SessionHandle {
    let (client, events) = connect(addr).await;
    answer_requests_ok(events);
    bind(&client, kind, system_id, password).await;
    client
}

/// A customer session to `addr`, bound (see [`bind`]); the requests it gets
/// (deliver_sm, …) arrive on the returned channel, each with its responder.
pub async fn bind_receiving(
    addr: SocketAddr,
    kind: fn(Bind) -> Body,
    system_id: &str,
    password: &str,
) -> (SessionHandle, mpsc::UnboundedReceiver<InboundRequest>) {
    let (client, events) = connect(addr).await;
    let received = forward_requests(events);
    bind(&client, kind, system_id, password).await;
    (client, received)
}

/// A submit_sm from the alphanumeric sender `Acme` to the international
/// number `destination`.
pub fn submit_sm(destination: &str, text: &str, registered_delivery: u8) -> Body {
    Body::SubmitSm(SubmitSm {
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
        registered_delivery,
        short_message: Bytes::copy_from_slice(text.as_bytes()),
        ..SubmitSm::default()
    })
}

/// The message id of a submit_sm_resp, which must be ESME_ROK.
pub fn submitted_id(resp: Pdu) -> String {
    assert_eq!(resp.status, CommandStatus::ESME_ROK);
    let Body::SubmitSmResp(resp) = resp.body else {
        panic!("not a submit_sm_resp: {:?}", resp.body);
    };
    resp.message_id.to_string_lossy().into_owned()
}

// ---------------------------------------------------------------------------
// The smsgate binary

/// A free TCP port on 127.0.0.1 (free when asked; a server binds it later).
pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Runs `smsgate --data-dir DATA_DIR ARGS` with no input (see
/// [`smsgate_with_input`]).
pub fn smsgate(data_dir: &Path, args: &[&str]) -> Output {
    smsgate_with_input(data_dir, args, "")
}

/// Runs `smsgate --data-dir DATA_DIR ARGS` with `stdin` as its input; the
/// environment's SMSGATE_DATA_DIR, SMSGATE_URL and SMSGATE_API_KEY are not
/// passed on.
pub fn smsgate_with_input(data_dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_smsgate"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("SMSGATE_DATA_DIR")
        .env_remove("SMSGATE_URL")
        .env_remove("SMSGATE_API_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("smsgate runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("stdin written");
    child.wait_with_output().expect("smsgate ends")
}

/// Runs a command that must succeed, with no input; returns its stdout.
pub fn smsgate_ok(data_dir: &Path, args: &[&str]) -> String {
    smsgate_ok_with_input(data_dir, args, "")
}

/// Runs a command that must succeed, with `stdin` as its input; returns
/// its stdout.
pub fn smsgate_ok_with_input(data_dir: &Path, args: &[&str], stdin: &str) -> String {
    let output = smsgate_with_input(data_dir, args, stdin);
    assert!(
        output.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// Runs a command that must fail, with no input; returns its stderr.
pub fn smsgate_fails(data_dir: &Path, args: &[&str]) -> String {
    smsgate_fails_with_input(data_dir, args, "")
}

/// Runs a command that must fail, with `stdin` as its input; returns its
/// stderr.
pub fn smsgate_fails_with_input(data_dir: &Path, args: &[&str], stdin: &str) -> String {
    let output = smsgate_with_input(data_dir, args, stdin);
    assert!(!output.status.success(), "{args:?} succeeded");
    String::from_utf8(output.stderr).expect("UTF-8 output")
}

/// Runs `ARGS --json`, which must succeed; returns what it printed as JSON.
pub fn smsgate_json(data_dir: &Path, args: &[&str]) -> serde_json::Value {
    let mut args = args.to_vec();
    args.push("--json");
    serde_json::from_str(&smsgate_ok(data_dir, &args)).expect("JSON output")
}

/// A running `smsgate serve`, started by [`serve`]. Dropping it kills the
/// process, so a failing test leaves no server behind.
pub struct ServeProcess {
    pub child: Child,
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes `config` (TOML) to DATA_DIR/smsgate.toml, starts
/// `smsgate --data-dir DATA_DIR serve --no-demo --config` on it (its output
/// discarded) and waits, up to a minute, until 127.0.0.1:`port` accepts
/// connections.
pub fn serve(data_dir: &Path, config: &str, port: u16) -> ServeProcess {
    let config_file = data_dir.join("smsgate.toml");
    std::fs::create_dir_all(data_dir).expect("data dir");
    std::fs::write(&config_file, config).expect("config written");
    let child = Command::new(env!("CARGO_BIN_EXE_smsgate"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(["serve", "--no-demo", "--config"])
        .arg(&config_file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let process = ServeProcess { child };
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "smsgate serve did not start listening"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    process
}
