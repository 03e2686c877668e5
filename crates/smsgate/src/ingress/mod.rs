//! Where customers come in: the SMPP server (and, later, the HTTP API).

pub mod http;
pub mod provider_webhooks;
pub mod smpp_server;
