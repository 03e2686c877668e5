//! Route choice, strategies, price tables and configuration errors.

use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;
use serde::Deserialize;

use super::*;

#[derive(Deserialize)]
struct Routes {
    #[serde(default)]
    routes: Vec<RouteConfig>,
}

fn configs(toml_text: &str) -> Vec<RouteConfig> {
    toml::from_str::<Routes>(toml_text)
        .expect("test routes parse")
        .routes
}

fn build_in(dir: &Path, toml_text: &str) -> Result<RouteTable, RouteError> {
    RouteTable::from_config(&configs(toml_text), dir)
}

fn table(toml_text: &str) -> RouteTable {
    build_in(Path::new("."), toml_text).expect("test routes build")
}

fn error(toml_text: &str) -> String {
    build_in(Path::new("."), toml_text)
        .expect_err("the routes are refused")
        .to_string()
}

/// A message with every field set to something no test filters on.
#[derive(Clone)]
struct Msg {
    account: &'static str,
    group: Option<&'static str>,
    source: &'static str,
    destination: &'static str,
    text: Option<&'static str>,
    data_coding: u8,
    tags: Vec<String>,
}

fn to(destination: &'static str) -> Msg {
    Msg {
        account: "acme",
        group: None,
        source: "ACME",
        destination,
        text: Some("hello"),
        data_coding: 0,
        tags: Vec::new(),
    }
}

impl Msg {
    fn input(&self) -> RouteInput<'_> {
        RouteInput {
            account: self.account,
            group: self.group,
            source: self.source,
            destination: self.destination,
            text: self.text,
            data_coding: self.data_coding,
            tags: &self.tags,
        }
    }
}

/// A Wednesday noon in UTC, for tests that do not care about time.
fn noon() -> Timestamp {
    at("2025-01-15T12:00:00Z")
}

fn at(text: &str) -> Timestamp {
    text.parse().expect("test timestamps parse")
}

fn route_at(table: &RouteTable, msg: &Msg, now: Timestamp) -> Option<String> {
    table
        .route_for(&msg.input(), now, &AllHealthy)
        .map(|decision| decision.route.to_string())
}

fn route(table: &RouteTable, msg: &Msg) -> Option<String> {
    route_at(table, msg, noon())
}

fn order(table: &RouteTable, msg: &Msg, health: &dyn ConnectorHealth) -> Vec<String> {
    table
        .route_for(&msg.input(), noon(), health)
        .expect("a route matches")
        .connectors
        .iter()
        .map(|name| name.to_string())
        .collect()
}

fn down(names: &'static [&'static str]) -> impl Fn(&str) -> bool {
    move |connector: &str| !names.contains(&connector)
}

/// A temporary directory holding price tables, by file name.
fn price_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write price table");
    }
    dir
}

// ---- prefixes and order ----

#[test]
fn a_prefix_picks_its_route() {
    let table = table(
        r#"
        [[routes]]
        name = "uk"
        prefix = "44"
        connectors = ["a"]
        [[routes]]
        name = "fr"
        prefix = "33"
        connectors = ["b"]
        "#,
    );
    assert_eq!(route(&table, &to("447700900123")).as_deref(), Some("uk"));
    assert_eq!(route(&table, &to("33612345678")).as_deref(), Some("fr"));
}

#[test]
fn the_longest_matching_prefix_wins_among_routes_of_equal_order() {
    let table = table(
        r#"
        [[routes]]
        name = "uk"
        prefix = "44"
        connectors = ["a"]
        [[routes]]
        name = "uk-mobile"
        prefix = ["4420", "447"]
        connectors = ["b"]
        "#,
    );
    assert_eq!(
        route(&table, &to("447700900123")).as_deref(),
        Some("uk-mobile")
    );
    assert_eq!(route(&table, &to("441632960000")).as_deref(), Some("uk"));
}

#[test]
fn a_lower_order_beats_a_longer_prefix() {
    let table = table(
        r#"
        [[routes]]
        name = "uk-mobile"
        prefix = "447"
        connectors = ["a"]
        [[routes]]
        name = "everything-first"
        order = 10
        prefix = "4"
        connectors = ["b"]
        "#,
    );
    assert_eq!(
        route(&table, &to("447700900123")).as_deref(),
        Some("everything-first")
    );
}

#[test]
fn equal_order_and_prefix_go_to_the_route_declared_first() {
    let table = table(
        r#"
        [[routes]]
        name = "first"
        prefix = "44"
        connectors = ["a"]
        [[routes]]
        name = "second"
        prefix = "44"
        connectors = ["b"]
        "#,
    );
    assert_eq!(route(&table, &to("447700900123")).as_deref(), Some("first"));
}

