//! How many refused requests make a log line. Each refusal is worth a
//! line to the operator (a provider whose address changed, a clock gone
//! wrong), but anyone who can reach a webhook can send refusals as fast as
//! the network carries them, and must not be able to fill the disk or
//! bury the log: each connector logs at most [`LINES_PER_WINDOW`] refusals
//! a [`WINDOW`]; the next line logged says how many were left out.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Refusals logged per window and connector.
pub(super) const LINES_PER_WINDOW: u32 = 20;
/// The window.
pub(super) const WINDOW: Duration = Duration::from_secs(60);

/// One connector's count of refusals logged.
#[derive(Debug)]
pub(super) struct RefusalLog {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    window_start: Instant,
    logged: u32,
    /// Refusals not logged since the last one that was.
    left_out: u64,
}

impl RefusalLog {
    pub(super) fn new(now: Instant) -> RefusalLog {
        RefusalLog {
            state: Mutex::new(State {
                window_start: now,
                logged: 0,
                left_out: 0,
            }),
        }
    }

    /// Whether a refusal at `now` is logged: `Some` with how many refusals
    /// were left out before it, or `None` to leave this one out.
    pub(super) fn admit(&self, now: Instant) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if now.saturating_duration_since(state.window_start) >= WINDOW {
            state.window_start = now;
            state.logged = 0;
        }
        if state.logged < LINES_PER_WINDOW {
            state.logged += 1;
            Some(std::mem::take(&mut state.left_out))
        } else {
            state.left_out += 1;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_limit_refusals_are_counted_and_the_next_window_says_how_many() {
        let start = Instant::now();
        let log = RefusalLog::new(start);
        for _ in 0..LINES_PER_WINDOW {
            assert_eq!(log.admit(start), Some(0));
        }
        assert_eq!(log.admit(start), None);
        assert_eq!(log.admit(start + WINDOW / 2), None);
        assert_eq!(log.admit(start + WINDOW), Some(2));
        assert_eq!(log.admit(start + WINDOW), Some(0));
    }
}
