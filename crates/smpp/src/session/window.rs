//! Our window below its configured size: the slots taken out of use.
//!
//! The session's window is a semaphore of `SessionConfig::window` permits,
//! one per request in flight. To use fewer (an SMSC learns a customer's
//! window only when it binds, and an operator may change it while the
//! customer stays bound), the permits above the limit are taken out of the
//! semaphore and held here; raising the limit again gives them back.
//! Lowering it below what is in flight cannot cancel anything: the missing
//! permits are taken as requests finish (by a task waiting for them, which,
//! the semaphore being fair, makes new requests wait behind it), so the
//! limit holds from the moment enough requests have been answered.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The limit in force and the permits it holds back.
#[derive(Debug)]
pub(super) struct WindowLimit {
    /// `SessionConfig::window`: the semaphore's size, the highest limit.
    size: usize,
    state: Mutex<Parked>,
}

#[derive(Debug)]
struct Parked {
    limit: usize,
    /// The permits taken out of use (`size - limit` once settled).
    held: Option<OwnedSemaphorePermit>,
    /// Permits a waiting task is taking out of use.
    pending: usize,
}

impl Parked {
    fn held(&self) -> usize {
        self.held
            .as_ref()
            .map_or(0, OwnedSemaphorePermit::num_permits)
    }
}

impl WindowLimit {
    /// A limit at the full window of `size` requests.
    pub(super) fn new(size: usize) -> WindowLimit {
        WindowLimit {
            size,
            state: Mutex::new(Parked {
                limit: size,
                held: None,
                pending: 0,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Parked> {
        // Nothing in here can panic while holding the lock, but a poisoned
        // lock still holds consistent counts.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The limit in force (what it was last set to).
    pub(super) fn limit(&self) -> usize {
        self.lock().limit
    }

    /// How many permits are out of use now.
    pub(super) fn held(&self) -> usize {
        self.lock().held()
    }

    /// Sets the limit to `requests` (within 1 and the window's size) and
    /// moves permits in or out of use to match.
    pub(super) fn set(self: &Arc<Self>, slots: &Arc<Semaphore>, requests: usize) -> usize {
        let limit = requests.clamp(1, self.size.max(1));
        self.lock().limit = limit;
        self.settle(slots);
        limit
    }

    /// Gives back what is held past `size - limit`, takes what is missing
    /// if it is free now, or else starts a task that waits for it.
    fn settle(self: &Arc<Self>, slots: &Arc<Semaphore>) {
        let mut parked = self.lock();
        let wanted = self.size.saturating_sub(parked.limit);
        let held = parked.held();
        if held > wanted {
            if wanted == 0 {
                parked.held = None;
            } else if let Some(permits) = parked.held.as_mut() {
                drop(permits.split(held - wanted));
            }
            return;
        }
        let missing = wanted - held;
        if missing <= parked.pending {
            return;
        }
        let mut missing = missing - parked.pending;
        // What is free now is taken now, so that no request started after
        // this call can take it first.
        while missing > 0 {
            let Ok(permit) = Arc::clone(slots).try_acquire_owned() else {
                break;
            };
            merge(&mut parked.held, permit);
            missing -= 1;
        }
        let Ok(count) = u32::try_from(missing) else {
            return;
        };
        if count == 0 {
            return;
        }
        parked.pending += missing;
        drop(parked);
        let limit = Arc::clone(self);
        let slots = Arc::clone(slots);
        tokio::spawn(async move {
            let taken = Arc::clone(&slots).acquire_many_owned(count).await;
            {
                let mut parked = limit.lock();
                parked.pending -= missing;
                match taken {
                    Ok(permits) => merge(&mut parked.held, permits),
                    // Closed: the session has ended, nothing to limit.
                    Err(_) => return,
                }
            }
            // The limit may have moved while this waited.
            limit.settle(&slots);
        });
    }
}

fn merge(held: &mut Option<OwnedSemaphorePermit>, permits: OwnedSemaphorePermit) {
    match held {
        Some(held) => held.merge(permits),
        None => *held = Some(permits),
    }
}
