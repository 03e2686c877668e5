//! Deliveries to SMPP customers: delivery receipts for their messages, and
//! inbound messages (MO) routed to their accounts.
//!
//! Each is a deliver_sm in the store's outbox, written in the same
//! transaction as the state change it reports, so a receipt is never lost
//! between "the message was delivered" and "the customer was told". The
//! [`super::courier`] sends them on any receiver or transceiver session of the
//! account bound to this node, oldest first, and keeps those it cannot
//! send yet until a session binds (up to a maximum age).

use std::time::SystemTime;

use bytes::Bytes;
use smpp::receipt::{Receipt, ReceiptStat};
use smpp::types::{esm_class, registered_delivery};
use smpp::{Address, Body, COctetString, DeliverSm, Pdu, Tlv};

use crate::store::{MessageState, StoredAddress};

pub use super::courier::{Courier, CourierConfig};

/// How many octets of a message are decoded for a receipt's `text:`, which
/// shows 20 characters: enough for 20 UCS-2 characters.
const ECHO_OCTETS: usize = 40;

/// network_error_code's network type for GSM errors (SMPP 3.4, 5.3.2.31).
const NETWORK_TYPE_GSM: u8 = 3;

/// What an outbox entry carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxKind {
    /// A delivery receipt for one of the account's messages.
    Receipt,
    /// An inbound message for the account.
    Mo,
    /// An event for a customer's webhook (the account column names the
    /// webhook: `webhook:NAME`).
    Webhook,
}

impl OutboxKind {
    /// The name in the store and in traces.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxKind::Receipt => "receipt",
            OutboxKind::Mo => "mo",
            OutboxKind::Webhook => "webhook",
        }
    }

    /// Reads a stored name.
    pub fn parse(text: &str) -> Option<OutboxKind> {
        match text {
            "receipt" => Some(OutboxKind::Receipt),
            "mo" => Some(OutboxKind::Mo),
            "webhook" => Some(OutboxKind::Webhook),
            _ => None,
        }
    }
}

/// One deliver_sm waiting for a session, as claimed from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    /// Its place in the outbox: lower is older.
    pub seq: i64,
    /// The account whose sessions get it.
    pub account: String,
    /// Receipt or MO.
    pub kind: OutboxKind,
    /// The message it is about (its trace records the delivery).
    pub message_id: String,
    /// The deliver_sm, encoded with sequence number 0.
    pub pdu: Bytes,
    /// When it was queued.
    pub created_at: SystemTime,
    /// Attempts so far.
    pub attempts: u32,
}

/// How an attempt to deliver an outbox item ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxResult {
    /// The customer acknowledged it: it leaves the outbox.
    Delivered {
        /// Which session took it, for the trace.
        detail: String,
    },
    /// Try again at `at` (a temporary error, or no answer).
    Retry {
        /// When it is due again.
        at: SystemTime,
        /// Why, for the trace.
        detail: String,
    },
    /// Given up (a permanent error): it leaves the outbox.
    Dropped {
        /// Why, for the trace.
        detail: String,
    },
}

/// The receipt word for a message's final (or intermediate) state.
pub fn receipt_stat(state: MessageState) -> ReceiptStat {
    match state {
        MessageState::Delivered => ReceiptStat::Delivered,
        MessageState::Undeliverable | MessageState::Failed => ReceiptStat::Undeliverable,
        MessageState::Expired => ReceiptStat::Expired,
        MessageState::Rejected => ReceiptStat::Rejected,
        MessageState::Deleted => ReceiptStat::Deleted,
        MessageState::Unknown => ReceiptStat::Unknown,
        MessageState::Submitted => ReceiptStat::Enroute,
        MessageState::Accepted | MessageState::Queued => ReceiptStat::Accepted,
    }
}

