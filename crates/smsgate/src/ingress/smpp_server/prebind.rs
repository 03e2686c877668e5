//! Connections that have not bound yet, and the budget they share.
//!
//! A connection is "unbound" from the moment it is accepted (before its TLS
//! handshake) until its bind succeeds. Unbound connections cost us memory and
//! a connection slot but give nothing back, so they get a budget apart from
//! bound sessions: at most `max_unbound` in all and `max_unbound_per_ip` from
//! one address (an IPv6 /64). When a new connection would pass either, the
//! oldest unbound connection that has not sent a bind (over all addresses,
//! or of that address) is closed to make room. So idle or hostile
//! connections can delay nobody's bind for longer than it takes the next
//! `max_unbound` connections to arrive, and an address flooding us only
//! displaces its own connections. A connection whose bind is being checked
//! is never closed for room (its cost is bounded by the password threads
//! and the failed-bind guard); only if every unbound connection is being
//! checked is the new one refused.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use crate::accounts::subscriber;

/// The budget and the unbound connections in it.
#[derive(Debug)]
pub struct PreBind {
    max_unbound: usize,
    max_per_ip: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    next_id: u64,
    connections: HashMap<u64, Entry>,
    /// Unbound connections that have not sent a bind, oldest first (ids grow).
    idle: BTreeSet<u64>,
    per_ip: HashMap<IpAddr, PerIp>,
}

#[derive(Debug)]
struct Entry {
    ip: IpAddr,
    binding: bool,
    close: CancellationToken,
}

#[derive(Debug, Default)]
struct PerIp {
    unbound: usize,
    idle: BTreeSet<u64>,
}

/// Why a new connection was not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Every unbound connection (of the address or in all) is having its
    /// bind checked; none can be closed for room.
    AllBinding,
}

impl PreBind {
    /// A budget of `max_unbound` in all and `max_per_ip` per address.
    pub fn new(max_unbound: usize, max_per_ip: usize) -> Arc<Self> {
        Arc::new(PreBind {
            max_unbound: max_unbound.max(1),
            max_per_ip: max_per_ip.max(1),
            inner: Mutex::new(Inner::default()),
        })
    }

