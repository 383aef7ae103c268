//! Clients that connect and never read cannot grow the agent's memory without bound, and do
//! not delay anybody else's batches.
//!
//! Bound under test: with 50 stalled clients and ~80 KB frames (400 synthetic containers),
//! agent RSS stays within 16 MiB of its single-client baseline, the stalled clients are
//! disconnected once a frame has waited 10 s, and a reading client still gets every batch
//! about once a second. CI holds the stalled clients for 30 s; `DOCKSCOPE_FULL_FAULTS=1` for
//! the full 2 minutes.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;

use std::time::{Duration, Instant};

use common::{connect, next_batch, Agent};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const STALLED: usize = 50;
const BOUND: u64 = 16 * 1024 * 1024;

/// Completes the WebSocket handshake by hand, then never reads again.
async fn stalled_client(port: u16) -> TcpStream {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    tcp.write_all(
        b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await
    .unwrap();
    tcp
}

#[tokio::test]
async fn stalled_clients_are_bounded_and_do_not_delay_live_ones() {
    let agent = Agent::start(&["--synthetic-containers", "400"]);
    let mut live = connect(&agent.url()).await;
    let (first, _) = next_batch(&mut live, Duration::from_secs(3)).await;
    let frame_bytes = serde_json::to_string(&first).unwrap().len();
    for _ in 0..3 {
        next_batch(&mut live, Duration::from_secs(3)).await;
    }
    let baseline = agent.rss_bytes();

    let mut stalled = Vec::new();
    for _ in 0..STALLED {
        stalled.push(stalled_client(agent.port).await);
    }

    let mut peak = baseline;
    let mut last = Instant::now();
    let mut worst_gap = Duration::ZERO;
    let hold = if std::env::var_os("DOCKSCOPE_FULL_FAULTS").is_some() {
        120
    } else {
        30
    };
    let until = Instant::now() + Duration::from_secs(hold);
    while Instant::now() < until {
        let (_, at) = next_batch(&mut live, Duration::from_secs(3)).await;
        worst_gap = worst_gap.max(at - last);
        last = at;
        peak = peak.max(agent.rss_bytes());
    }
    eprintln!(
        "frame {frame_bytes} B, baseline RSS {} KiB, peak {} KiB with {STALLED} stalled clients, worst live gap {worst_gap:?}",
        baseline / 1024,
        peak / 1024
    );
    assert!(
        frame_bytes > 50_000,
        "frames too small to stress buffering: {frame_bytes}"
    );
    assert!(
        peak - baseline < BOUND,
        "RSS grew {} KiB over baseline",
        (peak - baseline) / 1024
    );
    assert!(
        worst_gap < Duration::from_millis(1_500),
        "live client waited {worst_gap:?}"
    );

    // The agent gave up on every stalled client: each socket reaches EOF once drained.
    for mut tcp in stalled {
        let mut buf = vec![0u8; 1 << 16];
        let closed = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match tcp.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "a stalled client was never disconnected");
    }
}
