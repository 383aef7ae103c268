//! The set of running containers, kept from the engine's event stream instead of listing every
//! second. Shared by both collectors: they only decide how a known container's figures are read.
//!
//! ```text
//!   watcher task (one per agent)
//!     connect + negotiate ──► subscribe to container events (replaying the last second)
//!       │                     list running containers once, inspect each new one
//!       │                     list exited ones once (stopped within --keep-exited, 200 at most)
//!       │                     every forwarded event (create … destroy) ─► EventQueue (events)
//!       │                     ┌─ event start/restart/die/oom/pause/unpause/update
//!       │                     │        ──► inspect ─► running, paused, restarting: keep ─┐
//!       │                     │                       exited, dead: move to `exited` ────┤
//!       │                     ├─ event health_status ─► new health ──────────────────────┤
//!       │                     ├─ event die ─► remember exit code, name, image (`dying`) ─┤
//!       │                     ├─ event destroy ─► remove; an exited one stays, removed ──┤
//!       │                     ├─ event rename ─► new name ───────────────────────────────┼─► Inventory
//!       │                     └─ every 30 s: list again, reconcile ──────────────────────┘  (generation
//!       │                                                                                 += 1) │
//!       └── stream or list fails: clear, mark unreachable, back off 0.5 s … 4 s  │
//!                                                                                ▼
//!   collector's sample() (once a second): if the generation moved, re-sync its own per-container
//!   state; then read figures. No engine call on the tick itself.
//! ```
//!
//! Replaying events from one second before the list makes the order of "subscribe" and "list"
//! irrelevant: every event sets a container's state outright (running, gone, named), so
//! applying an already-reflected event again is harmless, and the last event per container wins.
//!
//! Only the engine itself failing (connect, events, list) ends a session. A container whose
//! inspect fails or times out (the engine holds a container's lock while it starts, stops or
//! removes it, and a crowded engine answers late) is left out of that list and the next full
//! list comes 2 s later instead of 30 s: the others stay listed meanwhile.
//!
//! Events that need an inspect are resolved up to 32 at a time, each applied when its answer
//! comes unless a newer event of the same container was applied first, so a burst of starts and
//! stops (churn) does not queue behind one slow call.
//!
//! A container whose restart policy brings it back is `restarting` between runs (the engine
//! counts it as running): a `die` re-inspects it and it stays listed, so the batch never loses
//! it for a tick. A container that stopped for good moves to the exited list, kept for
//! `--keep-exited` (10 minutes by default) after `FinishedAt`, the [`EXITED_CAP`] most recent at
//! most — also once it is removed (`removed`): a `--rm` container that died is often gone
//! before its inspect, so its `die` event's exit code, name and image are kept until then.
//!
//! The same event stream feeds the `container_event` messages (one stream per engine, never a
//! second): each forwarded event is converted at once ([`super::events::container_event`]) and
//! queued for publishing; `create`, `stop` and `kill` change nothing in the set and are only
//! forwarded. The 1 s replay at each session start is not forwarded twice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bollard::models::{ContainerInspectResponse, ContainerStateStatusEnum, EventMessage};
use bollard::query_parameters::{EventsOptions, ListContainersOptions};
use bollard::Docker;
use chrono::{DateTime, Utc};
use dockscope_protocol::{ContainerState, Health};
use futures_util::{stream, StreamExt};
use tokio::task::JoinHandle;
use tracing::{debug, info, instrument, warn};

pub use super::events::health_of;
use super::events::{container_event, EventQueue};
use super::source::EngineHealth;
use crate::engine::{client, CallError, Endpoint, EngineError, CALL_TIMEOUT};
/// How often the event-driven set is checked against a full list (events can be lost).
pub const RECONCILE_INTERVAL: Duration = Duration::from_secs(30);
/// First and longest wait between connection attempts.
const BACKOFF_MIN: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(4);
/// Inspects in flight at once while filling the set from a list (hundreds at start-up).
const INSPECT_CONCURRENCY: usize = 8;
/// The next full list after one that left containers uninspected (their inspect failed or
/// timed out: the engine holds a container's lock while it starts, stops or removes it, and a
/// busy engine answers late). Only the list failing ends the session.
const RECONCILE_RETRY: Duration = Duration::from_secs(2);
/// Events being resolved at once (most need an inspect); more wait in the event stream.
const EVENTS_IN_FLIGHT: usize = 32;
/// Container events that change the set or what it knows; others are filtered out by the
/// engine. (`health_status` arrives as `health_status: healthy`; the engine matches the filter
/// on the part before the colon.)
const EVENTS: [&str; 13] = [
    "create",
    "stop",
    "kill",
    "start",
    "restart",
    "die",
    "oom",
    "destroy",
    "rename",
    "pause",
    "unpause",
    "update",
    "health_status",
];
/// How long a stopped container stays in the exited list after it finished, unless
/// `--keep-exited` says otherwise.
pub const DEFAULT_KEEP_EXITED: std::time::Duration = std::time::Duration::from_secs(600);
/// At most this many exited containers are kept (the most recent): a host with thousands of
/// stopped containers, or one churning through short-lived ones, must not make every batch
/// huge (an entry is about 350 bytes: 70 KB at most); the dashboard keeps as many.
pub const EXITED_CAP: usize = 200;
/// `die` events remembered until their inspect is answered, at most.
const DYING_CAP: usize = 1_000;
/// Forwarded events remembered to skip the replay at a session start, and containers with an
/// `oom` not yet followed by a `die`, at most.
const RECENT_EVENTS: usize = 512;
const OOM_PENDING_CAP: usize = 1_024;
/// The CFS period Docker uses for `--cpus` and when `--cpu-period` is not given.
const DEFAULT_CPU_PERIOD_US: u64 = 100_000;

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
    /// `State.FinishedAt` of the last run; `None` before the first ends.
    pub finished_at: Option<DateTime<Utc>>,
    /// Removed from the engine since it stopped (an exited-list entry kept until its time).
    pub removed: bool,
}

impl ContainerInfo {
    /// Whether the container belongs in the running set: running, paused, or between runs
    /// of its restart policy. Without a state (an engine that does not say), it counts as
    /// running.
    pub fn is_live(&self) -> bool {
        matches!(
            self.state,
            None | Some(ContainerState::Running)
                | Some(ContainerState::Paused)
                | Some(ContainerState::Restarting)
        )
    }

    /// Whether it stopped (exited or dead) and so belongs in the exited list.
    pub fn is_stopped(&self) -> bool {
        matches!(
            self.state,
            Some(ContainerState::Exited) | Some(ContainerState::Dead)
        )
    }

