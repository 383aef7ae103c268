//! One stage, three steps: a collector's raw [`Reading`] of a container → [`Figures`] (the
//! arithmetic the Docker CLI does for `docker stats`) → the [`ContainerStats`] entry on the wire.
//! Every collector fills the same [`Reading`] (cgroup v1 and v2 files, the Docker API payload,
//! the synthetic generator) and every one calls [`container_stats`], so a figure is computed and
//! published in exactly one place:
//! - CPU: percent of one core between two readings. Against the wall clock (cgroup files:
//!   Δ CPU ns / Δ wall ns × 100) or against the host's CPU counter (the engine's payload:
//!   Δ container / Δ system × online CPUs × 100, which is the same quantity as the engine
//!   measures it);
//! - memory: usage − inactive file cache (v1 `total_inactive_file`, v2 `inactive_file`), the
//!   cache subtracted only when smaller than usage;
//! - limit: the cgroup limit, or host `MemTotal` when unlimited (Docker clamps the same way;
//!   the engine's payload is clamped already);
//! - PIDs: as read, and their limit when one is set (0 and `u64::MAX`, how engines write
//!   "none", are none);
//! - network, block I/O and throttling: cumulative counters as read, and per second as
//!   Δ counter / Δ time between two readings (none when a counter went backwards: a restarted
//!   container starts its counters again);
//! - memory breakdown: as read; CPU limit (from `docker inspect`): quota / period, else the
//!   cpuset's CPU count;
//! - lifecycle and compose labels: what the container set knows (`docker inspect`).

use std::time::Instant;

use chrono::{DateTime, Utc};
use dockscope_protocol::ContainerStats;

use super::containers::ContainerInfo;
use super::source::Counters;

/// One container's counters as a collector read them, before any arithmetic. A counter that
/// could not be read or parsed is `None`, and so is every figure that needs it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reading {
    /// Cumulative CPU time of the container in nanoseconds.
    pub cpu_ns: Option<u64>,
    /// What `cpu_ns` is measured against, for the delta's denominator.
    pub clock: Option<Clock>,
    /// Memory usage in bytes, page cache included.
    pub usage: Option<u64>,
    /// Inactive file cache in bytes.
    pub inactive_file: Option<u64>,
    /// The memory limit in bytes; `None` when unlimited (v2 `max`) or unreadable.
    pub limit: Option<u64>,
    /// The host's memory, the ceiling of `limit` (what an unlimited container gets); `None`
    /// when the collector's `limit` is already clamped (the engine's payload).
    pub host_memory: Option<u64>,
    /// Processes and threads in the container.
    pub pids: Option<u64>,
    /// Its limit on them; `None` when unlimited (`max`) or unreadable.
    pub pids_limit: Option<u64>,
    /// When the counters were read (the agent's monotonic clock), the time base of every
    /// per-second figure.
    pub at: Option<Instant>,
    /// The counters of the container's own network namespace; `None` when it has none of its
    /// own or it could not be read.
    pub net: Option<NetCounters>,
    /// Bytes read from block devices.
    pub block_read: Option<u64>,
    /// Bytes written to block devices.
    pub block_write: Option<u64>,
    /// Anonymous memory in bytes.
    pub mem_anon: Option<u64>,
    /// Page cache in bytes (shmem included).
    pub mem_file: Option<u64>,
    /// Shared memory and tmpfs in bytes.
    pub mem_shmem: Option<u64>,
    /// Kernel memory in bytes.
    pub mem_kernel: Option<u64>,
    /// Processes killed by the OOM killer in the cgroup.
    pub oom_kills: Option<u64>,
    /// Periods in which the quota throttled the container (cumulative).
    pub throttled_periods: Option<u64>,
    /// Time spent throttled in nanoseconds (cumulative).
    pub throttled_ns: Option<u64>,
}

/// A network namespace's counters, summed over its interfaces except loopback (as Docker
/// does).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetCounters {
    /// Bytes received.
    pub rx_bytes: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Packets received.
    pub rx_packets: u64,
    /// Packets sent.
    pub tx_packets: u64,
}

