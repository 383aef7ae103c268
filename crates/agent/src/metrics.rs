//! `/metrics`: the latest sample in the Prometheus exposition format, formatted only when
//! scraped (nothing runs per tick for it, and nothing at all while nobody scrapes).
//!
//! ```text
//!   sampler ──set()──► LatestSample ◄──get()── Exporter::body (a scrape)
//!                                                 │ same sequence as the cached body: reuse it
//!                                                 │ else: format (blocking pool), cache it
//!                                                 ▼
//!                                     OpenMetrics text (prometheus-client), or the
//!                                     Prometheus 0.0.4 text for clients that do not ask for it
//! ```
//!
//! Names and labels follow cAdvisor where it has the figure (`container_*`, labels `id`,
//! `name`, `image`, and `container_label_com_docker_compose_*`), plus `agent_id` on every
//! series so one Prometheus can tell hosts apart by more than `instance`; the rest is
//! `dockscope_*` (the agent, the host, figures cAdvisor has no name for). A figure the batch
//! does not have is an absent series, never a 0. Only running containers (the batch's
//! `containers`) get per-container series, as in cAdvisor; the `exited` list is counted in
//! `dockscope_containers_exited`. Every metric, its source field and its unit:
//! docs/prometheus.md.
//!
//! Label values are escaped here ([`escape`]): prometheus-client writes them as given, and a
//! container named `a"b` or with a newline would otherwise break the whole scrape.
//!
//! A flood of scrapes formats at most once per sample: the body is cached by the batch's
//! `sequence`, so agent-wide figures read at format time (clients, engine reachability) are
//! at most one sample old.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::http::{header, HeaderMap};
use bytes::Bytes;
use dockscope_protocol::{ContainerStats, Health, HostStats};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeLabelValue, LabelSetEncoder, LabelValueEncoder,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};
use tokio::sync::Mutex;

use crate::sample::source::Counters;
use crate::sampler::{LatestSample, Snapshot};

/// `Content-Type` of the OpenMetrics text prometheus-client writes; Prometheus asks for it.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// `Content-Type` of the classic Prometheus text format, for every other client (`curl`,
/// `promtool check metrics`, older scrapers).
pub const TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Which exposition format a scrape gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenMetrics 1.0 text, when the client's `Accept` names it.
    OpenMetrics,
    /// Prometheus text 0.0.4 otherwise.
    Text,
}

impl Format {
    /// The format a request's `Accept` header asks for.
    pub fn accepted(headers: &HeaderMap) -> Self {
        let asks = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("application/openmetrics-text"));
        if asks {
            Format::OpenMetrics
        } else {
            Format::Text
        }
    }

    /// Its `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => OPENMETRICS,
            Format::Text => TEXT,
        }
    }
}

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

/// The latest sample and the one cached body; shared by every scrape.
#[derive(Debug)]
pub struct Exporter {
    /// Where the sampler leaves each batch.
    latest: Arc<LatestSample>,
    /// The body formatted for a batch `sequence`, so concurrent or repeated scrapes of the
    /// same sample format once; held across formatting, so a second scrape waits for the
    /// first instead of formatting too.
    cache: Mutex<Option<Cached>>,
}

/// One formatted sample.
#[derive(Debug)]
struct Cached {
    /// The batch's `sequence`.
    sequence: u64,
    /// OpenMetrics text, as formatted.
    openmetrics: Bytes,
    /// The same in the 0.0.4 text format, made the first time a client asks for it.
    text: Option<Bytes>,
}

impl Exporter {
    /// An exporter reading the sampler's `latest`.
    pub fn new(latest: Arc<LatestSample>) -> Self {
        Self {
            latest,
            cache: Mutex::new(None),
        }
    }

