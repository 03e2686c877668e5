//! One running smsgate: the store, the acceptance stage and the SMPP
//! server wired together. `smsgate serve` runs a node; the integration
//! tests start nodes in-process with their own clock.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_util::task::TaskTracker;
use tracing::info;

use crate::accept::{AcceptConfig, Acceptor, NumberTableError};
use crate::accounts::ip_guard::{GuardLimits, IpGuard};
use crate::accounts::verifier::PasswordVerifier;
use crate::clock::Clock;
use crate::config::Config;
use crate::ingress::smpp_server::{ServerContext, SessionRegistry, SmppServer, StartError};
use crate::store::sqlite::SqliteStore;
use crate::store::{Store, StoreError};

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
}

/// A running node.
pub struct Node {
    /// The SMPP server.
    pub smpp: SmppServer,
    /// The store.
    pub store: Arc<dyn Store>,
}

/// The store file inside a data directory.
pub fn database_path(data_dir: &Path) -> PathBuf {
    data_dir.join("smsgate.db")
}

impl Node {
    /// Opens the store under `data_dir`, builds the acceptance stage and
    /// starts the listeners.
    pub async fn start(
        config: &Config,
        data_dir: &Path,
        clock: Arc<dyn Clock>,
    ) -> Result<Node, NodeError> {
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
        let accept_config = AcceptConfig {
            node: node_name,
            ..config.accept.clone()
        };
        let acceptor = {
            let store = store.clone();
            tokio::task::spawn_blocking(move || Acceptor::new(store, accept_config))
                .await
                .map_err(|e| StoreError::Backend(format!("acceptor start task failed: {e}")))??
        };
        let security = &config.security;
        let context = ServerContext {
            config: config.smpp.clone(),
            security: security.clone(),
            store: store.clone(),
            acceptor: Arc::new(acceptor),
            verifier: PasswordVerifier::new(
                security.password_check_concurrency,
                security.password_cache_ttl,
                clock.clone(),
            ),
            guard: IpGuard::new(
                GuardLimits {
                    max_failures: security.max_failed_binds,
                    window: security.failed_bind_window,
                    block: security.block_duration,
                },
                clock,
            ),
            registry: SessionRegistry::new(),
            tasks: TaskTracker::new(),
        };
        let smpp = SmppServer::start(context, data_dir).await?;
        Ok(Node { smpp, store })
    }

    /// Stops the listeners, unbinds the sessions, finishes what is in
    /// flight and closes the store.
    pub async fn shutdown(self) {
        self.smpp.shutdown().await;
    }
}