#[test]
fn a_longer_prefix_loses_when_another_filter_fails() {
    let table = table(
        r#"
        [[routes]]
        name = "uk-mobile-for-bigco"
        prefix = "447"
        account = "bigco"
        connectors = ["a"]
        [[routes]]
        name = "uk"
        prefix = "44"
        connectors = ["b"]
        "#,
    );
    assert_eq!(route(&table, &to("447700900123")).as_deref(), Some("uk"));
}

#[test]
fn prefixes_may_be_written_with_a_plus() {
    let table = table(
        r#"
        [[routes]]
        name = "uk"
        prefix = "+44"
        connectors = ["a"]
        "#,
    );
    assert_eq!(route(&table, &to("447700900123")).as_deref(), Some("uk"));
}

#[test]
fn a_route_without_filters_catches_the_rest() {
    let table = table(
        r#"
        [[routes]]
        name = "default"
        order = 1000
        connectors = ["a"]
        [[routes]]
        name = "uk"
        prefix = "44"
        connectors = ["b"]
        "#,
    );
    assert_eq!(route(&table, &to("447700900123")).as_deref(), Some("uk"));
    assert_eq!(
        route(&table, &to("14155551234")).as_deref(),
        Some("default")
    );
}

#[test]
fn a_default_route_of_equal_order_loses_to_any_matching_prefix() {
    let table = table(
        r#"
        [[routes]]
        name = "default"
        connectors = ["a"]
        [[routes]]
        name = "uk"
        prefix = "44"
        connectors = ["b"]
        "#,
    );
    assert_eq!(route(&table, &to("447700900123")).as_deref(), Some("uk"));
}

#[test]
fn no_matching_route_gives_none() {
    let table = table(
        r#"
        [[routes]]
        name = "uk"
        prefix = "44"
        connectors = ["a"]
        "#,
    );
    assert_eq!(route(&table, &to("14155551234")), None);
}

#[test]
fn an_empty_table_routes_nothing() {
    let table = table("");
    assert!(table.is_empty());
    assert_eq!(route(&table, &to("447700900123")), None);
}

// ---- filters ----

#[test]
fn the_account_filter_takes_one_or_a_list() {
    let table = table(
        r#"
        [[routes]]
        name = "one"
        account = "acme"
        connectors = ["a"]
        [[routes]]
        name = "list"
        account = ["bigco", "smallco"]
        connectors = ["b"]
        "#,
    );
    let mut msg = to("447700900123");
    assert_eq!(route(&table, &msg).as_deref(), Some("one"));
    msg.account = "smallco";
    assert_eq!(route(&table, &msg).as_deref(), Some("list"));
    msg.account = "other";
    assert_eq!(route(&table, &msg), None);
}

#[test]
fn the_group_filter_needs_an_account_in_that_group() {
    let table = table(
        r#"
        [[routes]]
        name = "resellers"
        group = "resellers"
        connectors = ["a"]
        "#,
    );
    let mut msg = to("447700900123");
    assert_eq!(route(&table, &msg), None);
    msg.group = Some("direct");
    assert_eq!(route(&table, &msg), None);
    msg.group = Some("resellers");
    assert_eq!(route(&table, &msg).as_deref(), Some("resellers"));
}

#[test]
fn the_source_filter_is_exact() {
    let table = table(
        r#"
        [[routes]]
        name = "bank"
        source = "MyBank"
        connectors = ["a"]
        "#,
    );
    let mut msg = to("447700900123");
    msg.source = "MyBank";
    assert_eq!(route(&table, &msg).as_deref(), Some("bank"));
    msg.source = "MyBank2";
    assert_eq!(route(&table, &msg), None);
}

#[test]
fn the_source_regex_is_searched_in_the_source() {
    let table = table(
        r#"
        [[routes]]
        name = "numeric-senders"
        source_regex = '^\d+$'
        connectors = ["a"]
        "#,
    );
    let mut msg = to("447700900123");
    msg.source = "447700900999";
    assert_eq!(route(&table, &msg).as_deref(), Some("numeric-senders"));
    msg.source = "ACME";
    assert_eq!(route(&table, &msg), None);
}

