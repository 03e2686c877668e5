//! Where customers come in (the SMPP server and the HTTP API) and where
//! providers call back (their webhooks, on the same HTTP listener).

pub mod admin_api;
pub mod console;
pub mod http;
pub mod http_api;
pub mod provider_webhooks;
pub mod smpp_server;
