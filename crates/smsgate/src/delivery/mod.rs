//! Delivery: receipts and MO messages leave smsgate here, towards the
//! customer they belong to (DESIGN.md, "one path per job"). A receipt
//! walks connectors -> tracking -> delivery; so does an MO.
//!
//! What is waiting to go is in the store's outbox, written in the same
//! transaction as the state change or the MO it reports, so nothing is
//! lost between "the message was delivered" and "the customer was told":
//! - [`outbox`]: the outbox items, and the deliver_sm receipt an SMPP
//!   customer gets for a final state (as its `registered_delivery` asks).
//! - [`courier`]: sends receipts and MO on the account's receiver and
//!   transceiver sessions bound to this node, oldest first, up to each
//!   session's deliver window, and keeps what it cannot send yet until a
//!   session binds (up to a maximum age).
//! - [`webhook_courier`]: posts status callbacks (HTTP API messages) and
//!   MO webhooks, in order per message, bounded per target and in all.
//!
//! The building blocks they use, each making one attempt and reporting
//! how it went (the retries and the durable queue are the couriers'):
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
pub mod courier;
pub mod mo_routes;
pub mod outbox;
pub mod webhook;
pub mod webhook_courier;

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
