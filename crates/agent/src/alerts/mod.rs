//! `--alert-webhook`: the agent evaluates the alert rules ([`dockscope_rules`], the same the
//! dashboard runs) on every batch it samples and posts each alert that fires or clears, for
//! when no browser is open. Without the flag none of this is started and the agent opens no
//! outbound connection at all.
//!
//! ```text
//!  sampler ──set()──► LatestSample ══watch══► evaluate ──Evaluator::observe──► changes
//!                                   (newest only)  │  RateLimiter: over the limit → counted,
//!                                                  │  summarised once a slot frees
//!                                                  ▼
//!                                                Outbox (≤ 100, oldest dropped)
//!                                                  │
//!                                   deliver ◄──────┘ POST, retried 1, 2, 4, 8 s (5 tries)
//! ```
//!
//! Two tasks, so a receiver that is slow or down (a minute of retries per message at worst)
//! never holds up evaluation, and evaluation never holds up the sampler: it takes the newest
//! snapshot by its `Arc`, and one that falls behind skips to the newest (restart counts and
//! OOM marks are cumulative, so nothing is missed that a later batch does not also show).
//!
//! - [`message`]: the JSON posted.
//! - [`pace`]: the rate limit, the retry schedule, the queue.
//! - [`webhook`]: the URL and one POST.

pub mod message;
pub mod pace;
pub mod webhook;

use std::sync::Arc;

use bytes::Bytes;
use chrono::Utc;
use dockscope_rules::{Change, Evaluator, Rule};
use serde::Serialize;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, instrument, warn};

use crate::sampler::{LatestSample, Snapshot};
use message::{AlertMessage, SuppressedMessage};
use pace::{retry_delay, Outbox, RateLimiter};
use webhook::{SetupError, Webhook, WebhookUrl};

/// What `--alert-webhook`, `--alert-rules` and `--alert-rate-limit` say.
#[derive(Debug, Clone)]
pub struct AlertSettings {
    /// Where to post.
    pub webhook: WebhookUrl,
    /// The rules file's rules, else [`dockscope_rules::default_rules`].
    pub rules: Vec<Rule>,
    /// Messages a minute, at most (a summary of the rest aside).
    pub per_minute: usize,
}

/// Starts evaluating and posting for the agent `agent_id` until `shutdown`; the handle ends
/// when both tasks have.
///
/// # Errors
/// [`SetupError`] when the TLS client cannot be built.
pub fn start(
    settings: AlertSettings,
    agent_id: String,
    latest: &LatestSample,
    shutdown: CancellationToken,
) -> Result<JoinHandle<()>, SetupError> {
    let webhook = Webhook::new(settings.webhook, env!("DOCKSCOPE_VERSION"))?;
    info!(
        webhook = %webhook.url(),
        rules = settings.rules.iter().filter(|r| r.enabled).count(),
        rate_limit = settings.per_minute,
        "alerts: evaluating the rules on every batch, posting changes to the webhook"
    );
    let outbox = Arc::new(Outbox::default());
    let evaluator = Evaluator::new(settings.rules);
    let limiter = RateLimiter::new(settings.per_minute);
    let snapshots = latest.subscribe();
    Ok(tokio::spawn(async move {
        tokio::join!(
            evaluate(
                evaluator,
                limiter,
                agent_id,
                snapshots,
                outbox.clone(),
                shutdown.clone()
            ),
            deliver(webhook, outbox, shutdown),
        );
    }))
}

/// Runs the rules on every new snapshot and queues a message per change.
#[instrument(skip_all)]
async fn evaluate(
    mut evaluator: Evaluator,
    mut limiter: RateLimiter,
    agent_id: String,
    mut snapshots: tokio::sync::watch::Receiver<Option<Arc<Snapshot>>>,
    outbox: Arc<Outbox>,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            changed = snapshots.changed() => {
                if changed.is_err() {
                    return; // The sampler is gone.
                }
            }
        }
        // Clone the Arc and let go of the channel at once: the sampler never waits for us.
        let Some(snapshot) = snapshots.borrow_and_update().clone() else {
            continue;
        };
        let now_ms = Utc::now().timestamp_millis();
        let changes = evaluator.observe(&agent_id, &snapshot.batch, now_ms);
        drop(snapshot);
        let now = Instant::now();
        if let Some((count, since_ms)) = limiter.summary(now) {
            warn!(
                left_out = count,
                rate_limit = limiter.per_minute(),
                "alert webhook: messages over --alert-rate-limit were not sent; posting a \
                 summary instead"
            );
            let summary =
                SuppressedMessage::new(&agent_id, count, limiter.per_minute(), since_ms, now_ms);
            outbox.push(to_json(&summary));
        }
        for change in &changes {
            let message = AlertMessage::new(change, now_ms);
            let status = match change {
                Change::Fired(_) => "firing",
                Change::Cleared(_) => "cleared",
            };
            info!(
                status,
                rule = %message.rule,
                container = %message.container_name,
                cause = %message.cause,
                "alert"
            );
            if limiter.admit(now, now_ms) {
                outbox.push(to_json(&message));
            } else {
                debug!(status, container = %message.container_name, "over the rate limit");
            }
        }
    }
}

fn to_json(message: &impl Serialize) -> Bytes {
    // These structs of strings and numbers always serialise.
    Bytes::from(serde_json::to_vec(message).unwrap_or_default())
}

/// Posts queued messages one at a time, oldest first, retrying each on transient failures.
#[instrument(skip_all, fields(webhook = %webhook.url()))]
async fn deliver(webhook: Webhook, outbox: Arc<Outbox>, shutdown: CancellationToken) {
    loop {
        let body = tokio::select! {
            () = shutdown.cancelled() => break,
            body = outbox.next() => body,
        };
        let mut attempt = 1;
        loop {
            let started = std::time::Instant::now();
            let result = tokio::select! {
                () = shutdown.cancelled() => {
                    warn!(waiting = outbox.len() + 1, "shutting down: alert messages not delivered");
                    return;
                }
                result = webhook.post(body.clone()) => result,
            };
            match result {
                Ok(status) => {
                    debug!(
                        %status,
                        attempt,
                        ms = started.elapsed().as_millis() as u64,
                        "alert posted"
                    );
                    break;
                }
                Err(e) if e.is_transient() => match retry_delay(attempt) {
                    Some(delay) => {
                        warn!(
                            attempt,
                            retry_in_s = delay.as_secs(),
                            error = %e,
                            "alert webhook failed (transient); retrying"
                        );
                        tokio::select! {
                            () = shutdown.cancelled() => {
                                warn!(waiting = outbox.len() + 1, "shutting down: alert messages not delivered");
                                return;
                            }
                            () = tokio::time::sleep(delay) => {}
                        }
                        attempt += 1;
                    }
                    None => {
                        error!(
                            attempts = attempt,
                            error = %e,
                            "alert webhook failed on every try; message dropped"
                        );
                        break;
                    }
                },
                Err(e) => {
                    error!(
                        error = %e,
                        "alert webhook refused the message (permanent: check the URL); dropped"
                    );
                    break;
                }
            }
        }
    }
    if !outbox.is_empty() {
        warn!(
            waiting = outbox.len(),
            "shutting down: alert messages not delivered"
        );
    }
}