    /// The body of a scrape in `format`. `facts` is called only when the latest sample has not
    /// been formatted yet. Before the first sample the body holds the agent's own series only
    /// (a valid exposition: the agent is up, it has nothing to report yet).
    pub async fn body(&self, format: Format, facts: impl FnOnce() -> AgentFacts) -> Bytes {
        let snapshot = self.latest.get();
        let sequence = snapshot.as_ref().and_then(|s| s.batch.sequence);
        let mut cache = self.cache.lock().await;
        let fresh = matches!((&*cache, sequence), (Some(c), Some(s)) if c.sequence == s);
        if !fresh {
            let facts = facts();
            // A little more than last time: bodies grow and shrink with the containers.
            let capacity = cache.as_ref().map_or(0, |c| c.openmetrics.len() * 9 / 8);
            let formatted =
                tokio::task::spawn_blocking(move || render_sized(snapshot, facts, capacity))
                    .await
                    .unwrap_or_default();
            let openmetrics = Bytes::from(formatted);
            match sequence {
                Some(sequence) => {
                    *cache = Some(Cached {
                        sequence,
                        openmetrics,
                        text: None,
                    })
                }
                // Nothing sampled yet: nothing worth keeping.
                None => {
                    return match format {
                        Format::OpenMetrics => openmetrics,
                        Format::Text => {
                            Bytes::from(to_text_format(&String::from_utf8_lossy(&openmetrics)))
                        }
                    };
                }
            }
        }
        let Some(cached) = cache.as_mut() else {
            return Bytes::new();
        };
        match format {
            Format::OpenMetrics => cached.openmetrics.clone(),
            Format::Text => cached
                .text
                .get_or_insert_with(|| {
                    Bytes::from(to_text_format(&String::from_utf8_lossy(
                        &cached.openmetrics,
                    )))
                })
                .clone(),
        }
    }
}

/// The whole exposition of `snapshot` (none before the first sample) as OpenMetrics text,
/// ending in `# EOF`.
pub fn render(snapshot: Option<Arc<Snapshot>>, facts: AgentFacts) -> String {
    render_sized(snapshot, facts, 0)
}

/// [`render`] into a buffer of `capacity` bytes to start with: the previous body's size, so
/// the buffer does not grow (and copy itself) a dozen times on the way.
fn render_sized(snapshot: Option<Arc<Snapshot>>, facts: AgentFacts, capacity: usize) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Exposition { snapshot, facts }));
    let mut out = String::with_capacity(capacity);
    // Writing to a String cannot fail; a collector error would leave a cut exposition,
    // which Prometheus refuses rather than misreads.
    let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
    // The body is cached until the next sample: do not keep much growth slack with it (up to
    // as much again as its size, megabytes on a host of thousands of containers).
    if out.capacity() > out.len() + out.len() / 4 {
        out.shrink_to_fit();
    }
    out
}

/// Rewrites prometheus-client's OpenMetrics text as Prometheus text 0.0.4: a counter family
/// is named after its samples (`x_total`, not `x`), and the `# UNIT` and `# EOF` lines go
/// (0.0.4 has neither). Samples are the same in both formats.
pub fn to_text_format(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len());
    let mut lines = openmetrics.lines().peekable();
    while let Some(line) = lines.next() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        if let Some(help) = line.strip_prefix("# HELP ") {
            let (name, text) = help.split_once(' ').unwrap_or((help, ""));
            let counter = lines
                .peek()
                .and_then(|next| next.strip_prefix("# TYPE "))
                .is_some_and(|t| t == format!("{name} counter"));
            if counter {
                let _ = writeln!(out, "# HELP {name}_total {text}");
                let _ = writeln!(out, "# TYPE {name}_total counter");
                lines.next();
                continue;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// `value` with `\`, `"` and line feeds escaped, borrowed when it has none (nearly always).
fn escape(value: &str) -> Cow<'_, str> {
    if !value.bytes().any(|b| matches!(b, b'\\' | b'"' | b'\n')) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A label value escaped already (by [`escape`]), written as it is.
#[derive(Debug, Clone, Copy)]
struct Raw<'a>(&'a str);

impl EncodeLabelValue for Raw<'_> {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.0)
    }
}

