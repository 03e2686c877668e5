//! The smpp connector's settings: the carrier's hosts, how many binds of
//! which kind to keep on each, and the limits and timers of those binds.
//!
//! Every key has its default here, in the `default_*` functions and
//! [`HostConfig`]'s serde defaults, and nowhere else.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::settings::InvalidSetting;

/// bind's system_id field size, NUL included (SMPP 3.4 5.2.1).
const SYSTEM_ID_MAX: usize = 16;
/// bind's password field size, NUL included (SMPP 3.4 5.2.2).
const PASSWORD_MAX: usize = 9;

/// One carrier reached over SMPP. A TOML table:
///
/// ```toml
/// system_id = "acme"
/// password = "secret"
/// system_type = ""              # default empty
/// interface_version = 0x34      # default SMPP 3.4
/// bind_type = "transceiver"     # or "transmitter", "receiver"; per host overridable
/// binds_per_host = 1
/// window = 10                   # unanswered submit_sm per bind
/// tps_per_host = 50             # absent: unlimited
/// enquire_link_interval = "30s"
/// response_timeout = "30s"
/// reconnect_min = "1s"
/// reconnect_max = "60s"
/// session_lifetime = "23h"
/// event_handoff_timeout = "2s"
/// inbound_window = 100          # the carrier's unanswered deliver_sm per bind
/// source_ton = 5                # absent: as the message says
/// source_npi = 0
/// address_range = ""
/// hosts = [
///   { address = "smpp1.example.com:4075" },
///   { address = "smpp2.example.com:4080", tls = true, binds = 2, bind_type = "receiver" },
/// ]
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmppClientConfig {
    /// The account at the carrier (at most 15 characters).
    pub system_id: String,
    /// Its password (at most 8 characters, as SMPP 3.4 allows). Never logged.
    pub password: String,
    /// bind's system_type; most carriers ignore it. Default empty.
    #[serde(default)]
    pub system_type: String,
    /// bind's interface_version. Default 0x34 (SMPP 3.4).
    #[serde(default = "default_interface_version")]
    pub interface_version: u8,
    /// The carrier's servers; at least one.
    pub hosts: Vec<HostConfig>,
    /// The kind of bind on every host that does not say otherwise. Default
    /// transceiver: it both submits and receives receipts and MO.
    #[serde(default)]
    pub bind_type: BindType,
    /// Binds on every host that does not say otherwise. Default 1.
    #[serde(default = "default_binds_per_host")]
    pub binds_per_host: u32,
    /// Unanswered submit_sm per bind; a submit beyond it waits for a slot.
    /// Default 10, the window carriers commonly allow.
    #[serde(default = "default_window")]
    pub window: usize,
    /// submit_sm per second per host, shared by all of that host's binds,
    /// because carriers enforce their throttle per server. Absent:
    /// unlimited. Default absent.
    #[serde(default)]
    pub tps_per_host: Option<u32>,
    /// How long a bind may be idle before we send enquire_link. Default 30 s.
    #[serde(default = "default_thirty_seconds", with = "crate::settings::duration")]
    pub enquire_link_interval: Duration,
    /// How long we wait for the answer to each request (bind, submit_sm,
    /// enquire_link). Default 30 s.
    #[serde(default = "default_thirty_seconds", with = "crate::settings::duration")]
    pub response_timeout: Duration,
    /// The first wait before reconnecting after a lost or refused bind; it
    /// doubles on each failure up to `reconnect_max`, with jitter so that
    /// many binds do not all knock at once. Default 1 s.
    #[serde(default = "default_reconnect_min", with = "crate::settings::duration")]
    pub reconnect_min: Duration,
    /// The longest wait between reconnection attempts. Default 60 s.
    #[serde(default = "default_reconnect_max", with = "crate::settings::duration")]
    pub reconnect_max: Duration,
    /// How long a bind is kept before it is replaced by a fresh one.
    /// Default 23 h: carriers commonly cut sessions at 24 h, and a cut we
    /// did not choose could catch messages in flight; a recycle we choose
    /// opens the new bind first and lets the old one's messages finish.
    #[serde(
        default = "default_session_lifetime",
        with = "crate::settings::duration"
    )]
    pub session_lifetime: Duration,
    /// How long a received receipt or MO may wait for room in the events
    /// channel before it is refused with ESME_RX_T_APPN (so the carrier
    /// sends it again later). Default 2 s.
    #[serde(
        default = "default_event_handoff_timeout",
        with = "crate::settings::duration"
    )]
    pub event_handoff_timeout: Duration,
    /// How many of the carrier's deliver_sm / data_sm (receipts, MO) a bind
    /// holds unanswered while they are being stored; each is answered
    /// ESME_ROK when its store batch commits. At the window the bind stops
    /// reading from the carrier (TCP back-pressure) until an answer frees a
    /// slot: nothing is refused for being fast. Default 100.
    #[serde(default = "default_inbound_window")]
    pub inbound_window: usize,
    /// Replaces the source TON of every message, for carriers that insist on one.
    #[serde(default)]
    pub source_ton: Option<u8>,
    /// Replaces the source NPI of every message.
    #[serde(default)]
    pub source_npi: Option<u8>,
    /// bind's address_range (the MO numbers this bind serves); usually
    /// empty. Default empty.
    #[serde(default)]
    pub address_range: String,
}

