//! What one `/metrics` body costs to format (issue 13: a scrape every second ≤ 0.1 % of a
//! core at 100 containers, i.e. ≤ 1 ms per scrape all told). Samples the synthetic collector
//! (every figure the cgroup collector has, names, images and compose labels), hands each
//! sample to the agent's own [`Exporter`] as the sampler does, and asks it for the body as a
//! scrape does (formatted on tokio's blocking pool, into a buffer sized by the last body),
//! timing each on the process's CPU clock (both threads; nothing else runs meanwhile). The
//! HTTP response around the body is not in it: see docs/benchmarks.md.
//!
//! ```sh
//! cargo run --release -p dockscope-agent --example metrics_cost -- --samples 60
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a measuring tool")]
#![allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use dockscope_agent::metrics::{AgentFacts, Exporter, Format};
use dockscope_agent::sample::synthetic::SyntheticSource;
use dockscope_agent::sample::StatsSource;
use dockscope_agent::sampler::{LatestSample, Snapshot};
use dockscope_protocol::{AgentMetrics, ContainerStatsBatch};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let samples: usize = args
        .iter()
        .position(|a| a == "--samples")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(60);
    println!("| containers | samples | body | series lines | CPU per body, median | p99 | mean | % of a core at 1 scrape/s |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for containers in [100, 500] {
        let mut source = SyntheticSource::new(containers);
        let latest = Arc::new(LatestSample::default());
        let exporter = Exporter::new(latest.clone());
        let mut times = Vec::with_capacity(samples);
        let (mut bytes, mut lines) = (0, 0);
        for sequence in 0..samples as u64 {
            let listed = source.sample().await;
            latest.set(Snapshot {
                batch: ContainerStatsBatch {
                    agent_id: "bench".into(),
                    sent_at: Utc::now(),
                    sequence: Some(sequence + 1),
                    containers: listed,
                    agent_metrics: AgentMetrics::default(),
                    host: None,
                    exited: source.exited(),
                },
                counters: source.counters().to_vec(),
                engine_reachable: true,
            });
            let facts = AgentFacts {
                agent_id: "bench".into(),
                version: "v0.1.0".into(),
                revision: None,
                collector: "synthetic".into(),
                engine_reachable: true,
                clients: 1,
            };
            let cpu = process_cpu();
            let body = exporter.body(Format::OpenMetrics, || facts).await;
            times.push(process_cpu().saturating_sub(cpu));
            bytes = body.len();
            lines = String::from_utf8_lossy(&body)
                .lines()
                .filter(|l| !l.starts_with('#'))
                .count();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mean = times.iter().sum::<Duration>() / times.len() as u32;
        times.sort_unstable();
        let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
        println!(
            "| {containers} | {samples} | {:.0} KiB | {lines} | {:.0} µs | {:.0} µs | {:.0} µs | {:.3} % |",
            bytes as f64 / 1024.0,
            micros(at(0.5)),
            micros(at(0.99)),
            micros(mean),
            micros(mean) / 10_000.0
        );
    }
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// This process's CPU time (`CLOCK_PROCESS_CPUTIME_ID`), every thread's.
fn process_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}
