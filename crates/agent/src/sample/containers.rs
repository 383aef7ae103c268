//! The set of running containers, kept from the engine's event stream instead of listing every
//! second. Shared by both collectors: they only decide how a known container's figures are read.
//!
//! ```text
//!   watcher task (one per agent)
//!     connect + negotiate ──► subscribe to container events (replaying the last second)
//!       │                     list running containers once, inspect each new one
//!       │                     ┌─ event start ──► inspect once ─► add ─┐
//!       │                     ├─ event die/destroy ─► remove ─────────┤
//!       │                     ├─ event rename ─► new name ────────────┼─► Inventory (generation += 1)
//!       │                     └─ every 30 s: list again, reconcile ───┘         │
//!       └── stream or list fails: clear, mark unreachable, back off 0.5 s … 4 s  │
//!                                                                                ▼
//!   collector's sample() (once a second): if the generation moved, re-sync its own per-container
//!   state; then read figures. No engine call on the tick itself.
//! ```
//!
//! Replaying events from one second before the list makes the order of "subscribe" and "list"
//! irrelevant: every event sets a container's state outright (running, gone, named), so
//! applying an already-reflected event again is harmless, and the last event per container wins.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bollard::models::{ContainerInspectResponse, EventMessage};
use bollard::query_parameters::{EventsOptions, ListContainersOptions};
use bollard::Docker;
use chrono::{DateTime, Utc};
use dockscope_protocol::{ContainerState, Health};
use futures_util::{stream, StreamExt};
use tokio::task::JoinHandle;
use tracing::{debug, info, instrument, warn};

use super::source::EngineHealth;
use crate::engine::{client, CallError, Endpoint, EngineError, CALL_TIMEOUT};
/// How often the event-driven set is checked against a full list (events can be lost).
pub const RECONCILE_INTERVAL: Duration = Duration::from_secs(30);
/// First and longest wait between connection attempts.
const BACKOFF_MIN: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(4);
/// Inspects in flight at once while filling the set from a list (hundreds at start-up).
const INSPECT_CONCURRENCY: usize = 8;
/// Container events that change the set; others are filtered out by the engine.
const EVENTS: [&str; 6] = ["start", "die", "destroy", "rename", "pause", "unpause"];

/// What the agent knows about one running container, from `docker inspect`; replaced when an
/// event changes it (rename, health status, pause).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerInfo {
    /// Name without the leading `/`.
    pub name: String,
    /// Image as given to `docker run`.
    pub image: Option<String>,
    /// From `docker inspect`, for uptime.
    pub started_at: Option<DateTime<Utc>>,
    /// `--cgroup-parent`, when the container was started with one (changes its cgroup path).
    pub cgroup_parent: Option<String>,
    /// `State.Pid`: the init process, whose `/proc/<pid>/net/dev` shows its network namespace.
    pub pid: Option<u32>,
    /// Whose network namespace it uses when not its own (`host`, `none`,
    /// `container:<name>`); `None` for its own.
    pub network_mode: Option<String>,
    /// `State.Status`.
    pub state: Option<ContainerState>,
    /// `State.Health.Status`; `None` without a health check.
    pub health: Option<Health>,
    /// `RestartCount`.
    pub restart_count: Option<u64>,
    /// `State.ExitCode`.
    pub exit_code: Option<i64>,
    /// `State.OOMKilled`.
    pub oom_killed: Option<bool>,
    /// The `com.docker.compose.project` label.
    pub compose_project: Option<String>,
    /// The `com.docker.compose.service` label.
    pub compose_service: Option<String>,
    /// CFS quota in microseconds per period (`HostConfig.CpuQuota`, or `NanoCpus` over a
    /// 100 ms period for `--cpus`); `None` when unlimited.
    pub cpu_quota_us: Option<u64>,
    /// CFS period in microseconds (`HostConfig.CpuPeriod`, 100 000 when 0).
    pub cpu_period_us: Option<u64>,
    /// CPUs in `--cpuset-cpus` (`HostConfig.CpusetCpus`); `None` when not set.
    pub cpuset_cpus: Option<u32>,
}

impl ContainerInfo {
    /// Seconds since the container started, as of `now`.
    pub fn uptime_secs(&self, now: DateTime<Utc>) -> Option<u64> {
        self.started_at
            .and_then(|s| u64::try_from((now - s).num_seconds()).ok())
    }
}

/// The running containers and the engine's health, written by the watcher task.
#[derive(Debug, Default)]
pub struct Inventory {
    /// Bumped on every change to `containers`, so a collector re-syncs only when needed.
    pub generation: u64,
    /// Running (or paused) containers by full id.
    pub containers: HashMap<String, Arc<ContainerInfo>>,
    /// Reachability as of the last engine call or event.
    pub health: EngineHealth,
    /// The negotiated client while the engine is reachable (the Docker API collector's
    /// followers use it).
    pub docker: Option<Docker>,
    /// Bumped on every successful connection: streams opened on an older one are stale.
    pub session: u64,
}

