//! Inbound messages (MO): from providers to the customers they belong to.
//!
//! Tracking hands every MO segment here, and answers its provider once
//! [`MoRouter::handle`] says it is durable. Segments of a long message
//! (UDH or SAR numbered) are stored as they come (`mo_parts`), and wait
//! until all have come, or until `[mo] reassembly_timeout` (then what came
//! goes on as it is); the whole message's transaction deletes them. At
//! start the stored parts are read back and wait on. The whole
//! message is routed by `[[mo_routes]]`, then by the accounts' address
//! ranges ([`crate::delivery::mo_routes`]), and stored as a message of
//! direction `mo` with its trace, in one transaction with what delivers it:
//!
//! - an SMPP account: one outbox deliver_sm per segment as received (a
//!   long text from an HTTP provider is split), sent by the courier to the
//!   account's receiver or transceiver sessions, waiting until one binds;
//! - a webhook: an outbox entry posted by the webhook courier, signed,
//!   retried with backoff up to the webhook's `max_age`;
//! - an Asterisk spool: the call file is written first (staging, then an
//!   atomic rename), and the outcome stored;
//! - nothing matches: stored `failed`, traced "no matching address range".

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde::Deserialize;
use smpp::types::esm_class;
use smpp::{Body, DeliverSm, Pdu, Tlv};
use smstext::{Concat, EncodeOptions, SplitMethod};
use tokio::time::Instant;
use tracing::{info, warn};

use crate::connectors::ProviderMo;
use crate::delivery::asterisk::AsteriskSpool;
use crate::delivery::mo_routes::{MoInput, MoRouteConfig, MoRouteTable, MoTarget};
use crate::delivery::webhook::MoEvent;
use crate::settings::InvalidSetting;
use crate::store::{
    MessageState, MoDelivery, MoRecord, NewMoPart, Store, StoredAddress, StoredMoPart,
};

/// How often the accounts' address ranges are read again (an account
/// added or changed by `smsgate account` takes effect within this).
const RANGES_REFRESH: Duration = Duration::from_secs(5);

/// At most this many long messages wait for their parts at once; past it
/// the oldest goes on incomplete.
const MAX_PENDING: usize = 10_000;

/// `[mo]`: how inbound messages are put together.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MoConfig {
    /// How long the parts of a long message are waited for; then the parts
    /// that came go on as they are. Default 2 min.
    #[serde(with = "crate::settings::duration")]
    pub reassembly_timeout: Duration,
}

impl Default for MoConfig {
    fn default() -> Self {
        MoConfig {
            reassembly_timeout: Duration::from_secs(120),
        }
    }
}

/// Routes MO messages. See the module documentation.
pub struct MoRouter {
    store: Arc<dyn Store>,
    routes: Vec<MoRouteConfig>,
    table: RwLock<(Arc<MoRouteTable>, Instant)>,
    spools: BTreeMap<String, AsteriskSpool>,
    config: MoConfig,
    pending: Mutex<HashMap<PartsKey, Parts>>,
}

/// What identifies the parts of one long message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PartsKey {
    connector: String,
    source: String,
    destination: String,
    reference: u16,
    total: u8,
}

#[derive(Debug)]
struct Parts {
    segments: Vec<Option<ProviderMo>>,
    since: Instant,
    /// The store's keys of every part taken (a repeated part included), so
    /// the whole message's transaction deletes them all.
    stored: Vec<i64>,
}

/// A long message ready to go on: its parts and their stored keys.
type Whole = (Vec<ProviderMo>, Vec<i64>);

impl MoRouter {
    /// A router over `routes` and the accounts' ranges (read now), writing
    /// call files to `spools`.
    pub async fn new(
        store: Arc<dyn Store>,
        routes: Vec<MoRouteConfig>,
        spools: BTreeMap<String, AsteriskSpool>,
        config: MoConfig,
    ) -> Result<MoRouter, InvalidSetting> {
        let table = build_table(store.as_ref(), &routes).await?;
        Ok(MoRouter {
            store,
            routes,
            table: RwLock::new((Arc::new(table), Instant::now())),
            spools,
            config,
            pending: Mutex::new(HashMap::new()),
        })
    }

