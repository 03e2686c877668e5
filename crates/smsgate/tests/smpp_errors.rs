//! What the SMPP server answers to malformed input, row by row of
//! docs/smpp-errors.md: each test opens a real TCP connection to an
//! in-process node, writes the raw octets of a malformed PDU (after a bind
//! unless the row is about a bind), and checks the exact answer (command_id,
//! command_status, the sequence number echoed, a bare 16-octet header for
//! an error) and whether the connection goes on (an enquire_link is still
//! answered) or is closed.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use smpp::{CommandId, CommandStatus};
use smsgate::node::Node;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long an answer may take; only reached when one is missing.
const PATIENCE: Duration = Duration::from_secs(20);

/// A number the demo route accepts.
const VALID_NUMBER: &[u8] = b"447911123456";

// ---------------------------------------------------------------------------
// A node and a raw connection to it

/// A node with the built-in defaults (the demo simulator and its route)
/// and the account `acme` / `pw`; its temporary directory lives as long.
struct Gate {
    node: Node,
    _dir: tempfile::TempDir,
}

impl Gate {
    async fn start() -> Gate {
        Gate::start_with(common::local_config()).await
    }

    async fn start_with(config: smsgate::config::Config) -> Gate {
        let dir = tempfile::tempdir().expect("tempdir");
        let node = common::start_node(&config, dir.path()).await;
        common::add_account(&node, common::test_account("acme", "pw")).await;
        Gate { node, _dir: dir }
    }

    fn addr(&self) -> SocketAddr {
        common::smpp_addr(&self.node)
    }

    /// A connection, not bound.
    async fn open(&self) -> Raw {
        Raw::connect(self.addr()).await
    }

    /// A connection bound as transceiver.
    async fn bound(&self) -> Raw {
        let mut raw = self.open().await;
        raw.bind().await;
        raw
    }
}

/// One PDU read from the server.
#[derive(Debug)]
struct Answer {
    length: u32,
    command_id: Option<CommandId>,
    raw_command_id: u32,
    status: CommandStatus,
    sequence: u32,
    body: Vec<u8>,
}

/// The octets of a PDU: header (command_status 0) and `body`.
fn pdu(command_id: u32, sequence: u32, body: &[u8]) -> Vec<u8> {
    let mut octets = Vec::with_capacity(16 + body.len());
    octets.extend_from_slice(&(16 + body.len() as u32).to_be_bytes());
    octets.extend_from_slice(&command_id.to_be_bytes());
    octets.extend_from_slice(&0u32.to_be_bytes());
    octets.extend_from_slice(&sequence.to_be_bytes());
    octets.extend_from_slice(body);
    octets
}

fn be_u32(octets: &[u8]) -> u32 {
    u32::from_be_bytes(octets[..4].try_into().expect("4 octets"))
}

/// A raw TCP connection to the SMPP server.
struct Raw {
    stream: TcpStream,
    next_sequence: u32,
}

impl Raw {
    async fn connect(addr: SocketAddr) -> Raw {
        Raw {
            stream: TcpStream::connect(addr).await.expect("connect"),
            next_sequence: 100,
        }
    }

    fn sequence(&mut self) -> u32 {
        self.next_sequence += 1;
        self.next_sequence
    }

    async fn send(&mut self, octets: &[u8]) {
        self.stream.write_all(octets).await.expect("written");
    }

    /// Sends a PDU with a new sequence number; returns that number.
    async fn send_pdu(&mut self, command_id: u32, body: &[u8]) -> u32 {
        let sequence = self.sequence();
        self.send(&pdu(command_id, sequence, body)).await;
        sequence
    }

    /// The next PDU from the server: 4 octets of command_length, then the rest.
    async fn answer(&mut self, what: &str) -> Answer {
        let read = async {
            let mut length = [0u8; 4];
            self.stream.read_exact(&mut length).await?;
            let length = u32::from_be_bytes(length);
            assert!(
                length >= 16,
                "{what}: the server sent command_length {length}"
            );
            let mut rest = vec![0u8; length as usize - 4];
            self.stream.read_exact(&mut rest).await?;
            Ok::<_, std::io::Error>(Answer {
                length,
                raw_command_id: be_u32(&rest[0..]),
                command_id: CommandId::from_value(be_u32(&rest[0..])),
                status: CommandStatus(be_u32(&rest[4..])),
                sequence: be_u32(&rest[8..]),
                body: rest[12..].to_vec(),
            })
        };
        match tokio::time::timeout(PATIENCE, read).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => panic!("{what}: the connection ended instead of an answer: {e}"),
            Err(_) => panic!("{what}: no answer within {PATIENCE:?}"),
        }
    }

    /// The next PDU must be `command` with `status` and `sequence`; an
    /// error answer must be a bare 16-octet header.
    async fn expect(
        &mut self,
        what: &str,
        command: CommandId,
        status: CommandStatus,
        sequence: u32,
    ) -> Answer {
        let answer = self.answer(what).await;
        assert_eq!(
            (answer.command_id, answer.status, answer.sequence),
            (Some(command), status, sequence),
            "{what}: answered {answer:?}"
        );
        if !status.is_ok() {
            assert_eq!(
                answer.length, 16,
                "{what}: an error answer is a bare header: {answer:?}"
            );
        }
        answer
    }

    /// The connection is still usable: an enquire_link sent now is the
    /// next thing answered (so nothing else was answered before it).
    async fn expect_goes_on(&mut self, what: &str) {
        let sequence = self.send_pdu(CommandId::EnquireLink.value(), b"").await;
        let what = format!("{what}, then an enquire_link");
        self.expect(
            &what,
            CommandId::EnquireLinkResp,
            CommandStatus::ESME_ROK,
            sequence,
        )
        .await;
    }

    /// The server closes the connection (and sends nothing more).
    async fn expect_closed(&mut self, what: &str) {
        let mut rest = [0u8; 64];
        let read = tokio::time::timeout(PATIENCE, self.stream.read(&mut rest)).await;
        assert!(
            matches!(read, Ok(Ok(0)) | Ok(Err(_))),
            "{what}: the connection should be closed: {read:?}"
        );
    }

    /// Binds as transceiver `acme` / `pw`.
    async fn bind(&mut self) {
        let sequence = self
            .send_pdu(CommandId::BindTransceiver.value(), &body(&BIND_TRANSCEIVER))
            .await;
        self.expect(
            "bind_transceiver acme",
            CommandId::BindTransceiverResp,
            CommandStatus::ESME_ROK,
            sequence,
        )
        .await;
    }
}

