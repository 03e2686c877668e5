//! The bound sessions of this node: who is connected, as what, since when.
//!
//! It enforces the account's bind limit (counting and registering under one
//! lock, so two simultaneous binds cannot both take the last slot), and it is
//! what the console's sessions page and shutdown read.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use smpp::session::SessionHandle;

use crate::store::BindType;

/// One bound session.
#[derive(Debug, Clone)]
pub struct BoundSession {
    /// This node's id for the session.
    pub id: u64,
    /// The account.
    pub system_id: String,
    /// How it bound.
    pub bind_type: BindType,
    /// The customer's address.
    pub remote: SocketAddr,
    /// Whether the connection is TLS.
    pub tls: bool,
    /// When it bound.
    pub since: SystemTime,
    /// The session, to unbind or disconnect it.
    pub handle: SessionHandle,
    /// What went through it, counted as it happens (the console's sessions page).
    pub stats: Arc<SessionStats>,
}

/// Live counters of one session, shared by the session task (which counts
/// what the customer sends), the courier (which counts what we send) and
/// whoever lists the sessions. Atomics, so counting takes no lock.
#[derive(Debug, Default)]
pub struct SessionStats {
    /// submit_sm, submit_multi and data_sm the customer sent on it.
    pub messages_in: AtomicU64,
    /// deliver_sm we sent on it (receipts and MO).
    pub messages_out: AtomicU64,
    /// The customer's requests being handled now: what its window holds.
    pub in_flight: AtomicUsize,
    /// The account's window, as last read (the account is re-read while bound).
    pub window: AtomicU32,
}

impl SessionStats {
    /// Counters for a session of an account with this window.
    pub fn new(window: u32) -> SessionStats {
        SessionStats {
            window: AtomicU32::new(window),
            ..SessionStats::default()
        }
    }

    /// Counts one message the customer sent.
    pub fn count_in(&self) {
        self.messages_in.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one deliver_sm we sent.
    pub fn count_out(&self) {
        self.messages_out.fetch_add(1, Ordering::Relaxed);
    }
}

/// The bound sessions of this node.
#[derive(Debug, Default)]
pub struct SessionRegistry {
    next_id: AtomicU64,
    sessions: Mutex<HashMap<u64, BoundSession>>,
    /// Signalled when a session binds (the courier sends what waited for one).
    bound: Arc<tokio::sync::Notify>,
}

impl SessionRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        SessionRegistry::default()
    }

    /// A fresh session id.
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Registers a bound session unless its account already has
    /// `max_binds` sessions; returns whether it was registered.
    pub fn try_register(&self, session: BoundSession, max_binds: u32) -> bool {
        let mut sessions = self.lock();
        let bound = sessions
            .values()
            .filter(|s| s.system_id == session.system_id)
            .count();
        if bound >= max_binds as usize {
            return false;
        }
        sessions.insert(session.id, session);
        drop(sessions);
        self.bound.notify_one();
        true
    }

    /// Notified each time a session binds; others (tracking, once it has
    /// stored receipts or MO for the outbox) notify it too: the courier
    /// waits on it.
    pub fn bound_signal(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.bound)
    }

    /// Forgets a session (it unbound or closed).
    pub fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// One bound session by id.
    pub fn get(&self, id: u64) -> Option<BoundSession> {
        self.lock().get(&id).cloned()
    }

    /// Every bound session, oldest first.
    pub fn list(&self) -> Vec<BoundSession> {
        let mut sessions: Vec<BoundSession> = self.lock().values().cloned().collect();
        sessions.sort_by_key(|s| s.id);
        sessions
    }

    /// The account's open receiver or transceiver session with the fewest
    /// of our requests in flight (the oldest among equals): where the next
    /// deliver_sm for it goes. Looks at the sessions under the lock
    /// without copying the others.
    pub fn least_busy_receiver(&self, system_id: &str) -> Option<BoundSession> {
        self.lock()
            .values()
            .filter(|s| {
                s.system_id == system_id
                    && matches!(s.bind_type, BindType::Receiver | BindType::Transceiver)
                    && !s.handle.is_closed()
            })
            .min_by_key(|s| (s.handle.in_flight(), s.id))
            .cloned()
    }

    /// How many sessions an account has bound.
    pub fn count_for(&self, system_id: &str) -> usize {
        self.lock()
            .values()
            .filter(|s| s.system_id == system_id)
            .count()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, BoundSession>> {
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
