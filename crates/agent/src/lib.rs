//! The Dockscope agent: one process per Docker host that samples every running container once a
//! second and streams the figures to WebSocket clients. Read-only: it never changes a container.
//!
//! # Layout
//! - [`config`]: every setting — command-line flags, their environment fallbacks, and the
//!   environment-only `$DOCKER_HOST`, `$DOCKSCOPE_CGROUP_ROOT` and `$DOCKSCOPE_PROC_ROOT` —
//!   parsed once and handed down.
//! - [`engine`]: where the Docker engine is ([`engine::Endpoint`]), its client, and
//!   [`engine::EngineError`] (which says whether a retry can help).
//! - [`sample`]: reading the host — the [`sample::StatsSource`] trait and its collectors
//!   (`sample::cgroup` reads cgroup v1/v2 files, `sample::docker_api` asks the engine, synthetic
//!   for UI benchmarks), `sample::containers` (the container set kept from Docker events and a
//!   30 s reconcile, and the exited list kept for `--keep-exited`), `sample::events` (the same
//!   events as `container_event` messages, and their bounded queue), `sample::figures` (the one raw reading every collector fills, the
//!   `docker stats` arithmetic, the one builder of a batch entry), the agent's own cost.
//! - [`sampler`]: the single once-a-second task turning samples into messages, the task that
//!   publishes container events, and the [`sampler::StatusBoard`] (identity, engine health)
//!   behind `agent_status` and `/healthz`.
//! - [`history`]: the last 15 minutes of every sample in a compact ring, and cutting it into
//!   the `history` chunks a new client is sent (`?since=`).
//! - [`publish`]: numbering, serialising once, and fanning frames out to clients with bounded
//!   memory; the `event_id`s and the last 500 events for new and lagging clients.
//! - [`access`]: token and origin checks on WebSocket upgrades.
//! - [`alerts`]: with `--alert-webhook`, the alert rules evaluated on every batch and each
//!   alert that fires or clears posted to the webhook (rate limit, retries, bounded queue);
//!   without it, not started.
//! - [`healthcheck`]: the `dockscope-agent healthcheck` probe of a running agent's `/healthz`
//!   (for container `HEALTHCHECK`s: the image has no shell).
//! - [`listen`]: the accept loop, TLS handshakes and HTTP/1.1 (hyper) with the limits that hold
//!   before a WebSocket upgrade: header read timeout, caps on pending connections.
//! - [`metrics`]: `/metrics`, the latest sample in the Prometheus exposition format
//!   (prometheus-client), formatted only when scraped.
//! - [`server`]: the axum router — WebSocket clients, `/healthz`, `/metrics`, the embedded
//!   dashboard.
//! - [`health_log`]: answers a client's `health_log_request` with one `docker inspect`.
//! - [`tls`]: loading `--tls-cert`/`--tls-key`.
//! - [`ui`]: the dashboard bundle compiled into the binary.
//!
//! ```text
//!  StatsSource ──sample()──► sampler ──publish()──► Publisher ══broadcast══► client tasks ──► sockets
//!   │ (events)                 │  │  │                  ▲  ▲                     │ new client:
//!   └─► EventQueue ─► forward_events ──publish_event()──┘  │                     │ history, events
//!                              │  │  └─push()─► HistoryRing ◄──plan()/chunk()────┘
//!                              │  └── StatusBoard ◄────────┴── server (/healthz, new clients)
//!                              └──── LatestSample ◄──────────── metrics (/metrics, on scrape)
//!                                         ╚═watch═► alerts ──POST──► --alert-webhook (optional)
//! ```

pub mod access;
pub mod alerts;
pub mod config;
pub mod engine;
pub mod health_log;
pub mod healthcheck;
pub mod history;
pub mod listen;
pub mod metrics;
pub mod publish;
pub mod sample;
pub mod sampler;
pub mod server;
pub mod tls;
pub mod ui;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use crate::config::Config;
use crate::health_log::HealthLog;
use crate::publish::Publisher;
use crate::sample::host::{self, DataRoot, HostMeter};
use crate::sample::{Collector, StatsSource};
use crate::sampler::{LatestSample, StatusBoard};
use crate::server::AppState;

/// How long shutdown waits for clients to receive their close frames.
const CLIENT_DRAIN: Duration = Duration::from_secs(2);

