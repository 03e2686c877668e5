//! What the carrier sends us on a bind: receipts and MO (deliver_sm,
//! data_sm), turned into [`InboundEvent`]s and answered.
//!
//! Each session gets a reader task (the session layer requires its events
//! to be read apart from the tasks awaiting our submits) and an answering
//! task that takes the carrier's requests in order, hands each event to
//! tracking, and answers it once tracking says it is stored. Many are in
//! flight at once, up to the connector's `inbound_window`: tracking
//! commits them in batches, and each deliver_sm is answered when its
//! batch commits, so durability costs latency, not throughput. At the
//! window the session stops reading from the carrier (TCP back-pressure).
//!
//! A deliver_sm is answered ESME_ROK only once its event is durable in the
//! store: an acknowledged receipt is one the carrier will never send
//! again. If tracking's channel stays full for `event_handoff_timeout` (or
//! is closed), or the store fails, the answer is ESME_RX_T_APPN, a
//! temporary error after which carriers send the PDU again later.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use smpp::receipt::{MissingReceiptId, Receipt, ReceiptStat};
use smpp::session::{CloseReason, InboundRequest, Responder, SessionEvent};
use smpp::tlv::TlvList;
use smpp::types::esm_class;
use smpp::{Body, CommandStatus, DataSm, MessageIdResp, Tlv};
use tokio::sync::mpsc;
use tokio::sync::oneshot::error::RecvError;
use tracing::{debug, warn};

use super::Shared;
use crate::connectors::{Inbound, InboundEvent, ProviderMo, ProviderReceipt};

/// Reads one session's events until it closes, passing the carrier's
/// requests to an answering task; returns why the session closed.
pub(super) async fn read_session(
    shared: Arc<Shared>,
    address: String,
    mut events: mpsc::Receiver<SessionEvent>,
) -> CloseReason {
    // One place per request the session lets the carrier have unanswered
    // (it stops reading beyond that), so `try_send` below never finds it full.
    let (requests, queue) = mpsc::channel(shared.config.inbound_window.max(1));
    let answering = shared
        .tasks
        .spawn(answer_requests(Arc::clone(&shared), queue));
    let reason = loop {
        match events.recv().await {
            Some(SessionEvent::Request(request)) => {
                // On failure the request is dropped, and its responder
                // answers ESME_RSYSERR: the carrier tries again later.
                let _ = requests.try_send(request);
            }
            Some(SessionEvent::Outbind(_)) => {
                debug!(connector = %shared.name, %address, "ignoring outbind on a bound session");
            }
            Some(SessionEvent::AlertNotification(_)) => {
                debug!(connector = %shared.name, %address, "ignoring alert_notification");
            }
            Some(SessionEvent::Unbound) => {}
            Some(SessionEvent::Closed(reason)) => break reason,
            None => break CloseReason::Local,
        }
    };
    drop(requests);
    let _ = answering.await;
    reason
}

/// A request answered once tracking has stored its event: its responder,
/// the answer to give, and what tracking said.
type Answered = (Responder, Body, Result<Result<(), String>, RecvError>);

/// The requests whose events are with tracking, in whatever order their
/// batches commit.
type Awaiting = FuturesUnordered<Pin<Box<dyn Future<Output = Answered> + Send>>>;

/// Answers the carrier's requests: each is handed to tracking in the order
/// it came, and answered when tracking has stored it.
async fn answer_requests(shared: Arc<Shared>, mut queue: mpsc::Receiver<InboundRequest>) {
    let mut awaiting = Awaiting::new();
    loop {
        tokio::select! {
            Some((responder, resp, stored)) = awaiting.next(), if !awaiting.is_empty() => {
                answer(&shared, responder, resp, stored);
            }
            request = queue.recv() => {
                let Some(request) = request else { break };
                hand_over(&shared, request, &mut awaiting).await;
            }
        }
    }
    while let Some((responder, resp, stored)) = awaiting.next().await {
        answer(&shared, responder, resp, stored);
    }
}

/// Answers a request whose event tracking has stored, or failed to.
fn answer(
    shared: &Shared,
    responder: Responder,
    resp: Body,
    stored: Result<Result<(), String>, RecvError>,
) {
    match stored {
        Ok(Ok(())) => responder.respond(resp),
        Ok(Err(why)) => {
            warn!(connector = %shared.name, %why, "an inbound event could not be stored; asking the carrier to redeliver");
            responder.respond_status(CommandStatus::ESME_RX_T_APPN);
        }
        Err(_) => {
            debug!(connector = %shared.name, "tracking stopped before storing an inbound event; asking the carrier to redeliver");
            responder.respond_status(CommandStatus::ESME_RX_T_APPN);
        }
    }
}

