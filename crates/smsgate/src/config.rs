//! `smsgate.toml`: every setting, each with its default in one place, so
//! `smsgate serve` runs with no file at all. See docs/smsgate.example.toml
//! for the annotated example.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::accept::AcceptConfig;
use crate::connectors::sim::{Delay, SimConfig};
pub use crate::dispatch::{ConnectorConfig, ConnectorKind, DispatchConfig};
pub use crate::ingress::smpp_server::{SecurityConfig, SmppConfig};
use crate::routing::{DEFAULT_ORDER, RouteConfig, Strategy};
use crate::settings::InvalidSetting;

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
    /// The demo account once real connectors are declared.
    pub demo: DemoConfig,
    /// Who may read `/metrics`.
    pub metrics: crate::metrics::access::MetricsConfig,
}

/// `[demo]`: the `demo` account and its simulator are for trying smsgate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DemoConfig {
    /// Keep the `demo` account enabled (and create it on a first start)
    /// although the configuration declares real connectors. Default false:
    /// once one is declared, `serve` disables a remaining `demo` account,
    /// with a log line saying so.
    pub keep: bool,
}

impl Config {
    /// Whether a connector other than the built-in simulator is declared:
    /// the node talks to real providers, and the demo account is not for it.
    pub fn has_real_connectors(&self) -> bool {
        self.connectors
            .values()
            .any(|connector| !matches!(connector.kind, ConnectorKind::Sim(_)))
    }
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
            demo: DemoConfig::default(),
            metrics: crate::metrics::access::MetricsConfig::default(),
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

/// Identity of this node in traces and logs.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct NodeConfig {
    /// The node's name; defaults to the host name.
    pub name: Option<String>,
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

impl From<InvalidSetting> for ConfigError {
    fn from(InvalidSetting(reason): InvalidSetting) -> ConfigError {
        ConfigError::Invalid(reason)
    }
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
        self.smpp.validate()?;
        self.security.validate()?;
        crate::routing::check_routes(&self.routes)
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        self.dispatch.validate()?;
        self.http.validate()?;
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
        assert_eq!(config.demo, defaults.demo);
        assert_eq!(config.metrics, defaults.metrics);
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
