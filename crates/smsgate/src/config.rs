//! `smsgate.toml`: every setting, each with its default in one place, so
//! `smsgate serve` runs with no file at all. See docs/smsgate.example.toml
//! for the annotated example.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::accept::AcceptConfig;
use crate::connectors::sim::{Delay, SimConfig};
use crate::connectors::smpp_client::SmppClientConfig;
use crate::routing::{DEFAULT_ORDER, RouteConfig, Strategy};

/// The whole configuration.
///
/// Without a file, and in a file that declares neither `[connectors.*]` nor
/// `[[routes]]`, the demo pair applies: the built-in simulator connector
/// `sim` and a default route to it, so accepted messages are delivered (to
/// nobody) and receipts come back. A file that declares either one gets no
/// demo part at all.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// This node.
    pub node: NodeConfig,
    /// The SMPP server customers bind to.
    pub smpp: SmppConfig,
    /// Bind security: brute-force blocking and password checks.
    pub security: SecurityConfig,
    /// Message acceptance limits (the node name is filled in at start).
    pub accept: AcceptConfig,
    /// MT routes (`[[routes]]`), in declaration order; see docs/routing.md.
    /// By default the one route `default` to the `sim` connector.
    pub routes: Vec<RouteConfig>,
    /// The links to providers (`[connectors.NAME]`), by name; routes name
    /// them. By default the one connector `sim`, the built-in simulator.
    pub connectors: BTreeMap<String, ConnectorConfig>,
    /// How accepted messages are sent: concurrency, polling, retries.
    pub dispatch: DispatchConfig,
    /// How receipts and MO reach SMPP customers: maximum age, retries.
    pub delivery: crate::delivery::outbox::CourierConfig,
    /// The HTTP listener (provider webhooks).
    pub http: crate::ingress::http::HttpConfig,
    /// MO routes (`[[mo_routes]]`), tried in order before the accounts'
    /// address ranges.
    pub mo_routes: Vec<crate::delivery::mo_routes::MoRouteConfig>,
    /// Customers' webhooks (`[webhooks.NAME]`) that MO routes can name.
    pub webhooks: BTreeMap<String, crate::delivery::webhook::WebhookConfig>,
    /// Asterisk call-file spools (`[asterisk.NAME]`) that MO routes can name.
    pub asterisk: BTreeMap<String, crate::delivery::asterisk::AsteriskSpoolConfig>,
    /// How MO messages are put together.
    pub mo: crate::tracking::mo::MoConfig,
    /// Who may reach the operator console and the admin API.
    pub admin: crate::ingress::admin_api::AdminConfig,
    /// What the store keeps: retention.
    pub store: crate::store::retention::StoreConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            node: NodeConfig::default(),
            smpp: SmppConfig::default(),
            security: SecurityConfig::default(),
            accept: AcceptConfig::default(),
            routes: vec![demo_route()],
            connectors: BTreeMap::from([(DEMO_CONNECTOR.to_string(), demo_connector())]),
            dispatch: DispatchConfig::default(),
            delivery: crate::delivery::outbox::CourierConfig::default(),
            http: crate::ingress::http::HttpConfig::default(),
            mo_routes: Vec::new(),
            webhooks: BTreeMap::new(),
            asterisk: BTreeMap::new(),
            mo: crate::tracking::mo::MoConfig::default(),
            admin: crate::ingress::admin_api::AdminConfig::default(),
            store: crate::store::retention::StoreConfig::default(),
        }
    }
}

/// The demo connector's name.
const DEMO_CONNECTOR: &str = "sim";

/// The simulator of the demo: quick answers, every message delivered half
/// a second later.
fn demo_connector() -> ConnectorConfig {
    ConnectorConfig::new(ConnectorKind::Sim(SimConfig {
        latency: Delay::fixed(Duration::from_millis(5)),
        receipt_delay: Delay::fixed(Duration::from_millis(500)),
        ..SimConfig::default()
    }))
}

/// The demo's catch-all route to the simulator.
fn demo_route() -> RouteConfig {
    RouteConfig {
        name: "default".to_string(),
        order: DEFAULT_ORDER,
        prefix: Vec::new(),
        destination_regex: None,
        source: None,
        source_regex: None,
        account: Vec::new(),
        group: Vec::new(),
        tag: Vec::new(),
        text_regex: None,
        data_coding: Vec::new(),
        time: None,
        connectors: vec![DEMO_CONNECTOR.to_string()],
        strategy: Strategy::default(),
        weights: None,
        price_tables: BTreeMap::new(),
        sender: None,
        source_ton: None,
        source_npi: None,
        validity_cap: None,
    }
}

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
    #[serde(with = "duration")]
    pub poll_interval: Duration,
    /// The waits before each retry on the same connector after a transient
    /// failure (throttled, system error, no answer); when they are used up,
    /// the message fails over to the next connector. Default 1 s, 5 s, 30 s.
    #[serde(with = "durations")]
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