/// One server of the carrier.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// `host:port`.
    pub address: String,
    /// Whether to speak TLS (1.2 or 1.3) on this connection. Default false.
    #[serde(default)]
    pub tls: bool,
    /// The name to ask for (SNI) and to check the certificate against.
    /// Default the host part of `address`.
    #[serde(default)]
    pub server_name: Option<String>,
    /// The CA certificates (PEM) to trust for this host. Absent: the
    /// system's roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Binds on this host; absent: `binds_per_host`.
    #[serde(default)]
    pub binds: Option<u32>,
    /// The kind of binds on this host; absent: the connector's `bind_type`.
    #[serde(default)]
    pub bind_type: Option<BindType>,
}

/// What a bind may do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BindType {
    /// Submits only.
    Transmitter,
    /// Receives receipts and MO only.
    Receiver,
    /// Both.
    #[default]
    Transceiver,
}

impl BindType {
    /// Whether submit_sm may go over this bind.
    pub fn can_submit(self) -> bool {
        matches!(self, BindType::Transmitter | BindType::Transceiver)
    }

    /// The word used in configuration and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            BindType::Transmitter => "transmitter",
            BindType::Receiver => "receiver",
            BindType::Transceiver => "transceiver",
        }
    }
}

fn default_interface_version() -> u8 {
    0x34
}

fn default_binds_per_host() -> u32 {
    1
}

fn default_window() -> usize {
    10
}

fn default_thirty_seconds() -> Duration {
    Duration::from_secs(30)
}

fn default_reconnect_min() -> Duration {
    Duration::from_secs(1)
}

fn default_reconnect_max() -> Duration {
    Duration::from_secs(60)
}

fn default_session_lifetime() -> Duration {
    Duration::from_secs(23 * 3600)
}

/// The largest `inbound_window`: each unanswered PDU is held in memory
/// (a few hundred octets), so this bounds a bind's inbound memory.
const MAX_INBOUND_WINDOW: usize = 10_000;

fn default_inbound_window() -> usize {
    100
}

fn default_event_handoff_timeout() -> Duration {
    Duration::from_secs(2)
}

impl SmppClientConfig {
    /// A configuration with every optional key at its default.
    pub fn new(system_id: &str, password: &str, hosts: Vec<HostConfig>) -> SmppClientConfig {
        SmppClientConfig {
            system_id: system_id.to_string(),
            password: password.to_string(),
            system_type: String::new(),
            interface_version: default_interface_version(),
            hosts,
            bind_type: BindType::default(),
            binds_per_host: default_binds_per_host(),
            window: default_window(),
            tps_per_host: None,
            enquire_link_interval: default_thirty_seconds(),
            response_timeout: default_thirty_seconds(),
            reconnect_min: default_reconnect_min(),
            reconnect_max: default_reconnect_max(),
            session_lifetime: default_session_lifetime(),
            event_handoff_timeout: default_event_handoff_timeout(),
            inbound_window: default_inbound_window(),
            source_ton: None,
            source_npi: None,
            address_range: String::new(),
        }
    }

