//! Generated containers for benchmarking the dashboard without hundreds of real ones.
//! Selected only by `--synthetic-containers N`; reported as `collector:synthetic` and
//! `synthetic` in `agent_status.features`, so the dashboard labels the data as fake.
//!
//! Like every collector it fills a [`Reading`] per container and publishes through
//! [`container_stats`]: its CPU counters advance by exactly the generated percentage over the
//! wall-clock time since the previous tick (the first tick measures from the start), and its
//! network and block counters by the generated rates, so every per-second figure is the
//! generator's. Every contract 5 figure is filled, each from the container's number `i`:
//! - memory: usage splits into anonymous 60 %, page cache 30 % (a sixth of it shared memory,
//!   half of it inactive) and kernel 10 %, summing to the usage;
//! - lifecycle: every 17th container (from 4) is paused, every 23rd (from 9) restarting,
//!   every 9th (from 2) has restarted `i / 9 + 1` times (last exit 137); health checks on
//!   every 5th: healthy, with every 10th (from 7) unhealthy and every 25th (from 12) starting;
//! - compose: three of four containers belong to `stack-<i / 12>` as service web, db or cache;
//! - CPU limit: every 5th has `--cpus` 0.5, 1 or 1.5 (and is throttled above it), every 5th
//!   from 1 a one-CPU cpuset; every 13th (from 12) uses the host's network (no figures);
//! - `exited`: one of every 20 containers (at most 10), with exit codes 0, 1 and 137 (OOM
//!   killed).

use std::time::Instant;

use chrono::{Duration, Utc};
use dockscope_protocol::{ContainerState, ContainerStats, Health};

use super::containers::ContainerInfo;
use super::figures::{container_stats, counters_of, Clock, Figures, NetCounters, Reading};
use super::source::{Counters, EngineHealth, StatsSource};

/// N fake containers whose CPU and memory move smoothly and differently from each other.
#[derive(Debug)]
pub struct SyntheticSource {
    /// Start of the run; figures are a function of time since then.
    started: Instant,
    /// Each container: id, what a container set would know of it (container `i` started
    /// `i` minutes before the agent), and its previous CPU counter (0 ns at `started`).
    containers: Vec<(String, ContainerInfo, Reading)>,
    /// The stopped containers `exited()` reports (no live figures).
    exited: Vec<ContainerStats>,
    /// The counters behind the last batch's entries, in order ([`StatsSource::counters`]).
    counters: Vec<Counters>,
}

const MIB: f64 = 1_048_576.0;

/// Containers from this number on carry only the contract 4 figures (CPU, memory, uptime,
/// image, PIDs). A contract 5 entry is about 865 bytes, so 10,000 full ones would be an
/// 8.6 MB frame a second, which the dashboard cannot decode in time; the 10,000-container
/// benchmark and test measure the card at the size they always did, with the first 1,000
/// rows complete.
pub const DEPTH_UP_TO: usize = 1_000;

/// `entry` with only the contract 4 figures.
fn plain(entry: ContainerStats) -> ContainerStats {
    ContainerStats {
        id: entry.id,
        name: entry.name,
        cpu_pct: entry.cpu_pct,
        mem_bytes: entry.mem_bytes,
        mem_limit_bytes: entry.mem_limit_bytes,
        uptime_secs: entry.uptime_secs,
        image: entry.image,
        pids: entry.pids,
        pids_limit: entry.pids_limit,
        ..ContainerStats::default()
    }
}