impl Inventory {
    fn insert(&mut self, id: String, info: ContainerInfo) {
        if self.containers.get(&id).map(|known| known.as_ref()) != Some(&info) {
            self.containers.insert(id, Arc::new(info));
            self.generation += 1;
        }
    }

    fn remove(&mut self, id: &str) {
        if self.containers.remove(id).is_some() {
            self.generation += 1;
        }
    }
}

/// The event-driven container set. The watcher task starts with the first [`ContainerSet::lock`]
/// (inside the runtime) and stops when the set is dropped.
pub struct ContainerSet {
    /// Where to connect.
    endpoint: Endpoint,
    /// Shared with the watcher.
    shared: Arc<Mutex<Inventory>>,
    /// The watcher; aborted on drop.
    watcher: Option<JoinHandle<()>>,
}

impl Drop for ContainerSet {
    fn drop(&mut self) {
        if let Some(task) = &self.watcher {
            task.abort();
        }
    }
}

impl ContainerSet {
    /// A set for `endpoint`; nothing is contacted until the first [`ContainerSet::lock`].
    pub fn new(endpoint: Endpoint) -> Self {
        let shared = Arc::new(Mutex::new(Inventory {
            health: EngineHealth {
                error: Some(format!("not contacted {endpoint} yet")),
                ..EngineHealth::default()
            },
            ..Inventory::default()
        }));
        Self {
            endpoint,
            shared,
            watcher: None,
        }
    }

    /// The current inventory (starting the watcher on first use). Hold it briefly: the watcher
    /// waits for it to apply events.
    pub fn lock(&mut self) -> MutexGuard<'_, Inventory> {
        if self.watcher.is_none() {
            let watcher = Watcher {
                endpoint: self.endpoint.clone(),
                shared: self.shared.clone(),
            };
            self.watcher = Some(tokio::spawn(watcher.run()));
        }
        lock(&self.shared)
    }

    /// The engine's health. While the event stream is open the engine counts as just seen.
    pub fn health(&self) -> EngineHealth {
        let mut health = lock(&self.shared).health.clone();
        if health.reachable {
            health.last_ok_at = Some(Utc::now());
        }
        health
    }
}

fn lock(shared: &Mutex<Inventory>) -> MutexGuard<'_, Inventory> {
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The task keeping the [`Inventory`] up to date.
struct Watcher {
    endpoint: Endpoint,
    shared: Arc<Mutex<Inventory>>,
}

