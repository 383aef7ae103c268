//! Every metric family of the exposition: the per-container table ([`CONTAINER_METRICS`]),
//! the agent's own and the host's, written by one prometheus-client collector over a snapshot.

use std::sync::Arc;

use dockscope_protocol::{ContainerStats, Health, HostStats};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;

use super::labels::{ContainerLabels, Labels, WithLabel};
use crate::sample::source::Counters;
use crate::sampler::Snapshot;

/// A sample value: counters and integer gauges stay integers (exact byte counts), the rest
/// are floats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Value {
    /// An integer.
    Int(u64),
    /// A float.
    Float(f64),
}

/// One per-container metric: its name (before the unit suffix), help, unit, type, and where
/// its value comes from.
pub(super) struct ContainerMetric {
    /// Name without the unit and `_total` suffixes prometheus-client adds.
    name: &'static str,
    /// `# HELP` text.
    help: &'static str,
    /// Appended to the name as `_<unit>`.
    unit: Option<Unit>,
    /// Counter or gauge.
    kind: MetricType,
    /// The value of one entry; `None` leaves its series out.
    value: fn(&ContainerStats, &Counters, f64) -> Option<Value>,
}

pub(super) const NS_PER_SEC: f64 = 1e9;

/// Every per-container metric but the health one, in exposition order. The last argument of
/// `value` is the batch's `sent_at` in Unix seconds.
pub(super) const CONTAINER_METRICS: &[ContainerMetric] = &[
    ContainerMetric {
        name: "container_cpu_usage",
        help: "Cumulative CPU time consumed by the container, as the cgroup (or the engine's stats) counts it",
        unit: Some(Unit::Seconds),
        kind: MetricType::Counter,
        value: |_, k, _| k.cpu_ns.map(|ns| Value::Float(ns as f64 / NS_PER_SEC)),
    },
    ContainerMetric {
        name: "container_memory_working_set",
        help: "Memory in use without the inactive page cache, as docker stats shows it (mem_bytes)",
        unit: Some(Unit::Bytes),
        kind: MetricType::Gauge,
        value: |c, _, _| c.mem_bytes.map(Value::Int),
    },
    ContainerMetric {
        name: "container_memory_usage",
        help: "Memory usage with the page cache, as the cgroup reports it",
        unit: Some(Unit::Bytes),
        kind: MetricType::Gauge,
        value: |_, k, _| k.memory_usage.map(Value::Int),
    },
    ContainerMetric {
        name: "container_memory_rss",
        help: "Anonymous memory in bytes (heap, stacks: v1 total_rss, v2 anon)",
        unit: None,
        kind: MetricType::Gauge,
        value: |c, _, _| c.mem_anon.map(Value::Int),
    },
    ContainerMetric {
        name: "container_memory_cache",
        help: "Page cache in bytes, shared memory included (v1 total_cache, v2 file)",
        unit: None,
        kind: MetricType::Gauge,
        value: |c, _, _| c.mem_file.map(Value::Int),
    },
    ContainerMetric {
        name: "container_spec_memory_limit",
        help: "Memory limit; the host's memory when the container has none (docker stats LIMIT)",
        unit: Some(Unit::Bytes),
        kind: MetricType::Gauge,
        value: |c, _, _| c.mem_limit_bytes.map(Value::Int),
    },
    ContainerMetric {
        name: "container_network_receive",
        help: "Bytes received on the container's interfaces but lo since they were created",
        unit: Some(Unit::Bytes),
        kind: MetricType::Counter,
        value: |c, _, _| c.net_rx_bytes.map(Value::Int),
    },
    ContainerMetric {
        name: "container_network_transmit",
        help: "Bytes sent on the container's interfaces but lo since they were created",
        unit: Some(Unit::Bytes),
        kind: MetricType::Counter,
        value: |c, _, _| c.net_tx_bytes.map(Value::Int),
    },
    ContainerMetric {
        name: "container_network_receive_packets",
        help: "Packets received on the container's interfaces but lo",
        unit: None,
        kind: MetricType::Counter,
        value: |c, _, _| c.net_rx_packets.map(Value::Int),
    },
    ContainerMetric {
        name: "container_network_transmit_packets",
        help: "Packets sent on the container's interfaces but lo",
        unit: None,
        kind: MetricType::Counter,
        value: |c, _, _| c.net_tx_packets.map(Value::Int),
    },
    ContainerMetric {
        name: "container_fs_reads",
        help: "Bytes read from block devices, summed over devices (docker stats BLOCK I/O)",
        unit: Some(Unit::Bytes),
        kind: MetricType::Counter,
        value: |c, _, _| c.block_read_bytes.map(Value::Int),
    },
    ContainerMetric {
        name: "container_fs_writes",
        help: "Bytes written to block devices, summed over devices (docker stats BLOCK I/O)",
        unit: Some(Unit::Bytes),
        kind: MetricType::Counter,
        value: |c, _, _| c.block_write_bytes.map(Value::Int),
    },
    ContainerMetric {
        name: "container_oom_events",
        help: "Processes the OOM killer has killed in the container's cgroup",
        unit: None,
        kind: MetricType::Counter,
        value: |c, _, _| c.oom_kills.map(Value::Int),
    },
    ContainerMetric {
        name: "container_cpu_cfs_throttled_periods",
        help: "Scheduler periods in which the CPU quota throttled the container",
        unit: None,
        kind: MetricType::Counter,
        value: |_, k, _| k.throttled_periods.map(Value::Int),
    },
    ContainerMetric {
        name: "container_cpu_cfs_throttled",
        help: "Time the container spent throttled by its CPU quota",
        unit: Some(Unit::Seconds),
        kind: MetricType::Counter,
        value: |_, k, _| k.throttled_ns.map(|ns| Value::Float(ns as f64 / NS_PER_SEC)),
    },
    ContainerMetric {
        name: "container_threads",
        help: "Processes and threads in the container (cgroup pids.current, docker stats PIDS)",
        unit: None,
        kind: MetricType::Gauge,
        value: |c, _, _| c.pids.map(Value::Int),
    },
    ContainerMetric {
        name: "container_threads_max",
        help: "The container's limit on processes and threads (--pids-limit); absent when none",
        unit: None,
        kind: MetricType::Gauge,
        value: |c, _, _| c.pids_limit.map(Value::Int),
    },
    ContainerMetric {
        name: "container_start_time",
        help: "When the container started, Unix time (to the second: sent_at minus uptime)",
        unit: Some(Unit::Seconds),
        kind: MetricType::Gauge,
        value: |c, _, sent_at| {
            c.uptime_secs
                .map(|up| Value::Float((sent_at - up as f64).floor()))
        },
    },
    ContainerMetric {
        name: "dockscope_container_cpu_limit_cores",
        help: "CPUs the container may use (--cpus, else its cpuset's CPU count); absent when unlimited",
        unit: None,
        kind: MetricType::Gauge,
        value: |c, _, _| c.cpu_limit_cores.map(Value::Float),
    },
    ContainerMetric {
        name: "dockscope_container_memory_shmem",
        help: "Shared memory and tmpfs charged to the container (cache that cannot be dropped)",
        unit: Some(Unit::Bytes),
        kind: MetricType::Gauge,
        value: |c, _, _| c.mem_shmem.map(Value::Int),
    },
    ContainerMetric {
        name: "dockscope_container_memory_kernel",
        help: "Kernel memory charged to the container",
        unit: Some(Unit::Bytes),
        kind: MetricType::Gauge,
        value: |c, _, _| c.mem_kernel.map(Value::Int),
    },
    ContainerMetric {
        name: "dockscope_container_restarts",
        help: "Restarts by the engine's restart policy (docker inspect RestartCount)",
        unit: None,
        kind: MetricType::Counter,
        value: |c, _, _| c.restart_count.map(Value::Int),
    },
];

