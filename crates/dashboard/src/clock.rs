//! Correcting for the agent's clock: "updated 3 s ago" must not say "in 2 minutes" because the
//! agent's clock runs ahead of the browser's, nor "87 million hours ago" because an agent
//! stamps its messages with year 1.
//!
//! Each message carries `sent_at` on the agent's clock. `receive − sent_at` is the clock offset
//! plus the network delay; delays are never negative, so the smallest value over recent
//! messages is the best estimate of the offset (the classic minimum filter).
//!
//! The estimate is then bounded twice: it is clamped to ±[`MAX_SKEW_MS`] (a clock off by more
//! than a day is broken, not in another time zone), and a message's time on the browser's clock
//! is never after its arrival (it cannot have arrived before it was sent), and a corrected time
//! more than [`MAX_DELAY_MS`] before the arrival is implausible (no delivery takes a minute), so
//! the arrival time is used instead. A skew over [`FLAG_SKEW_MS`] is flagged on the card
//! ([`ClockSkew::note`]).

use crate::format;
use crate::ring::Ring;
use crate::text;

/// How many recent messages the estimate looks at (about half a minute of batches).
const WINDOW: usize = 32;
/// The largest clock offset applied; beyond it the agent's clock is flagged as broken.
pub const MAX_SKEW_MS: f64 = 86_400_000.0;
/// The longest a message is taken to have been on its way: its browser-clock time is never
/// earlier than this before it arrived.
pub const MAX_DELAY_MS: f64 = 60_000.0;
/// A skew from this size on is worth telling the user (delivery delays are far smaller).
pub const FLAG_SKEW_MS: f64 = 120_000.0;

/// Estimated offset between the browser's clock and one agent's.
#[derive(Debug, Clone, PartialEq)]
pub struct ClockSkew {
    /// `local receive time − sent_at` of recent messages, in ms (finite only).
    samples: Ring<f64>,
    /// The estimate before the last [`ClockSkew::reset`]: the best guess at the agent's
    /// clock while a new connection has said nothing yet.
    before_reset: Option<f64>,
}

