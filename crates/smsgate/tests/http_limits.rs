//! The HTTP listener's bounds, through real sockets: connections per
//! address, the deadline for a request's headers (and idle keep-alive
//! connections), the size of the headers, and the time a request may take.
//! A node in-process on 127.0.0.1 with a real SQLite file.

mod common;

use std::path::Path;
use std::time::Duration;

use smsgate::config::Config;
use smsgate::node::Node;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Long enough for anything that should happen; only reached on failure.
const PATIENCE: Duration = Duration::from_secs(10);

async fn start(dir: &Path, adjust: impl FnOnce(&mut Config)) -> Node {
    let mut config = common::local_config();
    adjust(&mut config);
    common::start_node(&config, dir).await
}

/// Reads until the server closes the connection (a reset counts: the
/// server closed with our request unread): what it sent before closing;
/// `None` if it was still open after `PATIENCE`.
async fn until_closed(stream: &mut TcpStream) -> Option<String> {
    let mut got = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(String::from_utf8_lossy(&got).into_owned()),
            Ok(Ok(read)) => got.extend_from_slice(&buffer[..read]),
        }
    }
}

/// One `GET /healthz` on a connection of its own; the status line.
async fn healthz(node: &Node) -> String {
    let mut stream = TcpStream::connect(common::http_addr(node))
        .await
        .expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .expect("written");
    let answer = until_closed(&mut stream)
        .await
        .expect("answered and closed");
    answer.lines().next().unwrap_or_default().to_string()
}

#[tokio::test]
async fn connections_past_the_per_address_bound_are_closed_at_once_and_the_others_go_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |config| config.http.max_connections_per_ip = 3).await;
    let addr = common::http_addr(&node);
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        // A request answered proves the connection was taken in.
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .expect("written");
        let mut buffer = [0u8; 256];
        let read = tokio::time::timeout(PATIENCE, stream.read(&mut buffer))
            .await
            .expect("in time")
            .expect("read");
        assert!(String::from_utf8_lossy(&buffer[..read]).starts_with("HTTP/1.1 200"));
        held.push(stream);
    }
    let mut fourth = TcpStream::connect(addr)
        .await
        .expect("the kernel accepts it");
    let _ = fourth
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await;
    assert_eq!(
        until_closed(&mut fourth).await.as_deref(),
        Some(""),
        "closed without an answer"
    );
    drop(held.pop());
    // Its place is free again once the server has seen it close.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if healthz(&node).await.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never admitted again"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    node.shutdown().await;
}

#[tokio::test]
async fn headers_that_do_not_arrive_in_time_and_idle_keep_alive_connections_are_closed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |config| {
        config.http.header_read_timeout = Duration::from_millis(300);
    })
    .await;
    let addr = common::http_addr(&node);
    let mut slow = TcpStream::connect(addr).await.expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nhost:")
        .await
        .expect("written");
    let started = tokio::time::Instant::now();
    let answer = until_closed(&mut slow).await.expect("closed in time");
    assert!(!answer.contains("200 OK"), "{answer}");
    assert!(started.elapsed() < PATIENCE);

    let mut idle = TcpStream::connect(addr).await.expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .expect("written");
    let answer = until_closed(&mut idle).await.expect("closed once idle");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    node.shutdown().await;
}

#[tokio::test]
async fn headers_larger_than_the_bound_are_refused_with_431() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |config| config.http.max_header_bytes = 8192).await;
    let mut stream = TcpStream::connect(common::http_addr(&node))
        .await
        .expect("connect");
    let big = format!(
        "GET /healthz HTTP/1.1\r\nhost: x\r\nx-filler: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    let _ = stream.write_all(big.as_bytes()).await;
    let answer = until_closed(&mut stream).await.unwrap_or_default();
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer:?}");
    node.shutdown().await;
}

#[tokio::test]
async fn a_request_not_answered_in_time_gets_503_request_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A password check (argon2id) takes longer than this.
    let node = start(dir.path(), |config| {
        config.http.request_timeout = Duration::from_millis(2);
    })
    .await;
    common::add_account(&node, common::test_account("acme", "pw")).await;
    let response = common::http_client()
        .get(format!(
            "http://{}/api/v1/balance",
            common::http_addr(&node)
        ))
        .basic_auth("acme", Some("pw"))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    let problem: serde_json::Value = response.json().await.expect("json");
    assert_eq!(problem["code"], "request_timeout");
    node.shutdown().await;
}