/// Identity of this node in traces and logs.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct NodeConfig {
    /// The node's name; defaults to the host name.
    pub name: Option<String>,
}

/// The SMPP listeners and session limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmppConfig {
    /// Whether the plaintext listener runs. Production deployments usually
    /// keep only TLS (credentials and texts cross the internet).
    pub plaintext: bool,
    /// Plaintext addresses (IPv4 and IPv6).
    pub listen: Vec<SocketAddr>,
    /// Whether the TLS listener runs.
    pub tls: bool,
    /// TLS addresses.
    pub tls_listen: Vec<SocketAddr>,
    /// PEM certificate chain; with `tls_key`. If neither is set, a
    /// self-signed certificate is generated under the data directory on
    /// first start.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key.
    pub tls_key: Option<PathBuf>,
    /// Connections over all listeners. Past it, the oldest connection that
    /// has not sent a bind is closed to make room; with none, the new
    /// connection is closed at once.
    pub max_connections: usize,
    /// Connections that have not bound yet (TLS handshake, waiting for a
    /// bind), over all addresses. Past it, the oldest one that has not sent
    /// a bind is closed to make room, so idle or hostile connections can
    /// never keep a customer from binding.
    pub max_unbound: usize,
    /// Connections that have not bound yet from one address (an IPv6 /64).
    /// Past it, that address's oldest one that has not sent a bind is
    /// closed to make room.
    pub max_unbound_per_ip: usize,
    /// A connection must bind within this time.
    #[serde(with = "duration")]
    pub bind_timeout: Duration,
    /// A session that sends nothing (not even enquire_link) for this long is closed.
    #[serde(with = "duration")]
    pub inactivity_timeout: Duration,
    /// A session is unbound and closed after this long, whatever it does.
    #[serde(with = "duration")]
    pub session_lifetime: Duration,
    /// Our own requests (deliver_sm, enquire_link) time out after this.
    #[serde(with = "duration")]
    pub response_timeout: Duration,
    /// We send enquire_link after this much silence.
    #[serde(with = "duration")]
    pub enquire_link_interval: Duration,
    /// On shutdown, how long to wait for sessions to unbind and in-flight
    /// messages to be stored.
    #[serde(with = "duration")]
    pub shutdown_timeout: Duration,
    /// Largest PDU accepted, in octets.
    pub max_pdu_len: u32,
    /// Longest system_id and password accepted in a bind, in octets (SMPP
    /// 3.4 says 15 and 8, many clients send more).
    pub max_credential_len: usize,
}

impl Default for SmppConfig {
    fn default() -> Self {
        SmppConfig {
            plaintext: true,
            listen: vec![
                SocketAddr::from(([0, 0, 0, 0], 2775)),
                SocketAddr::from(([0u16; 8], 2775)),
            ],
            tls: true,
            tls_listen: vec![
                SocketAddr::from(([0, 0, 0, 0], 2776)),
                SocketAddr::from(([0u16; 8], 2776)),
            ],
            tls_cert: None,
            tls_key: None,
            max_connections: 1000,
            max_unbound: 200,
            max_unbound_per_ip: 50,
            bind_timeout: Duration::from_secs(30),
            inactivity_timeout: Duration::from_secs(90),
            session_lifetime: Duration::from_secs(24 * 3600),
            response_timeout: Duration::from_secs(30),
            enquire_link_interval: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(10),
            max_pdu_len: 64 * 1024,
            max_credential_len: 64,
        }
    }
}

