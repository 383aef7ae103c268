//! cgroup v1: one hierarchy per controller. CPU time from `cpuacct.usage` (nanoseconds), memory
//! from `memory.usage_in_bytes`, `memory.stat` (`total_inactive_file`, which includes
//! descendants as Docker uses, and the breakdown `total_rss`, `total_cache`, `total_shmem`, all
//! from one read), `memory.limit_in_bytes`, `memory.kmem.usage_in_bytes` (kernel memory) and
//! `memory.oom_control` (`oom_kill`, kernels from 4.13); throttling from the `cpu` controller's
//! `cpu.stat`; block I/O from the `blkio` controller (the file runc reads, see
//! [`BLKIO_FILES`]); processes from `pids.current` and `pids.max`. The `cpu`, `blkio` and
//! `pids` controllers are optional: where one is not mounted its figures stay unknown and its
//! files are never opened.
//!
//! Layouts (`<ctrl>` is `cpuacct` or the combined `cpu,cpuacct`, and `memory`):
//! - cgroupfs driver: `<root>/<ctrl>/docker/<id>`
//! - systemd driver: `<root>/<ctrl>/system.slice/docker-<id>.scope`

use std::path::{Path, PathBuf};

use super::read::{number, stat_value, wall_clocked, Fallback, Files, Fill, Probe};
use crate::sample::figures::Reading;

/// Names the CPU accounting controller is mounted under, in the order tried.
const CPU_CONTROLLERS: [&str; 3] = ["cpuacct", "cpu,cpuacct", "cpuacct,cpu"];
/// Names the CPU bandwidth controller (`cpu.stat`, throttling) is mounted under: its own
/// mount on some hosts (this one), one with `cpuacct` on most.
const THROTTLE_CONTROLLERS: [&str; 3] = ["cpu", "cpu,cpuacct", "cpuacct,cpu"];

/// The `memory.stat` key Docker subtracts from usage on cgroup v1.
pub const INACTIVE_FILE: &str = "total_inactive_file";

/// Which controller directory a file lives under.
#[derive(Debug, Clone, Copy)]
pub enum Controller {
    /// `cpuacct` (or `cpu,cpuacct`).
    Cpu,
    /// `cpu` (or `cpu,cpuacct`): bandwidth control and its throttling counters.
    Throttle,
    /// `memory`.
    Memory,
    /// `pids`.
    Pids,
    /// `blkio`.
    Blkio,
}

/// Where the controllers this module reads are mounted. A new controller (`pids`, `blkio`)
/// is a field here, found in [`Mounts::find`], and a [`Controller`] variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mounts {
    /// The CPU accounting controller (`cpuacct` or `cpu,cpuacct`).
    pub cpu: PathBuf,
    /// The CPU bandwidth controller (not required: without it the throttling figures are
    /// unknown).
    pub throttle: PathBuf,
    /// The memory controller; Docker's groups under it tell the host's hierarchy apart.
    pub memory: PathBuf,
    /// The pids controller (not required: without it the PID figures are unknown).
    pub pids: PathBuf,
    /// The blkio controller (not required: without it the block I/O figures are unknown).
    pub blkio: PathBuf,
}

impl Mounts {
    /// The CPU accounting and memory controllers under `root`, if both are mounted.
    pub fn find(root: &Path) -> Option<Self> {
        let cpu = CPU_CONTROLLERS
            .iter()
            .map(|name| root.join(name))
            .find(|dir| dir.join("cpuacct.usage").is_file())?;
        let throttle = THROTTLE_CONTROLLERS
            .iter()
            .map(|name| root.join(name))
            .find(|dir| dir.join("cpu.stat").is_file())
            .unwrap_or_else(|| root.join("cpu"));
        let memory = root.join("memory");
        memory
            .join("memory.usage_in_bytes")
            .is_file()
            .then(|| Self {
                cpu,
                throttle,
                memory,
                pids: root.join("pids"),
                blkio: root.join("blkio"),
            })
    }

    /// The directory whose top-level groups (`docker`, `system.slice`) show containers.
    pub fn top(&self) -> &Path {
        &self.memory
    }

    fn dir(&self, controller: Controller) -> &Path {
        match controller {
            Controller::Cpu => &self.cpu,
            Controller::Throttle => &self.throttle,
            Controller::Memory => &self.memory,
            Controller::Pids => &self.pids,
            Controller::Blkio => &self.blkio,
        }
    }
}