impl Watcher {
    #[instrument(skip_all, fields(endpoint = %self.endpoint))]
    async fn run(self) {
        let mut backoff = BACKOFF_MIN;
        loop {
            let error = match self.connect().await {
                Ok((docker, version)) => {
                    info!(version = ?version, api = %docker.client_version(), "connected to docker engine");
                    lock(&self.shared).health.version = version;
                    self.session(&docker, &mut backoff).await
                }
                Err(error) => error,
            };
            self.mark_unreachable(error, backoff);
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }

    /// Connects and negotiates the API version (engines from 20.10 answer a too-new client
    /// with an error on every call).
    async fn connect(&self) -> Result<(Docker, Option<String>), EngineError> {
        let attempt = async {
            let docker = client(&self.endpoint)?.negotiate_version().await?;
            let version = docker.version().await?.version;
            Ok::<_, bollard::errors::Error>((docker, version))
        };
        match tokio::time::timeout(CALL_TIMEOUT, attempt).await {
            Ok(Ok(ok)) => Ok(ok),
            Ok(Err(source)) => Err(EngineError::Connect {
                endpoint: self.endpoint.clone(),
                source,
            }),
            Err(_) => Err(EngineError::ConnectTimeout {
                endpoint: self.endpoint.clone(),
            }),
        }
    }

    /// Follows the engine until something fails; returns what failed.
    async fn session(&self, docker: &Docker, backoff: &mut Duration) -> EngineError {
        let since = (Utc::now().timestamp() - 1).to_string();
        let filters = HashMap::from([
            ("type".to_owned(), vec!["container".to_owned()]),
            (
                "event".to_owned(),
                EVENTS.iter().map(|&e| e.to_owned()).collect(),
            ),
        ]);
        let mut events = docker.events(Some(EventsOptions {
            since: Some(since),
            until: None,
            filters: Some(filters),
        }));
        if let Err(error) = self.reconcile(docker).await {
            return error;
        }
        {
            let mut inventory = lock(&self.shared);
            if !inventory.health.reachable {
                info!(
                    containers = inventory.containers.len(),
                    "docker engine reachable"
                );
            }
            inventory.health.reachable = true;
            inventory.health.error = None;
            inventory.health.last_ok_at = Some(Utc::now());
            inventory.docker = Some(docker.clone());
            inventory.session += 1;
            inventory.generation += 1;
        }
        *backoff = BACKOFF_MIN;
        let mut full_list = tokio::time::interval(RECONCILE_INTERVAL);
        full_list.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        full_list.tick().await; // the first tick is immediate; we just listed
        loop {
            tokio::select! {
                event = events.next() => match event {
                    Some(Ok(event)) => self.apply(docker, event).await,
                    Some(Err(source)) => {
                        return EngineError::Events { endpoint: self.endpoint.clone(), source }
                    }
                    None => return EngineError::EventsClosed { endpoint: self.endpoint.clone() },
                },
                _ = full_list.tick() => {
                    if let Err(error) = self.reconcile(docker).await {
                        return error;
                    }
                }
            }
        }
    }

    /// Lists running containers and makes the set match: inspects new ones, drops gone ones.
    async fn reconcile(&self, docker: &Docker) -> Result<(), EngineError> {
        let options = ListContainersOptions {
            all: false,
            ..Default::default()
        };
        let listed =
            match tokio::time::timeout(CALL_TIMEOUT, docker.list_containers(Some(options))).await {
                Ok(Ok(listed)) => listed,
                Ok(Err(source)) => {
                    return Err(EngineError::List {
                        endpoint: self.endpoint.clone(),
                        source,
                    })
                }
                Err(_) => {
                    return Err(EngineError::ListTimeout {
                        endpoint: self.endpoint.clone(),
                    })
                }
            };
        let listed: HashMap<String, String> = listed
            .into_iter()
            .filter_map(|summary| {
                let id = summary.id?;
                let name = summary
                    .names
                    .as_ref()
                    .and_then(|n| n.first())
                    .map(|n| n.trim_start_matches('/').to_owned())
                    .unwrap_or_else(|| short(&id));
                Some((id, name))
            })
            .collect();
        let unknown: Vec<String> = {
            let mut inventory = lock(&self.shared);
            let gone: Vec<String> = inventory
                .containers
                .keys()
                .filter(|id| !listed.contains_key(*id))
                .cloned()
                .collect();
            for id in gone {
                debug!(container = %id, "gone (found by full list)");
                inventory.remove(&id);
            }
            // A rename whose event was lost.
            for (id, name) in &listed {
                if let Some(known) = inventory.containers.get(id) {
                    if &known.name != name {
                        let renamed = ContainerInfo {
                            name: name.clone(),
                            ..known.as_ref().clone()
                        };
                        inventory.insert(id.clone(), renamed);
                    }
                }
            }
            listed
                .into_keys()
                .filter(|id| !inventory.containers.contains_key(id))
                .collect()
        };
        let mut inspected = stream::iter(unknown)
            .map(|id| async move {
                let info = inspect(docker, &id).await;
                (id, info)
            })
            .buffer_unordered(INSPECT_CONCURRENCY);
        while let Some((id, info)) = inspected.next().await {
            match info {
                Ok(Some(info)) => {
                    debug!(container = %id, name = %info.name, "following container");
                    lock(&self.shared).insert(id, info);
                }
                // Stopped between list and inspect.
                Ok(None) => {}
                Err(source) => return Err(EngineError::Inspect { id, source }),
            }
        }
        Ok(())
    }

    /// Applies one container event to the set.
    async fn apply(&self, docker: &Docker, event: EventMessage) {
        let Some(actor) = event.actor else { return };
        let Some(id) = actor.id else { return };
        let action = event.action.unwrap_or_default();
        lock(&self.shared).health.last_ok_at = Some(Utc::now());
        match action.as_str() {
            "start" => match inspect(docker, &id).await {
                Ok(Some(info)) => {
                    debug!(container = %id, name = %info.name, "started");
                    lock(&self.shared).insert(id, info);
                }
                Ok(None) => debug!(container = %id, "started and stopped before inspect"),
                // The next full list picks it up.
                Err(e) => warn!(container = %id, cause = %e, "inspect after start failed"),
            },
            "die" | "destroy" => {
                debug!(container = %id, %action, "stopped");
                lock(&self.shared).remove(&id);
            }
            "rename" => {
                let name = actor.attributes.as_ref().and_then(|a| a.get("name"));
                let mut inventory = lock(&self.shared);
                if let (Some(name), Some(known)) = (name, inventory.containers.get(&id)) {
                    let renamed = ContainerInfo {
                        name: name.trim_start_matches('/').to_owned(),
                        ..known.as_ref().clone()
                    };
                    inventory.insert(id, renamed);
                }
            }
            // A paused container stays listed (as `docker ps` shows it), with 0 % CPU.
            _ => debug!(container = %id, %action, "event"),
        }
    }

    /// Records a failure: forget every container (we can no longer see starts and stops).
    fn mark_unreachable(&self, error: EngineError, retry_in: Duration) {
        let transient = error.is_transient();
        let error = error.to_string();
        let mut inventory = lock(&self.shared);
        if inventory.health.reachable || inventory.health.error.as_deref() != Some(&error) {
            warn!(endpoint = %self.endpoint, cause = %error, transient, ?retry_in, "docker engine unreachable");
        }
        if !inventory.containers.is_empty() {
            inventory.containers.clear();
            inventory.generation += 1;
        }
        inventory.docker = None;
        inventory.health.reachable = false;
        inventory.health.error = Some(error);
    }
}

/// Inspects one container: `Ok(None)` when it is gone or no longer running.
async fn inspect(docker: &Docker, id: &str) -> Result<Option<ContainerInfo>, CallError> {
    match tokio::time::timeout(CALL_TIMEOUT, docker.inspect_container(id, None)).await {
        Ok(Ok(inspect)) => Ok(container_info(id, inspect)),
        Ok(Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        })) => Ok(None),
        Ok(Err(e)) => Err(CallError::Engine(e)),
        Err(_) => Err(CallError::Timeout),
    }
}

