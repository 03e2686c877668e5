//! Dispatch's settings: how accepted messages are sent (`[dispatch]`), and
//! the connectors they are sent through (`[connectors.NAME]`).

use std::time::Duration;

use serde::Deserialize;

use crate::connectors::sim::SimConfig;
use crate::connectors::smpp_client::SmppClientConfig;
use crate::settings::InvalidSetting;

/// One connector (`[connectors.NAME]`): the keys every kind has, and
/// `kind` with that kind's own keys.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ConnectorConfig {
    /// The provider's submit answer is already the final outcome (as an OTP
    /// provider whose ESME_ROK means "delivered"): success ends the message
    /// `delivered` at once, with its DELIVRD receipt, without waiting for
    /// one from the provider. Default false.
    #[serde(default)]
    pub synchronous: bool,
    /// How the provider takes long messages: `udh` (a concatenation UDH in
    /// each segment), `sar` (the sar_* TLVs) or `payload` (whole, in
    /// message_payload). Default: `payload` for `kind = "http"` (one
    /// request with the whole text), `udh` for the others. See docs/connectors.md.
    #[serde(default)]
    pub long_messages: Option<crate::dispatch::LongMessages>,
    /// Which provider answers fail over, are retried, or are final, where
    /// they differ from the defaults (`[connectors.NAME.outcomes]`, see
    /// [`crate::dispatch::OutcomesConfig`]).
    #[serde(default)]
    pub outcomes: crate::dispatch::OutcomesConfig,
    /// The HTTP endpoints this provider calls with MO messages and receipt
    /// callbacks (`[connectors.NAME.webhooks]`), served on the `[http]`
    /// listener; absent: none.
    #[serde(default)]
    pub webhooks: Option<crate::ingress::provider_webhooks::ProviderWebhookConfig>,
    /// The kind and its keys.
    #[serde(flatten)]
    pub kind: ConnectorKind,
}

impl ConnectorConfig {
    /// A connector of `kind` with the common keys at their defaults.
    pub fn new(kind: ConnectorKind) -> ConnectorConfig {
        ConnectorConfig {
            synchronous: false,
            long_messages: None,
            outcomes: crate::dispatch::OutcomesConfig::default(),
            webhooks: None,
            kind,
        }
    }
}

/// A connector's kind: `kind` says which, the other keys are that kind's.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ConnectorKind {
    /// Our SMPP client to a carrier; the keys of [`SmppClientConfig`].
    Smpp(SmppClientConfig),
    /// The built-in simulator: a [`crate::connectors::sim::SimServer`] on
    /// 127.0.0.1 (a free port) with the keys of [`SimConfig`], and an smpp
    /// connector bound to it, so messages travel real SMPP both ways.
    Sim(SimConfig),
    /// A provider's HTTP API; the keys of
    /// [`crate::connectors::http::HttpConnectorConfig`].
    Http(crate::connectors::http::HttpConnectorConfig),
}

/// How dispatch sends accepted messages.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DispatchConfig {
    /// Messages being submitted at once, over all connectors: bounds the
    /// tasks and memory a backlog can take. Default 1024.
    pub concurrency: usize,
    /// Accepted messages waiting in memory for a submit slot. Accept hands
    /// each message to this queue right after its commit; when it is full,
    /// messages wait in the store instead and are read back as slots free
    /// (oldest first), so a backlog never grows memory. Default 20,000.
    pub queue: usize,
    /// How often the store is asked for due messages when nothing woke the
    /// dispatcher sooner (a retry coming due, a scheduled message). Default 100 ms.
    #[serde(with = "crate::settings::duration")]
    pub poll_interval: Duration,
    /// The waits before each retry on the same connector after a transient
    /// failure (throttled, system error, no answer); when they are used up,
    /// the message fails over to the next connector. Default 1 s, 5 s, 30 s.
    #[serde(with = "crate::settings::durations")]
    pub retry_delays: Vec<Duration>,
    /// Whether a message that ends `failed` or `rejected` (no provider ever
    /// took it) gives its credits back to the account. Default true.
    pub refund_on_failure: bool,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        DispatchConfig {
            concurrency: 1024,
            queue: 20_000,
            poll_interval: Duration::from_millis(100),
            retry_delays: vec![
                Duration::from_secs(1),
                Duration::from_secs(5),
                Duration::from_secs(30),
            ],
            refund_on_failure: true,
        }
    }
}

impl DispatchConfig {
    /// Checks the values that serde cannot.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        if self.concurrency == 0 || self.poll_interval.is_zero() {
            return Err(InvalidSetting(
                "dispatch.concurrency and dispatch.poll_interval must be above zero".into(),
            ));
        }
        if !(1..=1_000_000).contains(&self.queue) {
            return Err(InvalidSetting(
                "dispatch.queue must be between 1 and 1,000,000".into(),
            ));
        }
        Ok(())
    }
}
