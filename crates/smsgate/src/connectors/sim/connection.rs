//! One ESME connection to the simulator: binds, submits and their answers,
//! on top of the protocol session (`smpp::session`), which already answers
//! enquire_link and unbind and handles framing, windows and timeouts.
//!
//! Only what a carrier's SMSC does: bind_transmitter, bind_receiver and
//! bind_transceiver; submit_sm and data_sm on transmitter and transceiver
//! binds. Anything else an ESME may send (query_sm, cancel_sm, replace_sm,
//! submit_multi) is answered ESME_RINVCMDID, as by carriers that do not
//! offer it; a request before bind, or a submit on a receiver, gets
//! ESME_RINVBNDSTS, and a second bind ESME_RALYBND.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use smpp::session::{self, InboundRequest, Responder, SessionConfig, SessionEvent, SessionHandle};
use smpp::tlv::TlvList;
use smpp::{
    Address, Bind, BindResp, Body, COctetString, CommandStatus, DataSm, DecodeLimits,
    MessageIdResp, SubmitSm, Tlv,
};
use tokio::net::TcpStream;
use tracing::{debug, info};

use super::outcome::{Verdict, wants_receipt};
use super::receipts::{self, ReceiptOrder};
use super::{MessageIdFormat, Shared, SimConfig, bump};

/// The system_id the simulator answers binds with.
const SIM_SYSTEM_ID: COctetString = COctetString::from_static("smsgate-sim");
/// The SMPP version the simulator announces in bind resps.
const INTERFACE_VERSION: u8 = 0x34;
/// Longest system_id and password read from a bind, NUL included: more than
/// SMPP 3.4's 16 and 9, because clients send longer ones and a carrier that
/// refused them would only get in the way of a test.
const CREDENTIAL_MAX: usize = 65;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BindMode {
    Transmitter,
    Receiver,
    Transceiver,
}

impl BindMode {
    fn submits(self) -> bool {
        self != BindMode::Receiver
    }

    fn receives(self) -> bool {
        self != BindMode::Transmitter
    }

    fn response(self, resp: BindResp) -> Body {
        match self {
            BindMode::Transmitter => Body::BindTransmitterResp(resp),
            BindMode::Receiver => Body::BindReceiverResp(resp),
            BindMode::Transceiver => Body::BindTransceiverResp(resp),
        }
    }
}

/// Which resp a submit gets.
#[derive(Debug, Clone, Copy)]
enum Reply {
    SubmitSm,
    DataSm,
}

impl Reply {
    fn accepted(self, message_id: COctetString) -> Body {
        let resp = MessageIdResp::new(message_id);
        match self {
            Reply::SubmitSm => Body::SubmitSmResp(resp),
            Reply::DataSm => Body::DataSmResp(resp),
        }
    }
}

struct Bound {
    system_id: COctetString,
    mode: BindMode,
}

struct Connection {
    id: u64,
    remote: SocketAddr,
    shared: Arc<Shared>,
    handle: SessionHandle,
    bound: Option<Bound>,
}

/// The session settings of every ESME connection: the ESME's submits are
/// held to `max_window`, our deliver_sm to the receipt window.
fn session_config(shared: &Shared) -> SessionConfig {
    SessionConfig {
        window: shared.config.receipt_window_limit(),
        peer_window: shared.config.max_window,
        unbind_timeout: Duration::from_secs(2),
        close_timeout: Duration::from_secs(2),
        limits: DecodeLimits {
            max_credential_len: Some(CREDENTIAL_MAX),
            ..DecodeLimits::default()
        },
        ..SessionConfig::default()
    }
}

/// Serves one connection until it closes; on shutdown, unbinds it first.
pub(super) async fn serve(shared: Arc<Shared>, stream: TcpStream, remote: SocketAddr) {
    let (handle, mut events) = session::start(stream, session_config(&shared));
    let shutdown = shared.shutdown.clone();
    let mut connection = Connection {
        id: shared.next_session(),
        remote,
        shared,
        handle,
        bound: None,
    };
    let mut ending = false;
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(SessionEvent::Request(request)) => connection.on_request(request),
                Some(SessionEvent::Unbound) => connection.stop_receiving(),
                // SMSC-to-ESME PDUs: an ESME has no business sending them.
                Some(SessionEvent::Outbind(_) | SessionEvent::AlertNotification(_)) => {}
                Some(SessionEvent::Closed(reason)) => {
                    debug!(session = connection.id, %remote, %reason, "sim session closed");
                    break;
                }
                None => break,
            },
            () = shutdown.cancelled(), if !ending => {
                ending = true;
                connection.end();
            }
        }
    }
    connection.stop_receiving();
}

