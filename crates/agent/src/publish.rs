//! Fan-out: every message is numbered, serialised once, remembered as "latest" and broadcast to
//! all connected clients as shared bytes.
//!
//! Slow clients cannot make the agent buffer without bound: the broadcast channel keeps at most
//! [`CHANNEL_CAPACITY`] frames in total (not per client), and a client that falls behind skips
//! to the newest frames (see [`Subscription::next`]).

use std::sync::Mutex;

use axum::extract::ws::Utf8Bytes;
use dockscope_protocol::Message;
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};

/// Frames the channel keeps for the slowest reader; older ones are dropped for it.
pub const CHANNEL_CAPACITY: usize = 4;

/// One serialised message, cheap to clone (reference-counted bytes).
#[derive(Debug, Clone)]
pub struct Frame {
    /// The message's `sequence`.
    pub sequence: u64,
    /// Whether it is a `container_stats_batch` (else `agent_status`).
    pub is_batch: bool,
    /// The JSON text.
    pub text: Utf8Bytes,
}

/// Sequence numbering and the last frames, guarded together so numbering and "latest" agree.
#[derive(Debug, Default)]
struct State {
    /// The last sequence handed out; the next message gets one more.
    last_sequence: u64,
    /// Newest batch, sent to a client the moment it connects.
    latest_batch: Option<Frame>,
}

/// The one place messages are numbered and fanned out.
#[derive(Debug)]
pub struct Publisher {
    /// See [`State`].
    state: Mutex<State>,
    /// To every connected client.
    tx: broadcast::Sender<Frame>,
}

impl Default for Publisher {
    fn default() -> Self {
        Self::new()
    }
}

