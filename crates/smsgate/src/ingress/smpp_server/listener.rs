//! The accept loop of one listening socket.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::ServerContext;
use super::prebind::{PreBind, Refused};
use super::session::serve_connection;

/// How long a new connection past `max_connections` waits for the slot of
/// the unbound connection closed for it.
const ROOM_WAIT: Duration = Duration::from_millis(200);

/// Accepts connections until shutdown. Each connection holds a permit of the
/// global connection limit for as long as it lives, and a place in the
/// pre-bind budget until it binds (see `prebind.rs`). When no permit is
/// left, the oldest unbound connection that has not sent a bind is closed
/// for the newcomer; with none, the newcomer is closed at once (a flood
/// cannot exhaust memory or file descriptors the bound sessions need).
pub(super) async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    ctx: Arc<ServerContext>,
    connections: Arc<Semaphore>,
    unbound: Arc<PreBind>,
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
        let permit = match connections.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) if unbound.close_oldest() => {
                match tokio::time::timeout(ROOM_WAIT, connections.clone().acquire_owned()).await {
                    Ok(Ok(permit)) => permit,
                    _ => {
                        debug!(%remote, "connection limit reached: closing new connection");
                        continue;
                    }
                }
            }
            Err(_) => {
                debug!(%remote, "connection limit reached, every connection bound or binding: closing new connection");
                continue;
            }
        };
        let place = match unbound.admit(remote.ip()) {
            Ok(place) => place,
            Err(Refused::AllBinding) => {
                debug!(%remote, "every unbound connection is binding: closing new connection");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let ctx = ctx.clone();
        let shutdown = shutdown.clone();
        let tls = tls.clone();
        let tasks = ctx.tasks.clone();
        tasks.spawn(async move {
            let _permit = permit;
            match tls {
                None => serve_connection(stream, remote, false, place, ctx, shutdown).await,
                Some(acceptor) => {
                    let room = place.closed().clone();
                    let handshake = tokio::select! {
                        handshake = tokio::time::timeout(ctx.config.bind_timeout, acceptor.accept(stream)) => handshake,
                        () = room.cancelled() => {
                            debug!(%remote, "closed in its TLS handshake to make room for a newer connection");
                            return;
                        }
                    };
                    match handshake {
                        Ok(Ok(stream)) => {
                            serve_connection(stream, remote, true, place, ctx, shutdown).await
                        }
                        Ok(Err(e)) => debug!(%remote, error = %e, "TLS handshake failed"),
                        Err(_) => debug!(%remote, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
}