    /// Seconds since the container started, as of `now`.
    pub fn uptime_secs(&self, now: DateTime<Utc>) -> Option<u64> {
        self.started_at
            .and_then(|s| u64::try_from((now - s).num_seconds()).ok())
    }
}

/// How long an exited container stays listed (`--keep-exited`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepExited(pub chrono::TimeDelta);

impl Default for KeepExited {
    fn default() -> Self {
        Self::from(DEFAULT_KEEP_EXITED)
    }
}

impl From<std::time::Duration> for KeepExited {
    fn from(keep: std::time::Duration) -> Self {
        Self(chrono::TimeDelta::from_std(keep).unwrap_or(chrono::TimeDelta::MAX))
    }
}

/// The running containers and the engine's health, written by the watcher task.
#[derive(Debug, Default)]
pub struct Inventory {
    /// Bumped on every change to `containers`, so a collector re-syncs only when needed.
    pub generation: u64,
    /// Running, paused or restarting containers by full id.
    pub containers: HashMap<String, Arc<ContainerInfo>>,
    /// Containers that stopped within [`Inventory::keep`], by full id, with their exit (the
    /// [`EXITED_CAP`] most recent), removed ones included.
    pub exited: HashMap<String, Arc<ContainerInfo>>,
    /// What `die` events said (exit code, time, name, image) until the inspect after them is
    /// answered: all that is left of a `--rm` container removed before that.
    pub dying: HashMap<String, ContainerInfo>,
    /// `--keep-exited`.
    pub keep: KeepExited,
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

    /// Puts an inspected container where its state says: the running set, the exited list
    /// (as of `now`), or neither (created, being removed).
    pub fn place(&mut self, id: String, info: ContainerInfo, now: DateTime<Utc>) {
        if info.is_live() {
            self.dying.remove(&id);
            self.exited.remove(&id);
            self.insert(id, info);
        } else {
            self.remove(&id);
            if info.is_stopped() {
                self.dying.remove(&id);
                self.add_exited(id, info, now);
            } else if info.state != Some(ContainerState::Removing) {
                self.dying.remove(&id);
                self.exited.remove(&id);
            }
            // Being removed (`--rm` after its die): what is known stays for its `destroy`.
        }
    }

    /// Remembers what a `die` event said of `id` until its inspect is answered.
    fn died(&mut self, id: &str, info: ContainerInfo) {
        if self.dying.len() >= DYING_CAP {
            self.dying.clear();
        }
        self.dying.insert(id.to_owned(), info);
    }

    /// `id` is gone from the engine (`destroy`, or not found after an event): out of the
    /// running set; an exited entry (or what its `die` said) stays listed, marked removed.
    pub fn removed(&mut self, id: &str, now: DateTime<Utc>) {
        self.remove(id);
        let known = self
            .exited
            .remove(id)
            .map(|info| info.as_ref().clone())
            .or_else(|| self.dying.remove(id));
        self.dying.remove(id);
        if let Some(info) = known {
            let info = ContainerInfo {
                removed: true,
                ..info
            };
            self.add_exited(id.to_owned(), info, now);
        }
    }

    /// Records a stopped container unless it finished more than [`Inventory::keep`] before
    /// `now`; keeps the [`EXITED_CAP`] most recent. Its start time is dropped: it has no
    /// uptime any more.
    fn add_exited(&mut self, id: String, info: ContainerInfo, now: DateTime<Utc>) {
        let keep = self.keep.0;
        if info.finished_at.is_some_and(|f| now - f > keep) {
            self.exited.remove(&id);
            return;
        }
        let info = ContainerInfo {
            started_at: None,
            ..info
        };
        self.exited.insert(id, Arc::new(info));
        self.prune_exited(now);
        while self.exited.len() > EXITED_CAP {
            let oldest = self
                .exited
                .iter()
                .min_by_key(|(_, info)| info.finished_at)
                .map(|(id, _)| id.clone());
            match oldest {
                Some(id) => self.exited.remove(&id),
                None => break,
            };
        }
    }

    /// Forgets exited containers that finished more than [`Inventory::keep`] before `now`.
    fn prune_exited(&mut self, now: DateTime<Utc>) {
        let keep = self.keep.0;
        self.exited
            .retain(|_, info| info.finished_at.is_none_or(|f| now - f <= keep));
    }

    /// The exited list as batch entries (most recent first), as of `now`, each made by
    /// `entry` (the collectors pass `figures::container_stats` with no figures: the entry
    /// carries state, exit code and OOM flag).
    pub fn exited_entries<T>(
        &self,
        now: DateTime<Utc>,
        entry: impl Fn(String, &ContainerInfo, DateTime<Utc>) -> T,
    ) -> Vec<T> {
        let mut recent: Vec<(&String, &Arc<ContainerInfo>)> = self
            .exited
            .iter()
            .filter(|(_, info)| info.finished_at.is_none_or(|f| now - f <= self.keep.0))
            .collect();
        recent.sort_by(|a, b| b.1.finished_at.cmp(&a.1.finished_at).then(a.0.cmp(b.0)));
        recent
            .into_iter()
            .map(|(id, info)| entry(id.clone(), info, now))
            .collect()
    }

    /// The name of the container `reference` (a full id, an id prefix or a name) names,
    /// when it is running or recently exited.
    fn name_of(&self, reference: &str) -> Option<String> {
        let all = || self.containers.iter().chain(self.exited.iter());
        all()
            .find(|(id, info)| id.as_str() == reference || info.name == reference)
            .or_else(|| all().find(|(id, _)| reference.len() >= 12 && id.starts_with(reference)))
            .map(|(_, info)| info.name.clone())
    }
}

/// The event-driven container set. The watcher task starts with the first [`ContainerSet::lock`]
/// (inside the runtime) and stops when the set is dropped.
pub struct ContainerSet {
    /// Where to connect.
    endpoint: Endpoint,
    /// Where the watcher puts the events it forwards.
    events: Arc<EventQueue>,
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
    /// A set for `endpoint` keeping exited containers for `keep`; nothing is contacted until
    /// the first [`ContainerSet::lock`].
    pub fn new(endpoint: Endpoint, keep: std::time::Duration) -> Self {
        let shared = Arc::new(Mutex::new(Inventory {
            health: EngineHealth {
                error: Some(format!("not contacted {endpoint} yet")),
                ..EngineHealth::default()
            },
            keep: KeepExited::from(keep),
            ..Inventory::default()
        }));
        Self {
            endpoint,
            events: Arc::new(EventQueue::default()),
            shared,
            watcher: None,
        }
    }

