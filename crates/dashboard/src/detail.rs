//! The detail panel of the selected container, as display data: CPU with its limit and
//! throttling, memory as a stacked breakdown against the limit, network and block I/O,
//! PIDs, health and the last exit, and the health log once the agent answers. Pure: `frame.rs`
//! builds a [`DetailView`] from the model, `view/detail.rs` draws it.

use dockscope_protocol::{ContainerHealth, ContainerStats};

use crate::format;
use crate::ingest::IoSample;
use crate::present::{self, Points};
use crate::rows::{health_word, scaled_cpu, CpuScale};

/// One segment of the memory bar.
#[derive(Debug, Clone, PartialEq)]
pub struct MemPart {
    /// `data-part` and CSS class: `anon`, `cache`, `shmem`, `kernel`, `inactive`.
    pub key: &'static str,
    pub label: &'static str,
    pub bytes: String,
    /// Width in percent of the limit (0–100 in all).
    pub percent: f64,
}

/// What the detail panel shows besides its charts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DetailView {
    /// `"12.0 % (core)"` and what it is against.
    pub cpu: String,
    /// `"throttled 120 ms/s (3.0 periods/s)"`, or `"not throttled"`, or unknown.
    pub throttling: String,
    /// Segments of usage, in drawing order; empty when the agent sends no breakdown.
    pub memory: Vec<MemPart>,
    /// `"122 MiB of 512 MiB (docker stats)"`.
    pub memory_total: String,
    /// `"↓ 1.50 KiB/s, 3.00 GiB in all (2 packets/s)"`.
    pub net_rx: String,
    pub net_tx: String,
    pub block_read: String,
    pub block_write: String,
    pub pids: String,
    /// `"unhealthy"`, or `None` without a health check.
    pub health: Option<String>,
    /// `"exit code 137, OOM killed"`, `"restarted 3 times"`: the last run's end.
    pub last_exit: String,
}

/// Writes what the panel shows of `stats` (`stopped`: from `batch.exited`).
pub fn detail_view(
    stats: &ContainerStats,
    stopped: bool,
    scale: CpuScale,
    host_cores: Option<u32>,
) -> DetailView {
    let (cpu, note) = scaled_cpu(stats.cpu_pct, scale, host_cores, stats.cpu_limit_cores);
    let mut cpu_text = format!("{} ({})", format::percent(cpu), scale.as_str());
    if let Some(note) = note {
        cpu_text.push_str(&format!(" — {note}"));
    }
    let throttling = match (
        stats.cpu_throttled_ms_per_sec,
        stats.cpu_throttled_periods_per_sec,
    ) {
        (Some(ms), _) if !ms.is_finite() || ms < 0.0 => UNKNOWN.to_owned(),
        (Some(ms), periods) if ms > 0.0 => {
            let periods = periods
                .filter(|p| p.is_finite() && *p >= 0.0)
                .map(|p| format!(" ({p:.1} periods/s)"))
                .unwrap_or_default();
            format!("throttled {:.0} ms/s{periods}", ms.min(1e6))
        }
        (Some(_), _) => "not throttled".to_owned(),
        (None, _) => UNKNOWN.to_owned(),
    };
    DetailView {
        cpu: cpu_text,
        throttling,
        memory: memory_parts(stats),
        memory_total: match (stats.mem_bytes, stats.mem_limit_bytes) {
            (Some(used), Some(limit)) => format!(
                "{} of {} (as docker stats)",
                format::bytes(used),
                format::bytes(limit)
            ),
            (Some(used), None) => format!("{} (as docker stats)", format::bytes(used)),
            _ => UNKNOWN.to_owned(),
        },
        net_rx: io(
            "↓",
            stats.net_rx_bytes_per_sec,
            stats.net_rx_bytes,
            stats.net_rx_packets_per_sec,
        ),
        net_tx: io(
            "↑",
            stats.net_tx_bytes_per_sec,
            stats.net_tx_bytes,
            stats.net_tx_packets_per_sec,
        ),
        block_read: io(
            "read",
            stats.block_read_bytes_per_sec,
            stats.block_read_bytes,
            None,
        ),
        block_write: io(
            "written",
            stats.block_write_bytes_per_sec,
            stats.block_write_bytes,
            None,
        ),
        pids: match (stats.pids, stats.pids_limit) {
            (Some(p), Some(l)) => format!("{} of at most {}", format::count(p), format::count(l)),
            (Some(p), None) => format::count(p),
            (None, _) => UNKNOWN.to_owned(),
        },
        health: stats.health.map(|h| health_word(h).to_owned()),
        last_exit: last_exit(stats, stopped),
    }
}

