//! How many messages go out and when: the rate limit ([`RateLimiter`]), the retry schedule
//! ([`retry_delay`]) and the bounded queue between evaluation and delivery ([`Outbox`]).
//! Nothing here posts or evaluates; times are passed in, so the policy is tested without
//! waiting.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::Notify;
use tokio::time::Instant;
use tracing::warn;

/// `--alert-rate-limit`'s default: a burst (a host's containers all OOM at once) is a few
/// messages and a summary, not a flood a chat channel mutes; Slack itself takes about one a
/// second per webhook.
pub const DEFAULT_PER_MINUTE: usize = 20;
/// The window of the rate limit.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Tries per message: the first and four retries, 1 + 2 + 4 + 8 = 15 s of waiting in all, so
/// a receiver restarting or a short network blip loses nothing.
pub const MAX_ATTEMPTS: u32 = 5;
/// The wait after the first failure; each further one doubles it.
pub const FIRST_RETRY: Duration = Duration::from_secs(1);
/// Messages waiting for delivery, at most: 5 minutes of the default rate; while the receiver
/// is down longer, the oldest go.
pub const QUEUE_CAPACITY: usize = 100;

/// How long to wait after failed attempt `attempt` (1 is the first try) before the next, or
/// `None` when that was the last.
#[must_use]
pub fn retry_delay(attempt: u32) -> Option<Duration> {
    (1..MAX_ATTEMPTS)
        .contains(&attempt)
        .then(|| FIRST_RETRY * 2u32.pow(attempt - 1))
}

/// At most `per_minute` messages in any 60 s; the rest are counted, and once one could go
/// again a summary says how many were left out. The summary does not take a slot of its own
/// (so even a limit of 1 still lets alerts through): at most `per_minute + 1` posts a minute.
#[derive(Debug)]
pub struct RateLimiter {
    /// The limit.
    per_minute: usize,
    /// When each message of the last minute was let through, oldest first.
    sent: VecDeque<Instant>,
    /// Left out since the last summary: how many, and when the first was (Unix ms).
    left_out: Option<(usize, i64)>,
}

impl RateLimiter {
    /// A limiter letting `per_minute` through (at least 1).
    #[must_use]
    pub fn new(per_minute: usize) -> RateLimiter {
        RateLimiter {
            per_minute: per_minute.max(1),
            sent: VecDeque::new(),
            left_out: None,
        }
    }

    /// The limit.
    #[must_use]
    pub fn per_minute(&self) -> usize {
        self.per_minute
    }

    fn expire(&mut self, now: Instant) {
        while self
            .sent
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= WINDOW)
        {
            self.sent.pop_front();
        }
    }

    /// Whether a message may go at `now` (taking a slot when it may); one that may not is
    /// counted for the summary, with `wall_ms` as its time.
    pub fn admit(&mut self, now: Instant, wall_ms: i64) -> bool {
        self.expire(now);
        if self.sent.len() < self.per_minute {
            self.sent.push_back(now);
            return true;
        }
        let (count, since) = self.left_out.get_or_insert((0, wall_ms));
        *count += 1;
        *since = (*since).min(wall_ms);
        false
    }

    /// When messages were left out and one could go again now: how many, and since when
    /// (Unix ms). Each left-out message is summarised once.
    pub fn summary(&mut self, now: Instant) -> Option<(usize, i64)> {
        self.expire(now);
        if self.sent.len() < self.per_minute {
            self.left_out.take()
        } else {
            None
        }
    }
}

/// The queue between evaluation and delivery: evaluation pushes and never waits; delivery
/// takes the oldest and may spend a minute retrying it meanwhile. Bounded: when it is full the
/// oldest message is dropped (logged once per overflow, and the total when it drains).
#[derive(Debug, Default)]
pub struct Outbox {
    /// The messages and the overflow count.
    state: Mutex<OutboxState>,
    /// Wakes delivery when a message is pushed.
    ready: Notify,
}

#[derive(Debug, Default)]
struct OutboxState {
    /// Oldest first.
    queue: VecDeque<Bytes>,
    /// Dropped since the queue was last empty.
    dropped: usize,
}