impl Connection {
    fn on_request(&mut self, request: InboundRequest) {
        let InboundRequest { pdu, responder } = request;
        match pdu.body {
            Body::BindTransmitter(bind) => self.bind(bind, BindMode::Transmitter, responder),
            Body::BindReceiver(bind) => self.bind(bind, BindMode::Receiver, responder),
            Body::BindTransceiver(bind) => self.bind(bind, BindMode::Transceiver, responder),
            Body::SubmitSm(sm) => {
                self.submit(Submitted::from_submit_sm(sm), Reply::SubmitSm, responder)
            }
            Body::DataSm(sm) => self.submit(Submitted::from_data_sm(sm), Reply::DataSm, responder),
            _ if self.bound.is_none() => responder.respond_status(CommandStatus::ESME_RINVBNDSTS),
            _ => responder.respond_status(CommandStatus::ESME_RINVCMDID),
        }
    }

    fn bind(&mut self, bind: Bind, mode: BindMode, responder: Responder) {
        if self.bound.is_some() {
            responder.respond_status(CommandStatus::ESME_RALYBND);
            return;
        }
        if !self.shared.accepts(&bind) {
            bump(&self.shared.counters.failed_binds);
            debug!(session = self.id, remote = %self.remote, system_id = %bind.system_id, "sim bind refused");
            responder.respond_status(CommandStatus::ESME_RINVPASWD);
            return;
        }
        bump(&self.shared.counters.binds);
        info!(session = self.id, remote = %self.remote, system_id = %bind.system_id, ?mode, "sim bound");
        responder.respond(mode.response(BindResp {
            system_id: SIM_SYSTEM_ID,
            tlvs: vec![Tlv::ScInterfaceVersion(INTERFACE_VERSION)],
        }));
        if mode.receives() {
            let receipts_wait = self.shared.receivers().register(
                bind.system_id.clone(),
                self.id,
                self.handle.clone(),
            );
            if receipts_wait {
                self.shared.tasks.spawn(receipts::drain_held(
                    Arc::clone(&self.shared),
                    bind.system_id.clone(),
                    self.handle.clone(),
                ));
            }
        }
        self.bound = Some(Bound {
            system_id: bind.system_id,
            mode,
        });
    }

    /// Decides the submit's fate now and answers it (and sends its receipt)
    /// in a task of its own, so that its latency holds up nothing else.
    fn submit(&mut self, message: Submitted, reply: Reply, responder: Responder) {
        let Some(bound) = self.bound.as_ref().filter(|bound| bound.mode.submits()) else {
            responder.respond_status(CommandStatus::ESME_RINVBNDSTS);
            return;
        };
        let shared = &self.shared;
        bump(&shared.counters.submits);
        let decision = shared.dice.roll(|rng| shared.plan.decide(rng));
        let answer = match decision.verdict {
            Verdict::Accept {
                stat,
                receipt_delay,
            } => {
                bump(&shared.counters.accepted);
                let message_id = shared.ids.next();
                let receipt = wants_receipt(message.registered_delivery, stat).then(|| {
                    let order = ReceiptOrder {
                        system_id: bound.system_id.clone(),
                        message_id: receipt_id(&message_id, &shared.config),
                        text: receipts::echo(message.data_coding, message.esm_class, &message.text),
                        source: message.source,
                        destination: message.destination,
                        submitted_at: SystemTime::now(),
                        stat,
                        error_code: stat.error_code(&shared.config),
                    };
                    (receipt_delay, order)
                });
                Answer::Accept {
                    message_id,
                    receipt,
                }
            }
            Verdict::Reject(status) => {
                bump(&shared.counters.rejected);
                Answer::Reject(status)
            }
        };
        shared.tasks.spawn(answer_submit(
            Arc::clone(shared),
            responder,
            reply,
            decision.latency,
            answer,
        ));
    }

