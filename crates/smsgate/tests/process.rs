//! The real `smsgate` binary as a separate process: acknowledged messages
//! survive `kill -9`, the account CLI and `serve` share the store, and an
//! independent SMPP client (Python smpplib) binds and submits.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use smpp::session::{self, SessionConfig};
use smpp::types::{npi, ton};
use smpp::{Address, Bind, Body, COctetString, CommandStatus, SubmitSm};
use tokio::net::TcpStream;

const BIN: &str = env!("CARGO_BIN_EXE_smsgate");

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn smsgate(data_dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .output()
        .expect("smsgate runs")
}

/// Starts `smsgate serve` on a free plaintext port (TLS off) and waits
/// until it accepts connections.
fn serve(data_dir: &Path) -> (Child, SocketAddr) {
    let port = free_port();
    let config = data_dir.join("smsgate.toml");
    std::fs::create_dir_all(data_dir).expect("data dir");
    std::fs::write(
        &config,
        format!("[smpp]\nlisten = [\"127.0.0.1:{port}\"]\ntls = false\n"),
    )
    .expect("config written");
    let child = Command::new(BIN)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["serve", "--no-demo", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "smsgate serve did not start listening"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, addr)
}

fn add_account(data_dir: &Path, system_id: &str, secret: &str) {
    let out = smsgate(
        data_dir,
        &[
            "account",
            "add",
            system_id,
            "--password",
            secret,
            "--credits",
            "1000",
        ],
    );
    assert!(
        out.status.success(),
        "account add: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_messages_survive_kill_9_of_the_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    add_account(dir.path(), "acme", "pw");
    let (mut child, addr) = serve(dir.path());

    let stream = TcpStream::connect(addr).await.expect("connect");
    let (client, mut events) = session::start(
        stream,
        SessionConfig {
            enquire_link_interval: None,
            ..SessionConfig::default()
        },
    );
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    let bind = Bind {
        system_id: COctetString::from_static("acme"),
        password: COctetString::from_static("pw"),
        interface_version: 0x34,
        ..Bind::default()
    };
    let bound = client
        .request(Body::BindTransceiver(bind))
        .await
        .expect("bind");
    assert_eq!(bound.status, CommandStatus::ESME_ROK);

    let mut submits = tokio::task::JoinSet::new();
    for i in 0..200 {
        let client = client.clone();
        submits.spawn(async move {
            let sm = SubmitSm {
                source: Address::new(
                    ton::ALPHANUMERIC,
                    npi::UNKNOWN,
                    COctetString::from_static("Acme"),
                ),
                destination: Address::new(
                    ton::INTERNATIONAL,
                    npi::ISDN,
                    COctetString::from_static("447911123456"),
                ),
                short_message: Bytes::from(format!("message {i}")),
                ..SubmitSm::default()
            };
            client.request(Body::SubmitSm(sm)).await
        });
    }
    let mut acknowledged = Vec::new();
    while let Some(result) = submits.join_next().await {
        let resp = result.expect("task").expect("answered");
        if resp.status == CommandStatus::ESME_ROK {
            let Body::SubmitSmResp(resp) = resp.body else {
                panic!("not a submit_sm_resp")
            };
            acknowledged.push(resp.message_id.to_string());
        }
    }
    assert!(!acknowledged.is_empty());
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");

    let out = smsgate(
        dir.path(),
        &[
            "message",
            "list",
            "--account",
            "acme",
            "--limit",
            "1000",
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json list");
    let stored: std::collections::HashSet<String> = listed
        .iter()
        .filter_map(|m| m.get("id").and_then(|id| id.as_str()).map(String::from))
        .collect();
    for id in &acknowledged {
        assert!(
            stored.contains(id),
            "acknowledged message {id} lost after kill -9"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_independent_smpplib_client_binds_submits_queries_and_unbinds() {
    let dir = tempfile::tempdir().expect("tempdir");
    add_account(dir.path(), "pyclient", "secret");
    let (mut child, addr) = serve(dir.path());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/smpplib_client.py"
    );
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(script)
            .args([
                &addr.ip().to_string(),
                &addr.port().to_string(),
                "pyclient",
                "secret",
                "14155551234",
            ])
            .output()
    })
    .await
    .expect("task")
    .expect("python3 runs");
    child.kill().expect("stop server");
    child.wait().expect("reaped");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "smpplib client failed (is smpplib installed? `pip install smpplib==2.2.4`):\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: HashMap<&str, &str> = stdout.lines().filter_map(|l| l.split_once(' ')).collect();
    assert_eq!(results["bind_status"], "0");
    assert_eq!(results["submit_command"], "submit_sm_resp");
    assert_eq!(results["submit_status"], "0");
    assert_eq!(results["message_id"].len(), 26, "a ULID");
    assert_eq!(results["query_status"], "0");
    // ENROUTE while dispatch and the built-in simulator work on it, or
    // DELIVERED if its receipt (500 ms) already came back.
    assert!(
        ["1", "2"].contains(&results["query_state"]),
        "query_sm state {}",
        results["query_state"]
    );
    assert_eq!(results["enquire_link_command"], "enquire_link_resp");
    assert_eq!(
        results["invalid_destination_status"], "11",
        "ESME_RINVDSTADR"
    );
    assert_eq!(results["unbind_command"], "unbind_resp");
    let out = smsgate(
        dir.path(),
        &["message", "show", results["message_id"], "--json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn serve_help_and_version_are_true() {
    let out = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .expect("runs");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("--config") && help.contains("--log-format"),
        "{help}"
    );
    let out = Command::new(BIN).arg("version").output().expect("runs");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("smsgate "));
}
