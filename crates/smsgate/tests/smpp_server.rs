//! The SMPP server over real TCP and TLS sockets, in-process, with a
//! real SQLite store in a temporary directory and a clock the tests move.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{answer_requests_ok, bind_body, connect};
use rustls_pki_types::pem::PemObject;
use smpp::session::{self, SessionEvent, SessionHandle};
use smpp::{Body, COctetString, CommandStatus, Pdu, SubmitSm};
use smsgate::accounts::password;
use smsgate::clock::ManualClock;
use smsgate::config::Config;
use smsgate::node::Node;
use smsgate::store::{BindType, NewAccount};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct TestNode {
    node: Node,
    clock: Arc<ManualClock>,
    dir: tempfile::TempDir,
}

impl TestNode {
    async fn start() -> TestNode {
        TestNode::start_with(|_| {}).await
    }

    async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestNode {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = common::local_config();
        // TLS too: its listener is tested here.
        config.smpp.tls = true;
        config.smpp.tls_listen = vec!["127.0.0.1:0".parse().expect("addr")];
        config.smpp.shutdown_timeout = Duration::from_secs(2);
        adjust(&mut config);
        let clock = Arc::new(ManualClock::new());
        let node = Node::start(&config, None, dir.path(), clock.clone())
            .await
            .expect("node starts");
        TestNode { node, clock, dir }
    }

    fn addr(&self) -> SocketAddr {
        common::smpp_addr(&self.node)
    }

    async fn add_account(
        &self,
        system_id: &str,
        secret: &str,
        adjust: impl FnOnce(&mut NewAccount),
    ) {
        let mut account = common::test_account(system_id, secret);
        adjust(&mut account);
        common::add_account(&self.node, account).await;
    }
}

async fn bind_trx(
    addr: SocketAddr,
    system_id: &str,
    secret: &str,
) -> (SessionHandle, CommandStatus) {
    let (handle, events) = connect(addr).await;
    // Keep the events flowing so the session keeps reading.
    answer_requests_ok(events);
    let resp = handle
        .request(Body::BindTransceiver(bind_body(system_id, secret)))
        .await
        .expect("bind answered");
    (handle, resp.status)
}

/// A submit_sm from `Acme` to `destination`, asking for a receipt.
fn submit(destination: &str, text: &str) -> Body {
    common::submit_sm(destination, text, 1)
}

const VALID_NUMBER: &str = "447911123456";

#[tokio::test]
async fn bind_and_submit_returns_an_id_that_is_stored() {
    let node = TestNode::start().await;
    node.add_account("acme", "secret", |_| {}).await;
    let (client, status) = bind_trx(node.addr(), "acme", "secret").await;
    assert_eq!(status, CommandStatus::ESME_ROK);
    let resp = client
        .request(submit(VALID_NUMBER, "hello"))
        .await
        .expect("answered");
    assert_eq!(resp.status, CommandStatus::ESME_ROK);
    let Body::SubmitSmResp(resp) = resp.body else {
        panic!("not a submit_sm_resp")
    };
    let id = resp.message_id.to_str().expect("ascii").to_string();
    let stored = node
        .node
        .store
        .message(&id)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored.account, "acme");
    assert_eq!(stored.destination.addr, VALID_NUMBER);
    let account = common::stored_account(&node.node, "acme").await;
    assert_eq!(account.credits, 999);
}

/// A customer that unbinds right behind its submits gets every
/// submit_sm_resp before the unbind_resp (before, the unbind was answered
/// at once and the answers of messages still being stored were lost, so
/// the customer sent them again).
#[tokio::test]
async fn submits_sent_just_before_an_unbind_are_answered_before_the_unbind_resp() {
    let node = TestNode::start().await;
    node.add_account("acme", "secret", |account| account.window = 50)
        .await;
    let (client, status) = bind_trx(node.addr(), "acme", "secret").await;
    assert_eq!(status, CommandStatus::ESME_ROK);
    let mut pending = Vec::new();
    for n in 0..20 {
        pending.push(
            client
                .start_request(submit(VALID_NUMBER, &format!("message {n}")))
                .await
                .expect("sent"),
        );
    }
    client.unbind().await.expect("unbind answered");
    for answer in pending {
        let resp = answer
            .response()
            .await
            .expect("answered before the unbind_resp");
        assert_eq!(resp.status, CommandStatus::ESME_ROK);
    }
    let account = common::stored_account(&node.node, "acme").await;
    assert_eq!(account.credits, 1000 - 20);
}