#[test]
fn the_destination_regex_is_searched_in_the_e164_digits() {
    let table = table(
        r#"
        [[routes]]
        name = "uk-test-range"
        destination_regex = '^4477009001\d\d$'
        connectors = ["a"]
        "#,
    );
    assert_eq!(
        route(&table, &to("447700900123")).as_deref(),
        Some("uk-test-range")
    );
    assert_eq!(route(&table, &to("447700800123")), None);
}

#[test]
fn the_text_regex_is_searched_in_the_decoded_text() {
    let table = table(
        r#"
        [[routes]]
        name = "otp"
        text_regex = '(?i)\bcode:? \d{4,8}\b'
        connectors = ["a"]
        "#,
    );
    let mut msg = to("447700900123");
    msg.text = Some("Your Code: 123456");
    assert_eq!(route(&table, &msg).as_deref(), Some("otp"));
    msg.text = Some("See you at 5");
    assert_eq!(route(&table, &msg), None);
}

#[test]
fn a_text_regex_never_matches_a_message_without_text() {
    let table = table(
        r#"
        [[routes]]
        name = "anything-with-text"
        text_regex = ''
        connectors = ["a"]
        "#,
    );
    let mut msg = to("447700900123");
    msg.text = None;
    assert_eq!(route(&table, &msg), None);
}

#[test]
fn the_data_coding_filter_takes_a_list_of_values() {
    let table = table(
        r#"
        [[routes]]
        name = "unicode"
        data_coding = [8, 24]
        connectors = ["a"]
        "#,
    );
    let mut msg = to("447700900123");
    assert_eq!(route(&table, &msg), None);
    msg.data_coding = 8;
    assert_eq!(route(&table, &msg).as_deref(), Some("unicode"));
}

#[test]
fn the_tag_filter_matches_any_tag_the_message_carries() {
    let table = table(
        r#"
        [[routes]]
        name = "otp"
        tag = ["otp", "2fa"]
        connectors = ["a"]
        "#,
    );
    let mut msg = to("447700900123");
    assert_eq!(route(&table, &msg), None);
    msg.tags = vec!["marketing".into(), "2fa".into()];
    assert_eq!(route(&table, &msg).as_deref(), Some("otp"));
}

#[test]
fn filters_combine_with_and() {
    let table = table(
        r#"
        [[routes]]
        name = "acme-uk-otp"
        prefix = "44"
        account = "acme"
        tag = "otp"
        connectors = ["a"]
        "#,
    );
    let mut msg = to("447700900123");
    msg.tags = vec!["otp".into()];
    assert_eq!(route(&table, &msg).as_deref(), Some("acme-uk-otp"));
    msg.account = "bigco";
    assert_eq!(route(&table, &msg), None);
}

// ---- time windows ----

#[test]
fn a_time_window_is_read_in_its_time_zone() {
    let table = table(
        r#"
        [[routes]]
        name = "office-hours"
        time = { from = "08:00", until = "20:00", timezone = "Europe/London" }
        connectors = ["a"]
        "#,
    );
    let msg = to("447700900123");
    // 07:30 UTC is 08:30 in London in summer (BST), but 07:30 in winter.
    assert_eq!(
        route_at(&table, &msg, at("2025-07-01T07:30:00Z")).as_deref(),
        Some("office-hours")
    );
    assert_eq!(route_at(&table, &msg, at("2025-01-07T07:30:00Z")), None);
    // 19:30 UTC in summer is 20:30 in London: past `until`.
    assert_eq!(route_at(&table, &msg, at("2025-07-01T19:30:00Z")), None);
}

#[test]
fn a_time_window_includes_from_and_excludes_until() {
    let table = table(
        r#"
        [[routes]]
        name = "office-hours"
        time = { from = "08:00", until = "20:00" }
        connectors = ["a"]
        "#,
    );
    let msg = to("447700900123");
    assert!(route_at(&table, &msg, at("2025-01-15T08:00:00Z")).is_some());
    assert!(route_at(&table, &msg, at("2025-01-15T19:59:59Z")).is_some());
    assert!(route_at(&table, &msg, at("2025-01-15T20:00:00Z")).is_none());
}

#[test]
fn a_time_window_may_cross_midnight() {
    let table = table(
        r#"
        [[routes]]
        name = "night"
        time = { from = "22:00", until = "06:00" }
        connectors = ["a"]
        "#,
    );
    let msg = to("447700900123");
    assert!(route_at(&table, &msg, at("2025-01-15T23:15:00Z")).is_some());
    assert!(route_at(&table, &msg, at("2025-01-16T05:59:00Z")).is_some());
    assert!(route_at(&table, &msg, at("2025-01-16T06:00:00Z")).is_none());
    assert!(route_at(&table, &msg, at("2025-01-16T12:00:00Z")).is_none());
}

