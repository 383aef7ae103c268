//! Clients that connect and never read cannot grow the agent's memory without bound, and do
//! not delay anybody else's batches; the agent drops them through its stalled-writer path.
//!
//! Bound under test: with 50 stalled clients and ~90 KB frames (100 synthetic containers, each with every contract 5 figure),
//! agent RSS stays within 16 MiB of its single-client baseline, a reading client still gets
//! every batch about once a second, and every stalled client is dropped because a frame could
//! not be written for 10 s: the agent logs "dropping client that stopped reading" once per
//! stalled client and never "stopped answering pings". The stalled clients are not silent:
//! each sends a pong every half second (an unsolicited pong is a valid heartbeat), so the 30 s
//! silence limit cannot be what drops them. How long that takes depends on the kernel: the
//! agent's socket send buffer (autotuned up to `net.ipv4.tcp_wmem`'s maximum, 4 MiB by
//! default) fills at the frame rate before a write can block, then the 10 s run; about 50 s
//! here. The wait is bounded by that condition (at most 3 minutes). CI runs one wave of stalled
//! clients; `DOCKSCOPE_FULL_FAULTS=1` keeps sending new waves for 3 minutes.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;

use std::time::{Duration, Instant};

use common::{Agent, Feed};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio::task::JoinHandle;

const STALLED: usize = 50;
const BOUND: u64 = 16 * 1024 * 1024;
/// The agent's limit (server.rs): a frame that cannot be written for this long drops the
/// client.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a wave may take to be dropped at most: far beyond buffer fill + `SEND_TIMEOUT`.
const DROP_WITHIN: Duration = Duration::from_secs(180);
const PONG_EVERY: Duration = Duration::from_millis(500);
/// A masked, empty pong frame (client frames must be masked).
const PONG: [u8; 6] = [0x8A, 0x80, 0x12, 0x34, 0x56, 0x78];

/// Completes the WebSocket handshake by hand with a tiny receive buffer (reading only the
/// `101` response), never reads again, and sends a pong every [`PONG_EVERY`] from a task that
/// returns how long after the handshake the agent dropped it (a pong could no longer be
/// written).
async fn stalled_client(port: u16) -> JoinHandle<Duration> {
    let socket = TcpSocket::new_v4().unwrap();
    // Small, so the kernel on this side holds only a few KiB of what the agent sends.
    socket.set_recv_buffer_size(4096).unwrap();
    let mut tcp = socket.connect(([127, 0, 0, 1], port).into()).await.unwrap();
    tcp.write_all(
        b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await
    .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8];
        tcp.read_exact(&mut byte)
            .await
            .expect("a handshake response");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "not upgraded: {head}");
    let upgraded = Instant::now();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(PONG_EVERY).await;
            // The first write after the agent closed draws a reset; the next one fails.
            if tcp.write_all(&PONG).await.is_err() {
                return upgraded.elapsed();
            }
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_clients_are_dropped_by_the_send_timeout_and_do_not_delay_live_ones() {
    let dir = std::env::temp_dir().join(format!("ds-slow-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("agent.log");
    let agent = Agent::start_logged(
        &[
            "--synthetic-containers",
            "100",
            "--max-clients-per-peer",
            "64",
        ],
        &log,
    );
    let mut live = Feed::connect(&agent.url()).await;
    let (first, _) = live.next_batch(Duration::from_secs(3)).await;
    let frame_bytes = serde_json::to_string(&first).unwrap().len();
    for _ in 0..3 {
        live.next_batch(Duration::from_secs(3)).await;
    }
    let baseline = agent.rss_bytes();

    let hold = Duration::from_secs(if std::env::var_os("DOCKSCOPE_FULL_FAULTS").is_some() {
        180
    } else {
        0
    });
    let begin = Instant::now();
    let mut peak = baseline;
    let mut last = Instant::now();
    let mut worst_gap = Duration::ZERO;
    let mut drops = Vec::new();
    let mut waves = 0;
    // Peak RSS of each wave, to tell growth per wave from a one-off.
    let mut wave_peaks = Vec::new();
    while waves == 0 || begin.elapsed() < hold {
        waves += 1;
        let wave_start = Instant::now();
        // One after another: the agent refuses more than a few handshakes in progress per peer.
        let mut clients = Vec::new();
        for _ in 0..STALLED {
            clients.push(stalled_client(agent.port).await);
        }
        // Read the live stream (about one batch a second) until every stalled client is gone.
        while !clients.iter().all(JoinHandle::is_finished) {
            let (_, at) = live.next_batch(Duration::from_secs(3)).await;
            worst_gap = worst_gap.max(at - last);
            last = at;
            peak = peak.max(agent.rss_bytes());
            let connected = clients.iter().filter(|c| !c.is_finished()).count();
            assert!(
                wave_start.elapsed() < DROP_WITHIN,
                "{connected} of {STALLED} stalled clients still connected after {:?}",
                wave_start.elapsed()
            );
        }
        for client in clients {
            drops.push(client.await.unwrap());
        }
        wave_peaks.push(peak / 1024);
    }

    let text = std::fs::read_to_string(&log).unwrap();
    let by_send_timeout = text.matches("dropping client that stopped reading").count();
    let by_silence = text
        .matches("dropping client that stopped answering pings")
        .count();
    let (earliest, latest) = (
        drops.iter().min().copied().unwrap(),
        drops.iter().max().copied().unwrap(),
    );
    eprintln!(
        "frame {frame_bytes} B; {waves} wave(s) of {STALLED} stalled clients dropped {earliest:?} \
         to {latest:?} after connecting ({by_send_timeout} by the send timeout, {by_silence} as \
         silent); baseline RSS {} KiB, peak {} KiB (by wave {wave_peaks:?}); worst live gap \
         {worst_gap:?}",
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
    assert_eq!(
        (by_send_timeout, by_silence),
        (STALLED * waves, 0),
        "every stalled client is dropped by the send timeout, none as silent; agent log:\n{text}"
    );
    // Not before a frame had waited the send timeout: not some other refusal.
    assert!(
        earliest >= SEND_TIMEOUT,
        "a stalled client was dropped {earliest:?} after connecting"
    );
    assert!(live.open(), "the live client was dropped");
    drop(agent);
    let _ = std::fs::remove_dir_all(&dir);
}
