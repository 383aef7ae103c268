//! HTTP and WebSocket: the router and one task pair per connected client.
//!
//! ```text
//!   /ws, / (upgrade)  ──► client(): plan history, subscribe ─► send task: latest batch,
//!     (?since=ms)                 fresh status, history chunks (each built under a short
//!                                 lock of the ring, off the async threads), the event log,
//!                                 then every published frame + pings, and this client's
//!                                 health-log answers
//!                                       └────► recv task: pongs, close, health_log_request
//!                                              (one in flight; others dropped), ignore the rest
//!   /healthz          ──► JSON health, loopback peers only
//!   /metrics          ──► the latest sample for Prometheus (crate::metrics; same token as
//!                         the stream, as a Bearer header; docs/prometheus.md)
//!   /agent.json       ──► AgentInfo for the embedded dashboard (--serve-ui)
//!   /, /<file>        ──► the embedded dashboard (--serve-ui)
//! ```
//!
//! # Memory per client
//! A batch of any size reaches every client: 10,000 containers make a frame of about 2 MB,
//! and nothing caps one frame. What bounds memory is the send loop: each `send` waits until
//! the whole frame has been handed to the kernel before the client's task takes the next one,
//! so a client's write buffer holds at most one frame (plus a ping) — tungstenite's copy of
//! the shared, already-serialised text. The buffer keeps its capacity after a write, so in
//! steady state each client costs about one frame: memory ≈ the frames the broadcast channel
//! keeps ([`crate::publish::CHANNEL_CAPACITY`]) + clients × one frame (measured with 3 clients
//! at 10,000 containers: 30 MiB peak RSS; docs/benchmarks.md). A client that cannot take a
//! frame within `SEND_TIMEOUT` (10 s) is dropped, and one that falls behind skips to the newest
//! frame (see [`crate::publish`]). `--max-clients` bounds the total and
//! `--max-clients-per-peer` keeps one host from holding most of it; on a host of many
//! thousands of containers under a memory limit, size `--max-clients` by the frame
//! (64 MiB fits about 20 clients of a 10,000-container host).
//!
//! History on connect is sent the same way, one chunk (≤ 25 containers, about 64 KB) at a
//! time: a chunk is built only when the previous one has been handed to the kernel, so a
//! client that does not read holds one chunk and is dropped by the same timeout, and the
//! chunks are built in the client's own task (the sampler and the broadcast never wait for
//! them). `?since=` that is not a whole number is ignored: the client gets all the history.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::collections::HashMap;

use axum::extract::ws::{
    close_code, CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade,
};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use dockscope_protocol::{
    AgentInfo, ClientMessage, History, Message, AGENT_INFO_PATH, SINCE_PARAM,
};
use futures_util::{SinkExt, StreamExt};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use crate::access::{self, Access, Denied};
use crate::health_log::HealthLog;
use crate::history::{self, HistoryRing, Plan};
use crate::listen::{Full, Slots};
use crate::metrics::{AgentFacts, Exporter, Format};
use crate::publish::{self as publish, Connect, Publisher};
use crate::sampler::StatusBoard;
use crate::ui;

/// Ping a client this often; the browser answers with a pong.
const PING_INTERVAL: Duration = Duration::from_secs(10);
/// A client silent (no pong, no frame) for this long is dead.
const CLIENT_SILENCE_LIMIT: Duration = Duration::from_secs(30);
/// A single frame that cannot be written for this long means the client stopped reading.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Clients may send small requests at most (`health_log_request`). Larger messages close the
/// connection with 1009.
pub const MAX_INBOUND_MESSAGE: usize = 4 * 1024;
/// Inbound messages a client may send in a burst, and per second after that; more closes the
/// connection with 1008.
const INBOUND_BURST: f64 = 20.0;
const INBOUND_PER_SECOND: f64 = 5.0;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Fan-out of numbered frames.
    pub publisher: Arc<Publisher>,
    /// Identity and engine health.
    pub board: Arc<StatusBoard>,
    /// Serve the embedded dashboard.
    pub serve_ui: bool,
    /// One slot per connected client: `--max-clients` in total, `--max-clients-per-peer`
    /// from one peer.
    pub client_slots: Arc<Slots>,
    /// Token and origin rules.
    pub access: Arc<Access>,
    /// Cancelled on shutdown: clients get a close frame.
    pub shutdown: CancellationToken,
    /// Tracks client tasks so shutdown can wait for their close frames.
    pub clients: TaskTracker,
    /// Answers clients' health-log requests.
    pub health_log: Arc<HealthLog>,
    /// Formats the latest sample for `/metrics`.
    pub metrics: Arc<Exporter>,
    /// The last minutes of samples, sent to new clients.
    pub history: Arc<std::sync::Mutex<HistoryRing>>,
}

