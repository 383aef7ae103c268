//! Any host size: batches of 3,000 and 10,000 containers (frames of about 0.6 and 2 MB,
//! far past the 512 KiB write buffer that used to drop every client) reach three clients at
//! once, whole and in order, once a second.
//!
//! Each client checks what a dashboard would notice: every batch lists all N containers (N
//! distinct ids), sequence numbers only go up, and consecutive batches were sampled about a
//! second apart (a skipped batch would leave two seconds) and arrive without a stall.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::{connect, Agent};
use dockscope_protocol::{decode, Message};
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message as WsMessage;

const CLIENTS: usize = 3;
/// Consecutive batches each client must receive after its first.
const BATCHES: usize = 5;

/// What one client saw.
#[derive(Debug)]
struct Seen {
    /// Bytes of the largest batch frame.
    frame_bytes: usize,
    /// Largest wall-clock gap between two batches arriving.
    worst_gap: Duration,
    /// `sent_at` differences between consecutive batches, seconds.
    spacing: Vec<f64>,
}

/// Reads until `BATCHES` consecutive batches after the first have arrived, checking each.
async fn read_batches(url: String, n: usize) -> Seen {
    let mut ws = connect(&url).await;
    let mut last_sequence: Option<u64> = None;
    let mut synced = false;
    let mut batches = Vec::new();
    let mut last_at: Option<Instant> = None;
    let mut worst_gap = Duration::ZERO;
    let mut frame_bytes = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while batches.len() < BATCHES + 1 {
        let frame = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("batches keep coming")
            .expect("the agent keeps the connection open")
            .expect("frame ok");
        let WsMessage::Text(text) = frame else {
            continue;
        };
        let message = decode(text.as_str()).expect("valid message");
        let sequence = match &message {
            Message::ContainerStatsBatch(b) => b.sequence,
            Message::AgentStatus(s) => s.sequence,
            // Contract 6: the few seconds of history sampled before this client came.
            Message::History(h) => h.sequence,
            Message::ContainerEvent(e) => e.sequence,
            other => panic!("our agent sent a message of unknown type: {other:?}"),
        }
        .expect("our agent numbers every message");
        // Other clients' greeting statuses take numbers too, so the sequence may jump; it
        // never goes back. A skipped batch shows as two seconds between `sent_at`s.
        assert!(
            last_sequence.is_none_or(|last| sequence > last),
            "sequence went back: {last_sequence:?} then {sequence}"
        );
        last_sequence = Some(sequence);
        match message {
            Message::AgentStatus(_) => synced = true,
            Message::ContainerStatsBatch(batch) if synced => {
                let ids: HashSet<&str> = batch.containers.iter().map(|c| c.id.as_str()).collect();
                assert_eq!(batch.containers.len(), n, "a whole batch");
                assert_eq!(ids.len(), n, "every container once");
                let now = Instant::now();
                if let Some(at) = last_at {
                    worst_gap = worst_gap.max(now - at);
                }
                last_at = Some(now);
                frame_bytes = frame_bytes.max(text.len());
                batches.push(batch.sent_at);
            }
            _ => {}
        }
    }
    let spacing = batches
        .windows(2)
        .map(|w| (w[1] - w[0]).num_milliseconds() as f64 / 1000.0)
        .collect();
    Seen {
        frame_bytes,
        worst_gap,
        spacing,
    }
}

async fn whole_batches_reach_every_client(n: usize) {
    let agent = Agent::start(&["--synthetic-containers", &n.to_string()]);
    let readers: Vec<_> = (0..CLIENTS)
        .map(|_| tokio::spawn(read_batches(agent.url(), n)))
        .collect();
    for reader in readers {
        let seen = reader.await.expect("client task");
        eprintln!(
            "{n} containers: frame {} B, worst gap {:?}, sent_at spacing {:?}",
            seen.frame_bytes, seen.worst_gap, seen.spacing
        );
        assert!(
            seen.frame_bytes > 512 * 1024,
            "frames of {} B do not exceed the old 512 KiB limit",
            seen.frame_bytes
        );
        assert!(
            seen.spacing.iter().all(|s| (0.5..=1.5).contains(s)),
            "batches not sampled once a second: {:?}",
            seen.spacing
        );
        assert!(
            seen.worst_gap < Duration::from_millis(2_000),
            "a client waited {:?} between batches",
            seen.worst_gap
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn three_thousand_containers_stream_whole_batches() {
    whole_batches_reach_every_client(3_000).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_thousand_containers_stream_whole_batches() {
    whole_batches_reach_every_client(10_000).await;
}