#[tokio::test]
async fn wrong_password_and_unknown_system_id_get_the_same_answer() {
    let node = TestNode::start().await;
    node.add_account("acme", "secret", |_| {}).await;
    let (_, wrong) = bind_trx(node.addr(), "acme", "Secret").await;
    let (_, unknown) = bind_trx(node.addr(), "nobody", "secret").await;
    assert_eq!(wrong, CommandStatus::ESME_RINVPASWD);
    assert_eq!(unknown, CommandStatus::ESME_RINVPASWD);
}

#[tokio::test]
async fn credentials_longer_than_smpp_34_allows_are_accepted() {
    let node = TestNode::start().await;
    let long_id = "a-customer-with-a-long-system-id";
    let long_secret = "a password much longer than eight octets";
    node.add_account(long_id, long_secret, |_| {}).await;
    let (_, status) = bind_trx(node.addr(), long_id, long_secret).await;
    assert_eq!(status, CommandStatus::ESME_ROK);
}

#[tokio::test]
async fn disabled_account_address_outside_allowlist_and_too_many_binds_get_bind_failed() {
    let node = TestNode::start().await;
    node.add_account("off", "pw", |a| a.credits = 1).await;
    common::disable_account(&node.node, "off").await;
    node.add_account("fenced", "pw", |a| {
        a.allowed_ips = vec!["10.1.2.0/24".parse().expect("cidr")]
    })
    .await;
    node.add_account("single", "pw", |a| a.max_binds = 1).await;
    node.add_account("rx-only", "pw", |a| a.bind_types = vec![BindType::Receiver])
        .await;

    assert_eq!(
        bind_trx(node.addr(), "off", "pw").await.1,
        CommandStatus::ESME_RBINDFAIL
    );
    assert_eq!(
        bind_trx(node.addr(), "fenced", "pw").await.1,
        CommandStatus::ESME_RBINDFAIL
    );
    assert_eq!(
        bind_trx(node.addr(), "rx-only", "pw").await.1,
        CommandStatus::ESME_RBINDFAIL
    );
    let (_first, status) = bind_trx(node.addr(), "single", "pw").await;
    assert_eq!(status, CommandStatus::ESME_ROK);
    assert_eq!(
        bind_trx(node.addr(), "single", "pw").await.1,
        CommandStatus::ESME_RBINDFAIL
    );
}

#[tokio::test]
async fn allowlisted_address_may_bind() {
    let node = TestNode::start().await;
    node.add_account("fenced", "pw", |a| {
        a.allowed_ips = vec!["127.0.0.0/8".parse().expect("cidr")]
    })
    .await;
    assert_eq!(
        bind_trx(node.addr(), "fenced", "pw").await.1,
        CommandStatus::ESME_ROK
    );
}

#[tokio::test]
async fn submit_before_bind_and_on_a_receiver_get_invalid_bind_status() {
    let node = TestNode::start().await;
    node.add_account("acme", "pw", |_| {}).await;
    let (open, events) = connect(node.addr()).await;
    answer_requests_ok(events);
    let resp = open
        .request(submit(VALID_NUMBER, "hi"))
        .await
        .expect("answered");
    assert_eq!(resp.status, CommandStatus::ESME_RINVBNDSTS);

    let (rx, events) = connect(node.addr()).await;
    answer_requests_ok(events);
    let bound = rx
        .request(Body::BindReceiver(bind_body("acme", "pw")))
        .await
        .expect("bind");
    assert_eq!(bound.status, CommandStatus::ESME_ROK);
    let resp = rx
        .request(submit(VALID_NUMBER, "hi"))
        .await
        .expect("answered");
    assert_eq!(resp.status, CommandStatus::ESME_RINVBNDSTS);
}

#[tokio::test]
async fn second_bind_on_a_bound_session_gets_already_bound() {
    let node = TestNode::start().await;
    node.add_account("acme", "pw", |_| {}).await;
    let (client, status) = bind_trx(node.addr(), "acme", "pw").await;
    assert_eq!(status, CommandStatus::ESME_ROK);
    let again = client
        .request(Body::BindTransceiver(bind_body("acme", "pw")))
        .await
        .expect("answered");
    assert_eq!(again.status, CommandStatus::ESME_RALYBND);
}

