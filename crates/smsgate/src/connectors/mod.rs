//! Connectors link smsgate to providers: each one carries messages to a
//! provider (over SMPP, HTTP, ...) and brings back its responses, receipts
//! and MO messages. The built-in simulator ([`sim`]) plays the provider's
//! part, for the demo configuration, tests and benchmarks.
//!
//! The types below are what every connector shares with dispatch and
//! tracking: a segment to send, what became of one submit, and what a
//! provider sends back on its own. A connector never retries a submit by
//! itself: whether to try again, and where, is dispatch's decision.

pub mod http;
mod rate;
pub mod sim;
pub mod smpp_client;

use std::time::SystemTime;

use bytes::Bytes;
use smpp::receipt::ReceiptStat;
use smpp::{Address, COctetString, CommandStatus, Tlv};

/// One segment of a message, ready for a provider: the fields of a
/// submit_sm, already encoded and split by the sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundSegment {
    /// Our id of the message, for logs only; never sent.
    pub message_id: String,
    /// The sender.
    pub source: Address,
    /// The recipient.
    pub destination: Address,
    /// esm_class (UDHI set when `short_message` starts with a UDH).
    pub esm_class: u8,
    /// GSM protocol identifier.
    pub protocol_id: u8,
    /// priority_flag, 0 to 3.
    pub priority: u8,
    /// The alphabet of `short_message`.
    pub data_coding: u8,
    /// Which receipts to ask the provider for.
    pub registered_delivery: u8,
    /// When the provider should give up, SMPP time format; empty for its default.
    pub validity_period: COctetString,
    /// The encoded text (with its UDH, if any).
    pub short_message: Bytes,
    /// Optional parameters (SAR, message_payload, ...).
    pub tlvs: Vec<Tlv>,
}

/// What became of one submit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitOutcome {
    /// The provider took the segment and named it `provider_id` (what its
    /// receipts will refer to; empty if the provider gave no id).
    Accepted {
        /// The provider's message id.
        provider_id: String,
    },
    /// The provider answered with an error status.
    Refused {
        /// The status it answered with.
        status: CommandStatus,
    },
    /// An HTTP provider answered, but not with success: an error status,
    /// or a 2xx whose body failed the connector's response check (then
    /// `status` is that 2xx).
    HttpRefused {
        /// The HTTP status it answered with.
        status: u16,
        /// What was wrong, for the trace: the check that failed, or the
        /// start of the body.
        detail: String,
    },
    /// No answer came: the provider may or may not have the segment.
    Failed {
        /// Why.
        reason: SubmitFailure,
    },
}

/// Why a submit got no answer from the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum SubmitFailure {
    /// The request was sent, but no answer came in time; the provider may
    /// still have carried it out.
    #[error("the provider did not answer in time")]
    Timeout,
    /// The connection closed before the answer came; the request may or
    /// may not have reached the provider.
    #[error("the connection to the provider was lost")]
    ConnectionLost,
    /// No connection that could carry it was available; nothing was sent.
    #[error("no usable connection to the provider")]
    NotBound,
    /// The provider's answer could not be read.
    #[error("the provider's answer was malformed")]
    Malformed,
}

/// What a provider sent on its own, on its way to tracking, with the word
/// its connector waits for before it answers the provider: an
/// acknowledged receipt or MO is one the provider never sends again, so
/// the answer waits until tracking has it durably in the store.
#[derive(Debug)]
pub struct Inbound {
    /// What came.
    pub event: InboundEvent,
    /// Told once the event is stored (or could not be).
    pub stored: StoredSignal,
}

impl Inbound {
    /// An event and the receiver its connector awaits before answering.
    pub fn new(event: InboundEvent) -> (Inbound, StoredReceiver) {
        let (sender, receiver) = tokio::sync::oneshot::channel();
        (
            Inbound {
                event,
                stored: StoredSignal(Some(sender)),
            },
            receiver,
        )
    }
}

