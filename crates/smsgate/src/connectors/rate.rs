//! How many submits were answered per second, for [`ConnectorHealth::rate`]:
//! one meter for every kind of connector.
//!
//! [`ConnectorHealth::rate`]: crate::connectors::ConnectorHealth::rate

/// The seconds the rate averages over.
const RATE_WINDOW: usize = 10;

/// Counts answered submits per second over the last [`RATE_WINDOW`] seconds.
#[derive(Debug)]
pub(crate) struct RateMeter {
    origin: std::time::Instant,
    /// Per second, indexed by seconds since `origin` modulo the window.
    counts: [u64; RATE_WINDOW],
    /// The second each bucket last counted.
    seconds: [u64; RATE_WINDOW],
}

impl RateMeter {
    pub(crate) fn new() -> RateMeter {
        RateMeter {
            origin: std::time::Instant::now(),
            counts: [0; RATE_WINDOW],
            seconds: [0; RATE_WINDOW],
        }
    }

    fn second(&self, now: std::time::Instant) -> u64 {
        now.saturating_duration_since(self.origin).as_secs()
    }

    pub(crate) fn record(&mut self, now: std::time::Instant) {
        let second = self.second(now);
        let bucket = (second % RATE_WINDOW as u64) as usize;
        if self.seconds[bucket] != second {
            self.seconds[bucket] = second;
            self.counts[bucket] = 0;
        }
        self.counts[bucket] += 1;
    }

    /// The average over the last full seconds (the current one is partial,
    /// and one bucket is always the current second's).
    pub(crate) fn rate(&self, now: std::time::Instant) -> f64 {
        let second = self.second(now);
        let full = (second).min(RATE_WINDOW as u64 - 1);
        let oldest = second - full;
        let total: u64 = (0..RATE_WINDOW)
            .filter(|&b| self.seconds[b] >= oldest && self.seconds[b] < second)
            .map(|b| self.counts[b])
            .sum();
        total as f64 / full.max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn rate_averages_full_seconds_only() {
        let mut meter = RateMeter::new();
        let origin = meter.origin;
        let at = |s: f64| origin + Duration::from_secs_f64(s);
        for i in 0..40 {
            meter.record(at(f64::from(i) / 10.0));
        }
        // 10 in each of seconds 0 to 3; asked during second 4.
        let rate = meter.rate(at(4.5));
        assert!((rate - 10.0).abs() < 0.01, "{rate}");
    }
}
