//! The real `smsgate` binary against what a hostile or broken peer does:
//! wrong-password storms from many addresses leave its memory where it was,
//! thousands of connections that never bind do not keep a customer from
//! binding, and a receiver that stops reading holds back nobody else's
//! receipts. Clients bind from several loopback addresses (Linux routes all
//! of 127/8 to lo), so the per-address limits are the real ones.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use smpp::codec::SmppCodec;
use smpp::receipt::Receipt;
use smpp::session::{self, SessionConfig, SessionHandle};
use smpp::{Body, CommandStatus, DecodeLimits, Pdu};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_util::codec::Encoder;

/// Long enough for anything that should happen on a busy machine; only
/// reached on failure.
const PATIENCE: Duration = Duration::from_secs(60);

struct Server {
    process: common::ServeProcess,
    addr: SocketAddr,
}

/// `smsgate serve` on a free port with `extra` appended to `[smpp]`.
fn serve(data_dir: &Path, smpp_extra: &str) -> Server {
    let port = common::free_port();
    let config = format!(
        "[smpp]\nlisten = [\"127.0.0.1:{port}\"]\ntls = false\n{smpp_extra}\n\
         [http]\nlisten = [\"127.0.0.1:0\"]\n"
    );
    let process = common::serve(data_dir, &config, port);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    Server { process, addr }
}

fn add_account(data_dir: &Path, system_id: &str, secret: &str) {
    common::smsgate_ok(
        data_dir,
        &[
            "account",
            "add",
            system_id,
            "--password",
            secret,
            "--credits",
            "100000",
        ],
    );
}

/// The server's resident memory, in bytes, as the kernel counts it.
fn rss(server: &Server) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.process.child.id()))
        .expect("/proc status");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next())
        .and_then(|value| value.parse().ok())
        .expect("VmRSS");
    kib * 1024
}

async fn connect_from(host: u8, addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(127, 0, 0, host)),
            0,
        ))
        .expect("bind a loopback source address");
    socket.connect(addr).await.expect("connect")
}

