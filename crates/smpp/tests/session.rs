//! The session layer over real TCP sockets on 127.0.0.1: two sessions
//! talking to each other (one playing the ESME, one the SMSC), and sessions
//! facing a raw peer that writes hand-made bytes and reads what comes back.

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use smpp::session::{
    self, CloseReason, InboundRequest, PeerWindowFull, RequestError, SessionConfig, SessionEvent,
    SessionHandle,
};
use smpp::{
    Address, AlertNotification, Bind, BindResp, Body, COctetString, CommandId, CommandStatus,
    DecodeLimits, MessageIdResp, Outbind, Pdu, SubmitSm,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::timeout;

/// How long to wait for something that must happen (generous, for a loaded machine).
const WAIT: Duration = Duration::from_secs(5);

/// How long to watch for something that must not happen.
const QUIET: Duration = Duration::from_millis(50);

type Events = mpsc::Receiver<SessionEvent>;

/// Timers off and generous timeouts; each test shortens what it exercises.
fn config() -> SessionConfig {
    SessionConfig {
        enquire_link_interval: None,
        inactivity_timeout: None,
        response_timeout: WAIT,
        unbind_timeout: WAIT,
        close_timeout: Duration::from_secs(1),
        ..SessionConfig::default()
    }
}

async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("local address");
    let (client, accepted) = tokio::join!(TcpStream::connect(address), listener.accept());
    (client.expect("connect"), accepted.expect("accept").0)
}

/// An ESME session and an SMSC session connected to each other.
async fn two_sessions(
    esme: SessionConfig,
    smsc: SessionConfig,
) -> ((SessionHandle, Events), (SessionHandle, Events)) {
    let (client, server) = tcp_pair().await;
    (session::start(client, esme), session::start(server, smsc))
}

/// A session and the raw socket at the other end.
async fn session_with_raw_peer(config: SessionConfig) -> (SessionHandle, Events, RawPeer) {
    let (ours, theirs) = tcp_pair().await;
    let (handle, events) = session::start(ours, config);
    (handle, events, RawPeer { stream: theirs })
}

/// The far end of a session, speaking bytes.
struct RawPeer {
    stream: TcpStream,
}

impl RawPeer {
    async fn write(&mut self, bytes: &[u8]) {
        self.stream
            .write_all(bytes)
            .await
            .expect("write to the session");
    }

    async fn send(&mut self, pdu: Pdu) {
        self.write(&pdu.to_bytes()).await;
    }

    /// Reads and decodes the next PDU the session wrote.
    async fn recv(&mut self) -> Pdu {
        timeout(WAIT, async {
            let mut length = [0u8; 4];
            self.stream
                .read_exact(&mut length)
                .await
                .expect("a PDU header");
            let mut frame = vec![0u8; u32::from_be_bytes(length) as usize];
            frame[..4].copy_from_slice(&length);
            self.stream
                .read_exact(&mut frame[4..])
                .await
                .expect("a PDU body");
            Pdu::decode(Bytes::from(frame), &DecodeLimits::default()).expect("a valid PDU")
        })
        .await
        .expect("the session wrote a PDU in time")
    }

    /// Asserts that the session writes nothing for a while.
    async fn expect_silence(&mut self) {
        let mut byte = [0u8; 1];
        let peeked = timeout(QUIET, self.stream.peek(&mut byte)).await;
        assert!(peeked.is_err(), "the session wrote something");
    }

    /// Asserts that the session closed the connection (after what was read).
    async fn expect_closed(&mut self) {
        let mut byte = [0u8; 1];
        let read = timeout(WAIT, self.stream.read(&mut byte))
            .await
            .expect("the session closed the connection in time");
        assert_eq!(read.expect("read"), 0, "expected end of stream");
    }
}

/// Hand-made PDU bytes: a header with the true length, then `body`.
fn raw_pdu(command_id: u32, sequence: u32, body: &[u8]) -> Vec<u8> {
    let mut buf = BytesMut::new();
    buf.put_u32(16 + body.len() as u32);
    buf.put_u32(command_id);
    buf.put_u32(0);
    buf.put_u32(sequence);
    buf.put_slice(body);
    buf.to_vec()
}