    /// Reads back the parts of long messages stored before the last stop,
    /// so they wait for the rest as if they had just come (a message whose
    /// parts were all stored goes on at once).
    pub async fn resume_stored_parts(&self) -> Result<usize, String> {
        let stored = self.store.mo_parts().await.map_err(|e| e.to_string())?;
        let count = stored.len();
        for StoredMoPart { seq, part } in stored {
            let Some(mo) = provider_mo_from(&part) else {
                warn!(seq, connector = %part.connector, "mo: a stored part cannot be read; left in the store");
                continue;
            };
            let Some(concat) = concat_of(&mo).filter(|concat| concat.total() > 1) else {
                continue;
            };
            let age = SystemTime::now()
                .duration_since(part.received_at)
                .unwrap_or_default();
            let (complete, overflow) = self.add_part(mo, concat, seq, age);
            for (parts, stored) in overflow.into_iter() {
                let _ = self.deliver(parts, true, stored).await;
            }
            for (parts, stored) in complete.into_iter() {
                let _ = self.deliver(parts, false, stored).await;
            }
        }
        Ok(count)
    }

    /// Takes one received segment: routes and stores the message once it
    /// is whole. `Ok` once the segment is durable (alone, or in the whole
    /// message), so its provider may be answered; `Err` when the store
    /// failed and the provider should send it again.
    pub async fn handle(&self, mo: ProviderMo) -> Result<(), String> {
        let Some(concat) = concat_of(&mo).filter(|concat| concat.total() > 1) else {
            return self.deliver(vec![mo], false, Vec::new()).await;
        };
        let seq = self
            .store
            .store_mo_part(NewMoPart {
                connector: mo.connector.clone(),
                pdu: deliver_sm_of(&mo).to_vec(),
                received_at: mo.received_at,
            })
            .await
            .map_err(|error| {
                warn!(connector = %mo.connector, %error, "mo: a part could not be stored; the provider is asked to send it again");
                error.to_string()
            })?;
        let (complete, overflow) = self.add_part(mo, concat, seq, Duration::ZERO);
        // The part is durable from here on: if the whole message cannot be
        // stored now, its parts stay stored and go on at the next start.
        if let Some((parts, stored)) = overflow {
            let _ = self.deliver(parts, true, stored).await;
        }
        if let Some((parts, stored)) = complete {
            let _ = self.deliver(parts, false, stored).await;
        }
        Ok(())
    }

    /// Keeps a part (stored as `seq`, received `age` ago); returns its
    /// message's parts once all are in, and the parts of the oldest waiting
    /// message if too many wait.
    fn add_part(
        &self,
        mo: ProviderMo,
        concat: Concat,
        seq: i64,
        age: Duration,
    ) -> (Option<Whole>, Option<Whole>) {
        let key = PartsKey {
            connector: mo.connector.clone(),
            source: mo.source.addr.to_string_lossy().into_owned(),
            destination: mo.destination.addr.to_string_lossy().into_owned(),
            reference: concat.reference(),
            total: concat.total(),
        };
        let mut pending = lock(&self.pending);
        let entry = pending.entry(key.clone()).or_insert_with(|| Parts {
            segments: vec![None; usize::from(concat.total())],
            since: Instant::now().checked_sub(age).unwrap_or_else(Instant::now),
            stored: Vec::new(),
        });
        entry.stored.push(seq);
        if let Some(slot) = usize::from(concat.seq())
            .checked_sub(1)
            .and_then(|index| entry.segments.get_mut(index))
        {
            *slot = Some(mo);
        }
        if entry.segments.iter().all(Option::is_some) {
            let complete = pending.remove(&key).map(Parts::into_whole);
            return (complete, None);
        }
        let overflow = if pending.len() > MAX_PENDING {
            let oldest = pending
                .iter()
                .min_by_key(|(_, parts)| parts.since)
                .map(|(key, _)| key.clone());
            oldest
                .and_then(|oldest| pending.remove(&oldest))
                .map(Parts::into_whole)
        } else {
            None
        };
        (None, overflow)
    }