#[tokio::test]
async fn unknown_command_gets_generic_nack_and_the_session_goes_on() {
    let node = TestNode::start().await;
    node.add_account("acme", "pw", |_| {}).await;
    let mut raw = TcpStream::connect(node.addr()).await.expect("connect");
    let mut frame = vec![0, 0, 0, 16, 0, 0, 0, 0x42, 0, 0, 0, 0, 0, 0, 0, 7];
    frame.extend_from_slice(&Pdu::new(8, Body::EnquireLink).to_bytes());
    raw.write_all(&frame).await.expect("write");
    let mut answer = [0u8; 32];
    raw.read_exact(&mut answer).await.expect("two answers");
    let nack =
        Pdu::decode(Bytes::copy_from_slice(&answer[..16]), &Default::default()).expect("pdu");
    assert_eq!(
        (nack.body, nack.status, nack.sequence),
        (Body::GenericNack, CommandStatus::ESME_RINVCMDID, 7)
    );
    let link =
        Pdu::decode(Bytes::copy_from_slice(&answer[16..]), &Default::default()).expect("pdu");
    assert_eq!((link.body, link.sequence), (Body::EnquireLinkResp, 8));
}

#[tokio::test]
async fn each_validation_failure_gets_its_status_and_charges_nothing() {
    let node = TestNode::start().await;
    node.add_account("acme", "pw", |a| {
        a.credits = 10;
        a.allowed_senders = vec!["Acme".into()];
    })
    .await;
    let (client, _) = bind_trx(node.addr(), "acme", "pw").await;
    let base = |f: &dyn Fn(&mut SubmitSm)| {
        let Body::SubmitSm(mut sm) = submit(VALID_NUMBER, "hi") else {
            unreachable!()
        };
        f(&mut sm);
        Body::SubmitSm(sm)
    };
    let cases: Vec<(&str, Body, CommandStatus)> = vec![
        (
            "invalid destination",
            submit("12", "hi"),
            CommandStatus::ESME_RINVDSTADR,
        ),
        (
            "empty destination",
            submit("", "hi"),
            CommandStatus::ESME_RINVDSTADR,
        ),
        (
            "sender not allowed",
            base(&|sm| sm.source.addr = COctetString::from_static("Other")),
            CommandStatus::ESME_RINVSRCADR,
        ),
        (
            "unknown data_coding",
            base(&|sm| sm.data_coding = 0x05),
            CommandStatus::ESME_RINVDCS,
        ),
        (
            "short_message and message_payload",
            base(&|sm| {
                sm.tlvs
                    .push(smpp::Tlv::MessagePayload(Bytes::from_static(b"x")))
            }),
            CommandStatus::ESME_RINVMSGLEN,
        ),
        (
            "bad validity",
            base(&|sm| sm.validity_period = COctetString::from_static("not-a-time")),
            CommandStatus::ESME_RINVEXPIRY,
        ),
        (
            "bad schedule",
            base(&|sm| sm.schedule_delivery_time = COctetString::from_static("991399000000000+")),
            CommandStatus::ESME_RINVSCHED,
        ),
    ];
    for (name, body, expected) in cases {
        let resp = client.request(body).await.expect("answered");
        assert_eq!(resp.status, expected, "{name}");
    }
    let account = common::stored_account(&node.node, "acme").await;
    assert_eq!(account.credits, 10, "nothing was charged");
}

#[tokio::test]
async fn no_credits_left_gets_submit_failed() {
    let node = TestNode::start().await;
    node.add_account("acme", "pw", |a| a.credits = 1).await;
    let (client, _) = bind_trx(node.addr(), "acme", "pw").await;
    assert_eq!(
        client
            .request(submit(VALID_NUMBER, "one"))
            .await
            .expect("ok")
            .status,
        CommandStatus::ESME_ROK
    );
    assert_eq!(
        client
            .request(submit(VALID_NUMBER, "two"))
            .await
            .expect("ok")
            .status,
        CommandStatus::ESME_RSUBMITFAIL
    );
}

