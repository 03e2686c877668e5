//! `command_status`: the result code every response PDU carries.
//!
//! A newtype over `u32` rather than an enum, because carriers answer with
//! vendor-specific codes (0x400..=0x4FF and others) that we must carry through
//! unchanged; the named constants cover every code of SMPP 3.4 and the
//! additions of 5.0.

use std::fmt;

/// An SMPP `command_status` value.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct CommandStatus(pub u32);

macro_rules! statuses {
    ($( $(#[$doc:meta])* $name:ident = $value:expr, $desc:expr; )*) => {
        impl CommandStatus {
            $( $(#[$doc])* #[doc = $desc] pub const $name: CommandStatus = CommandStatus($value); )*

            /// Every status code named by SMPP 3.4 and 5.0, in numeric order.
            pub const ALL: &'static [CommandStatus] = &[$(CommandStatus::$name),*];

            /// The spec's name (`ESME_RINVDSTADR`), or `None` for a code the spec does not name.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $value => Some(stringify!($name)), )*
                    _ => None,
                }
            }

            /// The spec's one-line description, or a note on which range the code falls in.
            pub fn description(self) -> &'static str {
                match self.0 {
                    $( $value => $desc, )*
                    0x400..=0x4FF => "Vendor specific error",
                    _ => "Reserved",
                }
            }
        }
    };
}

statuses! {
    ESME_ROK = 0x0000_0000, "No Error";
    ESME_RINVMSGLEN = 0x0000_0001, "Message Length is invalid";
    ESME_RINVCMDLEN = 0x0000_0002, "Command Length is invalid";
    ESME_RINVCMDID = 0x0000_0003, "Invalid Command ID";
    ESME_RINVBNDSTS = 0x0000_0004, "Incorrect BIND Status for given command";
    ESME_RALYBND = 0x0000_0005, "ESME Already in Bound State";
    ESME_RINVPRTFLG = 0x0000_0006, "Invalid Priority Flag";
    ESME_RINVREGDLVFLG = 0x0000_0007, "Invalid Registered Delivery Flag";
    ESME_RSYSERR = 0x0000_0008, "System Error";
    ESME_RINVSRCADR = 0x0000_000A, "Invalid Source Address";
    ESME_RINVDSTADR = 0x0000_000B, "Invalid Dest Addr";
    ESME_RINVMSGID = 0x0000_000C, "Message ID is invalid";
    ESME_RBINDFAIL = 0x0000_000D, "Bind Failed";
    ESME_RINVPASWD = 0x0000_000E, "Invalid Password";
    ESME_RINVSYSID = 0x0000_000F, "Invalid System ID";
    ESME_RCANCELFAIL = 0x0000_0011, "Cancel SM Failed";
    ESME_RREPLACEFAIL = 0x0000_0013, "Replace SM Failed";
    ESME_RMSGQFUL = 0x0000_0014, "Message Queue Full";
    ESME_RINVSERTYP = 0x0000_0015, "Invalid Service Type";
    ESME_RINVNUMDESTS = 0x0000_0033, "Invalid number of destinations";
    ESME_RINVDLNAME = 0x0000_0034, "Invalid Distribution List name";
    ESME_RINVDESTFLAG = 0x0000_0040, "Destination flag is invalid (submit_multi)";
    ESME_RINVSUBREP = 0x0000_0042, "Invalid 'submit with replace' request (replace_if_present_flag set)";
    ESME_RINVESMCLASS = 0x0000_0043, "Invalid esm_class field data";
    ESME_RCNTSUBDL = 0x0000_0044, "Cannot Submit to Distribution List";
    ESME_RSUBMITFAIL = 0x0000_0045, "submit_sm or submit_multi failed";
    ESME_RINVSRCTON = 0x0000_0048, "Invalid Source address TON";
    ESME_RINVSRCNPI = 0x0000_0049, "Invalid Source address NPI";
    ESME_RINVDSTTON = 0x0000_0050, "Invalid Destination address TON";
    ESME_RINVDSTNPI = 0x0000_0051, "Invalid Destination address NPI";
    ESME_RINVSYSTYP = 0x0000_0053, "Invalid system_type field";
    ESME_RINVREPFLAG = 0x0000_0054, "Invalid replace_if_present flag";
    ESME_RINVNUMMSGS = 0x0000_0055, "Invalid number of messages";
    ESME_RTHROTTLED = 0x0000_0058, "Throttling error (ESME has exceeded allowed message limits)";
    ESME_RINVSCHED = 0x0000_0061, "Invalid Scheduled Delivery Time";
    ESME_RINVEXPIRY = 0x0000_0062, "Invalid message validity period (Expiry time)";
    ESME_RINVDFTMSGID = 0x0000_0063, "Predefined Message Invalid or Not Found";
    ESME_RX_T_APPN = 0x0000_0064, "ESME Receiver Temporary App Error Code";
    ESME_RX_P_APPN = 0x0000_0065, "ESME Receiver Permanent App Error Code";
    ESME_RX_R_APPN = 0x0000_0066, "ESME Receiver Reject Message Error Code";
    ESME_RQUERYFAIL = 0x0000_0067, "query_sm request failed";
    ESME_RINVOPTPARSTREAM = 0x0000_00C0, "Error in the optional part of the PDU Body";
    ESME_ROPTPARNOTALLWD = 0x0000_00C1, "Optional Parameter not allowed";
    ESME_RINVPARLEN = 0x0000_00C2, "Invalid Parameter Length";
    ESME_RMISSINGOPTPARAM = 0x0000_00C3, "Expected Optional Parameter missing";
    ESME_RINVOPTPARAMVAL = 0x0000_00C4, "Invalid Optional Parameter Value";
    ESME_RDELIVERYFAILURE = 0x0000_00FE, "Delivery Failure (used for data_sm_resp)";
    ESME_RUNKNOWNERR = 0x0000_00FF, "Unknown Error";
    ESME_RSERTYPUNAUTH = 0x0000_0100, "ESME Not authorised to use specified service_type (SMPP 5.0)";
    ESME_RPROHIBITED = 0x0000_0101, "ESME Prohibited from using specified operation (SMPP 5.0)";
    ESME_RSERTYPUNAVAIL = 0x0000_0102, "Specified service_type is unavailable (SMPP 5.0)";
    ESME_RSERTYPDENIED = 0x0000_0103, "Specified service_type is denied (SMPP 5.0)";
    ESME_RINVDCS = 0x0000_0104, "Invalid Data Coding Scheme (SMPP 5.0)";
    ESME_RINVSRCADDRSUBUNIT = 0x0000_0105, "Source Address Sub unit is Invalid (SMPP 5.0)";
    ESME_RINVDSTADDRSUBUNIT = 0x0000_0106, "Destination Address Sub unit is Invalid (SMPP 5.0)";
    ESME_RINVBCASTFREQINT = 0x0000_0107, "Broadcast Frequency Interval is invalid (SMPP 5.0)";
    ESME_RINVBCASTALIAS_NAME = 0x0000_0108, "Broadcast Alias Name is invalid (SMPP 5.0)";
    ESME_RINVBCASTAREAFMT = 0x0000_0109, "Broadcast Area Format is invalid (SMPP 5.0)";
    ESME_RINVNUMBCAST_AREAS = 0x0000_010A, "Number of Broadcast Areas is invalid (SMPP 5.0)";
    ESME_RINVBCASTCNTTYPE = 0x0000_010B, "Broadcast Content Type is invalid (SMPP 5.0)";
    ESME_RINVBCASTMSGCLASS = 0x0000_010C, "Broadcast Message Class is invalid (SMPP 5.0)";
    ESME_RBCASTFAIL = 0x0000_010D, "broadcast_sm operation failed (SMPP 5.0)";
    ESME_RBCASTQUERYFAIL = 0x0000_010E, "query_broadcast_sm operation failed (SMPP 5.0)";
    ESME_RBCASTCANCELFAIL = 0x0000_010F, "cancel_broadcast_sm operation failed (SMPP 5.0)";
    ESME_RINVBCAST_REP = 0x0000_0110, "Number of Repeated Broadcasts is invalid (SMPP 5.0)";
    ESME_RINVBCASTSRVGRP = 0x0000_0111, "Broadcast Service Group is invalid (SMPP 5.0)";
    ESME_RINVBCASTCHANIND = 0x0000_0112, "Broadcast Channel Indicator is invalid (SMPP 5.0)";
}

impl CommandStatus {
    /// SMPP 5.0's name for ESME_RINVOPTPARSTREAM.
    pub const ESME_RINVTLVSTREAM: CommandStatus = CommandStatus::ESME_RINVOPTPARSTREAM;
    /// SMPP 5.0's name for ESME_ROPTPARNOTALLWD.
    pub const ESME_RTLVNOTALLWD: CommandStatus = CommandStatus::ESME_ROPTPARNOTALLWD;
    /// SMPP 5.0's name for ESME_RINVPARLEN.
    pub const ESME_RINVTLVLEN: CommandStatus = CommandStatus::ESME_RINVPARLEN;
    /// SMPP 5.0's name for ESME_RMISSINGOPTPARAM.
    pub const ESME_RMISSINGTLV: CommandStatus = CommandStatus::ESME_RMISSINGOPTPARAM;
    /// SMPP 5.0's name for ESME_RINVOPTPARAMVAL.
    pub const ESME_RINVTLVVAL: CommandStatus = CommandStatus::ESME_RINVOPTPARAMVAL;

    /// The status the spec (3.4 or 5.0) calls `name`, ignoring case
    /// (`ESME_RSUBMITFAIL`, `esme_rthrottled`); `None` for any other word.
    pub fn from_name(name: &str) -> Option<CommandStatus> {
        let aliases = [
            ("ESME_RINVTLVSTREAM", CommandStatus::ESME_RINVTLVSTREAM),
            ("ESME_RTLVNOTALLWD", CommandStatus::ESME_RTLVNOTALLWD),
            ("ESME_RINVTLVLEN", CommandStatus::ESME_RINVTLVLEN),
            ("ESME_RMISSINGTLV", CommandStatus::ESME_RMISSINGTLV),
            ("ESME_RINVTLVVAL", CommandStatus::ESME_RINVTLVVAL),
        ];
        CommandStatus::ALL
            .iter()
            .filter_map(|status| status.name().map(|known| (known, *status)))
            .chain(aliases)
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|(_, status)| status)
    }

    /// `true` for ESME_ROK.
    pub fn is_ok(self) -> bool {
        self == CommandStatus::ESME_ROK
    }

    /// Whether a submit answered with this status may succeed if tried again
    /// later or elsewhere (throttling, queue full, system error, temporary
    /// application error), as opposed to a verdict on the message itself.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            CommandStatus::ESME_RTHROTTLED
                | CommandStatus::ESME_RMSGQFUL
                | CommandStatus::ESME_RSYSERR
                | CommandStatus::ESME_RX_T_APPN
                | CommandStatus::ESME_RUNKNOWNERR
        )
    }
}