    /// Sends on the long messages whose parts stopped coming, and reads
    /// the accounts' ranges again when due. Tracking calls it every second.
    pub async fn tick(&self) {
        let timeout = self.config.reassembly_timeout;
        let stale: Vec<Parts> = {
            let mut pending = lock(&self.pending);
            let keys: Vec<PartsKey> = pending
                .iter()
                .filter(|(_, parts)| parts.since.elapsed() >= timeout)
                .map(|(key, _)| key.clone())
                .collect();
            keys.iter().filter_map(|key| pending.remove(key)).collect()
        };
        for parts in stale {
            let (parts, stored) = parts.into_whole();
            let _ = self.deliver(parts, true, stored).await;
        }
        let due = self
            .table
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .1
            .elapsed()
            >= RANGES_REFRESH;
        if due {
            match build_table(self.store.as_ref(), &self.routes).await {
                Ok(table) => {
                    *self.table.write().unwrap_or_else(PoisonError::into_inner) =
                        (Arc::new(table), Instant::now());
                }
                Err(error) => {
                    warn!(%error, "mo: the accounts' address ranges could not be read again; the last ones stay");
                    self.table.write().unwrap_or_else(PoisonError::into_inner).1 = Instant::now();
                }
            }
        }
    }

    /// Routes and stores one whole message (`incomplete`: some parts never
    /// came), deleting its `stored` parts in the same transaction. `Err`
    /// when the store failed.
    async fn deliver(
        &self,
        parts: Vec<ProviderMo>,
        incomplete: bool,
        stored: Vec<i64>,
    ) -> Result<(), String> {
        let Some(first) = parts.first() else {
            return Ok(());
        };
        let id = ulid::Ulid::new().to_string();
        let connector = first.connector.clone();
        let source = stored_address(&first.source);
        let destination = stored_address(&first.destination);
        let data_coding = first.data_coding;
        let mut joined = Vec::new();
        for part in &parts {
            joined.extend_from_slice(text_octets(part));
        }
        let text = smstext::decode(data_coding, &joined).ok();
        let received_at = parts
            .iter()
            .map(|part| part.received_at)
            .max()
            .unwrap_or_else(SystemTime::now);
        let table = Arc::clone(&self.table.read().unwrap_or_else(PoisonError::into_inner).0);
        let decision = table.route(&MoInput {
            connector: &connector,
            source: &source.addr,
            destination: &destination.addr,
            text: text.as_deref(),
        });
        let mut trace = vec![format!(
            "from {} to {} through connector {connector}, {} segment(s){}",
            source.addr,
            destination.addr,
            parts.len(),
            if incomplete {
                "; the other parts never came"
            } else {
                ""
            }
        )];
        let (account, state, delivery) = match &decision {
            None => {
                trace.push("no matching address range".to_string());
                (String::new(), MessageState::Failed, MoDelivery::None)
            }
            Some(decision) => {
                trace.push(format!(
                    "routed to {}: {}",
                    decision.target, decision.explanation
                ));
                match &decision.target {
                    MoTarget::Account(system_id) => {
                        let pdus = deliver_sm_for(&parts, text.as_deref());
                        (
                            system_id.to_string(),
                            MessageState::Accepted,
                            MoDelivery::Account {
                                system_id: system_id.to_string(),
                                pdus,
                            },
                        )
                    }
                    MoTarget::Webhook(name) => {
                        let event = MoEvent {
                            id: id.clone(),
                            from: source.addr.clone(),
                            to: destination.addr.clone(),
                            text: text.clone().unwrap_or_default(),
                            connector: connector.clone(),
                            received_at: jiff::Timestamp::try_from(received_at)
                                .unwrap_or_else(|_| jiff::Timestamp::now()),
                            segments: u32::try_from(parts.len()).unwrap_or(u32::MAX),
                        };
                        (
                            String::new(),
                            MessageState::Accepted,
                            MoDelivery::Webhook {
                                name: name.to_string(),
                                event: StoredMoEvent::from(&event).to_json(),
                            },
                        )
                    }
                    MoTarget::Asterisk(name) => {
                        let written = match self.spools.get(&**name) {
                            Some(spool) => spool
                                .write(
                                    &id,
                                    &destination.addr,
                                    &source.addr,
                                    text.as_deref().unwrap_or_default(),
                                )
                                .await
                                .map(|path| format!("call file {}", path.display()))
                                .map_err(|e| e.to_string()),
                            None => Err(format!("no [asterisk.{name}] spool")),
                        };
                        match written {
                            Ok(detail) => {
                                trace.push(format!("asterisk {name}: {detail}"));
                                (String::new(), MessageState::Delivered, MoDelivery::None)
                            }
                            Err(error) => {
                                trace.push(format!("asterisk {name}: cannot write: {error}"));
                                (String::new(), MessageState::Failed, MoDelivery::None)
                            }
                        }
                    }
                }
            }
        };
        let record = MoRecord {
            id: id.clone(),
            account,
            connector: connector.clone(),
            state,
            source,
            destination,
            data_coding,
            payload: joined,
            segments: u32::try_from(parts.len()).unwrap_or(u32::MAX),
            received_at,
            trace,
            delivery,
            stored_parts: stored,
        };
        match self.store.record_mo(record).await {
            Ok(()) => {
                info!(mo_id = %id, %connector, state = state.as_str(), "mo: received");
                Ok(())
            }
            Err(error) => {
                warn!(%connector, %error, "mo: a received message could not be stored");
                Err(error.to_string())
            }
        }
    }
}

