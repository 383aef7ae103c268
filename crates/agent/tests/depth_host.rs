//! The host strip's figures (`container_stats_batch.host`) against what this test reads itself
//! from `/proc`, `df` and the engine at the same moment: every figure within 5 % (CPU and load
//! within a few points, since both move between two reads).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{connect, next_batch, Agent};
use dockscope_protocol::HostStats;

const SECOND: Duration = Duration::from_secs(1);

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn meminfo_kib(field: &str) -> u64 {
    read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/meminfo"))
}

/// (busy, total) ticks of the whole host, the test's own reading of `/proc/stat`.
fn cpu_ticks() -> (u64, u64) {
    let stat = read("/proc/stat");
    let fields: Vec<u64> = stat
        .lines()
        .next()
        .expect("cpu line")
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|f| f.parse().expect("number"))
        .collect();
    let total: u64 = fields.iter().sum();
    (total - fields[3] - fields[4], total)
}

fn within(got: f64, want: f64, share: f64) -> bool {
    (got - want).abs() <= want.abs() * share
}

#[tokio::test(flavor = "multi_thread")]
async fn host_figures_match_proc_df_and_the_engine() {
    let agent = Agent::start(&[]);
    let mut ws = connect(&agent.url()).await;
    // The first batch has no CPU interval yet; the data root is asked in the background.
    let mut host = HostStats::default();
    let deadline = Instant::now() + 10 * SECOND;
    while host.cpu_pct.is_none() || host.disk_path.is_none() {
        assert!(
            Instant::now() < deadline,
            "no complete host figures: {host:?}"
        );
        host = next_batch(&mut ws, 3 * SECOND)
            .await
            .0
            .host
            .expect("our agent sends host figures");
    }

    // Memory, swap, uptime, cores, load: read right after the batch.
    let total = meminfo_kib("MemTotal") * 1024;
    let used = total - meminfo_kib("MemAvailable") * 1024;
    assert_eq!(host.mem_total_bytes, Some(total));
    let got_used = host.mem_used_bytes.expect("mem used") as f64;
    assert!(
        within(got_used, used as f64, 0.05),
        "used {got_used} vs /proc {used}"
    );
    let swap_total = meminfo_kib("SwapTotal") * 1024;
    assert_eq!(host.swap_total_bytes, Some(swap_total));
    assert!(host.swap_used_bytes.expect("swap used") <= swap_total);
    let uptime: f64 = read("/proc/uptime")
        .split_whitespace()
        .next()
        .and_then(|u| u.parse().ok())
        .expect("uptime");
    let got_uptime = host.uptime_secs.expect("uptime") as f64;
    assert!(
        (got_uptime - uptime).abs() <= 3.0,
        "{got_uptime} vs {uptime}"
    );
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get() as u32);
    assert_eq!(host.cores, Some(cores), "online CPUs");
    let load: Vec<f64> = read("/proc/loadavg")
        .split_whitespace()
        .take(3)
        .map(|l| l.parse().expect("load"))
        .collect();
    for (got, want) in [host.load_1, host.load_5, host.load_15].iter().zip(&load) {
        let got = got.expect("load");
        assert!(
            (got - want).abs() <= 0.05 + want * 0.05,
            "load {got} vs {want}"
        );
    }

    // Disk: the engine's data root, measured by df.
    let root = String::from_utf8(
        common::docker_command()
            .args(["info", "-f", "{{.DockerRootDir}}"])
            .output()
            .expect("docker info")
            .stdout,
    )
    .expect("utf-8");
    assert_eq!(host.disk_path.as_deref(), Some(root.trim()));
    let df = String::from_utf8(
        Command::new("df")
            .args(["-B1", "--output=size,used", root.trim()])
            .output()
            .expect("df")
            .stdout,
    )
    .expect("utf-8");
    let sizes: Vec<f64> = df
        .lines()
        .nth(1)
        .expect("df row")
        .split_whitespace()
        .map(|n| n.parse().expect("bytes"))
        .collect();
    assert_eq!(host.disk_total_bytes.map(|b| b as f64), Some(sizes[0]));
    let got_disk = host.disk_used_bytes.expect("disk used") as f64;
    assert!(
        within(got_disk, sizes[1], 0.05),
        "disk used {got_disk} vs df {}",
        sizes[1]
    );

    // CPU: the mean of five batches against the test's own Δ /proc/stat over the same five
    // seconds, with a busy loop so the figure is not just idle noise.
    let _busy = common::Container::run("host-busy", &[], &["sh", "-c", "while :; do :; done"]);
    next_batch(&mut ws, 3 * SECOND).await;
    let before = cpu_ticks();
    let mut sum = 0.0;
    for _ in 0..5 {
        sum += next_batch(&mut ws, 3 * SECOND)
            .await
            .0
            .host
            .and_then(|h| h.cpu_pct)
            .expect("cpu");
    }
    let after = cpu_ticks();
    let want = (after.0 - before.0) as f64 / (after.1 - before.1) as f64 * 100.0;
    let got = sum / 5.0;
    assert!(
        want > 100.0 / f64::from(cores) * 0.8,
        "the busy loop shows: {want}"
    );
    assert!(
        (got - want).abs() <= 5.0,
        "host CPU {got:.1} % vs /proc/stat {want:.1} %"
    );
}
