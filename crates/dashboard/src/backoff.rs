//! Reconnect timing: exponential backoff with jitter, and the stall limit.

/// A live connection that receives nothing for this long is treated as stalled (the agent sends
/// one batch per second, so five missed batches), closed and reconnected. The same limit bounds
/// how long an opening handshake may take, which is what catches a SIGSTOPped agent whose
/// kernel still accepts the TCP connection.
pub const STALL_AFTER_MS: f64 = 5_000.0;

/// Delay before the first retry, before jitter; doubles per failed attempt.
pub const BASE_DELAY_MS: f64 = 1_000.0;

/// Ceiling of the delay.
pub const MAX_DELAY_MS: f64 = 60_000.0;

/// The wait before reconnect attempt `attempt` (0 for the first retry after a failure).
///
/// "Equal jitter": half of the exponential ceiling is fixed, the other half scaled by
/// `jitter` (uniform in `[0, 1)`, clamped), so agents that dropped together do not all retry
/// in the same instant, yet a retry is never sooner than half the nominal delay.
pub fn delay_ms(attempt: u32, jitter: f64) -> f64 {
    let ceiling = (BASE_DELAY_MS * 2f64.powi(attempt.min(16) as i32)).min(MAX_DELAY_MS);
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.5
    };
    ceiling / 2.0 + ceiling / 2.0 * jitter
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_within_bounds() {
        // (attempt, min, max) over the whole jitter range.
        let cases = [
            (0, 500.0, 1_000.0),
            (1, 1_000.0, 2_000.0),
            (2, 2_000.0, 4_000.0),
            (5, 16_000.0, 32_000.0),
            (6, 30_000.0, 60_000.0),
            (30, 30_000.0, 60_000.0),
            (u32::MAX, 30_000.0, 60_000.0),
        ];
        for (attempt, min, max) in cases {
            assert_eq!(delay_ms(attempt, 0.0), min, "attempt {attempt}");
            assert_eq!(delay_ms(attempt, 1.0), max, "attempt {attempt}");
            let mid = delay_ms(attempt, 0.5);
            assert!(mid > min && mid < max, "attempt {attempt}");
        }
    }

    #[test]
    fn first_retry_is_within_five_seconds_and_never_above_sixty() {
        for step in 0..=10 {
            let jitter = f64::from(step) / 10.0;
            assert!(delay_ms(0, jitter) <= 5_000.0);
            for attempt in 0..40 {
                assert!(delay_ms(attempt, jitter) <= MAX_DELAY_MS);
            }
        }
    }

    #[test]
    fn bad_jitter_is_tamed() {
        assert_eq!(delay_ms(0, -3.0), 500.0);
        assert_eq!(delay_ms(0, 9.0), 1_000.0);
        assert_eq!(delay_ms(0, f64::NAN), 750.0);
    }
}
