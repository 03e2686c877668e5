//! The provider simulator over real sockets, with our own SMPP session layer
//! as the ESME: binds, answers, receipts and where they arrive, MO, seeds,
//! counters, and the `smsgate sim` binary.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use smpp::receipt::{Receipt, ReceiptStat};
use smpp::session::{self, SessionConfig, SessionEvent, SessionHandle};
use smpp::tlv::TlvList;
use smpp::types::{esm_class, npi, ton};
use smpp::{
    Address, Bind, Body, COctetString, CommandStatus, DataSm, DeliverSm, Pdu, SubmitSm, Tlv,
};
use smsgate::connectors::sim::{
    Delay, MessageIdFormat, ReceiptMix, RejectStatus, SimConfig, SimServer, SimStats,
};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// Long enough for anything that should arrive; only reached on failure.
const PATIENCE: Duration = Duration::from_secs(5);
/// How long to watch for something that must not arrive: many times the
/// receipt delay of [`fast`].
const QUIET: Duration = Duration::from_millis(60);

/// Answers at once, receipts after 5 ms, resends after 5 ms.
fn fast() -> SimConfig {
    SimConfig {
        latency: Delay::fixed(Duration::ZERO),
        receipt_delay: Delay::fixed(Duration::from_millis(5)),
        receipt_retry_delay: Duration::from_millis(5),
        ..SimConfig::default()
    }
}

fn local() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn start(config: SimConfig) -> SimServer {
    SimServer::start(&[local()], config).expect("simulator starts")
}

/// One ESME connection. Every deliver_sm it gets is answered with
/// `answer` and handed to the test through `deliveries`.
struct Esme {
    handle: SessionHandle,
    deliveries: mpsc::UnboundedReceiver<DeliverSm>,
}

impl Esme {
    async fn connect(addr: SocketAddr) -> Esme {
        Esme::connect_answering(addr, CommandStatus::ESME_ROK).await
    }

    async fn connect_answering(addr: SocketAddr, answer: CommandStatus) -> Esme {
        let stream = TcpStream::connect(addr).await.expect("connect");
        let (handle, mut events) = session::start(
            stream,
            SessionConfig {
                enquire_link_interval: None,
                ..SessionConfig::default()
            },
        );
        let (tx, deliveries) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                let SessionEvent::Request(request) = event else {
                    continue;
                };
                let smpp::session::InboundRequest { pdu, responder } = request;
                match pdu.body {
                    Body::DeliverSm(sm) => {
                        if answer.is_ok() {
                            responder.respond(Body::DeliverSmResp(Default::default()));
                        } else {
                            responder.respond_status(answer);
                        }
                        let _ = tx.send(sm);
                    }
                    _ => responder.respond_status(CommandStatus::ESME_RINVCMDID),
                }
            }
        });
        Esme { handle, deliveries }
    }

    /// Connects and binds; panics unless the bind succeeds.
    async fn bound(addr: SocketAddr, kind: fn(Bind) -> Body, system_id: &str) -> Esme {
        let esme = Esme::connect(addr).await;
        assert_eq!(
            esme.bind(kind, system_id, "pw").await.status,
            CommandStatus::ESME_ROK
        );
        esme
    }

    async fn bind(&self, kind: fn(Bind) -> Body, system_id: &str, password: &str) -> Pdu {
        let bind = Bind {
            system_id: COctetString::try_from(system_id).expect("no NUL"),
            password: COctetString::try_from(password).expect("no NUL"),
            interface_version: 0x34,
            ..Bind::default()
        };
        self.handle
            .request(kind(bind))
            .await
            .expect("bind answered")
    }

    async fn submit(&self, registered_delivery: u8) -> Pdu {
        self.submit_text("Hello from the test", registered_delivery)
            .await
    }

    async fn submit_text(&self, text: &str, registered_delivery: u8) -> Pdu {
        self.handle
            .request(submit_sm(text, registered_delivery))
            .await
            .expect("submit answered")
    }

    /// The next deliver_sm; panics if none comes.
    async fn delivery(&mut self) -> DeliverSm {
        tokio::time::timeout(PATIENCE, self.deliveries.recv())
            .await
            .expect("a deliver_sm in time")
            .expect("session open")
    }

    /// Panics if a deliver_sm comes within `QUIET`.
    async fn no_delivery(&mut self) {
        if let Ok(Some(sm)) = tokio::time::timeout(QUIET, self.deliveries.recv()).await {
            panic!("unexpected deliver_sm: {sm:?}");
        }
    }
}

