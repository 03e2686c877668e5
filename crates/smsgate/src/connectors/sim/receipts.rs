//! Delivery receipts: building them, and getting them to the ESME.
//!
//! A real SMSC does not answer on the connection that submitted: it sends a
//! receipt on any receiver or transceiver bound with the same system_id, on
//! whichever of its hosts (see the SMSPortal guide in the seeds). So do we:
//! every bound receiving session registers here under its system_id, and
//! each receipt goes to the next one in turn, whichever listener it came
//! through. With none bound, receipts wait in a bounded queue per
//! system_id until one binds.
//!
//! An ESME that refuses a receipt (an error deliver_sm_resp, or no answer
//! in time) gets it again after a doubling backoff, a configured number of
//! times, possibly on another of its sessions; then it is dropped and
//! counted. A session that closes while a receipt is on it does not count
//! as a refusal: the receipt is routed again.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use smpp::receipt::Receipt;
use smpp::session::{RequestError, SessionHandle};
use smpp::types::esm_class;
use smpp::{Address, Body, COctetString, DeliverSm, Tlv};
use tokio::task::JoinSet;

use super::outcome::FinalStat;
use super::{Shared, bump};

/// network_error_code's network type for GSM errors (SMPP 3.4, 5.3.2.31).
const NETWORK_TYPE_GSM: u8 = 3;

/// What an accepted message's receipt needs, kept from its submit until
/// the receipt is due.
#[derive(Debug)]
pub(super) struct ReceiptOrder {
    /// Who submitted: the receipt goes to this system_id's sessions.
    pub(super) system_id: COctetString,
    pub(super) message_id: COctetString,
    pub(super) source: Address,
    pub(super) destination: Address,
    /// The start of the message for `text:`, in ASCII.
    pub(super) text: String,
    pub(super) submitted_at: SystemTime,
    pub(super) stat: FinalStat,
    pub(super) error_code: u16,
}

impl ReceiptOrder {
    /// The receipt, dated now: a deliver_sm from the recipient to the
    /// sender, marked as a receipt in esm_class, with the standard text and
    /// the receipted_message_id, message_state and (for a failure with a
    /// code) network_error_code TLVs.
    pub(super) fn into_receipt(self) -> PendingReceipt {
        let stat = self.stat.receipt_stat();
        let mut tlvs = Vec::with_capacity(3);
        tlvs.push(Tlv::ReceiptedMessageId(self.message_id.clone()));
        if let Some(state) = stat.message_state() {
            tlvs.push(Tlv::MessageState(state));
        }
        if self.error_code != 0 {
            tlvs.push(Tlv::NetworkErrorCode {
                network_type: NETWORK_TYPE_GSM,
                error_code: self.error_code,
            });
        }
        let text = Receipt {
            id: self.message_id.to_string_lossy().into_owned(),
            submitted: 1,
            delivered: u32::from(self.stat == FinalStat::Delivered),
            submit_date: Some(self.submitted_at),
            done_date: Some(SystemTime::now()),
            stat,
            err: if self.error_code == 0 {
                String::new()
            } else {
                format!("{:03}", self.error_code)
            },
            text: self.text,
        }
        .format();
        PendingReceipt {
            system_id: self.system_id,
            deliver_sm: DeliverSm {
                source: self.destination,
                destination: self.source,
                esm_class: esm_class::DELIVERY_RECEIPT,
                short_message: Bytes::from(text),
                tlvs,
                ..DeliverSm::default()
            },
            refusals: 0,
        }
    }
}

/// The start of a message as the receipt's `text:` shows it (the same as
/// smsgate's own receipts to customers).
pub(super) use crate::delivery::outbox::echo;

/// A receipt ready to go (or waiting for a session to go on).
#[derive(Debug)]
pub(super) struct PendingReceipt {
    system_id: COctetString,
    deliver_sm: DeliverSm,
    /// How many times the ESME refused it.
    refusals: u32,
}

/// The receiving sessions of every system_id, and the receipts waiting for
/// one. Behind a plain mutex in [`Shared`]: every operation is a few map
/// and vector steps, and none awaits.
#[derive(Debug, Default)]
pub(super) struct Receivers {
    systems: HashMap<COctetString, SystemReceivers>,
    /// Receipts held over all system_ids, for the stats.
    held: usize,
}

