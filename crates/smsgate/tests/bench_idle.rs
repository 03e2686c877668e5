//! `smsgate bench smpp --idle` against a real `smsgate serve`: sessions
//! bound a few at a time, held idle while the gateway's enquire_link keeps
//! them alive, and binds the account refuses counted rather than fatal.

mod common;

use std::path::Path;
use std::process::{Command, Output};

/// A gateway config: SMPP on `port`, a short enquire_link interval and
/// inactivity timeout (so a one-second hold spans several of each: a
/// session that did not answer enquire_link would be closed), and every
/// message to a simulator.
fn gateway_config(port: u16) -> String {
    format!(
        "[smpp]\nlisten = [\"127.0.0.1:{port}\"]\ntls = false\n\
         enquire_link_interval = \"100ms\"\nresponse_timeout = \"300ms\"\n\
         inactivity_timeout = \"400ms\"\n\
         [http]\nlisten = [\"127.0.0.1:0\"]\n\
         [connectors.sim]\nkind = \"sim\"\nlatency = \"0s\"\nreceipt_delay = \"0s\"\n\
         [[routes]]\nname = \"all\"\nconnectors = [\"sim\"]\n"
    )
}

/// The account `acme` (password `pw`) with room for `max_binds` sessions.
fn add_account(data_dir: &Path, max_binds: u32) {
    common::smsgate_ok(
        data_dir,
        &[
            "account",
            "add",
            "acme",
            "--password",
            "pw",
            "--credits",
            "100",
            "--max-binds",
            &max_binds.to_string(),
        ],
    );
}

/// Runs `smsgate bench smpp --idle IDLE --binds BINDS --json` as `acme`
/// against 127.0.0.1:`port`, 5 binds at a time.
fn bench_idle(port: u16, idle: &str, binds: u32) -> Output {
    Command::new(env!("CARGO_BIN_EXE_smsgate"))
        .args(["bench", "smpp", "--host"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["--system-id", "acme", "--password", "pw", "--idle", idle])
        .args(["--binds", &binds.to_string(), "--bind-concurrency", "5"])
        .arg("--json")
        .env_remove("SMSGATE_BENCH_PASSWORD")
        .output()
        .expect("smsgate bench runs")
}

/// The one JSON line a run printed.
fn report(output: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(stdout.trim().lines().count(), 1, "one JSON line: {stdout}");
    serde_json::from_str(stdout.trim()).expect("a JSON report")
}

#[test]
fn idle_bench_binds_all_20_sessions_and_keeps_them_bound_through_the_gateways_enquire_links() {
    let dir = tempfile::tempdir().expect("tempdir");
    add_account(dir.path(), 20);
    let port = common::free_port();
    let _server = common::serve(dir.path(), &gateway_config(port), port);

    let output = bench_idle(port, "1s", 20);

    assert!(
        output.status.success(),
        "bench failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = report(&output);
    assert_eq!(report["mode"], "idle", "{report}");
    assert_eq!(report["sessions"], 20, "{report}");
    assert_eq!(report["bound"], 20, "{report}");
    assert_eq!(report["failed"], 0, "{report}");
    assert_eq!(report["sessions_lost"], 0, "{report}");
    assert!(report["first_failure"].is_null(), "{report}");
    let held = report["idle_s"].as_f64().expect("idle_s");
    assert!(held >= 1.0, "held for the whole second: {report}");
}

#[test]
fn idle_bench_past_the_accounts_max_binds_reports_the_refused_binds_and_exits_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    add_account(dir.path(), 3);
    let port = common::free_port();
    let _server = common::serve(dir.path(), &gateway_config(port), port);

    let output = bench_idle(port, "200ms", 5);

    assert_eq!(output.status.code(), Some(1), "not every session bound");
    let report = report(&output);
    assert_eq!(report["bound"], 3, "{report}");
    assert_eq!(report["failed"], 2, "{report}");
    assert_eq!(report["sessions_lost"], 0, "{report}");
    let failure = report["first_failure"].as_str().expect("a first failure");
    assert!(failure.contains("was refused"), "{failure}");
}