fn text(value: &str) -> COctetString {
    COctetString::try_from(value).expect("no NUL")
}

fn submit_sm(message: &'static str) -> Body {
    Body::SubmitSm(SubmitSm {
        source: Address::new(1, 1, text("4915100000001")),
        destination: Address::new(1, 1, text("4915100000002")),
        short_message: Bytes::from_static(message.as_bytes()),
        ..SubmitSm::default()
    })
}

fn submit_sm_resp(message_id: &str) -> Body {
    Body::SubmitSmResp(MessageIdResp::new(text(message_id)))
}

async fn next_event(events: &mut Events) -> SessionEvent {
    timeout(WAIT, events.recv())
        .await
        .expect("an event in time")
        .expect("the events channel is open")
}

async fn next_request(events: &mut Events) -> InboundRequest {
    match next_event(events).await {
        SessionEvent::Request(request) => request,
        other => panic!("expected a request, got {other:?}"),
    }
}

async fn next_close(events: &mut Events) -> CloseReason {
    match next_event(events).await {
        SessionEvent::Closed(reason) => reason,
        other => panic!("expected Closed, got {other:?}"),
    }
}

/// Asserts the events channel ended right after Closed.
async fn expect_no_more_events(events: &mut Events) {
    let after = timeout(WAIT, events.recv())
        .await
        .expect("the channel ends");
    assert!(after.is_none(), "an event after Closed: {after:?}");
}

/// Plays an SMSC that accepts every submit_sm, with the sequence number as message_id.
fn accept_every_submit(mut events: Events) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            if let SessionEvent::Request(request) = event {
                let id = request.pdu.sequence.to_string();
                request.respond(submit_sm_resp(&id));
            }
        }
    })
}

#[tokio::test]
async fn request_gets_the_response_the_peer_application_gives() {
    let ((esme, _esme_events), (_smsc, mut smsc_events)) = two_sessions(config(), config()).await;
    let bind = Body::BindTransceiver(Bind {
        system_id: text("acme"),
        password: text("secret"),
        interface_version: 0x34,
        ..Bind::default()
    });
    let bound = tokio::spawn(async move {
        let resp = esme.request(bind).await;
        (esme, resp)
    });

    let request = next_request(&mut smsc_events).await;
    assert!(matches!(&request.pdu.body, Body::BindTransceiver(b) if b.system_id == "acme"));
    request.respond(Body::BindTransceiverResp(BindResp {
        system_id: text("smsgate"),
        tlvs: Vec::new(),
    }));
    let (esme, resp) = bound.await.expect("task");
    let resp = resp.expect("bind answered");
    assert_eq!(resp.status, CommandStatus::ESME_ROK);
    assert!(matches!(resp.body, Body::BindTransceiverResp(r) if r.system_id == "smsgate"));

    let submitted = tokio::spawn(async move { esme.request(submit_sm("hello")).await });
    let request = next_request(&mut smsc_events).await;
    assert!(matches!(&request.pdu.body, Body::SubmitSm(sm) if &sm.short_message[..] == b"hello"));
    request.respond(submit_sm_resp("msg-1"));
    let resp = submitted.await.expect("task").expect("submit answered");
    assert_eq!(resp.body, submit_sm_resp("msg-1"));
}

#[tokio::test]
async fn enquire_link_from_the_peer_is_answered_without_the_application() {
    let (_handle, mut events, mut peer) = session_with_raw_peer(config()).await;
    peer.send(Pdu::new(7, Body::EnquireLink)).await;
    assert_eq!(peer.recv().await, Pdu::new(7, Body::EnquireLinkResp));
    assert!(
        events.try_recv().is_err(),
        "enquire_link reached the application"
    );
}

