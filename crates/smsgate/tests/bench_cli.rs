//! `smsgate bench smpp` as a customer would run it, against a real
//! `smsgate serve` (plaintext and TLS) and against the simulator, and the
//! simulator's receipt window seen by an ESME that holds its answers back.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use bytes::Bytes;
use smpp::session::{self, InboundRequest, SessionConfig, SessionHandle};
use smpp::types::{npi, registered_delivery, ton};
use smpp::{Address, Body, COctetString, CommandStatus, SubmitSm};
use smsgate::connectors::sim::{Delay, SimConfig, SimServer};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// Long enough for anything that should arrive; only reached on failure.
const PATIENCE: Duration = Duration::from_secs(30);
/// How long to watch for a receipt that must not come: many times what
/// the simulator takes to send one that may (it sends them without delay).
const QUIET: Duration = Duration::from_millis(300);

/// A gateway config: SMPP on `port` (TLS beside it on `tls_port`, if
/// given), and every message to a simulator that answers and sends its
/// receipt at once.
fn gateway_config(port: u16, tls_port: Option<u16>) -> String {
    let tls = match tls_port {
        Some(tls_port) => format!("tls = true\ntls_listen = [\"127.0.0.1:{tls_port}\"]\n"),
        None => "tls = false\n".to_string(),
    };
    format!(
        "[smpp]\nlisten = [\"127.0.0.1:{port}\"]\n{tls}\
         [http]\nlisten = [\"127.0.0.1:0\"]\n\
         [connectors.sim]\nkind = \"sim\"\nlatency = \"0s\"\nreceipt_delay = \"0s\"\n\
         [[routes]]\nname = \"all\"\nconnectors = [\"sim\"]\n"
    )
}

/// The account `acme` (password `pw`) with room for the runs below.
fn add_account(data_dir: &Path) {
    common::smsgate_ok(
        data_dir,
        &[
            "account",
            "add",
            "acme",
            "--password",
            "pw",
            "--credits",
            "10000",
            "--window",
            "100",
            "--max-binds",
            "8",
        ],
    );
}

/// Runs `smsgate bench smpp ARGS` (no data dir needed: it only talks SMPP).
fn bench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_smsgate"))
        .args(["bench", "smpp"])
        .args(args)
        .env_remove("SMSGATE_BENCH_PASSWORD")
        .output()
        .expect("smsgate bench runs")
}