/// Whether a customer who submitted with `registered: registered_delivery`
/// asked for a receipt reporting `stat` (SMPP 3.4, 5.2.17): bits 0-1 `01`
/// for every final outcome, `10` for failures only; bit 4 for intermediate
/// notifications (ENROUTE, ACCEPTD).
pub fn wants_receipt(registered: u8, stat: &ReceiptStat) -> bool {
    if !stat.is_final() {
        return registered & registered_delivery::INTERMEDIATE_NOTIFICATION != 0;
    }
    match registered & registered_delivery::RECEIPT_MASK {
        registered_delivery::RECEIPT_ALWAYS => true,
        registered_delivery::RECEIPT_ON_FAILURE => *stat != ReceiptStat::Delivered,
        _ => false,
    }
}

/// The start of a message as a receipt's `text:` shows it: decoded from its
/// data_coding (after any UDH), with everything but printable ASCII
/// replaced by `?` so the receipt can travel as plain data_coding 0. Empty
/// for binary or undecodable content.
pub fn echo(data_coding: u8, esm_class: u8, message: &[u8]) -> String {
    let body = if esm_class & esm_class::UDHI != 0 {
        let header = message.first().map_or(0, |&len| usize::from(len) + 1);
        message.get(header..).unwrap_or_default()
    } else {
        message
    };
    let head = &body[..body.len().min(ECHO_OCTETS)];
    match smstext::decode(data_coding, head) {
        Ok(text) => text
            .chars()
            .map(|c| {
                if c == ' ' || c.is_ascii_graphic() {
                    c
                } else {
                    '?'
                }
            })
            .collect(),
        Err(_) => String::new(),
    }
}

/// The message a receipt reports on, as stored.
#[derive(Debug, Clone, Copy)]
pub struct ReceiptSubject<'a> {
    /// Our message id (the customer's handle on it).
    pub id: &'a str,
    /// Its sender.
    pub source: &'a StoredAddress,
    /// Its recipient.
    pub destination: &'a StoredAddress,
    /// Its data_coding.
    pub data_coding: u8,
    /// Its esm_class (a UDH is skipped for the text echo).
    pub esm_class: u8,
    /// Its content.
    pub payload: &'a [u8],
    /// When it was accepted: the receipt's submit date.
    pub accepted_at: SystemTime,
}