impl Publisher {
    /// A publisher with no clients and no messages yet.
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(CHANNEL_CAPACITY);
        Self {
            state: Mutex::new(State::default()),
            tx,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Numbers, serialises and broadcasts a message; `build` receives its sequence number.
    /// Returns the frame (also when nobody is connected).
    pub fn publish(&self, build: impl FnOnce(u64) -> Message) -> Frame {
        self.publish_keeping(build).0
    }

    /// [`Publisher::publish`], handing back the message as well, for a caller that keeps it
    /// (the sampler keeps the latest batch for `/metrics`) without cloning it.
    pub fn publish_keeping(&self, build: impl FnOnce(u64) -> Message) -> (Frame, Message) {
        let mut state = self.lock();
        let (frame, message) = number(&mut state, build);
        if frame.is_batch {
            state.latest_batch = Some(frame.clone());
        }
        // An error only means no client is connected right now.
        let _ = self.tx.send(frame.clone());
        (frame, message)
    }

    /// Subscribes a new client. Returns what it must be sent at once, in order: the latest
    /// batch (if any) and a fresh status built by `status` (numbered after everything already
    /// published, so the client's sequence numbers only ever increase).
    pub fn subscribe(&self, status: impl FnOnce(u64) -> Message) -> (Vec<Frame>, Subscription) {
        let mut state = self.lock();
        let rx = self.tx.subscribe();
        let mut first = Vec::with_capacity(2);
        first.extend(state.latest_batch.clone());
        let (status, _) = number(&mut state, status);
        let last_sent = status.sequence;
        first.push(status);
        (first, Subscription { rx, last_sent })
    }

    /// How many clients are subscribed.
    pub fn clients(&self) -> usize {
        self.tx.receiver_count()
    }
}

fn number(state: &mut State, build: impl FnOnce(u64) -> Message) -> (Frame, Message) {
    state.last_sequence += 1;
    let sequence = state.last_sequence;
    let message = build(sequence);
    let is_batch = matches!(message, Message::ContainerStatsBatch(_));
    // Encoding these types cannot fail (no non-string map keys); an empty frame would be
    // dropped by clients as malformed rather than crash the agent.
    let text = message.encode().unwrap_or_default();
    let frame = Frame {
        sequence,
        is_batch,
        text: Utf8Bytes::from(text),
    };
    (frame, message)
}

/// One client's view of the broadcast.
#[derive(Debug)]
pub struct Subscription {
    /// The shared channel.
    rx: broadcast::Receiver<Frame>,
    /// Highest sequence already handed to this client; anything older is skipped.
    last_sent: u64,
}

impl Subscription {
    /// The next frames to send: normally one; after falling behind, only the newest batch and
    /// the newest status, in sequence order. `None` when the publisher is gone.
    pub async fn next(&mut self) -> Option<Vec<Frame>> {
        loop {
            match self.rx.recv().await {
                Ok(frame) if frame.sequence <= self.last_sent => continue,
                Ok(frame) => {
                    self.last_sent = frame.sequence;
                    return Some(vec![frame]);
                }
                Err(RecvError::Lagged(skipped)) => {
                    tracing::debug!(skipped, "client lagging; skipping to the newest frames");
                    let frames = self.newest();
                    if !frames.is_empty() {
                        return Some(frames);
                    }
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }

    /// Drains what is queued, keeping only the newest batch and the newest status.
    fn newest(&mut self) -> Vec<Frame> {
        let (mut batch, mut status): (Option<Frame>, Option<Frame>) = (None, None);
        loop {
            match self.rx.try_recv() {
                Ok(frame) if frame.sequence <= self.last_sent => {}
                Ok(frame) if frame.is_batch => batch = Some(frame),
                Ok(frame) => status = Some(frame),
                Err(TryRecvError::Lagged(_)) => {}
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        let mut frames: Vec<Frame> = batch.into_iter().chain(status).collect();
        frames.sort_by_key(|f| f.sequence);
        if let Some(last) = frames.last() {
            self.last_sent = last.sequence;
        }
        frames
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use dockscope_protocol::{AgentMetrics, AgentStatus, ContainerStatsBatch};

    fn batch(sequence: u64) -> Message {
        Message::ContainerStatsBatch(ContainerStatsBatch {
            agent_id: "t".into(),
            sent_at: Utc::now(),
            sequence: Some(sequence),
            containers: vec![],
            agent_metrics: AgentMetrics::default(),
            ..ContainerStatsBatch::default()
        })
    }

    fn status(sequence: u64) -> Message {
        Message::AgentStatus(AgentStatus {
            agent_id: "t".into(),
            sent_at: Utc::now(),
            sequence: Some(sequence),
            uptime_secs: 0,
            version: "test".into(),
            revision: None,
            features: vec![],
            engine_reachable: Some(true),
            engine_version: None,
            engine_error: None,
            ..AgentStatus::default()
        })
    }

    fn decoded_sequence(frame: &Frame) -> u64 {
        dockscope_protocol::decode(frame.text.as_str())
            .expect("frame decodes")
            .sequence()
            .expect("known type")
    }

    #[test]
    fn sequence_is_strictly_increasing_across_message_types() {
        let publisher = Publisher::new();
        let mut seen = vec![];
        for i in 0..50 {
            let frame = if i % 7 == 0 {
                publisher.publish(status)
            } else {
                publisher.publish(batch)
            };
            assert_eq!(frame.sequence, decoded_sequence(&frame));
            seen.push(frame.sequence);
        }
        let (first, _) = publisher.subscribe(status);
        seen.extend(first.iter().skip(1).map(|f| f.sequence));
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    }

    #[tokio::test]
    async fn new_client_gets_latest_batch_then_fresh_status_then_live_frames() {
        let publisher = Publisher::new();
        publisher.publish(batch);
        let latest = publisher.publish(batch);
        let (first, mut sub) = publisher.subscribe(status);
        assert_eq!(first.len(), 2);
        assert_eq!(first[0].sequence, latest.sequence);
        assert!(!first[1].is_batch && first[1].sequence > latest.sequence);
        let live = publisher.publish(batch);
        let next = sub.next().await.expect("open");
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].sequence, live.sequence);
    }

    #[tokio::test]
    async fn slow_client_skips_to_newest_instead_of_queueing() {
        let publisher = Publisher::new();
        let (_, mut slow) = publisher.subscribe(status);
        let mut last_status = 0;
        let mut last_batch = 0;
        for i in 0..100 {
            if i == 60 {
                last_status = publisher.publish(status).sequence;
            } else {
                last_batch = publisher.publish(batch).sequence;
            }
        }
        let frames = slow.next().await.expect("open");
        let sequences: Vec<u64> = frames.iter().map(|f| f.sequence).collect();
        // The status from i == 60 was overwritten in the ring long ago and the batches still
        // queued are superseded: exactly the newest batch is delivered, no backlog.
        assert_eq!(sequences, vec![last_batch], "status was {last_status}");
        // Skipping drained the client's queue: nothing it missed is still held for it.
        assert_eq!(slow.rx.len(), 0, "frames still queued after skipping");
        let next = publisher.publish(batch);
        assert_eq!(slow.next().await.expect("open")[0].sequence, next.sequence);
    }

    #[tokio::test]
    async fn lagging_client_keeps_the_newest_status_when_it_is_still_queued() {
        let publisher = Publisher::new();
        let (_, mut slow) = publisher.subscribe(status);
        for _ in 0..10 {
            publisher.publish(batch);
        }
        let st = publisher.publish(status).sequence;
        let b = publisher.publish(batch).sequence;
        let frames = slow.next().await.expect("open");
        let sequences: Vec<u64> = frames.iter().map(|f| f.sequence).collect();
        assert_eq!(sequences, vec![st, b]);
    }
}