/// Converts `docker inspect` output; `None` unless the container is running (or paused).
pub fn container_info(id: &str, inspect: ContainerInspectResponse) -> Option<ContainerInfo> {
    let state = inspect.state.unwrap_or_default();
    if state.running == Some(false) {
        return None;
    }
    let started_at = state
        .started_at
        .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
        .map(|d| d.with_timezone(&Utc));
    Some(ContainerInfo {
        name: inspect
            .name
            .map(|n| n.trim_start_matches('/').to_owned())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| short(id)),
        image: inspect.config.and_then(|c| c.image),
        started_at,
        cgroup_parent: inspect
            .host_config
            .and_then(|h| h.cgroup_parent)
            .filter(|p| !p.is_empty()),
        ..ContainerInfo::default()
    })
}

/// The 12-character id `docker ps` shows, for containers without a name.
fn short(id: &str) -> String {
    id.chars().take(12).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ContainerConfig, ContainerState, HostConfig};

    #[test]
    fn inspect_conversion_table() {
        let inspect = |name: Option<&str>, running: Option<bool>, parent: Option<&str>| {
            ContainerInspectResponse {
                name: name.map(str::to_owned),
                state: Some(ContainerState {
                    running,
                    started_at: Some("2026-11-22T20:00:00.123456789Z".to_owned()),
                    ..Default::default()
                }),
                config: Some(ContainerConfig {
                    image: Some("busybox".to_owned()),
                    ..Default::default()
                }),
                host_config: Some(HostConfig {
                    cgroup_parent: parent.map(str::to_owned),
                    ..Default::default()
                }),
                ..Default::default()
            }
        };
        let id = "6afaa22c1bd2030a54c251de88e3567a4a262e67400bfb701caa0518397d4d08";
        let cases = [
            // name, running, cgroup parent → (name, parent) or not running
            (Some("/web"), Some(true), None, Some(("web", None))),
            (Some("/web"), None, Some(""), Some(("web", None))),
            (
                None,
                Some(true),
                Some("/ci"),
                Some(("6afaa22c1bd2", Some("/ci"))),
            ),
            (Some("/web"), Some(false), None, None),
        ];
        for (name, running, parent, want) in cases {
            let got = container_info(id, inspect(name, running, parent));
            let got = got
                .as_ref()
                .map(|i| (i.name.as_str(), i.cgroup_parent.as_deref()));
            assert_eq!(got, want, "{name:?} {running:?} {parent:?}");
        }
        let info = container_info(id, inspect(Some("/web"), Some(true), None)).expect("running");
        assert_eq!(info.image.as_deref(), Some("busybox"));
        let now = DateTime::parse_from_rfc3339("2026-11-22T20:01:01Z")
            .expect("date")
            .with_timezone(&Utc);
        assert_eq!(info.uptime_secs(now), Some(60));
    }

    #[test]
    fn generation_moves_only_on_change() {
        let mut inventory = Inventory::default();
        let info = ContainerInfo {
            name: "a".into(),
            ..ContainerInfo::default()
        };
        inventory.insert("x".into(), info.clone());
        inventory.insert("x".into(), info.clone());
        assert_eq!(inventory.generation, 1);
        inventory.insert(
            "x".into(),
            ContainerInfo {
                name: "b".into(),
                ..info
            },
        );
        assert_eq!(inventory.generation, 2);
        inventory.remove("y");
        inventory.remove("x");
        assert_eq!(inventory.generation, 3);
    }
}