#[test]
fn the_days_of_a_window_are_local_days() {
    let table = table(
        r#"
        [[routes]]
        name = "tokyo-weekdays"
        time = { days = ["mon", "tue", "wed", "thu", "fri"], timezone = "Asia/Tokyo" }
        connectors = ["a"]
        "#,
    );
    let msg = to("819012345678");
    // Sunday 20:00 UTC is Monday 05:00 in Tokyo.
    assert!(route_at(&table, &msg, at("2025-01-19T20:00:00Z")).is_some());
    // Friday 16:00 UTC is Saturday 01:00 in Tokyo.
    assert!(route_at(&table, &msg, at("2025-01-17T16:00:00Z")).is_none());
}

#[test]
fn the_after_midnight_part_of_a_window_belongs_to_the_day_it_started() {
    let table = table(
        r#"
        [[routes]]
        name = "friday-night"
        time = { days = ["fri"], from = "22:00", until = "06:00", timezone = "Europe/Paris" }
        connectors = ["a"]
        "#,
    );
    let msg = to("33612345678");
    // Friday 23:30 and Saturday 03:00 in Paris (UTC+1 in January).
    assert!(route_at(&table, &msg, at("2025-01-17T22:30:00Z")).is_some());
    assert!(route_at(&table, &msg, at("2025-01-18T02:00:00Z")).is_some());
    // Friday 03:00 in Paris belongs to Thursday night.
    assert!(route_at(&table, &msg, at("2025-01-17T02:00:00Z")).is_none());
}

// ---- strategies ----

#[test]
fn failover_keeps_the_declared_order() {
    let table = table(
        r#"
        [[routes]]
        name = "all"
        connectors = ["a", "b", "c"]
        "#,
    );
    assert_eq!(
        order(&table, &to("447700900123"), &AllHealthy),
        ["a", "b", "c"]
    );
}

#[test]
fn failover_moves_unhealthy_connectors_last() {
    let table = table(
        r#"
        [[routes]]
        name = "all"
        strategy = "failover"
        connectors = ["a", "b", "c"]
        "#,
    );
    assert_eq!(
        order(&table, &to("447700900123"), &down(&["a"])),
        ["b", "c", "a"]
    );
}

const LEAST_COST: &str = r#"
    [[routes]]
    name = "cheapest"
    strategy = "least_cost"
    connectors = ["a", "b", "c"]
    price_tables = { a = "a.csv", b = "b.csv", c = "c.csv" }
"#;

fn least_cost_dir() -> tempfile::TempDir {
    price_dir(&[
        ("a.csv", "prefix,price\n44,0.031\n447,0.030\n"),
        ("b.csv", "# provider b\n44,0.029\n4477,0.040\n"),
        ("c.csv", "33,0.01\n"),
    ])
}

#[test]
fn least_cost_orders_by_the_price_of_the_longest_prefix() {
    let dir = least_cost_dir();
    let table = build_in(dir.path(), LEAST_COST).expect("builds");
    // 4476: a has 447 (0.030), b has only 44 (0.029).
    assert_eq!(order(&table, &to("447612345678"), &AllHealthy), ["b", "a"]);
    // 4477: b's 4477 (0.040) is dearer than a's 447 (0.030).
    assert_eq!(order(&table, &to("447712345678"), &AllHealthy), ["a", "b"]);
}

#[test]
fn least_cost_ties_keep_the_declared_order() {
    let dir = price_dir(&[("x.csv", "44,0.02\n"), ("y.csv", "44,0.020000\n")]);
    let table = build_in(
        dir.path(),
        r#"
        [[routes]]
        name = "tie"
        strategy = "least_cost"
        connectors = ["y", "x"]
        price_tables = { x = "x.csv", y = "y.csv" }
        "#,
    )
    .expect("builds");
    assert_eq!(order(&table, &to("447712345678"), &AllHealthy), ["y", "x"]);
}

#[test]
fn least_cost_leaves_out_connectors_without_a_price() {
    let dir = least_cost_dir();
    let table = build_in(dir.path(), LEAST_COST).expect("builds");
    assert_eq!(order(&table, &to("33612345678"), &AllHealthy), ["c"]);
}

#[test]
fn least_cost_puts_an_unhealthy_cheapest_connector_last() {
    let dir = least_cost_dir();
    let table = build_in(dir.path(), LEAST_COST).expect("builds");
    assert_eq!(
        order(&table, &to("447612345678"), &down(&["b"])),
        ["a", "b"]
    );
}