/// What a connector awaits for an [`Inbound`] event: `Ok` once it is
/// durable, `Err` (why) when the store failed; a closed channel (tracking
/// stopped without storing it) counts as a failure.
pub type StoredReceiver = tokio::sync::oneshot::Receiver<Result<(), String>>;

/// The sending half of a [`StoredReceiver`]. Dropped without
/// [`StoredSignal::finish`], the connector hears a failure.
#[derive(Debug)]
pub struct StoredSignal(Option<tokio::sync::oneshot::Sender<Result<(), String>>>);

impl StoredSignal {
    /// Tells the connector how storing the event ended.
    pub fn finish(mut self, result: Result<(), String>) {
        if let Some(sender) = self.0.take() {
            // A connector that stopped waiting (its session closed) needs
            // no answer: the provider sends the event again.
            let _ = sender.send(result);
        }
    }
}

/// What a provider sends on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundEvent {
    /// A delivery receipt for a segment we submitted.
    Receipt(ProviderReceipt),
    /// A message from a handset to one of our numbers.
    Mo(ProviderMo),
}

/// A delivery receipt, as the provider reported it. Matching it to our
/// message is tracking's job (it may even arrive before the submit's answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderReceipt {
    /// The connector it came through.
    pub connector: String,
    /// The provider's id of the segment, as in [`SubmitOutcome::Accepted`]
    /// (compare with [`smpp::receipt::ids_match`]).
    pub provider_id: String,
    /// The state the receipt reports.
    pub stat: ReceiptStat,
    /// The provider's error code, as text; empty if none.
    pub err: String,
    /// The network's error (network type, code), if the provider gave it.
    pub network_error: Option<(u8, u16)>,
    /// When the provider says the segment reached this state.
    pub done_at: Option<SystemTime>,
    /// When we received the receipt.
    pub received_at: SystemTime,
}

/// A message from a handset. Segments of a long message arrive one by one,
/// as sent; reassembling them is the MO router's job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderMo {
    /// The connector it came through.
    pub connector: String,
    /// The handset.
    pub source: Address,
    /// Our number or short code.
    pub destination: Address,
    /// The alphabet of `short_message`.
    pub data_coding: u8,
    /// esm_class as received (UDHI tells whether a UDH leads the message).
    pub esm_class: u8,
    /// The message (or message_payload, moved here), with its UDH if any.
    pub short_message: Bytes,
    /// The other optional parameters as received (SAR among them).
    pub tlvs: Vec<Tlv>,
    /// When we received it.
    pub received_at: SystemTime,
}

impl ProviderMo {
    /// The MO a deliver_sm carries, as received through `connector`.
    pub fn from_deliver_sm(
        connector: String,
        sm: smpp::DeliverSm,
        received_at: SystemTime,
    ) -> ProviderMo {
        ProviderMo {
            connector,
            source: sm.source,
            destination: sm.destination,
            data_coding: sm.data_coding,
            esm_class: sm.esm_class,
            short_message: sm.short_message,
            tlvs: sm.tlvs,
            received_at,
        }
    }
}

/// How a connector is doing, for the router and the console.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ConnectorHealth {
    /// Connections (binds) up now.
    pub bound: usize,
    /// Connections configured.
    pub configured: usize,
    /// Submits sent and not answered yet.
    pub in_flight: usize,
    /// Submits the provider accepted, since start.
    pub submitted: u64,
    /// Submits the provider refused with an error status.
    pub refused: u64,
    /// Submits that got no answer (timeout, connection lost, not bound, malformed).
    pub failed: u64,
    /// Receipts acknowledged but dropped because no message id could be read in them.
    pub unreadable_receipts: u64,
    /// The last connection or bind error, if any since start.
    pub last_error: Option<String>,
    /// Submits answered per second, averaged over the last few seconds.
    pub rate: f64,
}
