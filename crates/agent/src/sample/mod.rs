//! Reading the host: one [`StatsSource`] trait, one implementation per way of reading, and the
//! [`Collector`] picked at start-up.
//!
//! - [`source`]: the [`StatsSource`] trait, [`EngineHealth`] and [`source::Counters`] (a leaf every
//!   collector uses).
//! - [`settings`]: what `config` hands down ([`SampleSettings`], [`CollectorChoice`]).
//! - [`figures`]: the one raw [`figures::Reading`] every collector fills, the `docker stats`
//!   arithmetic over two readings, and the one builder of a `ContainerStats` entry.
//! - [`cgroup`]: each container's cgroup files (v1 and v2, cgroupfs and systemd drivers); the
//!   default wherever they are readable, because it costs the engine nothing per sample.
//! - [`docker_api`]: the Docker Engine API (bollard), one long-lived stats stream per container;
//!   the fallback.
//! - [`containers`]: which containers run (and which stopped within `--keep-exited`), from the
//!   engine's event stream and `docker inspect`; both collectors above share it.
//! - [`events`]: the same event stream's container events as `container_event` messages (the
//!   pure conversion from bollard's type) and the bounded queue they wait in to be published.
//! - [`netns`]: a container's network counters from its process's `/proc/<pid>/net/dev`, for
//!   the cgroup collector (the cgroup has none).
//! - [`synthetic`]: generated containers for UI benchmarks; labelled as such on the wire.
//! - [`process`]: the agent's own CPU and memory.
//! - [`host`]: the host's CPU, load, memory, swap, uptime and data-root disk.
//!
//! Imports point one way: this module uses its children, the collectors use the leaves
//! (`source`, `settings`, `figures`, `containers`, `netns`, [`crate::engine`]), and no child
//! uses this module.

pub mod cgroup;
pub mod containers;
pub mod docker_api;
pub mod events;
pub mod figures;
pub mod host;
pub mod netns;
pub mod process;
pub mod settings;
pub mod source;
pub mod synthetic;

use cgroup::{CgroupSource, HierarchyError, Layout};
use docker_api::DockerApiSource;
pub use settings::{CollectorChoice, SampleSettings};
pub use source::{EngineHealth, StatsSource};
use synthetic::SyntheticSource;
use tracing::{info, warn};

use dockscope_protocol::ContainerStats;

/// The collector chosen at start-up; dispatches to the implementation.
#[allow(
    clippy::large_enum_variant,
    reason = "one Collector per process, made once at start-up"
)]
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
    /// `settings.cgroup_root`: `$DOCKSCOPE_CGROUP_ROOT`, else `/sys/fs/cgroup`) — `auto` only if it also holds Docker's
    /// containers, not just the agent's own cgroup namespace; otherwise both fall back to the
    /// Docker API, `cgroup` with a warning saying why.
    pub fn select(settings: SampleSettings) -> Self {
        let SampleSettings {
            collector: choice,
            endpoint,
            cgroup_root,
            proc_root,
            synthetic_containers,
            keep_exited,
        } = settings;
        if let Some(n) = synthetic_containers {
            return Collector::Synthetic(SyntheticSource::new(n));
        }
        let layout = match choice {
            CollectorChoice::DockerApi => None,
            CollectorChoice::Auto | CollectorChoice::Cgroup => {
                Some(Layout::detect(&cgroup_root).and_then(|layout| {
                    if layout.holds_containers() || choice == CollectorChoice::Cgroup {
                        Ok(layout)
                    } else {
                        Err(HierarchyError::NoContainers)
                    }
                }))
            }
        };
        let collector = match layout {
            Some(Ok(layout)) => {
                Collector::Cgroup(CgroupSource::new(layout, endpoint, proc_root, keep_exited))
            }
            Some(Err(why)) => {
                if choice == CollectorChoice::Cgroup {
                    warn!(cause = %why, "--collector cgroup: cgroup files unreadable; using the Docker API instead");
                } else {
                    info!(cause = %why, "cgroup files unreadable; using the Docker API");
                }
                Collector::DockerApi(DockerApiSource::new(endpoint, keep_exited))
            }
            None => Collector::DockerApi(DockerApiSource::new(endpoint, keep_exited)),
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

    fn exited(&self) -> Vec<ContainerStats> {
        match self {
            Collector::Cgroup(s) => s.exited(),
            Collector::DockerApi(s) => s.exited(),
            Collector::Synthetic(s) => s.exited(),
        }
    }

    fn events(&self) -> Option<std::sync::Arc<events::EventQueue>> {
        match self {
            Collector::Cgroup(s) => s.events(),
            Collector::DockerApi(s) => s.events(),
            Collector::Synthetic(s) => s.events(),
        }
    }

    fn warnings(&self) -> Vec<String> {
        match self {
            Collector::Cgroup(s) => s.warnings(),
            Collector::DockerApi(s) => s.warnings(),
            Collector::Synthetic(s) => s.warnings(),
        }
    }

    fn counters(&self) -> &[source::Counters] {
        match self {
            Collector::Cgroup(s) => s.counters(),
            Collector::DockerApi(s) => s.counters(),
            Collector::Synthetic(s) => s.counters(),
        }
    }
}