/// The labels of a per-container series, cAdvisor's plus `agent_id`, escaped and written out
/// once per container and format rather than once per series (a container has about twenty):
/// - `agent_id`: `--agent-id`;
/// - `id`: cAdvisor's `id` is the cgroup path, `/docker/<full id>` under the `cgroupfs`
///   driver; we use that form under every driver, so it is stable;
/// - `name`: without the leading `/`;
/// - `image`: as given to `docker run`; empty (an absent label) when unknown;
/// - `container_label_com_docker_compose_project` / `_service`: only when set (cAdvisor's
///   container labels).
#[derive(Debug, Clone)]
struct ContainerLabels {
    /// Every label as it appears between the braces, but for the last one's `="value"`:
    /// `agent_id="a",id="/docker/…",name="web",image`.
    head: String,
    /// The last label's escaped value, which prometheus-client's value writer quotes.
    last: String,
}

impl ContainerLabels {
    /// The labels of `c` on agent `agent_id`.
    fn of(agent_id: &str, c: &ContainerStats) -> Self {
        let mut all = String::with_capacity(160);
        let mut put = |key: &str, value: &str| {
            if !all.is_empty() {
                all.push(',');
            }
            let _ = write!(all, "{key}=\"{}\"", escape(value));
        };
        put("agent_id", agent_id);
        put("id", &format!("/docker/{}", c.id));
        put("name", &c.name);
        put("image", c.image.as_deref().unwrap_or(""));
        if let Some(project) = &c.compose_project {
            put("container_label_com_docker_compose_project", project);
        }
        if let Some(service) = &c.compose_service {
            put("container_label_com_docker_compose_service", service);
        }
        // An escaped value holds no bare `"`, so the last `="` starts the last value.
        let (head, last) = all.rsplit_once("=\"").unwrap_or((&all, "\""));
        Self {
            head: head.to_owned(),
            last: last.strip_suffix('"').unwrap_or(last).to_owned(),
        }
    }
}

impl EncodeLabelSet for ContainerLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        raw_label(encoder, &self.head, &self.last)
    }
}

impl EncodeLabelSet for &ContainerLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        (*self).encode(encoder)
    }
}

/// Labels of agent and host series: `agent_id` and any others given.
#[derive(Debug, Clone, Copy)]
struct Labels<'a, const N: usize>([(&'a str, &'a str); N]);

impl<const N: usize> EncodeLabelSet for Labels<'_, N> {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        for (key, value) in self.0 {
            label(encoder, key, value)?;
        }
        Ok(())
    }
}

/// A per-container series with one more label (`dockscope_container_health{health=…}`).
#[derive(Debug, Clone, Copy)]
struct WithLabel<'a> {
    /// The container's labels.
    container: &'a ContainerLabels,
    /// The extra label.
    extra: (&'a str, &'a str),
}

impl EncodeLabelSet for WithLabel<'_> {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        self.container.encode(encoder)?;
        label(encoder, self.extra.0, self.extra.1)
    }
}

fn label(encoder: &mut LabelSetEncoder, key: &str, value: &str) -> Result<(), std::fmt::Error> {
    raw_label(encoder, key, &escape(value))
}

/// A label whose value is escaped already.
fn raw_label(encoder: &mut LabelSetEncoder, key: &str, value: &str) -> Result<(), std::fmt::Error> {
    let mut label = encoder.encode_label();
    let mut key_encoder = label.encode_label_key()?;
    key_encoder.write_str(key)?;
    let mut value_encoder = key_encoder.encode_label_value()?;
    Raw(value).encode(&mut value_encoder)?;
    value_encoder.finish()
}

/// A sample value: counters and integer gauges stay integers (exact byte counts), the rest
/// are floats.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Value {
    /// An integer.
    Int(u64),
    /// A float.
    Float(f64),
}