#[tokio::test]
async fn unbind_from_the_peer_is_answered_then_the_connection_closes() {
    let (handle, mut events, mut peer) = session_with_raw_peer(config()).await;
    peer.send(Pdu::new(3, Body::Unbind)).await;
    assert_eq!(peer.recv().await, Pdu::new(3, Body::UnbindResp));
    peer.expect_closed().await;
    assert!(matches!(
        next_event(&mut events).await,
        SessionEvent::Unbound
    ));
    assert!(matches!(
        next_close(&mut events).await,
        CloseReason::PeerUnbound
    ));
    expect_no_more_events(&mut events).await;
    assert!(handle.is_closed());
}

#[tokio::test]
async fn requests_received_before_the_peers_unbind_are_answered_before_its_unbind_resp() {
    let (_handle, mut events, mut peer) = session_with_raw_peer(config()).await;
    peer.send(Pdu::new(7, submit_sm("stored first"))).await;
    peer.send(Pdu::new(8, Body::Unbind)).await;
    let request = next_request(&mut events).await;
    // The application takes its time (storing the message): the unbind waits.
    peer.expect_silence().await;
    request.respond(submit_sm_resp("id-7"));
    assert_eq!(peer.recv().await, Pdu::new(7, submit_sm_resp("id-7")));
    assert_eq!(peer.recv().await, Pdu::new(8, Body::UnbindResp));
    peer.expect_closed().await;
    assert!(matches!(
        next_event(&mut events).await,
        SessionEvent::Unbound
    ));
    assert!(matches!(
        next_close(&mut events).await,
        CloseReason::PeerUnbound
    ));
}

#[tokio::test]
async fn a_peers_unbind_waits_for_unanswered_requests_at_most_the_unbind_timeout() {
    let config = SessionConfig {
        unbind_timeout: Duration::from_millis(200),
        ..config()
    };
    let (_handle, mut events, mut peer) = session_with_raw_peer(config).await;
    peer.send(Pdu::new(7, submit_sm("never answered"))).await;
    peer.send(Pdu::new(8, Body::Unbind)).await;
    let _held = next_request(&mut events).await;
    assert_eq!(peer.recv().await, Pdu::new(8, Body::UnbindResp));
    peer.expect_closed().await;
}

#[tokio::test]
async fn unbind_handshake_between_two_sessions_closes_both() {
    let ((esme, mut esme_events), (_smsc, mut smsc_events)) =
        two_sessions(config(), config()).await;
    esme.unbind().await.expect("unbind answered");
    assert!(matches!(
        next_close(&mut esme_events).await,
        CloseReason::Unbound
    ));
    assert!(matches!(
        next_event(&mut smsc_events).await,
        SessionEvent::Unbound
    ));
    assert!(matches!(
        next_close(&mut smsc_events).await,
        CloseReason::PeerUnbound
    ));
    assert_eq!(
        esme.request(submit_sm("late")).await,
        Err(RequestError::Closed)
    );
}

#[tokio::test]
async fn unbind_crossing_the_peers_own_unbind_succeeds() {
    let (handle, mut events, mut peer) = session_with_raw_peer(config()).await;
    let unbinding = tokio::spawn(async move { handle.unbind().await });
    let ours = peer.recv().await;
    assert!(matches!(ours.body, Body::Unbind));
    peer.send(Pdu::new(ours.sequence + 100, Body::Unbind)).await;
    assert_eq!(
        peer.recv().await,
        Pdu::new(ours.sequence + 100, Body::UnbindResp)
    );
    assert_eq!(unbinding.await.expect("task"), Ok(()));
    assert!(matches!(
        next_event(&mut events).await,
        SessionEvent::Unbound
    ));
    assert!(matches!(
        next_close(&mut events).await,
        CloseReason::PeerUnbound
    ));
    peer.expect_closed().await;
}

#[tokio::test]
async fn unanswered_unbind_times_out_and_closes_anyway() {
    let config = SessionConfig {
        unbind_timeout: Duration::from_millis(30),
        ..config()
    };
    let (handle, mut events, mut peer) = session_with_raw_peer(config).await;
    let unbinding = tokio::spawn(async move { handle.unbind().await });
    assert!(matches!(peer.recv().await.body, Body::Unbind));
    assert_eq!(unbinding.await.expect("task"), Err(RequestError::Timeout));
    assert!(matches!(
        next_close(&mut events).await,
        CloseReason::Unbound
    ));
    peer.expect_closed().await;
}