/// What container `i` is, as `docker inspect` would tell: name, image, start, lifecycle,
/// health, compose labels, CPU limit and network mode.
fn info_of(i: usize, now: chrono::DateTime<Utc>) -> ContainerInfo {
    let state = if i % 17 == 4 {
        ContainerState::Paused
    } else if i % 23 == 9 {
        ContainerState::Restarting
    } else {
        ContainerState::Running
    };
    let health = (i % 5 == 2).then_some(if i % 10 == 7 {
        Health::Unhealthy
    } else if i % 25 == 12 {
        Health::Starting
    } else {
        Health::Healthy
    });
    let restarts = if i % 9 == 2 { i as u64 / 9 + 1 } else { 0 };
    let compose = (i % 4 != 3).then(|| {
        (
            format!("stack-{}", i / 12),
            ["web", "db", "cache"][i % 4].to_owned(),
        )
    });
    let (cpu_quota_us, cpu_period_us, cpuset_cpus) = match i % 5 {
        0 => (Some(50_000 * (1 + (i / 5 % 3) as u64)), Some(100_000), None),
        1 => (None, None, Some(1)),
        _ => (None, None, None),
    };
    ContainerInfo {
        name: format!("synthetic-{i:03}"),
        image: Some("synthetic".to_owned()),
        started_at: Some(now - Duration::minutes(i as i64)),
        network_mode: (i % 13 == 12).then(|| "host".to_owned()),
        state: Some(state),
        health,
        restart_count: Some(restarts),
        exit_code: Some(if restarts > 0 { 137 } else { 0 }),
        oom_killed: Some(false),
        compose_project: compose.as_ref().map(|(p, _)| p.clone()),
        compose_service: compose.map(|(_, s)| s),
        cpu_quota_us,
        cpu_period_us,
        cpuset_cpus,
        ..ContainerInfo::default()
    }
}

/// The stopped containers of a set of `count`: one of every 20, at most 10 (a host with
/// thousands of stopped containers is not what the generator is for).
fn exited_of(count: usize) -> Vec<ContainerStats> {
    (0..count.div_ceil(20).min(10))
        .map(|k| {
            let (code, oom) = [(0, false), (1, false), (137, true)][k % 3];
            ContainerStats {
                id: format!("e{k:063x}"),
                name: format!("synthetic-exited-{k:02}"),
                image: Some("synthetic".to_owned()),
                state: Some(ContainerState::Exited),
                exit_code: Some(code),
                oom_killed: Some(oom),
                restart_count: Some(0),
                compose_project: (k % 2 == 0).then(|| format!("stack-{k}")),
                compose_service: (k % 2 == 0).then(|| "job".to_owned()),
                ..ContainerStats::default()
            }
        })
        .collect()
}

impl SyntheticSource {
    /// A source of `count` containers.
    pub fn new(count: usize) -> Self {
        let started = Instant::now();
        let now = Utc::now();
        let containers = (0..count)
            .map(|i| {
                let info = info_of(i, now);
                let own_net = info.network_mode.is_none();
                let baseline = Reading {
                    cpu_ns: Some(0),
                    clock: Some(Clock::Wall(started)),
                    at: Some(started),
                    net: own_net.then(NetCounters::default),
                    block_read: Some(0),
                    block_write: Some(0),
                    throttled_periods: Some(0),
                    throttled_ns: Some(0),
                    ..Reading::default()
                };
                (format!("{i:064x}"), info, baseline)
            })
            .collect();
        Self {
            started,
            containers,
            exited: exited_of(count),
            counters: Vec::with_capacity(count),
        }
    }
}

