//! The host's own figures for `container_stats_batch.host`, read once a second beside the
//! containers: CPU busy from `/proc/stat` (Δ busy / Δ total over all CPUs, as `top` shows it),
//! load from `/proc/loadavg`, memory and swap from `/proc/meminfo` (used = `MemTotal −
//! MemAvailable`, as `free`), uptime from `/proc/uptime`, and the size and use of the file
//! system holding the Docker data root (`statvfs`, as `df`).
//!
//! These files are host-wide even inside a container (the kernel does not namespace them), so
//! an agent in a container reports the host. The data root is the engine's `DockerRootDir`,
//! found once by [`DataRoot`] in the background from a container's inspect; a containerised agent sees it only where it
//! is mounted (otherwise the disk figures are absent).
//!
//! Each tick reads four small files: about 2 µs of system time on a 2-core host.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::query_parameters::ListContainersOptions;
use dockscope_protocol::HostStats;
use tracing::debug;

use super::figures::round2;
use crate::engine::{client, Endpoint, CALL_TIMEOUT};

/// Where the engine keeps its data when it has not said otherwise.
pub const DEFAULT_DATA_ROOT: &str = "/var/lib/docker";
/// How often the engine is asked for its data root until it answers.
const ASK_AGAIN: Duration = Duration::from_secs(30);

/// CPU time counters of the whole host (the first `cpu` line of `/proc/stat`), in ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuTimes {
    /// Every state except idle and iowait.
    pub busy: u64,
    /// Every state (`guest` time is already inside `user`, so it is not added again).
    pub total: u64,
}

/// Reads the host figures; keeps the previous CPU counters for the busy percentage.
#[derive(Debug)]
pub struct HostMeter {
    /// `/proc` (a test points it at fixtures).
    proc_root: PathBuf,
    /// The data root whose file system the disk figures describe.
    data_root: DataRoot,
    /// The previous `/proc/stat` counters.
    previous: Option<CpuTimes>,
}

impl HostMeter {
    /// A meter reading `proc_root`, with the disk figures of `data_root`'s file system.
    pub fn new(proc_root: impl Into<PathBuf>, data_root: DataRoot) -> Self {
        Self {
            proc_root: proc_root.into(),
            data_root,
            previous: None,
        }
    }

    /// The host's figures now; each one that cannot be read is `None`.
    pub fn measure(&mut self) -> HostStats {
        let read = |name: &str| std::fs::read_to_string(self.proc_root.join(name)).ok();
        let stat = read("stat");
        let times = stat.as_deref().and_then(cpu_times);
        let cpu_pct = self
            .previous
            .zip(times)
            .and_then(|(before, after)| busy_percent(before, after))
            .map(round2);
        if times.is_some() {
            self.previous = times;
        }
        let load = read("loadavg").as_deref().and_then(load_average);
        let memory = read("meminfo").map(|m| Memory::of(&m)).unwrap_or_default();
        let path = self.data_root.path();
        let disk = disk_usage(&path);
        HostStats {
            cores: stat.as_deref().and_then(online_cpus),
            cpu_pct,
            load_1: load.map(|l| l[0]),
            load_5: load.map(|l| l[1]),
            load_15: load.map(|l| l[2]),
            mem_total_bytes: memory.total,
            mem_used_bytes: memory
                .total
                .zip(memory.available)
                .map(|(t, a)| t.saturating_sub(a)),
            swap_total_bytes: memory.swap_total,
            swap_used_bytes: memory
                .swap_total
                .zip(memory.swap_free)
                .map(|(t, f)| t.saturating_sub(f)),
            uptime_secs: read("uptime").as_deref().and_then(uptime_secs),
            disk_path: disk.map(|_| path.display().to_string()),
            disk_total_bytes: disk.map(|(total, _)| total),
            disk_used_bytes: disk.map(|(_, used)| used),
        }
    }
}

/// The engine's data root (`docker info` `DockerRootDir`), asked in the background until it
/// answers; [`DEFAULT_DATA_ROOT`] meanwhile.
#[derive(Debug, Clone)]
pub struct DataRoot {
    /// What the engine said, once it has.
    known: Arc<Mutex<Option<PathBuf>>>,
}

impl DataRoot {
    /// A fixed data root (tests, and an agent with no engine: synthetic).
    pub fn fixed(path: impl Into<PathBuf>) -> Self {
        Self {
            known: Arc::new(Mutex::new(Some(path.into()))),
        }
    }

    /// Asks the engine at `endpoint` in a background task (inside the runtime), every 30 s
    /// until it answers once.
    pub fn ask(endpoint: Endpoint) -> Self {
        let known = Arc::new(Mutex::new(None));
        let slot = known.clone();
        tokio::spawn(async move {
            loop {
                match ask_once(&endpoint).await {
                    Some(path) => {
                        debug!(path = %path.display(), "docker data root");
                        *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(path);
                        return;
                    }
                    None => tokio::time::sleep(ASK_AGAIN).await,
                }
            }
        });
        Self { known }
    }