// ---------------------------------------------------------------------------
// PDU layouts, to build bodies with one field made wrong

/// One mandatory field of a body.
#[derive(Clone, Copy)]
enum Field {
    /// A C-octet string: its name and a valid value (without its NUL).
    Str(&'static str, &'static [u8]),
    /// Fixed octets: integers, or sm_length with its short_message.
    Fixed(&'static str, &'static [u8]),
}

use Field::{Fixed, Str};

impl Field {
    fn name(&self) -> &'static str {
        match self {
            Str(name, _) | Fixed(name, _) => name,
        }
    }

    fn put(&self, body: &mut Vec<u8>) {
        match self {
            Str(_, value) => {
                body.extend_from_slice(value);
                body.push(0);
            }
            Fixed(_, octets) => body.extend_from_slice(octets),
        }
    }
}

/// The mandatory fields of a PDU, and whether TLVs may follow them.
struct Layout {
    command: CommandId,
    fields: &'static [Field],
    optional_part: bool,
}

/// A well-formed body of `layout`.
fn body(layout: &Layout) -> Vec<u8> {
    let mut body = Vec::new();
    for field in layout.fields {
        field.put(&mut body);
    }
    body
}

impl Layout {
    fn position(&self, name: &str) -> usize {
        self.fields
            .iter()
            .position(|f| f.name() == name)
            .unwrap_or_else(|| panic!("{} has no field {name}", self.command))
    }

    /// The body with `field` replaced by `max` octets and no NUL, the rest
    /// of the body after them: too long, more octets follow.
    fn too_long(&self, field: &str, max: usize) -> Vec<u8> {
        let at = self.position(field);
        let mut body = Vec::new();
        for (i, f) in self.fields.iter().enumerate() {
            if i == at {
                body.extend(std::iter::repeat_n(b'7', max));
            } else {
                f.put(&mut body);
            }
        }
        body
    }

    /// The body up to `field`, which holds the longest value that fits
    /// (`max` - 1 octets and the NUL), and nothing after it; if it is the
    /// last field, one stray octet after it.
    fn longest_then_cut(&self, field: &str, max: usize) -> Vec<u8> {
        let at = self.position(field);
        let mut body = Vec::new();
        for f in &self.fields[..at] {
            f.put(&mut body);
        }
        body.extend(std::iter::repeat_n(b'7', max - 1));
        body.push(0);
        if at + 1 == self.fields.len() {
            body.push(0xFF);
        }
        body
    }

    /// What [`Layout::longest_then_cut`] is answered with: the next field is
    /// cut (ESME_RINVCMDLEN), or after the last one the stray octet is a
    /// cut TLV (ESME_RINVOPTPARSTREAM) or octets where none may be
    /// (ESME_RINVCMDLEN).
    fn cut_status(&self, field: &str) -> CommandStatus {
        if self.position(field) + 1 == self.fields.len() && self.optional_part {
            CommandStatus::ESME_RINVOPTPARSTREAM
        } else {
            CommandStatus::ESME_RINVCMDLEN
        }
    }

    /// What a malformed one is answered with: its resp, generic_nack for
    /// the requests that have none, nothing for a response.
    fn reply(&self) -> Option<CommandId> {
        if self.command.is_response() {
            None
        } else {
            Some(self.command.response().unwrap_or(CommandId::GenericNack))
        }
    }
}

const SUBMIT_SM_FIELDS: &[Field] = &[
    Str("service_type", b""),
    Fixed("source_addr_ton, source_addr_npi", &[5, 0]),
    Str("source_addr", b"Acme"),
    Fixed("dest_addr_ton, dest_addr_npi", &[1, 1]),
    Str("destination_addr", VALID_NUMBER),
    Fixed("esm_class, protocol_id, priority_flag", &[0, 0, 0]),
    Str("schedule_delivery_time", b""),
    Str("validity_period", b""),
    Fixed(
        "registered_delivery, replace_if_present_flag, data_coding, sm_default_msg_id",
        &[0, 0, 0, 0],
    ),
    Fixed("sm_length, short_message", &[2, b'h', b'i']),
];

const SUBMIT_SM: Layout = Layout {
    command: CommandId::SubmitSm,
    fields: SUBMIT_SM_FIELDS,
    optional_part: true,
};

const DELIVER_SM: Layout = Layout {
    command: CommandId::DeliverSm,
    fields: SUBMIT_SM_FIELDS,
    optional_part: true,
};

const DATA_SM: Layout = Layout {
    command: CommandId::DataSm,
    fields: &[
        Str("service_type", b""),
        Fixed("source_addr_ton, source_addr_npi", &[5, 0]),
        Str("source_addr", b"Acme"),
        Fixed("dest_addr_ton, dest_addr_npi", &[1, 1]),
        Str("destination_addr", VALID_NUMBER),
        Fixed("esm_class, registered_delivery, data_coding", &[0, 0, 0]),
    ],
    optional_part: true,
};

const SUBMIT_MULTI: Layout = Layout {
    command: CommandId::SubmitMulti,
    fields: &[
        Str("service_type", b""),
        Fixed("source_addr_ton, source_addr_npi", &[5, 0]),
        Str("source_addr", b"Acme"),
        Fixed("number_of_dests", &[2]),
        Fixed("dest_flag 1, dest_addr_ton, dest_addr_npi", &[1, 1, 1]),
        Str("destination_addr", VALID_NUMBER),
        Fixed("dest_flag 2", &[2]),
        Str("dl_name", b"friends"),
        Fixed("esm_class, protocol_id, priority_flag", &[0, 0, 0]),
        Str("schedule_delivery_time", b""),
        Str("validity_period", b""),
        Fixed(
            "registered_delivery, replace_if_present_flag, data_coding, sm_default_msg_id",
            &[0, 0, 0, 0],
        ),
        Fixed("sm_length, short_message", &[2, b'h', b'i']),
    ],
    optional_part: true,
};

