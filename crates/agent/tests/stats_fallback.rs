//! Fault injection a real engine cannot do on demand: the stats *stream* of a container fails
//! while the container keeps running. The agent must fall back to polling that container and
//! keep reporting its figures. A minimal fake Docker API on a unix socket answers the handful
//! of calls the agent makes; only the streaming stats call fails.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use common::{connect, next_batch, Agent};
use serde_json::json;

const ID: &str = "f00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeed";

/// Answers like Docker 20.10 (API 1.41); `polls` counts one-shot stats calls.
async fn fake_engine(State(polls): State<Arc<AtomicU64>>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let path = path.split_once("/v1.").map_or(path.as_str(), |(_, rest)| {
        rest.split_once('/').map_or("", |(_, p)| p)
    });
    let path = format!("/{}", path.trim_start_matches('/'));
    match path.as_str() {
        "/version" | "/_ping" => axum::Json(
            json!({"Version": "20.10.24-fake", "ApiVersion": "1.41", "MinAPIVersion": "1.12"}),
        )
        .into_response(),
        "/events" => Response::builder()
            .header("content-type", "application/json")
            .body(Body::from_stream(futures_util::stream::pending::<
                Result<bytes::Bytes, std::io::Error>,
            >()))
            .unwrap(),
        "/containers/json" => axum::Json(
            json!([{"Id": ID, "Names": ["/flaky-stream"], "Image": "fake", "State": "running"}]),
        )
        .into_response(),
        p if p == format!("/containers/{ID}/json") => axum::Json(json!({
            "Id": ID, "Name": "/flaky-stream",
            "State": {"Running": true, "StartedAt": "2026-01-01T00:00:00Z"},
            "Config": {"Image": "fake"}, "HostConfig": {}
        }))
        .into_response(),
        p if p == format!("/containers/{ID}/stats") => {
            if !query.contains("stream=false") {
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    axum::Json(json!({"message": "injected: stats stream broken"})),
                )
                    .into_response();
            }
            let n = polls.fetch_add(1, Ordering::Relaxed) + 1;
            axum::Json(json!({
                "read": "2026-01-01T00:00:01Z",
                "cpu_stats": {"cpu_usage": {"total_usage": n * 200_000_000}, "system_cpu_usage": n * 2_000_000_000u64, "online_cpus": 2},
                "precpu_stats": {"cpu_usage": {"total_usage": 0}},
                "memory_stats": {"usage": 10_000_000, "limit": 100_000_000, "stats": {"total_inactive_file": 1_000_000}}
            }))
            .into_response()
        }
        _ => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"message": format!("fake engine: no {path}")})),
        )
            .into_response(),
    }
}

#[tokio::test]
async fn broken_stats_stream_falls_back_to_polling() {
    let dir = std::env::temp_dir().join(format!("ds-fake-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("docker.sock");
    let _ = std::fs::remove_file(&socket);
    let listener = tokio::net::UnixListener::bind(&socket).unwrap();
    let polls = Arc::new(AtomicU64::new(0));
    let app = Router::new()
        .fallback(fake_engine)
        .with_state(polls.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let log = dir.join("agent.log");
    let endpoint = format!("unix://{}", socket.display());
    let agent = Agent::start_logged(
        &["--collector", "docker-api", "--docker-endpoint", &endpoint],
        &log,
    );
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
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("polling instead"),
        "the fallback is logged:\n{text}"
    );
    drop(agent);
    let _ = std::fs::remove_dir_all(&dir);
}
