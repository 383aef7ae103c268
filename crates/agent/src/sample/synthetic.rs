//! Generated containers for benchmarking the dashboard without hundreds of real ones.
//! Selected only by `--synthetic-containers N`; reported as `collector:synthetic` and
//! `synthetic` in `agent_status.features`, so the dashboard labels the data as fake.
//!
//! Like every collector it fills a [`Reading`] per container and publishes through
//! [`container_stats`]: its CPU counters advance by exactly the generated percentage over the
//! wall-clock time since the previous tick (the first tick measures from the start).

use std::time::Instant;

use chrono::{Duration, Utc};
use dockscope_protocol::ContainerStats;

use super::containers::ContainerInfo;
use super::figures::{container_stats, Clock, CpuSample, Figures, Reading};
use super::source::{EngineHealth, StatsSource};

/// N fake containers whose CPU and memory move smoothly and differently from each other.
#[derive(Debug)]
pub struct SyntheticSource {
    /// Start of the run; figures are a function of time since then.
    started: Instant,
    /// Each container's previous CPU counter (starting at 0 ns at `started`).
    previous: Vec<CpuSample>,
}

impl SyntheticSource {
    /// A source of `count` containers.
    pub fn new(count: usize) -> Self {
        let started = Instant::now();
        Self {
            started,
            previous: vec![
                CpuSample {
                    used_ns: 0,
                    clock: Clock::Wall(started),
                };
                count
            ],
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
        self.previous
            .iter_mut()
            .enumerate()
            .map(|(i, previous)| {
                let phase = i as f64 * 0.37;
                let cpu = 50.0 * (1.0 + (t / 7.0 + phase).sin()) * (i % 7 + 1) as f64 / 7.0;
                let mem_mib = 20.0 + 200.0 * (1.0 + (t / 31.0 + phase).cos()) / 2.0;
                let Clock::Wall(then) = previous.clock else {
                    unreachable!("synthetic counters run on the wall clock")
                };
                let wall_ns = at.duration_since(then).as_nanos() as f64;
                let reading = Reading {
                    cpu_ns: Some(previous.used_ns + (cpu / 100.0 * wall_ns).round() as u64),
                    clock: Some(Clock::Wall(at)),
                    usage: Some((mem_mib * 1_048_576.0) as u64),
                    inactive_file: None,
                    limit: Some(512 * 1_048_576),
                    ..Reading::default()
                };
                let figures = Figures::between(Some(*previous), &reading);
                *previous = reading.cpu().unwrap_or(*previous);
                let uptime = t as i64 + i as i64 * 60;
                let info = ContainerInfo {
                    name: format!("synthetic-{i:03}"),
                    image: Some("synthetic".to_owned()),
                    started_at: Some(now - Duration::seconds(uptime)),
                    cgroup_parent: None,
                };
                container_stats(&format!("{i:064x}"), &info, figures, now)
            })
            .collect()
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
            let batch = source.sample().await;
            assert_eq!(batch.len(), 3);
            for (i, entry) in batch.iter().enumerate() {
                assert_eq!(entry.name, format!("synthetic-{i:03}"));
                assert_eq!(entry.id.len(), 64);
                let cpu = entry.cpu_pct.expect("a figure on every tick");
                let most = 100.0 * (i % 7 + 1) as f64 / 7.0;
                assert!((0.0..=most + 0.01).contains(&cpu), "{i}: {cpu}");
                let mem = entry.mem_bytes.expect("memory");
                assert!((20 * 1_048_576..=221 * 1_048_576).contains(&mem), "{mem}");
                assert_eq!(entry.mem_limit_bytes, Some(512 * 1_048_576));
                assert!(entry.uptime_secs.is_some_and(|u| u >= i as u64 * 60));
                assert_eq!(entry.image.as_deref(), Some("synthetic"));
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}