/// The agent's HTTP surface.
pub fn app(state: AppState) -> Router {
    let router = Router::new()
        .route("/ws", get(ws_only))
        .route("/", get(root))
        .route("/healthz", get(healthz))
        .route("/metrics", get(prometheus));
    let router = if state.serve_ui {
        router
            .route(AGENT_INFO_PATH, get(agent_info))
            .route("/{*path}", get(asset))
    } else {
        router
    };
    router.with_state(state)
}

async fn ws_only(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    accept(
        state,
        upgrade,
        &headers,
        query.get("token").map(String::as_str),
        history::parse_since(query.get(SINCE_PARAM).map(String::as_str)),
        peer,
    )
}

/// `ws://host:8080` works as typed: `/` upgrades when asked to, else shows the dashboard or a
/// short note on where the stream is.
async fn root(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<HashMap<String, String>>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
    headers: HeaderMap,
) -> Response {
    match upgrade {
        Ok(upgrade) => accept(
            state,
            upgrade,
            &headers,
            query.get("token").map(String::as_str),
            history::parse_since(query.get(SINCE_PARAM).map(String::as_str)),
            peer,
        ),
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
        revision: state.board.revision.map(str::to_owned),
        ws_path: "/ws".to_owned(),
    })
}

/// Health for local probes (systemd, compose healthchecks). Remote peers get 403: the engine
/// error text can reveal host details.
async fn healthz(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Response {
    if !access::is_loopback_peer(peer.ip()) {
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
        "revision": state.board.revision,
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

/// The latest sample in the Prometheus exposition format; the token, when set, as
/// `Authorization: Bearer` or `?token=` (401 otherwise).
async fn prometheus(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if state
        .access
        .check_bearer(&headers, query.get("token").map(String::as_str))
        .is_err()
    {
        // Never log what was offered: it may be a real token for another agent.
        warn!(%peer, "refusing a /metrics scrape: missing or wrong token");
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "this agent requires a token (--token): send Authorization: Bearer <token> \
             (Prometheus: authorization.credentials_file) or ?token=<token>\n",
        )
            .into_response();
    }
    let format = Format::accepted(&headers);
    let body = state
        .metrics
        .body(format, || {
            let engine = state.board.engine();
            AgentFacts {
                agent_id: state.board.agent_id.clone(),
                version: state.board.version.to_owned(),
                revision: state.board.revision.map(str::to_owned),
                collector: state
                    .board
                    .features
                    .iter()
                    .find_map(|f| f.strip_prefix("collector:"))
                    .unwrap_or("")
                    .to_owned(),
                engine_reachable: engine.reachable,
                clients: state.publisher.clients(),
            }
        })
        .await;
    ([(header::CONTENT_TYPE, format.content_type())], body).into_response()
}

/// Upgrades if the client may connect (token, origin) and a client slot is free.
fn accept(
    state: AppState,
    upgrade: WebSocketUpgrade,
    headers: &HeaderMap,
    query_token: Option<&str>,
    since: Option<i64>,
    peer: SocketAddr,
) -> Response {
    match state.access.check(headers, query_token) {
        Ok(()) => {}
        Err(Denied::Token) => {
            // Never log what was offered: it may be a real token for another agent.
            warn!(%peer, "refusing WebSocket client: missing or wrong token");
            return (
                StatusCode::UNAUTHORIZED,
                "this agent requires a token (--token): send it as the WebSocket subprotocol \
                 dockscope-token.<token> or as ?token=<token>\n",
            )
                .into_response();
        }
        Err(Denied::Origin) => {
            let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
            warn!(%peer, origin = ?origin, "refusing WebSocket client: origin not in --allowed-origins");
            return (
                StatusCode::FORBIDDEN,
                "pages from this origin may not connect to this agent (--allowed-origins)\n",
            )
                .into_response();
        }
    }
    let permit = match state.client_slots.try_acquire(peer.ip()) {
        Ok(permit) => permit,
        Err(Full::Total) => {
            let limit = state.client_slots.total_limit();
            warn!(%peer, limit, "refusing WebSocket client: --max-clients reached");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "too many clients connected to this agent (--max-clients); try again later\n",
            )
                .into_response();
        }
        Err(Full::Peer) => {
            let limit = state.client_slots.per_peer_limit();
            warn!(%peer, limit, "refusing WebSocket client: --max-clients-per-peer reached");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "too many clients from your address are connected to this agent \
                 (--max-clients-per-peer); close some or try again later\n",
            )
                .into_response();
        }
    };
    let upgrade = match access::selected_protocol(headers) {
        Some(protocol) => {
            upgrade.protocols([protocol.to_str().unwrap_or(access::PROTOCOL).to_owned()])
        }
        None => upgrade,
    };
    // No `max_write_buffer_size`: tungstenite refuses any single frame larger than that limit,
    // which dropped every client of a host whose batch outgrew it. The buffer is bounded by
    // the send loop instead (see the module docs).
    upgrade
        .max_message_size(MAX_INBOUND_MESSAGE)
        .max_frame_size(MAX_INBOUND_MESSAGE)
        .on_upgrade(move |socket| {
            let tracker = state.clients.clone();
            tracker.track_future(async move {
                client(socket, state, since).await;
                drop(permit);
            })
        })
}