    /// The queue of the container events the watcher forwards.
    pub fn events(&self) -> Arc<EventQueue> {
        self.events.clone()
    }

    /// The current inventory (starting the watcher on first use). Hold it briefly: the watcher
    /// waits for it to apply events.
    pub fn lock(&mut self) -> MutexGuard<'_, Inventory> {
        if self.watcher.is_none() {
            let watcher = Watcher {
                endpoint: self.endpoint.clone(),
                shared: self.shared.clone(),
                events: self.events.clone(),
                forwarding: Mutex::new(Forwarding::default()),
            };
            self.watcher = Some(tokio::spawn(watcher.run()));
        }
        lock(&self.shared)
    }

    /// The containers that stopped within `--keep-exited`, as batch entries made by `entry` (see
    /// [`Inventory::exited_entries`]). Does not start the watcher.
    pub fn exited<T>(&self, entry: impl Fn(String, &ContainerInfo, DateTime<Utc>) -> T) -> Vec<T> {
        lock(&self.shared).exited_entries(Utc::now(), entry)
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

/// Per container, the events being resolved, so that a late answer about an older event never
/// overrides a newer one (a `die`'s inspect finishing after the `destroy`). Only events that
/// set the whole state (an inspect, a destroy) count as newer: a rename or a health change
/// applies to whatever is known and never hides an older inspect. Forgets a container once
/// none of its events is pending.
#[derive(Debug, Default)]
struct EventOrder {
    /// Numbers events as they arrive.
    next: u64,
    /// Container id → (events in flight, newest whole-state event applied).
    containers: HashMap<String, (u32, u64)>,
}

impl EventOrder {
    /// Numbers a new event of container `id`.
    fn start(&mut self, id: &str) -> u64 {
        self.next += 1;
        self.containers.entry(id.to_owned()).or_default().0 += 1;
        self.next
    }

    /// Event `seq` of `id` is resolved: whether to apply it (a partial change always; one
    /// that sets the whole state unless a newer such one was applied).
    fn done(&mut self, id: &str, seq: u64, whole: bool) -> bool {
        let Some(entry) = self.containers.get_mut(id) else {
            return true;
        };
        entry.0 = entry.0.saturating_sub(1);
        let newest = !whole || seq > entry.1;
        if whole && newest {
            entry.1 = seq;
        }
        if entry.0 == 0 {
            self.containers.remove(id);
        }
        newest
    }
}

/// Event number `seq` of container `id`, resolved.
struct Resolved {
    seq: u64,
    id: String,
    change: Option<Change>,
}

/// One container event, resolved (see [`Watcher::resolve`]).
enum Change {
    /// `destroy`: gone from both lists.
    Destroyed(String),
    /// `rename`: the new name.
    Renamed(String, String),
    /// `health_status: …`: the new status.
    Health(String, Health),
    /// Any other event: the container as inspected after it (`Ok(None)`: gone).
    Inspected {
        id: String,
        action: String,
        inspected: Result<Option<Box<ContainerInfo>>, CallError>,
    },
}

impl Change {
    /// Whether it replaces all that is known of the container (see [`EventOrder`]).
    fn sets_whole_state(&self) -> bool {
        matches!(self, Change::Destroyed(_) | Change::Inspected { .. })
    }
}

/// The task keeping the [`Inventory`] up to date and forwarding events.
struct Watcher {
    endpoint: Endpoint,
    shared: Arc<Mutex<Inventory>>,
    /// See [`ContainerSet::events`].
    events: Arc<EventQueue>,
    /// What forwarding remembers across events and sessions.
    forwarding: Mutex<Forwarding>,
}

/// What forwarding events needs to remember.
#[derive(Debug, Default)]
struct Forwarding {
    /// (time in ns, container, action) of the last forwarded events: the 1 s replay at a
    /// session start is not forwarded again.
    recent: std::collections::VecDeque<(i64, String, String)>,
    /// Containers with an `oom` since their last start and no `die` yet.
    oom: std::collections::HashSet<String>,
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
        let mut unresolved = match self.reconcile(docker).await {
            Ok(unresolved) => unresolved,
            Err(error) => return error,
        };
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
        // After the running ones are published: the exited list may wait on slow inspects.
        if let Err(error) = self.list_exited(docker).await {
            return error;
        }
        lock(&self.shared).generation += 1;
        *backoff = BACKOFF_MIN;
        // The next full list: sooner while some container could not be inspected.
        let next_list = tokio::time::sleep(reconcile_after(unresolved));
        tokio::pin!(next_list);
        // Events being resolved: inspects overlap, and one container's slow inspect (the
        // engine holds a dying container's lock while it cleans up) never delays another's.
        let mut pending = stream::FuturesUnordered::new();
        let mut order = EventOrder::default();
        loop {
            tokio::select! {
                Some(Resolved { seq, id, change }) = pending.next(), if !pending.is_empty() => {
                    let whole = change.as_ref().is_some_and(Change::sets_whole_state);
                    if let (true, Some(change)) = (order.done(&id, seq, whole), change) {
                        self.commit(change);
                    }
                }
                event = events.next(), if pending.len() < EVENTS_IN_FLIGHT => match event {
                    Some(Ok(event)) => {
                        lock(&self.shared).health.last_ok_at = Some(Utc::now());
                        let Some(id) = event.actor.as_ref().and_then(|a| a.id.clone()) else {
                            continue;
                        };
                        self.forward(&event, &id);
                        // Forwarded only: the set does not change.
                        if matches!(event.action.as_deref(), Some("create" | "stop" | "kill")) {
                            continue;
                        }
                        let seq = order.start(&id);
                        pending.push(async move {
                            let change = self.resolve(docker, event).await;
                            Resolved { seq, id, change }
                        });
                    }
                    Some(Err(source)) => {
                        return EngineError::Events { endpoint: self.endpoint.clone(), source }
                    }
                    None => return EngineError::EventsClosed { endpoint: self.endpoint.clone() },
                },
                () = &mut next_list => {
                    unresolved = match self.reconcile(docker).await {
                        Ok(unresolved) => unresolved,
                        Err(error) => return error,
                    };
                    next_list.as_mut().reset(tokio::time::Instant::now() + reconcile_after(unresolved));
                }
            }
        }
    }

    /// Forwards one event (unless it was already: the replay at a session start) and
    /// remembers what a `die` said (see [`Inventory::dying`]).
    fn forward(&self, event: &EventMessage, id: &str) {
        let action = event.action.as_deref().unwrap_or_default();
        let oom_before = {
            let mut forwarding = self.forwarding.lock().unwrap_or_else(|p| p.into_inner());
            let key = (
                event.time_nano.unwrap_or_default(),
                id.to_owned(),
                action.to_owned(),
            );
            if forwarding.recent.contains(&key) {
                return;
            }
            if forwarding.recent.len() >= RECENT_EVENTS {
                forwarding.recent.pop_front();
            }
            forwarding.recent.push_back(key);
            match action {
                "oom" => {
                    if forwarding.oom.len() >= OOM_PENDING_CAP {
                        forwarding.oom.clear();
                    }
                    forwarding.oom.insert(id.to_owned());
                    false
                }
                "start" | "destroy" => {
                    forwarding.oom.remove(id);
                    false
                }
                "die" => forwarding.oom.remove(id),
                _ => false,
            }
        };
        let Some(message) = container_event(event, oom_before) else {
            return;
        };
        if message.action == dockscope_protocol::EventAction::Die {
            let mut inventory = lock(&self.shared);
            let known = inventory
                .containers
                .get(id)
                .map(|i| i.as_ref().clone())
                .unwrap_or_default();
            let info = ContainerInfo {
                name: message.name.clone(),
                image: message.image.clone().or(known.image.clone()),
                state: Some(ContainerState::Exited),
                exit_code: message.exit_code.or(known.exit_code),
                oom_killed: Some(oom_before),
                finished_at: Some(message.time),
                pid: None,
                ..known
            };
            inventory.died(id, info);
        }
        self.events.push(message);
    }

    /// Lists containers with `options`.
    async fn list(
        &self,
        docker: &Docker,
        options: ListContainersOptions,
    ) -> Result<Vec<bollard::models::ContainerSummary>, EngineError> {
        match tokio::time::timeout(CALL_TIMEOUT, docker.list_containers(Some(options))).await {
            Ok(Ok(listed)) => Ok(listed),
            Ok(Err(source)) => Err(EngineError::List {
                endpoint: self.endpoint.clone(),
                source,
            }),
            Err(_) => Err(EngineError::ListTimeout {
                endpoint: self.endpoint.clone(),
            }),
        }
    }

    /// Fills the exited list at the start of a session: containers that stopped within
    /// `--keep-exited`. The list says "Exited (0) 5 minutes ago"; only those whose words allow
    /// that are inspected (for `FinishedAt`), the [`EXITED_CAP`] most recently created at most,
    /// so a host with thousands of old stopped containers costs one list call. One that cannot
    /// be inspected is left out (see [`Unresolved`]).
    async fn list_exited(&self, docker: &Docker) -> Result<(), EngineError> {
        let options = ListContainersOptions {
            all: true,
            filters: Some(HashMap::from([(
                "status".to_owned(),
                vec!["exited".to_owned(), "dead".to_owned()],
            )])),
            ..Default::default()
        };
        let listed = self.list(docker, options).await?;
        let keep = lock(&self.shared).keep.0;
        let mut candidates: Vec<(i64, String)> = listed
            .into_iter()
            .filter(|summary| {
                summary
                    .status
                    .as_deref()
                    .is_none_or(|s| keep > chrono::TimeDelta::hours(1) || within_the_hour(s))
            })
            .filter_map(|summary| Some((summary.created.unwrap_or(0), summary.id?)))
            .collect();
        candidates.sort_by_key(|c| std::cmp::Reverse(c.0));
        candidates.truncate(EXITED_CAP);
        // Removed ones cannot be listed again: they stay until their time is up.
        lock(&self.shared).exited.retain(|_, info| info.removed);
        let mut inspected = stream::iter(candidates)
            .map(|(_, id)| async move {
                let info = self.inspect(docker, &id).await;
                (id, info)
            })
            .buffer_unordered(INSPECT_CONCURRENCY);
        let mut unresolved = Unresolved::default();
        while let Some((id, info)) = inspected.next().await {
            match info {
                Ok(Some(info)) if info.is_stopped() => {
                    lock(&self.shared).place(id, info, Utc::now());
                }
                Ok(_) => {}
                Err(source) => unresolved.add(id, source),
            }
        }
        // Listed once a session: retrying would re-inspect up to 100 stopped containers, and
        // a stopped container that is left out costs only its grey row.
        unresolved.report("exited", None);
        Ok(())
    }

    /// Lists running containers and makes the set match: inspects new ones, drops gone ones.
    /// Returns how many new ones could not be inspected (see [`Unresolved`]); the list call
    /// failing is the only error, since it says the engine itself is in trouble.
    async fn reconcile(&self, docker: &Docker) -> Result<usize, EngineError> {
        let options = ListContainersOptions {
            all: false,
            ..Default::default()
        };
        let listed = match self.list(docker, options).await {
            Ok(listed) => listed,
            Err(error) => return Err(error),
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
                let info = self.inspect(docker, &id).await;
                (id, info)
            })
            .buffer_unordered(INSPECT_CONCURRENCY);
        let mut unresolved = Unresolved::default();
        while let Some((id, info)) = inspected.next().await {
            match info {
                Ok(Some(info)) => {
                    debug!(container = %id, name = %info.name, "following container");
                    lock(&self.shared).place(id, info, Utc::now());
                }
                // Removed between list and inspect.
                Ok(None) => {}
                Err(source) => unresolved.add(id, source),
            }
        }
        unresolved.report("running", Some(RECONCILE_RETRY));
        Ok(unresolved.count)
    }

    /// Inspects one container (`Ok(None)`: it is gone), naming the container whose network
    /// namespace it shares.
    async fn inspect(&self, docker: &Docker, id: &str) -> Result<Option<ContainerInfo>, CallError> {
        let Some(mut info) = inspect(docker, id).await? else {
            return Ok(None);
        };
        if let Some(target) = info
            .network_mode
            .as_deref()
            .and_then(|m| m.strip_prefix("container:"))
            .map(str::to_owned)
        {
            let known = lock(&self.shared).name_of(&target);
            let name = match known {
                Some(name) => Some(name),
                None => inspect(docker, &target)
                    .await
                    .ok()
                    .flatten()
                    .map(|i| i.name),
            };
            if let Some(name) = name {
                info.network_mode = Some(format!("container:{name}"));
            }
        }
        Ok(Some(info))
    }

    /// What one container event means for the set, asking the engine when the event alone
    /// does not say (start, restart, die, oom, pause, unpause, update: the state, pid, exit,
    /// restart count or limits changed). Makes no change itself: see [`Watcher::commit`].
    async fn resolve(&self, docker: &Docker, event: EventMessage) -> Option<Change> {
        let actor = event.actor?;
        let id = actor.id?;
        let action = event.action.unwrap_or_default();
        Some(match action.as_str() {
            "destroy" => Change::Destroyed(id),
            "rename" => {
                let name = actor.attributes.as_ref().and_then(|a| a.get("name"))?;
                Change::Renamed(id, name.trim_start_matches('/').to_owned())
            }
            // `health_status: healthy`: the new status is in the event itself.
            health if health.starts_with("health_status") => {
                let status = health.split_once(':').map(|(_, s)| s.trim())?;
                Change::Health(id, health_of(status)?)
            }
            _ => {
                let inspected = self.inspect(docker, &id).await.map(|i| i.map(Box::new));
                Change::Inspected {
                    id,
                    action,
                    inspected,
                }
            }
        })
    }

    /// Applies one resolved event to the set. A `die` of a container its restart policy
    /// brings back finds it `restarting`, and it stays listed.
    fn commit(&self, change: Change) {
        let mut inventory = lock(&self.shared);
        match change {
            Change::Destroyed(id) => {
                debug!(container = %id, "removed");
                inventory.removed(&id, Utc::now());
            }
            Change::Renamed(id, name) => {
                if let Some(known) = inventory.containers.get(&id) {
                    let renamed = ContainerInfo {
                        name,
                        ..known.as_ref().clone()
                    };
                    inventory.insert(id, renamed);
                }
            }
            Change::Health(id, health) => {
                if let Some(known) = inventory.containers.get(&id) {
                    let updated = ContainerInfo {
                        health: Some(health),
                        ..known.as_ref().clone()
                    };
                    inventory.insert(id, updated);
                }
            }
            Change::Inspected {
                id,
                action,
                inspected,
            } => match inspected {
                Ok(Some(info)) => {
                    debug!(container = %id, name = %info.name, %action, state = ?info.state, "inspected after event");
                    inventory.place(id, *info, Utc::now());
                }
                Ok(None) => {
                    debug!(container = %id, %action, "gone before inspect");
                    inventory.removed(&id, Utc::now());
                }
                Err(e) => {
                    warn!(container = %id, %action, cause = %e, "inspect after event failed");
                    // A container we cannot ask about after it died is not shown as running;
                    // what its `die` said is listed instead.
                    if action == "die" {
                        inventory.remove(&id);
                        if let Some(info) = inventory.dying.remove(&id) {
                            inventory.add_exited(id, info, Utc::now());
                        }
                    }
                }
            },
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
        inventory.exited.clear();
        inventory.dying.clear();
        inventory.docker = None;
        inventory.health.reachable = false;
        inventory.health.error = Some(error);
    }
}