/// The files read for every container and the fields each fills, CPU first. The limit is
/// "unlimited" as a huge page-aligned number (9223372036854771712), which the figures clamp
/// to host memory like Docker does. The `blkio` entry names the first of [`BLKIO_FILES`]; the
/// file actually read is chosen by [`files`].
pub const FILES: [(Controller, &str, Fill); 10] = [
    (Controller::Cpu, "cpuacct.usage", |text, r| {
        wall_clocked(r, number(text));
    }),
    (Controller::Memory, "memory.usage_in_bytes", |text, r| {
        r.usage = number(text);
    }),
    (Controller::Memory, "memory.stat", memory_stat),
    (Controller::Memory, "memory.limit_in_bytes", |text, r| {
        r.limit = number(text);
    }),
    (
        Controller::Memory,
        "memory.kmem.usage_in_bytes",
        |text, r| {
            r.mem_kernel = number(text);
        },
    ),
    (Controller::Memory, "memory.oom_control", |text, r| {
        r.oom_kills = stat_value(text, "oom_kill");
    }),
    (Controller::Throttle, "cpu.stat", |text, r| {
        r.throttled_periods = stat_value(text, "nr_throttled");
        r.throttled_ns = stat_value(text, "throttled_time");
    }),
    (Controller::Blkio, BLKIO_FILES[0], |text, r| {
        let bytes = service_bytes(text);
        r.block_read = bytes.map(|b| b.read);
        r.block_write = bytes.map(|b| b.write);
    }),
    (Controller::Pids, "pids.current", |text, r| {
        r.pids = number(text)
    }),
    (Controller::Pids, "pids.max", |text, r| {
        r.pids_limit = number(text)
    }),
];

/// The most files one container's table keeps open: every entry, the `blkio` one as up to
/// three files (bfq, cfq, and one of the throttle pair; see [`blkio_files`]).
pub const MOST_FILES: usize = FILES.len() - 1 + 3;

/// `memory.stat`, read once per tick, fills the cache Docker leaves out and the breakdown:
/// `total_rss` (anonymous memory, shmem not included), `total_cache` (page cache, shmem
/// included) and `total_shmem` (unknown on kernels that do not write it). The
/// `total_` keys include descendants, as Docker's figures do.
fn memory_stat(text: &str, r: &mut Reading) {
    r.inactive_file = stat_value(text, INACTIVE_FILE);
    r.mem_anon = stat_value(text, "total_rss");
    r.mem_file = stat_value(text, "total_cache");
    r.mem_shmem = stat_value(text, "total_shmem");
}

/// The `blkio` files with bytes per device and operation, in the order runc (and so
/// `docker stats`) tries them: the bfq scheduler's, the cfq scheduler's (kernels before 5.0),
/// then the throttling layer's, which counts every bio of every device (recursive, or on old
/// kernels the group's own). runc takes the first whose device list is not empty; a group's
/// own counters are part of its recursive ones, so the non-recursive file is only read where
/// the recursive one does not exist.
pub const BLKIO_FILES: [&str; 4] = [
    "blkio.bfq.io_service_bytes_recursive",
    "blkio.io_service_bytes_recursive",
    "blkio.throttle.io_service_bytes_recursive",
    "blkio.throttle.io_service_bytes",
];

/// Which of [`BLKIO_FILES`] exist in the `blkio` directory `dir`, in the order to read them.
pub fn blkio_files(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = BLKIO_FILES
        .iter()
        .map(|name| dir.join(name))
        .filter(|path| path.is_file())
        .collect();
    let recursive = dir.join(BLKIO_FILES[2]);
    if found.contains(&recursive) {
        found.retain(|path| !path.ends_with(BLKIO_FILES[3]));
    }
    found
}

/// Bytes read and written, summed over the devices of an `io_service_bytes` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceBytes {
    /// Sum of the `Read` rows.
    pub read: u64,
    /// Sum of the `Write` rows.
    pub write: u64,
    /// How many rows name a device (`MAJ:MIN op value`).
    pub rows: usize,
}

/// Parses an `io_service_bytes` file: `MAJ:MIN Op value` rows per device and operation
/// (`Read`, `Write`, `Sync`, `Async`, `Discard`, `Total`), then one `Total value` line. Sums
/// the `Read` and `Write` rows over devices, as the Docker CLI does (`calculateBlockIO`,
/// case-insensitively, so `Total` rows never count twice). `None` when a line is not of that
/// form or a value does not fit in 64 bits (runc fails to parse the file and passes over it),
/// or a sum overflows (the CLI would wrap around; no figure is better than a wrong one).
pub fn service_bytes(text: &str) -> Option<ServiceBytes> {
    let mut bytes = ServiceBytes {
        read: 0,
        write: 0,
        rows: 0,
    };
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let Some(first) = fields.next() else {
            continue;
        };
        if first == "Total" {
            fields.next()?.parse::<u64>().ok()?;
            if fields.next().is_some() {
                return None;
            }
            continue;
        }
        let (major, minor) = first.split_once(':')?;
        major.parse::<u64>().ok()?;
        minor.parse::<u64>().ok()?;
        let (op, value) = (fields.next()?, fields.next()?);
        let value: u64 = value.parse().ok()?;
        if fields.next().is_some() {
            return None;
        }
        bytes.rows += 1;
        if op.eq_ignore_ascii_case("read") {
            bytes.read = bytes.read.checked_add(value)?;
        } else if op.eq_ignore_ascii_case("write") {
            bytes.write = bytes.write.checked_add(value)?;
        }
    }
    Some(bytes)
}

