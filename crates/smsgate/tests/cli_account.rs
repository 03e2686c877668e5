//! The `smsgate account` and `smsgate message` commands, run as the real
//! binary against a temporary data directory.

mod common;

use std::process::Command;

use common::{smsgate_fails as fails, smsgate_json as json, smsgate_ok as ok};

#[test]
fn add_then_show_and_list_report_the_settings() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    ok(
        data,
        &[
            "account",
            "add",
            "acme",
            "--password",
            "Secr3t",
            "--credits",
            "100",
            "--tps",
            "50",
            "--max-binds",
            "2",
            "--window",
            "20",
            "--deliver-window",
            "50",
            "--bind-types",
            "tx,trx",
            "--allow-ip",
            "192.0.2.0/24",
            "--allow-ip",
            "2001:db8::1",
            "--sender",
            "ACME",
            "--sender",
            "49*",
            "--default-sender",
            "ACME",
            "--address-range",
            "4930*",
            "--group",
            "gold",
        ],
    );
    assert!(data.join("smsgate.db").exists());

    let shown = json(data, &["account", "show", "acme"]);
    assert_eq!(shown["system_id"], "acme");
    assert_eq!(shown["enabled"], true);
    assert_eq!(shown["credits"], 100);
    assert_eq!(shown["tps"], 50);
    assert_eq!(shown["max_binds"], 2);
    assert_eq!(shown["window"], 20);
    assert_eq!(shown["deliver_window"], 50);
    assert_eq!(
        shown["bind_types"],
        serde_json::json!(["transmitter", "transceiver"])
    );
    assert_eq!(
        shown["allowed_ips"],
        serde_json::json!(["192.0.2.0/24", "2001:db8::1/128"])
    );
    assert_eq!(shown["allowed_senders"], serde_json::json!(["ACME", "49*"]));
    assert_eq!(shown["default_sender"], "ACME");
    assert_eq!(shown["address_ranges"], serde_json::json!(["4930*"]));
    assert_eq!(shown["group"], "gold");
    assert_eq!(shown["password"], "argon2id");
    assert!(shown["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(shown.get("password_hash").is_none());

    let text = ok(data, &["account", "show", "acme"]);
    assert!(text.contains("192.0.2.0/24, 2001:db8::1/128"), "{text}");
    assert!(!text.contains("Secr3t") && !text.contains("$argon2id$"));

    let listed = json(data, &["account", "list"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let table = ok(data, &["account", "list"]);
    assert!(table.starts_with("SYSTEM_ID"), "{table}");
    assert!(table.contains("acme"), "{table}");
}

#[test]
fn add_uses_the_documented_defaults() {
    let dir = tempfile::tempdir().unwrap();
    ok(dir.path(), &["account", "add", "acme", "--password", "pw"]);
    let shown = json(dir.path(), &["account", "show", "acme"]);
    assert_eq!(shown["credits"], 0);
    assert_eq!(shown["max_binds"], 4);
    assert_eq!(shown["window"], 10);
    assert_eq!(shown["tps"], serde_json::Value::Null);
    assert_eq!(shown["bind_types"].as_array().unwrap().len(), 3);
}

#[test]
fn add_refuses_a_taken_system_id_and_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    ok(dir.path(), &["account", "add", "acme", "--password", "pw"]);
    let error = fails(dir.path(), &["account", "add", "acme", "--password", "pw"]);
    assert!(error.contains("exists already"), "{error}");
    assert!(error.contains("account set"), "{error}");
}

#[test]
fn add_validates_system_id_password_and_cidr() {
    let dir = tempfile::tempdir().unwrap();
    let long_id = "x".repeat(65);
    let error = fails(
        dir.path(),
        &["account", "add", &long_id, "--password", "pw"],
    );
    assert!(error.contains("1 to 64"), "{error}");
    let error = fails(dir.path(), &["account", "add", "a b", "--password", "pw"]);
    assert!(error.contains("without spaces"), "{error}");
    let long_password = "p".repeat(65);
    let error = fails(
        dir.path(),
        &["account", "add", "acme", "--password", &long_password],
    );
    assert!(error.contains("1 to 64 octets"), "{error}");
    let error = fails(
        dir.path(),
        &[
            "account",
            "add",
            "acme",
            "--password",
            "pw",
            "--allow-ip",
            "10.0.0.0/33",
        ],
    );
    assert!(error.contains("203.0.113.0/24"), "{error}");
    let error = fails(dir.path(), &["account", "add", "acme"]);
    assert!(error.contains("--password"), "{error}");
    assert!(
        json(dir.path(), &["account", "list"])
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn password_can_come_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    common::smsgate_ok_with_input(
        dir.path(),
        &["account", "add", "acme", "--password-stdin"],
        "from-stdin\r\n",
    );
    assert_eq!(
        json(dir.path(), &["account", "show", "acme"])["password"],
        "argon2id"
    );
}

#[test]
fn set_changes_only_the_given_settings_and_lists_grow_or_clear() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    ok(
        data,
        &[
            "account",
            "add",
            "acme",
            "--password",
            "pw",
            "--tps",
            "10",
            "--sender",
            "ACME",
            "--allow-ip",
            "192.0.2.0/24",
            "--group",
            "gold",
        ],
    );
    let changed = json(
        data,
        &[
            "account",
            "set",
            "acme",
            "--tps",
            "none",
            "--window",
            "5",
            "--deliver-window",
            "1",
            "--sender",
            "BETA",
            "--clear-allow-ip",
            "--group",
            "none",
            "--enabled",
            "false",
        ],
    );
    assert_eq!(changed["tps"], serde_json::Value::Null);
    assert_eq!(changed["window"], 5);
    assert_eq!(changed["deliver_window"], 1);
    assert_eq!(
        changed["allowed_senders"],
        serde_json::json!(["ACME", "BETA"])
    );
    assert_eq!(changed["allowed_ips"], serde_json::json!([]));
    assert_eq!(changed["group"], serde_json::Value::Null);
    assert_eq!(changed["enabled"], false);
    assert_eq!(changed["max_binds"], 4);

    let cleared = json(
        data,
        &[
            "account",
            "set",
            "acme",
            "--clear-senders",
            "--sender",
            "GAMMA",
        ],
    );
    assert_eq!(cleared["allowed_senders"], serde_json::json!(["GAMMA"]));

    let error = fails(data, &["account", "set", "acme"]);
    assert!(error.contains("nothing to change"), "{error}");
    let error = fails(data, &["account", "set", "ghost", "--window", "3"]);
    assert!(error.contains("no account \"ghost\""), "{error}");
}

#[test]
fn set_callback_url_sets_the_accounts_default_and_none_removes_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    ok(data, &["account", "add", "acme", "--password", "pw"]);
    let set = json(
        data,
        &[
            "account",
            "set",
            "acme",
            "--callback-url",
            "https://example.com/sms/status",
        ],
    );
    assert_eq!(set["callback_url"], "https://example.com/sms/status");
    let removed = json(data, &["account", "set", "acme", "--callback-url", "none"]);
    assert_eq!(removed["callback_url"], serde_json::Value::Null);
    let error = fails(
        data,
        &[
            "account",
            "set",
            "acme",
            "--callback-url",
            "ftp://example.com",
        ],
    );
    assert!(error.contains("http or https"), "{error}");
}

#[test]
fn set_callback_url_refuses_an_internal_address_unless_the_configs_callback_allow_allows_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    ok(data, &["account", "add", "acme", "--password", "pw"]);
    let url = "http://127.0.0.1:9/cb";
    let error = fails(data, &["account", "set", "acme", "--callback-url", url]);
    assert!(
        error.contains("127.0.0.1 is a loopback address (127.0.0.0/8)"),
        "{error}"
    );
    let config = data.join("smsgate.toml");
    std::fs::write(&config, "[http]\ncallback_allow = [\"127.0.0.0/8\"]\n").unwrap();
    let config = config.to_str().unwrap();
    let set = json(
        data,
        &[
            "account",
            "set",
            "acme",
            "--callback-url",
            url,
            "--config",
            config,
        ],
    );
    assert_eq!(set["callback_url"], url);
}