#[tokio::test]
async fn over_the_account_rate_gets_throttled() {
    let node = TestNode::start().await;
    node.add_account("acme", "pw", |a| a.tps = Some(2)).await;
    let (first, _) = bind_trx(node.addr(), "acme", "pw").await;
    let (second, _) = bind_trx(node.addr(), "acme", "pw").await;
    let mut statuses = Vec::new();
    for client in [&first, &second, &first, &second] {
        statuses.push(
            client
                .request(submit(VALID_NUMBER, "x"))
                .await
                .expect("ok")
                .status,
        );
    }
    let throttled = statuses
        .iter()
        .filter(|s| **s == CommandStatus::ESME_RTHROTTLED)
        .count();
    assert!(
        throttled >= 1,
        "the rate is shared by both sessions: {statuses:?}"
    );
}

#[tokio::test]
async fn credit_race_over_ten_sessions_accepts_exactly_the_credits() {
    let node = TestNode::start().await;
    node.add_account("acme", "pw", |a| {
        a.credits = 100;
        a.max_binds = 10;
        a.window = 100;
    })
    .await;
    let mut clients = Vec::new();
    for _ in 0..10 {
        let (client, status) = bind_trx(node.addr(), "acme", "pw").await;
        assert_eq!(status, CommandStatus::ESME_ROK);
        clients.push(client);
    }
    let mut submits = tokio::task::JoinSet::new();
    for i in 0..1000 {
        let client = clients[i % 10].clone();
        submits.spawn(async move {
            client
                .request(submit(VALID_NUMBER, "race"))
                .await
                .expect("answered")
                .status
        });
    }
    let mut accepted = 0;
    let mut refused = 0;
    while let Some(status) = submits.join_next().await {
        match status.expect("task") {
            CommandStatus::ESME_ROK => accepted += 1,
            CommandStatus::ESME_RSUBMITFAIL => refused += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((accepted, refused), (100, 900));
    let account = common::stored_account(&node.node, "acme").await;
    assert_eq!(account.credits, 0);
}

#[tokio::test]
async fn requests_beyond_the_window_are_throttled() {
    let node = TestNode::start().await;
    node.add_account("acme", "pw", |a| {
        a.window = 1;
        a.credits = 10_000;
    })
    .await;
    let (client, _) = bind_trx(node.addr(), "acme", "pw").await;
    let mut submits = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let client = client.clone();
        submits.spawn(async move {
            client
                .request(submit(VALID_NUMBER, "w"))
                .await
                .expect("answered")
                .status
        });
    }
    let mut throttled = 0;
    while let Some(status) = submits.join_next().await {
        if status.expect("task") == CommandStatus::ESME_RTHROTTLED {
            throttled += 1;
        }
    }
    assert!(
        throttled > 0,
        "a window of 1 cannot take 50 submits at once"
    );
}

#[tokio::test]
async fn a_customer_keeping_exactly_its_window_outstanding_is_never_throttled() {
    let node = TestNode::start().await;
    node.add_account("acme", "pw", |a| {
        a.window = 10;
        a.credits = 100_000;
    })
    .await;
    // The client's own window is 10 as well: it sends the next submit the
    // moment an answer frees one of its slots.
    let (client, _) = bind_trx(node.addr(), "acme", "pw").await;
    let mut submits = tokio::task::JoinSet::new();
    for _ in 0..2000 {
        let client = client.clone();
        submits.spawn(async move {
            client
                .request(submit(VALID_NUMBER, "at the window"))
                .await
                .expect("answered")
                .status
        });
    }
    let mut refused = Vec::new();
    while let Some(status) = submits.join_next().await {
        let status = status.expect("task");
        if status != CommandStatus::ESME_ROK {
            refused.push(status);
        }
    }
    assert!(refused.is_empty(), "refused at the window: {refused:?}");
}

#[tokio::test]
async fn five_failed_binds_block_the_address_until_the_block_expires() {
    let node = TestNode::start().await;
    node.add_account("acme", "pw", |_| {}).await;
    for _ in 0..5 {
        assert_eq!(
            bind_trx(node.addr(), "acme", "wrong").await.1,
            CommandStatus::ESME_RINVPASWD
        );
    }
    assert_eq!(
        bind_trx(node.addr(), "acme", "pw").await.1,
        CommandStatus::ESME_RBINDFAIL,
        "blocked even with the right password"
    );
    node.clock.advance(Duration::from_secs(15 * 60 + 1));
    assert_eq!(
        bind_trx(node.addr(), "acme", "pw").await.1,
        CommandStatus::ESME_ROK
    );
}

#[tokio::test]
async fn connection_that_does_not_bind_in_time_is_closed() {
    let node = TestNode::start_with(|c| c.smpp.bind_timeout = Duration::from_millis(200)).await;
    let mut raw = TcpStream::connect(node.addr()).await.expect("connect");
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(5), raw.read(&mut buf)).await;
    assert!(matches!(read, Ok(Ok(0))), "closed by the server: {read:?}");
}