/// A bind (transceiver) from `127.0.0.{host}`: the session and the status.
async fn bind_from(
    host: u8,
    addr: SocketAddr,
    system_id: &str,
    secret: &str,
) -> (SessionHandle, CommandStatus) {
    let stream = connect_from(host, addr).await;
    let (client, events) = session::start(stream, common::client_session_config());
    common::answer_requests_ok(events);
    let resp = tokio::time::timeout(
        PATIENCE,
        client.request(Body::BindTransceiver(common::bind_body(system_id, secret))),
    )
    .await
    .expect("the bind is answered in time")
    .expect("the bind is answered");
    (client, resp.status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_binds_from_many_addresses_leave_the_memory_where_it_was_and_each_address_gets_five_checks()
 {
    let dir = tempfile::tempdir().expect("tempdir");
    add_account(dir.path(), "acme", "right");
    let server = serve(dir.path(), "");
    let (_good, status) = bind_from(1, server.addr, "acme", "right").await;
    assert_eq!(status, CommandStatus::ESME_ROK);
    let before = rss(&server);

    // 40 addresses x 6 wrong binds, 20 at a time: the first five from each
    // address are checked (and fail), the sixth finds it blocked.
    let addr = server.addr;
    let mut answers = Vec::new();
    let hosts: Vec<u8> = (2..=41).collect();
    for chunk in hosts.chunks(20) {
        let wave = chunk.iter().flat_map(|&host| {
            (0..6).map(move |_| async move { bind_from(host, addr, "acme", "wrong").await.1 })
        });
        answers.extend(futures::future::join_all(wave).await);
    }
    // 50 at once from one address.
    let burst = (0..50).map(|_| async move { bind_from(100, addr, "acme", "wrong").await.1 });
    let burst = futures::future::join_all(burst).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = rss(&server);

    let checked = |answers: &[CommandStatus]| {
        answers
            .iter()
            .filter(|status| **status == CommandStatus::ESME_RINVPASWD)
            .count()
    };
    let refused = |answers: &[CommandStatus]| {
        answers
            .iter()
            .filter(|status| **status == CommandStatus::ESME_RBINDFAIL)
            .count()
    };
    assert_eq!(
        (checked(&answers), refused(&answers)),
        (200, 40),
        "five checks per address, then blocked"
    );
    assert_eq!(
        (checked(&burst), refused(&burst)),
        (5, 45),
        "of 50 binds at once from one address, five are checked"
    );
    let grown = after.saturating_sub(before);
    eprintln!(
        "RSS {} MB before, {} MB after 205 failed checks (+{} MB)",
        before >> 20,
        after >> 20,
        grown >> 20
    );
    assert!(
        grown < 50 << 20,
        "RSS grew by {} MB over 205 failed password checks",
        grown >> 20
    );
    let (_still, status) = bind_from(1, server.addr, "acme", "right").await;
    assert_eq!(
        status,
        CommandStatus::ESME_ROK,
        "the good address still binds"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_binds_while_5000_connections_that_never_bind_are_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    add_account(dir.path(), "acme", "right");
    let server = serve(dir.path(), "");
    // 50 from each of 100 addresses, the customer's own among them.
    let mut idle = Vec::with_capacity(5000);
    for host in 1..=100u8 {
        for _ in 0..50 {
            idle.push(connect_from(host, server.addr).await);
        }
    }
    let started = Instant::now();
    let (_client, status) = bind_from(1, server.addr, "acme", "right").await;
    assert_eq!(status, CommandStatus::ESME_ROK);
    eprintln!(
        "bound in {:?} with 5,000 unbound connections opened",
        started.elapsed()
    );
    drop(idle);
}

/// A bind_receiver written on a raw socket with a tiny receive buffer,
/// whose bind_resp is read and after which nothing is ever read again.
async fn stuck_receiver(addr: SocketAddr, system_id: &str, secret: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(2048).expect("small buffer");
    let mut stream = socket.connect(addr).await.expect("connect");
    let mut octets = BytesMut::new();
    SmppCodec::new(DecodeLimits::default())
        .encode(
            Pdu::new(1, Body::BindReceiver(common::bind_body(system_id, secret))),
            &mut octets,
        )
        .expect("encode");
    stream.write_all(&octets).await.expect("bind sent");
    let mut header = [0u8; 16];
    stream.read_exact(&mut header).await.expect("bind_resp");
    let length = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let status = u32::from_be_bytes([header[8], header[9], header[10], header[11]]);
    assert_eq!(status, 0, "the stuck receiver bound");
    let mut rest = vec![0u8; length.saturating_sub(16)];
    stream.read_exact(&mut rest).await.expect("bind_resp body");
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_stops_reading_holds_back_no_other_accounts_receipts() {
    let dir = tempfile::tempdir().expect("tempdir");
    add_account(dir.path(), "slow", "slowpw");
    add_account(dir.path(), "fast", "fastpw");
    // The stuck session must stay bound for the whole test.
    let server = serve(
        dir.path(),
        "response_timeout = \"10m\"\nenquire_link_interval = \"10m\"\ninactivity_timeout = \"10m\"",
    );
    let _stuck = stuck_receiver(server.addr, "slow", "slowpw").await;
    let slow_tx =
        common::bind_answering(server.addr, Body::BindTransmitter, "slow", "slowpw").await;
    for n in 0..300 {
        let resp = slow_tx
            .request(common::submit_sm("447911123456", &format!("slow {n}"), 1))
            .await
            .expect("answered");
        assert_eq!(resp.status, CommandStatus::ESME_ROK);
    }

    let stream = TcpStream::connect(server.addr).await.expect("connect");
    let (fast, events) = session::start(
        stream,
        SessionConfig {
            window: 10,
            ..common::client_session_config()
        },
    );
    let mut receipts = common::forward_requests(events);
    common::bind(&fast, Body::BindTransceiver, "fast", "fastpw").await;
    let mut submitted = std::collections::HashMap::new();
    let sends = (0..500).map(|n| {
        let fast = fast.clone();
        async move {
            let resp = fast
                .request(common::submit_sm("447911123456", &format!("fast {n}"), 1))
                .await
                .expect("answered");
            (common::submitted_id(resp), Instant::now())
        }
    });
    let receiving = async {
        let mut got = std::collections::HashMap::new();
        while got.len() < 500 {
            let request = receipts.recv().await.expect("session open");
            let Body::DeliverSm(deliver) = &request.pdu.body else {
                continue;
            };
            let receipt = Receipt::parse(&deliver.short_message);
            request.respond_status(CommandStatus::ESME_ROK);
            if let Ok(receipt) = receipt {
                got.insert(receipt.id, Instant::now());
            }
        }
        got
    };
    let (sent, got) = tokio::time::timeout(PATIENCE, async {
        tokio::join!(futures::future::join_all(sends), receiving)
    })
    .await
    .expect("every fast receipt arrives while slow's receiver is stuck");
    for (id, at) in sent {
        submitted.insert(id, at);
    }
    let mut latencies: Vec<Duration> = got
        .iter()
        .filter_map(|(id, arrived)| submitted.get(id).map(|sent| arrived.duration_since(*sent)))
        .collect();
    latencies.sort();
    assert_eq!(latencies.len(), 500, "each receipt matches a fast message");
    eprintln!(
        "fast's receipts after submit_sm_resp: p50 {:?}, max {:?} (the simulator waits 0.5 s)",
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1]
    );
}
