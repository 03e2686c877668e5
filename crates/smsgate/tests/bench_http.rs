//! `smsgate bench http` as a customer would run it, against a real
//! `smsgate serve` whose route goes to the in-process simulator (which
//! answers and sends each receipt at once): single messages, batches,
//! callbacks of the final states, and a key the gateway does not know.

mod common;

use std::path::Path;
use std::process::Command;

/// The account's SMPP password, for the Basic-auth run.
const PASSWORD: &str = "pw";

/// A gateway config: SMPP on `smpp_port`, HTTP on `http_port` with
/// callbacks to 127.0.0.1 allowed (the bench's listener is there), and
/// every message to a simulator that answers and sends its receipt at once.
fn gateway_config(smpp_port: u16, http_port: u16) -> String {
    format!(
        "[smpp]\nlisten = [\"127.0.0.1:{smpp_port}\"]\ntls = false\n\
         [http]\nlisten = [\"127.0.0.1:{http_port}\"]\ncallback_allow = [\"127.0.0.1/32\"]\n\
         [connectors.sim]\nkind = \"sim\"\nlatency = \"0s\"\nreceipt_delay = \"0s\"\n\
         [[routes]]\nname = \"all\"\nconnectors = [\"sim\"]\n"
    )
}

/// A running gateway with the account `bench` (password [`PASSWORD`])
/// and an API key for it.
struct Gateway {
    _server: common::ServeProcess,
    _dir: tempfile::TempDir,
    url: String,
    key: String,
}

fn gateway() -> Gateway {
    let dir = tempfile::tempdir().expect("tempdir");
    common::smsgate_ok(
        dir.path(),
        &[
            "account",
            "add",
            "bench",
            "--password",
            PASSWORD,
            "--credits",
            "10000",
        ],
    );
    let key = api_key(dir.path());
    let http_port = common::free_port();
    let server = common::serve(
        dir.path(),
        &gateway_config(common::free_port(), http_port),
        http_port,
    );
    Gateway {
        _server: server,
        _dir: dir,
        url: format!("http://127.0.0.1:{http_port}"),
        key,
    }
}

/// Creates an API key for `bench`; the key as printed.
fn api_key(data_dir: &Path) -> String {
    let printed = common::smsgate_ok(data_dir, &["account", "api-key", "create", "bench"]);
    printed
        .split_whitespace()
        .find(|word| word.starts_with("sgk_"))
        .unwrap_or_else(|| panic!("no key in {printed}"))
        .to_string()
}