async fn build_table(
    store: &dyn Store,
    routes: &[MoRouteConfig],
) -> Result<MoRouteTable, InvalidSetting> {
    let accounts = store
        .accounts()
        .await
        .map_err(|e| InvalidSetting(format!("reading the accounts: {e}")))?;
    let ranges: Vec<(String, String)> = accounts
        .iter()
        .filter(|account| account.enabled)
        .flat_map(|account| {
            account
                .address_ranges
                .iter()
                .map(|range| (account.system_id.clone(), range.clone()))
        })
        .collect();
    MoRouteTable::from_config(routes, &ranges)
}

/// The concatenation of a segment: from its UDH, or its sar_* TLVs.
fn concat_of(mo: &ProviderMo) -> Option<Concat> {
    if mo.esm_class & esm_class::UDHI != 0
        && let Ok(udh) = smstext::parse_udh(&mo.short_message)
        && let Some(concat) = udh.concat()
    {
        return Some(concat);
    }
    let mut reference = None;
    let mut total = None;
    let mut seq = None;
    for tlv in &mo.tlvs {
        match tlv {
            Tlv::SarMsgRefNum(value) => reference = Some(*value),
            Tlv::SarTotalSegments(value) => total = Some(*value),
            Tlv::SarSegmentSeqnum(value) => seq = Some(*value),
            _ => {}
        }
    }
    Concat::new(reference?, total?, seq?).ok()
}

/// A segment's text octets, after its UDH.
fn text_octets(mo: &ProviderMo) -> &[u8] {
    if mo.esm_class & esm_class::UDHI != 0 {
        let header = mo
            .short_message
            .first()
            .map_or(0, |&len| usize::from(len) + 1);
        mo.short_message.get(header..).unwrap_or_default()
    } else {
        &mo.short_message
    }
}

fn stored_address(address: &smpp::Address) -> StoredAddress {
    StoredAddress {
        ton: address.ton,
        npi: address.npi,
        addr: address.addr.to_string_lossy().into_owned(),
    }
}

/// The most octets of one deliver_sm's short_message.
const SHORT_MESSAGE_MAX: usize = 140;