#[test]
fn credit_adds_and_removes_and_prints_the_balance() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    ok(
        data,
        &[
            "account",
            "add",
            "acme",
            "--password",
            "pw",
            "--credits",
            "10",
        ],
    );
    assert_eq!(
        ok(data, &["account", "credit", "acme", "+90"]),
        "acme: 100 credits\n"
    );
    assert_eq!(
        json(data, &["account", "credit", "acme", "-30"])["credits"],
        70
    );
    let error = fails(data, &["account", "credit", "acme", "-71"]);
    assert!(error.contains("below zero"), "{error}");
    assert_eq!(json(data, &["account", "show", "acme"])["credits"], 70);
    let error = fails(data, &["account", "credit", "ghost", "+1"]);
    assert!(error.contains("no account"), "{error}");
}

#[test]
fn passwd_disable_enable_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    ok(data, &["account", "add", "acme", "--password", "pw"]);
    ok(data, &["account", "passwd", "acme", "--password", "new-pw"]);
    let error = fails(data, &["account", "passwd", "ghost", "--password", "x"]);
    assert!(error.contains("no account"), "{error}");

    assert_eq!(
        json(data, &["account", "disable", "acme"])["enabled"],
        false
    );
    assert_eq!(json(data, &["account", "enable", "acme"])["enabled"], true);

    ok(data, &["account", "delete", "acme"]);
    let error = fails(data, &["account", "show", "acme"]);
    assert!(error.contains("no account"), "{error}");
    let error = fails(data, &["account", "delete", "acme"]);
    assert!(error.contains("no account"), "{error}");
}