/// One per-container metric: its name (before the unit suffix), help, unit, type, and where
/// its value comes from.
struct ContainerMetric {
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

const NS_PER_SEC: f64 = 1e9;

/// Every per-container metric but the health one, in exposition order. The last argument of
/// `value` is the batch's `sent_at` in Unix seconds.
const CONTAINER_METRICS: &[ContainerMetric] = &[
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

/// The prometheus-client collector over one snapshot: it writes every family on encode.
#[derive(Debug)]
struct Exposition {
    /// The sample to format; `None` before the first one.
    snapshot: Option<Arc<Snapshot>>,
    /// The agent's own facts.
    facts: AgentFacts,
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
            "Containers that stopped in the last hour (at most 100); they have no container_* series",
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

fn encode_host(
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

fn gauge<L: EncodeLabelSet>(
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
fn family<L: EncodeLabelSet>(
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
type NoLabels = prometheus_client::encoding::NoLabelSet;

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use dockscope_protocol::{AgentMetrics, ContainerStatsBatch};

    /// One parsed sample: name, labels (unescaped), value.
    type Sample = (String, Vec<(String, String)>, String);

    /// A strict reader of one exposition line per sample, undoing the three escapes; panics on
    /// anything else, so a broken escape fails the test that produced it.
    fn parse(text: &str) -> Vec<Sample> {
        let mut samples = Vec::new();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (name, rest) = line.split_at(
                line.find(['{', ' '])
                    .unwrap_or_else(|| panic!("no value: {line:?}")),
            );
            let mut labels = Vec::new();
            let mut chars = rest.chars().peekable();
            if chars.peek() == Some(&'{') {
                chars.next();
                loop {
                    let key: String = chars.by_ref().take_while(|&c| c != '=').collect();
                    assert_eq!(chars.next(), Some('"'), "{line:?}");
                    let mut value = String::new();
                    loop {
                        match chars.next() {
                            Some('\\') => match chars.next() {
                                Some('\\') => value.push('\\'),
                                Some('"') => value.push('"'),
                                Some('n') => value.push('\n'),
                                other => panic!("bad escape {other:?} in {line:?}"),
                            },
                            Some('"') => break,
                            Some(c) => value.push(c),
                            None => panic!("unterminated value in {line:?}"),
                        }
                    }
                    labels.push((key, value));
                    match chars.next() {
                        Some(',') => continue,
                        Some('}') => break,
                        other => panic!("expected , or }} not {other:?} in {line:?}"),
                    }
                }
            }
            let value: String = chars.collect();
            let value = value.trim();
            assert!(
                value.parse::<f64>().is_ok(),
                "value {value:?} of {line:?} is not a number"
            );
            samples.push((name.to_owned(), labels, value.to_owned()));
        }
        samples
    }

    fn label<'a>(sample: &'a Sample, key: &str) -> Option<&'a str> {
        sample
            .1
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value of series `name` of container `container` (by its `name` label).
    fn value_of(samples: &[Sample], name: &str, container: &str) -> Option<f64> {
        let found: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.0 == name && label(s, "name") == Some(container))
            .collect();
        assert!(found.len() <= 1, "{name} of {container} twice: {found:?}");
        found.first().map(|s| s.2.parse().expect("number"))
    }

    fn facts() -> AgentFacts {
        AgentFacts {
            agent_id: "host-a".into(),
            version: "v0.1.0".into(),
            revision: Some("abc1234".into()),
            collector: "cgroup-v2".into(),
            engine_reachable: true,
            clients: 2,
        }
    }

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339)
            .expect("date")
            .with_timezone(&Utc)
    }

