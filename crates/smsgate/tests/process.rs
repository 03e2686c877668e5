//! The real `smsgate` binary as a separate process: acknowledged messages
//! and queued delivery receipts survive `kill -9`, the account CLI and
//! `serve` share the store, and an independent SMPP client (Python smpplib)
//! binds, submits and receives receipts.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use smpp::receipt::{Receipt, ReceiptStat};
use smpp::session::{self, InboundRequest, SessionConfig, SessionHandle};
use smpp::types::esm_class;
use smpp::{Bind, Body, CommandStatus};
use smsgate::connectors::sim::{Delay, SimConfig, SimServer};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

const BIN: &str = env!("CARGO_BIN_EXE_smsgate");

/// Long enough for anything that should happen on a busy machine; only
/// reached on failure.
const PATIENCE: Duration = Duration::from_secs(30);

fn smsgate(data_dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .output()
        .expect("smsgate runs")
}

/// A running `smsgate serve` and its SMPP address. Dropping it kills the
/// process, so a failing test leaves no server behind.
struct Server {
    process: common::ServeProcess,
    addr: SocketAddr,
}

impl Server {
    /// Kills the server with SIGKILL, as `kill -9` or a crash would: no
    /// shutdown code runs.
    fn kill_9(mut self) {
        self.process.child.kill().expect("SIGKILL");
        self.process.child.wait().expect("reaped");
    }
}

