//! The gateway's HTTP listener (`[http]`): the customer API (`/api/v1`,
//! see [`crate::ingress::http_api`]), the endpoints providers call (MO and
//! receipt webhooks of `[connectors.NAME.webhooks]`), `/metrics` (see
//! [`crate::metrics`]), `/healthz` (the process answers) and `/readyz`
//! (it can take traffic).
//!
//! It always runs, the API being the default customer interface, unless
//! `[http] listen` is empty.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use ipnet::IpNet;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::connectors::Inbound;
use crate::dispatch::ConnectorConfig;
use crate::ingress::provider_webhooks;
use crate::settings::InvalidSetting;
use crate::store::Store;

/// How long `/readyz` waits for the store before it calls the node not ready.
const READY_STORE_WAIT: Duration = Duration::from_secs(2);

/// `[http]`: where the HTTP listener listens, and where the customer
/// API's callbacks may go.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Addresses to listen on. Default 0.0.0.0:8080 and [::]:8080; empty
    /// turns the HTTP listener (and with it the customer API) off.
    pub listen: Vec<SocketAddr>,
    /// Address ranges (CIDR, or one address) that customers' callback URLs
    /// may reach although they are internal: loopback, private, link-local
    /// and the other ranges callbacks are refused by default, and the
    /// node's own listen addresses (see
    /// [`crate::delivery::callback_targets`]). For an operator's receiver
    /// on the internal network, e.g. `["10.1.2.0/24"]`; everything it does
    /// not list stays refused. Default empty: callbacks reach public
    /// addresses only.
    #[serde(deserialize_with = "crate::settings::ip_ranges")]
    pub callback_allow: Vec<IpNet>,
    /// Connections open at once over all addresses; past it a new one is
    /// closed at once. Default 10,000.
    pub max_connections: usize,
    /// Connections open at once from one address (IPv6: one /64); past it
    /// a new one from there is closed at once. Default 100.
    pub max_connections_per_ip: usize,
    /// How long a request's headers may take to arrive, and a keep-alive
    /// connection may stay idle, before the connection is closed. Default 10 s.
    #[serde(with = "crate::settings::duration")]
    pub header_read_timeout: Duration,
    /// The largest request headers, in octets (431 past it). Default 16 KiB.
    pub max_header_bytes: usize,
    /// How long a request may take to be answered: 503 `request_timeout`
    /// past it. Default 30 s.
    #[serde(with = "crate::settings::duration")]
    pub request_timeout: Duration,
}

impl HttpConfig {
    /// Checks the values that serde cannot.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        if self.max_connections == 0 || self.max_connections_per_ip == 0 {
            return Err(InvalidSetting(
                "http.max_connections and http.max_connections_per_ip must be at least 1".into(),
            ));
        }
        if self.header_read_timeout.is_zero() || self.request_timeout.is_zero() {
            return Err(InvalidSetting(
                "http.header_read_timeout and http.request_timeout must be above zero".into(),
            ));
        }
        if !(8192..=1024 * 1024).contains(&self.max_header_bytes) {
            return Err(InvalidSetting(
                "http.max_header_bytes must be between 8192 and 1048576".into(),
            ));
        }
        Ok(())
    }

    fn limits(&self) -> crate::ingress::http_serve::Limits {
        crate::ingress::http_serve::Limits {
            max_connections: self.max_connections,
            max_connections_per_ip: self.max_connections_per_ip,
            header_read_timeout: self.header_read_timeout,
            max_header_bytes: self.max_header_bytes,
            request_timeout: self.request_timeout,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: vec![
                SocketAddr::from(([0, 0, 0, 0], 8080)),
                SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 8080)),
            ],
            callback_allow: Vec::new(),
            max_connections: 10_000,
            max_connections_per_ip: 100,
            header_read_timeout: Duration::from_secs(10),
            max_header_bytes: 16 * 1024,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// The running listener.