const QUERY_SM: Layout = Layout {
    command: CommandId::QuerySm,
    fields: &[
        Str("message_id", b"01ARZ3NDEKTSV4RRFFQ69G5FAV"),
        Fixed("source_addr_ton, source_addr_npi", &[5, 0]),
        Str("source_addr", b"Acme"),
    ],
    optional_part: false,
};

const CANCEL_SM: Layout = Layout {
    command: CommandId::CancelSm,
    fields: &[
        Str("service_type", b""),
        Str("message_id", b"01ARZ3NDEKTSV4RRFFQ69G5FAV"),
        Fixed("source_addr_ton, source_addr_npi", &[5, 0]),
        Str("source_addr", b"Acme"),
        Fixed("dest_addr_ton, dest_addr_npi", &[1, 1]),
        Str("destination_addr", VALID_NUMBER),
    ],
    optional_part: false,
};

const REPLACE_SM: Layout = Layout {
    command: CommandId::ReplaceSm,
    fields: &[
        Str("message_id", b"01ARZ3NDEKTSV4RRFFQ69G5FAV"),
        Fixed("source_addr_ton, source_addr_npi", &[5, 0]),
        Str("source_addr", b"Acme"),
        Str("schedule_delivery_time", b""),
        Str("validity_period", b""),
        Fixed("registered_delivery, sm_default_msg_id", &[0, 0]),
        Fixed("sm_length, short_message", &[2, b'h', b'i']),
    ],
    optional_part: true,
};

const BIND_FIELDS: &[Field] = &[
    Str("system_id", b"acme"),
    Str("password", b"pw"),
    Str("system_type", b""),
    Fixed("interface_version", &[0x34]),
    Fixed("addr_ton, addr_npi", &[0, 0]),
    Str("address_range", b""),
];

const BIND_TRANSMITTER: Layout = Layout {
    command: CommandId::BindTransmitter,
    fields: BIND_FIELDS,
    optional_part: false,
};

const BIND_RECEIVER: Layout = Layout {
    command: CommandId::BindReceiver,
    fields: BIND_FIELDS,
    optional_part: false,
};

const BIND_TRANSCEIVER: Layout = Layout {
    command: CommandId::BindTransceiver,
    fields: BIND_FIELDS,
    optional_part: false,
};

const BINDS: [&Layout; 3] = [&BIND_TRANSMITTER, &BIND_RECEIVER, &BIND_TRANSCEIVER];

const OUTBIND: Layout = Layout {
    command: CommandId::Outbind,
    fields: &[Str("system_id", b"acme"), Str("password", b"pw")],
    optional_part: false,
};

const ALERT_NOTIFICATION: Layout = Layout {
    command: CommandId::AlertNotification,
    fields: &[
        Fixed("source_addr_ton, source_addr_npi", &[1, 1]),
        Str("source_addr", VALID_NUMBER),
        Fixed("esme_addr_ton, esme_addr_npi", &[5, 0]),
        Str("esme_addr", b"Acme"),
    ],
    optional_part: true,
};

const MESSAGE_ID_FIELDS: &[Field] = &[Str("message_id", b"01ARZ3NDEKTSV4RRFFQ69G5FAV")];

const SUBMIT_SM_RESP: Layout = Layout {
    command: CommandId::SubmitSmResp,
    fields: MESSAGE_ID_FIELDS,
    optional_part: true,
};

const DELIVER_SM_RESP: Layout = Layout {
    command: CommandId::DeliverSmResp,
    fields: MESSAGE_ID_FIELDS,
    optional_part: true,
};

const DATA_SM_RESP: Layout = Layout {
    command: CommandId::DataSmResp,
    fields: MESSAGE_ID_FIELDS,
    optional_part: true,
};

const SUBMIT_MULTI_RESP: Layout = Layout {
    command: CommandId::SubmitMultiResp,
    fields: &[
        Str("message_id", b"01ARZ3NDEKTSV4RRFFQ69G5FAV"),
        Fixed("no_unsuccess", &[0]),
    ],
    optional_part: true,
};

const QUERY_SM_RESP: Layout = Layout {
    command: CommandId::QuerySmResp,
    fields: &[
        Str("message_id", b"01ARZ3NDEKTSV4RRFFQ69G5FAV"),
        Str("final_date", b""),
        Fixed("message_state, error_code", &[2, 0]),
    ],
    optional_part: false,
};

/// The bound-session requests that have a body.
const REQUESTS: [&Layout; 7] = [
    &SUBMIT_SM,
    &DELIVER_SM,
    &DATA_SM,
    &SUBMIT_MULTI,
    &QUERY_SM,
    &CANCEL_SM,
    &REPLACE_SM,
];

/// Sends `octets` as the body of a `layout` PDU and checks it is answered
/// `status` (with the PDU's resp, generic_nack, or not at all for a
/// response), and that the connection goes on.
async fn check_refused(
    raw: &mut Raw,
    what: &str,
    layout: &Layout,
    octets: &[u8],
    status: CommandStatus,
) {
    let sequence = raw.send_pdu(layout.command.value(), octets).await;
    if let Some(reply) = layout.reply() {
        raw.expect(what, reply, status, sequence).await;
    }
    raw.expect_goes_on(what).await;
}

/// A row of the field maxima table, for one PDU: `field` with `max`
/// octets and no NUL (more octets following) is answered `status`; with
/// the longest value that fits, it is read and the PDU fails only where the
/// body is cut after it.
async fn check_maximum(
    raw: &mut Raw,
    layout: &Layout,
    field: &str,
    max: usize,
    status: CommandStatus,
) {
    let what = format!(
        "{} whose {field} has {max} octets and no NUL",
        layout.command
    );
    check_refused(raw, &what, layout, &layout.too_long(field, max), status).await;
    let what = format!(
        "{} whose {field} has {} octets and its NUL, then the body ends",
        layout.command,
        max - 1
    );
    let cut = layout.cut_status(field);
    check_refused(
        raw,
        &what,
        layout,
        &layout.longest_then_cut(field, max),
        cut,
    )
    .await;
}

