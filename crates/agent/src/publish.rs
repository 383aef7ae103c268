//! Fan-out: every message is numbered, serialised once, remembered as "latest" and broadcast to
//! all connected clients as shared bytes. Container events are also numbered here (their
//! `event_id`) and the last [`EVENT_LOG`] kept, so a new client gets them on connect and a
//! client that falls behind gets the ones it missed.
//!
//! Slow clients cannot make the agent buffer without bound: the broadcast channel keeps at most
//! [`CHANNEL_CAPACITY`] frames in total (not per client), and a client that falls behind skips
//! to the newest frames (see [`Subscription::next`]) and is sent the events it missed from the
//! log instead of the frames that were dropped for it.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use axum::extract::ws::Utf8Bytes;
use chrono::Utc;
use dockscope_protocol::{ContainerEvent, Message};
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};

/// Frames the channel keeps for the slowest reader; older ones are dropped for it.
pub const CHANNEL_CAPACITY: usize = 4;
/// Container events kept for new and lagging clients (about 150 KB of JSON when full).
pub const EVENT_LOG: usize = 500;

/// One serialised message, cheap to clone (reference-counted bytes).
#[derive(Debug, Clone)]
pub struct Frame {
    /// The message's `sequence`.
    pub sequence: u64,
    /// Whether it is a `container_stats_batch`.
    pub is_batch: bool,
    /// The `event_id` of a `container_event`; `None` for every other type.
    pub event_id: Option<u64>,
    /// The JSON text.
    pub text: Utf8Bytes,
}

/// Sequence numbering, the last frames and the event log, guarded together so numbering,
/// "latest" and the log agree.
#[derive(Debug, Default)]
struct State {
    /// The last sequence handed out; the next message gets one more.
    last_sequence: u64,
    /// Newest batch, sent to a client the moment it connects.
    latest_batch: Option<Frame>,
    /// The last `event_id` handed out.
    last_event_id: u64,
    /// The last [`EVENT_LOG`] events, oldest first, as published.
    events: VecDeque<ContainerEvent>,
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

/// What a new client is sent before its [`Subscription`]'s frames, in this order.
#[derive(Debug)]
pub struct Connect {
    /// The latest batch (if any) and a fresh status.
    pub first: Vec<Frame>,
    /// The event log, oldest first, renumbered for this sending (encode each, then send).
    pub events: Vec<Message>,
    /// Sequence numbers reserved for this client's `history` chunks, one each.
    pub history: Range<u64>,
    /// Everything published from now on.
    pub subscription: Subscription,
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

    /// Numbers a container event (`event_id` from 1, and its `sequence`), stamps `sent_at`,
    /// keeps it in the log (the oldest beyond [`EVENT_LOG`] is dropped) and broadcasts it.
    pub fn publish_event(&self, mut event: ContainerEvent) -> Frame {
        let mut state = self.lock();
        state.last_event_id += 1;
        event.event_id = state.last_event_id;
        let (frame, message) = number(&mut state, |sequence| {
            event.sequence = Some(sequence);
            event.sent_at = Utc::now();
            Message::ContainerEvent(event)
        });
        if let Message::ContainerEvent(event) = message {
            if state.events.len() == EVENT_LOG {
                state.events.pop_front();
            }
            state.events.push_back(event);
        }
        let _ = self.tx.send(frame.clone());
        frame
    }

    /// Subscribes a new client. Returns what it must be sent at once, in order (see
    /// [`Connect`]): the latest batch, a fresh status built by `status`, the event log, and
    /// `history_chunks` sequence numbers for its history — all numbered after everything
    /// already published and before anything published later, so the client's sequence
    /// numbers only ever increase.
    pub fn subscribe(
        self: &Arc<Self>,
        status: impl FnOnce(u64) -> Message,
        history_chunks: usize,
    ) -> Connect {
        let mut state = self.lock();
        let rx = self.tx.subscribe();
        let mut first = Vec::with_capacity(2);
        first.extend(state.latest_batch.clone());
        let (status, _) = number(&mut state, status);
        first.push(status);
        // History before the event log: a page's charts wait for the history, its feed for
        // the events (up to 500 frames). Numbered in the order they are sent.
        let start = state.last_sequence + 1;
        state.last_sequence += history_chunks as u64;
        let history = start..state.last_sequence + 1;
        let events = replay(&mut state, 0);
        let subscription = Subscription {
            rx,
            last_sent: state.last_sequence,
            last_event_id: state.last_event_id,
            publisher: self.clone(),
        };
        Connect {
            first,
            events,
            history,
            subscription,
        }
    }

