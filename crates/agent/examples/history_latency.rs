//! How long a new client waits for an agent's whole history (issue 11: < 300 ms for 100
//! containers with 15 minutes each). Connects `--runs` times, one after the other, and times
//! each from the start of the TCP connect to the `history` chunk marked `last`.
//!
//! ```sh
//! target/release/dockscope-agent --listen 127.0.0.1:9100 --synthetic-containers 100 &
//! sleep 960   # 15 minutes of history
//! cargo run --release -p dockscope-agent --example history_latency -- ws://127.0.0.1:9100/ws --runs 10
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a measuring tool")]

use std::time::{Duration, Instant};

use dockscope_protocol::{decode, Message};
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message as WsMessage;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = args
        .first()
        .cloned()
        .unwrap_or_else(|| "ws://127.0.0.1:8080/ws".into());
    let runs: usize = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(10);
    let mut took = Vec::new();
    for run in 1..=runs {
        let started = Instant::now();
        let (mut ws, _) = tokio_tungstenite::connect_async(&url)
            .await
            .expect("connects");
        let (mut chunks, mut bytes, mut containers) = (0, 0, 0);
        let mut points = 0;
        let mut first = None;
        let done = loop {
            let frame = tokio::time::timeout(Duration::from_secs(30), ws.next())
                .await
                .expect("a frame within 30 s")
                .expect("open")
                .expect("frame");
            let WsMessage::Text(text) = frame else {
                continue;
            };
            first.get_or_insert_with(|| started.elapsed());
            if let Ok(Message::History(h)) = decode(text.as_str()) {
                chunks += 1;
                bytes += text.len();
                containers += h.containers.len();
                points = points.max(h.times_ms.len());
                if h.last {
                    break started.elapsed();
                }
            }
        };
        println!(
            "run {run}: first message {:.1} ms, whole history {:.1} ms ({chunks} chunks, \
             {containers} containers × {points} points, {bytes} bytes)",
            first.unwrap_or_default().as_secs_f64() * 1e3,
            done.as_secs_f64() * 1e3
        );
        took.push(done);
        drop(ws);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    took.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "median {:.1} ms, max {:.1} ms, min {:.1} ms over {runs} runs",
        ms(took[took.len() / 2]),
        ms(took[took.len() - 1]),
        ms(took[0])
    );
}