    /// `web` has every figure and its counters; `old` is what an agent of contract 1 sends
    /// (CPU percent, memory, limit, uptime) and no counters.
    fn two_containers() -> Snapshot {
        let web = ContainerStats {
            id: "a".repeat(64),
            name: "web".into(),
            cpu_pct: Some(50.0),
            mem_bytes: Some(1_000_000),
            mem_limit_bytes: Some(536_870_912),
            uptime_secs: Some(61),
            image: Some("nginx:1.27".into()),
            pids: Some(4),
            pids_limit: Some(100),
            net_rx_bytes: Some(3_000),
            net_tx_bytes: Some(500),
            net_rx_packets: Some(30),
            net_tx_packets: Some(10),
            block_read_bytes: Some(4_096),
            block_write_bytes: Some(8_192),
            health: Some(Health::Unhealthy),
            restart_count: Some(2),
            mem_anon: Some(700_000),
            mem_file: Some(400_000),
            mem_shmem: Some(4_096),
            mem_kernel: Some(65_536),
            oom_kills: Some(1),
            cpu_limit_cores: Some(0.5),
            compose_project: Some("shop".into()),
            compose_service: Some("web".into()),
            ..ContainerStats::default()
        };
        let old = ContainerStats {
            id: "b".repeat(64),
            name: "old".into(),
            cpu_pct: Some(1.5),
            mem_bytes: Some(2_000),
            mem_limit_bytes: Some(8_000_000_000),
            uptime_secs: Some(10),
            ..ContainerStats::default()
        };
        let exited = ContainerStats {
            id: "c".repeat(64),
            name: "done".into(),
            exit_code: Some(0),
            ..ContainerStats::default()
        };
        Snapshot {
            batch: ContainerStatsBatch {
                agent_id: "host-a".into(),
                sent_at: at("2026-12-01T12:00:00.250Z"),
                sequence: Some(7),
                containers: vec![web, old],
                agent_metrics: AgentMetrics {
                    cpu_pct: Some(0.5),
                    mem_bytes: Some(12_000_000),
                },
                host: None,
                exited: vec![exited],
            },
            counters: vec![
                Counters {
                    cpu_ns: Some(12_500_000_000),
                    memory_usage: Some(1_300_000),
                    throttled_periods: Some(40),
                    throttled_ns: Some(300_000_000),
                },
                Counters::default(),
            ],
        }
    }