/// Starts `smsgate serve` on a free plaintext SMPP port (TLS off), the HTTP
/// listener on an ephemeral port so parallel tests cannot clash, and waits
/// until it accepts connections. The file declares no connectors or routes,
/// so the demo simulator `sim` takes every message and sends its DELIVRD
/// receipt half a second later.
fn serve(data_dir: &Path) -> Server {
    let port = common::free_port();
    let config = format!(
        "[smpp]\nlisten = [\"127.0.0.1:{port}\"]\ntls = false\n\
         [http]\nlisten = [\"127.0.0.1:0\"]\n"
    );
    let process = common::serve(data_dir, &config, port);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    Server { process, addr }
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

/// A customer session (our SMPP session as an independent client) bound
/// with `bind_as` (`Body::BindTransmitter`, …); the deliver_sm it gets
/// arrive on the returned channel, each with its responder.
async fn bind(
    addr: SocketAddr,
    system_id: &'static str,
    password: &'static str,
    bind_as: fn(Bind) -> Body,
) -> (SessionHandle, mpsc::UnboundedReceiver<InboundRequest>) {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (client, events) = session::start(
        stream,
        SessionConfig {
            enquire_link_interval: None,
            ..SessionConfig::default()
        },
    );
    let received = common::forward_requests(events);
    common::bind(&client, bind_as, system_id, password).await;
    (client, received)
}

/// A submit_sm from `Acme` to a UK mobile.
fn submit_sm(text: &str, registered_delivery: u8) -> Body {
    common::submit_sm("447911123456", text, registered_delivery)
}

/// The kinds of a message's trace events, as `smsgate message show --json`
/// prints them.
fn trace_kinds(data_dir: &Path, id: &str) -> Vec<String> {
    let out = smsgate(data_dir, &["message", "show", id, "--json"]);
    assert!(
        out.status.success(),
        "message show {id}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let message: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json message");
    message["trace"]
        .as_array()
        .expect("a trace array")
        .iter()
        .filter_map(|event| event["kind"].as_str().map(String::from))
        .collect()
}

/// Waits until the message's trace has an event of `kind`, asking the CLI
/// as an operator would while the server runs.
async fn until_traced(data_dir: &Path, id: &str, kind: &str) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let kinds = tokio::task::block_in_place(|| trace_kinds(data_dir, id));
        if kinds.iter().any(|k| k == kind) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{id} never traced {kind:?}: {kinds:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs a script of tests/interop with `python3` against the server; its
/// standard output (`name value` lines) and whether it succeeded.
async fn smpplib(script: &'static str, addr: SocketAddr, args: &[&str]) -> std::process::Output {
    let script = format!("{}/tests/interop/{script}", env!("CARGO_MANIFEST_DIR"));
    let args: Vec<String> = [addr.ip().to_string(), addr.port().to_string()]
        .into_iter()
        .chain(args.iter().map(|arg| arg.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || Command::new("python3").arg(script).args(args).output())
        .await
        .expect("task")
        .expect("python3 runs")
}

/// Asserts that a smpplib script succeeded; its `name value` lines.
fn smpplib_results(out: &std::process::Output) -> HashMap<&str, &str> {
    let stdout = std::str::from_utf8(&out.stdout).expect("utf-8 output");
    assert!(
        out.status.success(),
        "smpplib script failed (is smpplib installed? `pip install smpplib==2.2.4`):\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.lines().filter_map(|l| l.split_once(' ')).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_messages_survive_kill_9_of_the_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    add_account(dir.path(), "acme", "pw");
    let server = serve(dir.path());
    let (client, _) = bind(server.addr, "acme", "pw", Body::BindTransceiver).await;

    let mut submits = tokio::task::JoinSet::new();
    for i in 0..200 {
        let client = client.clone();
        submits.spawn(async move { client.request(submit_sm(&format!("message {i}"), 0)).await });
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
    server.kill_9();

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
async fn receipts_queued_with_no_receiver_bound_survive_kill_9_and_are_sent_after_the_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    add_account(dir.path(), "acme", "pw");
    let server = serve(dir.path());
    let (transmitter, _) = bind(server.addr, "acme", "pw", Body::BindTransmitter).await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let resp = transmitter
            .request(submit_sm(&format!("message {n}"), 1))
            .await
            .expect("submit answered");
        assert_eq!(resp.status, CommandStatus::ESME_ROK);
        let Body::SubmitSmResp(resp) = resp.body else {
            panic!("not a submit_sm_resp: {resp:?}")
        };
        ids.push(resp.message_id.to_string_lossy().into_owned());
    }
    for id in &ids {
        until_traced(dir.path(), id, "receipt queued").await;
    }
    server.kill_9();

    let server = serve(dir.path());
    let (_receiver, mut received) = bind(server.addr, "acme", "pw", Body::BindReceiver).await;
    let mut receipted = Vec::new();
    for _ in 0..ids.len() {
        let request = tokio::time::timeout(PATIENCE, received.recv())
            .await
            .unwrap_or_else(|_| panic!("only receipts for {receipted:?} of {ids:?} came"))
            .expect("receiver session open");
        let Body::DeliverSm(deliver) = &request.pdu.body else {
            panic!("not a deliver_sm: {:?}", request.pdu)
        };
        assert_eq!(deliver.esm_class, esm_class::DELIVERY_RECEIPT);
        let receipt = Receipt::parse(&deliver.short_message).expect("receipt text");
        assert_eq!(receipt.stat, ReceiptStat::Delivered, "{receipt:?}");
        receipted.push(receipt.id);
        request.respond_status(CommandStatus::ESME_ROK);
    }
    receipted.sort();
    ids.sort();
    assert_eq!(receipted, ids, "one receipt for each message");
    for id in &ids {
        until_traced(dir.path(), id, "receipt sent").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_independent_smpplib_client_binds_submits_queries_and_unbinds() {
    let dir = tempfile::tempdir().expect("tempdir");
    add_account(dir.path(), "pyclient", "secret");
    let server = serve(dir.path());
    let out = smpplib(
        "smpplib_client.py",
        server.addr,
        &["pyclient", "secret", "14155551234"],
    )
    .await;
    drop(server);
    let results = smpplib_results(&out);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_smpplib_receiver_gets_the_receipt_for_what_an_smpplib_transmitter_submitted() {
    let dir = tempfile::tempdir().expect("tempdir");
    add_account(dir.path(), "pyclient", "secret");
    let server = serve(dir.path());
    let out = smpplib("smpplib_receipts.py", server.addr, &["pyclient", "secret"]).await;
    let results = smpplib_results(&out);
    assert_eq!(results["result"], "ok");
    assert_eq!(results["receiver_bind_status"], "0");
    assert_eq!(results["transmitter_bind_status"], "0");
    let id = results["message_id"];
    assert_eq!(results["deliver_esm_class"], "4", "SMSC delivery receipt");
    assert_eq!(results["receipted_message_id"], id);
    assert_eq!(results["receipt_text_id"], id);
    assert!(
        results["receipt_text"].contains("stat:DELIVRD"),
        "{}",
        results["receipt_text"]
    );
    until_traced(dir.path(), id, "receipt sent").await;
}

#[test]
fn completions_for_each_shell_and_the_man_page_come_from_the_command_line_itself() {
    let run = |args: &[&str]| {
        let out = Command::new(BIN).args(args).output().expect("runs");
        assert!(out.status.success(), "{args:?}");
        String::from_utf8(out.stdout).expect("UTF-8")
    };
    let bash = run(&["completions", "bash"]);
    assert!(
        bash.contains("_smsgate()")
            && bash.contains("security")
            && bash.contains("--deliver-window")
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("smsgate.bash");
    std::fs::write(&script, &bash).expect("written");
    let checked = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .status()
        .expect("bash runs");
    assert!(checked.success(), "bash -n finds the script valid");
    assert!(run(&["completions", "zsh"]).starts_with("#compdef smsgate"));
    assert!(run(&["completions", "fish"]).contains("complete -c smsgate"));
    let man = run(&["man"]);
    assert!(
        man.contains(".TH smsgate 1") && man.contains(".SH NAME"),
        "{man}"
    );
    assert!(man.contains("completions"), "the subcommands are listed");
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

#[test]
fn serve_prints_without_colours_where_to_bind_call_the_api_and_log_in_to_the_console() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().expect("tempdir");
    let (smpp, http) = (common::free_port(), common::free_port());
    let config = dir.path().join("smsgate.toml");
    std::fs::write(
        &config,
        format!(
            "[smpp]\nlisten = [\"127.0.0.1:{smpp}\"]\ntls = false\n\
             [http]\nlisten = [\"127.0.0.1:{http}\"]\n"
        ),
    )
    .expect("config written");
    let data = dir.path().join("data");
    let mut child = Command::new(BIN)
        .arg("--data-dir")
        .arg(&data)
        .args(["serve", "--config"])
        .arg(&config)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("serve starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut printed = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("a line");
        let last = line.contains("operator console");
        printed.push(line);
        if last {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let printed = printed.join("\n");
    for expected in [
        format!("smsgate: SMPP on 127.0.0.1:{smpp}"),
        format!("smsgate: HTTP API on http://127.0.0.1:{http}/api/v1"),
        "created account `demo` with password".to_string(),
        format!(
            "smsgate: operator console on http://127.0.0.1:{http}/console/ (user admin, first password in {})",
            data.join("admin-password").display()
        ),
    ] {
        assert!(
            printed.contains(&expected),
            "{expected:?} missing from:\n{printed}"
        );
    }
    assert!(!printed.contains('\u{1b}'), "no escape codes: {printed:?}");
}

/// Starts `serve` with `config` (plaintext SMPP and HTTP on free ports of
/// 127.0.0.1) on `data`, waits until it listens, and stops it.
fn serve_once(data: &Path, config: &str) {
    let (smpp, http) = (common::free_port(), common::free_port());
    let file = data.with_extension("toml");
    std::fs::write(
        &file,
        format!(
            "[smpp]\nlisten = [\"127.0.0.1:{smpp}\"]\ntls = false\n\
             [http]\nlisten = [\"127.0.0.1:{http}\"]\n{config}"
        ),
    )
    .expect("config written");
    let mut child = Command::new(BIN)
        .arg("--data-dir")
        .arg(data)
        .args(["serve", "--config"])
        .arg(&file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("serve starts");
    // The demo account is seen to before the console's URL is printed.
    let stdout = child.stdout.take().expect("stdout");
    let started = std::io::BufRead::lines(std::io::BufReader::new(stdout))
        .map_while(Result::ok)
        .any(|line| line.contains("operator console"));
    assert!(started, "serve printed no console URL");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn a_demo_account_is_disabled_once_real_connectors_are_declared_unless_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    serve_once(&data, "");
    let enabled =
        |data: &Path| common::smsgate_json(data, &["account", "show", "demo"])["enabled"].as_bool();
    assert_eq!(enabled(&data), Some(true), "the first start made it");
    let carrier = "[connectors.carrier]\nkind = \"smpp\"\nsystem_id = \"x\"\npassword = \"y\"\n\
                   hosts = [{ address = \"127.0.0.1:9\" }]\n\
                   [[routes]]\nname = \"r\"\nconnectors = \"carrier\"\n";
    serve_once(&data, &format!("[demo]\nkeep = true\n{carrier}"));
    assert_eq!(enabled(&data), Some(true), "kept");
    serve_once(&data, carrier);
    assert_eq!(enabled(&data), Some(false), "disabled");

    // A first start with real connectors makes no demo account at all.
    let fresh = dir.path().join("fresh");
    serve_once(&fresh, carrier);
    let missing = common::smsgate(&fresh, &["account", "show", "demo"]);
    assert!(!missing.status.success());
}

#[test]
fn serve_on_a_port_another_program_holds_says_which_setting_to_change_and_writes_nothing() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let config = dir.path().join("smsgate.toml");
    std::fs::write(
        &config,
        format!(
            "[smpp]\nlisten = [\"127.0.0.1:0\"]\ntls = false\n\
             [http]\nlisten = [\"127.0.0.1:{port}\"]\n"
        ),
    )
    .expect("config written");
    let out = Command::new(BIN)
        .arg("--data-dir")
        .arg(&data)
        .args(["serve", "--no-demo", "--config"])
        .arg(&config)
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "port {port} (127.0.0.1:{port}) is in use by another program; change [http] listen"
        )),
        "{stderr}"
    );
    assert!(
        !data.join("smsgate.db").exists(),
        "nothing written to the data directory"
    );
    drop(taken);
}

/// The connector a message was submitted through, from its trace (`None`
/// while it has not been submitted).
fn submitted_through(data_dir: &Path, id: &str) -> Option<String> {
    let out = smsgate(data_dir, &["message", "show", id, "--json"]);
    let message: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    message["trace"].as_array()?.iter().find_map(|event| {
        (event["kind"].as_str()? == "submitted").then(|| {
            event["detail"]
                .as_str()
                .and_then(|detail| detail.strip_prefix("connector "))
                .and_then(|rest| rest.split_whitespace().next())
                .unwrap_or_default()
                .to_string()
        })
    })
}

/// Messages of the store in `state`, read from its file as an operator's
/// sqlite3 shell would while the server runs.
fn count_in_state(data_dir: &Path, state: &str) -> i64 {
    let conn = rusqlite::Connection::open_with_flags(
        data_dir.join("smsgate.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("the store opens read-only");
    conn.busy_timeout(Duration::from_secs(5)).expect("timeout");
    conn.query_row(
        "SELECT count(*) FROM messages WHERE state = ?1 AND direction = 'mt'",
        [state],
        |row| row.get(0),
    )
    .expect("counted")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_ends_delivered_and_every_acknowledged_mo_is_stored_after_kill_9_of_the_gateway_while_a_carrier_sends_receipts_and_mo()
 {
    const COUNT: usize = 600;
    // The carrier runs outside the gateway's process, so it outlives the kill.
    let carrier = SimServer::start(
        &["127.0.0.1:0".parse().expect("addr")],
        SimConfig {
            latency: Delay::fixed(Duration::ZERO),
            receipt_delay: "0ms..800ms".parse().expect("a delay range"),
            receipt_retries: 20,
            receipt_retry_delay: Duration::from_millis(100),
            max_window: 100,
            system_id: "gw".into(),
            password: "pw".into(),
            // MO all the time. Short ones: the simulator gives every long
            // one the same concatenation reference, so parts of two sent at
            // once could not be told apart (tracking_durability.rs covers
            // stored parts across a restart).
            mo_interval: Some(Delay::fixed(Duration::from_millis(3))),
            mo_source: "447700900123".into(),
            mo_destination: "5555".into(),
            mo_text: "STOP".into(),
            ..SimConfig::default()
        },
    )
    .expect("carrier starts");
    let carrier_addr = carrier.local_addrs()[0];
    let dir = tempfile::tempdir().expect("tempdir");
    add_account(dir.path(), "acme", "pw");
    let port = common::free_port();
    let config = format!(
        "[smpp]\nlisten = [\"127.0.0.1:{port}\"]\ntls = false\n\
         [http]\nlisten = [\"127.0.0.1:0\"]\n\
         [connectors.carrier]\nkind = \"smpp\"\nsystem_id = \"gw\"\npassword = \"pw\"\n\
         window = 50\nreconnect_min = \"50ms\"\nreconnect_max = \"200ms\"\n\
         hosts = [{{ address = \"{carrier_addr}\" }}]\n\
         [[routes]]\nname = \"all\"\nconnectors = \"carrier\"\n"
    );
    let server = Server {
        process: common::serve(dir.path(), &config, port),
        addr: format!("127.0.0.1:{port}").parse().expect("addr"),
    };
    let (transmitter, _) = bind(server.addr, "acme", "pw", Body::BindTransmitter).await;
    let submits: Vec<_> = (0..COUNT)
        .map(|n| {
            let transmitter = transmitter.clone();
            tokio::spawn(async move {
                transmitter
                    .request(submit_sm(&format!("message {n}"), 0))
                    .await
                    .map(|resp| resp.status)
            })
        })
        .collect();
    for submit in submits {
        let status = submit.await.expect("task").expect("submit answered");
        assert_eq!(status, CommandStatus::ESME_ROK);
    }
    // Kill the gateway while the carrier is still sending receipts.
    let deadline = Instant::now() + PATIENCE;
    while carrier.stats().receipts_acknowledged < (COUNT / 3) as u64 {
        assert!(
            Instant::now() < deadline,
            "receipts never flowed: {:?}",
            carrier.stats()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill_9();
    let acknowledged_before = carrier.stats().receipts_acknowledged;
    // Every MO the carrier was answered ESME_ROK for (all its parts) is in
    // the store, though the gateway died without a word.
    let mo_acknowledged = carrier.stats().mo_acknowledged;
    assert!(mo_acknowledged > 0, "no MO flowed: {:?}", carrier.stats());
    let mo_stored: i64 = tokio::task::block_in_place(|| {
        rusqlite::Connection::open(dir.path().join("smsgate.db"))
            .expect("the store opens")
            .query_row(
                "SELECT count(*) FROM messages WHERE direction = 'mo'",
                [],
                |row| row.get(0),
            )
            .expect("counted")
    });
    assert!(
        mo_stored >= i64::try_from(mo_acknowledged).expect("a count"),
        "{mo_acknowledged} MO acknowledged to the carrier, {mo_stored} stored"
    );
    assert!(
        acknowledged_before < COUNT as u64,
        "every receipt came before the kill; nothing was in flight"
    );

    let _server = Server {
        process: common::serve(dir.path(), &config, port),
        addr: format!("127.0.0.1:{port}").parse().expect("addr"),
    };
    // Every receipt answered ESME_ROK before the kill was stored; those
    // not answered come again on the new bind. So every message ends
    // delivered: none waits for a receipt the carrier will never resend.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let delivered = tokio::task::block_in_place(|| count_in_state(dir.path(), "delivered"));
        if delivered == COUNT as i64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{delivered} of {COUNT} delivered; {} still submitted ({} receipts answered before the kill, carrier now {:?})",
            tokio::task::block_in_place(|| count_in_state(dir.path(), "submitted")),
            acknowledged_before,
            carrier.stats()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    carrier.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_puts_new_routes_and_connectors_in_force_while_the_session_stays_bound() {
    let dir = tempfile::tempdir().expect("tempdir");
    add_account(dir.path(), "acme", "pw");
    let server = serve(dir.path());
    let (client, _) = bind(server.addr, "acme", "pw", Body::BindTransceiver).await;
    let send = |text: &'static str| {
        let client = client.clone();
        async move {
            let resp = client
                .request(submit_sm(text, 0))
                .await
                .expect("answered on the same session");
            assert_eq!(resp.status, CommandStatus::ESME_ROK);
            let Body::SubmitSmResp(resp) = resp.body else {
                panic!("not a submit_sm_resp")
            };
            resp.message_id.to_string()
        }
    };
    let wait_connector = |id: String| {
        let dir = dir.path().to_path_buf();
        async move {
            let deadline = Instant::now() + PATIENCE;
            loop {
                if let Some(connector) =
                    tokio::task::block_in_place(|| submitted_through(&dir, &id))
                {
                    return connector;
                }
                assert!(Instant::now() < deadline, "{id} was never submitted");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    let before = send("before the reload").await;
    assert_eq!(wait_connector(before).await, "sim", "the demo connector");

    // The same file with a connector and a route of its own: the demo pair
    // gives way to them.
    let path = dir.path().join("smsgate.toml");
    let mut config = std::fs::read_to_string(&path).expect("config");
    config.push_str(
        "[connectors.alt]\nkind = \"sim\"\nlatency = \"0s\"\nreceipt_delay = \"50ms\"\n\
         [[routes]]\nname = \"everything\"\nconnectors = \"alt\"\n",
    );
    std::fs::write(&path, config).expect("config rewritten");
    let hup = Command::new("kill")
        .args(["-HUP", &server.process.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(hup.success());

    let deadline = Instant::now() + PATIENCE;
    loop {
        let id = send("after the reload").await;
        if wait_connector(id).await == "alt" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "messages still go to the demo connector after SIGHUP"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