#[test]
fn api_key_is_shown_once_listed_without_its_secret_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    ok(data, &["account", "add", "acme", "--password", "pw"]);
    let none = ok(data, &["account", "api-key", "list", "acme"]);
    assert!(none.contains("no API keys"), "{none}");

    let created = json(
        data,
        &["account", "api-key", "create", "acme", "--label", "crm"],
    );
    let key = created["key"].as_str().unwrap().to_string();
    let id = created["id"].as_str().unwrap().to_string();
    assert!(key.starts_with(&format!("sgk_{id}_")), "{key}");
    assert_eq!(created["account"], "acme");
    let text = ok(data, &["account", "api-key", "create", "acme"]);
    assert!(
        text.contains("sgk_") && text.contains("shown only now"),
        "{text}"
    );

    let listed = json(data, &["account", "api-key", "list", "acme"]);
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["label"], "crm");
    assert_eq!(listed[0]["last_used_at"], serde_json::Value::Null);
    let table = ok(data, &["account", "api-key", "list", "acme"]);
    assert!(table.contains(&id) && table.contains("crm"), "{table}");
    assert!(
        !table.contains(&key),
        "the key is never shown again: {table}"
    );

    let revoked = ok(data, &["account", "api-key", "revoke", &id]);
    assert!(revoked.contains("revoked"), "{revoked}");
    let listed = json(data, &["account", "api-key", "list", "acme"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let error = fails(data, &["account", "api-key", "revoke", &id]);
    assert!(error.contains("no API key"), "{error}");
    let error = fails(data, &["account", "api-key", "create", "ghost"]);
    assert!(error.contains("no account"), "{error}");
    let error = fails(data, &["account", "api-key", "list", "ghost"]);
    assert!(error.contains("no account"), "{error}");
}

#[test]
fn import_sha1_creates_a_legacy_account_or_replaces_only_the_hash() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let created = json(
        data,
        &[
            "account",
            "import-sha1",
            "old",
            "--hash",
            "dc215545ba63d605fbcd647a9555270f566d918b",
            "--credits",
            "7",
        ],
    );
    assert_eq!(created["password"], "legacy-sha1");
    assert_eq!(created["credits"], 7);

    ok(
        data,
        &[
            "account",
            "add",
            "acme",
            "--password",
            "pw",
            "--credits",
            "3",
        ],
    );
    let replaced = json(
        data,
        &[
            "account",
            "import-sha1",
            "acme",
            "--hash",
            "DC215545BA63D605FBCD647A9555270F566D918B",
            "--credits",
            "999",
        ],
    );
    assert_eq!(replaced["password"], "legacy-sha1");
    assert_eq!(replaced["credits"], 3);

    let error = fails(data, &["account", "import-sha1", "bad", "--hash", "1234"]);
    assert!(error.contains("40 hexadecimal digits"), "{error}");
}

