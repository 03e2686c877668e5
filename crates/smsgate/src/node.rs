//! One running smsgate: the store, the acceptance stage, the SMPP server
//! and the HTTP listener (customer API, provider webhooks), dispatch with
//! its connectors, and tracking wired together. `smsgate serve` runs a node; the integration
//! tests start nodes in-process with their own clock.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use crate::accept::{AcceptConfig, Acceptor, NumberTableError};
use crate::accounts::ip_guard::{self, GuardLimits, Guards};
use crate::accounts::verifier::PasswordVerifier;
use crate::clock::Clock;
use crate::config::{Config, ConfigError};
use crate::delivery::asterisk::AsteriskSpool;
use crate::delivery::callback_targets::CallbackTargets;
use crate::delivery::courier::Courier;
use crate::delivery::webhook::Webhook;
use crate::delivery::webhook_courier::WebhookCourier;
use crate::dispatch::{Connectors, DispatchControl, Dispatcher};
use crate::ingress::admin_api::{self, AdminContext};
use crate::ingress::http::{HttpServer, readiness, webhook_routes};
use crate::ingress::http_api::{self, ApiContext};
use crate::ingress::smpp_server::{ServerContext, SessionRegistry, SmppServer, StartError};
use crate::metrics::{self, Metrics};
use crate::routing::{RouteError, RouteTable};
use crate::settings::InvalidSetting;
use crate::store::sqlite::SqliteStore;
use crate::store::{Store, StoreError};
use crate::trace_switch::TraceSwitches;
use crate::tracking::mo::MoRouter;

/// Receipts and MO waiting for tracking; past it, connectors wait (their
/// binds stop reading once their inbound window is full, and a webhook
/// answers 503 after its handoff timeout, so the provider sends again later).
const INBOUND_QUEUE: usize = 4096;