/// Whether runc would pass over this `blkio` file for the next: no device rows (a group that
/// did no I/O under that policy, `Total 0`), or not of the kernel's form.
pub fn lists_no_device(text: &str) -> bool {
    service_bytes(text).is_none_or(|b| b.rows == 0)
}

/// The files of the container whose cgroup is `relative` under each controller; `None` until
/// its CPU and memory directories exist. A controller the host does not mount (`pids`, `cpu`
/// or `blkio` on some v1 hosts) is left out once here rather than failing to open every
/// second.
pub fn files(mounts: &Mounts, relative: &str) -> Option<Files> {
    (mounts.cpu.join(relative).is_dir() && mounts.memory.join(relative).is_dir()).then(|| {
        Files::new(
            FILES
                .iter()
                .filter(|(controller, ..)| mounts.dir(*controller).join(relative).is_dir())
                .filter_map(|&(controller, name, fill)| {
                    let dir = mounts.dir(controller).join(relative);
                    if !matches!(controller, Controller::Blkio) {
                        return Some(Probe::new(dir.join(name).into(), fill));
                    }
                    let mut found = blkio_files(&dir).into_iter().map(Into::into);
                    Some(Probe {
                        file: found.next()?,
                        fill,
                        fallback: Some(Fallback {
                            files: found.collect(),
                            empty: lists_no_device,
                            chosen: 0,
                        }),
                        slow: false,
                        gate: None,
                    })
                })
                .collect(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_bytes_table() {
        let two_devices = "8:16 Read 4096\n8:16 Write 32768\n8:16 Sync 36864\n8:16 Async 0\n\
                           8:16 Discard 0\n8:16 Total 36864\n\
                           253:0 Read 1282048\n253:0 Write 2195456\n253:0 Sync 2195456\n\
                           253:0 Async 1282048\n253:0 Total 3477504\nTotal 3514368\n";
        let cases = [
            // text, (read, write, device rows)
            ("Total 0\n", Some((0, 0, 0))),
            ("", Some((0, 0, 0))),
            (
                two_devices,
                Some((4_096 + 1_282_048, 32_768 + 2_195_456, 11)),
            ),
            // only ops named read/write count, in any case (as the CLI's strings.ToLower)
            (
                "8:0 read 5\n8:0 WRITE 7\n8:0 Total 12\nTotal 12\n",
                Some((5, 7, 3)),
            ),
            // a device that did no I/O still lists rows: runc takes this file
            (
                "8:0 Read 0\n8:0 Write 0\n8:0 Total 0\nTotal 0\n",
                Some((0, 0, 3)),
            ),
            // not the kernel's form, or not 64-bit: nothing, never a wrong figure
            ("8:0 Read\n", None),
            ("8-0 Read 5\n", None),
            ("8:0 Read 5 extra\n", None),
            ("8:0 Read 18446744073709551616\n", None),
            ("8:0 Read 18446744073709551615\n9:0 Read 1\n", None),
            ("Total lots\n", None),
        ];
        for (text, want) in cases {
            let got = service_bytes(text).map(|b| (b.read, b.write, b.rows));
            assert_eq!(got, want, "{text:?}");
            assert_eq!(
                lists_no_device(text),
                want.is_none_or(|w| w.2 == 0),
                "{text:?}"
            );
        }
    }

    #[test]
    fn blkio_files_follow_runc_order_and_skip_the_redundant_one() {
        let dir = std::env::temp_dir().join(format!("ds-blkio-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let names = |found: Vec<PathBuf>| -> Vec<String> {
            found
                .iter()
                .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
                .collect()
        };
        assert!(blkio_files(&dir).is_empty());
        std::fs::write(dir.join(BLKIO_FILES[3]), "Total 0\n").expect("write");
        assert_eq!(names(blkio_files(&dir)), [BLKIO_FILES[3]]);
        for name in [BLKIO_FILES[2], BLKIO_FILES[0]] {
            std::fs::write(dir.join(name), "Total 0\n").expect("write");
        }
        // This machine's kernel: bfq and throttle, no cfq.
        assert_eq!(names(blkio_files(&dir)), [BLKIO_FILES[0], BLKIO_FILES[2]]);
        let _ = std::fs::remove_dir_all(dir);
    }
}
