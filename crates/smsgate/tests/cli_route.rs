//! `smsgate route test` and `smsgate route list`, run as the real binary
//! against a temporary configuration.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const CONFIG: &str = r#"
[[routes]]
name = "uk-mobile"
prefix = "447"
strategy = "least_cost"
connectors = ["alpha", "beta"]
price_tables = { alpha = "prices/alpha.csv", beta = "prices/beta.csv" }

[[routes]]
name = "uk"
prefix = "44"
connectors = ["alpha", "beta"]
sender = "ACME"

[[routes]]
name = "night"
order = 50
time = { from = "22:00", until = "06:00", timezone = "Europe/London" }
connectors = ["night-owl"]

[[routes]]
name = "default"
order = 1000
connectors = ["sim"]
"#;

/// A directory with smsgate.toml and its price tables.
fn config_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("prices")).unwrap();
    std::fs::write(
        dir.path().join("prices/alpha.csv"),
        "prefix,price\n447,0.031\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("prices/beta.csv"), "44,0.029\n").unwrap();
    let config = dir.path().join("smsgate.toml");
    std::fs::write(&config, CONFIG).unwrap();
    (dir, config)
}

/// Runs smsgate from `cwd` (so a relative price table path would only
/// resolve against the config file's directory, not by chance).
fn smsgate(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_smsgate"))
        .current_dir(cwd)
        .args(args)
        .env_remove("SMSGATE_CONFIG")
        .output()
        .unwrap()
}

fn ok(cwd: &Path, args: &[&str]) -> String {
    let output = smsgate(cwd, args);
    assert!(
        output.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn route_test_prints_the_route_the_connector_order_and_why() {
    let (_dir, config) = config_dir();
    let elsewhere = tempfile::tempdir().unwrap();
    let out = ok(
        elsewhere.path(),
        &[
            "route",
            "test",
            "--config",
            config.to_str().unwrap(),
            "--from",
            "ACME",
            "--to",
            "+44 7912 345678",
            "--at",
            "2025-01-15T12:00:00Z",
        ],
    );
    assert!(
        out.contains("destination: +447912345678 (a valid number, calling code 44)"),
        "{out}"
    );
    assert!(
        out.contains("route: uk-mobile (order 100, strategy least_cost)"),
        "{out}"
    );
    assert!(
        out.contains("connectors, in the order to try: beta, alpha"),
        "{out}"
    );
    assert!(
        out.contains("beta: healthy, price 0.029 (prefix 44"),
        "{out}"
    );
    assert!(out.contains("outranked uk (order 100): matched too, but uk-mobile has a longer matching prefix (447 over 44)"), "{out}");
    assert!(out.contains("no match  night (order 50): wed 12:00 Europe/London is outside 22:00-06:00 Europe/London"), "{out}");
}

#[test]
fn route_test_honours_the_time_and_unhealthy_connectors() {
    let (dir, config) = config_dir();
    let config = config.to_str().unwrap();
    let night = ok(
        dir.path(),
        &[
            "route",
            "test",
            "-c",
            config,
            "--from",
            "X",
            "--to",
            "+447911123456",
            "--at",
            "2025-01-15T23:00:00Z",
        ],
    );
    assert!(night.contains("route: night"), "{night}");
    let unhealthy = ok(
        dir.path(),
        &[
            "route",
            "test",
            "-c",
            config,
            "--from",
            "X",
            "--to",
            "+447911123456",
            "--at",
            "2025-01-15T12:00:00Z",
            "--unhealthy",
            "beta",
        ],
    );
    assert!(
        unhealthy.contains("connectors, in the order to try: alpha, beta"),
        "{unhealthy}"
    );
}

#[test]
fn route_test_json_is_for_scripts() {
    let (dir, config) = config_dir();
    let out = ok(
        dir.path(),
        &[
            "route",
            "test",
            "--json",
            "--config",
            config.to_str().unwrap(),
            "--from",
            "ACME",
            "--to",
            "+442071838750",
            "--at",
            "2025-01-15T12:00:00Z",
        ],
    );
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["route"], "uk");
    assert_eq!(json["strategy"], "failover");
    assert_eq!(json["connectors"], serde_json::json!(["alpha", "beta"]));
    assert_eq!(json["actions"]["sender"], "ACME");
    assert_eq!(json["destination"], "442071838750");
    assert_eq!(json["routes"][0]["route"], "night");
    assert_eq!(json["routes"][0]["outcome"], "no_match");
}

#[test]
fn route_test_without_a_match_says_no_route() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("smsgate.toml");
    std::fs::write(
        &config,
        "[[routes]]\nname = \"uk\"\nprefix = \"44\"\nconnectors = [\"a\"]\n",
    )
    .unwrap();
    let out = ok(
        dir.path(),
        &[
            "route",
            "test",
            "--json",
            "--from",
            "X",
            "--to",
            "+14155551234",
        ],
    );
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["route"], serde_json::Value::Null);
    assert_eq!(json["connectors"], serde_json::json!([]));
}