#[tokio::test]
async fn requests_beyond_the_window_wait_for_a_free_slot() {
    let config = SessionConfig {
        window: 2,
        ..config()
    };
    let (handle, _events, mut peer) = session_with_raw_peer(config).await;
    let requests: Vec<_> = ["one", "two", "three"]
        .into_iter()
        .map(|message| {
            let handle = handle.clone();
            tokio::spawn(async move { handle.request(submit_sm(message)).await })
        })
        .collect();

    let first = peer.recv().await;
    let second = peer.recv().await;
    peer.expect_silence().await;
    assert_eq!(handle.in_flight(), 2);

    peer.send(Pdu::new(first.sequence, submit_sm_resp("a")))
        .await;
    let third = peer.recv().await;
    assert_eq!(third.sequence, 3);
    for request in [second, third] {
        peer.send(Pdu::new(request.sequence, submit_sm_resp("b")))
            .await;
    }
    for request in requests {
        let resp = request.await.expect("task").expect("answered");
        assert_eq!(resp.status, CommandStatus::ESME_ROK);
    }
    assert_eq!(handle.in_flight(), 0);
}

#[tokio::test]
async fn a_window_lowered_below_what_is_in_flight_holds_new_requests_until_enough_are_answered() {
    let config = SessionConfig {
        window: 4,
        ..config()
    };
    let (handle, _events, mut peer) = session_with_raw_peer(config).await;
    let mut requests = Vec::new();
    let mut sent = Vec::new();
    for message in ["one", "two", "three"] {
        let pending = handle.start_request(submit_sm(message)).await;
        requests.push(pending.expect("started"));
        sent.push(peer.recv().await);
    }
    assert_eq!(handle.set_window(1), 1);
    assert_eq!(handle.window(), 1);
    let fourth = {
        let handle = handle.clone();
        tokio::spawn(async move { handle.request(submit_sm("four")).await })
    };
    for request in &sent[..2] {
        peer.send(Pdu::new(request.sequence, submit_sm_resp("a")))
            .await;
        peer.expect_silence().await;
    }
    assert_eq!(handle.in_flight(), 1);
    peer.send(Pdu::new(sent[2].sequence, submit_sm_resp("a")))
        .await;
    let last = peer.recv().await;
    assert_eq!(last.sequence, 4);
    assert_eq!(handle.in_flight(), 1);
    peer.send(Pdu::new(last.sequence, submit_sm_resp("b")))
        .await;
    for request in requests {
        assert_eq!(
            request.response().await.expect("answered").status,
            CommandStatus::ESME_ROK
        );
    }
    assert_eq!(
        fourth.await.expect("task").expect("answered").status,
        CommandStatus::ESME_ROK
    );
    assert_eq!(handle.in_flight(), 0);
}

#[tokio::test]
async fn a_window_raised_again_lets_the_waiting_requests_out_up_to_the_configured_size() {
    let config = SessionConfig {
        window: 5,
        ..config()
    };
    let (handle, _events, mut peer) = session_with_raw_peer(config).await;
    assert_eq!(handle.window(), 5);
    handle.set_window(2);
    let requests: Vec<_> = (0..7)
        .map(|_| {
            let handle = handle.clone();
            tokio::spawn(async move { handle.request(submit_sm("hello")).await })
        })
        .collect();
    let mut sent = vec![peer.recv().await, peer.recv().await];
    peer.expect_silence().await;
    assert_eq!(handle.in_flight(), 2);
    // Past the configured size it stays at the size.
    assert_eq!(handle.set_window(50), 5);
    for _ in 0..3 {
        sent.push(peer.recv().await);
    }
    peer.expect_silence().await;
    assert_eq!(handle.in_flight(), 5);
    for request in &sent {
        peer.send(Pdu::new(request.sequence, submit_sm_resp("a")))
            .await;
    }
    for _ in 0..2 {
        let request = peer.recv().await;
        peer.send(Pdu::new(request.sequence, submit_sm_resp("b")))
            .await;
    }
    for request in requests {
        assert_eq!(
            request.await.expect("task").expect("answered").status,
            CommandStatus::ESME_ROK
        );
    }
    assert_eq!(handle.in_flight(), 0);
}