impl Reading {
    /// The CPU counter with its clock, the baseline for the next reading's percentage.
    pub fn cpu(&self) -> Option<CpuSample> {
        Some(CpuSample {
            used_ns: self.cpu_ns?,
            clock: self.clock?,
        })
    }
}

/// The clock a CPU counter is read against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The agent's monotonic clock when the cgroup file was read.
    Wall(Instant),
    /// The host's cumulative CPU time over all CPUs (the engine's `system_cpu_usage`), and how
    /// many CPUs it is spread over (`online_cpus`).
    Host {
        /// Nanoseconds, summed over all CPUs.
        system_ns: u64,
        /// `None` when the engine reports neither `online_cpus` nor `percpu_usage`.
        online_cpus: Option<u32>,
    },
}

/// A cumulative CPU counter and the clock it was read against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuSample {
    /// Container CPU time in nanoseconds.
    pub used_ns: u64,
    /// When (or against what) it was read.
    pub clock: Clock,
}

/// One container's published figures.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Figures {
    /// Percent of one core; `None` without a previous reading.
    pub cpu_pct: Option<f64>,
    /// Usage minus inactive file cache.
    pub mem_bytes: Option<u64>,
    /// Memory limit, never more than the host's memory.
    pub mem_limit_bytes: Option<u64>,
    /// Processes and threads, as read.
    pub pids: Option<u64>,
    /// Their limit; never 0 or `u64::MAX` (how engines write "none").
    pub pids_limit: Option<u64>,
    /// Network counters as read.
    pub net: Option<NetCounters>,
    /// Per second: bytes received, bytes sent, packets received, packets sent.
    pub net_rates: Option<[f64; 4]>,
    /// Block I/O bytes read and written, as read.
    pub block_read: Option<u64>,
    /// See `block_read`.
    pub block_write: Option<u64>,
    /// Block bytes read per second.
    pub block_read_per_sec: Option<f64>,
    /// Block bytes written per second.
    pub block_write_per_sec: Option<f64>,
    /// Inactive file cache, as read (the part the CLI figure leaves out).
    pub mem_inactive_file: Option<u64>,
    /// Anonymous memory, as read.
    pub mem_anon: Option<u64>,
    /// Page cache, as read.
    pub mem_file: Option<u64>,
    /// Shared memory and tmpfs, as read.
    pub mem_shmem: Option<u64>,
    /// Kernel memory, as read.
    pub mem_kernel: Option<u64>,
    /// OOM kills, as read.
    pub oom_kills: Option<u64>,
    /// Throttled periods per second.
    pub throttled_periods_per_sec: Option<f64>,
    /// Throttled milliseconds per second.
    pub throttled_ms_per_sec: Option<f64>,
}

/// The [`Counters`] of a reading, kept beside its batch entry for `/metrics`; all `None`
/// without one.
pub fn counters_of(reading: Option<&Reading>) -> Counters {
    reading.map_or_else(Counters::default, |r| Counters {
        cpu_ns: r.cpu_ns,
        memory_usage: r.usage,
        throttled_periods: r.throttled_periods,
        throttled_ns: r.throttled_ns,
    })
}