/// How long shutdown waits for tracking to apply the receipts already received.
const TRACKING_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The phone number tables could not be built.
    #[error("cannot build the phone number tables: {0}")]
    Numbers(#[from] NumberTableError),
    /// The SMPP server could not start.
    #[error(transparent)]
    Smpp(#[from] StartError),
    /// The configuration is inconsistent, or a connector could not start.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The routes could not be compiled.
    #[error(transparent)]
    Routes(#[from] RouteError),
}

impl From<InvalidSetting> for NodeError {
    fn from(invalid: InvalidSetting) -> NodeError {
        NodeError::Config(invalid.into())
    }
}

/// A running node.
pub struct Node {
    /// The SMPP server.
    pub smpp: SmppServer,
    /// The store.
    pub store: Arc<dyn Store>,
    dispatcher: Dispatcher,
    tracking: JoinHandle<()>,
    courier: Courier,
    webhook_courier: WebhookCourier,
    /// The HTTP listener (customer API and provider webhooks); `None` when
    /// `[http] listen` is empty.
    pub http: Option<HttpServer>,
    /// The configuration in force, to tell what a reload changes.
    config: Config,
    /// Cancelled when shutdown begins: `/readyz` answers 503 from then on.
    stopping: CancellationToken,
    /// Which accounts and connectors have their traffic logged; refreshed
    /// from the store by `trace_refresher` until shutdown begins.
    pub trace: TraceSwitches,
    trace_refresher: JoinHandle<()>,
    /// Keeps the blocked addresses in step with the store until shutdown begins.
    block_sync: JoinHandle<()>,
    /// Deletes messages older than `[store] retention` until shutdown begins.
    retention: JoinHandle<()>,
}

/// The store file inside a data directory.
pub fn database_path(data_dir: &Path) -> PathBuf {
    data_dir.join("smsgate.db")
}

/// Where customers' callback URLs may point under `config`: `[http]
/// callback_allow`, and never (unless allowed) an address the node
/// listens on for HTTP or SMPP.
pub fn callback_targets(config: &Config) -> CallbackTargets {
    let listen = config
        .http
        .listen
        .iter()
        .chain(&config.smpp.listen)
        .chain(&config.smpp.tls_listen)
        .map(|addr| addr.ip());
    CallbackTargets::new(config.http.callback_allow.clone(), listen)
}

impl Node {
    /// Opens the store under `data_dir`, builds the acceptance stage,
    /// starts the connectors, dispatch and tracking, then the listeners.
    /// Paths in the configuration (price tables) are relative to
    /// `config_dir`, the configuration file's directory (`None`: the
    /// working directory).
    pub async fn start(
        config: &Config,
        config_dir: Option<&Path>,
        data_dir: &Path,
        clock: Arc<dyn Clock>,
    ) -> Result<Node, NodeError> {
        config.validate()?;
        config.check_route_connectors()?;
        crate::ingress::check_ports(listen_addresses(config))?;
        warn_of_an_open_console(config);
        let routes = RouteTable::from_config(&config.routes, config_dir.unwrap_or(Path::new(".")))?;
        let node_name = config.node_name();
        let path = database_path(data_dir);
        let store: Arc<dyn Store> = {
            let node_name = node_name.clone();
            let path = path.clone();
            let opened =
                tokio::task::spawn_blocking(move || SqliteStore::open_with_node(&path, node_name))
                    .await
                    .map_err(|e| StoreError::Backend(format!("store open task failed: {e}")))??;
            Arc::new(opened)
        };
        info!(path = %path.display(), node = %node_name, "store open");
        let started_at = std::time::SystemTime::now();
        let security = &config.security;
        let verifier = Arc::new(
            PasswordVerifier::new(
                security.password_check_concurrency,
                security.password_cache_ttl,
                clock.clone(),
            )
            .map_err(|e| StoreError::Backend(format!("cannot start the password threads: {e}")))?,
        );
        admin_api::bootstrap::ensure_admin_user(store.as_ref(), &verifier, data_dir).await?;
        let accept_config = AcceptConfig {
            node: node_name.clone(),
            ..config.accept.clone()
        };
        let acceptor = {
            let store = store.clone();
            tokio::task::spawn_blocking(move || Acceptor::new(store, accept_config))
                .await
                .map_err(|e| StoreError::Backend(format!("acceptor start task failed: {e}")))??
        };
        let metrics = Arc::new(Metrics::new());
        let (dispatch_queue, queue_receiver) =
            crate::dispatch::queue::queue(&node_name, config.dispatch.queue);
        let acceptor = Arc::new(
            acceptor
                .with_metrics(Arc::clone(&metrics))
                .with_dispatch(dispatch_queue),
        );
        let stored = acceptor.stored_signal();
        let guards = Guards::new(
            GuardLimits {
                max_failures: security.max_failed_binds,
                window: security.failed_bind_window,
                block: security.block_duration,
            },
            &security.trusted_ips,
            &clock,
        );
        // Blocks stored before a restart hold at once.
        ip_guard::sync_once(&guards.all(), store.as_ref(), &node_name).await;
        let (events, inbound) = mpsc::channel(INBOUND_QUEUE);
        let trace = TraceSwitches::new();
        if let Err(error) = trace.refresh(store.as_ref()).await {
            warn!(%error, "cannot read the trace switches yet");
        }
        let connectors = Connectors::start(&config.connectors, &events, &trace)?;
        let callback_targets = Arc::new(callback_targets(config));
        let api_keys = Arc::new(http_api::KeyCache::default());
        let mut http_routes = http_api::router(ApiContext {
            store: store.clone(),
            acceptor: acceptor.clone(),
            verifier: verifier.clone(),
            guard: Arc::clone(&guards.api),
            callback_targets: Arc::clone(&callback_targets),
            keys: Arc::clone(&api_keys),
        });
        if let Some(webhooks) = webhook_routes(&config.connectors, &events)? {
            http_routes = http_routes.merge(webhooks);
        }
        drop(events);
        let mut spools = std::collections::BTreeMap::new();
        for (name, spool) in &config.asterisk {
            spools.insert(name.clone(), AsteriskSpool::new(name, spool.clone())?);
        }
        let mut webhooks = std::collections::BTreeMap::new();
        for (name, webhook) in &config.webhooks {
            webhooks.insert(name.clone(), Webhook::new(name, webhook.clone())?);
        }
        let mo = MoRouter::new(
            store.clone(),
            config.mo_routes.clone(),
            spools,
            config.mo.clone(),
        )
        .await?;
        match mo.resume_stored_parts().await {
            Ok(0) => {}
            Ok(parts) => info!(
                parts,
                "mo: parts of long messages stored before the last stop wait on"
            ),
            Err(error) => warn!(%error, "mo: the stored parts of long messages could not be read"),
        }
        let callback_key =
            crate::delivery::webhook_courier::callback_key(data_dir).map_err(|e| {
                StoreError::Backend(format!("the callback key in {}: {e}", data_dir.display()))
            })?;
        let webhook_courier = WebhookCourier::start(
            store.clone(),
            webhooks,
            callback_key,
            Arc::clone(&callback_targets),
            node_name.clone(),
            config.delivery.poll_interval,
        );
        let registry = Arc::new(SessionRegistry::new());
        let tracking = tokio::spawn(crate::tracking::track(
            store.clone(),
            inbound,
            mo,
            Some(Arc::clone(&metrics)),
            registry.bound_signal(),
        ));
        let dispatcher = Dispatcher::start(
            store.clone(),
            routes,
            connectors,
            config.dispatch.clone(),
            node_name.clone(),
            queue_receiver,
            stored,
            Some(Arc::clone(&metrics)),
        )
        .await?;
        let courier = Courier::start(
            store.clone(),
            Arc::clone(&registry),
            config.delivery.clone(),
            node_name.clone(),
            registry.bound_signal(),
        )
        .await;
        let stopping = CancellationToken::new();
        tokio::spawn(metrics::log_traffic(
            Arc::clone(&metrics),
            metrics::TRAFFIC_LOG_INTERVAL,
            stopping.clone(),
        ));
        let retention = tokio::spawn(crate::store::retention::run(
            store.clone(),
            config.store.retention,
            Some(Arc::clone(&metrics)),
            stopping.clone(),
        ));
        let http = if config.http.listen.is_empty() {
            None
        } else {
            let http_routes = http_routes
                .merge(admin_api::router(AdminContext {
                    node: node_name.clone(),
                    started_at,
                    stopping: stopping.clone(),
                    store: store.clone(),
                    acceptor: acceptor.clone(),
                    registry: Arc::clone(&registry),
                    dispatch: dispatcher.control(),
                    metrics: Arc::clone(&metrics),
                    verifier: verifier.clone(),
                    guards: guards.clone(),
                    trace: trace.clone(),
                    config: config.admin.clone(),
                    callback_targets,
                    api_keys,
                }))
                .merge(metrics::access::gated(
                    metrics::routes(metrics::Sources {
                        metrics,
                        sessions: Arc::clone(&registry),
                        connectors: Arc::new(dispatcher.health_probe()),
                        store: store.clone(),
                    }),
                    &config.metrics,
                ))
                .merge(readiness(store.clone(), stopping.clone()))
                .merge(admin_api::gated(
                    crate::ingress::console::routes(),
                    &config.admin,
                ));
            Some(
                HttpServer::start(&config.http, http_routes)
                    .await
                    .map_err(|e| ConfigError::Invalid(format!("[http] listen: {e}")))?,
            )
        };
        let context = ServerContext {
            config: config.smpp.clone(),
            security: security.clone(),
            store: store.clone(),
            acceptor,
            verifier,
            guard: Arc::clone(&guards.smpp),
            registry,
            tasks: TaskTracker::new(),
            trace: trace.clone(),
        };
        let smpp = SmppServer::start(context, data_dir).await?;
        let trace_refresher = trace.spawn_refresher(store.clone(), stopping.clone());
        let block_sync = ip_guard::spawn_sync(
            guards.all(),
            store.clone(),
            node_name.clone(),
            stopping.clone(),
        );
        Ok(Node {
            smpp,
            store,
            dispatcher,
            tracking,
            courier,
            webhook_courier,
            http,
            config: config.clone(),
            trace_refresher,
            block_sync,
            retention,
            trace,
            stopping,
        })
    }

    /// Puts a new configuration's routes and connectors in force without
    /// touching customer sessions: unchanged connectors keep their binds,
    /// new ones start, changed and removed ones stop after their submits in
    /// flight (see [`Dispatcher::reload`]). The other sections take effect
    /// at the next start; each one that changed is named in the returned
    /// list. On an error nothing changes.
    pub fn reload(
        &mut self,
        config: &Config,
        config_dir: Option<&Path>,
    ) -> Result<Vec<&'static str>, NodeError> {
        config.validate()?;
        config.check_route_connectors()?;
        let routes = RouteTable::from_config(&config.routes, config_dir.unwrap_or(Path::new(".")))?;
        self.dispatcher.reload(routes, &config.connectors)?;
        let old = &self.config;
        let same =
            |a: &dyn std::fmt::Debug, b: &dyn std::fmt::Debug| format!("{a:?}") == format!("{b:?}");
        let mut at_restart = Vec::new();
        if !same(&old.node, &config.node) {
            at_restart.push("node");
        }
        if !same(&old.smpp, &config.smpp) {
            at_restart.push("smpp");
        }
        if !same(&old.security, &config.security) {
            at_restart.push("security");
        }
        if !same(&old.accept, &config.accept) {
            at_restart.push("accept");
        }
        if old.dispatch != config.dispatch {
            at_restart.push("dispatch");
        }
        if old.delivery != config.delivery {
            at_restart.push("delivery");
        }
        if old.http != config.http {
            at_restart.push("http");
        }
        if old.admin != config.admin {
            at_restart.push("admin");
        }
        if old.store != config.store {
            at_restart.push("store");
        }
        let webhooks = |c: &Config| {
            c.connectors
                .iter()
                .filter_map(|(name, connector)| {
                    connector
                        .webhooks
                        .clone()
                        .map(|webhooks| (name.clone(), webhooks))
                })
                .collect::<Vec<_>>()
        };
        if webhooks(old) != webhooks(config) {
            at_restart.push("connector webhooks");
        }
        if !same(&old.mo_routes, &config.mo_routes) {
            at_restart.push("mo_routes");
        }
        if !same(&old.webhooks, &config.webhooks) {
            at_restart.push("webhooks");
        }
        if !same(&old.asterisk, &config.asterisk) {
            at_restart.push("asterisk");
        }
        if old.mo != config.mo {
            at_restart.push("mo");
        }
        let mut kept = config.clone();
        // What runs now: the new routes and connectors, the old rest.
        kept.node = old.node.clone();
        kept.smpp = old.smpp.clone();
        kept.security = old.security.clone();
        kept.accept = old.accept.clone();
        kept.dispatch = old.dispatch.clone();
        kept.delivery = old.delivery.clone();
        kept.http = old.http.clone();
        kept.admin = old.admin.clone();
        kept.mo_routes = old.mo_routes.clone();
        kept.webhooks = old.webhooks.clone();
        kept.asterisk = old.asterisk.clone();
        kept.mo = old.mo.clone();
        for (name, connector) in &mut kept.connectors {
            connector.webhooks = old
                .connectors
                .get(name)
                .and_then(|running| running.webhooks.clone());
        }
        self.config = kept;
        Ok(at_restart)
    }

    /// Connector status, pause and resume, and the routes in force (what
    /// the admin API uses).
    pub fn dispatch_control(&self) -> DispatchControl {
        self.dispatcher.control()
    }

    /// Each connector's health, by name.
    pub fn connector_health(
        &self,
    ) -> std::collections::BTreeMap<String, crate::connectors::ConnectorHealth> {
        self.dispatcher.health()
    }

    /// Marks the node not ready (`/readyz`), stops dispatch (finishing the
    /// submits in flight) and the connectors, lets tracking apply the
    /// receipts already received, then stops the listeners, unbinds the
    /// sessions and closes the store.
    pub async fn shutdown(self) {
        self.stopping.cancel();
        // Cancelling `stopping` ended the refresher's loop.
        let _ = self.trace_refresher.await;
        let _ = self.block_sync.await;
        let _ = self.retention.await;
        self.dispatcher.shutdown().await;
        if let Some(http) = self.http {
            http.shutdown().await;
        }
        match tokio::time::timeout(TRACKING_WAIT, self.tracking).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => warn!(%error, "tracking ended abnormally"),
            Err(_) => warn!("tracking still busy after {TRACKING_WAIT:?}; leaving it"),
        }
        self.courier.shutdown().await;
        self.webhook_courier.shutdown().await;
        self.smpp.shutdown().await;
    }
}