/// What `/metrics` says about the agent that is not in a batch, read when formatting.
#[derive(Debug, Clone, Default)]
pub struct AgentFacts {
    /// `--agent-id`, on every series.
    pub agent_id: String,
    /// `vMAJOR.MINOR.PATCH`.
    pub version: String,
    /// The git revision, when known.
    pub revision: Option<String>,
    /// The collector's name (`cgroup-v2`, `docker-api`, `synthetic`, …).
    pub collector: String,
    /// Whether the last call to the engine succeeded.
    pub engine_reachable: bool,
    /// WebSocket clients connected now.
    pub clients: usize,
}

/// The prometheus-client collector over one snapshot: it writes every family on encode.
#[derive(Debug)]
pub(super) struct Exposition {
    /// The sample to format; `None` before the first one.
    pub(super) snapshot: Option<Arc<Snapshot>>,
    /// The agent's own facts.
    pub(super) facts: AgentFacts,
}

impl Collector for Exposition {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let agent_id = self.facts.agent_id.as_str();
        self.encode_agent(&mut encoder)?;
        let Some(snapshot) = &self.snapshot else {
            return Ok(());
        };
        let batch = &snapshot.batch;
        if let Some(host) = &batch.host {
            encode_host(&mut encoder, agent_id, host)?;
        }
        let sent_at = batch.sent_at.timestamp_millis() as f64 / 1000.0;
        let id = Labels([("agent_id", agent_id)]);
        gauge(
            &mut encoder,
            "dockscope_last_sample_timestamp",
            "When the agent took the sample these series come from, Unix time",
            Some(&Unit::Seconds),
            &[(id, Some(Value::Float(sent_at)))],
        )?;
        gauge(
            &mut encoder,
            "dockscope_containers",
            "Running containers in the sample (each has the container_* series)",
            None,
            &[(id, Some(Value::Int(batch.containers.len() as u64)))],
        )?;
        gauge(
            &mut encoder,
            "dockscope_containers_exited",
            "Containers listed as stopped: finished within --keep-exited, removed ones included (at most 200); they have no container_* series",
            None,
            &[(id, Some(Value::Int(batch.exited.len() as u64)))],
        )?;
        let labels: Vec<ContainerLabels> = batch
            .containers
            .iter()
            .map(|c| ContainerLabels::of(agent_id, c))
            .collect();
        for metric in CONTAINER_METRICS {
            let rows: Vec<(&ContainerLabels, Option<Value>)> = batch
                .containers
                .iter()
                .zip(&labels)
                .enumerate()
                .map(|(i, (c, labels))| {
                    let value = (metric.value)(c, &snapshot.counters_of(i), sent_at);
                    (labels, value)
                })
                .collect();
            family(
                &mut encoder,
                metric.name,
                metric.help,
                metric.unit.as_ref(),
                metric.kind,
                &rows,
            )?;
        }
        let health: Vec<(WithLabel, Option<Value>)> = batch
            .containers
            .iter()
            .zip(&labels)
            .filter_map(|(c, labels)| {
                let status = match c.health? {
                    Health::Starting => "starting",
                    Health::Healthy => "healthy",
                    Health::Unhealthy => "unhealthy",
                    Health::Unknown => return None,
                };
                let labels = WithLabel {
                    container: labels,
                    extra: ("health", status),
                };
                Some((labels, Some(Value::Int(1))))
            })
            .collect();
        family(
            &mut encoder,
            "dockscope_container_health",
            "1 for the container's health-check status (label health); absent without a health check",
            None,
            MetricType::Gauge,
            &health,
        )
    }
}