impl Figures {
    /// The figures of `current`, with `previous` as the baseline of every figure over an
    /// interval (CPU percent, per-second rates).
    pub fn between(previous: Option<&Reading>, current: &Reading) -> Self {
        let seconds = previous
            .and_then(|p| p.at)
            .zip(current.at)
            .and_then(|(then, now)| now.checked_duration_since(then))
            .map(|d| d.as_secs_f64())
            .filter(|&s| s > 0.0);
        let rate = |before: Option<u64>, after: Option<u64>| per_second(before, after, seconds);
        let before = previous.copied().unwrap_or_default();
        let net_rates = before.net.zip(current.net).and_then(|(b, a)| {
            Some([
                rate(Some(b.rx_bytes), Some(a.rx_bytes))?,
                rate(Some(b.tx_bytes), Some(a.tx_bytes))?,
                rate(Some(b.rx_packets), Some(a.rx_packets))?,
                rate(Some(b.tx_packets), Some(a.tx_packets))?,
            ])
        });
        Self {
            cpu_pct: previous
                .and_then(Reading::cpu)
                .zip(current.cpu())
                .and_then(|(previous, current)| cpu_percent(previous, current)),
            mem_bytes: memory_used(current.usage, current.inactive_file),
            mem_limit_bytes: memory_limit(current.limit, current.host_memory),
            pids: current.pids,
            pids_limit: current.pids_limit.filter(|&l| l > 0 && l < u64::MAX),
            net: current.net,
            net_rates,
            block_read: current.block_read,
            block_write: current.block_write,
            block_read_per_sec: rate(before.block_read, current.block_read),
            block_write_per_sec: rate(before.block_write, current.block_write),
            mem_inactive_file: current.inactive_file,
            mem_anon: current.mem_anon,
            mem_file: current.mem_file,
            mem_shmem: current.mem_shmem,
            mem_kernel: current.mem_kernel,
            oom_kills: current.oom_kills,
            throttled_periods_per_sec: rate(before.throttled_periods, current.throttled_periods),
            throttled_ms_per_sec: rate(before.throttled_ns, current.throttled_ns)
                .map(|ns| ns / 1e6),
        }
    }
}

/// Δ counter per second; `None` without both counters and a positive interval, or when the
/// counter went backwards (it was reset: a restarted container, a new namespace).
pub fn per_second(before: Option<u64>, after: Option<u64>, seconds: Option<f64>) -> Option<f64> {
    let delta = after?.checked_sub(before?)?;
    Some(delta as f64 / seconds?)
}

/// The CPUs a container may use: quota / period when a quota is set, else its cpuset's CPU
/// count; `None` when neither limits it. (From `docker inspect`, refreshed on the engine's
/// `update` event, so no file is read for it each tick.)
pub fn cpu_limit_cores(info: &ContainerInfo) -> Option<f64> {
    let quota = info
        .cpu_quota_us
        .zip(info.cpu_period_us)
        .filter(|&(quota, period)| quota > 0 && period > 0)
        .map(|(quota, period)| quota as f64 / period as f64);
    quota.or(info.cpuset_cpus.filter(|&n| n > 0).map(f64::from))
}

/// The batch entry for container `id`: its figures (CPU rounded to two decimals) and what the
/// container set knows about it.
pub fn container_stats(
    id: String,
    info: &ContainerInfo,
    figures: Figures,
    now: DateTime<Utc>,
) -> ContainerStats {
    let net = figures.net;
    let net_rate = |i: usize| figures.net_rates.map(|r| round2(r[i]));
    ContainerStats {
        id,
        name: info.name.clone(),
        cpu_pct: figures.cpu_pct.map(round2),
        mem_bytes: figures.mem_bytes,
        mem_limit_bytes: figures.mem_limit_bytes,
        uptime_secs: info.uptime_secs(now),
        image: info.image.clone(),
        pids: figures.pids,
        pids_limit: figures.pids_limit,
        net_rx_bytes: net.map(|n| n.rx_bytes),
        net_tx_bytes: net.map(|n| n.tx_bytes),
        net_rx_packets: net.map(|n| n.rx_packets),
        net_tx_packets: net.map(|n| n.tx_packets),
        net_rx_bytes_per_sec: net_rate(0),
        net_tx_bytes_per_sec: net_rate(1),
        net_rx_packets_per_sec: net_rate(2),
        net_tx_packets_per_sec: net_rate(3),
        network_mode: info.network_mode.clone(),
        block_read_bytes: figures.block_read,
        block_write_bytes: figures.block_write,
        block_read_bytes_per_sec: figures.block_read_per_sec.map(round2),
        block_write_bytes_per_sec: figures.block_write_per_sec.map(round2),
        state: info.state,
        health: info.health,
        restart_count: info.restart_count,
        exit_code: info.exit_code,
        oom_killed: info.oom_killed,
        mem_anon: figures.mem_anon,
        mem_file: figures.mem_file,
        mem_inactive_file: figures.mem_inactive_file,
        mem_shmem: figures.mem_shmem,
        mem_kernel: figures.mem_kernel,
        oom_kills: figures.oom_kills,
        cpu_limit_cores: cpu_limit_cores(info).map(round2),
        cpu_throttled_periods_per_sec: figures.throttled_periods_per_sec.map(round2),
        cpu_throttled_ms_per_sec: figures.throttled_ms_per_sec.map(round2),
        compose_project: info.compose_project.clone(),
        compose_service: info.compose_service.clone(),
        finished_at: info.finished_at.filter(|_| info.is_stopped()),
        removed: info.removed.then_some(true),
    }
}