#[tokio::test]
async fn a_request_without_response_times_out_and_frees_its_slot() {
    let config = SessionConfig {
        window: 1,
        response_timeout: Duration::from_millis(30),
        ..config()
    };
    let (handle, _events, mut peer) = session_with_raw_peer(config).await;
    assert_eq!(
        handle.request(submit_sm("lost")).await,
        Err(RequestError::Timeout)
    );
    let lost = peer.recv().await;
    assert_eq!(handle.in_flight(), 0);

    let retry = {
        let handle = handle.clone();
        tokio::spawn(async move { handle.request(submit_sm("retry")).await })
    };
    let sent = peer.recv().await;
    assert_ne!(sent.sequence, lost.sequence);
    // The late answer to the timed-out request matches nothing and is ignored.
    peer.send(Pdu::new(lost.sequence, submit_sm_resp("late")))
        .await;
    peer.send(Pdu::new(sent.sequence, submit_sm_resp("ok")))
        .await;
    let resp = retry.await.expect("task").expect("answered");
    assert_eq!(resp.body, submit_sm_resp("ok"));
}

#[tokio::test]
async fn generic_nack_answers_the_request_with_its_sequence() {
    let (handle, _events, mut peer) = session_with_raw_peer(config()).await;
    let request = tokio::spawn(async move { handle.request(submit_sm("x")).await });
    let sent = peer.recv().await;
    let nack = Pdu {
        sequence: sent.sequence,
        status: CommandStatus::ESME_RINVCMDID,
        body: Body::GenericNack,
    };
    peer.send(nack.clone()).await;
    assert_eq!(request.await.expect("task"), Ok(nack));
}

#[tokio::test]
async fn a_malformed_response_fails_its_request_and_the_session_goes_on() {
    let (handle, _events, mut peer) = session_with_raw_peer(config()).await;
    let request = {
        let handle = handle.clone();
        tokio::spawn(async move { handle.request(submit_sm("x")).await })
    };
    let sent = peer.recv().await;
    // message_id without its NUL terminator.
    let resp_id = CommandId::SubmitSmResp.value();
    peer.write(&raw_pdu(resp_id, sent.sequence, b"abc")).await;
    let failed = request.await.expect("task");
    assert!(
        matches!(&failed, Err(RequestError::Malformed(e)) if e.sequence == sent.sequence),
        "{failed:?}"
    );
    peer.expect_silence().await;

    peer.send(Pdu::new(40, Body::EnquireLink)).await;
    assert_eq!(peer.recv().await, Pdu::new(40, Body::EnquireLinkResp));
    assert!(!handle.is_closed());
}

#[tokio::test]
async fn peer_requests_beyond_the_peer_window_are_throttled() {
    let config = SessionConfig {
        peer_window: 2,
        ..config()
    };
    let (_handle, mut events, mut peer) = session_with_raw_peer(config).await;
    for sequence in 1..=3 {
        peer.send(Pdu::new(sequence, submit_sm("m"))).await;
    }
    let first = next_request(&mut events).await;
    let _second = next_request(&mut events).await;
    let throttled = peer.recv().await;
    assert_eq!(throttled.sequence, 3);
    assert_eq!(throttled.status, CommandStatus::ESME_RTHROTTLED);
    assert_eq!(throttled.body.command_id(), CommandId::SubmitSmResp);
    assert!(
        events.try_recv().is_err(),
        "the throttled request reached the application"
    );

    first.respond(submit_sm_resp("id-1"));
    assert_eq!(peer.recv().await, Pdu::new(1, submit_sm_resp("id-1")));
    peer.send(Pdu::new(4, submit_sm("m"))).await;
    assert_eq!(next_request(&mut events).await.pdu.sequence, 4);
}

