//! The collector contract: [`StatsSource`], the [`EngineHealth`] every collector reports and the
//! [`Counters`] it keeps beside each entry for `/metrics`.
//! A leaf, so each collector implements it without importing the module that picks one.

use std::future::Future;

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

    /// Containers that stopped recently, as of the last [`StatsSource::sample`], with their
    /// state and exit and no live figures (`container_stats_batch.exited`).
    fn exited(&self) -> Vec<ContainerStats> {
        Vec::new()
    }

    /// The cumulative counters behind each entry of the last [`StatsSource::sample`], in the
    /// same order (for `/metrics`); empty when the collector keeps none, and then every
    /// counter series is absent.
    fn counters(&self) -> &[Counters] {
        &[]
    }

    /// The queue of container events this collector's engine sends (`container_event`),
    /// when it follows an engine; read once at start by the task that publishes them.
    fn events(&self) -> Option<std::sync::Arc<super::events::EventQueue>> {
        None
    }

    /// What this collector cannot see from where the agent runs, for `agent_status.warnings`.
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The cumulative counters of one entry that the wire does not carry (it carries figures
/// derived from them: CPU percent, per-second throttling, memory without the inactive cache),
/// kept beside the batch for `/metrics`, whose consumers want counters to `rate()` over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Cumulative CPU time in nanoseconds, as read (cgroup `cpuacct.usage` / `usage_usec`,
    /// the engine's `cpu_usage.total_usage`).
    pub cpu_ns: Option<u64>,
    /// Memory usage with the page cache, as read (what cAdvisor calls usage).
    pub memory_usage: Option<u64>,
    /// Periods in which the quota throttled the container, as read.
    pub throttled_periods: Option<u64>,
    /// Time spent throttled in nanoseconds, as read.
    pub throttled_ns: Option<u64>,
}
