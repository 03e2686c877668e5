//! `smsgate.toml`: every setting, each with its default in one place, so
//! `smsgate serve` runs with no file at all. See docs/configuration.md for
//! the annotated example.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::accept::AcceptConfig;
use crate::routing::RouteConfig;

/// The whole configuration.
#[derive(Debug, Clone, Deserialize, Default)]
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
    /// None by default: every message then fails with "no route".
    pub routes: Vec<RouteConfig>,
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
    /// Connections over all listeners; past it, new connections are closed at once.
    pub max_connections: usize,
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
        let config: Config = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            source,
        })?;
        config.validate()?;
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
