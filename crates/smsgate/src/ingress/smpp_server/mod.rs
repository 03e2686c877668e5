//! The SMPP server customers bind to: plaintext and TLS listeners, the
//! global connection limit, the budget of connections not bound yet (see
//! `prebind.rs`), and one task per connection (see `session.rs`).
//!
//! Shutdown is designed in: a cancellation token every listener and
//! session watches, and a task tracker that says when every connection and
//! every submission in flight has finished, so that nothing acknowledged is
//! lost and nothing accepted goes unanswered.

mod config;
mod listener;
pub mod prebind;
pub mod registry;
mod session;
pub mod tls;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use crate::accept::Acceptor;
use crate::accounts::ip_guard::IpGuard;
use crate::accounts::verifier::PasswordVerifier;

use crate::store::Store;
pub use config::{SecurityConfig, SmppConfig};
pub use registry::{BoundSession, SessionRegistry};

/// What every connection shares.
pub struct ServerContext {
    /// Listener and session settings.
    pub config: SmppConfig,
    /// Bind security settings.
    pub security: SecurityConfig,
    /// Accounts and messages.
    pub store: Arc<dyn Store>,
    /// Validation, charging and storing of submissions.
    pub acceptor: Arc<Acceptor>,
    /// Password checks (shared with the HTTP API's Basic auth).
    pub verifier: Arc<PasswordVerifier>,
    /// Brute-force blocking (shared with the HTTP API's Basic auth).
    pub guard: Arc<IpGuard>,
    /// Bound sessions.
    pub registry: Arc<SessionRegistry>,
    /// Connections and submissions in flight, for graceful shutdown.
    pub tasks: TaskTracker,
    /// Which accounts' sessions have their PDUs logged.
    pub trace: crate::trace_switch::TraceSwitches,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A listener could not bind its address.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// TLS could not be set up.
    #[error(transparent)]
    Tls(#[from] tls::TlsSetupError),
    /// Every listener is switched off or failed.
    #[error("no SMPP listener is enabled")]
    NoListener,
}

/// A running SMPP server.
pub struct SmppServer {
    ctx: Arc<ServerContext>,
    shutdown: CancellationToken,
    addrs: Vec<(SocketAddr, bool)>,
    listeners: TaskTracker,
}

impl SmppServer {
    /// Binds the configured listeners and starts serving.
    pub async fn start(ctx: ServerContext, data_dir: &Path) -> Result<SmppServer, StartError> {
        let ctx = Arc::new(ctx);
        let config = &ctx.config;
        let tls = if config.tls && !config.tls_listen.is_empty() {
            let setup = tls::load_or_generate(
                config.tls_cert.as_deref(),
                config.tls_key.as_deref(),
                data_dir,
            )?;
            if let Some(path) = &setup.generated {
                info!(certificate = %path.display(), "generated a self-signed TLS certificate");
            }
            Some(tokio_rustls::TlsAcceptor::from(setup.config))
        } else {
            None
        };
        let mut bound = Vec::new();
        if config.plaintext {
            for addr in &config.listen {
                if let Some(listener) = bind(*addr)? {
                    bound.push((listener, None));
                }
            }
        }
        if let Some(acceptor) = &tls {
            for addr in &config.tls_listen {
                if let Some(listener) = bind(*addr)? {
                    bound.push((listener, Some(acceptor.clone())));
                }
            }
        }
        if bound.is_empty() {
            return Err(StartError::NoListener);
        }
        let shutdown = CancellationToken::new();
        let connections = Arc::new(Semaphore::new(config.max_connections));
        let unbound = prebind::PreBind::new(config.max_unbound, config.max_unbound_per_ip);
        let listeners = TaskTracker::new();
        let mut addrs = Vec::new();
        for (listener, tls) in bound {
            let addr = listener.local_addr().map_err(|source| StartError::Listen {
                addr: SocketAddr::from(([0, 0, 0, 0], 0)),
                source,
            })?;
            info!(%addr, tls = tls.is_some(), "SMPP listener ready");
            addrs.push((addr, tls.is_some()));
            listeners.spawn(listener::accept_loop(
                listener,
                tls,
                ctx.clone(),
                connections.clone(),
                unbound.clone(),
                shutdown.clone(),
            ));
        }
        listeners.close();
        Ok(SmppServer {
            ctx,
            shutdown,
            addrs,
            listeners,
        })
    }

    /// The addresses listened on, each with whether it is TLS.
    pub fn local_addrs(&self) -> &[(SocketAddr, bool)] {
        &self.addrs
    }

    /// The first plaintext address, if any (for tests and the banner).
    pub fn plaintext_addr(&self) -> Option<SocketAddr> {
        self.addrs
            .iter()
            .find(|(_, tls)| !tls)
            .map(|(addr, _)| *addr)
    }

    /// The first TLS address, if any.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.addrs
            .iter()
            .find(|(_, tls)| *tls)
            .map(|(addr, _)| *addr)
    }

    /// The shared context (sessions, store).
    pub fn context(&self) -> &Arc<ServerContext> {
        &self.ctx
    }

    /// Stops accepting, unbinds every session, waits (at most the
    /// configured shutdown timeout) for them and for every submission in
    /// flight, then closes the store so everything acknowledged is on disk.
    pub async fn shutdown(self) {
        info!("SMPP server shutting down");
        self.shutdown.cancel();
        self.listeners.wait().await;
        self.ctx.tasks.close();
        let timeout = self.ctx.config.shutdown_timeout;
        if tokio::time::timeout(timeout, self.ctx.tasks.wait())
            .await
            .is_err()
        {
            warn!(
                sessions = self.ctx.registry.list().len(),
                "sessions still open after {timeout:?}; closing them"
            );
            for session in self.ctx.registry.list() {
                session.handle.close();
            }
            let _ = tokio::time::timeout(timeout, self.ctx.tasks.wait()).await;
        }
        if let Err(e) = self.ctx.store.close().await {
            warn!(error = %e, "store did not close cleanly");
        }
        info!("SMPP server stopped");
    }
}

/// Binds one listener. An IPv6 address on a host without IPv6 is skipped
/// with a warning rather than stopping the server; every other failure is
/// an error. IPv6 sockets are IPv6-only, so `0.0.0.0` and `[::]` on the
/// same port can both be bound.
fn bind(addr: SocketAddr) -> Result<Option<TcpListener>, StartError> {
    let fail = |source| StartError::Listen { addr, source };
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
    };
    let socket = match socket {
        Ok(socket) => socket,
        Err(e) if addr.is_ipv6() => {
            warn!(%addr, error = %e, "IPv6 is not available; not listening there");
            return Ok(None);
        }
        Err(e) => return Err(fail(e)),
    };
    socket.set_reuseaddr(true).map_err(fail)?;
    if addr.is_ipv6() {
        set_ipv6_only(&socket).map_err(fail)?;
    }
    match socket.bind(addr) {
        Ok(()) => {}
        Err(e) if addr.is_ipv6() && e.kind() == std::io::ErrorKind::AddrNotAvailable => {
            warn!(%addr, error = %e, "IPv6 address not available; not listening there");
            return Ok(None);
        }
        Err(e) => return Err(fail(e)),
    }
    socket.listen(1024).map(Some).map_err(fail)
}

fn set_ipv6_only(socket: &tokio::net::TcpSocket) -> std::io::Result<()> {
    socket2::SockRef::from(socket).set_only_v6(true)
}
