//! What evaluating alert rules costs per batch (issue 12: ≤ 0.05 % of a core at 100
//! containers, i.e. ≤ 500 µs per one-second batch). Feeds an [`Evaluator`] the same kind of
//! batch the agent makes each second — every figure the rules read, a few containers
//! unhealthy, near their limit or restarting, a handful exited — for `--seconds` simulated
//! seconds, and times each `observe` on this thread's CPU clock.
//!
//! ```sh
//! cargo run --release -p dockscope-rules --example rules_cost -- --seconds 900
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a measuring tool")]
#![allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]

use std::time::Duration;

use dockscope_protocol::{
    AgentMetrics, ContainerState, ContainerStats, ContainerStatsBatch, Health, HostStats,
};
use dockscope_rules::{default_rules, Condition, Evaluator, Rule};

const MIB: u64 = 1_048_576;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seconds: i64 = args
        .iter()
        .position(|a| a == "--seconds")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(900);
    println!(
        "| containers | rules | batches | CPU per batch, median | p99 | max | mean | % of a core at 1 batch/s (mean) |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|");
    for containers in [100, 500, 1_000] {
        for (label, rules) in [("6 defaults", default_rules()), ("16 scoped", scoped())] {
            let mut times = run(containers, rules, seconds);
            times.sort_unstable();
            let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
            let mean = times.iter().sum::<Duration>() / times.len() as u32;
            println!(
                "| {containers} | {label} | {} | {:.1} µs | {:.1} µs | {:.1} µs | {:.1} µs | {:.4} % |",
                times.len(),
                micros(at(0.5)),
                micros(at(0.99)),
                micros(*times.last().unwrap()),
                micros(mean),
                micros(mean) / 10_000.0,
            );
        }
    }
}

/// The defaults plus ten rules narrowed by agent and name pattern, as a team would write.
fn scoped() -> Vec<Rule> {
    let mut rules = default_rules();
    for i in 0..10 {
        rules.push(Rule {
            enabled: true,
            agent: (i % 2 == 0).then(|| "bench".to_owned()),
            containers: format!("svc-{i}*-worker-?"),
            condition: if i % 2 == 0 {
                Condition::CpuAbove {
                    percent: 80.0,
                    for_secs: 30,
                }
            } else {
                Condition::MemoryAbove { percent: 75.0 }
            },
        });
    }
    rules
}

/// CPU time of each `observe`, one per simulated second.
fn run(containers: usize, rules: Vec<Rule>, seconds: i64) -> Vec<Duration> {
    let mut evaluator = Evaluator::new(rules);
    let mut times = Vec::with_capacity(seconds as usize);
    let mut fired = 0usize;
    for second in 0..seconds {
        let batch = batch(containers, second);
        let cpu = thread_cpu();
        let changes = evaluator.observe("bench", &batch, second * 1_000);
        times.push(thread_cpu().saturating_sub(cpu));
        fired += changes.len();
    }
    assert!(fired > 0, "the batches are meant to fire and clear alerts");
    times
}

fn batch(containers: usize, second: i64) -> ContainerStatsBatch {
    let s = second as u64;
    let stats = |i: usize| {
        let i64_ = i as u64;
        ContainerStats {
            id: format!("{i:064x}"),
            name: format!("svc-{}-worker-{}", i % 37, i % 10),
            cpu_pct: Some(((s * 7 + i64_ * 13) % 120) as f64),
            cpu_limit_cores: i.is_multiple_of(3).then_some(1.0),
            mem_bytes: Some((40 + (s + i64_) % 25) * MIB),
            mem_limit_bytes: Some(64 * MIB),
            state: Some(ContainerState::Running),
            health: Some(if (s / 20 + i64_).is_multiple_of(17) {
                Health::Unhealthy
            } else {
                Health::Healthy
            }),
            // Every 25th container restarts every 10 s.
            restart_count: Some(if i.is_multiple_of(25) { s / 10 } else { 0 }),
            oom_kills: Some(0),
            ..ContainerStats::default()
        }
    };
    let exited = (0..containers / 20)
        .map(|i| ContainerStats {
            id: format!("dead{i:060x}"),
            name: format!("job-{i}"),
            state: Some(ContainerState::Exited),
            exit_code: Some(if i % 2 == 0 { 137 } else { 0 }),
            oom_killed: Some(i % 4 == 0),
            ..ContainerStats::default()
        })
        .collect();
    ContainerStatsBatch {
        agent_id: "bench".into(),
        sent_at: chrono::DateTime::default(),
        sequence: Some(s),
        containers: (0..containers).map(stats).collect(),
        agent_metrics: AgentMetrics::default(),
        host: Some(HostStats {
            cores: Some(2),
            ..HostStats::default()
        }),
        exited,
    }
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// This thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`): what the evaluation costs the host,
/// whatever else the machine is doing.
fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}
