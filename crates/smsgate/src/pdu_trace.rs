//! Protocol traces in the log: each PDU of a traced account's session or
//! connector's bind as one line at target [`PDU_TARGET`], with its header
//! decoded and its octets in hex; for the http connector, each request
//! line and body and each answer's status and body.
//!
//! Whether something is traced is [`TraceSwitches`]' answer; this module
//! only writes the lines. Nothing is written, and almost nothing done,
//! while the switch is off: a [`PduLogger`] keeps its answer until the
//! switches change (one or two atomic loads per PDU).
//!
//! Secrets stay out even of traces: a bind's password is masked in its
//! dump, and the http connector's credentials never reach this module
//! unredacted (see `connectors/http`).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use smpp::session::{Direction, PduTap};
use smpp::{CommandId, CommandStatus};
use tracing::info;

use crate::store::TraceKind;
use crate::trace_switch::TraceSwitches;

/// The `tracing` target of every trace line, so a log filter can keep or
/// drop them together (`RUST_LOG=smsgate::pdu=off`).
pub const PDU_TARGET: &str = "smsgate::pdu";

/// The most octets of one PDU (or body) a line shows; the rest is counted.
pub const MAX_DUMP: usize = 4096;

/// `octets` as lowercase hex in groups of four octets (so an SMPP header
/// reads as its four fields), at most [`MAX_DUMP`] of them, with a note of
/// how many more there were.
pub fn hex_dump(octets: &[u8]) -> String {
    let shown = &octets[..octets.len().min(MAX_DUMP)];
    let mut dump = String::with_capacity(shown.len() * 2 + shown.len() / 4 + 32);
    for (index, chunk) in shown.chunks(4).enumerate() {
        if index > 0 {
            dump.push(' ');
        }
        for octet in chunk {
            // Writing to a String cannot fail.
            let _ = write!(dump, "{octet:02x}");
        }
    }
    if octets.len() > shown.len() {
        let _ = write!(dump, " … ({} more octets)", octets.len() - shown.len());
    }
    dump
}

/// Text (an HTTP body) as a log shows it: lossy UTF-8, at most
/// [`MAX_DUMP`] octets, with a note of how many more there were.
pub fn text_dump(octets: &[u8]) -> String {
    let shown = &octets[..octets.len().min(MAX_DUMP)];
    let mut text = String::from_utf8_lossy(shown).into_owned();
    if octets.len() > shown.len() {
        let _ = write!(text, " … ({} more octets)", octets.len() - shown.len());
    }
    text
}

/// The header fields of a PDU, as far as `pdu` holds them.
struct Header {
    command: String,
    status: String,
    sequence: u32,
}

