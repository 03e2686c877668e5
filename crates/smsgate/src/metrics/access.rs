//! Who may read `/metrics` (`[metrics]`): it names accounts and
//! connectors and shows the traffic, so by default it answers loopback and
//! the private ranges only (where a Prometheus server lives), and anyone
//! else that sends the configured bearer token.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tracing::warn;

use crate::accounts::canonical_ip;
use crate::ingress::http_api::problem::Problem;

/// `[metrics]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Networks `/metrics` answers (CIDR or single addresses). Default:
    /// loopback, the private ranges (10/8, 172.16/12, 192.168/16,
    /// fc00::/7) and link-local. Empty: only requests with the token.
    #[serde(deserialize_with = "crate::settings::ip_ranges")]
    pub allowed_ips: Vec<IpNet>,
    /// A bearer token (`Authorization: Bearer TOKEN`) that lets any
    /// address read `/metrics`. Default none.
    pub token: Option<String>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            allowed_ips: [
                "127.0.0.0/8",
                "::1/128",
                "10.0.0.0/8",
                "172.16.0.0/12",
                "192.168.0.0/16",
                "fc00::/7",
                "169.254.0.0/16",
                "fe80::/10",
            ]
            .iter()
            .filter_map(|net| net.parse().ok())
            .collect(),
            token: None,
        }
    }
}

impl MetricsConfig {
    fn allows(&self, ip: Option<IpAddr>, bearer: Option<&str>) -> bool {
        if let (Some(token), Some(given)) = (&self.token, bearer) {
            // Compared as digests, so the comparison takes as long whatever matches.
            if Sha256::digest(token.as_bytes()) == Sha256::digest(given.as_bytes()) {
                return true;
            }
        }
        ip.map(canonical_ip)
            .is_some_and(|ip| self.allowed_ips.iter().any(|net| net.contains(&ip)))
    }
}

/// `router` (the `/metrics` route) answering only what `config` allows.
pub fn gated(router: Router, config: &MetricsConfig) -> Router {
    router.layer(middleware::from_fn_with_state(
        Arc::new(config.clone()),
        refuse_others,
    ))
}

async fn refuse_others(
    State(config): State<Arc<MetricsConfig>>,
    request: Request,
    next: Next,
) -> Response {
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim);
    if config.allows(ip, bearer) {
        return next.run(request).await;
    }
    warn!(
        ?ip,
        "metrics: refused an address outside [metrics] allowed_ips without the token"
    );
    Problem::new(
        StatusCode::FORBIDDEN,
        "address_not_allowed",
        "/metrics does not answer this address ([metrics] allowed_ips, or its token)",
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_default_loopback_and_private_ranges_read_metrics_and_public_addresses_do_not() {
        let config = MetricsConfig::default();
        for allowed in [
            "127.0.0.1",
            "::1",
            "10.1.2.3",
            "192.168.0.9",
            "::ffff:172.20.0.1",
        ] {
            assert!(config.allows(allowed.parse().ok(), None), "{allowed}");
        }
        for refused in ["203.0.113.7", "2001:db8::1", "8.8.8.8"] {
            assert!(!config.allows(refused.parse().ok(), None), "{refused}");
        }
        assert!(!config.allows(None, None));
    }

    #[test]
    fn the_token_lets_any_address_in_and_a_wrong_one_does_not() {
        let config = MetricsConfig {
            allowed_ips: Vec::new(),
            token: Some("s3cret".into()),
        };
        let public = "203.0.113.7".parse().ok();
        assert!(config.allows(public, Some("s3cret")));
        assert!(!config.allows(public, Some("guess")));
        assert!(!config.allows(public, None));
    }
}
