//! `command_id`: which operation a PDU is.

use std::fmt;

/// The bit that marks a response: `command_id | RESPONSE_BIT` is the id of its resp.
pub const RESPONSE_BIT: u32 = 0x8000_0000;

macro_rules! command_ids {
    ($( $name:ident = $value:expr, $spec:expr; )*) => {
        /// Every `command_id` defined by SMPP 3.4 and 5.0.
        ///
        /// The broadcast_sm family (5.0) is known here so that it can be
        /// recognised and refused with ESME_RINVCMDID, instead of being
        /// mistaken for garbage; we do not decode its bodies.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum CommandId {
            $( #[doc = $spec] $name, )*
        }

        impl CommandId {
            /// The wire value.
            pub const fn value(self) -> u32 {
                match self {
                    $( CommandId::$name => $value, )*
                }
            }

            /// The command for a wire value, or `None` for an id no spec defines.
            pub const fn from_value(value: u32) -> Option<CommandId> {
                match value {
                    $( $value => Some(CommandId::$name), )*
                    _ => None,
                }
            }

            /// The spec's name, e.g. `submit_sm_resp`.
            pub const fn name(self) -> &'static str {
                match self {
                    $( CommandId::$name => $spec, )*
                }
            }
        }
    };
}

command_ids! {
    GenericNack = 0x8000_0000, "generic_nack";
    BindReceiver = 0x0000_0001, "bind_receiver";
    BindReceiverResp = 0x8000_0001, "bind_receiver_resp";
    BindTransmitter = 0x0000_0002, "bind_transmitter";
    BindTransmitterResp = 0x8000_0002, "bind_transmitter_resp";
    QuerySm = 0x0000_0003, "query_sm";
    QuerySmResp = 0x8000_0003, "query_sm_resp";
    SubmitSm = 0x0000_0004, "submit_sm";
    SubmitSmResp = 0x8000_0004, "submit_sm_resp";
    DeliverSm = 0x0000_0005, "deliver_sm";
    DeliverSmResp = 0x8000_0005, "deliver_sm_resp";
    Unbind = 0x0000_0006, "unbind";
    UnbindResp = 0x8000_0006, "unbind_resp";
    ReplaceSm = 0x0000_0007, "replace_sm";
    ReplaceSmResp = 0x8000_0007, "replace_sm_resp";
    CancelSm = 0x0000_0008, "cancel_sm";
    CancelSmResp = 0x8000_0008, "cancel_sm_resp";
    BindTransceiver = 0x0000_0009, "bind_transceiver";
    BindTransceiverResp = 0x8000_0009, "bind_transceiver_resp";
    Outbind = 0x0000_000B, "outbind";
    EnquireLink = 0x0000_0015, "enquire_link";
    EnquireLinkResp = 0x8000_0015, "enquire_link_resp";
    SubmitMulti = 0x0000_0021, "submit_multi";
    SubmitMultiResp = 0x8000_0021, "submit_multi_resp";
    AlertNotification = 0x0000_0102, "alert_notification";
    DataSm = 0x0000_0103, "data_sm";
    DataSmResp = 0x8000_0103, "data_sm_resp";
    BroadcastSm = 0x0000_0111, "broadcast_sm";
    BroadcastSmResp = 0x8000_0111, "broadcast_sm_resp";
    QueryBroadcastSm = 0x0000_0112, "query_broadcast_sm";
    QueryBroadcastSmResp = 0x8000_0112, "query_broadcast_sm_resp";
    CancelBroadcastSm = 0x0000_0113, "cancel_broadcast_sm";
    CancelBroadcastSmResp = 0x8000_0113, "cancel_broadcast_sm_resp";
}

impl CommandId {
    /// Whether this is a response (the high bit is set).
    pub const fn is_response(self) -> bool {
        self.value() & RESPONSE_BIT != 0
    }

    /// The resp that answers this request; `None` for responses and for the
    /// two requests that have no resp (outbind, alert_notification).
    pub const fn response(self) -> Option<CommandId> {
        match self {
            CommandId::Outbind | CommandId::AlertNotification => None,
            other if other.is_response() => None,
            other => CommandId::from_value(other.value() | RESPONSE_BIT),
        }
    }

    /// Whether we know this command but do not implement it (the broadcast_sm
    /// family of SMPP 5.0): answered with generic_nack ESME_RINVCMDID.
    pub const fn is_unsupported(self) -> bool {
        matches!(
            self,
            CommandId::BroadcastSm
                | CommandId::BroadcastSmResp
                | CommandId::QueryBroadcastSm
                | CommandId::QueryBroadcastSmResp
                | CommandId::CancelBroadcastSm
                | CommandId::CancelBroadcastSmResp
        )
    }
}

impl fmt::Display for CommandId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_of_a_request_sets_the_high_bit() {
        assert_eq!(
            CommandId::SubmitSm.response(),
            Some(CommandId::SubmitSmResp)
        );
        assert_eq!(CommandId::DataSm.response(), Some(CommandId::DataSmResp));
        assert_eq!(CommandId::SubmitSmResp.response(), None);
        assert_eq!(CommandId::Outbind.response(), None);
        assert_eq!(CommandId::AlertNotification.response(), None);
    }

    #[test]
    fn wire_values_round_trip() {
        for value in [
            0x8000_0000,
            0x1,
            0x4,
            0x8000_0004,
            0x15,
            0x21,
            0x102,
            0x103,
            0x111,
        ] {
            let id = CommandId::from_value(value).expect("known id");
            assert_eq!(id.value(), value);
        }
        assert_eq!(CommandId::from_value(0x0A), None);
    }
}