/// Serves one client until it leaves, stops reading, goes silent, or the agent shuts down.
async fn client(socket: WebSocket, state: AppState, since: Option<i64>) {
    let plan = lock(&state.history).plan(since);
    let Connect {
        first,
        events,
        history: history_sequences,
        mut subscription,
    } = state.publisher.subscribe(
        |seq| state.board.status(seq),
        plan.as_ref().map_or(0, |p| p.chunks.len()),
    );
    let (mut sink, mut stream) = socket.split();
    let started = Instant::now();
    let last_heard = Arc::new(AtomicU64::new(0));
    debug!(clients = state.publisher.clients(), "client connected");

    let heard = last_heard.clone();
    let (close_tx, mut close_rx) = tokio::sync::oneshot::channel::<CloseFrame>();
    // Answers for this client only; one request is in flight at a time, so one slot.
    let (answer_tx, mut answer_rx) = tokio::sync::mpsc::channel::<String>(1);
    let health_log = state.health_log.clone();
    let mut recv_task = tokio::spawn(async move {
        let mut budget = InboundBudget::new(Instant::now());
        let mut in_flight = InFlight::default();
        let reason = loop {
            let message = match stream.next().await {
                None | Some(Ok(WsMessage::Close(_))) => return None,
                Some(Ok(message)) => message,
                Some(Err(e)) if is_capacity_error(&e) => {
                    info!(
                        limit = MAX_INBOUND_MESSAGE,
                        "closing client that sent an oversized message"
                    );
                    break close_frame(
                        close_code::SIZE,
                        "message too big: requests are 4 KiB at most",
                    );
                }
                Some(Err(e)) => {
                    debug!(cause = %e, "client read failed");
                    return None;
                }
            };
            heard.store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
            if matches!(
                message,
                WsMessage::Text(_) | WsMessage::Binary(_) | WsMessage::Ping(_)
            ) && !budget.take(Instant::now())
            {
                info!("closing client that floods the agent with messages");
                break close_frame(
                    close_code::POLICY,
                    "too many messages: this stream takes a few requests at most",
                );
            }
            if let WsMessage::Text(text) = &message {
                request(text.as_str(), &health_log, &answer_tx, &mut in_flight);
            }
            // Anything else a client sends is ignored.
        };
        Some(reason)
    });

    let shutdown = state.shutdown.clone();
    let ring = state.history.clone();
    let agent_id = state.board.agent_id.clone();
    let mut send_task = tokio::spawn(async move {
        for frame in first {
            if !send(&mut sink, WsMessage::Text(frame.text)).await {
                return;
            }
        }
        if let Some(plan) = plan {
            let started = Instant::now();
            for (n, sequence) in history_sequences.enumerate() {
                if shutdown.is_cancelled() {
                    break;
                }
                // Built here, in this client's task: a chunk is a fraction of a millisecond
                // of work, and the blocking pool would start a thread (and a malloc arena)
                // for each of many clients connecting at once.
                let text = history_chunk(&ring, &plan, n, sequence, agent_id.clone());
                if !send(&mut sink, WsMessage::Text(text.into())).await {
                    return;
                }
            }
            debug!(
                chunks = plan.chunks.len(),
                took_ms = started.elapsed().as_millis() as u64,
                "history sent"
            );
        }
        for event in events {
            let text = event.encode().unwrap_or_default();
            if !send(&mut sink, WsMessage::Text(text.into())).await {
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
                    let close = close_frame(close_code::AWAY, "agent shutting down");
                    let _ = send(&mut sink, WsMessage::Close(Some(close))).await;
                    return;
                }
                Some(answer) = answer_rx.recv() => {
                    if !send(&mut sink, WsMessage::Text(answer.into())).await {
                        return;
                    }
                }
                Ok(close) = &mut close_rx => {
                    let _ = send(&mut sink, WsMessage::Close(Some(close))).await;
                    return;
                }
            }
        }
        let _ = sink.close().await;
    });

    tokio::select! {
        _ = &mut send_task => recv_task.abort(),
        ended = &mut recv_task => match ended {
            // The reader wants the client closed with a reason: let the writer say it.
            Ok(Some(close)) => {
                let _ = close_tx.send(close);
                if tokio::time::timeout(Duration::from_secs(1), &mut send_task).await.is_err() {
                    send_task.abort();
                }
            }
            _ => send_task.abort(),
        },
    }
    debug!("client disconnected");
}

