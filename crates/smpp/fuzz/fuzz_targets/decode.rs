//! Feeds arbitrary bytes to the SMPP codec as a stream.
//!
//! Checks, beyond "no panic": every error's reply encodes; every PDU that
//! decodes re-encodes to bytes that decode to the same PDU; and the codec
//! never holds more than one frame's worth of buffered input.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use smpp::pdu::DecodeLimits;
use smpp::{Pdu, SmppCodec};
use tokio_util::codec::Decoder;

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, data)) = data.split_first() else { return };
    let chunk = usize::from(chunk).max(1);
    let limits = DecodeLimits { max_command_length: 4096, max_credential_len: None };
    let mut codec = SmppCodec::new(limits);
    let mut buffer = BytesMut::new();
    for piece in data.chunks(chunk) {
        buffer.extend_from_slice(piece);
        loop {
            match codec.decode(&mut buffer) {
                Ok(Some(Ok(pdu))) => {
                    let again = Pdu::decode(pdu.to_bytes(), &limits);
                    assert_eq!(again.as_ref(), Ok(&pdu), "re-encoding changed the PDU");
                }
                Ok(Some(Err(error))) => {
                    if let Some(reply) = error.reply() {
                        let _ = reply.to_bytes();
                    }
                    let _ = error.to_string();
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
        assert!(buffer.len() <= 4096 + chunk, "codec buffered more than a frame");
    }
});