    /// Unbinds (in the background: the events must keep being read for the
    /// unbind_resp to arrive), or closes a connection that never bound.
    fn end(&self) {
        if self.bound.is_some() {
            let handle = self.handle.clone();
            self.shared.tasks.spawn(async move {
                let _ = handle.unbind().await;
            });
        } else {
            self.handle.close();
        }
    }

    /// Receipts and MO stop coming to this session.
    fn stop_receiving(&self) {
        if let Some(bound) = &self.bound
            && bound.mode.receives()
        {
            self.shared
                .receivers()
                .deregister(&bound.system_id, self.id);
        }
    }
}

/// What the ESME submitted, as far as the answer and receipt need it.
struct Submitted {
    source: Address,
    destination: Address,
    esm_class: u8,
    registered_delivery: u8,
    data_coding: u8,
    /// short_message, or message_payload when short_message is empty.
    text: Bytes,
}

impl Submitted {
    fn from_submit_sm(sm: SubmitSm) -> Submitted {
        let text = match sm.tlvs.message_payload() {
            Some(payload) if sm.short_message.is_empty() => payload.clone(),
            _ => sm.short_message,
        };
        Submitted {
            source: sm.source,
            destination: sm.destination,
            esm_class: sm.esm_class,
            registered_delivery: sm.registered_delivery,
            data_coding: sm.data_coding,
            text,
        }
    }

    fn from_data_sm(sm: DataSm) -> Submitted {
        Submitted {
            text: sm.tlvs.message_payload().cloned().unwrap_or_default(),
            source: sm.source,
            destination: sm.destination,
            esm_class: sm.esm_class,
            registered_delivery: sm.registered_delivery,
            data_coding: sm.data_coding,
        }
    }
}

/// A submit's answer, decided when it arrived.
#[expect(
    clippy::large_enum_variant,
    reason = "moved once into the submit's task: boxing the receipt would cost an allocation per message"
)]
enum Answer {
    /// ESME_ROK with this id; the receipt, if one is wanted, is due this
    /// long after the answer.
    Accept {
        message_id: COctetString,
        receipt: Option<(Duration, ReceiptOrder)>,
    },
    Reject(CommandStatus),
}

/// Waits the latency and answers; for an accepted message that wants one,
/// waits the receipt delay and delivers its receipt. On shutdown the
/// answer goes at once and the receipt is not sent.
async fn answer_submit(
    shared: Arc<Shared>,
    responder: Responder,
    reply: Reply,
    latency: Duration,
    answer: Answer,
) {
    if !latency.is_zero() {
        tokio::select! {
            () = tokio::time::sleep(latency) => {}
            () = shared.shutdown.cancelled() => {}
        }
    }
    let receipt = match answer {
        Answer::Accept {
            message_id,
            receipt,
        } => {
            responder.respond(reply.accepted(message_id));
            receipt
        }
        Answer::Reject(status) => {
            responder.respond_status(status);
            None
        }
    };
    let Some((receipt_delay, order)) = receipt else {
        return;
    };
    // Without a delay the receipt goes now: a zero sleep still registers
    // with the timer wheel, a cost per receipt at benchmark rates.
    if !receipt_delay.is_zero() {
        tokio::select! {
            () = tokio::time::sleep(receipt_delay) => {}
            () = shared.shutdown.cancelled() => return,
        }
    } else if shared.shutdown.is_cancelled() {
        return;
    }
    receipts::deliver(&shared, order.into_receipt()).await;
}

/// The id a receipt names the message by: as answered to the submit, or a
/// hex id written in decimal when the simulator plays a carrier that does so.
fn receipt_id(message_id: &COctetString, config: &SimConfig) -> COctetString {
    if !config.receipt_ids_in_decimal || config.message_id_format != MessageIdFormat::Hex {
        return message_id.clone();
    }
    let decimal = u128::from_str_radix(&message_id.to_string_lossy(), 16)
        .map(|value| value.to_string())
        .ok()
        .and_then(|text| COctetString::try_from(text.as_str()).ok());
    decimal.unwrap_or_else(|| message_id.clone())
}