const UNKNOWN: &str = "–";

fn rate(v: Option<f64>) -> Option<String> {
    v.filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| format!("{}/s", format::bytes(v.min(u64::MAX as f64) as u64)))
}

fn io(word: &str, per_sec: Option<f64>, total: Option<u64>, packets: Option<f64>) -> String {
    let mut out = format!(
        "{word} {}",
        rate(per_sec).unwrap_or_else(|| UNKNOWN.to_owned())
    );
    if let Some(total) = total {
        out.push_str(&format!(", {} in all", format::bytes(total)));
    }
    if let Some(p) = packets.filter(|p| p.is_finite() && *p >= 0.0) {
        out.push_str(&format!(" ({p:.0} packets/s)"));
    }
    out
}

fn last_exit(stats: &ContainerStats, stopped: bool) -> String {
    let mut parts = Vec::new();
    match (stats.exit_code, stopped) {
        (Some(code), true) => parts.push(format!("exited with code {code}")),
        (Some(0), false) | (None, false) => {}
        (Some(code), false) => parts.push(format!("last run exited with code {code}")),
        (None, true) => parts.push("exited".to_owned()),
    }
    if stats.oom_killed == Some(true) {
        parts.push("OOM killed".to_owned());
    }
    if let Some(kills) = stats.oom_kills.filter(|&k| k > 0) {
        parts.push(format!("{} OOM kills in its cgroup", format::count(kills)));
    }
    match stats.restart_count {
        Some(0) | None => {}
        Some(1) => parts.push("restarted once".to_owned()),
        Some(n) => parts.push(format!("restarted {} times", format::count(n))),
    }
    if parts.is_empty() {
        "no exit since it started".to_owned()
    } else {
        parts.join(", ")
    }
}

/// The memory bar: anonymous, page cache (less shared memory and the inactive part),
/// shared memory, kernel, and the inactive cache `docker stats` leaves out — their sum is the
/// cgroup's usage — each in percent of the limit. Empty without a breakdown.
pub fn memory_parts(stats: &ContainerStats) -> Vec<MemPart> {
    let (Some(anon), Some(file)) = (stats.mem_anon, stats.mem_file) else {
        return Vec::new();
    };
    let shmem = stats.mem_shmem.unwrap_or(0).min(file);
    let inactive = stats.mem_inactive_file.unwrap_or(0).min(file - shmem);
    let cache = file - shmem - inactive;
    let kernel = stats.mem_kernel.unwrap_or(0);
    let usage = anon.saturating_add(file).saturating_add(kernel);
    let limit = stats
        .mem_limit_bytes
        .filter(|&l| l > 0)
        .unwrap_or(usage.max(1));
    // The whole bar is the limit; a usage over it (a stale limit) is scaled into the bar.
    let whole = limit.max(usage) as f64;
    let part = |key, label, bytes: u64| MemPart {
        key,
        label,
        bytes: format::bytes(bytes),
        percent: (bytes as f64 / whole * 100.0).clamp(0.0, 100.0),
    };
    let mut parts = vec![
        part("anon", "anonymous", anon),
        part("cache", "page cache", cache),
        part("shmem", "shared memory", shmem),
    ];
    if stats.mem_kernel.is_some() {
        parts.push(part("kernel", "kernel", kernel));
    }
    parts.push(part(
        "inactive",
        "inactive file cache (excluded by docker stats)",
        inactive,
    ));
    parts
}