impl StatsSource for SyntheticSource {
    fn name(&self) -> &'static str {
        "synthetic"
    }

    async fn sample(&mut self) -> Vec<ContainerStats> {
        let at = Instant::now();
        let now = Utc::now();
        let t = at.duration_since(self.started).as_secs_f64();
        let counters = &mut self.counters;
        counters.clear();
        self.containers
            .iter_mut()
            .enumerate()
            .map(|(i, (id, info, previous))| {
                let phase = i as f64 * 0.37;
                let wanted = 50.0 * (1.0 + (t / 7.0 + phase).sin()) * (i % 7 + 1) as f64 / 7.0;
                // A container with a CPU limit gets at most its quota; the rest is throttled.
                let quota_pct = info
                    .cpu_quota_us
                    .zip(info.cpu_period_us)
                    .map(|(q, p)| q as f64 / p as f64 * 100.0);
                let paused = info.state == Some(ContainerState::Paused);
                let cpu = if paused {
                    0.0
                } else {
                    quota_pct.map_or(wanted, |q| wanted.min(q))
                };
                let throttled = quota_pct.map_or(0.0, |q| (wanted - q).max(0.0) / wanted.max(1.0));
                let mem_mib = 20.0 + 200.0 * (1.0 + (t / 31.0 + phase).cos()) / 2.0;
                let then = previous.at.unwrap_or(self.started);
                let dt_ns = at.duration_since(then).as_nanos() as f64;
                let dt = dt_ns / 1e9;
                let grow = |before: Option<u64>, per_sec: f64| {
                    before.map(|b| b + (per_sec * dt).round() as u64)
                };
                // Bytes per second in and out: 1 KiB/s to ~1 MiB/s, varying with time.
                let rx = 1024.0 * (1.0 + (i % 11) as f64 * 90.0) * (1.2 + (t / 13.0 + phase).sin());
                let tx = rx * (0.2 + (i % 3) as f64 * 0.4);
                let net = previous.net.map(|n| NetCounters {
                    rx_bytes: n.rx_bytes + (rx * dt).round() as u64,
                    tx_bytes: n.tx_bytes + (tx * dt).round() as u64,
                    rx_packets: n.rx_packets + (rx / 800.0 * dt).round() as u64,
                    tx_packets: n.tx_packets + (tx / 600.0 * dt).round() as u64,
                });
                let block = 4096.0 * (i % 6) as f64 * (1.0 + (t / 17.0 + phase).cos());
                let usage = mem_mib * MIB;
                let file = usage * 0.3;
                let reading = Reading {
                    cpu_ns: Some(
                        previous.cpu_ns.unwrap_or(0) + (cpu / 100.0 * dt_ns).round() as u64,
                    ),
                    clock: Some(Clock::Wall(at)),
                    at: Some(at),
                    usage: Some(usage as u64),
                    inactive_file: Some((file * 0.5) as u64),
                    limit: Some(512 * 1_048_576),
                    pids: Some(1 + (i % 20) as u64),
                    pids_limit: (i % 3 == 0).then_some(100),
                    net,
                    block_read: grow(previous.block_read, block),
                    block_write: grow(previous.block_write, block * 2.5),
                    mem_anon: Some((usage * 0.6) as u64),
                    mem_file: Some(file as u64),
                    mem_shmem: Some((file / 6.0) as u64),
                    mem_kernel: Some((usage * 0.1) as u64),
                    oom_kills: Some(0),
                    // 10 periods of 100 ms a second; throttled ones in proportion.
                    throttled_periods: grow(previous.throttled_periods, 10.0 * throttled),
                    throttled_ns: grow(previous.throttled_ns, 1e9 * throttled * 0.5),
                    ..Reading::default()
                };
                let figures = Figures::between(Some(previous), &reading);
                let mut kept = counters_of(Some(&reading));
                if i >= DEPTH_UP_TO {
                    // A contract 4 entry: no throttling figures, so no counters for them.
                    (kept.throttled_periods, kept.throttled_ns) = (None, None);
                }
                counters.push(kept);
                *previous = reading;
                let entry = container_stats(id.clone(), info, figures, now);
                if i < DEPTH_UP_TO {
                    entry
                } else {
                    plain(entry)
                }
            })
            .collect()
    }

    fn exited(&self) -> Vec<ContainerStats> {
        self.exited.clone()
    }

    fn counters(&self) -> &[Counters] {
        &self.counters
    }

    fn engine(&self) -> EngineHealth {
        EngineHealth {
            reachable: true,
            version: Some("synthetic".to_owned()),
            error: None,
            last_ok_at: Some(chrono::Utc::now()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn figures_follow_the_generator_from_the_first_tick() {
        let mut source = SyntheticSource::new(3);
        for _ in 0..2 {
            std::thread::sleep(std::time::Duration::from_millis(5));
            let batch = source.sample().await;
            assert_eq!(batch.len(), 3);
            for (i, entry) in batch.iter().enumerate() {
                assert_eq!(entry.name, format!("synthetic-{i:03}"));
                assert_eq!(entry.id, format!("{i:064x}"));
                let cpu = entry.cpu_pct.expect("a figure on every tick");
                let most = 100.0 * (i % 7 + 1) as f64 / 7.0;
                assert!((0.0..=most + 0.01).contains(&cpu), "{i}: {cpu}");
                let mem = entry.mem_bytes.expect("memory");
                assert!((20 * 1_048_576..=221 * 1_048_576).contains(&mem), "{mem}");
                assert_eq!(entry.mem_limit_bytes, Some(512 * 1_048_576));
                let uptime = entry.uptime_secs.expect("uptime");
                assert!(
                    (i as u64 * 60..i as u64 * 60 + 5).contains(&uptime),
                    "{uptime}"
                );
                assert_eq!(entry.image.as_deref(), Some("synthetic"));
            }
        }
    }

    #[tokio::test]
    async fn every_contract_5_figure_is_filled_plausibly() {
        let mut source = SyntheticSource::new(40);
        std::thread::sleep(std::time::Duration::from_millis(20));
        let first = source.sample().await;
        std::thread::sleep(std::time::Duration::from_millis(20));
        let second = source.sample().await;
        for (a, b) in first.iter().zip(&second) {
            let i: usize = b.name["synthetic-".len()..].parse().expect("numbered");
            // Memory: the breakdown sums to the usage, of which docker stats leaves out the
            // inactive cache.
            let parts = [b.mem_anon, b.mem_file, b.mem_kernel].map(|p| p.expect("part"));
            let usage = parts.iter().sum::<u64>();
            let inactive = b.mem_inactive_file.expect("inactive");
            let shown = b.mem_bytes.expect("memory");
            assert!(
                usage.abs_diff(shown + inactive) <= 3,
                "{i}: {usage} vs {shown}+{inactive}"
            );
            assert!(b.mem_shmem.expect("shmem") < b.mem_file.expect("file"));
            // Counters grow, and their rates are figures.
            if b.network_mode.is_none() {
                assert!(b.net_rx_bytes > a.net_rx_bytes, "{i}");
                assert!(b.net_tx_bytes >= a.net_tx_bytes, "{i}");
                assert!(b.net_rx_bytes_per_sec.expect("rx rate") > 0.0, "{i}");
                assert!(b.net_tx_packets_per_sec.is_some(), "{i}");
            } else {
                assert_eq!(
                    (b.net_rx_bytes, b.net_rx_bytes_per_sec),
                    (None, None),
                    "{i}"
                );
            }
            assert!(b.block_write_bytes >= a.block_write_bytes);
            assert!(b.block_read_bytes_per_sec.is_some() && b.block_write_bytes_per_sec.is_some());
            assert!(b.pids.is_some() && b.restart_count.is_some() && b.state.is_some());
        }
        let has = |f: &dyn Fn(&ContainerStats) -> bool| second.iter().any(f);
        assert!(has(&|c| c.state == Some(ContainerState::Paused)));
        assert!(has(&|c| c.state == Some(ContainerState::Restarting)));
        assert!(has(&|c| c.health == Some(Health::Unhealthy)));
        assert!(has(&|c| c.health == Some(Health::Healthy)));
        assert!(has(&|c| c.health == Some(Health::Starting)));
        assert!(has(
            &|c| c.restart_count > Some(0) && c.exit_code == Some(137)
        ));
        assert!(has(&|c| c.compose_project.is_none()));
        assert!(has(&|c| c.cpu_limit_cores == Some(0.5)));
        assert!(has(&|c| c.cpu_limit_cores == Some(1.0)));
        assert!(has(&|c| c.cpu_limit_cores.is_none()));
        let web = second
            .iter()
            .filter(|c| c.compose_project.as_deref() == Some("stack-0"))
            .count();
        assert!(web >= 3, "a project groups several containers: {web}");
        // A limited container never shows more than its limit.
        for c in &second {
            if let (Some(cpu), Some(limit)) = (c.cpu_pct, c.cpu_limit_cores) {
                assert!(cpu <= limit * 100.0 + 0.5, "{}: {cpu} over {limit}", c.name);
            }
        }
        let exited = source.exited();
        assert_eq!(exited.len(), 2);
        assert!(exited
            .iter()
            .all(|c| c.state == Some(ContainerState::Exited)));
        assert_eq!(exited[1].exit_code, Some(1));
        let oom = SyntheticSource::new(60).exited();
        assert_eq!(
            (oom[2].exit_code, oom[2].oom_killed),
            (Some(137), Some(true))
        );
    }

    #[tokio::test]
    async fn cpu_is_the_generated_curve_to_two_decimals() {
        let mut source = SyntheticSource::new(1);
        std::thread::sleep(std::time::Duration::from_millis(20));
        let entry = source.sample().await.remove(0);
        // The generator at the tick's own time (within the 20 ms the test slept, container 0 has
        // phase 0): 50 × (1 + sin(t/7)) / 7 ≈ 7.14 + a little.
        let cpu = entry.cpu_pct.expect("cpu");
        assert!((7.14..7.3).contains(&cpu), "{cpu}");
    }
}