/// Reads one request and hands its event to tracking (into `awaiting`),
/// answering the requests already stored while it waits for room in
/// tracking's channel. A request with nothing to store, or that finds no
/// room in time, is answered at once.
async fn hand_over(
    shared: &Shared,
    InboundRequest { pdu, responder }: InboundRequest,
    awaiting: &mut Awaiting,
) {
    let received_at = SystemTime::now();
    let (event, resp) = match pdu.body {
        Body::DeliverSm(sm) => {
            let resp = Body::DeliverSmResp(MessageIdResp::default());
            let event = if sm.is_receipt() {
                // Some carriers put long receipt text in message_payload.
                let text = match sm.tlvs[..].message_payload() {
                    Some(payload) if sm.short_message.is_empty() => payload.clone(),
                    _ => sm.short_message.clone(),
                };
                receipt(shared, &text, &sm.tlvs, received_at)
            } else {
                Some(InboundEvent::Mo(ProviderMo::from_deliver_sm(
                    shared.name.clone(),
                    sm,
                    received_at,
                )))
            };
            (event, resp)
        }
        Body::DataSm(sm) => {
            let resp = Body::DataSmResp(MessageIdResp::default());
            let event = if sm.esm_class & esm_class::TYPE_MASK != 0 {
                let payload = sm.tlvs[..].message_payload().cloned().unwrap_or_default();
                receipt(shared, &payload, &sm.tlvs, received_at)
            } else {
                Some(data_sm_mo(&shared.name, sm, received_at))
            };
            (event, resp)
        }
        other => {
            debug!(
                connector = %shared.name,
                command = %other.command_id(),
                "refusing a request a carrier does not send to an ESME"
            );
            responder.respond_status(CommandStatus::ESME_RINVCMDID);
            return;
        }
    };
    let Some(event) = event else {
        responder.respond(resp);
        return;
    };
    let (inbound, stored) = Inbound::new(event);
    let room = tokio::time::timeout(shared.config.event_handoff_timeout, async {
        loop {
            tokio::select! {
                permit = shared.events.reserve() => break permit,
                Some((responder, resp, stored)) = awaiting.next(), if !awaiting.is_empty() => {
                    answer(shared, responder, resp, stored);
                }
            }
        }
    })
    .await;
    match room {
        Ok(Ok(permit)) => {
            permit.send(inbound);
            awaiting.push(Box::pin(async move { (responder, resp, stored.await) }));
        }
        Ok(Err(_)) | Err(_) => {
            debug!(
                connector = %shared.name,
                "events channel full or closed; asking the carrier to redeliver"
            );
            responder.respond_status(CommandStatus::ESME_RX_T_APPN);
        }
    }
}

/// A data_sm MO: its message_payload becomes the message.
fn data_sm_mo(connector: &str, sm: DataSm, received_at: SystemTime) -> InboundEvent {
    let (payload, tlvs): (Vec<Tlv>, Vec<Tlv>) = sm
        .tlvs
        .into_iter()
        .partition(|tlv| matches!(tlv, Tlv::MessagePayload(_)));
    let short_message = payload
        .into_iter()
        .find_map(|tlv| match tlv {
            Tlv::MessagePayload(bytes) => Some(bytes),
            _ => None,
        })
        .unwrap_or_else(Bytes::new);
    InboundEvent::Mo(ProviderMo {
        connector: connector.to_string(),
        source: sm.source,
        destination: sm.destination,
        data_coding: sm.data_coding,
        esm_class: sm.esm_class,
        short_message,
        tlvs,
        received_at,
    })
}

/// A receipt as an event, or `None` when no message id can be found in it
/// anywhere: such a receipt can never be matched to a message, so it is
/// logged, counted, and still acknowledged (by the caller), because
/// refusing it would only make the carrier send it again forever.
fn receipt(
    shared: &Shared,
    text: &[u8],
    tlvs: &[Tlv],
    received_at: SystemTime,
) -> Option<InboundEvent> {
    match read_receipt(&shared.name, text, tlvs, received_at) {
        Ok(receipt) => Some(InboundEvent::Receipt(receipt)),
        Err(missing) => {
            shared.unreadable_receipts.fetch_add(1, Ordering::Relaxed);
            warn!(
                connector = %shared.name,
                excerpt = %missing.excerpt,
                "acknowledged a receipt with no message id in its text or TLVs; it cannot be matched and is dropped"
            );
            None
        }
    }
}