fn submit_sm(text: &str, registered_delivery: u8) -> Body {
    Body::SubmitSm(SubmitSm {
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
        registered_delivery,
        short_message: Bytes::copy_from_slice(text.as_bytes()),
        ..SubmitSm::default()
    })
}

fn message_id(resp: &Pdu) -> String {
    match &resp.body {
        Body::SubmitSmResp(resp) | Body::DataSmResp(resp) => resp.message_id.to_string(),
        other => panic!("not a submit resp: {other:?}"),
    }
}

fn receipted_id(sm: &DeliverSm) -> String {
    sm.tlvs
        .receipted_message_id()
        .expect("receipted_message_id TLV")
        .to_string()
}

/// Waits until the simulator's counters satisfy `done`.
async fn until(server: &SimServer, done: impl Fn(&SimStats) -> bool) -> SimStats {
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
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test]
async fn bind_with_the_configured_credentials_succeeds_and_anything_else_gets_invalid_password() {
    let server = start(SimConfig {
        system_id: "acme".into(),
        password: "secret".into(),
        ..fast()
    });
    let addr = server.local_addr();

    let wrong_password = Esme::connect(addr).await;
    let resp = wrong_password
        .bind(Body::BindTransceiver, "acme", "guess")
        .await;
    assert_eq!(resp.status, CommandStatus::ESME_RINVPASWD);
    let unknown_id = Esme::connect(addr).await;
    let resp = unknown_id
        .bind(Body::BindTransmitter, "nobody", "secret")
        .await;
    assert_eq!(
        resp.status,
        CommandStatus::ESME_RINVPASWD,
        "unknown ids look like bad passwords"
    );

    let right = Esme::connect(addr).await;
    let resp = right.bind(Body::BindTransceiver, "acme", "secret").await;
    assert_eq!(resp.status, CommandStatus::ESME_ROK);
    let Body::BindTransceiverResp(bind_resp) = resp.body else {
        panic!("not a bind_transceiver_resp: {resp:?}");
    };
    assert_eq!(bind_resp.system_id, "smsgate-sim");

    let stats = server.stats();
    assert_eq!((stats.binds, stats.failed_binds), (1, 2));
}

#[tokio::test]
async fn any_credentials_bind_when_none_are_configured() {
    let server = start(fast());
    for (kind, id) in [
        (Body::BindTransmitter as fn(Bind) -> Body, "one"),
        (Body::BindReceiver, "two"),
        (
            Body::BindTransceiver,
            "a-system-id-longer-than-smpp-34-allows",
        ),
    ] {
        let esme = Esme::connect(server.local_addr()).await;
        assert_eq!(
            esme.bind(kind, id, "anything").await.status,
            CommandStatus::ESME_ROK
        );
    }
    assert_eq!(server.stats().binds, 3);
}

#[tokio::test]
async fn submit_before_bind_or_on_a_receiver_gets_invalid_bind_status_and_a_second_bind_already_bound()
 {
    let server = start(fast());
    let unbound = Esme::connect(server.local_addr()).await;
    assert_eq!(
        unbound.submit(1).await.status,
        CommandStatus::ESME_RINVBNDSTS
    );

    let receiver = Esme::bound(server.local_addr(), Body::BindReceiver, "acme").await;
    assert_eq!(
        receiver.submit(1).await.status,
        CommandStatus::ESME_RINVBNDSTS
    );
    let again = receiver.bind(Body::BindTransceiver, "acme", "pw").await;
    assert_eq!(again.status, CommandStatus::ESME_RALYBND);
    assert_eq!(server.stats().submits, 0);
}

