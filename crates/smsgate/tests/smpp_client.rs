//! The smpp connector over real TCP and TLS sockets on 127.0.0.1, against
//! the in-process provider simulator: submits and their outcomes, receipts
//! and MO from any bind, reconnecting, rate and window limits, recycling.
//!
//! Where a test needs to kill the provider's connections abruptly (a graceful
//! simulator shutdown answers everything first) or to speak TLS, a small
//! proxy of this file sits between the connector and the simulator.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use smpp::receipt::ReceiptStat;
use smpp::types::{npi, ton};
use smpp::{Address, COctetString, CommandStatus};
use smsgate::connectors::sim::{Delay, RejectStatus, SimConfig, SimServer, SimStats};
use smsgate::connectors::smpp_client::{BindType, HostConfig, SmppClient, SmppClientConfig};
use smsgate::connectors::{
    ConnectorHealth, Inbound, InboundEvent, OutboundSegment, ProviderReceipt, SubmitFailure,
    SubmitOutcome,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Long enough for anything that should happen; only reached on failure.
const PATIENCE: Duration = Duration::from_secs(10);

fn local() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A provider that answers at once and sends receipts after 5 ms.
fn fast_sim() -> SimConfig {
    SimConfig {
        latency: Delay::fixed(Duration::ZERO),
        receipt_delay: Delay::fixed(Duration::from_millis(5)),
        receipt_retry_delay: Duration::from_millis(20),
        system_id: "acme".into(),
        password: "pw".into(),
        ..SimConfig::default()
    }
}

fn start_sim(addrs: usize, config: SimConfig) -> SimServer {
    SimServer::start(&vec![local(); addrs], config).expect("simulator starts")
}

/// A connector configuration with short timers, one bind per address.
fn client_config(addrs: &[SocketAddr]) -> SmppClientConfig {
    let hosts = addrs
        .iter()
        .map(|addr| HostConfig::plain(addr.to_string()))
        .collect();
    let mut config = SmppClientConfig::new("acme", "pw", hosts);
    config.response_timeout = Duration::from_secs(2);
    config.reconnect_min = Duration::from_millis(20);
    config.reconnect_max = Duration::from_millis(200);
    config.event_handoff_timeout = Duration::from_millis(100);
    config
}

fn start_client(config: SmppClientConfig) -> (SmppClient, mpsc::Receiver<Inbound>) {
    let (events, received) = mpsc::channel(100);
    let client = SmppClient::start("carrier".into(), config, events).expect("valid config");
    (client, received)
}

fn segment(id: usize, registered_delivery: u8) -> OutboundSegment {
    OutboundSegment {
        message_id: format!("m{id}"),
        source: Address::new(
            ton::ALPHANUMERIC,
            npi::UNKNOWN,
            COctetString::from_static("Shop"),
        ),
        destination: Address::new(
            ton::INTERNATIONAL,
            npi::ISDN,
            COctetString::from_static("447700900001"),
        ),
        esm_class: 0,
        protocol_id: 0,
        priority: 0,
        data_coding: 0,
        registered_delivery,
        validity_period: COctetString::empty(),
        short_message: Bytes::from(format!("Hello {id}")),
        tlvs: Vec::new(),
    }
}

/// Waits until the connector's health satisfies `done`.
async fn until_health(client: &SmppClient, done: impl Fn(&ConnectorHealth) -> bool) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let health = client.health();
        if done(&health) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "health never got there: {health:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits until the simulator's counters satisfy `done`.
async fn until_stats(server: &SimServer, done: impl Fn(&SimStats) -> bool) -> SimStats {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let stats = server.stats();
        if done(&stats) {
            return stats;
        }
        assert!(
            Instant::now() < deadline,
            "counters never got there: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The next event, confirmed stored at once (as tracking would after its commit).
async fn next_event(events: &mut mpsc::Receiver<Inbound>) -> InboundEvent {
    let Inbound { event, stored } = next_unconfirmed(events).await;
    stored.finish(Ok(()));
    event
}

/// The next event, not yet confirmed: its deliver_sm waits unanswered.
async fn next_unconfirmed(events: &mut mpsc::Receiver<Inbound>) -> Inbound {
    tokio::time::timeout(PATIENCE, events.recv())
        .await
        .expect("an event in time")
        .expect("events channel open")
}

async fn next_receipt(events: &mut mpsc::Receiver<Inbound>) -> ProviderReceipt {
    match next_event(events).await {
        InboundEvent::Receipt(receipt) => receipt,
        other => panic!("expected a receipt, got {other:?}"),
    }
}

fn accepted_id(outcome: SubmitOutcome) -> String {
    match outcome {
        SubmitOutcome::Accepted { provider_id } => provider_id,
        other => panic!("expected Accepted, got {other:?}"),
    }
}

/// Submits `count` segments at once and returns their outcomes in order.
async fn submit_all(client: &Arc<SmppClient>, count: usize) -> Vec<SubmitOutcome> {
    let tasks: Vec<_> = (0..count)
        .map(|i| {
            let client = Arc::clone(client);
            tokio::spawn(async move { client.submit(&segment(i, 1)).await })
        })
        .collect();
    let mut outcomes = Vec::with_capacity(count);
    for task in tasks {
        outcomes.push(task.await.expect("submit task"));
    }
    outcomes
}

#[tokio::test]
async fn accepted_submit_carries_the_providers_id_and_its_receipt_names_that_id() {
    let sim = start_sim(1, fast_sim());
    let (client, mut events) = start_client(client_config(sim.local_addrs()));
    let id = accepted_id(client.submit(&segment(1, 1)).await);
    assert!(!id.is_empty());
    let receipt = next_receipt(&mut events).await;
    assert_eq!(receipt.provider_id, id);
    assert_eq!(receipt.stat, ReceiptStat::Delivered);
    assert_eq!(receipt.connector, "carrier");
    assert!(receipt.done_at.is_some());
    let health = client.health();
    assert_eq!((health.submitted, health.refused, health.failed), (1, 0, 0));
    assert_eq!((health.bound, health.configured), (1, 1));
    client.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn provider_rejection_is_refused_with_its_status() {
    let sim = start_sim(
        1,
        SimConfig {
            accept_ratio: 0.0,
            reject_status: RejectStatus::Single(0x45),
            ..fast_sim()
        },
    );
    let (client, _events) = start_client(client_config(sim.local_addrs()));
    assert_eq!(
        client.submit(&segment(1, 1)).await,
        SubmitOutcome::Refused {
            status: CommandStatus(0x45)
        }
    );
    assert_eq!(client.health().refused, 1);
    client.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn receipts_arriving_on_any_bind_of_any_host_are_all_delivered() {
    let sim = start_sim(2, fast_sim());
    let mut config = client_config(sim.local_addrs());
    config.binds_per_host = 2;
    let (client, mut events) = start_client(config);
    let client = Arc::new(client);
    until_health(&client, |h| h.bound == 4).await;
    let ids: HashSet<String> = submit_all(&client, 12)
        .await
        .into_iter()
        .map(accepted_id)
        .collect();
    assert_eq!(ids.len(), 12);
    let mut receipted = HashSet::new();
    for _ in 0..12 {
        receipted.insert(next_receipt(&mut events).await.provider_id);
    }
    assert_eq!(receipted, ids);
    // The simulator sends receipts to its receivers in turn, so with four
    // binds most receipts came over a bind other than the submitting one.
    let stats = until_stats(&sim, |s| s.receipts_acknowledged == 12).await;
    assert_eq!(stats.binds, 4);
    Arc::into_inner(client).expect("one owner").shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn receipt_held_while_only_a_transmitter_was_bound_arrives_once_a_receiver_binds() {
    let sim = start_sim(1, fast_sim());
    let mut tx_config = client_config(sim.local_addrs());
    tx_config.bind_type = BindType::Transmitter;
    let (transmitter, mut tx_events) = start_client(tx_config);
    let id = accepted_id(transmitter.submit(&segment(1, 1)).await);
    until_stats(&sim, |s| s.receipts_held == 1).await;

    let mut rx_config = client_config(sim.local_addrs());
    rx_config.bind_type = BindType::Receiver;
    let (receiver, mut rx_events) = start_client(rx_config);
    assert_eq!(next_receipt(&mut rx_events).await.provider_id, id);
    assert!(
        tx_events.try_recv().is_err(),
        "a transmitter gets no receipts"
    );
    // A receiver never submits: with no transmitter it fails without sending.
    assert_eq!(
        receiver.submit(&segment(2, 1)).await,
        SubmitOutcome::Failed {
            reason: SubmitFailure::NotBound
        }
    );
    transmitter.shutdown().await;
    receiver.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn mo_deliver_sm_becomes_an_mo_event() {
    let sim = start_sim(
        1,
        SimConfig {
            mo_interval: Some(Delay::fixed(Duration::from_millis(20))),
            ..fast_sim()
        },
    );
    let (client, mut events) = start_client(client_config(sim.local_addrs()));
    match next_event(&mut events).await {
        InboundEvent::Mo(mo) => {
            assert_eq!(mo.source.addr, "447700900123");
            assert_eq!(mo.destination.addr, "12345");
            assert_eq!(&mo.short_message[..], b"Hello from smsgate sim");
            assert_eq!(mo.connector, "carrier");
        }
        other => panic!("expected MO, got {other:?}"),
    }
    client.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn full_events_channel_refuses_receipts_with_rx_t_appn_and_they_come_back_later() {
    let sim = start_sim(
        1,
        SimConfig {
            receipt_retries: 10,
            ..fast_sim()
        },
    );
    let (events, mut received) = mpsc::channel(1);
    let client = Arc::new(
        SmppClient::start("carrier".into(), client_config(sim.local_addrs()), events)
            .expect("valid config"),
    );
    let ids: HashSet<String> = submit_all(&client, 3)
        .await
        .into_iter()
        .map(accepted_id)
        .collect();
    // One receipt fills the channel; the others are refused and resent.
    until_stats(&sim, |s| s.receipts_sent > 3).await;
    let mut receipted = HashSet::new();
    for _ in 0..3 {
        receipted.insert(next_receipt(&mut received).await.provider_id);
    }
    assert_eq!(receipted, ids);
    let stats = until_stats(&sim, |s| s.receipts_acknowledged == 3).await;
    assert_eq!(stats.receipts_dropped, 0);
    Arc::into_inner(client).expect("one owner").shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_receipt_is_answered_only_once_stored_and_a_store_failure_makes_the_carrier_resend_it() {
    let sim = start_sim(
        1,
        SimConfig {
            receipt_retries: 5,
            ..fast_sim()
        },
    );
    let (client, mut events) = start_client(client_config(sim.local_addrs()));
    let id = accepted_id(client.submit(&segment(1, 1)).await);
    let first = next_unconfirmed(&mut events).await;
    assert!(matches!(&first.event, InboundEvent::Receipt(r) if r.provider_id == id));
    // Held by tracking, not stored yet: the carrier has no answer.
    let stats = until_stats(&sim, |s| s.receipts_sent == 1).await;
    assert_eq!(stats.receipts_acknowledged, 0);
    first.stored.finish(Err("database is locked".to_string()));
    // Refused with a temporary error: the carrier sends it again.
    let again = next_unconfirmed(&mut events).await;
    assert!(matches!(&again.event, InboundEvent::Receipt(r) if r.provider_id == id));
    assert_eq!(sim.stats().receipts_acknowledged, 0);
    again.stored.finish(Ok(()));
    let stats = until_stats(&sim, |s| s.receipts_acknowledged == 1).await;
    assert_eq!(stats.receipts_sent, 2);
    client.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_carrier_bursting_receipts_without_a_window_gets_esme_rok_for_every_one() {
    const COUNT: usize = 2_000;
    let sim = start_sim(
        1,
        SimConfig {
            receipt_delay: Delay::fixed(Duration::from_millis(200)),
            max_window: COUNT,
            ..fast_sim()
        },
    );
    let mut config = client_config(sim.local_addrs());
    config.window = 200;
    config.inbound_window = 50;
    let (events, mut received) = mpsc::channel(64);
    let client =
        Arc::new(SmppClient::start("carrier".into(), config, events).expect("valid config"));
    let ids: HashSet<String> = submit_all(&client, COUNT)
        .await
        .into_iter()
        .map(accepted_id)
        .collect();
    // A slow tracking: stores in batches of 20, well behind the burst.
    let mut receipted = HashSet::new();
    while receipted.len() < COUNT {
        let mut batch = Vec::new();
        let taken = tokio::time::timeout(PATIENCE, received.recv_many(&mut batch, 20))
            .await
            .expect("receipts keep coming");
        assert!(taken > 0, "the events channel closed");
        tokio::time::sleep(Duration::from_millis(1)).await;
        for Inbound { event, stored } in batch {
            if let InboundEvent::Receipt(receipt) = event {
                receipted.insert(receipt.provider_id);
            }
            stored.finish(Ok(()));
        }
    }
    assert_eq!(receipted, ids);
    let stats = until_stats(&sim, |s| s.receipts_acknowledged == COUNT as u64).await;
    assert_eq!(
        stats.receipts_sent, COUNT as u64,
        "a receipt was refused and sent again"
    );
    assert_eq!(stats.receipts_dropped, 0);
    Arc::into_inner(client).expect("one owner").shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn submits_in_flight_when_the_provider_dies_fail_and_the_connector_reconnects() {
    let sim = start_sim(
        1,
        SimConfig {
            latency: Delay::fixed(Duration::from_secs(30)),
            ..fast_sim()
        },
    );
    let proxy = Proxy::start(local(), sim.local_addr(), None).await;
    let port = proxy.addr;
    let mut config = client_config(&[port]);
    config.response_timeout = Duration::from_secs(5);
    let (client, _events) = start_client(config);
    let client = Arc::new(client);
    until_health(&client, |h| h.bound == 1).await;
    let pending = {
        let client = Arc::clone(&client);
        tokio::spawn(async move { submit_all(&client, 5).await })
    };
    until_stats(&sim, |s| s.submits == 5).await;
    proxy.kill();
    let outcomes = tokio::time::timeout(PATIENCE, pending)
        .await
        .expect("in-flight submits end")
        .expect("task");
    for outcome in outcomes {
        assert!(
            matches!(
                outcome,
                SubmitOutcome::Failed {
                    reason: SubmitFailure::ConnectionLost | SubmitFailure::Timeout
                }
            ),
            "{outcome:?}"
        );
    }
    until_health(&client, |h| h.bound == 0).await;
    sim.shutdown().await;

    let sim = start_sim(1, fast_sim());
    let proxy = Proxy::start(port, sim.local_addr(), None).await;
    until_health(&client, |h| h.bound == 1).await;
    accepted_id(client.submit(&segment(9, 1)).await);
    Arc::into_inner(client).expect("one owner").shutdown().await;
    proxy.kill();
    sim.shutdown().await;
}

#[tokio::test]
async fn wrong_password_never_binds_and_submits_fail_not_bound_with_the_error_in_health() {
    let sim = start_sim(1, fast_sim());
    let mut config = client_config(sim.local_addrs());
    config.password = "wrong".into();
    config.response_timeout = Duration::from_millis(300);
    let (client, _events) = start_client(config);
    until_stats(&sim, |s| s.failed_binds >= 1).await;
    let started = Instant::now();
    assert_eq!(
        client.submit(&segment(1, 1)).await,
        SubmitOutcome::Failed {
            reason: SubmitFailure::NotBound
        }
    );
    assert!(started.elapsed() >= Duration::from_millis(250));
    let health = client.health();
    assert_eq!(health.bound, 0);
    assert_eq!(health.failed, 1);
    let error = health.last_error.expect("an error is shown");
    assert!(error.contains("refused"), "{error}");
    assert!(error.contains("ESME_RINVPASWD"), "{error}");
    assert_eq!(sim.stats().submits, 0);
    client.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn tps_per_host_holds_submits_to_the_configured_rate() {
    let sim = start_sim(1, fast_sim());
    let mut config = client_config(sim.local_addrs());
    config.tps_per_host = Some(50);
    config.binds_per_host = 2;
    let (client, _events) = start_client(config);
    let client = Arc::new(client);
    until_health(&client, |h| h.bound == 2).await;
    let started = Instant::now();
    let outcomes = submit_all(&client, 60).await;
    let elapsed = started.elapsed();
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, SubmitOutcome::Accepted { .. }))
    );
    // The limit is shared by both binds of the host and spaces submits
    // 1/50 s apart: 60 take at least 59/50 = 1.18 s.
    assert!(elapsed >= Duration::from_secs(1), "took {elapsed:?}");
    let rate = client.health().rate;
    assert!(rate <= 55.0, "health reports {rate}/s");
    Arc::into_inner(client).expect("one owner").shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn window_of_two_never_gets_throttled_by_a_provider_allowing_two() {
    let sim = start_sim(
        1,
        SimConfig {
            latency: Delay::fixed(Duration::from_millis(5)),
            max_window: 2,
            ..fast_sim()
        },
    );
    let mut config = client_config(sim.local_addrs());
    config.window = 2;
    let (client, _events) = start_client(config);
    let client = Arc::new(client);
    let outcomes = submit_all(&client, 40).await;
    for outcome in &outcomes {
        assert!(
            matches!(outcome, SubmitOutcome::Accepted { .. }),
            "{outcome:?}"
        );
    }
    assert_eq!(sim.stats().rejected, 0);
    Arc::into_inner(client).expect("one owner").shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn recycling_binds_while_submits_flow_fails_no_submit() {
    let sim = start_sim(
        1,
        SimConfig {
            latency: Delay::fixed(Duration::from_millis(10)),
            ..fast_sim()
        },
    );
    let mut config = client_config(sim.local_addrs());
    config.session_lifetime = Duration::from_millis(150);
    let (client, _events) = start_client(config);
    let client = Arc::new(client);
    until_health(&client, |h| h.bound == 1).await;
    let workers: Vec<_> = (0..4)
        .map(|worker| {
            let client = Arc::clone(&client);
            tokio::spawn(async move {
                let until = Instant::now() + Duration::from_millis(800);
                let mut outcomes = Vec::new();
                let mut i = 0;
                while Instant::now() < until {
                    outcomes.push(client.submit(&segment(worker * 1000 + i, 0)).await);
                    i += 1;
                }
                outcomes
            })
        })
        .collect();
    let mut total = 0;
    for worker in workers {
        for outcome in worker.await.expect("worker") {
            assert!(
                matches!(outcome, SubmitOutcome::Accepted { .. }),
                "{outcome:?}"
            );
            total += 1;
        }
    }
    assert!(total > 20, "only {total} submits");
    let stats = sim.stats();
    assert!(stats.binds >= 3, "binds were not recycled: {stats:?}");
    assert_eq!(stats.accepted, total);
    Arc::into_inner(client).expect("one owner").shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn tls_host_with_a_ca_file_binds_submits_and_receives_receipts() {
    let sim = start_sim(1, fast_sim());
    let dir = tempfile::tempdir().expect("tempdir");
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, certified.cert.pem()).expect("write CA");
    let key = rustls_pki_types::PrivateKeyDer::try_from(certified.signing_key.serialize_der())
        .expect("key");
    let server =
        smsgate::ingress::smpp_server::tls::server_config(vec![certified.cert.der().clone()], key)
            .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
    let proxy = Proxy::start(local(), sim.local_addr(), Some(acceptor)).await;

    let mut config = client_config(&[proxy.addr]);
    config.hosts[0].tls = true;
    config.hosts[0].server_name = Some("localhost".into());
    config.hosts[0].ca_file = Some(ca_file);
    let (client, mut events) = start_client(config);
    let id = accepted_id(client.submit(&segment(1, 1)).await);
    assert_eq!(next_receipt(&mut events).await.provider_id, id);
    client.shutdown().await;
    proxy.kill();
    sim.shutdown().await;
}

#[tokio::test]
async fn tls_host_with_an_untrusted_certificate_never_binds() {
    let sim = start_sim(1, fast_sim());
    let dir = tempfile::tempdir().expect("tempdir");
    let served = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("cert");
    let other = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("cert");
    let ca_file = dir.path().join("other.pem");
    std::fs::write(&ca_file, other.cert.pem()).expect("write CA");
    let key =
        rustls_pki_types::PrivateKeyDer::try_from(served.signing_key.serialize_der()).expect("key");
    let server =
        smsgate::ingress::smpp_server::tls::server_config(vec![served.cert.der().clone()], key)
            .expect("server config");
    let proxy = Proxy::start(
        local(),
        sim.local_addr(),
        Some(tokio_rustls::TlsAcceptor::from(Arc::new(server))),
    )
    .await;
    let mut config = client_config(&[proxy.addr]);
    config.hosts[0].tls = true;
    config.hosts[0].ca_file = Some(ca_file);
    config.response_timeout = Duration::from_millis(300);
    let (client, _events) = start_client(config);
    assert_eq!(
        client.submit(&segment(1, 1)).await,
        SubmitOutcome::Failed {
            reason: SubmitFailure::NotBound
        }
    );
    let error = client.health().last_error.expect("an error is shown");
    assert!(error.contains("TLS"), "{error}");
    client.shutdown().await;
    proxy.kill();
    sim.shutdown().await;
}

#[tokio::test]
async fn missing_ca_file_is_a_configuration_error() {
    let mut config = client_config(&[SocketAddr::from(([127, 0, 0, 1], 1))]);
    config.hosts[0].tls = true;
    config.hosts[0].ca_file = Some("/nonexistent/ca.pem".into());
    let (events, _received) = mpsc::channel(1);
    let error = SmppClient::start("carrier".into(), config, events).expect_err("invalid");
    assert!(error.to_string().contains("/nonexistent/ca.pem"), "{error}");
}

/// A TCP (or TLS-terminating) proxy to the simulator whose connections can
/// be cut at once, as a provider that dies does.
struct Proxy {
    addr: SocketAddr,
    stop: CancellationToken,
}

impl Proxy {
    /// Listens on `listen` (reusing the address, so a killed proxy's port
    /// can be listened on again at once) and forwards to `upstream`.
    async fn start(
        listen: SocketAddr,
        upstream: SocketAddr,
        tls: Option<tokio_rustls::TlsAcceptor>,
    ) -> Proxy {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_reuseaddr(true).expect("reuseaddr");
        socket.bind(listen).expect("bind");
        let listener: TcpListener = socket.listen(64).expect("listen");
        let addr = listener.local_addr().expect("addr");
        let stop = CancellationToken::new();
        let accepting = stop.clone();
        tokio::spawn(async move {
            loop {
                let (client, _) = tokio::select! {
                    () = accepting.cancelled() => return,
                    accepted = listener.accept() => match accepted {
                        Ok(accepted) => accepted,
                        Err(_) => return,
                    },
                };
                let stop = accepting.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        () = stop.cancelled() => {}
                        () = async {
                            match tls {
                                Some(acceptor) => {
                                    if let Ok(mut client) = acceptor.accept(client).await {
                                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                                    }
                                }
                                None => {
                                    let mut client = client;
                                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                                }
                            }
                        } => {}
                    }
                });
            }
        });
        Proxy { addr, stop }
    }

    /// Cuts every connection and stops listening.
    fn kill(&self) {
        self.stop.cancel();
    }
}