#[test]
fn a_least_cost_route_with_no_price_for_the_destination_passes_to_the_next_route() {
    let dir = least_cost_dir();
    let routes = format!(
        "{LEAST_COST}\n[[routes]]\nname = \"fallback\"\norder = 200\nconnectors = [\"z\"]\n"
    );
    let table = build_in(dir.path(), &routes).expect("builds");
    assert_eq!(
        route(&table, &to("14155551234")).as_deref(),
        Some("fallback")
    );
}

#[test]
fn weighted_over_a_full_cycle_gives_each_connector_exactly_its_weight() {
    let table = table(
        r#"
        [[routes]]
        name = "split"
        strategy = "weighted"
        connectors = ["a", "b", "c"]
        weights = [5, 3, 2]
        "#,
    );
    let msg = to("447700900123");
    let mut counts = std::collections::HashMap::new();
    for _ in 0..10 * 7 {
        let first = order(&table, &msg, &AllHealthy).remove(0);
        *counts.entry(first).or_insert(0) += 1;
    }
    assert_eq!(counts["a"], 35);
    assert_eq!(counts["b"], 21);
    assert_eq!(counts["c"], 14);
}

#[test]
fn weighted_interleaves_picks_rather_than_bursting() {
    let table = table(
        r#"
        [[routes]]
        name = "split"
        strategy = "weighted"
        connectors = ["a", "b", "c"]
        weights = [5, 1, 1]
        "#,
    );
    let msg = to("447700900123");
    let firsts: Vec<String> = (0..7)
        .map(|_| order(&table, &msg, &AllHealthy).remove(0))
        .collect();
    assert_eq!(firsts, ["a", "a", "b", "a", "c", "a", "a"]);
}

#[test]
fn weighted_lists_the_other_healthy_connectors_then_the_unhealthy_ones() {
    let table = table(
        r#"
        [[routes]]
        name = "split"
        strategy = "weighted"
        connectors = ["a", "b", "c"]
        weights = [1, 10, 1]
        "#,
    );
    let msg = to("447700900123");
    assert_eq!(order(&table, &msg, &down(&["b"])), ["a", "c", "b"]);
    assert_eq!(
        order(&table, &msg, &down(&["a", "b", "c"])),
        ["a", "b", "c"]
    );
}

#[test]
fn weighted_without_weights_shares_equally() {
    let table = table(
        r#"
        [[routes]]
        name = "split"
        strategy = "weighted"
        connectors = ["a", "b"]
        "#,
    );
    let msg = to("447700900123");
    let firsts: Vec<String> = (0..4)
        .map(|_| order(&table, &msg, &AllHealthy).remove(0))
        .collect();
    assert_eq!(firsts, ["a", "b", "a", "b"]);
}

#[test]
fn weighted_state_is_shared_by_concurrent_callers() {
    let table = table(
        r#"
        [[routes]]
        name = "split"
        strategy = "weighted"
        connectors = ["a", "b"]
        weights = [3, 1]
        "#,
    );
    let msg = to("447700900123");
    let firsts: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    (0..100)
                        .map(|_| order(&table, &msg, &AllHealthy).remove(0))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().expect("worker"))
            .collect()
    });
    assert_eq!(firsts.iter().filter(|first| *first == "a").count(), 300);
    assert_eq!(firsts.iter().filter(|first| *first == "b").count(), 100);
}

#[test]
fn explaining_does_not_move_the_round_robin_on() {
    let table = table(
        r#"
        [[routes]]
        name = "split"
        strategy = "weighted"
        connectors = ["a", "b"]
        "#,
    );
    let msg = to("447700900123");
    for _ in 0..3 {
        let explained = table.explain(&msg.input(), noon(), &AllHealthy);
        assert_eq!(&*explained.decision.expect("routed").connectors[0], "a");
    }
    assert_eq!(order(&table, &msg, &AllHealthy)[0], "a");
    assert_eq!(order(&table, &msg, &AllHealthy)[0], "b");
}

// ---- actions and explanations ----