/// Every address a node listens on, with the setting that names it.
fn listen_addresses(config: &Config) -> Vec<(&'static str, std::net::SocketAddr)> {
    let smpp = &config.smpp;
    let plain = smpp
        .listen
        .iter()
        .filter(|_| smpp.plaintext)
        .map(|addr| ("[smpp] listen", *addr));
    let tls = smpp
        .tls_listen
        .iter()
        .filter(|_| smpp.tls)
        .map(|addr| ("[smpp] tls_listen", *addr));
    let http = config
        .http
        .listen
        .iter()
        .map(|addr| ("[http] listen", *addr));
    plain.chain(tls).chain(http).collect()
}

/// Says so at start when the console and the admin API answer any address
/// on a listener that public addresses can reach: `[admin] allowed_ips`
/// is empty and `[http] listen` has a wildcard or a public address.
fn warn_of_an_open_console(config: &Config) {
    if !config.admin.allowed_ips.is_empty() {
        return;
    }
    let public = config.http.listen.iter().find(|addr| match addr.ip() {
        std::net::IpAddr::V4(ip) => {
            ip.is_unspecified() || !(ip.is_loopback() || ip.is_private() || ip.is_link_local())
        }
        std::net::IpAddr::V6(ip) => {
            ip.is_unspecified()
                || !(ip.is_loopback() || ip.is_unique_local() || ip.is_unicast_link_local())
        }
    });
    if let Some(addr) = public {
        warn!(
            %addr,
            "the console and the admin API answer every address on this listener: \
             set [admin] allowed_ips to the operators' networks (passwords and \
             brute-force blocking still apply)"
        );
    }
}