pub struct HttpServer {
    addrs: Vec<SocketAddr>,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

/// The routes of every connector's webhooks, checked not to clash.
pub fn webhook_routes(
    connectors: &BTreeMap<String, ConnectorConfig>,
    events: &mpsc::Sender<Inbound>,
) -> Result<Option<Router>, InvalidSetting> {
    let mut router: Option<Router> = None;
    let mut paths: BTreeMap<String, String> = BTreeMap::new();
    for (name, connector) in connectors {
        let Some(webhooks) = &connector.webhooks else {
            continue;
        };
        let own = webhooks.paths(name);
        for path in [own.mo, own.receipt] {
            if let Some(other) = paths.insert(path.clone(), name.clone()) {
                return Err(InvalidSetting(format!(
                    "connectors {other} and {name} both use the webhook path {path}"
                )));
            }
        }
        let routes = provider_webhooks::router(name, webhooks, events.clone())?;
        router = Some(match router {
            Some(merged) => merged.merge(routes),
            None => routes,
        });
    }
    Ok(router)
}

/// What `/readyz` checks.
#[derive(Clone)]
struct Readiness {
    store: Arc<dyn Store>,
    stopping: CancellationToken,
}

/// `GET /readyz`: 200 when the store answers a read and the node is not
/// shutting down (`stopping` cancelled), 503 otherwise, so a load balancer
/// stops sending traffic before the listeners close.
pub fn readiness(store: Arc<dyn Store>, stopping: CancellationToken) -> Router {
    Router::new()
        .route("/readyz", get(ready))
        .with_state(Readiness { store, stopping })
}

async fn ready(State(readiness): State<Readiness>) -> (StatusCode, &'static str) {
    if readiness.stopping.is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n");
    }
    // A primary-key lookup of an id no message has: the cheapest real read.
    match tokio::time::timeout(READY_STORE_WAIT, readiness.store.message("")).await {
        Ok(Ok(_)) => (StatusCode::OK, "ready\n"),
        Ok(Err(error)) => {
            warn!(%error, "http: /readyz: the store failed a read");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n")
        }
        Err(_) => {
            warn!("http: /readyz: the store did not answer in {READY_STORE_WAIT:?}");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n")
        }
    }
}

impl HttpServer {
    /// Listens on every configured address and serves `routes` plus
    /// `/healthz`. An IPv6 address on a host without IPv6 is skipped with a
    /// warning; any other address that cannot be bound is an error.
    pub async fn start(config: &HttpConfig, routes: Router) -> std::io::Result<HttpServer> {
        let app = routes.route("/healthz", get(|| async { "ok\n" }));
        let stop = CancellationToken::new();
        let mut addrs = Vec::new();
        let mut tasks = Vec::new();
        let connections = Arc::new(crate::ingress::http_serve::Connections::default());
        let limits = config.limits();
        for addr in &config.listen {
            let listener = match bind(*addr) {
                Ok(listener) => listener,
                Err(error) if addr.is_ipv6() && addr.ip().is_unspecified() => {
                    warn!(%addr, %error, "http: cannot listen on IPv6; skipped");
                    continue;
                }
                Err(error) => return Err(error),
            };
            let local = listener.local_addr()?;
            info!(addr = %local, "http: listening");
            addrs.push(local);
            tasks.push(tokio::spawn(crate::ingress::http_serve::serve(
                listener,
                app.clone(),
                limits,
                Arc::clone(&connections),
                stop.clone(),
            )));
        }
        Ok(HttpServer { addrs, stop, tasks })
    }

    /// The addresses it listens on.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Stops listening and lets requests in progress finish.
    pub async fn shutdown(self) {
        self.stop.cancel();
        for task in self.tasks {
            // The listener itself gives its connections 5 s to finish.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(6), task).await;
        }
    }
}

/// A listening socket; IPv6 ones are v6-only so 0.0.0.0 and [::] can share a port.
fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let domain = socket2::Domain::for_address(addr);
    let socket = socket2::Socket::new(domain, socket2::Type::STREAM, Some(socket2::Protocol::TCP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    TcpListener::from_std(socket.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;

    #[test]
    fn callback_allow_takes_cidr_ranges_and_single_addresses() {
        let config: HttpConfig =
            toml::from_str("callback_allow = [\"127.0.0.0/8\", \"10.1.2.3\", \"fd00::/8\"]")
                .expect("valid");
        let expected: Vec<IpNet> = ["127.0.0.0/8", "10.1.2.3/32", "fd00::/8"]
            .iter()
            .map(|net| net.parse().expect("net"))
            .collect();
        assert_eq!(config.callback_allow, expected);
        assert!(HttpConfig::default().callback_allow.is_empty());
    }

    #[test]
    fn a_bad_callback_allow_entry_is_refused_by_name() {
        let error =
            toml::from_str::<HttpConfig>("callback_allow = [\"10.0.0.0/8\", \"10.0.0.300/8\"]")
                .expect_err("refused")
                .to_string();
        assert!(error.contains("callback_allow"), "{error}");
        assert!(error.contains("\"10.0.0.300/8\""), "{error}");
    }

    fn readiness_of(dir: &std::path::Path, stopping: &CancellationToken) -> Readiness {
        let store = SqliteStore::open(&dir.join("smsgate.db")).expect("store opens");
        Readiness {
            store: Arc::new(store),
            stopping: stopping.clone(),
        }
    }

    #[tokio::test]
    async fn readyz_is_ok_while_the_store_answers_and_unavailable_once_stopping() {
        let dir = tempfile::tempdir().expect("tempdir");
        let stopping = CancellationToken::new();
        let readiness = readiness_of(dir.path(), &stopping);
        assert_eq!(
            ready(State(readiness.clone())).await,
            (StatusCode::OK, "ready\n")
        );
        stopping.cancel();
        assert_eq!(
            ready(State(readiness)).await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}
