//! `smsgate send` against the real `smsgate serve` binary: what it prints
//! and how it exits when the gateway accepts, refuses or cannot be reached.

mod common;

use std::process::Output;

use common::{free_port, smsgate_with_input as smsgate};

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A running `smsgate serve` with an account `acme` (password `secret`,
/// default sender `Acme`) and an API key for it. Dropping it kills the process.
struct Gateway {
    _process: common::ServeProcess,
    data_dir: tempfile::TempDir,
    url: String,
    key: String,
}

impl Gateway {
    /// Starts the server (SMPP without TLS and HTTP on free ports; no
    /// connectors, so the demo simulator takes every message) and waits
    /// until its HTTP listener accepts connections.
    fn start() -> Gateway {
        let data_dir = tempfile::tempdir().expect("tempdir");
        let dir = data_dir.path();
        let added = smsgate(
            dir,
            &[
                "account",
                "add",
                "acme",
                "--password-stdin",
                "--credits",
                "100",
                "--default-sender",
                "Acme",
            ],
            "secret\n",
        );
        assert!(added.status.success(), "account add: {}", stderr(&added));
        let created = smsgate(dir, &["account", "api-key", "create", "acme", "--json"], "");
        assert!(created.status.success(), "api-key: {}", stderr(&created));
        let created: serde_json::Value = serde_json::from_slice(&created.stdout).expect("json key");
        let key = created["key"].as_str().expect("the key").to_string();

        let (smpp_port, http_port) = (free_port(), free_port());
        let config = format!(
            "[smpp]\nlisten = [\"127.0.0.1:{smpp_port}\"]\ntls = false\n\
             [http]\nlisten = [\"127.0.0.1:{http_port}\"]\n"
        );
        Gateway {
            _process: common::serve(dir, &config, http_port),
            data_dir,
            url: format!("http://127.0.0.1:{http_port}"),
            key,
        }
    }

    /// `smsgate send --url URL ARGS`.
    fn send(&self, args: &[&str], stdin: &str) -> Output {
        let mut all = vec!["send", "--url", &self.url];
        all.extend_from_slice(args);
        smsgate(self.data_dir.path(), &all, stdin)
    }

    /// Asserts that the store holds the message.
    fn assert_stored(&self, id: &str) {
        let shown = smsgate(self.data_dir.path(), &["message", "show", id], "");
        assert!(
            shown.status.success(),
            "message show {id}: {}",
            stderr(&shown)
        );
    }
}

/// The ids of `<to> <id> <segments> segment(s)` lines, checked.
fn sent_ids(out: &Output, recipients: &[&str]) -> Vec<String> {
    assert!(
        out.status.success(),
        "send failed: {}{}",
        stdout(out),
        stderr(out)
    );
    let text = stdout(out);
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split(' ').collect()).collect();
    assert_eq!(lines.len(), recipients.len(), "{text}");
    lines
        .iter()
        .zip(recipients)
        .map(|(fields, to)| {
            assert_eq!(fields[0], *to, "{text}");
            assert_eq!(&fields[2..], ["1", "segment"], "{text}");
            fields[1].to_string()
        })
        .collect()
}

#[test]
fn send_with_an_api_key_prints_ids_the_store_has() {
    let gateway = Gateway::start();
    let out = gateway.send(
        &[
            "--api-key",
            &gateway.key,
            "--to",
            "447911123456",
            "--to",
            "+14155551234",
            "--from",
            "Acme",
            "hello",
        ],
        "",
    );
    for id in sent_ids(&out, &["447911123456", "+14155551234"]) {
        gateway.assert_stored(&id);
    }
}

#[test]
fn send_with_system_id_and_password_reads_both_password_and_text_from_stdin() {
    let gateway = Gateway::start();
    let out = gateway.send(
        &[
            "--user",
            "acme",
            "--password-stdin",
            "--to",
            "14155551234",
            "-",
        ],
        "secret\nhello from\nthe dialplan\n",
    );
    let ids = sent_ids(&out, &["14155551234"]);
    gateway.assert_stored(&ids[0]);
}

#[test]
fn send_json_prints_the_gateways_answer() {
    let gateway = Gateway::start();
    let out = gateway.send(
        &[
            "--api-key",
            &gateway.key,
            "--to",
            "447911123456",
            "--client-ref",
            "r-1",
            "--json",
            "hello",
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(answer["client_ref"], "r-1");
    assert_eq!(answer["messages"][0]["to"], "447911123456");
}

#[test]
fn an_invalid_number_exits_2_with_the_problem_on_stderr() {
    let gateway = Gateway::start();
    let out = gateway.send(
        &["--api-key", &gateway.key, "--to", "+447700900123", "hello"],
        "",
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let problem = stderr(&out);
    assert!(
        problem.starts_with("smsgate send: Invalid recipient number: ")
            && problem.trim_end().ends_with("(invalid_destination)"),
        "{problem}"
    );
    assert_eq!(stdout(&out), "");
}

#[test]
fn a_wrong_key_exits_2_as_unauthorized() {
    let gateway = Gateway::start();
    let out = gateway.send(
        &["--api-key", "sgk_wrong", "--to", "447911123456", "hello"],
        "",
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("(unauthorized)"), "{}", stderr(&out));
}

#[test]
fn no_gateway_listening_exits_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("http://127.0.0.1:{}", free_port());
    let out = smsgate(
        dir.path(),
        &[
            "send",
            "--url",
            &url,
            "--api-key",
            "k",
            "--to",
            "447911123456",
            "hi",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot reach the gateway"),
        "{}",
        stderr(&out)
    );
}
