//! A minimal fake Docker API on a unix socket, for faults a real engine cannot produce on
//! demand (a stats stream that breaks, an inspect that never answers). It speaks just enough
//! of Docker 20.10 (API 1.41) for the agent's `docker-api` collector: version and ping, an
//! event stream that stays open and silent, and whatever the test's handler answers.

use std::future::Future;
use std::path::PathBuf;

use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::json;

use super::Agent;

/// A running fake engine; its directory (socket, agent log) is removed when dropped.
pub struct FakeEngine {
    /// Holds the socket and whatever the test puts beside it.
    pub dir: PathBuf,
    /// `unix://…`, for `--docker-endpoint`.
    pub endpoint: String,
}

impl FakeEngine {
    /// Serves `answer` for every call but version, ping and events. `answer` gets the path
    /// without the `/v1.41` prefix and the query string.
    pub fn start<F, Fut>(name: &str, answer: F) -> Self
    where
        F: Fn(String, String) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Response> + Send + 'static,
    {
        let dir = std::env::temp_dir().join(format!("ds-fake-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("docker.sock");
        let _ = std::fs::remove_file(&socket);
        let listener = tokio::net::UnixListener::bind(&socket).unwrap();
        let app = Router::new().fallback(move |request: Request| {
            let answer = answer.clone();
            async move {
                let (path, query) = api_path(&request);
                match path.as_str() {
                    "/version" | "/_ping" => axum::Json(json!({
                        "Version": "20.10.24-fake", "ApiVersion": "1.41", "MinAPIVersion": "1.12"
                    }))
                    .into_response(),
                    "/events" => Response::builder()
                        .header("content-type", "application/json")
                        .body(Body::from_stream(futures_util::stream::pending::<
                            Result<bytes::Bytes, std::io::Error>,
                        >()))
                        .unwrap(),
                    _ => answer(path, query).await,
                }
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        let endpoint = format!("unix://{}", socket.display());
        FakeEngine { dir, endpoint }
    }
}

impl FakeEngine {
    /// The agent with the Docker API collector on this engine, logging to [`Self::log`].
    pub fn agent(&self) -> Agent {
        Agent::start_logged(
            &[
                "--collector",
                "docker-api",
                "--docker-endpoint",
                &self.endpoint,
            ],
            &self.log_path(),
        )
    }

    /// What the agent of [`Self::agent`] logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("agent.log")
    }
}

impl Drop for FakeEngine {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The path without the API version prefix (`/v1.41/containers/json` → `/containers/json`),
/// and the query string.
fn api_path(request: &Request) -> (String, String) {
    let path = request.uri().path();
    let path = path.split_once("/v1.").map_or(path, |(_, rest)| {
        rest.split_once('/').map_or("", |(_, p)| p)
    });
    let query = request.uri().query().unwrap_or_default().to_owned();
    (format!("/{}", path.trim_start_matches('/')), query)
}

/// `GET /containers/json`: these running containers, `(id, name)`.
pub fn listed(containers: &[(&str, &str)]) -> Response {
    let list: Vec<_> = containers
        .iter()
        .map(|(id, name)| json!({"Id": id, "Names": [format!("/{name}")], "Image": "fake", "State": "running"}))
        .collect();
    axum::Json(list).into_response()
}

/// A running container as `GET /containers/{id}/json` answers it.
pub fn inspect_running(id: &str, name: &str) -> Response {
    axum::Json(json!({
        "Id": id, "Name": format!("/{name}"),
        "State": {"Status": "running", "Running": true, "StartedAt": "2026-01-01T00:00:00Z"},
        "Config": {"Image": "fake"}, "HostConfig": {}
    }))
    .into_response()
}

/// The `n`-th one-shot stats answer: 20 % of one core, 9 MB used (10 MB less 1 MB inactive
/// file) of 100 MB.
pub fn stats(n: u64) -> Response {
    axum::Json(json!({
        "read": "2026-01-01T00:00:01Z",
        "cpu_stats": {"cpu_usage": {"total_usage": n * 200_000_000}, "system_cpu_usage": n * 2_000_000_000u64, "online_cpus": 2},
        "precpu_stats": {"cpu_usage": {"total_usage": 0}},
        "memory_stats": {"usage": 10_000_000, "limit": 100_000_000, "stats": {"total_inactive_file": 1_000_000}}
    }))
    .into_response()
}

/// What the engine answers for a call it does not know.
pub fn not_found(path: &str) -> Response {
    (
        axum::http::StatusCode::NOT_FOUND,
        axum::Json(json!({"message": format!("fake engine: no {path}")})),
    )
        .into_response()
}