    /// Lets a new connection from `ip` in, closing the oldest idle unbound
    /// connections its arrival pushes past the budget.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Unbound, Refused> {
        let ip = subscriber(ip);
        let mut inner = self.lock();
        let from_ip = inner.per_ip.get(&ip).map_or(0, |per_ip| per_ip.unbound);
        if from_ip >= self.max_per_ip {
            let oldest = inner
                .per_ip
                .get(&ip)
                .and_then(|per_ip| per_ip.idle.first().copied());
            match oldest {
                Some(id) => inner.close_for_room(id),
                None => return Err(Refused::AllBinding),
            }
        }
        if inner.connections.len() >= self.max_unbound {
            match inner.idle.first().copied() {
                Some(id) => inner.close_for_room(id),
                None => return Err(Refused::AllBinding),
            }
        }
        let id = inner.next_id;
        inner.next_id += 1;
        let close = CancellationToken::new();
        inner.connections.insert(
            id,
            Entry {
                ip,
                binding: false,
                close: close.clone(),
            },
        );
        inner.idle.insert(id);
        let per_ip = inner.per_ip.entry(ip).or_default();
        per_ip.unbound += 1;
        per_ip.idle.insert(id);
        Ok(Unbound {
            budget: Arc::clone(self),
            id: Some(id),
            close,
        })
    }

    /// Closes the oldest unbound connection that has not sent a bind, to
    /// make room for a connection past `max_connections`. `false` when
    /// there is none.
    pub fn close_oldest(&self) -> bool {
        let mut inner = self.lock();
        match inner.idle.first().copied() {
            Some(id) => {
                inner.close_for_room(id);
                true
            }
            None => false,
        }
    }

    fn set_binding(&self, id: u64, binding: bool) {
        let mut inner = self.lock();
        let Some(entry) = inner.connections.get_mut(&id) else {
            return;
        };
        entry.binding = binding;
        let ip = entry.ip;
        // A connection already told to close stays out of the idle sets.
        let closing = entry.close.is_cancelled();
        if binding || closing {
            inner.idle.remove(&id);
        } else {
            inner.idle.insert(id);
        }
        if let Some(per_ip) = inner.per_ip.get_mut(&ip) {
            if binding || closing {
                per_ip.idle.remove(&id);
            } else {
                per_ip.idle.insert(id);
            }
        }
    }

    fn leave(&self, id: u64) {
        let mut inner = self.lock();
        inner.forget(id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Inner {
    /// Tells a connection to close and takes it out of the budget at once
    /// (its task ends soon after), so the room is there for the newcomer.
    fn close_for_room(&mut self, id: u64) {
        if let Some(entry) = self.connections.get(&id) {
            entry.close.cancel();
        }
        self.forget(id);
    }

    fn forget(&mut self, id: u64) {
        let Some(entry) = self.connections.remove(&id) else {
            return;
        };
        self.idle.remove(&id);
        if let Some(per_ip) = self.per_ip.get_mut(&entry.ip) {
            per_ip.unbound = per_ip.unbound.saturating_sub(1);
            per_ip.idle.remove(&id);
            if per_ip.unbound == 0 {
                self.per_ip.remove(&entry.ip);
            }
        }
    }
}

/// One connection's place in the budget, until it binds or closes.
#[derive(Debug)]
pub struct Unbound {
    budget: Arc<PreBind>,
    /// `None` once bound (out of the budget).
    id: Option<u64>,
    close: CancellationToken,
}

impl Unbound {
    /// Cancelled when the connection is closed to make room for a newer one.
    pub fn closed(&self) -> &CancellationToken {
        &self.close
    }

    /// A bind arrived: the connection is not closed for room while it is
    /// checked.
    pub fn binding(&self) {
        if let Some(id) = self.id {
            self.budget.set_binding(id, true);
        }
    }

    /// The bind failed and the connection stays open: it may be closed for
    /// room again.
    pub fn bind_failed(&self) {
        if let Some(id) = self.id {
            self.budget.set_binding(id, false);
        }
    }

    /// The bind succeeded: the connection leaves the pre-bind budget.
    pub fn bound(&mut self) {
        if let Some(id) = self.id.take() {
            self.budget.leave(id);
        }
    }
}

impl Drop for Unbound {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            self.budget.leave(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl PreBind {
        fn len(&self) -> usize {
            self.lock().connections.len()
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    #[test]
    fn past_the_per_address_limit_that_addresss_oldest_idle_connection_is_closed() {
        let budget = PreBind::new(100, 3);
        let first: Vec<Unbound> = (0..3)
            .map(|_| budget.admit(ip("192.0.2.1")).expect("in"))
            .collect();
        let other = budget.admit(ip("192.0.2.2")).expect("in");
        let newest = budget.admit(ip("192.0.2.1")).expect("in");
        assert!(
            first[0].closed().is_cancelled(),
            "the oldest of the address"
        );
        assert!(!first[1].closed().is_cancelled());
        assert!(
            !other.closed().is_cancelled(),
            "another address is untouched"
        );
        assert!(!newest.closed().is_cancelled());
        assert_eq!(budget.len(), 4);
    }

    #[test]
    fn past_the_total_the_oldest_idle_connection_of_any_address_is_closed() {
        let budget = PreBind::new(3, 50);
        let a = budget.admit(ip("192.0.2.1")).expect("in");
        let b = budget.admit(ip("192.0.2.2")).expect("in");
        let c = budget.admit(ip("192.0.2.3")).expect("in");
        a.binding();
        let d = budget.admit(ip("192.0.2.4")).expect("in");
        assert!(!a.closed().is_cancelled(), "a connection being bound stays");
        assert!(b.closed().is_cancelled(), "the oldest idle one goes");
        assert!(!c.closed().is_cancelled());
        assert!(!d.closed().is_cancelled());
        assert_eq!(budget.len(), 3);
    }

    #[test]
    fn a_bound_or_closed_connection_leaves_the_budget_and_when_all_are_binding_a_new_one_is_refused()
     {
        let budget = PreBind::new(2, 50);
        let mut a = budget.admit(ip("192.0.2.1")).expect("in");
        let b = budget.admit(ip("192.0.2.1")).expect("in");
        a.binding();
        b.binding();
        assert_eq!(
            budget.admit(ip("192.0.2.9")).err(),
            Some(Refused::AllBinding)
        );
        a.bound();
        let c = budget.admit(ip("192.0.2.9")).expect("room after a bind");
        drop(b);
        assert_eq!(budget.len(), 1);
        c.binding();
        c.bind_failed();
        let _d = budget.admit(ip("192.0.2.10")).expect("in");
        let _e = budget.admit(ip("192.0.2.11")).expect("in");
        assert!(c.closed().is_cancelled(), "idle again after a failed bind");
    }

    #[test]
    fn ipv6_addresses_in_one_slash_64_share_a_limit() {
        let budget = PreBind::new(100, 1);
        let a = budget.admit(ip("2001:db8:1:2::1")).expect("in");
        let _b = budget.admit(ip("2001:db8:1:2::2")).expect("in");
        assert!(a.closed().is_cancelled());
        let c = budget.admit(ip("2001:db8:1:3::1")).expect("in");
        assert!(!c.closed().is_cancelled());
    }
}
