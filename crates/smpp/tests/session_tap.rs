//! The session's PDU tap: what it is shown, in which direction, and that a
//! tap switched off is shown nothing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use smpp::session::{self, Direction, PduTap, SessionConfig, SessionEvent};
use smpp::{Body, CommandId, CommandStatus, MessageIdResp, Pdu, SubmitSm};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(5);

/// Records what it is shown while `on`.
#[derive(Default)]
struct Recorder {
    on: AtomicBool,
    seen: Mutex<Vec<(Direction, Vec<u8>)>>,
}

impl Recorder {
    fn seen(&self) -> Vec<(Direction, Vec<u8>)> {
        self.seen.lock().expect("not poisoned").clone()
    }
}

impl PduTap for Recorder {
    fn is_on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    fn observe(&self, direction: Direction, pdu: &[u8]) {
        self.seen
            .lock()
            .expect("not poisoned")
            .push((direction, pdu.to_vec()));
    }
}

fn config() -> SessionConfig {
    SessionConfig {
        enquire_link_interval: None,
        inactivity_timeout: None,
        ..SessionConfig::default()
    }
}

async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("local address");
    let (client, accepted) = tokio::join!(TcpStream::connect(address), listener.accept());
    (client.expect("connect"), accepted.expect("accept").0)
}

async fn read_pdu(stream: &mut TcpStream) -> Vec<u8> {
    timeout(WAIT, async {
        let mut length = [0u8; 4];
        stream.read_exact(&mut length).await.expect("a header");
        let mut frame = vec![0u8; u32::from_be_bytes(length) as usize];
        frame[..4].copy_from_slice(&length);
        stream.read_exact(&mut frame[4..]).await.expect("a body");
        frame
    })
    .await
    .expect("a PDU in time")
}

/// The peer sends a submit_sm, the application answers it, and the raw
/// peer reads the answer: returns both PDUs' octets as they crossed the wire.
async fn one_exchange(
    events: &mut tokio::sync::mpsc::Receiver<SessionEvent>,
    peer: &mut TcpStream,
    sequence: u32,
) -> (Vec<u8>, Vec<u8>) {
    let submit = Pdu::new(sequence, Body::SubmitSm(SubmitSm::default())).to_bytes();
    peer.write_all(&submit).await.expect("write");
    let Some(SessionEvent::Request(request)) = timeout(WAIT, events.recv()).await.expect("event")
    else {
        panic!("expected the submit_sm");
    };
    request.responder.respond(Body::SubmitSmResp(MessageIdResp {
        message_id: "id-1".try_into().expect("a short id"),
        tlvs: Vec::new(),
    }));
    let answer = read_pdu(peer).await;
    (submit.to_vec(), answer)
}

#[tokio::test]
async fn a_tap_sees_the_exact_octets_read_and_written_in_order() {
    let (ours, mut peer) = tcp_pair().await;
    let recorder = Arc::new(Recorder::default());
    recorder.on.store(true, Ordering::Relaxed);
    let (_handle, mut events) = session::start_tapped(ours, config(), recorder.clone());

    let (submit, answer) = one_exchange(&mut events, &mut peer, 7).await;

    let seen = recorder.seen();
    assert_eq!(
        seen,
        vec![
            (Direction::Received, submit),
            (Direction::Sent, answer.clone())
        ]
    );
    assert_eq!(
        u32::from_be_bytes([answer[4], answer[5], answer[6], answer[7]]),
        CommandId::SubmitSmResp.value()
    );
}

#[tokio::test]
async fn a_tap_switched_off_is_shown_nothing_until_switched_on() {
    let (ours, mut peer) = tcp_pair().await;
    let recorder = Arc::new(Recorder::default());
    let (_handle, mut events) = session::start_tapped(ours, config(), recorder.clone());

    one_exchange(&mut events, &mut peer, 1).await;
    assert!(recorder.seen().is_empty(), "nothing while off");

    recorder.on.store(true, Ordering::Relaxed);
    let (submit, answer) = one_exchange(&mut events, &mut peer, 2).await;
    assert_eq!(
        recorder.seen(),
        vec![(Direction::Received, submit), (Direction::Sent, answer)]
    );
}

#[tokio::test]
async fn a_tap_sees_the_answers_the_session_gives_on_its_own_and_malformed_input() {
    let (ours, mut peer) = tcp_pair().await;
    let recorder = Arc::new(Recorder::default());
    recorder.on.store(true, Ordering::Relaxed);
    let (_handle, _events) = session::start_tapped(ours, config(), recorder.clone());

    // An unknown command id: framed, shown, then answered with generic_nack.
    let unknown = [0, 0, 0, 16, 0, 0, 0x0f, 0xff, 0, 0, 0, 0, 0, 0, 0, 9];
    peer.write_all(&unknown).await.expect("write");
    let nack = read_pdu(&mut peer).await;
    let enquire = Pdu::new(10, Body::EnquireLink).to_bytes();
    peer.write_all(&enquire).await.expect("write");
    let enquire_resp = read_pdu(&mut peer).await;

    let seen = recorder.seen();
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert_eq!(seen[0], (Direction::Received, unknown.to_vec()));
    assert_eq!(seen[1], (Direction::Sent, nack.clone()));
    assert_eq!(
        u32::from_be_bytes([nack[8], nack[9], nack[10], nack[11]]),
        CommandStatus::ESME_RINVCMDID.0
    );
    assert_eq!(seen[2], (Direction::Received, enquire.to_vec()));
    assert_eq!(seen[3], (Direction::Sent, enquire_resp));
}