/// When to list again after a list that left `unresolved` containers uninspected.
fn reconcile_after(unresolved: usize) -> Duration {
    if unresolved == 0 {
        RECONCILE_INTERVAL
    } else {
        RECONCILE_RETRY
    }
}

/// Containers a list found but whose inspect failed: left out until a later list finds them
/// again, and logged once per list rather than once per container (a crowded, busy engine can
/// fail hundreds at once).
#[derive(Default)]
struct Unresolved {
    count: usize,
    /// The first failure, as an example.
    first: Option<(String, CallError)>,
}

impl Unresolved {
    fn add(&mut self, id: String, error: CallError) {
        self.count += 1;
        self.first.get_or_insert((id, error));
    }

    /// Logs what was left out of the `which` containers (running or exited), and when they
    /// are tried again (`None`: at the next engine session).
    fn report(&self, which: &str, retry_in: Option<Duration>) {
        if let Some((id, error)) = &self.first {
            let retry = retry_in.map_or_else(
                || "at the next engine session".to_owned(),
                |d| format!("in {d:?}"),
            );
            warn!(
                count = self.count,
                which,
                example = %short(id),
                cause = %error,
                %retry,
                "containers left out: their inspect failed"
            );
        }
    }
}

/// Inspects one container: `Ok(None)` when it is gone.
async fn inspect(docker: &Docker, id: &str) -> Result<Option<ContainerInfo>, CallError> {
    match tokio::time::timeout(CALL_TIMEOUT, docker.inspect_container(id, None)).await {
        Ok(Ok(inspect)) => Ok(Some(container_info(id, inspect))),
        Ok(Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        })) => Ok(None),
        Ok(Err(e)) => Err(CallError::Engine(e)),
        Err(_) => Err(CallError::Timeout),
    }
}