fn lock(ring: &std::sync::Mutex<HistoryRing>) -> std::sync::MutexGuard<'_, HistoryRing> {
    ring.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Chunk `n` of `plan`, numbered `sequence`, as JSON: cut from the ring under its lock,
/// encoded after.
fn history_chunk(
    ring: &std::sync::Mutex<HistoryRing>,
    plan: &Plan,
    n: usize,
    sequence: u64,
    agent_id: String,
) -> String {
    let (times_ms, host, containers) = lock(ring).chunk(plan, n);
    let message = Message::History(History {
        agent_id,
        sent_at: chrono::Utc::now(),
        sequence: Some(sequence),
        times_ms,
        host,
        containers,
        last: n + 1 == plan.chunks.len(),
    });
    publish::frame_of(sequence, &message).text.to_string()
}

/// A client's request being answered; aborted when the client leaves.
#[derive(Debug, Default)]
struct InFlight(Option<tokio::task::JoinHandle<()>>);

impl InFlight {
    fn busy(&self) -> bool {
        self.0.as_ref().is_some_and(|task| !task.is_finished())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(task) = &self.0 {
            task.abort();
        }
    }
}

/// Acts on one text frame from a client: a `health_log_request` starts one inspect unless one
/// is in flight for this client (then it is dropped: a flood of requests costs the engine one
/// call at a time per client); unknown and malformed frames are ignored.
fn request(
    text: &str,
    health_log: &Arc<HealthLog>,
    answers: &tokio::sync::mpsc::Sender<String>,
    in_flight: &mut InFlight,
) {
    match ClientMessage::decode(text) {
        Ok(ClientMessage::HealthLogRequest { id }) => {
            if in_flight.busy() {
                debug!(container = %id, "dropping a health log request: one is being answered");
                return;
            }
            let (health_log, answers) = (health_log.clone(), answers.clone());
            in_flight.0 = Some(tokio::spawn(async move {
                let answer = health_log.answer(&id).await;
                match Message::ContainerHealth(answer).encode() {
                    Ok(text) => {
                        let _ = answers.send(text).await;
                    }
                    Err(e) => warn!(cause = %e, "could not encode a health log answer"),
                }
            }));
        }
        Ok(ClientMessage::Unknown) => debug!("ignoring a client message of an unknown type"),
        Err(e) => debug!(cause = %e, "ignoring a malformed client message"),
    }
}