/// Runs `smsgate bench http --url URL ARGS --json`, which must succeed;
/// its one-line report.
fn bench_json(url: &str, args: &[&str]) -> serde_json::Value {
    let output = Command::new(env!("CARGO_BIN_EXE_smsgate"))
        .args(["bench", "http", "--url", url, "--json"])
        .args(args)
        .env_remove("SMSGATE_API_KEY")
        .env_remove("SMSGATE_BENCH_PASSWORD")
        .output()
        .expect("smsgate bench runs");
    assert!(
        output.status.success(),
        "bench failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("UTF-8");
    assert_eq!(stdout.trim().lines().count(), 1, "one JSON line: {stdout}");
    serde_json::from_str(stdout.trim()).expect("a JSON report")
}

/// Every message sent and accepted, each request answered with `status`,
/// no errors, and the answer latencies measured.
fn assert_all_accepted(report: &serde_json::Value, messages: u64, requests: u64, status: &str) {
    assert_eq!(report["messages"], messages, "{report}");
    assert_eq!(report["accepted"], messages, "{report}");
    assert_eq!(report["refused"], 0, "{report}");
    assert_eq!(report["requests"], requests, "{report}");
    assert_eq!(report["answered"], requests, "{report}");
    assert_eq!(
        report["answers_by_status"],
        serde_json::json!({ status: requests }),
        "{report}"
    );
    for (name, count) in report["errors"].as_object().expect("errors") {
        assert_eq!(count, 0, "errors.{name}: {report}");
    }
    for percentile in ["p50", "p90", "p99", "max"] {
        assert!(report["answer_ms"][percentile].is_number(), "{report}");
    }
    assert!(report["request_rate"].is_number(), "{report}");
    assert!(report["accept_rate"].is_number(), "{report}");
}

#[test]
fn single_messages_with_an_api_key_are_each_answered_201_and_all_accepted() {
    let gateway = gateway();
    let report = bench_json(
        &gateway.url,
        &[
            "--api-key",
            &gateway.key,
            "--count",
            "200",
            "--connections",
            "4",
        ],
    );

    assert_all_accepted(&report, 200, 200, "201");
    assert_eq!(
        (report["connections"].clone(), report["batch"].clone()),
        (4.into(), 1.into())
    );
    assert_eq!(report["connections_reopened"], 0, "keep-alive: {report}");
    assert_eq!(report["callbacks_requested"], false);
    assert!(report["callback_ms"]["p50"].is_null());
}

#[test]
fn batches_with_basic_auth_post_one_request_per_batch_and_all_are_accepted() {
    let gateway = gateway();
    let report = bench_json(
        &gateway.url,
        &[
            "--user",
            "bench",
            "--password",
            PASSWORD,
            "--count",
            "200",
            "--connections",
            "2",
            "--batch",
            "30",
        ],
    );

    // 200 in batches of 30: six full ones and one of 20.
    assert_all_accepted(&report, 200, 7, "200");
    assert_eq!(report["batch"], 30);
}

#[test]
fn with_callbacks_every_accepted_message_reports_its_final_state_back() {
    let gateway = gateway();
    for batch in ["1", "25"] {
        let report = bench_json(
            &gateway.url,
            &[
                "--api-key",
                &gateway.key,
                "--count",
                "200",
                "--connections",
                "4",
                "--batch",
                batch,
                "--callbacks",
                "--callback-wait",
                "60s",
            ],
        );

        assert_eq!(report["accepted"], 200, "batch {batch}: {report}");
        assert_eq!(report["callbacks_requested"], true);
        assert_eq!(report["callbacks_expected"], 200, "{report}");
        assert_eq!(report["callbacks"], 200, "{report}");
        assert_eq!(report["callbacks_missing"], 0, "{report}");
        assert_eq!(report["callbacks_unmatched"], 0, "{report}");
        assert_eq!(report["malformed_callbacks"], 0, "{report}");
        assert_eq!(
            report["callbacks_by_state"],
            serde_json::json!({"delivered": 200}),
            "{report}"
        );
        for percentile in ["p50", "p90", "p99", "max"] {
            assert!(report["callback_ms"][percentile].is_number(), "{report}");
        }
        assert!(report["end_to_end_rate"].is_number(), "{report}");
    }
}

#[test]
fn a_key_the_gateway_does_not_know_has_every_message_refused_unauthorized() {
    let gateway = gateway();
    let report = bench_json(
        &gateway.url,
        &[
            "--api-key",
            "sgk_000000000000_unknown",
            "--count",
            "20",
            "--connections",
            "2",
        ],
    );

    assert_eq!(report["accepted"], 0, "{report}");
    assert_eq!(report["refused"], 20, "{report}");
    assert_eq!(
        report["refused_by_code"],
        serde_json::json!({"unauthorized": 20})
    );
    assert_eq!(report["answers_by_status"], serde_json::json!({"401": 20}));
}

#[test]
fn a_gateway_that_is_not_there_fails_before_sending_naming_the_url() {
    let url = format!("http://127.0.0.1:{}", common::free_port());
    let output = Command::new(env!("CARGO_BIN_EXE_smsgate"))
        .args([
            "bench",
            "http",
            "--url",
            &url,
            "--api-key",
            "sgk_x",
            "--count",
            "5",
        ])
        .env_remove("SMSGATE_API_KEY")
        .output()
        .expect("smsgate bench runs");

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&url) && stderr.contains("cannot connect"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "no report: {stderr}");
}
