//! # E2 section 5.3: overload detection that triggers a split
//!
//! "We provide hooks for NFs to report on their instantaneous load, and the E2D itself detects
//! overloads based on queues and processing delays." The E2D in front of an instance sees, for
//! every packet it hands over, how long the packet waited in the instance's queue. The detector
//! averages that wait over consecutive windows; when a whole window's mean exceeds the
//! threshold, it signals overload once ("when a node signals overload the Server Agent notifies
//! the E2 Manager", which then splits the instance: [`super::migration`]).
//!
//! ```text
//!  packet handed to the NF ──► observe(now, queue wait) ──► window mean > threshold ──► Overload
//! ```
//!
//! The threshold and window are ours (the paper gives none); they are named in the
//! experiment's definition.

use base::{Dur, Time};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverloadConfig {
    /// Overload when a window's mean queue wait is above this.
    pub queue_wait_threshold: Dur,
    pub window: Dur,
}

/// Call contract: `observe` for every packet, in time order; `overloaded_at` says when (if
/// ever) overload was detected.
pub struct OverloadDetector {
    cfg: OverloadConfig,
    window_start: Option<Time>,
    sum_ns: u128,
    count: u64,
    fired: Option<Time>,
    /// The mean wait of the last complete window.
    last_mean: Option<Dur>,
}

impl OverloadDetector {
    pub fn new(cfg: OverloadConfig) -> Self {
        OverloadDetector {
            cfg,
            window_start: None,
            sum_ns: 0,
            count: 0,
            fired: None,
            last_mean: None,
        }
    }

    /// A packet that waited `wait` in the instance's queue was handed over at `now`. Returns
    /// true exactly once: when this observation completes the first overloaded window.
    pub fn observe(&mut self, now: Time, wait: Dur) -> bool {
        let start = *self.window_start.get_or_insert(now);
        if now.saturating_since(start) >= self.cfg.window && self.count > 0 {
            let mean = Dur::from_nanos((self.sum_ns / self.count as u128) as u64);
            self.last_mean = Some(mean);
            self.window_start = Some(now);
            self.sum_ns = 0;
            self.count = 0;
            if self.fired.is_none() && mean > self.cfg.queue_wait_threshold {
                self.fired = Some(now);
                self.sum_ns += wait.as_nanos() as u128;
                self.count += 1;
                return true;
            }
        }
        self.sum_ns += wait.as_nanos() as u128;
        self.count += 1;
        false
    }

    pub fn overloaded_at(&self) -> Option<Time> {
        self.fired
    }

    pub fn last_window_mean(&self) -> Option<Dur> {
        self.last_mean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det() -> OverloadDetector {
        OverloadDetector::new(OverloadConfig {
            queue_wait_threshold: Dur::from_micros(100),
            window: Dur::from_millis(10),
        })
    }

    #[test]
    fn short_waits_never_signal_overload() {
        let mut d = det();
        for i in 0..10_000u64 {
            assert!(!d.observe(Time::ZERO + Dur::from_micros(i * 10), Dur::from_micros(50)));
        }
        assert_eq!(d.overloaded_at(), None);
    }

    #[test]
    fn a_growing_queue_signals_overload_once() {
        let mut d = det();
        let mut fired = 0;
        for i in 0..10_000u64 {
            // The wait grows by 1 us per packet: a queue that never drains.
            if d.observe(Time::ZERO + Dur::from_micros(i * 10), Dur::from_micros(i)) {
                fired += 1;
            }
        }
        assert_eq!(fired, 1);
        // Window 0 (packets 0-999, mean wait 0.5 ms > 0.1 ms) closes with packet 1000, at 10 ms.
        assert_eq!(d.overloaded_at(), Some(Time::ZERO + Dur::from_millis(10)));
    }
}
