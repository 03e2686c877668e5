//! The SMPP server's settings: its listeners and session limits
//! (`[smpp]`), and bind security (`[security]`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;

use crate::settings::InvalidSetting;

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
    #[serde(with = "crate::settings::duration")]
    pub bind_timeout: Duration,
    /// A session that sends nothing (not even enquire_link) for this long is closed.
    #[serde(with = "crate::settings::duration")]
    pub inactivity_timeout: Duration,
    /// A session is unbound and closed after this long, whatever it does.
    #[serde(with = "crate::settings::duration")]
    pub session_lifetime: Duration,
    /// Our own requests (deliver_sm, enquire_link) time out after this.
    #[serde(with = "crate::settings::duration")]
    pub response_timeout: Duration,
    /// We send enquire_link after this much silence.
    #[serde(with = "crate::settings::duration")]
    pub enquire_link_interval: Duration,
    /// On shutdown, how long to wait for sessions to unbind and in-flight
    /// messages to be stored.
    #[serde(with = "crate::settings::duration")]
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
    #[serde(with = "crate::settings::duration")]
    pub failed_bind_window: Duration,
    /// How long a blocked address gets ESME_RBINDFAIL without its
    /// credentials being checked.
    #[serde(with = "crate::settings::duration")]
    pub block_duration: Duration,
    /// Password checks (argon2id, ~30 ms of CPU each) running at once; the
    /// rest wait their turn, so a bind storm cannot starve bound sessions.
    pub password_check_concurrency: usize,
    /// How long a successful password check is remembered, sparing
    /// reconnecting clients the cost. Zero disables the cache.
    #[serde(with = "crate::settings::duration")]
    pub password_cache_ttl: Duration,
    /// Networks whose failed logins are never counted nor blocked (CIDR or
    /// single addresses), on any surface. Default none.
    #[serde(deserialize_with = "crate::settings::ip_ranges")]
    pub trusted_ips: Vec<IpNet>,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        SecurityConfig {
            max_failed_binds: 5,
            failed_bind_window: Duration::from_secs(600),
            block_duration: Duration::from_secs(900),
            password_check_concurrency: 2,
            password_cache_ttl: Duration::from_secs(300),
            trusted_ips: Vec::new(),
        }
    }
}

impl SmppConfig {
    /// Checks the values that serde cannot.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(InvalidSetting(
                "smpp.tls_cert and smpp.tls_key must be set together".into(),
            ));
        }
        if self.max_unbound == 0 || self.max_unbound_per_ip == 0 {
            return Err(InvalidSetting(
                "smpp.max_unbound and smpp.max_unbound_per_ip must be at least 1".into(),
            ));
        }
        if self.max_connections == 0 {
            return Err(InvalidSetting(
                "smpp.max_connections must be at least 1".into(),
            ));
        }
        if self.max_pdu_len < 16 {
            return Err(InvalidSetting(
                "smpp.max_pdu_len must be at least 16".into(),
            ));
        }
        Ok(())
    }
}

impl SecurityConfig {
    /// Checks the values that serde cannot.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        if self.password_check_concurrency == 0 {
            return Err(InvalidSetting(
                "security.password_check_concurrency must be at least 1".into(),
            ));
        }
        Ok(())
    }
}