impl Outbox {
    /// Queues `body`, dropping the oldest when [`QUEUE_CAPACITY`] are waiting.
    pub fn push(&self, body: Bytes) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.queue.len() >= QUEUE_CAPACITY {
            state.queue.pop_front();
            state.dropped += 1;
            if state.dropped == 1 {
                warn!(
                    capacity = QUEUE_CAPACITY,
                    "alert webhook: queue full (the receiver is slow or down), dropping the \
                     oldest messages"
                );
            }
        }
        state.queue.push_back(body);
        drop(state);
        self.ready.notify_one();
    }

    /// The oldest message, waiting for one when there is none.
    pub async fn next(&self) -> Bytes {
        loop {
            {
                let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(body) = state.queue.pop_front() {
                    if state.queue.is_empty() && state.dropped > 0 {
                        warn!(
                            dropped = state.dropped,
                            "alert webhook: the queue drained; messages were dropped while it \
                             was full"
                        );
                        state.dropped = 0;
                    }
                    return body;
                }
            }
            // A push between the check and here left a permit: this returns at once.
            self.ready.notified().await;
        }
    }

    /// Messages waiting.
    pub fn len(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .queue
            .len()
    }

    /// Whether none are waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_one_two_four_eight_seconds_then_give_up() {
        let table = [
            (0, None),
            (1, Some(1)),
            (2, Some(2)),
            (3, Some(4)),
            (4, Some(8)),
            (5, None),
            (6, None),
            (u32::MAX, None),
        ];
        for (attempt, secs) in table {
            assert_eq!(
                retry_delay(attempt),
                secs.map(Duration::from_secs),
                "after attempt {attempt}"
            );
        }
        let waited: Duration = (1..MAX_ATTEMPTS).filter_map(retry_delay).sum();
        assert_eq!(waited, Duration::from_secs(15));
    }

    #[test]
    fn the_limit_holds_over_any_minute_and_the_summary_comes_when_a_slot_frees() {
        let t0 = Instant::now();
        let at = |secs: u64| t0 + Duration::from_secs(secs);
        let mut limiter = RateLimiter::new(3);
        // (second, what happens, expected: admitted or the summary taken)
        enum Step {
            Admit(bool),
            Summary(Option<(usize, i64)>),
        }
        use Step::{Admit, Summary};
        let steps = [
            (0, Admit(true)),
            (0, Admit(true)),
            (10, Admit(true)),
            (10, Summary(None)),
            (11, Admit(false)),
            (12, Admit(false)),
            (30, Admit(false)),
            (59, Summary(None)),
            // The two of second 0 leave the window: a slot, and the summary of three.
            (60, Summary(Some((3, 11_000)))),
            (60, Summary(None)),
            (60, Admit(true)),
            (60, Admit(true)),
            (61, Admit(false)),
            // Second 10's leaves at 70.
            (69, Summary(None)),
            (70, Summary(Some((1, 61_000)))),
            (70, Admit(true)),
            (200, Summary(None)),
            (200, Admit(true)),
        ];
        for (n, (second, step)) in steps.into_iter().enumerate() {
            let wall = i64::try_from(second).expect("small") * 1_000;
            match step {
                Admit(want) => assert_eq!(limiter.admit(at(second), wall), want, "step {n}"),
                Summary(want) => assert_eq!(limiter.summary(at(second)), want, "step {n}"),
            }
        }
    }

    #[test]
    fn a_limit_of_one_still_lets_alerts_through_beside_the_summary() {
        let t0 = Instant::now();
        let mut limiter = RateLimiter::new(1);
        assert!(limiter.admit(t0, 0));
        assert!(!limiter.admit(t0, 0));
        let later = t0 + WINDOW;
        assert_eq!(limiter.summary(later), Some((1, 0)));
        assert!(limiter.admit(later, 60_000));
        assert_eq!(RateLimiter::new(0).per_minute(), 1);
    }

    #[tokio::test]
    async fn the_queue_keeps_the_newest_hundred_in_order() {
        let outbox = Outbox::default();
        for i in 0..QUEUE_CAPACITY + 5 {
            outbox.push(Bytes::from(i.to_string()));
        }
        assert_eq!(outbox.len(), QUEUE_CAPACITY);
        let first = outbox.next().await;
        assert_eq!(first, Bytes::from("5"));
        let mut last = first;
        while !outbox.is_empty() {
            last = outbox.next().await;
        }
        assert_eq!(last, (QUEUE_CAPACITY + 4).to_string());
        // Empty: next() waits for the next push.
        let waiting = tokio::time::timeout(Duration::from_millis(20), outbox.next()).await;
        assert!(waiting.is_err());
        outbox.push(Bytes::from_static(b"late"));
        assert_eq!(outbox.next().await, Bytes::from_static(b"late"));
    }
}