/// The server's longest system_id and password, NUL included.
fn credential_max() -> usize {
    common::local_config().smpp.max_credential_len + 1
}

// ---------------------------------------------------------------------------
// The malformed input table

#[tokio::test]
async fn a_command_length_below_16_is_answered_generic_nack_esme_rinvcmdlen_and_the_connection_closed()
 {
    let gate = Gate::start().await;
    let mut raw = gate.bound().await;
    raw.send(&[0, 0, 0, 8, 0, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 9])
        .await;
    let what = "an enquire_link with command_length 8";
    raw.expect(
        what,
        CommandId::GenericNack,
        CommandStatus::ESME_RINVCMDLEN,
        9,
    )
    .await;
    raw.expect_closed(what).await;
}

#[tokio::test]
async fn a_command_length_above_the_maximum_is_answered_generic_nack_esme_rinvcmdlen_at_once_and_the_session_goes_on()
 {
    let gate = Gate::start().await;
    let max = common::local_config().smpp.max_pdu_len;
    let mut raw = gate.bound().await;
    let length = max + 1;
    let mut header = pdu(CommandId::SubmitSm.value(), 77, b"");
    header[..4].copy_from_slice(&length.to_be_bytes());
    raw.send(&header).await;
    let what = format!("a submit_sm of {length} octets (the maximum is {max})");
    // Answered as soon as the header is in: the body is not waited for.
    raw.expect(
        &what,
        CommandId::GenericNack,
        CommandStatus::ESME_RINVCMDLEN,
        77,
    )
    .await;
    // The body is thrown away as it arrives, and the PDU after it is read.
    raw.send(&vec![0x42; length as usize - 16]).await;
    raw.expect_goes_on(&what).await;
}

#[tokio::test]
async fn a_pdu_of_exactly_the_maximum_length_is_framed_and_decoded_not_refused_for_its_length() {
    let gate = Gate::start().await;
    let max = common::local_config().smpp.max_pdu_len;
    let mut raw = gate.bound().await;
    // An enquire_link padded to the maximum: read whole, then refused for
    // its trailing octets with its own resp, not with generic_nack.
    let sequence = raw
        .send_pdu(CommandId::EnquireLink.value(), &vec![0; max as usize - 16])
        .await;
    let what = format!("an enquire_link of exactly {max} octets");
    raw.expect(
        &what,
        CommandId::EnquireLinkResp,
        CommandStatus::ESME_RINVCMDLEN,
        sequence,
    )
    .await;
    raw.expect_goes_on(&what).await;
}

#[tokio::test]
async fn an_unknown_command_id_is_answered_generic_nack_esme_rinvcmdid_and_the_session_goes_on() {
    let gate = Gate::start().await;
    let mut raw = gate.bound().await;
    let sequence = raw.send_pdu(0x0000_0042, b"whatever").await;
    let what = "command_id 0x00000042";
    raw.expect(
        what,
        CommandId::GenericNack,
        CommandStatus::ESME_RINVCMDID,
        sequence,
    )
    .await;
    raw.expect_goes_on(what).await;
}

#[tokio::test]
async fn an_unknown_command_id_with_the_response_bit_is_answered_generic_nack_esme_rinvcmdid_too() {
    let gate = Gate::start().await;
    let mut raw = gate.bound().await;
    let sequence = raw.send_pdu(0x8000_0042, b"").await;
    let what = "command_id 0x80000042";
    raw.expect(
        what,
        CommandId::GenericNack,
        CommandStatus::ESME_RINVCMDID,
        sequence,
    )
    .await;
    raw.expect_goes_on(what).await;
}

async fn check_unsupported(command: CommandId) {
    let gate = Gate::start().await;
    let mut raw = gate.bound().await;
    let sequence = raw.send_pdu(command.value(), &[0; 40]).await;
    let what = command.name();
    raw.expect(
        what,
        CommandId::GenericNack,
        CommandStatus::ESME_RINVCMDID,
        sequence,
    )
    .await;
    raw.expect_goes_on(what).await;
}

#[tokio::test]
async fn broadcast_sm_is_answered_generic_nack_esme_rinvcmdid_and_the_session_goes_on() {
    check_unsupported(CommandId::BroadcastSm).await;
}

#[tokio::test]
async fn query_broadcast_sm_is_answered_generic_nack_esme_rinvcmdid_and_the_session_goes_on() {
    check_unsupported(CommandId::QueryBroadcastSm).await;
}

#[tokio::test]
async fn cancel_broadcast_sm_is_answered_generic_nack_esme_rinvcmdid_and_the_session_goes_on() {
    check_unsupported(CommandId::CancelBroadcastSm).await;
}

#[tokio::test]
async fn a_broadcast_sm_resp_is_answered_generic_nack_esme_rinvcmdid_too() {
    check_unsupported(CommandId::BroadcastSmResp).await;
}

#[tokio::test]
async fn a_submit_sm_with_no_body_is_answered_esme_rinvcmdlen() {
    let gate = Gate::start().await;
    let mut raw = gate.bound().await;
    let what = "a submit_sm with no body (a bare header)";
    check_refused(
        &mut raw,
        what,
        &SUBMIT_SM,
        b"",
        CommandStatus::ESME_RINVCMDLEN,
    )
    .await;
}

#[tokio::test]
async fn every_request_sent_with_no_body_is_answered_its_resp_esme_rinvcmdlen() {
    let gate = Gate::start().await;
    let mut raw = gate.open().await;
    for layout in BINDS {
        let what = format!("a {} with no body, before bind", layout.command);
        check_refused(&mut raw, &what, layout, b"", CommandStatus::ESME_RINVCMDLEN).await;
    }
    raw.bind().await;
    for layout in REQUESTS {
        let what = format!("a {} with no body", layout.command);
        check_refused(&mut raw, &what, layout, b"", CommandStatus::ESME_RINVCMDLEN).await;
    }
}