    #[test]
    fn each_figure_is_its_series_and_a_missing_figure_is_no_series() {
        let text = render(Some(Arc::new(two_containers())), facts());
        assert!(text.ends_with("# EOF\n"), "{text}");
        let samples = parse(&text);
        let start = (at("2026-12-01T12:00:00Z").timestamp() - 61) as f64;
        let old_start = (at("2026-12-01T12:00:00Z").timestamp() - 10) as f64;
        // (series, container, value; None: no such series)
        let table: &[(&str, &str, Option<f64>)] = &[
            ("container_cpu_usage_seconds_total", "web", Some(12.5)),
            ("container_cpu_usage_seconds_total", "old", None),
            (
                "container_memory_working_set_bytes",
                "web",
                Some(1_000_000.0),
            ),
            ("container_memory_working_set_bytes", "old", Some(2_000.0)),
            ("container_memory_usage_bytes", "web", Some(1_300_000.0)),
            ("container_memory_usage_bytes", "old", None),
            ("container_memory_rss", "web", Some(700_000.0)),
            ("container_memory_rss", "old", None),
            ("container_memory_cache", "web", Some(400_000.0)),
            (
                "container_spec_memory_limit_bytes",
                "web",
                Some(536_870_912.0),
            ),
            ("container_spec_memory_limit_bytes", "old", Some(8e9)),
            (
                "container_network_receive_bytes_total",
                "web",
                Some(3_000.0),
            ),
            ("container_network_receive_bytes_total", "old", None),
            ("container_network_transmit_bytes_total", "web", Some(500.0)),
            ("container_network_receive_packets_total", "web", Some(30.0)),
            (
                "container_network_transmit_packets_total",
                "web",
                Some(10.0),
            ),
            ("container_fs_reads_bytes_total", "web", Some(4_096.0)),
            ("container_fs_writes_bytes_total", "web", Some(8_192.0)),
            ("container_fs_writes_bytes_total", "old", None),
            ("container_oom_events_total", "web", Some(1.0)),
            ("container_oom_events_total", "old", None),
            (
                "container_cpu_cfs_throttled_periods_total",
                "web",
                Some(40.0),
            ),
            (
                "container_cpu_cfs_throttled_seconds_total",
                "web",
                Some(0.3),
            ),
            ("container_cpu_cfs_throttled_seconds_total", "old", None),
            ("container_threads", "web", Some(4.0)),
            ("container_threads", "old", None),
            ("container_threads_max", "web", Some(100.0)),
            ("container_start_time_seconds", "web", Some(start)),
            ("container_start_time_seconds", "old", Some(old_start)),
            ("dockscope_container_cpu_limit_cores", "web", Some(0.5)),
            ("dockscope_container_cpu_limit_cores", "old", None),
            (
                "dockscope_container_memory_shmem_bytes",
                "web",
                Some(4_096.0),
            ),
            (
                "dockscope_container_memory_kernel_bytes",
                "web",
                Some(65_536.0),
            ),
            ("dockscope_container_restarts_total", "web", Some(2.0)),
            ("dockscope_container_restarts_total", "old", None),
            ("dockscope_container_health", "web", Some(1.0)),
            ("dockscope_container_health", "old", None),
            // stopped containers have no per-container series
            ("container_memory_working_set_bytes", "done", None),
        ];
        for &(series, container, want) in table {
            assert_eq!(
                value_of(&samples, series, container),
                want,
                "{series} of {container}"
            );
        }
        let web = samples
            .iter()
            .find(|s| {
                s.0 == "container_memory_working_set_bytes" && label(s, "name") == Some("web")
            })
            .expect("web");
        let labels: Vec<(&str, &str)> = web
            .1
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let id = format!("/docker/{}", "a".repeat(64));
        assert_eq!(
            labels,
            [
                ("agent_id", "host-a"),
                ("id", id.as_str()),
                ("name", "web"),
                ("image", "nginx:1.27"),
                ("container_label_com_docker_compose_project", "shop"),
                ("container_label_com_docker_compose_service", "web"),
            ]
        );
        let health = samples
            .iter()
            .find(|s| s.0 == "dockscope_container_health")
            .expect("health");
        assert_eq!(label(health, "health"), Some("unhealthy"));
        // Agent-wide series, one each.
        let agent: &[(&str, f64)] = &[
            ("dockscope_agent_build_info", 1.0),
            ("dockscope_engine_reachable", 1.0),
            ("dockscope_agent_clients", 2.0),
            ("dockscope_agent_cpu_cores", 0.005),
            ("dockscope_agent_resident_memory_bytes", 12e6),
            ("dockscope_containers", 2.0),
            ("dockscope_containers_exited", 1.0),
            ("dockscope_last_sample_timestamp_seconds", 1_796_126_400.25),
        ];
        for &(series, want) in agent {
            let found: Vec<&Sample> = samples.iter().filter(|s| s.0 == series).collect();
            assert_eq!(found.len(), 1, "{series}: {found:?}");
            assert_eq!(found[0].2.parse::<f64>().ok(), Some(want), "{series}");
            assert_eq!(label(found[0], "agent_id"), Some("host-a"), "{series}");
        }
        let info = samples
            .iter()
            .find(|s| s.0 == "dockscope_agent_build_info")
            .expect("info");
        assert_eq!(
            (
                label(info, "version"),
                label(info, "revision"),
                label(info, "collector")
            ),
            (Some("v0.1.0"), Some("abc1234"), Some("cgroup-v2"))
        );
        // Every per-container series carries agent_id, id and name.
        for s in samples.iter().filter(|s| s.0.starts_with("container_")) {
            for key in ["agent_id", "id", "name", "image"] {
                assert!(label(s, key).is_some(), "{key} missing on {s:?}");
            }
        }
        // No family is described without a sample (old has no network, and neither does web
        // lack one): every HELP names a family that has samples.
        for help in text.lines().filter_map(|l| l.strip_prefix("# HELP ")) {
            let family = help.split(' ').next().unwrap_or_default();
            assert!(
                samples
                    .iter()
                    .any(|s| s.0 == family || s.0 == format!("{family}_total")),
                "{family} described but empty"
            );
        }
    }

