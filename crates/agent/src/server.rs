//! HTTP and WebSocket: the router and one task pair per connected client.
//!
//! ```text
//!   /ws, / (upgrade)  ──► client(): subscribe ─► send task: latest batch, fresh status,
//!                                                 then every published frame + pings
//!                                       └────► recv task: pongs, close, ignore the rest
//!   /healthz          ──► JSON health, loopback peers only
//!   /agent.json       ──► AgentInfo for the embedded dashboard (--serve-ui)
//!   /, /<file>        ──► the embedded dashboard (--serve-ui)
//! ```

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use dockscope_protocol::{AgentInfo, AGENT_INFO_PATH};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use crate::publish::Publisher;
use crate::sampler::StatusBoard;
use crate::ui;

/// Ping a client this often; the browser answers with a pong.
const PING_INTERVAL: Duration = Duration::from_secs(10);
/// A client silent (no pong, no frame) for this long is dead.
const CLIENT_SILENCE_LIMIT: Duration = Duration::from_secs(30);
/// A single frame that cannot be written for this long means the client stopped reading.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Outgoing bytes tungstenite may buffer per client before a send waits.
const MAX_WRITE_BUFFER: usize = 512 * 1024;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Fan-out of numbered frames.
    pub publisher: Arc<Publisher>,
    /// Identity and engine health.
    pub board: Arc<StatusBoard>,
    /// Serve the embedded dashboard.
    pub serve_ui: bool,
    /// One permit per connected client (`--max-clients`).
    pub client_slots: Arc<Semaphore>,
    /// Cancelled on shutdown: clients get a close frame.
    pub shutdown: CancellationToken,
    /// Tracks client tasks so shutdown can wait for their close frames.
    pub clients: TaskTracker,
}

/// The agent's HTTP surface.
pub fn app(state: AppState) -> Router {
    let router = Router::new()
        .route("/ws", get(ws_only))
        .route("/", get(root))
        .route("/healthz", get(healthz));
    let router = if state.serve_ui {
        router
            .route(AGENT_INFO_PATH, get(agent_info))
            .route("/{*path}", get(asset))
    } else {
        router
    };
    router.with_state(state)
}

async fn ws_only(State(state): State<AppState>, upgrade: WebSocketUpgrade) -> Response {
    accept(state, upgrade)
}

/// `ws://host:8080` works as typed: `/` upgrades when asked to, else shows the dashboard or a
/// short note on where the stream is.
async fn root(
    State(state): State<AppState>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
    headers: HeaderMap,
) -> Response {
    match upgrade {
        Ok(upgrade) => accept(state, upgrade),
        Err(_) if state.serve_ui => ui::serve("", &headers),
        Err(_) => (
            StatusCode::OK,
            "Dockscope agent. The live stream is a WebSocket at /ws (ws://this-host:port/ws); \
             start the agent with --serve-ui to get the dashboard here.\n",
        )
            .into_response(),
    }
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    ui::serve(&path, &headers)
}

async fn agent_info(State(state): State<AppState>) -> Json<AgentInfo> {
    Json(AgentInfo {
        agent_id: state.board.agent_id.clone(),
        version: state.board.version.to_owned(),
        ws_path: "/ws".to_owned(),
    })
}

/// Health for local probes (systemd, compose healthchecks). Remote peers get 403: the engine
/// error text can reveal host details.
async fn healthz(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Response {
    if !peer.ip().is_loopback() {
        return (
            StatusCode::FORBIDDEN,
            "healthz answers loopback clients only\n",
        )
            .into_response();
    }
    let engine = state.board.engine();
    Json(serde_json::json!({
        "status": if engine.reachable { "ok" } else { "degraded" },
        "agent_id": state.board.agent_id,
        "version": state.board.version,
        "uptime_secs": state.board.uptime_secs(),
        "engine_reachable": engine.reachable,
        "engine_version": engine.version,
        "engine_error": engine.error,
        "last_docker_poll": engine.last_ok_at,
        "clients": state.publisher.clients(),
        "features": state.board.features,
    }))
    .into_response()
}

/// Upgrades if a client slot is free, else 503.
fn accept(state: AppState, upgrade: WebSocketUpgrade) -> Response {
    let Ok(permit) = state.client_slots.clone().try_acquire_owned() else {
        warn!(
            limit = state.publisher.clients(),
            "refusing WebSocket client: --max-clients reached"
        );
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "too many clients connected to this agent (--max-clients); try again later\n",
        )
            .into_response();
    };
    upgrade
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .on_upgrade(move |socket| {
            let tracker = state.clients.clone();
            tracker.track_future(async move {
                client(socket, state).await;
                drop(permit);
            })
        })
}

/// Serves one client until it leaves, stops reading, goes silent, or the agent shuts down.
async fn client(socket: WebSocket, state: AppState) {
    let (first, mut subscription) = state.publisher.subscribe(|seq| state.board.status(seq));
    let (mut sink, mut stream) = socket.split();
    let started = Instant::now();
    let last_heard = Arc::new(AtomicU64::new(0));
    debug!(clients = state.publisher.clients(), "client connected");

    let heard = last_heard.clone();
    let mut recv_task = tokio::spawn(async move {
        while let Some(Ok(message)) = stream.next().await {
            heard.store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
            if let WsMessage::Close(_) = message {
                break;
            }
        }
    });

    let shutdown = state.shutdown.clone();
    let mut send_task = tokio::spawn(async move {
        for frame in first {
            if !send(&mut sink, WsMessage::Text(frame.text)).await {
                return;
            }
        }
        let mut ping = tokio::time::interval(PING_INTERVAL);
        ping.tick().await;
        loop {
            tokio::select! {
                frames = subscription.next() => {
                    let Some(frames) = frames else { break };
                    for frame in frames {
                        if !send(&mut sink, WsMessage::Text(frame.text)).await {
                            return;
                        }
                    }
                }
                _ = ping.tick() => {
                    let silent_ms = started.elapsed().as_millis() as u64
                        - last_heard.load(Ordering::Relaxed);
                    if Duration::from_millis(silent_ms) > CLIENT_SILENCE_LIMIT {
                        info!(silent_ms, "dropping client that stopped answering pings");
                        break;
                    }
                    if !send(&mut sink, WsMessage::Ping(Default::default())).await {
                        return;
                    }
                }
                () = shutdown.cancelled() => {
                    let close = axum::extract::ws::CloseFrame {
                        code: axum::extract::ws::close_code::AWAY,
                        reason: "agent shutting down".into(),
                    };
                    let _ = send(&mut sink, WsMessage::Close(Some(close))).await;
                    return;
                }
            }
        }
        let _ = sink.close().await;
    });

    tokio::select! {
        _ = &mut send_task => recv_task.abort(),
        _ = &mut recv_task => send_task.abort(),
    }
    debug!("client disconnected");
}

/// Sends one frame; `false` when the client is gone or has not read for [`SEND_TIMEOUT`].
async fn send(
    sink: &mut futures_util::stream::SplitSink<WebSocket, WsMessage>,
    message: WsMessage,
) -> bool {
    match tokio::time::timeout(SEND_TIMEOUT, sink.send(message)).await {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            debug!(cause = %e, "client send failed");
            false
        }
        Err(_) => {
            info!(timeout = ?SEND_TIMEOUT, "dropping client that stopped reading");
            false
        }
    }
}
