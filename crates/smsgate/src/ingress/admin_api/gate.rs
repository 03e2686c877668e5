//! `[admin]`: which client addresses may reach the operator console and
//! the admin API at all, before any password is asked, and how the
//! console's cookie is marked. Customers share the `[http]` listener, so an
//! operator who cannot put the console on a private network can at least
//! keep it from answering the internet.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;
use serde::Deserialize;
use tracing::warn;

use crate::accounts::canonical_ip;
use crate::ingress::http_api::problem::Problem;

/// `[admin]` in smsgate.toml.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// Networks the console and the admin API answer (e.g.
    /// `["127.0.0.1/32", "::1/128", "10.0.0.0/8"]`); anything else gets
    /// 403 `address_not_allowed`. Empty (the default) allows any address.
    pub allowed_ips: Vec<IpNet>,
    /// Marks the console's session cookie `Secure`, so browsers send it
    /// over HTTPS only: set it when an HTTPS proxy fronts the listener.
    pub secure_cookie: bool,
}

impl AdminConfig {
    /// Whether a request from `ip` (`None`: unknown) may reach the admin side.
    pub fn allows(&self, ip: Option<IpAddr>) -> bool {
        if self.allowed_ips.is_empty() {
            return true;
        }
        ip.map(canonical_ip)
            .is_some_and(|ip| self.allowed_ips.iter().any(|net| net.contains(&ip)))
    }
}

/// `router` answering only the addresses `[admin] allowed_ips` allows.
pub fn gated(router: Router, config: &AdminConfig) -> Router {
    if config.allowed_ips.is_empty() {
        return router;
    }
    router.layer(middleware::from_fn_with_state(
        Arc::new(config.clone()),
        refuse_others,
    ))
}

async fn refuse_others(
    State(config): State<Arc<AdminConfig>>,
    request: Request,
    next: Next,
) -> Response {
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    if config.allows(ip) {
        return next.run(request).await;
    }
    warn!(?ip, path = %request.uri().path(), "admin: refused an address outside [admin] allowed_ips");
    Problem::new(
        StatusCode::FORBIDDEN,
        "address_not_allowed",
        "the console and the admin API do not answer this address ([admin] allowed_ips)",
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(nets: &[&str]) -> AdminConfig {
        AdminConfig {
            allowed_ips: nets.iter().map(|n| n.parse().expect("a network")).collect(),
            secure_cookie: false,
        }
    }

    #[test]
    fn no_list_allows_every_address() {
        assert!(config(&[]).allows(Some("203.0.113.9".parse().expect("ip"))));
        assert!(config(&[]).allows(None));
    }

    #[test]
    fn a_list_allows_its_networks_only_and_reads_v4_mapped_v6_as_v4() {
        let config = config(&["127.0.0.1/32", "10.0.0.0/8", "::1/128"]);
        for allowed in ["127.0.0.1", "10.20.30.40", "::1", "::ffff:10.1.2.3"] {
            assert!(
                config.allows(Some(allowed.parse().expect("ip"))),
                "{allowed}"
            );
        }
        for refused in ["203.0.113.9", "2001:db8::1", "::ffff:192.0.2.1"] {
            assert!(
                !config.allows(Some(refused.parse().expect("ip"))),
                "{refused}"
            );
        }
        assert!(
            !config.allows(None),
            "an unknown address is not on the list"
        );
    }
}