#[tokio::test]
async fn a_submit_sm_whose_source_addr_runs_to_the_end_of_the_body_is_answered_esme_rinvcmdlen() {
    let gate = Gate::start().await;
    let mut raw = gate.bound().await;
    // service_type, source_addr_ton and _npi, then "4477" and the end: the
    // address is cut within its 21 octets, not too long.
    let what = "a submit_sm ending inside source_addr";
    check_refused(
        &mut raw,
        what,
        &SUBMIT_SM,
        b"\0\x05\x004477",
        CommandStatus::ESME_RINVCMDLEN,
    )
    .await;
}

#[tokio::test]
async fn a_submit_sm_cut_inside_its_fixed_fields_is_answered_esme_rinvcmdlen() {
    let gate = Gate::start().await;
    let mut raw = gate.bound().await;
    let mut octets = body(&SUBMIT_SM);
    // Cut after protocol_id: priority_flag and everything after it are missing.
    let at = octets.len() - 3 - 4 - 2 - 1;
    octets.truncate(at);
    let what = "a submit_sm ending before priority_flag";
    check_refused(
        &mut raw,
        what,
        &SUBMIT_SM,
        &octets,
        CommandStatus::ESME_RINVCMDLEN,
    )
    .await;
}

#[tokio::test]
async fn a_bind_cut_before_interface_version_is_answered_bind_resp_esme_rinvcmdlen_before_bind() {
    let gate = Gate::start().await;
    let mut raw = gate.open().await;
    for layout in BINDS {
        let what = format!("a {} ending after system_type", layout.command);
        check_refused(
            &mut raw,
            &what,
            layout,
            b"acme\0pw\0\0",
            CommandStatus::ESME_RINVCMDLEN,
        )
        .await;
    }
}

#[tokio::test]
async fn a_string_with_no_nul_within_its_maximum_gets_the_fields_status_even_at_the_end_of_the_body()
 {
    let gate = Gate::start().await;
    let mut raw = gate.bound().await;
    // service_type holds 5 octets and its NUL; 6 without a NUL are too long,
    // even though the body ends right after them.
    let what = "a submit_sm whose body is 6 octets of service_type";
    check_refused(
        &mut raw,
        what,
        &SUBMIT_SM,
        b"CMTxyz",
        CommandStatus::ESME_RINVSERTYP,
    )
    .await;
    let what = "a submit_sm with 6 octets of service_type, then the rest";
    check_refused(
        &mut raw,
        what,
        &SUBMIT_SM,
        &SUBMIT_SM.too_long("service_type", 6),
        CommandStatus::ESME_RINVSERTYP,
    )
    .await;
}

#[tokio::test]
async fn an_sm_length_past_the_end_of_the_body_is_answered_esme_rinvmsglen() {
    let gate = Gate::start().await;
    let mut raw = gate.bound().await;
    for layout in [&SUBMIT_SM, &DELIVER_SM, &SUBMIT_MULTI, &REPLACE_SM] {
        let mut octets = body(layout);
        let sm_at = octets.len() - 3;
        octets.truncate(sm_at);
        octets.push(50);
        octets.extend_from_slice(b"short");
        let what = format!(
            "a {} with sm_length 50 and 5 octets after it",
            layout.command
        );
        check_refused(
            &mut raw,
            &what,
            layout,
            &octets,
            CommandStatus::ESME_RINVMSGLEN,
        )
        .await;
    }
}

#[tokio::test]
async fn a_tlv_value_cut_short_is_answered_esme_rinvoptparstream() {
    let gate = Gate::start().await;
    let mut raw = gate.bound().await;
    let mut octets = body(&SUBMIT_SM);
    // sar_msg_ref_num, 2 octets declared, 1 present.
    octets.extend_from_slice(&[0x02, 0x0C, 0x00, 0x02, 0x12]);
    let what = "a submit_sm whose sar_msg_ref_num value is cut";
    check_refused(
        &mut raw,
        what,
        &SUBMIT_SM,
        &octets,
        CommandStatus::ESME_RINVOPTPARSTREAM,
    )
    .await;
}

#[tokio::test]
async fn a_tlv_header_cut_short_is_answered_esme_rinvoptparstream() {
    let gate = Gate::start().await;
    let mut raw = gate.bound().await;
    for tail in [&[0x02][..], &[0x02, 0x0C], &[0x02, 0x0C, 0x00]] {
        let mut octets = body(&SUBMIT_SM);
        octets.extend_from_slice(tail);
        let what = format!(
            "a submit_sm ending in {} octets of a TLV header",
            tail.len()
        );
        check_refused(
            &mut raw,
            &what,
            &SUBMIT_SM,
            &octets,
            CommandStatus::ESME_RINVOPTPARSTREAM,
        )
        .await;
    }
}

#[tokio::test]
async fn a_known_integer_tlv_with_a_length_its_type_forbids_is_answered_esme_rinvparlen() {
    let gate = Gate::start().await;
    let mut raw = gate.bound().await;
    let mut octets = body(&SUBMIT_SM);
    // sar_msg_ref_num is 2 octets; 1 is declared and sent.
    octets.extend_from_slice(&[0x02, 0x0C, 0x00, 0x01, 0x12]);
    let what = "a submit_sm with a 1-octet sar_msg_ref_num";
    check_refused(
        &mut raw,
        what,
        &SUBMIT_SM,
        &octets,
        CommandStatus::ESME_RINVPARLEN,
    )
    .await;
}

#[tokio::test]
async fn a_string_tlv_longer_than_its_maximum_is_answered_esme_rinvparlen() {
    let gate = Gate::start().await;
    let mut raw = gate.bound().await;
    let mut octets = body(&SUBMIT_SM);
    // receipted_message_id holds 65 octets with its NUL: 65 without one are too many.
    octets.extend_from_slice(&[0x00, 0x1E, 0x00, 65]);
    octets.extend_from_slice(&[b'7'; 65]);
    let what = "a submit_sm with a 65-octet receipted_message_id and no NUL";
    check_refused(
        &mut raw,
        what,
        &SUBMIT_SM,
        &octets,
        CommandStatus::ESME_RINVPARLEN,
    )
    .await;
}