    /// How many clients are subscribed.
    pub fn clients(&self) -> usize {
        self.tx.receiver_count()
    }
}

/// The logged events after `after_id`, each with a new sequence number and `sent_at`.
fn replay(state: &mut State, after_id: u64) -> Vec<Message> {
    let mut sequence = state.last_sequence;
    let now = Utc::now();
    let events = state
        .events
        .iter()
        .filter(|e| e.event_id > after_id)
        .map(|e| {
            sequence += 1;
            Message::ContainerEvent(ContainerEvent {
                sequence: Some(sequence),
                sent_at: now,
                ..e.clone()
            })
        })
        .collect();
    state.last_sequence = sequence;
    events
}

fn number(state: &mut State, build: impl FnOnce(u64) -> Message) -> (Frame, Message) {
    state.last_sequence += 1;
    let sequence = state.last_sequence;
    let message = build(sequence);
    let frame = frame_of(sequence, &message);
    (frame, message)
}

/// Serialises `message`, numbered `sequence`.
pub fn frame_of(sequence: u64, message: &Message) -> Frame {
    let is_batch = matches!(message, Message::ContainerStatsBatch(_));
    let event_id = match message {
        Message::ContainerEvent(event) => Some(event.event_id),
        _ => None,
    };
    // Encoding these types cannot fail (no non-string map keys); an empty frame would be
    // dropped by clients as malformed rather than crash the agent.
    let text = message.encode().unwrap_or_default();
    Frame {
        sequence,
        is_batch,
        event_id,
        text: Utf8Bytes::from(text),
    }
}

/// One client's view of the broadcast.
#[derive(Debug)]
pub struct Subscription {
    /// The shared channel.
    rx: broadcast::Receiver<Frame>,
    /// Highest sequence already handed to this client; anything older is skipped.
    last_sent: u64,
    /// Highest `event_id` handed to this client (or in its replay).
    last_event_id: u64,
    /// For the events a lagging client missed.
    publisher: Arc<Publisher>,
}

impl Subscription {
    /// The next frames to send: normally one; after falling behind, only the newest batch and
    /// the newest status, then every event it missed that is still in the log, in sequence
    /// order. `None` when the publisher is gone.
    pub async fn next(&mut self) -> Option<Vec<Frame>> {
        loop {
            match self.rx.recv().await {
                Ok(frame) if frame.sequence <= self.last_sent => continue,
                Ok(frame) => {
                    self.last_sent = frame.sequence;
                    if let Some(id) = frame.event_id {
                        self.last_event_id = self.last_event_id.max(id);
                    }
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

    /// Drains what is queued, keeping only the newest batch and the newest status, and adds
    /// the events missed (from the log: the channel may have dropped some).
    fn newest(&mut self) -> Vec<Frame> {
        let (mut batch, mut status): (Option<Frame>, Option<Frame>) = (None, None);
        loop {
            match self.rx.try_recv() {
                Ok(frame) if frame.sequence <= self.last_sent => {}
                Ok(frame) if frame.event_id.is_some() => {}
                Ok(frame) if frame.is_batch => batch = Some(frame),
                Ok(frame) => status = Some(frame),
                Err(TryRecvError::Lagged(_)) => {}
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        let mut frames: Vec<Frame> = batch.into_iter().chain(status).collect();
        let missed = {
            let mut state = self.publisher.lock();
            let missed = replay(&mut state, self.last_event_id);
            // Frames published before this point and not drained are older than the
            // replay's numbers and skipped; events among them are in the replay.
            self.last_sent = self.last_sent.max(state.last_sequence);
            self.last_event_id = state.last_event_id;
            missed
        };
        frames.extend(
            missed
                .iter()
                .filter_map(|m| m.sequence().map(|s| frame_of(s, m))),
        );
        frames.sort_by_key(|f| f.sequence);
        if let Some(last) = frames.last() {
            self.last_sent = self.last_sent.max(last.sequence);
        }
        frames
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use dockscope_protocol::{AgentMetrics, AgentStatus, ContainerStatsBatch, EventAction};

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
        let publisher = Arc::new(Publisher::new());
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
        let first = publisher.subscribe(status, 0).first;
        seen.extend(first.iter().skip(1).map(|f| f.sequence));
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    }

    #[tokio::test]
    async fn new_client_gets_latest_batch_then_fresh_status_then_live_frames() {
        let publisher = Arc::new(Publisher::new());
        publisher.publish(batch);
        let latest = publisher.publish(batch);
        let Connect {
            first,
            subscription: mut sub,
            ..
        } = publisher.subscribe(status, 0);
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
        let publisher = Arc::new(Publisher::new());
        let mut slow = publisher.subscribe(status, 0).subscription;
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
        let publisher = Arc::new(Publisher::new());
        let mut slow = publisher.subscribe(status, 0).subscription;
        for _ in 0..10 {
            publisher.publish(batch);
        }
        let st = publisher.publish(status).sequence;
        let b = publisher.publish(batch).sequence;
        let frames = slow.next().await.expect("open");
        let sequences: Vec<u64> = frames.iter().map(|f| f.sequence).collect();
        assert_eq!(sequences, vec![st, b]);
    }

    fn event(name: &str) -> ContainerEvent {
        ContainerEvent {
            agent_id: "t".into(),
            sent_at: Utc::now(),
            sequence: None,
            event_id: 0,
            time: Utc::now(),
            id: format!("{name:0>64}"),
            name: name.into(),
            action: EventAction::Start,
            image: None,
            exit_code: None,
            oom_killed: None,
            signal: None,
            health: None,
        }
    }

    fn event_ids(messages: &[Message]) -> Vec<u64> {
        messages
            .iter()
            .map(|m| match m {
                Message::ContainerEvent(e) => e.event_id,
                other => panic!("not an event: {other:?}"),
            })
            .collect()
    }

    #[tokio::test]
    async fn events_are_numbered_logged_and_replayed_with_the_same_ids() {
        let publisher = Arc::new(Publisher::new());
        let mut early = publisher.subscribe(status, 0).subscription;
        let frames: Vec<Frame> = (0..(EVENT_LOG + 20))
            .map(|i| publisher.publish_event(event(&i.to_string())))
            .collect();
        let ids: Vec<u64> = frames
            .iter()
            .map(|f| f.event_id.expect("an event"))
            .collect();
        assert_eq!(ids, (1..=(EVENT_LOG as u64 + 20)).collect::<Vec<_>>());
        publisher.publish(batch);
        let connect = publisher.subscribe(status, 3);
        // The log holds the newest 500, oldest first, renumbered after the history.
        assert_eq!(
            event_ids(&connect.events),
            (21..=(EVENT_LOG as u64 + 20)).collect::<Vec<_>>()
        );
        // In the order they are sent: batch and status, history chunks, the event log.
        let mut sequences: Vec<u64> = connect.first.iter().map(|f| f.sequence).collect();
        sequences.extend(connect.history.clone());
        sequences.extend(
            connect
                .events
                .iter()
                .map(|m| m.sequence().expect("numbered")),
        );
        assert_eq!(connect.history.end - connect.history.start, 3);
        let live = publisher.publish(batch);
        sequences.push(live.sequence);
        assert!(sequences.windows(2).all(|w| w[0] < w[1]), "{sequences:?}");
        // The early client fell far behind: it gets the newest batch and the events still
        // logged that it had not been sent, nothing twice.
        let caught_up = early.next().await.expect("open");
        let missed: Vec<u64> = caught_up.iter().filter_map(|f| f.event_id).collect();
        assert_eq!(missed, (21..=(EVENT_LOG as u64 + 20)).collect::<Vec<_>>());
        assert!(caught_up.iter().any(|f| f.is_batch));
        let seqs: Vec<u64> = caught_up.iter().map(|f| f.sequence).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
        let after = publisher.publish_event(event("late"));
        let next = early.next().await.expect("open");
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].event_id, after.event_id);
    }

    #[tokio::test]
    async fn a_client_that_keeps_up_gets_every_event_once() {
        let publisher = Arc::new(Publisher::new());
        let mut sub = publisher.subscribe(status, 0).subscription;
        let mut got = Vec::new();
        for i in 0..50 {
            publisher.publish_event(event(&i.to_string()));
            for f in sub.next().await.expect("open") {
                got.extend(f.event_id);
            }
        }
        assert_eq!(got, (1..=50).collect::<Vec<_>>());
    }
}