/// CPU percent of one core between two readings; `None` when no time passed, the clock went
/// backwards (an engine restart resets its counter), the clocks are of different kinds, or the
/// engine did not say how many CPUs there are. A container counter that went backwards (a
/// restarted container) gives 0, never a negative figure.
pub fn cpu_percent(previous: CpuSample, current: CpuSample) -> Option<f64> {
    let used = current.used_ns.saturating_sub(previous.used_ns) as f64;
    match (previous.clock, current.clock) {
        (Clock::Wall(then), Clock::Wall(now)) => {
            let wall_ns = now.checked_duration_since(then)?.as_nanos();
            (wall_ns > 0).then(|| used / wall_ns as f64 * 100.0)
        }
        (
            Clock::Host {
                system_ns: before, ..
            },
            Clock::Host {
                system_ns: after,
                online_cpus,
            },
        ) => {
            let online_cpus = online_cpus.filter(|&n| n > 0)?;
            let system_delta = after.checked_sub(before).filter(|&d| d > 0)?;
            Some(used / system_delta as f64 * f64::from(online_cpus) * 100.0)
        }
        _ => None,
    }
}

/// Memory in use without the inactive file cache, as `docker stats` shows it (the cache is
/// subtracted only when smaller than usage).
pub fn memory_used(usage: Option<u64>, inactive_file: Option<u64>) -> Option<u64> {
    let usage = usage?;
    Some(usage - inactive_file.filter(|&i| i < usage).unwrap_or(0))
}

/// The limit Docker reports: the cgroup's, but never more than the host's memory (which is
/// what an unlimited container gets).
pub fn memory_limit(limit: Option<u64>, host: Option<u64>) -> Option<u64> {
    match (limit, host) {
        (Some(l), Some(h)) => Some(l.min(h)),
        (Some(l), None) => Some(l),
        (None, h) => h,
    }
    .filter(|&l| l > 0)
}