impl fmt::Debug for CommandStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name}"),
            None => write!(f, "CommandStatus({:#010x})", self.0),
        }
    }
}

impl fmt::Display for CommandStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} ({:#04x}): {}", self.0, self.description()),
            None => write!(f, "{:#010x}: {}", self.0, self.description()),
        }
    }
}

impl From<u32> for CommandStatus {
    fn from(value: u32) -> Self {
        CommandStatus(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_codes_have_the_spec_values() {
        assert_eq!(CommandStatus::ESME_RINVDSTADR.0, 0x0B);
        assert_eq!(CommandStatus::ESME_RTHROTTLED.0, 0x58);
        assert_eq!(CommandStatus::ESME_RSUBMITFAIL.0, 0x45);
        assert_eq!(CommandStatus::ESME_RINVDCS.0, 0x104);
    }

    #[test]
    fn names_are_read_back_ignoring_case_including_the_5_0_aliases() {
        assert_eq!(
            CommandStatus::from_name("esme_rsubmitfail"),
            Some(CommandStatus::ESME_RSUBMITFAIL)
        );
        assert_eq!(
            CommandStatus::from_name("ESME_RINVTLVLEN"),
            Some(CommandStatus::ESME_RINVPARLEN)
        );
        assert_eq!(CommandStatus::from_name("ESME_NOPE"), None);
        for status in CommandStatus::ALL {
            let name = status.name().unwrap_or_default();
            assert_eq!(CommandStatus::from_name(name), Some(*status), "{name}");
        }
    }

    #[test]
    fn every_named_code_has_a_unique_value_and_a_name() {
        let mut seen = std::collections::HashSet::new();
        for status in CommandStatus::ALL {
            assert!(seen.insert(status.0), "duplicate {status:?}");
            assert!(status.name().is_some());
        }
        assert_eq!(CommandStatus::ALL.len(), 67);
    }

    #[test]
    fn display_names_the_code_and_describes_it() {
        assert_eq!(
            CommandStatus::ESME_RINVDSTADR.to_string(),
            "ESME_RINVDSTADR (0x0b): Invalid Dest Addr"
        );
        assert_eq!(
            CommandStatus(0x401).to_string(),
            "0x00000401: Vendor specific error"
        );
        assert_eq!(CommandStatus(0x401).name(), None);
    }
}
