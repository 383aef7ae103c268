//! CPU and memory figures computed exactly as the Docker CLI computes them for `docker stats`,
//! from bollard's stats payload. Pure functions: the edge where external types become ours.

use bollard::models::{ContainerCpuStats, ContainerMemoryStats, ContainerStatsResponse};

/// Cumulative CPU counters from one stats reading, kept to compute the next delta.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuCounters {
    /// Container CPU time in nanoseconds (`cpu_usage.total_usage`).
    pub container_ns: u64,
    /// Host CPU time in nanoseconds over all CPUs (`system_cpu_usage`).
    pub system_ns: u64,
}

impl CpuCounters {
    /// Reads the counters; `None` when either is missing or zero (a zeroed `precpu_stats` is how
    /// the engine says "no previous reading").
    pub fn from_stats(stats: &ContainerCpuStats) -> Option<Self> {
        let container_ns = stats.cpu_usage.as_ref()?.total_usage?;
        let system_ns = stats.system_cpu_usage?;
        (system_ns > 0).then_some(Self {
            container_ns,
            system_ns,
        })
    }
}

/// One container's figures from one stats reading.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// Percent of one core; `None` without a previous reading.
    pub cpu_pct: Option<f64>,
    /// Usage minus inactive file cache.
    pub mem_bytes: Option<u64>,
    /// Memory limit (host memory when unlimited, as the engine reports it).
    pub mem_limit_bytes: Option<u64>,
    /// This reading's counters, the baseline for the next one.
    pub counters: Option<CpuCounters>,
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

/// CPU percent of one core between two readings, as `docker stats` computes it: container
/// delta over system delta, times online CPUs, times 100. `None` if the system counter did not
/// advance (no time passed, or counters reset); `Some(0.0)` for an idle container.
pub fn cpu_percent(previous: CpuCounters, current: CpuCounters, online_cpus: u32) -> Option<f64> {
    let system_delta = current.system_ns.checked_sub(previous.system_ns)?;
    if system_delta == 0 || online_cpus == 0 {
        return None;
    }
    let container_delta = current.container_ns.saturating_sub(previous.container_ns);
    Some(container_delta as f64 / system_delta as f64 * f64::from(online_cpus) * 100.0)
}

/// Memory in use without the inactive page cache, like the Docker CLI: cgroup v1 subtracts
/// `total_inactive_file`, cgroup v2 `inactive_file`, each only when smaller than usage.
pub fn memory_used(mem: &ContainerMemoryStats) -> Option<u64> {
    let usage = mem.usage?;
    let stats = mem.stats.as_ref();
    let inactive = stats
        .and_then(|s| s.get("total_inactive_file"))
        .or_else(|| stats.and_then(|s| s.get("inactive_file")))
        .copied()
        .filter(|&v| v < usage)
        .unwrap_or(0);
    Some(usage - inactive)
}