/// Bind security.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecurityConfig {
    /// Failed binds from one IP address that trigger a block.
    pub max_failed_binds: u32,
    /// The window in which those failures are counted.
    #[serde(with = "duration")]
    pub failed_bind_window: Duration,
    /// How long a blocked address gets ESME_RBINDFAIL without its
    /// credentials being checked.
    #[serde(with = "duration")]
    pub block_duration: Duration,
    /// Password checks (argon2id, ~30 ms of CPU each) running at once; the
    /// rest wait their turn, so a bind storm cannot starve bound sessions.
    pub password_check_concurrency: usize,
    /// How long a successful password check is remembered, sparing
    /// reconnecting clients the cost. Zero disables the cache.
    #[serde(with = "duration")]
    pub password_cache_ttl: Duration,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        SecurityConfig {
            max_failed_binds: 5,
            failed_bind_window: Duration::from_secs(600),
            block_duration: Duration::from_secs(900),
            password_check_concurrency: 2,
            password_cache_ttl: Duration::from_secs(300),
        }
    }
}

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this configuration.
    #[error("invalid configuration in {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong and where.
        source: toml::de::Error,
    },
    /// The values contradict each other.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Reads a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let config = Config::parse(&text).map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            source,
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads a configuration from TOML text, without [`Config::validate`].
    /// The demo connector and route apply only to a file that declares
    /// neither connectors nor routes (see [`Config`]).
    pub fn parse(text: &str) -> Result<Config, toml::de::Error> {
        let mut config: Config = toml::from_str(text)?;
        let table: toml::Table = toml::from_str(text)?;
        let (connectors, routes) = (
            table.contains_key("connectors"),
            table.contains_key("routes"),
        );
        if connectors && !routes {
            config.routes.clear();
        }
        if routes && !connectors {
            config.connectors.clear();
        }
        Ok(config)
    }

    /// Checks the values that serde cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let smpp = &self.smpp;
        if smpp.tls_cert.is_some() != smpp.tls_key.is_some() {
            return Err(ConfigError::Invalid(
                "smpp.tls_cert and smpp.tls_key must be set together".into(),
            ));
        }
        if smpp.max_unbound == 0 || smpp.max_unbound_per_ip == 0 {
            return Err(ConfigError::Invalid(
                "smpp.max_unbound and smpp.max_unbound_per_ip must be at least 1".into(),
            ));
        }
        if smpp.max_connections == 0 {
            return Err(ConfigError::Invalid(
                "smpp.max_connections must be at least 1".into(),
            ));
        }
        if smpp.max_pdu_len < 16 {
            return Err(ConfigError::Invalid(
                "smpp.max_pdu_len must be at least 16".into(),
            ));
        }
        if self.security.password_check_concurrency == 0 {
            return Err(ConfigError::Invalid(
                "security.password_check_concurrency must be at least 1".into(),
            ));
        }
        crate::routing::check_routes(&self.routes)
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        if self.dispatch.concurrency == 0 || self.dispatch.poll_interval.is_zero() {
            return Err(ConfigError::Invalid(
                "dispatch.concurrency and dispatch.poll_interval must be above zero".into(),
            ));
        }
        if !(1..=1_000_000).contains(&self.dispatch.queue) {
            return Err(ConfigError::Invalid(
                "dispatch.queue must be between 1 and 1,000,000".into(),
            ));
        }
        Ok(())
    }

    /// Checks that every route names only declared connectors. Not part of
    /// [`Config::validate`]: `smsgate route test` explains routes of a file
    /// whose connectors live elsewhere; a node, which sends, needs it.
    pub fn check_route_connectors(&self) -> Result<(), ConfigError> {
        crate::delivery::mo_routes::check_targets(&self.mo_routes, &self.webhooks, &self.asterisk)?;
        for route in &self.routes {
            if let Some(missing) = route
                .connectors
                .iter()
                .find(|name| !self.connectors.contains_key(*name))
            {
                return Err(ConfigError::Invalid(format!(
                    "route {} names connector {missing}, which is not declared: \
                     add a [connectors.{missing}] table",
                    route.name
                )));
            }
        }
        Ok(())
    }

    /// The node name: configured, or the host name, or `local`.
    pub fn node_name(&self) -> String {
        if let Some(name) = &self.node.name {
            return name.clone();
        }
        std::fs::read_to_string("/etc/hostname")
            .ok()
            .map(|name| name.trim().to_string())
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| "local".to_string())
    }
}

/// serde: durations written as `30s`, `10m`, `24h`, `1h 30m`.
pub(crate) mod duration {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text)
            .map_err(|e| serde::de::Error::custom(format!("invalid duration {text:?}: {e}")))
    }
}

/// serde: a list of durations, each written as [`duration`] is.
pub(crate) mod durations {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Duration>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|text| {
                humantime::parse_duration(text).map_err(|e| {
                    serde::de::Error::custom(format!("invalid duration {text:?}: {e}"))
                })
            })
            .collect()
    }
}

/// serde: an optional duration, written as [`duration`] is; use with
/// `#[serde(default, with = "crate::config::option_duration")]`.
pub(crate) mod option_duration {
    use serde::Deserializer;
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        super::duration::deserialize(d).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_the_defaults() {
        let config: Config = toml::from_str("").expect("empty is valid");
        assert_eq!(config.smpp.listen.len(), 2);
        assert_eq!(config.smpp.bind_timeout, Duration::from_secs(30));
        assert_eq!(config.security.max_failed_binds, 5);
    }

