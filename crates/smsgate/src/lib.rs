//! smsgate: an SMS center. Customers submit over SMPP or HTTP; smsgate
//! accepts, stores, routes and delivers their messages through connectors to
//! providers, and brings receipts and inbound messages back.
//!
//! The modules follow a message through the pipeline; see DESIGN.md.

pub mod accept;
pub mod accounts;
pub mod cli;
pub mod clock;
pub mod config;
pub mod connectors;
pub mod delivery;
pub mod dispatch;
pub mod ingress;
pub mod metrics;
pub mod node;
pub mod pdu_trace;
pub mod routing;
pub mod settings;
pub mod store;
pub mod timefmt;
pub mod tls_roots;
pub mod trace_switch;
pub mod tracking;