    /// The data root as known now.
    pub fn path(&self) -> PathBuf {
        self.known
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_ROOT))
    }
}

/// The data root from one container's inspect: its `HostnamePath` is
/// `<DockerRootDir>/containers/<id>/hostname` on every storage driver. Not `docker info`,
/// which the least-privilege socket proxy (`deploy/socket-proxy`) refuses on purpose; these two
/// calls are ones the agent makes anyway. `None` when the engine does not answer or has no
/// container yet.
async fn ask_once(endpoint: &Endpoint) -> Option<PathBuf> {
    let docker = client(endpoint).ok()?;
    let options = ListContainersOptions {
        all: true,
        limit: Some(1),
        ..ListContainersOptions::default()
    };
    let listed = tokio::time::timeout(CALL_TIMEOUT, docker.list_containers(Some(options)))
        .await
        .ok()?
        .ok()?;
    let id = listed.into_iter().next()?.id?;
    let inspect = tokio::time::timeout(CALL_TIMEOUT, docker.inspect_container(&id, None))
        .await
        .ok()?
        .ok()?;
    data_root_of(Path::new(&inspect.hostname_path?))
}

/// `<root>/containers/<id>/hostname` → `<root>`.
pub fn data_root_of(hostname_path: &Path) -> Option<PathBuf> {
    let containers = hostname_path.parent()?.parent()?;
    (containers.file_name()? == "containers").then(|| containers.parent().map(Path::to_path_buf))?
}

/// The first `cpu` line of `/proc/stat`: `cpu user nice system idle iowait irq softirq steal
/// guest guest_nice`. Fewer than four numbers is not a reading.
pub fn cpu_times(stat: &str) -> Option<CpuTimes> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    if fields.len() < 4 {
        return None;
    }
    // user nice system idle iowait irq softirq steal (guest, guest_nice are inside user, nice)
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields[3] + fields.get(4).copied().unwrap_or(0);
    Some(CpuTimes {
        busy: total.saturating_sub(idle),
        total,
    })
}

/// Percent of the whole host busy between two readings; `None` when no tick passed or the
/// counters went backwards.
pub fn busy_percent(before: CpuTimes, after: CpuTimes) -> Option<f64> {
    let total = after.total.checked_sub(before.total).filter(|&t| t > 0)?;
    let busy = after.busy.saturating_sub(before.busy).min(total);
    Some(busy as f64 / total as f64 * 100.0)
}

/// Online CPUs: the `cpuN` lines of `/proc/stat`.
pub fn online_cpus(stat: &str) -> Option<u32> {
    let n = stat
        .lines()
        .filter(|l| {
            l.strip_prefix("cpu")
                .and_then(|rest| rest.split(' ').next())
                .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
        })
        .count();
    u32::try_from(n).ok().filter(|&n| n > 0)
}

/// The three load averages of `/proc/loadavg`.
pub fn load_average(text: &str) -> Option<[f64; 3]> {
    let mut fields = text.split_whitespace().map(|f| f.parse::<f64>().ok());
    Some([fields.next()??, fields.next()??, fields.next()??])
}

/// Seconds since boot, the first figure of `/proc/uptime`.
pub fn uptime_secs(text: &str) -> Option<u64> {
    let secs: f64 = text.split_whitespace().next()?.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then_some(secs as u64)
}

/// The `/proc/meminfo` fields the host strip needs, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Memory {
    /// `MemTotal`.
    pub total: Option<u64>,
    /// `MemAvailable`.
    pub available: Option<u64>,
    /// `SwapTotal`.
    pub swap_total: Option<u64>,
    /// `SwapFree`.
    pub swap_free: Option<u64>,
}

impl Memory {
    /// Reads the four fields (`Name:   1234 kB`).
    pub fn of(meminfo: &str) -> Self {
        let field = |name: &str| {
            meminfo
                .lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
                .and_then(|kib| kib.checked_mul(1024))
        };
        Self {
            total: field("MemTotal"),
            available: field("MemAvailable"),
            swap_total: field("SwapTotal"),
            swap_free: field("SwapFree"),
        }
    }
}

