//! The accept loop of one listening socket.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::ServerContext;
use super::session::serve_connection;

/// Accepts connections until shutdown. Each connection holds a permit of the
/// global connection limit for as long as it lives; when none is left, a new
/// connection is closed at once (a flood cannot exhaust memory or file
/// descriptors the bound sessions need).
pub(super) async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    ctx: Arc<ServerContext>,
    connections: Arc<Semaphore>,
    shutdown: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, remote) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: back off a little
                // instead of spinning.
                warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            debug!(%remote, "connection limit reached: closing new connection");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let ctx = ctx.clone();
        let shutdown = shutdown.clone();
        let tls = tls.clone();
        let tasks = ctx.tasks.clone();
        tasks.spawn(async move {
            let _permit = permit;
            match tls {
                None => serve_connection(stream, remote, false, ctx, shutdown).await,
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(ctx.config.bind_timeout, acceptor.accept(stream))
                            .await;
                    match handshake {
                        Ok(Ok(stream)) => {
                            serve_connection(stream, remote, true, ctx, shutdown).await
                        }
                        Ok(Err(e)) => debug!(%remote, error = %e, "TLS handshake failed"),
                        Err(_) => debug!(%remote, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
}
