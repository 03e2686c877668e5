//! Connections that never bind, over real TCP sockets from several loopback
//! addresses (Linux routes all of 127/8 to lo): however many there are, a
//! customer's bind is answered, and bound sessions are never closed for room.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use smpp::session::SessionHandle;
use smpp::{Body, CommandStatus};
use smsgate::config::Config;
use smsgate::node::Node;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpSocket, TcpStream};

async fn start(adjust: impl FnOnce(&mut Config)) -> (Node, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = common::local_config();
    config.smpp.shutdown_timeout = Duration::from_secs(2);
    adjust(&mut config);
    let node = common::start_node(&config, dir.path()).await;
    common::add_account(&node, common::test_account("acme", "pw")).await;
    (node, dir)
}

/// A TCP connection to `addr` from the loopback address `127.0.0.{host}`.
async fn connect_from(host: u8, addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    let source = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, host)), 0);
    socket.bind(source).expect("bind a loopback source address");
    socket.connect(addr).await.expect("connect")
}

/// Whether the server has closed `stream` (reads end of file, or fail)
/// within a short wait; `false` if it is still open.
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 64];
    matches!(
        tokio::time::timeout(Duration::from_millis(300), stream.read(&mut buf)).await,
        Ok(Ok(0) | Err(_))
    )
}

/// Binds a transceiver as acme from `127.0.0.{host}`: the bind's status.
async fn bind_from(host: u8, addr: SocketAddr) -> (SessionHandle, CommandStatus) {
    let stream = connect_from(host, addr).await;
    let (client, events) = smpp::session::start(stream, common::client_session_config());
    common::answer_requests_ok(events);
    let resp = tokio::time::timeout(
        Duration::from_secs(20),
        client.request(Body::BindTransceiver(common::bind_body("acme", "pw"))),
    )
    .await
    .expect("the bind is answered")
    .expect("the bind is answered");
    (client, resp.status)
}

/// Opens `per_host` connections from each of `hosts`, lets the server take
/// them, and returns them.
async fn flood(
    hosts: std::ops::RangeInclusive<u8>,
    per_host: usize,
    addr: SocketAddr,
) -> Vec<TcpStream> {
    let mut streams = Vec::new();
    for host in hosts {
        for _ in 0..per_host {
            streams.push(connect_from(host, addr).await);
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    streams
}

async fn still_open(streams: &mut [TcpStream]) -> usize {
    futures::future::join_all(streams.iter_mut().map(closed_by_server))
        .await
        .into_iter()
        .filter(|closed| !closed)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_binds_while_unbound_connections_from_other_addresses_fill_the_budget() {
    let (node, _dir) = start(|c| {
        c.smpp.max_unbound = 20;
        c.smpp.max_unbound_per_ip = 5;
    })
    .await;
    let addr = common::smpp_addr(&node);
    let mut idle = flood(2..=41, 5, addr).await;
    let (_client, status) = bind_from(1, addr).await;
    assert_eq!(status, CommandStatus::ESME_ROK);
    let open = still_open(&mut idle).await;
    assert!(
        open <= 20,
        "{open} of 200 idle connections left open; the budget is 20"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_binds_from_the_address_that_floods_unbound_connections() {
    let (node, _dir) = start(|c| c.smpp.max_unbound_per_ip = 5).await;
    let addr = common::smpp_addr(&node);
    let mut idle = flood(1..=1, 60, addr).await;
    let (_client, status) = bind_from(1, addr).await;
    assert_eq!(status, CommandStatus::ESME_ROK);
    let open = still_open(&mut idle).await;
    assert!(
        open <= 5,
        "{open} of 60 left open; 5 are allowed per address"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_max_connections_an_unbound_connection_makes_room_and_a_bound_session_never_does() {
    let (node, _dir) = start(|c| c.smpp.max_connections = 3).await;
    let addr = common::smpp_addr(&node);
    let (first, status) = bind_from(1, addr).await;
    assert_eq!(status, CommandStatus::ESME_ROK);
    let mut idle = flood(2..=3, 1, addr).await;
    let (second, status) = bind_from(4, addr).await;
    assert_eq!(
        status,
        CommandStatus::ESME_ROK,
        "room made by an idle connection"
    );
    assert_eq!(still_open(&mut idle).await, 1);
    let (third, status) = bind_from(5, addr).await;
    assert_eq!(
        status,
        CommandStatus::ESME_ROK,
        "room made by the other one"
    );
    assert_eq!(still_open(&mut idle).await, 0);
    // Three bound sessions: a fourth connection finds no room and is closed.
    let mut fourth = connect_from(6, addr).await;
    assert!(closed_by_server(&mut fourth).await, "no room for a fourth");
    for client in [&first, &second, &third] {
        let alive = client
            .request(Body::EnquireLink)
            .await
            .expect("still bound");
        assert_eq!(alive.status, CommandStatus::ESME_ROK);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_pipelined_behind_a_bind_being_checked_are_answered_throttled_not_held() {
    let (node, _dir) = start(|_| {}).await;
    let addr = common::smpp_addr(&node);
    let stream = connect_from(1, addr).await;
    let (client, events) = smpp::session::start(
        stream,
        smpp::session::SessionConfig {
            window: 20,
            ..common::client_session_config()
        },
    );
    common::answer_requests_ok(events);
    let bind = client
        .start_request(Body::BindTransceiver(common::bind_body("acme", "wrong")))
        .await
        .expect("sent");
    let mut submits = Vec::new();
    for n in 0..10 {
        let text = format!("pipelined {n}");
        submits.push(
            client
                .start_request(common::submit_sm("447911123456", &text, 0))
                .await
                .expect("sent"),
        );
    }
    let statuses: Vec<CommandStatus> = futures::future::join_all(
        submits
            .into_iter()
            .map(|pending| async move { pending.response().await.expect("answered").status }),
    )
    .await;
    let bound = bind.response().await.expect("answered");
    assert_eq!(bound.status, CommandStatus::ESME_RINVPASWD);
    assert!(
        statuses
            .iter()
            .all(|status| *status == CommandStatus::ESME_RTHROTTLED),
        "every request behind the bind is refused at once, none queued: {statuses:?}"
    );
}
