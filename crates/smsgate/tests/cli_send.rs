//! `smsgate send` against the real `smsgate serve` binary: what it prints
//! and how it exits when the gateway accepts, refuses or cannot be reached.

use std::io::Write as _;
use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_smsgate");

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Runs `smsgate --data-dir DIR ARGS` with `stdin` as its input; the
/// environment's SMSGATE_URL and SMSGATE_API_KEY are not passed on.
fn smsgate(data_dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(BIN)
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("SMSGATE_URL")
        .env_remove("SMSGATE_API_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("smsgate runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("stdin written");
    child.wait_with_output().expect("smsgate ends")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A running `smsgate serve` with an account `acme` (password `secret`,
/// default sender `Acme`) and an API key for it. Dropping it kills the process.
struct Gateway {
    child: Child,
    data_dir: tempfile::TempDir,
    url: String,
    key: String,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
        let config: PathBuf = dir.join("smsgate.toml");
        std::fs::write(
            &config,
            format!(
                "[smpp]\nlisten = [\"127.0.0.1:{smpp_port}\"]\ntls = false\n\
                 [http]\nlisten = [\"127.0.0.1:{http_port}\"]\n"
            ),
        )
        .expect("config written");
        let child = Command::new(BIN)
            .arg("--data-dir")
            .arg(dir)
            .args(["serve", "--no-demo", "--config"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve starts");
        let gateway = Gateway {
            child,
            data_dir,
            url: format!("http://127.0.0.1:{http_port}"),
            key,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", http_port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "smsgate serve did not start listening"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        gateway
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