#[tokio::test]
async fn accepted_submit_gets_a_hex_id_and_a_receipt_carrying_that_id() {
    let server = start(fast());
    let mut esme = Esme::bound(server.local_addr(), Body::BindTransceiver, "acme").await;

    let resp = esme.submit_text("Your code is 1234", 1).await;
    assert_eq!(resp.status, CommandStatus::ESME_ROK);
    let id = message_id(&resp);
    assert!(
        id.len() >= 10 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );

    let receipt = esme.delivery().await;
    assert_eq!(receipt.esm_class, esm_class::DELIVERY_RECEIPT);
    assert_eq!(receipted_id(&receipt), id);
    assert_eq!(receipt.tlvs.message_state(), Some(2));
    assert!(
        receipt
            .tlvs
            .find_tag(smpp::tlv::tag::NetworkErrorCode)
            .is_none()
    );
    assert_eq!(receipt.source.addr, "447700900001", "from the handset");
    assert_eq!(receipt.destination.addr, "Shop", "to the sender");
    let text = Receipt::parse(&receipt.short_message).expect("standard receipt text");
    assert_eq!(text.id, id);
    assert_eq!(text.stat, ReceiptStat::Delivered);
    assert_eq!(
        (text.submitted, text.delivered, text.err.as_str()),
        (1, 1, "000")
    );
    assert_eq!(text.text, "Your code is 1234");
    assert!(text.submit_date.is_some() && text.done_date.is_some());
}

#[tokio::test]
async fn message_ids_follow_the_configured_format() {
    for (format, valid) in [
        (
            MessageIdFormat::Decimal,
            (|id: &str| id.bytes().all(|b| b.is_ascii_digit())) as fn(&str) -> bool,
        ),
        (MessageIdFormat::Uuid, |id: &str| {
            id.len() == 36 && id.split('-').count() == 5
        }),
    ] {
        let server = start(SimConfig {
            message_id_format: format,
            ..fast()
        });
        let mut esme = Esme::bound(server.local_addr(), Body::BindTransceiver, "acme").await;
        let id = message_id(&esme.submit(1).await);
        assert!(valid(&id), "{format:?}: {id}");
        let receipt = esme.delivery().await;
        assert_eq!(receipted_id(&receipt), id);
        let text = Receipt::parse(&receipt.short_message).expect("receipt");
        assert_eq!(text.id, id);
    }
}

#[tokio::test]
async fn receipt_states_follow_the_mix_and_failures_carry_their_error_codes() {
    let server = start(SimConfig {
        receipt_mix: ReceiptMix {
            delivered: 0,
            undeliverable: 1,
            expired: 1,
            rejected: 0,
        },
        seed: Some(5),
        ..fast()
    });
    let mut esme = Esme::bound(server.local_addr(), Body::BindTransceiver, "acme").await;
    for _ in 0..20 {
        assert_eq!(esme.submit(1).await.status, CommandStatus::ESME_ROK);
    }
    let mut seen = Vec::new();
    for _ in 0..20 {
        let receipt = esme.delivery().await;
        let text = Receipt::parse(&receipt.short_message).expect("receipt");
        let (state, err, code) = match text.stat {
            ReceiptStat::Undeliverable => (5, "001", 1),
            ReceiptStat::Expired => (3, "027", 27),
            other => panic!("{other} is not in the mix"),
        };
        assert_eq!(receipt.tlvs.message_state(), Some(state));
        assert_eq!(text.err, err);
        assert_eq!(text.delivered, 0);
        assert_eq!(
            receipt.tlvs.find_tag(smpp::tlv::tag::NetworkErrorCode),
            Some(&Tlv::NetworkErrorCode {
                network_type: 3,
                error_code: code
            })
        );
        seen.push(state);
    }
    assert!(
        seen.contains(&5) && seen.contains(&3),
        "both states drawn: {seen:?}"
    );
}

#[tokio::test]
async fn accept_ratio_zero_rejects_every_submit_with_the_configured_status_and_sends_no_receipt() {
    let server = start(SimConfig {
        accept_ratio: 0.0,
        reject_status: RejectStatus::Single(0x58),
        ..fast()
    });
    let mut esme = Esme::bound(server.local_addr(), Body::BindTransceiver, "acme").await;
    for _ in 0..5 {
        let resp = esme.submit(1).await;
        assert_eq!(resp.status, CommandStatus::ESME_RTHROTTLED);
    }
    esme.no_delivery().await;
    let stats = server.stats();
    assert_eq!((stats.submits, stats.accepted, stats.rejected), (5, 0, 5));
    assert_eq!(stats.receipts_sent, 0);
}

