//! The Docker Engine API collector.
//!
//! ```text
//!   sampler tick ──► DockerApiSource::sample
//!                      │ list running containers (one call)
//!                      │ reconcile: spawn a follower for new ids, abort gone ones
//!                      │ read each follower's latest Reading from its slot
//!                      ▼
//!   follower task (one per container, lives as long as the container runs)
//!     inspect once (start time) → stats stream (engine pushes ~1/s) → slot
//!     stream failed while the container still runs → poll one-shot stats every second
//! ```
//!
//! The engine may be absent at start or restart under us: every failure marks it unreachable
//! and the next connection attempt waits with exponential backoff (0.5 s doubling to 4 s), so
//! data resumes within seconds of the engine coming back, without restarting the agent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::query_parameters::{ListContainersOptions, StatsOptions};
use bollard::{Docker, API_DEFAULT_VERSION};
use chrono::{DateTime, Utc};
use dockscope_protocol::ContainerStats;
use futures_util::StreamExt;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::math::{self, CpuCounters, Reading};
use super::process::round2;
use super::{EngineHealth, StatsSource};

/// Header timeout for every engine request; streams themselves are not cut.
const REQUEST_TIMEOUT_SECS: u64 = 5;
/// A list of containers slower than this counts as a failed poll, so a hung engine cannot
/// stall the once-a-second batch.
const LIST_TIMEOUT: Duration = Duration::from_millis(2_000);
/// First and longest wait between connection attempts.
const BACKOFF_MIN: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(4);

/// Where the engine listens, parsed from `--docker-endpoint`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `unix:///var/run/docker.sock` or a bare path.
    Unix(String),
    /// `tcp://host:2375` (plain HTTP).
    Tcp(String),
    /// `npipe:////./pipe/docker_engine` (Windows only).
    NamedPipe(String),
}

impl std::str::FromStr for Endpoint {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Some(path) = s.strip_prefix("unix://") {
            if path.is_empty() {
                return Err(format!(
                    "{s:?} has no socket path; try unix:///var/run/docker.sock"
                ));
            }
            Ok(Endpoint::Unix(path.to_owned()))
        } else if s.starts_with('/') {
            Ok(Endpoint::Unix(s.to_owned()))
        } else if let Some(rest) = s
            .strip_prefix("tcp://")
            .or_else(|| s.strip_prefix("http://"))
        {
            if rest.is_empty() || rest.starts_with(':') {
                return Err(format!("{s:?} has no host; try tcp://127.0.0.1:2375"));
            }
            Ok(Endpoint::Tcp(format!("tcp://{rest}")))
        } else if s.starts_with("npipe://") {
            Ok(Endpoint::NamedPipe(s.to_owned()))
        } else {
            Err(format!(
                "{s:?} is not a Docker endpoint; use unix:///path/docker.sock, tcp://host:port or \
                 npipe:////./pipe/docker_engine"
            ))
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Unix(path) => write!(f, "unix://{path}"),
            Endpoint::Tcp(url) | Endpoint::NamedPipe(url) => f.write_str(url),
        }
    }
}

impl Endpoint {
    /// The local engine: `$DOCKER_HOST` when set, else `/var/run/docker.sock`.
    pub fn local_default() -> String {
        std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".to_owned())
    }