    #[test]
    fn hostile_names_and_images_stay_inside_their_label() {
        let names = [
            "quote\"inside",
            "back\\slash",
            "new\nline",
            "ends with backslash\\",
            "\"} 1\ninjected_series{a=\"b",
            "unicode ☃ and spaces",
        ];
        let containers: Vec<ContainerStats> = names
            .iter()
            .enumerate()
            .map(|(i, name)| ContainerStats {
                id: format!("{i:064x}"),
                name: (*name).to_owned(),
                image: Some(format!("img\"{i}\\\n")),
                mem_bytes: Some(i as u64),
                ..ContainerStats::default()
            })
            .collect();
        let snapshot = Snapshot {
            batch: ContainerStatsBatch {
                sequence: Some(1),
                containers,
                ..ContainerStatsBatch::default()
            },
            counters: Vec::new(),
        };
        let hostile_agent = AgentFacts {
            agent_id: "agent\"\n\\".into(),
            ..facts()
        };
        for text in [
            render(Some(Arc::new(snapshot)), hostile_agent.clone()),
            to_text_format(&render(
                Some(Arc::new(Snapshot {
                    batch: ContainerStatsBatch {
                        sequence: Some(1),
                        containers: names
                            .iter()
                            .map(|n| ContainerStats {
                                name: (*n).to_owned(),
                                mem_bytes: Some(1),
                                ..ContainerStats::default()
                            })
                            .collect(),
                        ..ContainerStatsBatch::default()
                    },
                    counters: Vec::new(),
                })),
                hostile_agent.clone(),
            )),
        ] {
            let samples = parse(&text);
            assert!(
                !samples.iter().any(|s| s.0 == "injected_series"),
                "a name injected a series:\n{text}"
            );
            let working_set: Vec<&Sample> = samples
                .iter()
                .filter(|s| s.0 == "container_memory_working_set_bytes")
                .collect();
            assert_eq!(working_set.len(), names.len(), "{text}");
            for (sample, name) in working_set.iter().zip(names) {
                assert_eq!(label(sample, "name"), Some(name), "{text}");
                assert_eq!(label(sample, "agent_id"), Some("agent\"\n\\"));
            }
        }
    }