#[derive(Debug, Default)]
struct SystemReceivers {
    /// Session id and handle of each bound receiver or transceiver.
    sessions: Vec<(u64, SessionHandle)>,
    /// Where the round robin goes next.
    next: usize,
    held: VecDeque<PendingReceipt>,
}

/// Where [`Receivers::route`] put a receipt.
#[expect(
    clippy::large_enum_variant,
    reason = "returned and taken apart at once: boxing the receipt would cost an allocation per receipt"
)]
pub(super) enum Route {
    /// Send it on this session.
    Send(SessionHandle, PendingReceipt),
    /// No session: it waits for one.
    Held,
    /// No session, and the queue is full.
    Full,
}

impl Receivers {
    /// Adds a bound receiving session; `true` if receipts wait for it.
    pub(super) fn register(
        &mut self,
        system_id: COctetString,
        session: u64,
        handle: SessionHandle,
    ) -> bool {
        let system = self.systems.entry(system_id).or_default();
        system.sessions.push((session, handle));
        !system.held.is_empty()
    }

    /// Removes a session (unbound or closed); nothing if it is not here.
    pub(super) fn deregister(&mut self, system_id: &COctetString, session: u64) {
        if let Some(system) = self.systems.get_mut(system_id) {
            system.sessions.retain(|(id, _)| *id != session);
            if system.sessions.is_empty() && system.held.is_empty() {
                self.systems.remove(system_id);
            }
        }
    }

    /// The next open session of the receipt's system_id, or the queue.
    pub(super) fn route(&mut self, receipt: PendingReceipt, max_held: usize) -> Route {
        let system = self.systems.entry(receipt.system_id.clone()).or_default();
        if let Some(session) = system.next_session() {
            return Route::Send(session, receipt);
        }
        if system.held.len() >= max_held {
            if system.held.is_empty() {
                self.systems.remove(&receipt.system_id);
            }
            return Route::Full;
        }
        system.held.push_back(receipt);
        self.held += 1;
        Route::Held
    }

    /// The oldest receipt waiting for this system_id.
    pub(super) fn take_held(&mut self, system_id: &COctetString) -> Option<PendingReceipt> {
        let receipt = self.systems.get_mut(system_id)?.held.pop_front()?;
        self.held -= 1;
        Some(receipt)
    }

    /// One session (the next in turn) of every system_id that has one.
    pub(super) fn mo_targets(&mut self) -> Vec<SessionHandle> {
        self.systems
            .values_mut()
            .filter_map(SystemReceivers::next_session)
            .collect()
    }

    /// Receipts waiting for a session, over all system_ids.
    pub(super) fn held(&self) -> usize {
        self.held
    }
}

impl SystemReceivers {
    /// Round robin over the open sessions; closed ones are forgotten
    /// (their connection task deregisters them too, but may not have yet).
    fn next_session(&mut self) -> Option<SessionHandle> {
        self.sessions.retain(|(_, handle)| !handle.is_closed());
        if self.sessions.is_empty() {
            return None;
        }
        let index = self.next % self.sessions.len();
        self.next = index + 1;
        Some(self.sessions[index].1.clone())
    }
}

/// How a delivery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Delivery {
    /// The ESME answered ESME_ROK.
    Acknowledged,
    /// No session is bound; the receipt waits for one.
    Held,
    /// Refused too often, or the queue was full; counted.
    Dropped,
    /// The simulator is shutting down.
    Abandoned,
}

/// Sends a receipt to its system_id's next session, again after each
/// refusal up to the configured number of retries, or queues it if none is
/// bound.
pub(super) async fn deliver(shared: &Shared, mut receipt: PendingReceipt) -> Delivery {
    let config = &shared.config;
    loop {
        let route = shared.receivers().route(receipt, config.max_held_receipts);
        let session = match route {
            Route::Send(session, routed) => {
                receipt = routed;
                session
            }
            Route::Held => return Delivery::Held,
            Route::Full => {
                bump(&shared.counters.receipts_dropped);
                return Delivery::Dropped;
            }
        };
        bump(&shared.counters.receipts_sent);
        let request = session.request(Body::DeliverSm(receipt.deliver_sm.clone()));
        let answer = tokio::select! {
            answer = request => answer,
            () = shared.shutdown.cancelled() => return Delivery::Abandoned,
        };
        match answer {
            Ok(response) if response.status.is_ok() => {
                bump(&shared.counters.receipts_acknowledged);
                return Delivery::Acknowledged;
            }
            // The session ended before answering: not the ESME's refusal.
            Err(RequestError::Closed) => continue,
            Ok(_) | Err(_) => {
                receipt.refusals += 1;
                if receipt.refusals > config.receipt_retries {
                    bump(&shared.counters.receipts_dropped);
                    return Delivery::Dropped;
                }
                let backoff = backoff(config.receipt_retry_delay, receipt.refusals);
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = shared.shutdown.cancelled() => return Delivery::Abandoned,
                }
            }
        }
    }
}