/// Converts `docker inspect` output, whatever the container's state (see
/// [`ContainerInfo::is_live`]). `network_mode` is `container:<id>` as the engine wrote it; the
/// watcher names the container.
pub fn container_info(id: &str, inspect: ContainerInspectResponse) -> ContainerInfo {
    let state = inspect.state.unwrap_or_default();
    let host = inspect.host_config.unwrap_or_default();
    let config = inspect.config.unwrap_or_default();
    let label = |key: &str| {
        config
            .labels
            .as_ref()
            .and_then(|l| l.get(key))
            .filter(|v| !v.is_empty())
            .cloned()
    };
    let (cpu_quota_us, cpu_period_us) = cpu_quota(host.nano_cpus, host.cpu_quota, host.cpu_period);
    ContainerInfo {
        name: inspect
            .name
            .map(|n| n.trim_start_matches('/').to_owned())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| short(id)),
        image: config.image.clone(),
        started_at: state.started_at.as_deref().and_then(engine_time),
        cgroup_parent: host.cgroup_parent.filter(|p| !p.is_empty()),
        pid: state
            .pid
            .and_then(|p| u32::try_from(p).ok())
            .filter(|&p| p > 0),
        network_mode: host.network_mode.as_deref().and_then(network_mode),
        state: state.status.and_then(state_of).or(match state.running {
            Some(true) => Some(ContainerState::Running),
            Some(false) => Some(ContainerState::Exited),
            None => None,
        }),
        health: state
            .health
            .and_then(|h| h.status)
            .and_then(|s| health_of(s.as_ref())),
        restart_count: inspect.restart_count.and_then(|n| u64::try_from(n).ok()),
        exit_code: state.exit_code,
        oom_killed: state.oom_killed,
        compose_project: label("com.docker.compose.project"),
        compose_service: label("com.docker.compose.service"),
        cpu_quota_us,
        cpu_period_us,
        cpuset_cpus: host.cpuset_cpus.as_deref().and_then(cpuset_count),
        finished_at: state.finished_at.as_deref().and_then(engine_time),
        removed: false,
    }
}

/// An engine timestamp (RFC 3339); `None` for the zero time (`0001-01-01T00:00:00Z`) the
/// engine writes for "never".
fn engine_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|d| d.with_timezone(&Utc))
        .filter(|d| d.timestamp() > 0)
}