    #[test]
    fn host_series_come_from_the_host_object_and_only_what_it_has() {
        let full = HostStats {
            cores: Some(2),
            cpu_pct: Some(37.5),
            load_1: Some(0.5),
            load_5: Some(0.25),
            load_15: Some(0.125),
            mem_total_bytes: Some(8_000_000_000),
            mem_used_bytes: Some(2_000_000_000),
            swap_total_bytes: Some(1_000_000_000),
            swap_used_bytes: Some(0),
            uptime_secs: Some(3_600),
            disk_path: Some("/var/lib/docker".into()),
            disk_total_bytes: Some(100_000_000_000),
            disk_used_bytes: Some(40_000_000_000),
        };
        let partial = HostStats {
            cores: Some(4),
            mem_total_bytes: Some(16_000_000_000),
            ..HostStats::default()
        };
        let everything: &[(&str, f64)] = &[
            ("dockscope_host_cpus", 2.0),
            ("dockscope_host_cpu_usage_ratio", 0.375),
            ("dockscope_host_load1", 0.5),
            ("dockscope_host_load5", 0.25),
            ("dockscope_host_load15", 0.125),
            ("dockscope_host_memory_bytes", 8e9),
            ("dockscope_host_memory_used_bytes", 2e9),
            ("dockscope_host_swap_bytes", 1e9),
            ("dockscope_host_swap_used_bytes", 0.0),
            ("dockscope_host_uptime_seconds", 3_600.0),
            ("dockscope_host_disk_size_bytes", 1e11),
            ("dockscope_host_disk_used_bytes", 4e10),
        ];
        // (host object, the host series it gives)
        type Case<'a> = (Option<HostStats>, Vec<(&'a str, f64)>);
        let cases: [Case; 3] = [
            (Some(full), everything.to_vec()),
            (
                Some(partial),
                vec![
                    ("dockscope_host_cpus", 4.0),
                    ("dockscope_host_memory_bytes", 16e9),
                ],
            ),
            (None, vec![]),
        ];
        for (host, want) in cases {
            let snapshot = Snapshot {
                batch: ContainerStatsBatch {
                    sequence: Some(3),
                    host: host.clone(),
                    ..ContainerStatsBatch::default()
                },
                counters: Vec::new(),
            };
            let samples = parse(&render(Some(Arc::new(snapshot)), facts()));
            let got: Vec<(&str, f64)> = samples
                .iter()
                .filter(|s| s.0.starts_with("dockscope_host_"))
                .map(|s| (s.0.as_str(), s.2.parse().expect("number")))
                .collect();
            assert_eq!(got, want, "{host:?}");
            for s in samples
                .iter()
                .filter(|s| s.0.starts_with("dockscope_host_disk"))
            {
                assert_eq!(label(s, "path"), Some("/var/lib/docker"));
                assert_eq!(label(s, "agent_id"), Some("host-a"));
            }
        }
    }

    #[test]
    fn before_the_first_sample_only_the_agent_is_reported() {
        let text = render(
            None,
            AgentFacts {
                engine_reachable: false,
                ..facts()
            },
        );
        let names: Vec<String> = parse(&text).into_iter().map(|s| s.0).collect();
        assert_eq!(
            names,
            [
                "dockscope_agent_build_info",
                "dockscope_engine_reachable",
                "dockscope_agent_clients"
            ]
        );
        assert!(
            text.contains("dockscope_engine_reachable{agent_id=\"host-a\"} 0\n"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn the_text_format_names_counter_families_after_their_samples() {
        let open = "# HELP c_seconds Time.\n# TYPE c_seconds counter\n# UNIT c_seconds seconds\n\
                    c_seconds_total{a=\"1\"} 2.5\n# HELP g_bytes Size.\n# TYPE g_bytes gauge\n\
                    # UNIT g_bytes bytes\ng_bytes 3\n# HELP c Events with # and spaces.\n\
                    # TYPE c counter\nc_total 4\n# EOF\n";
        let want = "# HELP c_seconds_total Time.\n# TYPE c_seconds_total counter\n\
                    c_seconds_total{a=\"1\"} 2.5\n# HELP g_bytes Size.\n# TYPE g_bytes gauge\n\
                    g_bytes 3\n# HELP c_total Events with # and spaces.\n\
                    # TYPE c_total counter\nc_total 4\n";
        assert_eq!(to_text_format(open), want);
        // On the real output: every counter family is named like its samples.
        let text = to_text_format(&render(Some(Arc::new(two_containers())), facts()));
        for family in text.lines().filter_map(|l| l.strip_prefix("# TYPE ")) {
            let (name, kind) = family.split_once(' ').expect("TYPE name kind");
            if kind == "counter" {
                assert!(name.ends_with("_total"), "{family}");
            }
        }
        assert!(!text.contains("# EOF") && !text.contains("# UNIT"));
    }

    #[test]
    fn prometheus_gets_openmetrics_and_everyone_else_the_text_format() {
        let cases: &[(&[&str], Format)] = &[
            (
                &["application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"],
                Format::OpenMetrics,
            ),
            (&["text/plain;version=0.0.4"], Format::Text),
            (&["*/*"], Format::Text),
            (&[], Format::Text),
        ];
        for (accept, want) in cases {
            let mut headers = HeaderMap::new();
            for value in *accept {
                headers.append(header::ACCEPT, value.parse().expect("header"));
            }
            assert_eq!(Format::accepted(&headers), *want, "{accept:?}");
        }
    }

    #[tokio::test]
    async fn a_flood_of_scrapes_formats_each_sample_once() {
        let latest = Arc::new(LatestSample::default());
        let exporter = Exporter::new(latest.clone());
        let formatted = std::sync::atomic::AtomicUsize::new(0);
        let count = || {
            formatted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            facts()
        };
        // Nothing sampled yet: formatted every time, never cached.
        exporter.body(Format::Text, count).await;
        exporter.body(Format::Text, count).await;
        latest.set(two_containers());
        let first = exporter.body(Format::OpenMetrics, count).await;
        for _ in 0..50 {
            assert_eq!(exporter.body(Format::OpenMetrics, count).await, first);
        }
        let text = exporter.body(Format::Text, count).await;
        assert_eq!(
            text,
            Bytes::from(to_text_format(&String::from_utf8_lossy(&first)))
        );
        assert_eq!(formatted.load(std::sync::atomic::Ordering::Relaxed), 3);
        // A new sample is formatted anew.
        let mut next = two_containers();
        next.batch.sequence = Some(8);
        latest.set(next);
        exporter.body(Format::OpenMetrics, count).await;
        assert_eq!(formatted.load(std::sync::atomic::Ordering::Relaxed), 4);
    }
}