/// Reads a receipt from its text and TLVs, preferring the TLVs (they are
/// the machine-readable fields; the text's layout varies by carrier). A
/// text that does not parse is fine when receipted_message_id is there.
fn read_receipt(
    connector: &str,
    text: &[u8],
    tlvs: &[Tlv],
    received_at: SystemTime,
) -> Result<ProviderReceipt, MissingReceiptId> {
    let parsed = Receipt::parse(text);
    let tlv_id = tlvs
        .receipted_message_id()
        .map(|id| id.to_string_lossy().trim().to_string())
        .filter(|id| !id.is_empty());
    let provider_id = match (tlv_id, &parsed) {
        (Some(id), _) => id,
        (None, Ok(parsed)) => parsed.id.clone(),
        (None, Err(missing)) => return Err(missing.clone()),
    };
    let parsed = parsed.ok();
    let stat = tlvs
        .message_state()
        .and_then(ReceiptStat::from_message_state)
        .or_else(|| parsed.as_ref().map(|p| p.stat.clone()))
        .unwrap_or(ReceiptStat::Unknown);
    let network_error = tlvs.iter().find_map(|tlv| match tlv {
        Tlv::NetworkErrorCode {
            network_type,
            error_code,
        } => Some((*network_type, *error_code)),
        _ => None,
    });
    Ok(ProviderReceipt {
        connector: connector.to_string(),
        provider_id,
        stat,
        err: parsed.as_ref().map(|p| p.err.clone()).unwrap_or_default(),
        network_error,
        done_at: parsed.as_ref().and_then(|p| p.done_date),
        received_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use smpp::COctetString;

    const TEXT: &[u8] = b"id:0A1B sub:001 dlvrd:001 submit date:2501011200 done date:2501011201 stat:UNDELIV err:001 text:Hello";

    fn read(text: &[u8], tlvs: &[Tlv]) -> Result<ProviderReceipt, MissingReceiptId> {
        read_receipt("c", text, tlvs, SystemTime::UNIX_EPOCH)
    }

    #[test]
    fn standard_text_alone_gives_id_state_error_and_date() {
        let receipt = read(TEXT, &[]).expect("readable");
        assert_eq!(receipt.provider_id, "0A1B");
        assert_eq!(receipt.stat, ReceiptStat::Undeliverable);
        assert_eq!(receipt.err, "001");
        assert!(receipt.done_at.is_some());
        assert_eq!(receipt.network_error, None);
    }

    #[test]
    fn tlvs_win_over_the_text() {
        let tlvs = [
            Tlv::ReceiptedMessageId(COctetString::from_static("2587")),
            Tlv::MessageState(2),
            Tlv::NetworkErrorCode {
                network_type: 3,
                error_code: 7,
            },
        ];
        let receipt = read(TEXT, &tlvs).expect("readable");
        assert_eq!(receipt.provider_id, "2587");
        assert_eq!(receipt.stat, ReceiptStat::Delivered);
        assert_eq!(receipt.network_error, Some((3, 7)));
        assert_eq!(receipt.err, "001");
    }

    #[test]
    fn unreadable_text_is_fine_when_the_tlvs_carry_the_id() {
        let tlvs = [
            Tlv::ReceiptedMessageId(COctetString::from_static("abc")),
            Tlv::MessageState(3),
        ];
        let receipt = read(b"garbage", &tlvs).expect("readable");
        assert_eq!(receipt.provider_id, "abc");
        assert_eq!(receipt.stat, ReceiptStat::Expired);
        assert_eq!(receipt.done_at, None);
    }

    #[test]
    fn data_sm_mo_carries_its_payload_as_the_message() {
        let sm = DataSm {
            esm_class: 0,
            data_coding: 8,
            tlvs: vec![
                Tlv::SarMsgRefNum(7),
                Tlv::MessagePayload(Bytes::from_static(b"\x00h\x00i")),
            ],
            ..DataSm::default()
        };
        let InboundEvent::Mo(mo) = data_sm_mo("c", sm, SystemTime::UNIX_EPOCH) else {
            panic!("an MO");
        };
        assert_eq!(&mo.short_message[..], b"\x00h\x00i");
        assert_eq!(mo.tlvs, vec![Tlv::SarMsgRefNum(7)]);
        assert_eq!(mo.data_coding, 8);
    }

    #[test]
    fn receipt_without_any_id_is_unreadable() {
        assert!(read(b"stat:DELIVRD", &[Tlv::MessageState(2)]).is_err());
        let empty_tlv = [Tlv::ReceiptedMessageId(COctetString::empty())];
        assert!(read(b"", &empty_tlv).is_err());
    }
}
