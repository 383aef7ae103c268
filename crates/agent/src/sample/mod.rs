//! Reading the host: one [`StatsSource`] trait, one implementation per way of reading.
//!
//! - [`cgroup`]: each container's cgroup files (v1 and v2, cgroupfs and systemd drivers); the
//!   default wherever they are readable, because it costs the engine nothing per sample.
//! - [`docker_api`]: the Docker Engine API (bollard), one long-lived stats stream per container;
//!   the fallback.
//! - [`containers`]: which containers run, from the engine's event stream; both collectors
//!   above share it.
//! - [`synthetic`]: generated containers for UI benchmarks; labelled as such on the wire.
//! - [`process`]: the agent's own CPU and memory.
//! - [`math`]: `docker stats` arithmetic over the engine's payloads.

pub mod cgroup;
pub mod containers;
pub mod docker_api;
pub mod math;
pub mod process;
pub mod synthetic;

use std::future::Future;

use crate::config::CollectorChoice;
use cgroup::{CgroupSource, Layout};
use docker_api::{DockerApiSource, Endpoint};
use synthetic::SyntheticSource;
use tracing::{info, warn};

use chrono::{DateTime, Utc};
use dockscope_protocol::ContainerStats;

/// What the collector knows about its Docker engine after a sampling pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineHealth {
    /// The last call to the engine succeeded.
    pub reachable: bool,
    /// `docker version` of the engine, once it has answered.
    pub version: Option<String>,
    /// Why it is unreachable, in words an operator can act on.
    pub error: Option<String>,
    /// When the engine was last known reachable: now while its event stream is open.
    pub last_ok_at: Option<DateTime<Utc>>,
}

/// A way of reading every running container's figures. The sampler calls [`sample`] once a
/// second from a single task, so implementations may keep state between calls without locks.
///
/// [`sample`]: StatsSource::sample
pub trait StatsSource: Send + 'static {
    /// Short name reported in `agent_status.features` as `collector:<name>`.
    fn name(&self) -> &'static str;

    /// Reads every running container. Never fails as a whole: an unreachable engine yields an
    /// empty list and says so in [`StatsSource::engine`]; a container whose figures are
    /// unavailable is still listed with `null` figures.
    fn sample(&mut self) -> impl Future<Output = Vec<ContainerStats>> + Send;

    /// The engine's health as of the last [`StatsSource::sample`].
    fn engine(&self) -> EngineHealth;
}

/// The collector chosen at start-up; dispatches to the implementation.
pub enum Collector {
    /// See [`cgroup`].
    Cgroup(CgroupSource),
    /// See [`docker_api`].
    DockerApi(DockerApiSource),
    /// See [`synthetic`].
    Synthetic(SyntheticSource),
}

impl Collector {
    /// Picks the collector for `--collector` (or `--synthetic-containers`) and logs the
    /// choice. `auto` and `cgroup` read cgroup files when the hierarchy is readable (at
    /// `$DOCKSCOPE_CGROUP_ROOT`, else `/sys/fs/cgroup`) — `auto` only if it also holds Docker's
    /// containers, not just the agent's own cgroup namespace; otherwise both fall back to the
    /// Docker API, `cgroup` with a warning saying why.
    pub fn select(choice: CollectorChoice, endpoint: Endpoint, synthetic: Option<usize>) -> Self {
        if let Some(n) = synthetic {
            return Collector::Synthetic(SyntheticSource::new(n));
        }
        let layout = match choice {
            CollectorChoice::DockerApi => Err("--collector docker-api".to_owned()),
            CollectorChoice::Auto | CollectorChoice::Cgroup => {
                Layout::from_env().and_then(|layout| {
                    if layout.holds_containers() || choice == CollectorChoice::Cgroup {
                        Ok(layout)
                    } else {
                        Err(format!(
                            "the cgroup hierarchy has no docker or system.slice group (is this \
                             the agent's own cgroup namespace?); mount the host's \
                             /sys/fs/cgroup and set {} to it",
                            cgroup::ROOT_ENV
                        ))
                    }
                })
            }
        };
        let collector = match layout {
            Ok(layout) => Collector::Cgroup(CgroupSource::new(layout, endpoint)),
            Err(why) => {
                if choice == CollectorChoice::Cgroup {
                    warn!(cause = %why, "--collector cgroup: cgroup files unreadable; using the Docker API instead");
                } else if choice == CollectorChoice::Auto {
                    info!(cause = %why, "cgroup files unreadable; using the Docker API");
                }
                Collector::DockerApi(DockerApiSource::new(endpoint))
            }
        };
        info!(?choice, collector = collector.name(), "collector selected");
        collector
    }
}

impl StatsSource for Collector {
    fn name(&self) -> &'static str {
        match self {
            Collector::Cgroup(s) => s.name(),
            Collector::DockerApi(s) => s.name(),
            Collector::Synthetic(s) => s.name(),
        }
    }

    async fn sample(&mut self) -> Vec<ContainerStats> {
        match self {
            Collector::Cgroup(s) => s.sample().await,
            Collector::DockerApi(s) => s.sample().await,
            Collector::Synthetic(s) => s.sample().await,
        }
    }

    fn engine(&self) -> EngineHealth {
        match self {
            Collector::Cgroup(s) => s.engine(),
            Collector::DockerApi(s) => s.engine(),
            Collector::Synthetic(s) => s.engine(),
        }
    }
}