#[test]
fn route_test_refuses_a_destination_that_is_not_a_number() {
    let (dir, config) = config_dir();
    let output = smsgate(
        dir.path(),
        &[
            "route",
            "test",
            "-c",
            config.to_str().unwrap(),
            "--from",
            "X",
            "--to",
            "call me",
        ],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("is not an international number"),
        "{stderr}"
    );
}

#[test]
fn route_list_prints_the_routes_in_evaluation_order() {
    let (dir, config) = config_dir();
    let out = ok(
        dir.path(),
        &["route", "list", "--config", config.to_str().unwrap()],
    );
    let position = |needle: &str| {
        out.find(needle)
            .unwrap_or_else(|| panic!("{needle} in {out}"))
    };
    assert!(position("1. night (order 50)") < position("2. uk-mobile (order 100)"));
    assert!(position("2. uk-mobile") < position("3. uk (order 100)"));
    assert!(position("3. uk") < position("4. default (order 1000)"));
    assert!(out.contains("filters: none (a default route)"), "{out}");
    assert!(out.contains("price table beta: "), "{out}");
    assert!(out.contains("actions: sender ACME"), "{out}");

    let json: serde_json::Value = serde_json::from_str(&ok(
        dir.path(),
        &[
            "route",
            "list",
            "--json",
            "--config",
            config.to_str().unwrap(),
        ],
    ))
    .unwrap();
    let names: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|route| route["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["night", "uk-mobile", "uk", "default"]);
}

#[test]
fn route_commands_report_a_bad_price_table_with_file_and_line() {
    let (dir, config) = config_dir();
    std::fs::write(dir.path().join("prices/beta.csv"), "44,0.029\n33,cheap\n").unwrap();
    let output = smsgate(
        dir.path(),
        &["route", "list", "-c", config.to_str().unwrap()],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("beta.csv, line 2: price \"cheap\""),
        "{stderr}"
    );
}

#[test]
fn route_test_refuses_a_number_acceptance_would_refuse_instead_of_routing_it() {
    let (dir, config) = config_dir();
    let output = smsgate(
        dir.path(),
        &[
            "route",
            "test",
            "-c",
            config.to_str().unwrap(),
            "--from",
            "X",
            "--to",
            "+99912345",
        ],
    );
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "no route shown");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("+99912345 is not a valid number") && stderr.contains("ESME_RINVDSTADR"),
        "{stderr}"
    );
}

#[test]
fn route_list_and_test_warn_of_a_route_naming_an_undeclared_connector() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("smsgate.toml");
    std::fs::write(
        &config,
        "[connectors.a]\nkind = \"sim\"\n\
         [[routes]]\nname = \"uk\"\nprefix = \"44\"\nconnectors = [\"a\", \"ghost\"]\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let warning = "connector ghost is not declared ([connectors.ghost] is missing)";
    let list = ok(dir.path(), &["route", "list", "-c", config]);
    assert!(list.contains(warning), "{list}");
    assert!(!list.contains("connector a is not declared"), "{list}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(dir.path(), &["route", "list", "--json", "-c", config])).unwrap();
    assert_eq!(
        json[0]["undeclared_connectors"],
        serde_json::json!(["ghost"])
    );
    let test = ok(
        dir.path(),
        &[
            "route",
            "test",
            "-c",
            config,
            "--from",
            "X",
            "--to",
            "+447911123456",
        ],
    );
    assert!(test.contains(warning), "{test}");
}