#[tokio::test]
async fn silent_session_is_closed_after_the_inactivity_timeout() {
    let node = TestNode::start_with(|c| {
        c.smpp.inactivity_timeout = Duration::from_millis(300);
        c.smpp.enquire_link_interval = Duration::from_secs(60);
    })
    .await;
    node.add_account("acme", "pw", |_| {}).await;
    let (client, status) = bind_trx(node.addr(), "acme", "pw").await;
    assert_eq!(status, CommandStatus::ESME_ROK);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(client.is_closed());
}

#[tokio::test]
async fn tls_bind_and_submit_work_with_the_generated_certificate() {
    let node = TestNode::start().await;
    node.add_account("acme", "pw", |_| {}).await;
    let pem = std::fs::read(node.dir.path().join("tls/cert.pem")).expect("generated cert");
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(cert.expect("cert")).expect("added");
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(node.node.smpp.tls_addr().expect("tls"))
        .await
        .expect("connect");
    let name = rustls_pki_types::ServerName::try_from("localhost").expect("name");
    let tls = connector.connect(name, tcp).await.expect("handshake");
    let (client, events) = session::start(tls, common::client_session_config());
    answer_requests_ok(events);
    let bound = client
        .request(Body::BindTransceiver(bind_body("acme", "pw")))
        .await
        .expect("bind");
    assert_eq!(bound.status, CommandStatus::ESME_ROK);
    let resp = client
        .request(submit(VALID_NUMBER, "over tls"))
        .await
        .expect("submit");
    assert_eq!(resp.status, CommandStatus::ESME_ROK);
    let sessions = node.node.smpp.context().registry.list();
    assert!(sessions.iter().any(|s| s.tls && s.system_id == "acme"));
}