/// `State.Status` as the wire spells it.
fn state_of(status: ContainerStateStatusEnum) -> Option<ContainerState> {
    Some(match status {
        ContainerStateStatusEnum::EMPTY => return None,
        ContainerStateStatusEnum::CREATED => ContainerState::Created,
        ContainerStateStatusEnum::RUNNING => ContainerState::Running,
        ContainerStateStatusEnum::PAUSED => ContainerState::Paused,
        ContainerStateStatusEnum::RESTARTING => ContainerState::Restarting,
        ContainerStateStatusEnum::REMOVING => ContainerState::Removing,
        ContainerStateStatusEnum::EXITED => ContainerState::Exited,
        ContainerStateStatusEnum::DEAD => ContainerState::Dead,
        // Newer engines: on its way to exited, still running.
        ContainerStateStatusEnum::STOPPING => ContainerState::Running,
    })
}

/// `HostConfig.NetworkMode` as the batch reports it: `host`, `none` and `container:<id>` are
/// someone else's namespace (or none); `default`, `bridge` and user networks are the
/// container's own (`None`).
fn network_mode(mode: &str) -> Option<String> {
    match mode {
        "host" | "none" => Some(mode.to_owned()),
        _ if mode.starts_with("container:") && mode.len() > "container:".len() => {
            Some(mode.to_owned())
        }
        _ => None,
    }
}

/// The CFS quota and period in microseconds: `--cpus` (`NanoCpus`) over Docker's 100 ms
/// period, else `--cpu-quota` over `--cpu-period` (100 ms when 0); none without a quota.
fn cpu_quota(
    nano_cpus: Option<i64>,
    quota: Option<i64>,
    period: Option<i64>,
) -> (Option<u64>, Option<u64>) {
    let positive = |v: Option<i64>| v.and_then(|v| u64::try_from(v).ok()).filter(|&v| v > 0);
    if let Some(nano) = positive(nano_cpus) {
        let quota = (u128::from(nano) * u128::from(DEFAULT_CPU_PERIOD_US) / 1_000_000_000) as u64;
        return (Some(quota), Some(DEFAULT_CPU_PERIOD_US));
    }
    match positive(quota) {
        Some(quota) => (
            Some(quota),
            Some(positive(period).unwrap_or(DEFAULT_CPU_PERIOD_US)),
        ),
        None => (None, None),
    }
}

/// How many CPUs a cpuset list names (`0-1,3` → 3); `None` when empty or not a list.
pub fn cpuset_count(list: &str) -> Option<u32> {
    let list = list.trim();
    if list.is_empty() {
        return None;
    }
    let mut count: u32 = 0;
    for part in list.split(',') {
        let part = part.trim();
        let n = match part.split_once('-') {
            Some((from, to)) => {
                let from: u32 = from.trim().parse().ok()?;
                let to: u32 = to.trim().parse().ok()?;
                to.checked_sub(from)?.checked_add(1)?
            }
            None => {
                part.parse::<u32>().ok()?;
                1
            }
        };
        count = count.checked_add(n)?;
    }
    Some(count)
}

/// Whether a list's status words ("Exited (0) 5 minutes ago", "About an hour ago", "Dead")
/// allow that the container stopped within the last hour; inspect has the exact time.
fn within_the_hour(status: &str) -> bool {
    let status = status.to_ascii_lowercase();
    if status.contains("about an hour") {
        return true;
    }
    !["hours", "day", "week", "month", "year"]
        .iter()
        .any(|unit| status.contains(unit))
}