/// Why the agent could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// `--serve-ui` on a binary built without the dashboard.
    #[error("{}", ui::NOT_EMBEDDED)]
    UiNotEmbedded,
    /// The Docker endpoint (`$DOCKER_HOST`) is not one we can speak to.
    #[error("{0}")]
    Endpoint(#[from] config::DockerHostError),
    /// `--token`/`--token-file`/`--allowed-origins` cannot work.
    #[error("access control: {0}")]
    Access(#[from] access::AccessError),
    /// `--tls-cert`/`--tls-key` cannot be used.
    #[error("{0}")]
    Tls(#[from] tls::TlsError),
    /// `--alert-rules` cannot be used.
    #[error("{0}")]
    AlertRules(#[from] config::AlertRulesError),
    /// The `--alert-webhook` client cannot be set up.
    #[error("{0}")]
    AlertWebhook(#[from] alerts::webhook::SetupError),
    /// The HTTP server failed.
    #[error("server failed: {0}")]
    Serve(#[from] std::io::Error),
}

/// Runs the agent on `listener` until `shutdown` resolves.
///
/// # Errors
/// [`StartError`] when the configuration cannot work or the server fails.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    if config.serve_ui && !ui::embedded() {
        return Err(StartError::UiNotEmbedded);
    }
    let settings = config.sample_settings()?;
    // A synthetic agent has no engine to ask; its host figures are still the real host's.
    let data_root = match settings.synthetic_containers {
        Some(_) => DataRoot::fixed(host::DEFAULT_DATA_ROOT),
        None => DataRoot::ask(settings.endpoint.clone()),
    };
    let host = HostMeter::new("/proc", data_root);
    let collector = Collector::select(settings);
    serve(config, listener, collector, host, shutdown).await
}

async fn serve<S: StatsSource>(
    config: Config,
    listener: TcpListener,
    source: S,
    host: HostMeter,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let mut features = vec![format!("collector:{}", source.name())];
    if source.name() == "synthetic" {
        features.push("synthetic".to_owned());
    }
    if config.serve_ui {
        features.push("ui".to_owned());
    }
    let access = config.access()?;
    let alert_settings = config.alert_settings()?;
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(tls::load(cert, key)?),
        _ => None,
    };
    let local = listener.local_addr()?;
    warn_if_open(local, &access);
    let board = Arc::new(StatusBoard::new(config.agent_id(), features));
    let publisher = Arc::new(Publisher::new());
    let latest = Arc::new(LatestSample::default());
    let history = Arc::new(std::sync::Mutex::new(history::HistoryRing::default()));
    let cancel = CancellationToken::new();
    let state = AppState {
        publisher: publisher.clone(),
        board: board.clone(),
        serve_ui: config.serve_ui,
        client_slots: listen::Slots::new(config.max_clients, config.max_clients_per_peer),
        access: Arc::new(access),
        shutdown: cancel.clone(),
        clients: TaskTracker::new(),
        health_log: Arc::new(HealthLog::new(
            board.agent_id.clone(),
            config.endpoint().ok(),
        )),
        metrics: Arc::new(metrics::Exporter::new(latest.clone())),
        history: history.clone(),
    };
    info!(
        agent_id = %board.agent_id,
        version = board.version,
        listen = %listener.local_addr()?,
        collector = source.name(),
        serve_ui = config.serve_ui,
        "dockscope agent started"
    );

    let forwarder = source.events().map(|queue| {
        tokio::spawn(sampler::forward_events(
            queue,
            publisher.clone(),
            board.agent_id.clone(),
            cancel.clone(),
        ))
    });
    // Subscribed before the sampler starts, so the first batch is evaluated too.
    let alerts = match alert_settings {
        Some(settings) => Some(alerts::start(
            settings,
            board.agent_id.clone(),
            &latest,
            cancel.clone(),
        )?),
        None => None,
    };
    let sampler = tokio::spawn(sampler::run(
        source,
        host,
        board,
        publisher,
        latest,
        history,
        cancel.clone(),
    ));
    let clients = state.clients.clone();
    let app = server::app(state);
    let limits = listen::Limits {
        max_pending: config.max_pending,
        max_pending_per_peer: config.max_pending_per_peer,
    };
    if tls.is_some() {
        info!("serving wss:// and https:// (--tls-cert)");
    }
    let server = listen::serve(listener, tls, app, limits, cancel.clone());
    tokio::pin!(server);
    tokio::select! {
        () = &mut server => {}
        () = shutdown => {
            info!("shutting down: closing clients");
            cancel.cancel();
            server.await;
        }
    }
    cancel.cancel();
    clients.close();
    let _ = tokio::time::timeout(CLIENT_DRAIN, clients.wait()).await;
    let _ = sampler.await;
    if let Some(forwarder) = forwarder {
        let _ = forwarder.await;
    }
    if let Some(alerts) = alerts {
        let _ = alerts.await;
    }
    Ok(())
}

/// Says at start-up who can read the stream when nothing restricts it.
fn warn_if_open(local: SocketAddr, access: &access::Access) {
    let beyond_loopback = !access::is_loopback_peer(local.ip());
    match (access.token_required(), access.origins_restricted()) {
        (false, false) if beyond_loopback => warn!(
            listen = %local,
            "no --token and no --allowed-origins: any program that can reach this port, and any \
             web page open in a browser that can reach it, can read container names and figures; \
             set --token and --allowed-origins, or put nginx in front"
        ),
        (false, false) => warn!(
            listen = %local,
            "no --token and no --allowed-origins: any web page open in a browser on this machine \
             can read container names and figures (WebSockets are not bound by CORS); set \
             --allowed-origins or --token"
        ),
        (false, true) if beyond_loopback => warn!(
            listen = %local,
            "listening beyond loopback without --token: --allowed-origins stops other web pages, \
             but any program that can reach this port can read container names and figures; \
             set --token or put nginx in front"
        ),
        _ => {}
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
