//! Generated containers for benchmarking the dashboard without hundreds of real ones.
//! Selected only by `--synthetic-containers N`; reported as `collector:synthetic` and
//! `synthetic` in `agent_status.features`, so the dashboard labels the data as fake.

use std::time::Instant;

use dockscope_protocol::ContainerStats;

use super::process::round2;
use super::{EngineHealth, StatsSource};

/// N fake containers whose CPU and memory move smoothly and differently from each other.
#[derive(Debug)]
pub struct SyntheticSource {
    /// How many containers each batch holds.
    count: usize,
    /// Start of the run; figures are a function of time since then.
    started: Instant,
}

impl SyntheticSource {
    /// A source of `count` containers.
    pub fn new(count: usize) -> Self {
        Self {
            count,
            started: Instant::now(),
        }
    }
}

impl StatsSource for SyntheticSource {
    fn name(&self) -> &'static str {
        "synthetic"
    }

    async fn sample(&mut self) -> Vec<ContainerStats> {
        let t = self.started.elapsed().as_secs_f64();
        (0..self.count)
            .map(|i| {
                let phase = i as f64 * 0.37;
                let cpu = 50.0 * (1.0 + (t / 7.0 + phase).sin()) * (i % 7 + 1) as f64 / 7.0;
                let mem_mib = 20.0 + 200.0 * (1.0 + (t / 31.0 + phase).cos()) / 2.0;
                ContainerStats {
                    id: format!("{i:064x}"),
                    name: format!("synthetic-{i:03}"),
                    cpu_pct: Some(round2(cpu)),
                    mem_bytes: Some((mem_mib * 1_048_576.0) as u64),
                    mem_limit_bytes: Some(512 * 1_048_576),
                    uptime_secs: Some(t as u64 + i as u64 * 60),
                    image: Some("synthetic".to_owned()),
                }
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