    #[test]
    fn durations_are_written_for_people() {
        let config: Config =
            toml::from_str("[smpp]\nbind_timeout = \"5s\"\nsession_lifetime = \"1h 30m\"\n")
                .expect("valid");
        assert_eq!(config.smpp.bind_timeout, Duration::from_secs(5));
        assert_eq!(config.smpp.session_lifetime, Duration::from_secs(5400));
    }

    #[test]
    fn the_documented_example_is_valid_and_matches_the_defaults() {
        let example = include_str!("../../../docs/smsgate.example.toml");
        let config: Config = toml::from_str(example).expect("docs/smsgate.example.toml parses");
        config.validate().expect("and validates");
        let defaults = Config::default();
        assert_eq!(format!("{:?}", config.smpp), format!("{:?}", defaults.smpp));
        assert_eq!(
            format!("{:?}", config.security),
            format!("{:?}", defaults.security)
        );
        assert_eq!(
            format!("{:?}", config.accept),
            format!("{:?}", defaults.accept)
        );
        assert_eq!(config.dispatch, defaults.dispatch);
        assert_eq!(config.connectors, defaults.connectors);
        assert_eq!(
            format!("{:?}", config.routes),
            format!("{:?}", defaults.routes)
        );
        assert_eq!(config.delivery, defaults.delivery);
        assert_eq!(config.http, defaults.http);
        assert_eq!(config.mo, defaults.mo);
        assert_eq!(config.store, defaults.store);
        assert!(config.mo_routes.is_empty(), "mo_routes are examples only");
        assert!(config.webhooks.is_empty(), "webhooks are examples only");
        assert!(
            config.asterisk.is_empty(),
            "asterisk spools are examples only"
        );
    }

    #[test]
    fn no_connectors_and_no_routes_give_the_demo_simulator_and_route() {
        let config = Config::parse("[smpp]\nplaintext = true\n").expect("valid");
        config
            .check_route_connectors()
            .expect("the demo is consistent");
        assert!(matches!(
            config.connectors.get("sim").map(|c| &c.kind),
            Some(ConnectorKind::Sim(_))
        ));
        assert_eq!(config.routes[0].connectors, vec!["sim".to_string()]);
    }

    #[test]
    fn declaring_routes_drops_the_demo_connector() {
        let config =
            Config::parse("[[routes]]\nname = \"r\"\nconnectors = \"carrier\"\n").expect("valid");
        assert!(config.connectors.is_empty());
        assert!(config.check_route_connectors().is_err());
    }

    #[test]
    fn declaring_connectors_drops_the_demo_route() {
        let text = "[connectors.carrier]\nkind = \"smpp\"\nsystem_id = \"acme\"\n\
                    password = \"pw\"\nhosts = [{ address = \"127.0.0.1:2775\" }]\n\
                    window = 20\n";
        let config = Config::parse(text).expect("valid");
        assert!(config.routes.is_empty());
        let Some(ConnectorKind::Smpp(carrier)) = config.connectors.get("carrier").map(|c| &c.kind)
        else {
            panic!("an smpp connector: {:?}", config.connectors);
        };
        assert_eq!(carrier.window, 20);
    }

    #[test]
    fn a_sim_connector_takes_the_simulator_keys() {
        let text = "[connectors.s]\nkind = \"sim\"\nlatency = \"20ms\"\naccept_ratio = 0.5\n\
                    reject_status = 0x58\n[[routes]]\nname = \"r\"\nconnectors = \"s\"\n";
        let config = Config::parse(text).expect("valid");
        let Some(ConnectorKind::Sim(sim)) = config.connectors.get("s").map(|c| &c.kind) else {
            panic!("a sim connector: {:?}", config.connectors);
        };
        assert_eq!(sim.accept_ratio, 0.5);
        assert_eq!(sim.latency, Delay::fixed(Duration::from_millis(20)));
    }

    #[test]
    fn retry_delays_are_written_for_people() {
        let config =
            Config::parse("[dispatch]\nretry_delays = [\"50ms\", \"2s\"]\n").expect("valid");
        assert_eq!(
            config.dispatch.retry_delays,
            vec![Duration::from_millis(50), Duration::from_secs(2)]
        );
    }

    #[test]
    fn a_connector_of_unknown_kind_is_refused() {
        assert!(Config::parse("[connectors.x]\nkind = \"carrier-pigeon\"\n").is_err());
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<Config>("[smpp]\nlisten_port = 1\n").is_err());
    }

    #[test]
    fn certificate_without_key_is_refused() {
        let config: Config = toml::from_str("[smpp]\ntls_cert = \"cert.pem\"\n").expect("parses");
        assert!(config.validate().is_err());
    }
}
