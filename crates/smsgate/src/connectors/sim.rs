//! The provider simulator: an SMSC that speaks real SMPP over real sockets,
//! for the demo configuration, the smpp connector's tests, and benchmarks.
//!
//! It behaves as its [`SimConfig`] says: each submit_sm or data_sm is
//! answered after a latency, accepted (ESME_ROK with a message id) or
//! rejected with a configured status; each accepted message gets a delivery
//! receipt after a delay, with a final state drawn from a mix, if its
//! registered_delivery asks for one; MO messages can arrive at an interval.
//!
//! Receipts and MO go to any receiver or transceiver bound with the same
//! system_id, in turn, whichever of the server's addresses it bound to, not
//! necessarily to the session that submitted (real carriers do this; see
//! `receipts.rs`). So one [`SimServer`] listening on several addresses is
//! one provider with several hosts, sharing its state; two servers are two
//! providers.
//!
//! It must keep up as a benchmark peer: each submit costs one task, one lock
//! only when seeded, a few atomic counters and a message id; nothing holds
//! a lock across an `.await`.
//!
//! It owns nothing of the gateway's: no store, no accounts, no routing. It
//! is the far end of a connector, not part of one.

mod config;
mod connection;
mod mo;
mod outcome;
mod receipts;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use smpp::Bind;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::warn;

pub use config::{
    Delay, DelayError, MessageIdFormat, ReceiptErrors, ReceiptMix, RejectStatus, SimConfig,
    SimConfigError,
};
use outcome::{Dice, MessageIds, Plan};
use receipts::Receivers;

/// How long [`SimServer::shutdown`] waits for sessions to unbind and tasks
/// to end before it gives up on them.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// A running simulator.
///
/// Dropping it stops it too (without waiting); [`SimServer::shutdown`]
/// stops it and waits until every session has unbound.
#[derive(Debug)]
pub struct SimServer {
    shared: Arc<Shared>,
    addrs: Vec<SocketAddr>,
}

/// What every connection and task of one simulator shares.
#[derive(Debug)]
struct Shared {
    config: SimConfig,
    plan: Plan,
    dice: Dice,
    ids: MessageIds,
    counters: Counters,
    /// Which sessions receive receipts and MO, and the receipts waiting for one.
    receivers: Mutex<Receivers>,
    next_session: AtomicU64,
    /// Cancelled by shutdown: listeners stop, sessions unbind, pending
    /// answers go at once and pending receipts are abandoned.
    shutdown: CancellationToken,
    /// Every task of this simulator, so shutdown can wait for them.
    tasks: TaskTracker,
}

impl Shared {
    /// The routing table. Never held across an `.await`.
    fn receivers(&self) -> MutexGuard<'_, Receivers> {
        self.receivers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn next_session(&self) -> u64 {
        self.next_session.fetch_add(1, Ordering::Relaxed)
    }

    /// Whether a bind's credentials are the configured ones (either may be
    /// left empty to accept any).
    fn accepts(&self, bind: &Bind) -> bool {
        let matches = |expected: &str, given: &smpp::COctetString| {
            expected.is_empty() || given.as_bytes() == expected.as_bytes()
        };
        matches(&self.config.system_id, &bind.system_id)
            && matches(&self.config.password, &bind.password)
    }
}

