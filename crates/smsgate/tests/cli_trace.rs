//! The `smsgate trace` command, run as the real binary against a temporary
//! data directory.

mod common;

use common::{smsgate, smsgate_json as json, smsgate_ok as ok};

#[test]
fn trace_account_switches_on_for_thirty_minutes_and_list_shows_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path();
    let said = ok(data, &["trace", "account", "acme"]);
    assert!(said.contains("trace on for account acme until"), "{said}");
    assert!(said.contains("(30 min)"), "{said}");

    let list = json(data, &["trace", "list"]);
    let switches = list.as_array().expect("an array");
    assert_eq!(switches.len(), 1, "{list}");
    assert_eq!(switches[0]["kind"], "account");
    assert_eq!(switches[0]["name"], "acme");
    let until = switches[0]["until"].as_str().expect("until as text");
    let until = humantime::parse_rfc3339(until).expect("RFC 3339");
    let left = until
        .duration_since(std::time::SystemTime::now())
        .expect("in the future");
    assert!(
        left.as_secs() > 29 * 60 && left.as_secs() <= 30 * 60,
        "{left:?}"
    );

    let table = ok(data, &["trace", "list"]);
    assert!(
        table.contains("account") && table.contains("acme"),
        "{table}"
    );
}

#[test]
fn trace_connector_takes_minutes_and_trace_off_ends_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path();
    let switch = json(data, &["trace", "connector", "carrier", "--minutes", "5"]);
    assert_eq!(switch["kind"], "connector");
    assert_eq!(switch["name"], "carrier");

    let off = json(data, &["trace", "off", "connector", "carrier"]);
    assert_eq!(off["was_on"], true);
    assert_eq!(json(data, &["trace", "list"]), serde_json::json!([]));
    let again = ok(data, &["trace", "off", "connector", "carrier"]);
    assert!(again.contains("no trace was on"), "{again}");
    assert!(ok(data, &["trace", "list"]).contains("no trace is on"));
}

#[test]
fn trace_refuses_more_than_a_day_or_no_time_at_all() {
    let dir = tempfile::tempdir().expect("temp dir");
    for minutes in ["0", "1441"] {
        let output = smsgate(
            dir.path(),
            &["trace", "account", "acme", "--minutes", minutes],
        );
        assert!(!output.status.success(), "--minutes {minutes} accepted");
    }
}