/// Converts one stats payload. The previous reading comes from the payload's own
/// `precpu_stats` when the engine filled it (streaming), else from `previous` (polling with
/// `one-shot`, where the engine leaves it empty).
pub fn reading(stats: &ContainerStatsResponse, previous: Option<CpuCounters>) -> Reading {
    let current = stats.cpu_stats.as_ref().and_then(CpuCounters::from_stats);
    let pre = stats
        .precpu_stats
        .as_ref()
        .and_then(CpuCounters::from_stats)
        .or(previous);
    let cpus = stats.cpu_stats.as_ref().and_then(online_cpus);
    let cpu_pct = match (pre, current, cpus) {
        (Some(pre), Some(cur), Some(n)) => cpu_percent(pre, cur, n),
        _ => None,
    };
    let mem = stats.memory_stats.as_ref();
    Reading {
        cpu_pct,
        mem_bytes: mem.and_then(memory_used),
        mem_limit_bytes: mem.and_then(|m| m.limit).filter(|&l| l > 0),
        counters: current,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> ContainerStatsResponse {
        let text = match name {
            "v1_busy" => include_str!("fixtures/docker_v1_busy.json"),
            "v1_idle" => include_str!("fixtures/docker_v1_idle.json"),
            "v2_docs" => include_str!("fixtures/docker_v2_api_docs.json"),
            _ => unreachable!("unknown fixture {name}"),
        };
        serde_json::from_str(text).expect("fixture parses as a stats payload")
    }

    /// Real payloads: `v1_*` captured from Docker 20.10.24 (cgroup v1) on this machine kind, the
    /// busy one from a `--cpus 0.2` busy loop holding 64 MiB in /dev/shm (`docker stats` showed
    /// 20.00 % and 64.85 MiB); `v2_docs` is the Docker Engine API reference example (cgroup v2),
    /// with realistic `system_cpu_usage` values in place of the reference's placeholders.
    #[test]
    fn figures_match_docker_stats() {
        let cases = [
            // name, cpu % (±0.01), mem bytes, limit
            (
                "v1_busy",
                Some(19.88),
                Some(67_997_696),
                Some(25_276_502_016),
            ),
            ("v1_idle", Some(0.0), None, Some(25_276_502_016)),
            (
                "v2_docs",
                Some(0.53),
                Some(6_537_216 - 1_982_464),
                Some(8_217_579_520),
            ),
        ];
        for (name, cpu, mem, limit) in cases {
            let r = reading(&fixture(name), None);
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
        }
    }

    #[test]
    fn busy_v1_memory_is_within_ten_percent_of_64_mib() {
        let mem = reading(&fixture("v1_busy"), None).mem_bytes.expect("mem");
        let want = 64.85 * 1024.0 * 1024.0;
        assert!((mem as f64 - want).abs() / want < 0.10, "{mem}");
    }

    #[test]
    fn cpu_percent_table() {
        let c = |container_ns, system_ns| CpuCounters {
            container_ns,
            system_ns,
        };
        let cases = [
            // previous, current, cpus, expected
            (c(0, 1_000), c(100, 2_000), 2, Some(20.0)),
            (c(0, 1_000), c(1_000, 2_000), 4, Some(400.0)),
            (c(500, 1_000), c(500, 2_000), 2, Some(0.0)),
            // no time passed
            (c(0, 1_000), c(100, 1_000), 2, None),
            // system counter went backwards (engine restarted)
            (c(0, 2_000), c(100, 1_000), 2, None),
            // container counter reset (restarted container): clamp to 0, never negative
            (c(900, 1_000), c(10, 2_000), 2, Some(0.0)),
            (c(0, 1_000), c(100, 2_000), 0, None),
        ];
        for (prev, cur, cpus, want) in cases {
            assert_eq!(
                cpu_percent(prev, cur, cpus),
                want,
                "{prev:?} -> {cur:?} x{cpus}"
            );
        }
    }

    #[test]
    fn one_shot_payload_uses_previous_reading() {
        // One-shot polling leaves precpu_stats zeroed; the first reading has no CPU figure, the
        // second takes the first as its baseline.
        let mut stats = fixture("v1_busy");
        stats.precpu_stats = None;
        let first = reading(&stats, None);
        assert_eq!(first.cpu_pct, None);
        let baseline = first.counters.map(|c| CpuCounters {
            container_ns: c.container_ns - 200_000_000,
            system_ns: c.system_ns - 2_000_000_000,
        });
        let second = reading(&stats, baseline).cpu_pct.expect("cpu");
        assert!((second - 20.0).abs() < 1e-9, "{second}");
    }

    #[test]
    fn memory_table() {
        let mem = |usage: Option<u64>, stats: &[(&str, u64)]| ContainerMemoryStats {
            usage,
            stats: Some(stats.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()),
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
            assert_eq!(memory_used(&input), want, "{input:?}");
        }
    }

    #[test]
    fn empty_payload_gives_no_figures_and_no_panic() {
        let r = reading(&ContainerStatsResponse::default(), None);
        assert_eq!(r.cpu_pct, None);
        assert_eq!(r.mem_bytes, None);
        assert_eq!(r.mem_limit_bytes, None);
    }
}
