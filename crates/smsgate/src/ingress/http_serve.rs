//! The HTTP listener's connections: accepted with a bound per address and
//! in all, read with a deadline for each request's headers (which also
//! closes idle keep-alive connections), and each request answered within a
//! time limit. axum's own `serve` has none of these, so a few hundred
//! sockets that send one header byte a minute could hold the listener.
//!
//! What happens at each bound:
//! - past `max_connections_per_ip` connections from one address (an IPv4
//!   address, or an IPv6 /64), or `max_connections` in all, a new
//!   connection is closed at once (logged at most once a minute per
//!   address); the ones already open go on;
//! - headers not complete within `header_read_timeout`, and keep-alive
//!   connections idle as long: the connection is closed;
//! - headers larger than `max_header_bytes`: 431, and the connection closes;
//! - a request not answered within `request_timeout`: 503
//!   `request_timeout` with `Retry-After` (what it was doing goes on; a
//!   message it was storing is stored or not, as the store decides).

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt as _;
use tracing::{debug, warn};

use crate::ingress::http_api::problem::Problem;

/// How long a connection being closed at shutdown may finish its request.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Refusals of one address are logged at most this often.
const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// The bounds of [`serve`], from `[http]`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections open at once, over all addresses.
    pub max_connections: usize,
    /// Connections open at once from one address (IPv6: one /64).
    pub max_connections_per_ip: usize,
    /// The time a request's headers may take to arrive, and a keep-alive
    /// connection may stay idle.
    pub header_read_timeout: Duration,
    /// The size a request's headers may have.
    pub max_header_bytes: usize,
    /// The time a request may take to be answered.
    pub request_timeout: Duration,
}

/// Open connections, by address, shared by every listener of the node.
#[derive(Debug, Default)]
pub struct Connections {
    state: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
    /// When a refusal of an address was last logged, and how many since.
    refused: HashMap<IpAddr, (Instant, u64)>,
}

/// One open connection's place; dropping it frees the place.
#[derive(Debug)]
struct Place {
    connections: Arc<Connections>,
    address: IpAddr,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut counts = self.connections.lock();
        counts.total = counts.total.saturating_sub(1);
        if let Some(open) = counts.by_address.get_mut(&self.address) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                counts.by_address.remove(&self.address);
            }
        }
    }
}

impl Connections {
    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A place for a connection from `remote`, or `None` past a bound.
    fn admit(self: &Arc<Self>, remote: IpAddr, limits: &Limits) -> Option<Place> {
        let address = crate::accounts::subscriber(remote);
        let mut counts = self.lock();
        let from_it = counts.by_address.get(&address).copied().unwrap_or(0);
        let full = if from_it >= limits.max_connections_per_ip {
            Some("max_connections_per_ip")
        } else if counts.total >= limits.max_connections {
            Some("max_connections")
        } else {
            None
        };
        if let Some(bound) = full {
            let now = Instant::now();
            if counts.refused.len() > 10_000 {
                counts
                    .refused
                    .retain(|_, (last, _)| now.duration_since(*last) < REFUSAL_LOG_INTERVAL);
            }
            let (last, since) = counts.refused.entry(address).or_insert((now, 0));
            *since += 1;
            if *since == 1 || now.duration_since(*last) >= REFUSAL_LOG_INTERVAL {
                warn!(
                    %address,
                    open = from_it,
                    refused = *since,
                    bound,
                    "http: connection refused: too many open connections"
                );
                *last = now;
                *since = 0;
            }
            return None;
        }
        counts.total += 1;
        *counts.by_address.entry(address).or_insert(0) += 1;
        Some(Place {
            connections: Arc::clone(self),
            address,
        })
    }
}

/// Serves `app` on `listener` within `limits` until `stop`, then lets the
/// open connections finish their requests for up to [`SHUTDOWN_GRACE`].
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    connections: Arc<Connections>,
    stop: CancellationToken,
) {
    let tasks = TaskTracker::new();
    loop {
        let (stream, remote) = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, mostly: wait for some to close.
                    warn!(%error, "http: cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Some(place) = connections.admit(remote.ip(), &limits) else {
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let stop = stop.clone();
        tasks.spawn(async move {
            connection(stream, remote, app, limits, stop).await;
            drop(place);
        });
    }
    tasks.close();
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, tasks.wait()).await;
}

/// One connection, HTTP/1.1 (as axum's own serve without its http2 feature).
async fn connection(
    stream: tokio::net::TcpStream,
    remote: SocketAddr,
    app: Router,
    limits: Limits,
    stop: CancellationToken,
) {
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(remote));
        let answer = app.clone().oneshot(request.map(axum::body::Body::new));
        async move {
            let response = match tokio::time::timeout(limits.request_timeout, answer).await {
                Ok(Ok(response)) => response,
                Ok(Err(never)) => match never {},
                Err(_) => timed_out(limits.request_timeout),
            };
            Ok::<Response, Infallible>(response)
        }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192));
    let conn = builder
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        served = conn.as_mut() => {
            if let Err(error) = served {
                debug!(%remote, %error, "http: connection ended");
            }
        }
        () = stop.cancelled() => {
            conn.as_mut().graceful_shutdown();
            if let Err(error) = conn.await {
                debug!(%remote, %error, "http: connection ended at shutdown");
            }
        }
    }
}

/// The answer to a request the gateway did not answer in time.
fn timed_out(limit: Duration) -> Response {
    let mut response = Problem::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "request_timeout",
        format!(
            "the gateway did not answer within {}; what the request asked for may or may not \
             have been done: check before sending it again",
            humantime::format_duration(limit)
        ),
    )
    .into_response();
    response.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from_static("1"),
    );
    response
}
