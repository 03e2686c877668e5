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
    #[serde(deserialize_with = "ip_ranges")]
    pub callback_allow: Vec<IpNet>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: vec![
                SocketAddr::from(([0, 0, 0, 0], 8080)),
                SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 8080)),
            ],
            callback_allow: Vec::new(),
        }
    }
}

/// serde: address ranges written as CIDR or as one address; an entry that
/// is neither is refused by name (with the file's line and column).
fn ip_ranges<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<IpNet>, D::Error> {
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|text| {
            crate::accounts::fields::parse_ip_range(text.trim())
                .map_err(|why| serde::de::Error::custom(format!("callback_allow: {why}")))
        })
        .collect()
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
            let app = app.clone();
            let stop = stop.clone();
            tasks.push(tokio::spawn(async move {
                let served = axum::serve(
                    listener,
                    app.into_make_service_with_connect_info::<SocketAddr>(),
                )
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await;
                if let Err(error) = served {
                    warn!(%error, "http: the listener failed");
                }
            }));
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
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), task).await;
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