    /// Checks what serde cannot: lengths SMPP allows, non-zero limits,
    /// parseable addresses. `name` is the connector's, for the message.
    pub fn validate(&self, name: &str) -> Result<(), InvalidSetting> {
        let invalid = |what: String| Err(InvalidSetting(format!("connector {name}: {what}")));
        if self.system_id.len() >= SYSTEM_ID_MAX {
            return invalid(format!(
                "system_id is longer than {} characters",
                SYSTEM_ID_MAX - 1
            ));
        }
        if self.password.len() >= PASSWORD_MAX {
            return invalid(format!(
                "password is longer than {} characters",
                PASSWORD_MAX - 1
            ));
        }
        if self.hosts.is_empty() {
            return invalid("hosts is empty: give at least one host:port".into());
        }
        if self.window == 0 {
            return invalid("window must be at least 1".into());
        }
        if !(1..=MAX_INBOUND_WINDOW).contains(&self.inbound_window) {
            return invalid(format!(
                "inbound_window must be between 1 and {MAX_INBOUND_WINDOW}"
            ));
        }
        if self.tps_per_host == Some(0) {
            return invalid("tps_per_host must be at least 1 (leave it out for unlimited)".into());
        }
        if self.reconnect_min.is_zero() || self.reconnect_min > self.reconnect_max {
            return invalid("reconnect_min must be above zero and at most reconnect_max".into());
        }
        if self.session_lifetime.is_zero() || self.response_timeout.is_zero() {
            return invalid("session_lifetime and response_timeout must be above zero".into());
        }
        for text in [
            &self.system_id,
            &self.password,
            &self.system_type,
            &self.address_range,
        ] {
            if text.contains('\0') {
                return invalid(
                    "system_id, password, system_type and address_range may not contain NUL".into(),
                );
            }
        }
        for host in &self.hosts {
            if host_part(&host.address).is_none() {
                return invalid(format!("host address {:?} is not host:port", host.address));
            }
        }
        Ok(())
    }

    /// The binds of each host, as (host index, kind), in host order.
    pub(super) fn binds(&self) -> Vec<(usize, BindType)> {
        self.hosts
            .iter()
            .enumerate()
            .flat_map(|(index, host)| {
                let count = host.binds.unwrap_or(self.binds_per_host);
                let kind = host.bind_type.unwrap_or(self.bind_type);
                (0..count).map(move |_| (index, kind))
            })
            .collect()
    }
}

impl HostConfig {
    /// A plain TCP host with every optional key at its default.
    pub fn plain(address: impl Into<String>) -> HostConfig {
        HostConfig {
            address: address.into(),
            tls: false,
            server_name: None,
            ca_file: None,
            binds: None,
            bind_type: None,
        }
    }
}

/// The host part of `host:port` (brackets of an IPv6 literal removed);
/// `None` if there is no port.
pub(super) fn host_part(address: &str) -> Option<&str> {
    let (host, port) = address.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    (!host.is_empty()).then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_table_gets_every_default() {
        let config: SmppClientConfig = toml::from_str(
            r#"
            system_id = "acme"
            password = "pw"
            hosts = [{ address = "smpp1.example.com:4075" }]
            "#,
        )
        .expect("valid");
        let expected = SmppClientConfig::new(
            "acme",
            "pw",
            vec![HostConfig::plain("smpp1.example.com:4075")],
        );
        assert_eq!(config, expected);
        assert_eq!(config.session_lifetime, Duration::from_secs(23 * 3600));
        config.validate("c").expect("valid");
    }

    #[test]
    fn hosts_override_bind_count_and_kind() {
        let config: SmppClientConfig = toml::from_str(
            r#"
            system_id = "acme"
            password = "pw"
            binds_per_host = 2
            bind_type = "transmitter"
            tps_per_host = 50
            response_timeout = "5s"
            hosts = [
              { address = "a:1" },
              { address = "b:2", tls = true, server_name = "smpp.example.com", binds = 1, bind_type = "receiver" },
            ]
            "#,
        )
        .expect("valid");
        assert_eq!(
            config.binds(),
            vec![
                (0, BindType::Transmitter),
                (0, BindType::Transmitter),
                (1, BindType::Receiver)
            ]
        );
        assert_eq!(config.tps_per_host, Some(50));
        assert_eq!(config.response_timeout, Duration::from_secs(5));
    }

    #[test]
    fn unknown_keys_are_refused() {
        let result: Result<SmppClientConfig, _> = toml::from_str(
            r#"
            system_id = "acme"
            password = "pw"
            hosts = [{ address = "a:1", port = 2 }]
            "#,
        );
        assert!(result.is_err());
    }

    #[test]
    fn impossible_settings_are_refused_with_the_connector_named() {
        let mut config = SmppClientConfig::new("acme", "pw", vec![HostConfig::plain("nohost")]);
        let err = config.validate("carrier").expect_err("no port");
        assert!(err.to_string().contains("carrier"), "{err}");
        config.hosts = vec![HostConfig::plain("a:1")];
        config.password = "much-too-long".into();
        assert!(config.validate("carrier").is_err());
        config.password = "pw".into();
        config.tps_per_host = Some(0);
        assert!(config.validate("carrier").is_err());
    }

    #[test]
    fn host_part_strips_port_and_brackets() {
        assert_eq!(
            host_part("smpp1.example.com:4075"),
            Some("smpp1.example.com")
        );
        assert_eq!(host_part("[::1]:2775"), Some("::1"));
        assert_eq!(host_part("host"), None);
        assert_eq!(host_part("host:x"), None);
    }
}