/// (size, used) of the file system holding `path`, as `df` computes them: blocks × fragment
/// size, and used = size − free blocks.
pub fn disk_usage(path: &Path) -> Option<(u64, u64)> {
    let stat = rustix::fs::statvfs(path).ok()?;
    let size = stat.f_blocks.checked_mul(stat.f_frsize)?;
    let free = stat.f_bfree.checked_mul(stat.f_frsize)?;
    Some((size, size.saturating_sub(free)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "cpu  100 5 50 800 20 3 2 0 7 0\ncpu0 50 2 25 400 10 1 1 0 0 0\n\
                        cpu1 50 3 25 400 10 2 1 0 0 0\nintr 1 2 3\nctxt 99\ncpufreq 1\n";

    #[test]
    fn cpu_times_table() {
        let cases = [
            // busy = user+nice+system+irq+softirq+steal; guest is inside user already
            (STAT, Some((160, 980))),
            ("cpu  1 2 3 4\n", Some((6, 10))),
            ("cpu  1 2 3\n", None),
            ("cpu  1 x 3 4\n", None),
            ("cpu0 1 2 3 4\n", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(cpu_times(text).map(|t| (t.busy, t.total)), want, "{text:?}");
        }
    }

    #[test]
    fn busy_percent_table() {
        let t = |busy, total| CpuTimes { busy, total };
        let cases = [
            (t(100, 1_000), t(150, 1_200), Some(25.0)),
            (t(100, 1_000), t(100, 1_100), Some(0.0)),
            (t(100, 1_000), t(100, 1_000), None),
            (t(100, 1_000), t(50, 900), None),
            // busy can not exceed the interval even if the counters disagree
            (t(0, 1_000), t(500, 1_100), Some(100.0)),
        ];
        for (before, after, want) in cases {
            assert_eq!(busy_percent(before, after), want, "{before:?} {after:?}");
        }
    }

    #[test]
    fn data_root_from_a_hostname_path() {
        let cases = [
            (
                "/var/lib/docker/containers/abc/hostname",
                Some("/var/lib/docker"),
            ),
            (
                "/srv/docker-data/containers/abc/hostname",
                Some("/srv/docker-data"),
            ),
            ("/var/lib/docker/other/abc/hostname", None),
            ("hostname", None),
        ];
        for (path, want) in cases {
            assert_eq!(
                data_root_of(Path::new(path)),
                want.map(PathBuf::from),
                "{path}"
            );
        }
    }

    #[test]
    fn small_file_parsers() {
        assert_eq!(online_cpus(STAT), Some(2));
        assert_eq!(online_cpus("cpu  1 2 3 4\n"), None);
        assert_eq!(
            load_average("0.42 0.31 0.20 2/345 6789\n"),
            Some([0.42, 0.31, 0.2])
        );
        assert_eq!(load_average("0.42 0.31\n"), None);
        assert_eq!(load_average("a b c\n"), None);
        assert_eq!(uptime_secs("86400.57 170000.10\n"), Some(86_400));
        assert_eq!(uptime_secs("-1 0\n"), None);
        assert_eq!(uptime_secs(""), None);
        let memory = Memory::of(
            "MemTotal:       24684084 kB\nMemFree: 1 kB\nMemAvailable:   20000000 kB\n\
             SwapCached: 0 kB\nSwapTotal:       1024 kB\nSwapFree:         512 kB\n",
        );
        assert_eq!(
            memory,
            Memory {
                total: Some(24_684_084 * 1024),
                available: Some(20_000_000 * 1024),
                swap_total: Some(1024 * 1024),
                swap_free: Some(512 * 1024),
            }
        );
        assert_eq!(Memory::of("garbage"), Memory::default());
    }

    #[test]
    fn a_meter_on_fixture_files_reports_them_and_busy_after_two_reads() {
        let dir = std::env::temp_dir().join(format!("ds-host-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).expect("write");
        write("stat", STAT);
        write("loadavg", "1.5 1.0 0.5 1/2 3\n");
        write("meminfo", "MemTotal: 1000 kB\nMemAvailable: 250 kB\n");
        write("uptime", "12.9 1.0\n");
        let mut meter = HostMeter::new(&dir, DataRoot::fixed(&dir));
        let first = meter.measure();
        assert_eq!(first.cpu_pct, None, "one reading has no interval");
        assert_eq!(first.cores, Some(2));
        assert_eq!(
            (first.load_1, first.load_15, first.uptime_secs),
            (Some(1.5), Some(0.5), Some(12))
        );
        assert_eq!(
            (first.mem_total_bytes, first.mem_used_bytes),
            (Some(1_024_000), Some(768_000))
        );
        assert_eq!(first.swap_total_bytes, None);
        assert_eq!(first.disk_path, Some(dir.display().to_string()));
        let (total, used) = (first.disk_total_bytes, first.disk_used_bytes);
        assert!(
            total.zip(used).is_some_and(|(t, u)| t > 0 && u <= t),
            "{total:?} {used:?}"
        );
        write("stat", "cpu  200 5 50 850 20 3 2 0 7 0\n");
        assert_eq!(meter.measure().cpu_pct, Some(66.67));
        // Files gone: figures unknown, nothing panics.
        let _ = std::fs::remove_dir_all(&dir);
        let gone = meter.measure();
        assert_eq!(
            (gone.cpu_pct, gone.cores, gone.disk_path),
            (None, None, None)
        );
    }
}