    /// A client for this endpoint, API version not yet negotiated. Makes no request.
    fn client(&self) -> Result<Docker, bollard::errors::Error> {
        match self {
            Endpoint::Unix(path) => {
                Docker::connect_with_unix(path, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
            }
            Endpoint::Tcp(url) => {
                Docker::connect_with_http(url, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
            }
            #[cfg(windows)]
            Endpoint::NamedPipe(path) => {
                Docker::connect_with_named_pipe(path, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
            }
            #[cfg(not(windows))]
            Endpoint::NamedPipe(path) => Err(bollard::errors::Error::UnsupportedURISchemeError {
                uri: format!("{path} (named pipes exist only on Windows)"),
            }),
        }
    }
}

/// What a follower task last saw of its container.
#[derive(Debug, Default)]
struct Slot {
    /// Latest figures; `None` until the first stats payload arrives.
    reading: Option<Reading>,
    /// From `docker inspect`, for uptime.
    started_at: Option<DateTime<Utc>>,
}

/// A running container and the task following its stats.
struct Tracked {
    /// Name without the leading `/`.
    name: String,
    /// Image as given to `docker run`.
    image: Option<String>,
    /// Written by the follower, read by `sample`; the lock is held for a copy only.
    slot: Arc<Mutex<Slot>>,
    /// The follower; aborted when the container leaves the list.
    task: JoinHandle<()>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads containers through the Docker Engine API.
pub struct DockerApiSource {
    /// Where to connect.
    endpoint: Endpoint,
    /// The negotiated client, `None` while the engine is unreachable.
    docker: Option<Docker>,
    /// Reported in `agent_status` and `/healthz`.
    health: EngineHealth,
    /// Current wait between connection attempts.
    backoff: Duration,
    /// No connection attempt before this instant.
    retry_at: Instant,
    /// Running containers by id, in no particular order.
    tracked: HashMap<String, Tracked>,
}

impl DockerApiSource {
    /// A source for `endpoint`; nothing is contacted until the first [`StatsSource::sample`].
    pub fn new(endpoint: Endpoint) -> Self {
        Self {
            endpoint,
            docker: None,
            health: EngineHealth::default(),
            backoff: BACKOFF_MIN,
            retry_at: Instant::now(),
            tracked: HashMap::new(),
        }
    }

    /// Connects and negotiates the API version (engines from 20.10 answer a too-new client
    /// with an error on every call).
    async fn connect(&self) -> Result<(Docker, Option<String>), String> {
        let attempt = async {
            let docker = self.endpoint.client()?.negotiate_version().await?;
            let version = docker.version().await?.version;
            Ok::<_, bollard::errors::Error>((docker, version))
        };
        match tokio::time::timeout(Duration::from_secs(REQUEST_TIMEOUT_SECS), attempt).await {
            Ok(Ok(ok)) => Ok(ok),
            Ok(Err(e)) => Err(format!(
                "cannot reach the Docker engine at {}: {e}",
                self.endpoint
            )),
            Err(_) => Err(format!(
                "the Docker engine at {} did not answer within {REQUEST_TIMEOUT_SECS} s",
                self.endpoint
            )),
        }
    }

    /// Records a failure: drop the client and every follower, back off.
    fn mark_unreachable(&mut self, error: String) {
        if self.health.reachable || self.health.error.as_deref() != Some(&error) {
            warn!(endpoint = %self.endpoint, cause = %error, retry_in = ?self.backoff, "docker engine unreachable");
        }
        self.docker = None;
        self.tracked.clear();
        self.health.reachable = false;
        self.health.error = Some(error);
        self.retry_at = Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
    }

    /// Returns the client, connecting first when due.
    async fn client(&mut self) -> Option<Docker> {
        if let Some(docker) = &self.docker {
            return Some(docker.clone());
        }
        if Instant::now() < self.retry_at {
            return None;
        }
        match self.connect().await {
            Ok((docker, version)) => {
                info!(endpoint = %self.endpoint, version = ?version, api = %docker.client_version(), "connected to docker engine");
                self.docker = Some(docker.clone());
                self.health.version = version;
                self.backoff = BACKOFF_MIN;
                Some(docker)
            }
            Err(error) => {
                self.mark_unreachable(error);
                None
            }
        }
    }

    /// Starts following containers that appeared and drops those that left.
    fn reconcile(&mut self, docker: &Docker, listed: Vec<bollard::models::ContainerSummary>) {
        let mut seen = HashMap::with_capacity(listed.len());
        for summary in listed {
            let Some(id) = summary.id else { continue };
            let name = summary
                .names
                .as_ref()
                .and_then(|n| n.first())
                .map(|n| n.trim_start_matches('/').to_owned())
                .unwrap_or_else(|| id.chars().take(12).collect());
            seen.insert(id, (name, summary.image));
        }
        self.tracked.retain(|id, _| seen.contains_key(id));
        for (id, (name, image)) in seen {
            match self.tracked.get_mut(&id) {
                Some(tracked) => tracked.name = name, // follows `docker rename`
                None => {
                    let slot = Arc::new(Mutex::new(Slot::default()));
                    let task = tokio::spawn(follow(docker.clone(), id.clone(), slot.clone()));
                    debug!(container = %id, %name, "following container");
                    self.tracked.insert(
                        id,
                        Tracked {
                            name,
                            image,
                            slot,
                            task,
                        },
                    );
                }
            }
        }
    }

    /// The batch entries, from each follower's latest reading.
    fn collect(&self) -> Vec<ContainerStats> {
        let now = Utc::now();
        self.tracked
            .iter()
            .map(|(id, tracked)| {
                let (reading, started_at) = match tracked.slot.lock() {
                    Ok(slot) => (slot.reading, slot.started_at),
                    Err(poisoned) => {
                        let slot = poisoned.into_inner();
                        (slot.reading, slot.started_at)
                    }
                };
                ContainerStats {
                    id: id.clone(),
                    name: tracked.name.clone(),
                    cpu_pct: reading.and_then(|r| r.cpu_pct).map(round2),
                    mem_bytes: reading.and_then(|r| r.mem_bytes),
                    mem_limit_bytes: reading.and_then(|r| r.mem_limit_bytes),
                    uptime_secs: started_at
                        .and_then(|s| u64::try_from((now - s).num_seconds()).ok()),
                    image: tracked.image.clone(),
                }
            })
            .collect()
    }
}

impl StatsSource for DockerApiSource {
    fn name(&self) -> &'static str {
        "docker-api"
    }

    async fn sample(&mut self) -> Vec<ContainerStats> {
        let Some(docker) = self.client().await else {
            return Vec::new();
        };
        let options = ListContainersOptions {
            all: false,
            ..Default::default()
        };
        match tokio::time::timeout(LIST_TIMEOUT, docker.list_containers(Some(options))).await {
            Ok(Ok(listed)) => {
                if !self.health.reachable {
                    info!(endpoint = %self.endpoint, "docker engine reachable");
                }
                self.health.reachable = true;
                self.health.error = None;
                self.health.last_ok_at = Some(Utc::now());
                self.reconcile(&docker, listed);
                self.collect()
            }
            Ok(Err(e)) => {
                self.mark_unreachable(format!(
                    "listing containers at {} failed: {e}",
                    self.endpoint
                ));
                Vec::new()
            }
            Err(_) => {
                self.mark_unreachable(format!(
                    "listing containers at {} took longer than {LIST_TIMEOUT:?}",
                    self.endpoint
                ));
                Vec::new()
            }
        }
    }

    fn engine(&self) -> EngineHealth {
        self.health.clone()
    }
}

/// Follows one container: start time once, then the engine's stats stream; if the stream
/// fails while the container still runs, polls one-shot stats every second instead.
async fn follow(docker: Docker, id: String, slot: Arc<Mutex<Slot>>) {
    match docker.inspect_container(&id, None).await {
        Ok(inspect) => {
            let started_at = inspect
                .state
                .and_then(|s| s.started_at)
                .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
                .map(|d| d.with_timezone(&Utc));
            store(&slot, |s| s.started_at = started_at);
        }
        Err(e) => debug!(container = %id, cause = %e, "inspect failed; uptime unknown"),
    }

    let mut previous: Option<CpuCounters> = None;
    let streaming = StatsOptions {
        stream: true,
        one_shot: false,
    };
    let mut stream = docker.stats(&id, Some(streaming));
    while let Some(item) = stream.next().await {
        match item {
            Ok(stats) => {
                let reading = math::reading(&stats, previous);
                previous = reading.counters.or(previous);
                store(&slot, |s| s.reading = Some(reading));
            }
            Err(e) => {
                warn!(container = %id, cause = %e, "stats stream failed; polling instead");
                break;
            }
        }
    }

    // Either the stream failed or it ended (the container stopped, and `sample` will drop this
    // task within a second). Poll until then.
    let polling = StatsOptions {
        stream: false,
        one_shot: true,
    };
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match docker.stats(&id, Some(polling.clone())).next().await {
            Some(Ok(stats)) => {
                let reading = math::reading(&stats, previous);
                previous = reading.counters.or(previous);
                store(&slot, |s| s.reading = Some(reading));
            }
            Some(Err(e)) => debug!(container = %id, cause = %e, "polling stats failed"),
            None => {}
        }
    }
}

/// Updates the slot, recovering it if a previous holder panicked (a copy of plain data cannot
/// be left half-written).
fn store(slot: &Mutex<Slot>, update: impl FnOnce(&mut Slot)) {
    let mut guard = match slot.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    };
    update(&mut guard);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_parsing_table() {
        let ok = [
            (
                "unix:///var/run/docker.sock",
                Endpoint::Unix("/var/run/docker.sock".into()),
            ),
            (
                "/run/user/1000/docker.sock",
                Endpoint::Unix("/run/user/1000/docker.sock".into()),
            ),
            (
                "tcp://10.0.0.5:2375",
                Endpoint::Tcp("tcp://10.0.0.5:2375".into()),
            ),
            ("http://h:2375", Endpoint::Tcp("tcp://h:2375".into())),
            (
                "npipe:////./pipe/docker_engine",
                Endpoint::NamedPipe("npipe:////./pipe/docker_engine".into()),
            ),
        ];
        for (input, want) in ok {
            assert_eq!(input.parse::<Endpoint>().as_ref(), Ok(&want), "{input}");
        }
        for bad in [
            "",
            "unix://",
            "tcp://",
            "docker.sock",
            "ssh://host",
            "tcp://:2375",
        ] {
            let err = bad.parse::<Endpoint>().expect_err(bad);
            assert!(
                err.contains(&format!("{bad:?}")),
                "error should quote the input: {err}"
            );
        }
    }
}
