//! Connectors link smsgate to providers: each one carries messages to a
//! provider (over SMPP, HTTP, ...) and brings back its responses, receipts
//! and MO messages. The built-in simulator ([`sim`]) plays the provider's
//! part, for the demo configuration, tests and benchmarks.

pub mod sim;