#[tokio::test]
async fn a_peer_window_lowered_to_one_throttles_what_is_pipelined_behind_a_request_until_raised() {
    let config = SessionConfig {
        peer_window: 100,
        ..config()
    };
    let (handle, mut events, mut peer) = session_with_raw_peer(config).await;
    handle.set_peer_window(1);
    for sequence in 1..=3 {
        peer.send(Pdu::new(sequence, submit_sm("m"))).await;
    }
    let first = next_request(&mut events).await;
    for sequence in 2..=3 {
        let throttled = peer.recv().await;
        assert_eq!(throttled.sequence, sequence);
        assert_eq!(throttled.status, CommandStatus::ESME_RTHROTTLED);
    }
    assert!(events.try_recv().is_err(), "only one request was held");
    first.respond(submit_sm_resp("id-1"));
    assert_eq!(peer.recv().await, Pdu::new(1, submit_sm_resp("id-1")));
    handle.set_peer_window(100);
    for sequence in 4..=6 {
        peer.send(Pdu::new(sequence, submit_sm("m"))).await;
    }
    for sequence in 4..=6 {
        assert_eq!(next_request(&mut events).await.pdu.sequence, sequence);
    }
}

#[tokio::test]
async fn with_stop_reading_requests_beyond_the_peer_window_wait_unread_and_none_is_throttled() {
    let config = SessionConfig {
        peer_window: 2,
        peer_window_full: PeerWindowFull::StopReading,
        ..config()
    };
    let (_handle, mut events, mut peer) = session_with_raw_peer(config).await;
    for sequence in 1..=4 {
        peer.send(Pdu::new(sequence, submit_sm("m"))).await;
    }
    let first = next_request(&mut events).await;
    let second = next_request(&mut events).await;
    peer.expect_silence().await;
    assert!(
        events.try_recv().is_err(),
        "a request beyond the window was read while the window was full"
    );

    first.respond(submit_sm_resp("id-1"));
    assert_eq!(peer.recv().await, Pdu::new(1, submit_sm_resp("id-1")));
    let third = next_request(&mut events).await;
    assert_eq!(third.pdu.sequence, 3);
    second.respond(submit_sm_resp("id-2"));
    assert_eq!(peer.recv().await, Pdu::new(2, submit_sm_resp("id-2")));
    let fourth = next_request(&mut events).await;
    assert_eq!(fourth.pdu.sequence, 4);
    assert_eq!(fourth.pdu.status, CommandStatus::ESME_ROK);
}

#[tokio::test]
async fn dropping_an_inbound_request_answers_system_error() {
    let (_handle, mut events, mut peer) = session_with_raw_peer(config()).await;
    peer.send(Pdu::new(11, submit_sm("m"))).await;
    drop(next_request(&mut events).await);
    let answer = peer.recv().await;
    assert_eq!(answer.sequence, 11);
    assert_eq!(answer.status, CommandStatus::ESME_RSYSERR);
    assert_eq!(answer.body.command_id(), CommandId::SubmitSmResp);
}

#[tokio::test]
async fn an_error_answer_keeps_the_request_sequence() {
    let (_handle, mut events, mut peer) = session_with_raw_peer(config()).await;
    peer.send(Pdu::new(12, submit_sm("m"))).await;
    next_request(&mut events)
        .await
        .respond_status(CommandStatus::ESME_RINVDSTADR);
    let answer = peer.recv().await;
    assert_eq!(
        (answer.sequence, answer.status, answer.body.command_id()),
        (12, CommandStatus::ESME_RINVDSTADR, CommandId::SubmitSmResp)
    );
}

#[tokio::test]
async fn unknown_command_id_gets_generic_nack_and_the_session_goes_on() {
    let (_handle, mut events, mut peer) = session_with_raw_peer(config()).await;
    peer.write(&raw_pdu(0x0000_0FFF, 9, b"")).await;
    let nack = peer.recv().await;
    assert_eq!(
        (nack.sequence, nack.status, nack.body),
        (9, CommandStatus::ESME_RINVCMDID, Body::GenericNack)
    );

    peer.send(Pdu::new(10, submit_sm("after"))).await;
    assert_eq!(next_request(&mut events).await.pdu.sequence, 10);
}