#[tokio::test]
async fn the_default_reject_status_is_submit_failed_and_weighted_statuses_are_all_drawn() {
    let server = start(SimConfig {
        accept_ratio: 0.0,
        ..fast()
    });
    let esme = Esme::bound(server.local_addr(), Body::BindTransmitter, "acme").await;
    assert_eq!(esme.submit(0).await.status, CommandStatus::ESME_RSUBMITFAIL);

    let server = start(SimConfig {
        accept_ratio: 0.0,
        reject_status: RejectStatus::Weighted(vec![(0x45, 1), (0x0B, 1)]),
        seed: Some(1),
        ..fast()
    });
    let esme = Esme::bound(server.local_addr(), Body::BindTransmitter, "acme").await;
    let mut statuses = Vec::new();
    for _ in 0..30 {
        statuses.push(esme.submit(0).await.status);
    }
    assert!(
        statuses.iter().all(|s| [0x45, 0x0B].contains(&s.0)),
        "{statuses:?}"
    );
    assert!(statuses.contains(&CommandStatus::ESME_RSUBMITFAIL));
    assert!(statuses.contains(&CommandStatus::ESME_RINVDSTADR));
}

#[tokio::test]
async fn registered_delivery_zero_gets_no_receipt() {
    let server = start(fast());
    let mut esme = Esme::bound(server.local_addr(), Body::BindTransceiver, "acme").await;
    assert_eq!(esme.submit(0).await.status, CommandStatus::ESME_ROK);
    esme.no_delivery().await;
    assert_eq!(server.stats().receipts_sent, 0);
}

#[tokio::test]
async fn registered_delivery_two_gets_receipts_for_failures_only() {
    let delivered = start(fast());
    let mut esme = Esme::bound(delivered.local_addr(), Body::BindTransceiver, "acme").await;
    assert_eq!(esme.submit(2).await.status, CommandStatus::ESME_ROK);
    esme.no_delivery().await;

    let failing = start(SimConfig {
        receipt_mix: ReceiptMix {
            delivered: 0,
            undeliverable: 1,
            expired: 0,
            rejected: 0,
        },
        ..fast()
    });
    let mut esme = Esme::bound(failing.local_addr(), Body::BindTransceiver, "acme").await;
    let id = message_id(&esme.submit(2).await);
    let receipt = esme.delivery().await;
    assert_eq!(receipted_id(&receipt), id);
    assert_eq!(receipt.tlvs.message_state(), Some(5));
}

#[tokio::test]
async fn receipt_of_a_transmitters_submit_arrives_on_a_receiver_of_the_same_system_id() {
    let server = start(fast());
    let mut transmitter = Esme::bound(server.local_addr(), Body::BindTransmitter, "acme").await;
    let mut receiver = Esme::bound(server.local_addr(), Body::BindReceiver, "acme").await;

    let id = message_id(&transmitter.submit(1).await);
    assert_eq!(receipted_id(&receiver.delivery().await), id);
    transmitter.no_delivery().await;
}

#[tokio::test]
async fn receipts_take_turns_over_every_receiver_on_every_address_of_one_server() {
    let server = SimServer::start(&[local(), local()], fast()).expect("starts");
    let [first, second] = server.local_addrs() else {
        panic!("two addresses");
    };
    assert_ne!(first, second);
    let transmitter = Esme::bound(*first, Body::BindTransmitter, "acme").await;
    let mut receivers = Vec::new();
    for addr in [first, first, second, second] {
        receivers.push(Esme::bound(*addr, Body::BindReceiver, "acme").await);
    }
    let mut ids = Vec::new();
    for _ in 0..8 {
        ids.push(message_id(&transmitter.submit(1).await));
    }
    let mut received = Vec::new();
    for receiver in &mut receivers {
        for _ in 0..2 {
            received.push(receipted_id(&receiver.delivery().await));
        }
        receiver.no_delivery().await;
    }
    ids.sort();
    received.sort();
    assert_eq!(received, ids, "each receipt once, two on each receiver");
}