#[tokio::test]
async fn octets_after_the_last_field_of_an_enquire_link_are_answered_enquire_link_resp_esme_rinvcmdlen()
 {
    let gate = Gate::start().await;
    let mut raw = gate.bound().await;
    let sequence = raw.send_pdu(CommandId::EnquireLink.value(), &[0, 0]).await;
    let what = "an enquire_link with 2 octets of body";
    raw.expect(
        what,
        CommandId::EnquireLinkResp,
        CommandStatus::ESME_RINVCMDLEN,
        sequence,
    )
    .await;
    raw.expect_goes_on(what).await;
}

#[tokio::test]
async fn octets_after_the_last_field_of_query_sm_and_cancel_sm_are_answered_their_resp_esme_rinvcmdlen()
 {
    let gate = Gate::start().await;
    let mut raw = gate.bound().await;
    for layout in [&QUERY_SM, &CANCEL_SM] {
        let mut octets = body(layout);
        octets.push(0);
        let what = format!("a {} with one octet after its last field", layout.command);
        check_refused(
            &mut raw,
            &what,
            layout,
            &octets,
            CommandStatus::ESME_RINVCMDLEN,
        )
        .await;
    }
}

#[tokio::test]
async fn octets_after_the_last_field_of_a_bind_are_answered_bind_resp_esme_rinvcmdlen_before_bind()
{
    let gate = Gate::start().await;
    let mut raw = gate.open().await;
    for layout in BINDS {
        let mut octets = body(layout);
        octets.push(0);
        let what = format!("a {} with one octet after address_range", layout.command);
        check_refused(
            &mut raw,
            &what,
            layout,
            &octets,
            CommandStatus::ESME_RINVCMDLEN,
        )
        .await;
    }
}

#[tokio::test]
async fn an_unbind_with_trailing_octets_is_answered_unbind_resp_esme_rinvcmdlen_and_does_not_unbind()
 {
    let gate = Gate::start().await;
    let mut raw = gate.bound().await;
    let sequence = raw.send_pdu(CommandId::Unbind.value(), &[0]).await;
    let what = "an unbind with one octet of body";
    raw.expect(
        what,
        CommandId::UnbindResp,
        CommandStatus::ESME_RINVCMDLEN,
        sequence,
    )
    .await;
    raw.expect_goes_on(what).await;
    // Still bound: a submit is accepted.
    let sequence = raw
        .send_pdu(CommandId::SubmitSm.value(), &body(&SUBMIT_SM))
        .await;
    raw.expect(
        what,
        CommandId::SubmitSmResp,
        CommandStatus::ESME_ROK,
        sequence,
    )
    .await;
}

#[tokio::test]
async fn a_submit_multi_dest_flag_of_3_is_answered_submit_multi_resp_esme_rinvdestflag() {
    let gate = Gate::start().await;
    let mut raw = gate.bound().await;
    for flag in [0u8, 3, 0xFF] {
        // service_type, source, number_of_dests 1, then the bad dest_flag.
        let octets = [0, 5, 0, b'A', 0, 1, flag, 1, 1, b'4', 0];
        let what = format!("a submit_multi with dest_flag {flag}");
        check_refused(
            &mut raw,
            &what,
            &SUBMIT_MULTI,
            &octets,
            CommandStatus::ESME_RINVDESTFLAG,
        )
        .await;
    }
}

#[tokio::test]
async fn a_malformed_alert_notification_is_answered_generic_nack_with_the_errors_status() {
    let gate = Gate::start().await;
    let mut raw = gate.bound().await;
    let what = "an alert_notification ending after source_addr_npi";
    check_refused(
        &mut raw,
        what,
        &ALERT_NOTIFICATION,
        &[1, 1],
        CommandStatus::ESME_RINVCMDLEN,
    )
    .await;
}

#[tokio::test]
async fn a_malformed_outbind_is_answered_generic_nack_with_the_errors_status() {
    let gate = Gate::start().await;
    let mut raw = gate.open().await;
    let what = "an outbind with no body";
    check_refused(
        &mut raw,
        what,
        &OUTBIND,
        b"",
        CommandStatus::ESME_RINVCMDLEN,
    )
    .await;
    let what = "an outbind ending inside password";
    check_refused(
        &mut raw,
        what,
        &OUTBIND,
        b"acme\0pw",
        CommandStatus::ESME_RINVCMDLEN,
    )
    .await;
}

#[tokio::test]
async fn a_malformed_response_gets_no_answer_and_the_session_goes_on() {
    let gate = Gate::start().await;
    let mut raw = gate.bound().await;
    let cases: [(&str, CommandId, &[u8]); 6] = [
        (
            "a submit_sm_resp ending inside message_id",
            CommandId::SubmitSmResp,
            b"abc",
        ),
        (
            "a deliver_sm_resp with a cut TLV",
            CommandId::DeliverSmResp,
            b"\0\x02",
        ),
        (
            "a query_sm_resp ending after final_date",
            CommandId::QuerySmResp,
            b"id\0\0",
        ),
        (
            "a cancel_sm_resp with a body",
            CommandId::CancelSmResp,
            b"\0",
        ),
        (
            "an enquire_link_resp with a body",
            CommandId::EnquireLinkResp,
            b"\0\0",
        ),
        ("a generic_nack with a body", CommandId::GenericNack, b"\0"),
    ];
    for (what, command, octets) in cases {
        raw.send_pdu(command.value(), octets).await;
        raw.expect_goes_on(what).await;
    }
}

// ---------------------------------------------------------------------------
// The field maxima table

#[tokio::test]
async fn a_bind_system_id_longer_than_max_credential_len_is_answered_esme_rinvsysid() {
    let gate = Gate::start().await;
    let mut raw = gate.open().await;
    for layout in BINDS {
        check_maximum(
            &mut raw,
            layout,
            "system_id",
            credential_max(),
            CommandStatus::ESME_RINVSYSID,
        )
        .await;
    }
}

#[tokio::test]
async fn an_outbind_system_id_longer_than_max_credential_len_is_answered_generic_nack_esme_rinvsysid()
 {
    let gate = Gate::start().await;
    let mut raw = gate.open().await;
    check_maximum(
        &mut raw,
        &OUTBIND,
        "system_id",
        credential_max(),
        CommandStatus::ESME_RINVSYSID,
    )
    .await;
}