#[test]
fn a_decision_carries_the_route_actions() {
    let table = table(
        r#"
        [[routes]]
        name = "uk"
        connectors = ["a"]
        sender = "ACME"
        source_ton = 5
        source_npi = 0
        validity_cap = "6h"
        "#,
    );
    let decision = table
        .route_for(&to("447700900123").input(), noon(), &AllHealthy)
        .expect("routed");
    assert_eq!(decision.actions.sender.as_deref(), Some("ACME"));
    assert_eq!(decision.actions.source_ton, Some(5));
    assert_eq!(decision.actions.source_npi, Some(0));
    assert_eq!(
        decision.actions.validity_cap,
        Some(Duration::from_secs(6 * 3600))
    );
}

#[test]
fn the_explanation_agrees_with_the_decision() {
    let dir = least_cost_dir();
    let routes = format!(
        r#"{LEAST_COST}
        [[routes]]
        name = "uk"
        prefix = "44"
        connectors = ["a", "b"]
        [[routes]]
        name = "bigco"
        order = 50
        account = "bigco"
        connectors = ["c"]
        [[routes]]
        name = "default"
        order = 1000
        connectors = ["z"]
        "#
    );
    let table = build_in(dir.path(), &routes).expect("builds");
    for destination in ["447712345678", "33612345678", "14155551234", "4412"] {
        for account in ["acme", "bigco"] {
            let mut msg = to(destination);
            msg.account = account;
            let explained = table.explain(&msg.input(), noon(), &down(&["a"]));
            let decided = table.route_for(&msg.input(), noon(), &down(&["a"]));
            assert_eq!(explained.decision, decided, "{destination} from {account}");
        }
    }
}

#[test]
fn the_explanation_says_why_each_route_did_or_did_not_match() {
    let table = table(
        r#"
        [[routes]]
        name = "uk"
        prefix = "44"
        connectors = ["a"]
        [[routes]]
        name = "uk-mobile"
        prefix = "447"
        connectors = ["b"]
        [[routes]]
        name = "fr"
        prefix = "33"
        connectors = ["c"]
        [[routes]]
        name = "bigco"
        account = "bigco"
        connectors = ["c"]
        "#,
    );
    let explained = table.explain(&to("447700900123").input(), noon(), &AllHealthy);
    let reason = |name: &str| {
        let verdict = explained
            .routes
            .iter()
            .find(|verdict| verdict.route == name)
            .expect("every route has a verdict");
        (verdict.outcome, verdict.reason.clone())
    };
    assert_eq!(reason("uk-mobile").0, Outcome::Chosen);
    assert!(
        reason("uk-mobile").1.contains("447"),
        "{:?}",
        reason("uk-mobile")
    );
    assert_eq!(reason("uk").0, Outcome::Outranked);
    assert!(
        reason("uk").1.contains("longer matching prefix"),
        "{:?}",
        reason("uk")
    );
    assert_eq!(reason("fr").0, Outcome::NoMatch);
    assert!(
        reason("fr").1.contains("does not start with 33"),
        "{:?}",
        reason("fr")
    );
    assert!(
        reason("bigco").1.contains("\"acme\" is not bigco"),
        "{:?}",
        reason("bigco")
    );
    let lines = explained.lines().join("\n");
    assert!(lines.contains("route: uk-mobile"), "{lines}");
}

#[test]
fn the_explanation_shows_the_prices_considered() {
    let dir = least_cost_dir();
    let table = build_in(dir.path(), LEAST_COST).expect("builds");
    let explained = table.explain(&to("447612345678").input(), noon(), &AllHealthy);
    let lines = explained.lines().join("\n");
    assert!(
        lines.contains("b: healthy, price 0.029 (prefix 44"),
        "{lines}"
    );
    assert!(
        lines.contains("a: healthy, price 0.03 (prefix 447"),
        "{lines}"
    );
    assert!(lines.contains("c: healthy, no price"), "{lines}");
}

#[test]
fn a_time_mismatch_is_explained_in_local_time() {
    let table = table(
        r#"
        [[routes]]
        name = "office-hours"
        time = { days = ["mon"], from = "08:00", until = "20:00", timezone = "Europe/London" }
        connectors = ["a"]
        "#,
    );
    let explained = table.explain(
        &to("447700900123").input(),
        at("2025-07-01T21:00:00Z"),
        &AllHealthy,
    );
    assert_eq!(
        explained.routes[0].reason,
        "tue 22:00 Europe/London is outside mon 08:00-20:00 Europe/London"
    );
}

// ---- configuration errors ----

#[test]
fn an_unknown_strategy_is_refused_by_name() {
    let error = toml::from_str::<Routes>(
        "[[routes]]\nname = \"r\"\nconnectors = [\"a\"]\nstrategy = \"cheapest\"\n",
    )
    .err()
    .expect("refused")
    .to_string();
    assert!(error.contains("unknown variant `cheapest`"), "{error}");
}

