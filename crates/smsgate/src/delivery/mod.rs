//! Delivery: receipts and MO messages leave smsgate here, towards the
//! customer they belong to (DESIGN.md, "one path per job").
//!
//! The building blocks, each usable on its own:
//! - [`mo_routes`]: which target an inbound message goes to: an SMPP
//!   account, a named webhook or a named Asterisk spool (`[[mo_routes]]`,
//!   then the accounts' address ranges).
//! - [`webhook`]: one signed HTTP POST of an MO message or a status event
//!   to a customer's endpoint (`[webhooks.NAME]`), and the backoff schedule
//!   between attempts.
//! - [`callback_targets`]: which addresses a customer's callback URL may
//!   reach (no loopback, private or other internal ranges unless
//!   `[http] callback_allow` says so), checked again at each connection.
//! - [`asterisk`]: one MO message written as an Asterisk call file into a
//!   PBX's spool (`[asterisk.NAME]`), the way the WebSMS bridge does it.
//!
//! Each block makes one attempt and reports how it went. None of them
//! touches the store or keeps state between attempts: the durable queue of
//! pending deliveries, the retries and the message states belong to the
//! caller, so a crash loses nothing that was acknowledged.
//!
//! In smsgate.toml:
//!
//! ```toml
//! [[mo_routes]]                 # first match wins, in file order
//! destination_prefix = "31699"
//! keyword = "stop"
//! webhook = "crm"
//!
//! [webhooks.crm]
//! url = "https://crm.example.com/sms/inbound"
//! secret = "a long random string"
//!
//! [asterisk.pbx]
//! channel_context = "dp_entry_channel_open"
//! context = "dp_entry_trunk_texting"
//! ```

pub mod asterisk;
pub mod callback_targets;
pub mod mo_routes;
pub mod webhook;

/// Lowercase hexadecimal, two digits per octet.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}