fn close_frame(code: u16, reason: &'static str) -> CloseFrame {
    CloseFrame {
        code,
        reason: reason.into(),
    }
}

/// Whether the client's message broke a size limit (tungstenite's `Capacity` error, which axum
/// wraps), told by type rather than by the words of the message.
fn is_capacity_error(error: &axum::Error) -> bool {
    std::error::Error::source(error)
        .and_then(|inner| inner.downcast_ref::<tungstenite::Error>())
        .is_some_and(|e| matches!(e, tungstenite::Error::Capacity(_)))
}

/// A token bucket over inbound messages.
#[derive(Debug)]
struct InboundBudget {
    /// Messages that may still be sent right now.
    tokens: f64,
    /// When `tokens` was last topped up.
    at: Instant,
}

impl InboundBudget {
    fn new(now: Instant) -> Self {
        Self {
            tokens: INBOUND_BURST,
            at: now,
        }
    }

    /// Spends one message; `false` when the client is over its budget.
    fn take(&mut self, now: Instant) -> bool {
        let refill = now.duration_since(self.at).as_secs_f64() * INBOUND_PER_SECOND;
        self.tokens = (self.tokens + refill).min(INBOUND_BURST);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_size_limit_errors_count_as_oversized() {
        use tungstenite::error::{CapacityError, ProtocolError};
        let too_long = tungstenite::Error::Capacity(CapacityError::MessageTooLong {
            size: 70_000,
            max_size: 65_536,
        });
        let cases = [
            (axum::Error::new(too_long), true),
            (
                axum::Error::new(tungstenite::Error::Capacity(CapacityError::TooManyHeaders)),
                true,
            ),
            (
                axum::Error::new(tungstenite::Error::ConnectionClosed),
                false,
            ),
            (
                axum::Error::new(tungstenite::Error::Protocol(
                    ProtocolError::ResetWithoutClosingHandshake,
                )),
                false,
            ),
            // Words alone do not make a size error.
            (
                axum::Error::new(std::io::Error::other("Message too long: Capacity")),
                false,
            ),
        ];
        for (error, want) in cases {
            assert_eq!(is_capacity_error(&error), want, "{error}");
        }
    }

    #[test]
    fn inbound_budget_allows_bursts_and_steady_chatter_but_not_floods() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut budget = InboundBudget::new(t0);
        // A burst of 20 passes, the 21st at the same instant does not.
        assert!((0..20).all(|_| budget.take(t0)));
        assert!(!budget.take(t0));
        // Steady 4/s is fine forever.
        let mut steady = InboundBudget::new(t0);
        assert!((0..400).all(|i| steady.take(ms(i * 250))));
        // 50/s runs out within the first second.
        let mut flood = InboundBudget::new(t0);
        let first_refusal = (0..100).find(|i| !flood.take(ms(i * 20)));
        assert!(matches!(first_refusal, Some(20..=30)), "{first_refusal:?}");
    }
}