#[test]
fn an_unknown_route_key_is_refused() {
    let error = toml::from_str::<Routes>(
        "[[routes]]\nname = \"r\"\nconnectors = [\"a\"]\nprefixes = [\"44\"]\n",
    )
    .err()
    .expect("refused")
    .to_string();
    assert!(error.contains("unknown field `prefixes`"), "{error}");
}

#[test]
fn weights_must_match_the_connectors() {
    let error = error(
        "[[routes]]\nname = \"r\"\nstrategy = \"weighted\"\nconnectors = [\"a\", \"b\"]\nweights = [1, 2, 3]\n",
    );
    assert!(
        error.contains("route \"r\": weights has 3 entries but connectors has 2"),
        "{error}"
    );
}

#[test]
fn weights_need_the_weighted_strategy() {
    let error = error("[[routes]]\nname = \"r\"\nconnectors = [\"a\"]\nweights = [1]\n");
    assert!(error.contains("strategy is failover"), "{error}");
}

#[test]
fn a_zero_weight_is_refused() {
    let error = error(
        "[[routes]]\nname = \"r\"\nstrategy = \"weighted\"\nconnectors = [\"a\", \"b\"]\nweights = [1, 0]\n",
    );
    assert!(error.contains("at least 1"), "{error}");
}

#[test]
fn a_bad_regex_is_refused_naming_the_setting() {
    let error = error("[[routes]]\nname = \"r\"\ntext_regex = \"(\"\nconnectors = [\"a\"]\n");
    assert!(
        error.starts_with("route \"r\": invalid text_regex"),
        "{error}"
    );
}

#[test]
fn route_names_must_be_unique() {
    let error = error(
        "[[routes]]\nname = \"r\"\nconnectors = [\"a\"]\n[[routes]]\nname = \"r\"\nconnectors = [\"b\"]\n",
    );
    assert!(error.contains("names must be unique"), "{error}");
}

#[test]
fn a_route_needs_connectors() {
    let error = error("[[routes]]\nname = \"r\"\nconnectors = []\n");
    assert!(error.contains("connectors is empty"), "{error}");
}

#[test]
fn a_prefix_must_be_digits() {
    let error = error("[[routes]]\nname = \"r\"\nprefix = \"44x\"\nconnectors = [\"a\"]\n");
    assert!(error.contains("prefix \"44x\" is not digits"), "{error}");
}

#[test]
fn bad_time_windows_are_refused() {
    for (window, expected) in [
        (
            "{ from = \"8am\" }",
            "time.from: \"8am\" is not a time of day",
        ),
        (
            "{ until = \"24:30\" }",
            "time.until: \"24:30\" is not a time of day",
        ),
        ("{ days = [\"mo\"] }", "time.days: \"mo\" is not one of"),
        ("{ from = \"08:00\", until = \"08:00\" }", "an empty window"),
        (
            "{ timezone = \"Mars/Olympus\" }",
            "\"Mars/Olympus\" is not an IANA time zone",
        ),
    ] {
        let error = error(&format!(
            "[[routes]]\nname = \"r\"\ntime = {window}\nconnectors = [\"a\"]\n"
        ));
        assert!(error.contains(expected), "{window}: {error}");
    }
}

#[test]
fn least_cost_needs_a_price_table_per_connector() {
    let error = error(
        "[[routes]]\nname = \"r\"\nstrategy = \"least_cost\"\nconnectors = [\"a\", \"b\"]\nprice_tables = { a = \"a.csv\" }\n",
    );
    assert!(
        error.contains("needs a price table for connector \"b\""),
        "{error}"
    );
}

#[test]
fn a_price_table_for_a_connector_not_on_the_route_is_refused() {
    let error = error(
        "[[routes]]\nname = \"r\"\nstrategy = \"least_cost\"\nconnectors = [\"a\"]\nprice_tables = { a = \"a.csv\", b = \"b.csv\" }\n",
    );
    assert!(error.contains("\"b\", which is not one of"), "{error}");
}

#[test]
fn a_missing_price_file_is_named() {
    let dir = price_dir(&[]);
    let error = build_in(
        dir.path(),
        "[[routes]]\nname = \"r\"\nstrategy = \"least_cost\"\nconnectors = [\"a\"]\nprice_tables = { a = \"missing.csv\" }\n",
    )
    .expect_err("refused")
    .to_string();
    assert!(error.starts_with("cannot read price table "), "{error}");
    assert!(error.contains("missing.csv"), "{error}");
}