/// Runs a bench that must succeed with `--json`; its report.
fn bench_json(args: &[&str]) -> serde_json::Value {
    let mut args = args.to_vec();
    args.push("--json");
    let output = bench(&args);
    assert!(
        output.status.success(),
        "bench failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("UTF-8");
    assert_eq!(stdout.trim().lines().count(), 1, "one JSON line: {stdout}");
    serde_json::from_str(stdout.trim()).expect("a JSON report")
}

/// Every message submitted, acknowledged ESME_ROK and its receipt matched.
fn assert_all_delivered(report: &serde_json::Value, submits: u64) {
    assert_eq!(report["submitted"], submits, "{report}");
    assert_eq!(report["acked"], submits, "{report}");
    assert_eq!(report["acked_by_status"]["ESME_ROK"], submits, "{report}");
    assert_eq!(
        report["acked_by_status"].as_object().map(|o| o.len()),
        Some(1),
        "no other status: {report}"
    );
    assert_eq!(report["receipts"], submits, "{report}");
    assert_eq!(report["receipts_missing"], 0, "{report}");
    for key in ["submit_resp_ms", "receipt_ms"] {
        for percentile in ["p50", "p90", "p99", "max"] {
            assert!(
                report[key][percentile].is_number(),
                "{key}.{percentile}: {report}"
            );
        }
    }
    for key in [
        "submit_rate",
        "receipt_rate",
        "end_to_end_rate",
        "elapsed_s",
    ] {
        assert!(report[key].is_number(), "{key}: {report}");
    }
}

#[test]
fn bench_against_a_gateway_reports_every_message_acknowledged_and_its_receipt_matched() {
    let dir = tempfile::tempdir().expect("tempdir");
    add_account(dir.path());
    let port = common::free_port();
    let _server = common::serve(dir.path(), &gateway_config(port, None), port);
    let host = format!("127.0.0.1:{port}");

    let report = bench_json(&[
        "--host",
        &host,
        "--system-id",
        "acme",
        "--password",
        "pw",
        "--count",
        "200",
        "--binds",
        "2",
        "--window",
        "10",
    ]);

    assert_all_delivered(&report, 200);
    assert_eq!(report["messages"], 200);
    assert_eq!(
        (report["binds"].clone(), report["window"].clone()),
        (2.into(), 10.into())
    );
}

#[test]
fn bench_over_tls_with_long_messages_accepts_the_self_signed_certificate_and_sends_three_parts_each()
 {
    let dir = tempfile::tempdir().expect("tempdir");
    add_account(dir.path());
    let port = common::free_port();
    let tls_port = common::free_port();
    let _server = common::serve(dir.path(), &gateway_config(port, Some(tls_port)), port);
    let host = format!("127.0.0.1:{tls_port}");

    let report = bench_json(&[
        "--tls",
        "--host",
        &host,
        "--system-id",
        "acme",
        "--password",
        "pw",
        "--count",
        "20",
        "--binds",
        "1",
        "--text",
        "long",
    ]);

    assert_all_delivered(&report, 60);
    assert_eq!(report["messages"], 20);
    assert_eq!(report["parts_per_message"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_with_transmitters_and_receivers_matches_receipts_arriving_on_other_sessions() {
    let sim = SimServer::start(&[local()], instant_sim()).expect("simulator starts");
    let host = sim.local_addr().to_string();
    let report = tokio::task::spawn_blocking(move || {
        bench_json(&[
            "--host",
            &host,
            "--system-id",
            "acme",
            "--password",
            "pw",
            "--count",
            "100",
            "--binds",
            "2",
            "--bind-type",
            "tx",
            "--receiver-binds",
            "2",
            "--text",
            "ucs2",
        ])
    })
    .await
    .expect("bench ran");

    assert_all_delivered(&report, 100);
    assert_eq!(report["receiver_binds"], 2);
    assert_eq!(sim.stats().binds, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_without_receipts_asks_for_none_and_waits_for_none() {
    let sim = SimServer::start(&[local()], instant_sim()).expect("simulator starts");
    let host = sim.local_addr().to_string();
    let report = tokio::task::spawn_blocking(move || {
        bench_json(&[
            "--host",
            &host,
            "--system-id",
            "acme",
            "--password",
            "pw",
            "--count",
            "50",
            "--no-receipts",
        ])
    })
    .await
    .expect("bench ran");

    assert_eq!(report["acked_by_status"]["ESME_ROK"], 50, "{report}");
    assert_eq!(report["receipts"], 0);
    assert_eq!(report["receipts_awaited"], false);
    assert!(report["receipt_ms"]["p50"].is_null());
    assert_eq!(sim.stats().receipts_sent, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_with_a_refused_bind_fails_naming_the_bind_and_its_status() {
    let sim = SimServer::start(
        &[local()],
        SimConfig {
            system_id: "acme".into(),
            password: "secret".into(),
            ..instant_sim()
        },
    )
    .expect("simulator starts");
    let host = sim.local_addr().to_string();
    let output = tokio::task::spawn_blocking(move || {
        bench(&[
            "--host",
            &host,
            "--system-id",
            "acme",
            "--password",
            "wrong",
            "--count",
            "10",
        ])
    })
    .await
    .expect("bench ran");

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("was refused") && stderr.contains("ESME_RINVPASWD"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "no report after a failed bind");
    assert_eq!(sim.stats().submits, 0);
}

// ---------------------------------------------------------------------------
// The simulator's receipt window

fn local() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Answers at once and sends each receipt at once.
fn instant_sim() -> SimConfig {
    SimConfig {
        latency: Delay::fixed(Duration::ZERO),
        receipt_delay: Delay::fixed(Duration::ZERO),
        max_window: 100,
        ..SimConfig::default()
    }
}

/// A transceiver bound to the simulator whose deliver_sm are handed to the
/// test unanswered; its own peer window is wide enough never to throttle.
async fn withholding_esme(
    addr: SocketAddr,
) -> (SessionHandle, mpsc::UnboundedReceiver<InboundRequest>) {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (handle, events) = session::start(
        stream,
        SessionConfig {
            window: 100,
            peer_window: 1000,
            enquire_link_interval: None,
            inactivity_timeout: None,
            ..SessionConfig::default()
        },
    );
    let requests = common::forward_requests(events);
    common::bind(&handle, Body::BindTransceiver, "acme", "pw").await;
    (handle, requests)
}

/// Submits `count` messages asking for receipts, 50 in flight at a time
/// (half the simulator's submit window).
async fn submit_all(handle: &SessionHandle, count: usize) {
    let submit = |i: usize| {
        handle.request(Body::SubmitSm(SubmitSm {
            source: Address::new(
                ton::ALPHANUMERIC,
                npi::UNKNOWN,
                COctetString::from_static("Shop"),
            ),
            destination: Address::new(
                ton::INTERNATIONAL,
                npi::ISDN,
                COctetString::try_from(format!("4477009{i:05}").as_str()).expect("digits"),
            ),
            registered_delivery: registered_delivery::RECEIPT_ALWAYS,
            short_message: Bytes::from_static(b"hello"),
            ..SubmitSm::default()
        }))
    };
    let all: Vec<usize> = (0..count).collect();
    for batch in all.chunks(50) {
        let answers = futures::future::join_all(batch.iter().map(|&i| submit(i))).await;
        for answer in answers {
            assert_eq!(answer.expect("answered").status, CommandStatus::ESME_ROK);
        }
    }
}

/// The next deliver_sm, unanswered; panics if none comes.
async fn next_delivery(requests: &mut mpsc::UnboundedReceiver<InboundRequest>) -> InboundRequest {
    tokio::time::timeout(PATIENCE, requests.recv())
        .await
        .expect("a deliver_sm in time")
        .expect("session open")
}

/// A simulator, an ESME bound to it that answers none of its deliver_sm,
/// and the receipts taken so far, unanswered.
struct Withheld {
    sim: SimServer,
    _client: SessionHandle,
    requests: mpsc::UnboundedReceiver<InboundRequest>,
    held: Vec<InboundRequest>,
}

/// Starts a simulator with `receipt_window`, submits `submits` messages
/// from a withholding ESME and takes the first `held` receipts.
async fn withheld_receipts(receipt_window: usize, submits: usize, held: usize) -> Withheld {
    let sim = SimServer::start(
        &[local()],
        SimConfig {
            receipt_window: Some(receipt_window),
            ..instant_sim()
        },
    )
    .expect("simulator starts");
    let (client, mut requests) = withholding_esme(sim.local_addr()).await;
    submit_all(&client, submits).await;
    let mut taken = Vec::new();
    for _ in 0..held {
        taken.push(next_delivery(&mut requests).await);
    }
    Withheld {
        sim,
        _client: client,
        requests,
        held: taken,
    }
}

#[tokio::test]
async fn sim_with_receipt_window_zero_sends_every_receipt_before_any_is_answered() {
    // More than the submit window (100), which is the receipt window when
    // none is set: only "no limit" lets them all out unanswered.
    let Withheld {
        sim,
        _client,
        requests: _requests,
        held,
    } = withheld_receipts(0, 150, 150).await;
    assert_eq!(sim.stats().receipts_acknowledged, 0, "none answered yet");
    for request in held {
        request.respond(Body::DeliverSmResp(Default::default()));
    }
    let deadline = std::time::Instant::now() + PATIENCE;
    while sim.stats().receipts_acknowledged < 150 {
        assert!(std::time::Instant::now() < deadline, "{:?}", sim.stats());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn sim_with_a_receipt_window_sends_no_more_unanswered_receipts_than_it_allows() {
    // Bound whole: the simulator and the ESME must outlive the test.
    let Withheld {
        sim: _sim,
        _client,
        mut requests,
        mut held,
    } = withheld_receipts(3, 10, 3).await;
    let fourth = tokio::time::timeout(QUIET, requests.recv()).await;
    assert!(
        fourth.is_err(),
        "a fourth receipt came with three unanswered"
    );

    held.remove(0)
        .respond(Body::DeliverSmResp(Default::default()));
    held.push(next_delivery(&mut requests).await);
    let fifth = tokio::time::timeout(QUIET, requests.recv()).await;
    assert!(fifth.is_err(), "answering one let only one more through");
}
