//! The Docker Engine API collector: the fallback when cgroup files are not readable (remote
//! engines, Docker Desktop, unusual cgroup layouts). Costs the engine far more than reading
//! cgroups: it keeps one stats stream per container open, and the engine computes each payload.
//!
//! ```text
//!   ContainerSet (events) ──generation moved──► DockerApiSource::sample
//!                                                 │ spawn a follower for new ids, abort gone ones
//!                                                 │ read each follower's latest Reading,
//!                                                 │ then figures::container_stats
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
use std::time::{Duration, Instant};

use bollard::models::{ContainerCpuStats, ContainerNetworkStats, ContainerStatsResponse};
use bollard::query_parameters::StatsOptions;
use bollard::Docker;
use chrono::Utc;
use dockscope_protocol::ContainerStats;
use futures_util::StreamExt;
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use super::cgroup::v2::kernel_memory;
use super::containers::{ContainerInfo, ContainerSet};
use super::figures::{container_stats, counters_of, Clock, Figures, NetCounters, Reading};
use super::source::{Counters, EngineHealth, StatsSource};
use crate::engine::Endpoint;

/// A running container and the task following its stats.
struct Tracked {
    /// Name, image and start time, shared with the container set.
    info: Arc<ContainerInfo>,
    /// Latest reading, written by the follower; the lock is held for a copy only.
    slot: Arc<Mutex<Option<Latest>>>,
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
    /// The counters behind the last batch's entries, in order ([`StatsSource::counters`]).
    counters: Vec<Counters>,
}