#[tokio::test]
async fn receipts_never_reach_another_system_id() {
    let server = start(fast());
    let transmitter = Esme::bound(server.local_addr(), Body::BindTransmitter, "acme").await;
    let mut stranger = Esme::bound(server.local_addr(), Body::BindReceiver, "other").await;
    assert_eq!(transmitter.submit(1).await.status, CommandStatus::ESME_ROK);
    until(&server, |s| s.receipts_held == 1).await;
    stranger.no_delivery().await;
}

#[tokio::test]
async fn receipt_is_held_while_no_receiver_is_bound_and_sent_when_one_binds() {
    let server = start(fast());
    let transmitter = Esme::bound(server.local_addr(), Body::BindTransmitter, "acme").await;
    let mut submitted = vec![
        message_id(&transmitter.submit(1).await),
        message_id(&transmitter.submit(1).await),
    ];
    until(&server, |s| s.receipts_held == 2).await;

    let mut receiver = Esme::bound(server.local_addr(), Body::BindReceiver, "acme").await;
    let mut received = vec![
        receipted_id(&receiver.delivery().await),
        receipted_id(&receiver.delivery().await),
    ];
    submitted.sort();
    received.sort();
    assert_eq!(received, submitted);
    let stats = until(&server, |s| s.receipts_acknowledged == 2).await;
    assert_eq!(stats.receipts_held, 0);
}

#[tokio::test]
async fn held_receipts_beyond_the_limit_are_dropped() {
    let server = start(SimConfig {
        max_held_receipts: 1,
        ..fast()
    });
    let transmitter = Esme::bound(server.local_addr(), Body::BindTransmitter, "acme").await;
    for _ in 0..3 {
        transmitter.submit(1).await;
    }
    let stats = until(&server, |s| s.receipts_held + s.receipts_dropped == 3).await;
    assert_eq!((stats.receipts_held, stats.receipts_dropped), (1, 2));
}

#[tokio::test]
async fn refused_receipt_is_sent_again_then_dropped() {
    let server = start(SimConfig {
        receipt_retries: 2,
        ..fast()
    });
    let mut esme = Esme::connect_answering(server.local_addr(), CommandStatus::ESME_RSYSERR).await;
    assert_eq!(
        esme.bind(Body::BindTransceiver, "acme", "pw").await.status,
        CommandStatus::ESME_ROK
    );
    let id = message_id(&esme.submit(1).await);
    for _ in 0..3 {
        assert_eq!(receipted_id(&esme.delivery().await), id);
    }
    let stats = until(&server, |s| s.receipts_dropped == 1).await;
    assert_eq!((stats.receipts_sent, stats.receipts_acknowledged), (3, 0));
    esme.no_delivery().await;
}

#[tokio::test]
async fn a_receipt_refused_by_one_receiver_is_retried_on_the_next() {
    let server = start(fast());
    let transmitter = Esme::bound(server.local_addr(), Body::BindTransmitter, "acme").await;
    let mut refusing =
        Esme::connect_answering(server.local_addr(), CommandStatus::ESME_RSYSERR).await;
    assert_eq!(
        refusing.bind(Body::BindReceiver, "acme", "pw").await.status,
        CommandStatus::ESME_ROK
    );
    let mut willing = Esme::bound(server.local_addr(), Body::BindReceiver, "acme").await;

    let id = message_id(&transmitter.submit(1).await);
    assert_eq!(
        receipted_id(&refusing.delivery().await),
        id,
        "first in turn"
    );
    assert_eq!(receipted_id(&willing.delivery().await), id, "then the next");
    let stats = until(&server, |s| s.receipts_acknowledged == 1).await;
    assert_eq!((stats.receipts_sent, stats.receipts_dropped), (2, 0));
}