#[tokio::test]
async fn a_bind_or_outbind_password_longer_than_max_credential_len_is_answered_esme_rinvpaswd() {
    let gate = Gate::start().await;
    let mut raw = gate.open().await;
    for layout in [
        &BIND_TRANSMITTER,
        &BIND_RECEIVER,
        &BIND_TRANSCEIVER,
        &OUTBIND,
    ] {
        check_maximum(
            &mut raw,
            layout,
            "password",
            credential_max(),
            CommandStatus::ESME_RINVPASWD,
        )
        .await;
    }
}

#[tokio::test]
async fn a_bind_system_type_longer_than_13_octets_is_answered_esme_rinvsystyp() {
    let gate = Gate::start().await;
    let mut raw = gate.open().await;
    for layout in BINDS {
        check_maximum(
            &mut raw,
            layout,
            "system_type",
            13,
            CommandStatus::ESME_RINVSYSTYP,
        )
        .await;
    }
}

#[tokio::test]
async fn a_bind_address_range_longer_than_41_octets_is_answered_esme_rinvparlen() {
    let gate = Gate::start().await;
    let mut raw = gate.open().await;
    for layout in BINDS {
        check_maximum(
            &mut raw,
            layout,
            "address_range",
            41,
            CommandStatus::ESME_RINVPARLEN,
        )
        .await;
    }
}

#[tokio::test]
async fn a_service_type_longer_than_6_octets_is_answered_esme_rinvsertyp() {
    let gate = Gate::start().await;
    let mut raw = gate.bound().await;
    for layout in [&SUBMIT_SM, &DELIVER_SM, &DATA_SM, &SUBMIT_MULTI, &CANCEL_SM] {
        check_maximum(
            &mut raw,
            layout,
            "service_type",
            6,
            CommandStatus::ESME_RINVSERTYP,
        )
        .await;
    }
}

#[tokio::test]
async fn a_source_addr_longer_than_21_octets_is_answered_esme_rinvsrcadr() {
    let gate = Gate::start().await;
    let mut raw = gate.bound().await;
    for layout in [
        &SUBMIT_SM,
        &DELIVER_SM,
        &SUBMIT_MULTI,
        &QUERY_SM,
        &CANCEL_SM,
        &REPLACE_SM,
    ] {
        check_maximum(
            &mut raw,
            layout,
            "source_addr",
            21,
            CommandStatus::ESME_RINVSRCADR,
        )
        .await;
    }
}

#[tokio::test]
async fn a_destination_addr_longer_than_21_octets_is_answered_esme_rinvdstadr() {
    let gate = Gate::start().await;
    let mut raw = gate.bound().await;
    for layout in [&SUBMIT_SM, &DELIVER_SM, &CANCEL_SM, &SUBMIT_MULTI] {
        check_maximum(
            &mut raw,
            layout,
            "destination_addr",
            21,
            CommandStatus::ESME_RINVDSTADR,
        )
        .await;
    }
}

#[tokio::test]
async fn data_sm_and_alert_notification_addresses_longer_than_65_octets_get_the_address_statuses() {
    let gate = Gate::start().await;
    let mut raw = gate.bound().await;
    check_maximum(
        &mut raw,
        &DATA_SM,
        "source_addr",
        65,
        CommandStatus::ESME_RINVSRCADR,
    )
    .await;
    check_maximum(
        &mut raw,
        &DATA_SM,
        "destination_addr",
        65,
        CommandStatus::ESME_RINVDSTADR,
    )
    .await;
    check_maximum(
        &mut raw,
        &ALERT_NOTIFICATION,
        "source_addr",
        65,
        CommandStatus::ESME_RINVSRCADR,
    )
    .await;
    check_maximum(
        &mut raw,
        &ALERT_NOTIFICATION,
        "esme_addr",
        65,
        CommandStatus::ESME_RINVDSTADR,
    )
    .await;
}

#[tokio::test]
async fn a_dl_name_longer_than_21_octets_is_answered_esme_rinvdlname() {
    let gate = Gate::start().await;
    let mut raw = gate.bound().await;
    check_maximum(
        &mut raw,
        &SUBMIT_MULTI,
        "dl_name",
        21,
        CommandStatus::ESME_RINVDLNAME,
    )
    .await;
}

#[tokio::test]
async fn a_schedule_delivery_time_longer_than_17_octets_is_answered_esme_rinvsched() {
    let gate = Gate::start().await;
    let mut raw = gate.bound().await;
    for layout in [&SUBMIT_SM, &DELIVER_SM, &SUBMIT_MULTI, &REPLACE_SM] {
        check_maximum(
            &mut raw,
            layout,
            "schedule_delivery_time",
            17,
            CommandStatus::ESME_RINVSCHED,
        )
        .await;
    }
}

#[tokio::test]
async fn a_validity_period_longer_than_17_octets_is_answered_esme_rinvexpiry() {
    let gate = Gate::start().await;
    let mut raw = gate.bound().await;
    for layout in [&SUBMIT_SM, &DELIVER_SM, &SUBMIT_MULTI, &REPLACE_SM] {
        check_maximum(
            &mut raw,
            layout,
            "validity_period",
            17,
            CommandStatus::ESME_RINVEXPIRY,
        )
        .await;
    }
}

#[tokio::test]
async fn a_message_id_longer_than_65_octets_is_answered_esme_rinvmsgid_in_requests_and_not_in_responses()
 {
    let gate = Gate::start().await;
    let mut raw = gate.bound().await;
    for layout in [
        &QUERY_SM,
        &CANCEL_SM,
        &REPLACE_SM,
        &SUBMIT_SM_RESP,
        &DELIVER_SM_RESP,
        &DATA_SM_RESP,
        &SUBMIT_MULTI_RESP,
        &QUERY_SM_RESP,
    ] {
        check_maximum(
            &mut raw,
            layout,
            "message_id",
            65,
            CommandStatus::ESME_RINVMSGID,
        )
        .await;
    }
}

#[tokio::test]
async fn a_final_date_longer_than_17_octets_gets_no_answer_as_only_query_sm_resp_has_one() {
    let gate = Gate::start().await;
    let mut raw = gate.bound().await;
    check_maximum(
        &mut raw,
        &QUERY_SM_RESP,
        "final_date",
        17,
        CommandStatus::ESME_RINVPARLEN,
    )
    .await;
}