#[test]
fn a_bad_price_line_is_named_with_file_and_line() {
    let dir = price_dir(&[("a.csv", "prefix,price\n44,0.03\n# comment\n\n33;0.02\n")]);
    let error = build_in(
        dir.path(),
        "[[routes]]\nname = \"r\"\nstrategy = \"least_cost\"\nconnectors = [\"a\"]\nprice_tables = { a = \"a.csv\" }\n",
    )
    .expect_err("refused")
    .to_string();
    assert!(
        error.contains("a.csv, line 5: expected `prefix,price`"),
        "{error}"
    );
}

#[test]
fn checking_routes_does_not_read_price_tables() {
    let routes = configs(
        "[[routes]]\nname = \"r\"\nstrategy = \"least_cost\"\nconnectors = [\"a\"]\nprice_tables = { a = \"nowhere.csv\" }\n",
    );
    check_routes(&routes).expect("consistent without the files");
}

#[test]
fn the_configuration_validates_its_routes() {
    let config: crate::config::Config =
        toml::from_str("[[routes]]\nname = \"r\"\nconnectors = []\n").expect("parses");
    let error = config.validate().expect_err("refused").to_string();
    assert!(
        error.contains("route \"r\": connectors is empty"),
        "{error}"
    );
}

// ---- price tables ----

#[test]
fn prices_are_read_as_exact_micro_units() {
    assert_eq!(Price::parse("0.031"), Ok(Price::from_micros(31_000)));
    assert_eq!(Price::parse("2"), Ok(Price::from_micros(2_000_000)));
    assert_eq!(Price::parse("0.000001"), Ok(Price::from_micros(1)));
    assert_eq!(Price::parse("12.5"), Ok(Price::from_micros(12_500_000)));
}

#[test]
fn prices_that_are_not_plain_decimals_are_refused() {
    for bad in [
        "",
        "-0.1",
        "0.0000001",
        "1e-3",
        ".5",
        "5.",
        "0,03",
        "99999999999999999",
    ] {
        assert!(Price::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn prices_are_shown_without_trailing_zeros() {
    assert_eq!(Price::from_micros(31_000).to_string(), "0.031");
    assert_eq!(Price::from_micros(2_000_000).to_string(), "2");
    assert_eq!(Price::from_micros(1).to_string(), "0.000001");
}

#[test]
fn a_price_table_skips_its_header_comments_and_blank_lines() {
    let table = PriceTable::parse(
        "\u{feff}Prefix,Price\n# UK\n44, 0.031  # all UK\n\n+447,0.029\n",
        Path::new("p.csv"),
    )
    .expect("parses");
    assert_eq!(table.prefix_count(), 2);
    assert_eq!(
        table.price_for("447700900123"),
        Some(("447", Price::from_micros(29_000)))
    );
    assert_eq!(
        table.price_for("441632960000"),
        Some(("44", Price::from_micros(31_000)))
    );
    assert_eq!(table.price_for("33612345678"), None);
}

#[test]
fn a_prefix_priced_twice_is_refused() {
    let error = PriceTable::parse("44,0.03\n33,0.02\n44,0.01\n", Path::new("p.csv"))
        .expect_err("refused")
        .to_string();
    assert_eq!(
        error,
        "price table p.csv, line 3: prefix 44 is priced twice (first on line 1)"
    );
}

#[test]
fn a_price_table_without_prices_is_refused() {
    let error = PriceTable::parse("prefix,price\n# nothing yet\n", Path::new("p.csv"))
        .expect_err("refused")
        .to_string();
    assert!(error.contains("the table has no prices"), "{error}");
}

#[test]
fn a_header_after_data_is_a_bad_line() {
    let error = PriceTable::parse("44,0.03\nprefix,price\n", Path::new("p.csv"))
        .expect_err("refused")
        .to_string();
    assert!(error.contains("line 2: prefix \"prefix\""), "{error}");
}

#[test]
fn the_documented_routes_example_builds() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs");
    let text = std::fs::read_to_string(docs.join("routes.example.toml"))
        .expect("docs/routes.example.toml exists");
    let config: crate::config::Config = toml::from_str(&text).expect("it parses");
    config.validate().expect("it validates");
    let table = RouteTable::from_config(&config.routes, &docs).expect("its price tables load");
    assert!(table.len() >= 5);
    let msg = to("447700900123");
    assert!(table.route_for(&msg.input(), noon(), &AllHealthy).is_some());
}