#[tokio::test]
async fn mo_messages_arrive_on_bound_receivers_at_the_interval() {
    let server = start(SimConfig {
        mo_interval: Some(Delay::fixed(Duration::from_millis(10))),
        mo_text: "STOP".into(),
        ..fast()
    });
    let mut transmitter = Esme::bound(server.local_addr(), Body::BindTransmitter, "acme").await;
    let mut receiver = Esme::bound(server.local_addr(), Body::BindTransceiver, "acme").await;
    for _ in 0..2 {
        let mo = receiver.delivery().await;
        assert!(!mo.is_receipt());
        assert_eq!(mo.short_message.as_ref(), b"STOP");
        assert_eq!(mo.source.addr, "447700900123");
        assert_eq!(mo.destination.addr, "12345");
    }
    transmitter.no_delivery().await;
    until(&server, |s| s.mo_sent >= 2).await;
}

#[tokio::test]
async fn the_same_seed_gives_the_same_accepts_rejects_and_ids() {
    async fn run(seed: u64) -> Vec<(CommandStatus, String)> {
        let server = start(SimConfig {
            accept_ratio: 0.5,
            seed: Some(seed),
            ..fast()
        });
        let esme = Esme::bound(server.local_addr(), Body::BindTransmitter, "acme").await;
        let mut answers = Vec::new();
        for _ in 0..40 {
            let resp = esme.submit(0).await;
            let id = if resp.status.is_ok() {
                message_id(&resp)
            } else {
                String::new()
            };
            answers.push((resp.status, id));
        }
        answers
    }
    let first = run(11).await;
    assert_eq!(run(11).await, first);
    assert!(first.iter().any(|(s, _)| s.is_ok()) && first.iter().any(|(s, _)| !s.is_ok()));
    assert_ne!(run(12).await, first);
}

#[tokio::test]
async fn data_sm_is_answered_with_an_id_and_gets_a_receipt_echoing_its_payload() {
    let server = start(fast());
    let mut esme = Esme::bound(server.local_addr(), Body::BindTransceiver, "acme").await;
    let data_sm = Body::DataSm(DataSm {
        source: Address::new(
            ton::INTERNATIONAL,
            npi::ISDN,
            COctetString::from_static("447700900002"),
        ),
        destination: Address::new(
            ton::INTERNATIONAL,
            npi::ISDN,
            COctetString::from_static("447700900003"),
        ),
        registered_delivery: 1,
        tlvs: vec![Tlv::MessagePayload(Bytes::from_static(b"payload text"))],
        ..DataSm::default()
    });
    let resp = esme.handle.request(data_sm).await.expect("answered");
    assert_eq!(resp.status, CommandStatus::ESME_ROK);
    let id = message_id(&resp);
    let receipt = esme.delivery().await;
    assert_eq!(receipted_id(&receipt), id);
    let text = Receipt::parse(&receipt.short_message).expect("receipt");
    assert_eq!(text.text, "payload text");
}

#[tokio::test]
async fn latency_delays_each_answer_without_holding_up_the_others() {
    let latency = Duration::from_millis(100);
    let server = start(SimConfig {
        latency: Delay::fixed(latency),
        ..fast()
    });
    let esme = Esme::bound(server.local_addr(), Body::BindTransmitter, "acme").await;
    let started = Instant::now();
    let answers = futures::future::join_all((0..10).map(|_| esme.submit(0))).await;
    let elapsed = started.elapsed();
    assert!(answers.iter().all(|a| a.status.is_ok()));
    assert!(
        elapsed >= latency,
        "answered before the latency: {elapsed:?}"
    );
    assert!(
        elapsed < latency * 5,
        "answered one after another: {elapsed:?}"
    );
}