impl DockerApiSource {
    /// A source for `endpoint`; nothing is contacted until the first [`StatsSource::sample`].
    pub fn new(endpoint: Endpoint, keep_exited: std::time::Duration) -> Self {
        Self {
            containers: ContainerSet::new(endpoint, keep_exited),
            synced: None,
            tracked: HashMap::new(),
            counters: Vec::new(),
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

    /// The batch entries, from each follower's latest reading; their counters go to
    /// `self.counters` in the same order.
    fn collect(&mut self) -> Vec<ContainerStats> {
        let now = Utc::now();
        let counters = &mut self.counters;
        counters.clear();
        self.tracked
            .iter()
            .map(|(id, tracked)| {
                let latest = *tracked
                    .slot
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                counters.push(counters_of(latest.as_ref().map(|l| &l.current)));
                let figures = latest.map_or_else(Figures::default, |latest| latest.figures());
                container_stats(
                    id.clone(),
                    &tracked.info,
                    own_network(figures, &tracked.info),
                    now,
                )
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

    fn events(&self) -> Option<std::sync::Arc<super::events::EventQueue>> {
        Some(self.containers.events())
    }

    fn engine(&self) -> EngineHealth {
        self.containers.health()
    }

    fn exited(&self) -> Vec<ContainerStats> {
        (self.containers).exited(|id, info, now| container_stats(id, info, Figures::default(), now))
    }

    fn counters(&self) -> &[Counters] {
        &self.counters
    }
}

/// The figures without network counters for a container in another's network namespace or
/// the host's: the engine reports that namespace's interfaces for it too, and they belong to
/// the namespace's owner (counted once, there) or to the host.
pub fn own_network(figures: Figures, info: &ContainerInfo) -> Figures {
    if info.network_mode.is_none() {
        return figures;
    }
    Figures {
        net: None,
        net_rates: None,
        ..figures
    }
}

/// Follows one container's stats stream; if the stream fails while the container still runs,
/// polls one-shot stats every second instead.
async fn follow(docker: Docker, id: String, slot: Arc<Mutex<Option<Latest>>>) {
    let mut previous: Option<Reading> = None;
    let streaming = StatsOptions {
        stream: true,
        one_shot: false,
    };
    let mut stream = docker.stats(&id, Some(streaming));
    while let Some(item) = stream.next().await {
        match item {
            Ok(stats) => {
                store(&slot, Latest::of(&stats, Instant::now(), &mut previous));
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
                store(&slot, Latest::of(&stats, Instant::now(), &mut previous));
            }
            Some(Err(e)) => debug!(container = %id, cause = %e, "polling stats failed"),
            None => {}
        }
    }
}

/// Stores the latest reading, recovering the slot if a previous holder panicked (a copy of plain
/// data cannot be left half-written).
fn store(slot: &Mutex<Option<Latest>>, latest: Latest) {
    *slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(latest);
}

/// A follower's latest payload, converted: the reading and its baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latest {
    /// The previous reading. Its CPU counter is the payload's own `precpu_stats` when the
    /// engine filled it (streaming), else the follower's last reading's (polling with
    /// `one-shot`, where the engine leaves it empty); its other counters are always the
    /// follower's last reading's.
    pub baseline: Option<Reading>,
    /// This payload.
    pub current: Reading,
}

impl Latest {
    /// Converts `stats` read at `at`, taking `previous` as the baseline of what the payload
    /// has no previous figure for, and moves `previous` on to this payload.
    pub fn of(stats: &ContainerStatsResponse, at: Instant, previous: &mut Option<Reading>) -> Self {
        let current = Reading {
            at: Some(at),
            ..reading(stats)
        };
        let precpu = stats
            .precpu_stats
            .as_ref()
            .map(cpu_reading)
            .filter(|pre| pre.cpu().is_some());
        let baseline = match precpu {
            Some(pre) => Some(Reading {
                cpu_ns: pre.cpu_ns,
                clock: pre.clock,
                ..previous.unwrap_or_default()
            }),
            None => *previous,
        };
        if current.cpu().is_some() || previous.is_none() {
            *previous = Some(current);
        }
        Self { baseline, current }
    }

    /// The figures `docker stats` shows for this payload.
    pub fn figures(&self) -> Figures {
        Figures::between(self.baseline.as_ref(), &self.current)
    }
}

/// Converts one stats payload into a reading: the edge where bollard's types become ours.
/// Every field is optional on the wire (engines from 20.10 on), so each missing one is `None`.
/// The limit is the engine's, already clamped to host memory.
pub fn reading(stats: &ContainerStatsResponse) -> Reading {
    let mem = stats.memory_stats.as_ref();
    let mem_stats = mem.and_then(|m| m.stats.as_ref());
    // cgroup v1 engines report both the `total_` key (with descendants) and the group's own;
    // the v1 one wins, as in the CLI.
    let stat = |key: &str| mem_stats.and_then(|s| s.get(key)).copied();
    let either = |v1: &str, v2: &str| stat(v1).or_else(|| stat(v2));
    let (block_read, block_write) = block_io(stats);
    let throttling = stats
        .cpu_stats
        .as_ref()
        .and_then(|c| c.throttling_data.as_ref());
    Reading {
        usage: mem.and_then(|m| m.usage),
        inactive_file: either("total_inactive_file", "inactive_file"),
        limit: mem.and_then(|m| m.limit),
        host_memory: None,
        pids: stats.pids_stats.as_ref().and_then(|p| p.current),
        pids_limit: stats.pids_stats.as_ref().and_then(|p| p.limit),
        net: network(stats),
        block_read,
        block_write,
        // v1 engines (Docker 20.10) pass `total_rss`/`total_cache` and no shmem or kernel
        // figure; v2 engines the kernel's `memory.stat` keys.
        mem_anon: either("total_rss", "anon"),
        mem_file: either("total_cache", "file"),
        mem_shmem: either("total_shmem", "shmem"),
        mem_kernel: kernel_memory(|key| stat(key).map(Some)),
        oom_kills: stat("oom_kill"),
        throttled_periods: throttling.and_then(|t| t.throttled_periods),
        throttled_ns: throttling.and_then(|t| t.throttled_time),
        ..stats
            .cpu_stats
            .as_ref()
            .map(cpu_reading)
            .unwrap_or_default()
    }
}

/// Bytes read and written: the `read` and `write` entries of `io_service_bytes_recursive`
/// summed over devices, the operation's name in any case (the CLI's `calculateBlockIO`). An
/// empty list is zero (what the CLI shows); no list, or a sum past 64 bits, is `None`.
fn block_io(stats: &ContainerStatsResponse) -> (Option<u64>, Option<u64>) {
    let Some(entries) = stats
        .blkio_stats
        .as_ref()
        .and_then(|b| b.io_service_bytes_recursive.as_ref())
    else {
        return (None, None);
    };
    let sum = |op: &str| {
        entries
            .iter()
            .filter(|e| e.op.as_deref().is_some_and(|o| o.eq_ignore_ascii_case(op)))
            .try_fold(0u64, |sum, e| sum.checked_add(e.value.unwrap_or(0)))
    };
    (sum("read"), sum("write"))
}

/// Network counters summed over every interface the engine lists (the CLI's
/// `calculateNetwork`; the engine leaves loopback out). `None` without a `networks` map (a
/// container without a namespace of its own, `--network host` or `none`), or when a sum
/// overflows.
fn network(stats: &ContainerStatsResponse) -> Option<NetCounters> {
    let networks = stats.networks.as_ref()?;
    let sum = |field: fn(&ContainerNetworkStats) -> Option<u64>| {
        networks
            .values()
            .try_fold(0u64, |sum, n| sum.checked_add(field(n).unwrap_or(0)))
    };
    Some(NetCounters {
        rx_bytes: sum(|n| n.rx_bytes)?,
        tx_bytes: sum(|n| n.tx_bytes)?,
        rx_packets: sum(|n| n.rx_packets)?,
        tx_packets: sum(|n| n.tx_packets)?,
    })
}

/// The CPU half of a reading: `cpu_usage.total_usage` against the host's `system_cpu_usage`
/// (zero is how the engine says "no reading": no clock then).
fn cpu_reading(stats: &ContainerCpuStats) -> Reading {
    Reading {
        cpu_ns: stats.cpu_usage.as_ref().and_then(|u| u.total_usage),
        clock: stats
            .system_cpu_usage
            .filter(|&ns| ns > 0)
            .map(|system_ns| Clock::Host {
                system_ns,
                online_cpus: online_cpus(stats),
            }),
        ..Reading::default()
    }
}

/// Number of CPUs the percentage is scaled by: `online_cpus`, or the length of
/// `percpu_usage` on engines that do not report it.
fn online_cpus(stats: &ContainerCpuStats) -> Option<u32> {
    match stats.online_cpus {
        Some(n) if n > 0 => Some(n),
        _ => stats
            .cpu_usage
            .as_ref()?
            .percpu_usage
            .as_ref()
            .and_then(|v| u32::try_from(v.len()).ok())
            .filter(|&n| n > 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ContainerBlkioStatEntry, ContainerBlkioStats, ContainerMemoryStats};

    fn fixture(name: &str) -> ContainerStatsResponse {
        let text = match name {
            "v1_busy" => include_str!("fixtures/docker_v1_busy.json"),
            "v1_idle" => include_str!("fixtures/docker_v1_idle.json"),
            "v2_docs" => include_str!("fixtures/docker_v2_api_docs.json"),
            _ => unreachable!("unknown fixture {name}"),
        };
        serde_json::from_str(text).expect("fixture parses as a stats payload")
    }

    fn figures(stats: &ContainerStatsResponse, mut previous: Option<Reading>) -> Figures {
        Latest::of(stats, Instant::now(), &mut previous).figures()
    }

    /// Real payloads: `v1_*` captured from Docker 20.10.24 (cgroup v1) on this machine kind, the
    /// busy one from a `--cpus 0.2` busy loop holding 64 MiB in /dev/shm (`docker stats` showed
    /// 20.00 % and 64.85 MiB); `v2_docs` is the Docker Engine API reference example (cgroup v2),
    /// with realistic `system_cpu_usage` values in place of the reference's placeholders.
    #[test]
    fn figures_match_docker_stats() {
        let cases = [
            // name, cpu % (±0.01), mem bytes, limit, pids (v2_docs: limit u64::MAX is none)
            (
                "v1_busy",
                Some(19.88),
                Some(67_997_696),
                Some(25_276_502_016),
                Some(1),
            ),
            ("v1_idle", Some(0.0), None, Some(25_276_502_016), Some(1)),
            (
                "v2_docs",
                Some(0.53),
                Some(6_537_216 - 1_982_464),
                Some(8_217_579_520),
                Some(5),
            ),
        ];
        for (name, cpu, mem, limit, pids) in cases {
            let r = figures(&fixture(name), None);
            match (r.cpu_pct, cpu) {
                (Some(got), Some(want)) => {
                    assert!((got - want).abs() < 0.01, "{name}: cpu {got} != {want}")
                }
                (got, want) => assert_eq!(got, want, "{name}: cpu"),
            }
            if let Some(mem) = mem {
                assert_eq!(r.mem_bytes, Some(mem), "{name}: mem");
            }
            assert!(r.mem_bytes.is_some(), "{name}: mem missing");
            assert_eq!(r.mem_limit_bytes, limit, "{name}: limit");
            assert_eq!((r.pids, r.pids_limit), (pids, None), "{name}: pids");
        }
    }

    #[test]
    fn busy_v1_memory_is_within_ten_percent_of_64_mib() {
        let mem = figures(&fixture("v1_busy"), None).mem_bytes.expect("mem");
        let want = 64.85 * 1024.0 * 1024.0;
        assert!((mem as f64 - want).abs() / want < 0.10, "{mem}");
    }

    #[test]
    fn one_shot_payload_uses_previous_reading() {
        // One-shot polling leaves precpu_stats zeroed; the first reading has no CPU figure, the
        // second takes the first as its baseline.
        let mut stats = fixture("v1_busy");
        stats.precpu_stats = None;
        let mut previous = None;
        let first = Latest::of(&stats, Instant::now(), &mut previous);
        assert_eq!(first.figures().cpu_pct, None);
        let first_cpu = first.current.cpu().expect("counters");
        assert_eq!(previous.and_then(|p| p.cpu()), Some(first_cpu));
        let Clock::Host { system_ns, .. } = first_cpu.clock else {
            panic!("the engine's clock")
        };
        let baseline = Reading {
            cpu_ns: Some(first_cpu.used_ns - 200_000_000),
            clock: Some(Clock::Host {
                system_ns: system_ns - 2_000_000_000,
                online_cpus: None,
            }),
            ..Reading::default()
        };
        let second = figures(&stats, Some(baseline)).cpu_pct.expect("cpu");
        assert!((second - 20.0).abs() < 1e-9, "{second}");
    }

    #[test]
    fn inactive_file_table() {
        let mem = |usage: Option<u64>, stats: &[(&str, u64)]| ContainerStatsResponse {
            memory_stats: Some(ContainerMemoryStats {
                usage,
                stats: Some(stats.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let cases = [
            (mem(Some(1000), &[("total_inactive_file", 300)]), Some(700)),
            (mem(Some(1000), &[("inactive_file", 200)]), Some(800)),
            // v1 key wins when both exist (v1 engines also report the non-total key)
            (
                mem(
                    Some(1000),
                    &[("total_inactive_file", 300), ("inactive_file", 1)],
                ),
                Some(700),
            ),
            // inactive larger than usage is ignored rather than underflowing
            (mem(Some(100), &[("inactive_file", 200)]), Some(100)),
            (mem(Some(100), &[]), Some(100)),
            (mem(None, &[("inactive_file", 1)]), None),
        ];
        for (input, want) in cases {
            assert_eq!(figures(&input, None).mem_bytes, want, "{input:?}");
        }
    }

    /// Block I/O, network, the memory breakdown and throttling from the captured payloads
    /// (v1: Docker 20.10 passes `total_rss`/`total_cache`, no shmem or kernel figure; v2: the
    /// kernel's keys, `kernel` absent in the reference example, so kernel_stack + slab + sock).
    #[test]
    fn depth_figures_from_the_payloads() {
        let v1 = reading(&fixture("v1_busy"));
        assert_eq!((v1.block_read, v1.block_write), (Some(0), Some(0)));
        assert_eq!(
            v1.net,
            Some(NetCounters {
                rx_bytes: 806,
                rx_packets: 9,
                ..NetCounters::default()
            })
        );
        assert_eq!(
            (v1.mem_anon, v1.mem_file, v1.mem_shmem, v1.mem_kernel),
            (Some(57_344), Some(67_108_864), None, None)
        );
        assert_eq!(
            (v1.throttled_periods, v1.throttled_ns, v1.oom_kills),
            (Some(135), Some(10_570_089_138), None)
        );
        let v2 = reading(&fixture("v2_docs"));
        assert_eq!((v2.block_read, v2.block_write, v2.net), (None, None, None));
        assert_eq!(
            (v2.mem_anon, v2.mem_file, v2.mem_shmem, v2.mem_kernel),
            (Some(299_008), Some(3_985_408), Some(0), Some(16_384))
        );
        assert_eq!((v2.throttled_periods, v2.throttled_ns), (Some(0), Some(0)));
    }

    #[test]
    fn block_io_table() {
        let entry = |major, op: &str, value| ContainerBlkioStatEntry {
            major: Some(major),
            minor: Some(0),
            op: Some(op.to_owned()),
            value: Some(value),
        };
        let payload = |entries: Option<Vec<ContainerBlkioStatEntry>>| ContainerStatsResponse {
            blkio_stats: Some(ContainerBlkioStats {
                io_service_bytes_recursive: entries,
                ..Default::default()
            }),
            ..Default::default()
        };
        let cases = [
            (None, (None, None)),
            (Some(vec![]), (Some(0), Some(0))),
            // v1 engines: runc's rows, capitalised, with Sync/Async/Total rows that never count
            (
                Some(vec![
                    entry(8, "Read", 4_096),
                    entry(8, "Write", 32_768),
                    entry(8, "Sync", 36_864),
                    entry(8, "Total", 36_864),
                    entry(253, "Read", 1_000),
                    entry(253, "Write", 2_000),
                    entry(253, "Total", 3_000),
                ]),
                (Some(5_096), Some(34_768)),
            ),
            // v2 engines: lower case, one read and one write entry per device
            (
                Some(vec![entry(8, "read", 7), entry(8, "write", 9)]),
                (Some(7), Some(9)),
            ),
            (
                Some(vec![entry(8, "read", u64::MAX), entry(9, "read", 1)]),
                (None, Some(0)),
            ),
        ];
        for (entries, want) in cases {
            let r = reading(&payload(entries.clone()));
            assert_eq!((r.block_read, r.block_write), want, "{entries:?}");
        }
    }

    #[test]
    fn network_sums_every_interface_and_a_borrowed_namespace_shows_none() {
        let iface = |rx_bytes, tx_bytes| ContainerNetworkStats {
            rx_bytes: Some(rx_bytes),
            tx_bytes: Some(tx_bytes),
            rx_packets: Some(1),
            tx_packets: Some(2),
            ..Default::default()
        };
        let stats = ContainerStatsResponse {
            networks: Some(
                [("eth0", iface(1_000, 10)), ("eth1", iface(500, 5))]
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect(),
            ),
            ..Default::default()
        };
        let net = NetCounters {
            rx_bytes: 1_500,
            tx_bytes: 15,
            rx_packets: 2,
            tx_packets: 4,
        };
        assert_eq!(reading(&stats).net, Some(net));
        let figures = figures(&stats, None);
        let own = ContainerInfo::default();
        assert_eq!(own_network(figures, &own).net, Some(net));
        for mode in ["host", "container:web", "none"] {
            let borrowed = ContainerInfo {
                network_mode: Some(mode.to_owned()),
                ..ContainerInfo::default()
            };
            let dropped = own_network(figures, &borrowed);
            assert_eq!((dropped.net, dropped.net_rates), (None, None), "{mode}");
            assert_eq!(dropped.mem_bytes, figures.mem_bytes, "{mode}");
        }
    }

    #[test]
    fn empty_payload_gives_no_figures_and_no_panic() {
        let r = figures(&ContainerStatsResponse::default(), None);
        assert_eq!(r.cpu_pct, None);
        assert_eq!(r.mem_bytes, None);
        assert_eq!(r.mem_limit_bytes, None);
        assert_eq!(
            reading(&ContainerStatsResponse::default()),
            Reading::default()
        );
    }
}