// ---------------------------------------------------------------------------
// Tolerated on purpose

#[tokio::test]
async fn a_string_tlv_without_its_nul_is_accepted() {
    let gate = Gate::start().await;
    let mut raw = gate.bound().await;
    let mut octets = body(&SUBMIT_SM);
    // receipted_message_id "abc" without its NUL.
    octets.extend_from_slice(&[0x00, 0x1E, 0x00, 0x03, b'a', b'b', b'c']);
    let sequence = raw.send_pdu(CommandId::SubmitSm.value(), &octets).await;
    let what = "a submit_sm with receipted_message_id \"abc\" and no NUL";
    raw.expect(
        what,
        CommandId::SubmitSmResp,
        CommandStatus::ESME_ROK,
        sequence,
    )
    .await;
    raw.expect_goes_on(what).await;
}

#[tokio::test]
async fn a_tlv_with_a_tag_we_do_not_know_is_accepted() {
    let gate = Gate::start().await;
    let mut raw = gate.bound().await;
    let mut octets = body(&SUBMIT_SM);
    octets.extend_from_slice(&[0x14, 0x01, 0x00, 0x03, 1, 2, 3]);
    let sequence = raw.send_pdu(CommandId::SubmitSm.value(), &octets).await;
    let what = "a submit_sm with the vendor TLV 0x1401";
    raw.expect(
        what,
        CommandId::SubmitSmResp,
        CommandStatus::ESME_ROK,
        sequence,
    )
    .await;
    raw.expect_goes_on(what).await;
}

/// A node whose simulator answers at once and sends receipts after 20 ms,
/// retrying a refused receipt after 100 ms.
async fn receipt_gate() -> Gate {
    let config = common::parse_local_config(
        "[dispatch]\npoll_interval = \"20ms\"\n\
         [delivery]\npoll_interval = \"20ms\"\nretry_delays = [\"100ms\"]\n\
         [connectors.a]\nkind = \"sim\"\nlatency = \"0s\"\nreceipt_delay = \"20ms\"\n\
         [[routes]]\nname = \"r\"\nconnectors = \"a\"\n",
    );
    Gate::start_with(config).await
}

/// Submits a message asking for a receipt; returns our id for it.
async fn submit_for_receipt(raw: &mut Raw) -> String {
    let mut octets = Vec::new();
    for field in SUBMIT_SM_FIELDS {
        match field {
            Fixed(name, _) if name.starts_with("registered_delivery") => {
                octets.extend_from_slice(&[1, 0, 0, 0])
            }
            field => field.put(&mut octets),
        }
    }
    let sequence = raw.send_pdu(CommandId::SubmitSm.value(), &octets).await;
    let resp = raw
        .expect(
            "a submit_sm asking for a receipt",
            CommandId::SubmitSmResp,
            CommandStatus::ESME_ROK,
            sequence,
        )
        .await;
    let id = resp.body.split(|&b| b == 0).next().expect("a message_id");
    String::from_utf8(id.to_vec()).expect("ASCII id")
}

/// The next deliver_sm from the server.
async fn next_deliver_sm(raw: &mut Raw, what: &str) -> Answer {
    let deliver = raw.answer(what).await;
    assert_eq!(
        deliver.command_id,
        Some(CommandId::DeliverSm),
        "{what}: {deliver:?}"
    );
    deliver
}

/// Waits until the message's trace has an event `kind: detail` that starts
/// with `prefix`; returns that line.
async fn until_traced(node: &Node, id: &str, prefix: &str) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let message = node.store.message(id).await.expect("read").expect("stored");
        if let Some(line) = message
            .trace
            .iter()
            .map(|event| format!("{}: {}", event.kind, event.detail))
            .find(|line| line.starts_with(prefix))
        {
            return line;
        }
        assert!(
            Instant::now() < deadline,
            "{id} never traced {prefix:?}: {:#?}",
            message.trace
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_deliver_sm_resp_with_no_body_acknowledges_the_receipt() {
    let gate = receipt_gate().await;
    let mut raw = gate.bound().await;
    let id = submit_for_receipt(&mut raw).await;
    let deliver = next_deliver_sm(&mut raw, "the receipt").await;
    // We write receipted_message_id with its NUL.
    let mut tlv = vec![0x00, 0x1E, 0x00, id.len() as u8 + 1];
    tlv.extend_from_slice(id.as_bytes());
    tlv.push(0);
    assert!(
        deliver.body.windows(tlv.len()).any(|w| w == tlv),
        "receipted_message_id {id} with its NUL in {:?}",
        deliver.body
    );
    // A bare header: deliver_sm_resp, ESME_ROK, no message_id at all.
    raw.send(&pdu(
        CommandId::DeliverSmResp.value(),
        deliver.sequence,
        b"",
    ))
    .await;
    until_traced(&gate.node, &id, "receipt sent").await;
    raw.expect_goes_on("a deliver_sm_resp with no body").await;
}

#[tokio::test]
async fn a_malformed_deliver_sm_resp_fails_the_receipt_delivery_which_is_sent_again() {
    let gate = receipt_gate().await;
    let mut raw = gate.bound().await;
    let id = submit_for_receipt(&mut raw).await;
    let first = next_deliver_sm(&mut raw, "the receipt").await;
    raw.send(&pdu(
        CommandId::DeliverSmResp.value(),
        first.sequence,
        &[b'x'; 70],
    ))
    .await;
    let retry = until_traced(&gate.node, &id, "receipt retry").await;
    assert!(
        retry.contains("malformed response") && retry.contains("message_id"),
        "{retry}"
    );
    let second = next_deliver_sm(&mut raw, "the receipt sent again").await;
    assert_eq!(
        first.body, second.body,
        "the same receipt (raw command_id {:#x})",
        second.raw_command_id
    );
    raw.send(&pdu(
        CommandId::DeliverSmResp.value(),
        second.sequence,
        b"\0",
    ))
    .await;
    until_traced(&gate.node, &id, "receipt sent").await;
}
