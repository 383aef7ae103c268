//! Reading the host: one [`StatsSource`] trait, one implementation per way of reading.
//!
//! - [`docker_api`]: the Docker Engine API (bollard), one long-lived stats stream per container.
//! - [`synthetic`]: generated containers for UI benchmarks; labelled as such on the wire.
//! - [`process`]: the agent's own CPU and memory.
//! - [`math`]: `docker stats` arithmetic over the engine's payloads.

pub mod docker_api;
pub mod math;
pub mod process;
pub mod synthetic;

use std::future::Future;

use crate::config::CollectorChoice;
use docker_api::{DockerApiSource, Endpoint};
use synthetic::SyntheticSource;

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
    /// When a list of containers last succeeded.
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
    /// See [`docker_api`].
    DockerApi(DockerApiSource),
    /// See [`synthetic`].
    Synthetic(SyntheticSource),
}

impl Collector {
    /// Picks the collector for `--collector` (or `--synthetic-containers`).
    pub fn select(choice: CollectorChoice, endpoint: Endpoint, synthetic: Option<usize>) -> Self {
        if let Some(n) = synthetic {
            return Collector::Synthetic(SyntheticSource::new(n));
        }
        match choice {
            CollectorChoice::Auto | CollectorChoice::Cgroup | CollectorChoice::DockerApi => {
                Collector::DockerApi(DockerApiSource::new(endpoint))
            }
        }
    }
}

impl StatsSource for Collector {
    fn name(&self) -> &'static str {
        match self {
            Collector::DockerApi(s) => s.name(),
            Collector::Synthetic(s) => s.name(),
        }
    }

    async fn sample(&mut self) -> Vec<ContainerStats> {
        match self {
            Collector::DockerApi(s) => s.sample().await,
            Collector::Synthetic(s) => s.sample().await,
        }
    }

    fn engine(&self) -> EngineHealth {
        match self {
            Collector::DockerApi(s) => s.engine(),
            Collector::Synthetic(s) => s.engine(),
        }
    }
}
