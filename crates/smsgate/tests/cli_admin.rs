//! The `smsgate admin` commands, run as the real binary against a
//! temporary data directory.

mod common;

use common::{smsgate_fails_with_input as fails, smsgate_ok_with_input as ok};

#[test]
fn user_add_then_list_shows_the_user_and_never_the_password() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    let added = ok(
        data,
        &["admin", "user", "add", "alice", "--password-stdin"],
        "Secr3t-pw\n",
    );
    assert!(added.contains("alice"), "{added}");
    let listed = ok(data, &["admin", "user", "list"], "");
    assert!(listed.contains("alice"), "{listed}");
    assert!(!listed.contains("Secr3t"), "{listed}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(data, &["admin", "user", "list", "--json"], "")).expect("json");
    assert_eq!(json[0]["name"], "alice");
    assert!(json[0].get("password_hash").is_none());
}

#[test]
fn adding_an_existing_user_fails_and_says_how_to_change_its_password() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    ok(
        data,
        &["admin", "user", "add", "alice", "--password-stdin"],
        "pw\n",
    );
    let error = fails(
        data,
        &["admin", "user", "add", "alice", "--password-stdin"],
        "pw\n",
    );
    assert!(error.contains("smsgate admin user passwd alice"), "{error}");
}

#[test]
fn user_passwd_and_remove_need_an_existing_user() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    let error = fails(
        data,
        &["admin", "user", "passwd", "bob", "--password-stdin"],
        "pw\n",
    );
    assert!(error.contains("no admin user \"bob\""), "{error}");
    ok(
        data,
        &["admin", "user", "add", "bob", "--password-stdin"],
        "pw\n",
    );
    ok(
        data,
        &["admin", "user", "passwd", "bob", "--password-stdin"],
        "pw2\n",
    );
    ok(data, &["admin", "user", "remove", "bob"], "");
    let listed = ok(data, &["admin", "user", "list"], "");
    assert!(listed.contains("no admin users"), "{listed}");
}

#[test]
fn without_a_terminal_the_password_must_come_from_stdin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let error = fails(dir.path(), &["admin", "user", "add", "alice"], "");
    assert!(error.contains("--password-stdin"), "{error}");
}

#[test]
fn token_create_prints_it_once_and_list_and_revoke_use_its_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    let created: serde_json::Value = serde_json::from_str(&ok(
        data,
        &["admin", "token", "create", "--label", "ci", "--json"],
        "",
    ))
    .expect("json");
    let token = created["token"].as_str().expect("the token");
    let id = created["id"].as_str().expect("the id");
    assert!(token.starts_with(&format!("sga_{id}_")), "{token}");
    let listed = ok(data, &["admin", "token", "list"], "");
    assert!(listed.contains(id) && listed.contains("ci"), "{listed}");
    assert!(!listed.contains(token), "{listed}");
    ok(data, &["admin", "token", "revoke", id], "");
    let error = fails(data, &["admin", "token", "revoke", id], "");
    assert!(error.contains("no admin token"), "{error}");
}