impl Exposition {
    fn encode_agent(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let facts = &self.facts;
        let id = Labels([("agent_id", facts.agent_id.as_str())]);
        let info = Labels([
            ("agent_id", facts.agent_id.as_str()),
            ("version", facts.version.as_str()),
            ("revision", facts.revision.as_deref().unwrap_or("")),
            ("collector", facts.collector.as_str()),
        ]);
        gauge(
            encoder,
            "dockscope_agent_build_info",
            "Always 1: the agent's version, revision and collector as labels",
            None,
            &[(info, Some(Value::Int(1)))],
        )?;
        gauge(
            encoder,
            "dockscope_engine_reachable",
            "1 when the agent's last call to the Docker engine succeeded, else 0",
            None,
            &[(id, Some(Value::Int(u64::from(facts.engine_reachable))))],
        )?;
        gauge(
            encoder,
            "dockscope_agent_clients",
            "WebSocket clients connected to the agent",
            None,
            &[(id, Some(Value::Int(facts.clients as u64)))],
        )?;
        let metrics = self.snapshot.as_ref().map(|s| &s.batch.agent_metrics);
        gauge(
            encoder,
            "dockscope_agent_cpu_cores",
            "CPU the agent used over the last sampling interval, in cores (1 = one core busy)",
            None,
            &[(
                id,
                metrics
                    .and_then(|m| m.cpu_pct)
                    .map(|pct| Value::Float(pct / 100.0)),
            )],
        )?;
        gauge(
            encoder,
            "dockscope_agent_resident_memory",
            "The agent's resident memory (VmRSS)",
            Some(&Unit::Bytes),
            &[(id, metrics.and_then(|m| m.mem_bytes).map(Value::Int))],
        )
    }
}

