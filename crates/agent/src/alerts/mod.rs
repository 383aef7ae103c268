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
    let evaluation = Evaluation {
        evaluator: Evaluator::new(settings.rules),
        limiter: RateLimiter::new(settings.per_minute),
        agent_id,
        held: false,
    };
    let snapshots = latest.subscribe();
    Ok(tokio::spawn(async move {
        tokio::join!(
            evaluate(evaluation, snapshots, outbox.clone(), shutdown.clone()),
            deliver(webhook, outbox, shutdown),
        );
    }))
}

/// The rules, what they have seen, and the rate limit: one step per snapshot.
#[derive(Debug)]
struct Evaluation {
    /// The rules and their state per container.
    evaluator: Evaluator,
    /// How many messages may go now.
    limiter: RateLimiter,
    /// `--agent-id`, in every message.
    agent_id: String,
    /// Whether the last snapshot came without the engine: alerts are held meanwhile (logged
    /// once per outage).
    held: bool,
}

impl Evaluation {
    /// The messages `snapshot` gives rise to, at `now` (for the rate limit) and `now_ms`
    /// (Unix ms, in the messages), in the order they are to be posted.
    fn step(&mut self, snapshot: &Snapshot, now: Instant, now_ms: i64) -> Vec<Bytes> {
        if !snapshot.engine_reachable {
            // An empty batch because the engine is away is not every container leaving: no
            // "cleared" flood now and no second "firing" when it is back, and restart loops
            // keep their count.
            if !self.held {
                warn!("engine unreachable: alerts are held (neither fired nor cleared) until it answers");
                self.held = true;
            }
            return Vec::new();
        }
        if std::mem::take(&mut self.held) {
            info!("engine reachable again: evaluating the alert rules");
        }
        let changes = self
            .evaluator
            .observe(&self.agent_id, &snapshot.batch, now_ms);
        let mut out = Vec::new();
        if let Some((count, since_ms)) = self.limiter.summary(now) {
            warn!(
                left_out = count,
                rate_limit = self.limiter.per_minute(),
                "alert webhook: messages over --alert-rate-limit were not sent; posting a \
                 summary instead"
            );
            let per_minute = self.limiter.per_minute();
            out.push(to_json(&SuppressedMessage::new(
                &self.agent_id,
                count,
                per_minute,
                since_ms,
                now_ms,
            )));
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
            if self.limiter.admit(now, now_ms) {
                out.push(to_json(&message));
            } else {
                debug!(status, container = %message.container_name, "over the rate limit");
            }
        }
        out
    }
}

/// Runs the rules on every new snapshot and queues a message per change.
#[instrument(skip_all)]
async fn evaluate(
    mut evaluation: Evaluation,
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
        let messages = evaluation.step(&snapshot, Instant::now(), Utc::now().timestamp_millis());
        drop(snapshot);
        for message in messages {
            outbox.push(message);
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

#[cfg(test)]
mod tests {
    use super::*;
    use dockscope_protocol::{ContainerState, ContainerStats, ContainerStatsBatch, Health};
    use dockscope_rules::default_rules;
    use serde_json::Value;

    fn snapshot(containers: Vec<ContainerStats>, engine_reachable: bool) -> Snapshot {
        Snapshot {
            batch: ContainerStatsBatch {
                containers,
                ..ContainerStatsBatch::default()
            },
            counters: Vec::new(),
            engine_reachable,
        }
    }

    fn sick(name: &str) -> ContainerStats {
        ContainerStats {
            id: format!("{name}-id"),
            name: name.to_owned(),
            state: Some(ContainerState::Running),
            health: Some(Health::Unhealthy),
            ..ContainerStats::default()
        }
    }

    /// (status, container) of each message.
    fn said(messages: &[Bytes]) -> Vec<(String, String)> {
        messages
            .iter()
            .map(|m| {
                let json: Value = serde_json::from_slice(m).expect("json");
                let field = |k: &str| json[k].as_str().unwrap_or_default().to_owned();
                (field("status"), field("container_name"))
            })
            .collect()
    }

    #[test]
    fn an_engine_outage_holds_alerts_instead_of_clearing_them_all() {
        let mut evaluation = Evaluation {
            evaluator: Evaluator::new(default_rules()),
            limiter: RateLimiter::new(20),
            agent_id: "edge".into(),
            held: false,
        };
        let t0 = Instant::now();
        let second = std::time::Duration::from_secs(1);
        let firing = |name: &str| ("firing".to_owned(), name.to_owned());
        let cleared = |name: &str| ("cleared".to_owned(), name.to_owned());
        // (containers listed, engine reachable, messages)
        let steps = [
            (vec![sick("api")], true, vec![firing("api")]),
            (vec![sick("api")], true, vec![]),
            // The engine goes away: empty batches, nothing said, nothing forgotten.
            (vec![], false, vec![]),
            (vec![], false, vec![]),
            (vec![sick("api")], true, vec![]),
            // Gone for real, with the engine answering: cleared.
            (vec![], true, vec![cleared("api")]),
        ];
        for (n, (containers, reachable, want)) in steps.into_iter().enumerate() {
            let at = t0 + second * u32::try_from(n).expect("small");
            let got = evaluation.step(&snapshot(containers, reachable), at, 1_000 * n as i64);
            assert_eq!(said(&got), want, "step {n}");
        }
    }

    #[test]
    fn over_the_limit_changes_are_left_out_and_summarised_first_when_a_slot_frees() {
        let mut evaluation = Evaluation {
            evaluator: Evaluator::new(default_rules()),
            limiter: RateLimiter::new(2),
            agent_id: "edge".into(),
            held: false,
        };
        let t0 = Instant::now();
        let all: Vec<ContainerStats> = ["a", "b", "c", "d"].into_iter().map(sick).collect();
        let got = evaluation.step(&snapshot(all.clone(), true), t0, 0);
        assert_eq!(
            said(&got),
            [
                ("firing".to_owned(), "a".to_owned()),
                ("firing".to_owned(), "b".to_owned())
            ]
        );
        let later = t0 + pace::WINDOW;
        let got = evaluation.step(&snapshot(vec![], true), later, 60_000);
        let statuses: Vec<String> = said(&got).into_iter().map(|(s, _)| s).collect();
        assert_eq!(statuses, ["suppressed", "cleared", "cleared"]);
        let summary: Value = serde_json::from_slice(&got[0]).expect("json");
        assert_eq!(summary["suppressed"], 2);
    }
}