/// Two decimals are all a percentage on a dashboard needs, and they halve the JSON.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const HOST: u64 = 24_684_084 * 1024;

    #[test]
    fn pids_limit_is_none_where_engines_write_none() {
        let cases = [
            (Some(100), Some(100)),
            (None, None),
            (Some(0), None),
            (Some(u64::MAX), None),
        ];
        for (read, want) in cases {
            let reading = Reading {
                pids: Some(3),
                pids_limit: read,
                ..Reading::default()
            };
            let figures = Figures::between(None, &reading);
            assert_eq!(
                (figures.pids, figures.pids_limit),
                (Some(3), want),
                "{read:?}"
            );
        }
    }

    #[test]
    fn cpu_percent_is_percent_of_one_core_on_either_clock() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(1);
        let wall = |used_ns, at| CpuSample {
            used_ns,
            clock: Clock::Wall(at),
        };
        let host = |used_ns, system_ns, cpus| CpuSample {
            used_ns,
            clock: Clock::Host {
                system_ns,
                online_cpus: cpus,
            },
        };
        let cases = [
            // cgroup files: against the wall clock
            (wall(0, t0), wall(200_000_000, t1), Some(20.0)),
            (wall(0, t0), wall(1_500_000_000, t1), Some(150.0)),
            (wall(500, t0), wall(100, t1), Some(0.0)),
            (wall(0, t0), wall(100, t0), None),
            (wall(0, t1), wall(100, t0), None),
            // the engine's payload: against the host counter, times the current CPU count
            (host(0, 1_000, None), host(100, 2_000, Some(2)), Some(20.0)),
            (
                host(0, 1_000, None),
                host(1_000, 2_000, Some(4)),
                Some(400.0),
            ),
            (host(500, 1_000, None), host(500, 2_000, Some(2)), Some(0.0)),
            // no time passed
            (host(0, 1_000, None), host(100, 1_000, Some(2)), None),
            // system counter went backwards (engine restarted)
            (host(0, 2_000, None), host(100, 1_000, Some(2)), None),
            // container counter reset (restarted container): clamp to 0, never negative
            (host(900, 1_000, None), host(10, 2_000, Some(2)), Some(0.0)),
            (host(0, 1_000, None), host(100, 2_000, Some(0)), None),
            (host(0, 1_000, None), host(100, 2_000, None), None),
            // different clocks never meet
            (wall(0, t0), host(100, 2_000, Some(2)), None),
            (host(0, 1_000, Some(2)), wall(100, t1), None),
        ];
        for (previous, current, want) in cases {
            assert_eq!(
                cpu_percent(previous, current),
                want,
                "{previous:?} -> {current:?}"
            );
        }
    }

    #[test]
    fn limit_and_memory_table() {
        let cases = [
            // cgroup limit, host → reported
            (Some(268_435_456), Some(HOST), Some(268_435_456)),
            (Some(9_223_372_036_854_771_712), Some(HOST), Some(HOST)),
            (None, Some(HOST), Some(HOST)),
            (None, None, None),
            (Some(0), None, None),
            (Some(8_217_579_520), None, Some(8_217_579_520)),
        ];
        for (limit, host, want) in cases {
            assert_eq!(memory_limit(limit, host), want, "{limit:?} {host:?}");
        }
        let cases = [
            // usage, inactive → used
            (Some(1000), Some(300), Some(700)),
            (Some(100), Some(200), Some(100)),
            (Some(100), Some(100), Some(100)),
            (Some(100), None, Some(100)),
            (None, Some(1), None),
        ];
        for (usage, inactive, want) in cases {
            assert_eq!(memory_used(usage, inactive), want, "{usage:?} {inactive:?}");
        }
    }

    #[test]
    fn figures_and_the_entry_come_from_one_reading() {
        let t0 = Instant::now();
        let reading = Reading {
            cpu_ns: Some(1_200_000_000),
            clock: Some(Clock::Wall(t0 + Duration::from_secs(2))),
            usage: Some(70_000_640),
            inactive_file: Some(2_457_600),
            limit: None,
            host_memory: Some(HOST),
            pids: Some(4),
            pids_limit: Some(50),
            at: Some(t0 + Duration::from_secs(2)),
            net: Some(NetCounters {
                rx_bytes: 3_000,
                tx_bytes: 500,
                rx_packets: 30,
                tx_packets: 10,
            }),
            block_write: Some(8_192),
            mem_shmem: Some(4_096),
            throttled_periods: Some(40),
            throttled_ns: Some(300_000_000),
            ..Reading::default()
        };
        let previous = Reading {
            cpu_ns: Some(1_000_000_000),
            clock: Some(Clock::Wall(t0)),
            at: Some(t0),
            net: Some(NetCounters {
                rx_bytes: 1_000,
                tx_bytes: 600,
                rx_packets: 10,
                tx_packets: 4,
            }),
            block_write: Some(0),
            throttled_periods: Some(20),
            throttled_ns: Some(100_000_000),
            ..Reading::default()
        };
        let figures = Figures::between(Some(&previous), &reading);
        // Over 2 s: rx +2000 B, tx went backwards (a new namespace), so no rates at all.
        assert_eq!(figures.net_rates, None);
        let previous = Reading {
            net: Some(NetCounters {
                tx_bytes: 100,
                ..previous.net.unwrap_or_default()
            }),
            ..previous
        };
        let figures = Figures::between(Some(&previous), &reading);
        assert_eq!(figures.net_rates, Some([1_000.0, 200.0, 10.0, 3.0]));
        assert_eq!(figures.block_write_per_sec, Some(4_096.0));
        assert_eq!(figures.block_read_per_sec, None);
        assert_eq!(figures.throttled_periods_per_sec, Some(10.0));
        assert_eq!(figures.throttled_ms_per_sec, Some(100.0));
        assert_eq!(figures.mem_bytes, Some(70_000_640 - 2_457_600));
        assert_eq!(figures.mem_limit_bytes, Some(HOST));
        let pct = figures.cpu_pct.expect("two readings");
        assert!((pct - 10.0).abs() < 1e-9, "{pct}");
        assert_eq!(Figures::between(None, &reading).cpu_pct, None);
        // Without a clock the counter is no baseline.
        let unclocked = Reading {
            clock: None,
            ..reading
        };
        assert_eq!(unclocked.cpu(), None);

        let info = ContainerInfo {
            name: "web".into(),
            image: Some("busybox".into()),
            started_at: DateTime::parse_from_rfc3339("2026-11-22T20:00:00Z")
                .ok()
                .map(|d| d.with_timezone(&Utc)),
            ..ContainerInfo::default()
        };
        let now = DateTime::parse_from_rfc3339("2026-11-22T20:01:01Z")
            .expect("date")
            .with_timezone(&Utc);
        let figures = Figures {
            cpu_pct: Some(12.3456),
            ..figures
        };
        let entry = container_stats("abc".to_owned(), &info, figures, now);
        assert_eq!(
            (
                entry.id.as_str(),
                entry.name.as_str(),
                entry.cpu_pct,
                entry.uptime_secs,
                entry.image.as_deref()
            ),
            ("abc", "web", Some(12.35), Some(61), Some("busybox"))
        );
        assert_eq!(entry.mem_bytes, Some(70_000_640 - 2_457_600));
        assert_eq!((entry.pids, entry.pids_limit), (Some(4), Some(50)));
        assert_eq!(
            (entry.net_rx_bytes, entry.net_tx_packets_per_sec),
            (Some(3_000), Some(3.0))
        );
        assert_eq!(
            (entry.mem_shmem, entry.mem_inactive_file),
            (Some(4_096), Some(2_457_600))
        );
        assert_eq!(entry.cpu_throttled_ms_per_sec, Some(100.0));
    }

    #[test]
    fn per_second_table() {
        let cases = [
            (Some(0), Some(1_000), Some(2.0), Some(500.0)),
            (Some(5), Some(5), Some(1.0), Some(0.0)),
            // reset counter (restarted container): no figure, never a negative one
            (Some(900), Some(10), Some(1.0), None),
            (None, Some(10), Some(1.0), None),
            (Some(1), None, Some(1.0), None),
            (Some(1), Some(2), None, None),
        ];
        for (before, after, seconds, want) in cases {
            assert_eq!(
                per_second(before, after, seconds),
                want,
                "{before:?} {after:?}"
            );
        }
    }

    #[test]
    fn cpu_limit_cores_table() {
        let limit = |quota, period, cpuset| ContainerInfo {
            cpu_quota_us: quota,
            cpu_period_us: period,
            cpuset_cpus: cpuset,
            ..ContainerInfo::default()
        };
        let cases = [
            (limit(Some(150_000), Some(100_000), None), Some(1.5)),
            (limit(Some(20_000), Some(100_000), Some(2)), Some(0.2)),
            (limit(None, Some(100_000), Some(2)), Some(2.0)),
            (limit(Some(0), Some(100_000), None), None),
            (limit(Some(50_000), None, None), None),
            (limit(None, None, Some(0)), None),
            (limit(None, None, None), None),
        ];
        for (reading, want) in cases {
            assert_eq!(cpu_limit_cores(&reading), want, "{reading:?}");
        }
    }
}