pub(super) fn encode_host(
    encoder: &mut DescriptorEncoder,
    agent_id: &str,
    host: &HostStats,
) -> Result<(), std::fmt::Error> {
    let id = Labels([("agent_id", agent_id)]);
    let int = |v: Option<u64>| v.map(Value::Int);
    let float = |v: Option<f64>| v.map(Value::Float);
    let plain: &[(&str, &str, Option<&Unit>, Option<Value>)] = &[
        (
            "dockscope_host_cpus",
            "Online CPUs of the host",
            None,
            int(host.cores.map(u64::from)),
        ),
        (
            "dockscope_host_cpu_usage_ratio",
            "Host CPU busy over the last interval, 0 to 1 of the whole host (/proc/stat)",
            None,
            float(host.cpu_pct.map(|p| p / 100.0)),
        ),
        (
            "dockscope_host_load1",
            "Host load average over 1 minute",
            None,
            float(host.load_1),
        ),
        (
            "dockscope_host_load5",
            "Host load average over 5 minutes",
            None,
            float(host.load_5),
        ),
        (
            "dockscope_host_load15",
            "Host load average over 15 minutes",
            None,
            float(host.load_15),
        ),
        (
            "dockscope_host_memory",
            "Host memory (MemTotal)",
            Some(&Unit::Bytes),
            int(host.mem_total_bytes),
        ),
        (
            "dockscope_host_memory_used",
            "Host memory in use, MemTotal minus MemAvailable (what free shows as used)",
            Some(&Unit::Bytes),
            int(host.mem_used_bytes),
        ),
        (
            "dockscope_host_swap",
            "Host swap (SwapTotal)",
            Some(&Unit::Bytes),
            int(host.swap_total_bytes),
        ),
        (
            "dockscope_host_swap_used",
            "Host swap in use, SwapTotal minus SwapFree",
            Some(&Unit::Bytes),
            int(host.swap_used_bytes),
        ),
        (
            "dockscope_host_uptime",
            "Seconds since the host booted",
            Some(&Unit::Seconds),
            int(host.uptime_secs),
        ),
    ];
    for &(name, help, unit, value) in plain {
        gauge(encoder, name, help, unit, &[(id, value)])?;
    }
    let path = host.disk_path.as_deref().unwrap_or("");
    let disk = Labels([("agent_id", agent_id), ("path", path)]);
    gauge(
        encoder,
        "dockscope_host_disk_size",
        "Size of the file system holding the engine's data root (label path), as df",
        Some(&Unit::Bytes),
        &[(disk, int(host.disk_total_bytes))],
    )?;
    gauge(
        encoder,
        "dockscope_host_disk_used",
        "Use of the file system holding the engine's data root (label path), as df",
        Some(&Unit::Bytes),
        &[(disk, int(host.disk_used_bytes))],
    )
}

pub(super) fn gauge<L: EncodeLabelSet>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    rows: &[(L, Option<Value>)],
) -> Result<(), std::fmt::Error> {
    family(encoder, name, help, unit, MetricType::Gauge, rows)
}

/// One metric family: its descriptor and a sample per row with a value. A family without a
/// single value is left out altogether (no `# HELP` for a series that does not exist).
pub(super) fn family<L: EncodeLabelSet>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    kind: MetricType,
    rows: &[(L, Option<Value>)],
) -> Result<(), std::fmt::Error> {
    if rows.iter().all(|(_, v)| v.is_none()) {
        return Ok(());
    }
    let counter = matches!(kind, MetricType::Counter);
    let mut metric = encoder.encode_descriptor(name, help, unit, kind)?;
    for (labels, value) in rows {
        let Some(value) = value else { continue };
        let mut sample = metric.encode_family(labels)?;
        match (counter, *value) {
            (true, Value::Int(v)) => sample.encode_counter::<NoLabels, _, u64>(&v, None)?,
            (true, Value::Float(v)) => sample.encode_counter::<NoLabels, _, f64>(&v, None)?,
            (false, Value::Int(v)) => sample.encode_gauge(&v)?,
            (false, Value::Float(v)) => sample.encode_gauge(&v)?,
        }
    }
    Ok(())
}

/// No exemplar labels.
pub(super) type NoLabels = prometheus_client::encoding::NoLabelSet;
