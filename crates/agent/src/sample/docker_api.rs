//! The Docker Engine API collector: the fallback when cgroup files are not readable (remote
//! engines, Docker Desktop, unusual cgroup layouts). Costs the engine far more than reading
//! cgroups: it keeps one stats stream per container open, and the engine computes each payload.
//!
//! ```text
//!   ContainerSet (events) ──generation moved──► DockerApiSource::sample
//!                                                 │ spawn a follower for new ids, abort gone ones
//!                                                 │ read each follower's latest Reading
//!                                                 ▼
//!   follower task (one per container, lives as long as the container runs)
//!     stats stream (engine pushes ~1/s) → slot
//!     stream failed while the container still runs → poll one-shot stats every second
//! ```
//!
//! Which containers run, their names and start times come from [`super::containers`]; an
//! unreachable engine empties the set, which aborts every follower.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::query_parameters::StatsOptions;
use bollard::Docker;
use chrono::Utc;
use dockscope_protocol::ContainerStats;
use futures_util::StreamExt;
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use super::containers::{ContainerInfo, ContainerSet};
use super::math::{self, CpuCounters, Reading};
use super::process::round2;
use super::{EngineHealth, StatsSource};

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
}

/// A running container and the task following its stats.
struct Tracked {
    /// Name, image and start time, shared with the container set.
    info: Arc<ContainerInfo>,
    /// Latest figures, written by the follower; the lock is held for a copy only.
    slot: Arc<Mutex<Option<Reading>>>,
    /// The follower; aborted when the container leaves the set.
    task: JoinHandle<()>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads containers through the Docker Engine API.
pub struct DockerApiSource {
    /// Which containers run, from the engine's events.
    containers: ContainerSet,
    /// The set's (session, generation) `tracked` was last synced to.
    synced: Option<(u64, u64)>,
    /// Running containers by id, in no particular order.
    tracked: HashMap<String, Tracked>,
}

impl DockerApiSource {
    /// A source for `endpoint`; nothing is contacted until the first [`StatsSource::sample`].
    pub fn new(endpoint: Endpoint) -> Self {
        Self {
            containers: ContainerSet::new(endpoint),
            synced: None,
            tracked: HashMap::new(),
        }
    }

    /// Starts following containers that appeared and drops those that left.
    fn sync(&mut self) {
        let inventory = self.containers.lock();
        let now = (inventory.session, inventory.generation);
        if self.synced == Some(now) {
            return;
        }
        if self.synced.map(|(session, _)| session) != Some(inventory.session) {
            // A new connection: the old followers' streams are dead.
            self.tracked.clear();
        }
        self.synced = Some(now);
        self.tracked
            .retain(|id, _| inventory.containers.contains_key(id));
        let Some(docker) = inventory.docker.clone() else {
            return;
        };
        for (id, info) in &inventory.containers {
            match self.tracked.get_mut(id) {
                Some(tracked) => tracked.info = info.clone(), // follows `docker rename`
                None => {
                    let slot = Arc::new(Mutex::new(None));
                    let task = tokio::spawn(follow(docker.clone(), id.clone(), slot.clone()));
                    debug!(container = %id, name = %info.name, "following container stats");
                    self.tracked.insert(
                        id.clone(),
                        Tracked {
                            info: info.clone(),
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
                let reading = *tracked
                    .slot
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                ContainerStats {
                    id: id.clone(),
                    name: tracked.info.name.clone(),
                    cpu_pct: reading.and_then(|r| r.cpu_pct).map(round2),
                    mem_bytes: reading.and_then(|r| r.mem_bytes),
                    mem_limit_bytes: reading.and_then(|r| r.mem_limit_bytes),
                    uptime_secs: tracked.info.uptime_secs(now),
                    image: tracked.info.image.clone(),
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
        self.sync();
        self.collect()
    }

    fn engine(&self) -> EngineHealth {
        self.containers.health()
    }
}

/// Follows one container's stats stream; if the stream fails while the container still runs,
/// polls one-shot stats every second instead.
async fn follow(docker: Docker, id: String, slot: Arc<Mutex<Option<Reading>>>) {
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
                store(&slot, reading);
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
                store(&slot, reading);
            }
            Some(Err(e)) => debug!(container = %id, cause = %e, "polling stats failed"),
            None => {}
        }
    }
}

/// Stores the latest reading, recovering the slot if a previous holder panicked (a copy of plain
/// data cannot be left half-written).
fn store(slot: &Mutex<Option<Reading>>, reading: Reading) {
    *slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(reading);
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