impl Default for ClockSkew {
    fn default() -> Self {
        Self {
            samples: Ring::new(WINDOW),
            before_reset: None,
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
        self.before_reset = self.offset_ms().or(self.before_reset);
        self.samples.clear();
    }

    /// [`ClockSkew::offset_ms`], or the last one before a reset: what a new connection can
    /// go by before its first message (to ask for history in the agent's time).
    pub fn last_known_offset_ms(&self) -> Option<f64> {
        self.offset_ms().or(self.before_reset)
    }

    /// Browser time minus agent time as measured, in ms, when anything has been observed.
    pub fn raw_offset_ms(&self) -> Option<f64> {
        self.samples.iter().copied().reduce(f64::min)
    }

    /// [`ClockSkew::raw_offset_ms`] clamped to ±[`MAX_SKEW_MS`]: the offset applied.
    pub fn offset_ms(&self) -> Option<f64> {
        self.raw_offset_ms()
            .map(|offset| offset.clamp(-MAX_SKEW_MS, MAX_SKEW_MS))
    }

    /// When, on the browser's clock, the agent sent a message stamped `sent_ms` that arrived at
    /// `received_ms`: corrected for the skew and never after its arrival; the arrival itself
    /// when the corrected time is more than [`MAX_DELAY_MS`] before it (a broken stamp). Without
    /// an estimate the clocks are assumed to agree.
    pub fn to_local(&self, sent_ms: f64, received_ms: f64) -> f64 {
        let local = sent_ms + self.offset_ms().unwrap_or(0.0);
        if local.is_finite() && local >= received_ms - MAX_DELAY_MS {
            local.min(received_ms)
        } else {
            received_ms
        }
    }

    /// How long ago, on the browser's clock, the agent sent that message. Never negative.
    pub fn age_ms(&self, sent_ms: f64, received_ms: f64, local_now_ms: f64) -> f64 {
        (local_now_ms - self.to_local(sent_ms, received_ms)).max(0.0)
    }

    /// "agent clock 3h 2m ahead of this browser's", when the skew is at least
    /// [`FLAG_SKEW_MS`]; beyond [`MAX_SKEW_MS`] it says the clock is broken.
    pub fn note(&self) -> Option<String> {
        let offset = self.raw_offset_ms()?;
        if offset.abs() < FLAG_SKEW_MS {
            return None;
        }
        // Browser minus agent: negative when the agent's clock is ahead.
        let ahead = offset < 0.0;
        if offset.abs() > MAX_SKEW_MS {
            return Some(text::clock_broken(ahead));
        }
        let secs = (offset.abs() / 1_000.0).round() as u64;
        Some(text::clock_off(&format::duration(secs), ahead))
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
            let age = skew.age_ms(last_sent, last_local, last_local + 2_000.0);
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
        // (sent, received, now, expected age)
        let cases = [
            (5_000.0, 2_000.0, 2_000.0, 0.0),
            (1_000.0, 1_000.0, 4_000.0, 3_000.0),
            // Stamped a minute or less before it arrived: that old on arrival.
            (40_000.0, 100_000.0, 100_000.0, MAX_DELAY_MS),
            // Stamped long before: the stamp is broken, the arrival counts.
            (0.0, 100_000.0, 100_000.0, 0.0),
            (f64::NAN, 5_000.0, 6_000.0, 1_000.0),
        ];
        for (sent, received, now, expected) in cases {
            assert_eq!(skew.age_ms(sent, received, now), expected, "sent {sent}");
        }
    }

    /// `sent_at` of 0001-01-01 and 9999-12-31, in ms since the epoch.
    const YEAR_1_MS: f64 = -62_135_596_800_000.0;
    const YEAR_9999_MS: f64 = 253_402_300_799_000.0;
    const NOW_MS: f64 = 1_795_000_000_000.0;

    #[test]
    fn absurd_clocks_are_clamped_and_flagged() {
        // (sent_at of every message, offset applied, note)
        let cases: [(f64, Option<f64>, Option<&str>); 6] = [
            (NOW_MS - 50.0, Some(50.0), None),
            (NOW_MS + 60_000.0, Some(-60_000.0), None),
            (
                NOW_MS + 3.0 * 3_600_000.0 + 120_000.0,
                Some(-(3.0 * 3_600_000.0 + 120_000.0)),
                Some("agent clock 3h 2m ahead of this browser's"),
            ),
            (
                NOW_MS - 600_000.0,
                Some(600_000.0),
                Some("agent clock 10m 0s behind this browser's"),
            ),
            (
                YEAR_1_MS,
                Some(MAX_SKEW_MS),
                Some("agent clock more than a day behind this browser's: its times are ignored"),
            ),
            (
                YEAR_9999_MS,
                Some(-MAX_SKEW_MS),
                Some("agent clock more than a day ahead of this browser's: its times are ignored"),
            ),
        ];
        for (sent, offset, note) in cases {
            let mut skew = ClockSkew::default();
            skew.observe(NOW_MS, sent);
            assert_eq!(skew.offset_ms(), offset, "sent {sent}");
            assert_eq!(skew.note().as_deref(), note, "sent {sent}");
            // Whatever the clock says, the message was sent at most a minute before it arrived
            // and not after.
            let local = skew.to_local(sent, NOW_MS);
            assert!(
                (NOW_MS - MAX_DELAY_MS..=NOW_MS).contains(&local),
                "sent {sent}: {local}"
            );
            let age = skew.age_ms(sent, NOW_MS, NOW_MS + 1_000.0);
            assert!(
                (1_000.0..=1_000.0 + MAX_DELAY_MS).contains(&age),
                "sent {sent}: {age}"
            );
        }
    }

    #[test]
    fn alternating_years_stay_bounded() {
        let mut skew = ClockSkew::default();
        for i in 0..10 {
            let sent = if i % 2 == 0 { YEAR_1_MS } else { YEAR_9999_MS };
            let received = NOW_MS + 1_000.0 * f64::from(i);
            skew.observe(received, sent);
            assert_eq!(skew.to_local(sent, received), received);
        }
        assert!(skew.note().is_some_and(|n| n.contains("more than a day")));
    }

    #[test]
    fn reset_forgets() {
        let mut skew = ClockSkew::default();
        skew.observe(10.0, 5.0);
        skew.reset();
        assert_eq!(skew.offset_ms(), None);
        assert_eq!(skew.note(), None);
        // The guess for the next connection until it says more.
        assert_eq!(skew.last_known_offset_ms(), Some(5.0));
        skew.observe(20.0, 17.0);
        assert_eq!(skew.last_known_offset_ms(), Some(3.0));
    }
}