#[tokio::test]
async fn malformed_submit_sm_gets_its_resp_with_the_error_status_and_the_session_goes_on() {
    let (_handle, mut events, mut peer) = session_with_raw_peer(config()).await;
    // service_type longer than its 6 octets, with no NUL.
    let bytes = raw_pdu(CommandId::SubmitSm.value(), 21, b"too-long-service");
    let expected = Pdu::decode(Bytes::from(bytes.clone()), &DecodeLimits::default())
        .expect_err("the body is malformed")
        .status;
    assert_ne!(expected, CommandStatus::ESME_ROK);
    peer.write(&bytes).await;
    let answer = peer.recv().await;
    assert_eq!(
        (answer.sequence, answer.status, answer.body.command_id()),
        (21, expected, CommandId::SubmitSmResp)
    );
    assert!(
        events.try_recv().is_err(),
        "the malformed request reached the application"
    );

    peer.send(Pdu::new(22, submit_sm("fine"))).await;
    assert_eq!(next_request(&mut events).await.pdu.sequence, 22);
}

#[tokio::test]
async fn command_length_below_the_header_closes_after_generic_nack() {
    let (_handle, mut events, mut peer) = session_with_raw_peer(config()).await;
    let mut bytes = raw_pdu(CommandId::SubmitSm.value(), 5, b"");
    bytes[..4].copy_from_slice(&8u32.to_be_bytes());
    peer.write(&bytes).await;
    let nack = peer.recv().await;
    assert_eq!(
        (nack.sequence, nack.status, nack.body),
        (5, CommandStatus::ESME_RINVCMDLEN, Body::GenericNack)
    );
    peer.expect_closed().await;
    assert!(matches!(
        next_close(&mut events).await,
        CloseReason::Framing(_)
    ));
    expect_no_more_events(&mut events).await;
}

#[tokio::test]
async fn silence_beyond_the_inactivity_timeout_closes_but_traffic_does_not() {
    let limit = Duration::from_millis(150);
    let config = SessionConfig {
        inactivity_timeout: Some(limit),
        ..config()
    };
    let (_handle, mut events, mut peer) = session_with_raw_peer(config).await;
    for sequence in 1..=4 {
        tokio::time::sleep(limit / 5).await;
        peer.send(Pdu::new(sequence, Body::EnquireLink)).await;
        assert_eq!(peer.recv().await.sequence, sequence);
    }
    assert!(events.try_recv().is_err(), "closed despite traffic");

    assert!(matches!(next_close(&mut events).await, CloseReason::Inactivity(d) if d == limit));
    peer.expect_closed().await;
}

#[tokio::test]
async fn an_idle_link_gets_enquire_link() {
    let config = SessionConfig {
        enquire_link_interval: Some(Duration::from_millis(20)),
        ..config()
    };
    let (handle, _events, mut peer) = session_with_raw_peer(config).await;
    for _ in 0..2 {
        let keepalive = peer.recv().await;
        assert!(matches!(keepalive.body, Body::EnquireLink));
        peer.send(Pdu::new(keepalive.sequence, Body::EnquireLinkResp))
            .await;
    }
    assert!(!handle.is_closed());
}

#[tokio::test]
async fn an_unanswered_enquire_link_closes_the_session() {
    let config = SessionConfig {
        enquire_link_interval: Some(Duration::from_millis(20)),
        response_timeout: Duration::from_millis(30),
        ..config()
    };
    let (_handle, mut events, mut peer) = session_with_raw_peer(config).await;
    assert!(matches!(peer.recv().await.body, Body::EnquireLink));
    assert!(matches!(
        next_close(&mut events).await,
        CloseReason::KeepaliveTimeout(_)
    ));
    peer.expect_closed().await;
}

#[tokio::test]
async fn outbind_reaches_the_application() {
    let (_handle, mut events, mut peer) = session_with_raw_peer(config()).await;
    let outbind = Outbind {
        system_id: text("smsc"),
        password: text("pw"),
    };
    peer.send(Pdu::new(1, Body::Outbind(outbind.clone()))).await;
    assert!(matches!(next_event(&mut events).await, SessionEvent::Outbind(o) if *o == outbind));
}