impl SimServer {
    /// Listens on every address (port 0 picks a free one) and starts
    /// answering. All the addresses are one provider: receipts of a message
    /// submitted through one may arrive on a session bound to another.
    ///
    /// Fails if the configuration is invalid (`InvalidInput`, naming the
    /// key), no address is given, or an address cannot be listened on. Must
    /// be called within a Tokio runtime.
    pub fn start(addrs: &[SocketAddr], config: SimConfig) -> io::Result<SimServer> {
        let plan =
            Plan::new(&config).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        if addrs.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the simulator needs at least one address to listen on",
            ));
        }
        let listeners = addrs
            .iter()
            .map(|&addr| listen(addr))
            .collect::<io::Result<Vec<_>>>()?;
        let dice = Dice::new(config.seed);
        let ids = MessageIds::new(config.message_id_format, &dice);
        let shared = Arc::new(Shared {
            plan,
            dice,
            ids,
            counters: Counters::default(),
            receivers: Mutex::new(Receivers::default()),
            next_session: AtomicU64::new(1),
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
            config,
        });
        let mut local = Vec::with_capacity(listeners.len());
        for listener in listeners {
            local.push(listener.local_addr()?);
            shared
                .tasks
                .spawn(accept_loop(listener, Arc::clone(&shared)));
        }
        if let Some(interval) = shared.config.mo_interval {
            shared
                .tasks
                .spawn(mo::generate(Arc::clone(&shared), interval));
        }
        Ok(SimServer {
            shared,
            addrs: local,
        })
    }

    /// The first address listened on (with the port chosen, if 0 was given).
    pub fn local_addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// Every address listened on, in the order given to [`SimServer::start`].
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// The counters so far.
    pub fn stats(&self) -> SimStats {
        let counters = &self.shared.counters;
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        SimStats {
            binds: read(&counters.binds),
            failed_binds: read(&counters.failed_binds),
            submits: read(&counters.submits),
            accepted: read(&counters.accepted),
            rejected: read(&counters.rejected),
            receipts_sent: read(&counters.receipts_sent),
            receipts_acknowledged: read(&counters.receipts_acknowledged),
            receipts_dropped: read(&counters.receipts_dropped),
            receipts_held: self.shared.receivers().held() as u64,
            mo_sent: read(&counters.mo_sent),
            mo_acknowledged: read(&counters.mo_acknowledged),
        }
    }

    /// Stops listening, answers every pending submit at once, abandons the
    /// receipts not yet sent, unbinds every session and waits (at most 10
    /// s) for them to close. Returns the final counters.
    pub async fn shutdown(self) -> SimStats {
        self.shared.shutdown.cancel();
        self.shared.tasks.close();
        if tokio::time::timeout(SHUTDOWN_TIMEOUT, self.shared.tasks.wait())
            .await
            .is_err()
        {
            warn!(
                tasks = self.shared.tasks.len(),
                "simulator tasks still running after {SHUTDOWN_TIMEOUT:?}; leaving them"
            );
        }
        self.stats()
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.shared.shutdown.cancel();
    }
}

/// Binds one listening socket (within the runtime).
fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let fail = |e: io::Error| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}"));
    let listener = std::net::TcpListener::bind(addr).map_err(fail)?;
    listener.set_nonblocking(true).map_err(fail)?;
    TcpListener::from_std(listener).map_err(fail)
}

/// Accepts connections until shutdown, each served in its own task.
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let accepted = tokio::select! {
            () = shared.shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, remote)) => {
                let _ = stream.set_nodelay(true);
                shared
                    .tasks
                    .spawn(connection::serve(Arc::clone(&shared), stream, remote));
            }
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                warn!(error = %e, "simulator accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    binds: AtomicU64,
    failed_binds: AtomicU64,
    submits: AtomicU64,
    accepted: AtomicU64,
    rejected: AtomicU64,
    receipts_sent: AtomicU64,
    receipts_acknowledged: AtomicU64,
    receipts_dropped: AtomicU64,
    mo_sent: AtomicU64,
    mo_acknowledged: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// What a simulator has done, for tests to assert on and for
/// `smsgate sim` to print.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Successful binds.
    pub binds: u64,
    /// Binds refused for their credentials.
    pub failed_binds: u64,
    /// submit_sm and data_sm received on a bind that may submit; always
    /// `accepted + rejected`.
    pub submits: u64,
    /// Submits answered ESME_ROK.
    pub accepted: u64,
    /// Submits answered with a reject status.
    pub rejected: u64,
    /// Receipt deliver_sm sent, each resend counted again.
    pub receipts_sent: u64,
    /// Receipts the ESME answered ESME_ROK.
    pub receipts_acknowledged: u64,
    /// Receipts given up: refused more than `receipt_retries` times, or
    /// with the held queue full.
    pub receipts_dropped: u64,
    /// Receipts waiting now for a receiver or transceiver to bind.
    pub receipts_held: u64,
    /// MO messages sent (a long one counts once).
    pub mo_sent: u64,
    /// MO messages the ESME answered ESME_ROK for, every segment.
    pub mo_acknowledged: u64,
}

impl fmt::Display for SimStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "binds {} (refused {}); submits {}: accepted {}, rejected {}; \
             receipts: sent {}, acknowledged {}, dropped {}, held {}; MO sent {}, acknowledged {}",
            self.binds,
            self.failed_binds,
            self.submits,
            self.accepted,
            self.rejected,
            self.receipts_sent,
            self.receipts_acknowledged,
            self.receipts_dropped,
            self.receipts_held,
            self.mo_sent,
            self.mo_acknowledged
        )
    }
}