#[tokio::test]
async fn submits_beyond_the_window_are_throttled() {
    let server = start(SimConfig {
        latency: Delay::fixed(Duration::from_millis(100)),
        max_window: 2,
        ..fast()
    });
    let esme = Esme::bound(server.local_addr(), Body::BindTransmitter, "acme").await;
    let answers = futures::future::join_all((0..5).map(|_| esme.submit(0))).await;
    let throttled = answers
        .iter()
        .filter(|a| a.status == CommandStatus::ESME_RTHROTTLED)
        .count();
    assert_eq!(throttled, 3, "{answers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_binds_on_two_addresses_carry_thousands_of_submits_and_their_receipts() {
    let server = SimServer::start(
        &[local(), local()],
        SimConfig {
            receipt_delay: Delay::fixed(Duration::from_millis(1)),
            max_window: 50,
            ..fast()
        },
    )
    .expect("starts");
    let mut sessions = Vec::new();
    for &addr in server.local_addrs().iter().chain(server.local_addrs()) {
        let stream = TcpStream::connect(addr).await.expect("connect");
        let (handle, mut events) = session::start(
            stream,
            SessionConfig {
                window: 50,
                peer_window: 50,
                ..SessionConfig::default()
            },
        );
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                if let SessionEvent::Request(request) = event {
                    request.respond(Body::DeliverSmResp(Default::default()));
                }
            }
        });
        let bind = Bind {
            system_id: COctetString::from_static("bench"),
            ..Bind::default()
        };
        let resp = handle
            .request(Body::BindTransceiver(bind))
            .await
            .expect("bind");
        assert!(resp.status.is_ok());
        sessions.push(handle);
    }
    const PER_SESSION: usize = 1000;
    let started = Instant::now();
    let mut submitters = tokio::task::JoinSet::new();
    // The sessions stay open (a session closes with its last handle) for
    // the receipts that come after the last submit_sm_resp.
    for handle in &sessions {
        let handle = handle.clone();
        submitters.spawn(async move {
            let mut in_flight = futures::stream::FuturesUnordered::new();
            let mut ok = 0;
            for _ in 0..PER_SESSION {
                if in_flight.len() >= 50 {
                    ok += usize::from(next_ok(&mut in_flight).await);
                }
                in_flight.push(handle.request(submit_sm("bench", 1)));
            }
            while !in_flight.is_empty() {
                ok += usize::from(next_ok(&mut in_flight).await);
            }
            ok
        });
    }
    let accepted: usize = submitters.join_all().await.into_iter().sum();
    assert_eq!(accepted, 4 * PER_SESSION);
    let stats = until(&server, |s| s.receipts_acknowledged == 4000).await;
    eprintln!(
        "4000 submits and receipts in {:?} (debug build): {stats}",
        started.elapsed()
    );
    assert_eq!((stats.submits, stats.receipts_dropped), (4000, 0));
    drop(sessions);
}

async fn next_ok<F>(in_flight: &mut futures::stream::FuturesUnordered<F>) -> bool
where
    F: Future<Output = Result<Pdu, smpp::session::RequestError>>,
{
    use futures::StreamExt;
    matches!(in_flight.next().await, Some(Ok(resp)) if resp.status.is_ok())
}

#[tokio::test]
async fn shutdown_unbinds_bound_sessions_and_returns_the_final_counters() {
    let server = start(fast());
    let esme = Esme::bound(server.local_addr(), Body::BindTransceiver, "acme").await;
    esme.submit(0).await;
    let stats = server.shutdown().await;
    assert_eq!((stats.binds, stats.submits, stats.accepted), (1, 1, 1));
    let deadline = Instant::now() + PATIENCE;
    while !esme.handle.is_closed() {
        assert!(
            Instant::now() < deadline,
            "session still open after shutdown"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn invalid_settings_are_refused_at_start() {
    let error = SimServer::start(
        &[local()],
        SimConfig {
            accept_ratio: 2.0,
            ..fast()
        },
    )
    .expect_err("invalid ratio");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    assert!(error.to_string().contains("accept_ratio"), "{error}");
}

#[tokio::test]
async fn the_smsgate_sim_command_answers_a_bind_and_prints_its_counters_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_smsgate"))
        .args([
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--latency",
            "1ms",
            "--seed",
            "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("smsgate sim starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("first line");
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("smsgate sim: listening on ")
        .unwrap_or_else(|| panic!("unexpected banner {line:?}"))
        .parse()
        .expect("an address");

    let esme = Esme::bound(addr, Body::BindTransmitter, "bench").await;
    assert_eq!(esme.submit(0).await.status, CommandStatus::ESME_ROK);
    esme.handle.unbind().await.expect("unbound");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = child.wait().expect("exits");
    assert!(status.success(), "{status}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).expect("rest of stdout");
    assert!(
        rest.contains("binds 1") && rest.contains("accepted 1"),
        "{rest}"
    );
}