/// The deliver_sm an SMPP customer gets for a message: its segments as
/// received; a single text too long for one SMS (from an HTTP provider)
/// is split with a concatenation UDH.
/// The deliver_sm a part came in, as stored until the rest comes.
fn deliver_sm_of(mo: &ProviderMo) -> Bytes {
    Pdu::new(
        0,
        Body::DeliverSm(DeliverSm {
            source: mo.source.clone(),
            destination: mo.destination.clone(),
            esm_class: mo.esm_class,
            data_coding: mo.data_coding,
            short_message: mo.short_message.clone(),
            tlvs: mo.tlvs.clone(),
            ..DeliverSm::default()
        }),
    )
    .to_bytes()
}

/// A stored part read back; `None` if its octets are not a deliver_sm.
fn provider_mo_from(part: &NewMoPart) -> Option<ProviderMo> {
    let pdu = Pdu::decode(
        Bytes::copy_from_slice(&part.pdu),
        &smpp::DecodeLimits::default(),
    )
    .ok()?;
    let Body::DeliverSm(sm) = pdu.body else {
        return None;
    };
    Some(ProviderMo::from_deliver_sm(
        part.connector.clone(),
        sm,
        part.received_at,
    ))
}

fn deliver_sm_for(parts: &[ProviderMo], text: Option<&str>) -> Vec<Bytes> {
    let single_too_long = parts.len() == 1
        && parts
            .first()
            .is_some_and(|part| part.short_message.len() > SHORT_MESSAGE_MAX);
    let to_pdu = |deliver: DeliverSm| Pdu::new(0, Body::DeliverSm(deliver)).to_bytes();
    if let (true, Some(text), Some(first)) = (single_too_long, text, parts.first()) {
        let encoded = smstext::encode_best(text, EncodeOptions::default());
        let reference = rand::random::<u8>();
        if let Ok(segments) = smstext::split(&encoded, SplitMethod::Udh8(reference)) {
            return segments
                .iter()
                .map(|segment| {
                    to_pdu(DeliverSm {
                        source: first.source.clone(),
                        destination: first.destination.clone(),
                        esm_class: if segment.udh().is_some() {
                            esm_class::UDHI
                        } else {
                            0
                        },
                        data_coding: segment.encoding().data_coding(),
                        short_message: Bytes::from(segment.short_message()),
                        ..DeliverSm::default()
                    })
                })
                .collect();
        }
    }
    parts
        .iter()
        .map(|part| {
            let tlvs = part
                .tlvs
                .iter()
                .filter(|tlv| {
                    matches!(
                        tlv,
                        Tlv::SarMsgRefNum(_) | Tlv::SarTotalSegments(_) | Tlv::SarSegmentSeqnum(_)
                    )
                })
                .cloned()
                .collect();
            to_pdu(DeliverSm {
                source: part.source.clone(),
                destination: part.destination.clone(),
                // Only the UDHI and reply-path bits: a message type from the
                // provider (receipt, ...) means nothing to the customer.
                esm_class: part.esm_class & (esm_class::UDHI | esm_class::REPLY_PATH),
                data_coding: part.data_coding,
                short_message: part.short_message.clone(),
                tlvs,
                ..DeliverSm::default()
            })
        })
        .collect()
}

/// An MO webhook event as kept in the outbox until it is posted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct StoredMoEvent {
    id: String,
    from: String,
    to: String,
    text: String,
    connector: String,
    received_at: String,
    segments: u32,
}

impl From<&MoEvent> for StoredMoEvent {
    fn from(event: &MoEvent) -> Self {
        StoredMoEvent {
            id: event.id.clone(),
            from: event.from.clone(),
            to: event.to.clone(),
            text: event.text.clone(),
            connector: event.connector.clone(),
            received_at: event.received_at.to_string(),
            segments: event.segments,
        }
    }
}