fn be_u32(pdu: &[u8], at: usize) -> Option<u32> {
    let b = pdu.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

impl Header {
    fn read(pdu: &[u8]) -> Header {
        let command = match be_u32(pdu, 4) {
            Some(id) => match CommandId::from_value(id) {
                Some(command) => command.name().to_string(),
                None => format!("0x{id:08x}"),
            },
            None => "(short)".to_string(),
        };
        let status = match be_u32(pdu, 8).map(CommandStatus) {
            Some(status) => match status.name() {
                Some(name) => name.to_string(),
                None => format!("0x{:08x}", status.0),
            },
            None => "(short)".to_string(),
        };
        Header {
            command,
            status,
            sequence: be_u32(pdu, 12).unwrap_or(0),
        }
    }
}

fn is_bind(pdu: &[u8]) -> bool {
    matches!(
        be_u32(pdu, 4).and_then(CommandId::from_value),
        Some(CommandId::BindTransmitter | CommandId::BindReceiver | CommandId::BindTransceiver)
    )
}

/// A bind request with its password replaced by `*`s (same length, so
/// the dump still matches command_length); other PDUs as they are.
pub fn mask_bind_password(pdu: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if !is_bind(pdu) {
        return std::borrow::Cow::Borrowed(pdu);
    }
    let body = smpp::pdu::HEADER_LEN;
    let Some(system_id_end) = pdu
        .get(body..)
        .and_then(|rest| rest.iter().position(|&b| b == 0))
    else {
        return std::borrow::Cow::Borrowed(pdu);
    };
    let password = body + system_id_end + 1;
    let password_end = pdu
        .get(password..)
        .and_then(|rest| rest.iter().position(|&b| b == 0))
        .map_or(pdu.len(), |end| password + end);
    let mut masked = pdu.to_vec();
    if let Some(secret) = masked.get_mut(password..password_end) {
        secret.fill(b'*');
    }
    std::borrow::Cow::Owned(masked)
}

/// Writes one PDU's trace line.
fn log_pdu(kind: TraceKind, name: &str, peer: &str, direction: Direction, pdu: &[u8]) {
    let header = Header::read(pdu);
    let pdu = mask_bind_password(pdu);
    let hex = hex_dump(&pdu);
    let (command, status, sequence, length) = (
        header.command.as_str(),
        header.status.as_str(),
        header.sequence,
        pdu.len(),
    );
    match kind {
        TraceKind::Account => info!(
            target: PDU_TARGET,
            direction = direction.as_str(), %peer, system_id = %name, command, sequence, status,
            length, hex = %hex, "pdu"
        ),
        TraceKind::Connector => info!(
            target: PDU_TARGET,
            direction = direction.as_str(), %peer, connector = %name, command, sequence, status,
            length, hex = %hex, "pdu"
        ),
    }
}

/// No answer cached yet (a generation is never this large).
const UNKNOWN: u64 = u64::MAX;

/// The tap of one SMPP session: logs its PDUs while the account's or the
/// connector's trace switch is on.
///
/// A customer session's account is known only from its bind request: the
/// server names it with [`PduLogger::name_account`] when the bind arrives.
/// Until then, while any account is traced, the tap keeps the bind request
/// it saw, and logs it once the account turns out to be traced.
#[derive(Debug)]
pub struct PduLogger {
    switches: TraceSwitches,
    kind: TraceKind,
    name: OnceLock<String>,
    peer: String,
    /// `generation << 1 | on`, or [`UNKNOWN`]: the answer for the current
    /// generation of the switches, so most PDUs cost two atomic loads.
    answer: AtomicU64,
    /// The bind request received before the session knew its account.
    early_bind: Mutex<Option<Vec<u8>>>,
}

impl PduLogger {
    /// The tap of a customer session from `peer`; its account is named by
    /// [`PduLogger::name_account`].
    pub fn customer_session(switches: TraceSwitches, peer: SocketAddr) -> PduLogger {
        PduLogger::new(switches, TraceKind::Account, None, peer.to_string())
    }

    /// The tap of one bind of connector `name` to `peer` (host:port).
    pub fn connector_bind(switches: TraceSwitches, name: &str, peer: &str) -> PduLogger {
        PduLogger::new(
            switches,
            TraceKind::Connector,
            Some(name.to_string()),
            peer.to_string(),
        )
    }

    fn new(
        switches: TraceSwitches,
        kind: TraceKind,
        name: Option<String>,
        peer: String,
    ) -> PduLogger {
        let known = OnceLock::new();
        if let Some(name) = name {
            let _ = known.set(name);
        }
        PduLogger {
            switches,
            kind,
            name: known,
            peer,
            answer: AtomicU64::new(UNKNOWN),
            early_bind: Mutex::new(None),
        }
    }

    /// Names the account of a customer session (the system_id of its bind
    /// request, whether or not the bind succeeds), and logs that bind
    /// request if the account is traced. Only the first name counts.
    pub fn name_account(&self, system_id: &str) {
        if self.name.set(system_id.to_string()).is_err() {
            return;
        }
        self.answer.store(UNKNOWN, Ordering::Release);
        let early = self
            .early_bind
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(bind) = early
            && self.is_on()
        {
            log_pdu(self.kind, system_id, &self.peer, Direction::Received, &bind);
        }
    }
}

impl PduTap for PduLogger {
    fn is_on(&self) -> bool {
        if !self.switches.any_on(self.kind) {
            return false;
        }
        let Some(name) = self.name.get() else {
            // Any account may be this one: keep its bind request.
            return true;
        };
        let generation = self.switches.generation();
        let answer = self.answer.load(Ordering::Acquire);
        if answer != UNKNOWN && answer >> 1 == generation {
            return answer & 1 == 1;
        }
        let on = match self.kind {
            TraceKind::Account => self.switches.account_on(name),
            TraceKind::Connector => self.switches.connector_on(name),
        };
        self.answer
            .store(generation << 1 | u64::from(on), Ordering::Release);
        on
    }

    fn observe(&self, direction: Direction, pdu: &[u8]) {
        match self.name.get() {
            Some(name) => log_pdu(self.kind, name, &self.peer, direction, pdu),
            None => {
                if direction == Direction::Received && is_bind(pdu) {
                    *self
                        .early_bind
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner) = Some(pdu.to_vec());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::store::TraceSwitch;

    #[test]
    fn hex_dumps_are_lowercase_in_groups_of_four_octets() {
        let header = [0, 0, 0, 0x10, 0x80, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 0xab];
        assert_eq!(hex_dump(&header), "00000010 80000015 00000000 000000ab");
        assert_eq!(hex_dump(&[0xde, 0xad, 0xbe, 0xef, 0x01]), "deadbeef 01");
        assert_eq!(hex_dump(&[]), "");
    }

    #[test]
    fn hex_dumps_stop_at_four_kibibytes_and_say_how_much_is_left() {
        let big = vec![0xffu8; MAX_DUMP + 10];
        let dump = hex_dump(&big);
        assert!(
            dump.ends_with(" … (10 more octets)"),
            "{}",
            &dump[dump.len() - 40..]
        );
        assert_eq!(dump.matches("ffffffff").count(), MAX_DUMP / 4);
    }

    #[test]
    fn text_dumps_are_lossy_and_capped() {
        assert_eq!(text_dump(b"ok \xff"), "ok \u{fffd}");
        let big = vec![b'a'; MAX_DUMP + 1];
        assert!(text_dump(&big).ends_with(" … (1 more octets)"));
    }

    #[test]
    fn a_bind_password_is_masked_to_the_same_length() {
        let bind = smpp::Pdu::new(
            1,
            smpp::Body::BindTransmitter(smpp::Bind {
                system_id: "acme".try_into().expect("short"),
                password: "s3cret".try_into().expect("short"),
                ..smpp::Bind::default()
            }),
        )
        .to_bytes();
        let masked = mask_bind_password(&bind);
        assert_eq!(masked.len(), bind.len());
        let text = String::from_utf8_lossy(&masked);
        assert!(text.contains("acme\0******\0"), "{text:?}");
        assert!(!text.contains("s3cret"));
        let enquire = smpp::Pdu::new(2, smpp::Body::EnquireLink).to_bytes();
        assert_eq!(&*mask_bind_password(&enquire), &enquire[..]);
    }

    #[test]
    fn headers_name_the_command_and_status() {
        let resp = [0, 0, 0, 0x10, 0x80, 0, 0, 0x04, 0, 0, 0, 0x58, 0, 0, 0, 7];
        let header = Header::read(&resp);
        assert_eq!(header.command, "submit_sm_resp");
        assert_eq!(header.status, "ESME_RTHROTTLED");
        assert_eq!(header.sequence, 7);
        let odd = Header::read(&[0, 0, 0, 0x10, 0, 0, 0x0f, 0xff]);
        assert_eq!(odd.command, "0x00000fff");
        assert_eq!(odd.status, "(short)");
    }

    #[test]
    fn a_logger_follows_its_switch_and_ignores_others() {
        let switches = TraceSwitches::new();
        let logger = PduLogger::connector_bind(switches.clone(), "carrier", "127.0.0.1:2775");
        assert!(!logger.is_on());
        let now = SystemTime::now();
        let on = |name: &str| TraceSwitch {
            kind: TraceKind::Connector,
            name: name.to_string(),
            until: now + Duration::from_secs(60),
        };
        switches.replace(&[on("other")], now);
        assert!(!logger.is_on());
        switches.replace(&[on("other"), on("carrier")], now);
        assert!(logger.is_on());
        switches.replace(&[], now);
        assert!(!logger.is_on());
    }

    #[test]
    fn a_customer_session_is_traced_once_its_account_is_named() {
        let switches = TraceSwitches::new();
        let logger = PduLogger::customer_session(switches.clone(), ([127, 0, 0, 1], 9).into());
        let now = SystemTime::now();
        switches.replace(
            &[TraceSwitch {
                kind: TraceKind::Account,
                name: "acme".to_string(),
                until: now + Duration::from_secs(60),
            }],
            now,
        );
        assert!(
            logger.is_on(),
            "an unnamed session keeps its bind while accounts are traced"
        );
        logger.name_account("other");
        assert!(!logger.is_on());
        let traced = PduLogger::customer_session(switches, ([127, 0, 0, 1], 10).into());
        traced.name_account("acme");
        assert!(traced.is_on());
    }
}