/// The I/O chart's series in KiB/s: received, sent, read, written; unknown figures left out,
/// at most [`present::CHART_POINTS`] points each.
pub fn io_series<'a>(history: impl Iterator<Item = &'a IoSample>) -> Vec<(&'static str, Points)> {
    let mut series: [(&'static str, Points); 4] = [
        ("Net ↓ KiB/s", Vec::new()),
        ("Net ↑ KiB/s", Vec::new()),
        ("Disk read KiB/s", Vec::new()),
        ("Disk write KiB/s", Vec::new()),
    ];
    for s in history {
        for (i, v) in [s.net_rx, s.net_tx, s.block_read, s.block_write]
            .into_iter()
            .enumerate()
        {
            if v.is_finite() && v >= 0.0 {
                let kib = (f64::from(v) / 1024.0 * 10.0).round() / 10.0;
                series[i].1.push(vec![s.t_ms, kib]);
            }
        }
    }
    series
        .into_iter()
        .map(|(name, points)| (name, present::downsample(points, present::CHART_POINTS)))
        .collect()
}

/// The health log as the panel writes it: one line per probe, newest last.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthLogView {
    pub status: String,
    pub probes: Vec<String>,
}

/// How long the panel waits for an answer before saying the agent does not report health
/// logs (an agent of an older contract ignores the request).
pub const HEALTH_LOG_TIMEOUT_MS: f64 = 5_000.0;

/// Says the agent does not answer health-log requests.
pub const NO_HEALTH_LOGS: &str = "this agent does not report health logs";