/// The wait after the `refusals`-th refusal: the first delay, doubled for
/// each refusal after the first.
fn backoff(first: Duration, refusals: u32) -> Duration {
    let doublings = refusals.saturating_sub(1).min(16);
    first.saturating_mul(1 << doublings)
}

/// Sends the receipts held for `system_id` now that `session` is bound,
/// up to a receipt window's worth at a time. Stops early if that session closes or
/// a receipt finds no session at all (it went back to the queue, and the
/// next bind drains it).
pub(super) async fn drain_held(
    shared: Arc<Shared>,
    system_id: COctetString,
    session: SessionHandle,
) {
    let mut sending = JoinSet::new();
    let mut stalled = false;
    let window = shared.config.receipt_window_limit();
    loop {
        while !stalled
            && sending.len() < window
            && !session.is_closed()
            && !shared.shutdown.is_cancelled()
        {
            let Some(receipt) = shared.receivers().take_held(&system_id) else {
                break;
            };
            let shared = Arc::clone(&shared);
            sending.spawn(async move { deliver(&shared, receipt).await });
        }
        match sending.join_next().await {
            None => return,
            Some(Ok(Delivery::Held)) => stalled = true,
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_configured_delay() {
        let first = Duration::from_millis(100);
        assert_eq!(backoff(first, 1), first);
        assert_eq!(backoff(first, 2), first * 2);
        assert_eq!(backoff(first, 4), first * 8);
        assert!(backoff(Duration::MAX, 40) == Duration::MAX);
    }

    #[test]
    fn echo_shows_the_start_of_the_text_in_ascii() {
        assert_eq!(echo(0, 0, b"Hello world"), "Hello world");
        let ucs2: Vec<u8> = "Привет ok"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        assert_eq!(echo(8, 0, &ucs2), "?????? ok");
        let with_udh = [&[0x05, 0x00, 0x03, 0x07, 0x02, 0x01][..], b"Part one"].concat();
        assert_eq!(echo(0, esm_class::UDHI, &with_udh), "Part one");
        assert_eq!(echo(4, 0, &[0xFF, 0x00]), "", "binary shows nothing");
    }

    #[test]
    fn receipt_carries_the_id_state_and_error_in_text_and_tlvs() {
        let order = ReceiptOrder {
            system_id: COctetString::from_static("acme"),
            message_id: COctetString::from_static("0a1b2c3d4e"),
            source: Address::new(5, 0, COctetString::from_static("Shop")),
            destination: Address::new(1, 1, COctetString::from_static("447700900001")),
            text: "Your code is 1234, valid for 5 minutes".into(),
            submitted_at: SystemTime::now(),
            stat: FinalStat::Undeliverable,
            error_code: 1,
        };
        let receipt = order.into_receipt();
        let sm = &receipt.deliver_sm;
        assert_eq!(sm.esm_class, esm_class::DELIVERY_RECEIPT);
        assert_eq!(sm.source.addr, "447700900001");
        assert_eq!(sm.destination.addr, "Shop");
        let parsed = Receipt::parse(&sm.short_message).expect("standard text");
        assert_eq!(parsed.id, "0a1b2c3d4e");
        assert_eq!(parsed.stat, smpp::receipt::ReceiptStat::Undeliverable);
        assert_eq!((parsed.submitted, parsed.delivered), (1, 0));
        assert_eq!(parsed.err, "001");
        assert_eq!(parsed.text, "Your code is 1234, v");
        assert_eq!(
            sm.tlvs,
            vec![
                Tlv::ReceiptedMessageId(COctetString::from_static("0a1b2c3d4e")),
                Tlv::MessageState(5),
                Tlv::NetworkErrorCode {
                    network_type: NETWORK_TYPE_GSM,
                    error_code: 1
                },
            ]
        );
    }
}