#[test]
fn message_list_and_show_on_an_empty_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    assert_eq!(
        json(
            data,
            &["message", "list", "--account", "acme", "--since", "15m"]
        ),
        serde_json::json!([])
    );
    assert_eq!(ok(data, &["message", "list"]), "no messages match\n");
    ok(
        data,
        &[
            "message",
            "list",
            "--state",
            "delivered",
            "--since",
            "2026-01-01T00:00:00Z",
            "--limit",
            "5",
        ],
    );
    let error = fails(data, &["message", "show", "01JXYZ"]);
    assert!(error.contains("no message \"01JXYZ\""), "{error}");
    let error = fails(data, &["message", "list", "--since", "last week"]);
    assert!(error.contains("15m"), "{error}");
}

#[test]
fn data_dir_comes_from_the_environment_too() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_smsgate"))
        .args(["account", "add", "acme", "--password", "pw"])
        .env("SMSGATE_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(dir.path().join("smsgate.db").exists());
}

#[tokio::test]
async fn message_show_and_list_print_a_stored_message_and_its_trace() {
    use smsgate::store::sqlite::SqliteStore;
    use smsgate::store::{NewMessage, Origin, Store, StoredAddress};

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_path_buf();
    ok(
        &data,
        &[
            "account",
            "add",
            "acme",
            "--password",
            "pw",
            "--credits",
            "5",
        ],
    );
    let store = SqliteStore::open_with_node(&data.join("smsgate.db"), "node-a").unwrap();
    store
        .accept(NewMessage {
            callback_url: None,
            client_ref: None,
            tags: Vec::new(),
            id: "01MSG".to_string(),
            account: "acme".to_string(),
            cost: 1,
            source: StoredAddress {
                ton: 5,
                npi: 0,
                addr: "ACME".to_string(),
            },
            destination: StoredAddress {
                ton: 1,
                npi: 1,
                addr: "4915112345678".to_string(),
            },
            esm_class: 0,
            data_coding: 0,
            protocol_id: 0,
            priority: 0,
            registered_delivery: 1,
            schedule_at: None,
            expires_at: None,
            payload: b"secret text".to_vec(),
            part: None,
            segments: 1,
            origin: Origin {
                protocol: "smpp".to_string(),
                remote_addr: Some("192.0.2.7:40000".parse().unwrap()),
                tls: true,
                session_id: Some(3),
            },
            accepted_at: std::time::SystemTime::now(),
            trace_detail: "validated, charged 1".to_string(),
            claimed_by: None,
        })
        .await
        .unwrap();
    store.close().await.unwrap();

    let shown = json(&data, &["message", "show", "01MSG"]);
    assert_eq!(shown["state"], "accepted");
    assert_eq!(shown["trace"][0]["kind"], "accepted");
    assert_eq!(shown["trace"][0]["node"], "node-a");
    let text = ok(&data, &["message", "show", "01MSG"]);
    assert!(text.contains("validated, charged 1"), "{text}");
    assert!(!text.contains("secret text"), "{text}");

    let listed = json(
        &data,
        &["message", "list", "--account", "acme", "--since", "1h"],
    );
    assert_eq!(listed[0]["id"], "01MSG");
    let none = json(&data, &["message", "list", "--state", "delivered"]);
    assert_eq!(none, serde_json::json!([]));
}

#[test]
fn a_password_longer_than_smpp_carries_is_taken_with_a_warning_that_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let long = common::smsgate(
        data,
        &["account", "add", "acme", "--password", "twelve-chars"],
    );
    assert!(long.status.success());
    let warning = String::from_utf8_lossy(&long.stderr);
    assert!(
        warning.contains("12 characters") && warning.contains("at most 8"),
        "{warning}"
    );
    let short = common::smsgate(data, &["account", "add", "beta", "--password", "8chars!!"]);
    assert!(short.status.success());
    assert!(
        !String::from_utf8_lossy(&short.stderr).contains("warning"),
        "no warning at 8"
    );
}
