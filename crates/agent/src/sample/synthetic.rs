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
use super::figures::{container_stats, Clock, Figures, Reading};
use super::source::{EngineHealth, StatsSource};

/// N fake containers whose CPU and memory move smoothly and differently from each other.
#[derive(Debug)]
pub struct SyntheticSource {
    /// Start of the run; figures are a function of time since then.
    started: Instant,
    /// Each container: id, what a container set would know of it (container `i` started
    /// `i` minutes before the agent), and its previous CPU counter (0 ns at `started`).
    containers: Vec<(String, ContainerInfo, Reading)>,
}

impl SyntheticSource {
    /// A source of `count` containers.
    pub fn new(count: usize) -> Self {
        let started = Instant::now();
        let now = Utc::now();
        let containers = (0..count)
            .map(|i| {
                let info = ContainerInfo {
                    name: format!("synthetic-{i:03}"),
                    image: Some("synthetic".to_owned()),
                    started_at: Some(now - Duration::minutes(i as i64)),
                    ..ContainerInfo::default()
                };
                let baseline = Reading {
                    cpu_ns: Some(0),
                    clock: Some(Clock::Wall(started)),
                    at: Some(started),
                    ..Reading::default()
                };
                (format!("{i:064x}"), info, baseline)
            })
            .collect();
        Self {
            started,
            containers,
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
        self.containers
            .iter_mut()
            .enumerate()
            .map(|(i, (id, info, previous))| {
                let phase = i as f64 * 0.37;
                let cpu = 50.0 * (1.0 + (t / 7.0 + phase).sin()) * (i % 7 + 1) as f64 / 7.0;
                let mem_mib = 20.0 + 200.0 * (1.0 + (t / 31.0 + phase).cos()) / 2.0;
                let then = previous.at.unwrap_or(self.started);
                let wall_ns = at.duration_since(then).as_nanos() as f64;
                let used_ns = previous.cpu_ns.unwrap_or(0);
                let reading = Reading {
                    cpu_ns: Some(used_ns + (cpu / 100.0 * wall_ns).round() as u64),
                    clock: Some(Clock::Wall(at)),
                    at: Some(at),
                    usage: Some((mem_mib * 1_048_576.0) as u64),
                    limit: Some(512 * 1_048_576),
                    ..Reading::default()
                };
                let figures = Figures::between(Some(previous), &reading);
                *previous = reading;
                container_stats(id.clone(), info, figures, now)
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