/// The deliver_sm receipt for `subject`, encoded with sequence number 0:
/// from the recipient to the sender, esm_class 0x04 (0x20 for an
/// intermediate notification), the standard text
/// (`id:… sub:001 dlvrd:001 submit date:… done date:… stat:DELIVRD err:000
/// text:…`) and the receipted_message_id, message_state and, with a
/// numeric non-zero `err`, network_error_code TLVs. `None` if an address
/// or the id does not fit a PDU (they were checked at acceptance, so only
/// a damaged store gets there).
pub fn receipt_pdu(
    subject: &ReceiptSubject<'_>,
    stat: &ReceiptStat,
    err: &str,
    done_at: SystemTime,
) -> Option<Bytes> {
    let address = |stored: &StoredAddress| {
        COctetString::try_from(stored.addr.as_str())
            .ok()
            .map(|addr| Address::new(stored.ton, stored.npi, addr))
    };
    let err_code = err.trim().parse::<u16>().ok().filter(|code| *code != 0);
    let err = match err_code {
        Some(code) if code <= 999 => format!("{code:03}"),
        _ if err.trim().is_empty() => "000".to_string(),
        _ => err.trim().chars().take(3).collect(),
    };
    let delivered = u32::from(*stat == ReceiptStat::Delivered);
    let text = Receipt {
        id: subject.id.to_string(),
        submitted: 1,
        delivered,
        submit_date: Some(subject.accepted_at),
        done_date: Some(done_at),
        stat: stat.clone(),
        err,
        text: echo(subject.data_coding, subject.esm_class, subject.payload),
    }
    .format();
    let mut tlvs = Vec::with_capacity(3);
    tlvs.push(Tlv::ReceiptedMessageId(
        COctetString::try_from(subject.id).ok()?,
    ));
    if let Some(state) = stat.message_state() {
        tlvs.push(Tlv::MessageState(state));
    }
    if let Some(error_code) = err_code {
        tlvs.push(Tlv::NetworkErrorCode {
            network_type: NETWORK_TYPE_GSM,
            error_code,
        });
    }
    let esm_class = if stat.is_final() {
        esm_class::DELIVERY_RECEIPT
    } else {
        esm_class::INTERMEDIATE_NOTIFICATION
    };
    let deliver_sm = DeliverSm {
        source: address(subject.destination)?,
        destination: address(subject.source)?,
        esm_class,
        short_message: Bytes::from(text),
        tlvs,
        ..DeliverSm::default()
    };
    Some(Pdu::new(0, Body::DeliverSm(deliver_sm)).to_bytes())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use smpp::DecodeLimits;

    use super::*;

    fn address(addr: &str) -> StoredAddress {
        StoredAddress {
            ton: 1,
            npi: 1,
            addr: addr.into(),
        }
    }

    #[test]
    fn registered_delivery_1_wants_every_final_receipt_2_only_failures() {
        assert!(wants_receipt(1, &ReceiptStat::Delivered));
        assert!(wants_receipt(1, &ReceiptStat::Undeliverable));
        assert!(!wants_receipt(2, &ReceiptStat::Delivered));
        assert!(wants_receipt(2, &ReceiptStat::Expired));
        assert!(wants_receipt(2, &ReceiptStat::Rejected));
        assert!(!wants_receipt(0, &ReceiptStat::Undeliverable));
        assert!(!wants_receipt(3, &ReceiptStat::Delivered), "3 is reserved");
    }

    #[test]
    fn intermediate_receipts_need_the_intermediate_bit() {
        assert!(!wants_receipt(1, &ReceiptStat::Enroute));
        assert!(wants_receipt(0x11, &ReceiptStat::Enroute));
        assert!(wants_receipt(0x10, &ReceiptStat::Accepted));
    }

    #[test]
    fn receipt_pdu_has_the_standard_text_and_tlvs_from_recipient_to_sender() {
        let source = address("447911123456");
        let destination = address("14155551234");
        let accepted_at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let subject = ReceiptSubject {
            id: "01JD0000000000000000000000",
            source: &source,
            destination: &destination,
            data_coding: 0,
            esm_class: 0,
            payload: b"Your code is 123456, valid for 5 minutes",
            accepted_at,
        };
        let bytes = receipt_pdu(
            &subject,
            &ReceiptStat::Undeliverable,
            "1",
            accepted_at + Duration::from_secs(60),
        )
        .expect("fits");
        let pdu = Pdu::decode(bytes, &DecodeLimits::default()).expect("decodes");
        let Body::DeliverSm(deliver) = pdu.body else {
            panic!("a deliver_sm: {pdu:?}");
        };
        assert_eq!(deliver.esm_class, esm_class::DELIVERY_RECEIPT);
        assert_eq!(deliver.source.addr.to_string_lossy(), "14155551234");
        assert_eq!(deliver.destination.addr.to_string_lossy(), "447911123456");
        assert_eq!(
            String::from_utf8_lossy(&deliver.short_message),
            "id:01JD0000000000000000000000 sub:001 dlvrd:000 submit date:2311142213 \
             done date:2311142214 stat:UNDELIV err:001 text:Your code is 123456,"
        );
        assert!(deliver.tlvs.contains(&Tlv::MessageState(5)));
        assert!(deliver.tlvs.contains(&Tlv::NetworkErrorCode {
            network_type: NETWORK_TYPE_GSM,
            error_code: 1
        }));
        assert!(deliver.tlvs.contains(&Tlv::ReceiptedMessageId(
            COctetString::try_from("01JD0000000000000000000000").expect("fits")
        )));
    }

    #[test]
    fn echo_skips_the_udh_and_replaces_what_is_not_printable_ascii() {
        let mut payload = vec![5, 0, 3, 7, 2, 1];
        payload.extend_from_slice(b"Hi there");
        assert_eq!(echo(0, esm_class::UDHI, &payload), "Hi there");
        assert_eq!(echo(8, 0, &[0x00, 0xE9, 0x00, 0x41]), "?A");
        assert_eq!(echo(0x04, 0, &[0xff]), "", "binary shows nothing");
    }
}
