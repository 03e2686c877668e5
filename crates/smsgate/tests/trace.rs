//! Runtime trace switches, end to end: a node in-process (real SQLite
//! store, SMPP server on 127.0.0.1, a simulator connector over real
//! sockets), customers bound with our SMPP session, and the log captured
//! by a subscriber installed for this test binary. A switch written to the
//! store (as `smsgate trace` and other nodes do) must make the traced
//! account's or connector's PDUs appear at target `smsgate::pdu`, with
//! their hex, and nobody else's.

mod common;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use smpp::Body;
use smpp::session::SessionHandle;
use smsgate::node::{Node, database_path};
use smsgate::store::sqlite::SqliteStore;
use smsgate::store::{NewAccount, Store, TraceKind};

/// Long enough for anything that should happen; only reached on failure.
const PATIENCE: Duration = Duration::from_secs(20);

/// What every test of this binary logged, as text lines.
fn log() -> &'static Mutex<Vec<u8>> {
    static LOG: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();
    let log = LOG.get_or_init(|| Mutex::new(Vec::new()));
    static SUBSCRIBER: OnceLock<()> = OnceLock::new();
    SUBSCRIBER.get_or_init(|| {
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(|| LogWriter)
            .init();
    });
    log
}

struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        log().lock().expect("log lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The trace lines logged so far that contain every one of `needles`.
fn pdu_lines(needles: &[&str]) -> Vec<String> {
    let log = log().lock().expect("log lock");
    String::from_utf8_lossy(&log)
        .lines()
        .filter(|line| line.contains(" smsgate::pdu: "))
        .filter(|line| needles.iter().all(|needle| line.contains(needle)))
        .map(str::to_string)
        .collect()
}

/// Waits until a trace line with every one of `needles` is logged.
async fn wait_for_line(needles: &[&str]) -> String {
    let start = Instant::now();
    loop {
        if let Some(line) = pdu_lines(needles).into_iter().next() {
            return line;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "no trace line with {needles:?}; all trace lines:\n{}",
            pdu_lines(&[]).join("\n")
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The hex dump of a trace line, without its spaces.
fn hex_of(line: &str) -> String {
    let (_, hex) = line.split_once("hex=").expect("a hex field");
    hex.replace(' ', "")
}

fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

/// A node with a simulator connector `carrier` that every message is routed
/// to, no HTTP listener, and the accounts `traced` and `quiet`.
async fn start(dir: &std::path::Path) -> Node {
    log();
    let mut config = common::parse_local_config(
        "[dispatch]\npoll_interval = \"20ms\"\n\
         [connectors.carrier]\nkind = \"sim\"\nlatency = \"0s\"\n\
         [[routes]]\nname = \"all\"\nconnectors = \"carrier\"\n",
    );
    config.http.listen = Vec::new();
    let node = common::start_node(&config, dir).await;
    for system_id in ["traced", "quiet"] {
        let account = NewAccount {
            max_binds: 8,
            ..common::test_account(system_id, "secret")
        };
        common::add_account(&node, account).await;
    }
    node
}

/// A transmitter session of `system_id`.
async fn bind(addr: SocketAddr, system_id: &'static str) -> SessionHandle {
    common::bind_answering(addr, Body::BindTransmitter, system_id, "secret").await
}

/// Submits `text`; returns our id for it.
async fn submit(client: &SessionHandle, text: &str) -> String {
    let body = common::submit_sm("447911123456", text, 0);
    common::submitted_id(client.request(body).await.expect("answered"))
}

/// Waits until the node's snapshot has the switch (its refresher reads the store).
async fn wait_until_on(node: &Node, kind: TraceKind, name: &str) {
    let start = Instant::now();
    while !node.trace.is_on_at(kind, name, SystemTime::now()) {
        assert!(start.elapsed() < PATIENCE, "{kind} {name} never traced");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_switched_on_in_the_store_gets_its_pdus_logged_and_no_other() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = start(dir.path()).await;
    let traced = bind(common::smpp_addr(&node), "traced").await;
    let quiet = bind(common::smpp_addr(&node), "quiet").await;

    submit(&traced, "before the switch").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        pdu_lines(&["system_id=traced"]).is_empty(),
        "nothing is traced while the switch is off"
    );

    let until = SystemTime::now() + Duration::from_secs(600);
    node.store
        .set_trace_switch(TraceKind::Account, "traced", until)
        .await
        .expect("switch stored");
    wait_until_on(&node, TraceKind::Account, "traced").await;

    let id = submit(&traced, "while traced").await;
    submit(&quiet, "never traced").await;

    let request = wait_for_line(&[
        "system_id=traced",
        "direction=\"in\"",
        "command=\"submit_sm\"",
    ])
    .await;
    assert!(
        hex_of(&request).contains(&hex("while traced")),
        "the submit's octets are dumped: {request}"
    );
    assert!(request.contains(" INFO "), "{request}");
    let answer = wait_for_line(&[
        "system_id=traced",
        "direction=\"out\"",
        "command=\"submit_sm_resp\"",
        "status=\"ESME_ROK\"",
    ])
    .await;
    assert!(
        hex_of(&answer).contains(&hex(&id)),
        "the answer carries our id: {answer}"
    );
    assert!(
        pdu_lines(&["system_id=quiet"]).is_empty(),
        "another account's session stays silent"
    );

    // A session bound while traced shows its bind, password masked.
    let again = bind(common::smpp_addr(&node), "traced").await;
    let bind_line = wait_for_line(&["system_id=traced", "command=\"bind_transmitter\""]).await;
    let dump = hex_of(&bind_line);
    assert!(dump.contains(&hex("traced\0******\0")), "{bind_line}");
    assert!(!dump.contains(&hex("secret")), "the password never shows");
    wait_for_line(&["system_id=traced", "command=\"bind_transmitter_resp\""]).await;

    let _ = again.unbind().await;
    let _ = traced.unbind().await;
    let _ = quiet.unbind().await;
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connector_switched_on_gets_its_binds_pdus_logged() {
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let store = SqliteStore::open(&database_path(dir.path())).expect("store opens");
        store
            .set_trace_switch(
                TraceKind::Connector,
                "carrier",
                SystemTime::now() + Duration::from_secs(600),
            )
            .await
            .expect("switch stored");
        store.close().await.expect("store closes");
    }
    let node = start(dir.path()).await;

    let bind_line = wait_for_line(&["connector=carrier", "command=\"bind_transceiver\""]).await;
    assert!(bind_line.contains("direction=\"out\""), "{bind_line}");
    wait_for_line(&[
        "connector=carrier",
        "direction=\"in\"",
        "command=\"bind_transceiver_resp\"",
    ])
    .await;

    let client = bind(common::smpp_addr(&node), "quiet").await;
    submit(&client, "through the carrier").await;
    let out = wait_for_line(&[
        "connector=carrier",
        "direction=\"out\"",
        "command=\"submit_sm\"",
    ])
    .await;
    assert!(hex_of(&out).contains(&hex("through the carrier")), "{out}");
    wait_for_line(&[
        "connector=carrier",
        "direction=\"in\"",
        "command=\"submit_sm_resp\"",
    ])
    .await;

    node.trace
        .switch_off(node.store.as_ref(), TraceKind::Connector, "carrier")
        .await
        .expect("switched off");
    let lines_before = pdu_lines(&["connector=carrier"]).len();
    submit(&client, "after the switch").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        pdu_lines(&["connector=carrier"]).len(),
        lines_before,
        "nothing more once switched off"
    );

    let _ = client.unbind().await;
    node.shutdown().await;
}

/// The store's trace switches on their own.
mod store {
    use super::*;

    fn open(dir: &tempfile::TempDir) -> SqliteStore {
        SqliteStore::open(&database_path(dir.path())).expect("store opens")
    }

    #[tokio::test]
    async fn a_switch_set_twice_keeps_the_last_time_and_lists_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open(&dir);
        // Whole milliseconds, as the store keeps them.
        let now = std::time::UNIX_EPOCH
            + Duration::from_millis(
                SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .expect("after 1970")
                    .as_millis() as u64,
            );
        let first = now + Duration::from_secs(60);
        let second = now + Duration::from_secs(120);
        store
            .set_trace_switch(TraceKind::Account, "acme", first)
            .await
            .expect("set");
        let stored = store
            .set_trace_switch(TraceKind::Account, "acme", second)
            .await
            .expect("set again");
        assert_eq!(stored.until, second);
        store
            .set_trace_switch(TraceKind::Connector, "acme", first)
            .await
            .expect("same name, other kind");
        let listed = store.trace_switches(now).await.expect("list");
        let keys: Vec<(TraceKind, &str)> = listed
            .iter()
            .map(|switch| (switch.kind, switch.name.as_str()))
            .collect();
        assert_eq!(
            keys,
            vec![(TraceKind::Account, "acme"), (TraceKind::Connector, "acme")]
        );
        assert_eq!(listed[0].until, stored.until);
    }

    #[tokio::test]
    async fn expired_switches_are_not_listed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open(&dir);
        let now = SystemTime::now();
        store
            .set_trace_switch(TraceKind::Account, "old", now - Duration::from_secs(1))
            .await
            .expect("set");
        store
            .set_trace_switch(TraceKind::Account, "new", now + Duration::from_secs(60))
            .await
            .expect("set");
        let listed = store.trace_switches(now).await.expect("list");
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].name, "new");
        assert!(
            store
                .trace_switches(now + Duration::from_secs(61))
                .await
                .expect("list")
                .is_empty()
        );
    }

    #[tokio::test]
    async fn clearing_says_whether_a_switch_was_there() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open(&dir);
        let until = SystemTime::now() + Duration::from_secs(60);
        store
            .set_trace_switch(TraceKind::Connector, "carrier", until)
            .await
            .expect("set");
        assert!(
            !store
                .clear_trace_switch(TraceKind::Account, "carrier")
                .await
                .expect("clear")
        );
        assert!(
            store
                .clear_trace_switch(TraceKind::Connector, "carrier")
                .await
                .expect("clear")
        );
        assert!(
            !store
                .clear_trace_switch(TraceKind::Connector, "carrier")
                .await
                .expect("clear again")
        );
        assert!(
            store
                .trace_switches(SystemTime::now())
                .await
                .expect("list")
                .is_empty()
        );
    }

    #[tokio::test]
    async fn switches_survive_reopening_the_store() {
        let dir = tempfile::tempdir().expect("temp dir");
        let until = SystemTime::now() + Duration::from_secs(60);
        {
            let store = open(&dir);
            store
                .set_trace_switch(TraceKind::Account, "acme", until)
                .await
                .expect("set");
            store.close().await.expect("close");
        }
        let store = open(&dir);
        let listed = store.trace_switches(SystemTime::now()).await.expect("list");
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].name, "acme");
    }
}