/// The answer's text.
pub fn health_log_view(answer: &ContainerHealth) -> HealthLogView {
    let mut status = match answer.health {
        Some(h) => health_word(h).to_owned(),
        None => "no health check".to_owned(),
    };
    if let Some(streak) = answer.failing_streak.filter(|&s| s > 0) {
        status.push_str(&format!(", {} failing in a row", format::count(streak)));
    }
    if let Some(error) = &answer.error {
        status.push_str(&format!(" ({error})"));
    }
    let probes = answer
        .log
        .iter()
        .map(|p| {
            let output = p.output.trim();
            format!(
                "{} exit {}{}{}",
                p.start.format("%H:%M:%S"),
                p.exit_code,
                if output.is_empty() { "" } else { ": " },
                output
            )
        })
        .collect();
    HealthLogView { status, probes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dockscope_protocol::{ContainerState, Health};

    const MIB: u64 = 1 << 20;

    fn stats() -> ContainerStats {
        ContainerStats {
            id: "c".into(),
            name: "db".into(),
            cpu_pct: Some(80.0),
            cpu_limit_cores: Some(2.0),
            cpu_throttled_ms_per_sec: Some(125.4),
            cpu_throttled_periods_per_sec: Some(3.0),
            mem_bytes: Some(80 * MIB),
            mem_limit_bytes: Some(200 * MIB),
            mem_anon: Some(50 * MIB),
            mem_file: Some(40 * MIB),
            mem_shmem: Some(10 * MIB),
            mem_inactive_file: Some(20 * MIB),
            mem_kernel: Some(10 * MIB),
            net_rx_bytes_per_sec: Some(1536.0),
            net_rx_bytes: Some(3 << 30),
            net_rx_packets_per_sec: Some(2.0),
            pids: Some(5),
            pids_limit: Some(100),
            health: Some(Health::Unhealthy),
            restart_count: Some(3),
            exit_code: Some(137),
            oom_killed: Some(true),
            ..ContainerStats::default()
        }
    }

    #[test]
    fn the_panel_writes_every_figure() {
        let d = detail_view(&stats(), false, CpuScale::Limit, Some(4));
        assert_eq!(d.cpu, "40.0 % (limit) — limit 2 CPUs");
        assert_eq!(d.throttling, "throttled 125 ms/s (3.0 periods/s)");
        assert_eq!(d.memory_total, "80.0 MiB of 200 MiB (as docker stats)");
        assert_eq!(d.net_rx, "↓ 1.50 KiB/s, 3.00 GiB in all (2 packets/s)");
        assert_eq!(d.net_tx, "↑ –");
        assert_eq!(d.pids, "5 of at most 100");
        assert_eq!(d.health.as_deref(), Some("unhealthy"));
        assert_eq!(
            d.last_exit,
            "last run exited with code 137, OOM killed, restarted 3 times"
        );
        let stopped = ContainerStats {
            state: Some(ContainerState::Exited),
            exit_code: Some(1),
            oom_killed: Some(false),
            restart_count: None,
            ..ContainerStats::default()
        };
        let d = detail_view(&stopped, true, CpuScale::Core, None);
        assert_eq!(d.last_exit, "exited with code 1");
        assert_eq!((d.cpu.as_str(), d.throttling.as_str()), ("– (core)", "–"));
        assert!(d.memory.is_empty());
        let running = ContainerStats {
            exit_code: Some(0),
            cpu_throttled_ms_per_sec: Some(0.0),
            ..ContainerStats::default()
        };
        let d = detail_view(&running, false, CpuScale::Core, None);
        assert_eq!(d.last_exit, "no exit since it started");
        assert_eq!(d.throttling, "not throttled");
    }

    #[test]
    fn memory_parts_sum_to_usage_against_the_limit() {
        let parts = memory_parts(&stats());
        let shown: Vec<(&str, &str, f64)> = parts
            .iter()
            .map(|p| (p.key, p.bytes.as_str(), p.percent))
            .collect();
        // usage 100 MiB = anon 50 + file 40 (shmem 10, inactive 20, so cache 10) + kernel 10.
        assert_eq!(
            shown,
            [
                ("anon", "50.0 MiB", 25.0),
                ("cache", "10.0 MiB", 5.0),
                ("shmem", "10.0 MiB", 5.0),
                ("kernel", "10.0 MiB", 5.0),
                ("inactive", "20.0 MiB", 10.0),
            ]
        );
        assert!(parts[4].label.contains("excluded by docker stats"));
        // Parts that do not add up (shmem and inactive over the cache) are clamped, and a
        // usage over the limit fills the bar, never more.
        let odd = ContainerStats {
            mem_anon: Some(u64::MAX),
            mem_file: Some(10),
            mem_shmem: Some(50),
            mem_inactive_file: Some(50),
            mem_kernel: None,
            mem_limit_bytes: Some(1),
            ..stats()
        };
        let parts = memory_parts(&odd);
        assert_eq!(parts.len(), 4, "no kernel part without a kernel figure");
        let total: f64 = parts.iter().map(|p| p.percent).sum();
        assert!((99.0..=100.0 + 1e-9).contains(&total), "{total}");
        assert!(parts.iter().all(|p| p.percent.is_finite()));
    }

    #[test]
    fn io_series_skip_unknown_rates() {
        let samples = [
            IoSample {
                t_ms: 1.0,
                net_rx: 2048.0,
                net_tx: f32::NAN,
                block_read: 0.0,
                block_write: -1.0,
            },
            IoSample {
                t_ms: 2.0,
                net_rx: 512.0,
                net_tx: 1024.0,
                block_read: f32::INFINITY,
                block_write: 0.0,
            },
        ];
        let series = io_series(samples.iter());
        let points: Vec<usize> = series.iter().map(|(_, p)| p.len()).collect();
        assert_eq!(points, [2, 1, 1, 1]);
        assert_eq!(series[0].1, vec![vec![1.0, 2.0], vec![2.0, 0.5]]);
        assert_eq!(series[1].1, vec![vec![2.0, 1.0]]);
    }

    #[test]
    fn the_health_log_reads_newest_last() {
        let answer: ContainerHealth = serde_json::from_str(
            r#"{"agent_id":"h","sent_at":"2026-12-01T10:00:05Z","id":"c","health":"unhealthy",
            "failing_streak":3,"log":[
             {"start":"2026-12-01T10:00:05Z","exit_code":1,"output":"curl: (7) refused\n"},
             {"start":"2026-12-01T10:00:05Z","exit_code":0,"output":""}]}"#,
        )
        .expect("a health answer");
        let view = health_log_view(&answer);
        assert_eq!(view.status, "unhealthy, 3 failing in a row");
        assert_eq!(
            view.probes,
            ["10:00:05 exit 1: curl: (7) refused", "10:00:05 exit 0"]
        );
        let none = health_log_view(&ContainerHealth {
            health: None,
            failing_streak: None,
            log: Vec::new(),
            error: Some("no such container".into()),
            ..answer
        });
        assert_eq!(none.status, "no health check (no such container)");
    }
}