impl StoredMoEvent {
    /// As stored.
    pub fn to_json(&self) -> Bytes {
        Bytes::from(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Reads a stored event back.
    pub fn from_json(bytes: &[u8]) -> Option<MoEvent> {
        let stored: StoredMoEvent = serde_json::from_slice(bytes).ok()?;
        Some(MoEvent {
            id: stored.id,
            from: stored.from,
            to: stored.to,
            text: stored.text,
            connector: stored.connector,
            received_at: stored.received_at.parse().ok()?,
            segments: stored.segments,
        })
    }
}

impl Parts {
    fn into_whole(self) -> Whole {
        (self.segments.into_iter().flatten().collect(), self.stored)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use smpp::types::{npi, ton};
    use smpp::{Address, COctetString};

    use super::*;

    fn segment(seq: u8, text: &str) -> ProviderMo {
        let mut short_message = vec![5, 0, 3, 0x42, 2, seq];
        short_message.extend_from_slice(text.as_bytes());
        ProviderMo {
            connector: "c".into(),
            source: Address::new(
                ton::INTERNATIONAL,
                npi::ISDN,
                COctetString::from_static("447911123456"),
            ),
            destination: Address::new(
                ton::INTERNATIONAL,
                npi::ISDN,
                COctetString::from_static("31612345678"),
            ),
            data_coding: 0,
            esm_class: esm_class::UDHI,
            short_message: Bytes::from(short_message),
            tlvs: Vec::new(),
            received_at: SystemTime::now(),
        }
    }

    #[test]
    fn concatenation_is_read_from_the_udh_or_the_sar_tlvs() {
        let concat = concat_of(&segment(2, "b")).expect("udh");
        assert_eq!(
            (concat.reference(), concat.total(), concat.seq()),
            (0x42, 2, 2)
        );
        let mut sar = segment(1, "a");
        sar.esm_class = 0;
        sar.short_message = Bytes::from_static(b"a");
        sar.tlvs = vec![
            Tlv::SarMsgRefNum(7),
            Tlv::SarTotalSegments(3),
            Tlv::SarSegmentSeqnum(3),
        ];
        let concat = concat_of(&sar).expect("sar");
        assert_eq!(
            (concat.reference(), concat.total(), concat.seq()),
            (7, 3, 3)
        );
    }

    #[test]
    fn segments_for_an_smpp_customer_keep_their_udh_and_lose_the_message_type() {
        let mut first = segment(1, "Hello ");
        first.esm_class |= esm_class::DELIVERY_RECEIPT;
        let pdus = deliver_sm_for(&[first, segment(2, "world")], Some("Hello world"));
        assert_eq!(pdus.len(), 2);
        let pdu = Pdu::decode(pdus[0].clone(), &smpp::DecodeLimits::default()).expect("decodes");
        let Body::DeliverSm(deliver) = pdu.body else {
            panic!("deliver_sm");
        };
        assert_eq!(deliver.esm_class, esm_class::UDHI);
        assert_eq!(&deliver.short_message[6..], b"Hello ");
    }

    #[test]
    fn a_long_single_text_is_split_for_an_smpp_customer() {
        let text = "x".repeat(300);
        let mut whole = segment(1, "");
        whole.esm_class = 0;
        whole.data_coding = 8;
        whole.short_message = Bytes::from(
            text.encode_utf16()
                .flat_map(u16::to_be_bytes)
                .collect::<Vec<u8>>(),
        );
        let pdus = deliver_sm_for(&[whole], Some(&text));
        assert_eq!(pdus.len(), 2, "300 GSM characters: 153 + 147");
    }

    #[test]
    fn stored_mo_events_read_back_the_same() {
        let event = MoEvent {
            id: "01J".into(),
            from: "447911123456".into(),
            to: "31612345678".into(),
            text: "Hi".into(),
            connector: "c".into(),
            received_at: jiff::Timestamp::from_second(1_700_000_000).expect("time"),
            segments: 1,
        };
        let bytes = StoredMoEvent::from(&event).to_json();
        assert_eq!(StoredMoEvent::from_json(&bytes), Some(event));
    }
}