#[tokio::test]
async fn legacy_sha1_hash_binds_and_is_upgraded_to_argon2id() {
    let node = TestNode::start().await;
    node.add_account("Test1", "unused", |a| {
        a.password_hash =
            password::legacy_sha1("DC215545BA63D605FBCD647A9555270F566D918B").expect("hex");
    })
    .await;
    assert_eq!(
        bind_trx(node.addr(), "Test1", "Pwd1").await.1,
        CommandStatus::ESME_ROK
    );
    let mut upgraded = false;
    for _ in 0..50 {
        let account = common::stored_account(&node.node, "Test1").await;
        if account.password_hash.starts_with("$argon2id$") {
            upgraded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(upgraded, "the hash is replaced after the good bind");
    assert_eq!(
        bind_trx(node.addr(), "Test1", "Pwd1").await.1,
        CommandStatus::ESME_ROK
    );
}

#[tokio::test]
async fn shutdown_unbinds_bound_sessions() {
    let node = TestNode::start().await;
    node.add_account("acme", "pw", |_| {}).await;
    let (client, mut events) = connect(node.addr()).await;
    let bind = client.request(Body::BindTransceiver(bind_body("acme", "pw")));
    let (resp, ()) = tokio::join!(bind, async {});
    assert_eq!(resp.expect("bind").status, CommandStatus::ESME_ROK);
    let shutdown = tokio::spawn(node.node.shutdown());
    let mut saw_unbind = false;
    while let Some(event) = events.recv().await {
        match event {
            SessionEvent::Unbound => saw_unbind = true,
            SessionEvent::Closed(_) => break,
            SessionEvent::Request(request) => request.respond_status(CommandStatus::ESME_ROK),
            _ => {}
        }
    }
    assert!(saw_unbind, "the server sent unbind");
    shutdown.await.expect("shutdown finished");
}

#[tokio::test]
async fn connections_past_the_limit_of_bound_sessions_are_closed_at_once() {
    let node = TestNode::start_with(|c| c.smpp.max_connections = 2).await;
    node.add_account("acme", "pw", |_| {}).await;
    let (_first, status) = bind_trx(node.addr(), "acme", "pw").await;
    assert_eq!(status, CommandStatus::ESME_ROK);
    let (_second, status) = bind_trx(node.addr(), "acme", "pw").await;
    assert_eq!(status, CommandStatus::ESME_ROK);
    let mut third = TcpStream::connect(node.addr())
        .await
        .expect("tcp accepts, then closes");
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(5), third.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "closed without a word: {read:?}"
    );
}

#[tokio::test]
async fn session_is_unbound_when_its_lifetime_ends() {
    let node = TestNode::start_with(|c| c.smpp.session_lifetime = Duration::from_millis(300)).await;
    node.add_account("acme", "pw", |_| {}).await;
    let (client, mut events) = connect(node.addr()).await;
    let bound = client
        .request(Body::BindTransceiver(bind_body("acme", "pw")))
        .await
        .expect("bind");
    assert_eq!(bound.status, CommandStatus::ESME_ROK);
    let mut saw_unbind = false;
    let wait = async {
        while let Some(event) = events.recv().await {
            match event {
                SessionEvent::Unbound => saw_unbind = true,
                SessionEvent::Closed(_) => break,
                SessionEvent::Request(request) => request.respond_status(CommandStatus::ESME_ROK),
                _ => {}
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .expect("session ended");
    assert!(saw_unbind, "the server unbinds before closing");
    let registry = &node.node.smpp.context().registry;
    for _ in 0..100 {
        if registry.count_for("acme") == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the ended session is still registered");
}

#[tokio::test]
async fn a_bind_storm_does_not_stall_a_bound_session() {
    let node = TestNode::start_with(|c| {
        c.security.max_failed_binds = 0;
        c.security.password_check_concurrency = 1;
        // 60 connections from one address, more than it may keep unbound
        // by default.
        c.smpp.max_unbound_per_ip = 100;
    })
    .await;
    node.add_account("acme", "pw", |a| a.credits = 100_000)
        .await;
    let (client, status) = bind_trx(node.addr(), "acme", "pw").await;
    assert_eq!(status, CommandStatus::ESME_ROK);

    // 60 binds with a wrong password, each needing an argon2id check, one
    // at a time: seconds of work queued behind the semaphore.
    let addr = node.addr();
    let storm_done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut storm = tokio::task::JoinSet::new();
    for _ in 0..60 {
        let storm_done = storm_done.clone();
        storm.spawn(async move {
            let (_, status) = bind_trx(addr, "acme", "wrong").await;
            storm_done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            status
        });
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    // The bound session's traffic is served while the storm is queued.
    for _ in 0..20 {
        let resp = client
            .request(submit(VALID_NUMBER, "during the storm"))
            .await
            .expect("answered");
        assert_eq!(resp.status, CommandStatus::ESME_ROK);
    }
    let finished = storm_done.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        finished < 60,
        "submits were answered before the storm was over ({finished} of 60 done)"
    );
    while let Some(status) = storm.join_next().await {
        assert_eq!(status.expect("task"), CommandStatus::ESME_RINVPASWD);
    }
}

#[tokio::test]
async fn command_length_below_the_header_gets_generic_nack_and_the_connection_closes() {
    let node = TestNode::start().await;
    let mut raw = TcpStream::connect(node.addr()).await.expect("connect");
    raw.write_all(&[0, 0, 0, 8, 0, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 9])
        .await
        .expect("write");
    let mut answer = [0u8; 16];
    raw.read_exact(&mut answer).await.expect("a generic_nack");
    let nack = Pdu::decode(Bytes::copy_from_slice(&answer), &Default::default()).expect("pdu");
    assert_eq!(
        (nack.body, nack.status, nack.sequence),
        (Body::GenericNack, CommandStatus::ESME_RINVCMDLEN, 9)
    );
    let mut rest = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(10), raw.read(&mut rest)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "then closed: {read:?}"
    );
}

#[tokio::test]
async fn alphanumeric_sender_longer_than_eleven_characters_is_refused() {
    let node = TestNode::start().await;
    node.add_account("acme", "pw", |_| {}).await;
    let (client, _) = bind_trx(node.addr(), "acme", "pw").await;
    let Body::SubmitSm(mut sm) = submit(VALID_NUMBER, "hi") else {
        unreachable!()
    };
    sm.source.addr = COctetString::from_static("TwelveLetter");
    let resp = client.request(Body::SubmitSm(sm)).await.expect("answered");
    assert_eq!(resp.status, CommandStatus::ESME_RINVSRCADR);
}
