//! Fault injection a real engine cannot do on demand: the stats *stream* of a container fails
//! while the container keeps running. The agent must fall back to polling that container and
//! keep reporting its figures. A minimal fake Docker API on a unix socket answers the handful
//! of calls the agent makes; only the streaming stats call fails.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use common::fake_engine::{inspect_running, listed, not_found, stats, FakeEngine};
use common::{connect, next_batch};
use serde_json::json;

const ID: &str = "f00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeed";

#[tokio::test]
async fn broken_stats_stream_falls_back_to_polling() {
    // `polls` counts one-shot stats calls.
    let polls = Arc::new(AtomicU64::new(0));
    let counted = polls.clone();
    let engine = FakeEngine::start("stats", move |path, query| {
        let polls = counted.clone();
        async move {
            match path.as_str() {
                "/containers/json" => listed(&[(ID, "flaky-stream")]),
                p if p == format!("/containers/{ID}/json") => inspect_running(ID, "flaky-stream"),
                p if p == format!("/containers/{ID}/stats") => {
                    if !query.contains("stream=false") {
                        return (
                            StatusCode::INTERNAL_SERVER_ERROR,
                            axum::Json(json!({"message": "injected: stats stream broken"})),
                        )
                            .into_response();
                    }
                    stats(polls.fetch_add(1, Ordering::Relaxed) + 1)
                }
                _ => not_found(&path),
            }
        }
    });

    let agent = engine.agent();
    let mut ws = connect(&agent.url()).await;
    let mut figures = None;
    for _ in 0..8 {
        let (batch, _) = next_batch(&mut ws, Duration::from_secs(3)).await;
        let container = batch.containers.iter().find(|c| c.id == ID);
        if let Some(c) = container.filter(|c| c.cpu_pct.is_some()) {
            figures = Some((c.cpu_pct, c.mem_bytes, c.mem_limit_bytes, c.name.clone()));
            break;
        }
    }
    let (cpu, mem, limit, name) =
        figures.expect("figures for the container whose stream is broken");
    assert_eq!(name, "flaky-stream");
    assert!((cpu.unwrap() - 20.0).abs() < 0.01, "{cpu:?}");
    assert_eq!(mem, Some(9_000_000));
    assert_eq!(limit, Some(100_000_000));
    assert!(
        polls.load(Ordering::Relaxed) >= 2,
        "figures came from polling"
    );
    let text = engine.log();
    assert!(
        text.contains("polling instead"),
        "the fallback is logged:\n{text}"
    );
    drop(agent);
}
