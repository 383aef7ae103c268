//! Correcting for the agent's clock: "updated 3 s ago" must not say "in 2 minutes" because the
//! agent's clock runs ahead of the browser's.
//!
//! Each message carries `sent_at` on the agent's clock. `receive − sent_at` is the clock offset
//! plus the network delay; delays are never negative, so the smallest value over recent
//! messages is the best estimate of the offset (the classic minimum filter).

use crate::ring::Ring;

/// How many recent messages the estimate looks at (about half a minute of batches).
const WINDOW: usize = 32;

/// Estimated offset between the browser's clock and one agent's.
#[derive(Debug, Clone, PartialEq)]
pub struct ClockSkew {
    /// `local receive time − sent_at` of recent messages, in ms.
    samples: Ring<f64>,
}

impl Default for ClockSkew {
    fn default() -> Self {
        Self {
            samples: Ring::new(WINDOW),
        }
    }
}

impl ClockSkew {
    /// Records one message received at `local_ms` that the agent stamped `sent_ms`.
    pub fn observe(&mut self, local_ms: f64, sent_ms: f64) {
        let offset = local_ms - sent_ms;
        if offset.is_finite() {
            self.samples.push(offset);
        }
    }

    /// Forget the estimate (after a reconnect: maybe another process, maybe another clock).
    pub fn reset(&mut self) {
        self.samples.clear();
    }

    /// Browser time minus agent time, in ms, when anything has been observed.
    pub fn offset_ms(&self) -> Option<f64> {
        self.samples.iter().copied().reduce(f64::min)
    }

    /// How long ago, on the browser's clock, the agent sent a message stamped `sent_ms`.
    /// Never negative; without an estimate the clocks are assumed to agree.
    pub fn age_ms(&self, sent_ms: f64, local_now_ms: f64) -> f64 {
        let offset = self.offset_ms().unwrap_or(0.0);
        (local_now_ms - (sent_ms + offset)).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_is_corrected_for_skew() {
        // (agent clock ahead of browser by, network delays, expected age 2 s after the last)
        let cases = [
            (0.0, [5.0, 3.0, 8.0]),
            (120_000.0, [5.0, 3.0, 8.0]),
            (-3_600_000.0, [40.0, 1.0, 2.0]),
        ];
        for (agent_ahead, delays) in cases {
            let mut skew = ClockSkew::default();
            let mut last_sent = 0.0;
            let mut last_local = 0.0;
            for (i, delay) in delays.iter().enumerate() {
                let local = 1_000_000.0 + 1_000.0 * i as f64;
                let sent = local + agent_ahead - delay;
                skew.observe(local, sent);
                last_sent = sent;
                last_local = local;
            }
            let min_delay = delays.iter().copied().fold(f64::INFINITY, f64::min);
            let last_delay = delays[delays.len() - 1];
            let age = skew.age_ms(last_sent, last_local + 2_000.0);
            let expected = 2_000.0 + last_delay - min_delay;
            assert!(
                (age - expected).abs() < 1e-6,
                "ahead {agent_ahead}: {age} vs {expected}"
            );
        }
    }

    #[test]
    fn age_never_negative_and_defaults_to_no_skew() {
        let skew = ClockSkew::default();
        assert_eq!(skew.offset_ms(), None);
        assert_eq!(skew.age_ms(5_000.0, 2_000.0), 0.0);
        assert_eq!(skew.age_ms(1_000.0, 4_000.0), 3_000.0);
    }

    #[test]
    fn reset_forgets() {
        let mut skew = ClockSkew::default();
        skew.observe(10.0, 5.0);
        skew.reset();
        assert_eq!(skew.offset_ms(), None);
    }
}