#[tokio::test]
async fn a_full_events_channel_pauses_reading_and_loses_nothing() {
    let (_handle, mut events, mut peer) = session_with_raw_peer(config()).await;
    let alerts = 3 * (config().peer_window + 8);
    for sequence in 1..=alerts {
        let alert = AlertNotification {
            source: Address::new(1, 1, text(&sequence.to_string())),
            ..AlertNotification::default()
        };
        peer.send(Pdu::new(sequence as u32, Body::AlertNotification(alert)))
            .await;
    }
    peer.send(Pdu::new(9999, Body::EnquireLink)).await;
    // The application reads nothing yet: the session stops reading, so the
    // enquire_link behind the alerts waits.
    peer.expect_silence().await;

    for sequence in 1..=alerts {
        match next_event(&mut events).await {
            SessionEvent::AlertNotification(alert) => {
                assert_eq!(alert.source.addr, sequence.to_string().as_str());
            }
            other => panic!("expected alert_notification {sequence}, got {other:?}"),
        }
    }
    assert_eq!(peer.recv().await, Pdu::new(9999, Body::EnquireLinkResp));
}

#[tokio::test]
async fn close_fails_outstanding_requests_and_closed_is_the_last_event() {
    let (handle, mut events, mut peer) = session_with_raw_peer(config()).await;
    let request = {
        let handle = handle.clone();
        tokio::spawn(async move { handle.request(submit_sm("x")).await })
    };
    peer.recv().await;
    handle.close();
    assert_eq!(request.await.expect("task"), Err(RequestError::Closed));
    assert!(matches!(next_close(&mut events).await, CloseReason::Local));
    expect_no_more_events(&mut events).await;
    peer.expect_closed().await;
    assert_eq!(
        handle.request(submit_sm("y")).await,
        Err(RequestError::Closed)
    );
}

#[tokio::test]
async fn the_peer_closing_the_connection_ends_the_session() {
    let (handle, mut events, mut peer) = session_with_raw_peer(config()).await;
    let request = tokio::spawn(async move { handle.request(submit_sm("x")).await });
    peer.recv().await;
    drop(peer);
    assert_eq!(request.await.expect("task"), Err(RequestError::Closed));
    assert!(matches!(
        next_close(&mut events).await,
        CloseReason::PeerClosed
    ));
}

#[tokio::test]
async fn dropping_every_handle_closes_the_session() {
    let (handle, mut events, mut peer) = session_with_raw_peer(config()).await;
    drop(handle);
    assert!(matches!(next_close(&mut events).await, CloseReason::Local));
    peer.expect_closed().await;
}

#[tokio::test]
async fn request_refuses_a_body_that_gets_no_response() {
    let (handle, _events, mut peer) = session_with_raw_peer(config()).await;
    assert_eq!(
        handle.request(submit_sm_resp("x")).await,
        Err(RequestError::NotARequest(CommandId::SubmitSmResp))
    );
    assert_eq!(
        handle.request(Body::GenericNack).await,
        Err(RequestError::NotARequest(CommandId::GenericNack))
    );
    peer.expect_silence().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_requests_all_complete_over_a_window_of_ten() {
    let ((esme, _esme_events), (_smsc, smsc_events)) = two_sessions(config(), config()).await;
    let smsc = accept_every_submit(smsc_events);
    let requests: Vec<_> = (0..1000)
        .map(|_| {
            let esme = esme.clone();
            tokio::spawn(async move { esme.request(submit_sm("bulk")).await })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for request in requests {
        let resp = request.await.expect("task").expect("answered");
        assert_eq!(resp.status, CommandStatus::ESME_ROK);
        let Body::SubmitSmResp(body) = resp.body else {
            panic!("expected submit_sm_resp, got {:?}", resp.body);
        };
        assert_eq!(body.message_id.to_string(), resp.sequence.to_string());
        ids.insert(resp.sequence);
    }
    assert_eq!(ids.len(), 1000, "every request got its own sequence number");
    assert_eq!(esme.in_flight(), 0);
    esme.close();
    smsc.await
        .expect("the SMSC's event loop ends with its session");
}