/// The 12-character id `docker ps` shows, for containers without a name.
fn short(id: &str) -> String {
    id.chars().take(12).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ContainerConfig, ContainerState as EngineState, HostConfig};

    const ID: &str = "6afaa22c1bd2030a54c251de88e3567a4a262e67400bfb701caa0518397d4d08";

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("date")
            .with_timezone(&Utc)
    }

    #[test]
    fn inspect_conversion_table() {
        let inspect = |name: Option<&str>, running: Option<bool>, parent: Option<&str>| {
            ContainerInspectResponse {
                name: name.map(str::to_owned),
                state: Some(EngineState {
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
        let cases = [
            // name, running, cgroup parent → (name, parent, live)
            (Some("/web"), Some(true), None, ("web", None, true)),
            (Some("/web"), None, Some(""), ("web", None, true)),
            (
                None,
                Some(true),
                Some("/ci"),
                ("6afaa22c1bd2", Some("/ci"), true),
            ),
            (Some("/web"), Some(false), None, ("web", None, false)),
        ];
        for (name, running, parent, want) in cases {
            let got = container_info(ID, inspect(name, running, parent));
            let got = (
                got.name.as_str(),
                got.cgroup_parent.as_deref(),
                got.is_live(),
            );
            assert_eq!(got, want, "{name:?} {running:?} {parent:?}");
        }
        let info = container_info(ID, inspect(Some("/web"), Some(true), None));
        assert_eq!(info.image.as_deref(), Some("busybox"));
        assert_eq!(info.uptime_secs(at("2026-11-22T20:01:01Z")), Some(60));
    }

    /// The lifecycle, compose and network fields of a real `docker inspect` (Docker 20.10
    /// JSON, trimmed), table-driven over the fields that vary.
    #[test]
    fn inspect_lifecycle_table() {
        let json = |status: &str, health: &str, mode: &str, pid: i64| {
            format!(
                r#"{{"Name":"/api","RestartCount":2,
                "State":{{"Status":"{status}","Running":{running},"Paused":false,
                  "Restarting":{restarting},"OOMKilled":true,"Dead":false,"Pid":{pid},
                  "ExitCode":137,"StartedAt":"2026-11-22T20:00:00Z",
                  "FinishedAt":"0001-01-01T00:00:00Z"{health}}},
                "Config":{{"Image":"busybox","Labels":{{"com.docker.compose.project":"shop",
                  "com.docker.compose.service":"api","other":"x"}}}},
                "HostConfig":{{"NetworkMode":"{mode}","NanoCpus":0,"CpuQuota":0,
                  "CpuPeriod":0,"CpusetCpus":""}}}}"#,
                running = status == "running" || status == "restarting" || status == "paused",
                restarting = status == "restarting",
                health = if health.is_empty() {
                    String::new()
                } else {
                    format!(r#","Health":{{"Status":"{health}","FailingStreak":0,"Log":[]}}"#)
                },
            )
        };
        use dockscope_protocol::ContainerState as S;
        let cases = [
            // status, health, network mode, pid → state, health, mode, pid, live, stopped
            (
                "running",
                "healthy",
                "default",
                4242,
                Some(S::Running),
                Some(Health::Healthy),
                None,
                Some(4242),
                true,
                false,
            ),
            (
                "paused",
                "",
                "bridge",
                7,
                Some(S::Paused),
                None,
                None,
                Some(7),
                true,
                false,
            ),
            (
                "restarting",
                "starting",
                "my-net",
                0,
                Some(S::Restarting),
                Some(Health::Starting),
                None,
                None,
                true,
                false,
            ),
            (
                "exited",
                "unhealthy",
                "host",
                0,
                Some(S::Exited),
                Some(Health::Unhealthy),
                Some("host"),
                None,
                false,
                true,
            ),
            (
                "dead",
                "none",
                "none",
                0,
                Some(S::Dead),
                None,
                Some("none"),
                None,
                false,
                true,
            ),
            (
                "created",
                "",
                "container:abc123",
                0,
                Some(S::Created),
                None,
                Some("container:abc123"),
                None,
                false,
                false,
            ),
        ];
        for (status, health, mode, pid, state, want_health, want_mode, want_pid, live, stopped) in
            cases
        {
            let inspect: ContainerInspectResponse =
                serde_json::from_str(&json(status, health, mode, pid)).expect("inspect json");
            let info = container_info(ID, inspect);
            assert_eq!(info.state, state, "{status}");
            assert_eq!(info.health, want_health, "{status} {health}");
            assert_eq!(info.network_mode.as_deref(), want_mode, "{mode}");
            assert_eq!(info.pid, want_pid, "{status} pid");
            assert_eq!(
                (info.is_live(), info.is_stopped()),
                (live, stopped),
                "{status}"
            );
            assert_eq!(info.restart_count, Some(2));
            assert_eq!((info.exit_code, info.oom_killed), (Some(137), Some(true)));
            assert_eq!(info.compose_project.as_deref(), Some("shop"));
            assert_eq!(info.compose_service.as_deref(), Some("api"));
            // The zero time is "never finished".
            assert_eq!(info.finished_at, None);
            assert_eq!(
                (info.cpu_quota_us, info.cpu_period_us, info.cpuset_cpus),
                (None, None, None)
            );
        }
    }

    #[test]
    fn cpu_limit_table() {
        let cases = [
            // NanoCpus, CpuQuota, CpuPeriod, CpusetCpus → quota, period, cpuset, cores
            (
                Some(1_500_000_000),
                Some(0),
                Some(0),
                None,
                Some(150_000),
                Some(100_000),
                None,
                Some(1.5),
            ),
            (
                Some(250_000_000),
                None,
                None,
                Some("0-3"),
                Some(25_000),
                Some(100_000),
                Some(4),
                Some(0.25),
            ),
            (
                Some(0),
                Some(50_000),
                Some(0),
                None,
                Some(50_000),
                Some(100_000),
                None,
                Some(0.5),
            ),
            (
                None,
                Some(30_000),
                Some(10_000),
                None,
                Some(30_000),
                Some(10_000),
                None,
                Some(3.0),
            ),
            (
                Some(0),
                Some(-1),
                Some(100_000),
                Some("0-1,3"),
                None,
                None,
                Some(3),
                Some(3.0),
            ),
            (Some(0), Some(0), Some(0), Some(""), None, None, None, None),
        ];
        for (nano, quota, period, cpuset, want_quota, want_period, want_set, cores) in cases {
            let inspect = ContainerInspectResponse {
                host_config: Some(HostConfig {
                    nano_cpus: nano,
                    cpu_quota: quota,
                    cpu_period: period,
                    cpuset_cpus: cpuset.map(str::to_owned),
                    ..Default::default()
                }),
                ..Default::default()
            };
            let info = container_info(ID, inspect);
            assert_eq!(
                (info.cpu_quota_us, info.cpu_period_us, info.cpuset_cpus),
                (want_quota, want_period, want_set),
                "{nano:?} {quota:?} {period:?} {cpuset:?}"
            );
            assert_eq!(crate::sample::figures::cpu_limit_cores(&info), cores);
        }
    }

    #[test]
    fn cpuset_count_table() {
        let cases = [
            ("0", Some(1)),
            ("0-1", Some(2)),
            ("0-1,3", Some(3)),
            (" 0-3 , 8-11 ", Some(8)),
            ("2,4,6", Some(3)),
            ("", None),
            ("3-1", None),
            ("a-b", None),
            ("0,,1", None),
        ];
        for (list, want) in cases {
            assert_eq!(cpuset_count(list), want, "{list:?}");
        }
    }

    #[test]
    fn list_status_words_table() {
        let cases = [
            ("Exited (0) Less than a second ago", true),
            ("Exited (3) 5 seconds ago", true),
            ("Exited (137) 59 minutes ago", true),
            ("Exited (0) About an hour ago", true),
            ("Exited (0) 2 hours ago", false),
            ("Exited (1) 3 days ago", false),
            ("Exited (1) 2 weeks ago", false),
            ("Dead", true),
        ];
        for (status, want) in cases {
            assert_eq!(within_the_hour(status), want, "{status}");
        }
    }

    fn exited_stats(
        inventory: &Inventory,
        now: DateTime<Utc>,
    ) -> Vec<dockscope_protocol::ContainerStats> {
        use crate::sample::figures::{container_stats, Figures};
        inventory.exited_entries(now, |id, info, now| {
            container_stats(id, info, Figures::default(), now)
        })
    }

    fn stopped(name: &str, finished: DateTime<Utc>) -> ContainerInfo {
        ContainerInfo {
            name: name.into(),
            state: Some(dockscope_protocol::ContainerState::Exited),
            exit_code: Some(3),
            started_at: Some(finished - chrono::TimeDelta::minutes(1)),
            finished_at: Some(finished),
            ..ContainerInfo::default()
        }
    }

    #[test]
    fn restarting_stays_listed_and_stopped_moves_to_exited() {
        let now = at("2026-11-22T20:00:00Z");
        let mut inventory = Inventory::default();
        let running = ContainerInfo {
            name: "web".into(),
            state: Some(dockscope_protocol::ContainerState::Running),
            ..ContainerInfo::default()
        };
        inventory.place("a".into(), running.clone(), now);
        // Dies, its restart policy restarts it: still listed, now restarting.
        let restarting = ContainerInfo {
            state: Some(dockscope_protocol::ContainerState::Restarting),
            restart_count: Some(1),
            ..running.clone()
        };
        inventory.place("a".into(), restarting, now);
        assert_eq!(
            inventory.containers.get("a").and_then(|i| i.state),
            Some(dockscope_protocol::ContainerState::Restarting)
        );
        assert!(inventory.exited.is_empty());
        // Stops for good: leaves the running set, enters the exited list without uptime.
        inventory.place("a".into(), stopped("web", now), now);
        assert!(inventory.containers.is_empty());
        let exited = exited_stats(&inventory, now + chrono::TimeDelta::minutes(9));
        assert_eq!(exited.len(), 1);
        assert_eq!(
            (exited[0].name.as_str(), exited[0].exit_code),
            ("web", Some(3))
        );
        assert_eq!(exited[0].uptime_secs, None);
        assert_eq!(exited[0].cpu_pct, None);
        assert_eq!(exited[0].finished_at, Some(now));
        assert_eq!(exited[0].removed, None);
        // --keep-exited (10 minutes by default) after it finished it is gone from the batch.
        assert!(exited_stats(&inventory, now + chrono::TimeDelta::minutes(11)).is_empty());
        // Started again: back in the running set, out of the exited list.
        inventory.place("a".into(), running, now);
        assert!(inventory.exited.is_empty() && inventory.containers.contains_key("a"));
    }

    #[test]
    fn three_thousand_exited_containers_make_a_batch_of_the_most_recent_few() {
        let now = at("2026-11-22T20:00:00Z");
        let mut inventory = Inventory {
            keep: KeepExited(chrono::TimeDelta::hours(1)),
            ..Inventory::default()
        };
        for i in 0..3_000i64 {
            // Every second over the last 50 minutes, in no particular order.
            let k = (i * 7919) % 3_000;
            let finished = now - chrono::TimeDelta::seconds(k);
            inventory.place(
                format!("c{k:04}"),
                stopped(&format!("job-{k:04}"), finished),
                now,
            );
        }
        // And some that finished long ago are not kept at all.
        inventory.place(
            "old".into(),
            stopped("old", now - chrono::TimeDelta::hours(3)),
            now,
        );
        assert_eq!(inventory.exited.len(), EXITED_CAP);
        let batch = exited_stats(&inventory, now);
        assert_eq!(batch.len(), EXITED_CAP);
        let names: Vec<&str> = batch.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names.first(), Some(&"job-0000"), "most recent first");
        let oldest_kept = format!("job-{:04}", EXITED_CAP - 1);
        assert_eq!(names.last(), Some(&oldest_kept.as_str()));
        // Destroying one removes it at once.
        assert!(inventory.exited.remove("c0000").is_some());
        assert_eq!(exited_stats(&inventory, now).len(), EXITED_CAP - 1);
    }

    #[test]
    fn removed_containers_stay_listed_until_their_time_is_up() {
        let now = at("2026-11-22T20:00:00Z");
        let mut inventory = Inventory {
            keep: KeepExited::from(std::time::Duration::from_secs(3)),
            ..Inventory::default()
        };
        let running = ContainerInfo {
            name: "job".into(),
            image: Some("busybox".into()),
            state: Some(dockscope_protocol::ContainerState::Running),
            ..ContainerInfo::default()
        };
        // (a) inspected after it died, then destroyed; (b) `--rm`: gone before its inspect,
        // only its `die` event is known; (c) destroyed while running (`rm -f`, no die seen).
        inventory.place("a".into(), running.clone(), now);
        inventory.place("a".into(), stopped("a", now), now);
        inventory.removed("a", now);
        inventory.place("b".into(), running.clone(), now);
        let removing = ContainerInfo {
            state: Some(dockscope_protocol::ContainerState::Removing),
            ..ContainerInfo::default()
        };
        inventory.died(
            "b",
            ContainerInfo {
                state: Some(dockscope_protocol::ContainerState::Exited),
                exit_code: Some(137),
                oom_killed: Some(true),
                finished_at: Some(now),
                ..running.clone()
            },
        );
        // Its inspect finds it being removed: what the die said stays for the destroy.
        inventory.place("b".into(), removing.clone(), now);
        inventory.removed("b", now);
        inventory.place("c".into(), running, now);
        inventory.removed("c", now);
        assert!(inventory.containers.is_empty() && inventory.dying.is_empty());
        let listed = exited_stats(&inventory, now + chrono::TimeDelta::seconds(2));
        let rows: Vec<_> = listed
            .iter()
            .map(|e| {
                (
                    e.id.as_str(),
                    e.exit_code,
                    e.oom_killed,
                    e.removed,
                    e.finished_at,
                )
            })
            .collect();
        assert_eq!(
            rows,
            vec![
                ("a", Some(3), None, Some(true), Some(now)),
                ("b", Some(137), Some(true), Some(true), Some(now)),
            ]
        );
        assert_eq!(listed[1].image.as_deref(), Some("busybox"));
        // Being removed (inspect says `removing`) keeps the entry for the destroy to mark.
        inventory.place("a".into(), removing, now);
        assert!(inventory.exited.contains_key("a"));
        assert!(exited_stats(&inventory, now + chrono::TimeDelta::seconds(4)).is_empty());
    }

    #[test]
    fn shared_namespace_is_named_by_id_prefix_or_name() {
        let mut inventory = Inventory::default();
        inventory.insert(
            ID.into(),
            ContainerInfo {
                name: "db".into(),
                ..ContainerInfo::default()
            },
        );
        assert_eq!(inventory.name_of(ID).as_deref(), Some("db"));
        assert_eq!(inventory.name_of(&ID[..12]).as_deref(), Some("db"));
        assert_eq!(inventory.name_of("db").as_deref(), Some("db"));
        assert_eq!(inventory.name_of("6a"), None);
        assert_eq!(inventory.name_of("web"), None);
    }

    #[test]
    fn a_late_answer_never_overrides_a_newer_event_and_nothing_is_kept() {
        let mut order = EventOrder::default();
        let die = order.start("a");
        let destroy = order.start("a");
        let other = order.start("b");
        // b's answer comes first: applied.
        assert!(order.done("b", other, true));
        // a's destroy is resolved before its die's inspect returns: the die is dropped.
        assert!(order.done("a", destroy, true));
        assert!(!order.done("a", die, true));
        assert!(
            order.containers.is_empty(),
            "forgets containers with nothing pending"
        );
        // In order, both apply.
        let start = order.start("c");
        let pause = order.start("c");
        assert!(order.done("c", start, true) && order.done("c", pause, true));
        // A health change resolved before an older start's inspect hides nothing.
        let start = order.start("d");
        let health = order.start("d");
        assert!(order.done("d", health, false));
        assert!(order.done("d", start, true));
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
